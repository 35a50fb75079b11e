"""The scenario switch for assumption uncertainty (issue 12): ``uncertainty.sample``.

Read by :mod:`fupinsim.uncertainty`, ``fupinsim sensitivity`` and the pipeline's assumptions
stage (:mod:`fupinsim.pipeline.assumptions`): an ordinary run simulates its chosen plan again with
the assumptions drawn once per block of ``replications_per_draw`` replications.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["UncertaintySettings"]


class UncertaintySettings(BaseModel):
    """Whether the uncertain assumptions are sampled, and how many replications a draw gets."""

    model_config = ConfigDict(frozen=True, extra="forbid", validate_default=True)

    sample: bool = Field(
        True,
        description="Sample the uncertain assumptions (ranges in fupinsim/data) once per draw; "
        "false keeps every assumption at its value, so only shocks vary (runs and the "
        "sensitivity command's global method).",
        json_schema_extra={"unit": "flag"},
    )
    replications_per_draw: int = Field(
        4,
        description="Shock replications simulated for each draw of the assumptions (a run of "
        "200 replications makes 50 draws of 4; 1: one draw per replication, dearer). ESTIMATE: "
        "4 keeps a run's added cost small while every replication keeps its own shocks.",
        ge=1,
        le=10_000,
        json_schema_extra={"unit": "replications"},
    )

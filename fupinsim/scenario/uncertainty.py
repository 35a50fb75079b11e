"""The scenario switch for assumption uncertainty (issue 12): ``uncertainty.sample``.

Read by :mod:`fupinsim.uncertainty` and ``fupinsim sensitivity``. Ordinary runs do not sample
the assumptions yet (only shocks vary there); the sensitivity command does.
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
        "false keeps every assumption at its value, so only shocks vary.",
        json_schema_extra={"unit": "flag"},
    )
    replications_per_draw: int = Field(
        1,
        description="Shock replications simulated for each draw of the assumptions (1: one draw "
        "per replication).",
        ge=1,
        le=10_000,
        json_schema_extra={"unit": "replications"},
    )

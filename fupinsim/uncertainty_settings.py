"""The scenario switch for assumption uncertainty (issue 12): ``uncertainty.sample``.

A scenario section of its own, kept in a small layer-2 module so that :mod:`fupinsim.scenario`
can import it without a cycle. Until the ``Scenario`` model has the field (one line, see
:class:`UncertaintySettings`), :func:`fupinsim.uncertainty.uncertainty_settings` returns the
defaults for every scenario.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["UncertaintySettings"]


class UncertaintySettings(BaseModel):
    """Whether a run samples the uncertain assumptions, and how many replications a draw gets.

    Hook-up in ``fupinsim.scenario.Scenario`` (then regenerate ``scenarios/schema.json``)::

        uncertainty: UncertaintySettings = field(
            default_factory=UncertaintySettings,
            description="Sampling of uncertain assumptions.",
            unit="section",
        )
    """

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

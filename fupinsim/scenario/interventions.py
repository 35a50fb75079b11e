"""Scenario section ``interventions``: changes to catalogue entries, by entry id."""

from __future__ import annotations

from fupinsim.scenario.fields import Section, field

__all__ = ["InterventionOverride"]


class InterventionOverride(Section):
    """Scenario change to one catalogue entry."""

    capacity_factor: float = field(
        1.0, description="Multiplier on the entry's yearly capacity.", unit="multiple", ge=0
    )
    effect_factor: float = field(
        1.0, description="Multiplier on the entry's income effect.", unit="multiple", ge=0
    )
    cost_factor: float = field(
        1.0, description="Multiplier on the entry's unit cost.", unit="multiple", ge=0
    )

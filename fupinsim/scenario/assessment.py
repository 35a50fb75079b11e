"""Scenario section ``assessment``: the county assessment weights (plan §21-22)."""

from __future__ import annotations

import math

from pydantic import model_validator

from fupinsim.scenario.fields import Section, Share, field, invalid_field

__all__ = ["AssessmentSettings"]


class AssessmentSettings(Section):
    """County assessment (plan §21-22)."""

    weight_income_growth_households: Share = field(
        0.35,
        description="Weight of poor households' income growth in the county score.",
        unit="weight (weights sum to 1)",
        source="ESTIMATE: plan §21 names the criteria, not the weights",
    )
    weight_income_growth_villages: Share = field(
        0.15,
        description="Weight of poor villages' income growth.",
        unit="weight",
        source="ESTIMATE",
    )
    weight_on_schedule_exits: Share = field(
        0.50,
        description="Weight of on-schedule exits.",
        unit="weight",
        source="ESTIMATE",
    )
    good_threshold: float = field(
        80.0,
        description="Score from which a county is rated 'good' (if it met its targets).",
        unit="points (0-100)",
        source="ESTIMATE",
        ge=0,
        le=100,
    )

    @model_validator(mode="after")
    def _check(self) -> AssessmentSettings:
        total = (
            self.weight_income_growth_households
            + self.weight_income_growth_villages
            + self.weight_on_schedule_exits
        )
        if not math.isclose(total, 1.0, abs_tol=1e-9):
            raise invalid_field(
                "weight_income_growth_households + weight_income_growth_villages + "
                "weight_on_schedule_exits",
                round(total, 12),
                "the three assessment weights must sum to 1 "
                f"({self.weight_income_growth_households:g} + "
                f"{self.weight_income_growth_villages:g} + {self.weight_on_schedule_exits:g})",
            )
        return self

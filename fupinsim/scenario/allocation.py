"""Scenario section ``allocation``: the PuLP allocation and its closed loop."""

from __future__ import annotations

from typing import Literal

from fupinsim.scenario.fields import Section, Share, field

__all__ = ["AllocationSettings"]


class AllocationSettings(Section):
    """The PuLP allocation of money to counties, packages and years."""

    objective: Literal["min_cost", "max_exits"] = field(
        "min_cost",
        description="'min_cost': meet the exit schedule at least cost; 'max_exits': most exits "
        "within the money.",
        unit="choice",
    )
    solver: Literal["highs", "cbc"] = field(
        "highs", description="Solver; the other is the fallback.", unit="choice"
    )
    time_limit_s: float = field(
        60.0, description="Solver time limit.", unit="seconds", gt=0, le=86_400
    )
    gap_rel: float = field(
        1e-4, description="Relative optimality gap accepted.", unit="share", ge=0, le=0.5
    )
    shortfall_penalty_yuan: float = field(
        1e7,
        description="Penalty per missing exit in the elastic target constraints (must exceed any "
        "real cost per exit).",
        unit="yuan per exit",
        gt=0,
    )
    income_bands: list[float] = field(
        default_factory=lambda: [0.8, 1.0, 1.2, 1.5],
        description="Band edges of per-capita income relative to the base-year line that define "
        "household types.",
        unit="multiple of the poverty line",
    )
    yield_replications: int = field(
        20,
        description="Replications used to estimate exit yields per household type and package.",
        unit="replications",
        ge=1,
    )
    required_confidence: Share = field(
        0.90,
        description="Required probability that each county-year target is met (closed loop).",
        unit="probability",
    )
    loop_rounds: int = field(
        3, description="Maximum closed-loop re-solve rounds.", unit="rounds", ge=0, le=20
    )
    margin_step: Share = field(
        0.05,
        description="Safety margin added to an unsafe target per closed-loop round.",
        unit="share of target",
    )
    pools_pay_guarantees: bool = field(
        True,
        description="The poverty pools pay the fiscal cost of the guarantees a supported "
        "household needs (house renovation, safe water, NCMS enrolment, return to school); "
        "otherwise sector programmes pay them outside the pools.",
        unit="flag",
        source="PLAN §7(1), §7(3), §9 and §19: the guarantees are part of the targeted "
        "campaign's support plans, financed with the integrated funds",
    )
    max_household_cash_share: Share = field(
        0.25,
        description="Largest own-cash contribution of a household to its package, as a share "
        "of its yearly income; what it cannot bear the pools may pay (a top-up the allocation "
        "chooses). Poverty credit is lent only as far as the package's expected income repays "
        "it within the loan term.",
        unit="share of a year's household income",
        source="ESTIMATE: about three years of a poor rural household's savings (a saving rate "
        "of roughly 8% of income, remembered, not in the corpus); PLAN §12 ties credit to "
        "'some repayment ability'",
    )
    capacities: dict[str, float] = field(
        default_factory=dict,
        description="Override of yearly capacity per catalogue entry id (city-wide).",
        unit="units per year",
    )

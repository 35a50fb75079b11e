"""Stages 7 and 8: the plans compared, and the final projection over everyone.

* **comparison**: the factor-method baseline (:mod:`fupinsim.allocate.factor`), planned from
  round 0's inputs and given to households the same way, and the reference plans ``baseline``
  and ``uniform_1230``, each simulated over the registered households; one comparison table.
* **projection**: the closed loop's plan over the whole population of the villages concerned
  (headcount, village incidence, the immigrants' income goal).

Both simulate through the closed loop's :class:`~fupinsim.pipeline.loop.PlanSimulator`, so a
plan it has already simulated over the same households is not simulated again.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from fupinsim import data
from fupinsim.allocate import (
    FactorResult,
    compare_allocations,
    county_factors,
    factor_allocation,
    factor_shares,
)
from fupinsim.allocate.yields import ExitYields
from fupinsim.funding import FundingTables
from fupinsim.microsim import SimulationResult, reference_plan
from fupinsim.pipeline.loop import ClosedLoop, p_all_met
from fupinsim.pipeline.stages import RegistryStage, plan_households

__all__ = ["REFERENCE_PLANS", "Comparison", "comparison_stage", "projection_stage"]

#: The reference plans compared with the optimised and factor plans (no village works).
REFERENCE_PLANS: tuple[str, ...] = ("baseline", "uniform_1230")


@dataclass(frozen=True)
class Comparison:
    """Stage 7: the optimised plan beside the factor method and the reference plans.

    Attributes
    ----------
    county_factors:
        The factor method's county factors (table ``county_factors``).
    factor:
        The factor-method allocation (round 0's inputs).
    factor_plan:
        Its household plan.
    simulations:
        Plan name → simulation of the registered households: ``optimised`` (the closed loop's),
        ``factor``, ``baseline``, ``uniform_1230``.
    table:
        Table ``factor_comparison`` (one row per plan).
    """

    county_factors: pd.DataFrame
    factor: FactorResult = field(repr=False)
    factor_plan: pd.DataFrame = field(repr=False)
    simulations: Mapping[str, SimulationResult] = field(repr=False)
    table: pd.DataFrame


def poverty_gap(registered: pd.DataFrame) -> pd.DataFrame:
    """Base-year poverty gap of the registered households by county (yuan per year)."""
    line = data.poverty_line(int(registered["registered_year"].dropna().min()))
    gap = (line - registered["income_pc"]).clip(lower=0) * registered["n_members"]
    frame = pd.DataFrame(
        {"county_id": registered["county_id"].astype(str), "poverty_gap_yuan": gap}
    )
    return frame.groupby("county_id", sort=False)["poverty_gap_yuan"].sum().reset_index()


def _add_simulated(
    comparison: pd.DataFrame, simulations: Mapping[str, SimulationResult], plan_years: set[int]
) -> pd.DataFrame:
    """Add simulated exits and P(target met) of each plan to the comparison table."""
    rows = []
    for method, result in simulations.items():
        cy = result.county_year
        city = cy[(cy["county_id"] == "city") & (cy["indicator"] == "exits_cumulative")]
        tp = result.target_probability
        tp = tp[tp["year"].isin(plan_years)]
        row: dict[str, Any] = {"method": method}
        for y in sorted(plan_years):
            value = city.loc[city["year"] == y, "mean"]
            row[f"simulated_exits_{y}"] = float(value.iloc[0]) if len(value) else math.nan
        row["targets_with_p_met_0_9"] = int((tp["p_met"] >= 0.9).sum())
        row["mean_p_met"] = float(tp["p_met"].mean())
        rows.append(row)
    simulated = pd.DataFrame(rows)
    return simulated.merge(comparison, on="method", how="left")


def comparison_stage(
    setup: RegistryStage, funding: FundingTables, yields: ExitYields, loop: ClosedLoop
) -> Comparison:
    """Stage 7: plan and simulate the factor method and the reference plans; compare."""
    scenario = setup.scenario
    prepared = loop.first.prepared  # round 0: the plan's own targets, no margins
    factors = county_factors(prepared, funding.revenue, poverty_gap(setup.registered))
    factor = factor_allocation(
        prepared, factor_shares(factors), carry_over=scenario.funding.carry_over
    )
    factor_plan = plan_households(setup, yields, factor.quotas, prepared)
    simulator = loop.simulator
    simulations = {
        "optimised": loop.simulation,
        "factor": simulator.simulate(setup.registered, factor_plan, setup.village_plan),
    }
    for name in REFERENCE_PLANS:
        plan = reference_plan(name, setup.households, scenario)
        simulations[name] = simulator.simulate(setup.registered, plan, pd.DataFrame())
    table = compare_allocations(
        prepared,
        {"optimised": loop.last.result.quotas, "factor": factor.quotas},
        {"optimised": p_all_met(loop.simulation), "factor": p_all_met(simulations["factor"])},
    )
    table = _add_simulated(table, simulations, setup.plan_years)
    return Comparison(factors, factor, factor_plan, simulations, table)


def projection_stage(setup: RegistryStage, loop: ClosedLoop) -> SimulationResult:
    """Stage 8: the closed loop's plan over every household (with the village works)."""
    return loop.simulator.simulate(setup.households, loop.plans.plan, setup.village_plan)

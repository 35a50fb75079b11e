"""Stage 9: the run's tables (``docs/contracts.md``) and manifest facts, as :class:`RunTables`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from fupinsim.allocate.burden import base_package
from fupinsim.allocate.entitlements import add_on_fiscal_cost, entitlement_reach
from fupinsim.allocate.yields import ExitYields
from fupinsim.assess import county_assessment
from fupinsim.funding import FundingTables
from fupinsim.microsim import SimulationResult
from fupinsim.pipeline.compare import Comparison
from fupinsim.pipeline.loop import ClosedLoop, p_all_met, unsecurable_lines
from fupinsim.pipeline.recommend import recommendations_table
from fupinsim.pipeline.results import RunTables
from fupinsim.pipeline.stages import RegistryStage, works_table
from fupinsim.pipeline.works import works_draws
from fupinsim.registry import registry_summary

__all__ = [
    "catalogue_packages",
    "county_year_once",
    "household_burden_table",
    "run_manifest",
    "tables_stage",
]

#: ``county_year`` indicators kept for every compared plan (``county_year_plans``).
_PLAN_INDICATORS = frozenset(
    {"registered_remaining", "exits_cumulative", "returns", "mean_income_pc"}
)


def _plan_with_paths(plan: pd.DataFrame, final: SimulationResult) -> pd.DataFrame:
    """Household plans with the simulated expected exit year and 2017 income."""
    exit_year = final.household_exit.rename(columns={"expected_exit_year": "simulated_exit_year"})
    income = final.household[final.household["year"] == 2017][["household_id", "income_pc_mean"]]
    income = income.rename(columns={"income_pc_mean": "expected_income_pc_2017"})
    return plan.merge(exit_year, on="household_id", how="left").merge(
        income, on="household_id", how="left"
    )


def _stack_probabilities(simulations: Mapping[str, SimulationResult]) -> pd.DataFrame:
    frames = [r.target_probability.assign(plan=name) for name, r in simulations.items()]
    return pd.concat(frames, ignore_index=True)


def _stack_county_year(simulations: Mapping[str, SimulationResult]) -> pd.DataFrame:
    frames = [
        r.county_year[r.county_year["indicator"].isin(_PLAN_INDICATORS)].assign(plan=name)
        for name, r in simulations.items()
        if name != "final"
    ]
    return pd.concat(frames, ignore_index=True)


def catalogue_packages(table: pd.DataFrame) -> pd.DataFrame:
    """An allocation table with catalogue package ids: ``option_id`` keeps the LP's option
    (``<package>_topup`` where the pools pay what households cannot bear)."""
    out = table.copy()
    position = list(out.columns).index("package_id") + 1
    out.insert(position, "option_id", out["package_id"])
    out["package_id"] = [base_package(str(p)) for p in out["package_id"]]
    return out


def county_year_once(county_year: pd.DataFrame) -> pd.DataFrame:
    """``county_year`` with each county's households counted once.

    A county whose households all live in one village type (no immigrant villages) has the
    same rows under that type and under ``all``; only ``all`` is kept, so summing the rows of
    a county over its village groups other than ``all`` never counts a household twice.
    """
    groups = county_year.groupby("county_id")["villages"].agg(frozenset)
    single = {c for c, v in groups.items() if len(v - {"all"}) == 1}
    drop = county_year["county_id"].isin(single) & (county_year["villages"] != "all")
    return county_year[~drop].reset_index(drop=True)


def household_burden_table(plan: pd.DataFrame) -> pd.DataFrame:
    """Household money per package (``household_burden``): what households pay and borrow.

    Columns ``package_id, households, households_topped_up, own_cash_yuan, credit_yuan,
    pools_topup_yuan, fiscal_yuan, own_cash_mean_yuan, own_cash_share_mean,
    own_cash_share_max, households_over_one_year_income`` (yuan; shares of a year's
    household income).
    """
    if "own_cash_yuan" not in plan.columns:
        return pd.DataFrame()
    frame = plan.assign(
        topped=plan["pools_topup_yuan"].fillna(0) > 0,
        over=plan["own_cash_share_of_income"] > 1.0,
    )
    table = frame.groupby("package_id", as_index=False).agg(
        households=("household_id", "size"),
        households_topped_up=("topped", "sum"),
        own_cash_yuan=("own_cash_yuan", "sum"),
        credit_yuan=("credit_yuan", "sum"),
        pools_topup_yuan=("pools_topup_yuan", "sum"),
        fiscal_yuan=("cost_fiscal_yuan", "sum"),
        own_cash_mean_yuan=("own_cash_yuan", "mean"),
        own_cash_share_mean=("own_cash_share_of_income", "mean"),
        own_cash_share_max=("own_cash_share_of_income", "max"),
        households_over_one_year_income=("over", "sum"),
    )
    return table.sort_values("package_id", ignore_index=True)


def _money_facts(loop: ClosedLoop) -> dict[str, Any]:
    """The objective as money with the penalty apart, and the households' own money (yuan)."""
    result, model = loop.last.result, loop.last.model
    plan = loop.plans.plan
    missing = float(result.summary["missing_exits"])
    facts: dict[str, Any] = {
        "closed_loop_best_round": loop.best_round,
        # Quota households the household plans could not give (rounded quotas vs plans).
        "households_not_assigned": int(plan.attrs.get("households_not_assigned", 0)),
        "fiscal_yuan": float(result.summary["fiscal_yuan"]),
        "objective_penalty_yuan": model.settings.shortfall_penalty_yuan * missing
        + float(result.summary.get("goal_penalty_yuan", 0.0))
        if model.settings.objective == "min_cost"
        else 0.0,
        "expected_missing_exits": missing,
        "targets_no_money_can_secure": unsecurable_lines(loop.unsecurable),
    }
    for column in ("own_cash_yuan", "credit_yuan", "pools_topup_yuan"):
        if column in plan.columns:
            facts[f"household_plans_{column}"] = float(plan[column].fillna(0).sum())
    return facts


def _add_on_reach(setup: RegistryStage, loop: ClosedLoop) -> dict[str, float | None]:
    """Reach share of every add-on entry (:func:`fupinsim.allocate.entitlement_reach`)."""
    reach = entitlement_reach(loop.plans.plan, setup.registered, setup.catalogue)
    return {
        str(e): (None if np.isnan(r) else round(float(r), 4))
        for e, r in reach[["entry_id", "reach_share"]].itertuples(index=False)
    }


def _present_money(funding: FundingTables, yields: ExitYields) -> pd.DataFrame:
    """Money of the city pool and of the counties with households (as the LP sees it)."""
    present = {"city", *yields.yields["county_id"].astype(str)}
    return funding.funding[funding.funding["pool"].astype(str).isin(present)]


def run_manifest(loop: ClosedLoop) -> dict[str, Any]:
    """The run's facts for ``manifest.json`` (see :attr:`RunTables.manifest`)."""
    result = loop.last.result
    model = loop.last.model
    shortfall = loop.shortfall
    return {
        "pipeline_replications": loop.simulator.replications,
        "objective": model.settings.objective,
        "solver": result.solve.solver,
        "solver_status": result.solve.status.value,
        "objective_value": result.solve.objective_value,
        "closed_loop_rounds": len(loop.rounds),
        "targets_missed": int((~shortfall["met"].astype(bool)).sum()),
        # Gaps are cumulative: a group's money need is its largest over the years.
        "money_missing_yuan": float(
            shortfall.groupby(["county_id", "villages"])["extra_yuan_to_close"]
            .max()
            .fillna(0)
            .sum()
        ),
        "p_all_targets_met": p_all_met(loop.simulation),
        "p_final_targets_met": float(loop.simulation.meta["p_final_targets_met"]),
        "lp_variables": model.n_variables,
        "lp_constraints": model.n_constraints,
        **_money_facts(loop),
    }


def tables_stage(
    setup: RegistryStage,
    funding: FundingTables,
    yields: ExitYields,
    loop: ClosedLoop,
    comparison: Comparison,
    final: SimulationResult,
) -> RunTables:
    """Stage 9: every table of the run and its manifest facts (timings are added by the caller).

    The allocation tables are the last closed-loop round's, except ``shortfall`` (round 0's);
    the simulation tables are the final projection's; ``*_plans`` stack every compared plan.
    """
    registry = setup.registry
    allocation = loop.last.result
    simulations = {**comparison.simulations, "final": final}
    return RunTables(
        households=registry.households,
        villages=registry.villages,
        identification=registry.identification,
        registry_summary=registry_summary(registry),
        cadre_roster=setup.cadre_roster,
        household_cadres=setup.household_cadres,
        exit_targets=setup.targets,
        funding=funding.funding,
        revenue=funding.revenue,
        exit_yields=catalogue_packages(yields.yields),
        household_types=yields.types,
        allocation=allocation.allocation,
        allocation_quotas=catalogue_packages(allocation.quotas),
        spending=allocation.spending,
        shortfall=loop.shortfall,
        marginal_cost=allocation.marginal_cost,
        money_value=allocation.money_value,
        unused_money=allocation.unused_money,
        household_plans=_plan_with_paths(loop.plans.plan, final),
        household_burden=household_burden_table(loop.plans.plan),
        village_works=works_draws(works_table(setup), _present_money(funding, yields))[0],
        closed_loop=loop.rounds,
        factor_comparison=comparison.table,
        county_factors=comparison.county_factors,
        county_year=county_year_once(final.county_year),
        target_probability=final.target_probability,
        immigrant_income=final.immigrant_income,
        village_year=final.village_year,
        targeting=final.targeting,
        household_paths=final.household,
        household_exit=final.household_exit,
        target_probability_plans=_stack_probabilities(simulations),
        county_year_plans=_stack_county_year(simulations),
        assessment=county_assessment(
            final.county_year, final.target_probability, setup.scenario.assessment
        ),
        recommendations=recommendations_table(setup, loop),
        manifest={
            **run_manifest(loop),
            # The report's P(all targets met) is the final projection's, as its P(met) is.
            "p_all_targets_met": float(final.meta["p_all_targets_met"]),
            "p_final_targets_met": float(final.meta["p_final_targets_met"]),
            # The comparison page reads these from each run's manifest (issue 14).
            "title": setup.scenario.title,
            "required_confidence": setup.scenario.allocation.required_confidence,
            # Share of eligible units (students, people, households) whose household gets
            # each guarantee or entitlement with its package (issue 10, item 5).
            "add_on_reach": _add_on_reach(setup, loop),
            # Fiscal yuan of the add-ons in the funding years, inside the pools' spending.
            "add_on_fiscal_yuan": add_on_fiscal_cost(
                loop.plans.plan,
                setup.registered,
                setup.catalogue,
                setup.scenario.funding.last_year,
            ),
        },
    )

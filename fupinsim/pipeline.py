"""The whole planning run for one scenario: registry → microsim → money → LP → plans → loop.

This is the only module that joins the microsimulation and the allocation (design §3, layer 6).
It computes; it never writes files (:mod:`fupinsim.io.run` writes a run to a folder).

Steps (each timed in ``PipelineResult.timings``):

1. **registry**: the scenario's synthetic registry (or one given), exit targets.
2. **funding**: revenue, earmarks and the other pools (:mod:`fupinsim.funding`).
3. **yields**: exit yields per household type, package and start year (microsim).
4. **allocation**: the LP (objective from the scenario or the caller) → quotas, shortfalls.
5. **household plans**: quotas given to the households with the best predicted gain.
6. **closed loop**: Monte Carlo of the household plan → P(target met); targets below
   ``allocation.required_confidence`` get a safety margin of ``margin_step`` more, and the LP is
   solved again, at most ``loop_rounds`` times. Every round is reported.
7. **comparison**: the factor-method baseline, planned and simulated the same way, and the
   reference plans ``baseline`` and ``uniform_1230``, in one comparison table.
8. **final projection**: the chosen plan over the whole population of the villages concerned
   (headcount, village incidence, the immigrants' income goal).
"""

from __future__ import annotations

import math
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from fupinsim import data
from fupinsim.allocate import (
    AllocationInputs,
    AllocationModel,
    AllocationResult,
    ModelSettings,
    SolveSettings,
    assign_households,
    build_model,
    compare_allocations,
    county_factors,
    extract_results,
    factor_allocation,
    factor_shares,
    solve_model,
)
from fupinsim.allocate.households import QuotaWarning
from fupinsim.allocate.yields import ExitYields, compute_exit_yields
from fupinsim.assess import county_assessment
from fupinsim.funding import build_funding
from fupinsim.microsim import (
    Catalogue,
    SimulationResult,
    exit_targets,
    load_catalogue,
    reference_plan,
    simulate,
)
from fupinsim.registry import Registry, generate_registry, registry_summary
from fupinsim.scenario import Scenario

__all__ = ["PipelineResult", "Step", "run_pipeline", "village_works_plan"]

#: Progress callback: called with the name of the step that starts.
Step = Callable[[str], None]


@dataclass
class PipelineResult:
    """Everything one scenario run produced.

    Attributes
    ----------
    tables:
        Output tables by name (file stems of ``outputs/<scenario>/tables/``).
    model:
        The last allocation LP (written as ``allocation_model.mps``).
    allocation:
        The last allocation result.
    simulations:
        Plan name → simulation of the registered households (``optimised``, ``factor``,
        ``baseline``, ``uniform_1230``) and ``final`` (the optimised plan over everyone).
    manifest:
        Facts for ``manifest.json``: solver, status, objective value, rounds, timings.
    """

    scenario: Scenario
    registry: Registry
    tables: dict[str, pd.DataFrame]
    model: AllocationModel
    allocation: AllocationResult
    simulations: dict[str, SimulationResult]
    manifest: dict[str, Any] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)


def village_works_plan(registry: Registry, scenario: Scenario) -> pd.DataFrame:
    """Village works the plan sets for its poor villages (``village_id, package_id, start_year``).

    Rules from the plan: every poor village gets a cooperative and e-commerce point where it has
    no cooperative (§6(5), §6(3)) and a mutual-aid fund where it has none (§12) in the first
    plan year; a hardened road where it has none in the second (§7(2)). Financed by sector
    programmes and village funds, outside the household pools (reported with their costs).
    """
    villages = registry.villages
    poor = villages[villages["is_poor_village"].to_numpy(dtype=bool)]
    first = scenario.funding.first_year
    rows = []
    for column, package, year in (
        ("has_cooperative", "village_market", first),
        ("has_mutual_aid_fund", "village_mutual_aid", first),
        ("has_paved_road", "village_road", first + 1),
    ):
        lacking = poor[~poor[column].to_numpy(dtype=bool)]
        rows.append(
            pd.DataFrame(
                {
                    "village_id": lacking["village_id"].to_numpy(),
                    "package_id": package,
                    "start_year": year,
                }
            )
        )
    return pd.concat(rows, ignore_index=True)


def _village_works_table(
    plan: pd.DataFrame, registry: Registry, catalogue: Catalogue
) -> pd.DataFrame:
    """Village works with their village, county and cost by payer (yuan per village)."""
    costs = pd.DataFrame(
        [
            {
                "package_id": pid,
                **{f"cost_{k}_yuan": v for k, v in catalogue.package_cost(pid).items()},
            }
            for pid in plan["package_id"].unique()
        ],
        columns=["package_id", "cost_fiscal_yuan", "cost_credit_yuan", "cost_household_yuan"],
    )
    villages = registry.villages[["village_id", "village_name", "county_id"]]
    table = plan.merge(villages, on="village_id", how="left").merge(costs, on="package_id")
    columns = [
        "village_id",
        "village_name",
        "county_id",
        "package_id",
        "start_year",
        "cost_fiscal_yuan",
        "cost_credit_yuan",
        "cost_household_yuan",
    ]
    return table[columns].astype({"county_id": str})


def _capacity_table(catalogue: Catalogue, scenario: Scenario) -> pd.DataFrame:
    caps = catalogue.capacities()
    years = range(scenario.funding.first_year, scenario.funding.last_year + 1)
    frames = [
        caps[["resource"]].assign(year=y, units=caps["units_per_year"].astype(float)) for y in years
    ]
    return pd.concat(frames, ignore_index=True)


def _lp_targets(targets: pd.DataFrame, margins: dict[tuple[str, str, int], float]) -> pd.DataFrame:
    """Targets for the LP: required exits raised by the closed loop's safety margins."""
    out = targets[["county_id", "villages", "year"]].copy()
    margin = np.array([margins.get((c, v, int(y)), 0.0) for c, v, y in out.itertuples(index=False)])
    raised = np.ceil(targets["required_exits"].to_numpy() * (1.0 + margin) - 1e-9)
    out["target_exits"] = np.minimum(raised, targets["n_registered"].to_numpy())
    return out


def _simulate_plan(
    registered: pd.DataFrame,
    plan: pd.DataFrame,
    scenario: Scenario,
    village_plan: pd.DataFrame,
    catalogue: Catalogue,
    replications: int,
    workers: int,
) -> SimulationResult:
    columns = ["household_id", "package_id", "start_year"]
    return simulate(
        registered,
        plan[columns],
        scenario,
        village_plan=village_plan,
        replications=replications,
        workers=workers,
        catalogue=catalogue,
    )


def _p_all_met(result: SimulationResult) -> float:
    """P(every target of the plan years is met): the share of replications meeting all."""
    return float(result.meta["p_all_targets_met"])


def run_pipeline(
    scenario: Scenario,
    *,
    registry: Registry | None = None,
    objective: str | None = None,
    replications: int | None = None,
    workers: int = 1,
    step: Step | None = None,
) -> PipelineResult:
    """Run the whole plan for a scenario (see the module docstring).

    Parameters
    ----------
    scenario:
        The validated scenario.
    registry:
        A registry read from a file; default the scenario's synthetic registry.
    objective:
        ``min_cost`` or ``max_exits``; default ``scenario.allocation.objective``.
    replications:
        Monte Carlo replications of the closed loop and projections; default the scenario's.
    workers:
        Processes for the microsimulation (results do not depend on it).
    step:
        Called with each step's name as it starts (progress display).
    """
    timings: dict[str, float] = {}
    clock = time.perf_counter()

    def begin(name: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        if timings:
            last = next(reversed(timings))
            timings[last] = now - clock
        clock = now
        timings[name] = 0.0
        if step:
            step(name)

    reps = replications or scenario.microsim.replications
    begin("registry")
    registry = registry if registry is not None else generate_registry(scenario)
    households = registry.households
    registered = households[households["is_registered"].to_numpy(dtype=bool)].reset_index(drop=True)
    targets = exit_targets(households, scenario.microsim.as_whole_allowance)
    catalogue = load_catalogue(scenario)
    village_plan = village_works_plan(registry, scenario)

    begin("funding")
    funding = build_funding(scenario)

    begin("yields")
    yields: ExitYields = compute_exit_yields(registry, scenario, catalogue, workers=workers)

    settings = scenario.allocation
    model_settings = ModelSettings.from_scenario(
        scenario, **({"objective": objective} if objective else {})
    )
    solve_settings = SolveSettings.from_scenario(scenario)
    capacity = _capacity_table(catalogue, scenario)

    def inputs_for(margins: dict[tuple[str, str, int], float]) -> AllocationInputs:
        return AllocationInputs(
            yields=yields.yields,
            funding=funding.funding,
            targets=_lp_targets(targets, margins),
            package_costs=yields.package_costs.drop(columns=["cost_sector_yuan"]),
            capacity_use=catalogue.capacity_use(),
            capacity=capacity,
        )

    def plan_households(quotas: pd.DataFrame, prepared: Any) -> pd.DataFrame:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", QuotaWarning)
            return assign_households(
                quotas,
                yields.types.merge(registered[["household_id", "helper_id"]], on="household_id"),
                yields.gains,
                prepared,
            )

    margins: dict[tuple[str, str, int], float] = {}
    rounds = []
    plan_years = set(range(scenario.funding.first_year, scenario.funding.last_year + 1))
    model: AllocationModel | None = None
    result: AllocationResult | None = None
    simulated: SimulationResult | None = None
    plan = pd.DataFrame()
    for round_number in range(settings.loop_rounds + 1):
        begin(f"allocation round {round_number}")
        inputs = inputs_for(margins)
        model = build_model(inputs, model_settings)
        solution = solve_model(model, solve_settings)
        result = extract_results(model, solution, solve_settings, close_gaps=round_number == 0)
        if round_number == 0:
            first_result, first_result_model = result, model
        plan = plan_households(result.quotas, model.data)
        begin(f"closed loop round {round_number}")
        simulated = _simulate_plan(
            registered, plan, scenario, village_plan, catalogue, reps, workers
        )
        tp = simulated.target_probability
        tp = tp[tp["year"].isin(plan_years)]
        unsafe = tp[tp["p_met"] < settings.required_confidence]
        rounds.append(
            {
                "round": round_number,
                "targets_below_confidence": len(unsafe),
                "lowest_p_met": float(tp["p_met"].min()),
                "fiscal_yuan": float(result.summary["fiscal_yuan"]),
                "expected_missing_exits": float(result.summary["missing_exits"]),
                "raised_targets": ", ".join(
                    f"{c}/{v}/{y}"
                    for c, v, y in unsafe[["county_id", "villages", "year"]].itertuples(index=False)
                ),
            }
        )
        if unsafe.empty or round_number == settings.loop_rounds:
            break
        for c, v, y in unsafe[["county_id", "villages", "year"]].itertuples(index=False):
            margins[(c, v, int(y))] = margins.get((c, v, int(y)), 0.0) + settings.margin_step

    assert model is not None and result is not None and simulated is not None
    # The shortfall diagnosis (money that would close a gap) comes from round 0, where the
    # targets are the plan's own; later rounds only add safety margins.
    shortfall = first_result.shortfall

    begin("comparison")
    prepared = first_result_model.data  # round 0: the plan's own targets, no margins
    factors = county_factors(prepared, funding.revenue, _poverty_gap(registered))
    factor = factor_allocation(
        prepared, factor_shares(factors), carry_over=scenario.funding.carry_over
    )
    factor_plan = plan_households(factor.quotas, prepared)
    simulations = {"optimised": simulated}
    simulations["factor"] = _simulate_plan(
        registered, factor_plan, scenario, village_plan, catalogue, reps, workers
    )
    for name in ("baseline", "uniform_1230"):
        simulations[name] = _simulate_plan(
            registered,
            reference_plan(name, households, scenario),
            scenario,
            pd.DataFrame(),
            catalogue,
            reps,
            workers,
        )
    comparison = compare_allocations(
        prepared,
        {"optimised": result.quotas, "factor": factor.quotas},
        {
            "optimised": _p_all_met(simulated),
            "factor": _p_all_met(simulations["factor"]),
        },
    )
    comparison = _add_simulated(comparison, simulations, plan_years)

    begin("final projection")
    final = _simulate_plan(households, plan, scenario, village_plan, catalogue, reps, workers)
    simulations["final"] = final
    begin("tables")

    tables: dict[str, pd.DataFrame] = {
        "registry_summary": registry_summary(registry),
        "villages": registry.villages,
        "exit_targets": targets,
        "funding": funding.funding,
        "revenue": funding.revenue,
        "exit_yields": yields.yields,
        "household_types": yields.types,
        **{k: v for k, v in result.tables.items() if k != "shortfall"},
        "shortfall": shortfall,
        "household_plans": _plan_with_paths(plan, final),
        "village_works": _village_works_table(village_plan, registry, catalogue),
        "closed_loop": pd.DataFrame(rounds),
        "factor_comparison": comparison,
        "county_factors": factors,
        **{k: v for k, v in final.tables().items() if k not in {"household_paths"}},
        "household_paths": final.household,
        "target_probability_plans": _stack_probabilities(simulations),
        "assessment": county_assessment(
            final.county_year, final.target_probability, scenario.assessment
        ),
        "county_year_plans": _stack_county_year(simulations),
    }
    if registry.identification is not None:
        tables["identification"] = registry.identification
    begin("done")
    timings.pop("done", None)
    manifest = {
        "pipeline_replications": reps,
        "objective": model_settings.objective,
        "solver": result.solve.solver,
        "solver_status": result.solve.status.value,
        "objective_value": result.solve.objective_value,
        "closed_loop_rounds": len(rounds),
        "targets_missed": int((~shortfall["met"].astype(bool)).sum()),
        # Gaps are cumulative: a group's money need is its largest over the years.
        "money_missing_yuan": float(
            shortfall.groupby(["county_id", "villages"])["extra_yuan_to_close"]
            .max()
            .fillna(0)
            .sum()
        ),
        "p_all_targets_met": _p_all_met(simulated),
        "p_final_targets_met": float(simulated.meta["p_final_targets_met"]),
        "lp_variables": model.n_variables,
        "lp_constraints": model.n_constraints,
    }
    return PipelineResult(scenario, registry, tables, model, result, simulations, manifest, timings)


def _poverty_gap(registered: pd.DataFrame) -> pd.DataFrame:
    """Base-year poverty gap of the registered households by county (yuan per year)."""
    line = data.poverty_line(int(registered["registered_year"].dropna().min()))
    gap = (line - registered["income_pc"]).clip(lower=0) * registered["n_members"]
    frame = pd.DataFrame(
        {"county_id": registered["county_id"].astype(str), "poverty_gap_yuan": gap}
    )
    return frame.groupby("county_id", sort=False)["poverty_gap_yuan"].sum().reset_index()


def _add_simulated(
    comparison: pd.DataFrame, simulations: dict[str, SimulationResult], plan_years: set[int]
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


def _plan_with_paths(plan: pd.DataFrame, final: SimulationResult) -> pd.DataFrame:
    """Household plans with the simulated expected exit year and 2017 income."""
    exit_year = final.household_exit.rename(columns={"expected_exit_year": "simulated_exit_year"})
    income = final.household[final.household["year"] == 2017][["household_id", "income_pc_mean"]]
    income = income.rename(columns={"income_pc_mean": "expected_income_pc_2017"})
    return plan.merge(exit_year, on="household_id", how="left").merge(
        income, on="household_id", how="left"
    )


def _stack_probabilities(simulations: dict[str, SimulationResult]) -> pd.DataFrame:
    frames = [r.target_probability.assign(plan=name) for name, r in simulations.items()]
    return pd.concat(frames, ignore_index=True)


def _stack_county_year(simulations: dict[str, SimulationResult]) -> pd.DataFrame:
    keep = {"registered_remaining", "exits_cumulative", "returns", "mean_income_pc"}
    frames = [
        r.county_year[r.county_year["indicator"].isin(keep)].assign(plan=name)
        for name, r in simulations.items()
        if name != "final"
    ]
    return pd.concat(frames, ignore_index=True)

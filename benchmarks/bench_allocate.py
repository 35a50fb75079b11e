"""Benchmark of the allocation LP and the household plans; prints one JSON object on stdout.

Keys: ``build_s_plan_2015``, ``solve_s_plan_2015``, ``n_variables_plan_2015``,
``n_constraints_plan_2015``, ``build_s_national_2014``, ``solve_s_national_2014``,
``n_variables_national_2014``, ``household_plans_s`` (targets: build + solve < 5 s for
plan_2015; household plans for 12,600 households < 10 s; the national LP of the same order as
plan_2015's), plus a few extra facts (solver, status, extraction time, missed targets,
``yields_s``: the untimed-by-target microsimulation that produces the exit yields).

Inputs are the pipeline's own: exit yields from the microsimulation of plan_2015's registered
households (:func:`fupinsim.allocate.yields.compute_exit_yields`), funding, capacities and the
plan's targets. The LP works on household types (county × village type × labour class ×
income band), so its size does not grow with households: for ``national_2014`` the same types
are used with their household counts, money and capacities scaled by 29.48 M / 12,600 (the
national scenario keeps Jiuquan's household model; simulating every package on 29.48 M
households is not needed to size the LP).
"""

from __future__ import annotations

import json
import sys
import time
import warnings
from pathlib import Path

import pandas as pd

from fupinsim.allocate import (
    AllocationInputs,
    ModelSettings,
    SolveSettings,
    assign_households,
    build_model,
    extract_results,
    solve_model,
)
from fupinsim.allocate.households import QuotaWarning
from fupinsim.allocate.yields import ExitYields, compute_exit_yields
from fupinsim.funding import build_funding
from fupinsim.microsim import exit_targets, load_catalogue
from fupinsim.pipeline import _capacity_table, _lp_targets
from fupinsim.registry import generate_registry
from fupinsim.scenario import Scenario, load_scenario

ROOT = Path(__file__).resolve().parents[1]


def inputs_for(
    scenario: Scenario, yields: ExitYields, targets: pd.DataFrame, scale: float
) -> AllocationInputs:
    """Allocation inputs, with households, money and capacities multiplied by ``scale``."""
    catalogue = load_catalogue(scenario)
    y = yields.yields.copy()
    y["n_households"] = (y["n_households"] * scale).round()
    y["n_eligible"] = (y["n_eligible"] * scale).round()
    t = _lp_targets(targets, {})
    t["target_exits"] = (t["target_exits"] * scale).round()
    funding = build_funding(scenario).funding
    funding = funding.assign(amount_yuan=funding["amount_yuan"] * scale)
    capacity = _capacity_table(catalogue, scenario)
    capacity = capacity.assign(units=capacity["units"] * scale)
    return AllocationInputs(
        yields=y,
        funding=funding,
        targets=t,
        package_costs=yields.package_costs.drop(columns=["cost_sector_yuan"]),
        capacity_use=catalogue.capacity_use(),
        capacity=capacity,
    )


def timed_lp(
    name: str, scenario: Scenario, inputs: AllocationInputs
) -> tuple[dict, object, object]:
    settings = SolveSettings.from_scenario(scenario)
    started = time.perf_counter()
    model = build_model(inputs, ModelSettings.from_scenario(scenario))
    build_s = time.perf_counter() - started
    started = time.perf_counter()
    solution = solve_model(model, settings)
    solve_s = time.perf_counter() - started
    started = time.perf_counter()
    result = extract_results(model, solution, settings)
    extract_s = time.perf_counter() - started
    out = {
        f"build_s_{name}": round(build_s, 3),
        f"solve_s_{name}": round(solve_s, 3),
        f"n_variables_{name}": model.n_variables,
        f"n_constraints_{name}": model.n_constraints,
        f"extract_s_{name}": round(extract_s, 3),
        f"solver_{name}": f"{solution.solver} {solution.status.value}",
        f"targets_missed_{name}": result.summary["targets_missed"],
    }
    return out, model, result


def main() -> int:
    plan = load_scenario(ROOT / "scenarios" / "plan_2015.yaml")
    registry = generate_registry(plan)
    started = time.perf_counter()
    yields = compute_exit_yields(registry, plan, load_catalogue(plan), workers=2)
    report: dict[str, object] = {"yields_s": round(time.perf_counter() - started, 1)}
    targets = exit_targets(registry.households, plan.microsim.as_whole_allowance)

    out, model, result = timed_lp("plan_2015", plan, inputs_for(plan, yields, targets, 1.0))
    report.update(out)
    registered = registry.households[registry.households["is_registered"].to_numpy(bool)]
    households = yields.types.merge(registered[["household_id", "helper_id"]], on="household_id")
    started = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", QuotaWarning)  # reported by the pipeline's tables
        plans = assign_households(result.quotas, households, yields.gains, model.data)
    report["household_plans_s"] = round(time.perf_counter() - started, 3)
    report["n_household_plans"] = len(plans)

    national = load_scenario(ROOT / "scenarios" / "national_2014.yaml")
    scale = national.registry.n_registered_households / plan.registry.n_registered_households
    out, _, _ = timed_lp("national_2014", national, inputs_for(national, yields, targets, scale))
    report.update(out)
    print(json.dumps(report, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())

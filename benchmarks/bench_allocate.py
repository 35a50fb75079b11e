"""Benchmark of the allocation LP and the household plans; prints one JSON object on stdout.

Keys: ``build_s_plan_2015``, ``solve_s_plan_2015``, ``n_variables_plan_2015``,
``n_constraints_plan_2015``, ``build_s_national_2014``, ``solve_s_national_2014``,
``n_variables_national_2014``, ``household_plans_s`` (targets: build + solve < 5 s for
plan_2015; household plans for 12,600 households < 10 s; the national LP of the same order as
plan_2015's), plus a few extra facts (solver, status, extraction time, missed targets).

The exit yields do not come from the microsimulation yet: :func:`build_benchmark_inputs`
makes a synthetic table with the plan's dimensions, and is the one function to change when the
real yields exist. Its structure:

* target groups: the plan's schedule (five counties ``all``; Yumen and Guazhou split into
  ``immigrant`` and ``old``), households per group from the registry calibration, scaled to
  the scenario's ``registry.n_registered_households``;
* types: 2 labour classes (with / without labour; ESTIMATE 80 / 20%) × 5 income bands
  (ESTIMATE 15 / 25 / 25 / 20 / 15%) per group, 90 types whatever the number of households;
* 8 household packages of the catalogue (``fupinsim/data/interventions.yaml``) with fiscal,
  credit and household costs close to the catalogue's; labour packages only for types with
  labour, social cover only for those without;
* start years = funding years (2015-2017), yield years 2015 … ``microsim.horizon``; synthetic
  yields: baseline exits grow with the income band, a package adds a share of the remaining
  households that ramps up over one or two years (ESTIMATEs, for timing only);
* targets: the schedule's cumulative shares, "as a whole" (100%) read as 97% (the western 3%
  incidence rule), rounded to households;
* money: :func:`fupinsim.funding.build_funding`; capacities from the catalogue. For the
  national scale both are multiplied by the household scale factor (the national scenario
  keeps Jiuquan's money, which would make nearly every target a shortfall: a different LP).
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
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
from fupinsim.data import exit_schedule, load_raw, plain, registry_calibration
from fupinsim.funding import build_funding
from fupinsim.scenario import Scenario, load_scenario

ROOT = Path(__file__).resolve().parents[1]
PLAN_HOUSEHOLDS = 12_600

LABOUR_SHARES = {"l1": 0.8, "l0": 0.2}
BAND_SHARES = {1: 0.15, 2: 0.25, 3: 0.25, 4: 0.20, 5: 0.15}
#: Yearly baseline exit share by income band (cumulative share = rate × years since 2014).
BAND_EXIT_RATE = {1: 0.02, 2: 0.05, 3: 0.08, 4: 0.12, 5: 0.18}
#: How much of a package's effect a band gets (the poorest gain least in exit terms).
BAND_EFFECT = {1: 0.9, 2: 0.95, 3: 1.0, 4: 1.0, 5: 1.0}
#: id: (who, fiscal, credit, household, effect at maturity, ramp-up years)
PACKAGES = {
    "one_labourer_2mu_30sheep": ("labour", 12_500.0, 0.0, 36_000.0, 0.95, 1),
    "greenhouse_credit": ("any", 23_000.0, 20_000.0, 5_000.0, 0.90, 2),
    "sheep_credit": ("any", 12_500.0, 36_000.0, 0.0, 0.75, 2),
    "training_transfer": ("labour", 2_300.0, 0.0, 0.0, 0.70, 1),
    "transfer_only": ("labour", 800.0, 0.0, 0.0, 0.50, 1),
    "credit_own_project": ("labour", 3_000.0, 50_000.0, 0.0, 0.55, 2),
    "pv_household": ("any", 20_000.0, 0.0, 0.0, 0.50, 1),
    "social_cover_pv": ("no_labour", 22_000.0, 0.0, 0.0, 0.95, 1),
}
#: A group that exits "as a whole" may keep 3% of its households (western 3% incidence rule).
AS_WHOLE_SHARE = 0.97
CAPACITY_USE = [
    ("one_labourer_2mu_30sheep", "labour_transfer", 1.0),
    ("one_labourer_2mu_30sheep", "wolfberry_planting", 1.0),
    ("training_transfer", "training_seats", 1.0),
    ("training_transfer", "labour_transfer", 1.0),
    ("transfer_only", "labour_transfer", 1.0),
    ("greenhouse_credit", "greenhouse_builds", 1.0),
]


@dataclass(frozen=True)
class BenchmarkInputs:
    """What the benchmark allocates: the LP inputs and, optionally, households to plan for."""

    inputs: AllocationInputs
    households: pd.DataFrame | None
    gains: pd.DataFrame | None


def group_households(scenario: Scenario) -> pd.Series:
    """Registered households per target group (county, villages), scaled to the scenario."""
    cells = pd.DataFrame(registry_calibration()["cells"])
    schedule = exit_schedule()
    split = set(schedule.loc[schedule["villages"] != "all", "county"])
    cells["villages"] = np.where(
        cells["county"].isin(split), np.where(cells["immigrant"], "immigrant", "old"), "all"
    )
    counts = cells.groupby(["county", "villages"])["registered_households"].sum()
    return counts * scenario.registry.n_registered_households / counts.sum()


def _whole(amounts: np.ndarray, total: int) -> np.ndarray:
    floors = np.floor(amounts).astype(np.int64)
    order = np.argsort(-(amounts - floors), kind="stable")
    floors[order[: total - floors.sum()]] += 1
    return floors


def synthetic_types(scenario: Scenario) -> pd.DataFrame:
    rows = []
    for (county, villages), n in group_households(scenario).items():
        shares = [
            (labour, band, ls * bs)
            for labour, ls in LABOUR_SHARES.items()
            for band, bs in BAND_SHARES.items()
        ]
        sizes = _whole(np.array([s for *_, s in shares]) * n, round(n))
        for (labour, band, _), size in zip(shares, sizes, strict=True):
            type_id = f"{county}_{villages}_{labour}_b{band}"
            rows.append((type_id, county, villages, float(size), labour, band))
    return pd.DataFrame(
        rows,
        columns=["type_id", "county_id", "villages", "n_households", "labour_class", "income_band"],
    )


def synthetic_yields(scenario: Scenario, types: pd.DataFrame) -> pd.DataFrame:
    years = np.arange(2015, scenario.microsim.horizon + 1)
    starts = list(range(scenario.funding.first_year, scenario.funding.last_year + 1))
    frames = []
    for t in types.itertuples(index=False):
        damp = 0.8 if t.villages == "immigrant" else 1.0
        base = np.minimum(0.95, BAND_EXIT_RATE[t.income_band] * damp * (years - 2014))
        common = {
            "type_id": t.type_id,
            "county_id": t.county_id,
            "villages": t.villages,
            "n_households": t.n_households,
            "labour_class": t.labour_class,
            "income_band": t.income_band,
        }
        frames.append(
            pd.DataFrame(
                {**common, "package_id": "none", "start_year": 0, "year": years, "exit_prob": base}
            )
        )
        for package, (who, *_costs, effect, ramp) in PACKAGES.items():
            has_labour = t.labour_class == "l1"
            if (who == "labour" and not has_labour) or (who == "no_labour" and has_labour):
                continue
            for start in starts:
                running = np.clip((years - start + 1) / ramp, 0.0, 1.0)
                lift = effect * BAND_EFFECT[t.income_band] * running
                frames.append(
                    pd.DataFrame(
                        {
                            **common,
                            "package_id": package,
                            "start_year": start,
                            "year": years,
                            "exit_prob": base + (1.0 - base) * lift,
                        }
                    )
                )
    return pd.concat(frames, ignore_index=True)


def synthetic_targets(scenario: Scenario) -> pd.DataFrame:
    sizes = group_households(scenario)
    schedule = exit_schedule()
    years = range(scenario.funding.first_year, scenario.funding.last_year + 1)
    rows = []
    for (county, villages), n in sizes.items():
        entries = schedule[(schedule["county"] == county) & (schedule["villages"] == villages)]
        for year in years:
            known = entries[entries["year"] <= year]
            share = float(known["share"].iloc[-1]) if len(known) else 0.0
            share = min(share, AS_WHOLE_SHARE)
            rows.append((county, villages, year, float(round(share * n))))
    return pd.DataFrame(rows, columns=["county_id", "villages", "year", "target_exits"])


def build_benchmark_inputs(scenario: Scenario, *, with_households: bool = True) -> BenchmarkInputs:
    """Synthetic allocation inputs with the scenario's dimensions (replace with real yields).

    Parameters
    ----------
    scenario:
        ``plan_2015`` or ``national_2014`` (households scale money and capacities).
    with_households:
        Also make one row per registered household and predicted gains per package (for the
        household plans; skipped at national scale).
    """
    scale = scenario.registry.n_registered_households / PLAN_HOUSEHOLDS
    types = synthetic_types(scenario)
    yields = synthetic_yields(scenario, types)
    costs = pd.DataFrame(
        [
            (package, start, fiscal, credit, own)
            for package, (_who, fiscal, credit, own, _effect, _ramp) in PACKAGES.items()
            for start in range(scenario.funding.first_year, scenario.funding.last_year + 1)
        ],
        columns=[
            "package_id",
            "start_year",
            "cost_fiscal_yuan",
            "cost_credit_yuan",
            "cost_household_yuan",
        ],
    )
    funding = build_funding(scenario).funding.assign(amount_yuan=lambda f: f["amount_yuan"] * scale)
    capacities = plain(load_raw("interventions")["capacities"])
    capacity = pd.DataFrame(
        [
            (resource, year, float(spec["per_year"]) * scale)
            for resource, spec in capacities.items()
            for year in range(scenario.funding.first_year, scenario.funding.last_year + 1)
        ],
        columns=["resource", "year", "units"],
    )
    use = pd.DataFrame(CAPACITY_USE, columns=["package_id", "resource", "units_per_household"])
    inputs = AllocationInputs(
        yields=yields,
        funding=funding,
        targets=synthetic_targets(scenario),
        package_costs=costs,
        capacity_use=use,
        capacity=capacity,
    )
    if not with_households:
        return BenchmarkInputs(inputs, None, None)
    sizes = types["n_households"].to_numpy(dtype=np.int64)
    households = pd.DataFrame(
        {
            "household_id": np.arange(sizes.sum(), dtype=np.int64),
            "type_id": np.repeat(types["type_id"].to_numpy(), sizes),
        }
    )
    rng = np.random.default_rng(scenario.seed)
    eligible = yields.loc[yields["package_id"] != "none", ["type_id", "package_id"]]
    eligible = eligible.drop_duplicates()
    gains = households.merge(eligible, on="type_id")[["household_id", "package_id"]]
    gains["predicted_gain_yuan"] = rng.gamma(2.0, 1_500.0, len(gains))
    return BenchmarkInputs(inputs, households, gains)


def run(scenario_id: str, settings: SolveSettings) -> dict[str, object]:
    scenario = load_scenario(ROOT / "scenarios" / f"{scenario_id}.yaml")
    bench = build_benchmark_inputs(scenario, with_households=scenario_id == "plan_2015")
    started = time.perf_counter()
    model = build_model(bench.inputs, ModelSettings.from_scenario(scenario))
    build_s = time.perf_counter() - started
    started = time.perf_counter()
    solution = solve_model(model, settings)
    solve_s = time.perf_counter() - started
    started = time.perf_counter()
    result = extract_results(model, solution, settings)
    extract_s = time.perf_counter() - started
    out: dict[str, object] = {
        f"build_s_{scenario_id}": round(build_s, 3),
        f"solve_s_{scenario_id}": round(solve_s, 3),
        f"n_variables_{scenario_id}": model.n_variables,
        f"n_constraints_{scenario_id}": model.n_constraints,
        f"extract_s_{scenario_id}": round(extract_s, 3),
        f"solver_{scenario_id}": f"{solution.solver} {solution.status.value}",
        f"targets_missed_{scenario_id}": result.summary["targets_missed"],
    }
    if bench.households is not None:
        started = time.perf_counter()
        plans = assign_households(result.quotas, bench.households, bench.gains, model.data)
        out["household_plans_s"] = round(time.perf_counter() - started, 3)
        out["n_household_plans"] = len(plans)
        out["n_households"] = len(bench.households)
    return out


def main() -> int:
    settings = SolveSettings(time_limit_s=60.0)
    report: dict[str, object] = {}
    for scenario_id in ("plan_2015", "national_2014"):
        report.update(run(scenario_id, settings))
    print(json.dumps(report, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())

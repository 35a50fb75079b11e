"""Microsimulation benchmark: prints one JSON object.

Keys (issue "Household income microsimulation"):

``hh_years_per_s_12600``
    Household-years per second of the full model (shocks, illness, interventions, dibao,
    exits) on plan_2015's 12,600 registered households under ``uniform_1230``.
``hh_years_per_s_1000000``
    The same on 1,000,000 registered households (the national household model scaled down),
    five replications.
``mc_1000_plan_2015_s``
    Seconds for 1,000 replications of plan_2015's registered households under ``uniform_1230``.
``national_s``, ``national_peak_rss_mb``
    With ``--national``: seconds and peak resident memory (MB, this process and its workers)
    for the national scenario (29.48 M households × 7 years, one replication), registry
    generated chunk by chunk inside the workers; ``null`` without ``--national``.
``numpy_add_gb_s``
    NumPy ``a + b`` on 10 M float64 in this run (GB/s moved: 3 × 80 MB per add), to normalise
    for the machine.

Registry generation is not timed except in the national run (where it is part of the job).
Usage: ``python benchmarks/bench_microsim.py [--national] [--workers N]``.
"""

from __future__ import annotations

import argparse
import json
import resource
import time

import numpy as np

from fupinsim.microsim import reference_plan, simulate
from fupinsim.microsim.national import simulate_national
from fupinsim.registry import generate_registry
from fupinsim.scenario import load_scenario


def numpy_add_gb_s() -> float:
    a = np.ones(10_000_000)
    b = np.ones(10_000_000)
    out = np.empty_like(a)
    np.add(a, b, out=out)
    best = np.inf
    for _ in range(10):
        start = time.perf_counter()
        np.add(a, b, out=out)
        best = min(best, time.perf_counter() - start)
    return 3 * a.nbytes / best / 1e9


def _registered(scenario_path: str):  # type: ignore[no-untyped-def]
    scenario = load_scenario(scenario_path)
    registry = generate_registry(scenario)
    households = registry.households
    registered = households[households["is_registered"].to_numpy(dtype=bool)]
    plan = reference_plan("uniform_1230", households, scenario)
    return scenario, registered, plan


def rate(scenario, households, plan, replications: int, workers: int) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    result = simulate(
        households,
        plan,
        scenario,
        replications=replications,
        workers=workers,
        household_paths=False,
    )
    seconds = time.perf_counter() - start
    return result.meta["household_years"] / seconds, seconds


def peak_rss_mb() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return max(own, children) / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--national", action="store_true", help="also run national_2014")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()

    out: dict[str, object] = {"numpy_add_gb_s": round(numpy_add_gb_s(), 2)}
    scenario, registered, plan = _registered("scenarios/plan_2015.yaml")
    rate(scenario, registered, plan, 50, args.workers)  # warm-up (spawned workers, caches)
    hh_rate, _ = rate(scenario, registered, plan, 200, args.workers)
    out["hh_years_per_s_12600"] = round(hh_rate)
    _, mc_seconds = rate(scenario, registered, plan, 1000, args.workers)
    out["mc_1000_plan_2015_s"] = round(mc_seconds, 2)

    national = load_scenario("scenarios/national_2014.yaml")
    scale = 1_000_000 / national.registry.n_registered_households
    million = national.model_copy(
        update={
            "registry": national.registry.model_copy(
                update={
                    "n_registered_households": 1_000_000,
                    "n_registered_people": round(national.registry.n_registered_people * scale),
                }
            )
        }
    )
    big = generate_registry(million)
    big_plan = reference_plan("uniform_1230", big.households, million)
    big_rate, _ = rate(million, big.households, big_plan, 5, args.workers)
    out["hh_years_per_s_1000000"] = round(big_rate)
    del big, big_plan

    out["national_s"] = None
    out["national_peak_rss_mb"] = None
    if args.national:
        start = time.perf_counter()
        simulate_national(national, "uniform_1230", workers=args.workers)
        out["national_s"] = round(time.perf_counter() - start, 1)
        out["national_peak_rss_mb"] = round(peak_rss_mb())
    out["workers"] = args.workers
    out["replications_rate"] = 200
    print(json.dumps(out))


if __name__ == "__main__":
    main()

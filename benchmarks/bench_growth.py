"""How the microsimulation's cost grows with households and replications: prints one JSON object.

For each size (12,600 households: plan_2015's registered ones under ``uniform_1230``; 100 k,
1 M and 3 M: the national household model scaled down, float32 tables, ``uniform_1230``) and
each replication count (1, 10, 100, 1,000), the seconds of ``simulate`` (set-up, kernel and
result tables; no household paths). A cell expected to take longer than ``--cap`` seconds is not
run: it is projected linearly from the largest measured cell of the same size and marked
``projected`` (the kernel's work is households × years × replications; set-up is per run).

``reference_hh_years_per_s`` is the naive NumPy reference of ``bench_microsim.py`` measured in
the same run (the machine is shared: compare runs through it).

Usage: ``python benchmarks/bench_growth.py [--workers N] [--cap SECONDS] [--sizes ...]``.
"""

from __future__ import annotations

import argparse
import json
import time

from bench_microsim import _registered, rate, reference_rate

from fupinsim.microsim import reference_plan
from fupinsim.registry import generate_registry
from fupinsim.scenario import Scenario, load_scenario

REPLICATIONS = (1, 10, 100, 1000)


def _national(households: int) -> Scenario:
    national = load_scenario("scenarios/national_2014.yaml")
    scale = households / national.registry.n_registered_households
    registry = national.registry.model_copy(
        update={
            "n_registered_households": households,
            "n_registered_people": round(national.registry.n_registered_people * scale),
        }
    )
    return national.model_copy(update={"registry": registry})


def _cells(scenario, households, plan, workers: int, cap: float) -> dict[str, object]:  # type: ignore[no-untyped-def]
    rate(scenario, households, plan, 1, workers)  # warm-up
    cells: dict[str, object] = {}
    measured: tuple[int, float] | None = None
    for reps in REPLICATIONS:
        if measured and measured[1] * reps / measured[0] > cap:
            seconds = measured[1] * reps / measured[0]
            cells[str(reps)] = {"seconds": round(seconds, 2), "projected": True}
            continue
        _, seconds = rate(scenario, households, plan, reps, workers)
        measured = (reps, seconds)
        cells[str(reps)] = {"seconds": round(seconds, 2), "projected": False}
    return cells


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--cap", type=float, default=30.0)
    parser.add_argument("--sizes", type=int, nargs="*", default=[12_600, 100_000, 1_000_000,
                                                                  3_000_000])  # fmt: skip
    args = parser.parse_args()
    out: dict[str, object] = {"workers": args.workers, "cap_s": args.cap}
    out["reference_hh_years_per_s"] = round(reference_rate())
    table: dict[str, object] = {}
    for size in args.sizes:
        start = time.perf_counter()
        if size == 12_600:
            scenario, households, plan = _registered("scenarios/plan_2015.yaml")
        else:
            scenario = _national(size)
            households = generate_registry(scenario).households
            plan = reference_plan("uniform_1230", households, scenario)
        table[str(size)] = _cells(scenario, households, plan, args.workers, args.cap)
        table[str(size)]["total_s"] = round(time.perf_counter() - start, 1)  # type: ignore[index]
    out["seconds"] = table
    out["reference_hh_years_per_s_after"] = round(reference_rate())
    print(json.dumps(out))


if __name__ == "__main__":
    main()

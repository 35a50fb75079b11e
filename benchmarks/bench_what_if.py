"""Benchmark of the what-if controls (:mod:`fupinsim.widgets`); prints one JSON object on stdout.

Keys (seconds of wall time, plan_2015, 200 Monte Carlo replications unless ``--replications``):

``full_rerun_s``
    The first re-plan with an empty cache: registry, exit yields, LP (with the money that would
    close each gap), household plans and the simulation of the plan (what every change would
    cost without the cache).
``replan_s``
    A money change (the county earmark share): the LP is re-solved and the new plan simulated,
    including its 200-replication P(target met); registry and yields come from the cache.
    Goal: ≤ 2 s on 2 cores.
``resimulate_s``
    A model-parameter change (the cost factor of 30 sheep): the exit yields are recomputed for
    the new costs, then the LP and the simulation. Goal: ≤ 15 s on 2 cores.
``disk_replan_s``
    A new session (empty memory) re-planning the unchanged scenario from the disk cache.

plus the CPU seconds of this process for each (``*_cpu_s``: on a shared machine the wall time
is several times the CPU time), the step timings (``*_steps``), ``replications``, ``workers``,
``cpu_count`` and the load average.
The shortfall re-solves warm-start one HiGHS model
(:class:`fupinsim.allocate.resolve.HighsResolver`); the registry stage's cadre pairing is reused
from memory; the kernel runs on ``workers`` threads.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

from fupinsim.scenario import load_scenario
from fupinsim.widgets import WhatIf

ROOT = Path(__file__).resolve().parents[1]


def _steps(timings: dict[str, float]) -> dict[str, float]:
    return {k: round(v, 3) for k, v in timings.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", default=str(ROOT / "scenarios" / "plan_2015.yaml"))
    parser.add_argument("--replications", type=int, default=200)
    parser.add_argument(
        "--workers", type=int, default=None, help="default: WhatIf's (2 on a 2-core machine)"
    )
    args = parser.parse_args(argv)

    scenario = load_scenario(args.scenario)
    with tempfile.TemporaryDirectory(prefix="bench_what_if_") as cache:
        what = WhatIf(
            scenario, replications=args.replications, cache_dir=cache, workers=args.workers
        )
        cpu, started = time.process_time(), time.perf_counter()
        full = what.replan()
        full_s, full_cpu = time.perf_counter() - started, time.process_time() - cpu

        what.set("funding.earmark_share_county", 0.25)
        cpu, started = time.process_time(), time.perf_counter()
        money = what.replan()
        replan_s, replan_cpu = time.perf_counter() - started, time.process_time() - cpu

        what.set("interventions.sheep_30.cost_factor", 1.2)
        cpu, started = time.process_time(), time.perf_counter()
        model = what.replan()
        resimulate_s, resimulate_cpu = time.perf_counter() - started, time.process_time() - cpu

        again = WhatIf(
            scenario, replications=args.replications, cache_dir=cache, workers=args.workers
        )
        cpu, started = time.process_time(), time.perf_counter()
        disk = again.replan()
        disk_s, disk_cpu = time.perf_counter() - started, time.process_time() - cpu

    result = {
        "scenario": scenario.id,
        "replications": args.replications,
        "workers": what.workers,
        "cpu_count": os.cpu_count(),
        "full_rerun_s": round(full_s, 3),
        "replan_s": round(replan_s, 3),
        "resimulate_s": round(resimulate_s, 3),
        "disk_replan_s": round(disk_s, 3),
        "full_rerun_cpu_s": round(full_cpu, 3),
        "replan_cpu_s": round(replan_cpu, 3),
        "resimulate_cpu_s": round(resimulate_cpu, 3),
        "disk_replan_cpu_s": round(disk_cpu, 3),
        "full_rerun_steps": _steps(full.timings),
        "replan_steps": _steps(money.timings),
        "resimulate_steps": _steps(model.timings),
        "disk_replan_steps": _steps(disk.timings),
        "replan_reused": list(money.reused),
        "resimulate_reused": list(model.reused),
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }
    sys.stdout.write(json.dumps(result) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

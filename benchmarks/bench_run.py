"""Scenario-run benchmark: one ``fupinsim run`` through the CLI entry point, seconds by stage.

Runs ``python -m fupinsim.cli run SCENARIO --out TMP --workers N`` (the command a planner
runs, in a fresh process: imports, numba's cached kernels, writing every table and the report
bundle included) and prints one JSON object:

``wall_s``
    Seconds of the whole command.
``stages_s``
    The pipeline's own timings by stage (``pipeline_timings_s`` of the run's ``manifest.json``:
    registry, funding, yields, allocation, household plans, each closed-loop round, comparison,
    final projection).
``outside_pipeline_s``
    ``wall_s`` minus the stages: interpreter start-up, imports, loading the kernels, writing
    tables, the allocation model and the report bundle.
``writing_s``
    The report bundle's parts (three tables, figures, guides, cards, announcement and report),
    from the ``report bundle written`` line of the run's ``logs/run.log``; ``other_s`` is what
    is left of ``outside_pipeline_s`` (start-up, imports, run tables in CSV and Parquet).
``reference_hh_years_per_s``
    The naive NumPy reference of ``bench_microsim.py`` measured in this run, before the command
    (the machine is shared: compare runs through it).

Usage: ``python benchmarks/bench_run.py [SCENARIO] [--workers N] [--replications R]``.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench_microsim import reference_rate


def _writing_parts(log: str) -> dict[str, float]:
    """Seconds of each part of the report bundle, from its line in the run's log."""
    found = re.search(r"report bundle written: (.*)", log)
    if not found:
        return {}
    parts = (part.rsplit(" ", 2) for part in found.group(1).split(", "))
    return {name: float(value) for name, value, _unit in parts}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scenario", nargs="?", default="scenarios/plan_2015.yaml")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--replications", type=int, default=None)
    args = parser.parse_args()

    out: dict[str, object] = {"scenario": args.scenario, "workers": args.workers}
    out["reference_hh_years_per_s"] = round(reference_rate())
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "run"
        command = [sys.executable, "-m", "fupinsim.cli", "run", args.scenario, "--out"]
        command += [str(folder), "--workers", str(args.workers)]
        if args.replications:
            command += ["--replications", str(args.replications)]
        start = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True, text=True)
        wall = time.perf_counter() - start
        manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
        log = (folder / "logs" / "run.log").read_text(encoding="utf-8")
    stages = manifest.get("pipeline_timings_s", {})
    out["command"] = " ".join(["fupinsim", *command[3:5], "--workers", str(args.workers)])
    out["replications"] = manifest.get("replications")
    out["wall_s"] = round(wall, 2)
    out["stages_s"] = stages
    out["outside_pipeline_s"] = round(wall - sum(stages.values()), 2)
    writing = _writing_parts(log)
    out["writing_s"] = writing
    out["other_s"] = round(wall - sum(stages.values()) - sum(writing.values()), 2)
    print(json.dumps(out))


if __name__ == "__main__":
    main()

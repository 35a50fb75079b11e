"""Benchmark: synthetic registry generation at national scale.

Generates the ``national_2014`` registry (29.48 million registered households, 89.62 million
people; calibration.md §1) chunk by chunk, as ``fupinsim registry`` does, and prints one JSON
object::

    {"households_per_s": ..., "peak_rss_mb": ..., "households": ..., "people": ...,
     "seconds": ..., "cpu_seconds": ..., "mode": "national", "chunk_households": ...}

``--quick`` scales the scenario's totals down to 1,000,000 households and
round(1,000,000 × 89.62 / 29.48) people. ``--out FILE`` also writes the registry (Parquet or CSV),
so the figure includes writing. Peak RSS is the process's maximum resident set size
(``getrusage``), imports included. Not a test: it prints comparable figures.

Run from the repository root::

    .venv/bin/python benchmarks/bench_registry.py --quick
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from fupinsim.io.registry_files import write_registry_chunks
from fupinsim.registry import Registry, iter_registry_chunks
from fupinsim.scenario import Scenario, load_scenario

ROOT = Path(__file__).resolve().parents[1]
QUICK_HOUSEHOLDS = 1_000_000


def peak_rss_mb() -> float:
    """Maximum resident set size of this process so far, in MB (KB on Linux, bytes on macOS)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 1024 / 1024 if sys.platform == "darwin" else peak / 1024


def scaled(scenario: Scenario, households: int) -> Scenario:
    """The scenario with ``households`` registered households and people in proportion."""
    registry = scenario.registry
    people = round(households * registry.n_registered_people / registry.n_registered_households)
    data = scenario.model_dump()
    data["registry"].update(n_registered_households=households, n_registered_people=people)
    return Scenario.model_validate(data)


def main(argv: list[str] | None = None) -> dict[str, object]:
    """Run the benchmark and print its JSON line; returns the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1,000,000 households")
    parser.add_argument(
        "--scenario",
        type=Path,
        default=ROOT / "scenarios" / "national_2014.yaml",
        help="scenario to generate (default: national_2014)",
    )
    parser.add_argument("--households", type=int, help="scale to this many households")
    parser.add_argument("--chunk", type=int, help="households per chunk (default: scenario's)")
    parser.add_argument("--out", type=Path, help="also write the registry (.parquet or .csv)")
    args = parser.parse_args(argv)

    scenario = load_scenario(args.scenario)
    households = args.households or (QUICK_HOUSEHOLDS if args.quick else None)
    if households is not None:
        scenario = scaled(scenario, households)
    chunk = args.chunk or scenario.registry.chunk_households

    start, cpu_start = time.perf_counter(), time.process_time()
    counted = {"households": 0, "people": 0}

    def counting(chunks: Iterator[Registry]) -> Iterator[Registry]:
        for registry in chunks:
            counted["households"] += len(registry.households)
            counted["people"] += int(registry.households["n_members"].sum())
            yield registry

    chunks = counting(iter_registry_chunks(scenario, chunk_households=chunk))
    if args.out is not None:
        write_registry_chunks(chunks, args.out)
    else:
        for _ in chunks:
            pass
    seconds = time.perf_counter() - start
    figures: dict[str, object] = {
        "households_per_s": round(counted["households"] / seconds),
        "peak_rss_mb": round(peak_rss_mb(), 1),
        "households": counted["households"],
        "people": counted["people"],
        "seconds": round(seconds, 2),
        "cpu_seconds": round(time.process_time() - cpu_start, 2),
        "mode": "quick" if args.quick else ("scaled" if households else "national"),
        "scenario": scenario.id,
        "chunk_households": chunk,
        "written": str(args.out) if args.out else None,
    }
    print(json.dumps(figures))
    return figures


if __name__ == "__main__":
    main()

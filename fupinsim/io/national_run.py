"""``fupinsim simulate`` at national size: household tables streamed, aggregates merged.

The registry is never built whole: :func:`fupinsim.microsim.national.simulate_national`
generates and simulates it chunk by chunk in the workers, hands back each chunk's household
paths and expected exit years (appended here as Parquet row groups, :class:`StreamedTable`) and
adds the per-chunk sums into the county-year, target and targeting tables. Village tables are
not written at this scale (a registry chunk cuts villages).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from fupinsim.io.outputs import environment_info, write_manifest, write_tables
from fupinsim.io.streamed import StreamedTable
from fupinsim.microsim.national import simulate_national
from fupinsim.microsim.results import SimulationResult
from fupinsim.microsim.simulate import Progress
from fupinsim.scenario import Scenario

__all__ = ["NATIONAL_NOTE", "simulate_national_to_directory"]

logger = logging.getLogger(__name__)

#: What a national run is, said wherever its numbers are shown.
NATIONAL_NOTE = (
    "Scale test: the size of the 2014 national registry with Jiuquan's household model, seven "
    "county strata and schedule. Not a national projection."
)


def simulate_national_to_directory(
    scenario: Scenario,
    folder: str | Path,
    plan_name: str,
    *,
    replications: int | None = None,
    workers: int = 1,
    chunk_households: int | None = None,
    scheduler: str | None = None,
    worker_memory: str = "3GiB",
    progress: Progress | None = None,
) -> SimulationResult:
    """Simulate a registered-only scenario into ``folder`` (tables and ``manifest.json``)."""
    started = datetime.now(UTC).isoformat(timespec="seconds")
    expected = scenario.registry.n_registered_households
    limit = scenario.registry.csv_max_household_rows
    paths = StreamedTable(folder, "household_paths", expected * len(scenario.years), limit)
    exits = StreamedTable(folder, "household_exit", expected, limit)
    with paths, exits:

        def sink(_index: int, chunk_paths: pd.DataFrame, chunk_exits: pd.DataFrame) -> None:
            paths.write(chunk_paths)
            exits.write(chunk_exits)

        result = simulate_national(
            scenario,
            plan_name,
            replications=replications,
            workers=workers,
            chunk_households=chunk_households,
            progress=progress,
            household_sink=sink,
            scheduler=scheduler,
            worker_memory=worker_memory,
        )
    tables = {
        name: frame
        for name, frame in result.tables().items()
        if name not in {"household_paths", "household_exit", "village_year"}
    }
    write_tables(tables, folder)
    streamed = {t.name: t.close() for t in (paths, exits)}
    skipped = [name for name, info in streamed.items() if not info["csv"]]
    manifest: dict[str, Any] = {
        "status": "ok",
        "command": "simulate",
        "scenario_id": scenario.id,
        "scenario_hash": scenario.hash,
        "seed": scenario.seed,
        "plan": plan_name,
        "note": NATIONAL_NOTE,
        "started_at": started,
        "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "streamed_tables": streamed,
        "csv_skipped": {
            "tables": skipped,
            "why": f"longer than registry.csv_max_household_rows ({limit:,} rows): Parquet only",
        },
        "tables_not_written": {"village_year": "registry chunks cut villages at this scale"},
        "environment": environment_info(),
        **{k: v for k, v in result.meta.items() if k in _META},
    }
    write_manifest(manifest, folder)
    return result


_META = ("replications", "households", "years", "seconds", "workers", "chunks", "scheduler")

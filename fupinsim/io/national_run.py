"""``fupinsim simulate`` and ``fupinsim run`` at national size: household tables streamed,
aggregates merged.

The registry is never built whole: :func:`fupinsim.microsim.national.simulate_national`
generates and simulates it chunk by chunk in the workers, hands back each chunk's household
paths and expected exit years (appended here as Parquet row groups, :class:`StreamedTable`) and
adds the per-chunk sums into the county-year, target and targeting tables. Village tables are
not written at this scale (a registry chunk cuts villages).

:func:`run_national_to_directory` runs :func:`fupinsim.pipeline.national.run_national` and
writes a run folder: the household tables (``households``, ``household_plans``,
``household_paths``, ``household_exit``) chunk by chunk as Parquet row groups (CSV copies
skipped above ``registry.csv_max_household_rows``, said in the log and the manifest), the
aggregates merged from per-chunk sums, the national LP and its tables, and the report with
the scale-test note.
"""

from __future__ import annotations

import json
import logging
import shutil
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow.parquet as pq

from fupinsim.allocate import write_mps
from fupinsim.assess import county_assessment
from fupinsim.io.outputs import (
    atomic_output_dir,
    code_version,
    environment_info,
    write_manifest,
    write_tables,
)
from fupinsim.io.report_files import write_report_bundle
from fupinsim.io.run import RUN_INFO
from fupinsim.io.streamed import StreamedTable
from fupinsim.microsim.national import simulate_national
from fupinsim.microsim.results import SimulationResult
from fupinsim.microsim.simulate import Progress
from fupinsim.pipeline.national import SAMPLE_HOUSEHOLDS, NationalRun, run_national
from fupinsim.pipeline.results import RunTables
from fupinsim.pipeline.tables import catalogue_packages, county_year_once
from fupinsim.scenario import Scenario

__all__ = [
    "NATIONAL_NOTE",
    "NATIONAL_RUN_STAGES",
    "ensure_national_run",
    "household_tables_on_disk",
    "load_national_run",
    "run_national_to_directory",
    "simulate_national_to_directory",
    "write_run_info",
]

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


#: The stages :func:`run_national_to_directory` reports through ``step``, in order.
NATIONAL_RUN_STAGES: tuple[str, ...] = (
    "registry",
    "funding",
    "yields",
    "allocate",
    "household plans and projection",
    "write tables and reports",
)

#: Household tables of a national run, streamed chunk by chunk.
_STREAMED = ("households", "household_plans", "household_paths", "household_exit")

#: Subfolder of a national run holding the yields sample's household tables (``tables/``).
SAMPLE_FOLDER = "sample"


def _tables(run: NationalRun, scenario: Scenario) -> dict[str, pd.DataFrame]:
    """The run's small tables (national LP, aggregates, sample's village works)."""
    result = run.allocation.result
    final = run.projection
    return {
        "villages": run.sample.registry.villages,
        "exit_targets": run.targets,
        "funding": run.funding.funding,
        "revenue": run.funding.revenue,
        "exit_yields": catalogue_packages(run.yields.yields),
        "allocation": result.allocation,
        "allocation_quotas": catalogue_packages(result.quotas),
        "spending": result.spending,
        "shortfall": result.shortfall,
        "marginal_cost": result.marginal_cost,
        "money_value": result.money_value,
        "unused_money": result.unused_money,
        "county_year": county_year_once(final.county_year),
        "target_probability": final.target_probability,
        "immigrant_income": final.immigrant_income,
        "targeting": final.targeting,
        "assessment": county_assessment(
            final.county_year, final.target_probability, scenario.assessment
        ),
    }


def _manifest(run: NationalRun, streamed: dict[str, Any], limit: int) -> dict[str, Any]:
    result = run.allocation.result
    model = run.allocation.model
    assigned = int(streamed["household_plans"]["rows"])
    quota = float(run.quotas_per_type["households"].sum())
    skipped = [name for name, info in streamed.items() if not info["csv"]]
    return {
        "note": NATIONAL_NOTE,
        "national_run": {
            "yields_sample_households": run.sample.scenario.registry.n_registered_households,
            "yields_sample": "exit yields from a stratified sample generated with the same "
            "generator, cells and seed (the scenario cut to the sample size): yields are per "
            "household type, so the sample has the same yields law; type counts are scaled to "
            "each county stratum's national registered households",
            "lp": "one round on national counts (no closed loop, no comparison plans)",
            "household_plans": "each type's quotas as shares of its households; a household "
            "gets an option when a uniform number keyed by (seed, household id) falls in the "
            "option's share (met in expectation)",
            "households_assigned_vs_quota": "a type's share is its quota over its household "
            "count estimated from the yields sample (sample count x national/sample stratum "
            "size); applied to the type's national households, it assigns quota x national / "
            "estimated count. The LP's quotas sit on rare (social-security) types with a few "
            "sample households each, and E[N / N_estimated] > 1 (Jensen), so more households "
            "are assigned than the quotas (2.5 % to 12 % nationally, sample 20,000): a larger "
            "--sample-households narrows it",
            "quota_households": round(quota),
            "households_assigned": assigned,
        },
        "streamed_tables": streamed,
        "csv_skipped": {
            "tables": skipped,
            "why": f"longer than registry.csv_max_household_rows ({limit:,} rows): Parquet only",
        },
        "tables_not_written": {
            "village_year": "registry chunks cut villages at this scale",
            "closed_loop, factor_comparison, *_plans": "one LP round at national size",
        },
        "pipeline_replications": run.projection.meta["replications"],
        "objective": model.settings.objective,
        "solver": result.solve.solver,
        "solver_status": result.solve.status.value,
        "objective_value": result.solve.objective_value,
        "targets_missed": int((~result.shortfall["met"].astype(bool)).sum()),
        "money_missing_yuan": float(
            result.shortfall.groupby(["county_id", "villages"])["extra_yuan_to_close"]
            .max()
            .fillna(0)
            .sum()
        ),
        "p_all_targets_met": float(run.projection.meta["p_all_targets_met"]),
        "lp_variables": model.n_variables,
        "lp_constraints": model.n_constraints,
        "households": run.projection.meta["households"],
        "chunks": run.projection.meta["chunks"],
        "scheduler": run.projection.meta["scheduler"],
        "projection_seconds": round(float(run.projection.meta["seconds"]), 3),
        "title": f"{run.sample.scenario.title} (scale test)",
    }


def run_national_to_directory(
    scenario: Scenario,
    folder: str | Path,
    *,
    objective: str | None = None,
    replications: int | None = None,
    workers: int = 1,
    chunk_households: int | None = None,
    scheduler: str | None = None,
    worker_memory: str = "3GiB",
    sample_households: int | None = None,
    step: Callable[[str], None] | None = None,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Run a registered-only scenario into ``folder``; returns the manifest fields."""
    folder = Path(folder)
    expected = scenario.registry.n_registered_households
    limit = scenario.registry.csv_max_household_rows
    rows = {"household_paths": expected * len(scenario.years)}
    tables = {
        name: StreamedTable(folder, name, rows.get(name, expected), limit) for name in _STREAMED
    }

    def households_out(_index: int, paths: pd.DataFrame, exits: pd.DataFrame) -> None:
        tables["household_paths"].write(paths)
        tables["household_exit"].write(exits)

    def plans_out(_index: int, plan: pd.DataFrame, households: pd.DataFrame) -> None:
        tables["household_plans"].write(plan)
        tables["households"].write(households)

    try:
        run = run_national(
            scenario,
            replications=replications,
            workers=workers,
            objective=objective,
            sample_households=sample_households or SAMPLE_HOUSEHOLDS,
            chunk_households=chunk_households,
            household_sink=households_out,
            plan_sink=plans_out,
            scheduler=scheduler,
            worker_memory=worker_memory,
            step=step,
            progress=progress,
        )
    finally:
        streamed = {name: table.close() for name, table in tables.items()}
    if step is not None:
        step("write tables and reports")
    small = _tables(run, scenario)
    write_tables(small, folder)
    write_mps(run.allocation.model, folder / "allocation_model.mps")
    manifest = _manifest(run, streamed, limit)
    write_run_info(
        scenario, folder, int(run.projection.meta["replications"]), manifest["p_all_targets_met"]
    )
    # The report's registry pages, cards and announcement read the yields sample with plans by
    # the same rule (a household table of 29 M rows is read by rows, never whole); its
    # projection, targets and money pages read the national tables. The notebooks read the same
    # sample (``sample/tables``, :func:`load_national_run`).
    sample = run.sample.registry.households
    sample_tables = {
        "households": sample,
        "household_plans": run.shares(sample, run.sample.scenario),  # the same rule
    }
    write_tables(sample_tables, folder / SAMPLE_FOLDER)
    report_tables = {**small, **sample_tables}
    write_report_bundle(
        RunTables.partial(report_tables, manifest=manifest),
        folder,
        scenario=scenario,
        title=f"{scenario.title}. {NATIONAL_NOTE}",
        manifest=manifest,
        p_all_targets_met=manifest["p_all_targets_met"],
    )
    # The bundle's cards are of sample households, whose ids are also national households':
    # removed, so a card is only ever written from the national tables (``fupinsim card``).
    shutil.rmtree(folder / "cards", ignore_errors=True)
    return manifest


def write_run_info(
    scenario: Scenario, folder: str | Path, replications: int, p_all_targets_met: float
) -> None:
    """``run_info.json`` of a national run (what :func:`ensure_national_run` matches, and the
    run's P(all targets met) for the notebooks: a batch writes ``manifest.json`` last)."""
    info = {
        "scenario_id": scenario.id,
        "scenario_hash": scenario.hash,
        "replications": replications,
        "code_version": code_version(),
        "note": NATIONAL_NOTE,
        "p_all_targets_met": p_all_targets_met,
    }
    text = json.dumps(info, indent=2, sort_keys=True)
    (Path(folder) / RUN_INFO).write_text(text, encoding="utf-8")


def load_national_run(folder: str | Path) -> RunTables:
    """The small tables of a national run folder; says it is a scale test.

    ``households`` and ``household_plans`` are the yields sample's (``sample/tables``, the
    report's registry pages read the same), each saying so in ``attrs["note"]``; the national
    household tables are left on disk (read them by rows with
    :func:`fupinsim.io.streamed.read_rows`). The manifest holds the run's note, P(all targets
    met) and where each household table is.
    """
    logger.warning("%s: %s", Path(folder).name, NATIONAL_NOTE)
    tables = Path(folder) / "tables"
    out = {
        p.stem: pd.read_parquet(p)
        for p in sorted(tables.glob("*.parquet"))
        if p.stem not in _STREAMED
    }
    for frame in out.values():
        frame.attrs["note"] = NATIONAL_NOTE
    on_disk = household_tables_on_disk(folder)
    sample = _sample_tables(folder, on_disk)
    info = json.loads((Path(folder) / RUN_INFO).read_text(encoding="utf-8"))
    facts = {"note": NATIONAL_NOTE, "household_tables_on_disk": on_disk}
    if "p_all_targets_met" in info:
        facts["p_all_targets_met"] = info["p_all_targets_met"]
    run = RunTables.partial({**out, **sample}, manifest=facts)
    for name, text in on_disk.items():
        if name not in sample:
            getattr(run, name).attrs["note"] = text
    if set(on_disk) - set(sample):
        # Said where a notebook shows it (its log cell) rather than as silent empty tables.
        logger.warning(
            "%s: household tables are NOT loaded (they are empty here): %s",
            Path(folder).name,
            "; ".join(text for name, text in on_disk.items() if name not in sample),
        )
    if sample:
        logger.warning(
            "%s: households and household_plans are the yields sample's %s households",
            Path(folder).name,
            f"{len(sample['households']):,}",
        )
    return run


def _sample_tables(folder: str | Path, on_disk: dict[str, str]) -> dict[str, pd.DataFrame]:
    """The yields sample's ``households`` and ``household_plans`` of a national run folder,
    each noting that it is the sample and where the national table is (empty when the run
    predates them)."""
    out: dict[str, pd.DataFrame] = {}
    for name in ("households", "household_plans"):
        path = Path(folder) / SAMPLE_FOLDER / "tables" / f"{name}.parquet"
        if not path.is_file():
            continue
        frame = pd.read_parquet(path)
        national = on_disk.get(name, f"{name}: not written")
        frame.attrs["note"] = (
            f"The national run's yields sample: {len(frame):,} rows (scale test; the report's "
            f"registry pages show the same). National table: {national}"
        )
        out[name] = frame
    return out


def household_tables_on_disk(folder: str | Path) -> dict[str, str]:
    """Per household table of a national run folder, a sentence saying it is left on disk:
    its rows, its file and how to read one household's rows (only the Parquet footer is
    read)."""
    out: dict[str, str] = {}
    for name in _STREAMED:
        path = Path(folder) / "tables" / f"{name}.parquet"
        if path.is_file():
            rows = pq.ParquetFile(path).metadata.num_rows
            out[name] = (
                f"{name}: {rows:,} rows left on disk in tables/{name}.parquet (read by rows: "
                f"fupinsim.io.streamed.read_rows(path, column='household_id', values=[...]))"
            )
    return out


def ensure_national_run(
    scenario: Scenario, folder: str | Path, replications: int, workers: int = 1
) -> RunTables:
    """:func:`fupinsim.io.run.ensure_run` for a registered-only scenario: reuse the national
    run in ``folder`` if it matches, else run it there (atomically); its small tables."""
    folder = Path(folder)
    info_path = folder / RUN_INFO
    info = json.loads(info_path.read_text(encoding="utf-8")) if info_path.is_file() else {}
    if info.get("scenario_hash") != scenario.hash or info.get("replications") != replications:
        logger.info("no matching national run in %s: running it", folder)
        with atomic_output_dir(folder) as work:
            fields = run_national_to_directory(
                scenario, work, replications=replications, workers=workers
            )
            write_manifest({"status": "ok", "scenario_id": scenario.id, **fields}, work)
    return load_national_run(folder)

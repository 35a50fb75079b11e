"""Write one scenario run into a folder: tables, the LP, the report bundle, a manifest.

:func:`run_to_directory` is the batch runner's pipeline hook and the body of ``fupinsim run``:
it runs :func:`fupinsim.pipeline.run_pipeline` and writes everything into ``folder`` (normally
the hidden work folder that :mod:`fupinsim.io.outputs` renames into place on success):

``tables/<name>.csv|.parquet``
    Every pipeline table (``docs/contracts.md``), the registry's households included.
``allocation_model.mps``
    The allocation LP, for anyone to re-solve (HiGHS, CBC, …).
``report.html``, ``three_tables.xlsx``, ``figures/``, ``guide/``, ``announcement.html``
    The planner's reports (:func:`fupinsim.io.report_files.write_report_bundle`).
``run_info.json``
    What the run was computed from (scenario hash, replications, code version) and the run's
    manifest facts and step timings, so that :func:`load_run` gives back the same
    :class:`~fupinsim.pipeline.RunTables` as the run in memory.

:func:`load_run` reads a run folder back as :class:`~fupinsim.pipeline.RunTables`;
:func:`ensure_run` (the notebooks' entry point) reads it or computes it first.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import current_process, get_context
from pathlib import Path
from typing import Any

import pandas as pd

from fupinsim.allocate import write_mps
from fupinsim.errors import InputError
from fupinsim.io.outputs import (
    atomic_output_dir,
    code_version,
    format_manifest,
    read_manifest,
    write_tables,
)
from fupinsim.io.registry_files import registry_for_run
from fupinsim.io.report_files import write_report_bundle
from fupinsim.pipeline import (
    OPTIONAL_TABLES,
    TABLE_NAMES,
    PipelineResult,
    RunTables,
    run_pipeline,
    step_names,
)
from fupinsim.registry import Registry
from fupinsim.scenario import Scenario, load_scenario

__all__ = [
    "RUN_INFO",
    "WRITE_STAGE",
    "ensure_run",
    "is_registered_only",
    "load_run",
    "pipeline_stages",
    "resolve_path",
    "run_to_directory",
    "write_run",
]

logger = logging.getLogger(__name__)

#: Written with the tables: what the run was computed from, so a notebook can reuse it.
RUN_INFO = "run_info.json"

#: The last stage :func:`run_to_directory` reports, after the pipeline's own.
WRITE_STAGE = "write tables and reports"


def pipeline_stages(scenario: Scenario) -> tuple[str, ...]:
    """The stages :func:`run_to_directory` reports through ``step``, in order, at most.

    The pipeline's own (:func:`fupinsim.pipeline.run_pipeline` calls ``step`` with these names
    as each starts; the closed loop may stop before its last round), then
    :data:`WRITE_STAGE`. Progress bars use it as their total. A registered-only (national)
    scenario's are :data:`~fupinsim.io.national_run.NATIONAL_RUN_STAGES`.
    """
    if is_registered_only(scenario):
        from fupinsim.io.national_run import NATIONAL_RUN_STAGES  # noqa: PLC0415 (it imports this)

        return NATIONAL_RUN_STAGES
    return (*step_names(scenario), WRITE_STAGE)


def is_registered_only(scenario: Scenario) -> bool:
    """Whether ``scenario`` is registered-only (national scale: ``include_nonregistered: false``
    and a synthetic registry): it never builds its registry whole but runs by chunks
    (:func:`fupinsim.io.national_run.run_national_to_directory`), as ``fupinsim run`` does."""
    return not scenario.registry.include_nonregistered and scenario.registry.source == "synthetic"


# The tables the forked writer of :func:`_start_tables` inherits (set just before the fork).
_TABLES: dict[str, Any] = {}


def _write_shared_tables() -> None:
    """Write :data:`_TABLES` (in the forked writer): :func:`write_tables`, the same files."""
    write_tables(_TABLES["tables"], _TABLES["folder"])


def _start_tables(tables: dict[str, pd.DataFrame], folder: Path) -> Callable[[], None]:
    """Start writing ``tables/<name>.csv|.parquet`` (:func:`write_tables`) in one forked
    process (it inherits the tables: nothing is copied or pickled) and return the call that
    waits for it, raising what it raised. CSV formatting is most of a run's writing (≈ 3 s
    for plan_2015), done meanwhile on the other core. A daemonic process (a Dask worker of
    ``fupinsim batch --scheduler local``) may not start children: it writes them itself."""
    if current_process().daemon:
        write_tables(tables, folder)
        return lambda: None
    _TABLES.update(tables=tables, folder=folder)
    pool = ProcessPoolExecutor(1, mp_context=get_context("fork"))
    try:  # with fork, the worker is started (with the tables) on the first submit
        future = pool.submit(_write_shared_tables)
    finally:
        _TABLES.clear()

    def wait() -> None:
        try:
            future.result()
        finally:
            pool.shutdown()

    return wait


def write_run(result: PipelineResult, folder: str | Path) -> dict[str, Any]:
    """Write a finished pipeline run into ``folder``; returns the manifest fields.

    ``run_info.json`` carries the run's manifest facts and timings besides what it was
    computed from, so that :func:`load_run` restores them. The report's P(all targets met) is
    the manifest's (the final projection's, as its P(met) is: issue 14, one number).
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)  # the MPS file may come before the tables
    tables_written = _start_tables(result.as_dict(), folder)  # while the reports are written
    try:
        write_mps(result.model, folder / "allocation_model.mps")
        info = {
            "scenario_id": result.scenario.id,
            "scenario_hash": result.scenario.hash,
            "replications": result.manifest["pipeline_replications"],
            "code_version": code_version(),
            "manifest": dict(result.manifest),
            "timings": dict(result.timings),
        }
        (folder / RUN_INFO).write_text(format_manifest(info), encoding="utf-8")
        write_report_bundle(result, folder, scenario=result.scenario, manifest=result.manifest)
    finally:  # the tables' writer is always waited for (and what it raised, raised)
        tables_written()
    return {
        **result.manifest,
        "pipeline_timings_s": {k: round(v, 3) for k, v in result.timings.items()},
    }


def run_to_directory(
    scenario: Scenario,
    folder: str | Path,
    *,
    registry: Registry | None = None,
    objective: str | None = None,
    replications: int | None = None,
    workers: int = 1,
    step: Callable[[str], None] | None = None,
    scenario_file: str | Path | None = None,
) -> dict[str, Any]:
    """Run the pipeline for ``scenario`` and write it into ``folder``; return manifest fields.

    ``step`` is called with the name of each stage as it starts (:func:`pipeline_stages`).
    Without ``registry``, the scenario's own (``registry.source: file``, its path relative to
    ``scenario_file``, else to the working folder) is read, or the synthetic one generated; a
    registered-only (national) scenario takes the chunked national run instead, as
    ``fupinsim run`` does (the batch runner's path, issue 18), so its registry is never whole.
    """
    if registry is None and is_registered_only(scenario):
        from fupinsim.io.national_run import run_national_to_directory  # noqa: PLC0415 (cycle)

        return run_national_to_directory(
            scenario,
            folder,
            objective=objective,
            replications=replications,
            workers=workers,
            step=step,
        )
    if registry is None:
        registry = registry_for_run(scenario, None, scenario_file)
    result = run_pipeline(
        scenario,
        registry=registry,
        objective=objective,
        replications=replications,
        workers=workers,
        step=step,
    )
    if step is not None:
        step(WRITE_STAGE)
    return write_run(result, folder)


#: How the batch learns the stages to expect (its progress bar's total).
run_to_directory.stages = pipeline_stages  # type: ignore[attr-defined]


def _matching_run(folder: Path, scenario: Scenario, replications: int) -> bool:
    path = folder / RUN_INFO
    if not path.is_file():
        return False
    info = json.loads(path.read_text(encoding="utf-8"))
    return bool(
        info.get("scenario_hash") == scenario.hash
        and info.get("replications") == replications
        and info.get("code_version") == code_version()
    )


def _read_info(folder: Path) -> dict[str, Any]:
    path = folder / RUN_INFO
    if not path.is_file():
        return {}
    try:
        info = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise InputError.single(
            str(path),
            None,
            f"is not valid JSON ({exc.msg}, line {exc.lineno})",
            fix="run the scenario again (fupinsim run) to rewrite the folder",
        ) from exc
    return info if isinstance(info, dict) else {}


def load_run(folder: str | Path) -> RunTables:
    """A finished run folder as :class:`~fupinsim.pipeline.RunTables`.

    The tables are read from ``tables/*.parquet``; the manifest facts and step timings (s)
    from ``run_info.json`` (written by :func:`write_run`), else from the batch's
    ``manifest.json`` (its ``pipeline_timings_s``). Files in ``tables/`` that are not run
    tables are skipped.

    Raises
    ------
    InputError
        The folder lacks a run table (an older or unfinished run), naming the tables.
    """
    folder = Path(folder)
    paths = {p.stem: p for p in sorted((folder / "tables").glob("*.parquet"))}
    missing = [n for n in TABLE_NAMES if n not in paths and n not in OPTIONAL_TABLES]
    if missing:
        raise InputError.single(
            str(folder / "tables"),
            ", ".join(missing),
            "must hold every run table (docs/contracts.md); these are missing",
            fix="run the scenario again (fupinsim run) with this version of fupinsim",
        )
    tables = {name: pd.read_parquet(path) for name, path in paths.items() if name in TABLE_NAMES}
    info = _read_info(folder)
    manifest = info.get("manifest")
    timings = info.get("timings")
    if manifest is None or timings is None:
        batch = read_manifest(folder) or {}
        manifest = batch if manifest is None else manifest
        timings = batch.get("pipeline_timings_s", {}) if timings is None else timings
    return RunTables.from_dict(tables, manifest=manifest, timings=timings)


def ensure_run(
    scenario: str | Path,
    output_dir: str | Path,
    *,
    replications: int | None = None,
    seed: int | None = None,
    workers: int = 1,
) -> tuple[Scenario, RunTables]:
    """The tables of ``scenario``'s run in ``output_dir``, computing them if they are missing.

    A notebook's entry point: when ``output_dir`` holds a run of the same scenario content,
    replications and code version (``run_info.json``), its tables are read; otherwise the
    pipeline runs and writes them there (atomically: a failed run leaves the folder as it was).
    ``seed`` overrides the scenario's seed.

    Returns
    -------
    tuple of Scenario and RunTables
        The scenario as run (its seed applied) and the run (:func:`load_run`).
    """
    loaded = load_scenario(scenario)
    if seed is not None and seed != loaded.seed:
        loaded = loaded.model_copy(update={"seed": int(seed)})
    reps = replications or loaded.microsim.replications
    folder = Path(output_dir)
    if is_registered_only(loaded):
        from fupinsim.io.national_run import ensure_national_run  # noqa: PLC0415

        return loaded, ensure_national_run(loaded, folder, reps, workers)  # says "scale test"
    if _matching_run(folder, loaded, reps):
        logger.info("reusing the run in %s", folder)
    else:
        if folder.name.startswith(".") and ".tmp-" in folder.name:
            # A batch work folder: its pipeline has just written the run; never replace it.
            raise InputError.single(
                str(folder / RUN_INFO),
                None,
                "must describe this scenario, seed and replications (the batch passes them)",
                fix="pass the batch's parameters unchanged",
            )
        logger.info("no matching run in %s: running the pipeline", folder)
        with atomic_output_dir(folder) as work:
            source = Path(scenario)
            if not source.is_file():  # a bare id, found in scenarios/ by load_scenario
                source = Path("scenarios") / f"{loaded.id}.yaml"
            run_to_directory(loaded, work, replications=reps, workers=workers, scenario_file=source)
    return loaded, load_run(folder)


def resolve_path(path: str | Path) -> Path:
    """A planner's file or folder path, made absolute the same way from anywhere.

    Notebooks run with ``notebooks/`` as working folder (JupyterLab, nbval, ``fupinsim batch``)
    but plain ``papermill`` runs them from wherever it is called, so the same relative path
    must work from both:

    * an absolute path is kept (only resolved);
    * a relative path is read from the working folder when its first part (the file, or its
      first folder) is there, e.g. ``../scenarios/plan_2015.yaml`` from ``notebooks/``;
    * otherwise from the repository root when fupinsim runs from a checkout, e.g.
      ``scenarios/plan_2015.yaml`` or a new ``outputs/...`` folder from ``notebooks/``;
    * otherwise from the working folder.

    Parameters
    ----------
    path:
        A file or folder; it need not exist yet (an output folder).

    Returns
    -------
    Path
        Absolute and resolved (``..`` and symbolic links resolved).
    """
    given = Path(path).expanduser()
    if given.is_absolute():
        return given.resolve()
    here = Path.cwd()
    first = Path(given.parts[0]) if given.parts else Path(".")
    root = Path(__file__).resolve().parents[2]
    in_checkout = (root / "pyproject.toml").is_file() and (root / "fupinsim").is_dir()
    base = root if in_checkout and not (here / first).exists() and (root / first).exists() else here
    return (base / given).resolve()

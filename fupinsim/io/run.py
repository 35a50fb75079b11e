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
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from fupinsim.allocate import write_mps
from fupinsim.io.outputs import write_tables
from fupinsim.io.report_files import write_report_bundle
from fupinsim.pipeline import PipelineResult, run_pipeline
from fupinsim.registry import Registry
from fupinsim.scenario import Scenario

__all__ = ["run_to_directory", "write_run"]


def write_run(result: PipelineResult, folder: str | Path) -> dict[str, Any]:
    """Write a finished pipeline run into ``folder``; returns the manifest fields."""
    folder = Path(folder)
    tables = {"households": result.registry.households, **result.tables}
    write_tables(tables, folder)
    write_mps(result.model, folder / "allocation_model.mps")
    bundle_tables = {**tables, "household": result.tables["household_paths"]}
    p_all = result.tables["factor_comparison"].set_index("method").get("p_all_targets_met")
    write_report_bundle(
        bundle_tables,
        folder,
        scenario=result.scenario,
        manifest=result.manifest,
        p_all_targets_met=float(p_all["optimised"]) if p_all is not None else None,
    )
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
) -> dict[str, Any]:
    """Run the pipeline for ``scenario`` and write it into ``folder``; return manifest fields."""
    result = run_pipeline(
        scenario,
        registry=registry,
        objective=objective,
        replications=replications,
        workers=workers,
        step=step,
    )
    return write_run(result, folder)

"""``fupinsim batch SCENARIO...`` and ``fupinsim refresh-notebooks``: pipeline and notebooks.

``batch`` runs the pipeline and the notebooks of each scenario into ``OUTPUTS/<scenario>/``
(:func:`fupinsim.batch.run_batch`), then writes the comparison across scenarios;
``refresh-notebooks`` re-executes notebooks in place. Registered on the main group by
:mod:`fupinsim.cli`.
"""

from __future__ import annotations

import logging
import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from fupinsim.cli_options import planner_errors
from fupinsim.errors import InputError

if TYPE_CHECKING:
    from fupinsim.batch import BatchSummary

__all__ = ["batch", "refresh_notebooks_command"]

logger = logging.getLogger(__name__)


@click.command()
@click.argument(
    "scenarios", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=str)
)
@click.option(
    "--notebooks",
    "notebooks",
    multiple=True,
    type=click.Path(path_type=str),
    help="Notebook file or folder to execute for every scenario (repeat for more). "
    "Default: notebooks/*.ipynb.",
)
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    default=None,
    help="Worker processes (default: CPU cores, at most one per scenario).",
)
@click.option(
    "--scheduler",
    metavar="ADDRESS|local",
    default=None,
    help="Run on Dask: 'local' starts a LocalCluster, an address (tcp://host:8786) uses a "
    "running cluster. Default: a local process pool.",
)
@click.option(
    "--resume",
    is_flag=True,
    help="Skip scenarios whose output is up to date (same scenario hash, code version and "
    "notebooks).",
)
@click.option(
    "--outputs",
    default="outputs",
    show_default=True,
    type=click.Path(file_okay=False, path_type=str),
    help="Folder that receives one folder per scenario.",
)
@click.option("--pipeline", default=None, hidden=True, help="module:function of the pipeline.")
@click.option("--progress/--no-progress", default=True, help="Progress bar on stderr.")
@planner_errors
def batch(
    *,
    scenarios: tuple[str, ...],
    notebooks: tuple[str, ...],
    workers: int | None,
    scheduler: str | None,
    resume: bool,
    outputs: str,
    pipeline: str | None,
    progress: bool,
) -> None:
    """Run the pipeline and the notebooks for each SCENARIO into OUTPUTS/<scenario>/.

    SCENARIOS are scenario files or ids, e.g. scenarios/plan_2015.yaml revenue_stagnation
    (no default: scenarios/ also holds a national-scale test). Each scenario's results replace
    its folder only when everything succeeded; a failure goes to <scenario>.failed/ and the
    last good output stays. Exit status 1 if any scenario failed.
    """
    from pathlib import Path

    from fupinsim.batch import DEFAULT_PIPELINE, BatchInterrupted, run_batch

    scenario_list = list(scenarios)
    notebook_list = list(notebooks) or sorted(str(p) for p in Path("notebooks").glob("*.ipynb"))
    if not notebook_list:
        logger.warning("no notebooks given or found in notebooks/; pipeline only")
    try:
        summary = run_batch(
            scenario_list,
            notebook_list,
            outputs=outputs,
            workers=workers,
            scheduler=scheduler,
            resume=resume,
            pipeline=pipeline or DEFAULT_PIPELINE,
            progress=progress,
        )
    except BatchInterrupted as exc:
        if exc.summary is not None:
            click.echo(exc.summary.table())
        click.echo(
            f"interrupted ({signal.Signals(exc.signum).name}): unfinished scenarios were moved to "
            "<scenario>.failed/; earlier outputs are untouched",
            err=True,
        )
        sys.exit(128 + exc.signum)
    _echo_batch_results(summary, outputs)
    if not summary.ok:
        sys.exit(1)


def _echo_batch_results(summary: BatchSummary, outputs: str) -> None:
    """The per-scenario table, the comparison across scenarios, and (last) the reports."""
    from fupinsim.batch.summary import shown_path

    click.echo(summary.table())
    if summary.n_done or summary.n_skipped:
        from fupinsim.io.report_files import write_comparison

        try:
            written = write_comparison(outputs)
        except InputError as exc:  # e.g. a custom --pipeline that writes no tables
            logger.warning("no comparison across scenarios: %s", exc)
        else:
            click.echo(f"comparison across scenarios: {shown_path(Path(written['html']))}")
    reports = summary.report_files()
    if reports:
        click.echo("report.html: " + ", ".join(shown_path(path) for path in reports))


@click.command("refresh-notebooks")
@click.argument("paths", nargs=-1, type=click.Path(exists=True, path_type=str))
@planner_errors
def refresh_notebooks_command(paths: tuple[str, ...]) -> None:
    """Re-execute notebooks in place with their defaults and clean them for git (make notebooks).

    PATHS are notebooks or folders (default: notebooks/). A notebook that fails is left
    unchanged.
    """
    from fupinsim.batch import refresh_notebooks

    refreshed = refresh_notebooks(list(paths) or ["notebooks"])
    for path in refreshed:
        click.echo(f"refreshed {path}")
    if not refreshed:
        logger.warning("no notebooks found")

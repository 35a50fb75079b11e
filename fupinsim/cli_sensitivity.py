"""``fupinsim sensitivity SCENARIO``: which assumptions the plan's outcome depends on.

Runs :func:`fupinsim.sensitivity.run_sensitivity` on the scenario's optimised plan and writes,
into ``outputs/<scenario>/sensitivity/`` (or ``--out``; replaced only when everything
succeeded):

``tables/sensitivity.csv|.parquet``
    The tidy table: ``parameter, label, indicator, low_value, high_value, swing, rank, method``
    (and the parameter's range and the base value).
``tables/sensitivity_top.csv|.parquet``
    The three assumptions each indicator depends on most, in planner terms.
``tables/sensitivity_summary.csv|.parquet``
    Each indicator with shocks only and with the assumptions sampled (mean, P5, P95).
``tables/uncertain_parameters.csv|.parquet``, ``tables/sensitivity_draws.csv|.parquet``
    The parameters analysed and the sampled draws with their outcomes.
``figures/tornado_<indicator>.png``, ``manifest.json``

The plan comes from ``outputs/<scenario>/`` when it holds a run of the same scenario content
(``run_info.json``); otherwise the pipeline runs once (in memory, nothing else is written).
Register it on the main group with ``cli.add_command(sensitivity)``.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import TYPE_CHECKING

import click

from fupinsim.cli_options import out_option, planner_errors

if TYPE_CHECKING:
    import pandas as pd

    from fupinsim.scenario import Scenario

__all__ = ["sensitivity"]

#: Draws of the global method when the scenario samples its assumptions and --samples is not set.
DEFAULT_SAMPLES = 32


def _saved_tables(scenario: Scenario, folder: Path) -> dict[str, pd.DataFrame] | None:
    """The plan tables of a finished run of this scenario in ``folder``, or ``None``."""
    import pandas as pd

    info_path = folder / "run_info.json"
    if not info_path.is_file():
        return None
    info = json.loads(info_path.read_text(encoding="utf-8"))
    names = ("households", "household_plans", "village_works")
    paths = {name: folder / "tables" / f"{name}.parquet" for name in names}
    if info.get("scenario_hash") != scenario.hash or not all(p.is_file() for p in paths.values()):
        return None
    return {name: pd.read_parquet(path) for name, path in paths.items()}


@click.command("sensitivity")
@click.argument("scenario", type=click.Path(dir_okay=False, path_type=str))
@click.option(
    "--replications",
    type=click.IntRange(1, 100_000),
    default=10,
    show_default=True,
    help="Monte Carlo replications per evaluation (and of the pipeline run, if one is needed).",
)
@click.option(
    "--samples",
    type=click.IntRange(0, 100_000),
    default=None,
    help=f"Latin-hypercube draws for the rank correlation (default {DEFAULT_SAMPLES}, 0 when "
    "the scenario's uncertainty.sample is false; 0: tornado only).",
)
@click.option(
    "--workers",
    type=click.IntRange(1, 64),
    default=1,
    show_default=True,
    help="Worker processes (results do not depend on it).",
)
@click.option(
    "--scheduler",
    default=None,
    help="Run the evaluations on Dask: 'local' (a LocalCluster of --workers) or an address.",
)
@click.option(
    "--only",
    default="",
    help="Comma-separated parameter ids (or their starts, e.g. sheep_30) to analyse; default all.",
)
@out_option("Output folder (default outputs/<scenario>/sensitivity); replaced only on success.")
@planner_errors
def sensitivity(
    scenario: str,
    replications: int,
    samples: int | None,
    workers: int,
    scheduler: str | None,
    only: str,
    out: str | None,
) -> None:
    """Rank the uncertain assumptions by their effect on the plan's outcome (tornado + global)."""
    # Heavy modules are imported here, so that `fupinsim --help` stays fast.
    from fupinsim.io.sensitivity_files import write_sensitivity
    from fupinsim.scenario import load_scenario
    from fupinsim.sensitivity import analysed_parameters, plan_model, run_sensitivity
    from fupinsim.uncertainty import uncertainty_settings

    started = time.perf_counter()
    loaded = load_scenario(scenario)
    if samples is None:
        samples = DEFAULT_SAMPLES if uncertainty_settings(loaded).sample else 0
    run_folder = Path("outputs") / loaded.id
    folder = Path(out) if out else run_folder / "sensitivity"
    parameters = analysed_parameters(loaded, only=[p.strip() for p in only.split(",") if p.strip()])
    tables = _saved_tables(loaded, run_folder)
    click.echo(
        f"{loaded.id}: plan from {run_folder}" if tables else f"{loaded.id}: running the pipeline",
        err=True,
    )
    model = plan_model(loaded, replications=replications, tables=tables, workers=workers)
    result = run_sensitivity(
        model, parameters, samples=samples, seed=loaded.seed, workers=workers, scheduler=scheduler
    )
    fields = {
        "status": "ok",
        "scenario_id": loaded.id,
        "scenario_hash": loaded.hash,
        "seed": loaded.seed,
        "replications": replications,
        "samples": samples,
        "parameters": len(parameters),
        "evaluations": 1 + 2 * len(parameters) + samples,
        "scheduler": scheduler or f"process pool of {workers}",
        "seconds": round(time.perf_counter() - started, 1),
    }
    write_sensitivity(result, folder, fields)
    click.echo(_summary_text(result.top, folder, time.perf_counter() - started))


def _summary_text(top: pd.DataFrame, folder: Path, seconds: float) -> str:
    lines = [f"{folder}: sensitivity written in {seconds:.0f} s."]
    tornado = top[top["method"] == "one_at_a_time"]
    for label, rows in tornado.groupby("indicator_label", sort=False):
        lines.append(f"{label} depends most on:")
        lines += [
            f"  {rank}. {text}" for rank, text in zip(rows["rank"], rows["sentence"], strict=True)
        ]
    return "\n".join(lines)

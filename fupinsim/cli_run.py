"""``fupinsim simulate SCENARIO`` and ``fupinsim run SCENARIO``: the commands that project and plan.

``simulate`` projects household incomes under a given plan and writes the tables; ``run`` runs
the whole pipeline into ``outputs/<scenario>/`` (replaced only on success). A registered-only
(national) scenario takes the branches of :mod:`fupinsim.cli_national`. Registered on the main
group by :mod:`fupinsim.cli`.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from fupinsim.cli_options import (
    RunOptions,
    SimulateOptions,
    count_bar,
    dask_options,
    met_text,
    out_option,
    planner_errors,
    replications_option,
    stage_bar,
    workers_option,
)
from fupinsim.errors import InputError, TargetsNotMetError

if TYPE_CHECKING:
    from fupinsim.registry import Registry
    from fupinsim.scenario import Scenario

__all__ = ["run", "simulate"]


@click.command()
@click.argument("scenario", type=click.Path(dir_okay=False, path_type=str))
@click.option(
    "--plan",
    "plan_name",
    default="baseline",
    show_default=True,
    help="A plan file (CSV/Parquet: household_id, package_id, start_year) or one of "
    "the reference plans 'baseline' and 'uniform_1230'.",
)
@replications_option
@workers_option
@click.option(
    "--chunk-size",
    type=click.IntRange(1, None),
    default=None,
    help="Households per chunk, rounded up to whole blocks (bounds memory; results "
    "do not depend on it).",
)
@out_option("Folder for the tables (default outputs/<scenario>/simulate).")
@dask_options("run")
@planner_errors
def simulate(
    scenario: str,
    plan_name: str,
    replications: int | None,
    workers: int,
    chunk_size: int | None,
    out: str | None,
    scheduler: str | None,
    worker_memory: str,
) -> None:
    """Project household incomes under a plan and write the tables (CSV and Parquet)."""
    from fupinsim.io.outputs import atomic_output_dir, write_tables
    from fupinsim.io.registry_files import read_plan, registry_for_run
    from fupinsim.microsim import reference_plan
    from fupinsim.microsim import simulate as run_simulation
    from fupinsim.registry import generate_registry
    from fupinsim.scenario import load_scenario

    loaded = load_scenario(scenario)
    if not loaded.registry.include_nonregistered and loaded.registry.source != "file":
        from fupinsim.cli_national import simulate_national_command

        simulate_national_command(
            loaded,
            SimulateOptions(
                plan_name, replications, workers, chunk_size, out, scheduler, worker_memory
            ),
        )
        return
    if scheduler is not None:
        raise InputError.single(
            "--scheduler",
            scheduler,
            "is for registered-only (national) scenarios",
            fix="leave it out; --workers spreads this scenario over threads",
        )
    registry_ = registry_for_run(loaded, None, scenario) or generate_registry(loaded)
    if plan_name in {"baseline", "uniform_1230"}:
        plan = reference_plan(plan_name, registry_.households, loaded)
    else:
        plan = read_plan(plan_name)
    folder = Path(out) if out else Path("outputs") / loaded.id / "simulate"
    with count_bar(f"simulate {loaded.id}", unit="unit") as progress:
        result = run_simulation(
            registry_,
            plan,
            loaded,
            replications=replications,
            workers=workers,
            chunk_households=chunk_size,
            progress=progress,
        )
    with atomic_output_dir(folder) as work:
        write_tables(result.tables(), work)
    click.echo(
        f"{folder}: {len(result.tables())} tables; {result.meta['replications']} replications, "
        f"{result.meta['seconds']:.1f} s; "
        + met_text(result.target_probability, loaded.funding.last_year)
    )


@click.command()
@click.argument("scenario", type=click.Path(dir_okay=False, path_type=str))
@click.option(
    "--objective",
    type=click.Choice(["min_cost", "max_exits"]),
    default=None,
    help="Allocation objective (default: the scenario's).",
)
@out_option("Output folder (default outputs/<scenario>); replaced only on success.")
@click.option(
    "--registry",
    "registry_path",
    type=click.Path(dir_okay=False, path_type=str),
    default=None,
    help="Use this registry file instead of the synthetic registry.",
)
@replications_option
@workers_option
@click.option(
    "--strict",
    is_flag=True,
    help="Exit with code 3 when a target cannot be met (the run is still written).",
)
@click.option(
    "--sample-households",
    type=click.IntRange(1000, None),
    default=None,
    help="Registered-only (national) scenarios: registered households of the stratified "
    "sample the exit yields come from (default 20,000).",
)
@dask_options("project")
@planner_errors
def run(
    scenario: str,
    objective: str | None,
    out: str | None,
    registry_path: str | None,
    replications: int | None,
    workers: int,
    strict: bool,
    sample_households: int | None,
    scheduler: str | None,
    worker_memory: str,
) -> None:
    """Run the whole plan: registry, microsim, funding, allocation, household plans, loop."""
    from fupinsim.io.registry_files import registry_for_run
    from fupinsim.scenario import load_scenario

    loaded = load_scenario(scenario)
    if not loaded.registry.include_nonregistered and registry_path is None:
        # Registered-only (national-scale): sample yields, national LP, chunked projection.
        from fupinsim.cli_national import run_national_command

        run_national_command(
            loaded,
            RunOptions(
                objective,
                out,
                registry_path,
                replications,
                workers,
                strict,
                sample_households,
                scheduler,
                worker_memory,
            ),
        )
        return
    if scheduler is not None:
        raise InputError.single(
            "--scheduler",
            scheduler,
            "is for registered-only (national) scenarios",
            fix="leave it out; --workers spreads this scenario over processes",
        )
    registry_ = registry_for_run(loaded, registry_path, scenario)  # checked fully before the run
    folder = Path(out) if out else Path("outputs") / loaded.id
    fields = _run_into_folder(
        loaded,
        Path(scenario),
        folder,
        registry=registry_,
        objective=objective,
        replications=replications,
        workers=workers,
    )
    missed = int(fields.get("targets_missed", 0))
    money = float(fields.get("money_missing_yuan", 0.0))
    click.echo(
        f"{folder}: run complete ({fields['solver']} {fields['solver_status']}, objective "
        f"{fields['objective_value']:,.0f}); "
        + (
            "every target of the schedule can be met."
            if missed == 0
            else f"{missed} county-year targets cannot be met; money that would close the gaps "
            f"where money helps: {money / 10_000:,.1f} wan yuan (see tables/shortfall.csv)."
        )
    )
    click.echo(f"report: {folder / 'report.html'}")
    if strict and missed:
        raise TargetsNotMetError(f"{missed} targets cannot be met (--strict)")


def _run_into_folder(
    loaded: Scenario,
    scenario_file: Path,
    folder: Path,
    *,
    registry: Registry | None,
    objective: str | None,
    replications: int | None,
    workers: int,
) -> dict[str, Any]:
    """``fupinsim run``'s work: the run into ``folder`` (atomically), its manifest and log."""
    from datetime import UTC, datetime

    from fupinsim.io.logs import run_log
    from fupinsim.io.outputs import atomic_output_dir, environment_info, write_manifest
    from fupinsim.io.run import pipeline_stages, run_to_directory

    started = datetime.now(UTC).isoformat(timespec="seconds")
    with (
        atomic_output_dir(folder) as work,  # first: an unwritable folder fails before the bar
        stage_bar(f"run {loaded.id}", pipeline_stages(loaded)) as step,
        run_log(work),
    ):
        fields = run_to_directory(
            loaded,
            work,
            registry=registry,
            objective=objective,
            replications=replications,
            workers=workers,
            step=step,
        )
        write_manifest(
            {
                "status": "ok",
                "scenario_id": loaded.id,
                "scenario_file": str(scenario_file.resolve()),
                "scenario_hash": loaded.hash,
                "seed": loaded.seed,
                "replications": replications or loaded.microsim.replications,
                "started_at": started,
                "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
                "environment": environment_info(),
                **fields,
            },
            work,
        )
    return fields

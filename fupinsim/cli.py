"""The ``fupinsim`` command line.

Every command turns a bad input into one clear message on stderr and exit code 2 (no traceback
unless ``--debug``); ``--strict`` runs that cannot meet their targets exit 3.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import signal
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from fupinsim import __version__
from fupinsim.cli_options import out_option
from fupinsim.cli_sensitivity import sensitivity
from fupinsim.errors import FupinsimError, InputError, TargetsNotMetError

if TYPE_CHECKING:
    from fupinsim.batch import BatchSummary
    from fupinsim.registry import Registry
    from fupinsim.scenario import Scenario

F = TypeVar("F", bound=Callable[..., Any])

logger = logging.getLogger(__name__)

EXIT_INPUT = 2
EXIT_TARGETS = 3
_LOG_LEVELS = ("debug", "info", "warning", "error")


def _debug_enabled() -> bool:
    ctx = click.get_current_context(silent=True)
    root = ctx.find_root() if ctx is not None else None
    return bool(root is not None and root.obj and root.obj.get("debug"))


def planner_errors(func: F) -> F:
    """Turn fupinsim errors into one message and an exit code (traceback only with --debug)."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except (InputError, TargetsNotMetError, FupinsimError) as exc:
            if _debug_enabled():
                raise
            code = EXIT_TARGETS if isinstance(exc, TargetsNotMetError) else EXIT_INPUT
            if not isinstance(exc, InputError | TargetsNotMetError):
                code = 1
            click.echo(f"error: {exc}", err=True)
            sys.exit(code)

    return wrapper  # type: ignore[return-value]


#: Options shared by the commands that simulate (same meaning everywhere).
replications_option = click.option(
    "--replications",
    type=click.IntRange(1, 100_000),
    default=None,
    help="Monte Carlo replications (default: the scenario's).",
)
workers_option = click.option(
    "--workers",
    type=click.IntRange(1, 64),
    default=lambda: max(1, min(os.cpu_count() or 1, 64)),
    show_default="the machine's cores",
    help="Kernel threads for the microsimulation (results do not depend on it).",
)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="fupinsim")
@click.option("--debug", is_flag=True, help="Show full tracebacks (and debug messages).")
@click.option("-v", "--verbose", is_flag=True, help="Also show progress messages (log level info).")
@click.option("-q", "--quiet", is_flag=True, help="Show only errors (log level error).")
@click.option(
    "--log-level",
    type=click.Choice(_LOG_LEVELS, case_sensitive=False),
    default=None,
    help="Messages shown on stderr, from this level up (default warning).",
)
@click.pass_context
def cli(ctx: click.Context, debug: bool, verbose: bool, quiet: bool, log_level: str | None) -> None:
    """fupinsim: plan and simulate targeted poverty alleviation (Jiuquan 2015-2017 model case)."""
    from fupinsim.io.logs import configure_console

    ctx.ensure_object(dict)
    ctx.obj["debug"] = debug
    configure_console(_log_level(debug=debug, verbose=verbose, quiet=quiet, log_level=log_level))


def _log_level(*, debug: bool, verbose: bool, quiet: bool, log_level: str | None) -> str:
    """The console log level: --log-level wins, then --debug, --verbose, --quiet."""
    if verbose and quiet:
        raise click.UsageError("--verbose and --quiet exclude each other")
    if log_level:
        return log_level
    if debug:
        return "debug"
    return "info" if verbose else "error" if quiet else "warning"


@cli.command()
@click.argument("scenario", type=click.Path(dir_okay=False, path_type=str))
@planner_errors
def validate(scenario: str) -> None:
    """Check a scenario file (with what it extends) and print its id and hash."""
    from fupinsim.scenario import load_scenario

    loaded = load_scenario(scenario)
    click.echo(f"{scenario}: valid scenario '{loaded.id}' (hash {loaded.hash})")


@cli.command()
def schema() -> None:
    """Print the scenario JSON Schema (redirect into scenarios/schema.json)."""
    from fupinsim.scenario import scenario_json_schema

    click.echo(json.dumps(scenario_json_schema(), indent=2, ensure_ascii=False))


@cli.command()
@click.argument("scenario", type=click.Path(dir_okay=False, path_type=str))
@out_option(
    "Registry file to write: .parquet, .csv or .xlsx (villages beside it).",
    file=True,
    required=True,
)
@planner_errors
def registry(scenario: str, out: str) -> None:
    """Generate the scenario's synthetic registry and write it to OUT."""
    from fupinsim.io.registry_files import registry_format, write_registry, write_registry_chunks
    from fupinsim.registry import generate_registry, iter_registry_chunks, registry_summary
    from fupinsim.scenario import load_scenario

    registry_format(out)  # a wrong extension fails before minutes of generation
    loaded = load_scenario(scenario)
    if not loaded.registry.include_nonregistered:
        n_households, n_people = write_registry_chunks(iter_registry_chunks(loaded), out)
        click.echo(f"{out}: {n_households:,} registered households, {n_people:,} people")
        return
    generated = generate_registry(loaded)
    write_registry(generated, out)
    summary = registry_summary(generated)
    by_county = summary.groupby("county_id", sort=False)[["households", "people"]].sum()
    reg = generated.registered
    click.echo(
        f"{out}: {len(generated.households):,} households in {len(generated.villages):,} villages; "
        f"{len(reg):,} registered poor households with {int(reg['n_members'].sum()):,} people "
        f"in {len(by_county)} counties"
    )
    for county, row in by_county.iterrows():
        click.echo(
            f"  {county:<9} {int(row['households']):>6,} households {int(row['people']):>7,} people"
        )


@cli.command()
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
@click.option(
    "--scheduler",
    default=None,
    help="Registered-only (national) scenarios: run the chunks on Dask, 'local' (a "
    "LocalCluster of --workers processes) or a scheduler address (tcp://host:8786).",
)
@click.option(
    "--worker-memory",
    default="3GiB",
    show_default=True,
    help="Memory limit per Dask worker of --scheduler local.",
)
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
    from pathlib import Path

    from tqdm import tqdm

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
            loaded, plan_name, replications, workers, chunk_size, out, scheduler, worker_memory
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
    with tqdm(total=0, desc=f"simulate {loaded.id}", unit="unit", file=sys.stderr) as bar:

        def progress(done: int, total: int) -> None:
            bar.total = total
            bar.n = done
            bar.refresh()

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
    tp = result.target_probability
    met = tp[tp["year"] <= loaded.funding.last_year]
    click.echo(
        f"{folder}: {len(result.tables())} tables; {result.meta['replications']} replications, "
        f"{result.meta['seconds']:.1f} s; targets with P(met) >= 0.9: "
        f"{int((met['p_met'] >= 0.9).sum())} of {len(met)}"
    )


@cli.command()
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
@click.option(
    "--scheduler",
    default=None,
    help="Registered-only (national) scenarios: project the chunks on Dask, 'local' (a "
    "LocalCluster of --workers processes) or a scheduler address (tcp://host:8786).",
)
@click.option(
    "--worker-memory",
    default="3GiB",
    show_default=True,
    help="Memory limit per Dask worker of --scheduler local.",
)
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
    from pathlib import Path

    from fupinsim.errors import TargetsNotMetError
    from fupinsim.io.registry_files import registry_for_run
    from fupinsim.scenario import load_scenario

    loaded = load_scenario(scenario)
    if not loaded.registry.include_nonregistered and registry_path is None:
        # Registered-only (national-scale): sample yields, national LP, chunked projection.
        from fupinsim.cli_national import run_national_command

        run_national_command(
            loaded,
            objective,
            out,
            replications,
            workers,
            sample_households,
            scheduler=scheduler,
            worker_memory=worker_memory,
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
        _stage_bar(f"run {loaded.id}", pipeline_stages(loaded)) as step,
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


@contextmanager
def _stage_bar(description: str, stages: Sequence[str]) -> Iterator[Callable[[str], None]]:
    """A progress bar over ``stages`` (stderr, with total and ETA); yields the ``step`` callback.

    Each stage name is also logged (``logs/run.log``). A stage the run skips (the closed loop
    stopping early) counts as done when a later one starts; names not in ``stages`` (the
    pipeline's closing ``done``) only log.
    """
    from tqdm import tqdm
    from tqdm.contrib.logging import logging_redirect_tqdm

    from fupinsim.io.logs import PACKAGE_LOGGER, STAGE_PREFIX

    with (
        tqdm(total=len(stages), desc=description, unit="stage", file=sys.stderr) as bar,
        logging_redirect_tqdm([logging.getLogger(PACKAGE_LOGGER)]),  # messages above the bar
    ):

        def step(name: str) -> None:
            logger.info("%s%s", STAGE_PREFIX, name)
            if name in stages:
                bar.update(max(0, stages.index(name) - bar.n))
                bar.set_postfix_str(name)

        yield step
        bar.update(bar.total - bar.n)
        bar.set_postfix_str("done")


@cli.command()
@click.argument("item_id", type=click.IntRange(1, None), required=False)
@click.option(
    "--scenario",
    "scenario_id",
    default="plan_2015",
    show_default=True,
    help="Scenario id (or file) whose finished run in OUTPUTS is read.",
)
@click.option(
    "--outputs",
    "outputs_dir",
    type=click.Path(file_okay=False, path_type=str),
    default="outputs",
    show_default=True,
    help="The outputs folder.",
)
@click.option("--village", is_flag=True, help="ITEM_ID is a village id: write its village file.")
@click.option(
    "--county",
    default=None,
    help="Write the cards of every registered household of this county (or 'all') at once.",
)
@out_option("Folder of the cards (default OUTPUTS/<scenario>/cards).", dest="out_dir")
@click.option(
    "--workers",
    type=click.IntRange(1, 64),
    default=2,
    show_default=True,
    help="Processes writing the cards of --county (the files do not depend on it).",
)
@planner_errors
def card(
    item_id: int | None,
    scenario_id: str,
    outputs_dir: str,
    village: bool,
    county: str | None,
    out_dir: str | None,
    workers: int,
) -> None:
    """Write a household card ("five clarifications") or village file ("five things").

    With --county, write the card of every registered household of the county in one run.
    """
    from pathlib import Path

    from fupinsim.io.report_files import write_card, write_county_cards

    scenario_key = (
        Path(scenario_id).stem if scenario_id.endswith((".yaml", ".yml")) else scenario_id
    )
    if county is not None:
        if item_id is not None or village:
            raise InputError.single("card", item_id, "give either ITEM_ID or --county, not both")
        done = write_county_cards(
            outputs_dir,
            scenario_key,
            county=None if county == "all" else county,
            out=out_dir,
            workers=workers,
        )
        click.echo(f"{done.n_cards} cards written to {done.folder} in {done.seconds:.1f} s")
        return
    if item_id is None:
        raise InputError.single("card", None, "give a household (or village) id, or --county")
    path = (
        write_card(outputs_dir, scenario_key, village_id=item_id, out=out_dir)
        if village
        else write_card(outputs_dir, scenario_key, household_id=item_id, out=out_dir)
    )
    click.echo(str(path))


@cli.command("check-registry")
@click.argument("path", type=click.Path(dir_okay=False, path_type=str))
@click.option(
    "--scenario",
    "scenario",
    type=click.Path(dir_okay=False, path_type=str),
    default=None,
    help="Also check it for this scenario's run (villages table, the counties it plans for).",
)
@planner_errors
def check_registry_command(path: str, scenario: str | None) -> None:
    """Validate a registry file (CSV, XLSX or Parquet) and report every bad row.

    The file is read in chunks (memory does not grow with its size).
    """
    from fupinsim.io.registry_files import check_registry_file
    from fupinsim.scenario import load_scenario

    loaded = load_scenario(scenario) if scenario else None
    counts, _ = check_registry_file(path, scenario=loaded)
    click.echo(
        f"{path}: valid registry: {counts.households:,} households, "
        f"{counts.registered:,} registered with {counts.registered_people:,} people"
    )


@cli.command()
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


@cli.command("refresh-notebooks")
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


cli.add_command(sensitivity)


def main() -> None:
    """Entry point of the ``fupinsim`` script."""
    cli(prog_name="fupinsim")


if __name__ == "__main__":
    main()

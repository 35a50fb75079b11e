"""The ``fupinsim`` command line: the main group and its small commands.

Every command turns a bad input into one clear message on stderr and exit code 2 (no traceback
unless ``--debug``); ``--strict`` runs that cannot meet their targets exit 3. The command
families live beside this module: ``simulate``/``run`` in :mod:`fupinsim.cli_run`,
``batch``/``refresh-notebooks`` in :mod:`fupinsim.cli_batch`, ``sensitivity`` in
:mod:`fupinsim.cli_sensitivity`; what they share in :mod:`fupinsim.cli_options`.
"""

from __future__ import annotations

import json
import logging

import click

from fupinsim import __version__
from fupinsim.cli_batch import batch, refresh_notebooks_command
from fupinsim.cli_options import (
    EXIT_INPUT,
    EXIT_TARGETS,
    out_option,
    planner_errors,
    replications_option,
    workers_option,
)
from fupinsim.cli_options import stage_bar as _stage_bar  # noqa: F401  (its old name here)
from fupinsim.cli_run import run, simulate
from fupinsim.cli_sensitivity import sensitivity
from fupinsim.errors import InputError

__all__ = [
    "EXIT_INPUT",
    "EXIT_TARGETS",
    "cli",
    "main",
    "planner_errors",
    "replications_option",
    "workers_option",
]

logger = logging.getLogger(__name__)

_LOG_LEVELS = ("debug", "info", "warning", "error")


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

    from fupinsim.io.run_cards import write_card, write_county_cards

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


for _command in (simulate, run, batch, refresh_notebooks_command, sensitivity):
    cli.add_command(_command)


def main() -> None:
    """Entry point of the ``fupinsim`` script."""
    cli(prog_name="fupinsim")


if __name__ == "__main__":
    main()

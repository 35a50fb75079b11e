"""The ``fupinsim`` command line.

Every command turns a bad input into one clear message on stderr and exit code 2 (no traceback
unless ``--debug``); ``--strict`` runs that cannot meet their targets exit 3.
"""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable
from typing import Any, TypeVar

import click

from fupinsim import __version__
from fupinsim.errors import FupinsimError, InputError, TargetsNotMetError

F = TypeVar("F", bound=Callable[..., Any])

EXIT_INPUT = 2
EXIT_TARGETS = 3


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


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="fupinsim")
@click.option("--debug", is_flag=True, help="Show full tracebacks.")
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    """fupinsim: plan and simulate targeted poverty alleviation (Jiuquan 2015-2017 model case)."""
    ctx.ensure_object(dict)
    ctx.obj["debug"] = debug


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
@click.option(
    "--out",
    "out",
    required=True,
    type=click.Path(dir_okay=False, path_type=str),
    help="Registry file to write: .parquet, .csv or .xlsx (villages beside it).",
)
@planner_errors
def registry(scenario: str, out: str) -> None:
    """Generate the scenario's synthetic registry and write it to OUT."""
    from fupinsim.io.registry_files import write_registry, write_registry_chunks
    from fupinsim.registry import generate_registry, iter_registry_chunks, registry_summary
    from fupinsim.scenario import load_scenario

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


@cli.command("check-registry")
@click.argument("path", type=click.Path(dir_okay=False, path_type=str))
@planner_errors
def check_registry_command(path: str) -> None:
    """Validate a registry file (CSV, XLSX or Parquet) and report every bad row."""
    from fupinsim.io.registry_files import read_registry

    loaded = read_registry(path)
    reg = loaded.registered
    click.echo(
        f"{path}: valid registry: {len(loaded.households):,} households, "
        f"{len(reg):,} registered with {int(reg['n_members'].sum()):,} people"
    )


def main() -> None:
    """Entry point of the ``fupinsim`` script."""
    cli(prog_name="fupinsim")


if __name__ == "__main__":
    main()

"""A registry is checked fully before anything runs, with the same messages everywhere.

``check-registry`` (with ``--scenario`` for a run's rules), ``run --registry`` and a scenario
whose ``registry.source`` is ``file`` give the same message for a bad registry, with exit code
2, before the pipeline starts (no output folder appears, no traceback).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from helpers.broken_tables import BROKEN_TABLES, RUN_COUNTIES, TABLES_DIR, BrokenTables

from fupinsim.cli import cli
from fupinsim.errors import InputError
from fupinsim.io.registry_files import read_registry, villages_path
from fupinsim.scenario import load_scenario

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data"
VALID = DATA / "valid_registry.csv"
TABLES = TABLES_DIR
PLAN = ROOT / "scenarios" / "plan_2015.yaml"
EXIT_INPUT = 2


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def _scenario(folder: Path, name: str, lines: str) -> Path:
    """A scenario file that extends plan_2015 (copied beside it)."""
    shutil.copy(PLAN, folder / PLAN.name)
    path = folder / f"{name}.yaml"
    path.write_text(
        f"id: {name}\ntitle: Test\ndescription: Test.\nextends: plan_2015\n{lines}",
        encoding="utf-8",
    )
    return path


def _copy_registry(source: Path, target: Path) -> Path:
    shutil.copy(source, target)
    shutil.copy(villages_path(source), villages_path(target))
    return target


@pytest.fixture
def four_counties(tmp_path: Path) -> Path:
    return _scenario(tmp_path, "four", f"counties: [{', '.join(RUN_COUNTIES)}]\n")


def _expected(path: Path, scenario: Path | None) -> str:
    try:
        read_registry(path, load_scenario(scenario) if scenario else None)
    except InputError as error:
        return f"error: {error}\n"
    raise AssertionError("no error raised")


@pytest.mark.parametrize("case", BROKEN_TABLES, ids=lambda case: case.file)
def test_check_registry_refuses_each_broken_registry(
    runner: CliRunner, case: BrokenTables, four_counties: Path
) -> None:
    path = TABLES / case.file
    options = ["--scenario", str(four_counties)] if case.counties else []
    result = runner.invoke(cli, ["check-registry", str(path), *options])
    assert result.exit_code == EXIT_INPUT
    assert result.stdout == ""
    assert result.stderr == _expected(path, four_counties if case.counties else None)
    assert case.rule.replace("'plan_2015'", "'four'") in result.stderr  # the scenario's id
    assert "Traceback" not in result.stderr


def test_check_registry_accepts_the_valid_registry_for_a_scenario(
    runner: CliRunner, four_counties: Path
) -> None:
    result = runner.invoke(cli, ["check-registry", str(VALID), "--scenario", str(four_counties)])
    assert result.exit_code == 0, result.output
    assert (
        result.stdout == f"{VALID}: valid registry: 20 households, 10 registered with 35 people\n"
    )


def test_run_with_an_empty_registry_exits_2_with_one_line(
    runner: CliRunner, tmp_path: Path
) -> None:
    path = TABLES / "no_households.csv"
    out = tmp_path / "out"
    result = runner.invoke(cli, ["run", str(PLAN), "--registry", str(path), "--out", str(out)])
    assert result.exit_code == EXIT_INPUT
    assert result.stderr == _expected(path, PLAN)
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith(f"error: {path} [households]: rows: must hold at least one")
    assert not out.exists()


@pytest.mark.parametrize("case", BROKEN_TABLES, ids=lambda case: case.file)
def test_run_gives_the_check_registry_message_before_starting(
    runner: CliRunner, case: BrokenTables, four_counties: Path, tmp_path: Path
) -> None:
    path = TABLES / case.file
    out = tmp_path / "out"
    result = runner.invoke(
        cli, ["run", str(four_counties), "--registry", str(path), "--out", str(out)]
    )
    assert result.exit_code == EXIT_INPUT
    assert result.stderr == _expected(path, four_counties)
    checked = runner.invoke(cli, ["check-registry", str(path), "--scenario", str(four_counties)])
    assert checked.stderr == result.stderr
    assert "run four" not in result.stderr  # no progress bar: the pipeline never started
    assert not out.exists()


def test_run_refuses_a_registry_without_the_counties_the_scenario_plans_for(
    runner: CliRunner, tmp_path: Path
) -> None:
    """plan_2015 plans for seven counties; the valid registry has registered households in
    four (the allocation used to fail on it after the simulations)."""
    result = runner.invoke(
        cli, ["run", str(PLAN), "--registry", str(VALID), "--out", str(tmp_path / "out")]
    )
    assert result.exit_code == EXIT_INPUT
    assert result.stderr == _expected(VALID, PLAN)
    for county in ("dunhuang", "subei", "aksai"):
        assert f"{county} has none" in result.stderr


def test_run_refuses_a_households_file_without_villages(
    runner: CliRunner, four_counties: Path, tmp_path: Path
) -> None:
    path = tmp_path / "households.csv"
    shutil.copy(VALID, path)
    result = runner.invoke(
        cli, ["run", str(four_counties), "--registry", str(path), "--out", str(tmp_path / "o")]
    )
    assert result.exit_code == EXIT_INPUT
    assert result.stderr == (
        f"error: {path}: must come with its villages table for a run "
        f"({villages_path(path)}). A run needs each household's village.\n"
    )


@pytest.mark.parametrize("command", ["run", "simulate"])
def test_a_scenario_registry_file_is_read_and_checked(
    runner: CliRunner, tmp_path: Path, command: str
) -> None:
    """``registry.source: file`` reads ``registry.path`` beside the scenario, checked alike."""
    registry = _copy_registry(TABLES / "no_households.csv", tmp_path / "county.csv")
    scenario = _scenario(tmp_path, "from_file", "registry:\n  source: file\n  path: county.csv\n")
    result = runner.invoke(cli, [command, str(scenario), "--out", str(tmp_path / "out")])
    assert result.exit_code == EXIT_INPUT
    assert result.stderr == _expected(registry, scenario)
    assert not (tmp_path / "out").exists()

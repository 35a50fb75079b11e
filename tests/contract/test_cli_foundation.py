"""The foundation commands: ``validate``, ``schema``, ``registry`` and ``check-registry``.

A bad input exits with code 2 and one clear message on stderr (file, field or column, value,
what is allowed), never a traceback unless ``--debug``.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from fupinsim.cli import cli
from fupinsim.errors import InputError, ScenarioError
from fupinsim.io.registry_files import read_registry
from fupinsim.scenario import load_scenario

ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = ROOT / "scenarios"
BAD_SCENARIOS = sorted((ROOT / "tests" / "data" / "bad_scenarios").glob("*.yaml"))
BAD_REGISTRIES = sorted((ROOT / "tests" / "data" / "bad_registry").glob("*.csv"))
EXIT_INPUT = 2


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def _expected_message(action: object) -> str:
    """The message the library raises for an input, as the command line must print it."""
    try:
        action()  # type: ignore[operator]
    except InputError as error:
        return f"error: {error}\n"
    raise AssertionError("no error raised")


# ----------------------------------------------------------------------------------------------
# validate and schema


def test_validate_prints_id_and_hash(runner: CliRunner) -> None:
    path = SCENARIOS / "plan_2015.yaml"
    result = runner.invoke(cli, ["validate", str(path)])
    assert result.exit_code == 0, result.output
    assert (
        result.stdout == f"{path}: valid scenario 'plan_2015' (hash {load_scenario(path).hash})\n"
    )


@pytest.mark.parametrize("path", BAD_SCENARIOS, ids=lambda p: p.name)
def test_validate_bad_scenario_exits_2_with_one_clear_message(
    runner: CliRunner, path: Path
) -> None:
    result = runner.invoke(cli, ["validate", str(path)])
    assert result.exit_code == EXIT_INPUT
    assert result.stdout == ""
    assert result.stderr == _expected_message(lambda: load_scenario(path))
    assert result.stderr.startswith(f"error: {path}")
    assert "Traceback" not in result.stderr


def test_validate_with_debug_lets_the_error_through(runner: CliRunner) -> None:
    path = BAD_SCENARIOS[0]
    result = runner.invoke(cli, ["--debug", "validate", str(path)])
    assert isinstance(result.exception, ScenarioError)


def test_missing_scenario_file(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(cli, ["validate", str(tmp_path / "nope.yaml")])
    assert result.exit_code == EXIT_INPUT
    assert f"{tmp_path / 'nope.yaml'}: scenario file must exist" in result.stderr


def test_schema_output_is_the_committed_schema(runner: CliRunner) -> None:
    result = runner.invoke(cli, ["schema"])
    assert result.exit_code == 0
    assert result.stdout == (SCENARIOS / "schema.json").read_text(encoding="utf-8")


# ----------------------------------------------------------------------------------------------
# registry and check-registry


def test_registry_writes_the_plan_registry(runner: CliRunner, tmp_path: Path) -> None:
    out = tmp_path / "r.parquet"
    result = runner.invoke(cli, ["registry", str(SCENARIOS / "plan_2015.yaml"), "--out", str(out)])
    assert result.exit_code == 0, result.output
    first = result.stdout.splitlines()[0]
    assert "12,600 registered poor households with 47,700 people in 7 counties" in first
    assert "60,100 households" in first
    assert len(result.stdout.splitlines()) == 1 + 7  # one line per county
    written = read_registry(out)
    assert len(written.registered) == 12_600
    assert int(written.registered["n_members"].sum()) == 47_700

    checked = runner.invoke(cli, ["check-registry", str(out)])
    assert checked.exit_code == 0, checked.output
    assert checked.stdout == (
        f"{out}: valid registry: 60,100 households, 12,600 registered with 47,700 people\n"
    )


@pytest.mark.parametrize("name", ["r.json", "r.txt", "r"])
def test_registry_refuses_an_unknown_extension_before_generating(
    runner: CliRunner, tmp_path: Path, name: str
) -> None:
    out = tmp_path / name
    result = runner.invoke(cli, ["registry", str(SCENARIOS / "plan_2015.yaml"), "--out", str(out)])
    assert result.exit_code == EXIT_INPUT
    assert "the file extension must be one of .csv, .parquet, .xlsx" in result.stderr
    assert str(out) in result.stderr
    assert not out.exists()


def test_registry_with_a_bad_scenario(runner: CliRunner, tmp_path: Path) -> None:
    path = BAD_SCENARIOS[0]
    result = runner.invoke(cli, ["registry", str(path), "--out", str(tmp_path / "r.parquet")])
    assert result.exit_code == EXIT_INPUT
    assert result.stderr == _expected_message(lambda: load_scenario(path))


@pytest.mark.parametrize("path", BAD_REGISTRIES, ids=lambda p: p.name)
def test_check_registry_bad_file_exits_2_naming_row_column_and_value(
    runner: CliRunner, path: Path
) -> None:
    result = runner.invoke(cli, ["check-registry", str(path)])
    assert result.exit_code == EXIT_INPUT
    assert result.stdout == ""
    assert result.stderr == _expected_message(lambda: read_registry(path))
    problem = result.stderr.splitlines()[1]  # after the "n problem(s) found" summary
    assert problem.startswith(f"{path} [households]: ")
    assert "column " in problem
    if "row " in problem:  # a cell, not a whole column: the value is shown
        assert "(household_id " in problem
        assert "; got " in problem
    assert "Traceback" not in result.stderr


def test_check_registry_unknown_extension(runner: CliRunner, tmp_path: Path) -> None:
    path = tmp_path / "registry.json"
    path.write_text("{}", encoding="utf-8")
    result = runner.invoke(cli, ["check-registry", str(path)])
    assert result.exit_code == EXIT_INPUT
    assert result.stderr == (
        f"error: {path}: the file extension must be one of .csv, .parquet, .xlsx; got '.json'\n"
    )


# ----------------------------------------------------------------------------------------------
# The real process: no traceback without --debug, a traceback with it


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "fupinsim.cli", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )


def test_process_exit_code_and_traceback_only_with_debug() -> None:
    path = ROOT / "tests" / "data" / "bad_scenarios" / "python_tag.yaml"
    plain = _run("validate", str(path))
    assert plain.returncode == EXIT_INPUT
    assert plain.stderr.startswith(f"error: {path}, line 5: seed: ")
    assert "Traceback" not in plain.stderr
    debug = _run("--debug", "validate", str(path))
    assert debug.returncode != 0
    assert "Traceback (most recent call last)" in debug.stderr
    assert "ScenarioError" in debug.stderr

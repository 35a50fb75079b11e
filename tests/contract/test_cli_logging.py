"""Logging: the package only creates loggers; the command line and runs attach the handlers.

* every module logs through ``logging.getLogger(__name__)`` and nothing in the package
  configures the root logger;
* ``fupinsim`` shows warnings on stderr by default, info with ``--verbose``, only errors with
  ``--quiet`` (or any level with ``--log-level``);
* ``logs/run.log`` of a batch scenario is a log handler's file: when each step started, in
  which process, each pipeline stage, what any fupinsim module logged, how each step ended.
"""

from __future__ import annotations

import ast
import logging
import os
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from fupinsim.cli import cli

TESTS = Path(__file__).resolve().parents[1]
PACKAGE = TESTS.parent / "fupinsim"
PLAN = TESTS.parent / "scenarios" / "plan_2015.yaml"
STAGED = "helpers.staged_pipeline:run_to_directory"
STAMP = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00"


@pytest.fixture(autouse=True)
def helpers_importable(monkeypatch: pytest.MonkeyPatch) -> None:
    """``helpers.*`` importable here and in the batch's worker processes."""
    monkeypatch.syspath_prepend(str(TESTS))
    paths = [str(TESTS), os.environ.get("PYTHONPATH", "")]
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(p for p in paths if p))


def _logger_calls(tree: ast.AST) -> list[ast.Call]:
    return [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and isinstance(node.func.value, ast.Name)
        and node.func.value.id == "logging"
    ]


def test_package_modules_only_create_loggers_by_module_name() -> None:
    bad = []
    for path in sorted(PACKAGE.rglob("*.py")):
        for call in _logger_calls(ast.parse(path.read_text(encoding="utf-8"))):
            where = f"{path.relative_to(PACKAGE.parent)}:{call.lineno}"
            name = call.func.attr  # type: ignore[attr-defined]
            if name == "basicConfig":
                bad.append(f"{where}: logging.basicConfig configures the root logger")
            if name == "getLogger":
                args = call.args
                by_name = len(args) == 1 and isinstance(args[0], ast.Name)
                if not by_name:  # __name__, or fupinsim.io.logs.PACKAGE_LOGGER
                    bad.append(f"{where}: {ast.unparse(call)}")
    assert bad == []


def _scenario(folder: Path, scenario_id: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{scenario_id}.yaml"
    text = PLAN.read_text(encoding="utf-8").replace("id: plan_2015", f"id: {scenario_id}")
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.slow
def test_console_levels_and_the_run_log(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # no notebooks/ here: pipeline only, with a warning
    monkeypatch.setattr(
        "fupinsim.io.report_files.write_comparison", lambda outputs: {"html": "c.html"}
    )
    alpha = _scenario(tmp_path / "scenarios", "alpha")
    base = ["batch", str(alpha), "--outputs", "out", "--pipeline", STAGED, "--no-progress"]
    root_handlers = list(logging.getLogger().handlers)
    runner = CliRunner()

    verbose = runner.invoke(cli, ["--verbose", *base])
    assert verbose.exit_code == 0, verbose.output
    assert "warning: no notebooks given or found in notebooks/; pipeline only" in verbose.stderr
    assert re.search(r"^info: alpha: done in \d+\.\d s: .*out/alpha$", verbose.stderr, re.M)
    assert "info" not in verbose.stdout, "diagnostics go to stderr, results to stdout"

    quiet = runner.invoke(cli, ["-q", *base])
    assert quiet.exit_code == 0, quiet.output
    assert quiet.stderr == ""
    assert "1 scenario: 1 done" in quiet.stdout

    default = runner.invoke(cli, base)
    assert "warning: no notebooks" in default.stderr
    assert "info:" not in default.stderr
    assert runner.invoke(cli, ["--log-level", "error", *base]).stderr == ""

    assert logging.getLogger().handlers == root_handlers, "the root logger is never configured"

    log = (tmp_path / "out" / "alpha" / "logs" / "run.log").read_text(encoding="utf-8")
    lines = log.splitlines()
    assert re.fullmatch(rf"{STAMP} started pipeline in process \d+", lines[0])
    messages = [line.split(" ", 1)[1] for line in lines]
    assert messages[1:4] == [
        "pipeline stage: registry",
        "pipeline stage: funding",
        "pipeline stage: write",
    ]
    # A record of any fupinsim logger, in the work folder the pipeline wrote into.
    assert re.fullmatch(r"staged pipeline wrote \.alpha\.tmp-\S+ for alpha", messages[4])
    assert messages[5] == "pipeline stage: done"
    assert re.fullmatch(r"pipeline done in \d+\.\d s", messages[6])
    assert len(messages) == 7


def test_verbose_and_quiet_exclude_each_other() -> None:
    result = CliRunner().invoke(cli, ["--verbose", "--quiet", "validate", str(PLAN)])
    assert result.exit_code == 2
    assert "--verbose and --quiet exclude each other" in result.stderr

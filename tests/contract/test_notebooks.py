"""The planner notebooks' contract: parameters, clean stored outputs, and nbval that bites.

``make test`` re-executes ``notebooks/*.ipynb`` with nbval and compares every cell's output with
the stored one. That only protects anything if the stored outputs are there, were produced by a
top-to-bottom run, hold nothing volatile, and a changed number really fails. This module checks
those premises (fast, from the files), plus the parameter contract that ``fupinsim batch`` and
papermill rely on (one cell tagged ``parameters`` declaring ``scenario``, ``seed``,
``replications``, ``output_dir``).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from fupinsim.batch import NOTEBOOK_PARAMETERS, check_notebook_parameters
from fupinsim.io.run import resolve_path

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS_DIR = ROOT / "notebooks"
SANITIZE = ROOT / "tests" / "nbval_sanitize.cfg"
EXPECTED = (
    "01_registry",
    "02_projection",
    "03_allocation",
    "04_assessment",
    "05_validation",
    "06_what_if",
)
NOTEBOOKS = sorted(NOTEBOOKS_DIR.glob("*.ipynb"))

MEMORY_ADDRESS = re.compile(r"\b0x[0-9a-fA-F]{6,}\b")
#: Text that must never be stored: it changes from run to run or machine to machine, or shows
#: that a cell failed or a solver talked.
FORBIDDEN = {
    "a memory address": MEMORY_ADDRESS,
    "a traceback": re.compile(r"Traceback \(most recent call last\)|^\w*Error: ", re.MULTILINE),
    "an absolute path of this checkout": re.compile(re.escape(str(ROOT))),
    "a temporary folder": re.compile(r"(/tmp|/var/folders)/"),
    "an ipykernel cell file": re.compile(r"ipykernel_\d+"),
    "the HiGHS banner": re.compile(r"Running HiGHS|Includes third-party software"),
    "a timestamp": re.compile(r"\b\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}"),
}
#: A number printed by 01_registry's headline cell; the nbval test below edits it.
HEADLINE = "Registered poor households: 12,600 with 47,700 people"


def _load(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


def _code_cells(notebook: dict[str, Any]) -> list[dict[str, Any]]:
    return [cell for cell in notebook["cells"] if cell["cell_type"] == "code"]


def _source(cell: dict[str, Any]) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else source


def _output_texts(output: dict[str, Any]) -> list[str]:
    """Every text nbval compares in one output (streams, text/plain, text/html, errors)."""
    texts: list[str] = []
    if "text" in output:
        texts.append(
            "".join(output["text"]) if isinstance(output["text"], list) else output["text"]
        )
    for mime, value in output.get("data", {}).items():
        if mime.startswith("text/"):
            texts.append("".join(value) if isinstance(value, list) else value)
    texts += output.get("traceback", [])
    return texts


def _ids(paths: list[Path]) -> list[str]:
    return [path.stem for path in paths]


def test_the_planner_notebooks_are_there() -> None:
    assert [path.stem for path in NOTEBOOKS] == list(EXPECTED)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_exactly_one_parameters_cell_declares_the_batch_parameters(path: Path) -> None:
    declared = check_notebook_parameters(path, NOTEBOOK_PARAMETERS)
    assert sorted(declared) == sorted(NOTEBOOK_PARAMETERS), (
        f"{path.name}: the cell tagged 'parameters' must declare exactly "
        f"{', '.join(NOTEBOOK_PARAMETERS)} (declares {', '.join(declared)})"
    )
    tags = [tag for cell in _load(path)["cells"] for tag in cell["metadata"].get("tags", [])]
    assert "injected-parameters" not in tags, f"{path.name}: papermill's injected cell was saved"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_stored_outputs_come_from_one_top_to_bottom_run(path: Path) -> None:
    notebook = _load(path)
    assert notebook["metadata"]["kernelspec"]["name"] == "python3"
    cells = _code_cells(notebook)
    counts = [cell.get("execution_count") for cell in cells]
    assert counts == list(range(1, len(cells) + 1)), (
        f"{path.name}: execution counts {counts}; re-run it top to bottom (make notebooks) and "
        "keep the counts (nbstripout --keep-output --keep-count)"
    )
    with_output = [cell for cell in cells if cell.get("outputs")]
    assert len(with_output) >= len(cells) // 2, f"{path.name}: outputs were stripped"
    assert any("%matplotlib inline" in _source(cell) for cell in cells), (
        f"{path.name}: needs %matplotlib inline (make test runs with MPLBACKEND=Agg)"
    )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_stored_outputs_hold_nothing_volatile_and_no_error(path: Path) -> None:
    problems = []
    for number, cell in enumerate(_code_cells(_load(path)), start=1):
        for output in cell.get("outputs", []):
            if output["output_type"] == "error":
                problems.append(f"code cell {number} stored an error ({output.get('ename')})")
            if output["output_type"] == "stream" and output.get("name") == "stderr":
                problems.append(f"code cell {number} stored stderr (a warning?)")
            for text in _output_texts(output):
                problems += [
                    f"code cell {number} stores {what}: {match.group(0)!r}"
                    for what, pattern in FORBIDDEN.items()
                    if (match := pattern.search(text))
                ]
    assert not problems, f"{path.name}:\n" + "\n".join(problems)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_no_papermill_or_volatile_metadata_is_committed(path: Path) -> None:
    notebook = _load(path)
    assert "papermill" not in notebook["metadata"]
    for cell in notebook["cells"]:
        assert "papermill" not in cell["metadata"]
        assert "execution" not in cell["metadata"]  # JupyterLab's timing record


def test_notebook_paths_work_from_the_notebooks_folder_and_the_root(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    plan = (ROOT / "scenarios" / "plan_2015.yaml").resolve()
    monkeypatch.chdir(NOTEBOOKS_DIR)  # JupyterLab, nbval, fupinsim batch
    assert resolve_path("scenarios/plan_2015.yaml") == plan
    assert resolve_path("../scenarios/plan_2015.yaml") == plan
    assert resolve_path("outputs/notebook_runs/x") == (ROOT / "outputs/notebook_runs/x").resolve()
    monkeypatch.chdir(ROOT)  # plain papermill from the repository root
    assert resolve_path("scenarios/plan_2015.yaml") == plan
    assert resolve_path("outputs/notebook_runs/x") == (ROOT / "outputs/notebook_runs/x").resolve()
    assert resolve_path(plan) == plan


#: The planner notebooks that read a run (02-04) or the registry (01) through the package.
PLANNER = [p for p in NOTEBOOKS if p.stem[:2] in ("01", "02", "03", "04")]
#: Lookups by name into the run's tables: the notebooks use RunTables attributes instead.
NAME_LOOKUP = re.compile(r"\b(tables|run)\[\s*[\"']")
#: The plan comparison's tables: only for tables and charts labelled as the comparison.
COMPARISON_TABLES = re.compile(
    r"\b(target_probability_plans|county_year_plans|factor_comparison)\b"
)


@pytest.mark.parametrize("path", PLANNER, ids=_ids(PLANNER))
def test_planner_notebooks_use_run_attributes_and_the_display_module(path: Path) -> None:
    """Issue 9: no ``tables["…"]`` lookups and no table-building of their own (each table is
    one :mod:`fupinsim.assess.display` call); issue 14: the report's numbers (P(all targets
    met)) come from the run's manifest, the plan comparison only where it is labelled so."""
    code = "\n".join(_source(cell) for cell in _code_cells(_load(path)))
    assert not NAME_LOOKUP.search(code), f'{path.name}: use run.<table>, not run["<table>"]'
    assert "pivot_table(" not in code and ".rename(" not in code, (
        f"{path.name}: build display tables in fupinsim.assess.display, not in the notebook"
    )
    if path.stem != "01_registry":
        assert "from fupinsim.assess import display as views" in code
    assert "factor_comparison" not in code or path.stem == "03_allocation", path.name
    if path.stem == "04_assessment":
        assert 'run.manifest["p_all_targets_met"]' in code
    markdown = "\n".join(
        _source(cell) for cell in _load(path)["cells"] if cell["cell_type"] == "markdown"
    )
    if COMPARISON_TABLES.search(code):
        assert "plan comparison" in markdown, f"{path.name}: label the plan comparison as such"


@pytest.mark.slow
def test_nbval_fails_when_a_stored_headline_number_changes(tmp_path: Path) -> None:
    """nbval over two copies of 01_registry: the intact one passes, the edited one fails."""
    source = NOTEBOOKS_DIR / "01_registry.ipynb"
    text = source.read_text(encoding="utf-8")
    assert HEADLINE in text, "01_registry no longer prints the headline this test edits"
    shutil.copyfile(source, tmp_path / "intact.ipynb")
    edited = text.replace("with 47,700 people", "with 47,701 people")
    (tmp_path / "edited.ipynb").write_text(edited, encoding="utf-8")

    env = {**os.environ, "MPLBACKEND": "Agg", "PYTHONHASHSEED": "0"}
    env.pop("PYTEST_ADDOPTS", None)
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-rf",
            "-p",
            "no:cacheprovider",
            "--rootdir",
            str(tmp_path),
            "--nbval",
            "--nbval-current-env",
            "--nbval-sanitize-with",
            str(SANITIZE),
            "intact.ipynb",
            "edited.ipynb",
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    report = done.stdout + done.stderr
    failed = [line for line in report.splitlines() if line.startswith("FAILED")]
    assert done.returncode == 1, report
    assert failed, report
    assert all("edited.ipynb" in line for line in failed), report
    assert "47,701" in report, report

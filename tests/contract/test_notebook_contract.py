"""Every planner notebook refuses parameters it cannot use, in one line (issue 13, item 5).

``papermill notebooks/<any>.ipynb out.ipynb -p foo 1`` must fail with a clear message: the
first code cell after ``parameters`` calls :func:`fupinsim.notebook.check_parameters`. Each
notebook is run through papermill's Python API up to that cell (it stops there), so the test
takes a kernel start per notebook.
"""

from __future__ import annotations

import ast
import json
from pathlib import Path
from typing import Any

import papermill as pm
import pytest

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
REPORT_REPLICATIONS = 200


def _cells(path: Path) -> list[dict[str, Any]]:
    return json.loads(path.read_text(encoding="utf-8"))["cells"]


def _source(cell: dict[str, Any]) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else source


def _parameters_index(cells: list[dict[str, Any]]) -> int:
    return next(i for i, c in enumerate(cells) if "parameters" in c["metadata"].get("tags", []))


def _run(path: Path, tmp_path: Path, parameters: dict[str, Any]) -> str:
    with pytest.raises(pm.PapermillExecutionError) as caught:
        pm.execute_notebook(
            str(path),
            str(tmp_path / path.name),
            parameters=parameters,
            cwd=str(path.parent),
            kernel_name="python3",
            progress_bar=False,
            log_output=False,
        )
    error = caught.value
    assert error.ename == "NotebookParameterError", str(error)
    # parameters (1), papermill's injected cell (2), then the check: nothing else ran before it.
    assert error.exec_count == 3, "the check must be the first code cell after parameters"
    assert "check_parameters(globals(), NOTEBOOK_PARAMETERS)" in error.source
    return str(error.evalue)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_the_first_cell_after_parameters_checks_them(path: Path) -> None:
    cells = _cells(path)
    index = _parameters_index(cells)
    check = next(c for c in cells[index + 1 :] if c["cell_type"] == "code")
    assert "check_parameters(globals(), NOTEBOOK_PARAMETERS)" in _source(check)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_an_unknown_parameter_stops_the_notebook_with_one_line(path: Path, tmp_path: Path) -> None:
    message = _run(path, tmp_path, {"foo": 1})
    assert message == (
        "Notebook parameters: unknown parameter foo (this notebook takes scenario, seed, "
        "replications, output_dir; check the spelling of -p)."
    )
    executed = json.loads((tmp_path / path.name).read_text(encoding="utf-8"))
    tracebacks = [
        line
        for cell in executed["cells"]
        for output in cell.get("outputs", [])
        for line in output.get("traceback", [])
    ]
    assert tracebacks == [f"NotebookParameterError: {message}"], "no Python traceback is shown"


@pytest.mark.slow
def test_a_wrong_type_and_a_missing_scenario_are_named(tmp_path: Path) -> None:
    path = ROOT / "notebooks" / "02_projection.ipynb"
    message = _run(path, tmp_path, {"replications": "many", "scenario": "scenarios/nope.yaml"})
    assert "replications (the Monte Carlo replications) must be a whole number" in message
    assert "'scenarios/nope.yaml' was not found" in message


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_replications_are_the_reports_or_the_notebook_says_it_is_a_quick_view(
    path: Path,
) -> None:
    cells = _cells(path)
    declared = ast.parse(_source(cells[_parameters_index(cells)]))
    defaults = {
        node.targets[0].id: ast.literal_eval(node.value)
        for node in declared.body
        if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name)
    }
    if defaults["replications"] == REPORT_REPLICATIONS:
        return
    text = "\n".join(_source(c) for c in cells if c["cell_type"] == "markdown")
    assert "**Quick view.**" in text and f"{REPORT_REPLICATIONS} replications" in text, (
        f"{path.name}: replications default {defaults['replications']} differs from the "
        f"report's {REPORT_REPLICATIONS}; say plainly that it is a quick view"
    )

"""Notebook 01 honours ``registry.source: file`` (issue 10, item 8).

The registry notebook run on a scenario whose registry is a file shows that file's households
(read and checked by :func:`fupinsim.io.registry_files.registry_for_run`, as ``fupinsim run``
reads it), not the synthetic registry; a broken file stops it with the planner's message and
no Python traceback.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import papermill as pm
import pytest

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOK = ROOT / "notebooks" / "01_registry.ipynb"
DATA = ROOT / "tests" / "data"


def _execute(tmp_path: Path, scenario: str) -> None:
    pm.execute_notebook(
        str(NOTEBOOK),
        str(tmp_path / NOTEBOOK.name),
        parameters={"scenario": scenario},
        cwd=str(NOTEBOOK.parent),
        kernel_name="python3",
        progress_bar=False,
        log_output=False,
    )


def _text(tmp_path: Path) -> str:
    cells = json.loads((tmp_path / NOTEBOOK.name).read_text(encoding="utf-8"))["cells"]
    return "".join(
        "".join(output.get("text", ""))
        for cell in cells
        for output in cell.get("outputs", [])
        if output.get("output_type") == "stream"
    )


@pytest.mark.slow
def test_the_registry_notebook_shows_the_scenario_s_registry_file(tmp_path: Path) -> None:
    _execute(tmp_path, "tests/data/file_registry.yaml")
    text = _text(tmp_path)
    households = pd.read_csv(DATA / "valid_registry.csv")
    registered = households[households["is_registered"]]
    assert "Registry: file valid_registry.csv" in text
    assert f"Households in the registry's villages: {len(households):,}\n" in text
    assert (
        f"Registered poor households: {len(registered):,} with "
        f"{int(registered['n_members'].sum()):,} people"
    ) in text
    assert "has no identification step" in text


@pytest.mark.slow
def test_a_broken_registry_file_stops_the_notebook_with_the_planner_message(
    tmp_path: Path,
) -> None:
    with pytest.raises(pm.PapermillExecutionError) as caught:
        _execute(tmp_path, "tests/data/bad_file_registry.yaml")
    error = caught.value
    assert error.ename == "NotebookRegistryError", str(error)
    assert "bad_file_registry" in error.evalue and "dunhuang has none" in error.evalue
    assert "leave dunhuang out of the scenario" in error.evalue  # the fix
    executed = json.loads((tmp_path / NOTEBOOK.name).read_text(encoding="utf-8"))
    tracebacks = [
        line
        for cell in executed["cells"]
        for output in cell.get("outputs", [])
        for line in output.get("traceback", [])
    ]
    assert tracebacks == [f"NotebookRegistryError: {error.evalue}"], "no Python traceback"

"""``registry.source: file`` through the batch (issue 10, item 8).

The batch calls its pipeline hook in a worker whose working folder is not the scenario's; the
scenario's registry path is relative to the scenario file, so the hook must be given that file.
Before the fix the batch called ``pipeline(scenario, folder)`` only, and the default pipeline
read ``registry.path`` relative to the working folder (or fell back to the synthetic registry).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pandas as pd
import pytest

from fupinsim.batch.steps import run_scenario

TESTS = Path(__file__).resolve().parents[1]
DATA = TESTS / "data"


@pytest.fixture(autouse=True)
def fake_pipeline_importable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(TESTS))
    paths = [str(TESTS), os.environ.get("PYTHONPATH", "")]
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(p for p in paths if p))


def test_batch_reads_the_scenarios_registry_file_relative_to_the_scenario(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "scenarios"
    (folder / "registries").mkdir(parents=True)
    for name in ("valid_registry.csv", "valid_registry.villages.csv"):
        shutil.copy(DATA / name, folder / "registries" / name)
    scenario = folder / "from_file.yaml"
    scenario.write_text(
        "id: from_file\nextends: plan_2015\ntitle: registry from a file\n"
        "description: The plan on a 20-household registry file.\n"
        "counties: [suzhou, yumen, guazhou, jinta]\n"  # the file's counties with registered poor
        "registry:\n  source: file\n  path: registries/valid_registry.csv\n",
        encoding="utf-8",
    )
    shutil.copy(TESTS.parent / "scenarios" / "plan_2015.yaml", folder / "plan_2015.yaml")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)  # the worker's folder is not the scenario's
    work = tmp_path / "work"
    work.mkdir()
    run = run_scenario(scenario, work, pipeline="helpers.fake_pipeline:counts_registry")
    assert run.ok, run.error
    counts = pd.read_csv(work / "tables" / "registry_counts.csv")
    expected = pd.read_csv(DATA / "valid_registry.csv")["county_id"].value_counts()
    assert counts.set_index("county_id")["households"].to_dict() == expected.to_dict()

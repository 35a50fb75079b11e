"""Fixtures shared by the contract tests: the national scenario cut to 140,000 households."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from helpers.national_small import NATIONAL_SMALL_CHUNK, NATIONAL_SMALL_HOUSEHOLDS

from fupinsim.scenario import Scenario, load_scenario

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def national_small_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``national_small.yaml``: ``scenarios/national_2014.yaml`` with 140,000 registered
    households (people in proportion), chunks of one block and a CSV limit of 300,000 rows
    (``household_exit`` keeps its CSV copy, ``household_paths`` does not)."""
    folder = tmp_path_factory.mktemp("scenarios")
    for name in ("plan_2015", "national_2014"):
        shutil.copy(ROOT / "scenarios" / f"{name}.yaml", folder / f"{name}.yaml")
    people = round(NATIONAL_SMALL_HOUSEHOLDS * 89_620_000 / 29_480_000)
    (folder / "national_small.yaml").write_text(
        "id: national_small\nextends: national_2014\ntitle: National scale test, cut\n"
        "description: The national scenario with 140,000 households (tests).\n"
        f"registry:\n  n_registered_households: {NATIONAL_SMALL_HOUSEHOLDS}\n"
        f"  n_registered_people: {people}\n  chunk_households: {NATIONAL_SMALL_CHUNK}\n"
        "  csv_max_household_rows: 300000\n",
        encoding="utf-8",
    )
    return folder / "national_small.yaml"


@pytest.fixture(scope="session")
def national_small(national_small_file: Path) -> Scenario:
    """The loaded ``national_small`` scenario."""
    return load_scenario(national_small_file)

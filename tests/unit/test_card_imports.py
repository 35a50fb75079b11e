"""``fupinsim card`` imports what a card needs, not the workbench: a household card of the
national run is a filtered read and a page (issue 18), and the seconds it took went to importing
the pipeline, the plots, SciPy's statistics, numba and PuLP. Each command runs in a fresh
interpreter, which then lists the modules it holds."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from helpers.fake_results import KNOWN_HOUSEHOLD_ID, fake_run_tables

from fupinsim.io.outputs import write_manifest, write_tables

#: What a card must not import (each costs tenths of a second, together most of the 2.5 s a
#: national card took).
HEAVY = ("matplotlib", "numba", "scipy.stats", "pulp", "fupinsim.pipeline", "fupinsim.plots")

_SCRIPT = """
import json, sys
from fupinsim.cli import cli
try:
    cli(sys.argv[1:], prog_name="fupinsim", standalone_mode=False)
finally:
    print(json.dumps(sorted(sys.modules)))
"""


@pytest.fixture(scope="module")
def outputs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A finished run folder ``outputs/plan_2015`` with its tables."""
    root = tmp_path_factory.mktemp("outputs")
    write_tables(fake_run_tables().as_dict(), root / "plan_2015")
    write_manifest({"scenario_hash": "abc"}, root / "plan_2015")
    return root


def _modules_after(*args: str) -> set[str]:
    """Run ``fupinsim ARGS`` in a new interpreter; the modules it imported."""
    done = subprocess.run(
        [sys.executable, "-c", _SCRIPT, *args], capture_output=True, text=True, check=True
    )
    return set(json.loads(done.stdout.strip().splitlines()[-1]))


def _heavy(modules: set[str], allowed: tuple[str, ...] = ()) -> list[str]:
    return [name for name in HEAVY if name in modules and name not in allowed]


def test_a_household_card_does_not_import_the_workbench(outputs: Path, tmp_path: Path) -> None:
    modules = _modules_after(
        "card", str(KNOWN_HOUSEHOLD_ID), "--outputs", str(outputs), "--out", str(tmp_path)
    )
    assert (tmp_path / f"household_{KNOWN_HOUSEHOLD_ID}.html").is_file()
    assert "fupinsim.assess.cards" in modules and "pyarrow.dataset" in modules  # it did read
    assert _heavy(modules) == []


def test_a_county_s_cards_do_not_import_the_workbench(outputs: Path, tmp_path: Path) -> None:
    modules = _modules_after(
        "card", "--county", "suzhou", "--outputs", str(outputs), "--out", str(tmp_path)
    )
    assert len(list(tmp_path.glob("household_*.html"))) > 0
    assert _heavy(modules) == []


def test_a_village_file_imports_only_the_cadres_pairing(outputs: Path, tmp_path: Path) -> None:
    """A village file lists its cadres with :func:`fupinsim.allocate.pairing.village_cadres`,
    whose module brings PuLP; nothing else of the workbench."""
    households = fake_run_tables().households
    village = int(households.loc[households["is_registered"], "village_id"].iloc[0])
    modules = _modules_after(
        "card", str(village), "--village", "--outputs", str(outputs), "--out", str(tmp_path)
    )
    assert (tmp_path / f"village_{village}.html").is_file()
    assert _heavy(modules, allowed=("pulp",)) == []


def test_help_imports_no_command_s_stack() -> None:
    assert _heavy(_modules_after("card", "--help")) == []

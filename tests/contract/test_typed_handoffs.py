"""Typed hand-offs (issue 9, item 4): a run's tables are read by attribute, not by name.

:class:`fupinsim.pipeline.RunTables` has one attribute per table, which mypy checks; a lookup
``tables["county_year"]`` or ``tables.get("county_year")`` is checked by nobody. This test fails
on any such lookup of a run table in the package or the tests. (Code that reads a *few* table
files of a finished run by file stem keeps them in a dict called ``frames``: that is a partial
read, not the run.)
"""

from __future__ import annotations

import re
from pathlib import Path

from fupinsim.pipeline import TABLE_NAMES

ROOT = Path(__file__).resolve().parents[2]
SCANNED = ("fupinsim", "tests")

#: Files whose ``tables[...]`` is not a run's tables, with the reason.
NOT_RUN_TABLES: dict[str, str] = {
    "fupinsim/widgets/__init__.py": "WhatIf.tables: the what-if panel's display tables",
    "tests/unit/test_widgets.py": "WhatIf.tables: the what-if panel's display tables",
    "fupinsim/io/national_run.py": "a national run's small tables by name before RunTables.partial",
    "tests/helpers/fake_results.py": "the fake builds the run's tables by name",
    "tests/unit/test_cards_bulk.py": "the card writer's subset of tables by name",
    "tests/contract/test_typed_handoffs.py": "this test's own examples",
}

_NAMES = "|".join(TABLE_NAMES)
LOOKUP = re.compile(rf"""\btables(?:\[|\.get\()\s*["']({_NAMES})["']""")


def lookups_by_name(text: str) -> list[str]:
    """The run-table names that ``text`` looks up with ``tables[...]`` or ``tables.get(...)``."""
    return LOOKUP.findall(text)


def test_the_pattern_finds_both_kinds_of_lookup() -> None:
    text = 'a = tables["county_year"]\nb = run.tables.get( "shortfall")\nc = tables.county_year\n'
    assert lookups_by_name(text) == ["county_year", "shortfall"]
    assert lookups_by_name('three["poor_distribution"]; frames["households"]') == []


def test_no_run_table_is_looked_up_by_name() -> None:
    found: dict[str, list[str]] = {}
    for folder in SCANNED:
        for path in sorted((ROOT / folder).rglob("*.py")):
            rel = path.relative_to(ROOT).as_posix()
            if rel in NOT_RUN_TABLES:
                continue
            names = lookups_by_name(path.read_text(encoding="utf-8"))
            if names:
                found[rel] = names
    assert found == {}, "use the RunTables attributes (tables.county_year) instead"


def test_the_exceptions_still_exist() -> None:
    missing = [rel for rel in NOT_RUN_TABLES if not (ROOT / rel).is_file()]
    assert missing == []

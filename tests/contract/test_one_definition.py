"""One definition of the county ids, income sources and student columns: ``fupinsim.data``.

The county ids come from ``fupinsim/data/counties.yaml``; :data:`fupinsim.data.INCOME_SOURCES`
and :data:`fupinsim.data.STUDENT_COLUMNS` name the registry's columns. Modules that still keep
their own copy (issue 9, to be replaced by imports from ``fupinsim.data``) must agree with it;
a copy that is gone is no longer checked.
"""

from __future__ import annotations

import importlib
import re
import typing

import pytest

from fupinsim import data
from fupinsim.registry.schema import HOUSEHOLD_COLUMNS

#: (module, attribute, the data constant it copies).
COPIES: tuple[tuple[str, str, str], ...] = (
    ("fupinsim.scenario", "COUNTY_IDS", "COUNTY_IDS"),
    ("fupinsim.registry.schema", "INCOME_SOURCES", "INCOME_SOURCES"),
    ("fupinsim.registry.checks", "_STUDENTS", "STUDENT_COLUMNS"),
    ("fupinsim.microsim.population", "_STUDENT_COLUMNS", "STUDENT_COLUMNS"),
)


def test_county_ids_are_seven_ascii_ids_that_the_schedule_uses() -> None:
    assert len(set(data.COUNTY_IDS)) == len(data.COUNTY_IDS) == 7  # PLAN §2: seven counties
    assert all(re.fullmatch(r"[a-z]+", c) for c in data.COUNTY_IDS)  # they become PuLP names
    assert set(data.exit_schedule()["county"]) == set(data.COUNTY_IDS)
    assert list(data.counties().index) == list(data.COUNTY_IDS)


def test_column_lists_name_registry_columns() -> None:
    columns = [spec.name for spec in HOUSEHOLD_COLUMNS]
    for name in (*data.INCOME_SOURCES, *data.STUDENT_COLUMNS):
        assert name in columns, name
    students = [c for c in columns if c.startswith("n_students_")]
    assert tuple(students) == data.STUDENT_COLUMNS
    incomes = [c for c in columns if c.startswith("income_") and c != "income_pc"]
    assert tuple(incomes) == data.INCOME_SOURCES


@pytest.mark.parametrize(("module", "attribute", "constant"), COPIES)
def test_remaining_copies_agree_with_fupinsim_data(
    module: str, attribute: str, constant: str
) -> None:
    copy = getattr(importlib.import_module(module), attribute, None)
    if copy is None:
        pytest.skip(f"{module}.{attribute} is gone: it uses fupinsim.data now")
    assert tuple(copy) == getattr(data, constant)


def test_the_scenario_county_literal_lists_the_same_ids() -> None:
    scenario = importlib.import_module("fupinsim.scenario")
    literal = getattr(scenario, "CountyId", None)
    if literal is None:
        pytest.skip("fupinsim.scenario.CountyId is gone")
    assert typing.get_args(literal) == data.COUNTY_IDS

"""The registry validator: every bad row named with its row, household, column, value and rule.

``tests/data/valid_registry.csv`` (+ ``.villages.csv``) holds 20 households drawn once from the
``plan_2015`` synthetic registry (incomes rounded to fen). Each file in
``tests/data/bad_registry/`` is that file with exactly one mistake, made as described in
:data:`BROKEN` below; a test checks the files on disk still match the table. To rebuild them
after changing the table, run ``python tests/unit/test_registry_checks.py``.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from fupinsim.errors import RegistryError
from fupinsim.io.registry_files import read_registry
from fupinsim.registry import Registry, generate_registry
from fupinsim.registry.checks import check_households, check_registry
from fupinsim.registry.schema import HOUSEHOLD_COLUMNS, INCOME_SOURCES
from fupinsim.scenario import Scenario

DATA = Path(__file__).resolve().parents[1] / "data"
VALID = DATA / "valid_registry.csv"
BAD_DIR = DATA / "bad_registry"

Table = pd.DataFrame


def _read_text(path: Path) -> Table:
    return pd.read_csv(path, dtype=str, keep_default_na=False)


def _set(row: int, **cells: str) -> Callable[[Table], Table]:
    """Edit: set cells of one row (``row`` counts data rows from 1, as the messages do)."""

    def edit(table: Table) -> Table:
        out = table.copy()
        for column, value in cells.items():
            out.loc[row - 1, column] = value
        return out

    return edit


def _net_income_zero(row: int) -> Callable[[Table], Table]:
    """Edit: production costs equal to all income, so the (consistent) income_pc is 0."""

    def edit(table: Table) -> Table:
        out = table.copy()
        gross = sum(float(out.loc[row - 1, c]) for c in INCOME_SOURCES)
        out.loc[row - 1, "production_cost"] = f"{gross:.2f}"
        out.loc[row - 1, "income_pc"] = "0.0"
        return out

    return edit


def _income_pc_to(row: int, income_pc: float) -> Callable[[Table], Table]:
    """Edit: more wages so that the (consistent) per-capita income is ``income_pc``."""

    def edit(table: Table) -> Table:
        out = table.copy()
        members = int(out.loc[row - 1, "n_members"])
        extra = (income_pc - float(out.loc[row - 1, "income_pc"])) * members
        out.loc[row - 1, "income_wages"] = f"{float(out.loc[row - 1, 'income_wages']) + extra:.2f}"
        out.loc[row - 1, "income_pc"] = f"{income_pc:.1f}"
        return out

    return edit


def _drop(column: str) -> Callable[[Table], Table]:
    return lambda table: table.drop(columns=[column])


def _add_column(column: str, value: str) -> Callable[[Table], Table]:
    def edit(table: Table) -> Table:
        out = table.copy()
        out[column] = ""
        out.loc[0, column] = value
        return out

    return edit


@dataclass(frozen=True)
class Broken:
    """One broken registry file and what its message must say."""

    file: str
    edit: Callable[[Table], Table]
    column: str
    value: object  # as the message shows it (after "got")
    rule: str  # a fragment of the rule text
    row: int | None = None  # data row (1-based); None for a whole-column problem
    extra: tuple[str, ...] = field(default=())  # more fragments that must appear


BROKEN: tuple[Broken, ...] = (
    Broken(
        "illness_without_ill_member.csv",
        _set(11, n_chronic_ill="0"),
        "main_cause",
        "illness",
        "illness as main cause needs a chronically ill member",
        row=11,
    ),
    Broken(
        "schooling_without_student.csv",
        _set(6, main_cause="schooling"),
        "main_cause",
        "schooling",
        "schooling as main cause needs a student",
        row=6,
    ),
    Broken(
        "disability_without_disabled_member.csv",
        _set(3, n_disabled="0"),
        "main_cause",
        "disability",
        "disability as main cause needs a disabled member",
        row=3,
    ),
    Broken(
        "income_zero.csv",
        _net_income_zero(9),
        "income_pc",
        0.0,
        "per-capita net income must be > 0 and <= 100,000 yuan",
        row=9,
    ),
    Broken(
        "income_above_100000.csv",
        _income_pc_to(19, 150_000.0),
        "income_pc",
        "150000.0",
        "must be a number >= 0 and <= 100000",
        row=19,
    ),
    Broken(
        "dibao_and_wubao.csv",
        _set(1, is_dibao="True"),
        "is_wubao",
        True,
        "dibao and wubao are exclusive",
        row=1,
    ),
    Broken(
        "wubao_with_labour.csv",
        _set(8, is_wubao="True"),
        "is_wubao",
        True,
        "a wubao household has no able-bodied member aged 16-65",
        row=8,
    ),
    Broken(
        "unknown_county.csv",
        _set(4, county_id="lanzhou"),
        "county_id",
        "lanzhou",
        "must be one of suzhou, yumen, dunhuang, guazhou, jinta, subei, aksai",
        row=4,
    ),
    Broken(
        "non_numeric_members.csv",
        _set(17, n_members="five"),
        "n_members",
        "five",
        "must be a whole number >= 1 and <= 20",
        row=17,
    ),
    Broken(
        "missing_column.csv",
        _drop("n_labour"),
        "'n_labour'",
        None,
        "is required (Able-bodied members aged 16-65.",
    ),
    Broken(
        "unknown_column.csv",
        _add_column("remark", "visited October 2014"),
        "'remark'",
        "remark",
        "is not a registry column",
    ),
    Broken(
        "duplicate_household_id.csv",
        _set(6, household_id="19610"),
        "household_id",
        19610,
        "must be unique (row 5 has the same id)",
        row=6,
    ),
    Broken(
        "housing_grade_e.csv",
        _set(8, housing_grade="E"),
        "housing_grade",
        "E",
        "must be one of A, B, C, D",
        row=8,
    ),
    Broken(
        "income_inconsistent.csv",
        _set(10, income_pc="8925.36"),
        "income_pc",
        8925.36,
        "must equal (income sources − production_cost) / n_members within 1 yuan",
        row=10,
    ),
    Broken(
        "registered_without_cause.csv",
        _set(16, main_cause=""),
        "main_cause",
        "",
        "a registered household needs a main cause",
        row=16,
    ),
    Broken(
        "away_more_than_labour.csv",
        _set(12, n_away="3"),
        "n_away",
        3,
        "workers away (n_away) must be among the labour",
        row=12,
    ),
    Broken(
        "members_fewer_than_counted.csv",
        _set(14, n_elderly="2"),
        "n_members",
        5,
        "labour + students + dropouts + elderly must not exceed the members",
        row=14,
    ),
    Broken(
        "bad_boolean.csv",
        _set(7, is_registered="maybe"),
        "is_registered",
        "maybe",
        "must be true or false",
        row=7,
    ),
    Broken(
        "empty_county.csv",
        _set(13, county_id=""),
        "county_id",
        "",
        "must not be empty; must be one of suzhou",
        row=13,
    ),
    Broken(
        "negative_land.csv",
        _set(20, land_mu="-2.5"),
        "land_mu",
        "-2.5",
        "must be a number >= 0 and <= 2000",
        row=20,
    ),
)


def expected_fragments(case: Broken) -> list[str]:
    """What the message must contain: file, row and household, column, value, rule."""
    fragments = [case.file, f"column {case.column}", case.rule, *case.extra]
    if case.row is not None:
        household_id = _read_text(BAD_DIR / case.file).loc[case.row - 1, "household_id"]
        fragments.append(f"row {case.row} (household_id {household_id})")
    if case.value is not None:
        fragments.append(f"got {case.value!r}")
    return fragments


def write_broken_files() -> None:
    """Rebuild ``tests/data/bad_registry/`` from the valid registry and :data:`BROKEN`."""
    valid = _read_text(VALID)
    BAD_DIR.mkdir(exist_ok=True)
    for case in BROKEN:
        case.edit(valid).to_csv(BAD_DIR / case.file, index=False)


# ----------------------------------------------------------------------------------------------


def test_valid_registry_passes_and_keeps_its_counts() -> None:
    registry = read_registry(VALID)
    assert len(registry.households) == 20
    assert len(registry.villages) == registry.households["village_id"].nunique()
    assert int(registry.households["is_registered"].sum()) == 10
    assert list(registry.households.columns) == [
        c.name for c in HOUSEHOLD_COLUMNS if not c.synthetic_only
    ]


def test_every_broken_file_is_in_the_table() -> None:
    on_disk = sorted(p.name for p in BAD_DIR.glob("*.csv"))
    assert on_disk == sorted(case.file for case in BROKEN)
    assert len(on_disk) >= 10


@pytest.mark.parametrize("case", BROKEN, ids=lambda case: case.file)
def test_broken_file_is_the_valid_file_with_one_documented_change(case: Broken) -> None:
    expected = case.edit(_read_text(VALID))
    pd.testing.assert_frame_equal(_read_text(BAD_DIR / case.file), expected)


@pytest.mark.parametrize("case", BROKEN, ids=lambda case: case.file)
def test_broken_registry_message_names_row_column_value_and_rule(case: Broken) -> None:
    with pytest.raises(RegistryError) as caught:
        read_registry(BAD_DIR / case.file)
    error = caught.value
    assert len(error.problems) == 1, str(error)  # one mistake, one problem
    message = str(error)
    for fragment in expected_fragments(case):
        assert fragment in message, f"{fragment!r} not in {message!r}"


def test_every_bad_row_is_reported_in_one_pass() -> None:
    """Several mistakes in different rows and kinds come back together, one problem each."""
    table = _read_text(VALID)
    ids = table["household_id"]
    table.loc[0, "n_members"] = "two"  # unparseable
    table.loc[10, "n_chronic_ill"] = "0"  # row 11: illness without an ill member
    table.loc[9, "income_pc"] = str(float(table.loc[9, "income_pc"]) + 1000)  # row 10
    table.loc[14, "county_id"] = "lanzhou"  # row 15
    with pytest.raises(RegistryError) as caught:
        check_registry(table)
    wheres = sorted(p.where for p in caught.value.problems)
    assert wheres == [
        f"registry [households]: row 1 (household_id {ids[0]}), column n_members",
        f"registry [households]: row 10 (household_id {ids[9]}), column income_pc",
        f"registry [households]: row 11 (household_id {ids[10]}), column main_cause",
        f"registry [households]: row 15 (household_id {ids[14]}), column county_id",
    ]
    assert "4 problem(s) found" in str(caught.value)


def test_a_row_with_an_unreadable_cell_is_not_also_reported_for_rules() -> None:
    # n_labour unreadable: the wubao rule (no labour) must not fire on a guessed value.
    table = _read_text(VALID)
    table.loc[0, "n_labour"] = "one"  # row 1 is a wubao household
    _, problems = check_households(table)
    assert [p.where.split(", ")[-1] for p in problems] == ["column n_labour"]


def test_unknown_village_is_reported_against_the_villages_table() -> None:
    registry = read_registry(VALID)
    households = registry.households.copy()
    households.loc[3, "village_id"] = 999_999
    with pytest.raises(RegistryError) as caught:
        check_registry(households, registry.villages)
    assert len(caught.value.problems) == 1
    message = str(caught.value)
    assert f"row 4 (household_id {households.loc[3, 'household_id']}), column village_id" in message
    assert "got 999999" in message
    assert "must be a village_id of the villages table" in message


def test_duplicate_village_id_is_reported() -> None:
    villages = _read_text(VALID.with_name("valid_registry.villages.csv"))
    villages.loc[1, "village_id"] = villages.loc[0, "village_id"]
    with pytest.raises(RegistryError) as caught:
        check_registry(_read_text(VALID), villages)
    message = str(caught.value)
    assert f"row 2 (village_id {villages.loc[0, 'village_id']}), column village_id" in message
    assert "must be unique (row 1 has the same id)" in message


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("True", True),
        ("true", True),
        (" 1 ", True),
        ("yes", True),
        ("False", False),
        ("0", False),
        ("n", False),
    ],
)
def test_flags_accept_the_usual_spellings(text: str, expected: bool) -> None:
    table = _read_text(VALID)
    table["ncms_enrolled"] = text
    typed, problems = check_households(table)
    assert problems == []
    assert typed["ncms_enrolled"].dtype == bool
    assert bool(typed["ncms_enrolled"].iloc[0]) is expected


def test_messages_show_plain_values_for_typed_tables() -> None:
    """A typed table (e.g. from Parquet) gives ``got 0.0``, not ``got np.float64(0.0)``."""
    registry = read_registry(VALID)
    households = registry.households.copy()
    households.loc[8, "production_cost"] = sum(households.loc[8, c] for c in INCOME_SOURCES)
    households.loc[8, "income_pc"] = 0.0
    with pytest.raises(RegistryError) as caught:
        check_registry(households)
    assert "got 0.0" in str(caught.value)
    assert "np." not in str(caught.value)


def test_synthetic_registry_passes_the_validator(plan_registry: Registry) -> None:
    households, villages = check_registry(plan_registry.households, plan_registry.villages)
    pd.testing.assert_frame_equal(households, plan_registry.households)
    assert villages is not None
    pd.testing.assert_frame_equal(villages, plan_registry.villages)


@pytest.mark.parametrize("seed", [1, 2])
def test_registries_from_other_seeds_pass_the_validator(plan_scenario: Scenario, seed: int) -> None:
    registry = generate_registry(plan_scenario.model_copy(update={"seed": seed}))
    check_registry(registry.households, registry.villages)


def test_income_rule_matches_the_recorded_components(plan_registry: Registry) -> None:
    households = plan_registry.households
    total = sum(households[c].to_numpy() for c in INCOME_SOURCES)
    net_pc = (total - households["production_cost"].to_numpy()) / households["n_members"]
    np.testing.assert_allclose(net_pc, households["income_pc"], atol=1e-6)


if __name__ == "__main__":
    write_broken_files()
    sys.exit(0)

"""The registry validator: every bad row named with its row, household, column, value and rule.

``tests/data/valid_registry.csv`` (+ ``.villages.csv``) holds 20 households drawn once from the
``plan_2015`` synthetic registry (incomes rounded to fen). Each file in
``tests/data/bad_registry/`` is that file with exactly one mistake, made as described in
:data:`BROKEN` below; a test checks the files on disk still match the table. To rebuild them
after changing the table, run ``PYTHONPATH=tests python tests/unit/test_registry_checks.py``.

``tests/data/bad_registry/tables/`` holds the broken registries of ``BROKEN_TABLES``
(``tests/helpers/broken_tables.py``): both tables (the villages beside the households), for the
rules between the tables and on the whole registry (some checked for a scenario that plans for
``RUN_COUNTIES``).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from helpers.broken_tables import BROKEN_TABLES, RUN_COUNTIES, TABLES_DIR, BrokenTables

from fupinsim.errors import InputError, RegistryError
from fupinsim.io.registry_files import check_registry_file, read_registry, villages_path
from fupinsim.registry import Registry, generate_registry
from fupinsim.registry.checks import IdSet, check_households, check_registry
from fupinsim.registry.schema import HOUSEHOLD_COLUMNS, INCOME_SOURCES
from fupinsim.scenario import Scenario

DATA = Path(__file__).resolve().parents[1] / "data"
VALID = DATA / "valid_registry.csv"
BAD_DIR = DATA / "bad_registry"
VALID_VILLAGES = VALID.with_name("valid_registry.villages.csv")

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
    Broken(
        "household_id_beyond_int64.csv",
        _set(3, household_id="9223372036854775808"),
        "household_id",
        "9223372036854775808",
        "must be a whole number >= 1 that the schema's int64 holds (at most 9223372036854775807)",
        row=3,
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
    """Rebuild ``tests/data/bad_registry/`` from the valid registry, :data:`BROKEN` and
    :data:`BROKEN_TABLES`."""
    valid = _read_text(VALID)
    BAD_DIR.mkdir(exist_ok=True)
    for case in BROKEN:
        case.edit(valid).to_csv(BAD_DIR / case.file, index=False)
    TABLES_DIR.mkdir(exist_ok=True)
    villages = _read_text(VALID_VILLAGES)
    for tables in BROKEN_TABLES:
        path = TABLES_DIR / tables.file
        tables.edit(valid).to_csv(path, index=False)
        tables.edit_villages(villages).to_csv(villages_path(path), index=False)


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
    assert on_disk == sorted(case.file for case in BROKEN)  # (BROKEN_TABLES are in tables/)
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


# ----------------------------------------------------------------------------------------------
# Rules between the tables and on the whole registry


def _for_counties(scenario: Scenario, counties: tuple[str, ...] | None) -> Scenario | None:
    return None if counties is None else scenario.model_copy(update={"counties": list(counties)})


def test_every_broken_registry_of_two_tables_is_in_the_table() -> None:
    on_disk = sorted(p.name for p in TABLES_DIR.glob("*.csv") if ".villages." not in p.name)
    assert on_disk == sorted(case.file for case in BROKEN_TABLES)
    villages = sorted(p.name for p in TABLES_DIR.glob("*.villages.csv"))
    assert villages == sorted(villages_path(Path(name)).name for name in on_disk)


@pytest.mark.parametrize("case", BROKEN_TABLES, ids=lambda case: case.file)
def test_broken_tables_are_the_valid_ones_with_the_documented_change(case: BrokenTables) -> None:
    path = TABLES_DIR / case.file
    pd.testing.assert_frame_equal(_read_text(path), case.edit(_read_text(VALID)))
    villages = case.edit_villages(_read_text(VALID_VILLAGES))
    pd.testing.assert_frame_equal(_read_text(villages_path(path)), villages)


@pytest.mark.parametrize("case", BROKEN_TABLES, ids=lambda case: case.file)
def test_broken_tables_message_names_file_row_column_value_and_rule(
    case: BrokenTables, plan_scenario: Scenario
) -> None:
    path = TABLES_DIR / case.file
    with pytest.raises(RegistryError) as caught:
        read_registry(path, _for_counties(plan_scenario, case.counties))
    assert len(caught.value.problems) == 1, str(caught.value)
    problem = str(caught.value.problems[0])
    assert problem.startswith(f"{path} [households]: {case.where}: {case.rule}"), problem
    if case.value is not None:
        assert f"got {case.value!r}" in problem
    else:
        assert "; got " not in problem


def test_without_the_scenario_the_county_rules_do_not_apply() -> None:
    for case in BROKEN_TABLES:
        if case.counties is not None:
            read_registry(TABLES_DIR / case.file)


def test_an_empty_registry_is_one_line() -> None:
    path = TABLES_DIR / "no_households.csv"
    with pytest.raises(RegistryError) as caught:
        read_registry(path)
    assert str(caught.value) == (
        f"{path} [households]: rows: must hold at least one household (a data row under the "
        "header); got 0. A registry without households cannot be planned for."
    )


def test_an_empty_registry_with_a_bad_header_lists_both(tmp_path: Path) -> None:
    path = tmp_path / "empty.csv"
    path.write_text("household_id,remark\n", encoding="utf-8")
    with pytest.raises(RegistryError) as caught:
        read_registry(path)
    message = str(caught.value)
    assert "column 'remark'" in message
    assert "must hold at least one household" in message
    assert message.splitlines()[0].endswith("problem(s) found")


def test_the_valid_registry_is_runnable_for_its_counties(plan_scenario: Scenario) -> None:
    registry = read_registry(VALID, _for_counties(plan_scenario, RUN_COUNTIES))
    assert len(registry.households) == 20


def test_the_valid_registry_has_no_registered_households_in_three_counties(
    plan_scenario: Scenario,
) -> None:
    """plan_2015 plans for all seven counties: three of them have no registered household."""
    with pytest.raises(RegistryError) as caught:
        read_registry(VALID, plan_scenario)
    assert [p.rule.split("; ")[1] for p in caught.value.problems] == [
        "dunhuang has none (3 households, none registered)",
        "subei has none (1 households, none registered)",
        "aksai has none (1 households, none registered)",
    ]


def test_a_run_needs_the_villages_table(plan_scenario: Scenario, tmp_path: Path) -> None:
    path = tmp_path / "households.csv"
    path.write_bytes(VALID.read_bytes())
    with pytest.raises(InputError) as caught:
        read_registry(path, _for_counties(plan_scenario, RUN_COUNTIES))
    assert str(caught.value) == (
        f"{path}: must come with its villages table for a run "
        f"({tmp_path / 'households.villages.csv'})"
        ". A run needs each household's village."
    )


def _messages(path: Path, **options: object) -> str:
    with pytest.raises(RegistryError) as caught:
        check_registry_file(path, **options)  # type: ignore[arg-type]
    return str(caught.value)


@pytest.mark.parametrize("case", BROKEN, ids=lambda case: case.file)
def test_messages_do_not_depend_on_the_chunk_size(case: Broken) -> None:
    """Rows are numbered through the file, the header is checked once."""
    path = BAD_DIR / case.file
    assert _messages(path, chunk_rows=7) == _messages(path)


@pytest.mark.parametrize("chunk_rows", [1, 5])
def test_an_id_repeated_in_the_next_chunk_names_the_first_row(chunk_rows: int) -> None:
    """duplicate_household_id.csv repeats row 5's id in row 6: across chunks of 1 and 5 rows."""
    path = BAD_DIR / "duplicate_household_id.csv"
    assert _messages(path, chunk_rows=chunk_rows) == _messages(path)


def test_ids_repeated_across_chunks_are_all_found(tmp_path: Path) -> None:
    table = _read_text(VALID)
    table.loc[[7, 12, 19], "household_id"] = table.loc[[0, 2, 0], "household_id"].to_numpy()
    path = tmp_path / "repeats.csv"
    table.to_csv(path, index=False)
    message = _messages(path, chunk_rows=3)
    assert message == _messages(path)
    ids = table["household_id"]
    for row, first in ((8, 1), (13, 3), (20, 1)):
        assert (
            f"row {row} (household_id {ids[row - 1]}), column household_id: must be unique "
            f"(row {first} has the same id)"
        ) in message


def test_problems_beyond_the_cap_are_counted(tmp_path: Path) -> None:
    table = pd.concat([_read_text(VALID)] * 10, ignore_index=True)
    table["household_id"] = [str(i) for i in range(1, len(table) + 1)]
    table["land_mu"] = "-1"  # 200 bad cells
    path = tmp_path / "many.csv"
    table.to_csv(path, index=False)
    with pytest.raises(RegistryError) as caught:
        check_registry_file(path, max_problems=15, chunk_rows=30)
    error = caught.value
    assert len(error.problems) == 15
    lines = str(error).splitlines()
    assert lines[0] == f"{path}: 200 problem(s) found; the first 15 are listed"
    assert lines[1].startswith(f"{path} [households]: row 1 (household_id 1), column land_mu")
    assert lines[15].startswith(f"{path} [households]: row 15 (household_id 15), column land_mu")
    assert lines[16] == "... and 185 more problems (fix those listed and check again)"
    assert len(lines) == 17


@pytest.mark.parametrize("bitmap_max_id", [IdSet.BITMAP_MAX_ID, 1_000])
def test_id_set_finds_every_id_seen_before(
    bitmap_max_id: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(IdSet, "BITMAP_MAX_ID", bitmap_max_id)
    rng = np.random.default_rng(7)
    ids = IdSet()
    seen: set[int] = set()
    for size in (1, 50, 300, 20, 700, 5):
        chunk = np.unique(rng.integers(0, 3_000, size))
        rng.shuffle(chunk)
        expected = np.array([int(i) in seen for i in chunk])
        np.testing.assert_array_equal(ids.seen_then_add(chunk), expected)
        seen.update(int(i) for i in chunk)
    assert len(ids.seen_then_add(np.array([], dtype=np.int64))) == 0
    big = np.array([2**62, 5], dtype=np.int64)  # beyond any bitmap: sorted runs from here
    np.testing.assert_array_equal(ids.seen_then_add(big), [False, 5 in seen])
    np.testing.assert_array_equal(ids.seen_then_add(big), [True, True])


def test_income_rule_matches_the_recorded_components(plan_registry: Registry) -> None:
    households = plan_registry.households
    total = sum(households[c].to_numpy() for c in INCOME_SOURCES)
    net_pc = (total - households["production_cost"].to_numpy()) / households["n_members"]
    np.testing.assert_allclose(net_pc, households["income_pc"], atol=1e-6)


if __name__ == "__main__":
    write_broken_files()
    sys.exit(0)

"""Exit rules (2016 exit mechanism): guarantees, income above the line "stably", return to poverty.

Pure rule functions on small hand-made tables; the same rules inside the yearly engine are tested
in ``test_engine.py`` (one-household registries with the shocks switched off).
"""

from __future__ import annotations

import doctest

import numpy as np
import pytest

from fupinsim import data
from fupinsim.microsim import exits as exits_module
from fupinsim.microsim.exits import (
    GUARANTEES,
    exit_step,
    incidence_threshold,
    meets_guarantees,
    return_step,
)

LINE_2015 = 2855.0  # national line in 2015, current prices

# safe housing, safe water, basic medical (NCMS), dropouts, meets every guarantee
GUARANTEE_TABLE = [
    ("all four", True, True, True, 0, True),
    ("house grade C or D", False, True, True, 0, False),
    ("no safe water", True, False, True, 0, False),
    ("not in NCMS", True, True, False, 0, False),
    ("a dropout", True, True, True, 1, False),
    ("two dropouts", True, True, True, 2, False),
    ("none", False, False, False, 1, False),
]


def test_the_guarantees_are_the_exit_rules_of_the_data_file() -> None:
    rules = {r["id"] for r in data.load_raw("exit_rules")["household"]}
    assert set(GUARANTEES) <= rules
    # Food and clothing is taken as implied by income above the line (module docstring).
    assert rules - set(GUARANTEES) == {"income_above_line", "food_clothing"}


def test_meets_guarantees_table() -> None:
    _, housing, water, medical, dropouts, expected = zip(*GUARANTEE_TABLE, strict=True)
    got = meets_guarantees(
        np.array(housing), np.array(water), np.array(medical), np.array(dropouts)
    )
    assert got.tolist() == list(expected)


@pytest.mark.parametrize(("name", "housing", "water", "medical", "dropouts", "ok"), GUARANTEE_TABLE)
def test_a_household_missing_one_guarantee_does_not_exit(
    name: str, housing: bool, water: bool, medical: bool, dropouts: int, ok: bool
) -> None:
    """Income far above the line is not enough: every guarantee must hold."""
    guarantees = meets_guarantees(
        np.array([housing]), np.array([water]), np.array([medical]), np.array([dropouts])
    )
    exits, _ = exit_step(
        np.array([True]), np.array([0]), np.array([10_000.0]), LINE_2015, 0.0, 1, guarantees
    )
    assert exits.tolist() == [ok], name


def test_exit_needs_income_at_or_above_the_line() -> None:
    income = np.array([2854.99, 2855.0, 2856.0, 9_000.0, 9_000.0])
    remaining = np.array([True, True, True, True, False])  # the last already exited
    exits, streak = exit_step(
        remaining, np.zeros(5, int), income, LINE_2015, 0.0, 1, np.ones(5, bool)
    )
    assert exits.tolist() == [False, True, True, True, False]
    assert streak.tolist() == [0, 1, 1, 1, 1]  # streaks count for everyone


def test_exit_income_margin() -> None:
    """With a 10% margin income must reach 1.1 × 2,855 = 3,140.5 yuan."""
    income = np.array([3_000.0, 3_140.0, 3_141.0, 3_200.0])
    exits, _ = exit_step(
        np.ones(4, bool), np.zeros(4, int), income, LINE_2015, 0.1, 1, np.ones(4, bool)
    )
    assert exits.tolist() == [False, False, True, True]


def test_stably_above_the_line_needs_two_years_in_a_row() -> None:
    """exit_stable_years = 2: a household seen above the line in 2015 and 2016 exits in 2016;
    one that dips below in between starts again."""
    lines = [2855.0, 2952.0, 2952.0, 2995.0]
    incomes = np.array(
        [
            [3_000.0, 3_000.0, 3_000.0, 3_000.0],  # above, above → exits in year 2
            [3_000.0, 2_900.0, 3_000.0, 3_000.0],  # above, below, above, above → year 4
            [2_800.0, 3_000.0, 3_000.0, 3_000.0],  # below, above, above → year 3
            [3_000.0, 2_900.0, 3_000.0, 2_990.0],  # never two in a row
        ]
    )
    remaining = np.ones(4, bool)
    streak = np.zeros(4, int)
    exit_year = np.zeros(4, int)
    for year, line in enumerate(lines, start=1):
        exits, streak = exit_step(
            remaining, streak, incomes[:, year - 1], line, 0.0, 2, np.ones(4, bool)
        )
        exit_year[exits] = year
        remaining &= ~exits
    assert exit_year.tolist() == [2, 4, 3, 0]


def test_guarantees_are_checked_in_the_exit_year() -> None:
    """A household above the line for years exits as soon as its last guarantee is fixed."""
    streak = np.array([3])
    no, streak_after = exit_step(
        np.array([True]), streak, np.array([5_000.0]), LINE_2015, 0.0, 2, np.array([False])
    )
    yes, _ = exit_step(
        np.array([True]), streak_after, np.array([5_000.0]), LINE_2015, 0.0, 2, np.array([True])
    )
    assert (no.tolist(), yes.tolist()) == ([False], [True])


def test_return_after_one_year_below_the_line() -> None:
    exited = np.array([True, True, False, True])
    income = np.array([2_000.0, 4_000.0, 1_000.0, 2_952.0])
    returns, streak = return_step(exited, np.zeros(4, int), income, 2952.0, 1)
    # below → returns; above → stays out; never exited → nothing; at the line → stays out
    assert returns.tolist() == [True, False, False, False]
    assert streak.tolist() == [0, 0, 0, 0]  # a return resets the streak


def test_return_after_two_years_below_the_line() -> None:
    exited = np.ones(3, bool)
    streak = np.zeros(3, int)
    incomes = [
        np.array([2_000.0, 2_000.0, 2_000.0]),
        np.array([2_000.0, 4_000.0, 2_000.0]),
        np.array([4_000.0, 2_000.0, 2_000.0]),
    ]
    returned = []
    for income in incomes:
        returns, streak = return_step(exited, streak, income, 2952.0, 2)
        returned.append(returns.tolist())
        exited &= ~returns
    # household 0: below, below → returns in year 2; household 1: below, above, below → not
    # yet; household 2: below, below → year 2.
    assert returned == [
        [False, False, False],
        [True, False, True],
        [False, False, False],
    ]
    assert streak.tolist() == [0, 1, 0]


def test_village_and_county_exit_at_three_percent() -> None:
    assert incidence_threshold() == 0.03
    county = data.load_raw("exit_rules")["county"]["max_incidence"]["value"]
    assert county == 0.03


def test_docstring_examples_hold() -> None:
    result = doctest.testmod(exits_module)
    assert result.attempted >= 3
    assert result.failed == 0

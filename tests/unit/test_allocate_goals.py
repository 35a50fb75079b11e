"""The plan's goals beyond exit counts as elastic LP targets (issue 10, item 6).

On the hand-solved toy (:mod:`allocation_toy`): county b's type is an immigrant-village type
whose packages raise household income (p1 by 500 yuan, p2 by 2,000 yuan in the goal year); a's
type lives in poor villages (3 people per household). The immigrant income goal and a's
poor-village exit steer money; an impossible goal is reported; every goal row's dual agrees
with a finite-difference re-solve.
"""

from __future__ import annotations

import dataclasses
import math

import pandas as pd
import pytest
from allocation_toy import OPTIMAL_COST, toy_inputs

from fupinsim.allocate import (
    AllocationInputs,
    ModelSettings,
    SolveSettings,
    build_model,
    extract_results,
    solve_model,
)
from fupinsim.allocate.goals import goal_key, lp_goals
from fupinsim.allocate.inputs import GOAL_COLUMNS
from fupinsim.errors import InputError

PEOPLE = 300.0  # immigrant-village people
BASE_INCOME = 3_000.0  # their mean income in the goal year without the plan (yuan/person)


def _goals(income_required: float | None = None, village_people: float | None = None):
    rows = []
    if income_required is not None:
        rows.append(("immigrant_income", "city", "immigrant", 2016, income_required,
                     BASE_INCOME, PEOPLE, math.nan, "yuan per person per year"))  # fmt: skip
    if village_people is not None:
        # 3% of the poor villages' people may remain; 300 people of poor households now.
        rows.append(("village_exit", "a", "all", 2016, 0.03 * village_people, 300.0,
                     village_people, 4.0, "people"))  # fmt: skip
    return pd.DataFrame(rows, columns=list(GOAL_COLUMNS))


def goal_inputs(goals: pd.DataFrame, money: dict | None = None) -> AllocationInputs:
    inputs = toy_inputs(money)
    y = inputs.yields.copy()
    gain = {"none": 0.0, "p1": 500.0, "p2": 2_000.0}
    y["income_gain_yuan"] = y["package_id"].map(gain)
    y["is_immigrant"] = y["type_id"] == "tb"
    y["poor_village_people"] = (y["type_id"] == "ta") * 3.0
    return dataclasses.replace(inputs, yields=y, goals=goals)


def _solve(inputs: AllocationInputs, objective: str = "min_cost"):
    model = build_model(inputs, ModelSettings(objective=objective))
    solution = solve_model(model, SolveSettings())
    return model, solution, extract_results(model, solution, SolveSettings(), close_gaps=False)


def _solve_diagnosed(inputs: AllocationInputs):
    model = build_model(inputs, ModelSettings())
    solution = solve_model(model, SolveSettings())
    return model, solution, extract_results(model, solution, SolveSettings(), close_gaps=True)


def _county_fiscal(result, county: str) -> float:
    return float(result.quotas.loc[result.quotas["county_id"] == county, "fiscal_yuan"].sum())


def test_a_goal_met_without_the_plan_changes_nothing() -> None:
    _, solution, result = _solve(goal_inputs(_goals(BASE_INCOME)))
    assert solution.objective_value == pytest.approx(OPTIMAL_COST)
    goal = result.goal_shortfall.iloc[0]
    assert goal["met"] and goal["short"] == pytest.approx(0.0)


def test_raising_the_income_goal_raises_money_on_immigrant_villages() -> None:
    _, _, low = _solve(goal_inputs(_goals(BASE_INCOME)))
    # 300 yuan per person more = 90,000 yuan: p1 on 80 households gives 40,000 only.
    _, _, high = _solve(goal_inputs(_goals(BASE_INCOME + 300.0)))
    assert _county_fiscal(high, "b") > _county_fiscal(low, "b") + 1_000.0
    assert _county_fiscal(high, "a") == pytest.approx(_county_fiscal(low, "a"))
    goal = high.goal_shortfall.iloc[0]
    assert goal["met"]
    assert goal["projected"] >= BASE_INCOME + 300.0 - 1e-6
    # p2 replaces p1 in b: 2,000 − 500 yuan more income for 1,800 − 900 yuan more money.
    assert goal["dual"] > 0


def test_an_impossible_income_goal_is_reported_with_its_shortfall() -> None:
    # Even all 100 of b's households on p2 add 200,000 yuan: 667 yuan per person at most.
    _, _, result = _solve(goal_inputs(_goals(BASE_INCOME + 5_000.0)))
    goal = result.goal_shortfall.iloc[0]
    assert not goal["met"]
    assert goal["short"] == pytest.approx(5_000.0 - 200_000.0 / PEOPLE, rel=1e-6)
    assert "Immigrant villages" in goal["message"] and "short" in goal["message"]
    assert math.isnan(goal["unreachable"])  # not diagnosed without close_gaps
    _, _, diagnosed = _solve_diagnosed(goal_inputs(_goals(BASE_INCOME + 5_000.0)))
    row = diagnosed.goal_shortfall.iloc[0]
    assert row["unreachable"] == pytest.approx(row["short"], rel=1e-6)
    assert "no money can secure it" in row["message"]
    # Reachable with more money than the pools hold: not "no money can".
    short = {("a", 2015): 1e6, ("b", 2016): 80_000.0}
    _, _, money = _solve_diagnosed(goal_inputs(_goals(BASE_INCOME + 600.0), short))
    row = money.goal_shortfall.iloc[0]
    assert not row["met"] and row["unreachable"] == pytest.approx(0.0, abs=1e-6)
    assert "more money would close it" in row["message"]
    # The exit targets are still met: exits stay first.
    assert result.shortfall["met"].all()


def test_the_poor_village_goal_buys_exits_beyond_the_schedule() -> None:
    _, _, plain = _solve(goal_inputs(_goals()))
    # 3,000 people: at most 90 may remain, so 70 of a's 100 households must exit by 2016.
    _, _, result = _solve(goal_inputs(_goals(village_people=3_000.0)))
    goal = result.goal_shortfall.iloc[0]
    assert goal["met"], goal["message"]
    assert goal["projected"] <= 90.0 + 1e-6
    assert _county_fiscal(result, "a") > _county_fiscal(plain, "a")
    # Beyond what 100 households can give (p2 on all: 80 exits): reported, villages named.
    _, _, short = _solve(goal_inputs(_goals(village_people=1_000.0)))
    row = short.goal_shortfall.iloc[0]
    assert not row["met"] and row["short"] == pytest.approx(300.0 - 30.0 - 80 * 3.0)
    assert "poor village does not exit" in row["message"]


def _objective(goals: pd.DataFrame, row: str, delta: float) -> float:
    model = build_model(goal_inputs(goals), ModelSettings())
    constraint = model.constraint(row)
    constraint.changeRHS(-constraint.constant + delta)
    return float(solve_model(model, SolveSettings()).objective_value)


@pytest.mark.parametrize(
    "goals",
    [
        _goals(BASE_INCOME + 300.0),
        _goals(BASE_INCOME + 5_000.0),
        _goals(village_people=3_000.0),
        _goals(village_people=1_000.0),
    ],
    ids=["income_binding", "income_short", "village_binding", "village_short"],
)
def test_goal_duals_match_a_finite_difference(goals: pd.DataFrame) -> None:
    model = build_model(goal_inputs(goals), ModelSettings())
    solution = solve_model(model, SolveSettings())
    base = float(solution.objective_value)
    for key, row in model.goal_rows.items():
        step = 100.0 if key[0] == "immigrant_income" else 1.0
        left = (base - _objective(goals, row, -step)) / step
        right = (_objective(goals, row, +step) - base) / step
        dual = solution.dual(row)
        tol = max(1.0, abs(base)) * 1e-7 / step + 1e-3 * abs(dual)
        assert left - tol <= dual <= right + tol, (row, dual, left, right)
        assert dual >= -tol  # a stricter goal never lowers the least cost


def test_goal_rows_in_max_exits_only_break_ties() -> None:
    _, _, plain = _solve(goal_inputs(_goals()), "max_exits")
    _, _, goal = _solve(goal_inputs(_goals(BASE_INCOME + 5_000.0)), "max_exits")
    final = next(c for c in plain.summary if c.startswith("exits_"))
    assert goal.summary[final] == pytest.approx(plain.summary[final], abs=1e-6)


def test_margins_make_goals_stricter() -> None:
    goals = _goals(4_000.0, village_people=1_000.0)
    raised = lp_goals(
        goals,
        {
            goal_key("immigrant_income", "immigrant", 2016): 0.1,
            goal_key("village_exit_a", "all", 2016): 0.5,
        },
    )
    assert raised["required"].tolist() == pytest.approx([4_400.0, 15.0])
    assert lp_goals(goals, {})["required"].tolist() == goals["required"].tolist()


def test_bad_goals_are_input_errors() -> None:
    goals = _goals(4_000.0).assign(goal="income_doubling")
    with pytest.raises(InputError, match="goal"):
        build_model(goal_inputs(goals))
    orphan = _goals(village_people=1_000.0).assign(county_id="zz")
    with pytest.raises(InputError, match="village_exit"):
        build_model(goal_inputs(orphan))

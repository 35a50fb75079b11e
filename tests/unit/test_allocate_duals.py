"""Every dual the allocation reports agrees with a finite-difference re-solve (issue 10, item 8).

The LP's optimal value is convex in a row's right-hand side (minimisation), so a row's dual is
a subgradient: it lies between the left and right difference quotients of re-solves with the
right-hand side moved by ±h. Checked for every target, budget, household and eligibility row
of the toy, with both solvers (HiGHS negates duals of maximisation problems; the model is a
minimisation so both must agree), and for the reported tables (``marginal_cost``,
``money_value``).
"""

from __future__ import annotations

import math

import pytest
from allocation_toy import SHORT_MONEY, toy_inputs

from fupinsim.allocate import (
    ModelSettings,
    SolveSettings,
    build_model,
    extract_results,
    solve_model,
)
from fupinsim.errors import SolverError

STEP = 1.0
CASES = {
    "ample_min_cost": ({}, "min_cost"),
    "short_min_cost": (SHORT_MONEY, "min_cost"),
    "short_max_exits": (SHORT_MONEY, "max_exits"),
}


def _objective(money: dict, objective: str, solver: str, row: str | None, delta: float) -> float:
    """Optimal value with ``row``'s right-hand side moved by ``delta`` (+inf if infeasible)."""
    model = build_model(toy_inputs(money or None), ModelSettings(objective=objective))
    if row is not None:
        constraint = model.constraint(row)
        constraint.changeRHS(-constraint.constant + delta)
    try:
        solution = solve_model(model, SolveSettings(solver=solver))
    except SolverError:
        return math.inf
    return float(solution.objective_value)


def _rows(model) -> list[str]:
    return [
        *model.target_rows.values(),
        *model.budget_rows.values(),
        *model.household_rows.values(),
        *model.eligible_rows.values(),
    ]


@pytest.mark.parametrize(
    ("case", "solver"), [*((c, "highs") for c in sorted(CASES)), ("short_max_exits", "cbc")]
)
def test_every_dual_matches_a_finite_difference(case: str, solver: str) -> None:
    money, objective = CASES[case]
    model = build_model(toy_inputs(money or None), ModelSettings(objective=objective))
    solution = solve_model(model, SolveSettings(solver=solver))
    base = float(solution.objective_value)
    scale = max(1.0, abs(base)) * 1e-7
    checked = 0
    for row in _rows(model):
        # Money rows move by 100 yuan, the others by one household (solver noise / step).
        step = 100.0 if row.startswith("budget") else STEP
        left = (base - _objective(money, objective, solver, row, -step)) / step
        right = (_objective(money, objective, solver, row, +step) - base) / step
        dual = solution.dual(row)
        tol = scale / step + 1e-3 * abs(dual)
        # Convex in the right-hand side: left ≤ dual ≤ right (an infeasible side is ±inf).
        assert left - tol <= dual <= right + tol, (row, dual, left, right)
        checked += 1
    assert checked >= 8


@pytest.mark.parametrize("case", ["ample_min_cost", "short_min_cost"])
def test_reported_prices_are_the_re_solve_differences(case: str) -> None:
    """``marginal_cost`` and ``money_value`` quote the same numbers as the re-solves."""
    money, objective = CASES[case]
    model = build_model(toy_inputs(money or None), ModelSettings(objective=objective))
    solution = solve_model(model, SolveSettings())
    result = extract_results(model, solution, SolveSettings(), close_gaps=False)
    base = float(solution.objective_value)
    for r in result.marginal_cost.itertuples(index=False):
        if math.isnan(r.yuan_per_extra_exit):
            continue
        row = model.target_rows[(r.county_id, r.villages, int(r.year))]
        right = _objective(money, objective, "highs", row, +STEP) - base
        left = base - _objective(money, objective, "highs", row, -STEP)
        assert left - 1e-3 <= r.yuan_per_extra_exit <= right + 1e-3
    for r in result.money_value.itertuples(index=False):
        row = model.budget_rows[(r.pool, int(r.year))]
        # One more yuan lowers the objective by the gain (100 yuan keeps the step exact).
        saved = (base - _objective(money, objective, "highs", row, +100.0)) / 100.0
        lost = (_objective(money, objective, "highs", row, -100.0) - base) / 100.0
        assert saved - 1e-6 <= r.objective_gain_per_extra_yuan <= lost + 1e-6

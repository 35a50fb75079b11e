"""The plan goals' results of a solved allocation LP: the table ``goal_shortfall``.

Per goal of the LP (the immigrant villages' income and the poor villages' exit, issue 10 item
6; rows and penalties: :mod:`fupinsim.allocate.goal_rows`): the required, baseline and
projected value (yuan per person, or people), what is short, the goal row's dual (yuan per
unit of the goal, ``min_cost`` only), the part no money can secure (a re-solve with unlimited
money and capacity) and a sentence in planner terms. Split from :mod:`fupinsim.allocate.results`
(which calls :func:`goal_table` from :func:`~fupinsim.allocate.results.extract_results`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import pandas as pd
import pulp

from fupinsim.allocate.model import AllocationModel, goal_penalty_terms
from fupinsim.allocate.results import (
    MET_TOLERANCE,
    clip_sign,
    diagnostic_solve,
    group_name,
    scratch_model,
)
from fupinsim.allocate.solve import SolveResult, SolveSettings

__all__ = ["goal_penalty_yuan", "goal_reach", "goal_table"]


_GOAL_TABLE_COLUMNS = [
    "goal",
    "county_id",
    "villages",
    "year",
    "unit",
    "required",
    "baseline",
    "projected",
    "short",
    "met",
    "dual",
    "unreachable",
    "message",
]


def goal_penalty_yuan(model: AllocationModel, solution: SolveResult) -> float:
    """The goals' part of the ``min_cost`` objective (yuan; 0 in ``max_exits``)."""
    if model.settings.objective != "min_cost":
        return 0.0
    return float(sum(solution.value(v.name) * c for v, c in goal_penalty_terms(model, 1.0)))


def goal_reach(model: AllocationModel, key: Any, settings: SolveSettings | None = None) -> float:
    """Least shortfall of a goal with unlimited money and capacity (its unit): the part of
    it no money can secure (the packages' yields do not reach it). NaN if the re-solve fails.
    """
    with scratch_model(model):
        for var in [*model.extra_money.values(), *model.extra_capacity.values()]:
            var.upBound = None
        for var in model.shortfall.values():
            var.upBound = None
        short = model.goal_shortfall[key]
        values = diagnostic_solve(model, pulp.LpAffineExpression([(short, 1.0)]), settings, None)
    return math.nan if values is None else max(0.0, float(values[short.name]))


def goal_table(
    model: AllocationModel,
    solution: SolveResult,
    settings: SolveSettings | None = None,
    *,
    diagnose: bool = False,
) -> pd.DataFrame:
    """The plan goals' table ``goal_shortfall`` (module docstring), from the solution; with
    ``diagnose``, a missed goal's ``unreachable`` part (:func:`goal_reach`, else NaN)."""
    rows: list[dict[str, Any]] = []
    goals = model.data.goals
    for g, c, v, y, unit, required, baseline, people, n_villages in goals[
        ["goal", "county_id", "villages", "year", "unit", "required", "baseline", "people",
         "n_villages"]
    ].itertuples(index=False):  # fmt: skip
        key = (str(g), str(c), str(v), int(y))
        if key not in model.goal_rows:
            continue
        lift = sum(solution.value(var.name) * coef for var, coef in model.goal_terms[key])
        short = max(0.0, solution.value(model.goal_shortfall[key].name))
        dual = _goal_dual(model, solution, key, float(people))
        if g == "immigrant_income":
            projected = float(baseline) + lift / float(people)
        else:
            projected = float(baseline) - lift
        met = short <= MET_TOLERANCE
        unreachable = goal_reach(model, key, settings) if diagnose and not met else math.nan
        row = {"goal": key[0], "county_id": key[1], "villages": key[2], "year": key[3],
               "unit": unit, "required": float(required), "baseline": float(baseline),
               "projected": projected, "short": short, "met": met, "dual": dual,
               "unreachable": unreachable}  # fmt: skip
        row["message"] = _goal_message(row, float(people), float(n_villages))
        rows.append(row)
    return pd.DataFrame(rows, columns=_GOAL_TABLE_COLUMNS)


def _goal_dual(model: AllocationModel, solution: SolveResult, key: Any, people: float) -> float:
    """``min_cost``: yuan per unit of the goal (yuan per person, or person); else NaN."""
    if model.settings.objective != "min_cost":
        return math.nan
    dual = clip_sign(solution.dual(model.goal_rows[key]))
    return dual * people if key[0] == "immigrant_income" else dual


def _goal_message(row: Mapping[str, Any], people: float, n_villages: float) -> str:
    """A goal's result in planner terms."""
    year = row["year"]
    if row["goal"] == "immigrant_income":
        if row["met"]:
            return (
                f"Immigrant villages' mean income reaches {row['required']:,.0f} yuan per "
                f"person by {year} (expected {row['projected']:,.0f})."
            )
        text = (
            f"Immigrant villages' mean income is expected at {row['projected']:,.0f} yuan per "
            f"person in {year}, {row['short']:,.0f} short of the plan's "
            f"{row['required']:,.0f} ({people:,.0f} people; without the plan "
            f"{row['baseline']:,.0f})"
        )
        return text + _goal_reason(row["unreachable"], "yuan per person", "household packages")
    where = group_name(row["county_id"], row["villages"])
    if row["met"]:
        return (
            f"{where}: the {n_villages:.0f} poor villages' remaining poor people "
            f"({row['projected']:,.0f}) are within the exit threshold "
            f"({row['required']:,.0f}) by {year}, taken together."
        )
    text = (
        f"{where}: {row['short']:,.0f} people of poor households above the exit threshold "
        f"of the {n_villages:.0f} poor villages by {year} (at most {row['required']:,.0f} may "
        f"remain, {row['projected']:,.0f} expected): at least one poor village does not exit"
    )
    return text + _goal_reason(row["unreachable"], "people", "exits the packages give")


def _goal_reason(unreachable: float, unit: str, what: str) -> str:
    """Why a goal is missed: no money can reach it, or the money goes further elsewhere."""
    if math.isnan(unreachable):
        return "."
    if unreachable > MET_TOLERANCE:
        return (
            f"; no money can secure it: even unlimited money and capacity leave "
            f"{unreachable:,.0f} {unit} short (the {what} do not reach it)."
        )
    return (
        "; more money would close it, but the pools have none to spare at the goal's "
        "penalty (goal_penalties, data/exit_schedule.yaml)."
    )

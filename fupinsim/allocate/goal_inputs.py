"""The plan goals table the allocation takes (:mod:`fupinsim.allocate.goals` makes it).

Columns :data:`GOAL_COLUMNS`: ``goal`` (one of :data:`GOAL_NAMES`), ``county_id, villages,
year``, ``required`` and ``baseline`` (the goal's unit: yuan per person, or people of poor
households remaining in poor villages), ``people`` (immigrant-village people, or the poor
villages' population), ``n_villages`` and ``unit``.
"""

from __future__ import annotations

import pandas as pd

from fupinsim.allocate.checks import bad_range, missing_columns
from fupinsim.errors import Problem

__all__ = ["GOAL_COLUMNS", "GOAL_NAMES", "check_goals", "empty_goals"]

#: Columns of the plan goals table (:mod:`fupinsim.allocate.goals`).
GOAL_COLUMNS = (
    "goal",
    "county_id",
    "villages",
    "year",
    "required",
    "baseline",
    "people",
    "n_villages",
    "unit",
)
#: The plan goals the LP knows (immigrant-village income, poor villages' exit).
GOAL_NAMES = ("immigrant_income", "village_exit")


def empty_goals() -> pd.DataFrame:
    """A goals table without rows (inputs that do not carry the plan's goals)."""
    frame = pd.DataFrame({c: pd.Series(dtype="float64") for c in GOAL_COLUMNS})
    return frame.astype(
        {"goal": str, "county_id": str, "villages": str, "year": "int64", "unit": str}
    )


def check_goals(
    goals: pd.DataFrame | None, types: pd.DataFrame
) -> tuple[pd.DataFrame, list[Problem]]:
    """The plan goals (empty when not given): known goals, numbers, groups with types."""
    if goals is None:
        return empty_goals(), []
    problems = missing_columns(goals, "goals", GOAL_COLUMNS)
    if problems:
        return empty_goals(), problems
    goals = goals[list(GOAL_COLUMNS)].copy().astype({"year": "int64"})
    unknown = sorted(set(goals["goal"].astype(str)) - set(GOAL_NAMES))
    if unknown:
        problems.append(Problem("goals, column goal", unknown, f"must be one of {GOAL_NAMES}"))
    for column in ("required", "baseline", "people"):
        problems += bad_range(goals[column], f"goals, column {column}", 0.0)
    groups = set(zip(types["county_id"], types["villages"], strict=True))
    village = goals[goals["goal"] == "village_exit"]
    orphan = sorted(
        {(c, v) for c, v in zip(village["county_id"], village["villages"], strict=True)} - groups
    )
    if orphan:
        problems.append(
            Problem("goals", orphan[:5], "a village_exit goal's group must have household types")
        )
    return goals.reset_index(drop=True), problems

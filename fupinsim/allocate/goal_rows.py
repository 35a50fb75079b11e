"""The plan goals' rows of the allocation LP (see :mod:`fupinsim.allocate.model`, rows
``goal__…``, and :mod:`fupinsim.allocate.goals`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pulp

from fupinsim.allocate.inputs import option_gains

if TYPE_CHECKING:
    from fupinsim.allocate.model import AllocationModel, GoalKey

__all__ = ["add_goals", "goal_penalty_terms"]

Terms = list[tuple[pulp.LpVariable, float]]


def _name(*parts: object) -> str:
    return "__".join(str(p) for p in parts)


def _goal_coefficients(
    model: AllocationModel, goal: str, county: str, villages: str, year: int
) -> Terms:
    """Σ x × coefficient of a goal row: income gain (yuan per household, immigrant types) or
    exit gain × poor-village people per household (the group's types)."""
    data = model.data
    options = data.options
    if goal == "immigrant_income":
        if "income_gain_yuan" not in options:
            return []
        types = data.types
        immigrant = (
            types["is_immigrant"].astype(bool)
            if "is_immigrant" in types
            else types["villages"] == "immigrant"
        )
        chosen = set(types.loc[immigrant.to_numpy(), "type_id"])
        rows = options[options["type_id"].isin(chosen)]
        values = rows["income_gain_yuan"].fillna(0.0)
        keys = zip(rows["type_id"], rows["package_id"], rows["start_year"], values, strict=True)
        return [(model.x[(t, p, int(st))], float(g)) for t, p, st, g in keys if g]
    if "poor_village_people" not in data.types:
        return []
    group = data.types[(data.types["county_id"] == county) & (data.types["villages"] == villages)]
    people = group.set_index("type_id")["poor_village_people"].astype(float)
    gains = option_gains(data, [year])
    gains = gains[gains["type_id"].isin(people.index)]
    return [
        (model.x[(t, p, int(st))], float(g) * float(people[t]))
        for t, p, st, _y, g in gains.itertuples(index=False)
        if g and people[t]
    ]


def add_goals(model: AllocationModel) -> None:
    """Rows ``goal__<goal>__<county>__<villages>__<year>`` (see the module docstring): the
    plan's goals, elastic through ``goalshort__…`` (in the goal's unit)."""
    if not model.settings.plan_goals:
        return
    goals = model.data.goals
    for g, c, v, y, required, baseline, people in goals[
        ["goal", "county_id", "villages", "year", "required", "baseline", "people"]
    ].itertuples(index=False):
        key: GoalKey = (str(g), str(c), str(v), int(y))
        terms = _goal_coefficients(model, *key)
        short = model.problem.add_variable(_name("goalshort", *key), lowBound=0.0)
        if g == "immigrant_income":
            rhs = float(people) * (float(required) - float(baseline))
            scale = float(people)
        else:
            rhs = float(baseline) - float(required)
            scale = 1.0
        model.goal_shortfall[key] = short
        model.goal_terms[key] = terms
        name = _name("goal", *key)
        expression = pulp.LpAffineExpression([*terms, (short, scale)])
        model.problem.addConstraint(
            pulp.LpConstraint(expression, sense=pulp.LpConstraintGE, name=name, rhs=rhs)
        )
        model.goal_rows[key] = name


def goal_penalty_terms(model: AllocationModel, weight: float) -> Terms:
    """Objective terms of the goals' shortfalls: penalty per unit × ``weight``."""
    penalties = model.settings.goal_penalties
    goals = model.data.goals
    people = {
        (str(g), str(c), str(v), int(y)): float(n)
        for g, c, v, y, n in goals[["goal", "county_id", "villages", "year", "people"]].itertuples(
            index=False
        )
    }
    terms: Terms = []
    for key, var in model.goal_shortfall.items():
        per_unit = float(penalties.get(key[0], 0.0))
        if key[0] == "immigrant_income":
            per_unit *= people[key]  # short is yuan per person
        terms.append((var, per_unit * weight))
    return terms

"""The plan's goals beyond exit counts, as the allocation LP sees them (issue 10, item 6).

Two goals of plan §2 become elastic targets of the LP (:func:`~fupinsim.allocate.model.add_goals`):

``immigrant_income``
    The mean per-capita income of *all* people of immigrant villages in the goal's target year
    reaches ``max(multiple × base-year mean, strive level)`` (``immigrant_income_goal`` in
    ``data/exit_schedule.yaml``), the same rule as ``target_probability``
    (:func:`fupinsim.microsim.results.plan_goals`). The LP row: Σ x × (income gain of the
    option, yuan per household) + people × short ≥ people × (required − baseline mean), with
    ``short`` in yuan per person.
``village_exit``
    Every poor village at or below the village incidence rule (``exit_rules.yaml``) by the
    ``poor_village_exit`` year. Per-village rows would need household types per village (the
    LP's types are county × village type × labour × income band), so the rule is AGGREGATED by
    county × target group: people of registered, not exited households in the group's poor
    villages ≤ threshold × the poor villages' population. A group can meet it while some of
    its villages stay above the threshold, so it is a necessary condition only; the simulated
    P(met) in ``target_probability`` stays per village. A type's households are assumed to
    exit at its yield whether or not they live in a poor village (its poor-village people
    per household, ``poor_village_people``, weight the gain). ``short`` is in people.

:func:`plan_goal_table` computes, from the yields' baseline simulation, one row per goal with
``goal, county_id, villages, year, required, baseline, people, n_villages, unit`` (``required``
and ``baseline`` in the goal's unit: yuan per person, or people remaining).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping

import numpy as np
import pandas as pd

from fupinsim import data
from fupinsim.allocate.goal_inputs import GOAL_COLUMNS, empty_goals
from fupinsim.microsim import Catalogue
from fupinsim.microsim.exits import incidence_threshold
from fupinsim.microsim.plans import compile_plan
from fupinsim.microsim.population import Population, build_population
from fupinsim.microsim.targets import target_group
from fupinsim.registry import Registry
from fupinsim.scenario import Scenario

__all__ = [
    "GOAL_COLUMNS",
    "GOAL_UNITS",
    "baseline_income",
    "empty_goals",
    "goal_key",
    "goal_penalties",
    "lp_goals",
    "plan_goal_table",
    "poor_village_households",
    "village_exit_year",
]

logger = logging.getLogger(__name__)

#: ``f(population) -> income``: mean per-capita income, households × years (yuan).
IncomeRun = Callable[[Population], np.ndarray]

#: Unit of ``required``/``baseline`` (and of the LP's shortfall) by goal.
GOAL_UNITS = {
    "immigrant_income": "yuan per person per year",
    "village_exit": "people in poor households above the village threshold",
}


def goal_penalties() -> dict[str, float]:
    """Objective yuan per unit of each goal's shortfall (``goal_penalties`` in
    ``data/exit_schedule.yaml``): per yuan of immigrant-village income short (aggregate, in
    the target year) and per person above a poor-village group's threshold."""
    raw = data.plain(data.load_raw("exit_schedule")["goal_penalties"])
    return {k: float(v) for k, v in raw.items()}


def village_exit_year() -> int:
    """The year every poor village must have exited by (plan §2)."""
    return int(data.plain(data.load_raw("exit_schedule")["poor_village_exit"])["year"])


def poor_village_households(population: Population, villages: pd.DataFrame | None) -> np.ndarray:
    """Whether each household of ``population`` lives in a registered poor village."""
    if villages is None or "is_poor_village" not in villages:
        return np.zeros(population.n, dtype=bool)
    flags = villages.set_index("village_id")["is_poor_village"].astype(bool)
    ids = population.village_ids[population.village]
    return flags.reindex(ids, fill_value=False).to_numpy(dtype=bool)


def plan_goal_table(
    registry: Registry,
    scenario: Scenario,
    population: Population,
    baseline: tuple[np.ndarray, np.ndarray],
    immigrant: np.ndarray,
    simulate_income: IncomeRun,
) -> pd.DataFrame:
    """One row per plan goal the LP can steer (see the module docstring).

    Parameters
    ----------
    registry, scenario:
        The run's registry and scenario.
    population:
        The registered households the yields were simulated over.
    baseline:
        Their baseline P(exited by year) and mean per-capita income (households × years).
    immigrant:
        Whether each of them lives in an immigrant village.
    simulate_income:
        ``f(population) -> income`` (households × years, yuan per person): the baseline
        simulation of other households (the immigrant villages' unregistered ones).
    """
    years = np.asarray(scenario.years)
    rows = _income_goal(registry, population, baseline[1], immigrant, years, simulate_income)
    rows += _village_goals(registry, population, baseline[0], years)
    frame = pd.DataFrame(rows, columns=list(GOAL_COLUMNS)) if rows else empty_goals()
    return frame.astype({"year": "int64"})


def _income_goal(
    registry: Registry,
    population: Population,
    income: np.ndarray,
    immigrant: np.ndarray,
    years: np.ndarray,
    simulate_income: IncomeRun,
) -> list[dict[str, object]]:
    goal = data.immigrant_income_goal()
    target, base_year = int(goal["target_year"]), int(goal["base_year"])
    if target not in set(years.tolist()) or base_year not in set(years.tolist()):
        return []
    t, b = int(np.searchsorted(years, target)), int(np.searchsorted(years, base_year))
    members = population.members.astype(np.float64)
    people = float(members[immigrant].sum())
    base_total = float((income[immigrant, b] * members[immigrant]).sum())
    goal_total = float((income[immigrant, t] * members[immigrant]).sum())
    households = registry.households
    others = households[
        households["is_immigrant"].to_numpy(dtype=bool)
        & ~households["is_registered"].to_numpy(dtype=bool)
    ]
    if len(others):
        other_pop = build_population(others.reset_index(drop=True), registry.villages)
        other_income = simulate_income(other_pop)
        other_members = other_pop.members.astype(np.float64)
        people += float(other_members.sum())
        base_total += float((other_income[:, b] * other_members).sum())
        goal_total += float((other_income[:, t] * other_members).sum())
    if not people > 0:
        return []
    required = max(goal["multiple"] * base_total / people, goal["strive_level"])
    return [
        {
            "goal": "immigrant_income",
            "county_id": "city",
            "villages": "immigrant",
            "year": target,
            "required": required,
            "baseline": goal_total / people,
            "people": people,
            "n_villages": np.nan,
            "unit": GOAL_UNITS["immigrant_income"],
        }
    ]


def _village_goals(
    registry: Registry, population: Population, p_exit: np.ndarray, years: np.ndarray
) -> list[dict[str, object]]:
    year = village_exit_year()
    villages = registry.villages
    if year not in set(years.tolist()) or villages is None or "is_poor_village" not in villages:
        return []
    t = int(np.searchsorted(years, year))
    poor = villages[
        villages["is_poor_village"].to_numpy(dtype=bool)
        & (villages["population"].to_numpy(dtype=float) > 0)
    ]
    if not len(poor):
        return []
    groups = target_group(poor["county_id"].to_numpy(), poor["is_immigrant"].to_numpy(dtype=bool))
    frame = poor.assign(villages=groups)
    in_poor = poor_village_households(population, villages)
    remaining = population.members * (1.0 - p_exit[:, t]) * in_poor
    village_of = pd.Series(remaining).groupby(population.village_ids[population.village]).sum()
    frame = frame.assign(remaining=village_of.reindex(frame["village_id"], fill_value=0.0).values)
    threshold = incidence_threshold()
    rows: list[dict[str, object]] = []
    for (county, group), part in frame.groupby(["county_id", "villages"], sort=True):
        people = float(part["population"].sum())
        rows.append(
            {
                "goal": "village_exit",
                "county_id": str(county),
                "villages": str(group),
                "year": year,
                "required": threshold * people,
                "baseline": float(part["remaining"].sum()),
                "people": people,
                "n_villages": float(len(part)),
                "unit": GOAL_UNITS["village_exit"],
            }
        )
    return rows


def baseline_income(
    scenario: Scenario,
    catalogue: Catalogue,
    run: Callable[..., tuple[np.ndarray, np.ndarray]],
    workers: int,
) -> IncomeRun:
    """``f(population) -> income``: mean per-capita income (households × years, yuan) of a
    population under no new support, through ``run(prepared, arrays, rows, reps, workers)``
    (:func:`fupinsim.allocate.yields._exit_probabilities`)."""

    # The engine brings numba: imported when a baseline is simulated, not with the LP's model
    # (a village file's cadres pairing imports fupinsim.allocate: tests/unit/test_card_imports).
    from fupinsim.microsim.engine import prepare_plan, prepare_population  # noqa: PLC0415

    def simulate_income(population: Population) -> np.ndarray:
        prepared = prepare_population(population, scenario)
        dtype = np.float32 if scenario.microsim.float32 else np.float64
        empty = pd.DataFrame(
            {
                "household_id": pd.Series(dtype="int64"),
                "package_id": pd.Series(dtype=str),
                "start_year": pd.Series(dtype="int64"),
            }
        )
        compiled = compile_plan(population, empty, catalogue, scenario, validate=False)
        arrays = prepare_plan(compiled, population, scenario, dtype)
        everyone = np.ones(population.n, dtype=bool)
        reps = scenario.allocation.yield_replications
        _, income = run(prepared, arrays, everyone, reps, workers)
        return np.asarray(income)

    return simulate_income


def goal_key(goal: str, villages: str, year: int) -> tuple[str, str, int]:
    """A goal's key in the closed loop's margins: ``(goal, villages, year)``, beside the exit
    targets' ``(county_id, villages, year)`` (``goal`` is never a county id)."""
    return (goal, villages, year)


def lp_goals(goals: pd.DataFrame, margins: Mapping[tuple[str, str, int], float]) -> pd.DataFrame:
    """The goals for the LP, each made stricter by the closed loop's cushion (if any).

    A margin is a share of the goal's scale: ``immigrant_income`` asks for ``required × (1 +
    margin)`` yuan per person; ``village_exit`` allows ``required × (1 − margin)`` people (at
    least 0) to remain in the group's poor villages' poor households.
    """
    out = goals.copy()
    required = out["required"].to_numpy(dtype=float).copy()
    for i, (goal, county, villages, year) in enumerate(
        zip(out["goal"], out["county_id"], out["villages"], out["year"], strict=True)
    ):
        name = str(goal) if goal == "immigrant_income" else f"{goal}_{county}"
        margin = float(margins.get(goal_key(name, str(villages), int(year)), 0.0))
        if not margin:
            continue
        if goal == "immigrant_income":
            required[i] *= 1.0 + margin
        else:
            required[i] = max(0.0, required[i] * (1.0 - margin))
    out["required"] = required
    return out

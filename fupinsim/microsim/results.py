"""Tidy result tables from the engine's sums: the planner's view of a simulation.

Every table is a long pandas DataFrame (one row per county × village type × year × indicator,
or per household × year), with quantiles over Monte Carlo replications where there is
uncertainty. Columns and units are listed in ``docs/contracts.md``.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from fupinsim import data
from fupinsim.microsim.engine import STATS
from fupinsim.microsim.exits import incidence_threshold
from fupinsim.microsim.population import Population, group_labels

__all__ = [
    "INDICATORS",
    "TARGET_UNITS",
    "PlanGoals",
    "SimulationResult",
    "county_year_table",
    "household_tables",
    "immigrant_income_table",
    "p_all_targets_met",
    "plan_goals",
    "target_probability_table",
    "targeting_table",
    "village_year_table",
    "with_plan_goals",
]

_S = {name: i for i, name in enumerate(STATS)}
QUANTILES = (0.05, 0.5, 0.95)

#: Indicators of ``county_year`` with their units.
INDICATORS: dict[str, str] = {
    "registered_remaining": "households",
    "exits": "households per year",
    "exits_cumulative": "households",
    "returns": "households per year",
    "headcount": "people",
    "headcount_registered": "people",
    "poverty_gap_yuan": "yuan per year",
    "at_risk": "households",
    "mean_income_pc": "yuan per person per year",
    "mean_income_pc_all": "yuan per person per year",
}


@dataclass(frozen=True)
class SimulationResult:
    """Tables of one simulation (see ``docs/contracts.md``)."""

    county_year: pd.DataFrame
    target_probability: pd.DataFrame
    immigrant_income: pd.DataFrame
    village_year: pd.DataFrame
    targeting: pd.DataFrame
    household: pd.DataFrame
    household_exit: pd.DataFrame
    meta: dict[str, Any] = field(default_factory=dict)

    def tables(self) -> dict[str, pd.DataFrame]:
        """The tables by name, as written to ``outputs/<scenario>/tables/``."""
        return {
            "county_year": self.county_year,
            "target_probability": self.target_probability,
            "immigrant_income": self.immigrant_income,
            "village_year": self.village_year,
            "targeting": self.targeting,
            "household_paths": self.household,
            "household_exit": self.household_exit,
        }

    def indicator(self, name: str, villages: str = "all") -> pd.DataFrame:
        """One indicator as a county × year table of means (for a quick look)."""
        frame = self.county_year
        sel = frame[(frame["indicator"] == name) & (frame["villages"] == villages)]
        return sel.pivot(index="county_id", columns="year", values="mean")


def _indicator_values(group_stats: np.ndarray) -> dict[str, np.ndarray]:
    """Indicators from summed statistics; ``group_stats[..., k]`` with ``STATS[k]``."""

    def stat(name: str) -> np.ndarray:
        return group_stats[..., _S[name]]

    with np.errstate(invalid="ignore", divide="ignore"):
        return {
            "registered_remaining": stat("registered_remaining"),
            "exits": stat("exits"),
            "exits_cumulative": stat("exited"),
            "returns": stat("returns"),
            "headcount": stat("poor_people"),
            "headcount_registered": stat("poor_people_registered"),
            "poverty_gap_yuan": stat("poverty_gap_yuan"),
            "at_risk": stat("at_risk"),
            "mean_income_pc": stat("income_registered_yuan") / stat("people_registered"),
            "mean_income_pc_all": stat("income_all_yuan") / stat("people_all"),
        }


def _summaries(values: np.ndarray) -> dict[str, np.ndarray]:
    """Mean and quantiles over replications (axis 0), NaN-aware (NaN where all are NaN)."""
    with np.errstate(invalid="ignore"), warnings.catch_warnings():
        # A group without people has NaN means in every replication: NaN is the answer.
        warnings.filterwarnings("ignore", "All-NaN slice", RuntimeWarning)
        warnings.filterwarnings("ignore", "Mean of empty slice", RuntimeWarning)
        q = np.nanquantile(values, QUANTILES, axis=0) if values.shape[0] else None
        mean = np.nanmean(values, axis=0) if np.isfinite(values).any() else values.mean(axis=0)
    assert q is not None
    return {"mean": mean, "p05": q[0], "p50": q[1], "p95": q[2]}


def _village_sets(labels: list[tuple[str, str]]) -> list[tuple[str, str, np.ndarray]]:
    """(county, villages, group indices) for immigrant, old and all of every county."""
    out = []
    for county in data.COUNTY_IDS:
        index = {v: i for i, (c, v) in enumerate(labels) if c == county}
        out.append((county, "old", np.array([index["old"]])))
        out.append((county, "immigrant", np.array([index["immigrant"]])))
        out.append((county, "all", np.array([index["old"], index["immigrant"]])))
    return out


def county_year_table(group_stats: np.ndarray, years: np.ndarray) -> pd.DataFrame:
    """Long table ``county_id, villages, year, indicator, mean, p05, p50, p95``.

    ``group_stats[r, g, t, k]``: replication, group (county × village type), year, statistic.
    Rows for a county's immigrant or old villages appear only where it has households. Every
    (villages, indicator, year) is summarised in one pass over the replications.
    """
    labels = group_labels()
    sets = []
    for county, villages, groups in _village_sets(labels):
        summed = group_stats[:, groups].sum(axis=1)
        if summed[..., _S["households"]].max(initial=0) > 0:
            sets.append((county, villages, summed))
    sets.append(("city", "all", group_stats.sum(axis=1)))  # city totals
    indicators = [_indicator_values(summed) for _, _, summed in sets]
    names = list(indicators[0])
    # values[r, set, indicator, year]
    values = np.stack([np.stack([ind[name] for name in names], axis=1) for ind in indicators], 1)
    summary = _summaries(values)
    n_years = years.size
    per_set = len(names) * n_years
    return pd.DataFrame(
        {
            "county_id": np.repeat(np.array([c for c, _, _ in sets], dtype=object), per_set),
            "villages": np.repeat(np.array([v for _, v, _ in sets], dtype=object), per_set),
            "year": np.tile(years, len(sets) * len(names)),
            "indicator": np.tile(np.repeat(np.array(names, dtype=object), n_years), len(sets)),
            **{k: v.ravel() for k, v in summary.items()},
        }
    )


def target_probability_table(
    group_stats: np.ndarray, years: np.ndarray, targets: pd.DataFrame
) -> pd.DataFrame:
    """P(target met) per target group and year: share of replications with enough exits.

    ``targets`` is :func:`fupinsim.microsim.targets.exit_targets`; a target counts as met when
    the group's households in exited status at year end reach ``required_exits``.
    """
    labels = group_labels()
    index = {label: i for i, label in enumerate(labels)}
    year_index = {int(y): i for i, y in enumerate(years)}
    rows = []
    for row in targets.to_dict("records"):
        county, villages, year = str(row["county_id"]), str(row["villages"]), int(row["year"])
        if year not in year_index:
            continue
        if villages == "all":
            groups = np.array([index[(county, "old")], index[(county, "immigrant")]])
        else:
            groups = np.array([index[(county, villages)]])
        exited = group_stats[:, groups, year_index[year], _S["exited"]].sum(axis=1)
        q = np.quantile(exited, [0.05, 0.95])
        rows.append(
            {
                "county_id": county,
                "villages": villages,
                "year": year,
                "n_registered": row["n_registered"],
                "target_exits": row["target_exits"],
                "required_exits": row["required_exits"],
                "projected_exits_mean": float(exited.mean()),
                "projected_exits_p05": float(q[0]),
                "projected_exits_p95": float(q[1]),
                "p_met": float((exited >= row["required_exits"]).mean()),
            }
        )
    return pd.DataFrame(rows)


@dataclass(frozen=True)
class PlanGoals:
    """The plan's targets beyond exit counts (§2), per replication of a simulation.

    Attributes
    ----------
    rows:
        Rows for ``target_probability`` (``target`` ``immigrant_income``: mean per-capita
        income of immigrant villages reaching twice its 2014 level and at least the 9,000-yuan
        level by 2017, yuan per person; ``village_exit``: every poor village at or below the
        village incidence rule by 2017, villages).
    met:
        ``(replications, goals)``: whether each goal is met in each replication.
    years:
        The year of each goal (column of ``met``).
    """

    rows: pd.DataFrame
    met: np.ndarray
    years: tuple[int, ...]


def plan_goals(
    group_stats: np.ndarray,
    village_remaining: np.ndarray,
    village_population: np.ndarray,
    poor_village: np.ndarray,
    years: np.ndarray,
) -> PlanGoals:
    """The immigrant income goal and the poor villages' exit, per replication (see
    :class:`PlanGoals`; ``village_remaining[r, t, v]``: people of village ``v`` in registered,
    not exited households; ``poor_village``: which villages count)."""
    goal = data.immigrant_income_goal()
    year_index = {int(y): i for i, y in enumerate(years)}
    rows: list[dict[str, Any]] = []
    met: list[np.ndarray] = []
    goal_years: list[int] = []
    income_year = int(goal["target_year"])
    labels = group_labels()
    groups = [i for i, (_, v) in enumerate(labels) if v == "immigrant"]
    summed = group_stats[:, groups].sum(axis=1)
    if income_year in year_index and summed[:, 0, _S["people_all"]].max(initial=0) > 0:
        with np.errstate(invalid="ignore", divide="ignore"):
            income = summed[..., _S["income_all_yuan"]] / summed[..., _S["people_all"]]
        required = max(float(income[:, 0].mean()) * goal["multiple"], goal["strive_level"])
        final = income[:, year_index[income_year]]
        met.append(final >= required)
        goal_years.append(income_year)
        rows.append(
            _goal_row("immigrant_income", "immigrant", income_year, np.nan, required, final)
        )
    exit_year = int(data.plain(data.load_raw("exit_schedule")["poor_village_exit"])["year"])
    poor = np.asarray(poor_village, dtype=bool) & (village_population > 0)
    if exit_year in year_index and poor.any():
        with np.errstate(invalid="ignore", divide="ignore"):
            incidence = village_remaining[:, year_index[exit_year], poor] / village_population[poor]
        exited = (incidence <= incidence_threshold() + 1e-12).sum(axis=1).astype(float)
        n_poor = float(poor.sum())
        met.append(exited >= n_poor)
        goal_years.append(exit_year)
        rows.append(_goal_row("village_exit", "poor_villages", exit_year, n_poor, n_poor, exited))
    n_reps = group_stats.shape[0]
    matrix = np.stack(met, axis=1) if met else np.ones((n_reps, 0), dtype=bool)
    return PlanGoals(pd.DataFrame(rows), matrix, tuple(goal_years))


#: Unit of ``target_exits``/``projected_exits_*`` in ``target_probability`` by ``target``.
TARGET_UNITS = {
    "exits": "households",
    "immigrant_income": "yuan per person per year",
    "village_exit": "villages",
}


def _goal_row(
    target: str, villages: str, year: int, n: float, required: float, values: np.ndarray
) -> dict[str, Any]:
    q = np.quantile(values, [0.05, 0.95])
    return {
        "county_id": "city",
        "villages": villages,
        "year": year,
        "n_registered": n,
        "target_exits": required,
        "required_exits": required,
        "projected_exits_mean": float(values.mean()),
        "projected_exits_p05": float(q[0]),
        "projected_exits_p95": float(q[1]),
        "p_met": float((values >= required).mean()),
        "target": target,
        "unit": TARGET_UNITS[target],
    }


def with_plan_goals(target_probability: pd.DataFrame, goals: PlanGoals) -> pd.DataFrame:
    """``target_probability`` with the columns ``target`` and ``unit`` and the plan's goals."""
    exits = target_probability.assign(target="exits", unit=TARGET_UNITS["exits"])
    if not len(goals.rows):
        return exits
    return pd.concat([exits, goals.rows], ignore_index=True)


def p_all_targets_met(
    group_stats: np.ndarray,
    years: np.ndarray,
    targets: pd.DataFrame,
    within: set[int],
    goals: PlanGoals | None = None,
) -> float:
    """Share of replications in which every target of the given years is met (joint); with
    ``goals``, the plan's goals of those years count too."""
    labels = group_labels()
    index = {label: i for i, label in enumerate(labels)}
    year_index = {int(y): i for i, y in enumerate(years)}
    met = np.ones(group_stats.shape[0], dtype=bool)
    if goals is not None:
        for k, year in enumerate(goals.years):
            if year in within:
                met &= goals.met[:, k]
    for row in targets.to_dict("records"):
        county, villages, year = str(row["county_id"]), str(row["villages"]), int(row["year"])
        if year not in within or year not in year_index:
            continue
        groups = (
            [index[(county, "old")], index[(county, "immigrant")]]
            if villages == "all"
            else [index[(county, villages)]]
        )
        exited = group_stats[:, groups, year_index[year], _S["exited"]].sum(axis=1)
        met &= exited >= row["required_exits"]
    return float(met.mean())


def immigrant_income_table(group_stats: np.ndarray, years: np.ndarray) -> pd.DataFrame:
    """Mean per-capita net income of immigrant villages vs the plan's goal (§2).

    Columns ``year, mean, p05, p50, p95, goal_path, goal_doubling, goal_level`` (yuan per
    person per year). ``goal_path`` grows the base year by the plan's 25% a year;
    ``goal_doubling`` is twice the base-year income (the 2017 goal); ``goal_level`` 9,000.
    """
    labels = group_labels()
    groups = [i for i, (_, v) in enumerate(labels) if v == "immigrant"]
    summed = group_stats[:, groups].sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        values = summed[..., _S["income_all_yuan"]] / summed[..., _S["people_all"]]
    goal = data.immigrant_income_goal()
    base = float(values[:, 0].mean())
    summary = _summaries(values)
    return pd.DataFrame(
        {
            "year": years,
            **summary,
            "goal_path": base * (1 + goal["growth_per_year"]) ** (years - years[0]),
            "goal_doubling": base * goal["multiple"],
            "goal_level": goal["strive_level"],
        }
    )


def _mean_ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    """Mean over replications of numerator/denominator, NaN where the denominator is 0."""
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = numerator / denominator
    valid = denominator > 0
    count = valid.sum(axis=0)
    total = np.where(valid, ratio, 0.0).sum(axis=0)
    return np.where(count > 0, total / np.maximum(count, 1), np.nan)


def targeting_table(group_stats: np.ndarray, years: np.ndarray) -> pd.DataFrame:
    """Wrong-exit and missed-poor rates by county and year (means over replications).

    ``wrong_exit_rate``: exited households whose true income is below the line, as a share of
    exited households. ``missed_poor_rate``: households with true income below the line that
    were never registered, as a share of them (the county exit rule's "missed" poor,
    ``fupinsim/data/exit_rules.yaml``; truly poor households that exited are wrong exits).
    """
    labels = group_labels()
    rows = []
    for county in (*data.COUNTY_IDS, "city"):
        groups = [i for i, (c, _) in enumerate(labels) if county in {c, "city"}]
        summed = group_stats[:, groups].sum(axis=1)
        if summed[..., _S["households"]].max(initial=0) == 0:
            continue
        rows.append(
            pd.DataFrame(
                {
                    "county_id": county,
                    "year": years,
                    "wrong_exit_rate": _mean_ratio(
                        summed[..., _S["wrong_exits"]], summed[..., _S["exited"]]
                    ),
                    "missed_poor_rate": _mean_ratio(
                        summed[..., _S["missed_poor"]], summed[..., _S["truly_poor"]]
                    ),
                }
            )
        )
    return pd.concat(rows, ignore_index=True)


def village_year_table(
    village_remaining: np.ndarray, population: Population, years: np.ndarray
) -> pd.DataFrame:
    """Incidence per village and year: share of its people in registered, not exited households.

    Columns ``village_id, year, incidence_mean, p_exit`` (``p_exit`` = P(incidence ≤ 3%)).
    Only villages with registered households appear.
    """
    pop = population.village_population
    has_poor = village_remaining[:, 0, :].max(axis=0) > 0
    with np.errstate(invalid="ignore", divide="ignore"):
        incidence = village_remaining[:, :, has_poor] / pop[has_poor]
    threshold = incidence_threshold()
    n_years = years.size
    ids = population.village_ids[has_poor]
    return pd.DataFrame(
        {
            "village_id": np.repeat(ids, n_years),
            "year": np.tile(years, ids.size),
            "incidence_mean": incidence.mean(axis=0).T.ravel(),
            "p_exit": (incidence <= threshold + 1e-12).mean(axis=0).T.ravel(),
        }
    )


def household_tables(
    population: Population,
    income_sum: np.ndarray,
    exited_sum: np.ndarray,
    replications: int,
    years: np.ndarray,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per registered household: expected income path, P(exited by year), expected exit year.

    ``expected_exit_year`` is the first year in which P(exited) ≥ 0.5 (NA if none).
    """
    reg = population.registered
    ids = population.household_id[reg]
    income = (income_sum[:, reg] / replications).T
    p_exit = (exited_sum[:, reg] / replications).T
    n_years = years.size
    paths = pd.DataFrame(
        {
            "household_id": np.repeat(ids, n_years),
            "year": np.tile(years, ids.size),
            "income_pc_mean": income.ravel(),
            "p_exited": p_exit.ravel(),
        }
    )
    reached = p_exit >= 0.5
    first = np.where(reached.any(axis=1), years[np.argmax(reached, axis=1)], 0)
    ever = np.asarray(reached.any(axis=1), dtype=bool)
    exit_year = pd.Series(first, dtype="Int64").where(ever, pd.NA)
    return paths, pd.DataFrame({"household_id": ids, "expected_exit_year": exit_year})

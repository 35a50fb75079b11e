"""The plan's three tables (§26): poor distribution, income targets, poverty-reduction tasks.

Pure functions on the pipeline's tables (``docs/contracts.md``). Money is yuan; income is yuan
per person per year (``_pc``).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from fupinsim.assess.labels import CITY_ID, add_names, county_order, sort_groups, villages_of
from fupinsim.assess.lookup import from_run, required_from_run
from fupinsim.data import immigrant_income_goal, poverty_line
from fupinsim.units import BASE_YEAR

if TYPE_CHECKING:  # the pipeline imports assess: only the type, no import at run time
    from fupinsim.pipeline.results import RunTables

__all__ = ["income_targets", "poor_distribution", "reduction_tasks", "three_tables"]


# ----------------------------------------------------------------------------------------------
# Table 1: distribution of poor villages and poor population


def poor_distribution(households: pd.DataFrame, villages: pd.DataFrame) -> pd.DataFrame:
    """Table 1: poor villages and poor population by county and immigrant/old villages.

    Parameters
    ----------
    households
        Registry households: ``household_id, village_id, county_id, is_immigrant, n_members,
        is_registered, support_class``.
    villages
        Registry villages: ``village_id, county_id, is_immigrant, is_poor_village``.

    Returns
    -------
    DataFrame
        One row per county and village type present (``villages`` = ``immigrant``/``old``), a
        county row ``all`` where a county has both types, and city rows (``county_id`` =
        :data:`CITY_ID`) for immigrant, old and all villages. Columns ``county_id, county,
        county_zh, villages, n_villages, n_poor_villages, n_households, population,
        n_poor_households, n_poor_people, poverty_incidence`` (share of people in registered
        poor households), ``n_development, n_social_security`` (registered households by §25
        support class).
    """
    hh = pd.DataFrame(
        {
            "county_id": households["county_id"].astype(str),
            "villages": villages_of(households),
            "members": households["n_members"].astype("int64"),
            "poor": households["is_registered"].astype(bool),
        }
    )
    support = households.get("support_class")
    support = support.astype("object") if support is not None else pd.Series(None, index=hh.index)
    hh["poor_people"] = hh["members"].where(hh["poor"], 0)
    hh["development"] = hh["poor"] & (support == "development")
    hh["social_security"] = hh["poor"] & (support == "social_security")
    vil = pd.DataFrame(
        {
            "county_id": villages["county_id"].astype(str),
            "villages": np.where(villages["is_immigrant"].astype(bool), "immigrant", "old"),
            "poor_village": villages["is_poor_village"].astype(bool),
        }
    )

    def summarise(h: pd.DataFrame, v: pd.DataFrame) -> dict[str, Any]:
        population = int(h["members"].sum())
        poor_people = int(h["poor_people"].sum())
        return {
            "n_villages": len(v),
            "n_poor_villages": int(v["poor_village"].sum()),
            "n_households": len(h),
            "population": population,
            "n_poor_households": int(h["poor"].sum()),
            "n_poor_people": poor_people,
            "poverty_incidence": poor_people / population if population else math.nan,
            "n_development": int(h["development"].sum()),
            "n_social_security": int(h["social_security"].sum()),
        }

    rows = []
    for county in county_order(vil["county_id"].tolist() + hh["county_id"].tolist()):
        h_c, v_c = hh[hh["county_id"] == county], vil[vil["county_id"] == county]
        kinds = [k for k in ("immigrant", "old") if (v_c["villages"] == k).any()]
        for kind in kinds:
            part = summarise(h_c[h_c["villages"] == kind], v_c[v_c["villages"] == kind])
            rows.append({"county_id": county, "villages": kind, **part})
        if len(kinds) > 1:
            rows.append({"county_id": county, "villages": "all", **summarise(h_c, v_c)})
    for kind in ("immigrant", "old"):
        part = summarise(hh[hh["villages"] == kind], vil[vil["villages"] == kind])
        rows.append({"county_id": CITY_ID, "villages": kind, **part})
    rows.append({"county_id": CITY_ID, "villages": "all", **summarise(hh, vil)})
    return add_names(pd.DataFrame(rows))


# ----------------------------------------------------------------------------------------------
# Table 2: income targets


def indicator_rows(county_year: pd.DataFrame, indicator: str) -> pd.DataFrame:
    """Rows of one ``county_year`` indicator, with string ids and integer years."""
    part = county_year[county_year["indicator"] == indicator].copy()
    part["county_id"] = part["county_id"].astype(str)
    part["villages"] = part["villages"].astype(str)
    part["year"] = part["year"].astype("int64")
    return part


def _split_groups_only_where_split(part: pd.DataFrame) -> pd.DataFrame:
    """Drop ``immigrant``/``old`` rows of counties that have only one kind of village and an
    ``all`` row (they repeat it)."""
    kinds = part[part["villages"] != "all"].groupby("county_id")["villages"].nunique()
    with_all = set(part.loc[part["villages"] == "all", "county_id"])
    redundant = set(kinds[kinds == 1].index) & with_all
    keep = (part["villages"] == "all") | ~part["county_id"].isin(redundant)
    return part[keep]


def _goal_factor(year: int, base_year: int) -> float:
    """Multiple of base-year income the plan asks for by ``year`` (doubling by the target year)."""
    goal = immigrant_income_goal()
    target_year, multiple = int(goal["target_year"]), float(goal["multiple"])
    if year > target_year:
        return math.nan
    return multiple ** ((year - base_year) / (target_year - base_year))


def _base_income(part: pd.DataFrame, households: pd.DataFrame | None, base_year: int) -> pd.Series:
    """Base-year mean income by ``(county_id, villages)``: the simulation's base-year row, else
    the registry's mean ``income_pc`` of registered households."""
    base = part[part["year"] == base_year].set_index(["county_id", "villages"])["mean"]
    if households is not None:
        registered = households[households["is_registered"].astype(bool)]
        fallback: dict[tuple[str, str], float] = {}
        for (county, kind), incomes in registered.groupby(
            [registered["county_id"].astype(str), villages_of(registered)]
        )["income_pc"]:
            fallback[(str(county), str(kind))] = float(incomes.mean())
        for county, incomes in registered.groupby(registered["county_id"].astype(str))["income_pc"]:
            fallback[(str(county), "all")] = float(incomes.mean())
        for key, value in fallback.items():
            if key not in base.index:
                base.loc[key] = value
    return base


_INCOME_COLUMNS = [
    "county_id",
    "villages",
    "year",
    "base_income_pc",
    "goal_income_pc",
    "poverty_line_pc",
    "projected_p05",
    "projected_p50",
    "projected_p95",
    "projected_mean",
    "growth_p50",
    "p50_meets_goal",
    "goal_basis",
]


def income_targets(
    county_year: pd.DataFrame,
    *,
    households: pd.DataFrame | None = None,
    base_year: int = BASE_YEAR,
) -> pd.DataFrame:
    """Table 2: per-capita net income of registered poor households, target and projection.

    Parameters
    ----------
    county_year
        Simulation quantiles (``county_id, villages, year, indicator, mean, p05, p50, p95``);
        rows with ``indicator == 'mean_income_pc'`` are used (mean income of registered
        households, yuan per person per year; the quantiles are over replications).
    households
        Registry households; used for the base-year income when ``county_year`` has no
        ``base_year`` row (mean ``income_pc`` of registered households, by group).
    base_year
        Year of the base income (plan §2: "on the basis of 2014").

    Returns
    -------
    DataFrame
        One row per county, village group and year after ``base_year``: ``county_id, county,
        county_zh, villages, year, base_income_pc, goal_income_pc, poverty_line_pc,
        projected_p05, projected_p50, projected_p95, projected_mean, growth_p50`` (p50 over
        base, share), ``p50_meets_goal``, ``goal_basis``. The goal is the plan §2 path to
        double the base income by 2017 (``base × 2^((year−2014)/3)``, ≥ 25 % a year), stated for
        immigrant villages and applied to every group as the city's reference; the plan sets no
        goal after 2017 (``nan``).
    """
    part = _split_groups_only_where_split(indicator_rows(county_year, "mean_income_pc"))
    base = _base_income(part, households, base_year)
    out = part[part["year"] > base_year].copy()
    keys = list(zip(out["county_id"], out["villages"], strict=True))
    out["base_income_pc"] = [float(base.get(k, math.nan)) for k in keys]
    factors = out["year"].map(lambda y: _goal_factor(int(y), base_year))
    out["goal_income_pc"] = out["base_income_pc"] * factors
    out["poverty_line_pc"] = out["year"].map(lambda y: line_or_nan(int(y)))
    out = out.rename(
        columns={
            "p05": "projected_p05",
            "p50": "projected_p50",
            "p95": "projected_p95",
            "mean": "projected_mean",
        }
    )
    out["growth_p50"] = out["projected_p50"] / out["base_income_pc"] - 1.0
    out["p50_meets_goal"] = (out["projected_p50"] >= out["goal_income_pc"]).where(
        out["goal_income_pc"].notna()
    )
    out["goal_basis"] = np.where(
        out["villages"] == "immigrant",
        "PLAN §2: immigrants' income doubles 2014-2017",
        "PLAN §2 doubling path applied as the city's reference",
    )
    return add_names(sort_groups(out[_INCOME_COLUMNS]))


def line_or_nan(year: int) -> float:
    """The poverty line of ``year`` (yuan per person), ``nan`` for a year without one."""
    try:
        return float(poverty_line(year))
    except KeyError:
        return math.nan


# ----------------------------------------------------------------------------------------------
# Table 3: poverty-reduction tasks

_TASK_COLUMNS = [
    "county_id",
    "villages",
    "year",
    "n_registered",
    "target_share",
    "target_exits",
    "required_exits",
    "target_exits_in_year",
    "planned_exits",
    "missing_exits",
    "extra_yuan_to_close",
    "projected_exits_mean",
    "projected_exits_p05",
    "projected_exits_p95",
    "p_met",
]
_TASK_SUMS = [
    "n_registered",
    "target_exits",
    "required_exits",
    "target_exits_in_year",
    "planned_exits",
    "missing_exits",
    "extra_yuan_to_close",
    "projected_exits_mean",
]


def _with_schedule_and_plan(
    out: pd.DataFrame, exit_targets: pd.DataFrame | None, shortfall: pd.DataFrame | None
) -> pd.DataFrame:
    """Add ``target_share, n_registered`` (schedule) and ``planned_exits, missing_exits,
    extra_yuan_to_close`` (allocation shortfall), ``nan`` where not given."""
    keys = ["county_id", "villages", "year"]
    wanted = [c for c in ("target_share", "n_registered") if c not in out.columns]
    if exit_targets is not None and wanted:
        extra = exit_targets[[*keys, *[c for c in wanted if c in exit_targets]]].copy()
        extra["county_id"] = extra["county_id"].astype(str)
        extra["villages"] = extra["villages"].astype(str)
        out = out.merge(extra, on=keys, how="left")
    for column in ("target_share", "n_registered"):
        if column not in out:
            out[column] = math.nan
    if "required_exits" not in out:  # what counts as meeting the target (the 3% allowance)
        out["required_exits"] = out["target_exits"]
    if shortfall is not None:
        plan = shortfall[[*keys, "projected_exits", "missing_exits", "extra_yuan_to_close"]].copy()
        plan = plan.rename(columns={"projected_exits": "planned_exits"})
        plan["county_id"] = plan["county_id"].astype(str)
        plan["villages"] = plan["villages"].astype(str)
        out = out.merge(plan, on=keys, how="left")
    else:
        out["planned_exits"] = math.nan
        out["missing_exits"] = math.nan
        out["extra_yuan_to_close"] = math.nan
    return out


def reduction_tasks(
    target_probability: pd.DataFrame,
    *,
    exit_targets: pd.DataFrame | None = None,
    shortfall: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Table 3: exit tasks by county and year — target, planned, projected, P(target met).

    Parameters
    ----------
    target_probability
        ``county_id, villages, year, target_exits, projected_exits_mean, projected_exits_p05,
        projected_exits_p95, p_met`` (cumulative households; Monte Carlo of the plan).
    exit_targets
        Optional ``county_id, villages, year, target_share, n_registered`` (adds the registered
        households and the schedule's share).
    shortfall
        Optional allocation shortfall ``county_id, villages, year, projected_exits,
        missing_exits, extra_yuan_to_close``: ``projected_exits`` is the allocation's planned
        cumulative exits.

    Returns
    -------
    DataFrame
        ``county_id, county, county_zh, villages, year, n_registered, target_share,
        target_exits`` (cumulative, the plan's number), ``required_exits`` (what counts as
        meeting it: fewer where a group exits "as a whole", the 3% allowance),
        ``target_exits_in_year, planned_exits, missing_exits,
        extra_yuan_to_close, projected_exits_mean, projected_exits_p05, projected_exits_p95,
        p_met``; then one city total row per year (``county_id`` = :data:`CITY_ID`, sums of
        households and money; ``p_met`` empty because probabilities do not add).
    """
    out = target_probability.copy()
    for key in ("county_id", "villages"):
        out[key] = out[key].astype(str)
    out = out[out["county_id"] != CITY_ID]  # city totals are recomputed below
    out["year"] = out["year"].astype("int64")
    out = _with_schedule_and_plan(out, exit_targets, shortfall)
    out = sort_groups(out)
    previous = out.groupby(["county_id", "villages"])["target_exits"].shift(1).fillna(0)
    out["target_exits_in_year"] = out["target_exits"] - previous
    out = out[_TASK_COLUMNS]
    totals = out.groupby("year")[_TASK_SUMS].sum(min_count=1).reset_index()
    totals["county_id"] = CITY_ID
    totals["villages"] = "all"
    totals["target_share"] = totals["target_exits"] / totals["n_registered"]
    out = pd.concat([out, totals[[c for c in _TASK_COLUMNS if c in totals]]], ignore_index=True)
    return add_names(out)


def three_tables(
    run: RunTables | None = None,
    /,
    *,
    households: pd.DataFrame | None = None,
    villages: pd.DataFrame | None = None,
    county_year: pd.DataFrame | None = None,
    target_probability: pd.DataFrame | None = None,
    exit_targets: pd.DataFrame | None = None,
    shortfall: pd.DataFrame | None = None,
    base_year: int = BASE_YEAR,
) -> dict[str, pd.DataFrame]:
    """The plan's three tables (§26) for one scenario.

    The tables come from ``run`` (a :class:`~fupinsim.pipeline.RunTables`); a table given by
    keyword instead wins (without ``run``, the first four are needed).

    Returns
    -------
    dict of str to DataFrame
        ``poor_distribution`` (:func:`poor_distribution`), ``income_targets``
        (:func:`income_targets`), ``reduction_tasks`` (:func:`reduction_tasks`).
    """
    households = required_from_run(run, "households", households, "three_tables")
    villages = required_from_run(run, "villages", villages, "three_tables")
    county_year = required_from_run(run, "county_year", county_year, "three_tables")
    target_probability = required_from_run(
        run, "target_probability", target_probability, "three_tables"
    )
    exit_targets = from_run(run, "exit_targets", exit_targets)
    shortfall = from_run(run, "shortfall", shortfall)
    return {
        "poor_distribution": poor_distribution(households, villages),
        "income_targets": income_targets(county_year, households=households, base_year=base_year),
        "reduction_tasks": reduction_tasks(
            target_probability, exit_targets=exit_targets, shortfall=shortfall
        ),
    }

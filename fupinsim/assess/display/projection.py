"""The projection's display tables (notebooks 02 and 04): targets, P(target met), plans compared.

Two sources, kept apart so that a number has one meaning (issue 14):

* the **run** — ``target_probability``, ``county_year``, ``immigrant_income``, ``assessment``,
  ``targeting``: the chosen plan simulated over every household with the run's replications,
  the numbers of ``report.html``, the guides and the workbook;
* the **plan comparison** — ``factor_comparison``, ``target_probability_plans``,
  ``county_year_plans``: the compared plans (:data:`COMPARED_PLANS`) simulated the same way
  over the registered households, to tell the plans apart. Their ``optimised`` rows are close to
  the run's but are a different simulation; the tables built from them say "plan comparison".

Probabilities are shown in % (whole numbers), households as whole numbers, incomes in yuan per
person per year.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import pandas as pd

from fupinsim.assess.display.absent import shown_if_in_run
from fupinsim.assess.labels import CITY_ID, county_label, group_label

if TYPE_CHECKING:  # the pipeline imports fupinsim.assess: no import cycle at run time
    from fupinsim.pipeline.results import RunTables

__all__ = [
    "COMPARED_PLANS",
    "EXIT_TARGET",
    "display_assessment",
    "display_immigrant_income_plans",
    "display_p_met",
    "display_p_met_plans",
    "display_plan_comparison",
    "display_plans_city",
    "display_remaining_by_plan",
    "display_targeting",
    "display_targets",
    "exit_target_rows",
    "is_exit_target",
    "plan_goal_rows",
]

logger = logging.getLogger(__name__)

#: The plans of the plan comparison, in the order the notebooks show them.
COMPARED_PLANS: tuple[str, ...] = ("baseline", "uniform_1230", "factor", "optimised")


def _percent(share: pd.Series) -> pd.Series:
    """A share (0-1) as whole percent."""
    return (share * 100).round(0).astype(int)


def _groups(frame: pd.DataFrame) -> list[str]:
    return [group_label(c, v) for c, v in zip(frame["county_id"], frame["villages"], strict=True)]


#: ``target`` of the exit targets' rows in ``target_probability`` (households); every other
#: value is one of the plan's goals (``immigrant_income``, ``village_exit``).
EXIT_TARGET = "exits"


def is_exit_target(frame: pd.DataFrame) -> pd.Series:
    """Per row of a P(met) table (``target_probability``, ``…_plans``, a what-if
    simulation's): ``True`` for an exit target (households), ``False`` for a plan goal (one
    year each, its own unit). A table without the ``target`` column holds exit targets only."""
    if "target" not in frame.columns:
        return pd.Series(True, index=frame.index)
    return frame["target"].astype(str) == EXIT_TARGET


def exit_target_rows(frame: pd.DataFrame) -> pd.DataFrame:
    """The exit targets' rows of a P(met) table (see :func:`is_exit_target`)."""
    return frame[is_exit_target(frame)]


def plan_goal_rows(frame: pd.DataFrame) -> pd.DataFrame:
    """The plan goals' rows of a P(met) table (see :func:`is_exit_target`)."""
    return frame[~is_exit_target(frame)]


def _years(frame: pd.DataFrame, first: int | None, last: int | None) -> pd.DataFrame:
    years = frame["year"]
    keep = years.between(
        years.min() if first is None else first, years.max() if last is None else last
    )
    return frame[keep]


def display_p_met(run: RunTables, first_year: int = 2015, last_year: int = 2017) -> pd.DataFrame:
    """P(target met) of the run (the report's numbers) by target group and year, in %.

    From ``target_probability``: the share of the run's replications in which the group's
    cumulative exits reach what counts as meeting the target by the end of the year. Exit
    targets only: the plan's goals (``target`` ``immigrant_income``, ``village_exit``) have one
    year and their own units, shown with the immigrants' income and the villages.
    """
    tp = _years(run.target_probability, first_year, last_year)
    tp = exit_target_rows(tp)
    table = tp.assign(target=_groups(tp), p_met=_percent(tp["p_met"])).pivot_table(
        index="target", columns="year", values="p_met", sort=False
    )
    table.columns.name = "P(target met), %"
    return table.astype(int)


def display_targets(
    run: RunTables, first_year: int | None = None, last_year: int | None = None
) -> pd.DataFrame:
    """Each exit target of the run with its projection (the report's Table 3 numbers).

    Households registered in 2014, the plan's target, the projected exits (mean and the 5-95 %
    range over the replications) and P(target met) in %, indexed by target group and year.
    """
    tp = _years(run.target_probability, first_year, last_year)
    tp = exit_target_rows(tp)
    targets = pd.DataFrame(
        {
            "target": _groups(tp),
            "year": tp["year"],
            "registered 2014": tp["n_registered"],
            "target exits": tp["target_exits"],
            "projected exits (mean)": tp["projected_exits_mean"].round(0).astype(int),
            "5 %": tp["projected_exits_p05"].round(0).astype(int),
            "95 %": tp["projected_exits_p95"].round(0).astype(int),
            "P(target met), %": _percent(tp["p_met"]),
        }
    )
    return targets.set_index(["target", "year"])


@shown_if_in_run("factor_comparison")
def display_plan_comparison(run: RunTables) -> pd.DataFrame:
    """The plan comparison side by side: cumulative exits 2015-2017 (mean), targets with
    P(met) of at least 90 % (the comparison table's threshold) and the mean P(met) in %, one
    row per plan."""
    comparison = run.factor_comparison.set_index("method")
    table = pd.DataFrame(
        {
            **{
                f"exits by {year}": comparison[f"simulated_exits_{year}"].round(0).astype(int)
                for year in (2015, 2016, 2017)
            },
            "targets with P(met) ≥ 90 %": comparison["targets_with_p_met_0_9"].astype(int),
            "mean P(met), %": _percent(comparison["mean_p_met"]),
        }
    )
    table.index.name = "plan (plan comparison)"
    return table


def _plans(frame: pd.DataFrame) -> list[str]:
    present = set(frame.columns)
    return [p for p in COMPARED_PLANS if p in present]


@shown_if_in_run("county_year_plans")
def display_remaining_by_plan(run: RunTables, year: int = 2017) -> pd.DataFrame:
    """Registered poor households remaining at the end of ``year`` by county and plan
    (median over the replications; the plan comparison)."""
    cy = run.county_year_plans
    rows = cy[
        (cy["indicator"] == "registered_remaining")
        & (cy["villages"] == "all")
        & (cy["year"] == year)
    ]
    table = rows.pivot_table(index="county_id", columns="plan", values="p50", sort=False)
    table = table[_plans(table)].round(0).astype(int)
    table.index = [county_label(c) for c in table.index]
    table.index.name = f"remaining end {year}, median (plan comparison)"
    return table


@shown_if_in_run("target_probability_plans")
def display_p_met_plans(
    run: RunTables, first_year: int = 2015, last_year: int = 2017
) -> pd.DataFrame:
    """P(target met) in % by target group, plan and year: the plan comparison (not the report's
    numbers, which :func:`display_p_met` shows)."""
    tp = _years(run.target_probability_plans, first_year, last_year)
    tp = exit_target_rows(tp[tp["plan"].isin(COMPARED_PLANS)])
    table = tp.assign(target=_groups(tp), p_met=_percent(tp["p_met"])).pivot_table(
        index="target", columns=["plan", "year"], values="p_met", sort=False
    )
    table = table[[p for p in COMPARED_PLANS if p in table.columns.get_level_values(0)]]
    table.columns.names = ["P(target met), % (plan comparison)", "year"]
    return table.astype(int)


@shown_if_in_run("county_year_plans")
def display_immigrant_income_plans(run: RunTables) -> pd.DataFrame:
    """Registered households of the immigrant villages: mean net income per person in 2014 and
    2017 (yuan per person per year) and their ratio (the goal is 2.0), by county and plan."""
    cy = run.county_year_plans
    income = cy[
        (cy["indicator"] == "mean_income_pc")
        & (cy["villages"] == "immigrant")
        & cy["year"].isin([2014, 2017])
        & cy["plan"].isin(COMPARED_PLANS)
    ]
    income = income.assign(county=[county_label(c) for c in income["county_id"]])
    table = income.pivot_table(index=["county", "plan"], columns="year", values="mean", sort=False)
    table["2017 / 2014"] = (table[2017] / table[2014]).round(2)
    table[[2014, 2017]] = table[[2014, 2017]].round(0).astype(int)
    table.index = table.index.set_names(["immigrant villages", "plan"])
    return table


@shown_if_in_run("county_year_plans")
def display_plans_city(run: RunTables, indicator: str, statistic: str, title: str) -> pd.DataFrame:
    """A city-wide indicator of ``county_year_plans`` by year and plan (households, rounded).

    ``indicator`` e.g. ``returns`` (households returning to poverty, ``statistic="mean"``) or
    ``registered_remaining`` (``"p50"``); ``title`` names the table's columns.
    """
    cy = run.county_year_plans
    city = cy[(cy["county_id"] == CITY_ID) & (cy["indicator"] == indicator)]
    table = city.pivot_table(index="year", columns="plan", values=statistic)
    table = table[_plans(table)].round(0).astype(int)
    table.columns.name = title
    return table


def display_assessment(run: RunTables) -> pd.DataFrame:
    """The county assessment (§20-22) by year and rank: income growth in % a year, targets due
    and missed, score (points of 100), rating and why."""
    a = run.assessment
    rated = pd.DataFrame(
        {
            "year": a["year"],
            "rank": a["rank"],
            "county": a["county"],
            "县区": a["county_zh"],
            "households' income growth, % a year": (a["growth_households"] * 100).round(1),
            "villages' income growth, % a year": (a["growth_villages"] * 100).round(1),
            "targets due": a["n_targets_due"],
            "targets missed": a["n_targets_missed"],
            "score": a["score"].round(1),
            "rating": a["rating"],
            "why": a["rating_note"],
        }
    )
    return rated.set_index(["year", "rank"])


def display_targeting(run: RunTables) -> pd.DataFrame:
    """The exit inspection's checks for the city by year: wrong exits and missed poor, in %."""
    targeting = run.targeting
    city = targeting[targeting["county_id"] == CITY_ID].set_index("year")
    return (
        (city[["wrong_exit_rate", "missed_poor_rate"]] * 100)
        .round(1)
        .rename(columns={"wrong_exit_rate": "wrong exits, %", "missed_poor_rate": "missed poor, %"})
    )

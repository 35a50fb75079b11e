"""A county's guide ("one guide", §26) and the public announcement (§17)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast

from fupinsim.assess import CountyGuide, group_label
from fupinsim.report.announcement import announcement_html  # re-exported: it was here
from fupinsim.report.columns import (
    ASSESSMENT_COLS,
    GUIDE_TASK_WIDE,
    HOUSEHOLD_COLS,
    PLAN_MEASURE_COLS,
    VILLAGE_COLS,
    WORK_COLS,
    measure_cols,
)
from fupinsim.report.formats import Col
from fupinsim.report.render import render, stylesheet
from fupinsim.report.tables import income_wide, money_table, table_html, wide_table_html

__all__ = ["announcement_html", "county_guide_html"]

# The announcement has its own module; it is re-exported here, where it was.


def _guide_facts(guide: CountyGuide) -> dict[str, int]:
    """Villages, poor villages, households and people of the county (its ``all`` rows)."""
    dist = guide.distribution
    totals = dist[dist["villages"] == "all"] if len(dist) else dist
    if len(dist) and totals.empty:
        totals = dist
    columns = {
        "Villages": "n_villages",
        "Poor villages": "n_poor_villages",
        "Poor households": "n_poor_households",
        "Poor people": "n_poor_people",
    }
    return {k: int(totals[c].sum()) if len(totals) else 0 for k, c in columns.items()}


def _guide_tables(g: CountyGuide, required: float) -> dict[str, Any]:
    tasks, assessment = g.reduction_tasks, g.assessment
    leading = (Col("n_registered", "Registered", "households 2014", "int"),)
    tables = {
        "tasks": wide_table_html(tasks, leading=leading, per_year=GUIDE_TASK_WIDE, low=required)
        if len(tasks)
        else "",
        "income": income_wide(g.income_targets) if len(g.income_targets) else "",
        "villages": table_html(g.villages, VILLAGE_COLS),
        "measures": table_html(g.measures, measure_cols(g.measures)) if len(g.measures) else "",
        "measure_units": table_html(g.measure_units, PLAN_MEASURE_COLS, units=False),
        "money": money_table(g.money),
        "works": table_html(g.works, WORK_COLS) if len(g.works) else "",
        "households": table_html(g.households, HOUSEHOLD_COLS),
        "plan_measures": table_html(g.plan_measures, PLAN_MEASURE_COLS, units=False),
        "assessment": "",
    }
    if assessment is not None and len(assessment):
        columns = (Col("year", "Year", "", "year"), *ASSESSMENT_COLS[2:])
        tables["assessment"] = table_html(assessment, columns)
    return tables


def county_guide_html(
    guide: CountyGuide,
    *,
    scenario: str = "",
    required_confidence: float = 0.9,
    links: Mapping[str, str] | None = None,
) -> str:
    """A county's poverty alleviation guide ("one guide", §26) as a self-contained page.

    Parameters
    ----------
    guide
        :func:`fupinsim.assess.county_guide` output.
    scenario
        Scenario id shown in the header.
    required_confidence
        P(met) under which task rows are highlighted.
    links
        Link text → relative href (back to the report, announcement).
    """
    tasks = guide.reduction_tasks
    lowest = None
    if len(tasks):
        worst = tasks.loc[cast(Any, tasks["p_met"].idxmin())]
        lowest = {
            "p": worst["p_met"],
            "good": worst["p_met"] >= required_confidence,
            "group": group_label(guide.county_id, worst["villages"]),
            "year": int(worst["year"]),
        }
    return render(
        "county_guide.html",
        title=f"Guide — {guide.county}",
        css=stylesheet(),
        guide=guide,
        scenario=scenario,
        links=links or {},
        facts=_guide_facts(guide),
        lowest=lowest,
        tables=_guide_tables(guide, required_confidence),
        n_households=len(guide.households),
    )

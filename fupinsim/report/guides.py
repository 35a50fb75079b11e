"""A county's guide ("one guide", §26) and the public announcement (§17)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast

import pandas as pd
from markupsafe import Markup

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
from fupinsim.report.naming import card_name
from fupinsim.report.render import inline_asset, render, stylesheet
from fupinsim.report.tables import (
    income_wide,
    money_table,
    table_html,
    wide_table_html,
    with_target_text,
)
from fupinsim.report.todo import AS_WHOLE_NOTE, what_to_do

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


def _household_pages(households: pd.DataFrame, cards: str | None) -> list[dict[str, Any]]:
    """The county's households, one page (table) per village, each id linking to its card.

    ``cards`` is the cards' folder relative to the guide (``None``: no links).
    """
    if not len(households):
        return []
    frame = households.copy()
    ids = frame["household_id"].astype("int64")
    frame["card"] = (
        [Markup('<a href="{}/{}">{}</a>').format(cards, card_name(i), i) for i in ids]
        if cards is not None
        else ids.astype(str)
    )
    columns = (Col("card", "Household (card)", "id", "html"), *HOUSEHOLD_COLS[1:])
    pages = []
    for _, part in frame.groupby("village_id", sort=False):
        name = str(part["village_name"].iloc[0])
        pages.append(
            {"name": name, "n": len(part), "table": table_html(part, columns, units=False)}
        )
    return pages


def _guide_tables(g: CountyGuide, required: float, cards: str | None) -> dict[str, Any]:
    tasks, assessment = g.reduction_tasks, g.assessment
    leading = (Col("n_registered", "Registered", "households 2014", "int"),)
    html = {
        "tasks": wide_table_html(
            with_target_text(tasks), leading=leading, per_year=GUIDE_TASK_WIDE, low=required
        )
        if len(tasks)
        else "",
        "income": income_wide(g.income_targets) if len(g.income_targets) else "",
        "villages": table_html(g.villages, VILLAGE_COLS),
        "measures": table_html(g.measures, measure_cols(g.measures)) if len(g.measures) else "",
        "measure_units": table_html(g.measure_units, PLAN_MEASURE_COLS, units=False),
        "money": money_table(g.money),
        "works": table_html(g.works, WORK_COLS) if len(g.works) else "",
        "households": _household_pages(g.households, cards),
        "plan_measures": table_html(g.plan_measures, PLAN_MEASURE_COLS, units=False),
        "assessment": "",
    }
    if assessment is not None and len(assessment):
        columns = (Col("year", "Year", "", "year"), *ASSESSMENT_COLS[2:])
        html["assessment"] = table_html(assessment, columns)
    return html


def county_guide_html(
    guide: CountyGuide,
    *,
    scenario: str = "",
    required_confidence: float = 0.9,
    links: Mapping[str, str] | None = None,
    recommendations: pd.DataFrame | None = None,
    as_whole_allowance: float = 0.03,
    cards: str | None = "../cards",
) -> str:
    """A county's poverty alleviation guide ("one guide", §26) as a self-contained page.

    The households are listed one village per page (a village selector, previous / next and a
    search box over every village; a small inline script, no files from elsewhere; printed, every
    village shows), each household id linking to its card.

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
    recommendations
        The run table ``recommendations``: the county's rows are its "What to do".
    as_whole_allowance
        The scenario's ``microsim.as_whole_allowance`` (share), for the targets' footnote.
    cards
        Folder of the household cards relative to the guide (``None``: ids without links).
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
        tables=_guide_tables(guide, required_confidence, cards),
        n_households=len(guide.households),
        todo=what_to_do(recommendations, guide.county_id),
        as_whole_note=AS_WHOLE_NOTE.format(allowance=as_whole_allowance),
        household_script=inline_asset("guide_households.js"),
    )

"""The scenario report (``templates/report.html``) and the comparison of scenarios."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

import pandas as pd
from markupsafe import Markup
from matplotlib.figure import Figure

from fupinsim.assess import ScenarioSummary
from fupinsim.assess.display import binds_sentence, shortfall_rows
from fupinsim.assess.labels import label_en, zh_words
from fupinsim.report.columns import ASSESSMENT_COLS, COMPARISON_COLS
from fupinsim.report.formats import TABLE_SPECS, Col, is_missing
from fupinsim.report.render import figure_html, render, stylesheet
from fupinsim.report.tables import compact_table, group_text, table_html
from fupinsim.report.todo import AS_WHOLE_NOTE, what_to_do
from fupinsim.report.uncertainty import uncertainty_context
from fupinsim.units import YUAN_PER_WAN

__all__ = ["AS_WHOLE_NOTE", "binds_sentence", "comparison_html", "failing_years", "report_html"]

_VERDICT_CSS = {"on track": "on-track", "at risk": "at-risk", "unlikely": "unlikely"}


def _wan_number(yuan: float) -> str:
    return "—" if is_missing(yuan) else f"{yuan / YUAN_PER_WAN:,.1f}"


def _years_text(years: list[int]) -> str:
    """``2015``, ``2015 and 2016``, ``2015, 2016 and 2017``."""
    words = [str(y) for y in years]
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def failing_years(summary: Mapping[str, Any], shortfall: pd.DataFrame | None) -> list[int]:
    """Years whose targets fail: a target group at risk in that year (P(met) below the required
    confidence) or a target the allocation misses."""
    years = {int(r["year"]) for r in summary.get("at_risk", [])}
    if shortfall is not None and len(shortfall) and "missing_exits" in shortfall:
        years |= {int(y) for y in shortfall.loc[shortfall["missing_exits"] > 0, "year"]}
    return sorted(years)


def _headline(
    summary: Mapping[str, Any],
    shortfall: pd.DataFrame | None = None,
    manifest: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The numbers and words of the report's first box (the title names the failing years);
    ``uncertainty``: how sure they are, from the run's ``manifest`` (``_uncertainty.html``)."""
    verdict = str(summary.get("verdict", ""))
    final = summary.get("final_year", "")
    failing = failing_years(summary, shortfall)
    which = _years_text(failing) if failing and verdict != "on track" else str(final)
    target = float(summary.get("target_exits", math.nan))
    projected = float(summary.get("projected_exits_mean", math.nan))
    allocated = float(summary.get("money_allocated_yuan", math.nan))
    missing = float(summary.get("money_missing_yuan", 0.0) or 0.0)
    p_final = summary.get("p_final_targets_met")
    title = {
        "on track": f"On track: the {final} targets will very likely be met",
        "at risk": f"At risk: the {which} targets may not all be met",
        "unlikely": f"Unlikely: the {which} targets will probably not all be met",
    }.get(verdict, str(summary.get("verdict_text", "")))
    return {
        "css": _VERDICT_CSS.get(verdict, ""),
        "title": title,
        "final": final,
        "p_all": float(summary.get("p_all_targets_met", math.nan)),
        "approx": str(summary.get("p_all_method", "")).startswith("approximate"),
        "p_class": "good" if verdict == "on track" else ("warn" if verdict == "at risk" else "bad"),
        "required": float(summary.get("required_confidence", 0.9)),
        "p_final": None if p_final is None else float(p_final),
        "target": target,
        "projected": projected,
        "share": f"{projected / target:.1%}" if target else "",
        "needed": _wan_number(allocated + missing if not math.isnan(allocated) else math.nan),
        "available": _wan_number(float(summary.get("money_available_yuan", math.nan))),
        "allocated": _wan_number(allocated),
        "missing": missing,
        "missing_text": _wan_number(missing),
        "cannot": int(summary.get("targets_money_cannot_close", 0) or 0),
        "uncertainty": uncertainty_context(manifest),
    }


def _assessment(assessment: pd.DataFrame | None) -> dict[str, Any] | None:
    """The final year's county assessment, ranked."""
    if assessment is None or not len(assessment):
        return None
    final = int(assessment["year"].max())
    rows = assessment[assessment["year"] == final].sort_values("rank").copy()
    rows["group"] = [group_text(c, "all") for c in rows["county_id"].astype(str)]
    return {"year": final, "table": table_html(rows, ASSESSMENT_COLS)}


#: The shortfall table of the report: the plan's target and what counts as meeting it.
_SHORTFALL_COLS = (
    Col("group", "Target group", "", "text"),
    Col("year", "Year", "", "year"),
    Col("plan_target_exits", "Plan's target", "households", "int"),
    Col("target_exits", "Counts as met ¹", "households", "int"),
    Col("projected_exits", "Planned", "households", "num"),
    Col("missing_exits", "Missing", "households", "num"),
    Col("extra_yuan_to_close", "Money to close", "wan yuan", "wan"),
    Col("binds", "What binds", "", "text", 40.0),
    Col("todo", "What to do", "", "text", 40.0),
)


def _shortfall(
    shortfall: pd.DataFrame | None,
    exit_targets: pd.DataFrame | None = None,
    recommendations: pd.DataFrame | None = None,
) -> Markup | None:
    """The targets the allocation misses: both numbers of the target, what binds (one planner
    sentence per row) and the first recommendation for it (:func:`shortfall_rows`, the table
    the notebooks show too)."""
    missed = shortfall_rows(shortfall, exit_targets, recommendations)
    if not len(missed):
        return None
    return table_html(missed, _SHORTFALL_COLS)


def _resource_words(message: Any) -> Any:
    """A shortfall's explanation with capacity codes (``greenhouse_builds``) in words."""
    if not isinstance(message, str):
        return message
    codes = zh_words("binding_resources")
    pattern = re.compile(r"\b(" + "|".join(map(re.escape, sorted(codes, key=len)[::-1])) + r")\b")
    return pattern.sub(lambda m: label_en("binding_resources", m.group(1)), message)


def _meta(manifest: Mapping[str, Any]) -> list[tuple[str, Any]]:
    keys = (("scenario_hash", "hash"), ("seed", "seed"), ("replications", "replications"))
    return [(label, manifest[key]) for key, label in (*keys, ("created", "run")) if key in manifest]


def report_html(
    *,
    summary: ScenarioSummary | Mapping[str, Any],
    tables: Mapping[str, pd.DataFrame],
    figures: Mapping[str, Figure | bytes],
    assessment: pd.DataFrame | None = None,
    links: Mapping[str, str] | None = None,
    guide_links: Mapping[str, str] | None = None,
    manifest: Mapping[str, Any] | None = None,
    shortfall: pd.DataFrame | None = None,
    recommendations: pd.DataFrame | None = None,
    exit_targets: pd.DataFrame | None = None,
    as_whole_allowance: float = 0.03,
) -> str:
    """The scenario report, one self-contained HTML page.

    Order: "What to do" (the run's recommendations), headline box (verdict, P(all targets
    met), households exiting, money needed vs available, target groups at risk), links, fan
    chart, P(met) heatmap, the three tables, county assessment, money figures, immigrants'
    income, the two pictures, notes.

    Parameters
    ----------
    summary
        :func:`fupinsim.assess.scenario_summary` output (or a mapping with its keys).
    tables
        The three tables (:func:`fupinsim.assess.three_tables`).
    figures
        Figures by stem (:func:`fupinsim.plots.report_figures`), or their PNG bytes already
        rendered; missing ones are skipped.
    assessment
        :func:`fupinsim.assess.county_assessment` output (the final year is shown).
    links
        Link text → relative href (workbook, announcement, CSV files).
    guide_links
        County name → relative href of its guide.
    manifest
        Run manifest (scenario hash, seed, replications, timings) shown in the header.
    shortfall
        Allocation shortfall (``county_id, villages, year, missing_exits,
        extra_yuan_to_close`` and, when present, ``binding_resource, message``): missed
        targets are listed under the shortfall figure.
    recommendations
        The run table ``recommendations`` ("What to do", first on the page).
    exit_targets
        The run table ``exit_targets``: the plan's number of each missed target next to what
        counts as meeting it (footnote ¹).
    as_whole_allowance
        The scenario's ``microsim.as_whole_allowance`` (share), for the footnote.
    """
    scenario = str(summary.get("scenario_id", ""))
    required = float(summary.get("required_confidence", 0.9))

    def figure(stem: str, heading: str, caption: str) -> Markup:
        return figure_html(figures.get(stem), caption, heading)

    three = [
        (TABLE_SPECS[name], compact_table(name, tables[name], required))
        for name in ("reduction_tasks", "income_targets", "poor_distribution")
        if name in tables
    ]
    return render(
        "report.html",
        title=f"fupinsim report — {scenario}",
        css=stylesheet(),
        scenario=scenario,
        scenario_title=str(summary.get("title", "")),
        meta=_meta(manifest or {}),
        headline=_headline(summary, shortfall, manifest),
        todo=what_to_do(recommendations),
        as_whole_note=AS_WHOLE_NOTE.format(allowance=as_whole_allowance),
        risks=summary.get("at_risk", []),
        links=links or {},
        guide_links=guide_links or {},
        figure=figure,
        three=three,
        assessment=_assessment(assessment),
        shortfall=_shortfall(shortfall, exit_targets, recommendations),
        p_all_method=summary.get("p_all_method", ""),
    )


#: The comparison table: COMPARISON_COLS with P(the final year's targets met) after P(all).
_COMPARISON_COLS = tuple(
    col
    for c in COMPARISON_COLS
    for col in (
        (c, Col("p_final_targets_met", "P(final targets met)", "probability", "share"))
        if c.name == "p_all_targets_met"
        else (c,)
    )
)


def comparison_html(
    comparison: pd.DataFrame,
    figure: Figure | None = None,
    *,
    links: Mapping[str, str] | None = None,
    required_confidence: float = 0.9,
) -> str:
    """All scenarios side by side: a chart and a table.

    Parameters
    ----------
    comparison
        :func:`fupinsim.assess.compare_scenarios` output.
    figure
        :func:`fupinsim.plots.scenario_comparison_chart` output.
    links
        Scenario id → relative href of its report.
    required_confidence
        P(met) under which cells are highlighted.
    """
    p_all = comparison["p_all_targets_met"].astype(float).fillna(0.0)
    all_zero = bool(len(comparison)) and bool((p_all <= 0).all())
    low_column = "p_final_targets_met" if all_zero else "p_all_targets_met"
    caption = (
        "Exits by the final year against the target, the exits the plan misses, fiscal cost, "
        "money missing to meet every target, and "
        + (
            "P(the final year's targets met): P(all targets met) is 0% in every scenario, so "
            "it cannot tell them apart."
            if all_zero
            else "P(all targets met)."
        )
    )
    return render(
        "comparison.html",
        title="fupinsim — scenario comparison",
        css=stylesheet(),
        n=len(comparison),
        links=links or {},
        figure=figure_html(figure, caption, "Comparison"),
        table=table_html(
            comparison, _COMPARISON_COLS, low=required_confidence, low_column=low_column
        ),
    )

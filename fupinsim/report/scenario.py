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
from fupinsim.assess.labels import label_en, zh_words
from fupinsim.report.columns import (
    ASSESSMENT_COLS,
    COMPARISON_COLS,
    SHORTFALL_COLS,
)
from fupinsim.report.formats import TABLE_SPECS, is_missing
from fupinsim.report.render import figure_html, render, stylesheet
from fupinsim.report.tables import compact_table, group_text, table_html
from fupinsim.units import YUAN_PER_WAN

__all__ = ["comparison_html", "report_html"]

_VERDICT_CSS = {"on track": "on-track", "at risk": "at-risk", "unlikely": "unlikely"}


def _wan_number(yuan: float) -> str:
    return "—" if is_missing(yuan) else f"{yuan / YUAN_PER_WAN:,.1f}"


def _headline(summary: Mapping[str, Any]) -> dict[str, Any]:
    """The numbers and words of the report's first box."""
    verdict = str(summary.get("verdict", ""))
    final = summary.get("final_year", "")
    target = float(summary.get("target_exits", math.nan))
    projected = float(summary.get("projected_exits_mean", math.nan))
    allocated = float(summary.get("money_allocated_yuan", math.nan))
    missing = float(summary.get("money_missing_yuan", 0.0) or 0.0)
    p_final = summary.get("p_final_targets_met")
    title = {
        "on track": f"On track: the {final} targets will very likely be met",
        "at risk": f"At risk: the {final} targets may not all be met",
        "unlikely": f"Unlikely: the {final} targets will probably not all be met",
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
    }


def _assessment(assessment: pd.DataFrame | None) -> dict[str, Any] | None:
    """The final year's county assessment, ranked."""
    if assessment is None or not len(assessment):
        return None
    final = int(assessment["year"].max())
    rows = assessment[assessment["year"] == final].sort_values("rank").copy()
    rows["group"] = [group_text(c, "all") for c in rows["county_id"].astype(str)]
    return {"year": final, "table": table_html(rows, ASSESSMENT_COLS)}


def _shortfall(shortfall: pd.DataFrame | None) -> Markup | None:
    """The targets the allocation misses, with what binds."""
    if shortfall is None or not len(shortfall) or "missing_exits" not in shortfall:
        return None
    missed = shortfall[shortfall["missing_exits"] > 0].copy()
    if not len(missed):
        return None
    missed["group"] = [
        group_text(str(c), str(v))
        for c, v in zip(missed["county_id"], missed["villages"], strict=True)
    ]
    if "message" in missed:
        missed["message"] = missed["message"].map(_resource_words)
    return table_html(missed, SHORTFALL_COLS)


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
) -> str:
    """The scenario report, one self-contained HTML page.

    Order: headline box (verdict, P(all targets met), households exiting, money needed vs
    available, target groups at risk), links, fan chart, P(met) heatmap, the three tables,
    county assessment, money figures, immigrants' income, the two pictures, notes.

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
        headline=_headline(summary),
        risks=summary.get("at_risk", []),
        links=links or {},
        guide_links=guide_links or {},
        figure=figure,
        three=three,
        assessment=_assessment(assessment),
        shortfall=_shortfall(shortfall),
        p_all_method=summary.get("p_all_method", ""),
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
    return render(
        "comparison.html",
        title="fupinsim — scenario comparison",
        css=stylesheet(),
        n=len(comparison),
        links=links or {},
        figure=figure_html(
            figure,
            "Exits by the final year against the target, fiscal cost, money "
            "missing to meet every target, and P(all targets met).",
            "Comparison",
        ),
        table=table_html(
            comparison, COMPARISON_COLS, low=required_confidence, low_column="p_all_targets_met"
        ),
    )

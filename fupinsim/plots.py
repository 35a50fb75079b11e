"""Figures a planner expects, each returned as a :class:`matplotlib.figure.Figure`.

Every function builds a figure with the object-oriented API (``Figure()``, no pyplot state),
never saves it and never shows it: the output layer (:mod:`fupinsim.io.report_files`) writes
PNG and SVG, notebooks display the returned object. Titles say what is shown and in which unit;
every axis is labelled; every figure with series has a legend (or a colour bar).

Colours are consistent across figures: one colour per county (:data:`COUNTY_COLORS`) and one per
package (:func:`package_colors`, by sorted package id). Figures use English only, so they render
on any machine without CJK fonts; Chinese names appear in the HTML reports.

The two maps are *schematic*: county seats at approximate positions (``fupinsim.data.counties``,
documented as ESTIMATE) and villages placed deterministically around their seat, not at their
true locations; each map says so.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Literal

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.colors import BoundaryNorm, ListedColormap
from matplotlib.figure import Figure
from matplotlib.legend import Legend
from matplotlib.lines import Line2D
from matplotlib.patches import Ellipse, Patch
from matplotlib.ticker import MaxNLocator

from fupinsim.assess import (
    CITY_ID,
    FUNDING_SOURCES,
    VILLAGE_GROUPS,
    county_label,
    group_label,
    package_label,
    village_infrastructure_works,
    village_summary,
)
from fupinsim.data import COUNTY_IDS, counties, immigrant_income_goal, poverty_line
from fupinsim.units import YUAN_PER_WAN

__all__ = [
    "COUNTY_COLORS",
    "SOURCE_LABELS",
    "allocation_chart",
    "fan_chart_remaining",
    "funding_chart",
    "immigrant_income_chart",
    "industrial_map",
    "infrastructure_map",
    "p_met_heatmap",
    "package_colors",
    "report_figures",
    "scenario_comparison_chart",
    "shortfall_chart",
    "village_positions",
]

#: One colour per county, from the Okabe-Ito colour-blind-safe palette (plus a brown).
COUNTY_COLORS: dict[str, str] = {
    "suzhou": "#0072B2",
    "yumen": "#D55E00",
    "dunhuang": "#CC79A7",
    "guazhou": "#E69F00",
    "jinta": "#009E73",
    "subei": "#56B4E9",
    "aksai": "#8C6D31",
}
# Package colours: the ten tab10 colours first (distinct even for neighbouring ids, such as the
# variants of one package), then their light tab20 partners.
_PACKAGE_PALETTE: tuple[str, ...] = (
    "#1F77B4",
    "#FF7F0E",
    "#2CA02C",
    "#D62728",
    "#9467BD",
    "#8C564B",
    "#E377C2",
    "#7F7F7F",
    "#BCBD22",
    "#17BECF",
    "#AEC7E8",
    "#FFBB78",
    "#98DF8A",
    "#FF9896",
    "#C5B0D5",
    "#C49C94",
    "#F7B6D2",
    "#C7C7C7",
    "#DBDB8D",
    "#9EDAE5",
)
#: Funding sources in words (contract ``funding.source``).
SOURCE_LABELS: dict[str, str] = FUNDING_SOURCES
_SOURCE_COLORS: dict[str, str] = {
    "earmark": "#1F77B4",
    "integrated_agriculture": "#2CA02C",
    "idle_recovery": "#9467BD",
    "provincial_transfer": "#FF7F0E",
    "pairing_donations": "#E377C2",
}
_TITLE_SIZE = 13
_LABEL_SIZE = 10
_SCHEMATIC_NOTE = (
    "Schematic map: county seats at approximate positions (ESTIMATE); villages are arranged "
    "around their county seat, not at their true locations."
)
_INK = "#222222"
_MUTED = "#666666"


# ----------------------------------------------------------------------------------------------
# Helpers


def _figure(width: float, height: float) -> Figure:
    fig = Figure(figsize=(width, height), layout="constrained", dpi=100)
    fig.patch.set_facecolor("white")
    return fig


def _style(ax: Axes, *, grid: Literal["x", "y", "both", ""] = "y") -> None:
    ax.spines[["top", "right"]].set_visible(False)
    ax.tick_params(labelsize=9, colors=_INK)
    if grid:
        ax.grid(axis=grid, color="#dddddd", linewidth=0.7)
        ax.set_axisbelow(True)


def _title(fig: Figure, title: str, subtitle: str = "") -> None:
    """Bold title at the top left, with an optional grey subtitle line under it."""
    # No explicit y: constrained layout then places the title and reserves its space. The
    # blank second title line reserves the subtitle's space.
    fig.suptitle(
        f"{title}\n" if subtitle else title,
        fontsize=_TITLE_SIZE,
        fontweight="bold",
        x=0.01,
        ha="left",
        color=_INK,
    )
    if subtitle:
        height = 72.0 * fig.get_figheight()  # points
        pad = 3.0  # constrained layout's default h_pad, points
        top = 1.0 - (pad + 1.25 * _TITLE_SIZE) / height
        fig.text(0.01, top, subtitle, fontsize=9.5, color=_MUTED, ha="left", va="top")


def _wan(values: pd.Series | np.ndarray | float) -> pd.Series | np.ndarray | float:
    return values / YUAN_PER_WAN


def _years_axis(ax: Axes, years: Iterable[int]) -> None:
    years = sorted({int(y) for y in years})
    ax.set_xticks(years)
    ax.set_xticklabels([str(y) for y in years])


def package_colors(package_ids: Iterable[str]) -> dict[str, str]:
    """Colour of each package: by sorted id, so the same catalogue gives the same colours."""
    ids = sorted({str(p) for p in package_ids})
    palette = list(_PACKAGE_PALETTE)
    return {p: palette[i % len(palette)] for i, p in enumerate(ids)}


def _county_ids(values: Iterable[str]) -> list[str]:
    present = {str(v) for v in values}
    return [c for c in COUNTY_IDS if c in present] + sorted(present - set(COUNTY_IDS))


def _no_data(fig: Figure, ax: Axes, message: str) -> None:
    ax.text(
        0.5,
        0.5,
        message,
        ha="center",
        va="center",
        fontsize=11,
        color=_MUTED,
        transform=ax.transAxes,
        wrap=True,
    )
    ax.set_xticks([])
    ax.set_yticks([])


def _county_series(county_year: pd.DataFrame, indicator: str) -> pd.DataFrame:
    """Quantiles of an indicator per county and year (the ``all`` group, else summed groups)."""
    part = county_year[county_year["indicator"] == indicator].copy()
    part["county_id"] = part["county_id"].astype(str)
    part["villages"] = part["villages"].astype(str)
    whole = part[part["villages"] == "all"]
    missing = set(part["county_id"]) - set(whole["county_id"])
    if missing:
        # Summing quantiles over groups widens the band (a conservative approximation).
        rest = part[part["county_id"].isin(missing)]
        summed = rest.groupby(["county_id", "year"], as_index=False)[
            ["mean", "p05", "p50", "p95"]
        ].sum()
        whole = pd.concat([whole, summed], ignore_index=True)
    return whole.sort_values(["county_id", "year"])


# ----------------------------------------------------------------------------------------------
# Fan chart: registered poor remaining vs the schedule


def _allowed_remaining(
    exit_targets: pd.DataFrame | None,
    target_probability: pd.DataFrame | None,
    base: pd.DataFrame,
) -> pd.DataFrame:
    """Households that may remain registered at the end of each year: registered − target."""
    if exit_targets is not None and len(exit_targets):
        et = exit_targets.copy()
        et["county_id"] = et["county_id"].astype(str)
        et["allowed"] = et["n_registered"] - et["target_exits"]
        return et.groupby(["county_id", "year"], as_index=False).agg(allowed=("allowed", "sum"))
    if target_probability is None or not len(target_probability):
        return pd.DataFrame(columns=["county_id", "year", "allowed"])
    tp = target_probability.copy()
    tp["county_id"] = tp["county_id"].astype(str)
    sums = tp.groupby(["county_id", "year"], as_index=False).agg(
        target_exits=("target_exits", "sum")
    )
    start = base.set_index("county_id")["p50"]
    sums["allowed"] = sums["county_id"].map(start) - sums["target_exits"]
    return sums[["county_id", "year", "allowed"]]


def fan_chart_remaining(
    county_year: pd.DataFrame,
    exit_targets: pd.DataFrame | None = None,
    *,
    target_probability: pd.DataFrame | None = None,
    required_confidence: float = 0.9,
    plan_years: tuple[int, int] = (2015, 2017),
) -> Figure:
    """Registered poor households remaining vs the plan's schedule, one panel per county.

    Parameters
    ----------
    county_year
        Rows with ``indicator == 'registered_remaining'`` (households; ``p05, p50, p95`` over
        replications), ``villages == 'all'`` per county (else the groups are summed).
    exit_targets
        ``county_id, villages, year, n_registered, target_exits``: the step line shows
        ``n_registered − target_exits`` summed over the county's groups (households that may
        remain at the end of the year).
    target_probability
        Optional ``county_id, year, p_met`` (panel titles give the county's lowest P(met)); also
        the targets when ``exit_targets`` is missing.
    required_confidence
        P(met) under which a panel title is flagged.
    plan_years
        First and last plan year (shaded).

    Returns
    -------
    Figure
        2 × 4 panels: seven counties and a legend panel.
    """
    series = _county_series(county_year, "registered_remaining")
    base = series[series["year"] == series["year"].min()]
    allowed = _allowed_remaining(exit_targets, target_probability, base)
    worst: dict[str, float] = {}
    if target_probability is not None and len(target_probability):
        tp = target_probability.copy()
        tp["county_id"] = tp["county_id"].astype(str)
        tp = tp[tp["county_id"] != CITY_ID]
        worst = {str(k): float(v) for k, v in tp.groupby("county_id")["p_met"].min().items()}
        if len(tp):
            worst[CITY_ID] = float(tp["p_met"].min())
    # The city panel (when the simulation gives city totals) comes first; its step line sums
    # the counties' targets.
    counties_only = allowed[allowed["county_id"] != CITY_ID]
    city_allowed = counties_only.groupby("year", as_index=False).agg(allowed=("allowed", "sum"))
    allowed = pd.concat([counties_only, city_allowed.assign(county_id=CITY_ID)], ignore_index=True)
    ids = _county_ids(series["county_id"])
    if CITY_ID in ids:
        ids = [CITY_ID] + [c for c in ids if c != CITY_ID]
    fig = _figure(13, 6.9 if len(ids) >= 8 else 6.6)
    axes = fig.subplots(2, 4)
    flat = list(axes.ravel())
    for ax, county in zip(flat, ids, strict=False):
        color = COUNTY_COLORS.get(county, "#444444")
        s = series[series["county_id"] == county]
        years = s["year"].to_numpy()
        ax.axvspan(plan_years[0] - 0.5, plan_years[1] + 0.5, color="#f2f2f2", zorder=0)
        ax.fill_between(years, s["p05"], s["p95"], color=color, alpha=0.25, linewidth=0)
        ax.plot(years, s["p50"], color=color, linewidth=2.2, marker="o", markersize=3.5)
        a = allowed[allowed["county_id"] == county].sort_values("year")
        if len(a):
            ax.step(
                a["year"], a["allowed"], where="post", color=_INK, linestyle="--", linewidth=1.3
            )
            ax.plot(a["year"], a["allowed"], linestyle="none", marker="v", color=_INK, markersize=5)
        title = "All counties" if county == CITY_ID else county_label(county, short=True)
        title_color = _INK
        if county in worst:
            title += f"  ·  min P(met) {worst[county]:.0%}"
            if worst[county] < required_confidence:
                title_color = "#B00020"
        ax.set_title(title, fontsize=10.5, color=title_color, loc="left", fontweight="bold")
        ax.set_ylim(bottom=0)
        ax.yaxis.set_major_locator(MaxNLocator(integer=True, nbins=5))
        _years_axis(ax, years)
        ax.set_xlabel("Year (end of)", fontsize=9)
        ax.set_ylabel("Households", fontsize=9)
        _style(ax)
        last = s.iloc[-1]
        ax.annotate(
            f"{last['p50']:,.0f}",
            (years[-1], last["p50"]),
            xytext=(3, 4),
            textcoords="offset points",
            fontsize=8.5,
            color=color,
        )
    for ax in flat[len(ids) :]:
        ax.axis("off")
    handles = [
        Patch(facecolor="#999999", alpha=0.35, label="5-95% range over replications"),
        Line2D(
            [],
            [],
            color="#555555",
            linewidth=2.2,
            marker="o",
            markersize=3.5,
            label="Median projection",
        ),
        Line2D(
            [],
            [],
            color=_INK,
            linestyle="--",
            marker="v",
            markersize=5,
            label="Plan: most that may remain\n(registered − cumulative target)",
        ),
        Patch(facecolor="#f2f2f2", edgecolor="#cccccc", label="Plan period"),
    ]
    legend_ax = flat[-1] if len(ids) < len(flat) else None
    if legend_ax is not None:
        legend_ax.legend(
            handles=handles,
            loc="center left",
            fontsize=9.5,
            frameon=False,
            title="How to read",
            title_fontsize=10,
        )
    else:
        fig.legend(handles=handles, loc="outside lower center", ncols=4, fontsize=9)
    _title(
        fig,
        "Registered poor households still in poverty vs the plan's exit schedule",
        "Households registered and not exited (net of returns), end of year; each county on "
        "its own scale",
    )
    return fig


# ----------------------------------------------------------------------------------------------
# P(target met) heatmap


def p_met_heatmap(target_probability: pd.DataFrame, *, required_confidence: float = 0.9) -> Figure:
    """P(exit target met) by target group (county, village group) and year.

    Parameters
    ----------
    target_probability
        ``county_id, villages, year, target_exits, p_met``.
    required_confidence
        Cells below it get a bold red value.
    """
    tp = target_probability.copy()
    tp["county_id"] = tp["county_id"].astype(str)
    tp["villages"] = tp["villages"].astype(str)
    groups = sorted(
        {(c, v) for c, v in zip(tp["county_id"], tp["villages"], strict=True)},
        key=lambda g: (
            COUNTY_IDS.index(g[0]) if g[0] in COUNTY_IDS else 99,
            VILLAGE_GROUPS.index(g[1]) if g[1] in VILLAGE_GROUPS else 9,
        ),
    )
    years = sorted(int(y) for y in tp["year"].unique())
    grid = np.full((len(groups), len(years)), np.nan)
    targets = np.full_like(grid, np.nan)
    for r in tp.to_dict("records"):
        i = groups.index((str(r["county_id"]), str(r["villages"])))
        j = years.index(int(r["year"]))
        grid[i, j] = float(r["p_met"])
        targets[i, j] = float(r["target_exits"])
    fig = _figure(8.5, 1.2 + 0.48 * max(len(groups), 3))
    ax = fig.subplots()
    cmap = ListedColormap(["#B2182B", "#EF8A62", "#FDDBC7", "#D1E5F0", "#67A9CF", "#2166AC"])
    norm = BoundaryNorm([0, 0.5, 0.7, 0.8, 0.9, 0.95, 1.0], cmap.N)
    image = ax.imshow(np.ma.masked_invalid(grid), cmap=cmap, norm=norm, aspect="auto")
    for i in range(len(groups)):
        for j in range(len(years)):
            if np.isnan(grid[i, j]):
                continue
            value = grid[i, j]
            dark = value < 0.5 or value >= 0.95
            low = value < required_confidence
            ax.text(
                j,
                i,
                f"{value:.0%}\n({targets[i, j]:,.0f} hh)",
                ha="center",
                va="center",
                fontsize=8.5,
                color="white" if dark else _INK,
                fontweight="bold" if low else "normal",
            )
    ax.set_xticks(range(len(years)), [str(y) for y in years])
    ax.set_yticks(range(len(groups)), [group_label(c, v, short=True) for c, v in groups])
    ax.set_xlabel("Year of the target (cumulative exits by the end of the year)", fontsize=9)
    ax.set_ylabel("Target group (county, villages)", fontsize=9)
    ax.tick_params(labelsize=9)
    for spine in ax.spines.values():
        spine.set_visible(False)
    ax.set_xticks(np.arange(-0.5, len(years)), minor=True)
    ax.set_yticks(np.arange(-0.5, len(groups)), minor=True)
    ax.grid(which="minor", color="white", linewidth=2)
    ax.tick_params(which="minor", length=0)
    bar = fig.colorbar(image, ax=ax, shrink=0.9, pad=0.02)
    bar.set_label("P(target met), share of replications", fontsize=9)
    bar.ax.yaxis.set_major_formatter(lambda x, _pos: f"{x:.0%}")
    _title(
        fig,
        "Probability that each exit target is met",
        f"Bold: below the required {required_confidence:.0%}; (hh) = cumulative target, households",
    )
    return fig


# ----------------------------------------------------------------------------------------------
# Immigrants' income


def immigrant_income_chart(
    immigrant_income: pd.DataFrame, *, poverty_lines: Mapping[int, float] | None = None
) -> Figure:
    """Immigrant villages' mean per-capita net income vs the doubling and 9,000-yuan goals.

    Parameters
    ----------
    immigrant_income
        ``year, mean, p05, p50, p95, goal_doubling, goal_level`` and optionally ``goal_path``
        (yuan per person per year). ``goal_doubling`` is the 2017 goal (twice the 2014
        income; a path if it varies by year); ``goal_path`` the 25 %-a-year path.
    poverty_lines
        Optional ``year -> line`` drawn for reference (default the packaged national line).
    """
    frame = immigrant_income.sort_values("year")
    years = frame["year"].astype(int).to_numpy()
    fig = _figure(12, 5.2)
    ax = fig.subplots()
    color = "#D55E00"
    ax.fill_between(
        years,
        frame["p05"],
        frame["p95"],
        color=color,
        alpha=0.2,
        linewidth=0,
        label="Projection, 5-95% range",
    )
    ax.plot(years, frame["p50"], color=color, linewidth=2.4, marker="o", label="Projection, median")
    goal_year = int(immigrant_income_goal()["target_year"])
    if "goal_path" in frame:
        # The plan's path runs to its target year; beyond it the plan sets no goal.
        on_path = frame["year"] <= goal_year
        ax.plot(
            years[on_path.to_numpy()],
            frame.loc[on_path, "goal_path"],
            color="#555555",
            linestyle="-.",
            linewidth=1.2,
            label="Path: +25% a year from 2014 (plan §2)",
        )
    doubling = frame["goal_doubling"].astype(float)
    if doubling.nunique() == 1:
        ax.axhline(
            float(doubling.iloc[0]),
            color=_INK,
            linestyle="--",
            linewidth=1.5,
            label="Goal: double the 2014 income by 2017 (plan §2)",
        )
    else:
        ax.plot(
            years,
            doubling,
            color=_INK,
            linestyle="--",
            linewidth=1.5,
            label="Goal: double the 2014 income by 2017 (plan §2)",
        )
    level = float(frame["goal_level"].iloc[0])
    ax.axhline(
        level,
        color="#2166AC",
        linestyle=":",
        linewidth=1.8,
        label=f"Goal: strive for {level:,.0f} yuan (plan §2)",
    )
    lines: dict[int, float] = dict(poverty_lines) if poverty_lines is not None else {}
    if poverty_lines is None:
        for y in years:
            try:
                lines[int(y)] = float(poverty_line(int(y)))
            except KeyError:
                continue
    if lines:
        ly = sorted(lines)
        ax.plot(
            ly,
            [lines[y] for y in ly],
            color="#888888",
            linewidth=1.2,
            label="National poverty line",
        )
    at_goal = frame[frame["year"] == goal_year]
    if len(at_goal):
        row = at_goal.iloc[0]
        ax.axvline(goal_year, color="#bbbbbb", linewidth=1, zorder=0)
        doubling_word = "reaches" if row["p50"] >= row["goal_doubling"] else "misses"
        level_word = "reaches" if row["p50"] >= row["goal_level"] else "misses"
        ax.annotate(
            f"{goal_year} median {row['p50']:,.0f} yuan:\n{doubling_word} the doubling goal "
            f"({row['goal_doubling']:,.0f}),\n{level_word} the {row['goal_level']:,.0f} goal",
            (goal_year, row["p50"]),
            xytext=(14, -42),
            textcoords="offset points",
            fontsize=9,
            color=_INK,
            arrowprops={"arrowstyle": "-", "color": color, "linewidth": 0.8},
            bbox={
                "boxstyle": "round,pad=0.3",
                "facecolor": "white",
                "edgecolor": color,
                "linewidth": 0.8,
            },
        )
    ax.set_xlabel("Year", fontsize=_LABEL_SIZE)
    ax.set_ylabel("Yuan per person per year", fontsize=_LABEL_SIZE)
    ax.yaxis.set_major_formatter(lambda x, _pos: f"{x:,.0f}")
    ax.set_ylim(bottom=0)
    _years_axis(ax, years)
    _style(ax)
    ax.legend(fontsize=9, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    _title(
        fig,
        "Immigrant villages: per-capita net income vs the plan's goals",
        "Mean income of all households in immigrant villages, yuan per person per year",
    )
    return fig


# ----------------------------------------------------------------------------------------------
# Money


def funding_chart(funding: pd.DataFrame, *, allocation: pd.DataFrame | None = None) -> Figure:
    """Money available by source and year (stacked bars) and by pool, in wan yuan.

    Parameters
    ----------
    funding
        ``pool, source, year, amount_yuan``.
    allocation
        Optional ``year, fiscal_yuan``: the plan's fiscal spending is marked on the bars.
    """
    fig = _figure(13, 5.2)
    ax, ax_pool = fig.subplots(1, 2, width_ratios=[1.5, 1])
    table = funding.astype({"amount_yuan": "float64"}).pivot_table(
        index="year", columns="source", values="amount_yuan", aggfunc="sum", fill_value=0.0
    )
    present = [str(s) for s in table.columns]
    sources = [s for s in SOURCE_LABELS if s in present] + sorted(
        s for s in present if s not in SOURCE_LABELS
    )
    years = table.index.astype(int).to_numpy()
    bottom = np.zeros(len(years))
    for source in sources:
        values = np.asarray(_wan(table[source].to_numpy()))
        ax.bar(
            years,
            values,
            bottom=bottom,
            width=0.6,
            label=SOURCE_LABELS.get(source, source),
            color=_SOURCE_COLORS.get(source, "#999999"),
            edgecolor="white",
            linewidth=0.6,
        )
        bottom += values
    for x, total in zip(years, bottom, strict=True):
        ax.annotate(
            f"{total:,.0f}",
            (x, total),
            xytext=(0, 9),
            textcoords="offset points",
            ha="center",
            va="bottom",
            fontsize=9,
            color=_INK,
        )
    if allocation is not None and len(allocation):
        spent = allocation.groupby("year")["fiscal_yuan"].sum()
        ax.plot(
            spent.index.astype(int),
            _wan(spent.to_numpy()),
            linestyle="none",
            marker="D",
            color=_INK,
            markersize=7,
            label="Fiscal money the plan spends",
        )
    ax.set_xlabel("Year", fontsize=_LABEL_SIZE)
    ax.set_ylabel("Wan yuan (10,000 yuan)", fontsize=_LABEL_SIZE)
    ax.yaxis.set_major_formatter(lambda x, _pos: f"{x:,.0f}")
    _years_axis(ax, years)
    _style(ax)
    ax.legend(fontsize=8.5, loc="upper left", bbox_to_anchor=(0, -0.12), ncols=2, frameon=False)
    ax.set_title("By source and year", fontsize=10.5, loc="left")
    pools = funding.groupby(funding["pool"].astype(str))["amount_yuan"].sum()
    order = ["city", *[c for c in COUNTY_IDS if c in pools.index]]
    order += sorted(p for p in pools.index if p not in order)
    pools = pools.reindex([p for p in order if p in pools.index])
    labels = [
        "City pool (any county)" if p == "city" else county_label(p, short=True)
        for p in pools.index
    ]
    colors = ["#555555" if p == "city" else COUNTY_COLORS.get(p, "#999999") for p in pools.index]
    positions = np.arange(len(pools))[::-1]
    ax_pool.barh(positions, _wan(pools.to_numpy()), color=colors, height=0.65)
    for y, v in zip(positions, pools.to_numpy() / YUAN_PER_WAN, strict=True):
        ax_pool.text(v, y, f" {v:,.0f}", va="center", fontsize=8.5, color=_INK)
    ax_pool.set_yticks(positions, labels)
    ax_pool.set_xlabel("Wan yuan (10,000 yuan), all years", fontsize=_LABEL_SIZE)
    ax_pool.set_ylabel("Pool", fontsize=_LABEL_SIZE)
    ax_pool.set_title("By pool (county money stays in its county)", fontsize=10.5, loc="left")
    ax_pool.xaxis.set_major_formatter(lambda x, _pos: f"{x:,.0f}")
    _style(ax_pool, grid="x")
    _title(
        fig,
        "Money available for poverty alleviation, by source, year and pool",
        "Wan yuan (10,000 yuan), current prices",
    )
    return fig


def _county_of_allocation(allocation: pd.DataFrame) -> pd.DataFrame:
    out = allocation.copy()
    out["county_id"] = out["county_id"].astype(str)
    out["package_id"] = out["package_id"].astype(str)
    return out


def allocation_chart(
    allocation: pd.DataFrame, *, package_labels: Mapping[str, str] | None = None
) -> Figure:
    """Allocation by county and package: households supported and fiscal money (wan yuan).

    Parameters
    ----------
    allocation
        ``county_id, package_id, households, fiscal_yuan`` (summed over village groups and years).
    package_labels
        Optional readable package names.
    """
    alloc = _county_of_allocation(allocation)
    ids = _county_ids(alloc["county_id"])
    packages = sorted(alloc["package_id"].unique())
    colors = package_colors(packages)
    fig = _figure(13, 1.6 + 0.55 * max(len(ids), 4))
    ax_h, ax_m = fig.subplots(1, 2, sharey=True)
    positions = np.arange(len(ids))[::-1]
    for ax, column, scale in ((ax_h, "households", 1.0), (ax_m, "fiscal_yuan", YUAN_PER_WAN)):
        table = (
            alloc.astype({column: "float64"})
            .pivot_table(
                index="county_id",
                columns="package_id",
                values=column,
                aggfunc="sum",
                fill_value=0.0,
            )
            .reindex(ids, fill_value=0.0)
        )
        left = np.zeros(len(ids))
        for package in packages:
            values = table.get(package, pd.Series(0.0, index=ids)).to_numpy() / scale
            ax.barh(
                positions,
                values,
                left=left,
                color=colors[package],
                height=0.65,
                label=package_label(package, package_labels),
                edgecolor="white",
                linewidth=0.5,
            )
            left += values
        for y, total in zip(positions, left, strict=True):
            ax.text(total, y, f" {total:,.0f}", va="center", fontsize=8.5, color=_INK)
        _style(ax, grid="x")
        ax.xaxis.set_major_formatter(lambda x, _pos: f"{x:,.0f}")
    ax_h.set_yticks(positions, [county_label(c, short=True) for c in ids])
    ax_h.set_xlabel("Households supported (all plan years)", fontsize=_LABEL_SIZE)
    ax_m.set_xlabel("Fiscal money, wan yuan (10,000 yuan)", fontsize=_LABEL_SIZE)
    ax_h.set_ylabel("County", fontsize=_LABEL_SIZE)
    ax_m.set_ylabel("County", fontsize=_LABEL_SIZE)
    ax_h.set_title("Households supported", fontsize=10.5, loc="left")
    ax_m.set_title("Fiscal money", fontsize=10.5, loc="left")
    handles, labels = ax_h.get_legend_handles_labels()
    fig.legend(
        handles,
        labels,
        loc="outside lower center",
        ncols=min(len(packages), 3 if max(map(len, labels), default=0) > 28 else 5),
        fontsize=9,
        frameon=False,
        title="Package",
    )
    _title(
        fig,
        "Allocation of support by county and package",
        "Households and fiscal money (wan yuan), summed over village groups and plan years",
    )
    return fig


def shortfall_chart(shortfall: pd.DataFrame) -> Figure:
    """Exit targets the plan cannot reach and the money that would close them.

    Parameters
    ----------
    shortfall
        ``county_id, villages, year, missing_exits`` (households) and ``extra_yuan_to_close``.
    """
    sf = shortfall.copy()
    sf["county_id"] = sf["county_id"].astype(str)
    sf["villages"] = sf["villages"].astype(str)
    short = sf[sf["missing_exits"] > 0]
    n_bars = len(short) if len(short) else 2
    fig = _figure(12, min(9.0, 2.3 + 0.38 * n_bars))
    ax_n, ax_m = fig.subplots(1, 2, sharey=True)
    if short.empty:
        for ax in (ax_n, ax_m):
            _no_data(fig, ax, "No shortfall: the plan reaches every county-year target")
        ax_n.set_xlabel("Missing exits (households)", fontsize=_LABEL_SIZE)
        ax_m.set_xlabel("Extra money to close, wan yuan (10,000 yuan)", fontsize=_LABEL_SIZE)
        ax_n.set_ylabel("Target group", fontsize=_LABEL_SIZE)
        ax_m.set_ylabel("Target group", fontsize=_LABEL_SIZE)
        _title(
            fig,
            "Shortfalls: exits missing from the plan, and money to close them",
            "Households and wan yuan by target group and year",
        )
        return fig
    groups = sorted(
        {(c, v) for c, v in zip(short["county_id"], short["villages"], strict=True)},
        key=lambda g: (COUNTY_IDS.index(g[0]) if g[0] in COUNTY_IDS else 99, g[1]),
    )
    years = sorted(int(y) for y in short["year"].unique())
    height = 0.8 / len(years)
    year_colors = dict(
        zip(years, ["#FDB863", "#E66101", "#5E3C99", "#B2ABD2", "#1B7837"], strict=False)
    )
    base = np.arange(len(groups))[::-1].astype(float)
    for k, year in enumerate(years):
        part = short[short["year"] == year].set_index(["county_id", "villages"])
        n = np.array([float(part["missing_exits"].get(g, 0.0)) for g in groups])
        m = np.array([float(part["extra_yuan_to_close"].get(g, 0.0)) for g in groups])
        y = base + (len(years) / 2 - k - 0.5) * height
        color = year_colors.get(year, "#999999")
        ax_n.barh(y, n, height=height * 0.95, color=color, label=str(year))
        ax_m.barh(
            y, np.nan_to_num(m / YUAN_PER_WAN), height=height * 0.95, color=color, label=str(year)
        )
        for yy, value in zip(y, n, strict=True):
            if value:
                ax_n.text(value, yy, f" {value:,.0f}", va="center", fontsize=8.5)
        for yy, value, gap in zip(y, m / YUAN_PER_WAN, n, strict=True):
            if math.isnan(value) and gap:
                # No amount of money closes this gap (the allocation says what binds).
                ax_m.text(
                    0,
                    yy,
                    " money alone cannot close it",
                    va="center",
                    fontsize=8.5,
                    color="#B00020",
                )
            elif value:
                ax_m.text(value, yy, f" {value:,.1f}", va="center", fontsize=8.5)
    ax_n.set_yticks(base, [group_label(c, v, short=True) for c, v in groups])
    ax_n.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax_n.set_xlabel("Missing exits (households)", fontsize=_LABEL_SIZE)
    ax_m.set_xlabel("Extra money to close, wan yuan (10,000 yuan)", fontsize=_LABEL_SIZE)
    ax_n.set_ylabel("Target group", fontsize=_LABEL_SIZE)
    ax_m.set_ylabel("Target group", fontsize=_LABEL_SIZE)
    for ax in (ax_n, ax_m):
        _style(ax, grid="x")
    ax_n.legend(title="Year", fontsize=9, frameon=False, loc="lower right")
    finite = short["extra_yuan_to_close"].astype(float)
    if not (finite > 0).any():
        # Money closes none of the gaps: an axis without a scale, only the notes.
        ax_m.set_xlim(0, 1)
        ax_m.set_xticks([])
    _title(
        fig,
        "Shortfalls: exits missing from the plan, and money to close them",
        "Cumulative exits below the target at the end of each year; groups without a "
        "shortfall are not shown",
    )
    return fig


# ----------------------------------------------------------------------------------------------
# Schematic maps


def _seats() -> pd.DataFrame:
    return counties()[["seat_lon", "seat_lat"]].astype(float)


def _cluster_radius(seats: pd.DataFrame) -> dict[str, float]:
    """Radius (degrees) of each county's village cluster: apart from its nearest neighbour."""
    out = {}
    lon, lat = seats["seat_lon"].to_numpy(), seats["seat_lat"].to_numpy()
    kx = math.cos(math.radians(float(lat.mean())))
    for i, county in enumerate(seats.index):
        d = np.hypot((lon - lon[i]) * kx, lat - lat[i])
        d[i] = np.inf
        out[str(county)] = float(min(0.26, 0.42 * d.min()))
    return out


def village_positions(villages: pd.DataFrame) -> pd.DataFrame:
    """Schematic position of each village: a sunflower spiral around its county seat.

    Deterministic (by village order), so the same registry draws the same map.

    Returns
    -------
    DataFrame
        ``village_id, lon, lat`` (degrees; schematic, not true locations).
    """
    seats = _seats()
    radius = _cluster_radius(seats)
    kx = math.cos(math.radians(float(seats["seat_lat"].mean())))
    golden = math.pi * (3 - math.sqrt(5))
    seat_of = {
        str(k): (float(v["seat_lon"]), float(v["seat_lat"]))
        for k, v in seats.to_dict("index").items()
    }
    rows = []
    for county, part in villages.groupby(villages["county_id"].astype(str), sort=False):
        ids = part.sort_values("village_id")["village_id"].to_numpy()
        n = len(ids)
        # An unknown county id goes to the middle of the city.
        lon0, lat0 = seat_of.get(str(county), (96.5, 40.0))
        r_max = radius.get(str(county), 0.2)
        for k, vid in enumerate(ids):
            # Start off the seat (k + 1) so that no village hides the seat's star.
            r = r_max * math.sqrt((k + 1) / (n + 0.5))
            angle = k * golden
            rows.append(
                {
                    "village_id": vid,
                    "lon": lon0 + r * math.cos(angle) / kx,
                    "lat": lat0 + r * math.sin(angle),
                }
            )
    return pd.DataFrame(rows, columns=["village_id", "lon", "lat"])


def _map_base(ax: Axes, shown: Sequence[str]) -> None:
    seats = _seats()
    radius = _cluster_radius(seats)
    kx = math.cos(math.radians(float(seats["seat_lat"].mean())))
    for seat, (lon, lat) in seats.iterrows():
        county = str(seat)
        color = COUNTY_COLORS.get(county, "#777777")
        r = radius[county] * 1.06
        # A circle on the ground: r degrees of latitude, r / cos(lat) degrees of longitude.
        ax.add_patch(
            Ellipse(
                (lon, lat),
                2 * r / kx,
                2 * r,
                facecolor=color,
                alpha=0.07,
                edgecolor=color,
                linewidth=1.0,
            )
        )
        ax.plot(
            lon,
            lat,
            marker="*",
            color=_INK,
            markersize=8,
            zorder=6,
            linestyle="none",
            markeredgecolor="white",
            markeredgewidth=0.6,
        )
        ax.annotate(
            county_label(county, short=True),
            (lon, lat + r),
            xytext=(0, 3),
            textcoords="offset points",
            ha="center",
            va="bottom",
            fontsize=10,
            fontweight="bold",
            color=color if county in shown else "#999999",
        )
    lons, lats = seats["seat_lon"], seats["seat_lat"]
    ax.set_xlim(lons.min() - 0.55, lons.max() + 0.55)
    ax.set_ylim(lats.min() - 0.45, lats.max() + 0.5)
    ax.set_aspect(1.0 / kx)
    ax.set_xlabel("Longitude, °E (approximate)", fontsize=9)
    ax.set_ylabel("Latitude, °N (approximate)", fontsize=9)
    ax.tick_params(labelsize=8, colors=_MUTED)
    for spine in ax.spines.values():
        spine.set_color("#cccccc")
    ax.text(
        0.01, 0.015, _SCHEMATIC_NOTE, transform=ax.transAxes, fontsize=8, color=_MUTED, va="bottom"
    )


def _size(values: np.ndarray | pd.Series, vmax: float) -> np.ndarray:
    """Marker area (points²) proportional to households, 12 to 260."""
    v = np.asarray(values, dtype=float)
    return 12.0 + 248.0 * v / max(vmax, 1.0)


def _size_legend(vmax: float, what: str) -> list[Line2D]:
    steps = [vmax / 4, vmax / 2, vmax]
    nice = [max(1, round(float(v), -1 if v >= 20 else 0)) for v in steps]
    return [
        Line2D(
            [],
            [],
            linestyle="none",
            marker="o",
            markerfacecolor="#bbbbbb",
            markeredgecolor="#555555",
            markersize=math.sqrt(float(_size(np.array([n]), vmax)[0])),
            label=f"{n:,.0f} {what}",
        )
        for n in dict.fromkeys(nice)
    ]


def _map_layout() -> tuple[Figure, Axes, Axes, Axes]:
    """Map across the top; below it a bar chart (left) and a legend panel (right).

    Two subfigures, so that the bar chart's long labels do not narrow the map.
    """
    fig = _figure(13, 9.6)
    parts = np.asarray(fig.subfigures(2, 1, height_ratios=[2.2, 1.35]), dtype=object).ravel()
    top, bottom = parts[0], parts[1]
    ax_map = top.subplots()
    ax_bar, ax_legend = bottom.subplots(1, 2, width_ratios=[1.5, 1])
    ax_legend.axis("off")
    return fig, ax_map, ax_bar, ax_legend


def _map_legends(
    ax_map: Axes,
    ax_panel: Axes,
    colour_handles: list[Patch],
    colour_title: str,
    size_handles: list[Line2D],
    size_title: str,
) -> None:
    """The colour legend (with the county seat) in the legend panel; the size legend inside
    the map's empty south-east corner."""
    seat = Line2D(
        [], [], marker="*", color=_INK, linestyle="none", markersize=8, label="County seat"
    )
    handles = [*colour_handles, seat]
    colours = Legend(
        ax_panel,
        handles,
        [str(h.get_label()) for h in handles],
        title=colour_title,
        fontsize=9,
        title_fontsize=9.5,
        loc="upper left",
        ncols=2 if len(handles) > 8 else 1,
        frameon=False,
        alignment="left",
        columnspacing=1.2,
    )
    ax_panel.add_artist(colours)
    ax_map.legend(
        handles=size_handles,
        title=size_title,
        fontsize=8.5,
        title_fontsize=9,
        loc="lower right",
        bbox_to_anchor=(0.99, 0.07),
        ncols=len(size_handles),
        frameon=True,
        framealpha=0.9,
        edgecolor="#dddddd",
        columnspacing=1.4,
        handletextpad=0.6,
        borderpad=0.8,
        alignment="left",
    )


def industrial_map(
    households: pd.DataFrame,
    villages: pd.DataFrame,
    household_plans: pd.DataFrame,
    *,
    package_labels: Mapping[str, str] | None = None,
) -> Figure:
    """Industrial project layout map (plan §26, picture 1): which packages go where.

    Villages (schematic positions) coloured by their dominant planned package and sized by
    households supported; beside it, households supported by package and county.

    Parameters
    ----------
    households
        ``household_id, village_id, county_id, n_members, is_registered, income_pc``.
    villages
        ``village_id, village_name, county_id, is_immigrant, is_poor_village``.
    household_plans
        ``household_id, package_id`` (and costs).
    package_labels
        Optional readable package names.
    """
    summary = village_summary(households, villages, household_plans=household_plans)
    supported = summary[summary["n_supported"] > 0].merge(
        village_positions(villages), on="village_id"
    )
    plans = household_plans.merge(households[["household_id", "county_id"]], on="household_id")
    plans["county_id"] = plans["county_id"].astype(str)
    colors = package_colors(plans["package_id"].astype(str))
    fig, ax_map, ax_bar, ax_legend = _map_layout()
    shown = sorted(set(supported["county_id"]))
    _map_base(ax_map, shown)
    vmax = float(supported["n_supported"].max()) if len(supported) else 1.0
    ax_map.scatter(
        supported["lon"],
        supported["lat"],
        s=_size(supported["n_supported"], vmax),
        c=[colors.get(str(p), "#999999") for p in supported["dominant_package"]],
        edgecolors="white",
        linewidths=0.7,
        alpha=0.95,
        zorder=4,
    )
    ax_map.set_title(
        "Dominant package by village (marker area = households supported)",
        fontsize=10.5,
        loc="left",
    )
    package_handles = [
        Patch(facecolor=colors[p], label=package_label(p, package_labels)) for p in colors
    ]
    _map_legends(
        ax_map,
        ax_legend,
        package_handles,
        "Dominant package",
        _size_legend(vmax, "households"),
        "Households supported",
    )
    ids = _county_ids(plans["county_id"])
    table = plans.pivot_table(
        index="county_id",
        columns="package_id",
        values="household_id",
        aggfunc="count",
        fill_value=0,
    ).reindex(ids, fill_value=0)
    positions = np.arange(len(ids))[::-1]
    left = np.zeros(len(ids))
    for package in colors:
        values = table.get(package, pd.Series(0, index=ids)).to_numpy(dtype=float)
        ax_bar.barh(
            positions,
            values,
            left=left,
            color=colors[package],
            height=0.65,
            edgecolor="white",
            linewidth=0.5,
        )
        left += values
    for y, total in zip(positions, left, strict=True):
        ax_bar.text(total, y, f" {total:,.0f}", va="center", fontsize=8.5)
    ax_bar.set_yticks(positions, [county_label(c, short=True) for c in ids])
    ax_bar.set_xlabel("Households supported", fontsize=_LABEL_SIZE)
    ax_bar.set_ylabel("County", fontsize=_LABEL_SIZE)
    ax_bar.set_title("Households by package and county", fontsize=10.5, loc="left")
    _style(ax_bar, grid="x")
    _title(
        fig,
        "Industrial project layout: support packages by village and county",
        "Households with a planned package ('one household, one plan'); all plan years",
    )
    return fig


_GAP_BINS = (0, 1, 3, 5, 99)
_GAP_COLORS = ("#1A9850", "#FEE08B", "#FC8D59", "#D73027")
_GAP_LABELS = ("none", "1-2", "3-4", "5 or more")


def infrastructure_map(
    villages: pd.DataFrame,
    households: pd.DataFrame | None = None,
    *,
    village_works: pd.DataFrame | None = None,
) -> Figure:
    """Infrastructure layout map (plan §26, picture 2): village gaps and planned works.

    Villages (schematic positions) coloured by the number of works planned by 2017 and sized
    by households; beside it, the planned works by type and county.

    Parameters
    ----------
    villages
        ``village_id, county_id, is_immigrant, is_poor_village, n_households`` and ``has_*``.
    households
        Optional registry households (sizes from the registry instead of ``n_households``).
    village_works
        Optional pipeline village works (see
        :func:`fupinsim.assess.village_infrastructure_works`).
    """
    works = village_infrastructure_works(villages, village_works)
    planned = works[works["planned"]]
    counts = planned.groupby("village_id").size()
    frame = villages[["village_id", "county_id", "n_households"]].copy()
    frame["county_id"] = frame["county_id"].astype(str)
    if households is not None:
        frame["n_households"] = (
            frame["village_id"]
            .map(households.groupby("village_id").size())
            .fillna(frame["n_households"])
        )
    frame["n_planned"] = frame["village_id"].map(counts).fillna(0).astype(int)
    frame = frame.merge(village_positions(villages), on="village_id")
    cls = np.digitize(frame["n_planned"], _GAP_BINS[1:-1])
    fig, ax_map, ax_bar, ax_legend = _map_layout()
    _map_base(ax_map, sorted(set(frame["county_id"])))
    vmax = float(frame["n_households"].max()) if len(frame) else 1.0
    ax_map.scatter(
        frame["lon"],
        frame["lat"],
        s=_size(frame["n_households"], vmax),
        c=[_GAP_COLORS[k] for k in cls],
        edgecolors="#555555",
        linewidths=0.5,
        zorder=4,
    )
    ax_map.set_title(
        "Works planned per village (marker area = households)", fontsize=10.5, loc="left"
    )
    gap_handles = [
        Patch(facecolor=c, edgecolor="#555555", label=f"{lab} works")
        for c, lab in zip(_GAP_COLORS, _GAP_LABELS, strict=True)
    ]
    _map_legends(
        ax_map,
        ax_legend,
        gap_handles,
        "Works planned by 2017",
        _size_legend(vmax, "households"),
        "Village size",
    )
    kinds = list(dict.fromkeys(planned["work"])) if len(planned) else []
    ids = _county_ids(planned["county_id"]) if len(planned) else []
    positions = np.arange(len(kinds))[::-1]
    left = np.zeros(len(kinds))
    for county in ids:
        part = planned[planned["county_id"] == county].groupby("work").size()
        values = np.array([float(part.get(k, 0)) for k in kinds])
        ax_bar.barh(
            positions,
            values,
            left=left,
            color=COUNTY_COLORS.get(county, "#999999"),
            height=0.65,
            label=county_label(county, short=True),
            edgecolor="white",
            linewidth=0.5,
        )
        left += values
    for y, total in zip(positions, left, strict=True):
        ax_bar.text(total, y, f" {total:,.0f}", va="center", fontsize=8.5)
    if kinds:
        sections = dict(zip(planned["work"], planned["section"], strict=False))
        ax_bar.set_yticks(positions, [f"{k}  §{sections[k]}" for k in kinds])
        # The county colours go in the legend panel, between the map legends.
        handles, labels = ax_bar.get_legend_handles_labels()
        counties_legend = Legend(
            ax_legend,
            handles,
            labels,
            title="County (bars)",
            fontsize=9,
            title_fontsize=9.5,
            frameon=False,
            loc="lower left",
            ncols=3,
            alignment="left",
        )
        ax_legend.add_artist(counties_legend)
    else:
        _no_data(fig, ax_bar, "No planned works: every village has what the plan requires")
    ax_bar.set_xlabel("Villages needing the work", fontsize=_LABEL_SIZE)
    ax_bar.set_ylabel("Work (plan §)", fontsize=_LABEL_SIZE)
    ax_bar.set_title("Planned works by type and county", fontsize=10.5, loc="left")
    _style(ax_bar, grid="x")
    _title(
        fig,
        "Infrastructure layout: village gaps and works planned by 2017",
        "Roads and buses §7(2), safe water §7(1), power §7(4), broadband §7(6), clinics §9, "
        "culture rooms §10, cooperatives §6(5), mutual-aid funds §12",
    )
    return fig


# ----------------------------------------------------------------------------------------------
# Scenario comparison


def scenario_comparison_chart(
    comparison: pd.DataFrame, *, required_confidence: float = 0.9
) -> Figure:
    """Scenarios side by side: exits, fiscal cost, money missing, P(all targets met).

    Parameters
    ----------
    comparison
        :func:`fupinsim.assess.compare_scenarios` output (``scenario_id, target_exits,
        projected_exits_mean, cost_fiscal_yuan, money_missing_yuan, p_all_targets_met``).
    required_confidence
        Reference line on the probability panel.
    """
    frame = comparison.reset_index(drop=True)
    n = len(frame)
    fig = _figure(14, 1.8 + 0.5 * max(n, 3))
    axes = fig.subplots(1, 4, sharey=True)
    positions = np.arange(n)[::-1]
    names = frame["scenario_id"].astype(str).tolist()
    panels = (
        ("projected_exits_mean", "Households exiting by the final year", 1.0, "#4E79A7", "{:,.0f}"),
        ("cost_fiscal_yuan", "Fiscal cost, wan yuan", YUAN_PER_WAN, "#59A14F", "{:,.0f}"),
        (
            "money_missing_yuan",
            "Money missing to meet targets, wan yuan",
            YUAN_PER_WAN,
            "#E15759",
            "{:,.1f}",
        ),
        ("p_all_targets_met", "P(all targets met)", 1.0, "#F28E2B", "{:.0%}"),
    )
    for ax, (column, label, scale, color, fmt) in zip(axes, panels, strict=True):
        values = frame[column].astype(float).to_numpy() / scale
        ax.barh(positions, np.nan_to_num(values), color=color, height=0.6)
        for y, v in zip(positions, values, strict=True):
            if not math.isnan(v):
                ax.text(v, y, " " + fmt.format(v), va="center", fontsize=8.5)
        ax.set_xlabel(label, fontsize=9.5)
        _style(ax, grid="x")
    axes[0].plot(
        frame["target_exits"].astype(float),
        positions,
        linestyle="none",
        marker="|",
        markersize=18,
        markeredgewidth=2.5,
        color=_INK,
        label="Target",
    )
    axes[3].axvline(
        required_confidence,
        color=_INK,
        linestyle="--",
        linewidth=1.2,
        label=f"Required {required_confidence:.0%}",
    )
    axes[3].set_xlim(0, 1.12)
    axes[3].xaxis.set_major_formatter(lambda x, _pos: f"{x:.0%}")
    fig.legend(
        handles=[
            Line2D(
                [],
                [],
                linestyle="none",
                marker="|",
                markersize=14,
                markeredgewidth=2.5,
                color=_INK,
                label="Target exits (households)",
            ),
            Line2D(
                [],
                [],
                color=_INK,
                linestyle="--",
                label=f"Required P(met) {required_confidence:.0%}",
            ),
        ],
        loc="outside lower center",
        ncols=2,
        fontsize=9,
        frameon=False,
    )
    axes[0].set_yticks(positions, names)
    axes[0].set_ylabel("Scenario", fontsize=_LABEL_SIZE)
    for ax in axes[1:]:
        ax.set_ylabel("Scenario", fontsize=_LABEL_SIZE)
        ax.yaxis.label.set_visible(False)
    _title(
        fig,
        "Scenarios compared: exits, cost, money missing and P(all targets met)",
        "One row per scenario in outputs/; money in wan yuan (10,000 yuan)",
    )
    return fig


# ----------------------------------------------------------------------------------------------
# All figures of a report


def report_figures(
    tables: Mapping[str, pd.DataFrame],
    *,
    required_confidence: float = 0.9,
    package_labels: Mapping[str, str] | None = None,
) -> dict[str, Figure]:
    """Every standard figure of a scenario report, keyed by file stem.

    Parameters
    ----------
    tables
        Pipeline tables by name (``docs/contracts.md``). A figure whose tables are missing is
        left out.
    required_confidence
        Scenario ``allocation.required_confidence``.
    package_labels
        Optional readable package names.

    Returns
    -------
    dict of str to Figure
        In report order: ``fan_remaining``, ``p_met_heatmap``, ``immigrant_income``,
        ``funding``, ``allocation``, ``shortfalls``, ``industrial_map``,
        ``infrastructure_map``.
    """
    out: dict[str, Figure] = {}

    def has(*names: str) -> bool:
        return all(tables.get(n) is not None and len(tables[n]) for n in names)

    if has("county_year"):
        out["fan_remaining"] = fan_chart_remaining(
            tables["county_year"],
            tables.get("exit_targets"),
            target_probability=tables.get("target_probability"),
            required_confidence=required_confidence,
        )
    if has("target_probability"):
        out["p_met_heatmap"] = p_met_heatmap(
            tables["target_probability"], required_confidence=required_confidence
        )
    if has("immigrant_income"):
        out["immigrant_income"] = immigrant_income_chart(tables["immigrant_income"])
    if has("funding"):
        out["funding"] = funding_chart(tables["funding"], allocation=tables.get("allocation"))
    if has("allocation"):
        out["allocation"] = allocation_chart(tables["allocation"], package_labels=package_labels)
    if tables.get("shortfall") is not None:
        out["shortfalls"] = shortfall_chart(tables["shortfall"])
    if has("households", "villages", "household_plans"):
        out["industrial_map"] = industrial_map(
            tables["households"],
            tables["villages"],
            tables["household_plans"],
            package_labels=package_labels,
        )
    if has("villages"):
        out["infrastructure_map"] = infrastructure_map(
            tables["villages"], tables.get("households"), village_works=tables.get("village_works")
        )
    return out

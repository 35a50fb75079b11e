"""Fan charts: quantile bands over the years (registered poor remaining vs the schedule;
immigrant villages' income vs the plan's goals)."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import MaxNLocator

from fupinsim.assess import (
    CITY_ID,
    county_label,
)
from fupinsim.data import immigrant_income_goal, poverty_line
from fupinsim.plots.style import (
    _INK,
    _LABEL_SIZE,
    COUNTY_COLORS,
    _county_ids,
    _county_series,
    _figure,
    _style,
    _title,
    _years_axis,
)

__all__ = ["fan_chart_remaining", "immigrant_income_chart"]


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


def _worst_p_met(target_probability: pd.DataFrame | None) -> dict[str, float]:
    """Lowest P(met) per county over the years (and over all counties for the city panel)."""
    worst: dict[str, float] = {}
    if target_probability is not None and len(target_probability):
        tp = target_probability.copy()
        tp["county_id"] = tp["county_id"].astype(str)
        tp = tp[tp["county_id"] != CITY_ID]
        worst = {str(k): float(v) for k, v in tp.groupby("county_id")["p_met"].min().items()}
        if len(tp):
            worst[CITY_ID] = float(tp["p_met"].min())
    return worst


def _fan_panel(
    ax: Axes,
    county: str,
    series: pd.DataFrame,
    allowed: pd.DataFrame,
    worst: Mapping[str, float],
    required_confidence: float,
    plan_years: tuple[int, int],
) -> None:
    """One county's panel: the 5-95% band, the median, the schedule's step line."""
    color = COUNTY_COLORS.get(county, "#444444")
    s = series[series["county_id"] == county]
    years = s["year"].to_numpy()
    ax.axvspan(plan_years[0] - 0.5, plan_years[1] + 0.5, color="#f2f2f2", zorder=0)
    ax.fill_between(years, s["p05"], s["p95"], color=color, alpha=0.25, linewidth=0)
    ax.plot(years, s["p50"], color=color, linewidth=2.2, marker="o", markersize=3.5)
    a = allowed[allowed["county_id"] == county].sort_values("year")
    if len(a):
        ax.step(a["year"], a["allowed"], where="post", color=_INK, linestyle="--", linewidth=1.3)
        ax.plot(a["year"], a["allowed"], linestyle="none", marker="v", color=_INK, markersize=5)
    title = (
        "All counties 全市"
        if county == CITY_ID
        else f"{county_label(county, short=True)} {county_label(county, chinese=True)}"
    )
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


def _fan_legend(fig: Figure, flat: list[Axes], n_panels: int) -> None:
    """The legend, in the spare panel when there is one, else under the panels."""
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
    legend_ax = flat[-1] if n_panels < len(flat) else None
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
    worst = _worst_p_met(target_probability)
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
        _fan_panel(ax, county, series, allowed, worst, required_confidence, plan_years)
    for ax in flat[len(ids) :]:
        ax.axis("off")
    _fan_legend(fig, flat, len(ids))
    _title(
        fig,
        "Registered poor households still in poverty vs the plan's exit schedule",
        "Households registered and not exited (net of returns), end of year; each county on "
        "its own scale",
    )
    return fig


# ----------------------------------------------------------------------------------------------
# Immigrants' income


def _goal_lines(ax: Axes, frame: pd.DataFrame, years: np.ndarray, goal_year: int) -> None:
    """The plan's goals: the 25 %-a-year path, the doubling goal, the income level."""
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


def _poverty_line(ax: Axes, years: np.ndarray, poverty_lines: Mapping[int, float] | None) -> None:
    """The national poverty line for reference (the given lines, else the packaged one)."""
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


def _goal_note(ax: Axes, frame: pd.DataFrame, goal_year: int, color: str) -> None:
    """Whether the median reaches each goal in the goal year, as a note on the chart."""
    at_goal = frame[frame["year"] == goal_year]
    if not len(at_goal):
        return
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
    _goal_lines(ax, frame, years, goal_year)
    _poverty_line(ax, years, poverty_lines)
    _goal_note(ax, frame, goal_year, color)
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

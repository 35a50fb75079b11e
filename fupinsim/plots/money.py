"""Money charts: funding by pool and source, allocation by county and package, shortfalls."""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from fupinsim.assess import (
    county_label,
    group_label,
    package_label,
)
from fupinsim.data import COUNTY_IDS
from fupinsim.plots.style import (
    _INK,
    _LABEL_SIZE,
    _SOURCE_COLORS,
    COUNTY_COLORS,
    SOURCE_LABELS,
    _county_ids,
    _figure,
    _no_data,
    _style,
    _title,
    _wan,
    _years_axis,
    package_colors,
)
from fupinsim.units import YUAN_PER_WAN

__all__ = ["allocation_chart", "funding_chart", "shortfall_chart"]


# Money


def _funding_by_source(ax: Axes, funding: pd.DataFrame, allocation: pd.DataFrame | None) -> None:
    """Stacked bars of money by source and year, with the plan's fiscal spending marked."""
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


def _funding_by_pool(ax_pool: Axes, funding: pd.DataFrame) -> None:
    """Horizontal bars of money by pool over all years (city pool first)."""
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
    _funding_by_source(ax, funding, allocation)
    _funding_by_pool(ax_pool, funding)
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


#: Bar colours of the shortfall years, in order.
_YEAR_COLORS = ("#FDB863", "#E66101", "#5E3C99", "#B2ABD2", "#1B7837")


def _shortfall_year(
    ax_n: Axes,
    ax_m: Axes,
    part: pd.DataFrame,
    groups: list[tuple[str, str]],
    y: np.ndarray,
    color: str,
    year: int,
    height: float,
) -> None:
    """One year's bars: missing exits and the money to close them, with their values."""
    n = np.array([float(part["missing_exits"].get(g, 0.0)) for g in groups])
    m = np.array([float(part["extra_yuan_to_close"].get(g, 0.0)) for g in groups])
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


def _shortfall_groups(short: pd.DataFrame) -> list[tuple[str, str]]:
    return sorted(
        {(c, v) for c, v in zip(short["county_id"], short["villages"], strict=True)},
        key=lambda g: (COUNTY_IDS.index(g[0]) if g[0] in COUNTY_IDS else 99, g[1]),
    )


def _shortfall_without_money(short: pd.DataFrame, n_bars: int) -> Figure:
    """Shortfalls that no money closes: one panel of missing exits (a money panel would be
    empty), the note saying so."""
    fig = _figure(12, min(9.0, 2.3 + 0.38 * n_bars))
    ax = fig.subplots()
    groups = _shortfall_groups(short)
    years = sorted(int(y) for y in short["year"].unique())
    height = 0.8 / len(years)
    base = np.arange(len(groups))[::-1].astype(float)
    for k, year in enumerate(years):
        part = short[short["year"] == year].set_index(["county_id", "villages"])
        n = np.array([float(part["missing_exits"].get(g, 0.0)) for g in groups])
        y = base + (len(years) / 2 - k - 0.5) * height
        ax.barh(
            y, n, height=height * 0.95, color=_YEAR_COLORS[k % len(_YEAR_COLORS)], label=str(year)
        )
        for yy, value in zip(y, n, strict=True):
            if value:
                ax.text(value, yy, f" {value:,.0f}", va="center", fontsize=8.5)
    ax.set_yticks(base, [group_label(c, v, short=True) for c, v in groups])
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("Missing exits (households)", fontsize=_LABEL_SIZE)
    ax.set_ylabel("Target group", fontsize=_LABEL_SIZE)
    _style(ax, grid="x")
    ax.legend(title="Year", fontsize=9, frameon=False, loc="lower right")
    _title(
        fig,
        "Shortfalls: exits missing from the plan; no amount of money closes them",
        "Cumulative exits below the target at the end of each year. Money does not help: even "
        "with every household on its best package too few exit in time (see What to do)",
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
    money_helps = bool((short["extra_yuan_to_close"].astype(float) > 0).any())
    if len(short) and not money_helps:
        return _shortfall_without_money(short, n_bars)
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
    groups = _shortfall_groups(short)
    years = sorted(int(y) for y in short["year"].unique())
    height = 0.8 / len(years)
    year_colors = dict(zip(years, _YEAR_COLORS, strict=False))
    base = np.arange(len(groups))[::-1].astype(float)
    for k, year in enumerate(years):
        part = short[short["year"] == year].set_index(["county_id", "villages"])
        y = base + (len(years) / 2 - k - 0.5) * height
        color = year_colors.get(year, "#999999")
        _shortfall_year(ax_n, ax_m, part, groups, y, color, year, height)
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

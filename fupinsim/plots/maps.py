"""The two schematic maps: industrial packages by village, and infrastructure gaps by village.

Both are *schematic*: county seats at approximate positions (``fupinsim.data.counties``,
documented as ESTIMATE) and villages placed deterministically around their seat, not at their
true locations; each map says so."""

from __future__ import annotations

import math
import textwrap
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.legend import Legend
from matplotlib.lines import Line2D
from matplotlib.patches import Ellipse, Patch

from fupinsim.assess import (
    county_label,
    package_label,
    village_infrastructure_works,
    village_summary,
)
from fupinsim.data import counties
from fupinsim.plots.style import (
    _INK,
    _LABEL_SIZE,
    _MUTED,
    _SCHEMATIC_NOTE,
    COUNTY_COLORS,
    _county_ids,
    _figure,
    _no_data,
    _style,
    _title,
    package_colors,
)

__all__ = ["industrial_map", "infrastructure_map", "village_positions"]


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


#: Characters of legend text that fit across the legend panel (wrapped per column).
_LEGEND_CHARS = 56


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
    ncols = 2 if len(handles) > 8 else 1
    # Long package names are wrapped so that two columns fit in the panel (no clipped text).
    width = _LEGEND_CHARS // ncols
    colours = Legend(
        ax_panel,
        handles,
        [textwrap.fill(str(h.get_label()), width) for h in handles],
        title=colour_title,
        fontsize=8.5,
        title_fontsize=9.5,
        loc="upper left",
        ncols=ncols,
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


def _packages_by_county(ax_bar: Axes, plans: pd.DataFrame, colors: Mapping[str, str]) -> None:
    """Stacked bars of households supported by package and county."""
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
    _packages_by_county(ax_bar, plans, colors)
    _title(
        fig,
        "Industrial project layout: support packages by village and county",
        "Households with a planned package ('one household, one plan'); all plan years",
    )
    return fig


_GAP_BINS = (0, 1, 3, 5, 99)
_GAP_COLORS = ("#1A9850", "#FEE08B", "#FC8D59", "#D73027")
_GAP_LABELS = ("none", "1-2", "3-4", "5 or more")


def _works_by_county(fig: Figure, ax_bar: Axes, ax_legend: Axes, planned: pd.DataFrame) -> None:
    """Stacked bars of planned works by type and county; the county colours in the legend panel."""
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


def _village_works(
    villages: pd.DataFrame, households: pd.DataFrame | None, planned: pd.DataFrame
) -> pd.DataFrame:
    """Villages with their size (households), works planned and schematic position."""
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
    return frame


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
    frame = _village_works(villages, households, planned)
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
    _works_by_county(fig, ax_bar, ax_legend, planned)
    _title(
        fig,
        "Infrastructure layout: village gaps and works planned by 2017",
        "Roads and buses §7(2), safe water §7(1), power §7(4), broadband §7(6), clinics §9, "
        "culture rooms §10, cooperatives §6(5), mutual-aid funds §12",
    )
    return fig

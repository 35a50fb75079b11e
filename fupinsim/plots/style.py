"""Common styling of every figure: colours (one per county, package and funding source), sizes,
the figure factory, axis styling, titles, and small table helpers the figures share."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from functools import cache
from importlib import resources
from typing import Literal

import matplotlib as mpl
import numpy as np
import pandas as pd
from matplotlib import font_manager
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from fupinsim.assess import (
    FUNDING_SOURCES,
)
from fupinsim.data import COUNTY_IDS, load_raw, plain
from fupinsim.units import YUAN_PER_WAN

__all__ = [
    "CJK_FAMILY",
    "COUNTY_COLORS",
    "SOURCE_LABELS",
    "cjk_font_path",
    "package_colors",
    "use_cjk_font",
]

logger = logging.getLogger(__name__)

#: Family name of the CJK font the install provides (``mplfonts``' Noto Sans CJK SC).
CJK_FAMILY = "Noto Sans CJK SC"
#: Latin font of the figures; Chinese glyphs fall back to :data:`CJK_FAMILY`.
_LATIN_FAMILY = "DejaVu Sans"


def cjk_font_path() -> str:
    """Path of the Noto Sans CJK SC font file shipped in the ``mplfonts`` wheel."""
    return str(resources.files("mplfonts").joinpath("fonts", "NotoSansCJKsc-Regular.otf"))


@cache
def use_cjk_font() -> str:
    """Register the CJK font with matplotlib and make it the fallback after the Latin font.

    Adds the file to :data:`matplotlib.font_manager.fontManager` (not to matplotlibrc: nothing
    outside this process changes) and sets ``font.family`` to ``[DejaVu Sans, Noto Sans CJK
    SC]``, so Latin text keeps its look and Chinese text renders instead of empty boxes. Called
    when this module is imported; returns the family name.
    """
    path = cjk_font_path()
    # The wheel has the regular weight only: registered for bold text too, so that bold
    # Chinese (titles) uses it instead of logging "Failed to find font weight bold".
    bold = font_manager.FontEntry(
        fname=path,
        name=CJK_FAMILY,
        style="normal",
        variant="normal",
        weight=700,
        stretch="normal",
        size="scalable",
    )
    font_manager.fontManager.ttflist.append(bold)
    font_manager.fontManager.addfont(path)  # also clears the font lookup cache
    mpl.rcParams["font.family"] = [_LATIN_FAMILY, CJK_FAMILY]
    logger.debug("CJK font registered: %s", path)
    return CJK_FAMILY


use_cjk_font()


def _county_colours() -> dict[str, str]:
    """County id → colour (``county_colours.yaml``), in the order of :data:`COUNTY_IDS`."""
    colours = {str(k): str(plain(v)) for k, v in load_raw("county_colours")["colours"].items()}
    return {c: colours[c] for c in COUNTY_IDS}


#: Colour of each county in every figure (``fupinsim/data/county_colours.yaml``).
COUNTY_COLORS: dict[str, str] = _county_colours()
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
    """Colour of each package (sorted by id): the catalogue package's own colour from
    ``fupinsim/data/package_colours.yaml``, the same in every scenario and figure; a package
    not listed there (a scenario's own) takes a palette colour no listed package uses."""
    ids = sorted({str(p) for p in package_ids})
    fixed = _catalogue_colours()
    spare = [c for c in _PACKAGE_PALETTE if c.upper() not in {v.upper() for v in fixed.values()}]
    unknown = [p for p in ids if p not in fixed]
    if len(spare) < len(unknown):  # the catalogue uses nearly every palette colour
        spare = list(_PACKAGE_PALETTE)
    return {p: fixed[p] if p in fixed else spare[unknown.index(p) % len(spare)] for p in ids}


@cache
def _catalogue_colours() -> dict[str, str]:
    """Package id → colour (``package_colours.yaml``)."""
    return {str(k): str(plain(v)) for k, v in load_raw("package_colours")["colours"].items()}


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

"""Heat maps: the probability that each county-year exit target is met."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.colors import BoundaryNorm, ListedColormap
from matplotlib.figure import Figure

from fupinsim.assess import (
    VILLAGE_GROUPS,
    group_label,
)
from fupinsim.data import COUNTY_IDS
from fupinsim.plots.style import (
    _INK,
    _figure,
    _title,
)

__all__ = ["p_met_heatmap"]


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

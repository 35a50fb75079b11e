"""Comparison of scenarios side by side."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from fupinsim.plots.style import (
    _INK,
    _LABEL_SIZE,
    _figure,
    _style,
    _title,
)
from fupinsim.units import YUAN_PER_WAN

__all__ = ["scenario_comparison_chart"]


# Scenario comparison


def _comparison_legend(fig: Figure, required_confidence: float) -> None:
    """The legend of the target marks and the required-probability line."""
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
    _comparison_legend(fig, required_confidence)
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

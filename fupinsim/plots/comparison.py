"""Comparison of scenarios side by side."""

from __future__ import annotations

import math
import textwrap

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import FixedLocator, MaxNLocator

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


def _probability_panel(frame: pd.DataFrame) -> tuple[str, str]:
    """The probability that tells the scenarios apart: P(all targets met), or, when that is 0
    (or unknown) for every scenario, P(final targets met)."""
    p_all = frame["p_all_targets_met"].astype(float).fillna(0.0)
    finals = frame.get("p_final_targets_met")
    if (p_all <= 0).all() and finals is not None and finals.notna().any():
        return (
            "p_final_targets_met",
            "P(final year's targets met)\n(P(all targets met) is 0% for every scenario)",
        )
    return "p_all_targets_met", "P(all targets met)"


def scenario_comparison_chart(
    comparison: pd.DataFrame, *, required_confidence: float = 0.9
) -> Figure:
    """Scenarios side by side: exits, missing exits, fiscal cost, money missing and the
    probability that tells them apart.

    Parameters
    ----------
    comparison
        :func:`fupinsim.assess.compare_scenarios` output (``scenario_id, target_exits,
        projected_exits_mean, missing_exits, cost_fiscal_yuan, money_missing_yuan,
        p_all_targets_met`` and, when known, ``p_final_targets_met``).
    required_confidence
        Reference line on the probability panel.

    Notes
    -----
    When P(all targets met) is 0% for every scenario, the last panel shows P(the final year's
    targets met) instead, so the scenarios can still be told apart. Axis labels are wrapped
    and each axis has at most four ticks, so labels do not overlap.
    """
    frame = comparison.reset_index(drop=True)
    n = len(frame)
    fig = _figure(15, 2.2 + 0.5 * max(n, 3))
    axes = fig.subplots(1, 5, sharey=True)
    positions = np.arange(n)[::-1]
    names = frame["scenario_id"].astype(str).tolist()
    p_column, p_label = _probability_panel(frame)
    panels = (
        ("projected_exits_mean", "Households exiting by the final year", 1.0, "#4E79A7", "{:,.0f}"),
        ("missing_exits", "Exits the plan misses (final year)", 1.0, "#B07AA1", "{:,.0f}"),
        ("cost_fiscal_yuan", "Fiscal cost, wan yuan", YUAN_PER_WAN, "#59A14F", "{:,.0f}"),
        (
            "money_missing_yuan",
            "Money missing to meet targets, wan yuan",
            YUAN_PER_WAN,
            "#E15759",
            "{:,.0f}",
        ),
        (p_column, p_label, 1.0, "#F28E2B", "{:.0%}"),
    )
    for ax, (column, label, scale, color, fmt) in zip(axes, panels, strict=True):
        raw = frame[column] if column in frame else pd.Series(np.nan, index=frame.index)
        values = raw.astype(float).to_numpy() / scale
        ax.barh(positions, np.nan_to_num(values), color=color, height=0.6)
        for y, v in zip(positions, values, strict=True):
            if not math.isnan(v):
                ax.text(v, y, " " + fmt.format(v), va="center", fontsize=8.5)
        ax.set_xlabel(
            "\n".join(textwrap.wrap(label, 26)) if "\n" not in label else label, fontsize=9
        )
        ax.xaxis.set_major_locator(MaxNLocator(nbins=3, min_n_ticks=2))
        ax.tick_params(axis="x", labelsize=8)
        finite = values[np.isfinite(values)]
        ax.set_xlim(0, (finite.max() if finite.size and finite.max() > 0 else 1.0) * 1.35)
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
    high = max(float(np.nanmax(frame["target_exits"].astype(float))) if n else 0.0, 1.0)
    axes[0].set_xlim(0, max(axes[0].get_xlim()[1], high * 1.2))
    axes[4].axvline(
        required_confidence,
        color=_INK,
        linestyle="--",
        linewidth=1.2,
        label=f"Required {required_confidence:.0%}",
    )
    axes[4].set_xlim(0, 1.18)
    axes[4].xaxis.set_major_locator(FixedLocator([0.0, 0.5, 1.0]))
    axes[4].xaxis.set_major_formatter(lambda x, _pos: f"{x:.0%}")
    for ax in axes[:4]:
        ax.xaxis.set_major_formatter(lambda x, _pos: f"{x:,.0f}")
    _comparison_legend(fig, required_confidence)
    axes[0].set_yticks(positions, names)
    axes[0].set_ylabel("Scenario", fontsize=_LABEL_SIZE)
    for ax in axes[1:]:
        ax.set_ylabel("Scenario", fontsize=_LABEL_SIZE)
        ax.yaxis.label.set_visible(False)
    _title(
        fig,
        "Scenarios compared: exits, missing exits, cost, money missing and P(targets met)",
        "One row per scenario in outputs/; money in wan yuan (10,000 yuan)",
    )
    return fig

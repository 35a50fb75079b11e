"""Tornado figures of the sensitivity analysis (:mod:`fupinsim.sensitivity`).

One figure per indicator: a horizontal bar per assumption from the indicator at the
assumption's low end to the indicator at its high end, largest swing on top, around the value
with every assumption at its value. Figures are built with the object-oriented API
(``Figure()``, no pyplot state) and never written here (:mod:`fupinsim.cli_sensitivity` saves
them).
"""

from __future__ import annotations

import pandas as pd
from matplotlib.figure import Figure
from matplotlib.patches import Patch

__all__ = ["tornado_figure", "tornado_figures"]

_LOW = "#4C72B0"
_HIGH = "#DD8452"
_INK = "#222222"
_MUTED = "#666666"


def _scaled(indicator: str) -> tuple[float, str]:
    if indicator.startswith(("p_", "mean_p")):
        return 100.0, "percent"
    if indicator.endswith("_yuan"):
        return 1e-6, "million yuan"
    return 1.0, "households"


def _text(value: float) -> str:
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.3g}"


def tornado_figure(table: pd.DataFrame, indicator: str, *, top: int = 12) -> Figure:
    """The tornado of one indicator from the tidy sensitivity table.

    Parameters
    ----------
    table:
        :func:`fupinsim.sensitivity.run_sensitivity`'s table (rows of method
        ``one_at_a_time`` are used).
    indicator:
        E.g. ``p_final_targets_met``.
    top:
        Assumptions shown (the largest swings).
    """
    rows = table[(table["method"] == "one_at_a_time") & (table["indicator"] == indicator)]
    rows = rows.sort_values("rank").head(top).iloc[::-1]
    if rows.empty:
        raise ValueError(f"no one-at-a-time rows for indicator {indicator!r}")
    scale, unit = _scaled(indicator)
    base = float(rows["base_value"].iloc[0]) * scale
    fig = Figure(figsize=(8.5, 0.42 * len(rows) + 1.6), layout="constrained", dpi=100)
    fig.patch.set_facecolor("white")
    ax = fig.add_subplot()
    lows = rows["low_value"].to_numpy(dtype=float) * scale
    highs = rows["high_value"].to_numpy(dtype=float) * scale
    for y, (low, high) in enumerate(zip(lows, highs, strict=True)):
        ax.barh(y, low - base, left=base, color=_LOW, height=0.6)
        ax.barh(y, high - base, left=base, color=_HIGH, height=0.6)
    ax.axvline(base, color=_INK, linewidth=1)
    ax.set_yticks(range(len(rows)), [str(label) for label in rows["label"]], fontsize=9)
    ax.spines[["top", "right"]].set_visible(False)
    ax.grid(axis="x", color="#dddddd", linewidth=0.7)
    ax.set_axisbelow(True)
    ax.set_xlabel(f"{rows['indicator_label'].iloc[0]} ({unit})", fontsize=10, color=_INK)
    fig.legend(
        handles=[
            Patch(color=_LOW, label="assumption at its low end"),
            Patch(color=_HIGH, label="assumption at its high end"),
        ],
        fontsize=8,
        frameon=False,
        ncols=2,
        loc="outside lower center",
    )
    fig.suptitle(
        f"What {rows['indicator_label'].iloc[0]} depends on",
        x=0.01,
        ha="left",
        fontsize=13,
        fontweight="bold",
        color=_INK,
    )
    ax.set_title(
        f"one assumption at a time, the others at their values (line: {_text(base)})",
        loc="left",
        fontsize=9,
        color=_MUTED,
    )
    return fig


def tornado_figures(table: pd.DataFrame, *, top: int = 12) -> dict[str, Figure]:
    """Indicator → its tornado figure, for every indicator of the table."""
    rows = table[table["method"] == "one_at_a_time"]
    return {str(i): tornado_figure(table, str(i), top=top) for i in rows["indicator"].unique()}

"""All standard figures of a scenario report, keyed by file stem."""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd
from matplotlib.figure import Figure

from fupinsim.plots.fans import fan_chart_remaining, immigrant_income_chart
from fupinsim.plots.heatmaps import p_met_heatmap
from fupinsim.plots.maps import industrial_map, infrastructure_map
from fupinsim.plots.money import allocation_chart, funding_chart, shortfall_chart

__all__ = ["report_figures"]


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

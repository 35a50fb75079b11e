"""All standard figures of a scenario report, keyed by file stem."""

from __future__ import annotations

from collections.abc import Mapping

from matplotlib.figure import Figure

from fupinsim.pipeline import RunTables
from fupinsim.plots.fans import fan_chart_remaining, immigrant_income_chart
from fupinsim.plots.heatmaps import p_met_heatmap
from fupinsim.plots.maps import industrial_map, infrastructure_map
from fupinsim.plots.money import allocation_chart, funding_chart, shortfall_chart

__all__ = ["report_figures"]


# All figures of a report


def report_figures(
    tables: RunTables,
    *,
    required_confidence: float = 0.9,
    package_labels: Mapping[str, str] | None = None,
) -> dict[str, Figure]:
    """Every standard figure of a scenario report, keyed by file stem.

    Parameters
    ----------
    tables
        The run's tables (``docs/contracts.md``). A figure whose tables are empty is left out
        (the shortfall chart says when there is no shortfall).
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
    if len(tables.county_year):
        out["fan_remaining"] = fan_chart_remaining(
            tables.county_year,
            tables.exit_targets,
            target_probability=tables.target_probability,
            required_confidence=required_confidence,
        )
    if len(tables.target_probability):
        out["p_met_heatmap"] = p_met_heatmap(
            tables.target_probability, required_confidence=required_confidence
        )
    if len(tables.immigrant_income):
        out["immigrant_income"] = immigrant_income_chart(tables.immigrant_income)
    if len(tables.funding):
        out["funding"] = funding_chart(tables.funding, allocation=tables.allocation)
    if len(tables.allocation):
        out["allocation"] = allocation_chart(tables.allocation, package_labels=package_labels)
    out["shortfalls"] = shortfall_chart(tables.shortfall)
    if len(tables.households) and len(tables.villages) and len(tables.household_plans):
        out["industrial_map"] = industrial_map(
            tables.households,
            tables.villages,
            tables.household_plans,
            package_labels=package_labels,
        )
    if len(tables.villages):
        out["infrastructure_map"] = infrastructure_map(
            tables.villages, tables.households, village_works=tables.village_works
        )
    return out

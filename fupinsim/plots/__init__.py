"""Figures a planner expects, each returned as a :class:`matplotlib.figure.Figure`.

Every function builds a figure with the object-oriented API (``Figure()``, no pyplot state),
never saves it and never shows it: the output layer (:mod:`fupinsim.io.report_files`) writes
PNG and SVG, notebooks display the returned object. Titles say what is shown and in which unit;
every axis is labelled; every figure with series has a legend (or a colour bar).

Colours are consistent across figures: one colour per county (:data:`COUNTY_COLORS`) and one per
package (:func:`package_colors`, by sorted package id). Figures are in English with Chinese county
names; Chinese text renders with the Noto Sans CJK SC font of the ``mplfonts`` package, which
:mod:`~fupinsim.plots.style` registers with matplotlib as the fallback after the Latin font.

The two maps are *schematic*: county seats at approximate positions (``fupinsim.data.counties``,
documented as ESTIMATE) and villages placed deterministically around their seat, not at their
true locations; each map says so.

Modules, by figure family
-------------------------
``style``
    Colours, sizes, figure factory and axis styling shared by every figure.
``fans``
    Fan charts: registered poor remaining vs the schedule; immigrant villages' income.
``heatmaps``
    Probability that each county-year target is met.
``money``
    Funding, allocation and shortfall charts.
``maps``
    The industrial and infrastructure maps (schematic village positions).
``comparison``
    Scenarios side by side.
``figures``
    :func:`report_figures`: every standard figure of a report.
"""

from __future__ import annotations

from fupinsim.plots.comparison import scenario_comparison_chart
from fupinsim.plots.fans import fan_chart_remaining, immigrant_income_chart
from fupinsim.plots.figures import report_figures
from fupinsim.plots.heatmaps import p_met_heatmap
from fupinsim.plots.maps import industrial_map, infrastructure_map, village_positions
from fupinsim.plots.money import allocation_chart, funding_chart, shortfall_chart
from fupinsim.plots.style import COUNTY_COLORS, SOURCE_LABELS, package_colors
from fupinsim.plots.tornado import tornado_figure, tornado_figures

__all__ = [
    "COUNTY_COLORS",
    "SOURCE_LABELS",
    "allocation_chart",
    "fan_chart_remaining",
    "funding_chart",
    "immigrant_income_chart",
    "industrial_map",
    "infrastructure_map",
    "p_met_heatmap",
    "package_colors",
    "report_figures",
    "scenario_comparison_chart",
    "shortfall_chart",
    "tornado_figure",
    "tornado_figures",
    "village_positions",
]

"""Figures: each returns a Figure with a title, axis labels and a legend where there are series."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import replace

import matplotlib.pyplot as plt
import pandas as pd
import pytest
from helpers.fake_results import fake_run_tables
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from fupinsim import assess, plots, report
from fupinsim.pipeline import RunTables


@pytest.fixture(scope="module")
def tables() -> RunTables:
    return fake_run_tables()


def _comparison(tables: RunTables) -> pd.DataFrame:
    summary = assess.scenario_summary(
        tables,
        scenario_id="plan_2015",
    )
    other = dict(summary, scenario_id="revenue_stagnation", p_all_targets_met=0.2)
    return assess.compare_scenarios([summary, other])


FIGURES: dict[str, Callable[[RunTables], Figure]] = {
    "fan_remaining": lambda t: plots.fan_chart_remaining(
        t.county_year, t.exit_targets, target_probability=t.target_probability
    ),
    "p_met_heatmap": lambda t: plots.p_met_heatmap(t.target_probability),
    "immigrant_income": lambda t: plots.immigrant_income_chart(t.immigrant_income),
    "funding": lambda t: plots.funding_chart(t.funding, allocation=t.allocation),
    "allocation": lambda t: plots.allocation_chart(t.allocation),
    "shortfalls": lambda t: plots.shortfall_chart(t.shortfall),
    "industrial_map": lambda t: plots.industrial_map(t.households, t.villages, t.household_plans),
    "infrastructure_map": lambda t: plots.infrastructure_map(t.villages, t.households),
    "comparison": lambda t: plots.scenario_comparison_chart(_comparison(t)),
}


def _data_axes(fig: Figure) -> list:
    """Axes that show data: visible, not a colour bar."""
    return [ax for ax in fig.axes if ax.axison and ax.get_label() != "<colorbar>"]


def _has_legend(fig: Figure) -> bool:
    has_colorbar = any(ax.get_label() == "<colorbar>" for ax in fig.axes)
    return bool(fig.legends) or any(ax.get_legend() for ax in fig.axes) or has_colorbar


@pytest.mark.parametrize("name", list(FIGURES))
def test_figure_has_title_labels_and_legend(name: str, tables) -> None:
    before = plt.get_fignums()
    fig = FIGURES[name](tables)
    assert isinstance(fig, Figure)
    assert plt.get_fignums() == before, "figures must not be registered with pyplot"
    assert fig._suptitle is not None and len(fig._suptitle.get_text().strip()) > 10
    axes = _data_axes(fig)
    assert axes
    for ax in axes:
        assert ax.get_xlabel().strip(), f"{name}: an axis without an x label"
        assert ax.get_ylabel().strip(), f"{name}: an axis without a y label"
    assert _has_legend(fig), f"{name}: series without a legend"


def test_report_figures_has_every_figure(tables) -> None:
    figures = plots.report_figures(tables)
    assert list(figures) == [
        "fan_remaining",
        "p_met_heatmap",
        "immigrant_income",
        "funding",
        "allocation",
        "shortfalls",
        "industrial_map",
        "infrastructure_map",
    ]
    no_plans = replace(tables, household_plans=tables.household_plans.iloc[0:0])
    assert "industrial_map" not in plots.report_figures(no_plans)  # an empty table: no figure


def _texts(fig: Figure) -> str:
    return " ".join(t.get_text() for t in fig.findobj(match=lambda a: hasattr(a, "get_text")))


@pytest.mark.parametrize("name", ["industrial_map", "infrastructure_map"])
def test_maps_say_they_are_schematic(name: str, tables) -> None:
    text = _texts(FIGURES[name](tables))
    assert "Schematic" in text and "approximate" in text
    assert "Guazhou" in text and "Aksai" in text  # county labels


def test_fan_chart_flags_counties_at_risk(tables) -> None:
    fig = FIGURES["fan_remaining"](tables)
    titles = {ax.get_title(loc="left"): ax.title for ax in fig.axes}
    guazhou = next(t for t in titles if t.startswith("Guazhou"))
    assert "45%" in guazhou  # lowest P(met) of the county


def test_shortfall_chart_without_shortfall(tables) -> None:
    none = tables.shortfall.assign(missing_exits=0, extra_yuan_to_close=0.0)
    fig = plots.shortfall_chart(none)
    assert "No shortfall" in _texts(fig)


def test_village_positions_are_deterministic_and_near_the_seat(tables) -> None:
    first = plots.village_positions(tables.villages)
    second = plots.village_positions(tables.villages.sample(frac=1.0, random_state=1))
    merged = first.merge(second, on="village_id", suffixes=("", "_again"))
    assert (merged["lon"] == merged["lon_again"]).all()
    assert len(first) == len(tables.villages)
    seats = assess.counties()
    joined = first.merge(tables.villages[["village_id", "county_id"]], on="village_id")
    for row in joined.itertuples(index=False):
        seat = seats.loc[str(row.county_id)]
        assert abs(row.lat - seat["seat_lat"]) < 0.3
        assert (row.lon, row.lat) != (seat["seat_lon"], seat["seat_lat"])


def test_colours_are_consistent() -> None:
    assert set(plots.COUNTY_COLORS) == set(assess.COUNTY_IDS)
    assert len(set(plots.COUNTY_COLORS.values())) == 7
    a = plots.package_colors(["b", "a", "c"])
    b = plots.package_colors(["c", "a", "b", "a"])
    assert a == b and len(set(a.values())) == 3


def test_fan_chart_has_a_city_panel_first(tables) -> None:
    fig = FIGURES["fan_remaining"](tables)
    titles = [ax.get_title(loc="left") for ax in fig.axes if ax.axison]
    assert titles[0].startswith("All counties")
    assert len(titles) == 8 and fig.legends  # no room for a legend panel: legend below


def test_immigrant_income_draws_both_goals(tables) -> None:
    fig = FIGURES["immigrant_income"](tables)
    labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert any("double" in label for label in labels)
    assert any("25% a year" in label for label in labels)
    assert any("9,000" in label for label in labels)


def _renderer(fig: Figure):
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    return canvas.get_renderer()


def _tick_boxes_overlap(fig: Figure) -> list[str]:
    """x tick labels of one axis that overlap each other, and axis labels that overlap the
    next axis' (after drawing)."""
    renderer = _renderer(fig)
    found = []
    for ax in _data_axes(fig):
        boxes = [t.get_window_extent(renderer) for t in ax.get_xticklabels() if t.get_text()]
        for a, b in itertools.pairwise(boxes):
            if a.overlaps(b):
                found.append(ax.get_xlabel())
    labels = [ax.xaxis.label.get_window_extent(renderer) for ax in _data_axes(fig)]
    for a, b in itertools.pairwise(labels):
        if a.overlaps(b):
            found.append("axis labels")
    return found


def test_comparison_tells_scenarios_apart_when_p_all_is_zero_everywhere(tables) -> None:
    """Issue 14: P(all targets met) 0% for every scenario; the chart shows P(final targets
    met), the exits missed and money, and no labels overlap."""
    comparison = _comparison(tables).assign(p_all_targets_met=0.0)
    comparison["p_final_targets_met"] = [0.62, 0.18]
    comparison.loc[1, "money_missing_yuan"] = 4.2e7
    fig = plots.scenario_comparison_chart(comparison)
    labels = " ".join(ax.get_xlabel() for ax in _data_axes(fig))
    assert "P(final year's targets met)" in labels and "misses" in labels
    assert "62%" in _texts(fig) and "18%" in _texts(fig)
    assert _tick_boxes_overlap(fig) == []
    page = report.comparison_html(comparison, fig)
    assert "62%" in page and "P(final targets met)" in page


def test_package_colours_are_the_catalogues_whatever_the_scenario() -> None:
    from fupinsim.data import load_raw

    catalogue = list(load_raw("interventions")["packages"])
    every = plots.package_colors(catalogue)
    assert len(set(every.values())) == len(catalogue)  # one colour per catalogue package
    some = plots.package_colors(["training_transfer", "sheep_credit"])
    assert some == {p: every[p] for p in some}
    own = plots.package_colors(["a_scenario_package", "sheep_credit"])
    assert own["a_scenario_package"] not in every.values()


def test_map_legend_fits_in_the_figure(tables) -> None:
    plans = tables.household_plans.copy()
    from fupinsim.data import load_raw

    catalogue = list(load_raw("interventions")["packages"])
    plans["package_id"] = [catalogue[i % len(catalogue)] for i in range(len(plans))]
    fig = plots.industrial_map(tables.households, tables.villages, plans)
    renderer = _renderer(fig)
    page = fig.bbox
    legends = list(fig.findobj(match=lambda a: type(a).__name__ == "Legend"))
    assert legends
    for legend in legends:
        box = legend.get_window_extent(renderer)
        assert box.x0 >= page.x0 - 1 and box.x1 <= page.x1 + 1, box


def test_shortfall_chart_has_no_empty_money_panel_when_money_cannot_help(tables) -> None:
    sf = tables.shortfall.copy()
    sf["extra_yuan_to_close"] = sf["extra_yuan_to_close"].where(sf["missing_exits"] == 0)
    fig = plots.shortfall_chart(sf)
    axes = _data_axes(fig)
    assert len(axes) == 1 and "no amount of money" in fig._suptitle.get_text()
    assert len(axes[0].patches) > 0

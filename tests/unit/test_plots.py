"""Figures: each returns a Figure with a title, axis labels and a legend where there are series."""

from __future__ import annotations

from collections.abc import Callable

import matplotlib.pyplot as plt
import pandas as pd
import pytest
from helpers.fake_results import fake_tables
from matplotlib.figure import Figure

from fupinsim import assess, plots


@pytest.fixture(scope="module")
def tables() -> dict[str, pd.DataFrame]:
    return fake_tables()


def _comparison(tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    summary = assess.scenario_summary(
        scenario_id="plan_2015",
        target_probability=tables["target_probability"],
        funding=tables["funding"],
        allocation=tables["allocation"],
        shortfall=tables["shortfall"],
    )
    other = dict(summary, scenario_id="revenue_stagnation", p_all_targets_met=0.2)
    return assess.compare_scenarios([summary, other])


FIGURES: dict[str, Callable[[dict[str, pd.DataFrame]], Figure]] = {
    "fan_remaining": lambda t: plots.fan_chart_remaining(
        t["county_year"], t["exit_targets"], target_probability=t["target_probability"]
    ),
    "p_met_heatmap": lambda t: plots.p_met_heatmap(t["target_probability"]),
    "immigrant_income": lambda t: plots.immigrant_income_chart(t["immigrant_income"]),
    "funding": lambda t: plots.funding_chart(t["funding"], allocation=t["allocation"]),
    "allocation": lambda t: plots.allocation_chart(t["allocation"]),
    "shortfalls": lambda t: plots.shortfall_chart(t["shortfall"]),
    "industrial_map": lambda t: plots.industrial_map(
        t["households"], t["villages"], t["household_plans"]
    ),
    "infrastructure_map": lambda t: plots.infrastructure_map(t["villages"], t["households"]),
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
    assert "industrial_map" not in plots.report_figures({"villages": tables["villages"]})


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
    none = tables["shortfall"].assign(missing_exits=0, extra_yuan_to_close=0.0)
    fig = plots.shortfall_chart(none)
    assert "No shortfall" in _texts(fig)


def test_village_positions_are_deterministic_and_near_the_seat(tables) -> None:
    first = plots.village_positions(tables["villages"])
    second = plots.village_positions(tables["villages"].sample(frac=1.0, random_state=1))
    merged = first.merge(second, on="village_id", suffixes=("", "_again"))
    assert (merged["lon"] == merged["lon_again"]).all()
    assert len(first) == len(tables["villages"])
    seats = assess.counties()
    joined = first.merge(tables["villages"][["village_id", "county_id"]], on="village_id")
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

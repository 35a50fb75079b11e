"""The display tables (:mod:`fupinsim.assess.display`) that the notebooks and the report share.

Checked on the test fake (``tests/helpers/fake_results.py``): each table's numbers are the run
table's, converted as its labels say (%, 万元, households), and the tables of the report's
numbers read the run's tables, never the plan comparison's (issue 14).
"""

from __future__ import annotations

from dataclasses import replace

import pandas as pd
import pytest
from helpers.fake_results import fake_run_tables
from markupsafe import escape

from fupinsim.assess import display as views
from fupinsim.assess.labels import county_label, group_label
from fupinsim.pipeline import RunTables
from fupinsim.report.scenario import report_html
from fupinsim.units import YUAN_PER_WAN


@pytest.fixture(scope="module")
def run() -> RunTables:
    return fake_run_tables()


def test_p_met_is_the_runs_target_probability_not_the_plan_comparison(run: RunTables) -> None:
    tp = run.target_probability
    row = tp[(tp["county_id"] == "guazhou") & (tp["villages"] == "immigrant")]
    row = row[row["year"] == 2016].iloc[0]
    shown = views.display_p_met(run)
    label = group_label("guazhou", "immigrant")
    assert shown.loc[label, 2016] == round(row["p_met"] * 100)
    assert shown.columns.name == "P(target met), %"
    assert list(shown.columns) == [2015, 2016, 2017]
    # Changing the plan comparison changes nothing the report's numbers show ...
    plans = run.target_probability_plans.assign(p_met=0.0)
    other = replace(run, target_probability_plans=plans)
    pd.testing.assert_frame_equal(views.display_p_met(other), shown)
    # ... and the comparison's own table is labelled as such and follows its table.
    compared = views.display_p_met_plans(other)
    assert "plan comparison" in compared.columns.names[0]
    assert (compared.to_numpy() == 0).all()


def test_targets_show_the_run_tables_numbers(run: RunTables) -> None:
    shown = views.display_targets(run, first_year=2015, last_year=2017)
    tp = run.target_probability
    tp = tp[tp["year"].between(2015, 2017)]
    assert len(shown) == len(tp)
    first = tp.iloc[0]
    got = shown.loc[(group_label(first["county_id"], first["villages"]), first["year"])]
    assert got["target exits"] == first["target_exits"]
    assert got["P(target met), %"] == round(first["p_met"] * 100)
    assert got["projected exits (mean)"] == round(first["projected_exits_mean"])


def test_money_tables_are_the_funding_in_wan_yuan(run: RunTables) -> None:
    total = run.funding["amount_yuan"].sum() / YUAN_PER_WAN
    by_pool = views.display_funding_by_pool(run)
    assert by_pool.loc["all pools", "2015-2017"] == pytest.approx(total, abs=1)
    by_source = views.display_funding_by_source(run)
    assert by_source.index.name == "source, 万元"
    assert by_source["2015-2017"].sum() == pytest.approx(total, abs=len(by_source))
    assert not by_source.index.str.contains("_").any()  # the plan's words, not codes


def test_shortfalls_say_what_binds_and_what_to_do_as_the_report(run: RunTables) -> None:
    shown = views.display_shortfalls(run)
    missed = run.shortfall[run.shortfall["missing_exits"] > 0]
    assert len(shown) == len(missed)
    label = group_label("guazhou", "immigrant")
    last = shown.loc[(label, 2017)]
    assert last["what binds"].startswith("Capacity:")
    assert "greenhouse" in last["what binds"]  # the capacity in words, not its code
    assert "greenhouse_builds" not in last["what binds"]
    assert pd.isna(last["money to close, 万元"])  # no money closes it
    assert last["what to do"].startswith("Raise new solar (Gobi) greenhouses")
    gap = shown.loc[(label, 2016)]
    assert gap["money to close, 万元"] == pytest.approx(12.0)
    # The report renders the same rows: the same sentences appear in its shortfall table.
    rows = views.shortfall_rows(run.shortfall, run.exit_targets, run.recommendations)
    assert list(rows["binds"]) == list(shown["what binds"])


def test_no_missed_target_gives_an_empty_shortfall_table(run: RunTables) -> None:
    met = replace(run, shortfall=run.shortfall.assign(missing_exits=0))
    assert views.display_shortfalls(met).empty
    assert views.shortfall_rows(None).empty


def test_plan_comparison_tables_say_they_are_the_comparison(run: RunTables) -> None:
    side = views.display_plan_comparison(run)
    assert side.index.name == "plan (plan comparison)"
    assert set(side.index) == set(run.factor_comparison["method"])
    methods = views.display_methods(run)
    assert "P(all targets met), % (plan comparison)" in methods.index
    remaining = views.display_remaining_by_plan(run, year=2017)
    assert "plan comparison" in str(remaining.index.name)
    assert list(remaining.columns) == [p for p in views.COMPARED_PLANS if p in remaining.columns]


def test_registry_tables_add_up(run: RunTables) -> None:
    registered = run.households[run.households["is_registered"]]
    causes = views.display_causes(run)
    assert causes.sum().round(0).eq(100).all()  # each column is a distribution, in %
    classes = views.display_support_classes(run)
    assert classes.loc["Jiuquan City (total)", "total"] == len(registered)
    assistance = views.display_assistance(run)
    assert assistance.loc["total", "低保 dibao"] == int(run.households["is_dibao"].sum())
    summary = views.display_registry_summary(run.registry_summary)
    assert summary["poor households"].sum() == len(registered)
    sources = views.display_income_sources(run)
    assert "net income" in sources.index and "income" not in "".join(sources.index[:-1])
    top = views.display_top_villages(run, n=3)
    assert len(top) == 3
    assert top["n_poor_households"].is_monotonic_decreasing


def test_income_sources_of_a_registered_only_registry_have_one_column(run: RunTables) -> None:
    """The national scale test's registry holds only registered households (issue 18):
    notebook 01 showed a NaN column and failed casting it to int."""
    only = replace(run, households=run.households[run.households["is_registered"]])
    sources = views.display_income_sources(only)
    assert list(sources.columns) == ["registered poor"]
    assert sources.equals(views.display_income_sources(run)[["registered poor"]])


def test_identification_needs_the_identification_table(run: RunTables) -> None:
    shown = views.display_identification(run)
    assert list(shown.index) == [county_label(c) for c in run.identification["county_id"]]
    assert shown["inclusion error, %"].between(0, 100).all()
    with pytest.raises(ValueError, match="no identification"):
        views.display_identification(replace(run, identification=None))


def test_assessment_and_targeting_in_percent(run: RunTables) -> None:
    shown = views.display_assessment(run)
    first = run.assessment.iloc[0]
    got = shown.loc[(first["year"], first["rank"])]
    assert got["households' income growth, % a year"] == round(first["growth_households"] * 100, 1)
    assert got["rating"] == first["rating"]
    targeting = views.display_targeting(run)
    assert list(targeting.columns) == ["wrong exits, %", "missed poor, %"]


def test_the_reports_shortfall_table_is_the_display_rows(run: RunTables) -> None:
    """report.html's shortfall table shows :func:`shortfall_rows`' sentences (one source)."""
    from fupinsim import assess

    summary = assess.scenario_summary(
        scenario_id="fake",
        title="fake",
        target_probability=run.target_probability,
        funding=run.funding,
        allocation=run.allocation,
        shortfall=run.shortfall,
    )
    three = assess.three_tables(
        households=run.households,
        villages=run.villages,
        county_year=run.county_year,
        target_probability=run.target_probability,
        exit_targets=run.exit_targets,
        shortfall=run.shortfall,
    )
    page = str(
        report_html(
            summary=summary,
            tables=three,
            figures={},
            assessment=run.assessment,
            shortfall=run.shortfall,
            recommendations=run.recommendations,
            exit_targets=run.exit_targets,
        )
    )
    rows = views.shortfall_rows(run.shortfall, run.exit_targets, run.recommendations)
    assert len(rows) == 2
    for sentence in rows["binds"]:
        assert str(escape(sentence)) in page

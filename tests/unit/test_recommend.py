"""Recommendations (issue 14): effects from re-solving the LP, and the "What to do" pages."""

from __future__ import annotations

import html
import re
from dataclasses import replace

import pandas as pd
import pytest
from allocation_toy import SHORT_MONEY, toy_inputs
from helpers.fake_results import fake_tables

from fupinsim import assess, report
from fupinsim.allocate import ModelSettings, SolveSettings
from fupinsim.pipeline.recommend import RECOMMENDATION_COLUMNS, resolve
from fupinsim.report.scenario import binds_sentence, failing_years


def _with_money(funding: pd.DataFrame, pool: str, year: int, amount: float) -> pd.DataFrame:
    row = pd.DataFrame({"pool": [pool], "source": ["x"], "year": [year], "amount_yuan": [amount]})
    return pd.concat([funding, row], ignore_index=True)


def test_re_solve_closes_the_toy_shortfall_with_the_money_it_names() -> None:
    """The toy misses b's 2016 target by 20 exits; 36,000 yuan more in b's pool by 2016 closes
    it, 18,000 closes half (allocation_toy's docstring); a's unused money cannot help."""
    inputs = toy_inputs(SHORT_MONEY)
    settings, solve = ModelSettings(), SolveSettings()
    base = resolve(inputs, settings, solve)
    assert base.missing(("b", "all", 2016)) == pytest.approx(20.0)
    for extra, left in ((36_000.0, 0.0), (18_000.0, 10.0)):
        changed = resolve(
            replace(inputs, funding=_with_money(inputs.funding, "b", 2016, extra)), settings, solve
        )
        assert changed.missing(("b", "all", 2016)) == pytest.approx(left, abs=1e-6)
        assert changed.fiscal_yuan["b"] == pytest.approx(base.fiscal_yuan["b"] + extra)
    moved = resolve(
        replace(inputs, funding=_with_money(inputs.funding, "a", 2016, 36_000.0)), settings, solve
    )
    assert moved.missing(("b", "all", 2016)) == pytest.approx(20.0)  # a's pool is a's only


def test_what_to_do_comes_first_in_the_report_and_the_guide() -> None:
    tables = fake_tables()
    recs = tables["recommendations"]
    assert list(recs.columns) == list(RECOMMENDATION_COLUMNS)
    three = assess.three_tables(
        households=tables["households"],
        villages=tables["villages"],
        county_year=tables["county_year"],
        target_probability=tables["target_probability"],
        exit_targets=tables["exit_targets"],
        shortfall=tables["shortfall"],
    )
    summary = assess.scenario_summary(
        scenario_id="x", target_probability=tables["target_probability"]
    )
    text = report.report_html(
        summary=summary,
        tables=three,
        figures={},
        shortfall=tables["shortfall"],
        recommendations=recs,
        exit_targets=tables["exit_targets"],
    )
    body = text[text.index("<body") :]
    assert body.index("What to do") < body.index('class="headline')
    for action in recs["action"]:
        assert html.escape(action) in text
    assert "3% of its registered households" in text  # the footnote of "Counts as met"
    guide = assess.county_guide(
        "guazhou",
        households=tables["households"],
        villages=tables["villages"],
        tables=three,
        household_plans=tables["household_plans"],
    )
    page = report.county_guide_html(guide, recommendations=recs)
    guazhou = recs[recs["county_id"] == "guazhou"]
    assert len(guazhou) and all(html.escape(a) in page for a in guazhou["action"])
    assert "Dunhuang" not in page[page.index("What to do") : page.index('class="headline')]


def test_headline_names_the_years_whose_targets_fail() -> None:
    """Issue 14: the headline said 2017 while the failing targets were 2015 and 2016."""
    shortfall = pd.DataFrame({"year": [2015, 2016, 2017], "missing_exits": [3.0, 1.0, 0.0]})
    summary = {"verdict": "unlikely", "final_year": 2017, "at_risk": []}
    assert failing_years(summary, shortfall) == [2015, 2016]
    text = report.report_html(summary=summary, tables={}, figures={}, shortfall=None)
    assert "the 2017 targets will probably" in text  # nothing known to fail: the final year
    rows = fake_tables()["shortfall"]
    text = report.report_html(
        summary={**summary, "scenario_id": "x"}, tables={}, figures={}, shortfall=rows
    )
    assert "Unlikely: the 2016 and 2017 targets will probably not all be met" in text


def test_what_binds_is_one_planner_sentence_per_row_without_codes() -> None:
    rows = [
        {
            "county_id": c,
            "villages": "all",
            "year": y,
            "target_exits": t,
            "projected_exits": p,
            "missing_exits": t - p,
            "binding_resource": b,
        }
        for c, y, t, p, b in (
            ("dunhuang", 2015, 679.0, 604.0, "exit_yield"),
            ("suzhou", 2016, 1843.0, 1813.0, "exit_yield"),
            ("jinta", 2016, 1455.0, 1420.0, "money"),
            ("subei", 2015, 321.0, 297.0, "training_seats, credit_yuan"),
        )
    ]
    sentences = [binds_sentence(r) for r in rows]
    assert len(set(sentences)) == len(sentences)
    for row, text in zip(rows, sentences, strict=True):
        assert str(row["year"]) in text and f"{row['missing_exits']:,.0f}" in text
        assert not re.search(r"\b[a-z]+_[a-z_]+\b", text), text
    assert "skills-training places" in sentences[3] and "poverty microcredit" in sentences[3]

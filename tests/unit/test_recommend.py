"""Recommendations (issue 14): effects from re-solving the LP, and the "What to do" pages."""

from __future__ import annotations

import html
import re
from dataclasses import replace
from pathlib import Path

import pandas as pd
import pytest
from allocation_toy import SHORT_MONEY, toy_inputs
from helpers.fake_results import fake_run_tables

from fupinsim import assess, report
from fupinsim.allocate import ModelSettings, SolveSettings
from fupinsim.pipeline.recommend import RECOMMENDATION_COLUMNS, recommendations_table, resolve
from fupinsim.report.scenario import binds_sentence, failing_years

ROOT = Path(__file__).resolve().parents[2]


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
    tables = fake_run_tables()
    recs = tables.recommendations
    assert list(recs.columns) == list(RECOMMENDATION_COLUMNS)
    three = assess.three_tables(tables)
    summary = assess.scenario_summary(scenario_id="x", target_probability=tables.target_probability)
    text = report.report_html(
        summary=summary,
        tables=three,
        figures={},
        shortfall=tables.shortfall,
        recommendations=recs,
        exit_targets=tables.exit_targets,
    )
    body = text[text.index("<body") :]
    assert body.index("What to do") < body.index('class="headline')
    for action in recs["action"]:
        assert html.escape(action) in text
    assert "3% of its registered households" in text  # the footnote of "Counts as met"
    guide = assess.county_guide(
        "guazhou",
        households=tables.households,
        villages=tables.villages,
        tables=three,
        household_plans=tables.household_plans,
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
    rows = fake_run_tables().shortfall
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


def _toy_run(inputs):
    """The toy allocation as the pipeline's stage objects (what recommendations_table reads)."""
    from types import SimpleNamespace

    from fupinsim.allocate import build_model, extract_results, solve_model
    from fupinsim.scenario import load_scenario

    scenario = load_scenario(ROOT / "scenarios" / "plan_2015.yaml")
    model = build_model(inputs, ModelSettings())
    result = extract_results(model, solve_model(model, SolveSettings()), SolveSettings())
    first = SimpleNamespace(inputs=inputs, model=model, result=result)
    setup = SimpleNamespace(scenario=scenario, targets=inputs.targets, catalogue=None)
    simulation = SimpleNamespace(meta={}, county_year=pd.DataFrame({"year": [2015, 2016]}))
    return setup, SimpleNamespace(first=first, last=first, simulation=simulation)


def test_recommendations_move_or_add_the_money_that_closes_a_gap_and_say_so() -> None:
    """The toy misses b's 2016 target by 20 exits for lack of 36,000 yuan while a's pool ends
    with 874,000 unspent: move 36,000 from a to b (re-solved: met), or add it; and the unspent
    money gets its own line."""
    setup, loop = _toy_run(toy_inputs(SHORT_MONEY))
    table = recommendations_table(setup, loop)  # type: ignore[arg-type]
    assert list(table.columns) == list(RECOMMENDATION_COLUMNS)
    b = table[table["county_id"] == "b"].set_index("kind")
    assert set(b.index) == {"move money", "add money"}
    for kind in ("move money", "add money"):
        assert b.loc[kind, "money_yuan"] == pytest.approx(36_000.0, rel=1e-6)
        assert b.loc[kind, "effect_exits"] == pytest.approx(20.0, abs=1e-6)
    assert "from A" in b.loc["move money", "action"] and "4 万元" in b.loc["move money", "action"]
    unspent = table[table["kind"] == "use unspent money"]
    assert len(unspent) == 1 and "万元 left unspent" in unspent["action"].iloc[0]


def test_recommendations_raise_the_capacity_that_binds_by_what_closes_the_gap() -> None:
    """Toy b with 40 training seats in 2016: 8 exits short whatever the money; 10 more seats
    close it (test_allocate_results). The recommendation names the seats and its effect."""
    from types import SimpleNamespace

    use = pd.DataFrame(
        {"package_id": ["p1", "p2"], "resource": ["seats", "seats"], "units_per_household": 1.0}
    )
    seats = pd.DataFrame({"resource": ["seats", "seats"], "year": [2015, 2016], "units": [0, 40]})
    inputs = toy_inputs({("b", 2016): 1e6}, counties=("b",), capacity_use=use, capacity=seats)
    setup, loop = _toy_run(inputs)
    caps = pd.DataFrame(
        {"resource": ["seats"], "description": ["Skills-training places."], "unit": ["trainees"]}
    )
    setup.catalogue = SimpleNamespace(capacities=lambda: caps)
    table = recommendations_table(setup, loop)  # type: ignore[arg-type]
    row = table[table["kind"] == "raise capacity"].iloc[0]
    assert "skills-training places in 2016 by 10 (trainees)" in row["action"]
    assert row["effect_exits"] == pytest.approx(8.0, abs=1e-6)
    assert row["money_yuan"] > 0  # the ten more households' packages cost money


def _capacity_toy():
    use = pd.DataFrame(
        {"package_id": ["p1", "p2"], "resource": ["seats", "seats"], "units_per_household": 1.0}
    )
    seats = pd.DataFrame({"resource": ["seats", "seats"], "year": [2015, 2016], "units": [0, 40]})
    return toy_inputs({("b", 2016): 1e6}, counties=("b",), capacity_use=use, capacity=seats)


@pytest.mark.parametrize("case", ["money", "capacity"])
def test_one_highs_model_re_solved_gives_the_rebuilt_pulp_models_recommendations(case) -> None:
    """The fast path (the round-0 LP loaded into HiGHS once, only right-hand sides and costs
    changed) recommends exactly what rebuilding the LP through PuLP for every re-solve does."""
    from types import SimpleNamespace

    setup, loop = _toy_run(toy_inputs(SHORT_MONEY) if case == "money" else _capacity_toy())
    caps = pd.DataFrame(
        {"resource": ["seats"], "description": ["Skills-training places."], "unit": ["trainees"]}
    )
    setup.catalogue = SimpleNamespace(capacities=lambda: caps)
    fast = recommendations_table(setup, loop)  # type: ignore[arg-type]
    slow = recommendations_table(setup, loop, fast=False)  # type: ignore[arg-type]
    assert len(fast) >= 2
    pd.testing.assert_frame_equal(
        fast.drop(columns=["money_yuan", "effect_exits"]),
        slow.drop(columns=["money_yuan", "effect_exits"]),
    )
    for column in ("money_yuan", "effect_exits"):
        assert fast[column].to_numpy() == pytest.approx(slow[column].to_numpy(), abs=1e-6)


def test_a_shortfall_below_one_household_is_not_written_as_zero() -> None:
    """0.26 missing exits: "less than one household (0.3)", never "0 households"."""
    from fupinsim.pipeline.recommend import _hh

    assert _hh(0.26) == "less than one household (0.3)"
    assert (
        _hh(0.0) == "0 households"
        and _hh(1.0) == "1 household"
        and _hh(1234.4) == "1,234 households"
    )

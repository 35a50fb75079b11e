"""Shortfalls a planner can act on: which target, by how much, and what would close it."""

from __future__ import annotations

import math

import pandas as pd
import pytest
from allocation_toy import SHORT_MONEY, toy_inputs

from fupinsim.allocate import ModelSettings, build_model, extract_results, solve_model


def test_unmet_target_names_county_year_and_the_extra_yuan() -> None:
    """b has 36,000 yuan for a 40-exit target: 20 short. p1 from 2016 costs 900 yuan for 0.5
    exit, so 20 exits need 36,000 yuan more in b's pool by 2016 (a's spare money may not be
    used)."""
    model = build_model(toy_inputs(SHORT_MONEY))
    result = extract_results(model, solve_model(model))
    missed = result.shortfall[~result.shortfall["met"]]
    assert len(missed) == 1
    row = missed.iloc[0]
    assert (row["county_id"], row["villages"], row["year"]) == ("b", "all", 2016)
    assert row["target_exits"] == 40
    assert row["projected_exits"] == pytest.approx(20.0)
    assert row["missing_exits"] == pytest.approx(20.0)
    assert row["extra_yuan_to_close"] == pytest.approx(36_000.0, rel=1e-6)
    assert row["binding_resource"] == "money"
    assert row["extra_money_years"] == "2016"
    assert row["message"] == (
        "B misses 2016 by 20 households; 36,000 yuan more in B's pool in 2016 would close it."
    )
    # The missed target is priced at the penalty, not reported as a marginal cost.
    marginal = result.marginal_cost.set_index(["county_id", "year"])
    assert math.isnan(marginal.loc[("b", 2016), "yuan_per_extra_exit"])
    assert "shortfall" in marginal.loc[("b", 2016), "note"]


def test_the_extra_yuan_really_closes_the_gap() -> None:
    """Re-solving with that money added to b's pool meets every target."""
    model = build_model(toy_inputs(SHORT_MONEY))
    extra = extract_results(model, solve_model(model)).shortfall["extra_yuan_to_close"].max()
    money = {**SHORT_MONEY, ("b", 2016): SHORT_MONEY[("b", 2016)] + extra}
    again = build_model(toy_inputs(money))
    assert extract_results(again, solve_model(again)).shortfall["met"].all()


def test_diagnosis_leaves_the_plan_and_the_model_unchanged() -> None:
    model = build_model(toy_inputs(SHORT_MONEY))
    solution = solve_model(model)
    first = extract_results(model, solution)
    assert all(var.upBound == 0.0 for var in model.extra_money.values())
    assert all(var.upBound is None for var in model.shortfall.values())
    second = extract_results(model, solve_model(model))
    pd.testing.assert_frame_equal(first.quotas, second.quotas)
    assert second.solve.objective_value == pytest.approx(solution.objective_value)


def test_when_capacity_binds_money_does_not_help() -> None:
    """Only county b; 40 training seats in 2016 and none in 2015 (both packages need a seat):
    at most 40 × 0.8 = 32 exits by 2016, 8 short whatever the money. Ten more seats in 2016
    (50 × 0.8 = 40) would close it."""
    use = pd.DataFrame(
        {"package_id": ["p1", "p2"], "resource": ["seats", "seats"], "units_per_household": 1.0}
    )
    seats = pd.DataFrame({"resource": ["seats", "seats"], "year": [2015, 2016], "units": [0, 40]})
    inputs = toy_inputs({("b", 2016): 1e6}, counties=("b",), capacity_use=use, capacity=seats)
    model = build_model(inputs)
    row = extract_results(model, solve_model(model)).shortfall.iloc[0]
    assert row["missing_exits"] == pytest.approx(8.0)
    assert math.isnan(row["extra_yuan_to_close"])
    assert row["binding_resource"] == "seats"
    assert row["message"] == (
        "B misses 2016 by 8 households; seats capacity binds, money does not help "
        "(it needs 10 more seats in 2016)."
    )


def test_when_no_package_can_reach_the_target() -> None:
    """90 exits from 100 households whose best package lifts 80%: exit_yield binds."""
    inputs = toy_inputs({("b", 2016): 1e6}, counties=("b",), targets=[("b", "all", 2016, 90)])
    model = build_model(inputs)
    row = extract_results(model, solve_model(model)).shortfall.iloc[0]
    assert row["missing_exits"] == pytest.approx(10.0)
    assert math.isnan(row["extra_yuan_to_close"])
    assert row["binding_resource"] == "exit_yield"
    assert "neither money nor capacity" in row["message"]


def test_unused_money_carries_and_lapses() -> None:
    money = {("a", 2015): 200_000.0, ("b", 2016): 100_000.0}
    for carry_over, a_2016 in ((True, 200_000.0 - 126_000.0), (False, 0.0)):
        model = build_model(toy_inputs(money), ModelSettings(carry_over=carry_over))
        result = extract_results(model, solve_model(model), close_gaps=False)
        unused = result.unused_money.set_index(["pool", "year"])["amount_yuan"]
        assert unused[("b", 2016)] == pytest.approx(100_000.0 - 72_000.0)
        if carry_over:
            assert unused[("a", 2016)] == pytest.approx(a_2016)
        assert list(result.unused_money.columns) == ["pool", "year", "amount_yuan"]

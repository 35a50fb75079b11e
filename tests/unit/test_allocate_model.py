"""The allocation LP: hand-computed optimum and duals, pools, carry-over, size, input checks."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from allocation_toy import (
    DUALS,
    HOUSEHOLD_DUAL_A,
    OPTIMAL_COST,
    SHORT_MONEY,
    toy_costs,
    toy_inputs,
    toy_yields,
)

from fupinsim.allocate import (
    AllocationInputs,
    ModelSettings,
    SolveSettings,
    build_model,
    extract_results,
    solve_model,
)
from fupinsim.errors import InputError

SOLVERS = ["highs", "cbc"]


@pytest.mark.parametrize("solver", SOLVERS)
def test_toy_optimum_and_duals_match_the_hand_computation(solver: str) -> None:
    """See ``allocation_toy`` for the hand computation (198,000 yuan; duals 200 / 3,000 /
    1,800 yuan per extra exit; 600 yuan per extra household in county a)."""
    model = build_model(toy_inputs())
    solution = solve_model(model, SolveSettings(solver=solver, fallback=False))
    assert solution.solver == solver
    assert solution.objective_value == pytest.approx(OPTIMAL_COST, rel=1e-9)
    result = extract_results(model, solution)

    quotas = result.quotas.set_index(["type_id", "package_id", "start_year"])["households"]
    assert quotas[("ta", "p1", 2015)] == pytest.approx(60.0, abs=1e-6)
    assert quotas[("ta", "p1", 2016)] == pytest.approx(20 / 3, abs=1e-6)
    assert quotas[("ta", "p2", 2016)] == pytest.approx(100 / 3, abs=1e-6)
    assert quotas[("tb", "p1", 2016)] == pytest.approx(80.0, abs=1e-6)
    assert result.summary["fiscal_yuan"] == pytest.approx(OPTIMAL_COST)

    marginal = result.marginal_cost.set_index(["county_id", "villages", "year"])
    for key, dual in DUALS.items():
        assert marginal.loc[key, "yuan_per_extra_exit"] == pytest.approx(dual, rel=1e-6)
    assert solution.dual(model.household_rows["ta"]) == pytest.approx(HOUSEHOLD_DUAL_A, rel=1e-6)
    assert result.shortfall["met"].all()


def test_allocation_table_has_the_contract_columns() -> None:
    model = build_model(toy_inputs())
    result = extract_results(model, solve_model(model))
    assert list(result.allocation.columns) == [
        "county_id",
        "villages",
        "year",
        "package_id",
        "option_id",
        "households",
        "fiscal_yuan",
        "credit_yuan",
        "household_yuan",
        "pool_city_yuan",
        "pool_county_yuan",
    ]
    allocation = result.allocation
    pools = allocation["pool_city_yuan"] + allocation["pool_county_yuan"]
    assert pools.to_numpy() == pytest.approx(allocation["fiscal_yuan"].to_numpy())
    assert allocation["households"].sum() == pytest.approx(180.0)


def test_county_money_never_pays_for_another_countys_households() -> None:
    """a's pool has 874,000 yuan left over, yet b stays 20 exits short."""
    model = build_model(toy_inputs(SHORT_MONEY))
    assert {pool for (county, _, pool) in model.pay if county == "b"} == {"b", "city"}
    result = extract_results(model, solve_model(model), close_gaps=False)
    paid_for_b = result.spending[result.spending["county_id"] == "b"]
    assert set(paid_for_b["pool"]) == {"b"}
    assert paid_for_b["amount_yuan"].sum() == pytest.approx(36_000.0)
    unused = result.unused_money.set_index(["pool", "year"])["amount_yuan"]
    assert unused[("a", 2016)] == pytest.approx(1e6 - 126_000.0)
    short = result.shortfall.set_index(["county_id", "year"])
    assert short.loc[("b", 2016), "missing_exits"] == pytest.approx(20.0)


def test_city_money_can_pay_for_any_county() -> None:
    money = {**SHORT_MONEY, ("city", 2016): 36_000.0}
    model = build_model(toy_inputs(money))
    result = extract_results(model, solve_model(model))
    assert result.shortfall["met"].all()
    spending = result.spending.set_index(["pool", "county_id", "year"])["amount_yuan"]
    assert spending[("city", "b", 2016)] == pytest.approx(36_000.0)


@pytest.mark.parametrize(("carry_over", "missing"), [(True, 0.0), (False, 4.0)])
def test_carry_over_lets_early_money_pay_later(carry_over: bool, missing: float) -> None:
    """b's 72,000 yuan arrive in 2015. Carried over, they buy 80 households on p1/2016 (900
    yuan each): 40 exits, target met. Without carry-over they must be spent in 2015: the best
    buy is p1/2015 at 1,000 yuan, 72 households, 36 exits: 4 short."""
    money = {("a", 2015): 1e6, ("b", 2015): 72_000.0, ("b", 2016): 0.0}
    model = build_model(toy_inputs(money), ModelSettings(carry_over=carry_over))
    result = extract_results(model, solve_model(model), close_gaps=False)
    short = result.shortfall.set_index(["county_id", "year"])["missing_exits"]
    assert short[("b", 2016)] == pytest.approx(missing, abs=1e-6)


def test_lp_size_does_not_grow_with_households() -> None:
    small = build_model(toy_inputs(n_households=100))
    large = build_model(toy_inputs(n_households=10_000_000))
    assert small.n_variables == large.n_variables
    assert small.n_constraints == large.n_constraints


def test_names_are_built_from_ascii_ids() -> None:
    model = build_model(toy_inputs())
    pattern = re.compile(r"^[A-Za-z0-9_]+$")
    assert all(pattern.match(v.name) for v in model.problem.variables())
    assert all(pattern.match(row.name) for row in model.problem.constraints())
    assert model.x[("ta", "p1", 2015)].name == "x__ta__p1__2015"
    assert model.target_rows[("b", "all", 2016)] == "target__b__all__2016"


def test_an_id_that_cannot_be_a_name_is_rejected() -> None:
    inputs = toy_inputs()
    yields = inputs.yields.copy()
    yields.loc[yields["package_id"] == "p1", "package_id"] = "p-1"
    costs = toy_costs().replace({"package_id": {"p1": "p-1"}})
    bad = AllocationInputs(yields, inputs.funding, inputs.targets, costs)
    with pytest.raises(InputError, match="p-1"):
        build_model(bad)


def test_missing_baseline_and_costs_are_reported_together() -> None:
    inputs = toy_inputs()
    yields = inputs.yields[
        ~((inputs.yields["package_id"] == "none") & (inputs.yields["type_id"] == "tb"))
    ]
    costs = toy_costs()[lambda c: c["package_id"] != "p2"]
    with pytest.raises(InputError) as info:
        build_model(AllocationInputs(yields, inputs.funding, inputs.targets, costs))
    text = str(info.value)
    assert "'none' (baseline)" in text
    assert "costs of every package option" in text


def test_costs_outside_the_funding_years_are_rejected() -> None:
    inputs = toy_inputs()
    costs = toy_costs().assign(spend_year=lambda c: c["start_year"] + 1)
    with pytest.raises(InputError, match="funding year"):
        build_model(AllocationInputs(inputs.yields, inputs.funding, inputs.targets, costs))


def test_costs_may_be_spread_over_years() -> None:
    """p1 from 2015 paid 500 + 500 over 2015-16: same total, same optimum."""
    inputs = toy_inputs()
    costs = toy_costs().assign(spend_year=lambda c: c["start_year"])
    spread = costs[costs["package_id"].eq("p1") & costs["start_year"].eq(2015)]
    halves = pd.concat(
        [
            spread.assign(cost_fiscal_yuan=500.0),
            spread.assign(cost_fiscal_yuan=500.0, spend_year=2016),
        ]
    )
    costs = pd.concat([costs.drop(spread.index), halves], ignore_index=True)
    model = build_model(AllocationInputs(inputs.yields, inputs.funding, inputs.targets, costs))
    result = extract_results(model, solve_model(model))
    assert result.solve.objective_value == pytest.approx(OPTIMAL_COST)
    a_2016 = result.spending.query("county_id == 'a' and year == 2016")["amount_yuan"].sum()
    assert a_2016 == pytest.approx(30_000 + 6_000 + 60_000)


def test_credit_capacity_uses_the_packages_credit() -> None:
    """Credit of 1,000 yuan per p2 household, 20,000 yuan of credit in 2016: at most 20 p2
    households start in 2016, across counties (2015 credit is not capped)."""
    inputs = toy_inputs()
    costs = toy_costs()
    costs.loc[costs["package_id"] == "p2", "cost_credit_yuan"] = 1_000.0
    capacity = pd.DataFrame({"resource": ["credit_yuan"], "year": [2016], "units": [20_000.0]})
    bounded = AllocationInputs(
        inputs.yields, inputs.funding, inputs.targets, costs, capacity=capacity
    )
    model = build_model(bounded)
    result = extract_results(model, solve_model(model))
    p2_2016 = result.quotas.query("package_id == 'p2' and start_year == 2016")["households"]
    assert p2_2016.sum() == pytest.approx(20.0)
    credit_2016 = result.quotas.query("start_year == 2016")["credit_yuan"].sum()
    assert credit_2016 == pytest.approx(20_000.0)


def test_yields_without_package_costs_take_the_cost_columns() -> None:
    inputs = toy_inputs()
    yields = inputs.yields.merge(toy_costs(), on=["package_id", "start_year"], how="left")
    yields[["cost_fiscal_yuan", "cost_credit_yuan", "cost_household_yuan"]] = yields[
        ["cost_fiscal_yuan", "cost_credit_yuan", "cost_household_yuan"]
    ].fillna(0.0)
    model = build_model(AllocationInputs(yields, inputs.funding, inputs.targets))
    assert solve_model(model).objective_value == pytest.approx(OPTIMAL_COST)


def test_the_objective_has_no_constant() -> None:
    """Baseline exits are moved to the right-hand side, so MPS files keep the objective."""
    yields = toy_yields()
    yields.loc[yields["package_id"] == "none", "exit_prob"] = 0.1
    inputs = toy_inputs()
    for objective in ("min_cost", "max_exits"):
        model = build_model(
            AllocationInputs(yields, inputs.funding, inputs.targets, toy_costs()),
            ModelSettings(objective=objective),
        )
        assert model.problem.objective.constant == 0.0


def test_repeated_rows_add_up_instead_of_replacing_each_other() -> None:
    """p1 listed twice with half a seat each uses one seat: 30 seats allow 30 p1 households
    in 2015 (PuLP alone would keep only the last half seat and allow 60)."""
    use = pd.DataFrame(
        {"package_id": ["p1", "p1"], "resource": ["seats", "seats"], "units_per_household": 0.5}
    )
    seats = pd.DataFrame({"resource": ["seats"], "year": [2015], "units": [30.0]})
    model = build_model(toy_inputs(capacity_use=use, capacity=seats))
    result = extract_results(model, solve_model(model))
    p1_2015 = result.quotas.query("package_id == 'p1' and start_year == 2015")["households"]
    assert p1_2015.sum() == pytest.approx(30.0)


def test_n_eligible_bounds_how_many_of_a_type_get_a_package() -> None:
    """Only 10 of b's 100 households fit p1 (as the yields module reports): b must use p2 for
    the rest of its 40 exits: 10 × 0.5 + 0.8 v = 40 ⇒ v = 43.75 on p2/2016."""
    inputs = toy_inputs()
    yields = inputs.yields.copy()
    yields["n_eligible"] = np.where(
        (yields["type_id"] == "tb") & (yields["package_id"] == "p1"), 10.0, 100.0
    )
    model = build_model(AllocationInputs(yields, inputs.funding, inputs.targets, toy_costs()))
    result = extract_results(model, solve_model(model))
    quotas = result.quotas.query("type_id == 'tb'").groupby("package_id")["households"].sum()
    assert quotas["p1"] == pytest.approx(10.0)
    assert quotas["p2"] == pytest.approx(43.75)


def test_a_household_gets_a_package_from_one_start_year_only() -> None:
    """10 of b's households fit p1, and p1 is b's cheapest exit in both 2015 and 2016: without
    a bound over the start years the LP gives p1 to 10 households in 2015 and 10 more in 2016,
    20 of 10 (issue 10: counted twice, then dropped silently by the household plans)."""
    inputs = toy_inputs(
        targets=[
            ("a", "all", 2015, 30),
            ("a", "all", 2016, 60),
            ("b", "all", 2015, 5),
            ("b", "all", 2016, 40),
        ],
        money={("a", 2015): 1e6, ("b", 2015): 1e6},
    )
    yields = inputs.yields.copy()
    yields["n_eligible"] = np.where(
        (yields["type_id"] == "tb") & (yields["package_id"] == "p1"), 10.0, 100.0
    )
    model = build_model(AllocationInputs(yields, inputs.funding, inputs.targets, toy_costs()))
    result = extract_results(model, solve_model(model))
    quotas = result.quotas.query("type_id == 'tb'").groupby("package_id")["households"].sum()
    assert quotas["p1"] <= 10.0 + 1e-6
    assert ("tb", "p1") in model.eligible_rows
    assert result.summary["missing_exits"] == pytest.approx(0.0, abs=1e-6)


def test_households_that_bear_two_packages_are_counted_once() -> None:
    """a's 30 richest households bear p1 and p2 (the other 70 need a top-up of 500 yuan): the
    cheap options of both packages together take at most those 30 (issue 10: without the
    chain the household plans could not fill them and dropped thousands)."""
    inputs = toy_inputs({("a", 2015): 1e6}, counties=("a",))
    yields = inputs.yields.copy()
    top = yields[yields["package_id"] != "none"].assign(
        package_id=lambda f: f["package_id"] + "_topup", n_eligible=70.0
    )
    yields["n_eligible"] = np.where(yields["package_id"] == "none", 100.0, 30.0)
    yields = pd.concat([yields, top], ignore_index=True)
    costs = toy_costs()
    costs = pd.concat(
        [
            costs,
            costs.assign(
                package_id=costs["package_id"] + "_topup",
                cost_fiscal_yuan=costs["cost_fiscal_yuan"] + 500.0,
            ),
        ],
        ignore_index=True,
    )
    model = build_model(AllocationInputs(yields, inputs.funding, inputs.targets, costs))
    result = extract_results(model, solve_model(model))
    quotas = result.quotas.groupby("package_id")["households"].sum()
    assert quotas.get("p1", 0.0) + quotas.get("p2", 0.0) <= 30.0 + 1e-6
    assert quotas.get("p1_topup", 0.0) + quotas.get("p2_topup", 0.0) <= 70.0 + 1e-6
    assert result.summary["missing_exits"] == pytest.approx(0.0, abs=1e-6)

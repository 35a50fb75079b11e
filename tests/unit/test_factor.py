"""The factor-method baseline: split by formula, poorest first, compared with the optimum."""

from __future__ import annotations

import pandas as pd
import pytest
from allocation_toy import toy_inputs, toy_yields

from fupinsim.allocate import (
    AllocationInputs,
    FactorWeights,
    allocate,
    compare_allocations,
    county_factors,
    factor_allocation,
    factor_shares,
    factor_split,
    prepare_inputs,
)
from fupinsim.errors import InputError

FACTORS = pd.DataFrame(
    {
        "county_id": ["a", "b"],
        "poor_population": [100.0, 300.0],
        "poverty_depth": [50.0, 50.0],
        "revenue_yuan": [1e6, 4e6],
    }
)


def test_factor_shares_by_hand() -> None:
    """Population shares 0.25 / 0.75, depth 0.5 / 0.5, inverse revenue 0.8 / 0.2:
    a = 0.5 × 0.25 + 0.3 × 0.5 + 0.2 × 0.8 = 0.435; b = 0.565."""
    shares = factor_shares(FACTORS).set_index("county_id")
    assert shares.loc["a", "share"] == pytest.approx(0.435)
    assert shares.loc["b", "share"] == pytest.approx(0.565)
    assert shares.loc["a", "fiscal_capacity"] == pytest.approx(0.8)
    other = factor_shares(FACTORS, FactorWeights(1.0, 0.0, 0.0)).set_index("county_id")
    assert other.loc["a", "share"] == pytest.approx(0.25)


def test_weights_must_sum_to_one() -> None:
    with pytest.raises(InputError, match="sum to 1"):
        FactorWeights(0.5, 0.5, 0.5)


def test_the_split_passes_every_city_yuan_to_the_counties() -> None:
    funding = pd.DataFrame(
        {
            "pool": ["city", "city", "a"],
            "source": ["provincial_transfer", "earmark", "earmark"],
            "year": [2015, 2015, 2015],
            "amount_yuan": [1_000.0, 100.0, 50.0],
        }
    )
    split = factor_split(funding, factor_shares(FACTORS))
    assert "city" not in set(split["pool"])
    assert split["amount_yuan"].sum() == pytest.approx(1_150.0)
    got = split.set_index(["pool", "source"])["amount_yuan"]
    assert got[("a", "provincial_transfer")] == pytest.approx(435.0)
    assert got[("b", "provincial_transfer")] == pytest.approx(565.0)
    assert got[("a", "earmark")] == pytest.approx(50.0 + 43.5)


def toy_with_city_money() -> AllocationInputs:
    """a: 60,000 own yuan in 2015; the city 100,000 yuan in 2016."""
    return toy_inputs({("a", 2015): 60_000.0, ("city", 2016): 100_000.0, ("b", 2016): 0.0})


def test_within_county_rule_by_hand() -> None:
    """Shares 0.5 / 0.5. The best package (highest yield) is p2, the cheapest that helps p1.
    2015: a buys 60,000 / 2,000 = 30 households on p2; nothing is left for p1. 2016: each
    county receives 50,000; a buys 50,000 / 1,800 = 27.8 more on p2, b the same. Every yuan is
    spent (issue 10: the cheapest-package rule left money unspent)."""
    shares = pd.DataFrame({"county_id": ["a", "b"], "share": [0.5, 0.5]})
    result = factor_allocation(toy_with_city_money(), shares)
    quotas = result.quotas.set_index(["type_id", "package_id", "start_year"])["households"]
    assert quotas[("ta", "p2", 2015)] == pytest.approx(30.0)
    assert quotas[("ta", "p2", 2016)] == pytest.approx(50_000 / 1_800)
    assert quotas[("tb", "p2", 2016)] == pytest.approx(50_000 / 1_800)
    assert (result.quotas["package_id"] == "p2").all()
    assert (result.allocation["pool_city_yuan"] == 0.0).all()
    assert result.unused_money["amount_yuan"].sum() == pytest.approx(0.0, abs=1e-6)
    missing = result.shortfall.set_index(["county_id", "year"])["missing_exits"]
    assert missing[("a", 2015)] == pytest.approx(30 - 0.8 * 30)
    assert missing[("a", 2016)] == pytest.approx(60 - 0.8 * (30 + 50_000 / 1_800))
    assert missing[("b", 2016)] == pytest.approx(40 - 0.8 * 50_000 / 1_800)


def test_the_money_left_after_the_best_packages_buys_the_cheapest() -> None:
    """Ample money, but p2 is capped at 10 households in 2015 and 5 in 2016: the rest of the
    households get p1, the cheapest package that helps, the same year."""
    use = pd.DataFrame({"package_id": ["p2"], "resource": ["seats"], "units_per_household": [1.0]})
    seats = pd.DataFrame({"resource": ["seats", "seats"], "year": [2015, 2016], "units": [10, 5]})
    inputs = toy_inputs(capacity_use=use, capacity=seats)
    shares = pd.DataFrame({"county_id": ["a", "b"], "share": [0.5, 0.5]})
    result = factor_allocation(inputs, shares)
    quotas = result.quotas.set_index(["type_id", "package_id", "start_year"])["households"]
    assert quotas[("ta", "p2", 2015)] == pytest.approx(10.0)
    assert quotas[("ta", "p1", 2015)] == pytest.approx(90.0)
    assert quotas[("tb", "p2", 2016)] == pytest.approx(5.0)
    assert quotas[("tb", "p1", 2016)] == pytest.approx(95.0)


def test_poorest_type_first() -> None:
    """Two types in b (income bands 1 and 2), money for 20 households on the best package
    (36,000 / 1,800): band 1 gets them all."""
    poor = toy_yields(("b",)).assign(type_id="tb1", income_band=1)
    richer = toy_yields(("b",)).assign(type_id="tb2", income_band=2)
    yields = pd.concat([richer, poor], ignore_index=True)
    base = toy_inputs({("b", 2016): 36_000.0}, counties=("b",))
    inputs = AllocationInputs(yields, base.funding, base.targets, base.package_costs)
    result = factor_allocation(inputs, pd.DataFrame({"county_id": ["b"], "share": [1.0]}))
    assert set(result.quotas["type_id"]) == {"tb1"}
    assert result.quotas["households"].sum() == pytest.approx(20.0)


def test_capacity_is_respected() -> None:
    use = pd.DataFrame({"package_id": ["p1"], "resource": ["seats"], "units_per_household": [1.0]})
    seats = pd.DataFrame({"resource": ["seats", "seats"], "year": [2015, 2016], "units": [10, 5]})
    # p1 is the only package: yields of p2 removed.
    base = toy_inputs(capacity_use=use, capacity=seats)
    yields = base.yields[base.yields["package_id"] != "p2"]
    costs = base.package_costs[base.package_costs["package_id"] != "p2"]
    inputs = AllocationInputs(yields, base.funding, base.targets, costs, use, seats)
    shares = pd.DataFrame({"county_id": ["a", "b"], "share": [0.5, 0.5]})
    result = factor_allocation(inputs, shares)
    per_year = result.quotas.groupby("start_year")["households"].sum()
    assert per_year[2015] == pytest.approx(10.0)
    assert per_year[2016] == pytest.approx(5.0)


def test_comparison_with_the_optimised_plan() -> None:
    """Same money: the LP may not miss more target exits than the rule, nor spend more for
    the same (here: fewer) missing exits."""
    inputs = toy_with_city_money()
    shares = pd.DataFrame({"county_id": ["a", "b"], "share": [0.5, 0.5]})
    factor = factor_allocation(inputs, shares)
    optimised = allocate(inputs)
    table = compare_allocations(
        inputs, {"optimised": optimised.quotas, "factor": factor.quotas}, {"factor": 0.1}
    )
    assert list(table.columns) == [
        "method",
        "exits_2015",
        "exits_2016",
        "households_supported",
        "cost_fiscal_yuan",
        "cost_credit_yuan",
        "cost_household_yuan",
        "missing_exits",
        "targets_missed",
        "p_all_targets_met",
    ]
    rows = table.set_index("method")
    p2_2016 = 50_000 / 1_800  # households a and b each buy on p2 in 2016
    assert rows.loc["factor", "missing_exits"] == pytest.approx(
        6.0 + (60 - 0.8 * (30 + p2_2016)) + (40 - 0.8 * p2_2016)
    )
    assert rows.loc["optimised", "missing_exits"] < rows.loc["factor", "missing_exits"]
    assert rows.loc["factor", "cost_fiscal_yuan"] == pytest.approx(60_000 + 50_000 + 50_000)
    assert rows.loc["factor", "p_all_targets_met"] == 0.1
    assert pd.isna(rows.loc["optimised", "p_all_targets_met"])
    assert rows.loc["optimised", "missing_exits"] == pytest.approx(
        optimised.summary["missing_exits"]
    )


def test_county_factors_from_the_inputs() -> None:
    data = prepare_inputs(toy_with_city_money())
    revenue = pd.DataFrame({"level": ["a", "b"], "year": [2015, 2015], "revenue_yuan": [1e6, 2e6]})
    factors = county_factors(data, revenue).set_index("county_id")
    assert factors.loc["a", "poor_population"] == 100
    assert factors.loc["b", "poverty_depth"] == 100  # nobody exits without support
    gap = pd.DataFrame({"county_id": ["a", "b"], "poverty_gap_yuan": [5e5, 1e5]})
    with_gap = county_factors(data, revenue, gap).set_index("county_id")
    assert with_gap.loc["a", "poverty_depth"] == 5e5

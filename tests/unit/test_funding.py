"""Funding pools (plan §19): earmarks on revenue increases, other sources, pools and units."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from fupinsim.errors import InputError
from fupinsim.funding import SOURCES, build_funding, pool_totals
from fupinsim.scenario import Scenario, load_scenario, merge_overrides

PLAN = Path(__file__).resolve().parents[2] / "scenarios" / "plan_2015.yaml"


@pytest.fixture(scope="module")
def plan() -> Scenario:
    return load_scenario(PLAN)


def with_funding(base: Scenario, **changes: Any) -> Scenario:
    """The plan with some fields of its ``funding`` section replaced."""
    data = base.model_dump()
    data["funding"] = {**data["funding"], **changes}
    return Scenario.model_validate(data)


def amount(table: Any, pool: str, source: str, year: int) -> float:
    rows = table[(table["pool"] == pool) & (table["source"] == source) & (table["year"] == year)]
    assert len(rows) == 1, (pool, source, year)
    return float(rows["amount_yuan"].iloc[0])


def test_earmark_is_the_share_of_the_revenue_increase_in_yuan(plan: Scenario) -> None:
    """City 2014 revenue 120,000 wan, +5% in 2015: increase 6,000 wan; 10% of it = 6,000,000
    yuan. Suzhou 80,000 wan, +5%: 4,000 wan; 15% = 6,000,000 yuan."""
    revenue_2014 = {**plan.funding.revenue_2014_wan, "city": 120_000.0, "suzhou": 80_000.0}
    growth = {"all": {2015: 0.05, 2016: 0.04, 2017: 0.06}}
    scenario = with_funding(
        plan,
        revenue_2014_wan=revenue_2014,
        revenue_growth=growth,
        earmark_share_city=0.10,
        earmark_share_county=0.15,
    )
    tables = build_funding(scenario)
    assert amount(tables.funding, "city", "earmark", 2015) == pytest.approx(6_000_000)
    assert amount(tables.funding, "suzhou", "earmark", 2015) == pytest.approx(6_000_000)
    revenue = tables.revenue.set_index(["level", "year"])
    assert revenue.loc[("city", 2015), "revenue_yuan"] == pytest.approx(1.26e9)
    assert revenue.loc[("city", 2015), "increase_yuan"] == pytest.approx(6.0e7)


def test_earmark_is_zero_when_revenue_falls(plan: Scenario) -> None:
    """2016 revenue falls 5%: no earmark in 2016 anywhere; 2017 grows 6% on the lower base."""
    growth = {"all": {2015: 0.05, 2016: -0.05, 2017: 0.06}}
    revenue_2014 = {**plan.funding.revenue_2014_wan, "city": 120_000.0}
    scenario = with_funding(
        plan, revenue_growth=growth, revenue_2014_wan=revenue_2014, earmark_share_city=0.10
    )
    tables = build_funding(scenario)
    earmarks_2016 = tables.funding[
        (tables.funding["source"] == "earmark") & (tables.funding["year"] == 2016)
    ]
    assert (earmarks_2016["amount_yuan"] == 0.0).all()
    rev = tables.revenue.set_index(["level", "year"])
    assert rev.loc[("city", 2016), "increase_yuan"] < 0
    # 2017: 10% of 6% of 1.2e9 × 1.05 × 0.95.
    expected = 0.10 * 0.06 * 1.2e9 * 1.05 * 0.95
    assert amount(tables.funding, "city", "earmark", 2017) == pytest.approx(expected)


def test_a_level_growth_overrides_all_year_by_year(plan: Scenario) -> None:
    growth = {"all": {2015: 0.05, 2016: 0.04, 2017: 0.06}, "guazhou": {2016: 0.10}}
    tables = build_funding(with_funding(plan, revenue_growth=growth))
    rev = tables.revenue.set_index(["level", "year"])["revenue_yuan"]
    assert rev[("guazhou", 2016)] / rev[("guazhou", 2015)] == pytest.approx(1.10)
    assert rev[("guazhou", 2017)] / rev[("guazhou", 2016)] == pytest.approx(1.06)
    assert rev[("yumen", 2016)] / rev[("yumen", 2015)] == pytest.approx(1.04)


def test_other_sources_and_where_the_money_lives(plan: Scenario) -> None:
    """Agriculture funds: county, every year; idle funds: the recovery share of the stock, in
    the first year only; provincial transfers and donations: city pool only (wan → yuan)."""
    money = plan.funding
    table = build_funding(plan).funding
    guazhou = money.integrated_agriculture_wan["guazhou"] * 10_000
    assert guazhou > 0
    assert amount(table, "guazhou", "integrated_agriculture", 2016) == pytest.approx(guazhou)
    assert amount(table, "city", "integrated_agriculture", 2016) == 0.0
    idle = money.idle_recovery_share * money.idle_stock_wan["city"] * 10_000
    assert amount(table, "city", "idle_recovery", 2015) == pytest.approx(idle)
    assert amount(table, "city", "idle_recovery", 2016) == 0.0
    transfer = money.provincial_transfer_wan[2017] * 10_000
    assert amount(table, "city", "provincial_transfer", 2017) == pytest.approx(transfer)
    donations = money.pairing_donations_wan[2015] * 10_000
    assert amount(table, "city", "pairing_donations", 2015) == pytest.approx(donations)
    counties = table[table["pool"] != "city"]
    transfers = counties[counties["source"].isin(["provincial_transfer", "pairing_donations"])]
    assert (transfers["amount_yuan"] == 0.0).all()


def test_wan_are_converted_to_yuan(plan: Scenario) -> None:
    """1,200 wan of agriculture funds for Guazhou are 12,000,000 yuan."""
    scenario = with_funding(
        plan,
        integrated_agriculture_wan={**plan.funding.integrated_agriculture_wan, "guazhou": 1_200},
    )
    table = build_funding(scenario).funding
    assert amount(table, "guazhou", "integrated_agriculture", 2015) == 12_000_000


def test_every_pool_source_and_year_is_present(plan: Scenario) -> None:
    table = build_funding(plan).funding
    assert list(table.columns) == ["pool", "source", "year", "amount_yuan"]
    assert set(table["pool"]) == {"city", *plan.counties}
    assert set(table["source"]) == set(SOURCES)
    assert set(table["year"]) == {2015, 2016, 2017}
    assert len(table) == (1 + len(plan.counties)) * len(SOURCES) * 3
    assert (table["amount_yuan"] >= 0).all()
    totals = pool_totals(table)
    assert totals["amount_yuan"].sum() == pytest.approx(table["amount_yuan"].sum())


def test_only_the_scenarios_counties_get_pools(plan: Scenario) -> None:
    data = merge_overrides(plan.model_dump(), {"counties": ["guazhou", "yumen"]})
    table = build_funding(Scenario.model_validate(data)).funding
    assert set(table["pool"]) == {"city", "guazhou", "yumen"}


def test_a_missing_growth_year_names_the_year(plan: Scenario) -> None:
    growth = {"all": {2015: 0.05, 2017: 0.06}}
    with pytest.raises(InputError, match="2016"):
        build_funding(with_funding(plan, revenue_growth=growth))


def test_an_unknown_level_is_reported(plan: Scenario) -> None:
    stock = {**plan.funding.idle_stock_wan, "guazou": 100.0}
    with pytest.raises(InputError, match="guazou"):
        build_funding(with_funding(plan, idle_stock_wan=stock))

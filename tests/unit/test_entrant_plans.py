"""Plans for the living registry's entrants (issue 10, item 4): the base registry's rules."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from fupinsim import data
from fupinsim.allocate.entrants import PLAN_REASONS, plan_entrants
from fupinsim.allocate.yields import household_types
from fupinsim.microsim import exit_targets, load_catalogue, simulate
from fupinsim.pipeline.registry_years import living_registry_stage
from fupinsim.pipeline.stages import registry_stage
from fupinsim.registry import Registry
from fupinsim.scenario import Scenario


def _base_plan(registry: Registry, scenario: Scenario) -> pd.DataFrame:
    """A plan over the registered households: every household package in turn per type."""
    types = household_types(registry.households, scenario.allocation.income_bands)
    catalogue = load_catalogue(scenario)
    packages = {
        lc: [
            p.id
            for p in catalogue.packages.values()
            if p.level == "household"
            and (p.target == "social_security") == (lc == "ss")
            and p.target in ("development", "social_security")
        ]
        for lc in types["labour_class"].unique()
    }
    position = types.groupby("labour_class").cumcount().to_numpy()
    types["package_id"] = [
        packages[lc][k % len(packages[lc])]
        for lc, k in zip(types["labour_class"], position, strict=True)
    ]
    return types


def _entrants(registry: Registry, n: int, year: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    hh = registry.households
    pool = hh[~hh["is_registered"].to_numpy(dtype=bool)].iloc[:n]
    entrants = pd.DataFrame(
        {
            "household_id": pool["household_id"].to_numpy(),
            "entry_year": year,
            "support_class": pool["support_class"].astype(str).to_numpy(),
        }
    )
    return entrants, pool


def _money(scenario: Scenario, amount: float) -> pd.DataFrame:
    years = range(scenario.funding.first_year, scenario.funding.last_year + 1)
    pools = ["city", *data.COUNTY_IDS]
    return pd.DataFrame(
        [(p, y, amount) for p in pools for y in years], columns=["pool", "year", "amount_yuan"]
    )


def _plan(registry: Registry, scenario: Scenario, amount: float, year: int = 2015):
    entrants, rows = _entrants(registry, 400, year)
    income = rows["true_income_pc"].to_numpy() * 0.8
    return plan_entrants(
        entrants,
        rows,
        registry.villages,
        income,
        _base_plan(registry, scenario),
        _money(scenario, amount),
        load_catalogue(scenario),
        scenario,
    ), entrants


def test_every_entrant_gets_a_plan_or_a_reason(
    plan_registry: Registry, plan_scenario: Scenario
) -> None:
    plans, entrants = _plan(plan_registry, plan_scenario, 1e9)
    assert plans["household_id"].tolist() == entrants["household_id"].tolist()
    assert set(plans["plan_reason"]) <= set(PLAN_REASONS)
    planned = plans[plans["plan_reason"] == "planned"]
    assert len(planned) > 0.5 * len(plans)  # ample money: only those without a package wait
    assert set(plans["plan_reason"]) <= {"planned", "no_package"}
    assert (planned["start_year"] == 2016).all() and (planned["package_id"] != "").all()
    assert (planned["cost_fiscal_yuan"] > 0).all() and (planned["pool"] != "").all()
    waiting = plans[plans["plan_reason"] != "planned"]
    assert waiting["start_year"].isna().all() and (waiting["cost_fiscal_yuan"] == 0).all()


def test_entrants_are_paid_from_the_money_left_and_no_more(
    plan_registry: Registry, plan_scenario: Scenario
) -> None:
    none, _ = _plan(plan_registry, plan_scenario, 0.0)
    assert set(none["plan_reason"]) <= {"no_money", "no_package"}
    assert (none["plan_reason"] == "no_money").any()
    some, _ = _plan(plan_registry, plan_scenario, 60_000.0)
    planned = some[some["plan_reason"] == "planned"]
    assert 0 < len(planned) < (some["plan_reason"] != "no_package").sum()
    # 60,000 yuan left at every year's end: carried over, that is all a pool has to give.
    assert plan_scenario.funding.carry_over
    assert (planned.groupby("pool")["cost_fiscal_yuan"].sum() <= 60_000.0 + 1).all()
    assert (planned["start_year"] >= 2016).all()
    after, _ = _plan(plan_registry, plan_scenario, 1e9, year=plan_scenario.funding.last_year)
    assert (after["plan_reason"] == "after_plan").all()


@pytest.mark.slow
def test_run_entrants_of_2015_and_2016_have_plans_and_targets_do_not_move(
    plan_scenario: Scenario,
) -> None:
    setup = registry_stage(plan_scenario)
    targets = setup.targets.copy()
    final = simulate(
        setup.registry,
        pd.DataFrame(
            {
                "household_id": pd.Series(dtype=np.int64),
                "package_id": pd.Series(dtype=str),
                "start_year": pd.Series(dtype=np.int64),
            }
        ),
        plan_scenario,
        village_plan=setup.village_plan,
        replications=4,
    )
    without = living_registry_stage(setup, final, replications=4)
    base = _base_plan(setup.registry, plan_scenario)
    live = living_registry_stage(
        setup, final, replications=4, base_plan=base, unused_money=_money(plan_scenario, 3e6)
    )
    entrants = live.entrants
    early = entrants[entrants["entry_year"].isin([2015, 2016])]
    assert len(early) > 0 and early["plan_reason"].notna().all()
    planned = early["plan_reason"] == "planned"
    assert planned.any()
    assert (early.loc[planned, "package_id"] != "").all()
    assert (early.loc[~planned, "plan_reason"].isin(["no_package", "no_money"])).all()
    # Who enters does not change with the entrants' plans; the base registry and its exit
    # targets do not either.
    assert entrants["household_id"].tolist() == without.entrants["household_id"].tolist()
    pd.testing.assert_frame_equal(targets, setup.targets)
    pd.testing.assert_frame_equal(
        exit_targets(setup.households, plan_scenario.microsim.as_whole_allowance), targets
    )
    city = live.registered_by_year.query("county_id == 'all'").set_index("year")
    before = without.registered_by_year.query("county_id == 'all'").set_index("year")
    assert (city["n_registered_base"] == before["n_registered_base"]).all()
    assert city.loc[2015, "n_entrants_planned"] == planned[early["entry_year"] == 2015].sum()
    assert (city["n_entrants_planned"] <= city["n_entrants"]).all()
    assert (city["n_leavers_entrants"] <= city["n_leavers"]).all()


def test_entrants_wait_for_the_next_year_with_money(
    plan_registry: Registry, plan_scenario: Scenario
) -> None:
    entrants, rows = _entrants(plan_registry, 200, 2015)
    money = _money(plan_scenario, 1e9)
    money.loc[money["year"] < 2017, "amount_yuan"] = 0.0  # nothing left before 2017
    plans = plan_entrants(
        entrants,
        rows,
        plan_registry.villages,
        rows["true_income_pc"].to_numpy() * 0.8,
        _base_plan(plan_registry, plan_scenario),
        money,
        load_catalogue(plan_scenario),
        plan_scenario,
    )
    planned = plans[plans["plan_reason"] == "planned"]
    assert len(planned) > 0 and (planned["start_year"] == 2017).all()

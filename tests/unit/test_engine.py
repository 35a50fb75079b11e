"""The yearly engine: incomes by hand on tiny registries, exit rules inside the engine, invariants.

Hand-made registries of one or a few households run with every shock switched off (income
noise, drought, livestock prices, illness, verification) and a catalogue without dispersion or
failure, so incomes are deterministic and every expected number is computed by hand from the
registry row, the scenario's growth rates and the catalogue's effects. The invariants run on the
plan's synthetic registry.
"""

from __future__ import annotations

from dataclasses import replace
from types import MappingProxyType
from typing import Any

import numpy as np
import pandas as pd
import pytest

from fupinsim import data
from fupinsim.microsim import load_catalogue, reference_plan, simulate
from fupinsim.microsim.catalogue import Catalogue
from fupinsim.microsim.engine import STATS
from fupinsim.microsim.population import group_labels
from fupinsim.microsim.results import SimulationResult
from fupinsim.registry import Registry
from fupinsim.scenario import Scenario

YEARS = list(range(2014, 2021))
LINES = {2014: 2800.0, 2015: 2855.0, 2016: 2952.0, 2017: 2952.0, 2018: 2995.0, 2019: 3218.0}
DIBAO = {2015: 2700.0, 2016: 3000.0, 2017: 3300.0, 2018: 3600.0, 2019: 3900.0, 2020: 4200.0}
_S = {name: i for i, name in enumerate(STATS)}
#: Pensioners per registry member aged 65+ at the pension age 60 (2010 census: 13.26% aged 60+,
#: 8.87% aged 65+; scenario ``policy.pension_age``).
PENSIONERS = 0.1326 / 0.0887


def pension_income(t: np.ndarray) -> np.ndarray:
    """One elderly member's pension income by year index ``t``, recorded 840 yuan in 2014.

    The rule pays 840 × 1.05^t per pensioner, PENSIONERS per member aged 65+; the base year's
    recorded 840 is kept (the excess of the rule is an unexplained transfer kept in yuan), so
    the pension adds the rule's growth: 840 + PENSIONERS × 840 × (1.05^t − 1).
    """
    return 840 + PENSIONERS * 840 * (1.05**t - 1)


# A registered development household of 4 with two labourers at home and 4 mu: wages 12,000,
# crops 3,400 gross (850 a mu) with 1,700 production cost (half), farm subsidy 4 × 90 = 360.
# Per-capita net income in 2014: (12,000 + 3,400 − 1,700 + 360) / 4 = 3,515 yuan.
BASE_HOUSEHOLD: dict[str, Any] = {
    "village_id": 1,
    "county_id": "suzhou",
    "is_immigrant": False,
    "n_members": 4,
    "n_labour": 2,
    "n_away": 0,
    "n_students_primary": 0,
    "n_students_junior": 0,
    "n_students_senior": 0,
    "n_students_vocational": 0,
    "n_students_tertiary": 0,
    "n_dropouts": 0,
    "n_elderly": 0,
    "n_disabled": 0,
    "n_chronic_ill": 0,
    "main_cause": "lack_funds",
    "income_wages": 12_000.0,
    "income_crops": 3_400.0,
    "income_livestock": 0.0,
    "income_greenhouse": 0.0,
    "income_business": 0.0,
    "income_property": 0.0,
    "income_transfers": 360.0,
    "production_cost": 1_700.0,
    "land_mu": 4.0,
    "sheep": 0,
    "greenhouses": 0,
    "housing_grade": "B",
    "has_safe_water": True,
    "ncms_enrolled": True,
    "is_dibao": False,
    "is_wubao": False,
    "is_registered": True,
    "registered_year": 2014,
    "support_class": "development",
    "helper_id": 1,
}
_SOURCES = [
    "income_wages",
    "income_crops",
    "income_livestock",
    "income_greenhouse",
    "income_business",
    "income_property",
    "income_transfers",
]


def households_table(*rows: dict[str, Any]) -> pd.DataFrame:
    """Registry rows (``BASE_HOUSEHOLD`` with the changes given), ids 1, 2, …, recorded income."""
    frame = pd.DataFrame([{**BASE_HOUSEHOLD, **row} for row in rows])
    frame.insert(0, "household_id", np.arange(1, len(rows) + 1, dtype=np.int64))
    frame["county_id"] = pd.Categorical(frame["county_id"], categories=data.COUNTY_IDS)
    frame["housing_grade"] = pd.Categorical(frame["housing_grade"], categories=list("ABCD"))
    frame["support_class"] = pd.Categorical(
        frame["support_class"], categories=["development", "social_security"]
    )
    net = frame[_SOURCES].sum(axis=1) - frame["production_cost"]
    frame["income_pc"] = net / frame["n_members"]
    return frame


def quiet_scenario(base: Scenario, **microsim: Any) -> Scenario:
    """``base`` with every shock switched off (and the microsim settings given)."""
    raw = base.model_dump()
    m = raw["microsim"]
    m["shocks"].update(income_sigma=0.0, drought_probability=0.0, livestock_price_sigma=0.0)
    m["health"].update(
        illness_probability_adult=0.0,
        illness_probability_elderly=0.0,
        illness_probability_chronic=0.0,
    )
    m["verification_sigma"] = 0.0
    for key, value in microsim.items():
        if isinstance(value, dict):
            m[key].update(value)
        else:
            m[key] = value
    return Scenario.model_validate(raw)


def fixed_catalogue(scenario: Scenario) -> Catalogue:
    """The scenario's catalogue with every effect certain (no dispersion, no failure) and no
    entitlements (add-ons), so a package's own effects are measured."""
    catalogue = load_catalogue(scenario)
    entries = {
        k: replace(
            e, dispersion_sigma=0.0, failure_prob=0.0, add_on=e.add_on and e.kind == "guarantee"
        )
        for k, e in catalogue.entries.items()
    }
    return replace(catalogue, entries=MappingProxyType(entries))


def plan_table(*rows: tuple[int, str, int]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["household_id", "package_id", "start_year"])
    return frame.astype({"household_id": "int64", "package_id": str, "start_year": "int64"})


NO_PLAN = plan_table()


def run(
    households: pd.DataFrame,
    scenario: Scenario,
    plan: pd.DataFrame = NO_PLAN,
    catalogue: Catalogue | None = None,
    replications: int = 1,
) -> SimulationResult:
    return simulate(
        households,
        plan,
        scenario,
        replications=replications,
        catalogue=catalogue or fixed_catalogue(scenario),
    )


def income_path(result: SimulationResult, household_id: int) -> np.ndarray:
    rows = result.household[result.household["household_id"] == household_id]
    return rows.sort_values("year")["income_pc_mean"].to_numpy()


def exited_path(result: SimulationResult, household_id: int) -> list[float]:
    rows = result.household[result.household["household_id"] == household_id]
    return rows.sort_values("year")["p_exited"].tolist()


def county_values(result: SimulationResult, indicator: str, county: str = "suzhou") -> list[float]:
    frame = result.county_year
    rows = frame[
        (frame["county_id"] == county)
        & (frame["villages"] == "all")
        & (frame["indicator"] == indicator)
    ]
    return rows.sort_values("year")["mean"].tolist()


@pytest.fixture(scope="module")
def quiet(plan_scenario: Scenario) -> Scenario:
    return quiet_scenario(plan_scenario)


# ---------------------------------------------------------------------------------------------
# Incomes by hand


def test_income_grows_by_source_trend(quiet: Scenario) -> None:
    """Wages grow 7% a year, crops and their costs 4%, the farm subsidy stays 360 yuan."""
    assert (quiet.microsim.growth_wages, quiet.microsim.growth_crops) == (0.07, 0.04)
    result = run(households_table({}), quiet)
    t = np.arange(7)
    expected = (12_000 * 1.07**t + (3_400 - 1_700) * 1.04**t + 360) / 4
    assert expected[:3].round(2).tolist() == [3_515.0, 3_742.0, 3_984.38]  # by hand
    np.testing.assert_allclose(income_path(result, 1), expected, rtol=1e-12)


def test_package_has_no_effect_before_its_start_and_ramps_up_after(quiet: Scenario) -> None:
    """One labourer out, 2 mu of wolfberry, 30 sheep from 2016: net effects (yuan a household)
    labour 11,000 × (0.6, 1), wolfberry 4,800 × (0, 0.3, 0.7, 1), sheep 13,500 × (0.3, 0.8, 1)."""
    households = households_table({}, {})
    plan = plan_table((2, "one_labourer_2mu_30sheep", 2016))
    result = run(households, quiet, plan)
    gain = (income_path(result, 2) - income_path(result, 1)) * 4
    expected = [
        0.0,  # 2014
        0.0,  # 2015: before the start
        11_000 * 0.6 + 4_800 * 0.0 + 13_500 * 0.3,  # 2016 = 10,650
        11_000 * 1.0 + 4_800 * 0.3 + 13_500 * 0.8,  # 2017 = 23,240
        11_000 * 1.0 + 4_800 * 0.7 + 13_500 * 1.0,  # 2018 = 27,860
        11_000 + 4_800 + 13_500,  # 2019 = 29,300 at maturity
        11_000 + 4_800 + 13_500,  # 2020
    ]
    np.testing.assert_allclose(gain, expected, atol=1e-6)


def test_effect_factor_of_a_scenario_scales_the_effect(plan_scenario: Scenario) -> None:
    raw = quiet_scenario(plan_scenario).model_dump()
    raw["interventions"] = {"microcredit": {"effect_factor": 0.5}}
    half = Scenario.model_validate(raw)
    households = households_table({}, {})
    plan = plan_table((2, "credit_own_project", 2015))
    gain = (income_path(run(households, half, plan), 2) - income_path(run(households, half), 2)) * 4
    # microcredit: 8,000 yuan net at maturity, ramp-up (0.5, 1), halved by the scenario
    np.testing.assert_allclose(gain, [0, 2_000, 4_000, 4_000, 4_000, 4_000, 0], atol=1e-6)


def test_microcredit_fails_once_for_its_whole_life_with_its_failure_probability(
    plan_scenario: Scenario,
) -> None:
    """4,096 identical households get microcredit; 10% never gain (failure drawn once)."""
    quiet = quiet_scenario(plan_scenario)
    catalogue = load_catalogue(quiet)
    credit = catalogue.entry("microcredit")
    assert credit.failure_prob == 0.10
    entries = {k: replace(e, add_on=False) for k, e in catalogue.entries.items()}  # no add-ons
    entries["microcredit"] = replace(credit, dispersion_sigma=0.0)  # failure kept
    catalogue = replace(catalogue, entries=MappingProxyType(entries))
    n = 4096
    households = households_table(*[{}] * n)
    plan = plan_table(*[(i, "credit_own_project", 2015) for i in range(1, n + 1)])
    with_credit = run(households, quiet, plan, catalogue)
    without = run(households, quiet, NO_PLAN, catalogue)
    gain = (with_credit.household["income_pc_mean"] - without.household["income_pc_mean"]) * 4
    by_household = gain.to_numpy().reshape(n, len(YEARS))
    failed = np.all(np.abs(by_household) < 1e-6, axis=1)
    worked = np.all(np.abs(by_household - [0, 4_000, 8_000, 8_000, 8_000, 8_000, 0]) < 1e-6, axis=1)
    assert np.all(failed | worked), "an effect must be all or nothing over the loan's life"
    tolerance = 4 * np.sqrt(0.1 * 0.9 / n)  # four binomial standard deviations
    assert abs(failed.mean() - 0.10) < tolerance


def test_dibao_tops_enrolled_households_up_to_the_standard(quiet: Scenario) -> None:
    """Two members, one elderly, wages 2,000, on dibao: 2014 before dibao (2,000 + 840) / 2 =
    1,420 < 2,400 → dibao (2,400 − 1,420) × 2 = 1,960, recorded transfers 840 + 1,960 = 2,800.
    Later years are topped up to each year's standard (gap above the 20% minimum)."""
    poor = {
        "n_members": 2,
        "n_labour": 1,
        "n_elderly": 1,
        "income_wages": 2_000.0,
        "income_crops": 0.0,
        "production_cost": 0.0,
        "land_mu": 0.0,
        "is_dibao": True,
        "income_transfers": 2_800.0,
        "support_class": "social_security",
    }
    result = run(households_table(poor), quiet)
    expected = [2_400.0, *DIBAO.values()]
    np.testing.assert_allclose(income_path(result, 1), expected, rtol=1e-12)


def test_dibao_take_up_cover_of_a_plan_and_the_recorded_base_year(quiet: Scenario) -> None:
    """Weak households (an elderly member) of two, pension ``pension_income`` (840 in 2014):

    1. wages 2,000, below the 2014 standard but not on dibao: its take-up was drawn when the
       registry was made, so it keeps its recorded income (2,000 + 840) / 2 = 1,420 and stays
       out in later years;
    2. the same given social cover from 2015: topped up to the standard every year;
    3. wages 4,000: 2,420 > 2,400 in 2014, but (4,280 + 903) / 2 = 2,591 < 2,700 in 2015:
       newly eligible, enrolled with the take-up rate (85%), paid the minimum 540 a person;
    4. no weak member (labour, no elderly): never enrolled.
    """
    weak = {
        "n_members": 2,
        "n_labour": 1,
        "n_elderly": 1,
        "income_wages": 2_000.0,
        "income_crops": 0.0,
        "production_cost": 0.0,
        "land_mu": 0.0,
        "income_transfers": 840.0,  # pension only
        "support_class": "social_security",
    }
    near = {**weak, "income_wages": 4_000.0}
    strong = {**weak, "n_elderly": 0, "income_transfers": 0.0, "support_class": "development"}
    households = households_table(weak, weak, near, strong)
    plan = plan_table((2, "social_cover", 2015))
    result = run(households, quiet, plan, replications=40)
    t = np.arange(7)
    np.testing.assert_allclose(
        income_path(result, 1), (2_000 * 1.07**t + pension_income(t)) / 2, rtol=1e-12
    )
    assert income_path(result, 2)[0] == pytest.approx(1_420.0)
    np.testing.assert_allclose(income_path(result, 2)[1:], list(DIBAO.values()), rtol=1e-12)
    np.testing.assert_allclose(income_path(result, 4), 1_000 * 1.07**t, rtol=1e-12)
    own = (4_000 * 1.07**t + pension_income(t)) / 2
    assert income_path(result, 3)[0] == pytest.approx(own[0]) == pytest.approx(2_420.0)
    # Share of replications enrolled: the minimum payment (20% of the standard) over the mean.
    enrolled = (income_path(result, 3)[1:3] - own[1:3]) / (0.2 * np.array([2_700.0, 3_000.0]))
    assert enrolled[0] == pytest.approx(enrolled[1])  # drawn once, kept
    assert 0.6 < enrolled[0] < 1.0  # about 0.85 (40 replications)


def test_wage_factor_changes_projected_years_not_the_registry_year(plan_scenario: Scenario) -> None:
    slump = quiet_scenario(plan_scenario, wage_factor=0.85)
    result = run(households_table({}), slump)
    t = np.arange(7)
    expected = (12_000 * 1.07**t * np.where(t > 0, 0.85, 1.0) + 1_700 * 1.04**t + 360) / 4
    np.testing.assert_allclose(income_path(result, 1), expected, rtol=1e-12)


def test_illness_costs_a_share_of_the_wages(plan_scenario: Scenario) -> None:
    """Every adult falls ill every year (probability 1): a quarter of the wages is lost.

    The registry's year is as recorded and already holds its illness loss (its 12,000 yuan of
    wages are 16,000 × 0.75), so there is no seam: wages grow at the trend from the recorded
    12,000, ill every year (issue 10 item 2; before, 2015 fell to 12,000 × 1.07 × 0.75).
    """
    ill = quiet_scenario(
        plan_scenario, health={"illness_probability_adult": 1.0, "gross_cost_sigma": 1e-9}
    )
    result = run(households_table({}), ill)
    t = np.arange(7)
    engine_wages = 12_000 / 0.75  # shock-free wages behind the recorded ones
    expected = (engine_wages * 1.07**t * 0.75 + 1_700 * 1.04**t + 360) / 4
    assert expected[1] == pytest.approx((12_000 * 1.07 + 1_700 * 1.04 + 360) / 4)
    np.testing.assert_allclose(income_path(result, 1), expected, rtol=1e-12)


# ---------------------------------------------------------------------------------------------
# Exit and return inside the engine

GUARANTEE_CASES = {
    "all guarantees": {},
    "house grade C": {"housing_grade": "C"},
    "house grade D": {"housing_grade": "D"},
    "no safe water": {"has_safe_water": False},
    "not in NCMS": {"ncms_enrolled": False},
    "a dropout": {"n_dropouts": 1, "n_members": 5},
}


def test_a_household_missing_one_guarantee_never_exits(quiet: Scenario) -> None:
    """Income is far above the line (3,742 yuan in 2015 > 2,855) in every case."""
    households = households_table(*GUARANTEE_CASES.values())
    result = run(households, quiet)
    for household_id, name in enumerate(GUARANTEE_CASES, start=1):
        expected = [0.0] + [1.0 if name == "all guarantees" else 0.0] * 6
        assert exited_path(result, household_id) == expected, name
    exit_year = result.household_exit.set_index("household_id")["expected_exit_year"]
    assert exit_year[1] == 2015
    assert exit_year.iloc[1:].isna().all()


def test_a_package_fixes_the_missing_guarantees_from_its_start_year(quiet: Scenario) -> None:
    households = households_table(*GUARANTEE_CASES.values())
    plan = plan_table(*[(i, "transfer_only", 2016) for i in range(2, len(GUARANTEE_CASES) + 1)])
    result = run(households, quiet, plan)
    for household_id, name in enumerate(GUARANTEE_CASES, start=1):
        first = 2015 if name == "all guarantees" else 2016
        expected = [1.0 if year >= first else 0.0 for year in YEARS]
        assert exited_path(result, household_id) == expected, name


def test_exit_stable_years_two_needs_two_years_above_the_line(plan_scenario: Scenario) -> None:
    result = run(households_table({}), quiet_scenario(plan_scenario, exit_stable_years=2))
    assert exited_path(result, 1) == [0, 0, 1, 1, 1, 1, 1]


# Growth switched off: a household of two with 6,000 (or 5,900) yuan of wages and nothing else
# has 3,000 (2,950) yuan a person every year against lines 2,855 (2015), 2,952 (2016-17),
# 2,995 (2018), 3,218 (2019), 4,000 (2020).
NO_GROWTH = {
    "growth_wages": 0.0,
    "growth_crops": 0.0,
    "growth_livestock": 0.0,
    "growth_greenhouse": 0.0,
    "growth_business": 0.0,
    "growth_property": 0.0,
}
FLAT = {
    "n_members": 2,
    "income_crops": 0.0,
    "production_cost": 0.0,
    "land_mu": 0.0,
    "income_transfers": 0.0,
}


def test_exit_income_margin(plan_scenario: Scenario) -> None:
    households = households_table({**FLAT, "income_wages": 6_000.0})
    plain = run(households, quiet_scenario(plan_scenario, **NO_GROWTH))
    margin = run(households, quiet_scenario(plan_scenario, **NO_GROWTH, exit_income_margin=0.1))
    assert exited_path(plain, 1)[:3] == [0, 1, 1]  # 3,000 ≥ 2,855
    assert exited_path(margin, 1) == [0] * 7  # 3,000 < 1.1 × 2,855 = 3,140.5


def test_return_to_poverty_after_years_below_the_line(plan_scenario: Scenario) -> None:
    """2,950 a person: exits in 2015 (≥ 2,855), below 2,952 from 2016 on."""
    households = households_table({**FLAT, "income_wages": 5_900.0})
    one = run(households, quiet_scenario(plan_scenario, **NO_GROWTH, return_years_below=1))
    two = run(households, quiet_scenario(plan_scenario, **NO_GROWTH, return_years_below=2))
    assert exited_path(one, 1) == [0, 1, 0, 0, 0, 0, 0]
    assert county_values(one, "returns") == [0, 0, 1, 0, 0, 0, 0]
    assert county_values(one, "exits") == [0, 1, 0, 0, 0, 0, 0]
    assert exited_path(two, 1) == [0, 1, 1, 0, 0, 0, 0]
    assert county_values(two, "returns") == [0, 0, 0, 1, 0, 0, 0]
    assert county_values(two, "registered_remaining") == [1, 0, 0, 1, 1, 1, 1]
    # Exited but truly below the line in 2016: a wrong exit.
    rates = two.targeting[two.targeting["county_id"] == "suzhou"].set_index("year")
    assert rates.loc[2015, "wrong_exit_rate"] == 0.0
    assert rates.loc[2016, "wrong_exit_rate"] == 1.0
    assert np.isnan(rates.loc[2014, "wrong_exit_rate"])  # nobody exited yet


def test_monitoring_band_counts_households_not_remaining_poor(plan_scenario: Scenario) -> None:
    """At risk: not (or no longer) remaining poor, income below 1.5 × the line."""
    scenario = quiet_scenario(plan_scenario, **NO_GROWTH)
    households = households_table(
        # exits 2015; 3,000 < 1.5 × 2,855: at risk; below the 2019 line 3,218: returns, remaining
        {**FLAT, "income_wages": 6_000.0},
        {**FLAT, "income_wages": 20_000.0},  # exits 2015; 10,000 a person: not at risk
        {**FLAT, "income_wages": 4_000.0},  # stays poor (2,000): remaining, so not at risk
        {**FLAT, "income_wages": 6_000.0, "is_registered": False},  # never registered: at risk
    )
    result = run(households, scenario)
    assert county_values(result, "at_risk") == [1, 2, 2, 2, 2, 1, 1]
    assert county_values(result, "registered_remaining") == [3, 1, 1, 1, 1, 2, 2]
    # Missed poor: truly poor households never registered, as a share of the truly poor; the
    # unregistered household falls below the line in 2019 (with households 1 and 3).
    rates = result.targeting[result.targeting["county_id"] == "suzhou"]
    assert rates["missed_poor_rate"].tolist() == pytest.approx([0, 0, 0, 0, 0, 1 / 3, 1 / 3])


def test_village_incidence_and_exit_at_three_percent(quiet: Scenario) -> None:
    """Incidence = people of registered households not exited / the village's people.

    Village 1: a registered household of 4 that stays poor among 100 people (4% > 3%: does not
    exit); village 2: the same among 200 people (2%); village 3: a registered household that
    exits in 2015 (4 of 100 people in 2014, 0 after)."""
    stays_poor = {**FLAT, "n_members": 4, "income_wages": 4_000.0}
    exits = {"n_members": 4}
    neighbour = {"is_registered": False}
    households = households_table(
        {**stays_poor, "village_id": 1},
        *[{**neighbour, "village_id": 1}] * 24,
        {**stays_poor, "village_id": 2},
        *[{**neighbour, "village_id": 2}] * 49,
        {**exits, "village_id": 3},
        *[{**neighbour, "village_id": 3}] * 24,
    )
    table = run(households, quiet).village_year.set_index(["village_id", "year"])
    assert table.loc[1, "incidence_mean"].tolist() == pytest.approx([0.04] * 7)
    assert table.loc[1, "p_exit"].tolist() == [0.0] * 7
    assert table.loc[2, "incidence_mean"].tolist() == pytest.approx([0.02] * 7)
    assert table.loc[2, "p_exit"].tolist() == [1.0] * 7
    assert table.loc[3, "incidence_mean"].tolist() == pytest.approx([0.04] + [0.0] * 6)
    assert table.loc[3, "p_exit"].tolist() == [0.0] + [1.0] * 6


def test_missed_poor_are_the_truly_poor_never_registered(quiet: Scenario) -> None:
    households = households_table(
        {**FLAT, "income_wages": 4_000.0},  # 2,000 a person, registered
        {**FLAT, "income_wages": 4_000.0, "is_registered": False},  # poor, missed
        {**FLAT, "income_wages": 3_000.0, "is_registered": False},  # poor, missed
        {**FLAT, "income_wages": 50_000.0, "is_registered": False},  # not poor
    )
    rates = run(households, quiet).targeting
    assert rates.loc[rates["county_id"] == "suzhou", "missed_poor_rate"].iloc[0] == 2 / 3


# ---------------------------------------------------------------------------------------------
# Invariants and the base year on the plan's synthetic registry


@pytest.fixture(scope="module")
def plan_run(plan_registry: Registry, plan_scenario: Scenario) -> SimulationResult:
    """uniform_1230 over the whole synthetic registry (60,100 households), 8 replications."""
    plan = reference_plan("uniform_1230", plan_registry.households, plan_scenario)
    return simulate(plan_registry, plan, plan_scenario, replications=8)


def _group_stats(result: SimulationResult) -> np.ndarray:
    stats = result.meta["group_stats"]
    assert isinstance(stats, np.ndarray)
    return stats


def test_registered_households_are_remaining_or_exited(
    plan_run: SimulationResult, plan_registry: Registry
) -> None:
    stats = _group_stats(plan_run)  # (replication, group, year, statistic)
    remaining = stats[..., _S["registered_remaining"]]
    exited = stats[..., _S["exited"]]
    households = plan_registry.households
    registered = households[households["is_registered"]]
    labels = group_labels()
    for g, (county, villages) in enumerate(labels):
        in_group = (registered["county_id"].astype(str) == county) & (
            registered["is_immigrant"] == (villages == "immigrant")
        )
        np.testing.assert_array_equal(remaining[:, g] + exited[:, g], in_group.sum())
    # Net flows: exited(t) − exited(t−1) = exits(t) − returns(t); nothing negative.
    flows = stats[..., _S["exits"]] - stats[..., _S["returns"]]
    np.testing.assert_array_equal(np.diff(exited, axis=2), flows[:, :, 1:])
    for name in ("exits", "returns", "exited", "registered_remaining", "at_risk"):
        assert (stats[..., _S[name]] >= 0).all(), name


def test_people_counts_are_consistent(plan_run: SimulationResult) -> None:
    stats = _group_stats(plan_run)
    poor = stats[..., _S["poor_people"]]
    assert (poor <= stats[..., _S["people_all"]]).all()
    assert (stats[..., _S["poor_people_registered"]] <= poor).all()
    assert (stats[..., _S["remaining_people"]] <= stats[..., _S["people_registered"]]).all()
    assert (stats[..., _S["wrong_exits"]] <= stats[..., _S["exited"]]).all()
    assert (stats[..., _S["missed_poor"]] <= stats[..., _S["truly_poor"]]).all()
    # At risk are households not remaining poor.
    not_remaining = stats[..., _S["households"]] - stats[..., _S["registered_remaining"]]
    assert (stats[..., _S["at_risk"]] <= not_remaining).all()


def test_base_year_matches_the_registry(
    plan_run: SimulationResult, plan_registry: Registry
) -> None:
    """2014 is the registry's year: true incomes, everyone registered remaining, no exits, and
    the same numbers in every replication."""
    households = plan_registry.households
    members = households["n_members"].to_numpy(dtype=float)
    true_pc = households["true_income_pc"].to_numpy()
    registered = households["is_registered"].to_numpy()
    frame = plan_run.county_year
    city = frame[(frame["county_id"] == "city") & (frame["year"] == 2014)].set_index("indicator")
    assert (city["p05"] == city["p95"]).all()  # no randomness in the base year
    mean = city["mean"]
    assert mean["mean_income_pc_all"] == pytest.approx(
        (true_pc * members).sum() / members.sum(), rel=1e-12
    )
    assert mean["mean_income_pc"] == pytest.approx(
        (true_pc * members)[registered].sum() / members[registered].sum(), rel=1e-12
    )
    assert mean["registered_remaining"] == registered.sum() == 12_600
    assert mean["exits"] == mean["exits_cumulative"] == mean["returns"] == 0
    poor = true_pc < LINES[2014]
    assert mean["headcount"] == members[poor].sum()
    assert mean["headcount_registered"] == members[poor & registered].sum()
    paths = plan_run.household[plan_run.household["year"] == 2014].set_index("household_id")
    truth = households.set_index("household_id")["true_income_pc"]
    np.testing.assert_allclose(
        paths["income_pc_mean"], truth.loc[paths.index], rtol=1e-9, atol=1e-6
    )
    rates = plan_run.targeting
    city_rates = rates[(rates["county_id"] == "city") & (rates["year"] == 2014)].iloc[0]
    assert city_rates["missed_poor_rate"] == pytest.approx((poor & ~registered).sum() / poor.sum())


def test_rates_and_probabilities_are_shares(plan_run: SimulationResult) -> None:
    rates = plan_run.targeting
    for column in ("wrong_exit_rate", "missed_poor_rate"):
        values = rates[column].dropna()
        assert ((values >= 0) & (values <= 1)).all(), column
    assert rates.loc[rates["year"] > 2014, "wrong_exit_rate"].notna().all()
    tp = plan_run.target_probability
    assert ((tp["p_met"] >= 0) & (tp["p_met"] <= 1)).all()
    assert (tp["projected_exits_p05"] <= tp["projected_exits_mean"] + 1e-9).all()
    assert (tp["projected_exits_mean"] <= tp["projected_exits_p95"] + 1e-9).all()
    villages = plan_run.village_year
    assert villages["incidence_mean"].between(0, 1).all()
    assert villages["p_exit"].between(0, 1).all()
    paths = plan_run.household
    assert paths["p_exited"].between(0, 1).all()
    assert (paths.loc[paths["year"] == 2014, "p_exited"] == 0).all()


def test_village_incidence_in_the_base_year(
    plan_run: SimulationResult, plan_registry: Registry
) -> None:
    households = plan_registry.households
    registered_people = (
        households[households["is_registered"]].groupby("village_id")["n_members"].sum()
    )
    population = plan_registry.villages.set_index("village_id")["population"]
    expected = (registered_people / population.loc[registered_people.index]).sort_index()
    got = plan_run.village_year[plan_run.village_year["year"] == 2014].set_index("village_id")
    np.testing.assert_allclose(got["incidence_mean"].sort_index(), expected, rtol=1e-12)


def test_immigrant_income_goals_double_the_base_year(plan_run: SimulationResult) -> None:
    table = plan_run.immigrant_income.set_index("year")
    base = table.loc[2014, "mean"]
    assert table.loc[2014, "p05"] == table.loc[2014, "p95"] == base
    assert (table["goal_doubling"] == 2 * base).all()
    assert (table["goal_level"] == 9_000).all()


def test_village_works_succeed_or_fail_for_the_whole_village(quiet: Scenario) -> None:
    """300 villages of 3 households get a cooperative and e-commerce point (3% and 2% on gross
    farm income, each failing in 30% of villages) and a mutual-aid fund (800 yuan a household,
    failing in 10% of villages): every household of a village gains alike."""
    n_villages, size = 300, 3
    households = households_table(*[{"village_id": v} for v in range(1, n_villages + 1)] * size)
    works = pd.DataFrame(
        [
            (v, p, 2015)
            for v in range(1, n_villages + 1)
            for p in ("village_market", "village_mutual_aid")
        ],
        columns=["village_id", "package_id", "start_year"],
    )
    catalogue = fixed_catalogue(quiet)
    entries = dict(catalogue.entries)
    for eid in ("cooperative", "ecommerce_point", "mutual_aid_fund"):
        entries[eid] = replace(
            entries[eid], failure_prob=load_catalogue(quiet).entry(eid).failure_prob
        )
    catalogue = replace(catalogue, entries=MappingProxyType(entries))
    with_works = simulate(
        households, NO_PLAN, quiet, village_plan=works, replications=1, catalogue=catalogue
    )
    without = simulate(households, NO_PLAN, quiet, replications=1, catalogue=catalogue)

    def in_2017(result: SimulationResult) -> pd.Series:
        paths = result.household[result.household["year"] == 2017].set_index("household_id")
        return paths["income_pc_mean"].sort_index()

    gain = ((in_2017(with_works) - in_2017(without)) * 4).to_numpy()
    by_village = gain.reshape(size, n_villages)  # household ids run village by village
    assert np.ptp(by_village, axis=0).max() < 1e-6, "households of a village gain alike"
    # In 2017 the fund pays 800 and both works are mature on crops of 3,400 × 1.04³ gross:
    # the market works add 0, 2%, 3% or 1.03 × 1.02 − 1 = 5.06% of it (at most 200 yuan).
    fund = np.where(by_village[0] >= 800 - 1e-6, 800.0, 0.0)
    share = np.round((by_village[0] - fund) / (3_400 * 1.04**3), 6)
    assert set(share) <= {0.0, 0.02, 0.03, 0.0506}
    tolerance = 4 * np.sqrt(0.21 / n_villages)
    assert abs(np.isin(share, [0.0, 0.02]).mean() - 0.3) < tolerance  # cooperative failed
    assert abs(np.isin(share, [0.0, 0.03]).mean() - 0.3) < tolerance  # e-commerce failed
    assert abs((fund == 0).mean() - 0.1) < 4 * np.sqrt(0.09 / n_villages)

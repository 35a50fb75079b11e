"""The living registry (issue 10, item 4): ageing, each year's identification, the tables."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from fupinsim import data
from fupinsim.microsim import simulate
from fupinsim.pipeline.registry_years import aged_incomes, candidate_incomes, living_registry_stage
from fupinsim.pipeline.stages import RegistryStage, registry_stage
from fupinsim.registry import Registry
from fupinsim.registry.living import age_members, identify_year, living_registry
from fupinsim.scenario import IdentificationSettings, Scenario

_STUDENTS = list(data.STUDENT_COLUMNS)
_GROUPS = [*_STUDENTS, "n_labour", "n_elderly", "n_dropouts"]


def _plan_empty() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "household_id": pd.Series(dtype=np.int64),
            "package_id": pd.Series(dtype=str),
            "start_year": pd.Series(dtype=np.int64),
        }
    )


def test_ageing_keeps_members_and_moves_them_between_groups(plan_registry: Registry) -> None:
    hh = plan_registry.households
    aged = age_members(hh, 2015, seed=1)
    assert (aged["n_members"] == hh["n_members"]).all()
    in_groups = aged[_GROUPS].sum(axis=1)
    assert (in_groups <= aged["n_members"]).all()
    assert (aged[_GROUPS] >= 0).all().all()
    assert (aged["n_away"] <= aged["n_labour"]).all()
    # Labourers reach 65 (about 1 in 49 a year); students move up (junior from primary).
    retired = int(aged["n_elderly"].sum() - hh["n_elderly"].sum())
    assert 0.01 * hh["n_labour"].sum() < retired < 0.03 * hh["n_labour"].sum()
    assert not aged[_STUDENTS].equals(hh[_STUDENTS])
    assert int(aged[_STUDENTS].sum().sum()) != 0


def test_ageing_is_keyed_by_household_not_by_table(plan_registry: Registry) -> None:
    hh = plan_registry.households
    whole = age_members(hh, 2016, seed=3).set_index("household_id")[_GROUPS]
    part = hh.iloc[1000:3000].sample(frac=1.0, random_state=0)
    alone = age_members(part, 2016, seed=3).set_index("household_id")[_GROUPS]
    pd.testing.assert_frame_equal(alone.sort_index(), whole.loc[alone.index].sort_index())
    assert not age_members(hh, 2016, seed=4)[_GROUPS].equals(whole.reset_index(drop=True))


def test_identification_admits_at_most_the_cells_quota_of_candidates(
    plan_registry: Registry,
) -> None:
    hh = plan_registry.households
    income = hh["true_income_pc"].to_numpy()
    candidates = ~hh["is_registered"].to_numpy()
    line = 3_000.0
    settings = IdentificationSettings()
    new = identify_year(hh, income, candidates, line, settings, seed=2, year=2015)
    assert new.any() and not (new & ~candidates).any()
    cell = (hh["county_id"].astype(str) + hh["is_immigrant"].astype(str)).to_numpy()
    quota_bound = pd.Series(candidates & (income < line * 1.5)).groupby(cell).sum()
    assert (pd.Series(new).groupby(cell).sum() <= quota_bound).all()
    # Measured income with 9.5% error: entrants are near or below the line, and the clearly
    # poor candidates enter (all but non-applicants, 3%, and a few outranked by noise).
    assert (income[new] < line * 1.3).mean() > 0.95
    clearly_poor = candidates & (income < line * 0.8)
    assert new[clearly_poor].mean() > 0.9
    # Row order does not matter: the draws are keyed by household id.
    order = np.random.default_rng(0).permutation(len(hh))
    again = identify_year(
        hh.iloc[order], income[order], candidates[order], line, settings, seed=2, year=2015
    )
    assert set(hh["household_id"][new]) == set(hh["household_id"].to_numpy()[order][again])


def test_living_registry_balances_entrants_leavers_and_returns(plan_registry: Registry) -> None:
    hh = plan_registry.households
    years = [2014, 2015, 2016, 2017]
    growth = np.array([1.0, 1.04, 0.97, 1.08])[:, None]
    income = hh["true_income_pc"].to_numpy()[None, :] * growth
    registered = hh["is_registered"].to_numpy()
    base_on = np.tile(registered, (4, 1))
    base_on[2:, : len(hh) // 3] = False  # a third of them exit in 2016
    lines = np.array([2_800.0, 2_855.0, 2_952.0, 3_026.0])
    live = living_registry(hh, income, base_on, years, lines, IdentificationSettings(), 5)
    table = live.registered_by_year
    city = table[table["county_id"] == "all"].set_index("year")
    counties = table[table["county_id"] != "all"].groupby("year").sum(numeric_only=True)
    counts = [c for c in city.columns if c.startswith("n_")]
    pd.testing.assert_frame_equal(city[counts], counties[counts], check_dtype=False)
    assert city.loc[2014, "n_entrants"] == 0 and city.loc[2014, "n_registered"] == registered.sum()
    assert city.loc[2015, "n_entrants"] > 0  # the done-when: entrants after 2014
    for year in years[1:]:
        change = city.loc[year, "n_entrants"] - city.loc[year, "n_leavers"]
        change += city.loc[year, "n_returns"]
        assert city.loc[year, "n_registered"] == city.loc[year - 1, "n_registered"] + change
    entrants = live.entrants
    assert len(entrants) == city["n_entrants"].sum()
    assert set(entrants["entry_reason"]) <= {"missed", "newly_poor"}
    assert entrants["main_cause"].notna().all()
    assert (city["n_entrants_missed"] + city["n_entrants_newly_poor"] == city["n_entrants"]).all()
    assert ((city["missed_poor_rate"] >= 0) & (city["missed_poor_rate"] <= 1)).all()
    # Wrong exits: off the registry after being on it, and below the line (issue 10, item 4).
    # An entrant leaves the first year after entry at or above the line, not while poor.
    left = entrants.dropna(subset=["exit_year"])
    column = pd.Index(hh["household_id"]).get_indexer(left["household_id"])
    at = np.searchsorted(years, left["exit_year"].to_numpy(dtype=np.int64))
    assert len(left) > 0 and (income[at, column] >= lines[at]).all()
    assert city.loc[2014, "n_exited"] == 0 and city.loc[2016, "n_exited"] > 0
    assert (city["n_wrong_exits"] <= city["n_exited"]).all()
    rate = city["n_wrong_exits"] / city["n_exited"].where(city["n_exited"] > 0)
    pd.testing.assert_series_equal(city["wrong_exit_rate"], rate, check_names=False)
    poor = income < lines[:, None]
    base_exited = registered & ~base_on[2]  # the third that exit in 2016 (a few return)
    wrong = (poor[2] & base_exited).sum()
    assert wrong - city.loc[2016, "n_returns"] <= city.loc[2016, "n_wrong_exits"]


@pytest.mark.slow
def test_run_registry_by_year_shows_entrants_after_2014(plan_scenario: Scenario) -> None:
    setup = registry_stage(plan_scenario)
    final = simulate(
        setup.registry,
        _plan_empty(),
        plan_scenario,
        village_plan=setup.village_plan,
        replications=4,
    )
    first = living_registry_stage(setup, final, replications=4)
    city = first.registered_by_year.query("county_id == 'all'").set_index("year")
    assert city.loc[2015:, "n_entrants"].sum() > 0
    assert city.loc[2015, "n_registered_base"] < city.loc[2014, "n_registered"]
    again = living_registry_stage(setup, final, replications=4)
    pd.testing.assert_frame_equal(first.registered_by_year, again.registered_by_year)
    pd.testing.assert_frame_equal(first.entrants, again.entrants)


def test_ageing_moves_wages_with_the_labourers(plan_registry: Registry) -> None:
    """Issue 10, item 4 (ageing where it changes income): a school leaver joins the labour
    force at home with the calibrated local wage; a labourer reaching 65 takes his wage away."""
    hh = plan_registry.households
    aged = age_members(hh, 2015, seed=1)
    returns = data.registry_calibration()["returns"]
    count = {
        (k, c): f[c].to_numpy(dtype=np.int64)
        for k, f in (("b", hh), ("a", aged))
        for c in ("n_labour", "n_away")
    }
    home = count["b", "n_labour"] - count["b", "n_away"]
    home_after = count["a", "n_labour"] - count["a", "n_away"]
    away_change = count["a", "n_away"] - count["b", "n_away"]
    expected = (
        hh["income_wages"].to_numpy()
        + (home_after - home) * returns["wage_local"]
        + away_change * returns["wage_away"]
    )
    np.testing.assert_allclose(aged["income_wages"], np.maximum(expected, 0.0))
    joined = aged["n_labour"].to_numpy() > hh["n_labour"].to_numpy()
    left = aged["n_elderly"].to_numpy() > hh["n_elderly"].to_numpy()
    assert joined.sum() > 100 and left.sum() > 100
    assert (aged.loc[joined & ~left, "income_wages"] > hh.loc[joined & ~left, "income_wages"]).all()
    assert (
        aged.loc[left & ~joined, "income_wages"] <= hh.loc[left & ~joined, "income_wages"]
    ).all()


@pytest.mark.slow
def test_aged_members_change_the_simulated_incomes_and_nothing_else(
    plan_scenario: Scenario,
) -> None:
    """The candidates' yearly incomes come from runs with each year's composition: the same
    draws, so a household whose members did not move has exactly the unaged income."""
    setup = registry_stage(plan_scenario)
    hh = setup.households
    pool = hh[~hh["is_registered"].to_numpy(dtype=bool)].iloc[:3000]
    unaged = candidate_incomes(setup, pool, 4)
    aged_income = aged_incomes(setup, pool, 4)
    np.testing.assert_array_equal(unaged[0], aged_income[0])
    aged = age_members(pool, 2015, plan_scenario.seed)
    columns = [*_GROUPS, "n_away", "income_wages"]
    still = (aged[columns].to_numpy() == pool[columns].to_numpy()).all(axis=1)
    np.testing.assert_array_equal(unaged[1][still], aged_income[1][still])
    joined = (aged["n_labour"].to_numpy() > pool["n_labour"].to_numpy()) & (
        aged["n_elderly"].to_numpy() == pool["n_elderly"].to_numpy()
    )
    retired = aged["n_elderly"].to_numpy() > pool["n_elderly"].to_numpy()
    assert (aged_income[1] - unaged[1])[joined].mean() > 500  # a local wage for the family
    assert (aged_income[1] - unaged[1])[retired & ~joined].mean() < 0  # a wage for a pension


def _per_year_runs(
    setup: RegistryStage, households: pd.DataFrame, plan: pd.DataFrame | None
) -> np.ndarray:
    """The definition of the aged incomes: one whole run per year with that year's members."""
    scenario = setup.scenario
    years = [int(y) for y in scenario.years]
    income = candidate_incomes(setup, households, 4, plan)
    aged = households
    for t in range(1, len(years)):
        aged = age_members(aged, years[t], scenario.seed)
        income[t] = candidate_incomes(setup, aged, 4, plan)[t]
    return income


@pytest.mark.slow
def test_aged_incomes_rerun_only_what_ageing_changed_and_are_exact(
    plan_scenario: Scenario,
) -> None:
    """aged_incomes runs again only the households and years the ageing changed (each stretch
    of equal inputs once, up to its last year): exactly the incomes of one run per year."""
    setup = registry_stage(plan_scenario)
    hh = setup.households
    pool = hh[~hh["is_registered"].to_numpy(dtype=bool)].iloc[:2000]
    np.testing.assert_array_equal(aged_incomes(setup, pool, 4), _per_year_runs(setup, pool, None))
    package = sorted(setup.catalogue.packages)[0]
    some = pool.iloc[::7]
    plan = pd.DataFrame(
        {
            "household_id": some["household_id"].to_numpy(dtype=np.int64),
            "package_id": package,
            "start_year": np.int64(2016),
        }
    )
    np.testing.assert_array_equal(
        aged_incomes(setup, pool, 4, plan), _per_year_runs(setup, pool, plan)
    )

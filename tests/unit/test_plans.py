"""Plan tables: reference plans, validation, and compiling plans into engine arrays.

``compile_plan`` turns catalogue packages into applications (who gets which effect from when),
the guarantee fixes a supported household receives, dibao cover and village works; the
engine's deterministic effect paths show the catalogue's ramp-up.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from fupinsim.errors import InputError
from fupinsim.microsim import load_catalogue, reference_plan, validate_plan
from fupinsim.microsim.catalogue import Catalogue
from fupinsim.microsim.engine import PlanArrays, prepare_plan
from fupinsim.microsim.kernel import Kind
from fupinsim.microsim.plans import NEVER, CompiledPlan, compile_plan, validate_village_plan
from fupinsim.microsim.population import Population, build_population
from fupinsim.registry import Registry
from fupinsim.scenario import Scenario

SAFE, WATER, MEDICAL, SCHOOL = range(4)  # rows of CompiledPlan.fix_year


@pytest.fixture(scope="module")
def catalogue(plan_scenario: Scenario) -> Catalogue:
    return load_catalogue(plan_scenario)


def households_with(plan_registry: Registry, *changes: dict[str, Any]) -> pd.DataFrame:
    """Registered households of the synthetic registry, one per change, with every guarantee
    met except what the change says."""
    households = plan_registry.households
    rows = households[households["is_registered"]].head(len(changes)).copy()
    rows["housing_grade"] = "A"
    rows["has_safe_water"] = True
    rows["ncms_enrolled"] = True
    rows["n_dropouts"] = np.int8(0)
    for position, change in enumerate(changes):
        for column, value in change.items():
            rows.iloc[position, rows.columns.get_loc(column)] = value
    return rows.reset_index(drop=True)


def plan_table(*rows: tuple[int, str, int]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["household_id", "package_id", "start_year"])
    return frame.astype({"household_id": "int64", "package_id": str, "start_year": "int64"})


def compiled(
    households: pd.DataFrame,
    plan: pd.DataFrame,
    catalogue: Catalogue,
    scenario: Scenario,
    village_plan: pd.DataFrame | None = None,
    villages: pd.DataFrame | None = None,
) -> tuple[Population, CompiledPlan]:
    population = build_population(households, villages)
    return population, compile_plan(population, plan, catalogue, scenario, village_plan)


def effect_paths(arrays: PlanArrays, at: int, n_years: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """(gross, production cost) paths of household ``at``'s applications as the kernel adds
    them (multiplier 1), from the plan's flat arrays."""
    ptr, kinds, amounts, starts, _, kind_float, profile = arrays.arrays[:7]
    out = []
    for j in range(ptr[at], ptr[at + 1]):
        k = np.arange(n_years) - starts[j]
        share = np.where(k >= 0, profile[kinds[j], np.clip(k, 0, profile.shape[1] - 1)], 0.0)
        effect = amounts[j] * share
        gross_share = kind_float[kinds[j], Kind.GROSS_SHARE]
        out.append((effect * gross_share, effect * (gross_share - 1.0)))
    return out


def position(population: Population, household_id: int) -> int:
    return int(np.flatnonzero(population.household_id == household_id)[0])


# ---------------------------------------------------------------------------------------------
# Reference plans and validation


def test_baseline_plan_is_empty_with_the_plan_columns(
    plan_registry: Registry, plan_scenario: Scenario
) -> None:
    plan = reference_plan("baseline", plan_registry.households, plan_scenario)
    assert list(plan.columns) == ["household_id", "package_id", "start_year"]
    assert len(plan) == 0
    assert plan["household_id"].dtype == np.int64


def test_uniform_1230_gives_every_registered_household_a_package_in_2015(
    plan_registry: Registry, plan_scenario: Scenario
) -> None:
    households = plan_registry.households
    plan = reference_plan("uniform_1230", households, plan_scenario)
    registered = households[households["is_registered"]].set_index("household_id")
    assert len(plan) == len(registered) == 12_600
    assert set(plan["household_id"]) == set(registered.index)
    assert (plan["start_year"] == 2015).all()
    support = registered.loc[plan["household_id"], "support_class"].astype(str).to_numpy()
    expected = np.where(support == "development", "one_labourer_2mu_30sheep", "social_cover")
    assert plan["package_id"].tolist() == expected.tolist()
    validate_plan(plan, load_catalogue(plan_scenario), plan_scenario)  # a valid plan


def test_unknown_reference_plan_is_an_input_error(
    plan_registry: Registry, plan_scenario: Scenario
) -> None:
    with pytest.raises(InputError, match="uniform_1230"):
        reference_plan("uniform", plan_registry.households, plan_scenario)


def test_validate_plan_names_every_problem(catalogue: Catalogue, plan_scenario: Scenario) -> None:
    plan = plan_table(
        (1, "thirty_goats", 2016),  # unknown package
        (2, "transfer_only", 2014),  # the registry's year: too early
        (3, "transfer_only", 2030),  # after the horizon
        (3, "transfer_only", 2016),  # household 3 twice
    )
    with pytest.raises(InputError) as raised:
        validate_plan(plan, catalogue, plan_scenario)
    message = str(raised.value)
    assert "thirty_goats" in message and "catalogue package" in message
    assert "household 2, start_year" in message and "2014" in message
    assert "household 3, start_year" in message and "2030" in message
    assert "must be after 2014 and at most 2020" in message
    assert "must appear once" in message


def test_validate_plan_needs_its_columns(catalogue: Catalogue, plan_scenario: Scenario) -> None:
    with pytest.raises(InputError, match="start_year"):
        validate_plan(
            pd.DataFrame({"household_id": [1], "package_id": ["transfer_only"]}),
            catalogue,
            plan_scenario,
        )


# ---------------------------------------------------------------------------------------------
# Guarantees and dibao cover


def test_a_package_brings_the_guarantees_a_household_lacks_from_its_start_year(
    plan_registry: Registry, catalogue: Catalogue, plan_scenario: Scenario
) -> None:
    households = households_with(
        plan_registry,
        {"housing_grade": "C"},
        {"housing_grade": "D"},
        {"has_safe_water": False},
        {"ncms_enrolled": False},
        {"n_dropouts": np.int8(1)},
        {},
        {"housing_grade": "C", "has_safe_water": False},  # no package: nothing is fixed
    )
    ids = households["household_id"].tolist()
    plan = plan_table(*[(ids[i], "transfer_only", 2016) for i in range(6)])
    population, plan_arrays = compiled(households, plan, catalogue, plan_scenario)
    start = 2016 - 2014
    # (household, guarantee rows fixed from the start year)
    expected = [
        (ids[0], {SAFE}),  # house repair
        (ids[1], {SAFE}),  # house rebuilding
        (ids[2], {WATER}),
        (ids[3], {MEDICAL}),  # NCMS enrolment
        (ids[4], {SCHOOL}),  # the dropout back to school
        (ids[5], set()),  # nothing needed
        (ids[6], set()),  # needs two, but has no package
    ]
    for household_id, fixed in expected:
        column = plan_arrays.fix_year[:, position(population, household_id)]
        assert column.tolist() == [start if g in fixed else NEVER for g in range(4)]
    # Guarantee entries carry no income effect: besides the entitlements that come with every
    # package (transfer income of supported households only), the labour transfer.
    entitlements = {e.id for e in catalogue.entitlement_entries()}
    own = [a.entry_id for a in plan_arrays.applications if a.entry_id not in entitlements]
    assert own == ["labour_transfer"]
    supported = set(np.flatnonzero(plan_arrays.supported).tolist())
    for app in plan_arrays.applications:
        assert set(app.positions.tolist()) <= supported, app.entry_id
    assert "temporary_assistance" in {a.entry_id for a in plan_arrays.applications}
    assert plan_arrays.supported.sum() == 6


def test_social_cover_guarantees_dibao_from_its_start_year(
    plan_registry: Registry, catalogue: Catalogue, plan_scenario: Scenario
) -> None:
    households = households_with(plan_registry, {}, {}, {})
    ids = households["household_id"].tolist()
    plan = plan_table((ids[0], "social_cover", 2015), (ids[1], "transfer_only", 2015))
    population, plan_arrays = compiled(households, plan, catalogue, plan_scenario)
    assert plan_arrays.dibao_from[position(population, ids[0])] == 1
    assert plan_arrays.dibao_from[position(population, ids[1])] == NEVER
    assert plan_arrays.dibao_from[position(population, ids[2])] == NEVER
    # Dibao is a rule, not an effect: besides the entitlements of both supported households,
    # the only application is the other household's transfer.
    entitlements = {e.id for e in catalogue.entitlement_entries()}
    own = [a.entry_id for a in plan_arrays.applications if a.entry_id not in entitlements]
    assert own == ["labour_transfer"]


def test_households_of_the_plan_outside_the_population_are_ignored(
    plan_registry: Registry, catalogue: Catalogue, plan_scenario: Scenario
) -> None:
    households = households_with(plan_registry, {}, {})
    ids = households["household_id"].tolist()
    elsewhere = int(plan_registry.households["household_id"].max()) + 1
    plan = plan_table((ids[0], "transfer_only", 2016), (elsewhere, "transfer_only", 2016))
    population, plan_arrays = compiled(households, plan, catalogue, plan_scenario)
    assert plan_arrays.applications  # the transfer and the entitlements
    for app in plan_arrays.applications:
        assert app.positions.tolist() == [position(population, ids[0])], app.entry_id


# ---------------------------------------------------------------------------------------------
# Ramp-up


def test_ramp_up_of_the_plans_household_model(
    plan_registry: Registry, catalogue: Catalogue, plan_scenario: Scenario
) -> None:
    """one_labourer_2mu_30sheep from 2016: nothing in 2014-15, then the catalogue's ramp-up of
    each entry (gross income added to its source; production cost = gross − net)."""
    households = households_with(plan_registry, {}, {})
    ids = households["household_id"].tolist()
    plan = plan_table((ids[1], "one_labourer_2mu_30sheep", 2016))
    population, plan_arrays = compiled(households, plan, catalogue, plan_scenario)
    arrays = prepare_plan(plan_arrays, population, plan_scenario)
    at = position(population, ids[1])
    other = position(population, ids[0])
    by_entry = {
        app.entry_id: path
        for app, path in zip(plan_arrays.applications, effect_paths(arrays, at, 7), strict=True)
    }
    entitlements = {e.id for e in catalogue.entitlement_entries()}
    assert set(by_entry) - entitlements == {"labour_transfer", "field_wolfberry_2mu", "sheep_30"}
    # year:                            2014 2015 2016  2017  2018  2019  2020
    labour = np.array([0, 0, 0.6, 1.0, 1.0, 1.0, 1.0]) * 11_000
    wolfberry = np.array([0, 0, 0.0, 0.3, 0.7, 1.0, 1.0])
    sheep = np.array([0, 0, 0.3, 0.8, 1.0, 1.0, 1.0])
    np.testing.assert_allclose(by_entry["labour_transfer"][0], labour)
    np.testing.assert_allclose(by_entry["labour_transfer"][1], 0.0)
    np.testing.assert_allclose(by_entry["field_wolfberry_2mu"][0], 12_800 * wolfberry)
    np.testing.assert_allclose(by_entry["field_wolfberry_2mu"][1], 8_000 * wolfberry)
    np.testing.assert_allclose(by_entry["sheep_30"][0], 48_000 * sheep)
    np.testing.assert_allclose(by_entry["sheep_30"][1], 34_500 * sheep)
    assert effect_paths(arrays, other, 7) == []  # not in the plan: no effect


def test_effects_stop_after_the_entrys_lifetime(
    plan_registry: Registry, catalogue: Catalogue, plan_scenario: Scenario
) -> None:
    """Microcredit lasts 5 years: 2015-2019 (ramp-up 0.5, then 1), nothing in 2020."""
    households = households_with(plan_registry, {})
    plan = plan_table((int(households["household_id"].iloc[0]), "credit_own_project", 2015))
    population, plan_arrays = compiled(households, plan, catalogue, plan_scenario)
    paths = effect_paths(prepare_plan(plan_arrays, population, plan_scenario), 0, 7)
    by_entry = dict(zip([a.entry_id for a in plan_arrays.applications], paths, strict=True))
    gross, _ = by_entry["microcredit"]
    np.testing.assert_allclose(gross, [0, 4_000, 8_000, 8_000, 8_000, 8_000, 0])


# ---------------------------------------------------------------------------------------------
# Village works


def villages_of(households: pd.DataFrame, ids: list[int]) -> pd.DataFrame:
    population = households.groupby("village_id")["n_members"].sum()
    return pd.DataFrame(
        {"village_id": ids, "population": [float(population.get(i, 0) + 100) for i in ids]}
    )


def village_plan(*rows: tuple[int, str, int]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["village_id", "package_id", "start_year"])


def test_village_works_reach_every_household_of_the_village(
    plan_registry: Registry, catalogue: Catalogue, plan_scenario: Scenario
) -> None:
    households = households_with(plan_registry, {}, {}, {}, {})
    households["village_id"] = [1, 1, 3, 3]
    works = village_plan((1, "village_market", 2015), (3, "village_mutual_aid", 2016))
    population, plan_arrays = compiled(
        households, plan_table(), catalogue, plan_scenario, works, villages_of(households, [1, 3])
    )
    in_village_1 = sorted(np.flatnonzero(population.village == 0).tolist())
    in_village_3 = sorted(np.flatnonzero(population.village == 1).tolist())
    uplifts = {w.entry_id: w for w in plan_arrays.village_works}
    assert set(uplifts) == {"cooperative", "ecommerce_point"}
    cooperative = uplifts["cooperative"]
    assert sorted(cooperative.positions.tolist()) == in_village_1
    path = cooperative.uplift_path(population.n, 7)
    # 3% of gross farm income at maturity, ramp-up (0.3, 0.7, 1) from 2015
    expected = 0.03 * np.array([0, 0.3, 0.7, 1.0, 1.0, 1.0, 1.0])
    for p in in_village_1:
        np.testing.assert_allclose(path[:, p], expected)
    for p in in_village_3:
        assert (path[:, p] == 0).all()
    (fund,) = plan_arrays.applications
    assert fund.entry_id == "mutual_aid_fund" and fund.village_level
    assert sorted(fund.positions.tolist()) == in_village_3
    # 4,000 yuan to the 20% who borrow, spread over every household: 800 each, from 2016
    np.testing.assert_allclose(fund.amount, 800.0)
    assert (fund.start == 2).all()


def test_village_works_for_a_village_outside_the_population_are_ignored(
    plan_registry: Registry, catalogue: Catalogue, plan_scenario: Scenario
) -> None:
    """Village 2 has no household here: its works must not land on village 3."""
    households = households_with(plan_registry, {}, {})
    households["village_id"] = [1, 3]
    works = village_plan((2, "village_market", 2015), (99, "village_road", 2016))
    _, plan_arrays = compiled(households, plan_table(), catalogue, plan_scenario, works)
    assert plan_arrays.village_works == ()
    assert plan_arrays.applications == ()


def test_validate_village_plan(catalogue: Catalogue, plan_scenario: Scenario) -> None:
    bad = village_plan(
        (1, "transfer_only", 2015),  # a household package
        (2, "village_road", 2030),
    )
    with pytest.raises(InputError) as raised:
        validate_village_plan(bad, catalogue, plan_scenario)
    message = str(raised.value)
    assert "transfer_only" in message and "village package" in message
    assert "village 2, start_year" in message and "2030" in message
    good = village_plan((1, "village_road", 2016))
    assert validate_village_plan(good, catalogue, plan_scenario)["village_id"].dtype == np.int64

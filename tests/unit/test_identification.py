"""Identification (plan §5) and classification (§25): error rates in the calibration ranges,
recorded causes, and the rules on small hand-computed tables."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from fupinsim import data
from fupinsim.errors import InputError
from fupinsim.registry import Registry, generate_registry
from fupinsim.registry.identify import (
    _rank_within,
    adjust_people,
    assign_helpers,
    classify_support,
    identification_rates,
    record_main_cause,
    recorded_income_pc,
)
from fupinsim.registry.schema import INCOME_SOURCES
from fupinsim.scenario import IdentificationSettings, Scenario

# docs/sources.md §6.1: inclusion 10-15%, exclusion 8-12% (2014)
INCLUSION_RANGE = (0.10, 0.15)
EXCLUSION_RANGE = (0.08, 0.12)


def _city(registry: Registry) -> pd.Series:
    assert registry.identification is not None
    table = registry.identification.set_index("county_id")
    return table.loc["all"]


# ----------------------------------------------------------------------------------------------
# The plan's registry


def test_city_error_rates_are_in_the_calibration_ranges(plan_registry: Registry) -> None:
    city = _city(plan_registry)
    assert INCLUSION_RANGE[0] <= city["inclusion_rate"] <= INCLUSION_RANGE[1]
    assert EXCLUSION_RANGE[0] <= city["exclusion_rate"] <= EXCLUSION_RANGE[1]


def test_error_table_counts_are_consistent(plan_registry: Registry) -> None:
    assert plan_registry.identification is not None
    table = plan_registry.identification.set_index("county_id")
    assert list(table.index) == [*data.COUNTY_IDS, "all"]
    counties = table.drop(index="all")
    for column in ("n_households", "n_registered", "n_included_nonpoor", "n_excluded_poor"):
        assert counties[column].sum() == table.loc["all", column]
    assert table.loc["all", "n_households"] == 60_100
    assert table.loc["all", "n_registered"] == 12_600
    # A county quota: as many truly poor as registered, so the two errors are equal in number.
    assert (table["n_truly_poor"] == table["n_registered"]).all()
    assert (table["n_included_nonpoor"] == table["n_excluded_poor"]).all()
    np.testing.assert_allclose(
        table["inclusion_rate"], table["n_included_nonpoor"] / table["n_registered"]
    )
    registered = plan_registry.registered.groupby("county_id", observed=True).size()
    assert (registered.reindex(counties.index) == counties["n_registered"]).all()


def test_registered_are_poorer_than_the_rest(plan_registry: Registry) -> None:
    households = plan_registry.households
    registered = households["is_registered"]
    line = data.poverty_line(2014)
    assert households.loc[registered, "true_income_pc"].median() < line
    assert households.loc[~registered, "true_income_pc"].median() > line


def test_recorded_causes_follow_the_calibration(plan_registry: Registry) -> None:
    shares = plan_registry.registered["main_cause"].value_counts(normalize=True)
    target = data.registry_calibration()["causes"]
    total = sum(target.values())
    for cause in data.CAUSES:
        assert shares.get(cause, 0.0) == pytest.approx(target[cause] / total, abs=0.03), cause


def test_support_classes_follow_section_25(plan_registry: Registry) -> None:
    registered = plan_registry.registered
    cover = (registered["n_labour"] == 0) | registered["is_wubao"]
    expected = np.where(cover, "social_security", "development")
    assert registered["support_class"].astype(str).tolist() == expected.tolist()
    assert set(registered["support_class"].astype(str)) == {"development", "social_security"}


def test_each_helper_has_up_to_three_households_of_one_county(plan_registry: Registry) -> None:
    registered = plan_registry.registered
    groups = registered.groupby("helper_id")
    assert groups.size().max() == 3
    assert groups.size().min() >= 1
    assert (groups["county_id"].nunique() == 1).all()
    county_number = registered["county_id"].map({c: i + 1 for i, c in enumerate(data.COUNTY_IDS)})
    assert ((registered["helper_id"] // 100_000_000) == county_number.astype(int)).all()


def test_without_noise_identification_is_exact(plan_scenario: Scenario) -> None:
    """No measurement or review noise, no hardship bonus, everyone applies: no errors at all."""
    exact = IdentificationSettings(
        measurement_sigma=0.0, review_sigma=0.0, hardship_bonus=0.0, non_application_rate=0.0
    )
    scenario = plan_scenario.model_copy(
        update={"registry": plan_scenario.registry.model_copy(update={"identification": exact})}
    )
    city = _city(generate_registry(scenario))
    assert city["inclusion_rate"] == 0.0
    assert city["exclusion_rate"] == 0.0


def test_more_measurement_noise_means_more_errors(plan_scenario: Scenario) -> None:
    noisy = plan_scenario.registry.identification.model_copy(update={"measurement_sigma": 0.4})
    scenario = plan_scenario.model_copy(
        update={"registry": plan_scenario.registry.model_copy(update={"identification": noisy})}
    )
    registry = generate_registry(scenario)
    assert _city(registry)["inclusion_rate"] > INCLUSION_RANGE[1]
    assert len(registry.registered) == 12_600  # the quota holds whatever the noise


# ----------------------------------------------------------------------------------------------
# Rules on small tables (input → output, by hand)


@pytest.mark.parametrize(
    ("groups", "values", "ranks"),
    [
        ([0, 0, 0], [3.0, 1.0, 2.0], [2, 0, 1]),
        ([1, 0, 1, 0], [5.0, 5.0, 4.0, 6.0], [1, 0, 0, 1]),
        ([0, 0, 0], [1.0, 1.0, 1.0], [0, 1, 2]),  # ties by position
        ([2, 1], [np.inf, 0.0], [0, 0]),
    ],
)
def test_rank_within_groups(groups: list[int], values: list[float], ranks: list[int]) -> None:
    assert _rank_within(np.array(groups), np.array(values)).tolist() == ranks


def _households(**columns: list[object]) -> pd.DataFrame:
    n = len(next(iter(columns.values())))
    base: dict[str, object] = {c: [0.0] * n for c in (*INCOME_SOURCES, "production_cost")}
    base.update(
        household_id=list(range(1, n + 1)),
        n_members=[1] * n,
        n_labour=[1] * n,
        n_disabled=[0] * n,
        n_chronic_ill=[0] * n,
        is_wubao=[False] * n,
        county_id=["suzhou"] * n,
        **{s: [0] * n for s in ("n_students_primary", "n_students_junior")},
        **{s: [0] * n for s in ("n_students_senior", "n_students_vocational")},
        n_students_tertiary=[0] * n,
    )
    base.update(columns)
    return pd.DataFrame(base)


def test_recorded_income_per_capita_by_hand() -> None:
    # (6,000 + 5,200 + 1,800 + 300 + 1,200 − 3,500) / 4 = 2,750 yuan per person.
    frame = _households(
        income_wages=[6_000.0],
        income_crops=[5_200.0],
        income_livestock=[1_800.0],
        income_property=[300.0],
        income_transfers=[1_200.0],
        production_cost=[3_500.0],
        n_members=[4],
    )
    assert recorded_income_pc(frame).tolist() == [2_750.0]


@pytest.mark.parametrize(
    ("labour", "wubao", "expected"),
    [
        (2, False, "development"),
        (0, False, "social_security"),
        (0, True, "social_security"),
        (1, True, "social_security"),  # wubao is always covered (the validator flags the labour)
    ],
)
def test_classify_support(labour: int, wubao: bool, expected: str) -> None:
    frame = _households(n_labour=[labour], is_wubao=[wubao])
    assert classify_support(frame).tolist() == [expected]


def test_helpers_group_three_registered_households_per_county() -> None:
    frame = _households(county_id=["suzhou", "suzhou", "jinta", "suzhou", "suzhou", "suzhou"])
    registered = np.array([True, True, True, False, True, True])
    helpers = assign_helpers(frame, registered).tolist()
    # Suzhou (county 1): households 1, 2, 5 → cadre 1; household 6 → cadre 2. Jinta (5): 1.
    assert helpers == [100_000_001, 100_000_001, 500_000_001, -1, 100_000_001, 100_000_002]


def test_helpers_of_a_chunk_use_the_registry_wide_ranks() -> None:
    frame = _households(county_id=["suzhou", "suzhou"])
    helpers = assign_helpers(frame, np.array([True, True]), county_ranks=np.array([5, 6]))
    assert helpers.tolist() == [100_000_002, 100_000_003]


@pytest.mark.parametrize(
    ("members", "dependants", "candidates", "target"),
    [
        ([3, 4, 2, 5], [1, 1, 0, 2], [True, True, True, True], 16),  # add two
        ([3, 4, 2, 5], [1, 1, 0, 2], [True, True, True, True], 12),  # remove two
        # Remove one: only the first candidate has a dependant.
        ([3, 4, 2, 5], [1, 1, 0, 2], [True, False, True, False], 4),
        ([3, 4, 2, 5], [1, 1, 0, 2], [True, True, True, True], 14),  # nothing to do
    ],
)
def test_adjust_people_hits_the_target_changing_only_candidates(
    members: list[int], dependants: list[int], candidates: list[bool], target: int
) -> None:
    before = np.array(members)
    mask = np.array(candidates)
    after = adjust_people(before, np.array(dependants), mask, target, np.random.default_rng(1))
    assert int(after[mask].sum()) == target
    assert (after[~mask] == before[~mask]).all()
    assert (np.abs(after - before) <= 1).all()  # one member more or less at most
    assert (after >= 1).all()
    removed = before - after
    assert (removed <= np.array(dependants)).all()  # only dependants are removed


def test_adjust_people_refuses_an_unreachable_target() -> None:
    with pytest.raises(InputError, match=r"registry\.n_registered_people"):
        rng = np.random.default_rng(0)
        adjust_people(np.array([1, 1]), np.array([0, 0]), np.array([True, True]), 1, rng)


def test_recorded_cause_respects_the_consistency_rules() -> None:
    """Only causes the household can have are recorded (illness needs an ill member, …)."""
    n = 400
    frame = _households(
        n_chronic_ill=[0] * n,
        n_disabled=[0] * n,
        n_labour=[2] * n,
        county_id=["suzhou"] * n,
    )
    latent = np.full(n, data.CAUSES.index("illness"))
    codes = record_main_cause(frame, latent, np.ones(n, bool), np.random.default_rng(3))
    recorded = {data.CAUSES[c] for c in codes}
    assert recorded.isdisjoint({"illness", "disability", "schooling", "lack_labour"})
    assert len(recorded) >= 5


def test_identification_rates_by_hand() -> None:
    frame = pd.DataFrame({"county_id": ["suzhou"] * 4 + ["jinta"] * 2})
    registered = np.array([True, True, False, False, True, False])
    poor = np.array([True, False, True, False, True, False])
    table = identification_rates(frame, registered, poor).set_index("county_id")
    assert table.loc["suzhou", "inclusion_rate"] == 0.5  # 1 of 2 registered is not poor
    assert table.loc["suzhou", "exclusion_rate"] == 0.5  # 1 of 2 poor is not registered
    assert table.loc["jinta", "inclusion_rate"] == 0.0
    assert table.loc["all", "n_registered"] == 3
    assert table.loc["all", "inclusion_rate"] == pytest.approx(1 / 3)

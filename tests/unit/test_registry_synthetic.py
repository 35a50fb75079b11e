"""The synthetic registry: exact plan totals, calibration cells, consistency, reproducibility,
chunking and the national-scale plan."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest

from fupinsim import data
from fupinsim.registry import (
    Registry,
    generate_registry,
    iter_registry_chunks,
    registry_summary,
)
from fupinsim.registry.checks import check_registry
from fupinsim.registry.schema import HOUSEHOLD_COLUMNS, VILLAGE_COLUMNS
from fupinsim.registry.synthetic import REGISTRY_BLOCK, largest_remainder, plan_registry
from fupinsim.scenario import Scenario

STUDENTS = [
    "n_students_primary",
    "n_students_junior",
    "n_students_senior",
    "n_students_vocational",
    "n_students_tertiary",
]


def assert_same_table(left: pd.DataFrame, right: pd.DataFrame) -> None:
    """``pd.testing.assert_frame_equal``, with categoricals compared by categories and codes.

    (pandas compares categorical values one by one: 2 s a column for 300,000 rows.)
    """
    left, right = left.copy(), right.copy()
    for name in left.columns:
        if isinstance(left[name].dtype, pd.CategoricalDtype) and name in right:
            assert isinstance(right[name].dtype, pd.CategoricalDtype), name
            assert list(left[name].cat.categories) == list(right[name].cat.categories), name
            left[name], right[name] = left[name].cat.codes, right[name].cat.codes
    pd.testing.assert_frame_equal(left, right)


def _calibration_cells() -> pd.DataFrame:
    cells = pd.DataFrame(data.registry_calibration()["cells"])
    cells["villages_type"] = np.where(cells["immigrant"], "immigrant", "old")
    return cells


# ----------------------------------------------------------------------------------------------
# Totals


def test_plan_totals_are_exact(plan_registry: Registry) -> None:
    registered = plan_registry.registered
    assert len(registered) == 12_600
    assert int(registered["n_members"].sum()) == 47_700
    assert set(registered["county_id"].astype(str)) == set(data.COUNTY_IDS)


def test_every_cell_equals_the_calibration(plan_registry: Registry) -> None:
    summary = registry_summary(plan_registry).set_index(["county_id", "villages"])
    cells = _calibration_cells().set_index(["county", "villages_type"])
    assert len(summary) == len(cells) == 9
    for (county, kind), cell in cells.iterrows():
        assert summary.loc[(county, kind), "households"] == cell["registered_households"]
        assert summary.loc[(county, kind), "people"] == cell["registered_people"]


def test_population_and_villages_follow_the_calibration(plan_registry: Registry) -> None:
    cells = _calibration_cells()
    households, villages = plan_registry.households, plan_registry.villages
    assert len(households) == cells["households"].sum() == 60_100
    assert len(villages) == cells["villages"].sum()
    assert int(villages["is_immigrant"].sum()) == 60  # PLAN §10: 60 immigrant villages
    by_cell = households.groupby(["county_id", "is_immigrant"], observed=True).size()
    for _, cell in cells.iterrows():
        assert by_cell[(cell["county"], bool(cell["immigrant"]))] == cell["households"]


def test_schedule_percentages_give_whole_households(plan_registry: Registry) -> None:
    """The plan's shares (70% of Suzhou's, 40% of Guazhou's immigrants, …) are whole numbers."""
    registered = plan_registry.registered
    schedule = data.exit_schedule()
    assert len(schedule) > 0
    for row in schedule.itertuples():
        group = registered[registered["county_id"] == row.county]
        if row.villages != "all":
            group = group[group["is_immigrant"] == (row.villages == "immigrant")]
        households = row.share * len(group)
        assert households == pytest.approx(round(households), abs=1e-9), row
    suzhou = registered[registered["county_id"] == "suzhou"]
    assert 0.7 * len(suzhou) == 1_330


def test_mean_income_of_each_cell_hits_its_target(plan_registry: Registry) -> None:
    households = plan_registry.households
    cells = _calibration_cells()
    for _, cell in cells.iterrows():
        rows = households[
            (households["county_id"] == cell["county"])
            & (households["is_immigrant"] == cell["immigrant"])
        ]
        mean = (rows["true_income_pc"] * rows["n_members"]).sum() / rows["n_members"].sum()
        assert mean == pytest.approx(cell["income_pc_mean"], rel=0.08), cell["county"]


# ----------------------------------------------------------------------------------------------
# Tables: schema, ids, consistency


def test_tables_have_the_schema_dtypes(plan_registry: Registry) -> None:
    households, villages = plan_registry.households, plan_registry.villages
    assert list(households.columns) == [c.name for c in HOUSEHOLD_COLUMNS]
    assert list(villages.columns) == [c.name for c in VILLAGE_COLUMNS]
    for spec in HOUSEHOLD_COLUMNS:
        if spec.dtype == "category":
            assert list(households[spec.name].cat.categories) == list(spec.allowed or ())
        else:
            assert str(households[spec.name].dtype) == spec.dtype, spec.name


def test_ids_and_villages_are_consistent(plan_registry: Registry) -> None:
    households, villages = plan_registry.households, plan_registry.villages
    np.testing.assert_array_equal(households["household_id"], np.arange(1, len(households) + 1))
    assert villages["village_id"].is_unique
    joined = households.merge(villages, on="village_id", suffixes=("", "_village"))
    assert len(joined) == len(households)
    assert (joined["county_id"] == joined["county_id_village"]).all()
    assert (joined["is_immigrant"] == joined["is_immigrant_village"]).all()
    counts = households.groupby("village_id").agg(
        n=("household_id", "size"), p=("n_members", "sum")
    )
    counts = counts.reindex(villages["village_id"])
    np.testing.assert_array_equal(counts["n"], villages["n_households"])
    np.testing.assert_array_equal(counts["p"], villages["population"])


def test_every_household_has_an_adult(plan_registry: Registry) -> None:
    """No household of schoolchildren alone (labour, elderly or another adult is present)."""
    households = plan_registry.households
    children = households[STUDENTS].sum(axis=1) + households["n_dropouts"]
    assert (children < households["n_members"]).all()


def test_registration_columns_are_filled_only_for_the_registered(plan_registry: Registry) -> None:
    households = plan_registry.households
    registered = households["is_registered"].to_numpy()
    for column in ("main_cause", "registered_year", "support_class", "helper_id"):
        assert households[column].notna().to_numpy().tolist() == registered.tolist(), column
    assert (households.loc[registered, "registered_year"] == 2014).all()


def test_flags_follow_the_rules(plan_registry: Registry) -> None:
    households = plan_registry.households
    assert not (households["is_dibao"] & households["is_wubao"]).any()
    assert (households.loc[households["is_wubao"], "n_labour"] == 0).all()
    assert (households["n_away"] <= households["n_labour"]).all()
    assert households["is_wubao"].sum() > 0
    assert households["is_dibao"].sum() > 0


# ----------------------------------------------------------------------------------------------
# Reproducibility and chunking


def test_same_seed_gives_identical_tables(plan_scenario: Scenario, plan_registry: Registry) -> None:
    again = generate_registry(plan_scenario)
    assert_same_table(again.households, plan_registry.households)
    pd.testing.assert_frame_equal(again.villages, plan_registry.villages)
    assert again.identification is not None and plan_registry.identification is not None
    pd.testing.assert_frame_equal(again.identification, plan_registry.identification)


def test_another_seed_gives_another_registry_with_the_same_totals(
    plan_scenario: Scenario, plan_registry: Registry
) -> None:
    other = generate_registry(plan_scenario.model_copy(update={"seed": 7}))
    assert not other.households["income_pc"].equals(plan_registry.households["income_pc"])
    assert not other.households["n_members"].equals(plan_registry.households["n_members"])
    pd.testing.assert_frame_equal(registry_summary(other), registry_summary(plan_registry))


def test_population_mode_chunks_concatenate_to_the_registry(
    plan_scenario: Scenario, plan_registry: Registry
) -> None:
    chunks = list(iter_registry_chunks(plan_scenario, chunk_households=REGISTRY_BLOCK))
    assert len(chunks) == 1  # 60,100 households fit in one block
    assert_same_table(chunks[0].households, plan_registry.households)


@pytest.fixture(scope="module")
def small_national(
    national_scenario: Scenario, scale_scenario: Callable[..., Scenario]
) -> Scenario:
    """national_2014 scaled down to 300,000 registered households (five blocks)."""
    return scale_scenario(national_scenario, 300_000, round(300_000 * 89.62 / 29.48))


@pytest.fixture(scope="module")
def small_national_households(small_national: Scenario) -> pd.DataFrame:
    chunks = list(iter_registry_chunks(small_national, chunk_households=REGISTRY_BLOCK))
    assert len(chunks) == 5
    return pd.concat([c.households for c in chunks], ignore_index=True)


@pytest.mark.parametrize("chunk", [2 * REGISTRY_BLOCK, 1_000_000])
def test_registered_only_chunks_do_not_change_the_rows(
    small_national: Scenario, small_national_households: pd.DataFrame, chunk: int
) -> None:
    chunks = list(iter_registry_chunks(small_national, chunk_households=chunk))
    assert len(chunks) == -(-300_000 // (chunk // REGISTRY_BLOCK * REGISTRY_BLOCK))
    together = pd.concat([c.households for c in chunks], ignore_index=True)
    assert_same_table(together, small_national_households)


def test_registered_only_mode_totals_and_rules(
    small_national: Scenario, small_national_households: pd.DataFrame
) -> None:
    households = small_national_households
    assert len(households) == 300_000
    assert int(households["n_members"].sum()) == round(300_000 * 89.62 / 29.48)
    assert households["is_registered"].all()
    # Cells in proportion to the calibration (largest remainder, so within one household).
    cells = _calibration_cells()
    expected = largest_remainder(300_000, cells["registered_households"].to_numpy())
    by_cell = households.groupby(["county_id", "is_immigrant"], observed=True).size()
    for (_, cell), n in zip(cells.iterrows(), expected, strict=True):
        assert by_cell[(cell["county"], bool(cell["immigrant"]))] == n
    children = households[STUDENTS].sum(axis=1) + households["n_dropouts"]
    assert (children < households["n_members"]).all()


def test_registered_only_generate_registry_equals_the_chunks(
    small_national: Scenario, small_national_households: pd.DataFrame
) -> None:
    whole = generate_registry(small_national)
    assert whole.identification is None  # no truth to compare with: only the registered exist
    assert_same_table(whole.households, small_national_households)


def test_registered_only_chunks_pass_the_validator(small_national: Scenario) -> None:
    chunk = next(iter_registry_chunks(small_national, chunk_households=REGISTRY_BLOCK))
    typed, _ = check_registry(chunk.households)
    assert_same_table(typed, chunk.households)


def test_national_plan_has_the_national_totals(national_scenario: Scenario) -> None:
    plan = plan_registry(national_scenario)
    assert plan.registered_only
    assert sum(c.n_registered for c in plan.cells) == 29_480_000
    assert sum(c.n_registered_people for c in plan.cells) == 89_620_000
    assert plan.n_households == 29_480_000
    assert plan.n_blocks == -(-29_480_000 // REGISTRY_BLOCK)
    assert national_scenario.registry.chunk_households % REGISTRY_BLOCK == 0


# ----------------------------------------------------------------------------------------------
# Rule: the largest-remainder split (input → output, by hand)


@pytest.mark.parametrize(
    ("total", "weights", "parts"),
    [
        (10, [1, 1, 1], [4, 3, 3]),
        (7, [1, 1], [4, 3]),
        (12_600, [1900, 700], [9_208, 3_392]),  # 9,207.7 → 9,208 and 3,392.3 → 3,392
        (5, [0, 1, 0], [0, 5, 0]),
        (0, [2, 3], [0, 0]),
        (3, [0.5, 0.25, 0.25], [1, 1, 1]),  # 1.5, 0.75, 0.75: the larger remainders win
    ],
)
def test_largest_remainder(total: int, weights: list[float], parts: list[int]) -> None:
    result = largest_remainder(total, np.array(weights, dtype=float))
    assert int(result.sum()) == total
    assert result.tolist() == parts


def test_largest_remainder_refuses_bad_input() -> None:
    with pytest.raises(ValueError, match="non-negative"):
        largest_remainder(5, np.array([1.0, -1.0]))
    with pytest.raises(ValueError, match="positive sum"):
        largest_remainder(5, np.array([0.0, 0.0]))

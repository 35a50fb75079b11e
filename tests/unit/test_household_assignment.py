"""One household, one plan: whole-household quotas, best predicted gain first."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from allocation_toy import toy_inputs

from fupinsim.allocate import assign_households, prepare_inputs, round_quotas
from fupinsim.allocate.households import QuotaWarning
from fupinsim.errors import InputError


def test_rounding_keeps_type_totals_and_moves_no_quota_by_a_household() -> None:
    rng = np.random.default_rng(7)
    quotas = pd.DataFrame(
        {
            "type_id": np.repeat([f"t{i}" for i in range(50)], 6),
            "package_id": np.tile([f"p{j}" for j in range(6)], 50),
            "start_year": 2015,
            "households": rng.uniform(0, 20, 300),
        }
    )
    whole = round_quotas(quotas)
    assert whole["households"].dtype == np.int64
    got = whole.groupby("type_id")["households"].sum()
    want = np.rint(quotas.groupby("type_id")["households"].sum())
    pd.testing.assert_series_equal(got, want.astype(np.int64), check_names=False)
    merged = quotas.merge(whole, on=["type_id", "package_id", "start_year"], how="left")
    moved = (merged["households_y"].fillna(0) - merged["households_x"]).abs()
    assert (moved < 1.0).all()


def households_and_gains(n_types: int = 3, per_type: int = 50, seed: int = 1) -> tuple:
    rng = np.random.default_rng(seed)
    n = n_types * per_type
    households = pd.DataFrame(
        {
            "household_id": rng.permutation(np.arange(1_000, 1_000 + n)),
            "type_id": np.repeat([f"t{i}" for i in range(n_types)], per_type),
            "helper_id": np.arange(n) % 7,
        }
    )
    gains = pd.DataFrame(
        {
            "household_id": np.repeat(households["household_id"].to_numpy(), 2),
            "package_id": np.tile(["p1", "p2"], n),
            "predicted_gain_yuan": rng.uniform(0, 5_000, 2 * n),
        }
    )
    return households, gains


def test_assignment_matches_the_quotas_and_gives_each_household_one_plan() -> None:
    households, gains = households_and_gains()
    quotas = pd.DataFrame(
        {
            "type_id": ["t0", "t0", "t1", "t2"],
            "package_id": ["p1", "p2", "p1", "p2"],
            "start_year": [2015, 2016, 2016, 2015],
            "households": [10.4, 20.6, 49.6, 0.3],
        }
    )
    plan = assign_households(quotas, households, gains)
    assert plan["household_id"].is_unique
    counts = plan.groupby(["type_id", "package_id", "start_year"]).size()
    expected = round_quotas(quotas).set_index(["type_id", "package_id", "start_year"])
    pd.testing.assert_series_equal(
        counts.sort_index(), expected["households"].sort_index(), check_names=False
    )
    types = households.set_index("household_id")["type_id"]
    assert (plan["type_id"].to_numpy() == types.loc[plan["household_id"]].to_numpy()).all()
    assert "helper_id" in plan.columns


def test_best_predicted_gain_first() -> None:
    """Type t1 has 50 households and one package with 10 places: the 10 highest predicted
    gains for that package get it."""
    households, gains = households_and_gains()
    quotas = pd.DataFrame(
        {"type_id": ["t1"], "package_id": ["p2"], "start_year": [2016], "households": [10.0]}
    )
    plan = assign_households(quotas, households, gains)
    members = households.loc[households["type_id"] == "t1", "household_id"]
    p2 = gains[(gains["package_id"] == "p2") & gains["household_id"].isin(members)]
    best = set(p2.nlargest(10, "predicted_gain_yuan")["household_id"])
    assert set(plan["household_id"]) == best
    assert plan["predicted_gain"].min() >= p2["predicted_gain_yuan"].nlargest(11).iloc[-1]


def test_costs_and_expected_exit_year_come_from_the_inputs() -> None:
    data = prepare_inputs(toy_inputs())
    households = pd.DataFrame({"household_id": range(200), "type_id": ["ta"] * 100 + ["tb"] * 100})
    quotas = pd.DataFrame(
        {
            "type_id": ["ta", "tb"],
            "package_id": ["p1", "p2"],
            "start_year": [2015, 2016],
            "households": [3.0, 2.0],
        }
    )
    plan = assign_households(quotas, households, data=data).set_index("type_id")
    assert (plan.loc["ta", "cost_fiscal_yuan"] == 1_000.0).all()
    assert (plan.loc["tb", "cost_fiscal_yuan"] == 1_800.0).all()
    assert (plan.loc["ta", "expected_exit_year"] == 2015).all()  # p1 yields 0.5 from 2015
    assert (plan.loc["tb", "expected_exit_year"] == 2016).all()
    # Without gains, households are taken in id order.
    assert sorted(plan.loc["ta", "household_id"]) == [0, 1, 2]


def test_a_quota_larger_than_the_type_is_an_error() -> None:
    households = pd.DataFrame({"household_id": range(5), "type_id": "ta"})
    quotas = pd.DataFrame(
        {"type_id": ["ta"], "package_id": ["p1"], "start_year": [2015], "households": [6.0]}
    )
    with pytest.raises(InputError, match="quota of 6"):
        assign_households(quotas, households)


def test_twelve_thousand_six_hundred_households() -> None:
    """The plan's size: every quota is met exactly, nobody twice (speed is in the benchmark)."""
    rng = np.random.default_rng(3)
    n_types, per_type = 90, 140
    households = pd.DataFrame(
        {
            "household_id": np.arange(n_types * per_type),
            "type_id": np.repeat([f"t{i}" for i in range(n_types)], per_type),
        }
    )
    packages = [f"p{j}" for j in range(8)]
    gains = pd.DataFrame(
        {
            "household_id": np.repeat(households["household_id"].to_numpy(), 8),
            "package_id": np.tile(packages, len(households)),
            "predicted_gain_yuan": rng.gamma(2.0, 1_000.0, 8 * len(households)),
        }
    )
    share = rng.dirichlet(np.ones(9), n_types)[:, :8] * per_type
    quotas = pd.DataFrame(
        {
            "type_id": np.repeat([f"t{i}" for i in range(n_types)], 8),
            "package_id": np.tile(packages, n_types),
            "start_year": 2015,
            "households": share.ravel(),
        }
    )
    plan = assign_households(quotas, households, gains)
    assert plan["household_id"].is_unique
    assert len(plan) == round_quotas(quotas)["households"].sum()


def test_gains_per_start_year_and_eligibility() -> None:
    """Gains as the yields module gives them (``gain`` per package and start year, eligible
    households only). Households 0-3 of type t fit p2 only; the tightest option (p2: 4
    eligible for 3 places) is served first, so p1 (fits all 10) does not take them away."""
    households = pd.DataFrame({"household_id": range(10), "type_id": "t"})
    p1 = pd.DataFrame(
        {"household_id": range(10), "package_id": "p1", "start_year": 2015, "gain": 0.5}
    )
    p2 = pd.DataFrame(
        {"household_id": range(4), "package_id": "p2", "start_year": 2016, "gain": 0.1}
    )
    gains = pd.concat([p1, p2], ignore_index=True)
    quotas = pd.DataFrame(
        {
            "type_id": ["t", "t"],
            "package_id": ["p1", "p2"],
            "start_year": [2015, 2016],
            "households": [6.0, 3.0],
        }
    )
    plan = assign_households(quotas, households, gains).set_index("household_id")
    assert set(plan.index[plan["package_id"] == "p2"]) <= {0, 1, 2, 3}
    assert (plan["package_id"] == "p2").sum() == 3
    assert (plan["package_id"] == "p1").sum() == 6
    assert plan.loc[plan["package_id"] == "p2", "predicted_gain"].eq(0.1).all()


def test_too_few_eligible_households_leave_the_quota_unfilled_with_a_warning() -> None:
    households = pd.DataFrame({"household_id": range(5), "type_id": "t"})
    gains = pd.DataFrame(
        {"household_id": [0, 1], "package_id": "p1", "start_year": 2015, "gain": 0.3}
    )
    quotas = pd.DataFrame(
        {"type_id": ["t"], "package_id": ["p1"], "start_year": [2015], "households": [4.0]}
    )
    with pytest.warns(QuotaWarning, match="2 supported households"):
        plan = assign_households(quotas, households, gains)
    assert sorted(plan["household_id"]) == [0, 1]


def test_support_after_the_expected_exit_year_is_explained() -> None:
    """Issue 10: support that starts after the household's expected exit year says why."""
    from fupinsim.allocate.households import timing_notes

    plan = pd.DataFrame(
        {
            "household_id": [1, 2, 3],
            "start_year": [2016, 2015, 2017],
            "expected_exit_year": pd.array([2015, 2016, pd.NA], dtype="Int64"),
            "predicted_gain": [0.2, 0.3, 0.1],
        }
    )
    notes = timing_notes(plan)["support_note"].tolist()
    assert notes[0].startswith("expected to exit by 2015 without new support")
    assert "2016" in notes[0]
    assert notes[1:] == ["", ""]

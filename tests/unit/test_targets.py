"""Exit targets from the plan's schedule (§2) and the 3% "as a whole" allowance."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from fupinsim import data
from fupinsim.microsim.targets import exit_targets, target_group
from fupinsim.registry import Registry
from fupinsim.scenario import Scenario

# county, villages, registered households (PLAN §2), cumulative target 2015 / 2016 / 2017
PLAN_TARGETS = [
    ("suzhou", "all", 1900, (1330, 1900, 1900)),  # 70% in 2015, the rest in 2016
    ("yumen", "immigrant", 2700, (1080, 2160, 2700)),  # 40 / 80 / 100%
    ("yumen", "old", 600, (600, 600, 600)),  # old villages as a whole in 2015
    ("dunhuang", "all", 700, (700, 700, 700)),
    ("guazhou", "immigrant", 4100, (1640, 3280, 4100)),
    ("guazhou", "old", 500, (500, 500, 500)),
    ("jinta", "all", 1500, (1050, 1500, 1500)),
    ("subei", "all", 330, (330, 330, 330)),
    ("aksai", "all", 270, (270, 270, 270)),
]


@pytest.fixture(scope="module")
def plan_targets(plan_registry: Registry, plan_scenario: Scenario) -> pd.DataFrame:
    return exit_targets(plan_registry.households, plan_scenario.microsim.as_whole_allowance)


def test_plan_targets_are_the_plans_numbers(plan_targets: pd.DataFrame) -> None:
    expected = pd.DataFrame(
        [
            (county, villages, year, n, target)
            for county, villages, n, targets in PLAN_TARGETS
            for year, target in zip((2015, 2016, 2017), targets, strict=True)
        ],
        columns=["county_id", "villages", "year", "n_registered", "target_exits"],
    )
    got = plan_targets[expected.columns].astype({"n_registered": int, "target_exits": int})
    pd.testing.assert_frame_equal(got, expected)
    assert plan_targets.groupby(["county_id", "villages"])["n_registered"].first().sum() == 12600


def test_required_exits_allow_three_percent_only_where_the_plan_says_all(
    plan_targets: pd.DataFrame,
) -> None:
    """'As a whole' (100%) may leave floor(3% × registered) households; 70% or 40% may not."""
    rows = plan_targets.set_index(["county_id", "villages", "year"]).sort_index()
    required = rows["required_exits"]
    assert required[("suzhou", "all", 2015)] == 1330  # 70%: no allowance
    assert required[("suzhou", "all", 2016)] == 1900 - 57  # 3% of 1,900
    assert required[("yumen", "immigrant", 2015)] == 1080
    assert required[("yumen", "immigrant", 2016)] == 2160
    assert required[("yumen", "immigrant", 2017)] == 2700 - 81
    assert required[("dunhuang", "all", 2015)] == 700 - 21
    assert required[("subei", "all", 2015)] == 330 - 9  # floor(9.9)
    assert required[("aksai", "all", 2015)] == 270 - 8  # floor(8.1)
    partial = rows["target_share"] < 1
    assert (rows.loc[partial, "required_exits"] == rows.loc[partial, "target_exits"]).all()


def test_targets_are_cumulative_and_never_fall(plan_targets: pd.DataFrame) -> None:
    for _, group in plan_targets.groupby(["county_id", "villages"]):
        assert group["year"].tolist() == [2015, 2016, 2017]
        assert group["target_exits"].is_monotonic_increasing
        assert group["required_exits"].is_monotonic_increasing
        assert (group["target_exits"] <= group["n_registered"]).all()
        assert group["target_exits"].iloc[-1] == group["n_registered"].iloc[-1]  # all by 2017


def test_groups_in_county_order(plan_targets: pd.DataFrame) -> None:
    order = plan_targets["county_id"].drop_duplicates().tolist()
    assert order == list(data.COUNTY_IDS)


def small_households(counts: dict[tuple[str, bool, bool], int]) -> pd.DataFrame:
    """Households by (county, immigrant, registered) with only the columns targets use."""
    rows = [
        (county, immigrant, registered)
        for (county, immigrant, registered), n in counts.items()
        for _ in range(n)
    ]
    county, immigrant, registered = zip(*rows, strict=True)
    return pd.DataFrame(
        {
            "household_id": np.arange(1, len(rows) + 1),
            "county_id": pd.Categorical(county, categories=data.COUNTY_IDS),
            "is_immigrant": immigrant,
            "is_registered": registered,
        }
    )


def test_targets_round_up_and_ignore_households_not_registered() -> None:
    households = small_households(
        {
            ("suzhou", False, True): 3,  # 70% × 3 = 2.1 → 3 (at least the plan's share)
            ("suzhou", False, False): 50,
            ("yumen", True, True): 7,  # 40% × 7 = 2.8 → 3; 80% → 5.6 → 6; 100% → 7
            ("yumen", False, True): 40,  # 100%: floor(3% × 40) = 1 may remain
            ("dunhuang", False, True): 33,  # floor(0.99) = 0: all must exit
        }
    )
    targets = (
        exit_targets(households, 0.03).set_index(["county_id", "villages", "year"]).sort_index()
    )
    assert targets.loc[("suzhou", "all"), "target_exits"].tolist() == [3, 3, 3]
    assert targets.loc[("suzhou", "all"), "n_registered"].tolist() == [3, 3, 3]
    assert targets.loc[("yumen", "immigrant"), "target_exits"].tolist() == [3, 6, 7]
    assert targets.loc[("yumen", "immigrant"), "required_exits"].tolist() == [3, 6, 7]
    assert targets.loc[("yumen", "old"), "required_exits"].tolist() == [39, 39, 39]
    assert targets.loc[("dunhuang", "all"), "required_exits"].tolist() == [33, 33, 33]
    assert set(targets.index.get_level_values(0)) == {"suzhou", "yumen", "dunhuang"}


def test_no_allowance_by_default() -> None:
    households = small_households({("dunhuang", False, True): 100})
    targets = exit_targets(households)
    assert (targets["required_exits"] == targets["target_exits"]).all()
    assert exit_targets(households, 0.03)["required_exits"].tolist() == [97, 97, 97]


def test_only_yumen_and_guazhou_are_split_into_immigrant_and_old_villages() -> None:
    county = np.array(["suzhou", "suzhou", "yumen", "yumen", "guazhou", "guazhou", "jinta"])
    immigrant = np.array([False, True, False, True, False, True, True])
    assert target_group(county, immigrant).tolist() == [
        "all",
        "all",
        "old",
        "immigrant",
        "old",
        "immigrant",
        "all",
    ]

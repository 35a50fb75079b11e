"""The closed loop and the plan's goals (issue 10, item 6): a goal no money can secure is named
once with its reason; a goal the LP meets but the simulation does not gets a cushion."""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from fupinsim.allocate.goals import goal_key
from fupinsim.microsim.engine import STATS
from fupinsim.microsim.results import group_labels, p_all_targets_met, plan_goals
from fupinsim.pipeline.loop import goal_cushions, unsecurable_lines, unsecurable_targets

SHORTFALL = pd.DataFrame(
    {
        "county_id": ["yumen", "guazhou"],
        "villages": ["old", "immigrant"],
        "year": [2015, 2017],
        "target_exits": [500.0, 800.0],
        "missing_exits": [118.0, 0.0],
        "met": [False, True],
        "extra_yuan_to_close": [math.nan, math.nan],
        "binding_resource": ["exit_yield", ""],
        "message": ["Yumen old villages: 118 short", ""],
    }
)


def _goals(income_met: bool, unreachable: float, village_met: bool = True) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "goal": ["immigrant_income", "village_exit"],
            "county_id": ["city", "guazhou"],
            "villages": ["immigrant", "immigrant"],
            "year": [2017, 2017],
            "required": [9_229.0, 1_977.0],
            "short": [0.0 if income_met else 3_264.0, 0.0 if village_met else 10.0],
            "met": [income_met, village_met],
            "unreachable": [unreachable, math.nan],
            "message": ["Immigrant villages' mean income ... no money can secure it", ""],
        }
    )


def _allocation(goals: pd.DataFrame, margins: dict | None = None) -> SimpleNamespace:
    result = SimpleNamespace(shortfall=SHORTFALL, goal_shortfall=goals)
    return SimpleNamespace(result=result, margins=margins or {})


def _simulated(income_p: float, village_p: float) -> SimpleNamespace:
    tp = pd.DataFrame(
        {
            "county_id": ["guazhou", "city", "city"],
            "villages": ["immigrant", "immigrant", "poor_villages"],
            "year": [2017, 2017, 2017],
            "required_exits": [800.0, 9_229.0, 63.0],
            "projected_exits_mean": [810.0, 9_500.0, 62.8],
            "projected_exits_p05": [790.0, 9_000.0, 62.0],
            "p_met": [0.95, income_p, village_p],
            "target": ["exits", "immigrant_income", "village_exit"],
        }
    )
    return SimpleNamespace(target_probability=tp)


def test_a_goal_no_money_can_secure_is_listed_once_with_its_reason() -> None:
    table = unsecurable_targets(_allocation(_goals(income_met=False, unreachable=2_855.0)))
    assert table["target"].tolist() == ["exits", "immigrant_income"]
    income = table.iloc[1]
    assert income["missing_exits"] == pytest.approx(2_855.0)
    assert income["binding_resource"] == "income_yield"
    assert "no money can secure it" in income["reason"]
    lines = unsecurable_lines(table)
    assert len(lines) == 2
    assert "2,855 yuan per person short even with unlimited money" in lines[1]
    assert "households" in lines[0] and "households" not in lines[1]


def test_a_goal_more_money_would_close_is_not_listed() -> None:
    table = unsecurable_targets(_allocation(_goals(income_met=False, unreachable=0.0)))
    assert table["target"].tolist() == ["exits"]


def test_goals_below_confidence_get_cushions_unless_they_cannot_be_secured() -> None:
    allocation = _allocation(_goals(income_met=True, unreachable=math.nan))
    cushions = goal_cushions(_simulated(0.5, 0.875), allocation, 0.9, 0.05, skip=set())
    income = cushions[goal_key("immigrant_income", "immigrant", 2017)]
    # z(0.9) × σ / mean with σ = 500 / 1.645: about 4%, so the step (5%) wins.
    assert income == pytest.approx(0.05)
    village = goal_key("village_exit_guazhou", "immigrant", 2017)
    assert cushions[village] == pytest.approx(0.05)
    # Raised again next round, never lowered.
    again = goal_cushions(
        _simulated(0.5, 0.875), _allocation(allocation.result.goal_shortfall, cushions), 0.9,
        0.05, skip=set(),
    )  # fmt: skip
    assert again[village] == pytest.approx(0.10)
    # Secure in the simulation: no cushion; in skip: left alone.
    assert goal_cushions(_simulated(0.95, 0.95), allocation, 0.9, 0.05, skip=set()) == {}
    skipped = goal_cushions(_simulated(0.5, 0.875), allocation, 0.9, 0.05, skip={village})
    assert village not in skipped


def test_a_goal_the_lp_misses_gets_no_cushion() -> None:
    allocation = _allocation(_goals(income_met=False, unreachable=2_855.0, village_met=False))
    assert goal_cushions(_simulated(0.0, 0.5), allocation, 0.9, 0.05, skip=set()) == {}


def test_p_all_targets_met_counts_the_plan_goals() -> None:
    """P(all targets met) is the share of replications meeting every exit target AND every
    plan goal: a goal met in half the replications halves it (shown on summed statistics)."""
    labels = group_labels()
    years = np.array([2014, 2015, 2016, 2017])
    reps = 4
    stats = np.zeros((reps, len(labels), years.size, len(STATS)))
    k = {name: i for i, name in enumerate(STATS)}
    immigrant = [i for i, (_, v) in enumerate(labels) if v == "immigrant"]
    stats[:, immigrant, :, k["people_all"]] = 100.0
    stats[:, immigrant, 0, k["income_all_yuan"]] = 100.0 * 4_000.0
    # 2017 income: the goal (max(2 × 4,000, 9,000)) met in replications 0 and 1 only.
    for r, income in enumerate([9_500.0, 9_100.0, 8_000.0, 6_000.0]):
        stats[r, immigrant, 3, k["income_all_yuan"]] = 100.0 * income
    remaining = np.zeros((reps, years.size, 2))
    population = np.array([100.0, 100.0])
    goals = plan_goals(stats, remaining, population, np.array([True, False]), years)
    assert goals.rows["target"].tolist() == ["immigrant_income", "village_exit"]
    assert goals.rows["p_met"].tolist() == pytest.approx([0.5, 1.0])
    targets = pd.DataFrame(columns=["county_id", "villages", "year", "required_exits"])
    within = {2015, 2016, 2017}
    assert p_all_targets_met(stats, years, targets, within) == pytest.approx(1.0)
    assert p_all_targets_met(stats, years, targets, within, goals) == pytest.approx(0.5)
    # A poor village above the threshold in replication 0 (3 of 100 people is the rule).
    remaining[0, 3, 0] = 10.0
    goals = plan_goals(stats, remaining, population, np.array([True, False]), years)
    assert p_all_targets_met(stats, years, targets, within, goals) == pytest.approx(0.25)

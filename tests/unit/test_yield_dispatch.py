"""The exit yields' simulations: each option over its eligible households only, in process.

The yields simulate every package and start year over just the households eligible for it
(the others keep the baseline's outcome). Draws are keyed by household id, so that must give
exactly the exit probabilities of simulating the whole registered population under the plan.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from fupinsim.allocate.goals import baseline_income, plan_goal_table
from fupinsim.allocate.yields import (
    _exit_probabilities,
    _options,
    _simulate_options,
    household_types,
)
from fupinsim.microsim import exit_probabilities, load_catalogue, simulate
from fupinsim.microsim.plans import population_table
from fupinsim.microsim.population import build_population
from fupinsim.registry import Registry
from fupinsim.scenario import Scenario

REPLICATIONS = 20


@pytest.fixture(scope="module")
def setting(plan_registry: Registry, plan_scenario: Scenario):  # type: ignore[no-untyped-def]
    households = plan_registry.households
    registered = households[households["is_registered"]].reset_index(drop=True)
    population = build_population(registered, plan_registry.villages)
    types = household_types(registered, plan_scenario.allocation.income_bands)
    types = types.set_index("household_id").loc[population.household_id].reset_index()
    catalogue = load_catalogue(plan_scenario)
    allocation = plan_scenario.allocation.model_copy(update={"yield_replications": REPLICATIONS})
    scenario = plan_scenario.model_copy(update={"allocation": allocation})
    table = population_table(population)
    options = _options(catalogue, table, types, [2016])
    return population, scenario, catalogue, options


def test_options_simulated_over_their_eligible_households_match_whole_runs(setting) -> None:  # type: ignore[no-untyped-def]
    population, scenario, catalogue, options = setting
    partial = [(p, s, e) for p, s, e in options if 0 < e.sum() < population.n][:2]
    assert partial, "some package must be open to only part of the households"
    got = _simulate_options(population, partial, scenario, catalogue, workers=2)
    empty = pd.DataFrame(columns=["household_id", "package_id", "start_year"])
    whole = exit_probabilities(population, empty, scenario, catalogue, replications=REPLICATIONS)
    np.testing.assert_array_equal(got[0][0], whole.T)
    for (package_id, start, eligible), (p_exit, _income) in zip(partial, got[1:], strict=True):
        plan = pd.DataFrame(
            {
                "household_id": population.household_id[eligible],
                "package_id": package_id,
                "start_year": np.int64(start),
            }
        )
        whole = exit_probabilities(population, plan, scenario, catalogue, replications=REPLICATIONS)
        np.testing.assert_array_equal(p_exit, whole.T)
        assert not np.array_equal(p_exit[eligible], got[0][0][eligible])


def test_goal_table_baselines_are_the_simulations_own(setting, plan_registry: Registry) -> None:  # type: ignore[no-untyped-def]
    """The LP's goal baselines are what ``simulate`` reports under no new support: the mean
    income of all immigrant-village people (registered or not) in the goal year, and the
    poor villages' remaining poor people (registered households)."""
    population, scenario, catalogue, _ = setting
    baseline = _simulate_options(population, [], scenario, catalogue, workers=2)[0]
    immigrant = (
        plan_registry.households.set_index("household_id")
        .loc[population.household_id, "is_immigrant"]
        .to_numpy(dtype=bool)
    )
    run = baseline_income(scenario, catalogue, _exit_probabilities, workers=2)
    goals = plan_goal_table(plan_registry, scenario, population, baseline, immigrant, run)
    assert set(goals["goal"]) == {"immigrant_income", "village_exit"}
    empty = pd.DataFrame(columns=["household_id", "package_id", "start_year"])
    households = plan_registry.households
    result = simulate(households, empty, scenario, replications=REPLICATIONS,
                      catalogue=catalogue, household_paths=False)  # fmt: skip
    income = result.immigrant_income.set_index("year")["mean"]
    row = goals[goals["goal"] == "immigrant_income"].iloc[0]
    assert row["baseline"] == pytest.approx(float(income.loc[int(row["year"])]), rel=1e-4)
    required = max(2.0 * float(income.iloc[0]), 9_000.0)
    assert row["required"] == pytest.approx(required, rel=1e-4)
    village = goals[goals["goal"] == "village_exit"]
    n_poor = int(plan_registry.villages["is_poor_village"].sum())
    assert village["n_villages"].sum() <= n_poor
    assert (village["required"] <= 0.03 * village["people"] + 1e-9).all()
    assert (village["baseline"] > 0).any()

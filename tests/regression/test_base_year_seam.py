"""No seam at the base year (issue 10 item 2).

The observed base year already holds its year's average shocks, so under no new support the
first simulated year continues it: the mean income of all households grows at the trend
(within ±1 point), and the base year's own incomes are the registry's. Before the base-year
correction the mean fell ≈ 2% in 2015 against a trend of ≈ +5.9%.
"""

from __future__ import annotations

import numpy as np

from fupinsim.microsim import load_catalogue, reference_plan
from fupinsim.microsim.engine import STATS, Prepared, prepare_plan, prepare_population, run_prepared
from fupinsim.microsim.plans import compile_plan
from fupinsim.microsim.population import Population, build_population
from fupinsim.registry import Registry
from fupinsim.scenario import Scenario

REPLICATIONS = 30
_S = {name: k for k, name in enumerate(STATS)}


def _run(prepared: Prepared, arrays: object) -> tuple[np.ndarray, np.ndarray]:
    result = run_prepared(
        prepared,
        arrays,  # type: ignore[arg-type]
        range(REPLICATIONS),
        0,
        prepared.n,
        village_sums=False,
        household_sums=False,
        threads=2,
    )
    sums = result.stats.sum(axis=1)  # replication, year, statistic
    income = sums[..., _S["income_all_yuan"]] / sums[..., _S["people_all"]]
    return income.mean(axis=0), sums[..., _S["poor_people"]].mean(axis=0)


def _without_shocks(scenario: Scenario) -> Scenario:
    data = scenario.model_dump()
    data["microsim"]["shocks"].update(
        income_sigma=0.0, drought_probability=0.0, livestock_price_sigma=0.0
    )
    data["microsim"]["health"].update(lost_wage_share=0.0)
    return Scenario.model_validate(data)


def _trend(population: Population, scenario: Scenario) -> Prepared:
    """The engine's tables with no shock at all: the observed incomes grow at the trend."""
    return prepare_population(population, _without_shocks(scenario))


def test_first_simulated_year_grows_at_the_trend(
    plan_registry: Registry, plan_scenario: Scenario
) -> None:
    households = plan_registry.households
    population = build_population(households, plan_registry.villages)
    plan = reference_plan("baseline", households, plan_scenario)
    compiled = compile_plan(population, plan, load_catalogue(plan_scenario), plan_scenario)
    arrays = prepare_plan(compiled, population, plan_scenario)
    income, headcount = _run(prepare_population(population, plan_scenario), arrays)
    trend, _ = _run(_trend(population, plan_scenario), arrays)

    # The base year keeps the observed incomes (the trend run uses them as they are).
    np.testing.assert_allclose(income[0], trend[0], rtol=1e-12)
    growth, trend_growth = income[1] / income[0] - 1, trend[1] / trend[0] - 1
    assert 0.03 < trend_growth < 0.09  # the trend itself: about +6% a year (growth_* fields)
    assert abs(growth - trend_growth) <= 0.01, (growth, trend_growth)
    # The poor headcount does not jump in the first simulated year (it jumped ≈ 20% before).
    assert headcount[1] <= 1.05 * headcount[0], headcount[:2]

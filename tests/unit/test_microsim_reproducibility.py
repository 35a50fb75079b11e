"""Reproducibility: identical tables whatever the chunk size, the number of worker processes and
the order of the registry's rows; common random numbers between plans.

The plan's registered households (12,600, with the village table) under uniform_1230 and
village works; 60 replications make two replication blocks of 50, so work is cut both by
household chunks and by replication blocks. Tables must be equal exactly, not approximately.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest
from scipy import stats as scipy_stats
from scipy.special import ndtr, ndtri
from test_engine import fixed_catalogue, households_table, plan_table, quiet_scenario

from fupinsim import rng
from fupinsim.microsim import draws, reference_plan, simulate
from fupinsim.microsim.engine import STATS
from fupinsim.microsim.national import simulate_national
from fupinsim.microsim.results import SimulationResult
from fupinsim.microsim.simulate import REPLICATION_BLOCK
from fupinsim.registry import Registry, generate_registry
from fupinsim.scenario import Scenario

REPLICATIONS = 60
_S = {name: i for i, name in enumerate(STATS)}


@pytest.fixture(scope="module")
def registered(plan_registry: Registry) -> Registry:
    households = plan_registry.households
    return Registry(households[households["is_registered"]], plan_registry.villages, None)


@pytest.fixture(scope="module")
def plan(registered: Registry, plan_scenario: Scenario) -> pd.DataFrame:
    return reference_plan("uniform_1230", registered.households, plan_scenario)


@pytest.fixture(scope="module")
def works(registered: Registry) -> pd.DataFrame:
    """Village works in every village with registered households (all three packages)."""
    ids = np.sort(registered.households["village_id"].unique())
    rows = [(v, "village_market", 2015) for v in ids[::2]]
    rows += [(v, "village_mutual_aid", 2015) for v in ids[1::2]]
    rows += [(v, "village_road", 2016) for v in ids[::3]]
    return pd.DataFrame(rows, columns=["village_id", "package_id", "start_year"])


def run(
    registry: Registry,
    plan: pd.DataFrame,
    scenario: Scenario,
    works: pd.DataFrame | None = None,
    replications: int = REPLICATIONS,
    workers: int = 1,
    chunk_households: int | None = None,
) -> SimulationResult:
    return simulate(
        registry,
        plan,
        scenario,
        village_plan=works,
        replications=replications,
        workers=workers,
        chunk_households=chunk_households,
    )


@pytest.fixture(scope="module")
def reference(
    registered: Registry, plan: pd.DataFrame, works: pd.DataFrame, plan_scenario: Scenario
) -> SimulationResult:
    return run(registered, plan, plan_scenario, works)


def assert_same_tables(got: SimulationResult, expected: SimulationResult) -> None:
    assert got.tables().keys() == expected.tables().keys()
    for name, table in expected.tables().items():
        pd.testing.assert_frame_equal(got.tables()[name], table, check_exact=True, obj=name)
    np.testing.assert_array_equal(got.meta["group_stats"], expected.meta["group_stats"])


def test_the_work_is_cut_into_several_replication_blocks() -> None:
    assert REPLICATIONS > REPLICATION_BLOCK


@pytest.mark.parametrize("chunk_households", [4096, 8192])
def test_tables_do_not_depend_on_the_chunk_size(
    chunk_households: int,
    registered: Registry,
    plan: pd.DataFrame,
    works: pd.DataFrame,
    plan_scenario: Scenario,
    reference: SimulationResult,
) -> None:
    got = run(registered, plan, plan_scenario, works, chunk_households=chunk_households)
    assert got.meta["chunk_households"] == chunk_households != reference.meta["chunk_households"]
    assert_same_tables(got, reference)


def test_tables_do_not_depend_on_the_number_of_workers(
    registered: Registry,
    plan: pd.DataFrame,
    works: pd.DataFrame,
    plan_scenario: Scenario,
    reference: SimulationResult,
) -> None:
    """Two workers (kernel threads) over 4 chunks × 2 replication blocks."""
    done: list[tuple[int, int]] = []
    got = simulate(
        registered,
        plan,
        plan_scenario,
        village_plan=works,
        replications=REPLICATIONS,
        workers=2,
        chunk_households=4096,
        progress=lambda d, total: done.append((d, total)),
    )
    assert done[-1] == (8, 8)
    assert_same_tables(got, reference)


def test_tables_do_not_depend_on_the_order_of_the_registry(
    registered: Registry,
    plan: pd.DataFrame,
    works: pd.DataFrame,
    plan_scenario: Scenario,
    reference: SimulationResult,
) -> None:
    shuffled = registered.households.sample(frac=1.0, random_state=3)
    got = run(Registry(shuffled, registered.villages, None), plan.iloc[::-1], plan_scenario, works)
    assert_same_tables(got, reference)


def test_the_seed_drives_the_draws(
    registered: Registry, plan: pd.DataFrame, plan_scenario: Scenario
) -> None:
    same = run(registered, plan, plan_scenario, replications=5)
    again = run(registered, plan, plan_scenario, replications=5)
    other = run(registered, plan, plan_scenario.model_copy(update={"seed": 7}), replications=5)
    assert_same_tables(again, same)
    assert not same.county_year["mean"].equals(other.county_year["mean"])


# ---------------------------------------------------------------------------------------------
# Common random numbers


@pytest.fixture(scope="module")
def crn_runs(
    registered: Registry, plan: pd.DataFrame, works: pd.DataFrame, plan_scenario: Scenario
) -> dict[str, SimulationResult]:
    """Baseline and uniform_1230 for even household ids only, same seed; baseline, other seed.
    The same village works in all three."""
    half = plan[plan["household_id"] % 2 == 0]
    baseline = reference_plan("baseline", registered.households, plan_scenario)
    other_seed = plan_scenario.model_copy(update={"seed": plan_scenario.seed + 1})
    return {
        "baseline": run(registered, baseline, plan_scenario, works, replications=30),
        "half": run(registered, half, plan_scenario, works, replications=30),
        "baseline_other_seed": run(registered, baseline, other_seed, works, replications=30),
    }


def test_households_without_a_package_in_either_plan_have_identical_paths(
    crn_runs: dict[str, SimulationResult],
) -> None:
    base = crn_runs["baseline"].household.set_index(["household_id", "year"])
    half = crn_runs["half"].household.set_index(["household_id", "year"])
    odd = base.index.get_level_values("household_id") % 2 == 1
    pd.testing.assert_frame_equal(half[odd], base[odd], check_exact=True)
    # The plan changes the others (most of them: some packages fail, some gain nothing).
    changed = (half.loc[~odd, "income_pc_mean"] != base.loc[~odd, "income_pc_mean"]).groupby(
        level="household_id"
    )
    assert changed.any().mean() > 0.5


def test_plan_differences_vary_less_than_differences_between_seeds(
    crn_runs: dict[str, SimulationResult],
) -> None:
    """With common random numbers the difference between two plans is mostly policy: its
    variance over replications is well below that of two independent runs."""

    def city(name: str, statistic: str) -> np.ndarray:
        stats = crn_runs[name].meta["group_stats"]  # (replication, group, year, statistic)
        return np.asarray(stats[..., _S[statistic]].sum(axis=1))

    for statistic, years in (("poor_people", slice(1, None)), ("exited", slice(1, 2))):
        paired = city("half", statistic) - city("baseline", statistic)
        independent = city("half", statistic) - city("baseline_other_seed", statistic)
        ratio = paired.var(axis=0)[years] / independent.var(axis=0)[years]
        assert (ratio < 0.5).all(), (statistic, ratio)


# ---------------------------------------------------------------------------------------------
# The counter-based generator: any household's draws recomputed alone


def test_compiled_draws_match_the_numpy_reference() -> None:
    """The kernel's generator (numba) and rng's reference (NumPy) give the same numbers."""
    key = rng.counter_key(11, "income", 3)
    hh_key = int(rng.mix64(key ^ 123_456))
    assert int(draws.household_key(np.uint64(key), 123_456)) == hh_key
    counters = np.arange(200_000, dtype=np.int64)
    np.testing.assert_array_equal(
        draws.uniforms(np.uint64(hh_key), counters), rng.counter_uniform(hh_key, counters)
    )
    np.testing.assert_allclose(
        draws.normals(np.uint64(hh_key), counters),
        rng.counter_normal(hh_key, counters),
        rtol=1e-12,
        atol=1e-12,
    )


def test_draws_are_uniform_and_normal() -> None:
    p = np.linspace(1e-12, 1 - 1e-12, 1_000_001)
    exact = ndtri(p)
    assert np.max(np.abs(rng.inverse_normal_cdf(p) - exact) / np.maximum(1, np.abs(exact))) < 2e-9
    n = 400_000
    u = rng.counter_uniform(rng.counter_key(1, "illness", 0, 42), np.arange(n))
    assert ((u > 0) & (u < 1)).all()
    assert abs(u.mean() - 0.5) < 4 * np.sqrt(1 / 12 / n)
    assert np.histogram(u, bins=10, range=(0, 1))[0].min() > n / 10 * 0.97
    z = rng.counter_normal(rng.counter_key(1, "income", 0, 42), np.arange(n))
    assert abs(z.mean()) < 4 / np.sqrt(n)
    assert abs(z.std() - 1) < 0.01
    # Neighbouring keys (households, replications, streams) are uncorrelated.
    others = [
        rng.counter_uniform(rng.counter_key(1, "illness", 0, 43), np.arange(n)),
        rng.counter_uniform(rng.counter_key(1, "illness", 1, 42), np.arange(n)),
        rng.counter_uniform(rng.counter_key(1, "income", 0, 42), np.arange(n)),
    ]
    for other in others:
        assert abs(np.corrcoef(u, other)[0, 1]) < 4 / np.sqrt(n)


def test_ziggurat_normals_have_the_normal_distribution_tails_included() -> None:
    """The ziggurat's normals (NumPy reference and kernel alike) pass a Kolmogorov–Smirnov
    test, hit the tail beyond R as often as the normal does, and the rare words that miss
    their layer's rectangle (wedges, tail) give the same numbers compiled and in NumPy."""
    n = 1_000_000
    key = rng.counter_key(5, "verification", 1, 9)
    counters = np.arange(n, dtype=np.int64)
    z = rng.counter_normal(key, counters)
    assert scipy_stats.kstest(z, "norm").pvalue > 1e-4
    beyond = np.abs(z) > rng.ZIGGURAT_R
    expected = 2 * ndtr(-rng.ZIGGURAT_R) * n
    assert abs(beyond.sum() - expected) < 5 * np.sqrt(expected)
    compiled = draws.normals(np.uint64(key), counters)
    np.testing.assert_allclose(compiled[beyond], z[beyond], rtol=1e-12)
    words = rng.mix64(
        np.uint64(key) + (counters.astype(np.uint64) + np.uint64(1)) * np.uint64(rng.GAMMA)
    )
    layer = (words & np.uint64(255)).astype(np.intp)
    u = (words >> np.uint64(11)).astype(float) * 2.0**-53
    slow = u * rng.ZIGGURAT_X[layer] >= rng.ZIGGURAT_X[layer + 1]
    assert 0.005 < slow.mean() < 0.03
    np.testing.assert_allclose(compiled[slow], z[slow], rtol=1e-12, atol=1e-12)


def test_an_income_shock_is_the_draw_keyed_by_seed_stream_replication_household_and_year(
    plan_scenario: Scenario,
) -> None:
    """Only income shocks on: household 7's income each year, replication 2, is its trend times
    exp(σz − σ²/2), z recomputed by hand from (seed, "income", 2, 7, year)."""
    scenario = quiet_scenario(plan_scenario)
    raw = scenario.model_dump()
    raw["microsim"]["shocks"]["income_sigma"] = 0.3
    scenario = Scenario.model_validate(raw)
    households = households_table(*[{}] * 7)
    result = simulate(
        households,
        plan_table(),
        scenario,
        replications=3,
        catalogue=fixed_catalogue(scenario),
    )
    got = result.household[result.household["household_id"] == 7]["income_pc_mean"].to_numpy()
    t = np.arange(7)
    years = 2014 + t
    expected = np.zeros(7)
    for replication in range(3):
        key = rng.counter_key(scenario.seed, "income", replication, 7)
        z = rng.counter_normal(key, [rng.year_counter(int(y), 0) for y in years])
        shock = np.where(t > 0, np.exp(0.3 * z - 0.045), 1.0)
        expected += ((12_000 * 1.07**t + 3_400 * 1.04**t) * shock - 1_700 * 1.04**t + 360) / 4
    np.testing.assert_allclose(got, expected / 3, rtol=1e-9)


def test_a_household_simulated_alone_has_the_paths_it_has_in_the_whole_registry(
    registered: Registry,
    plan: pd.DataFrame,
    works: pd.DataFrame,
    plan_scenario: Scenario,
    reference: SimulationResult,
) -> None:
    """Draws are keyed by household (and village) id, not by position, chunk or thread."""
    households = registered.households
    for household_id in households["household_id"].to_numpy()[[0, 777, 12_599]]:
        alone = run(
            Registry(households[households["household_id"] == household_id], registered.villages),
            plan[plan["household_id"] == household_id],
            plan_scenario,
            works,
        )
        whole = reference.household[reference.household["household_id"] == household_id]
        pd.testing.assert_frame_equal(
            alone.household.reset_index(drop=True), whole.reset_index(drop=True), check_exact=True
        )


def test_tables_do_not_depend_on_the_number_of_threads(
    registered: Registry, plan: pd.DataFrame, plan_scenario: Scenario
) -> None:
    """One unit (one chunk, one replication block) on 1 and on 2 kernel threads."""
    one = run(registered, plan, plan_scenario, replications=20, workers=1, chunk_households=16_384)
    two = run(registered, plan, plan_scenario, replications=20, workers=2, chunk_households=16_384)
    assert_same_tables(two, one)


# ---------------------------------------------------------------------------------------------
# National runs: registry chunks generated and simulated in the workers


def test_national_runs_do_not_depend_on_workers_or_chunks_and_match_an_in_memory_run(
    national_scenario: Scenario, scale_scenario: Callable[..., Scenario]
) -> None:
    """140,000 registered households (three registry blocks): one process with chunks of one
    block, two worker processes with chunks of two blocks, and the whole registry in memory."""
    small = scale_scenario(national_scenario, 140_000)
    one = simulate_national(small, "uniform_1230", replications=2, chunk_households=65_536)
    two = simulate_national(
        small, "uniform_1230", replications=2, workers=2, chunk_households=131_072
    )
    np.testing.assert_array_equal(two.meta["group_stats"], one.meta["group_stats"])
    pd.testing.assert_frame_equal(two.county_year, one.county_year, check_exact=True)
    households = generate_registry(small).households
    plan = reference_plan("uniform_1230", households, small)
    memory = simulate(households, plan, small, replications=2, household_paths=False)
    np.testing.assert_array_equal(memory.meta["group_stats"], one.meta["group_stats"])


def test_float32_tables_agree_with_float64(
    registered: Registry, plan: pd.DataFrame, plan_scenario: Scenario
) -> None:
    """float32 household tables (incomes and costs per household), float64 arithmetic and sums:
    incomes agree to about 1e-6 relative; exit counts may differ only where a household sits
    within float32 rounding of the line."""
    raw = plan_scenario.model_dump()
    raw["microsim"]["float32"] = True
    single = Scenario.model_validate(raw)
    assert single.microsim.float32 and not plan_scenario.microsim.float32
    low = run(registered, plan, single, replications=10)
    high = run(registered, plan, plan_scenario, replications=10)
    assert low.meta["dtype"] == "float32"

    def values(result: SimulationResult, indicator: str) -> np.ndarray:
        frame = result.county_year
        return frame.loc[frame["indicator"] == indicator, "mean"].to_numpy()

    np.testing.assert_allclose(
        values(low, "mean_income_pc_all"), values(high, "mean_income_pc_all"), rtol=1e-5
    )
    np.testing.assert_allclose(
        values(low, "exits_cumulative"), values(high, "exits_cumulative"), rtol=1e-3, atol=1
    )

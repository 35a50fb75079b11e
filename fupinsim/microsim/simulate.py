"""Run the microsimulation: chunks of households × blocks of replications, on 1+ threads.

The population's tables and the compiled plan are built once per run
(:func:`.engine.prepare_population`, :func:`.engine.prepare_plan`); work is then cut into units
of (household chunk, replication block) that are row ranges of those tables (nothing is copied
or pickled), each simulated by the numba kernel on ``workers`` threads. Chunks are whole
blocks and replication blocks have a fixed size (:data:`REPLICATION_BLOCK`), so every partial
sum is the same however the work is cut or spread over threads, and the parts are added in a
fixed order: tables are identical with any chunk size and any number of workers. Memory beyond
the population's tables is bounded by the chunk size (sums per segment of one chunk).

:func:`worker_pool` and :func:`in_order` serve callers that spread whole simulations over
processes (the exit yields, national runs).
"""

from __future__ import annotations

import atexit
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from multiprocessing import get_context
from typing import Any, TypeVar

import numpy as np
import pandas as pd

from fupinsim.microsim.catalogue import Catalogue, load_catalogue
from fupinsim.microsim.engine import (
    STATS,
    ChunkResult,
    PlanArrays,
    Prepared,
    prepare_plan,
    prepare_population,
    run_prepared,
)
from fupinsim.microsim.plans import compile_plan, validate_plan
from fupinsim.microsim.population import Population, build_population, group_labels
from fupinsim.microsim.results import (
    SimulationResult,
    county_year_table,
    household_tables,
    immigrant_income_table,
    p_all_targets_met,
    plan_goals,
    target_probability_table,
    targeting_table,
    village_year_table,
    with_plan_goals,
)
from fupinsim.microsim.targets import exit_targets
from fupinsim.registry import Registry
from fupinsim.scenario import Scenario

__all__ = [
    "REPLICATION_BLOCK",
    "Progress",
    "exit_probabilities",
    "in_order",
    "simulate",
    "worker_pool",
]

#: Replications per work unit. Fixed (not tied to workers) so sums are added in one order.
REPLICATION_BLOCK = 50
#: Called with (units done, units total) as work completes.
Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class _Unit:
    start: int  # first household position
    stop: int
    replications: range


def _units(n: int, chunk: int, replications: int) -> list[_Unit]:
    units = []
    for start in range(0, n, chunk):
        for first in range(0, replications, REPLICATION_BLOCK):
            units.append(
                _Unit(
                    start,
                    min(start + chunk, n),
                    range(first, min(first + REPLICATION_BLOCK, replications)),
                )
            )
    return units


#: Default households per chunk: arrays of a chunk stay in the processor's cache.
DEFAULT_CHUNK = 65_536


def _chunk_size(scenario: Scenario, chunk_households: int | None, n: int) -> int:
    block = scenario.microsim.block_households
    size = chunk_households or min(max(n, 1), DEFAULT_CHUNK)
    return max(block, -(-size // block) * block)  # whole blocks


def simulate(
    registry: Registry | pd.DataFrame,
    plan: pd.DataFrame,
    scenario: Scenario,
    *,
    village_plan: pd.DataFrame | None = None,
    replications: int | None = None,
    workers: int = 1,
    chunk_households: int | None = None,
    catalogue: Catalogue | None = None,
    household_paths: bool = True,
    progress: Progress | None = None,
    poor_villages: pd.DataFrame | None = None,
) -> SimulationResult:
    """Project every household's income over the scenario's years under a plan.

    Parameters
    ----------
    registry:
        The registry (or just its households table) to simulate.
    plan:
        ``household_id, package_id, start_year`` (see :mod:`fupinsim.microsim.plans`).
    village_plan:
        ``village_id, package_id, start_year`` for village works (optional).
    replications:
        Monte Carlo replications (default ``scenario.microsim.replications``).
    workers:
        Threads of the kernel; results are identical for any number.
    chunk_households:
        Households per chunk (rounded up to whole blocks); results are identical for any size.
    household_paths:
        Also return per-household expected income paths and exit probabilities.
    progress:
        Optional callback ``(done, total)`` (the command line draws a tqdm bar with it).
    poor_villages:
        ``village_id, is_poor_village``: the poor villages whose exit is a plan goal, when
        ``registry`` is a households table (default: the registry's villages, else the
        villages with registered households).
    """
    started = time.perf_counter()
    households = registry.households if isinstance(registry, Registry) else registry
    villages = registry.villages if isinstance(registry, Registry) else None
    population = build_population(households, villages)
    n_reps = replications or scenario.microsim.replications
    catalogue = catalogue or load_catalogue(scenario)
    if len(plan):
        plan = validate_plan(plan, catalogue, scenario)
    chunk = _chunk_size(scenario, chunk_households, population.n)
    units = _units(population.n, chunk, n_reps)
    prepared, arrays = _prepare(population, plan, village_plan, catalogue, scenario)
    results = list(_execute(units, prepared, arrays, workers, progress, household_paths))
    poor = _poor_villages(population, villages if villages is not None else poor_villages)
    result = _assemble(
        units, results, population, households, scenario, n_reps, household_paths, poor
    )
    seconds = time.perf_counter() - started
    years = len(scenario.years)
    result.meta.update(
        {
            "replications": n_reps,
            "households": population.n,
            "years": years,
            "household_years": population.n * years * n_reps,
            "seconds": seconds,
            "workers": workers,
            "chunk_households": chunk,
            "dtype": "float32" if scenario.microsim.float32 else "float64",
        }
    )
    return result


def exit_probabilities(
    population: Population,
    plan: pd.DataFrame,
    scenario: Scenario,
    catalogue: Catalogue,
    *,
    replications: int,
    workers: int = 1,
) -> np.ndarray:
    """P(exited by the end of each year) per household, shape (years, households).

    The household part of :func:`simulate` on a population already built (the exit yields
    run one simulation per package and start year on the same households): same random
    streams and the same numbers as ``simulate(...).household``.
    """
    if len(plan):
        plan = validate_plan(plan, catalogue, scenario)
    chunk = _chunk_size(scenario, None, population.n)
    units = _units(population.n, chunk, replications)
    exited = np.zeros((len(scenario.years), population.n))
    prepared, arrays = _prepare(population, plan, None, catalogue, scenario)
    for unit, res in zip(
        units, _execute(units, prepared, arrays, workers, None, True, False), strict=True
    ):
        exited[:, unit.start : unit.stop] += res.household_exited
    return exited / replications


def _prepare(
    population: Population,
    plan: pd.DataFrame,
    village_plan: pd.DataFrame | None,
    catalogue: Catalogue,
    scenario: Scenario,
) -> tuple[Prepared, PlanArrays]:
    """The kernel's tables for a run: population and compiled plan, once."""
    compiled = compile_plan(population, plan, catalogue, scenario, village_plan, validate=False)
    dtype = np.float32 if scenario.microsim.float32 else np.float64
    return (
        prepare_population(population, scenario),
        prepare_plan(compiled, population, scenario, dtype),
    )


def _execute(
    units: list[_Unit],
    prepared: Prepared,
    arrays: PlanArrays,
    workers: int,
    progress: Progress | None,
    household_sums: bool = True,
    village_sums: bool = True,
) -> Iterator[ChunkResult]:
    """Each unit's sums, in order, on ``workers`` kernel threads."""
    total = len(units)
    for done, unit in enumerate(units, start=1):
        yield run_prepared(
            prepared,
            arrays,
            unit.replications,
            unit.start,
            unit.stop,
            village_sums=village_sums,
            household_sums=household_sums,
            threads=workers,
        )
        if progress:
            progress(done, total)


_POOLS: dict[int, ProcessPoolExecutor] = {}


def worker_pool(workers: int) -> ProcessPoolExecutor:
    """A process pool of ``workers`` spawned (not forked) processes, reused across runs.

    Spawning is safe with HiGHS and threads in the parent; reusing the pool saves the worker
    start-up (importing NumPy, pandas and fupinsim) on every simulation of a pipeline. Shut
    down when the interpreter exits.
    """
    pool = _POOLS.get(workers)
    if pool is None:
        pool = ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn"))
        _POOLS[workers] = pool
        atexit.register(pool.shutdown, wait=True, cancel_futures=True)
    return pool


def _assemble(
    units: list[_Unit],
    results: list[ChunkResult],
    population: Population,
    households: pd.DataFrame,
    scenario: Scenario,
    n_reps: int,
    household_paths: bool,
    poor_village: np.ndarray,
) -> SimulationResult:
    years = np.array(scenario.years)
    n_groups = len(group_labels())
    group_stats = np.zeros((n_reps, n_groups, years.size, len(STATS)))
    village_remaining = np.zeros((n_reps, years.size, population.village_ids.size))
    income_sum = np.zeros((years.size, population.n))
    exited_sum = np.zeros((years.size, population.n))
    # Units come chunk by chunk, replication blocks in order within a chunk.
    by_chunk: dict[int, list[tuple[_Unit, ChunkResult]]] = {}
    for unit, res in zip(units, results, strict=True):
        by_chunk.setdefault(unit.start, []).append((unit, res))
    segment_stats = []
    segment_group = []
    for start in sorted(by_chunk):
        parts = by_chunk[start]
        stats = np.concatenate([res.stats for _, res in parts], axis=0)
        segment_stats.append(stats)
        segment_group.append(parts[0][1].segment_group)
        for unit, res in parts:
            village_remaining[unit.replications.start : unit.replications.stop] += (
                res.village_remaining
            )
            if household_paths:
                income_sum[:, unit.start : unit.stop] += res.household_income
                exited_sum[:, unit.start : unit.stop] += res.household_exited
    all_stats = np.concatenate(segment_stats, axis=1)  # (R, segments, T, K), segments in order
    groups = np.concatenate(segment_group)
    # Segments of a group are contiguous (households are ordered by group): add them in order.
    starts = np.flatnonzero(np.r_[True, groups[1:] != groups[:-1]])
    sums = np.add.reduceat(all_stats, starts, axis=1)
    group_stats[:, groups[starts]] = sums

    targets = exit_targets(households, scenario.microsim.as_whole_allowance)
    # The plan's goals beyond exit counts (issue 10, item 6): in target_probability and P(all).
    goals = plan_goals(
        group_stats, village_remaining, population.village_population, poor_village, years
    )
    plan_years = set(range(scenario.funding.first_year, scenario.funding.last_year + 1))
    if household_paths:
        paths, exit_years = household_tables(population, income_sum, exited_sum, n_reps, years)
    else:
        paths = pd.DataFrame(columns=["household_id", "year", "income_pc_mean", "p_exited"])
        exit_years = pd.DataFrame(columns=["household_id", "expected_exit_year"])
    return SimulationResult(
        county_year=county_year_table(group_stats, years),
        target_probability=with_plan_goals(
            target_probability_table(group_stats, years, targets), goals
        ),
        immigrant_income=immigrant_income_table(group_stats, years),
        village_year=village_year_table(village_remaining, population, years),
        targeting=targeting_table(group_stats, years),
        household=paths,
        household_exit=exit_years,
        meta={
            "group_stats": group_stats,
            "p_all_targets_met": p_all_targets_met(group_stats, years, targets, plan_years, goals),
            # The plan's end goal alone (every group out by the last plan year, with the
            # immigrant income goal and every poor village's exit of that year).
            "p_final_targets_met": p_all_targets_met(
                group_stats, years, targets, {scenario.funding.last_year}, goals
            ),
        },
    )


def _poor_villages(population: Population, villages: pd.DataFrame | None) -> np.ndarray:
    """Which of the population's villages are poor villages (those with registered households
    when the villages table is not given)."""
    if villages is not None and "is_poor_village" in villages:
        flags = villages.set_index("village_id")["is_poor_village"].astype(bool)
        return flags.reindex(population.village_ids, fill_value=False).to_numpy(dtype=bool)
    has_registered = np.bincount(
        population.village[population.registered], minlength=population.village_ids.size
    )
    return has_registered > 0


T = TypeVar("T")


def in_order(
    pool: ProcessPoolExecutor,
    calls: Iterable[tuple[Callable[..., T], tuple[Any, ...]]],
    workers: int,
    progress: Progress | None = None,
    total: int | None = None,
) -> Iterator[T]:
    """Results of ``pool.submit(function, *args)`` for each call, in the order given.

    At most ``2 × workers`` calls are in flight, so memory stays bounded on large runs.
    """
    pending: list[Future[T]] = []
    done = 0
    for function, args in calls:
        pending.append(pool.submit(function, *args))
        if len(pending) >= 2 * workers:
            yield pending.pop(0).result()
            done += 1
            if progress and total:
                progress(done, total)
    for future in pending:
        yield future.result()
        done += 1
        if progress and total:
            progress(done, total)

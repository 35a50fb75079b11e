"""National-scale simulation: the registry is generated chunk by chunk inside the workers.

A national registry (29.48 million households) does not fit comfortably in memory as a table.
Here each work unit generates its own chunk of the registered-only registry
(:func:`fupinsim.registry.iter_registry_chunks` with ``chunks=``), builds the plan for it,
simulates it with the kernel on one thread (one worker process per core) and returns only sums
per segment. Household ids follow the simulation's canonical order (registry cells are in
county-id order), so positions, segments and draws (keyed by household id) are the same as in
an in-memory run of the same registry, and the tables do not depend on the number of workers or
the chunk size (whole registry blocks). Memory is bounded by the registry chunk: a worker holds
one chunk's table and arrays, the parent only sums per segment.

Per-household tables (income paths, expected exit years) are computed per chunk in the
worker and handed, chunk by chunk and in order, to a ``household_sink`` the caller gives (the
command line appends them to Parquet row groups, :mod:`fupinsim.io.streamed`): they are never
gathered. Per-village tables are not kept at this scale (registry chunks cut villages).

Work units can also go to a Dask cluster (``scheduler="local"`` for a new
``distributed.LocalCluster``, or a scheduler address): a unit is only (scenario, plan, chunk
number), the worker generates its own chunk and returns partial sums, so the tables are the
same as the process pool's.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from fupinsim.microsim.catalogue import load_catalogue
from fupinsim.microsim.cluster import dask_in_order
from fupinsim.microsim.engine import STATS, prepare_plan, prepare_population, run_prepared
from fupinsim.microsim.plans import compile_plan, reference_plan
from fupinsim.microsim.population import Population, build_population, group_labels
from fupinsim.microsim.results import (
    SimulationResult,
    county_year_table,
    immigrant_income_table,
    p_all_targets_met,
    target_probability_table,
    targeting_table,
)
from fupinsim.microsim.simulate import Progress, in_order, worker_pool
from fupinsim.microsim.targets import exit_targets_from_counts, target_group
from fupinsim.registry import iter_registry_chunks, n_registry_chunks
from fupinsim.scenario import Scenario

__all__ = ["HouseholdSink", "NationalPart", "PlanRule", "PlanSink", "simulate_national"]

_S = {name: i for i, name in enumerate(STATS)}

#: Called with (chunk number, household paths, expected exit years) for each chunk, in order.
HouseholdSink = Callable[[int, pd.DataFrame, pd.DataFrame], None]
#: Called with (chunk number, the chunk's household plan, its registry households) for each
#: chunk, in order.
PlanSink = Callable[[int, pd.DataFrame, pd.DataFrame], None]
#: A plan built per chunk in the worker: (the chunk's households, scenario) → plan table
#: (``household_id, package_id, start_year``, other columns kept). Must be picklable.
PlanRule = Callable[[pd.DataFrame, Scenario], pd.DataFrame]


@dataclass(frozen=True)
class NationalPart:
    """What one worker returns for one registry chunk: sums, never the registry itself."""

    stats: np.ndarray  # (R, segments, T, K) sums per segment
    segment_group: np.ndarray  # group of each segment
    counts: pd.DataFrame  # county_id, villages, n_registered
    paths: pd.DataFrame | None  # household_id, year, income_pc_mean, p_exited
    exit_years: pd.DataFrame | None  # household_id, expected_exit_year
    plans: pd.DataFrame | None = None  # the chunk's plan (a PlanRule's, with households_out)
    households: pd.DataFrame | None = None  # the chunk's registry rows (with plans)


def _national_unit(
    scenario: Scenario,
    plan_name: str | PlanRule,
    index: int,
    chunk_households: int,
    replications: int,
    households_out: bool = False,
) -> NationalPart:
    """Generate, plan and simulate one registry chunk; return segment sums and group counts
    (and, with ``households_out``, the chunk's household paths and expected exit years)."""
    registry = next(
        iter_registry_chunks(scenario, chunk_households, chunks=range(index, index + 1))
    )
    households = registry.households
    population = build_population(households, None)
    first = int(population.household_id[0]) - 1  # canonical position of the chunk's start
    catalogue = load_catalogue(scenario)
    plan = (
        reference_plan(plan_name, households, scenario)
        if isinstance(plan_name, str)
        else plan_name(households, scenario)
    )
    compiled = compile_plan(population, plan, catalogue, scenario)
    dtype = np.float32 if scenario.microsim.float32 else np.float64
    part = run_prepared(
        prepare_population(population, scenario),
        prepare_plan(compiled, population, scenario, dtype),
        range(replications),
        0,
        population.n,
        village_sums=False,
        household_sums=households_out,
        offset=first,
    )
    counts = (
        pd.DataFrame(
            {
                "county_id": households["county_id"].astype(str).to_numpy(),
                "villages": target_group(
                    households["county_id"].to_numpy(), households["is_immigrant"].to_numpy()
                ),
            }
        )
        .value_counts()
        .rename("n_registered")
        .reset_index()
    )
    paths = exit_years = None
    if households_out:
        years = np.array(scenario.years)
        paths, exit_years = _household_tables(
            population, part.household_income, part.household_exited, replications, years
        )
    ruled = households_out and not isinstance(plan_name, str)
    return NationalPart(
        part.stats,
        part.segment_group,
        counts,
        paths,
        exit_years,
        plan if ruled else None,
        households if ruled else None,
    )


def _household_tables(
    population: Population,
    income_sum: np.ndarray,
    exited_sum: np.ndarray,
    replications: int,
    years: np.ndarray,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """:func:`~fupinsim.microsim.results.household_tables` in small types, built directly.

    Paths: ``household_id`` (int64), ``year`` (int16), ``income_pc_mean`` and ``p_exited``
    (float32, yuan per person and probability): a third of the bytes, and no float64 table
    or per-element nullable series on the way (the same values, rounded to float32).
    """
    reg = population.registered
    everyone = bool(reg.all())
    ids = population.household_id if everyone else population.household_id[reg]
    income = income_sum if everyone else income_sum[:, reg]
    exited = exited_sum if everyone else exited_sum[:, reg]
    p_exit = (exited / replications).T  # (households, years)
    paths = pd.DataFrame(
        {
            "household_id": np.repeat(ids.astype(np.int64), years.size),
            "year": np.tile(years.astype(np.int16), ids.size),
            "income_pc_mean": (income.T / replications).astype(np.float32).ravel(),
            "p_exited": p_exit.astype(np.float32).ravel(),
        }
    )
    reached = p_exit >= 0.5
    ever = np.asarray(reached.any(axis=1), dtype=bool)
    first = np.where(ever, years[np.argmax(reached, axis=1)], 0).astype(np.int64)
    exit_year = pd.arrays.IntegerArray(first, ~ever)
    return paths, pd.DataFrame({"household_id": ids, "expected_exit_year": exit_year})


def simulate_national(
    scenario: Scenario,
    plan_name: str | PlanRule = "baseline",
    *,
    replications: int | None = None,
    workers: int = 1,
    chunk_households: int | None = None,
    progress: Progress | None = None,
    household_sink: HouseholdSink | None = None,
    scheduler: str | None = None,
    worker_memory: str = "3GiB",
    plan_sink: PlanSink | None = None,
) -> SimulationResult:
    """Simulate a registered-only (national) scenario under a reference plan, chunk by chunk.

    Parameters
    ----------
    scenario:
        A scenario with ``registry.include_nonregistered = false``.
    plan_name:
        ``baseline`` or ``uniform_1230``, or a :data:`PlanRule` (built per chunk, in the
        worker).
    replications, workers, chunk_households, progress:
        As :func:`fupinsim.microsim.simulate`; chunks are whole registry blocks.
    household_sink:
        Receives each chunk's household paths and expected exit years, in chunk order (the
        result's household tables are then left empty: they are the sink's).
    scheduler:
        None: ``workers`` processes of the local pool. ``"local"``: a new Dask
        ``LocalCluster`` of ``workers`` processes with ``worker_memory`` each; an address
        (``tcp://host:8786``): an existing Dask cluster. Same tables in every case.
    plan_sink:
        With a :data:`PlanRule` and a ``household_sink``: receives each chunk's plan and its
        registry households, in chunk order.
    """
    if scenario.registry.include_nonregistered:
        raise ValueError("simulate_national needs a registered-only scenario")
    started = time.perf_counter()
    reps = replications or scenario.microsim.replications
    size = chunk_households or scenario.registry.chunk_households
    n_chunks = n_registry_chunks(scenario, size)
    stream = _run_all(
        (scenario, plan_name, size, reps, household_sink is not None),
        n_chunks,
        workers,
        progress,
        scheduler,
        worker_memory,
    )
    parts = []
    for index, part in enumerate(stream):
        if household_sink is not None:
            assert part.paths is not None and part.exit_years is not None
            household_sink(index, part.paths, part.exit_years)
            if plan_sink is not None and part.plans is not None:
                assert part.households is not None
                plan_sink(index, part.plans, part.households)
        parts.append(NationalPart(part.stats, part.segment_group, part.counts, None, None))

    years = np.array(scenario.years)
    stats = np.concatenate([p.stats for p in parts], axis=1)  # (R, segments, T, K)
    groups = np.concatenate([p.segment_group for p in parts])
    starts = np.flatnonzero(np.r_[True, groups[1:] != groups[:-1]])
    group_stats = np.zeros((reps, len(group_labels()), years.size, len(STATS)))
    group_stats[:, groups[starts]] = np.add.reduceat(stats, starts, axis=1)
    counts = (
        pd.concat([p.counts for p in parts])
        .groupby(["county_id", "villages"], sort=False)["n_registered"]
        .sum()
        .reset_index()
    )
    targets = exit_targets_from_counts(counts, scenario.microsim.as_whole_allowance)
    plan_years = set(range(scenario.funding.first_year, scenario.funding.last_year + 1))
    empty = pd.DataFrame()
    households = int(group_stats[0, :, 0, _S["households"]].sum())
    seconds = time.perf_counter() - started
    return SimulationResult(
        county_year=county_year_table(group_stats, years),
        target_probability=target_probability_table(group_stats, years, targets),
        immigrant_income=immigrant_income_table(group_stats, years),
        village_year=empty,
        targeting=targeting_table(group_stats, years),
        household=empty,
        household_exit=empty,
        meta={
            "group_stats": group_stats,
            "p_all_targets_met": p_all_targets_met(group_stats, years, targets, plan_years),
            "replications": reps,
            "households": households,
            "years": int(years.size),
            "household_years": households * int(years.size) * reps,
            "seconds": seconds,
            "workers": workers,
            "chunk_households": size,
            "chunks": n_chunks,
            "scheduler": scheduler or ("process pool" if workers > 1 else "in process"),
        },
    )


def _run_all(
    args: tuple[Scenario, str | PlanRule, int, int, bool],
    n_chunks: int,
    workers: int,
    progress: Progress | None,
    scheduler: str | None,
    worker_memory: str,
) -> Iterator[NationalPart]:
    """Every chunk's part, in chunk order, in process, on the pool or on Dask."""
    scenario, plan_name, size, reps, households_out = args

    def unit_args(index: int) -> tuple[Any, ...]:
        return (scenario, plan_name, index, size, reps, households_out)

    if scheduler is not None:
        calls = ((_national_unit, unit_args(index)) for index in range(n_chunks))
        yield from dask_in_order(scheduler, calls, workers, worker_memory, progress, n_chunks)
        return
    if workers <= 1:
        for index in range(n_chunks):
            yield _national_unit(*unit_args(index))
            if progress:
                progress(index + 1, n_chunks)
        return
    calls = ((_national_unit, unit_args(index)) for index in range(n_chunks))
    yield from in_order(worker_pool(workers), calls, workers, progress, n_chunks)

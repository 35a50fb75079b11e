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

Per-household and per-village tables are not kept at this scale.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import numpy as np
import pandas as pd

from fupinsim.microsim.catalogue import load_catalogue
from fupinsim.microsim.engine import STATS, prepare_plan, prepare_population, run_prepared
from fupinsim.microsim.plans import compile_plan, reference_plan
from fupinsim.microsim.population import build_population, group_labels
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

__all__ = ["simulate_national"]

_S = {name: i for i, name in enumerate(STATS)}


def _national_unit(
    scenario: Scenario, plan_name: str, index: int, chunk_households: int, replications: int
) -> tuple[np.ndarray, np.ndarray, pd.DataFrame]:
    """Generate, plan and simulate one registry chunk; return segment sums and group counts."""
    registry = next(
        iter_registry_chunks(scenario, chunk_households, chunks=range(index, index + 1))
    )
    households = registry.households
    population = build_population(households, None)
    first = int(population.household_id[0]) - 1  # canonical position of the chunk's start
    catalogue = load_catalogue(scenario)
    plan = reference_plan(plan_name, households, scenario)
    compiled = compile_plan(population, plan, catalogue, scenario)
    dtype = np.float32 if scenario.microsim.float32 else np.float64
    part = run_prepared(
        prepare_population(population, scenario),
        prepare_plan(compiled, population, scenario, dtype),
        range(replications),
        0,
        population.n,
        village_sums=False,
        household_sums=False,
        offset=first,
    )
    stats, segment_group = part.stats, part.segment_group
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
    return stats, segment_group, counts


def simulate_national(
    scenario: Scenario,
    plan_name: str = "baseline",
    *,
    replications: int | None = None,
    workers: int = 1,
    chunk_households: int | None = None,
    progress: Progress | None = None,
) -> SimulationResult:
    """Simulate a registered-only (national) scenario under a reference plan, chunk by chunk.

    Parameters
    ----------
    scenario:
        A scenario with ``registry.include_nonregistered = false``.
    plan_name:
        ``baseline`` or ``uniform_1230`` (built per chunk).
    replications, workers, chunk_households, progress:
        As :func:`fupinsim.microsim.simulate`; chunks are whole registry blocks.
    """
    if scenario.registry.include_nonregistered:
        raise ValueError("simulate_national needs a registered-only scenario")
    started = time.perf_counter()
    reps = replications or scenario.microsim.replications
    size = chunk_households or scenario.registry.chunk_households
    n_chunks = n_registry_chunks(scenario, size)
    parts = list(_run_all(scenario, plan_name, n_chunks, size, reps, workers, progress))

    years = np.array(scenario.years)
    stats = np.concatenate([p[0] for p in parts], axis=1)  # (R, segments, T, K)
    groups = np.concatenate([p[1] for p in parts])
    starts = np.flatnonzero(np.r_[True, groups[1:] != groups[:-1]])
    group_stats = np.zeros((reps, len(group_labels()), years.size, len(STATS)))
    group_stats[:, groups[starts]] = np.add.reduceat(stats, starts, axis=1)
    counts = (
        pd.concat([p[2] for p in parts])
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
        },
    )


def _run_all(
    scenario: Scenario,
    plan_name: str,
    n_chunks: int,
    size: int,
    reps: int,
    workers: int,
    progress: Progress | None,
) -> Iterator[tuple[np.ndarray, np.ndarray, pd.DataFrame]]:
    if workers <= 1:
        for index in range(n_chunks):
            yield _national_unit(scenario, plan_name, index, size, reps)
            if progress:
                progress(index + 1, n_chunks)
        return
    calls = (
        (_national_unit, (scenario, plan_name, index, size, reps)) for index in range(n_chunks)
    )
    yield from in_order(worker_pool(workers), calls, workers, progress, n_chunks)

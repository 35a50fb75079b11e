"""The registry of households and villages: the plan's "files and cards" (§3-5).

* :func:`generate_registry` builds a seeded synthetic registry calibrated to the scenario
  (exactly the plan's registered households and people).
* :func:`iter_registry_chunks` yields it in chunks of whole blocks (national scale).
* :func:`check_registry` (in :mod:`.checks`) validates any registry table; files are read and
  written by :mod:`fupinsim.io.registry_files`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pandas as pd

from fupinsim import rng
from fupinsim.data import CAUSES, registry_calibration
from fupinsim.registry.identify import (
    adjust_people,
    assign_helpers,
    identification_rates,
    measure_incomes,
    record_main_cause,
    recorded_income_pc,
    register_by_quota,
    support_codes,
    truly_poor,
)
from fupinsim.registry.schema import INCOME_SOURCES, SUPPORT_CLASSES
from fupinsim.registry.synthetic import (
    RegistryPlan,
    finish_households,
    finish_villages,
    generate_households_blocks,
    generate_villages,
    largest_remainder,
    plan_registry,
)
from fupinsim.scenario import Scenario
from fupinsim.units import BASE_YEAR

__all__ = [
    "Registry",
    "generate_registry",
    "iter_registry_chunks",
    "n_registry_chunks",
    "registry_summary",
]

_PEOPLE_KEY = 5_000_000


@dataclass(frozen=True)
class Registry:
    """Households and villages (validated schema), plus identification error rates if known."""

    households: pd.DataFrame
    villages: pd.DataFrame
    identification: pd.DataFrame | None = None

    @property
    def registered(self) -> pd.DataFrame:
        """The registered poor households."""
        return self.households[self.households["is_registered"].to_numpy()]

    def __repr__(self) -> str:
        reg = self.registered
        return (
            f"Registry({len(self.households):,} households, {len(self.villages):,} villages; "
            f"{len(reg):,} registered poor households with {int(reg['n_members'].sum()):,} people)"
        )


def _dependants(frame: pd.DataFrame) -> np.ndarray:
    """Members who may be added or removed to hit the people totals: neither labour, students,
    elderly nor dropouts, and never the only adult (a household without labour or elderly keeps
    one such member as its head)."""
    students = sum(
        frame[c].to_numpy(dtype=np.int64)
        for c in (
            "n_students_primary",
            "n_students_junior",
            "n_students_senior",
            "n_students_vocational",
            "n_students_tertiary",
        )
    )
    labour = frame["n_labour"].to_numpy(dtype=np.int64)
    elderly = frame["n_elderly"].to_numpy(dtype=np.int64)
    head = (labour + elderly) == 0
    return np.asarray(
        frame["n_members"].to_numpy(dtype=np.int64)
        - labour
        - students
        - elderly
        - frame["n_dropouts"].to_numpy(dtype=np.int64)
        - head
    )


def _set_members(frame: pd.DataFrame, members: np.ndarray) -> None:
    """Change member counts keeping per-capita incomes (income components scale with members).

    The people adjustment only calibrates totals: it must not move a household across the
    poverty line or past its neighbours, or identification (which ranked households before the
    adjustment) and the truth would disagree for reasons that are not identification errors.
    Keeping household incomes instead made up to a fifth of a small county's registered
    households look wrongly registered.
    """
    old = frame["n_members"].to_numpy()
    if np.array_equal(old, members):
        return
    ratio = members / old
    for column in (*INCOME_SOURCES, "production_cost"):
        frame[column] = frame[column].to_numpy() * ratio
    frame["n_members"] = members
    frame["income_pc"] = recorded_income_pc(frame)


def _fill_registration(
    frame: pd.DataFrame,
    registered: np.ndarray,
    gen: np.random.Generator | None,
    county_ranks: np.ndarray | None = None,
) -> None:
    """Registration columns; with ``gen`` the recorded main cause is drawn from the latent one,
    without it ``cause`` already holds the recorded cause codes. ``county_ranks``: see
    :func:`~fupinsim.registry.identify.assign_helpers` (for chunks)."""
    codes = (
        record_main_cause(frame, frame["cause"].to_numpy(), registered, gen)
        if gen is not None
        else frame["cause"].to_numpy()
    )
    # Categoricals from codes and masked integer arrays: no per-row Python strings or objects
    # (this step dominated the national run when it built strings and called ``where``).
    missing = ~registered
    frame["main_cause"] = pd.Categorical.from_codes(
        np.where(registered, codes, -1), dtype=pd.CategoricalDtype(list(CAUSES))
    )
    frame["is_registered"] = registered
    frame["registered_year"] = pd.arrays.IntegerArray(
        np.full(len(frame), BASE_YEAR, dtype=np.int16), missing.copy()
    )
    frame["support_class"] = pd.Categorical.from_codes(
        np.where(registered, support_codes(frame), -1),
        dtype=pd.CategoricalDtype(list(SUPPORT_CLASSES)),
    )
    helper = assign_helpers(frame, registered, county_ranks)
    frame["helper_id"] = pd.arrays.IntegerArray(
        np.where(registered, helper, 0).astype(np.int64), missing.copy()
    )


def _finish_villages(villages: pd.DataFrame, households: pd.DataFrame) -> pd.DataFrame:
    threshold = registry_calibration()["villages"]["poor_village_min_incidence"]
    ids = households["village_id"].to_numpy()
    members = households["n_members"].to_numpy()
    reg = households["is_registered"].to_numpy()
    size = villages["village_id"].max() + 1
    population = np.bincount(ids, weights=members, minlength=size)[villages["village_id"]]
    poor_people = np.bincount(ids, weights=members * reg, minlength=size)[villages["village_id"]]
    out = villages.copy()
    out["population"] = population.astype(np.int64)
    incidence = np.divide(poor_people, population, out=np.zeros(len(out)), where=population > 0)
    out["is_poor_village"] = out["is_immigrant"].to_numpy() | (incidence >= threshold)
    return finish_villages(out)


def generate_registry(scenario: Scenario) -> Registry:
    """A synthetic registry for the scenario, in memory.

    With ``registry.include_nonregistered`` (default), the whole population of the villages
    concerned is generated and identification registers each cell's quota; the registered
    households and people equal the scenario's totals exactly. Without it, only registered
    households are generated (use :func:`iter_registry_chunks` at national scale).
    """
    plan = plan_registry(scenario)
    villages = generate_villages(plan)
    if plan.registered_only:
        chunks = list(_registered_only_chunks(plan, villages, scenario, plan.n_blocks))
        households = pd.concat([c.households for c in chunks], ignore_index=True)
        return Registry(households, chunks[0].villages if chunks else villages, None)

    tap = villages["has_tap_water"].to_numpy()
    frame = generate_households_blocks(plan, range(plan.n_blocks), tap)
    frame = measure_incomes(frame, plan, scenario.registry.identification.measurement_sigma)
    registered = register_by_quota(frame, plan, scenario.registry.identification)

    gen = rng.generator(plan.seed, "registry", _PEOPLE_KEY)
    members = frame["n_members"].to_numpy()
    dependants = _dependants(frame)
    cell = frame["cell"].to_numpy()
    wubao = frame["is_wubao"].to_numpy()
    for index, spec in enumerate(plan.cells):
        members = adjust_people(
            members,
            dependants,
            registered & (cell == index) & ~wubao,
            spec.n_registered_people - int(members[registered & (cell == index) & wubao].sum()),
            gen,
        )
    _set_members(frame, members)
    poor = truly_poor(frame, plan)
    _fill_registration(frame, registered, gen)
    households = finish_households(frame)
    rates = identification_rates(households, registered, poor)
    return Registry(households, _finish_villages(villages, households), rates)


def _county_ranks(plan: RegistryPlan, positions: np.ndarray) -> np.ndarray:
    """Rank of each household among its county's households in the whole (registered-only)
    registry, from the plan alone, so helper ids do not depend on the chunk size."""
    sizes = np.bincount(
        plan.village_cell, weights=plan.village_households, minlength=len(plan.cells)
    ).astype(np.int64)
    cell_start = np.cumsum(sizes) - sizes  # villages, hence households, are ordered by cell
    counties = [c.county_id for c in plan.cells]
    before = np.array(
        [
            sum(int(sizes[j]) for j in range(i) if counties[j] == counties[i])
            for i in range(sizes.size)
        ],
        dtype=np.int64,
    )
    cell = plan.village_cell[np.searchsorted(plan.village_end, positions, side="right")]
    return before[cell] + positions - cell_start[cell]


def _block_people_targets(plan: RegistryPlan) -> np.ndarray:
    """Registered people per (cell, block), adding up exactly to each cell's total."""
    cell_sizes = np.bincount(plan.village_cell, weights=plan.village_households).astype(np.int64)
    cell_end = np.cumsum(cell_sizes)
    cell_start = cell_end - cell_sizes
    block_start = np.arange(plan.n_blocks) * plan.block_households
    block_end = np.minimum(block_start + plan.block_households, plan.n_households)
    overlap = np.clip(
        np.minimum(cell_end[:, None], block_end[None, :])
        - np.maximum(cell_start[:, None], block_start[None, :]),
        0,
        None,
    )
    targets = np.zeros_like(overlap)
    for index, spec in enumerate(plan.cells):
        targets[index] = largest_remainder(spec.n_registered_people, overlap[index])
    return targets


def _registered_only_chunks(
    plan: RegistryPlan,
    villages: pd.DataFrame,
    scenario: Scenario,
    blocks_per_chunk: int,
    chunks: range | None = None,
) -> Iterator[Registry]:
    tap = villages["has_tap_water"].to_numpy()
    targets = _block_people_targets(plan)
    sigma = scenario.registry.identification.measurement_sigma
    firsts = range(0, plan.n_blocks, blocks_per_chunk)
    for first in firsts if chunks is None else [firsts[i] for i in chunks if i < len(firsts)]:
        blocks = range(first, min(first + blocks_per_chunk, plan.n_blocks))
        # One table per chunk, then per-block steps on array slices: results are identical to
        # block-by-block frames (each block keeps its own random streams) without a pandas
        # concat and copy per block.
        frame = generate_households_blocks(plan, blocks, tap)
        frame = measure_incomes(frame, plan, sigma)
        members = frame["n_members"].to_numpy().copy()
        dependants = _dependants(frame)
        cell = frame["cell"].to_numpy()
        wubao = frame["is_wubao"].to_numpy()
        latent = frame["cause"].to_numpy()
        causes = np.empty(len(frame), dtype=np.int64)
        start = 0
        for block in blocks:
            rows = slice(start, start + plan.positions(block).size)
            start = rows.stop
            gen = rng.generator(plan.seed, "registry", _PEOPLE_KEY, block)
            block_members = members[rows]
            block_cell = cell[rows]
            block_wubao = wubao[rows]
            for index in np.unique(block_cell):
                in_cell = block_cell == index
                block_members = adjust_people(
                    block_members,
                    dependants[rows],
                    in_cell & ~block_wubao,
                    int(targets[index, block]) - int(block_members[in_cell & block_wubao].sum()),
                    gen,
                )
            members[rows] = block_members
            causes[rows] = record_main_cause(
                frame.iloc[rows], latent[rows], np.ones(rows.stop - rows.start, dtype=bool), gen
            )
        _set_members(frame, members)
        frame["cause"] = causes
        positions = frame["household_id"].to_numpy() - 1
        _fill_registration(
            frame, np.ones(len(frame), dtype=bool), None, _county_ranks(plan, positions)
        )
        yield Registry(finish_households(frame), villages, None)


_PLANS: dict[str, tuple[RegistryPlan, pd.DataFrame]] = {}


def _plan_and_villages(scenario: Scenario) -> tuple[RegistryPlan, pd.DataFrame]:
    """Registry plan and village table of a registered-only scenario, once per process."""
    key = scenario.hash
    if key not in _PLANS:
        _PLANS.clear()
        plan = plan_registry(scenario)
        villages = generate_villages(plan)
        villages["population"] = 1
        _PLANS[key] = (plan, villages)
    return _PLANS[key]


def n_registry_chunks(scenario: Scenario, chunk_households: int | None = None) -> int:
    """How many chunks :func:`iter_registry_chunks` yields for this chunk size."""
    plan = (
        plan_registry(scenario)
        if scenario.registry.include_nonregistered
        else (_plan_and_villages(scenario)[0])
    )
    size = chunk_households or scenario.registry.chunk_households
    rows = max(1, size // plan.block_households) * plan.block_households
    return -(-plan.n_households // rows)


def iter_registry_chunks(
    scenario: Scenario, chunk_households: int | None = None, *, chunks: range | None = None
) -> Iterator[Registry]:
    """The registry in chunks of whole blocks (bounded memory; same rows as in one piece).

    Every chunk carries the full village table; its ``population`` column is complete only
    for the in-memory (population) mode. ``chunks`` selects chunk numbers (e.g. ``range(3,
    4)`` for the fourth only): a worker can generate its own part of a national registry.
    """
    size = chunk_households or scenario.registry.chunk_households
    if not scenario.registry.include_nonregistered:
        plan, villages = _plan_and_villages(scenario)
        blocks_per_chunk = max(1, size // plan.block_households)
        yield from _registered_only_chunks(plan, villages, scenario, blocks_per_chunk, chunks)
        return
    plan = plan_registry(scenario)
    blocks_per_chunk = max(1, size // plan.block_households)
    registry = generate_registry(scenario)
    rows = blocks_per_chunk * plan.block_households
    starts = range(0, len(registry.households), rows)
    for start in starts if chunks is None else [starts[i] for i in chunks if i < len(starts)]:
        yield Registry(
            registry.households.iloc[start : start + rows].reset_index(drop=True),
            registry.villages,
            registry.identification,
        )


def registry_summary(registry: Registry) -> pd.DataFrame:
    """Registered households and people by county and village type (immigrant/old)."""
    reg = registry.registered
    frame = pd.DataFrame(
        {
            "county_id": reg["county_id"].astype(str),
            "villages": np.where(reg["is_immigrant"], "immigrant", "old"),
            "households": 1,
            "people": reg["n_members"].astype(int),
        }
    )
    return frame.groupby(["county_id", "villages"], sort=False).sum().reset_index()

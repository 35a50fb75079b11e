"""``fupinsim run`` at national size: yields from a sample, the LP on national counts, plans and
the projection chunk by chunk.

A registered-only (national) scenario is too large for the in-memory pipeline (29.48 million
households; the yields step alone would hold ~17 GB). Its run is therefore:

1. **Yields from a stratified sample.** The scenario cut to ``sample_households`` registered
   households (:func:`sample_scenario`: the same generator, cells and seed, every county
   stratum scaled in proportion) goes through the registry, funding and yields stages. Exit
   yields are per household *type* (county × village type × labour class × income band), so
   a sample drawn from the same generator has the same yields law as the full registry; only
   the type counts are scaled up.
2. **The LP on national counts** (:func:`national_allocation`): yields with the type counts
   scaled to each county stratum's registered households (the scenario's registry plan,
   exact), the exit targets of those counts, and the scenario's money. The LP is as small as
   Jiuquan's (county × type × package × year).
3. **Household plans in the workers** (:class:`QuotaShares`): each type's quotas become shares
   of its households; a household of type *t* gets option *o* when a uniform number keyed by
   (seed, household id) falls in *o*'s slice of *t*'s cumulative shares (vectorised, the same
   whatever the chunk or the worker). Quotas are met in expectation (the manifest gives the
   households assigned against the quotas).
4. **The projection chunk by chunk** (:func:`fupinsim.microsim.national.simulate_national`):
   every chunk generated, planned and simulated in a worker; household tables streamed,
   aggregates merged exactly from per-chunk sums.

No closed loop at this size (one LP round); the comparison plans are not simulated.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from fupinsim.allocate.burden import base_package
from fupinsim.allocate.yields import ExitYields, household_types
from fupinsim.funding import FundingTables
from fupinsim.microsim.national import HouseholdSink, PlanSink, simulate_national
from fupinsim.microsim.results import SimulationResult
from fupinsim.microsim.simulate import Progress
from fupinsim.microsim.targets import exit_targets_from_counts, target_group
from fupinsim.pipeline.stages import (
    AllocationStage,
    RegistryStage,
    allocate_stage,
    funding_stage,
    registry_stage,
    yields_stage,
)
from fupinsim.registry import plan_registry
from fupinsim.scenario import Scenario

__all__ = [
    "SAMPLE_HOUSEHOLDS",
    "NationalRun",
    "QuotaShares",
    "national_allocation",
    "national_counts",
    "quota_shares",
    "run_national",
    "sample_scenario",
    "scaled_yields",
]

logger = logging.getLogger(__name__)

#: Registered households of the yields sample. ESTIMATE: Jiuquan's registry is 12,600
#: households and its yields are stable at that size; 20,000 keeps every county stratum above
#: 400 households (the smallest, Aksai, is 0.73 % of the registry) and the sample's stages
#: under a minute on the project's machine.
SAMPLE_HOUSEHOLDS = 20_000


def sample_scenario(scenario: Scenario, households: int = SAMPLE_HOUSEHOLDS) -> Scenario:
    """The scenario cut to ``households`` registered households (people in proportion).

    Same generator, cells and seed: every county stratum keeps its share (largest
    remainders), so the sample's households follow the full registry's law per type.
    """
    registry = scenario.registry
    n = min(int(households), registry.n_registered_households)
    people = round(registry.n_registered_people * n / registry.n_registered_households)
    cut = registry.model_copy(update={"n_registered_households": n, "n_registered_people": people})
    return scenario.model_copy(update={"registry": cut})


def national_counts(scenario: Scenario) -> pd.DataFrame:
    """Registered households per target group (``county_id, villages, n_registered``), exact,
    from the registry plan (no household is generated)."""
    cells = plan_registry(scenario).cells
    frame = pd.DataFrame(
        {
            "county_id": [c.county_id for c in cells],
            "villages": target_group(
                np.array([c.county_id for c in cells]), np.array([c.is_immigrant for c in cells])
            ),
            "n_registered": [c.n_registered for c in cells],
        }
    )
    return frame.groupby(["county_id", "villages"], sort=False, as_index=False).agg(
        n_registered=("n_registered", "sum")
    )


def scaled_yields(yields: ExitYields, sample: pd.DataFrame, national: pd.DataFrame) -> ExitYields:
    """The sample's yields with type counts (``n_households``, ``n_eligible``) scaled by
    national / sample registered households of the type's target group."""
    keys = ["county_id", "villages"]
    factor = sample.merge(national, on=keys, suffixes=("_sample", ""))
    factor["factor"] = factor["n_registered"] / factor["n_registered_sample"]
    table = yields.yields.merge(factor[[*keys, "factor"]], on=keys, how="left")
    for column in ("n_households", "n_eligible"):
        table[column] = table[column] * table["factor"].fillna(1.0)
    return dataclasses.replace(yields, yields=table.drop(columns="factor"))


def national_allocation(
    setup: RegistryStage,
    funding: FundingTables,
    yields: ExitYields,
    targets: pd.DataFrame,
    objective: str | None = None,
) -> AllocationStage:
    """The allocation LP on national counts: ``yields`` (scaled) and ``targets`` (national)."""
    return allocate_stage(
        dataclasses.replace(setup, targets=targets), funding, yields, objective=objective
    )


@dataclass(frozen=True)
class QuotaShares:
    """Per household type, the share of its households given each option (picklable).

    ``cumulative[t, o]`` is the share of type ``type_ids[t]`` given options ``0 … o``
    (``options[o]`` is (LP option id, start year)); a household whose uniform number is past
    the last share gets no package. :meth:`__call__` is the plan of a registry chunk.
    """

    type_ids: tuple[str, ...]
    options: tuple[tuple[str, int], ...]
    cumulative: np.ndarray  # (types, options)
    income_bands: tuple[float, ...]
    seed: int

    def __call__(self, households: pd.DataFrame, scenario: Scenario) -> pd.DataFrame:
        """The plan of these households: ``household_id, type_id, option_id, package_id,
        start_year`` (only households given a package)."""
        types = household_types(households, list(self.income_bands))
        ids = types["household_id"].to_numpy(dtype=np.int64)
        index = pd.Index(self.type_ids).get_indexer(pd.Index(types["type_id"]))
        n_types, n_options = self.cumulative.shape
        flat = (np.arange(n_types)[:, None] + self.cumulative).ravel()
        row = np.where(index >= 0, index, 0)
        position = np.searchsorted(flat, row + household_uniform(self.seed, ids), side="right")
        option = position - row * n_options
        given = (index >= 0) & (option < n_options)
        chosen = option[given]
        option_ids = np.array([o for o, _ in self.options], dtype=object)
        return pd.DataFrame(
            {
                "household_id": ids[given],
                "type_id": types["type_id"].to_numpy()[given],
                "option_id": option_ids[chosen],
                "package_id": _base_packages(option_ids)[chosen],
                "start_year": np.array([y for _, y in self.options], dtype=np.int64)[chosen],
            }
        )


def _base_packages(option_ids: np.ndarray) -> np.ndarray:
    """The catalogue package of every LP option (loops over options, not households)."""
    return np.array([base_package(str(o)) for o in option_ids], dtype=object)


def household_uniform(seed: int, household_id: np.ndarray) -> np.ndarray:
    """A uniform number in [0, 1) per household, keyed by (seed, household id) only
    (SplitMix64 finaliser), so it does not depend on chunks or workers."""
    with np.errstate(over="ignore"):
        x = household_id.astype(np.uint64) + np.uint64(seed % 2**63) * np.uint64(0x9E3779B97F4A7C15)
        x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        x = x ^ (x >> np.uint64(31))
    return (x >> np.uint64(11)).astype(np.float64) * 2.0**-53


def quota_shares(
    quotas: pd.DataFrame, yields: ExitYields, scenario: Scenario
) -> tuple[QuotaShares, pd.DataFrame]:
    """The LP's quotas (``type_id, package_id, start_year, households``) as shares of each
    type's (national) households; also the quotas per type (households) for the manifest."""
    sizes = yields.yields.groupby("type_id")["n_households"].first()
    quotas = quotas[quotas["households"] > 0]
    pairs = quotas[["package_id", "start_year"]].drop_duplicates().itertuples(index=False)
    options = sorted((str(p), int(y)) for p, y in pairs)
    type_ids = tuple(sorted(sizes.index.astype(str)))
    shares = np.zeros((len(type_ids), len(options)))
    t_pos = {t: i for i, t in enumerate(type_ids)}
    o_pos = {o: i for i, o in enumerate(options)}
    for t, p, y, h in quotas[["type_id", "package_id", "start_year", "households"]].itertuples(
        index=False
    ):  # loops over LP quotas (types × options), not households
        shares[t_pos[str(t)], o_pos[(str(p), int(y))]] += h / float(sizes[t])
    cumulative = np.minimum(np.cumsum(shares, axis=1), 1.0)
    rule = QuotaShares(
        type_ids,
        tuple(options),
        cumulative,
        tuple(scenario.allocation.income_bands),
        int(scenario.seed),
    )
    per_type = quotas.groupby("type_id", as_index=False).agg(households=("households", "sum"))
    return rule, per_type


@dataclass(frozen=True)
class NationalRun:
    """What :func:`run_national` computed.

    Attributes
    ----------
    sample:
        The sample scenario's registry stage (yields law, village works, cadres).
    funding:
        The scenario's money.
    yields:
        The sample's yields with national type counts.
    targets:
        National exit targets.
    allocation:
        The LP on national counts.
    shares:
        The household plan rule.
    projection:
        The national projection of the plan (aggregates; household tables went to the sinks).
    quotas_per_type:
        Quota households per type (to compare with the plans assigned).
    """

    sample: RegistryStage
    funding: FundingTables
    yields: ExitYields
    targets: pd.DataFrame
    allocation: AllocationStage
    shares: QuotaShares
    projection: SimulationResult
    quotas_per_type: pd.DataFrame


def run_national(
    scenario: Scenario,
    *,
    replications: int | None = None,
    workers: int = 1,
    objective: str | None = None,
    sample_households: int = SAMPLE_HOUSEHOLDS,
    chunk_households: int | None = None,
    household_sink: HouseholdSink | None = None,
    plan_sink: PlanSink | None = None,
    scheduler: str | None = None,
    worker_memory: str = "3GiB",
    step: Callable[[str], None] | None = None,
    progress: Progress | None = None,
) -> NationalRun:
    """Run a registered-only scenario: sample yields, national LP, chunked plans and projection.

    ``step`` is called with each stage's name as it starts; ``progress`` with (chunks done,
    chunks) during the projection. Tables do not depend on ``workers``, ``chunk_households``
    or ``scheduler`` (see :func:`~fupinsim.microsim.national.simulate_national`).
    """
    say = step or (lambda _name: None)
    say("registry")
    sample = sample_scenario(scenario, sample_households)
    setup = registry_stage(sample)
    say("funding")
    funding = funding_stage(scenario)
    say("yields")
    yields_sample = yields_stage(setup, workers=workers)
    sample_counts = setup.targets.groupby(["county_id", "villages"], as_index=False).agg(
        n_registered=("n_registered", "first")
    )
    counts = national_counts(scenario)
    yields = scaled_yields(yields_sample, sample_counts, counts)
    targets = exit_targets_from_counts(counts, scenario.microsim.as_whole_allowance)
    say("allocate")
    allocation = national_allocation(setup, funding, yields, targets, objective)
    shares, per_type = quota_shares(allocation.result.quotas, yields, scenario)
    say("household plans and projection")
    projection = simulate_national(
        scenario,
        shares,
        replications=replications,
        workers=workers,
        chunk_households=chunk_households,
        progress=progress,
        household_sink=household_sink,
        plan_sink=plan_sink,
        scheduler=scheduler,
        worker_memory=worker_memory,
    )
    logger.info(
        "%s: national LP %s, %s quota households; projection %.1f s",
        scenario.id,
        allocation.result.solve.status.value,
        f"{float(per_type['households'].sum()):,.0f}",
        projection.meta["seconds"],
    )
    return NationalRun(setup, funding, yields, targets, allocation, shares, projection, per_type)

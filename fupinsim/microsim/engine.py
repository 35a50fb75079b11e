"""The yearly household income engine: tables for the fused kernel, and chunked runs.

One call of :func:`run_chunk` simulates households at positions ``[start, stop)`` over a range of
replications with the numba kernel (:mod:`.kernel`). Each year, for every household:

1. **Market income** by source: base-year (true) income × trend growth, plus the income effects
   of the household's interventions (ramp-up, household-specific dispersion, failure), times
   an idiosyncratic shock; crops are hit by county drought years, livestock by county price
   shocks; village market works lift farm income (unless they fail in the village); illness
   costs a share of the wages.
2. **Production cost** grows with the farm trend (shocks hit gross income, not costs).
3. **Transfers**: pension, farm subsidy, wubao, and the dibao top-up for enrolled households
   whose per-capita income is below the year's standard; recorded base-year transfers that
   these rules do not explain are kept in yuan.
4. **Per-capita net income**, and income *after rigid expenditure*: minus out-of-pocket medical
   costs (after NCMS and serious-illness insurance) and schooling costs.
5. **Exit and return** of registered households on the income officials measure, with the
   guarantees (see :mod:`.exits`).

Randomness: every draw comes from the counter-based generator of :mod:`fupinsim.rng`, keyed by
(seed, stream, replication, household id, year and draw): streams ``income``, ``illness``,
``verification`` and ``intervention`` per household (village-level intervention draws per
village id), ``systemic`` per (replication, county). Every household gets its draws whatever
its plan, so two plans share them (common random numbers), and any household's draws can be
recomputed alone. The base year (the registry's year) is observed: no draws, no exits, dibao
as recorded and no scenario wage factor, so its incomes are the registry's (true) incomes.

No seam at the base year (:func:`_base_year_factors`): an observed year's market income already
contains that year's shocks, so the engine's own (shock-free) wages and crop income are the
observed ones divided by the *expected* illness wage loss (per household, from its illness
probability) and drought loss; the kernel multiplies the base year back by those expectations
(exactly observed), and later years draw their shocks around the trend, so under no new support
mean income grows at the trend. The lognormal noise and the livestock price shock have mean 1.
The scenario's risks are read as the base year's too: a scenario with more illness has more
spread and medical cost around the same trend, not a lower mean wage path.

Set-up is done once per run: :func:`prepare_population` (household tables) and
:func:`prepare_plan` (a compiled plan as flat arrays); chunks are row ranges of them (views,
nothing copied). Sums are taken per segment (a run of at most ``TILE`` households of one block
and group); callers add segments in position order, so totals do not depend on chunking,
threads or workers.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numba
import numpy as np

from fupinsim import data, rng
from fupinsim.microsim.health import (
    illness_probability,
)
from fupinsim.microsim.kernel import (
    TILE,
    Field,
    Flag,
    Kind,
    Param,
    PlanFrom,
    Source,
    Stat,
    Stream,
    YearRow,
    run_segments,
    stable_scatter,
)
from fupinsim.microsim.plans import NEVER, CompiledPlan
from fupinsim.microsim.population import Population
from fupinsim.microsim.transfers import farm_subsidy, wubao_payment
from fupinsim.scenario import PolicyTable, Scenario

__all__ = [
    "STATS",
    "ChunkResult",
    "PlanArrays",
    "Prepared",
    "prepare_plan",
    "prepare_population",
    "run_chunk",
    "run_prepared",
    "segments",
    "take_rows",
]

#: What is summed per segment and year (:class:`.kernel.Stat` order). Unit in brackets:
#: registered_remaining, exits, exited, returns, truly_poor, missed_poor, wrong_exits,
#: at_risk (non-remaining households below the monitoring band after rigid costs) and
#: households [households]; poor_people, poor_people_registered, people_registered,
#: people_all, remaining_people [people]; poverty_gap_yuan (Σ people × (line − income)),
#: income_registered_yuan, income_all_yuan [yuan].
STATS: tuple[str, ...] = tuple(s.name.lower() for s in Stat)
#: Segments a kernel thread takes at a time (dynamic scheduling of the parallel loop).
PARALLEL_CHUNK = 4


@dataclass(frozen=True)
class Prepared:
    """Household tables of a population for the kernel, built once per run.

    ``numbers[i, Field]`` (float32 or float64), ``flags[i, Flag]`` (int64), ``years[YearRow,
    t]``, ``params[Param]``; ``group`` (county × village type) per household; ``n_villages``
    for village sums; ``block`` households per block.
    """

    numbers: np.ndarray
    flags: np.ndarray
    group: np.ndarray
    years: np.ndarray
    params: np.ndarray
    n_villages: int
    block: int
    seed: int
    drought_probability: float
    drought_crop_loss: float
    price_sigma: float
    base_crop_factor: float = 1.0  # the base year's expected drought factor on crops

    @property
    def n(self) -> int:
        """Households."""
        return int(self.flags.shape[0])


@dataclass(frozen=True)
class PlanArrays:
    """A compiled plan as flat arrays (applications by household, CSR), built once per run."""

    arrays: tuple[np.ndarray, ...]  # the kernel's plan tuple, rows for every household
    max_apps: int

    def rows(self, start: int, stop: int) -> tuple[np.ndarray, ...]:
        """The plan tuple for households ``[start, stop)`` (views)."""
        a = self.arrays
        return (
            a[0][start : stop + 1],
            *a[1:7],
            a[7][start : stop + 1],
            *a[8:13],
            a[13][start:stop],
        )


@dataclass(frozen=True)
class ChunkResult:
    """Sums for a chunk of households over a range of replications.

    ``stats[r, s, t, k]``: replication ``r`` (within the range), segment ``s``, year ``t``,
    statistic ``STATS[k]``. ``village_remaining[r, t, v]``: people in registered, not exited
    households per village. ``household_income`` / ``household_exited``: sums over the
    replications of per-capita income and of the exited flag, per year and household.
    """

    segment_tile: np.ndarray
    segment_group: np.ndarray
    stats: np.ndarray
    village_remaining: np.ndarray
    household_income: np.ndarray
    household_exited: np.ndarray


def segments(tile: np.ndarray, group: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Start positions, tile and group of each run of equal (tile, group)."""
    change = np.r_[True, (tile[1:] != tile[:-1]) | (group[1:] != group[:-1])]
    starts = np.flatnonzero(change)
    return starts, tile[starts], group[starts]


def _year_table(scenario: Scenario) -> np.ndarray:
    years = np.array(scenario.years)
    m = scenario.microsim
    t = years - years[0]
    table = np.zeros((len(YearRow) + len(Source) - 2, years.size))
    table[YearRow.CALENDAR_YEAR] = years
    table[YearRow.MEDICAL_MEDIAN] = (
        m.health.gross_cost_median_yuan * (1 + m.health.cost_growth) ** t
    )
    one = np.ones(1)
    for k, y in enumerate(int(y) for y in years):
        table[YearRow.WUBAO, k] = wubao_payment(one, np.array([True]), y)[0]
    _policy_rows(table, scenario.policy_table())
    rates = [
        m.growth_wages,
        m.growth_crops,
        m.growth_livestock,
        m.growth_greenhouse,
        m.growth_business,
        m.growth_property,
    ]
    for source, growth in zip(Source, rates, strict=False):
        table[YearRow.GROWTH_WAGES + source] = (1.0 + growth) ** t
    return table


def _policy_rows(table: np.ndarray, policy: PolicyTable) -> None:
    """The year rows the scenario's dated policy parameters set (``scenario.policy``).

    Poverty line, dibao standard, NCMS rates (registered poor: + the bonus, at most 1),
    serious-illness deductibles, and the pension per registry member aged 65+: 12 months ×
    the monthly pension × pensioners per member aged 65+ at the year's pension age (the
    registry counts 65+; :meth:`~fupinsim.scenario.PolicyTable.pensioners_per_elderly`).
    """
    v = policy.values
    table[YearRow.LINE] = v["poverty_line"]
    table[YearRow.DIBAO_STANDARD] = v["dibao_standard"]
    table[YearRow.RATE_OTHER] = v["ncms_inpatient_rate"]
    table[YearRow.RATE_REGISTERED] = np.minimum(v["ncms_inpatient_rate"] + v["ncms_poor_bonus"], 1)
    table[YearRow.THRESHOLD_OTHER] = v["serious_illness_threshold"]
    table[YearRow.THRESHOLD_REGISTERED] = v["serious_illness_threshold_poor"]
    table[YearRow.PENSION] = 12 * v["pension_monthly"] * policy.pensioners_per_elderly()


def _params(scenario: Scenario) -> np.ndarray:
    m = scenario.microsim
    dibao = data.social_protection()["dibao_rules"]
    p = np.zeros(len(Param))
    p[Param.INCOME_SIGMA] = m.shocks.income_sigma
    p[Param.LOST_WAGE_SHARE] = m.health.lost_wage_share
    p[Param.WAGE_FACTOR] = m.wage_factor
    p[Param.COST_SIGMA] = m.health.gross_cost_sigma
    p[Param.SERIOUS_RATE] = m.health.serious_illness_rate
    p[Param.TAKE_UP] = scenario.policy_table().values["dibao_take_up"][-1]  # one value (policy)
    p[Param.MIN_PAYMENT_SHARE] = dibao["min_payment_share"]
    p[Param.VERIFICATION_SIGMA] = m.verification_sigma
    p[Param.EXIT_MARGIN] = m.exit_income_margin
    p[Param.BAND] = m.monitoring_band
    p[Param.FARM_SUBSIDY] = farm_subsidy(np.ones(1))[0]
    p[Param.STABLE_YEARS] = m.exit_stable_years
    p[Param.RETURN_YEARS] = m.return_years_below
    p[Param.FIRST_EXIT] = scenario.funding.first_year - scenario.years[0]
    return p


def prepare_population(population: Population, scenario: Scenario) -> Prepared:
    """The kernel's household tables for a population (once per run)."""
    m = scenario.microsim
    pop = population
    dtype = np.float32 if m.float32 else np.float64
    numbers = np.empty((pop.n, len(Field)), dtype=dtype)
    numbers[:, Field.MEMBERS] = pop.members
    numbers[:, Field.ELDERLY] = pop.elderly
    numbers[:, Field.LAND_MU] = pop.land_mu
    numbers[:, Field.TRANSFERS] = pop.transfers
    adults = np.maximum(pop.members - pop.elderly - pop.students.sum(axis=0) - pop.dropouts, 0)
    numbers[:, Field.P_ILL] = illness_probability(adults, pop.elderly, pop.chronic_ill, m.health)
    costs = data.plain(data.load_raw("household_costs"))["schooling"]
    stages = ("primary", "junior", "senior", "vocational", "tertiary")
    numbers[:, Field.SCHOOL] = np.array([costs[k] for k in stages]) @ pop.students
    numbers[:, Field.WAGES : Field.PROPERTY + 1] = pop.market.T
    numbers[:, Field.COST_CROPS : Field.COST_GREENHOUSE + 1] = (pop.cost_ratio * pop.market[1:4]).T
    base_wages, base_crops = _base_year_factors(numbers[:, Field.P_ILL], scenario)
    numbers[:, Field.WAGES] = pop.market[0] / base_wages
    numbers[:, Field.CROPS] = pop.market[1] / base_crops
    flags = np.empty((pop.n, len(Flag)), dtype=np.int64)
    flags[:, Flag.HOUSEHOLD_ID] = pop.household_id
    flags[:, Flag.COUNTY] = pop.county
    flags[:, Flag.VILLAGE] = pop.village
    flags[:, Flag.VILLAGE_ID] = pop.village_ids[pop.village] if pop.n else 0
    flags[:, Flag.REGISTERED] = pop.registered
    flags[:, Flag.IS_DIBAO] = pop.is_dibao
    flags[:, Flag.IS_WUBAO] = pop.is_wubao
    flags[:, Flag.WEAK] = pop.weak
    shocks = m.shocks
    return Prepared(
        numbers=numbers,
        flags=flags,
        group=pop.group,
        years=_year_table(scenario),
        params=_params(scenario),
        n_villages=int(pop.village_ids.size),
        block=m.block_households,
        seed=scenario.seed,
        drought_probability=shocks.drought_probability,
        drought_crop_loss=shocks.drought_crop_loss,
        price_sigma=shocks.livestock_price_sigma,
        base_crop_factor=base_crops,
    )


def _base_year_factors(p_ill: np.ndarray, scenario: Scenario) -> tuple[np.ndarray, float]:
    """Expected shock factors of the observed base year: on wages (per household), on crops.

    Wages: an ill household loses ``lost_wage_share`` of its wages, so E = 1 − P(ill) × share
    with the household's illness probability ``p_ill``. Crops: a county drought year keeps
    1 − loss, so E = 1 − P(drought) × loss. The noise and the livestock price shock have mean 1.
    Observed / E is the shock-free income the engine grows at the trend (module docstring).
    The kernel multiplies the base year back by the same factors (exactly observed).
    """
    m = scenario.microsim
    wages = 1.0 - p_ill.astype(np.float64) * m.health.lost_wage_share
    crops = 1.0 - m.shocks.drought_probability * m.shocks.drought_crop_loss
    return wages, float(crops)


def _csr(
    n: int,
    positions: list[np.ndarray],
    floats: list[list[np.ndarray]],
    ints: list[list[np.ndarray]],
    dtype: Any,
) -> list[np.ndarray]:
    """Pointer, part and columns of per-household lists, in (household, item) order.

    Part ``k`` (an entry or a work) has items at household positions ``positions[k]``; each
    column of ``floats`` (stored as ``dtype``) and ``ints`` (int64) holds one array per part.
    Returns ``[ptr, part, *floats, *ints]`` (a stable counting sort, :func:`stable_scatter`).
    """
    pos = np.concatenate(positions) if positions else np.zeros(0, np.int64)
    pos = pos.astype(np.int64, copy=False)
    ptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(pos, minlength=n), out=ptr[1:])
    sizes = np.array([p.size for p in positions], dtype=np.int64)
    f = np.empty((len(floats), pos.size), dtype=dtype)
    i = np.empty((len(ints), pos.size), dtype=np.int64)
    for table, columns in ((f, floats), (i, ints)):
        for row, parts in zip(table, columns, strict=True):
            if parts:
                np.concatenate(parts, out=row, casting="same_kind")
    part, f_out, i_out = stable_scatter(pos, ptr, sizes, f, i)
    return [ptr, part, *f_out, *i_out]


def prepare_plan(
    plan: CompiledPlan, population: Population, scenario: Scenario, dtype: type = np.float64
) -> PlanArrays:
    """A compiled plan as the kernel's flat arrays (once per run and plan)."""
    n, n_years = population.n, len(scenario.years)
    apps, works = plan.applications, plan.village_works
    a_cols = _csr(
        n, [a.positions for a in apps], [[a.amount for a in apps]], [[a.start for a in apps]], dtype
    )
    kind_int = np.array(
        [[a.source, a.slot, a.village_level] for a in apps], dtype=np.int64
    ).reshape(-1, 3)
    kind_float = np.array(
        [[a.gross_share, a.dispersion_sigma, a.failure_prob] for a in apps], dtype=np.float64
    ).reshape(-1, 3)
    assert Kind.SOURCE == 0 and Kind.GROSS_SHARE == 0 and Kind.FAILURE == 2
    profile = _profiles([a.profile for a in apps], n_years)
    w_cols = _csr(n, [w.positions for w in works], [], [[w.start for w in works]], dtype)
    work_int = np.array([[w.slot] for w in works], dtype=np.int64).reshape(-1, 1)
    work_float = np.array(
        [[w.market_uplift, w.failure_prob] for w in works], dtype=np.float64
    ).reshape(-1, 2)
    work_profile = _profiles([w.profile for w in works], n_years)
    plan_from = np.empty((n, len(PlanFrom)), dtype=np.int64)
    fix = plan.fix_year
    has = (population.safe_housing, population.safe_water, population.ncms,
           population.dropouts == 0)  # fmt: skip
    plan_from[:, PlanFrom.GUARANTEES] = np.max(
        [np.where(h, 0, fix[g]) for g, h in enumerate(has)], axis=0, initial=0
    )
    plan_from[:, PlanFrom.NCMS] = np.where(population.ncms, 0, fix[2])
    plan_from[:, PlanFrom.DIBAO] = np.minimum(plan.dibao_from, NEVER)
    counts = np.diff(a_cols[0])
    arrays = (*a_cols, kind_int, kind_float, profile, *w_cols, work_int, work_float, work_profile,
              plan_from)  # fmt: skip
    return PlanArrays(arrays, int(counts.max(initial=0)))


def _take_csr(ptr: np.ndarray, index: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Pointer of the lists of rows ``index``, and the positions of their items."""
    counts = np.diff(ptr)[index]
    new_ptr = np.zeros(index.size + 1, dtype=np.int64)
    np.cumsum(counts, out=new_ptr[1:])
    items = np.repeat(ptr[index] - new_ptr[:-1], counts) + np.arange(new_ptr[-1])
    return new_ptr, items


def take_rows(
    prepared: Prepared, plan: PlanArrays, index: np.ndarray
) -> tuple[Prepared, PlanArrays]:
    """The tables of the households at positions ``index`` (increasing), as their own run.

    Draws are keyed by household id, so each household's outcomes are the same as in the
    whole population; only the segments (and so the order of sums over households) differ.
    """
    a = plan.arrays
    app_ptr, apps = _take_csr(a[0], index)
    work_ptr, works = _take_csr(a[7], index)
    arrays = (app_ptr, *(c[apps] for c in a[1:4]), *a[4:7], work_ptr,
              *(c[works] for c in a[8:10]), *a[10:13], a[13][index])  # fmt: skip
    counts = np.diff(app_ptr)
    sub = replace(
        prepared,
        numbers=prepared.numbers[index],
        flags=prepared.flags[index],
        group=prepared.group[index],
    )
    return sub, PlanArrays(arrays, int(counts.max(initial=0)))


def _profiles(profiles: list[np.ndarray], n_years: int) -> np.ndarray:
    out = np.zeros((len(profiles), n_years + 1))
    for k, profile in enumerate(profiles):
        size = min(profile.size, n_years + 1)
        out[k, :size] = profile[:size]
        out[k, size:] = profile[size - 1] if size else 0.0
    return out


def _systemic(prepared: Prepared, replications: range) -> tuple[np.ndarray, np.ndarray]:
    """Crop factor and livestock price factor per (replication, year, county)."""
    n_counties = len(data.COUNTY_IDS)
    keys = rng.sub_keys(
        rng.replication_keys(prepared.seed, "systemic", replications)[:, None, None],
        np.arange(n_counties)[None, None, :],
    )
    years = prepared.years[YearRow.CALENDAR_YEAR].astype(np.int64)
    counters = (years * rng.DRAWS_PER_YEAR)[None, :, None]
    drought = rng.counter_uniform(keys, counters) < prepared.drought_probability
    crop = np.where(drought, 1.0 - prepared.drought_crop_loss, 1.0)
    sigma = prepared.price_sigma
    price = np.exp(sigma * rng.counter_normal(keys, counters + 1) - 0.5 * sigma**2)
    # The observed base year: the expected factors (see _base_year_factors).
    crop[:, 0, :] = prepared.base_crop_factor
    price[:, 0, :] = 1.0
    return crop, price


def _keys(seed: int, replications: range) -> np.ndarray:
    keys = np.empty((len(replications), len(Stream)), dtype=np.uint64)
    for stream in Stream:
        keys[:, stream] = rng.replication_keys(seed, stream.name.lower(), replications)
    return keys


def run_prepared(
    prepared: Prepared,
    plan: PlanArrays,
    replications: range,
    start: int,
    stop: int,
    *,
    village_sums: bool = True,
    household_sums: bool = True,
    threads: int = 1,
    offset: int = 0,
) -> ChunkResult:
    """Simulate the households of rows ``[start, stop)`` of ``prepared`` on ``threads`` threads.

    ``offset + start`` is their position in the whole population, a multiple of the block size
    (segments never straddle blocks, so sums do not depend on how the rows are chunked).
    """
    if (offset + start) % prepared.block:
        raise ValueError("a chunk must start at a block boundary")
    n, n_years = stop - start, prepared.years.shape[1]
    position = np.arange(offset + start, offset + stop)
    block, within = np.divmod(position, prepared.block)
    tile = block * (-(-prepared.block // TILE)) + within // TILE
    group = prepared.group[start:stop]
    starts, seg_tile, seg_group = segments(tile, group)
    stats = np.zeros((len(replications), starts.size, n_years, len(Stat)))
    n_threads = int(numba.config.NUMBA_NUM_THREADS)  # type: ignore[attr-defined]
    # Per thread, village-major: a household's replications and years are adjacent.
    villages = np.zeros(
        (n_threads, prepared.n_villages if village_sums else 0, len(replications), n_years)
    )
    hh_income = np.zeros((n_years, n if household_sums else 0))
    hh_exited = np.zeros((n_years, n if household_sums else 0))
    crop, price = _systemic(prepared, replications)
    previous = numba.get_num_threads()
    numba.set_num_threads(max(1, min(threads, n_threads)))
    # Threads take segments a few at a time as they finish (not one even share each up
    # front), so a thread slowed by other work on the machine does not hold up the rest.
    chunksize = numba.set_parallel_chunksize(PARALLEL_CHUNK)
    try:
        run_segments(
            np.r_[starts, n].astype(np.int64),
            prepared.numbers[start:stop],
            prepared.flags[start:stop],
            prepared.years,
            prepared.params,
            _keys(prepared.seed, replications),
            crop,
            price,
            plan.rows(start, stop),
            stats,
            villages,
            hh_income,
            hh_exited,
            plan.max_apps,
        )
    finally:
        numba.set_parallel_chunksize(chunksize)
        numba.set_num_threads(previous)
    village_remaining = np.ascontiguousarray(villages.sum(axis=0).transpose(1, 2, 0))
    return ChunkResult(seg_tile, seg_group, stats, village_remaining, hh_income, hh_exited)


def run_chunk(
    population: Population,
    plan: CompiledPlan,
    scenario: Scenario,
    replications: range,
    first_position: int,
    *,
    village_sums: bool = True,
    household_sums: bool = True,
) -> ChunkResult:
    """Simulate a chunk of households (whole blocks) given as its own population and plan.

    ``first_position`` is the chunk's position in the whole population (a multiple of the block
    size); draws are keyed by household id, so only segment boundaries depend on it. Prefer
    :func:`prepare_population` / :func:`prepare_plan` once and :func:`run_prepared` per chunk.
    """
    prepared = prepare_population(population, scenario)
    dtype = np.float32 if scenario.microsim.float32 else np.float64
    arrays = prepare_plan(plan, population, scenario, dtype)
    return run_prepared(
        prepared,
        arrays,
        replications,
        0,
        population.n,
        village_sums=village_sums,
        household_sums=household_sums,
        offset=first_position,
    )

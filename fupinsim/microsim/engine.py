"""The yearly household income engine, vectorised over households.

One call of :func:`run_chunk` simulates a chunk of households (whole random-number blocks) over
a range of replications. Each year, for every household at once:

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

Randomness: streams ``income``, ``illness``, ``verification`` and ``intervention`` are drawn per
(replication, block); ``systemic`` per replication (common to every household of a county).
Every household gets its draws whatever its plan, so two plans share them (common random
numbers). The base year (the registry's year) is observed: no shocks, no exits, dibao as
recorded and no scenario wage factor, so its incomes are the registry's (true) incomes.

Sums are taken per (block, group) segment; callers add segments in block order, so totals do
not depend on chunking or workers.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from fupinsim import data, rng
from fupinsim.microsim.exits import exit_step, return_step
from fupinsim.microsim.health import illness_probability, out_of_pocket
from fupinsim.microsim.plans import CompiledPlan
from fupinsim.microsim.population import Population
from fupinsim.microsim.transfers import dibao_payment, farm_subsidy, pension, wubao_payment
from fupinsim.scenario import Scenario

__all__ = ["STATS", "ChunkResult", "YearRules", "run_chunk", "segments"]

#: What is summed per (block, group) segment and year. Unit in brackets.
STATS: tuple[str, ...] = (
    "registered_remaining",  # registered households not exited [households]
    "exits",  # exits in the year [households]
    "exited",  # households in exited status at year end [households]
    "returns",  # returns to poverty in the year [households]
    "poor_people",  # people with true per-capita income below the line [people]
    "poor_people_registered",  # of which in registered households [people]
    "poverty_gap_yuan",  # sum of (line − income) over poor people [yuan]
    "at_risk",  # non-remaining households below the monitoring band after rigid costs
    "income_registered_yuan",  # net income of registered households [yuan]
    "people_registered",  # [people]
    "income_all_yuan",  # net income of all households [yuan]
    "people_all",  # [people]
    "wrong_exits",  # exited households with true income below the line [households]
    "truly_poor",  # households with true income below the line [households]
    "missed_poor",  # truly poor households never registered [households]
    "households",  # [households]
    "remaining_people",  # people in registered households not exited [people]
)
_S = {name: i for i, name in enumerate(STATS)}


@dataclass(frozen=True)
class YearRules:
    """Year-dependent amounts, index 0 = first simulated year."""

    years: np.ndarray
    line: np.ndarray
    dibao_standard: np.ndarray
    growth: np.ndarray  # (6, n_years) trend factor per market source
    medical_median: np.ndarray  # gross cost median per year

    @classmethod
    def from_scenario(cls, scenario: Scenario) -> YearRules:
        """Lines, standards and trend factors for the scenario's years."""
        years = np.array(scenario.years)
        m = scenario.microsim
        rates = np.array(
            [
                m.growth_wages,
                m.growth_crops,
                m.growth_livestock,
                m.growth_greenhouse,
                m.growth_business,
                m.growth_property,
            ]
        )
        t = years - years[0]
        return cls(
            years=years,
            line=np.array([data.poverty_line(int(y)) for y in years]),
            dibao_standard=data.dibao_standard(years),
            growth=(1.0 + rates[:, None]) ** t[None, :],
            medical_median=m.health.gross_cost_median_yuan * (1 + m.health.cost_growth) ** t,
        )


@dataclass(frozen=True)
class ChunkResult:
    """Sums for a chunk of households over a range of replications.

    ``stats[r, s, t, k]``: replication ``r`` (within the range), segment ``s``, year ``t``,
    statistic ``STATS[k]``. ``village_remaining[r, t, v]``: people in registered, not exited
    households per village. ``household_income`` / ``household_exited``: sums over the
    replications of per-capita income and of the exited flag, per year and household.
    """

    segment_block: np.ndarray
    segment_group: np.ndarray
    stats: np.ndarray
    village_remaining: np.ndarray
    household_income: np.ndarray
    household_exited: np.ndarray


def segments(block: np.ndarray, group: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Start positions, block and group of each run of equal (block, group)."""
    change = np.r_[True, (block[1:] != block[:-1]) | (group[1:] != group[:-1])]
    starts = np.flatnonzero(change)
    return starts, block[starts], group[starts]


@dataclass(frozen=True)
class _EffectPaths:
    """Dense deterministic effect paths per application (multiplier 1), once per chunk."""

    gross: tuple[np.ndarray, ...]  # per application: (T, n) gross income added to its source
    cost: tuple[np.ndarray | None, ...]  # per application: (T, n) production cost added


def _effect_paths(plan: CompiledPlan, n: int, n_years: int, dtype: np.dtype) -> _EffectPaths:
    offsets = np.arange(n_years)
    gross, cost = [], []
    for app in plan.applications:
        profile = app.effect_profile(offsets[None, :] - app.start[:, None])  # (k, T)
        path = np.zeros((n_years, n), dtype=dtype)
        path[:, app.positions] = (app.amount[:, None] * profile).T
        gross.append(path * app.gross_share)
        cost.append(path * (app.gross_share - 1.0) if app.gross_share != 1.0 else None)
    return _EffectPaths(tuple(gross), tuple(cost))


#: Key of the per-village draws in stream ``intervention`` (above any household block number).
_VILLAGE_KEY = 2**31


def _village_success(
    plan: CompiledPlan, seed: int, replication: int, village_ids: np.ndarray
) -> dict[int, np.ndarray]:
    """Whether each village entry works in each village in one replication (by entry slot).

    A village entry's ``failure_prob`` holds for the whole village (catalogue convention):
    one uniform per (replication, entry slot, village id), so the draw does not depend on the
    chunk or on which other villages are simulated. Arrays are by village index.
    """
    failure = {w.slot: w.failure_prob for w in plan.village_works}
    failure.update({a.slot: a.failure_prob for a in plan.applications if a.village_level})
    success = {}
    size = int(village_ids.max()) + 1 if village_ids.size else 0
    for slot, prob in sorted(failure.items()):
        gen = rng.generator(seed, "intervention", replication, _VILLAGE_KEY, slot)
        success[slot] = gen.random(size)[village_ids] >= prob
    return success


def _multipliers(
    plan: CompiledPlan,
    n: int,
    seed: int,
    replication: int,
    blocks: np.ndarray,
    block_first: np.ndarray,
    block_size: int,
    dtype: np.dtype,
    village: np.ndarray,
    village_success: dict[int, np.ndarray],
) -> list[np.ndarray]:
    """Household multiplier of each application in one replication: dispersion × success.

    Each household gets a dispersion normal and a failure uniform per catalogue entry from
    stream ``intervention`` at (replication, block, entry slot), so its draws do not depend
    on which households share its plan (common random numbers). Village entries succeed or
    fail for the whole village (``village_success``, by slot; ``village``: each household's
    village index).
    """
    draws: dict[tuple[int, float, float, bool], np.ndarray] = {}
    out = []
    for app in plan.applications:
        key = (app.slot, app.dispersion_sigma, app.failure_prob, app.village_level)
        if key not in draws:
            normal = np.empty(n, dtype=np.float32)
            uniform = np.empty(n, dtype=np.float32)
            for b, first in zip(blocks, block_first, strict=True):
                stop = min(first + block_size, n)
                gen = rng.generator(seed, "intervention", replication, int(b), app.slot)
                gen.standard_normal(out=normal[first:stop], dtype=np.float32)
                gen.random(out=uniform[first:stop], dtype=np.float32)
            sigma = app.dispersion_sigma
            multiplier = np.exp(sigma * normal - 0.5 * sigma * sigma).astype(dtype)
            if app.village_level:
                multiplier *= village_success[app.slot][village]
            else:
                multiplier *= uniform >= app.failure_prob
            draws[key] = multiplier
        out.append(draws[key])
    return out


class _Draws:
    """Per-block generators of one replication; draws are laid out by household position."""

    def __init__(
        self,
        seed: int,
        stream: str,
        replication: int,
        blocks: np.ndarray,
        block_first: np.ndarray,
        block_size: int,
        n: int,
    ) -> None:
        self.gens = [rng.generator(seed, stream, replication, int(b)) for b in blocks]
        self.first = block_first
        self.size = block_size
        self.n = n

    def normal(self, out: np.ndarray) -> np.ndarray:
        for gen, first in zip(self.gens, self.first, strict=True):
            gen.standard_normal(out=out[first : min(first + self.size, self.n)], dtype=out.dtype)
        return out

    def uniform(self, out: np.ndarray) -> np.ndarray:
        for gen, first in zip(self.gens, self.first, strict=True):
            gen.random(out=out[first : min(first + self.size, self.n)], dtype=out.dtype)
        return out

    def normal_where(self, mask: np.ndarray, out: np.ndarray) -> np.ndarray:
        """Normals only where ``mask`` (in position order within each block); 0 elsewhere."""
        if mask.all():
            return self.normal(out)
        out[:] = 0.0
        for gen, first in zip(self.gens, self.first, strict=True):
            stop = min(first + self.size, self.n)
            where = np.flatnonzero(mask[first:stop]) + first
            if where.size:
                out[where] = gen.standard_normal(where.size, dtype=out.dtype)
        return out


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
    """Simulate a chunk of households for the given replications.

    Parameters
    ----------
    population, plan:
        The chunk's households (whole blocks) and their compiled plan.
    replications:
        Replication numbers (they key the random streams).
    first_position:
        Position of the chunk's first household in the whole population (a multiple of the
        block size), so blocks are numbered as in an unchunked run.
    village_sums, household_sums:
        Keep people remaining per village, and income and exit sums per household (skip at
        national scale, where they are not reported).
    """
    m = scenario.microsim
    dtype = np.dtype(np.float32 if m.float32 else np.float64)
    rules = YearRules.from_scenario(scenario)
    pop = population
    n, n_years = pop.n, rules.years.size
    block_size = m.block_households
    if first_position % block_size:
        raise ValueError("a chunk must start at a block boundary")
    block = (first_position + np.arange(n)) // block_size
    starts, seg_block, seg_group = segments(block, pop.group)
    blocks = np.unique(block)
    block_first = blocks * block_size - first_position
    n_villages = pop.village_ids.size

    stats = np.zeros((len(replications), starts.size, n_years, len(STATS)))
    village_remaining = np.zeros((len(replications), n_years, n_villages if village_sums else 0))
    hh_income = np.zeros((n_years, n if household_sums else 0))
    hh_exited = np.zeros((n_years, n if household_sums else 0))

    # Everything that does not change between replications, once per chunk.
    members = pop.members.astype(dtype)
    inv_members = (1.0 / pop.members).astype(dtype)
    trend = np.zeros((7, n_years, n), dtype=dtype)  # market sources, then extra transfers
    trend[:6] = pop.market[:, None, :] * rules.growth[:, :, None]
    cost_trend = np.einsum("kn,kt->tn", pop.cost_ratio * pop.market[1:4], rules.growth[1:4]).astype(
        dtype
    )
    years = [int(y) for y in rules.years]
    fixed_income = np.stack(
        [
            pension(pop.elderly, y)
            + farm_subsidy(pop.land_mu)
            + wubao_payment(pop.members, pop.is_wubao, y)
            for y in years
        ]
    ).astype(dtype)
    wubao = pop.is_wubao
    adults = np.maximum(pop.members - pop.elderly - pop.students.sum(axis=0) - pop.dropouts, 0)
    p_ill = illness_probability(adults, pop.elderly, pop.chronic_ill, m.health).astype(dtype)
    schooling_costs = data.plain(data.load_raw("household_costs"))["schooling"]
    stages = ("primary", "junior", "senior", "vocational", "tertiary")
    school = (np.array([schooling_costs[k] for k in stages]) @ pop.students).astype(dtype)
    rules_dibao = data.social_protection()["dibao_rules"]
    fixed = plan.fix_year[:, None, :] <= np.arange(n_years)[None, :, None]  # (4, T, n)
    safe_housing = pop.safe_housing | fixed[0]
    safe_water = pop.safe_water | fixed[1]
    ncms = pop.ncms | fixed[2]
    no_dropouts = (pop.dropouts == 0) | fixed[3]
    guarantees = safe_housing & safe_water & ncms & no_dropouts  # (T, n)
    dibao_cover = (plan.dibao_from[None, :] <= np.arange(n_years)[:, None]) & ~wubao
    registered = pop.registered
    reg_f = registered.astype(dtype)
    uplift_paths = [(w.slot, w.uplift_path(n, n_years)) for w in plan.village_works]
    paths = _effect_paths(plan, n, n_years, dtype)
    shocks = m.shocks
    band = m.monitoring_band
    first_exit = int(scenario.funding.first_year - rules.years[0])
    n_counties = len(data.COUNTY_IDS)
    counties = pop.county
    values = np.empty((len(STATS), n))
    z = np.empty(n, dtype=np.float32)
    u = np.empty(n, dtype=np.float32)
    cost_z = np.empty(n, dtype=np.float32)
    verify_z = np.empty(n, dtype=np.float32)
    other_transfers = np.zeros(n)  # set in the base year of each replication
    constant_rows = [_S[name] for name in ("people_registered", "people_all", "households")]
    constant = {
        "people_registered": members * reg_f,
        "people_all": members,
        "households": np.ones(n),
    }
    # Rows that do not change over years or replications: summed once per chunk.
    constant_sums = np.add.reduceat(np.stack(list(constant.values())), starts, axis=1)
    values[constant_rows] = 0.0

    for r_index, replication in enumerate(replications):
        village_success = _village_success(plan, scenario.seed, replication, pop.village_ids)
        multipliers = _multipliers(
            plan,
            n,
            scenario.seed,
            replication,
            blocks,
            block_first,
            block_size,
            dtype,
            pop.village,
            village_success,
        )
        uplift = None
        for slot, path in uplift_paths:
            factor = 1.0 + path * village_success[slot][pop.village]
            uplift = factor if uplift is None else uplift * factor
        systemic = rng.generator(scenario.seed, "systemic", replication)
        drought = systemic.random((n_years, n_counties)) < shocks.drought_probability
        price = np.exp(
            shocks.livestock_price_sigma * systemic.standard_normal((n_years, n_counties))
            - 0.5 * shocks.livestock_price_sigma**2
        )
        crop_loss = np.where(drought, 1.0 - shocks.drought_crop_loss, 1.0)
        income_draws = _Draws(
            scenario.seed, "income", replication, blocks, block_first, block_size, n
        )
        illness_draws = _Draws(
            scenario.seed, "illness", replication, blocks, block_first, block_size, n
        )
        verify_draws = _Draws(
            scenario.seed, "verification", replication, blocks, block_first, block_size, n
        )
        take_up = income_draws.uniform(u) < rules_dibao["take_up"]
        enrolled_base = (pop.is_dibao | (pop.weak & take_up)) & ~wubao
        remaining = registered.copy()
        exited = np.zeros(n, dtype=bool)
        above = np.zeros(n, dtype=np.int8)
        below = np.zeros(n, dtype=np.int8)

        for t in range(n_years):
            observed = t == 0  # the registry's year: as recorded, no shocks, no exits
            source = [trend[k, t] for k in range(7)]
            extra_cost = None
            for app, mult, gross_path, cost_path in zip(
                plan.applications, multipliers, paths.gross, paths.cost, strict=True
            ):
                source[app.source] = source[app.source] + gross_path[t] * mult
                if cost_path is not None:
                    add = cost_path[t] * mult
                    extra_cost = add if extra_cost is None else extra_cost + add
            farm_crop = source[1] if observed else source[1] * crop_loss[t, counties]
            farm_stock = source[2] if observed else source[2] * price[t, counties]
            farm = farm_crop + farm_stock + source[3]
            if uplift is not None:
                farm = farm * uplift[t]
            # The base year is as recorded: a labour-market scenario changes wages from the
            # first projected year on, not the registry's incomes.
            scale_wages = m.wage_factor != 1.0 and not observed
            wages = source[0] * m.wage_factor if scale_wages else source[0]
            if observed:
                ill = np.zeros(n, dtype=bool)
                market = wages + farm + source[4]
            else:
                income_draws.normal(z)
                shock = np.exp(shocks.income_sigma * z - 0.5 * shocks.income_sigma**2)
                ill = illness_draws.uniform(u) < p_ill
                wages = wages * np.where(ill, 1.0 - m.health.lost_wage_share, 1.0)
                market = (wages + farm + source[4]) * shock
            market_net = market + source[5] - cost_trend[t]
            if extra_cost is not None:
                market_net -= extra_cost
            before = market_net + fixed_income[t] + source[6]
            if observed:
                # Dibao as recorded in the registry's year (take-up was drawn when the registry
                # was made). Weak households already eligible then but not enrolled stay out
                # (their take-up was drawn); the others get take-up draws when they fall below
                # the standard, so coverage of the eligible stays at the take-up rate.
                enrolled = pop.is_dibao & ~wubao
                declined = pop.weak & ~enrolled & (before * inv_members < rules.dibao_standard[t])
                enrolled_base &= ~declined
                dibao = dibao_payment(
                    before * inv_members,
                    members,
                    rules.dibao_standard[t],
                    enrolled,
                    rules_dibao["min_payment_share"],
                )
                # Recorded transfers the rules do not explain (other programmes, rounding):
                # kept in yuan every year, so the base year is the registry's income.
                other_transfers = pop.transfers - fixed_income[t] - dibao
                income = before + dibao + other_transfers
            else:
                before = before + other_transfers
                dibao = dibao_payment(
                    before * inv_members,
                    members,
                    rules.dibao_standard[t],
                    enrolled_base | dibao_cover[t],
                    rules_dibao["min_payment_share"],
                )
                income = before + dibao
            income_pc = income * inv_members
            line = rules.line[t]

            oop = np.zeros(n, dtype=dtype)
            if not observed:
                illness_draws.normal_where(ill, cost_z)
                sick = np.flatnonzero(ill)
                gross_medical = rules.medical_median[t] * np.exp(
                    m.health.gross_cost_sigma * cost_z[sick]
                )
                oop[sick] = out_of_pocket(
                    gross_medical, ncms[t, sick], registered[sick], years[t], m.health
                )
            after_rigid_pc = (income - oop - school) * inv_members

            if t >= first_exit and not observed:
                verify_draws.normal_where(registered, verify_z)
                # Officials check market income with error; transfers they know exactly.
                noise = np.exp(m.verification_sigma * verify_z - 0.5 * m.verification_sigma**2)
                measured = income_pc + market_net * inv_members * (noise - 1.0)
                exits, above = exit_step(
                    remaining,
                    above,
                    measured,
                    line,
                    m.exit_income_margin,
                    m.exit_stable_years,
                    guarantees[t],
                )
                returns, below = return_step(exited, below, measured, line, m.return_years_below)
                exits &= registered
                remaining = (remaining & ~exits) | returns
                exited = (exited | exits) & ~returns
            else:
                exits = np.zeros(n, dtype=bool)
                returns = exits

            poor = income_pc < line
            values[_S["registered_remaining"]] = remaining
            values[_S["exits"]] = exits
            values[_S["exited"]] = exited
            values[_S["returns"]] = returns
            np.multiply(members, poor, out=values[_S["poor_people"]])
            np.multiply(values[_S["poor_people"]], reg_f, out=values[_S["poor_people_registered"]])
            np.multiply(
                members, np.maximum(line - income_pc, 0.0), out=values[_S["poverty_gap_yuan"]]
            )
            values[_S["at_risk"]] = ~remaining & (after_rigid_pc < band * line)
            np.multiply(income, reg_f, out=values[_S["income_registered_yuan"]])
            values[_S["income_all_yuan"]] = income
            values[_S["wrong_exits"]] = exited & poor
            values[_S["truly_poor"]] = poor
            values[_S["missed_poor"]] = poor & ~registered
            np.multiply(members, remaining, out=values[_S["remaining_people"]])
            stats[r_index, :, t, :] = np.add.reduceat(values, starts, axis=1).T
            stats[r_index, :, t][:, constant_rows] = constant_sums.T
            if village_sums:
                village_remaining[r_index, t] = np.bincount(
                    pop.village, weights=values[_S["remaining_people"]], minlength=n_villages
                )
            if household_sums:
                hh_income[t] += income_pc
                hh_exited[t] += exited
    return ChunkResult(seg_block, seg_group, stats, village_remaining, hh_income, hh_exited)

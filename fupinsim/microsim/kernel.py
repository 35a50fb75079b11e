"""The fused household kernel: one pass over each household per replication and year.

:func:`run_segments` is compiled with numba (``parallel=True``): segments of at most
``TILE`` households of one group are spread over threads; inside a segment every household is
simulated for every replication and year in turn, with its state (remaining, exited, streaks,
dibao enrolment) in registers — no array the size of the population is made in the loop.

Each segment's sums are written only by the thread that runs it, in household order, so the
sums do not depend on the number of threads. People remaining per village (integers, exact in
float64) are added per thread and the per-thread arrays added afterwards.

Every random number is a pure function of (seed, stream, replication, household id, counter)
(:mod:`.draws`), so a household's draws do not depend on the chunk, the thread or which other
households are simulated, and two plans share them (common random numbers).

The tables passed in are named by the enums below (axes of the packed arrays); how they are
built from a population and a compiled plan is :mod:`.engine`'s job.
"""

from __future__ import annotations

import math
from enum import IntEnum

import numba
import numpy as np
from numba import njit, prange

from fupinsim.microsim.draws import JIT_OPTIONS as _JIT
from fupinsim.microsim.draws import household_key, normal, uniform

__all__ = [
    "TILE",
    "Field",
    "Flag",
    "Kind",
    "Param",
    "PlanFrom",
    "Source",
    "Stat",
    "Stream",
    "YearRow",
    "stable_scatter",
]

#: Households per segment at most (segments are also cut at group and block boundaries).
TILE = 512
#: Added to a village id to key its village-level draws (above any household id).
VILLAGE_KEY = 1 << 40
#: Draws per calendar year in a stream (counter = year × DRAWS_PER_YEAR + k).
DRAWS_PER_YEAR = 16


class Source(IntEnum):
    """Income sources an effect adds to (market sources, then transfers)."""

    WAGES = 0
    CROPS = 1
    LIVESTOCK = 2
    GREENHOUSE = 3
    BUSINESS = 4
    PROPERTY = 5
    TRANSFERS = 6


N_SOURCES = len(Source)


class Stat(IntEnum):
    """Statistics summed per segment and year (see ``engine.STATS`` for units)."""

    REGISTERED_REMAINING = 0
    EXITS = 1
    EXITED = 2
    RETURNS = 3
    POOR_PEOPLE = 4
    POOR_PEOPLE_REGISTERED = 5
    POVERTY_GAP_YUAN = 6
    AT_RISK = 7
    INCOME_REGISTERED_YUAN = 8
    PEOPLE_REGISTERED = 9
    INCOME_ALL_YUAN = 10
    PEOPLE_ALL = 11
    WRONG_EXITS = 12
    TRULY_POOR = 13
    MISSED_POOR = 14
    HOUSEHOLDS = 15
    REMAINING_PEOPLE = 16


N_STATS = len(Stat)


class Field(IntEnum):
    """Columns of the household number table (n, len(Field)), yuan per household unless said."""

    MEMBERS = 0  # people
    ELDERLY = 1  # people
    LAND_MU = 2  # mu
    TRANSFERS = 3  # recorded base-year transfers
    P_ILL = 4  # probability of an illness episode in a year
    SCHOOL = 5  # schooling cost per year
    WAGES = 6  # base-year gross market income by source (6 columns, Source order) ...
    CROPS = 7
    LIVESTOCK = 8
    GREENHOUSE = 9
    BUSINESS = 10
    PROPERTY = 11
    COST_CROPS = 12  # base-year production cost of crops, livestock, greenhouses
    COST_LIVESTOCK = 13
    COST_GREENHOUSE = 14


class Flag(IntEnum):
    """Columns of the household integer table (n, len(Flag))."""

    HOUSEHOLD_ID = 0
    COUNTY = 1  # county index
    VILLAGE = 2  # village index (for village sums)
    VILLAGE_ID = 3  # village id (keys village-level draws)
    REGISTERED = 4
    IS_DIBAO = 5
    IS_WUBAO = 6
    WEAK = 7


class PlanFrom(IntEnum):
    """Columns of the plan's per-household year table (n, len(PlanFrom)): year indices."""

    GUARANTEES = 0  # from which the household has every exit guarantee
    NCMS = 1  # from which it is in NCMS
    DIBAO = 2  # from which the plan guarantees dibao enrolment


class YearRow(IntEnum):
    """Rows of the per-year table (len(YearRow), T)."""

    CALENDAR_YEAR = 0
    LINE = 1  # poverty line, yuan per person
    DIBAO_STANDARD = 2  # yuan per person
    MEDICAL_MEDIAN = 3  # gross cost of an episode, median, yuan
    PENSION = 4  # yuan per elderly member
    WUBAO = 5  # yuan per member of a wubao household
    RATE_REGISTERED = 6  # NCMS reimbursement share, registered households
    RATE_OTHER = 7
    THRESHOLD_REGISTERED = 8  # serious-illness deductible, yuan
    THRESHOLD_OTHER = 9
    GROWTH_WAGES = 10  # trend factor of each market source (6 rows, Source order)


class Param(IntEnum):
    """Scalar parameters."""

    INCOME_SIGMA = 0
    LOST_WAGE_SHARE = 1
    WAGE_FACTOR = 2
    COST_SIGMA = 3
    SERIOUS_RATE = 4
    TAKE_UP = 5
    MIN_PAYMENT_SHARE = 6
    VERIFICATION_SIGMA = 7
    EXIT_MARGIN = 8
    BAND = 9
    FARM_SUBSIDY = 10  # yuan per mu
    STABLE_YEARS = 11
    RETURN_YEARS = 12
    FIRST_EXIT = 13  # first year index with exits


class Stream(IntEnum):
    """Columns of the replication key table (R, len(Stream))."""

    INCOME = 0
    ILLNESS = 1
    VERIFICATION = 2
    INTERVENTION = 3


class Kind(IntEnum):
    """Columns of the application kind tables (an application = one entry to some households)."""

    SOURCE = 0  # integer table: Source
    SLOT = 1  # integer table: the entry's catalogue slot (its draw counter)
    VILLAGE_LEVEL = 2  # integer table: fails per village
    GROSS_SHARE = 0  # float table: gross income per yuan of net effect
    SIGMA = 1  # float table: dispersion sigma
    FAILURE = 2  # float table: failure probability


@njit(**_JIT)
def _sorted_parts(pos: np.ndarray, bounds: np.ndarray) -> bool:
    for part in range(bounds.size - 1):
        for k in range(bounds[part] + 1, bounds[part + 1]):
            if pos[k] < pos[k - 1]:
                return False
    return True


@njit(**_JIT, inline="always")
def _place(part, k, d, part_of, floats, ints, f_out, i_out) -> None:
    """Item ``k`` (of ``part``) to place ``d``."""
    part_of[d] = part
    for c in range(floats.shape[0]):
        f_out[c, d] = floats[c, k]
    for c in range(ints.shape[0]):
        i_out[c, d] = ints[c, k]


@njit(**_JIT)
def stable_scatter(
    pos: np.ndarray, ptr: np.ndarray, sizes: np.ndarray, floats: np.ndarray, ints: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Items in (household, item) order, as gathers by a stable argsort of ``pos`` give them.

    Items come in consecutive parts (``sizes[k]`` items of part ``k``) at household positions
    ``pos``; ``ptr``: start of each household's items. Returns the part of each item, and the
    rows of ``floats`` (m, items) and ``ints`` (m', items) moved with the items. When every
    part's positions are increasing (as compiled plans give), the parts are merged household by
    household (output written in order); otherwise items are placed by counting.
    """
    bounds = np.zeros(sizes.size + 1, dtype=np.int64)
    bounds[1:] = np.cumsum(sizes)
    part_of = np.empty(pos.size, dtype=np.int64)
    f_out = np.empty_like(floats)
    i_out = np.empty_like(ints)
    if _sorted_parts(pos, bounds):
        nxt = bounds[:-1].copy()
        d = 0
        for h in range(ptr.size - 1):
            for part in range(sizes.size):
                k = nxt[part]
                while k < bounds[part + 1] and pos[k] == h:
                    _place(part, k, d, part_of, floats, ints, f_out, i_out)
                    d += 1
                    k += 1
                nxt[part] = k
    else:
        cursor = ptr[:-1].copy()
        for part in range(sizes.size):
            for k in range(bounds[part], bounds[part + 1]):
                d = cursor[pos[k]]
                cursor[pos[k]] = d + 1
                _place(part, k, d, part_of, floats, ints, f_out, i_out)
    return part_of, f_out, i_out


@njit(**_JIT, inline="always")
def _success(key: np.uint64, slot: np.int64, failure: float) -> bool:
    return failure <= 0.0 or uniform(key, 2 * slot + 1) >= failure


@njit(**_JIT, inline="always")
def _draw_multipliers(i, hh_key, village_key, app_ptr, app_kind, kind_int, kind_float, mult):
    """Each application's multiplier for household ``i`` in one replication."""
    for j in range(app_ptr[i], app_ptr[i + 1]):
        a = app_kind[j]
        slot = kind_int[a, Kind.SLOT]
        sigma = kind_float[a, Kind.SIGMA]
        if kind_int[a, Kind.VILLAGE_LEVEL]:
            ok = _success(village_key, slot, kind_float[a, Kind.FAILURE])
        else:
            ok = _success(hh_key, slot, kind_float[a, Kind.FAILURE])
        # A failed application's dispersion is not drawn (keyed draws: no other draw moves).
        m = 0.0
        if ok:
            m = math.exp(sigma * normal(hh_key, 2 * slot) - 0.5 * sigma * sigma) if sigma else 1.0
        mult[j - app_ptr[i]] = m


@njit(**_JIT, inline="always")
def _effect_bases(i, n_years, app_ptr, app_amount, app_start, app_kind, profile, base) -> None:
    """``base[j, t]``: household ``i``'s application ``j`` in year ``t`` before its multiplier
    (amount × ramp-up share; 0 before the start). The same every replication."""
    last = profile.shape[1] - 1
    for j in range(app_ptr[i], app_ptr[i + 1]):
        a = app_kind[j]
        for t in range(n_years):
            k = t - app_start[j]
            base[j - app_ptr[i], t] = app_amount[j] * profile[a, min(k, last)] if k >= 0 else 0.0


@njit(**_JIT, inline="always")
def _effects(i, t, app_ptr, app_kind, kind_int, kind_float, base, mult, eff) -> float:
    """Add household ``i``'s effects in year ``t`` to ``eff`` (by Source); return extra cost."""
    for k in range(N_SOURCES):
        eff[k] = 0.0
    extra_cost = 0.0
    for j in range(app_ptr[i + 1] - app_ptr[i]):
        m = mult[j]
        if m == 0.0 or base[j, t] == 0.0:
            continue
        a = app_kind[app_ptr[i] + j]
        effect = base[j, t] * m
        share = kind_float[a, Kind.GROSS_SHARE]
        eff[kind_int[a, Kind.SOURCE]] += effect * share
        extra_cost += effect * (share - 1.0)
    return extra_cost


@njit(**_JIT, inline="always")
def _uplift(i, t, works_ok, work_ptr, work_kind, work_start, work_float,
            work_profile) -> float:  # fmt: skip
    """Factor on household ``i``'s farm income from its villages' market works in year ``t``
    (``works_ok``: which of its works succeed in the replication)."""
    factor = 1.0
    last = work_profile.shape[1] - 1
    for j in range(work_ptr[i], work_ptr[i + 1]):
        k = t - work_start[j]
        w = work_kind[j]
        if k >= 0 and works_ok[j - work_ptr[i]]:
            factor *= 1.0 + work_float[w, 0] * work_profile[w, min(k, last)]
    return factor


@njit(**_JIT, inline="always")
def _draw_works(i, village_key, work_ptr, work_kind, work_int, work_float, works_ok) -> None:
    """Whether each of household ``i``'s village works succeeds in one replication."""
    for j in range(work_ptr[i], work_ptr[i + 1]):
        w = work_kind[j]
        works_ok[j - work_ptr[i]] = _success(village_key, work_int[w, 0], work_float[w, 1])


@njit(**_JIT, inline="always")
def _dibao(before_pc: float, members: float, standard: float, enrolled: bool, share: float):
    gap = standard - before_pc
    if enrolled and gap > 0.0:
        return max(gap, share * standard) * members
    return 0.0


@njit(**_JIT, inline="always")
def _out_of_pocket(key, year, t, registered, in_ncms, yr, p) -> float:
    """Out-of-pocket cost of an illness episode in year index ``t`` (see :mod:`.health`)."""
    gross = yr[YearRow.MEDICAL_MEDIAN, t] * math.exp(
        p[Param.COST_SIGMA] * normal(key, year * DRAWS_PER_YEAR + 1)
    )
    if not in_ncms:
        return gross
    rate = yr[YearRow.RATE_REGISTERED, t] if registered else yr[YearRow.RATE_OTHER, t]
    threshold = (
        yr[YearRow.THRESHOLD_REGISTERED, t] if registered else yr[YearRow.THRESHOLD_OTHER, t]
    )
    after = gross * (1.0 - rate)
    return after - p[Param.SERIOUS_RATE] * max(after - threshold, 0.0)


@njit(**_JIT, inline="always")
def _market(i, t, r, hh, fl, yr, p, eff, crop_factor, price, uplift, ill) -> float:
    """Gross market income of household ``i`` (before the idiosyncratic shock)."""
    g = Source.WAGES + YearRow.GROWTH_WAGES
    crops = hh[i, Field.CROPS] * yr[g + Source.CROPS, t] + eff[Source.CROPS]
    stock = hh[i, Field.LIVESTOCK] * yr[g + Source.LIVESTOCK, t] + eff[Source.LIVESTOCK]
    # [w-policy seam] every year, the base year too: there the engine puts the expected factors
    county = fl[i, Flag.COUNTY]
    crops *= crop_factor[r, t, county]
    stock *= price[r, t, county]
    greenhouse = hh[i, Field.GREENHOUSE] * yr[g + Source.GREENHOUSE, t] + eff[Source.GREENHOUSE]
    farm = (crops + stock + greenhouse) * uplift
    wages = hh[i, Field.WAGES] * yr[g, t] + eff[Source.WAGES]
    if t > 0:
        wages *= p[Param.WAGE_FACTOR]
        if ill:
            wages *= 1.0 - p[Param.LOST_WAGE_SHARE]
    else:  # [w-policy seam] the observed base year: with its expected illness loss
        wages *= 1.0 - hh[i, Field.P_ILL] * p[Param.LOST_WAGE_SHARE]
    business = hh[i, Field.BUSINESS] * yr[g + Source.BUSINESS, t] + eff[Source.BUSINESS]
    return wages + farm + business


@njit(**_JIT, inline="always")
def _cost(i, t, hh, yr) -> float:
    g = YearRow.GROWTH_WAGES
    return (
        hh[i, Field.COST_CROPS] * yr[g + Source.CROPS, t]
        + hh[i, Field.COST_LIVESTOCK] * yr[g + Source.LIVESTOCK, t]
        + hh[i, Field.COST_GREENHOUSE] * yr[g + Source.GREENHOUSE, t]
    )


@njit(**_JIT, inline="always")
def _fixed_income(i, t, hh, fl, yr, p) -> float:
    """Pension, farm subsidy and wubao support of household ``i`` in year ``t``."""
    fixed = (
        hh[i, Field.ELDERLY] * yr[YearRow.PENSION, t] + hh[i, Field.LAND_MU] * p[Param.FARM_SUBSIDY]
    )
    if fl[i, Flag.IS_WUBAO]:
        fixed += hh[i, Field.MEMBERS] * yr[YearRow.WUBAO, t]
    return fixed


@njit(**_JIT, inline="always")
def _accumulate(acc, t, members, registered, remaining, exits, exited, returns, income,
                income_pc, after_rigid_pc, line, band) -> None:  # fmt: skip
    """Add one household-year to its segment's sums of the replication, ``acc[t]`` (by Stat)."""
    row = acc[t]
    poor = income_pc < line
    row[Stat.REGISTERED_REMAINING] += remaining
    row[Stat.EXITS] += exits
    row[Stat.EXITED] += exited
    row[Stat.RETURNS] += returns
    if poor:
        row[Stat.POOR_PEOPLE] += members
        row[Stat.TRULY_POOR] += 1.0
        row[Stat.POVERTY_GAP_YUAN] += members * (line - income_pc)
        if registered:
            row[Stat.POOR_PEOPLE_REGISTERED] += members
        else:
            row[Stat.MISSED_POOR] += 1.0
        if exited:
            row[Stat.WRONG_EXITS] += 1.0
    if not remaining and after_rigid_pc < band * line:
        row[Stat.AT_RISK] += 1.0
    if registered:
        row[Stat.INCOME_REGISTERED_YUAN] += income
        row[Stat.PEOPLE_REGISTERED] += members
    row[Stat.INCOME_ALL_YUAN] += income
    row[Stat.PEOPLE_ALL] += members
    row[Stat.HOUSEHOLDS] += 1.0
    if remaining:
        row[Stat.REMAINING_PEOPLE] += members


@njit(**_JIT, inline="always")
def _income(i, t, r, year, k_income, k_ill, works_ok, hh, fl, yr, p, crop_factor, price, plan,
            base, mult, eff, enrolled_base, other, inv_members):  # fmt: skip
    """Household ``i``'s net income in year index ``t`` of replication ``r``.

    Returns ``(income, market_net, ill, enrolled_base, other_transfers)``; the last two are
    set in the base year (the registry's year, as recorded) and carried after.
    """
    app_ptr, app_kind, kind_int, kind_float = plan[0], plan[1], plan[4], plan[5]
    work_ptr, work_kind, work_start = plan[7], plan[8], plan[9]
    work_float, work_profile, plan_from = plan[11], plan[12], plan[13]
    extra_cost = _effects(i, t, app_ptr, app_kind, kind_int, kind_float, base, mult, eff)
    uplift = _uplift(i, t, works_ok, work_ptr, work_kind, work_start, work_float, work_profile)
    ill = t > 0 and uniform(k_ill, year * DRAWS_PER_YEAR) < hh[i, Field.P_ILL]
    market = _market(i, t, r, hh, fl, yr, p, eff, crop_factor, price, uplift, ill)
    if t > 0:
        sigma = p[Param.INCOME_SIGMA]
        market *= math.exp(sigma * normal(k_income, year * DRAWS_PER_YEAR) - 0.5 * sigma * sigma)
    g = YearRow.GROWTH_WAGES + Source.PROPERTY
    market_net = market + hh[i, Field.PROPERTY] * yr[g, t] + eff[Source.PROPERTY]
    market_net -= _cost(i, t, hh, yr) + extra_cost
    fixed = _fixed_income(i, t, hh, fl, yr, p)
    before = market_net + fixed + eff[Source.TRANSFERS]
    members = hh[i, Field.MEMBERS]
    before_pc = before * inv_members
    standard = yr[YearRow.DIBAO_STANDARD, t]
    wubao = fl[i, Flag.IS_WUBAO] != 0
    share = p[Param.MIN_PAYMENT_SHARE]
    if t == 0:
        # Dibao as recorded; weak households eligible but not enrolled declined (take-up).
        enrolled = fl[i, Flag.IS_DIBAO] != 0 and not wubao
        if fl[i, Flag.WEAK] and not enrolled and before_pc < standard:
            enrolled_base = False
        dibao = _dibao(before_pc, members, standard, enrolled, share)
        # Recorded transfers the rules do not explain: kept in yuan every year.
        other = hh[i, Field.TRANSFERS] - fixed - dibao
        income = before + dibao + other
    else:
        before += other
        cover = plan_from[i, PlanFrom.DIBAO] <= t and not wubao
        dibao = _dibao(before * inv_members, members, standard, enrolled_base or cover, share)
        income = before + dibao
    return income, market_net, ill, enrolled_base, other


@njit(**_JIT, inline="always")
def _exit_step(t, year, k_verify, registered, income_pc, market_net_pc, guaranteed, remaining,
               exited, above, below, line, p):  # fmt: skip
    """Exit and return on the income officials measure (rules of :mod:`.exits`)."""
    exits = False
    returns = False
    if t > 0 and t >= p[Param.FIRST_EXIT]:
        z = normal(k_verify, year * DRAWS_PER_YEAR) if registered else 0.0
        vs = p[Param.VERIFICATION_SIGMA]
        measured = income_pc + market_net_pc * (math.exp(vs * z - 0.5 * vs * vs) - 1.0)
        above = above + 1 if measured >= line * (1.0 + p[Param.EXIT_MARGIN]) else 0
        exits = remaining and above >= p[Param.STABLE_YEARS] and guaranteed
        below = below + 1 if measured < line and exited else 0
        returns = exited and below >= p[Param.RETURN_YEARS]
        if returns:
            below = 0
        remaining = (remaining and not exits) or returns
        exited = (exited or exits) and not returns
    return remaining, exited, above, below, exits, returns


@njit(**_JIT, inline="always")
def _household(i, hh, fl, yr, p, keys, crop_factor, price, plan, acc, village_sums, hh_income,
               hh_exited, base, mult, eff, works_ok, paths) -> None:  # fmt: skip
    """Every replication and year of household ``i``; sums added to ``acc[r, t, Stat]``.

    What does not depend on the replication (the effects' ramp-up bases) is computed once.
    ``village_sums[village, r, t]``; ``hh_income``/``hh_exited`` ``[t, i]`` get the household's
    sums over the replications (added up in ``paths[t, 0:2]`` first, replication order).
    """
    n_years = yr.shape[1]
    members = hh[i, Field.MEMBERS]
    inv_members = 1.0 / members
    registered = fl[i, Flag.REGISTERED] != 0
    hid = fl[i, Flag.HOUSEHOLD_ID]
    village_id = VILLAGE_KEY + fl[i, Flag.VILLAGE_ID]
    weak = fl[i, Flag.WEAK] != 0
    school = hh[i, Field.SCHOOL]
    guaranteed_from = plan[13][i, PlanFrom.GUARANTEES]
    ncms_from = plan[13][i, PlanFrom.NCMS]
    village = fl[i, Flag.VILLAGE]
    band = p[Param.BAND]
    first_year = np.int64(yr[YearRow.CALENDAR_YEAR, 0])
    keep_villages = village_sums.shape[0] > 0
    keep_households = hh_income.shape[1] > 0
    _effect_bases(i, n_years, plan[0], plan[2], plan[3], plan[1], plan[6], base)
    if keep_households:
        paths[:] = 0.0
    for r in range(keys.shape[0]):
        k_income = household_key(keys[r, Stream.INCOME], hid)
        k_ill = household_key(keys[r, Stream.ILLNESS], hid)
        k_verify = household_key(keys[r, Stream.VERIFICATION], hid)
        k_plan = household_key(keys[r, Stream.INTERVENTION], hid)
        k_village = household_key(keys[r, Stream.INTERVENTION], village_id)
        _draw_multipliers(i, k_plan, k_village, plan[0], plan[1], plan[4], plan[5], mult)
        _draw_works(i, k_village, plan[7], plan[8], plan[10], plan[11], works_ok)
        enrolled = fl[i, Flag.IS_DIBAO] != 0
        if weak and not enrolled:  # the take-up draw only where it decides (keyed draws)
            enrolled = uniform(k_income, first_year * DRAWS_PER_YEAR + 1) < p[Param.TAKE_UP]
        enrolled = enrolled and not fl[i, Flag.IS_WUBAO]
        remaining, exited, above, below, other = registered, False, 0, 0, 0.0
        for t in range(n_years):
            year = np.int64(yr[YearRow.CALENDAR_YEAR, t])
            income, market_net, ill, enrolled, other = _income(
                i, t, r, year, k_income, k_ill, works_ok, hh, fl, yr, p, crop_factor, price,
                plan, base, mult, eff, enrolled, other, inv_members,
            )  # fmt: skip
            income_pc = income * inv_members
            line = yr[YearRow.LINE, t]
            exits = returns = False
            if registered:  # an unregistered household never exits, so never returns
                remaining, exited, above, below, exits, returns = _exit_step(
                    t, year, k_verify, registered, income_pc, market_net * inv_members,
                    t >= guaranteed_from, remaining, exited, above, below, line, p,
                )  # fmt: skip
            # Out-of-pocket medical cost: only the at-risk test of households not remaining
            # uses it, so it is drawn only for them (draws are keyed by counter: skipping one
            # changes no other draw, and the sums are bit for bit the same).
            oop = 0.0
            if ill and not remaining:
                oop = _out_of_pocket(k_ill, year, t, registered, t >= ncms_from, yr, p)
            after_rigid_pc = (income - oop - school) * inv_members
            _accumulate(
                acc[r], t, members, registered, remaining, exits, exited, returns, income,
                income_pc, after_rigid_pc, line, band,
            )  # fmt: skip
            if keep_villages and remaining:
                village_sums[village, r, t] += members
            if keep_households:
                paths[t, 0] += income_pc
                paths[t, 1] += exited
    if keep_households:
        for t in range(n_years):
            hh_income[t, i] += paths[t, 0]
            hh_exited[t, i] += paths[t, 1]


@njit(**_JIT, parallel=True)
def run_segments(seg_start, hh, fl, yr, p, keys, crop_factor, price, plan, stats, village_sums,
                 hh_income, hh_exited, max_apps) -> None:  # fmt: skip
    """Simulate every segment (households ``seg_start[s]`` to ``seg_start[s+1]``), in parallel.

    ``stats[r, s, t, Stat]`` and ``hh_income``/``hh_exited`` ``[t, i]`` are added to in
    place; ``village_sums[thread, village, r, t]`` per thread (add over threads after).
    Within a segment, household by household (every replication of one household in turn, so
    what does not depend on the replication is computed once), households are added in order
    to a small table of the segment's sums (in the cache), written once per segment.
    """
    n_years = yr.shape[1]
    n_reps = keys.shape[0]
    work_ptr = plan[7]
    max_works = 1
    for i in range(work_ptr.size - 1):
        max_works = max(max_works, work_ptr[i + 1] - work_ptr[i])
    for s in prange(seg_start.size - 1):
        thread = numba.get_thread_id()
        base = np.empty((max(max_apps, 1), n_years))
        mult = np.empty(max(max_apps, 1))
        eff = np.empty(N_SOURCES)
        acc = np.zeros((n_reps, n_years, N_STATS))
        works_ok = np.empty(max_works, dtype=np.bool_)
        paths = np.empty((n_years, 2))
        for i in range(seg_start[s], seg_start[s + 1]):
            _household(
                i, hh, fl, yr, p, keys, crop_factor, price, plan, acc, village_sums[thread],
                hh_income, hh_exited, base, mult, eff, works_ok, paths,
            )  # fmt: skip
        stats[:, s] += acc

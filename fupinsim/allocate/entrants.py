"""Plans for the living registry's entrants (issue 10, item 4): the base registry's rules.

Households identified after the base year (:mod:`fupinsim.registry.living`) get a package by
the rules the base-year registry's households get (:mod:`.households`), without a new LP (the
exit targets stay on the base-year registry, as the plan writes them):

1. **Type** (:func:`fupinsim.allocate.yields.household_types`): county × village type ×
   labour class × income band, the band from the entry year's simulated income relative to
   that year's line.
2. **Package**: among the household packages the entrant is eligible for (the catalogue's
   eligibility and the §25 labour class), the one the plan gave most households of its type;
   when the plan gave its type nothing, of its county group and labour class; then of its
   labour class city-wide. No eligible package the plan uses: ``no_package``.
3. **Start**: the year after entry (identified on the year's income, supported from the next
   year), or, when the pools have no money left for it then, the next year they have (within
   the funding years); entered in ``funding.last_year`` or later, there is no plan money:
   ``after_plan`` (listed for the next plan).
4. **Money**: the package's fiscal cost per spend year with its guarantees and entitlements
   (:func:`~fupinsim.allocate.yields.household_cost_profile`), plus the pools' top-up of what
   the household cannot bear (:func:`~fupinsim.allocate.burden.household_burden`), is paid
   from the money the plan left unspent (the LP's ``unused_money``), the county's pool first,
   then the city's. Entrants are served in order of entry year, then lowest income; each pool
   pays for entrants in that order while its balance stays ≥ 0 in every year (carried
   forward, or each year's own money without carry-over); the rest: ``no_money``.

Loops run over packages and start years only; households are handled as arrays. No I/O.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from fupinsim import data
from fupinsim.allocate.burden import household_burden, package_term_income
from fupinsim.allocate.inputs import CITY_POOL
from fupinsim.allocate.yields import _compatible, household_cost_profile, household_types
from fupinsim.microsim import Catalogue
from fupinsim.microsim.plans import population_table
from fupinsim.microsim.population import build_population
from fupinsim.scenario import Scenario
from fupinsim.units import BASE_YEAR

__all__ = ["ENTRANT_PLAN_COLUMNS", "PLAN_REASONS", "plan_entrants"]

logger = logging.getLogger(__name__)

#: Outcome of an entrant's plan: a package, or why none.
PLAN_REASONS: tuple[str, ...] = ("planned", "no_package", "no_money", "after_plan")
#: Columns :func:`plan_entrants` returns (money in yuan per household over the plan years).
ENTRANT_PLAN_COLUMNS: tuple[str, ...] = (
    "household_id",
    "type_id",
    "plan_reason",
    "package_id",
    "start_year",
    "cost_fiscal_yuan",
    "pools_topup_yuan",
    "own_cash_yuan",
    "credit_yuan",
    "household_income_yuan",
    "term_income_yuan",
    "pool",
)
_BURDEN = ["topup", "own_cash", "credit", "term_income"]
_LEVELS = (["type_id"], ["county_id", "villages", "labour_class"], ["labour_class"])


def _types(
    entrants: pd.DataFrame, households: pd.DataFrame, income_pc: np.ndarray, scenario: Scenario
) -> pd.DataFrame:
    """Each entrant's type, its income band from the entry year's income (module doc)."""
    lines = scenario.policy_table().values["poverty_line"]
    line_of = dict(zip((int(y) for y in scenario.years), np.asarray(lines, float), strict=True))
    entry_line = entrants["entry_year"].map(line_of).to_numpy(dtype=float)
    frame = households.copy()
    frame["is_registered"] = True
    frame["support_class"] = entrants["support_class"].astype(str).to_numpy()
    frame["income_pc"] = income_pc * data.poverty_line(BASE_YEAR) / entry_line
    return household_types(frame, scenario.allocation.income_bands)


def _eligible_pairs(
    catalogue: Catalogue, table: dict[str, np.ndarray], labour_class: np.ndarray
) -> pd.DataFrame:
    """``row, package_id``: every household package each entrant is eligible for."""
    frames = []
    for package in (p for p in catalogue.packages.values() if p.level == "household"):
        mask = package.eligibility_mask(catalogue, table) & _compatible(
            package.target, labour_class
        )
        frames.append(pd.DataFrame({"row": np.flatnonzero(mask), "package_id": package.id}))
    if not frames:
        return pd.DataFrame({"row": pd.Series(dtype=np.int64), "package_id": pd.Series(dtype=str)})
    return pd.concat(frames, ignore_index=True)


def _choose(pairs: pd.DataFrame, types: pd.DataFrame, base_plan: pd.DataFrame) -> pd.Series:
    """The package per entrant row (module doc, step 2); rows without one are absent."""
    pairs = pairs.join(types.drop(columns="household_id"), on="row")
    keys = []
    for k, level in enumerate(_LEVELS):
        counts = base_plan.groupby([*level, "package_id"]).size().rename(f"n{k}")
        pairs = pairs.join(counts, on=[*level, "package_id"])
        pairs[f"n{k}"] = pairs[f"n{k}"].fillna(0)
        keys.append(f"n{k}")
    pairs = pairs[pairs[keys].sum(axis=1) > 0]
    pairs = pairs.sort_values(
        ["row", *keys, "package_id"], ascending=[True, False, False, False, True]
    )
    first = pairs.drop_duplicates("row")
    return first.set_index("row")["package_id"]


def _costs(
    catalogue: Catalogue,
    table: dict[str, np.ndarray],
    chosen: pd.DataFrame,
    income: np.ndarray,
    scenario: Scenario,
) -> tuple[np.ndarray, pd.DataFrame]:
    """Pools' money per entrant row and funding year ``(rows, years)``, and the burden."""
    years = np.arange(scenario.funding.first_year, scenario.funding.last_year + 1)
    pools = np.zeros((len(income), years.size))
    burden = pd.DataFrame(0.0, index=chosen.index, columns=_BURDEN)
    for (package_id, start_key), group in chosen.groupby(["package_id", "start_year"]):
        rows, start = group.index.to_numpy(), int(str(start_key))
        sub = {k: np.asarray(v)[rows] for k, v in table.items()}
        profile = household_cost_profile(
            catalogue,
            str(package_id),
            sub,
            start,
            scenario.funding.last_year,
            pools_pay_guarantees=scenario.allocation.pools_pay_guarantees,
        )
        first = profile[profile["spend_year"] == start].sort_values("row")
        term_income, financed = package_term_income(catalogue, str(package_id), sub)
        bear = household_burden(
            first["cost_household_yuan"].to_numpy(),
            first["cost_credit_yuan"].to_numpy(),
            financed,
            income[rows],
            term_income,
            scenario.allocation.max_household_cash_share,
        )
        wide = profile.pivot(index="row", columns="spend_year", values="cost_fiscal_yuan")
        fiscal = wide.reindex(columns=years, fill_value=0.0).to_numpy()
        fiscal[:, int(np.searchsorted(years, start))] += bear.topup
        pools[rows] = fiscal
        burden.loc[rows] = np.column_stack(
            [bear.topup, bear.own_cash, bear.credit, bear.term_income]
        )
    return pools, burden


def _fits(cost: np.ndarray, left: np.ndarray, carry: bool) -> np.ndarray:
    """Entrants (in priority order) a pool pays for: the prefix whose balance stays ≥ 0."""
    spent = np.cumsum(cost, axis=0)
    if carry:
        spent = np.cumsum(spent, axis=1)
    return np.asarray(np.logical_and.accumulate((spent <= left[None, :] + 1e-6).all(axis=1)))


def _pay(
    cost: np.ndarray, county: np.ndarray, order: np.ndarray, money: pd.DataFrame, carry: bool
) -> np.ndarray:
    """Pool (county, ``city`` or empty) paying each entrant row (module doc, step 4).

    ``money``: pools × funding years, what is left at each year's end (the carried balance
    with ``carry``, else the year's own money), lowered in place by what the entrants take;
    ``cost``: ``(rows, years)``; ``order``: the rows to pay, in priority order.
    """
    pool = np.full(len(cost), "", dtype=object)
    for name in [*dict.fromkeys(county[order]), CITY_POOL]:
        rows = order[pool[order] == ""]
        if name != CITY_POOL:
            rows = rows[county[rows] == name]
        if name not in money.index or not len(rows):
            continue
        paid = _fits(cost[rows], money.loc[name].to_numpy(dtype=float), carry)
        pool[rows[paid]] = name
        spent = cost[rows[paid]].sum(axis=0)
        money.loc[name] = money.loc[name].to_numpy() - (np.cumsum(spent) if carry else spent)
    return pool


def _money(unused: pd.DataFrame, years: np.ndarray) -> pd.DataFrame:
    """Pools × funding years of the plan's unused money (yuan)."""
    wide = unused.pivot_table(index="pool", columns="year", values="amount_yuan", aggfunc="sum")
    return wide.reindex(columns=years, fill_value=0.0).astype(float)


def plan_entrants(
    entrants: pd.DataFrame,
    households: pd.DataFrame,
    villages: pd.DataFrame,
    income_pc: np.ndarray,
    base_plan: pd.DataFrame,
    unused_money: pd.DataFrame,
    catalogue: Catalogue,
    scenario: Scenario,
) -> pd.DataFrame:
    """A plan, or the reason for none, for every entrant (module doc).

    Parameters
    ----------
    entrants:
        ``household_id, entry_year, support_class`` (the living registry's entrants).
    households, villages:
        The registry's rows of the entrants (any order) and its villages.
    income_pc:
        Each entrant's simulated mean per-capita net income in its entry year (yuan per
        person), in ``entrants`` order.
    base_plan:
        The base registry's plan: ``type_id, county_id, villages, labour_class, package_id``
        (catalogue package) per supported household.
    unused_money:
        ``pool, year, amount_yuan``: what the plan left unspent (the LP's ``unused_money``).

    Returns
    -------
    DataFrame
        :data:`ENTRANT_PLAN_COLUMNS`, one row per entrant in ``entrants`` order; money in yuan
        per household over the funding years (``cost_fiscal_yuan``: the pools' money, top-up
        included); ``package_id``, ``start_year`` and ``pool`` empty unless planned.
    """
    entrants = entrants.reset_index(drop=True)
    frame = households.set_index("household_id").loc[entrants["household_id"].to_numpy()]
    # Entrants are on the registry: its packages and entitlements are theirs (the catalogue's
    # eligibility reads ``is_registered``).
    frame = frame.reset_index().assign(is_registered=True)
    population = build_population(frame, villages)
    order = pd.Index(population.household_id).get_indexer(frame["household_id"])
    table = {k: np.asarray(v)[order] for k, v in population_table(population).items()}
    income_pc = np.asarray(income_pc, dtype=float)
    types = _types(entrants, frame, income_pc, scenario)
    chosen = _choose(
        _eligible_pairs(catalogue, table, types["labour_class"].to_numpy()), types, base_plan
    )
    package = pd.Series(chosen).reindex(range(len(entrants))).to_numpy(dtype=object)
    first = entrants["entry_year"].to_numpy(dtype=np.int64) + 1
    last = scenario.funding.last_year
    reason = np.where(first > last, "after_plan", "no_package").astype(object)
    reason[pd.notna(package) & (first <= last)] = "no_money"
    income = income_pc * frame["n_members"].to_numpy(dtype=float)
    years = np.arange(scenario.funding.first_year, last + 1)
    money = _money(unused_money, years)
    county = frame["county_id"].astype(str).to_numpy()
    pool = np.full(len(entrants), "", dtype=object)
    start = np.zeros(len(entrants), dtype=np.int64)
    cost = np.zeros((len(entrants), years.size))
    burden = pd.DataFrame(0.0, index=range(len(entrants)), columns=_BURDEN)
    # The year after entry, else the next year with money left (within the funding years).
    for delay in range(int(years.size)):
        can = (reason == "no_money") & (pool == "") & (first + delay <= last)
        if not can.any():
            break
        rows = np.flatnonzero(can)
        picked = pd.DataFrame({"package_id": package[rows], "start_year": first[rows] + delay})
        picked.index = rows
        here, extra = _costs(catalogue, table, picked, income, scenario)
        priority = np.lexsort((entrants["household_id"].to_numpy(), income_pc, first))
        paid = _pay(here, county, priority[can[priority]], money, scenario.funding.carry_over)
        now = paid != ""
        pool[now], start[now], cost[now] = paid[now], first[now] + delay, here[now]
        burden.loc[now] = extra.loc[np.flatnonzero(now)].to_numpy()
    planned = pool != ""
    reason[planned] = "planned"
    return _plan_frame(entrants, types, reason, package, start, cost, burden, income, pool)


def _plan_frame(
    entrants: pd.DataFrame,
    types: pd.DataFrame,
    reason: np.ndarray,
    package: np.ndarray,
    start: np.ndarray,
    cost: np.ndarray,
    burden: pd.DataFrame,
    income: np.ndarray,
    pool: np.ndarray,
) -> pd.DataFrame:
    """The :data:`ENTRANT_PLAN_COLUMNS` table (zero money, no package unless planned)."""
    planned = pool != ""
    out = pd.DataFrame(
        {
            "household_id": entrants["household_id"].to_numpy(dtype=np.int64),
            "type_id": types["type_id"].to_numpy(),
            "plan_reason": pd.Categorical(reason, categories=list(PLAN_REASONS)),
            "package_id": np.where(planned, package, ""),
            "start_year": pd.arrays.IntegerArray(start, ~planned),
            "cost_fiscal_yuan": np.where(planned, cost.sum(axis=1), 0.0),
            "pools_topup_yuan": np.where(planned, burden["topup"], 0.0),
            "own_cash_yuan": np.where(planned, burden["own_cash"], 0.0),
            "credit_yuan": np.where(planned, burden["credit"], 0.0),
            "household_income_yuan": income,
            "term_income_yuan": np.where(planned, burden["term_income"], 0.0),
            "pool": pool.astype(str),
        }
    )
    logger.info("entrants' plans: %s", out["plan_reason"].value_counts().to_dict())
    return out[list(ENTRANT_PLAN_COLUMNS)]

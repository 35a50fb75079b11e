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
   year); after ``funding.last_year`` there is no plan money: ``after_plan`` (listed for the
   next plan).
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
    "pool",
)
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
    burden = pd.DataFrame(0.0, index=chosen.index, columns=["topup", "own_cash", "credit"])
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
        burden.loc[rows] = np.column_stack([bear.topup, bear.own_cash, bear.credit])
    return pools, burden


def _fits(cost: np.ndarray, left: np.ndarray, carry: bool) -> np.ndarray:
    """Entrants (in priority order) a pool pays for: the prefix whose balance stays ≥ 0."""
    spent = np.cumsum(cost, axis=0)
    if carry:
        spent = np.cumsum(spent, axis=1)
    return np.asarray(np.logical_and.accumulate((spent <= left[None, :] + 1e-6).all(axis=1)))


def _pay(
    cost: np.ndarray,
    county: np.ndarray,
    order: np.ndarray,
    unused: pd.DataFrame,
    years: np.ndarray,
    carry: bool,
) -> np.ndarray:
    """Pool (county, ``city`` or empty) paying each entrant row (module doc, step 4).

    ``unused``: ``pool, year, amount_yuan``, the plan's money left at each year's end (the
    carried balance with ``carry``, else the year's lapsed money); ``cost``: ``(rows, years)``.
    """
    money = unused.pivot_table(index="pool", columns="year", values="amount_yuan", aggfunc="sum")
    money = money.reindex(columns=years, fill_value=0.0)
    pool = np.full(len(cost), "", dtype=object)
    for name in dict.fromkeys(county[order]):
        rows = order[county[order] == name]
        if name in money.index:
            paid = _fits(cost[rows], money.loc[name].to_numpy(dtype=float), carry)
            pool[rows[paid]] = name
    rest = order[pool[order] == ""]
    if CITY_POOL in money.index and len(rest):
        paid = _fits(cost[rest], money.loc[CITY_POOL].to_numpy(dtype=float), carry)
        pool[rest[paid]] = CITY_POOL
    return pool


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
    rows_of = households.set_index("household_id")
    frame = rows_of.loc[entrants["household_id"].to_numpy()].reset_index()
    population = build_population(frame, villages)
    order = pd.Index(population.household_id).get_indexer(frame["household_id"])
    table = {k: np.asarray(v)[order] for k, v in population_table(population).items()}
    types = _types(entrants, frame, np.asarray(income_pc, dtype=float), scenario)
    chosen = _choose(
        _eligible_pairs(catalogue, table, types["labour_class"].to_numpy()), types, base_plan
    )
    start = entrants["entry_year"].to_numpy(dtype=np.int64) + 1
    reason = np.where(start > scenario.funding.last_year, "after_plan", "no_package").astype(object)
    package = pd.Series(chosen).reindex(range(len(entrants))).to_numpy(dtype=object)
    can = pd.notna(package) & (reason != "after_plan")
    picked = pd.DataFrame(
        {"package_id": package[can], "start_year": start[can]}, index=np.flatnonzero(can)
    )
    income = np.asarray(income_pc, dtype=float) * frame["n_members"].to_numpy(dtype=float)
    cost, burden = _costs(catalogue, table, picked, income, scenario)
    years = np.arange(scenario.funding.first_year, scenario.funding.last_year + 1)
    priority = np.lexsort((entrants["household_id"].to_numpy(), income_pc, start))
    priority = priority[can[priority]]
    pool = _pay(
        cost,
        frame["county_id"].astype(str).to_numpy(),
        priority,
        unused_money,
        years,
        scenario.funding.carry_over,
    )
    reason[can] = "no_money"
    planned = pool != ""
    reason[planned] = "planned"
    money = np.where(planned, cost.sum(axis=1), 0.0)
    extra = burden.reindex(range(len(entrants)), fill_value=0.0)
    out = pd.DataFrame(
        {
            "household_id": entrants["household_id"].to_numpy(dtype=np.int64),
            "type_id": types["type_id"].to_numpy(),
            "plan_reason": pd.Categorical(reason, categories=list(PLAN_REASONS)),
            "package_id": np.where(planned, package, ""),
            "start_year": pd.array(np.where(planned, start, 0), dtype="Int64"),
            "cost_fiscal_yuan": money,
            "pools_topup_yuan": np.where(planned, extra["topup"], 0.0),
            "own_cash_yuan": np.where(planned, extra["own_cash"], 0.0),
            "credit_yuan": np.where(planned, extra["credit"], 0.0),
            "pool": pool.astype(str),
        }
    )
    out.loc[~planned, "start_year"] = pd.NA
    logger.info("entrants' plans: %s", out["plan_reason"].value_counts().to_dict())
    return out[list(ENTRANT_PLAN_COLUMNS)]

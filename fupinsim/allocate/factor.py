"""The factor-method baseline: how poverty money is usually shared out, for comparison.

Chinese provinces and cities distribute special poverty transfers to counties by a *factor
method*: a weighted sum of each county's share of the poor population, of poverty depth and of
(inverse) fiscal capacity, with a few percent for performance. This module reproduces that
rule and a simple within-county rule, so the optimised plan can be compared with what a city
would do without the LP.

1. **Split** (:func:`factor_shares`, :func:`factor_split`): every yuan of the city pool
   (provincial/central transfers, the city earmark, city idle funds, donations) goes to the
   counties in proportion to

   share_c = w_pop × pop_c / Σ pop + w_depth × depth_c / Σ depth
   + w_fiscal × (1 / revenue_c) / Σ (1 / revenue),

   with the weights of :class:`FactorWeights` (ESTIMATE 0.5 / 0.3 / 0.2: provincial formulas
   put about half the weight on the number of poor, the rest on depth and on fiscal
   difficulty; the exact Gansu weights were not found). County money stays where it is.
2. **Within a county** (:func:`factor_allocation`): year by year, the county's money (carried
   over if allowed) goes to its household types, poorest first (lowest ``income_band``; without
   bands, lowest baseline exit share), each type getting the *cheapest package that raises its
   exits* (positive yield over the baseline by the last target year), until money or a
   city-wide capacity runs out. The whole fiscal cost of a package is committed in its start
   year. Targets are not looked at: that is the point of the comparison. Each year has two
   passes: first each type (poorest first) gets the package with the highest exit yield
   while money lasts, then the households still without a package get the cheapest one
   that helps, so the method spends the money it has (issue 10: with only the cheapest
   package it left four fifths of the money unspent and was a strawman).

:func:`compare_allocations` puts any number of plans (the optimiser's, the factor method's)
side by side in one table.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from fupinsim.allocate.inputs import (
    CITY_POOL,
    CREDIT_RESOURCE,
    AllocationInputs,
    PreparedInputs,
    option_gains,
    prepare_inputs,
)
from fupinsim.allocate.results import project_exits, quota_costs, target_table
from fupinsim.errors import InputError

__all__ = [
    "FactorResult",
    "FactorWeights",
    "compare_allocations",
    "county_factors",
    "factor_allocation",
    "factor_shares",
    "factor_split",
]


@dataclass(frozen=True)
class FactorWeights:
    """Weights of the factor formula (shares that sum to 1).

    Attributes
    ----------
    poor_population:
        Weight of the county's share of registered poor (households). ESTIMATE 0.5.
    poverty_depth:
        Weight of the county's share of poverty depth (poverty gap, yuan). ESTIMATE 0.3.
    fiscal_capacity:
        Weight of the county's share of inverse revenue (poorer treasuries get more).
        ESTIMATE 0.2.
    """

    poor_population: float = 0.5
    poverty_depth: float = 0.3
    fiscal_capacity: float = 0.2

    def __post_init__(self) -> None:
        weights = (self.poor_population, self.poverty_depth, self.fiscal_capacity)
        if min(weights) < 0 or not math.isclose(sum(weights), 1.0, abs_tol=1e-9):
            raise InputError.single(
                "factor weights",
                weights,
                "must be >= 0 and sum to 1 (poor_population, poverty_depth, fiscal_capacity)",
            )


@dataclass(frozen=True)
class FactorResult:
    """The factor-method plan, in the optimiser's table shapes.

    Attributes
    ----------
    shares:
        ``county_id, share, poor_population, poverty_depth, fiscal_capacity`` (the factor
        share and its three parts, each a share 0-1 before weighting).
    funding:
        The funding table after the split (every pool a county).
    quotas:
        As :attr:`AllocationResult.quotas` (``pool_city_yuan`` is 0: the city keeps nothing).
    allocation:
        As :attr:`AllocationResult.allocation`.
    shortfall:
        ``county_id, villages, year, target_exits, projected_exits, missing_exits, met``.
    unused_money:
        ``pool, year, amount_yuan`` not committed by the end of the year.
    """

    shares: pd.DataFrame
    funding: pd.DataFrame
    quotas: pd.DataFrame
    allocation: pd.DataFrame
    shortfall: pd.DataFrame
    unused_money: pd.DataFrame


def county_factors(
    data: PreparedInputs,
    revenue: pd.DataFrame,
    poverty_gap: pd.DataFrame | None = None,
    year: int | None = None,
) -> pd.DataFrame:
    """The three factors per county.

    Parameters
    ----------
    data:
        Prepared allocation inputs (household types give the poor population).
    revenue:
        The ``revenue`` table of :func:`fupinsim.funding.build_funding` (``level, year,
        revenue_yuan``).
    poverty_gap:
        ``county_id, poverty_gap_yuan`` (e.g. the microsimulation's base-year poverty gap).
        Without it, depth is proxied by the households **not** expected to exit without
        support by the last target year (Σ n × (1 − baseline exit share)).
    year:
        Revenue year used for fiscal capacity; default the first funding year.

    Returns
    -------
    DataFrame
        ``county_id, poor_population`` (households), ``poverty_depth`` (yuan, or households for
        the proxy), ``revenue_yuan``.
    """
    types = data.types
    pop = types.groupby("county_id", sort=False)["n_households"].sum().rename("poor_population")
    if poverty_gap is None:
        final = data.final_year
        base = data.baseline[data.baseline["year"] == final].merge(types, on="type_id")
        base["stuck"] = base["n_households"] * (1.0 - base["exit_prob"])
        depth = base.groupby("county_id", sort=False)["stuck"].sum().rename("poverty_depth")
    else:
        depth = poverty_gap.set_index("county_id")["poverty_gap_yuan"].rename("poverty_depth")
    year = year or min(data.years)
    rev = revenue[revenue["year"] == year].set_index("level")["revenue_yuan"]
    table = pd.concat([pop, depth], axis=1).reindex(pop.index)
    table["revenue_yuan"] = rev.reindex(table.index)
    missing = table.index[table.isna().any(axis=1)].tolist()
    if missing:
        raise InputError.single(
            "county factors",
            missing,
            "every county with households needs poverty depth and revenue",
        )
    return table.rename_axis("county_id").reset_index()


def factor_shares(factors: pd.DataFrame, weights: FactorWeights | None = None) -> pd.DataFrame:
    """Each county's share of the city money under the factor formula.

    Parameters
    ----------
    factors:
        ``county_id, poor_population, poverty_depth, revenue_yuan`` (see
        :func:`county_factors`).
    weights:
        Formula weights; default :class:`FactorWeights()`.

    Returns
    -------
    DataFrame
        ``county_id, share`` (sums to 1) and the three unweighted part shares.
    """
    weights = weights or FactorWeights()
    pop = factors["poor_population"] / factors["poor_population"].sum()
    depth = factors["poverty_depth"] / factors["poverty_depth"].sum()
    inverse = 1.0 / factors["revenue_yuan"]
    fiscal = inverse / inverse.sum()
    share = (
        weights.poor_population * pop
        + weights.poverty_depth * depth
        + weights.fiscal_capacity * fiscal
    )
    return pd.DataFrame(
        {
            "county_id": factors["county_id"],
            "share": share,
            "poor_population": pop,
            "poverty_depth": depth,
            "fiscal_capacity": fiscal,
        }
    )


def factor_split(funding: pd.DataFrame, shares: pd.DataFrame) -> pd.DataFrame:
    """Pass every city-pool yuan to the counties by their factor shares.

    Parameters
    ----------
    funding:
        ``pool, source, year, amount_yuan``.
    shares:
        ``county_id, share`` (from :func:`factor_shares`).

    Returns
    -------
    DataFrame
        The same columns, with no ``city`` rows left; each city row becomes one row per
        county with ``amount × share`` (same source and year). Totals are unchanged.
    """
    city = funding[funding["pool"] == CITY_POOL]
    rest = funding[funding["pool"] != CITY_POOL]
    spread = city.drop(columns="pool").merge(
        shares[["county_id", "share"]].rename(columns={"county_id": "pool"}), how="cross"
    )
    spread["amount_yuan"] = spread["amount_yuan"] * spread["share"]
    spread = spread.drop(columns="share")[list(funding.columns)]
    merged = pd.concat([rest, spread], ignore_index=True)
    keys = [c for c in funding.columns if c != "amount_yuan"]
    return merged.groupby(keys, sort=False)["amount_yuan"].sum().reset_index()


def _cheapest_packages(data: PreparedInputs) -> dict[str, str]:
    """For each type, the cheapest package with a positive yield by the last target year."""
    return _packages_by(data, ["cost_fiscal_yuan"], [True])


def _best_packages(data: PreparedInputs) -> dict[str, str]:
    """For each type, the package with the highest exit yield by the last target year (the
    cheaper of equals): what a county gives its poorest households while money lasts."""
    return _packages_by(data, ["gain", "cost_fiscal_yuan"], [False, True])


def _packages_by(data: PreparedInputs, by: list[str], ascending: list[bool]) -> dict[str, str]:
    first = min(data.years)
    gains = option_gains(data, [data.final_year])
    opts = data.options.merge(gains, on=["type_id", "package_id", "start_year"])
    opts = opts[(opts["gain"] > 0) & (opts["start_year"] == first)]
    opts = opts.sort_values(["type_id", *by, "package_id"], ascending=[True, *ascending, True])
    return dict(opts.groupby("type_id")["package_id"].first())


def _priority(data: PreparedInputs) -> pd.DataFrame:
    types = data.types.copy()
    if "income_band" in types.columns:
        types["order"] = pd.to_numeric(types["income_band"], errors="coerce")
    else:
        base = data.baseline[data.baseline["year"] == data.final_year]
        types["order"] = types["type_id"].map(base.set_index("type_id")["exit_prob"])
    return types.sort_values(["county_id", "order", "type_id"], ignore_index=True)


@dataclass
class _FactorState:
    """Money, capacity and households left while the factor method hands out packages."""

    fiscal: dict[tuple[str, str, int], float]
    credit: dict[tuple[str, str, int], float]
    use: pd.DataFrame
    capacity_left: dict[tuple[str, int], float]
    credit_capped: bool
    remaining: dict[str, float]
    eligible_left: dict[tuple[str, str], float]
    left: dict[str, float]
    quotas: list[tuple[str, str, int, float]]

    @classmethod
    def start(cls, data: PreparedInputs) -> _FactorState:
        options = data.options
        keys = list(
            zip(options["type_id"], options["package_id"], options["start_year"], strict=True)
        )
        capacity_left = {
            (str(r), int(y)): float(u) for r, y, u in data.capacity.itertuples(index=False)
        }
        use = data.capacity_use
        return cls(
            fiscal=dict(zip(keys, options["cost_fiscal_yuan"].astype(float), strict=True)),
            credit=dict(zip(keys, options["cost_credit_yuan"].astype(float), strict=True)),
            use=use,
            capacity_left=capacity_left,
            credit_capped=CREDIT_RESOURCE in {r for r, _ in capacity_left}
            and CREDIT_RESOURCE not in set(use["resource"]),
            remaining=dict(zip(data.types["type_id"], data.types["n_households"], strict=True)),
            eligible_left={
                (str(t), str(p)): float(n)
                for t, p, n in options.groupby(["type_id", "package_id"], as_index=False)[
                    "n_eligible"
                ]
                .max()
                .itertuples(index=False)
            },
            left=dict.fromkeys(data.counties, 0.0),
            quotas=[],
        )

    def give(self, type_id: str, county: str, package: str | None, year: int) -> None:
        """As many of the type's households as money and capacity allow get ``package``."""
        key = (type_id, str(package), year)
        if package is None or key not in self.fiscal or self.remaining[type_id] <= 0:
            return
        cost = self.fiscal[key]
        room = min(self.remaining[type_id], self.eligible_left.get((type_id, str(package)), 0.0))
        n = room if cost <= 0 else min(room, self.left[county] / cost)
        per_household = [
            (str(r), float(u)) for p, r, u in self.use.itertuples(index=False) if p == package
        ]
        if self.credit_capped:
            per_household.append((CREDIT_RESOURCE, self.credit[key]))
        for resource, units in per_household:
            cap = self.capacity_left.get((resource, year))
            if cap is not None and units > 0:
                n = min(n, cap / units)
        if n <= 1e-9:
            return
        for resource, units in per_household:
            if (resource, year) in self.capacity_left:
                self.capacity_left[(resource, year)] -= n * units
        self.left[county] -= n * cost
        self.remaining[type_id] -= n
        self.eligible_left[(type_id, str(package))] -= n
        self.quotas.append((type_id, str(package), year, n))


def factor_allocation(
    inputs: AllocationInputs | PreparedInputs,
    shares: pd.DataFrame,
    *,
    carry_over: bool = True,
) -> FactorResult:
    """Plan by the factor method and the poorest-first, cheapest-package rule.

    Parameters
    ----------
    inputs:
        The same inputs the optimiser takes (the city pool is split here).
    shares:
        ``county_id, share`` from :func:`factor_shares`.
    carry_over:
        Uncommitted county money may be used in later years.

    Returns
    -------
    FactorResult
    """
    data = inputs if isinstance(inputs, PreparedInputs) else prepare_inputs(inputs)
    split = factor_split(_with_source(data.money), shares)
    money = split.groupby(["pool", "year"])["amount_yuan"].sum()
    state = _FactorState.start(data)
    order = _priority(data)
    # Two passes a year: the best package for the poorest while money lasts, then the
    # cheapest package that helps for the households still without one (so the money is spent).
    passes = (_best_packages(data), _cheapest_packages(data))
    unused: list[tuple[str, int, float]] = []
    for year in data.years:
        for county in state.left:
            state.left[county] = (state.left[county] if carry_over else 0.0) + float(
                money.get((county, year), 0.0)
            )
        for package_of in passes:
            for type_id, county in zip(order["type_id"], order["county_id"], strict=True):
                state.give(type_id, county, package_of.get(type_id), year)
        unused.extend((county, year, max(0.0, amount)) for county, amount in state.left.items())
    quotas = state.quotas

    plan = pd.DataFrame(quotas, columns=["type_id", "package_id", "start_year", "households"])
    plan = quota_costs(data, plan)
    plan["pool_city_yuan"] = 0.0
    plan["pool_county_yuan"] = plan["fiscal_yuan"]
    allocation = (
        plan.rename(columns={"start_year": "year"})
        .groupby(["county_id", "villages", "year", "package_id"], as_index=False)[
            [
                "households",
                "fiscal_yuan",
                "credit_yuan",
                "household_yuan",
                "pool_city_yuan",
                "pool_county_yuan",
            ]
        ]
        .sum()
    )
    return FactorResult(
        shares=shares.reset_index(drop=True),
        funding=split,
        quotas=plan,
        allocation=allocation,
        shortfall=target_table(data, plan),
        unused_money=pd.DataFrame(unused, columns=["pool", "year", "amount_yuan"]),
    )


def _with_source(money: pd.DataFrame) -> pd.DataFrame:
    out = money.copy()
    out.insert(1, "source", "all")
    return out


def compare_allocations(
    inputs: AllocationInputs | PreparedInputs,
    plans: Mapping[str, pd.DataFrame],
    p_all_targets_met: Mapping[str, float] | None = None,
) -> pd.DataFrame:
    """One table comparing plans: exits by year, cost and missed targets.

    Parameters
    ----------
    inputs:
        The allocation inputs (yields and targets).
    plans:
        Method name → quotas (``type_id, package_id, start_year, households``), e.g.
        ``{"optimised": result.quotas, "factor": factor.quotas}``.
    p_all_targets_met:
        Method name → probability that every target is met (from the microsimulation of
        each plan); NaN where not given.

    Returns
    -------
    DataFrame
        ``method, exits_<year>`` for each target year (expected cumulative exits, all groups),
        ``households_supported, cost_fiscal_yuan, cost_credit_yuan, cost_household_yuan,
        missing_exits`` (summed over targets), ``targets_missed, p_all_targets_met``.
    """
    data = inputs if isinstance(inputs, PreparedInputs) else prepare_inputs(inputs)
    years = sorted(int(y) for y in data.targets["year"].unique())
    rows = []
    for method, quotas in plans.items():
        costed = quota_costs(data, quotas)
        exits = project_exits(data, costed, years).groupby("year")["projected_exits"].sum()
        targets = target_table(data, costed)
        row: dict[str, object] = {"method": method}
        row.update({f"exits_{y}": float(exits.get(y, np.nan)) for y in years})
        row.update(
            {
                "households_supported": float(costed["households"].sum()),
                "cost_fiscal_yuan": float(costed["fiscal_yuan"].sum()),
                "cost_credit_yuan": float(costed["credit_yuan"].sum()),
                "cost_household_yuan": float(costed["household_yuan"].sum()),
                "missing_exits": float(targets["missing_exits"].sum()),
                "targets_missed": int((~targets["met"]).sum()),
                "p_all_targets_met": float((p_all_targets_met or {}).get(method, np.nan)),
            }
        )
        rows.append(row)
    return pd.DataFrame(rows)

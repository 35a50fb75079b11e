"""Village works the plan sets for its poor villages, and their costs (pipeline stage 1)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from fupinsim.microsim import Catalogue
from fupinsim.registry import Registry
from fupinsim.scenario import Scenario

__all__ = [
    "DRAW_COLUMNS",
    "village_works_plan",
    "village_works_table",
    "works_draws",
]

#: Village column that says the village has the work, the package, its plan year (offset
#: from the first plan year) and whether only immigrant villages get it: cooperative and
#: e-commerce point (§6(5), §6(3)) and mutual-aid fund (§12) in the first year; a hardened
#: road (§7(2)), a clinic (§9: all poor villages by 2017) and a culture room in immigrant
#: villages (§10) in the second. Bus service, tap water, power and broadband (§7) have no
#: sourced cost per village in the data and stay outside the works plan.
_WORKS: tuple[tuple[str, str, int, bool], ...] = (
    ("has_cooperative", "village_market", 0, False),
    ("has_mutual_aid_fund", "village_mutual_aid", 0, False),
    ("has_paved_road", "village_road", 1, False),
    ("has_clinic", "village_clinic", 1, False),
    ("has_culture_room", "village_culture_room", 1, True),
)
_WORKS_COLUMNS = [
    "village_id",
    "village_name",
    "county_id",
    "package_id",
    "start_year",
    "cost_fiscal_yuan",
    "cost_credit_yuan",
    "cost_household_yuan",
]


def village_works_plan(registry: Registry, scenario: Scenario) -> pd.DataFrame:
    """Village works the plan sets for its poor villages (``village_id, package_id, start_year``).

    Rules from the plan: every poor village gets a cooperative and e-commerce point where it has
    no cooperative (§6(5), §6(3)) and a mutual-aid fund where it has none (§12) in the first
    plan year; a hardened road (§7(2)) and a clinic (§9) where it has none, and an immigrant
    village a culture room (§10), in the second. Their fiscal cost draws on the same pools as
    the households' packages (:func:`works_draws`).
    """
    villages = registry.villages
    poor = villages[villages["is_poor_village"].to_numpy(dtype=bool)]
    first = scenario.funding.first_year
    rows = []
    for column, package, offset, immigrant_only in _WORKS:
        lacking = poor[~poor[column].to_numpy(dtype=bool)]
        if immigrant_only:
            lacking = lacking[lacking["is_immigrant"].to_numpy(dtype=bool)]
        rows.append(
            pd.DataFrame(
                {
                    "village_id": lacking["village_id"].to_numpy(),
                    "package_id": package,
                    "start_year": first + offset,
                }
            )
        )
    return pd.concat(rows, ignore_index=True)


def village_works_table(
    plan: pd.DataFrame, registry: Registry, catalogue: Catalogue
) -> pd.DataFrame:
    """Village works with their village, county and cost by payer (yuan per village)."""
    costs = pd.DataFrame(
        [
            {
                "package_id": pid,
                **{f"cost_{k}_yuan": v for k, v in catalogue.package_cost(pid).items()},
            }
            for pid in plan["package_id"].unique()
        ],
        columns=["package_id", "cost_fiscal_yuan", "cost_credit_yuan", "cost_household_yuan"],
    )
    villages = registry.villages[["village_id", "village_name", "county_id"]]
    table = plan.merge(villages, on="village_id", how="left").merge(costs, on="package_id")
    return table[_WORKS_COLUMNS].astype({"county_id": str})


#: Columns :func:`works_draws` adds to the village works table (yuan).
DRAW_COLUMNS = ("pool_county_yuan", "pool_city_yuan", "unfunded_yuan")


def works_draws(works: pd.DataFrame, funding: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Village works paid from the same pools as the households' packages (fixed draws).

    Each county's works of a start year are paid first from the county's pool of that year, the
    rest from the city pool of that year (counties in the order of the data), as far as the
    money arriving that year goes; what is left is ``unfunded_yuan`` (reported, not paid).

    Parameters
    ----------
    works:
        :func:`village_works_table` (``county_id, start_year, cost_fiscal_yuan`` used).
    funding:
        ``pool, [source,] year, amount_yuan``: money arriving (yuan).

    Returns
    -------
    (works, money):
        The works with :data:`DRAW_COLUMNS` (shared over a county-year's works in proportion
        to their cost), and ``pool, year, amount_yuan``: the money left for the packages.
    """
    sums = funding.groupby(["pool", "year"])["amount_yuan"].sum()
    left = {(str(p), int(y)): float(a) for (p, y), a in zip(sums.index, sums.tolist(), strict=True)}
    out = works.copy()
    for column in DRAW_COLUMNS:
        out[column] = 0.0
    cost = out["cost_fiscal_yuan"].to_numpy(dtype=float)
    due = out.groupby(["county_id", "start_year"], sort=False)["cost_fiscal_yuan"].sum()
    for (county, year), total in zip(due.index.tolist(), due.tolist(), strict=True):
        rows = (out["county_id"] == county).to_numpy() & (out["start_year"] == year).to_numpy()
        remaining = float(total)
        paid: dict[str, float] = {}
        for pool, column in ((str(county), "pool_county_yuan"), ("city", "pool_city_yuan")):
            key = (pool, int(year))
            take = min(remaining, max(left.get(key, 0.0), 0.0))
            if key in left:
                left[key] -= take
            remaining -= take
            paid[column] = take
        paid["unfunded_yuan"] = remaining
        share = cost[rows] / total if total > 0 else np.zeros(int(rows.sum()))
        for column, amount in paid.items():
            out.loc[rows, column] = share * amount
    money = pd.DataFrame(
        [(p, y, a) for (p, y), a in left.items()], columns=["pool", "year", "amount_yuan"]
    )
    return out, money

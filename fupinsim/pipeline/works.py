"""Village works the plan sets for its poor villages, and their costs (pipeline stage 1)."""

from __future__ import annotations

import pandas as pd

from fupinsim.microsim import Catalogue
from fupinsim.registry import Registry
from fupinsim.scenario import Scenario

__all__ = ["village_works_plan", "village_works_table"]

#: Village column that says the village has the work, the package and its plan year (offset
#: from the first plan year): cooperative and e-commerce point (§6(5), §6(3)) and mutual-aid
#: fund (§12) in the first year, a hardened road (§7(2)) in the second.
_WORKS: tuple[tuple[str, str, int], ...] = (
    ("has_cooperative", "village_market", 0),
    ("has_mutual_aid_fund", "village_mutual_aid", 0),
    ("has_paved_road", "village_road", 1),
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
    plan year; a hardened road where it has none in the second (§7(2)). Financed by sector
    programmes and village funds, outside the household pools (reported with their costs).
    """
    villages = registry.villages
    poor = villages[villages["is_poor_village"].to_numpy(dtype=bool)]
    first = scenario.funding.first_year
    rows = []
    for column, package, offset in _WORKS:
        lacking = poor[~poor[column].to_numpy(dtype=bool)]
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

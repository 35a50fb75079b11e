"""A toy allocation (2 counties, 2 packages, 2 years) whose optimum is computed by hand.

Counties ``a`` and ``b`` have one household type each (``ta``, ``tb``, 100 households).
Nobody exits without support (baseline yield 0). Packages, by start year:

=========  =====================  ==================  ==================
package    exit share once begun  cost if begun 2015  cost if begun 2016
=========  =====================  ==================  ==================
``p1``     0.5                    1,000 yuan          900 yuan
``p2``     0.8                    2,000 yuan          1,800 yuan
=========  =====================  ==================  ==================

Targets (cumulative exits): a 30 by 2015 and 60 by 2016; b 40 by 2016.

**Least-cost optimum with ample money** (198,000 yuan). County a needs 30 exits in 2015 and
60 in 2016 from only 100 households. Guess the basis {p1 from 2015, p1 from 2016, p2 from
2016}, with the 2015 target, the 2016 target and the household row binding. With duals y15,
y16 (yuan per required exit) and μ (yuan per extra household), a basic variable has zero
reduced cost:

* p1/2016: 900 + μ = 0.5 y16; p2/2016: 1800 + μ = 0.8 y16  ⇒  y16 = 3,000, μ = 600;
* p1/2015: 1000 + μ = 0.5 (y15 + y16)  ⇒  y15 = 200;
* check p2/2015: 2000 + 600 − 0.8 × 3,200 = 40 ≥ 0, so the basis is optimal.

Primal: 60 households on p1 from 2015 (30 exits in 2015), then 0.5 u + 0.8 v = 30 and
u + v = 40 ⇒ u = 20/3 on p1/2016, v = 100/3 on p2/2016. Cost 60,000 + 6,000 + 60,000 =
126,000. County b: the household row is slack (μ = 0), the cheapest exit is p1/2016 at
900 / 0.5 = 1,800 yuan ⇒ 80 households, 72,000 yuan, y = 1,800 (p2/2016 costs 1,800 − 0.8 ×
1,800 = 360 more; p1/2015 100 more). Total 198,000.

**Shortfall case**: b's pool holds 36,000 yuan (2016 only): 40 households on p1/2016 give 20
exits, 20 short. Closing the gap needs 20 × 1,800 = 36,000 yuan more in b's pool by 2016. a's
pool keeps 874,000 unused yuan that it may not give to b.
"""

from __future__ import annotations

import pandas as pd

from fupinsim.allocate import AllocationInputs

OPTIMAL_COST = 198_000.0
DUALS = {("a", "all", 2015): 200.0, ("a", "all", 2016): 3_000.0, ("b", "all", 2016): 1_800.0}
HOUSEHOLD_DUAL_A = -600.0  # a <= row: one more household would save 600 yuan


def toy_yields(counties: tuple[str, ...] = ("a", "b"), n_households: float = 100) -> pd.DataFrame:
    rows = []
    for county in counties:
        type_id = f"t{county}"
        for year in (2015, 2016):
            rows.append((type_id, county, "all", n_households, "none", 0, year, 0.0))
        for package, share in (("p1", 0.5), ("p2", 0.8)):
            for start in (2015, 2016):
                for year in (2015, 2016):
                    value = share if year >= start else 0.0
                    rows.append((type_id, county, "all", n_households, package, start, year, value))
    columns = [
        "type_id",
        "county_id",
        "villages",
        "n_households",
        "package_id",
        "start_year",
        "year",
        "exit_prob",
    ]
    return pd.DataFrame(rows, columns=columns)


def toy_costs() -> pd.DataFrame:
    return pd.DataFrame(
        [
            ("p1", 2015, 1_000.0, 0.0, 0.0),
            ("p1", 2016, 900.0, 0.0, 0.0),
            ("p2", 2015, 2_000.0, 0.0, 0.0),
            ("p2", 2016, 1_800.0, 0.0, 0.0),
        ],
        columns=[
            "package_id",
            "start_year",
            "cost_fiscal_yuan",
            "cost_credit_yuan",
            "cost_household_yuan",
        ],
    )


def toy_inputs(
    money: dict[tuple[str, int], float] | None = None,
    *,
    targets: list[tuple[str, str, int, float]] | None = None,
    counties: tuple[str, ...] = ("a", "b"),
    n_households: float = 100,
    capacity_use: pd.DataFrame | None = None,
    capacity: pd.DataFrame | None = None,
) -> AllocationInputs:
    """The toy; default money is ample (1,000,000 yuan in a's pool in 2015 and b's in 2016)."""
    money = money or {("a", 2015): 1e6, ("b", 2016): 1e6}
    funding = pd.DataFrame(
        [(pool, "earmark", year, amount) for (pool, year), amount in money.items()],
        columns=["pool", "source", "year", "amount_yuan"],
    )
    if not ((funding["year"] == 2015).any() and (funding["year"] == 2016).any()):
        extra = pd.DataFrame(
            [("city", "earmark", 2015, 0.0), ("city", "earmark", 2016, 0.0)],
            columns=funding.columns,
        )
        funding = pd.concat([funding, extra], ignore_index=True)
    targets = targets or [("a", "all", 2015, 30), ("a", "all", 2016, 60), ("b", "all", 2016, 40)]
    target_table = pd.DataFrame(
        [t for t in targets if t[0] in counties],
        columns=["county_id", "villages", "year", "target_exits"],
    )
    return AllocationInputs(
        yields=toy_yields(counties, n_households),
        funding=funding,
        targets=target_table,
        package_costs=toy_costs(),
        capacity_use=capacity_use,
        capacity=capacity,
    )


SHORT_MONEY = {("a", 2015): 1e6, ("b", 2016): 36_000.0}

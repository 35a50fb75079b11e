"""What a re-plan shows: the tables and figures of a what-if result."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd
from matplotlib.figure import Figure

from fupinsim import assess, plots
from fupinsim.units import YUAN_PER_WAN

if TYPE_CHECKING:
    from fupinsim.widgets.whatif import WhatIfResult


def _wan(values: pd.Series) -> pd.Series:
    return (values / YUAN_PER_WAN).round(0).astype(int)


def _p_met_table(tp: pd.DataFrame) -> pd.DataFrame:
    """P(target met) in % by target group and year; the plan's goals beyond exit counts (one
    year each) are named by what they count, their other years blank."""
    kinds = tp["target"].astype(str) if "target" in tp else pd.Series("exits", index=tp.index)
    p_met = tp.assign(
        target=[
            assess.group_label(c, v) if k == "exits" else f"{k.replace('_', ' ')} (plan goal)"
            for c, v, k in zip(tp["county_id"], tp["villages"], kinds, strict=True)
        ]
    ).pivot_table(index="target", columns="year", values="p_met", sort=False)
    p_met = (p_met * 100).round(0).astype("Int64")
    p_met.columns.name = "P(target met), %"
    return p_met


def what_if_tables(result: WhatIfResult) -> dict[str, pd.DataFrame]:
    """Tables a planner reads after a re-plan (money in 万元, shares in %).

    ``summary`` (one column of headline numbers), ``money`` (pool × year), ``allocation``
    (package × county, households), ``shortfall`` (targets missed and the money that would
    close each), ``p_met`` (target group × year, %).
    """
    funding = result.funding.funding
    alloc = result.allocation.result
    shortfall = alloc.shortfall
    tp = result.simulation.target_probability
    tp = tp[tp["year"].isin(result.setup.plan_years)]
    required = result.scenario.allocation.required_confidence

    money = funding.assign(pool=[assess.county_label(p, short=True) for p in funding["pool"]])
    money = money.pivot_table(
        index="pool", columns="year", values="amount_yuan", aggfunc="sum", sort=False
    )
    money["2015-2017"] = money.sum(axis=1)
    money.loc["all pools"] = money.sum()
    money = (money / YUAN_PER_WAN).round(0).astype(int)
    money.columns.name = "money, 万元"

    table = alloc.allocation.assign(
        county=[assess.county_label(c, short=True) for c in alloc.allocation["county_id"]],
        package=[assess.package_label(p) for p in alloc.allocation["package_id"]],
    )
    allocation = table.pivot_table(
        index="package", columns="county", values="households", aggfunc="sum", fill_value=0
    )
    allocation["all counties"] = allocation.sum(axis=1)
    allocation = allocation.round(0).astype(int)
    allocation.columns.name = "households given a package"

    missed = shortfall[shortfall["missing_exits"] > 0]
    gaps = pd.DataFrame(
        {
            "target": [
                assess.group_label(c, v)
                for c, v in zip(missed["county_id"], missed["villages"], strict=True)
            ],
            "year": missed["year"].astype(int),
            "missing exits, households": missed["missing_exits"].round(0).astype(int),
            "money to close, 万元": (missed["extra_yuan_to_close"] / YUAN_PER_WAN).round(1),
            "what binds": missed["binding_resource"],
        }
    ).set_index(["target", "year"])

    p_met = _p_met_table(tp)
    p_all = float(result.simulation.meta["p_all_targets_met"])
    summary = pd.Series(
        {
            "money available 2015-2017, 万元": round(funding["amount_yuan"].sum() / YUAN_PER_WAN),
            "fiscal money the plan spends, 万元": round(
                alloc.allocation["fiscal_yuan"].sum() / YUAN_PER_WAN
            ),
            "households given a package": round(alloc.allocation["households"].sum()),
            "targets missed (planned)": int((shortfall["missing_exits"] > 0).sum()),
            "missing exits (planned), households": round(shortfall["missing_exits"].sum()),
            f"targets with P(met) below {required:.0%}": int((tp["p_met"] < required).sum()),
            "P(all targets met), %": round(100 * p_all),
        },
        name=result.scenario.id,
    ).to_frame()
    summary.index.name = f"what-if ({result.scenario.allocation.objective})"
    return {
        "summary": summary,
        "money": money,
        "allocation": allocation,
        "shortfall": gaps,
        "p_met": p_met,
    }


def what_if_figures(result: WhatIfResult) -> dict[str, Figure]:
    """Figures after a re-plan (:mod:`fupinsim.plots`): money by pool, allocation, shortfall,
    P(target met) and the fan chart of poor households remaining."""
    alloc = result.allocation.result
    required = result.scenario.allocation.required_confidence
    sim = result.simulation
    return {
        "money": plots.funding_chart(result.funding.funding, allocation=alloc.allocation),
        "allocation": plots.allocation_chart(alloc.allocation),
        "shortfall": plots.shortfall_chart(alloc.shortfall),
        "p_met": plots.p_met_heatmap(sim.target_probability, required_confidence=required),
        "fan_chart": plots.fan_chart_remaining(
            sim.county_year,
            result.setup.targets,
            target_probability=sim.target_probability,
            required_confidence=required,
        ),
    }


#: Order of the control groups on the panel, with their headings.
GROUPS: dict[str, str] = {
    "money": "Money",
    "capacity": "Capacities",
    "targets": "Targets and objective",
    "model": "Model (recomputes the exit yields: up to a minute)",
}
#: The views the panel redraws, in order: tables first, then figures.
VIEWS: tuple[str, ...] = (
    "summary",
    "money",
    "allocation",
    "shortfall",
    "p_met",
    "fig:money",
    "fig:allocation",
    "fig:shortfall",
    "fig:p_met",
    "fig:fan_chart",
)

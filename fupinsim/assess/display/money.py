"""Money and allocation display tables (notebook 03; the shortfalls also in ``report.html``).

Money is shown in 万元 (wan yuan, 10,000 yuan; whole numbers) unless a label says yuan;
households as whole numbers (the LP's households may have decimals: they are rounded here).
:func:`shortfall_rows` is the one source of the shortfall table that the report renders and
:func:`display_shortfalls` labels for a notebook: what binds is :func:`binds_sentence`, what to
do the run's first recommendation for the target.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from functools import cache
from typing import TYPE_CHECKING, Any

import pandas as pd

from fupinsim.assess.display.absent import shown_if_in_run
from fupinsim.assess.labels import (
    CITY_ID,
    FUNDING_SOURCES,
    county_label,
    group_label,
    label_zh,
)
from fupinsim.assess.measures import package_label
from fupinsim.data import load_raw
from fupinsim.units import YUAN_PER_WAN

if TYPE_CHECKING:  # the pipeline imports fupinsim.assess: no import cycle at run time
    from fupinsim.pipeline.results import RunTables

__all__ = [
    "binds_sentence",
    "display_closed_loop",
    "display_county_factors",
    "display_funding_by_pool",
    "display_funding_by_source",
    "display_households_by_package",
    "display_marginal_cost",
    "display_methods",
    "display_money_value",
    "display_package_money",
    "display_revenue",
    "display_shortfalls",
    "display_spending",
    "display_unused_money",
    "group_text",
    "shortfall_rows",
]

logger = logging.getLogger(__name__)

_KEYS = ["county_id", "villages", "year"]


def _wan(yuan: pd.Series | pd.DataFrame) -> Any:
    """Yuan → whole 万元."""
    return (yuan / YUAN_PER_WAN).round(0).astype(int)


def _short(ids: pd.Series) -> list[str]:
    return [county_label(c, short=True) for c in ids]


def group_text(county_id: str, villages: str) -> str:
    """``'瓜州县 Guazhou · 移民村 immigrant villages'``; the city ``'酒泉市 Jiuquan (total)'``."""
    if county_id == CITY_ID:
        return f"{county_label(CITY_ID, chinese=True)} Jiuquan (total)"
    name = f"{county_label(county_id, chinese=True)} {county_label(county_id, short=True)}"
    if villages == "all":
        return name
    return f"{name} · {label_zh('village_groups', villages)} {villages} villages"


@cache
def _capacity_descriptions() -> dict[str, str]:
    """Capacity id → its description in the catalogue (``capacities`` of interventions.yaml)."""
    raw = load_raw("interventions").get("capacities", {})
    return {str(k): str(v.get("description", "")) for k, v in raw.items()}


def _capacity_words(resource: str) -> str:
    """``greenhouse_builds`` → "new solar (Gobi) greenhouses that can be built"."""
    text = _capacity_descriptions().get(resource, "") or resource.replace("_", " ")
    return text.rstrip(".")[:1].lower() + text.rstrip(".")[1:]


def binds_sentence(row: Mapping[Any, Any]) -> str:
    """What binds a missed target, in a planner's words: households, year, resource.

    ``row`` is a ``shortfall`` row (``county_id, villages, year, missing_exits,
    projected_exits, target_exits, binding_resource``; households).
    """
    who = group_text(str(row["county_id"]), str(row["villages"]))
    year, binding = int(row["year"]), str(row.get("binding_resource", "") or "")
    missing, planned = float(row["missing_exits"]), float(row["projected_exits"])
    short = f"{missing:,.0f} of the {float(row['target_exits']):,.0f} households due by {year}"
    if binding == "money":
        return f"Money: {who} lacks the money to lift {short} out of poverty in time."
    if binding in ("exit_yield", ""):
        return (
            f"What the packages achieve: even with every household of {who} on its best "
            f"package, only {planned:,.0f} are expected out of poverty by {year}, so {short} "
            "stay behind."
        )
    resources = " and ".join(_capacity_words(r.strip()) for r in binding.split(","))
    return f"Capacity: {who} cannot reach {short} without more {resources}."


def shortfall_rows(
    shortfall: pd.DataFrame | None,
    exit_targets: pd.DataFrame | None = None,
    recommendations: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """The targets the allocation misses (``missing_exits > 0``), with the plan's own target
    (``plan_target_exits``; ``target_exits`` is what counts as meeting it), ``group`` (the
    target group in words), ``binds`` (:func:`binds_sentence`) and ``todo`` (the run's first
    recommendation for the target). Households and yuan, unrounded; empty if none is missed."""
    if shortfall is None or not len(shortfall) or "missing_exits" not in shortfall:
        return pd.DataFrame()
    missed = shortfall[shortfall["missing_exits"] > 0].copy()
    if not len(missed):
        return missed
    if exit_targets is not None and "target_exits" in exit_targets:
        plan = exit_targets[[*_KEYS, "target_exits"]].rename(
            columns={"target_exits": "plan_target_exits"}
        )
        missed = missed.merge(plan, on=_KEYS, how="left")
    if recommendations is not None and len(recommendations):
        first = recommendations.drop_duplicates(_KEYS)[[*_KEYS, "action"]]
        missed = missed.merge(first.rename(columns={"action": "todo"}), on=_KEYS, how="left")
    missed["group"] = [
        group_text(str(c), str(v))
        for c, v in zip(missed["county_id"], missed["villages"], strict=True)
    ]
    missed["binds"] = [binds_sentence(r) for r in missed.to_dict("records")]
    return missed


def display_shortfalls(run: RunTables) -> pd.DataFrame:
    """The report's shortfall table for a notebook: per missed target, the plan's target and
    what counts as meeting it (households), the missing exits, the least money that would close
    the gap (万元, one decimal; empty when no money can) and what binds and what to do."""
    rows = shortfall_rows(run.shortfall, run.exit_targets, run.recommendations)
    if not len(rows):
        return rows
    shown = pd.DataFrame(
        {
            "target": [
                group_label(c, v) for c, v in zip(rows["county_id"], rows["villages"], strict=True)
            ],
            "year": rows["year"],
            "plan's target": rows.get("plan_target_exits", rows["target_exits"]).astype(int),
            "counts as met": rows["target_exits"].round(0).astype(int),
            "missing exits, households": rows["missing_exits"].round(0).astype(int),
            "money to close, 万元": (rows["extra_yuan_to_close"] / YUAN_PER_WAN).round(1),
            "what binds": rows["binds"],
            "what to do": rows.get("todo", ""),
        }
    )
    return shown.set_index(["target", "year"])


def display_revenue(run: RunTables, first_year: int = 2015) -> pd.DataFrame:
    """Local fiscal revenue, its increase and the poverty earmark (§19) by level and year, 万元."""
    revenue = run.revenue[run.revenue["year"] >= first_year].copy()
    revenue["level"] = _short(revenue["level"])
    revenue = revenue.set_index(["level", "year"])
    for column in ("revenue_yuan", "increase_yuan", "earmark_yuan"):
        revenue[column] = _wan(revenue[column])
    return revenue.rename(
        columns={
            "revenue_yuan": "local revenue, 万元",
            "increase_yuan": "increase, 万元",
            "earmark_share": "earmark share",
            "earmark_yuan": "earmark, 万元",
        }
    )


def display_funding_by_pool(run: RunTables) -> pd.DataFrame:
    """Money available by pool and year with the plan-years total and all pools, 万元."""
    funding = run.funding
    by_pool = funding.assign(
        pool=_short(funding["pool"]), amount=funding["amount_yuan"] / YUAN_PER_WAN
    ).pivot_table(index="pool", columns="year", values="amount", aggfunc="sum", sort=False)
    by_pool["2015-2017"] = by_pool.sum(axis=1)
    by_pool.loc["all pools"] = by_pool.sum()
    return by_pool.round(0).astype(int)


def display_funding_by_source(run: RunTables) -> pd.DataFrame:
    """Money available by source (the plan's words) and year with the total, 万元; sources
    with no money are left out."""
    funding = run.funding
    by_source = funding.pivot_table(
        index="source", columns="year", values="amount_yuan", aggfunc="sum", fill_value=0
    )
    by_source = by_source[by_source.sum(axis=1) > 0] / YUAN_PER_WAN
    by_source.index = [FUNDING_SOURCES.get(s, s) for s in by_source.index]
    by_source.index.name = "source, 万元"
    by_source["2015-2017"] = by_source.sum(axis=1)
    return by_source.round(0).astype(int)


def _packages(run: RunTables) -> pd.DataFrame:
    allocation = run.allocation
    return allocation.assign(
        county=_short(allocation["county_id"]),
        package=[package_label(p) for p in allocation["package_id"]],
    )


def display_households_by_package(run: RunTables) -> pd.DataFrame:
    """Households given each package by county (any start year) and for all counties."""
    table = _packages(run).pivot_table(
        index="package", columns="county", values="households", aggfunc="sum", fill_value=0,
        sort=False,
    )  # fmt: skip
    table["all counties"] = table.sum(axis=1)
    return table.round(0).astype(int)


def display_package_money(run: RunTables) -> pd.DataFrame:
    """Per package: households, fiscal money, credit and households' own money (万元) and the
    fiscal yuan per household, most fiscal money first."""
    columns = ["households", "fiscal_yuan", "credit_yuan", "household_yuan"]
    money = _packages(run).groupby("package", sort=False)[columns].sum()
    money["fiscal yuan per household"] = money["fiscal_yuan"] / money["households"]
    money[columns[1:]] /= YUAN_PER_WAN
    money = money.rename(
        columns={
            "fiscal_yuan": "fiscal, 万元",
            "credit_yuan": "credit, 万元",
            "household_yuan": "households' own, 万元",
        }
    )
    return money.sort_values("fiscal, 万元", ascending=False).round(0).astype(int)


def display_spending(run: RunTables) -> pd.DataFrame:
    """Fiscal money spent by county, year and paying pool (county's own or the city's), 万元."""
    spending = run.spending.assign(
        county=lambda d: _short(d["county_id"]),
        paid_by=lambda d: ["city pool" if p == CITY_ID else "county pool" for p in d["pool"]],
    )
    spent = spending.pivot_table(
        index="county", columns=["year", "paid_by"], values="amount_yuan", aggfunc="sum",
        fill_value=0, sort=False,
    ).sort_index(axis=1)  # fmt: skip
    spent.columns.names = ["spent, 万元", "paid by"]
    return _wan(spent)


def display_unused_money(run: RunTables) -> pd.DataFrame:
    """Money left unspent in each pool at the end of each year, 万元."""
    unused = run.unused_money.assign(pool=lambda d: _short(d["pool"]))
    table = unused.pivot_table(
        index="pool", columns="year", values="amount_yuan", aggfunc="sum", sort=False
    )
    table.columns.name = "unspent at year end, 万元"
    return _wan(table)


def display_marginal_cost(run: RunTables) -> pd.DataFrame:
    """Yuan per extra exit (the LP's shadow prices) by target group and year; empty for a
    missed target."""
    marginal = run.marginal_cost.assign(
        target=lambda d: [
            group_label(c, v) for c, v in zip(d["county_id"], d["villages"], strict=True)
        ]
    )
    table = marginal.pivot_table(
        index="target", columns="year", values="yuan_per_extra_exit", sort=False, dropna=False
    )
    table.columns.name = "yuan per extra exit"
    return table.round(0)


def display_money_value(run: RunTables) -> pd.DataFrame:
    """Objective gain per extra yuan in each pool and year (two decimals; 0: not scarce)."""
    value = run.money_value.assign(pool=lambda d: _short(d["pool"]))
    table = value.pivot_table(
        index="pool", columns="year", values="objective_gain_per_extra_yuan", sort=False
    )
    table.columns.name = "objective gain per extra yuan"
    return table.round(2)


@shown_if_in_run("factor_comparison")
def display_methods(
    run: RunTables, methods: tuple[str, ...] = ("optimised", "factor")
) -> pd.DataFrame:
    """The optimised plan against the factor method (rows: measures; columns: methods).

    Exits and households are households, money 万元, P(all targets met) % — all from the plan
    comparison (``factor_comparison``), not the report's headline (the run's manifest).
    """
    f = run.factor_comparison.set_index("method").loc[list(methods)]
    table = pd.DataFrame(
        {
            "planned exits by 2017": f["exits_2017"].round(0).astype(int),
            "simulated exits by 2017": f["simulated_exits_2017"].round(0).astype(int),
            "households supported": f["households_supported"].round(0).astype(int),
            "fiscal cost, 万元": _wan(f["cost_fiscal_yuan"]),
            "credit, 万元": _wan(f["cost_credit_yuan"]),
            "missing exits": f["missing_exits"].round(0).astype(int),
            "targets missed (planned)": f["targets_missed"].astype(int),
            "targets with P(met) ≥ 90 %": f["targets_with_p_met_0_9"].astype(int),
            "P(all targets met), % (plan comparison)": (f["p_all_targets_met"] * 100)
            .round(0)
            .astype(int),
        }
    )
    table.index.name = "method"
    return table.T


@shown_if_in_run("county_factors")
def display_county_factors(run: RunTables) -> pd.DataFrame:
    """The factor method's county factors: poor people, poverty gap (万元 a year) and local
    revenue (万元)."""
    factors = run.county_factors.assign(county=lambda d: [county_label(c) for c in d["county_id"]])
    factors = factors.set_index("county").drop(columns="county_id")
    factors["poverty_depth"] = (factors["poverty_depth"] / YUAN_PER_WAN).round(0)
    factors["revenue_yuan"] = (factors["revenue_yuan"] / YUAN_PER_WAN).round(0)
    return factors.rename(
        columns={
            "poor_population": "poor people",
            "poverty_depth": "poverty gap, 万元 a year",
            "revenue_yuan": "local revenue, 万元",
        }
    ).astype(int)


@shown_if_in_run("closed_loop")
def display_closed_loop(run: RunTables) -> pd.DataFrame:
    """The closed loop round by round: targets below confidence, lowest P(met) %, fiscal money
    万元, missing exits (planned, households) and the targets raised for the next round."""
    loop = run.closed_loop.set_index("round")
    loop = loop.assign(
        lowest_p_met=(loop["lowest_p_met"] * 100).round(0).astype(int),
        fiscal_yuan=_wan(loop["fiscal_yuan"]),
        expected_missing_exits=loop["expected_missing_exits"].round(0).astype(int),
    )
    return loop.rename(
        columns={
            "targets_below_confidence": "targets below confidence",
            "lowest_p_met": "lowest P(met), %",
            "fiscal_yuan": "fiscal money, 万元",
            "expected_missing_exits": "missing exits (planned)",
            "raised_targets": "targets raised for the next round",
        }
    )

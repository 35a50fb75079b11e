"""A county's poverty alleviation guide ("one guide", §26) and the money tables it shares with
the announcement."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

import pandas as pd

from fupinsim.assess.labels import FUNDING_SOURCES, cause_words, county_label, label_zh, zh_words
from fupinsim.assess.lookup import exit_year_column, from_run, required_from_run
from fupinsim.assess.measures import package_label, package_sections, plan_measures
from fupinsim.assess.types import CountyGuide
from fupinsim.assess.villages import village_infrastructure_works, village_summary
from fupinsim.data import counties

if TYPE_CHECKING:  # the pipeline imports assess: only the type, no import at run time
    from fupinsim.pipeline.results import RunTables

__all__ = ["county_guide", "county_money"]


def county_money(
    county_id: str, funding: pd.DataFrame | None, allocation: pd.DataFrame | None
) -> pd.DataFrame:
    """Money for a county by source and year (yuan): its own pool plus city money allocated.

    Sources are named in Chinese and English (``县级资金：涉农整合资金 County pool: …``).
    """
    pools = zh_words("pools")
    rows = []
    if funding is not None and len(funding):
        own = funding[funding["pool"].astype(str) == county_id]
        sums = own.groupby(["source", "year"], as_index=False).agg(
            amount_yuan=("amount_yuan", "sum")
        )
        for r in sums.to_dict("records"):
            rows.append(
                {
                    "source": f"{pools['county']}：{label_zh('funding_sources', r['source'])} "
                    + "County pool: "
                    + FUNDING_SOURCES.get(str(r["source"]), str(r["source"])),
                    "year": int(r["year"]),
                    "amount_yuan": float(r["amount_yuan"]),
                }
            )
    if allocation is not None and len(allocation) and "pool_city_yuan" in allocation:
        alloc = allocation[allocation["county_id"].astype(str) == county_id]
        city = alloc.groupby("year", as_index=False).agg(amount=("pool_city_yuan", "sum"))
        for r in city.to_dict("records"):
            rows.append(
                {
                    "source": f"{pools['city_spent']} City pool, spent in the county by the plan",
                    "year": int(r["year"]),
                    "amount_yuan": float(r["amount"]),
                }
            )
    out = pd.DataFrame(rows, columns=["source", "year", "amount_yuan"])
    return (
        out.astype({"amount_yuan": "float64"}).pivot_table(
            index="source", columns="year", values="amount_yuan", aggfunc="sum", fill_value=0.0
        )
        if len(out)
        else pd.DataFrame()
    )


def _county_measures(
    county_id: str, allocation: pd.DataFrame | None, labels: Mapping[str, str] | None
) -> pd.DataFrame:
    """A county's planned packages: households by start year, money by payer, plan sections.

    Columns ``package_id, package, sections, households_<year>…, households, fiscal_yuan,
    credit_yuan, household_yuan``, largest first.
    """
    if allocation is None or not len(allocation):
        return pd.DataFrame()
    alloc = allocation[allocation["county_id"].astype(str) == county_id]
    if not len(alloc):
        return pd.DataFrame()
    by_year = alloc.pivot_table(
        index="package_id", columns="year", values="households", aggfunc="sum", fill_value=0
    )
    by_year.columns = [f"households_{int(y)}" for y in by_year.columns]
    money = alloc.groupby("package_id").agg(
        households=("households", "sum"),
        fiscal_yuan=("fiscal_yuan", "sum"),
        credit_yuan=("credit_yuan", "sum"),
        household_yuan=("household_yuan", "sum"),
    )
    out = by_year.join(money).reset_index()
    out.insert(1, "package", out["package_id"].map(lambda p: package_label(str(p), labels)))
    out.insert(
        2,
        "sections",
        out["package_id"].map(lambda p: ", ".join(f"§{x}" for x in package_sections(str(p)))),
    )
    return out.sort_values("households", ascending=False, ignore_index=True)


def _measure_units(sections: Iterable[str]) -> pd.DataFrame:
    """Rows of :func:`plan_measures` for the given sections, in plan order."""
    wanted = set(sections)
    table = plan_measures()
    return table[table["section"].isin(wanted)].reset_index(drop=True)


def _county_rows(frame: pd.DataFrame | None, county_id: str) -> pd.DataFrame:
    """A county's rows of a table (empty when there is no table)."""
    if frame is None:
        return pd.DataFrame()
    return frame[frame["county_id"].astype(str) == county_id].reset_index(drop=True)


def county_guide(
    county_id: str,
    run: RunTables | None = None,
    /,
    *,
    households: pd.DataFrame | None = None,
    villages: pd.DataFrame | None = None,
    tables: Mapping[str, pd.DataFrame] | None = None,
    household_plans: pd.DataFrame | None = None,
    allocation: pd.DataFrame | None = None,
    funding: pd.DataFrame | None = None,
    village_year: pd.DataFrame | None = None,
    assessment: pd.DataFrame | None = None,
    package_labels: Mapping[str, str] | None = None,
    village_works: pd.DataFrame | None = None,
) -> CountyGuide:
    """Content of a county's poverty alleviation guide ("one guide", §26).

    Parameters
    ----------
    county_id
        The county.
    run
        The run's tables: the registry, ``household_plans``, ``allocation``, ``funding``,
        ``village_year``, ``assessment`` and ``village_works`` come from it (a table given by
        keyword instead wins; without ``run``, ``households`` and ``villages`` are needed).
    households, villages
        Registry tables.
    tables
        The three tables (:func:`three_tables`), filtered here to the county.
    household_plans, allocation, funding, village_year, assessment
        Pipeline tables (each optional): plans per household, allocation by county, package and
        year, funding pools, village exit probabilities, county assessment.
    package_labels
        Optional readable package names.
    village_works
        Optional pipeline village works (see :func:`village_infrastructure_works`).

    Returns
    -------
    CountyGuide
        The county's facts and its tables (see :class:`~fupinsim.assess.types.CountyGuide`).
    """
    households = required_from_run(run, "households", households, "county_guide")
    villages = required_from_run(run, "villages", villages, "county_guide")
    return _county_guide(
        county_id,
        households,
        villages,
        tables or {},
        household_plans=from_run(run, "household_plans", household_plans),
        allocation=from_run(run, "allocation", allocation),
        funding=from_run(run, "funding", funding),
        village_year=from_run(run, "village_year", village_year),
        assessment=from_run(run, "assessment", assessment),
        package_labels=package_labels,
        village_works=from_run(run, "village_works", village_works),
    )


def _county_guide(
    county_id: str,
    households: pd.DataFrame,
    villages: pd.DataFrame,
    tables: Mapping[str, pd.DataFrame],
    *,
    household_plans: pd.DataFrame | None,
    allocation: pd.DataFrame | None,
    funding: pd.DataFrame | None,
    village_year: pd.DataFrame | None,
    assessment: pd.DataFrame | None,
    package_labels: Mapping[str, str] | None,
    village_works: pd.DataFrame | None,
) -> CountyGuide:
    """:func:`county_guide` with every table resolved (``tables``: the three tables)."""
    info = counties().loc[county_id]
    hh = households[households["county_id"].astype(str) == county_id]
    vil = villages[villages["county_id"].astype(str) == county_id]
    listing = _guide_households(hh, vil, household_plans, package_labels)
    works = village_infrastructure_works(vil, village_works)
    works = works[works["planned"]].merge(vil[["village_id", "village_name"]], on="village_id")
    measures = _county_measures(county_id, allocation, package_labels)
    measure_ids = measures["package_id"].astype(str).tolist() if len(measures) else []
    return CountyGuide(
        county_id=county_id,
        county=county_label(county_id),
        county_zh=county_label(county_id, chinese=True),
        admin_code=str(info["admin_code"]),
        strategy=str(info["strategy"]),
        responsible=str(info["responsible"]),
        distribution=_county_rows(tables.get("poor_distribution"), county_id),
        income_targets=_county_rows(tables.get("income_targets"), county_id),
        reduction_tasks=_county_rows(tables.get("reduction_tasks"), county_id),
        villages=village_summary(
            hh,
            vil,
            household_plans=household_plans,
            village_year=village_year,
            package_labels=package_labels,
            village_works=village_works,
        ),
        households=listing.sort_values(["village_id", "household_id"], ignore_index=True),
        measures=measures,
        measure_units=_measure_units(
            [x for p in measure_ids for x in package_sections(p)]
            + works["section"].tolist()
            + ["16", "25"]
        ),
        money=county_money(county_id, funding, allocation),
        works=works.reset_index(drop=True),
        plan_measures=plan_measures(),
        assessment=_county_rows(
            assessment if assessment is not None and len(assessment) else None, county_id
        ),
    )


def _guide_households(
    hh: pd.DataFrame,
    vil: pd.DataFrame,
    household_plans: pd.DataFrame | None,
    package_labels: Mapping[str, str] | None,
) -> pd.DataFrame:
    """The county's registered households with village name, cause in words and plan."""
    registered = hh[hh["is_registered"].astype(bool)]
    columns = [
        c
        for c in (
            "household_id",
            "village_id",
            "n_members",
            "n_labour",
            "main_cause",
            "income_pc",
            "support_class",
            "helper_id",
        )
        if c in registered
    ]
    listing = registered[columns].copy()
    listing["main_cause"] = listing["main_cause"].astype("object").map(cause_words)
    names = vil.set_index("village_id")["village_name"]
    listing.insert(2, "village_name", listing["village_id"].map(names))
    if household_plans is not None and len(household_plans):
        plans = household_plans.drop_duplicates("household_id").copy()
        exit_column = exit_year_column(plans)
        plans["expected_exit_year"] = plans[exit_column] if exit_column else pd.NA
        plan_cols = [
            c
            for c in (
                "household_id",
                "package_id",
                "start_year",
                "expected_exit_year",
                "cost_fiscal_yuan",
            )
            if c in plans
        ]
        listing = listing.merge(plans[plan_cols], on="household_id", how="left")
        listing["package"] = listing["package_id"].map(
            lambda p: package_label(p, package_labels) if isinstance(p, str) else None
        )
    return listing

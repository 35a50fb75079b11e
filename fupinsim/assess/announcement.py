"""The public announcement (§17): targets, funds and projects by county and village."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import pandas as pd

from fupinsim.assess.guides import county_money
from fupinsim.assess.labels import county_label, county_order
from fupinsim.assess.lookup import from_run, required_from_run
from fupinsim.assess.measures import package_label
from fupinsim.assess.tables import reduction_tasks
from fupinsim.assess.types import CountyAnnouncement
from fupinsim.assess.villages import (
    village_infrastructure_works,
    village_packages,
    village_summary,
)

if TYPE_CHECKING:  # the pipeline imports assess: only the type, no import at run time
    from fupinsim.pipeline.results import RunTables

__all__ = ["announcement"]


def announcement(
    run: RunTables | None = None,
    /,
    *,
    households: pd.DataFrame | None = None,
    villages: pd.DataFrame | None = None,
    target_probability: pd.DataFrame | None = None,
    household_plans: pd.DataFrame | None = None,
    allocation: pd.DataFrame | None = None,
    funding: pd.DataFrame | None = None,
    package_labels: Mapping[str, str] | None = None,
    village_works: pd.DataFrame | None = None,
) -> list[CountyAnnouncement]:
    """Content of the public announcement (§17): targets, funds and projects by county and village.

    Only counts and money are announced, never individual households' data.

    Parameters
    ----------
    run
        The run's tables: every table below comes from it (a table given by keyword instead
        wins; without ``run``, ``households``, ``villages`` and ``target_probability`` are
        needed).
    households, villages
        Registry tables.
    target_probability
        ``county_id, villages, year, target_exits`` (the targets announced).
    household_plans, allocation, funding
        Optional pipeline tables (projects by village, city money spent in the county, pools).
    package_labels
        Optional readable package names.
    village_works
        Optional pipeline village works (see :func:`village_infrastructure_works`).

    Returns
    -------
    list of CountyAnnouncement
        One per county (plan order): ``county_id, county, county_zh, targets`` (DataFrame
        ``villages, year, target_exits, target_exits_in_year``), ``money`` (yuan by source ×
        year), ``village_projects`` (one row per village with planned support:
        ``village_name, is_immigrant, n_poor_households, projects`` (packages with
        households), ``households, fiscal_yuan``), ``village_works`` (one row per village with
        planned works: ``village_name, works, due_year, cost_yuan``), and the same projects
        and works one row per package or work (``village_packages``, ``village_work_items``).
    """
    households = required_from_run(run, "households", households, "announcement")
    villages = required_from_run(run, "villages", villages, "announcement")
    target_probability = required_from_run(
        run, "target_probability", target_probability, "announcement"
    )
    household_plans = from_run(run, "household_plans", household_plans)
    allocation = from_run(run, "allocation", allocation)
    funding = from_run(run, "funding", funding)
    village_works = from_run(run, "village_works", village_works)
    out = []
    tasks = reduction_tasks(target_probability)
    packs = (
        village_packages(household_plans, households)
        if household_plans is not None and len(household_plans)
        else pd.DataFrame(
            columns=["village_id", "county_id", "package_id", "households", "cost_fiscal_yuan"]
        )
    )
    works = village_infrastructure_works(villages, village_works)
    works = works[works["planned"]]
    summary = village_summary(households, villages)
    for county in county_order(villages["county_id"].astype(str)):
        out.append(
            _county_announcement(
                county, summary, packs, works, tasks, funding, allocation, package_labels
            )
        )
    return out


def _county_announcement(
    county: str,
    summary: pd.DataFrame,
    packs: pd.DataFrame,
    works: pd.DataFrame,
    tasks: pd.DataFrame,
    funding: pd.DataFrame | None,
    allocation: pd.DataFrame | None,
    package_labels: Mapping[str, str] | None,
) -> CountyAnnouncement:
    """One county of the announcement: targets, money, projects and works by village."""
    vil = summary[summary["county_id"] == county].set_index("village_id")
    projects = packs[packs["county_id"].astype(str) == county].copy()
    projects["item"] = [
        f"{package_label(str(p), package_labels)} ({int(n)})"
        for p, n in zip(projects["package_id"], projects["households"], strict=True)
    ]
    by_village = projects.groupby("village_id").agg(
        projects=("item", "; ".join),
        households=("households", "sum"),
        fiscal_yuan=("cost_fiscal_yuan", "sum"),
    )
    village_projects = vil[["village_name", "is_immigrant", "n_poor_households"]].join(
        by_village, how="inner"
    )
    county_works = works[works["county_id"] == county].copy()
    county_works["item"] = county_works["work"] + " (§" + county_works["section"] + ")"
    works_by_village = (
        county_works.groupby("village_id")
        .agg(
            works=("item", "; ".join),
            due_year=("due_year", "max"),
            cost_yuan=("cost_yuan", lambda c: c.sum(min_count=1)),
        )
        .join(vil[["village_name"]])
    )
    targets = tasks[tasks["county_id"] == county][
        ["villages", "year", "target_exits", "target_exits_in_year"]
    ]
    return CountyAnnouncement(
        county_id=county,
        county=county_label(county),
        county_zh=county_label(county, chinese=True),
        targets=targets.reset_index(drop=True),
        money=county_money(county, funding, allocation),
        village_projects=village_projects.reset_index(drop=True),
        village_works=works_by_village[
            ["village_name", "works", "due_year", "cost_yuan"]
        ].reset_index(drop=True),
        village_packages=projects[["village_id", "package_id", "households"]]
        .join(vil[["village_name"]], on="village_id")
        .reset_index(drop=True),
        village_work_items=county_works[
            [c for c in ("village_id", "flag", "work", "section", "due_year") if c in county_works]
        ]
        .join(vil[["village_name"]], on="village_id")
        .reset_index(drop=True),
    )

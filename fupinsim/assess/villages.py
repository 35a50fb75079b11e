"""Village tables: planned packages and infrastructure works (the two pictures' data) and one
summary row per village."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import pandas as pd

from fupinsim.assess.labels import sort_groups
from fupinsim.assess.measures import MEASURE_BY_SECTION, WORK_BY_FLAG, package_label
from fupinsim.registry.schema import VILLAGE_INFRASTRUCTURE

__all__ = ["village_infrastructure_works", "village_packages", "village_summary"]


def village_packages(household_plans: pd.DataFrame, households: pd.DataFrame) -> pd.DataFrame:
    """Planned packages per village (data of the industrial project layout map).

    Parameters
    ----------
    household_plans
        ``household_id, package_id, start_year`` and optional ``cost_fiscal_yuan,
        cost_credit_yuan, cost_household_yuan``.
    households
        ``household_id, village_id, county_id``.

    Returns
    -------
    DataFrame
        ``village_id, county_id, package_id, households, cost_fiscal_yuan, cost_credit_yuan,
        cost_household_yuan`` (yuan, package life), ``first_start_year``; sorted by village and
        households (largest first).
    """
    plans = household_plans.copy()
    for column in ("cost_fiscal_yuan", "cost_credit_yuan", "cost_household_yuan"):
        if column not in plans:
            plans[column] = math.nan
    joined = plans.merge(
        households[["household_id", "village_id", "county_id"]], on="household_id", how="inner"
    )
    joined["county_id"] = joined["county_id"].astype(str)
    out = (
        joined.groupby(["village_id", "county_id", "package_id"], as_index=False)
        .agg(
            households=("household_id", "size"),
            cost_fiscal_yuan=("cost_fiscal_yuan", "sum"),
            cost_credit_yuan=("cost_credit_yuan", "sum"),
            cost_household_yuan=("cost_household_yuan", "sum"),
            first_start_year=("start_year", "min"),
        )
        .sort_values(["village_id", "households", "package_id"], ascending=[True, False, True])
    )
    return out.reset_index(drop=True)


_WORK_COLUMNS = [
    "village_id",
    "county_id",
    "flag",
    "work",
    "section",
    "planned",
    "modelled",
    "start_year",
    "due_year",
    "cost_yuan",
    "responsible",
    "time_limit",
]


def village_infrastructure_works(
    villages: pd.DataFrame, village_works: pd.DataFrame | None = None
) -> pd.DataFrame:
    """Planned village infrastructure works (data of the infrastructure layout map).

    A work is planned where a village lacks an item (``has_* == False``) that the plan requires
    in that kind of village by its deadline (:data:`INFRASTRUCTURE_WORKS`). Gaps outside a work's
    scope (e.g. no clinic in a village that is not poor) are listed with ``planned = False``.
    Works the pipeline itself plans and costs (its ``village_works`` table: roads, cooperatives,
    mutual-aid funds) carry the model's start year and cost (``modelled = True``); the others
    carry the plan's deadline and, where the plan states one, its cost.

    Parameters
    ----------
    villages
        ``village_id, county_id, is_immigrant, is_poor_village`` and the ``has_*`` columns
        (:data:`fupinsim.registry.schema.VILLAGE_INFRASTRUCTURE`; missing columns are skipped).
    village_works
        Optional pipeline table ``village_id, package_id, start_year`` and cost columns
        ``cost_fiscal_yuan, cost_credit_yuan, cost_household_yuan`` (yuan per village).

    Returns
    -------
    DataFrame
        One row per village and gap: ``village_id, county_id, flag, work, section, planned,
        modelled, start_year, due_year, cost_yuan, responsible, time_limit``.
    """
    modelled = _modelled_works(village_works)
    rows = []
    for village in villages.to_dict("records"):
        for flag in VILLAGE_INFRASTRUCTURE:
            if flag not in village or bool(village[flag]):
                continue
            work = WORK_BY_FLAG[flag]
            in_scope = (
                work.scope == "all"
                or (work.scope == "poor" and bool(village["is_poor_village"]))
                or (work.scope == "immigrant" and bool(village["is_immigrant"]))
            )
            measure = MEASURE_BY_SECTION[work.section]
            model = modelled.get((int(village["village_id"]), str(work.package_id)))
            cost = work.cost_yuan if in_scope else math.nan
            rows.append(
                {
                    "village_id": village["village_id"],
                    "county_id": str(village["county_id"]),
                    "flag": flag,
                    "work": work.work,
                    "section": work.section,
                    "planned": in_scope or model is not None,
                    "modelled": model is not None,
                    "start_year": model["start_year"] if model else pd.NA,
                    "due_year": work.due_year if in_scope or model else pd.NA,
                    "cost_yuan": model["cost_yuan"] if model else cost,
                    "responsible": measure.responsible,
                    "time_limit": measure.time_limit,
                }
            )
    out = pd.DataFrame(rows, columns=_WORK_COLUMNS)
    out["due_year"] = out["due_year"].astype("Int64")
    out["start_year"] = out["start_year"].astype("Int64")
    return out


def _modelled_works(village_works: pd.DataFrame | None) -> dict[tuple[int, str], dict[str, Any]]:
    """``(village_id, package_id) → {start_year, cost_yuan}`` of the pipeline's village works."""
    modelled: dict[tuple[int, str], dict[str, Any]] = {}
    if village_works is not None and len(village_works):
        for r in village_works.to_dict("records"):
            cost = sum(
                float(r.get(c, 0.0) or 0.0)
                for c in ("cost_fiscal_yuan", "cost_credit_yuan", "cost_household_yuan")
            )
            modelled[(int(r["village_id"]), str(r["package_id"]))] = {
                "start_year": int(r["start_year"]),
                "cost_yuan": cost,
            }
    return modelled


def village_summary(
    households: pd.DataFrame,
    villages: pd.DataFrame,
    *,
    household_plans: pd.DataFrame | None = None,
    village_year: pd.DataFrame | None = None,
    final_year: int = 2017,
    package_labels: Mapping[str, str] | None = None,
    village_works: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """One row per village: size, poor, dominant package, infrastructure gaps, P(exit).

    Parameters
    ----------
    households
        ``household_id, village_id, n_members, is_registered, income_pc``.
    villages
        ``village_id, village_name, county_id, is_immigrant, is_poor_village`` and ``has_*``.
    household_plans
        Optional plans (``household_id, package_id, cost_fiscal_yuan``).
    village_year
        Optional ``village_id, year, incidence_mean, p_exit``.
    final_year
        Year whose village P(exit) is reported.
    package_labels
        Optional readable package names.
    village_works
        Optional pipeline village works (see :func:`village_infrastructure_works`).

    Returns
    -------
    DataFrame
        ``village_id, village_name, county_id, is_immigrant, is_poor_village, n_households,
        population, n_poor_households, n_poor_people, incidence, mean_income_pc`` (all
        households, yuan per person), ``n_supported, dominant_package`` (id),
        ``dominant_label`` (name), ``dominant_share,
        fiscal_yuan, n_gaps, n_planned_works, gaps`` (work names joined by "; "),
        ``incidence_final, p_exit_final``.
    """
    hh = households
    people = hh.groupby("village_id")["n_members"].sum()
    n_households = hh.groupby("village_id").size()
    poor = hh[hh["is_registered"].astype(bool)]
    weighted = (hh["income_pc"] * hh["n_members"]).groupby(hh["village_id"]).sum()
    out = villages[
        ["village_id", "village_name", "county_id", "is_immigrant", "is_poor_village"]
    ].copy()
    out["county_id"] = out["county_id"].astype(str)
    vid = out["village_id"]
    out["n_households"] = vid.map(n_households).fillna(0).astype("int64")
    out["population"] = vid.map(people).fillna(0).astype("int64")
    out["n_poor_households"] = vid.map(poor.groupby("village_id").size()).fillna(0).astype("int64")
    out["n_poor_people"] = (
        vid.map(poor.groupby("village_id")["n_members"].sum()).fillna(0).astype("int64")
    )
    out["incidence"] = out["n_poor_people"] / out["population"].where(out["population"] > 0)
    out["mean_income_pc"] = vid.map(weighted) / out["population"].where(out["population"] > 0)
    out = _with_packages(out, household_plans, households)
    out["dominant_label"] = out["dominant_package"].map(
        lambda p: package_label(str(p), package_labels) if isinstance(p, str) else None
    )
    works = village_infrastructure_works(villages, village_works)
    planned = works[works["planned"]]
    out["n_gaps"] = vid.map(works.groupby("village_id").size()).fillna(0).astype("int64")
    out["n_planned_works"] = vid.map(planned.groupby("village_id").size()).fillna(0).astype("int64")
    out["gaps"] = vid.map(works.groupby("village_id")["work"].agg("; ".join)).fillna("")
    out["incidence_final"] = math.nan
    out["p_exit_final"] = math.nan
    if village_year is not None and len(village_year):
        final = village_year[village_year["year"] == final_year].set_index("village_id")
        out["incidence_final"] = vid.map(final["incidence_mean"])
        out["p_exit_final"] = vid.map(final["p_exit"])
    return sort_groups(out, extra=("village_id",))


def _with_packages(
    out: pd.DataFrame, household_plans: pd.DataFrame | None, households: pd.DataFrame
) -> pd.DataFrame:
    """Add ``n_supported, dominant_package, dominant_share, fiscal_yuan`` from the plans."""
    vid = out["village_id"]
    out["n_supported"] = 0
    out["dominant_package"] = None
    out["dominant_share"] = math.nan
    out["fiscal_yuan"] = 0.0
    if household_plans is not None and len(household_plans):
        packs = village_packages(household_plans, households)
        top = packs.drop_duplicates("village_id").set_index("village_id")
        totals = packs.groupby("village_id").agg(
            households=("households", "sum"), fiscal=("cost_fiscal_yuan", "sum")
        )
        out["n_supported"] = vid.map(totals["households"]).fillna(0).astype("int64")
        out["dominant_package"] = vid.map(top["package_id"])
        out["dominant_share"] = vid.map(top["households"]) / out["n_supported"].where(
            out["n_supported"] > 0
        )
        out["fiscal_yuan"] = vid.map(totals["fiscal"]).fillna(0.0)
    return out

"""Village file, "five things" (plan §4): situation, problems, demands, leadership and
monitoring of one village, as a :class:`~fupinsim.assess.types.VillageFile`."""

from __future__ import annotations

import math
from collections.abc import Mapping
from functools import cache
from typing import Any

import pandas as pd

from fupinsim.assess.cards import cadre_record
from fupinsim.assess.labels import CAUSE_WORDS, SOURCE_WORDS, county_label, group_label
from fupinsim.assess.lookup import (
    deadline_year,
    exit_year_column,
    int_or_none,
    is_true,
    row_of,
    target_group,
)
from fupinsim.assess.measures import (
    MEASURE_BY_SECTION,
    WORK_BY_FLAG,
    package_label,
    package_sections,
)
from fupinsim.assess.types import (
    VillageDemands,
    VillageFile,
    VillageLeadership,
    VillageMonitoring,
    VillagePackage,
    VillageProblems,
    VillageSituation,
)
from fupinsim.assess.villages import village_infrastructure_works, village_packages
from fupinsim.data import counties, load_raw, plain
from fupinsim.registry.schema import INCOME_SOURCES, VILLAGE_INFRASTRUCTURE

__all__ = ["village_file"]


@cache
def _exit_incidence() -> float:
    """Village exit rule: at most this share of people still poor (``data/exit_rules.yaml``)."""
    return float(plain(load_raw("exit_rules"))["village"]["max_incidence"])


def village_file(
    village_id: int,
    *,
    households: pd.DataFrame,
    villages: pd.DataFrame,
    household_plans: pd.DataFrame | None = None,
    village_year: pd.DataFrame | None = None,
    exit_targets: pd.DataFrame | None = None,
    package_labels: Mapping[str, str] | None = None,
    village_works: pd.DataFrame | None = None,
    household_cadres: pd.DataFrame | None = None,
) -> VillageFile:
    """A village's file, "five things" (plan §4).

    Parameters
    ----------
    village_id
        The village.
    households, villages
        Registry tables.
    household_plans
        Optional household plans (packages, costs, expected exit years, helpers).
    village_year
        Optional ``village_id, year, incidence_mean, p_exit``.
    exit_targets
        The exit schedule (default: the plan's).
    package_labels
        Optional readable package names.
    village_works
        Optional pipeline village works (see :func:`village_infrastructure_works`).
    household_cadres
        The run table ``household_cadres`` (plan §16): the file lists the village's cadres
        (code, unit, level, households); without it, the registry's helper ids.

    Returns
    -------
    VillageFile
        Identification and one part per thing (see the part's class): situation (income
        structure as shares of gross income, largest first), problems (counts of registered
        households by cause), demands (planned works and packages), leadership (helpers, §16
        and §18 units), monitoring (exit rule, deadline, simulated path, planned exits by year,
        registered households with package and expected exit year).
    """
    village = row_of(villages, "village_id", int(village_id), "villages")
    county = str(village["county_id"])
    hh = households[households["village_id"] == int(village_id)]
    poor = hh[hh["is_registered"].astype(bool)]
    works = village_infrastructure_works(
        villages[villages["village_id"] == int(village_id)], village_works
    )
    plans = pd.DataFrame()
    if household_plans is not None and len(household_plans):
        plans = household_plans[household_plans["household_id"].isin(hh["household_id"])]
    return VillageFile(
        village_id=int(village_id),
        village_name=str(village["village_name"]),
        county_id=county,
        county=county_label(county),
        county_zh=county_label(county, chinese=True),
        is_immigrant=is_true(village["is_immigrant"]),
        is_poor_village=is_true(village["is_poor_village"]),
        situation=_situation(village, hh, poor),
        problems=_problems(hh, poor, works),
        demands=_demands(hh, poor, plans, works, package_labels),
        leadership=_leadership(county, poor, int(village_id), household_cadres),
        monitoring=_monitoring(village, poor, plans, village_year, exit_targets, package_labels),
    )


def _mean_pc(frame: pd.DataFrame) -> float:
    people = float(frame["n_members"].sum())
    return float((frame["income_pc"] * frame["n_members"]).sum()) / people if people else math.nan


def _situation(
    village: Mapping[str, Any], hh: pd.DataFrame, poor: pd.DataFrame
) -> VillageSituation:
    """Village situation: size, poverty, income per person and its structure, assets."""
    population = int(hh["n_members"].sum())
    gross = {c: float(hh[c].sum()) for c in INCOME_SOURCES if c in hh}
    total_gross = sum(gross.values())
    structure = [
        (SOURCE_WORDS[c], v / total_gross if total_gross else math.nan) for c, v in gross.items()
    ]
    structure.sort(key=lambda item: -item[1] if not math.isnan(item[1]) else 0.0)
    return VillageSituation(
        n_households=len(hh),
        population=population,
        n_poor_households=len(poor),
        n_poor_people=int(poor["n_members"].sum()),
        incidence=float(poor["n_members"].sum()) / population if population else math.nan,
        mean_income_pc=_mean_pc(hh),
        mean_income_pc_poor=_mean_pc(poor),
        income_structure=structure,
        land_mu=float(hh["land_mu"].sum()) if "land_mu" in hh else math.nan,
        sheep=int(hh["sheep"].sum()) if "sheep" in hh else 0,
        greenhouses=int(hh["greenhouses"].sum()) if "greenhouses" in hh else 0,
        infrastructure=[
            (WORK_BY_FLAG[f].work, is_true(village[f]))
            for f in VILLAGE_INFRASTRUCTURE
            if f in village
        ],
    )


def _problems(hh: pd.DataFrame, poor: pd.DataFrame, works: pd.DataFrame) -> VillageProblems:
    """Problem account: gaps, causes of registered households, household counts."""
    causes = (
        poor["main_cause"]
        .astype("object")
        .dropna()
        .map(lambda c: CAUSE_WORDS.get(c, c))
        .value_counts()
    )
    return VillageProblems(
        gaps=works["work"].tolist(),
        causes=[(str(k), int(v)) for k, v in causes.items()],
        n_dilapidated=int(hh["housing_grade"].astype("object").isin(["C", "D"]).sum())
        if "housing_grade" in hh
        else 0,
        n_no_safe_water=int((~hh["has_safe_water"].astype(bool)).sum())
        if "has_safe_water" in hh
        else 0,
        n_not_ncms=int((~hh["ncms_enrolled"].astype(bool)).sum()) if "ncms_enrolled" in hh else 0,
        n_no_labour=int((poor["n_labour"] == 0).sum()) if "n_labour" in poor else 0,
    )


def _demands(
    hh: pd.DataFrame,
    poor: pd.DataFrame,
    plans: pd.DataFrame,
    works: pd.DataFrame,
    package_labels: Mapping[str, str] | None,
) -> VillageDemands:
    """Demand list: planned works, planned packages (money in yuan), social security cases."""
    packages: list[VillagePackage] = []
    if len(plans):
        for row in village_packages(plans, hh).to_dict("records"):
            packages.append(
                VillagePackage(
                    package_id=row["package_id"],
                    label=package_label(row["package_id"], package_labels),
                    households=int(row["households"]),
                    cost_fiscal_yuan=float(row["cost_fiscal_yuan"]),
                    cost_credit_yuan=float(row["cost_credit_yuan"]),
                    cost_household_yuan=float(row["cost_household_yuan"]),
                    first_start_year=int_or_none(row["first_start_year"]),
                    sections=package_sections(row["package_id"]),
                )
            )
    support = poor["support_class"].astype("object") if "support_class" in poor else None
    return VillageDemands(
        works=[
            {str(k): v for k, v in r.items()} for r in works[works["planned"]].to_dict("records")
        ],
        packages=packages,
        n_social_security=int((support == "social_security").sum()) if support is not None else 0,
    )


def _leadership(
    county: str, poor: pd.DataFrame, village_id: int, household_cadres: pd.DataFrame | None
) -> VillageLeadership:
    """Leadership contact (§16) and unit assistance: the cadres paired with the village's
    registered households (the registry's helper ids when the run has no pairing)."""
    helpers = poor["helper_id"].dropna().astype("int64") if "helper_id" in poor else pd.Series()
    info = counties().loc[county] if county in counties().index else None
    cadres = []
    if household_cadres is not None and len(household_cadres):
        # Imported here: the pairing module brings PuLP, which a village file does not need.
        from fupinsim.allocate.pairing import village_cadres  # noqa: PLC0415

        here = village_cadres(household_cadres[household_cadres["village_id"] == village_id])
        here = here.merge(
            household_cadres[["cadre_id", "cadre_county_id"]].drop_duplicates("cadre_id"),
            on="cadre_id",
        )
        cadres = [cadre_record(r, int(r["households"])) for r in here.to_dict("records")]
    n = len(cadres) if cadres else int(helpers.nunique())
    return VillageLeadership(
        county_responsible=None if info is None else str(info["responsible"]),
        n_helpers=n,
        households_per_helper=len(poor) / n if n else math.nan,
        helpers=sorted(int(h) for h in helpers.unique()),
        work_team=MEASURE_BY_SECTION["18"].responsible,
        cadres=cadres,
    )


def _household_listing(
    poor: pd.DataFrame,
    plans: pd.DataFrame,
    exit_column: str | None,
    package_labels: Mapping[str, str] | None,
) -> list[dict[str, Any]]:
    """Registered households with their package and expected exit year."""
    listing = []
    by_household = plans.set_index("household_id") if len(plans) else None
    for r in poor.sort_values("household_id").to_dict("records"):
        plan = (
            by_household.loc[r["household_id"]]
            if by_household is not None and r["household_id"] in by_household.index
            else None
        )
        if isinstance(plan, pd.DataFrame):
            plan = plan.iloc[0]
        listing.append(
            {
                "household_id": int(r["household_id"]),
                "n_members": int(r["n_members"]),
                "income_pc": float(r["income_pc"]),
                "support_class": None
                if pd.isna(r.get("support_class"))
                else str(r.get("support_class")),
                "package": None
                if plan is None
                else package_label(str(plan["package_id"]), package_labels),
                "expected_exit_year": None
                if plan is None or exit_column is None
                else int_or_none(plan.get(exit_column)),
            }
        )
    return listing


def _monitoring(
    village: Mapping[str, Any],
    poor: pd.DataFrame,
    plans: pd.DataFrame,
    village_year: pd.DataFrame | None,
    exit_targets: pd.DataFrame | None,
    package_labels: Mapping[str, str] | None,
) -> VillageMonitoring:
    """Monitoring: exit rule, deadline, simulated path, planned exits by year, households."""
    county, village_id = str(village["county_id"]), int(village["village_id"])
    group = target_group(county, is_true(village["is_immigrant"]), exit_targets)
    path = []
    if village_year is not None and len(village_year):
        own = village_year[village_year["village_id"] == village_id].sort_values("year")
        path = [
            {
                "year": int(r["year"]),
                "incidence_mean": float(r["incidence_mean"]),
                "p_exit": float(r["p_exit"]),
            }
            for r in own.to_dict("records")
        ]
    planned_exits: list[tuple[int, int]] = []
    exit_column = exit_year_column(plans) if len(plans) else None
    if exit_column is not None:
        counts = plans[exit_column].dropna().astype("int64").value_counts().sort_index()
        planned_exits = [(int(str(y)), int(n)) for y, n in counts.items()]
    return VillageMonitoring(
        exit_rule=f"Village exits when at most {_exit_incidence():.0%} of its people are in "
        "registered poor households not yet exited",
        deadline_year=deadline_year(county, group, exit_targets),
        target_group=group_label(county, group),
        path=path,
        planned_exits=planned_exits,
        households=_household_listing(poor, plans, exit_column, package_labels),
    )

"""Small but realistic pipeline tables, exactly per ``docs/contracts.md``.

:func:`fake_tables` builds every table the assessment and reporting code reads, for 16 villages
in the seven counties (about 400 households), consistent with each other: exit targets come from
the plan's schedule and the registered households, allocation sums the household plans, the
county-year quantiles start from the registry's incomes. Guazhou's immigrant villages are made
to be at risk (P(target met) 0.45 in 2016, a missed target) and to have a shortfall, so figures
and headlines have something to show.

One household is fixed by hand so that tests can check its card: :data:`KNOWN_HOUSEHOLD`
(household 101 in Suzhou's first village, an old village). Its recorded income is
6,000 + 5,200 + 1,800 + 0 + 0 + 300 + 1,200 − 3,500 = 11,000 yuan for 4 members, i.e. 2,750
yuan per person, 50 yuan below the 2014 line of 2,800.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from fupinsim.allocate.entrants import ENTRANT_PLAN_COLUMNS, PLAN_REASONS
from fupinsim.allocate.pairing import cadre_tables
from fupinsim.assess import county_assessment
from fupinsim.data import COUNTY_IDS, INCOME_SOURCES, exit_schedule
from fupinsim.montecarlo import add_mc_error
from fupinsim.pipeline import RunTables
from fupinsim.pipeline.assumptions import RANKING_COLUMNS, plans_with_errors
from fupinsim.pipeline.registry_years import with_entrant_plans
from fupinsim.pipeline.tables import catalogue_packages, household_burden_table
from fupinsim.pipeline.validation import validation_table
from fupinsim.registry.living import LivingRegistry, living_registry
from fupinsim.registry.schema import (
    HOUSEHOLD_COLUMNS,
    VILLAGE_INFRASTRUCTURE,
    coerce_households,
    coerce_villages,
)
from fupinsim.scenario import IdentificationSettings

__all__ = [
    "KNOWN_HOUSEHOLD",
    "KNOWN_HOUSEHOLD_ID",
    "KNOWN_PLAN",
    "PACKAGES",
    "PACKAGE_COSTS",
    "PLAN_YEARS",
    "SOCIAL_PACKAGE",
    "YEARS",
    "fake_run_tables",
    "fake_tables",
]

YEARS: tuple[int, ...] = (2014, 2015, 2016, 2017, 2018)
PLAN_YEARS: tuple[int, ...] = (2015, 2016, 2017)
#: Package ids of the intervention catalogue (``fupinsim/data/interventions.yaml``).
PACKAGES: tuple[str, ...] = (
    "one_labourer_2mu_30sheep",
    "sheep_credit",
    "greenhouse_credit",
    "training_transfer",
    "credit_own_project",
)
SOCIAL_PACKAGE = "social_cover"
#: Per-household cost of each package by payer (fiscal, credit, household), yuan (made up).
PACKAGE_COSTS: dict[str, tuple[float, float, float]] = {
    "one_labourer_2mu_30sheep": (14_000.0, 0.0, 40_000.0),
    "sheep_credit": (9_000.0, 20_000.0, 3_000.0),
    "greenhouse_credit": (15_000.0, 30_000.0, 5_000.0),
    "training_transfer": (3_000.0, 0.0, 500.0),
    "credit_own_project": (4_000.0, 50_000.0, 0.0),
    "social_cover": (2_500.0, 0.0, 0.0),
}

KNOWN_HOUSEHOLD_ID = 101
KNOWN_HOUSEHOLD: dict[str, Any] = {
    "household_id": KNOWN_HOUSEHOLD_ID,
    "village_id": 1,
    "county_id": "suzhou",
    "is_immigrant": False,
    "n_members": 4,
    "n_labour": 2,
    "n_away": 1,
    "n_students_primary": 1,
    "n_students_junior": 0,
    "n_students_senior": 0,
    "n_students_vocational": 0,
    "n_students_tertiary": 0,
    "n_elderly": 1,
    "n_disabled": 0,
    "n_chronic_ill": 1,
    "main_cause": "illness",
    "income_wages": 6_000.0,
    "income_crops": 5_200.0,
    "income_livestock": 1_800.0,
    "income_greenhouse": 0.0,
    "income_business": 0.0,
    "income_property": 300.0,
    "income_transfers": 1_200.0,
    "production_cost": 3_500.0,
    "land_mu": 8.0,
    "sheep": 6,
    "greenhouses": 0,
    "housing_grade": "C",
    "has_safe_water": True,
    "ncms_enrolled": True,
    "is_dibao": False,
    "is_wubao": False,
    "is_registered": True,
    "registered_year": 2014,
    "support_class": "development",
    "helper_id": 5001,
    "income_pc": 2_750.0,
}
KNOWN_PLAN: dict[str, Any] = {
    "household_id": KNOWN_HOUSEHOLD_ID,
    "package_id": "sheep_credit",
    "start_year": 2015,
    "cost_fiscal_yuan": 9_000.0,
    "cost_credit_yuan": 20_000.0,
    "cost_household_yuan": 3_000.0,
    "expected_exit_year": 2015,
    "helper_id": 5001,
}

# (county, is_immigrant, number of villages, households per village, registered share)
_LAYOUT: tuple[tuple[str, bool, int, int, float], ...] = (
    ("suzhou", False, 3, 24, 0.25),
    ("yumen", True, 2, 36, 0.45),
    ("yumen", False, 1, 20, 0.20),
    ("dunhuang", False, 2, 18, 0.20),
    ("guazhou", True, 3, 40, 0.50),
    ("guazhou", False, 1, 20, 0.25),
    ("jinta", False, 2, 22, 0.30),
    ("subei", False, 1, 14, 0.25),
    ("aksai", False, 1, 12, 0.25),
)
# Performance of each target group relative to its schedule: P(met) by year.
_P_MET: dict[tuple[str, str], dict[int, float]] = {
    ("guazhou", "immigrant"): {2015: 0.93, 2016: 0.45, 2017: 0.72},
    ("jinta", "all"): {2015: 0.86, 2016: 0.97, 2017: 0.99},
}
_INCOME_GROWTH: dict[str, float] = {
    "suzhou": 0.22,
    "yumen": 0.27,
    "dunhuang": 0.20,
    "guazhou": 0.24,
    "jinta": 0.18,
    "subei": 0.21,
    "aksai": 0.19,
}


def _villages(rng: np.random.Generator) -> pd.DataFrame:
    rows = []
    village_id = 0
    for county, immigrant, n_villages, n_households, _share in _LAYOUT:
        for k in range(n_villages):
            village_id += 1
            kind = "immigrant" if immigrant else "old"
            gap_p = 0.45 if immigrant else 0.2
            row: dict[str, Any] = {
                "village_id": village_id,
                "village_name": f"{county.capitalize()} {kind} village {k + 1}",
                "county_id": county,
                "is_immigrant": immigrant,
                # The last old village of Suzhou is not a poor village (few poor, scattered).
                "is_poor_village": not (county == "suzhou" and k == n_villages - 1),
                "n_households": n_households,
                "population": 0,
            }
            for flag in VILLAGE_INFRASTRUCTURE:
                row[flag] = bool(rng.random() > gap_p)
            row["has_power"] = True
            rows.append(row)
    return pd.DataFrame(rows)


def _income_parts(rng: np.random.Generator, members: int, target_pc: float) -> dict[str, float]:
    shares = rng.dirichlet(np.array([4.0, 3.0, 2.0, 0.6, 0.6, 0.4, 1.2]))
    farm_share = float(shares[1] + shares[2] + shares[3])
    gross = target_pc * members / (1.0 - 0.35 * farm_share)
    parts = {name: float(round(s * gross)) for name, s in zip(INCOME_SOURCES, shares, strict=True)}
    farm = parts["income_crops"] + parts["income_livestock"] + parts["income_greenhouse"]
    parts["production_cost"] = float(round(0.35 * farm))
    return parts


def _households(rng: np.random.Generator, villages: pd.DataFrame) -> pd.DataFrame:
    rows = []
    layout_share = {}
    vid = 0
    for _county, _immigrant, n_villages, _n, share in _LAYOUT:
        for _ in range(n_villages):
            vid += 1
            layout_share[vid] = share
    for village in villages.itertuples(index=False):
        n_registered = round(layout_share[village.village_id] * village.n_households)
        for k in range(village.n_households):
            household_id = int(village.village_id) * 100 + k + 1
            registered = k < n_registered
            members = int(rng.integers(1, 7))
            labour = int(rng.integers(0, members + 1)) if members > 1 else int(rng.integers(0, 2))
            if registered and k % 7 == 3:
                labour = 0  # some households without labour: social security cover
            away = int(rng.integers(0, labour + 1)) if labour else 0
            target_pc = rng.uniform(1_600, 2_780) if registered else rng.uniform(3_500, 11_000)
            parts = _income_parts(rng, members, target_pc)
            net = sum(parts[name] for name in INCOME_SOURCES) - parts["production_cost"]
            row: dict[str, Any] = {spec.name: 0 for spec in HOUSEHOLD_COLUMNS}
            row.update(parts)
            row.update(
                {
                    "household_id": household_id,
                    "village_id": int(village.village_id),
                    "county_id": village.county_id,
                    "is_immigrant": bool(village.is_immigrant),
                    "n_members": members,
                    "n_labour": labour,
                    "n_away": away,
                    "n_students_primary": int(rng.integers(0, 2)) if members > 2 else 0,
                    "n_elderly": int(rng.integers(0, 2)),
                    "n_disabled": int(rng.random() < 0.08),
                    "n_chronic_ill": int(rng.random() < 0.2),
                    "main_cause": (
                        str(rng.choice(["illness", "lack_funds", "lack_skills", "lack_water"]))
                        if registered
                        else None
                    ),
                    "land_mu": float(round(rng.uniform(2, 15), 1)),
                    "sheep": int(rng.integers(0, 40)),
                    "greenhouses": int(rng.random() < 0.2),
                    "housing_grade": str(
                        rng.choice(["A", "B", "C", "D"], p=[0.3, 0.45, 0.17, 0.08])
                    ),
                    "has_safe_water": bool(rng.random() > 0.1),
                    "ncms_enrolled": bool(rng.random() > 0.05),
                    "is_dibao": bool(registered and labour == 0),
                    "is_wubao": False,
                    "is_registered": registered,
                    "registered_year": 2014 if registered else None,
                    "support_class": (
                        ("development" if labour > 0 else "social_security") if registered else None
                    ),
                    "helper_id": 5000 + (len(rows) // 3) if registered else None,
                    "income_pc": net / members,
                }
            )
            if "true_income_pc" in row:
                row["true_income_pc"] = row["income_pc"] * float(rng.normal(1.0, 0.05))
            rows.append(row)
    frame = pd.DataFrame(rows)
    known = frame["household_id"] == KNOWN_HOUSEHOLD_ID
    for key, value in KNOWN_HOUSEHOLD.items():
        frame.loc[known, key] = value
    frame = frame[[spec.name for spec in HOUSEHOLD_COLUMNS if spec.name in frame]]
    return coerce_households(frame)


def _group_mask(households: pd.DataFrame, county: str, villages: str) -> pd.Series:
    mask = households["county_id"] == county
    if villages == "immigrant":
        mask &= households["is_immigrant"]
    elif villages == "old":
        mask &= ~households["is_immigrant"]
    return mask


def _target_groups() -> list[tuple[str, str]]:
    schedule = exit_schedule()
    return [
        (str(c), str(v))
        for c, v in schedule[["county", "villages"]].drop_duplicates().itertuples(index=False)
    ]


def _exit_targets(households: pd.DataFrame) -> pd.DataFrame:
    schedule = exit_schedule()
    rows = []
    for county, villages in _target_groups():
        part = schedule[(schedule["county"] == county) & (schedule["villages"] == villages)]
        shares = dict(zip(part["year"], part["share"], strict=True))
        n_registered = int(
            (_group_mask(households, county, villages) & households["is_registered"]).sum()
        )
        share = 0.0
        for year in PLAN_YEARS:
            share = float(shares.get(year, share))
            rows.append(
                {
                    "county_id": county,
                    "villages": villages,
                    "year": year,
                    "target_share": share,
                    "n_registered": n_registered,
                    "target_exits": round(share * n_registered),
                }
            )
    targets = pd.DataFrame(rows)
    # As the contract: 100% ("as a whole") targets may leave floor(3% x registered) behind.
    allowance = np.floor(0.03 * targets["n_registered"]).where(targets["target_share"] >= 1.0, 0)
    targets["required_exits"] = (targets["target_exits"] - allowance).astype("int64")
    return targets


def _target_probability(exit_targets: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for row in exit_targets.itertuples(index=False):
        p_met = _P_MET.get((row.county_id, row.villages), {}).get(row.year, 0.97)
        target = int(row.target_exits)
        shortfall = 0 if p_met > 0.9 else (3 if p_met < 0.6 else 1)
        mean = max(0.0, target - shortfall + (0.6 if p_met > 0.9 else 0.0))
        mean = min(mean, float(row.n_registered))
        rows.append(
            {
                "county_id": row.county_id,
                "villages": row.villages,
                "year": row.year,
                "n_registered": int(row.n_registered),
                "target_exits": target,
                "required_exits": int(row.required_exits),
                "projected_exits_mean": mean,
                "projected_exits_p05": max(0.0, mean - 4.0),
                "projected_exits_p95": min(float(row.n_registered), mean + 2.0),
                "p_met": p_met,
                "target": "exits",
                "unit": "households",
            }
        )
    return pd.DataFrame(rows)


def _county_year(households: pd.DataFrame, target_probability: pd.DataFrame) -> pd.DataFrame:
    rows = []
    # As the simulation: every county's "all" row and one row per kind of village it has.
    kinds = households.groupby(households["county_id"].astype(str))["is_immigrant"].unique()
    groups = [(c, "all") for c in COUNTY_IDS] + [
        (c, "immigrant" if kind else "old") for c in COUNTY_IDS for kind in sorted(kinds[c])
    ]
    for county, villages in groups:
        mask = _group_mask(households, county, villages)
        registered = households[mask & households["is_registered"]]
        n_reg = len(registered)
        base_income = float(registered["income_pc"].mean())
        base_all = float(households.loc[mask, "income_pc"].mean())
        tp = target_probability[target_probability["county_id"] == county]
        if villages != "all" and (tp["villages"] == villages).any():
            tp = tp[tp["villages"] == villages]
        exits_by_year = tp.groupby("year")["projected_exits_mean"].sum()
        growth = _INCOME_GROWTH[county]
        previous = 0.0
        for year in YEARS:
            if year == YEARS[0]:
                exits_cum = 0.0
            else:
                exits_cum = float(exits_by_year.get(year, exits_by_year.max()))
            t = year - YEARS[0]
            values = {
                "registered_remaining": (n_reg - exits_cum, 3.0),
                "exits_cumulative": (exits_cum, 3.0),
                "exits": (exits_cum - previous, 2.0),
                "mean_income_pc": (base_income * (1 + growth) ** t, 0.06 * t),
                "mean_income_pc_all": (base_all * 1.1**t, 0.04 * t),
            }
            previous = exits_cum
            for indicator, (mean, spread) in values.items():
                if indicator.startswith("mean_income"):
                    low, high = mean * (1 - spread), mean * (1 + spread)
                else:
                    low, high = max(0.0, mean - spread), min(float(n_reg), mean + spread)
                if t == 0 and not indicator.startswith("mean_income"):
                    low = high = mean
                rows.append(
                    {
                        "county_id": county,
                        "villages": villages,
                        "year": year,
                        "indicator": indicator,
                        "mean": mean,
                        "p05": min(low, mean),
                        "p50": mean,
                        "p95": max(high, mean),
                    }
                )
    return pd.DataFrame(rows)


def _immigrant_income(households: pd.DataFrame) -> pd.DataFrame:
    base = float(households.loc[households["is_immigrant"], "income_pc"].mean())
    rows = []
    for year in YEARS:
        t = year - YEARS[0]
        mean = base * 1.24**t
        rows.append(
            {
                "year": year,
                "mean": mean,
                "p05": mean * (1 - 0.05 * t),
                "p50": mean * 0.99,
                "p95": mean * (1 + 0.05 * t),
                "goal_path": base * 1.25**t,
                "goal_doubling": base * 2.0,
                "goal_level": 9_000.0,
            }
        )
    return pd.DataFrame(rows)


def _plans(rng: np.random.Generator, households: pd.DataFrame) -> pd.DataFrame:
    registered = households[households["is_registered"]]
    rows = []
    for row in registered.itertuples(index=False):
        if row.household_id == KNOWN_HOUSEHOLD_ID:
            rows.append(dict(KNOWN_PLAN))
            continue
        if row.support_class == "social_security":
            package = SOCIAL_PACKAGE
        else:
            package = str(rng.choice(PACKAGES))
        start = 2016 if (row.is_immigrant and rng.random() < 0.4) else 2015
        fiscal, credit, own = PACKAGE_COSTS[package]
        rows.append(
            {
                "household_id": int(row.household_id),
                "package_id": package,
                "start_year": start,
                "cost_fiscal_yuan": fiscal,
                "cost_credit_yuan": credit,
                "cost_household_yuan": own,
                "expected_exit_year": start + (1 if package == "greenhouse_credit" else 0),
                "helper_id": int(row.helper_id),
            }
        )
    plans = pd.DataFrame(rows)
    plans["household_id"] = plans["household_id"].astype("int64")
    plans["expected_exit_year"] = plans["expected_exit_year"].astype("Int64")
    plans["helper_id"] = plans["helper_id"].astype("Int64")
    return plans


def _allocation(plans: pd.DataFrame, households: pd.DataFrame) -> pd.DataFrame:
    split = {c for c, v in _target_groups() if v != "all"}
    joined = plans.merge(households[["household_id", "county_id", "is_immigrant"]])
    joined["county_id"] = joined["county_id"].astype(str)
    joined["villages"] = np.where(
        joined["county_id"].isin(split),
        np.where(joined["is_immigrant"], "immigrant", "old"),
        "all",
    )
    out = (
        joined.groupby(["county_id", "villages", "start_year", "package_id"])
        .agg(
            households=("household_id", "size"),
            fiscal_yuan=("cost_fiscal_yuan", "sum"),
            credit_yuan=("cost_credit_yuan", "sum"),
            household_yuan=("cost_household_yuan", "sum"),
        )
        .reset_index()
        .rename(columns={"start_year": "year"})
    )
    out["households"] = out["households"].astype(float)  # the LP's, not a count
    out["pool_city_yuan"] = out["fiscal_yuan"] * 0.4
    out["pool_county_yuan"] = out["fiscal_yuan"] * 0.6
    return out


def _shortfall(target_probability: pd.DataFrame) -> pd.DataFrame:
    out = target_probability[["county_id", "villages", "year", "target_exits"]].copy()
    out["target_exits"] = out["target_exits"].astype(float)  # the pipeline's are expected values
    missing = np.zeros(len(out), dtype=float)
    risky = (out["county_id"] == "guazhou") & (out["villages"] == "immigrant")
    missing[(risky & (out["year"] == 2016)).to_numpy()] = 3
    missing[(risky & (out["year"] == 2017)).to_numpy()] = 2
    out["projected_exits"] = out["target_exits"] - missing
    out["missing_exits"] = missing
    out["met"] = missing == 0
    out["extra_yuan_to_close"] = missing * 40_000.0
    # The 2017 gap cannot be closed with money: greenhouse builds bind.
    last = (risky & (out["year"] == 2017)).to_numpy()
    out.loc[last, "extra_yuan_to_close"] = np.nan
    out["extra_money_years"] = np.where(missing > 0, "2015 2016", "")
    out["binding_resource"] = np.where(last, "greenhouse_builds", "")
    out["message"] = np.where(
        missing > 0,
        np.where(
            last,
            "2 exits short; capacity binds (greenhouse_builds), money alone does not close it",
            "3 exits short; 12.0 wan yuan more in 2015-2016 would close it",
        ),
        "",
    )
    return out


def _recommendations(shortfall: pd.DataFrame) -> pd.DataFrame:
    """What to do, as :mod:`fupinsim.pipeline.recommend` writes it: one row per missed target
    (money for the 2016 gap, a capacity for the 2017 one) and one for the unspent money."""
    missed = shortfall[shortfall["missing_exits"] > 0]
    rows = []
    for r in missed.itertuples(index=False):
        money = not np.isnan(r.extra_yuan_to_close)
        rows.append(
            {
                "county_id": r.county_id,
                "villages": r.villages,
                "year": int(r.year),
                "kind": "add money" if money else "raise capacity",
                "action": (
                    f"Ask for {r.extra_yuan_to_close / 1e4:,.0f} 万元 more in Guazhou's pool by "
                    f"2015 to secure Guazhou County, immigrant villages' {r.year} target."
                    if money
                    else "Raise new solar (Gobi) greenhouses that can be built in 2016 by 2 "
                    "(greenhouses) to secure Guazhou County, immigrant villages' 2017 target."
                ),
                "money_yuan": float(r.extra_yuan_to_close) if money else 24_000.0,
                "effect_exits": float(r.missing_exits),
                "effect_p_met": np.nan,
                "reason": f"Guazhou County, immigrant villages misses {r.year} by "
                f"{r.missing_exits} households; re-solved: misses by 0 households.",
            }
        )
    rows.append(
        {
            "county_id": "dunhuang",
            "villages": "all",
            "year": 2017,
            "kind": "use unspent money",
            "action": "Spend 1 万元 of the unspent money on more households in Dunhuang.",
            "money_yuan": 8_000.0,
            "effect_exits": 1.0,
            "effect_p_met": np.nan,
            "reason": "6 万元 of the plan's money is left unspent at the end of 2017.",
        }
    )
    return pd.DataFrame(rows)


def _city_rows(county_year: pd.DataFrame, households: pd.DataFrame) -> pd.DataFrame:
    """City totals as the simulation adds them (``county_id == 'city'``, villages ``all``)."""
    whole = county_year[county_year["villages"] == "all"]
    counts = whole[~whole["indicator"].str.startswith("mean_income")]
    summed = counts.groupby(["year", "indicator"], as_index=False)[
        ["mean", "p05", "p50", "p95"]
    ].sum()
    registered = households[households["is_registered"]]
    weights = registered.groupby(registered["county_id"].astype(str)).size()
    income = whole[whole["indicator"].str.startswith("mean_income")].copy()
    income["w"] = income["county_id"].map(weights).astype(float)
    for column in ("mean", "p05", "p50", "p95"):
        income[column] = income[column] * income["w"]
    weighted = income.groupby(["year", "indicator"], as_index=False)[
        ["mean", "p05", "p50", "p95", "w"]
    ].sum()
    for column in ("mean", "p05", "p50", "p95"):
        weighted[column] = weighted[column] / weighted["w"]
    city = pd.concat([summed, weighted.drop(columns="w")], ignore_index=True)
    city["county_id"] = "city"
    city["villages"] = "all"
    return city[["county_id", "villages", "year", "indicator", "mean", "p05", "p50", "p95"]]


def _village_works(villages: pd.DataFrame) -> pd.DataFrame:
    """The pipeline's village works: cooperatives, mutual-aid funds and roads for poor villages."""
    rows = []
    poor = villages[villages["is_poor_village"]]
    for column, package, year, cost in (
        ("has_cooperative", "village_market", 2015, 300_000.0),
        ("has_mutual_aid_fund", "village_mutual_aid", 2015, 500_000.0),
        ("has_paved_road", "village_road", 2016, 1_200_000.0),
    ):
        for row in poor[~poor[column]].itertuples(index=False):
            rows.append(
                {
                    "village_id": int(row.village_id),
                    "village_name": row.village_name,
                    "county_id": str(row.county_id),
                    "package_id": package,
                    "start_year": year,
                    "cost_fiscal_yuan": cost,
                    "cost_credit_yuan": 0.0,
                    "cost_household_yuan": 0.0,
                    # Paid from the county pool first (the pipeline's works draws).
                    "pool_county_yuan": cost,
                    "pool_city_yuan": 0.0,
                    "unfunded_yuan": 0.0,
                }
            )
    return pd.DataFrame(rows)


def _funding() -> pd.DataFrame:
    rows = []
    for year in PLAN_YEARS:
        rows += [
            {"pool": "city", "source": "earmark", "year": year, "amount_yuan": 600_000.0},
            {
                "pool": "city",
                "source": "provincial_transfer",
                "year": year,
                "amount_yuan": 900_000.0,
            },
            {"pool": "city", "source": "pairing_donations", "year": year, "amount_yuan": 80_000.0},
        ]
        if year == 2015:
            rows.append(
                {"pool": "city", "source": "idle_recovery", "year": year, "amount_yuan": 150_000.0}
            )
        for county in COUNTY_IDS:
            scale = {"guazhou": 3.0, "yumen": 2.0, "suzhou": 1.5}.get(county, 0.6)
            rows.append(
                {
                    "pool": county,
                    "source": "earmark",
                    "year": year,
                    "amount_yuan": 60_000.0 * scale * (0.5 if year == 2016 else 1.0),
                }
            )
            rows.append(
                {
                    "pool": county,
                    "source": "integrated_agriculture",
                    "year": year,
                    "amount_yuan": 50_000.0 * scale,
                }
            )
    return pd.DataFrame(rows)


def _village_year(households: pd.DataFrame, villages: pd.DataFrame) -> pd.DataFrame:
    people = households.groupby("village_id")["n_members"].sum()
    poor = households[households["is_registered"]].groupby("village_id")["n_members"].sum()
    rows = []
    for vid in villages["village_id"]:
        base = float(poor.get(vid, 0)) / float(people[vid])
        for year in YEARS:
            incidence = base * 0.45 ** (year - YEARS[0])
            rows.append(
                {
                    "village_id": int(vid),
                    "year": year,
                    "incidence_mean": incidence,
                    "p_exit": float(1 / (1 + np.exp((incidence - 0.03) * 150))),
                }
            )
    return pd.DataFrame(rows)


def _household_results(households: pd.DataFrame, plans: pd.DataFrame) -> pd.DataFrame:
    registered = households[households["is_registered"]]
    exit_year = plans.set_index("household_id")["expected_exit_year"]
    rows = []
    for row in registered.itertuples(index=False):
        year_out = exit_year.get(row.household_id, pd.NA)
        for year in YEARS[1:]:
            exited = pd.notna(year_out) and year >= int(year_out)
            rows.append(
                {
                    "household_id": int(row.household_id),
                    "year": year,
                    "income_pc_mean": float(row.income_pc) * 1.2 ** (year - YEARS[0]),
                    "p_exited": 0.8 if exited else 0.2,
                }
            )
    return pd.DataFrame(rows)


_LINE_2014 = 2_800.0  # yuan per person (fupinsim/data/poverty_line.yaml)
_SPLIT_COUNTIES = ("yumen", "guazhou")  # target groups split into immigrant and old villages


def _household_types(households: pd.DataFrame) -> pd.DataFrame:
    """Registered households' types as :func:`fupinsim.allocate.yields.household_types`."""
    reg = households[households["is_registered"]]
    county = reg["county_id"].astype(str)
    kind = np.where(reg["is_immigrant"], "immigrant", "old")
    at_home = (reg["n_labour"] - reg["n_away"]).to_numpy()
    labour = np.where(
        reg["support_class"].astype(str) == "social_security",
        "ss",
        np.where(at_home >= 2, "dev2", np.where(at_home == 1, "dev1", "dev0")),
    )
    band = np.searchsorted([0.8, 1.0, 1.2, 1.5], reg["income_pc"].to_numpy() / _LINE_2014)
    types = pd.DataFrame(
        {
            "household_id": reg["household_id"].to_numpy(dtype=np.int64),
            "type_id": [
                f"{c}_{k}_{lab}_b{b}"
                for c, k, lab, b in zip(county, kind, labour, band, strict=True)
            ],
            "county_id": county.to_numpy(),
            "villages": np.where(county.isin(_SPLIT_COUNTIES), kind, "all"),
            "is_immigrant": reg["is_immigrant"].to_numpy(dtype=bool),
            "labour_class": labour,
            "income_band": band.astype(np.int64),
        }
    )
    return types.reset_index(drop=True)


def _exit_yields(types: pd.DataFrame) -> pd.DataFrame:
    """Yields of ``none`` and two packages from 2015, per type and year (shares 0-1)."""
    per_type = types.drop(columns="household_id").drop_duplicates("type_id")
    sizes = types.groupby("type_id").size()
    rows = []
    for row in per_type.to_dict("records"):
        n = int(sizes[row["type_id"]])
        for package, lift in (("none", 0.0), (PACKAGES[0], 0.3), (PACKAGES[1], 0.2)):
            for year in YEARS[:-1]:
                base = 0.0 if year == YEARS[0] else min(0.9, 0.2 * (year - YEARS[0]))
                rows.append(
                    {
                        **row,
                        "n_households": n,
                        "n_eligible": n,
                        "package_id": package,
                        "start_year": PLAN_YEARS[0],
                        "year": year,
                        "exit_prob": min(1.0, base + (lift if year >= PLAN_YEARS[0] else 0.0)),
                        # yuan per household a year in the goal year; people in poor villages
                        "income_gain_yuan": 5000.0 * lift,
                        "poor_village_people": 2.0,
                    }
                )
    columns = ["type_id", "county_id", "villages", "is_immigrant", "labour_class"]
    order = [*columns, "income_band", "n_households", "n_eligible", "package_id", "start_year"]
    extra = ["income_gain_yuan", "poor_village_people"]
    return pd.DataFrame(rows)[[*order, "year", "exit_prob", *extra]]


def _quotas(plans: pd.DataFrame, types: pd.DataFrame) -> pd.DataFrame:
    """Households per type, package and start year, with their costs (as the LP's quotas)."""
    joined = plans.merge(types[["household_id", "county_id", "villages"]], on="household_id")
    out = (
        joined.groupby(["type_id", "county_id", "villages", "package_id", "start_year"])
        .agg(
            households=("household_id", "size"),
            fiscal_yuan=("cost_fiscal_yuan", "sum"),
            credit_yuan=("cost_credit_yuan", "sum"),
            household_yuan=("cost_household_yuan", "sum"),
        )
        .reset_index()
    )
    out["households"] = out["households"].astype(float)
    out["pool_city_yuan"] = out["fiscal_yuan"] * 0.4
    out["pool_county_yuan"] = out["fiscal_yuan"] * 0.6
    return out


def _spending(allocation: pd.DataFrame) -> pd.DataFrame:
    """Money each pool spends per county and year (the allocation's pool split)."""
    by_county = allocation.groupby(["county_id", "year"], as_index=False)[
        ["pool_city_yuan", "pool_county_yuan"]
    ].sum()
    own = by_county.assign(pool=by_county["county_id"], amount_yuan=by_county["pool_county_yuan"])
    city = by_county.assign(pool="city", amount_yuan=by_county["pool_city_yuan"])
    out = pd.concat([own, city], ignore_index=True)
    return out[["pool", "county_id", "year", "amount_yuan"]]


def _revenue() -> pd.DataFrame:
    """Revenue growing 5% a year; earmarks 10% (city) and 15% (counties) of the increase."""
    rows = []
    for level in ("city", *COUNTY_IDS):
        base = 1.2e9 if level == "city" else 2.0e8
        share = 0.10 if level == "city" else 0.15
        previous = None
        for year in YEARS[:-1]:
            revenue = base * 1.05 ** (year - YEARS[0])
            increase = np.nan if previous is None else revenue - previous
            earmark = 0.0 if previous is None else share * max(0.0, increase)
            rows.append(
                {
                    "level": level,
                    "year": year,
                    "revenue_yuan": revenue,
                    "increase_yuan": increase,
                    "earmark_share": share,
                    "earmark_yuan": earmark,
                }
            )
            previous = revenue
    return pd.DataFrame(rows)


def _money_value() -> pd.DataFrame:
    pools = ["city", *COUNTY_IDS]
    return pd.DataFrame(
        {
            "pool": [p for p in pools for _ in PLAN_YEARS],
            "year": [y for _ in pools for y in PLAN_YEARS],
            "objective_gain_per_extra_yuan": [
                1.0 if y == PLAN_YEARS[0] else 0.0 for _ in pools for y in PLAN_YEARS
            ],
            "exits_per_extra_yuan": np.nan,
            "yuan_per_extra_exit": np.nan,
        }
    )


def _identification(households: pd.DataFrame) -> pd.DataFrame:
    """Who is registered against who is truly poor, per county."""
    frame = pd.DataFrame(
        {
            "county_id": households["county_id"].astype(str),
            "registered": households["is_registered"].to_numpy(dtype=bool),
            "poor": households["true_income_pc"].to_numpy() < _LINE_2014,
        }
    )
    frame["included"] = frame["registered"] & ~frame["poor"]
    frame["excluded"] = frame["poor"] & ~frame["registered"]
    out = frame.groupby("county_id", sort=False).agg(
        n_households=("registered", "size"),
        n_registered=("registered", "sum"),
        n_truly_poor=("poor", "sum"),
        n_included_nonpoor=("included", "sum"),
        n_excluded_poor=("excluded", "sum"),
    )
    out["inclusion_rate"] = out["n_included_nonpoor"] / out["n_registered"]
    out["exclusion_rate"] = out["n_excluded_poor"] / out["n_truly_poor"].clip(lower=1)
    return out.reset_index()


def _registry_summary(households: pd.DataFrame) -> pd.DataFrame:
    reg = households[households["is_registered"]]
    frame = pd.DataFrame(
        {
            "county_id": reg["county_id"].astype(str),
            "villages": np.where(reg["is_immigrant"], "immigrant", "old"),
            "households": 1,
            "people": reg["n_members"].astype(int),
        }
    )
    return frame.groupby(["county_id", "villages"], sort=False).sum().reset_index()


def _county_factors(households: pd.DataFrame, revenue: pd.DataFrame) -> pd.DataFrame:
    reg = households[households["is_registered"]]
    depth = (_LINE_2014 - reg["income_pc"]).clip(lower=0) * reg["n_members"]
    frame = pd.DataFrame(
        {
            "county_id": reg["county_id"].astype(str),
            "poor_population": reg["n_members"].astype(float),
            "poverty_depth": depth,
        }
    )
    out = frame.groupby("county_id").sum().reset_index()
    base = revenue[revenue["year"] == YEARS[0]].set_index("level")["revenue_yuan"]
    out["revenue_yuan"] = out["county_id"].map(base)
    return out


def _targeting() -> pd.DataFrame:
    rows = [
        {
            "county_id": county,
            "year": year,
            "wrong_exit_rate": np.nan if year == YEARS[0] else 0.01,
            "missed_poor_rate": 0.05,
        }
        for county in COUNTY_IDS
        for year in YEARS
    ]
    return pd.DataFrame(rows)


def _closed_loop(target_probability: pd.DataFrame, allocation: pd.DataFrame) -> pd.DataFrame:
    """Two rounds: the first raises the unsafe targets, the second keeps one below 0.9."""
    unsafe = target_probability[target_probability["p_met"] < 0.9]
    names = [f"{c}/{v}/{y}" for c, v, y in unsafe[["county_id", "villages", "year"]].to_numpy()]
    fiscal = float(allocation["fiscal_yuan"].sum())
    return pd.DataFrame(
        {
            "round": [0, 1],
            "targets_below_confidence": [len(unsafe), 1],
            "targets_secured": [20, 26],
            "securable_below_confidence": [len(unsafe), 1],
            "lowest_p_met": [float(unsafe["p_met"].min()), 0.45],
            "p_all_targets_met": [0.0, 0.35],
            "fiscal_yuan": [fiscal * 0.97, fiscal],
            "penalty_yuan": [6.0e7, 5.0e7],
            "expected_missing_exits": [6.0, 5.0],
            "raised_targets": ["", ", ".join(names)],
            "best": [False, True],
            "cannot_be_secured": ["dunhuang/all/2015: 5 more households would have to exit", ""],
        }
    )


def _with_burden(plans: pd.DataFrame, households: pd.DataFrame) -> pd.DataFrame:
    """The pipeline's household-money columns: own cash at most a quarter of the income."""
    out = plans.copy()
    income = households.set_index("household_id")
    income = (income["income_pc"] * income["n_members"]).reindex(out["household_id"]).to_numpy()
    own = np.minimum(out["cost_household_yuan"].to_numpy(dtype=float), 0.25 * income)
    out["household_income_yuan"] = income
    out["own_cash_yuan"] = own
    out["credit_yuan"] = out["cost_credit_yuan"]
    out["pools_topup_yuan"] = out["cost_household_yuan"].to_numpy(dtype=float) - own
    out["term_income_yuan"] = np.where(out["cost_credit_yuan"] > 0, 60_000.0, 0.0)
    out["option_id"] = out["package_id"]
    out["own_cash_share_of_income"] = own / income
    out["cost_household_yuan"] = own
    out["support_note"] = ""
    return out


#: P(target met) of each compared plan relative to the optimised one.
_PLAN_P_MET = {"optimised": 1.0, "factor": 0.8, "baseline": 0.3, "uniform_1230": 0.9}


def _plan_stacks(
    target_probability: pd.DataFrame, county_year: pd.DataFrame
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``target_probability_plans`` (the plans and ``final``) and ``county_year_plans``."""
    keep = {"registered_remaining", "exits_cumulative", "returns", "mean_income_pc"}
    scales = {**_PLAN_P_MET, "final": 1.0}
    tp = pd.concat(
        [
            target_probability.assign(plan=name, p_met=target_probability["p_met"] * scale)
            for name, scale in scales.items()
        ],
        ignore_index=True,
    )
    cy = pd.concat(
        [
            county_year[county_year["indicator"].isin(keep)].assign(plan=name)
            for name in _PLAN_P_MET
        ],
        ignore_index=True,
    )
    return tp, cy


def _factor_comparison() -> pd.DataFrame:
    """The optimised plan against the factor method (one row each, as the pipeline's first two)."""
    return pd.DataFrame(
        {
            "method": ["optimised", "factor"],
            "simulated_exits_2015": [90.0, 84.0],
            "simulated_exits_2016": [128.0, 119.0],
            "simulated_exits_2017": [146.0, 137.0],
            "targets_with_p_met_0_9": [11, 8],
            "mean_p_met": [0.91, 0.83],
            "exits_2015": [92.0, 85.0],
            "exits_2016": [130.0, 121.0],
            "exits_2017": [147.0, 139.0],
            "households_supported": [118.0, 121.0],
            "cost_fiscal_yuan": [806_000.0, 806_000.0],
            "cost_credit_yuan": [1_400_000.0, 1_650_000.0],
            "cost_household_yuan": [900_000.0, 960_000.0],
            "missing_exits": [5.0, 9.0],
            "targets_missed": [2.0, 4.0],
            "p_all_targets_met": [0.41, 0.22],
        }
    )


def _typed_plans(plans: pd.DataFrame, types: pd.DataFrame) -> pd.DataFrame:
    """Plans with the assignment's ``type_id`` and ``predicted_gain`` (in the pipeline's order)."""
    type_of = types.set_index("household_id")["type_id"]
    plans.insert(1, "type_id", plans["household_id"].map(type_of))
    gain = np.where(plans["package_id"] == SOCIAL_PACKAGE, 0.05, 0.25)
    plans.insert(plans.columns.get_loc("expected_exit_year"), "predicted_gain", gain)
    return plans


def fake_tables(seed: int = 0) -> dict[str, pd.DataFrame]:
    """Every pipeline table, small and consistent: the tables and columns of a real run.

    Parameters
    ----------
    seed
        Seed of the generator for the households' random fields (the known household and the
        risky target group are fixed whatever the seed).

    Returns
    -------
    dict of str to DataFrame
        Keys and columns as :data:`fupinsim.pipeline.TABLE_NAMES` (a contract test compares
        them with a real run); :func:`fake_run_tables` gives the same as a ``RunTables``.
        ``household_plans`` has the pipeline's ``simulated_exit_year`` and
        ``expected_income_pc_2017``; ``county_year`` has the simulation's city rows
        (``county_id == 'city'``).
    """
    rng = np.random.default_rng(seed)
    villages = _villages(rng)
    households = _households(rng, villages)
    sizes = households.groupby("village_id").agg(
        n_households=("household_id", "size"), population=("n_members", "sum")
    )
    villages["n_households"] = villages["village_id"].map(sizes["n_households"])
    villages["population"] = villages["village_id"].map(sizes["population"])
    villages = coerce_villages(villages)
    exit_targets = _exit_targets(households)
    target_probability = _target_probability(exit_targets)
    types = _household_types(households)
    plans = _typed_plans(_plans(rng, households), types)
    allocation = _allocation(plans, households)
    shortfall = _shortfall(target_probability)
    marginal_cost = shortfall[["county_id", "villages", "year"]].copy()
    marginal_cost["yuan_per_extra_exit"] = 25_000.0 + 5_000.0 * (marginal_cost["year"] - 2015)
    marginal_cost["note"] = np.where(shortfall["met"], "", "target missed; see shortfall")
    household = _household_results(households, plans)
    # The pipeline adds the simulated exit year and 2017 income to the plans.
    simulated = household[household["p_exited"] >= 0.5].groupby("household_id")["year"].min()
    plans["simulated_exit_year"] = plans["household_id"].map(simulated).astype("Int64")
    income_2017 = household[household["year"] == 2017].set_index("household_id")
    plans["expected_income_pc_2017"] = plans["household_id"].map(income_2017["income_pc_mean"])
    plans = _with_burden(plans, households)
    plans["add_ons"] = np.where(plans["package_id"] == SOCIAL_PACKAGE, "", "temporary_assistance")
    # The pipeline adds the projection's columns last.
    projected = ["simulated_exit_year", "expected_income_pc_2017"]
    plans = plans[[c for c in plans.columns if c not in projected] + projected]
    county_year = _county_year(households, target_probability)
    county_year = pd.concat([county_year, _city_rows(county_year, households)], ignore_index=True)
    revenue = _revenue()
    tp_plans, cy_plans = _plan_stacks(target_probability, county_year)
    cadre_roster, household_cadres = cadre_tables(households, villages, seed)
    tables = {
        "households": households,
        "villages": villages,
        "identification": _identification(households),
        "registry_summary": _registry_summary(households),
        "cadre_roster": cadre_roster,
        "household_cadres": household_cadres,
        "exit_targets": exit_targets,
        "funding": _funding(),
        "revenue": revenue,
        "exit_yields": catalogue_packages(_exit_yields(types)),
        "household_types": types,
        "allocation": catalogue_packages(allocation),
        "allocation_quotas": catalogue_packages(_quotas(plans, types)),
        "spending": _spending(allocation),
        "shortfall": shortfall,
        "marginal_cost": marginal_cost,
        "money_value": _money_value(),
        "unused_money": pd.DataFrame(
            {"pool": ["city", "dunhuang"], "year": [2017, 2017], "amount_yuan": [50_000.0, 8_000.0]}
        ),
        "household_plans": plans,
        "household_burden": household_burden_table(plans),
        "village_works": _village_works(villages),
        "closed_loop": _closed_loop(target_probability, allocation),
        "factor_comparison": _factor_comparison(),
        "county_factors": _county_factors(households, revenue),
        "county_year": county_year,
        "target_probability": target_probability,
        "immigrant_income": _immigrant_income(households),
        "village_year": _village_year(households, villages),
        "targeting": _targeting(),
        "household_paths": household,
        "household_exit": plans[["household_id", "expected_exit_year"]].copy(),
        "target_probability_plans": tp_plans,
        "county_year_plans": cy_plans,
        "assessment": county_assessment(county_year, target_probability),
        "recommendations": _recommendations(shortfall),
    }
    living = _living_registry(households, household)
    tables["registered_by_year"] = living.registered_by_year
    tables["registry_entrants"] = _entrant_plans(living.entrants)
    # The pipeline adds the planned entrants' rows (none here: no money left for them).
    tables["household_plans"] = with_entrant_plans(plans, pd.DataFrame())
    # What the assumptions stage adds (fupinsim.pipeline.assumptions): the MC error of P(met),
    # P(met) with the assumptions sampled, the assumption ranking; and the hindcast.
    tables["target_probability"] = _with_assumptions(target_probability)
    tables["target_probability_plans"] = plans_with_errors(
        tp_plans, tables["target_probability"], 200
    )
    # A run's counts are floats there: the plan goals' rows leave n_registered empty (NaN).
    counts = ["n_registered", "target_exits", "required_exits"]
    for name in ("target_probability", "target_probability_plans"):
        tables[name] = tables[name].astype(dict.fromkeys(counts, float))
    tables["assumption_ranking"] = _assumption_ranking()
    tables["validation"] = validation_table(
        RunTables.from_dict({**tables, "validation": pd.DataFrame()})
    )
    return tables


def _living_registry(households: pd.DataFrame, household: pd.DataFrame) -> LivingRegistry:
    """The living registry's tables by :func:`fupinsim.registry.living.living_registry` on the
    fake households: registered incomes and exits from the fake paths, the others' incomes
    flat at their base-year income."""
    years = list(YEARS)
    base = households["income_pc"].to_numpy(dtype=float)
    income = np.tile(base, (len(years), 1))
    on = np.tile(households["is_registered"].to_numpy(dtype=bool), (len(years), 1))
    position = pd.Series(np.arange(len(households)), index=households["household_id"])
    cols = position.loc[household["household_id"]].to_numpy()
    rows = household["year"].map({y: t for t, y in enumerate(years)}).to_numpy()
    income[rows, cols] = household["income_pc_mean"].to_numpy()
    on[rows, cols] = household["p_exited"].to_numpy() < 0.5
    lines = np.array([_LINE_2014 * (1.0 + 0.05 * t) for t in range(len(years))])
    return living_registry(households, income, on, years, lines, IdentificationSettings(), 7)


def _entrant_plans(entrants: pd.DataFrame) -> pd.DataFrame:
    """The entrants with the pipeline's plan columns (:data:`ENTRANT_PLAN_COLUMNS`): none
    planned, ``after_plan`` from the plan's last funding year (2017) on, else ``no_money``."""
    n = len(entrants)
    reason = np.where(entrants["entry_year"].to_numpy() >= 2017, "after_plan", "no_money")
    plans = pd.DataFrame(
        {
            "household_id": entrants["household_id"].to_numpy(dtype=np.int64),
            "type_id": [f"{c}|fake" for c in entrants["county_id"].astype(str)],
            "plan_reason": pd.Categorical(reason, categories=list(PLAN_REASONS)),
            "package_id": "",
            "start_year": pd.array([pd.NA] * n, dtype="Int64"),
            **{c: np.zeros(n) for c in ENTRANT_PLAN_COLUMNS[5:-1]},
            "pool": "",
        }
    )
    return entrants.merge(plans[list(ENTRANT_PLAN_COLUMNS)], on="household_id", how="left")


def _with_assumptions(target_probability: pd.DataFrame) -> pd.DataFrame:
    out = add_mc_error(target_probability, 200)
    out["p_met_with_assumptions"] = (out["p_met"] * 0.9).round(2)
    return add_mc_error(out, 50, column="p_met_with_assumptions")


def _assumption_ranking() -> pd.DataFrame:
    rows = [
        ("p_all_targets_met", "sheep_30.effect_net", "the yearly effect of sheep raising", 0.61),
        ("p_all_targets_met", "microsim.growth_wages", "the growth of wages", 0.42),
        ("p_all_targets_met", "cattle_5.failure_prob", "the failure risk of cattle", -0.30),
        ("exits_2017", "sheep_30.effect_net", "the yearly effect of sheep raising", 0.55),
    ]
    frame = pd.DataFrame(rows, columns=["indicator", "parameter", "label", "rank_correlation"])
    frame["indicator_label"] = frame["indicator"].map(
        {"p_all_targets_met": "P(all targets met)", "exits_2017": "exits by 2017"}
    )
    frame["rank"] = frame.groupby("indicator").cumcount() + 1
    frame["p_value"] = 0.01
    frame["value"], frame["low"], frame["high"] = 1.0, 0.7, 1.2
    return frame[RANKING_COLUMNS]


def fake_run_tables(seed: int = 0) -> RunTables:
    """:func:`fake_tables` as the typed hand-off :class:`~fupinsim.pipeline.RunTables`."""
    return RunTables.from_dict(fake_tables(seed))

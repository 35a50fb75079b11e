"""Assessment: the plan's three tables, county assessment, scenario summaries, files and cards.

Pure functions on the pipeline's tables (``docs/contracts.md``); nothing here reads or writes
files, prints or plots. Every function takes the tables it needs by name, ignores extra columns
and returns a new DataFrame or plain data (dicts and lists) that :mod:`fupinsim.report` and
:mod:`fupinsim.plots` turn into workbooks, HTML and figures.

The plan's words and where they are implemented:

* "three tables" (§26): :func:`three_tables` → ``poor_distribution``, ``income_targets``,
  ``reduction_tasks``;
* the two pictures' data: :func:`village_packages` (industrial project layout) and
  :func:`village_infrastructure_works` (infrastructure layout);
* "one guide": :func:`county_guide`; public announcement (§17): :func:`announcement`;
* household card, "five clarifications" (§3): :func:`household_card`; village file, "five
  things" (§4): :func:`village_file`;
* county assessment (§20-22): :func:`county_assessment`;
* headline and comparison: :func:`scenario_summary`, :func:`compare_scenarios`.

Money is yuan unless a name ends in ``_wan``; income is yuan per person per year (``_pc``).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from functools import cache
from typing import Any

import numpy as np
import pandas as pd

from fupinsim.data import COUNTY_IDS, counties, exit_schedule, immigrant_income_goal, poverty_line
from fupinsim.errors import InputError
from fupinsim.microsim.catalogue import load_catalogue
from fupinsim.registry.schema import INCOME_SOURCES, VILLAGE_INFRASTRUCTURE
from fupinsim.scenario import AssessmentSettings
from fupinsim.units import BASE_YEAR

__all__ = [
    "CITY_ID",
    "FIVE_CLARIFICATIONS",
    "FIVE_THINGS",
    "FUNDING_SOURCES",
    "INFRASTRUCTURE_WORKS",
    "PLAN_MEASURES",
    "VILLAGE_GROUPS",
    "InfrastructureWork",
    "PlanMeasure",
    "announcement",
    "compare_scenarios",
    "county_assessment",
    "county_guide",
    "county_label",
    "group_label",
    "household_card",
    "income_targets",
    "package_label",
    "package_sections",
    "plan_measures",
    "poor_distribution",
    "reduction_tasks",
    "scenario_summary",
    "three_tables",
    "village_file",
    "village_infrastructure_works",
    "village_packages",
    "village_summary",
]

#: Id of city-wide total rows (Jiuquan City, 酒泉市), as the simulation's ``county_year`` and
#: the funding pools name it.
CITY_ID = "city"
CITY_NAME_EN = "Jiuquan City (total)"
CITY_NAME_ZH = "酒泉市"
#: Village groups of the exit targets and the county-year results, in display order.
VILLAGE_GROUPS: tuple[str, ...] = ("all", "immigrant", "old")
_GROUP_WORDS = {"all": "all villages", "immigrant": "immigrant villages", "old": "old villages"}
#: A target counts as met in the assessment when P(met) reaches this (more likely than not).
MET_PROBABILITY = 0.5
_EXIT_INCIDENCE = 0.03  # village exit: incidence ≤ 3% (western rule, design §4)


# ----------------------------------------------------------------------------------------------
# The plan's measures: responsible units and time limits


@dataclass(frozen=True)
class PlanMeasure:
    """One numbered measure of the plan with its responsible unit and time limit.

    Attributes
    ----------
    section:
        The plan's item number (``"7(3)"``).
    title:
        Short name of the measure.
    target:
        The plan's quantified target for the measure, if any.
    responsible:
        "Responsible unit" as the plan assigns it (lead unit first).
    time_limit:
        "Time limit requirement" as the plan assigns it.
    """

    section: str
    title: str
    target: str
    responsible: str
    time_limit: str


_RUN = "Organise and implement 2015-2017"
_PAO = "Municipal Poverty Alleviation Office"
_COUNTIES = "counties (cities, districts)"

#: The plan's measures (§3-30) with the responsible units and time limits it assigns
#: (PLAN, ``shared/reference/jiuquan-plan-2015.txt``). The translation's noise is edited lightly:
#: "liquor"/"wine" units are Jiuquan (酒泉) units. The plan gives one responsible unit for §6(1)
#: and §6(2) together, and one for §20-22.
PLAN_MEASURES: tuple[PlanMeasure, ...] = (
    PlanMeasure(
        "3-5",
        "Files and cards for poor households and villages; identification "
        "('five steps and one announcement')",
        "One card per household, one file per village",
        f"{_PAO} leads, with {_COUNTIES}",
        "Completed by mid-June 2015",
    ),
    PlanMeasure(
        "6(1)-(2)",
        "Characteristic industries and labour economy",
        "'One labourer out, 2 mu of high-efficiency fields, 30 sheep'; > 700,000 sheep; "
        "train > 5,000 and transfer > 20,000 labourers a year",
        "Municipal Human Resources and Social Security Bureau leads, with the Municipal "
        "Education Bureau, Municipal Agriculture and Animal Husbandry Bureau, "
        f"{_PAO}, Municipal Women's Federation and {_COUNTIES}",
        _RUN,
    ),
    PlanMeasure(
        "6(3)",
        "Rural services: e-commerce, express delivery, tourism, photovoltaic",
        "Poor households first in project construction and operation",
        "Municipal Commerce Bureau leads, with the Municipal Tourism Bureau, Supply and "
        "Marketing Cooperative, Culture, Radio and Television Bureau, Energy Bureau, Post "
        f"Office, {_PAO} and {_COUNTIES}",
        _RUN,
    ),
    PlanMeasure(
        "6(4)",
        "Agricultural product processing",
        "Processing conversion > 65% by 2017",
        "Municipal Agriculture and Animal Husbandry Bureau leads, with the Municipal "
        f"Commerce Bureau, {_PAO} and {_COUNTIES}",
        _RUN,
    ),
    PlanMeasure(
        "6(5)",
        "Cooperatives, family farms, land transfer, shares",
        "At least one cooperative or mutual-aid association per poor village by 2017",
        "Municipal Agriculture and Animal Husbandry Bureau leads, with the Municipal Land "
        f"and Resources Bureau, {_PAO} and {_COUNTIES}",
        _RUN,
    ),
    PlanMeasure(
        "7(1)",
        "Safe drinking water and farmland water works",
        "100% safe drinking water; 425 km of canals by 2017",
        f"Municipal Water Affairs Bureau leads, with {_PAO} and {_COUNTIES}",
        _RUN,
    ),
    PlanMeasure(
        "7(2)",
        "Roads and buses",
        "Every village on an asphalt or cement road and a bus line by 2017",
        f"Municipal Transportation Bureau leads, with {_COUNTIES}",
        _RUN,
    ),
    PlanMeasure(
        "7(3)",
        "Dilapidated house renovation",
        "No dilapidated house left in immigrant villages by 2017",
        f"Municipal Construction Bureau leads, with {_PAO} and {_COUNTIES}",
        _RUN,
    ),
    PlanMeasure(
        "7(4)",
        "Rural power supply",
        "Normal power for poor villages and households",
        f"Municipal Energy Bureau leads, with {_PAO} and {_COUNTIES}",
        _RUN,
    ),
    PlanMeasure(
        "7(5)",
        "Ecology: farmland forest network, sand control",
        "60,000 mu by 2017",
        f"Municipal Forestry Bureau leads, with {_PAO} and {_COUNTIES}",
        _RUN,
    ),
    PlanMeasure(
        "7(6)",
        "Broadband and rural express network",
        "Broadband in every poor village by the end of 2017",
        "Municipal Commerce Bureau leads, with the Municipal Industry and Information "
        f"Technology Commission, Municipal Postal Administration and {_COUNTIES}",
        _RUN,
    ),
    PlanMeasure(
        "7(7)",
        "Village appearance",
        "Clean, tidy villages",
        "Agricultural Office of the Municipal Party Committee leads, with the Municipal "
        "Construction Bureau, Environmental Protection Bureau, Forestry Bureau and "
        f"{_COUNTIES}",
        _RUN,
    ),
    PlanMeasure(
        "7(8)",
        "Land improvement",
        "180,000 mu of saline and hardened land",
        "Municipal Land and Resources Bureau leads, with the Municipal Agriculture and "
        f"Animal Husbandry Bureau, Agricultural Development Office and {_COUNTIES}",
        _RUN,
    ),
    PlanMeasure(
        "8",
        "Education",
        "Student loans 8,000 yuan a year; free secondary vocational "
        "tuition; grants 2,000 yuan a year",
        f"Municipal Education Bureau leads, with {_PAO} and {_COUNTIES}",
        _RUN,
    ),
    PlanMeasure(
        "9",
        "Health",
        "Clinic in every poor village by 2017 (100,000 yuan subsidy); "
        "NCMS inpatient reimbursement +5 points from 2015",
        f"Municipal Health and Family Planning Commission leads, with {_PAO} and {_COUNTIES}",
        _RUN,
    ),
    PlanMeasure(
        "10",
        "Culture",
        "Culture rooms in 11 immigrant townships and 60 immigrant villages by 2017",
        f"Municipal Culture, Radio, Television and Press Bureau leads, with {_PAO} and {_COUNTIES}",
        _RUN,
    ),
    PlanMeasure(
        "11",
        "Science and technology",
        "One technology commissioner and 2-3 demonstration households per poor village",
        f"Municipal Science and Technology Bureau leads, with {_PAO} and {_COUNTIES}",
        _RUN,
    ),
    PlanMeasure(
        "12",
        "Finance: microcredit and village mutual-aid funds",
        "Microcredit up to 50,000 yuan, 3 years, no collateral, by the end of 2017; "
        "mutual-aid fund ≥ 500,000 yuan per poor village",
        "Municipal Finance Office leads, with the Municipal Finance Bureau, "
        f"{_PAO}, People's Bank of China Jiuquan Branch, Municipal Banking Regulatory "
        f"Bureau and {_COUNTIES}",
        _RUN,
    ),
    PlanMeasure(
        "13",
        "Social poverty alleviation: pairing and donations",
        "Enterprises and social organisations pair with poor households",
        "Joint Office of the Municipal Party Committee leads, with the Municipal People's "
        f"Congress Office, Municipal CPPCC Office, {_PAO} and {_COUNTIES}",
        _RUN,
    ),
    PlanMeasure(
        "14",
        "Social assistance (dibao cover for households without labour)",
        "Dibao, serious-illness aid and temporary aid for households without labour",
        f"Municipal Civil Affairs Bureau leads, with {_PAO} and {_COUNTIES}",
        _RUN,
    ),
    PlanMeasure(
        "15",
        "Talent support",
        "A strong cadre team and practical rural talent per county",
        "Organization Department of the Municipal Party Committee leads, with the "
        f"Municipal Human Resources and Social Security Bureau and {_COUNTIES}",
        _RUN,
    ),
    PlanMeasure(
        "16",
        "Household contracting by cadres",
        "Prefecture-level cadres help 2-3 poor households, county-level cadres about 3",
        "Joint Office of the Municipal Party Committee leads, with "
        f"{_PAO}, the municipal government, all units in Jiuquan and {_COUNTIES}",
        _RUN,
    ),
    PlanMeasure(
        "17",
        "Announcement system; land rights",
        "County and village announcements of targets, funds and projects",
        "Municipal Land and Resources Bureau leads, with the Municipal Agriculture and "
        f"Animal Husbandry Bureau, Public Security Bureau, {_PAO} and {_COUNTIES}",
        _RUN,
    ),
    PlanMeasure(
        "18",
        "Village-stationed work teams",
        "Teams in villages all year",
        "Organization Department of the Municipal Party Committee leads, with the Joint "
        f"Office, paired units in Jiuquan and {_COUNTIES}",
        "Organise and implement year by year 2015-2017",
    ),
    PlanMeasure(
        "19",
        "Investment: earmarks, integrated and recovered funds",
        "≥ 10% (city) and ≥ 15% (county) of the revenue increase; recover > 50% of idle "
        "funds in the year",
        f"Municipal Finance Bureau leads, with {_PAO} and {_COUNTIES}",
        _RUN,
    ),
    PlanMeasure(
        "20-22",
        "Tasks by county and year; assessment; use of results",
        "Income growth and on-schedule exits drive the assessment; a team that misses "
        "its task cannot be rated 'good'",
        "Municipal Assessment Office leads, with the Joint Office of the Municipal Party "
        f"Committee and {_PAO}",
        "Assessment method before the end of June 2015; assessment at the end of each year",
    ),
    PlanMeasure(
        "23-24",
        "Leadership and responsibility letters",
        "Responsibility letters signed city, county and township",
        "Municipal Party Committee Office leads, with the municipal government office, "
        f"{_COUNTIES} and all municipal departments",
        "Launched in June 2015; implemented 2015-2017",
    ),
    PlanMeasure(
        "25",
        "Classified guidance ('overall warfare' / 'war of annihilation')",
        "Development support for households with labour; social security cover without",
        f"{_PAO} leads, with all {_COUNTIES} and units in Jiuquan",
        "Launched in June 2015; implemented 2015-2017",
    ),
    PlanMeasure(
        "26",
        "Dynamic management; 'three tables, two pictures and one guide'",
        "Income and expenditure account per household; half-yearly monitoring",
        f"{_PAO} leads, with all {_COUNTIES}",
        "Network and work ledger by the end of 2015; analysis every six months; annual "
        "evaluation report",
    ),
    PlanMeasure(
        "27",
        "Grassroots organisations",
        "Rotation training of township and village secretaries",
        "Organization Department of the Municipal Party Committee leads, with all "
        f"{_COUNTIES} and units in Jiuquan",
        "Launched in June 2015; implemented 2015-2017",
    ),
    PlanMeasure(
        "28",
        "Supervision and inspection",
        "Monthly, bimonthly and quarterly inspections",
        "Inspection Offices of the Municipal Party Committee and Government lead, with "
        f"the Joint Office and {_PAO}",
        "Supervision of the whole process 2015-2017",
    ),
    PlanMeasure(
        "29",
        "Work style",
        "Discipline of assisting cadres",
        "Municipal Commission for Discipline Inspection (Supervision Bureau) and "
        "Organization Department of the Municipal Party Committee",
        "Regular and irregular supervision",
    ),
    PlanMeasure(
        "30",
        "Publicity",
        "Publicity plan and reporting",
        "Propaganda Department of the Municipal Party Committee leads, with the Joint "
        f"Office, {_PAO} and {_COUNTIES}",
        "Publicity plan by the end of June 2015; implemented 2015-2017",
    ),
)
_MEASURE_BY_SECTION = {m.section: m for m in PLAN_MEASURES}


def plan_measures() -> pd.DataFrame:
    """The plan's measures as a table: ``section, title, target, responsible, time_limit``."""
    return pd.DataFrame([asdict(m) for m in PLAN_MEASURES])


@dataclass(frozen=True)
class InfrastructureWork:
    """A village infrastructure work the plan requires where a village lacks it.

    Attributes
    ----------
    flag:
        The village column (``has_*``) whose ``False`` is the gap.
    work:
        What is built or set up.
    section:
        The plan's item (key of :data:`PLAN_MEASURES`).
    scope:
        Which villages the plan requires it in: ``all``, ``poor`` or ``immigrant``.
    due_year:
        The plan's deadline (end of year).
    cost_yuan:
        Cost per village where the plan states one (yuan), else ``nan``.
    package_id:
        The catalogue's village package that builds it, when the pipeline plans it (its
        ``village_works`` table gives the start year and the cost).
    """

    flag: str
    work: str
    section: str
    scope: str
    due_year: int
    cost_yuan: float = math.nan
    package_id: str | None = None


#: Village infrastructure works, one per ``has_*`` column of the villages table (PLAN §6(5),
#: §7, §9, §10, §12: each is required "by 2017" in the villages named in ``scope``).
INFRASTRUCTURE_WORKS: tuple[InfrastructureWork, ...] = (
    InfrastructureWork(
        "has_paved_road", "Asphalt or cement road", "7(2)", "all", 2017, package_id="village_road"
    ),
    InfrastructureWork("has_bus", "Bus line", "7(2)", "all", 2017),
    InfrastructureWork("has_tap_water", "Safe tap water", "7(1)", "all", 2017),
    InfrastructureWork("has_power", "Power grid upgrade", "7(4)", "poor", 2017),
    InfrastructureWork("has_broadband", "Broadband", "7(6)", "poor", 2017),
    InfrastructureWork("has_clinic", "Village clinic", "9", "poor", 2017, 100_000.0),
    InfrastructureWork("has_culture_room", "Culture room", "10", "immigrant", 2017),
    InfrastructureWork(
        "has_cooperative",
        "Cooperative or mutual-aid association",
        "6(5)",
        "poor",
        2017,
        package_id="village_market",
    ),
    InfrastructureWork(
        "has_mutual_aid_fund",
        "Mutual-aid fund (≥ 500,000 yuan)",
        "12",
        "poor",
        2017,
        500_000.0,
        package_id="village_mutual_aid",
    ),
)
_WORK_BY_FLAG = {w.flag: w for w in INFRASTRUCTURE_WORKS}

# Packages not in the catalogue (or ids from elsewhere) map to the plan's measures by these
# words of their id (a package id like "microcredit_sheep" maps to §12 and §6(1)-(2)).
_PACKAGE_KEYWORDS: tuple[tuple[tuple[str, ...], str], ...] = (
    (
        (
            "labour",
            "labor",
            "labourer",
            "transfer",
            "training",
            "train",
            "skill",
            "skills",
            "job",
            "migrant",
            "sheep",
            "30sheep",
            "cattle",
            "livestock",
            "greenhouse",
            "greenhouses",
            "field",
            "fields",
            "2mu",
            "crop",
            "crops",
            "vegetable",
            "vegetables",
            "grape",
            "grapes",
            "wolfberry",
            "licorice",
            "alfalfa",
            "fruit",
            "industry",
            "breeding",
        ),
        "6(1)-(2)",
    ),
    (("ecommerce", "commerce", "market", "tourism", "photovoltaic", "pv", "express"), "6(3)"),
    (("processing", "process"), "6(4)"),
    (("cooperative", "coop", "shares", "land"), "6(5)"),
    (("water", "canal", "irrigation"), "7(1)"),
    (("road", "roads", "bus"), "7(2)"),
    (("house", "housing", "dilapidated", "renovation"), "7(3)"),
    (("school", "education", "student", "students", "vocational", "tuition"), "8"),
    (("health", "medical", "illness", "ncms", "clinic"), "9"),
    (("credit", "microcredit", "loan", "loans", "finance", "mutual", "aid"), "12"),
    (("dibao", "wubao", "assistance", "social", "cover", "security"), "14"),
)


def _measure_key(section: str) -> str | None:
    """Key of :data:`PLAN_MEASURES` for a plan reference like ``"§6(1)"`` or ``"20"``."""
    text = str(section).strip().lstrip("§").strip()
    if text in _MEASURE_BY_SECTION:
        return text
    if text.startswith(("6(1)", "6(2)")):
        return "6(1)-(2)"
    head = text.split("(")[0]
    if not head.isdigit():
        return None
    number = int(head)
    for key in _MEASURE_BY_SECTION:
        if "-" in key and "(" not in key:
            low, high = (int(x) for x in key.split("-"))
            if low <= number <= high:
                return key
    return None


@cache
def _catalogue_packages() -> dict[str, tuple[str, tuple[str, ...]]]:
    """Package id → (name, the plan's measures of its entries) from the intervention catalogue."""
    catalogue = load_catalogue()
    out: dict[str, tuple[str, tuple[str, ...]]] = {}
    for package_id, package in catalogue.packages.items():
        keys: list[str] = []
        for entry_id in package.entries:
            entry = catalogue.entry(entry_id)
            # An entry lent as poverty microcredit also belongs to the finance measure (§12).
            for key in (_measure_key(entry.plan_section), "12" if entry.financing else None):
                if key is not None and key not in keys:
                    keys.append(key)
        order = [m.section for m in PLAN_MEASURES]
        out[str(package_id)] = (str(package.name), tuple(sorted(keys, key=order.index)))
    return out


def package_sections(
    package_id: str, mapping: Mapping[str, Sequence[str]] | None = None
) -> list[str]:
    """The plan's measures (keys of :data:`PLAN_MEASURES`) a package belongs to.

    Parameters
    ----------
    package_id
        Package id.
    mapping
        Explicit ``package_id -> sections`` that wins over everything else.

    Returns
    -------
    list of str
        In plan order. From ``mapping``, else from the intervention catalogue (the
        ``plan_section`` of the package's entries), else from the words of the id; empty when
        nothing matches.
    """
    if mapping is not None and package_id in mapping:
        return list(mapping[package_id])
    known = _catalogue_packages().get(str(package_id))
    if known is not None and known[1]:
        return list(known[1])
    words = set(str(package_id).lower().replace("-", "_").split("_"))
    found = {section for stems, section in _PACKAGE_KEYWORDS if words & set(stems)}
    order = [m.section for m in PLAN_MEASURES]
    return sorted(found, key=order.index)


def package_label(package_id: str, labels: Mapping[str, str] | None = None) -> str:
    """Readable package name: from ``labels``, else the catalogue's name, else the id in words."""
    if labels is not None and package_id in labels:
        return labels[package_id]
    known = _catalogue_packages().get(str(package_id))
    if known is not None:
        return known[0]
    text = str(package_id).replace("_", " ").strip()
    return text[:1].upper() + text[1:]


# ----------------------------------------------------------------------------------------------
# Names


def county_label(county_id: str, *, chinese: bool = False, short: bool = False) -> str:
    """County name: ``'Guazhou County'``, ``'Guazhou'`` (short) or ``'瓜州县'`` (Chinese).

    The city-wide id :data:`CITY_ID` gives ``'Jiuquan City (total)'`` / ``'酒泉市'``.
    """
    if county_id == CITY_ID:
        return CITY_NAME_ZH if chinese else ("Jiuquan" if short else CITY_NAME_EN)
    if short:
        return str(county_id).capitalize()
    table = counties()
    if county_id not in table.index:
        return str(county_id)
    return str(table.loc[county_id, "name_zh" if chinese else "name_en"])


def group_label(county_id: str, villages: str, *, short: bool = False) -> str:
    """Target group in words: ``'Guazhou County, immigrant villages'`` (or ``'Guazhou'``)."""
    name = county_label(county_id, short=short)
    if villages == "all":
        return name
    return f"{name}, {_GROUP_WORDS.get(villages, villages)}"


def _county_order(values: Iterable[str]) -> list[str]:
    values = list(dict.fromkeys(str(v) for v in values))
    known = [c for c in COUNTY_IDS if c in values]
    return known + sorted(v for v in values if v not in COUNTY_IDS)


def _sort_groups(frame: pd.DataFrame, extra: Sequence[str] = ("year",)) -> pd.DataFrame:
    """Rows in plan county order, then village group (all, immigrant, old), then ``extra``."""
    out = frame.copy()
    order = {c: i for i, c in enumerate([*COUNTY_IDS, CITY_ID])}
    out["_c"] = out["county_id"].astype(str).map(order).fillna(len(order))
    if "villages" in out:
        out["_v"] = out["villages"].astype(str).map({g: i for i, g in enumerate(VILLAGE_GROUPS)})
    keys = ["_c", *(["_v"] if "villages" in out else []), *[k for k in extra if k in out]]
    out = out.sort_values(keys, kind="stable").drop(columns=[c for c in ("_c", "_v") if c in out])
    return out.reset_index(drop=True)


def _add_names(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    ids = out["county_id"].astype(str)
    at = list(out.columns).index("county_id") + 1
    out.insert(at, "county", ids.map(county_label))
    out.insert(
        at + 1,
        "county_zh",
        ids.map(lambda c: county_label(c, chinese=True)),
    )
    return out


def _villages_of(households: pd.DataFrame) -> pd.Series:
    return pd.Series(
        np.where(households["is_immigrant"].astype(bool), "immigrant", "old"),
        index=households.index,
    )


# ----------------------------------------------------------------------------------------------
# Table 1: distribution of poor villages and poor population


def poor_distribution(households: pd.DataFrame, villages: pd.DataFrame) -> pd.DataFrame:
    """Table 1: poor villages and poor population by county and immigrant/old villages.

    Parameters
    ----------
    households
        Registry households: ``household_id, village_id, county_id, is_immigrant, n_members,
        is_registered, support_class``.
    villages
        Registry villages: ``village_id, county_id, is_immigrant, is_poor_village``.

    Returns
    -------
    DataFrame
        One row per county and village type present (``villages`` = ``immigrant``/``old``), a
        county row ``all`` where a county has both types, and city rows (``county_id`` =
        :data:`CITY_ID`) for immigrant, old and all villages. Columns ``county_id, county,
        county_zh, villages, n_villages, n_poor_villages, n_households, population,
        n_poor_households, n_poor_people, poverty_incidence`` (share of people in registered
        poor households), ``n_development, n_social_security`` (registered households by §25
        support class).
    """
    hh = pd.DataFrame(
        {
            "county_id": households["county_id"].astype(str),
            "villages": _villages_of(households),
            "members": households["n_members"].astype("int64"),
            "poor": households["is_registered"].astype(bool),
        }
    )
    support = households.get("support_class")
    support = support.astype("object") if support is not None else pd.Series(None, index=hh.index)
    hh["poor_people"] = hh["members"].where(hh["poor"], 0)
    hh["development"] = hh["poor"] & (support == "development")
    hh["social_security"] = hh["poor"] & (support == "social_security")
    vil = pd.DataFrame(
        {
            "county_id": villages["county_id"].astype(str),
            "villages": np.where(villages["is_immigrant"].astype(bool), "immigrant", "old"),
            "poor_village": villages["is_poor_village"].astype(bool),
        }
    )

    def summarise(h: pd.DataFrame, v: pd.DataFrame) -> dict[str, Any]:
        population = int(h["members"].sum())
        poor_people = int(h["poor_people"].sum())
        return {
            "n_villages": len(v),
            "n_poor_villages": int(v["poor_village"].sum()),
            "n_households": len(h),
            "population": population,
            "n_poor_households": int(h["poor"].sum()),
            "n_poor_people": poor_people,
            "poverty_incidence": poor_people / population if population else math.nan,
            "n_development": int(h["development"].sum()),
            "n_social_security": int(h["social_security"].sum()),
        }

    rows = []
    for county in _county_order(vil["county_id"].tolist() + hh["county_id"].tolist()):
        h_c, v_c = hh[hh["county_id"] == county], vil[vil["county_id"] == county]
        kinds = [k for k in ("immigrant", "old") if (v_c["villages"] == k).any()]
        for kind in kinds:
            part = summarise(h_c[h_c["villages"] == kind], v_c[v_c["villages"] == kind])
            rows.append({"county_id": county, "villages": kind, **part})
        if len(kinds) > 1:
            rows.append({"county_id": county, "villages": "all", **summarise(h_c, v_c)})
    for kind in ("immigrant", "old"):
        part = summarise(hh[hh["villages"] == kind], vil[vil["villages"] == kind])
        rows.append({"county_id": CITY_ID, "villages": kind, **part})
    rows.append({"county_id": CITY_ID, "villages": "all", **summarise(hh, vil)})
    return _add_names(pd.DataFrame(rows))


# ----------------------------------------------------------------------------------------------
# Table 2: income targets


def _indicator(county_year: pd.DataFrame, indicator: str) -> pd.DataFrame:
    part = county_year[county_year["indicator"] == indicator].copy()
    part["county_id"] = part["county_id"].astype(str)
    part["villages"] = part["villages"].astype(str)
    part["year"] = part["year"].astype("int64")
    return part


def _split_groups_only_where_split(part: pd.DataFrame) -> pd.DataFrame:
    """Drop ``immigrant``/``old`` rows of counties that have only one kind of village and an
    ``all`` row (they repeat it)."""
    kinds = part[part["villages"] != "all"].groupby("county_id")["villages"].nunique()
    with_all = set(part.loc[part["villages"] == "all", "county_id"])
    redundant = set(kinds[kinds == 1].index) & with_all
    keep = (part["villages"] == "all") | ~part["county_id"].isin(redundant)
    return part[keep]


def _goal_factor(year: int, base_year: int) -> float:
    """Multiple of base-year income the plan asks for by ``year`` (doubling by the target year)."""
    goal = immigrant_income_goal()
    target_year, multiple = int(goal["target_year"]), float(goal["multiple"])
    if year > target_year:
        return math.nan
    return multiple ** ((year - base_year) / (target_year - base_year))


def income_targets(
    county_year: pd.DataFrame,
    *,
    households: pd.DataFrame | None = None,
    base_year: int = BASE_YEAR,
) -> pd.DataFrame:
    """Table 2: per-capita net income of registered poor households, target and projection.

    Parameters
    ----------
    county_year
        Simulation quantiles (``county_id, villages, year, indicator, mean, p05, p50, p95``);
        rows with ``indicator == 'mean_income_pc'`` are used (mean income of registered
        households, yuan per person per year; the quantiles are over replications).
    households
        Registry households; used for the base-year income when ``county_year`` has no
        ``base_year`` row (mean ``income_pc`` of registered households, by group).
    base_year
        Year of the base income (plan §2: "on the basis of 2014").

    Returns
    -------
    DataFrame
        One row per county, village group and year after ``base_year``: ``county_id, county,
        county_zh, villages, year, base_income_pc, goal_income_pc, poverty_line_pc,
        projected_p05, projected_p50, projected_p95, projected_mean, growth_p50`` (p50 over
        base, share), ``p50_meets_goal``, ``goal_basis``. The goal is the plan §2 path to
        double the base income by 2017 (``base × 2^((year−2014)/3)``, ≥ 25 % a year), stated for
        immigrant villages and applied to every group as the city's reference; the plan sets no
        goal after 2017 (``nan``).
    """
    part = _split_groups_only_where_split(_indicator(county_year, "mean_income_pc"))
    base = part[part["year"] == base_year].set_index(["county_id", "villages"])["mean"]
    if households is not None:
        registered = households[households["is_registered"].astype(bool)]
        fallback: dict[tuple[str, str], float] = {}
        for (county, kind), incomes in registered.groupby(
            [registered["county_id"].astype(str), _villages_of(registered)]
        )["income_pc"]:
            fallback[(str(county), str(kind))] = float(incomes.mean())
        for county, incomes in registered.groupby(registered["county_id"].astype(str))["income_pc"]:
            fallback[(str(county), "all")] = float(incomes.mean())
        for key, value in fallback.items():
            if key not in base.index:
                base.loc[key] = value
    out = part[part["year"] > base_year].copy()
    keys = list(zip(out["county_id"], out["villages"], strict=True))
    out["base_income_pc"] = [float(base.get(k, math.nan)) for k in keys]
    factors = out["year"].map(lambda y: _goal_factor(int(y), base_year))
    out["goal_income_pc"] = out["base_income_pc"] * factors
    out["poverty_line_pc"] = out["year"].map(lambda y: _line_or_nan(int(y)))
    out = out.rename(
        columns={
            "p05": "projected_p05",
            "p50": "projected_p50",
            "p95": "projected_p95",
            "mean": "projected_mean",
        }
    )
    out["growth_p50"] = out["projected_p50"] / out["base_income_pc"] - 1.0
    out["p50_meets_goal"] = (out["projected_p50"] >= out["goal_income_pc"]).where(
        out["goal_income_pc"].notna()
    )
    out["goal_basis"] = np.where(
        out["villages"] == "immigrant",
        "PLAN §2: immigrants' income doubles 2014-2017",
        "PLAN §2 doubling path applied as the city's reference",
    )
    columns = [
        "county_id",
        "villages",
        "year",
        "base_income_pc",
        "goal_income_pc",
        "poverty_line_pc",
        "projected_p05",
        "projected_p50",
        "projected_p95",
        "projected_mean",
        "growth_p50",
        "p50_meets_goal",
        "goal_basis",
    ]
    return _add_names(_sort_groups(out[columns]))


def _line_or_nan(year: int) -> float:
    try:
        return float(poverty_line(year))
    except KeyError:
        return math.nan


# ----------------------------------------------------------------------------------------------
# Table 3: poverty-reduction tasks


def reduction_tasks(
    target_probability: pd.DataFrame,
    *,
    exit_targets: pd.DataFrame | None = None,
    shortfall: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Table 3: exit tasks by county and year — target, planned, projected, P(target met).

    Parameters
    ----------
    target_probability
        ``county_id, villages, year, target_exits, projected_exits_mean, projected_exits_p05,
        projected_exits_p95, p_met`` (cumulative households; Monte Carlo of the plan).
    exit_targets
        Optional ``county_id, villages, year, target_share, n_registered`` (adds the registered
        households and the schedule's share).
    shortfall
        Optional allocation shortfall ``county_id, villages, year, projected_exits,
        missing_exits, extra_yuan_to_close``: ``projected_exits`` is the allocation's planned
        cumulative exits.

    Returns
    -------
    DataFrame
        ``county_id, county, county_zh, villages, year, n_registered, target_share,
        target_exits`` (cumulative), ``target_exits_in_year, planned_exits, missing_exits,
        extra_yuan_to_close, projected_exits_mean, projected_exits_p05, projected_exits_p95,
        p_met``; then one city total row per year (``county_id`` = :data:`CITY_ID`, sums of
        households and money; ``p_met`` empty because probabilities do not add).
    """
    keys = ["county_id", "villages", "year"]
    out = target_probability.copy()
    for key in ("county_id", "villages"):
        out[key] = out[key].astype(str)
    out = out[out["county_id"] != CITY_ID]  # city totals are recomputed below
    out["year"] = out["year"].astype("int64")
    wanted = [c for c in ("target_share", "n_registered") if c not in out.columns]
    if exit_targets is not None and wanted:
        extra = exit_targets[[*keys, *[c for c in wanted if c in exit_targets]]].copy()
        extra["county_id"] = extra["county_id"].astype(str)
        extra["villages"] = extra["villages"].astype(str)
        out = out.merge(extra, on=keys, how="left")
    for column in ("target_share", "n_registered"):
        if column not in out:
            out[column] = math.nan
    if shortfall is not None:
        plan = shortfall[[*keys, "projected_exits", "missing_exits", "extra_yuan_to_close"]].copy()
        plan = plan.rename(columns={"projected_exits": "planned_exits"})
        plan["county_id"] = plan["county_id"].astype(str)
        plan["villages"] = plan["villages"].astype(str)
        out = out.merge(plan, on=keys, how="left")
    else:
        out["planned_exits"] = math.nan
        out["missing_exits"] = math.nan
        out["extra_yuan_to_close"] = math.nan
    out = _sort_groups(out)
    previous = out.groupby(["county_id", "villages"])["target_exits"].shift(1).fillna(0)
    out["target_exits_in_year"] = out["target_exits"] - previous
    columns = [
        "county_id",
        "villages",
        "year",
        "n_registered",
        "target_share",
        "target_exits",
        "target_exits_in_year",
        "planned_exits",
        "missing_exits",
        "extra_yuan_to_close",
        "projected_exits_mean",
        "projected_exits_p05",
        "projected_exits_p95",
        "p_met",
    ]
    out = out[columns]
    sums = [
        "n_registered",
        "target_exits",
        "target_exits_in_year",
        "planned_exits",
        "missing_exits",
        "extra_yuan_to_close",
        "projected_exits_mean",
    ]
    totals = out.groupby("year")[sums].sum(min_count=1).reset_index()
    totals["county_id"] = CITY_ID
    totals["villages"] = "all"
    totals["target_share"] = totals["target_exits"] / totals["n_registered"]
    out = pd.concat([out, totals[[c for c in columns if c in totals]]], ignore_index=True)
    return _add_names(out)


def three_tables(
    *,
    households: pd.DataFrame,
    villages: pd.DataFrame,
    county_year: pd.DataFrame,
    target_probability: pd.DataFrame,
    exit_targets: pd.DataFrame | None = None,
    shortfall: pd.DataFrame | None = None,
    base_year: int = BASE_YEAR,
) -> dict[str, pd.DataFrame]:
    """The plan's three tables (§26) for one scenario.

    Returns
    -------
    dict of str to DataFrame
        ``poor_distribution`` (:func:`poor_distribution`), ``income_targets``
        (:func:`income_targets`), ``reduction_tasks`` (:func:`reduction_tasks`).
    """
    return {
        "poor_distribution": poor_distribution(households, villages),
        "income_targets": income_targets(county_year, households=households, base_year=base_year),
        "reduction_tasks": reduction_tasks(
            target_probability, exit_targets=exit_targets, shortfall=shortfall
        ),
    }


# ----------------------------------------------------------------------------------------------
# County assessment (§20-22)


def _county_income(county_year: pd.DataFrame, indicator: str) -> pd.DataFrame:
    """Per county and year, the indicator's replication mean (the ``all`` group, or the mean of
    the county's groups when it has no ``all`` row)."""
    part = _indicator(county_year, indicator)
    whole = part[part["villages"] == "all"]
    missing = sorted(set(part["county_id"]) - set(whole["county_id"]))
    pieces: list[pd.DataFrame] = [whole[["county_id", "year", "mean"]]]
    if missing:
        rest = part[part["county_id"].isin(missing)]
        pieces.append(
            rest.groupby(["county_id", "year"], as_index=False).agg(mean=("mean", "mean"))
        )
    return pd.concat(pieces, ignore_index=True)


def _growth(values: pd.DataFrame, year: int, base_year: int) -> pd.Series:
    table = values.pivot_table(index="county_id", columns="year", values="mean", aggfunc="first")
    if year not in table or base_year not in table:
        return pd.Series(math.nan, index=table.index)
    ratio = table[year] / table[base_year]
    return ratio.clip(lower=0.0) ** (1.0 / (year - base_year)) - 1.0


def county_assessment(
    county_year: pd.DataFrame,
    target_probability: pd.DataFrame,
    settings: AssessmentSettings | None = None,
    *,
    years: Sequence[int] | None = None,
    base_year: int = BASE_YEAR,
    growth_goal: float | None = None,
    met_probability: float = MET_PROBABILITY,
    village_income_indicator: str = "mean_income_pc_all",
) -> pd.DataFrame:
    """Score, rank and rate each county as the plan's assessment does (§20-22).

    For a county and assessment year ``Y`` the score (0-100 points) is
    ``100 × (w_h·s_h + w_v·s_v + w_e·s_e)`` with the weights of ``settings``:

    * ``s_h`` — income growth of poor households: average yearly growth of the mean per-capita
      net income of registered households (``mean_income_pc``) from ``base_year`` to ``Y``,
      divided by the plan's growth goal (``growth_goal``, default 25 % a year, PLAN §2), capped
      to 0-1;
    * ``s_v`` — income growth of poor villages: the same for the mean income of all households
      in the registry's villages (``village_income_indicator``, default ``mean_income_pc_all``;
      the registry covers the villages with poor households);
    * ``s_e`` — on-schedule exits: the expected share of the county's exit targets due by ``Y``
      (every target group and year ≤ ``Y``) that are met, i.e. the mean of ``p_met``.

    A target counts as *missed* when ``p_met < met_probability`` (more likely missed than met).
    A county is rated ``good`` only when its score reaches ``settings.good_threshold`` *and* it
    misses no target (§22: a team that fails its task cannot be rated good); otherwise
    ``not good``.

    Parameters
    ----------
    county_year
        ``county_id, villages, year, indicator, mean`` with indicators ``mean_income_pc`` and
        ``village_income_indicator`` (yuan per person per year), including ``base_year``.
    target_probability
        ``county_id, villages, year, target_exits, p_met``.
    settings
        Weights and the good threshold (scenario ``assessment`` section).
    years
        Assessment years (default: every year of ``target_probability``).
    base_year
        Income base year.
    growth_goal
        Yearly growth that scores full marks (share per year).
    met_probability
        P(met) from which a target counts as met.
    village_income_indicator
        ``county_year`` indicator used for the villages' income.

    Returns
    -------
    DataFrame
        One row per county and year: ``county_id, county, county_zh, year, growth_households,
        score_income_households, growth_villages, score_income_villages, n_targets_due,
        n_targets_missed, share_targets_met_expected, score_exits, score`` (points 0-100),
        ``rank`` (1 = best in the year), ``all_targets_met, rating, rating_note``.
    """
    settings = settings or AssessmentSettings()
    goal = float(immigrant_income_goal()["growth_per_year"]) if growth_goal is None else growth_goal
    if goal <= 0:
        raise ValueError(f"growth_goal must be > 0; got {goal}")
    tp = target_probability.copy()
    tp["county_id"] = tp["county_id"].astype(str)
    tp["year"] = tp["year"].astype("int64")
    if years is None:
        years = sorted(int(y) for y in tp["year"].unique())
    tp = tp[tp["county_id"] != CITY_ID]
    households_income = _county_income(county_year, "mean_income_pc")
    village_income = _county_income(county_year, village_income_indicator)
    county_ids = [
        c
        for c in _county_order(tp["county_id"].tolist() + households_income["county_id"].tolist())
        if c != CITY_ID
    ]
    rows = []
    for year in years:
        g_h = _growth(households_income, int(year), base_year)
        g_v = _growth(village_income, int(year), base_year)
        for county in county_ids:
            due = tp[(tp["county_id"] == county) & (tp["year"] <= year)]
            n_missed = int((due["p_met"] < met_probability).sum())
            s_e = float(due["p_met"].mean()) if len(due) else 1.0
            gh = float(g_h.get(county, math.nan))
            gv = float(g_v.get(county, math.nan))
            s_h = _clip01(gh / goal)
            s_v = _clip01(gv / goal)
            score = 100.0 * (
                settings.weight_income_growth_households * s_h
                + settings.weight_income_growth_villages * s_v
                + settings.weight_on_schedule_exits * s_e
            )
            rows.append(
                {
                    "county_id": county,
                    "year": int(year),
                    "growth_households": gh,
                    "score_income_households": s_h,
                    "growth_villages": gv,
                    "score_income_villages": s_v,
                    "n_targets_due": len(due),
                    "n_targets_missed": n_missed,
                    "share_targets_met_expected": s_e,
                    "score_exits": s_e,
                    "score": score,
                }
            )
    out = pd.DataFrame(rows)
    out["rank"] = out.groupby("year")["score"].rank(ascending=False, method="min").astype("int64")
    out["all_targets_met"] = out["n_targets_missed"] == 0
    above = out["score"] >= settings.good_threshold
    out["rating"] = np.where(above & out["all_targets_met"], "good", "not good")
    out["rating_note"] = [
        _rating_note(score, threshold=settings.good_threshold, missed=missed)
        for score, missed in zip(out["score"], out["n_targets_missed"], strict=True)
    ]
    return _add_names(out.sort_values(["year", "rank", "county_id"], ignore_index=True))


def _clip01(value: float) -> float:
    if math.isnan(value):
        return 0.0
    return min(1.0, max(0.0, value))


def _rating_note(score: float, *, threshold: float, missed: int) -> str:
    if missed and score >= threshold:
        return (
            f"score {score:.0f} ≥ {threshold:.0f} but {missed} target(s) missed: cannot be "
            "rated good (plan §22)"
        )
    if missed:
        return f"score {score:.0f} < {threshold:.0f}; {missed} target(s) missed"
    if score >= threshold:
        return f"score {score:.0f} ≥ {threshold:.0f} and every target met"
    return f"score {score:.0f} < {threshold:.0f}"


# ----------------------------------------------------------------------------------------------
# Headline summary and scenario comparison


def scenario_summary(
    *,
    scenario_id: str,
    target_probability: pd.DataFrame,
    funding: pd.DataFrame | None = None,
    allocation: pd.DataFrame | None = None,
    shortfall: pd.DataFrame | None = None,
    title: str = "",
    required_confidence: float = 0.9,
    final_year: int | None = None,
    p_all_targets_met: float | None = None,
) -> dict[str, Any]:
    """Headline numbers of one scenario (the report's first box, one comparison row).

    Parameters
    ----------
    scenario_id, title
        Scenario id and one-line title.
    target_probability
        ``county_id, villages, year, target_exits, projected_exits_mean, p_met``.
    funding
        ``pool, source, year, amount_yuan`` (money available).
    allocation
        ``fiscal_yuan, credit_yuan, household_yuan`` (money the plan spends).
    shortfall
        ``county_id, villages, year, missing_exits, extra_yuan_to_close``.
    required_confidence
        P(met) below which a target group counts as at risk (scenario
        ``allocation.required_confidence``).
    final_year
        Year of the final targets (default: last year of ``target_probability``).
    p_all_targets_met
        P(every target met) from the replications, when the pipeline has it. Without it, an
        approximation: counties independent, and within a target group the years fully
        dependent, so ``Π over groups of min over years of p_met``.

    Returns
    -------
    dict
        ``scenario_id, title, final_year, target_exits, projected_exits_mean, exits_share,
        p_all_targets_met, p_all_method, p_min, money_available_yuan, money_allocated_yuan``
        (fiscal), ``credit_yuan, household_yuan, money_missing_yuan, missing_exits,
        at_risk`` (list of dicts ``county_id, villages, label, year, p_met``, worst first),
        ``verdict`` (``on track`` / ``at risk`` / ``unlikely``), ``verdict_text``.
        ``targets_missed_by_plan`` (allocation shortfall rows with missing exits) and
        ``targets_money_cannot_close`` (of those, with no amount of money that closes them).
        ``money_missing_yuan`` sums, over target groups, the largest ``extra_yuan_to_close``
        of any year (closing the worst year's cumulative gap closes the others).
    """
    tp = target_probability.copy()
    tp["county_id"] = tp["county_id"].astype(str)
    tp["villages"] = tp["villages"].astype(str)
    tp = tp[tp["county_id"] != CITY_ID]
    final = int(tp["year"].max()) if final_year is None else int(final_year)
    last = tp[tp["year"] == final]
    target = float(last["target_exits"].sum())
    projected = float(last["projected_exits_mean"].sum())
    worst = tp.loc[tp.groupby(["county_id", "villages"])["p_met"].idxmin()]
    if p_all_targets_met is None:
        p_all = float(np.prod(worst["p_met"].to_numpy(dtype=float)))
        method = "approximate: product over target groups of each group's lowest P(met)"
    else:
        p_all, method = float(p_all_targets_met), "simulated (share of replications)"
    at_risk = worst[worst["p_met"] < required_confidence].sort_values("p_met")
    risk_list = [
        {
            "county_id": str(r["county_id"]),
            "villages": str(r["villages"]),
            "label": group_label(str(r["county_id"]), str(r["villages"])),
            "year": int(r["year"]),
            "p_met": float(r["p_met"]),
        }
        for r in at_risk.to_dict("records")
    ]
    money_missing, missing_exits = 0.0, 0.0
    n_missed, n_money_cannot = 0, 0
    if shortfall is not None and len(shortfall):
        sf = shortfall.copy()
        sf["county_id"] = sf["county_id"].astype(str)
        sf["villages"] = sf["villages"].astype(str)
        grouped = sf.groupby(["county_id", "villages"])
        money_missing = float(grouped["extra_yuan_to_close"].max().sum())
        missing_exits = float(sf.loc[sf["year"] == final, "missing_exits"].sum())
        missed = sf["missing_exits"] > 0
        n_missed = int(missed.sum())
        # NaN money: no amount closes the gap (capacity or exit yield binds).
        n_money_cannot = int((missed & sf["extra_yuan_to_close"].isna()).sum())
    if p_all >= required_confidence:
        verdict = "on track"
        text = f"The {final} targets will very likely be met (P(all targets met) = {p_all:.0%})."
    elif p_all >= 0.5:
        verdict = "at risk"
        text = (
            f"The {final} targets are at risk: P(all targets met) = {p_all:.0%}, below the "
            f"required {required_confidence:.0%}."
        )
    else:
        verdict = "unlikely"
        text = (
            f"The {final} targets will probably not all be met: P(all targets met) = {p_all:.0%}."
        )
    return {
        "scenario_id": scenario_id,
        "title": title,
        "final_year": final,
        "target_exits": target,
        "projected_exits_mean": projected,
        "exits_share": projected / target if target else math.nan,
        "p_all_targets_met": p_all,
        "p_all_method": method,
        "p_min": float(tp["p_met"].min()) if len(tp) else math.nan,
        "required_confidence": required_confidence,
        "money_available_yuan": _sum(funding, "amount_yuan"),
        "money_allocated_yuan": _sum(allocation, "fiscal_yuan"),
        "credit_yuan": _sum(allocation, "credit_yuan"),
        "household_yuan": _sum(allocation, "household_yuan"),
        "money_missing_yuan": money_missing,
        "missing_exits": missing_exits,
        "targets_missed_by_plan": n_missed,
        "targets_money_cannot_close": n_money_cannot,
        "at_risk": risk_list,
        "verdict": verdict,
        "verdict_text": text,
    }


def _sum(frame: pd.DataFrame | None, column: str) -> float:
    if frame is None or column not in frame:
        return math.nan
    return float(frame[column].sum())


def compare_scenarios(summaries: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    """One row per scenario from :func:`scenario_summary` dicts, in the given order.

    Returns
    -------
    DataFrame
        ``scenario_id, title, final_year, target_exits, projected_exits_mean, exits_share,
        missing_exits, money_available_yuan, cost_fiscal_yuan, money_missing_yuan,
        p_all_targets_met, p_min, n_groups_at_risk, verdict``.
    """
    rows = [
        {
            "scenario_id": s["scenario_id"],
            "title": s.get("title", ""),
            "final_year": s.get("final_year"),
            "target_exits": s.get("target_exits", math.nan),
            "projected_exits_mean": s.get("projected_exits_mean", math.nan),
            "exits_share": s.get("exits_share", math.nan),
            "missing_exits": s.get("missing_exits", math.nan),
            "money_available_yuan": s.get("money_available_yuan", math.nan),
            "cost_fiscal_yuan": s.get("money_allocated_yuan", math.nan),
            "money_missing_yuan": s.get("money_missing_yuan", math.nan),
            "p_all_targets_met": s.get("p_all_targets_met", math.nan),
            "p_min": s.get("p_min", math.nan),
            "n_groups_at_risk": len(s.get("at_risk", [])),
            "verdict": s.get("verdict", ""),
        }
        for s in summaries
    ]
    columns = [
        "scenario_id",
        "title",
        "final_year",
        "target_exits",
        "projected_exits_mean",
        "exits_share",
        "missing_exits",
        "money_available_yuan",
        "cost_fiscal_yuan",
        "money_missing_yuan",
        "p_all_targets_met",
        "p_min",
        "n_groups_at_risk",
        "verdict",
    ]
    return pd.DataFrame(rows, columns=columns)


# ----------------------------------------------------------------------------------------------
# Village tables for the two pictures


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
    rows = []
    for village in villages.to_dict("records"):
        for flag in VILLAGE_INFRASTRUCTURE:
            if flag not in village or bool(village[flag]):
                continue
            work = _WORK_BY_FLAG[flag]
            in_scope = (
                work.scope == "all"
                or (work.scope == "poor" and bool(village["is_poor_village"]))
                or (work.scope == "immigrant" and bool(village["is_immigrant"]))
            )
            measure = _MEASURE_BY_SECTION[work.section]
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
    columns = [
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
    out = pd.DataFrame(rows, columns=columns)
    out["due_year"] = out["due_year"].astype("Int64")
    out["start_year"] = out["start_year"].astype("Int64")
    return out


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
    return _sort_groups(out, extra=("village_id",))


# ----------------------------------------------------------------------------------------------
# Household card: "five clarifications" (§3)

_CAUSE_WORDS = {
    "illness": "illness",
    "disability": "disability",
    "schooling": "schooling costs",
    "disaster": "natural disaster",
    "marriage": "marriage costs",
    "lack_land": "lack of land",
    "lack_water": "lack of water",
    "lack_skills": "lack of skills",
    "lack_funds": "lack of funds",
    "lack_labour": "lack of labour",
    "poor_transport": "poor transport",
    "lack_motivation": "lack of motivation",
    "other": "other",
}
_SOURCE_WORDS = {
    "income_wages": "Wages (work away and local)",
    "income_crops": "Crops (gross)",
    "income_livestock": "Livestock (gross)",
    "income_greenhouse": "Greenhouses (gross)",
    "income_business": "Other business (net)",
    "income_property": "Property (land rent, dividends)",
    "income_transfers": "Transfers (dibao, pension, subsidies)",
}
_STUDENT_COLUMNS = {
    "n_students_primary": "primary",
    "n_students_junior": "junior secondary",
    "n_students_senior": "senior secondary",
    "n_students_vocational": "secondary vocational",
    "n_students_tertiary": "higher education",
}
#: The five clarifications (§3) and the five things (§4), English and Chinese headings.
FIVE_CLARIFICATIONS: tuple[tuple[str, str, str], ...] = (
    ("numbers", "Clear numbers", "底数清"),
    ("problems", "Clear problems", "问题清"),
    ("countermeasures", "Clear countermeasures", "对策清"),
    ("responsibility", "Clear responsibility", "责任清"),
    ("tasks", "Clear tasks", "任务清"),
)
FIVE_THINGS: tuple[tuple[str, str], ...] = (
    ("situation", "Village situation file"),
    ("problems", "Problem account"),
    ("demands", "Demand list"),
    ("leadership", "Leadership contact and unit assistance"),
    ("monitoring", "Monitoring: income plan and exit time limit"),
)


def _row(frame: pd.DataFrame, column: str, value: int, table: str) -> dict[str, Any]:
    match = frame[frame[column] == value]
    if match.empty:
        raise InputError.single(
            f"{table} table, column {column}",
            value,
            f"must be a {column.removesuffix('_id')} id present in the {table} table",
            fix=f"look the id up in tables/{table}.csv",
        )
    return {str(k): v for k, v in match.iloc[0].to_dict().items()}


def _is_true(value: Any) -> bool:
    return bool(value) if value is not None and not pd.isna(value) else False


def _int(value: Any) -> int | None:
    return None if value is None or pd.isna(value) else int(value)


def _target_group(county_id: str, is_immigrant: bool, exit_targets: pd.DataFrame | None) -> str:
    groups = _schedule(exit_targets)
    kinds = set(groups.loc[groups["county_id"] == county_id, "villages"])
    if "all" in kinds or not kinds:
        return "all"
    return "immigrant" if is_immigrant else "old"


def _schedule(exit_targets: pd.DataFrame | None) -> pd.DataFrame:
    if exit_targets is not None and len(exit_targets):
        out = exit_targets[["county_id", "villages", "year", "target_share"]].copy()
    else:
        out = exit_schedule().rename(columns={"county": "county_id", "share": "target_share"})
    out["county_id"] = out["county_id"].astype(str)
    out["villages"] = out["villages"].astype(str)
    return out


def _deadline(county_id: str, villages: str, exit_targets: pd.DataFrame | None) -> int | None:
    """First year by which the group's whole target (share 1) must be reached."""
    sched = _schedule(exit_targets)
    part = sched[(sched["county_id"] == county_id) & (sched["villages"] == villages)]
    done = part[part["target_share"] >= 1.0 - 1e-9]
    return int(done["year"].min()) if len(done) else None


def _problems(hh: Mapping[str, Any], line: float, line_year: int) -> list[dict[str, str]]:
    """Problems a card lists, from the registry row (rules documented in :func:`household_card`)."""
    out: list[dict[str, str]] = []

    def add(text: str, section: str) -> None:
        out.append({"problem": text, "section": section})

    income = float(hh["income_pc"])
    if income < line:
        add(
            f"Per-capita net income {income:,.0f} yuan is {line - income:,.0f} yuan below the "
            f"{line_year} poverty line of {line:,.0f} yuan",
            "2",
        )
    cause = hh.get("main_cause")
    if cause is not None and not pd.isna(cause):
        add(f"Main cause of poverty recorded: {_CAUSE_WORDS.get(str(cause), str(cause))}", "3")
    grade = hh.get("housing_grade")
    if grade is not None and str(grade) in ("C", "D"):
        add(f"Dilapidated house (grade {grade})", "7(3)")
    if "has_safe_water" in hh and not _is_true(hh["has_safe_water"]):
        add("No safe drinking water", "7(1)")
    if "ncms_enrolled" in hh and not _is_true(hh["ncms_enrolled"]):
        add("Not enrolled in the rural cooperative medical scheme (NCMS)", "9")
    if int(hh.get("n_chronic_ill", 0) or 0) > 0:
        add(f"{int(hh['n_chronic_ill'])} member(s) with a chronic or serious illness", "9")
    if int(hh.get("n_disabled", 0) or 0) > 0:
        add(f"{int(hh['n_disabled'])} member(s) with a disability", "14")
    students = sum(int(hh.get(c, 0) or 0) for c in _STUDENT_COLUMNS)
    if students:
        add(f"{students} student(s): schooling costs", "8")
    labour = int(hh.get("n_labour", 0) or 0)
    if labour == 0:
        add("No able-bodied labour: social security cover needed", "14")
    elif int(hh.get("n_away", 0) or 0) == 0:
        add("No labourer working away from home", "6(1)-(2)")
    return out


def _exit_year_column(plans: pd.DataFrame) -> str | None:
    """The plan's best exit-year column: simulated if the pipeline added it, else the LP's."""
    for column in ("simulated_exit_year", "expected_exit_year"):
        if column in plans and plans[column].notna().any():
            return column
    return None


def household_card(
    household_id: int,
    *,
    households: pd.DataFrame,
    villages: pd.DataFrame | None = None,
    household_plans: pd.DataFrame | None = None,
    exit_targets: pd.DataFrame | None = None,
    household_results: pd.DataFrame | None = None,
    package_labels: Mapping[str, str] | None = None,
    base_year: int = BASE_YEAR,
) -> dict[str, Any]:
    """A household's file card, "five clarifications" (plan §3), as plain data.

    Parameters
    ----------
    household_id
        The household.
    households
        Registry households (every column of the schema is used where present).
    villages
        Registry villages (for the village name).
    household_plans
        ``household_id, package_id, start_year`` and optional ``cost_fiscal_yuan,
        cost_credit_yuan, cost_household_yuan, expected_exit_year, helper_id``.
    exit_targets
        The county's exit schedule (``county_id, villages, year, target_share``); default the
        plan's schedule.
    household_results
        Optional simulated path ``household_id, year, income_pc_mean, p_exited``.
    package_labels
        Optional readable package names.
    base_year
        Registry year (incomes are for this year).

    Returns
    -------
    dict
        Identification (``household_id, county_id, county, county_zh, village_id,
        village_name, is_immigrant, is_registered``) and one entry per clarification:

        * ``numbers``: family (members, labour, away, students by level, elderly, disabled,
          chronically ill), ``main_cause``, ``income_sources`` (list of ``(label, yuan per
          household per year)``), ``production_cost``, ``net_income_yuan`` (sources − cost),
          ``income_pc`` (recorded), ``poverty_line``, ``gap_pc`` (line − income, yuan per person;
          negative = above the line), assets, housing grade, safe water, NCMS, dibao, wubao,
          support class;
        * ``problems``: list of ``{problem, section}``: income below the line, recorded cause,
          housing grade C/D, no safe water, not in NCMS, chronic illness, disability, students,
          no labour (or no labourer away);
        * ``countermeasures``: ``past_support`` (list of text), ``measures`` (list of dicts per
          planned package: ``package_id, label, start_year, cost_*_yuan, sections,
          responsible``), ``social_security`` (text or ``None``);
        * ``responsibility``: ``helper_id``, ``county_responsible`` (§16), ``strategy`` (§25),
          ``units`` (list of ``{section, title, responsible, time_limit}``);
        * ``tasks``: ``expected_exit_year`` (the plan's ``simulated_exit_year`` if present, else
          its ``expected_exit_year``) and ``expected_exit_basis``, ``expected_income_pc_2017``
          (if the plan has it), ``target_group``, ``deadline_year`` (year the group's schedule
          reaches 100 %), ``on_schedule``, ``path`` (list of ``{year, income_pc_mean,
          p_exited, poverty_line}``).
    """
    hh = _row(households, "household_id", int(household_id), "households")
    county = str(hh["county_id"])
    village_name = ""
    if villages is not None:
        match = villages[villages["village_id"] == hh["village_id"]]
        if len(match):
            village_name = str(match.iloc[0]["village_name"])
    line = _line_or_nan(base_year)
    members = int(hh["n_members"])
    sources = [(_SOURCE_WORDS[c], float(hh.get(c, 0.0) or 0.0)) for c in INCOME_SOURCES]
    cost = float(hh.get("production_cost", 0.0) or 0.0)
    net = sum(v for _, v in sources) - cost
    income_pc = float(hh["income_pc"])
    numbers = {
        "n_members": members,
        "n_labour": int(hh.get("n_labour", 0) or 0),
        "n_away": int(hh.get("n_away", 0) or 0),
        "students": {label: int(hh.get(c, 0) or 0) for c, label in _STUDENT_COLUMNS.items()},
        "n_students": sum(int(hh.get(c, 0) or 0) for c in _STUDENT_COLUMNS),
        "n_elderly": int(hh.get("n_elderly", 0) or 0),
        "n_disabled": int(hh.get("n_disabled", 0) or 0),
        "n_chronic_ill": int(hh.get("n_chronic_ill", 0) or 0),
        "main_cause": _CAUSE_WORDS.get(str(hh.get("main_cause")))
        if hh.get("main_cause") is not None and not pd.isna(hh.get("main_cause"))
        else None,
        "income_sources": sources,
        "production_cost": cost,
        "net_income_yuan": net,
        "income_pc": income_pc,
        "income_year": base_year,
        "poverty_line": line,
        "gap_pc": line - income_pc,
        "land_mu": float(hh.get("land_mu", 0.0) or 0.0),
        "sheep": int(hh.get("sheep", 0) or 0),
        "greenhouses": int(hh.get("greenhouses", 0) or 0),
        "housing_grade": None if pd.isna(hh.get("housing_grade")) else str(hh["housing_grade"]),
        "has_safe_water": _is_true(hh.get("has_safe_water")),
        "ncms_enrolled": _is_true(hh.get("ncms_enrolled")),
        "is_dibao": _is_true(hh.get("is_dibao")),
        "is_wubao": _is_true(hh.get("is_wubao")),
        "support_class": None if pd.isna(hh.get("support_class")) else str(hh.get("support_class")),
        "registered_year": _int(hh.get("registered_year")),
    }
    plans = (
        household_plans[household_plans["household_id"] == int(household_id)]
        if household_plans is not None
        else pd.DataFrame()
    )
    measures: list[dict[str, Any]] = []
    for plan in plans.to_dict("records"):
        sections = package_sections(str(plan["package_id"]))
        measures.append(
            {
                "package_id": str(plan["package_id"]),
                "label": package_label(str(plan["package_id"]), package_labels),
                "start_year": _int(plan.get("start_year")),
                "cost_fiscal_yuan": float(plan.get("cost_fiscal_yuan", math.nan)),
                "cost_credit_yuan": float(plan.get("cost_credit_yuan", math.nan)),
                "cost_household_yuan": float(plan.get("cost_household_yuan", math.nan)),
                "sections": sections,
                "responsible": [_MEASURE_BY_SECTION[s].responsible for s in sections],
            }
        )
    past = []
    if float(hh.get("income_transfers", 0.0) or 0.0) > 0:
        past.append(
            f"Transfers of {float(hh['income_transfers']):,.0f} yuan a year (dibao, "
            "pension, farm subsidies)"
        )
    if numbers["is_dibao"]:
        past.append("Receives the subsistence allowance (dibao)")
    if numbers["is_wubao"]:
        past.append("Five-guarantee (wubao) support")
    if numbers["ncms_enrolled"]:
        past.append("Enrolled in the NCMS")
    social = None
    if numbers["support_class"] == "social_security":
        social = (
            "No labour to develop: covered by dibao and social assistance (§14, §25), "
            "responsible: " + _MEASURE_BY_SECTION["14"].responsible
        )
    helper = hh.get("helper_id")
    if len(plans) and "helper_id" in plans and pd.notna(plans.iloc[0].get("helper_id")):
        helper = plans.iloc[0]["helper_id"]
    unit_sections = sorted(
        {s for m in measures for s in m["sections"]} | {"16"} | ({"14"} if social else set()),
        key=[m.section for m in PLAN_MEASURES].index,
    )
    info = counties().loc[county] if county in counties().index else None
    responsibility = {
        "helper_id": _int(helper),
        "county_responsible": None if info is None else str(info["responsible"]),
        "strategy": None if info is None else str(info["strategy"]),
        "units": [
            {
                "section": s,
                "title": _MEASURE_BY_SECTION[s].title,
                "responsible": _MEASURE_BY_SECTION[s].responsible,
                "time_limit": _MEASURE_BY_SECTION[s].time_limit,
            }
            for s in unit_sections
        ],
    }
    group = _target_group(county, bool(hh["is_immigrant"]), exit_targets)
    deadline = _deadline(county, group, exit_targets)
    expected, basis, income_2017 = None, None, None
    if len(plans) and "simulated_exit_year" in plans and plans["simulated_exit_year"].notna().any():
        expected = _int(plans["simulated_exit_year"].min())
        basis = "simulation of the plan (first year with P(exited) ≥ 0.5)"
    elif len(plans) and "expected_exit_year" in plans and plans["expected_exit_year"].notna().any():
        expected = _int(plans["expected_exit_year"].min())
        basis = "allocation (households of the same type)"
    if len(plans) and "expected_income_pc_2017" in plans:
        value = plans["expected_income_pc_2017"].iloc[0]
        income_2017 = None if pd.isna(value) else float(value)
    path = []
    if household_results is not None and len(household_results):
        own = household_results[household_results["household_id"] == int(household_id)]
        for r in own.sort_values("year").to_dict("records"):
            path.append(
                {
                    "year": int(r["year"]),
                    "income_pc_mean": float(r["income_pc_mean"]),
                    "p_exited": float(r["p_exited"]),
                    "poverty_line": _line_or_nan(int(r["year"])),
                }
            )
    tasks = {
        "expected_exit_year": expected,
        "expected_exit_basis": basis,
        "expected_income_pc_2017": income_2017,
        "target_group": group_label(county, group),
        "deadline_year": deadline,
        "on_schedule": None if expected is None or deadline is None else expected <= deadline,
        "path": path,
    }
    return {
        "household_id": int(household_id),
        "county_id": county,
        "county": county_label(county),
        "county_zh": county_label(county, chinese=True),
        "village_id": int(hh["village_id"]),
        "village_name": village_name,
        "is_immigrant": _is_true(hh["is_immigrant"]),
        "is_registered": _is_true(hh.get("is_registered")),
        "numbers": numbers,
        "problems": _problems(hh, line, base_year),
        "countermeasures": {"past_support": past, "measures": measures, "social_security": social},
        "responsibility": responsibility,
        "tasks": tasks,
    }


# ----------------------------------------------------------------------------------------------
# Village file: "five things" (§4)


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
) -> dict[str, Any]:
    """A village's file, "five things" (plan §4), as plain data.

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

    Returns
    -------
    dict
        Identification (``village_id, village_name, county_id, county, county_zh,
        is_immigrant, is_poor_village``) and:

        * ``situation``: households, population, poor households and people, incidence, mean
          income per person (all and poor households), ``income_structure`` (list of ``(label,
          share of gross income)``), land, sheep, greenhouses, ``infrastructure`` (list of
          ``(item, present)``);
        * ``problems``: ``gaps`` (works missing), ``causes`` (list of ``(cause, households)``,
          registered households), counts of dilapidated houses (C/D), no safe water, not in
          NCMS, households without labour;
        * ``demands``: ``works`` (planned works with section, due year, cost, responsible),
          ``packages`` (list of ``{package_id, label, households, cost_fiscal_yuan, ...}``),
          ``n_social_security``;
        * ``leadership``: ``county_responsible`` (§16), ``n_helpers``, ``households_per_helper``,
          ``helpers`` (ids), ``work_team`` (§18 responsible unit);
        * ``monitoring``: ``exit_rule``, ``deadline_year``, ``path`` (``year, incidence_mean,
          p_exit``), ``planned_exits`` (list of ``(year, households)``), ``households`` (list of
          registered households with package and expected exit year).
    """
    village = _row(villages, "village_id", int(village_id), "villages")
    county = str(village["county_id"])
    hh = households[households["village_id"] == int(village_id)]
    poor = hh[hh["is_registered"].astype(bool)]
    population = int(hh["n_members"].sum())
    gross = {c: float(hh[c].sum()) for c in INCOME_SOURCES if c in hh}
    total_gross = sum(gross.values())
    structure = [
        (_SOURCE_WORDS[c], v / total_gross if total_gross else math.nan) for c, v in gross.items()
    ]
    structure.sort(key=lambda item: -item[1] if not math.isnan(item[1]) else 0.0)

    def mean_pc(frame: pd.DataFrame) -> float:
        people = float(frame["n_members"].sum())
        return (
            float((frame["income_pc"] * frame["n_members"]).sum()) / people if people else math.nan
        )

    situation = {
        "n_households": len(hh),
        "population": population,
        "n_poor_households": len(poor),
        "n_poor_people": int(poor["n_members"].sum()),
        "incidence": float(poor["n_members"].sum()) / population if population else math.nan,
        "mean_income_pc": mean_pc(hh),
        "mean_income_pc_poor": mean_pc(poor),
        "income_structure": structure,
        "land_mu": float(hh["land_mu"].sum()) if "land_mu" in hh else math.nan,
        "sheep": int(hh["sheep"].sum()) if "sheep" in hh else 0,
        "greenhouses": int(hh["greenhouses"].sum()) if "greenhouses" in hh else 0,
        "infrastructure": [
            (_WORK_BY_FLAG[f].work, _is_true(village[f]))
            for f in VILLAGE_INFRASTRUCTURE
            if f in village
        ],
    }
    works = village_infrastructure_works(
        villages[villages["village_id"] == int(village_id)], village_works
    )
    causes = (
        poor["main_cause"]
        .astype("object")
        .dropna()
        .map(lambda c: _CAUSE_WORDS.get(c, c))
        .value_counts()
    )
    problems = {
        "gaps": works["work"].tolist(),
        "causes": [(str(k), int(v)) for k, v in causes.items()],
        "n_dilapidated": int(hh["housing_grade"].astype("object").isin(["C", "D"]).sum())
        if "housing_grade" in hh
        else 0,
        "n_no_safe_water": int((~hh["has_safe_water"].astype(bool)).sum())
        if "has_safe_water" in hh
        else 0,
        "n_not_ncms": int((~hh["ncms_enrolled"].astype(bool)).sum())
        if "ncms_enrolled" in hh
        else 0,
        "n_no_labour": int((poor["n_labour"] == 0).sum()) if "n_labour" in poor else 0,
    }
    packages: list[dict[str, Any]] = []
    plans = pd.DataFrame()
    if household_plans is not None and len(household_plans):
        plans = household_plans[household_plans["household_id"].isin(hh["household_id"])]
        for row in village_packages(plans, hh).to_dict("records"):
            packages.append(
                {
                    "package_id": row["package_id"],
                    "label": package_label(row["package_id"], package_labels),
                    "households": int(row["households"]),
                    "cost_fiscal_yuan": float(row["cost_fiscal_yuan"]),
                    "cost_credit_yuan": float(row["cost_credit_yuan"]),
                    "cost_household_yuan": float(row["cost_household_yuan"]),
                    "first_start_year": _int(row["first_start_year"]),
                    "sections": package_sections(row["package_id"]),
                }
            )
    support = poor["support_class"].astype("object") if "support_class" in poor else None
    demands = {
        "works": works[works["planned"]].to_dict("records"),
        "packages": packages,
        "n_social_security": int((support == "social_security").sum())
        if support is not None
        else 0,
    }
    helpers = poor["helper_id"].dropna().astype("int64") if "helper_id" in poor else pd.Series()
    info = counties().loc[county] if county in counties().index else None
    leadership = {
        "county_responsible": None if info is None else str(info["responsible"]),
        "n_helpers": int(helpers.nunique()),
        "households_per_helper": len(poor) / helpers.nunique() if helpers.nunique() else math.nan,
        "helpers": sorted(int(h) for h in helpers.unique()),
        "work_team": _MEASURE_BY_SECTION["18"].responsible,
    }
    group = _target_group(county, _is_true(village["is_immigrant"]), exit_targets)
    path = []
    if village_year is not None and len(village_year):
        own = village_year[village_year["village_id"] == int(village_id)].sort_values("year")
        path = [
            {
                "year": int(r["year"]),
                "incidence_mean": float(r["incidence_mean"]),
                "p_exit": float(r["p_exit"]),
            }
            for r in own.to_dict("records")
        ]
    planned_exits: list[tuple[int, int]] = []
    listing = []
    by_household = plans.set_index("household_id") if len(plans) else None
    exit_column = _exit_year_column(plans) if len(plans) else None
    if exit_column is not None:
        counts = plans[exit_column].dropna().astype("int64").value_counts().sort_index()
        planned_exits = [(int(str(y)), int(n)) for y, n in counts.items()]
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
                else _int(plan.get(exit_column)),
            }
        )
    monitoring = {
        "exit_rule": f"Village exits when at most {_EXIT_INCIDENCE:.0%} of its people are in "
        "registered poor households not yet exited",
        "deadline_year": _deadline(county, group, exit_targets),
        "target_group": group_label(county, group),
        "path": path,
        "planned_exits": planned_exits,
        "households": listing,
    }
    return {
        "village_id": int(village_id),
        "village_name": str(village["village_name"]),
        "county_id": county,
        "county": county_label(county),
        "county_zh": county_label(county, chinese=True),
        "is_immigrant": _is_true(village["is_immigrant"]),
        "is_poor_village": _is_true(village["is_poor_village"]),
        "situation": situation,
        "problems": problems,
        "demands": demands,
        "leadership": leadership,
        "monitoring": monitoring,
    }


# ----------------------------------------------------------------------------------------------
# County guide and public announcement


#: Funding sources in words (contract ``funding.source``).
FUNDING_SOURCES: dict[str, str] = {
    "earmark": "Earmark (10% / 15% of the revenue increase)",
    "integrated_agriculture": "Integrated agriculture funds",
    "idle_recovery": "Recovered idle funds",
    "provincial_transfer": "Provincial and central transfers",
    "pairing_donations": "Pairing and donations",
}


def _county_money(
    county_id: str, funding: pd.DataFrame | None, allocation: pd.DataFrame | None
) -> pd.DataFrame:
    """Money for a county by source and year (yuan): its own pool plus city money allocated."""
    rows = []
    if funding is not None and len(funding):
        own = funding[funding["pool"].astype(str) == county_id]
        sums = own.groupby(["source", "year"], as_index=False).agg(
            amount_yuan=("amount_yuan", "sum")
        )
        for r in sums.to_dict("records"):
            rows.append(
                {
                    "source": "County pool: "
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
                    "source": "City pool, spent in the county by the plan",
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


def county_guide(
    county_id: str,
    *,
    households: pd.DataFrame,
    villages: pd.DataFrame,
    tables: Mapping[str, pd.DataFrame] | None = None,
    household_plans: pd.DataFrame | None = None,
    allocation: pd.DataFrame | None = None,
    funding: pd.DataFrame | None = None,
    village_year: pd.DataFrame | None = None,
    assessment: pd.DataFrame | None = None,
    package_labels: Mapping[str, str] | None = None,
    village_works: pd.DataFrame | None = None,
) -> dict[str, Any]:
    """Content of a county's poverty alleviation guide ("one guide", §26), as plain data.

    Parameters
    ----------
    county_id
        The county.
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
    dict
        ``county_id, county, county_zh, admin_code, strategy, responsible`` and DataFrames:
        ``distribution``, ``income_targets``, ``reduction_tasks`` (the county's rows of the three
        tables), ``villages`` (:func:`village_summary`), ``households`` (registered households
        with plan), ``measures`` (planned packages: households by start year, money by payer,
        plan sections), ``measure_units`` (responsible units and time limits of the measures the
        county's packages and works belong to, plus §16 and §25), ``money`` (yuan by source ×
        year), ``works`` (planned village infrastructure works), ``plan_measures`` (every
        measure's responsible unit and time limit), ``assessment`` (the county's rows).
    """
    info = counties().loc[county_id]
    hh = households[households["county_id"].astype(str) == county_id]
    vil = villages[villages["county_id"].astype(str) == county_id]
    tables = tables or {}

    def rows_of(name: str) -> pd.DataFrame:
        frame = tables.get(name)
        if frame is None:
            return pd.DataFrame()
        return frame[frame["county_id"].astype(str) == county_id].reset_index(drop=True)

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
    listing["main_cause"] = (
        listing["main_cause"]
        .astype("object")
        .map(lambda c: _CAUSE_WORDS.get(c, c) if isinstance(c, str) else c)
    )
    names = vil.set_index("village_id")["village_name"]
    listing.insert(2, "village_name", listing["village_id"].map(names))
    if household_plans is not None and len(household_plans):
        plans = household_plans.drop_duplicates("household_id").copy()
        exit_column = _exit_year_column(plans)
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
    works = village_infrastructure_works(vil, village_works)
    works = works[works["planned"]].merge(vil[["village_id", "village_name"]], on="village_id")
    assess_rows = pd.DataFrame()
    if assessment is not None and len(assessment):
        assess_rows = assessment[assessment["county_id"].astype(str) == county_id]
    measures = _county_measures(county_id, allocation, package_labels)
    measure_ids = measures["package_id"].astype(str).tolist() if len(measures) else []
    return {
        "county_id": county_id,
        "county": county_label(county_id),
        "county_zh": county_label(county_id, chinese=True),
        "admin_code": str(info["admin_code"]),
        "strategy": str(info["strategy"]),
        "responsible": str(info["responsible"]),
        "distribution": rows_of("poor_distribution"),
        "income_targets": rows_of("income_targets"),
        "reduction_tasks": rows_of("reduction_tasks"),
        "villages": village_summary(
            hh,
            vil,
            household_plans=household_plans,
            village_year=village_year,
            package_labels=package_labels,
            village_works=village_works,
        ),
        "households": listing.sort_values(["village_id", "household_id"], ignore_index=True),
        "measures": measures,
        "measure_units": _measure_units(
            [x for p in measure_ids for x in package_sections(p)]
            + works["section"].tolist()
            + ["16", "25"]
        ),
        "money": _county_money(county_id, funding, allocation),
        "works": works.reset_index(drop=True),
        "plan_measures": plan_measures(),
        "assessment": assess_rows.reset_index(drop=True),
    }


def announcement(
    *,
    households: pd.DataFrame,
    villages: pd.DataFrame,
    target_probability: pd.DataFrame,
    household_plans: pd.DataFrame | None = None,
    allocation: pd.DataFrame | None = None,
    funding: pd.DataFrame | None = None,
    package_labels: Mapping[str, str] | None = None,
    village_works: pd.DataFrame | None = None,
) -> list[dict[str, Any]]:
    """Content of the public announcement (§17): targets, funds and projects by county and village.

    Only counts and money are announced, never individual households' data.

    Parameters
    ----------
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
    list of dict
        One per county (plan order): ``county_id, county, county_zh, targets`` (DataFrame
        ``villages, year, target_exits, target_exits_in_year``), ``money`` (yuan by source ×
        year), ``village_projects`` (one row per village with planned support:
        ``village_name, is_immigrant, n_poor_households, projects`` (packages with
        households), ``households, fiscal_yuan``), ``village_works`` (one row per village with
        planned works: ``village_name, works, due_year, cost_yuan``).
    """
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
    for county in _county_order(villages["county_id"].astype(str)):
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
        out.append(
            {
                "county_id": county,
                "county": county_label(county),
                "county_zh": county_label(county, chinese=True),
                "targets": targets.reset_index(drop=True),
                "money": _county_money(county, funding, allocation),
                "village_projects": village_projects.reset_index(drop=True),
                "village_works": works_by_village[
                    ["village_name", "works", "due_year", "cost_yuan"]
                ].reset_index(drop=True),
            }
        )
    return out

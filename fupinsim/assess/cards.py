"""Household card, "five clarifications" (plan §3): numbers, problems, countermeasures,
responsibility and tasks of one household, as a :class:`~fupinsim.assess.types.HouseholdCard`."""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Mapping, Sequence
from functools import cache
from typing import Any

import pandas as pd

from fupinsim.assess.labels import (
    CAUSE_WORDS,
    SOURCE_WORDS,
    STUDENT_COLUMNS,
    county_label,
    group_label,
    zh_words,
)
from fupinsim.assess.lookup import (
    deadline_year,
    int_or_none,
    is_true,
    row_of,
    target_group,
)
from fupinsim.assess.measures import (
    MEASURE_BY_SECTION,
    package_label,
    package_sections,
    section_order,
)
from fupinsim.assess.tables import line_or_nan
from fupinsim.assess.types import (
    Cadre,
    CardNumbers,
    CardProblem,
    CardTasks,
    Countermeasures,
    HouseholdCard,
    HouseholdMeasure,
    PathPoint,
    Responsibility,
    ResponsibleUnit,
)
from fupinsim.data import counties
from fupinsim.registry.schema import INCOME_SOURCES
from fupinsim.units import BASE_YEAR

__all__ = ["cadre_of", "cadre_record", "household_card", "household_cards"]


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
    household_cadres: pd.DataFrame | None = None,
) -> HouseholdCard:
    """A household's file card, "five clarifications" (plan §3).

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
        cost_credit_yuan, cost_household_yuan, expected_exit_year, simulated_exit_year,
        expected_income_pc_2017, helper_id``.
    exit_targets
        The county's exit schedule (``county_id, villages, year, target_share``); default the
        plan's schedule.
    household_results
        Optional simulated path ``household_id, year, income_pc_mean, p_exited``.
    package_labels
        Optional readable package names.
    base_year
        Registry year (incomes are for this year).
    household_cadres
        The run table ``household_cadres`` (plan §16 pairing): the card names the household's
        cadre (code, unit, level); without it only the registry's ``helper_id`` is shown.

    Returns
    -------
    HouseholdCard
        Identification and one part per clarification (see the part's class). Problems listed:
        income below the line, recorded cause, housing grade C/D, no safe water, not in NCMS,
        chronic illness, disability, students, no labour (or no labourer away). The expected
        exit year is the plan's ``simulated_exit_year`` if present, else its
        ``expected_exit_year``; the deadline is the year the group's schedule reaches 100 %.
    """
    row_of(households, "household_id", int(household_id), "households")  # a clear error
    return next(
        household_cards(
            [int(household_id)],
            households=households,
            villages=villages,
            household_plans=household_plans,
            exit_targets=exit_targets,
            household_results=household_results,
            package_labels=package_labels,
            base_year=base_year,
            household_cadres=household_cadres,
        )
    )


def _records_by_household(
    frame: pd.DataFrame | None, ids: Sequence[int], sort: str | None = None
) -> dict[int, list[dict[str, Any]]]:
    """Rows of ``frame`` for the households ``ids``, as records grouped by household."""
    if frame is None or not len(frame):
        return {}
    part = frame[frame["household_id"].isin(ids)]
    if sort is not None:
        part = part.sort_values(["household_id", sort], kind="stable")
    out: dict[int, list[dict[str, Any]]] = {}
    keys = part["household_id"].to_numpy()
    for key, record in zip(keys, part.to_dict("records"), strict=True):
        out.setdefault(int(key), []).append({str(k): v for k, v in record.items()})
    return out


def household_cards(
    household_ids: Iterable[int] | None = None,
    *,
    households: pd.DataFrame,
    villages: pd.DataFrame | None = None,
    household_plans: pd.DataFrame | None = None,
    exit_targets: pd.DataFrame | None = None,
    household_results: pd.DataFrame | None = None,
    package_labels: Mapping[str, str] | None = None,
    base_year: int = BASE_YEAR,
    household_cadres: pd.DataFrame | None = None,
) -> Iterator[HouseholdCard]:
    """The cards of many households (default: every registered household), in registry order.

    The same cards as :func:`household_card` (same parameters), built in one pass over each
    table: the households' rows, their plans and simulated paths are selected and grouped once
    (vectorised), village names, deadlines and county facts are looked up once per village,
    group and county; only the assembling of each card's record runs per household. Ids not in
    the registry are left out (:func:`household_card` raises for them).
    """
    if household_ids is None:
        chosen = households[households["is_registered"].astype(bool)]
    else:
        chosen = households[households["household_id"].isin(list(household_ids))]
    ids = chosen["household_id"].astype("int64").tolist()
    plans_of = _records_by_household(household_plans, ids)
    cadres_of = {
        hid: cadre_record(rows[0])
        for hid, rows in _records_by_household(household_cadres, ids).items()
        if pd.notna(rows[0].get("cadre_id"))
    }
    paths_of = _records_by_household(household_results, ids, sort="year")
    names = (
        villages.drop_duplicates("village_id").set_index("village_id")["village_name"].to_dict()
        if villages is not None
        else {}
    )
    line = line_or_nan(base_year)

    @cache
    def group_and_deadline(county: str, immigrant: bool) -> tuple[str, int | None]:
        group = target_group(county, immigrant, exit_targets)
        return group, deadline_year(county, group, exit_targets)

    for row in chosen.to_dict("records"):
        hh: dict[str, Any] = {str(k): v for k, v in row.items()}
        hid = int(hh["household_id"])
        county = str(hh["county_id"])
        plans = plans_of.get(hid, [])
        numbers = _numbers(hh, line, base_year)
        counter = _countermeasures(hh, numbers, plans, package_labels)
        group, deadline = group_and_deadline(county, bool(hh["is_immigrant"]))
        yield HouseholdCard(
            household_id=hid,
            county_id=county,
            county=county_label(county),
            county_zh=county_label(county, chinese=True),
            village_id=int(hh["village_id"]),
            village_name=str(names.get(hh["village_id"], "")),
            is_immigrant=is_true(hh["is_immigrant"]),
            is_registered=is_true(hh.get("is_registered")),
            numbers=numbers,
            problems=_problems(hh, line, base_year),
            countermeasures=counter,
            responsibility=_responsibility(hh, plans, county, counter, cadres_of.get(hid)),
            tasks=_tasks(plans, county, group, deadline, paths_of.get(hid, [])),
        )


def _village_name(villages: pd.DataFrame | None, village_id: Any) -> str:
    if villages is not None:
        match = villages[villages["village_id"] == village_id]
        if len(match):
            return str(match.iloc[0]["village_name"])
    return ""


def _count(hh: Mapping[str, Any], column: str) -> int:
    return int(hh.get(column, 0) or 0)


def _numbers(hh: Mapping[str, Any], line: float, base_year: int) -> CardNumbers:
    """Clear numbers from the registry row (yuan per household per year, income per person)."""
    sources = [(SOURCE_WORDS[c], float(hh.get(c, 0.0) or 0.0)) for c in INCOME_SOURCES]
    cost = float(hh.get("production_cost", 0.0) or 0.0)
    income_pc = float(hh["income_pc"])
    cause = hh.get("main_cause")
    has_cause = cause is not None and not pd.isna(cause)
    return CardNumbers(
        n_members=int(hh["n_members"]),
        n_labour=_count(hh, "n_labour"),
        n_away=_count(hh, "n_away"),
        students={label: _count(hh, c) for c, label in STUDENT_COLUMNS.items()},
        n_students=sum(_count(hh, c) for c in STUDENT_COLUMNS),
        n_elderly=_count(hh, "n_elderly"),
        n_disabled=_count(hh, "n_disabled"),
        n_chronic_ill=_count(hh, "n_chronic_ill"),
        main_cause=CAUSE_WORDS.get(str(cause)) if has_cause else None,
        main_cause_zh=_CAUSES_ZH().get(str(cause)) if has_cause else None,
        income_sources=sources,
        production_cost=cost,
        net_income_yuan=sum(v for _, v in sources) - cost,
        income_pc=income_pc,
        income_year=base_year,
        poverty_line=line,
        gap_pc=line - income_pc,
        land_mu=float(hh.get("land_mu", 0.0) or 0.0),
        sheep=_count(hh, "sheep"),
        greenhouses=_count(hh, "greenhouses"),
        housing_grade=None if pd.isna(hh.get("housing_grade")) else str(hh["housing_grade"]),
        has_safe_water=is_true(hh.get("has_safe_water")),
        ncms_enrolled=is_true(hh.get("ncms_enrolled")),
        is_dibao=is_true(hh.get("is_dibao")),
        is_wubao=is_true(hh.get("is_wubao")),
        support_class=None if pd.isna(hh.get("support_class")) else str(hh.get("support_class")),
        registered_year=int_or_none(hh.get("registered_year")),
    )


def _countermeasures(
    hh: Mapping[str, Any],
    numbers: CardNumbers,
    plans: Sequence[Mapping[str, Any]],
    package_labels: Mapping[str, str] | None,
) -> Countermeasures:
    """Clear countermeasures: past support, the planned packages, social security cover."""
    measures: list[HouseholdMeasure] = []
    for plan in plans:
        sections = package_sections(str(plan["package_id"]))
        measures.append(
            HouseholdMeasure(
                package_id=str(plan["package_id"]),
                label=package_label(str(plan["package_id"]), package_labels),
                start_year=int_or_none(plan.get("start_year")),
                cost_fiscal_yuan=float(plan.get("cost_fiscal_yuan", math.nan)),
                cost_credit_yuan=float(plan.get("cost_credit_yuan", math.nan)),
                cost_household_yuan=float(plan.get("cost_household_yuan", math.nan)),
                sections=sections,
                responsible=[MEASURE_BY_SECTION[s].responsible for s in sections],
            )
        )
    past = []
    if float(hh.get("income_transfers", 0.0) or 0.0) > 0:
        past.append(
            f"Transfers of {float(hh['income_transfers']):,.0f} yuan a year (dibao, "
            "pension, farm subsidies)"
        )
    if numbers.is_dibao:
        past.append("Receives the subsistence allowance (dibao)")
    if numbers.is_wubao:
        past.append("Five-guarantee (wubao) support")
    if numbers.ncms_enrolled:
        past.append("Enrolled in the NCMS")
    social = None
    if numbers.support_class == "social_security":
        social = (
            "No labour to develop: covered by dibao and social assistance (§14, §25), "
            "responsible: " + MEASURE_BY_SECTION["14"].responsible
        )
    return Countermeasures(past_support=past, measures=measures, social_security=social)


def cadre_of(household_cadres: pd.DataFrame | None, household_id: int) -> Cadre | None:
    """The household's cadre from the ``household_cadres`` table (``None``: none or no table)."""
    if household_cadres is None or not len(household_cadres):
        return None
    rows = household_cadres[household_cadres["household_id"] == household_id]
    if not len(rows) or pd.isna(rows.iloc[0]["cadre_id"]):
        return None
    return cadre_record(rows.iloc[0].to_dict())


def cadre_record(row: Mapping[Any, Any], households: int | None = None) -> Cadre:
    """A row of ``household_cadres`` (or of the village's cadres) as a :class:`Cadre`."""
    home = row.get("cadre_county_id")
    return Cadre(
        code=str(row["code"]),
        unit_name=str(row["unit_name"]),
        unit_name_zh=str(row["unit_name_zh"]),
        level=str(row["level"]),
        home_county=county_label(str(home), short=True) if isinstance(home, str) else "",
        households=households,
    )


def _responsibility(
    hh: Mapping[str, Any],
    plans: Sequence[Mapping[str, Any]],
    county: str,
    counter: Countermeasures,
    cadre: Cadre | None = None,
) -> Responsibility:
    """Clear responsibility: helper, county leadership (§16), strategy (§25), units."""
    helper = hh.get("helper_id")
    if plans and pd.notna(plans[0].get("helper_id")):
        helper = plans[0]["helper_id"]
    sections = frozenset(
        {s for m in counter.measures for s in m.sections}
        | {"16"}
        | ({"14"} if counter.social_security else set())
    )
    info = _county_info(county)
    return Responsibility(
        helper_id=int_or_none(helper),
        county_responsible=None if info is None else str(info["responsible"]),
        strategy=None if info is None else str(info["strategy"]),
        units=list(_units(sections)),
        cadre=cadre,
    )


@cache
def _units(sections: frozenset[str]) -> tuple[ResponsibleUnit, ...]:
    """The responsible units of the plan's ``sections``, in plan order (cached: a few sets of
    sections recur over all the households)."""
    return tuple(
        ResponsibleUnit(
            section=s,
            title=MEASURE_BY_SECTION[s].title,
            responsible=MEASURE_BY_SECTION[s].responsible,
            time_limit=MEASURE_BY_SECTION[s].time_limit,
        )
        for s in sorted(sections, key=section_order().index)
    )


@cache
def _county_info(county: str) -> dict[str, Any] | None:
    """The county's row of ``data/counties.yaml`` (``None`` for an unknown id)."""
    table = counties()
    if county not in table.index:
        return None
    return {str(k): v for k, v in table.loc[county].to_dict().items()}


def _first_year(plans: Sequence[Mapping[str, Any]], column: str) -> int | None:
    """Earliest non-missing ``column`` over the household's plans."""
    years = [p[column] for p in plans if p.get(column) is not None and not pd.isna(p[column])]
    return int_or_none(min(years)) if years else None


def _expected_exit(
    plans: Sequence[Mapping[str, Any]],
) -> tuple[int | None, str | None, float | None]:
    """``(expected exit year, its basis, expected income 2017)`` from the household's plans."""
    expected, basis, income_2017 = None, None, None
    if (year := _first_year(plans, "simulated_exit_year")) is not None:
        expected, basis = year, "simulation of the plan (first year with P(exited) ≥ 0.5)"
    elif plans and "simulated_exit_year" in plans[0]:
        # Simulated, and P(exited) never reached 0.5: the simulation's answer (the run's
        # household_exit), not the allocation's estimate for households of its type.
        basis = "simulation of the plan: P(exited) stays below 0.5 in every year projected"
    elif (year := _first_year(plans, "expected_exit_year")) is not None:
        expected, basis = year, "allocation (households of the same type)"
    if plans and "expected_income_pc_2017" in plans[0]:
        value = plans[0]["expected_income_pc_2017"]
        income_2017 = None if value is None or pd.isna(value) else float(value)
    return expected, basis, income_2017


def _tasks(
    plans: Sequence[Mapping[str, Any]],
    county: str,
    group: str,
    deadline: int | None,
    path_rows: Sequence[Mapping[str, Any]],
) -> CardTasks:
    """Clear tasks: expected exit against the target group's deadline, and the path."""
    expected, basis, income_2017 = _expected_exit(plans)
    if not plans and path_rows:  # no package, but simulated: the run's household_exit rule
        reached = [int(r["year"]) for r in path_rows if float(r["p_exited"]) >= 0.5]
        expected = min(reached) if reached else None
        basis = "simulation without new support (first year with P(exited) ≥ 0.5)"
    path = [
        PathPoint(
            year=int(r["year"]),
            income_pc_mean=float(r["income_pc_mean"]),
            p_exited=float(r["p_exited"]),
            poverty_line=_line(int(r["year"])),
        )
        for r in path_rows
    ]
    return CardTasks(
        expected_exit_year=expected,
        expected_exit_basis=basis,
        expected_income_pc_2017=income_2017,
        target_group=group_label(county, group),
        deadline_year=deadline,
        on_schedule=None if expected is None or deadline is None else expected <= deadline,
        path=path,
    )


@cache
def _CAUSES_ZH() -> Mapping[str, str]:  # noqa: N802 - a constant, read once
    """Causes in Chinese by code (``labels.yaml`` ``zh.causes``)."""
    return zh_words("causes")


@cache
def _line(year: int) -> float:
    """Poverty line of ``year`` (cached: looked up for every point of every path)."""
    return line_or_nan(year)


def _problems(hh: Mapping[str, Any], line: float, line_year: int) -> list[CardProblem]:
    """Problems a card lists, from the registry row (rules documented in :func:`household_card`)."""
    out: list[CardProblem] = []

    def add(text: str, section: str) -> None:
        out.append(CardProblem(problem=text, section=section))

    income = float(hh["income_pc"])
    if income < line:
        add(
            f"Per-capita net income {income:,.0f} yuan is {line - income:,.0f} yuan below the "
            f"{line_year} poverty line of {line:,.0f} yuan",
            "2",
        )
    cause = hh.get("main_cause")
    if cause is not None and not pd.isna(cause):
        words = CAUSE_WORDS.get(str(cause), str(cause))
        zh = _CAUSES_ZH().get(str(cause))
        add(f"Main cause of poverty recorded: {f'{zh} {words}' if zh else words}", "3")
    grade = hh.get("housing_grade")
    if grade is not None and str(grade) in ("C", "D"):
        add(f"Dilapidated house (grade {grade})", "7(3)")
    if "has_safe_water" in hh and not is_true(hh["has_safe_water"]):
        add("No safe drinking water", "7(1)")
    if "ncms_enrolled" in hh and not is_true(hh["ncms_enrolled"]):
        add("Not enrolled in the rural cooperative medical scheme (NCMS)", "9")
    if int(hh.get("n_chronic_ill", 0) or 0) > 0:
        add(f"{int(hh['n_chronic_ill'])} member(s) with a chronic or serious illness", "9")
    if int(hh.get("n_disabled", 0) or 0) > 0:
        add(f"{int(hh['n_disabled'])} member(s) with a disability", "14")
    students = sum(int(hh.get(c, 0) or 0) for c in STUDENT_COLUMNS)
    if students:
        add(f"{students} student(s): schooling costs", "8")
    labour = int(hh.get("n_labour", 0) or 0)
    if labour == 0:
        add("No able-bodied labour: social security cover needed", "14")
    elif int(hh.get("n_away", 0) or 0) == 0:
        add("No labourer working away from home", "6(1)-(2)")
    return out

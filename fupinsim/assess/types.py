"""Typed results that :mod:`fupinsim.assess` hands to :mod:`fupinsim.report` and the notebooks.

Every result is a frozen dataclass, so mypy checks its fields where it is built and read. Each
also reads like the plain dict it replaced (``card["numbers"]["n_members"]``, ``summary.get(
"title")``, ``dict(summary, title=...)``): :class:`Record` is a read-only mapping of its fields,
so code and notebooks written against the dicts keep working.

Money is yuan, income yuan per person per year (``_pc``), probabilities 0-1.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, fields
from typing import Any

import pandas as pd

__all__ = [
    "AtRisk",
    "CardNumbers",
    "CardProblem",
    "CardTasks",
    "Countermeasures",
    "CountyAnnouncement",
    "CountyGuide",
    "HouseholdCard",
    "HouseholdMeasure",
    "PathPoint",
    "Record",
    "Responsibility",
    "ResponsibleUnit",
    "ScenarioSummary",
    "VillageDemands",
    "VillageFile",
    "VillageLeadership",
    "VillageMonitoring",
    "VillagePackage",
    "VillageProblems",
    "VillageSituation",
]


class Record(Mapping[str, Any]):
    """Read-only mapping view of a dataclass's fields (``record["name"]``, ``record.get``)."""

    def _names(self) -> tuple[str, ...]:
        return tuple(f.name for f in fields(self))  # type: ignore[arg-type]

    def __getitem__(self, key: str) -> Any:
        if key not in self._names():
            raise KeyError(key)
        return getattr(self, key)

    def __iter__(self) -> Iterator[str]:
        return iter(self._names())

    def __len__(self) -> int:
        return len(self._names())


# ----------------------------------------------------------------------------------------------
# Scenario summary


@dataclass(frozen=True, eq=False)
class AtRisk(Record):
    """A target group whose lowest P(met) is below the required confidence."""

    county_id: str
    villages: str
    label: str
    year: int
    p_met: float


@dataclass(frozen=True, eq=False)
class ScenarioSummary(Record):
    """Headline numbers of one scenario (:func:`fupinsim.assess.scenario_summary`).

    ``money_*`` and ``credit_yuan, household_yuan`` are yuan (``money_allocated_yuan`` is the
    fiscal money the plan spends); ``exits_share`` and the probabilities are 0-1; ``at_risk``
    is worst first. ``targets_missed_by_plan`` counts allocation shortfall rows with missing
    exits, ``targets_money_cannot_close`` those of them no amount of money closes.
    ``p_final_targets_met`` (P(every final-year target met)) is set from the run manifest
    when the pipeline has it.
    """

    scenario_id: str
    title: str
    final_year: int
    target_exits: float
    projected_exits_mean: float
    exits_share: float
    p_all_targets_met: float
    p_all_method: str
    p_min: float
    required_confidence: float
    money_available_yuan: float
    money_allocated_yuan: float
    credit_yuan: float
    household_yuan: float
    money_missing_yuan: float
    missing_exits: float
    targets_missed_by_plan: int
    targets_money_cannot_close: int
    at_risk: list[AtRisk]
    verdict: str
    verdict_text: str
    p_final_targets_met: float | None = None


# ----------------------------------------------------------------------------------------------
# Household card, "five clarifications" (§3)


@dataclass(frozen=True, eq=False)
class CardNumbers(Record):
    """Clear numbers: family, cause, income (yuan per household per year) and assets."""

    n_members: int
    n_labour: int
    n_away: int
    students: dict[str, int]
    n_students: int
    n_elderly: int
    n_disabled: int
    n_chronic_ill: int
    main_cause: str | None
    income_sources: list[tuple[str, float]]
    production_cost: float
    net_income_yuan: float
    income_pc: float
    income_year: int
    poverty_line: float
    gap_pc: float
    land_mu: float
    sheep: int
    greenhouses: int
    housing_grade: str | None
    has_safe_water: bool
    ncms_enrolled: bool
    is_dibao: bool
    is_wubao: bool
    support_class: str | None
    registered_year: int | None
    #: The main cause in Chinese (``labels.yaml`` ``zh.causes``), ``None`` without a cause.
    main_cause_zh: str | None = None


@dataclass(frozen=True, eq=False)
class CardProblem(Record):
    """Clear problems: one problem and the plan's section that answers it."""

    problem: str
    section: str


@dataclass(frozen=True, eq=False)
class HouseholdMeasure(Record):
    """A planned package of a household, with its costs (yuan) and the plan's sections."""

    package_id: str
    label: str
    start_year: int | None
    cost_fiscal_yuan: float
    cost_credit_yuan: float
    cost_household_yuan: float
    sections: list[str]
    responsible: list[str]


@dataclass(frozen=True, eq=False)
class Countermeasures(Record):
    """Clear countermeasures: past support, planned packages, social security cover."""

    past_support: list[str]
    measures: list[HouseholdMeasure]
    social_security: str | None


@dataclass(frozen=True, eq=False)
class ResponsibleUnit(Record):
    """A measure's responsible unit and time limit as the plan assigns them."""

    section: str
    title: str
    responsible: str
    time_limit: str


@dataclass(frozen=True, eq=False)
class Cadre(Record):
    """A paired cadre (plan §16, run table ``household_cadres``): who helps the household.

    ``level`` is ``prefecture``, ``county`` or ``township``; ``households`` is how many
    households the cadre helps (in the village, for a village file; ``None`` on a card).
    """

    code: str
    unit_name: str
    unit_name_zh: str
    level: str
    home_county: str
    households: int | None = None


@dataclass(frozen=True, eq=False)
class Responsibility(Record):
    """Clear responsibility: the cadre (§16; ``helper_id`` when the run has no pairing), the
    county's leadership (§16) and strategy (§25)."""

    helper_id: int | None
    county_responsible: str | None
    strategy: str | None
    units: list[ResponsibleUnit]
    cadre: Cadre | None = None


@dataclass(frozen=True, eq=False)
class PathPoint(Record):
    """One year of a household's simulated path (income yuan per person, P(exited))."""

    year: int
    income_pc_mean: float
    p_exited: float
    poverty_line: float


@dataclass(frozen=True, eq=False)
class CardTasks(Record):
    """Clear tasks: expected exit year, the target group's deadline and the path."""

    expected_exit_year: int | None
    expected_exit_basis: str | None
    expected_income_pc_2017: float | None
    target_group: str
    deadline_year: int | None
    on_schedule: bool | None
    path: list[PathPoint]


@dataclass(frozen=True, eq=False)
class HouseholdCard(Record):
    """A household's file card (:func:`fupinsim.assess.household_card`)."""

    household_id: int
    county_id: str
    county: str
    county_zh: str
    village_id: int
    village_name: str
    is_immigrant: bool
    is_registered: bool
    numbers: CardNumbers
    problems: list[CardProblem]
    countermeasures: Countermeasures
    responsibility: Responsibility
    tasks: CardTasks


# ----------------------------------------------------------------------------------------------
# Village file, "five things" (§4)


@dataclass(frozen=True, eq=False)
class VillageSituation(Record):
    """Village situation: size, poverty, income (yuan per person) and infrastructure."""

    n_households: int
    population: int
    n_poor_households: int
    n_poor_people: int
    incidence: float
    mean_income_pc: float
    mean_income_pc_poor: float
    income_structure: list[tuple[str, float]]
    land_mu: float
    sheep: int
    greenhouses: int
    infrastructure: list[tuple[str, bool]]


@dataclass(frozen=True, eq=False)
class VillageProblems(Record):
    """Problem account: infrastructure gaps, causes, household counts."""

    gaps: list[str]
    causes: list[tuple[str, int]]
    n_dilapidated: int
    n_no_safe_water: int
    n_not_ncms: int
    n_no_labour: int


@dataclass(frozen=True, eq=False)
class VillagePackage(Record):
    """A package planned in the village: households and money by payer (yuan)."""

    package_id: str
    label: str
    households: int
    cost_fiscal_yuan: float
    cost_credit_yuan: float
    cost_household_yuan: float
    first_start_year: int | None
    sections: list[str]


@dataclass(frozen=True, eq=False)
class VillageDemands(Record):
    """Demand list: planned works (rows of the works table), packages, social security."""

    works: list[dict[str, Any]]
    packages: list[VillagePackage]
    n_social_security: int


@dataclass(frozen=True, eq=False)
class VillageLeadership(Record):
    """Leadership contact (§16) and unit assistance: helpers and the work team (§18)."""

    county_responsible: str | None
    n_helpers: int
    households_per_helper: float
    helpers: list[int]
    work_team: str
    cadres: list[Cadre] = field(default_factory=list)


@dataclass(frozen=True, eq=False)
class VillageMonitoring(Record):
    """Monitoring: exit rule, deadline, simulated path, planned exits, households."""

    exit_rule: str
    deadline_year: int | None
    target_group: str
    path: list[dict[str, Any]]
    planned_exits: list[tuple[int, int]]
    households: list[dict[str, Any]]


@dataclass(frozen=True, eq=False)
class VillageFile(Record):
    """A village's file (:func:`fupinsim.assess.village_file`)."""

    village_id: int
    village_name: str
    county_id: str
    county: str
    county_zh: str
    is_immigrant: bool
    is_poor_village: bool
    situation: VillageSituation
    problems: VillageProblems
    demands: VillageDemands
    leadership: VillageLeadership
    monitoring: VillageMonitoring


# ----------------------------------------------------------------------------------------------
# County guide and announcement


def _empty() -> pd.DataFrame:
    return pd.DataFrame()


@dataclass(frozen=True, eq=False)
class CountyGuide(Record):
    """Content of a county's guide (:func:`fupinsim.assess.county_guide`).

    Tables: ``distribution``, ``income_targets``, ``reduction_tasks`` (the county's rows of the
    three tables), ``villages`` (:func:`fupinsim.assess.village_summary`), ``households``
    (registered households with plan), ``measures`` (planned packages: households by start
    year, money by payer in yuan, plan sections), ``measure_units`` (responsible units and time
    limits of the measures the county's packages and works belong to, plus §16 and §25),
    ``money`` (yuan by source × year), ``works`` (planned village infrastructure works),
    ``plan_measures`` (every measure's responsible unit and time limit), ``assessment`` (the
    county's rows).
    """

    county_id: str
    county: str
    county_zh: str
    admin_code: str
    strategy: str
    responsible: str
    distribution: pd.DataFrame = field(default_factory=_empty)
    income_targets: pd.DataFrame = field(default_factory=_empty)
    reduction_tasks: pd.DataFrame = field(default_factory=_empty)
    villages: pd.DataFrame = field(default_factory=_empty)
    households: pd.DataFrame = field(default_factory=_empty)
    measures: pd.DataFrame = field(default_factory=_empty)
    measure_units: pd.DataFrame = field(default_factory=_empty)
    money: pd.DataFrame = field(default_factory=_empty)
    works: pd.DataFrame = field(default_factory=_empty)
    plan_measures: pd.DataFrame = field(default_factory=_empty)
    assessment: pd.DataFrame = field(default_factory=_empty)


@dataclass(frozen=True, eq=False)
class CountyAnnouncement(Record):
    """One county of the public announcement (:func:`fupinsim.assess.announcement`)."""

    county_id: str
    county: str
    county_zh: str
    targets: pd.DataFrame
    money: pd.DataFrame
    village_projects: pd.DataFrame
    village_works: pd.DataFrame
    #: ``village_id, village_name, package_id, households`` (the projects one row per package).
    village_packages: pd.DataFrame = field(default_factory=_empty)
    #: ``village_id, village_name, flag, work, section, due_year`` (the works one row each).
    village_work_items: pd.DataFrame = field(default_factory=_empty)

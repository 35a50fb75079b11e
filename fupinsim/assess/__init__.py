"""Assessment: the plan's three tables, county assessment, scenario summaries, files and cards.

Pure functions on the pipeline's tables (``docs/contracts.md``); nothing here reads or writes
files other than the packaged data, prints or plots. Every function takes the tables it needs
by name, ignores extra columns and returns a new DataFrame or a typed result
(:mod:`fupinsim.assess.types`) that :mod:`fupinsim.report` and :mod:`fupinsim.plots` turn into
workbooks, HTML and figures.

The plan's words and where they are implemented:

* "three tables" (§26): :func:`three_tables` → ``poor_distribution``, ``income_targets``,
  ``reduction_tasks`` (:mod:`~fupinsim.assess.tables`);
* the two pictures' data: :func:`village_packages` (industrial project layout) and
  :func:`village_infrastructure_works` (infrastructure layout) (:mod:`~fupinsim.assess.villages`);
* "one guide": :func:`county_guide` (:mod:`~fupinsim.assess.guides`); public announcement (§17):
  :func:`announcement` (:mod:`~fupinsim.assess.announcement`);
* household card, "five clarifications" (§3): :func:`household_card`
  (:mod:`~fupinsim.assess.cards`); village file, "five things" (§4): :func:`village_file`
  (:mod:`~fupinsim.assess.files`);
* county assessment (§20-22): :func:`county_assessment` (:mod:`~fupinsim.assess.assessment`);
* headline and comparison: :func:`scenario_summary`, :func:`compare_scenarios`
  (:mod:`~fupinsim.assess.summaries`);
* the plan's measures, responsible units, works and packages' sections
  (:mod:`~fupinsim.assess.measures`, data in ``fupinsim/data/plan_measures.yaml``); names and
  labels (:mod:`~fupinsim.assess.labels`, data in ``fupinsim/data/labels.yaml``).

Money is yuan unless a name ends in ``_wan``; income is yuan per person per year (``_pc``).
"""

from __future__ import annotations

from fupinsim.assess.announcement import announcement
from fupinsim.assess.assessment import MET_PROBABILITY, county_assessment
from fupinsim.assess.cards import household_card, household_cards
from fupinsim.assess.files import village_file
from fupinsim.assess.guides import county_guide
from fupinsim.assess.labels import (
    CITY_ID,
    FIVE_CLARIFICATIONS,
    FIVE_THINGS,
    FUNDING_SOURCES,
    VILLAGE_GROUPS,
    county_label,
    group_label,
)
from fupinsim.assess.measures import (
    INFRASTRUCTURE_WORKS,
    PLAN_MEASURES,
    InfrastructureWork,
    PlanMeasure,
    package_label,
    package_sections,
    plan_measures,
)
from fupinsim.assess.summaries import compare_scenarios, scenario_summary
from fupinsim.assess.tables import income_targets, poor_distribution, reduction_tasks, three_tables
from fupinsim.assess.types import (
    AtRisk,
    CountyAnnouncement,
    CountyGuide,
    HouseholdCard,
    ScenarioSummary,
    VillageFile,
)
from fupinsim.assess.villages import (
    village_infrastructure_works,
    village_packages,
    village_summary,
)
from fupinsim.data import COUNTY_IDS, counties

__all__ = [
    "CITY_ID",
    "COUNTY_IDS",
    "FIVE_CLARIFICATIONS",
    "FIVE_THINGS",
    "FUNDING_SOURCES",
    "INFRASTRUCTURE_WORKS",
    "MET_PROBABILITY",
    "PLAN_MEASURES",
    "VILLAGE_GROUPS",
    "AtRisk",
    "CountyAnnouncement",
    "CountyGuide",
    "HouseholdCard",
    "InfrastructureWork",
    "PlanMeasure",
    "ScenarioSummary",
    "VillageFile",
    "announcement",
    "compare_scenarios",
    "counties",
    "county_assessment",
    "county_guide",
    "county_label",
    "group_label",
    "household_card",
    "household_cards",
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

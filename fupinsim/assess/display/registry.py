"""The registry's display tables (notebook 01): who is poor, where, and why.

Each function takes the registry's tables (a :class:`~fupinsim.registry.Registry`, or a run's
:class:`~fupinsim.pipeline.RunTables`: both have ``households``, ``villages`` and
``identification``) and returns a labelled frame. Counts are households or people; incomes are
yuan per person per year (元/人·年); shares are % (one decimal).
"""

from __future__ import annotations

import logging
from typing import Protocol

import pandas as pd

from fupinsim.assess.labels import CITY_ID, county_label
from fupinsim.assess.villages import village_summary
from fupinsim.data import COUNTY_IDS
from fupinsim.registry.schema import INCOME_SOURCES

__all__ = [
    "display_assistance",
    "display_causes",
    "display_identification",
    "display_income_sources",
    "display_registry_summary",
    "display_support_classes",
    "display_top_villages",
]

logger = logging.getLogger(__name__)

#: The column of :func:`display_causes` for the whole city.
CITY_COLUMN = "Jiuquan"


class RegistryTables(Protocol):
    """What the registry's tables come from: a ``Registry`` or a run's ``RunTables``."""

    @property
    def households(self) -> pd.DataFrame: ...  # one row per household (registry schema)

    @property
    def villages(self) -> pd.DataFrame: ...  # one row per village

    @property
    def identification(self) -> pd.DataFrame | None: ...  # error rates by county, or None


def _registered(registry: RegistryTables) -> pd.DataFrame:
    households = registry.households
    return households[households["is_registered"].astype(bool)]


def display_registry_summary(summary: pd.DataFrame) -> pd.DataFrame:
    """Registered poor households and people by county and village type.

    ``summary`` is :func:`fupinsim.registry.registry_summary` (or a run's
    ``registry_summary``); counts in households and people.
    """
    out = summary.copy()
    out.insert(0, "county", [county_label(c) for c in out["county_id"]])
    return out.drop(columns="county_id").rename(
        columns={
            "villages": "village type",
            "households": "poor households",
            "people": "poor people",
        }
    )


def display_top_villages(registry: RegistryTables, n: int = 10) -> pd.DataFrame:
    """The ``n`` villages with most registered poor households (ties by village id).

    Incidence in % of residents, mean net income in yuan per person per year, and the plan's
    infrastructure the village lacks (§7), indexed by village name.
    """
    table = village_summary(registry.households, registry.villages)
    top = table.sort_values(["n_poor_households", "village_id"], ascending=[False, True]).head(n)
    top = top.assign(
        county=[county_label(c, short=True) for c in top["county_id"]],
        incidence=(top["incidence"] * 100).round(1),
        mean_income_pc=top["mean_income_pc"].round(0).astype(int),
    )
    columns = [
        "village_name", "county", "is_immigrant", "is_poor_village", "n_households",
        "population", "n_poor_households", "n_poor_people", "incidence", "mean_income_pc", "gaps",
    ]  # fmt: skip
    return (
        top[columns]
        .rename(
            columns={
                "incidence": "incidence, %",
                "mean_income_pc": "mean income, yuan per person",
                "gaps": "infrastructure gaps",
            }
        )
        .set_index("village_name")
    )


def display_causes(registry: RegistryTables) -> pd.DataFrame:
    """Share of registered households by main cause of poverty, per county and for the city.

    In % of the county's registered households (each column adds up to 100), rows from the
    city's most frequent cause; the city column is :data:`CITY_COLUMN`.
    """
    registered = _registered(registry)
    cause = registered["main_cause"].astype(str).str.replace("_", " ")
    causes = pd.crosstab(cause, registered["county_id"].astype(str), normalize="columns")
    causes = causes[[c for c in COUNTY_IDS if c in causes.columns]]
    causes[CITY_COLUMN] = cause.value_counts(normalize=True)
    causes = (
        (causes * 100).round(1).sort_values([CITY_COLUMN, "main_cause"], ascending=[False, True])
    )
    causes.columns = [county_label(c, short=True) for c in causes.columns]
    causes.index.name = "main cause (% of households)"
    return causes


def display_income_sources(registry: RegistryTables) -> pd.DataFrame:
    """Mean net income per person by source, registered poor against the other households.

    Yuan per person per year (rounded): the seven sources, production cost as a negative
    line, and ``net income`` (their sum). A group without households (a registered-only
    registry has no others: the national scale test) has no column.
    """
    households = registry.households
    groups = {
        "registered poor": _registered(registry),
        "not registered": households[~households["is_registered"].astype(bool)],
    }
    columns = {}
    for name, frame in groups.items():
        if frame.empty:
            continue
        total = pd.concat(
            [
                frame[list(INCOME_SOURCES)].sum(),
                pd.Series({"production_cost": -frame["production_cost"].sum()}),
            ]
        )
        columns[name] = total / frame["n_members"].sum()
    sources = pd.DataFrame(columns)
    sources.loc["net income"] = sources.sum()
    sources.index = [str(n).removeprefix("income_").replace("_", " ") for n in sources.index]
    sources.index.name = "yuan per person per year"
    return sources.round(0).astype(int)


def display_identification(registry: RegistryTables) -> pd.DataFrame:
    """Inclusion and exclusion error rates of the registration by county and for the city (%).

    Raises
    ------
    ValueError
        The registry has no identification step (a registry read from a file).
    """
    if registry.identification is None:
        raise ValueError("the registry has no identification table (a registry from a file)")
    ident = registry.identification.copy()
    ident["county"] = [
        county_label(c) if c != "all" else "Jiuquan City (total)" for c in ident["county_id"]
    ]
    ident = ident.set_index("county").drop(columns="county_id")
    for rate in ("inclusion_rate", "exclusion_rate"):
        ident[rate] = (ident[rate] * 100).round(1)
    return ident.rename(
        columns={"inclusion_rate": "inclusion error, %", "exclusion_rate": "exclusion error, %"}
    )


def display_support_classes(registry: RegistryTables) -> pd.DataFrame:
    """Registered households by county and support class (development, social security),
    with the city total (households)."""
    registered = _registered(registry)
    classes = pd.crosstab(
        registered["county_id"].astype(str),
        registered["support_class"].astype(str),
        margins=True,
        margins_name=CITY_ID,
    )
    classes = classes.loc[[c for c in (*COUNTY_IDS, CITY_ID) if c in classes.index]]
    classes.index = [county_label(c) for c in classes.index]
    classes.index.name = "registered poor households"
    return classes.rename(columns={CITY_ID: "total"})


def display_assistance(registry: RegistryTables) -> pd.DataFrame:
    """Households receiving 低保 (subsistence allowance) or 五保 (five guarantees), registered
    as poor or not, with the total (households)."""
    assistance = (
        registry.households.groupby("is_registered")[["is_dibao", "is_wubao"]]
        .sum()
        .rename(
            index={True: "registered poor", False: "not registered"},
            columns={"is_dibao": "低保 dibao", "is_wubao": "五保 wubao"},
        )
    )
    assistance.index.name = "households"
    assistance.loc["total"] = assistance.sum()
    return assistance.astype(int)

"""The plan's measures, village infrastructure works and the packages' plan sections.

The measures (§3-30, with the responsible unit and time limit the plan assigns) and the works
are read from ``fupinsim/data/plan_measures.yaml`` on first use. A package's plan sections come
from the intervention catalogue (the ``plan_section`` of its entries, plus §12 for entries lent
as microcredit); a package the catalogue does not know is an error.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from functools import cache

import pandas as pd

from fupinsim.assess.labels import LazyMapping, LazyTuple
from fupinsim.data import load_raw, plain
from fupinsim.microsim.catalogue import load_catalogue

__all__ = [
    "INFRASTRUCTURE_WORKS",
    "PLAN_MEASURES",
    "InfrastructureWork",
    "PlanMeasure",
    "measure",
    "package_label",
    "package_sections",
    "plan_measures",
    "section_order",
]


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


@cache
def _plan_measures() -> tuple[PlanMeasure, ...]:
    rows = plain(load_raw("plan_measures"))["measures"]
    return tuple(
        PlanMeasure(
            str(r["section"]),
            str(r["title"]),
            str(r["target"]),
            str(r["responsible"]),
            str(r["time_limit"]),
        )
        for r in rows
    )


@cache
def _works() -> tuple[InfrastructureWork, ...]:
    rows = plain(load_raw("plan_measures"))["infrastructure_works"]
    return tuple(
        InfrastructureWork(
            flag=str(r["flag"]),
            work=str(r["work"]),
            section=str(r["section"]),
            scope=str(r["scope"]),
            due_year=int(r["due_year"]),
            cost_yuan=float(r.get("cost_yuan", math.nan)),
            package_id=None if r.get("package_id") is None else str(r["package_id"]),
        )
        for r in rows
    )


#: The plan's measures (§3-30) with the responsible units and time limits it assigns (PLAN,
#: ``data/plan_measures.yaml``), in plan order.
PLAN_MEASURES: Sequence[PlanMeasure] = LazyTuple(_plan_measures)
#: Village infrastructure works, one per ``has_*`` column of the villages table (PLAN §6(5),
#: §7, §9, §10, §12: each is required "by 2017" in the villages named in ``scope``).
INFRASTRUCTURE_WORKS: Sequence[InfrastructureWork] = LazyTuple(_works)
MEASURE_BY_SECTION: Mapping[str, PlanMeasure] = LazyMapping(
    lambda: {m.section: m for m in _plan_measures()}
)
WORK_BY_FLAG: Mapping[str, InfrastructureWork] = LazyMapping(lambda: {w.flag: w for w in _works()})


def measure(section: str) -> PlanMeasure:
    """The measure of a section key (``"14"``, ``"6(1)-(2)"``)."""
    return MEASURE_BY_SECTION[section]


def section_order() -> list[str]:
    """Section keys in plan order (sort key for lists of sections)."""
    return [m.section for m in _plan_measures()]


def plan_measures() -> pd.DataFrame:
    """The plan's measures as a table: ``section, title, target, responsible, time_limit``."""
    return pd.DataFrame([asdict(m) for m in _plan_measures()])


def _measure_key(section: str) -> str | None:
    """Key of :data:`PLAN_MEASURES` for a plan reference like ``"§6(1)"`` or ``"20"``."""
    text = str(section).strip().lstrip("§").strip()
    if text in MEASURE_BY_SECTION:
        return text
    if text.startswith(("6(1)", "6(2)")):
        return "6(1)-(2)"
    head = text.split("(")[0]
    if not head.isdigit():
        return None
    number = int(head)
    for key in MEASURE_BY_SECTION:
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
    order = section_order()
    for package_id, package in catalogue.packages.items():
        keys: list[str] = []
        for entry_id in package.entries:
            entry = catalogue.entry(entry_id)
            # An entry lent as poverty microcredit also belongs to the finance measure (§12).
            for key in (_measure_key(entry.plan_section), "12" if entry.financing else None):
                if key is not None and key not in keys:
                    keys.append(key)
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
        Explicit ``package_id -> sections`` that wins over the catalogue.

    Returns
    -------
    list of str
        From ``mapping``, else from the intervention catalogue (the ``plan_section`` of the
        package's entries, §12 for entries lent as microcredit), in plan order.

    Raises
    ------
    KeyError
        For a package neither ``mapping`` nor the catalogue knows (the message names the known
        ids).
    """
    if mapping is not None and package_id in mapping:
        return list(mapping[package_id])
    known = _catalogue_packages()
    if str(package_id) not in known:
        raise KeyError(
            f"package {package_id!r} is not in the intervention catalogue "
            f"(fupinsim/data/interventions.yaml), so its plan sections are unknown; known "
            f"packages: {', '.join(known)}"
        )
    return list(known[str(package_id)][1])


def package_label(package_id: str, labels: Mapping[str, str] | None = None) -> str:
    """Readable package name: from ``labels``, else the catalogue's name, else the id in words."""
    if labels is not None and package_id in labels:
        return labels[package_id]
    known = _catalogue_packages().get(str(package_id))
    if known is not None:
        return known[0]
    text = str(package_id).replace("_", " ").strip()
    return text[:1].upper() + text[1:]

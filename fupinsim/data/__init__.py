"""Packaged reference data: counties, the plan's schedule, poverty lines, rules, calibration.

Every file here follows one convention: each fact is a mapping ``{value, unit, source}`` whose
``source`` starts with ``PLAN`` (the 2015 plan, with §), ``FOUND`` (a cited public source),
``DERIVED`` (arithmetic on FOUND numbers, shown) or ``ESTIMATE`` (no source; says how it was
made). :func:`iter_facts` walks them and :func:`check_facts` lists any that break the rule; a
test runs it. Files are read on first use; only ``counties.yaml`` is read at import, for
:data:`COUNTY_IDS`.

One definition each of the lists the model shares: :data:`COUNTY_IDS` (from
``counties.yaml``), :data:`INCOME_SOURCES` and :data:`STUDENT_COLUMNS` (registry columns).

The accessors return plain values (the ``value`` of each fact) in the shapes the model needs.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from functools import cache
from importlib import resources
from typing import Any

import numpy as np
import pandas as pd
import yaml

__all__ = [
    "CAUSES",
    "COUNTY_IDS",
    "INCOME_SOURCES",
    "RANGE_KEYS",
    "SOURCE_TAGS",
    "STUDENT_COLUMNS",
    "DataFact",
    "check_facts",
    "counties",
    "dibao_standard",
    "exit_schedule",
    "facts_files",
    "hindcast_facts",
    "immigrant_income_goal",
    "iter_facts",
    "load_raw",
    "ncms_inpatient_rate",
    "plain",
    "poverty_line",
    "registry_calibration",
    "social_protection",
    "wubao_support",
]

SOURCE_TAGS: tuple[str, ...] = ("PLAN", "FOUND", "DERIVED", "ESTIMATE")
#: Optional keys of a fact that give its uncertainty range (read by ``fupinsim.uncertainty``).
RANGE_KEYS: tuple[str, ...] = ("low", "high", "distribution", "ramp_year", "range_source")
#: The registry's 13 main causes of poverty (FOUND Xu Yan 2018, docs/sources.md §6.3).
CAUSES: tuple[str, ...] = (
    "illness",
    "disability",
    "schooling",
    "disaster",
    "marriage",
    "lack_land",
    "lack_water",
    "lack_skills",
    "lack_funds",
    "lack_labour",
    "poor_transport",
    "lack_motivation",
    "other",
)

DataFact = dict[str, Any]


def facts_files() -> list[str]:
    """Names (without ``.yaml``) of the packaged data files."""
    root = resources.files(__name__)
    return sorted(p.name.removesuffix(".yaml") for p in root.iterdir() if p.name.endswith(".yaml"))


@cache
def load_raw(name: str) -> dict[str, Any]:
    """One packaged file as parsed YAML (facts still as ``{value, unit, source}``)."""
    text = resources.files(__name__).joinpath(f"{name}.yaml").read_text(encoding="utf-8")
    # libyaml's parser when PyYAML has it (the same documents, ≈ 8× faster than pure Python).
    data = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    if not isinstance(data, dict):
        raise ValueError(f"fupinsim/data/{name}.yaml must be a mapping")
    return data


def _is_fact(node: object) -> bool:
    return isinstance(node, dict) and "value" in node


def iter_facts(name: str) -> Iterator[tuple[str, DataFact]]:
    """Every fact in a file, with its path (``records[3].line``)."""

    def walk(node: object, path: str) -> Iterator[tuple[str, DataFact]]:
        if _is_fact(node):
            assert isinstance(node, dict)
            yield path, node
        elif isinstance(node, dict):
            for key, value in node.items():
                yield from walk(value, f"{path}.{key}" if path else str(key))
        elif isinstance(node, list):
            for i, value in enumerate(node):
                yield from walk(value, f"{path}[{i}]")

    yield from walk(load_raw(name), "")


def check_facts(name: str) -> list[str]:
    """Problems with a file's facts: missing unit or source, unknown tag, bare numbers.

    A bare number outside a fact (other than a ``year`` key, which identifies a record) is a
    problem too: every value must say its unit and source.
    """
    problems: list[str] = []
    for path, fact in iter_facts(name):
        if not str(fact.get("unit", "")).strip():
            problems.append(f"{name}.yaml {path}: no unit")
        source = str(fact.get("source", "")).strip()
        if not source:
            problems.append(f"{name}.yaml {path}: no source")
        elif not source.startswith(SOURCE_TAGS):
            problems.append(f"{name}.yaml {path}: source must start with one of {SOURCE_TAGS}")
        elif source.startswith("ESTIMATE") and len(source) < len("ESTIMATE") + 3:
            problems.append(f"{name}.yaml {path}: an ESTIMATE must say how it was made")
        extra = set(fact) - {"value", "unit", "source", *RANGE_KEYS}
        if extra:
            problems.append(f"{name}.yaml {path}: unexpected keys {sorted(extra)}")

    def bare(node: object, path: str) -> None:
        if _is_fact(node):
            return
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "year" and isinstance(value, int):
                    continue
                bare(value, f"{path}.{key}" if path else str(key))
        elif isinstance(node, list):
            for i, value in enumerate(node):
                bare(value, f"{path}[{i}]")
        elif isinstance(node, int | float) and not isinstance(node, bool):
            problems.append(f"{name}.yaml {path}: bare number {node!r} without unit and source")

    bare(load_raw(name), "")
    return problems


def plain(node: Any) -> Any:
    """Replace every fact by its value, recursively."""
    if _is_fact(node):
        return node["value"]
    if isinstance(node, dict):
        return {key: plain(value) for key, value in node.items()}
    if isinstance(node, list):
        return [plain(value) for value in node]
    return node


@cache
def counties() -> pd.DataFrame:
    """The seven counties: ``id`` (index), names, administrative code, schematic seat position."""
    rows = plain(load_raw("counties")["records"])
    frame = pd.DataFrame(rows).set_index("id")
    return frame.loc[list(COUNTY_IDS)]


@cache
def exit_schedule() -> pd.DataFrame:
    """The plan's schedule: ``county``, ``villages`` (all/immigrant/old), ``year``, ``share``.

    ``share`` is the cumulative share of the group's 2014 registered households that must have
    exited by the end of ``year`` (plan §2). Years after a group's last entry keep its last share.
    """
    frame = pd.DataFrame(plain(load_raw("exit_schedule")["records"]))
    return frame[["county", "villages", "year", "share"]].sort_values(
        ["county", "villages", "year"], ignore_index=True
    )


def immigrant_income_goal() -> dict[str, float]:
    """The immigrants' income goal (plan §2): base and target year, multiple, growth, level."""
    return {
        k: float(v) for k, v in plain(load_raw("exit_schedule")["immigrant_income_goal"]).items()
    }


@cache
def _line_table() -> pd.Series:
    rows = plain(load_raw("poverty_line")["records"])
    return pd.Series({int(r["year"]): float(r["line"]) for r in rows}, name="line").sort_index()


def poverty_line(year: int | None = None) -> Any:
    """National rural poverty line in yuan per person per year (current prices).

    With ``year``, a float for that year; without, the whole series (index year).

    Raises
    ------
    KeyError
        For a year outside 2010-2020 (the packaged series).
    """
    table = _line_table()
    if year is None:
        return table.copy()
    if year not in table.index:
        raise KeyError(
            f"no poverty line for {year}; the packaged series covers "
            f"{table.index.min()}-{table.index.max()}"
        )
    return float(table.loc[year])


@cache
def social_protection() -> dict[str, Any]:
    """The social protection file with plain values."""
    return plain(load_raw("social_protection"))


def _by_year(records: list[dict[str, Any]], key: str, years: Any) -> np.ndarray:
    known = sorted((int(r["year"]), float(r[key])) for r in records)
    xs = np.array([k for k, _ in known], dtype=float)
    ys = np.array([v for _, v in known], dtype=float)
    # Linear interpolation between listed years, flat outside (documented in the data file).
    return np.interp(np.asarray(years, dtype=float), xs, ys)


def dibao_standard(years: Any) -> np.ndarray:
    """Rural dibao standard (yuan per person per year) for each year."""
    return _by_year(social_protection()["dibao"], "standard", years)


def wubao_support(years: Any) -> np.ndarray:
    """Rural wubao (extreme poverty) support (yuan per person per year) for each year."""
    return _by_year(social_protection()["wubao"], "support", years)


def ncms_inpatient_rate(years: Any) -> np.ndarray:
    """Effective NCMS inpatient reimbursement share for each year."""
    return _by_year(social_protection()["ncms"], "inpatient_rate", years)


@cache
def registry_calibration() -> dict[str, Any]:
    """Calibration of the synthetic registry with plain values (see the YAML for sources)."""
    return plain(load_raw("registry_calibration"))


def _county_ids() -> tuple[str, ...]:
    """The county ids in the order of ``counties.yaml``, the one place they are defined."""
    return tuple(str(record["id"]) for record in load_raw("counties")["records"])


#: The seven county-level units of Jiuquan (``counties.yaml``), in the plan's order.
COUNTY_IDS: tuple[str, ...] = _county_ids()
#: Income sources recorded per household in the registry (yuan per household per year, gross
#: for farming), in the order of the registry's columns.
INCOME_SOURCES: tuple[str, ...] = (
    "income_wages",
    "income_crops",
    "income_livestock",
    "income_greenhouse",
    "income_business",
    "income_property",
    "income_transfers",
)
#: Members of a household in school, by stage (registry columns, people), youngest first.
STUDENT_COLUMNS: tuple[str, ...] = (
    "n_students_primary",
    "n_students_junior",
    "n_students_senior",
    "n_students_vocational",
    "n_students_tertiary",
)


def hindcast_facts() -> list[dict[str, Any]]:
    """Observed outcomes after 2014 with their mapping to run tables (``hindcast.yaml``).

    Each record keeps its facts as ``{value, unit, source}`` (the comparison needs the units
    and the sources); a fresh copy is returned, so callers may change it.
    """
    return copy.deepcopy(list(load_raw("hindcast")["facts"]))

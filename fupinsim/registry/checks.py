"""Validation of registry tables: schema, ranges and the national registry's consistency rules.

Every bad row is reported with its row number, household (or village) id, column, value and
the rule, so a county office can fix a file in one pass. The consistency rules follow the
public registry quality-check script cited in calibration.md §4.1 and §6.4:

* illness as main cause needs a chronically ill member; disability a disabled member;
  schooling a student;
* per-capita net income > 0 and <= 100,000 yuan;
* dibao and wubao are exclusive; wubao households have no able-bodied member aged 16-65;
* labour, students, dropouts and elderly cannot outnumber the members; workers away are labour;
* registered households have a cause, a year and a support class; others have none;
* the recorded per-capita income equals (income sources − production cost) / members.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from fupinsim.errors import Problem, RegistryError
from fupinsim.registry.schema import (
    HOUSEHOLD_COLUMNS,
    INCOME_SOURCES,
    VILLAGE_COLUMNS,
    ColumnSpec,
    coerce_households,
    coerce_villages,
)

__all__ = ["check_households", "check_registry", "check_villages", "parse_table"]

_TRUE = {"true", "1", "yes", "y", "t"}
_FALSE = {"false", "0", "no", "n", "f"}
_STUDENTS = (
    "n_students_primary",
    "n_students_junior",
    "n_students_senior",
    "n_students_vocational",
    "n_students_tertiary",
)


def _row_label(frame: pd.DataFrame, position: int | np.integer, id_column: str) -> str:
    ident = frame[id_column].iloc[position] if id_column in frame else None
    label = f"row {position + 1}"
    return f"{label} ({id_column} {ident})" if ident is not None and pd.notna(ident) else label


def _is_missing(series: pd.Series) -> np.ndarray:
    values = series.astype("object")
    return np.asarray(values.isna() | values.map(lambda v: isinstance(v, str) and not v.strip()))


def _parse_column(series: pd.Series, spec: ColumnSpec) -> tuple[pd.Series, np.ndarray]:
    """Parse one column to its schema type; returns values and a mask of unparseable cells."""
    missing = _is_missing(series)
    if spec.dtype == "bool":
        text = series.astype("object").map(lambda v: str(v).strip().lower())
        parsed = text.map(lambda v: True if v in _TRUE else (False if v in _FALSE else None))
        bad = parsed.isna().to_numpy() & ~missing
        return parsed, bad
    if spec.dtype in {"category", "string"}:
        return series.astype("object").where(~missing, None), np.zeros(len(series), bool)
    numbers = pd.to_numeric(series, errors="coerce")
    bad = numbers.isna().to_numpy() & ~missing
    if spec.dtype.lower().startswith("int"):
        whole = numbers.isna() | (numbers == np.floor(numbers))
        bad |= ~whole.to_numpy()
    return numbers, bad


def parse_table(
    frame: pd.DataFrame, columns: tuple[ColumnSpec, ...], where: str, id_column: str
) -> tuple[pd.DataFrame, list[Problem]]:
    """Check columns, types, missing values, ranges and categories; parse what can be parsed."""
    problems: list[Problem] = []
    known = {c.name for c in columns}
    for name in frame.columns:
        if name not in known:
            problems.append(
                Problem(
                    f"{where}: column {name!r}",
                    name,
                    f"is not a registry column; allowed: {', '.join(sorted(known))}",
                )
            )
    parsed: dict[str, pd.Series] = {}
    for spec in columns:
        if spec.name not in frame:
            if spec.required:
                problems.append(
                    Problem(
                        f"{where}: column {spec.name!r}",
                        None,
                        f"is required ({spec.description} Unit: {spec.unit})",
                    )
                )
            continue
        raw = frame[spec.name]
        values, bad = _parse_column(raw, spec)
        missing = _is_missing(raw)
        for pos in np.flatnonzero(bad):
            problems.append(
                Problem(
                    f"{where}: {_row_label(frame, pos, id_column)}, column {spec.name}",
                    raw.iloc[pos],
                    spec.rule,
                )
            )
        if not spec.nullable:
            for pos in np.flatnonzero(missing):
                problems.append(
                    Problem(
                        f"{where}: {_row_label(frame, pos, id_column)}, column {spec.name}",
                        None,
                        f"must not be empty; {spec.rule}",
                    )
                )
        ok = ~bad & ~missing
        if spec.allowed is not None:
            outside = ok & ~values.isin(spec.allowed).to_numpy()
            for pos in np.flatnonzero(outside):
                problems.append(
                    Problem(
                        f"{where}: {_row_label(frame, pos, id_column)}, column {spec.name}",
                        raw.iloc[pos],
                        spec.rule,
                    )
                )
        elif spec.dtype not in {"bool", "string"}:
            numeric = values.to_numpy(dtype=float, na_value=np.nan)
            low = -np.inf if spec.low is None else spec.low
            high = np.inf if spec.high is None else spec.high
            with np.errstate(invalid="ignore"):
                outside = ok & ((numeric < low) | (numeric > high))
            for pos in np.flatnonzero(outside):
                problems.append(
                    Problem(
                        f"{where}: {_row_label(frame, pos, id_column)}, column {spec.name}",
                        raw.iloc[pos],
                        spec.rule,
                    )
                )
        parsed[spec.name] = values
    return pd.DataFrame(parsed, index=frame.index), problems


Rule = tuple[str, str, Callable[[pd.DataFrame], np.ndarray]]


def _students(frame: pd.DataFrame) -> np.ndarray:
    return np.asarray(sum(frame[c].to_numpy(dtype=float) for c in _STUDENTS))


def _flag(frame: pd.DataFrame, column: str) -> np.ndarray:
    return frame[column].astype("boolean").fillna(False).to_numpy(dtype=bool)


def _income_pc(frame: pd.DataFrame) -> np.ndarray:
    total = sum(frame[c].to_numpy(dtype=float) for c in INCOME_SOURCES)
    return np.asarray(
        (total - frame["production_cost"].to_numpy(dtype=float))
        / frame["n_members"].to_numpy(dtype=float)
    )


#: (column named in the message, rule in words, mask of rows that BREAK the rule)
HOUSEHOLD_RULES: tuple[Rule, ...] = (
    (
        "main_cause",
        "illness as main cause needs a chronically ill member (n_chronic_ill >= 1)",
        lambda f: (
            (f["main_cause"] == "illness").to_numpy(dtype=bool)
            & (f["n_chronic_ill"].to_numpy(dtype=float) < 1)
        ),
    ),
    (
        "main_cause",
        "disability as main cause needs a disabled member (n_disabled >= 1)",
        lambda f: (
            (f["main_cause"] == "disability").to_numpy(dtype=bool)
            & (f["n_disabled"].to_numpy(dtype=float) < 1)
        ),
    ),
    (
        "main_cause",
        "schooling as main cause needs a student (some n_students_* >= 1)",
        lambda f: (f["main_cause"] == "schooling").to_numpy(dtype=bool) & (_students(f) < 1),
    ),
    (
        "income_pc",
        "per-capita net income must be > 0 and <= 100,000 yuan",
        lambda f: (
            (f["income_pc"].to_numpy(dtype=float) <= 0)
            | (f["income_pc"].to_numpy(dtype=float) > 100_000)
        ),
    ),
    (
        "is_wubao",
        "dibao and wubao are exclusive (a household cannot have both)",
        lambda f: _flag(f, "is_dibao") & _flag(f, "is_wubao"),
    ),
    (
        "is_wubao",
        "a wubao household has no able-bodied member aged 16-65 (n_labour must be 0)",
        lambda f: _flag(f, "is_wubao") & (f["n_labour"].to_numpy(dtype=float) > 0),
    ),
    (
        "n_members",
        "labour + students + dropouts + elderly must not exceed the members",
        lambda f: (
            (
                f["n_labour"].to_numpy(dtype=float)
                + _students(f)
                + f["n_dropouts"].to_numpy(dtype=float)
                + f["n_elderly"].to_numpy(dtype=float)
            )
            > f["n_members"].to_numpy(dtype=float)
        ),
    ),
    (
        "n_away",
        "workers away (n_away) must be among the labour (n_away <= n_labour)",
        lambda f: f["n_away"].to_numpy(dtype=float) > f["n_labour"].to_numpy(dtype=float),
    ),
    (
        "main_cause",
        "a registered household needs a main cause; others must leave it empty",
        lambda f: _flag(f, "is_registered") != f["main_cause"].notna().to_numpy(dtype=bool),
    ),
    (
        "registered_year",
        "a registered household needs a registration year; others none",
        lambda f: _flag(f, "is_registered") != f["registered_year"].notna().to_numpy(dtype=bool),
    ),
    (
        "support_class",
        "a registered household needs a support class; others none",
        lambda f: _flag(f, "is_registered") != f["support_class"].notna().to_numpy(dtype=bool),
    ),
    (
        "income_pc",
        "must equal (income sources − production_cost) / n_members within 1 yuan",
        lambda f: np.abs(_income_pc(f) - f["income_pc"].to_numpy(dtype=float)) > 1.0,
    ),
)


def check_households(
    frame: pd.DataFrame, where: str = "households", village_ids: pd.Series | None = None
) -> tuple[pd.DataFrame, list[Problem]]:
    """Check a households table; returns the typed table (if clean) and every problem."""
    parsed, problems = parse_table(frame, HOUSEHOLD_COLUMNS, where, "household_id")
    if problems:
        return parsed, problems
    ids = parsed["household_id"]
    for pos in np.flatnonzero(ids.duplicated(keep="first").to_numpy()):
        problems.append(
            Problem(
                f"{where}: {_row_label(frame, pos, 'household_id')}, column household_id",
                ids.iloc[pos],
                "must be unique",
            )
        )
    for column, rule, broken in HOUSEHOLD_RULES:
        for pos in np.flatnonzero(broken(parsed)):
            problems.append(
                Problem(
                    f"{where}: {_row_label(frame, pos, 'household_id')}, column {column}",
                    parsed[column].iloc[pos],
                    rule,
                )
            )
    if village_ids is not None:
        unknown = ~parsed["village_id"].isin(village_ids).to_numpy()
        for pos in np.flatnonzero(unknown):
            problems.append(
                Problem(
                    f"{where}: {_row_label(frame, pos, 'household_id')}, column village_id",
                    parsed["village_id"].iloc[pos],
                    "must be a village_id of the villages table",
                )
            )
    return coerce_households(parsed) if not problems else parsed, problems


def check_villages(
    frame: pd.DataFrame, where: str = "villages"
) -> tuple[pd.DataFrame, list[Problem]]:
    """Check a villages table; returns the typed table (if clean) and every problem."""
    parsed, problems = parse_table(frame, VILLAGE_COLUMNS, where, "village_id")
    if not problems:
        ids = parsed["village_id"]
        for pos in np.flatnonzero(ids.duplicated(keep="first").to_numpy()):
            problems.append(
                Problem(
                    f"{where}: {_row_label(frame, pos, 'village_id')}, column village_id",
                    ids.iloc[pos],
                    "must be unique",
                )
            )
    return coerce_villages(parsed) if not problems else parsed, problems


def check_registry(
    households: pd.DataFrame,
    villages: pd.DataFrame | None = None,
    where: str = "registry",
) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """Validate both tables; raise :class:`RegistryError` listing every problem.

    Returns the typed households and villages tables.
    """
    problems: list[Problem] = []
    typed_villages = None
    if villages is not None:
        typed_villages, village_problems = check_villages(villages, f"{where} [villages]")
        problems += village_problems
    village_ids = (
        typed_villages["village_id"] if typed_villages is not None and not problems else None
    )
    typed, household_problems = check_households(households, f"{where} [households]", village_ids)
    problems += household_problems
    if problems:
        raise RegistryError(problems, summary=f"{where}: {len(problems)} problem(s) found")
    return typed, typed_villages

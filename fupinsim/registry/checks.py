"""Validation of registry tables: schema, ranges and the national registry's consistency rules.

Every bad row is reported with its row number, household (or village) id, column, value and
the rule, so a county office can fix a file in one pass. The consistency rules follow the
public registry quality-check script cited in docs/sources.md §4.1 and §6.4:

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
from typing import Any

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
    """``row <n> (<id column> <id>)``: n counts data rows from 1 (the header is not a row)."""
    ident = frame[id_column].iloc[position] if id_column in frame else None
    label = f"row {position + 1}"
    return f"{label} ({id_column} {ident})" if ident is not None and pd.notna(ident) else label


def _plain(value: object) -> object:
    """A cell value as plain Python, so messages read ``0.0`` and not ``np.float64(0.0)``, and
    ``''`` for an empty cell."""
    if value is None or (not isinstance(value, str) and bool(pd.isna(value))):  # type: ignore[call-overload]
        return ""
    return value.item() if isinstance(value, np.generic) else value


def _is_missing(series: pd.Series) -> np.ndarray:
    """Empty cells: NA, or text that is blank (vectorised: registries have millions of rows)."""
    missing = series.isna().to_numpy(dtype=bool, copy=True)
    if series.dtype == object or pd.api.types.is_string_dtype(series.dtype):
        try:
            blank = series.str.strip().eq("")
        except AttributeError:  # an object column without any text
            return missing
        missing |= blank.fillna(False).to_numpy(dtype=bool)
    return missing


def _text(series: pd.Series) -> pd.Series:
    """Cells as stripped lower-case text (vectorised for text columns)."""
    if isinstance(series.dtype, pd.StringDtype):
        return series.str.strip().str.lower()
    return series.astype("object").astype(str).str.strip().str.lower()


def _numbers(series: pd.Series, missing: np.ndarray, whole: bool) -> pd.Series:
    """Cells as numbers, NaN where they are not numbers (fast casts first, then parsing)."""
    if pd.api.types.is_numeric_dtype(series.dtype) and not pd.api.types.is_bool_dtype(series):
        return series
    source = series.where(~missing) if missing.any() else series
    arrow = isinstance(series.dtype, pd.StringDtype) and series.dtype.storage == "pyarrow"
    # A straight cast (Arrow's for text) is ten times faster than pd.to_numeric; it fails on
    # any bad cell, and then pd.to_numeric finds them.
    for dtype in ("int64", "float64") if whole and not missing.any() else ("float64",):
        try:
            if arrow:
                arrow_dtype: Any = f"{dtype}[pyarrow]"
                cast = source.astype(arrow_dtype)
                values = cast.to_numpy(dtype=dtype, na_value=np.nan if dtype == "float64" else 0)
                return pd.Series(values, index=series.index, name=series.name)
            return source.astype(dtype)
        except (ValueError, TypeError, OverflowError):
            continue
    return pd.to_numeric(source, errors="coerce")


def _parse_column(series: pd.Series, spec: ColumnSpec) -> tuple[pd.Series, np.ndarray]:
    """Parse one column to its schema type; returns values and a mask of unparseable cells."""
    missing = _is_missing(series)
    if spec.dtype == "bool":
        if pd.api.types.is_bool_dtype(series.dtype) and not series.hasnans:
            return series, np.zeros(len(series), bool)
        text = _text(series)
        true = text.isin(_TRUE).to_numpy(dtype=bool)
        false = text.isin(_FALSE).to_numpy(dtype=bool)
        known = true | false
        if known.all():
            return pd.Series(true, index=series.index, name=series.name), ~known
        values = np.full(len(series), None, dtype=object)
        values[known] = true[known]
        parsed = pd.Series(values, index=series.index, name=series.name)
        return parsed, ~known & ~missing
    if spec.dtype in {"category", "string"}:
        return series.astype("object").where(~missing, None), np.zeros(len(series), bool)
    whole = spec.dtype.lower().startswith("int")
    numbers = _numbers(series, missing, whole)
    bad = numbers.isna().to_numpy() & ~missing
    if whole:
        values = numbers.to_numpy(dtype=float, na_value=np.nan)
        with np.errstate(invalid="ignore"):
            bad |= ~np.isnan(values) & (values != np.floor(values))
    return numbers, bad


def _parse_table(
    frame: pd.DataFrame, columns: tuple[ColumnSpec, ...], where: str, id_column: str
) -> tuple[pd.DataFrame, list[Problem], np.ndarray]:
    """:func:`parse_table`, plus a mask of the rows with a problem in some column."""
    problems: list[Problem] = []
    bad_rows = np.zeros(len(frame), dtype=bool)
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

        def report(mask: np.ndarray, rule: str, raw: pd.Series = raw) -> None:
            for pos in np.flatnonzero(mask):
                problems.append(
                    Problem(
                        f"{where}: {_row_label(frame, pos, id_column)}, column {raw.name}",
                        _plain(raw.iloc[pos]),
                        rule,
                    )
                )
            bad_rows[mask] = True

        report(bad, spec.rule)
        if not spec.nullable:
            report(missing, f"must not be empty; {spec.rule}")
        ok = ~bad & ~missing
        if spec.allowed is not None:
            report(ok & ~values.isin(spec.allowed).to_numpy(), spec.rule)
        elif spec.dtype not in {"bool", "string"}:
            numeric = values.to_numpy(dtype=float, na_value=np.nan)
            low = -np.inf if spec.low is None else spec.low
            high = np.inf if spec.high is None else spec.high
            with np.errstate(invalid="ignore"):
                report(ok & ((numeric < low) | (numeric > high)), spec.rule)
        parsed[spec.name] = values
    return pd.DataFrame(parsed, index=frame.index), problems, bad_rows


def parse_table(
    frame: pd.DataFrame, columns: tuple[ColumnSpec, ...], where: str, id_column: str
) -> tuple[pd.DataFrame, list[Problem]]:
    """Check columns, types, missing values, ranges and categories; parse what can be parsed."""
    parsed, problems, _ = _parse_table(frame, columns, where, id_column)
    return parsed, problems


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


def _duplicates(
    frame: pd.DataFrame, parsed: pd.DataFrame, where: str, id_column: str
) -> list[Problem]:
    """Rows whose id repeats an earlier row's, naming the earlier row."""
    if id_column not in parsed:
        return []
    ids = parsed[id_column]
    repeated = ids.duplicated(keep="first").to_numpy() & ids.notna().to_numpy()
    if not repeated.any():
        return []
    first_row = pd.Series(np.arange(len(ids)), index=ids.to_numpy()).groupby(level=0).first()
    return [
        Problem(
            f"{where}: {_row_label(frame, pos, id_column)}, column {id_column}",
            _plain(ids.iloc[pos]),
            f"must be unique (row {int(first_row[ids.iloc[pos]]) + 1} has the same id)",
        )
        for pos in np.flatnonzero(repeated)
    ]


def check_households(
    frame: pd.DataFrame, where: str = "households", village_ids: pd.Series | None = None
) -> tuple[pd.DataFrame, list[Problem]]:
    """Check a households table; returns the typed table (if clean) and every problem.

    The consistency rules run on every row whose cells all parsed (a row with an unreadable
    cell is reported for that cell, never for a rule it only seems to break), so one pass
    reports every bad row.
    """
    parsed, problems, bad_rows = _parse_table(frame, HOUSEHOLD_COLUMNS, where, "household_id")
    problems += _duplicates(frame, parsed, where, "household_id")
    for column, rule, broken in HOUSEHOLD_RULES:
        try:
            mask = np.asarray(broken(parsed), dtype=bool) & ~bad_rows
        except KeyError:  # the rule needs a column that is missing (reported above)
            continue
        problems += [
            Problem(
                f"{where}: {_row_label(frame, pos, 'household_id')}, column {column}",
                _plain(parsed[column].iloc[pos]),
                rule,
            )
            for pos in np.flatnonzero(mask)
        ]
    if village_ids is not None and "village_id" in parsed:
        unknown = ~parsed["village_id"].isin(village_ids).to_numpy() & ~bad_rows
        problems += [
            Problem(
                f"{where}: {_row_label(frame, pos, 'household_id')}, column village_id",
                _plain(parsed["village_id"].iloc[pos]),
                "must be a village_id of the villages table",
            )
            for pos in np.flatnonzero(unknown)
        ]
    return coerce_households(parsed) if not problems else parsed, problems


def check_villages(
    frame: pd.DataFrame, where: str = "villages"
) -> tuple[pd.DataFrame, list[Problem]]:
    """Check a villages table; returns the typed table (if clean) and every problem."""
    parsed, problems = parse_table(frame, VILLAGE_COLUMNS, where, "village_id")
    problems += _duplicates(frame, parsed, where, "village_id")
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

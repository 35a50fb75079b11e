"""Registry cells: parse each column to its schema type and report every cell that breaks it.

The first half of the registry validator (:mod:`fupinsim.registry.checks` adds the rules
between columns and tables): the header (unknown, repeated and missing columns), then each cell
against its column's type, emptiness, allowed values, range and the range of the schema's dtype.
Problems go into a :class:`ProblemLog`, which counts every problem and keeps the first few
(bounded memory on registries of millions of rows).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from fupinsim.errors import Problem
from fupinsim.registry.schema import ColumnSpec

__all__ = ["ProblemLog", "parse_cells", "parse_table", "plain", "row_label"]

_TRUE = {"true", "1", "yes", "y", "t"}
_FALSE = {"false", "0", "no", "n", "f"}


def row_label(
    frame: pd.DataFrame, position: int | np.integer, id_column: str, first_row: int = 1
) -> str:
    """``row <n> (<id column> <id>)``: n counts data rows from 1 (the header is not a row);
    ``first_row`` is the number of the frame's first row (a chunk of a larger file)."""
    ident = frame[id_column].iloc[position] if id_column in frame else None
    label = f"row {position + first_row}"
    return f"{label} ({id_column} {ident})" if ident is not None and pd.notna(ident) else label


def plain(value: object) -> object:
    """A cell value as plain Python, so messages read ``0.0`` and not ``np.float64(0.0)``, and
    ``''`` for an empty cell."""
    if value is None or (not isinstance(value, str) and bool(pd.isna(value))):  # type: ignore[call-overload]
        return ""
    return value.item() if isinstance(value, np.generic) else value


class ProblemLog:
    """Problems found so far: every one counted, the first ``cap`` kept (bounded memory).

    ``cap=None`` keeps every problem.
    """

    def __init__(self, cap: int | None = None) -> None:
        self.cap = cap
        self.kept: list[Problem] = []
        self.total = 0

    def _room(self, wanted: int) -> int:
        return wanted if self.cap is None else max(0, min(wanted, self.cap - len(self.kept)))

    def add(self, problem: Problem) -> None:
        """Count one problem; keep it while under the cap."""
        self.total += 1
        if self._room(1):
            self.kept.append(problem)

    def add_rows(self, mask: np.ndarray, make: Callable[[int], Problem]) -> None:
        """Count a problem for each row in ``mask``; build (``make(position)``) the kept ones."""
        positions = np.flatnonzero(mask)
        self.total += len(positions)
        self.kept.extend(make(int(pos)) for pos in positions[: self._room(len(positions))])


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
    try:
        return pd.to_numeric(source, errors="coerce")
    except (TypeError, ValueError):  # cells that are neither text nor numbers (e.g. dates)
        return pd.to_numeric(source.astype("object").astype(str), errors="coerce")


def _parse_column(
    series: pd.Series, spec: ColumnSpec, missing: np.ndarray
) -> tuple[pd.Series, np.ndarray]:
    """Parse one column to its schema type (``missing``: its empty cells); returns values and a
    mask of unparseable cells."""
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


def _dtype_bounds(spec: ColumnSpec) -> tuple[float, float] | None:
    """The values an integer column's schema dtype holds: ``[low, high)`` as floats (exact:
    the bounds are powers of two), or None for other columns."""
    dtype = spec.dtype.lower()
    if not dtype.startswith(("int", "uint")):
        return None
    info = np.iinfo(np.dtype(dtype))
    return float(info.min), float(info.max) + 1.0


def _header_problems(
    frame: pd.DataFrame, columns: tuple[ColumnSpec, ...], where: str, log: ProblemLog
) -> None:
    """Columns that repeat, are unknown, or are required and missing."""
    known = {c.name for c in columns}
    for name in frame.columns[frame.columns.duplicated()].unique():
        log.add(Problem(f"{where}: column {name!r}", name, "must appear only once in the header"))
    for name in frame.columns.unique():
        if name not in known:
            log.add(
                Problem(
                    f"{where}: column {name!r}",
                    name,
                    f"is not a registry column; allowed: {', '.join(sorted(known))}",
                )
            )
    for spec in columns:
        if spec.name not in frame and spec.required:
            log.add(
                Problem(
                    f"{where}: column {spec.name!r}",
                    None,
                    f"is required ({spec.description} Unit: {spec.unit})",
                )
            )


def parse_cells(
    frame: pd.DataFrame,
    columns: tuple[ColumnSpec, ...],
    where: str,
    id_column: str,
    log: ProblemLog,
    first_row: int = 1,
    header: bool = True,
) -> tuple[pd.DataFrame, np.ndarray]:
    """Parse and check every cell into ``log``; returns the parsed table and a mask of the rows
    with a problem in some column. ``header=False`` skips the header's problems (a later chunk
    of a file whose header was checked with the first)."""
    bad_rows = np.zeros(len(frame), dtype=bool)
    if header:
        _header_problems(frame, columns, where, log)
    frame = frame.loc[:, ~frame.columns.duplicated()]
    parsed: dict[str, pd.Series] = {}
    for spec in columns:
        if spec.name not in frame:
            continue
        raw = frame[spec.name]
        missing = _is_missing(raw)
        values, bad = _parse_column(raw, spec, missing)

        def report(mask: np.ndarray, rule: str, raw: pd.Series = raw) -> None:
            log.add_rows(
                mask,
                lambda pos: Problem(
                    f"{where}: {row_label(frame, pos, id_column, first_row)}, column {raw.name}",
                    plain(raw.iloc[pos]),
                    rule,
                ),
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
                outside = ok & ((numeric < low) | (numeric > high))
            report(outside, spec.rule)
            bounds = _dtype_bounds(spec)
            if bounds is not None and not pd.api.types.is_integer_dtype(values.dtype):
                with np.errstate(invalid="ignore"):
                    unheld = ok & ~outside & ((numeric < bounds[0]) | (numeric >= bounds[1]))
                report(
                    unheld,
                    f"{spec.rule} that the schema's {spec.dtype} holds "
                    f"(at most {int(bounds[1]) - 1})",
                )
        parsed[spec.name] = values
    return pd.DataFrame(parsed, index=frame.index), bad_rows


def parse_table(
    frame: pd.DataFrame, columns: tuple[ColumnSpec, ...], where: str, id_column: str
) -> tuple[pd.DataFrame, list[Problem]]:
    """Check columns, types, missing values, ranges and categories; parse what can be parsed."""
    log = ProblemLog()
    parsed, _ = parse_cells(frame, columns, where, id_column, log)
    return parsed, log.kept

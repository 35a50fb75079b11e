"""Checks shared by the allocation's input tables (each returns the problems it finds)."""

from __future__ import annotations

import re

import pandas as pd

from fupinsim.errors import Problem

__all__ = ["bad_ids", "bad_range", "missing_columns"]

_ID = re.compile(r"^[A-Za-z0-9]+(_[A-Za-z0-9]+)*$")


def missing_columns(frame: pd.DataFrame, name: str, columns: tuple[str, ...]) -> list[Problem]:
    missing = [c for c in columns if c not in frame.columns]
    if not missing:
        return []
    return [
        Problem(
            f"{name}",
            sorted(frame.columns),
            f"must have the columns {', '.join(columns)}; missing {', '.join(missing)}",
        )
    ]


def bad_ids(values: pd.Series, where: str) -> list[Problem]:
    bad = sorted({str(v) for v in values.unique() if not _ID.match(str(v))})
    if not bad:
        return []
    return [
        Problem(
            where,
            bad[:5],
            "ids must be ascii letters and digits joined by single underscores "
            "(they become PuLP names)",
        )
    ]


def bad_range(
    values: pd.Series, where: str, low: float, high: float | None = None
) -> list[Problem]:
    numbers = pd.to_numeric(values, errors="coerce")
    mask = numbers.isna() | (numbers < low)
    if high is not None:
        mask |= numbers > high
    if not mask.any():
        return []
    rule = f"must be numbers >= {low:g}" + (f" and <= {high:g}" if high is not None else "")
    return [Problem(where, values[mask].head(3).tolist(), rule)]

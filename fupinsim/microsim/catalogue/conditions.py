"""Eligibility conditions: structured rules (column, optional ``minus`` column, operator, value)
evaluated vectorised over a table of households or villages; nothing is ever passed to ``eval``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal, TypeAlias, cast

import numpy as np
import pandas as pd

__all__ = ["Condition", "ConditionValue", "Op", "Table"]

Op = Literal["eq", "ne", "lt", "le", "gt", "ge", "in", "not_in"]
ConditionValue: TypeAlias = float | bool | str | tuple[float | str, ...]
#: A table of households or villages: a DataFrame or a mapping of column name to array.
Table: TypeAlias = pd.DataFrame | Mapping[str, Any]

_OP_TEXT = {
    "eq": "=",
    "ne": "≠",
    "lt": "<",
    "le": "≤",
    "gt": ">",
    "ge": "≥",
    "in": "in",
    "not_in": "not in",
}


def _n_rows(table: Table) -> int:
    if isinstance(table, pd.DataFrame):
        return len(table)
    for values in table.values():
        return len(np.asarray(values))
    return 0


def _series(table: Table, column: str) -> pd.Series:
    if column not in table:
        raise KeyError(f"eligibility needs the column {column!r}, which the table does not have")
    values = table[column]
    if isinstance(values, pd.Series):
        return values.reset_index(drop=True)
    return pd.Series(np.asarray(values))


def _is_number(value: object) -> bool:
    return isinstance(value, int | float | np.integer | np.floating) and not isinstance(
        value, bool | np.bool_
    )


@dataclass(frozen=True)
class Condition:
    """One structured eligibility rule: ``table[column] (- table[minus]) <op> value``.

    Attributes
    ----------
    column:
        A household column (``fupinsim.registry.schema.HOUSEHOLD_COLUMNS``), or a village
        column (``VILLAGE_COLUMNS``) for village entries.
    op:
        ``eq``, ``ne``, ``lt``, ``le``, ``gt``, ``ge``, ``in`` or ``not_in``.
    value:
        A number (in the column's unit), a bool, a category, or a tuple of them for ``in`` /
        ``not_in``.
    minus:
        Optional second numeric column subtracted from ``column`` first (``n_labour`` minus
        ``n_away`` = labourers at home).

    A missing value never satisfies a condition (not even ``ne`` or ``not_in``).
    """

    column: str
    op: Op
    value: ConditionValue
    minus: str | None = None

    def mask(self, table: Table) -> np.ndarray:
        """Rows of ``table`` that satisfy the condition (vectorised).

        Parameters
        ----------
        table:
            DataFrame or mapping of column name to array (one value per row).

        Returns
        -------
        numpy.ndarray
            Boolean array, one value per row.

        Raises
        ------
        KeyError
            The table lacks ``column`` (or ``minus``).
        """
        series = _series(table, self.column)
        missing = series.isna().to_numpy(dtype=bool, copy=True)
        other = None
        if self.minus is not None:
            other = _series(table, self.minus)
            missing = missing | other.isna().to_numpy(dtype=bool)
        result = np.zeros(len(series), dtype=bool)
        valid = ~missing
        if not valid.any():
            return result
        left = series[valid]
        if other is not None:
            left = left.astype("float64") - other[valid].astype("float64")
        result[valid] = self._compare(left)
        return result

    def _compare(self, left: pd.Series) -> np.ndarray:
        value = self.value
        if self.op in ("in", "not_in"):
            options = list(value) if isinstance(value, tuple) else [value]
            if all(_is_number(v) for v in options):
                hit = np.isin(left.astype("float64").to_numpy(), np.asarray(options, float))
            else:
                hit = left.astype(object).isin(options).to_numpy(dtype=bool)
            return hit if self.op == "in" else ~hit
        if isinstance(value, bool | str):
            # Missing values are already filtered out, so the comparison is element-wise.
            hit = _equal(left, value)
            if self.op == "eq":
                return hit
            if self.op == "ne":
                return ~hit
            raise ValueError(f"{self.describe()}: {self.op} needs a number")
        numbers = left.astype("float64").to_numpy()
        threshold = float(cast(float, value))
        compare = {
            "eq": np.equal,
            "ne": np.not_equal,
            "lt": np.less,
            "le": np.less_equal,
            "gt": np.greater,
            "ge": np.greater_equal,
        }[self.op]
        return np.asarray(compare(numbers, threshold), dtype=bool)

    def describe(self) -> str:
        """The rule in words, e.g. ``n_labour − n_away ≥ 2``."""
        left = f"{self.column} − {self.minus}" if self.minus else self.column
        value = self.value
        if isinstance(value, tuple):
            text = "{" + ", ".join(str(v) for v in value) + "}"
        elif isinstance(value, float) and value.is_integer():
            text = str(int(value))
        else:
            text = str(value)
        return f"{left} {_OP_TEXT[self.op]} {text}"


def _equal(left: pd.Series, value: bool | str) -> np.ndarray:
    """``left == value`` element-wise, as Python objects compare (no missing values).

    Without converting a million values to objects where the dtype allows: a bool column
    against a bool, a categorical of strings against a string (by its codes).
    """
    dtype = left.dtype
    if isinstance(value, bool) and dtype == np.dtype(bool):
        return left.to_numpy() == value
    if (
        isinstance(value, str)
        and isinstance(dtype, pd.CategoricalDtype)
        and all(isinstance(c, str) for c in dtype.categories)
    ):
        codes = left.cat.codes.to_numpy()
        categories = list(dtype.categories)
        if value not in categories:
            return np.zeros(codes.size, dtype=bool)
        return codes == categories.index(value)
    return np.asarray(left.astype(object).to_numpy() == value, dtype=bool)


def _all_of(conditions: Iterable[Condition], table: Table) -> np.ndarray:
    result = np.ones(_n_rows(table), dtype=bool)
    for condition in conditions:
        result &= condition.mask(table)
    return result

"""A display table for a run that does not hold the tables it shows.

A national scale-test run (``scenarios/national_2014.yaml``, :mod:`fupinsim.io.national_run`)
solves the LP and projects the plan chunk by chunk; it computes no plan comparison, factor
method, closed loop or county factors, and leaves its household tables on disk. The notebooks
show the same cells for it as for a Jiuquan run (issue 18): a display function decorated with
:func:`shown_if_in_run` then returns a one-row table saying which tables the run does not hold
and why, instead of failing on an empty frame.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import pandas as pd

if TYPE_CHECKING:  # the pipeline imports fupinsim.assess: no import cycle at run time
    from fupinsim.pipeline.results import RunTables

__all__ = ["ABSENT_COLUMN", "absent_table", "missing_tables", "shown_if_in_run"]

#: The column of :func:`absent_table`'s one row.
ABSENT_COLUMN = "not in this run"

Shown = TypeVar("Shown", bound=Callable[..., pd.DataFrame])


def missing_tables(run: RunTables, names: tuple[str, ...]) -> list[str]:
    """The tables of ``names`` that ``run`` does not hold (absent, or left on disk)."""
    return [name for name in names if not run.has(name)]


def absent_table(run: RunTables, missing: list[str]) -> pd.DataFrame:
    """One row saying which tables ``run`` does not hold, and the run's own note (a national
    run's: a scale test, not a national projection); ``attrs["note"]`` holds the same text."""
    on_disk = run.manifest.get("household_tables_on_disk") or {}
    reasons = [on_disk.get(name, f"{name}: not computed in this run") for name in missing]
    note = str(run.manifest.get("note") or "")
    text = "; ".join(reasons) + (f". {note}" if note else ".")
    shown = pd.DataFrame({ABSENT_COLUMN: [text]}, index=pd.Index(["note"]))
    shown.attrs["note"] = text
    return shown


def shown_if_in_run(*tables: str) -> Callable[[Shown], Shown]:
    """Decorate a display function of a run: when the run (its first argument) does not hold
    one of ``tables``, return :func:`absent_table` instead of calling it."""

    def decorate(function: Shown) -> Shown:
        @functools.wraps(function)
        def shown(run: RunTables, *args: Any, **kwargs: Any) -> pd.DataFrame:
            missing = missing_tables(run, tables)
            if missing:
                return absent_table(run, missing)
            return function(run, *args, **kwargs)

        return shown  # type: ignore[return-value]

    return decorate

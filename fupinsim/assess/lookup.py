"""Small helpers shared by the cards, files and guides: row lookup, missing values, schedules."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pandas as pd

from fupinsim.data import exit_schedule
from fupinsim.errors import InputError

if TYPE_CHECKING:  # the pipeline imports assess: only the type, no import at run time
    from fupinsim.pipeline.results import RunTables

__all__ = [
    "deadline_year",
    "exit_year_column",
    "from_run",
    "int_or_none",
    "is_true",
    "required_from_run",
    "row_of",
    "schedule",
    "target_group",
]


def from_run(run: RunTables | None, name: str, given: pd.DataFrame | None) -> pd.DataFrame | None:
    """Table ``name`` of a run: ``given`` when a caller passes it, else the run's, else ``None``.

    The assess functions take a :class:`~fupinsim.pipeline.RunTables` (``scenario_summary(run,
    ...)``); a table given by keyword (the older form, which notebooks still use) wins over the
    run's.
    """
    if given is not None:
        return given
    return getattr(run, name) if run is not None else None


def required_from_run(
    run: RunTables | None, name: str, given: pd.DataFrame | None, function: str
) -> pd.DataFrame:
    """Like :func:`from_run` for a table the function needs; ``TypeError`` (a programming
    error, not a planner's) when neither the run nor the keyword gives it."""
    table = from_run(run, name, given)
    if table is None:
        raise TypeError(f"{function}() needs a RunTables or the {name} table")
    return table


def row_of(frame: pd.DataFrame, column: str, value: int, table: str) -> dict[str, Any]:
    """The first row of ``frame`` whose ``column`` is ``value``; a planner's error if none."""
    match = frame[frame[column] == value]
    if match.empty:
        raise InputError.single(
            f"{table} table, column {column}",
            value,
            f"must be a {column.removesuffix('_id')} id present in the {table} table",
            fix=f"look the id up in tables/{table}.csv",
        )
    return {str(k): v for k, v in match.iloc[0].to_dict().items()}


def is_true(value: Any) -> bool:
    """``bool(value)``, with missing values (``None``, ``NaN``, ``NA``) false."""
    return bool(value) if value is not None and not pd.isna(value) else False


def int_or_none(value: Any) -> int | None:
    """``int(value)``, or ``None`` for a missing value."""
    return None if value is None or pd.isna(value) else int(value)


def target_group(county_id: str, is_immigrant: bool, exit_targets: pd.DataFrame | None) -> str:
    """The exit-target group of a household or village: ``all`` where the county has one
    target, else ``immigrant`` / ``old``."""
    groups = schedule(exit_targets)
    kinds = set(groups.loc[groups["county_id"] == county_id, "villages"])
    if "all" in kinds or not kinds:
        return "all"
    return "immigrant" if is_immigrant else "old"


def schedule(exit_targets: pd.DataFrame | None) -> pd.DataFrame:
    """``county_id, villages, year, target_share`` of the run, else of the plan (§2)."""
    if exit_targets is not None and len(exit_targets):
        out = exit_targets[["county_id", "villages", "year", "target_share"]].copy()
    else:
        out = exit_schedule().rename(columns={"county": "county_id", "share": "target_share"})
    out["county_id"] = out["county_id"].astype(str)
    out["villages"] = out["villages"].astype(str)
    return out


def deadline_year(county_id: str, villages: str, exit_targets: pd.DataFrame | None) -> int | None:
    """First year by which the group's whole target (share 1) must be reached."""
    sched = schedule(exit_targets)
    part = sched[(sched["county_id"] == county_id) & (sched["villages"] == villages)]
    done = part[part["target_share"] >= 1.0 - 1e-9]
    return int(done["year"].min()) if len(done) else None


def exit_year_column(plans: pd.DataFrame) -> str | None:
    """The plan's best exit-year column: simulated if the pipeline added it, else the LP's."""
    for column in ("simulated_exit_year", "expected_exit_year"):
        if column in plans and plans[column].notna().any():
            return column
    return None

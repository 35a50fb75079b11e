"""Broken registries of two tables, for the rules between the tables and on the whole registry.

Each is ``tests/data/valid_registry.csv`` and its villages with one documented change, written
to ``tests/data/bad_registry/tables/`` by ``PYTHONPATH=tests python
tests/unit/test_registry_checks.py`` (which also writes the one-table files of its ``BROKEN``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

Table = pd.DataFrame

TABLES_DIR = Path(__file__).resolve().parents[1] / "data" / "bad_registry" / "tables"


def _set(row: int, **cells: str) -> Callable[[Table], Table]:
    """Edit: set cells of one row (``row`` counts data rows from 1, as the messages do)."""

    def edit(table: Table) -> Table:
        out = table.copy()
        for column, value in cells.items():
            out.loc[row - 1, column] = value
        return out

    return edit


def _keep(table: Table) -> Table:
    return table


def _without_county(county: str) -> Callable[[Table], Table]:
    """Edit (either table): drop the rows of one county."""
    return lambda table: table[table["county_id"] != county].reset_index(drop=True)


#: The counties of the valid registry that have registered households (each needs some in a
#: run that plans for it).
RUN_COUNTIES = ("suzhou", "yumen", "guazhou", "jinta")


@dataclass(frozen=True)
class BrokenTables:
    """A broken registry of both tables (``tests/data/bad_registry/tables/<file>`` and the
    villages beside it), checked for a scenario planning for ``counties`` when given."""

    file: str
    edit: Callable[[Table], Table]
    where: str  # after "<file> [households]: "
    value: object  # as the message shows it (after "got"); None for no value
    rule: str  # a fragment of the rule text
    edit_villages: Callable[[Table], Table] = _keep
    counties: tuple[str, ...] | None = None


BROKEN_TABLES: tuple[BrokenTables, ...] = (
    BrokenTables(
        "county_not_the_villages.csv",
        _set(5, county_id="guazhou"),
        "row 5 (household_id 19610), column county_id",
        "guazhou",
        "must be the county of village 63 (yumen in the villages table)",
    ),
    BrokenTables(
        "immigrant_not_the_villages.csv",
        _set(1, is_immigrant="True"),
        "row 1 (household_id 452), column is_immigrant",
        True,
        "must be the is_immigrant of village 2 (False in the villages table)",
    ),
    BrokenTables(
        "no_households.csv",
        lambda table: table.iloc[:0],
        "rows",
        0,
        "must hold at least one household (a data row under the header)",
    ),
    BrokenTables(
        "planned_county_without_registered.csv",
        _without_county("guazhou"),
        "column county_id",
        None,
        "must have registered poor households in every county scenario 'plan_2015' plans for "
        "(suzhou, yumen, guazhou, jinta); guazhou has none (0 households, none registered)",
        edit_villages=_without_county("guazhou"),
        counties=RUN_COUNTIES,
    ),
    BrokenTables(
        "registered_outside_the_scenario.csv",
        _set(
            20,
            is_registered="True",
            main_cause="illness",
            registered_year="2014",
            support_class="development",
            helper_id="700000001",
        ),
        "column county_id",
        "aksai",
        "must be a county scenario 'plan_2015' plans for (suzhou, yumen, guazhou, jinta) in "
        "registered households; 1 registered households are in aksai",
        counties=RUN_COUNTIES,
    ),
)

"""Household-level tables written chunk by chunk, and read back by rows and columns.

At national size a household table (206 million rows of income paths) must never be gathered
in memory. :class:`StreamedTable` appends each chunk as one Parquet row group
(``pyarrow.parquet.ParquetWriter``) and, while the table is small enough, the same rows to a
CSV copy; :func:`read_rows` reads a table back with a filter and a column selection, so a
reader of one household touches only the row groups whose statistics can hold it.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq

__all__ = ["ROW_GROUP_ROWS", "StreamedTable", "card_tables", "read_rows", "row_group_rows"]

logger = logging.getLogger(__name__)

#: Most rows per Parquet row group (a chunk of 1 M households × 7 years is seven groups): a
#: filtered read of one household decodes one group, not the chunk.
ROW_GROUP_ROWS = 1_048_576

#: Fewest rows per row group: a wide table gets groups of about :data:`ROW_GROUP_CELLS` cells
#: (``households``, 39 columns: 107 k rows), so a card's read of one household decodes about
#: 4 M values rather than 39 M (0.6 s of the 2.5 s a national card took).
MIN_ROW_GROUP_ROWS = 65_536
ROW_GROUP_CELLS = 1 << 22


def row_group_rows(n_columns: int) -> int:
    """Rows per row group of a table of ``n_columns`` columns (about 4 M cells a group)."""
    return max(MIN_ROW_GROUP_ROWS, min(ROW_GROUP_ROWS, ROW_GROUP_CELLS // max(n_columns, 1)))


class StreamedTable:
    """``tables/<name>.parquet`` (and ``.csv`` unless too long) written one chunk at a time.

    Parameters
    ----------
    folder:
        The run folder (its ``tables/`` sub-folder is written).
    name:
        Table name (file stem).
    expected_rows:
        Rows the finished table will have (decides the CSV copy before the first chunk).
    csv_max_rows:
        No CSV copy above this many rows (``registry.csv_max_household_rows``).
    """

    def __init__(self, folder: str | Path, name: str, expected_rows: int, csv_max_rows: int):
        target = Path(folder) / "tables"
        target.mkdir(parents=True, exist_ok=True)
        self.name = name
        self.parquet_path = target / f"{name}.parquet"
        self.csv_path: Path | None = target / f"{name}.csv"
        self.rows = 0
        self.csv_skipped = expected_rows > csv_max_rows
        if self.csv_skipped:
            self.csv_path = None
            logger.warning(
                "%s: %s rows expected, more than registry.csv_max_household_rows (%s): "
                "written as Parquet only, no CSV copy",
                name,
                f"{expected_rows:,}",
                f"{csv_max_rows:,}",
            )
        self._writer: pq.ParquetWriter | None = None

    def write(self, frame: pd.DataFrame) -> None:
        """Append one chunk (same columns and types every time) as row groups."""
        table = pa.Table.from_pandas(frame, preserve_index=False)
        if self._writer is None:
            self._writer = pq.ParquetWriter(self.parquet_path, table.schema)
        self._writer.write_table(table, row_group_size=row_group_rows(table.num_columns))
        if self.csv_path is not None:
            frame.to_csv(
                self.csv_path,
                mode="a" if self.rows else "w",
                header=not self.rows,
                index=False,
                encoding="utf-8",
                lineterminator="\n",
            )
        self.rows += len(frame)

    def close(self) -> dict[str, Any]:
        """Finish the file; returns what the manifest records about the table."""
        if self._writer is not None:
            self._writer.close()
            self._writer = None
        return {"rows": self.rows, "csv": not self.csv_skipped}

    def __enter__(self) -> StreamedTable:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


def read_rows(
    path: str | Path,
    *,
    column: str | None = None,
    values: Sequence[Any] | None = None,
    columns: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Rows of a Parquet table (file or folder of parts) where ``column`` is in ``values``.

    Only the named ``columns`` are read (all if None); row groups whose min/max statistics
    exclude every value are skipped, so the cost follows the rows asked for, not the table.
    """
    dataset = ds.dataset(str(path), format="parquet")
    expression = None
    if column is not None and values is not None:
        wanted = list(values)
        field = ds.field(column)
        expression = field == wanted[0] if len(wanted) == 1 else field.isin(wanted)
    table = dataset.to_table(
        columns=list(columns) if columns is not None else None, filter=expression
    )
    return table.to_pandas()


def _table_path(base: Path, name: str) -> Path | None:
    parquet = base / f"{name}.parquet"
    return parquet if parquet.exists() else None


def card_tables(
    folder: str | Path, *, household_id: int | None = None, village_id: int | None = None
) -> dict[str, pd.DataFrame]:
    """The rows a household card (or village file) needs from a finished run's tables.

    Household-level tables are filtered on ``household_id`` (or ``village_id``), the villages
    table on the household's village; small tables (exit targets, village works) are read
    whole. A card of a 29-million-household run reads a few row groups, not the run. Tables
    kept only as CSV (older runs) are read whole.
    """
    base = Path(folder) / "tables"
    out: dict[str, pd.DataFrame] = {}
    key, value = (
        ("household_id", household_id) if household_id is not None else ("village_id", village_id)
    )
    households = _table_path(base, "households")
    if households is not None:
        out["households"] = read_rows(households, column=key, values=[value])
    village_ids = (
        out["households"]["village_id"].unique().tolist()
        if household_id is not None and "households" in out
        else [village_id]
    )
    filtered = {
        "villages": ("village_id", village_ids),
        "village_year": ("village_id", village_ids),
    }
    ids = out["households"]["household_id"].tolist() if "households" in out else [household_id]
    for name in ("household_plans", "household_paths", "household", "household_cadres"):
        filtered[name] = ("household_id", ids)
    for name, (column, values) in filtered.items():
        path = _table_path(base, name)
        if path is not None:
            out[name] = read_rows(path, column=column, values=values)
    for name in ("exit_targets", "village_works"):
        path = _table_path(base, name)
        if path is not None:
            out[name] = pd.read_parquet(path)
    for name in ("households", "villages", *filtered, "exit_targets", "village_works"):
        csv = base / f"{name}.csv"
        if name not in out and csv.exists():
            out[name] = pd.read_csv(csv)
    return out

"""Streamed household tables: row groups appended chunk by chunk, read back by rows/columns."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
from helpers.fake_results import KNOWN_HOUSEHOLD_ID, fake_run_tables

from fupinsim.io.outputs import write_tables
from fupinsim.io.streamed import StreamedTable, card_tables, read_rows


def _chunk(start: int, n: int) -> pd.DataFrame:
    ids = np.arange(start, start + n, dtype=np.int64)
    return pd.DataFrame(
        {
            "household_id": np.repeat(ids, 3),
            "year": np.tile(np.array([2015, 2016, 2017], dtype=np.int16), n),
            "p_exited": np.linspace(0, 1, 3 * n, dtype=np.float32),
        }
    )


def test_chunks_become_row_groups_and_the_csv_copy_holds_the_same_rows(tmp_path: Path) -> None:
    chunks = [_chunk(1, 100), _chunk(101, 50)]
    with StreamedTable(tmp_path, "household_paths", 450, csv_max_rows=1_000) as table:
        for chunk in chunks:
            table.write(chunk)
    parquet = pq.ParquetFile(tmp_path / "tables" / "household_paths.parquet")
    assert parquet.metadata.num_row_groups == 2
    whole = pd.concat(chunks, ignore_index=True)
    pd.testing.assert_frame_equal(parquet.read().to_pandas(), whole)
    csv = pd.read_csv(tmp_path / "tables" / "household_paths.csv")
    np.testing.assert_array_equal(csv["household_id"], whole["household_id"])
    assert table.close() == {"rows": 450, "csv": True}


def test_no_csv_copy_above_the_limit(tmp_path: Path, caplog) -> None:  # type: ignore[no-untyped-def]
    with StreamedTable(tmp_path, "household_paths", 450, csv_max_rows=449) as table:
        table.write(_chunk(1, 150))
    assert not (tmp_path / "tables" / "household_paths.csv").exists()
    assert table.close() == {"rows": 450, "csv": False}
    assert "csv_max_household_rows" in caplog.text


def test_read_rows_filters_rows_and_selects_columns(tmp_path: Path) -> None:
    with StreamedTable(tmp_path, "household_paths", 450, csv_max_rows=0) as table:
        for start in (1, 51, 101):
            table.write(_chunk(start, 50))
    path = tmp_path / "tables" / "household_paths.parquet"
    rows = read_rows(path, column="household_id", values=[60, 120], columns=["household_id"])
    assert list(rows.columns) == ["household_id"]
    assert rows["household_id"].tolist() == [60, 60, 60, 120, 120, 120]


def test_card_tables_hold_only_the_household_and_its_village(tmp_path: Path) -> None:
    tables = fake_run_tables()
    write_tables(tables.as_dict(), tmp_path)
    got = card_tables(tmp_path, household_id=KNOWN_HOUSEHOLD_ID)
    assert got["households"]["household_id"].tolist() == [KNOWN_HOUSEHOLD_ID]
    village = int(got["households"]["village_id"].iloc[0])
    assert got["villages"]["village_id"].unique().tolist() == [village]
    for name in ("household_plans", "household_paths"):
        if name in got:
            assert set(got[name]["household_id"]) <= {KNOWN_HOUSEHOLD_ID}
    assert len(got["exit_targets"]) == len(tables.exit_targets)


def test_wide_tables_get_smaller_row_groups_so_one_household_decodes_few_rows() -> None:
    from fupinsim.io.streamed import MIN_ROW_GROUP_ROWS, ROW_GROUP_ROWS, row_group_rows

    assert row_group_rows(4) == ROW_GROUP_ROWS  # household_paths: 1 M rows a group
    assert row_group_rows(39) == (1 << 22) // 39  # households: about 107 k rows a group
    assert row_group_rows(1_000) == MIN_ROW_GROUP_ROWS
    assert row_group_rows(39) * 39 <= 1 << 22 < ROW_GROUP_ROWS * 39

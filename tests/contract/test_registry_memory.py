"""``fupinsim check-registry`` streams a file: its peak memory does not grow with the file.

Registries of 200,000 and 2,000,000 households (Parquet) and of 100,000 and 200,000 (CSV) are
generated from the 20 households of ``tests/data/valid_registry.csv`` with new ids; the peak
resident memory of the ``check-registry`` process (``ru_maxrss`` of a wrapper's only child)
must stay within a small margin of the smaller file's. Reading the 2 M-row file whole took
1.3 GB; streaming it takes about 0.3 GB, most of it the libraries.

The 2 M-row file also has a bad cell in each of its last 100,000 rows and an id repeated across
chunks: every problem is counted, the first 1,000 are listed, the repeat names its first row.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from fupinsim.io.registry_files import read_registry, villages_path

VALID = Path(__file__).resolve().parents[1] / "data" / "valid_registry.csv"
BLOCK = 100_000  # rows generated (and written as one row group) at a time
MIB = 1024 * 1024
#: How much more the larger file may take at its peak than the smaller one.
MARGIN = 80 * MIB
#: Peak of the 2 M-row file (reading it whole: 1.3 GB).
BOUND = 700 * MIB

_WRAPPER = (
    "import resource, subprocess, sys\n"
    "done = subprocess.run(sys.argv[1:], capture_output=True, text=True)\n"
    "sys.stderr.write(done.stdout + done.stderr)\n"
    "print(done.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
)


def _generate(path: Path, rows: int, bad_tail: int = 0, repeat_at: int | None = None) -> Path:
    """A registry of ``rows`` households: the valid 20 repeated with ids 1..rows; the last
    ``bad_tail`` rows get a negative land_mu; row ``repeat_at`` gets row 1's id."""
    registry = read_registry(VALID)
    base = pa.Table.from_pandas(registry.households, preserve_index=False)
    block = base.take(np.tile(np.arange(base.num_rows), BLOCK // base.num_rows))
    if path.suffix == ".csv":  # text columns as plain strings
        fields = [
            pa.field(f.name, f.type.value_type if pa.types.is_dictionary(f.type) else f.type)
            for f in block.schema
        ]
        block = block.cast(pa.schema(fields))
    writer: pq.ParquetWriter | pacsv.CSVWriter | None = None
    for start in range(0, rows, BLOCK):
        ids = np.arange(start + 1, start + BLOCK + 1, dtype=np.int64)
        if repeat_at is not None and start < repeat_at <= start + BLOCK:
            ids[repeat_at - start - 1] = 1
        table = block.set_column(0, "household_id", pa.array(ids))
        land = block.schema.get_field_index("land_mu")
        if start + BLOCK > rows - bad_tail:
            table = table.set_column(land, "land_mu", pa.array(np.full(BLOCK, -1.0)))
        if writer is None:
            writer = (
                pacsv.CSVWriter(path, table.schema)
                if path.suffix == ".csv"
                else pq.ParquetWriter(path, table.schema)
            )
        writer.write_table(table)
    assert writer is not None
    writer.close()
    side = villages_path(path)
    if path.suffix == ".csv":
        registry.villages.to_csv(side, index=False)
    else:
        registry.villages.to_parquet(side, index=False)
    return path


def _check(path: Path) -> tuple[int, int, str]:
    """(exit code, peak resident bytes, output) of ``fupinsim check-registry path``."""
    command = [sys.executable, "-m", "fupinsim.cli", "check-registry", str(path)]
    done = subprocess.run(
        [sys.executable, "-c", _WRAPPER, *command],
        capture_output=True,
        text=True,
        timeout=600,
        check=True,
    )
    code, peak_kib = done.stdout.split()
    return int(code), int(peak_kib) * 1024, done.stderr


@pytest.mark.slow
def test_peak_memory_of_a_2m_row_parquet_check_does_not_grow_with_the_file(
    tmp_path: Path,
) -> None:
    small = _generate(tmp_path / "small.parquet", 200_000)
    big = _generate(tmp_path / "big.parquet", 2_000_000, bad_tail=BLOCK, repeat_at=150_000)
    code, peak_small, output = _check(small)
    assert code == 0, output
    assert output == (
        f"{small}: valid registry: 200,000 households, 100,000 registered with 350,000 people\n"
    )
    code, peak_big, output = _check(big)
    print(f"peak RSS: {peak_small / MIB:.0f} MiB (0.2 M rows), {peak_big / MIB:.0f} MiB (2 M)")
    assert code == 2
    lines = output.splitlines()
    assert lines[0] == f"error: {big}: 100,001 problem(s) found; the first 1,000 are listed"
    assert lines[1] == (
        f"{big} [households]: row 150000 (household_id 1), column household_id: "
        "must be unique (row 1 has the same id); got 1"
    )
    assert lines[2].startswith(f"{big} [households]: row 1900001 (household_id 1900001), column ")
    assert lines[-1] == "... and 99,001 more problems (fix those listed and check again)"
    assert len(lines) == 1 + 1000 + 1
    assert peak_big < peak_small + MARGIN
    assert peak_big < BOUND


@pytest.mark.slow
def test_peak_memory_of_a_csv_check_does_not_grow_with_the_file(tmp_path: Path) -> None:
    small = _generate(tmp_path / "small.csv", 100_000)
    big = _generate(tmp_path / "big.csv", 200_000)
    code, peak_small, output = _check(small)
    assert code == 0, output
    code, peak_big, output = _check(big)
    print(f"peak RSS: {peak_small / MIB:.0f} MiB (0.1 M rows), {peak_big / MIB:.0f} MiB (0.2 M)")
    assert code == 0, output
    assert output == (
        f"{big}: valid registry: 200,000 households, 100,000 registered with 350,000 people\n"
    )
    assert peak_big < peak_small + MARGIN

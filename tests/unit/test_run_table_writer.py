"""``write_run`` writes a run's tables in one forked process while the reports are written
(:func:`fupinsim.io.run._start_tables`); a daemonic process (a Dask worker of ``fupinsim batch
--scheduler local``, which may not start children) writes them itself. Same files either way."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pytest

from fupinsim.io import run as io_run

TABLES = {
    "county_year": pd.DataFrame({"county_id": ["suzhou", "yumen"], "remaining": [1.5, 2.0]}),
    "spending": pd.DataFrame({"pool": ["city"], "fiscal_yuan": [10_000.0]}),
}


def _files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted((folder / "tables").glob("*"))}


def test_forked_and_in_process_writers_write_the_same_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    forked = tmp_path / "forked"
    forked.mkdir()
    io_run._start_tables(TABLES, forked)()
    monkeypatch.setattr(io_run, "current_process", lambda: SimpleNamespace(daemon=True))
    daemon = tmp_path / "daemon"
    daemon.mkdir()
    wait = io_run._start_tables(TABLES, daemon)
    assert _files(daemon), "a daemonic process writes the tables before returning"
    wait()
    assert _files(forked) == _files(daemon)
    assert set(_files(forked)) == {f"{n}.{e}" for n in TABLES for e in ("csv", "parquet")}


def test_the_forked_writer_s_error_is_raised_when_waited_for(tmp_path: Path) -> None:
    wait = io_run._start_tables({"Not Snake": TABLES["spending"]}, tmp_path)
    with pytest.raises(Exception, match="snake"):
        wait()

"""``fupinsim.io.cache``: content keys and atomic table entries on disk."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from fupinsim.io.cache import ENTRY_INFO, TableCache, content_key


def _tables() -> dict[str, pd.DataFrame]:
    return {
        "households": pd.DataFrame(
            {
                "household_id": np.arange(5, dtype=np.int64),
                "county_id": pd.Categorical(["subei", "aksai", "subei", "jinta", "aksai"]),
                "income_pc": np.array([2800.5, 3100.25, 1e-9, 4000.0, 2999.999]),
                "is_registered": [True, False, True, True, False],
            }
        ),
        "villages": pd.DataFrame({"village_id": ["v1", "v2"], "n": [3, 2]}),
    }


def test_content_key_depends_on_stage_content_and_code_only() -> None:
    key = content_key("yields", {"seed": 1, "microsim": {"a": 1.0, "b": [1, 2]}}, "v1")
    assert key == content_key("yields", {"microsim": {"b": [1, 2], "a": 1.0}, "seed": 1}, "v1")
    assert len(key) == 16
    assert key != content_key("yields", {"seed": 2, "microsim": {"a": 1.0, "b": [1, 2]}}, "v1")
    assert key != content_key("registry", {"seed": 1, "microsim": {"a": 1.0, "b": [1, 2]}}, "v1")
    assert key != content_key("yields", {"seed": 1, "microsim": {"a": 1.0, "b": [1, 2]}}, "v2")


def test_tables_round_trip_exactly(tmp_path: Path) -> None:
    cache = TableCache(tmp_path / "cache")
    assert cache.load("abc") is None
    folder = cache.store("abc", _tables(), {"stage": "registry"})
    assert folder == tmp_path / "cache" / "abc"
    loaded = cache.load("abc")
    assert loaded is not None
    for name, frame in _tables().items():
        pd.testing.assert_frame_equal(loaded[name], frame)
    # Nothing half-written is left beside the entry.
    assert sorted(p.name for p in (tmp_path / "cache").iterdir()) == ["abc"]


def test_an_incomplete_entry_is_not_read_and_is_replaced(tmp_path: Path) -> None:
    cache = TableCache(tmp_path)
    (tmp_path / "k1").mkdir()
    (tmp_path / "k1" / "households.parquet").write_bytes(b"half")  # killed before entry.json
    assert cache.load("k1") is None
    cache.store("k1", _tables())
    assert (tmp_path / "k1" / ENTRY_INFO).is_file()
    assert cache.load("k1") is not None


def test_a_damaged_entry_is_recomputed_not_raised(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    cache = TableCache(tmp_path)
    cache.store("k2", _tables())
    (tmp_path / "k2" / "villages.parquet").write_bytes(b"not parquet")
    assert cache.load("k2") is None
    assert "unreadable" in caplog.text


def test_storing_an_entry_twice_keeps_the_first(tmp_path: Path) -> None:
    cache = TableCache(tmp_path)
    cache.store("k3", _tables())
    other = {"households": _tables()["households"].head(1)}
    cache.store("k3", other)
    loaded = cache.load("k3")
    assert loaded is not None
    assert len(loaded["households"]) == 5

"""Registry files: CSV, Excel and Parquet round trips keep values and dtypes; chunked writing;
clear errors for unknown extensions, missing or unreadable files."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from fupinsim.errors import InputError, RegistryError
from fupinsim.io import registry_files
from fupinsim.io.registry_files import (
    read_registry,
    villages_path,
    write_registry,
    write_registry_chunks,
)
from fupinsim.registry import Registry
from fupinsim.registry.schema import HOUSEHOLD_COLUMNS, VILLAGE_COLUMNS


@pytest.fixture(scope="module")
def small_registry(plan_registry: Registry) -> Registry:
    """About 200 households (whole villages, registered and not) with their villages."""
    households = plan_registry.households
    first_villages = households["village_id"].drop_duplicates().iloc[[0, 60, 120]]
    rows = households[households["village_id"].isin(first_villages)]
    rows = rows.groupby("village_id").head(70).reset_index(drop=True)
    villages = plan_registry.villages[plan_registry.villages["village_id"].isin(first_villages)]
    return Registry(rows, villages.reset_index(drop=True))


def test_small_registry_is_a_fair_sample(small_registry: Registry) -> None:
    households = small_registry.households
    assert 150 <= len(households) <= 250
    assert households["is_registered"].any() and (~households["is_registered"]).any()
    assert households["main_cause"].isna().any()  # empty cells must survive the round trip
    assert households["county_id"].nunique() >= 2


@pytest.mark.parametrize("suffix", [".csv", ".xlsx", ".parquet"])
def test_round_trip_keeps_values_and_dtypes(
    small_registry: Registry, tmp_path: Path, suffix: str
) -> None:
    path = write_registry(small_registry, tmp_path / f"registry{suffix}")
    assert path.is_file()
    if suffix != ".xlsx":
        assert villages_path(path).is_file()
    back = read_registry(path)
    pd.testing.assert_frame_equal(back.households, small_registry.households)
    pd.testing.assert_frame_equal(back.villages, small_registry.villages)
    assert [str(t) for t in back.households.dtypes] == [c.dtype for c in HOUSEHOLD_COLUMNS]
    assert [str(t) for t in back.villages.dtypes] == [c.dtype for c in VILLAGE_COLUMNS]


def test_excel_holds_two_sheets(small_registry: Registry, tmp_path: Path) -> None:
    path = write_registry(small_registry, tmp_path / "registry.xlsx")
    assert pd.ExcelFile(path).sheet_names == ["households", "villages"]


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_chunks_stream_into_one_file(small_registry: Registry, tmp_path: Path, suffix: str) -> None:
    households = small_registry.households
    chunks = [
        Registry(households.iloc[:100].reset_index(drop=True), small_registry.villages),
        Registry(households.iloc[100:].reset_index(drop=True), small_registry.villages),
    ]
    path = tmp_path / f"chunked{suffix}"
    written = write_registry_chunks(chunks, path)
    assert written == (len(households), int(households["n_members"].sum()))
    back = read_registry(path)
    pd.testing.assert_frame_equal(back.households, households)
    pd.testing.assert_frame_equal(back.villages, small_registry.villages)


def test_a_file_without_villages_checks_households_only(
    small_registry: Registry, tmp_path: Path
) -> None:
    path = write_registry(small_registry, tmp_path / "alone.csv")
    villages_path(path).unlink()
    back = read_registry(path)
    pd.testing.assert_frame_equal(back.households, small_registry.households)
    assert back.villages.empty


@pytest.mark.parametrize("name", ["registry.json", "registry.xls", "registry"])
def test_unknown_extension_is_refused(small_registry: Registry, tmp_path: Path, name: str) -> None:
    for action in (
        lambda: write_registry(small_registry, tmp_path / name),
        lambda: read_registry(tmp_path / name),
    ):
        with pytest.raises(InputError) as caught:
            action()
        message = str(caught.value)
        assert str(tmp_path / name) in message
        assert "the file extension must be one of .csv, .parquet, .xlsx" in message


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="registry file must exist"):
        read_registry(tmp_path / "nowhere.parquet")


def test_unreadable_file(tmp_path: Path) -> None:
    path = tmp_path / "broken.parquet"
    path.write_bytes(b"this is not parquet")
    with pytest.raises(InputError) as caught:
        read_registry(path)
    assert str(caught.value) == (
        f"{path}: must be a Parquet file (starting and ending with PAR1) as its extension says; "
        "it is a CSV file (UTF-8 text). Rename it to broken.csv, or save it as .parquet."
    )


def test_excel_without_households_sheet(tmp_path: Path) -> None:
    path = tmp_path / "other.xlsx"
    pd.DataFrame({"a": [1]}).to_excel(path, sheet_name="Sheet1", index=False)
    with pytest.raises(InputError) as caught:
        read_registry(path)
    assert "must have a sheet named 'households'" in str(caught.value)
    assert "Sheet1" in str(caught.value)


def test_excel_row_limit(
    small_registry: Registry, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(registry_files, "EXCEL_MAX_ROWS", 100)
    with pytest.raises(InputError, match=r"use \.parquet or \.csv"):
        write_registry(small_registry, tmp_path / "big.xlsx")
    with pytest.raises(InputError, match=r"chunked output must be \.parquet or \.csv"):
        write_registry_chunks([small_registry], tmp_path / "big.xlsx")


def test_a_bad_cell_in_excel_names_row_column_and_value(
    small_registry: Registry, tmp_path: Path
) -> None:
    path = write_registry(small_registry, tmp_path / "registry.xlsx")
    households = pd.read_excel(path, sheet_name="households")
    villages = pd.read_excel(path, sheet_name="villages")
    households["sheep"] = households["sheep"].astype(object)
    households.loc[4, "sheep"] = "many"
    with pd.ExcelWriter(path) as writer:
        households.to_excel(writer, sheet_name="households", index=False)
        villages.to_excel(writer, sheet_name="villages", index=False)
    with pytest.raises(RegistryError) as caught:
        read_registry(path)
    message = str(caught.value)
    household_id = small_registry.households.loc[4, "household_id"]
    assert f"row 5 (household_id {household_id}), column sheep" in message
    assert "got 'many'" in message
    assert "must be a whole number >= 0 and <= 5000" in message


# ----------------------------------------------------------------------------------------------
# Atomic writes: a failed or interrupted write leaves the previous file as it was


class _DiskFullError(OSError):
    pass


def _fail_after_writing(method: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Make ``DataFrame.<method>`` write its table, then fail (a full disk, a killed write)."""
    original = getattr(pd.DataFrame, method)

    def fail(frame: pd.DataFrame, *args: object, **kwargs: object) -> None:
        original(frame, *args, **kwargs)
        raise _DiskFullError("no space left on device")

    monkeypatch.setattr(pd.DataFrame, method, fail)


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


@pytest.mark.parametrize(
    ("suffix", "method"), [(".csv", "to_csv"), (".parquet", "to_parquet"), (".xlsx", "to_excel")]
)
def test_a_failed_write_leaves_the_previous_registry_intact(
    small_registry: Registry,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    suffix: str,
    method: str,
) -> None:
    path = write_registry(small_registry, tmp_path / f"registry{suffix}")
    before = _snapshot(tmp_path)
    smaller = Registry(small_registry.households.head(5), small_registry.villages)
    with monkeypatch.context() as patched:
        _fail_after_writing(method, patched)
        with pytest.raises(_DiskFullError):
            write_registry(smaller, path)
    assert _snapshot(tmp_path) == before  # same files, same bytes, no temporary file left
    pd.testing.assert_frame_equal(read_registry(path).households, small_registry.households)


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_an_interrupted_chunked_write_leaves_the_previous_registry_intact(
    small_registry: Registry, tmp_path: Path, suffix: str
) -> None:
    path = tmp_path / f"registry{suffix}"
    write_registry_chunks([small_registry, small_registry], path)
    before = _snapshot(tmp_path)

    def chunks() -> object:
        yield Registry(small_registry.households.head(3), small_registry.villages)
        raise KeyboardInterrupt  # Ctrl-C while the second chunk is being generated

    with pytest.raises(KeyboardInterrupt):
        write_registry_chunks(chunks(), path)  # type: ignore[arg-type]
    assert _snapshot(tmp_path) == before


def test_a_successful_write_replaces_both_tables(small_registry: Registry, tmp_path: Path) -> None:
    path = write_registry(small_registry, tmp_path / "registry.parquet")
    smaller = Registry(small_registry.households.head(5), small_registry.villages.head(1))
    write_registry(smaller, path)
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "registry.parquet",
        "registry.villages.parquet",
    ]
    assert len(pd.read_parquet(path)) == 5
    assert len(pd.read_parquet(villages_path(path))) == 1


def test_parquet_is_written_in_row_groups_a_reader_can_stream(
    small_registry: Registry, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import pyarrow.parquet as pq

    monkeypatch.setattr(registry_files, "ROW_GROUP_ROWS", 50)
    path = write_registry(small_registry, tmp_path / "registry.parquet")
    groups = pq.ParquetFile(path).num_row_groups
    assert groups == -(-len(small_registry.households) // 50)

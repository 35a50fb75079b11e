"""Registry files: read and write CSV, Excel and Parquet (format from the file extension).

A registry is two tables. In Excel they are the sheets ``households`` and ``villages`` of one
workbook. In CSV and Parquet the households are the named file and the villages sit beside it
as ``<stem>.villages.<ext>`` (optional when reading: without it only households are checked).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from fupinsim.errors import InputError
from fupinsim.registry import Registry
from fupinsim.registry.checks import check_registry

__all__ = [
    "FORMATS",
    "read_plan",
    "read_registry",
    "villages_path",
    "write_registry",
    "write_registry_chunks",
]

FORMATS = {".csv": "csv", ".parquet": "parquet", ".xlsx": "excel"}
EXCEL_MAX_ROWS = 1_048_575


def registry_format(path: str | Path) -> str:
    """The format of a registry file from its extension (``csv``, ``parquet`` or ``excel``).

    Raises
    ------
    InputError
        For any other extension (checked before any work, e.g. generating a registry).
    """
    path = Path(path)
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise InputError.single(
            str(path),
            path.suffix or "(none)",
            "the file extension must be one of .csv, .parquet, .xlsx",
        )
    return fmt


def villages_path(path: Path) -> Path:
    """Where the villages table of a CSV or Parquet registry lives."""
    return path.with_name(f"{path.stem}.villages{path.suffix}")


def _read_raw(path: Path, fmt: str, sheet: str | None = None) -> pd.DataFrame:
    try:
        if fmt == "csv":
            return pd.read_csv(path, dtype=str, keep_default_na=False)
        if fmt == "excel":
            return pd.read_excel(path, sheet_name=sheet or 0, dtype=object)
        return pd.read_parquet(path)
    except (OSError, ValueError, pa.ArrowInvalid) as exc:
        raise InputError.single(
            str(path), None, f"must be a readable {fmt} file", fix=str(exc)
        ) from None


def read_registry(path: str | Path) -> Registry:
    """Read and validate a registry file; every bad row is reported in one RegistryError."""
    path = Path(path)
    fmt = registry_format(path)
    if not path.is_file():
        raise InputError.single(str(path), None, "registry file must exist")
    villages: pd.DataFrame | None
    if fmt == "excel":
        sheets = pd.ExcelFile(path).sheet_names
        if "households" not in sheets:
            raise InputError.single(str(path), sheets, "must have a sheet named 'households'")
        households = _read_raw(path, fmt, "households")
        villages = _read_raw(path, fmt, "villages") if "villages" in sheets else None
    else:
        households = _read_raw(path, fmt)
        side = villages_path(path)
        villages = _read_raw(side, fmt) if side.is_file() else None
    typed, typed_villages = check_registry(households, villages, where=str(path))
    empty_villages = pd.DataFrame(columns=["village_id"])
    return Registry(typed, typed_villages if typed_villages is not None else empty_villages, None)


def _for_file(frame: pd.DataFrame, fmt: str) -> pd.DataFrame:
    """The table as written: Parquet keeps categoricals (dictionary-encoded strings, which every
    Parquet reader understands, small and fast); text formats get plain strings."""
    if fmt == "parquet":
        return frame
    return frame.astype({c: "string" for c in frame.columns if frame[c].dtype == "category"})


def write_registry(registry: Registry, path: str | Path) -> Path:
    """Write a registry in the format of the extension; returns the households path."""
    path = Path(path)
    fmt = registry_format(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    households = _for_file(registry.households, fmt)
    villages = _for_file(registry.villages, fmt)
    if fmt == "excel":
        if len(households) > EXCEL_MAX_ROWS:
            raise InputError.single(
                str(path),
                len(households),
                f"Excel holds at most {EXCEL_MAX_ROWS:,} rows a sheet; use .parquet or .csv",
            )
        with pd.ExcelWriter(path, engine="openpyxl") as writer:
            households.to_excel(writer, sheet_name="households", index=False)
            villages.to_excel(writer, sheet_name="villages", index=False)
    elif fmt == "csv":
        households.to_csv(path, index=False)
        villages.to_csv(villages_path(path), index=False)
    else:
        households.to_parquet(path, index=False)
        villages.to_parquet(villages_path(path), index=False)
    return path


def write_registry_chunks(chunks: Iterable[Registry], path: str | Path) -> tuple[int, int]:
    """Stream registry chunks into one file (Parquet or CSV) with bounded memory.

    Returns (households, people) written.
    """
    path = Path(path)
    fmt = registry_format(path)
    if fmt == "excel":
        raise InputError.single(str(path), ".xlsx", "chunked output must be .parquet or .csv")
    path.parent.mkdir(parents=True, exist_ok=True)
    writer: pq.ParquetWriter | None = None
    n_households = n_people = 0
    villages: pd.DataFrame | None = None
    try:
        for i, chunk in enumerate(chunks):
            frame = _for_file(chunk.households, fmt)
            n_households += len(frame)
            n_people += int(frame["n_members"].sum())
            villages = chunk.villages
            if fmt == "csv":
                frame.to_csv(path, index=False, mode="w" if i == 0 else "a", header=i == 0)
            else:
                table = pa.Table.from_pandas(frame, preserve_index=False)
                if writer is None:
                    writer = pq.ParquetWriter(path, table.schema)
                writer.write_table(table)
    finally:
        if writer is not None:
            writer.close()
    if villages is not None:
        side = villages_path(path)
        if fmt == "csv":
            _for_file(villages, fmt).to_csv(side, index=False)
        else:
            _for_file(villages, fmt).to_parquet(side, index=False)
    return n_households, n_people


def read_plan(path: str | Path) -> pd.DataFrame:
    """Read a household plan (``household_id, package_id, start_year``) from CSV/XLSX/Parquet.

    Values are checked against the catalogue and scenario when the plan is used
    (:func:`fupinsim.microsim.validate_plan`).
    """
    path = Path(path)
    fmt = registry_format(path)
    if not path.is_file():
        raise InputError.single(
            str(path), None, "plan file must exist (or use baseline / uniform_1230)"
        )
    frame = pd.read_parquet(path) if fmt == "parquet" else _read_raw(path, fmt)
    missing = {"household_id", "package_id", "start_year"} - set(frame.columns)
    if missing:
        raise InputError.single(
            f"{path}: columns",
            sorted(frame.columns),
            f"must include household_id, package_id, start_year (missing {sorted(missing)})",
        )
    try:
        return frame.astype({"household_id": "int64", "package_id": str, "start_year": "int64"})
    except (TypeError, ValueError) as exc:
        raise InputError.single(
            str(path), None, "household_id and start_year must be whole numbers", fix=str(exc)
        ) from None

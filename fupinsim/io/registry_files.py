"""Registry and plan files: read, check and write CSV, Excel and Parquet.

A registry is two tables. In Excel they are the sheets ``households`` and ``villages`` of one
workbook. In CSV and Parquet the households are the named file and the villages sit beside it
as ``<stem>.villages.<ext>`` (optional when only checking: without it only households are
checked; a run needs it).

Files are not trusted to be what their extension says: each is sniffed first (an ``.xlsx`` must
be a zip holding ``[Content_Types].xml`` and ``xl/workbook.xml``, a ``.parquet`` must start and
end with ``PAR1``, a ``.csv`` must be UTF-8 text), and any failure of a parser becomes an
:class:`~fupinsim.errors.InputError` naming the file and what was expected.

Households are read and checked in chunks (:data:`CHUNK_ROWS` rows: CSV through pandas'
``chunksize``, Parquet by record batches), so checking a file takes memory bounded by the
chunk, whatever the file's size (an Excel sheet, at most 1,048,576 rows, is read whole).
Writing is atomic: a temporary file in the same folder, renamed over the target on success.
"""

from __future__ import annotations

import codecs
import logging
import os
import secrets
import zipfile
from collections.abc import Callable, Iterable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from fupinsim.errors import InputError, Problem
from fupinsim.registry import Registry
from fupinsim.registry.checks import DEFAULT_MAX_PROBLEMS, RegistryCheck, RegistryCounts
from fupinsim.scenario import Scenario

__all__ = [
    "CHUNK_ROWS",
    "FORMATS",
    "check_registry_file",
    "read_plan",
    "read_registry",
    "registry_for_run",
    "sniff_format",
    "villages_path",
    "write_registry",
    "write_registry_chunks",
]

logger = logging.getLogger(__name__)

FORMATS = {".csv": "csv", ".parquet": "parquet", ".xlsx": "excel"}
EXCEL_MAX_ROWS = 1_048_575
#: Households read and checked at a time (bounds the memory of a check).
CHUNK_ROWS = 50_000
#: Rows per Parquet row group written (so a reader can stream the file).
ROW_GROUP_ROWS = 100_000
#: What each format must be, in words.
EXPECTED = {
    "csv": "a CSV file (UTF-8 text)",
    "excel": "an Excel workbook (.xlsx: a zip with [Content_Types].xml and xl/workbook.xml)",
    "parquet": "a Parquet file (starting and ending with PAR1)",
}
_SNIFF_BYTES = 64 * 1024
_EXTENSION = {"csv": ".csv", "excel": ".xlsx", "parquet": ".parquet"}


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


# ----------------------------------------------------------------------------------------------
# What a file is


def _zip_kind(path: Path) -> tuple[str, str]:
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
    except Exception:  # any failure means a damaged archive
        return "zip", "a damaged or truncated zip archive"
    if {"[Content_Types].xml", "xl/workbook.xml"} <= names:
        return "excel", EXPECTED["excel"]
    return "zip", "a zip archive that is not an Excel workbook (no xl/workbook.xml)"


def _text_kind(head: bytes, whole: bool) -> tuple[str, str]:
    """Text or not: no NUL byte, and UTF-8 (a character cut at the end of ``head`` is fine)."""
    if b"\x00" in head:
        return "binary", f"binary data, not text (a NUL byte at offset {head.index(0)})"
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=whole)
    except UnicodeDecodeError as exc:
        return "binary", f"not UTF-8 text (byte {head[exc.start]:#04x} at offset {exc.start})"
    return "csv", EXPECTED["csv"]


def sniff_format(path: Path) -> tuple[str, str]:
    """What a file is by its bytes, whatever its name: ``(kind, description)``.

    ``kind`` is ``csv``, ``excel`` or ``parquet`` when the file looks like one, else ``empty``,
    ``zip``, ``xls``, ``parquet-cut`` or ``binary``; ``description`` says it in words.
    """
    size = path.stat().st_size
    with path.open("rb") as stream:
        head = stream.read(_SNIFF_BYTES)
        stream.seek(max(size - 4, 0))
        tail = stream.read(4)
    if size == 0:
        kind = ("empty", "empty (0 bytes)")
    elif head.startswith(b"PAR1"):
        whole = size >= 12 and tail == b"PAR1"
        kind = (
            ("parquet", EXPECTED["parquet"])
            if whole
            else ("parquet-cut", "a Parquet file cut short (it does not end with PAR1)")
        )
    elif head.startswith(b"PK"):
        kind = _zip_kind(path)
    elif head.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):
        kind = ("xls", "an Excel 97-2003 workbook (.xls), not .xlsx")
    else:
        kind = _text_kind(head, whole=len(head) == size)
    return kind


def _expect(path: Path, fmt: str) -> None:
    """Refuse a file that is not what its extension says."""
    kind, found = sniff_format(path)
    if kind == fmt:
        return
    if kind in _EXTENSION:
        fix = f"Rename it to {path.stem}{_EXTENSION[kind]}, or save it as {path.suffix}."
    elif kind == "binary" and fmt == "csv":
        fix = "Save it as 'CSV UTF-8' (a GBK or GB18030 file is not read)."
    else:
        fix = f"Save the registry again as {path.suffix}."
    raise InputError.single(
        str(path), None, f"must be {EXPECTED[fmt]} as its extension says; it is {found}", fix
    )


def _unreadable(path: Path, fmt: str, exc: BaseException) -> InputError:
    """A parser's failure as the planner's error: the file, what it must be, what went wrong."""
    reason = " ".join(str(exc).split())[:200] or "no detail"
    if isinstance(exc, UnicodeDecodeError):
        return InputError.single(
            str(path),
            None,
            "must be UTF-8 text throughout; a byte that is not UTF-8 was found",
            fix="Save it as 'CSV UTF-8' (a GBK or GB18030 file is not read).",
        )
    return InputError.single(
        str(path),
        None,
        f"must be a readable {EXPECTED[fmt]}",
        fix=f"The {fmt} reader stopped with {type(exc).__name__}: {reason}",
    )


def _guarded(
    path: Path, fmt: str, make: Callable[[], Iterator[pd.DataFrame]]
) -> Iterator[pd.DataFrame]:
    """The chunks of ``make()``, with any failure of the parser turned into an InputError."""
    try:
        yield from make()
    except (InputError, MemoryError):
        raise
    except Exception as exc:  # any parser failure on a damaged file
        raise _unreadable(path, fmt, exc) from None


# ----------------------------------------------------------------------------------------------
# Reading tables in chunks


def _csv_chunks(path: Path, rows: int, columns: list[str] | None) -> Iterator[pd.DataFrame]:
    options = {"dtype": str, "keep_default_na": False, "encoding": "utf-8-sig", "usecols": columns}
    produced = False
    with pd.read_csv(path, chunksize=rows, **options) as reader:  # type: ignore[call-overload]
        for chunk in reader:
            produced = True
            yield chunk
    if not produced:  # a header and no rows: still check the header
        yield pd.read_csv(path, nrows=0, **options)  # type: ignore[call-overload]


_PARQUET_TYPES = (
    pa.types.is_integer,
    pa.types.is_floating,
    pa.types.is_boolean,
    pa.types.is_string,
    pa.types.is_large_string,
    pa.types.is_null,
)


def _parquet_columns(path: Path, schema: pa.Schema) -> None:
    """Refuse columns of types no registry column has (lists, structs, binary, …)."""
    problems = []
    for column in schema:
        kind = column.type.value_type if pa.types.is_dictionary(column.type) else column.type
        if not any(test(kind) for test in _PARQUET_TYPES):
            problems.append(
                Problem(
                    f"{path}: column {column.name!r}",
                    str(column.type),
                    "must hold numbers, text or true/false (Parquet int, float, string, bool)",
                )
            )
    if problems:
        raise InputError(problems, summary=f"{path}: {len(problems)} problem(s) found")


def _parquet_chunks(path: Path, rows: int, columns: list[str] | None) -> Iterator[pd.DataFrame]:
    with pq.ParquetFile(path) as file:
        _parquet_columns(path, file.schema_arrow)
        produced = False
        for batch in file.iter_batches(batch_size=rows, columns=columns):
            produced = True
            yield batch.to_pandas()
        if not produced:
            yield file.schema_arrow.empty_table().to_pandas()


def _read_excel(path: Path) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """The households and villages sheets (read whole: a sheet holds at most ~1 M rows)."""
    with pd.ExcelFile(path, engine="openpyxl") as book:
        sheets = book.sheet_names
        if "households" not in sheets:
            raise InputError.single(str(path), sheets, "must have a sheet named 'households'")
        households = pd.read_excel(book, sheet_name="households", dtype=object)
        villages = None
        if "villages" in sheets:
            villages = pd.read_excel(book, sheet_name="villages", dtype=object)
    return households, villages


def _table_chunks(
    path: Path, fmt: str, rows: int = CHUNK_ROWS, columns: list[str] | None = None
) -> Iterator[pd.DataFrame]:
    """A CSV or Parquet table in chunks of ``rows`` (at least one chunk, maybe empty)."""
    make = _csv_chunks if fmt == "csv" else _parquet_chunks
    return _guarded(path, fmt, lambda: make(path, rows, columns))


def _slices(frame: pd.DataFrame, rows: int) -> Iterator[pd.DataFrame]:
    yield from (frame.iloc[i : i + rows] for i in range(0, max(len(frame), 1), rows))


def _read_side(path: Path, fmt: str) -> pd.DataFrame | None:
    side = villages_path(path)
    if not side.is_file():
        return None
    _expect(side, fmt)
    return pd.concat(list(_table_chunks(side, fmt)), ignore_index=True)


# ----------------------------------------------------------------------------------------------
# Checking and reading registries


def check_registry_file(
    path: str | Path,
    *,
    scenario: Scenario | None = None,
    keep: bool = False,
    chunk_rows: int = CHUNK_ROWS,
    max_problems: int | None = DEFAULT_MAX_PROBLEMS,
) -> tuple[RegistryCounts, Registry | None]:
    """Check a registry file fully, one chunk of households at a time.

    Every rule of :mod:`fupinsim.registry.checks` runs; with a ``scenario`` the villages table
    is required and each county the scenario plans for must have registered households (what
    a run needs). Memory is bounded by ``chunk_rows`` unless ``keep`` (then the typed registry
    is returned too, for a run).

    Returns
    -------
    (RegistryCounts, Registry | None)
        The counts, and the registry when ``keep``.

    Raises
    ------
    InputError
        The file is missing, not what its extension says, or unreadable.
    RegistryError
        Every problem found (the first ``max_problems`` listed, the rest counted).
    """
    path = Path(path)
    fmt = registry_format(path)
    if not path.is_file():
        raise InputError.single(str(path), None, "registry file must exist")
    _expect(path, fmt)
    if fmt == "excel":
        sheet, villages = _guarded_excel(path)

        def id_chunks() -> Iterator[pd.DataFrame]:
            return _slices(sheet[["household_id"]], chunk_rows)

        chunks: Iterable[pd.DataFrame] = _slices(sheet, chunk_rows)
    else:
        villages = _read_side(path, fmt)

        def id_chunks() -> Iterator[pd.DataFrame]:
            return _table_chunks(path, fmt, chunk_rows, ["household_id"])

        chunks = _table_chunks(path, fmt, chunk_rows)
    if scenario is not None and villages is None:
        raise InputError.single(
            str(path),
            None,
            "must come with its villages table for a run "
            + ("(a sheet named 'villages')" if fmt == "excel" else f"({villages_path(path)})"),
            fix="A run needs each household's village.",
        )
    check = RegistryCheck(villages, where=str(path), max_problems=max_problems)
    kept: list[pd.DataFrame] = []
    for chunk in chunks:
        typed = check.add(chunk)
        if keep and typed is not None:
            kept.append(typed)
    if len(check.pending_ids):
        first_row = 1
        for ids in id_chunks():
            check.locate(ids["household_id"], first_row)
            first_row += len(ids)
    counts = check.finish(
        scenario.counties if scenario is not None else None,
        scenario.id if scenario is not None else None,
    )
    logger.info("%s: valid registry of %d households", path, counts.households)
    if not keep:
        return counts, None
    households = pd.concat(kept, ignore_index=True) if len(kept) > 1 else kept[0]
    empty_villages = pd.DataFrame(columns=["village_id"])
    typed_villages = check.villages if check.villages is not None else empty_villages
    return counts, Registry(households.reset_index(drop=True), typed_villages, None)


def _guarded_excel(path: Path) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    try:
        return _read_excel(path)
    except (InputError, MemoryError):
        raise
    except Exception as exc:  # any parser failure on a damaged workbook
        raise _unreadable(path, "excel", exc) from None


def read_registry(path: str | Path, scenario: Scenario | None = None) -> Registry:
    """Read and validate a registry file; every bad row is reported in one RegistryError.

    With a ``scenario`` it is checked for that scenario's run too (see
    :func:`check_registry_file`).
    """
    _, registry = check_registry_file(path, scenario=scenario, keep=True)
    assert registry is not None
    return registry


def registry_for_run(
    scenario: Scenario,
    registry_path: str | Path | None = None,
    scenario_file: str | Path | None = None,
) -> Registry | None:
    """The registry file a run uses, read and checked fully for the scenario before it starts.

    The file given (``--registry``), else the scenario's ``registry.path`` when its
    ``registry.source`` is ``file`` (relative to the scenario file); None means the scenario's
    synthetic registry.
    """
    if registry_path is None and scenario.registry.source == "file" and scenario.registry.path:
        base = Path(scenario_file).parent if scenario_file is not None else Path.cwd()
        registry_path = base / scenario.registry.path
    if registry_path is None:
        return None
    return read_registry(registry_path, scenario)


# ----------------------------------------------------------------------------------------------
# Writing


@contextmanager
def _atomic(path: Path) -> Iterator[Path]:
    """A temporary path beside ``path``, renamed over it when the block succeeds (removed when
    it fails): a failed or interrupted write never damages the previous file."""
    temporary = path.with_name(
        f".{path.stem}.tmp-{os.getpid()}-{secrets.token_hex(4)}{path.suffix}"
    )
    try:
        yield temporary
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


def _for_file(frame: pd.DataFrame, fmt: str) -> pd.DataFrame:
    """The table as written: Parquet keeps categoricals (dictionary-encoded strings, which every
    Parquet reader understands, small and fast); text formats get plain strings."""
    if fmt == "parquet":
        return frame
    return frame.astype({c: "string" for c in frame.columns if frame[c].dtype == "category"})


def write_registry(registry: Registry, path: str | Path) -> Path:
    """Write a registry in the format of the extension (atomically); returns the households
    path."""
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
        with _atomic(path) as temporary, pd.ExcelWriter(temporary, engine="openpyxl") as writer:
            households.to_excel(writer, sheet_name="households", index=False)
            villages.to_excel(writer, sheet_name="villages", index=False)
        return path
    with _atomic(path) as temporary, _atomic(villages_path(path)) as side:
        if fmt == "csv":
            households.to_csv(temporary, index=False)
            villages.to_csv(side, index=False)
        else:
            households.to_parquet(temporary, index=False, row_group_size=ROW_GROUP_ROWS)
            villages.to_parquet(side, index=False)
    return path


def write_registry_chunks(chunks: Iterable[Registry], path: str | Path) -> tuple[int, int]:
    """Stream registry chunks into one file (Parquet or CSV) with bounded memory, atomically.

    Returns (households, people) written.
    """
    path = Path(path)
    fmt = registry_format(path)
    if fmt == "excel":
        raise InputError.single(str(path), ".xlsx", "chunked output must be .parquet or .csv")
    path.parent.mkdir(parents=True, exist_ok=True)
    n_households = n_people = 0
    villages: pd.DataFrame | None = None
    with ExitStack() as stack:
        temporary = stack.enter_context(_atomic(path))
        writer: pq.ParquetWriter | None = None
        try:
            for i, chunk in enumerate(chunks):
                frame = _for_file(chunk.households, fmt)
                n_households += len(frame)
                n_people += int(frame["n_members"].sum())
                villages = chunk.villages
                if fmt == "csv":
                    frame.to_csv(temporary, index=False, mode="w" if i == 0 else "a", header=i == 0)
                else:
                    table = pa.Table.from_pandas(frame, preserve_index=False)
                    if writer is None:
                        writer = pq.ParquetWriter(temporary, table.schema)
                    writer.write_table(table, row_group_size=ROW_GROUP_ROWS)
        finally:
            if writer is not None:
                writer.close()
        if villages is not None:
            side = stack.enter_context(_atomic(villages_path(path)))
            if fmt == "csv":
                _for_file(villages, fmt).to_csv(side, index=False)
            else:
                _for_file(villages, fmt).to_parquet(side, index=False)
    return n_households, n_people


# ----------------------------------------------------------------------------------------------
# Plans


def _read_plan_table(path: Path, fmt: str) -> pd.DataFrame:
    if fmt == "excel":
        try:
            with pd.ExcelFile(path, engine="openpyxl") as book:
                return pd.read_excel(book, sheet_name=0, dtype=object)
        except MemoryError:
            raise
        except Exception as exc:  # any parser failure on a damaged workbook
            raise _unreadable(path, fmt, exc) from None
    return pd.concat(list(_table_chunks(path, fmt, CHUNK_ROWS)), ignore_index=True)


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
    _expect(path, fmt)
    frame = _read_plan_table(path, fmt)
    missing = {"household_id", "package_id", "start_year"} - set(frame.columns)
    if missing:
        raise InputError.single(
            f"{path}: columns",
            sorted(map(str, frame.columns)),
            f"must include household_id, package_id, start_year (missing {sorted(missing)})",
        )
    try:
        return frame.astype({"household_id": "int64", "package_id": str, "start_year": "int64"})
    except (TypeError, ValueError, OverflowError) as exc:
        raise InputError.single(
            str(path), None, "household_id and start_year must be whole numbers", fix=str(exc)
        ) from None

"""Seeded fuzzing of the registry and plan readers: damaged files get an InputError, nothing else.

Each reader (registry CSV, Excel, Parquet; plan CSV, Excel, Parquet) gets a few hundred files
made from a valid one by seeded mutations: truncation (to 0 bytes too), byte flips, random blocks
written over or inserted, another format's bytes under the extension, zip archives of something
else, and, inside a workbook, damaged XML members (so openpyxl itself is reached, not only the
zip reader). Each read must end within :data:`LIMIT_S` either with a clean result (a mutation
may leave a valid file) or with an :class:`~fupinsim.errors.InputError`; any other exception is
a bug. A sample also goes through ``fupinsim check-registry``: exit 2 (or 0), no traceback.

``python tests/unit/test_reader_fuzz.py`` prints how many files each reader got.
"""

from __future__ import annotations

import io
import signal
import subprocess
import sys
import time
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from fupinsim.cli import cli
from fupinsim.errors import InputError
from fupinsim.io.registry_files import (
    check_registry_file,
    read_plan,
    read_registry,
    villages_path,
    write_registry,
)

VALID = Path(__file__).resolve().parents[1] / "data" / "valid_registry.csv"
SEED = 20150601
#: Seconds one read may take (generous: the machine is shared; a 20-row file takes < 0.5 s).
LIMIT_S = 20.0
#: Mutated files per reader and base format.
PER_FORMAT = {"registry": 55, "plan": 25}
EXIT_INPUT = 2


@dataclass(frozen=True)
class Case:
    """One damaged file: what it is made from, its bytes and the reader it is given to."""

    name: str
    suffix: str
    data: bytes
    reader: str  # "registry" or "plan"


# ----------------------------------------------------------------------------------------------
# Valid files to start from


def _valid_files(folder: Path) -> dict[tuple[str, str], bytes]:
    """(reader, suffix) -> bytes of a valid file of that kind."""
    registry = read_registry(VALID)
    files = {}
    for suffix in (".csv", ".xlsx", ".parquet"):
        path = write_registry(registry, folder / f"valid{suffix}")
        files["registry", suffix] = path.read_bytes()
    registered = registry.registered["household_id"].head(6)
    plan = pd.DataFrame(
        {"household_id": registered, "package_id": "greenhouse", "start_year": 2015}
    )
    for suffix in (".csv", ".xlsx", ".parquet"):
        path = folder / f"plan{suffix}"
        if suffix == ".csv":
            plan.to_csv(path, index=False)
        elif suffix == ".xlsx":
            plan.to_excel(path, index=False)
        else:
            plan.to_parquet(path, index=False)
        files["plan", suffix] = path.read_bytes()
    return files


# ----------------------------------------------------------------------------------------------
# Mutations


def _truncate(data: bytes, rng: np.random.Generator) -> bytes:
    return data[: int(rng.integers(0, len(data)))]


def _flip(data: bytes, rng: np.random.Generator) -> bytes:
    out = bytearray(data)
    for pos in rng.integers(0, len(out), int(rng.integers(1, 9))):
        out[pos] ^= int(rng.integers(1, 256))
    return bytes(out)


def _overwrite(data: bytes, rng: np.random.Generator) -> bytes:
    start = int(rng.integers(0, len(data)))
    block = rng.bytes(int(rng.integers(1, 200)))
    return data[:start] + block + data[start + len(block) :]


def _insert(data: bytes, rng: np.random.Generator) -> bytes:
    start = int(rng.integers(0, len(data)))
    return data[:start] + rng.bytes(int(rng.integers(1, 64))) + data[start:]


def _tail_flip(data: bytes, rng: np.random.Generator) -> bytes:
    """Flip bytes near the end, where Parquet keeps its metadata and zip its directory."""
    out = bytearray(data)
    window = min(len(out), 600)
    for pos in len(out) - 1 - rng.integers(0, window, int(rng.integers(1, 5))):
        out[pos] ^= int(rng.integers(1, 256))
    return bytes(out)


MUTATIONS: tuple[Callable[[bytes, np.random.Generator], bytes], ...] = (
    _truncate,
    _flip,
    _overwrite,
    _insert,
    _tail_flip,
)


def _rezip(data: bytes, edit: Callable[[str, bytes], bytes | None]) -> bytes:
    """A zip archive with each member edited (None drops it)."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(out, "w") as target:
        for info in source.infolist():
            member = edit(info.filename, source.read(info))
            if member is not None:
                target.writestr(info.filename, member)
    return out.getvalue()


def _xlsx_member_cases(data: bytes, rng: np.random.Generator, n: int) -> Iterator[bytes]:
    """Workbooks whose zip is sound but whose XML members are damaged or missing."""
    with zipfile.ZipFile(io.BytesIO(data)) as book:
        names = [n for n in book.namelist() if n.endswith((".xml", ".rels"))]
    for i in range(n):
        target = names[int(rng.integers(0, len(names)))]
        mode = i % 3
        if mode == 2 and target in {"[Content_Types].xml", "xl/workbook.xml"}:
            mode = 0  # dropping these is covered by the zip-of-something-else cases

        def edit(name: str, member: bytes, target: str = target, mode: int = mode) -> bytes | None:
            if name != target:
                return member
            if mode == 0:
                return _flip(member, rng)
            if mode == 1:
                return _truncate(member, rng)
            return None

        yield _rezip(data, edit)


def _other_zips() -> Iterator[tuple[str, bytes]]:
    def archive(members: dict[str, bytes]) -> bytes:
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w") as target:
            for name, member in members.items():
                target.writestr(name, member)
        return out.getvalue()

    yield "zip-empty", archive({})
    yield "zip-of-a-csv", archive({"registry.csv": VALID.read_bytes()})
    yield "zip-content-types-only", archive({"[Content_Types].xml": b"<Types/>"})
    yield (
        "zip-names-but-garbage",
        archive({"[Content_Types].xml": b"\x00\x01", "xl/workbook.xml": b"not xml"}),
    )
    yield "zip-docx-like", archive({"[Content_Types].xml": b"<Types/>", "word/document.xml": b""})


def build_cases(folder: Path) -> list[Case]:
    """Every damaged file, the same for a given :data:`SEED`."""
    rng = np.random.default_rng(SEED)
    files = _valid_files(folder)
    cases: list[Case] = []
    for (reader, suffix), data in files.items():
        n = PER_FORMAT[reader]
        for i in range(n):
            mutate = MUTATIONS[i % len(MUTATIONS)]
            cases.append(
                Case(f"{reader}{suffix}-{mutate.__name__}-{i}", suffix, mutate(data, rng), reader)
            )
        cases.append(Case(f"{reader}{suffix}-empty", suffix, b"", reader))
        for (other_reader, other_suffix), other in files.items():
            if other_reader == reader and other_suffix != suffix:
                cases.append(Case(f"{reader}{suffix}-is-{other_suffix}", suffix, other, reader))
        if suffix == ".xlsx":
            for i, damaged in enumerate(_xlsx_member_cases(data, rng, n // 2)):
                cases.append(Case(f"{reader}.xlsx-member-{i}", suffix, damaged, reader))
            for name, archive in _other_zips():
                cases.append(Case(f"{reader}.xlsx-{name}", suffix, archive, reader))
        cases.append(
            Case(f"{reader}{suffix}-gbk-text", suffix, "户主,村\n张三,一村\n".encode("gbk"), reader)
        )
        cases.append(
            Case(
                f"{reader}{suffix}-xls-magic",
                suffix,
                b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + rng.bytes(600),
                reader,
            )
        )
    return cases


# ----------------------------------------------------------------------------------------------
# Running a reader on a case


class _TimeLimitError(Exception):
    pass


@contextmanager
def _time_limit(seconds: float) -> Iterator[None]:
    def expire(signum: int, frame: Any) -> None:
        raise _TimeLimitError(f"no answer within {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _write(case: Case, folder: Path) -> Path:
    path = folder / f"{case.name}{case.suffix}"
    path.write_bytes(case.data)
    if case.reader == "registry" and case.suffix != ".xlsx":  # the valid villages beside it
        villages = VALID.with_name("valid_registry.villages.csv")
        side = villages_path(path)
        if case.suffix == ".csv":
            side.write_bytes(villages.read_bytes())
        else:
            read_registry(VALID).villages.to_parquet(side, index=False)
    return path


def _outcome(case: Case, path: Path) -> str:
    """``valid`` or ``refused``; anything else than an InputError fails the test."""
    started = time.perf_counter()
    with _time_limit(LIMIT_S):
        try:
            if case.reader == "registry":
                check_registry_file(path)
            else:
                read_plan(path)
        except InputError as error:
            message = str(error)
            assert str(path) in message, message
            assert "Traceback" not in message
            outcome = "refused"
        else:
            outcome = "valid"
    assert time.perf_counter() - started < LIMIT_S
    return outcome


@pytest.fixture(scope="module")
def cases(tmp_path_factory: pytest.TempPathFactory) -> list[Case]:
    return build_cases(tmp_path_factory.mktemp("valid"))


def test_there_are_a_few_hundred_damaged_files(cases: list[Case]) -> None:
    assert len(cases) >= 300
    distinct = {(case.reader, case.suffix, case.data) for case in cases}
    assert len(distinct) >= 0.98 * len(cases)  # really different files
    assert {case.reader for case in cases} == {"registry", "plan"}


@pytest.mark.parametrize("suffix", [".csv", ".xlsx", ".parquet"])
@pytest.mark.parametrize("reader", ["registry", "plan"])
def test_every_damaged_file_is_refused_with_an_input_error(
    cases: list[Case], tmp_path: Path, reader: str, suffix: str
) -> None:
    mine = [c for c in cases if c.reader == reader and c.suffix == suffix]
    outcomes = [_outcome(case, _write(case, tmp_path)) for case in mine]
    refused = outcomes.count("refused")
    # Most damage is found; a byte flip may also leave a valid file (e.g. in Parquet padding).
    assert refused >= 0.6 * len(mine), f"{refused} of {len(mine)} refused"


def test_the_obvious_cases_are_named_for_what_they_are(tmp_path: Path) -> None:
    files = _valid_files(tmp_path)
    expectations = {
        ("registry", ".xlsx", b""): "must be an Excel workbook (.xlsx: a zip with "
        "[Content_Types].xml and xl/workbook.xml) as its extension says; it is empty (0 bytes)",
        ("registry", ".xlsx", files["registry", ".csv"]): "it is a CSV file (UTF-8 text). "
        "Rename it to bad.csv, or save it as .xlsx.",
        ("registry", ".csv", files["registry", ".parquet"]): "it is a Parquet file",
        ("registry", ".parquet", files["registry", ".parquet"][:-10]): "it is a Parquet file cut "
        "short (it does not end with PAR1)",
        ("registry", ".xlsx", files["registry", ".xlsx"][:-100]): "it is a damaged or truncated "
        "zip archive",
        ("registry", ".csv", "户主\n".encode("gbk")): "it is not UTF-8 text (byte 0xbb at offset "
        "0). Save it as 'CSV UTF-8' (a GBK or GB18030 file is not read).",
        ("plan", ".xlsx", files["plan", ".parquet"]): "it is a Parquet file",
    }
    for (reader, suffix, data), fragment in expectations.items():
        path = tmp_path / f"bad{suffix}"
        path.write_bytes(data)
        with pytest.raises(InputError) as caught:
            (check_registry_file if reader == "registry" else read_plan)(path)
        assert str(caught.value).startswith(f"{path}: "), str(caught.value)
        assert fragment in str(caught.value), str(caught.value)


def test_a_non_utf8_byte_after_the_first_64_kib_is_named(tmp_path: Path) -> None:
    table = pd.concat([pd.read_csv(VALID, dtype=str, keep_default_na=False)] * 200)
    path = tmp_path / "late.csv"
    data = table.to_csv(index=False).encode()
    assert len(data) > 2 * 64 * 1024
    path.write_bytes(data[:-300] + "县".encode("gbk") + data[-298:])
    with pytest.raises(InputError) as caught:
        check_registry_file(path)
    assert str(caught.value) == (
        f"{path}: must be UTF-8 text throughout; a byte that is not UTF-8 was found. "
        "Save it as 'CSV UTF-8' (a GBK or GB18030 file is not read)."
    )


def test_a_sample_through_check_registry_exits_2_without_traceback(
    cases: list[Case], tmp_path: Path
) -> None:
    runner = CliRunner()
    sample = [c for c in cases if c.reader == "registry"][::6]
    assert len(sample) >= 25
    for case in sample:
        path = _write(case, tmp_path)
        result = runner.invoke(cli, ["check-registry", str(path)])
        assert result.exception is None or isinstance(result.exception, SystemExit), case.name
        assert result.exit_code in (0, EXIT_INPUT), (case.name, result.output)
        if result.exit_code == EXIT_INPUT:
            assert result.stderr.startswith(f"error: {path}"), result.stderr
        assert "Traceback" not in result.output


@pytest.mark.parametrize("name", ["registry.xlsx-_truncate-0", "registry.parquet-_truncate-0"])
def test_the_real_process_prints_no_traceback(cases: list[Case], tmp_path: Path, name: str) -> None:
    case = next(c for c in cases if c.name == name)
    path = _write(case, tmp_path)
    done = subprocess.run(
        [sys.executable, "-m", "fupinsim.cli", "check-registry", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == EXIT_INPUT, done.stderr
    assert done.stderr.startswith(f"error: {path}")
    assert "Traceback" not in done.stderr


if __name__ == "__main__":
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        built = build_cases(Path(folder))
        rows = [(f"{c.reader} {c.suffix}", _outcome(c, _write(c, Path(folder)))) for c in built]
        table = pd.DataFrame(rows, columns=["reader", "outcome"])
        print(pd.crosstab(table["reader"], table["outcome"], margins=True).to_string())

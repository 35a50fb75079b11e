"""Output folders on disk: atomic replacement, tables, manifests and the run environment.

A scenario's results live in ``outputs/<scenario>/`` and that folder always holds a *complete*
run: a run writes into a hidden work folder next to it and the work folder is renamed into place
only when everything succeeded. The names used, all in the same parent folder (so every rename
stays on one filesystem):

``<scenario>/``
    The latest successful run (``manifest.json``, ``tables/``, ``notebooks/``, …).
``<scenario>.failed/``
    The latest failed or interrupted run, kept for diagnosis; it replaces an older one and is
    removed when the scenario next succeeds.
``.<scenario>.tmp-<host>-<pid>-<token>/``
    A run in progress (``<host>`` is a short hash of the machine name, ``<pid>`` the process that
    owns the folder). Never read as output.
``.<scenario>.old-<host>-<pid>-<token>/``
    The previous output during the swap, deleted right after it.

Replacing a non-empty folder cannot be done with one ``rename`` on POSIX, so the swap is two
renames (old output → ``.old-…``, work folder → ``<scenario>``) with SIGINT and SIGTERM held
back in between, then the old folder is deleted. If a process is killed anyway (SIGKILL, power
loss) :func:`clean_stale_work_dirs` repairs the folder on the next run: work folders of dead
processes are deleted, and an ``.old-…`` folder is renamed back to ``<scenario>`` when the swap
did not finish, so the last good output is never lost.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import platform
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import date, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path, PurePath
from typing import Any

import pandas as pd

from fupinsim import __version__
from fupinsim.errors import InputError

__all__ = [
    "CODE_VERSION_ENV",
    "KEY_PACKAGES",
    "MANIFEST_NAME",
    "atomic_output_dir",
    "clean_stale_work_dirs",
    "code_version",
    "commit_work_dir",
    "create_work_dir",
    "environment_info",
    "fail_work_dir",
    "failed_dir_for",
    "format_manifest",
    "not_writable",
    "read_manifest",
    "write_manifest",
    "write_tables",
]

logger = logging.getLogger(__name__)

MANIFEST_NAME = "manifest.json"

#: Environment variable that pins :func:`code_version`. The batch runner sets it for its workers
#: and kernels, so that the pipeline and the notebooks of one batch report the same version even
#: while files change in the checkout (a notebook comparing versions would otherwise recompute).
CODE_VERSION_ENV = "FUPINSIM_CODE_VERSION"

#: Packages whose versions go into every manifest (those that change numbers or outputs).
KEY_PACKAGES = (
    "numpy",
    "pandas",
    "scipy",
    "pulp",
    "highspy",
    "pydantic",
    "pyarrow",
    "matplotlib",
    "openpyxl",
    "papermill",
    "nbformat",
    "nbclient",
    "ipykernel",
    "jupyter_client",
    "pyzmq",
    "dask",
    "distributed",
)

_TABLE_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
_WORK_DIR = re.compile(
    r"^\.(?P<stem>.+)\.(?P<kind>tmp|old)-(?P<host>[0-9a-f]{8})-(?P<pid>\d+)-(?P<token>[0-9a-f]{8})$"
)
_GIT_TIMEOUT_S = 10.0

#: Test hook (``tests/contract/test_batch_faults.py``): ``<folder name>:<marker file>``. The swap
#: that puts ``<folder name>`` in place stops between its two renames, writes the marker (the
#: process id) and waits a moment, so that a test can signal or kill the process right there.
SWAP_PAUSE_ENV = "FUPINSIM_TEST_PAUSE_IN_SWAP"
_SWAP_PAUSE_S = 3.0


# ----------------------------------------------------------------------------------------------
# Work folders and the atomic swap


def _host_tag() -> str:
    """Short, filename-safe tag of this machine (outputs may sit on a shared filesystem)."""
    return hashlib.sha256(socket.gethostname().encode("utf-8")).hexdigest()[:8]


def _work_name(final_dir: Path, kind: str) -> Path:
    token = secrets.token_hex(4)
    return final_dir.parent / f".{final_dir.name}.{kind}-{_host_tag()}-{os.getpid()}-{token}"


def failed_dir_for(final_dir: str | Path) -> Path:
    """The folder that keeps the latest failed run of ``final_dir`` (``<final>.failed``)."""
    final = Path(final_dir)
    return final.with_name(f"{final.name}.failed")


def create_work_dir(final_dir: str | Path) -> Path:
    """Create an empty hidden work folder next to ``final_dir`` and return its path.

    The folder is named ``.<name>.tmp-<host>-<pid>-<token>`` after the calling process, which
    owns it: :func:`clean_stale_work_dirs` deletes it only once that process has ended.
    """
    final = Path(final_dir)
    work = _work_name(final, "tmp")
    try:
        final.parent.mkdir(parents=True, exist_ok=True)
        work.mkdir()
    except OSError as exc:
        raise not_writable(final.parent, exc) from None
    return work


def not_writable(folder: str | Path, exc: OSError) -> InputError:
    """The error for an output folder that cannot be written (read-only, no permission, full)."""
    return InputError.single(
        str(folder),
        exc.strerror or type(exc).__name__,
        "must be a folder this user can write (the results go there)",
        fix="Make it writable, or choose another output folder.",
    )


@contextmanager
def _signals_held() -> Iterator[None]:
    """Hold back SIGINT and SIGTERM for a few renames so they cannot stop half-way.

    A held signal is delivered when the block ends, i.e. after the folders are consistent.
    """
    if not hasattr(signal, "pthread_sigmask"):  # pragma: no cover - Windows
        yield
        return
    held = {signal.SIGINT, signal.SIGTERM}
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, held)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def _replace_dir(source: Path, target: Path) -> None:
    """Put folder ``source`` at ``target``, replacing an existing ``target`` folder.

    The previous ``target`` stays complete until ``source`` is in place; it is deleted last.
    """
    trash: Path | None = None
    try:
        with _signals_held():
            if target.exists():
                trash = _work_name(target, "old")
                os.rename(target, trash)
            _pause_for_tests(target)
            try:
                os.rename(source, target)
            except OSError:
                if trash is not None:
                    os.rename(trash, target)
                    trash = None
                raise
    finally:  # also when a signal held back during the swap is raised as it ends
        if trash is not None:
            shutil.rmtree(trash, ignore_errors=True)


def _pause_for_tests(target: Path) -> None:
    """The test hook :data:`SWAP_PAUSE_ENV`: stop half-way through the swap of ``target``."""
    setting = os.environ.get(SWAP_PAUSE_ENV)
    if not setting:
        return
    name, _, marker = setting.partition(":")
    if name == target.name and marker:
        Path(marker).write_text(str(os.getpid()), encoding="utf-8")
        time.sleep(_SWAP_PAUSE_S)


def _remove_dir(folder: Path) -> None:
    """Delete ``folder`` by renaming it aside first, so no half-deleted folder is ever visible."""
    if not folder.exists():
        return
    trash = _work_name(folder, "old")
    with _signals_held():
        os.rename(folder, trash)
    shutil.rmtree(trash, ignore_errors=True)


def commit_work_dir(
    work_dir: str | Path, final_dir: str | Path, *, remove_failed: bool = True
) -> Path:
    """Rename a finished work folder into place as ``final_dir``.

    Parameters
    ----------
    work_dir:
        A folder made by :func:`create_work_dir` holding a complete run.
    final_dir:
        Where the output belongs (``outputs/<scenario>``); an existing folder there is replaced.
    remove_failed:
        Also delete ``<final>.failed``: after a success an older failure is no longer news.

    Returns
    -------
    Path
        ``final_dir``.
    """
    work, final = Path(work_dir), Path(final_dir)
    _replace_dir(work, final)
    if remove_failed:
        _remove_dir(failed_dir_for(final))
    return final


def fail_work_dir(work_dir: str | Path, final_dir: str | Path) -> Path:
    """Move the work folder of a failed run to ``<final>.failed`` (replacing an older one).

    ``final_dir`` itself, the last good output, is not touched.

    Returns
    -------
    Path
        The ``.failed`` folder.
    """
    failed = failed_dir_for(final_dir)
    _replace_dir(Path(work_dir), failed)
    return failed


def _process_is_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    except OSError:  # pragma: no cover - e.g. pid out of range
        return False
    return True


def clean_stale_work_dirs(folder: str | Path) -> list[Path]:
    """Repair what killed runs left in an outputs folder.

    Only hidden work folders made on this machine by processes that have ended are touched:

    * ``.<name>.tmp-…`` (an unfinished run) is deleted;
    * ``.<name>.old-…`` (a previous output during a swap) is renamed back to ``<name>`` if
      ``<name>`` does not exist (the swap was cut short, so this is the last good output),
      and deleted otherwise.

    Folders of live processes (another batch running at the same time) and of other machines
    are left alone, as is everything that does not match these names exactly.

    Returns
    -------
    list of Path
        The stale folders found (deleted or restored), sorted.
    """
    base = Path(folder)
    if not base.is_dir():
        return []
    host = _host_tag()
    found: list[Path] = []
    for entry in sorted(base.iterdir()):
        match = _WORK_DIR.match(entry.name)
        if match is None or not entry.is_dir() or match["host"] != host:
            continue
        if _process_is_alive(int(match["pid"])):
            continue
        found.append(entry)
        target = base / match["stem"]
        if match["kind"] == "old" and not target.exists():
            os.rename(entry, target)
            logger.info("restored %s from %s (a swap cut short by a killed run)", target, entry)
        else:
            shutil.rmtree(entry, ignore_errors=True)
            logger.info("deleted %s (left by a killed run)", entry)
    return found


@contextmanager
def atomic_output_dir(final_dir: str | Path) -> Iterator[Path]:
    """Write a run into a temporary folder that replaces ``final_dir`` only on success.

    Parameters
    ----------
    final_dir:
        The output folder, e.g. ``outputs/plan_2015``. Its parent is created if needed.

    Yields
    ------
    Path
        An empty work folder on the same filesystem (``.<name>.tmp-…``); write everything here.

    Notes
    -----
    On leaving the block normally the work folder is renamed into place (the previous output is
    replaced, and ``<name>.failed`` removed). If the block raises, including
    ``KeyboardInterrupt``, the work folder becomes ``<name>.failed`` (replacing an older one),
    the previous output stays as it was, and the exception propagates. Stale work folders of
    killed runs are cleaned first (see :func:`clean_stale_work_dirs`).

    Examples
    --------
    >>> with atomic_output_dir(tmp / "plan_2015") as folder:  # doctest: +SKIP
    ...     write_tables({"funding": funding}, folder)
    """
    final = Path(final_dir)
    final.parent.mkdir(parents=True, exist_ok=True)
    clean_stale_work_dirs(final.parent)
    work = create_work_dir(final)
    try:
        yield work
    except BaseException as exc:
        try:
            fail_work_dir(work, final)
        except OSError as move_error:  # keep the original error; the work folder stays stale
            exc.add_note(f"could not move {work} to {failed_dir_for(final)}: {move_error}")
        raise
    try:
        commit_work_dir(work, final)
    except OSError:
        fail_work_dir(work, final)
        raise


# ----------------------------------------------------------------------------------------------
# Tables


def write_tables(tables: Mapping[str, pd.DataFrame], folder: str | Path) -> list[Path]:
    """Write each table as ``tables/<name>.csv`` and ``tables/<name>.parquet`` under ``folder``.

    Parameters
    ----------
    tables:
        Table name (snake_case file stem, e.g. ``county_year``) → tidy DataFrame. Units are in
        the column names (``*_yuan``, ``*_pc``, shares 0–1), as in ``docs/contracts.md``.
    folder:
        The run folder (normally the work folder of :func:`atomic_output_dir`).

    Returns
    -------
    list of Path
        The files written, sorted.

    Raises
    ------
    InputError
        A name that is not snake_case (it would not be a portable file name).

    Notes
    -----
    CSV is UTF-8 with ``\\n`` line ends and no index column. An index that carries information
    (anything but the default 0…n-1 range) is written as ordinary columns, so nothing is lost.
    """
    bad = [name for name in tables if not _TABLE_NAME.match(name)]
    if bad:
        raise InputError.single(
            "write_tables: table name",
            bad[0],
            "must be snake_case (lower-case letters, digits, underscores; starting with a letter)",
        )
    target = Path(folder) / "tables"
    target.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for name, frame in tables.items():
        flat = frame if _has_default_index(frame) else frame.reset_index()
        csv_path, parquet_path = target / f"{name}.csv", target / f"{name}.parquet"
        flat.to_csv(csv_path, index=False, encoding="utf-8", lineterminator="\n")
        flat.to_parquet(parquet_path, index=False)
        written += [csv_path, parquet_path]
    return sorted(written)


def _has_default_index(frame: pd.DataFrame) -> bool:
    index = frame.index
    return (
        isinstance(index, pd.RangeIndex)
        and index.start == 0
        and index.step == 1
        and index.name is None
    )


# ----------------------------------------------------------------------------------------------
# Manifests


def _jsonable(value: Any) -> Any:
    """Plain JSON data for ``value``: str keys, lists, and no NaN (JSON has none)."""
    if isinstance(value, Mapping):
        return {str(key): _jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        items = sorted(value, key=str) if isinstance(value, set | frozenset) else value
        return [_jsonable(item) for item in items]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, bool | int | float | str) or value is None:
        return value
    return _jsonable(_json_scalar(value))


def _json_scalar(value: Any) -> Any:
    """Paths, dates and NumPy values in a form :func:`_jsonable` knows."""
    if isinstance(value, PurePath):
        return value.as_posix()
    if isinstance(value, datetime | date):
        return value.isoformat()
    if hasattr(value, "tolist"):  # NumPy scalars and arrays
        return value.tolist()
    raise TypeError(
        f"manifest value {value!r} of type {type(value).__name__} cannot be written as JSON; "
        "use numbers, strings, booleans, lists and mappings"
    )


def format_manifest(manifest: Mapping[str, Any]) -> str:
    """The manifest as deterministic JSON text (sorted keys, 2-space indent, final newline).

    NumPy scalars become numbers, paths POSIX strings, dates ISO 8601, sets sorted lists and
    NaN or infinite floats ``null``.

    Raises
    ------
    TypeError
        A value of a type with no JSON form.
    """
    data = _jsonable(manifest)
    return json.dumps(data, sort_keys=True, indent=2, ensure_ascii=False, allow_nan=False) + "\n"


def write_manifest(manifest: Mapping[str, Any], folder: str | Path) -> Path:
    """Write ``manifest.json`` into ``folder`` (see :func:`format_manifest`); returns its path.

    The file is written next to its final name and renamed, so a reader never sees half of it.
    """
    path = Path(folder) / MANIFEST_NAME
    partial = path.with_name(f".{MANIFEST_NAME}.{secrets.token_hex(4)}.tmp")
    partial.write_text(format_manifest(manifest), encoding="utf-8")
    os.replace(partial, path)
    return path


def read_manifest(folder: str | Path) -> dict[str, Any] | None:
    """Read ``manifest.json`` from ``folder``; ``None`` if the folder has none.

    Raises
    ------
    InputError
        The file exists but is not a JSON object.
    """
    path = Path(folder) / MANIFEST_NAME
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError.single(
            str(path),
            f"line {exc.lineno}: {exc.msg}",
            "must be a JSON manifest written by fupinsim",
        ) from None
    if not isinstance(data, dict):
        raise InputError.single(str(path), type(data).__name__, "must hold a JSON object")
    return data


# ----------------------------------------------------------------------------------------------
# Environment and code version


def _source_root() -> Path | None:
    """The git checkout fupinsim runs from, if it runs from one (editable install)."""
    package_dir = Path(__file__).resolve().parent.parent
    root = package_dir.parent
    # Only a checkout whose top level holds the package counts; an installed copy inside some
    # other repository (a venv in a project folder) must not report that project's commit.
    return root if (root / ".git").exists() else None


def _git(root: Path, *args: str) -> bytes | None:
    try:
        result = subprocess.run(
            ["git", "-C", str(root), *args],
            capture_output=True,
            timeout=_GIT_TIMEOUT_S,
            check=True,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return result.stdout


def _git_state() -> tuple[str | None, str | None]:
    """(commit, digest of uncommitted changes under ``fupinsim/`` or None if clean)."""
    root = _source_root()
    if root is None:
        return None, None
    head = _git(root, "rev-parse", "HEAD")
    if head is None:
        return None, None
    commit = head.decode("ascii").strip()
    diff = _git(root, "diff", "HEAD", "--no-ext-diff", "--binary", "--", "fupinsim") or b""
    untracked = _git(root, "ls-files", "--others", "--exclude-standard", "-z", "--", "fupinsim")
    digest = hashlib.sha256(diff)
    for name in sorted(filter(None, (untracked or b"").split(b"\0"))):
        digest.update(b"\0" + name + b"\0")
        try:
            digest.update((root / name.decode("utf-8", "surrogateescape")).read_bytes())
        except OSError:
            continue
    dirty = diff or (untracked or b"").strip(b"\0")
    return commit, (digest.hexdigest()[:8] if dirty else None)


def code_version() -> str:
    """Identify the fupinsim code that produced an output.

    ``<__version__>`` for an installed release; from a git checkout
    ``<__version__>+g<commit[:12]>``, with ``.dirty.<hash8>`` appended when files under
    ``fupinsim/`` differ from that commit (the hash covers the diff and untracked files, so
    two different sets of uncommitted changes give two different versions).

    ``fupinsim batch --resume`` reruns a scenario whenever this string changed. Inside a batch
    run the value is the one computed at its start (:data:`CODE_VERSION_ENV`).
    """
    pinned = os.environ.get(CODE_VERSION_ENV)
    if pinned:
        return pinned
    return _format_code_version(*_git_state())


def _format_code_version(commit: str | None, dirty: str | None) -> str:
    if commit is None:
        return __version__
    text = f"{__version__}+g{commit[:12]}"
    return f"{text}.dirty.{dirty}" if dirty else text


def _package_version(name: str) -> str:
    try:
        return version(name)
    except PackageNotFoundError:
        return "not installed"


def environment_info() -> dict[str, Any]:
    """Python, fupinsim and key package versions, and the git commit, for a manifest.

    Returns
    -------
    dict
        ``python`` (version), ``python_implementation``, ``platform`` (OS and machine),
        ``fupinsim`` (``__version__``), ``code_version`` (:func:`code_version`),
        ``git_commit`` (full hash or ``None``), ``git_dirty`` (bool or ``None`` without git),
        ``packages`` (name → version or ``"not installed"``, for :data:`KEY_PACKAGES`).
    """
    commit, dirty = _git_state()
    return {
        "python": platform.python_version(),
        "python_implementation": sys.implementation.name,
        "platform": f"{platform.system()}-{platform.machine()}",
        "fupinsim": __version__,
        "code_version": os.environ.get(CODE_VERSION_ENV) or _format_code_version(commit, dirty),
        "git_commit": commit,
        "git_dirty": None if commit is None else dirty is not None,
        "packages": {name: _package_version(name) for name in KEY_PACKAGES},
    }

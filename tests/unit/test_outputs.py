"""Output folders: atomic replacement, repair after killed runs, tables, manifests, versions."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from fupinsim import __version__
from fupinsim.errors import InputError
from fupinsim.io import outputs
from fupinsim.io.outputs import (
    atomic_output_dir,
    clean_stale_work_dirs,
    code_version,
    environment_info,
    failed_dir_for,
    format_manifest,
    read_manifest,
    write_manifest,
    write_tables,
)


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` (relative path → bytes)."""
    return {
        str(path.relative_to(folder)): path.read_bytes()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def make_output(folder: Path, text: str) -> None:
    (folder / "tables").mkdir(parents=True)
    (folder / "tables" / "funding.csv").write_text(text, encoding="utf-8")
    (folder / "manifest.json").write_text(json.dumps({"status": "complete", "run": text}))


def dead_pid() -> int:
    """The pid of a process that has ended."""
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def visible_entries(folder: Path) -> set[str]:
    return {path.name for path in folder.iterdir() if not path.name.startswith(".")}


# ----------------------------------------------------------------------------------------------
# atomic_output_dir


def test_success_replaces_previous_output_and_leaves_no_work_folder(tmp_path: Path) -> None:
    final = tmp_path / "outputs" / "plan_2015"
    make_output(final, "old run")
    make_output(failed_dir_for(final), "an earlier failure")

    with atomic_output_dir(final) as work:
        assert work.parent == final.parent
        assert work.name.startswith(".plan_2015.tmp-")
        assert snapshot(final)["tables/funding.csv"] == b"old run"  # still there while running
        make_output(work, "new run")

    assert snapshot(final)["tables/funding.csv"] == b"new run"
    assert os.listdir(final.parent) == ["plan_2015"]  # no temp, no trash, old .failed gone


def test_failure_keeps_previous_output_and_moves_work_to_failed(tmp_path: Path) -> None:
    final = tmp_path / "plan_2015"
    make_output(final, "good run")
    before = snapshot(final)
    make_output(failed_dir_for(final), "older failure")

    with pytest.raises(RuntimeError, match="solver exploded"), atomic_output_dir(final) as work:
        make_output(work, "half a run")
        raise RuntimeError("solver exploded")

    assert snapshot(final) == before
    assert snapshot(failed_dir_for(final))["tables/funding.csv"] == b"half a run"
    assert sorted(os.listdir(tmp_path)) == ["plan_2015", "plan_2015.failed"]


def test_interrupt_counts_as_failure(tmp_path: Path) -> None:
    final = tmp_path / "plan_2015"
    make_output(final, "good run")
    before = snapshot(final)

    with pytest.raises(KeyboardInterrupt), atomic_output_dir(final) as work:
        (work / "partial.txt").write_text("x")
        raise KeyboardInterrupt

    assert snapshot(final) == before
    assert (failed_dir_for(final) / "partial.txt").exists()


def test_first_run_creates_parent_and_output(tmp_path: Path) -> None:
    final = tmp_path / "new" / "outputs" / "revenue_stagnation"
    with atomic_output_dir(final) as work:
        (work / "manifest.json").write_text("{}")
    assert (final / "manifest.json").read_text() == "{}"


# ----------------------------------------------------------------------------------------------
# Repair after killed runs


def stale_name(stem: str, kind: str, pid: int) -> str:
    return f".{stem}.{kind}-{outputs._host_tag()}-{pid}-0123abcd"


def test_stale_work_folder_of_dead_process_is_deleted(tmp_path: Path) -> None:
    stale = tmp_path / stale_name("plan_2015", "tmp", dead_pid())
    make_output(stale, "killed half-way")
    live = tmp_path / stale_name("illness_shock", "tmp", os.getpid())
    live.mkdir()
    other_host = tmp_path / ".plan_2015.tmp-ffffffff-1-0123abcd"
    other_host.mkdir()
    users_folder = tmp_path / ".plan_2015.tmp-mine"
    users_folder.mkdir()

    found = clean_stale_work_dirs(tmp_path)

    assert found == [stale]
    assert not stale.exists()
    assert live.exists(), "a running batch's work folder must be left alone"
    assert other_host.exists(), "folders of other machines (shared disk) are left alone"
    assert users_folder.exists(), "only exact work-folder names are touched"


def test_interrupted_swap_restores_the_last_good_output(tmp_path: Path) -> None:
    # Killed between "old output -> .old" and "work -> output": only the .old folder is left.
    trash = tmp_path / stale_name("plan_2015", "old", dead_pid())
    make_output(trash, "last good run")
    before = snapshot(trash)

    clean_stale_work_dirs(tmp_path)

    assert snapshot(tmp_path / "plan_2015") == before
    assert visible_entries(tmp_path) == {"plan_2015"}
    assert not trash.exists()


def test_leftover_trash_after_completed_swap_is_deleted(tmp_path: Path) -> None:
    make_output(tmp_path / "plan_2015", "new run")
    trash = tmp_path / stale_name("plan_2015", "old", dead_pid())
    make_output(trash, "previous run")

    clean_stale_work_dirs(tmp_path)

    assert snapshot(tmp_path / "plan_2015")["tables/funding.csv"] == b"new run"
    assert not trash.exists()


def test_next_run_cleans_stale_folders_first(tmp_path: Path) -> None:
    stale = tmp_path / stale_name("plan_2015", "tmp", dead_pid())
    stale.mkdir()
    with atomic_output_dir(tmp_path / "plan_2015") as work:
        (work / "manifest.json").write_text("{}")
    assert os.listdir(tmp_path) == ["plan_2015"]


# ----------------------------------------------------------------------------------------------
# Tables


def test_tables_written_as_csv_and_parquet_that_read_back(tmp_path: Path) -> None:
    funding = pd.DataFrame(
        {"pool": ["city", "suzhou"], "year": [2015, 2015], "amount_yuan": [1.5e6, 2.25e5]}
    )
    by_county = pd.DataFrame({"households": [120, 80]}, index=pd.Index(["yumen", "aksai"]))
    by_county.index.name = "county_id"

    written = write_tables({"funding": funding, "by_county": by_county}, tmp_path)

    names = sorted(path.relative_to(tmp_path).as_posix() for path in written)
    assert names == [
        "tables/by_county.csv",
        "tables/by_county.parquet",
        "tables/funding.csv",
        "tables/funding.parquet",
    ]
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "tables/funding.parquet"), funding)
    assert pd.read_csv(tmp_path / "tables/funding.csv")["amount_yuan"].tolist() == [1.5e6, 2.25e5]
    # An index with meaning (county ids) is kept as a column, not dropped.
    assert pd.read_csv(tmp_path / "tables/by_county.csv").columns.tolist() == [
        "county_id",
        "households",
    ]
    assert b"\r\n" not in (tmp_path / "tables/funding.csv").read_bytes()


def test_table_name_must_be_snake_case(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="snake_case"):
        write_tables({"County Year": pd.DataFrame()}, tmp_path)


# ----------------------------------------------------------------------------------------------
# Manifests


def test_manifest_json_is_deterministic_and_round_trips(tmp_path: Path) -> None:
    manifest = {
        "status": "complete",
        "scenario_hash": "ab12",
        "seed": np.int64(20150601),
        "gap": float("nan"),
        "years": {2016: 1, 2015: 2},
        "counties": {"yumen", "aksai"},
        "folder": tmp_path / "x",
    }
    path = write_manifest(manifest, tmp_path)
    text = path.read_text(encoding="utf-8")

    assert text == format_manifest(dict(reversed(list(manifest.items()))))  # key order irrelevant
    assert text.endswith("\n")
    data = read_manifest(tmp_path)
    assert data is not None
    assert list(data) == sorted(data)
    assert data["seed"] == 20150601
    assert data["gap"] is None  # JSON has no NaN
    assert data["years"] == {"2015": 2, "2016": 1}
    assert data["counties"] == ["aksai", "yumen"]
    assert data["folder"] == (tmp_path / "x").as_posix()
    assert [p.name for p in tmp_path.iterdir()] == ["manifest.json"]  # no partial file left


def test_manifest_rejects_values_without_json_form(tmp_path: Path) -> None:
    with pytest.raises(TypeError, match="cannot be written as JSON"):
        write_manifest({"solver": object()}, tmp_path)


def test_read_manifest_missing_and_corrupt(tmp_path: Path) -> None:
    assert read_manifest(tmp_path) is None
    (tmp_path / "manifest.json").write_text('{"status": "comp', encoding="utf-8")
    with pytest.raises(InputError, match=r"manifest\.json"):
        read_manifest(tmp_path)


# ----------------------------------------------------------------------------------------------
# Environment and code version


def test_environment_info_names_versions_and_commit() -> None:
    info = environment_info()

    assert info["python"] == ".".join(map(str, sys.version_info[:3]))
    assert info["fupinsim"] == __version__
    assert info["packages"]["pandas"] == pd.__version__
    assert info["packages"]["papermill"] != "not installed"
    json.dumps(info)  # goes into manifest.json as it is
    if info["git_commit"] is not None:  # running from the git checkout
        assert re.fullmatch(r"[0-9a-f]{40}", info["git_commit"])
        assert info["code_version"].startswith(f"{__version__}+g{info['git_commit'][:12]}")


def test_code_version_follows_uncommitted_changes(monkeypatch: pytest.MonkeyPatch) -> None:
    commit = "0123456789abcdef0123456789abcdef01234567"
    monkeypatch.setattr(outputs, "_git_state", lambda: (commit, None))
    assert code_version() == f"{__version__}+g0123456789ab"
    monkeypatch.setattr(outputs, "_git_state", lambda: (commit, "1a2b3c4d"))
    assert code_version() == f"{__version__}+g0123456789ab.dirty.1a2b3c4d"
    monkeypatch.setattr(outputs, "_git_state", lambda: (None, None))
    assert code_version() == __version__
    # A batch pins the version for its workers and kernels.
    monkeypatch.setenv(outputs.CODE_VERSION_ENV, "0.1.0+gpinned")
    assert code_version() == "0.1.0+gpinned"
    assert environment_info()["code_version"] == "0.1.0+gpinned"

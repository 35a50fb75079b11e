"""Faults: a running ``fupinsim batch`` stopped by SIGTERM or killed by SIGKILL at three points.

The points, each reached deterministically through a hook that writes a marker file and waits:

``pipeline``
    inside the pipeline of scenario ``slow_beta`` (``tests/helpers/fake_pipeline.py``: ``slow``
    in the id, ``FAKE_PIPELINE_SLEEP_S``);
``notebook``
    inside a notebook cell of ``slow_beta`` (the notebook below, ``FAULT_NOTEBOOK_MARKER``);
``rename``
    between the two renames that put ``slow_beta``'s new output in place
    (:data:`fupinsim.io.outputs.SWAP_PAUSE_ENV`).

Every test starts from the same earlier outputs of ``alpha`` and ``slow_beta``; then
``slow_beta``'s scenario changes (so ``--resume`` must run it again, ``alpha`` stays up to date)
and a batch is stopped at the point. Afterwards the earlier outputs are byte-identical (after a
SIGKILL in the rename, once the next run has repaired the folder), the batch's workers and
kernels are gone, no work folder is left (after a SIGKILL: until the next run cleans it), and
``--resume`` completes. Also: two batches into one outputs folder, and a read-only outputs
folder (a real read-only bind mount when running as root, where permissions do not bind).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import psutil
import pytest

from fupinsim.batch.lock import LOCK_NAME
from fupinsim.io.outputs import (
    CODE_VERSION_ENV,
    SWAP_PAUSE_ENV,
    clean_stale_work_dirs,
    read_manifest,
)

TESTS = Path(__file__).resolve().parents[1]
PLAN = TESTS.parent / "scenarios" / "plan_2015.yaml"
PIPELINE = "helpers.fake_pipeline:run_to_directory"
MARKER_WAIT_S = 120.0
RUN_TIMEOUT_S = 240.0

pytestmark = pytest.mark.slow

FAULT_CELL = """\
import os, time
from pathlib import Path
marker = os.environ.get("FAULT_NOTEBOOK_MARKER")
if marker and "slow" in Path(scenario).stem:
    Path(marker).write_text(str(os.getpid()))
    time.sleep(120)
(Path(output_dir) / "notebook_ran.txt").write_text(Path(scenario).stem)"""


def _write_notebook(path: Path) -> Path:
    parameters = nbformat.v4.new_code_cell(
        'scenario = ""\nseed = 0\nreplications = 1\noutput_dir = "."'
    )
    parameters.metadata["tags"] = ["parameters"]
    kernelspec = {"name": "python3", "display_name": "Python 3", "language": "python"}
    notebook = nbformat.v4.new_notebook(
        cells=[parameters, nbformat.v4.new_code_cell(FAULT_CELL)],
        metadata={"kernelspec": kernelspec},
    )
    nbformat.write(notebook, path)
    return path


def _write_scenario(folder: Path, scenario_id: str, seed: int = 20150601) -> Path:
    text = PLAN.read_text(encoding="utf-8").replace("id: plan_2015", f"id: {scenario_id}")
    path = folder / f"{scenario_id}.yaml"
    path.write_text(text.replace("seed: 20150601", f"seed: {seed}"), encoding="utf-8")
    return path


def _env(folder: Path, **extra: str) -> dict[str, str]:
    """The batch's environment: helpers importable, the fake pipeline's hooks off unless set."""
    paths = [str(TESTS), os.environ.get("PYTHONPATH", "")]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in paths if p))
    env.update(FAKE_PIPELINE_MARKER=str(folder / "unused_marker"), FAKE_PIPELINE_SLEEP_S="0")
    # Pinned: files change in the checkout while tests run, and --resume compares versions.
    env[CODE_VERSION_ENV] = "0.1.0+faults"
    env.pop(SWAP_PAUSE_ENV, None)
    env.pop("FAULT_NOTEBOOK_MARKER", None)
    env.update(extra)
    return env


def _command(folder: Path, *scenario_ids: str, resume: bool = True) -> list[str]:
    command = [sys.executable, "-m", "fupinsim.cli", "batch"]
    command += [str(folder / "scenarios" / f"{s}.yaml") for s in scenario_ids]
    command += ["--outputs", str(folder / "out"), "--pipeline", PIPELINE, "--workers", "1"]
    command += ["--notebooks", str(folder / "fault.ipynb"), "--no-progress"]
    return [*command, "--resume"] if resume else command


def _run(folder: Path, command: list[str], **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command,
        cwd=folder,
        env=_env(folder, **env),
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT_S,
        check=False,
    )


def snapshot(folder: Path) -> dict[str, bytes]:
    return {
        str(path.relative_to(folder)): path.read_bytes()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


@pytest.fixture(scope="module")
def earlier(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with scenarios, the notebook and the earlier outputs of alpha and slow_beta."""
    folder = tmp_path_factory.mktemp("earlier")
    (folder / "scenarios").mkdir()
    for scenario_id in ("alpha", "slow_beta"):
        _write_scenario(folder / "scenarios", scenario_id)
    _write_notebook(folder / "fault.ipynb")
    done = _run(folder, _command(folder, "alpha", "slow_beta", resume=False))
    assert done.returncode == 0, done.stdout + done.stderr
    return folder


@pytest.fixture
def work(earlier: Path, tmp_path: Path) -> Path:
    """A copy of the earlier folder in which slow_beta's scenario has changed since its run."""
    folder = tmp_path / "work"
    shutil.copytree(earlier, folder, symlinks=True)
    _write_scenario(folder / "scenarios", "slow_beta", seed=7)
    return folder


def _wait_for(marker: Path, process: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + MARKER_WAIT_S
    while not marker.exists() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    if not marker.exists():
        process.kill()
        _, stderr = process.communicate()
        pytest.fail(f"the fault point was never reached (exit {process.returncode}): {stderr}")


def _hook_env(point: str, folder: Path, marker: Path) -> dict[str, str]:
    if point == "pipeline":
        return {"FAKE_PIPELINE_MARKER": str(marker), "FAKE_PIPELINE_SLEEP_S": "120"}
    if point == "notebook":
        return {"FAULT_NOTEBOOK_MARKER": str(marker)}
    return {SWAP_PAUSE_ENV: f"slow_beta:{marker}"}


def _stop_at(point: str, signum: int, folder: Path) -> tuple[int, str, list[psutil.Process]]:
    """Start the batch, stop it at ``point`` with ``signum``; (exit code, stderr, its children)."""
    marker = folder / f"reached_{point}"
    process = subprocess.Popen(
        _command(folder, "alpha", "slow_beta"),
        cwd=folder,
        env=_env(folder, **_hook_env(point, folder, marker)),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    children: list[psutil.Process] = []
    try:
        _wait_for(marker, process)
        children = psutil.Process(process.pid).children(recursive=True)
        process.send_signal(signum)
        _, stderr = process.communicate(timeout=RUN_TIMEOUT_S)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    return process.returncode, stderr, children


def _alive(processes: list[psutil.Process]) -> list[psutil.Process]:
    _, alive = psutil.wait_procs(processes, timeout=20)
    for process in alive:  # do not leave them behind, whatever the test says
        process.kill()
    return [p for p in alive if p.status() != psutil.STATUS_ZOMBIE]


def _hidden(out: Path) -> list[str]:
    return sorted(p.name for p in out.iterdir() if p.name.startswith(".") and p.name != LOCK_NAME)


@pytest.mark.parametrize("point", ["pipeline", "notebook", "rename"])
def test_sigterm(point: str, work: Path) -> None:
    out = work / "out"
    before = {name: snapshot(out / name) for name in ("alpha", "slow_beta")}

    code, stderr, children = _stop_at(point, signal.SIGTERM, work)

    assert code == 128 + signal.SIGTERM, stderr
    assert "interrupted (SIGTERM)" in stderr
    assert "Traceback" not in stderr
    assert _alive(children) == [], "the batch stops its workers and kernels"
    assert _hidden(out) == [], "no work folder is left behind"
    assert snapshot(out / "alpha") == before["alpha"]
    manifest = read_manifest(out / "slow_beta")
    assert manifest is not None
    if point == "rename":
        # The signal waits for the rename: the new output is in place, whole.
        assert (manifest["status"], manifest["seed"]) == ("complete", 7)
        assert not (out / "slow_beta.failed").exists()
    else:
        assert snapshot(out / "slow_beta") == before["slow_beta"]
        assert (read_manifest(out / "slow_beta.failed") or {})["status"] == "interrupted"

    _resume_completes(work)


@pytest.mark.parametrize("point", ["pipeline", "notebook", "rename"])
def test_sigkill(point: str, work: Path) -> None:
    out = work / "out"
    before = {name: snapshot(out / name) for name in ("alpha", "slow_beta")}

    code, _, children = _stop_at(point, signal.SIGKILL, work)

    assert code == -signal.SIGKILL
    assert _alive(children) == [], "the workers of a killed batch end by themselves"
    assert snapshot(out / "alpha") == before["alpha"]
    left = _hidden(out)
    assert any(".slow_beta.tmp-" in name for name in left), left
    if point == "rename":  # killed half-way: the earlier output waits aside, whole
        assert not (out / "slow_beta").exists()
        assert any(".slow_beta.old-" in name for name in left), left
        assert len(clean_stale_work_dirs(out)) == 2  # what the next run does first
        assert _hidden(out) == []
    assert snapshot(out / "slow_beta") == before["slow_beta"]

    _resume_completes(work)


def _resume_completes(folder: Path) -> None:
    """The next ``--resume`` run cleans up, keeps alpha and brings slow_beta up to date."""
    out = folder / "out"
    alpha = snapshot(out / "alpha")
    result = _run(folder, _command(folder, "alpha", "slow_beta"))
    assert result.returncode == 0, result.stdout + result.stderr
    assert snapshot(out / "alpha") == alpha, "alpha was up to date: skipped"
    assert (read_manifest(out / "slow_beta") or {}).get("seed") == 7
    assert (out / "slow_beta" / "notebook_ran.txt").read_text() == "slow_beta"
    assert sorted(p.name for p in out.iterdir()) == [LOCK_NAME, "alpha", "slow_beta"]


def test_two_batches_into_one_outputs_folder(work: Path) -> None:
    out = work / "out"
    alpha = snapshot(out / "alpha")
    marker = work / "first_started"
    first = subprocess.Popen(
        _command(work, "slow_beta"),
        cwd=work,
        env=_env(work, FAKE_PIPELINE_MARKER=str(marker), FAKE_PIPELINE_SLEEP_S="120"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        _wait_for(marker, first)
        second = _run(work, _command(work, "alpha", resume=False))
        first.send_signal(signal.SIGTERM)
        first.communicate(timeout=RUN_TIMEOUT_S)
    finally:
        if first.poll() is None:
            first.kill()
            first.wait()

    assert second.returncode == 2
    message = second.stderr.strip()
    assert "\n" not in message and message.startswith(f"error: {out}:"), message
    assert f"in use by process {first.pid} on " in message
    assert "must not receive two batches at once" in message
    assert snapshot(out / "alpha") == alpha, "the second batch wrote nothing"
    assert first.returncode == 128 + signal.SIGTERM


def _read_only(folder: Path, command: list[str]) -> tuple[list[str], str]:
    """``command`` run with ``folder`` read-only; the command and how it is made read-only."""
    if os.geteuid() != 0:
        folder.chmod(0o555)
        return command, "permissions"
    unshare = shutil.which("unshare")
    probe = [unshare or "unshare", "-rm", "true"]
    if unshare is None or subprocess.run(probe, capture_output=True, check=False).returncode:
        pytest.skip("running as root without unshare: no way to make a folder read-only")
    script = 'mount --bind -o ro "$0" "$0" && exec "$@"'
    return [unshare, "-rm", "sh", "-c", script, str(folder), *command], "read-only mount"


def test_read_only_outputs_folder(work: Path) -> None:
    out = work / "out"
    alpha = snapshot(out / "alpha")
    scenario = work / "scenarios" / "alpha.yaml"
    runs = [
        _command(work, "alpha", resume=False),
        [sys.executable, "-m", "fupinsim.cli", "run", str(scenario), "--out", str(out / "alpha")],
    ]
    try:
        for command in runs:
            wrapped, how = _read_only(out, command)
            result = _run(work, wrapped)
            message = result.stderr.strip()
            assert result.returncode == 2, (how, result.stderr)
            assert "Traceback" not in result.stderr
            assert "\n" not in message, message
            assert message.startswith(f"error: {out}: must be a folder this user can write")
            assert "Read-only file system" in message or "Permission denied" in message
    finally:
        out.chmod(0o755)
    assert snapshot(out / "alpha") == alpha

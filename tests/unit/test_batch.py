"""The batch runner: strict notebook contract, failure isolation, atomic outputs, resume, Dask.

The real pipeline is replaced by ``tests/helpers/fake_pipeline.py`` (passed as the dotted path
``helpers.fake_pipeline:run_to_directory`` so that spawned workers import it themselves); the
notebooks are the tiny ones in ``tests/data/notebooks/``. Kernel starts cost about a second
each, so every test runs as few notebooks as it needs.
"""

from __future__ import annotations

import errno
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import nbformat
import papermill
import psutil
import pytest
import yaml
import zmq
from click.testing import CliRunner

from fupinsim.batch import (
    NBSTRIPOUT_ARGS,
    NOTEBOOK_PARAMETERS,
    check_notebook_parameters,
    execute_notebook,
    refresh_notebooks,
    run_batch,
    run_scenario,
)
from fupinsim.batch.lock import LOCK_NAME
from fupinsim.batch.notebooks import scale_test_skip
from fupinsim.cli import cli
from fupinsim.errors import FupinsimError, InputError
from fupinsim.io.outputs import CODE_VERSION_ENV
from fupinsim.scenario import load_scenario

TESTS = Path(__file__).resolve().parents[1]
REPO = TESTS.parent
NOTEBOOKS = TESTS / "data" / "notebooks"
REPORT = NOTEBOOKS / "report_numbers.ipynb"
PIPELINE = "helpers.fake_pipeline:run_to_directory"
PLAN = REPO / "scenarios" / "plan_2015.yaml"


@pytest.fixture(autouse=True)
def fake_pipeline_importable(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make ``helpers.fake_pipeline`` importable here and in every worker process."""
    monkeypatch.syspath_prepend(str(TESTS))
    paths = [str(TESTS), os.environ.get("PYTHONPATH", "")]
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(p for p in paths if p))


@pytest.fixture
def fixed_code_version(monkeypatch: pytest.MonkeyPatch) -> None:
    """Other engineers edit the checkout while tests run; pin the version ``resume`` compares."""
    monkeypatch.setenv(CODE_VERSION_ENV, "0.1.0+test")


def write_scenarios(folder: Path, *ids: str) -> list[Path]:
    """Copies of plan_2015 under new ids (the fake pipeline reacts to words in the id)."""
    folder.mkdir(parents=True, exist_ok=True)
    text = PLAN.read_text(encoding="utf-8")
    paths = []
    for scenario_id in ids:
        path = folder / f"{scenario_id}.yaml"
        path.write_text(text.replace("id: plan_2015", f"id: {scenario_id}"), encoding="utf-8")
        paths.append(path)
    return paths


def make_previous_output(folder: Path) -> dict[str, bytes]:
    """A 'last good output' and its snapshot."""
    (folder / "tables").mkdir(parents=True)
    (folder / "tables" / "numbers.csv").write_text("county_id,value\nsuzhou,7\n")
    (folder / "manifest.json").write_text(json.dumps({"status": "complete", "run": "previous"}))
    return snapshot(folder)


def snapshot(folder: Path) -> dict[str, bytes]:
    return {
        str(path.relative_to(folder)): path.read_bytes()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def stream_text(notebook_path: Path) -> str:
    notebook = nbformat.read(notebook_path, as_version=4)
    return "".join(
        output.get("text", "")
        for cell in notebook.cells
        for output in cell.get("outputs", [])
        if output.output_type == "stream"
    )


def error_outputs(notebook_path: Path) -> list[Any]:
    notebook = nbformat.read(notebook_path, as_version=4)
    return [
        output
        for cell in notebook.cells
        for output in cell.get("outputs", [])
        if output.output_type == "error"
    ]


def notebook_variant(folder: Path, name: str, parameters_source: str, tags: list[str]) -> Path:
    """A copy of ``report_numbers.ipynb`` with another parameters cell."""
    notebook = nbformat.read(REPORT, as_version=4)
    cell = notebook.cells[1]
    cell.source = parameters_source
    cell.metadata["tags"] = tags
    path = folder / name
    nbformat.write(notebook, path)
    return path


# ----------------------------------------------------------------------------------------------
# Strict notebook contract: checked before anything runs


def test_contract_lists_declared_parameters() -> None:
    assert check_notebook_parameters(REPORT) == list(NOTEBOOK_PARAMETERS)


def test_unknown_parameter_rejected_before_anything_runs(tmp_path: Path) -> None:
    old_style = notebook_variant(
        tmp_path, "old_style.ipynb", "scenario = 'x'\nseed = 0\nreplications = 1", ["parameters"]
    )
    scenarios = write_scenarios(tmp_path / "scenarios", "alpha")

    with pytest.raises(InputError) as caught:
        run_batch(scenarios, [old_style], outputs=tmp_path / "out", pipeline=PIPELINE)

    message = str(caught.value)
    assert "old_style.ipynb" in message
    assert "'output_dir'" in message
    assert "declared: scenario, seed, replications" in message
    assert not (tmp_path / "out").exists(), "nothing may run before the contract is checked"

    with pytest.raises(InputError, match="'replication'"):
        check_notebook_parameters(REPORT, ["scenario", "replication"])


@pytest.mark.parametrize(
    ("name", "tags_of_second_cell", "found"),
    [
        ("no_parameters_tag.ipynb", None, "no cell tagged"),
        ("two_parameters_cells.ipynb", ["parameters"], "2 cells tagged"),
    ],
)
def test_parameters_tag_must_be_on_exactly_one_cell(
    tmp_path: Path, name: str, tags_of_second_cell: list[str] | None, found: str
) -> None:
    notebook = NOTEBOOKS / name
    if tags_of_second_cell is not None:
        notebook = tmp_path / name
        content = nbformat.read(REPORT, as_version=4)
        content.cells[2].metadata["tags"] = tags_of_second_cell
        nbformat.write(content, notebook)
    scenarios = write_scenarios(tmp_path / "scenarios", "alpha")

    with pytest.raises(InputError) as caught:
        run_batch(scenarios, [notebook], outputs=tmp_path / "out", pipeline=PIPELINE)

    assert name in str(caught.value)
    assert found in str(caught.value)
    assert "exactly one code cell tagged 'parameters'" in str(caught.value)
    assert not (tmp_path / "out").exists()


def test_bad_scenarios_and_pipeline_rejected_before_anything_runs(tmp_path: Path) -> None:
    alpha, copy = write_scenarios(tmp_path / "a", "alpha")[0], tmp_path / "b" / "alpha.yaml"
    copy.parent.mkdir()
    shutil.copy(alpha, copy)
    bad = tmp_path / "a" / "bad_gamma.yaml"
    bad.write_text(PLAN.read_text().replace("id: plan_2015", "id: bad_gamma") + "colour: red\n")
    out = tmp_path / "out"

    with pytest.raises(InputError, match="colour"):
        run_batch([alpha, bad], outputs=out, pipeline=PIPELINE)
    with pytest.raises(InputError, match="distinct ids"):
        run_batch([alpha, copy], outputs=out, pipeline=PIPELINE)
    with pytest.raises(InputError, match="importable module"):
        run_batch([alpha], outputs=out, pipeline="helpers.no_such_module:run")
    with pytest.raises(InputError, match="must define a function"):
        run_batch([alpha], outputs=out, pipeline="helpers.fake_pipeline:no_such_function")
    with pytest.raises(InputError, match="importable by worker processes"):
        run_batch([alpha], outputs=out, pipeline=lambda scenario, folder: {})
    assert not out.exists()


# ----------------------------------------------------------------------------------------------
# Failure isolation and atomic outputs


def test_one_failing_scenario_does_not_stop_the_others(tmp_path: Path) -> None:
    scenarios = write_scenarios(tmp_path / "scenarios", "alpha", "broken_beta", "pipefail_delta")
    out = tmp_path / "outputs"
    previous = make_previous_output(out / "broken_beta")

    summary = run_batch(scenarios, [REPORT], outputs=out, workers=2, pipeline=PIPELINE)

    assert (summary.n_done, summary.n_failed, summary.ok) == (1, 2, False)
    assert [o.scenario_id for o in summary.outcomes] == ["alpha", "broken_beta", "pipefail_delta"]

    # The good scenario landed, with the notebook run in a kernel of this environment.
    alpha = summary.outcome("alpha")
    assert (alpha.status, alpha.output_dir) == ("done", out / "alpha")
    printed = stream_text(out / "alpha" / "notebooks" / "report_numbers.ipynb")
    assert "total value: 4" in printed  # 1 + 2 + 20150601 % 10
    assert "seed: 20150601, replications: 200" in printed
    assert f"python: {sys.executable}" in printed
    manifest = json.loads((out / "alpha" / "manifest.json").read_text())
    assert manifest["status"] == "complete"
    assert manifest["scenario_hash"] == load_scenario(scenarios[0]).hash
    assert manifest["solver"] == "none (fake pipeline)"  # the pipeline's own fields
    assert set(manifest["notebooks"]) == {"report_numbers.ipynb"}
    assert (out / "alpha" / "tables" / "numbers.parquet").exists()

    # The notebook failed on broken_beta: last good output intact, the error in .failed.
    beta = summary.outcome("broken_beta")
    assert (beta.status, beta.output_dir) == ("failed", out / "broken_beta.failed")
    assert "notebook report_numbers.ipynb: ValueError" in beta.message
    assert snapshot(out / "broken_beta") == previous
    errors = error_outputs(out / "broken_beta.failed" / "notebooks" / "report_numbers.ipynb")
    assert [e.ename for e in errors] == ["ValueError"]
    failed_manifest = json.loads((out / "broken_beta.failed" / "manifest.json").read_text())
    assert failed_manifest["status"] == "failed"
    assert failed_manifest["failed_step"] == "notebook report_numbers.ipynb"

    # The pipeline failed on pipefail_delta: traceback kept, no notebook run.
    delta_failed = out / "pipefail_delta.failed"
    assert "fake pipeline failure" in (delta_failed / "logs" / "traceback.txt").read_text()
    assert not (delta_failed / "notebooks" / "report_numbers.ipynb").exists()
    assert not (out / "pipefail_delta").exists()

    hidden = [p.name for p in out.iterdir() if p.name.startswith(".")]
    assert hidden == [LOCK_NAME], "no work folder left (the batch lock file stays)"


def order_notebook(folder: Path, name: str) -> Path:
    """A notebook that appends its name and the code version it sees to ``order.txt``."""
    parameters = nbformat.v4.new_code_cell(
        'scenario = ""\nseed = 0\nreplications = 1\noutput_dir = "."'
    )
    parameters.metadata["tags"] = ["parameters"]
    append = nbformat.v4.new_code_cell(
        "import os\n"
        "from pathlib import Path\n"
        "with (Path(output_dir) / 'order.txt').open('a') as file:\n"
        f"    file.write('{name} ' + os.environ['FUPINSIM_CODE_VERSION'] + '\\n')"
    )
    kernelspec = {"name": "python3", "display_name": "Python 3", "language": "python"}
    notebook = nbformat.v4.new_notebook(
        cells=[parameters, append], metadata={"kernelspec": kernelspec}
    )
    path = folder / f"{name}.ipynb"
    nbformat.write(notebook, path)
    return path


def test_notebooks_of_a_scenario_run_in_order_after_its_pipeline(tmp_path: Path) -> None:
    scenarios = write_scenarios(tmp_path / "scenarios", "alpha", "beta")
    notebooks = [order_notebook(tmp_path, name) for name in ("first", "second")]

    summary = run_batch(
        scenarios, notebooks, outputs=tmp_path / "out", workers=2, pipeline=PIPELINE
    )

    assert summary.ok
    for name in ("alpha", "beta"):
        folder = tmp_path / "out" / name
        # Every step of a batch sees the version computed at its start (no recomputing in a
        # notebook because files changed in the checkout meanwhile).
        version = json.loads((folder / "manifest.json").read_text())["code_version"]
        assert (folder / "order.txt").read_text() == f"first {version}\nsecond {version}\n"
        log = (folder / "logs" / "run.log").read_text()
        steps = [
            line.split(" started ")[1].split(" in process")[0]
            for line in log.splitlines()
            if " started " in line
        ]
        assert steps == ["pipeline", "notebook first.ipynb", "notebook second.ipynb"]
        timings = json.loads((folder / "manifest.json").read_text())["timings_s"]
        assert set(timings["notebooks"]) == {"first.ipynb", "second.ipynb"}


def test_a_crashed_worker_fails_only_its_scenario(tmp_path: Path) -> None:
    scenarios = write_scenarios(tmp_path / "scenarios", "crash_omega", "alpha")

    summary = run_batch(scenarios, outputs=tmp_path / "out", workers=2, pipeline=PIPELINE)

    assert summary.outcome("alpha").status == "done"
    crashed = summary.outcome("crash_omega")
    assert crashed.status == "failed"
    assert "worker process died" in crashed.message
    assert not (tmp_path / "out" / "crash_omega").exists()


def test_sigterm_mid_scenario_leaves_previous_output_intact(tmp_path: Path) -> None:
    (scenario,) = write_scenarios(tmp_path / "scenarios", "slow_gamma")
    out = tmp_path / "outputs"
    previous = make_previous_output(out / "slow_gamma")
    marker = tmp_path / "pipeline_started"
    env = dict(os.environ, FAKE_PIPELINE_MARKER=str(marker), FAKE_PIPELINE_SLEEP_S="60")
    command = [sys.executable, "-m", "fupinsim.cli", "batch", str(scenario), "--outputs", str(out)]
    command += ["--pipeline", PIPELINE, "--no-progress", "--workers", "1"]
    batch = subprocess.Popen(
        command, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        deadline = time.monotonic() + 60
        while not marker.exists() and batch.poll() is None and time.monotonic() < deadline:
            time.sleep(0.1)
        assert marker.exists(), "the pipeline never started"
        worker_pid = int(marker.read_text())
        work_dirs = [p.name for p in out.iterdir() if p.name.startswith(".slow_gamma.tmp-")]
        assert len(work_dirs) == 1, "the run writes into a hidden work folder"

        batch.send_signal(signal.SIGTERM)
        _, stderr = batch.communicate(timeout=60)
    finally:
        if batch.poll() is None:
            batch.kill()

    assert batch.returncode == 128 + signal.SIGTERM
    assert "interrupted (SIGTERM)" in stderr
    assert snapshot(out / "slow_gamma") == previous
    assert sorted(p.name for p in out.iterdir()) == [LOCK_NAME, "slow_gamma", "slow_gamma.failed"]
    interrupted = json.loads((out / "slow_gamma.failed" / "manifest.json").read_text())
    assert interrupted["status"] == "interrupted"
    assert (out / "slow_gamma.failed" / "tables" / "numbers.csv").exists()
    assert not _running(worker_pid), "the batch must stop its workers"


def _running(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


# ----------------------------------------------------------------------------------------------
# Resume


def test_a_scale_test_scenario_skips_the_notebooks_that_say_so(
    tmp_path: Path, fixed_code_version: None
) -> None:
    """A registered-only (national scale-test) scenario skips a notebook whose metadata gives a
    reason (``fupinsim.scale_test``: 05 validation and 06 what-if need tables a national run
    does not compute) and names it in its manifest; a Jiuquan scenario runs every notebook;
    ``--resume`` keeps the scale test's output (issue 18)."""
    folder = tmp_path / "scenarios"
    (alpha,) = write_scenarios(folder, "alpha")
    national = folder / "national_2014.yaml"
    shutil.copy(REPO / "scenarios" / "national_2014.yaml", national)
    shutil.copy(PLAN, folder / "plan_2015.yaml")
    first = order_notebook(tmp_path, "first")
    second = order_notebook(tmp_path, "second")
    notebook = nbformat.read(second, as_version=4)
    notebook.metadata["fupinsim"] = {"scale_test": "needs the validation table"}
    nbformat.write(notebook, second)

    out = tmp_path / "out"
    summary = run_batch([alpha, national], [first, second], outputs=out, pipeline=PIPELINE)

    assert summary.ok
    assert (out / "alpha" / "order.txt").read_text() == "first 0.1.0+test\nsecond 0.1.0+test\n"
    assert (out / "national_2014" / "order.txt").read_text() == "first 0.1.0+test\n"
    manifest = json.loads((out / "national_2014" / "manifest.json").read_text())
    assert manifest["notebooks_skipped"] == {"second.ipynb": "needs the validation table"}
    assert set(manifest["notebooks"]) == {"first.ipynb"}
    assert "notebooks_skipped" not in json.loads((out / "alpha" / "manifest.json").read_text())
    again = run_batch([national], [first, second], outputs=out, resume=True, pipeline=PIPELINE)
    assert [o.status for o in again.outcomes] == ["skipped"]


def test_the_repository_notebooks_a_scale_test_skips() -> None:
    """Of the repository's notebooks, a national scale test skips 05 and 06 (the batch runs the
    four others on it: tests/contract/test_national_run.py), a Jiuquan scenario none."""
    national = load_scenario(REPO / "scenarios" / "national_2014.yaml")
    plan = load_scenario(PLAN)
    paths = sorted((REPO / "notebooks").glob("*.ipynb"))
    skipped = {p.name for p in paths if scale_test_skip(p, national) is not None}
    assert skipped == {"05_validation.ipynb", "06_what_if.ipynb"}
    assert all(scale_test_skip(p, plan) is None for p in paths)


@pytest.mark.usefixtures("fixed_code_version")
def test_resume_skips_up_to_date_scenarios_and_reruns_changed_ones(tmp_path: Path) -> None:
    alpha, beta, gamma = write_scenarios(tmp_path / "scenarios", "alpha", "beta", "gamma")
    out = tmp_path / "out"
    first = run_batch([alpha, beta, gamma], outputs=out, workers=2, pipeline=PIPELINE)
    assert first.n_done == 3
    before = {name: snapshot(out / name) for name in ("alpha", "beta", "gamma")}

    again = run_batch([alpha, beta, gamma], outputs=out, resume=True, pipeline=PIPELINE)
    assert [o.status for o in again.outcomes] == ["skipped"] * 3
    assert "up to date" in again.outcome("alpha").message
    assert {name: snapshot(out / name) for name in ("alpha", "beta", "gamma")} == before

    # beta's scenario changes; alpha's output was made by other code; gamma is as it was.
    beta.write_text(beta.read_text().replace("seed: 20150601", "seed: 7"), encoding="utf-8")
    manifest = json.loads((out / "alpha" / "manifest.json").read_text())
    manifest["code_version"] = "0.0.9+older"
    (out / "alpha" / "manifest.json").write_text(json.dumps(manifest))
    changed = run_batch([alpha, beta, gamma], outputs=out, resume=True, pipeline=PIPELINE)
    assert [o.status for o in changed.outcomes] == ["done", "done", "skipped"]
    assert json.loads((out / "beta" / "manifest.json").read_text())["seed"] == 7
    assert json.loads((out / "alpha" / "manifest.json").read_text())["code_version"] == (
        "0.1.0+test"
    )


# ----------------------------------------------------------------------------------------------
# Dask


@pytest.mark.slow
def test_dask_local_cluster_runs_the_batch(tmp_path: Path) -> None:
    scenarios = write_scenarios(tmp_path / "scenarios", "alpha", "beta")
    out = tmp_path / "out"

    # One worker keeps the test short (a LocalCluster takes ~3 s to start, each worker ~1 s more).
    summary = run_batch(
        scenarios, [REPORT], outputs=out, workers=1, scheduler="local", pipeline=PIPELINE
    )

    assert summary.ok, [o.message for o in summary.outcomes]
    assert summary.scheduler == "Dask LocalCluster of 1 worker"
    for name in ("alpha", "beta"):
        printed = stream_text(out / name / "notebooks" / "report_numbers.ipynb")
        assert "total value: 4" in printed
        assert json.loads((out / name / "manifest.json").read_text())["status"] == "complete"


# ----------------------------------------------------------------------------------------------
# Pieces: pipeline contract, kernel start retry


def test_pipeline_may_not_overwrite_fields_the_batch_owns(tmp_path: Path) -> None:
    (scenario,) = write_scenarios(tmp_path / "scenarios", "alpha")
    work = tmp_path / "work"
    work.mkdir()

    run = run_scenario(scenario, work, pipeline="helpers.fake_pipeline:returns_reserved_field")

    assert not run.ok
    assert run.failed_step == "pipeline"
    assert "status" in run.error
    assert "batch runner writes itself" in run.error


def test_kernel_runs_this_interpreter_whatever_the_kernelspec_says(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A user-wide "python3" kernelspec pointing elsewhere (another venv, the system Python).
    spec_dir = tmp_path / "jupyter" / "kernels" / "python3"
    spec_dir.mkdir(parents=True)
    spec = {"argv": ["/nonexistent/python3", "-m", "ipykernel_launcher", "-f", "{connection_file}"]}
    spec |= {"display_name": "Python 3 (elsewhere)", "language": "python"}
    (spec_dir / "kernel.json").write_text(json.dumps(spec), encoding="utf-8")
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    output_dir = tmp_path / "run"
    (output_dir / "tables").mkdir(parents=True)
    (output_dir / "tables" / "numbers.csv").write_text("county_id,value\nsuzhou,2.5\n")
    parameters = {"scenario": str(PLAN), "seed": 3, "replications": 5}

    execute_notebook(REPORT, tmp_path / "out.ipynb", parameters | {"output_dir": str(output_dir)})

    printed = stream_text(tmp_path / "out.ipynb")
    assert f"python: {sys.executable}" in printed
    assert "total value: 2.5" in printed
    assert "seed: 3, replications: 5" in printed


class _FlakyPapermill:
    """Stands in for ``papermill.execute_notebook``: fails ``failures`` times, then succeeds."""

    def __init__(self, failures: int, error: Exception) -> None:
        self.failures, self.error, self.calls = failures, error, 0

    def __call__(self, *args: object, **kwargs: object) -> None:
        self.calls += 1
        if self.calls <= self.failures:
            raise self.error


@pytest.mark.parametrize(
    "case",
    [
        (1, zmq.ZMQError(errno.EADDRINUSE), 2, False),  # port taken once: started again
        (5, zmq.ZMQError(errno.EADDRINUSE), 2, True),  # only one retry
        (1, RuntimeError("Kernel died: out of memory"), 1, True),  # other errors: no retry
    ],
)
def test_kernel_start_retried_once_when_its_port_was_taken(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, case: tuple[int, Exception, int, bool]
) -> None:
    failures, error, calls, raises = case
    flaky = _FlakyPapermill(failures, error)
    monkeypatch.setattr(papermill, "execute_notebook", flaky)

    if raises:
        with pytest.raises(type(error)):
            execute_notebook(REPORT, tmp_path / "out.ipynb", {}, kernel_log=tmp_path / "k.log")
    else:
        execute_notebook(REPORT, tmp_path / "out.ipynb", {}, kernel_log=tmp_path / "k.log")
    assert flaky.calls == calls


# ----------------------------------------------------------------------------------------------
# Command line


@pytest.mark.usefixtures("fixed_code_version")
def test_cli_batch_exit_codes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # no notebooks/ folder here: pipeline only by default
    # The comparison across scenarios needs real pipeline tables; not what is tested here.
    monkeypatch.setattr(
        "fupinsim.io.report_files.write_comparison", lambda outputs: {"html": "c.html"}
    )
    alpha, delta = write_scenarios(tmp_path / "scenarios", "alpha", "pipefail_delta")
    runner = CliRunner()
    base = ["batch", "--outputs", "out", "--pipeline", PIPELINE, "--no-progress"]

    result = runner.invoke(cli, [*base, str(alpha), str(delta)])
    assert result.exit_code == 1, result.output
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["scenario", "status", "time_s", "output"]
    assert lines[1].split()[:2] == ["alpha", "done"]
    assert lines[2].split()[:2] == ["pipefail_delta", "FAILED"]
    assert "pipeline: RuntimeError: fake pipeline failure for pipefail_delta" in lines[3]
    assert "2 scenarios: 1 done, 0 skipped, 1 failed" in lines[4]
    assert "no notebooks" in result.stderr

    result = runner.invoke(cli, [*base, "alpha", "--resume"])  # bare id: scenarios/alpha.yaml
    assert result.exit_code == 0, result.output
    assert "1 scenario: 0 done, 1 skipped, 0 failed" in result.stdout

    no_tag = str(NOTEBOOKS / "no_parameters_tag.ipynb")
    result = runner.invoke(cli, [*base, str(alpha), "--notebooks", no_tag])
    assert result.exit_code == 2
    assert "tagged 'parameters'" in result.stderr

    result = runner.invoke(cli, [*base, "no_such_scenario"])
    assert result.exit_code == 2
    assert "scenario file must exist" in result.stderr


# ----------------------------------------------------------------------------------------------
# make notebooks


def test_refresh_notebooks_reexecutes_in_place_and_strips_metadata(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    scratch = tmp_path / "scratch"  # where a failed notebook's executed copy is kept
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    folder = tmp_path / "notebooks"
    folder.mkdir()
    report = Path(shutil.copy(REPORT, folder))
    (folder / "tables").mkdir()  # the default output_dir is "." (the notebook's folder)
    (folder / "tables" / "numbers.csv").write_text("county_id,value\nsuzhou,1\nyumen,5\n")

    assert refresh_notebooks([report]) == [report]

    notebook = nbformat.read(report, as_version=4)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert [cell.execution_count for cell in code] == [1, 2]
    assert "total value: 6" in stream_text(report)
    assert "papermill" not in notebook.metadata
    assert [cell.metadata for cell in notebook.cells] == [{}, {"tags": ["parameters"]}, {}]

    failing = Path(shutil.copy(NOTEBOOKS / "raises.ipynb", folder))
    before = failing.read_bytes()
    with pytest.raises(FupinsimError, match="this notebook always fails") as caught:
        refresh_notebooks([failing])
    assert failing.read_bytes() == before, "a notebook that fails is left unchanged"
    (kept,) = scratch.glob("fupinsim-refresh-*/raises.ipynb")
    assert str(kept) in str(caught.value), "the message points to the executed copy"
    assert [e.ename for e in error_outputs(kept)] == ["RuntimeError"]


def test_refresh_and_pre_commit_clean_notebooks_the_same_way() -> None:
    config = yaml.safe_load((REPO / ".pre-commit-config.yaml").read_text(encoding="utf-8"))
    hooks = {hook["id"]: hook for repo in config["repos"] for hook in repo["hooks"]}
    assert tuple(hooks["nbstripout"]["args"]) == NBSTRIPOUT_ARGS
    assert {"ruff-check", "ruff-format", "mypy"} <= set(hooks)


# ----------------------------------------------------------------------------------------------
# nbval sanitiser


def test_nbval_sanitiser_masks_only_volatile_text() -> None:
    from nbval.plugin import get_sanitize_patterns

    patterns = get_sanitize_patterns((TESTS / "nbval_sanitize.cfg").read_text(encoding="utf-8"))
    assert len(patterns) == 6, "every section must parse (nbval needs 'replace: <text>')"

    def sanitise(text: str) -> str:
        for regex, replace in patterns:
            text = re.sub(regex, replace, text)
        return text

    volatile = {
        "[<matplotlib.lines.Line2D at 0x7f3a2c1b9d90>]": "[<matplotlib.lines.Line2D at 0xADDRESS>]",
        "run at 2026-11-29T04:47:11.695751+00:00\n": "run at TIMESTAMP\n",
        "/tmp/ipykernel_17409/334241408.py:3: UserWarning: x": "CELLFILE:3: UserWarning: x",
        "wrote /tmp/tmpab12cd/tables/funding.csv": "wrote TMPPATH",
        "objective 11Running HiGHS 1.16.0 (git hash: f3f113d): Copyright (c) 2026 under MIT "
        "licence terms\nIncludes third-party software components, see THIRD_PARTY_NOTICES.md\n"
        "\n": "objective 11\n",
        "Client: tcp://127.0.0.1:38211": "Client: tcp://127.0.0.1:PORT",
    }
    for text, expected in volatile.items():
        assert sanitise(text) == expected

    stable = [
        "households exited by 2017: 12,600 (0x10 households)",
        "Guazhou immigrant villages: P(target met) = 0.55 in 2016",
        "ValueError: could not convert string to float: 'not a number'",
        'Traceback (most recent call last):\n  File "<ipython-input>", line 1\n',
        "revenue 2015-2017: 1,234,567 yuan",
    ]
    for text in stable:
        assert sanitise(text) == text

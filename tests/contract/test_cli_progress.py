"""Progress that moves: the batch bar counts steps with a known total; run shows its stages.

* ``fupinsim batch``: one bar over every step of every scenario (each pipeline stage the
  pipeline reports, then each notebook), its total known at the start, so tqdm shows an ETA;
  it moves while a pipeline runs (stages are read from the work folder's ``logs/run.log``);
* ``fupinsim run``: a bar over :func:`fupinsim.io.run.pipeline_stages`, which must name every
  stage the real pipeline reports, in its order;
* the last line of both names the ``report.html`` file(s).
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from fupinsim.batch import run_batch
from fupinsim.cli import _stage_bar, cli
from fupinsim.io.run import WRITE_STAGE, pipeline_stages
from fupinsim.scenario import load_scenario

TESTS = Path(__file__).resolve().parents[1]
ROOT = TESTS.parent
PLAN = ROOT / "scenarios" / "plan_2015.yaml"
STAGED = "helpers.staged_pipeline:run_to_directory"
NOTEBOOK = TESTS / "data" / "notebooks" / "report_numbers.ipynb"


@pytest.fixture(autouse=True)
def helpers_importable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(TESTS))
    paths = [str(TESTS), os.environ.get("PYTHONPATH", "")]
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(p for p in paths if p))


def _scenarios(folder: Path, *ids: str) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for scenario_id in ids:
        path = folder / f"{scenario_id}.yaml"
        text = PLAN.read_text(encoding="utf-8").replace("id: plan_2015", f"id: {scenario_id}")
        path.write_text(text, encoding="utf-8")
        paths.append(path)
    return paths


def _counts(stderr: str, total: int) -> list[int]:
    return [int(n) for n in re.findall(rf"\b(\d+)/{total} \[", stderr)]


@pytest.mark.slow
def test_batch_bar_counts_stages_and_notebooks_with_a_total(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("STAGED_PIPELINE_PAUSE_S", "1.0")
    scenarios = _scenarios(tmp_path / "scenarios", "alpha", "beta")

    summary = run_batch(
        scenarios,
        [NOTEBOOK],
        outputs=tmp_path / "out",
        workers=1,
        pipeline=STAGED,
        progress=True,
    )

    assert summary.ok
    stderr = capsys.readouterr().err
    total = 2 * (3 + 1)  # 3 stages and 1 notebook per scenario
    counts = _counts(stderr, total)
    assert counts[0] == 0, "the total is known before anything has run"
    assert counts[-1] == total
    assert counts == sorted(counts)
    # While the first pipeline runs, its stages move the bar (1 and 2 before it finishes at 3).
    assert {1, 2} <= set(counts), stderr
    assert re.search(r"\d\d:\d\d<\d\d:\d\d, ", stderr), "an ETA, from a known total"
    assert "step/s" in stderr or "s/step" in stderr


def test_batch_bar_ends_at_its_total_when_a_scenario_fails_or_is_skipped(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    scenarios = _scenarios(tmp_path / "scenarios", "alpha", "pipefail_delta")
    summary = run_batch(
        scenarios, outputs=tmp_path / "out", workers=1, pipeline=STAGED, progress=True
    )
    assert (summary.n_done, summary.n_failed) == (1, 1)
    assert _counts(capsys.readouterr().err, 6)[-1] == 6  # 3 stages each, none for notebooks


@pytest.mark.slow
def test_batch_last_line_names_the_reports(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(
        "fupinsim.io.report_files.write_comparison",
        lambda outputs: {"html": str(Path(outputs) / "comparison.html")},
    )
    alpha, beta = _scenarios(tmp_path / "scenarios", "alpha", "beta")
    base = ["batch", "--outputs", "out", "--pipeline", STAGED, "--workers", "1"]

    result = CliRunner().invoke(cli, [*base, str(alpha), str(beta)])

    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[-2] == "comparison across scenarios: out/comparison.html"
    assert lines[-1] == "report.html: out/alpha/report.html, out/beta/report.html"


def test_run_stage_bar_has_a_total_and_counts_skipped_stages(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with _stage_bar("run x", ("registry", "loop 1", "loop 2", "tables")) as step:
        step("registry")
        step("tables")  # the loop stopped after its first round: loop 2 never starts
        step("done")  # not a stage: only logged
    counts = _counts(capsys.readouterr().err, 4)
    assert counts[0] == 0
    assert 3 in counts, "'tables' starting means the three stages before it are done"
    assert counts[-1] == 4


@pytest.mark.slow
def test_pipeline_stages_name_what_the_real_pipeline_reports(tmp_path: Path) -> None:
    from fupinsim.pipeline import run_pipeline

    shutil.copy(PLAN, tmp_path / "plan_2015.yaml")
    quick = tmp_path / "quick.yaml"
    quick.write_text(
        "id: quick\nextends: plan_2015\ntitle: quick\ndescription: quick stage check.\n"
        "microsim:\n  replications: 4\nallocation:\n  yield_replications: 2\n  loop_rounds: 1\n",
        encoding="utf-8",
    )
    scenario = load_scenario(quick)
    reported: list[str] = []

    run_pipeline(scenario, step=reported.append)

    expected = pipeline_stages(scenario)
    assert expected[-1] == WRITE_STAGE
    assert reported[-1] == "done"
    positions = [expected.index(name) for name in reported[:-1]]  # each one is expected
    assert positions == sorted(positions), (reported, expected)

"""Batch-runner benchmark: every default scenario x every planner notebook, 1 and 2 workers.

Prints one JSON object on stdout:

``wall_s_workers_1``, ``wall_s_workers_2``
    Wall-clock seconds of :func:`fupinsim.batch.run_batch` (process pool, fresh outputs folder)
    over all default scenarios found and all ``notebooks/*.ipynb``. Target: 2 workers <= 0.6 x
    1 worker (``ratio_2_to_1``).
``kernel_overhead_s``
    Median seconds to start and stop one kernel: papermill on an empty notebook, in this process.

and notes: which scenarios ran or are missing (not written yet), which notebooks and which
pipeline were used (the real hook, :data:`fupinsim.batch.DEFAULT_PIPELINE`; or, with
``--placeholder`` or while the hook cannot be imported, a placeholder that writes one small
table, to measure the runner's own cost), and any failed scenario.

Usage::

    python benchmarks/bench_batch.py                # as `make bench`
    python benchmarks/bench_batch.py --copies 3     # each scenario 3 times (more jobs)
    python benchmarks/bench_batch.py --placeholder  # the runner's own cost: no model
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nbformat
import pandas as pd

from fupinsim.batch import DEFAULT_PIPELINE, execute_notebook, resolve_pipeline, run_batch
from fupinsim.errors import InputError
from fupinsim.io.outputs import write_tables
from fupinsim.scenario import Scenario

REPO = Path(__file__).resolve().parents[1]
#: The scenarios of `make run` (Makefile DEFAULT_SCENARIOS).
DEFAULT_SCENARIOS = (
    "plan_2015",
    "revenue_stagnation",
    "illness_shock",
    "labour_market_slump",
    "provincial_support",
)
PLACEHOLDER_PIPELINE = "bench_batch:placeholder_pipeline"
KERNEL_RUNS = 3


def placeholder_pipeline(scenario: Scenario, folder: Path) -> dict[str, Any]:
    """Stand-in until ``fupinsim.pipeline`` exists: one small table, no model."""
    values = [1, 2, scenario.seed % 10]
    table = pd.DataFrame({"county_id": ["suzhou", "yumen", "aksai"], "value": values})
    write_tables({"numbers": table}, folder)
    return {"pipeline": "benchmark placeholder"}


def _new_notebook(cells: list[Any]) -> Any:
    kernelspec = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return nbformat.v4.new_notebook(cells=cells, metadata={"kernelspec": kernelspec})


def _generic_notebook(folder: Path) -> Path:
    """A planner-style notebook that only lists what the pipeline wrote (works with any)."""
    parameters = nbformat.v4.new_code_cell(
        'scenario = "plan_2015"\nseed = 0\nreplications = 1\noutput_dir = "."'
    )
    parameters.metadata["tags"] = ["parameters"]
    listing = nbformat.v4.new_code_cell(
        "from pathlib import Path\nprint(sorted(p.name for p in Path(output_dir).rglob('*')))"
    )
    path = folder / "bench_generic.ipynb"
    nbformat.write(_new_notebook([parameters, listing]), path)
    return path


def _scenario_files(folder: Path, copies: int) -> tuple[list[Path], list[str]]:
    """Default scenarios found (plus copies under new ids) and the ids still missing."""
    found = [REPO / "scenarios" / f"{sid}.yaml" for sid in DEFAULT_SCENARIOS]
    missing = [path.stem for path in found if not path.is_file()]
    present = [path for path in found if path.is_file()]
    if copies <= 1:
        return present, missing
    folder.mkdir()
    files = []
    for source in sorted((REPO / "scenarios").glob("*.yaml")):  # bases for `extends`
        (folder / source.name).write_text(source.read_text(encoding="utf-8"), encoding="utf-8")
    for source in present:
        files.append(folder / source.name)
        for copy in range(2, copies + 1):
            copy_id = f"{source.stem}_copy{copy}"
            text = f"extends: {source.stem}\ntitle: copy {copy}\ndescription: benchmark copy\n"
            (folder / f"{copy_id}.yaml").write_text(text, encoding="utf-8")
            files.append(folder / f"{copy_id}.yaml")
    return files, missing


def _pipeline_available() -> bool:
    try:
        resolve_pipeline(DEFAULT_PIPELINE)
    except InputError:
        return False
    return True


def _kernel_overhead_s(folder: Path) -> float:
    empty = folder / "empty.ipynb"
    nbformat.write(_new_notebook([]), empty)
    times = []
    for run in range(KERNEL_RUNS):
        start = time.perf_counter()
        execute_notebook(empty, folder / f"empty_out_{run}.ipynb", {}, kernel_log=folder / "k.log")
        times.append(time.perf_counter() - start)
    return statistics.median(times)


@contextlib.contextmanager
def _stdout_to_stderr() -> Iterator[None]:
    """Keep stdout for the JSON: workers and solvers print on file descriptor 1."""
    sys.stdout.flush()
    saved = os.dup(1)
    os.dup2(2, 1)
    try:
        yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)


def _timed_batch(
    scenarios: list[Path], notebooks: list[Path], pipeline: str, outputs: Path, workers: int
) -> tuple[float, dict[str, str]]:
    start = time.perf_counter()
    summary = run_batch(scenarios, notebooks, outputs=outputs, workers=workers, pipeline=pipeline)
    seconds = time.perf_counter() - start
    return seconds, {o.scenario_id: o.message for o in summary.outcomes if o.status == "failed"}


def main() -> None:
    """Run the benchmark and print its JSON object."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--copies", type=int, default=1, help="run each scenario N times")
    parser.add_argument(
        "--placeholder", action="store_true", help="use the placeholder pipeline (no model)"
    )
    args = parser.parse_args()

    result: dict[str, Any] = {}
    with (
        tempfile.TemporaryDirectory(prefix="fupinsim-bench-batch-") as scratch,
        _stdout_to_stderr(),
    ):
        folder = Path(scratch)
        scenarios, missing = _scenario_files(folder / "scenarios", args.copies)
        real = not args.placeholder and _pipeline_available()
        pipeline = DEFAULT_PIPELINE if real else PLACEHOLDER_PIPELINE
        notebooks = sorted((REPO / "notebooks").glob("*.ipynb"))
        if notebooks:
            notebooks_note = "notebooks/*.ipynb"
        elif real:
            notebooks, notebooks_note = [_generic_notebook(folder)], "none in notebooks/ yet: "
            notebooks_note += "measured with a generated 2-cell notebook"
        else:
            notebooks = [REPO / "tests" / "data" / "notebooks" / "report_numbers.ipynb"]
            notebooks_note = "none in notebooks/ yet: measured with tests/data/notebooks/"
            notebooks_note += "report_numbers.ipynb"

        result["kernel_overhead_s"] = round(_kernel_overhead_s(folder), 3)
        for workers in (1, 2):
            seconds, failed = _timed_batch(
                scenarios, notebooks, pipeline, folder / f"outputs_{workers}", workers
            )
            result[f"wall_s_workers_{workers}"] = round(seconds, 2)
            if failed:
                result[f"failed_workers_{workers}"] = failed

    result["ratio_2_to_1"] = round(result["wall_s_workers_2"] / result["wall_s_workers_1"], 3)
    result["target_ratio"] = 0.6
    result["n_jobs"] = len(scenarios)
    result["scenarios"] = {"run": [path.stem for path in scenarios], "missing": missing}
    result["notebooks"] = [path.name for path in notebooks]
    result["notebooks_note"] = notebooks_note
    result["pipeline"] = pipeline if real else "placeholder: writes one small table, no model"
    result["cpu_count"] = os.cpu_count()
    print(json.dumps(result, sort_keys=True))


if __name__ == "__main__":
    main()

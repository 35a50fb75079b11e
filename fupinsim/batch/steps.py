"""One step of one scenario (its pipeline, or one of its notebooks), as a worker runs it."""

from __future__ import annotations

import importlib
import inspect
import logging
import os
import traceback
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from time import perf_counter
from typing import Any

from fupinsim.batch.notebooks import DEFAULT_KERNEL, execute_notebook, notebook_parameters
from fupinsim.batch.summary import ScenarioRun, _now, _one_line
from fupinsim.errors import InputError
from fupinsim.io.logs import RUN_LOG, STAGE_PREFIX, run_log
from fupinsim.io.outputs import environment_info
from fupinsim.scenario import Scenario, load_scenario

logger = logging.getLogger(__name__)

#: The pipeline hook used unless another is given: ``run_to_directory(scenario, folder) -> dict``.
#: It lives in ``fupinsim.io.run`` (layer 7), not in ``fupinsim.pipeline``: layers 3-6 never
#: write files, and the hook writes the run's tables, LP and reports into the folder.
DEFAULT_PIPELINE = "fupinsim.io.run:run_to_directory"

#: Manifest fields the batch runner writes itself; a pipeline must not return them.
MANIFEST_KEYS_OWNED_BY_BATCH = frozenset(
    {
        "status",
        "scenario_id",
        "scenario_file",
        "scenario_hash",
        "seed",
        "replications",
        "code_version",
        "notebooks",
        "environment",
        "started_at",
        "finished_at",
        "timings_s",
        "failed_step",
        "error",
    }
)

#: A pipeline: writes the scenario's tables (and figures) into the folder, returns manifest fields.
PipelineFunction = Callable[[Scenario, Path], Mapping[str, Any]]

_RUN_LOG = RUN_LOG
_TRACEBACK_FILE = Path("logs") / "traceback.txt"

# ----------------------------------------------------------------------------------------------
# Pipeline hook


def resolve_pipeline(pipeline: str | PipelineFunction) -> PipelineFunction:
    """The pipeline function for a ``"module:function"`` string (or the function itself).

    A dotted string is what travels best to worker processes and Dask workers, which import it
    themselves.

    Raises
    ------
    InputError
        The string is not ``module:function``, the module cannot be imported, or it has no such
        function.
    """
    if callable(pipeline):
        return pipeline
    module_name, _, attribute = pipeline.partition(":")
    if not module_name or not attribute:
        raise InputError.single("pipeline", pipeline, "must be written 'module:function'")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise InputError.single(
            "pipeline", pipeline, "must name an importable module", fix=str(exc)
        ) from None
    function = getattr(module, attribute, None)
    if not callable(function):
        raise InputError.single(
            "pipeline", pipeline, f"module {module_name} must define a function {attribute}"
        )
    return function


def _checked_manifest_fields(fields: object) -> dict[str, Any]:
    if not isinstance(fields, Mapping):
        raise TypeError(
            f"the pipeline must return a mapping of manifest fields; it returned "
            f"{type(fields).__name__}"
        )
    clash = sorted(set(fields) & MANIFEST_KEYS_OWNED_BY_BATCH)
    if clash:
        raise ValueError(
            f"the pipeline returned manifest fields the batch runner writes itself: "
            f"{', '.join(map(str, clash))}"
        )
    from fupinsim.io.outputs import format_manifest

    format_manifest(fields)  # fail here, in the worker, if a value has no JSON form
    return dict(fields)


# ----------------------------------------------------------------------------------------------
# One scenario, step by step (steps run in workers)
#
# A scenario is a chain of steps: 0 is the pipeline, k the k-th notebook. Steps of one scenario
# run in order, one at a time, but consecutive steps may run in different workers: with whole
# scenarios as jobs, 5 scenarios on 2 workers could never take less than 3/5 of the time of one
# worker; with steps as jobs the workers stay busy until the end.


@dataclass(frozen=True)
class _Job:
    """One scenario to compute, as sent to workers (plain, picklable data)."""

    scenario_id: str
    scenario_file: str
    work_dir: str
    notebooks: tuple[str, ...]
    pipeline: str | PipelineFunction
    kernel_name: str

    @property
    def n_steps(self) -> int:
        return 1 + len(self.notebooks)

    def step_name(self, step: int) -> str:
        return "pipeline" if step == 0 else f"notebook {Path(self.notebooks[step - 1]).name}"

    def has_started(self) -> bool:
        return (Path(self.work_dir) / _RUN_LOG).exists()


@dataclass(frozen=True)
class _Task:
    """One step of one scenario."""

    job: _Job
    step: int

    @property
    def name(self) -> str:
        return self.job.step_name(self.step)

    @property
    def key(self) -> tuple[str, int]:
        return self.job.scenario_id, self.step

    def has_started(self) -> bool:
        try:
            log = (Path(self.job.work_dir) / _RUN_LOG).read_text(encoding="utf-8")
        except FileNotFoundError:
            return False
        return f" started {self.name} in process " in log


@dataclass(frozen=True)
class _StepResult:
    """What a worker reports about one step."""

    ok: bool
    seconds: float = 0.0
    error: str = ""
    traceback: str = ""
    manifest_fields: Mapping[str, Any] = field(default_factory=dict)
    environment: Mapping[str, Any] = field(default_factory=dict)
    started_at: str = ""
    finished_at: str = ""


def _run_step(task: _Task) -> _StepResult:
    """Run one step in this process (a worker); errors are reported, not raised.

    While it runs, every ``fupinsim`` log record of level INFO and above goes to the work
    folder's ``logs/run.log``: when the step started (and in which process), each stage the
    pipeline reports, and how the step ended.
    """
    with run_log(task.job.work_dir):
        return _logged_step(task)


def _logged_step(task: _Task) -> _StepResult:
    job, work = task.job, Path(task.job.work_dir)
    started_at, start = _now(), perf_counter()
    logger.info("started %s in process %d", task.name, os.getpid())
    fields: dict[str, Any] = {}
    environment: dict[str, Any] = {}
    try:
        scenario = load_scenario(job.scenario_file)
        if task.step == 0:
            fields = _checked_manifest_fields(
                _call_pipeline(job.pipeline, scenario, work, job.scenario_file)
            )
            environment = environment_info()
        else:
            _run_notebook_step(job, scenario, Path(job.notebooks[task.step - 1]))
    except Exception as exc:
        logger.info("%s failed: %s", task.name, _one_line(exc))
        return _StepResult(
            ok=False,
            seconds=perf_counter() - start,
            error=_one_line(exc),
            traceback=traceback.format_exc(),
            started_at=started_at,
            finished_at=_now(),
        )
    seconds = perf_counter() - start
    logger.info("%s done in %.1f s", task.name, seconds)
    return _StepResult(
        ok=True,
        seconds=seconds,
        manifest_fields=fields,
        environment=environment,
        started_at=started_at,
        finished_at=_now(),
    )


def _log_stage(name: str) -> None:
    logger.info("%s%s", STAGE_PREFIX, name)


def _call_pipeline(
    pipeline: str | PipelineFunction, scenario: Scenario, work: Path, scenario_file: str
) -> Mapping[str, Any]:
    """Run the pipeline hook; one that takes ``step=`` reports its stages to ``run.log``, one
    that takes ``scenario_file=`` gets the scenario's file (``registry.source: file`` paths are
    relative to it, whatever the worker's working folder)."""
    function = resolve_pipeline(pipeline)
    keywords: dict[str, Any] = {}
    if _accepts_keyword(function, "step"):
        keywords["step"] = _log_stage
    if _accepts_keyword(function, "scenario_file"):
        keywords["scenario_file"] = scenario_file
    return function(scenario, work, **keywords)


def _accepts_keyword(function: Callable[..., Any], name: str) -> bool:
    try:
        parameters = inspect.signature(function).parameters.values()
    except (TypeError, ValueError):  # some builtins and C functions have no signature
        return False
    return any(
        (p.name == name and p.kind is not p.POSITIONAL_ONLY) or p.kind is p.VAR_KEYWORD
        for p in parameters
    )


def stages_started(work_dir: str | Path) -> list[str]:
    """The pipeline stages that have started in a work folder, in order (from ``run.log``)."""
    try:
        text = (Path(work_dir) / _RUN_LOG).read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return []
    marker = f" {STAGE_PREFIX}"
    return [line.split(marker, 1)[1] for line in text.splitlines() if marker in line]


def _run_notebook_step(job: _Job, scenario: Scenario, notebook: Path) -> None:
    work = Path(job.work_dir)
    (work / "notebooks").mkdir(exist_ok=True)
    execute_notebook(
        notebook,
        work / "notebooks" / notebook.name,
        notebook_parameters(scenario, Path(job.scenario_file), work),
        cwd=notebook.parent,
        kernel_name=job.kernel_name,
        kernel_log=work / "logs" / f"{notebook.stem}.kernel.log",
    )


def _scenario_run(job: _Job, results: Sequence[_StepResult]) -> ScenarioRun:
    """The scenario's result from its steps' results (the last one failed, or all succeeded)."""
    first = results[0] if results else _StepResult(ok=False, error="not run")
    timings = {
        "pipeline": first.seconds,
        "notebooks": {
            job.step_name(step).removeprefix("notebook "): result.seconds
            for step, result in enumerate(results)
            if step > 0
        },
        "total": sum(result.seconds for result in results),
    }
    complete = len(results) == job.n_steps and all(result.ok for result in results)
    last = results[-1] if results else first
    return ScenarioRun(
        scenario_id=job.scenario_id,
        ok=complete,
        failed_step="" if complete else job.step_name(max(len(results) - 1, 0)),
        error="" if complete else last.error,
        traceback="" if complete else last.traceback,
        manifest_fields=first.manifest_fields,
        timings_s=timings,
        environment=first.environment,
        started_at=first.started_at,
        finished_at=last.finished_at or _now(),
    )


def run_scenario(
    scenario_file: str | Path,
    work_dir: str | Path,
    notebooks: Sequence[str | Path] = (),
    *,
    pipeline: str | PipelineFunction = DEFAULT_PIPELINE,
    kernel_name: str = DEFAULT_KERNEL,
) -> ScenarioRun:
    """Compute one scenario into ``work_dir`` in this process: the pipeline, then each notebook.

    What a batch does for one scenario, without renaming anything into place and without the
    manifest (the batch process does both). Errors are reported, not raised.

    Parameters
    ----------
    scenario_file:
        The scenario YAML.
    work_dir:
        An existing, empty folder (normally from :func:`fupinsim.io.outputs.create_work_dir`).
        Receives the pipeline's files, ``notebooks/<name>.ipynb`` and ``logs/``.
    notebooks:
        Notebooks to execute, in order, each in a fresh kernel with
        :func:`notebook_parameters`.
    pipeline:
        ``"module:function"`` or a function ``(scenario, folder) -> manifest fields``.
    kernel_name:
        See :func:`execute_notebook`.

    Returns
    -------
    ScenarioRun
        ``ok`` False with ``failed_step`` and ``error`` when something failed; later steps are
        then not run.
    """
    source = Path(scenario_file).resolve()
    job = _Job(
        scenario_id=source.stem,
        scenario_file=str(source),
        work_dir=str(Path(work_dir)),
        notebooks=tuple(str(Path(notebook).resolve()) for notebook in notebooks),
        pipeline=pipeline,
        kernel_name=kernel_name,
    )
    results: list[_StepResult] = []
    for step in range(job.n_steps):
        results.append(_run_step(_Task(job, step)))
        if not results[-1].ok:
            break
    return _scenario_run(job, results)

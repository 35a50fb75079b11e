""":func:`run_batch`: the batch process, which alone renames work folders into place."""

from __future__ import annotations

import logging
import os
import pickle
import shutil
import signal
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from time import perf_counter
from types import FrameType
from typing import Any

from fupinsim.batch.dask import _DaskRunner
from fupinsim.batch.local import _ProcessPoolRunner
from fupinsim.batch.lock import outputs_lock
from fupinsim.batch.notebooks import (
    DEFAULT_KERNEL,
    NOTEBOOK_PARAMETERS,
    _resolve_notebooks,
    check_notebook_parameters,
    notebook_fingerprint,
    scale_test_skip,
)
from fupinsim.batch.plan import _manifest, _plan_scenarios, _Planned
from fupinsim.batch.progress import StepProgress, pipeline_stages, progress_bar
from fupinsim.batch.resume import _skip_reason
from fupinsim.batch.schedule import _Runner, run_steps
from fupinsim.batch.steps import (
    _TRACEBACK_FILE,
    DEFAULT_PIPELINE,
    PipelineFunction,
    _Job,
    _scenario_run,
    _StepResult,
    _Task,
    resolve_pipeline,
)
from fupinsim.batch.summary import (
    BatchInterrupted,
    BatchSummary,
    ScenarioOutcome,
    ScenarioRun,
    _now,
    _one_line,
)
from fupinsim.errors import InputError
from fupinsim.io.outputs import (
    CODE_VERSION_ENV,
    clean_stale_work_dirs,
    code_version,
    commit_work_dir,
    create_work_dir,
    fail_work_dir,
    failed_dir_for,
    not_writable,
    write_manifest,
)

logger = logging.getLogger(__name__)


def _log_outcome(outcome: ScenarioOutcome) -> None:
    if outcome.status == "done":
        logger.info(
            "%s: done in %.1f s: %s", outcome.scenario_id, outcome.seconds, outcome.output_dir
        )
    else:
        logger.info("%s: %s (see %s)", outcome.scenario_id, outcome.message, outcome.output_dir)


class _Batch:
    """The batch process's bookkeeping: work folders, manifests, commits, outcomes."""

    def __init__(
        self,
        planned: Sequence[_Planned],
        notebooks: Sequence[Path],
        version: str,
        fingerprints: Mapping[str, str],
    ) -> None:
        self.planned = {plan.scenario.id: plan for plan in planned}
        self.notebooks = notebooks
        self.version = version
        self.fingerprints = fingerprints
        self.outcomes: dict[str, ScenarioOutcome] = {}
        self.jobs: dict[str, _Job] = {}
        #: Per scenario, the notebooks it skips and why (:func:`scale_test_skip`).
        self.skipped_notebooks: dict[str, dict[str, str]] = {}
        for plan in planned:
            reasons = {path.name: scale_test_skip(path, plan.scenario) for path in notebooks}
            self.skipped_notebooks[plan.scenario.id] = {
                name: reason for name, reason in reasons.items() if reason is not None
            }

    def notebooks_of(self, scenario_id: str) -> list[Path]:
        """The notebooks scenario ``scenario_id`` runs, in order."""
        skipped = self.skipped_notebooks[scenario_id]
        return [path for path in self.notebooks if path.name not in skipped]

    def skip(self, plan: _Planned, reason: str) -> None:
        self.outcomes[plan.scenario.id] = ScenarioOutcome(
            plan.scenario.id, plan.scenario_file, "skipped", plan.final_dir, message=reason
        )
        logger.info("%s: skipped, %s", plan.scenario.id, reason)

    def job(self, plan: _Planned, pipeline: str | PipelineFunction, kernel_name: str) -> _Job:
        work = create_work_dir(plan.final_dir)
        job = _Job(
            scenario_id=plan.scenario.id,
            scenario_file=str(plan.scenario_file),
            work_dir=str(work),
            notebooks=tuple(str(path) for path in self.notebooks_of(plan.scenario.id)),
            pipeline=pipeline,
            kernel_name=kernel_name,
        )
        self.jobs[plan.scenario.id] = job
        return job

    def finish(self, job: _Job, run: ScenarioRun) -> ScenarioOutcome:
        """Write the manifest and put the work folder in place (or in ``.failed``)."""
        plan, work = self.planned[job.scenario_id], Path(job.work_dir)
        seconds = float(run.timings_s.get("total", 0.0))
        work.mkdir(parents=True, exist_ok=True)
        status = "complete" if run.ok else "failed"
        try:
            write_manifest(self._manifest(plan, run, status), work)
            if run.ok:
                outcome = ScenarioOutcome(
                    plan.scenario.id,
                    plan.scenario_file,
                    "done",
                    commit_work_dir(work, plan.final_dir),
                    seconds,
                )
            else:
                if run.traceback:
                    (work / _TRACEBACK_FILE).parent.mkdir(parents=True, exist_ok=True)
                    (work / _TRACEBACK_FILE).write_text(run.traceback, encoding="utf-8")
                outcome = ScenarioOutcome(
                    plan.scenario.id,
                    plan.scenario_file,
                    "failed",
                    fail_work_dir(work, plan.final_dir),
                    seconds,
                    f"{run.failed_step}: {run.error}",
                )
        except (OSError, TypeError, ValueError) as exc:
            outcome = ScenarioOutcome(
                plan.scenario.id,
                plan.scenario_file,
                "failed",
                failed_dir_for(plan.final_dir),
                seconds,
                f"saving the output: {_one_line(exc)}",
            )
            if work.exists():
                fail_work_dir(work, plan.final_dir)
        self.outcomes[plan.scenario.id] = outcome
        _log_outcome(outcome)
        return outcome

    def _manifest(self, plan: _Planned, run: ScenarioRun, status: str) -> dict[str, Any]:
        return _manifest(
            plan,
            run=run,
            status=status,
            version=self.version,
            notebooks=self.notebooks_of(plan.scenario.id),
            fingerprints=self.fingerprints,
            skipped_notebooks=self.skipped_notebooks[plan.scenario.id],
        )

    def abandon_unfinished(self) -> None:
        """After an interruption: unfinished work goes to ``.failed``; never into place."""
        for scenario_id, job in self.jobs.items():
            if scenario_id in self.outcomes:
                continue
            plan, work = self.planned[scenario_id], Path(job.work_dir)
            if not work.exists():
                continue
            if not job.has_started():
                shutil.rmtree(work, ignore_errors=True)
                continue
            run = ScenarioRun(
                scenario_id=scenario_id,
                ok=False,
                failed_step="interrupted",
                error="the batch was interrupted",
                finished_at=_now(),
            )
            write_manifest(self._manifest(plan, run, "interrupted"), work)
            self.outcomes[scenario_id] = ScenarioOutcome(
                scenario_id,
                plan.scenario_file,
                "failed",
                fail_work_dir(work, plan.final_dir),
                message="interrupted",
            )

    def summary(self, seconds: float, workers: int, scheduler: str) -> BatchSummary:
        outcomes = [
            self.outcomes.get(scenario_id)
            or ScenarioOutcome(
                scenario_id, plan.scenario_file, "failed", plan.final_dir, message="not run"
            )
            for scenario_id, plan in self.planned.items()
        ]
        return BatchSummary(tuple(outcomes), seconds, workers, scheduler)


class _InterruptRaiser:
    """While active (main thread only), SIGTERM and SIGINT raise :class:`BatchInterrupted`.

    Only the first signal raises; later ones are ignored so that the clean-up after an
    interruption (stopping workers, moving work folders aside) is not cut short. Inside
    :meth:`deferred` (a scenario's manifest and rename) the signal is raised after the block.
    """

    def __init__(self) -> None:
        self._previous: dict[int, Any] = {}
        self._raised = False
        self._deferring = 0
        self._pending: int | None = None

    def __enter__(self) -> _InterruptRaiser:
        if threading.current_thread() is threading.main_thread():
            for signum in (signal.SIGINT, signal.SIGTERM):
                self._previous[signum] = signal.signal(signum, self._raise)
        return self

    def __exit__(self, *exc_info: object) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)

    @contextmanager
    def deferred(self) -> Iterator[None]:
        """A signal during the block is raised when the block has finished, not inside it."""
        self._deferring += 1
        try:
            yield
        finally:
            self._deferring -= 1
        if not self._deferring and self._pending is not None:
            signum, self._pending = self._pending, None
            raise BatchInterrupted(signum)

    def _raise(self, signum: int, frame: FrameType | None) -> None:
        if self._raised:
            return
        self._raised = True
        if self._deferring:
            self._pending = signum
            return
        raise BatchInterrupted(signum)


def _check_picklable(pipeline: PipelineFunction) -> None:
    """Spawned workers import the pipeline by name: ``__main__`` and lambdas cannot travel."""
    try:
        if getattr(pipeline, "__module__", None) == "__main__":
            raise pickle.PicklingError("it is defined in __main__ (a script or a notebook)")
        pickle.dumps(pipeline)
    except Exception as exc:
        raise InputError.single(
            "pipeline",
            getattr(pipeline, "__qualname__", repr(pipeline)),
            "must be importable by worker processes",
            fix=f"Pass it as 'module:function' from an importable module ({_one_line(exc)}).",
        ) from None


def _runner(scheduler: str | None, workers: int) -> _ProcessPoolRunner | _DaskRunner:
    if scheduler is None:
        return _ProcessPoolRunner(workers)
    return _DaskRunner(scheduler, workers)


@contextmanager
def _code_version_pinned(version: str) -> Iterator[None]:
    """Workers and kernels started inside inherit ``version`` (see CODE_VERSION_ENV)."""
    previous = os.environ.get(CODE_VERSION_ENV)
    os.environ[CODE_VERSION_ENV] = version
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop(CODE_VERSION_ENV, None)
        else:
            os.environ[CODE_VERSION_ENV] = previous


def run_batch(
    scenarios: Iterable[str | Path],
    notebooks: Iterable[str | Path] = (),
    *,
    outputs: str | Path = "outputs",
    workers: int | None = None,
    scheduler: str | None = None,
    resume: bool = False,
    pipeline: str | PipelineFunction = DEFAULT_PIPELINE,
    kernel_name: str = DEFAULT_KERNEL,
    progress: bool = False,
) -> BatchSummary:
    """Run the pipeline and the notebooks for each scenario into ``outputs/<scenario>/``.

    Parameters
    ----------
    scenarios:
        Scenario files (or bare ids, looked up in ``scenarios/``).
    notebooks:
        Notebook files or folders (folders stand for their ``*.ipynb``), run in this order for
        every scenario. None: the pipeline only.
    outputs:
        The outputs folder.
    workers:
        Worker processes, each running one step at a time (default: CPU cores, at most one
        per scenario).
    scheduler:
        None: a local process pool. ``"local"``: a new Dask ``LocalCluster`` with ``workers``
        single-threaded worker processes. Otherwise the address of a running Dask scheduler
        (``tcp://host:8786``); its workers must see the same files (shared filesystem) and have
        fupinsim installed.
    resume:
        Keep a scenario's existing output when its ``manifest.json`` says the run completed with
        the same ``scenario_hash``, ``code_version`` (:func:`fupinsim.io.outputs.code_version`)
        and notebook cells (:func:`notebook_fingerprint`).
    pipeline:
        ``"module:function"`` (travels best to workers) or a function
        ``(scenario, folder) -> manifest fields``; see ``docs/contracts.md``.
    kernel_name:
        See :func:`execute_notebook`.
    progress:
        Show a progress bar on stderr.

    Returns
    -------
    BatchSummary
        One :class:`ScenarioOutcome` per scenario; a failed scenario does not stop the others.

    Raises
    ------
    InputError
        Before anything runs: a scenario that does not load, two scenarios with the same id, a
        notebook that breaks the parameter contract (:func:`check_notebook_parameters`), a
        pipeline that cannot be imported, Dask missing or unreachable.
    BatchInterrupted
        SIGINT or SIGTERM; unfinished scenarios went to ``.failed`` and ``summary`` says what
        finished.
    """
    started = perf_counter()
    batch, runner = _checked_batch(scenarios, notebooks, outputs, workers, scheduler, pipeline)
    n_workers, outputs_dir = runner.workers, Path(outputs).resolve()
    counter = _step_counter(batch, pipeline)
    with (
        outputs_lock(outputs_dir),
        _code_version_pinned(batch.version),
        _InterruptRaiser() as interrupts,
        progress_bar(counter.total, progress) as counter.bar,
    ):
        clean_stale_work_dirs(outputs_dir)
        try:
            _run_planned(batch, runner, interrupts, resume, pipeline, kernel_name, counter)
        except BatchInterrupted as exc:
            batch.abandon_unfinished()
            exc.summary = batch.summary(perf_counter() - started, n_workers, runner.label)
            raise
        except BaseException:
            batch.abandon_unfinished()
            raise
    return batch.summary(perf_counter() - started, n_workers, runner.label)


def _checked_batch(
    scenarios: Iterable[str | Path],
    notebooks: Iterable[str | Path],
    outputs: str | Path,
    workers: int | None,
    scheduler: str | None,
    pipeline: str | PipelineFunction,
) -> tuple[_Batch, _Runner]:
    """Check everything before anything runs; then the batch's bookkeeping and its idle runner.

    Also creates the outputs folder.
    """
    notebook_paths = _resolve_notebooks(notebooks)
    for path in notebook_paths:
        check_notebook_parameters(path, NOTEBOOK_PARAMETERS)
    resolve_pipeline(pipeline)
    planned = _plan_scenarios(scenarios, Path(outputs).resolve())
    if workers is not None and workers < 1:
        raise InputError.single("workers", workers, "must be at least 1")
    n_workers = max(1, min(workers or os.cpu_count() or 1, len(planned)))
    if scheduler is None and callable(pipeline):
        _check_picklable(pipeline)
    runner = _runner(scheduler, n_workers)  # checks that Dask is installed, starts nothing
    fingerprints = {path.name: notebook_fingerprint(path) for path in notebook_paths}
    try:
        Path(outputs).resolve().mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise not_writable(Path(outputs), exc) from None
    return _Batch(planned, notebook_paths, code_version(), fingerprints), runner


def _step_counter(batch: _Batch, pipeline: str | PipelineFunction) -> StepProgress:
    stages = {sid: pipeline_stages(pipeline, plan.scenario) for sid, plan in batch.planned.items()}
    notebooks = {sid: len(batch.notebooks_of(sid)) for sid in batch.planned}
    return StepProgress(stages, notebooks)


def _run_planned(
    batch: _Batch,
    runner: _Runner,
    interrupts: _InterruptRaiser,
    resume: bool,
    pipeline: str | PipelineFunction,
    kernel_name: str,
    counter: StepProgress,
) -> None:
    """Skip what ``resume`` may keep, then run the other scenarios' steps on ``runner``."""
    to_run = []
    for plan in batch.planned.values():
        own = {p.name: batch.fingerprints[p.name] for p in batch.notebooks_of(plan.scenario.id)}
        reason = _skip_reason(plan, batch.version, own) if resume else None
        if reason is None:
            to_run.append(plan)
        else:
            batch.skip(plan, reason)
            counter.scenario_finished(plan.scenario.id, ok=True)
    if not to_run:
        return
    jobs = [batch.job(plan, pipeline, kernel_name) for plan in to_run]

    def chain_done(job: _Job, results: Sequence[_StepResult]) -> None:
        with interrupts.deferred():  # a scenario's manifest and rename are never cut short
            outcome = batch.finish(job, _scenario_run(job, results))
        counter.scenario_finished(job.scenario_id, ok=outcome.status != "failed")

    def step_done(task: _Task, result: _StepResult) -> None:
        if result.ok:
            counter.step_finished(task)

    with runner:
        run_steps(
            runner,
            jobs,
            chain_done,
            step_done=step_done,
            tick=counter.poll if not counter.bar.disable else None,
        )

"""Step scheduling: which step runs next, and retrying a step whose worker died.

A scenario is a chain of steps: 0 is the pipeline, k the k-th notebook. Steps of one scenario
run in order, one at a time, but consecutive steps may run in different workers: with whole
scenarios as jobs, 5 scenarios on 2 workers could never take less than 3/5 of the time of one
worker; with steps as jobs the workers stay busy until the end.
"""

from __future__ import annotations

import shutil
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TypeAlias

from fupinsim.batch.dask import _DaskRunner
from fupinsim.batch.local import _ProcessPoolRunner
from fupinsim.batch.steps import _RUN_LOG, _Job, _StepResult, _Task

_Runner: TypeAlias = _ProcessPoolRunner | _DaskRunner
_MAX_LOSSES_BEFORE_START = 3


def _clear_for_retry(task: _Task) -> None:
    """Before a pipeline runs again, remove what its first attempt wrote (not the logs)."""
    if task.step != 0:
        return
    work = Path(task.job.work_dir)
    for entry in work.iterdir():
        if entry.name == _RUN_LOG.parts[0]:
            continue
        if entry.is_dir():
            shutil.rmtree(entry)
        else:
            entry.unlink()


def _submit_next(
    runner: _Runner,
    ready: list[_Task],
    suspects: list[_Task],
    order: Mapping[str, int],
) -> None:
    """Give the runner what it can take now: one suspect alone, or ready steps."""
    if runner.isolated and runner.in_flight:
        return
    if suspects:
        if not runner.in_flight:
            runner.isolate(True)
            runner.submit(suspects.pop(0))
        return
    runner.isolate(False)
    ready.sort(key=lambda task: (task.step - task.job.n_steps, order[task.job.scenario_id]))
    while ready and runner.in_flight < runner.workers:
        runner.submit(ready.pop(0))


def _after_lost_worker(
    task: _Task,
    ready: list[_Task],
    suspects: list[_Task],
    losses: Counter[tuple[str, int, bool]],
) -> _StepResult | None:
    """Decide about a step whose worker process died: run it again, or fail it.

    A step that had not started was only caught in another step's crash (a dying worker takes
    the whole pool down): it goes back in line. A step that had started is run once more,
    alone in a fresh pool, so that a step that kills its worker cannot take others with it.
    """
    started = task.has_started()
    losses[(*task.key, started)] += 1
    if not started:
        if losses[(*task.key, started)] <= _MAX_LOSSES_BEFORE_START:
            ready.append(task)
            return None
        return _StepResult(ok=False, error="worker processes died before it could start")
    if losses[(*task.key, started)] == 1:
        _clear_for_retry(task)
        suspects.append(task)
        return None
    return _StepResult(ok=False, error="its worker process died twice (killed, or out of memory?)")


def run_steps(
    runner: _Runner,
    jobs: Sequence[_Job],
    chain_done: Callable[[_Job, Sequence[_StepResult]], None],
    *,
    step_done: Callable[[_Task, _StepResult], None] | None = None,
    tick: Callable[[Sequence[_Task]], None] | None = None,
    tick_s: float = 0.5,
) -> None:
    """Run every job's steps on ``runner``; call ``chain_done`` as each scenario's chain ends.

    Ready steps go to the runner with the scenarios that have the most steps left first,
    so the workers stay busy until the end. A step whose worker died (``None`` result) is
    run again alone in a fresh worker; if it dies again, its scenario fails. ``chain_done``
    gets the results of the steps that ran: all of them, or up to the one that failed.
    ``step_done`` is called with each step's final result, ``tick`` every ``tick_s`` seconds
    while steps run, with the steps in flight (progress display).
    """
    order = {job.scenario_id: index for index, job in enumerate(jobs)}
    results: dict[str, list[_StepResult]] = {job.scenario_id: [] for job in jobs}
    ready = [_Task(job, 0) for job in jobs]
    suspects: list[_Task] = []
    losses: Counter[tuple[str, int, bool]] = Counter()
    while ready or suspects or runner.in_flight:
        _submit_next(runner, ready, suspects, order)
        done = runner.next_done(tick_s if tick is not None else None)
        if done is None:
            if tick is not None:
                tick(runner.running())
            continue
        task, result = done
        if result is None:
            result = _after_lost_worker(task, ready, suspects, losses)
            if result is None:
                continue
        results[task.job.scenario_id].append(result)
        if step_done is not None:
            step_done(task, result)
        if result.ok and task.step + 1 < task.job.n_steps:
            ready.append(_Task(task.job, task.step + 1))
        else:
            chain_done(task.job, results[task.job.scenario_id])

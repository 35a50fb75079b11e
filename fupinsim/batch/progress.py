"""The batch's progress bar: steps (pipeline stages and notebooks) across scenarios.

The total is known before anything runs: for each scenario, the stages its pipeline reports
(:func:`pipeline_stages`; one step for a pipeline that reports none) plus one per notebook. A
pipeline runs in a worker process; the stages it has started are read from its work folder's
``logs/run.log`` while it runs (:func:`fupinsim.batch.steps.stages_started`), which works the
same for the process pool and for a Dask cluster on a shared filesystem. A stage the pipeline
skips (the closed loop ending early) counts as done when a later one starts; a scenario that
fails or is skipped counts all its steps, so the bar always ends at its total.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from fupinsim.batch.steps import PipelineFunction, _Task, resolve_pipeline, stages_started
from fupinsim.scenario import Scenario

__all__ = ["StepProgress", "pipeline_stages", "progress_bar"]


def pipeline_stages(pipeline: str | PipelineFunction, scenario: Scenario) -> tuple[str, ...]:
    """The stages a pipeline hook reports for ``scenario``, in order (empty: it reports none).

    A hook announces them with a ``stages(scenario)`` attribute (as
    :func:`fupinsim.io.run.run_to_directory` does) and reports them through its ``step``
    keyword argument.
    """
    stages = getattr(resolve_pipeline(pipeline), "stages", None)
    return tuple(stages(scenario)) if callable(stages) else ()


class StepProgress:
    """Counts the finished steps of every scenario of a batch on a tqdm bar.

    Parameters
    ----------
    stages:
        Scenario id → the stages its pipeline reports (:func:`pipeline_stages`).
    notebooks:
        Scenario id → the notebooks it runs (a registered-only scenario skips some).

    Attributes
    ----------
    bar:
        The ``tqdm`` bar over :attr:`total` steps, set before the first count.
    """

    def __init__(self, stages: Mapping[str, Sequence[str]], notebooks: Mapping[str, int]) -> None:
        self.bar: Any = None
        self.stages = {scenario_id: tuple(names) for scenario_id, names in stages.items()}
        self.notebooks = dict(notebooks)
        self.done = dict.fromkeys(self.stages, 0)
        self.failed = 0

    @property
    def total(self) -> int:
        """Steps of the whole batch."""
        return sum(self._units(scenario_id) for scenario_id in self.stages)

    def _units(self, scenario_id: str) -> int:
        return self._pipeline_units(scenario_id) + self.notebooks[scenario_id]

    def _pipeline_units(self, scenario_id: str) -> int:
        return max(1, len(self.stages[scenario_id]))

    def _set(self, scenario_id: str, done: int) -> None:
        self.done[scenario_id] = max(self.done[scenario_id], min(done, self._units(scenario_id)))
        self.bar.update(sum(self.done.values()) - self.bar.n)

    def scenario_finished(self, scenario_id: str, ok: bool) -> None:
        """A scenario ended (done, failed or skipped): all its steps count."""
        self.failed += not ok
        self._set(scenario_id, self._units(scenario_id))
        if self.failed:
            self.bar.set_postfix(failed=self.failed)

    def step_finished(self, task: _Task) -> None:
        """A step of a scenario ended."""
        done = self._pipeline_units(task.job.scenario_id) + task.step
        self._set(task.job.scenario_id, done)

    def poll(self, running: Sequence[_Task]) -> None:
        """Count the stages that running pipelines have started since the last poll."""
        for task in running:
            names = self.stages[task.job.scenario_id]
            if task.step != 0 or not names:
                continue
            started = _stage_index(names, stages_started(task.job.work_dir))
            if started:
                current = f"{task.job.scenario_id}: {names[max(started)]}"
                self.bar.set_postfix_str(current, refresh=False)
                self._set(task.job.scenario_id, max(started))


def _stage_index(names: Sequence[str], seen: Sequence[str]) -> list[int]:
    return [names.index(name) for name in seen if name in names]


@contextmanager
def progress_bar(total: int, enabled: bool) -> Iterator[Any]:
    """A tqdm bar on stderr over ``total`` steps, with messages of ``fupinsim`` loggers above it."""
    from tqdm import tqdm
    from tqdm.contrib.logging import logging_redirect_tqdm

    from fupinsim.io.logs import PACKAGE_LOGGER

    with (
        tqdm(total=total, unit="step", desc="batch", file=sys.stderr, disable=not enabled) as bar,
        logging_redirect_tqdm([logging.getLogger(PACKAGE_LOGGER)]),
    ):
        yield bar

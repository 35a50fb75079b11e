"""Steps on a Dask cluster: a new ``LocalCluster`` or a running scheduler (``fupinsim[dask]``)."""

from __future__ import annotations

import itertools
import time
from pathlib import Path
from types import TracebackType
from typing import Any

from fupinsim.batch.steps import _run_step, _StepResult, _Task
from fupinsim.batch.summary import _one_line, _workers_text
from fupinsim.errors import InputError


def _import_distributed() -> Any:
    try:
        import distributed
    except ImportError:
        raise InputError.single(
            "--scheduler",
            "dask",
            "needs Dask distributed, an optional extra",
            fix="Install it with `pip install 'fupinsim[dask]'`, or leave out --scheduler to "
            "use the built-in process pool.",
        ) from None
    return distributed


_POLL_S = 0.05


class _DaskRunner:
    """Steps on a Dask cluster: a new ``LocalCluster`` (``"local"``) or one at an address."""

    def __init__(self, scheduler: str, workers: int) -> None:
        self.scheduler = scheduler
        self.workers = workers
        self.isolated = False
        self.label = (
            f"Dask LocalCluster of {_workers_text(workers)}"
            if scheduler == "local"
            else f"Dask cluster at {scheduler}"
        )
        self._distributed = _import_distributed()
        self._cluster: Any = None
        self._client: Any = None
        self._completed: Any = None
        self._futures: dict[Any, _Task] = {}
        self._count = itertools.count()

    def __enter__(self) -> _DaskRunner:
        distributed = self._distributed
        try:
            if self.scheduler == "local":
                self._cluster = distributed.LocalCluster(
                    n_workers=self.workers,
                    threads_per_worker=1,
                    processes=True,
                    dashboard_address=None,
                )
                self._client = distributed.Client(self._cluster)
            else:
                self._client = distributed.Client(self.scheduler, timeout="15s")
                self.workers = max(1, sum(self._client.nthreads().values()))
        except (OSError, TimeoutError, ValueError) as exc:
            self.__exit__(type(exc), exc, None)
            raise InputError.single(
                "--scheduler",
                self.scheduler,
                "must be 'local' or the address of a running Dask scheduler (tcp://host:8786)",
                fix=f"Could not connect: {exc}",
            ) from None
        self._completed = distributed.as_completed()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._client is not None:
            if kind is not None and self._futures:
                self._client.cancel(list(self._futures))
            self._client.close()
        if self._cluster is not None:
            self._cluster.close()
        self._client = self._cluster = None

    @property
    def in_flight(self) -> int:
        return len(self._futures)

    def isolate(self, alone: bool) -> None:
        """Dask retries steps of dead workers itself; nothing to do here."""

    def submit(self, task: _Task) -> None:
        key = f"fupinsim-{Path(task.job.work_dir).name}-step{task.step}-{next(self._count)}"
        future = self._client.submit(_run_step, task, pure=False, key=key)
        self._futures[future] = task
        self._completed.add(future)

    def running(self) -> list[_Task]:
        """The steps submitted and not yet reported."""
        return list(self._futures.values())

    def next_done(self, timeout: float | None = None) -> tuple[_Task, _StepResult | None] | None:
        """The next finished step and its result; ``None`` if none finished within ``timeout``."""
        if timeout is not None:
            deadline = time.monotonic() + timeout
            while not self._completed.has_ready():
                if time.monotonic() >= deadline:
                    return None
                time.sleep(_POLL_S)
        future = next(self._completed)
        task = self._futures.pop(future)
        try:
            return task, future.result()
        except Exception as exc:  # the worker died too often, or the cluster went away
            return task, _StepResult(ok=False, error=f"the Dask worker failed: {_one_line(exc)}")

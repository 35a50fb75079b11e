"""Steps in a local ``spawn`` process pool (the default back end).

``spawn``, not ``fork``: HiGHS fails in forked children of a parent that ran it.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
import time
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from types import TracebackType

from fupinsim.batch.steps import _run_step, _StepResult, _Task
from fupinsim.batch.summary import _one_line, _workers_text

_STOP_TIMEOUT_S = 10.0
_PARENT_POLL_S = 0.5


def _init_pool_worker(parent_pid: int) -> None:
    # Ctrl-C reaches the whole process group; the batch process decides what stops.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    watch = threading.Thread(
        target=_exit_with_parent, args=(parent_pid,), name="fupinsim-parent-watch", daemon=True
    )
    watch.start()


def _exit_with_parent(parent_pid: int) -> None:
    """End this worker (and its kernels) soon after the batch process has died.

    A batch killed hard (SIGKILL, out of memory) cannot stop its workers; without this they
    would go on computing into work folders nobody will commit, and keep their kernels alive.
    """
    while os.getppid() == parent_pid:
        time.sleep(_PARENT_POLL_S)
    import psutil

    try:
        children = psutil.Process().children(recursive=True)
    except psutil.Error:
        children = []
    for child in children:
        try:
            child.kill()
        except psutil.Error:
            continue
    os._exit(1)


class _ProcessPoolRunner:
    """Steps in a ``spawn`` process pool. ``None`` as a result: the step's worker died."""

    def __init__(self, workers: int) -> None:
        self.workers = workers
        self.label = f"process pool of {_workers_text(workers)}"
        self.isolated = False
        self._pool: ProcessPoolExecutor | None = None
        self._broken = False
        self._futures: dict[Future[_StepResult], _Task] = {}

    def __enter__(self) -> _ProcessPoolRunner:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._pool is not None and kind is not None:
            self._stop_workers(self._pool)
        self._close_pool()

    @property
    def in_flight(self) -> int:
        return len(self._futures)

    def isolate(self, alone: bool) -> None:
        """Run steps one at a time in a fresh pool (to retry a step whose worker died) or not."""
        if alone != self.isolated:
            self._close_pool()
            self.isolated = alone

    def submit(self, task: _Task) -> None:
        if self._pool is None or self._broken:
            self._close_pool()
            size = 1 if self.isolated else self.workers
            context = multiprocessing.get_context("spawn")
            self._pool = ProcessPoolExecutor(
                size,
                mp_context=context,
                initializer=_init_pool_worker,
                initargs=(os.getpid(),),
            )
        self._futures[self._pool.submit(_run_step, task)] = task

    def running(self) -> list[_Task]:
        """The steps submitted and not yet reported (running, or waiting for a worker)."""
        return list(self._futures.values())

    def next_done(self, timeout: float | None = None) -> tuple[_Task, _StepResult | None] | None:
        """The next finished step and its result (``None`` result: its worker died).

        ``None`` when no step finished within ``timeout`` seconds.
        """
        done, _ = wait(self._futures, timeout=timeout, return_when=FIRST_COMPLETED)
        if not done:
            return None
        future = next(iter(done))
        task = self._futures.pop(future)
        try:
            return task, future.result()
        except BrokenProcessPool:
            self._broken = True
            return task, None
        except Exception as exc:  # e.g. the step could not be sent to the worker
            return task, _StepResult(ok=False, error=f"could not run in a worker: {_one_line(exc)}")

    def _close_pool(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
        self._pool, self._broken = None, False

    @staticmethod
    def _stop_workers(pool: ProcessPoolExecutor) -> None:
        """Terminate the pool's workers and their kernels, then make sure they are gone."""
        import psutil

        # ProcessPoolExecutor has no public way to stop running jobs before Python 3.14.
        workers = list((getattr(pool, "_processes", None) or {}).values())
        manager = getattr(pool, "_executor_manager_thread", None)
        pool.shutdown(wait=False, cancel_futures=True)
        tree: list[psutil.Process] = []
        for worker in workers:
            try:
                process = psutil.Process(worker.pid)
                tree += [process, *process.children(recursive=True)]
            except psutil.Error:
                continue
        for process in tree:
            try:
                process.terminate()
            except psutil.Error:
                continue
        _, alive = psutil.wait_procs(tree, timeout=_STOP_TIMEOUT_S)
        for process in alive:
            try:
                process.kill()
            except psutil.Error:
                continue
        psutil.wait_procs(alive, timeout=_STOP_TIMEOUT_S)
        # Wait for the pool's manager thread to see its workers gone and close its pipes. Python
        # 3.11's exit hook writes to those pipes unlocked: left running, the thread can close
        # them under it and Python prints "OSError: Bad file descriptor" on the way out.
        if manager is not None and manager.is_alive():
            manager.join(timeout=_STOP_TIMEOUT_S)

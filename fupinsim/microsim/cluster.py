"""Work units on a Dask cluster, results back in the order given.

Used when one machine is not enough: ``"local"`` starts a ``distributed.LocalCluster`` of
worker *processes* (one thread each, a memory limit per worker, so a runaway chunk is
restarted by its nanny instead of taking the machine down), any other value is the address of
a running scheduler (``tcp://host:8786``). A unit is a function and small arguments (the
national runs send (scenario, plan, chunk number)); workers return partial results only.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator
from typing import Any, TypeVar

from fupinsim.errors import InputError

__all__ = ["dask_in_order"]

logger = logging.getLogger(__name__)

T = TypeVar("T")


def _client(scheduler: str, workers: int, worker_memory: str) -> tuple[Any, Any]:
    """(client, cluster or None) for ``scheduler``; a clear error when it cannot connect."""
    try:
        import distributed  # noqa: PLC0415 - heavy; only when a cluster is asked for
    except ImportError:  # pragma: no cover - distributed is a dependency
        raise InputError.single(
            "--scheduler", scheduler, "needs the 'distributed' package (pip install distributed)"
        ) from None
    try:
        if scheduler == "local":
            cluster = distributed.LocalCluster(
                n_workers=max(1, workers),
                threads_per_worker=1,
                processes=True,
                memory_limit=worker_memory,
                dashboard_address=None,
            )
            return distributed.Client(cluster), cluster
        return distributed.Client(scheduler, timeout="15s"), None
    except (OSError, TimeoutError, ValueError) as exc:
        raise InputError.single(
            "--scheduler",
            scheduler,
            "must be 'local' or the address of a running Dask scheduler (tcp://host:8786)",
            fix=f"Could not connect: {exc}",
        ) from None


def dask_in_order(
    scheduler: str,
    calls: Iterable[tuple[Callable[..., T], tuple[Any, ...]]],
    workers: int,
    worker_memory: str = "3GiB",
    progress: Callable[[int, int], None] | None = None,
    total: int | None = None,
) -> Iterator[T]:
    """Results of each ``function(*args)`` run on the cluster, in the order given.

    At most ``2 × workers`` units are in flight (memory bounded on the client too); a result
    is released on the cluster as soon as it has been fetched.
    """
    client, cluster = _client(scheduler, workers, worker_memory)
    try:
        slots = 2 * max(1, sum(client.nthreads().values()))
        logger.info("Dask %s: %s worker threads", scheduler, slots // 2)
        pending: list[Any] = []
        done = 0
        for function, args in calls:
            pending.append(client.submit(function, *args, pure=False))
            while len(pending) >= slots:
                future = pending.pop(0)
                yield future.result()
                future.release()
                done += 1
                if progress and total:
                    progress(done, total)
        for future in pending:
            yield future.result()
            future.release()
            done += 1
            if progress and total:
                progress(done, total)
    finally:
        client.close()
        if cluster is not None:
            cluster.close()

"""Where evaluations run: in this process, in worker processes, or on a Dask cluster.

All three hand back futures with ``done()``, ``result()`` and ``cancel()``, so the search loop polls
them the same way and can stop within a fraction of a second. Worker processes are started with
``spawn`` (a GUI process holds threads that ``fork`` would copy half-locked). Dask: a scheduler
address connects to a running cluster; without one a :class:`LocalCluster` of ``workers`` processes
is started and closed with the pool. A scheduler that does not answer within ``timeout`` seconds is
a :class:`ParameterError` naming the address.
"""
from __future__ import annotations

import concurrent.futures as cf
import multiprocessing
from typing import Callable, Optional

from ..errors import ParameterError, require

#: Seconds to wait for a Dask scheduler before saying it does not answer.
SCHEDULER_TIMEOUT_S = 3.0


class _SerialPool:
    """Runs each call at submit time (one at a time: the caller polls between submits)."""

    capacity = 1
    in_process = True

    def check(self) -> None:
        pass

    def submit(self, fn: Callable, *args) -> cf.Future:
        future: cf.Future = cf.Future()
        try:
            future.set_result(fn(*args))
        except Exception as exc:  # noqa: BLE001 - handed to whoever reads the future
            future.set_exception(exc)
        return future

    def close(self) -> None:
        pass


class _ProcessPool:
    in_process = False

    def __init__(self, workers: int):
        self.capacity = workers
        self._pool = cf.ProcessPoolExecutor(max_workers=workers,
                                            mp_context=multiprocessing.get_context("spawn"))

    def check(self) -> None:
        pass  # a dead worker process breaks the pool, which fails the futures

    def submit(self, fn: Callable, *args):
        return self._pool.submit(fn, *args)

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)


class _DaskPool:
    in_process = False

    def __init__(self, scheduler: Optional[str], workers: int, timeout: float):
        from dask.distributed import Client, LocalCluster  # noqa: PLC0415

        self._cluster = None
        if scheduler:
            try:
                self._client = Client(scheduler, timeout=f"{timeout}s", set_as_default=False)
            except (OSError, TimeoutError, ValueError) as exc:
                raise ParameterError("scheduler", f"no Dask scheduler answered at {scheduler} within "
                                     f"{timeout:g} s ({type(exc).__name__}); check the address "
                                     "(tcp://host:8786) and that the scheduler runs") from None
        else:
            self._cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                         dashboard_address=None)
            self._client = Client(self._cluster, set_as_default=False)
        self._address = self._client.scheduler.address
        n = len(self._client.scheduler_info().get("workers", {}))
        self.capacity = max(2 * max(n, 1), workers)

    def check(self) -> None:
        """Raise if the scheduler went away: its futures would otherwise wait for ever."""
        if self._client.status != "running":
            raise ConnectionError(f"lost the Dask scheduler at {self._address} "
                                  f"(client {self._client.status})")

    def submit(self, fn: Callable, *args):
        return self._client.submit(fn, *args, pure=False)

    def close(self) -> None:
        self._client.close()
        if self._cluster is not None:
            self._cluster.close()


def make_pool(workers: int = 1, scheduler: Optional[str] = None, dask: bool = False,
              timeout: float = SCHEDULER_TIMEOUT_S):
    """A pool: serial for one worker, processes for more, Dask when ``dask`` or a scheduler is given."""
    require(isinstance(workers, int) and workers >= 1, "workers",
            f"needs a whole number ≥ 1, got {workers!r}")
    if scheduler is not None:
        require(isinstance(scheduler, str) and scheduler.strip() != "", "scheduler",
                f"needs an address such as tcp://host:8786, got {scheduler!r}")
    if dask or scheduler:
        return _DaskPool(scheduler, workers, timeout)
    if workers == 1:
        return _SerialPool()
    return _ProcessPool(workers)


__all__ = ["SCHEDULER_TIMEOUT_S", "make_pool"]

"""Where evaluations run: in this process, in worker processes, or on a Dask cluster.

All three hand back futures with ``done()``, ``result()`` and ``cancel()``, so the search loop polls
them the same way and can stop within a fraction of a second. Worker processes are started with
``spawn`` (a GUI process holds threads that ``fork`` would copy half-locked). Dask: a scheduler
address connects to a running cluster; without one a :class:`LocalCluster` of ``workers`` processes
is started and closed with the pool. A scheduler that does not answer within ``timeout`` seconds,
or an address where something else answers (a web server, Dask's dashboard), is a
:class:`ParameterError` naming the address, never a hang: Dask's own connect waits for ever on a
server that waits for a request, and reads an HTTP reply as a frame length of exabytes.
"""
from __future__ import annotations

import concurrent.futures as cf
import multiprocessing
import socket
import struct
import threading
import time
from typing import Callable, Optional

from ..errors import ParameterError, require

#: Seconds to wait for a Dask scheduler before saying it does not answer.
SCHEDULER_TIMEOUT_S = 3.0
#: Largest first frame header (bytes) a Dask scheduler's greeting can plausibly announce: its
#: handshake is a few hundred bytes; an HTTP reply read as a length is ~10¹⁸.
_MAX_GREETING = 1 << 20


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


def _not_dask(scheduler: str, detail: str) -> ParameterError:
    return ParameterError("scheduler", f"{scheduler} answered but is not a Dask scheduler ({detail}); "
                          "the dashboard is usually :8787, the scheduler :8786 (tcp://host:8786)")


def _no_answer(scheduler: str, timeout: float, why: str) -> ParameterError:
    return ParameterError("scheduler", f"no Dask scheduler answered at {scheduler} within "
                          f"{timeout:g} s ({why}); check the address (tcp://host:8786) and that "
                          "the scheduler runs")


def _probe(scheduler: str, timeout: float) -> None:
    """Check, with a plain socket and a deadline, that a Dask scheduler listens at a tcp address.

    A Dask server greets first: on accepting it sends its handshake, a frame whose first 8 bytes
    are a small length. A web server waits for a request (Dask's connect would wait with it for
    ever) or answers with text. Other schemes (tls://, ws://…) are left to the bounded connect.
    """
    from distributed.comm.addressing import parse_address, parse_host_port  # noqa: PLC0415

    try:
        scheme, location = parse_address(scheduler)
        if scheme != "tcp":
            return
        host, port = parse_host_port(location, 8786)
    except (ValueError, TypeError):
        raise ParameterError("scheduler", f"{scheduler!r} is not an address such as "
                                          "tcp://host:8786") from None
    deadline = time.monotonic() + timeout
    try:
        sock = socket.create_connection((host, port), timeout=timeout)
    except OSError as exc:  # refused, unreachable, no such host, or no answer in time
        raise _no_answer(scheduler, timeout, type(exc).__name__) from None
    with sock:
        header = _read_greeting(sock, deadline)
    if header is None:
        raise _not_dask(scheduler, f"it took the connection and sent no Dask greeting in {timeout:g} s")
    (length,) = struct.unpack("<Q", header)
    if not 0 < length <= _MAX_GREETING:
        raise _not_dask(scheduler, f"its first bytes were {header!r}")


def _read_greeting(sock: socket.socket, deadline: float) -> Optional[bytes]:
    """The first 8 bytes the server sends before ``deadline``; None if it closes or stays silent."""
    header = b""
    try:
        while len(header) < 8:
            sock.settimeout(max(deadline - time.monotonic(), 0.01))
            chunk = sock.recv(8 - len(header))
            if not chunk:
                return None
            header += chunk
    except OSError:  # socket.timeout is an OSError
        return None
    return header


def _bounded_client(scheduler: str, timeout: float):
    """``Client(scheduler)`` in a helper thread that is given up after a deadline.

    Whatever Dask does with a strange answer (waits, or allocates a frame of the length it
    read), the caller gets a client or a ParameterError within about ``2·timeout + 2`` s; a
    client that connects after it was given up is closed. The helper is a daemon thread, so a
    connect stuck inside Dask never keeps the process from exiting.
    """
    from dask.distributed import Client  # noqa: PLC0415

    box: dict = {}
    lock = threading.Lock()

    def connect():
        try:
            client = Client(scheduler, timeout=f"{timeout}s", set_as_default=False)
        except BaseException as exc:  # noqa: BLE001 - reported by the waiting thread
            box["error"] = exc
            return
        with lock:
            box["client"] = client
            abandoned = box.get("abandoned", False)
        if abandoned:
            client.close()

    helper = threading.Thread(target=connect, name="dask-connect", daemon=True)
    helper.start()
    helper.join(2 * timeout + 2.0)
    with lock:
        box["abandoned"] = "client" not in box
    if "client" in box:
        return box["client"]
    exc = box.get("error")
    if exc is None:
        raise _not_dask(scheduler, f"Dask's handshake did not finish in {2 * timeout + 2:g} s")
    if isinstance(exc, (OSError, TimeoutError)):
        raise _no_answer(scheduler, timeout, type(exc).__name__)
    raise _not_dask(scheduler, f"{type(exc).__name__} while connecting")


class _DaskPool:
    in_process = False

    def __init__(self, scheduler: Optional[str], workers: int, timeout: float):
        from dask.distributed import Client, LocalCluster  # noqa: PLC0415

        self._cluster = None
        if scheduler:
            _probe(scheduler, timeout)
            self._client = _bounded_client(scheduler, timeout)
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

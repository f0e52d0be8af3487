"""Progress and cancellation for long engine calls, without Qt.

Every long call takes ``progress`` and ``cancel`` keyword arguments:

* ``progress(fraction, message)`` is called with a fraction in [0, 1];
* ``cancel()`` returns True once the caller wants the work stopped.

Numba kernels cannot see a flag that changes while they run (the compiler hoists the read), so long
work is cut into chunks and :func:`chunked` checks ``cancel`` and reports progress between them.
A cancelled call raises :class:`Cancelled` and leaves its inputs untouched.
"""
from __future__ import annotations

import os
import threading
import time
from numbers import Integral
from typing import Callable, Iterator, Optional

import numpy as np

from .errors import require

ProgressFn = Callable[[float, str], None]
CancelFn = Callable[[], bool]


class Cancelled(Exception):
    """Raised inside an engine call when its ``cancel`` callback answered True."""


def check_cancel(cancel: Optional[CancelFn]) -> None:
    """Raise :class:`Cancelled` if the caller asked to stop."""
    if cancel is not None and cancel():
        raise Cancelled("cancelled by the user")


def report(progress: Optional[ProgressFn], fraction: float, message: str = "") -> None:
    """Send a progress fraction (clipped to [0, 1]) if anyone listens."""
    if progress is not None:
        progress(min(max(float(fraction), 0.0), 1.0), message)


def chunked(
    n: int,
    chunk: int,
    progress: Optional[ProgressFn] = None,
    cancel: Optional[CancelFn] = None,
    message: str = "",
    span: tuple[float, float] = (0.0, 1.0),
) -> Iterator[tuple[int, int]]:
    """Yield ``(start, stop)`` ranges covering ``range(n)`` in pieces of ``chunk``.

    Before each piece it checks ``cancel``; after each it reports progress mapped into ``span``,
    so one call can own part of a longer task's progress bar.
    """
    chunk = max(int(chunk), 1)
    lo, hi = span
    check_cancel(cancel)
    for start in range(0, n, chunk):
        check_cancel(cancel)
        stop = min(start + chunk, n)
        yield start, stop
        report(progress, lo + (hi - lo) * stop / max(n, 1), message)
    if n == 0:
        report(progress, hi, message)


def sub_progress(progress: Optional[ProgressFn], lo: float, hi: float) -> Optional[ProgressFn]:
    """A progress callback that maps [0, 1] into [lo, hi] of ``progress``."""
    if progress is None:
        return None

    def mapped(fraction: float, message: str = "") -> None:
        progress(lo + (hi - lo) * fraction, message)

    return mapped


def thread_count(threads: Optional[int], default: Optional[int] = None) -> int:
    """``threads`` checked, or ``default``, or one per core when both are None."""
    count = threads if threads is not None else (default or os.cpu_count() or 1)
    require(isinstance(count, Integral) and count >= 1, "threads",
            f"a whole number of threads, at least 1, got {count!r}")
    return int(count)


#: Groups of chunks :func:`run_phases` keeps queued per thread: enough that no thread waits for
#: work, few enough that Cancel is checked before a long queue is even handed out.
IN_FLIGHT_PER_THREAD = 2


def run_phases(phases, work, threads: int, progress: Optional[ProgressFn],
               cancel: Optional[CancelFn], message: str) -> None:
    """``work(chunk)`` for every chunk; phase after phase, the groups of chunks of one phase in
    up to ``threads`` threads at once (the kernels release the GIL), each group's chunks in
    order. ``cancel`` is checked and progress reported here, in the calling thread, between
    chunks (at least every 0.1 s); on cancel the running chunks finish and :class:`Cancelled`
    is raised."""
    total = max(sum(len(group) for phase in phases for group in phase), 1)
    if threads == 1 or all(len(phase) == 1 for phase in phases):  # nothing to run side by side
        done = 0
        for phase in phases:
            for group in phase:
                for chunk in group:
                    check_cancel(cancel)
                    work(chunk)
                    done += 1
                    report(progress, done / total, message)
        return
    from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait

    stop = threading.Event()
    done = []

    def run(group):
        for chunk in group:
            if stop.is_set():
                return
            work(chunk)
            done.append(chunk)

    # One BLAS thread per worker: a kernel's np.dot would otherwise start a BLAS thread per core
    # in every worker (SOAP diffusion model, 2 threads over 1: 1.4x -> 1.6-1.8x, grid 1.5x -> 2.2x).
    from threadpoolctl import threadpool_limits

    workers = min(threads, max(len(p) for p in phases))
    with threadpool_limits(1, user_api="blas"), ThreadPoolExecutor(workers) as pool:
        for phase in phases:
            # handed out a few at a time: submitting a phase's 5,555 grid groups at once kept
            # Cancel waiting ~0.25 s before its first check
            groups, pending = iter(phase), set()

            def top_up():
                while len(pending) < IN_FLIGHT_PER_THREAD * workers and not stop.is_set():
                    group = next(groups, None)
                    if group is None:
                        return
                    pending.add(pool.submit(run, group))

            top_up()
            reported = 0.0
            while pending:
                finished, pending = wait(pending, timeout=0.1, return_when=FIRST_COMPLETED)
                if any(f.exception() for f in finished):
                    stop.set()
                    wait(pending)
                    next(f for f in finished if f.exception()).result()
                if time.monotonic() - reported >= 0.1 or not pending:  # not at every one of 5,555
                    reported = time.monotonic()
                    report(progress, len(done) / total, message)
                if not stop.is_set() and cancel is not None and cancel():
                    stop.set()
                top_up()
            if stop.is_set():
                raise Cancelled("cancelled by the user")


#: Pieces per thread :func:`balanced_chunk` aims at: the last piece keeps one thread busy while
#: the others idle, so with k pieces per thread the cores stand idle at most ~1/k of the time.
PIECES_PER_THREAD = 4
#: Smallest piece :func:`balanced_chunk` cuts: fewer items are not worth a thread (a pool costs
#: ~0.1 ms; a NEB's few images stay in the calling thread).
SMALLEST_PIECE = 256


def balanced_chunk(n: int, chunk: int, threads: int) -> int:
    """A piece size no bigger than ``chunk`` that gives every thread about
    :data:`PIECES_PER_THREAD` pieces of ``n`` items, none under :data:`SMALLEST_PIECE` (a-SiO2/Cu
    SOAP energies of 20 000 points in pieces of 4096 on two threads: 3 pieces against 2, 1.6×
    instead of 2×)."""
    chunk = max(int(chunk), 1)
    if threads <= 1:
        return chunk
    return min(chunk, max(SMALLEST_PIECE, -(-int(n) // (PIECES_PER_THREAD * threads))))


def run_chunks(n: int, chunk: int, work, threads: int, progress: Optional[ProgressFn] = None,
               cancel: Optional[CancelFn] = None, message: str = "") -> None:
    """``work(start, stop)`` over ``range(n)`` in pieces of at most ``chunk``, up to ``threads``
    pieces at once (:func:`run_phases`; the pieces must write to separate places)."""
    pieces = [[piece] for piece in chunked(n, balanced_chunk(n, chunk, threads))]
    run_phases([pieces], lambda piece: work(*piece), threads, progress, cancel, message)
    if n == 0:
        report(progress, 1.0, message)


class CancelToken:
    """A thread-safe cancel flag; pass ``token.is_set`` as an engine call's ``cancel``."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def set(self) -> None:
        self._event.set()

    def is_set(self) -> bool:
        return self._event.is_set()

    __call__ = is_set


class StopFlag:
    """``cancel`` mirrored into ``flag`` (an int64 array of one), which a nogil numba kernel can
    read inside its loops: a watcher thread polls ``cancel`` every ``interval`` s while the
    ``with`` block runs and sets ``flag[0] = 1`` once it answers True. For kernels whose single
    step may run for minutes (a ring search from one atom of a close-packed metal), where
    checking between chunks is too late."""

    def __init__(self, cancel: Optional[CancelFn], interval: float = 0.05) -> None:
        self.flag = np.zeros(1, np.int64)
        self._cancel, self._interval = cancel, interval
        self._done = threading.Event()
        self._watcher = None

    def __enter__(self) -> np.ndarray:
        if self._cancel is not None:
            self._watcher = threading.Thread(target=self._watch, daemon=True, name="cancel watcher")
            self._watcher.start()
        return self.flag

    def _watch(self) -> None:
        while not self._done.wait(self._interval):
            if self._cancel():
                self.flag[0] = 1
                return

    def __exit__(self, *exc) -> bool:
        self._done.set()
        if self._watcher is not None:
            self._watcher.join()
        return False

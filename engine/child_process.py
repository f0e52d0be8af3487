"""Run one call in a child process, for library code that holds the GIL and cannot be cancelled.

gudhi computes a persistence diagram in C++ without releasing the GIL: in a thread of the window
it freezes the GUI for seconds, and Cancel must wait for it to end. In a child process the window
stays live, and Cancel ends the child at once. The child is started with ``spawn`` (a GUI process
holds threads that ``fork`` would copy half-locked), so ``fn`` must be importable by name and a
script calling this must be guarded by ``if __name__ == "__main__"``.

``fn(*args, progress)`` runs in the child; its progress reports and its result or exception come
back through a pipe.
"""
from __future__ import annotations

import multiprocessing
from typing import Callable, Optional

from .tasks import CancelFn, ProgressFn, check_cancel, report

#: Seconds between looks at ``cancel`` while the child works.
POLL_S = 0.05


def _child_main(conn, fn, args) -> None:
    def progress(fraction: float, message: str = "") -> None:
        conn.send(("progress", (fraction, message)))

    try:
        conn.send(("result", fn(*args, progress)))
    except BaseException as exc:  # noqa: BLE001 - handed to the parent to raise there
        conn.send(("error", exc))
    finally:
        conn.close()


def run_in_child(fn: Callable, args: tuple, progress: Optional[ProgressFn] = None,
                 cancel: Optional[CancelFn] = None):
    """``fn(*args, progress)`` in a spawned process; :class:`~.tasks.Cancelled` ends the child."""
    ctx = multiprocessing.get_context("spawn")
    receiver, sender = ctx.Pipe(duplex=False)
    process = ctx.Process(target=_child_main, args=(sender, fn, args), daemon=True)
    process.start()
    sender.close()
    try:
        while True:
            check_cancel(cancel)
            if not receiver.poll(POLL_S):
                continue
            try:
                kind, payload = receiver.recv()
            except EOFError:
                process.join(1.0)
                raise RuntimeError(f"the worker process computing {fn.__name__} ended without a "
                                   f"result (exit code {process.exitcode}): out of memory, or a "
                                   "script that started it is not guarded by "
                                   "if __name__ == '__main__'") from None
            if kind == "progress":
                report(progress, *payload)
            elif kind == "error":
                raise payload
            else:
                return payload
    finally:
        receiver.close()
        if process.is_alive():
            process.terminate()
        process.join(2.0)
        if process.is_alive():
            process.kill()
            process.join()

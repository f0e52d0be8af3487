"""The one exception every structure reader raises, so the GUI needs a single ``except``."""
from __future__ import annotations

import os
from typing import Optional


class StructureReadError(Exception):
    """A structure file could not be read: which file, which line (if known) and why.

    ``str(e)`` reads like ``"quartz.xyz, line 12: expected 3 coordinates, found 2"``, short
    enough for a dialog; ``e.path`` keeps the full path for a tooltip or a log.
    """

    def __init__(self, path, line: Optional[int], reason: str) -> None:
        self.path = os.fspath(path) if path is not None else None
        self.line = int(line) if line is not None else None
        self.reason = str(reason)
        super().__init__(self._message())

    def _message(self) -> str:
        name = os.path.basename(self.path) if self.path else "<structure>"
        where = f"{name}, line {self.line}" if self.line is not None else name
        return f"{where}: {self.reason}"

    def __str__(self) -> str:
        return self._message()

    def __reduce__(self):
        # Keep the three fields when the error crosses a process boundary (Dask, multiprocessing).
        return (type(self), (self.path, self.line, self.reason))

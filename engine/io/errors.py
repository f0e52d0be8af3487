"""The exception every structure reader raises, so the GUI needs a single ``except``."""
from __future__ import annotations

from amorpha.engine.errors import ReadError


class StructureReadError(ReadError):
    """A structure file could not be read: which file, which line (if known) and why.

    ``str(e)`` reads like ``"quartz.xyz, line 12: expected 3 coordinates, found 2"``, short
    enough for a dialog; ``e.path`` keeps the full path for a tooltip or a log.
    """

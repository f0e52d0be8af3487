"""The one exception type readers raise: which file, which line, what is wrong."""
from __future__ import annotations

import os
from typing import Optional


class ReadError(Exception):
    """A file could not be read. ``str()`` gives a sentence a person can act on."""

    def __init__(self, path: "os.PathLike[str] | str | None", line: Optional[int], reason: str):
        self.path = None if path is None else os.fspath(path)
        self.line = None if line is None else int(line)
        self.reason = str(reason)
        super().__init__(self.__str__())

    def __str__(self) -> str:
        return self.named_from(None)

    def named_from(self, root: "os.PathLike[str] | str | None") -> str:
        """The sentence with the file named from the folder ``root`` (``run3/Si2_core_edge.dat``:
        runs of a folder share file names), else by its own name."""
        where = os.path.basename(self.path) if self.path else "input"
        if self.path and root is not None:
            relative = os.path.relpath(self.path, root)
            where = where if relative.startswith("..") else relative.replace(os.sep, "/")
        if self.line is not None:
            where += f", line {self.line}"
        return f"{where}: {self.reason}"

    def __reduce__(self):
        # Keep the three fields when the error crosses a process boundary (Dask, multiprocessing).
        return (type(self), (self.path, self.line, self.reason))


class ParameterError(ValueError):
    """A parameter is out of range. ``str()`` names the parameter and what is allowed."""

    def __init__(self, parameter: str, reason: str):
        self.parameter = str(parameter)
        self.reason = str(reason)
        super().__init__(f"{self.parameter}: {self.reason}")

    def __reduce__(self):
        return (type(self), (self.parameter, self.reason))


def require(condition: bool, parameter: str, reason: str) -> None:
    """Raise :class:`ParameterError` for ``parameter`` unless ``condition`` holds."""
    if not condition:
        raise ParameterError(parameter, reason)


def is_number(text: "str | bytes") -> bool:
    """Whether ``text`` reads as a number (``float`` takes it: "1e-3", "nan", b"2.5")."""
    try:
        float(text)
    except (TypeError, ValueError):
        return False
    return True


def finite_number(value, parameter: str) -> float:
    """``value`` as a finite float, or :class:`ParameterError` naming ``parameter``."""
    import math

    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ParameterError(parameter, f"a number is needed, got {value!r}") from None
    require(math.isfinite(v), parameter, f"a finite number is needed, got {value!r}")
    return v

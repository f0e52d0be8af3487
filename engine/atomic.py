"""Atomic file writes: a crash, a kill or a full disk never leaves a half-written file.

Everything Amorpha saves (structures, spectra, models, projects) goes through :func:`atomic_write`:
the data goes to a temporary file beside the target, is flushed to disk, and is then renamed over
the target, so the previous version stays readable until the new one is complete.
"""
from __future__ import annotations

import contextlib
import csv
import math
import os
import tempfile
from pathlib import Path


def _umask() -> int:
    # Reading the umask by setting it is not thread-safe; Linux shows it in /proc instead.
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except OSError:
        pass
    umask = os.umask(0o022)
    os.umask(umask)
    return umask


@contextlib.contextmanager
def atomic_write(path, mode: str = "w", encoding: str | None = "utf-8"):
    """Open a temporary file for writing; on success it replaces ``path``, on error it is removed.

    The result gets the permissions a plain ``open(path, "w")`` would give (mkstemp makes 0600).
    """
    path = Path(path)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent or ".")
    except OSError as exc:  # named by the file asked for, not by the temporary beside it
        raise _about(exc, path) from None
    try:
        with os.fdopen(fd, mode, encoding=None if "b" in mode else encoding) as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(exc, OSError) and exc.filename == tmp:
            raise _about(exc, path) from None
        raise


def _about(exc: OSError, path: Path) -> OSError:
    """``exc`` naming ``path`` (a dialog said "No such file or directory: '.x.amorpha.599oscyr.tmp'")."""
    return type(exc)(exc.errno, exc.strerror, str(path))


class CountingWriter:
    """A text stream that calls ``tick(characters)`` every ``every`` characters written through it.

    ASE writes a whole frame in one call, line by line: this is where Cancel (a ``tick`` that
    raises) and progress get in while it writes 10⁶ atoms."""

    def __init__(self, text, tick, every: int = 8 * 2**20):
        self.text, self._tick, self._every, self._pending = text, tick, every, 0

    def write(self, s: str) -> int:
        n = self.text.write(s)
        self._pending += n
        if self._pending >= self._every:
            self.count_pending()
        return n

    def count_pending(self) -> None:
        """Tick for what was written since the last tick."""
        pending, self._pending = self._pending, 0
        self._tick(pending)

    def __getattr__(self, name):
        return getattr(self.text, name)


def extxyz_columns(atoms) -> int:
    """Numbers per atom in an extended xyz line: one per per-atom array element."""
    return sum(math.prod(a.shape[1:]) for a in atoms.arrays.values())


#: Characters ASE's extxyz writer takes per number, by dtype kind (" %16.8f", " %8d", "  T").
_EXTXYZ_WIDTH = {"f": 17, "i": 9, "u": 9, "b": 3}


def extxyz_characters(atoms) -> int:
    """About how many characters a frame takes in extended xyz: the symbol (for ``numbers``), the
    columns at ASE's widths, the newline."""
    per_atom = 3 + sum(math.prod(a.shape[1:]) * _EXTXYZ_WIDTH.get(a.dtype.kind, 17)
                       for name, a in atoms.arrays.items() if name != "numbers")
    return len(atoms) * per_atom


def write_table(path, comments, header, rows) -> None:
    """A CSV table after ``# comment`` lines, written atomically: the CLI's files and the
    windows' Save buttons share this layout."""
    with atomic_write(path, "w") as handle:
        for line in comments:
            handle.write(f"# {line}\n")
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)


def write_bytes_atomic(path, data: bytes) -> None:
    with atomic_write(path, "wb") as fh:
        fh.write(data)

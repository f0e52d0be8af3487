"""Atomic file writes: a crash, a kill or a full disk never leaves a half-written file.

Everything Amorpha saves (structures, spectra, models, projects) goes through :func:`atomic_write`:
the data goes to a temporary file beside the target, is flushed to disk, and is then renamed over
the target, so the previous version stays readable until the new one is complete.
"""
from __future__ import annotations

import contextlib
import csv
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

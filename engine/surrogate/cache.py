"""Disk cache of computed site results, keyed by the site's environment and the settings.

A reference calculation costs seconds per site while the same environment recurs (crystals,
re-opened models, training sets that share sites), so results are kept on disk:

* the key is a SHA-256 of the calculator's settings (JSON, sorted keys) and of the environment:
  the absorber's element and every atom's element and position relative to the absorber,
  rounded to :data:`ROUND_ANGSTROM`, sorted so that atom order does not matter;
* one ``.npz`` file per key (arrays plus a JSON ``meta`` string, no pickles), under
  ``$XDG_CACHE_HOME/amorpha/site-spectra`` (``~/.cache/...`` without it), in 256 sub-folders;
* writes go to a temporary file in the same folder, then ``os.replace``: a reader never sees a
  half-written file, and two processes writing the same key both leave a whole one;
* a file that cannot be read (truncated, corrupt, from another key) counts as a miss: the site is
  recomputed and the file rewritten, never an error.
"""
from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Optional

import numpy as np

#: Positions are compared to this precision (Å) when deciding whether two sites are the same.
ROUND_ANGSTROM = 1e-3
_META = "__meta__"
_KEY = "__key__"


def default_cache_dir() -> Path:
    """``$XDG_CACHE_HOME/amorpha/site-spectra``, or ``~/.cache/amorpha/site-spectra``."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "amorpha" / "site-spectra"


def site_key(numbers, positions, settings: dict, center: int = 0) -> str:
    """Hex key of an environment (elements, positions in Å; ``center`` is the absorber) and settings.

    Translations and atom order do not change the key; a move of more than about
    :data:`ROUND_ANGSTROM` does.
    """
    z = np.asarray(numbers, dtype=np.int64).reshape(-1)
    pos = np.asarray(positions, dtype=np.float64).reshape(-1, 3)
    if len(z) != len(pos):
        raise ValueError(f"{len(z)} elements for {len(pos)} positions")
    rel = np.rint((pos - pos[center]) / ROUND_ANGSTROM).astype(np.int64)
    rows = np.column_stack([z, rel])
    rows = rows[np.lexsort(rows.T[::-1])]
    h = hashlib.sha256()
    h.update(json.dumps(settings, sort_keys=True, separators=(",", ":"), default=str).encode())
    h.update(b"|absorber|%d|" % int(z[center]))
    h.update(np.ascontiguousarray(rows).tobytes())
    return h.hexdigest()


class SiteCache:
    """Results per key on disk; ``directory=None`` means :func:`default_cache_dir`.

    Stored values are dicts of numpy arrays plus a ``"meta"`` dict of JSON-able values.
    """

    def __init__(self, directory: "Optional[os.PathLike[str] | str]" = None):
        self._directory = None if directory is None else Path(directory)
        self.hits = 0
        self.misses = 0

    @property
    def directory(self) -> Path:
        # Resolved on use, so a changed XDG_CACHE_HOME (tests, sandboxes) is honoured.
        return default_cache_dir() if self._directory is None else self._directory

    def path(self, key: str) -> Path:
        return self.directory / key[:2] / f"{key}.npz"

    def get(self, key: str) -> Optional[dict]:
        """The stored dict, or None when absent or unreadable."""
        path = self.path(key)
        try:
            with np.load(path, allow_pickle=False) as data:
                if str(data[_KEY]) != key:
                    raise ValueError("key mismatch")
                out = {name: np.array(data[name]) for name in data.files if name not in (_META, _KEY)}
                out["meta"] = json.loads(str(data[_META]))
        except FileNotFoundError:
            self.misses += 1
            return None
        except Exception:  # truncated, corrupt or foreign: recompute, never fail
            self.misses += 1
            return None
        self.hits += 1
        return out

    def put(self, key: str, value: dict) -> None:
        """Store ``value`` (arrays and a ``"meta"`` dict) atomically; a failure to write is ignored
        (the cache is an optimisation, a full or read-only disk must not stop a calculation)."""
        arrays = {name: np.asarray(v) for name, v in value.items() if name != "meta"}
        arrays[_META] = np.array(json.dumps(value.get("meta", {}), sort_keys=True, default=_json_default))
        arrays[_KEY] = np.array(key)
        path = self.path(key)
        tmp = None
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".npz", dir=path.parent)
            with os.fdopen(fd, "wb") as fh:
                np.savez(fh, **arrays)
            os.replace(tmp, path)
            tmp = None
        except OSError:
            pass
        finally:
            if tmp is not None:
                try:
                    os.unlink(tmp)
                except OSError:
                    pass

    def clear(self) -> int:
        """Delete every cached file; returns how many were removed."""
        removed = 0
        root = self.directory
        if not root.is_dir():
            return 0
        for path in root.glob("*/*.npz"):
            try:
                path.unlink()
                removed += 1
            except OSError:
                pass
        return removed


def _json_default(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return str(value)

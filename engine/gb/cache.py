"""Relaxed candidates kept on disk: one small .npz per (oracle settings, candidate key).

A search that is stopped, fails, or is run again with a bigger budget never pays twice for a
relaxation. The folder is ``$XDG_CACHE_HOME/amorpha/gb`` (``~/.cache/amorpha/gb``); each oracle
setting (name, tolerance, potential, reference lattice constant) gets its own sub-folder named by
a hash; an EAM potential is keyed by its content too, so a file refitted in place is not
answered from the old one's entries. Files are written to a temporary name and renamed, so a crash never leaves half a file.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Optional

import numpy as np

from .candidates import Candidate
from .oracles import Evaluation, Oracle, Reference


def default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "amorpha" / "gb"


class EvaluationCache:
    """Evaluations of one oracle setting, looked up by candidate key."""

    def __init__(self, oracle: Oracle, reference: Reference, folder: "os.PathLike[str] | str | None" = None,
                 crystal: Optional[str] = None):
        """``crystal``: the boundary's crystal, whose potential file (EAM) is keyed by content."""
        settings = {**oracle.cache_settings(crystal), "a": round(reference.a, 8)}
        tag = hashlib.sha1(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:16]
        self.folder = Path(folder or default_cache_dir()) / f"{oracle.name}-{tag}"
        self.hits = 0

    def _path(self, candidate: Candidate) -> Path:
        return self.folder / f"{candidate.key}.npz"

    def get(self, candidate: Candidate) -> Optional[Evaluation]:
        """The stored evaluation, or None: then the candidate is relaxed again and :meth:`put`
        replaces the entry. A damaged entry (empty, truncated, other keys, a γ that is not a
        number: a full disk, a sync tool, an edited file) is removed and never raised: the
        readers' errors vary (EOFError, BadZipFile, …) and one bad file must not stop every
        later search that reaches its candidate."""
        path = self._path(candidate)
        if not path.is_file():
            return None
        try:
            with np.load(path, allow_pickle=False) as data:
                evaluation = Evaluation.from_arrays(candidate, data, cached=True)
            if not np.isfinite(evaluation.gamma):
                raise ValueError("γ is not a finite number")
        except Exception:  # noqa: BLE001 - any unreadable entry is computed again
            with contextlib.suppress(OSError):  # a read-only folder: put() will say so
                path.unlink(missing_ok=True)
            return None
        self.hits += 1
        return evaluation

    def put(self, evaluation: Evaluation) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(suffix=".npz", dir=self.folder)
        try:
            with os.fdopen(fd, "wb") as fh:
                np.savez(fh, **evaluation.arrays())
            os.replace(tmp, self._path(evaluation.candidate))
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise


__all__ = ["EvaluationCache", "default_cache_dir"]

"""Saved models as one zip: ``meta.json`` (what the model is, for whom, how good, which versions
made it) and ``arrays.npz`` (its numbers), written atomically; reading checks the format name and
version and turns every way a file can be broken into one :class:`~.errors.ReadError`.

Why not pickle: a zip of JSON and npz opens with any Python and numpy, and never runs code.
"""
from __future__ import annotations

import io
import json
import os
import zipfile
from typing import Mapping

import numpy as np

from .atomic import write_bytes_atomic
from .errors import ReadError


def library_versions() -> dict:
    """Versions of the libraries a saved model's numbers depend on."""
    import sklearn

    from . import __version__

    return {"amorpha": __version__, "numpy": np.__version__, "sklearn": sklearn.__version__}


def write_model_zip(path, meta: Mapping, arrays: Mapping[str, np.ndarray]) -> None:
    """``meta`` (JSON-able) and ``arrays`` into the zip at ``path``; a crash while saving leaves
    the previous file as it was."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("meta.json", json.dumps(dict(meta), indent=1, ensure_ascii=False))
        data = io.BytesIO()
        np.savez(data, **{k: np.asarray(v) for k, v in arrays.items()})
        zf.writestr("arrays.npz", data.getvalue())
    write_bytes_atomic(os.fspath(path), buffer.getvalue())


def read_model_zip(path, fmt: str, version: int, what: str) -> tuple[dict, dict]:
    """(meta, arrays) of a file :func:`write_model_zip` wrote with ``meta["format"] == fmt`` and
    ``meta["version"] <= version``; ``what`` names the kind of model in messages."""
    path = os.fspath(path)
    try:
        with zipfile.ZipFile(path) as zf:
            meta = json.loads(zf.read("meta.json"))
            with np.load(io.BytesIO(zf.read("arrays.npz")), allow_pickle=False) as npz:
                arrays = {k: npz[k] for k in npz.files}
    except FileNotFoundError:
        raise ReadError(path, None, "no such file") from None
    except (zipfile.BadZipFile, KeyError, json.JSONDecodeError, OSError, ValueError) as exc:
        raise ReadError(path, None, f"not an Amorpha {what} ({exc})") from None
    if not isinstance(meta, dict) or meta.get("format") != fmt:
        raise ReadError(path, None, f"not an Amorpha {what} (format "
                                    f"{meta.get('format') if isinstance(meta, dict) else None!r})")
    try:
        newer = int(meta.get("version", 0)) > version
    except (TypeError, ValueError):
        raise ReadError(path, None, f"the {what} file is damaged (version "
                                    f"{meta.get('version')!r})") from None
    if newer:
        raise ReadError(path, None, f"made by a newer Amorpha ({what} version {meta['version']}, "
                                    f"this one reads up to {version})")
    return meta, arrays

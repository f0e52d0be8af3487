"""Saved models as one zip: ``meta.json`` (what the model is, for whom, how good, which versions
made it), an npz of its numbers (``arrays.npz``, or another name) and any other members a model
needs (the scikit-learn models keep ``model.skops`` beside their ``training.npz``, unless their
meta and training data rebuild them exactly), written
atomically; reading checks the format name and version and turns every way a file can be broken
into one :class:`~.errors.ReadError`.

Why JSON, npz and skops, never pickle: model files are shared, and unpickling a file runs
whatever code it names. JSON and npz (read with ``allow_pickle=False``) hold only data; skops
(scikit-learn's own secure format) rebuilds fitted estimators and refuses any type not on a list
of trusted ones. Files of earlier versions kept a ``model.pkl``: it is never read, the model is
refitted from its training data instead.
"""
from __future__ import annotations

import io
import json
import os
import zipfile
import zlib
from typing import Mapping

import numpy as np

from .atomic import write_bytes_atomic
from .errors import ReadError, require

#: what reading a damaged zip member can raise besides BadZipFile (a flipped byte in the deflate
#: stream is a zlib.error, a cut one an EOFError; an unknown compression NotImplementedError, an
#: encrypted member RuntimeError)
ZIP_ERRORS = (zipfile.BadZipFile, zlib.error, EOFError, OSError, NotImplementedError, RuntimeError)


def library_versions() -> dict:
    """Versions of the libraries a saved model's numbers depend on."""
    import sklearn

    from . import __version__

    return {"amorpha": __version__, "numpy": np.__version__, "sklearn": sklearn.__version__}


def write_model_zip(path, meta: Mapping, arrays: Mapping[str, np.ndarray],
                    arrays_name: str = "arrays.npz", members: Mapping[str, bytes] | None = None) -> None:
    """``meta`` (JSON-able), ``members`` (name → bytes) and ``arrays`` (as ``arrays_name``) into
    the zip at ``path``, in that order; a crash while saving leaves the previous file as it was."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("meta.json", json.dumps(dict(meta), indent=1, ensure_ascii=False))
        for name, blob in (members or {}).items():
            zf.writestr(name, blob)
        data = io.BytesIO()
        np.savez_compressed(data, **{k: np.asarray(v) for k, v in arrays.items()})
        zf.writestr(arrays_name, data.getvalue())
    write_bytes_atomic(os.fspath(path), buffer.getvalue())


def read_model_zip(path, fmt: str, version: int, what: str, arrays_name: str = "arrays.npz",
                   members: tuple[str, ...] = ()) -> tuple:
    """(meta, arrays, then the bytes of each of ``members``, None for one the file lacks) of a
    file :func:`write_model_zip` wrote with ``meta["format"] == fmt`` and ``meta["version"] <=
    version``; ``what`` names the kind of model in messages."""
    path = os.fspath(path)
    try:
        with zipfile.ZipFile(path) as zf:
            meta = json.loads(zf.read("meta.json"))
            names = set(zf.namelist())
            blobs = tuple(zf.read(name) if name in names else None for name in members)
            with np.load(io.BytesIO(zf.read(arrays_name)), allow_pickle=False) as npz:
                arrays = {k: npz[k] for k in npz.files}
    except FileNotFoundError:
        raise ReadError(path, None, "no such file") from None
    except zipfile.BadZipFile:
        raise ReadError(path, None, f"not an Amorpha {what}: Amorpha saves those as zip archives, and this "
                                    f"file is not one") from None
    except (KeyError, json.JSONDecodeError, ValueError) as exc:
        raise ReadError(path, None, f"not an Amorpha {what} ({exc})") from None
    except ZIP_ERRORS as exc:
        raise ReadError(path, None, f"the {what} file is damaged ({exc})") from None
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
    return (meta, arrays) + blobs


#: the fitted member of a scikit-learn model's file (``model.pkl`` of earlier files is ignored)
FITTED_MEMBER = "model.skops"
#: types a fitted model holds that skops does not trust by itself: an MLP keeps its optimizer
TRUSTED_TYPES = ("sklearn.neural_network._stochastic_optimizers.AdamOptimizer",
                 "sklearn.neural_network._stochastic_optimizers.SGDOptimizer")


def write_fitted_zip(path, meta: Mapping, fitted, x: np.ndarray, y: np.ndarray) -> None:
    """A scikit-learn model: ``meta``, its ``fitted`` objects in skops' format (``model.skops``;
    none when ``fitted`` is None, for a model that ``meta`` and its data rebuild exactly) and its
    training data (``training.npz``: x, y), from which another scikit-learn can refit it."""
    import skops.io

    blobs = {} if fitted is None else {FITTED_MEMBER: skops.io.dumps(fitted)}
    write_model_zip(path, meta, {"x": x, "y": y}, "training.npz", blobs)


def read_fitted_zip(path, fmt: str, version: int, what: str) -> tuple[dict, bytes | None, np.ndarray, np.ndarray]:
    """(meta, the fitted member's bytes unread or None, x, y) of a file :func:`write_fitted_zip`
    wrote; the model decides whether to load the fitted member (same scikit-learn) or refit."""
    meta, training, fitted = read_model_zip(path, fmt, version, what, "training.npz", (FITTED_MEMBER,))
    try:
        return meta, fitted, training["x"], training["y"]
    except KeyError as exc:
        raise ReadError(os.fspath(path), None, f"the {what} file is damaged (no {exc} in its "
                                               "training data)") from None


def load_fitted(blob: bytes):
    """The objects :func:`write_fitted_zip` stored, rebuilt by skops, which trusts numpy, scipy
    and scikit-learn's estimators and :data:`TRUSTED_TYPES` and refuses every other type before
    building anything. ValueError with the reason for a blob that is damaged or names other
    types."""
    import skops.io
    from skops.io.exceptions import UntrustedTypesFoundException

    try:
        return skops.io.loads(blob, trusted=list(TRUSTED_TYPES))
    except UntrustedTypesFoundException:
        strange = sorted(set(skops.io.get_untrusted_types(data=blob)) - set(TRUSTED_TYPES))
        raise ValueError(f"its fitted model names types Amorpha never writes ({', '.join(strange)}); "
                         "it was not loaded") from None
    except (*ZIP_ERRORS, KeyError, TypeError, ValueError, AttributeError, ImportError) as exc:
        raise ValueError(f"its fitted model cannot be read ({type(exc).__name__}: {exc})") from None


def check_fitted(predicted: np.ndarray) -> None:
    """Refuse fitted estimators whose predictions of a few of their own training rows are not
    finite numbers: ones that load but lack a fitted array fail here, not at the first
    prediction (found by fuzzing ``model.skops``)."""
    require(np.all(np.isfinite(predicted)), "fitted model", "finite predictions of its own training data")


def restore_fitted(model, meta: Mapping, fitted: bytes | None, x: np.ndarray, y: np.ndarray) -> str:
    """Give ``model`` its fitted objects: those stored when the same scikit-learn wrote them
    (:func:`load_fitted`), else ``model._fit(x, y)`` (another scikit-learn's estimators may
    behave differently; a file without them, or with only an old pickle, is refitted too).
    Returns why it refitted ("" when it did not): a refitted MLP may differ a little from the
    one its author used. Raises ValueError for a damaged fitted member, else what fitting
    raises; the caller names the file."""
    import sklearn

    if fitted is not None and meta.get("sklearn") == sklearn.__version__:
        model._fitted = load_fitted(fitted)
        model._training = (x, y)
        return ""
    model._fit(x, y)
    if fitted is None:
        return "the file keeps no fitted estimators (an older Amorpha's pickle is never read)"
    return f"written with scikit-learn {meta.get('sklearn')}, this is {sklearn.__version__}"

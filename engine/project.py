"""The ``.amorpha`` project file: models, spectra, analysis results, trained surrogates, view state.

A project is a zip archive (``ZIP_DEFLATED``) holding ``project.json`` and one member per array::

    project.json                                format, version, meta, view, what is where, manifest
    structures/000-<name>/arrays/<key>.npy      every ``atoms.arrays`` entry (positions, numbers, ...)
    structures/000-<name>/cell.npy, pbc.npy, celldisp.npy
    structures/000-<name>/info/<key>.npy        arrays and unusual scalars found in ``atoms.info``
    structures/000-<name>/structure.extxyz      the same model for people and other programs (not read back)
    spectra/000-<name>/energy.npy, intensity.npy
    site_spectra/000-<name>/energy.npy, intensity.npy, sites.npy, structures.npy[, distance.npy]
    results/000-<name>/<key>.npy                the arrays of an analysis result
    models/000-<name>.amodel                    a trained surrogate, exactly as SpectrumModel.save writes it
                                                (its entry in project.json may name the atoms it learnt
                                                from: ``trained_on``, see :attr:`Project.trained_sites`)

Arrays are stored as ``.npy`` (exact: the extxyz text keeps only 8 decimals); everything else is
JSON in ``project.json``, where a small tag scheme keeps tuples, numpy scalars, non-string dict keys,
arrays and nested ``Atoms`` exact (see :func:`_Encoder.encode`). ``project.json`` ends with a
manifest of every member (size, and dtype and shape of each array) which the loader checks, so a
damaged or edited file fails with a message naming the member instead of giving wrong numbers;
each structure read must also pass the check a structure file gets (:func:`_check_usable`), and
its constraints must name atoms it has (:meth:`_Decoder.constraint`).

Saving goes through :func:`amorpha.engine.atomic.atomic_write`: the archive is written to a
temporary file ``.<name>.XXXXXXXX.tmp`` beside the target and renamed over it only when complete,
so a crash, a kill or a cancel while saving leaves the previous file as it was. A kill can leave
that temporary file behind; the loader never looks at it, and the next save into the same folder
removes those older than :data:`STALE_TEMP_SECONDS`.

Versions: ``project.json`` has an integer ``version``. Files from a newer Amorpha are refused with
a message (and nothing is written); older versions go through :data:`_UPGRADES` one step at a time.

Trained models are stored as model files are, without pickles: opening a project runs no code it holds.
"""
from __future__ import annotations

import contextlib
import dataclasses
import importlib
import io
import json
import os
import re
import reprlib
import sys
import tempfile
import time
import warnings
import zipfile
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Optional

import numpy as np
from ase import Atoms

from .atomic import CountingWriter, atomic_write, extxyz_characters, extxyz_columns
from .errors import ParameterError, ReadError
from .model_zip import ZIP_ERRORS
from .spectra.spectrum import SiteSpectra, Spectrum, SpectrumError
from .tasks import CancelFn, ProgressFn, check_cancel, report

__all__ = [
    "PROJECT_EXTENSION",
    "PROJECT_FILTER",
    "PROJECT_FILTERS",
    "PROJECT_FORMAT",
    "PROJECT_VERSION",
    "AnalysisResult",
    "Project",
    "load_project",
    "looks_like_project",
    "peek_project",
    "save_project",
]

PROJECT_FORMAT = "amorpha-project"
PROJECT_VERSION = 1
PROJECT_EXTENSION = ".amorpha"
PROJECT_FILTER = f"Amorpha projects (*{PROJECT_EXTENSION})"
PROJECT_FILTERS = [PROJECT_FILTER, "All files (*)"]
#: A temporary file of an interrupted save not written to for this long is removed by the next save.
STALE_TEMP_SECONDS = 15 * 60

_INDEX = "project.json"
_CHUNK = 8 * 2**20  # bytes between cancel checks and progress reports
_FAST_LEVEL = 1  # deflate level of the big members (.npy, extxyz): 3-5x faster than 6, files ~20% larger
_TAGS = ("__tuple__", "__dict__", "__array__", "__scalar__", "__atoms__")


# ============================================================================ data


@dataclass
class AnalysisResult:
    """The result of one analysis, stored without the project knowing its class.

    ``kind`` says what it is (``"rings"``, or ``"module:Class"`` when made by :meth:`from_dataclass`),
    ``arrays`` holds every array, ``params`` the settings and scalars (JSON, with tuples, numpy
    scalars and non-string keys kept), ``structure`` the name of the model it was computed on. The
    result's name is its key in :attr:`Project.results`.
    """

    kind: str
    arrays: dict[str, np.ndarray] = field(default_factory=dict)
    params: dict = field(default_factory=dict)
    structure: Optional[str] = None

    @classmethod
    def from_dataclass(cls, result, structure: Optional[str] = None, kind: Optional[str] = None,
                       ) -> "AnalysisResult":
        """Split a result dataclass (``RingResult``, ``RdfResult``...): arrays to ``arrays``, the
        other fields to ``params``. :meth:`to_dataclass` rebuilds it."""
        if not dataclasses.is_dataclass(result) or isinstance(result, type):
            raise ParameterError("result", f"a dataclass instance, got {type(result).__name__}")
        arrays, params = {}, {}
        for f in dataclasses.fields(result):
            value = getattr(result, f.name)
            if isinstance(value, np.ndarray):
                arrays[f.name] = value
            else:
                params[f.name] = value
        kind = kind or f"{type(result).__module__}:{type(result).__qualname__}"
        return cls(kind, arrays, params, structure)

    def to_dataclass(self, cls: Optional[type] = None):
        """The result object again: ``cls(**params, **arrays)``.

        Without ``cls``, the class named by ``kind`` (``"module:Class"``) is imported; only classes
        of ``amorpha.engine`` are, since a project file should not choose what code runs.
        """
        if cls is None:
            module, _, name = self.kind.partition(":")
            if not (module.startswith("amorpha.engine.") and name):
                raise ParameterError("kind", f"{self.kind!r} names no Amorpha result class; pass cls")
            cls = importlib.import_module(module)
            for part in name.split("."):
                cls = getattr(cls, part)
            if not (isinstance(cls, type) and dataclasses.is_dataclass(cls)):
                raise ParameterError("kind", f"{self.kind!r} is not a result dataclass")
        return cls(**self.params, **self.arrays)


def _now() -> str:
    return datetime.now(timezone.utc).astimezone().isoformat(timespec="seconds")


def _version() -> str:
    from amorpha import engine

    return getattr(engine, "__version__", "")


@dataclass
class Project:
    """Everything a session has made, by name (dicts keep their order, and so does the file).

    ``view`` is the window's state (camera, colouring, slab, selection, docks...) as plain JSON:
    the engine stores it and gives it back without looking inside. ``meta`` is plain JSON too;
    :func:`save_project` keeps ``created`` and sets ``modified`` and ``amorpha`` (the version that
    wrote the file); other keys (a title, notes) are kept as they are.
    """

    structures: dict[str, Atoms] = field(default_factory=dict)
    spectra: dict[str, Spectrum] = field(default_factory=dict)
    site_spectra: dict[str, SiteSpectra] = field(default_factory=dict)
    results: dict[str, AnalysisResult] = field(default_factory=dict)
    models: dict = field(default_factory=dict)  # name -> amorpha.engine.surrogate.model.SpectrumModel
    #: model name -> (structure name, indices of that structure's atoms the model learnt from, in
    #: its training rows' order): which sites a model trained in the window asked the calculator for
    trained_sites: dict = field(default_factory=dict)
    view: dict = field(default_factory=dict)
    meta: dict = field(default_factory=dict)

    def results_of(self, structure: str) -> dict[str, AnalysisResult]:
        """The results computed on the structure called ``structure``."""
        return {k: r for k, r in self.results.items() if r.structure == structure}


# ============================================================================ JSON with arrays


class _Unstorable(TypeError):
    """A value a project cannot store (an arbitrary object, an object array)."""


def _warn(message: str) -> None:
    """A UserWarning pointing at the line that called into this module (save_project's caller)."""
    level, frame = 2, sys._getframe(1)
    while frame is not None and frame.f_globals.get("__name__") == __name__:
        level, frame = level + 1, frame.f_back
    warnings.warn(message, UserWarning, stacklevel=level)


def _safe(name: str, limit: int = 40) -> str:
    s = re.sub(r"[^A-Za-z0-9._-]+", "_", str(name)).strip("._") or "x"
    return s[:limit]


class _Encoder:
    """Turns values into JSON, putting arrays aside as ``.npy`` members.

    Tags (one-key objects, so they never clash with a stored dict, which is tagged as ``__dict__``
    whenever it has non-string keys or a key that is a tag name):
    ``{"__tuple__": [...]}``, ``{"__dict__": [[key, value], ...]}``, ``{"__array__": member}``,
    ``{"__scalar__": dtype, "value": v}`` (a numpy bool, integer or float scalar),
    ``{"__array__": member, "scalar": true}`` (any other numpy scalar), ``{"__atoms__": {...}}``.
    """

    def __init__(self):
        self.arrays: list[tuple[str, np.ndarray]] = []
        self._used: set[str] = set()

    # -- members ----------------------------------------------------------------------------
    def add(self, array, folder: str, name: str) -> str:
        array = np.asarray(array)
        if array.dtype.hasobject:
            raise _Unstorable(f"an array of Python objects ({array.dtype})")
        stem = f"{folder}{_safe(name)}"
        member, k = f"{stem}.npy", 1
        while member.lower() in self._used:  # also unique when unpacked on a case-insensitive disk
            k += 1
            member = f"{stem}-{k}.npy"
        self._used.add(member.lower())
        self.arrays.append((member, array))
        return member

    def folder(self, section: str, index: int, name: str) -> str:
        return f"{section}/{index:03d}-{_safe(name)}/"

    @contextlib.contextmanager
    def attempt(self):
        """Undo the arrays added inside the block if it raises."""
        mark = len(self.arrays)
        try:
            yield
        except BaseException:
            for member, _ in self.arrays[mark:]:
                self._used.discard(member.lower())
            del self.arrays[mark:]
            raise

    # -- values -----------------------------------------------------------------------------
    def encode(self, obj, folder: str, hint: str):
        if isinstance(obj, np.generic):
            kind, size = obj.dtype.kind, obj.dtype.itemsize
            if kind in "biu" or (kind == "f" and size <= 8):
                return {"__scalar__": obj.dtype.str, "value": obj.item()}
            return {"__array__": self.add(np.asarray(obj), folder, hint), "scalar": True}
        if obj is None or isinstance(obj, (bool, int, float, str)):
            return obj
        if isinstance(obj, np.ndarray):
            return {"__array__": self.add(obj, folder, hint)}
        if isinstance(obj, tuple):
            return {"__tuple__": [self.encode(v, folder, f"{hint}.{i}") for i, v in enumerate(obj)]}
        if isinstance(obj, list):
            return [self.encode(v, folder, f"{hint}.{i}") for i, v in enumerate(obj)]
        if isinstance(obj, dict):
            if all(isinstance(k, str) for k in obj) and not set(obj) & set(_TAGS):
                return {k: self.encode(v, folder, f"{hint}.{k}") for k, v in obj.items()}
            return {"__dict__": [[self.encode(k, folder, f"{hint}.key{i}"), self.encode(v, folder, f"{hint}.{i}")]
                                 for i, (k, v) in enumerate(obj.items())]}
        if isinstance(obj, Atoms):
            return {"__atoms__": self.atoms(obj, f"{folder}{_safe(hint)}/", owner=f"{hint}: ")}
        raise _Unstorable(f"a {type(obj).__module__}.{type(obj).__qualname__}")

    def lenient(self, mapping: dict, folder: str, where: str, skipped: list, owner: str = "") -> dict:
        """Encode a free-form dict (``atoms.info``, ``Spectrum.meta``), leaving out what cannot be
        stored with a warning, and noting it in ``skipped``."""
        out = {}
        for key, value in mapping.items():
            try:
                if not isinstance(key, str) or key in _TAGS:
                    raise _Unstorable(f"a key of type {type(key).__name__}")
                with self.attempt():
                    out[key] = self.encode(value, folder, key)
            except (_Unstorable, RecursionError) as exc:
                skipped.append(f"{where}[{key!r}]")
                _warn(f"{owner}{where}[{key!r}] is not saved in the project: it holds {exc}")
        return out

    def atoms(self, atoms: Atoms, folder: str, skipped: Optional[list] = None, owner: str = "") -> dict:
        skipped = [] if skipped is None else skipped
        arrays = {}
        for key, value in atoms.arrays.items():
            try:
                with self.attempt():
                    arrays[key] = self.add(value, f"{folder}arrays/", key)
            except _Unstorable as exc:
                if key in ("positions", "numbers"):
                    raise
                skipped.append(f"arrays[{key!r}]")
                _warn(f"{owner}per-atom array {key!r} is not saved in the project: it holds {exc}")
        out = {
            "n_atoms": len(atoms),
            "cell": self.add(np.array(atoms.cell.array, dtype=np.float64), folder, "cell"),
            "pbc": self.add(np.array(atoms.pbc, dtype=bool), folder, "pbc"),
            "celldisp": self.add(np.array(atoms.get_celldisp(), dtype=np.float64), folder, "celldisp"),
            "arrays": arrays,
            "info": self.lenient(atoms.info, f"{folder}info/", "info", skipped, owner),
            "constraints": [],
            "calc": None,
        }
        for i, constraint in enumerate(atoms.constraints):
            try:
                with self.attempt():
                    out["constraints"].append(self.encode(constraint.todict(), f"{folder}constraints/", str(i)))
            except (_Unstorable, AttributeError, NotImplementedError) as exc:
                skipped.append(f"constraint {type(constraint).__name__}")
                _warn(f"{owner}constraint {type(constraint).__name__} is not saved in the project ({exc})")
        results = getattr(atoms.calc, "results", None) if atoms.calc is not None else None
        if results:
            out["calc"] = self.lenient(results, f"{folder}calc/", "calculator results", skipped, owner)
        return out


class _Decoder:
    """The reverse of :class:`_Encoder`, reading arrays from the archive as they are referred to."""

    def __init__(self, archive: "_Archive"):
        self.archive = archive

    def decode(self, obj):
        if isinstance(obj, list):
            return [self.decode(v) for v in obj]
        if not isinstance(obj, dict):
            return obj
        if "__scalar__" in obj:
            return np.dtype(obj["__scalar__"]).type(obj["value"])
        if "__array__" in obj:
            array = self.archive.array(obj["__array__"])
            return array[()] if obj.get("scalar") else array
        if "__tuple__" in obj:
            return tuple(self.decode(v) for v in obj["__tuple__"])
        if "__dict__" in obj:
            return {_hashable(self.decode(k)): self.decode(v) for k, v in obj["__dict__"]}
        if "__atoms__" in obj:
            return self.atoms(obj["__atoms__"])
        return {k: self.decode(v) for k, v in obj.items()}

    def atoms(self, d: dict) -> Atoms:
        from ase.calculators.singlepoint import SinglePointCalculator

        n = int(d["n_atoms"])
        arrays = {key: self.archive.array(member) for key, member in d["arrays"].items()}
        cell, pbc, celldisp = (self.archive.array(d[k]) for k in ("cell", "pbc", "celldisp"))
        for key in ("positions", "numbers"):
            if key not in arrays:
                raise _Damaged(_INDEX, f"has a structure without {key}")
        checks = [(d["cell"], cell, cell.shape == (3, 3)), (d["pbc"], pbc, pbc.shape == (3,)),
                  (d["celldisp"], celldisp, celldisp.size == 3)]
        positions, numbers = arrays["positions"], arrays["numbers"]
        checks += [(d["arrays"]["positions"], positions, positions.shape == (n, 3) and positions.dtype.kind == "f"),
                   (d["arrays"]["numbers"], numbers, numbers.shape == (n,) and numbers.dtype.kind in "iu")]
        checks += [(d["arrays"][k], a, a.ndim >= 1 and len(a) == n) for k, a in arrays.items()]
        for member, array, ok in checks:
            if not ok:
                raise _Damaged(member, f"has shape {array.shape} {array.dtype}, which does not fit a "
                                       f"structure of {n} atoms")
        atoms = Atoms(cell=cell, pbc=pbc, celldisp=celldisp)
        atoms.arrays = arrays  # exact dtypes and key order (ASE would convert positions and numbers)
        atoms.info = self.decode(d.get("info", {}))
        constraints = [self.constraint(c, k, n, d) for k, c in enumerate(d.get("constraints", []))]
        if constraints:
            atoms.set_constraint(constraints)
        if d.get("calc"):
            atoms.calc = SinglePointCalculator(atoms, **self.decode(d["calc"]))
        _check_usable(atoms, d)
        return atoms

    def constraint(self, stored, k: int, n: int, d: dict):
        """Constraint ``k`` of a structure of ``n`` atoms, rebuilt by ASE and refused (naming the
        structure) unless it names atoms the structure has. A constraint is part of the structure:
        left out, it would free atoms the saved model kept fixed; taken as it is, an index beyond
        the atoms loaded and failed at the first move (an IndexError), and a damaged entry was
        refused as a damaged project.json without saying which structure holds it."""
        from ase.constraints import FixConstraint, __all__ as names, dict2constraint

        stored = self.decode(stored)
        name = stored.get("name") if isinstance(stored, dict) else stored
        where = d["cell"].rpartition("/")[0]
        try:  # dict2constraint calls any name of ase.constraints, a function and the base class too
            constraint = dict2constraint(stored) if isinstance(name, str) and name in names else None
        except (KeyError, TypeError, ValueError, IndexError, AttributeError) as exc:
            raise _Damaged(where, f"has constraint {k} ({name}), which cannot be rebuilt ({exc})") from None
        if not isinstance(constraint, FixConstraint) or type(constraint) is FixConstraint:
            raise _Damaged(where, f"has constraint {k} ({reprlib.repr(name)}), which is not an ASE constraint")
        problem = _index_problem(_constrained_atoms(constraint), n)
        if problem:
            raise _Damaged(where, f"has constraint {k} ({name}) {problem}")
        return constraint


def _constrained_atoms(constraint) -> np.ndarray:
    """The atom indices an ASE constraint refers to, flat (none for one on every atom, FixCom):
    most constraints give them by ``get_indices``; ExternalForce and MirrorForce keep ``indices``."""
    get = getattr(constraint, "get_indices", None)
    return np.ravel(np.asarray(get() if get is not None else getattr(constraint, "indices", [])))


def _index_problem(indices: np.ndarray, n: int) -> Optional[str]:
    """Why ``indices`` do not name atoms of a structure of ``n`` (None when they do). A negative
    index counts from the end, as ASE resolves it (``FixAtoms([-1])`` is saved as it is given),
    so -n to -1 name atoms; beyond either end, or a fraction, numpy fails when the atoms move."""
    if indices.size == 0:
        return None
    if indices.dtype.kind not in "iu":
        return f"names its atoms as {reprlib.repr(indices.tolist())}, not as whole numbers"
    outside = indices[(indices < -n) | (indices >= n)]
    if outside.size:
        return (f"on atom {int(outside[0])}, but the structure has {n} atoms"
                + (f" (0 to {n - 1}, or {-n} to -1 counted from the end)" if n else ""))
    return None


def _check_usable(atoms: Atoms, d: dict) -> None:
    """Refuse a structure whose arrays have the right shapes but values no model can have (an
    atomic number no element has, a NaN coordinate, a NaN or flat cell): the window would show it
    and fail later, with the damaged model already in place. The check is
    :func:`~amorpha.engine.io.validate_atoms`, the one every structure file gets; an empty
    structure stays a valid project entry (a file of no atoms is refused by that check).
    """
    from .io import StructureReadError, validate_atoms

    if len(atoms):
        try:
            validate_atoms(atoms)
        except StructureReadError as exc:
            raise _Damaged(d["cell"].rpartition("/")[0], f"is not a usable structure: {exc.reason}") from None


def _hashable(key):
    return tuple(_hashable(k) for k in key) if isinstance(key, list) else key


# ============================================================================ .npy members


def _descr(dtype: np.dtype):
    """The dtype as JSON gives it back (so a header read later compares equal)."""
    return json.loads(json.dumps(np.lib.format.dtype_to_descr(dtype)))


def _npy_header(array: np.ndarray) -> bytes:
    header = np.lib.format.header_data_from_array_1_0(array)
    buf = io.BytesIO()
    try:
        np.lib.format.write_array_header_1_0(buf, header)
    except ValueError:  # a header over 64 KiB (a huge structured dtype)
        buf = io.BytesIO()
        np.lib.format.write_array_header_2_0(buf, header)
    return buf.getvalue()


def _zinfo(name: str, compress_type: int = zipfile.ZIP_DEFLATED, level: Optional[int] = None) -> zipfile.ZipInfo:
    zi = zipfile.ZipInfo(name, date_time=time.localtime()[:6])
    zi.compress_type = compress_type
    zi.external_attr = 0o644 << 16  # rw-r--r-- when unpacked (0 would mean no permissions at all)
    if level is not None:
        # Python 3.13 names it compress_level; 3.11-3.12 only have the private slot.
        setattr(zi, "compress_level" if hasattr(zipfile.ZipInfo, "compress_level") else "_compresslevel", level)
    return zi


# ============================================================================ saving


class _Progress:
    def __init__(self, total: float, progress: Optional[ProgressFn], cancel: Optional[CancelFn], message: str):
        self.total, self.done = max(float(total), 1.0), 0.0
        self.progress, self.cancel, self.message = progress, cancel, message

    def __call__(self, amount: float) -> None:
        check_cancel(self.cancel)
        self.done += amount
        report(self.progress, min(self.done / self.total, 0.999), self.message)


class _CountingText(CountingWriter):
    """A text stream into a zip member that checks ``cancel`` and reports progress as ASE writes:
    its share ``weight`` of the project's progress, spread over the ``expected`` characters."""

    def __init__(self, raw, tick: _Progress, expected: float, weight: float):
        super().__init__(io.TextIOWrapper(raw, encoding="utf-8", newline="\n"), self._step, _CHUNK)
        self._outer, self._scale, self._budget = tick, weight / max(expected, 1.0), weight

    def _step(self, characters: int) -> None:
        step = min(characters * self._scale, self._budget)
        self._budget -= step
        self._outer(step)

    def finish(self) -> None:
        self.text.flush()
        self.text.detach()
        self._outer(self._budget)


def _stored_view(atoms: Atoms, encoded: dict) -> Atoms:
    """``atoms`` with only the arrays and info entries the project stored (sharing the arrays), so
    the extxyz copy holds the same things and ASE does not warn again about what was left out."""
    shown = Atoms(cell=atoms.cell, pbc=atoms.pbc, celldisp=atoms.get_celldisp())
    shown.arrays = {k: v for k, v in atoms.arrays.items() if k in encoded["arrays"]}
    shown.info = {k: v for k, v in atoms.info.items() if k in encoded["info"]}
    shown.constraints = list(atoms.constraints)
    shown.calc = atoms.calc
    return shown


def _write_extxyz(zf: zipfile.ZipFile, member: str, atoms: Atoms, tick: _Progress, weight: float) -> Optional[str]:
    """The structure as extended xyz (for people and other programs; the loader uses the .npy)."""
    import ase.io

    note = None
    try:  # what fails in ASE's writer fails on the first atom already (an info entry, a column type)
        ase.io.write(io.StringIO(), atoms[:1], format="extxyz")
    except Exception as exc:  # noqa: BLE001 - ASE raises many types here
        note = f"written with positions and cell only: ASE could not write the rest ({exc})"
        plain = Atoms(numbers=atoms.numbers, positions=atoms.positions, cell=atoms.cell, pbc=atoms.pbc)
        plain.info["name"] = str(atoms.info.get("name", ""))
        atoms = plain
    expected = extxyz_characters(atoms)
    with zf.open(_zinfo(member, level=_FAST_LEVEL), "w", force_zip64=expected > 2**30) as raw:
        stream = _CountingText(raw, tick, expected, weight)
        try:
            ase.io.write(stream, atoms, format="extxyz")
        except BaseException:
            with contextlib.suppress(Exception):  # do not let the wrapper close the member later
                stream.text.detach()
            raise
        stream.finish()
    return note


def _write_npy(zf: zipfile.ZipFile, member: str, array: np.ndarray, tick: _Progress) -> None:
    if not array.flags.c_contiguous:
        array = array.copy(order="C")
    header = _npy_header(array)
    with zf.open(_zinfo(member, level=_FAST_LEVEL), "w", force_zip64=array.nbytes > 2**30) as fh:
        fh.write(header)
        flat = array.reshape(-1)
        rows = max(1, _CHUNK // max(array.itemsize, 1))
        if array.itemsize:
            for start in range(0, flat.size, rows):
                fh.write(flat[start:start + rows].tobytes())
                tick((min(start + rows, flat.size) - start) * array.itemsize)


def _model_bytes(model, name: str) -> bytes:
    """The model file exactly as ``SpectrumModel.save`` writes it (it only writes to paths)."""
    if getattr(model, "_fitted", None) is None or getattr(model, "_training", None) is None:
        raise ParameterError(f"model {name!r}", "a trained model (this one has not been fitted)")
    with tempfile.TemporaryDirectory(prefix="amorpha-project-") as tmp:
        path = Path(tmp) / "model.amodel"
        model.save(path)
        return path.read_bytes()


def _plain_json(value, what: str):
    try:
        return json.loads(json.dumps(value))
    except (TypeError, ValueError) as exc:
        raise ParameterError(what, f"plain JSON (dicts, lists, strings, numbers): {exc}") from None


def _check_names(project: Project) -> None:
    from .surrogate.model import SpectrumModel

    kinds = [("structures", Atoms), ("spectra", Spectrum), ("site_spectra", SiteSpectra),
             ("results", AnalysisResult), ("models", SpectrumModel)]
    for section, cls in kinds:
        for name, value in getattr(project, section).items():
            if not isinstance(name, str) or not name:
                raise ParameterError(section, f"names must be non-empty strings, got {name!r}")
            if not isinstance(value, cls):
                raise ParameterError(f"{section}[{name!r}]", f"a {cls.__name__}, got {type(value).__name__}")
    unknown = [name for name in project.trained_sites if name not in project.models]
    if unknown:
        raise ParameterError("trained_sites", f"names of the project's models, not {unknown[0]!r}")


def _plan(project: Project, enc: _Encoder) -> tuple[dict, list]:
    """``project.json`` without its manifest, and the extxyz and model members still to write."""
    extra: list[tuple[str, str, Any]] = []  # (kind, member, object)
    doc: dict[str, Any] = {"format": PROJECT_FORMAT, "version": PROJECT_VERSION}
    meta = _plain_json(project.meta, "meta")
    if not isinstance(meta, dict):
        raise ParameterError("meta", "a dict")
    meta.setdefault("created", _now())
    meta.update(modified=_now(), amorpha=_version())
    doc["meta"] = meta
    doc["view"] = _plain_json(project.view, "view")

    doc["structures"] = []
    for i, (name, atoms) in enumerate(project.structures.items()):
        folder = enc.folder("structures", i, name)
        skipped: list[str] = []
        try:
            encoded = enc.atoms(atoms, folder, skipped, owner=f"structure {name!r}: ")
        except _Unstorable as exc:
            raise ParameterError(f"structures[{name!r}]", f"positions and numbers as numbers ({exc})") from None
        member = f"{folder}structure.extxyz"
        extra.append(("extxyz", member, atoms))
        doc["structures"].append({"name": name, "atoms": encoded, "extxyz": member, "skipped": skipped})

    doc["spectra"] = []
    for i, (name, s) in enumerate(project.spectra.items()):
        folder = enc.folder("spectra", i, name)
        energy, intensity = np.asarray(s.energy), np.asarray(s.intensity)
        if energy.ndim != 1 or intensity.shape != energy.shape or energy.dtype.hasobject:
            raise ParameterError(f"spectra[{name!r}]", f"one intensity per energy (energy {energy.shape}, "
                                                       f"intensity {intensity.shape})")
        skipped: list[str] = []
        doc["spectra"].append({
            "name": name,
            "energy": enc.add(energy, folder, "energy"),
            "intensity": enc.add(intensity, folder, "intensity"),
            "label": s.label, "source": str(s.source), "element": s.element, "edge": s.edge,
            "site": None if s.site is None else int(s.site),
            "broadening": enc.lenient(dict(s.broadening), f"{folder}broadening/", "broadening", skipped,
                                      f"spectrum {name!r}: "),
            "meta": enc.lenient(dict(s.meta), f"{folder}meta/", "meta", skipped, f"spectrum {name!r}: "),
            "skipped": skipped,
        })

    doc["site_spectra"] = []
    for i, (name, s) in enumerate(project.site_spectra.items()):
        folder = enc.folder("site_spectra", i, name)
        skipped: list[str] = []
        doc["site_spectra"].append({
            "name": name,
            "energy": enc.add(s.energy, folder, "energy"),
            "intensity": enc.add(s.intensity, folder, "intensity"),
            "sites": enc.add(s.sites, folder, "sites"),
            "structures": enc.add(s.structures, folder, "structures"),
            "element": s.element, "edge": s.edge, "source": str(s.source),
            "labels": [str(label) for label in s.labels],
            "meta": enc.lenient(dict(s.meta), f"{folder}meta/", "meta", skipped, f"site spectra {name!r}: "),
            "skipped": skipped,
        } | ({"distance": enc.add(s.distance, folder, "distance")} if s.distance is not None else {}))

    doc["results"] = []
    for i, (name, r) in enumerate(project.results.items()):
        folder = enc.folder("results", i, name)
        where = f"results[{name!r}]"
        arrays = {}
        for key, value in r.arrays.items():
            if not isinstance(key, str):
                raise ParameterError(where, f"array names must be strings, got {key!r}")
            try:
                arrays[key] = enc.add(value, folder, key)
            except _Unstorable as exc:
                raise ParameterError(where, f"array {key!r} holds {exc}") from None
        try:
            params = enc.encode(dict(r.params), f"{folder}params/", "params")
        except _Unstorable as exc:
            raise ParameterError(where, f"params must be JSON, numbers or arrays; one holds {exc}") from None
        doc["results"].append({"name": name, "kind": str(r.kind), "structure": r.structure,
                               "params": params, "arrays": arrays})

    doc["models"] = []
    for i, (name, model) in enumerate(project.models.items()):
        member = f"models/{i:03d}-{_safe(name)}.amodel"
        extra.append(("model", member, (name, model)))
        doc["models"].append({"name": name, "member": member, "element": model.element, "edge": model.edge,
                              "regressor": model.params.regressor, "n_train": int(model.n_train)}
                             | _trained_on(project, name))
    return doc, extra


def _trained_on(project: Project, name: str) -> dict:
    """The ``trained_on`` of model ``name``'s entry ({} when its sites are not known): the
    structure and its atoms, as plain JSON (a few hundred indices at most)."""
    if name not in project.trained_sites:
        return {}
    where = f"trained_sites[{name!r}]"
    try:
        structure, atoms = project.trained_sites[name]
        atoms = np.asarray(atoms)
    except (TypeError, ValueError):
        raise ParameterError(where, "a pair (structure name, atom indices)") from None
    problem = _sites_problem(project.structures, structure, atoms)
    if problem:
        raise ParameterError(where, problem)
    return {"trained_on": {"structure": structure, "atoms": [int(i) for i in atoms]}}


def _sites_problem(structures: dict, structure, atoms: np.ndarray) -> Optional[str]:
    """Why ``atoms`` cannot be sites of ``structures[structure]`` (None when they can)."""
    if not isinstance(structure, str) or structure not in structures:
        return f"its structure {reprlib.repr(structure)} is not one of the project's"
    n = len(structures[structure])
    if atoms.ndim != 1 or not (atoms.dtype.kind in "iu" or atoms.size == 0):
        return "its atoms are not a list of whole numbers"
    outside = atoms[(atoms < 0) | (atoms >= n)]
    return f"atom {int(outside[0])} is not one of the structure {structure!r} (atoms 0 to {n - 1})" \
        if outside.size else None


def _remove_stale_temps(path: Path) -> None:
    """Delete leftovers of killed saves of ``path`` (``.<name>.XXXXXXXX.tmp``, long untouched)."""
    pattern = re.compile(re.escape(f".{path.name}.") + r"[A-Za-z0-9_]{8}" + re.escape(".tmp"))
    now = time.time()
    with contextlib.suppress(OSError), os.scandir(path.parent) as entries:
        for entry in entries:
            if pattern.fullmatch(entry.name):
                with contextlib.suppress(OSError):
                    if entry.is_file(follow_symlinks=False) and now - entry.stat().st_mtime > STALE_TEMP_SECONDS:
                        os.unlink(entry.path)


def save_project(project: Project, path, progress: Optional[ProgressFn] = None,
                 cancel: Optional[CancelFn] = None, *, extxyz: bool = True) -> None:
    """Write ``project`` to ``path`` atomically: until the new file is complete, the old one stays.

    ``extxyz=False`` leaves out the human-readable copy of each structure (faster for huge models;
    the loader never needs it). On success ``project.meta`` gets the ``created``/``modified``/
    ``amorpha`` written. A cancel raises :class:`~amorpha.engine.tasks.Cancelled`; the file on
    disk is then untouched. Entries of ``atoms.info`` or ``Spectrum.meta`` that are not data
    (arbitrary objects) are left out with a warning and listed under ``skipped`` in project.json;
    anything else that cannot be stored raises :class:`ParameterError` before anything is written.
    Do not change the project's arrays while it is being saved (pass a copy from another thread).
    """
    path = Path(os.fspath(path))
    _check_names(project)
    check_cancel(cancel)
    enc = _Encoder()
    doc, extra = _plan(project, enc)
    report(progress, 0.0, "saving the project")
    model_data = {}
    for kind, member, obj in extra:
        if kind == "model":
            model_data[member] = _model_bytes(obj[1], obj[0])
            check_cancel(cancel)
    weights = {member: len(atoms) * 8.0 * (1 + extxyz_columns(atoms))
               for kind, member, atoms in extra if kind == "extxyz"} if extxyz else {}
    total = sum(a.nbytes for _, a in enc.arrays) + sum(weights.values()) + sum(map(len, model_data.values()))
    tick = _Progress(total, progress, cancel, "saving the project")
    _remove_stale_temps(path)

    with atomic_write(path, "wb") as fh:
        with zipfile.ZipFile(fh, "w", zipfile.ZIP_DEFLATED) as zf:
            shapes = {}
            for member, array in enc.arrays:
                _write_npy(zf, member, array, tick)
                shapes[member] = {"dtype": _descr(array.dtype), "shape": list(array.shape)}
            structures = iter(doc["structures"])
            for kind, member, obj in extra:
                if kind == "extxyz":
                    entry = next(structures)
                    if not extxyz:
                        entry["extxyz"] = None
                        continue
                    note = _write_extxyz(zf, member, _stored_view(obj, entry["atoms"]), tick, weights[member])
                    if note:
                        entry["extxyz_note"] = note
                else:
                    check_cancel(cancel)
                    zf.writestr(_zinfo(member, zipfile.ZIP_STORED), model_data[member])  # already deflated
                    tick(len(model_data[member]))
            doc["members"] = [{"name": zi.filename, "size": zi.file_size, **shapes.get(zi.filename, {})}
                              for zi in zf.infolist()]
            check_cancel(cancel)
            zf.writestr(_zinfo(_INDEX), json.dumps(doc, indent=1, ensure_ascii=False))
    project.meta.update(doc["meta"])
    report(progress, 1.0, "project saved")


# ============================================================================ loading


class _Damaged(Exception):
    """A member is damaged; becomes a ReadError naming it."""

    def __init__(self, member: str, reason: str):
        self.member, self.reason = member, reason
        super().__init__(f"{member} {reason}")


class _Archive:
    """An open project file: checked member reads with progress and cancel."""

    def __init__(self, zf: zipfile.ZipFile, manifest: dict, tick: Optional[_Progress]):
        self.zf, self.manifest, self.tick = zf, manifest, tick

    def read(self, member: str) -> bytes:
        entry = self._entry(member)
        try:
            data = self.zf.read(member)
        except ZIP_ERRORS as exc:
            raise _Damaged(member, f"cannot be read ({exc})") from None
        if len(data) != entry["size"]:
            raise _Damaged(member, f"has {len(data)} bytes, the manifest says {entry['size']}")
        if self.tick:
            self.tick(len(data))
        return data

    def _entry(self, member) -> dict:
        if not isinstance(member, str):
            raise _Damaged(_INDEX, f"has a member name {member!r}")
        entry = self.manifest.get(member)
        if entry is None:
            raise _Damaged(_INDEX, f"refers to {member}, which is not in its manifest")
        return entry

    def array(self, member: str) -> np.ndarray:
        entry = self._entry(member)
        fmt = np.lib.format
        try:
            with self.zf.open(member) as fh:
                version = fmt.read_magic(fh)
                if version == (1, 0):
                    shape, fortran, dtype = fmt.read_array_header_1_0(fh, max_header_size=2**20)
                elif version == (2, 0):
                    shape, fortran, dtype = fmt.read_array_header_2_0(fh, max_header_size=2**20)
                else:
                    raise ValueError(f"unknown .npy version {version}")
                if dtype.hasobject:
                    raise ValueError("it holds Python objects, which a project never stores")
                if list(shape) != entry.get("shape") or _descr(dtype) != entry.get("dtype"):
                    raise ValueError(f"shape {tuple(shape)} {dtype} instead of {tuple(entry.get('shape') or ())} "
                                     f"{entry.get('dtype')}")
                count = int(np.prod(shape, dtype=np.int64))
                nbytes = count * dtype.itemsize
                raw = bytearray(nbytes)
                view, done = memoryview(raw), 0
                while done < nbytes:
                    n = fh.readinto(view[done:done + _CHUNK])
                    if not n:
                        raise EOFError(f"the data ends after {done} of {nbytes} bytes")
                    done += n
                    if self.tick:
                        self.tick(n)
                if fh.read(1):  # also makes zipfile check the CRC
                    raise ValueError("more data than its header announces")
        except ZIP_ERRORS + (ValueError,) as exc:
            raise _Damaged(member, f"is damaged ({exc})") from None
        if nbytes == 0:
            return np.zeros(shape, dtype)
        return np.frombuffer(raw, dtype=dtype, count=count).reshape(shape, order="F" if fortran else "C")


#: version n -> function(doc, archive) returning the document as version n + 1 writes it.
_UPGRADES: dict[int, Callable[[dict, _Archive], dict]] = {}
_OLDEST_VERSION = 1


def _upgrade(doc: dict, archive: _Archive, path) -> dict:
    version = doc["version"]
    while version < PROJECT_VERSION:
        step = _UPGRADES.get(version)
        if step is None:
            raise ReadError(path, None, f"project version {version} is too old for this Amorpha "
                                        f"(it reads versions {_OLDEST_VERSION} to {PROJECT_VERSION})")
        doc = step(doc, archive)
        version += 1
        doc["version"] = version
    return doc


def _open_zip(path: Path) -> zipfile.ZipFile:
    try:
        if path.is_dir():
            raise ReadError(path, None, "this is a folder, not a project file")
        return zipfile.ZipFile(path)
    except FileNotFoundError:
        raise ReadError(path, None, "no such file") from None
    except (zipfile.BadZipFile, EOFError, ValueError) as exc:
        raise ReadError(path, None, "not an Amorpha project: the file is not a complete zip archive "
                                    f"(another kind of file, or damaged or cut short) ({exc})") from None
    except OSError as exc:
        raise ReadError(path, None, f"cannot be read ({exc.strerror or exc})") from None


def _read_index(zf: zipfile.ZipFile, path: Path) -> dict:
    names = set(zf.namelist())
    if _INDEX not in names:
        if "meta.json" in names and "training.npz" in names:
            raise ReadError(path, None, "this is an Amorpha spectrum model, not a project "
                                        "(open it as a model)")
        raise ReadError(path, None, f"not an Amorpha project: the archive has no {_INDEX}")
    try:
        doc = json.loads(zf.read(_INDEX).decode("utf-8"))
    except ZIP_ERRORS + (ValueError,) as exc:
        raise ReadError(path, None, f"{_INDEX} is damaged ({exc})") from None
    if not isinstance(doc, dict) or doc.get("format") != PROJECT_FORMAT:
        raise ReadError(path, None, f"not an Amorpha project ({_INDEX} does not say format "
                                    f"{PROJECT_FORMAT!r})")
    version = doc.get("version")
    if not isinstance(version, int) or isinstance(version, bool):
        raise ReadError(path, None, f"{_INDEX} is damaged (version {version!r} is not a whole number)")
    if version > PROJECT_VERSION:
        raise ReadError(path, None, f"made by a newer Amorpha (project version {version}, this one reads "
                                    f"up to {PROJECT_VERSION}); update Amorpha to open it")
    return doc


def peek_project(path) -> dict:
    """``project.json`` of a project without reading its arrays (names, meta, view), for a list
    of recent projects or a preview. Raises ReadError like :func:`load_project`."""
    path = Path(os.fspath(path))
    with _open_zip(path) as zf:
        return _read_index(zf, path)


def looks_like_project(path) -> bool:
    """True when ``path`` is a zip archive with a ``project.json`` (cheap; for drag and drop)."""
    try:
        with zipfile.ZipFile(os.fspath(path)) as zf:
            return _INDEX in zf.namelist()
    except (OSError, zipfile.BadZipFile, ValueError, EOFError):
        return False


def _load_model(archive: _Archive, member: str, path):
    """The model in ``member``, read through a temporary file; its ``source_path`` is the
    project's ``path`` (the file it came from: the temporary one is gone, and its name was shown
    as the model's origin)."""
    from .surrogate.model import SpectrumModel

    data = archive.read(member)
    with tempfile.TemporaryDirectory(prefix="amorpha-project-") as tmp:
        file = Path(tmp) / "model.amodel"
        file.write_bytes(data)
        try:
            model = SpectrumModel.load(file)
        except ReadError as exc:
            raise _Damaged(member, f"is not a usable model ({exc.reason})") from None
    model.source_path = os.fspath(path)
    return model


def _build(doc: dict, archive: _Archive, path, cancel) -> Project:
    dec = _Decoder(archive)
    project = Project(view=doc.get("view") or {}, meta=doc.get("meta") or {})
    for entry in doc.get("structures", []):
        check_cancel(cancel)
        project.structures[entry["name"]] = dec.atoms(entry["atoms"])
    for entry in doc.get("spectra", []):
        check_cancel(cancel)
        energy, intensity = archive.array(entry["energy"]), archive.array(entry["intensity"])
        if energy.ndim != 1 or intensity.shape != energy.shape:
            raise _Damaged(entry["intensity"], f"has shape {intensity.shape}, which does not fit {energy.shape} energies")
        project.spectra[entry["name"]] = Spectrum(
            energy, intensity, label=entry.get("label", ""), source=entry.get("source", ""),
            element=entry.get("element", ""), edge=entry.get("edge", ""), site=entry.get("site"),
            broadening=dec.decode(entry.get("broadening", {})), meta=dec.decode(entry.get("meta", {})))
    for entry in doc.get("site_spectra", []):
        check_cancel(cancel)
        arrays = {k: archive.array(entry[k]) for k in ("energy", "intensity", "sites", "structures")}
        if "distance" in entry:  # predicted spectra: each site's distance from the model's training sites
            arrays["distance"] = archive.array(entry["distance"])
        for k in ("structures", "distance"):
            if k in arrays and arrays[k].shape != arrays["sites"].shape:
                raise _Damaged(entry[k], f"has shape {arrays[k].shape} for {arrays['sites'].shape} sites")
        try:
            project.site_spectra[entry["name"]] = SiteSpectra(
                arrays["energy"], arrays["intensity"], arrays["sites"], entry.get("element", ""),
                entry.get("edge", ""), entry.get("source", ""), arrays["structures"], list(entry.get("labels", [])),
                dec.decode(entry.get("meta", {})), arrays.get("distance"))
        except SpectrumError as exc:
            raise _Damaged(entry["intensity"], f"does not fit ({exc})") from None
    for entry in doc.get("results", []):
        check_cancel(cancel)
        arrays = {k: archive.array(m) for k, m in entry.get("arrays", {}).items()}
        project.results[entry["name"]] = AnalysisResult(
            entry["kind"], arrays, dec.decode(entry.get("params", {})), entry.get("structure"))
    for entry in doc.get("models", []):
        check_cancel(cancel)
        project.models[entry["name"]] = _load_model(archive, entry["member"], path)
        if "trained_on" in entry:  # (projects before it was stored have none)
            project.trained_sites[entry["name"]] = _read_trained_on(entry, project.structures)
    return project


def _read_trained_on(entry: dict, structures: dict) -> tuple[str, np.ndarray]:
    """A model entry's ``trained_on``: (structure name, atom indices), checked against the
    structure (an edited file must not highlight atoms it lacks)."""
    given = entry["trained_on"]
    structure, atoms = (given.get("structure"), given.get("atoms")) if isinstance(given, dict) else (None, None)
    whole = isinstance(atoms, list) and all(isinstance(i, int) and not isinstance(i, bool) for i in atoms)
    problem = _sites_problem(structures, structure, np.array(atoms, dtype=np.int64)) if whole else \
        "its atoms are not a list of whole numbers"
    if problem:
        raise _Damaged(_INDEX, f"names the sites model {entry['name']!r} learnt from wrongly: {problem}")
    return structure, np.array(atoms, dtype=np.int64)


def load_project(path, progress: Optional[ProgressFn] = None, cancel: Optional[CancelFn] = None) -> Project:
    """Read a project saved by :func:`save_project` (this or an older version).

    Every failure is a :class:`ReadError` saying what is wrong and, for a damaged member, which one;
    the file is only read. A cancel raises :class:`~amorpha.engine.tasks.Cancelled`. Temporary
    files left beside ``path`` by an interrupted save are not looked at.
    """
    path = Path(os.fspath(path))
    with _open_zip(path) as zf:
        doc = _read_index(zf, path)
        try:
            members = doc["members"]
            manifest = {m["name"]: m for m in members}
            sizes = {zi.filename: zi.file_size for zi in zf.infolist()}
            for name, entry in manifest.items():
                if name not in sizes:
                    raise _Damaged(name, "is missing from the file")
                if sizes[name] != entry["size"]:
                    raise _Damaged(name, f"has {sizes[name]} bytes, the manifest says {entry['size']}")
            tick = _Progress(sum(m["size"] for m in members), progress, cancel, "opening the project")
            report(progress, 0.0, "opening the project")
            archive = _Archive(zf, manifest, tick)
            doc = _upgrade(doc, archive, path)
            project = _build(doc, archive, path, cancel)
        except _Damaged as exc:
            raise ReadError(path, None, f"the project is damaged: {exc.member} {exc.reason}") from None
        except (KeyError, TypeError, ValueError, AttributeError, IndexError, RecursionError) as exc:
            raise ReadError(path, None, f"{_INDEX} is damaged ({type(exc).__name__}: {exc})") from None
    report(progress, 1.0, "project opened")
    return project

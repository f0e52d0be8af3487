"""Numbered atom types: files that number their species instead of naming them.

RMC++ cfg files never name their species, LAMMPS files often do not. Read without ``symbols=``,
such a model shows type ``t`` as atomic number ``t`` (type 1 as H, type 2 as He, ...), and the
reader marks the frame with ``atoms.info[UNNAMED_KEY]`` = the number of types. This module says
which types a frame has and checks the element symbols a person gives them.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Optional, Sequence

import numpy as np
from ase import Atoms
from ase.data import atomic_numbers, chemical_symbols

from ..errors import ParameterError

#: ``atoms.info`` key a reader sets when the elements are placeholders for numbered types.
UNNAMED_KEY = "unnamed_types"
#: Formats whose reader takes ``symbols=`` to name the types.
SYMBOL_FORMATS = ("rmc-cfg", "lammps-data", "lammps-dump-text")
_ELEMENTS = {s.lower(): s for s in chemical_symbols[1:]}


@dataclass(frozen=True)
class AtomType:
    """One numbered type of a file: its number (from 1), how many atoms, the element shown now."""

    type: int
    count: int
    element: str


def unnamed_types(atoms: Atoms) -> list[AtomType]:
    """The types of a frame read without element names, in file order; [] when it has names."""
    n = int(atoms.info.get(UNNAMED_KEY, 0) or 0)
    if n <= 0:
        return []
    counts = np.bincount(atoms.numbers, minlength=n + 1)
    return [AtomType(t, int(counts[t]), chemical_symbols[t] if t < len(chemical_symbols) else "?")
            for t in range(1, n + 1)]


def named_types(atoms: Atoms, symbols) -> list[AtomType]:
    """The types of a frame read with ``symbols=`` (from its ``rmc_type`` or LAMMPS ``type``
    column), so they can be named again; [] without a type column."""
    types = atoms.arrays.get("rmc_type", atoms.arrays.get("type"))
    if types is None:
        return []
    counts = np.bincount(np.asarray(types, dtype=np.int64), minlength=len(symbols) + 1)
    return [AtomType(t, int(counts[t]), str(s)) for t, s in enumerate(symbols, start=1)]


def check_symbols(symbols: Iterable[str], n_types: Optional[int] = None,
                  names: Optional[Sequence[str]] = None) -> list[str]:
    """Element symbols for types 1, 2, ... in order, spelled as ASE spells them ("si" -> "Si").

    Raises :class:`ParameterError` naming the first bad entry (as ``names[k]`` when given, else
    "type k"), or a wrong count when ``n_types`` is given.
    """
    given = [str(s).strip() for s in symbols]
    if n_types is not None and len(given) != n_types:
        raise ParameterError("symbols", f"{len(given)} element{'s' if len(given) != 1 else ''} given "
                                        f"for {n_types} atom types")
    named = []
    for t, text in enumerate(given, start=1):
        entry = names[t - 1] if names is not None else f"type {t}"
        if not text:
            raise ParameterError("symbols", f"{entry} has no element symbol")
        element = _ELEMENTS.get(text.lower())
        if element is None:
            raise ParameterError("symbols", f"{entry}: {text!r} is not an element symbol")
        named.append(element)
    return named


def parse_symbols(text: str) -> list[str]:
    """``"Si,O"`` or ``"Si O"`` -> ``["Si", "O"]`` (checked, without a type count)."""
    return check_symbols(text.replace(",", " ").split())


#: Per-atom columns a reader gives an unnamed frame; everything else was computed with the
#: placeholder elements and is dropped when the types are named.
_READER_ARRAYS = ("rmc_type", "type", "id")
#: ``atoms.info`` key of the symbols :func:`with_type_names` gave, so they can be changed again.
TYPE_SYMBOLS_KEY = "type_symbols"


def memory_types(atoms: Atoms) -> list[AtomType]:
    """The types of a frame that :func:`with_type_names` can (re)name without its file: unnamed, or
    named by it before; [] otherwise."""
    if atoms.info.get(UNNAMED_KEY):
        return unnamed_types(atoms)
    symbols = atoms.info.get(TYPE_SYMBOLS_KEY)
    return named_types(atoms, list(symbols)) if symbols is not None and len(symbols) else []


def with_type_names(atoms: Atoms, symbols) -> Atoms:
    """A copy of the frame with type ``t`` shown as ``symbols[t - 1]``: for a model with no file
    left to read again (one restored from a project saved before its types were named).

    Raises :class:`ParameterError` when :func:`memory_types` finds nothing to name, or for bad
    symbols.
    """
    found = memory_types(atoms)
    if not found:
        raise ParameterError("symbols", "this model has no numbered atom types to name")
    z = np.array([atomic_numbers[s] for s in check_symbols(symbols, len(found))])
    if atoms.info.get(UNNAMED_KEY):
        types = np.asarray(atoms.numbers, dtype=np.int64)
    else:
        types = np.asarray(atoms.arrays.get("rmc_type", atoms.arrays.get("type")), dtype=np.int64)
    info = {k: v for k, v in atoms.info.items() if k not in (UNNAMED_KEY, "warning")}
    info[TYPE_SYMBOLS_KEY] = [chemical_symbols[x] for x in z]
    named = Atoms(numbers=z[types - 1], positions=atoms.positions, cell=atoms.cell, pbc=atoms.pbc, info=info)
    for key in _READER_ARRAYS:
        if key in atoms.arrays:
            named.new_array(key, np.array(atoms.arrays[key]))
    if not any(key in named.arrays for key in ("rmc_type", "type")):
        named.new_array("type", types)
    return named


def element_types(atoms: Atoms) -> list[AtomType]:
    """The elements of a frame as types 1, 2, ... in order of first appearance, for renaming them
    (:func:`with_elements_renamed`): some files name their atoms wrongly (matscipy's aSi.cfg
    calls its 64 Si atoms H)."""
    z, first, counts = np.unique(np.asarray(atoms.numbers), return_index=True, return_counts=True)
    return [AtomType(t, int(counts[k]), chemical_symbols[z[k]])
            for t, k in enumerate(np.argsort(first), start=1)]


def with_elements_renamed(atoms: Atoms, symbols, computed: Iterable[str] = ()) -> Atoms:
    """A copy of the frame with the k-th element of :func:`element_types` made ``symbols[k]``
    (two may become one). Per-atom masses go (they were the old elements'), and so do the
    per-atom columns named in ``computed`` (results of analyses of the old elements); the file's
    own columns (forces, energies) are kept."""
    found = element_types(atoms)
    z = [atomic_numbers[s] for s in check_symbols(symbols, len(found), [t.element for t in found])]
    mapping = np.zeros(int(np.max(atoms.numbers)) + 1, np.int64)
    for t, new in zip(found, z):
        mapping[atomic_numbers[t.element]] = new
    renamed = atoms.copy()
    renamed.numbers = mapping[atoms.numbers]
    for key in {"masses", *computed} & set(renamed.arrays) - {"numbers", "positions"}:
        del renamed.arrays[key]
    renamed.info.pop("warning", None)  # said of the old names
    return renamed

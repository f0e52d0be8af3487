"""RMC++ configuration files (version 3 ``.cfg``), which ASE does not read.

The header gives atom counts per type and three *half*-box vectors H; atom lines hold reduced
coordinates s in [-1, 1] (the box centre at 0), so r = s·H. We shift to r = (s + 1)·H, i.e. the
usual [0, L) box with cell = 2H, because every other reader (and the viewer) assumes that.
The file never names its species, so they come from ``symbols=`` or stay visible placeholders.
"""
from __future__ import annotations

from typing import Optional, Sequence

import numpy as np
from ase import Atoms
from ase.data import atomic_numbers, chemical_symbols

from ..tasks import CancelFn, ProgressFn
from ._text import convert_column, iter_rows
from .atom_types import UNNAMED_KEY
from .errors import StructureReadError

MARKERS = (b"format configuration file", b"molecules of all types", b"Defining vectors are")


def looks_like_rmc(head: bytes) -> bool:
    """True if the first kilobytes read like an RMC++ cfg (rather than an AtomEye cfg)."""
    return any(marker in head for marker in MARKERS) and b"Number of particles" not in head


def _ints_before(line: str, words: str) -> int:
    return int(line.split(words)[0].split()[-1])


def _parse_header(lines: list[bytes], path):
    """(counts per type, half-box matrix, index of the first coordinate line)."""
    total = ntypes = None
    half = None
    counts: list[int] = []
    i = 0
    while i < len(lines):
        text = lines[i].decode("utf-8", errors="replace")
        lineno = i + 1
        try:
            if "molecules of all types" in text:
                total = _ints_before(text, "molecules of all types")
            elif "types of molecules" in text:
                ntypes = _ints_before(text, "types of molecules")
            elif "largest number of atoms in a molecule" in text:
                if int(text.split()[0]) != 1:
                    raise StructureReadError(path, lineno, "molecules with several atoms are not supported")
            elif "Euler angles are provided" in text:
                if int(text.split()[0]) != 0:
                    raise StructureReadError(path, lineno, "Euler angles are not supported")
            elif text.strip().startswith("T ") or text.strip() == "T":
                raise StructureReadError(path, lineno, "truncated-octahedron boxes are not supported")
            elif "Defining vectors are" in text:
                half = np.array([[float(v) for v in lines[i + k].split()[:3]] for k in (1, 2, 3)])
                i += 3
            elif "molecules of type" in text:
                counts.append(_ints_before(text, "molecules of type"))
                nsites = int(lines[i + 1].split()[0])
                i += 1 + nsites
                if ntypes is not None and len(counts) == ntypes:
                    i += 1
                    while i < len(lines) and not lines[i].strip():
                        i += 1
                    break
        except (ValueError, IndexError):
            raise StructureReadError(path, lineno, f"cannot read this RMC++ header line: {text.strip()!r}") from None
        i += 1
    if total is None or ntypes is None or half is None or len(counts) != ntypes:
        raise StructureReadError(path, None, "incomplete RMC++ header (atom counts, types or box vectors missing)")
    if sum(counts) != total:
        raise StructureReadError(path, None, f"the type counts add up to {sum(counts)}, not {total}")
    return counts, half, i


def read_rmc_cfg(data: bytes, path, symbols: Optional[Sequence[str]] = None,
                 progress: Optional[ProgressFn] = None, cancel: Optional[CancelFn] = None) -> Atoms:
    """Atoms from the bytes of an RMC++ cfg file; ``symbols`` names the types in file order."""
    # The header is short; split only its first few hundred lines, never the coordinates.
    head_lines = data[:64 * 1024].split(b"\n")[:-1]
    counts, half, first = _parse_header(head_lines, path)
    offset = sum(len(line) + 1 for line in head_lines[:first])
    natoms = sum(counts)
    positions = np.empty((natoms, 3))
    for row0, table in iter_rows(data[offset:], natoms, 3, path=path, first_line=first + 1,
                                 describe=lambda found: f"expected 3 coordinates, found {found}",
                                 progress=progress, cancel=cancel):
        positions[row0:row0 + len(table)] = convert_column(
            table, np.float64, path=path, first_line=first + 1, row0=row0, what="a coordinate")
    types = np.repeat(np.arange(1, len(counts) + 1), counts)
    info = {}
    if symbols is not None:
        if len(symbols) != len(counts):
            raise StructureReadError(
                path, None, f"symbols= names {len(symbols)} species but the file has {len(counts)} atom types")
        unknown = [s for s in symbols if s not in atomic_numbers]
        if unknown:
            raise StructureReadError(path, None, f"symbols= holds unknown elements {unknown}")
        numbers = np.array([atomic_numbers[s] for s in symbols])[types - 1]
    else:
        numbers = types
        shown = ", ".join(f"type {t} -> {chemical_symbols[t]}" for t in range(1, len(counts) + 1))
        info["warning"] = ("RMC++ cfg files do not name their species; placeholder elements are "
                           f"used ({shown}). Name them in type order: symbols=[...] in Python, --symbols with amorpha-cli.")
        info[UNNAMED_KEY] = len(counts)
    atoms = Atoms(numbers=numbers, positions=(positions + 1.0) @ half, cell=2.0 * half,
                  pbc=True, info=info)
    atoms.new_array("rmc_type", types)
    return atoms

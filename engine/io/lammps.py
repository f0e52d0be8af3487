"""LAMMPS text dumps (scanned for frame offsets, each frame read by ASE) and data files.

LAMMPS knows atom *types*, not elements. ASE maps them to elements from an ``element`` column,
from masses, or from ``symbols=``; otherwise the type numbers become atomic numbers, which
would silently show type 1 as hydrogen, so we say so in ``atoms.info["warning"]``.
"""
from __future__ import annotations

import io
from typing import Optional, Sequence

from ase import Atoms
from ase.data import atomic_numbers
from ase.io.lammpsdata import read_lammps_data
from ase.io.lammpsrun import read_lammps_dump_text

from ..tasks import CancelFn, ProgressFn
from ._text import LineScanner
from .atom_types import UNNAMED_KEY
from .errors import StructureReadError
from .xyz import Frame

_TYPES_AS_NUMBERS = ("no element names in the file: LAMMPS types are kept as atomic numbers "
                     "(type 1 shows as H, type 2 as He, ...); name them in type order: symbols=[...] in "
                     "Python, --symbols with amorpha-cli")


def scan_dump(f, size: int, path, progress: Optional[ProgressFn] = None,
              cancel: Optional[CancelFn] = None) -> list[Frame]:
    """Byte ranges of every dump frame, reading only the ``ITEM:`` header lines."""
    scanner = LineScanner(f, size, progress, cancel, "finding frames")
    frames: list[Frame] = []
    while not scanner.skip_blank():
        start, first = scanner.tell(), scanner.lineno + 1
        line = scanner.readline()
        if not line.startswith(b"ITEM: TIMESTEP"):
            raise StructureReadError(path, first, f"expected 'ITEM: TIMESTEP', found {line[:40]!r}")
        natoms = None
        while True:
            line = scanner.readline()
            if line is None:
                raise StructureReadError(path, scanner.lineno, "the file ends inside a frame header")
            if line.startswith(b"ITEM: NUMBER OF ATOMS"):
                count = scanner.readline() or b""
                try:
                    natoms = int(count)
                except ValueError:
                    raise StructureReadError(path, scanner.lineno,
                                             f"expected the number of atoms, found {count[:40]!r}") from None
            elif line.startswith(b"ITEM: ATOMS"):
                break
        if natoms is None:
            raise StructureReadError(path, scanner.lineno, "the frame has no 'ITEM: NUMBER OF ATOMS'")
        got = scanner.skip(natoms)
        if got < natoms:
            raise StructureReadError(
                path, scanner.lineno + 1,
                f"the frame says {natoms} atoms but the file ends after {got} atom lines")
        frames.append(Frame(start, scanner.tell(), first))
    return frames


def _dump_columns(text: str) -> list[str]:
    for line in text.splitlines():
        if line.startswith("ITEM: ATOMS"):
            return line.split()[2:]
    return []


def read_dump_frame(buf: bytes, line0: int, path, symbols: Optional[Sequence[str]] = None) -> Atoms:
    """One dump frame through ASE, with a warning when elements had to be guessed."""
    text = buf.decode("utf-8", errors="strict")
    try:
        atoms = read_lammps_dump_text(io.StringIO(text), index=0,
                                      specorder=list(symbols) if symbols else None)
    except Exception as exc:
        raise StructureReadError(path, line0, f"in the frame starting here: {exc}") from None
    columns = _dump_columns(text)
    if "element" in columns:
        return atoms
    if "mass" in columns:
        atoms.info["warning"] = "elements were guessed from the 'mass' column"
    elif not symbols:
        _mark_unnamed(atoms)
    return atoms


def read_data_file(path, symbols: Optional[Sequence[str]] = None) -> Atoms:
    """A LAMMPS data file through ASE (atom style from the ``Atoms # style`` comment)."""
    z_of_type = {i + 1: atomic_numbers[s] for i, s in enumerate(symbols)} if symbols else None
    with open(path, encoding="utf-8") as fd:
        text = fd.read()
    atoms = read_lammps_data(io.StringIO(text), Z_of_type=z_of_type)
    if not symbols and "Type Labels" not in text:
        if "Masses" in text:
            atoms.info["warning"] = "elements were guessed from the masses"
        else:
            _mark_unnamed(atoms)
    return atoms


def _mark_unnamed(atoms: Atoms) -> None:
    """Type numbers kept as atomic numbers: say so, and mark the frame for ``unnamed_types``."""
    atoms.info["warning"] = _TYPES_AS_NUMBERS
    atoms.info[UNNAMED_KEY] = int(atoms.numbers.max()) if len(atoms) else 0

"""Open, validate and write structure files; every failure is a :class:`StructureReadError`.

``open_structure`` returns a lazy :class:`Trajectory`: opening finds the frames (byte offsets for
xyz-like files and LAMMPS dumps) and fully reads and validates the first one, so a broken file
fails at once; ``traj[i]`` later reads only frame ``i``. ASE reads the formats it knows; we add a
numpy fast path for (ext)xyz, which is what big models come in, plus sovapy xyz and RMC++ cfg.
"""
from __future__ import annotations

import re
import warnings
from pathlib import Path
from typing import Callable, Optional, Sequence, Union

import numpy as np
import ase.data
import ase.io
import ase.io.formats
from ase import Atoms
from ase.data import atomic_masses, chemical_symbols

from ..atomic import CountingWriter, atomic_write, extxyz_characters
from ..errors import is_number
from ..tasks import CancelFn, Cancelled, ProgressFn, check_cancel, report
from . import lammps, xyz
from .atom_types import SYMBOL_FORMATS
from .errors import StructureReadError
from .rmc_cfg import looks_like_rmc, read_rmc_cfg
from ..words import counted

LARGE_FILE_BYTES = 512 * 2**20

# format name -> (extensions, description); the order is the order shown to users.
FORMATS = {
    "xyz": ((".xyz",), "XYZ"),
    "extxyz": ((".extxyz",), "extended XYZ"),
    "sovapy-xyz": ((), "sovapy XYZ (cell on line 2)"),
    "cif": ((".cif",), "CIF"),
    "vasp": ((".vasp", ".poscar"), "VASP POSCAR/CONTCAR"),
    "lammps-data": ((".data", ".lmp"), "LAMMPS data"),
    "lammps-dump-text": ((".dump", ".lammpstrj"), "LAMMPS text dump"),
    "cfg": ((".cfg",), "AtomEye cfg"),
    "rmc-cfg": ((), "RMC++ cfg"),
    "proteindatabank": ((".pdb",), "PDB"),
    "xsf": ((".xsf",), "XCrySDen XSF"),
}
_ALIASES = {"pdb": "proteindatabank", "poscar": "vasp", "contcar": "vasp",
            "lammps-dump": "lammps-dump-text", "lammpstrj": "lammps-dump-text",
            "lammps": "lammps-data", "sovapy": "sovapy-xyz", "rmc": "rmc-cfg",
            "atomeye": "cfg", "atomeye-cfg": "cfg"}
_VASP_NAMES = ("POSCAR", "CONTCAR")

SUPPORTED_EXTENSIONS: tuple[str, ...] = tuple(ext for exts, _ in FORMATS.values() for ext in exts)

FILE_FILTERS: list[str] = [
    "Structures (" + " ".join("*" + e for e in SUPPORTED_EXTENSIONS)
    + " " + " ".join(n + "*" for n in _VASP_NAMES) + ")",
    *[f"{desc} ({' '.join('*' + e for e in exts)}"
      + (" POSCAR* CONTCAR*" if name == "vasp" else "") + ")"
      for name, (exts, desc) in FORMATS.items() if exts],
    "All files (*)",
]

_XYZ_LIKE = {"xyz", "extxyz", "sovapy-xyz"}


# ----------------------------------------------------------------------------- format detection

def _supported_list() -> str:
    return ", ".join(SUPPORTED_EXTENSIONS) + ", POSCAR, CONTCAR"


def _format_from_name(path: Path) -> Optional[str]:
    upper = path.name.upper()
    if any(upper.startswith(n) for n in _VASP_NAMES):
        return "vasp"
    suffix = path.suffix.lower()
    for name, (exts, _) in FORMATS.items():
        if suffix in exts:
            return name
    return None


_FLOATS3 = re.compile(rb"^\s*[-+.\deE]+\s+[-+.\deE]+\s+[-+.\deE]+\s*$")


def sniff_format(head: bytes) -> Optional[str]:
    """Guess a format from the first kilobytes of a file, or None if nothing fits."""
    lines = head.splitlines()
    first = lines[0].strip() if lines else b""
    if first.startswith(b"ITEM: TIMESTEP"):
        return "lammps-dump-text"
    if b"Number of particles" in head[:512]:
        return "cfg"
    if looks_like_rmc(head):
        return "rmc-cfg"
    if first.isdigit() and len(lines) > 1:
        return "xyz"
    if re.search(rb"(?m)^data_", head) and (b"_cell_length_a" in head or b"_atom_site" in head):
        return "cif"
    if re.search(rb"(?m)^(CRYST1|ATOM  |HETATM)", head):
        return "proteindatabank"
    if re.search(rb"(?m)^\s*(PRIMVEC|CRYSTAL|ATOMS|ANIMSTEPS)\s*$", head):
        return "xsf"
    if re.search(rb"(?m)^\s*\d+\s+atoms\s*$", head) and b"atom types" in head:
        return "lammps-data"
    if (len(lines) > 6 and len(lines[1].split()) == 1 and is_number(lines[1].strip())
            and all(_FLOATS3.match(lines[k]) for k in (2, 3, 4))):
        return "vasp"
    return None


def _looks_binary(head: bytes) -> bool:
    """Binary data, not text in some encoding: a NUL byte, or control characters that no text
    file holds. Text that is not UTF-8 (an "é" in Latin-1 on a comment line) is not binary: the
    reader names its line instead."""
    if b"\x00" in head:
        return True
    control = sum(head.count(bytes([c])) for c in range(32) if c not in (9, 10, 12, 13))
    return control > 0.01 * len(head)


def _resolve_format(path: Path, format: Optional[str], head: bytes) -> str:
    if format is not None:
        name = _ALIASES.get(format.lower(), format.lower())
        if name not in FORMATS and name not in ase.io.formats.ioformats:
            raise StructureReadError(path, None, f"unknown format {format!r}; supported: {', '.join(FORMATS)}")
    else:
        name = _format_from_name(path)
    if _looks_binary(head):
        raise StructureReadError(path, None, "this is binary data, not a text structure file")
    if name == "cfg" and looks_like_rmc(head):
        return "rmc-cfg"
    if name is None:
        name = sniff_format(head)
        if name is None:
            what = f"'{path.suffix}'" if path.suffix else "(no extension)"
            raise StructureReadError(path, None, f"unknown file type {what}; supported: {_supported_list()}")
    return name


# ----------------------------------------------------------------------------- validation

#: Atoms per Å³ above which a periodic cell is refused: diamond, the densest solid, holds 0.18.
MAX_NUMBER_DENSITY = 1.0


def validate_atoms(atoms: Atoms, path=None, *, first_line: Optional[int] = None) -> None:
    """Refuse structures the rest of the program cannot handle, naming the culprit.

    ``first_line`` is the file line of atom 0, when the reader knows it, to point at a bad atom.
    """
    if len(atoms) == 0:
        raise StructureReadError(path, None, "the file holds no atoms")
    numbers = atoms.numbers
    bad = np.flatnonzero((numbers < 0) | (numbers >= len(ase.data.chemical_symbols)))
    if bad.size:  # 0 is ASE's "X", which an xyz file may hold
        i = int(bad[0])
        raise StructureReadError(path, first_line + i if first_line is not None else None,
                                 f"atom {i} has the atomic number {numbers[i]}, which no element has")
    pos = atoms.positions
    bad = np.flatnonzero(~np.isfinite(pos).all(axis=1))
    if bad.size:
        i = int(bad[0])
        line = first_line + i if first_line is not None else None
        raise StructureReadError(path, line, f"atom {i} ({atoms[i].symbol}) has a non-finite "
                                 f"coordinate {tuple(float(v) for v in pos[i])}")
    cell = np.asarray(atoms.cell)
    if not np.isfinite(cell).all():
        raise StructureReadError(path, None, "the cell holds non-finite numbers")
    periodic = cell[np.asarray(atoms.pbc, dtype=bool)]
    if len(periodic) == 0:
        return
    lengths = np.linalg.norm(periodic, axis=1)
    scale = max(float(lengths.max()), 1.0)
    gram = periodic @ periodic.T
    if lengths.min() < 1e-8 or np.linalg.det(gram) ** 0.5 < 1e-8 * scale ** len(periodic):
        raise StructureReadError(path, None, "the cell has zero volume (or a zero or parallel "
                                 "vector) along a periodic direction")
    if len(periodic) == 3:
        density = len(atoms) / abs(float(np.linalg.det(cell)))
        if density > MAX_NUMBER_DENSITY:
            raise StructureReadError(path, None, f"{len(atoms):,} atoms in a cell of {abs(np.linalg.det(cell)):.4g} Å³ "
                                     f"is {density:.3g} atoms/Å³, more than five times the densest solid "
                                     f"(diamond, 0.18): the cell or the coordinates are in other units "
                                     f"(nm?) or wrong, and the bonds alone would fill the memory")


def size_warning(path) -> Optional[str]:
    """A sentence to show before reading a file over :data:`LARGE_FILE_BYTES`, else None."""
    path = Path(path)
    try:
        size = path.stat().st_size
    except OSError:
        return None
    if size <= LARGE_FILE_BYTES:
        return None
    # Text files need the frame's bytes plus the arrays in memory: about 1.5x the file size.
    return (f"{path.name} is {_human(size)}; reading it may take minutes and "
            f"about {_human(1.5 * size)} of memory")


def _human(nbytes: float) -> str:
    return f"{nbytes / 2**30:.1f} GB" if nbytes >= 2**30 else f"{nbytes / 2**20:.0f} MB"


# ----------------------------------------------------------------------------- trajectory

FrameReader = Callable[[int, Optional[ProgressFn], Optional[CancelFn]], Atoms]


class Trajectory(Sequence):
    """Frames of a structure file, each read on demand (``traj[i]`` reads only frame ``i``).

    Each read opens the file anew, so two threads may read different frames at once.
    """

    def __init__(self, path: Path, format: str, count: int, reader: FrameReader,
                 first: Optional[Atoms] = None) -> None:
        self.path = path
        self.format = format
        self._count = count
        self._reader = reader
        self._first = first  # the validated frame 0 from open, handed out once
        self.symbols: Optional[tuple[str, ...]] = None  # the symbols= it was opened with

    @property
    def takes_symbols(self) -> bool:
        """True if opening the file again with ``symbols=`` names its atom types."""
        return self.format in SYMBOL_FORMATS

    def __len__(self) -> int:
        return self._count

    def __getitem__(self, index):
        if isinstance(index, slice):
            return [self.read(i) for i in range(*index.indices(self._count))]
        return self.read(index)

    def read(self, index: int, progress: Optional[ProgressFn] = None,
             cancel: Optional[CancelFn] = None) -> Atoms:
        """Frame ``index`` (negative counts from the end), with progress and cancel."""
        i = int(index)
        if i < 0:
            i += self._count
        if not 0 <= i < self._count:
            raise IndexError(f"frame {index} out of range for {self._count} frames")
        if i == 0 and self._first is not None:
            atoms, self._first = self._first, None
            return atoms
        with _as_read_error(self.path):
            return self._reader(i, progress, cancel)

    def __repr__(self) -> str:
        return f"Trajectory({str(self.path)!r}, format={self.format!r}, frames={self._count})"


class _as_read_error:
    """Turn any reader failure into a StructureReadError; cancellation passes through."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.format = None  # the format it was being read as, once known

    def __enter__(self):
        return self

    def __exit__(self, etype, exc, tb):
        if exc is None or isinstance(exc, (StructureReadError, Cancelled)):
            return False
        if not isinstance(exc, Exception):
            return False  # KeyboardInterrupt, SystemExit
        raise _convert(self.path, exc, self.format) from exc


def _convert(path: Path, exc: Exception, fmt: Optional[str] = None) -> StructureReadError:
    if isinstance(exc, UnicodeDecodeError):
        line = _first_undecodable_line(path)
        return StructureReadError(path, line, "the file is not UTF-8 text")
    if isinstance(exc, MemoryError):
        return StructureReadError(path, None, "not enough memory to read this file")
    if isinstance(exc, IsADirectoryError):
        return StructureReadError(path, None, "this is a folder, not a file")
    if isinstance(exc, FileNotFoundError):
        return StructureReadError(path, None, "no such file")
    if isinstance(exc, PermissionError):
        return StructureReadError(path, None, "permission denied")
    text = str(exc).strip()
    said = f"{type(exc).__name__}: {text}" if text else type(exc).__name__
    # what a reader's own exception means, where it means one thing (ASE's LAMMPS reader runs out
    # of lines as StopIteration; a CIF cell with a 0° angle is a singular matrix)
    if isinstance(exc, (StopIteration, EOFError)):
        return StructureReadError(path, None, f"it ends before the data its header announces: it was cut short, "
                                              f"or its header counts more atoms than it lists ({said})")
    if isinstance(exc, np.linalg.LinAlgError):
        return StructureReadError(path, None, f"its cell cannot be built: its lengths or angles give no volume "
                                              f"(an angle of 0° or 180°?) ({said})")
    if fmt is None:
        return StructureReadError(path, None, f"cannot read this file ({said})")
    # a reader's bare assertion says nothing: name the format, and that the name chose it
    return StructureReadError(path, None, f"cannot read this file as {fmt} (the {fmt} reader failed: {said}); "
                                          f"if it is not {fmt}, give it the extension of its real format")


def _first_undecodable_line(path: Path) -> Optional[int]:
    try:
        data = path.read_bytes()
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return data.count(b"\n", 0, exc.start) + 1
    except OSError:
        pass
    return None


def _read_range(path: Path, start: int, stop: int) -> bytes:
    with open(path, "rb") as f:
        f.seek(start)
        return f.read(stop - start)


def _open_scanned(path: Path, fmt: str, size: int, progress, cancel, symbols) -> Trajectory:
    """xyz-like files and LAMMPS dumps: scan frame offsets, decode frames on demand."""
    tail: list[StructureReadError] = []
    with open(path, "rb") as f:
        if fmt == "lammps-dump-text":
            frames = lammps.scan_dump(f, size, path, _span(progress, 0.0, 0.3), cancel)
        else:
            frames = xyz.scan_frames(f, size, path, _span(progress, 0.0, 0.3), cancel, tail)
    if not frames:
        raise StructureReadError(path, None, "the file holds no atoms")

    def decode(i: int, prog=None, canc=None) -> tuple[Atoms, str]:
        frame = frames[i]
        buf = _read_range(path, frame.start, frame.stop)
        if fmt == "lammps-dump-text":
            atoms, kind = lammps.read_dump_frame(buf, frame.line, path, symbols), fmt
            validate_atoms(atoms, path)
        else:
            atoms, kind = xyz.read_frame(buf, frame.line, path, prog, canc)
            validate_atoms(atoms, path, first_line=frame.line + 2)
        return atoms, kind

    first, kind = decode(0, _span(progress, 0.3, 1.0), cancel)
    if tail:
        after = (f"the {len(frames)} complete frames before it are shown" if len(frames) > 1
                 else "the complete frame before it is shown")
        note = f"{tail[0]} ({after}; the rest is ignored)"
        first.info["warning"] = "; ".join(filter(None, (first.info.get("warning"), note)))
    return Trajectory(path, kind, len(frames), lambda i, p=None, c=None: decode(i, p, c)[0], first)


def _span(progress, lo, hi):
    if progress is None:
        return None
    return lambda fraction, message="": progress(lo + (hi - lo) * fraction, message)


def _read_whole(path: Path, fmt: str, progress, cancel, symbols) -> list[Atoms]:
    """Small single-shot formats: all frames at once, through ASE or our RMC reader."""
    if fmt == "rmc-cfg":
        return [read_rmc_cfg(path.read_bytes(), path, symbols, progress, cancel)]
    if fmt == "lammps-data":
        return [lammps.read_data_file(path, symbols)]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        frames = ase.io.read(path, index=":", format=fmt)
    if isinstance(frames, Atoms):
        frames = [frames]
    if fmt == "cif":
        _check_cif_cell(path, frames)
    notes = sorted({str(w.message) for w in caught})
    if fmt == "cfg" and frames:
        notes += filter(None, [_mass_note(frames[0])])
    if notes and frames:
        frames[0].info.setdefault("warning", "; ".join(notes))
    return list(frames)


def _mass_note(atoms: Atoms) -> Optional[str]:
    """What an AtomEye cfg's own ``mass`` column says against its element names, when they
    disagree: matscipy's aSi.cfg names its atoms H and gives them 28.0855 u, silicon's mass."""
    mass = atoms.arrays.get("mass")
    if mass is None or np.shape(mass) != (len(atoms),):
        return None
    expected = atomic_masses[atoms.numbers]
    wrong = np.flatnonzero(np.abs(np.asarray(mass, float) - expected) > 0.01 * expected)
    if not wrong.size:
        return None
    k = int(wrong[0])
    like = int(np.argmin(np.abs(atomic_masses[1:] - float(mass[k])))) + 1
    return (f"the file's mass column disagrees with its element names for {wrong.size:,} of "
            f"{counted(len(atoms), 'atom')}: atom {k} is named {chemical_symbols[atoms.numbers[k]]} "
            f"but given {float(mass[k]):.4g} u, the mass of {chemical_symbols[like]}; if the names "
            "are wrong, File › Rename Elements… renames them")


_CIF_CELL = ("_cell_length_a", "_cell_length_b", "_cell_length_c",
             "_cell_angle_alpha", "_cell_angle_beta", "_cell_angle_gamma")


def _check_cif_cell(path: Path, frames: list[Atoms]) -> None:
    """Refuse a CIF whose fractional coordinates have no complete cell to scale them: ASE then
    takes them as Å, and a 5 Å cell without its angles became two atoms 0.87 Å apart, bonded."""
    if all(frame.cell.rank == 3 for frame in frames):
        return
    text = path.read_text(encoding="utf-8", errors="replace").lower()
    if "_atom_site_fract_" not in text:
        return  # Cartesian coordinates of a molecule need no cell
    missing = [key for key in _CIF_CELL if key not in text]
    raise StructureReadError(path, None, "its atoms are given in fractional coordinates but the cell "
                             "is incomplete" + (f" (no {', '.join(missing)})" if missing else "")
                             + ", so they cannot be placed")


def open_structure(path, *, format: Optional[str] = None, progress: Optional[ProgressFn] = None,
                   cancel: Optional[CancelFn] = None,
                   symbols: Optional[Sequence[str]] = None) -> Trajectory:
    """Open a structure file as a lazy :class:`Trajectory`; the first frame is read and checked.

    ``format`` overrides detection (an ASE format name or one of :data:`FORMATS`); ``symbols``
    names the atom types of formats that only number them (RMC++ cfg, LAMMPS).
    Raises :class:`StructureReadError` for anything wrong with the file, :class:`Cancelled`
    when ``cancel()`` turned True.
    """
    path = Path(path)
    with _as_read_error(path) as guard:
        if path.is_dir():
            raise StructureReadError(path, None, "this is a folder, not a file")
        if not path.exists():
            raise StructureReadError(path, None, "no such file")
        size = path.stat().st_size
        if size == 0:
            raise StructureReadError(path, None, "the file is empty")
        check_cancel(cancel)
        with open(path, "rb") as f:
            head = f.read(64 * 1024)
        if not head.strip():
            raise StructureReadError(path, None, "the file holds only blank lines")
        fmt = guard.format = _resolve_format(path, format, head)
        report(progress, 0.0, f"opening {path.name}")
        if fmt in _XYZ_LIKE or fmt == "lammps-dump-text":
            traj = _open_scanned(path, fmt, size, progress, cancel, symbols)
        else:
            frames = _read_whole(path, fmt, progress, cancel, symbols)
            check_cancel(cancel)
            if not frames:
                raise StructureReadError(path, None, "the file holds no atoms")
            validate_atoms(frames[0], path)
            traj = Trajectory(path, fmt, len(frames), lambda i, p=None, c=None: frames[i].copy(),
                              frames[0].copy())
        traj.symbols = tuple(symbols) if symbols is not None else None
        report(progress, 1.0, f"opened {path.name}")
        return traj


def read_structure(path, index: int = 0, **kw) -> Atoms:
    """One frame of a structure file (the first by default); same keywords as open_structure."""
    traj = open_structure(path, **kw)
    return traj.read(index, kw.get("progress"), kw.get("cancel"))


# ----------------------------------------------------------------------------- writing

def write_extxyz(atoms_or_frames: Union[Atoms, Sequence[Atoms]], path,
                 cancel: Optional[CancelFn] = None, progress: Optional[ProgressFn] = None) -> None:
    """Write extended xyz with every per-atom array as a column and ``info`` kept.

    Writes a temporary file beside the target and renames it, so a crash or a full disk never
    leaves a half-written file under the real name, and a cancel (checked every few MB as ASE
    writes, and before the rename) leaves whatever file was there before. Reals are written by
    ASE as ``%16.8f`` (8 decimals, the extxyz convention OVITO reads); integers and booleans
    exactly.
    """
    frames = [atoms_or_frames] if isinstance(atoms_or_frames, Atoms) else list(atoms_or_frames)
    total = max(sum(extxyz_characters(frame) for frame in frames), 1)
    written = 0

    def tick(characters: int) -> None:
        nonlocal written
        check_cancel(cancel)
        written += characters
        report(progress, min(written / total, 0.99), "writing atoms")

    with atomic_write(path, "w") as f:
        stream = CountingWriter(f, tick, every=2**20)
        for frame in frames:
            check_cancel(cancel)
            ase.io.write(stream, frame, format="extxyz")
            stream.count_pending()
        check_cancel(cancel)

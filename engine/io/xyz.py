"""xyz, extended xyz and sovapy xyz: frame offsets by scanning, frames decoded with numpy.

The three share the frame shape "count line, header line, count atom lines", so one scanner finds
the frames and one decoder reads them; only the header line is read differently. Frames whose
columns ASE treats specially (constraints, VEC lines, unusual types) are handed to ASE's own
reader, so the fast path never disagrees with ASE about what a file means.
"""
from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Optional

import numpy as np
from ase import Atoms
from ase.data import atomic_numbers
from ase.io import extxyz as ase_extxyz

from ..tasks import CancelFn, ProgressFn
from ._text import LineScanner, convert_column, iter_rows
from .errors import StructureReadError
from .sovapy_xyz import cell_from_header, cell_keyword, numbers_missing

DEFAULT_PROPERTIES = "species:S:1:pos:R:3"
_DTYPES = {"R": np.float64, "I": np.intc, "L": bool, "S": object}


@dataclass(frozen=True)
class Frame:
    """Where one frame lives: bytes [start, stop) and the file line of its first byte."""

    start: int
    stop: int
    line: int


def _count(line: Optional[bytes], path, lineno: int) -> int:
    text = (line or b"").strip()
    try:
        n = int(text)
    except ValueError:
        shown = text[:40].decode("utf-8", errors="replace")
        raise StructureReadError(
            path, lineno, f"expected the number of atoms, found {shown!r}") from None
    if n < 0:
        raise StructureReadError(path, lineno, f"the number of atoms is negative ({n})")
    return n


def _decode(raw: bytes, path, lineno: int) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise StructureReadError(
            path, lineno, f"not text: byte 0x{raw[exc.start]:02x} is not valid UTF-8") from None


def scan_frames(f, size: int, path, progress: Optional[ProgressFn] = None,
                cancel: Optional[CancelFn] = None, tail: Optional[list] = None) -> list[Frame]:
    """Byte ranges of every frame, reading only count and header lines.

    With a ``tail`` list, what follows the last complete frame and is not a frame (a run still
    writing its last frame; XANESNET's files, which repeat the absorber's line after the atoms)
    ends the scan instead of failing it: its :class:`StructureReadError` is appended to
    ``tail``. A file whose first frame is broken always raises.
    """
    scanner = LineScanner(f, size, progress, cancel, "finding frames")
    frames: list[Frame] = []
    while not scanner.skip_blank():
        try:
            frames.append(_scan_frame(scanner, path))
        except StructureReadError as exc:
            if tail is None or not frames:
                raise
            tail.append(exc)
            break
    return frames


def _scan_frame(scanner: LineScanner, path) -> Frame:
    start, first = scanner.tell(), scanner.lineno + 1
    natoms = _count(scanner.readline(), path, first)
    header = scanner.readline()
    if header is None:
        raise StructureReadError(path, first + 1, "the file ends before the comment line")
    missing = numbers_missing(_decode(header, path, first + 1))
    while missing > 0:
        more = scanner.readline()
        if more is None:
            raise StructureReadError(path, scanner.lineno + 1,
                                     "the file ends inside the TRI cell vectors")
        missing -= len(more.split())
    got = scanner.skip(natoms)
    if got < natoms:
        raise StructureReadError(
            path, scanner.lineno + 1,
            f"the frame says {natoms} atoms but the file ends after {got} atom lines")
    while (nxt := scanner.peek()) is not None and nxt.lstrip().startswith(b"VEC"):
        scanner.readline()
    return Frame(start, scanner.tell(), first)


def flavour(header: str) -> str:
    """'sovapy-xyz', 'extxyz' or 'xyz', judged from a frame's second line."""
    if cell_keyword(header):
        return "sovapy-xyz"
    if "Properties=" in header or "Lattice=" in header:
        return "extxyz"
    return "xyz"


def _header_info(comment: str, path, lineno: int) -> tuple[dict, Optional[np.ndarray], object]:
    """info, cell and pbc from an xyz comment line, following ASE's extxyz conventions."""
    comment = comment.strip()
    try:
        info = ase_extxyz.key_val_str_to_dict(comment) if comment else {}
    except Exception:
        if "Properties=" in comment or "Lattice=" in comment:
            raise StructureReadError(path, lineno, "cannot parse the extended xyz header line")
        info = {"comment": comment}  # a free-text comment of a plain xyz file
    pbc = info.pop("pbc", None)
    cell = None
    if "Lattice" in info:
        cell = np.asarray(info.pop("Lattice"), dtype=float).T
        if pbc is None:
            pbc = True
    return info, cell, pbc


def _parse_properties(spec: str, path, lineno: int) -> list[tuple[str, str, int]]:
    fields = spec.split(":")
    try:
        if len(fields) % 3:
            raise ValueError
        props = [(n, t, int(c)) for n, t, c in zip(fields[::3], fields[1::3], fields[2::3])]
    except ValueError:
        raise StructureReadError(path, lineno, f"cannot parse Properties={spec!r}") from None
    for name, ptype, cols in props:
        if ptype not in _DTYPES or cols < 1:
            raise StructureReadError(path, lineno, f"unsupported column {name}:{ptype}:{cols}")
    return props


def _fast_path_ok(props, body_has_vec: bool) -> bool:
    names = {name: (ptype, cols) for name, ptype, cols in props}
    has_species = names.get("species") == ("S", 1) or names.get("Z") == ("I", 1)
    return (names.get("pos") == ("R", 3) and has_species and "move_mask" not in names
            and not body_has_vec and len(names) == len(props))


def _species_numbers(col: np.ndarray, cache: dict, *, path, line0: int) -> np.ndarray:
    """Atomic numbers for a column of element symbols (capitalised like ASE does)."""
    uniq, inverse = np.unique(col, return_inverse=True)
    zs = np.empty(len(uniq), dtype=int)
    for k, raw in enumerate(uniq):
        z = cache.get(raw)
        if z is None:
            name = raw.decode("utf-8", errors="replace").capitalize()
            z = atomic_numbers.get(name)
            if z is None:
                row = int(np.flatnonzero(inverse == k)[0])
                raise StructureReadError(path, line0 + row, f"unknown element {name!r}")
            cache[raw] = z
        zs[k] = z
    return zs[inverse.ravel()]


def _describe_short(props):
    if [(n, t, c) for n, t, c in props] == [("species", "S", 1), ("pos", "R", 3)]:
        def describe(found: int) -> str:
            if found == 0:
                return "expected an atom line (element x y z), found an empty line"
            return f"expected 3 coordinates, found {found - 1}"
    else:
        spec = ":".join(f"{n}:{t}:{c}" for n, t, c in props)
        need = sum(c for _, _, c in props)

        def describe(found: int) -> str:
            return f"expected {need} columns ({spec}), found {found}"
    return describe


def _read_columns(body: bytes, natoms: int, props, *, path, line0, progress, cancel) -> dict:
    """Per-property arrays for the atom lines in ``body`` (ASE names and dtypes)."""
    out: dict[str, np.ndarray] = {}
    for name, ptype, cols in props:
        shape = (natoms,) if cols == 1 else (natoms, cols)
        out[name] = np.empty(shape, dtype=int if name == "species" else _DTYPES[ptype])
    need = sum(c for _, _, c in props)
    cache: dict = {}
    for row0, table in iter_rows(body, natoms, need, path=path, first_line=line0,
                                 describe=_describe_short(props), progress=progress,
                                 cancel=cancel):
        rows = slice(row0, row0 + len(table))
        col = 0
        for name, ptype, cols in props:
            part = table[:, col] if cols == 1 else table[:, col:col + cols]
            col += cols
            if name == "species":
                out[name][rows] = _species_numbers(part, cache, path=path, line0=line0 + row0)
            elif ptype == "S":
                out[name][rows] = part.astype(str)
            else:
                out[name][rows] = convert_column(part, _DTYPES[ptype], path=path,
                                                 first_line=line0, row0=row0, what=name)
    return out


def _split_header(buf: bytes, path, line0: int) -> tuple[int, str, int, bytes]:
    """(natoms, header text, number of header lines, atom-line bytes) of one frame."""
    first = buf.index(b"\n") if b"\n" in buf else len(buf)
    natoms = _count(buf[:first], path, line0)
    end = buf.find(b"\n", first + 1)
    end = len(buf) if end < 0 else end
    header = _decode(buf[first + 1:end], path, line0 + 1).rstrip("\r")
    nlines = 2
    missing = numbers_missing(header)
    while missing > 0:
        nxt = buf.find(b"\n", end + 1)
        nxt = len(buf) if nxt < 0 else nxt
        more = _decode(buf[end + 1:nxt], path, line0 + nlines)
        header += " " + more.strip()
        missing -= len(more.split())
        end, nlines = nxt, nlines + 1
    return natoms, header, nlines, buf[end + 1:]


def read_frame(buf: bytes, line0: int, path, progress: Optional[ProgressFn] = None,
               cancel: Optional[CancelFn] = None) -> tuple[Atoms, str]:
    """Decode one frame's bytes into Atoms; also return the flavour it was read as."""
    natoms, header, nlines, body = _split_header(buf, path, line0)
    kind = flavour(header)
    if kind == "sovapy-xyz":
        try:
            cell = cell_from_header(header)
        except ValueError as exc:
            raise StructureReadError(path, line0 + 1, str(exc)) from None
        info, pbc, props = {}, True, _parse_properties(DEFAULT_PROPERTIES, path, line0 + 1)
    else:
        info, cell, pbc = _header_info(header, path, line0 + 1)
        props = _parse_properties(info.pop("Properties", DEFAULT_PROPERTIES), path, line0 + 1)
        has_vec = b"\nVEC" in body or body.lstrip().startswith(b"VEC")
        if not _fast_path_ok(props, has_vec and natoms > 0):
            return _read_with_ase(buf, path, line0), kind
    columns = _read_columns(body, natoms, props, path=path, line0=line0 + nlines,
                            progress=progress, cancel=cancel)
    arrays = {ase_extxyz.REV_PROPERTY_NAME_MAP.get(name, name): value
              for name, value in columns.items()}
    numbers = arrays.pop("symbols", None)
    if "numbers" in arrays:
        numbers = arrays.pop("numbers")
    atoms = Atoms(numbers=numbers, positions=arrays.pop("positions"),
                  charges=arrays.pop("initial_charges", None), cell=cell, pbc=pbc, info=info)
    ase_extxyz.set_calc_and_arrays(atoms, arrays)
    return atoms, kind


def _read_with_ase(buf: bytes, path, line0: int) -> Atoms:
    """ASE's reader for frames the fast path does not cover; errors keep the frame's line."""
    text = _decode(buf, path, line0)
    try:
        frame = ase_extxyz.read_xyz(io.StringIO(text), index=0)
        # ASE 3.23 returns the Atoms, 3.29 a generator of frames
        return frame if isinstance(frame, Atoms) else next(iter(frame))
    except StructureReadError:
        raise
    except Exception as exc:
        raise StructureReadError(path, line0, f"in the frame starting here: {exc}") from None

"""What every descriptor shares: species and centre checks, the neighbour search, the chunked run.

SOAP, ACSF and the local features all describe the neighbourhood of chosen atoms ("centres") out
of one :class:`~amorpha.engine.neighbors.NeighborList`; the checks that turn bad input into a
:class:`~amorpha.engine.errors.ParameterError`, and the loop that runs a row kernel chunk by chunk
so progress and cancel work, live here once.
"""
from __future__ import annotations

import math
from typing import Callable, Optional, Sequence

import numpy as np
from ase import Atoms

from ..elements import number, symbol
from ..errors import ParameterError, require
from ..neighbors import NeighborList, neighbor_list
from ..tasks import CancelFn, ProgressFn, chunked, sub_progress

#: Seconds of kernel work aimed at between two cancel checks (the brief allows 0.5 s).
CHUNK_SECONDS = 0.05
#: Å; the largest cutoff a descriptor takes. Nothing in the app reaches past 12 Å (the largest xTB
#: cluster, whose radius a spectrum model's SOAP cutoff follows; the diffusion surrogates' cutoff),
#: and site spectra and atomic energies are local; a 20 Å sphere already holds ~2500 neighbours
#: in an oxide. Without a bound an edited model file's 1e6 Å asked for petabytes when predicting.
MAX_CUTOFF = 20.0


# --------------------------------------------------------------------------- parameters


def as_symbol(element, parameter: str = "species") -> str:
    """'si', 'Si' or 14 -> 'Si'; ParameterError(parameter) if it is no element."""
    try:
        z = int(element) if isinstance(element, (int, np.integer)) else number(str(element))
    except (KeyError, ValueError, IndexError):
        raise ParameterError(parameter, f"{element!r} is not a chemical element") from None
    if not 0 < z < 119:
        raise ParameterError(parameter, f"{element!r} is not a chemical element")
    return symbol(z)


def normalise_species(species) -> tuple:
    """A hashable tuple of symbols from any iterable of symbols or numbers (kept as given if a
    member is not an element, so that :func:`check_species` can say which one)."""
    if species is None or isinstance(species, (str, bytes)):
        return (species,) if isinstance(species, str) else ()
    out = []
    for s in species:
        try:
            out.append(as_symbol(s))
        except ParameterError:
            out.append(s)
    return tuple(out)


def normalise_cutoffs(cutoffs) -> tuple:
    """``{("Si", "O"): 2.0}`` or ``[("Si", "O", 2.0), …]`` -> sorted ((a, b, value), …)."""
    if not cutoffs:
        return ()
    items = cutoffs.items() if hasattr(cutoffs, "items") else ((c[:2], c[2]) for c in cutoffs)
    out = {}
    for pair, value in items:
        if isinstance(pair, str):
            pair = tuple(pair.replace("–", "-").split("-"))
        a, b = (as_symbol(e, "cutoffs") for e in pair)
        a, b = sorted((a, b), key=number)
        out[(a, b)] = None if value is None else float(value)
    return tuple((a, b, v) for (a, b), v in sorted(out.items(), key=lambda kv: (number(kv[0][0]),
                                                                                number(kv[0][1]))))


def check_cutoffs(cutoffs) -> None:
    """Bond cutoff overrides (:func:`normalise_cutoffs`' triples): 0 to :data:`MAX_CUTOFF` Å each."""
    for a, b, v in cutoffs:
        require(v is None or (math.isfinite(v) and 0 <= v <= MAX_CUTOFF), "cutoffs",
                f"{a}–{b} cutoff must be from 0 to {MAX_CUTOFF:g} Å (0 switches the pair off), got {v}")


def check_species(species: Sequence, parameter: str = "species") -> np.ndarray:
    """Atomic numbers of ``species`` sorted ascending (the feature order); raises on problems."""
    require(len(species) > 0, parameter, "list at least one element, e.g. ('Si', 'O')")
    numbers = [number(as_symbol(s, parameter)) for s in species]
    dup = {symbol(z) for z in numbers if numbers.count(z) > 1}
    require(not dup, parameter, f"{', '.join(sorted(dup))} listed more than once")
    return np.array(sorted(numbers), dtype=np.int64)


def check_positive(value, parameter: str, unit: str = "", minimum: float = 0.0,
                   maximum: float = math.inf) -> None:
    ok = isinstance(value, (int, float, np.integer, np.floating)) and math.isfinite(float(value))
    most = f" and at most {maximum:g}{unit}" if maximum < math.inf else ""
    require(ok and minimum < float(value) <= maximum, parameter,
            f"must be a number greater than {minimum:g}{unit}{most}, got {value!r}")


def check_int(value, parameter: str, lo: int, hi: Optional[int] = None) -> None:
    ok = isinstance(value, (int, np.integer)) and not isinstance(value, bool)
    ok = ok and value >= lo and (hi is None or value <= hi)
    allowed = f"a whole number ≥ {lo}" if hi is None else f"a whole number from {lo} to {hi}"
    require(ok, parameter, f"must be {allowed}, got {value!r}")


# --------------------------------------------------------------------------- structure


def atom_types(atoms: Atoms, species_z: np.ndarray) -> np.ndarray:
    """Each atom's index into the sorted ``species_z``; ParameterError if an element is missing."""
    numbers = np.asarray(atoms.numbers, dtype=np.int64)
    present = np.flatnonzero(np.bincount(numbers)) if len(numbers) else np.zeros(0, np.int64)
    missing = [symbol(z) for z in present if z not in set(species_z.tolist())]
    require(not missing, "species",
            f"the structure contains {', '.join(missing)}, which species "
            f"({', '.join(symbol(z) for z in species_z)}) does not list; add "
            f"{'it' if len(missing) == 1 else 'them'}")
    lookup = np.full(max(int(species_z.max()), int(present.max()) if len(present) else 0) + 1, -1,
                     np.int64)
    lookup[species_z] = np.arange(len(species_z))
    return lookup[numbers]


def centre_indices(atoms: Atoms, centers) -> np.ndarray:
    """Centres as an int64 array of atom indices (all atoms when None)."""
    n = len(atoms)
    if centers is None:
        return np.arange(n, dtype=np.int64)
    arr = np.asarray(centers)
    if arr.ndim == 0:
        arr = arr.reshape(1)
    require(arr.ndim == 1 and (arr.size == 0 or np.issubdtype(arr.dtype, np.integer)), "centers",
            "give atom indices as a list of whole numbers")
    arr = arr.astype(np.int64)
    bad = arr[(arr < -n) | (arr >= n)]
    require(bad.size == 0, "centers",
            f"atom index {int(bad[0]) if bad.size else 0} is out of range for {n} atoms")
    return np.where(arr < 0, arr + n, arr)


def search_view(atoms: Atoms, periodic: bool) -> Atoms:
    """The structure as the neighbour search should see it: periodic only if asked and possible."""
    pbc = np.asarray(atoms.pbc, dtype=bool)
    if periodic and pbc.any():
        cell = np.asarray(atoms.cell.array, dtype=np.float64)
        require(abs(np.linalg.det(cell)) > 1e-12 or not pbc.all(), "periodic",
                "the structure is periodic but its cell has no volume; set periodic=False")
        return atoms
    return Atoms(numbers=atoms.numbers, positions=atoms.positions, pbc=False)


def neighbours(atoms: Atoms, cutoff: float, progress=None, cancel=None) -> NeighborList:
    """The shared neighbour search, with its errors (degenerate cells…) as ParameterError."""
    try:
        return neighbor_list(atoms, cutoff, progress=progress, cancel=cancel)
    except ValueError as exc:
        raise ParameterError("structure", str(exc)) from None


class Neighbourhood:
    """The arrays a row kernel reads: positions, cell, CSR neighbours with their image shifts."""

    def __init__(self, atoms: Atoms, nl: NeighborList):
        self.positions = np.ascontiguousarray(atoms.positions, dtype=np.float64)
        self.cell = np.ascontiguousarray(atoms.cell.array, dtype=np.float64)
        self.indptr = nl.indptr
        self.indices = nl.indices
        self.shifts = np.ascontiguousarray(nl.shifts, dtype=np.int64)
        self.n_pairs = nl.n_pairs
        self.n_atoms = nl.n_atoms

    def mean_neighbours(self) -> float:
        return self.n_pairs / max(self.n_atoms, 1)


def run_rows(kernel: Callable[[int, int], None], n_rows: int, row_cost: float,
             progress: Optional[ProgressFn], cancel: Optional[CancelFn], message: str,
             span: tuple[float, float] = (0.0, 1.0)) -> None:
    """Call ``kernel(lo, hi)`` over ``range(n_rows)`` in chunks of about :data:`CHUNK_SECONDS`.

    ``row_cost`` is the estimated seconds per row; chunks are sized from it so that cancel is
    checked often enough even for the costliest descriptor settings.
    """
    chunk = int(min(max(CHUNK_SECONDS / max(row_cost, 1e-9), 1), 1 << 20))
    for lo, hi in chunked(n_rows, chunk, progress, cancel, message, span=span):
        kernel(lo, hi)


def search_progress(progress: Optional[ProgressFn], share: float = 0.15):
    """Progress for the neighbour search (first ``share``) and for the rows (the rest)."""
    return sub_progress(progress, 0.0, share), (share, 1.0)


# --------------------------------------------------------------------------- kernels


def max_row(indptr: np.ndarray, centres: np.ndarray) -> int:
    """Longest neighbour row among ``centres`` (scratch buffer size)."""
    if len(centres) == 0:
        return 0
    return int((indptr[centres + 1] - indptr[centres]).max())

"""Bond-angle distributions A–B–C (B the centre) and coordination histograms per element pair.

Bonds are those of :func:`amorpha.engine.bonds.bonds` (element-pair cutoffs, covalent-radius
defaults). Every unordered pair of bonded neighbours ``j, k`` of a centre ``i`` of element B whose
elements are {A, C} gives one angle ``j–i–k`` (for A = C each pair once), measured with the
image shifts of the bonds, so angles across the cell boundary are right.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Optional

import numpy as np
from numba import njit

from ..bonds import Cutoffs, bond_cutoffs, bonds
from ..elements import element_types, number, symbol
from ..neighbors import NeighborList
from ..tasks import CancelFn, ProgressFn, chunked

#: Centre atoms per chunk between progress/cancel checks.
_CHUNK_CENTRES = 200_000


@dataclass(frozen=True)
class AngleParams:
    """Angles ``triplet = (A, B, C)`` at centre B over bonded neighbours, ``n_bins`` on [0, 180]°.

    ``cutoffs`` are bond-cutoff overrides as in :func:`amorpha.engine.bonds.bond_cutoffs`,
    e.g. ``{("Si", "O"): 2.0}``.
    """

    triplet: tuple = ("O", "Si", "O")
    cutoffs: Optional[Cutoffs] = field(default=None, hash=False)
    n_bins: int = 180


@dataclass(frozen=True)
class AngleResult:
    angles: np.ndarray  # (n_angles,) degrees
    centres: np.ndarray  # (n_angles,) int64 index of the centre atom of each angle
    edges: np.ndarray  # (n_bins + 1,) degrees
    histogram: np.ndarray  # (n_bins,) int64 counts
    density: np.ndarray  # (n_bins,) probability density, 1/degree (integrates to 1)
    triplet: tuple
    #: ``(a, b) -> counts[k]``: number of a atoms with exactly k bonded b neighbours.
    coordination: dict
    #: (n_atoms, m) bonded neighbours of each atom per element, columns in ``elements`` order.
    partial_coordination: np.ndarray
    elements: tuple
    #: the bond cutoffs (Å) of the angle's two bonds, ``{("Si", "O"): 2.124}``, and the atoms of
    #: each element: what an exported distribution must say about how it was made
    bond_cutoffs: dict = field(default_factory=dict)
    atom_counts: dict = field(default_factory=dict)

    @property
    def mean(self) -> float:
        return float(self.angles.mean()) if len(self.angles) else float("nan")

    @property
    def std(self) -> float:
        return float(self.angles.std()) if len(self.angles) else float("nan")

    @property
    def centres_of_bins(self) -> np.ndarray:
        return 0.5 * (self.edges[1:] + self.edges[:-1])

    def to_arrays(self) -> dict[str, np.ndarray]:
        """Per atom: number of bonded neighbours of each element (``coordination_O``, …)."""
        return {f"coordination_{e}": self.partial_coordination[:, k]
                for k, e in enumerate(self.elements)}

    def to_dict(self) -> dict:
        return {
            "triplet": "-".join(self.triplet),
            "count": int(len(self.angles)),
            "mean": self.mean,
            "std": self.std,
            "edges": self.edges.tolist(),
            "histogram": self.histogram.tolist(),
            "coordination": {
                f"{a}-{b}": {int(k): int(v) for k, v in enumerate(c) if v}
                for (a, b), c in self.coordination.items()
            },
        }


@njit(nogil=True, cache=True)
def _count_angles(centres, indptr, indices, types, t_a, t_c):
    """Number of matching neighbour pairs of each centre."""
    out = np.zeros(centres.shape[0], np.int64)
    for q in range(centres.shape[0]):
        i = centres[q]
        lo, hi = indptr[i], indptr[i + 1]
        n_a = 0
        n_c = 0
        for p in range(lo, hi):
            t = types[indices[p]]
            n_a += t == t_a
            n_c += t == t_c
        if t_a == t_c:
            out[q] = n_a * (n_a - 1) // 2
        else:
            out[q] = n_a * n_c
    return out


@njit(nogil=True, cache=True, inline="always")
def _bond_vector(i, p, indices, shifts, pos, cell):
    """Vector from atom i to its neighbour-list entry p, through that entry's periodic image."""
    j = indices[p]
    x = pos[j, 0] - pos[i, 0]
    y = pos[j, 1] - pos[i, 1]
    z = pos[j, 2] - pos[i, 2]
    for d in range(3):
        x += shifts[p, d] * cell[d, 0]
        y += shifts[p, d] * cell[d, 1]
        z += shifts[p, d] * cell[d, 2]
    return x, y, z


@njit(nogil=True, cache=True)
def _angles(centres, offsets, indptr, indices, shifts, pos, cell, types, t_a, t_c, out, out_centre):
    """Angles (degrees) of each centre's matching neighbour pairs, written from ``offsets[q]``."""
    for q in range(centres.shape[0]):
        i = centres[q]
        w = offsets[q]
        lo, hi = indptr[i], indptr[i + 1]
        for p in range(lo, hi):
            tj = types[indices[p]]
            if tj != t_a and tj != t_c:
                continue
            ux, uy, uz = _bond_vector(i, p, indices, shifts, pos, cell)
            for s in range(p + 1, hi):
                tk = types[indices[s]]
                if not ((tj == t_a and tk == t_c) or (tj == t_c and tk == t_a)):
                    continue
                vx, vy, vz = _bond_vector(i, s, indices, shifts, pos, cell)
                nu = math.sqrt(ux * ux + uy * uy + uz * uz)
                nv = math.sqrt(vx * vx + vy * vy + vz * vz)
                c = (ux * vx + uy * vy + uz * vz) / (nu * nv)
                c = min(1.0, max(-1.0, c))
                out[w] = math.degrees(math.acos(c))
                out_centre[w] = i
                w += 1


def _z(element) -> int:
    return number(element) if isinstance(element, str) else int(element)


def coordination_histograms(numbers, bonded: NeighborList) -> tuple[tuple, np.ndarray, dict]:
    """(elements, per-atom neighbour counts by element (n, m), ``{(a, b): counts of k}``)."""
    numbers = np.asarray(numbers, dtype=np.int64)
    present, types = element_types(numbers)
    types = types.reshape(-1).astype(np.int64)
    m, n = len(present), len(numbers)
    i, j = bonded.pairs()
    per_atom = np.bincount(i * m + types[j], minlength=n * m).reshape(n, m) if n else \
        np.zeros((0, m), np.int64)
    elements = tuple(symbol(z) for z in present)
    table = {}
    for ia, a in enumerate(elements):
        for ib, b in enumerate(elements):
            table[(a, b)] = np.bincount(per_atom[types == ia, ib])
    return elements, per_atom, table


def bonded_angle_counts(numbers, bonded: NeighborList) -> dict[tuple[str, str, str], int]:
    """How many bonded angles each triplet (A, B, C) with A <= C (by element order) has: per B
    atom, n_A·n_C pairs of its bonded neighbours (n_A(n_A−1)/2 when A = C). Cheap (one matrix
    product per element), so a panel can offer the triplet that has angles: benzene's first
    combination H–H–H has none."""
    numbers = np.asarray(numbers, dtype=np.int64)
    elements, per_atom, _ = coordination_histograms(numbers, bonded)
    _, types = element_types(numbers)
    types = np.asarray(types).reshape(-1)
    counts = {}
    for ib, b in enumerate(elements):
        rows = per_atom[types == ib].astype(np.int64)
        pairs = rows.T @ rows  # sum over B atoms of n_A n_C
        for ia, a in enumerate(elements):
            for ic in range(ia, len(elements)):
                value = pairs[ia, ic] if ia != ic else (pairs[ia, ia] - rows[:, ia].sum()) // 2
                counts[(a, b, elements[ic])] = int(value)
    return counts


def compute_angles(
    atoms,
    params: AngleParams = AngleParams(),
    neighbors: Optional[NeighborList] = None,
    progress: Optional[ProgressFn] = None,
    cancel: Optional[CancelFn] = None,
) -> AngleResult:
    """Bond angles A–B–C at every B atom, their histogram, and coordination histograms.

    ``neighbors`` (cutoff >= the longest bond cutoff) is filtered into bonds, not rebuilt.
    """
    if len(params.triplet) != 3:
        raise ValueError(f"triplet must name three elements (A, centre, C), got {params.triplet!r}")
    if int(params.n_bins) < 1:
        raise ValueError(f"n_bins must be at least 1, got {params.n_bins}")
    za, zb, zc = (_z(e) for e in params.triplet)
    numbers = np.asarray(atoms.numbers, dtype=np.int64)
    bonded = bonds(atoms, params.cutoffs, neighbors=neighbors)
    elements, per_atom, table = coordination_histograms(numbers, bonded)
    present = [_z(e) for e in elements]
    code = {z: k for k, z in enumerate(present)}
    types = np.array([code[z] for z in numbers.tolist()], dtype=np.int64) if len(numbers) else \
        np.zeros(0, np.int64)
    edges = np.linspace(0.0, 180.0, int(params.n_bins) + 1)
    triplet = tuple(symbol(z) for z in (za, zb, zc))
    if zb not in code or za not in code or zc not in code:
        centres = np.zeros(0, np.int64)
    else:
        centres = np.flatnonzero(numbers == zb).astype(np.int64)
    t_a, t_c = code.get(za, -1), code.get(zc, -1)
    pos = np.ascontiguousarray(atoms.positions, dtype=np.float64)
    cell = np.ascontiguousarray(atoms.cell.array, dtype=np.float64)
    counts = _count_angles(centres, bonded.indptr, bonded.indices, types, t_a, t_c)
    offsets = np.zeros(len(centres) + 1, np.int64)
    np.cumsum(counts, out=offsets[1:])
    angles = np.empty(int(offsets[-1]), np.float64)
    owner = np.empty(int(offsets[-1]), np.int64)
    for start, stop in chunked(len(centres), _CHUNK_CENTRES, progress, cancel, "bond angles"):
        _angles(centres[start:stop], offsets[start:stop], bonded.indptr, bonded.indices,
                bonded.shifts, pos, cell, types, t_a, t_c, angles, owner)
    hist, _ = np.histogram(angles, bins=edges)
    total = hist.sum()
    density = hist / (total * np.diff(edges)) if total else np.zeros(len(hist))
    return AngleResult(
        angles=angles, centres=owner, edges=edges, histogram=hist.astype(np.int64),
        density=density, triplet=triplet, coordination=table, partial_coordination=per_atom,
        elements=elements, bond_cutoffs=_triplet_cutoffs(numbers, params.cutoffs, (za, zb, zc)),
        atom_counts={symbol(z): int(np.count_nonzero(numbers == z)) for z in present},
    )


def _triplet_cutoffs(numbers, overrides, triplet) -> dict:
    """The cutoffs in effect for the bonds A–B and B–C (pairs absent from the model left out)."""
    table = bond_cutoffs(numbers, overrides)
    za, zb, zc = triplet
    out = {}
    for pair in ((zb, za), (zb, zc)):
        key = tuple(sorted(pair))
        if key in table:
            out[(symbol(pair[0]), symbol(pair[1]))] = float(table[key])
    return out


def warm_up() -> None:
    """Compile (or load from cache) the kernels on tiny inputs."""
    from ase import Atoms

    atoms = Atoms("SiO2", positions=[[2, 2, 2], [3.6, 2, 2], [2, 3.6, 2]], cell=[5.0] * 3, pbc=True)
    compute_angles(atoms, AngleParams(("O", "Si", "O"), {("Si", "O"): 2.0}, 18))
    compute_angles(atoms, AngleParams(("Si", "O", "Si"), {("Si", "O"): 2.0}, 18))


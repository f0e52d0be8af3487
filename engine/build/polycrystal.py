"""Polycrystals: Voronoi grains of randomly oriented crystal filling a periodic box.

Seeds are uniform in the box and each grain's orientation is uniform on SO(3). A grain is the
Voronoi cell of its seed in the periodic box: the points x (relative to the seed) with
x·d ≤ |d|²/2 for every other seed image d, a convex polytope. Its lattice points are listed line
by line along the third lattice vector, each half-space cutting a line to an interval in closed
form, so no point outside the grain is generated and no per-atom nearest-seed search is needed:
the cost is the atoms written plus a few operations per lattice line.

The half-spaces that matter are the grain's Voronoi neighbours, read from one Delaunay
triangulation of the seeds padded with their periodic images; the padding is proved wide enough
(every circumsphere around a seed inside it), else widened. With few grains (or if that fails) all
seed images within twice the cell's bounding radius are used instead, which is always right.

Grain boundaries then hold atom pairs closer than any in a crystal; one atom of each pair closer
than ``min_distance`` is dropped (a grain meeting its own periodic image counts as a boundary too).
"""
from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import Optional

import numpy as np
from ase import Atoms
from numba import njit
from scipy.spatial import Delaunay, QhullError
from scipy.spatial.transform import Rotation

from ..neighbors import neighbor_list
from ..tasks import CancelFn, ProgressFn, check_cancel, chunked, report, sub_progress
from .common import require
from .crystals import unit_cell
from .voids import circumspheres

#: Default ``min_distance`` as a fraction of the crystal's nearest-neighbour distance.
MIN_DISTANCE_FRACTION = 0.75
#: Smallest mean grain diameter, in (largest) conventional lattice constants.
MIN_GRAIN_CELLS = 2.0
#: Most atoms a polycrystal may have (what the viewer can hold; as for crystals).
MAX_ATOMS = 50_000_000
#: Up to this many grains the exhaustive neighbour set is used (cheap, and no Delaunay of a
#: handful of seeds whose images form degenerate, co-spherical grids).
EXHAUSTIVE_GRAINS = 8
#: Most grains the exhaustive fallback takes on when the Delaunay route fails.
_EXHAUSTIVE_LIMIT = 200
#: Atoms written per chunk between progress/cancel checks (~20 ms of work).
CHUNK_ATOMS = 500_000
#: Relative slack on the bounding radius so rounding never cuts a lattice point off a grain.
_SLACK = 1e-9


# --------------------------------------------------------------------------- parameters


def _crystal(name: str, a: Optional[float]):
    """(conventional cell, nearest-neighbour distance, largest lattice constant) of a crystal."""
    cell = unit_cell(name, a)
    lengths = cell.cell.lengths()
    pairs = neighbor_list(cell, float(lengths.min()) * 1.0001)
    return cell, float(pairs.distances.min()), float(lengths.max())


@dataclass(frozen=True)
class PolycrystalParams:
    """``n_grains`` Voronoi grains of ``crystal`` in an orthogonal periodic ``box`` (Å)."""

    crystal: str = "Cu"
    a: Optional[float] = None
    box: tuple[float, float, float] = (60.0, 60.0, 60.0)
    n_grains: int = 8
    min_distance: Optional[float] = None
    seed: int = 0

    def validate(self) -> None:
        _, nn, lattice = _crystal(self.crystal, self.a)
        require(len(self.box) == 3 and all(np.isfinite(b) and b > 0 for b in self.box), "box",
                f"needs three positive lengths in Å, got {self.box}")
        require(min(self.box) >= 2.0 * nn, "box",
                f"{min(self.box):g} Å is shorter than two nearest-neighbour distances of "
                f"{self.crystal} ({2 * nn:.2f} Å); use a larger box")
        require(isinstance(self.n_grains, (int, np.integer)) and not isinstance(self.n_grains, bool)
                and self.n_grains >= 1, "n_grains",
                f"needs a whole number of grains, at least 1, got {self.n_grains!r}")
        diameter = (float(np.prod(self.box)) / self.n_grains) ** (1.0 / 3.0)
        require(diameter >= MIN_GRAIN_CELLS * lattice, "box",
                f"{self.n_grains} grains in a {_box_text(self.box)} box would be {diameter:.3g} Å "
                f"across, less than {MIN_GRAIN_CELLS:g} lattice constants ({lattice:.3g} Å each); "
                "use a larger box or fewer grains")
        require(self.min_distance is None
                or (np.isfinite(self.min_distance) and 0.0 < self.min_distance < nn),
                "min_distance",
                f"needs a distance above 0 and below the nearest-neighbour distance of "
                f"{self.crystal} ({nn:.3f} Å), else atoms inside the grains would be removed; "
                f"got {self.min_distance}")
        require(isinstance(self.seed, (int, np.integer)) and not isinstance(self.seed, bool)
                and self.seed >= 0, "seed", f"needs a whole number ≥ 0, got {self.seed!r}")
        n = estimated_atoms(self)
        require(n <= MAX_ATOMS, "box",
                f"about {n:,} atoms is more than the {MAX_ATOMS:,} the viewer can hold; "
                "use a smaller box")


def _box_text(box) -> str:
    if len(set(box)) == 1:
        return f"{box[0]:g} Å"
    return "×".join(f"{b:g}" for b in box) + " Å"


def estimated_atoms(params: PolycrystalParams) -> int:
    """Atoms before boundary thinning: box volume times the crystal's number density."""
    cell = unit_cell(params.crystal, params.a)
    return int(round(float(np.prod(params.box)) * len(cell) / abs(cell.cell.volume)))


# --------------------------------------------------------------------------- grain geometry


@dataclass(frozen=True)
class GrainCells:
    """Each grain's Voronoi cell: half-spaces x·d ≤ |d|²/2 (CSR rows ``ptr``), bounding radius."""

    radius: np.ndarray  # (n,) every point of the cell is within this of its seed
    ptr: np.ndarray  # (n + 1,) int64
    normals: np.ndarray  # (K, 3) seed image minus seed, nearest first within each row


def _image_shifts(box: np.ndarray, reach: np.ndarray) -> np.ndarray:
    """Integer image shifts within ``reach`` (per axis), the zero shift first."""
    shifts = np.array(list(itertools.product(*(range(-r, r + 1) for r in reach))), dtype=np.int64)
    return shifts[np.argsort(np.abs(shifts).sum(axis=1), kind="stable")]


def _rows(grain: np.ndarray, normals: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """CSR pointer and normals sorted by grain, then distance (near half-spaces cut most)."""
    order = np.lexsort((np.einsum("ij,ij->i", normals, normals), grain))
    ptr = np.zeros(n + 1, np.int64)
    np.cumsum(np.bincount(grain, minlength=n), out=ptr[1:])
    return ptr, np.ascontiguousarray(normals[order])


def exhaustive_cells(seeds: np.ndarray, box: np.ndarray) -> GrainCells:
    """Cells from every seed image within a box diagonal: slow for many grains, always right.

    A grain's own images bound its cell by the box centred on its seed, so no cell point is farther
    than half the box diagonal R from its seed, and no seed image farther than 2R can matter.
    """
    n = len(seeds)
    radius = 0.5 * float(np.linalg.norm(box))
    reach = np.ceil(2.0 * radius / box).astype(np.int64)
    images = (seeds[None, :, :] + (_image_shifts(box, reach) * box)[:, None, :]).reshape(-1, 3)
    d = images[None, :, :] - seeds[:, None, :]  # (n, images, 3)
    dist = np.linalg.norm(d, axis=2)
    grain, image = np.nonzero((dist > 0.0) & (dist <= 2.0 * radius * (1 + _SLACK)))
    ptr, normals = _rows(grain, d[grain, image], n)
    return GrainCells(np.full(n, radius * (1 + _SLACK)), ptr, normals)


def delaunay_cells(seeds: np.ndarray, box: np.ndarray, rounds: int = 6) -> Optional[GrainCells]:
    """Cells from the Delaunay neighbours of the seeds padded with periodic images, or None.

    The padding starts at three mean seed spacings (measured enough for up to 10^4 random seeds)
    and widens until every tetrahedron around an original seed has its circumsphere inside the
    padded region: those spheres are then empty in the infinite periodic set, so the star is the
    true one, its neighbours are all the cell's faces and its largest circumradius bounds the
    cell. None if that cannot be reached in ``rounds`` widenings (degenerate seeds).
    """
    n = len(seeds)
    margin = 3.0 * (float(np.prod(box)) / n) ** (1.0 / 3.0)
    for _ in range(rounds):
        reach = np.ceil(margin / box).astype(np.int64)
        images = (seeds[None, :, :] + (_image_shifts(box, reach) * box)[:, None, :]).reshape(-1, 3)
        keep = np.all((images >= -margin) & (images <= box + margin), axis=1)
        keep[:n] = True
        points = images[keep]  # the originals stay first
        try:
            simplices = Delaunay(points).simplices
        except QhullError:
            return None
        star = simplices[(simplices < n).any(axis=1)]
        centres, radii, _ = circumspheres(points, star)
        fits = (np.isfinite(radii).all()
                and np.all(centres - radii[:, None] >= -margin)
                and np.all(centres + radii[:, None] <= box + margin))
        if fits:
            break
        margin *= 1.5
    else:
        return None
    radius = np.zeros(n)
    grains, neighbours = [], []
    for a in range(4):
        own = star[:, a] < n
        np.maximum.at(radius, star[own, a], radii[own])
        for b in range(4):
            if b != a:
                grains.append(star[own, a])
                neighbours.append(star[own, b])
    key = np.unique(np.concatenate(grains) * len(points) + np.concatenate(neighbours))
    grain, neighbour = key // len(points), key % len(points)
    ptr, normals = _rows(grain, points[neighbour] - seeds[grain], n)
    return GrainCells(radius * (1 + _SLACK) + _SLACK, ptr, normals)


def grain_cells(seeds: np.ndarray, box: np.ndarray) -> GrainCells:
    """The Voronoi cell of each seed in the periodic box (Delaunay, or exhaustive for few seeds)."""
    seeds = np.asarray(seeds, dtype=np.float64)
    box = np.asarray(box, dtype=np.float64)
    if len(seeds) > EXHAUSTIVE_GRAINS:
        cells = delaunay_cells(seeds, box)
        if cells is not None:
            return cells
        if len(seeds) > _EXHAUSTIVE_LIMIT:  # its memory grows as n^2: refuse rather than swap
            raise RuntimeError(f"could not triangulate the {len(seeds)} grain seeds")
    return exhaustive_cells(seeds, box)


# --------------------------------------------------------------------------- kernels


@njit(nogil=True, cache=True)
def _k_range(fi, fj, fk, lattice, radius2, proj, offset, lo, hi):
    """Lattice steps k along a3 of the line x = fi a1 + fj a2 + (fk + k) a3 inside the cell.

    ``lattice`` rows are the grain's rotated lattice vectors; ``proj[q]`` holds a_m·d_q and
    ``offset[q]`` |d_q|²/2 for the cell's half-spaces ``lo:hi``. Returns (kmin, kmax), empty if
    kmin > kmax. The bounding sphere comes first (a quadratic), then each half-space (linear).
    """
    wx = fi * lattice[0, 0] + fj * lattice[1, 0] + fk * lattice[2, 0]
    wy = fi * lattice[0, 1] + fj * lattice[1, 1] + fk * lattice[2, 1]
    wz = fi * lattice[0, 2] + fj * lattice[1, 2] + fk * lattice[2, 2]
    uu = lattice[2, 0] ** 2 + lattice[2, 1] ** 2 + lattice[2, 2] ** 2
    wu = wx * lattice[2, 0] + wy * lattice[2, 1] + wz * lattice[2, 2]
    disc = wu * wu - uu * (wx * wx + wy * wy + wz * wz - radius2)
    if disc < 0.0:
        return 1, 0
    root = math.sqrt(disc)
    # Bounds stay floats until the end: a half-space almost parallel to the line gives rest / p
    # far beyond the int64 range (or inf), which the sphere's finite bounds then override.
    kmin = np.ceil((-wu - root) / uu)
    kmax = np.floor((-wu + root) / uu)
    for q in range(lo, hi):
        p = proj[q, 2]
        rest = offset[q] - (fi * proj[q, 0] + fj * proj[q, 1] + fk * p)
        if p > 0.0:
            kmax = min(kmax, np.floor(rest / p))
        elif p < 0.0:
            kmin = max(kmin, np.ceil(rest / p))
        elif rest < 0.0:
            return 1, 0
        if kmin > kmax:
            return 1, 0
    return int(kmin), int(kmax)


@njit(nogil=True, cache=True)
def _count_lines(lo, hi, item_grain, item_i, j_lo, j_hi, radius2, lattices, basis, ptr, proj,
                 offset, counts):
    """Atoms in each work item ``lo:hi`` (one grain, one index i along a1, every j, basis atom)."""
    for w in range(lo, hi):
        g = item_grain[w]
        total = 0
        for j in range(j_lo[g], j_hi[g] + 1):
            for b in range(basis.shape[0]):
                kmin, kmax = _k_range(item_i[w] + basis[b, 0], j + basis[b, 1], basis[b, 2],
                                      lattices[g], radius2[g], proj, offset, ptr[g], ptr[g + 1])
                if kmax >= kmin:
                    total += kmax - kmin + 1
        counts[w] = total


@njit(nogil=True, cache=True)
def _fill_lines(lo, hi, item_grain, item_i, j_lo, j_hi, radius2, lattices, basis, ptr, proj,
                offset, starts, seeds, box, species, positions, numbers, grain):
    """Write the atoms of work items ``lo:hi`` from ``starts[w]``, wrapped into the box."""
    for w in range(lo, hi):
        g = item_grain[w]
        lat = lattices[g]
        a = starts[w]
        for j in range(j_lo[g], j_hi[g] + 1):
            for b in range(basis.shape[0]):
                fi = item_i[w] + basis[b, 0]
                fj = j + basis[b, 1]
                kmin, kmax = _k_range(fi, fj, basis[b, 2], lat, radius2[g], proj, offset,
                                      ptr[g], ptr[g + 1])
                for k in range(kmin, kmax + 1):
                    fk = k + basis[b, 2]
                    for c in range(3):
                        x = seeds[g, c] + fi * lat[0, c] + fj * lat[1, c] + fk * lat[2, c]
                        x -= math.floor(x / box[c]) * box[c]
                        positions[a, c] = x if x < box[c] else 0.0
                    numbers[a] = species[b]
                    grain[a] = g
                    a += 1


@njit(nogil=True, cache=True)
def _thin(order, indptr, indices, keep):
    """Visit atoms in ``order``; each one still kept drops its close neighbours.

    A kept atom's neighbours visited earlier were dropped before (else it would have been), so
    no close pair survives, and only an atom whose every earlier neighbour is gone stays.
    """
    for i in order:
        if keep[i]:
            for p in range(indptr[i], indptr[i + 1]):
                keep[indices[p]] = False


# --------------------------------------------------------------------------- building


def voronoi_fill(cell: Atoms, seeds: np.ndarray, rotations: np.ndarray, box, cells: GrainCells,
                 progress: Optional[ProgressFn] = None, cancel: Optional[CancelFn] = None):
    """(positions, numbers, grain) of every lattice point of every grain, grain by grain.

    Grain g's lattice is ``cell`` rotated by ``rotations[g]`` with a lattice point at its seed.
    """
    box = np.asarray(box, dtype=np.float64)
    seeds = np.ascontiguousarray(seeds, dtype=np.float64)
    n = len(seeds)
    a = np.asarray(cell.cell.array, dtype=np.float64)
    basis = np.ascontiguousarray(cell.get_scaled_positions(wrap=True), dtype=np.float64)
    species = np.asarray(cell.numbers, dtype=np.int64)
    lattices = np.ascontiguousarray(np.einsum("mc,gdc->gmd", a, rotations))  # R_g a_m as rows
    # Half-space projections on the rotated lattice vectors, one row per half-space.
    owner = np.repeat(np.arange(n), np.diff(cells.ptr))
    proj = np.ascontiguousarray(np.einsum("qmc,qc->qm", lattices[owner], cells.normals))
    offset = 0.5 * np.einsum("qc,qc->q", cells.normals, cells.normals)
    radius2 = cells.radius ** 2
    # Index ranges along a1 and a2 covering each grain's bounding sphere, whatever the basis atom.
    reach = np.linalg.norm(np.linalg.inv(a), axis=0)  # fractional extent per Å along each axis
    i_lo = np.floor(-cells.radius * reach[0]).astype(np.int64) - 1
    i_hi = np.ceil(cells.radius * reach[0]).astype(np.int64)
    j_lo = np.floor(-cells.radius * reach[1]).astype(np.int64) - 1
    j_hi = np.ceil(cells.radius * reach[1]).astype(np.int64)
    item_grain = np.repeat(np.arange(n, dtype=np.int64), i_hi - i_lo + 1)
    first = np.zeros(n + 1, np.int64)
    np.cumsum(i_hi - i_lo + 1, out=first[1:])
    item_i = np.arange(first[-1], dtype=np.int64) - first[item_grain] + i_lo[item_grain]
    geometry = (item_grain, item_i, j_lo, j_hi, radius2, lattices, basis, cells.ptr, proj, offset)

    counts = np.empty(len(item_i), np.int64)
    lines_per_item = max(1, int(np.mean(j_hi - j_lo + 1)) * len(basis))
    per_chunk = max(1, CHUNK_ATOMS // (lines_per_item * 8))
    for lo, hi in chunked(len(item_i), per_chunk, sub_progress(progress, 0.0, 0.3), cancel,
                          "counting atoms"):
        _count_lines(lo, hi, *geometry, counts)
    starts = np.zeros(len(counts) + 1, np.int64)
    np.cumsum(counts, out=starts[1:])
    total = int(starts[-1])
    positions = np.empty((total, 3))
    numbers = np.empty(total, np.int64)
    grain = np.empty(total, np.int64)
    for start, stop in chunked(total, CHUNK_ATOMS, sub_progress(progress, 0.3, 1.0), cancel,
                               "filling grains"):
        lo = int(np.searchsorted(starts[:-1], start, side="left"))
        hi = int(np.searchsorted(starts[:-1], stop, side="left"))
        _fill_lines(lo, hi, *geometry, starts, seeds, box, species, positions, numbers, grain)
    return positions, numbers, grain


def draw_grains(params: PolycrystalParams) -> tuple[np.ndarray, np.ndarray]:
    """Seeds ``(n, 3)`` uniform in the box, then rotation matrices ``(n, 3, 3)`` uniform on SO(3).

    Both come from ``numpy.random.default_rng(params.seed)`` in that order, so a seed always
    gives the same polycrystal (and a peer can rebuild it).
    """
    n = int(params.n_grains)
    rng = np.random.default_rng(params.seed)
    seeds = rng.random((n, 3)) * np.asarray(params.box, dtype=np.float64)
    return seeds, Rotation.random(n, rng).as_matrix()  # positional: random_state before scipy 1.15


def build_polycrystal(
    params: PolycrystalParams,
    progress: Optional[ProgressFn] = None,
    cancel: Optional[CancelFn] = None,
) -> Atoms:
    """Voronoi polycrystal with per-atom ``"grain"`` (0-based) and ``info`` about it.

    ``info``: ``name``, ``n_grains``, ``removed_atoms`` (thinned at the boundaries), ``seed`` and
    ``min_distance`` (the thinning distance used, Å). Deterministic for a seed (see
    :func:`draw_grains`).
    """
    params.validate()
    check_cancel(cancel)
    cell, nn, _ = _crystal(params.crystal, params.a)
    min_distance = (MIN_DISTANCE_FRACTION * nn if params.min_distance is None
                    else float(params.min_distance))
    box = np.asarray(params.box, dtype=np.float64)
    n = int(params.n_grains)
    seeds, rotations = draw_grains(params)
    report(progress, 0.0, "placing grains")
    cells = grain_cells(seeds, box)
    positions, numbers, grain = voronoi_fill(cell, seeds, rotations, box, cells,
                                             sub_progress(progress, 0.02, 0.45), cancel)
    atoms = Atoms(numbers=numbers, positions=positions, cell=np.diag(box), pbc=True)
    close = neighbor_list(atoms, min_distance, progress=sub_progress(progress, 0.45, 0.95),
                          cancel=cancel)
    keep = np.ones(len(atoms), dtype=np.bool_)
    # Close atoms in a random order: which of a pair goes must not depend on the grain's number,
    # else the first grains would keep every boundary atom and the last lose them all.
    crowded = np.flatnonzero(close.indptr[1:] > close.indptr[:-1])
    order = crowded[np.random.default_rng([params.seed, 1]).permutation(len(crowded))]
    _thin(order, close.indptr, close.indices, keep)
    check_cancel(cancel)
    removed = int(len(keep) - np.count_nonzero(keep))
    if removed:
        atoms = Atoms(numbers=numbers[keep], positions=positions[keep], cell=np.diag(box), pbc=True)
        grain = grain[keep]
    atoms.arrays["grain"] = grain
    grains_word = "grain" if n == 1 else "grains"
    atoms.info.update({
        "name": f"{params.crystal} polycrystal, {n} {grains_word}",
        "builder": "polycrystal",
        "n_grains": n,
        "removed_atoms": removed,
        "seed": int(params.seed),
        "min_distance": float(min_distance),
    })
    report(progress, 1.0, "polycrystal built")
    return atoms


def warm_up() -> None:
    """Compile (or load from cache) the kernels on a tiny polycrystal (Delaunay route included)."""
    build_polycrystal(PolycrystalParams("Cu", box=(20.0, 20.0, 20.0), n_grains=EXHAUSTIVE_GRAINS + 1))

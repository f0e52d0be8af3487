"""Largest empty spheres of a structure, and a mobile atom inserted into them.

The centres of the largest empty spheres are local maxima of the distance to the nearest atom.
Every such maximum is a vertex of the Voronoi diagram, i.e. the circumcentre of a Delaunay
tetrahedron that contains it (or of a few that share it, like the octahedral site of fcc). So a
Delaunay triangulation (scipy/qhull) finds them all. It is done block by block, each block padded
with its neighbours and periodic images: a centre counts once its sphere lies inside the padding
(then no atom left out could be in it), and its radius is the distance to the nearest atom from a
KD tree. Small blocks keep each uninterruptible qhull call short (and are faster in total). Centres
closer than a minimum separation are thinned largest first with the periodic neighbour list.
"""
from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import Optional

import numpy as np
from ase import Atoms
from ase.data import atomic_numbers
from numba import njit
from scipy.spatial import Delaunay, QhullError, cKDTree

from ..neighbors import _search_basis, neighbor_list
from ..tasks import CancelFn, ProgressFn, check_cancel, chunked, report, sub_progress
from .common import BuildParameterError, require
from ..words import counted

#: Centres closer than this (Å) are one void, whatever separation the caller asks for.
SAME_VOID = 1e-3
#: Tetrahedra per chunk between progress/cancel checks.
CHUNK_SIMPLICES = 200_000
#: A centre counts as inside its tetrahedron down to this barycentric weight (rounding).
_INSIDE_TOL = 1e-9
#: Relative flatness below which a tetrahedron has no usable circumsphere.
_FLAT = 1e-12
#: Larger paddings tried per block before giving up (each fits every sphere that poked out).
_PADDING_ROUNDS = 6
#: Atoms per block triangulated at once: ~0.3 s of qhull here, which no flag can interrupt.
BLOCK_ATOMS = 2000


@dataclass(frozen=True)
class VoidParams:
    """Insert ``count`` atoms of ``element`` at the largest voids, ``min_separation`` Å apart."""

    element: str = "Cu"
    count: int = 1
    min_separation: float = 2.0

    def validate(self) -> None:
        require(isinstance(self.element, str) and self.element in atomic_numbers
                and atomic_numbers[self.element] > 0, "element",
                f"{self.element!r} is not a chemical element symbol (e.g. Cu, Li)")
        require(isinstance(self.count, (int, np.integer)) and not isinstance(self.count, bool)
                and 1 <= self.count <= 1_000_000, "count",
                f"needs a whole number of atoms between 1 and 1,000,000, got {self.count!r}")
        require(np.isfinite(self.min_separation) and 0.0 < self.min_separation <= 100.0,
                "min_separation",
                f"needs a distance between 0 and 100 Å, got {self.min_separation}")


# --------------------------------------------------------------------------- kernels


@njit(nogil=True, cache=True)
def _circumspheres(points, simplices, lo, hi, centres, radii, weights):
    """Circumcentre, circumradius and the centre's barycentric weights, tetrahedra ``lo:hi``.

    Cramer's rule on the edge vectors e_r = p_r+1 - p_0: the centre c solves e_r · (c - p_0) =
    |e_r|²/2, and the barycentric weights of c come from the same cofactors (weight v belongs to
    vertex ``simplices[s, v]``). A flat tetrahedron gets an infinite radius and NaN weights.
    """
    e = np.empty((3, 3))
    k = np.empty((3, 3))
    rhs = np.empty(3)
    x = np.empty(3)
    for s in range(lo, hi):
        a = simplices[s, 0]
        longest = 0.0
        for r in range(3):
            b = simplices[s, r + 1]
            for c in range(3):
                e[r, c] = points[b, c] - points[a, c]
            rhs[r] = 0.5 * (e[r, 0] * e[r, 0] + e[r, 1] * e[r, 1] + e[r, 2] * e[r, 2])
            longest = max(longest, rhs[r])
        # Cofactor rows: k0 = e1 x e2, k1 = e2 x e0, k2 = e0 x e1; det = e0 . k0.
        for r in range(3):
            u = (r + 1) % 3
            v = (r + 2) % 3
            k[r, 0] = e[u, 1] * e[v, 2] - e[u, 2] * e[v, 1]
            k[r, 1] = e[u, 2] * e[v, 0] - e[u, 0] * e[v, 2]
            k[r, 2] = e[u, 0] * e[v, 1] - e[u, 1] * e[v, 0]
        det = e[0, 0] * k[0, 0] + e[0, 1] * k[0, 1] + e[0, 2] * k[0, 2]
        if abs(det) <= _FLAT * (2.0 * longest) ** 1.5:
            radii[s] = np.inf
            for c in range(3):
                centres[s, c] = np.nan
            for v in range(4):
                weights[s, v] = np.nan
            continue
        for c in range(3):
            x[c] = (rhs[0] * k[0, c] + rhs[1] * k[1, c] + rhs[2] * k[2, c]) / det
            centres[s, c] = points[a, c] + x[c]
        radii[s] = math.sqrt(x[0] * x[0] + x[1] * x[1] + x[2] * x[2])
        weights[s, 0] = 1.0
        for r in range(3):
            w = (x[0] * k[r, 0] + x[1] * k[r, 1] + x[2] * k[r, 2]) / det
            weights[s, r + 1] = w
            weights[s, 0] -= w


@njit(nogil=True, cache=True)
def _maxima(weights, neighbours, centres, lo, hi, same, status):
    """Which circumcentres of tetrahedra ``lo:hi`` are local maxima of the nearest-atom distance.

    ``status`` 0: the centre lies outside its tetrahedron (not a maximum); 1: inside, or on faces
    whose neighbour tetrahedra share the centre (a site split into several tetrahedra, like the
    octahedral site of fcc); 2: on a face of the hull or of a tetrahedron with another centre,
    where the distance still grows outwards, so not a maximum.
    """
    for s in range(lo, hi):
        status[s] = 1
        for v in range(4):
            w = weights[s, v]
            if not w >= -_INSIDE_TOL:  # also NaN (flat)
                status[s] = 0
                break
            if w <= _INSIDE_TOL:
                t = neighbours[s, v]
                if t < 0:
                    status[s] = 2
                else:
                    d2 = 0.0
                    for c in range(3):
                        d2 += (centres[t, c] - centres[s, c]) ** 2
                    if not d2 <= same * same:
                        status[s] = 2


@njit(nogil=True, cache=True)
def _suppress(order, indptr, indices, wanted, chosen):
    """Greedy non-maximum suppression: take centres in ``order``, drop their close neighbours.

    Returns how many were chosen (at most ``wanted``); ``chosen`` holds their indices.
    """
    dropped = np.zeros(indptr.shape[0] - 1, np.bool_)
    n = 0
    for o in order:
        if dropped[o]:
            continue
        chosen[n] = o
        n += 1
        if n == wanted:
            break
        for p in range(indptr[o], indptr[o + 1]):
            dropped[indices[p]] = True
    return n


# --------------------------------------------------------------------------- geometry


def circumspheres(points: np.ndarray, simplices: np.ndarray, progress: Optional[ProgressFn] = None,
                  cancel: Optional[CancelFn] = None, message: str = "empty spheres"):
    """(centres, radii, weights) of tetrahedra ``simplices`` of ``points``, in chunks.

    ``weights`` are the centres' barycentric coordinates: a centre can only be a local maximum
    of the distance to the nearest point where none is negative.
    """
    points = np.ascontiguousarray(points, dtype=np.float64)
    simplices = np.ascontiguousarray(simplices, dtype=np.int64)
    m = len(simplices)
    centres = np.empty((m, 3))
    radii = np.empty(m)
    weights = np.empty((m, 4))
    for lo, hi in chunked(m, CHUNK_SIMPLICES, progress, cancel, message):
        _circumspheres(points, simplices, lo, hi, centres, radii, weights)
    return centres, radii, weights


def local_maxima(tri: Delaunay, progress: Optional[ProgressFn] = None,
                 cancel: Optional[CancelFn] = None):
    """(centres, radii) of the Voronoi vertices of ``tri`` that are local maxima of the distance.

    A site split over several tetrahedra counts only if all of them agree; one of them on the
    hull (an open surface) or beside a tetrahedron with another centre rules the site out.
    """
    centres, radii, weights = circumspheres(tri.points, tri.simplices,
                                            sub_progress(progress, 0.0, 0.7), cancel)
    neighbours = np.ascontiguousarray(tri.neighbors, dtype=np.int64)
    status = np.empty(len(radii), np.int8)
    same = SAME_VOID * 1e-3
    for lo, hi in chunked(len(radii), CHUNK_SIMPLICES, sub_progress(progress, 0.7, 1.0), cancel,
                          "local maxima"):
        _maxima(weights, neighbours, centres, lo, hi, same, status)
    good, bad = centres[status == 1], centres[status == 2]
    keep = np.ones(len(good), dtype=bool)
    if len(bad) and len(good):
        keep = cKDTree(bad).query(good, distance_upper_bound=same)[0] > same
    return good[keep], radii[status == 1][keep]


class _Blocks:
    """Atoms sorted into blocks of the cell, so a padded block gathers its atoms from nearby blocks.

    ``edges[d]`` are the block boundaries in fractional coordinates: ``k / nb`` along periodic
    axes (atoms wrapped to [0, 1), image shift s covering [s, s + 1)), the atoms' span with
    infinite outer ends along open ones.
    """

    def __init__(self, frac: np.ndarray, pbc: np.ndarray, edges: list[np.ndarray]):
        self.pbc = pbc
        self.edges = edges
        self.nb = np.array([len(e) - 1 for e in edges])
        index = np.stack([self._bin(d, frac[:, d]) for d in range(3)], axis=1)
        flat = (index[:, 0] * self.nb[1] + index[:, 1]) * self.nb[2] + index[:, 2]
        order = np.argsort(flat, kind="stable")
        self.frac = frac[order]
        self.start = np.zeros(int(np.prod(self.nb)) + 1, np.int64)
        np.cumsum(np.bincount(flat, minlength=len(self.start) - 1), out=self.start[1:])

    def _bin(self, d: int, f):
        """Block index along axis ``d`` (unwrapped for periodic axes, clipped for open ones)."""
        if self.pbc[d]:
            return np.floor(np.asarray(f) * self.nb[d]).astype(np.int64) % self.nb[d]
        inner = self.edges[d][1:-1]
        return np.searchsorted(inner, f, side="right").astype(np.int64)

    def images_in(self, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
        """Fractional coordinates of every atom image in the box [lo, hi]."""
        per_axis = []
        for d in range(3):
            nb = int(self.nb[d])
            if self.pbc[d]:  # unwrapped block q is block q % nb of image q // nb
                q = range(int(np.floor(lo[d] * nb)) - 1, int(np.floor(hi[d] * nb)) + 2)
                per_axis.append([(k % nb, k // nb) for k in q])
            else:
                a, b = self._bin(d, lo[d]), self._bin(d, hi[d])
                per_axis.append([(k, 0) for k in range(max(a - 1, 0), min(b + 1, nb - 1) + 1)])
        pieces = []
        for (bx, sx), (by, sy), (bz, sz) in itertools.product(*per_axis):
            flat = (bx * self.nb[1] + by) * self.nb[2] + bz
            pieces.append(self.frac[self.start[flat]:self.start[flat + 1]]
                          + np.array([sx, sy, sz], dtype=np.float64))
        f = np.concatenate(pieces)
        return f[np.all((f >= lo) & (f <= hi), axis=1)]


def _block_voids(blocks: _Blocks, basis, heights, lo, hi, padding, cancel):
    """Local maxima whose centres lie in block [lo, hi) (fractional), from a padded triangulation.

    A centre counts once its sphere lies inside the padded block: every atom that could be in
    the sphere was then triangulated, so the sphere really is empty (and is checked to be). If
    one pokes out, the padding grows to fit it and the block is done again.
    """
    inv = np.linalg.inv(basis)
    for _ in range(_PADDING_ROUNDS):
        check_cancel(cancel)
        reach = padding / heights
        plo, phi = lo - reach, hi + reach
        points = blocks.images_in(plo, phi) @ basis
        if len(points) < 4:
            break
        try:
            tri = Delaunay(points)
        except QhullError:  # all atoms in a plane or on a line: nothing enclosed
            break
        centres, radii = local_maxima(tri)
        cfrac = centres @ inv
        own = np.all((cfrac >= lo - 1e-9) & (cfrac < hi + 1e-9), axis=1)
        centres, radii, cfrac = centres[own], radii[own], cfrac[own]
        spread = radii[:, None] / heights
        poke = np.maximum(plo - (cfrac - spread), (cfrac + spread) - phi)  # > 0: outside
        if np.all(poke <= 0.0):
            nearest = cKDTree(points).query(centres)[0] if len(centres) else np.zeros(0)
            empty = nearest >= radii * (1.0 - 1e-9) - 1e-12
            return cfrac[empty], nearest[empty]
        padding = max(1.2 * padding, 1.05 * float(((poke + reach) * heights).max()))
    else:
        raise RuntimeError("could not pad a block enough to prove its voids empty")
    return np.zeros((0, 3)), np.zeros(0)


def _candidates(atoms: Atoms, progress, cancel):
    """All local maxima of the nearest-atom distance: (centres in the cell, radii), unsorted.

    The cell is cut into blocks of about :data:`BLOCK_ATOMS` atoms, each triangulated with a
    padding of its neighbours: one qhull call per block (it cannot be interrupted), so progress
    and cancel are seen between blocks, and small triangulations are also the faster ones here.
    """
    positions = np.asarray(atoms.positions, dtype=np.float64)
    pbc = np.asarray(atoms.pbc, dtype=bool).reshape(3)
    n = len(positions)
    if n == 0 or (not pbc.any() and n < 4):
        return np.zeros((0, 3)), np.zeros(0)
    cell = np.asarray(atoms.cell.array, dtype=np.float64)
    basis = _search_basis(cell, pbc) if pbc.any() else np.eye(3)
    heights = 1.0 / np.linalg.norm(np.linalg.inv(basis), axis=0)
    frac = positions @ np.linalg.inv(basis)
    frac[:, pbc] -= np.floor(frac[:, pbc])
    extent = np.where(pbc, heights, np.maximum(np.ptp(frac, axis=0) * heights, 1.0))
    spacing = (float(np.prod(extent)) / n) ** (1.0 / 3.0)
    side = spacing * BLOCK_ATOMS ** (1.0 / 3.0)
    edges = []
    for d in range(3):
        nb = max(1, int(np.ceil(extent[d] / side)))
        if pbc[d]:
            e = np.linspace(0.0, 1.0, nb + 1)
        else:  # the atoms' span, open at both ends
            e = np.linspace(frac[:, d].min(), frac[:, d].max(), nb + 1)
            e[0], e[-1] = -np.inf, np.inf
        edges.append(e)
    binned = _Blocks(frac, pbc, edges)
    blocks = list(itertools.product(*(range(len(e) - 1) for e in edges)))
    found_f, found_r = [], []
    for b, _ in chunked(len(blocks), 1, progress, cancel, "finding voids"):
        lo = np.array([edges[d][blocks[b][d]] for d in range(3)])
        hi = np.array([edges[d][blocks[b][d] + 1] for d in range(3)])
        f, r = _block_voids(binned, basis, heights, lo, hi, 1.5 * spacing, cancel)
        found_f.append(f)
        found_r.append(r)
    cfrac, radii = np.concatenate(found_f), np.concatenate(found_r)
    cfrac[:, pbc] -= np.floor(cfrac[:, pbc])
    return cfrac @ basis, radii


def find_voids(
    atoms: Atoms,
    n: Optional[int] = None,
    *,
    min_separation: float = SAME_VOID,
    progress: Optional[ProgressFn] = None,
    cancel: Optional[CancelFn] = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Centres ``(k, 3)`` and radii ``(k,)`` of the ``n`` largest empty spheres, largest first.

    A void is a local maximum of the distance to the nearest atom (atom centres; no atomic radii).
    Voids are at least ``min_separation`` Å apart (periodic images included): a smaller one
    nearer than that to a larger one is skipped. ``k < n`` when the structure has fewer; ``n=None``
    returns all. Periodic directions wrap; in open directions only voids inside the atoms' convex
    hull count. Equal radii come in order of position, so the answer is reproducible.
    """
    check_cancel(cancel)
    centres, radii = _candidates(atoms, sub_progress(progress, 0.0, 0.8), cancel)
    wanted = len(radii) if n is None else int(n)
    if wanted <= 0 or len(radii) == 0:
        report(progress, 1.0, "voids found")
        return np.zeros((0, 3)), np.zeros(0)
    # Largest first; ties (symmetric sites) by position, rounded so rounding noise cannot reorder.
    order = np.lexsort((np.round(centres[:, 2], 6), np.round(centres[:, 1], 6),
                        np.round(centres[:, 0], 6), -np.round(radii, 9)))
    probe = Atoms(numbers=np.zeros(len(centres), int), positions=centres, cell=atoms.cell,
                  pbc=atoms.pbc)
    close = neighbor_list(probe, max(float(min_separation), SAME_VOID),
                          progress=sub_progress(progress, 0.8, 0.95), cancel=cancel)
    chosen = np.empty(min(wanted, len(radii)), np.int64)
    k = _suppress(order.astype(np.int64), close.indptr, close.indices, len(chosen), chosen)
    chosen = chosen[:k]
    report(progress, 1.0, "voids found")
    return centres[chosen], radii[chosen]


def most_voids(atoms: Atoms, min_separation: float) -> int:
    """An upper bound on how many points ``min_separation`` Å apart fit in the model's room, so an
    impossible count is refused before the search, not after it.

    Points d apart are centres of spheres of radius d/2 that do not overlap, and no packing of
    spheres fills more than π/√18 of space (Kepler, Hales): at most √2·V/d³ of them. V is the
    cell's volume in periodic directions and the atoms' span plus d in open ones (the spheres of
    centres inside the span stay within d/2 of it).
    """
    pbc = np.asarray(atoms.pbc, dtype=bool).reshape(3)
    cell = np.asarray(atoms.cell.array, dtype=np.float64)
    d = float(min_separation)
    if pbc.all():
        volume = abs(np.linalg.det(cell))
    else:
        basis = _search_basis(cell, pbc) if pbc.any() else np.eye(3)
        heights = 1.0 / np.linalg.norm(np.linalg.inv(basis), axis=0)
        span = np.ptp(np.asarray(atoms.positions) @ np.linalg.inv(basis), axis=0) * heights
        volume = float(np.prod(np.where(pbc, heights, span + d)))
    return int(math.floor(math.sqrt(2.0) * volume / d ** 3 * (1 + 1e-9)))


def insert_into_voids(
    atoms: Atoms,
    params: VoidParams,
    progress: Optional[ProgressFn] = None,
    cancel: Optional[CancelFn] = None,
) -> Atoms:
    """A new Atoms: ``atoms`` plus ``params.count`` atoms of ``params.element`` in its voids.

    The largest voids are filled first. The input is not changed. Per-atom bool array
    ``"inserted"`` marks the atoms this call added (other per-atom arrays get zeros for them);
    ``info`` gets ``"inserted_count"`` and ``"void_radii"`` (Å, the distance from each new atom
    to its nearest host atom). Raises :class:`BuildParameterError` (``count``) when fewer voids
    than asked for are at least ``min_separation`` apart.
    """
    params.validate()
    require(len(atoms) > 0, "atoms", "the structure is empty: there are no voids to fill")
    most = most_voids(atoms, params.min_separation)
    require(params.count <= most, "count",
            f"{counted(params.count, 'atom')} {params.min_separation:g} Å apart do not fit in this "
            f"model: even packed as densely as spheres can be, at most {most:,} would; ask for "
            "fewer or lower min_separation")
    centres, radii = find_voids(atoms, params.count, min_separation=params.min_separation,
                                progress=sub_progress(progress, 0.0, 0.95), cancel=cancel)
    if len(radii) < params.count:
        raise BuildParameterError(
            "count",
            f"only {counted(len(radii), 'void')} at least {params.min_separation:g} Å apart were found; "
            f"ask for at most {len(radii)} or lower min_separation")
    check_cancel(cancel)
    out = atoms.copy()
    n_host = len(out)
    out.extend(Atoms(symbols=[params.element] * len(radii), positions=centres))
    inserted = np.zeros(len(out), dtype=bool)
    inserted[n_host:] = True
    out.arrays["inserted"] = inserted
    out.info["inserted_count"] = int(len(radii))
    out.info["void_radii"] = [float(r) for r in radii]
    if "name" in atoms.info:
        out.info["name"] = f"{atoms.info['name']} + {len(radii)} {params.element} in voids"
    report(progress, 1.0, "atoms inserted")
    return out


def warm_up() -> None:
    """Compile (or load from cache) the kernels on a tiny crystal."""
    from ase.build import bulk

    insert_into_voids(bulk("Cu", "fcc", a=3.6, cubic=True), VoidParams("Li", 1))

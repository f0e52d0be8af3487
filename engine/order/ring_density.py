"""Atom density around rings in each ring's own principal frame, averaged per ring size.

The second method of Shiga et al., Commun. Mater. 4, 91 (2023): every ring gets a frame from the
singular value decomposition of its centred, unwrapped coordinates (the same SVD that gives
roundness and roughness): origin at the ring's centre, x along s1 (the long in-plane axis), y along
s2, z along s3 (the ring normal). The atoms near the ring (all, or one element, periodic images
included) are put into that frame and counted on a cubic grid; counts are averaged over the rings
of each size and divided by the bin volume, giving a number density in atoms/Å³ (the far field
tends to the bulk density of the chosen atoms, ``bulk_density``).

An SVD axis has no sign, so each atom is counted at the 8 sign choices (x, y, z → ±x, ±y, ±z)
with weight 1/8: the average has the ring's mirror symmetry and does not depend on arbitrary
signs. Rings whose in-plane axes are degenerate (s1 = s2, a regular ring) have no preferred
in-plane direction; their in-plane maps show whatever axis the SVD picked.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import numpy as np
from ase import Atoms
from numba import njit

from ..elements import number, symbol
from ..errors import require
from ..neighbors import neighbor_list
from ..ranges import spans
from ..tasks import CancelFn, ProgressFn, chunked, report, sub_progress
from .rings import RingResult, ring_principal_axes


@dataclass(frozen=True)
class RingDensityParams:
    """``half_width``: the grid is the cube |x|, |y|, |z| <= half_width (Å) around the ring centre;
    ``bins`` per axis (odd, so the centre and the ring plane are bin centres); ``element``: count
    only these atoms (None: all)."""

    half_width: float = 6.0
    bins: int = 61
    element: Optional[str] = None

    def __post_init__(self):
        require(np.isfinite(self.half_width) and 0 < self.half_width <= 50, "half_width",
                f"must be between 0 and 50 Å, got {self.half_width}")
        require(int(self.bins) == self.bins and 3 <= self.bins <= 401 and self.bins % 2 == 1,
                "bins", f"must be an odd whole number from 3 to 401, got {self.bins}")


@dataclass(frozen=True)
class RingDensityResult:
    """``density[k]`` (bins³, atoms/Å³, axes x, y, z) is the mean over the ``n_rings[k]`` rings of
    counted size ``sizes[k]``; ``edges`` the bin edges (Å) shared by the three axes."""

    sizes: np.ndarray  # int64 (k,)
    n_rings: np.ndarray  # int64 (k,)
    edges: np.ndarray  # float64 (bins + 1,)
    density: np.ndarray  # float64 (k, bins, bins, bins)
    bulk_density: float  # atoms of the chosen element per Å³ of the cell (nan without a cell)
    element: Optional[str]

    @property
    def centres(self) -> np.ndarray:
        return 0.5 * (self.edges[1:] + self.edges[:-1])

    def of_size(self, size: int) -> np.ndarray:
        hit = np.flatnonzero(self.sizes == size)
        if len(hit) == 0:
            raise KeyError(f"no rings of size {size} (sizes: {self.sizes.tolist()})")
        return self.density[hit[0]]

    def slab(self, size: int, normal: str = "z", thickness: float = 1.0) -> np.ndarray:
        """Mean density over the slab |normal| <= thickness/2 (at least the middle bin): the
        in-plane map for ``normal="z"`` (axes x, y), the side view for ``"y"`` (axes x, z)."""
        axis = "xyz".index(normal)
        c = self.centres
        keep = np.abs(c) <= max(thickness / 2, 0.5 * (c[1] - c[0]))
        return np.take(self.of_size(size), np.flatnonzero(keep), axis=axis).mean(axis=axis)

    def to_dict(self) -> dict:
        return {"sizes": self.sizes.tolist(), "n_rings": self.n_rings.tolist(),
                "edges": self.edges.tolist(), "bulk_density": self.bulk_density,
                "element": self.element}


@njit(nogil=True, cache=True)
def frame_histogram(indptr, vectors, axes, group, lo, hi, half_width, out):
    """Add rings ``lo:hi`` to ``out[group]``: each neighbour vector (rows ``indptr[r]:indptr[r+1]``
    of ``vectors``, from the ring centre) in the ring's frame ``axes[r]``, at 8 sign choices."""
    nb = out.shape[1]
    scale = nb / (2.0 * half_width)
    for r in range(lo, hi):
        g = group[r]
        for p in range(indptr[r], indptr[r + 1]):
            vx, vy, vz = vectors[p, 0], vectors[p, 1], vectors[p, 2]
            x = axes[r, 0, 0] * vx + axes[r, 0, 1] * vy + axes[r, 0, 2] * vz
            y = axes[r, 1, 0] * vx + axes[r, 1, 1] * vy + axes[r, 1, 2] * vz
            z = axes[r, 2, 0] * vx + axes[r, 2, 1] * vy + axes[r, 2, 2] * vz
            for sx in (-1.0, 1.0):
                ix = int(np.floor((sx * x + half_width) * scale))
                if ix < 0 or ix >= nb:
                    continue
                for sy in (-1.0, 1.0):
                    iy = int(np.floor((sy * y + half_width) * scale))
                    if iy < 0 or iy >= nb:
                        continue
                    for sz in (-1.0, 1.0):
                        iz = int(np.floor((sz * z + half_width) * scale))
                        if 0 <= iz < nb:
                            out[g, ix, iy, iz] += 0.125


def compute_ring_density(
    atoms,
    rings: RingResult,
    params: RingDensityParams = RingDensityParams(),
    select: Optional[np.ndarray] = None,
    progress: Optional[ProgressFn] = None,
    cancel: Optional[CancelFn] = None,
) -> RingDensityResult:
    """Density around the rings of ``rings`` (a result for these ``atoms``); ``select`` picks
    rings by index (default: the counted ones), grouped by counted size."""
    chosen = np.flatnonzero(rings.counted) if select is None else np.asarray(select, np.int64)
    sizes = rings.sizes_counted[chosen]
    order = np.argsort(sizes, kind="stable")
    chosen, sizes = chosen[order], sizes[order]
    size_axis, group = np.unique(sizes, return_inverse=True)
    positions = np.asarray(atoms.positions, np.float64)
    cell = np.asarray(atoms.cell.array, np.float64)
    starts = rings.indptr[:-1][chosen]
    per_atom = spans(starts, starts + rings.sizes[chosen])
    centres, _, axes = ring_principal_axes(
        positions, cell, rings.atoms[per_atom], rings.images[per_atom], rings.sizes[chosen],
        np.concatenate(([0], np.cumsum(rings.sizes[chosen])[:-1])).astype(np.int64), cancel)

    if params.element is None:
        counted_atoms = np.arange(len(atoms))
    else:
        counted_atoms = np.flatnonzero(atoms.numbers == number(params.element))
    # one neighbour search over the counted atoms and the ring centres (appended as extra points)
    probe = Atoms(numbers=np.zeros(len(counted_atoms) + len(chosen), int),
                  positions=np.vstack([positions[counted_atoms], centres]), cell=atoms.cell,
                  pbc=atoms.pbc)
    reach = params.half_width * np.sqrt(3.0) * (1 + 1e-9)
    nl = neighbor_list(probe, reach, progress=sub_progress(progress, 0.0, 0.5), cancel=cancel)
    m = len(counted_atoms)
    i, j = nl.pairs()
    keep = (i >= m) & (j < m)
    i, j = i[keep], j[keep]
    vectors = probe.positions[j] - probe.positions[i] + nl.shifts[keep].astype(float) @ cell
    indptr = np.zeros(len(chosen) + 1, np.int64)
    np.cumsum(np.bincount(i - m, minlength=len(chosen)), out=indptr[1:])

    nb = int(params.bins)
    counts = np.zeros((len(size_axis), nb, nb, nb))
    group = group.astype(np.int64)
    for lo, hi in chunked(len(chosen), 256, sub_progress(progress, 0.5, 1.0), cancel,
                          "density around rings"):
        frame_histogram(indptr, vectors, axes, group, lo, hi, float(params.half_width), counts)
    n_rings = np.bincount(group, minlength=len(size_axis)).astype(np.int64)
    edges = np.linspace(-params.half_width, params.half_width, nb + 1)
    bin_volume = (edges[1] - edges[0]) ** 3
    density = counts / (np.maximum(n_rings, 1)[:, None, None, None] * bin_volume)
    volume = abs(np.linalg.det(cell)) if atoms.cell.rank == 3 else 0.0
    report(progress, 1.0, "density around rings done")
    return RingDensityResult(
        sizes=size_axis.astype(np.int64), n_rings=n_rings, edges=edges, density=density,
        bulk_density=m / volume if volume > 0 else float("nan"),
        element=None if params.element is None else symbol(number(params.element)))


compute = compute_ring_density


def warm_up() -> None:
    from .rings import RingParams, compute_rings

    ang = np.arange(6) * np.pi / 3
    pos = np.c_[3 + 1.2 * np.cos(ang), 3 + 1.2 * np.sin(ang), np.full(6, 3.0)]
    atoms = Atoms("C6", positions=pos, cell=[6.0, 6.0, 6.0], pbc=True)
    rings = compute_rings(atoms, RingParams(max_size=6, cutoffs={("C", "C"): 1.6}))
    compute_ring_density(atoms, rings, RingDensityParams(half_width=2.0, bins=5))

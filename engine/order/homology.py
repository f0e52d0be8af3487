"""Persistent homology of atom positions: persistence diagrams of the alpha filtration (gudhi).

Birth and death are in gudhi's (and HomCloud's) convention: the *squared* radius α² (Å²) of the
balls around the atoms at which a loop (dimension 1) or a cavity (dimension 2) appears and is
filled. Points on a circle of radius R give one H1 pair that dies at R²; the cube of a simple
cubic lattice of spacing a is a cavity born at a²/2 and filled at 3a²/4.

Periodic cells: gudhi's alpha complex is not periodic, so the atoms are repeated into a margin
around the cell (every image within ``margin`` Å of the cell) and a pair is kept when the centroid
of the simplex that kills it (or, for a pair that never dies, the one that creates it) lies in the
cell, each periodic feature thus once. The result is the diagram of the infinite crystal per cell:
features wider than the cell's torus (the cycles that wrap round the periodic box) are not in it.
The pairing of a few long-lived features can reach beyond a narrow margin (tests: a random
periodic structure gives the same diagram for any origin with a margin of about one cell, 10 Å,
and 2 of 705 pairs differ at 7 Å); a feature whose death radius exceeds half the margin is
flagged as not ``reliable``.

Representatives: gudhi gives for each pair the simplex that creates it (an edge for H1, a triangle
for H2) and the simplex that kills it (a triangle, a tetrahedron); ``pair_atoms`` returns the atoms
of both, which sit on the loop or cavity. gudhi gives no whole cycles for alpha complexes.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import numpy as np

from ..elements import number, symbol
from ..errors import require
from ..child_process import run_in_child
from ..tasks import CancelFn, ProgressFn, check_cancel, report

INSTALL_HINT = "pip install 'amorpha[homology]' (or: pip install gudhi)"


def available() -> bool:
    """True when gudhi (the library computing the diagrams) can be imported."""
    try:
        import gudhi  # noqa: F401
    except ImportError:
        return False
    return True


@dataclass(frozen=True)
class HomologyParams:
    """``element``: use only these atoms (None: all); ``margin`` (Å): how far beyond the cell the
    periodic images reach; ``min_persistence`` (Å²): pairs shorter than this are dropped (the
    alpha complex of symmetric structures has many pairs born and killed at the same α²)."""

    element: Optional[str] = None
    margin: float = 10.0
    min_persistence: float = 1e-6

    def __post_init__(self):
        require(np.isfinite(self.margin) and 0 <= self.margin <= 50, "margin",
                f"must be between 0 and 50 Å, got {self.margin}")
        require(np.isfinite(self.min_persistence) and self.min_persistence >= 0, "min_persistence",
                f"must be a non-negative number of Å², got {self.min_persistence}")


@dataclass(frozen=True)
class HomologyResult:
    """Pairs of dimensions 1 and 2. ``birth``/``death`` in Å² (death is inf for a pair that never
    dies); ``birth_atoms``/``death_atoms`` rows are atom indices of the creating and killing
    simplices, padded with -1 (width 4)."""

    dimension: np.ndarray  # int64 (p,)
    birth: np.ndarray  # float64 (p,)
    death: np.ndarray  # float64 (p,)
    birth_atoms: np.ndarray  # int64 (p, 4)
    death_atoms: np.ndarray  # int64 (p, 4)
    reliable: np.ndarray  # bool (p,)
    element: Optional[str]
    periodic: bool

    @property
    def persistence(self) -> np.ndarray:
        return self.death - self.birth

    def diagram(self, dimension: int) -> np.ndarray:
        """(k, 2) birth, death of one dimension."""
        sel = self.dimension == dimension
        return np.c_[self.birth[sel], self.death[sel]]

    def pair_atoms(self, pairs) -> np.ndarray:
        """Sorted unique atoms of the creating and killing simplices of these pairs."""
        pairs = np.asarray(pairs, np.int64)
        both = np.concatenate([self.birth_atoms[pairs].ravel(), self.death_atoms[pairs].ravel()])
        return np.unique(both[both >= 0])

    def to_dict(self) -> dict:
        return {
            "element": self.element, "periodic": self.periodic, "units": "squared radius, Å^2",
            "pairs": [{"dimension": int(d), "birth": float(b), "death": float(e),
                       "reliable": bool(r)}
                      for d, b, e, r in zip(self.dimension, self.birth, self.death, self.reliable)],
        }


def _padded(positions, cell, pbc, margin):
    """Positions and their images within ``margin`` Å of the cell in periodic directions, with
    the original index of every point."""
    periodic = np.asarray(pbc, bool)
    if not periodic.any() or margin == 0:
        return positions, np.arange(len(positions))
    inv = np.linalg.inv(cell)
    widths = 1.0 / np.linalg.norm(inv, axis=0)  # distance between opposite faces
    reach = np.where(periodic, np.ceil(margin / widths), 0).astype(int)
    frac = positions @ inv
    frac[:, periodic] %= 1.0
    pad = np.where(periodic, margin / widths, 0.0)
    pts, idx = [], []
    for shift in np.stack(np.meshgrid(*[np.arange(-r, r + 1) for r in reach], indexing="ij"),
                          -1).reshape(-1, 3):
        f = frac + shift
        keep = np.all((f >= -pad) & (f < 1 + pad), axis=1)
        pts.append(f[keep] @ cell)
        idx.append(np.flatnonzero(keep))
    return np.concatenate(pts), np.concatenate(idx)


#: The window [offset, 1 + offset) of fractional coordinates that owns a feature: an offset no
#: crystal has simplex centroids on, so symmetric structures are not split at the cell faces.
_OWN_OFFSET = 0.0123456789


#: Points past which ``in_child`` moves gudhi into a child process (below, its ~0.1 s is less
#: than starting one).
CHILD_MIN_POINTS = 2000


def _persistence_rows(points: np.ndarray, min_persistence: float, progress=None):
    """gudhi's part: dimension, birth, death and the creating and killing simplices (point
    indices padded with -1) of every pair of dimension 1 or 2 longer than ``min_persistence``."""
    import gudhi

    report(progress, 0.05, f"alpha complex of {len(points):,} points")
    tree = gudhi.AlphaComplex(points=points, precision="safe").create_simplex_tree()
    report(progress, 0.5, "persistence")
    tree.compute_persistence(min_persistence=-1.0)
    rows = []
    for b_simplex, d_simplex in tree.persistence_pairs():
        dim = len(b_simplex) - 1
        if dim not in (1, 2):
            continue
        birth = tree.filtration(b_simplex)
        death = tree.filtration(d_simplex) if d_simplex else np.inf
        if death - birth > min_persistence:
            rows.append((dim, birth, death, b_simplex, d_simplex))
    n = len(rows)
    simplices = np.full((2, n, 4), -1, np.int64)
    for k, (_, _, _, b_simplex, d_simplex) in enumerate(rows):
        simplices[0, k, : len(b_simplex)] = b_simplex
        simplices[1, k, : len(d_simplex)] = d_simplex
    report(progress, 0.9, "persistence pairs")
    return (np.array([r[0] for r in rows], np.int64), np.array([r[1] for r in rows], np.float64),
            np.array([r[2] for r in rows], np.float64), simplices[0], simplices[1])


def _owned(points, simplices, cell, pbc) -> np.ndarray:
    """Rows whose simplex's centroid lies in the cell's owning window (periodic directions)."""
    valid = simplices >= 0
    centroid = (points[np.where(valid, simplices, 0)] * valid[..., None]).sum(1)
    frac = (centroid / valid.sum(1, keepdims=True)) @ np.linalg.inv(cell)
    inside = (frac >= _OWN_OFFSET) & (frac < 1 + _OWN_OFFSET)
    return np.all(~pbc | inside, axis=1)


def compute_homology(
    atoms,
    params: HomologyParams = HomologyParams(),
    progress: Optional[ProgressFn] = None,
    cancel: Optional[CancelFn] = None,
    in_child: bool = False,
) -> HomologyResult:
    """Persistence pairs of dimensions 1 and 2 of the alpha filtration of ``atoms``' positions.

    ``in_child``: compute the diagram in a child process when it has more than
    ``CHILD_MIN_POINTS`` points (gudhi holds the GIL and has no cancel; the window passes True so
    it stays live and Cancel works; a script doing so must be guarded by ``__main__``)."""
    if not available():
        raise ImportError(f"persistent homology needs gudhi: {INSTALL_HINT}")
    if params.element is None:
        chosen = np.arange(len(atoms))
    else:
        chosen = np.flatnonzero(atoms.numbers == number(params.element))
    require(len(chosen) >= 4, "element", f"needs at least 4 atoms, the model has {len(chosen)}")
    positions = np.asarray(atoms.positions, np.float64)[chosen]
    pbc = np.asarray(atoms.pbc, bool) & (atoms.cell.rank == 3)
    cell = np.asarray(atoms.cell.array, np.float64)
    points, origin = _padded(positions, cell, pbc, float(params.margin))
    check_cancel(cancel)
    args = (points, float(params.min_persistence))
    if in_child and len(points) > CHILD_MIN_POINTS:
        dimension, birth, death, b_simplex, d_simplex = run_in_child(
            _persistence_rows, args, progress, cancel)
    else:
        dimension, birth, death, b_simplex, d_simplex = _persistence_rows(*args, progress)
    check_cancel(cancel)
    if pbc.any() and params.margin > 0:
        keep = _owned(points, np.where(d_simplex[:, :1] >= 0, d_simplex, b_simplex), cell, pbc)
        dimension, birth, death = dimension[keep], birth[keep], death[keep]
        b_simplex, d_simplex = b_simplex[keep], d_simplex[keep]

    def atoms_of(simplices):
        return np.where(simplices >= 0, chosen[origin[np.maximum(simplices, 0)]], -1)

    reliable = (np.sqrt(death) <= params.margin / 2 if pbc.any()
                else np.ones(len(dimension), bool))
    order = np.lexsort((birth, dimension))
    report(progress, 1.0, "persistent homology done")
    return HomologyResult(
        dimension=dimension[order], birth=birth[order], death=death[order],
        birth_atoms=atoms_of(b_simplex)[order], death_atoms=atoms_of(d_simplex)[order],
        reliable=reliable[order],
        element=None if params.element is None else symbol(number(params.element)),
        periodic=bool(pbc.any()))


compute = compute_homology

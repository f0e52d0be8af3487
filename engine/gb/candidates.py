"""Candidate structures of one CSL boundary: a grid of rigid-body translations and removal thresholds.

A candidate is grain 1 of a periodic bicrystal (:mod:`amorpha.engine.build.bicrystal`) moved by
(dx, dy) in the boundary plane, given as fractions of the in-plane CSL periods, and by dz along the
normal (Å; it opens both boundaries), after which one atom of every pair across a boundary closer
than ``removal × nearest-neighbour distance`` is removed. Fractions rather than Å keep a candidate
the same structure whatever lattice constant an oracle prefers, so the count and the keys are known
before any energy is computed.
"""
from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Iterator, Optional

import numpy as np

from ..build.bicrystal import LEAST_BULK_NN, BicrystalParams, bicrystal_summary, least_bulk_thickness
from ..build.crystals import unit_cell
from ..errors import require
from ..neighbors import neighbor_list

#: Largest candidate set we make (the search holds one row of features per candidate).
MAX_CANDIDATES = 1_000_000
#: Least bulk (Å) per grain a search accepts at all (each grain is still one lattice period along
#: the normal; tests and quick trials use such cells). Below :func:`least_bulk_thickness` (4
#: nearest-neighbour distances, 10.3 Å for Cu) a search runs but is warned about
#: (:func:`thin_grain_note`).
MIN_SEARCH_THICKNESS = 2.0


def _tuples(obj, names) -> None:
    """Turn list or array fields of a frozen dataclass into tuples."""
    for name in names:
        value = getattr(obj, name)
        if isinstance(value, (list, np.ndarray)):
            object.__setattr__(obj, name, tuple(np.asarray(value).tolist()))


@dataclass(frozen=True)
class GbBoundary:
    """Which boundary: a symmetric CSL tilt (or twist) bicrystal with ``bulk_thickness`` Å per grain."""

    crystal: str = "Cu"
    sigma: int = 5
    plane: tuple[int, int, int] = (2, 1, 0)
    axis: tuple[int, int, int] = (0, 0, 1)
    kind: str = "tilt"
    bulk_thickness: float = 20.0

    def __post_init__(self):  # lists from a GUI or JSON become tuples, so boundaries hash
        _tuples(self, ("plane", "axis"))

    def bicrystal(self, a: Optional[float] = None, translation=(0.0, 0.0, 0.0),
                  min_distance: Optional[float] = None) -> BicrystalParams:
        return BicrystalParams(crystal=self.crystal, a=a, axis=tuple(self.axis), sigma=int(self.sigma),
                               plane=tuple(self.plane), kind=self.kind,
                               bulk_thickness=float(self.bulk_thickness),
                               translation=tuple(float(t) for t in translation),
                               min_distance=min_distance)

    @property
    def name(self) -> str:
        plane = "".join(str(int(p)) for p in self.plane)
        return f"{self.crystal} Σ{int(self.sigma)}({plane}) {self.kind}"

    @property
    def file_stem(self) -> str:
        """How files of this boundary are named: Cu_S5_310, a minus as m (Cu_S3_1m11)."""
        return f"{self.crystal}_S{int(self.sigma)}_{''.join(str(int(p)) for p in self.plane)}".replace("-", "m")

    def as_dict(self) -> dict:
        return {"crystal": self.crystal, "sigma": int(self.sigma),
                "plane": [int(p) for p in self.plane], "axis": [int(p) for p in self.axis],
                "kind": self.kind, "bulk_thickness": round(float(self.bulk_thickness), 6)}


@dataclass(frozen=True)
class GbSearchParams:
    """A boundary and its candidate grid.

    ``nx`` × ``ny`` translations cover the in-plane repeat (fractions i/nx, j/ny), each combined
    with every normal offset in ``dz`` (Å) and every removal threshold in ``removal`` (fraction of
    the nearest-neighbour distance; 0 keeps all atoms).
    """

    boundary: GbBoundary = GbBoundary()
    nx: int = 6
    ny: int = 12
    dz: tuple[float, ...] = (0.0, 0.3, 0.6)
    removal: tuple[float, ...] = (0.6, 0.8)

    def __post_init__(self):  # lists become tuples, so parameters hash and compare
        _tuples(self, ("dz", "removal"))

    @property
    def count(self) -> int:
        """Number of candidates, known before anything is built."""
        return int(self.nx) * int(self.ny) * len(self.dz) * len(self.removal)

    def validate(self) -> None:
        """Raise :class:`ParameterError` naming the first setting that cannot make a grid."""
        for name in ("nx", "ny"):
            n = getattr(self, name)
            require(isinstance(n, (int, np.integer)) and not isinstance(n, bool) and n >= 1, name,
                    f"the grid needs at least one point along {name[1]}, got {n!r}")
        for name in ("dz", "removal"):
            values = getattr(self, name)
            require(hasattr(values, "__len__") and len(values) >= 1, name,
                    f"give at least one value (the grid would have zero points), got {values!r}")
            require(all(isinstance(v, (int, float, np.integer, np.floating)) and math.isfinite(v)
                        for v in values), name, f"needs finite numbers, got {values!r}")
        require(all(0.0 <= r < 1.0 for r in self.removal), "removal",
                f"thresholds are fractions of the nearest-neighbour distance from 0 up to 1, "
                f"got {self.removal}")
        thickness = self.boundary.bulk_thickness
        require(isinstance(thickness, (int, float, np.number)) and thickness >= MIN_SEARCH_THICKNESS,
                "bulk_thickness", f"a search needs at least {MIN_SEARCH_THICKNESS:g} Å of bulk per "
                f"grain (the two boundaries of the periodic cell would interact), got {thickness!r}")
        require(self.count <= MAX_CANDIDATES, "nx",
                f"{self.count:,} candidates is more than the {MAX_CANDIDATES:,} a search holds")
        # The boundary itself (crystal, Σ, plane, thickness) and the most negative and positive dz.
        for dz in {min(self.dz), max(self.dz)}:
            self.boundary.bicrystal(translation=(0.0, 0.0, float(dz))).validate()


def thin_grain_note(boundary: GbBoundary, a: Optional[float] = None) -> Optional[str]:
    """Why grains thinner than :func:`~amorpha.engine.build.bicrystal.least_bulk_thickness` mislead
    a search (None when they are not). Every atom then lies within a potential's reach (EMT and EAM
    Cu cut off at 4.8–5.5 Å) of both boundaries of the cell, so candidates are ranked as two
    boundaries at once. Measured with EAM Cu: of four Σ13(510) translations, 2–6 Å grains made the
    third best at 40 Å the best; from 10.3 Å the order was that of 40 Å grains.

    Not refused: such cells are quick and their optimum is often right (Σ5(310): 0.908 J/m² at
    2 Å, 0.906 at 40 Å), and searches saved with them must still open."""
    least = least_bulk_thickness(boundary.bicrystal(a))
    if boundary.bulk_thickness >= least:
        return None
    return (f"grains of {boundary.bulk_thickness:g} Å are thinner than {least:g} Å "
            f"({LEAST_BULK_NN:g} nearest-neighbour distances): every atom feels both boundaries "
            f"of the cell, so γ and the ranking of candidates are those of two boundaries at "
            f"once; use at least {least:g} Å")


@dataclass(frozen=True)
class Candidate:
    """One rigid-body translation and removal threshold of ``boundary``; ``key`` names it for caches."""

    boundary: GbBoundary
    index: int
    fx: float
    fy: float
    dz: float
    removal: float

    @property
    def key(self) -> str:
        text = json.dumps({"b": self.boundary.as_dict(),
                           "t": [round(self.fx, 9), round(self.fy, 9), round(self.dz, 6),
                                 round(self.removal, 6)]}, sort_keys=True)
        return hashlib.sha1(text.encode()).hexdigest()[:20]

    def params(self, a: Optional[float] = None) -> BicrystalParams:
        """Bicrystal parameters of this candidate at lattice constant ``a`` (None: the crystal's)."""
        px, py = in_plane_periods(self.boundary, a)
        return self.boundary.bicrystal(a, (self.fx * px, self.fy * py, self.dz),
                                       self.removal * nearest_neighbour(self.boundary.crystal, a))


@lru_cache(maxsize=64)
def in_plane_periods(boundary: GbBoundary, a: Optional[float] = None) -> tuple[float, float]:
    """The two in-plane CSL periods (Å) of the boundary's cell."""
    cell = bicrystal_summary(boundary.bicrystal(a))["cell"]
    return float(cell[0]), float(cell[1])


@lru_cache(maxsize=64)
def nearest_neighbour(crystal: str, a: Optional[float] = None) -> float:
    """Nearest-neighbour distance (Å) of the crystal at lattice constant ``a``."""
    cell = unit_cell(crystal, a)
    return float(neighbor_list(cell, 0.99 * float(cell.cell.lengths().min())).distances.min())


class CandidateSet:
    """All candidates of a :class:`GbSearchParams` grid, indexable and iterable, in grid order.

    Order: ``index = ((i · ny + j) · len(dz) + k) · len(removal) + r`` for fx = i/nx, fy = j/ny,
    dz[k], removal[r]; :attr:`grid_index` gives (i, j, k, r) of every candidate.
    """

    def __init__(self, params: GbSearchParams):
        params.validate()
        self.params = params
        self.boundary = params.boundary
        shape = (params.nx, params.ny, len(params.dz), len(params.removal))
        self.grid_index = np.stack(np.unravel_index(np.arange(params.count), shape), axis=1)
        i, j, k, r = self.grid_index.T
        self.fx = i / params.nx
        self.fy = j / params.ny
        self.dz = np.asarray(params.dz, dtype=float)[k]
        self.removal = np.asarray(params.removal, dtype=float)[r]

    @property
    def shape(self) -> tuple[int, int, int, int]:
        p = self.params
        return (p.nx, p.ny, len(p.dz), len(p.removal))

    def __len__(self) -> int:
        return self.params.count

    def __getitem__(self, index: int) -> Candidate:
        index = int(index)
        if not 0 <= index < len(self):
            raise IndexError(f"candidate {index} of {len(self)}")
        return Candidate(self.boundary, index, float(self.fx[index]), float(self.fy[index]),
                         float(self.dz[index]), float(self.removal[index]))

    def __iter__(self) -> Iterator[Candidate]:
        return (self[i] for i in range(len(self)))

    def features(self) -> np.ndarray:
        """(n, 6) coordinates for a smooth model: periodic fx, fy on circles of their period (Å),
        dz and the removal distance (Å)."""
        px, py = in_plane_periods(self.boundary)
        nn = nearest_neighbour(self.boundary.crystal)
        tx, ty = 2.0 * np.pi * self.fx, 2.0 * np.pi * self.fy
        rx, ry = px / (2.0 * np.pi), py / (2.0 * np.pi)
        return np.column_stack([rx * np.cos(tx), rx * np.sin(tx), ry * np.cos(ty), ry * np.sin(ty),
                                self.dz, self.removal * nn])


def candidate_grid(params: GbSearchParams) -> CandidateSet:
    """The candidate set of ``params`` (raises :class:`ParameterError` on a grid of zero points)."""
    return CandidateSet(params)


__all__ = ["Candidate", "CandidateSet", "GbBoundary", "GbSearchParams", "candidate_grid",
           "in_plane_periods", "nearest_neighbour", "thin_grain_note"]

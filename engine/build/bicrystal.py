"""Periodic CSL bicrystals: two grains of a cubic crystal meeting on two equivalent boundaries.

The cell is orthogonal, with the boundary plane normal to z. Grain 0 fills z ∈ [0, H₀) and grain
1 (the rotated one) fills [H₀, H₀ + H₁); the boundaries are at z = H₀ (mid-cell) and at z = 0 by
periodicity. How it is made:

* grain 0 is the crystal seen with the boundary plane p along z; grain 1 is the same crystal turned
  by the CSL rotation R (:mod:`.csl`) about the tilt axis (tilt) or the plane normal (twist), so
  both share the lattice site at the boundary's origin: zero translation is the CSL registry, the
  reference every rigid-body translation search starts from;
* the in-plane cell vectors are the shortest vectors that are lattice vectors of *both* grains,
  found exactly in integers (R = M / D): for a tilt, x along the axis and y perpendicular to it;
  for a twist, the orthogonal pair of smallest area. Each grain's thickness is a whole number of
  its own lattice period along the normal, so both grains are perfect crystals in the cell and
  the two boundaries are images of each other;
* a grain is one orthogonal supercell of its lattice (periods x, y and its normal period), filled
  once from the rotated unit cell and then tiled with numpy: memory and time scale with the atoms
  made, not with a bounding box;
* grain 1 is moved by the rigid-body translation (x, y in the plane, z opens both boundaries by
  z, so the cell grows by 2z); then one atom of every pair closer than ``min_distance`` across a
  boundary is removed (the grain-1 atom), found with the shared neighbour list.

The atoms on the boundary plane through the origin belong to grain 1: for a mirror-symmetric tilt
they are the common layer of both grains.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Optional

import numpy as np
from ase import Atoms

from ..neighbors import neighbor_list
from ..tasks import CancelFn, ProgressFn, check_cancel, report, sub_progress
from .common import BuildParameterError, require
from .crystals import CRYSTALS, CUBIC_CRYSTALS, unit_cell
from .csl import (AXES, CSLRotation, canonical_plane, csl_boundaries, format_indices,
                  sigma_list_text, sigma_values, tilt_rotation, twist_rotation)

#: Largest bicrystal the builder makes (the overlap search holds ~50 pairs per atom).
MAX_ATOMS = 10_000_000
#: Default ``min_distance`` as a fraction of the crystal's nearest-neighbour distance.
MIN_DISTANCE_FRACTION = 0.7
#: Largest Σ accepted (cells grow like √Σ along each in-plane direction).
MAX_SIGMA = 999
#: Least sensible grain, in nearest-neighbour distances d (see :func:`least_bulk_thickness`).
LEAST_BULK_NN = 4.0
#: Atoms on a cell face within this distance (Å) are counted once, on the lower face.
_EDGE_TOL = 1e-6
KINDS = ("tilt", "twist")


@dataclass(frozen=True)
class BicrystalParams:
    """A periodic bicrystal with two equivalent Σ boundaries normal to z (lengths in Å).

    ``plane`` is grain 0's boundary plane in its crystal frame: one of the symmetric tilt planes
    of this Σ about ``axis`` (any member of its family), or the axis itself for a twist.
    ``bulk_thickness`` is the least bulk between the boundaries; each grain is a whole number of
    lattice periods along the normal. ``translation`` moves grain 1 (x, y in the plane, z along
    the normal). ``min_distance`` (default 0.7 × nearest-neighbour distance) removes one atom of
    every closer pair across a boundary; 0 keeps all.
    """

    crystal: str = "Cu"
    a: Optional[float] = None
    axis: tuple[int, int, int] = (0, 0, 1)
    sigma: int = 5
    plane: tuple[int, int, int] = (3, 1, 0)
    kind: str = "tilt"
    bulk_thickness: float = 20.0
    lateral_repeat: tuple[int, int] = (1, 1)
    translation: tuple[float, float, float] = (0.0, 0.0, 0.0)
    min_distance: Optional[float] = None

    def validate(self) -> None:
        """Raise :class:`BuildParameterError` naming the first parameter that cannot work."""
        require(isinstance(self.crystal, str) and self.crystal in CRYSTALS, "crystal",
                f"unknown crystal {self.crystal!r}; bicrystals can be made of "
                + ", ".join(CUBIC_CRYSTALS))
        require(self.crystal in CUBIC_CRYSTALS, "crystal",
                f"{self.crystal} has no cubic cell, which CSL bicrystals need; choose one of "
                + ", ".join(CUBIC_CRYSTALS))
        require(self.a is None or (_is_real(self.a) and 0.5 <= self.a <= 100.0), "a",
                f"lattice constant must be between 0.5 and 100 Å, got {self.a}")
        require(_is_int_vector(self.axis, 3) and tuple(int(x) for x in self.axis) in AXES, "axis",
                f"{self.axis} is not a supported axis; choose one of "
                + ", ".join(str(a) for a in AXES))
        axis = tuple(int(x) for x in self.axis)
        require(self.kind in KINDS, "kind", f"must be 'tilt' or 'twist', got {self.kind!r}")
        require(_is_int(self.sigma) and 1 < self.sigma <= MAX_SIGMA, "sigma",
                f"must be a whole number from 3 to {MAX_SIGMA}, got {self.sigma}")
        require(int(self.sigma) in sigma_values(axis, max(int(self.sigma), 101)), "sigma",
                f"Σ{self.sigma} does not exist for axis {format_indices(axis, '[]')}; "
                + sigma_list_text(axis, 101))
        require(_is_int_vector(self.plane, 3) and any(self.plane), "plane",
                f"needs three whole Miller indices, not all zero, got {self.plane}")
        _check_plane(axis, int(self.sigma), tuple(int(x) for x in self.plane), self.kind)
        require(_is_real(self.bulk_thickness) and 0.0 <= self.bulk_thickness <= 10_000.0,
                "bulk_thickness", f"needs a thickness from 0 to 10000 Å, got {self.bulk_thickness}")
        require(_is_int_vector(self.lateral_repeat, 2) and all(1 <= r <= 1000 for r in self.lateral_repeat),
                "lateral_repeat", f"needs two whole numbers from 1 to 1000, got {self.lateral_repeat}")
        require(len(self.translation) == 3 if _is_sequence(self.translation) else False,
                "translation", f"needs three numbers (x, y, z in Å), got {self.translation}")
        require(all(_is_real(t) for t in self.translation), "translation",
                f"needs three finite numbers (x, y, z in Å), got {self.translation}")
        geo = _geometry_of(self)
        layout = _layout(geo, self)
        require(self.translation[2] > -0.5 * min(layout.heights), "translation",
                f"z = {self.translation[2]} Å pushes grain 1 more than half a grain "
                f"({0.5 * min(layout.heights):.2f} Å) into grain 0")
        require(self.translation[2] < geo.nn_distance, "translation",
                f"z = {self.translation[2]} Å opens a gap of at least the nearest-neighbour distance of "
                f"{self.crystal} ({geo.nn_distance:.3f} Å) at both boundaries: the grains would not touch "
                f"(two free surfaces, not a grain boundary); rigid-body expansions are a fraction of it")
        require(self.min_distance is None
                or (_is_real(self.min_distance) and 0.0 <= self.min_distance < geo.nn_distance),
                "min_distance", f"needs a distance from 0 up to the nearest-neighbour distance of "
                f"{self.crystal} ({geo.nn_distance:.3f} Å; closer bulk-like pairs across a coherent "
                f"boundary would go), got {self.min_distance}")
        n_atoms = geo.density * layout.cell.prod()
        require(n_atoms <= MAX_ATOMS, "lateral_repeat" if max(self.lateral_repeat) > 1
                else "bulk_thickness", f"the cell would hold about {n_atoms:,.0f} atoms, more than "
                f"the {MAX_ATOMS:,} the builder makes; lower bulk_thickness or lateral_repeat")


def _is_real(x) -> bool:
    return isinstance(x, (int, float, np.integer, np.floating)) and not isinstance(x, bool) \
        and math.isfinite(x)


def _is_int(x) -> bool:
    return _is_real(x) and int(x) == x


def _is_sequence(v) -> bool:
    return hasattr(v, "__len__") and not isinstance(v, str)


def _is_int_vector(v, n: int) -> bool:
    return _is_sequence(v) and len(v) == n and all(_is_int(x) for x in v)


def _check_plane(axis, sigma: int, plane, kind: str) -> None:
    """The plane must be perpendicular to the axis and one of this Σ's symmetric tilt planes."""
    axis_text = format_indices(axis, "[]")
    if kind == "twist":
        require(not np.cross(plane, axis).any(), "plane",
                f"a twist boundary lies normal to its axis: plane must be {format_indices(axis)} "
                f"for axis {axis_text}, got {format_indices(plane)}")
        return
    planes = [b.plane for b in csl_boundaries(axis, max(sigma, 101)) if b.sigma == sigma]
    listed = ", ".join(format_indices(p) for p in planes)
    require(int(np.dot(plane, axis)) == 0, "plane",
            f"{format_indices(plane)} does not contain the tilt axis {axis_text}; the Σ{sigma} "
            f"tilt planes are {listed}")
    require(canonical_plane(plane, axis) in planes, "plane",
            f"{format_indices(plane)} is not a symmetric tilt plane of Σ{sigma} about {axis_text}; "
            f"its planes are {listed}")


# --------------------------------------------------------------------------- exact lattice geometry


@dataclass(frozen=True)
class _Geometry:
    """Everything a bicrystal needs that does not depend on thickness, repeats or translation."""

    a: float
    basis: np.ndarray  # (nb, 3) fractional positions in the conventional cell
    numbers: np.ndarray  # (nb,)
    orient: tuple[np.ndarray, np.ndarray]  # crystal -> boundary frame, grain 0 and grain 1
    periods: np.ndarray  # x, y in-plane CSL periods (Å)
    normal_periods: tuple[float, float]  # lattice period of each grain along z (Å)
    angle_deg: float
    nn_distance: float
    density: float  # atoms per Å^3


class _Lattice:
    """A cubic Bravais lattice in integer half-cell units (h = 2 r / a) and a CSL rotation M / D."""

    def __init__(self, centrings: np.ndarray, rotation: CSLRotation):
        self.centrings = centrings  # (k, 3) ints in {0, 1}: 2 × fractional centring vectors
        self.m_t = rotation.numerator.T  # R⁻¹ = Rᵀ = Mᵀ / D
        self.d = rotation.denominator

    def contains(self, h: np.ndarray) -> np.ndarray:
        """Which integer half-unit vectors (..., 3) are lattice vectors."""
        h = np.asarray(h, dtype=np.int64)
        ok = np.zeros(h.shape[:-1], dtype=bool)
        for c in self.centrings:
            ok |= np.all((h - c) % 2 == 0, axis=-1)
        return ok

    def in_csl(self, h: np.ndarray) -> np.ndarray:
        """Which vectors of grain 0 are lattice vectors of grain 1 too (R⁻¹ h in the lattice)."""
        h = np.asarray(h, dtype=np.int64)
        back = h @ self.m_t.T
        whole = np.all(back % self.d == 0, axis=-1)
        return self.contains(h) & whole & self.contains(back // self.d)

    def shortest_along(self, v, csl: bool) -> np.ndarray:
        """Shortest lattice (or CSL) vector along the integer direction ``v`` (half units)."""
        v = np.array(_primitive(v), dtype=np.int64)
        test = self.in_csl if csl else self.contains
        for k in range(1, 4 * self.d + 3):
            if test(k * v):
                return k * v
        raise AssertionError(f"no lattice vector along {v}")  # 2·D·v always is one


def _primitive(v) -> tuple[int, ...]:
    g = math.gcd(*(int(x) for x in v))
    return tuple(int(x) // g for x in v)


def _centrings(cell: Atoms) -> np.ndarray:
    """Lattice translations of a cubic unit cell with basis, as {0,1}³ half-cell vectors.

    A difference of two same-species positions is a lattice translation when it maps the whole
    basis onto itself; cubic structures only have the P, I and F centrings (halves of the cell).
    """
    frac = np.mod(cell.get_scaled_positions(wrap=True), 1.0)
    numbers = cell.numbers
    found = {(0, 0, 0)}
    for j in np.flatnonzero(numbers == numbers[0]):
        shift = frac[j] - frac[0]
        half = np.round(2.0 * shift)
        if np.abs(2.0 * shift - half).max() > 1e-6:
            continue
        moved = np.mod(frac + half / 2.0, 1.0)
        diff = moved[:, None, :] - frac[None, :, :]
        diff -= np.round(diff)
        same = (np.abs(diff).max(axis=-1) < 1e-6) & (numbers[:, None] == numbers[None, :])
        if same.any(axis=1).all():
            found.add(tuple(int(x) % 2 for x in half))
    return np.array(sorted(found), dtype=np.int64)


def _plane_basis(p) -> np.ndarray:
    """Two integer vectors spanning all integer vectors h with h·p = 0 (p primitive)."""
    p = np.array(p, dtype=np.int64)
    span = int(np.abs(p).max()) + 1
    grid = np.arange(-span, span + 1)
    cand = np.stack(np.meshgrid(grid, grid, grid, indexing="ij"), -1).reshape(-1, 3)
    cand = cand[(cand @ p == 0) & cand.any(axis=1)]
    cand = cand[np.argsort((cand * cand).sum(1), kind="stable")]
    for i, u in enumerate(cand):
        for v in cand[i + 1:]:
            c = np.cross(u, v)
            if np.array_equal(c, p) or np.array_equal(c, -p):  # a basis: its cell has area |p|
                return np.array([u, v])
    raise AssertionError(f"no basis for the plane {p}")


def _twist_cell(lattice: _Lattice, p) -> tuple[np.ndarray, np.ndarray]:
    """The orthogonal pair of in-plane CSL vectors of smallest area (shorter one first)."""
    basis = _plane_basis(p)
    reach = 4 * math.isqrt(lattice.d) + 4
    while True:
        ij = np.arange(-reach, reach + 1)
        coef = np.stack(np.meshgrid(ij, ij, indexing="ij"), -1).reshape(-1, 2)
        vecs = coef @ basis
        vecs = vecs[vecs.any(axis=1)]
        vecs = vecs[lattice.in_csl(vecs)]
        vecs = vecs[np.argsort((vecs * vecs).sum(1), kind="stable")][:400]
        dots = vecs @ vecs.T
        i, j = np.nonzero(dots == 0)
        if len(i):
            area = np.linalg.norm(np.cross(vecs[i], vecs[j]), axis=1)
            k = np.lexsort((j, i, area.round(9)))[0]
            t1, t2 = vecs[i[k]], vecs[j[k]]
            return t1, t2 if np.dot(np.cross(t1, t2), p) > 0 else -t2
        reach *= 2


@lru_cache(maxsize=32)
def _geometry(crystal: str, a: Optional[float], axis: tuple, sigma: int, plane: tuple,
              kind: str) -> _Geometry:
    cell = unit_cell(crystal, a)
    a_value = float(cell.cell[0, 0])
    p = np.array(_primitive(plane), dtype=np.int64)
    if kind == "tilt":
        rotation = tilt_rotation(axis, sigma, p)
        angle = next(b.angle_deg for b in csl_boundaries(axis, max(sigma, 101))
                     if b.sigma == sigma and b.plane == canonical_plane(p, axis))
    else:
        rotation = twist_rotation(axis, sigma)
        angle = round(rotation.angle_deg, 6)
        p = np.array(axis, dtype=np.int64)
    lattice = _Lattice(_centrings(cell), rotation)
    if kind == "tilt":
        tx = lattice.shortest_along(axis, csl=True)
        ty = lattice.shortest_along(np.cross(p, axis), csl=True)
    else:
        tx, ty = _twist_cell(lattice, p)
    # Normal periods: grain 0 along p; grain 1 along its own plane normal R⁻¹ p.
    tz0 = lattice.shortest_along(p, csl=False)
    tz1 = lattice.shortest_along(lattice.m_t @ p, csl=False)
    half = a_value / 2.0
    ex, ey, ez = (v / np.linalg.norm(v) for v in (tx.astype(float), ty.astype(float), p.astype(float)))
    frame0 = np.array([ex, ey, ez])  # rows: boundary axes in grain 0's crystal frame
    frame1 = frame0 @ rotation.matrix  # grain 1's crystal frame: crystal 0 = R · crystal 1
    nn = _nearest_neighbour(cell)
    return _Geometry(
        a=a_value, basis=cell.get_scaled_positions(wrap=True), numbers=cell.numbers.copy(),
        orient=(frame0, frame1),
        periods=np.array([np.linalg.norm(tx), np.linalg.norm(ty)]) * half,
        normal_periods=(float(np.linalg.norm(tz0) * half), float(np.linalg.norm(tz1) * half)),
        angle_deg=float(angle), nn_distance=nn, density=len(cell) / cell.get_volume(),
    )


def _geometry_of(params: BicrystalParams) -> _Geometry:
    return _geometry(params.crystal, None if params.a is None else float(params.a),
                     tuple(int(x) for x in params.axis), int(params.sigma),
                     tuple(int(x) for x in params.plane), params.kind)


def _nearest_neighbour(cell: Atoms) -> float:
    lst = neighbor_list(cell, 0.99 * float(cell.cell[0, 0]))
    return float(lst.distances.min())


@dataclass(frozen=True)
class _Layout:
    repeats: tuple[int, int, int, int]  # x, y, grain 0 periods, grain 1 periods
    heights: tuple[float, float]  # grain thicknesses before the translation
    cell: np.ndarray  # (3,) cell lengths after the translation


def _layout(geo: _Geometry, params: BicrystalParams) -> _Layout:
    rx, ry = (int(r) for r in params.lateral_repeat)
    n = [max(1, math.ceil(params.bulk_thickness / period - 1e-9)) for period in geo.normal_periods]
    heights = (n[0] * geo.normal_periods[0], n[1] * geo.normal_periods[1])
    cell = np.array([rx * geo.periods[0], ry * geo.periods[1],
                     sum(heights) + 2.0 * float(params.translation[2])])
    return _Layout((rx, ry, n[0], n[1]), heights, cell)


def boundary_facts(params: BicrystalParams) -> dict:
    """The boundary's facts a model keeps in ``info`` (Σ, axis, misorientation, plane, kind),
    which the Structure panel shows: for a built bicrystal and a GB search's best alike."""
    return {"sigma": int(params.sigma), "axis": format_indices(tuple(int(x) for x in params.axis), "[]"),
            "misorientation_deg": _geometry_of(params).angle_deg, "plane": format_indices(params.plane),
            "kind": params.kind}


def least_bulk_thickness(params: BicrystalParams) -> float:
    """The thinnest grain (Å, rounded up to 0.1) that still holds bulk between the cell's two
    boundaries: 4 nearest-neighbour distances d, so that the atoms in a grain's middle are
    farther than the reach of typical potentials (about 2 d: EMT and EAM Cu cut off at
    4.8–5.5 Å = 1.9–2.2 d, Tersoff Si at 1.3 d) from both boundaries: 10.3 Å for Cu, 9.5 Å
    for Si. Thinner grains build (``validate`` accepts down to 0 Å: each grain is still one
    lattice period, which tests and quick searches use), but every atom then feels both
    boundaries, so the model is two boundaries on top of each other, not one."""
    nn = _geometry_of(params).nn_distance
    return math.ceil(LEAST_BULK_NN * nn * 10.0 - 1e-9) / 10.0


def bicrystal_summary(params: BicrystalParams) -> dict:
    """What a build with ``params`` will make, cheaply (for a dialog): misorientation, cell, atoms."""
    params.validate()
    geo = _geometry_of(params)
    cell = _layout(geo, params).cell
    return {
        "misorientation_deg": geo.angle_deg,
        "boundary_area": float(cell[0] * cell[1]),
        "cell": tuple(float(c) for c in cell),
        "atoms": int(round(geo.density * float(np.prod(cell)))),
    }


# --------------------------------------------------------------------------- atoms


def _fill_box(geo: _Geometry, frame: np.ndarray, box: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Atoms of the crystal turned by ``frame`` inside [0, box) (one orthogonal lattice period).

    ``box`` is a period of the turned lattice, so every atom is found exactly once: candidates
    come from the conventional cells that cover the box, then the half-open box keeps one image.
    """
    corners = np.array([[i, j, k] for i in (0, 1) for j in (0, 1) for k in (0, 1)]) * box
    crystal = corners @ frame / geo.a  # boundary frame -> conventional cell coordinates
    lo = np.floor(crystal.min(axis=0)).astype(int) - 1
    hi = np.ceil(crystal.max(axis=0)).astype(int) + 1
    grid = np.stack(np.meshgrid(*(np.arange(l, h) for l, h in zip(lo, hi)), indexing="ij"), -1)
    frac = (grid.reshape(-1, 1, 3) + geo.basis[None, :, :]).reshape(-1, 3)
    pos = (frac * geo.a) @ frame.T
    keep = np.all((pos >= -_EDGE_TOL) & (pos < box - _EDGE_TOL), axis=1)
    numbers = np.broadcast_to(geo.numbers, (len(grid.reshape(-1, 3)), len(geo.numbers))).reshape(-1)
    return np.clip(pos[keep], 0.0, None), numbers[keep]


def _grain(geo: _Geometry, g: int, repeats: tuple[int, int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Grain ``g`` as ``repeats`` copies of its orthogonal lattice period, from z = 0 up."""
    box = np.array([*geo.periods, geo.normal_periods[g]])
    pos, numbers = _fill_box(geo, geo.orient[g], box)
    steps = [np.arange(r) * length for r, length in zip(repeats, box)]
    shifts = np.stack(np.meshgrid(*steps, indexing="ij"), -1).reshape(-1, 3)
    tiled = (shifts[:, None, :] + pos[None, :, :]).reshape(-1, 3)
    return tiled, np.tile(numbers, len(shifts))


def _remove_close_pairs(atoms: Atoms, min_distance: float, progress, cancel) -> np.ndarray:
    """Indices of atoms to drop so no pair across a boundary is closer than ``min_distance``.

    Pairs are taken closest first; of a pair with neither atom gone yet, the grain-1 atom goes.
    """
    if min_distance <= 0.0 or len(atoms) == 0:
        return np.zeros(0, dtype=np.int64)
    nl = neighbor_list(atoms, min_distance, progress=progress, cancel=cancel)
    i, j = nl.pairs()
    grain = atoms.arrays["grain"]
    across = (i < j) & (grain[i] != grain[j])
    i, j, dist = i[across], j[across], nl.distances[across]
    order = np.argsort(dist, kind="stable")
    gone = np.zeros(len(atoms), dtype=bool)
    for a, b in zip(i[order].tolist(), j[order].tolist()):
        if not (gone[a] or gone[b]):
            gone[b if grain[b] == 1 else a] = True
    return np.flatnonzero(gone)


def build_bicrystal(params: BicrystalParams, progress: Optional[ProgressFn] = None,
                    cancel: Optional[CancelFn] = None) -> Atoms:
    """A periodic CSL bicrystal (see the module docstring); ``arrays["grain"]`` is 0 or 1."""
    params.validate()
    check_cancel(cancel)
    geo = _geometry_of(params)
    layout = _layout(geo, params)
    rx, ry, n0, n1 = layout.repeats
    report(progress, 0.05, "bicrystal geometry")
    pos0, num0 = _grain(geo, 0, (rx, ry, n0))
    check_cancel(cancel)
    report(progress, 0.3, "grain 0")
    pos1, num1 = _grain(geo, 1, (rx, ry, n1))
    pos1 = pos1 + np.array([0.0, 0.0, layout.heights[0]]) + np.asarray(params.translation, float)
    check_cancel(cancel)
    report(progress, 0.55, "grain 1")
    positions = np.concatenate([pos0, pos1])
    positions = np.mod(positions, layout.cell)
    positions = np.where(positions >= layout.cell, positions - layout.cell, positions)
    atoms = Atoms(numbers=np.concatenate([num0, num1]), positions=positions,
                  cell=np.diag(layout.cell), pbc=True)
    atoms.arrays["grain"] = np.concatenate([np.zeros(len(pos0), int), np.ones(len(pos1), int)])
    min_distance = (MIN_DISTANCE_FRACTION * geo.nn_distance if params.min_distance is None
                    else float(params.min_distance))
    drop = _remove_close_pairs(atoms, min_distance, sub_progress(progress, 0.55, 0.95), cancel)
    if len(drop):
        del atoms[drop]
    facts = boundary_facts(params)
    atoms.info.update({
        "name": f"{params.crystal} Σ{int(params.sigma)}{facts['plane']}{facts['axis']} {params.kind}",
        "builder": "bicrystal",
        **facts,
        "boundary_area": float(layout.cell[0] * layout.cell[1]),
        "removed_atoms": int(len(drop)),
        "translation": [float(t) for t in params.translation],
        "min_distance": min_distance,
    })
    report(progress, 1.0, "bicrystal built")
    return atoms


__all__ = ["BicrystalParams", "BuildParameterError", "bicrystal_summary", "build_bicrystal",
           "least_bulk_thickness"]

"""Coincidence-site-lattice (CSL) misorientations of cubic crystals and their symmetric tilt planes.

A rotation by θ about a lattice direction u = [hkl] (N = h² + k² + l²) maps a cubic lattice onto
one that shares a fraction 1/Σ of its sites exactly when tan(θ/2) = (m/n)·√N for coprime integers
m, n (Ranganathan 1966). The rotation matrix is then rational,

    R = [(n² − N m²) I + 2 n m [u]ₓ + 2 m² u uᵀ] / (n² + N m²),

and Σ is n² + N m² with its factors 2 removed (for cubic lattices the odd part is the common
denominator of R). We enumerate the generating integers instead of tabulating, so any Σ up to
``max_sigma`` comes out of the same formula the builder uses.

A *symmetric* tilt boundary places the two grains at ∓θ/2 about u and the boundary normal along a
direction d ⊥ u such that a symmetry of the cubic lattice swaps the two sides of the boundary and
the two grains (a mirror with normal d, or a two-fold axis in the plane ⊥ d). The boundary plane
of the first grain is then R(θ/2)·d ∝ n·d + m·(u × d), an integer vector. Each misorientation has two
such planes, one for each class of d. Angles follow the usual tables:

* [001]: θ in (0°, 90°) measured from (100): Σ5 is 36.87° on (310) and 53.13° on (210);
* [110]: θ in (0°, 180°) measured from (001) (Rittner & Seidman 2002): Σ3 is 70.53° on (1-12)
  and 109.47° on (1-11);
* [111]: the disorientation θ in (0°, 60°], planes from both d = [1-10] and d = [11-2]:
  Σ7 38.21° on (3-1-2) and on (5-4-1).
"""
from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from .common import require

#: Tilt axes we enumerate, with the reference directions d of the symmetric boundaries (see the
#: module docstring) and the largest tilt angle of the usual tables, in degrees.
AXIS_CONVENTIONS: dict[tuple[int, int, int], tuple[tuple[tuple[int, int, int], ...], float]] = {
    (0, 0, 1): (((1, 0, 0),), 90.0),
    (1, 1, 0): (((0, 0, 1),), 180.0),
    (1, 1, 1): (((1, -1, 0), (1, 1, -2)), 60.0),
}
AXES = tuple(AXIS_CONVENTIONS)
#: Largest Σ anyone may ask for (the enumeration is quadratic in √Σ, so this is only a sanity bound).
MAX_SIGMA = 10_000
_ANGLE_TOL = 1e-9


@dataclass(frozen=True)
class CSLBoundary:
    """One symmetric tilt boundary: Σ, tilt axis, tilt angle (degrees) and the first grain's plane."""

    sigma: int
    axis: tuple[int, int, int]
    angle_deg: float
    plane: tuple[int, int, int]


@dataclass(frozen=True)
class CSLRotation:
    """A CSL rotation about ``axis`` from generating integers (m, n): R = ``numerator`` / ``denominator``."""

    sigma: int
    axis: tuple[int, int, int]
    m: int
    n: int

    @property
    def angle_deg(self) -> float:
        return math.degrees(2.0 * math.atan2(self.m * math.sqrt(_norm2(self.axis)), self.n))

    @property
    def denominator(self) -> int:
        return self.n * self.n + _norm2(self.axis) * self.m * self.m

    @property
    def numerator(self) -> np.ndarray:
        """Integer matrix M with R = M / denominator (see the module docstring)."""
        u = np.array(self.axis, dtype=np.int64)
        m, n, big_n = self.m, self.n, _norm2(self.axis)
        cross = np.array([[0, -u[2], u[1]], [u[2], 0, -u[0]], [-u[1], u[0], 0]], dtype=np.int64)
        return ((n * n - big_n * m * m) * np.eye(3, dtype=np.int64) + 2 * n * m * cross
                + 2 * m * m * np.outer(u, u))

    @property
    def matrix(self) -> np.ndarray:
        """The rotation as a float matrix (columns: images of the crystal axes)."""
        return self.numerator / float(self.denominator)


def _norm2(v) -> int:
    return int(sum(int(x) * int(x) for x in v))


def _primitive(v) -> tuple[int, int, int]:
    """Smallest integer vector along ``v`` (integer input)."""
    g = math.gcd(*(int(x) for x in v))
    return tuple(int(x) // g for x in v) if g else tuple(int(x) for x in v)


def sigma_of(m: int, n: int, axis) -> int:
    """Σ from generating integers: n² + N m² with its factors 2 removed."""
    s = n * n + _norm2(axis) * m * m
    while s % 2 == 0:
        s //= 2
    return s


@lru_cache(maxsize=None)
def _cubic_ops() -> tuple[np.ndarray, ...]:
    """The 48 signed permutation matrices: the point group m-3m of every cubic lattice."""
    ops = []
    for perm in itertools.permutations(range(3)):
        for signs in itertools.product((1, -1), repeat=3):
            g = np.zeros((3, 3), dtype=np.int64)
            for row, (col, s) in enumerate(zip(perm, signs)):
                g[row, col] = s
            ops.append(g)
    return tuple(ops)


@lru_cache(maxsize=None)
def axis_stabilizer(axis: tuple[int, int, int]) -> tuple[np.ndarray, ...]:
    """Cubic operations that map the axis onto ±itself: they relabel a tilt boundary's planes."""
    u = np.array(axis)
    return tuple(g for g in _cubic_ops() if abs(int((g @ u) @ u)) == _norm2(axis))


def canonical_plane(plane, axis) -> tuple[int, int, int]:
    """The representative of a plane's family under the axis' stabilizer (largest tuple, ±)."""
    p = np.array(_primitive(plane))
    images = [tuple(int(x) for x in s * (g @ p)) for g in axis_stabilizer(tuple(axis)) for s in (1, -1)]
    return max(images)


def format_indices(v, brackets: str = "()") -> str:
    """Miller indices as crystallographers write them: (310), (1-12), [001], (11 3 0)."""
    parts = [str(int(x)) for x in v]
    sep = " " if any(abs(int(x)) >= 10 for x in v) else ""
    return brackets[0] + sep.join(parts) + brackets[1]


def _check_axis(axis) -> tuple[int, int, int]:
    axis = tuple(int(x) for x in axis) if _is_int_triple(axis) else axis
    require(axis in AXIS_CONVENTIONS, "axis",
            f"{axis} is not a tabulated tilt axis; choose one of "
            + ", ".join(format_indices(a, "[]") for a in AXES))
    return axis


def _is_int_triple(v) -> bool:
    try:
        return len(v) == 3 and all(int(x) == x for x in v)
    except (TypeError, ValueError):
        return False


def _check_max_sigma(max_sigma) -> int:
    require(isinstance(max_sigma, (int, np.integer)) and not isinstance(max_sigma, bool)
            and 1 <= max_sigma <= MAX_SIGMA, "max_sigma",
            f"must be a whole number from 1 to {MAX_SIGMA}, got {max_sigma}")
    return int(max_sigma)


def csl_rotations(axis, max_sigma: int = 101) -> tuple[CSLRotation, ...]:
    """CSL rotations about ``axis`` with 1 < Σ ≤ max_sigma and θ in the table's range, by (Σ, θ)."""
    return _rotations(_check_axis(axis), _check_max_sigma(max_sigma))


@lru_cache(maxsize=64)
def _rotations(axis: tuple[int, int, int], max_sigma: int) -> tuple[CSLRotation, ...]:
    big_n = _norm2(axis)
    theta_max = AXIS_CONVENTIONS[axis][1]
    # n² + N m² is at most 4 Σ (it holds at most two factors 2 when gcd(m, n) = 1).
    limit = 4 * max_sigma
    found = []
    for m in range(1, math.isqrt(limit // big_n) + 1):
        for n in range(1, math.isqrt(max(limit - big_n * m * m, 0)) + 1):
            if math.gcd(m, n) != 1:
                continue
            sigma = sigma_of(m, n, axis)
            if sigma == 1 or sigma > max_sigma:
                continue
            rot = CSLRotation(sigma, axis, m, n)
            if rot.angle_deg <= theta_max + _ANGLE_TOL:
                found.append(rot)
    found.sort(key=lambda r: (r.sigma, r.angle_deg))
    return tuple(found)


def symmetric_plane(rotation: CSLRotation, d) -> tuple[int, int, int]:
    """The first grain's plane R(θ/2)·d ∝ n·d + m·(u × d) of the symmetric boundary with normal d."""
    d = np.array(d, dtype=np.int64)
    u = np.array(rotation.axis, dtype=np.int64)
    return _primitive(rotation.n * d + rotation.m * np.cross(u, d))


@lru_cache(maxsize=64)
def _boundaries(axis: tuple[int, int, int], max_sigma: int) -> tuple[CSLBoundary, ...]:
    refs = AXIS_CONVENTIONS[axis][0]
    seen: dict[tuple[int, tuple[int, int, int]], CSLBoundary] = {}
    for rot in csl_rotations(axis, max_sigma):
        for d in refs:
            plane = canonical_plane(symmetric_plane(rot, d), axis)
            key = (rot.sigma, plane)
            if key not in seen:  # rotations come by increasing θ: keep the smallest angle
                seen[key] = CSLBoundary(rot.sigma, axis, round(rot.angle_deg, 6), plane)
    return tuple(sorted(seen.values(), key=lambda b: (b.sigma, b.angle_deg, b.plane)))


def csl_boundaries(axis, max_sigma: int = 101) -> list[CSLBoundary]:
    """Symmetric tilt boundaries about ``axis`` with Σ ≤ max_sigma, one per (Σ, plane), by (Σ, θ).

    ``axis`` is one of :data:`AXES` ((0,0,1), (1,1,0), (1,1,1)); planes are perpendicular to it,
    in smallest integers, as the largest tuple of their family under the axis' symmetry.
    """
    axis = _check_axis(axis)
    return list(_boundaries(axis, _check_max_sigma(max_sigma)))


def sigma_values(axis, max_sigma: int = 101) -> list[int]:
    """The Σ values of CSL misorientations about ``axis`` up to ``max_sigma``, ascending."""
    return sorted({r.sigma for r in csl_rotations(_check_axis(axis), _check_max_sigma(max_sigma))})


def sigma_list_text(axis, max_sigma: int = 101) -> str:
    """'Σ values for [001] up to 101 are 5, 13, 17, ...' for error messages."""
    values = ", ".join(str(s) for s in sigma_values(axis, max_sigma))
    return f"Σ values for {format_indices(axis, '[]')} up to {max_sigma} are {values}"


def tilt_rotation(axis, sigma: int, plane) -> CSLRotation | None:
    """The CSL rotation (signed m) that makes ``plane`` the first grain's plane of a symmetric Σ tilt.

    ``plane`` may be any member of its family (e.g. (1,3,0) or (-3,1,0) for (310) about [001]); we
    look for p ∝ n·d + m·(u × d) over every reference direction d of the axis and its images under
    the axis' symmetry, with either sign of m. None if ``plane`` is not such a plane.
    """
    axis = _check_axis(axis)
    target = _primitive(plane)
    directions = {tuple(int(x) for x in g @ np.array(d)) for d in AXIS_CONVENTIONS[axis][0]
                  for g in axis_stabilizer(axis)}
    for rot in csl_rotations(axis, max(int(sigma), 2)):
        if rot.sigma != sigma:
            continue
        for m in (rot.m, -rot.m):
            signed = CSLRotation(rot.sigma, axis, m, rot.n)
            for d in sorted(directions):
                p = symmetric_plane(signed, d)
                if p == target or tuple(-x for x in p) == target:
                    return signed
    return None


def twist_rotation(axis, sigma: int) -> CSLRotation | None:
    """The smallest-angle CSL rotation of this Σ about ``axis`` (twist boundaries), or None."""
    for rot in csl_rotations(_check_axis(axis), max(int(sigma), 2)):
        if rot.sigma == sigma:
            return rot
    return None

"""Virtual Ångström-beam electron diffraction: the kinematic pattern of a sub-nm column.

A column of diameter ``d`` runs through ``point`` along the beam direction ``u``; the atoms inside
it (periodic images included, so the column is continuous through the cell) scatter kinematically
(first Born approximation, single scattering)::

    I(k) = | sum_j  P(rho_j)  f_e,j(|k| / 2)  exp(2 pi i q(k) . r_j) |^2

* ``k = (k_x, k_y)`` on the detector, in 1/Å (``|k| = 1/d_hkl`` at a Bragg spot), ``k_x`` along
  ``right`` and ``k_y`` along ``up`` (the viewer's screen axes, so the pattern has the viewer's
  orientation); ``f_e`` of Peng et al. (1996) at ``s = |k|/2`` (see :mod:`.electron_factors`),
  times the beam's relativistic factor ``gamma = 1 + eV/(m c^2)`` (1.391 at 200 kV), so ``I`` is
  in Å² on an absolute scale (one Si atom: I(0) = 65.7 Å² at 200 kV); the flat-sphere pattern
  (``voltage=None``) has no beam energy and takes ``gamma = 1``.
* ``q = (k_x, k_y, -lambda |k|^2 / 2)``: the Ewald sphere of the beam's wavelength (paraxial; the
  next term is ``lambda^3 k^4 / 8``, 10^-5 1/Å at 2 1/Å and 200 kV). ``voltage=None`` gives the
  flat-sphere (projection) pattern.
* ``P(rho)`` is the probe's amplitude at the atom's distance ``rho`` from the axis:
  ``"parallel"``: 1 inside the cylinder (a parallel beam and a hard-edged column);
  ``"gaussian"``: a Gaussian probe whose intensity FWHM is ``d``;
  ``"convergent"``: the aberration-free, in-focus probe of a round aperture of semi-angle
  ``alpha = 0.5145 lambda / d`` (Airy amplitude ``2 J1(v)/v``, ``v = 2 pi alpha rho / lambda``,
  intensity FWHM ``d``), its slowly decaying tails tapered (cos^2) to zero between 2 d and 4 d
  so the column stays local. Weighting each atom by ``P`` is the kinematic convergent-beam pattern
  (the aperture, radius ``alpha/lambda``, convolved with the scattered amplitude: spots become
  discs) under two approximations: ``f_e`` is taken as constant across a disc, and the probe
  does not spread along the column (its depth of field ``lambda/alpha^2`` is ~0.4 µm at
  d = 0.5 nm, 200 kV). The taper softens the disc edges over ~1/(4 d) and leaves a ripple of
  ~20 % across a disc (sharp discs need the tails out to ~8 d, which in a periodic model of a
  few nm would illuminate the model's own images). Not modelled: dynamical (multiple) scattering, thermal diffuse
  scattering, absorption, lens aberrations and defocus, partial coherence.

How it is fast: atoms are grouped by element and the phase factor splits into a k_x and a k_y
part (the paraxial Ewald term is ``k_x^2 + k_y^2``), so each element's structure factor on the
grid is one complex matrix product ``B^T A`` (BLAS, which releases the GIL), the atoms in chunks
between which ``cancel`` is checked. The column search is a numba kernel over atoms x images.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Optional

import numpy as np
from numba import njit

from ..elements import element_types
from ..errors import ParameterError, finite_number, require
from ..tasks import CancelFn, ProgressFn, chunked, report
from .electron_factors import coefficients, relativistic_factor

PROBES = ("parallel", "gaussian", "convergent")
#: Intensity FWHM of the Airy probe is AIRY_FWHM * lambda / alpha ((2 J1(v)/v)^2 = 1/2 at v = 1.6163).
AIRY_FWHM = 2.0 * 1.61634 / (2.0 * math.pi)
#: Atoms are collected out to this many diameters from the axis for the soft probes (the Gaussian's
#: amplitude is 0.004 there; the Airy amplitude is tapered to zero there from half of it).
REACH = {"parallel": 0.5, "gaussian": 2.0, "convergent": 4.0}
#: Atoms per matrix product between cancel checks.
_ATOMS_PER_CHUNK = 2048
#: Atom-image tests of the column search at most (a thickness far beyond the cell is refused).
_MAX_TESTS = 200_000_000


def wavelength(voltage_kv: float) -> float:
    """Relativistic electron wavelength (Å) at an accelerating voltage in kV (200 kV: 0.02508 Å)."""
    v = 1e3 * float(voltage_kv)
    return 12.2642598 / math.sqrt(v * (1.0 + 0.978475e-6 * v))


@dataclass(frozen=True)
class DiffractionParams:
    """Column and detector settings; lengths in Å, ``k_max`` in 1/Å, ``voltage`` in kV.

    ``thickness=None`` takes the model cell's depth along the beam through its centre (the cell
    edge along an axis, sqrt(3) edges along a cube's body diagonal), centred on the point.
    """

    diameter: float = 5.0
    k_max: float = 1.5
    pixels: int = 256
    thickness: Optional[float] = None
    probe: str = "parallel"
    voltage: Optional[float] = 200.0

    def checked(self) -> "DiffractionParams":
        d = finite_number(self.diameter, "diameter")
        require(0.5 <= d <= 100.0, "diameter", f"must be between 0.5 and 100 Å, got {d:g}")
        k = finite_number(self.k_max, "k_max")
        require(0.05 <= k <= 10.0, "k_max", f"must be between 0.05 and 10 1/Å, got {k:g}")
        require(16 <= int(self.pixels) <= 2048, "pixels", f"must be 16 to 2048, got {self.pixels}")
        if self.thickness is not None:
            t = finite_number(self.thickness, "thickness")
            require(0.0 < t <= 1e5, "thickness", f"must be positive (Å), got {t:g}")
        require(self.probe in PROBES, "probe", f"must be one of {', '.join(PROBES)}, got {self.probe!r}")
        if self.voltage is not None:
            v = finite_number(self.voltage, "voltage")
            require(1.0 <= v <= 3000.0, "voltage", f"must be 1 to 3000 kV, got {v:g}")
        if self.probe == "convergent":
            require(self.voltage is not None, "voltage", "a convergent probe needs the beam voltage")
        return self


@dataclass(frozen=True)
class Column:
    """Atoms of one column in the beam frame: ``xyz[:, 0:2]`` across (along ``right``, ``up``),
    ``xyz[:, 2]`` along the beam, all relative to ``point``."""

    xyz: np.ndarray  # (n, 3) Å
    numbers: np.ndarray  # (n,) atomic numbers
    indices: np.ndarray  # (n,) index of the atom in the model
    images: np.ndarray  # (n, 3) int64 cell shift of each atom's image
    weights: np.ndarray  # (n,) probe amplitude P(rho)
    point: np.ndarray  # (3,) Cartesian, Å
    direction: np.ndarray  # (3,) unit beam direction
    right: np.ndarray  # (3,) unit detector k_x axis
    up: np.ndarray  # (3,) unit detector k_y axis
    diameter: float
    length: float  # Å along the beam (inf: no limit)

    def __len__(self) -> int:
        """Scatterers: periodic images of one atom count apart, the probe's tails included."""
        return len(self.numbers)

    @property
    def extent(self) -> float:
        """Its length along the beam (Å): ``length``, or for a column without a limit (a
        molecule) the span of its atoms along the beam."""
        if math.isfinite(self.length):
            return float(self.length)
        return float(np.ptp(self.xyz[:, 2])) if len(self.numbers) else 0.0

    @property
    def n_within_diameter(self) -> int:
        """Scatterers within d/2 of the axis; the rest lie in a Gaussian or convergent probe's tails."""
        return int(np.count_nonzero(np.hypot(self.xyz[:, 0], self.xyz[:, 1]) <= 0.5 * self.diameter))

    @property
    def n_distinct(self) -> int:
        """Atoms of the model among the scatterers (each counted once, however many images)."""
        return len(np.unique(self.indices))


@dataclass(frozen=True)
class DiffractionResult:
    k: np.ndarray  # (pixels,) detector axis, 1/Å (k = 0 at index pixels // 2)
    intensity: np.ndarray  # (pixels, pixels) I[k_y, k_x] in Å^2 (|gamma sum f_e|^2)
    column: Column
    params: DiffractionParams
    wavelength: Optional[float]  # Å, None for a flat Ewald sphere
    semi_angle: Optional[float] = None  # convergent probe's alpha, rad
    elements: tuple = field(default=())
    gamma: float = 1.0  # the relativistic factor the amplitudes were multiplied by

    @property
    def intensity_units(self) -> str:
        """What I is, for a colour bar or a file header: "Å², relativistic f_e (γ = 1.391)"."""
        return (f"Å², relativistic f_e (γ = {self.gamma:.4f})" if self.gamma != 1.0
                else "Å², non-relativistic f_e (no beam voltage)")

    @property
    def disc_radius(self) -> float:
        """Radius (1/Å) of the convergent beam's discs, 0 for a parallel beam."""
        return 0.0 if not self.semi_angle else self.semi_angle / self.wavelength

    def to_arrays(self) -> dict[str, np.ndarray]:
        """No per-atom columns (which atoms are in the column: ``column.indices``)."""
        return {}

    def to_dict(self) -> dict:
        c = self.column
        return {
            "k": self.k.tolist(), "intensity": self.intensity.tolist(),
            "point": c.point.tolist(), "direction": c.direction.tolist(), "right": c.right.tolist(),
            "up": c.up.tolist(), "atoms": c.indices.tolist(), "diameter": c.diameter,
            "length": c.length, "probe": self.params.probe, "voltage": self.params.voltage,
            "wavelength": self.wavelength, "semi_angle": self.semi_angle, "gamma": self.gamma,
            "intensity_units": self.intensity_units,
        }


# --------------------------------------------------------------------------- the column


def beam_frame(direction, up=None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Unit (beam, right, up) with ``right = up x beam`` completing a right-handed detector frame
    (``up`` is made perpendicular to the beam; any perpendicular if ``up`` is None or parallel)."""
    u = np.asarray(direction, dtype=np.float64).reshape(3)
    norm = np.linalg.norm(u)
    if not np.isfinite(norm) or norm == 0.0:
        raise ParameterError("direction", f"must be a nonzero vector, got {u.tolist()}")
    u = u / norm
    v = None if up is None else np.asarray(up, dtype=np.float64).reshape(3)
    if v is not None:
        v = v - (v @ u) * u
    if v is None or np.linalg.norm(v) < 1e-9:
        trial = np.eye(3)[int(np.argmin(np.abs(u)))]
        v = trial - (trial @ u) * u
    v = v / np.linalg.norm(v)
    return u, np.cross(v, u), v


def cell_depth(cell: np.ndarray, direction: np.ndarray) -> float:
    """Length of the line along ``direction`` through the centre of the cell parallelepiped."""
    normals = np.linalg.inv(cell).T  # rows: reciprocal vectors, |b_i| = 1 / height_i
    heights = 1.0 / np.linalg.norm(normals, axis=1)
    cosines = np.abs(normals @ direction) * heights
    with np.errstate(divide="ignore"):
        return float(np.min(np.where(cosines > 1e-12, heights / cosines, np.inf)))


@njit(nogil=True, cache=True)
def _column_atoms(frac, cell, shifts, point, u, e1, e2, half_length, radius, fill,
                  out_index, out_image, out_xyz):
    """Count (``fill`` False) or store the atom images within ``radius`` of the axis and
    ``half_length`` of the point along it; returns their number."""
    n = frac.shape[0]
    count = 0
    r2 = radius * radius
    for s in range(shifts.shape[0]):
        for i in range(n):
            fx = frac[i, 0] + shifts[s, 0]
            fy = frac[i, 1] + shifts[s, 1]
            fz = frac[i, 2] + shifts[s, 2]
            d0 = fx * cell[0, 0] + fy * cell[1, 0] + fz * cell[2, 0] - point[0]
            d1 = fx * cell[0, 1] + fy * cell[1, 1] + fz * cell[2, 1] - point[1]
            d2 = fx * cell[0, 2] + fy * cell[1, 2] + fz * cell[2, 2] - point[2]
            t = d0 * u[0] + d1 * u[1] + d2 * u[2]
            if abs(t) > half_length:
                continue
            x = d0 * e1[0] + d1 * e1[1] + d2 * e1[2]
            y = d0 * e2[0] + d1 * e2[1] + d2 * e2[2]
            if x * x + y * y > r2:
                continue
            if fill:
                out_index[count] = i
                out_image[count] = s
                out_xyz[count, 0] = x
                out_xyz[count, 1] = y
                out_xyz[count, 2] = t
            count += 1
    return count


def _image_shifts(cell, pbc, point, u, half_length, radius) -> np.ndarray:
    """Integer cell shifts whose cell can hold atoms of the capsule around the axis segment."""
    if not np.any(pbc):
        return np.zeros((1, 3), dtype=np.int64)
    corners = point[None, :] + np.array([[sx, sy, sz] for sx in (-1, 1) for sy in (-1, 1)
                                         for sz in (-1, 1)], float) * (np.abs(u) * half_length + radius)
    frac = corners @ np.linalg.inv(cell)
    ranges = []
    for a in range(3):
        if pbc[a]:
            ranges.append(np.arange(int(np.floor(frac[:, a].min())) - 1, int(np.floor(frac[:, a].max())) + 1))
        else:
            ranges.append(np.zeros(1, dtype=np.int64))
    shifts = np.stack(np.meshgrid(*ranges, indexing="ij"), axis=-1).reshape(-1, 3)
    # keep the cells whose bounding sphere comes within reach of the segment
    centres = (shifts + 0.5) @ cell - point
    half_diag = 0.5 * max(np.linalg.norm(np.array([sx, sy, sz], float) @ cell)
                          for sx in (-1, 1) for sy in (-1, 1) for sz in (-1, 1))
    t = np.clip(centres @ u, -half_length, half_length)
    dist = np.linalg.norm(centres - t[:, None] * u[None, :], axis=1)
    return np.ascontiguousarray(shifts[dist <= radius + half_diag], dtype=np.int64)


def probe_weights(rho: np.ndarray, diameter: float, probe: str, semi_angle: Optional[float] = None,
                  wavelength_: Optional[float] = None) -> np.ndarray:
    """Probe amplitude P at distances ``rho`` (Å) from the axis (see the module docstring)."""
    rho = np.asarray(rho, dtype=np.float64)
    if probe == "parallel":
        return np.ones_like(rho)
    if probe == "gaussian":  # intensity exp(-4 ln2 rho^2 / d^2): amplitude is its square root
        return np.exp(-2.0 * math.log(2.0) * (rho / diameter) ** 2)
    if probe == "convergent":
        from scipy.special import j1

        v = 2.0 * math.pi * semi_angle * rho / wavelength_
        airy = np.where(v > 1e-8, 2.0 * j1(v) / np.where(v > 1e-8, v, 1.0), 1.0)
        reach = REACH["convergent"] * diameter
        taper = np.clip((rho - 0.5 * reach) / (0.5 * reach), 0.0, 1.0)
        return airy * np.cos(0.5 * math.pi * taper) ** 2
    raise ParameterError("probe", f"must be one of {', '.join(PROBES)}, got {probe!r}")


def select_column(atoms, point, direction, params: DiffractionParams = DiffractionParams(),
                  up=None) -> Column:
    """The atoms (and periodic images) of the column of ``params.diameter`` through ``point``
    along ``direction``, with their probe weights."""
    params = params.checked()
    point = np.asarray(point, dtype=np.float64).reshape(3)
    require(bool(np.all(np.isfinite(point))), "point", f"must be finite, got {point.tolist()}")
    u, e1, e2 = beam_frame(direction, up)
    n = len(atoms)
    cell = np.asarray(atoms.cell[:], dtype=np.float64).reshape(3, 3)
    periodic = atoms.cell.rank == 3 and bool(np.any(atoms.pbc))
    pbc = np.asarray(atoms.pbc, dtype=bool) if periodic else np.zeros(3, dtype=bool)
    if params.thickness is not None:
        length = float(params.thickness)
    elif periodic:
        length = cell_depth(cell, u)
    else:
        length = math.inf
    half = 0.5 * length if math.isfinite(length) else 1e300
    radius = REACH[params.probe] * params.diameter
    if periodic:
        frac = np.asarray(atoms.positions, dtype=np.float64) @ np.linalg.inv(cell)
        frac[:, pbc] -= np.floor(frac[:, pbc])  # wrap into the cell along periodic axes
        shifts = _image_shifts(cell, pbc, point, u, half, radius)
        base = np.floor(np.asarray(atoms.positions) @ np.linalg.inv(cell)).astype(np.int64)
        base[:, ~pbc] = 0
    else:
        frac, cell = np.ascontiguousarray(atoms.positions, dtype=np.float64), np.eye(3)
        shifts = np.zeros((1, 3), dtype=np.int64)
        base = np.zeros((n, 3), dtype=np.int64)
    if n * len(shifts) > _MAX_TESTS:
        raise ParameterError("thickness", f"{length:g} Å spans {len(shifts)} periodic images of the "
                                          f"cell; choose a thinner column")
    frac = np.ascontiguousarray(frac)
    empty_i, empty_x = np.zeros(0, np.int64), np.zeros((0, 3))
    count = _column_atoms(frac, cell, shifts, point, u, e1, e2, half, radius, False,
                          empty_i, empty_i, empty_x)
    index, image, xyz = np.empty(count, np.int64), np.empty(count, np.int64), np.empty((count, 3))
    _column_atoms(frac, cell, shifts, point, u, e1, e2, half, radius, True, index, image, xyz)
    lam = wavelength(params.voltage) if params.voltage is not None else None
    alpha = AIRY_FWHM * lam / params.diameter if params.probe == "convergent" else None
    weights = probe_weights(np.hypot(xyz[:, 0], xyz[:, 1]), params.diameter, params.probe, alpha, lam)
    return Column(xyz=xyz, numbers=np.asarray(atoms.numbers, dtype=np.int64)[index], indices=index,
                  images=shifts[image] - base[index], weights=weights, point=point, direction=u,
                  right=e1, up=e2, diameter=float(params.diameter), length=length)


# --------------------------------------------------------------------------- the pattern


def detector_axis(k_max: float, pixels: int) -> np.ndarray:
    """``pixels`` values ``(i - pixels//2) * k_max / (pixels//2)``: k = 0 falls on a pixel."""
    half = int(pixels) // 2
    return (np.arange(int(pixels)) - half) * (float(k_max) / half)


def pattern(column: Column, k: np.ndarray, wavelength_: Optional[float] = None,
            progress: Optional[ProgressFn] = None, cancel: Optional[CancelFn] = None,
            gamma: float = 1.0) -> np.ndarray:
    """Kinematic intensity I[k_y, k_x] (Å^2) of ``column`` on the square grid ``k`` x ``k``, the
    tabulated f_e multiplied by the relativistic ``gamma`` (see :func:`relativistic_factor`)."""
    k = np.asarray(k, dtype=np.float64)
    kk = np.hypot(k[None, :], k[:, None])
    lam = 0.0 if wavelength_ is None else float(wavelength_)
    amplitude = np.zeros((len(k), len(k)), dtype=np.complex128)
    present, types = element_types(column.numbers) if len(column) else (np.zeros(0, np.int64), None)
    done, total = 0, max(len(column), 1)
    for t, z in enumerate(present):
        a, b = coefficients(int(z))
        f = gamma * np.tensordot(a, np.exp(-np.multiply.outer(b, (0.5 * kk) ** 2)), axes=1)
        members = np.flatnonzero(types == t)
        structure = np.zeros_like(amplitude)
        for start, stop in chunked(len(members), _ATOMS_PER_CHUNK, None, cancel):
            rows = members[start:stop]
            x, y, zz = column.xyz[rows, 0], column.xyz[rows, 1], column.xyz[rows, 2]
            ewald = -0.5 * lam * k ** 2  # q_z, split between the k_x and k_y factors
            along_x = np.exp(2j * np.pi * (np.outer(x, k) + np.outer(zz, ewald)))
            along_x *= column.weights[rows, None]
            along_y = np.exp(2j * np.pi * (np.outer(y, k) + np.outer(zz, ewald)))
            structure += along_y.T @ along_x
            done += stop - start
            report(progress, done / total, "diffraction pattern")
        amplitude += f * structure
    return amplitude.real ** 2 + amplitude.imag ** 2


def compute_diffraction(atoms, point, direction, params: DiffractionParams = DiffractionParams(),
                        up=None, progress: Optional[ProgressFn] = None,
                        cancel: Optional[CancelFn] = None) -> DiffractionResult:
    """The kinematic electron diffraction pattern of the column through ``point`` along
    ``direction`` (detector k_y along ``up`` projected normal to the beam)."""
    params = params.checked()
    column = select_column(atoms, point, direction, params, up)
    k = detector_axis(params.k_max, params.pixels)
    lam = wavelength(params.voltage) if params.voltage is not None else None
    alpha = AIRY_FWHM * lam / params.diameter if params.probe == "convergent" else None
    gamma = relativistic_factor(params.voltage)
    intensity = pattern(column, k, lam, progress, cancel, gamma)
    elements = tuple(int(z) for z in np.unique(column.numbers))
    return DiffractionResult(k=k, intensity=intensity, column=column, params=params,
                             wavelength=lam, semi_angle=alpha, elements=elements, gamma=gamma)


def log_image(intensity: np.ndarray, k: np.ndarray, hide_radius: float = 0.0,
              dynamic_range: float = 1e4) -> tuple[np.ndarray, float, float]:
    """(log10 I, low, high) for display: ``high`` is the brightest pixel farther than
    ``hide_radius`` from k = 0 (the direct beam saturates instead of darkening everything
    else), ``low`` is ``dynamic_range`` below it."""
    kk = np.hypot(k[None, :], k[:, None])
    outside = intensity[kk > hide_radius]
    peak = float(outside.max()) if outside.size else float(intensity.max())
    peak = peak if peak > 0 else 1.0
    floor = peak / float(dynamic_range)
    return np.log10(np.maximum(intensity, floor * 1e-3)), math.log10(floor), math.log10(peak)


def warm_up() -> None:
    """Compile the column kernel on a tiny model."""
    from ase import Atoms

    atoms = Atoms("Si2", positions=[[0, 0, 0], [1.0, 1.0, 1.0]], cell=[3.0] * 3, pbc=True)
    compute_diffraction(atoms, [0.0, 0.0, 0.0], [0, 0, 1], DiffractionParams(pixels=16))

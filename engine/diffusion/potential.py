"""The energy of one mobile atom in a frozen periodic host: a UFF Lennard-Jones pair sum.

Every host atom j within the cutoff adds D_ij[(x_ij/r)¹² − 2(x_ij/r)⁶] − (the same at the cutoff),
so the energy is continuous where an atom leaves the sphere; zero is the atom far from the host.
With UFF's combination rules x_ij = √(x_i x_j), D_ij = √(D_i D_j) the pair minimum lies at
r = x_ij with depth D_ij (Rappé et al., J. Am. Chem. Soc. 114, 10024 (1992), eqs. 20–22).

The host never moves, so its atoms and their periodic images within the cutoff of the cell are
binned once on a Cartesian grid; a trial point is wrapped into the cell and only scans the bins
that can reach it. That makes one evaluation a few hundred pair terms, and a numba loop over
many points (a grid, a batch of NEB images) runs at several 10⁵ points per second (8 Å, a-SiO2).
Units: Å, eV.
"""
from __future__ import annotations

import math
from typing import Optional

import numpy as np
from ase import Atoms
from ase.calculators.calculator import Calculator, all_changes
from numba import njit

from ..errors import ParameterError, require
from ..leaf import leaf
from ..tasks import CancelFn, ProgressFn, check_cancel, run_chunks, thread_count
from .environment import (SOAP, UFF, empty_model, gather_soap, model_energy, model_workspace,
                          row_atoms, uff_pair)
from .point_soap import live_spectrum, soap_coefficients

#: 1 kcal/mol in eV (4184 J/mol over the Faraday constant, CODATA 2018).
KCAL_PER_MOL = 4184.0 / 96485.33212
#: Default cutoff of the pair sum (Å).
DEFAULT_CUTOFF = 8.0
#: Points per kernel call between progress/cancel checks (~10 ms with UFF at 8 Å in a-SiO2,
#: ~0.15 s with the SOAP model's forces: Cancel acts within half a second).
CHUNK_POINTS = 4096
#: Threads for many points at once when a call does not say (None: one per core); a call of one
#: chunk runs in the calling thread.
THREADS: Optional[int] = None
#: The host (with its images) is binned in cubes of the cutoff divided by this: on a-SiO2 the UFF
#: sum at 8 Å runs the same with 2 or 3, the SOAP model (4.5 Å) 5% and the network (6 Å) 4%
#: faster with 2 than 3 (4: slower still); finer bins scan fewer atoms outside the sphere but
#: spend more on rows of bins.
_BINS_PER_CUTOFF = 2
#: Points whose SOAP spectra are projected together (:func:`_soap_energies`).
_SOAP_BATCH = 16
#: At most this many host atoms and periodic images (a tiny cell with a long cutoff).
_MAX_IMAGES = 20_000_000

#: UFF nonbond parameters per element: (UFF atom type, x_i in Å, D_i in kcal/mol), where x_i is
#: the van der Waals distance (the pair minimum of like atoms) and D_i the well depth. Source:
#: Rappé et al., J. Am. Chem. Soc. 114, 10024 (1992), Table 1, as transcribed in Open Babel's
#: data/UFF.prm (taken from RDKit's Code/ForceField/UFF/Params.cpp); an element with several UFF
#: types has the same x_i and D_i in all of them, so the type only names the row.
UFF_PARAMETERS: dict[str, tuple[str, float, float]] = {
    "H": ("H_", 2.886, 0.044),
    "He": ("He4+4", 2.362, 0.056),
    "Li": ("Li", 2.451, 0.025),
    "Be": ("Be3+2", 2.745, 0.085),
    "B": ("B_3", 4.083, 0.180),
    "C": ("C_3", 3.851, 0.105),
    "N": ("N_3", 3.660, 0.069),
    "O": ("O_3", 3.500, 0.060),
    "F": ("F_", 3.364, 0.050),
    "Ne": ("Ne4+4", 3.243, 0.042),
    "Na": ("Na", 2.983, 0.030),
    "Mg": ("Mg3+2", 3.021, 0.111),
    "Al": ("Al3", 4.499, 0.505),
    "Si": ("Si3", 4.295, 0.402),
    "P": ("P_3+3", 4.147, 0.305),
    "S": ("S_3+2", 4.035, 0.274),
    "Cl": ("Cl", 3.947, 0.227),
    "Ar": ("Ar4+4", 3.868, 0.185),
    "K": ("K_", 3.812, 0.035),
    "Ca": ("Ca6+2", 3.399, 0.238),
    "Sc": ("Sc3+3", 3.295, 0.019),
    "Ti": ("Ti3+4", 3.175, 0.017),
    "V": ("V_3+5", 3.144, 0.016),
    "Cr": ("Cr6+3", 3.023, 0.015),
    "Mn": ("Mn6+2", 2.961, 0.013),
    "Fe": ("Fe3+2", 2.912, 0.013),
    "Co": ("Co6+3", 2.872, 0.014),
    "Ni": ("Ni4+2", 2.834, 0.015),
    "Cu": ("Cu3+1", 3.495, 0.005),
    "Zn": ("Zn3+2", 2.763, 0.124),
    "Ga": ("Ga3+3", 4.383, 0.415),
    "Ge": ("Ge3", 4.280, 0.379),
    "As": ("As3+3", 4.230, 0.309),
    "Se": ("Se3+2", 4.205, 0.291),
    "Br": ("Br", 4.189, 0.251),
    "Kr": ("Kr4+4", 4.141, 0.220),
    "Zr": ("Zr3+4", 3.124, 0.069),
    "Mo": ("Mo6+6", 3.052, 0.056),
    "Pd": ("Pd4+2", 2.899, 0.048),
    "Ag": ("Ag1+1", 3.148, 0.036),
    "Cd": ("Cd3+2", 2.848, 0.228),
    "In": ("In3+3", 4.463, 0.599),
    "Sn": ("Sn3", 4.392, 0.567),
    "I": ("I_", 4.500, 0.339),
    "Xe": ("Xe4+4", 4.404, 0.332),
    "Hf": ("Hf3+4", 3.141, 0.072),
    "Ta": ("Ta3+5", 3.170, 0.081),
    "W": ("W_6+6", 3.069, 0.067),
    "Pt": ("Pt4+2", 2.754, 0.080),
    "Au": ("Au4+3", 3.293, 0.039),
    "Pb": ("Pb3", 4.297, 0.663),
}


def uff_element(element) -> str:
    """The element symbol as the table spells it; ParameterError if UFF has no row for it here."""
    ok = isinstance(element, str) and element.strip()
    symbol = element.strip()[:1].upper() + element.strip()[1:].lower() if ok else element
    require(ok and symbol in UFF_PARAMETERS, "element",
            f"no UFF Lennard-Jones parameters for {element!r}; known elements: "
            f"{', '.join(UFF_PARAMETERS)}")
    return symbol


def pair_parameters(a: str, b: str) -> tuple[float, float]:
    """(x_ab in Å, D_ab in eV) of the UFF pair: geometric means of the elements' x and D."""
    _, xa, da = UFF_PARAMETERS[uff_element(a)]
    _, xb, db = UFF_PARAMETERS[uff_element(b)]
    return math.sqrt(xa * xb), math.sqrt(da * db) * KCAL_PER_MOL


def uff_coefficients(element: str, symbols, cutoff: float) -> tuple:
    """Per host atom (c12 = D x¹², c6 = 2 D x⁶, the pair energy at ``cutoff``) of the UFF
    pairs of the mobile ``element`` with host atoms ``symbols``: what the kernels sum."""
    kinds, kind = np.unique(np.asarray(symbols), return_inverse=True)
    x, D = np.array([pair_parameters(element, str(s)) for s in kinds]).T
    c12, c6 = D * x ** 12, 2.0 * D * x ** 6
    at_cutoff = c12 / cutoff ** 12 - c6 / cutoff ** 6
    return c12[kind], c6[kind], at_cutoff[kind]


def has_uff(symbols) -> bool:
    """Whether every element of ``symbols`` has UFF parameters here."""
    return all(s in UFF_PARAMETERS for s in set(symbols))


def pair_energy(r, x: float, D: float, cutoff: float = DEFAULT_CUTOFF):
    """The shifted pair term D[(x/r)¹² − 2(x/r)⁶] − (its value at the cutoff), 0 beyond it (eV)."""
    r = np.asarray(r, dtype=np.float64)
    unshifted = D * ((x / r) ** 12 - 2.0 * (x / r) ** 6)
    at_cutoff = D * ((x / cutoff) ** 12 - 2.0 * (x / cutoff) ** 6)
    return np.where(r < cutoff, unshifted - at_cutoff, 0.0)


def finite_number(value) -> bool:
    """Whether ``value`` is a real, finite number (not a bool)."""
    return (isinstance(value, (int, float, np.integer, np.floating))
            and not isinstance(value, bool) and bool(np.isfinite(value)))


# --------------------------------------------------------------------------- kernels


@leaf
def _locate(px, py, pz, host):
    """The point wrapped into the cell, and its bin."""
    cell, inv, lo, inv_w, nbins = host[0], host[1], host[2], host[3], host[4]
    f0 = px * inv[0, 0] + py * inv[1, 0] + pz * inv[2, 0]
    f1 = px * inv[0, 1] + py * inv[1, 1] + pz * inv[2, 1]
    f2 = px * inv[0, 2] + py * inv[1, 2] + pz * inv[2, 2]
    f0 -= math.floor(f0)
    f1 -= math.floor(f1)
    f2 -= math.floor(f2)
    qx = f0 * cell[0, 0] + f1 * cell[1, 0] + f2 * cell[2, 0]
    qy = f0 * cell[0, 1] + f1 * cell[1, 1] + f2 * cell[2, 1]
    qz = f0 * cell[0, 2] + f1 * cell[1, 2] + f2 * cell[2, 2]
    bx = min(max(int((qx - lo[0]) * inv_w), 0), nbins[0] - 1)
    by = min(max(int((qy - lo[1]) * inv_w), 0), nbins[1] - 1)
    bz = min(max(int((qz - lo[2]) * inv_w), 0), nbins[2] - 1)
    return qx, qy, qz, bx, by, bz


@njit(nogil=True, cache=True)
def point_workspace(host, want_gradient):
    """Buffers for :func:`point_value` (a trained model's; UFF needs none), made once per batch
    of points and passed from point to point (the gradient only if ``want_gradient``)."""
    return model_workspace(host[15], want_gradient, host[16])


@njit(nogil=True, cache=True)
def point_energy(px, py, pz, host, work):
    """(E, ∂E/∂x, ∂E/∂y, ∂E/∂z) of the mobile atom at one point; ``host`` from
    :func:`_host_arrays`, ``work`` from :func:`point_workspace` with the gradient (made once,
    passed to every point: sized for the host's most neighbours, it never grows).

    The point is wrapped into the cell first, so any image of it gives the same answer. A host
    tuple that carries a trained model (:mod:`.environment`) is evaluated by that model, so
    every kernel built on this function (grid, minimiser, NEB) runs on either potential.
    """
    return point_value(px, py, pz, host, True, work)


@njit(nogil=True, cache=True, inline="always")
def point_value(px, py, pz, host, want_gradient, work):
    """:func:`point_energy`; without ``want_gradient`` a model skips its gradient."""
    qx, qy, qz, bx, by, bz = _locate(px, py, pz, host)
    if host[15][0] != UFF:
        return model_energy(qx, qy, qz, bx, by, bz, host, want_gradient, work)
    rows, ax, ay, az = host[5], host[7], host[8], host[9]
    c12, c6, shift, rc2 = host[10], host[11], host[12], host[13]
    e = 0.0
    gx = 0.0
    gy = 0.0
    gz = 0.0
    for s in range(rows.shape[0]):
        for a in range(*row_atoms(s, qx, qy, qz, bx, by, bz, host)):
            dx = qx - ax[a]
            dy = qy - ay[a]
            dz = qz - az[a]
            r2 = dx * dx + dy * dy + dz * dz
            if r2 >= rc2:
                continue
            pair, d = uff_pair(r2, c12[a], c6[a], shift[a])
            e += pair
            gx += d * dx
            gy += d * dy
            gz += d * dz
    return e, gx, gy, gz


@njit(nogil=True, cache=True)
def _soap_energies(points, host, energies):
    """Energies of the quadratic SOAP model (no gradient) at many points: the live spectra of
    :data:`_SOAP_BATCH` points, then their projections in one matrix product, which reads each
    eigenvector once per batch instead of once per point (a-SiO2/Cu: the model's ~2.2 µs per
    point becomes ~1 µs)."""
    model = host[15]
    tabs, proj, lam, y_mean, y_scale = model[17], model[18], model[19], model[11], model[12]
    n_rank, n_live = proj.shape
    proj_t = np.ascontiguousarray(proj.T)
    spectra = np.empty((_SOAP_BATCH, n_live))
    walls = np.empty(_SOAP_BATCH)
    out = np.empty((_SOAP_BATCH, n_rank))
    work = model_workspace(model, False, host[16])[1]
    neighbours = work[6]
    for first in range(0, points.shape[0], _SOAP_BATCH):
        n = min(_SOAP_BATCH, points.shape[0] - first)
        for b in range(n):
            p = first + b
            qx, qy, qz, bx, by, bz = _locate(points[p, 0], points[p, 1], points[p, 2], host)
            k, walls[b], _, _, _ = gather_soap(qx, qy, qz, bx, by, bz, host, work)
            soap_coefficients(neighbours, k, tabs, work)
            live_spectrum(work, tabs, spectra[b])
        if n < _SOAP_BATCH:
            np.dot(spectra[:n], proj_t, out[:n])
        else:
            np.dot(spectra, proj_t, out)
        for b in range(n):
            norm2 = 0.0
            for f in range(n_live):
                norm2 += spectra[b, f] * spectra[b, f]
            e = 0.0
            for r in range(n_rank):
                e += lam[r] * out[b, r] * out[b, r]
            energies[first + b] = y_mean + y_scale * e / max(norm2, 1e-300) + walls[b]


@njit(nogil=True, cache=True)
def _evaluate(points, host, energies, gradients, want_gradient):
    if host[15][0] == SOAP and not want_gradient:
        _soap_energies(points, host, energies)
        return
    work = point_workspace(host, want_gradient)
    for p in range(points.shape[0]):
        e, gx, gy, gz = point_value(points[p, 0], points[p, 1], points[p, 2], host,
                                    want_gradient, work)
        energies[p] = e
        if want_gradient:
            gradients[p, 0] = gx
            gradients[p, 1] = gy
            gradients[p, 2] = gz


# --------------------------------------------------------------------------- set-up (numpy)


def in_threads(n: int, chunk: int, work, progress: Optional[ProgressFn] = None,
               cancel: Optional[CancelFn] = None, message: str = "") -> None:
    """``work(start, stop)`` over ``range(n)`` in pieces of ``chunk`` points, in :data:`THREADS`
    threads: the kernels release the GIL, and every point is independent of the others."""
    run_chunks(n, chunk, work, thread_count(None, THREADS), progress, cancel, message)


def _checked_host(host) -> tuple[np.ndarray, np.ndarray, list[str]]:
    require(isinstance(host, Atoms), "host", f"needs an ase.Atoms, got {type(host).__name__}")
    require(len(host) >= 1, "host", "the host has no atoms")
    require(bool(np.all(host.pbc)), "host",
            "the host must be periodic in all three directions (a frozen bulk or slab-in-box "
            "cell); set pbc=True and give it a cell")
    cell = np.array(host.cell.array, dtype=np.float64)
    volume = abs(np.linalg.det(cell)) if np.isfinite(cell).all() else 0.0
    require(volume > 1e-6, "host", "the host's cell has no volume (zero or coplanar vectors)")
    positions = np.array(host.positions, dtype=np.float64)
    require(bool(np.isfinite(positions).all()), "host", "a host position is NaN or infinite")
    return positions, cell, host.get_chemical_symbols()


def _padding(cell, cutoff):
    """The inverse cell and how far (in fractional coordinates) a point in the cell can see.

    An atom within r of a point differs from it by at most r/h_d in fractional coordinate d
    (h_d the distance between the cell's d-faces).
    """
    inv = np.linalg.inv(cell)
    heights = 1.0 / np.linalg.norm(inv, axis=0)
    return inv, cutoff / heights * (1.0 + 1e-9) + 1e-9


def _padded_images(positions, cell, cutoff, cancel: Optional[CancelFn] = None):
    """Every host atom image within ``_padding`` of the cell: all a point in it can see.

    Returns (image positions, index of the host atom of each). ``cancel`` is asked between the
    periodic images (~10 ms each for 2·10⁵ atoms), so a big host's set-up stops at once.
    """
    inv, pad = _padding(cell, cutoff)
    frac = positions @ inv
    frac -= np.floor(frac)
    reach = np.ceil(pad).astype(np.int64)
    estimate = len(positions) * float(np.prod(1.0 + 2.0 * pad))
    require(estimate <= _MAX_IMAGES, "cutoff",
            f"a cutoff of {cutoff:g} Å in this cell needs about {estimate:.3g} host images "
            f"(at most {_MAX_IMAGES:,}): use a shorter cutoff or a larger cell")
    keep_frac, keep_atom = [], []
    for shift in np.ndindex(*(2 * reach + 1)):
        check_cancel(cancel)
        n = np.array(shift) - reach
        f = frac + n
        inside = np.all((f >= -pad) & (f <= 1.0 + pad), axis=1)
        if inside.any():
            keep_frac.append(f[inside])
            keep_atom.append(np.flatnonzero(inside))
    return np.concatenate(keep_frac) @ cell, np.concatenate(keep_atom)


def _bin_gaps2(reach: int, width: float) -> tuple[np.ndarray, np.ndarray]:
    """Bin offsets -reach..reach along one axis and the squared smallest gap between points in
    cubic bins of ``width`` that far apart: two points in bins o apart are at least
    max(|o| − 1, 0)·w apart along that axis."""
    offsets = np.arange(-reach, reach + 1)
    return offsets, (np.maximum(np.abs(offsets) - 1, 0) * width) ** 2


def _within(gap2, cutoff: float):
    """Whether squared gaps are within the cutoff (with a rounding margin): one rule for the
    stencil and for the bound on its size."""
    return gap2 <= cutoff * cutoff * (1 + 1e-9)


def _row_stencil(reach: int, width: float, cutoff: float) -> np.ndarray:
    """(ox, oy) offsets of the columns of bins (along z) that can hold an atom within the
    cutoff (:func:`_bin_gaps2` along x and y). Along z the bins of a column are contiguous in the sorted atoms, so the part of a column
    inside the sphere is one range of atoms (:func:`~.environment.row_atoms` finds it per point).
    """
    offsets, gap2 = _bin_gaps2(reach, width)
    rows = [(ox, oy) for ox, gx in zip(offsets, gap2) for oy, gy in zip(offsets, gap2)
            if _within(gx + gy, cutoff)]
    return np.array(rows, dtype=np.int64)


def most_candidates(per_bin: np.ndarray, reach: int, width: float, cutoff: float) -> int:
    """The most host images the stencil of any point scans: per bin, the images of the bins
    whose gap to it is within the cutoff (:func:`_row_stencil`'s rule in three dimensions, which
    :func:`~.environment.row_atoms`' part of a column never exceeds), the largest. Buffers of
    this size never need to grow per point."""
    from scipy.ndimage import correlate

    _, gap2 = _bin_gaps2(reach, width)
    near = _within(gap2[:, None, None] + gap2[None, :, None] + gap2[None, None, :], cutoff)
    return int(correlate(per_bin, near.astype(np.int64), mode="constant", cval=0).max())


def _host_arrays(positions, cell, coefficients, cutoff, types=None, model=None,
                 cancel: Optional[CancelFn] = None):
    """The tuple the kernels read: cell, its inverse, and the binned host images with their
    pair coefficients (c12 = D x¹², c6 = 2 D x⁶, and the energy at the cutoff), each image's
    host ``types`` (int, per atom), the ``model`` (:mod:`.environment`; None: UFF), and the
    most candidate neighbours of any point (:func:`most_candidates`). ``cancel`` is asked
    between the steps (each under ~0.1 s for 2·10⁵ host atoms)."""
    images, atom = _padded_images(positions, cell, cutoff, cancel)
    inv, pad = _padding(cell, cutoff)
    corners = np.array([[i, j, k] for i in (0, 1) for j in (0, 1) for k in (0, 1)], float)
    corners = (corners * (1.0 + 2.0 * pad) - pad) @ cell
    lo = corners.min(axis=0) - 1e-6
    width = cutoff / _BINS_PER_CUTOFF
    nbins = np.maximum(np.ceil((corners.max(axis=0) + 1e-6 - lo) / width), 1).astype(np.int64)
    b = np.clip(((images - lo) / width).astype(np.int64), 0, nbins - 1)
    flat = (b[:, 0] * nbins[1] + b[:, 1]) * nbins[2] + b[:, 2]
    check_cancel(cancel)
    order = np.argsort(flat, kind="stable")
    check_cancel(cancel)
    bin_start = np.zeros(int(np.prod(nbins)) + 1, np.int64)
    per_bin = np.bincount(flat, minlength=len(bin_start) - 1)
    np.cumsum(per_bin, out=bin_start[1:])
    sorted_images = images[order]
    c12, c6, shift = (np.ascontiguousarray(c[atom[order]]) for c in coefficients)
    types = np.zeros(len(positions), np.int64) if types is None else np.asarray(types, np.int64)
    rows = _row_stencil(_BINS_PER_CUTOFF + 1, width, cutoff)
    check_cancel(cancel)
    candidates = most_candidates(per_bin.reshape(tuple(nbins)), _BINS_PER_CUTOFF + 1, width, cutoff)
    check_cancel(cancel)
    return (np.ascontiguousarray(cell), np.ascontiguousarray(inv), lo, 1.0 / width, nbins, rows,
            bin_start, np.ascontiguousarray(sorted_images[:, 0]),
            np.ascontiguousarray(sorted_images[:, 1]), np.ascontiguousarray(sorted_images[:, 2]),
            c12, c6, shift, cutoff * cutoff, np.ascontiguousarray(types[atom[order]]),
            empty_model() if model is None else model, np.int64(candidates))


def _as_points(points) -> tuple[np.ndarray, bool]:
    """(m, 3) float64 points, and whether a single (3,) point was given."""
    array = np.asarray(points, dtype=np.float64)
    single = array.shape == (3,)
    array = np.ascontiguousarray(array.reshape(1, 3) if single else array)
    require(array.ndim == 2 and array.shape[1] == 3, "points",
            f"needs (m, 3) positions in Å (or one (3,) position), got shape {np.shape(points)}")
    require(bool(np.isfinite(array).all()), "points", "contains NaN or infinite values")
    return array, single


# --------------------------------------------------------------------------- the potential


class HostPotential:
    """The UFF Lennard-Jones energy (eV) of one ``element`` atom anywhere in a frozen host.

    ``host`` is a periodic ``ase.Atoms`` whose elements all have UFF parameters here; it is
    copied, so later changes to it do not reach the potential. ``cutoff`` in Å.
    """

    def __init__(self, host: Atoms, element: str = "Cu", cutoff: float = DEFAULT_CUTOFF, *,
                 cancel: Optional[CancelFn] = None):
        positions, cell, symbols = _checked_host(host)
        self.element = uff_element(element)
        require(finite_number(cutoff) and 0.5 <= float(cutoff) <= 30.0, "cutoff",
                f"needs a cutoff between 0.5 and 30 Å, got {cutoff!r}")
        self.cutoff = float(cutoff)
        kinds, kind = np.unique(np.array(symbols), return_inverse=True)
        kinds = [str(k) for k in kinds]
        for s in kinds:
            if s not in UFF_PARAMETERS:
                raise ParameterError("host", f"the host contains {s}, which has no UFF "
                                     f"Lennard-Jones parameters here; known elements: "
                                     f"{', '.join(UFF_PARAMETERS)}")
        #: (x_ij Å, D_ij eV) of the mobile atom with each host element.
        self.pairs = {s: pair_parameters(self.element, s) for s in kinds}
        self.cell = cell
        self.cell.flags.writeable = False
        self.host_positions = positions
        self.host_positions.flags.writeable = False
        self.host_symbols = tuple(symbols)
        self._kernel_host = _host_arrays(positions, cell,
                                         uff_coefficients(self.element, symbols, self.cutoff),
                                         self.cutoff, kind, cancel=cancel)

    @property
    def n_host(self) -> int:
        return len(self.host_positions)

    @property
    def volume(self) -> float:
        return float(abs(np.linalg.det(self.cell)))

    def wrap(self, points) -> np.ndarray:
        """Points moved into the cell (fractional coordinates in [0, 1))."""
        array, single = _as_points(points)
        frac = array @ np.linalg.inv(self.cell)
        wrapped = (frac - np.floor(frac)) @ self.cell
        return wrapped[0] if single else wrapped

    def _run(self, points, want_gradient, progress, cancel):
        array, single = _as_points(points)
        m = len(array)
        energies = np.empty(m)
        gradients = np.empty((m, 3) if want_gradient else (0, 3))

        def work(start, stop):
            _evaluate(array[start:stop], self._kernel_host, energies[start:stop],
                      gradients[start:stop], want_gradient)

        in_threads(m, CHUNK_POINTS, work, progress, cancel, "mobile-atom energies")
        return energies, gradients, single

    def energy(self, points, *, progress: Optional[ProgressFn] = None,
               cancel: Optional[CancelFn] = None):
        """Energy (eV) at each of (m, 3) points, or a float for one (3,) point."""
        energies, _, single = self._run(points, False, progress, cancel)
        return float(energies[0]) if single else energies

    def energy_and_gradient(self, points, *, progress: Optional[ProgressFn] = None,
                            cancel: Optional[CancelFn] = None):
        """(energies (m,) eV, gradients (m, 3) eV/Å); the force on the atom is −gradient."""
        energies, gradients, single = self._run(points, True, progress, cancel)
        return (float(energies[0]), gradients[0]) if single else (energies, gradients)

    def forces(self, points) -> np.ndarray:
        """Force (eV/Å) on the mobile atom at each point."""
        return -self.energy_and_gradient(points)[1]

    def mobile_atoms(self, position, *, fix_host: bool = True) -> Atoms:
        """The host plus the mobile atom at ``position`` (last), with this potential attached.

        The host atoms carry a FixAtoms constraint, so ASE optimisers and NEB move only the
        mobile atom.
        """
        from ase.constraints import FixAtoms

        position, _ = _as_points(position)
        require(len(position) == 1, "position", "needs one (3,) position")
        atoms = Atoms(list(self.host_symbols) + [self.element],
                      positions=np.vstack([self.host_positions, position]), cell=self.cell,
                      pbc=True)
        if fix_host:
            atoms.set_constraint(FixAtoms(indices=range(self.n_host)))
        atoms.calc = MobileAtomCalculator(self)
        return atoms

    def __repr__(self) -> str:
        return (f"HostPotential({self.element} in {self.n_host} host atoms, "
                f"cutoff {self.cutoff:g} Å)")


class MobileAtomCalculator(Calculator):
    """ASE calculator for host + one mobile atom (the last atom by default), host frozen.

    The energy is the mobile atom's (the host's own energy is a constant and left out); the force
    acts on the mobile atom only, the host atoms get zero. The atoms' host part must be the host
    the potential was built from (same order, same positions up to whole cells).
    """

    implemented_properties = ["energy", "forces"]

    def __init__(self, potential: HostPotential, mobile_index: int = -1, **kwargs):
        super().__init__(**kwargs)
        self.potential = potential
        self.mobile_index = int(mobile_index)

    def calculate(self, atoms=None, properties=("energy",), system_changes=all_changes):
        super().calculate(atoms, properties, system_changes)
        potential = self.potential
        n = potential.n_host + 1
        require(len(self.atoms) == n, "atoms", f"needs the {potential.n_host} host atoms plus one "
                f"mobile atom ({n} atoms), got {len(self.atoms)}")
        index = self.mobile_index % n
        positions = self.atoms.positions
        host = np.delete(positions, index, axis=0)
        frac = (host - potential.host_positions) @ np.linalg.inv(potential.cell)
        moved = np.abs(frac - np.round(frac)) @ np.abs(potential.cell)
        require(bool(np.all(moved < 1e-6)) and np.allclose(self.atoms.cell.array, potential.cell),
                "atoms", "the host atoms are not where the potential's host has them (the host "
                "is frozen: constrain it with FixAtoms, or build a new potential)")
        energy, gradient = potential.energy_and_gradient(positions[index])
        forces = np.zeros((n, 3))
        forces[index] = -gradient
        self.results = {"energy": energy, "forces": forces}


def warm_up() -> None:
    """Compile (or load from cache) the kernels on a one-cell fcc host."""
    from ase.build import bulk

    potential = HostPotential(bulk("Cu", "fcc", a=3.6, cubic=True), "Li", cutoff=3.0)
    potential.energy_and_gradient(np.array([[1.8, 1.8, 1.8], [0.9, 0.9, 0.9]]))
    potential.energy(np.zeros((1, 3)))

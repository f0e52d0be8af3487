"""Per-atom EMT energies of boundaries too large for the oracles: descriptors → energy, learnt.

Why this works, and why the descriptor is radial only: an EMT energy is an embedded-atom
functional, E_i = F(σ1_i) + ½ Σ_j V(r_ij) − ½ V_ref(σ1_i), with σ1_i a sum of radial functions of
the neighbour distances. Every term is then a function of the atom's radial neighbour density,
which ACSF's G1/G2 functions (Gaussians on evenly spaced centres R_s, one width η, cosine cutoff)
sample; a small neural network learns F. Angular (G4) terms add nothing EMT can see and cost
~20× more per atom.

Speed (10⁶ atoms well under a minute, ≥100× faster per atom than ASE's EMT): no neighbour list
is stored (at 5.4 Å one of 10⁶ atoms would be 2 GB). Atoms are binned as by
:mod:`amorpha.engine.neighbors` and the bins surrounded by ghost bins (periodic images), so one
pass over the bins with a half stencil meets each pair once and adds its terms to both atoms.
With evenly spaced centres, the Gaussians of one pair follow from the nearest by multiplication,
exp(−η(r−R_{k+1})²) = exp(−η(r−R_k)²) · q_k, q_{k+1} = q_k · exp(−2ηΔ²); the few exponentials
and the cutoff cosine are plain polynomials so that numba vectorises them over an atom's pairs,
and the network is evaluated in numba from scikit-learn's weights, blocks of rows at a time.
The features equal :func:`amorpha.engine.descriptors.compute_acsf` (and so DScribe's ACSF) with
the same settings, and the energies scikit-learn's to ~1e-15 eV.

Training data are small Cu bicrystals (:mod:`amorpha.engine.build.bicrystal`) of several CSL
boundaries and rigid-body translations, relaxed with ASE's EMT at fixed cell, taken unrelaxed,
half-way and relaxed (a polycrystal straight from the Voronoi builder is unrelaxed), plus
rattled and strained bulk. The excess energy of an atom is its energy minus EMT's energy per atom
of the perfect crystal at the builder's lattice constant; a boundary energy is the summed excess
over the boundary area.

Saved models follow :mod:`amorpha.engine.surrogate.model`: a zip of ``meta.json`` (descriptor
settings, element, reference energy, metrics, library versions) and the fitted scikit-learn
objects in skops' format (no pickle), refitted from the stored training data when scikit-learn's
version differs.
"""
from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from typing import Optional, Sequence

import numpy as np
from ase import Atoms
from numba import njit

from ..build.bicrystal import BicrystalParams, build_bicrystal
from ..build.crystals import unit_cell
from ..descriptors import AcsfParams
from ..descriptors import settings as S
from ..errors import ParameterError, ReadError, require
from ..model_zip import check_fitted, read_fitted_zip, restore_fitted, write_fitted_zip
from ..surrogate.model import ModelMismatchError  # one "does not fit the model" error for all
from ..tasks import (CancelFn, ProgressFn, chunked, check_cancel, report, run_phases,
                     sub_progress, thread_count)

MODEL_FORMAT = "amorpha-atomic-energy-model"
MODEL_VERSION = 1
#: Elements ASE's EMT has parameters for (metals; its H, C, N, O are for adsorbates only).
EMT_ELEMENTS = ("Al", "Cu", "Ag", "Au", "Ni", "Pd", "Pt")
#: Atoms per descriptor chunk between progress/cancel checks (~0.1 s of work at 5.4 Å).
CHUNK_ATOMS = 50_000
#: Threads for descriptor and network when a call does not say (None: one per core).
THREADS: Optional[int] = None
#: Atoms per call of the network between progress/cancel checks (~0.05 s of work).
PREDICT_CHUNK = 100_000
#: 1 eV/Å² in J/m².
EV_PER_A2 = 16.021766339
#: Gaussian values below this (of at most 1) are dropped: an atom's ~60 pairs change a feature
#: of order 1–50 by < 10⁻¹², far below the float32 in which training features are stored.
_NEGLIGIBLE = 1e-14
#: Forces (eV/Å) below which a training relaxation stops.
FMAX = 0.01


# --------------------------------------------------------------------------- descriptor


def radial_descriptor(species: Sequence[str] = ("Cu",), r_cut: float = 5.4, r_min: float = 1.7,
                      n_radial: int = 16, eta: Optional[float] = None) -> AcsfParams:
    """ACSF with G1 and ``n_radial`` G2 on centres spaced Δ = (r_cut − r_min)/n_radial from
    r_min; η = 4 ln 2/Δ² by default, so each Gaussian's width at half height is Δ.

    The defaults were measured on Cu: EMT's cutoff (4.8 Å, smooth to 5.3 Å) lies inside r_cut,
    and r_min = 1.7 Å resolves the close pairs of unrelaxed boundaries (2.0 Å doubled the error
    of a held-out boundary).
    """
    require(n_radial >= 2, "n_radial", f"at least 2 radial functions, got {n_radial}")
    step = (r_cut - r_min) / n_radial
    eta = 4.0 * math.log(2.0) / step**2 if eta is None else float(eta)
    centres = r_min + step * np.arange(n_radial)
    return AcsfParams(tuple(species), r_cut=float(r_cut),
                      g2_params=tuple((eta, float(c)) for c in centres))


def _even_g2(params: AcsfParams) -> tuple[float, float, float]:
    """(η, R_0, Δ) of G2 functions of one width on evenly spaced centres, else ParameterError."""
    require(not (params.g3_params or params.g4_params or params.g5_params), "descriptor",
            "the fast radial descriptor has G1 and G2 functions only (no G3, G4, G5)")
    table = np.array(params.g2_params, dtype=np.float64).reshape(-1, 2)
    require(len(table) >= 2, "descriptor", "give at least two G2 functions")
    eta, rs = table[:, 0], table[:, 1]
    step = float(rs[1] - rs[0])
    require(np.allclose(eta, eta[0], rtol=0, atol=1e-12 * max(eta[0], 1.0)), "descriptor",
            "all G2 functions need the same η for the fast radial descriptor")
    require(step > 0 and np.allclose(np.diff(rs), step, rtol=0, atol=1e-9), "descriptor",
            "G2 centres R_s must be evenly spaced and increasing for the fast radial descriptor")
    return float(eta[0]), float(rs[0]), step


@njit(nogil=True, cache=True)
def _padded_bins(pos_sorted, bin_start, nbins, lower, upper, periodic, basis):
    """Bins of the sorted atoms surrounded by ``lower``/``upper`` layers of ghost bins.

    A ghost bin along a periodic direction holds the atoms of the bin it is an image of, moved by
    whole cell vectors; along an open direction it is empty. Every real bin then finds all of
    its stencil's atoms at a fixed offset in the padded flat bin index, one contiguous range per
    run of bins along z, with no wrapping in the search. Returns (start of each padded bin in
    the padded atoms, their positions, the sorted atom each one is (a copy of)).
    """
    dims = nbins + lower + upper
    n_pad = dims[0] * dims[1] * dims[2]
    source = np.empty(n_pad, np.int64)  # real bin of each padded bin, -1 when empty
    shift = np.zeros((n_pad, 3), np.float64)
    pad_start = np.zeros(n_pad + 1, np.int64)
    wrap = np.zeros(3, np.int64)
    real = np.zeros(3, np.int64)
    for p in range(n_pad):
        q = p
        ok = True
        for d in range(2, -1, -1):
            t = q % dims[d] - lower[d]
            q //= dims[d]
            wrap[d] = 0
            if periodic[d]:
                wrap[d] = t // nbins[d]
                t -= wrap[d] * nbins[d]
            elif t < 0 or t >= nbins[d]:
                ok = False
            real[d] = t
        if not ok:
            source[p] = -1
            continue
        source[p] = (real[0] * nbins[1] + real[1]) * nbins[2] + real[2]
        for c in range(3):
            shift[p, c] = wrap[0] * basis[0, c] + wrap[1] * basis[1, c] + wrap[2] * basis[2, c]
        pad_start[p + 1] = bin_start[source[p] + 1] - bin_start[source[p]]
    for p in range(n_pad):
        pad_start[p + 1] += pad_start[p]
    pos_pad = np.empty((pad_start[n_pad], 3), np.float64)
    owner = np.empty(pad_start[n_pad], np.int64)
    for p in range(n_pad):
        if source[p] < 0:
            continue
        k = pad_start[p]
        for m in range(bin_start[source[p]], bin_start[source[p] + 1]):
            for c in range(3):
                pos_pad[k, c] = pos_sorted[m, c] + shift[p, c]
            owner[k] = m
            k += 1
    return pad_start, pos_pad, owner


@njit(nogil=True, cache=True, inline="always", error_model="numpy")
def _exp_neg(x):
    """exp(x) for x ≤ 0 to ~1 ulp, in plain arithmetic so that loops of it vectorise (numba
    calls libm's exp one value at a time). Below −42 it returns exp(−42) ≈ 6e-19: every use
    here treats such values as nothing (they are under :data:`_NEGLIGIBLE`)."""
    x = min(max(x, -42.0), 0.0)
    n = int(-x * 1.4426950408889634 + 0.5)  # x = −n ln 2 + r, |r| ≤ ln 2 / 2
    r = (x + n * 6.93147180369123816490e-01) + n * 1.90821492927058770002e-10
    p = 1.0 / 6227020800.0  # Taylor to r¹³: error < 5e-18 for |r| ≤ 0.35
    p = p * r + 1.0 / 479001600.0
    p = p * r + 1.0 / 39916800.0
    p = p * r + 1.0 / 3628800.0
    p = p * r + 1.0 / 362880.0
    p = p * r + 1.0 / 40320.0
    p = p * r + 1.0 / 5040.0
    p = p * r + 1.0 / 720.0
    p = p * r + 1.0 / 120.0
    p = p * r + 1.0 / 24.0
    p = p * r + 1.0 / 6.0
    p = p * r + 0.5
    p = p * r + 1.0
    p = p * r + 1.0
    return p / float(np.int64(1) << n)


@njit(nogil=True, cache=True, inline="always", error_model="numpy")
def _cosine_cutoff(r, r_cut):
    """ACSF's f_c = ½(cos(πr/r_c) + 1) = (2cos²(πr/4r_c) − 1)² for 0 ≤ r ≤ r_c, to ~1e-16, in
    plain arithmetic (vectorises, unlike libm's cos): Taylor to ψ¹⁸ on ψ ≤ π/4."""
    psi = 0.7853981633974483 * r / r_cut
    s = psi * psi
    c = 1.0 / 6402373705728000.0
    c = c * s - 1.0 / 20922789888000.0
    c = c * s + 1.0 / 87178291200.0
    c = c * s - 1.0 / 479001600.0
    c = c * s + 1.0 / 3628800.0
    c = c * s - 1.0 / 40320.0
    c = c * s + 1.0 / 720.0
    c = c * s - 1.0 / 24.0
    c = c * s + 0.5
    c = 1.0 - c * s  # cos ψ
    h = 2.0 * c * c - 1.0  # cos 2ψ
    return h * h


@njit(nogil=True, cache=True, error_model="numpy")
def _radial_bins(bin_lo, bin_hi, nbins, lower, dims, run_first, run_last, pad_start, pos_pad,
                 owner, max_candidates, types, r_cut, eta, r0, step, n_g2, window, out):
    """Add G1 and G2 of every pair with an atom in real bins ``bin_lo:bin_hi`` to both atoms'
    rows of ``out`` (sorted atom order, columns of :func:`_padded_columns`).

    The stencil is halved (zero offset first, then one of each ± pair), so each pair is met
    once and its terms, computed once, go to both atoms (twice to one atom for its own image).
    Per atom, the close candidates are gathered first, then their cutoffs and exponentials are
    computed in one loop that vectorises. Per pair: the Gaussian of the nearest centre k0 and
    ``window`` on each side, each from the last by a factor ≤ 1, q_{k+1} = q_k·exp(−2ηΔ²)
    (no overflow; far ones fade to nothing). Columns beyond the first and last centre are
    padding, so no pair needs a test of where its window ends.
    """
    per_species = 1 + n_g2 + 2 * window
    ratio = math.exp(-2.0 * eta * step * step)
    cut2 = r_cut * r_cut
    hits = np.empty(max_candidates, np.int64)
    dist = np.empty(max_candidates)
    cutoff = np.empty(max_candidates)
    centre = np.empty(max_candidates, np.int64)
    nearest = np.empty(max_candidates)
    up = np.empty(max_candidates)
    down = np.empty(max_candidates)
    for c in range(bin_lo, bin_hi):
        cz = c % nbins[2]
        cy = (c // nbins[2]) % nbins[1]
        cx = c // (nbins[2] * nbins[1])
        pc = ((cx + lower[0]) * dims[1] + cy + lower[1]) * dims[2] + cz + lower[2]
        for p in range(pad_start[pc], pad_start[pc + 1]):
            x, y, z = pos_pad[p, 0], pos_pad[p, 1], pos_pad[p, 2]
            # Branch-free (a hit is unpredictable): note every candidate, keep the close ones.
            n_hits = 0
            for run in range(run_first.shape[0]):
                lo = p + 1 if run == 0 else pad_start[pc + run_first[run]]
                for m in range(lo, pad_start[pc + run_last[run] + 1]):
                    dx = pos_pad[m, 0] - x
                    dy = pos_pad[m, 1] - y
                    dz = pos_pad[m, 2] - z
                    d2 = dx * dx + dy * dy + dz * dz
                    hits[n_hits] = m
                    dist[n_hits] = d2
                    n_hits += d2 <= cut2
            for h in range(n_hits):  # vectorised: no calls, no branches
                r = math.sqrt(dist[h])
                fc = _cosine_cutoff(r, r_cut)
                k0 = min(max(int(math.floor((r - r0) / step + 0.5)), 0), n_g2 - 1)
                d = r - (r0 + k0 * step)
                cutoff[h] = fc
                centre[h] = k0
                nearest[h] = _exp_neg(-eta * d * d) * fc
                up[h] = _exp_neg(eta * step * (2.0 * d - step))  # 1 past the last centre
                down[h] = _exp_neg(-eta * step * (2.0 * d + step))  # 1 before the first
            a = owner[p]
            col_b = types[a] * per_species  # a's species in the other atom's row
            for h in range(n_hits):
                b = owner[hits[h]]
                col_a = types[b] * per_species
                fc = cutoff[h]
                out[a, col_a] += fc
                out[b, col_b] += fc
                ka = col_a + 1 + window + centre[h]
                kb = col_b + 1 + window + centre[h]
                g_up = g_down = nearest[h]
                out[a, ka] += g_up
                out[b, kb] += g_up
                q_up = up[h]
                q_down = down[h]
                for j in range(1, window + 1):
                    g_up *= q_up
                    g_down *= q_down
                    q_up *= ratio
                    q_down *= ratio
                    out[a, ka + j] += g_up
                    out[a, ka - j] += g_down
                    out[b, kb + j] += g_up
                    out[b, kb - j] += g_down


def _gaussian_window(eta: float, step: float, n_g2: int) -> int:
    """Centres each side of the nearest whose Gaussian can reach :data:`_NEGLIGIBLE`: the
    j-th is at most exp(−ηΔ²(j − ½)²)."""
    reach = 0.5 + math.sqrt(-math.log(_NEGLIGIBLE) / (eta * step * step))
    return int(min(math.floor(reach), n_g2 - 1))


def _padded_columns(n_species: int, n_g2: int, window: int) -> np.ndarray:
    """Column of :func:`_radial_bins`' rows for each ACSF column (G1, then the G2 per species)."""
    per_species = 1 + n_g2 + 2 * window
    g2 = 1 + window + np.arange(n_g2)
    return np.concatenate([s * per_species + np.r_[0, g2] for s in range(n_species)])


@njit(nogil=True, cache=True)
def _unsort_columns(padded, order, columns, out):
    """``out[order[k]] = padded[k, columns]``: back to the atoms' order, padding dropped."""
    for k in range(order.shape[0]):
        row = out[order[k]]
        src = padded[k]
        for f in range(columns.shape[0]):
            row[f] = src[columns[f]]


@dataclass(frozen=True)
class _RadialGrid:
    """Sorted atoms on a cell-list grid with ghost bins, and the half stencil as z runs."""

    order: np.ndarray  # sorted position -> atom index
    bin_start: np.ndarray  # real bins' start in the sorted atoms
    nbins: np.ndarray
    lower: np.ndarray
    dims: np.ndarray
    run_first: np.ndarray
    run_last: np.ndarray
    pad_start: np.ndarray
    pos_pad: np.ndarray
    owner: np.ndarray
    max_candidates: int  # stencil bins × most atoms in a bin
    reach_x: int  # bin layers the half stencil reaches forward along the first direction

    @classmethod
    def build(cls, atoms: Atoms, cutoff: float) -> "_RadialGrid":
        """The binning of :func:`amorpha.engine.neighbors.neighbor_list` (same bins, same pruned
        half stencil, unpruned for small systems alike), so this search finds the same pairs as the
        shared one."""
        from .. import neighbors as nb

        try:
            positions, cell, pbc, cutoff = nb._check_inputs(atoms, cutoff)
            basis = nb._search_basis(cell, pbc)
        except ValueError as exc:
            raise ParameterError("structure", str(exc)) from None
        n = len(positions)
        inv, lo, frac_width, nbins, reach = nb._grid(positions, basis, pbc, cutoff, n)
        stencil = nb._stencil(basis, frac_width, reach, cutoff, n)
        periodic = pbc.astype(np.int64)
        bin_of = np.empty(n, np.int64)
        image = np.empty((n, 3), np.int32)
        nb._bin_atoms(positions, inv, periodic, lo, frac_width, nbins, bin_of, image)
        bin_start = np.empty(int(np.prod(nbins)) + 1, np.int64)
        order = np.empty(n, np.int64)
        pos_sorted = np.empty((n, 3), np.float64)
        nb._sort_by_bin(positions, basis, bin_of, image, bin_start, order, pos_sorted,
                        np.empty((n, 3), np.int32))
        lower = np.maximum(-stencil.min(axis=0), 0).astype(np.int64)
        upper = np.maximum(stencil.max(axis=0), 0).astype(np.int64)
        pad_start, pos_pad, owner = _padded_bins(pos_sorted, bin_start, nbins, lower, upper,
                                                 periodic, basis)
        dims = nbins + lower + upper
        flat = (stencil[:, 0] * dims[1] + stencil[:, 1]) * dims[2] + stencil[:, 2]
        first, last = [], []
        for s in range(len(stencil)):  # lexicographic order: z neighbours are consecutive
            if s and flat[s] == last[-1] + 1 and np.all(stencil[s, :2] == stencil[s - 1, :2]):
                last[-1] = flat[s]
            else:
                first.append(flat[s])
                last.append(flat[s])
        return cls(order, bin_start, nbins, lower, dims, np.array(first, np.int64),
                   np.array(last, np.int64), pad_start, pos_pad, owner,
                   len(stencil) * int(np.diff(pad_start).max()), int(upper[0]))

    def chunks(self, atoms_per_chunk: int, lo: int = 0, hi: Optional[int] = None
               ) -> list[tuple[int, int]]:
        """Ranges of real bins ``lo:hi`` (all) holding about ``atoms_per_chunk`` atoms each."""
        hi = len(self.bin_start) - 1 if hi is None else hi
        starts = np.arange(self.bin_start[lo], self.bin_start[hi], max(atoms_per_chunk, 1))
        cuts = np.searchsorted(self.bin_start[lo:hi], starts) + lo
        edges = sorted({lo, *(int(c) for c in cuts)} - {hi}) + [hi]
        return [(a, b) for a, b in zip(edges[:-1], edges[1:]) if b > a]

    def phases(self, threads: int, atoms_per_chunk: int) -> list[list[list[tuple[int, int]]]]:
        """Chunks of bins grouped so that the groups of one phase may run at once.

        The half stencil only reaches forward along the first direction (and, through ghost
        bins, wraps to its first layers), so the pairs of a slab of whole layers write to the
        slab and the first layers of the next one. With an even number of slabs at least as
        thick as that reach, the even slabs never write to the same atoms, nor the odd ones:
        phase one runs the even slabs at once, phase two the odd. Otherwise one serial phase.
        """
        nx = int(self.nbins[0])
        count = 2 * threads
        if threads < 2 or nx < count * max(self.reach_x, 1):
            return [[self.chunks(atoms_per_chunk)]]
        layer = int(self.nbins[1] * self.nbins[2])
        edges = np.cumsum([0] + [nx // count + (k < nx % count) for k in range(count)]) * layer
        slabs = [self.chunks(atoms_per_chunk, int(a), int(b)) for a, b in zip(edges, edges[1:])]
        return [slabs[0::2], slabs[1::2]]


def _thread_count(threads: Optional[int]) -> int:
    return thread_count(threads, THREADS)


def radial_features(atoms: Atoms, params: AcsfParams, progress: Optional[ProgressFn] = None,
                    cancel: Optional[CancelFn] = None, threads: Optional[int] = None
                    ) -> np.ndarray:
    """ACSF G1/G2 of every atom (``compute_acsf``'s columns): (n_atoms, n_features).

    One pass over cell-list bins finds each pair once and adds its terms to both atoms: no
    neighbour list is stored, so memory is the output plus a copy of the positions. Large
    structures run in ``threads`` threads (:data:`THREADS` if None; see
    :meth:`_RadialGrid.phases`), with the same result as one to rounding.
    """
    padded, order, columns = _sorted_features(atoms, params, progress, cancel, threads)
    out = np.empty((len(atoms), len(columns)))
    _unsort_columns(padded, order, columns, out)
    return out


def _sorted_features(atoms: Atoms, params: AcsfParams, progress: Optional[ProgressFn],
                     cancel: Optional[CancelFn], threads: Optional[int]):
    """:func:`radial_features` as the kernel leaves them: rows in cell-list order ``order``
    (row k is atom order[k]), the features in ``columns`` of them."""
    threads = _thread_count(threads)
    params.validate()
    eta, r0, step = _even_g2(params)
    species_z = S.check_species(params.species)
    types = S.atom_types(atoms, species_z)
    view = S.search_view(atoms, bool(params.periodic))
    n_g2 = len(params.g2_params)
    window = _gaussian_window(eta, step, n_g2)
    columns = _padded_columns(len(species_z), n_g2, window)
    padded = np.zeros((len(atoms), len(species_z) * (1 + n_g2 + 2 * window)))
    check_cancel(cancel)
    if not len(atoms):
        report(progress, 1.0, "radial descriptor")
        return padded, np.zeros(0, np.int64), columns
    grid = _RadialGrid.build(view, float(params.r_cut))
    sorted_types = types[grid.order]

    def work(bins):
        _radial_bins(*bins, grid.nbins, grid.lower, grid.dims, grid.run_first, grid.run_last,
                     grid.pad_start, grid.pos_pad, grid.owner, grid.max_candidates, sorted_types,
                     float(params.r_cut), eta, r0, step, n_g2, window, padded)

    run_phases(grid.phases(threads, CHUNK_ATOMS), work, threads, progress, cancel,
                "radial descriptor")
    return padded, grid.order, columns


# --------------------------------------------------------------------------- EMT reference data


@dataclass(frozen=True)
class Boundary:
    """A symmetric tilt boundary of the training or test set."""

    sigma: int
    axis: tuple[int, int, int]
    plane: tuple[int, int, int]

    @property
    def label(self) -> str:
        from ..build.csl import format_indices

        return f"Σ{self.sigma}{format_indices(self.plane)}{format_indices(self.axis, '[]')}"


#: Boundaries the default model learns from: [001], [110] and [111] tilts.
TRAIN_BOUNDARIES = (
    Boundary(5, (0, 0, 1), (3, 1, 0)), Boundary(13, (0, 0, 1), (5, 1, 0)),
    Boundary(13, (0, 0, 1), (3, 2, 0)), Boundary(17, (0, 0, 1), (4, 1, 0)),
    Boundary(17, (0, 0, 1), (5, 3, 0)), Boundary(3, (1, 1, 0), (1, -1, 2)),
    Boundary(3, (1, 1, 0), (1, -1, 1)), Boundary(9, (1, 1, 0), (1, -1, 4)),
    Boundary(11, (1, 1, 0), (3, -3, 2)), Boundary(7, (1, 1, 1), (3, -1, -2)),
)
#: Boundaries it never sees, for its test: Kiyohara's Σ5(210) and a [110] boundary.
TEST_BOUNDARIES = (Boundary(5, (0, 0, 1), (2, 1, 0)), Boundary(11, (1, 1, 0), (1, -1, 3)))


def check_emt_element(element: str) -> str:
    """``element`` if ASE's EMT has parameters for it as a metal, else ParameterError."""
    require(element in EMT_ELEMENTS, "element",
            f"ASE's EMT has no parameters for {element!r} as a metal; choose one of "
            + ", ".join(EMT_ELEMENTS))
    return element


def emt_bulk_energy(element: str = "Cu") -> float:
    """EMT energy per atom (eV) of the perfect crystal at the builders' lattice constant."""
    from ase.calculators.emt import EMT

    cell = unit_cell(check_emt_element(element)).repeat(2)
    cell.calc = EMT()
    return float(cell.get_potential_energy()) / len(cell)


def relax_emt(atoms: Atoms, fmax: float = FMAX, steps: int = 400, snapshots: int = 3,
              cancel: Optional[CancelFn] = None) -> list[Atoms]:
    """Relax positions (fixed cell) with ASE's EMT; ``snapshots`` frames from start to end.

    Each frame carries its per-atom EMT energies as ``arrays["emt_energy"]`` (eV), and
    ``info["relaxed"]`` (True for the last).
    """
    from ase.calculators.emt import EMT
    from ase.optimize import FIRE

    work = atoms.copy()
    work.calc = EMT()
    frames = [work.copy()]
    optimizer = FIRE(work, logfile=None)
    for _ in optimizer.irun(fmax=fmax, steps=steps):
        check_cancel(cancel)
        frames.append(work.copy())
    picks = np.unique(np.linspace(0, len(frames) - 1, max(snapshots, 1)).round().astype(int))
    out = []
    for k in picks:
        frame = frames[k]
        frame.calc = EMT()
        frame.arrays["emt_energy"] = frame.get_potential_energies()
        frame.calc = None
        frame.info["relaxed"] = bool(k == len(frames) - 1)
        out.append(frame)
    return out


def bicrystal_frames(boundary: Boundary, element: str = "Cu", translations: int = 3,
                     thickness: float = 9.0, seed: int = 0, snapshots: int = 3,
                     cancel: Optional[CancelFn] = None) -> list[Atoms]:
    """EMT-relaxed frames of a bicrystal at the CSL registry and ``translations − 1`` random
    rigid-body translations (in-plane over one period, up to 0.5 Å apart along the normal)."""
    rng = np.random.default_rng([seed, boundary.sigma, *(abs(h) for h in boundary.plane)])
    frames = []
    for k in range(translations):
        params = BicrystalParams(element, axis=boundary.axis, sigma=boundary.sigma,
                                 plane=boundary.plane, bulk_thickness=thickness)
        if k:
            cell = build_bicrystal(params).cell.lengths()
            shift = (rng.random() * cell[0], rng.random() * cell[1], 0.5 * rng.random())
            params = BicrystalParams(element, axis=boundary.axis, sigma=boundary.sigma,
                                     plane=boundary.plane, bulk_thickness=thickness,
                                     translation=shift)
        for frame in relax_emt(build_bicrystal(params), snapshots=snapshots, cancel=cancel):
            frame.info["boundary"] = boundary.label
            frames.append(frame)
    return frames


def bulk_frames(element: str = "Cu", seed: int = 0) -> list[Atoms]:
    """Perfect, rattled (0.03–0.15 Å) and strained (±3 %, shear) bulk with EMT energies."""
    from ase.calculators.emt import EMT

    rng = np.random.default_rng(seed)
    base = unit_cell(check_emt_element(element)).repeat(3)
    frames = []
    for rattle in (0.0, 0.03, 0.08, 0.15):
        for strain in (0.0, -0.03, 0.03, "shear"):
            atoms = base.copy()
            if strain == "shear":
                eps = np.eye(3) + 0.03 * (np.ones((3, 3)) - np.eye(3)) * rng.choice([-1, 1])
            else:
                eps = np.eye(3) * (1.0 + strain)
            atoms.set_cell(atoms.cell.array @ eps, scale_atoms=True)
            atoms.positions += rng.normal(0.0, rattle, atoms.positions.shape)
            atoms.calc = EMT()
            atoms.arrays["emt_energy"] = atoms.get_potential_energies()
            atoms.calc = None
            atoms.info["boundary"] = "bulk"
            frames.append(atoms)
    return frames


def frames_for(boundaries: Sequence[Boundary], element: str = "Cu", translations: int = 3,
               seed: int = 0, progress: Optional[ProgressFn] = None,
               cancel: Optional[CancelFn] = None) -> list[Atoms]:
    """:func:`bicrystal_frames` of each boundary in turn, with progress."""
    frames = []
    for k, boundary in enumerate(boundaries):
        report(progress, k / max(len(boundaries), 1), f"EMT relaxation of {boundary.label}")
        frames += bicrystal_frames(boundary, element, translations, seed=seed, cancel=cancel)
    report(progress, 1.0, "EMT reference data")
    return frames


# --------------------------------------------------------------------------- the network


#: Rows the network evaluates together: each layer is then a few long loops over rows, which
#: vectorise, instead of many short ones over neurons.
_MLP_BLOCK = 64


@njit(nogil=True, cache=True, inline="always", error_model="numpy")
def _tanh(v):
    """tanh(v) to ~2e-16 from :func:`_exp_neg` (vectorises, unlike libm's tanh); exactly ±1
    beyond |v| = 21, as in double precision."""
    t = _exp_neg(-2.0 * v if v >= 0.0 else 2.0 * v)
    h = (1.0 - t) / (1.0 + t)
    return h if v >= 0.0 else -h


@njit(nogil=True, cache=True, error_model="numpy")
def _mlp_rows(x, lo, hi, columns, mean, scale, weights, biases, sizes, out):
    """``out[lo:hi]`` = scikit-learn's ``MLPRegressor.predict(StandardScaler.transform(x))`` for
    tanh hidden layers and an identity output, on columns ``columns`` of ``x``;
    ``weights``/``biases`` are its ``coefs_`` and ``intercepts_`` flattened layer by layer,
    ``sizes`` the layer widths (inputs first).

    In blocks of :data:`_MLP_BLOCK` rows held transposed (neuron × row), so the hidden layers
    live in two small buffers and every inner loop runs over rows.
    """
    width = 0
    for s in range(sizes.shape[0]):
        width = max(width, sizes[s])
    a = np.empty((width, _MLP_BLOCK))
    z = np.empty((width, _MLP_BLOCK))
    n_layers = sizes.shape[0] - 1
    for start in range(lo, hi, _MLP_BLOCK):
        n = min(_MLP_BLOCK, hi - start)
        for f in range(sizes[0]):
            for r in range(n):
                a[f, r] = (x[start + r, columns[f]] - mean[f]) / scale[f]
        w = 0
        b = 0
        for layer in range(n_layers):
            n_in = sizes[layer]
            n_out = sizes[layer + 1]
            for o in range(n_out):
                zo = z[o]
                zo[:n] = 0.0
                for f in range(n_in):
                    weight = weights[w + f * n_out + o]
                    af = a[f]
                    for r in range(n):
                        zo[r] += weight * af[r]
                bias = biases[b + o]
                if layer == n_layers - 1:
                    for r in range(n):
                        zo[r] += bias
                else:
                    for r in range(n):
                        zo[r] = _tanh(zo[r] + bias)
            w += n_in * n_out
            b += n_out
            a, z = z, a
        for r in range(n):
            out[start + r] = a[0, r]


def _network_arrays(fitted: dict) -> tuple:
    """(mean, scale, weights, biases, sizes) of a fitted scaler + network for :func:`_mlp_rows`
    (a few hundred numbers: cheap to gather for every call)."""
    scaler, network = fitted["scaler"], fitted["network"]
    if network.activation != "tanh" or network.out_activation_ != "identity":
        raise ModelMismatchError(f"the network has {network.activation} hidden layers and a "
                                 f"{network.out_activation_} output; expected tanh, identity")
    sizes = [network.coefs_[0].shape[0]] + [w.shape[1] for w in network.coefs_]
    return (np.ascontiguousarray(scaler.mean_, dtype=np.float64),
            np.ascontiguousarray(scaler.scale_, dtype=np.float64),
            np.concatenate([w.ravel() for w in network.coefs_]).astype(np.float64),
            np.concatenate([b.ravel() for b in network.intercepts_]).astype(np.float64),
            np.array(sizes, dtype=np.int64))


# --------------------------------------------------------------------------- the model


@dataclass
class AtomicEnergyModel:
    """Radial ACSF → per-atom EMT energy (eV) by a small neural network (scikit-learn MLP).

    ``e_bulk`` is EMT's energy per atom of the perfect crystal, the zero of excess energies.
    """

    descriptor: dict = field(default_factory=lambda: radial_descriptor().to_dict())
    element: str = "Cu"
    e_bulk: float = 0.0
    hidden: tuple[int, ...] = (16, 16)
    alpha: float = 1e-6
    seed: int = 0
    metrics: dict = field(default_factory=dict)
    _fitted: Optional[dict] = field(default=None, repr=False)
    _training: Optional[tuple[np.ndarray, np.ndarray]] = field(default=None, repr=False)

    @property
    def params(self) -> AcsfParams:
        return AcsfParams.from_dict(self.descriptor)

    @property
    def n_train(self) -> int:
        return 0 if self._training is None else len(self._training[1])

    # -- training ---------------------------------------------------------------------------
    def features(self, atoms: Atoms, progress: Optional[ProgressFn] = None,
                 cancel: Optional[CancelFn] = None, threads: Optional[int] = None) -> np.ndarray:
        """The model's descriptor of every atom; ModelMismatchError for foreign elements."""
        self._check_elements(atoms)
        return radial_features(atoms, self.params, progress, cancel, threads)

    def _check_elements(self, atoms: Atoms) -> None:
        from ase.data import atomic_numbers, chemical_symbols

        # From the numbers: a list of 10⁶ symbols would cost a tenth of the whole prediction.
        present = np.unique(np.asarray(atoms.numbers))
        other = sorted(chemical_symbols[z] for z in present if z != atomic_numbers[self.element])
        if other:
            raise ModelMismatchError(
                f"this model predicts EMT energies of pure {self.element}; the structure also "
                f"has {', '.join(other)}")

    def fit(self, frames: Sequence[Atoms], progress: Optional[ProgressFn] = None,
            cancel: Optional[CancelFn] = None) -> "AtomicEnergyModel":
        """Learn from structures carrying per-atom ``arrays["emt_energy"]`` (eV)."""
        require(len(frames) > 0 and all("emt_energy" in f.arrays for f in frames), "frames",
                "give structures with per-atom EMT energies (arrays['emt_energy'])")
        x = np.vstack([self.features(f, cancel=cancel) for f in frames])
        y = np.concatenate([np.asarray(f.arrays["emt_energy"], dtype=np.float64) for f in frames])
        report(progress, 0.1, f"fitting {len(y)} atomic energies")
        self._fit(x, y)
        report(progress, 1.0, "fitted")
        return self

    def _fit(self, x: np.ndarray, y: np.ndarray) -> None:
        import warnings

        from sklearn.exceptions import ConvergenceWarning
        from sklearn.neural_network import MLPRegressor
        from sklearn.preprocessing import StandardScaler

        require(len(x) >= 10 and np.all(np.isfinite(x)) and np.all(np.isfinite(y)), "training data",
                "at least ten atoms with finite features and energies")
        scaler = StandardScaler().fit(x)
        # Tight tolerance: the default stops at ~10 meV/atom, far above what the data allow.
        network = MLPRegressor(hidden_layer_sizes=tuple(self.hidden), activation="tanh",
                               alpha=self.alpha, max_iter=2000, tol=1e-9, n_iter_no_change=50,
                               random_state=self.seed)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            network.fit(scaler.transform(x), y)
        self._fitted = {"scaler": scaler, "network": network, "n_features": x.shape[1]}
        self._training = (x, y)

    # -- prediction -------------------------------------------------------------------------
    def predict_features(self, x: np.ndarray, progress: Optional[ProgressFn] = None,
                         cancel: Optional[CancelFn] = None, threads: Optional[int] = None
                         ) -> np.ndarray:
        """Per-atom energies (eV) of descriptor rows ``x``: scikit-learn's numbers (to ~1e-15),
        computed by :func:`_mlp_rows` from its fitted weights."""
        if self._fitted is None:
            raise ModelMismatchError("the model has not been trained")
        x = np.ascontiguousarray(np.atleast_2d(np.asarray(x, dtype=np.float64)))
        if x.shape[1] != self._fitted["n_features"]:
            raise ModelMismatchError(f"{x.shape[1]} features per atom, the model was trained on "
                                     f"{self._fitted['n_features']}")
        return self._network(x, np.arange(x.shape[1]), progress, cancel, threads)

    def _network(self, x, columns, progress, cancel, threads) -> np.ndarray:
        arrays = _network_arrays(self._fitted)
        out = np.empty(len(x))
        chunks = [[rows] for rows in chunked(len(x), PREDICT_CHUNK)]
        run_phases([chunks], lambda rows: _mlp_rows(x, *rows, columns, *arrays, out),
                    _thread_count(threads), progress, cancel, "atomic energies")
        return out

    def predict(self, atoms: Atoms, progress: Optional[ProgressFn] = None,
                cancel: Optional[CancelFn] = None, threads: Optional[int] = None) -> np.ndarray:
        """Per-atom EMT energies (eV) of every atom of ``atoms``, in ``threads`` threads
        (:data:`THREADS` if None)."""
        if self._fitted is None:
            raise ModelMismatchError("the model has not been trained")
        self._check_elements(atoms)
        # The network reads the kernel's rows as they are (no reordered copy of the features).
        padded, order, columns = _sorted_features(atoms, self.params,
                                                  sub_progress(progress, 0.0, 0.85), cancel,
                                                  threads)
        energies = np.empty(len(atoms))
        energies[order] = self._network(padded, columns, sub_progress(progress, 0.85, 1.0),
                                        cancel, threads)
        report(progress, 1.0, "atomic energies predicted")
        return energies

    def excess(self, atoms: Atoms, progress: Optional[ProgressFn] = None,
               cancel: Optional[CancelFn] = None, threads: Optional[int] = None) -> np.ndarray:
        """Per-atom energy above the perfect crystal's (eV/atom)."""
        return self.predict(atoms, progress, cancel, threads) - self.e_bulk

    # -- files ------------------------------------------------------------------------------
    def meta(self) -> dict:
        import sklearn

        from ... import engine

        return {
            "format": MODEL_FORMAT, "version": MODEL_VERSION, "descriptor": self.descriptor,
            "element": self.element, "e_bulk": self.e_bulk, "hidden": list(self.hidden),
            "alpha": self.alpha, "seed": self.seed, "metrics": self.metrics,
            "n_train": self.n_train, "sklearn": sklearn.__version__,
            "amorpha": getattr(engine, "__version__", ""),
        }

    def save(self, path) -> None:
        """Write atomically (a crash while saving leaves the previous file as it was)."""
        require(self._fitted is not None, "model", "train the model before saving it")
        write_fitted_zip(path, self.meta(), self._fitted, self._training[0].astype(np.float32),
                         self._training[1])

    @classmethod
    def load(cls, path) -> "AtomicEnergyModel":
        """Read a saved model; ReadError with the reason if the file is not one or is damaged."""
        path = os.fspath(path)
        meta, fitted, x, y = read_fitted_zip(path, MODEL_FORMAT, MODEL_VERSION, "atomic-energy model")
        x = x.astype(np.float64)
        try:
            params = AcsfParams.from_dict(meta["descriptor"])
            params.validate()
            _even_g2(params)
            model = cls(meta["descriptor"], check_emt_element(meta["element"]),
                        float(meta["e_bulk"]), tuple(meta["hidden"]), float(meta["alpha"]),
                        int(meta["seed"]), dict(meta.get("metrics", {})))
            require(x.ndim == 2 and x.shape == (len(y), params.n_features), "training data",
                    f"{params.n_features} features per atom as the descriptor settings give")
            restore_fitted(model, meta, fitted, x, y)
            check_fitted(model.predict_features(x[:3]))
        except (KeyError, TypeError, ValueError, AttributeError, ImportError) as exc:
            raise ReadError(path, None, f"the model file is damaged ({exc})") from exc
        return model


# --------------------------------------------------------------------------- helpers


def boundary_energy(excess: np.ndarray, area: float, n_boundaries: int = 2) -> float:
    """γ (J/m²) from per-atom excess energies (eV) of a cell holding ``n_boundaries`` of
    ``area`` (Å²) each: γ = Σ excess / (n·A)."""
    require(area > 0 and n_boundaries >= 1, "area", "a positive boundary area and count")
    return float(np.sum(excess)) / (n_boundaries * area) * EV_PER_A2


def evaluate(model: AtomicEnergyModel, frames: Sequence[Atoms]) -> dict:
    """MAE (meV/atom) against ``arrays["emt_energy"]`` over all atoms and over boundary atoms
    (excess > 20 meV), and the γ of each relaxed frame, EMT against predicted (J/m²)."""
    truth, predicted, gammas = [], [], []
    for frame in frames:
        e = np.asarray(frame.arrays["emt_energy"])
        p = model.predict(frame)
        truth.append(e)
        predicted.append(p)
        area = float(frame.info.get("boundary_area", 0.0))
        if area > 0:
            gammas.append({"boundary": frame.info.get("boundary", ""),
                           "emt": boundary_energy(e - model.e_bulk, area),
                           "predicted": boundary_energy(p - model.e_bulk, area)})
    truth, predicted = np.concatenate(truth), np.concatenate(predicted)
    error = np.abs(predicted - truth)
    boundary = truth - model.e_bulk > 0.02
    return {"mae_mev": 1e3 * float(error.mean()), "max_error_mev": 1e3 * float(error.max()),
            "boundary_mae_mev": 1e3 * float(error[boundary].mean()) if boundary.any() else 0.0,
            "atoms": int(len(truth)), "gamma": gammas}


def train_default_model(element: str = "Cu", train: Sequence[Boundary] = TRAIN_BOUNDARIES,
                        test: Sequence[Boundary] = TEST_BOUNDARIES, translations: int = 3,
                        seed: int = 0, progress: Optional[ProgressFn] = None,
                        cancel: Optional[CancelFn] = None) -> AtomicEnergyModel:
    """EMT data of ``train`` boundaries and bulk → a fitted model, tested on the relaxed frames
    of the ``test`` boundaries (metrics in ``model.metrics``). About a minute and a half."""
    check_emt_element(element)
    frames = frames_for(train, element, translations, seed, sub_progress(progress, 0.0, 0.6), cancel)
    frames += bulk_frames(element, seed)
    held_out = frames_for(test, element, translations, seed + 1, sub_progress(progress, 0.6, 0.75),
                          cancel)
    model = AtomicEnergyModel(radial_descriptor((element,)).to_dict(), element, emt_bulk_energy(element),
                              seed=seed)
    model.fit(frames, sub_progress(progress, 0.75, 0.95), cancel)
    relaxed = [f for f in held_out if f.info.get("relaxed")]
    model.metrics = {"train_boundaries": [b.label for b in train],
                     "test_boundaries": [b.label for b in test],
                     "test_relaxed": evaluate(model, relaxed),
                     "test_all_frames": {k: v for k, v in evaluate(model, held_out).items()
                                         if k != "gamma"}}
    report(progress, 1.0, "model trained")
    return model


DEFAULT_MODEL = "Cu-EMT-atomic-energy.aemodel"


def default_model_path():
    from amorpha.resources import path

    return path("models") / DEFAULT_MODEL


_default_models: dict = {}


def default_model() -> AtomicEnergyModel:
    """The shipped Cu model (``make models``), loaded once."""
    key = str(default_model_path())
    if key not in _default_models:
        _default_models[key] = AtomicEnergyModel.load(key)
    return _default_models[key]


def gb_energy_per_atom(atoms: Atoms, model: Optional[AtomicEnergyModel] = None,
                       progress: Optional[ProgressFn] = None,
                       cancel: Optional[CancelFn] = None) -> np.ndarray:
    """Per-atom excess energy over the perfect crystal (eV/atom), by ``model`` (the shipped Cu
    model if None): ≈ 0 inside grains, positive at boundaries and defects."""
    return (model or default_model()).excess(atoms, progress, cancel)


def warm_up() -> None:
    """Compile (or load from cache) the descriptor and network kernels on tiny inputs."""
    radial_features(unit_cell("Cu"), radial_descriptor(n_radial=4), threads=1)
    sizes = np.array([2, 3, 1], dtype=np.int64)
    x = np.ones((4, 2))
    _mlp_rows(x, 0, 4, np.arange(2), np.zeros(2), np.ones(2), np.full(9, 0.1), np.zeros(4),
              sizes, np.empty(4))

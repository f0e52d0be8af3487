"""Gaussian, Lorentzian and Voigt broadening of stick spectra and sampled curves onto a grid.

Widths are full widths at half maximum (eV): the Gaussian stands for the instrument, the
Lorentzian for the core-hole lifetime; together they make a Voigt profile (their convolution).

The value at each grid point is the profile's *average over that point's cell* (the cell reaches
halfway to the neighbouring points, as in the trapezoid rule), not its value at the point. So the
integral over the grid equals the weight of every stick that falls inside the window whatever the
step is; a stick narrower than a step is neither lost between points nor counted twice, and zero
widths give a histogram with the same integral. Pure Gaussians (erf) and Lorentzians (arctan) are
averaged exactly; a Voigt is averaged by Gauss–Legendre quadrature within each cell, with enough
nodes that their spacing is under a sixth of the Voigt FWHM.
"""
from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
from scipy.special import ndtr, voigt_profile

from ..errors import require
from ..spectra.spectrum import Spectrum, check_grid

#: FWHM of a Gaussian over its standard deviation, 2 sqrt(2 ln 2).
FWHM_PER_SIGMA = 2.0 * math.sqrt(2.0 * math.log(2.0))
#: Profile evaluations per block (bounds memory for long stick lists on long grids).
_BLOCK = 2_000_000


def voigt_fwhm(gaussian_fwhm: float, lorentzian_fwhm: float) -> float:
    """FWHM of the Voigt profile (Olivero & Longbothum 1977, accurate to 0.02 %)."""
    g, l = float(gaussian_fwhm), float(lorentzian_fwhm)
    return 0.5346 * l + math.sqrt(0.2166 * l * l + g * g)


def _check_widths(gaussian_fwhm, lorentzian_fwhm) -> tuple[float, float]:
    g, l = float(gaussian_fwhm), float(lorentzian_fwhm)
    require(math.isfinite(g) and g >= 0, "gaussian_fwhm", f"the Gaussian FWHM must be >= 0 eV, got {g:g}")
    require(math.isfinite(l) and l >= 0, "lorentzian_fwhm", f"the Lorentzian FWHM must be >= 0 eV, got {l:g}")
    return g, l


def cell_edges(grid: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Lower and upper edge of each grid point's cell: midpoints to the neighbours, the grid's
    own ends at the ends, so the cell widths are the trapezoid weights."""
    mid = 0.5 * (grid[1:] + grid[:-1])
    return np.concatenate([grid[:1], mid]), np.concatenate([mid, grid[-1:]])


def _cell_average(e, w, lo, hi, g: float, l: float) -> np.ndarray:
    """sum_i w_i * (mean of the profile centred at e_i over the cell [lo_k, hi_k]), per cell k."""
    width = hi - lo
    out = np.zeros(len(lo))
    if l == 0.0 or g == 0.0:
        if l == 0.0:
            s = g / FWHM_PER_SIGMA

            def cdf(x):
                return ndtr(x / s)
        else:
            gamma = 0.5 * l

            def cdf(x):
                return 0.5 + np.arctan(x / gamma) / np.pi
        rows = max(1, _BLOCK // len(lo))
        for a in range(0, len(e), rows):
            de = e[a:a + rows, None]
            out += w[a:a + rows] @ (cdf(hi[None, :] - de) - cdf(lo[None, :] - de))
        return out / width
    sigma, gamma = g / FWHM_PER_SIGMA, 0.5 * l
    m = int(min(64, max(1, math.ceil(6.0 * width.max() / voigt_fwhm(g, l)))))
    nodes, gl_w = np.polynomial.legendre.leggauss(m)
    # Quadrature points of every cell, (n_cells * m,), and their weights (cell average).
    pts = (0.5 * (lo + hi))[:, None] + 0.5 * width[:, None] * nodes[None, :]
    pw = np.broadcast_to(0.5 * gl_w[None, :], pts.shape).reshape(-1)
    pts = pts.reshape(-1)
    rows = max(1, _BLOCK // len(pts))
    for a in range(0, len(e), rows):
        prof = voigt_profile(pts[None, :] - e[a:a + rows, None], sigma, gamma)
        out += ((w[a:a + rows] @ prof) * pw).reshape(len(lo), m).sum(axis=1)
    return out


def _on_lattice(e, grid) -> "np.ndarray | None":
    """Lattice index of every stick if the grid is uniform and every stick sits on its lattice
    (a curve broadened on its own grid), else None."""
    if len(grid) < 3:
        return None
    h = (grid[-1] - grid[0]) / (len(grid) - 1)
    if not np.allclose(np.diff(grid), h, rtol=1e-9, atol=0.0):
        return None
    n = (e - grid[0]) / h
    idx = np.rint(n)
    if not np.allclose(n, idx, rtol=0.0, atol=1e-6):
        return None
    return idx.astype(np.int64)


def broaden_sticks(energies, weights, grid, gaussian_fwhm: float = 0.0,
                   lorentzian_fwhm: float = 0.0) -> np.ndarray:
    """Sticks (``energies`` in eV, ``weights`` = areas) broadened onto ``grid``; see the module.

    The result integrates (trapezoid rule) to the weight that falls inside the grid's window:
    ``sum(weights)`` for sticks well inside it. Sticks on a uniform grid's own lattice (a curve
    broadened on its grid) take a convolution, O(n log n), instead of the O(n_sticks * n_grid) sum.
    """
    g, l = _check_widths(gaussian_fwhm, lorentzian_fwhm)
    grid, _ = check_grid(grid, what="broadening grid")
    e = np.asarray(energies, dtype=np.float64).reshape(-1)
    w = np.asarray(weights, dtype=np.float64).reshape(-1)
    require(len(e) == len(w), "weights", f"{len(w)} weights for {len(e)} stick energies")
    require(bool(np.all(np.isfinite(e)) and np.all(np.isfinite(w))), "weights",
            "stick energies and weights must be finite")
    lo, hi = cell_edges(grid)
    out = np.zeros(len(grid))
    if len(e) == 0:
        return out
    if g == 0.0 and l == 0.0:
        # Each stick goes to the cell that holds it (right-closed cells; the first one closed).
        k = np.searchsorted(hi, e, side="left")
        inside = (e >= lo[0]) & (k < len(grid))
        np.add.at(out, k[inside], w[inside])
        return out / (hi - lo)
    lattice = _on_lattice(e, grid)
    if lattice is None or len(e) * len(grid) < 50_000:
        return _cell_average(e, w, lo, hi, g, l)
    from scipy.signal import fftconvolve

    # Interior cells are all one width, so cell k sees stick n through a kernel of k - n only.
    h = (grid[-1] - grid[0]) / (len(grid) - 1)
    n0, n1 = int(lattice.min()), int(lattice.max())
    binned = np.bincount(lattice - n0, weights=w, minlength=n1 - n0 + 1)
    offsets = np.arange(-n1, len(grid) - n0, dtype=np.float64)  # k - n for k in grid, n in sticks
    kernel = _cell_average(np.zeros(1), np.ones(1), offsets * h - 0.5 * h, offsets * h + 0.5 * h, g, l)
    full = fftconvolve(binned, kernel)
    # out[k] = sum_n binned[n - n0] * kernel[k - n + n1], i.e. full[k + n1 - n0] ... shifted:
    out = full[n1 - n0: n1 - n0 + len(grid)].copy()
    # The two end cells are half cells: those two values directly.
    ends = np.array([0, len(grid) - 1])
    out[ends] = _cell_average(e, w, lo[ends], hi[ends], g, l)
    return out


def broaden_curve(energy, intensity, grid, gaussian_fwhm: float = 0.0,
                  lorentzian_fwhm: float = 0.0) -> np.ndarray:
    """A sampled curve broadened onto ``grid``: each point is a stick carrying its trapezoid area,
    so the curve's integral is kept (up to what falls outside the new window)."""
    energy, intensity = check_grid(energy, intensity, "spectrum to broaden")
    lo, hi = cell_edges(energy)
    return broaden_sticks(energy, intensity * (hi - lo), grid, gaussian_fwhm, lorentzian_fwhm)


def broaden_spectrum(spectrum: Spectrum, gaussian_fwhm: float = 0.0, lorentzian_fwhm: float = 0.0,
                     grid=None) -> Spectrum:
    """``spectrum`` broadened further (on its own grid unless ``grid`` is given).

    ``broadening`` records the total: Gaussian widths add in quadrature, Lorentzian ones linearly.
    """
    g, l = _check_widths(gaussian_fwhm, lorentzian_fwhm)
    target = spectrum.energy if grid is None else grid
    target, _ = check_grid(target, what="broadening grid")
    y = broaden_curve(spectrum.energy, spectrum.intensity, target, g, l)
    before = dict(spectrum.broadening or {})
    g0 = float(before.get("gaussian_fwhm", 0.0))
    l0 = float(before.get("lorentzian_fwhm", 0.0))
    before.update(gaussian_fwhm=math.hypot(g0, g), lorentzian_fwhm=l0 + l)
    return replace(spectrum, energy=target, intensity=y, broadening=before)

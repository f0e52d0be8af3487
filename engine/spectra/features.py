"""Numbers read off each site's spectrum, for colouring the atoms by them: the intensity at an
energy, the edge energy, the main peak's energy and height, the centroid. Two more are not read off the spectrum
but come with a prediction: how far the site lies from the model's training sites
(:mod:`amorpha.engine.surrogate.domain`), to see where the spectra are extrapolated, and how
sure a Gaussian-process model is of the site's spectrum.

These are the features a spectroscopist reads off an XANES/ELNES curve first. The edge is where
the spectrum rises fastest before its main peak (the first-derivative maximum, E0 in XAS
software such as Athena); the peak is the maximum; both are refined between grid points by a
parabola, so a shift smaller than the grid step still shows as a colour. Every function takes
one energy grid and a 2-D array of spectra on it (one per row) and returns one value per row.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
from scipy.integrate import trapezoid


def refine_maxima(x: np.ndarray, rows: np.ndarray, k: np.ndarray) -> np.ndarray:
    """Positions of the maxima at indices ``k`` (one per row), refined by a parabola through each
    one and its two neighbours (through log y when all three are positive, which is exact for a
    Gaussian); a maximum at either end of the grid stays on its grid point."""
    x = np.asarray(x, dtype=np.float64)
    rows = np.atleast_2d(np.asarray(rows, dtype=np.float64))
    k = np.asarray(k, dtype=np.int64)
    out = x[k].astype(np.float64)
    inner = (k > 0) & (k < len(x) - 1)
    if not inner.any():
        return out
    r, kk = np.flatnonzero(inner), k[inner]
    x0, x1, x2 = x[kk - 1], x[kk], x[kk + 1]
    y = np.stack([rows[r, kk - 1], rows[r, kk], rows[r, kk + 1]])
    positive = np.all(y > 0, axis=0)
    y[:, positive] = np.log(y[:, positive])
    y0, y1, y2 = y
    # the vertex of the parabola through three points (uneven spacing allowed)
    num = (x1 - x0) ** 2 * (y1 - y2) - (x1 - x2) ** 2 * (y1 - y0)
    den = (x1 - x0) * (y1 - y2) - (x1 - x2) * (y1 - y0)
    concave = den > 0  # with y1 the largest of the three: curved downwards, not flat
    vertex = x1 - 0.5 * np.divide(num, den, out=np.zeros_like(num), where=concave)
    out[r] = np.clip(vertex, x0, x2)
    return out


def intensity_at(energy: np.ndarray, rows: np.ndarray, at: float) -> np.ndarray:
    """Each row's intensity at the energy ``at``, linearly interpolated (the end values outside
    the grid)."""
    energy = np.asarray(energy, dtype=np.float64)
    rows = np.atleast_2d(rows)
    f = float(np.interp(at, energy, np.arange(len(energy), dtype=float)))
    i = min(int(f), len(energy) - 2)
    w = f - i
    return (1.0 - w) * rows[:, i] + w * rows[:, i + 1]


def peak_energies(energy: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """The energy of each row's maximum (its main peak, the white line), between grid points."""
    rows = np.atleast_2d(rows)
    return refine_maxima(energy, rows, np.argmax(rows, axis=1))


def peak_heights(energy: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """Each row's highest intensity."""
    return np.atleast_2d(rows).max(axis=1)


def edge_energies(energy: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """Where each row rises fastest on its way up to its main peak: the maximum of dI/dE at or
    below the peak's grid point (a peak at the first point has no rise: the first energy)."""
    energy = np.asarray(energy, dtype=np.float64)
    rows = np.atleast_2d(np.asarray(rows, dtype=np.float64))
    slope = np.gradient(rows, energy, axis=1)
    peak = np.argmax(rows, axis=1)
    below = np.arange(len(energy))[None, :] <= peak[:, None]
    k = np.argmax(np.where(below, slope, -np.inf), axis=1)
    return refine_maxima(energy, slope, k)


def centroids(energy: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """Each row's centre of gravity, ∫E·I dE / ∫I dE over the grid (NaN where ∫I dE is 0)."""
    energy = np.asarray(energy, dtype=np.float64)
    rows = np.atleast_2d(np.asarray(rows, dtype=np.float64))
    area = trapezoid(rows, energy, axis=1)
    moment = trapezoid(rows * energy, energy, axis=1)
    return np.divide(moment, area, out=np.full_like(area, np.nan), where=area != 0)


@dataclass(frozen=True)
class SpectralFeature:
    """One number per site spectrum: how the window lists it and how the colour bar names it."""

    key: str  # also names the per-atom column: "predicted_" + key (the key alone when from_model)
    title: str  # the list's wording: "edge energy (steepest rise)"
    quantity: str  # the colour bar's: "edge energy"
    unit: str  # "eV", or "" for intensities
    function: Callable | None = None  # (energy, rows) -> one value per row; None: the intensity at an energy
    #: not read off the spectrum: the prediction's SiteSpectra attribute of this name ("distance")
    from_model: str = ""
    #: the predictions that have it, for a message where they do not
    comes_with: str = "predicted spectra"

    @property
    def uses_marker(self) -> bool:
        return self.function is None and not self.from_model

    @property
    def column(self) -> str:
        return self.key if self.from_model else f"predicted_{self.key}"

    def values(self, energy: np.ndarray, rows: np.ndarray, at: float | None = None) -> np.ndarray:
        if self.from_model:
            raise ValueError(f"the {self.title} comes with a prediction, not from a spectrum")
        if self.function is not None:
            return self.function(energy, rows)
        if at is None:
            raise ValueError(f"{self.title} needs an energy")
        return intensity_at(energy, rows, at)


#: the features in the order the window offers them; the first follows the energy marker
FEATURES = (
    SpectralFeature("intensity", "intensity at the marker", "intensity", ""),
    SpectralFeature("edge_energy", "edge energy (steepest rise)", "edge energy", "eV", edge_energies),
    SpectralFeature("peak_energy", "main peak energy", "main peak energy", "eV", peak_energies),
    SpectralFeature("peak_height", "main peak height", "main peak height", "", peak_heights),
    SpectralFeature("centroid", "centroid (centre of gravity)", "centroid", "eV", centroids),
    SpectralFeature("training_distance", "distance from training sites",
                    "distance from the training sites", "1 = the model's domain radius", from_model="distance"),
    # Relative, not in intensity units: the intensities are arbitrary units, and the root sum of
    # squares over the energies grows with the number of grid points; the band's size against
    # the spectrum's (both summed alike) reads as "±5 % of the spectrum" on any model and grid.
    SpectralFeature("prediction_uncertainty", "prediction uncertainty (±1σ)", "prediction uncertainty",
                    "±1σ ÷ spectrum, RMS over energies", from_model="uncertainty",
                    comes_with="predictions of a Gaussian-process model"),
)


def feature(key: str) -> SpectralFeature:
    for f in FEATURES:
        if f.key == key:
            return f
    raise KeyError(f"no spectral feature {key!r}; known: {', '.join(f.key for f in FEATURES)}")

"""The spectrum types every part of Amorpha exchanges: one spectrum, and site spectra on one grid.

A spectrum is an energy grid in eV (strictly increasing) with an intensity, and says where it came
from: the element and edge, the site index in its model, the source (a file, "xTB (qualitative)",
"surrogate"), and the broadening already applied. :func:`check_grid` is the one place that decides
whether an energy axis is usable, so readers, calculators and models give the same message.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from .features import feature


class SpectrumError(ValueError):
    """A spectrum that cannot be used as given (empty, non-numeric, decreasing energy...)."""


def check_grid(energy, intensity=None, what: str = "spectrum") -> tuple[np.ndarray, np.ndarray | None]:
    """Return float arrays, or raise :class:`SpectrumError` saying what is wrong and where."""
    try:
        e = np.asarray(energy, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise SpectrumError(f"{what}: the energy axis is not numeric ({exc})") from None
    if e.ndim != 1 or len(e) < 2:
        raise SpectrumError(f"{what}: an energy axis needs at least two points, got {e.size}")
    if not np.all(np.isfinite(e)):
        raise SpectrumError(f"{what}: energy point {int(np.argmin(np.isfinite(e)))} is NaN or infinite")
    steps = np.diff(e)
    if np.any(steps <= 0):
        k = int(np.argmax(steps <= 0))
        raise SpectrumError(
            f"{what}: the energy axis must increase; point {k + 1} ({e[k + 1]:g} eV) does not "
            f"follow point {k} ({e[k]:g} eV)"
        )
    if intensity is None:
        return e, None
    try:
        y = np.asarray(intensity, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise SpectrumError(f"{what}: the intensity is not numeric ({exc})") from None
    if y.shape[-1] != len(e):
        raise SpectrumError(f"{what}: {y.shape[-1]} intensities for {len(e)} energies")
    if not np.all(np.isfinite(y)):
        raise SpectrumError(f"{what}: an intensity is NaN or infinite")
    return e, y


@dataclass(frozen=True)
class Spectrum:
    """One spectrum on an increasing energy grid (eV)."""

    energy: np.ndarray
    intensity: np.ndarray
    label: str = ""
    source: str = ""
    element: str = ""
    edge: str = ""
    site: int | None = None
    broadening: dict = field(default_factory=dict)  # e.g. {"gaussian_fwhm": 0.5, "lorentzian_fwhm": 0.3}
    meta: dict = field(default_factory=dict)
    #: a prediction's standard deviation at each energy (None: not known), drawn as a band
    std: np.ndarray | None = None

    def on_grid(self, grid: np.ndarray) -> "Spectrum":
        """This spectrum linearly interpolated onto ``grid`` (zero outside its own range)."""
        grid = np.asarray(grid, dtype=np.float64)

        def onto(values):
            return None if values is None else np.interp(grid, self.energy, values, left=0.0, right=0.0)
        return replace(self, energy=grid, intensity=onto(self.intensity), std=onto(self.std))


def shared_onset(onsets: list) -> dict:
    """Where the edge's onset lies on one axis shared by spectra each of which may say: per
    spectrum ``(eV, why)`` (``meta["onset_at_ev"]`` and ``meta["onset_at_from"]``, CASTEP's
    Fermi level) or None where one does not. The mean of those that say, with the first one's
    why and the spread and how many; nothing when none does."""
    known = [o for o in onsets if o is not None]
    if not known:
        return {}
    values = [float(ev) for ev, _ in known]
    low, high, k, n = min(values), max(values), len(values), len(onsets)
    if k == 1 < n:
        spread = f"; from 1 of {n}"
    elif high > low or k < n:
        spread = f"; mean of {k}{f' of {n}' if k < n else ''}, {low:.2f} to {high:.2f} eV"
    else:
        spread = ""
    return {"onset_at_ev": float(np.mean(values)), "onset_at_from": known[0][1] + spread}


def onset_of(meta: dict) -> tuple[float, str] | None:
    """``(eV, why)`` of where the onset lies on a spectrum's axis, when its ``meta`` says."""
    return (float(meta["onset_at_ev"]), str(meta.get("onset_at_from", ""))) if "onset_at_ev" in meta else None


def kind_of(spectra: "Spectrum | SiteSpectra") -> str:
    """Element and edge as a user names them: "Si K", "Fe L2,3" ("?" for one not known)."""
    return f"{spectra.element or '?'} {spectra.edge or '?'}"


def scale_name(axis: str) -> str:
    """How a message names the scale of ``meta["axis"]``: a code's own, or the usual ones."""
    return f"on the {axis} scale" if axis else "relative to the edge or absolute"


@dataclass
class SiteSpectra:
    """Spectra of several sites on one common grid: ``intensity`` is (n_sites, n_energies).

    ``structures`` names, per row, which model the site belongs to (an index into a list the
    caller keeps) so that sites of several models can share one training set.
    """

    energy: np.ndarray
    intensity: np.ndarray
    sites: np.ndarray
    element: str = ""
    edge: str = ""
    source: str = ""
    structures: np.ndarray | None = None
    labels: list[str] = field(default_factory=list)
    #: given to each spectrum taken out (a model's "onset_at_ev"; "axis", the scale the spectra
    #: share when it is a code's own, not edge-relative: "CASTEP/OptaDOS")
    meta: dict = field(default_factory=dict)
    #: predicted spectra: each site's distance from the model's training sites, in domain radii
    #: (above 1: unlike what the model learnt; :mod:`amorpha.engine.surrogate.domain`)
    distance: np.ndarray | None = None
    #: a Gaussian process's predictions: each site's predictive standard deviation over the whole
    #: spectrum relative to the spectrum (root sums of squares over the energies, both), and how it
    #: spreads over the energies: (shapes of unit root sum of squares, each site's row of them)
    uncertainty: np.ndarray | None = None
    band_shapes: tuple[np.ndarray, np.ndarray] | None = None
    #: per row, where its own spectrum said the onset lies ((eV, why) or None), when any did:
    #: ``meta`` holds only their mean, and a learner fed batch after batch needs every row's
    onsets: list | None = None

    def __post_init__(self):
        self.energy, self.intensity = check_grid(self.energy, np.atleast_2d(self.intensity), "site spectra")
        self.sites = np.asarray(self.sites, dtype=np.int64)
        if len(self.sites) != len(self.intensity):
            raise SpectrumError(f"site spectra: {len(self.sites)} sites for {len(self.intensity)} spectra")
        if self.structures is None:
            self.structures = np.zeros(len(self.sites), dtype=np.int64)
        if self.onsets is not None and len(self.onsets) != len(self.sites):
            raise SpectrumError(f"site spectra: {len(self.onsets)} onsets for {len(self.sites)} spectra")

    def __len__(self) -> int:
        return len(self.sites)

    def row_onsets(self) -> list:
        """Per row, ``(eV, why)`` of where the onset lies on the axis, or None: the rows' own
        when known, else the shared one of ``meta`` for every row."""
        return list(self.onsets) if self.onsets is not None else [onset_of(self.meta)] * len(self)

    @classmethod
    def from_spectra(cls, spectra: list[Spectrum], grid: np.ndarray | None = None) -> "SiteSpectra":
        """Put spectra on one grid (the first one's unless given), keeping their site and labels;
        spectra on different energy scales (``meta["axis"]``) or outside the grid are refused, and
        where the onset lies on their axis is kept when any says (:func:`shared_onset`)."""
        if not spectra:
            raise SpectrumError("site spectra: no spectra given")
        grid = spectra[0].energy if grid is None else np.asarray(grid, dtype=np.float64)
        for s in spectra:  # else it would come out as zeros: one at 1840 eV on a -5..25 eV grid
            if s.energy[-1] < grid[0] or s.energy[0] > grid[-1]:
                raise SpectrumError(f"site spectra: {s.label or 'a spectrum'} ({s.energy[0]:g}–{s.energy[-1]:g} eV) "
                                    f"lies outside the common grid ({grid[0]:g}–{grid[-1]:g} eV)")
        rows = np.array([s.on_grid(grid).intensity for s in spectra])
        sites = [(-1 if s.site is None else s.site) for s in spectra]
        first = spectra[0]
        axes = {s.meta.get("axis", "") for s in spectra}
        if len(axes) > 1:  # one grid would put unrelated energies side by side
            raise SpectrumError("site spectra: energies on different scales "
                                f"({' and '.join(sorted(map(scale_name, axes)))})")
        axis = axes.pop()
        onsets = [onset_of(s.meta) for s in spectra]
        meta = ({"axis": axis} if axis else {}) | shared_onset(onsets)
        return cls(grid, rows, sites, first.element, first.edge, first.source,
                   labels=[s.label for s in spectra], meta=meta,
                   onsets=onsets if any(o is not None for o in onsets) else None)

    def spectrum(self, row: int) -> Spectrum:
        return Spectrum(self.energy, self.intensity[row], label=self.labels[row] if self.labels else "",
                        source=self.source, element=self.element, edge=self.edge, site=int(self.sites[row]),
                        meta=dict(self.meta), std=self.std(row))

    def std(self, row: int) -> np.ndarray | None:
        """The predictive standard deviation of row ``row``'s spectrum at each energy, in its
        intensity units (None when not known): :attr:`uncertainty` times the spectrum's root sum
        of squares, spread over the energies by its shape in :attr:`band_shapes`."""
        if self.uncertainty is None or self.band_shapes is None:
            return None
        shapes, shape_of = self.band_shapes
        size = float(np.linalg.norm(self.intensity[row]))
        return self.uncertainty[row] * size * shapes[shape_of[row]]

    def feature(self, key: str, at: float | None = None, energy: np.ndarray | None = None) -> np.ndarray:
        """One number per site read off its spectrum (:data:`features.FEATURES`: "intensity" at
        the energy ``at``, "edge_energy", "peak_energy"...); ``energy``: the grid as drawn
        elsewhere (placed at a measured onset), point for point the same as :attr:`energy`, so
        energies come out on that axis. "training_distance" and "prediction_uncertainty" are not read off the
        spectra: they are :attr:`distance` and :attr:`uncertainty`, which only predictions have."""
        chosen = feature(key)
        if chosen.from_model:
            values = getattr(self, chosen.from_model)
            if values is None:
                raise SpectrumError(f"site spectra: the {chosen.title} is known only for {chosen.comes_with}")
            return values
        grid = self.energy if energy is None else np.asarray(energy, dtype=np.float64)
        if len(grid) != len(self.energy):
            raise SpectrumError(f"site spectra: a grid of {len(grid)} points for spectra of {len(self.energy)}")
        return feature(key).values(grid, self.intensity, at)

    def mean(self, label: str = "average") -> Spectrum:
        return Spectrum(self.energy, self.intensity.mean(axis=0), label=label, source=self.source,
                        element=self.element, edge=self.edge, meta=dict(self.meta))

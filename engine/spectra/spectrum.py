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

    def on_grid(self, grid: np.ndarray) -> "Spectrum":
        """This spectrum linearly interpolated onto ``grid`` (zero outside its own range)."""
        grid = np.asarray(grid, dtype=np.float64)
        y = np.interp(grid, self.energy, self.intensity, left=0.0, right=0.0)
        return replace(self, energy=grid, intensity=y)


def shared_onset(onsets: list, said: str) -> dict:
    """Where the edge's onset lies on one axis shared by spectra each of which may say
    (``meta["onset_at_ev"]``, CASTEP's Fermi level; None where one does not), ``said`` being
    why: the mean of those that say, with their spread and how many; nothing when none does."""
    known = [float(o) for o in onsets if o is not None]
    if not known:
        return {}
    low, high, k, n = min(known), max(known), len(known), len(onsets)
    if k == 1 < n:
        spread = f"; from 1 of {n}"
    elif high > low or k < n:
        spread = f"; mean of {k}{f' of {n}' if k < n else ''}, {low:.2f} to {high:.2f} eV"
    else:
        spread = ""
    return {"onset_at_ev": float(np.mean(known)), "onset_at_from": said + spread}


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

    def __post_init__(self):
        self.energy, self.intensity = check_grid(self.energy, np.atleast_2d(self.intensity), "site spectra")
        self.sites = np.asarray(self.sites, dtype=np.int64)
        if len(self.sites) != len(self.intensity):
            raise SpectrumError(f"site spectra: {len(self.sites)} sites for {len(self.intensity)} spectra")
        if self.structures is None:
            self.structures = np.zeros(len(self.sites), dtype=np.int64)

    def __len__(self) -> int:
        return len(self.sites)

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
        meta = ({"axis": axis} if axis else {}) | shared_onset(
            [s.meta.get("onset_at_ev") for s in spectra],
            next((s.meta["onset_at_from"] for s in spectra if "onset_at_from" in s.meta), ""))
        return cls(grid, rows, sites, first.element, first.edge, first.source,
                   labels=[s.label for s in spectra], meta=meta)

    def spectrum(self, row: int) -> Spectrum:
        return Spectrum(self.energy, self.intensity[row], label=self.labels[row] if self.labels else "",
                        source=self.source, element=self.element, edge=self.edge, site=int(self.sites[row]),
                        meta=dict(self.meta))

    def feature(self, key: str, at: float | None = None, energy: np.ndarray | None = None) -> np.ndarray:
        """One number per site read off its spectrum (:data:`features.FEATURES`: "intensity" at
        the energy ``at``, "edge_energy", "peak_energy"...); ``energy``: the grid as drawn
        elsewhere (placed at a measured onset), point for point the same as :attr:`energy`, so
        energies come out on that axis. "training_distance" is not read off the spectra: it is
        :attr:`distance`, which only predictions have."""
        if feature(key).from_model:
            if self.distance is None:
                raise SpectrumError(f"site spectra: {feature(key).title} is known only for predicted spectra")
            return self.distance
        grid = self.energy if energy is None else np.asarray(energy, dtype=np.float64)
        if len(grid) != len(self.energy):
            raise SpectrumError(f"site spectra: a grid of {len(grid)} points for spectra of {len(self.energy)}")
        return feature(key).values(grid, self.intensity, at)

    def mean(self, label: str = "average") -> Spectrum:
        return Spectrum(self.energy, self.intensity.mean(axis=0), label=label, source=self.source,
                        element=self.element, edge=self.edge, meta=dict(self.meta))

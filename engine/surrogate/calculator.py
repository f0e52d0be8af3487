"""The interface every reference code for site spectra implements (xTB now, others later).

A reference calculator turns one site of a model into a :class:`Spectrum`. What it needs from a
subclass is split so that the shared code can cache and loop:

* :meth:`~ReferenceCalculator.prepare` — work shared by all sites of one model (a bond list);
* :meth:`~ReferenceCalculator.environment` — what the result depends on, as elements and
  positions with the absorber first (for xTB the capped cluster): the cache key is made of it.
  A calculator whose site spectrum is the mean over several environments (xTB's clusters of a
  few radii) returns them all from :meth:`~ReferenceCalculator.environments`, each cached alone
  under :meth:`~ReferenceCalculator.key_settings`, and :meth:`~ReferenceCalculator.combine`
  makes one spectrum of theirs;
* :meth:`~ReferenceCalculator.compute` — the expensive part, returning arrays plus a JSON-able
  ``meta`` dict (what is cached);
* :meth:`~ReferenceCalculator.to_spectrum` — cheap post-processing of that result (reference
  energy, broadening, grid) into a :class:`Spectrum`.

``settings()`` holds everything that changes the spectrum and is saved with trained models;
``compute_settings()`` is the part that changes :meth:`compute`'s result, so changing only a
broadening width re-uses the cached calculations.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import replace
from typing import Any, Iterable, Optional

import numpy as np

from ..elements import symbol
from ..errors import ParameterError
from ..spectra.spectrum import SiteSpectra, Spectrum
from ..tasks import CancelFn, ProgressFn, check_cancel, report, sub_progress
from .cache import SiteCache, site_key


class ReferenceCalculator(ABC):
    """A code that computes the spectrum of one site (see the module docstring)."""

    #: Short machine name ("xtb"), and the label shown in the window ("xTB (qualitative)").
    name: str = ""
    label: str = ""

    def __init__(self, cache: "SiteCache | bool | None" = True):
        """``cache``: True for the default on-disk cache, False/None for none, or a :class:`SiteCache`."""
        if cache is True:
            cache = SiteCache()
        self.cache: Optional[SiteCache] = cache or None

    # -- what subclasses provide ----------------------------------------------------------
    @abstractmethod
    def settings(self) -> dict:
        """Every setting that changes the spectrum, JSON-able."""

    def compute_settings(self) -> dict:
        """The settings :meth:`compute` depends on (the cache key); all of them unless narrowed."""
        return self.settings()

    def prepare(self, atoms) -> Any:
        """Work shared by all sites of ``atoms`` (passed back as ``context``)."""
        return None

    @abstractmethod
    def environment(self, atoms, index: int, context: Any = None) -> Any:
        """The site's environment; must have ``numbers`` and ``positions`` (absorber at row 0)."""

    @abstractmethod
    def compute(self, environment: Any, cancel: Optional[CancelFn] = None,
                progress: Optional[ProgressFn] = None) -> dict:
        """The expensive calculation: a dict of arrays and a JSON-able ``"meta"`` dict.
        ``progress`` is told its phases (a periodic cell's SCF can take minutes)."""

    @abstractmethod
    def to_spectrum(self, result: dict, atoms, index: int) -> Spectrum:
        """The spectrum of site ``index`` from :meth:`compute`'s result."""

    def environments(self, atoms, index: int, context: Any = None) -> list:
        """The environments whose spectra, averaged, make the site's spectrum: one by default."""
        return [self.environment(atoms, index, context)]

    def key_settings(self, environment: Any) -> dict:
        """The settings in ``environment``'s cache key: :meth:`compute_settings` by default."""
        return self.compute_settings()

    def combine(self, parts: list[Spectrum]) -> Spectrum:
        """The site's spectrum from its environments' spectra (one grid): their mean, with the
        middle one's meta (a single one as it is); subclasses add what their meta needs."""
        if len(parts) == 1:
            return parts[0]
        middle = parts[len(parts) // 2]
        return replace(middle, intensity=np.mean([p.intensity for p in parts], axis=0), meta=dict(middle.meta))

    def check_site(self, atoms, index: int) -> int:
        """Raise ParameterError if ``index`` cannot be computed; return it as a plain int."""
        n = len(atoms)
        try:
            index = int(index)
        except (TypeError, ValueError):
            raise ParameterError("index", f"an atom index is an integer, got {index!r}") from None
        if not -n <= index < n:
            raise ParameterError("index", f"atom {index} does not exist; the model has {n} atoms")
        return index % n

    # -- shared ---------------------------------------------------------------------------
    def results(self, atoms, index: int, context: Any = None,
                cancel: Optional[CancelFn] = None, progress: Optional[ProgressFn] = None) -> tuple[list[dict], bool]:
        """(:meth:`compute`'s result for each of the site's :meth:`environments`, whether all came
        from the cache)."""
        envs = self.environments(atoms, index, context)
        values, all_cached = [], True
        for k, env in enumerate(envs):
            key = None
            if self.cache is not None:
                key = site_key(np.asarray(env.numbers), np.asarray(env.positions), self.key_settings(env))
                hit = self.cache.get(key)
                if hit is not None:
                    values.append(hit)
                    continue
            check_cancel(cancel)
            value = self.compute(env, cancel, _prefixed(sub_progress(progress, k / len(envs), (k + 1) / len(envs)),
                                                        f"environment {k + 1} of {len(envs)}, " if len(envs) > 1 else ""))
            if key is not None:
                self.cache.put(key, value)
            values.append(value)
            all_cached = False
            report(progress, (k + 1) / len(envs), f"environment {k + 1} of {len(envs)} done")
        return values, all_cached

    def site_spectrum(self, atoms, index: int, progress: Optional[ProgressFn] = None,
                      cancel: Optional[CancelFn] = None, context: Any = None) -> Spectrum:
        """Spectrum of atom ``index`` (from the cache when its environments were done before)."""
        index = self.check_site(atoms, index)
        check_cancel(cancel)
        if context is None:
            context = self.prepare(atoms)
        values, cached = self.results(atoms, index, context, cancel, progress)
        spec = self.combine([self.to_spectrum(v, atoms, index) for v in values])
        spec.meta["cached"] = cached
        report(progress, 1.0, f"site {index} done")
        return spec

    def site_spectra(self, atoms, indices: Iterable[int], progress: Optional[ProgressFn] = None,
                     cancel: Optional[CancelFn] = None) -> SiteSpectra:
        """Spectra of several sites of one element on one grid, rows in the order of ``indices``.

        ``cancel`` is checked before every site (and inside a site between SCF runs).
        """
        idx = [self.check_site(atoms, i) for i in np.asarray(list(indices), dtype=np.int64).reshape(-1)]
        if not idx:
            raise ParameterError("indices", "no sites were chosen")
        z = np.asarray(atoms.numbers)[idx]
        if np.any(z != z[0]):
            other = int(np.flatnonzero(z != z[0])[0])
            raise ParameterError("indices", f"all sites must be of one element; site {idx[0]} is "
                                 f"{symbol(z[0])}, site {idx[other]} is {symbol(z[other])}")
        check_cancel(cancel)
        context = self.prepare(atoms)
        spectra = []
        n = len(idx)
        for k, i in enumerate(idx):
            check_cancel(cancel)
            spectra.append(self.site_spectrum(atoms, i, sub_progress(progress, k / n, (k + 1) / n),
                                              cancel, context=context))
            report(progress, (k + 1) / n, f"{self.label}: site {k + 1} of {n}")
        out = SiteSpectra.from_spectra(spectra)
        out.source = self.label
        return out


def _prefixed(progress: Optional[ProgressFn], prefix: str) -> Optional[ProgressFn]:
    """``progress`` with ``prefix`` before each message (which environment a phase is of)."""
    if progress is None or not prefix:
        return progress
    return lambda fraction, message="": progress(fraction, prefix + message)


def comparable_settings(settings: dict | None) -> dict:
    """A model's stored calculator settings as today's code writes them, the tblite version left
    out: the defaults of settings added since are filled in, so a model trained before
    ``radius_spread`` existed (the built-in O K one) and one trained now with its settings
    compare equal. Empty when none are stored."""
    s = dict(settings or {})
    s.pop("tblite", None)
    if s.get("calculator") == "xtb":
        from .xtb import XtbParams

        s.update(XtbParams.from_dict(s).to_dict())
    return s

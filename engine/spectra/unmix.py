"""Explain a measured spectrum as a non-negative mixture of component spectra (site classes, phases).

The model on the measured energy points inside the common range (and ``window``) is

    y(E) ≈ Σ_k w_k·C_k(E) + background(E),   w_k ≥ 0,

with the background ``None``, ``"constant"`` (b₀), ``"linear"`` (b₀ + b₁·E) or
``"nonneg_linear"``: a straight line that is nowhere negative in the window, b_lo·(1 − t) + b_hi·t
with t running 0 → 1 across it and b_lo, b_hi ≥ 0. After a power-law background is subtracted the
counts stand on zero before the onset; a signed line there tilted the fit to −131 counts where
the counts were ~0, a total intensity below zero. The non-negative line's two coefficients simply
join the components in the NNLS. The signed backgrounds are **projected out** (variable
projection): with B the background columns and P = I − B·B⁺ the projector onto their orthogonal
complement, the weights solve the NNLS problem min‖P·y − P·C·w‖ (``scipy.optimize.nnls``) and then
b = B⁺·(y − C·w). This gives the exact minimiser of the full problem with w ≥ 0 and b free.

Fractions are w_k / Σw: they are fractions of sites (or phases) when the components are given on
the same per-site normalisation, whatever the arbitrary scale of the measurement.

:func:`bootstrap` gives uncertainties by refitting ``n`` synthetic spectra
``fit + noise``. ``noise="residual"`` (default) draws the noise by resampling the fit's residuals
with replacement (inflated by √(N/(N−p)) for the fitted parameters); ``noise="counts"`` treats the
measured intensities as counts and draws ``Poisson(fit)`` — use it only for raw counts.

:func:`rank_models` fits several candidate component sets and sorts them by R-factor
(Σ|y − fit| / Σ|y|, default) or by reduced χ² (RSS / (N − p) / σ², σ = 1 unless given).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import nnls

from amorpha.engine.errors import ParameterError, require
from amorpha.engine.spectra.compare import _checked, overlap
from amorpha.engine.spectra.spectrum import Spectrum, kind_of

_BACKGROUNDS = (None, "constant", "linear", "nonneg_linear")
#: backgrounds whose coefficients are fitted ≥ 0 beside the weights, not projected out
_NONNEGATIVE = ("nonneg_linear",)


@dataclass
class UnmixFit:
    """The result of :func:`fit_components` (uncertainties filled in by :func:`bootstrap`)."""

    labels: list[str]
    weights: np.ndarray
    fractions: np.ndarray
    background: np.ndarray            # coefficients: [] / [b0] / [b0, b1] (b1 per eV about the centre) /
                                      # [b_lo, b_hi] (nonneg_linear: its values at the window's ends)
    energy: np.ndarray                # the fitted measured points
    measured: np.ndarray
    model: np.ndarray
    residual: np.ndarray              # measured − model
    rss: float
    r2: float
    r_factor: float
    reduced_chi2: float
    dof: int
    background_kind: str | None
    window: tuple[float, float]
    fraction_mean: np.ndarray | None = None
    fraction_std: np.ndarray | None = None
    bootstrap_samples: np.ndarray | None = field(default=None, repr=False)
    # design for refitting (bootstrap): component columns and background columns on ``energy``
    _columns: np.ndarray = field(default=None, repr=False)
    _bg_columns: np.ndarray = field(default=None, repr=False)

    @property
    def n_params(self) -> int:
        return len(self.weights) + len(self.background)

    def model_spectrum(self, label: str = "fit") -> Spectrum:
        return Spectrum(self.energy, self.model, label=label, source="unmix",
                        meta={"fractions": dict(zip(self.labels, self.fractions.tolist()))})

    def residual_spectrum(self, label: str = "residual") -> Spectrum:
        return Spectrum(self.energy, self.residual, label=label, source="unmix")

    def summary(self) -> dict:
        out = {"fractions": dict(zip(self.labels, self.fractions.tolist())),
               "weights": dict(zip(self.labels, self.weights.tolist())),
               "background": self.background.tolist(), "r2": self.r2, "r_factor": self.r_factor,
               "reduced_chi2": self.reduced_chi2, "rss": self.rss, "dof": self.dof}
        if self.fraction_std is not None:
            out["fraction_std"] = dict(zip(self.labels, self.fraction_std.tolist()))
        return out


def _background_columns(energy: np.ndarray, kind, centre: float) -> np.ndarray:
    if kind is None:
        return np.zeros((len(energy), 0))
    if kind == "constant":
        return np.ones((len(energy), 1))
    if kind in _NONNEGATIVE:  # the line's values at the two ends, each ≥ 0
        t = (energy - energy[0]) / (energy[-1] - energy[0]) if energy[-1] > energy[0] else np.zeros_like(energy)
        return np.column_stack([1.0 - t, t])
    return np.column_stack([np.ones_like(energy), energy - centre])


def _solve(y: np.ndarray, columns: np.ndarray, bg: np.ndarray, signed: bool = True):
    """NNLS for the component weights with a signed background projected out, or a non-negative
    one fitted beside them."""
    if bg.shape[1] and not signed:
        both, _ = nnls(np.column_stack([columns, bg]), y, maxiter=50 * (columns.shape[1] + bg.shape[1]) + 100)
        return both[:columns.shape[1]], both[columns.shape[1]:]
    if bg.shape[1]:
        pinv = np.linalg.pinv(bg)
        project = lambda m: m - bg @ (pinv @ m)  # noqa: E731
        w, _ = nnls(project(columns), project(y), maxiter=50 * columns.shape[1] + 100)
        b = pinv @ (y - columns @ w)
    else:
        w, _ = nnls(columns, y, maxiter=50 * columns.shape[1] + 100)
        b = np.zeros(0)
    return w, b


def _fractions(w: np.ndarray) -> np.ndarray:
    total = float(w.sum())
    return w / total if total > 0 else np.zeros_like(w)


def fit_components(measured: Spectrum, components: list[Spectrum], window=None,
                   background: str | None = "linear", sigma: float | None = None) -> UnmixFit:
    """Fit ``measured`` as Σ w_k·components[k] + background with w_k ≥ 0 (see the module notes).

    The fit uses the measured energy points inside the range every spectrum covers (and
    ``window``); components are linearly interpolated onto them. ``sigma`` (the noise per point,
    scalar) only scales ``reduced_chi2``.
    """
    measured = _checked(measured, "measured")
    require(isinstance(components, (list, tuple)) and len(components) > 0, "components",
            "give at least one component spectrum")
    components = [_checked(c, f"components[{k}]") for k, c in enumerate(components)]
    edges = sorted({kind_of(c) for c in components if c.element and c.edge})
    require(len(edges) <= 1, "components", f"spectra of {' and '.join(edges)} in one fit; its fractions "
                                           "would mean nothing: fit the components of one edge")
    require(background in _BACKGROUNDS, "background",
            f"expected one of None, 'constant', 'linear', 'nonneg_linear', got {background!r}")
    if sigma is not None:
        require(np.isfinite(sigma) and sigma > 0, "sigma", f"must be a positive number, got {sigma!r}")
    lo, hi = overlap([measured, *components], window, ["measured", "components"])
    e = measured.energy
    inside = (e >= lo) & (e <= hi)
    x, y = e[inside], measured.intensity[inside]
    centre = 0.5 * (lo + hi)
    columns = np.column_stack([c.on_grid(x).intensity for c in components])
    bg = _background_columns(x, background, centre)
    n_params = columns.shape[1] + bg.shape[1]
    require(len(x) > n_params, "window", f"{len(x)} measured points in {lo:g}–{hi:g} eV for "
                                         f"{n_params} parameters; widen the window")
    w, b = _solve(y, columns, bg, background not in _NONNEGATIVE)
    model = columns @ w + bg @ b
    resid = y - model
    rss = float(resid @ resid)
    tss = float(np.sum((y - y.mean()) ** 2))
    dof = len(x) - n_params
    labels = [c.label or f"component {k + 1}" for k, c in enumerate(components)]
    return UnmixFit(
        labels=labels, weights=w, fractions=_fractions(w), background=b, energy=x, measured=y,
        model=model, residual=resid, rss=rss, r2=(1.0 - rss / tss) if tss > 0 else float("nan"),
        r_factor=float(np.sum(np.abs(resid)) / np.sum(np.abs(y))) if np.any(y) else float("nan"),
        reduced_chi2=rss / dof / (1.0 if sigma is None else float(sigma) ** 2), dof=dof,
        background_kind=background, window=(lo, hi), _columns=columns, _bg_columns=bg)


def bootstrap(fit: UnmixFit, n: int = 200, seed=None, noise: str = "residual") -> UnmixFit:
    """Refit ``n`` noisy copies of ``fit.model`` and store the mean and std of each fraction.

    ``noise``: ``"residual"`` resamples the residuals with replacement (scaled by √(N/(N−p)));
    ``"counts"`` draws Poisson(model) (the measurement must be raw counts). Returns ``fit`` with
    ``fraction_mean`` / ``fraction_std`` set (and the samples in ``fit.bootstrap_samples``).
    """
    require(isinstance(fit, UnmixFit), "fit", "expected the result of fit_components")
    require(isinstance(n, (int, np.integer)) and not isinstance(n, bool) and n >= 2, "n",
            f"needs an integer of at least 2 resamples, got {n!r}")
    require(noise in ("residual", "counts"), "noise", f"expected 'residual' or 'counts', got {noise!r}")
    rng = np.random.default_rng(seed)
    N = len(fit.measured)
    if noise == "counts":
        require(bool(np.all(fit.model >= 0)), "noise",
                "'counts' needs a non-negative fitted model; use 'residual'")
    inflate = np.sqrt(N / fit.dof)
    samples = np.empty((int(n), len(fit.weights)))
    for i in range(int(n)):
        if noise == "residual":
            y = fit.model + inflate * rng.choice(fit.residual, size=N, replace=True)
        else:
            y = rng.poisson(fit.model).astype(np.float64)
        w, _ = _solve(y, fit._columns, fit._bg_columns, fit.background_kind not in _NONNEGATIVE)
        samples[i] = _fractions(w)
    fit.fraction_mean = samples.mean(axis=0)
    fit.fraction_std = samples.std(axis=0, ddof=1)
    fit.bootstrap_samples = samples
    return fit


@dataclass
class RankedModel:
    name: str
    score: float
    fit: UnmixFit


def rank_models(measured: Spectrum, candidates: dict, window=None, background: str | None = "linear",
                criterion: str = "r_factor", sigma: float | None = None) -> list[RankedModel]:
    """Fit each candidate (a Spectrum or a list of component Spectra) and sort best first.

    ``criterion``: ``"r_factor"`` (Σ|residual| / Σ|measured|) or ``"reduced_chi2"``; lower is better.
    """
    require(isinstance(candidates, dict) and len(candidates) > 0, "candidates",
            "give a dict of name → Spectrum or list of component Spectra")
    require(criterion in ("r_factor", "reduced_chi2"), "criterion",
            f"expected 'r_factor' or 'reduced_chi2', got {criterion!r}")
    ranked = []
    for name, comps in candidates.items():
        comps = [comps] if isinstance(comps, Spectrum) else list(comps)
        try:
            fit = fit_components(measured, comps, window, background, sigma)
        except ParameterError as exc:
            raise ParameterError(f"candidates[{name!r}]", f"{exc.parameter}: {exc.reason}") from None
        ranked.append(RankedModel(str(name), float(getattr(fit, criterion)), fit))
    ranked.sort(key=lambda r: (np.isnan(r.score), r.score))
    return ranked

"""Preparing measured EELS/XAS spectra: calibration, background, deconvolution, normalisation.

Every step is a pure function: it takes a :class:`Spectrum` and returns a new one (the input is
never changed) whose ``meta["steps"]`` is the input's list with one :class:`Step` appended. A step
records its name and the parameters it was called with (``params``, enough to run it again) and,
separately, what it found (``info``: a fitted exponent, an edge energy...) for display. So

* ``replay(original, steps)`` runs a list of steps again and gives identical arrays;
* undo is replay without the last step: :func:`undo` (``replay(original, steps[:-1])``).

Steps that need another spectrum (:func:`fourier_ratio` needs the low loss) keep that
:class:`Spectrum` itself in ``params``. :meth:`Step.to_dict` turns a step into plain JSON (such a
spectrum becomes its label, source, energies and intensities) and :meth:`Step.from_dict` gives it
back, equal and replayable, so a list of steps can be saved with a project or beside a spectrum.

Functions that work channel by channel (:func:`smooth`, :func:`fourier_ratio`'s core loss) need a
uniform energy grid, the normal case for a measured spectrum; they raise :class:`ParameterError`
for ``spectrum`` otherwise.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Callable

import numpy as np

from ..errors import ParameterError, finite_number, require
from ..surrogate.broadening import FWHM_PER_SIGMA, broaden_spectrum
from .features import refine_maxima
from .spectrum import Spectrum, check_grid


# --------------------------------------------------------------------------------------------
# Steps, recording and replay
# --------------------------------------------------------------------------------------------

def _same(a, b) -> bool:
    if isinstance(a, Spectrum) and isinstance(b, Spectrum):
        return (np.array_equal(a.energy, b.energy) and np.array_equal(a.intensity, b.intensity))
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return np.array_equal(np.asarray(a), np.asarray(b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    return a == b


def _plain(value):
    """``value`` as JSON: arrays and tuples to lists, numpy scalars to numbers, a Spectrum to a dict."""
    if isinstance(value, Spectrum):
        return {"spectrum": {"label": value.label, "source": str(value.source),
                             "energy": np.asarray(value.energy, dtype=float).tolist(),
                             "intensity": np.asarray(value.intensity, dtype=float).tolist()}}
    if isinstance(value, (np.ndarray, np.generic)):
        return value.tolist()
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return value


def _restored(value):
    """The inverse of :func:`_plain` for what steps hold (windows come back as tuples)."""
    if isinstance(value, dict):
        if set(value) == {"spectrum"} and isinstance(value["spectrum"], dict):
            d = value["spectrum"]
            return Spectrum(np.asarray(d["energy"], dtype=float), np.asarray(d["intensity"], dtype=float),
                            label=d.get("label", ""), source=d.get("source", ""))
        return {k: _restored(v) for k, v in value.items()}
    if isinstance(value, list):
        return tuple(_restored(v) for v in value)
    return value


@dataclass(frozen=True, eq=False)
class Step:
    """One processing step: ``name`` (a key of :data:`STEPS`), the ``params`` it was called with
    and ``info``, what it found (for display only; :func:`replay` ignores it)."""

    name: str
    params: dict = field(default_factory=dict)
    info: dict = field(default_factory=dict)

    def __eq__(self, other) -> bool:
        if not isinstance(other, Step):
            return NotImplemented
        return self.name == other.name and _same(self.params, other.params)

    def to_dict(self) -> dict:
        """Plain JSON (lists, numbers, strings): ``{"name", "params", "info"}``."""
        return {"name": self.name, "params": _plain(self.params), "info": _plain(self.info)}

    @classmethod
    def from_dict(cls, d: dict) -> "Step":
        """The step :meth:`to_dict` wrote (lists of numbers become tuples again)."""
        require(isinstance(d, dict) and isinstance(d.get("name"), str), "step",
                f"expected {{'name': ..., 'params': {{...}}}}, got {d!r}"[:200])
        return cls(d["name"], _restored(d.get("params") or {}), _restored(d.get("info") or {}))

    def summary(self) -> str:
        """The step in words, with what it found ("Power-law background A·E^−r fitted over
        472–527 eV (r = 3.12) and subtracted"); :meth:`describe` for an unknown step."""
        text = _SUMMARIES.get(self.name)
        try:
            return text(self.params, self.info) if text else self.describe()
        except (KeyError, TypeError, ValueError, IndexError):  # a step saved by another version
            return self.describe()

    def describe(self) -> str:
        """A one-line summary for a list of steps, e.g. ``calibrate(shift=-1.3, scale=1)``."""
        parts = []
        for k, v in self.params.items():
            if isinstance(v, Spectrum):
                v = v.label or "spectrum"
            elif isinstance(v, float):
                v = f"{v:g}"
            elif isinstance(v, tuple):
                v = "(" + ", ".join(f"{x:g}" for x in v) + ")"
            parts.append(f"{k}={v}")
        return f"{self.name}({', '.join(parts)})"


def _span(window) -> str:
    return f"{window[0]:g}–{window[1]:g} eV"


def _calibration_text(p: dict, info: dict) -> str:
    shift, scale = float(p.get("shift", 0.0)), float(p.get("scale", 1.0))
    if scale == 1.0:
        return f"Energy axis shifted by {shift:+.3f} eV"
    return f"Energy axis calibrated: E → {scale:.5g}·E {shift:+.3f} eV"


def _background_text(p: dict, info: dict) -> str:
    r = f" (r = {info['r']:.3g})" if "r" in info else ""
    below = "; the channels below it set to 0" if p.get("zero_fill") else ""
    doubt = powerlaw_doubt(info["r"]) if "r" in info else ""
    return (f"Power-law background A·E^−r fitted over {_span(p['window'])}{r} and subtracted{below}"
            + (f". {doubt}" if doubt else ""))


def _fourier_text(p: dict, info: dict) -> str:
    low = p.get("low_loss")
    name = f" {low.label}" if isinstance(low, Spectrum) and low.label else ""
    width = f" (zero-loss FWHM {info['zlp_fwhm']:.3g} eV)" if "zlp_fwhm" in info else ""
    return f"Fourier-ratio deconvolution by the low loss{name}{width}"


def _normalise_text(p: dict, info: dict) -> str:
    e0 = f" at E0 = {info['e0']:.2f} eV" if "e0" in info else ""
    return f"Edge step normalised to 1{e0} (pre-edge line {_span(p['pre'])}, post-edge line {_span(p['post'])})"


def _smooth_text(p: dict, info: dict) -> str:
    if p.get("method") == "gaussian":
        return f"Smoothed by a Gaussian of FWHM {p['window_ev']:g} eV"
    return f"Smoothed by Savitzky–Golay, order {p.get('order', 2)}, over {p['window_ev']:g} eV"


def _broadening_text(p: dict, info: dict) -> str:
    return (f"Broadened: Gaussian FWHM {p['gaussian_fwhm']:g} eV, Lorentzian FWHM "
            f"{p['lorentzian_fwhm']:g} eV")


#: how a person reads each step (Step.summary); the keys are the steps' names
_SUMMARIES = {"calibrate": _calibration_text, "powerlaw_background": _background_text,
              "fourier_ratio": _fourier_text, "edge_step_normalise": _normalise_text,
              "smooth": _smooth_text, "instrument_broadening": _broadening_text}


def steps_of(spectrum: Spectrum) -> list[Step]:
    """The steps recorded on ``spectrum`` (a copy of the list)."""
    return list((spectrum.meta or {}).get("steps", []))


def _record(spectrum: Spectrum, step: Step, **changes) -> Spectrum:
    meta = dict(spectrum.meta or {})
    meta["steps"] = steps_of(spectrum) + [step]
    return replace(spectrum, meta=meta, **changes)


def replay(spectrum: Spectrum, steps) -> Spectrum:
    """``spectrum`` with ``steps`` (a list of :class:`Step`) applied again in order."""
    for i, step in enumerate(steps):
        fn = STEPS.get(getattr(step, "name", None))
        require(fn is not None, "steps", f"step {i} ({getattr(step, 'name', step)!r}) is not one of "
                + ", ".join(sorted(STEPS)))
        out = fn(spectrum, **step.params)
        spectrum = out[0] if isinstance(out, tuple) else out
    return spectrum


def undo(original: Spectrum, processed: Spectrum) -> Spectrum:
    """``processed`` without its last step: its steps but the last replayed on ``original``."""
    steps = steps_of(processed)[len(steps_of(original)):]
    require(len(steps) > 0, "processed", "there is no step to undo")
    return replay(original, steps[:-1])


# --------------------------------------------------------------------------------------------
# Small helpers
# --------------------------------------------------------------------------------------------

def _arrays(spectrum: Spectrum) -> tuple[np.ndarray, np.ndarray]:
    require(isinstance(spectrum, Spectrum), "spectrum", f"expected a Spectrum, got {type(spectrum).__name__}")
    return check_grid(spectrum.energy, spectrum.intensity, spectrum.label or "spectrum")


def _window(window, name: str, e: np.ndarray, min_points: int = 3) -> tuple[tuple[float, float], np.ndarray]:
    """(lo, hi) as floats and the mask of grid points inside it; checks it lies in the data."""
    try:
        lo, hi = (float(x) for x in window)
    except (TypeError, ValueError):
        raise ParameterError(name, f"must be two energies (eV), got {window!r}") from None
    require(math.isfinite(lo) and math.isfinite(hi) and lo < hi, name,
            f"must be (low, high) with low < high, got ({lo:g}, {hi:g})")
    require(lo >= e[0] and hi <= e[-1], name,
            f"({lo:g}, {hi:g}) eV lies outside the data ({e[0]:g} to {e[-1]:g} eV)")
    mask = (e >= lo) & (e <= hi)
    n = int(mask.sum())
    require(n >= min_points, name, f"({lo:g}, {hi:g}) eV holds {n} points, at least {min_points} needed")
    return (lo, hi), mask


def _uniform_step(e: np.ndarray, name: str = "spectrum") -> float:
    d = (e[-1] - e[0]) / (len(e) - 1)
    require(bool(np.allclose(np.diff(e), d, rtol=1e-6, atol=0.0)), name,
            "needs a uniform energy grid (equal steps)")
    return float(d)


def _peak_refine(x: np.ndarray, y: np.ndarray, k: int) -> float:
    """Position of the maximum near index ``k``, between channels (see :func:`refine_maxima`)."""
    return float(refine_maxima(x, y, np.array([k]))[0])


# --------------------------------------------------------------------------------------------
# Calibration
# --------------------------------------------------------------------------------------------

def calibrate(spectrum: Spectrum, shift: float = 0.0, scale: float = 1.0) -> Spectrum:
    """Energy axis E' = scale * E + shift (eV); the intensities are unchanged."""
    e, y = _arrays(spectrum)
    shift = finite_number(shift, "shift")
    scale = finite_number(scale, "scale")
    require(scale > 0, "scale", f"must be > 0 (the energy axis must keep increasing), got {scale:g}")
    step = Step("calibrate", {"shift": shift, "scale": scale})
    return _record(spectrum, step, energy=scale * e + shift, intensity=y.copy())


def zero_loss_shift(low_loss: Spectrum) -> float:
    """The shift (eV) that puts the zero-loss peak's maximum at 0 eV: ``calibrate(s, shift=...)``.

    The maximum is the highest channel refined by a parabola through it and its two neighbours,
    fitted to log I (exact for a Gaussian peak), so it is found to a small fraction of a channel.
    """
    e, y = _arrays(low_loss)
    require(bool(np.any(y > 0)), "low_loss", "has no positive counts")
    k = int(np.argmax(y))
    return -_peak_refine(e, y, k)


# --------------------------------------------------------------------------------------------
# Power-law background
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True, eq=False)
class BackgroundFit:
    """A fitted background A * E**-r: ``background`` on the full grid, ``residual`` = data minus
    fit at the window's points (``window_energy``)."""

    A: float
    r: float
    window: tuple[float, float]
    background: np.ndarray
    window_energy: np.ndarray
    residual: np.ndarray

    @property
    def doubt(self) -> str:
        """:func:`powerlaw_doubt` of this fit's exponent."""
        return powerlaw_doubt(self.r)


#: the exponents of core-loss backgrounds (Egerton, *Electron Energy-Loss Spectroscopy in the
#: Electron Microscope*: r usually lies between 2 and 6), with a margin: outside it the window is not on a smooth
#: pre-edge tail
PLAUSIBLE_R = (1.5, 7.0)


def powerlaw_doubt(r: float) -> str:
    """Why a fitted exponent ``r`` cannot be a pre-edge background, or "" when it can: a power
    law fitted to counts that rise (r <= 0), or fall unlike any core-loss tail, would subtract
    nonsense without a word."""
    if not math.isfinite(r):
        return "The exponent r is not a number: the window holds no usable counts."
    if r <= 0:
        return (f"r = {r:.3g}: the counts rise with energy in the window, so this is no pre-edge "
                f"background: the window holds an edge or the zero-loss tail; move it onto the smooth "
                f"fall just below the edge.")
    lo, hi = PLAUSIBLE_R
    if not lo <= r <= hi:
        return (f"r = {r:.3g} is outside the {lo:g}–{hi:g} of core-loss backgrounds (usually 2–6): "
                f"check that the window lies on the smooth fall just below the edge.")
    return ""


def refuse_rising(fit: BackgroundFit) -> None:
    """Raise :class:`ParameterError` for ``window`` when the fitted power law does not fall with
    energy (r <= 0, or no number): subtracting it would cut the edge away. The Subtract button
    refuses such a fit instead of applying it with a warning; :func:`powerlaw_background` itself
    still returns it (a preview shows it; a pixel of a map replays the step as it was asked)."""
    if math.isfinite(fit.r) and fit.r > 0:
        return
    rise = f"rise with energy (r = {fit.r:.3g}, a background growing as E^{-fit.r:+.3g})" \
        if math.isfinite(fit.r) else "give no exponent r"
    raise ParameterError("window", f"the counts in the pre-edge window {_span(fit.window)} {rise}. A "
                                   "background before an edge falls with energy, so this window holds an "
                                   "edge, a peak or the zero-loss tail: nothing was subtracted. Choose "
                                   "another pre-edge window: drag the shaded band onto the smooth fall of "
                                   "the counts just below the edge, clear of any other edge.")


#: steps after which the counts stand on zero: the background under the edge is gone
BACKGROUND_STEPS = ("powerlaw_background", "edge_step_normalise")


def background_removed(spectrum: Spectrum) -> bool:
    """Whether a step of ``spectrum`` removed its background (:data:`BACKGROUND_STEPS`; steps as
    :class:`Step` or as :meth:`Step.to_dict` wrote them): a curve matched to such counts needs no
    constant for a background, and one would float it above their zero."""
    names = (s.get("name") if isinstance(s, dict) else getattr(s, "name", None)
             for s in (spectrum.meta or {}).get("steps", []))
    return any(name in BACKGROUND_STEPS for name in names)


def exponent_text(A: float, r: float) -> str:
    """The fitted power law as a reader writes it: "3.48e+09·E^−3.03", "…·E^+10.8" when it rises."""
    sign = "−" if r >= 0 else "+"
    return f"{A:.3g}·E^{sign}{abs(r):.3f}"


#: Largest exponent whose exp is a finite float.
_LOG_MAX = math.log(np.finfo(np.float64).max)


def powerlaw_background(spectrum: Spectrum, window, zero_fill: bool = False) -> tuple[Spectrum, BackgroundFit]:
    """Subtract a power law A * E**-r fitted in the pre-edge ``window`` = (e1, e2) eV.

    The fit is a straight line through (log E, log I) of the window's points by least squares
    (unweighted), the usual EELS practice; so every count in the window must be positive (and every
    energy, which a core-loss window always is). Raises :class:`ParameterError` for ``window`` when
    it lies outside the data, holds fewer than 3 points, or has non-positive counts or energies.
    The background is evaluated on the whole grid (0 where E <= 0) and subtracted everywhere;
    with ``zero_fill`` the channels below the window are then set to 0, as DigitalMicrograph does
    (and exspy's ``zero_fill``): the power law extrapolated downwards there is no background, and
    the hundreds of thousands of counts it leaves would dwarf the edge on the plot.
    """
    e, y = _arrays(spectrum)
    (lo, hi), mask = _window(window, "window", e)
    ew, yw = e[mask], y[mask]
    require(bool(np.all(ew > 0)), "window", f"energies must be > 0 eV for a power law, window starts at {lo:g}")
    bad = int(np.sum(yw <= 0))
    require(bad == 0, "window", f"{bad} non-positive counts in ({lo:g}, {hi:g}) eV; a power law "
            "is fitted to log I; move the window or subtract the dark level first")
    slope, intercept = np.polyfit(np.log(ew), np.log(yw), 1)
    A, r = math.exp(min(intercept, _LOG_MAX)), float(-slope)
    bg = np.zeros_like(e)
    pos = e > 0
    # In logs: a window on a steep rise gives r ~ -100 and A = exp(-900) = 0, and A * E**-r
    # would be 0 * inf.
    bg[pos] = np.exp(np.minimum(intercept - r * np.log(e[pos]), _LOG_MAX))
    fit = BackgroundFit(A, r, (lo, hi), bg, ew.copy(), yw - bg[mask])
    subtracted = y - bg
    params = {"window": (lo, hi)}
    if zero_fill:  # recorded only when asked, so steps saved before it existed replay as they were
        subtracted[e < lo] = 0.0
        params["zero_fill"] = True
    step = Step("powerlaw_background", params, {"A": A, "r": r})
    return _record(spectrum, step, energy=e.copy(), intensity=subtracted), fit


# --------------------------------------------------------------------------------------------
# Fourier-ratio deconvolution
# --------------------------------------------------------------------------------------------

def _fwhm(e: np.ndarray, y: np.ndarray, k: int) -> float:
    """Full width at half maximum of the peak at index ``k`` (linear interpolation of crossings)."""
    half = 0.5 * y[k]
    i = k
    while i > 0 and y[i] > half:
        i -= 1
    j = k
    while j < len(y) - 1 and y[j] > half:
        j += 1
    left = e[i] if y[i] > half or i == k else e[i] + (half - y[i]) * (e[i + 1] - e[i]) / (y[i + 1] - y[i])
    right = e[j] if y[j] > half or j == k else e[j - 1] + (y[j - 1] - half) * (e[j] - e[j - 1]) / (y[j - 1] - y[j])
    return float(right - left)


def _taper(y: np.ndarray, n: int) -> np.ndarray:
    """``y`` continued by a half cosine from its last value to zero over ``n`` points."""
    t = np.arange(1, n + 1) / (n + 1)
    return np.concatenate([y, y[-1] * 0.5 * (1.0 + np.cos(np.pi * t))])


def fourier_ratio(core_loss: Spectrum, low_loss: Spectrum, zlp_fwhm: float | None = None,
                  taper_ev: float | None = None) -> Spectrum:
    """Fourier-ratio deconvolution of plural scattering (Egerton, EELS in the Electron Microscope).

    With j_k the core loss and j_l the low loss (zero-loss peak at 0 eV; calibrate it first with
    :func:`zero_loss_shift`) on the core loss's dispersion d, the single-scattering distribution is

        k = IFFT( FFT(j_k) * FFT(z) / FFT(j_l) )

    where z is a Gaussian of FWHM ``zlp_fwhm`` (default: the measured zero-loss FWHM) and area I0,
    the zero-loss intensity (the low loss summed from its start to the first minimum after the
    zero-loss maximum). So the result is the single scattering broadened by a zero-loss-like
    resolution function, on the core loss's scale and energy axis.

    Choices: the low loss is interpolated linearly onto channels n*d (0 eV on a channel) and placed
    circularly (negative energies at the end of the array) so the division introduces no shift. Both
    are zero-padded to a length of at least len(core) + len(low) + taper, which removes wrap-around;
    before padding, the core loss is continued by a half-cosine fall from its last value to zero
    over ``taper_ev`` (default: a tenth of its range) and the low loss by one over a tenth of its
    range, so the padded ends make no step (which would ring through the whole result).
    """
    ek, yk = _arrays(core_loss)
    el, yl = _arrays(low_loss)
    require(isinstance(low_loss, Spectrum), "low_loss", "expected a Spectrum")
    d = _uniform_step(ek, "core_loss")
    require(el[0] < 0 < el[-1], "low_loss", f"must span 0 eV (zero-loss peak), spans {el[0]:g} to {el[-1]:g} eV; "
            "calibrate it with zero_loss_shift first")
    n_lo, n_hi = int(math.ceil(el[0] / d - 1e-9)), int(math.floor(el[-1] / d + 1e-9))
    require(n_hi - n_lo + 1 >= 5, "low_loss", f"spans too few core-loss channels ({d:g} eV) to use")
    grid_l = np.arange(n_lo, n_hi + 1) * d
    jl = np.interp(grid_l, el, yl)
    k0 = -n_lo  # index of 0 eV in jl
    kmax = int(np.argmax(jl))
    require(jl[kmax] > 0, "low_loss", "has no positive counts")
    require(abs(grid_l[kmax]) <= max(2 * d, 0.5), "low_loss",
            f"its maximum is at {grid_l[kmax]:g} eV, not at 0; calibrate it with zero_loss_shift first")
    measured = _fwhm(grid_l, jl, kmax)
    if zlp_fwhm is None:
        fwhm = measured
    else:
        fwhm = finite_number(zlp_fwhm, "zlp_fwhm")
    require(fwhm > 0, "zlp_fwhm", f"must be > 0 eV, got {fwhm:g}")
    # Zero-loss intensity: up to the first minimum after the maximum (of a lightly smoothed copy).
    sm = np.convolve(jl, np.ones(3) / 3.0, mode="same")
    m = kmax
    while m < len(sm) - 1 and sm[m + 1] <= sm[m]:
        m += 1
    i0 = float(jl[:m + 1].sum())
    require(i0 > 0, "low_loss", "its zero-loss intensity is not positive")
    if taper_ev is None:
        n_tk = max(8, int(round(0.1 * len(yk))))
    else:
        t = finite_number(taper_ev, "taper_ev")
        require(t >= 0, "taper_ev", f"must be >= 0 eV, got {t:g}")
        n_tk = int(round(t / d))
    jk = _taper(yk, n_tk)
    low_pos = _taper(jl[k0:], max(4, int(round(0.1 * (len(jl) - k0)))))
    low_neg = jl[:k0]
    from scipy.fft import irfft, next_fast_len, rfft

    n = next_fast_len(len(jk) + len(low_pos) + len(low_neg) + 2)
    lo_arr = np.zeros(n)
    lo_arr[:len(low_pos)] = low_pos
    if len(low_neg):
        lo_arr[n - len(low_neg):] = low_neg
    idx = np.arange(n)
    x = np.where(idx <= n // 2, idx, idx - n) * d
    z = np.exp(-0.5 * (x / (fwhm / FWHM_PER_SIGMA)) ** 2)
    z *= i0 / z.sum()
    fl = rfft(lo_arr)
    tiny = np.finfo(float).tiny
    fl = np.where(np.abs(fl) > tiny, fl, tiny)
    out = irfft(rfft(jk, n) * rfft(z) / fl, n)[:len(yk)]
    step = Step("fourier_ratio", {"low_loss": low_loss, "zlp_fwhm": zlp_fwhm, "taper_ev": taper_ev},
                {"zlp_fwhm": fwhm, "measured_zlp_fwhm": measured, "zero_loss_intensity": i0})
    return _record(core_loss, step, energy=ek.copy(), intensity=out)


# --------------------------------------------------------------------------------------------
# Edge-step normalisation
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class EdgeStep:
    """Result of :func:`edge_step_normalise`: edge energy, step height and the two lines
    (slope, intercept) of I against E."""

    e0: float
    step: float
    pre_line: tuple[float, float]
    post_line: tuple[float, float]


#: the energy width the derivative that finds an edge is smoothed over: an edge rises over eV, a
#: single-channel spike (a cosmic ray, 0.1 eV wide at fine dispersion) must not win
EDGE_SMOOTH_EV = 2.0


def edge_step_normalise(spectrum: Spectrum, pre, post, e0: float | None = None,
                        smooth_points: int | None = None) -> tuple[Spectrum, EdgeStep]:
    """Normalise to the edge step: (I - pre(E)) / (post(E0) - pre(E0)).

    ``pre`` and ``post`` are (low, high) windows (eV) in which straight lines are fitted (least
    squares). Unless ``e0`` is given, the edge energy E0 is where the derivative of the spectrum
    (Savitzky–Golay, quadratic, ``smooth_points`` wide on a uniform grid; a centred difference of a
    moving average otherwise) is largest between the end of ``pre`` and the start of ``post``,
    refined by a parabola through the neighbouring channels; ``smooth_points`` defaults to the
    channels in :data:`EDGE_SMOOTH_EV`, at least 5. The pre-edge then sits at 0 and the post-edge
    at 1 at E0.
    """
    e, y = _arrays(spectrum)
    (a, b), mpre = _window(pre, "pre", e, 2)
    (c, dd), mpost = _window(post, "post", e, 2)
    require(b <= c, "post", f"must start at or after the end of pre ({b:g} eV), starts at {c:g}")
    pre_line = tuple(float(v) for v in np.polyfit(e[mpre], y[mpre], 1))
    post_line = tuple(float(v) for v in np.polyfit(e[mpost], y[mpost], 1))
    if e0 is None:
        sp = int(smooth_points) if smooth_points is not None else \
            max(5, int(round(EDGE_SMOOTH_EV / float(np.median(np.diff(e))))))
        require(sp >= 3, "smooth_points", f"must be >= 3, got {smooth_points!r}")
        sp += 1 - sp % 2
        between = (e >= b) & (e <= c)
        require(int(between.sum()) >= 3, "e0", "fewer than 3 points between pre and post to find the edge; give e0")
        try:
            h = _uniform_step(e)
            from scipy.signal import savgol_filter

            der = savgol_filter(y, min(sp, len(y) - (1 - len(y) % 2)), 2, deriv=1, delta=h, mode="interp")
        except ParameterError:
            ys = np.convolve(y, np.ones(sp) / sp, mode="same")
            der = np.gradient(ys, e)
        idx = np.flatnonzero(between)
        k = int(idx[np.argmax(der[idx])])
        e0v = _peak_refine(e, der, k) if 0 < k < len(e) - 1 else float(e[k])
    else:
        e0v = finite_number(e0, "e0")
        require(e[0] <= e0v <= e[-1], "e0", f"{e0v:g} eV lies outside the data ({e[0]:g} to {e[-1]:g} eV)")
    pre_at = pre_line[0] * e0v + pre_line[1]
    step_h = post_line[0] * e0v + post_line[1] - pre_at
    require(abs(step_h) > 0 and math.isfinite(step_h), "post", "the edge step post(E0) - pre(E0) is zero")
    yn = (y - (pre_line[0] * e + pre_line[1])) / step_h
    res = EdgeStep(float(e0v), float(step_h), pre_line, post_line)
    step = Step("edge_step_normalise", {"pre": (a, b), "post": (c, dd), "e0": e0, "smooth_points": smooth_points},
                {"e0": res.e0, "step": res.step})
    return _record(spectrum, step, energy=e.copy(), intensity=yn), res


# --------------------------------------------------------------------------------------------
# Smoothing and broadening
# --------------------------------------------------------------------------------------------

SMOOTH_METHODS = ("savgol", "gaussian")


def smooth(spectrum: Spectrum, method: str = "savgol", window_ev: float = 1.0, order: int = 2) -> Spectrum:
    """Smooth on a uniform grid. ``"savgol"``: Savitzky–Golay of polynomial ``order`` over a window
    of ``window_ev`` (rounded to an odd number of channels, at least order + 2); ``"gaussian"``: a
    Gaussian of FWHM ``window_ev`` (ends: nearest value repeated)."""
    e, y = _arrays(spectrum)
    require(method in SMOOTH_METHODS, "method", f"must be one of {', '.join(SMOOTH_METHODS)}, got {method!r}")
    w = finite_number(window_ev, "window_ev")
    require(w > 0, "window_ev", f"must be > 0 eV, got {w:g}")
    h = _uniform_step(e)
    if method == "savgol":
        from scipy.signal import savgol_filter

        require(isinstance(order, (int, np.integer)) and 0 <= order <= 10, "order",
                f"must be an integer from 0 to 10, got {order!r}")
        n = int(round(w / h))
        n += 1 - n % 2
        require(n >= order + 2, "window_ev", f"{w:g} eV is {n} channels; order {order} needs at least "
                f"{order + 2 + (order + 2 + 1) % 2}")
        require(n <= len(y), "window_ev", f"{w:g} eV is longer than the spectrum ({len(y)} channels)")
        out = savgol_filter(y, n, int(order), mode="interp")
    else:
        from scipy.ndimage import gaussian_filter1d

        out = gaussian_filter1d(y, w / FWHM_PER_SIGMA / h, mode="nearest")
    params = {"method": method, "window_ev": w}
    if method == "savgol":
        params["order"] = int(order)
    return _record(spectrum, Step("smooth", params), energy=e.copy(), intensity=out)


def instrument_broadening(spectrum: Spectrum, gaussian_fwhm: float = 0.0, lorentzian_fwhm: float = 0.0) -> Spectrum:
    """Gaussian (instrument) and Lorentzian (lifetime) broadening of a predicted spectrum on its own
    grid, by :func:`amorpha.engine.surrogate.broadening.broaden_spectrum` (``broadening`` records
    the totals)."""
    _arrays(spectrum)
    out = broaden_spectrum(spectrum, gaussian_fwhm, lorentzian_fwhm)
    step = Step("instrument_broadening", {"gaussian_fwhm": float(gaussian_fwhm),
                                          "lorentzian_fwhm": float(lorentzian_fwhm)})
    return _record(out, step)


#: Step name -> function, for :func:`replay`.
STEPS: dict[str, Callable] = {
    "calibrate": calibrate,
    "powerlaw_background": powerlaw_background,
    "fourier_ratio": fourier_ratio,
    "edge_step_normalise": edge_step_normalise,
    "smooth": smooth,
    "instrument_broadening": instrument_broadening,
}

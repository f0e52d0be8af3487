"""Compare a measured spectrum with a predicted one: similarity, difference and energy alignment.

All comparisons happen on the energy range both spectra cover (intersected with an optional
``window``), on one common grid, so that a spectrum on a coarse detector grid and one on a fine
calculation grid can be compared without either being extrapolated.

* :func:`similarity` — Pearson r, cosine and an R-factor. The R-factor is
  ``Σ|a − b| / Σ|a|`` after **each spectrum is normalised to unit area** (``Σ|y| = 1`` on the
  common uniform grid, i.e. the integral of |y| over the window), so it does not depend on the
  arbitrary intensity scales of measurement and calculation. 0 means identical shapes, 2 means no
  overlap at all.
* :func:`difference` — ``a − b`` on the common grid (optionally with ``b`` scaled onto ``a``).
* :func:`align` — the energy shift (and linear energy scale about the window centre) that brings a
  predicted spectrum onto a measured one, with the intensity fitted by least squares;
  :func:`on_aligned_axis` puts any other spectrum on the prediction's axis (shift and scale) where
  the alignment put the prediction, so Explain's components sit where the aligned curve sits.
"""
from __future__ import annotations

from dataclasses import replace

import numpy as np
from scipy.optimize import minimize, minimize_scalar

from amorpha.engine.errors import ParameterError, require
from amorpha.engine.spectra.spectrum import Spectrum, SpectrumError, check_grid
from amorpha.engine.surrogate.metrics import cosine_similarity

_MAX_POINTS = 100_000


def _checked(spectrum, name: str) -> Spectrum:
    require(isinstance(spectrum, Spectrum), name, f"expected a Spectrum, got {type(spectrum).__name__}")
    try:
        check_grid(spectrum.energy, spectrum.intensity, name)
    except SpectrumError as exc:
        raise ParameterError(name, str(exc)) from None
    return spectrum


def _check_window(window) -> tuple[float, float] | None:
    if window is None:
        return None
    try:
        lo, hi = (float(v) for v in window)
    except (TypeError, ValueError):
        raise ParameterError("window", f"expected (low, high) in eV, got {window!r}") from None
    require(np.isfinite(lo) and np.isfinite(hi), "window", "the limits must be finite numbers")
    require(lo < hi, "window", f"the low limit ({lo:g} eV) must be below the high limit ({hi:g} eV)")
    return lo, hi


def overlap(spectra: list[Spectrum], window=None, names: list[str] | None = None) -> tuple[float, float]:
    """The energy range every spectrum covers, intersected with ``window``; ParameterError if empty."""
    window = _check_window(window)
    lo = max(float(s.energy[0]) for s in spectra)
    hi = min(float(s.energy[-1]) for s in spectra)
    if lo >= hi:
        what = (names or ["spectra"])[-1]
        raise ParameterError(what, f"the energy ranges do not overlap (common range would be "
                                   f"{lo:g}–{hi:g} eV)")
    if window is not None:
        wlo, whi = max(lo, window[0]), min(hi, window[1])
        require(wlo < whi, "window", f"{window[0]:g}–{window[1]:g} eV lies outside the common range "
                                     f"{lo:g}–{hi:g} eV of the spectra")
        lo, hi = wlo, whi
    return lo, hi


def _median_step(spectrum: Spectrum, lo: float, hi: float) -> float:
    e = spectrum.energy
    inside = e[(e >= lo) & (e <= hi)]
    steps = np.diff(inside) if len(inside) >= 2 else np.diff(e)
    return float(np.median(steps))


def comparison_grid(a: Spectrum, b: Spectrum, window=None) -> np.ndarray:
    """A uniform grid over the common range, as fine as the finer of the two spectra there."""
    lo, hi = overlap([a, b], window, ["a", "b"])
    step = min(_median_step(a, lo, hi), _median_step(b, lo, hi))
    n = int(np.clip(np.floor((hi - lo) / step + 1e-9) + 1, 3, _MAX_POINTS))
    return np.linspace(lo, hi, n)


def _metrics(ya: np.ndarray, yb: np.ndarray) -> dict:
    cos = float(cosine_similarity(ya, yb)[0])
    sa, sb = ya.std(), yb.std()
    pearson = float(np.mean((ya - ya.mean()) * (yb - yb.mean())) / (sa * sb)) if sa > 0 and sb > 0 else 0.0
    area_a, area_b = np.sum(np.abs(ya)), np.sum(np.abs(yb))
    if area_a > 0 and area_b > 0:
        na, nb = ya / area_a, yb / area_b
        r_factor = float(np.sum(np.abs(na - nb)) / np.sum(np.abs(na)))
    else:
        r_factor = float("nan")
    return {"pearson": pearson, "cosine": cos, "r_factor": r_factor}


def similarity(a: Spectrum, b: Spectrum, window=None) -> dict:
    """Pearson r, cosine and R-factor (unit-area normalisation) of ``a`` and ``b`` on their common range.

    Returns ``{"pearson", "cosine", "r_factor", "window": (lo, hi), "n_points"}``.
    """
    a, b = _checked(a, "a"), _checked(b, "b")
    grid = comparison_grid(a, b, window)
    ya, yb = a.on_grid(grid).intensity, b.on_grid(grid).intensity
    out = _metrics(ya, yb)
    out.update(window=(float(grid[0]), float(grid[-1])), n_points=int(len(grid)))
    return out


def difference(a: Spectrum, b: Spectrum, window=None, scale: bool = False) -> Spectrum:
    """``a − b`` on the common grid. With ``scale``, ``b`` is first least-squares scaled onto ``a``."""
    a, b = _checked(a, "a"), _checked(b, "b")
    grid = comparison_grid(a, b, window)
    ya, yb = a.on_grid(grid).intensity, b.on_grid(grid).intensity
    factor = 1.0
    if scale:
        denom = float(np.dot(yb, yb))
        factor = float(np.dot(ya, yb) / denom) if denom > 0 else 1.0
    return Spectrum(grid, ya - factor * yb, label=f"{a.label or 'a'} − {b.label or 'b'}",
                    source="difference", element=a.element, edge=a.edge,
                    meta={"scale": factor, "a": a.label, "b": b.label})


def _intensity_fit(y: np.ndarray, p: np.ndarray, offset: bool) -> tuple[float, float]:
    """Least-squares amplitude (and constant) with y ≈ amplitude·p + constant."""
    if offset:
        design = np.column_stack([p, np.ones_like(p)])
        (amp, const), *_ = np.linalg.lstsq(design, y, rcond=None)
        return float(amp), float(const)
    denom = float(np.dot(p, p))
    return (float(np.dot(y, p) / denom) if denom > 0 else 0.0), 0.0


#: the keys of an alignment's ``meta`` that say how it mapped the predicted energies
MAPPING_KEYS = ("shift_ev", "energy_scale", "scale_centre_ev")


def mapped_energy(energy, alignment: dict) -> np.ndarray:
    """``E → c + s·(E − c) + shift``, the energy mapping of an alignment (``aligned.meta`` of
    :func:`align`): the one rule for the aligned prediction and whatever must sit where it sits."""
    c = float(alignment.get("scale_centre_ev", 0.0))
    return c + float(alignment.get("energy_scale", 1.0)) * (np.asarray(energy, np.float64) - c) \
        + float(alignment.get("shift_ev", 0.0))


def on_aligned_axis(spectrum: Spectrum, alignment: dict) -> Spectrum:
    """``spectrum`` (on the axis the aligned prediction had before :func:`align`) moved by the same
    shift and energy scale; its intensity unchanged. Explain's components used the shift only and
    sat 1-3 eV from the aligned curve once a scale was fitted."""
    return replace(spectrum, energy=mapped_energy(spectrum.energy, alignment),
                   meta={**spectrum.meta, **{k: alignment[k] for k in MAPPING_KEYS if k in alignment}})


def main_peak(spectrum: Spectrum, window=None) -> float:
    """Energy of the highest point of ``spectrum`` inside ``window`` (anywhere when none is inside)."""
    e, y = spectrum.energy, spectrum.intensity
    inside = np.ones(len(e), bool) if window is None else (e >= window[0]) & (e <= window[1])
    if not inside.any():
        inside[:] = True
    return float(e[inside][int(np.argmax(y[inside]))])


#: share of the shift search's span within which a shift counts as at its end (the DM4 noise
#: file's "best" +14.11 eV of ±15 was the search running out, not a match)
NEAR_LIMIT = 0.05

#: eV; how far :func:`align` looks for the shift by default: chemical shifts and calculator offsets
#: of an edge-relative prediction placed at a tabulated onset. The built-in models are tied to
#: silica's measured peaks (``SpectrumModel.calibrate_onset``): the O K one then needs -2.4 to
#: +4.1 eV on the measured O K of five other oxides (shared data). A model trained on the xTB
#: calculator alone counts from the free atom's ΔSCF edge: O K sits 10-13 eV high.
SHIFT_RANGE = (-15.0, 15.0)


def align(measured: Spectrum, predicted: Spectrum, window, shift_range=SHIFT_RANGE,
          scale: bool = True, scale_range=(0.9, 1.1), offset: bool = True):
    """Shift (and stretch) the energy axis of ``predicted`` to match ``measured`` over ``window``.

    The predicted energies are mapped ``E → c + s·(E − c) + shift`` with ``c`` the window centre
    and ``s`` the energy scale (fixed at 1 unless ``scale``). The objective is the Pearson r over
    the measured points in the window (cosine if ``offset`` is False) — equivalent to the
    least-squares fit of the intensity as ``amplitude·predicted (+ constant)``. Search: a coarse
    grid over ``shift_range`` (× ``scale_range``), then bounded refinement around the best point
    (``minimize_scalar`` for the shift alone, Nelder–Mead with bounds for shift and scale).

    Returns ``(shift, scale, aligned, similarity)``: ``aligned`` is ``predicted`` on its mapped
    energy axis (:func:`mapped_energy`) with intensity ``amplitude·I + constant`` (both stored in
    ``meta``, with ``shift_at_limit``: the best shift lies at or within :data:`NEAR_LIMIT` of an end
    of ``shift_range``, so the spectra do not line up within it; ``scale_at_limit`` likewise for
    the energy scale; ``peak_ev`` / ``peak_shift_ev``: the prediction's main peak in the window and
    how far the mapping moves it, the displacement a reader sees, which ``shift`` about the centre
    is not once the scale differs from 1).

    ``similarity`` is :func:`similarity` of ``measured`` and ``amplitude·I`` over ``window``: the
    constant is reported, not counted (a fitted constant alone made a flat line score cosine
    0.98 on noise). ``meta["flat_line"]`` holds a flat line's similarity with ``measured`` and
    ``meta["no_better_than_flat"]`` says whether the aligned prediction failed to beat it.
    """
    measured, predicted = _checked(measured, "measured"), _checked(predicted, "predicted")
    require(window is not None, "window", "align needs an energy window (low, high) in eV")
    lo, hi = overlap([measured], window, ["measured"])
    try:
        s_lo, s_hi = (float(v) for v in shift_range)
    except (TypeError, ValueError):
        raise ParameterError("shift_range", f"expected (low, high) in eV, got {shift_range!r}") from None
    require(np.isfinite(s_lo) and np.isfinite(s_hi) and s_lo < s_hi, "shift_range",
            f"needs finite low < high, got {shift_range!r}")
    if scale:
        try:
            k_lo, k_hi = (float(v) for v in scale_range)
        except (TypeError, ValueError):
            raise ParameterError("scale_range", f"expected (low, high), got {scale_range!r}") from None
        require(np.isfinite(k_lo) and np.isfinite(k_hi) and 0 < k_lo < k_hi, "scale_range",
                f"needs 0 < low < high, got {scale_range!r}")
    e_m = measured.energy
    inside = (e_m >= lo) & (e_m <= hi)
    require(int(inside.sum()) >= 3, "window", f"only {int(inside.sum())} measured points in "
                                              f"{lo:g}–{hi:g} eV; at least 3 are needed")
    x, y = e_m[inside], measured.intensity[inside]
    centre = 0.5 * (lo + hi)
    e_p, i_p = predicted.energy, predicted.intensity

    def curve(shift: float, k: float) -> np.ndarray:
        # predicted intensity at measured energy x: invert E' = c + k(E − c) + shift
        return np.interp((x - centre - shift) / k + centre, e_p, i_p, left=0.0, right=0.0)

    def cost(shift: float, k: float) -> float:
        p = curve(shift, k)
        if offset:
            sp = p.std()
            if sp <= 0:
                return 2.0
            return 1.0 - float(np.mean((p - p.mean()) * (y - y.mean())) / (sp * y.std() + 1e-300))
        return 1.0 - float(cosine_similarity(y, p)[0])

    step = max(float(np.median(np.diff(x))) / 2.0, (s_hi - s_lo) / 800.0)
    shifts = np.arange(s_lo, s_hi + 0.5 * step, step)
    scales = np.linspace(k_lo, k_hi, max(3, int(round((k_hi - k_lo) / 0.005)) + 1)) if scale else np.array([1.0])
    costs = np.array([[cost(s, k) for k in scales] for s in shifts])
    i, j = np.unravel_index(int(np.argmin(costs)), costs.shape)
    s0, k0 = float(shifts[i]), float(scales[j])
    if scale:
        k_step = float(scales[1] - scales[0])
        res = minimize(lambda v: cost(v[0], v[1]), x0=[s0, k0], method="Nelder-Mead",
                       bounds=[(s_lo, s_hi), (k_lo, k_hi)],
                       options={"xatol": 1e-6, "fatol": 1e-12, "maxiter": 2000,
                                "initial_simplex": [[s0, k0], [s0 + step, k0], [s0, k0 + k_step]]})
        best_s, best_k = float(res.x[0]), float(res.x[1])
        if res.fun > costs[i, j]:
            best_s, best_k = s0, k0
    else:
        res = minimize_scalar(lambda v: cost(v, 1.0), method="bounded",
                              bounds=(max(s_lo, s0 - step), min(s_hi, s0 + step)),
                              options={"xatol": 1e-7})
        best_s, best_k = (float(res.x), 1.0) if res.fun <= costs[i, j] else (s0, 1.0)
    amp, const = _intensity_fit(y, curve(best_s, best_k), offset)
    mapping = {"shift_ev": best_s, "energy_scale": best_k, "scale_centre_ev": centre}
    peak = main_peak(predicted, (lo, hi))
    near = max(step, NEAR_LIMIT * (s_hi - s_lo), 1e-3)
    shape = replace(predicted, energy=mapped_energy(e_p, mapping), intensity=amp * i_p)
    sim = similarity(measured, shape, (lo, hi))
    flat = similarity(measured, replace(shape, intensity=np.ones_like(i_p)), (lo, hi))
    aligned = replace(shape, intensity=amp * i_p + const,
                      label=f"{predicted.label} (aligned)" if predicted.label else "aligned",
                      meta={**predicted.meta, **mapping, "amplitude": amp, "constant": const,
                            "peak_ev": peak, "peak_shift_ev": float(mapped_energy(peak, mapping)) - peak,
                            "shift_range_ev": (s_lo, s_hi),
                            "shift_at_limit": min(best_s - s_lo, s_hi - best_s) < near,
                            "scale_range": (k_lo, k_hi) if scale else (1.0, 1.0),
                            "scale_at_limit": bool(scale) and min(best_k - k_lo, k_hi - best_k) < 1e-4,
                            "flat_line": flat, "no_better_than_flat": no_better_than_flat(sim, flat)})
    return best_s, best_k, aligned, sim


def no_better_than_flat(sim: dict, flat: dict) -> bool:
    """Whether a match (:func:`similarity`) is no better than a flat line's: its cosine no higher,
    or its R-factor no lower."""
    return bool(sim["cosine"] <= flat["cosine"] or not sim["r_factor"] < flat["r_factor"])

"""Per-atom values -> RGBA colours (shared by the viewer and the panels).

A colour map is sampled once into a 256-entry lookup table (cached per name), and values are
mapped by indexing that table, so colouring 10^6 atoms costs a few milliseconds of numpy.
NaN (and +-inf) values are shown grey. Qt-free apart from vispy's colour-map table.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np

#: Colour (RGBA, 0..1) of atoms whose value is NaN or infinite.
NAN_COLOR = (0.55, 0.55, 0.55, 1.0)

#: Number of entries in a lookup table.
LUT_SIZE = 256


def available_colormaps() -> list[str]:
    from vispy.color import get_colormaps

    return sorted(get_colormaps())


@lru_cache(maxsize=32)
def _lut(cmap: str) -> np.ndarray:
    from vispy.color import get_colormap

    cm = get_colormap(cmap)
    table = np.asarray(cm.map(np.linspace(0.0, 1.0, LUT_SIZE)[:, None]), dtype=np.float32)
    table = table.reshape(LUT_SIZE, 4).copy()
    table.setflags(write=False)
    return table


def colormap_lut(cmap: str = "viridis") -> np.ndarray:
    """(256, 4) float32 RGBA table of ``cmap`` (read-only)."""
    return _lut(str(cmap))


def value_range(values, vmin=None, vmax=None) -> tuple[float, float]:
    """The (vmin, vmax) a map uses: given limits, else the finite min/max (0, 1 if none)."""
    v = np.asarray(values, dtype=np.float64)
    finite = v[np.isfinite(v)] if (vmin is None or vmax is None) else v[:0]
    lo = float(vmin) if vmin is not None else (float(finite.min()) if finite.size else 0.0)
    hi = float(vmax) if vmax is not None else (float(finite.max()) if finite.size else 1.0)
    return lo, hi


#: Values closer than this, relative to the larger, are one value: rounding and numerical
#: noise, such as NEB barriers equal by symmetry (Li in fcc Ag: 1.3767254 eV ± 7·10⁻⁹, a NEB
#: tolerance of 10⁻³ eV/Å), and below the float32 precision (~6·10⁻⁸) the GPU colours with.
FLAT_RELATIVE = 1e-6


def is_flat(lo: float, hi: float) -> bool:
    """Whether a range is one value up to noise (:data:`FLAT_RELATIVE`): spread over a colour
    map, that noise would paint equal values at both of its ends."""
    return not hi - lo > FLAT_RELATIVE * max(abs(lo), abs(hi))


def map_values(values, cmap: str = "viridis", vmin=None, vmax=None,
               nan_color=NAN_COLOR) -> np.ndarray:
    """(n,) numbers -> (n, 4) float32 RGBA in [0, 1].

    Values are clipped to [vmin, vmax] (default: the finite range). A constant array, or one
    constant up to rounding (:func:`is_flat`), maps to the middle of the map. NaN/inf map to
    ``nan_color``.
    """
    v = np.asarray(values)
    if v.ndim != 1:
        v = v.reshape(-1)
    if v.dtype.kind == "b":
        v = v.astype(np.float32)
    lo, hi = value_range(v, vmin, vmax)
    lut = colormap_lut(cmap)
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        if not is_flat(lo, hi):
            t = (v.astype(np.float64, copy=False) - lo) * ((LUT_SIZE - 1) / (hi - lo))
        else:
            t = np.full(v.shape, 0.5 * (LUT_SIZE - 1))
            if v.dtype.kind == "f":
                t[~np.isfinite(v)] = np.nan
        bad = ~np.isfinite(t)
        t = np.clip(np.nan_to_num(t, nan=0.0, posinf=0.0, neginf=0.0), 0, LUT_SIZE - 1)
    idx = np.rint(t).astype(np.intp)
    rgba = lut[idx]
    if bad.any():
        rgba[bad] = np.asarray(nan_color, dtype=np.float32)
    return rgba

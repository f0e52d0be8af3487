"""Where an edge starts on a measured energy-loss (or photon-energy) axis, so a prediction made
on an edge-relative scale can be put beside a measured spectrum.

Predicted spectra are relative to the edge: the xTB calculator and the surrogates trained on it
give E − E_LUMO or E − E_edge(free atom) (:mod:`amorpha.engine.surrogate.xtb`), about −5…25 eV,
while a measured Si K edge starts near 1839 eV and O K near 532 eV. :func:`place_at_onset` adds
the tabulated (or the user's) onset, less where a model calibrated against a measured peak says
the onset lies on its axis; alignment (:func:`~.compare.align`) then refines the shift.

Onsets (eV): the Gatan EELS Atlas (eels.info/atlas; as tabulated in HyperSpy/exspy's
``eels_binding_energies.json``, "onset_energy"), which microscopists read edges against. Edges
the Atlas does not list (K edges above ~2 keV, Ag L) are electron binding energies of the X-ray
Data Booklet, Table 1-1 (Thompson et al., LBNL 2009; G. P. Williams' compilation), marked ``XDB``.
No installed library (ASE, RosettaSciIO, pymatgen, periodictable) tabulates absorption edges.
"""
from __future__ import annotations

from dataclasses import replace

import numpy as np

from ..errors import ParameterError
from .spectrum import Spectrum

#: Gatan EELS Atlas onsets (eV) per element and core level; L2,3 and M4,5 edges are listed under
#: both levels when the Atlas gives one onset for the pair.
EELS_ATLAS: dict[str, dict[str, float]] = {
    "Li": {"K": 55.0}, "Be": {"K": 111.0}, "B": {"K": 188.0}, "C": {"K": 284.0},
    "N": {"K": 401.0}, "O": {"K": 532.0}, "F": {"K": 685.0},
    "Na": {"K": 1072.0, "L1": 63.0, "L2": 31.0, "L3": 31.0},
    "Mg": {"K": 1305.0, "L1": 89.0, "L2": 51.0, "L3": 51.0},
    "Al": {"K": 1560.0, "L1": 118.0, "L2": 73.0, "L3": 73.0},
    "Si": {"K": 1839.0, "L1": 149.7, "L2": 99.8, "L3": 99.2},
    "P": {"K": 2146.0, "L1": 189.0, "L2": 132.0, "L3": 132.0},
    "S": {"L1": 229.0, "L2": 165.0, "L3": 165.0},
    "Cl": {"L1": 270.0, "L2": 200.0, "L3": 200.0},
    "K": {"L1": 377.0, "L2": 296.0, "L3": 294.0},
    "Ca": {"L1": 438.0, "L2": 350.0, "L3": 346.0},
    "Sc": {"L1": 500.0, "L2": 407.0, "L3": 402.0},
    "Ti": {"L1": 564.0, "L2": 462.0, "L3": 456.0},
    "V": {"L1": 628.0, "L2": 521.0, "L3": 513.0},
    "Cr": {"L1": 695.0, "L2": 584.0, "L3": 575.0},
    "Mn": {"L1": 769.0, "L2": 651.0, "L3": 640.0},
    "Fe": {"K": 7113.0, "L1": 846.0, "L2": 721.0, "L3": 708.0},
    "Co": {"L1": 926.0, "L2": 794.0, "L3": 779.0},
    "Ni": {"L1": 1008.0, "L2": 872.0, "L3": 855.0},
    "Cu": {"L1": 1096.0, "L2": 951.0, "L3": 931.0},
    "Zn": {"L1": 1194.0, "L2": 1043.0, "L3": 1020.0},
    "Ga": {"L1": 1298.0, "L2": 1142.0, "L3": 1115.0},
    "Ge": {"L1": 1414.0, "L2": 1248.0, "L3": 1217.0},
    "As": {"L1": 1526.0, "L2": 1359.0, "L3": 1323.0},
    "Sr": {"L1": 2216.0, "L2": 2007.0, "L3": 1940.0, "M4": 134.0, "M5": 134.0},
    "Y": {"L1": 2372.0, "L2": 2155.0, "L3": 2080.0, "M4": 160.0, "M5": 160.0},
    "Zr": {"L1": 2532.0, "L2": 2307.0, "L3": 2222.0, "M4": 181.0, "M5": 181.0},
    "Nb": {"L1": 2698.0, "L2": 2465.0, "L3": 2371.0, "M4": 205.0, "M5": 202.3},
    "Mo": {"L1": 2866.0, "L2": 2625.0, "L3": 2520.0, "M4": 228.0, "M5": 227.0},
    "Ag": {"M4": 373.0, "M5": 367.0},
    "Sn": {"M4": 494.0, "M5": 485.0},
    "Ba": {"M4": 796.0, "M5": 781.0},
    "La": {"M4": 849.0, "M5": 832.0},
    "Ce": {"M4": 901.0, "M5": 883.0},
    "Hf": {"M4": 1716.0, "M5": 1662.0},
    "Ta": {"M4": 1793.0, "M5": 1735.0},
    "W": {"M4": 1872.0, "M5": 1809.0},
    "Pt": {"M4": 2202.0, "M5": 2122.0},
    "Au": {"M4": 2291.0, "M5": 2206.0},
}
#: X-ray Data Booklet Table 1-1 binding energies (eV) for edges the Atlas lacks.
XRAY_DATA_BOOKLET: dict[str, dict[str, float]] = {
    "S": {"K": 2472.0}, "Cl": {"K": 2822.4}, "K": {"K": 3608.4}, "Ca": {"K": 4038.5},
    "Ti": {"K": 4966.0}, "Cu": {"K": 8979.0}, "Zn": {"K": 9659.0}, "Ge": {"K": 11103.0},
    "Ag": {"K": 25514.0, "L1": 3806.0, "L2": 3524.0, "L3": 3351.0},
}
#: A combined edge's levels, lowest first: it starts where the first does, and its near-edge
#: structure runs past the last (Ta M5 at 1735 eV, M4 at 1793 eV).
COMBINED = {"L2,3": ("L3", "L2"), "M4,5": ("M5", "M4")}
#: The combined edge each level belongs to (spectra rarely resolve L2 from L3 or M4 from M5).
PAIRED = {level: edge for edge, levels in COMBINED.items() for level in levels}
#: Levels the Atlas calls minor (weak, seldom seen above the background): not looked for in counts.
MINOR = {"L1"}
#: How far past the onset (eV) an edge's jump is measured: the near-edge structure, where the
#: counts rise most over the extrapolated background.
JUMP_WIDTH = 20.0
#: How far past a lower edge's onset (eV) a background window may start: past its near-edge
#: structure (the L3 and L2 white lines of a 3d metal lie within ~15 eV of the onset).
LOWER_EDGE_CLEARANCE = 30.0
#: How far below the next edge's tabulated onset (eV) an edge's windows end: where its own
#: background window would end (its pre-peaks start a few eV below the tabulated onset).
UPPER_EDGE_CLEARANCE = 5.0


def edge_onset(element: str, edge: str) -> tuple[float, str]:
    """(onset in eV, its source) of ``element``'s ``edge`` (K, L1, L2, L3, L2,3, M4, M5, M4,5);
    a ParameterError names the edges known for the element when this one is not tabulated."""
    from ..surrogate.xtb import normalise_edge  # the edge names every model uses

    name = normalise_edge(edge)
    level = COMBINED.get(name, (name,))[0]
    symbol = str(element).strip().capitalize()
    for table, source in ((EELS_ATLAS, "EELS Atlas"), (XRAY_DATA_BOOKLET, "X-ray Data Booklet")):
        if level in table.get(symbol, {}):
            return table[symbol][level], source
    known = sorted(set(EELS_ATLAS.get(symbol, {})) | set(XRAY_DATA_BOOKLET.get(symbol, {})))
    raise ParameterError("edge", f"no tabulated onset for the {symbol} {name} edge" +
                         (f" (known: {', '.join(known)})" if known else "") +
                         "; type the onset in eV")


def upper_onset(element: str, edge: str) -> float:
    """Where the last level of ``edge`` starts: L2 of "L2,3", M4 of "M4,5", else the onset itself;
    a background window for a higher edge starts past it (:data:`LOWER_EDGE_CLEARANCE`)."""
    try:
        return edge_onset(element, COMBINED.get(edge, (edge,))[-1])[0]
    except ParameterError:  # the upper level alone is not tabulated
        return edge_onset(element, edge)[0]


def top_below(onset: float, edges) -> float | None:
    """The highest :func:`upper_onset` of ``edges`` (element, edge, onset) that start below
    ``onset``: what a background window for the edge at ``onset`` keeps clear of; None if none."""
    return max((upper_onset(element, edge) for element, edge, start in edges if start < onset), default=None)


#: The widest energy range an edge-relative spectrum spans (eV): a near-edge window is tens of eV.
RELATIVE_SPAN_EV = 300.0


def is_edge_relative(spectrum: Spectrum, onset: float) -> bool:
    """Whether ``spectrum`` is on an edge-relative scale rather than at the edge: its grid starts
    below half the onset (a relative grid starts near 0 eV, a measured one near the onset), does
    not reach it (a survey from 150 eV that spans the onset is at the edge) and spans a near-edge
    window, not an instrument's whole axis (−100 to 924 eV beside a Si K prediction: a
    prediction drawn there at −5 to 25 eV sat on the zero loss)."""
    e = np.asarray(spectrum.energy)
    return bool(e[0] < 0.5 * float(onset) and not e[0] < float(onset) < e[-1]
                and e[-1] - e[0] <= RELATIVE_SPAN_EV)


def place_at_onset(spectrum: Spectrum, onset: float) -> Spectrum:
    """``spectrum`` moved so that the point of its axis where the edge's onset lies comes to
    ``onset`` (eV): its ``meta["onset_at_ev"]`` when a model calibrated that
    (:meth:`~amorpha.engine.surrogate.model.SpectrumModel.calibrate_onset`), else its 0. The onset
    is kept in ``meta``."""
    onset = float(onset)
    if not np.isfinite(onset):
        raise ParameterError("onset", f"needs an energy in eV, got {onset!r}")
    shift = onset - float(spectrum.meta.get("onset_at_ev", 0.0))
    return replace(spectrum, energy=np.asarray(spectrum.energy, dtype=np.float64) + shift,
                   meta={**spectrum.meta, "edge_onset_ev": onset})


def edges_within(low: float, high: float, elements=None) -> list[tuple[str, str, float]]:
    """The tabulated edges with an onset in (``low``, ``high``) eV, lowest first, as (element, edge,
    onset); L2 and L3 (M4 and M5) count once, as "L2,3" ("M4,5") at the lower onset, the way the
    models name them. ``elements``: only these (the shown structure's)."""
    wanted = None if elements is None else {str(e).strip().capitalize() for e in elements}
    found = {}
    for table in (EELS_ATLAS, XRAY_DATA_BOOKLET):
        for element, levels in table.items():
            if wanted is not None and element not in wanted:
                continue
            for level in levels:
                name = PAIRED.get(level, level)
                onset, _ = edge_onset(element, name)
                if low < onset < high:
                    found.setdefault((element, name), onset)
    return sorted(((el, name, onset) for (el, name), onset in found.items()), key=lambda t: t[2])


def edge_of_energies(element: str, low: float, high: float) -> tuple[str, float] | None:
    """(edge, onset) of ``element`` that a spectrum on absolute energies ``low``…``high`` (eV) is
    of, or None for an edge-relative axis or one near no tabulated edge.

    A computed spectrum often names no edge (XANESNET's text files), but its energies do: its
    grid starts within 10 % of the onset (ORCA's S K runs from 2395 eV, 3 % below the 2472 eV
    binding energy, TDDFT core energies being low by tens of eV; L1 at 229 eV is far off).
    """
    low, high = float(low), float(high)
    if not np.isfinite(low) or low <= 0:
        return None
    found = [(abs(onset - low), name, onset) for _, name, onset in
             edges_within(0.5 * low, max(high, low) / 0.9 + 1.0, [element])]
    if not found:
        return None
    distance, name, onset = min(found)
    return (name, onset) if distance <= 0.1 * onset else None


def edge_windows(energy, onset: float, lower: float | None = None,
                 upper: float | None = None) -> dict[str, tuple[float, float]]:
    """Starting windows for an edge at ``onset`` on a measured axis ``energy`` (eV): "pre", the
    power-law background fit, ending 5 eV before the onset (ELNES starts at it) and up to
    min(60 eV, 0.15 onset) wide (Egerton, EELS in the Electron Microscope, 3rd ed., §4.4.2: the
    fit gets worse the wider the extrapolation is compared with the window); "post", the edge-step
    line 50-100 eV above the onset, past the near-edge structure, or the upper half of what is
    measured beyond the onset when less is; "near", where a prediction is compared with the
    measured edge and fitted, 10 eV before the onset to 60 eV after it (the near-edge structure the
    models predict spans ~30 eV; past that a prediction is 0 and only the background is compared).
    ``lower``: where an edge seen below this one has its last level (:func:`upper_onset`); "pre"
    starts ``LOWER_EDGE_CLEARANCE`` past it, so the power law is not fitted to that edge's
    near-edge structure (O K after Ti L2,3). ``upper``: the onset of the next edge above this one
    (:func:`next_above`); "post" and "near" end ``UPPER_EDGE_CLEARANCE`` before it (Ti L2,3
    before O K).
    None of these when the axis leaves too little room (under 3 eV of pre-edge)."""
    e = np.asarray(energy, dtype=np.float64)
    onset = float(onset)
    margin = float(0.02 * (e[-1] - e[0]))
    pre_end = onset - 5.0
    pre_start = max(float(e[0]) + margin, onset - min(60.0, max(10.0, 0.15 * onset)),
                    -np.inf if lower is None else float(lower) + LOWER_EDGE_CLEARANCE)
    if pre_end - pre_start < 3.0 or onset >= e[-1] - margin:
        return {}
    end = float(e[-1])
    if upper is not None and upper > onset:  # the next edge up: the windows end before it
        end = min(end, float(upper) - UPPER_EDGE_CLEARANCE)
    top = min(float(e[-1]) - margin, end)
    post = (onset + 50.0, min(top, onset + 100.0)) if top - (onset + 50.0) >= 10.0 else \
        (onset + 0.5 * (top - onset), top)
    return {"pre": (pre_start, pre_end), "post": post,
            "near": (max(float(e[0]), onset - 10.0), min(end, onset + 60.0))}


def next_above(onset: float, edges) -> float | None:
    """The lowest onset of ``edges`` (element, edge, onset) above ``onset``: where a window of the
    edge at ``onset`` ends (:func:`edge_windows`); None if none."""
    return min((start for element, edge, start in edges if start > onset), default=None)


def edge_jump(energy, counts, onset: float, lower: float | None = None) -> tuple[float, float] | None:
    """How clearly the counts rise at ``onset``: (jump, z). The power law A·E^-r is fitted in the
    edge's pre window (:func:`edge_windows`) and extrapolated; ``jump`` is the measured counts from
    2 eV below the onset to ``JUMP_WIDTH`` above it over that background, minus 1; ``z`` is the log
    of that ratio over its standard error, from the scatter about the fit in the window, the
    extrapolation's uncertainty (straight line in log-log) and the counts averaged past the onset.
    None when there is no room for a window, it has under 5 channels or non-positive counts."""
    from .prepare import powerlaw_background  # the fit the Subtract button makes

    e = np.asarray(energy, dtype=np.float64)
    y = np.asarray(counts, dtype=np.float64)
    window = edge_windows(e, onset, lower).get("pre")
    if window is None:
        return None
    inside = (e >= window[0]) & (e <= window[1])
    after = (e >= onset - 2.0) & (e <= onset + JUMP_WIDTH)
    if inside.sum() < 5 or after.sum() < 2 or np.mean(y[after]) <= 0:
        return None
    try:
        _, fit = powerlaw_background(Spectrum(e, y), window)
    except ParameterError:  # a window it refuses (counts or energies <= 0): nothing to extrapolate
        return None
    x = np.log(e[inside])
    scatter = float(np.std(np.log(y[inside] / fit.background[inside]), ddof=2))
    log_ratio = float(np.log(np.mean(y[after]) / np.mean(fit.background[after])))
    x0 = np.log(onset + 0.5 * JUMP_WIDTH)
    extrapolation = scatter * np.sqrt(1.0 / x.size + (x0 - x.mean()) ** 2 / np.sum((x - x.mean()) ** 2))
    error = float(np.hypot(extrapolation, scatter / np.sqrt(after.sum())))
    return float(np.expm1(log_ratio)), (log_ratio / error if error > 0 else np.inf)


def is_low_loss(energy, counts) -> bool:
    """Whether the spectrum holds its zero-loss peak: a low-loss spectrum, whose plasmons are no
    power-law background to look for edges against. The zero-loss peak is the highest channel,
    within 10 eV of 0, and at least 50 times the median of the counts from 10 eV past it on (the
    shared low-loss files: 780 and 1500; a predicted Si K white line near 9 eV on an
    edge-relative axis: 12)."""
    e, y = np.asarray(energy, dtype=np.float64), np.asarray(counts, dtype=np.float64)
    k = int(np.argmax(y))
    if abs(e[k]) >= 10.0:
        return False
    tail = y[e > e[k] + 10.0]
    return bool(tail.size and y[k] >= 50.0 * max(float(np.median(tail)), 0.0) and y[k] > 0)


def edges_seen(energy, counts, elements=None, min_jump: float = 0.05,
               min_z: float = 10.0) -> list[tuple[str, str, float]]:
    """The tabulated major edges (:func:`edges_within`, no L1) whose counts rise clearly over the
    extrapolated power law (:func:`edge_jump`: by ``min_jump`` and ``min_z`` standard errors),
    lowest first, each measured with its window clear of the edges seen below it
    (:func:`top_below`); of two within ``JUMP_WIDTH`` eV (one jump seen from both), the clearer.
    None in a low-loss spectrum. Thresholds from the shared EELS files: their real edges (O K,
    Ti L2,3, Mn L2,3, Ta M4,5) give z 14-380 and jumps of 6-71 %, tabulated edges where nothing
    is give z < 9."""
    e = np.asarray(energy, dtype=np.float64)
    if e.size < 2 or is_low_loss(e, counts):
        return []
    found = []  # ((element, edge, onset), z), lowest first
    for element, edge, onset in edges_within(e[0], e[-1], elements):
        if edge in MINOR:
            continue
        # an edge starting within the jump window above the last one seen contends for its jump
        # (V L2,3 at 513 eV catches the rise of O K at 532): measured alike, the clearer stays
        rival = found[-1] if found and onset - found[-1][0][2] < JUMP_WIDTH + 2.0 else None
        below = [f[0] for f in (found[:-1] if rival else found)]
        jump = edge_jump(e, counts, onset, top_below(onset, below))
        if jump is None or jump[0] < min_jump or jump[1] < min_z or (rival and jump[1] <= rival[1]):
            continue
        if rival:
            found.pop()
        found.append(((element, edge, onset), jump[1]))
    return [edge for edge, _ in found]

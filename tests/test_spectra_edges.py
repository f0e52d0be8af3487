"""Edge onsets and a relative prediction placed at its edge: the Atlas / X-ray Data Booklet values,
edge names as the models write them, and a Si K prediction on −5…25 eV that, put at 1839 eV,
overlaps a synthetic measured Si K edge, whose extra shift alignment then recovers within 0.05 eV."""
import numpy as np
import pytest

from amorpha.engine.errors import ParameterError
from amorpha.engine.spectra.compare import align
from amorpha.engine.spectra.edges import edge_onset, is_edge_relative, place_at_onset
from amorpha.engine.spectra.spectrum import Spectrum

EXTRA_SHIFT = 0.8  # eV beyond the tabulated onset, as a chemical shift would put it


def si_k_shape(e):
    """An edge step with a white line and a shoulder (relative energies, eV)."""
    return (1 / (1 + np.exp(-(e - 1.0) / 0.4)) + 2.5 * np.exp(-0.5 * ((e - 3.0) / 1.2) ** 2)
            + 0.8 * np.exp(-0.5 * ((e - 11.0) / 2.5) ** 2))


def test_tabulated_onsets_and_edge_names():
    assert edge_onset("Si", "K") == (1839.0, "EELS Atlas")
    assert edge_onset("O", "k")[0] == 532.0
    assert edge_onset("Si", "L2,3")[0] == edge_onset("Si", "l23")[0] == edge_onset("Si", "L3")[0] == 99.2
    assert edge_onset("Ag", "M4,5")[0] == edge_onset("Ag", "M5")[0] == 367.0
    assert edge_onset("Cu", "K") == (8979.0, "X-ray Data Booklet")
    # each edge above the next lighter level of the same element, K highest
    for element in ("Si", "Fe", "Zr"):
        levels = [edge_onset(element, e)[0] for e in ("K", "L1", "L2", "L3") if _known(element, e)]
        assert levels == sorted(levels, reverse=True)
    with pytest.raises(ParameterError, match="no tabulated onset for the Cu M4,5 edge"):
        edge_onset("Cu", "M4,5")
    with pytest.raises(ParameterError, match="unknown edge"):
        edge_onset("Si", "Q")


def _known(element, edge):
    try:
        edge_onset(element, edge)
        return True
    except ParameterError:
        return False


def test_relative_prediction_placed_at_the_edge_overlaps_and_aligns():
    e_rel = np.arange(-5.0, 25.0, 0.05)
    predicted = Spectrum(e_rel, si_k_shape(e_rel), element="Si", edge="K", label="Si K predicted")
    onset, _ = edge_onset("Si", "K")
    e = np.arange(1825.0, 1875.0, 0.1)
    truth = 4000.0 * si_k_shape(e - onset - EXTRA_SHIFT) + 300.0
    measured = Spectrum(e, np.random.default_rng(2).poisson(truth).astype(float), label="Si K measured")
    assert is_edge_relative(predicted, onset) and not is_edge_relative(measured, onset)
    assert e_rel[-1] < e[0]  # as predicted, nothing in common
    placed = place_at_onset(predicted, onset)
    assert placed.meta["edge_onset_ev"] == onset and placed.element == "Si"
    common = min(placed.energy[-1], e[-1]) - max(placed.energy[0], e[0])
    assert common > 20.0
    window = (1830.0, 1862.0)
    for scale in (False, True):
        shift, k, aligned, sim = align(measured, placed, window, scale=scale)
        assert shift == pytest.approx(EXTRA_SHIFT, abs=0.05)
        assert k == pytest.approx(1.0, abs=0.005) and sim["pearson"] > 0.99
    with pytest.raises(ParameterError, match="onset"):
        place_at_onset(predicted, float("nan"))


def test_edges_in_a_measured_range_lowest_first_pairs_once():
    from amorpha.engine.spectra.edges import edges_within

    assert edges_within(510.0, 644.0, ["Si", "O"]) == [("O", "K", 532.0)]
    assert ("Ti", "L1", 564.0) in edges_within(510.0, 644.0)  # any element without a filter
    # L2 and L3 are one edge, at the lower onset, named as the models name it
    assert edges_within(90.0, 160.0, ["Si"]) == [("Si", "L2,3", 99.2), ("Si", "L1", 149.7)]
    assert edges_within(300.0, 400.0, ["Ag", "Ca"]) == [("Ca", "L2,3", 346.0), ("Ag", "M4,5", 367.0)]
    assert edges_within(1000.0, 1800.0, ["O"]) == []


def test_default_windows_fit_the_true_power_law_before_the_edge():
    """A power law A·E^-r (Poisson counts) under an O K edge at 532 eV: the starting background
    window ends before the edge and the fit there extrapolates under the edge within 1-2 %; the
    old default, 5-25 % of the measured range, reached into the edge and missed by far more."""
    from scipy.special import erf

    from amorpha.engine.spectra.edges import edge_windows
    from amorpha.engine.spectra.prepare import powerlaw_background

    a_true, r_true = 3e11, 3.0

    def measured(low):
        e = np.arange(low, 644.0, 0.1)
        edge = 3000.0 * 0.5 * (1 + erf((e - 532.0) / 1.5)) / (1 + np.clip(e - 532.0, 0, None) / 40)
        return e, np.random.default_rng(1).poisson(a_true * e ** -r_true + edge).astype(float)

    def error_at(e, y, window, energy):
        _, fit = powerlaw_background(Spectrum(e, y), window)
        return abs(fit.A * energy ** -fit.r / (a_true * energy ** -r_true) - 1), fit

    e, y = measured(400.0)
    windows = edge_windows(e, 532.0)
    assert windows == {"pre": (472.0, 527.0), "post": (582.0, 632.0)}  # 60 eV at most
    error, fit = error_at(e, y, windows["pre"], 540.0)
    assert error < 0.01 and fit.r == pytest.approx(r_true, rel=0.03)
    assert error_at(e, y, windows["pre"], 600.0)[0] < 0.02
    e, y = measured(510.0)  # 22 eV before the edge: a 14 eV window
    windows = edge_windows(e, 532.0)
    assert windows["pre"] == pytest.approx((510.0 + 0.02 * (e[-1] - e[0]), 527.0))
    assert error_at(e, y, windows["pre"], 540.0)[0] < 0.02
    span = e[-1] - e[0]
    assert error_at(e, y, (e[0] + 0.05 * span, e[0] + 0.25 * span), 560.0)[0] > 0.2
    # too little room before the edge: no windows; little beyond it: the upper half past it
    assert edge_windows(np.arange(525.0, 650.0, 0.1), 532.0) == {}
    assert edge_windows(np.arange(500.0, 560.0, 0.1), 532.0)["post"] == pytest.approx((545.35, 558.70), abs=0.01)

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
    survey = np.arange(150.0, 3000.0, 1.0)  # starts below half the onset but spans it
    assert not is_edge_relative(Spectrum(survey, np.ones_like(survey)), onset)
    wide = np.arange(-100.0, 924.0, 0.5)  # an instrument's axis short of the onset: not relative
    assert not is_edge_relative(Spectrum(wide, np.ones_like(wide)), onset)
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
    assert windows == {"pre": (472.0, 527.0), "post": (582.0, 632.0), "near": (522.0, 592.0)}  # 60 eV at most
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


def _power_law_with_edges(e, edges, seed, a=3e11, r=3.0):
    """Poisson counts of A·E^-r with an edge step (height, onset) each: a rise over 1.5 eV that
    decays over 40 eV, as core-loss edges do above their near-edge structure."""
    from scipy.special import erf

    truth = a * e ** -r
    for height, onset in edges:
        truth = truth + height * 0.5 * (1 + erf((e - onset) / 1.5)) / (1 + np.clip(e - onset, 0, None) / 40)
    return np.random.default_rng(seed).poisson(truth).astype(float)


def test_edges_are_seen_where_the_counts_rise_and_nowhere_else():
    """Known answers: Ti L2,3 and O K steps on a power law are seen, each once (L1, a minor edge,
    not looked for; Sc L2,3 at 402 eV in front of nothing stays unseen); twenty plain power laws
    with Poisson noise show no edge; a low-loss spectrum (zero-loss peak, plasmon) is not searched."""
    from amorpha.engine.spectra.edges import edge_jump, edges_seen, is_low_loss

    e = np.arange(350.0, 700.0, 0.2)
    y = _power_law_with_edges(e, [(6000.0, 456.0), (2500.0, 532.0)], seed=3)
    assert edges_seen(e, y) == [("Ti", "L2,3", 456.0), ("O", "K", 532.0)]
    assert edges_seen(e, y, ["Si", "O"]) == [("O", "K", 532.0)]
    # O K's background window keeps 30 eV clear of Ti L2 (462 eV), the last level of the edge below
    from amorpha.engine.spectra.edges import edge_windows, top_below
    assert top_below(532.0, edges_seen(e, y)) == 462.0 and top_below(456.0, edges_seen(e, y)) is None
    assert edge_windows(e, 532.0, top_below(532.0, edges_seen(e, y)))["pre"] == (492.0, 527.0)
    # Ti L2,3's edge-step line and comparison window end 5 eV before O K, the next edge up
    from amorpha.engine.spectra.edges import next_above
    assert next_above(456.0, edges_seen(e, y)) == 532.0 and next_above(532.0, edges_seen(e, y)) is None
    ti = edge_windows(e, 456.0, None, next_above(456.0, edges_seen(e, y)))
    assert ti["post"] == (506.0, 527.0) and ti["near"] == (446.0, 516.0)
    jump, z = edge_jump(e, y, 532.0)
    assert 0.1 < jump < 1.0 and z > 20
    assert edge_jump(e, y, 402.0)[1] < 5
    for seed in range(20):
        assert edges_seen(e, _power_law_with_edges(e, [], seed)) == [], seed
    for seed in range(5):  # V L2,3 (513 eV) catches the start of O K's rise: O K, the clearer, stays
        assert edges_seen(e, _power_law_with_edges(e, [(3000.0, 532.0)], seed)) == [("O", "K", 532.0)], seed
    weak = _power_law_with_edges(e, [(60.0, 532.0)], seed=4)  # 3 % of the background: not clear
    assert edges_seen(e, weak) == []
    low = np.arange(-20.0, 300.0, 0.25)
    counts = 1e6 * np.exp(-0.5 * (low / 0.5) ** 2) + 2e4 * np.exp(-0.5 * ((low - 22.0) / 6.0) ** 2) \
        + 3e7 * np.clip(low, 5.0, None) ** -3.0
    assert is_low_loss(low, counts) and edges_seen(low, counts) == []
    assert not is_low_loss(e, y)
    relative = np.arange(-5.0, 25.0, 0.1)  # an edge-relative Si K: its white line is no zero-loss peak
    assert not is_low_loss(relative, 4000.0 * si_k_shape(relative) + 150.0)
    assert edge_jump(np.arange(525.0, 650.0, 0.1), np.ones(1250), 532.0) is None  # no room before it


@pytest.mark.parametrize("name, expected", [
    ("eelsdb/YAG_O_K_Sigle-Sturm.msa", [("O", "K", 532.0)]),
    ("exspy/coreloss_spectrum.msa", [("O", "K", 532.0), ("Mn", "L2,3", 640.0)]),
    ("pyEELSMODEL/SrTiO3_hl.msa", [("Ti", "L2,3", 456.0), ("O", "K", 532.0)]),
    ("eelsdb/ta2o5-amoprhou.headerless_2col.txt", [("O", "K", 532.0), ("Ta", "M4,5", 1735.0)]),
    ("rosettasciio/EELS_SI.dm4", [("O", "K", 532.0)]),
    ("exspy/lowloss_spectrum.msa", []),
])
def test_edges_seen_in_measured_files(shared_data, name, expected):
    """Real spectra from the shared data, with the edges their sources name (the Si K of the
    DM4 spectrum image is noise-level and stays unseen; the low-loss file is not searched)."""
    from amorpha.engine.spectra.edges import edges_seen
    from amorpha.engine.spectra.microscope import read_microscope

    spectrum = read_microscope(str(shared_data / "eels" / name)).spectrum()
    assert edges_seen(spectrum.energy, spectrum.intensity) == expected

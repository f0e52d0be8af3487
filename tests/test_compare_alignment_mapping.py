"""Compare and Explain on one energy mapping; what Compare's numbers mean; Explain's default
classes and background. Each test was written against a finding of the Measured-panel audit on
the real EELS files (YAG, SrTiO3, the DM4)."""
import numpy as np
import pytest

from amorpha.engine.spectra import Spectrum
from amorpha.engine.spectra.compare import align, main_peak, on_aligned_axis, similarity
from amorpha.engine.spectra.unmix import fit_components


def _peaks(e, *centres, width=1.2):
    return sum(h * np.exp(-0.5 * ((e - c) / width) ** 2) for c, h in centres)


E_P = np.arange(525.0, 560.0, 0.1)  # a prediction placed at the onset, narrower than the window
WINDOW = (522.0, 592.0)  # as the YAG run: the scale pivots at 557 eV, the prediction's top end


def _measured(stretch=0.93, move=0.3):
    """Counts on zero before the onset whose peaks are the prediction's, stretched about its 538 eV
    main peak and moved by ``move``."""
    e = np.arange(510.0, 600.0, 0.1)
    shape = lambda x: _peaks(x, (538.0, 1.0), (545.0, 0.5), (552.0, 0.3))  # noqa: E731
    return Spectrum(e, 700.0 * shape((e - 538.0 - move) / stretch + 538.0), label="counts")


def test_a_component_on_the_aligned_axis_sits_where_the_aligned_prediction_sits():
    predicted = Spectrum(E_P, _peaks(E_P, (538.0, 1.0), (545.0, 0.5), (552.0, 0.3)), label="predicted")
    shift, scale, aligned, _ = align(_measured(), predicted, WINDOW, offset=False)
    assert scale != pytest.approx(1.0, abs=0.01)  # a scale was fitted: the shift alone is not the mapping
    component = on_aligned_axis(predicted, aligned.meta)  # what Explain puts on the measured axis
    np.testing.assert_allclose(component.energy, aligned.energy)
    assert main_peak(component) == pytest.approx(main_peak(aligned), abs=1e-9)
    # the quoted move is the main peak's, not the shift about the window's centre (557 eV)
    assert aligned.meta["peak_ev"] == pytest.approx(538.0, abs=0.05)
    assert aligned.meta["peak_shift_ev"] == pytest.approx(0.3, abs=0.1)
    assert abs(shift - aligned.meta["peak_shift_ev"]) > 0.5


def test_no_constant_after_background_and_a_flat_line_is_not_a_match():
    e = np.arange(1850.0, 1877.0, 1.0)
    noise = Spectrum(e, 75.0 + np.random.default_rng(1).normal(0.0, 10.0, len(e)), label="noise")
    flat = similarity(noise, Spectrum(e, np.full(len(e), 75.0)))
    assert flat["cosine"] > 0.98  # a flat line scores "excellent" on its own
    x = np.arange(1820.0, 1900.0, 0.2)
    edge = Spectrum(x, _peaks(x, (1847.0, 1.0), (1860.0, 0.4), width=2.0), label="Si K")
    _, _, aligned, sim = align(noise, edge, (1850.0, 1877.0), scale=False)
    assert aligned.meta["constant"] != 0.0  # raw counts: a constant is fitted and reported ...
    assert sim["cosine"] < flat["cosine"]  # ... but not counted in the similarity
    assert aligned.meta["no_better_than_flat"] is True
    assert aligned.meta["flat_line"]["cosine"] > 0.98
    # the fitted shift ran to within 5 % of the ±15 eV search: not a match either
    assert aligned.meta["shift_at_limit"] == (abs(aligned.meta["shift_ev"]) > 13.5)
    # a good match after subtraction: no constant, better than flat
    predicted = Spectrum(E_P, _peaks(E_P, (538.0, 1.0), (545.0, 0.5), (552.0, 0.3)))
    _, _, aligned, _ = align(_measured(1.0, 1.0), predicted, WINDOW, scale=False, offset=False)
    assert aligned.meta["constant"] == 0.0 and aligned.meta["no_better_than_flat"] is False
    assert aligned.intensity[0] == pytest.approx(0.0, abs=1e-9)  # on zero before the onset, as the counts


def test_a_shift_near_the_end_of_the_search_is_flagged():
    predicted = Spectrum(E_P, _peaks(E_P, (538.0, 1.0), (545.0, 0.5)))
    _, _, aligned, _ = align(_measured(1.0, 14.2), predicted, (520.0, 600.0), scale=False, offset=False)
    assert aligned.meta["shift_ev"] == pytest.approx(14.2, abs=0.1)
    assert aligned.meta["shift_at_limit"] is True  # 0.8 eV from +15 eV: at the end of the search or near it


def test_a_non_negative_linear_background_stays_at_or_above_zero():
    """After a power-law subtraction: zero before the onset, a continuum after it that no component
    holds. The signed line dips below zero before the onset; the default panel one does not."""
    e = np.arange(525.0, 556.0, 0.1)
    step = 300.0 / (1.0 + np.exp(-(e - 540.0) / 2.0))
    counts = Spectrum(e, 600.0 * _peaks(e, (538.0, 1.0), (545.0, 0.5)) + step, label="counts")
    component = Spectrum(e, _peaks(e, (530.0, 0.3), (536.0, 1.0), (545.0, 0.5)), label="O")  # 2 eV low
    signed = fit_components(counts, [component], background="linear")
    assert signed.model.min() < -20.0
    kept = fit_components(counts, [component], background="nonneg_linear")
    assert kept.model.min() >= -1e-9 and np.all(kept.background >= 0)
    assert kept.background_kind == "nonneg_linear" and len(kept.background) == 2

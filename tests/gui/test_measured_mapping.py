"""The Measured panel after the audit on the real EELS files: Explain's components sit where
Compare's aligned prediction sits (shift and energy scale), the quoted shift is the main peak's,
no free constant once the background is subtracted, Compare's result in the status line, the
raw-count background line gone once subtracted (back on Undo), and a background that cannot go
below zero by default."""
import numpy as np
import pytest

from amorpha.engine.spectra.export import write_msa
from amorpha.engine.spectra.spectrum import Spectrum


@pytest.fixture(autouse=True)
def _no_preferences(monkeypatch):
    monkeypatch.setattr("amorpha.gui.main_window.save_preferences", lambda *a, **k: None)


def _peaks(e, *centres, width=1.2):
    return sum(h * np.exp(-0.5 * ((e - c) / width) ** 2) for c, h in centres)


def _shape(e):
    return _peaks(e, (538.0, 1.0), (545.0, 0.5), (552.0, 0.3))


def _core_loss(tmp_path):
    """Counts on a power law whose peaks are the prediction's stretched by 0.93 about 538 eV."""
    e = np.arange(480.0, 600.0, 0.2)
    edge = 3000.0 * _shape((e - 538.3) / 0.93 + 538.0)
    y = np.random.default_rng(0).poisson(3e11 * e ** -3.0 + edge).astype(float)
    path = tmp_path / "stretched.msa"
    write_msa(Spectrum(e, y, label="stretched"), path)
    return path


def _main_peak(x, y, lo=530.0, hi=560.0):
    inside = (x >= lo) & (x <= hi)
    return float(x[inside][np.argmax(y[inside])])


def test_explain_sits_where_compare_put_the_prediction(qtbot, empty_window, tmp_path):
    window = empty_window
    m, panel = window.measured, window.measured_panel
    assert panel.background_kind.currentData() == "nonneg_linear"  # never below zero by default
    with qtbot.waitSignal(m.changed, timeout=60000):
        window.open_spectrum(str(_core_loss(tmp_path)))
    qtbot.waitUntil(lambda: bool(m.curves("background")), timeout=10000)  # the preview's line
    with qtbot.waitSignal(m.changed, timeout=10000):
        panel.step_requested.emit("powerlaw_background", {"window": (490.0, 527.0), "zero_fill": True})
    assert not m.curves("background") and m.curves("before")  # no raw-count line over the subtracted counts
    e = np.arange(525.0, 560.0, 0.1)
    predicted = Spectrum(e, _shape(e), label="predicted")
    window.spectrum_panel.add_spectrum(predicted, "predicted")
    with qtbot.waitSignal(m.compared, timeout=30000):
        panel.align_requested.emit((522.0, 592.0), True)  # pivot at 557 eV: the prediction's top end
    meta = m.aligned.meta
    assert meta["constant"] == 0.0 and "no constant: the background was removed" in panel.alignment.text()
    assert meta["energy_scale"] == pytest.approx(0.93, abs=0.02)
    assert meta["peak_shift_ev"] == pytest.approx(0.3, abs=0.15)  # the 538 eV peak's move, as quoted
    moved = meta["peak_shift_ev"]
    assert panel.alignment.text().startswith(f"Main peak of the prediction moved {moved:+.3f} eV (538.00 → ")
    assert panel.status.text().startswith(f"Aligned: main peak {moved:+.2f} eV")  # not the Subtract step's words
    component = m.on_measured_axis(predicted)
    np.testing.assert_allclose(component.energy, m.aligned.energy)
    m.set_components([Spectrum(predicted.energy, predicted.intensity, label="one")])
    with qtbot.waitSignal(m.fitted, timeout=30000):
        panel.fit_requested.emit((522.0, 592.0), "nonneg_linear", 0)
    fit = m.fit.model_spectrum()
    aligned = m.aligned
    assert _main_peak(fit.energy, fit.intensity) == pytest.approx(_main_peak(aligned.energy, aligned.intensity), abs=0.15)
    assert m.fit.model.min() >= -1e-6
    with qtbot.waitSignal(m.changed, timeout=10000):
        m.undo()
    qtbot.waitUntil(lambda: bool(m.curves("background")), timeout=10000)  # the preview's line is back


def test_a_flat_match_and_a_shift_near_its_limit_are_doubted():
    from amorpha.gui.measured import alignment_doubts

    meta = {"amplitude": 1.0, "shift_at_limit": True, "shift_range_ev": (-15.0, 15.0), "scale_at_limit": False,
            "no_better_than_flat": True, "flat_line": {"cosine": 0.984, "r_factor": 0.156}}
    text = alignment_doubts(meta)
    assert "at the end of the search (-15 to +15 eV) or near it" in text
    assert "no better than a flat line does (a flat line: cosine 0.984, R-factor 0.156)" in text

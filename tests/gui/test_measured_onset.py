"""Compare in the Measured panel with a prediction on an edge-relative scale: a measured Si K edge
(1825–1875 eV) and a Si K prediction on −5…25 eV. The prediction is put at the tabulated onset
(1839 eV, shown and editable in the Compare tab) and Align finds the extra shift; an edited onset
is kept and used; an edge with no tabulated onset asks the user for one."""
import numpy as np
import pytest

from amorpha.engine.spectra.export import write_msa
from amorpha.engine.spectra.spectrum import Spectrum

from .test_measured_panel import opened
from test_spectra_edges import EXTRA_SHIFT, si_k_shape

WINDOW = (1830.0, 1862.0)


def measured_si_k(tmp_path):
    e = np.arange(1825.0, 1875.0, 0.1)
    counts = np.random.default_rng(5).poisson(4000.0 * si_k_shape(e - 1839.0 - EXTRA_SHIFT) + 300.0)
    path = tmp_path / "si-k.msa"
    write_msa(Spectrum(e, counts.astype(float), label="Si K measured"), path, beam_energy_kev=200.0)
    return path


def with_prediction(qtbot, window, tmp_path, element):
    """The measured Si K edge opened, a prediction for ``element``'s K edge on −5…25 eV shown."""
    m = opened(qtbot, window, measured_si_k(tmp_path))
    e = np.arange(-5.0, 25.0, 0.05)
    window.spectrum_panel.add_spectrum(Spectrum(e, si_k_shape(e), label=f"{element} K predicted",
                                                element=element, edge="K"), "predicted")
    return m, window.measured_panel


def aligned(qtbot, m, panel):
    with qtbot.waitSignal(m.compared, timeout=30000):
        panel.align_requested.emit(WINDOW, False)
    return m.aligned


def test_relative_prediction_is_placed_at_the_onset_then_aligned(qtbot, empty_window, tmp_path):
    window = empty_window
    m, panel = with_prediction(qtbot, window, tmp_path, "Si")
    # drawn at the onset as soon as it is beside the measured edge, the Compare tab saying where
    (predicted,) = window.spectrum_panel.group("predicted")
    item = window.spectrum_panel.item(predicted)
    assert panel.onset.value() == 1839.0 and item.isVisible() and item.getData()[0][0] == pytest.approx(1834.0)
    (name,) = [lab.text for s, lab in window.spectrum_panel.legend.items if s.item is item]
    assert name.startswith("Si K predicted at the 1839 eV onset ×"), name
    panel.onset.setValue(1840.0)  # a typed onset moves it
    assert item.getData()[0][0] == pytest.approx(1835.0)
    panel.onset.setValue(1839.0)
    result = aligned(qtbot, m, panel)
    assert panel.onset.value() == 1839.0 and "EELS Atlas" in panel.onset_source.text()
    assert result.meta["shift_ev"] == pytest.approx(EXTRA_SHIFT, abs=0.05)
    assert result.energy[0] > 1800.0 and result.meta["edge_onset_ev"] == 1839.0
    assert panel.similarity.item(0, 0).text() == "at the onset" and float(panel.similarity.item(1, 1).text()) > 0.99
    assert "placed at the edge onset 1839 eV" in panel.alignment.text()
    (curve,) = m.curves("aligned")
    assert curve.isVisible() and curve.getData()[0][0] > 1800.0 and "1839 eV onset" in curve.name()
    # the user's onset stays for this edge, and the shift found is measured from it
    panel.onset.setValue(1838.0)
    assert aligned(qtbot, m, panel).meta["shift_ev"] == pytest.approx(EXTRA_SHIFT + 1.0, abs=0.05)
    assert panel.onset.value() == 1838.0
    # unticked: the prediction is compared where it is (and has nothing in common with the measured)
    panel.place_at_onset.setChecked(False)
    before = m.aligned
    panel.align_requested.emit(WINDOW, False)
    qtbot.waitUntil(lambda: window.last_error != "", timeout=30000)
    assert m.aligned is before and m.current is not None


def test_an_edge_with_no_tabulated_onset_asks_for_one(qtbot, empty_window, tmp_path):
    window = empty_window
    m, panel = with_prediction(qtbot, window, tmp_path, "Xe")
    m.edge = None  # an edge the tables lack is not seen in the counts either (else: "another edge")
    assert m.align(WINDOW, False) is None
    assert "type where the edge starts" in window.last_error and panel.onset.value() == 0.0
    assert "not tabulated" in panel.onset_source.text()
    panel.onset.setValue(1839.0)  # typed by the user: used from now on
    assert aligned(qtbot, m, panel).meta["shift_ev"] == pytest.approx(EXTRA_SHIFT, abs=0.05)

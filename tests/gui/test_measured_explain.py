"""Explain through the window: the a-SiO example's own predicted spectrum, opened as the "measured"
one (in counts), fitted with the model's Si site classes returns the builder's Si oxidation-state
fractions (its per-atom ``oxidation`` array) within 0.05; classes merged for too few sites are
named in the panel and in the fit report; the prediction is drawn scaled to the measured counts."""
import csv
from pathlib import Path

import numpy as np
import pytest
from ase.io import read

from amorpha.engine.spectra.microscope import SpectrumData
from amorpha.resources import path as resource_path

COUNTS = 1e4  # the "measured" spectrum is the prediction × this


@pytest.fixture
def explained(qtbot, empty_window):
    from amorpha.engine.surrogate.model import SpectrumModel
    from amorpha.gui.prediction import default_model_path

    window = empty_window
    atoms = read(resource_path("examples") / "a-SiO.extxyz")
    with qtbot.waitSignal(window.model_ready, timeout=60000):
        window.set_model(atoms, "a-SiO.extxyz")
    with qtbot.waitSignal(window.prediction.prediction_settled, timeout=120000):
        window.prediction.set_model(SpectrumModel.load(default_model_path()))
    (predicted,) = window.spectrum_panel.group("predicted")
    m = window.measured
    m.set_data(SpectrumData(predicted.energy, COUNTS * predicted.intensity, title="a-SiO predicted, in counts"))
    with qtbot.waitSignal(m.fitted, timeout=120000):
        assert m.explain_shown_model("oxidation") is not None  # align, add the site classes, fit
    return window, atoms, predicted


def test_explain_returns_the_models_own_oxidation_fractions(qtbot, explained, tmp_path):
    window, atoms, predicted = explained
    m, panel = window.measured, window.measured_panel
    oxidation = atoms.arrays["oxidation"][atoms.numbers == 14]
    truth = np.bincount(oxidation, minlength=5)[:5] / len(oxidation)  # Si0 … Si4+ by the builder
    assert m.explanation is not None and m.fit is m.explanation.fit
    assert m.fit.labels == ["Si0", "Si1+", "Si2+", "Si3+", "Si4+"]
    np.testing.assert_allclose(m.fit.fractions, truth, atol=0.05)
    assert m.fit.r2 > 0.9999
    # the table shows fitted and own fractions; the notes say which classes were joined and why
    table = panel.fractions
    for row in range(5):
        assert float(table.item(row, 1).text()) == pytest.approx(m.fit.fractions[row], abs=1e-3)
        assert float(table.item(row, 3).text()) == pytest.approx(m.explanation.classes.fractions[row], abs=1e-3)
    assert not panel.notes.isVisibleTo(panel)  # every Si class present, none too small: no notes
    # the table is no taller than its five rows, so the fit quality and notes below it stay in sight
    rows_height = table.verticalHeader().length() + table.horizontalHeader().sizeHint().height()
    assert table.maximumHeight() <= rows_height + 2 * table.frameWidth() + 2
    # the fit report carries the class table
    text = saved_report(qtbot, m, tmp_path / "explain.csv")
    assert "# note:" not in text
    rows = [r for r in csv.reader(text.splitlines()) if r and not r[0].startswith("#")]
    assert rows[0][:4] == ["class", "sites", "model_fraction", "fitted_fraction"]
    assert [int(r[1]) for r in rows[1:6]] == m.explanation.classes.counts.tolist()
    assert float(rows[1][3]) == pytest.approx(m.fit.fractions[0])
    # by coordination the two two-bonded Si are too few for a class: merged, and said so
    with qtbot.waitSignal(m.fitted, timeout=120000):
        assert m.explain_shown_model("coordination") is not None
    assert m.explanation.classes.counts.sum() == len(oxidation)
    assert panel.notes.isVisibleTo(panel) and "only 2 sites (fewer than 5)" in panel.notes.text()
    assert "# note: merged" in saved_report(qtbot, m, tmp_path / "coordination.csv")


def saved_report(qtbot, m, path) -> str:
    handle = m.save_report(str(path))
    qtbot.waitUntil(lambda: handle.finished, timeout=10000)
    return path.read_text()


def test_prediction_is_drawn_scaled_to_the_measured_counts(explained):
    window, _, predicted = explained
    plot = window.spectrum_panel
    assert plot.factor(predicted) == pytest.approx(COUNTS, rel=1e-9)
    item = plot.item(predicted)
    np.testing.assert_allclose(item.getData()[1], COUNTS * predicted.intensity)
    labels = [label.text for sample, label in plot.legend.items if sample.item is item]
    assert labels == [f"{predicted.label} ×10,000"]
    np.testing.assert_array_equal(predicted.intensity, window.prediction.predicted.intensity.mean(axis=0))
    plot.remove_group("measured")  # without a measured spectrum the prediction is drawn as it is
    assert plot.factor(predicted) == 1.0
    np.testing.assert_allclose(item.getData()[1], predicted.intensity)


def test_the_readme_measured_spectrum_gives_back_what_was_put_in(qtbot, empty_window, tmp_path):
    """packaging/synthetic_measured.py (the README's Measured screenshot): the a-SiO prediction at
    the 1839 eV Si K onset, 1.5 eV higher, on A·E^-3 with Poisson noise. Opened as `--measured`
    does, beside a-SiO: the background's r, the shift and the model's own oxidation fractions
    come back."""
    import runpy
    import sys

    from amorpha.engine.spectra.prepare import steps_of
    from amorpha.gui.app import _open_measured

    path = tmp_path / "synthetic.msa"
    argv, sys.argv = sys.argv, ["synthetic_measured.py", str(path)]
    try:
        with pytest.raises(SystemExit) as done:
            runpy.run_path(str(Path(__file__).parents[2] / "packaging" / "synthetic_measured.py"), run_name="__main__")
    finally:
        sys.argv = argv
    assert done.value.code == 0
    window = empty_window
    atoms = read(resource_path("examples") / "a-SiO.extxyz")
    _open_measured(window, str(path))
    with qtbot.waitSignal(window.measured.fitted, timeout=180000):
        window.prediction.load_default()
        window.set_model(atoms, "a-SiO.extxyz")
    m = window.measured
    (step,) = steps_of(m.current)
    assert step.info["r"] == pytest.approx(3.0, abs=0.1)
    assert m.aligned.meta["shift_ev"] == pytest.approx(1.5, abs=0.1)
    own = m.explanation.classes.fractions
    np.testing.assert_allclose(m.fit.fractions, own, atol=0.02)
    assert m.fit.r2 > 0.99

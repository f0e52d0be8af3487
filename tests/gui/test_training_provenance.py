"""Predict panel after the training audit: Show trained sites highlights the atoms a model trained
here learnt from, and the summary says where a model came from (file, time, version, descriptor)."""
import os

import numpy as np
import pytest

from amorpha.engine.surrogate.active import ActiveParams
from amorpha.engine.surrogate.model import SpectrumModel

from tests.gui.test_prediction import BondCalculator, model_file, rule_model, show, silica  # noqa: F401 (fixtures)


@pytest.fixture(autouse=True)
def no_preferences(monkeypatch):
    monkeypatch.setattr("amorpha.gui.main_window.save_preferences", lambda *a, **k: None)


def test_show_trained_sites_highlights_the_atoms_the_calculator_was_asked_for(qtbot, empty_window, silica,
                                                                              model_file):
    window = empty_window
    prediction, panel = window.prediction, window.prediction_panel
    atoms = silica.copy()
    show(qtbot, window, atoms)
    with qtbot.waitSignal(prediction.prediction_settled, timeout=60000):
        prediction.set_model(SpectrumModel.load(model_file))
    panel.sites_button.click()  # a loaded model: its sites are not known, nothing is highlighted
    assert "which sites it learnt from is not known" in panel.status.text()
    assert len(window.viewer.selection) == 0

    prediction._calculator = lambda element=None, edge="K": BondCalculator()
    with qtbot.waitSignal(prediction.prediction_settled, timeout=60000):
        prediction.train(ActiveParams(strategy="farthest", n_initial=3, batch=2, max_calls=7, regressor="ridge"), "Si")
    learner = prediction.learner
    assert prediction.model.n_train == 7 and panel.sites_button.isEnabled()
    panel.sites_button.click()
    selected = window.viewer.selection
    assert sorted(selected.tolist()) == sorted(np.flatnonzero(atoms.numbers == 14)[learner.labelled].tolist())
    assert "7 Si atoms the model was trained on are highlighted in the viewer (atoms " in panel.status.text()
    assert str(int(np.sort(selected)[0])) in panel.status.text()

    show(qtbot, window, silica.copy())  # the same atoms, another structure object: not the trained one
    panel.sites_button.click()
    assert "trained on another structure (3000 atoms)" in panel.status.text()


def test_the_summary_says_where_a_model_came_from(qtbot, empty_window, silica, model_file, tmp_path):
    window = empty_window
    prediction, panel = window.prediction, window.prediction_panel
    show(qtbot, window, silica.copy())
    with qtbot.waitSignal(prediction.prediction_settled, timeout=60000):
        prediction.set_model(SpectrumModel.load(model_file))
    text = panel.summary.text()
    assert "from rule.amodel · trained 20" in text and "Amorpha 0.1.0" in text
    assert "SOAP r_cut" in text and "n_max" in text and "σ" in text
    assert os.fspath(model_file) in panel.summary.toolTip()

    trained = SpectrumModel.load(rule_model(silica, "Si", tmp_path / "here.amodel"))
    trained.source_path = trained.written_by = ""  # as Train on this model… leaves it
    with qtbot.waitSignal(prediction.prediction_settled, timeout=60000):
        prediction.set_model(trained)
    assert " in this window · SOAP" in panel.summary.text() and panel.summary.toolTip() == ""

    trained.trained_at = ""  # a file written before the training time was stored
    trained.save(tmp_path / "old.amodel")
    with qtbot.waitSignal(prediction.prediction_settled, timeout=60000):
        prediction.set_model(SpectrumModel.load(tmp_path / "old.amodel"))
    assert "from old.amodel · trained: unknown · Amorpha" in panel.summary.text()


def test_the_built_in_model_says_it_is_built_in():
    """The shipped models predate the stored training time: "trained: unknown" on the model
    every new window shows read as a fault."""
    from amorpha.gui.panels.prediction_panel import provenance
    from amorpha.gui.prediction import default_model_path

    shipped = SpectrumModel.load(default_model_path())
    assert not shipped.trained_at
    assert provenance(shipped)[0].startswith("from Si-K-xtb.amodel · built in (make models) · Amorpha ")

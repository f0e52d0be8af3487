"""Predict panel after a training, follow-ups: the learning curve exports as CSV and as a picture,
a click on a trained atom draws the reference spectrum the model learnt for it, the trained sites
come back with a project, and the summary names the file a model was saved to or read from."""
import csv
import os

import numpy as np
import pytest
from PySide6.QtWidgets import QFileDialog

from amorpha.engine.surrogate.active import ActiveParams
from amorpha.engine.surrogate.model import SpectrumModel

from tests.gui.test_prediction import BondCalculator, model_file, show, silica  # noqa: F401 (fixtures)

PARAMS = ActiveParams(strategy="farthest", n_initial=3, batch=2, max_calls=7, regressor="ridge")


@pytest.fixture(autouse=True)
def no_preferences(monkeypatch):
    monkeypatch.setattr("amorpha.gui.main_window.save_preferences", lambda *a, **k: None)


def train(qtbot, window):
    """A fast training on the shown structure's Si sites (the bond rule as the calculator)."""
    prediction = window.prediction
    prediction._calculator = lambda element=None, edge="K": BondCalculator()
    with qtbot.waitSignal(prediction.prediction_settled, timeout=60000):
        prediction.train(PARAMS, "Si")
    assert prediction.model.n_train == 7
    return prediction.learner


def save_to(monkeypatch, path):
    """The next file dialogs answer ``path``; the list records each dialog's title."""
    asked = []

    def answer(parent, title, *args, **kwargs):
        asked.append(title)
        return str(path), ""
    monkeypatch.setattr(QFileDialog, "getSaveFileName", answer)
    return asked


def test_the_learning_curve_exports_as_csv_and_as_a_picture(qtbot, empty_window, silica, model_file, tmp_path,
                                                            monkeypatch):
    window = empty_window
    prediction, panel = window.prediction, window.prediction_panel
    show(qtbot, window, silica.copy())
    with qtbot.waitSignal(prediction.prediction_settled, timeout=60000):
        prediction.set_model(SpectrumModel.load(model_file))  # no curve stored with it
    asked = save_to(monkeypatch, tmp_path / "none.csv")
    panel.curve_csv_button.click()
    assert "There is no learning curve to export" in window.last_error and not asked
    panel.curve_image_button.click()
    assert not asked and not os.listdir(tmp_path)

    learner = train(qtbot, window)
    window.last_error = ""
    save_to(monkeypatch, tmp_path / "curve.csv")
    panel.curve_csv_button.click()
    assert window.last_error == ""
    with open(tmp_path / "curve.csv", encoding="utf-8") as f:
        lines = f.read().splitlines()
    comments = [line for line in lines if line.startswith("#")]
    assert any("RMSE" in c and "intensity units" in c and "the next sites, before learning them" in c
               for c in comments)
    table = list(csv.reader(line for line in lines if not line.startswith("#")))
    assert table[0] == ["calculator calls", "RMSE active (farthest)"]
    assert [int(r[0]) for r in table[1:]] == learner.curve.calls
    np.testing.assert_allclose([float(r[1]) for r in table[1:]], learner.curve.rmse, rtol=1e-5)

    for name in ("curve.png", "curve.svg"):
        save_to(monkeypatch, tmp_path / name)
        panel.curve_image_button.click()
        assert os.path.getsize(tmp_path / name) > 1000 and window.last_error == ""
    assert open(tmp_path / "curve.png", "rb").read(4) == b"\x89PNG"


def test_a_click_on_a_trained_atom_draws_the_reference_spectrum_it_learnt(qtbot, empty_window, silica):
    window = empty_window
    prediction, plot = window.prediction, window.spectrum_panel
    atoms = silica.copy()
    show(qtbot, window, atoms)
    learner = train(qtbot, window)
    silicon = np.flatnonzero(atoms.numbers == 14)
    trained = silicon[learner.labelled]
    window.prediction_panel.sites_button.click()
    assert "click one to draw its reference spectrum" in window.prediction_panel.status.text()

    other = int(np.setdiff1d(silicon, trained)[0])
    window.select_atom(other)  # not learnt from: its prediction alone
    assert len(plot.group("site")) == 1 and plot.group("reference") == []

    atom = int(trained[3])
    window.select_atom(atom)
    window.select_atom(atom)  # a second click draws nothing twice
    (reference,) = plot.group("reference")
    assert [s.site for s in plot.group("site")] == [other, atom]
    assert reference.site == atom and reference.label == (
        f"Si K atom {atom} (bond-distance rule (test), training spectrum)")
    computed = BondCalculator().site_spectrum(atoms, atom)  # what the calculator gave for it
    np.testing.assert_allclose(reference.intensity, computed.intensity)
    np.testing.assert_array_equal(reference.energy, prediction.model.energy)


def test_the_trained_sites_come_back_with_a_project(qtbot, empty_window, silica, reopen, tmp_path):
    window = empty_window
    show(qtbot, window, silica.copy())
    learner = train(qtbot, window)
    trained = np.flatnonzero(window.atoms.numbers == 14)[learner.labelled]
    path = tmp_path / "trained.amorpha"
    with qtbot.waitSignal(window.project.saved, timeout=30000):
        window.project.save(str(path))

    other = reopen(path)
    other.prediction_panel.sites_button.click()
    assert sorted(other.viewer.selection.tolist()) == sorted(trained.tolist())
    assert "7 Si atoms the model was trained on are highlighted" in other.prediction_panel.status.text()
    other.select_atom(int(trained[0]))  # and what it learnt for them is drawn from the saved model
    (reference,) = other.spectrum_panel.group("reference")
    assert reference.site == int(trained[0]) and "training spectrum" in reference.label


def test_the_summary_names_the_file_a_model_was_saved_to_or_read_from(qtbot, empty_window, silica, reopen,
                                                                      tmp_path):
    window = empty_window
    prediction, panel = window.prediction, window.prediction_panel
    show(qtbot, window, silica.copy())
    train(qtbot, window)
    assert " in this window · " in panel.summary.text()
    prediction.cross_validate()
    qtbot.waitUntil(lambda: "cross-validation" in panel.cv_label.text(), timeout=30000)
    prediction.save(str(tmp_path / "mine.amodel"))
    qtbot.waitUntil(lambda: "Saved " in panel.status.text(), timeout=30000)
    assert " in this window, saved to mine.amodel · SOAP" in panel.summary.text()
    assert "cross-validation" in panel.cv_label.text()  # the same model described again: it stays
    assert os.fspath(tmp_path / "mine.amodel") in panel.summary.toolTip()

    path = tmp_path / "work.amorpha"
    with qtbot.waitSignal(window.project.saved, timeout=30000):
        window.project.save(str(path))
    other = reopen(path)
    text, tip = other.prediction_panel.summary.text(), other.prediction_panel.summary.toolTip()
    assert "from project work.amorpha · trained 20" in text and "model.amodel" not in text
    assert os.fspath(path) in tip and "amorpha-project-" not in tip


@pytest.mark.parametrize("which, problem", [
    ("O", "not all of them are Si atoms"),
    ("few", "3 atoms for the model's 80 training spectra"),
])
def test_saved_sites_that_do_not_fit_the_model_are_left_out_and_named(tmp_path, silica, model_file, which, problem):
    from amorpha.engine.project import Project, save_project
    from amorpha.gui.project_io import MODEL_KEY, _read_project

    oxygen, silicon = (np.flatnonzero(silica.numbers == z) for z in (8, 14))
    sites = oxygen[:80] if which == "O" else silicon[:3]
    save_project(Project(structures={MODEL_KEY: silica}, models={"surrogate": SpectrumModel.load(model_file)},
                         trained_sites={"surrogate": (MODEL_KEY, sites)}), tmp_path / "p.amorpha", extxyz=False)
    project, notes = _read_project(str(tmp_path / "p.amorpha"))
    assert project.trained_sites == {} and "surrogate" in project.models
    assert notes == [f"the sites the spectrum model learnt from ({problem})"]

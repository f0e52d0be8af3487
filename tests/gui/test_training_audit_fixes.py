"""Fixes from the audit of surrogate training in the window: Cancel of a training neither freezes
the window nor drops the spectra computed (the model of them is fitted in a worker); one training
action at a time; the model keeps its scores and curve, drawn with words; "Compare with random"
says what its plot shows; Train from folder shows what it skipped."""
import time

import numpy as np
import pytest

from amorpha.engine.surrogate.active import ActiveParams, LearningCurve
from tests.gui.slowed import slowed
from tests.gui.stall_monitor import StallMonitor
from tests.gui.test_prediction import BondCalculator, SlowCalculator, legend_names, show


@pytest.fixture(autouse=True)
def no_saved_preferences(monkeypatch):
    monkeypatch.setattr("amorpha.gui.main_window.save_preferences", lambda prefs: None)


@pytest.fixture(scope="module")
def silica():
    from amorpha.engine.examples import load_example

    return load_example("a-SiO2")


def training(window, silica, calculator, qtbot, **kw):
    show(qtbot, window, silica.copy())
    window.prediction._calculator = lambda element=None, edge="K": calculator
    params = ActiveParams(**{"strategy": "farthest", "regressor": "ridge", "n_initial": 3, "batch": 30,
                             "max_calls": 900, **kw})
    return window.prediction.train(params, "Si")


def progress_of(window, task):
    said = []
    task.signals.progress.connect(lambda f, m: said.append((f, m)))
    return said


def test_cancel_keeps_the_round_so_far_without_freezing_the_window(qtbot, empty_window, silica, monkeypatch):
    """Cancel fitted the model of what was learnt on the window's thread (3.2 s frozen), and
    dropped the sites of the round under way; the bar stood still for the whole round."""
    from amorpha.engine.surrogate.model import SpectrumModel

    window = empty_window
    cancelled = []
    monkeypatch.setattr(SpectrumModel, "train", classmethod(slowed(SpectrumModel.train.__func__, 1.0,
                                                                   when=lambda *a, **k: bool(cancelled))))
    task = training(window, silica, SlowCalculator(), qtbot)
    said = progress_of(window, task)
    qtbot.waitUntil(lambda: any(m.startswith("round 2, site 9 of 30") for _, m in said), timeout=60000)
    assert window.prediction_panel.train_button.isEnabled() is False  # one training at a time
    fractions = [f for f, m in said if m.startswith("round 2")]
    assert len(set(fractions)) >= 3  # the bar moves within the round
    with StallMonitor() as monitor:
        start = time.monotonic()
        cancelled.append(True)
        with qtbot.waitSignal(window.runner.task_finished, timeout=2000,
                              check_params_cb=lambda handle, state: handle is task):
            task.cancel()
        stopped = time.monotonic() - start
        with qtbot.waitSignal(window.prediction.model_changed, timeout=30000):
            pass
        qtbot.wait(200)
    assert stopped < 0.6
    assert monitor.worst < 0.5, monitor.report()
    model = window.prediction.model
    assert model.n_train >= 3 + 8  # the starting sites and those of round 2 finished before Cancel
    status = window.prediction_panel.status.text()
    assert f"Cancelled: {model.n_train} bond-distance rule (test) spectra kept, model trained on them" in status
    assert "r2" in model.metrics  # measured on sites not trained on, as a finished run's
    qtbot.waitUntil(lambda: window.prediction_panel.train_button.isEnabled(), timeout=10000)


def test_cancel_with_too_few_spectra_keeps_the_model_in_use_and_says_so(qtbot, empty_window, silica):
    window = empty_window
    calculator = BondCalculator()
    plain, started = calculator.compute, []

    def compute(environment, cancel=None, progress=None):
        """Slow, and counted: once the 2nd has begun, its site is past its last Cancel check, and a
        Cancel lands before the next site (waiting for the "site 2 of 20" report raced that check
        under load: then only 1 was kept)."""
        started.append(1)
        time.sleep(0.4)
        return plain(environment, cancel, progress)
    calculator.compute = compute
    task = training(window, silica, calculator, qtbot, n_initial=20)
    qtbot.waitUntil(lambda: len(started) >= 2, timeout=60000)
    task.cancel()
    qtbot.waitUntil(lambda: "Cancelled:" in window.prediction_panel.status.text(), timeout=10000)
    assert window.prediction.model is None
    assert "Cancelled: 2 spectra kept, fewer than the 3 a model needs; no model is in use" in \
        window.prediction_panel.status.text()


def test_a_second_training_is_refused_while_one_runs(qtbot, empty_window, silica):
    """Two runs at once raced, and the last to end silently became the model."""
    window = empty_window
    task = training(window, silica, SlowCalculator(), qtbot)
    panel = window.prediction_panel
    assert not any(b.isEnabled() for b in (panel.train_button, panel.folder_button, panel.compare_button,
                                           panel.import_button, panel.export_button))
    with qtbot.waitSignal(window.error_shown, timeout=5000) as blocker:
        assert window.prediction.train(ActiveParams(), "Si") is None
    assert "still running" in blocker.args[0]
    task.cancel()
    qtbot.waitUntil(lambda: panel.train_button.isEnabled() and panel.compare_button.isEnabled(), timeout=10000)


def test_a_finished_training_keeps_scores_and_curve_and_says_why_it_stopped(qtbot, empty_window, silica):
    window = empty_window
    with qtbot.waitSignal(window.prediction.model_changed, timeout=60000):
        training(window, silica, BondCalculator(), qtbot, batch=3, max_calls=60, target_rmse=10.0)
    panel = window.prediction_panel
    model = window.prediction.model
    assert model.metrics["learning_curve"]["calls"] == [6] and "r2" in model.metrics
    assert "(stopped: RMSE " in panel.status.text() and "at or below the target 10 after 6 calls" in panel.status.text()
    assert "held-out R²" in panel.summary.text() and "cross-validation on its 6 training sites" in panel.summary.text()
    assert legend_names(panel) == ["active (farthest)"]
    assert panel.curve_plot.getAxis("left").labelText == "RMSE (next sites, before learnt)"
    assert "before it learnt them" in panel.curve_plot.toolTip()
    # an edge switch and back keeps the curve (stored with the model)
    window.prediction.choose("O K") if "O K" in window.prediction.models else window.prediction.set_model(None)
    window.prediction.set_model(model)
    assert legend_names(panel) == ["training (the next sites, before learning them)"]


def test_compare_summary_counts_calls_to_an_error_both_reach():
    """The audit's folder run: random at 0.0437 by 25 calls, active there at 40; random's last
    point (0.04344 at 60) above its own at 55: "Active reached random's final error in 40 calls
    (0.67×)" while the plot showed random there first."""
    from amorpha.gui.prediction import compare_summary

    calls = list(range(10, 65, 5))
    random = LearningCurve("random", calls, [0.08, 0.06, 0.05, 0.0437, 0.0436, 0.0436, 0.0437, 0.0436,
                                             0.0435, 0.0430, 0.04344])
    active = LearningCurve("variance", calls, [0.08, 0.07, 0.06, 0.05, 0.046, 0.044, 0.0436, 0.0431,
                                               0.0425, 0.042, 0.041])
    text = compare_summary({"variance": active, "random": random}, "variance")
    assert text.startswith("Both reach RMSE 0.043: active (variance reduction) first at 50 calls, random at 55 (0.91×")
    random.rmse[-2] = 0.0437  # random's lowest now 0.04344 at 60
    text = compare_summary({"variance": active, "random": random}, "variance")
    assert "Both reach RMSE 0.04344: active (variance reduction) first at 45 calls, random at 60 (0.75×" in text
    only = compare_summary({"variance": active}, "variance")
    assert only.startswith("Active (variance reduction): RMSE 0.041 after 60 calls") and "nothing to compare" in only


def test_cross_validation_explains_a_negative_r2(qtbot, empty_window, silica, monkeypatch):
    window = empty_window
    with qtbot.waitSignal(window.prediction.model_changed, timeout=60000):
        training(window, silica, BondCalculator(), qtbot, batch=3, max_calls=9)
    monkeypatch.setattr("amorpha.engine.surrogate.model.cross_validate",
                        lambda *a, **k: {"r2": -0.222, "cosine_mean": 0.99, "cosine_min": 0.97,
                                         "peak_error_ev": 0.3, "folds": 5})
    window.prediction.cross_validate()
    qtbot.waitUntil(lambda: "R² -0.222" in window.prediction_panel.cv_label.text(), timeout=10000)
    assert "below 0: these sites differ less from each other than from the predictions" in \
        window.prediction_panel.cv_label.text()


def test_train_from_folder_shows_what_it_skipped_and_asks_edges_in_its_words(qtbot, empty_window, tmp_path,
                                                                             monkeypatch):
    """A pairs folder with an H-first pair was asked about "as a CASTEP run writes every edge";
    lonely.txt was not reported, the skipped files only in a tooltip past "…"."""
    import amorpha.gui.prediction as prediction_module
    from tests.test_training_audit_fixes import pairs

    window = empty_window
    folder = pairs(tmp_path / "f", [0, 0, 0, 0, 0, 40])
    asked = []
    monkeypatch.setattr(prediction_module.QInputDialog, "getItem",
                        lambda parent, title, text, items, current, editable: (
                            asked.append(text), (next(i for i in items if i.startswith("S K")), True))[1])
    from ase import Atoms

    from amorpha.engine.io import write_extxyz

    write_extxyz(Atoms("HS", positions=[[0, 0, 0], [1.3, 0, 0]]), folder / "h.xyz")
    np.savetxt(folder / "h.txt", np.column_stack([np.linspace(2395, 2445, 51), np.ones(51)]))
    with qtbot.waitSignal(window.error_shown, timeout=120000) as blocker:
        window.prediction.train_from_folder(str(folder))
    assert asked and "CASTEP" not in asked[0] and "absorbing atom" in asked[0]
    assert blocker.args[0].startswith(f"Trained on 5 S K sites of {folder}; 2 files skipped:")
    assert "• lonely.txt: no structure" in blocker.args[0] and "• p5: covers 2435–2485 eV" in blocker.args[0]
    assert window.prediction.model.n_train == 5


def test_a_model_of_an_element_the_structure_lacks_joins_the_list_without_emptying_the_plot(
        qtbot, empty_window, silica, tmp_path):
    """A Cu K (here: S K) model loaded on a-SiO2 became the model in use and emptied the plot."""
    from dataclasses import replace

    from amorpha.engine.surrogate.model import SpectrumModel
    from tests.gui.test_prediction import rule_model

    window = empty_window
    show(qtbot, window, silica.copy())
    with qtbot.waitSignal(window.prediction.prediction_settled, timeout=60000):
        window.prediction.load(str(rule_model(silica, "Si", tmp_path / "Si.amodel")))
    in_use = window.prediction.model
    other = SpectrumModel.load(tmp_path / "Si.amodel")
    x, y = other._training
    from amorpha.engine.spectra import SiteSpectra

    s_model = SpectrumModel.train(x, SiteSpectra(other.energy, y, np.arange(len(y)), "S", "K", "rule"),
                                  other.descriptor, other.params)
    s_model.save(tmp_path / "S.amodel")
    task = window.prediction.load(str(tmp_path / "S.amodel"))
    qtbot.waitUntil(lambda: task.finished, timeout=30000)
    assert window.prediction.model is in_use and "S K" in window.prediction.models
    assert len(window.spectrum_panel.group("predicted")) == 1
    assert "has no S: the Si K model stays in use" in window.prediction_panel.status.text()


def test_a_truncated_model_file_is_called_damaged_or_incomplete(tmp_path, silica):
    from amorpha.engine.errors import ReadError
    from amorpha.engine.surrogate.model import SpectrumModel
    from tests.gui.test_prediction import rule_model

    whole = rule_model(silica, "Si", tmp_path / "Si.amodel").read_bytes()
    (tmp_path / "cut.amodel").write_bytes(whole[: len(whole) // 2])
    with pytest.raises(ReadError, match="damaged or incomplete model file"):
        SpectrumModel.load(tmp_path / "cut.amodel")
    (tmp_path / "text.amodel").write_text("not a model")
    with pytest.raises(ReadError, match="not an Amorpha spectrum model"):
        SpectrumModel.load(tmp_path / "text.amodel")


def test_colouring_by_a_feature_that_is_the_same_everywhere_says_so(qtbot, empty_window, silica, tmp_path,
                                                                     monkeypatch):
    from amorpha.engine.spectra.spectrum import SiteSpectra
    from tests.gui.test_prediction import rule_model

    window = empty_window
    show(qtbot, window, silica.copy())
    with qtbot.waitSignal(window.prediction.prediction_settled, timeout=60000):
        window.prediction.load(str(rule_model(silica, "Si", tmp_path / "Si.amodel")))
    monkeypatch.setattr(SiteSpectra, "feature", lambda self, key, at=None, energy=None:
                        np.full(len(self.sites), 8998.81))
    window.prediction_panel.show_feature("edge_energy")
    window.prediction.colour_atoms()
    assert "8998.81 at every site, the same for all of them" in window.prediction_panel.status.text()


def test_a_failed_import_does_not_keep_the_last_loops_words(qtbot, empty_window, silica, tmp_path):
    window = empty_window
    show(qtbot, window, silica.copy())
    window.prediction_panel.status.setText("Learnt from 8 imported Si K spectra (8 new).")
    with qtbot.waitSignal(window.error_shown, timeout=60000):
        window.prediction.import_results(str(tmp_path))  # no results there
    assert window.prediction_panel.status.text().startswith(f"Importing results from {tmp_path} failed")

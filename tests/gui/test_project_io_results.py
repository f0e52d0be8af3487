"""What a project keeps of the results: the Order panel's curve (g(r), S(q) or bond angles) comes
back drawn under the same kind and exportable again, a damaged one is left out and named; the
predicted site spectra are not kept (the saved surrogate predicts them again)."""
import numpy as np
import pytest

from amorpha.engine.build.crystals import beta_cristobalite
from amorpha.engine.order.structure_factor import StructureFactorParams
from amorpha.engine.project import AnalysisResult
from amorpha.gui.panels.order_panel import SQ
from amorpha.gui.project_io import ORDER_CURVE_KEY, _order_curve_problem


@pytest.fixture(autouse=True)
def no_preferences_saved(monkeypatch):
    monkeypatch.setattr("amorpha.gui.main_window.save_preferences", lambda *a, **k: None)


def _reopened(qtbot, path):
    from amorpha.gui.main_window import MainWindow

    other = MainWindow()
    qtbot.addWidget(other)
    with qtbot.waitSignal(other.project.restored, timeout=60000):
        other.open_path(str(path))
    return other


def test_the_structure_factor_comes_back(qtbot, empty_window, tmp_path):
    window = empty_window
    with qtbot.waitSignal(window.model_ready, timeout=60000):
        window.set_model(beta_cristobalite((3, 3, 3)), "cristobalite")
    window.order_panel.kind.setCurrentIndex(1)  # S(q)
    window.compute_distribution(SQ, StructureFactorParams(weighting="neutron"))
    qtbot.waitUntil(lambda: window.order_panel.curve_kind == SQ, timeout=60000)
    saved = window.order_panel.curve_result
    with qtbot.waitSignal(window.project.saved, timeout=30000):
        window.project.save(str(tmp_path / "sq.amorpha"))
    other = _reopened(qtbot, tmp_path / "sq.amorpha")
    try:
        panel = other.order_panel
        assert panel.curve_kind == SQ and panel._kind() == SQ
        assert panel.curve_result.weighting == "neutron"
        assert np.array_equal(panel.curve_result.S, saved.S) and np.array_equal(panel.curves[2]["total"], saved.S)
        assert panel.export_csv_button.isEnabled() and "Neutron weighting" in panel.dist_note.text()
        panel.write_csv(tmp_path / "again.csv")
        assert "neutron" in (tmp_path / "again.csv").read_text()
    finally:
        other.runner.cancel_all()
        other.runner.wait(5000)


def test_a_damaged_curve_is_named(qtbot, empty_window):
    from amorpha.engine.order.pairs import RdfParams, compute_rdf

    result = compute_rdf(beta_cristobalite((2, 2, 2)), RdfParams(r_max=5.0))
    assert _order_curve_problem(AnalysisResult.from_dataclass(result, "model")) is None
    entry = AnalysisResult.from_dataclass(result, "model")
    entry.arrays["g"] = entry.arrays["g"][:-3]
    assert "its g does not fit its r axis" in _order_curve_problem(entry)
    entry = AnalysisResult.from_dataclass(result, "model")
    entry.arrays["partials"] = np.full_like(entry.arrays["partials"], np.nan)
    assert "partials" in _order_curve_problem(entry)
    entry = AnalysisResult.from_dataclass(result, "model")
    del entry.params["weighting"]
    assert "cannot be rebuilt" in _order_curve_problem(entry)
    entry = AnalysisResult("amorpha.engine.order.rings:RingResult", {}, {}, "model")
    assert _order_curve_problem(entry)
    assert ORDER_CURVE_KEY == "order curve"


def test_predicted_site_spectra_are_made_again_not_saved(qtbot, empty_window):
    """A 10⁶-atom a-SiO2 project held 788 MB of predicted spectra that opening never read (it
    predicts again with the saved model) and every autosave rewrote them."""
    from amorpha.engine.surrogate.model import SpectrumModel
    from amorpha.gui.prediction import default_model_path

    window = empty_window
    with qtbot.waitSignal(window.model_ready, timeout=60000):
        window.set_model(beta_cristobalite((2, 2, 2)), "cristobalite")
    with qtbot.waitSignal(window.prediction.prediction_settled, timeout=120000):
        window.prediction.set_model(SpectrumModel.load(default_model_path()))
    assert window.prediction.predicted is not None
    project = window.project.snapshot()
    assert not project.site_spectra and "surrogate" in project.models

"""The GB Search panel says before Run when Bayesian optimisation will spend long choosing (10⁶
candidates: seconds a candidate) and when grains are too thin to hold bulk; virtual screening
learns at the lattice constant the oracle relaxes at (EMT's Cu: 3.590 Å), as it ranks."""
import pytest

from .test_gb_panel import run, tiny


@pytest.fixture
def window(empty_window, monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))  # no evaluations from earlier runs
    monkeypatch.setattr("amorpha.gui.main_window.save_preferences", lambda *a, **k: None)
    return empty_window


def test_the_count_line_warns_of_slow_bo_and_thin_grains(qtbot):
    from amorpha.gui.panels import gb_panel

    panel = gb_panel.GbPanel()
    qtbot.addWidget(panel)
    panel.select_boundary("Cu", 5, (3, 1, 0))
    panel.thickness.setValue(20.0)
    panel.strategy.set_value("bo")
    panel.budget.setValue(100)
    assert "⚠" not in panel.count_label.text()  # the default grid: 1,368 candidates
    panel.dx.setValue(0.01)
    panel.dy.setValue(0.01)
    panel.removal.setText("0.7")  # 362 × 572 translations × 3 dz × 1 threshold
    text = panel.count_label.text()
    assert "621,192 candidates" in text
    assert "Bayesian optimisation over 621,192 candidates will spend about" in text
    assert "fewer translations or random order are quicker" in text
    panel.strategy.set_value("random")
    assert "Bayesian optimisation" not in panel.count_label.text()
    panel.thickness.setValue(6.0)
    assert "Grains of 6 Å are thinner than 10.3 Å" in panel.count_label.text()


def test_screening_learns_at_the_oracles_lattice_constant(qtbot, window, monkeypatch):
    from amorpha.engine.gb import screening

    seen = []
    descriptors = screening.descriptors

    def recorded(candidates, a=None, *args, **kwargs):
        seen.append(a)
        return descriptors(candidates, a, *args, **kwargs)

    monkeypatch.setattr(screening, "descriptors", recorded)
    panel, gb = window.gb_panel, window.gb_search
    tiny(panel, plane=(2, 1, 0), budget=3)
    assert run(qtbot, window) == "done"
    tiny(panel, strategy="screening", budget=1)
    assert run(qtbot, window) == "done"
    a = gb.result.reference.a
    assert a == pytest.approx(3.5898, abs=2e-4)  # EMT's own, not the builder's 3.615
    assert seen == [pytest.approx(a)] * 2  # training (fit) and ranking alike

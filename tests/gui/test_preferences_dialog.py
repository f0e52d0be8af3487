"""File › Preferences in the window: colours, radii and cutoffs apply now and at the next start."""
import numpy as np
import pytest
from PySide6.QtWidgets import QDialogButtonBox, QFormLayout

from amorpha.engine.build.crystals import beta_cristobalite
from amorpha.engine.preferences import load_preferences
from amorpha.gui.panels.structure_panel import set_length_unit
from amorpha.gui.viewer.structure_viewer import set_element_style


@pytest.fixture(autouse=True)
def own_config(monkeypatch, tmp_path):
    """These tests save preferences: keep them (and the viewer's style) away from other tests."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    yield
    set_element_style({}, {})
    set_length_unit("Å")


def test_preferences_apply_and_persist(qtbot, empty_window):
    window = empty_window
    with qtbot.waitSignal(window.model_ready, timeout=60000):
        window.set_model(beta_cristobalite((1, 1, 1)), "cristobalite")
    assert window.bond_list.n_pairs > 0
    dialog = window.preferences_dialog()
    dialog.prefs.element_colors["Si"] = "#00ff00"
    dialog.table.cellWidget(dialog._rows.index("O"), 2).setValue(0.3)
    dialog.cutoffs.setPlainText("Si-O = 0   # no Si–O bonds\n")
    dialog.length_unit.setCurrentText("nm")
    with qtbot.waitSignal(window.model_ready, timeout=60000):
        dialog.buttons.button(QDialogButtonBox.Ok).click()
    si = int(np.flatnonzero(window.atoms.numbers == 14)[0])
    o = int(np.flatnonzero(window.atoms.numbers == 8)[0])
    np.testing.assert_allclose(window.viewer._element_colors[si, :3], [0, 1, 0], atol=1e-6)
    assert window.viewer._radii[o] == np.float32(0.3)
    assert window.bond_list.n_pairs == 0
    summary = window.structure_panel.summary
    labels = [summary.itemAt(k, QFormLayout.LabelRole).widget().text() for k in range(summary.rowCount())
              if summary.itemAt(k, QFormLayout.LabelRole) is not None]
    assert "Cell (nm)" in labels and "Volume (nm³)" in labels
    saved, ignored = load_preferences()
    assert saved.element_colors == {"Si": "#00ff00"} and saved.cutoffs == {"Si-O": 0.0} and not ignored
    assert saved.length_unit == "nm"


def test_a_bad_cutoff_line_keeps_the_dialog_open(qtbot, empty_window):
    dialog = empty_window.preferences_dialog()
    dialog.cutoffs.setPlainText("Si-O: 2.0")
    dialog.buttons.button(QDialogButtonBox.Ok).click()
    assert dialog.isVisible() and "A-B = distance" in dialog.error.text()
    dialog.cutoffs.setPlainText("Si-O = 2.0\nO-Si = 1.0")  # editing clears the old complaint
    assert dialog.error.text() == ""
    dialog.buttons.button(QDialogButtonBox.Ok).click()  # one pair twice: not the last silently
    assert dialog.isVisible() and "O-Si is given twice (lines 1 and 2)" in dialog.error.text()


def test_core_hole_choice_reaches_the_calculator(qtbot, empty_window):
    """The default reference is the full Z+1 core hole (the built-in Si K model's); the dialog
    offers the excited one and none, and the choice builds the calculator's settings."""
    from amorpha.engine.surrogate.pipeline import default_calculator

    dialog = empty_window.preferences_dialog()
    assert dialog.core_hole.currentData() == "full"
    assert default_calculator(dialog.result_preferences().calculator, cache=False).params.core_hole_model == "full"
    dialog.core_hole.setCurrentIndex(dialog.core_hole.findData("excited"))
    assert default_calculator(dialog.result_preferences().calculator, cache=False).params.core_hole_model == "excited"
    assert default_calculator(dialog.result_preferences().calculator, cache=False).params.radii() == (4.8, 5.0, 5.2)
    assert [dialog.points.itemData(k) for k in range(dialog.points.count())] == [3, 5, 7, 9]  # R in the middle
    dialog.points.setCurrentIndex(dialog.points.findData(5))
    dialog.spread.setValue(0.4)
    assert default_calculator(dialog.result_preferences().calculator, cache=False).params.radii() == \
        pytest.approx((4.6, 4.8, 5.0, 5.2, 5.4))
    dialog.spread.setValue(0.0)
    assert default_calculator(dialog.result_preferences().calculator, cache=False).params.radii() == (5.0,)
    dialog.spread.setValue(2.0)  # more than a quarter of the radius: the dialog says so
    dialog.buttons.button(QDialogButtonBox.Ok).click()
    assert dialog.isVisible() and "radius spread" in dialog.error.text()
    dialog.spread.setValue(0.2)
    dialog.core_hole.setCurrentIndex(dialog.core_hole.findData("none"))
    dialog.reference.setCurrentIndex(dialog.reference.findData("lumo"))  # ΔSCF needs a core hole
    settings = dialog.result_preferences().calculator
    assert settings["core_hole"] is False and default_calculator(settings, cache=False).params.core_hole is False
    assert "geometry" not in settings  # clusters, as before the choice existed
    assert dialog.radius.isEnabled() and not dialog.cell_width.isEnabled()
    dialog.geometry.setCurrentIndex(dialog.geometry.findData("periodic"))
    assert dialog.cell_width.isEnabled() and not dialog.radius.isEnabled()
    dialog.cell_width.setValue(10.0)
    params = default_calculator(dialog.result_preferences().calculator, cache=False).params
    assert (params.geometry, params.cell_min_width, params.radii()) == ("periodic", 10.0, ())
    from amorpha.engine.preferences import Preferences
    from amorpha.gui.preferences_dialog import PreferencesDialog

    dialog.geometry.setCurrentIndex(dialog.geometry.findData("cap"))  # the compact cluster: a radius again
    assert dialog.radius.isEnabled() and not dialog.cell_width.isEnabled()
    dialog.radius.setValue(3.5)
    settings = dialog.result_preferences().calculator
    params = default_calculator(settings, cache=False).params
    assert (params.geometry, params.closure, params.radii()) == ("cluster", "cap", pytest.approx((3.3, 3.4, 3.5, 3.6, 3.7)))
    dialog.reject()
    again = PreferencesDialog(Preferences(calculator=settings))  # shown as chosen when reopened
    assert again.geometry.currentData() == "cap" and again.radius.value() == 3.5
    assert (again.e_min.value(), again.e_max.value()) == (-5.0, 25.0)  # XtbParams' own window
    again.e_max.setValue(50.0)  # a transition metal's K edge: the grid keeps its 0.1 eV steps
    grid = default_calculator(again.result_preferences().calculator, cache=False).params.grid()
    assert (grid[0], grid[-1], len(grid)) == (-5.0, 50.0, 551)
    again.reject()

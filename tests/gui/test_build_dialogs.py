"""Build dialogs: parameters are checked before any work, builds run in the background."""
import numpy as np
import pytest
from PySide6.QtWidgets import QDialogButtonBox

from amorpha.engine.build import BuildParameterError
from amorpha.engine.build.crystals import CrystalParams, build_crystal
from amorpha.gui.build_dialogs import spin_of
from amorpha.gui.build_menu import crystal_dialog


def ok_button(dialog):
    return dialog.buttons.button(QDialogButtonBox.Ok)


def test_crystal_dialog_estimates_atoms_and_returns_params(qtbot):
    dialog = crystal_dialog()
    qtbot.addWidget(dialog)
    dialog.editors["name"].set_value("Cu")
    dialog.editors["repeat"].set_value((3, 2, 1))
    dialog.show()
    assert "24 atoms" in dialog.note_label.text()
    accepted = []
    dialog.params_accepted.connect(accepted.append)
    ok_button(dialog).click()
    assert accepted == [CrystalParams("Cu", (3, 2, 1), None)]


def test_absurd_size_is_refused_in_the_dialog(qtbot):
    dialog = crystal_dialog()
    qtbot.addWidget(dialog)
    dialog.show()
    dialog.editors["repeat"].set_value((500, 500, 500))
    assert "repeat" in dialog.error_label.text() and "million" in dialog.error_label.text()
    assert not ok_button(dialog).isEnabled()
    dialog.editors["repeat"].set_value((2, 2, 2))
    assert dialog.error_label.text() == "" and ok_button(dialog).isEnabled()


def test_auto_lattice_constant_reads_back_as_none(qtbot):
    dialog = crystal_dialog()
    qtbot.addWidget(dialog)
    assert dialog.params().a is None
    spin_of(dialog, "a").setValue(4.0)
    assert dialog.params().a == 4.0


@pytest.fixture
def window(empty_window):
    return empty_window


@pytest.mark.gl
def test_build_replaces_the_model_in_the_background(qtbot, window):
    with qtbot.waitSignal(window.model_ready, timeout=60000):
        window.build_model(build_crystal, CrystalParams("Cu", (2, 2, 2)))
    assert len(window.atoms) == 32 and window.viewer.n_atoms == 32
    assert np.all(window.atoms.arrays["coordination"] == 12)
    assert "fcc Cu 2×2×2" in window.windowTitle()


@pytest.mark.gl
def test_failed_build_keeps_the_model_and_says_why(qtbot, window):
    with qtbot.waitSignal(window.model_ready, timeout=60000):
        window.build_model(build_crystal, CrystalParams("Cu", (2, 2, 2)))
    before = window.atoms
    with qtbot.waitSignal(window.error_shown, timeout=30000) as shown:
        window.build_model(build_crystal, CrystalParams("Cu", (0, 2, 2)))
    assert "repeat" in shown.args[0] and "Nothing was changed" in shown.args[0]
    assert window.atoms is before


def test_parameter_error_names_the_parameter():
    err = BuildParameterError("x", "must be between 0 and 2, got 3")
    assert str(err) == "x: must be between 0 and 2, got 3"

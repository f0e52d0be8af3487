"""Analyse › Per-atom energy (EMT model): a Cu bicrystal gets ``energy_excess`` and is coloured
by it; a structure of another element gets a dialog and keeps what it had."""
import numpy as np

from amorpha.engine.build.bicrystal import BicrystalParams, build_bicrystal
from amorpha.engine.build.crystals import unit_cell
from amorpha.gui.atomic_energy_action import COLUMN, LABEL


def show(qtbot, window, atoms):
    with qtbot.waitSignal(window.model_ready, timeout=60000):
        window.set_model(atoms, "test model")


def menu_action(window):
    for menu_action in window.menuBar().actions():
        for action in menu_action.menu().actions():
            if action.text() == LABEL:
                return action
    raise AssertionError(f"no menu action {LABEL!r}")


def test_energy_column_colours_the_boundary(qtbot, empty_window):
    window = empty_window
    show(qtbot, window, build_bicrystal(BicrystalParams("Cu", bulk_thickness=12.0)))
    menu_action(window).trigger()
    qtbot.waitUntil(lambda: COLUMN in window.atoms.arrays, timeout=60000)
    excess = window.atoms.arrays[COLUMN]
    z = window.atoms.positions[:, 2]
    height = window.atoms.cell[2, 2]
    # Boundaries at z = 0 and mid-cell: those atoms are costly, the grains' middles are not.
    near = np.minimum.reduce([np.abs(z), np.abs(z - height / 2), np.abs(z - height)]) < 1.5
    far = np.minimum.reduce([np.abs(z - height / 4), np.abs(z - 3 * height / 4)]) < 1.5
    assert excess[near].mean() > 0.05 and np.abs(excess[far]).mean() < 0.01
    assert window.view_panel.color_key() == COLUMN
    assert "Excess energy" in window.statusBar().currentMessage()


def test_other_elements_are_refused_with_a_message(qtbot, empty_window):
    window = empty_window
    nickel = unit_cell("Cu").repeat(2)
    nickel.symbols[:] = "Ni"
    show(qtbot, window, nickel)
    with qtbot.waitSignal(window.error_shown, timeout=60000) as shown:
        menu_action(window).trigger()
    assert "pure Cu" in shown.args[0] and "Ni" in shown.args[0]
    assert COLUMN not in window.atoms.arrays and len(window.atoms) == 32

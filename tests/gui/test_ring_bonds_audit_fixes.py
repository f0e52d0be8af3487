"""The rings audit's findings about bonds (/tmp/s47 ringaudit): rings of old bonds shown as
current, a ring search with no bonds, absurd cutoffs without a word, cutoffs carried over to the
next model without a note."""
import numpy as np
import pytest
from PySide6.QtWidgets import QPushButton

from amorpha.engine.build.crystals import alpha_quartz
from amorpha.engine.examples import load_example

SI_O, SI_SI = (8, 14), (14, 14)


@pytest.fixture
def window(qtbot, empty_window, monkeypatch):
    monkeypatch.setattr("amorpha.gui.main_window.save_preferences", lambda *a, **k: None)
    return empty_window


def show(qtbot, window, atoms, source):
    with qtbot.waitSignal(window.model_ready, timeout=30000):
        window.set_model(atoms, source)


def apply_cutoff(qtbot, window, pair, value):
    """``pair`` set to ``value`` in the Bonds table and Apply clicked; waits for the new bonds."""
    panel = window.structure_panel
    panel.cutoff_table.cellWidget(panel._pairs.index(pair), 1).setValue(value)
    with qtbot.waitSignal(window.model_ready, timeout=30000):
        next(b for b in panel.findChildren(QPushButton) if b.text() == "Apply cutoffs").click()


def rings(qtbot, window):
    panel = window.rings_panel
    with qtbot.waitSignal(panel.result_shown, timeout=60000):
        panel.compute_button.click()
    return panel.result


def test_new_cutoffs_drop_the_rings_of_the_old_bonds(qtbot, window):
    """a-Si, primitive rings, then Si–Si 2.66 → 2.4 Å: the panel kept the 983 rings of the old
    bonds (histogram, table, summary, atom colours) beside the new bond count."""
    show(qtbot, window, load_example("a-Si"), "a-Si")
    panel = window.rings_panel
    result = rings(qtbot, window)
    assert result.cutoffs == {"Si-Si": pytest.approx(2.664)} and "Si–Si 2.664 Å" in panel.status.text()
    window.view_panel.set_color_key("ring_count")
    apply_cutoff(qtbot, window, SI_SI, 2.4)
    assert panel.result is None and panel.model.rowCount() == 0 and panel.bars is None
    assert "found with Si–Si 2.664 Å" in panel.status.text() and "now Si–Si 2.4 Å" in panel.status.text()
    assert "ring_count" not in window.atoms.arrays and "ring_count" not in window._computed_columns
    again = rings(qtbot, window)  # the new bonds' rings
    assert again.cutoffs == {"Si-Si": 2.4} and again.histogram() != result.histogram()
    apply_cutoff(qtbot, window, SI_SI, 2.4)  # the same cutoffs again: nothing to drop
    assert panel.result is again


def test_a_ring_search_with_no_bonds_is_refused(qtbot, window):
    """Every cutoff 0: Compute rings ran and advised "Raise Max size, or check the bonds"; the
    empty plot's axes read ring sizes 0.2…0.8."""
    show(qtbot, window, alpha_quartz(), "quartz")
    panel = window.structure_panel
    for row in range(len(panel._pairs)):
        panel.cutoff_table.cellWidget(row, 1).setValue(0.0)
    with qtbot.waitSignal(window.model_ready, timeout=30000):
        panel._emit_cutoffs()
    rings_panel = window.rings_panel
    assert rings_panel.status.text().startswith("No bonds: set bond cutoffs in the Structure panel")
    rings_panel.compute_button.click()
    assert rings_panel.status.text().startswith("No bonds") and rings_panel.compute_button.isEnabled()
    assert not any(h.label == "Rings" for h in window.runner.running) and rings_panel.result is None
    for side in ("bottom", "left"):  # no fractional ring sizes or counts on the empty plot
        assert rings_panel.plot.getPlotItem().getAxis(side)._tickLevels == [[], []]


def test_an_absurd_cutoff_is_pointed_out(qtbot, window):
    """A 10 Å Si–O cutoff gave 61,151 bonds without a word; sound cutoffs get no note."""
    show(qtbot, window, alpha_quartz(), "quartz")
    note = window.structure_panel.bond_note
    assert "⚠" not in note.text()
    apply_cutoff(qtbot, window, SI_O, 10.0)
    assert "Si–O cutoff 10 Å is 5.6× the covalent bond length" in note.text()
    assert "mean coordination of Si" in note.text() and "Is this intended?" in note.text()


def test_cutoffs_set_for_one_model_are_kept_for_the_next_and_said_so(qtbot, window):
    """Si–Si 2.4 Å set on a-Si carried over to quartz without a note: kept (a second model of
    the material is compared with the same bonds), said in orange, and Defaults puts them back."""
    show(qtbot, window, load_example("a-Si"), "a-Si")
    panel = window.structure_panel
    assert not panel.defaults_button.isVisibleTo(panel)
    apply_cutoff(qtbot, window, SI_SI, 2.4)
    assert "Not the defaults: Si–Si 2.4 Å (default 2.66 Å)" in panel.bond_note.text()
    assert "kept from the model before" not in panel.bond_note.text()
    show(qtbot, window, alpha_quartz(), "quartz")
    assert window.cutoff_overrides[SI_SI] == 2.4
    assert "Cutoffs kept from the model before: Si–Si 2.4 Å (default 2.66 Å)" in panel.bond_note.text()
    assert panel.defaults_button.isVisibleTo(panel)
    with qtbot.waitSignal(window.model_ready, timeout=30000):
        panel.defaults_button.click()
    assert window.cutoff_overrides[SI_SI] == pytest.approx(2.664, abs=0.005)
    assert "Cutoffs kept" not in panel.bond_note.text() and not panel.defaults_button.isVisibleTo(panel)

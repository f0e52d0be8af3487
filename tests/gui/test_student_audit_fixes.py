"""What a student's audit of model building and ring display found: SiOx settings that did nothing
at x = 2 yet looked editable, bicrystals with 0 Å of bulk, builds of unknown length, ring outlines
left in the viewer behind another tab, a ring table wider than its dock, and formulas in Hill order."""
import numpy as np
import pytest
from ase import Atoms
from PySide6.QtWidgets import QDialogButtonBox

from amorpha.engine.build.bicrystal import BicrystalParams, build_bicrystal, least_bulk_thickness
from amorpha.engine.build.crystals import alpha_quartz
from amorpha.gui.build_dialogs import spin_of


def _ok(dialog):
    return dialog.buttons.button(QDialogButtonBox.Ok)


def _enabled(dialog, name: str) -> bool:
    return dialog.editors[name].widget.isEnabled()


# -- 1. SiOx-only fields at x = 2 --------------------------------------------------------------------
def test_sio_x_settings_are_greyed_out_where_they_do_nothing(qtbot):
    from amorpha.gui.build_menu import silica_dialog

    dialog = silica_dialog()
    qtbot.addWidget(dialog)
    dialog.show()
    assert dialog.params().x == 2.0
    for name in ("form", "cluster_size", "interface_switches"):
        assert not _enabled(dialog, name), name
        assert "x < 2" in dialog.editors[name].widget.toolTip()
        assert not dialog.form.labelForField(dialog.editors[name].widget).isEnabled()
    assert _enabled(dialog, "n_si") and _enabled(dialog, "density")
    dialog.editors["x"].set_value(1.0)
    assert _enabled(dialog, "form") and _enabled(dialog, "interface_switches")
    assert "Tu & Tersoff" in dialog.editors["interface_switches"].widget.toolTip()  # its own tip again
    assert not _enabled(dialog, "cluster_size")  # random bonding has no regions
    assert "random bonding" in dialog.editors["cluster_size"].widget.toolTip()
    dialog.editors["form"].set_value("mixture")
    assert _enabled(dialog, "cluster_size")
    dialog.editors["x"].set_value(2.0)
    assert not _enabled(dialog, "cluster_size") and _ok(dialog).isEnabled()


# -- 2. bulk of a bicrystal ---------------------------------------------------------------------------
def test_bicrystal_dialog_refuses_grains_without_bulk(qtbot):
    from amorpha.gui.build_menu import bicrystal_dialog

    dialog = bicrystal_dialog()
    qtbot.addWidget(dialog)
    dialog.show()
    assert _ok(dialog).isEnabled()  # the default 20 Å
    spin_of(dialog, "bulk_thickness").setValue(0.0)
    error = dialog.error_label.text()
    assert error.startswith("bulk_thickness:") and "at least 10.3 Å" in error and "both boundaries" in error
    assert not _ok(dialog).isEnabled()
    spin_of(dialog, "bulk_thickness").setValue(10.3)
    assert dialog.error_label.text() == "" and _ok(dialog).isEnabled()
    dialog.editors["crystal"].set_value("Si")  # the least bulk follows the crystal's bond length
    spin_of(dialog, "bulk_thickness").setValue(9.0)
    assert "at least 9.5 Å" in dialog.error_label.text()


def test_thin_bicrystals_still_build_from_scripts():
    """Scripts and quick searches (one lattice period per grain) are not refused by the engine."""
    params = BicrystalParams("Cu", bulk_thickness=0.0)
    assert least_bulk_thickness(params) == pytest.approx(10.3)
    assert len(build_bicrystal(params)) > 0


# -- 3. time estimates ----------------------------------------------------------------------------------
def test_about_duration_keeps_an_estimates_digits():
    from amorpha.engine.words import about_duration

    assert [about_duration(s) for s in (0.2, 26.4, 119, 150, 3599, 7200, 5400 * 24, 9.25e6)] == [
        "about 1 s", "about 26 s", "about 119 s", "about 2.5 min", "about 60 min", "about 2 h",
        "about 36 h", "about 107 days"]


def test_long_builds_say_how_long_they_take(qtbot):
    from amorpha.gui.build_menu import amorphous_si_dialog, melt_quench_dialog, silica_dialog

    network = amorphous_si_dialog()
    qtbot.addWidget(network)
    network.show()
    note = network.note_label.text()
    assert "Takes about 24 s" in note and "⚠" not in note  # 512 atoms: measured 24 s of CPU
    spin_of(network, "n_atoms").setValue(20000)
    assert "⚠ Takes about 22 min" in network.note_label.text()  # orange from 10 min on

    oxide = silica_dialog()
    qtbot.addWidget(oxide)
    oxide.show()
    assert "Takes about 51 s" in oxide.note_label.text()
    oxide.editors["x"].set_value(1.0)
    spin_of(oxide, "interface_switches").setValue(600)
    assert "Takes about 2.3 min" in oxide.note_label.text()  # 600 × 2000 attempts of ~72 µs more
    spin_of(oxide, "n_si").setValue(5000)
    assert "⚠ Takes about 12 min" in oxide.note_label.text()

    from amorpha.engine.build.melt_quench import lammps_available

    if not lammps_available():
        pytest.skip("LAMMPS is not installed: no melt-quench dialog")
    quench = melt_quench_dialog()
    qtbot.addWidget(quench)
    quench.show()
    assert "Takes about" in quench.note_label.text() and "⚠ Takes" not in quench.note_label.text()
    spin_of(quench, "n_atoms").setValue(100000)
    spin_of(quench, "quench_rate").setValue(0.1)
    assert "days" in quench.note_label.text() and "⚠ Takes about" in quench.note_label.text()


# -- 6. readable formulas -----------------------------------------------------------------------------
def test_formulas_put_the_cation_first_and_count_the_atoms():
    from amorpha.engine.elements import formula_text
    from amorpha.gui.panels.structure_panel import describe_cell

    assert formula_text(Atoms("O2000Si1000").numbers) == "SiO2 (3,000 atoms)"
    assert formula_text(Atoms("Si1000O1370").numbers) == "Si100O137 (2,370 atoms)"
    assert [formula_text(Atoms(f).numbers) for f in ("CH4", "H2O", "NaCl", "Si3N4", "Cu3Si64", "Cu")] == [
        "CH4 (5 atoms)", "H2O (3 atoms)", "NaCl (2 atoms)", "Si3N4 (7 atoms)", "Cu3Si64 (67 atoms)",
        "Cu (1 atom)"]
    assert describe_cell(alpha_quartz())["Formula"] == "SiO2 (9 atoms)"


# -- in the window -------------------------------------------------------------------------------------
@pytest.fixture
def window(qtbot, empty_window, monkeypatch):
    """The main window at the app's default size (1500×950, ``--size``), preferences never saved."""
    from amorpha.gui import main_window

    monkeypatch.setattr(main_window, "save_preferences", lambda *a, **k: None)
    empty_window.resize(1500, 950)
    qtbot.waitUntil(lambda: empty_window.width() == 1500)
    return empty_window


def _quartz_rings(qtbot, win):
    with qtbot.waitSignal(win.model_ready, timeout=60000):
        win.set_model(alpha_quartz((3, 3, 3)), "quartz")
    panel = win.rings_panel
    win.docks["Rings"].raise_()
    with qtbot.waitSignal(panel.result_shown, timeout=60000):
        panel.compute_button.click()
    return panel


@pytest.mark.gl
def test_status_bar_names_the_model_by_its_readable_formula(qtbot, window):
    with qtbot.waitSignal(window.model_ready, timeout=60000):
        window.set_model(alpha_quartz(), "quartz")
    assert window.statusBar().currentMessage().startswith("quartz: SiO2 (9 atoms), ")
    assert window.diffusion_panel.host.text().endswith("quartz, SiO2 (9 atoms)")  # one function for both


@pytest.mark.gl
def test_ring_outlines_follow_the_rings_tab(qtbot, window):
    panel = _quartz_rings(qtbot, window)
    panel.select_size(6)
    six = panel.selected_atoms
    assert len(six) and np.array_equal(window.viewer.selection, six)
    window.docks["Structure"].raise_()  # another tab over the Rings panel
    qtbot.waitUntil(lambda: not window._rings_on_screen())
    assert len(window.viewer.selection) == 0
    window.docks["Rings"].raise_()
    qtbot.waitUntil(window._rings_on_screen)
    assert np.array_equal(window.viewer.selection, six)
    window.select_atom(3)  # an atom picked over the rings keeps its outline behind another tab
    window.docks["Order"].raise_()
    qtbot.waitUntil(lambda: not window._rings_on_screen())
    assert list(window.viewer.selection) == [3]
    panel.select_size(8)  # rings chosen while the panel is hidden (a project opened) wait for it
    assert list(window.viewer.selection) == [3] and panel.selected_size == 8
    window.docks["Rings"].raise_()
    qtbot.waitUntil(window._rings_on_screen)
    assert np.array_equal(window.viewer.selection, panel.selected_atoms) and len(panel.selected_atoms)


@pytest.mark.gl
def test_ring_table_fits_its_dock_at_the_default_window_size(qtbot, window):
    assert (window.width(), window.height()) == (1500, 950)
    panel = _quartz_rings(qtbot, window)
    table, header = panel.table, panel.table.horizontalHeader()

    def fits():
        qtbot.wait(50)  # the header sizes its sections on the next layout pass
        return table.horizontalScrollBar().maximum() == 0 and header.length() <= table.viewport().width()

    assert table.model().rowCount() > 0
    assert fits()
    assert table.isColumnHidden(panel.model.WRAPS)  # empty while the cycles through the boundary are hidden
    panel.show_wrapping.setChecked(True)
    assert not table.isColumnHidden(panel.model.WRAPS) and fits()
    for c, title in enumerate(panel.model.HEADERS[:panel.model.WRAPS + 1]):  # no header cut short
        assert header.sectionSize(c) > header.fontMetrics().horizontalAdvance(title), title

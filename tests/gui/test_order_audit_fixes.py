"""Fixes from the audit of the Order and Diffraction docks, as a student sees them: the note says
when k nearest cut a shell of equidistant neighbours (or atoms had fewer than k), g(r) names its
first peak, a reopened project shows the inputs of its curve and the Diffraction settings, the
default bond-angle triplet has angles, and the diffraction plot reads out k and d = 1/k."""
import numpy as np
import pytest
from ase.build import bulk, molecule
from PySide6.QtCore import QPointF

from amorpha.engine.bonds import bonds
from amorpha.engine.build.crystals import beta_cristobalite
from amorpha.engine.order.angles import AngleParams, bonded_angle_counts, compute_angles
from amorpha.engine.order.diffraction import DiffractionParams, compute_diffraction
from amorpha.engine.order.local_order import (SteinhardtParams, TetrahedralParams, compute_steinhardt,
                                              compute_tetrahedral)
from amorpha.engine.order.pairs import RdfParams, compute_rdf
from amorpha.engine.order.structure_factor import StructureFactorParams, compute_structure_factor
from amorpha.engine.project import load_project, save_project
from amorpha.gui.panels.diffraction_panel import DiffractionPanel
from amorpha.gui.panels.order_panel import ANGLES, GR, SQ, OrderPanel

A_FE, A_SI, A_CU = 2.87, 5.431, 3.615


@pytest.fixture(autouse=True)
def no_preferences(monkeypatch):
    monkeypatch.setattr("amorpha.gui.main_window.save_preferences", lambda *a, **k: None)


def order_panel(shown, atoms, periodic=True):
    panel = shown(OrderPanel(), 450, 900)
    height = float(1.0 / np.linalg.norm(np.linalg.inv(atoms.cell.array), axis=0).max()) if periodic else None
    panel.set_elements(atoms.numbers, height)
    return panel


def computed_note(panel, button, column, result):
    """Click Compute (the panel records how) and show ``result`` as the window would."""
    button.click()
    panel.show_values(column, result.to_arrays()[column], result)
    return panel.value_note.text()


def test_q6_note_says_k_12_cuts_a_shell_of_bcc(shown):
    atoms = bulk("Fe", "bcc", a=A_FE, cubic=True).repeat(3)
    panel = order_panel(shown, atoms)
    assert panel.k_nearest.value() == 12
    result = compute_steinhardt(atoms, panel.steinhardt_params()[0])
    note = computed_note(panel, panel.steinhardt_button, "q6", result)
    assert ("k = 12 cuts a shell of 6 equidistant neighbours at 2.87 Å in 100 % of atoms: the values "
            "depend on which neighbours were taken; use k = 8 or 14, or a cutoff.") in note
    panel.k_nearest.setValue(8)
    whole = compute_steinhardt(atoms, panel.steinhardt_params()[0])
    assert "cuts a shell" not in computed_note(panel, panel.steinhardt_button, "q6", whole)


def test_tetrahedral_note_says_fcc_has_four_of_twelve(shown):
    atoms = bulk("Cu", "fcc", a=A_CU, cubic=True).repeat(2)
    panel = order_panel(shown, atoms)
    result = compute_tetrahedral(atoms, panel.tetrahedral_params())
    note = computed_note(panel, panel.tetrahedral_button, "tetrahedral_q", result)
    assert "The 4 nearest neighbours cut a shell of 12 equidistant neighbours at 2.56 Å in 100 % of atoms" in note


def test_q6_of_a_small_molecule_says_atoms_had_fewer_than_k(shown):
    benzene = molecule("C6H6")
    panel = order_panel(shown, benzene, periodic=False)
    result = compute_steinhardt(benzene, panel.steinhardt_params()[0])
    note = computed_note(panel, panel.steinhardt_button, "q6", result)
    assert "12 atoms had only 11 neighbours, fewer than k = 12" in note


def test_gr_note_gives_the_first_peak_of_diamond(shown):
    diamond = bulk("Si", "diamond", a=A_SI, cubic=True).repeat(3)
    panel = order_panel(shown, diamond)
    panel.show_distribution(GR, compute_rdf(diamond, RdfParams(r_max=7.0, n_bins=350, weighting="number")))
    assert panel.dist_note.text() == "First peak (nearest-neighbour distance): Si–Si 2.35 Å"


def test_a_saved_curve_sets_the_inputs_it_was_made_with(shown):
    cristobalite = beta_cristobalite((2, 2, 2))
    panel = order_panel(shown, cristobalite)
    panel.show_saved_curve(GR, compute_rdf(cristobalite, RdfParams(r_max=15.0, n_bins=600, weighting="number")))
    assert (panel.r_max.value(), panel.r_bins.value()) == (15.0, 600)
    sq = compute_structure_factor(cristobalite, StructureFactorParams(q_max=15.0, weighting="xray", r_max=6.5))
    panel.show_saved_curve(SQ, sq)
    assert panel.weighting.currentData() == "xray"
    assert (panel.q_max.value(), panel.sq_r_max.value()) == (15.0, 6.5)
    angles = compute_angles(cristobalite, AngleParams(("Si", "O", "Si"), n_bins=90))
    panel.show_saved_curve(ANGLES, angles)
    assert panel.triplet.currentText() == "Si–O–Si" and panel.angle_bins.value() == 90
    panel.prefer_triplet(bonded_angle_counts(cristobalite.numbers, bonds(cristobalite)))
    assert panel.triplet.currentText() == "Si–O–Si"  # the saved curve's, not the default


def test_default_triplet_has_bonded_angles(shown):
    benzene = molecule("C6H6")
    panel = order_panel(shown, benzene, periodic=False)
    assert panel.triplet.currentText() == "H–H–H"  # the first combination, before bonds are known
    panel.prefer_triplet(bonded_angle_counts(benzene.numbers, bonds(benzene)))
    assert panel.triplet.currentText() == "H–C–C"  # 12 angles (C–C–C has 6)
    silica = beta_cristobalite((1, 1, 1))
    panel.set_elements(silica.numbers, 7.0)
    panel.prefer_triplet(bonded_angle_counts(silica.numbers, bonds(silica)))
    assert panel.triplet.currentText() == "O–Si–O"


def test_xray_q_range_note_only_when_q_max_is_clamped(shown):
    cristobalite = beta_cristobalite((2, 2, 2))
    panel = order_panel(shown, cristobalite)
    panel.tabs.setCurrentIndex(1)
    panel.kind.setCurrentIndex(1)
    panel.q_max.setValue(20.0)
    panel.weighting.setCurrentIndex(panel.weighting.findData("xray"))
    assert panel.q_max.value() == 20.0 and panel.input_note.isHidden()
    panel.q_max.setValue(40.0)  # stops at the fits' 25.1
    assert panel.q_max.value() == 25.1 and "X-ray form factors hold up to q = 25.1" in panel.input_note.text()


# --------------------------------------------------------------------------- diffraction


def diffraction_panel(shown, atoms, params=DiffractionParams(diameter=8.0, voltage=200.0)):
    panel = shown(DiffractionPanel(), 450, 1300)  # a tall dock
    panel.show_result(compute_diffraction(atoms, atoms.positions[0], [0, 0, 1], params, up=[0, 1, 0]))
    return panel


def test_reading_k_and_d_under_the_mouse(shown, qtbot):
    copper = bulk("Cu", "fcc", a=A_CU, cubic=True).repeat((4, 4, 4))
    panel = diffraction_panel(shown, copper)
    qtbot.wait(50)
    vb = panel.plot.getPlotItem().vb
    panel.plot.scene().sigMouseMoved.emit(vb.mapViewToScene(QPointF(2 / A_CU, 0.0)))
    assert "|k| = 0.553 1/Å, d = 1/|k| = 1.8" in panel.readout.text()  # (200): a/2 = 1.81 Å
    assert "relativistic" in panel.colorbar.getAxis("left").labelText


def test_pattern_fills_a_tall_dock_without_blank_bands(shown, qtbot):
    panel = diffraction_panel(shown, bulk("Cu", "fcc", a=A_CU, cubic=True).repeat((3, 3, 3)))
    qtbot.wait(50)
    assert panel.plot.height() <= panel.plot.width() + 2  # square: equal k axes fill it


def test_a_molecule_column_gives_its_length_through_the_molecule(shown):
    c60 = molecule("C60")
    panel = shown(DiffractionPanel(), 450, 900)
    panel.show_result(compute_diffraction(c60, c60.positions[0], [0, 0, 1], DiffractionParams()))
    text = panel.status.text()
    assert "inf" not in text
    extent = np.ptp(c60.positions[:, 2]) / 10
    assert f"0.50 nm × {extent:.2f} nm (through the whole molecule)" in text


def test_diffraction_settings_come_back_with_the_project(qtbot, empty_window, reopen, tmp_path):
    window = empty_window
    with qtbot.waitSignal(window.model_ready, timeout=60000):
        window.set_model(bulk("Cu", "fcc", a=A_CU, cubic=True).repeat(3), "Cu")
    panel = window.diffraction_panel
    panel.probe.setCurrentIndex(panel.probe.findData("convergent"))
    panel.diameter.setValue(0.8)
    panel.thickness.setValue(2.0)
    panel.k_max.setValue(2.2)
    panel.pixels.setCurrentIndex(panel.pixels.findData(128))
    panel.voltage.setValue(300.0)
    panel.log_scale.setChecked(False)
    saved = panel.settings()
    path = tmp_path / "diffraction.amorpha"
    with qtbot.waitSignal(window.project.saved, timeout=60000):
        window.project.save(str(path))
    other = reopen(path)
    assert other.diffraction_panel.settings() == saved
    assert other.diffraction_panel.params() == panel.params()

    project = load_project(str(path))  # a project written before the settings were kept
    del project.view["diffraction"]
    old = tmp_path / "old.amorpha"
    save_project(project, str(old))
    defaults = DiffractionPanel().settings()
    assert reopen(old).diffraction_panel.settings() == defaults


def test_the_window_hands_the_panel_its_results_and_bonds(qtbot, empty_window):
    """Through the window: the bonds found give the default triplet (benzene: no H–H–H), and a
    q6 computed there says that k = 12 cut bcc's shell of equidistant neighbours."""
    window = empty_window
    with qtbot.waitSignal(window.model_ready, timeout=60000):
        window.set_model(molecule("C6H6"), "benzene")
    assert tuple(window.order_panel.triplet.currentData()) in (("H", "C", "C"), ("C", "C", "H"))
    with qtbot.waitSignal(window.model_ready, timeout=60000):
        window.set_model(bulk("Fe", "bcc", a=A_FE, cubic=True).repeat(3), "bcc Fe")
    panel = window.order_panel
    panel.steinhardt_button.click()
    qtbot.waitUntil(lambda: "q6" in panel.values, timeout=30000)
    assert "k = 12 cuts a shell of 6 equidistant neighbours" in panel.value_note.text()

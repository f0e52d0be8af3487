"""Build dialogs: parameters are checked before any work, builds run in the background."""
import numpy as np
import pytest
from PySide6.QtWidgets import QDialogButtonBox, QFormLayout

from amorpha.engine.build import BuildParameterError
from amorpha.engine.build.crystals import CrystalParams, build_crystal
from amorpha.gui.build_dialogs import spin_of
from amorpha.gui.build_menu import crystal_dialog


def summary_rows(panel) -> dict[str, str]:
    """The structure panel's Model rows as label -> text."""
    form = panel.summary
    rows = {}
    for row in range(form.rowCount()):
        label = form.itemAt(row, QFormLayout.LabelRole)
        field = form.itemAt(row, QFormLayout.FieldRole)
        if label is not None and field is not None:
            rows[label.widget().text()] = field.widget().text()
    return rows


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


def test_bicrystal_dialog_lists_sigmas_of_the_axis_and_states_the_boundary(qtbot):
    from amorpha.gui.build_menu import bicrystal_dialog

    dialog = bicrystal_dialog()
    qtbot.addWidget(dialog)
    dialog.show()
    sigmas = {int(dialog.table.item(r, 0).text()) for r in range(dialog.table.rowCount())}
    assert {5, 13, 17, 25} <= sigmas and 3 not in sigmas and 7 not in sigmas  # [001]
    dialog.editors["axis"].set_value((1, 1, 0))
    sigmas = {int(dialog.table.item(r, 0).text()) for r in range(dialog.table.rowCount())}
    assert {3, 9, 11} <= sigmas and 5 not in sigmas
    row = next(r for r in range(dialog.table.rowCount()) if dialog.table.item(r, 0).text() == "3"
               and dialog.table.item(r, 2).text() == "(1-11)")
    dialog.table.selectRow(row)
    params = dialog.params()
    assert (params.sigma, params.plane, params.axis) == (3, (1, -1, 1), (1, 1, 0))
    note = dialog.note_label.text()
    assert "Σ3" in note and "109.47°" in note and "boundary area" in note
    # a twist's plane is the axis, and the list says so (it kept showing the tilt planes)
    dialog.editors["kind"].set_value("twist")
    assert {dialog.table.item(r, 2).text() for r in range(dialog.table.rowCount())} == {"(110)"}
    assert (dialog.params().plane, dialog.params().kind) == ((1, 1, 0), "twist")
    dialog.editors["kind"].set_value("tilt")
    assert dialog.table.item(row, 2).text() == "(1-11)" and dialog.params().plane == (1, -1, 1)


def test_polycrystal_dialog_refuses_a_box_too_small_for_the_grains(qtbot):
    from amorpha.gui.build_menu import polycrystal_dialog

    dialog = polycrystal_dialog()
    qtbot.addWidget(dialog)
    dialog.show()
    assert "atoms" in dialog.note_label.text() and ok_button(dialog).isEnabled()
    dialog.editors["box"].set_value((10.0, 10.0, 10.0))
    dialog.editors["n_grains"].set_value(50)
    assert dialog.error_label.text().startswith("box:") and not ok_button(dialog).isEnabled()


def test_polycrystal_dialog_says_one_grain_meets_its_images(qtbot):
    from amorpha.gui.build_menu import polycrystal_dialog

    dialog = polycrystal_dialog()
    qtbot.addWidget(dialog)
    dialog.show()
    assert "own periodic images" not in dialog.note_label.text()
    dialog.editors["n_grains"].set_value(1)
    assert "own periodic images" in dialog.note_label.text() and ok_button(dialog).isEnabled()


@pytest.mark.gl
def test_voids_insert_into_the_current_model_and_keep_it(qtbot, window):
    from amorpha.engine.build.voids import VoidParams, insert_into_voids
    from amorpha.gui.build_menu import voids_dialog

    with qtbot.waitSignal(window.model_ready, timeout=60000):
        window.build_model(build_crystal, CrystalParams("Si", (2, 2, 2)))
    host = window.atoms
    dialog = window.modify_dialog(voids_dialog, insert_into_voids)
    dialog.editors["element"].set_value("Li")
    dialog.editors["count"].set_value(2)
    with qtbot.waitSignal(window.model_ready, timeout=60000):
        ok_button(dialog).click()
    assert len(window.atoms) == len(host) + 2 and len(host) == 64
    assert list(window.atoms.symbols[-2:]) == ["Li", "Li"]
    a = 5.431  # diamond tetrahedral interstitial: empty sphere of radius a·√3/4
    assert np.allclose(window.atoms.info["void_radii"], a * np.sqrt(3) / 4, atol=1e-6)
    assert summary_rows(window.structure_panel)["Inserted in voids"] == "2 atoms"


def test_silica_dialog_offers_interface_switches(qtbot):
    """The a-SiOx relaxation (engine.build.silica interface_switches) reaches SilicaParams."""
    from amorpha.gui.build_menu import silica_dialog

    dialog = silica_dialog()
    qtbot.addWidget(dialog)
    assert dialog.params().interface_switches == 0
    spin_of(dialog, "interface_switches").setValue(600)
    dialog.editors["x"].set_value(1.0)
    assert dialog.params().interface_switches == 600
    assert "under-bonded" not in dialog.note_label.text()
    spin_of(dialog, "interface_switches").setValue(0)  # the default: a third of Si under-bonded
    assert "under-bonded" in dialog.note_label.text()


def test_densities_and_lattice_constants_that_squeeze_the_bonds_are_said(qtbot):
    """a-SiO2 at 1 g/cm³ built Si–O of 2.01 Å, a-Si at 3.5 bonds of 2.05 Å, Si with a = 0.5 Å
    (nm typed as Å) 512 atoms at 2985 g/cm³: each looked legitimate and said nothing."""
    from amorpha.gui.build_menu import amorphous_si_dialog, silica_dialog

    silica = silica_dialog()
    qtbot.addWidget(silica)
    spin_of(silica, "density").setValue(1.0)
    assert "Si–O bonds come out about 2.09 Å" in silica.note_label.text()
    spin_of(silica, "density").setValue(2.25)
    assert "come out" not in silica.note_label.text()
    network = amorphous_si_dialog()
    qtbot.addWidget(network)
    spin_of(network, "density").setValue(3.5)
    assert "Si–Si bonds come out about 2.05 Å" in network.note_label.text()
    crystal = crystal_dialog()
    qtbot.addWidget(crystal)
    crystal.editors["name"].set_value("Si")
    assert "Å, not nm" not in crystal.note_label.text()
    spin_of(crystal, "a").setValue(0.5)
    assert "a = 0.5 Å is 9% of Si's own 5.431 Å" in crystal.note_label.text()


def test_build_facts_count_atoms_in_words():
    from amorpha.gui.panels.structure_panel import describe_build

    assert describe_build({"inserted_count": 1, "removed_atoms": 0, "sigma": 5}) == {
        "Σ": "5", "Overlaps removed": "0 atoms", "Inserted in voids": "1 atom"}


def test_melt_quench_dialog_warns_when_the_thermostat_cannot_follow_the_rate(qtbot):
    from amorpha.gui.build_menu import melt_quench_dialog

    dialog = melt_quench_dialog()
    qtbot.addWidget(dialog)
    dialog.show()
    assert "trails" not in dialog.note_label.text()  # 100 K/ps: 10 K behind, within the noise
    spin_of(dialog, "quench_rate").setValue(5000.0)
    assert "trails this ramp by 500 K" in dialog.note_label.text()
    assert "hotter than 300 K" in dialog.note_label.text()

"""File › Name Atom Types: an RMC++ cfg or LAMMPS file opens with placeholder elements (type 1 as
H, ...); the user names the types and the file is read again with those elements."""
import numpy as np
import pytest
from ase import Atoms
from PySide6.QtWidgets import QLabel

from amorpha.engine.build.crystals import beta_cristobalite
from amorpha.gui.app import main, parse_args
from amorpha.gui.type_names_dialog import TypeNamesDialog

pytestmark = pytest.mark.gl


def write_rmc_cfg(path, atoms: Atoms) -> None:
    """A version 3 RMC++ cfg of a cubic-cell model, types in order of first appearance of Si, O."""
    order = np.argsort(atoms.numbers != 14, kind="stable")  # Si first (type 1), then O (type 2)
    numbers, positions = atoms.numbers[order], atoms.positions[order]
    half = np.asarray(atoms.cell) / 2
    reduced = positions @ np.linalg.inv(half) - 1.0
    counts = [int((numbers == 14).sum()), int((numbers == 8).sum())]
    lines = [" (Version 3 format configuration file)", "test", "", "",
             "     0 0 0 moves generated, tried, accepted", "     0 configurations saved", "",
             f"     {len(numbers)} molecules of all types", "     2 types of molecules",
             "     1 is the largest number of atoms in a molecule", "     0 Euler angles are provided",
             "", "     F (box is cubic)", "     Defining vectors are:"]
    lines += ["  " + "  ".join(f"{v:.6f}" for v in row) for row in half]
    lines.append("")
    for t, count in enumerate(counts, start=1):
        lines += [f"     {count} molecules of type  {t}", "     1 atomic sites",
                  "         0.000000   0.000000   0.000000", ""]
    lines += [" ".join(f"{v:.9f}" for v in row) for row in reduced]
    path.write_text("\n".join(lines) + "\n")


@pytest.fixture
def cfg_window(qtbot, empty_window, tmp_path):
    path = tmp_path / "silica.cfg"
    write_rmc_cfg(path, beta_cristobalite((2, 2, 2)))
    with qtbot.waitSignal(empty_window.model_ready, timeout=60000):
        empty_window.open_path(str(path))
    return empty_window


def test_placeholder_types_are_offered_for_naming_and_named(qtbot, cfg_window):
    window = cfg_window
    assert sorted(set(window.atoms.numbers)) == [1, 2]  # H and He placeholders
    assert window.name_types_action.isEnabled()
    button = window.structure_panel.name_types_button
    assert button is not None and button.isVisibleTo(window.structure_panel)
    notes = [label.text() for label in window.structure_panel.findChildren(QLabel) if "⚠" in label.text()]
    assert notes and "symbols=" not in notes[0] and "Name Atom Types" in notes[0]
    # said where a user looks whichever panel is in front (it took 3000 "H" for the model's)
    assert "atom types are placeholders: File › Name Atom Types" in window.statusBar().currentMessage()

    button.click()
    dialog = window.findChild(TypeNamesDialog)
    assert dialog is not None and [f.text() for f in dialog.fields] == ["H", "He"]
    dialog.set_symbols(["si", "O"])  # any case is fine
    with qtbot.waitSignal(window.model_ready, timeout=60000):
        dialog.buttons.button(dialog.buttons.StandardButton.Ok).click()
    atoms = window.atoms
    assert atoms.get_chemical_formula() == "O128Si64"
    cn = atoms.arrays["coordination"]
    assert np.all(cn[atoms.numbers == 14] == 4) and np.all(cn[atoms.numbers == 8] == 2)
    assert window.structure_panel.name_types_button is None  # no placeholder note any more
    assert window.trajectory.symbols == ("Si", "O")
    assert window.name_types_action.isEnabled()  # a wrong choice can be corrected
    again = window.name_types_dialog()
    assert [f.text() for f in again.fields] == ["Si", "O"]
    again.reject()


def test_an_unknown_symbol_is_explained_and_nothing_changes(qtbot, cfg_window):
    window = cfg_window
    before = window.atoms
    dialog = window.name_types_dialog()
    dialog.set_symbols(["Si", "Xx"])
    dialog.buttons.button(dialog.buttons.StandardButton.Ok).click()
    assert dialog.isVisible()
    assert "'Xx' is not an element symbol" in dialog.error.text()
    dialog.fields[1].setText("")
    dialog.buttons.button(dialog.buttons.StandardButton.Ok).click()
    assert "Type 2 has no element symbol" in dialog.error.text()
    qtbot.wait(50)
    assert window.atoms is before and not [h for h in window.runner.running if not h.label.startswith("_")]
    dialog.reject()


def test_lammps_dump_frames_are_named_too(qtbot, empty_window, tmp_path):
    path = tmp_path / "run.lammpstrj"
    with open(path, "w") as f:
        for k in range(3):
            f.write(f"ITEM: TIMESTEP\n{k}\nITEM: NUMBER OF ATOMS\n3\nITEM: BOX BOUNDS pp pp pp\n"
                    "0 6\n0 6\n0 6\nITEM: ATOMS id type x y z\n"
                    f"1 1 1 1 1\n2 2 {2.6 + 0.01 * k} 1 1\n3 2 1 2.6 1\n")
    window = empty_window
    with qtbot.waitSignal(window.model_ready, timeout=60000):
        window.open_path(str(path))
    assert [t.count for t in window.nameable_types()] == [1, 2]
    with qtbot.waitSignal(window.model_ready, timeout=60000):
        window.name_types(["Si", "O"])
    assert window.atoms.get_chemical_symbols() == ["Si", "O", "O"] and len(window.trajectory) == 3
    with qtbot.waitSignal(window.model_ready, timeout=60000):
        window.frames.spin.setValue(2)
    assert window.atoms.get_chemical_symbols() == ["Si", "O", "O"]


def test_a_model_from_a_project_saved_unnamed_is_named_without_its_file(qtbot, cfg_window, tmp_path):
    """The project holds the model, not the cfg: the types are named in a copy of the model."""
    window = cfg_window
    path = tmp_path / "unnamed.amorpha"
    with qtbot.waitSignal(window.project.saved, timeout=30000):
        window.project.save(str(path))
    (tmp_path / "silica.cfg").unlink()
    with qtbot.waitSignal(window.project.restored, timeout=60000):
        window.open_path(str(path))
    assert window.trajectory is None or not window.trajectory.takes_symbols
    assert [(t.type, t.count) for t in window.nameable_types()] == [(1, 64), (2, 128)]
    assert window.structure_panel.name_types_button is not None
    with qtbot.waitSignal(window.model_ready, timeout=60000):
        window.name_types(["Si", "O"])
    assert window.atoms.get_chemical_formula() == "O128Si64" and window.last_error == ""
    assert window.structure_panel.name_types_button is None  # no placeholder note any more
    assert [(t.count, t.element) for t in window.nameable_types()] == [(64, "Si"), (128, "O")]
    with qtbot.waitSignal(window.model_ready, timeout=60000):
        window.name_types(["Ge", "O"])  # a wrong choice can be corrected
    assert window.atoms.get_chemical_formula() == "Ge64O128"


def test_a_structure_without_numbered_types_offers_nothing(qtbot, empty_window):
    with qtbot.waitSignal(empty_window.model_ready, timeout=60000):
        empty_window.set_model(beta_cristobalite((1, 1, 1)), "cristobalite")
    assert not empty_window.name_types_action.isEnabled()
    assert empty_window.structure_panel.name_types_button is None


def test_command_line_symbols(capsys):
    assert parse_args(["x.cfg", "--symbols", "Si,O"]).symbols == "Si,O"
    assert main(["x.cfg", "--symbols", "Si,Qq"]) == 2
    assert "'Qq' is not an element symbol" in capsys.readouterr().err


def test_a_file_that_names_its_atoms_wrongly_is_renamed(qtbot, empty_window, tmp_path, monkeypatch):
    """matscipy's aSi.cfg calls its silicon H: the window says what the mass column says, and
    File › Rename Elements makes them Si, bonded four-fold, the file's own columns kept."""
    from ase.build import bulk
    from ase.io import write

    monkeypatch.setattr("amorpha.gui.main_window.save_preferences", lambda prefs: None)
    si = bulk("Si", "diamond", 5.43, cubic=True).repeat(2)
    si.numbers[:] = 1
    si.new_array("mass", np.full(len(si), 28.0855))
    si.new_array("c_potential_energy", np.arange(len(si), dtype=float))
    write(tmp_path / "si.cfg", si, format="cfg")
    window = empty_window
    with qtbot.waitSignal(window.model_ready, timeout=60000):
        window.open_path(str(tmp_path / "si.cfg"))
    notes = [label.text() for label in window.structure_panel.findChildren(QLabel) if "⚠" in label.text()]
    assert any("the mass of Si" in n and "Rename Elements" in n for n in notes), notes
    assert window.rename_elements_action.isEnabled() and not window.name_types_action.isEnabled()
    window.rename_elements_action.trigger()
    dialog = window.findChild(TypeNamesDialog)
    assert dialog.windowTitle() == "Rename elements" and [f.text() for f in dialog.fields] == ["H"]
    dialog.set_symbols(["Qq"])
    dialog.buttons.button(dialog.buttons.StandardButton.Ok).click()
    assert "H: 'Qq' is not an element symbol" in dialog.error.text() and window.atoms.numbers[0] == 1
    dialog.set_symbols(["si"])
    with qtbot.waitSignal(window.model_ready, timeout=60000):
        dialog.buttons.button(dialog.buttons.StandardButton.Ok).click()
    qtbot.waitUntil(lambda: window.bond_list is not None and "coordination" in window.atoms.arrays,
                    timeout=30000)
    assert window.atoms.get_chemical_formula() == "Si64"
    assert set(window.atoms.arrays["coordination"]) == {4}
    assert np.array_equal(window.atoms.arrays["c_potential_energy"], np.arange(64.0))
    assert not any("mass column" in label.text() for label in window.structure_panel.findChildren(QLabel))

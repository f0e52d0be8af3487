"""Numbered atom types (RMC++ cfg, LAMMPS): readers mark placeholder elements; symbols are checked."""
import numpy as np
import pytest

from amorpha.engine.errors import ParameterError
from amorpha.engine.io import (check_symbols, element_types, memory_types, named_types, open_structure,
                               parse_symbols, structures, unnamed_types, with_elements_renamed,
                               with_type_names)

DATA = "test\n\n3 atoms\n2 atom types\n\n0 5 xlo xhi\n0 5 ylo yhi\n0 5 zlo zhi\n\nAtoms # atomic\n\n" \
       "1 1 0 0 0\n2 2 1.6 0 0\n3 2 0 1.6 0\n"


def test_lammps_data_without_names_lists_its_types_and_with_names_not(tmp_path):
    path = tmp_path / "box.data"
    path.write_text(DATA)
    traj = open_structure(path)
    assert traj.takes_symbols and traj.symbols is None
    assert [(t.type, t.count, t.element) for t in unnamed_types(traj[0])] == [(1, 1, "H"), (2, 2, "He")]
    named = open_structure(path, symbols=["Si", "O"])
    assert named.symbols == ("Si", "O") and unnamed_types(named[0]) == []
    assert [(t.count, t.element) for t in named_types(named[0], named.symbols)] == [(1, "Si"), (2, "O")]


def test_masses_or_ordinary_formats_are_not_unnamed(tmp_path):
    path = tmp_path / "masses.data"
    path.write_text(DATA.replace("Atoms # atomic", "Masses\n\n1 28.085\n2 15.999\n\nAtoms # atomic"))
    assert unnamed_types(open_structure(path)[0]) == []
    xyz = tmp_path / "a.xyz"
    xyz.write_text("1\n\nSi 0 0 0\n")
    traj = open_structure(xyz)
    assert not traj.takes_symbols and unnamed_types(traj[0]) == []


def test_symbols_are_checked_and_spelled_as_ase_does():
    assert check_symbols([" si", "O "], 2) == ["Si", "O"]
    assert parse_symbols("Si,O") == parse_symbols("si o") == ["Si", "O"]
    with pytest.raises(ParameterError, match="'Qq' is not an element"):
        check_symbols(["Si", "Qq"], 2)
    with pytest.raises(ParameterError, match="1 element given for 2 atom types"):
        check_symbols(["Si"], 2)
    with pytest.raises(ParameterError, match="type 1 has no element"):
        check_symbols([""])
    with pytest.raises(ParameterError, match="'X' is not"):
        check_symbols(["X"])  # ASE's dummy atom is not an element


def test_types_are_named_in_a_copy_when_there_is_no_file_to_read_again(tmp_path):
    path = tmp_path / "box.data"
    path.write_text(DATA)
    unnamed = open_structure(path)[0]
    unnamed.new_array("coordination", np.array([9, 9, 9]))  # computed with the placeholders: not kept
    named = with_type_names(unnamed, ["si", "O"])
    assert named.get_chemical_symbols() == ["Si", "O", "O"] and "coordination" not in named.arrays
    assert "warning" not in named.info and not memory_types(named)[0].element == "H"
    assert unnamed.get_chemical_symbols() == ["H", "He", "He"]  # the model shown stays as it was
    again = with_type_names(named, ["Ge", "S"])  # named again from its type column
    assert again.get_chemical_symbols() == ["Ge", "S", "S"]
    with pytest.raises(ParameterError, match="2 atom types"):
        with_type_names(named, ["Si"])
    with pytest.raises(ParameterError, match="no numbered atom types"):
        with_type_names(open_structure(path, symbols=["Si", "O"])[0], ["Si", "O"])


def _misnamed_cfg(path):
    """An AtomEye cfg as matscipy's aSi.cfg is: silicon named H, with silicon's mass column."""
    from ase.build import bulk
    from ase.io import write

    si = bulk("Si", "diamond", 5.43, cubic=True)
    si.numbers[:] = 1
    si.new_array("mass", np.full(len(si), 28.0855))
    si.new_array("c_potential_energy", np.arange(len(si), dtype=float))
    write(path, si, format="cfg")


def test_a_cfg_whose_mass_column_contradicts_its_names_says_so(tmp_path):
    _misnamed_cfg(tmp_path / "si.cfg")
    frame = open_structure(tmp_path / "si.cfg")[0]
    assert frame.get_chemical_formula() == "H8"  # what the file says
    assert ("mass column disagrees with its element names for 8 of 8 atoms: atom 0 is named H but "
            "given 28.09 u, the mass of Si" in frame.info["warning"])
    frame.arrays["mass"][:] = 1.008  # names and masses agree: nothing to say
    assert structures._mass_note(frame) is None


def test_elements_are_renamed_in_a_copy(tmp_path):
    _misnamed_cfg(tmp_path / "si.cfg")
    frame = open_structure(tmp_path / "si.cfg")[0]
    frame.new_array("rings_per_atom", np.ones(len(frame)))  # an analysis of the H atoms
    assert [(t.type, t.count, t.element) for t in element_types(frame)] == [(1, 8, "H")]
    renamed = with_elements_renamed(frame, ["si"], computed={"rings_per_atom"})
    assert renamed.get_chemical_formula() == "Si8" and frame.get_chemical_formula() == "H8"
    assert renamed.get_masses() == pytest.approx(28.085)  # the element's, not H's from the file
    assert "rings_per_atom" not in renamed.arrays and "warning" not in renamed.info
    assert np.array_equal(renamed.arrays["c_potential_energy"], np.arange(8.0))  # the file's kept
    # two elements may become one; a bad symbol is named by the element it was for
    pair = frame.copy()
    pair.numbers[::2] = 2
    assert [t.element for t in element_types(pair)] == ["He", "H"]
    assert with_elements_renamed(pair, ["O", "O"]).get_chemical_formula() == "O8"
    with pytest.raises(ParameterError, match="He: 'Qq' is not an element symbol"):
        with_elements_renamed(pair, ["Qq", "O"])

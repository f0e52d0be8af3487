"""Crystal builder: structures against the public cif files and textbook geometry."""
import numpy as np
import pytest
from ase.io import read

from amorpha.engine.build import BuildParameterError
from amorpha.engine.build.crystals import CRYSTALS, CUBIC_CRYSTALS, CrystalParams, build_crystal, unit_cell
from amorpha.engine.neighbors import neighbor_list

AMU_PER_G = 1.66053906660  # g/cm³ for 1 amu/Å³


def density(atoms) -> float:
    return atoms.get_masses().sum() / atoms.get_volume() * AMU_PER_G


def shell_signature(atoms, cutoff=3.2):
    """Sorted (element pair, distance) of every neighbour pair per atom: equal for equal crystals."""
    nl = neighbor_list(atoms, cutoff)
    i, j = nl.pairs()
    z = atoms.numbers
    key = np.round(nl.distances, 3) + 1000 * np.minimum(z[i], z[j]) + 1e5 * np.maximum(z[i], z[j])
    values, counts = np.unique(key, return_counts=True)
    return values, counts / len(atoms)


@pytest.mark.parametrize("name, cif", [
    ("alpha-quartz", "crystals/alpha_quartz_unitcell.cif"),
    ("beta-cristobalite", "crystals/beta_cristobalite_ideal_unitcell.cif"),
    ("alpha-cristobalite", "sovapy/sio2_alpha_cristobalite.cif"),
    ("Si", "crystals/si_diamond_unitcell.cif"),
])
def test_same_structure_as_public_cif(shared_data, name, cif):
    reference = read(shared_data / "structures" / cif)
    ours = unit_cell(name, a=reference.cell.cellpar()[0])
    assert len(ours) == len(reference)
    assert ours.get_chemical_formula() == reference.get_chemical_formula()
    assert np.allclose(ours.cell.cellpar(), reference.cell.cellpar(), atol=2e-3)
    v_ours, c_ours = shell_signature(ours)
    v_ref, c_ref = shell_signature(reference)
    assert np.allclose(v_ours, v_ref, atol=2e-2) and np.allclose(c_ours, c_ref)


@pytest.mark.parametrize("name, nn_over_a, coordination, density_g_cm3", [
    ("Cu", np.sqrt(0.5), 12, 8.93),
    ("Al", np.sqrt(0.5), 12, 2.70),
    ("Ni", np.sqrt(0.5), 12, 8.91),
    ("Ag", np.sqrt(0.5), 12, 10.50),
    ("Au", np.sqrt(0.5), 12, 19.30),
    ("Ta", np.sqrt(3) / 2, 8, 16.65),
    ("Si", np.sqrt(3) / 4, 4, 2.33),
])
def test_cubic_crystals_have_textbook_shells_and_density(name, nn_over_a, coordination, density_g_cm3):
    atoms = build_crystal(CrystalParams(name, (2, 2, 2)))
    a = CRYSTALS[name].a
    nl = neighbor_list(atoms, nn_over_a * a * 1.05)
    assert np.allclose(nl.distances, nn_over_a * a)
    assert np.all(nl.counts() == coordination)
    assert density(atoms) == pytest.approx(density_g_cm3, rel=0.01)
    assert name in CUBIC_CRYSTALS


@pytest.mark.parametrize("name, distinct_si_o", [
    ("alpha-quartz", 2),        # P3_2 21: Si on a 2-fold axis, two pairs of equal Si–O bonds
    ("beta-cristobalite", 1),   # ideal Fd-3m: all four at a·√3/8
    ("alpha-cristobalite", 2),  # P4_1 2_1 2: Si on a 2-fold axis as well
])
def test_silica_polymorphs_are_corner_sharing_tetrahedra(name, distinct_si_o):
    atoms = build_crystal(CrystalParams(name, (2, 2, 2)))
    nl = neighbor_list(atoms, 1.9)
    si = atoms.numbers == 14
    assert np.all(nl.counts()[si] == 4) and np.all(nl.counts()[~si] == 2)
    # Site symmetry fixes how many different Si–O lengths there are; each occurs equally often.
    lengths, counts = np.unique(np.round(nl.distances, 6), return_counts=True)
    assert len(lengths) == distinct_si_o and np.all(counts == counts[0])
    if name == "beta-cristobalite":
        assert np.allclose(nl.distances, CRYSTALS[name].a * np.sqrt(3) / 8, atol=1e-9)
    assert 2.1 < density(atoms) < 2.7


def test_stishovite_is_octahedral_silica():
    """Baur & Khan (1971): Si-O 1.757 Å (×4) and 1.809 Å (×2), O bonded to three Si, 4.29 g/cm³."""
    atoms = build_crystal(CrystalParams("stishovite", (2, 2, 3)))
    nl = neighbor_list(atoms, 1.9)
    si = atoms.numbers == 14
    assert np.all(nl.counts()[si] == 6) and np.all(nl.counts()[~si] == 3)
    lengths, counts = np.unique(np.round(nl.distances[np.repeat(si, nl.counts())], 3), return_counts=True)
    assert np.allclose(lengths, [1.757, 1.808], atol=2e-3) and counts[0] == 2 * counts[1]
    assert density(atoms) == pytest.approx(4.29, abs=0.01)
    assert "stishovite" not in CUBIC_CRYSTALS


def test_supercell_name_and_size():
    atoms = build_crystal(CrystalParams("Cu", (3, 2, 1)))
    assert len(atoms) == 4 * 6
    assert atoms.info["name"] == "fcc Cu 3×2×1"


@pytest.mark.parametrize("params, parameter", [
    (CrystalParams("unobtainium"), "name"),
    (CrystalParams("Cu", (0, 1, 1)), "repeat"),
    (CrystalParams("Cu", (1, 1)), "repeat"),
    (CrystalParams("Cu", (1.5, 1, 1)), "repeat"),
    (CrystalParams("Cu", (1, 1, 1), a=-3.0), "a"),
    (CrystalParams("Cu", (1000, 1000, 1000)), "repeat"),
])
def test_bad_parameters_are_named(params, parameter):
    with pytest.raises(BuildParameterError) as err:
        build_crystal(params)
    assert err.value.parameter == parameter

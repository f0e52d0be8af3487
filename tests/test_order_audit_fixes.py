"""Fixes from the audit of the Order and Diffraction docks, checked against exact crystal answers
and freud: a k-nearest selection that cuts a shell of equidistant neighbours is reported, the g(r)
"first peak" is the bond length in crystals too, diffraction intensities carry the relativistic
factor, the bonded-angle counts that choose the default triplet, and absurd g(r) requests are
refused before they allocate."""
import math
from pathlib import Path

import numpy as np
import pytest
from ase import Atoms
from ase.build import bulk, molecule
from ase.io import read
from ase.neighborlist import neighbor_list as ase_neighbor_list

from amorpha.engine.bonds import bonds
from amorpha.engine.build.crystals import beta_cristobalite
from amorpha.engine.errors import ParameterError
from amorpha.engine.order.angles import AngleParams, bonded_angle_counts, compute_angles
from amorpha.engine.order.diffraction import DiffractionParams, compute_diffraction
from amorpha.engine.order.local_order import (SteinhardtParams, TetrahedralParams, compute_steinhardt,
                                              compute_tetrahedral)
from amorpha.engine.order.pairs import RdfParams, compute_rdf

EXAMPLES = Path(__file__).resolve().parents[1] / "resources" / "examples"
A_FE, A_SI, A_CU = 2.87, 5.431, 3.615


def q6(atoms, k):
    return compute_steinhardt(atoms, SteinhardtParams(l_values=(6,), num_neighbors=k))


# --------------------------------------------------------------------------- cut shells


def test_bcc_at_k_12_says_it_cut_the_second_shell_and_keeps_freuds_values():
    freud = pytest.importorskip("freud")
    atoms = bulk("Fe", "bcc", a=A_FE, cubic=True).repeat(3)
    result = q6(atoms, 12)
    cut = result.shell_cut
    # 8 neighbours at a√3/2, then 6 at a: the 12 nearest take 4 of the 6, whichever the tie-break gives
    assert (cut.k, cut.atoms, cut.cut, cut.fewer, cut.more) == (12, 54, 54, 8, 14)
    assert cut.fraction == 1.0 and cut.distance == pytest.approx(A_FE, abs=1e-9)
    assert result.to_dict()["shell_cut"]["whole_shells"] == [8, 14]
    # the computation itself is unchanged: freud splits the shell too, into the same two values
    # (which atom gets which depends on each program's tie-break)
    box = freud.box.Box.from_matrix(atoms.cell.array.T)
    points = box.wrap(atoms.positions - 0.5 * atoms.cell.array.sum(0))
    theirs = freud.order.Steinhardt(6)
    theirs.compute((box, points), neighbors={"num_neighbors": 12})
    ours = np.unique(result.ql[:, 0].round(4))
    np.testing.assert_allclose(ours, np.unique(np.round(theirs.particle_order, 4)), atol=1e-4)
    np.testing.assert_allclose(ours, [0.5425, 0.5591], atol=1e-4)
    # whole shells: one value each, the textbook ones, and nothing to report
    for k, expected in ((8, 0.62854), (14, 0.51069)):
        whole = q6(atoms, k)
        assert whole.shell_cut.cut == 0 and whole.to_dict()["shell_cut"]["distance"] is None
        np.testing.assert_allclose(whole.ql[:, 0], expected, atol=1e-5)


def test_diamond_at_k_12_cuts_the_second_shell_of_twelve():
    atoms = bulk("Si", "diamond", a=A_SI, cubic=True).repeat(2)
    cut = q6(atoms, 12).shell_cut
    assert (cut.cut, cut.fewer, cut.more) == (64, 4, 16)
    assert cut.distance == pytest.approx(A_SI / math.sqrt(2), abs=1e-9)
    assert q6(atoms, 4).shell_cut.cut == 0


def test_ties_read_from_a_file_with_five_decimals_still_count():
    """Coordinates rounded to 1e-5 Å differ by more than the exact-tie tolerance: still one shell."""
    atoms = bulk("Fe", "bcc", a=A_FE, cubic=True).repeat(3)
    atoms.rattle(2e-6, seed=1)
    atoms.positions = np.round(atoms.positions, 5)
    assert q6(atoms, 12).shell_cut.fraction == 1.0


def test_tetrahedral_order_of_fcc_says_its_four_are_four_of_twelve():
    fcc = bulk("Cu", "fcc", a=A_CU, cubic=True).repeat(3)
    result = compute_tetrahedral(fcc, TetrahedralParams(cutoff=3.168))
    assert np.ptp(result.q) > 0.4  # -0.125 .. 0.375: arbitrary
    cut = result.shell_cut
    assert (cut.k, cut.cut, cut.fewer, cut.more) == (4, 108, 0, 12)
    assert cut.distance == pytest.approx(A_CU / math.sqrt(2), abs=1e-9)
    assert result.to_dict()["shell_cut"]["fraction"] == 1.0
    diamond = compute_tetrahedral(bulk("Si", "diamond", a=A_SI, cubic=True))
    assert diamond.shell_cut.cut == 0 and np.allclose(diamond.q, 1.0)


def test_cutoff_mode_has_no_shell_to_cut():
    atoms = bulk("Fe", "bcc", a=A_FE, cubic=True).repeat(3)
    result = compute_steinhardt(atoms, SteinhardtParams(l_values=(6,), cutoff=3.2))
    assert result.shell_cut is None and "shell_cut" not in result.to_dict()


# --------------------------------------------------------------------------- first peak


def rdf(atoms, r_max=8.0, n_bins=400):
    return compute_rdf(atoms, RdfParams(r_max=r_max, n_bins=n_bins, weighting="number"))


def nearest(atoms, a, b):
    """The shortest a–b distance, from ASE's neighbour list."""
    i, j, d = ase_neighbor_list("ijd", atoms, 6.0)
    symbols = np.array(atoms.get_chemical_symbols())
    return float(d[(symbols[i] == a) & (symbols[j] == b)].min())


@pytest.mark.parametrize("n_bins", [200, 400, 1000])
def test_first_peak_of_crystals_is_the_bond_length(n_bins):
    tol = max(0.015, 8.0 / n_bins)  # a bin's width at most: crystal peaks are one bin wide
    diamond = bulk("Si", "diamond", a=A_SI, cubic=True).repeat(4)
    result = rdf(diamond, n_bins=n_bins)
    assert result.first_peak("Si", "Si", 0.5) == pytest.approx(A_SI * math.sqrt(3) / 4, abs=tol)
    assert result.highest_peak("Si", "Si", 0.5) == pytest.approx(A_SI / math.sqrt(2), abs=tol)
    fcc = rdf(bulk("Cu", "fcc", a=A_CU, cubic=True).repeat(4), n_bins=n_bins)
    assert fcc.first_peak("Cu", "Cu", 0.5) == pytest.approx(A_CU / math.sqrt(2), abs=tol)
    cristobalite = beta_cristobalite((2, 2, 2))
    result = rdf(cristobalite, n_bins=n_bins)
    assert result.first_peak("Si", "Si", 0.5) == pytest.approx(nearest(cristobalite, "Si", "Si"), abs=tol)
    assert result.first_peak("Si", "O", 0.5) == pytest.approx(nearest(cristobalite, "Si", "O"), abs=tol)


def test_first_peak_of_the_glass_example_stays():
    result = rdf(read(EXAMPLES / "a-SiO2.extxyz"), r_max=10.0)
    assert result.first_peak("Si", "O", 0.5) == pytest.approx(1.61, abs=0.01)
    assert result.first_peak("O", "O", 0.5) == pytest.approx(2.63, abs=0.01)
    assert result.first_peak("Si", "Si", 0.5) == pytest.approx(3.1, abs=0.05)


# --------------------------------------------------------------------------- diffraction


@pytest.mark.parametrize("kv", [80.0, 200.0, 300.0])
def test_diffraction_intensity_carries_gamma_squared(kv):
    gamma = 1.0 + kv / 510.99895
    fe0 = 0.2519 + 0.6372 + 1.3795 + 2.5082 + 1.0500  # Peng's Si coefficients at s = 0
    result = compute_diffraction(Atoms("Si", positions=[[0, 0, 0]]), [0, 0, 0], [0, 0, 1],
                                 DiffractionParams(voltage=kv))
    assert result.gamma == pytest.approx(gamma)
    assert result.intensity.max() == pytest.approx(fe0 ** 2 * gamma ** 2, rel=1e-9)
    if kv == 200.0:
        assert result.intensity.max() == pytest.approx(33.95 * 1.3914 ** 2, rel=1e-3)  # 65.7 Å²
    assert "relativistic" in result.intensity_units and "relativistic" in result.to_dict()["intensity_units"]


def test_flat_sphere_pattern_has_no_beam_energy_and_no_gamma():
    result = compute_diffraction(Atoms("Si", positions=[[0, 0, 0]]), [0, 0, 0], [0, 0, 1],
                                 DiffractionParams(voltage=None))
    assert result.gamma == 1.0 and result.intensity.max() == pytest.approx(33.952, abs=1e-3)
    assert "non-relativistic" in result.intensity_units


# --------------------------------------------------------------------------- bonded angles


@pytest.mark.parametrize("atoms", [molecule("C6H6"), beta_cristobalite((1, 1, 1))],
                         ids=["benzene", "cristobalite"])
def test_bonded_angle_counts_are_the_angles_compute_angles_finds(atoms):
    counts = bonded_angle_counts(atoms.numbers, bonds(atoms))
    for triplet, count in counts.items():
        assert len(compute_angles(atoms, AngleParams(triplet)).angles) == count, triplet
    best = max(counts, key=counts.get)
    assert best in {("H", "C", "C"), ("O", "Si", "O")}  # benzene: 12 H–C–C, 6 C–C–C; silica: 6 O–Si–O per Si
    assert counts.get(("H", "H", "H"), 0) == 0


# --------------------------------------------------------------------------- absurd requests


@pytest.mark.parametrize("params, name", [(RdfParams(r_max=1e6), "r_max"), (RdfParams(n_bins=10**9), "n_bins")])
def test_absurd_rdf_requests_are_refused_before_allocating(params, name):
    with pytest.raises(ParameterError) as info:
        compute_rdf(bulk("Cu", "fcc", a=A_CU, cubic=True), params)
    assert info.value.parameter == name and "GB" in str(info.value)

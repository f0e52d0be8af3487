"""Voids: exact interstitial sites of fcc and diamond, local maxima of random packings, insertion."""
import numpy as np
import pytest
from ase import Atoms
from ase.build import bulk
from scipy.spatial import cKDTree

from amorpha.engine.build.common import BuildParameterError
from amorpha.engine.build.crystals import unit_cell
from amorpha.engine.build import voids
from amorpha.engine.build.voids import VoidParams, find_voids, insert_into_voids, warm_up
from amorpha.engine.neighbors import neighbor_list
from amorpha.engine.tasks import Cancelled

A_CU = 3.615
A_SI = 5.431


def cu(repeat=3):
    return bulk("Cu", "fcc", a=A_CU, cubic=True).repeat(repeat)


def nearest_atom(atoms, points):
    """Distance from each point to the nearest atom, periodic (orthogonal cells only)."""
    box = np.diag(atoms.cell.array)
    return cKDTree(np.mod(atoms.positions, box), boxsize=box).query(np.mod(points, box))[0]


def test_warm_up_runs():
    warm_up()


def test_fcc_octahedral_then_tetrahedral_sites():
    atoms = cu(3)
    centres, radii = find_voids(atoms)
    # 4 octahedral sites (radius a/2) and 8 tetrahedral ones (a*sqrt(3)/4) per cubic cell, and
    # no other local maximum of the distance to the nearest atom.
    assert len(radii) == 27 * 12
    assert np.allclose(radii[:108], A_CU / 2, atol=1e-9)
    assert np.allclose(radii[108:], A_CU * np.sqrt(3) / 4, atol=1e-9)
    half = centres[:108] / (A_CU / 2)  # octahedral: integer coordinates in a/2, odd sum
    assert np.allclose(half, np.round(half), atol=1e-9)
    assert np.all(np.round(half).sum(axis=1) % 2 == 1)
    quarter = centres[108:] / (A_CU / 4)  # tetrahedral: odd coordinates in a/4
    assert np.allclose(quarter, np.round(quarter), atol=1e-9)
    assert np.all(np.round(quarter) % 2 == 1)
    assert np.allclose(nearest_atom(atoms, centres), radii, atol=1e-9)
    # distinct sites, inside the cell
    assert len(np.unique(np.round(centres, 6), axis=0)) == len(centres)
    assert np.all((centres >= -1e-9) & (centres < 3 * A_CU))


def test_n_gives_the_largest_and_separation_spreads_them():
    atoms = cu(3)
    centres, radii = find_voids(atoms, 5)
    assert len(radii) == 5 and np.allclose(radii, A_CU / 2)
    # Octahedral sites are a/sqrt(2) apart: asking for 3 Å between voids keeps a subset of them.
    centres, radii = find_voids(atoms, min_separation=3.0)
    box = np.diag(atoms.cell.array)
    tree = cKDTree(np.mod(centres, box), boxsize=box)
    assert len(tree.query_pairs(3.0 - 1e-9)) == 0
    assert np.allclose(radii[0], A_CU / 2) and len(radii) < 108


def test_diamond_tetrahedral_interstitials_are_largest():
    atoms = unit_cell("Si").repeat(2)
    centres, radii = find_voids(atoms)
    t_radius = A_SI * np.sqrt(3) / 4
    big = np.isclose(radii, t_radius, atol=1e-9)
    # 8 tetrahedral interstitials per 8-atom cubic cell, each with 4 Si at a*sqrt(3)/4 and
    # 6 more at a/2; every other void is smaller (the hexagonal sites, a*sqrt(11)/8).
    assert big.sum() == 64 and np.all(big[:64])
    assert radii[64] == pytest.approx(A_SI * np.sqrt(11) / 8, abs=1e-9)
    nl = neighbor_list(Atoms(numbers=np.r_[atoms.numbers, [3]],
                             positions=np.vstack([atoms.positions, centres[:1]]),
                             cell=atoms.cell, pbc=True), 0.5 * A_SI + 1e-6)
    d = nl.neighbors_of(len(atoms))[1]
    assert np.allclose(np.sort(d), [t_radius] * 4 + [A_SI / 2] * 6, atol=1e-9)


def test_random_packing_voids_are_empty_local_maxima():
    rng = np.random.default_rng(4)
    box = np.array([11.0, 12.0, 13.0])
    atoms = Atoms("Ar60", positions=rng.random((60, 3)) * box, cell=box, pbc=True)
    centres, radii = find_voids(atoms)
    assert np.all(np.diff(radii) <= 1e-12)
    assert np.allclose(nearest_atom(atoms, centres), radii, atol=1e-9)
    # Every small step away from a void's centre brings an atom nearer.
    steps = rng.normal(size=(200, 3))
    steps *= 1e-3 / np.linalg.norm(steps, axis=1)[:, None]
    for c, r in zip(centres, radii):
        assert nearest_atom(atoms, c + steps).max() < r
    # ... and nowhere in the box is farther from every atom than the largest void's radius.
    probes = rng.random((200_000, 3)) * box
    assert nearest_atom(atoms, probes).max() <= radii[0] + 1e-9


def test_open_cluster_voids_stay_inside():
    atoms = cu(3)
    atoms.pbc = False
    centres, radii = find_voids(atoms, 30)
    # The interior octahedral sites of a 3x3x3 cube of cells (2x2x2 x ... of them), not the outside.
    assert np.allclose(radii, A_CU / 2)
    assert np.all((centres > 0.0) & (centres < 3 * A_CU - A_CU / 2))
    assert len(find_voids(Atoms("Cu3", positions=np.eye(3)))[1]) == 0


def test_insert_into_largest_void_leaves_input_untouched():
    atoms = cu(3)
    atoms.arrays["tag_me"] = np.arange(len(atoms))
    before = atoms.copy()
    out = insert_into_voids(atoms, VoidParams("Li", 1))
    assert len(atoms) == len(before) and np.array_equal(atoms.positions, before.positions)
    assert "inserted" not in atoms.arrays and atoms.info == before.info
    assert len(out) == len(atoms) + 1 and out[-1].symbol == "Li"
    assert out.arrays["inserted"].tolist() == [False] * len(atoms) + [True]
    assert out.info["inserted_count"] == 1 and out.info["void_radii"] == pytest.approx([A_CU / 2])
    # The Li sits on an octahedral site: 6 Cu at a/2.
    nl = neighbor_list(out, A_CU / 2 + 0.01)
    idx, d, _ = nl.neighbors_of(len(atoms))
    assert len(idx) == 6 and np.allclose(d, A_CU / 2)
    assert out.arrays["tag_me"][-1] == 0


def test_inserted_atoms_keep_their_separation():
    out = insert_into_voids(cu(3), VoidParams("Cu", 10, min_separation=4.0))
    new = out.positions[out.arrays["inserted"]]
    box = np.diag(out.cell.array)
    assert len(cKDTree(np.mod(new, box), boxsize=box).query_pairs(4.0 - 1e-9)) == 0


@pytest.mark.parametrize("params, parameter, words", [
    (VoidParams("Qq"), "element", "not a chemical element"),
    (VoidParams("Cu", 0), "count", "between 1"),
    (VoidParams("Cu", 1, min_separation=-1.0), "min_separation", "distance"),
    (VoidParams("Cu", 20, min_separation=4.0), "count", "only 12 voids at least 4 Å apart were found"),
    (VoidParams("Cu", 200, min_separation=3.0), "count", "200 atoms 3 Å apart do not fit"),
])
def test_bad_parameters(params, parameter, words):
    with pytest.raises(BuildParameterError) as err:
        insert_into_voids(cu(3), params)
    assert err.value.parameter == parameter and words in str(err.value)


def test_count_error_says_how_many_were_found():
    with pytest.raises(BuildParameterError, match=r"only 324 voids .* at most 324"):
        insert_into_voids(cu(3), VoidParams("Li", 400, min_separation=0.5))


def test_most_voids_is_the_densest_packing(monkeypatch):
    """fcc is the densest packing: its points at the nearest-neighbour distance reach the bound."""
    assert voids.most_voids(cu(1), A_CU / np.sqrt(2)) == 4
    assert voids.most_voids(cu(2), A_CU / np.sqrt(2)) == 32
    cluster = cu(2)
    cluster.pbc = False  # the atoms span 1.5 a; one d more on each axis
    assert voids.most_voids(cluster, A_CU) == int(np.sqrt(2) * 2.5 ** 3)
    # an impossible count is refused before any search
    monkeypatch.setattr(voids, "_candidates", lambda *a: pytest.fail("searched"))
    with pytest.raises(BuildParameterError, match="at most 4 would"):
        insert_into_voids(cu(1), VoidParams("Li", 5, min_separation=A_CU / np.sqrt(2)))


def test_cancel():
    with pytest.raises(Cancelled):
        find_voids(cu(3), 1, cancel=lambda: True)
    with pytest.raises(Cancelled):
        insert_into_voids(cu(3), VoidParams("Li"), cancel=lambda: True)


@pytest.mark.parametrize("pbc", [(True, True, True), (True, True, False), (False, False, False)])
def test_blocks_agree_with_one_triangulation(monkeypatch, pbc):
    rng = np.random.default_rng(8)
    cell = np.array([[12.0, 0.0, 0.0], [3.0, 11.0, 0.0], [-2.0, 1.5, 13.0]])
    atoms = Atoms("Si400", positions=rng.random((400, 3)) @ cell, cell=cell, pbc=pbc)
    whole = find_voids(atoms)
    monkeypatch.setattr(voids, "BLOCK_ATOMS", 25)
    pieces = find_voids(atoms)
    assert len(whole[1]) == len(pieces[1]) > 100
    assert np.allclose(whole[1], pieces[1], atol=1e-9)
    assert np.allclose(whole[0], pieces[0], atol=1e-9)

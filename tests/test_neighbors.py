"""Neighbour list, bonds and coordination against ASE's reference neighbour list."""
from __future__ import annotations

import numpy as np
import pytest
from ase import Atoms
from ase.neighborlist import neighbor_list as ase_neighbor_list

from amorpha.engine.bonds import (
    CoordinationParams,
    bond_cutoffs,
    bonds,
    compute_coordination,
)
from amorpha.engine.build.crystals import alpha_quartz
from amorpha.engine.neighbors import NeighborList, neighbor_list, warm_up
from amorpha.engine.tasks import Cancelled
from gil_probe import least_gil_wait
from random_silica import random_silica


def as_pairs(i, j, shifts, distances) -> dict:
    return {(int(a), int(b), *map(int, s)): float(d) for a, b, s, d in zip(i, j, shifts, distances)}


def assert_same_as_ase(atoms: Atoms, cutoff: float) -> NeighborList:
    i, j, d, s = ase_neighbor_list("ijdS", atoms, cutoff, self_interaction=False)
    nl = neighbor_list(atoms, cutoff)
    ours_i, ours_j = nl.pairs()
    expected = as_pairs(i, j, s, d)
    got = as_pairs(ours_i, ours_j, nl.shifts, nl.distances)
    assert nl.n_pairs == len(got), "a pair is listed twice"
    assert got.keys() == expected.keys()
    keys = sorted(expected)
    np.testing.assert_allclose([got[k] for k in keys], [expected[k] for k in keys], rtol=0, atol=1e-10)
    # distances agree with the stored shifts
    if nl.n_pairs:
        np.testing.assert_allclose(np.linalg.norm(nl.vectors(atoms), axis=1), nl.distances, atol=1e-10)
    assert nl.indptr.dtype == nl.indices.dtype == nl.shifts.dtype == np.int64
    assert nl.distances.dtype == np.float64
    assert np.all(np.diff(nl.indptr) >= 0) and nl.indptr[-1] == nl.n_pairs
    return nl


def random_cell(rng, skew: float) -> np.ndarray:
    cell = np.diag(rng.uniform(4.0, 7.0, 3))
    cell[1, 0] = skew * rng.uniform(-1, 1) * cell[0, 0]
    cell[2, :2] = skew * rng.uniform(-1, 1, 2) * cell[0, 0]
    return cell


def random_atoms(rng, n: int, cell: np.ndarray, pbc, spread: float = 0.0) -> Atoms:
    positions = rng.random((n, 3)) @ cell if cell.any() else rng.random((n, 3)) * 8.0
    positions += rng.normal(0.0, spread, (n, 3))  # unwrapped, possibly far outside the cell
    return Atoms(numbers=rng.choice([8, 14], n), positions=positions, cell=cell, pbc=pbc)


@pytest.fixture(params=["pruned", "whole"])
def stencil(request, monkeypatch):
    """Both stencils: pruned to the bins within the cutoff (big systems) and every bin in reach
    (small ones, where pruning costs more than it saves)."""
    import amorpha.engine.neighbors as nb

    monkeypatch.setattr(nb, "_PRUNE_WORK", 0 if request.param == "pruned" else 10**12)
    return request.param


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("skew", [0.0, 0.6, 1.5])
@pytest.mark.parametrize("fraction", [0.3, 0.7, 1.6])  # of the shortest cell height
def test_periodic_triclinic_matches_ase(seed, skew, fraction, stencil):
    rng = np.random.default_rng(seed)
    cell = random_cell(rng, skew)
    atoms = random_atoms(rng, 30, cell, True)
    heights = 1.0 / np.linalg.norm(np.linalg.inv(cell), axis=0)
    assert_same_as_ase(atoms, fraction * heights.min())


@pytest.mark.parametrize("pbc", [(True, True, False), (True, False, False), (False, True, True),
                                 (False, False, True), (True, False, True)])
@pytest.mark.parametrize("cutoff", [1.5, 4.0, 9.0])
def test_mixed_pbc_matches_ase(pbc, cutoff, stencil):
    rng = np.random.default_rng(7)
    atoms = random_atoms(rng, 25, random_cell(rng, 0.8), pbc)
    assert_same_as_ase(atoms, cutoff)


def test_cutoff_longer_than_cell_lists_own_images():
    atoms = Atoms("Si", positions=[[0.3, 0.2, 0.1]], cell=[[2.5, 0, 0], [1.0, 2.5, 0], [0, 0.7, 2.5]],
                  pbc=True)
    nl = assert_same_as_ase(atoms, 6.0)
    assert nl.n_pairs > 50
    assert np.all(nl.indices == 0) and not np.any(np.all(nl.shifts == 0, axis=1))


@pytest.mark.parametrize("cell", [np.zeros((3, 3)), np.diag([5.0, 5.0, 5.0])])
@pytest.mark.parametrize("small", [0, 64])  # binned, or every two atoms compared (SMALL_MOLECULE)
def test_open_boundaries_match_ase(cell, small, stencil, monkeypatch):
    import amorpha.engine.neighbors as nb

    monkeypatch.setattr(nb, "SMALL_MOLECULE", small)
    rng = np.random.default_rng(3)
    atoms = random_atoms(rng, 60, cell, False)
    atoms.positions -= 20.0  # negative coordinates, outside the cell
    for cutoff in (0.5, 3.0, 30.0):  # few pairs, some, all
        assert_same_as_ase(atoms, cutoff)
    two = Atoms("OH", positions=[[0, 0, 0], [0.96, 0, 0]])
    assert assert_same_as_ase(two, 0.96).n_pairs == 0  # strictly closer than the cutoff


def test_atoms_far_outside_the_cell():
    rng = np.random.default_rng(11)
    atoms = random_atoms(rng, 30, random_cell(rng, 0.9), True, spread=40.0)
    atoms.positions[0] = [-123.4, 56.7, -890.1]
    for cutoff in (2.0, 6.0):
        assert_same_as_ase(atoms, cutoff)


def test_single_and_empty():
    nl = assert_same_as_ase(Atoms("O", positions=[[0, 0, 0]]), 3.0)
    assert nl.n_atoms == 1 and nl.n_pairs == 0
    nl = neighbor_list(Atoms(), 3.0)
    assert nl.n_atoms == 0 and nl.n_pairs == 0 and nl.indptr.tolist() == [0]
    assert nl.shifts.shape == (0, 3)


def test_many_atoms_several_chunks(monkeypatch):
    import amorpha.engine.neighbors as neighbors

    monkeypatch.setattr(neighbors, "CHUNK_ATOMS", 97)
    rng = np.random.default_rng(5)
    atoms = random_atoms(rng, 600, random_cell(rng, 0.5) * 2.0, True)
    assert_same_as_ase(atoms, 3.2)


def test_helpers():
    atoms = alpha_quartz()
    nl = neighbor_list(atoms, 2.0)
    i, j = nl.pairs()
    assert len(i) == nl.n_pairs and np.all(np.diff(i) >= 0)
    idx, dist, shifts = nl.neighbors_of(0)
    assert len(idx) == nl.counts()[0] == 4 and np.all(dist < 2.0) and shifts.shape == (4, 3)
    short = nl.filter(nl.distances < 1.6)
    assert short.n_atoms == nl.n_atoms and np.all(short.distances < 1.6)
    assert short.n_pairs == int(np.sum(nl.distances < 1.6))
    assert_pairs_equal(short, nl, nl.distances < 1.6)


def assert_pairs_equal(filtered: NeighborList, full: NeighborList, mask) -> None:
    fi, fj = filtered.pairs()
    gi, gj = full.pairs()
    assert as_pairs(fi, fj, filtered.shifts, filtered.distances) == as_pairs(
        gi[mask], gj[mask], full.shifts[mask], full.distances[mask]
    )


def test_bond_cutoffs_defaults_and_overrides():
    table = bond_cutoffs([14, 8, 8])
    assert set(table) == {(8, 8), (8, 14), (14, 14)}
    assert table[(8, 14)] == pytest.approx((1.11 + 0.66) * 1.2)
    table = bond_cutoffs([14, 8], {("O", "Si"): 2.0, (8, 8): None, ("Si", "Si"): 0})
    assert table == {(8, 8): 0.0, (8, 14): 2.0, (14, 14): 0.0}
    with pytest.raises(ValueError, match="Si–O"):
        bond_cutoffs([14, 8], {("Si", "O"): -1.0})


def test_quartz_coordination():
    atoms = alpha_quartz((2, 2, 2))
    result = compute_coordination(atoms, CoordinationParams())
    si = atoms.numbers == 14
    assert np.all(result.coordination[si] == 4) and np.all(result.coordination[~si] == 2)
    assert result.to_arrays()["coordination"] is result.coordination
    summary = result.to_dict()
    assert summary["elements"]["Si"]["histogram"] == {4: int(si.sum())}
    assert summary["elements"]["O"]["mean"] == 2.0


def _oxide(name):
    from ase.build import bulk
    from ase.spacegroup import crystal

    if name == "rutile":  # Baur & Khan 1971
        return crystal(["Ti", "O"], [(0, 0, 0), (0.3049, 0.3049, 0)], spacegroup=136,
                       cellpar=[4.594, 4.594, 2.959, 90, 90, 90]).repeat((2, 2, 3))
    if name == "corundum":  # Finger & Hazen 1978
        return crystal(["Al", "O"], [(0, 0, 0.3523), (0.3064, 0, 0.25)], spacegroup=167,
                       cellpar=[4.759, 4.759, 12.991, 90, 90, 120])
    return bulk("MgO", "rocksalt", a=4.212).repeat((2, 2, 2))


@pytest.mark.parametrize("name, cation, z, anion_z", [("rutile", 22, 6, 3), ("corundum", 13, 6, 4),
                                                      ("MgO", 12, 6, 6)])
def test_oxides_bond_cations_to_anions_only_by_default(name, cation, z, anion_z):
    """Textbook coordination of the oxides (TiO6, AlO6, MgO6): covalent radii × 1.2 would also
    bond Ti–Ti at 2.96 Å, Al–Al at 2.65 Å and Mg–Mg at 2.98 Å; the default leaves metal pairs
    out where there are anions, and an override brings them back."""
    atoms = _oxide(name)
    result = compute_coordination(atoms, CoordinationParams())
    metal = atoms.numbers == cation
    assert np.all(result.coordination[metal] == z) and np.all(result.coordination[~metal] == anion_z)
    assert bond_cutoffs(atoms.numbers)[(cation, cation)] == 0.0
    with_metal_pairs = compute_coordination(atoms, CoordinationParams({(cation, cation): 3.0})).coordination
    assert np.all(with_metal_pairs[metal] > z)


def test_metals_and_metalloids_keep_their_own_bonds():
    """No anion: fcc Cu keeps its 12 neighbours; Si–Si stays a bond beside O (a-SiO's Si clusters)."""
    from ase.build import bulk

    copper = bulk("Cu", "fcc", a=3.615).repeat((2, 2, 2))
    assert np.all(compute_coordination(copper, CoordinationParams()).coordination == 12)
    assert bond_cutoffs([14, 8])[(14, 14)] == pytest.approx(1.11 * 2 * 1.2)
    assert bond_cutoffs([26, 6])[(26, 26)] > 0  # carbon is no anion here: steel's Fe keeps Fe–Fe


def test_si_o_only_and_reused_neighbors():
    atoms = alpha_quartz((2, 2, 2))
    only = {("Si", "Si"): 0, ("O", "O"): None, ("Si", "O"): 3.2}
    nl = neighbor_list(atoms, 3.5)
    bonded = bonds(atoms, only, neighbors=nl)
    i, j = bonded.pairs()
    assert np.all(atoms.numbers[i] != atoms.numbers[j])
    # 3.2 Å also reaches second-shell Si-O; compare with ASE's per-pair cutoff list.
    ai, aj = ase_neighbor_list("ij", atoms, {("Si", "O"): 3.2})
    assert np.array_equal(np.bincount(ai, minlength=len(atoms)), bonded.counts())
    with pytest.raises(ValueError, match="shorter than"):
        bonds(atoms, only, neighbors=neighbor_list(atoms, 3.0))


@pytest.mark.parametrize("seed", [0, 1])
def test_coordination_matches_ase(seed):
    rng = np.random.default_rng(seed)
    atoms = random_atoms(rng, 80, random_cell(rng, 0.7) * 1.3, (True, True, False))
    table = bond_cutoffs(atoms.numbers)
    ai = ase_neighbor_list("i", atoms, {k: v for k, v in table.items()})
    result = compute_coordination(atoms, CoordinationParams())
    assert np.array_equal(result.coordination, np.bincount(ai, minlength=len(atoms)))


def test_no_bonds_at_all():
    atoms = alpha_quartz()
    off = {("Si", "Si"): 0, ("O", "O"): 0, ("Si", "O"): 0}
    assert bonds(atoms, off).n_pairs == 0
    assert compute_coordination(atoms, CoordinationParams(off)).coordination.sum() == 0


def test_cancel_after_first_chunk(monkeypatch):
    import amorpha.engine.neighbors as neighbors

    monkeypatch.setattr(neighbors, "CHUNK_ATOMS", 50)
    atoms = alpha_quartz((4, 4, 4))
    calls = []

    def cancel():
        calls.append(1)
        return len(calls) > 2  # the check before the first chunk, then the first chunk runs

    with pytest.raises(Cancelled):
        neighbor_list(atoms, 3.0, cancel=cancel)


def test_progress_reaches_one():
    seen = []
    neighbor_list(alpha_quartz((2, 2, 2)), 3.0, progress=lambda f, m: seen.append(f))
    assert seen and seen[-1] == 1.0 and all(0.0 <= f <= 1.0 for f in seen)
    assert seen == sorted(seen)


@pytest.mark.parametrize("cutoff", [0.0, -1.0, float("nan")])
def test_bad_cutoff(cutoff):
    with pytest.raises(ValueError, match="cutoff"):
        neighbor_list(alpha_quartz(), cutoff)


def test_nan_positions():
    atoms = alpha_quartz()
    atoms.positions[3, 1] = np.nan
    with pytest.raises(ValueError, match="atom 3"):
        neighbor_list(atoms, 2.0)


def test_periodic_zero_cell_vector():
    atoms = Atoms("Si2", positions=[[0, 0, 0], [1, 0, 0]], cell=[5, 5, 0], pbc=True)
    with pytest.raises(ValueError, match="cell vector 2"):
        neighbor_list(atoms, 2.0)


def test_warm_up_runs():
    warm_up()


def test_pair_buffers_filling_up_mid_bin(monkeypatch):
    """Buffers sized for one atom's candidates only: the search resumes at the next atom."""
    import amorpha.engine.neighbors as neighbors

    monkeypatch.setattr(neighbors, "CHUNK_ATOMS", 97)
    monkeypatch.setattr(neighbors, "_PAIRS_PER_ATOM", 0.0)
    calls = []
    find = neighbors._find_pairs

    def spy(*args):
        calls.append(args[0])
        return find(*args)

    monkeypatch.setattr(neighbors, "_find_pairs", spy)
    rng = np.random.default_rng(11)
    atoms = random_atoms(rng, 600, random_cell(rng, 0.5) * 2.0, True)
    assert_same_as_ase(atoms, 3.2)
    assert len(calls) > 20  # many pieces, most of them cut inside a bin


def test_very_long_cutoff_uses_wide_wrap_codes(monkeypatch):
    """Wraps of more than 16 cells do not fit the int16 codes; int32 ones are used instead."""
    import amorpha.engine.neighbors as neighbors

    code_types = []
    find = neighbors._find_pairs

    def spy(*args):
        code_types.append(args[-1].dtype)
        return find(*args)

    monkeypatch.setattr(neighbors, "_find_pairs", spy)
    cell = [[1.2, 0.0, 0.0], [0.3, 1.1, 0.0], [0.2, 0.1, 1.0]]
    atoms = Atoms("SiO", positions=[[0.1, 0.2, 0.3], [0.7, 0.5, 0.4]], cell=cell, pbc=True)
    nl = assert_same_as_ase(atoms, 16.3)  # not 16.5: a lattice vector is exactly that long
    assert nl.n_pairs > 10_000 and code_types and all(t == np.int32 for t in code_types)


def test_peak_memory_at_most_twice_the_output():
    """The issue's memory bound, on an a-SiO2-like network (the benchmark checks 1e6 atoms)."""
    import tracemalloc

    from amorpha.engine.build.crystals import beta_cristobalite

    atoms = beta_cristobalite((12, 12, 12))  # 41,472 atoms
    atoms.positions += np.random.default_rng(3).normal(0.0, 0.1, atoms.positions.shape)
    for cutoff in (2.0, 5.0):
        neighbor_list(atoms, cutoff)  # compiled already; measure a warm call
        tracemalloc.start()
        nl = neighbor_list(atoms, cutoff)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        output = nl.indptr.nbytes + nl.indices.nbytes + nl.distances.nbytes + nl.shifts.nbytes
        assert peak <= 2.0 * output, f"cutoff {cutoff}: peak {peak / output:.2f} x output"


def test_bond_counts_per_element_pair():
    from amorpha.engine.bonds import bond_counts, bond_cutoffs
    from amorpha.engine.build.crystals import alpha_quartz

    atoms = alpha_quartz((2, 2, 2))
    counts = bond_counts(atoms, bonds(atoms, bond_cutoffs(atoms.numbers, {("Si", "Si"): 3.2})))
    i, j = ase_neighbor_list("ij", atoms, 3.2)
    si = atoms.numbers == 14
    assert counts[(8, 14)] == 4 * np.count_nonzero(si)  # each Si has four O
    assert counts[(14, 14)] == np.count_nonzero(si[i] & si[j]) // 2
    assert counts[(8, 8)] == 0


def test_bonding_a_million_atoms_keeps_the_gil_free():
    """The window bonds every model it shows in a worker (neighbour list, cutoffs, coordination):
    for 10^6 atoms that worker never holds the GIL, which the GUI thread needs, for 0.1 s."""
    n = 10**6
    numbers, positions, box = random_silica(n)
    atoms = Atoms(numbers, positions=positions, cell=[box] * 3, pbc=True)
    warm_up()

    def bond_task():
        cutoffs = bond_cutoffs(atoms.numbers)
        nl = bonds(atoms, cutoffs)
        return nl, compute_coordination(atoms, CoordinationParams(cutoffs=cutoffs), neighbors=nl)

    (nl, coordination), seconds, worst = least_gil_wait(bond_task, 0.1)
    assert nl.n_atoms == n and coordination.coordination.sum() == nl.n_pairs
    assert worst < 0.1, f"the GIL was held for {worst * 1e3:.0f} ms"


def test_a_given_list_is_cut_to_bonds_in_chunks_that_cancel_reaches():
    """bonds() with a list: the pairs within the cutoffs (as ASE finds them), the list itself
    when all are bonds (no copy of 10⁷ pairs), and Cancel seen between chunks of the cut."""
    atoms = alpha_quartz((2, 2, 2))
    wide = neighbor_list(atoms, 4.0)
    cut = bonds(atoms, None, neighbors=wide)
    i, j = ase_neighbor_list("ij", atoms, bond_cutoffs(atoms.numbers)[(8, 14)])
    si_o = atoms.numbers[i] != atoms.numbers[j]
    assert cut.n_pairs == np.count_nonzero(si_o) and bonds(atoms, None, neighbors=cut) is cut
    with pytest.raises(Cancelled):
        bonds(atoms, None, neighbors=wide, cancel=lambda: True)

"""a-Si by WWW bond switching: the Keating kernel, the switch move, and the quality of a 512-atom
network measured with the project's own analyses (coordination, angles, rings, RDF).

Targets (Barkema & Mousseau, PRB 62, 4985 (2000); WWW models reach 9–11°): ≥ 98 % four-fold
atoms, bond-angle spread ≤ 11.5°, no 3- (or 4-) rings, density near 2.3 g/cm³, first RDF peak at
2.35 Å, and no crystal grown back from the diamond it started as.
"""
import threading
import time

import numpy as np
import pytest

from amorpha.engine.bonds import CoordinationParams, bond_cutoffs, compute_coordination
from amorpha.engine.build import BuildParameterError
from amorpha.engine.build import keating as K
from amorpha.engine.build import network as N
from amorpha.engine.build.network import NetworkParams, build_amorphous_si, build_network
from amorpha.engine.order.angles import AngleParams, compute_angles
from amorpha.engine.order.pairs import RdfParams, compute_rdf
from amorpha.engine.order.rings import RingParams, compute_rings
from amorpha.engine.tasks import Cancelled

PARAMS = NetworkParams(n_atoms=512, seed=0)


@pytest.fixture(scope="module")
def built():
    """One 512-atom build per session (the network is also what the cache keeps)."""
    reports = []
    start = time.perf_counter()
    atoms = build_amorphous_si(PARAMS, progress=lambda f, m: reports.append((f, m)))
    seconds = time.perf_counter() - start
    print(f"\n512-atom a-Si built in {seconds:.1f} s: {atoms.info}")
    return atoms, build_network(PARAMS), reports


def distorted_diamond(cells=(2, 2, 2), noise=0.15, seed=0):
    pos, cell, bonds, shifts = N.diamond(cells)
    topo = K.Topology.from_bonds(pos, cell, bonds, shifts, np.zeros(len(pos), np.int64))
    topo.positions += np.random.default_rng(seed).normal(0.0, noise, topo.positions.shape)
    topo.scale(1.02)
    return topo


# --------------------------------------------------------------------------- Keating kernel


def test_diamond_is_the_keating_ground_state():
    pos, cell, bonds, shifts = N.diamond((2, 2, 2))
    topo = K.Topology.from_bonds(pos, cell, bonds, shifts, np.zeros(64, np.int64))
    assert K.energy(topo, K.silicon()) == pytest.approx(0.0, abs=1e-20)
    assert np.abs(K.forces(topo, K.silicon())).max() < 1e-12
    assert np.allclose(np.linalg.norm(topo.bond_vectors(), axis=1), K.BOND_SI)


@pytest.mark.parametrize("ff_name", ["silicon", "silicon_oxygen"])
def test_forces_are_minus_the_energy_gradient(ff_name):
    topo = distorted_diamond()
    if ff_name == "silicon_oxygen":  # every other atom an O: exercises the per-type tables
        topo.types = (np.arange(topo.n_atoms) % 2).astype(np.int64)
    ff = getattr(K, ff_name)()
    forces = K.forces(topo, ff)
    h = 1e-6
    for i in (0, 7, 33):
        for c in range(3):
            topo.positions[i, c] += h
            up = K.energy(topo, ff)
            topo.positions[i, c] -= 2 * h
            down = K.energy(topo, ff)
            topo.positions[i, c] += h
            assert -(up - down) / (2 * h) == pytest.approx(forces[i, c], abs=1e-6)


def test_line_search_quartic_is_exact():
    """Along any direction the Keating energy is a quartic: the coefficients reproduce it."""
    topo = distorted_diamond()
    ff = K.silicon()
    ws = K.Workspace(topo, ff)
    p = np.random.default_rng(1).normal(0.0, 0.05, topo.positions.shape)
    coeffs = K._line_coefficients(ws.all, p, topo.positions, topo.cell, topo.neighbors,
                                  topo.degree, topo.images, topo.types, *ws.tables, ws.rv, ws.qv,
                                  ws.dv)
    base = topo.positions.copy()
    for t in (0.0, 0.3, 1.0, 2.5):
        topo.positions = base + t * p
        assert np.polyval(coeffs[::-1], t) == pytest.approx(K.energy(topo, ff), rel=1e-10)


def test_relaxation_returns_a_strained_diamond_to_zero_energy():
    topo = distorted_diamond()
    topo.scale(1 / 1.02)
    energy = K.relax(topo, K.silicon(), fmax=1e-5)
    assert energy < 1e-8
    assert np.abs(K.forces(topo, K.silicon())).max() < 1e-5


# --------------------------------------------------------------------------- network topology


def test_supercell_sizes():
    assert N.supercell_for(512) == (4, 4, 4)
    assert N.supercell_for(1000) == (5, 5, 5)
    assert N.supercell_for(64) == (2, 2, 2)
    a, b, c = N.supercell_for(3000)
    assert abs(8 * a * b * c - 3000) <= 60 and c <= 1.5 * a


def test_six_rings_mark_crystalline_atoms():
    pos, cell, bonds, shifts = N.diamond((2, 2, 3))
    topo = K.Topology.from_bonds(pos, cell, bonds, shifts, np.zeros(len(pos), np.int64))
    counts = N.six_rings(topo.neighbors, topo.degree, topo.images, np.zeros(len(pos), np.int64))
    assert np.all(counts == 12)


def test_network_is_fourfold_with_consistent_image_shifts(built):
    _, net, _ = built
    n = net.n_atoms
    assert np.all(np.bincount(net.bonds.ravel(), minlength=n) == 4)
    assert len(net.bonds) == 2 * n
    assert len({tuple(b) for b in np.sort(net.bonds, axis=1)}) == len(net.bonds)  # simple graph
    lengths = np.linalg.norm(net.positions[net.bonds[:, 1]] + net.shifts @ net.cell
                             - net.positions[net.bonds[:, 0]], axis=1)
    assert lengths.min() > 0.8 * K.BOND_SI and lengths.max() < 1.13 * K.BOND_SI
    assert lengths.mean() == pytest.approx(K.BOND_SI, abs=1e-3)  # the box is fitted to d
    assert net.violations == 0


def test_progress_is_reported_to_the_end(built):
    _, _, reports = built
    fractions = [f for f, _ in reports]
    assert len(fractions) > 20 and fractions[-1] == 1.0
    assert all(0.0 <= f <= 1.0 for f in fractions)


def test_info(built):
    atoms, net, _ = built
    info = atoms.info
    assert info["name"] == "a-Si (WWW, 512 atoms)"
    assert info["switches_attempted"] > info["switches_accepted"] > 512
    assert info["keating_energy_per_atom_eV"] == pytest.approx(net.energy_eV / 512)
    assert info["density_g_cm3"] == pytest.approx(net.density_g_cm3)
    assert "bond switching" in info["builder"] or "WWW" in info["builder"]


# --------------------------------------------------------------------------- quality


def test_fourfold_by_geometry(built):
    atoms, _, _ = built
    default = compute_coordination(atoms).coordination
    assert bond_cutoffs(atoms.numbers)[(14, 14)] == pytest.approx(2.664, abs=1e-3)
    assert (default == 4).mean() >= 0.98
    wide = compute_coordination(atoms, CoordinationParams(cutoffs={("Si", "Si"): 2.8}))
    assert (wide.coordination == 4).mean() >= 0.98


def test_bond_angles(built):
    atoms, _, _ = built
    angles = compute_angles(atoms, AngleParams(triplet=("Si", "Si", "Si")))
    assert angles.mean == pytest.approx(109.3, abs=0.5)
    assert angles.std <= 11.5
    assert angles.angles.min() > 60.0


def test_rings_no_small_rings_and_no_crystal(built):
    atoms, _, _ = built
    rings = compute_rings(atoms, RingParams(max_size=10, definition="primitive"))
    per_atom = {k: v / len(atoms) for k, v in rings.histogram().items()}
    assert 3 not in per_atom and 4 not in per_atom
    assert per_atom[6] == max(per_atom.values())
    assert per_atom[5] > 0.3 and per_atom[7] > 0.3  # diamond has only 6-rings (2 per atom)
    assert per_atom[6] < 1.0
    # atoms on twelve 6-rings are crystalline (all of diamond's are): none grew back
    six = np.zeros(len(atoms), np.int64)
    for ring, size in zip(rings.rings, rings.sizes):
        if size == 6:
            six[ring] += 1
    assert (six >= 12).mean() < 0.02


def test_density_and_rdf_first_peak(built):
    atoms, _, _ = built
    assert atoms.info["density_g_cm3"] == pytest.approx(2.3, abs=0.08)
    rdf = compute_rdf(atoms, RdfParams(r_max=6.0, n_bins=300))
    # Keating bonds stretch more easily than they shorten: with the mean at 2.35 Å the
    # distribution's peak sits a little below it
    assert rdf.first_peak("Si", "Si") == pytest.approx(2.33, abs=0.03)
    assert rdf.coordination_at("Si", "Si", 2.8) == pytest.approx(4.0, abs=0.05)


# --------------------------------------------------------------------------- behaviour


def test_same_seed_same_network_and_fixed_density():
    params = NetworkParams(n_atoms=64, seed=3, switches_per_atom=100, density=2.2)
    first = build_network(params)
    N._CACHE.clear()
    second = build_network(params)
    assert first is not second
    assert np.array_equal(first.bonds, second.bonds)
    assert np.allclose(first.positions, second.positions)
    assert second.density_g_cm3 == pytest.approx(2.2, rel=1e-9)
    assert build_network(params) is second  # kept


@pytest.mark.parametrize("params, parameter", [
    (NetworkParams(n_atoms=8), "n_atoms"),
    (NetworkParams(n_atoms=-512), "n_atoms"),
    (NetworkParams(n_atoms=512.5), "n_atoms"),
    (NetworkParams(seed=-1), "seed"),
    (NetworkParams(switches_per_atom=-1), "switches_per_atom"),
    (NetworkParams(kT_start=0.1, kT_end=0.2), "kT_end"),
    (NetworkParams(kT_melt=0.0), "kT_melt"),
    (NetworkParams(melt_memory=1.5), "melt_memory"),
    (NetworkParams(smallest_ring=3), "smallest_ring"),
    (NetworkParams(density=0.5), "density"),
])
def test_bad_parameters_are_refused_before_work(params, parameter):
    calls = []
    with pytest.raises(BuildParameterError) as err:
        build_amorphous_si(params, progress=lambda f, m: calls.append(f))
    assert err.value.parameter == parameter and calls == []
    assert str(err.value).startswith(f"{parameter}: ")


def test_cancel_stops_within_half_a_second():
    stop = threading.Event()
    stopped_at = []
    result = []

    def run():
        try:
            build_network(NetworkParams(n_atoms=512, seed=12345), cancel=stop.is_set)
        except Cancelled:
            stopped_at.append(time.perf_counter())
            result.append("cancelled")

    worker = threading.Thread(target=run)
    worker.start()
    time.sleep(1.0)
    asked = time.perf_counter()
    stop.set()
    worker.join(10.0)
    assert result == ["cancelled"]
    assert stopped_at[0] - asked < 0.5

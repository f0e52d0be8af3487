"""Kinetic Monte Carlo on hop networks against exact answers: lattice D, Arrhenius, percolation,
detailed balance, unwrapped displacements, cancel with a partial result, and input checks."""
import dataclasses
import time

import numpy as np
import pytest

from amorpha.engine.diffusion import (KB_EV, HopNetwork, KmcParams, arrhenius_fit,
                                      diffusion_coefficient, diffusion_tensor, first_spanning,
                                      long_range, mean_squared_displacement,
                                      percolation_barrier, random_barrier_lattice, run_kmc,
                                      simple_cubic_lattice, temperature_scan)
from amorpha.engine.diffusion import analysis, kmc
from amorpha.engine.errors import ParameterError

NU = 1e13


def hop_rate(barrier, temperature):
    return NU * np.exp(-barrier / (KB_EV * temperature))


def ring(n=10, a=1.0, barrier=0.1, directed=False, direction=(1.0, 0.0, 0.0)):
    """n sites on a periodic line along ``direction`` (x, or in the xy plane; the cell's first
    vector, n·a long), each joined to the next."""
    along = np.asarray(direction, float) / np.linalg.norm(direction)
    positions = np.arange(n)[:, None] * a * along
    edges = np.column_stack([np.arange(n), (np.arange(n) + 1) % n])
    shifts = np.zeros((n, 3), int)
    shifts[-1, 0] = 1
    across = np.cross([0.0, 0.0, 1.0], along)
    cell = np.array([n * a * along, 10.0 * across, [0.0, 0.0, 10.0]])
    return HopNetwork.from_barriers(positions, edges, barrier, cell=cell, shifts=shifts,
                                    directed=directed)


def hop_table(net):
    """Every hop as a row (source, target, shift, jump), in a fixed order."""
    rows = np.column_stack([net.sources, net.targets, net.shifts, net.jumps])
    return rows[np.lexsort(rows[:, ::-1].T)]


def test_warm_up_runs():
    kmc.warm_up()
    analysis.warm_up()


def test_rates_obey_detailed_balance_and_rate_table_sums_rows():
    rng = np.random.default_rng(3)
    energies = rng.uniform(0.0, 0.2, 8)
    net = simple_cubic_lattice(2, 2.0, rng.uniform(0.3, 0.5, 24), energies=energies)
    T = 450.0
    k = net.rates(T)
    back = net.reverse
    assert np.all(back >= 0)
    ratio = k / k[back]
    expect = np.exp(-(energies[net.targets] - energies[net.sources]) / (KB_EV * T))
    assert np.allclose(ratio, expect, rtol=1e-12)
    table = net.rate_table(T)
    for i in range(net.n_sites):
        row = slice(net.indptr[i], net.indptr[i + 1])
        assert np.allclose(table.cumulative[row], np.cumsum(k[row]), rtol=1e-14)
        assert table.total[i] == pytest.approx(k[row].sum(), rel=1e-14)


def test_simple_cubic_D_is_k_a_squared():
    # Every hop is independent, so MSD = 6·k·t·a² at all times and D = k·a² exactly.
    a, barrier, T = 2.5, 0.4, 400.0
    net = simple_cubic_lattice(5, a, barrier)
    result = run_kmc(net, KmcParams(T, n_walkers=40_000, n_steps=500, n_samples=20, seed=1))
    exact = hop_rate(barrier, T) * a * a
    fit = diffusion_coefficient(result, fit_from=0.0)
    assert fit.D == pytest.approx(exact, rel=0.02)
    assert abs(fit.D - exact) < 4 * fit.D_err  # the error bar is honest
    assert fit.D_err / fit.D < 0.01
    msd = mean_squared_displacement(result)
    assert np.allclose(msd.msd[1:], 6 * exact * msd.times[1:], rtol=0.03)
    # n_steps sets the duration: on average 500 hops per walker
    assert result.hops.mean() == pytest.approx(500, rel=0.01)


def test_diffusion_tensor_of_a_cube_is_isotropic_and_its_trace_is_msd_over_6():
    a, barrier, T = 2.5, 0.4, 400.0
    result = run_kmc(simple_cubic_lattice(5, a, barrier),
                     KmcParams(T, n_walkers=20_000, n_steps=300, n_samples=10, seed=2))
    exact = hop_rate(barrier, T) * a * a
    tensor = diffusion_tensor(result)
    assert np.trace(tensor.tensor) / 3 == pytest.approx(diffusion_coefficient(result).D, rel=1e-12)
    assert np.allclose(tensor.principal, exact, rtol=0.03)
    assert np.all(np.abs(tensor.principal - exact) < 5 * tensor.principal_err)
    off_diagonal = tensor.tensor - np.diag(np.diag(tensor.tensor))
    assert np.abs(off_diagonal).max() < 0.03 * exact


@pytest.mark.parametrize("direction", [(1.0, 0.0, 0.0), (1.0, 1.0, 0.0)])
def test_diffusion_tensor_of_a_channel_is_k_a_squared_along_it_and_zero_across(direction):
    """A 1D walk with hop rate k each way: D along the line is k·a² (MSD/6 shows a third of it),
    nothing across; the principal axis is the line, also when it is not a Cartesian axis."""
    a, barrier, T = 1.5, 0.3, 500.0
    result = run_kmc(ring(12, a, barrier, direction=direction),
                     KmcParams(T, n_walkers=20_000, n_steps=300, n_samples=10, seed=3))
    exact = hop_rate(barrier, T) * a * a
    tensor = diffusion_tensor(result)
    assert tensor.principal[0] == pytest.approx(exact, rel=0.03)
    assert abs(tensor.principal[0] - exact) < 5 * tensor.principal_err[0]
    assert np.allclose(tensor.principal[1:], 0.0, atol=1e-12 * exact)
    line = np.asarray(direction) / np.linalg.norm(direction)
    assert abs(tensor.axes[:, 0] @ line) == pytest.approx(1.0, abs=1e-9)
    assert diffusion_coefficient(result).D == pytest.approx(exact / 3, rel=0.03)
    # D along the line is the tensor's along it, whatever the line's length and sign
    along = diffusion_coefficient(result, along=[-2.0 * np.asarray(direction)])
    assert along.dimensions == 1 and along.D == pytest.approx(tensor.principal[0], rel=1e-12)
    # in a plane holding the line, the same displacements spread over 2 dimensions: half of it
    plane = diffusion_coefficient(result, along=[direction, (0.0, 0.0, 1.0)])
    assert plane.dimensions == 2 and plane.D == pytest.approx(along.D / 2, rel=1e-12)


def test_isotropic_walk_has_the_same_D_along_any_line_or_plane():
    """Projected onto any subspace, a simple cubic walk's D is still k·a² (its tensor is k·a²·1)."""
    a, barrier, T = 2.0, 0.3, 500.0
    result = run_kmc(simple_cubic_lattice(4, a, barrier),
                     KmcParams(T, n_walkers=20_000, n_steps=300, n_samples=10, seed=4))
    exact = hop_rate(barrier, T) * a * a
    for along in ([(0.0, 0.0, 1.0)], [(1.0, 1.0, 1.0)], [(1.0, 0.0, 0.0), (1.0, 1.0, 0.0)]):
        fit = diffusion_coefficient(result, along=along)
        assert fit.D == pytest.approx(exact, rel=0.04) and abs(fit.D - exact) < 5 * fit.D_err


def test_scan_along_a_channel_gives_its_own_prefactor():
    """The Arrhenius fit of D along a 1D channel gives D₀ = ν·a² (MSD/6 would give a third)."""
    a, barrier = 1.5, 0.35
    scan = temperature_scan(ring(12, a, barrier, direction=(1.0, 1.0, 0.0)), [400.0, 500.0, 650.0],
                            KmcParams(n_walkers=20_000, n_steps=200, n_samples=10),
                            along=[(1.0, 1.0, 0.0)], fit_from=0.0)
    fit = arrhenius_fit(scan.temperatures, scan.D, scan.D_err)
    assert fit.activation_energy == pytest.approx(barrier, abs=0.01)
    assert fit.prefactor == pytest.approx(NU * a * a, rel=0.1)
    assert abs(fit.prefactor - NU * a * a) < 4 * fit.prefactor_err


def test_arrhenius_fit_recovers_barrier_and_prefactor():
    a, barrier = 2.0, 0.4
    net = simple_cubic_lattice(4, a, barrier)
    temps = [300.0, 400.0, 500.0, 650.0]
    scan = temperature_scan(net, temps, KmcParams(n_walkers=20_000, n_steps=200, n_samples=10),
                            fit_from=0.0)
    assert not scan.cancelled and np.allclose(scan.temperatures, temps)
    assert np.allclose(scan.D, hop_rate(barrier, scan.temperatures) * a * a, rtol=0.03)
    fit = arrhenius_fit(scan.temperatures, scan.D, scan.D_err)
    assert fit.activation_energy == pytest.approx(barrier, abs=0.01)
    assert abs(fit.activation_energy - barrier) < 4 * fit.activation_energy_err
    assert fit.prefactor == pytest.approx(NU * a * a, rel=0.1)
    assert abs(fit.prefactor - NU * a * a) < 4 * fit.prefactor_err


def test_arrhenius_fit_exact_on_exact_data():
    T = np.array([250.0, 300.0, 400.0])
    D = 3e13 * np.exp(-0.55 / (KB_EV * T))
    fit = arrhenius_fit(T, D)
    assert fit.activation_energy == pytest.approx(0.55, abs=1e-10)
    assert fit.prefactor == pytest.approx(3e13, rel=1e-8)
    assert fit.activation_energy_err < 1e-10
    weighted = arrhenius_fit(T, D, 0.05 * D)
    assert weighted.activation_energy == pytest.approx(0.55, abs=1e-10)
    assert np.allclose(weighted.D(T), D, rtol=1e-8)
    # two temperatures: the line goes through both, the errors come from the error bars alone
    two = arrhenius_fit(T[:2], D[:2], 0.1 * D[:2])
    assert two.activation_energy == pytest.approx(0.55, abs=1e-10)
    spread = 1 / (KB_EV * T[0]) - 1 / (KB_EV * T[1])
    assert two.activation_energy_err == pytest.approx(np.sqrt(2) * 0.1 / spread, rel=1e-9)


def test_percolation_barrier_exact_cases():
    # Barriers 0.3 eV along x, 0.5 along y, 0.7 along z: chains along x span first, and all three
    # directions only once the z links are in.
    net = simple_cubic_lattice(4, 2.0, np.tile([0.3, 0.5, 0.7], 4 ** 3))
    assert percolation_barrier(net, "any") == pytest.approx(0.3)
    assert percolation_barrier(net, "all") == pytest.approx(0.7)
    # A ring wraps in one direction only.
    assert percolation_barrier(ring(barrier=0.25), "any") == pytest.approx(0.25)
    with pytest.raises(ParameterError, match="does not span the cell"):
        percolation_barrier(ring(), "all")
    # One blocked link (the highest) cuts the ring: it spans only once that link is in.
    barriers = np.full(10, 0.2)
    barriers[4] = 0.9
    assert percolation_barrier(ring(barrier=barriers), "any") == pytest.approx(0.9)
    # A trap counts: with all saddles at 0.2 eV, the links out of a site at −0.3 eV have 0.5 eV.
    line = ring()
    energies = np.zeros(10)
    energies[3] = -0.3
    trapped = HopNetwork.from_saddles(line.positions, energies, [[k, (k + 1) % 10] for k in
                                                                  range(10)], 0.2,
                                      cell=line.cell, jumps=np.tile([1.0, 0, 0], (10, 1)))
    assert percolation_barrier(trapped, "any") == pytest.approx(0.5)


def test_first_spanning_says_along_which_cell_vectors_the_network_wraps():
    """Barriers 0.3 eV along x, 0.5 along y, 0.7 along z: chains along a at 0.3 eV, sheets in the
    ab plane at 0.5, 3D at 0.7; a ring along its cell's first vector only."""
    net = simple_cubic_lattice(4, 2.0, np.tile([0.3, 0.5, 0.7], 4 ** 3))
    chains, sheets, bulk = (first_spanning(net, d) for d in (1, 2, 3))
    assert chains.barrier == pytest.approx(0.3) and np.abs(chains.windings).tolist() == [[1, 0, 0]]
    assert sheets.barrier == pytest.approx(0.5) and sheets.dimensions == 2
    assert np.all(sheets.windings[:, 2] == 0)  # in the ab plane
    assert abs(np.linalg.det(np.column_stack([sheets.windings.T, [0, 0, 1]]))) == 1
    assert bulk.barrier == pytest.approx(0.7) and bulk.dimensions == 3
    assert long_range(net).barrier == bulk.barrier and long_range(net).dimensions == 3
    line = ring(barrier=0.25)
    assert first_spanning(line, 2) is None
    assert long_range(line).dimensions == 1 and np.abs(long_range(line).windings).tolist() == [[1, 0, 0]]
    cut = HopNetwork.from_barriers(line.positions, [[k, k + 1] for k in range(9)], 0.2,
                                   cell=line.cell)  # the link across the cell's face left out
    assert long_range(cut) is None


def test_random_barrier_percolation_near_bond_threshold():
    # Bond percolation on the simple cubic lattice: p_c = 0.2488, so E_c = 0.2 + 0.6·p_c ≈ 0.349.
    for seed in range(3):
        net = random_barrier_lattice(20, 2.0, 0.2, 0.8, seed=seed)
        low, high = percolation_barrier(net, "any"), percolation_barrier(net, "all")
        assert 0.32 < low <= high < 0.38


def test_user_barrier_distribution():
    # half the links at 0.3 eV, twice the bond percolation threshold: they span on their own
    def two_values(rng, size):
        return np.where(rng.random(size) < 0.5, 0.3, 0.6)

    net = random_barrier_lattice(12, 2.0, seed=4, distribution=two_values)
    assert set(np.unique(net.barriers)) == {0.3, 0.6}
    assert percolation_barrier(net, "all") == 0.3
    with pytest.raises(ParameterError) as caught:
        random_barrier_lattice(4, 2.0, distribution=lambda rng, size: -rng.random(size))
    assert caught.value.parameter == "barriers"


def test_network_copies_its_inputs():
    positions = np.eye(3) * 2.0
    energies = np.zeros(3)
    net = HopNetwork.from_barriers(positions, [[0, 1], [1, 2]], 0.2, energies=energies)
    assert positions.flags.writeable and energies.flags.writeable
    positions[0, 0] = 9.0
    assert net.positions[0, 0] == 2.0 and not net.positions.flags.writeable


def test_random_barrier_activation_energy_is_the_percolation_barrier():
    net = random_barrier_lattice(20, 2.0, 0.2, 0.8, seed=0)
    critical = percolation_barrier(net, "all")
    scan = temperature_scan(net, [250.0, 300.0, 375.0, 500.0],
                            KmcParams(n_walkers=200, n_steps=100_000, n_samples=40, seed=5))
    fit = arrhenius_fit(scan.temperatures, scan.D, scan.D_err)
    assert fit.activation_energy == pytest.approx(critical, abs=0.05)
    # far above the fastest barrier (0.2 eV) and below the slowest (0.8 eV)
    assert 0.25 < fit.activation_energy < 0.5


@pytest.mark.parametrize("periodic", [True, False])
def test_long_run_occupation_is_boltzmann(periodic):
    rng = np.random.default_rng(7)
    T = 300.0
    if periodic:
        lattice = simple_cubic_lattice(2, 2.0, 0.3)
        energies = rng.uniform(0.0, 0.1, 8)
        i, j = lattice.sources, lattice.targets
        keep = lattice.reverse > np.arange(lattice.n_hops)
        edges = np.column_stack([i[keep], j[keep]])
        saddles = np.maximum(energies[edges[:, 0]], energies[edges[:, 1]]) + rng.uniform(
            0.05, 0.25, len(edges))
        net = HopNetwork.from_saddles(lattice.positions, energies, edges, saddles,
                                      cell=lattice.cell, shifts=lattice.shifts[keep])
    else:  # a finite five-site cluster, a triangle with a tail
        positions = np.array([[0, 0, 0], [2, 0, 0], [1, 1.7, 0], [3, 1.7, 0], [5, 1.7, 0]], float)
        energies = np.array([0.0, 0.05, -0.03, 0.08, 0.02])
        edges = np.array([[0, 1], [1, 2], [2, 0], [1, 3], [3, 4]])
        saddles = np.array([0.2, 0.25, 0.15, 0.3, 0.22])
        net = HopNetwork.from_saddles(positions, energies, edges, saddles)
    # started off equilibrium, long enough (~100 slowest relaxation times) to forget the start
    result = run_kmc(net, KmcParams(T, n_walkers=100, n_steps=50_000, start="uniform", seed=2))
    share = result.site_time / result.site_time.sum()
    boltzmann = np.exp(-energies / (KB_EV * T))
    boltzmann /= boltzmann.sum()
    assert np.allclose(share, boltzmann, rtol=0.05, atol=0.003)
    assert result.site_time.sum() == pytest.approx(100 * result.duration, rel=1e-9)


def test_equilibrium_start_follows_boltzmann():
    energies = np.array([0.0, 0.05, 0.1, 0.15])
    net = HopNetwork.from_barriers(np.eye(4, 3) * 2.0, [[0, 1], [1, 2], [2, 3], [3, 0]], 0.2,
                                   energies=energies)
    result = run_kmc(net, KmcParams(400.0, n_walkers=40_000, n_steps=1, seed=4))
    counts = np.bincount(result.start_sites, minlength=4) / 40_000
    expect = np.exp(-energies / (KB_EV * 400.0))
    assert np.allclose(counts, expect / expect.sum(), atol=0.01)


def test_unwrapped_displacement_counts_windings():
    L = 10.0
    # one way round: every hop moves +1 Å, so the walker goes round the 10 Å ring many times
    one_way = run_kmc(ring(directed=True), KmcParams(300.0, n_walkers=3, n_steps=200, seed=1))
    final = one_way.displacements[-1]
    assert np.allclose(final[:, 0], one_way.hops * 1.0)
    assert np.all(final[:, 0] > 10 * L) and np.allclose(final[:, 1:], 0.0)
    # both ways: displacement = (end − start) + L·windings with whole windings, some non-zero
    both = ring()
    result = run_kmc(both, KmcParams(300.0, n_walkers=200, n_steps=400, seed=2))
    moved = result.displacements[-1, :, 0]
    windings = (moved - (both.positions[result.final_sites, 0]
                         - both.positions[result.start_sites, 0])) / L
    assert np.allclose(windings, np.round(windings), atol=1e-9)
    assert np.abs(np.round(windings)).max() >= 2
    # a 1D walk: MSD = 2·k·a²·t, so D = k·a² along its line
    fit = diffusion_coefficient(result, along=[(1.0, 0.0, 0.0)], fit_from=0.0)
    assert fit.D == pytest.approx(hop_rate(0.1, 300.0), rel=4 * fit.D_err / fit.D)


def test_same_seed_same_run_whatever_the_chunking(monkeypatch):
    net = random_barrier_lattice(6, 2.0, 0.2, 0.6, seed=1)
    params = KmcParams(350.0, n_walkers=50, n_steps=2000, n_samples=20, seed=9)
    first = run_kmc(net, params)
    monkeypatch.setattr(kmc, "CHUNK_HOPS", 37)
    second = run_kmc(net, params)
    assert np.array_equal(first.displacements, second.displacements)
    assert np.array_equal(first.hops, second.hops)
    other = run_kmc(net, KmcParams(350.0, n_walkers=50, n_steps=2000, n_samples=20, seed=10))
    assert not np.array_equal(first.displacements, other.displacements)


def test_cancel_keeps_the_trajectory_so_far(monkeypatch):
    net = random_barrier_lattice(6, 2.0, 0.2, 0.6, seed=1)
    params = KmcParams(350.0, n_walkers=50, n_steps=2000, n_samples=20, seed=9)
    full = run_kmc(net, params)
    monkeypatch.setattr(kmc, "CHUNK_HOPS", 500)
    calls = []
    part = run_kmc(net, params, cancel=lambda: calls.append(0) or len(calls) > 60)
    assert part.cancelled and not full.cancelled
    n = len(part.times)
    assert 2 <= n < len(full.times)
    # the partial trajectory is the start of the full one
    assert np.array_equal(part.times, full.times[:n])
    assert np.array_equal(part.displacements, full.displacements[:n])
    assert diffusion_coefficient(part).D > 0


def test_cancel_stops_a_long_run_quickly():
    net = random_barrier_lattice(22, 2.0, 0.2, 0.8, seed=0)
    params = KmcParams(300.0, n_walkers=1000, n_steps=10_000_000, n_samples=10_000)
    run_kmc(net, KmcParams(300.0, n_walkers=2, n_steps=10))  # compiled before timing
    asked = []

    def cancel():
        if not asked and time.perf_counter() - start > 0.5:
            asked.append(time.perf_counter())
        return bool(asked)

    fractions = []
    start = time.perf_counter()
    result = run_kmc(net, params, cancel=cancel, progress=lambda f, m: fractions.append(f))
    answered = time.perf_counter() - asked[0]
    assert answered < 0.5
    assert result.cancelled and result.total_hops > 0
    assert len(result.times) >= 3 and result.displacements.shape == (len(result.times), 1000, 3)
    assert np.all(np.diff(result.times) > 0)
    assert fractions and 0 < fractions[-1] < 0.01


def test_cancelled_scan_keeps_finished_temperatures():
    net = simple_cubic_lattice(3, 2.0, 0.3)
    calls = []
    params = KmcParams(n_walkers=10, n_steps=100_000, n_samples=50)
    # each run makes ≥ 51 cancel checks; stop during the second temperature
    scan = temperature_scan(net, [300.0, 400.0, 500.0], params,
                            cancel=lambda: calls.append(0) or len(calls) > 80)
    assert scan.cancelled and len(scan.D) == 1 and scan.temperatures[0] == 300.0
    assert scan.interrupted is not None and scan.interrupted.cancelled
    assert scan.interrupted.temperature == 400.0


@pytest.mark.parametrize("make, parameter", [
    (lambda: HopNetwork.from_barriers(np.zeros((0, 3)), [[0, 1]], 0.1), "positions"),
    (lambda: HopNetwork.from_barriers(np.eye(3), [[0, 1], [1, 2]], [0.1, -0.2]), "barriers"),
    (lambda: HopNetwork.from_barriers(np.eye(3), [[0, 1], [1, 2]], [0.1, np.nan]), "barriers"),
    (lambda: HopNetwork.from_barriers(np.eye(3), [[0, 1], [1, 2]], [0.1, 0.2, 0.3]), "barriers"),
    (lambda: HopNetwork.from_barriers(np.eye(3), [[0, 1], [1, 2]], 0.1, energies=[0, 0]),
     "energies"),
    (lambda: HopNetwork.from_barriers(np.eye(3), [[0, 1], [1, 5]], 0.1), "edges"),
    (lambda: HopNetwork.from_barriers(np.eye(3), [[0, 1]], 0.1), "edges"),  # site 2 has no exit
    (lambda: HopNetwork.from_barriers(np.eye(3), [[0, 1], [1, 2]], 0.1, directed=True),
     "edges"),  # site 2 has no exit
    (lambda: HopNetwork.from_barriers(np.eye(3), [[0, 1], [2, 2]], 0.1), "edges"),
    (lambda: HopNetwork.from_saddles(np.eye(3), [0, 0.5, 0], [[0, 1], [1, 2]], 0.3), "saddles"),
    (lambda: HopNetwork.from_barriers(np.eye(3), [[0, 1], [1, 2]], 0.1, shifts=np.zeros((2, 3),
                                                                                       int)),
     "shifts"),
    (lambda: HopNetwork.from_barriers(np.eye(3), [[0, 1], [1, 2]], 0.1, cell=np.eye(3) * 10,
                                      jumps=[[0, 0, 0], [0, 0, 0]]), "jumps"),
    (lambda: HopNetwork.from_barriers(np.eye(3), [[0, 1], [1, 2]], 0.1, cell=np.ones((3, 3))),
     "cell"),
    (lambda: simple_cubic_lattice(0, 2.0, 0.1), "n"),
    (lambda: simple_cubic_lattice(3, -2.0, 0.1), "a"),
    (lambda: random_barrier_lattice(-2, 2.0), "n"),
    (lambda: random_barrier_lattice(3, 2.0, 0.5, 0.2), "low"),
    (lambda: KmcParams(temperature=0).validate(), "temperature"),
    (lambda: KmcParams(temperature=-20).validate(), "temperature"),
    (lambda: KmcParams(n_walkers=0).validate(), "n_walkers"),
    (lambda: KmcParams(n_steps=None).validate(), "n_steps"),
    (lambda: KmcParams(t_max=-1.0).validate(), "t_max"),
    (lambda: KmcParams(attempt_frequency=0).validate(), "attempt_frequency"),
    (lambda: KmcParams(start="somewhere").validate(), "start"),
    (lambda: simple_cubic_lattice(2, 1.0, 0.1).rate_table(0.0), "temperature"),
    (lambda: simple_cubic_lattice(2, 1.0, 5.0).rate_table(5.0), "temperature"),  # underflow
    (lambda: run_kmc(simple_cubic_lattice(2, 1.0, 0.1), KmcParams(n_walkers=2, n_steps=10**12)),
     "n_steps"),
    (lambda: arrhenius_fit([300.0], [1.0]), "temperatures"),
    (lambda: arrhenius_fit([300.0, 300.0], [1.0, 2.0]), "temperatures"),
    (lambda: arrhenius_fit([300.0, 400.0], [1.0, -2.0]), "D"),
    (lambda: arrhenius_fit([300.0, 400.0], [1.0, 2.0], [0.1, 0.0]), "D_err"),
    (lambda: temperature_scan(simple_cubic_lattice(2, 1.0, 0.1), [300.0, -1.0], KmcParams()),
     "temperatures"),
    (lambda: percolation_barrier(HopNetwork.from_barriers(np.eye(3), [[0, 1], [1, 2]], 0.1)),
     "network"),
    (lambda: percolation_barrier(simple_cubic_lattice(2, 1.0, 0.1), "some"), "spanning"),
])
def test_bad_input_names_the_parameter(make, parameter):
    with pytest.raises(ParameterError) as caught:
        make()
    assert caught.value.parameter == parameter
    assert len(caught.value.reason) > 10


def test_a_scan_is_judged_by_its_own_temperatures_not_the_single_run_field():
    """The window's single-run Temperature at 0 K must not stop a 500-1000 K scan, and a bad scan
    temperature is named as the scan's, in plain numbers (not "np.float64(0.0)")."""
    net = simple_cubic_lattice(2, 1.0, 0.1)
    scan = temperature_scan(net, [500.0, 1000.0], KmcParams(temperature=0.0, n_walkers=2, n_steps=10))
    assert len(scan.temperatures) == 2
    with pytest.raises(ParameterError) as caught:
        temperature_scan(net, np.linspace(0.0, 500.0, 3), KmcParams())
    assert caught.value.parameter == "temperatures" and "got 0 K" in caught.value.reason


def test_diffusion_fit_needs_two_times():
    net = simple_cubic_lattice(2, 1.0, 0.1)
    result = run_kmc(net, KmcParams(n_walkers=2, n_steps=10, n_samples=1))
    with pytest.raises(ParameterError) as caught:
        diffusion_coefficient(result, fit_from=0.9)
    assert caught.value.parameter == "result"
    for along in (np.eye(4)[:, :3], [(1.0, 0.0, 0.0), (2.0, 0.0, 0.0)], [(0.0, 0.0, 0.0)], (1.0, 0.0)):
        with pytest.raises(ParameterError) as caught:
            diffusion_coefficient(result, along=along)
        assert caught.value.parameter == "along"
    with pytest.raises(ParameterError) as caught:  # before the first run, not after it
        temperature_scan(net, [300.0, 400.0], KmcParams(n_steps=10), along=[(1.0, 1.0, 0.0)] * 2)
    assert caught.value.parameter == "along"


def test_jumps_and_nearest_images_agree_with_shifts():
    lattice = simple_cubic_lattice(3, 2.0, 0.3)
    keep = lattice.reverse > np.arange(lattice.n_hops)
    edges = np.column_stack([lattice.sources[keep], lattice.targets[keep]])
    by_jumps = HopNetwork.from_barriers(lattice.positions, edges, 0.3, cell=lattice.cell,
                                        jumps=lattice.jumps[keep])
    nearest = HopNetwork.from_barriers(lattice.positions, edges, 0.3, cell=lattice.cell)
    for net in (by_jumps, nearest):
        assert np.allclose(hop_table(net), hop_table(lattice))
        assert np.allclose(np.abs(net.jumps).sum(axis=1), 2.0)
    # directed input: the hop back is found by its pair and opposite image
    directed = HopNetwork.from_barriers(lattice.positions, np.column_stack([
        lattice.sources, lattice.targets]), 0.3, cell=lattice.cell, shifts=lattice.shifts,
        directed=True)
    assert np.array_equal(hop_table(directed), hop_table(lattice))
    assert np.all(directed.targets[directed.reverse] == directed.sources)
    assert np.array_equal(directed.shifts[directed.reverse], -directed.shifts)
    assert percolation_barrier(directed) == pytest.approx(0.3)


def test_cancel_before_the_first_recorded_time_keeps_the_walk(monkeypatch):
    """A run stopped long before its first grid time keeps the synchronised stops it passed: each
    is exactly where a run ending at that time leaves the walkers (per-walker random streams)."""
    net = random_barrier_lattice(6, 2.0, 0.2, 0.6, seed=1)
    params = KmcParams(350.0, n_walkers=40, n_steps=20_000, n_samples=1, seed=4)
    monkeypatch.setattr(kmc, "SYNC_HOPS", 1000)  # 800 stops before the one grid time
    monkeypatch.setattr(kmc, "CHUNK_HOPS", 1000)
    calls = []
    part = run_kmc(net, params, cancel=lambda: calls.append(0) or len(calls) > 300)
    assert part.cancelled and part.times[0] == 0 and part.times[-1] < part.duration
    n = len(part.times)
    assert kmc.KEPT_STOPS + 1 <= n <= 2 * kmc.KEPT_STOPS + 1
    steps = np.diff(part.times[1:])
    assert np.allclose(steps, steps[0]) and np.all(steps > 0)  # evenly spaced after thinning
    for k in (1, n - 1):
        alone = run_kmc(net, dataclasses.replace(params, n_steps=None, t_max=part.times[k]))
        assert np.array_equal(alone.displacements[-1], part.displacements[k])
    assert diffusion_coefficient(part).D > 0

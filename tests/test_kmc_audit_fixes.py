"""The KMC audit's findings, fixed: merged flickers (superbasins), D's status, lean scans,
progress by hops, time estimates, the CLI's checks and columns. Analytic answers where possible."""
import time

import numpy as np
import pytest

from amorpha.engine.diffusion import (CONVERGED, KB_EV, UNCONVERGED, UNRESOLVED, KmcParams,
                                      Sites, Spanning, TemperatureScan, analyse_run,
                                      beyond_measure, d_status, diffusion_coefficient,
                                      estimated_seconds, flat_landscape, hop_network,
                                      long_range, planned, run_kmc, scan_fit,
                                      simple_cubic_lattice, temperature_scan, typical_reach)
from amorpha.engine.diffusion.merging import merge_minima
from amorpha.engine.diffusion.paths import Paths

NU = 1e13


def _landscape(n, a, pair_gap, pair_barrier, hop_barrier, delta=0.0):
    """An n³ simple cubic lattice of spacing ``a`` (Å) whose every node holds two minima: A
    (0 eV) and B (``delta`` eV) ``pair_gap`` Å apart, joined by a saddle ``pair_barrier`` above
    B; A hops to the A of its 6 neighbours over ``hop_barrier``. As a site search and NEB would
    hand them over (Sites, Paths)."""
    cell = np.eye(3) * n * a
    nodes = np.array(np.unravel_index(np.arange(n ** 3), (n, n, n))).T * a
    positions = np.vstack([nodes, nodes + [pair_gap, 0.0, 0.0]])
    energies = np.r_[np.zeros(n ** 3), np.full(n ** 3, delta)]
    order = np.argsort(energies, kind="stable")
    sites = Sites(positions[order], energies[order], np.ones((2 * n ** 3, 3)), "Li", cell)
    where = np.empty_like(order)
    where[order] = np.arange(len(order))
    edges, shifts, saddles = [], [], []
    for k in range(n ** 3):
        edges.append((where[k], where[n ** 3 + k]))
        shifts.append((0, 0, 0))
        saddles.append(delta + pair_barrier)
        ijk = np.array(np.unravel_index(k, (n, n, n)))
        for axis in range(3):
            step = ijk.copy()
            step[axis] += 1
            edges.append((where[k], where[np.ravel_multi_index(step % n, (n, n, n))]))
            shifts.append(tuple(step // n))
            saddles.append(hop_barrier)
    edges, shifts, saddles = np.array(edges), np.array(shifts), np.array(saddles)
    ends = np.stack([sites.positions[edges[:, 0]],
                     sites.positions[edges[:, 1]] + shifts @ cell], axis=1)
    images = np.linspace(ends[:, 0], ends[:, 1], 5, axis=1)
    profile = np.column_stack([sites.energies[edges[:, 0]], saddles, saddles, saddles,
                               sites.energies[edges[:, 1]]])
    paths = Paths(edges, shifts, saddles, images, profile, np.ones(len(edges), bool))
    return sites, paths


# --------------------------------------------------------------------------- A: merging


@pytest.mark.parametrize("delta", [0.0, 0.02])
def test_merged_pairs_diffuse_at_the_local_equilibrium_rate(delta):
    """Each node a pair of minima 10⁻⁴ eV apart (as the grid minima of a-SiO2): merged into one
    site, D is exactly ν·exp(−E/kT)·a²/Z with Z = 1 + exp(−δ/kT) the pair's partition function
    (the walker sits on A, the only minimum with exits, a fraction 1/Z of the time). Merging
    with barriers measured from the lowest minimum alone would give Z = 1: twice too fast."""
    a, barrier, T = 2.0, 0.3, 600.0
    sites, paths = _landscape(4, a, 0.5, 1e-4, barrier, delta)
    merged_sites, merged_paths, network = hop_network(sites, paths, None, 0.05)
    assert network.n_sites == 64 and network.n_minima == 128 and len(merged_paths) == 192
    lowest = sites.positions[:64] if delta else merged_sites.positions  # the A minima
    key = lambda p: p[np.lexsort(p.T[::-1])]  # noqa: E731
    np.testing.assert_allclose(key(merged_sites.positions), key(lowest))
    assert np.isin(merged_sites.positions[:, 0] % a, [0.0]).all()  # at A, not at B (+0.5 Å)
    assert (merged_sites.energies == 0).all()  # each site at its lowest minimum
    kT = KB_EV * T
    Z = 1 + np.exp(-delta / kT)
    exact = NU * np.exp(-barrier / kT) * a ** 2 / Z
    np.testing.assert_allclose(network.rates(T), NU * np.exp(-barrier / kT) / Z)
    result = run_kmc(network, KmcParams(T, n_walkers=2000, n_steps=300, seed=4))
    fit = diffusion_coefficient(result)
    assert fit.D == pytest.approx(exact, abs=4 * fit.D_err)
    assert abs(fit.D - Z * exact) > 4 * fit.D_err  # the naive merge is ruled out


def test_unmerged_pairs_give_the_same_d_with_most_hops_wasted_on_flickers():
    """The same landscape unmerged: the same D (the merge is exact here), but nearly every hop
    is a flicker inside a pair, so the walk gets 1/50 as far on the same hops."""
    a, barrier, T = 2.0, 0.3, 600.0
    sites, paths = _landscape(3, a, 0.5, 0.02, barrier)
    _, _, plain = hop_network(sites, paths, None, 0.0)
    _, _, merged = hop_network(sites, paths, None, 0.05)
    assert plain.n_sites == 54 and merged.n_sites == 27
    exact = NU * np.exp(-barrier / (KB_EV * T)) * a ** 2 / 2
    flicker = plain.mean_hop_rate(T) / merged.mean_hop_rate(T)
    assert flicker > 50
    result = run_kmc(plain, KmcParams(T, n_walkers=500, n_steps=None, seed=2,
                                      t_max=300 / merged.mean_hop_rate(T)))
    fit = diffusion_coefficient(result)
    assert fit.D == pytest.approx(exact, abs=4 * fit.D_err)


def test_a_merge_that_would_wind_around_the_cell_is_left_as_a_hop_and_called_flat():
    """An almost empty host (the audit's one He atom in a 10 Å box): every barrier tiny, so the
    merged groups would wrap around the cell. Those links stay hops, and the landscape is
    said to be flat: ν·exp(−E/kT) does not describe such motion."""
    sites, paths = _landscape(3, 2.0, 0.5, 1e-3, 2e-3)
    merged = merge_minima(sites, paths, 0.05)
    assert merged.n_merged > 0 and len(merged.paths) >= 3
    _, _, network = hop_network(sites, paths, None, 0.05)
    spanning = long_range(network)
    assert spanning is not None and spanning.dimensions == 3
    warning = flat_landscape(network, spanning)
    assert warning and "flat" in warning and "not meaningful" in warning
    # an ordinary landscape is not flat
    sites, paths = _landscape(3, 2.0, 0.5, 1e-3, 0.3)
    _, _, network = hop_network(sites, paths, None, 0.05)
    assert flat_landscape(network, long_range(network)) is None


def test_merge_barrier_zero_merges_nothing_and_is_validated():
    from amorpha.engine.diffusion import PathParams
    from amorpha.engine.errors import ParameterError

    sites, paths = _landscape(2, 2.0, 0.5, 1e-4, 0.3)
    _, _, network = hop_network(sites, paths, None, 0.0)
    assert network.n_sites == network.n_minima == 16 and network.substates is None
    for bad in (-0.1, 2.0, float("nan")):
        with pytest.raises(ParameterError, match="merge_barrier"):
            PathParams(merge_barrier=bad).validate()


# --------------------------------------------------------------------------- C: lean scans


def test_a_scan_keeps_one_trajectory_and_each_temperatures_numbers():
    """Memory no longer grows with the number of temperatures: only the last run's trajectory
    stays (for the animation); reach, status, hops and seed per temperature."""
    network = simple_cubic_lattice(3, 2.0, 0.3)
    params = KmcParams(600.0, n_walkers=50, n_steps=300, seed=5)
    temperatures = [500.0, 600.0, 700.0, 800.0]
    scan = temperature_scan(network, temperatures, params)
    assert len(scan.results) == 1 and scan.results[0].temperature == 800.0
    assert scan.reach.shape == (4, 3) and len(scan.status) == 4
    assert scan.seeds == (5, 6, 7, 8)
    np.testing.assert_allclose(scan.hops, 300, rtol=0.1)
    everything = temperature_scan(network, temperatures, params, keep_runs=True)
    assert len(everything.results) == 4
    np.testing.assert_array_equal(everything.D, scan.D)  # the same seeds, the same walks
    np.testing.assert_allclose(scan.reach[2], typical_reach(everything.results[2], network.cell))


# --------------------------------------------------------------------------- D: D's status


def test_typical_reach_is_the_rms_fractional_displacement_at_the_end():
    from dataclasses import replace

    network = simple_cubic_lattice(2, 1.0, 0.1)
    result = run_kmc(network, KmcParams(500.0, n_walkers=4, n_steps=5, n_samples=2))
    cell = np.diag([2.0, 4.0, 5.0])
    d = np.zeros((3, 4, 3))
    d[-1] = [[2.0, 0, 0], [-2.0, 0, 0], [0, 4.0, 0], [0, 0, 0]]  # 1, 1, 0, 0 cells along a
    d[1, 3] = [100.0, 0, 0]  # far away before the end: the farthest walker, not the typical
    got = typical_reach(replace(result, times=result.times[:3], displacements=d), cell)
    np.testing.assert_allclose(got, [np.sqrt(0.5), 0.5, 0.0])


def test_d_status_is_one_test_for_runs_and_scans():
    assert d_status(1.0, 0.6) == UNRESOLVED  # less than 2 standard errors above zero
    assert d_status(-1.0, 0.1) == UNRESOLVED
    assert d_status(1.0, float("nan")) == UNRESOLVED  # one walker: no error estimate
    assert d_status(1.0, 0.1) == CONVERGED
    assert d_status(1.0, 0.1, [1.5, 2.0, 0.9]) == UNCONVERGED
    assert d_status(1.0, 0.1, [1.5, 2.0, 1.1]) == CONVERGED
    channel = Spanning(0.3, np.array([[0, 0, 1]]))  # along c only c counts
    assert d_status(1.0, 0.1, [0.0, 0.1, 1.2], channel) == CONVERGED


def test_scan_fit_leaves_out_unresolved_points_and_fits_the_rest_exactly():
    """Exact Arrhenius points, and one swamped by its error (the audit's 500 K point
    1.6e-8 ± 3.1e-8 cm²/s): left out and named, the fit gives E_a exactly."""
    T = np.array([500.0, 600.0, 700.0, 800.0])
    D = 1e4 * np.exp(-0.5 / (KB_EV * T))
    err = 0.01 * D
    err[0] = 2 * D[0]
    status = tuple(d_status(d, e) for d, e in zip(D, err))
    scan = TemperatureScan(T, D, err, [], status=status)
    fit, note = scan_fit(scan)
    assert fit.activation_energy == pytest.approx(0.5, rel=1e-9)
    assert "Left out of the fit: D at 500 K, not resolved" in note
    one = TemperatureScan(T[:2], D[:2], err[:2], [], status=status[:2])
    assert scan_fit(one)[0] is None  # one resolved point: no fit, no error


def test_a_short_run_on_a_big_cell_is_not_converged():
    """The audit's stopped a-SiO2 run: a D ± small error, but the typical walker went a
    fraction of the cell, so the MSD is not that of long-range diffusion yet."""
    network = simple_cubic_lattice(12, 2.0, 0.3)  # a 24 Å cell
    result = run_kmc(network, KmcParams(800.0, n_walkers=400, n_steps=20, seed=1))
    analysis = analyse_run(result, network.cell)
    assert analysis.status == UNCONVERGED and (analysis.reach < 1).all()
    long = run_kmc(simple_cubic_lattice(3, 2.0, 0.3), KmcParams(800.0, n_walkers=400,
                                                                 n_steps=400, seed=1))
    assert analyse_run(long, np.eye(3) * 6.0).status == CONVERGED


def test_d_below_anything_measurable_is_said_so():
    """Li in fcc Ag at 100 K gave D = 2.8e-72 cm²/s over 1.5e59 s."""
    network = simple_cubic_lattice(3, 2.0, 1.4)
    result = run_kmc(network, KmcParams(100.0, n_walkers=50, n_steps=100, seed=1))
    assert result.duration > 1e50
    fit = diffusion_coefficient(result)
    assert beyond_measure(fit.D) and not beyond_measure(1e-10)


# --------------------------------------------------------------------------- E: progress


def test_progress_moves_with_the_hops_of_few_walkers():
    """4 walkers × 2·10⁶ hops in one recorded interval: the old progress (by walkers that
    reached a grid time) moved in 4 steps; by hops done it moves with every chunk."""
    seen = []
    network = simple_cubic_lattice(3, 1.0, 0.1)
    run_kmc(network, KmcParams(1000.0, n_walkers=4, n_steps=2_000_000, n_samples=1),
            progress=lambda f, m: seen.append(f))
    assert len(set(np.round(seen, 4))) > 20
    assert seen == sorted(seen) and seen[-1] == 1.0


def test_the_time_estimate_counts_the_planned_hops():
    from amorpha.engine.batch import time_left
    from amorpha.engine.diffusion.kmc import HOPS_PER_SECOND

    network = simple_cubic_lattice(3, 2.0, 0.3)
    params = KmcParams(600.0, n_walkers=200, n_steps=10 ** 9)
    duration, rate, hops = planned(network, params)
    assert rate == pytest.approx(6 * NU * np.exp(-0.3 / (KB_EV * 600.0)))
    assert hops == pytest.approx(2e11) and duration == pytest.approx(1e9 / rate)
    assert estimated_seconds(network, params) == pytest.approx(2e11 / HOPS_PER_SECOND)
    small = KmcParams(600.0, n_walkers=200, n_steps=20_000)
    clock = time.perf_counter()
    run_kmc(network, small)
    took = time.perf_counter() - clock
    assert estimated_seconds(network, small) > 0.3 * took  # errs long, not 3x short
    assert time_left(10.0, 0.25) == pytest.approx(30.0) and time_left(1.0, 0.5) is None


def test_n_samples_has_one_default():
    from amorpha.engine.diffusion import N_SAMPLES
    from amorpha.engine.diffusion.kmc import N_SAMPLES as KMC

    assert KmcParams().n_samples == N_SAMPLES == KMC == 200


# --------------------------------------------------------------------------- H: the CLI


def test_cli_checks_temperatures_and_seed_before_the_site_search(tmp_path, capsys):
    """``--temperatures -100,500`` gave argparse's "expected one argument"; 10⁶ K and
    ``--seed -1`` were refused only after the site search (~20 s on a-SiO2)."""
    from ase.build import bulk
    from ase.io import write

    from amorpha.engine.cli import main

    path = tmp_path / "ag.extxyz"
    write(path, bulk("Ag", "fcc", a=4.09, cubic=True))
    for options, words in ((["--temperatures", "-100,500"], "-100 K is not above 0 K"),
                           (["--temperatures", "500,1e6"], "1e+06 K is above 100,000 K"),
                           (["--seed", "-1"], "--seed needs a whole number ≥ 0")):
        clock = time.perf_counter()
        code = main(["diffusion", str(path), "--element", "Li", "--out", str(tmp_path),
                     *options])
        err = capsys.readouterr().err
        assert code == 2 and words in err, err
        assert time.perf_counter() - clock < 5.0  # no site search first


def test_the_scan_table_has_d0_status_seed_and_hops_and_says_paths(tmp_path):
    from amorpha.engine.cli import DiffusionCommand, write_diffusion_csv

    result = {"sites": 458, "minima": 576, "merge_barrier_ev": 0.1, "n_paths": 1012,
              "percolation_barrier_ev": 0.558, "spanning_windings": np.eye(3, dtype=int).tolist(),
              "temperatures_k": [500.0, 1000.0], "D_A2_per_s": [1e8, 1e10],
              "D_err_A2_per_s": [2e8, 1e9], "D_status": ["unresolved", "converged"],
              "seeds": [3, 4], "hops_per_walker": [1e5, 1e5], "activation_energy_ev": None,
              "activation_energy_err_ev": None, "prefactor_A2_per_s": None,
              "prefactor_err_A2_per_s": None, "cells_crossed": [[0.5, 0.6, 0.7], [2, 2, 2]]}
    write_diffusion_csv(tmp_path / "d.csv", "Cu", [0], [result], [])
    rows = [line.split(",") for line in (tmp_path / "d.csv").read_text().splitlines()
            if not line.startswith("#")]
    table = [dict(zip(rows[0], row)) for row in rows[1:]]
    assert rows[0][2] == "paths" and table[0]["D0_A2_per_s"] == ""
    assert [r["seed"] for r in table] == ["3", "4"] and table[0]["D_status"] == "unresolved"
    (line,) = DiffusionCommand().summary([0], [result])
    assert line.startswith("frame 0: 458 sites (576 minima, 118 merged below 0.1 eV), 1012 paths, "
                           "no Arrhenius fit")
    assert "Left out of the fit: D at 500 K, not resolved" in line


def test_results_saved_with_the_old_hops_key_still_read():
    """``hops`` counted paths, not KMC hops: it is ``n_paths`` now, and old results still read."""
    from amorpha.engine.batch import path_count

    assert path_count({"n_paths": 7}) == 7 and path_count({"hops": 5}) == 5

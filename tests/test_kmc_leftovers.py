"""The KMC audit's leftovers: walker trajectories as extended XYZ, the time spent per site against
the Boltzmann occupation, barriers and drawn paths of merged sites as the network counts them, a
paths table that rebuilds the merged network, and Cancel inside the potential's set-up."""
import json
import time

import ase.io
import numpy as np
import pytest
from ase.build import bulk

from amorpha.engine.diffusion import (KB_EV, KmcParams, Paths, Sites, hop_network,
                                      mean_squared_displacement, run_kmc, simple_cubic_lattice,
                                      site_to_site, temperature_scan, time_fractions,
                                      write_paths_csv)
from amorpha.engine.diffusion.trajectories import (MAX_TRAJECTORY_POINTS, trajectory_frames,
                                                   write_trajectories)
from amorpha.engine.errors import ParameterError
from amorpha.engine.io import write_extxyz
from amorpha.engine.tasks import Cancelled

NU = 1e13


def merged_pairs(n=2, a=3.0, seed=1, saddle=0.35):
    """An n³ lattice of spacing ``a`` whose nodes hold a minimum A (energy drawn in 0–0.1 eV)
    and, 0.6 Å off, a member B 0.01–0.05 eV above it behind a 0.02 eV barrier (merged at the
    default 0.1 eV); the A hop to their 6 neighbours over saddles at ``saddle`` eV. Sites and
    Paths as a site search and NEB hand them over, and the merged result of hop_network."""
    rng = np.random.default_rng(seed)
    m = n ** 3
    cell = np.eye(3) * n * a
    nodes = np.array(np.unravel_index(np.arange(m), (n, n, n))).T * a
    low = rng.uniform(0.0, 0.1, m)
    high = low + rng.uniform(0.01, 0.05, m)
    positions = np.vstack([nodes, nodes + [0.6, 0.0, 0.0]])
    energies = np.r_[low, high]
    order = np.argsort(energies, kind="stable")
    where = np.empty_like(order)
    where[order] = np.arange(2 * m)
    sites = Sites(positions[order], energies[order], np.ones((2 * m, 3)), "Li", cell)
    edges, shifts, saddles = [], [], []
    for k in range(m):
        edges.append((where[m + k], where[k]))  # from the member B: the band starts there
        shifts.append((0, 0, 0))
        saddles.append(high[k] + 0.02)
        ijk = np.array(np.unravel_index(k, (n, n, n)))
        for axis in range(3):
            step = ijk.copy()
            step[axis] += 1
            # the neighbour's member B starts the band, so its far end is a merged member
            edges.append((where[k], where[m + np.ravel_multi_index(step % n, (n, n, n))]))
            shifts.append(tuple(step // n))
            saddles.append(saddle)
    edges, shifts, saddles = np.array(edges), np.array(shifts), np.array(saddles, float)
    ends = np.stack([sites.positions[edges[:, 0]], sites.positions[edges[:, 1]] + shifts @ cell], 1)
    images = np.linspace(ends[:, 0], ends[:, 1], 5, axis=1)
    profile = np.column_stack([sites.energies[edges[:, 0]], saddles - 0.01, saddles,
                               saddles - 0.01, sites.energies[edges[:, 1]]])
    paths = Paths(edges, shifts, saddles, images, profile, np.ones(len(edges), bool))
    return (low, high), hop_network(sites, paths, None, 0.1)


# --------------------------------------------------------------------------- 1: trajectories


def test_trajectories_reproduce_the_runs_msd_and_say_how_it_ran(tmp_path):
    """Unwrapped positions, one frame per recorded time: the MSD of the file is the run's; the
    time, element, cell, pbc and the run's T, seed and hops per walker are in it."""
    network = simple_cubic_lattice(3, 2.0, 0.2)
    result = run_kmc(network, KmcParams(700.0, n_walkers=40, n_steps=300, n_samples=25, seed=7))
    frames = trajectory_frames(result, network.positions, "Li", network.cell, seed=7)
    write_trajectories(tmp_path / "w.extxyz", frames)
    back = ase.io.read(tmp_path / "w.extxyz", index=":")
    assert len(back) == 26 and all(len(a) == 40 for a in back)  # all 40 (< the default 100)
    positions = np.array([a.positions for a in back])
    msd = ((positions - positions[0]) ** 2).sum(axis=2).mean(axis=1)
    np.testing.assert_allclose(msd, mean_squared_displacement(result).msd, rtol=1e-6, atol=1e-6)
    assert np.abs(positions[-1]).max() > 6.0  # unwrapped: walkers left the 6 Å cell
    np.testing.assert_allclose([a.info["time_s"] for a in back], result.times, rtol=1e-12)
    first = back[0].info
    assert first["temperature_K"] == 700.0 and first["seed"] == 7
    assert first["hops_per_walker"] == pytest.approx(result.total_hops / 40)
    assert set(back[0].get_chemical_symbols()) == {"Li"} and back[0].pbc.all()
    np.testing.assert_allclose(back[0].cell.array, network.cell)
    assert len(trajectory_frames(result, network.positions, "Li", network.cell, n_walkers=5)[0]) == 5


def test_trajectories_are_bounded():
    network = simple_cubic_lattice(2, 2.0, 0.2)
    result = run_kmc(network, KmcParams(700.0, n_walkers=3, n_steps=10, n_samples=10))
    too_many = MAX_TRAJECTORY_POINTS // 11 + 1
    fake = type(result)(result.times, np.zeros((11, too_many, 3)), np.zeros(too_many, int),
                        np.zeros(too_many, int), np.zeros(too_many, int), result.site_time,
                        700.0, NU, result.duration, False, 0.0)
    with pytest.raises(ParameterError, match="write at most"):
        trajectory_frames(fake, network.positions, "Li", network.cell, n_walkers=too_many)


def test_a_cancelled_write_leaves_no_file(tmp_path):
    network = simple_cubic_lattice(2, 2.0, 0.2)
    result = run_kmc(network, KmcParams(700.0, n_walkers=3, n_steps=10, n_samples=40))
    frames = trajectory_frames(result, network.positions, "Li", network.cell)
    asked = []
    with pytest.raises(Cancelled):
        write_trajectories(tmp_path / "w.extxyz", frames, cancel=lambda: len(asked) > 2 or asked.append(1))
    assert len(asked) == 3 and not list(tmp_path.iterdir())


def test_a_scan_hands_each_run_to_on_run():
    network = simple_cubic_lattice(2, 2.0, 0.2)
    seen = []
    temperature_scan(network, [500.0, 600.0], KmcParams(n_walkers=4, n_steps=20, seed=3),
                     on_run=lambda result, seed: seen.append((result.temperature, seed)))
    assert seen == [(500.0, 3), (600.0, 4)]


def test_cli_writes_each_temperatures_walkers(tmp_path):
    from test_cli import cli

    path = tmp_path / "ag.extxyz"
    write_extxyz([bulk("Ag", "fcc", 4.09, cubic=True)], path)
    code, _, err, _ = cli("diffusion", path, "--element", "Li", "--temperatures", "300,400",
                          "--walkers", "20", "--steps", "50", "--trajectories", "7",
                          "--format", "json", "--out", tmp_path)
    assert code == 0, err
    for t, seed in ((300, 0), (400, 1)):
        frames = ase.io.read(tmp_path / f"ag_f0_{t}K_walkers.extxyz", index=":")
        assert len(frames) == 201 and len(frames[0]) == 7
        assert frames[0].info["temperature_K"] == t and frames[0].info["seed"] == seed
    (result,) = json.loads((tmp_path / "ag_diffusion.json").read_text())["results"]
    assert "trajectories" not in result
    code, _, err, _ = cli("diffusion", path, "--walkers", "10000", "--trajectories", "10000",
                          "--out", tmp_path)
    assert code == 2 and "--trajectories" in err


# --------------------------------------------------------------------------- 2: occupation


def test_time_per_site_follows_the_boltzmann_occupation_of_merged_sites():
    """p_i ∝ Σ_m exp(−E_m/kT) over the minima of site i (= Z_i·exp(−E_i/kT)): the run's share
    of time per site agrees within 3 %; without Z (exp(−E_i/kT) alone) it would not."""
    (low, high), (sites, paths, network) = merged_pairs()
    assert network.n_sites == 8 and network.n_minima == 16
    T = 600.0
    kT = KB_EV * T
    node = np.argsort(low)  # sites are sorted by energy: site k is the node with the k-th A
    theory = np.exp(-low[node] / kT) + np.exp(-high[node] / kT)
    theory /= theory.sum()
    np.testing.assert_allclose(network.occupation(T), theory, rtol=1e-12)
    result = run_kmc(network, KmcParams(T, n_walkers=2000, n_steps=3000, seed=2))
    observed = time_fractions(result)
    np.testing.assert_allclose(observed, theory, rtol=0.03)
    plain = np.exp(-low[node] / kT) / np.exp(-low[node] / kT).sum()
    assert np.abs(observed / plain - 1).max() > 0.05


# --------------------------------------------------------------------------- 3, 4: merged sites


def test_merged_paths_are_measured_and_drawn_from_their_sites():
    """A band from a merged member: its barriers count from the site's lowest minimum (as the
    network's hops), and the drawn polyline runs from site to site through the band."""
    _, (sites, paths, network) = merged_pairs()
    i, j = paths.edges.T
    np.testing.assert_allclose(paths.barriers, paths.saddles[:, None] - sites.energies[paths.edges])
    assert (paths.energies[:, -1] > sites.energies[j] + 0.005).all()  # bands end at members
    hop = {(s, t, tuple(x)): b for s, t, x, b in zip(network.sources, network.targets,
                                                     network.shifts, network.barriers)}
    for k in range(len(paths)):
        assert hop[(i[k], j[k], tuple(paths.shifts[k]))] == pytest.approx(paths.barriers[k, 0])
    drawn = site_to_site(sites, paths)
    assert drawn.shape == (len(paths), paths.images.shape[1] + 2, 3)
    np.testing.assert_allclose(drawn[:, 1:-1], paths.images)
    np.testing.assert_allclose(drawn[:, 0], sites.positions[i], atol=1e-9)
    np.testing.assert_allclose(drawn[:, -1] - drawn[:, 0],
                               sites.positions[j] + paths.shifts @ sites.cell - sites.positions[i])
    assert np.linalg.norm(drawn[:, -1] - drawn[:, -2], axis=1).max() == pytest.approx(0.6)


def test_the_paths_table_rebuilds_the_merged_network(tmp_path):
    """From the file alone: Z_i from each site's minima, the rates ν·exp(−barrier/kT)/Z_i and
    the occupation Z_i·exp(−E_i/kT) are the network's."""
    _, (sites, paths, network) = merged_pairs()
    write_paths_csv(tmp_path / "p.csv", sites, paths, substates=network.substates)
    text = (tmp_path / "p.csv").read_text().splitlines()
    assert any(line.startswith("# minima_i_eV, minima_j_eV:") for line in text)
    rows = [line.split(",") for line in text if not line.startswith("#")]
    header, rows = rows[0], rows[1:]
    col = {name: header.index(name) for name in header}
    T = 800.0
    kT = KB_EV * T
    Z, E = {}, {}
    for row in rows:
        for end in "ij":
            site = int(row[col[f"site_{end}"]])
            minima = np.array(row[col[f"minima_{end}_eV"]].split(";"), float)
            E[site] = float(row[col[f"E_{end}_eV"]])
            assert minima[0] == E[site] and len(minima) == 2
            Z[site] = np.exp(-(minima - E[site]) / kT).sum()
    np.testing.assert_allclose(network.log_partition(T), np.log([Z[s] for s in range(8)]))
    rates = network.rates(T, NU)
    for row in rows:
        i, j = int(row[col["site_i"]]), int(row[col["site_j"]])
        shift = tuple(int(row[col[f"shift_{x}"]]) for x in "abc")
        forward = NU * np.exp(-float(row[col["barrier_ij_eV"]]) / kT) / Z[i]
        k = [h for h in range(network.n_hops) if (network.sources[h], network.targets[h],
                                                    tuple(network.shifts[h])) == (i, j, shift)]
        assert rates[k[0]] == pytest.approx(forward, rel=1e-9)
    weights = np.array([Z[s] * np.exp(-E[s] / kT) for s in range(8)])
    np.testing.assert_allclose(network.occupation(T), weights / weights.sum(), rtol=1e-9)


# --------------------------------------------------------------------------- 5: cancel in set-up


def test_the_potentials_set_up_answers_cancel():
    """A host of 48 000 atoms: the set-up (~0.1 s here, ~0.4 s for 192 000) asks ``cancel``
    between its steps, well within the 0.5 s a Cancel may take, and stops when it answers."""
    from amorpha.engine.diffusion import HostPotential

    host = bulk("Cu", "fcc", 3.6, cubic=True).repeat(23)  # 48 668 atoms
    calls = []

    def cancel():
        calls.append(time.perf_counter())
        return False

    start = time.perf_counter()
    HostPotential(host, "Li", cancel=cancel)
    gaps = np.diff([start, *calls, time.perf_counter()])
    assert len(calls) >= 20 and gaps.max() < 0.25
    asked = []
    with pytest.raises(Cancelled):  # the 5th question is inside the loop over images
        HostPotential(host, "Li", cancel=lambda: asked.append(1) or len(asked) >= 5)
    assert len(asked) == 5


def test_the_surrogate_potentials_set_up_answers_cancel():
    """The trained surrogate's potential bins the same host images (1.3-1.5 s for a 192k-atom
    a-SiO2): it asks ``cancel`` the same way, and stops when it answers."""
    from amorpha.engine.diffusion.surrogate import SurrogatePotential

    host = bulk("Cu", "fcc", 3.6, cubic=True).repeat(23)
    asked = []
    with pytest.raises(Cancelled):
        SurrogatePotential(host, "Li", cancel=lambda: asked.append(1) or len(asked) >= 5)
    assert len(asked) == 5

"""The mobile atom's energy landscape against exact answers: the UFF table, the LJ dimer, forces
against finite differences, periodic images in a triclinic cell, the interstitial sites of fcc
and the oct→tet saddle on its symmetry axis, ASE's NEB on the same potential, an a-SiO2 network
that percolates, cancel, and input checks."""
import math

import numpy as np
import pytest
from ase import Atoms
from ase.build import bulk

from amorpha.engine.diffusion import HopNetwork, percolation_barrier
from amorpha.engine.diffusion import paths as paths_module
from amorpha.engine.diffusion import potential as potential_module
from amorpha.engine.diffusion import sites as sites_module
from amorpha.engine.diffusion.paths import (LandscapeParams, PathParams, build_network,
                                            find_paths)
from amorpha.engine.diffusion.potential import (KCAL_PER_MOL, UFF_PARAMETERS, HostPotential,
                                                MobileAtomCalculator, pair_parameters)
from amorpha.engine.diffusion.sites import SiteSearchParams, find_sites, search_sites
from amorpha.engine.errors import ParameterError
from amorpha.engine.tasks import Cancelled

#: Ag host, Li mobile atom: both interstitial sites of fcc are minima below 1 eV.
A_AG = 4.09
FCC = LandscapeParams(SiteSearchParams(element="Li", energy_max=2.0),
                      PathParams(hop_distance=3.0, fmax=1e-4))


def fcc_host(repeat=2):
    return bulk("Ag", "fcc", a=A_AG, cubic=True).repeat(repeat)


def reference_energy(host, element, point, cutoff):
    """Explicit sum over every periodic image of every host atom (no cell list)."""
    _, x_m, d_m = UFF_PARAMETERS[element]
    cell = host.cell.array
    heights = 1.0 / np.linalg.norm(np.linalg.inv(cell), axis=0)
    reach = [int(math.ceil(cutoff / h)) + 1 for h in heights]
    total = 0.0
    for n in np.ndindex(*(2 * np.array(reach) + 1)):
        shift = (np.array(n) - reach) @ cell
        for symbol, position in zip(host.get_chemical_symbols(), host.positions):
            _, x_h, d_h = UFF_PARAMETERS[symbol]
            x, D = math.sqrt(x_m * x_h), math.sqrt(d_m * d_h) * KCAL_PER_MOL
            r = np.linalg.norm(position + shift - point)
            if r < cutoff:
                total += D * ((x / r) ** 12 - 2 * (x / r) ** 6)
                total -= D * ((x / cutoff) ** 12 - 2 * (x / cutoff) ** 6)
    return total


def random_triclinic_host(seed=0):
    rng = np.random.default_rng(seed)
    cell = np.array([[6.0, 0.0, 0.0], [2.1, 5.5, 0.0], [-1.3, 1.7, 6.2]])
    return Atoms("Si4O8", positions=rng.random((12, 3)) @ cell, cell=cell, pbc=True)


# --------------------------------------------------------------------------- potential


def test_warm_up_runs():
    potential_module.warm_up()
    sites_module.warm_up()
    paths_module.warm_up()


@pytest.mark.parametrize("symbol, x, D", [("O", 3.500, 0.060), ("Si", 4.295, 0.402),
                                          ("Cu", 3.495, 0.005), ("H", 2.886, 0.044),
                                          ("Ti", 3.175, 0.017), ("Au", 3.293, 0.039),
                                          ("Al", 4.499, 0.505), ("Ta", 3.170, 0.081)])
def test_uff_parameters_are_the_published_ones(symbol, x, D):
    # Rappé et al., JACS 114, 10024 (1992), Table 1: x_i (Å), D_i (kcal/mol)
    assert UFF_PARAMETERS[symbol][1:] == (x, D)


def test_table_covers_the_elements_asked_for():
    wanted = "H Li C N O Na Mg Al Si P S Cl K Ca Ti Fe Ni Cu Zn Ag Ta Au".split()
    assert set(wanted) <= set(UFF_PARAMETERS)


def test_pair_parameters_combine_geometrically_in_ev():
    x, D = pair_parameters("Cu", "O")
    assert x == pytest.approx(math.sqrt(3.495 * 3.500), rel=1e-15)
    assert D == pytest.approx(math.sqrt(0.005 * 0.060) * 0.0433641043, rel=1e-9)


def test_dimer_has_its_minimum_at_x_with_depth_D_and_is_continuous_at_the_cutoff():
    cutoff = 8.0
    host = Atoms("O", positions=[[0.0, 0.0, 0.0]], cell=np.eye(3) * 30.0, pbc=True)
    potential = HostPotential(host, "Cu", cutoff)
    x, D = pair_parameters("Cu", "O")
    at_cutoff = D * ((x / cutoff) ** 12 - 2 * (x / cutoff) ** 6)
    r = np.linspace(x - 0.5, x + 0.5, 100_001)
    energies = potential.energy(np.column_stack([r, np.zeros_like(r), np.zeros_like(r)]))
    assert r[np.argmin(energies)] == pytest.approx(x, abs=1e-5)
    energy, gradient = potential.energy_and_gradient(np.array([x, 0.0, 0.0]))
    assert energy == pytest.approx(-D - at_cutoff, rel=1e-12)
    assert np.abs(gradient).max() < 1e-12
    # the shift makes E → 0 as r → cutoff from below, and 0 beyond
    below = potential.energy(np.array([cutoff - 1e-9, 0.0, 0.0]))
    beyond = potential.energy(np.array([cutoff + 1e-9, 0.0, 0.0]))
    assert abs(below) < 1e-12 and beyond == 0.0
    # any other direction and any periodic image of the point give the same
    u = np.array([1.0, 2.0, -2.0]) / 3.0
    assert potential.energy(x * u + [30.0, -60.0, 90.0]) == pytest.approx(energy, rel=1e-12)


def test_energy_matches_an_explicit_image_sum_in_a_triclinic_cell():
    host = random_triclinic_host()
    cutoff = 7.5  # longer than the cell: each atom is seen through several images
    potential = HostPotential(host, "Cu", cutoff)
    rng = np.random.default_rng(1)
    points = rng.random((15, 3)) @ host.cell.array * 3.0 - 5.0  # also outside the cell
    expected = [reference_energy(host, "Cu", p, cutoff) for p in points]
    assert np.allclose(potential.energy(points), expected, rtol=1e-10, atol=1e-12)


def test_no_atom_within_the_cutoff_is_missed_at_many_points():
    """The cell list scans per point only the part of each column of bins that the cutoff
    sphere reaches: against a numpy sum over all 27 images at 2000 points of the a-SiO2 example,
    each 0.01 Å inside the cutoff of an atom in a random direction (the atoms most easily
    missed), a tenth of them moved onto bin faces."""
    from amorpha.engine.examples import load_example
    host = load_example("a-SiO2")
    cutoff = 4.5
    potential = HostPotential(host, "Cu", cutoff)
    rng = np.random.default_rng(3)
    toward = rng.normal(size=(2000, 3))
    toward *= (cutoff - 0.01) / np.linalg.norm(toward, axis=1, keepdims=True)
    points = host.positions[rng.integers(len(host), size=2000)] + toward
    points[:200] = np.round(points[:200] / (cutoff / 2)) * (cutoff / 2)  # on bin faces
    from scipy.spatial import cKDTree

    shifts = np.array(list(np.ndindex(3, 3, 3))) - 1
    images = (host.positions[None, :, :] + (shifts @ host.cell.array)[:, None, :]).reshape(-1, 3)
    pairs = [pair_parameters("Cu", s) for s in host.get_chemical_symbols()] * len(shifts)
    # every (point, image) pair within the cutoff, found by scipy's k-d tree over all 27 images
    # (the dense 2000 × 81000 distance matrix took 38 s)
    near = cKDTree(points).sparse_distance_matrix(cKDTree(images), cutoff, output_type="coo_matrix")
    x, D = np.array(pairs)[near.col].T
    r = near.data
    assert np.all(r < cutoff) and len(r) > 2000  # none exactly at the cutoff
    term = D * ((x / r) ** 12 - 2 * (x / r) ** 6) - D * ((x / cutoff) ** 12 - 2 * (x / cutoff) ** 6)
    expected = np.bincount(near.row, weights=term, minlength=len(points))
    assert np.allclose(potential.energy(points), expected, rtol=1e-10, atol=1e-10)


def test_no_point_scans_more_candidates_than_the_buffers_hold():
    """The SOAP buffers are sized once per batch by the host's bound (most_candidates): no point,
    random or on a bin corner, may scan more host images than that."""
    from numba import njit

    from amorpha.engine.diffusion.environment import row_atoms
    from amorpha.engine.examples import load_example

    @njit
    def most_scanned(points, host):
        most = 0
        for p in range(points.shape[0]):
            qx, qy, qz, bx, by, bz = potential_module._locate(points[p, 0], points[p, 1],
                                                              points[p, 2], host)
            total = 0
            for s in range(host[5].shape[0]):
                first, stop = row_atoms(s, qx, qy, qz, bx, by, bz, host)
                total += stop - first
            most = max(most, total)
        return most

    host = load_example("a-SiO2")
    kernel = HostPotential(host, "Cu", 4.5)._kernel_host
    points = np.random.default_rng(4).random((20000, 3)) @ host.cell.array
    points[:2000] = np.round(points[:2000] / 2.25) * 2.25
    assert 0 < most_scanned(points, kernel) <= kernel[16]


def test_a_point_near_a_face_sees_the_atom_across_it():
    cell = np.array([[10.0, 0.0, 0.0], [4.0, 9.0, 0.0], [2.0, 3.0, 11.0]])
    host = Atoms("O", positions=[0.02 * cell[0] + 0.5 * cell[1] + 0.5 * cell[2]], cell=cell,
                 pbc=True)
    potential = HostPotential(host, "Cu", 6.0)
    point = 0.99 * cell[0] + 0.5 * cell[1] + 0.5 * cell[2]  # 0.3 Å from the atom's image
    x, D = pair_parameters("Cu", "O")
    r = 0.03 * np.linalg.norm(cell[0])
    exact = D * ((x / r) ** 12 - 2 * (x / r) ** 6) - D * ((x / 6.0) ** 12 - 2 * (x / 6.0) ** 6)
    assert potential.energy(point) == pytest.approx(exact, rel=1e-12)
    _, gradient = potential.energy_and_gradient(point)
    # the force pushes the atom away from the image across the face: along −a
    assert np.dot(-gradient, cell[0]) < 0


def test_forces_are_minus_the_gradient():
    host = random_triclinic_host(2)
    potential = HostPotential(host, "Li", 6.0)
    rng = np.random.default_rng(3)
    points = rng.random((20, 3)) @ host.cell.array
    energies, gradients = potential.energy_and_gradient(points)
    keep = energies < 50.0  # away from the atoms' cores, where rounding would dominate
    h = 1e-5
    for d in range(3):
        step = np.zeros(3)
        step[d] = h
        numeric = (potential.energy(points + step) - potential.energy(points - step)) / (2 * h)
        assert np.allclose(gradients[keep, d], numeric[keep], rtol=1e-6, atol=1e-8)
    assert np.array_equal(potential.forces(points), -gradients)


def test_calculator_gives_the_mobile_atom_energy_and_force_and_freezes_the_host():
    host = random_triclinic_host(4)
    potential = HostPotential(host, "Cu", 6.0)
    position = np.array([1.0, 2.0, 3.0])
    atoms = potential.mobile_atoms(position)
    energy, gradient = potential.energy_and_gradient(position)
    assert atoms.get_potential_energy() == pytest.approx(energy, rel=1e-14)
    forces = atoms.get_forces(apply_constraint=False)
    assert np.allclose(forces[-1], -gradient) and not forces[:-1].any()
    # a plain Atoms with the calculator attached works too; a moved host is refused
    plain = host.copy() + Atoms("Cu", positions=[position])
    plain.calc = MobileAtomCalculator(potential)
    assert plain.get_potential_energy() == pytest.approx(energy, rel=1e-14)
    plain.positions[0] += 0.5
    with pytest.raises(ParameterError, match="frozen"):
        plain.get_potential_energy()


# --------------------------------------------------------------------------- sites


def test_fcc_sites_are_the_octahedral_and_tetrahedral_holes():
    host = fcc_host(2)
    sites = find_sites(host, FCC.sites)
    assert len(sites) == 8 * (4 + 8)  # per conventional cell: 4 octahedral + 8 tetrahedral
    frac = (sites.positions / A_AG) % 1.0
    octahedral = np.array([[0.5, 0.5, 0.5], [0.5, 0, 0], [0, 0.5, 0], [0, 0, 0.5]])
    tetrahedral = np.array(list(np.ndindex(2, 2, 2))) * 0.5 + 0.25
    reference = np.vstack([octahedral, tetrahedral])
    delta = frac[:, None, :] - reference[None, :, :]
    delta -= np.round(delta)
    distance = np.linalg.norm(delta * A_AG, axis=2)
    assert distance.min(axis=1).max() < 1e-5  # every site on a hole, to 10⁻⁵ Å
    kind = distance.argmin(axis=1) >= 4
    assert np.bincount(kind) .tolist() == [32, 64]
    potential = HostPotential(host, "Li")
    exact_oct = potential.energy(np.array([0.5, 0.5, 0.5]) * A_AG)
    exact_tet = potential.energy(np.array([0.25, 0.25, 0.25]) * A_AG)
    assert np.allclose(sites.energies[~kind], exact_oct, rtol=0, atol=1e-10)
    assert np.allclose(sites.energies[kind], exact_tet, rtol=0, atol=1e-10)
    assert exact_oct < exact_tet
    assert (sites.curvatures > 0).all()
    # the octahedral hole is isotropic (O_h): three equal curvatures
    assert np.allclose(sites.curvatures[~kind], sites.curvatures[~kind][:, :1], rtol=1e-4)


def test_a_huge_atom_in_a_dense_crystal_has_no_site():
    host = bulk("Ni", "fcc", a=3.52, cubic=True).repeat(2)
    with pytest.raises(ParameterError, match="no site for K in this host below 1 eV"):
        find_sites(host, SiteSearchParams(element="K", energy_max=1.0))


def test_site_search_rejects_bad_input():
    host = fcc_host(1)
    for bad in (dict(spacing=0.0), dict(spacing=-0.3), dict(element="Xx"), dict(element="Og"),
                dict(merge_distance=0.0), dict(energy_max=float("nan")), dict(cutoff=0.0)):
        with pytest.raises(ParameterError):
            find_sites(host, SiteSearchParams(**bad))
    with pytest.raises(ParameterError, match="Rn"):
        HostPotential(Atoms("Rn", cell=np.eye(3) * 5, pbc=True))
    with pytest.raises(ParameterError, match="periodic"):
        HostPotential(Atoms("Cu", positions=[[0, 0, 0]]))
    with pytest.raises(ParameterError, match="points"):
        HostPotential(host).energy(np.zeros((4, 2)))


# --------------------------------------------------------------------------- paths


def is_tet_of(sites, index):
    """Whether the sites are tetrahedral holes (the higher of the two energies)."""
    return sites.energies[index] > sites.energies.min() + 0.1


@pytest.fixture(scope="module")
def fcc_network():
    return build_network(fcc_host(2), FCC)


def test_fcc_hops_go_from_octahedral_to_tetrahedral_holes(fcc_network):
    sites, paths, network = fcc_network
    assert len(sites) == 96
    is_tet = is_tet_of(sites, np.arange(len(sites)))
    i, j = paths.edges.T
    # oct → oct and tet → tet pairs run through a third site: only oct–tet hops remain
    assert np.all(is_tet[i] != is_tet[j])
    assert len(paths) == 32 * 8
    assert np.array_equal(np.bincount(paths.edges.ravel(), minlength=96),
                          np.where(is_tet, 4, 8))
    assert paths.n_indirect > 0 and paths.converged.all()
    assert isinstance(network, HopNetwork) and network.n_hops == 2 * len(paths)


def test_neb_saddle_is_the_maximum_on_the_threefold_axis(fcc_network):
    sites, paths, network = fcc_network
    potential = HostPotential(fcc_host(2), "Li")
    # the oct (½,½,½) → tet (¼,¼,¼) saddle lies on the [111] axis between them (C3v symmetry):
    # a fine scan along it gives the exact barrier
    t = np.linspace(0.25, 0.5, 200_001)
    scan = potential.energy(np.outer(t, np.ones(3)) * A_AG)
    saddle_point = t[np.argmax(scan)] * A_AG * np.ones(3)
    saddle = potential.energy(saddle_point)
    assert paths.saddles == pytest.approx(np.full(len(paths), saddle), abs=2e-6)
    # ... and it is a first-order saddle: no force, one negative curvature
    _, gradient = potential.energy_and_gradient(saddle_point)
    assert np.linalg.norm(gradient) < 1e-3
    curvatures = np.linalg.eigvalsh(sites_module.hessians(potential, saddle_point)[0])
    assert curvatures[0] < 0 < curvatures[1]
    # the climbing image sits on it: on the segment, at the scan's distances from both ends
    top = paths.images[np.arange(len(paths)), paths.energies.argmax(axis=1)]
    ends = paths.images[:, [0, -1]]
    oct_first = ~is_tet_of(sites, paths.edges[:, 0])
    oct_end = np.where(oct_first[:, None], ends[:, 0], ends[:, 1])
    tet_end = np.where(oct_first[:, None], ends[:, 1], ends[:, 0])
    t_top = t[np.argmax(scan)]
    assert np.allclose(np.linalg.norm(top - oct_end, axis=1), (0.5 - t_top) * math.sqrt(3) * A_AG,
                       atol=1e-3)
    assert np.allclose(np.linalg.norm(top - tet_end, axis=1), (t_top - 0.25) * math.sqrt(3) * A_AG,
                       atol=1e-3)
    oct_energy = sites.energies.min()
    assert percolation_barrier(network) == pytest.approx(saddle - oct_energy, abs=2e-6)


def test_ase_neb_with_the_calculator_finds_the_same_saddle(fcc_network):
    from ase.optimize import FIRE
    try:
        from ase.mep import NEB
    except ImportError:  # ASE before 3.23
        from ase.neb import NEB
    _, paths, _ = fcc_network
    potential = HostPotential(fcc_host(2), "Li")
    start = potential.mobile_atoms(np.array([0.5, 0.5, 0.5]) * A_AG)
    end = potential.mobile_atoms(np.array([0.25, 0.25, 0.25]) * A_AG)
    images = [start] + [start.copy() for _ in range(5)] + [end]
    for image in images[1:-1]:
        image.calc = MobileAtomCalculator(potential)
    neb = NEB(images, climb=True, method="improvedtangent")
    neb.interpolate()
    FIRE(neb, logfile=None).run(fmax=1e-3, steps=500)
    ase_saddle = max(image.get_potential_energy() for image in images)
    assert ase_saddle == pytest.approx(paths.saddles[0], abs=1e-4)


def test_a_triclinic_cell_gives_the_same_holes_and_saddles(fcc_network):
    _, cubic_paths, cubic_network = fcc_network
    primitive = bulk("Ag", "fcc", a=A_AG).repeat(3)  # rhombohedral, 60° between the vectors
    sites, paths, network = build_network(primitive, FCC)
    assert len(sites) == 27 * 3 and len(paths) == 27 * 8  # 1 oct + 2 tet per primitive cell
    assert paths.saddles == pytest.approx(np.full(len(paths), cubic_paths.saddles[0]), abs=2e-6)
    assert percolation_barrier(network) == pytest.approx(percolation_barrier(cubic_network),
                                                         abs=2e-6)


def test_every_grid_point_drains_to_a_site_of_its_own_basin():
    potential = HostPotential(fcc_host(1), "Li")
    sites, grid = search_sites(potential, FCC.sites)
    assert grid.basins.shape == grid.shape and (grid.basins >= 0).all()
    assert np.array_equal(np.unique(grid.basins), np.arange(len(sites)))
    nodes = np.round(sites.positions @ np.linalg.inv(grid.cell) * grid.shape).astype(int)
    nodes %= grid.shape
    assert np.array_equal(grid.basins[tuple(nodes.T)], np.arange(len(sites)))


def test_paths_start_and_end_on_their_sites(fcc_network):
    sites, paths, network = fcc_network
    i, j = paths.edges.T
    assert np.allclose(paths.images[:, 0], sites.positions[i], atol=1e-12)
    assert np.allclose(paths.images[:, -1], sites.positions[j] + paths.shifts @ sites.cell,
                       atol=1e-12)
    assert np.allclose(paths.energies[:, 0], sites.energies[i], atol=1e-9)
    assert np.allclose(paths.energies[:, -1], sites.energies[j], atol=1e-9)
    distance, energy = paths.profile(0)
    assert distance[0] == 0 and np.all(np.diff(distance) > 0)
    assert energy.max() == paths.saddles[0]
    assert np.allclose(paths.barriers[:, 0], paths.saddles - sites.energies[i])
    assert np.allclose(network.saddles[:len(paths)].max(), paths.saddles.max())


def test_a_sio2_network_builds_and_percolates():
    from amorpha.engine.examples import load_example

    host = load_example("a-SiO2")
    params = LandscapeParams(SiteSearchParams(element="Cu", spacing=0.4))
    sites, paths, network = build_network(host, params)
    assert len(sites) > 300 and network.n_sites == len(sites)
    assert (sites.energies <= params.sites.energy_max).all()
    i, j = paths.edges.T
    assert (paths.saddles >= np.maximum(sites.energies[i], sites.energies[j])).all()
    assert paths.converged.mean() > 0.98
    barrier = percolation_barrier(network)
    assert 0.0 < barrier < 2.0
    assert percolation_barrier(network, "any") <= barrier


def test_find_paths_without_a_grid_and_with_nothing_in_reach():
    host = fcc_host(1)
    potential = HostPotential(host, "Li")
    sites, _ = search_sites(potential, FCC.sites)
    near = find_paths(potential, sites, PathParams(hop_distance=1.0))
    assert len(near) == 0 and near.n_candidates == 0
    paths = find_paths(potential, sites.subset(np.arange(len(sites))), PathParams(hop_distance=2.0))
    assert len(paths) == 4 * 8  # each oct–tet pair of the cell once (plus images), no others
    with pytest.raises(ParameterError, match="hop_distance"):
        build_network(host, LandscapeParams(FCC.sites, PathParams(hop_distance=1.0)))


def test_path_params_reject_bad_input():
    for bad in (dict(hop_distance=0.0), dict(n_images=2), dict(n_images=5.0), dict(spring=-1.0),
                dict(fmax=0.0), dict(max_steps=0), dict(climb="yes"), dict(barrier_max=0.0)):
        with pytest.raises(ParameterError):
            PathParams(**bad).validate()


@pytest.mark.parametrize("stop_at", [0.1, 0.5, 0.8])
def test_cancel_stops_the_build(stop_at):
    seen = []

    def progress(fraction, message):
        seen.append(fraction)

    with pytest.raises(Cancelled):
        build_network(fcc_host(2), FCC, progress=progress,
                      cancel=lambda: bool(seen) and seen[-1] >= stop_at)
    assert seen[-1] < stop_at + 0.35


def test_progress_runs_from_zero_to_one(fcc_network):
    seen = []
    build_network(fcc_host(1), FCC, progress=lambda f, m: seen.append(f))
    assert seen[-1] == pytest.approx(1.0) and min(seen) >= 0.0


def test_saved_paths_rebuild_the_hop_network(fcc_network, tmp_path):
    """Save sites and paths…: each row holds what another KMC code needs for the hop i → j and
    back (sites, the image reached, both barriers); the rows give back the network's rates."""
    from amorpha.engine.diffusion import write_paths_csv

    sites, paths, network = fcc_network
    write_paths_csv(tmp_path / "paths.csv", sites, paths, ["energy: UFF"])
    text = (tmp_path / "paths.csv").read_text()
    lines = text.splitlines()
    n = sum(l.startswith("#") for l in lines)
    assert lines[0] == f"# sites and minimum-energy paths of Li: 96 sites, {len(paths)} paths"
    assert lines[n - 1] == "# energy: UFF"
    rows = np.loadtxt(tmp_path / "paths.csv", delimiter=",", skiprows=n + 1)
    i, j = rows[:, 1].astype(int), rows[:, 2].astype(int)
    shift = rows[:, 3:6]
    np.testing.assert_allclose(rows[:, 6:9], sites.positions[i], atol=1e-12)
    np.testing.assert_allclose(rows[:, 9:12], sites.positions[j] + shift @ sites.cell, atol=1e-12)
    np.testing.assert_allclose(rows[:, 12], sites.energies[i])
    # barrier back = barrier there − (E_j − E_i): detailed balance holds in the file
    np.testing.assert_allclose(rows[:, 16] - rows[:, 15], rows[:, 12] - rows[:, 13], atol=1e-12)
    np.testing.assert_allclose(rows[:, 14], paths.saddles)
    forward = sorted(zip(i, j, rows[:, 15].round(9)))
    assert forward == sorted(zip(*paths.edges.T, paths.barriers[:, 0].round(9)))
    assert (rows[:, 17] > np.linalg.norm(rows[:, 9:12] - rows[:, 6:9], axis=1) - 1e-9).all()
    assert rows[:, 18].all()  # every band converged (as the Paths tab says)

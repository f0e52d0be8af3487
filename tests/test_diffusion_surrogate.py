"""The mobile-atom surrogate against outside truth: its features are DScribe's ACSF of an atom at
the point, its forces the finite-difference gradient, its numba pass sklearn's predict; trained on
UFF it finds UFF's fcc holes and barriers; LAMMPS lj/cut reproduces UFF; CSV import and bad
input give clear messages."""
import numpy as np
import pytest
from ase import Atoms
from ase.build import bulk

from amorpha.engine.diffusion import HostPotential, percolation_barrier
from amorpha.engine.diffusion.paths import LandscapeParams, PathParams, build_network
from amorpha.engine.diffusion.reference import (LammpsReference, XtbReference,
                                                lammps_available, read_energies_csv)
from amorpha.engine.diffusion.potential import pair_parameters
from amorpha.engine.diffusion.sites import SiteSearchParams, find_sites
from amorpha.engine.diffusion.surrogate import (DescriptorParams, SurrogateParams,
                                                SurrogatePotential, build_surrogate,
                                                compare_barriers, sample_positions)
from amorpha.engine.errors import ParameterError, ReadError

SITES = SiteSearchParams(element="Li", energy_max=2.0)
PARAMS = SurrogateParams(element="Li", n_train=500, n_test=100, hidden=(16, 16), max_iter=1500,
                         wall_factor=0.5,
                         descriptor=DescriptorParams(r_cut_radial=5.0, n_radial=8,
                                                     r_cut_angular=3.5))


def fcc_host():
    return bulk("Ag", "fcc", a=4.09, cubic=True).repeat(2)


def triclinic_host(seed=0):
    rng = np.random.default_rng(seed)
    cell = np.array([[7.0, 0.0, 0.0], [2.1, 6.5, 0.0], [-1.3, 1.7, 7.2]])
    return Atoms("Si6O12", positions=rng.random((18, 3)) @ cell, cell=cell, pbc=True)


def random_network(potential, rng, hidden=(7, 5)):
    sizes = np.array([potential.n_features, *hidden, 1])
    n = sum(a * b + b for a, b in zip(sizes[:-1], sizes[1:]))
    return (rng.normal(size=potential.n_features), 1.0 + rng.random(potential.n_features),
            sizes, 0.4 * rng.normal(size=n), 0.3, 0.8)


@pytest.fixture(scope="module")
def trained():
    host = fcc_host()
    return host, build_surrogate(host, HostPotential(host, "Li"), PARAMS)


@pytest.mark.parametrize("r_cut, angular_cut, repeat", [(5.0, 3.5, 1), (7.0, 7.0, 2)])
def test_features_are_dscribe_acsf_of_an_atom_at_the_point(r_cut, angular_cut, repeat):
    """Also with ~80 neighbours inside the angular cutoff (the neighbour rows are sized by the
    host's bound; they once started at 64 and grew)."""
    from dscribe.descriptors import ACSF

    host = triclinic_host().repeat(repeat)
    d = DescriptorParams(r_cut_radial=r_cut, n_radial=6, r_cut_angular=angular_cut)
    surrogate = SurrogatePotential(host, "Cu", d, wall_factor=0.1)
    points = np.random.default_rng(1).random((6, 3)) @ host.cell.array
    ours = surrogate.features(points)
    radial = ACSF(species=["O", "Si", "Cu"], r_cut=r_cut, g2_params=d.radial().tolist(),
                  periodic=True)
    angular = ACSF(species=["O", "Si", "Cu"], r_cut=angular_cut,
                   g4_params=d.angular().tolist(), periodic=True)
    n = len(host)
    for point, row in zip(points, ours):
        atoms = host + Atoms("Cu", positions=[point])
        r = radial.create(atoms, centers=[n])[0]
        a = angular.create(atoms, centers=[n])[0]
        # DScribe: per species [G1, G2…]; then per species pair (O-O, Si-O, Si-Si, Cu-…) [G4…]
        expected = np.concatenate([r[1:7], r[8:14], a[3:3 + 3 * 6]])
        assert np.allclose(row, expected, rtol=1e-10, atol=1e-12)


def test_forces_are_minus_the_finite_difference_gradient_and_the_calculator_works():
    host = triclinic_host(2)
    rng = np.random.default_rng(3)
    blank = SurrogatePotential(host, "Cu", wall_factor=0.3)
    surrogate = SurrogatePotential(host, "Cu", wall_factor=0.3, network=random_network(blank, rng))
    points = rng.random((20, 3)) @ host.cell.array
    energies, gradients = surrogate.energy_and_gradient(points)
    assert np.allclose(surrogate.energy(points), energies)
    h = 1e-5
    for axis in range(3):
        step = np.zeros(3)
        step[axis] = h
        fd = (surrogate.energy(points + step) - surrogate.energy(points - step)) / (2 * h)
        assert np.allclose(gradients[:, axis], fd, rtol=1e-5, atol=1e-6)
    atoms = surrogate.mobile_atoms(points[0])
    assert np.isclose(atoms.get_potential_energy(), energies[0])
    assert np.allclose(atoms.get_forces()[-1], -gradients[0])
    assert np.allclose(atoms.get_forces()[:-1], 0.0)


def test_samples_keep_out_of_the_host_and_favour_low_energy():
    host = fcc_host()
    uff = HostPotential(host, "Li")
    positions = sample_positions(host, PARAMS)
    assert len(positions) == PARAMS.n_train + PARAMS.n_test
    blank = SurrogatePotential(host, "Li", PARAMS.descriptor, PARAMS.wall_factor)
    assert not blank.overlaps(positions).any()
    uniform = np.random.default_rng(5).random((5000, 3)) @ host.cell.array
    uniform = uniform[~blank.overlaps(uniform)]
    assert np.median(uff.energy(positions)) < np.median(uff.energy(uniform)) - 0.5


def test_capped_samples_stay_within_the_cap_and_reuse_the_uncapped_draw():
    from dataclasses import replace

    host = fcc_host()
    uff = HostPotential(host, "Li")
    free = replace(PARAMS, proposal_cap=None, bias_kt=2.0, uniform_fraction=0.5)
    capped = replace(free, proposal_cap=1.0)
    loose, tight = sample_positions(host, free), sample_positions(host, capped)
    e_loose, e_tight = uff.energy(loose), uff.energy(tight)
    assert len(tight) == len(loose) and e_loose.max() - e_loose.min() > 1.0
    assert e_tight.max() - e_tight.min() <= 1.0
    # the capped draw keeps exactly the uncapped sample's points below the cap (so a cache of
    # reference energies for them stays useful) and replaces those above it
    kept = np.isin(np.round(loose, 9).view([("", float)] * 3),
                   np.round(tight, 9).view([("", float)] * 3)).ravel()
    assert 0 < kept.sum() < len(loose) and e_loose[kept].max() < e_loose[~kept].min()
    with pytest.raises(ParameterError, match="proposal_cap"):
        sample_positions(host, replace(capped, proposal_cap=1e-6))


def test_numba_pass_is_sklearn_predict_and_the_test_error_is_small(trained):
    host, surrogate = trained
    potential = surrogate.potential
    x = surrogate.scaler.transform(potential.features(surrogate.test_positions))
    y_mean, y_scale = potential.network[4], potential.network[5]
    sklearn = surrogate.model.predict(x) * y_scale + y_mean
    assert np.allclose(sklearn, surrogate.test_predicted, rtol=0, atol=1e-10)
    metrics = surrogate.metrics()
    assert metrics["n_test"] == PARAMS.n_test and metrics["n_train"] == PARAMS.n_train
    assert metrics["rmse_below_ceiling_ev"] < 0.05
    reference, predicted = surrogate.parity()
    assert reference.shape == predicted.shape == (PARAMS.n_test,)


def test_surrogate_finds_the_fcc_holes_and_their_barriers(trained):
    host, surrogate = trained
    uff = find_sites(host, SITES)
    ours = find_sites(host, SITES, potential=surrogate.potential)
    assert len(ours) == len(uff) == 96  # 32 octahedral + 64 tetrahedral holes of 32 Ag atoms
    delta = (ours.positions[:, None] - uff.positions[None]) @ np.linalg.inv(host.cell.array)
    delta = (delta - np.round(delta)) @ host.cell.array
    assert np.linalg.norm(delta, axis=2).min(axis=1).max() < 0.1
    params = LandscapeParams(SITES, PathParams(hop_distance=3.0))
    sites, paths, network = build_network(host, params, potential=surrogate.potential)
    assert percolation_barrier(network) > 0
    for method in ("reevaluate", "neb"):
        comparison = compare_barriers(HostPotential(host, "Li"), paths, method=method)
        assert comparison.mean_abs_difference < 0.1


def test_potential_of_another_host_or_element_is_refused(trained):
    host, surrogate = trained
    with pytest.raises(ParameterError, match="another host"):
        find_sites(fcc_host().repeat((2, 1, 1)), SITES, potential=surrogate.potential)
    with pytest.raises(ParameterError, match="for Li"):
        find_sites(host, SiteSearchParams(element="Na"), potential=surrogate.potential)


@pytest.mark.skipif(not lammps_available(), reason="LAMMPS is not installed")
def test_lammps_lj_cut_is_the_uff_pair_sum():
    host = triclinic_host(4).repeat(2)
    cutoff = 5.0
    coeffs = []
    species = sorted(set(host.get_chemical_symbols())) + ["Cu"]  # LAMMPS types 1, 2, 3
    for a in range(len(species)):
        for b in range(a, len(species)):
            x, D = pair_parameters(species[a], species[b])
            mobile = "Cu" in (species[a], species[b])
            coeffs.append(f"{a + 1} {b + 1} {D if mobile else 0.0!r} {x / 2 ** (1 / 6)!r}")
    lammps = LammpsReference(host, "Cu", f"lj/cut {cutoff}", coeffs, ["pair_modify shift yes"])
    assert lammps.types == {s: k + 1 for k, s in enumerate(species)}
    uff = HostPotential(host, "Cu", cutoff=cutoff)
    points = np.random.default_rng(0).random((15, 3)) @ host.cell.array
    assert np.allclose(lammps.energy(points), uff.energy(points), rtol=1e-9, atol=1e-9)
    lammps.close()
    with pytest.raises(ParameterError, match="LAMMPS refused"):
        LammpsReference(host, "Cu", "lj/cut 6.0", ["1 1 not-a-number 1.0"])


def test_xtb_reference_is_a_binding_energy_and_cached(tmp_path):
    pytest.importorskip("tblite")
    from amorpha.engine.examples import load_example

    host = load_example("a-SiO2")
    uff = HostPotential(host, "Cu")
    points = np.random.default_rng(0).random((3000, 3)) @ host.cell.array
    site = points[np.argmin(uff.energy(points))]
    reference = XtbReference(host, "Cu", cluster_radius=4.0, cache=tmp_path)
    energy = reference.energy(site)
    assert np.isfinite(energy) and -10.0 < energy < 5.0  # a bound Cu, not a total energy
    again = XtbReference(host, "Cu", cluster_radius=4.0, cache=tmp_path)
    assert again.energy(site) == energy and again.cache.hits >= 2
    with pytest.raises(ParameterError, match="cluster radius"):
        XtbReference(host, "Cu", cluster_radius=1.0)


def test_imported_energies_read_and_malformed_rows_say_where(tmp_path):
    good = tmp_path / "good.csv"
    good.write_text("# from VASP\nx,y,z,energy\n0,0,0,-1.5\n1.0 2.0 3.0 0.25\n0.5;0.5;0.5;0\n")
    positions, energies = read_energies_csv(good)
    assert positions.shape == (3, 3) and np.allclose(energies, [-1.5, 0.25, 0.0])
    for text, line, reason in (("x,y,z,energy\n0,0,0\n", 2, "4 columns"),
                               ("0,0,0,1\n0,0,zero,1\n", 2, "four numbers"),
                               ("0,0,0,1\n0,0,0,nan\n", 2, "not finite"),
                               ("# nothing\n", None, "no rows")):
        bad = tmp_path / "bad.csv"
        bad.write_text(text)
        with pytest.raises(ReadError) as caught:
            read_energies_csv(bad)
        assert caught.value.line == line and reason in caught.value.reason
    with pytest.raises(ReadError, match="no such file"):
        read_energies_csv(tmp_path / "missing.csv")


def test_a_host_with_no_room_and_bad_parameters_are_clear():
    dense = bulk("Ni", "fcc", a=3.52, cubic=True).repeat(2)
    with pytest.raises(ParameterError, match="no room for a K atom"):
        sample_positions(dense, SurrogateParams(element="K", wall_factor=1.2, n_train=100,
                                                n_test=10))
    for bad in (dict(n_train=3), dict(bias_kt=0.0), dict(hidden=()), dict(window=-1.0),
                dict(element="Xx"), dict(uniform_fraction=2.0), dict(proposal_cap=0.0),
                dict(descriptor=DescriptorParams(r_cut_radial=1.0))):
        with pytest.raises(ParameterError):
            SurrogateParams(**bad).validate()
    host = fcc_host()
    with pytest.raises(ParameterError, match="energy per position"):
        from amorpha.engine.diffusion.surrogate import train_surrogate
        train_surrogate(host, np.zeros((5, 3)), np.zeros(4), PARAMS)



def test_saved_surrogate_loads_for_its_host_only(trained, tmp_path):
    from ase.io import read, write

    from amorpha.engine.diffusion.surrogate import Surrogate
    from amorpha.engine.surrogate.model import ModelMismatchError

    host, surrogate = trained
    path = tmp_path / "li-in-ag.zip"
    surrogate.save(path)
    write(tmp_path / "host.extxyz", host)
    again = read(tmp_path / "host.extxyz")  # the same host through a text file
    loaded = Surrogate.load(path, again, "Li")
    points = np.random.default_rng(7).random((500, 3)) @ host.cell.array
    e, g = surrogate.potential.energy_and_gradient(points)
    e2, g2 = loaded.potential.energy_and_gradient(points)
    assert np.array_equal(e, e2) and np.array_equal(g, g2)
    assert loaded.metrics() == surrogate.metrics() and loaded.reference == "UFF Lennard-Jones"
    assert loaded.potential.descriptor == PARAMS.descriptor
    moved = host.copy()
    moved.positions[3] += 0.01
    for other, element, words in ((fcc_host().repeat((2, 1, 1)), "Li", "another host"),
                                  (moved, "Li", "another host"), (host, "Na", "for a Li atom")):
        with pytest.raises(ModelMismatchError, match=words):
            Surrogate.load(path, other, element)
    (tmp_path / "junk.zip").write_bytes(b"not a zip")
    with pytest.raises(ReadError, match="not an Amorpha diffusion surrogate"):
        Surrogate.load(tmp_path / "junk.zip", host)
    with pytest.raises(ReadError, match="no such file"):
        Surrogate.load(tmp_path / "missing.zip", host)

"""The quadratic SOAP surrogate against outside truth: its features are DScribe's SOAP of an atom
at the point, its gradient the finite-difference one, its energy scikit-learn's kernel ridge
prediction; trained on UFF it learns UFF; saved and loaded it predicts the same."""
from dataclasses import replace

import numpy as np
import pytest
from ase import Atoms
from ase.build import bulk

from amorpha.engine.diffusion import HostPotential
from amorpha.engine.diffusion.point_soap import PointSoapParams
from amorpha.engine.diffusion.surrogate import (Surrogate, SurrogateParams, SurrogatePotential,
                                                build_surrogate)
from amorpha.engine.errors import ParameterError

SOAP = PointSoapParams(r_cut=4.0, n_max=4, l_max=4, sigma=0.5, rank=60)
DSCRIBE = replace(SOAP, taper=None)
PARAMS = SurrogateParams(element="Li", n_train=400, n_test=100, wall_factor=0.5, descriptor=SOAP)


def triclinic_host(seed=0):
    rng = np.random.default_rng(seed)
    cell = np.array([[7.0, 0.0, 0.0], [2.1, 6.5, 0.0], [-1.3, 1.7, 7.2]])
    return Atoms("Si6O12", positions=rng.random((18, 3)) @ cell, cell=cell, pbc=True)


@pytest.fixture(scope="module")
def trained():
    host = bulk("Ag", "fcc", a=4.09, cubic=True).repeat(2)
    return host, build_surrogate(host, HostPotential(host, "Li"), PARAMS)


def dscribe_at(host, points, settings):
    from dscribe.descriptors import SOAP as DScribeSOAP

    theirs = DScribeSOAP(species=["O", "Si", "Cu"], r_cut=settings.r_cut, n_max=settings.n_max,
                         l_max=settings.l_max, sigma=settings.sigma, rbf="gto", periodic=True)
    return np.array([theirs.create(host + Atoms("Cu", positions=[p]), centers=[len(host)])[0]
                     for p in points])


@pytest.mark.parametrize("n_max", [4, 5, 7])  # the Y ⊗ R kernel takes n five at a time
def test_features_are_dscribe_soap_of_an_atom_at_the_point(n_max):
    host = triclinic_host()
    settings = replace(DSCRIBE, n_max=n_max)
    potential = SurrogatePotential(host, "Cu", settings, wall_factor=0.1)
    points = np.random.default_rng(1).random((5, 3)) @ host.cell.array
    expected = dscribe_at(host, points, settings)
    assert np.allclose(potential.features(points), expected, rtol=1e-6,
                       atol=1e-9 * np.abs(expected).max())


def test_a_point_with_more_neighbours_than_the_first_buffer_holds():
    """~155 host atoms within reach (more than the 64 columns the buffers once started with):
    still DScribe's.
    (The cell is doubled so that DScribe sees no periodic image of the added atom itself.)"""
    wide = replace(DSCRIBE, r_cut=7.0, n_max=2, l_max=2)
    host = triclinic_host(2).repeat(2)
    potential = SurrogatePotential(host, "Cu", wide, wall_factor=0.1)
    points = np.random.default_rng(3).random((3, 3)) @ host.cell.array
    assert len(host) * 4.0 / 3.0 * np.pi * potential.cutoff ** 3 / host.get_volume() > 150
    expected = dscribe_at(host, points, wide)
    assert np.allclose(potential.features(points), expected, rtol=1e-6,
                       atol=1e-9 * np.abs(expected).max())


def test_the_taper_changes_nothing_inside_and_is_smooth_where_an_atom_crosses_the_cutoff():
    # a few atoms well inside r_cut − taper of the point and nothing else within reach
    cell = np.eye(3) * 30.0
    host = Atoms("SiO2", positions=[(15, 15, 15), (16.6, 15, 15), (14.2, 16.3, 15.4)],
                 cell=cell, pbc=True)
    point = np.array([[15.5, 16.0, 16.2]])
    tapered = SurrogatePotential(host, "Cu", SOAP, wall_factor=0.1)
    expected = dscribe_at(host, point, DSCRIBE)
    assert np.allclose(tapered.features(point), expected, rtol=1e-6,
                       atol=1e-9 * np.abs(expected).max())
    # walk the point so that the O at (16.6, 15, 15) leaves the sphere: the features go to
    # their value without it continuously, and reach it exactly at r_cut
    line = np.array([[16.6 - s, 15.0, 15.0] for s in np.linspace(2.5, 4.2, 400)])
    values = tapered.features(line)
    assert np.abs(np.diff(values, axis=0)).max() < 0.02 * np.abs(values).max()
    beyond = line[np.linalg.norm(line - host.positions[1], axis=1) > SOAP.r_cut]
    without = SurrogatePotential(host[[0, 2]], "Cu", SOAP, wall_factor=0.1)
    assert np.allclose(tapered.features(beyond), without.features(beyond), rtol=1e-12)


@pytest.mark.parametrize("n_max", [4, 6])
def test_energy_is_the_quadratic_form_and_its_gradient_the_finite_difference_one(n_max):
    host = triclinic_host(2)
    rng = np.random.default_rng(3)
    settings = replace(SOAP, n_max=n_max)
    blank = SurrogatePotential(host, "Cu", settings, wall_factor=0.3)
    proj = rng.normal(size=(7, blank.n_features))
    lam = rng.normal(size=7)
    potential = SurrogatePotential(host, "Cu", settings, wall_factor=0.3,
                                   network=(proj, lam, 0.3, 0.8))
    points = rng.random((30, 3)) @ host.cell.array
    points = points[~potential.overlaps(points)]
    unit = blank.features(points)
    unit /= np.linalg.norm(unit, axis=1, keepdims=True)
    energies, gradients = potential.energy_and_gradient(points)
    assert np.allclose(energies, 0.3 + 0.8 * (unit @ proj.T) ** 2 @ lam, rtol=1e-10)
    assert np.allclose(potential.energy(points), energies, rtol=0, atol=1e-12)
    h = 1e-5
    for axis in range(3):
        step = np.zeros(3)
        step[axis] = h
        fd = (potential.energy(points + step) - potential.energy(points - step)) / (2 * h)
        assert np.allclose(gradients[:, axis], fd, rtol=1e-5, atol=1e-6)


def test_trained_on_uff_it_is_kernel_ridge_and_learns_uff(trained):
    host, surrogate = trained
    potential = surrogate.potential
    x = potential.features(surrogate.test_positions)
    y_mean, y_scale = potential.network[2], potential.network[3]
    sklearn = surrogate.model.predict(x / np.linalg.norm(x, axis=1, keepdims=True)) * y_scale \
        + y_mean
    # the kept eigenpairs are the kernel ridge prediction (rank 60 of 150 features here)
    assert np.abs(sklearn - surrogate.test_predicted).max() < 0.02
    metrics = surrogate.metrics()
    assert metrics["n_train"] == PARAMS.n_train and metrics["rmse_below_ceiling_ev"] < 0.05
    assert np.isfinite(metrics["cv_rmse_ev"]) and metrics["alpha"] > 0


def test_saved_soap_surrogate_loads_and_predicts_the_same(trained, tmp_path):
    host, surrogate = trained
    path = tmp_path / "li.zip"
    surrogate.save(path)
    loaded = Surrogate.load(path, host, "Li")
    points = np.random.default_rng(4).random((50, 3)) @ host.cell.array
    e1, g1 = surrogate.potential.energy_and_gradient(points)
    e2, g2 = loaded.potential.energy_and_gradient(points)
    assert np.array_equal(e1, e2) and np.array_equal(g1, g2)
    assert loaded.potential.descriptor == SOAP and loaded.potential.kind == "soap-quadratic"


def test_bad_soap_settings_are_clear():
    for bad in (dict(rank=0), dict(n_max=0), dict(r_cut=0.5), dict(sigma=-1.0)):
        with pytest.raises(ParameterError):
            replace(PARAMS, descriptor=PointSoapParams(**bad)).validate()


def test_many_points_in_threads_give_the_one_thread_energies_and_forces(trained, monkeypatch):
    from amorpha.engine.diffusion import potential as potential_module
    from amorpha.engine.diffusion.sites import energy_grid

    host, surrogate = trained
    potential = surrogate.potential
    points = np.random.default_rng(5).random((1000, 3)) @ host.cell.array
    monkeypatch.setattr(potential_module, "CHUNK_POINTS", 64)  # 16 pieces over 2 threads
    monkeypatch.setattr(potential_module, "THREADS", 1)
    one = potential.energy_and_gradient(points)
    grid = energy_grid(potential, 0.5).energies
    monkeypatch.setattr(potential_module, "THREADS", 2)
    two = potential.energy_and_gradient(points)
    assert np.array_equal(one[0], two[0]) and np.array_equal(one[1], two[1])
    assert np.array_equal(energy_grid(potential, 0.5).energies, grid)
    # the batched energies (spectra projected 16 at a time) are the per-point ones
    assert np.allclose(potential.energy(points), one[0], rtol=0, atol=1e-10)

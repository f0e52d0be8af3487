"""The surrogate's guard: beyond the highest UFF energy of its training points a model has seen
no data, and k(U − U_max)² is added. Checked against UFF summed here from ASE's neighbour list
and the pair formula, against finite differences, and through training, saving and loading."""
import numpy as np
import pytest
from ase import Atoms
from ase.build import bulk
from ase.neighborlist import neighbor_list

from amorpha.engine.diffusion import HostPotential
from amorpha.engine.diffusion.point_soap import PointSoapParams
from amorpha.engine.diffusion.potential import pair_energy, pair_parameters
from amorpha.engine.diffusion.surrogate import (GUARD_STIFFNESS, Surrogate, SurrogateParams,
                                                SurrogatePotential, train_surrogate,
                                                sample_positions)

SOAP = PointSoapParams(r_cut=4.0, n_max=3, l_max=3, sigma=0.5, rank=20)


def host():
    rng = np.random.default_rng(0)
    cell = np.array([[7.0, 0.0, 0.0], [2.1, 6.5, 0.0], [-1.3, 1.7, 7.2]])
    return Atoms("Si6O12", positions=rng.random((18, 3)) @ cell, cell=cell, pbc=True)


def uff_by_hand(atoms, element, points, cutoff):
    """Σ over host atoms within ``cutoff`` of each point of the shifted UFF pair term (ASE's
    neighbour list over host + point)."""
    out = []
    for p in points:
        both = atoms + Atoms(element, positions=[p])
        i, j, d = neighbor_list("ijd", both, cutoff)
        mine = i == len(atoms)
        out.append(sum(float(pair_energy(r, *pair_parameters(element, both[k].symbol), cutoff))
                       for k, r in zip(j[mine], d[mine])))
    return np.array(out)


@pytest.mark.parametrize("descriptor", [None, SOAP], ids=["network", "soap"])
def test_guard_adds_the_uff_excess_and_its_gradient(descriptor):
    atoms = host()
    kwargs = {} if descriptor is None else {"descriptor": descriptor}
    free = SurrogatePotential(atoms, "Cu", wall_factor=0.3, **kwargs)
    rng = np.random.default_rng(1)
    points = rng.random((40, 3)) @ atoms.cell.array
    points = points[~free.overlaps(points)]
    u = uff_by_hand(atoms, "Cu", points, free.cutoff)
    assert np.allclose(free.uff_energy(points), u, rtol=1e-9, atol=1e-9)
    level = float(np.median(u)) + 0.0137  # no point sits exactly on the kink
    guarded = SurrogatePotential(atoms, "Cu", wall_factor=0.3, guard=level, **kwargs)
    excess = np.maximum(u - level, 0.0)
    added = guarded.energy(points) - free.energy(points)
    assert np.allclose(added, GUARD_STIFFNESS * excess ** 2, rtol=1e-9, atol=1e-9)
    assert (added > 0).sum() >= 5 and (added == 0).sum() >= 5
    _, gradient = guarded.energy_and_gradient(points)
    h = 1e-6
    for axis in range(3):
        step = np.zeros(3)
        step[axis] = h
        fd = (guarded.energy(points + step) - guarded.energy(points - step)) / (2 * h)
        assert np.allclose(gradient[:, axis], fd, rtol=1e-5, atol=1e-5)


def test_no_guard_without_uff_parameters_for_every_element():
    atoms = bulk("Cu", "fcc", a=3.6, cubic=True).repeat(2)
    atoms.symbols[0] = "Og"  # no UFF row
    potential = SurrogatePotential(atoms, "Li", wall_factor=0.3, guard=1.0)
    assert potential.guard is None


@pytest.fixture(scope="module")
def capped():
    atoms = bulk("Ag", "fcc", a=4.09, cubic=True).repeat(2)
    params = SurrogateParams(element="Li", n_train=300, n_test=60, wall_factor=0.5,
                             proposal_cap=1.0, bias_kt=2.0, uniform_fraction=0.5,
                             descriptor=SOAP)
    positions = sample_positions(atoms, params)
    energies = HostPotential(atoms, "Li").energy(positions)
    return atoms, train_surrogate(atoms, positions, energies, params)


def test_training_sets_the_guard_at_the_highest_training_uff_energy(capped):
    atoms, surrogate = capped
    potential = surrogate.potential
    assert potential.guard == pytest.approx(potential.uff_energy(surrogate.train_positions).max(),
                                            abs=1e-12)
    # on the training points the guard is off: the model is what kernel ridge fitted
    plain = SurrogatePotential(atoms, "Li", SOAP, 0.5, potential.network)
    assert np.allclose(plain.energy(surrogate.train_positions), surrogate.train_predicted,
                       rtol=0, atol=1e-12)
    # close to an atom (above every training point's UFF energy) the guard rises with UFF
    near = atoms.positions[0] + np.array([[1.3, 0.0, 0.0], [1.25, 0.0, 0.0]])
    assert np.all(potential.uff_energy(near) > potential.guard)
    assert np.all(potential.energy(near) > plain.energy(near) + 1.0)


def test_saved_guard_loads_and_old_files_load_without_it(capped, tmp_path):
    atoms, surrogate = capped
    path = tmp_path / "li.zip"
    surrogate.save(path)
    loaded = Surrogate.load(path, atoms, "Li")
    assert loaded.potential.guard == surrogate.potential.guard
    # a file written before the guard: no guard_ev, its test predictions made without one
    from amorpha.engine.model_zip import read_model_zip, write_model_zip

    meta, arrays = read_model_zip(path, "amorpha-diffusion-surrogate", 2, "surrogate")
    del meta["guard_ev"]
    plain = SurrogatePotential(atoms, "Li", SOAP, 0.5, surrogate.potential.network)
    arrays["test_predicted"] = plain.energy(surrogate.test_positions)
    old = tmp_path / "old.zip"
    write_model_zip(old, meta, arrays)
    assert Surrogate.load(old, atoms, "Li").potential.guard is None

"""Per-atom EMT energy model: the fast radial descriptor against DScribe's ACSF, the shipped Cu
model against ASE's EMT on a boundary it never saw, files, bad input, cancel."""
import numpy as np
import pytest
from ase.calculators.emt import EMT

from amorpha.engine.build.bicrystal import BicrystalParams, build_bicrystal
from amorpha.engine.build.crystals import unit_cell
from amorpha.engine.build.polycrystal import PolycrystalParams, build_polycrystal
from amorpha.engine.descriptors import AcsfParams
from amorpha.engine.errors import ParameterError, ReadError
from amorpha.engine.gb import atomic_energy as ae
from amorpha.engine.tasks import Cancelled


def dscribe_acsf(atoms, params: AcsfParams, periodic: bool = True):
    from dscribe.descriptors import ACSF

    return ACSF(species=list(params.species), r_cut=params.r_cut,
                g2_params=[list(p) for p in params.g2_params], periodic=periodic).create(atoms)


@pytest.fixture(scope="module")
def model():
    return ae.default_model()


def test_radial_descriptor_equals_dscribe_acsf_across_chunks(monkeypatch):
    atoms = build_polycrystal(PolycrystalParams("Cu", box=(22.0, 24.0, 40.0), n_grains=3, seed=4))
    atoms.set_cell(atoms.cell.array + [[0, 0, 0], [3.0, 0, 0], [2.0, -1.5, 0]], scale_atoms=False)
    atoms.rattle(0.1, seed=1)
    params = ae.radial_descriptor(("Cu",), r_cut=5.0, n_radial=12)
    monkeypatch.setattr(ae, "CHUNK_ATOMS", 300)  # many chunks, pairs across them
    ours = ae.radial_features(atoms, params)
    theirs = dscribe_acsf(atoms, params)
    assert ours.shape == theirs.shape == (len(atoms), 13)
    np.testing.assert_allclose(ours, theirs, rtol=1e-6, atol=1e-9)


def test_radial_descriptor_equals_dscribe_for_two_species_and_any_periodicity():
    """Each pair is met once and written to both atoms' rows, in the other's species columns;
    a cell smaller than the cutoff gives atoms their own images; close pairs (below the first
    centre) and pairs in the last Gaussian's tail are covered."""
    rng = np.random.default_rng(3)
    atoms = unit_cell("Cu").repeat((3, 3, 2))
    atoms.set_cell(atoms.cell.array + [[0, 0, 0], [1.2, 0, 0], [0, 0.8, 0]], scale_atoms=False)
    atoms.rattle(0.25, seed=2)
    atoms.symbols[rng.choice(len(atoms), len(atoms) // 3, replace=False)] = "Ni"
    atoms.positions[1] = atoms.positions[0] + [1.1, 0.0, 0.0]  # closer than r_min
    params = ae.radial_descriptor(("Cu", "Ni"), r_cut=5.4, n_radial=16)
    for pbc in ((True, True, True), (True, True, False), (False, False, False)):
        atoms.pbc = pbc
        theirs = dscribe_acsf(atoms, params, periodic=any(pbc))
        np.testing.assert_allclose(ae.radial_features(atoms, params), theirs, rtol=1e-6, atol=1e-9)
    tiny = unit_cell("Cu")  # 3.6 Å cube: neighbours up to 5.4 Å are images, some of itself
    tiny.rattle(0.05, seed=0)
    params = ae.radial_descriptor(("Cu",), r_cut=5.4, n_radial=8, eta=3.0)  # wide Gaussians
    np.testing.assert_allclose(ae.radial_features(tiny, params), dscribe_acsf(tiny, params),
                               rtol=1e-6, atol=1e-9)


def test_kernel_arithmetic_matches_libm():
    """exp, tanh and the cosine cutoff in plain arithmetic (so that they vectorise)."""
    ae.warm_up()  # compiles the kernels at start-up (engine/warmup.py)
    x = np.concatenate([-np.geomspace(1e-12, 41.9, 4000), [0.0, -1e-300]])
    exact = np.exp(x)
    ours = np.array([ae._exp_neg(v) for v in x])
    np.testing.assert_allclose(ours, exact, rtol=4e-16, atol=0)
    assert ae._exp_neg(-1e4) < ae._NEGLIGIBLE and ae._exp_neg(5.0) == 1.0  # clamped
    v = np.concatenate([np.linspace(-30, 30, 6001), np.geomspace(1e-12, 1.0, 200)])
    np.testing.assert_allclose([ae._tanh(t) for t in v], np.tanh(v), rtol=0, atol=3e-16)
    r = np.linspace(0.0, 5.4, 5001)
    np.testing.assert_allclose([ae._cosine_cutoff(t, 5.4) for t in r],
                               0.5 * (np.cos(np.pi * r / 5.4) + 1.0), rtol=0, atol=1e-15)


def test_network_gives_scikit_learns_numbers(model):
    x, _ = model._training
    rng = np.random.default_rng(0)
    rows = np.vstack([x[rng.integers(0, len(x), 3000)], 5.0 * x[:50], np.zeros((7, x.shape[1]))])
    network, scaler = model._fitted["network"], model._fitted["scaler"]
    np.testing.assert_allclose(model.predict_features(rows),
                               network.predict(scaler.transform(rows)), rtol=0, atol=1e-12)


def test_radial_descriptor_refuses_what_it_cannot_compute():
    uneven = AcsfParams(("Cu",), r_cut=5.0, g2_params=((4.0, 2.0), (4.0, 2.5), (4.0, 3.5)))
    with pytest.raises(ParameterError, match="evenly spaced"):
        ae.radial_features(unit_cell("Cu"), uneven)
    angular = AcsfParams(("Cu",), r_cut=5.0, g2_params=((4.0, 2.0), (4.0, 2.5)),
                         g4_params=((0.01, 1.0, 1.0),))
    with pytest.raises(ParameterError, match="G1 and G2"):
        ae.radial_features(unit_cell("Cu"), angular)


def test_perfect_crystal_has_no_excess_energy(model):
    crystal = unit_cell("Cu").repeat(3)
    excess = ae.gb_energy_per_atom(crystal)
    assert np.abs(excess).max() < 0.005  # eV/atom; EMT's bulk energy is the zero
    assert model.e_bulk == pytest.approx(ae.emt_bulk_energy("Cu"), abs=1e-9)


@pytest.mark.parametrize("boundary", ae.TEST_BOUNDARIES, ids=lambda b: b.label)
def test_held_out_boundary_energies_match_emt(model, boundary):
    """A translation the model never saw of a boundary it never saw, relaxed with EMT."""
    assert boundary.label not in model.metrics["train_boundaries"]
    probe = build_bicrystal(BicrystalParams("Cu", axis=boundary.axis, sigma=boundary.sigma,
                                            plane=boundary.plane, bulk_thickness=9.0))
    shift = (0.37 * probe.cell[0, 0], 0.61 * probe.cell[1, 1], 0.2)
    atoms = build_bicrystal(BicrystalParams("Cu", axis=boundary.axis, sigma=boundary.sigma,
                                            plane=boundary.plane, bulk_thickness=9.0,
                                            translation=shift))
    relaxed = ae.relax_emt(atoms, snapshots=1)[-1]
    emt = relaxed.arrays["emt_energy"]
    predicted = model.predict(relaxed)
    assert np.abs(predicted - emt).mean() < 0.010  # the 10 meV/atom
    area = relaxed.info["boundary_area"]
    gamma_emt = ae.boundary_energy(emt - model.e_bulk, area)
    gamma_model = ae.boundary_energy(predicted - model.e_bulk, area)
    assert gamma_emt > 0.2
    assert abs(gamma_model - gamma_emt) < max(0.06, 0.05 * gamma_emt)  # J/m²


def test_unrelaxed_polycrystal_energies_follow_emt(model):
    atoms = build_polycrystal(PolycrystalParams("Cu", box=(26.0, 26.0, 26.0), n_grains=4, seed=3))
    atoms.calc = EMT()
    emt = atoms.get_potential_energies()
    predicted = model.predict(atoms)
    boundary = emt - model.e_bulk > 0.05
    assert boundary.sum() > 100
    assert np.abs(predicted - emt).mean() < 0.015
    assert np.corrcoef(predicted[boundary], emt[boundary])[0, 1] > 0.9


def test_save_load_and_refusals(tmp_path, model):
    path = tmp_path / "m.aemodel"
    model.save(path)
    again = ae.AtomicEnergyModel.load(path)
    crystal = build_bicrystal(BicrystalParams("Cu", bulk_thickness=6.0))
    np.testing.assert_allclose(again.predict(crystal), model.predict(crystal), atol=1e-12)
    assert again.descriptor == model.descriptor and again.metrics == model.metrics
    (tmp_path / "bad.aemodel").write_bytes(b"not a zip")
    with pytest.raises(ReadError, match="not an Amorpha atomic-energy model: Amorpha saves those as zip archives"):
        ae.AtomicEnergyModel.load(tmp_path / "bad.aemodel")
    with pytest.raises(ReadError, match="no such file"):
        ae.AtomicEnergyModel.load(tmp_path / "missing.aemodel")
    alloy = crystal.copy()
    alloy.symbols[0] = "Ni"
    with pytest.raises(ae.ModelMismatchError, match="Ni"):
        model.predict(alloy)
    with pytest.raises(ParameterError, match="EMT has no parameters"):
        ae.emt_bulk_energy("Si")


def test_retrained_model_after_library_change_predicts_the_same(tmp_path, model, monkeypatch):
    """Another scikit-learn version refits from the stored data (same seed, same network)."""
    import zipfile, json

    path = tmp_path / "m.aemodel"
    model.save(path)
    with zipfile.ZipFile(path) as zf:
        files = {n: zf.read(n) for n in zf.namelist()}
    meta = json.loads(files["meta.json"])
    meta["sklearn"] = "0.0"
    files["meta.json"] = json.dumps(meta).encode()
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in files.items():
            zf.writestr(name, data)
    crystal = unit_cell("Cu").repeat(2)
    crystal.rattle(0.05, seed=0)
    refit = ae.AtomicEnergyModel.load(path)
    assert np.abs(refit.predict(crystal) - model.predict(crystal)).max() < 0.003


def test_threads_give_the_same_energies(model, monkeypatch):
    """Slabs of bins in two phases (even, then odd) never write to the same atoms at once."""
    atoms = build_polycrystal(PolycrystalParams("Cu", box=(36.0, 22.0, 22.0), n_grains=3, seed=2))
    atoms.rattle(0.05, seed=3)
    monkeypatch.setattr(ae, "CHUNK_ATOMS", 200)
    grid = ae._RadialGrid.build(atoms, 5.4)
    phases = grid.phases(3, ae.CHUNK_ATOMS)
    assert len(phases) == 2 and [len(p) for p in phases] == [3, 3]
    serial = model.predict(atoms, threads=1)
    np.testing.assert_allclose(model.predict(atoms, threads=3), serial, rtol=0, atol=1e-12)
    assert len(ae._RadialGrid.build(unit_cell("Cu"), 5.4).phases(3, 100)) == 1  # too thin
    with pytest.raises(ParameterError, match="threads"):
        model.predict(atoms, threads=0)


@pytest.mark.parametrize("threads", [1, 2])
def test_progress_and_cancel(model, monkeypatch, threads):
    atoms = build_polycrystal(PolycrystalParams("Cu", box=(30.0, 30.0, 30.0), n_grains=3, seed=0))
    monkeypatch.setattr(ae, "CHUNK_ATOMS", 500)
    monkeypatch.setattr(ae, "PREDICT_CHUNK", 500)
    seen = []
    model.predict(atoms, progress=lambda f, m: seen.append(f), threads=threads)
    assert seen[-1] == 1.0 and all(b >= a for a, b in zip(seen, seen[1:]))
    calls = []

    def cancel():
        calls.append(1)
        return len(calls) > 3

    with pytest.raises(Cancelled):
        model.predict(atoms, cancel=cancel, threads=threads)

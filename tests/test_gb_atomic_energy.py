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


def dscribe_acsf(atoms, params: AcsfParams):
    from dscribe.descriptors import ACSF

    return ACSF(species=list(params.species), r_cut=params.r_cut,
                g2_params=[list(p) for p in params.g2_params], periodic=True).create(atoms)


@pytest.fixture(scope="module")
def model():
    return ae.default_model()


def test_radial_descriptor_equals_dscribe_acsf_across_slabs(monkeypatch):
    atoms = build_polycrystal(PolycrystalParams("Cu", box=(22.0, 24.0, 40.0), n_grains=3, seed=4))
    atoms.set_cell(atoms.cell.array + [[0, 0, 0], [3.0, 0, 0], [2.0, -1.5, 0]], scale_atoms=False)
    atoms.rattle(0.1, seed=1)
    params = ae.radial_descriptor(("Cu",), r_cut=5.0, n_radial=12)
    monkeypatch.setattr(ae, "SLAB_ATOMS", 300)  # many thin slabs, halos wrapping the cell
    ours = ae.radial_features(atoms, params)
    theirs = dscribe_acsf(atoms, params)
    assert ours.shape == theirs.shape == (len(atoms), 13)
    np.testing.assert_allclose(ours, theirs, rtol=1e-6, atol=1e-9)


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
    with pytest.raises(ReadError, match="not an Amorpha atomic-energy model"):
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


def test_progress_and_cancel(model, monkeypatch):
    atoms = build_polycrystal(PolycrystalParams("Cu", box=(30.0, 30.0, 30.0), n_grains=3, seed=0))
    monkeypatch.setattr(ae, "SLAB_ATOMS", 500)
    seen = []
    model.predict(atoms, progress=lambda f, m: seen.append(f))
    assert seen[-1] == 1.0 and all(b >= a for a, b in zip(seen, seen[1:]))
    calls = []

    def cancel():
        calls.append(1)
        return len(calls) > 3

    with pytest.raises(Cancelled):
        model.predict(atoms, cancel=cancel)

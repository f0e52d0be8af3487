"""Engine side of the training follow-ups: learning curves written as CSV that say what their
error is, the reference spectra a trained model learnt read back per atom, and a project that
keeps which atoms its model learnt from (old projects without them still open) and names itself
as the model's source."""
import csv
import json
import zipfile

import numpy as np
import pytest
from ase.build import bulk

from amorpha.engine.descriptors import SoapParams
from amorpha.engine.errors import ParameterError, ReadError
from amorpha.engine.project import Project, load_project, save_project
from amorpha.engine.spectra import SiteSpectra
from amorpha.engine.surrogate.active import ActiveLearner, ActiveParams, LearningCurve, write_learning_curves
from amorpha.engine.surrogate.pipeline import CURVE_OF_HELD_OUT, training_spectra

ENERGY = np.linspace(0, 10, 21)


def read_csv(path):
    with open(path, encoding="utf-8") as f:
        lines = f.read().splitlines()
    return ([line for line in lines if line.startswith("#")],
            list(csv.reader(line for line in lines if not line.startswith("#"))))


def test_learning_curves_are_written_one_column_per_strategy_with_what_the_error_is(tmp_path):
    curves = {"active (farthest)": LearningCurve("farthest", [8, 12, 16], [0.05, 0.03, 0.02]),
              "random": LearningCurve("random", [8, 12, 15], [0.05, 0.045, 0.04]),  # a failed site: 15
              "empty": LearningCurve("variance")}
    write_learning_curves(tmp_path / "c.csv", curves, CURVE_OF_HELD_OUT, ["plot: active vs random"])
    comments, table = read_csv(tmp_path / "c.csv")
    assert any("RMSE" in c and "intensity units" in c and "measured on held-out sites" in c for c in comments)
    assert "# plot: active vs random" in comments
    assert table == [["calculator calls", "RMSE active (farthest)", "RMSE random"],
                     ["8", "0.05", "0.05"], ["12", "0.03", "0.045"], ["15", "", "0.04"], ["16", "0.02", ""]]
    with pytest.raises(ParameterError, match="nothing to export"):
        write_learning_curves(tmp_path / "none.csv", {"empty": LearningCurve("random")}, CURVE_OF_HELD_OUT)


def test_a_copy_of_a_curve_does_not_grow_with_it():
    curve = LearningCurve("random", [3], [0.1])
    snapshot = curve.copy()
    curve.calls.append(5)
    curve.rmse.append(0.05)
    assert snapshot.calls == [3] and snapshot.rmse == [0.1]


def learnt_model():
    """An active learner's model on 30 sites, the spectra it was given and its labelled rows."""
    x = np.random.default_rng(1).normal(size=(30, 4))
    y = np.exp(-0.5 * (ENERGY[None, :] - 5 - x[:, :1]) ** 2)
    soap = SoapParams(species=("Si",), n_max=1, l_max=3).to_dict()  # 4 features, as x has
    learner = ActiveLearner(x, ActiveParams(strategy="farthest", n_initial=4, batch=2, max_calls=10,
                                            regressor="ridge"), soap)
    learner.run(lambda rows: SiteSpectra(ENERGY, y[rows], rows, "Si", "K", "rule"))
    return learner.model, y, np.array(learner.labelled)


def test_a_trained_models_reference_spectra_are_read_back_per_atom():
    model, y, labelled = learnt_model()
    atoms = 100 + 3 * labelled  # the structure's atom of each pool row
    spectra = training_spectra(model, atoms)
    np.testing.assert_array_equal(spectra.sites, atoms)
    np.testing.assert_array_equal(spectra.intensity, y[labelled])  # each atom's own, in the learner's order
    np.testing.assert_array_equal(spectra.energy, model.energy)
    assert (spectra.element, spectra.edge, spectra.source) == ("Si", "K", "rule")
    model.onset_at = {"ev": 1.5, "from": "a measured peak"}
    assert training_spectra(model, atoms).meta["onset_at_ev"] == 1.5  # placed as its predictions are
    assert training_spectra(model, atoms[:-1]) is None  # not this model's training rows


def project_with_sites(sites):
    model, _, labelled = learnt_model()
    structure = bulk("Si", "diamond", 5.43, cubic=True).repeat((2, 2, 2))  # 64 atoms
    return Project(structures={"model": structure}, models={"surrogate": model},
                   trained_sites={} if sites is None else {"surrogate": ("model", sites)})


def test_a_project_keeps_the_atoms_its_model_learnt_from(tmp_path):
    sites = np.array([5, 9, 2, 40, 63, 0, 7, 8, 11, 12])
    save_project(project_with_sites(sites), tmp_path / "p.amorpha")
    back = load_project(tmp_path / "p.amorpha")
    structure, atoms = back.trained_sites["surrogate"]
    assert structure == "model" and atoms.dtype == np.int64
    np.testing.assert_array_equal(atoms, sites)  # in the training rows' order
    with zipfile.ZipFile(tmp_path / "p.amorpha") as zf:
        entry = json.loads(zf.read("project.json"))["models"][0]
    assert entry["trained_on"] == {"structure": "model", "atoms": sites.tolist()}

    save_project(project_with_sites(None), tmp_path / "old.amorpha")  # as projects were written before
    with zipfile.ZipFile(tmp_path / "old.amorpha") as zf:
        assert "trained_on" not in json.loads(zf.read("project.json"))["models"][0]
    assert load_project(tmp_path / "old.amorpha").trained_sites == {}


@pytest.mark.parametrize("sites, reason", [
    (np.array([1, 64]), r"atom 64 is not one of the structure 'model' \(atoms 0 to 63\)"),
    (np.array([1.5, 2.0]), "its atoms are not a list of whole numbers"),
])
def test_sites_a_structure_lacks_are_refused_before_writing(tmp_path, sites, reason):
    with pytest.raises(ParameterError, match=reason):
        save_project(project_with_sites(sites), tmp_path / "p.amorpha")
    project = project_with_sites(np.array([1, 2]))
    project.trained_sites = {"other": ("model", np.array([1]))}
    with pytest.raises(ParameterError, match="names of the project's models, not 'other'"):
        save_project(project, tmp_path / "p.amorpha")
    assert not (tmp_path / "p.amorpha").exists()


@pytest.mark.parametrize("trained_on, reason", [
    ({"structure": "model", "atoms": [1, 99]}, r"atom 99 is not one of the structure 'model' \(atoms 0 to 63\)"),
    ({"structure": "gone", "atoms": [1]}, "its structure 'gone' is not one of the project's"),
    ({"structure": "model", "atoms": [1, "2"]}, "its atoms are not a list of whole numbers"),
    ([1, 2], "its atoms are not a list of whole numbers"),
])
def test_damaged_trained_sites_are_named_when_read(tmp_path, trained_on, reason):
    save_project(project_with_sites(np.array([1, 2])), tmp_path / "p.amorpha")
    with zipfile.ZipFile(tmp_path / "p.amorpha") as zf:
        members = {n: zf.read(n) for n in zf.namelist()}
    doc = json.loads(members["project.json"])
    doc["models"][0]["trained_on"] = trained_on
    members["project.json"] = json.dumps(doc).encode()
    with zipfile.ZipFile(tmp_path / "bad.amorpha", "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    with pytest.raises(ReadError, match=f"project.json names the sites model 'surrogate' learnt from wrongly: "
                                        f"{reason}"):
        load_project(tmp_path / "bad.amorpha")


def test_a_projects_model_says_it_was_read_from_the_project(tmp_path):
    save_project(project_with_sites(None), tmp_path / "p.amorpha")
    model = load_project(tmp_path / "p.amorpha").models["surrogate"]
    assert model.source_path == str(tmp_path / "p.amorpha")
    assert model.written_by == __import__("amorpha.engine", fromlist=["x"]).__version__

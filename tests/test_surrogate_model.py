"""Surrogate models and active learning on spectra with known answers (made here, no calculator)."""
import json
import zipfile

import numpy as np
import pytest

from amorpha.engine.descriptors import SoapParams
from amorpha.engine.errors import ParameterError, ReadError
from amorpha.engine.spectra import SiteSpectra
from amorpha.engine.spectra.spectrum import SpectrumError
from amorpha.engine.surrogate import metrics
from amorpha.engine.surrogate.active import (ActiveLearner, ActiveParams, _farthest_first,
                                              check_queries, export_queries, exported_rows, import_results,
                                              queries_edge)
from amorpha.engine.surrogate.model import ModelMismatchError, SpectrumModel, SurrogateParams, cross_validate
from amorpha.engine.tasks import Cancelled

ENERGY = np.linspace(0.0, 30.0, 151)


def peaks(x):
    """A white line whose position and width follow the first two features, and a weaker peak."""
    pos = 10 + 3 * np.tanh(x[:, 0])
    width = 1.0 + 0.3 * x[:, 1] ** 2
    main = np.exp(-0.5 * ((ENERGY - pos[:, None]) / width[:, None]) ** 2)
    return main + 0.3 * np.exp(-0.5 * ((ENERGY - 20 - x[:, 2, None]) / 2) ** 2)


#: a whole descriptor's settings, for models that are saved and read again: 4 features per site,
#: as many as data() makes (a model file whose settings give another number is refused)
SOAP = SoapParams(species=("Si",), n_max=1, l_max=3).to_dict()


def data(n, seed=0, dims=4):
    x = np.random.default_rng(seed).uniform(-1.5, 1.5, (n, dims))
    return x, SiteSpectra(ENERGY, peaks(x), np.arange(n), "Si", "K", "synthetic")


def test_metrics_known_values():
    a = np.exp(-0.5 * (ENERGY - 10) ** 2)[None]
    shifted = np.exp(-0.5 * (ENERGY - 12) ** 2)[None]
    assert metrics.cosine_similarity(a, 3 * a)[0] == pytest.approx(1.0)
    assert metrics.peak_position_error(ENERGY, a, shifted)[0] == pytest.approx(2.0)
    assert metrics.r2_score(np.vstack([a, shifted]), np.vstack([a, shifted])) == 1.0
    m = metrics.spectrum_metrics(ENERGY, np.vstack([a, shifted]), np.vstack([a, a]))
    assert m["peak_error_ev"] == pytest.approx(1.0) and m["n"] == 2


def test_both_r2_agree_with_scikit_learn():
    from sklearn.metrics import r2_score

    ref = peaks(np.random.default_rng(3).uniform(-1.5, 1.5, (12, 4)))
    pred = ref + np.random.default_rng(4).normal(0, 0.05, ref.shape)
    assert metrics.r2_score(ref, pred) == pytest.approx(r2_score(ref, pred, multioutput="variance_weighted"))
    np.testing.assert_allclose(metrics.r2_per_spectrum(ref, pred), [r2_score(r, p) for r, p in zip(ref, pred)])
    # Sites that all look alike: the between-site R² is poor while each spectrum is well matched.
    alike = np.tile(ref[0], (12, 1)) * np.linspace(0.98, 1.02, 12)[:, None]
    m = metrics.spectrum_metrics(ENERGY, alike, np.tile(alike.mean(axis=0), (12, 1)))
    assert m["r2"] < 0.01 and m["r2_per_spectrum"] > 0.99 and m["cosine_mean"] > 0.999


@pytest.mark.parametrize("regressor", ["ridge", "kernel_ridge", "gp", "mlp"])
def test_every_regressor_learns_a_smooth_map(regressor):
    x, y = data(300)
    xt, yt = data(100, seed=1)
    model = SpectrumModel.train(x, y, {"kind": "test"}, SurrogateParams(regressor=regressor))
    m = metrics.spectrum_metrics(ENERGY, yt.intensity, model.predict(xt))
    floor = {"ridge": 0.5, "kernel_ridge": 0.95, "gp": 0.97, "mlp": 0.9}[regressor]
    assert m["r2"] > floor, m
    if regressor != "ridge":
        assert m["cosine_mean"] > 0.98 and m["peak_error_ev"] < 0.3, m


def test_gp_uncertainty_grows_away_from_the_data():
    x, y = data(60)
    model = SpectrumModel.train(x, y, {}, SurrogateParams(regressor="gp"))
    _, near = model.predict(x[:5] + 0.01, return_std=True)
    _, far = model.predict(x[:5] + 6.0, return_std=True)
    assert np.all(far > 5 * near)
    _, none = SpectrumModel.train(x, y, {}, SurrogateParams(regressor="ridge")).predict(x, return_std=True)
    assert none is None


def test_cross_validation_predicts_every_site_once():
    x, y = data(120)
    cv = cross_validate(x, y, SurrogateParams(regressor="kernel_ridge"), folds=4)
    assert cv["n"] == 120 and cv["folds"] == 4 and cv["r2"] > 0.8
    x, y = data(3)
    with pytest.raises(ParameterError, match="fold 1 of 3 leaves 2 of 3 sites to train on; a model needs three"):
        cross_validate(x, y, SurrogateParams(regressor="ridge"), folds=3)


def test_model_refuses_other_descriptor_settings_and_feature_counts():
    x, y = data(40)
    model = SpectrumModel.train(x, y, {"kind": "soap", "r_cut": 5.0}, SurrogateParams(regressor="ridge"))
    model.predict(x, {"kind": "soap", "r_cut": 5.0})
    with pytest.raises(ModelMismatchError, match="r_cut: model 5.0, given 6.0"):
        model.predict(x, {"kind": "soap", "r_cut": 6.0})
    with pytest.raises(ModelMismatchError, match="3 features per site"):
        model.predict(x[:, :3])


def test_bad_parameters_name_the_parameter():
    with pytest.raises(ParameterError, match="regressor"):
        SurrogateParams(regressor="forest").validate()
    with pytest.raises(ParameterError, match="n_components"):
        SurrogateParams(n_components=0).validate()
    x, y = data(10)
    with pytest.raises(ParameterError, match="features"):
        SpectrumModel.train(x[:5], y, {})


def rewrite(path, out, meta_change=None, drop=(), add=None):
    """A copy of the model zip ``path`` at ``out`` with its meta updated and members dropped or added."""
    with zipfile.ZipFile(path) as zf:
        parts = {n: zf.read(n) for n in zf.namelist() if n not in drop}
    meta = json.loads(parts["meta.json"])
    meta.update(meta_change or {})
    parts["meta.json"] = json.dumps(meta).encode()
    parts.update(add or {})
    with zipfile.ZipFile(out, "w") as zf:
        for name, blob in parts.items():
            zf.writestr(name, blob)
    return out


def test_a_gaussian_process_is_saved_as_data_and_hyperparameters(tmp_path):
    x, y = data(50)
    model = SpectrumModel.train(x, y, SOAP, SurrogateParams(regressor="gp"))
    path = tmp_path / "m.amodel"
    model.save(path)
    with zipfile.ZipFile(path) as zf:
        assert zf.namelist() == ["meta.json", "training.npz"]
        meta = json.loads(zf.read("meta.json"))
    fitted = model._fitted["parts"][None]["regressor"].kernel_.theta
    assert meta["version"] == 2 and meta["gp_theta"] == {"all": fitted.tolist()}
    again = SpectrumModel.load(path)
    assert again.descriptor == SOAP and again.element == "Si" and again.edge == "K"
    # Rebuilt with the same hyperparameters: the same numbers to the last bit, whatever scikit-learn.
    for other in (again, SpectrumModel.load(rewrite(path, tmp_path / "o.amodel", {"sklearn": "0.0.1"}))):
        for got, want in zip(other.predict(x, return_std=True), model.predict(x, return_std=True)):
            np.testing.assert_array_equal(got, want)
    bad = rewrite(path, tmp_path / "bad.amodel", {"gp_theta": {"all": [0.1, 0.2]}})
    with pytest.raises(ReadError, match="damaged.*gp_theta.*3 finite kernel hyperparameters"):
        SpectrumModel.load(bad)
    bad = rewrite(path, tmp_path / "bad.amodel", {"gp_theta": {"all": [1e300, *fitted[1:].tolist()]}})
    with pytest.raises(ReadError, match="damaged.*gp_theta.*within ±50"):  # was NaN predictions
        SpectrumModel.load(bad)
    bad = rewrite(path, tmp_path / "bad.amodel", {"gp_theta": {"all": fitted.tolist(), "3": fitted.tolist()}})
    with pytest.raises(ReadError, match="damaged.*one set of hyperparameters per fitted part"):
        SpectrumModel.load(bad)


@pytest.mark.parametrize("regressor", ["ridge", "kernel_ridge", "mlp"])
def test_a_fitted_model_is_saved_without_pickle_and_refitted_under_another_sklearn(tmp_path, regressor):
    x, y = data(50)
    model = SpectrumModel.train(x, y, SOAP, SurrogateParams(regressor=regressor))
    path = tmp_path / "m.amodel"
    model.save(path)
    with zipfile.ZipFile(path) as zf:
        assert zf.namelist() == ["meta.json", "model.skops", "training.npz"]
    again = SpectrumModel.load(path)
    np.testing.assert_array_equal(again.predict(x), model.predict(x))
    assert again.refitted == ""
    # A file written under another scikit-learn is refitted from its training data: same answers.
    other = rewrite(path, tmp_path / "other.amodel", {"sklearn": "0.0.1"}, drop=("model.skops",),
                    add={"model.skops": b"not a skops file"})
    again = SpectrumModel.load(other)
    np.testing.assert_allclose(again.predict(x), model.predict(x), atol=1e-6)
    assert again.refitted.startswith("written with scikit-learn 0.0.1, this is ")


class Payload:
    """What a hostile model file would carry: unpickling it runs code (sets a flag here)."""

    def __reduce__(self):
        return exec, ("import builtins; builtins.amorpha_payload_ran = True",)


def test_a_model_file_cannot_run_code(tmp_path):
    """Model files are shared; a pickle in one (files of earlier versions kept ``model.pkl``) is
    never unpickled, and a fitted member naming types Amorpha never writes is refused unbuilt."""
    import builtins
    import pickle

    import skops.io

    x, y = data(50)
    model = SpectrumModel.train(x, y, SOAP, SurrogateParams(regressor="ridge"))
    path = tmp_path / "m.amodel"
    model.save(path)
    old = rewrite(path, tmp_path / "old.amodel", drop=("model.skops",), add={"model.pkl": pickle.dumps(Payload())})
    refitted = SpectrumModel.load(old)
    np.testing.assert_allclose(refitted.predict(x), model.predict(x), atol=1e-6)
    assert "never read" in refitted.refitted  # the window says the model was refitted, and why
    hostile = {"parts": {"all": {"scaler": Payload()}}, "n_features": 4}
    bad = rewrite(path, tmp_path / "bad.amodel", drop=("model.skops",), add={"model.skops": skops.io.dumps(hostile)})
    with pytest.raises(ReadError, match=r"damaged.*names types Amorpha never writes \(.*Payload\)"):
        SpectrumModel.load(bad)
    bad = rewrite(path, tmp_path / "bad.amodel", drop=("model.skops",), add={"model.skops": b"PK\x03\x04 cut"})
    with pytest.raises(ReadError, match="damaged.*fitted model cannot be read"):
        SpectrumModel.load(bad)
    assert not hasattr(builtins, "amorpha_payload_ran")


def test_a_fitted_member_that_loads_but_cannot_predict_is_refused_when_read(tmp_path):
    """Found by fuzzing model.skops: an estimator stored without its fitted arrays loads, and
    failed only at the first prediction."""
    import skops.io
    from sklearn.preprocessing import StandardScaler

    x, y = data(50)
    model = SpectrumModel.train(x, y, SOAP, SurrogateParams(regressor="ridge"))
    path = tmp_path / "m.amodel"
    model.save(path)
    part = {**model._fitted["parts"][None], "scaler": StandardScaler()}  # never fitted
    broken = skops.io.dumps({"parts": {"all": part}, "n_features": 4})
    with pytest.raises(ReadError, match="damaged"):
        SpectrumModel.load(rewrite(path, tmp_path / "bad.amodel", drop=("model.skops",), add={"model.skops": broken}))


def test_damaged_or_future_model_files_give_a_clear_error(tmp_path):
    bad = tmp_path / "bad.amodel"
    bad.write_bytes(b"PK\x03\x04 truncated")  # a zip cut short (the audit's "not a zip" misled)
    with pytest.raises(ReadError, match="damaged or incomplete model file"):
        SpectrumModel.load(bad)
    x, y = data(20)
    path = tmp_path / "m.amodel"
    SpectrumModel.train(x, y, SOAP, SurrogateParams(regressor="ridge")).save(path)
    with pytest.raises(ReadError, match="newer Amorpha"):
        SpectrumModel.load(rewrite(path, tmp_path / "future.amodel", {"version": 99}))
    for damaged in ({"ev": "high"}, {"from": "a peak"}, {"ev": float("nan"), "from": "a peak"}):
        with pytest.raises(ReadError, match="damaged"):  # refused when read, not when placing
            SpectrumModel.load(rewrite(path, tmp_path / "tie.amodel", {"onset_at": damaged}))
    # damaged descriptor settings: refused when read (were a TypeError at the first prediction)
    for damaged, reason in (({**SOAP, "species": ["O", None]}, "species"),
                            ({"kind": "grouped", "element": None, "inner": SOAP}, "element")):
        with pytest.raises(ReadError, match=f"damaged.*{reason}"):
            SpectrumModel.load(rewrite(path, tmp_path / "descriptor.amodel", {"descriptor": damaged}))
    with pytest.raises(ReadError, match="damaged.*element and edge"):
        SpectrumModel.load(rewrite(path, tmp_path / "element.amodel", {"element": [14]}))


@pytest.fixture(scope="module")
def saved_model(tmp_path_factory):
    """A small real model file, as the project writes it, with the metrics a trained one carries:
    the one the damaged copies below are edited from."""
    x, y = data(20)
    model = SpectrumModel.train(x, y, SOAP, SurrogateParams(regressor="ridge"))
    model.metrics = {"r2": 0.9, "cosine_mean": 0.98, "peak_error_ev": 0.5, "n": 20, "measured_on": "a test",
                     "learning_curve": {"calls": [10, 20], "rmse": [0.05, 0.03]},
                     "calculator": {"calculator": "xtb", "cluster_radius": 5.0, "core_hole": True}}
    path = tmp_path_factory.mktemp("model") / "m.amodel"
    model.save(path)
    return path


def edited(path, out, edit):
    """A copy of the model file ``path`` at ``out`` with its meta changed in place by ``edit``."""
    with zipfile.ZipFile(path) as zf:
        meta = json.loads(zf.read("meta.json"))
    edit(meta)
    return rewrite(path, out, meta)


@pytest.mark.parametrize("edit, reason", [
    (lambda m: m.update(metrics=[1, 2]), "metrics: a table of named scores, got list"),
    (lambda m: m["metrics"].update(learning_curve="oops"), "metrics.learning_curve"),
    (lambda m: m["metrics"].update(learning_curve={"foo": 1}), "metrics.learning_curve"),
    (lambda m: m["metrics"].update(learning_curve={"calls": [10], "rmse": [0.1, 0.2]}), "metrics.learning_curve"),
    (lambda m: m["metrics"].update(learning_curve={"calls": ["ten"], "rmse": [0.1]}), "metrics.learning_curve"),
    (lambda m: m["metrics"].update(calculator=[5.0]), "metrics.calculator"),
    (lambda m: m["metrics"]["calculator"].update(cluster_radius="big"), "metrics.calculator.*cluster_radius"),
    (lambda m: m["metrics"]["calculator"].update(cluster_radius=-5.0), "metrics.calculator.*cluster_radius"),
    (lambda m: m["metrics"].update(cosine_mean="high"), "metrics.cosine_mean"),
    (lambda m: m["metrics"].pop("peak_error_ev"), "metrics.peak_error_ev"),
    (lambda m: m["metrics"].update(measured_on=5), "metrics.measured_on"),
    (lambda m: m["metrics"].update(descriptor_cv=3), "metrics.descriptor_cv"),
])
def test_metrics_the_window_reads_are_checked_when_read(tmp_path, saved_model, edit, reason):
    """The window reads these metrics on the GUI thread (the summary, the stored learning curve,
    the calculator settings new xTB runs take): an edited one of the wrong type was accepted, then
    raised TypeError or AttributeError there. Refused when read, naming the key."""
    with pytest.raises(ReadError, match=f"damaged \\({reason}"):
        SpectrumModel.load(edited(saved_model, tmp_path / "bad.amodel", edit))


def test_the_saved_metrics_are_read_as_the_window_uses_them(saved_model):
    """The checks refuse only what the window cannot use: what a trained model saves reads back."""
    from amorpha.engine.surrogate.active import LearningCurve

    model = SpectrumModel.load(saved_model)
    assert LearningCurve("stored", **model.metrics["learning_curve"]).calls_to_reach(0.04) == 20
    assert model.metrics["calculator"]["cluster_radius"] == 5.0


@pytest.mark.parametrize("descriptor, reason", [
    ({**SOAP, "r_cut": 1e6}, "r_cut: must be a number greater than 1 Å and at most 20 Å, got 1000000.0"),
    ({"kind": "grouped", "element": "O", "inner": {**SOAP, "r_cut": 1e6}}, "r_cut: .*at most 20 Å"),
    ({"kind": "grouped", "element": "O", "cutoffs": [["O", "Si", 1e6]], "inner": SOAP},
     "cutoffs: O–Si cutoff must be from 0 to 20 Å"),
    ({"kind": "nonsense"}, "kind: unknown descriptor kind 'nonsense'; known: soap, acsf, local, wacsf, grouped"),
    ({}, "kind: unknown descriptor kind None"),
    ({**SOAP, "n_max": 2}, "descriptor: its settings give 12 features per site, but it was trained on 4"),
])
def test_descriptor_settings_are_read_through_the_settings_checks(tmp_path, saved_model, descriptor, reason):
    """A model's descriptor settings get the checks a user's settings get (a 1e6 Å cutoff, of SOAP
    or of the grouping's bonds, loaded, then asked for 1.25 PiB when predicting; an unknown kind was
    refused for an unrelated reason), and must give as many features as it was trained on (an
    edited n_max loaded and replaced the model in use, then could not predict)."""
    with pytest.raises(ReadError, match=f"damaged \\({reason}"):
        SpectrumModel.load(edited(saved_model, tmp_path / "bad.amodel", lambda m: m.update(descriptor=descriptor)))
    with pytest.raises(ParameterError, match="r_cut"):  # the same bound on a user's SOAP settings
        SoapParams(species=("O", "Si"), r_cut=25.0).validate()


@pytest.mark.parametrize("element, reason", [("Xx", "'Xx' is not a chemical element"),
                                             ("X", "'X' is not a chemical element"),
                                             ("", "'' is not a chemical element")])
def test_a_model_for_no_element_is_refused(tmp_path, saved_model, element, reason):
    """A model whose element is no element predicted nothing and said the structure lacks it."""
    with pytest.raises(ReadError, match=f"damaged \\(element: {reason}"):
        SpectrumModel.load(edited(saved_model, tmp_path / "bad.amodel", lambda m: m.update(element=element)))
    assert SpectrumModel.load(edited(saved_model, tmp_path / "si.amodel", lambda m: m.update(element="si"))).element == "Si"


def _grid_of_strings(meta):
    meta["energy"] = [str(e) for e in meta["energy"]]


def _grid_with_a_bool(meta):
    meta["energy"][0] = False  # 0.0 eV, the grid's first point, written as a boolean


def _grid_with_nan(meta):
    meta["energy"][5] = float("nan")


def _grid_reversed(meta):
    meta["energy"].reverse()


@pytest.mark.parametrize("edit, reason", [
    (lambda m: m.update(energy="0 0.2 0.4"), "energy: a list of numbers in eV, got '0 0.2 0.4'"),
    (_grid_of_strings, "energy: a list of numbers in eV, got \\['0.0', '0.2'"),
    (_grid_with_a_bool, "energy: a list of numbers in eV, got \\[False, 0.2"),
    (_grid_with_nan, "energy, the model's energy grid: energy point 5 is NaN or infinite"),
    (_grid_reversed, "energy, the model's energy grid: the energy axis must increase"),
    (lambda m: m.update(axis=["CASTEP/OptaDOS"]), "axis: the name of the energy scale, got \\['CASTEP/OptaDOS'\\]"),
    (lambda m: m.update(axis=None), "axis: the name of the energy scale, got None"),
    (lambda m: m.update(axis=5), "axis: the name of the energy scale, got 5"),
    (lambda m: m.update(reference=["xtb"]), "reference: the name of the calculator or code, got \\['xtb'\\]"),
    (lambda m: m.update(reference=None), "reference: the name of the calculator or code, got None"),
    (lambda m: m.update(reference={"code": "xtb"}), "reference: the name of the calculator or code"),
])
def test_the_energy_grid_axis_and_reference_are_checked_when_read(tmp_path, saved_model, edit, reason):
    """A grid of numeric strings or with a boolean loaded (numpy reads them as numbers), and an
    ``axis`` or ``reference`` of any type loaded too: ``axis`` came out as the scale "None" or
    "[1, 2]", which every prediction then carried. Refused when read, naming the field."""
    with pytest.raises(ReadError, match=f"damaged \\({reason}"):
        SpectrumModel.load(edited(saved_model, tmp_path / "bad.amodel", edit))


def test_a_model_with_a_named_energy_scale_reads_back(tmp_path, saved_model):
    """The checks refuse only what the window cannot use: an axis and a reference that are names."""
    model = SpectrumModel.load(edited(saved_model, tmp_path / "castep.amodel",
                                      lambda m: m.update(axis="CASTEP/OptaDOS", reference="CASTEP")))
    assert (model.axis, model.reference) == ("CASTEP/OptaDOS", "CASTEP")
    assert model.energy[0] == 0.0 and model.energy.dtype == np.float64

def test_a_tie_is_kept_only_by_an_untied_model_of_the_same_edge_and_calculator():
    """A model trained with the same calculator settings as a tied one (the tblite version aside)
    takes its tie; another edge, other settings, no stored calculator or a tie of its own: not."""
    from dataclasses import replace

    from amorpha.engine.spectra import Spectrum

    x, y = data(20)
    settings = {"calculator": "xtb", "tblite": "0.8.0", "cluster_radius": 5.0, "core_hole": True}

    def trained(element="Si", stored=True, **changes):
        model = SpectrumModel.train(x, replace(y, element=element), {}, SurrogateParams(regressor="ridge"))
        if stored:
            model.metrics["calculator"] = {**settings, **changes}
        return model

    average = Spectrum(ENERGY, peaks(x[:1])[0])
    tied = trained()
    at = tied.tie_onset(average, 1847.0, "a-SiO2")
    same = trained(tblite="0.9.0")
    assert same.inherit_tie(tied) and same.onset_at["ev"] == at
    assert same.onset_at["from"].startswith(tied.onset_at["from"]) and "same calculator settings" in same.onset_at["from"]
    for other in (trained(cluster_radius=4.0), trained(core_hole=False), trained("O"), trained(stored=False)):
        assert not other.inherit_tie(tied) and other.onset_at is None
    assert not trained().inherit_tie(trained()) and not trained().inherit_tie(None)  # nothing to take
    own = trained()
    own.tie_onset(average, 1850.0, "quartz")
    assert not own.inherit_tie(tied) and "quartz" in own.onset_at["from"]
    # the Si L2,3 energy typed for Si K: refused, the tie as it was
    with pytest.raises(ParameterError, match="99.8 eV cannot be this Si K peak: the edge starts at 1839"):
        own.tie_onset(average, 99.8, "quartz")
    assert "quartz" in own.onset_at["from"] and abs(own.onset_at["ev"]) < 30
    # settings stored before radius_spread existed (the built-in O K model) against those of a
    # model trained now with them, which name its default: the same calculation
    assert trained(radius_spread=0.0, radius_points=3).inherit_tie(tied)
    assert not trained(radius_spread=0.2, radius_points=3).inherit_tie(tied)


def test_farthest_first_picks_the_corners_of_a_square():
    grid = np.array([[i, j] for i in range(5) for j in range(5)], dtype=float)
    picks = _farthest_first(grid, grid[[0]], 3)  # (0, 0) already chosen
    assert {tuple(grid[p]) for p in picks[:1]} == {(4.0, 4.0)}
    assert {tuple(grid[p]) for p in picks[1:]} == {(0.0, 4.0), (4.0, 0.0)}


def test_active_learner_respects_budget_target_and_cancel():
    x, y = data(200)
    calls = []

    def oracle(rows):
        calls.append(len(rows))
        return y.intensity[rows]

    learner = ActiveLearner(x, ActiveParams(strategy="farthest", n_initial=5, batch=5, max_calls=30,
                                            regressor="kernel_ridge"))
    learner.run(oracle)
    assert sum(calls) == 30 and len(set(learner.labelled)) == 30
    assert learner.curve.calls == [10, 15, 20, 25, 30]  # errors measured on each batch before learning it
    target = ActiveLearner(x, ActiveParams(strategy="uncertainty", n_initial=10, batch=5, max_calls=200,
                                           target_rmse=0.05), test=(x[:50], y.intensity[:50]))
    target.run(oracle)
    assert target.curve.rmse[-1] <= 0.05 and len(target.labelled) < 200
    with pytest.raises(Cancelled):
        ActiveLearner(x, ActiveParams(n_initial=5)).run(oracle, cancel=lambda: True)
    with pytest.raises(ParameterError, match="strategy"):
        ActiveParams(strategy="uncertainty", regressor="ridge").validate()


def test_export_queries_and_import_results_continue_the_loop(tmp_path):
    from ase.build import bulk

    from amorpha.engine.io import read_structure

    structures = [bulk("Si", "diamond", 5.43, cubic=True), bulk("Cu", "fcc", 3.6, cubic=True)]
    pool_sites = np.array([[0, 0], [0, 3], [1, 2]])
    assert queries_edge(tmp_path) is None
    written = export_queries(tmp_path, structures, pool_sites, [1, 2], edge="L2,3")
    assert [p.split("/")[-1] for p in written] == ["query-atom-3.extxyz", "query-1-atom-2.extxyz"]
    back = read_structure(written[1])  # what to compute, in the header the external code reads
    assert (back.info["absorber"], back.info["absorber_element"], back.info["edge"]) == (2, "Cu", "L2,3")
    assert queries_edge(tmp_path) == ("Cu", "L2,3")  # the folder says which loop it is
    for row, stem in ((1, "query-atom-3"), (2, "query-1-atom-2")):  # what an external code would write back
        np.savetxt(tmp_path / f"{stem}.txt", np.column_stack([ENERGY, ENERGY * row]))
    rows, spectra = import_results(tmp_path, pool_sites)
    assert rows.tolist() == [1, 2] and spectra.intensity.shape == (2, len(ENERGY))
    np.testing.assert_allclose(spectra.intensity[1], 2 * ENERGY)
    with pytest.raises(ParameterError, match="no query"):
        import_results(tmp_path / "..", pool_sites)
    rows, _ = import_results(tmp_path, pool_sites, skip={1})  # learnt in an earlier round: not read again
    assert rows.tolist() == [2]
    # a result 15 eV up from the loop's energies: refused, not learnt with zeros where it has none
    np.savetxt(tmp_path / "query-1-atom-2.txt", np.column_stack([ENERGY + 15.0, ENERGY]))
    with pytest.raises(SpectrumError, match=r"query-1-atom-2.txt covers .* but this loop's spectra run over"):
        import_results(tmp_path, pool_sites, grid=ENERGY, skip={1})
    np.savetxt(tmp_path / "query-1-atom-2.txt", np.column_stack([ENERGY, 2 * ENERGY]))
    assert exported_rows(tmp_path, pool_sites) == [1, 2]
    check_queries(tmp_path, [1, 2], structures, pool_sites)  # each is the site its row names
    export_queries(tmp_path / "wide", structures, np.array([[0, 0]] * 8), [7])
    check_queries(tmp_path / "wide", [7], structures, pool_sites)  # no row 7 here: ActiveLearner.add says so
    with pytest.raises(ReadError, match="query-1-atom-2.extxyz: it is not site 2 of the structure"):
        check_queries(tmp_path, [2], structures[::-1], pool_sites)  # another structure's loop


@pytest.mark.filterwarnings("ignore:.*CASTEP")  # ASE's cell writer looks for a CASTEP binary
def test_castep_runs_of_the_queries_come_back_by_their_absorber(tmp_path):
    """A CASTEP core-hole run per query (seed query-atom-<index>): OptaDOS's file with the absorber's block
    alone is taken as it is; with several blocks, the cell says which one is the absorber's."""
    from ase.build import bulk
    from ase.io import write

    from optados_files import ENERGY as E, block, core_file, peak

    pool_sites = np.array([[0, 0], [0, 5]])
    export_queries(tmp_path, [bulk("Si", "diamond", 5.43, cubic=True)], pool_sites, [0, 1])
    (tmp_path / "query-atom-0_core_edge.dat").write_text(core_file([(block("Si", 1, "K1", "Si:exc"), peak(8.0), peak(8.0))]))
    cell = bulk("Si", "diamond", 5.43, cubic=True)
    write(tmp_path / "query-atom-5.cell", cell, format="castep-cell")
    (tmp_path / "query-atom-5_core_edge.dat").write_text(core_file(
        [(block("Si", k, edge), peak(k + shift), peak(k + shift)) for k in (1, 6, 7) for edge, shift in (("K1", 0), ("L2,3", 9))]))
    rows, spectra = import_results(tmp_path, pool_sites)
    assert rows.tolist() == [0, 1]
    np.testing.assert_allclose(spectra.intensity, [peak(8.0), peak(6.0)])  # atom 5 is the 6th Si
    (tmp_path / "query-atom-0_core_edge.dat").write_text(core_file([(block("Si", 1, "L2,3", "Si:exc"), peak(2.0), peak(2.0))]))
    rows, spectra = import_results(tmp_path, pool_sites, edge="L2,3")  # the learner's edge, of the several a run writes
    np.testing.assert_allclose(spectra.intensity, [peak(2.0), peak(15.0)])
    with pytest.raises(ReadError, match="query-atom-0_core_edge.dat: no K edge among its blocks \\(L2,3\\)"):
        import_results(tmp_path, pool_sites, edge="K")
    assert np.array_equal(spectra.energy, E)
    (tmp_path / "query-atom-5.cell").unlink()
    with pytest.raises(ReadError, match="6 site blocks and no query-atom-5.cell"):
        import_results(tmp_path, pool_sites)


def test_variance_reduction_spreads_a_batch_over_clusters():
    from amorpha.engine.surrogate.active import _variance_reduction

    # Two groups of strongly correlated sites (40 and 10) and one isolated site with the largest
    # variance: the first pick informs the big group, the second the small one; the outlier, which
    # informs nobody, waits although the largest-variance rule would take it first.
    blocks = [np.full((40, 40), 0.9) + 0.1 * np.eye(40), np.full((10, 10), 0.9) + 0.1 * np.eye(10)]
    cov = np.zeros((51, 51))
    cov[:40, :40], cov[40:50, 40:50] = blocks
    cov[50, 50] = 1.5
    picks = _variance_reduction(cov, 2)
    assert picks[0] < 40 and 40 <= picks[1] < 50
    assert np.argmax(np.diag(cov)) == 50


def test_variance_reduction_with_noise_lowers_the_latent_variance_most():
    """Each greedy pick is the site whose noisy reference spectrum lowers the summed variance of
    the noise-free spectra most, checked by conditioning the Gaussian directly."""
    from amorpha.engine.surrogate.active import _variance_reduction

    a = np.random.default_rng(5).normal(size=(30, 6))
    cov = a @ a.T + 0.01 * np.eye(30)
    noise = 2.0

    def after(cov, p):
        return cov - np.outer(cov[:, p], cov[p]) / (cov[p, p] + noise)

    picks = _variance_reduction(cov, 2, noise)
    first = np.argmin([np.trace(after(cov, p)) for p in range(30)])
    second = np.argmin([np.trace(after(after(cov, first), p)) if p != first else np.inf for p in range(30)])
    assert picks.tolist() == [first, second]


def test_latent_covariance_leaves_the_fitted_noise_off_the_diagonal():
    x, y = data(60, seed=2)
    model = SpectrumModel.train(x, y, {}, SurrogateParams(regressor="gp"))
    full = model.posterior_covariance(x[:5])
    latent = model.posterior_covariance(x[:5], latent=True)
    noise = model.noise_variances(x[:5])
    assert np.all(noise > 0) and np.ptp(noise) == 0
    np.testing.assert_allclose(np.diag(full) - np.diag(latent), noise)
    np.testing.assert_allclose(full - np.diag(np.diag(full)), latent - np.diag(np.diag(latent)))


def test_a_learner_keeps_to_one_energy_scale_and_edge(tmp_path):
    """Answers from CASTEP (its own scale) after xTB's (edge-relative), or of another edge, would
    be stacked into one training set: refused, and nothing learnt changes. A learner that learns
    from CASTEP alone keeps CASTEP's scale in its model, so plots say so."""
    from amorpha.engine.spectra.castep import AXIS

    rng = np.random.default_rng(0)
    x = rng.normal(size=(30, 4))

    def answers(rows, **meta):
        return SiteSpectra(ENERGY, np.array([np.exp(-(ENERGY - 5 - x[r, 0]) ** 2) for r in rows]), rows,
                           "Si", "K", meta=meta)

    learner = ActiveLearner(x, ActiveParams(n_initial=4, regressor="ridge", strategy="farthest"))
    learner.add([0, 1, 2, 3], answers([0, 1, 2, 3]))
    with pytest.raises(ParameterError, match="on the CASTEP/OptaDOS scale, the learner's relative to the edge"):
        learner.add([4, 5], answers([4, 5], axis=AXIS))
    other = answers([4, 5])
    other.edge = "L2,3"
    with pytest.raises(ParameterError, match="these are Si L2,3 spectra; the learner learns Si K"):
        learner.add([4, 5], other)
    assert learner.labelled == [0, 1, 2, 3] and learner.spectra.shape == (4, len(ENERGY))
    castep = ActiveLearner(x, ActiveParams(n_initial=4, regressor="ridge", strategy="farthest"))
    castep.add([0, 1, 2, 3], answers([0, 1, 2, 3], axis=AXIS))
    castep.add([4, 5], answers([4, 5], axis=AXIS))
    assert castep.model.axis == AXIS and len(castep.labelled) == 6


def test_a_learner_fed_import_after_import_places_its_model_by_every_rows_onset():
    """Each CASTEP run says where the edge starts on CASTEP's own axis (its Fermi level). A learner
    fed one import after another places its model by the mean over every row learnt, not by its
    first import's mean, and says how many rows said and how far apart they lie."""
    from amorpha.engine.spectra import Spectrum
    from amorpha.engine.spectra.castep import AXIS

    x = np.random.default_rng(0).normal(size=(30, 4))

    def imported(rows, fermi):
        return SiteSpectra.from_spectra([Spectrum(ENERGY, np.exp(-(ENERGY - 5 - x[r, 0]) ** 2), element="Si", edge="K",
                                                  site=r, meta={"axis": AXIS} | ({} if ev is None else {
                                                      "onset_at_ev": ev, "onset_at_from": f"the Fermi level of query-{r}"}))
                                         for r, ev in zip(rows, fermi)])

    first = imported([0, 1, 2, 3], [4.0, 4.2, 4.4, 4.6])
    assert first.meta["onset_at_ev"] == pytest.approx(4.3)
    learner = ActiveLearner(x, ActiveParams(n_initial=4, regressor="ridge", strategy="farthest"))
    learner.add([0, 1, 2, 3], first)
    assert learner.model.onset_at["ev"] == pytest.approx(4.3)
    learner.add([4, 5], imported([4, 5], [5.0, None]))
    assert learner.model.onset_at == {"ev": pytest.approx((4.0 + 4.2 + 4.4 + 4.6 + 5.0) / 5),
                                      "from": "the Fermi level of query-0; mean of 5 of 6, 4.00 to 5.00 eV"}
    assert learner.model.axis == AXIS


def test_a_structure_is_predicted_in_chunks_that_cancel_reaches(monkeypatch):
    """343k Si sites ran 15 s in one predict call that Cancel could not reach: the sites go in
    chunks, with Cancel and progress between, and the same spectra and distances come out."""
    from amorpha.engine.examples import load_example
    from amorpha.engine.surrogate import model as surrogate_model
    from amorpha.engine.surrogate.model import SpectrumModel
    from amorpha.resources import path

    model = SpectrumModel.load(path("models") / "Si-K-xtb.amodel")
    atoms = load_example("a-SiO2")
    whole = model.predict_structure(atoms)
    monkeypatch.setattr(surrogate_model, "PREDICT_CHUNK", 300)
    messages = []
    chunked = model.predict_structure(atoms, progress=lambda f, m: messages.append((f, m)))
    assert np.allclose(chunked.intensity, whole.intensity, rtol=0, atol=1e-14)
    assert np.allclose(chunked.distance, whole.distance, rtol=0, atol=1e-12, equal_nan=True)
    predicting = [f for f, m in messages if m == "predicting the sites"]
    assert len(predicting) == 4 and predicting == sorted(predicting) and predicting[-1] == 1.0
    with pytest.raises(Cancelled):  # asked during the prediction: the next chunk does not run
        model.predict_structure(atoms, progress=lambda f, m: messages.append((f, m)),
                                cancel=lambda: messages[-1][1] == "predicting the sites")

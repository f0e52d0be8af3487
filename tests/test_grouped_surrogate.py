"""Grouped descriptors (sites sorted by their first shell) and the surrogate fitted per group."""
import numpy as np
import pytest
from ase.neighborlist import neighbor_list
from ase.spacegroup import crystal

from amorpha.engine.descriptors import (GroupedParams, SoapParams, compute, compute_soap, feature_names,
                                        params_from_dict)
from amorpha.engine.errors import ParameterError
from amorpha.engine.spectra import SiteSpectra
from amorpha.engine.surrogate import metrics
from amorpha.engine.surrogate.active import ActiveLearner, ActiveParams
from amorpha.engine.surrogate.model import MIN_GROUP, SpectrumModel, SurrogateParams, cross_validate

ENERGY = np.linspace(0.0, 30.0, 151)


def sub_oxide_quartz():
    """α-quartz 2×2×2 with every fifth O removed: Si with 2, 3 and 4 O neighbours."""
    quartz = crystal(["Si", "O"], basis=[(0.4697, 0, 2 / 3), (0.4135, 0.2669, 0.7858)], spacegroup=154,
                     cellpar=[4.916, 4.916, 5.405, 90, 90, 120]).repeat((2, 2, 2))
    o = np.flatnonzero(quartz.numbers == 8)
    del quartz[o[::5].tolist()]
    return quartz


def test_group_is_the_number_of_bonded_o_and_the_rest_is_the_inner_descriptor():
    atoms = sub_oxide_quartz()
    soap = SoapParams(species=("O", "Si"), r_cut=4.0, n_max=4, l_max=3, sigma=0.4)
    params = GroupedParams(soap, element="O")
    si = np.flatnonzero(atoms.numbers == 14)
    rows = compute(atoms, params, si)
    i, j = neighbor_list("ij", atoms, 2.0)  # ASE's count: O within 2 Å (Si-O 1.61 Å, Si-Si 3.06 Å)
    o_neighbours = np.bincount(i[atoms.numbers[j] == 8], minlength=len(atoms))[si]
    assert set(o_neighbours) == {2, 3, 4}
    np.testing.assert_array_equal(rows[:, 0], o_neighbours)
    np.testing.assert_array_equal(rows[:, 1:], compute_soap(atoms, soap, si))
    assert len(feature_names(params)) == rows.shape[1] and feature_names(params)[0] == "group: bonded O"
    assert params_from_dict(params.to_dict()) == params
    all_neighbours = compute(atoms, GroupedParams(soap, element=""), si)[:, 0]
    np.testing.assert_array_equal(all_neighbours, o_neighbours)  # Si has no other bonded neighbour here
    with pytest.raises(ParameterError):
        params_from_dict({"kind": "grouped", "element": "O"})
    with pytest.raises(ParameterError):
        compute(atoms, GroupedParams(params), si)


def grouped_data(n, seed):
    """Three groups whose white line follows a different feature in each: one smooth function
    per group, a step between groups."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1.5, 1.5, (n, 4))
    group = rng.integers(0, 3, n)
    pos = np.choose(group, [8 + 2 * np.tanh(x[:, 0]), 15 + 2 * np.tanh(x[:, 1]), 22 - 2 * np.tanh(x[:, 2])])
    y = np.exp(-0.5 * ((ENERGY - pos[:, None]) / 1.2) ** 2)
    return np.hstack([group[:, None].astype(float), x]), SiteSpectra(ENERGY, y, np.arange(n), "Si", "K", "synthetic")


#: grouped by bonded O around a whole SOAP's settings (models saved with it are read again)
GROUPED = {"kind": "grouped", "element": "O", "inner": SoapParams(species=("O", "Si")).to_dict()}


def test_a_model_per_group_learns_what_one_model_over_all_groups_blurs():
    x, y = grouped_data(120, seed=0)
    xt, yt = grouped_data(60, seed=1)
    grouped = SpectrumModel.train(x, y, GROUPED, SurrogateParams(regressor="gp"))
    single = SpectrumModel.train(x, y, {"kind": "test"}, SurrogateParams(regressor="gp"))
    assert sorted(k for k in grouped._fitted["parts"] if k is not None) == [0, 1, 2]
    m_grouped = metrics.spectrum_metrics(ENERGY, yt.intensity, grouped.predict(xt))
    m_single = metrics.spectrum_metrics(ENERGY, yt.intensity, single.predict(xt))
    # Measured: R² 0.946 against 0.923, RMSE ratio 0.83 (another seed: 0.969, 0.937, 0.69).
    assert m_grouped["r2"] > 0.93 and m_grouped["rmse"] < 0.9 * m_single["rmse"], (m_grouped, m_single)
    cv = cross_validate(x, y, SurrogateParams(regressor="gp"), folds=4, descriptor=GROUPED)
    cv_single = cross_validate(x, y, SurrogateParams(regressor="gp"), folds=4, descriptor={"kind": "test"})
    assert cv["rmse"] < cv_single["rmse"], (cv, cv_single)


def test_small_and_unseen_groups_are_predicted_by_the_model_of_all_sites(tmp_path):
    x, y = grouped_data(90, seed=2)
    x[: MIN_GROUP - 1, 0] = 7  # a group with too few sites for a model of its own
    model = SpectrumModel.train(x, y, GROUPED, SurrogateParams(regressor="gp"))
    assert 7 not in model._fitted["parts"] and None in model._fitted["parts"]
    probe = x[:3].copy()
    probe[:, 0] = 9  # never seen in training
    everything = model._fitted["parts"][None]
    from amorpha.engine.surrogate.model import _predict_part

    expected, _ = _predict_part(everything, probe[:, 1:], False)
    np.testing.assert_array_equal(model.predict(probe), expected)
    spectra, std = model.predict(x[:20], return_std=True)
    assert spectra.shape == (20, len(ENERGY)) and np.all(std > 0)
    model.save(tmp_path / "grouped.amodel")
    again = SpectrumModel.load(tmp_path / "grouped.amodel")
    np.testing.assert_array_equal(again.predict(x), model.predict(x))
    ridge = SpectrumModel.train(x, y, GROUPED, SurrogateParams(regressor="ridge"))
    ridge.save(tmp_path / "ridge.amodel")  # fitted parts stored (skops) under their names, read back as keys
    again = SpectrumModel.load(tmp_path / "ridge.amodel")
    assert set(again._fitted["parts"]) == set(ridge._fitted["parts"]) and None in again._fitted["parts"]
    np.testing.assert_array_equal(again.predict(x), ridge.predict(x))


def test_sites_of_different_groups_are_independent_for_active_learning():
    x, y = grouped_data(150, seed=3)
    model = SpectrumModel.train(x[:60], SiteSpectra(ENERGY, y.intensity[:60], np.arange(60), "Si", "K"),
                                GROUPED, SurrogateParams(regressor="gp"))
    cov = model.posterior_covariance(x[60:], latent=True)
    full = model.posterior_covariance(x[60:])
    noise = model.noise_variances(x[60:])
    _, std = model.predict(x[60:], return_std=True)
    np.testing.assert_allclose(np.diag(full), std**2, rtol=1e-6)  # one unit for both
    np.testing.assert_allclose(np.diag(full) - np.diag(cov), noise, rtol=1e-9, atol=1e-12)
    other = x[60:, 0][:, None] != x[60:, 0][None, :]
    assert np.all(cov[other] == 0) and np.any(cov[~other & ~np.eye(len(cov), dtype=bool)] != 0)

    learner = ActiveLearner(x, ActiveParams(strategy="variance", n_initial=12, batch=6, max_calls=48),
                            GROUPED)
    learner.run(lambda rows: y.intensity[rows])
    assert len(learner.labelled) == 48 and learner.model.grouped
    assert len(set(x[learner.labelled, 0])) == 3


def test_surrogates_learn_from_sites_grouped_by_bonded_o_in_an_oxide():
    """The window and make models share one descriptor: cations of an oxide grouped by their O
    neighbours, O itself and O-free structures not; the cutoff is the reference's cluster radius."""
    from amorpha.engine.surrogate.pipeline import training_descriptor

    si = training_descriptor(["O", "Si"], "Si", cluster_radius=5.2)
    assert isinstance(si, GroupedParams) and si.element == "O"
    assert (si.inner.r_cut, si.inner.sigma, si.inner.species) == (5.2, 0.3, ("O", "Si"))
    o = training_descriptor(["Si", "O"], "O", periodic=False, cluster_radius=4.0)
    assert isinstance(o, SoapParams) and (o.r_cut, o.periodic) == (4.0, False)
    assert isinstance(training_descriptor(["Si"], "Si"), SoapParams)


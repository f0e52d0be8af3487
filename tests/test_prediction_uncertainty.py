"""The surrogate's predictive uncertainty at each energy: how a Gaussian process's whole-spectrum
standard deviation spreads over the energies, that the band it gives is calibrated on spectra
whose truth is known, and what a prediction of a structure carries of it."""
import numpy as np
import pytest

from amorpha.engine.errors import ParameterError
from amorpha.engine.spectra import SiteSpectra, Spectrum
from amorpha.engine.spectra.spectrum import SpectrumError
from amorpha.engine.surrogate.model import MIN_GROUP, SpectrumModel, SurrogateParams

#: 24 energies: fewer than the 30 PCA components a model keeps, so with enough training sites
#: the components span every direction a spectrum can vary in, noise included
ENERGY = np.linspace(0.0, 30.0, 24)
NOISE = 0.05
GP = SurrogateParams(regressor="gp")


def truth(x: np.ndarray) -> np.ndarray:
    """Noise-free spectra: a white line whose position and width follow the first two inputs and
    a weaker peak that follows the third (smooth, as site spectra are in their descriptors)."""
    pos, width = 12 + 4 * np.tanh(x[:, 0]), 2.0 + 0.8 * x[:, 1] ** 2
    main = np.exp(-0.5 * ((ENERGY - pos[:, None]) / width[:, None]) ** 2)
    return main + 0.4 * np.exp(-0.5 * ((ENERGY - 22 - 2 * x[:, 2, None]) / 3) ** 2)


def sites(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``n`` random inputs and their spectra with Gaussian noise of known size (a reference
    calculator's scatter between sites the descriptor cannot tell apart)."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1.5, 1.5, (n, 3))
    return x, truth(x) + rng.normal(0.0, NOISE, (n, len(ENERGY)))


def trained(n: int, seed: int = 0, descriptor: dict | None = None, params=GP, x=None, y=None) -> SpectrumModel:
    if x is None:
        x, y = sites(n, seed)
    return SpectrumModel.train(x, SiteSpectra(ENERGY, y, np.arange(len(x)), "Si", "K"), descriptor or {}, params)


def grouped_sites(seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Sites of a grouped descriptor (group first): two groups with a regressor each and one too
    small for its own (predicted by the part of all sites)."""
    x, y = sites(2 * 20 + 5, seed)
    group = np.repeat([2.0, 3.0, 4.0], [20, 20, 5])
    y = y + 0.3 * (group == 3.0)[:, None] * np.exp(-0.5 * ((ENERGY - 5) / 2) ** 2)
    return np.column_stack([group, x]), y


def test_the_band_adds_up_to_the_whole_spectrum_std_for_one_model_and_per_group():
    """Var[I(E)] = unit² σ² Σ_k components_[k, E]² holds because every PCA score of a part gets the
    same predictive std (one kernel, one scale): its root sum of squares over the energies is
    predict(return_std=True)'s whole-spectrum std, for a plain model and for each part of a
    grouped one (whose parts differ in scale and components)."""
    xt, _ = sites(30, seed=9)
    plain = trained(40)
    x, y = grouped_sites(seed=1)
    grouped = trained(0, descriptor={"kind": "grouped", "element": "O"}, x=x, y=y)
    assert sorted(k for k in grouped._fitted["parts"] if k is not None) == [2, 3] and MIN_GROUP <= 20
    xg = np.column_stack([np.repeat([2.0, 3.0, 4.0], 10), xt])
    for model, rows in ((plain, xt), (grouped, xg)):
        spectra, band = model.predict_band(rows)
        same, whole = model.predict(rows, return_std=True)
        assert band.shape == spectra.shape == (30, len(ENERGY)) and np.all(band > 0)
        np.testing.assert_array_equal(spectra, same)
        np.testing.assert_allclose(np.sqrt(np.sum(band ** 2, axis=1)), whole, rtol=1e-12)
        for _, part, _, xp in model._routes(rows):  # scikit-learn's per-score stds, all alike
            _, std = part["regressor"].predict(part["scaler"].transform(xp), return_std=True)
            np.testing.assert_allclose(std, std[:, :1] * np.ones(std.shape[1]), rtol=1e-12)
    # the parts' bands differ in shape, not only in size: each part's own components spread it
    _, band = grouped.predict_band(xg)
    shapes = band / np.linalg.norm(band, axis=1, keepdims=True)
    assert not np.allclose(shapes[0], shapes[10], atol=1e-3)
    np.testing.assert_allclose(shapes[0], shapes[1], rtol=1e-9)


def test_the_band_holds_95_percent_of_held_out_spectra_within_two_sigma():
    """Calibration, checked from outside the code: 120 training sites drawn from a known truth
    with known noise, 300 held-out sites. The band includes the noise the process fitted, so it is
    the band a new reference spectrum of the site falls in: about 95 % of the held-out noisy
    intensities lie within ±2σ(E). Tolerance 0.90-0.99: with 300 sites (the points of one site
    are correlated, so count sites) a calibrated band's coverage scatters by about ±0.013, and
    the process's hyperparameters are themselves estimated from 120 sites; a band off by a
    factor 1.5 either way covers 0.80 or 0.997 and fails."""
    model = trained(120, seed=0)
    x, y = sites(300, seed=100)
    predicted, band = model.predict_band(x)
    covered = np.abs(y - predicted) <= 2 * band
    assert 0.90 <= covered.mean() <= 0.99
    assert 0.65 <= np.mean(np.abs(y - predicted) <= band) <= 0.75  # ±1σ: 68 %
    # the band is not a constant: where it is wider, the errors are larger
    wide = band.mean(axis=1) > np.median(band.mean(axis=1))
    error = np.sqrt(np.mean((y - predicted) ** 2, axis=1))
    assert error[wide].mean() > error[~wide].mean()


def test_fewer_training_sites_give_wider_bands():
    x, _ = sites(300, seed=100)
    few, many = (trained(n, seed=0).predict_band(x)[1] for n in (20, 120))
    assert few.mean() > 1.2 * many.mean()


def test_a_regressor_without_uncertainty_says_so():
    """Only the Gaussian process has a predictive uncertainty: asked of ridge, a message that
    names the regressor, not a shape error; a structure predicted with it carries none."""
    ridge = trained(40, params=SurrogateParams(regressor="ridge"))
    with pytest.raises(ParameterError, match="Gaussian-process regressor.*this model's is ridge"):
        ridge.predict_band(sites(3, seed=1)[0])
    predicted = SiteSpectra(ENERGY, truth(sites(3, 1)[0]), np.arange(3))
    assert predicted.std(0) is None and predicted.spectrum(0).std is None
    with pytest.raises(SpectrumError, match="known only for predictions of a Gaussian-process model"):
        predicted.feature("prediction_uncertainty")


def test_a_predicted_structure_carries_each_sites_band_in_chunks(monkeypatch):
    """predict_structure(uncertainty=True) stores per site the whole-spectrum std relative to the
    spectrum (the colour) and the band's shape per part of the model, not a band per site; each
    site's band rebuilt from them is predict_band's for its features, whatever the chunks."""
    from amorpha.engine.descriptors import compute, params_from_dict
    from amorpha.engine.examples import load_example
    from amorpha.engine.surrogate import model as surrogate_model
    from amorpha.resources import path

    model = SpectrumModel.load(path("models") / "Si-K-xtb.amodel")
    atoms = load_example("a-SiO2")
    monkeypatch.setattr(surrogate_model, "PREDICT_CHUNK", 100)
    predicted = model.predict_structure(atoms, uncertainty=True)
    assert model.predict_structure(atoms, predicted.sites[:5]).uncertainty is None  # asked for only: it costs
    rows = np.arange(0, len(predicted), 37)
    features = compute(atoms, params_from_dict(model.descriptor), predicted.sites[rows])
    spectra, band = model.predict_band(features)
    _, whole = model.predict(features, return_std=True)
    np.testing.assert_allclose(predicted.intensity[rows], spectra, rtol=0, atol=1e-14)
    np.testing.assert_allclose([predicted.std(r) for r in rows], band, rtol=1e-10)
    relative = whole / np.linalg.norm(spectra, axis=1)
    np.testing.assert_allclose(predicted.feature("prediction_uncertainty")[rows], relative, rtol=1e-10)
    spectrum = predicted.spectrum(int(rows[1]))
    np.testing.assert_array_equal(spectrum.std, predicted.std(int(rows[1])))
    assert len(predicted.band_shapes[0]) == len(model._fitted["parts"])


def test_a_spectrum_put_on_another_grid_takes_its_band_along():
    s = Spectrum(np.array([0.0, 1.0, 2.0]), np.array([0.0, 1.0, 0.0]), std=np.array([0.1, 0.3, 0.1]))
    moved = s.on_grid(np.array([0.5, 1.5, 3.0]))
    np.testing.assert_allclose(moved.std, [0.2, 0.2, 0.0])
    assert Spectrum(s.energy, s.intensity).on_grid(moved.energy).std is None

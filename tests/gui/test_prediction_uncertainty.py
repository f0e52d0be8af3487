"""How sure the model is, in the window: a clicked site's predicted spectrum is drawn with a ±1σ
band in its colour (a Gaussian-process model's), the band goes with its curve and follows where
the plot places it, and the atoms can be coloured by each site's uncertainty. A model without one
greys that choice and says why, never an exception.

The models are trained on spectra made from the SOAP features by a fixed rule plus noise (the
window's mechanics are under test; tests/test_prediction_uncertainty.py checks the band itself).
"""
import time
from dataclasses import replace

import numpy as np
import pytest

from amorpha.engine.descriptors import compute
from amorpha.engine.examples import load_example
from amorpha.engine.spectra import SiteSpectra, Spectrum
from amorpha.engine.surrogate.model import SpectrumModel, SurrogateParams
from amorpha.engine.surrogate.pipeline import default_descriptor
from amorpha.gui.panels.spectrum_panel import BAND_ALPHA

ENERGY = np.linspace(-5, 30, 176)


@pytest.fixture(autouse=True)
def no_preferences(monkeypatch):
    monkeypatch.setattr("amorpha.gui.main_window.save_preferences", lambda *a, **k: None)


@pytest.fixture(scope="module")
def silica():
    return load_example("a-SiO2")


@pytest.fixture(scope="module")
def rule_data(silica):
    """Features and spectra of 60 Si sites: a peak whose position follows the features, plus noise."""
    descriptor = default_descriptor(["O", "Si"])
    sites = np.flatnonzero(silica.numbers == 14)[:60]
    x = compute(silica, descriptor, sites)
    centre = 5 + x[:, :3].sum(axis=1) / x[:, :3].sum(axis=1).std()
    y = np.exp(-0.5 * (ENERGY[None, :] - centre[:, None]) ** 2)
    y += np.random.default_rng(0).normal(0.0, 0.02, y.shape)
    return x, SiteSpectra(ENERGY, y, sites, "Si", "K", "rule"), descriptor.to_dict()


def model_file(rule_data, tmp_path, regressor):
    x, spectra, descriptor = rule_data
    model = SpectrumModel.train(x, spectra, descriptor, SurrogateParams(regressor=regressor, n_components=8),
                                reference="a fixed rule (test)")
    model.save(tmp_path / f"{regressor}.amodel")
    return tmp_path / f"{regressor}.amodel"


def predicted_with(qtbot, window, atoms, path):
    with qtbot.waitSignal(window.model_ready, timeout=60000):
        window.set_model(atoms, "test model")
    with qtbot.waitSignal(window.prediction.prediction_settled, timeout=60000):
        window.prediction.load(str(path))
    return window.prediction.predicted


def band_edges(panel, spectrum):
    lower, upper = panel.band(spectrum).curves
    return lower.getData(), upper.getData()


def test_a_clicked_site_is_drawn_with_its_band_and_atoms_coloured_by_uncertainty(qtbot, empty_window, silica,
                                                                                rule_data, tmp_path):
    window, panel = empty_window, empty_window.spectrum_panel
    predicted = predicted_with(qtbot, window, silica.copy(), model_file(rule_data, tmp_path, "gp"))
    assert predicted.uncertainty is not None and np.all(predicted.uncertainty > 0)
    si = int(predicted.sites[3])
    window.select_atom(si)
    (site,) = panel.group("site")
    assert site.label.endswith(", ±1σ shaded)")
    np.testing.assert_array_equal(site.std, predicted.std(3))
    (x_low, low), (x_high, high) = band_edges(panel, site)
    np.testing.assert_array_equal(x_low, panel.drawn_energy(site))
    np.testing.assert_allclose(low, site.intensity - site.std)
    np.testing.assert_allclose(high, site.intensity + site.std)
    band = panel.band(site)
    colour = band.brush().color()
    assert colour.alpha() == BAND_ALPHA and colour.rgb() == panel.item(site).opts["pen"].color().rgb()
    assert band.zValue() < panel.item(site).zValue() and panel.band(panel.group("predicted")[0]) is None

    # beside a measured spectrum the band is placed and scaled with its curve
    panel.placer = lambda s: replace(s, energy=s.energy + 1830.0, meta={**s.meta, "edge_onset_ev": 1830.0})
    counts = 50 + 1000 * panel.group("predicted")[0].intensity  # counts on a background, shaped like it
    panel.add_spectrum(Spectrum(ENERGY + 1830.0, counts, "measured Si K"), "measured")
    factor, offset = panel.factor(site), panel.offset(site)
    assert factor == pytest.approx(1000) and offset == pytest.approx(50)
    (x_low, low), (_, high) = band_edges(panel, site)
    np.testing.assert_allclose(x_low, site.energy + 1830.0)
    np.testing.assert_allclose(high - low, 2 * factor * site.std)
    np.testing.assert_allclose(low, factor * (site.intensity - site.std) + offset)
    panel.item(site).setVisible(False)  # a click on its legend entry hides the band too
    assert not band.isVisible()
    panel.item(site).setVisible(True)
    assert band.isVisible()
    panel.remove_group("site")  # the band goes with its curve
    assert band.scene() is None and panel.group("site") == []

    # the atoms coloured by each site's uncertainty, relative to its spectrum
    window.prediction_panel.show_feature("prediction_uncertainty")
    window.prediction_panel.feature_chosen.emit("prediction_uncertainty")
    column = window.atoms.arrays["prediction_uncertainty"]
    np.testing.assert_array_equal(column[predicted.sites], predicted.uncertainty)
    assert np.isnan(column[window.atoms.numbers == 8]).all()
    assert window.viewer.colorbar.info[3] == ("Si K prediction uncertainty (±1σ ÷ spectrum, RMS over "
                                              "energies)")


def test_a_click_on_a_large_prediction_draws_its_band_at_once(qtbot, empty_window, silica, rule_data, tmp_path):
    """The band is rebuilt from what the prediction stores (no descriptor, no regressor on the
    GUI thread): a click among the 330,000 Si sites of a 10⁶-atom glass takes milliseconds."""
    window, panel = empty_window, empty_window.spectrum_panel
    predicted_with(qtbot, window, silica.copy(), model_file(rule_data, tmp_path, "gp"))
    n, grid = 330_000, np.linspace(0.0, 30.0, 24)
    rng = np.random.default_rng(1)
    shapes = rng.uniform(0.1, 1.0, (3, len(grid)))
    window.prediction.predicted = SiteSpectra(
        grid, rng.uniform(0.1, 1.0, (n, len(grid))), np.arange(n), "Si", "K", "surrogate", distance=np.zeros(n),
        uncertainty=np.full(n, 0.1), band_shapes=(shapes / np.linalg.norm(shapes, axis=1, keepdims=True),
                                                  rng.integers(0, 3, n)))
    start = time.perf_counter()
    window.prediction.atom_picked(n - 5)
    assert time.perf_counter() - start < 0.15
    site = panel.group("site")[-1]
    assert site.site == n - 5 and site.label.endswith("±1σ shaded)") and panel.band(site) is not None


def test_a_model_without_uncertainty_greys_the_choice_and_says_why(qtbot, empty_window, silica, rule_data,
                                                                   tmp_path):
    window, panel = empty_window, empty_window.spectrum_panel
    predicted = predicted_with(qtbot, window, silica.copy(), model_file(rule_data, tmp_path, "ridge"))
    assert predicted.uncertainty is None
    combo = window.prediction_panel.feature_combo
    item = combo.model().item(combo.findData("prediction_uncertainty"))
    assert not item.isEnabled()
    assert "only a Gaussian-process model predicts how sure it is" in item.toolTip()
    window.select_atom(int(predicted.sites[0]))  # no band, and the label claims none
    (site,) = panel.group("site")
    assert site.std is None and panel.band(site) is None and site.label.endswith("(predicted)")
    window.prediction_panel.show_feature("prediction_uncertainty")  # chosen while a GP model was in use
    window.prediction_panel.feature_chosen.emit("prediction_uncertainty")
    status = window.prediction_panel.status.text()
    assert status.startswith("No prediction uncertainty to colour the atoms by: only a Gaussian-process model")
    assert "the Si K model in use is ridge" in status and window.last_error == ""
    assert "prediction_uncertainty" not in window.atoms.arrays

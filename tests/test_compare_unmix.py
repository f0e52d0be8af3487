"""Compare (similarity, difference, alignment) and Explain (non-negative unmixing) on made-up spectra."""
import numpy as np
import pytest

from amorpha.engine.errors import ParameterError
from amorpha.engine.spectra.compare import align, difference, similarity
from amorpha.engine.spectra.spectrum import Spectrum
from amorpha.engine.spectra.unmix import bootstrap, fit_components, rank_models

GRID = np.arange(2460.0, 2510.0 + 1e-9, 0.1)
TRUE = np.array([0.2, 0.5, 0.3])


def peaks(energy, *centres_heights, width=1.2):
    y = np.zeros_like(energy, dtype=float)
    for centre, height in centres_heights:
        y += height * np.exp(-0.5 * ((energy - centre) / width) ** 2)
    return y


def site_classes(energy=GRID):
    """Three "site class" spectra with distinct but overlapping peaks."""
    return [
        Spectrum(energy, peaks(energy, (2472.0, 1.0), (2483.0, 0.4)), label="tetrahedral"),
        Spectrum(energy, peaks(energy, (2475.5, 1.0), (2490.0, 0.5)), label="octahedral"),
        Spectrum(energy, peaks(energy, (2479.0, 1.0), (2496.0, 0.3)), label="bridging"),
    ]


def mixture(seed=1, noise=0.02):
    comps = site_classes()
    rng = np.random.default_rng(seed)
    y = 10.0 * sum(f * c.intensity for f, c in zip(TRUE, comps))
    y += 0.3 + 0.01 * (GRID - GRID[0])                      # linear background
    y += rng.normal(0.0, noise * y.max(), size=len(GRID))
    return Spectrum(GRID, y, label="measured"), comps


# --- similarity / difference -------------------------------------------------------------------

def test_identical_spectra_are_perfectly_similar():
    a = Spectrum(GRID, peaks(GRID, (2475.0, 1.0), (2490.0, 0.3)) + 0.05)
    s = similarity(a, a)
    assert s["cosine"] == pytest.approx(1.0, abs=1e-12)
    assert s["pearson"] == pytest.approx(1.0, abs=1e-12)
    assert s["r_factor"] == pytest.approx(0.0, abs=1e-12)
    # insensitive to the intensity scale (unit-area normalisation for the R-factor)
    s2 = similarity(a, Spectrum(GRID, 7.0 * a.intensity))
    assert s2["r_factor"] == pytest.approx(0.0, abs=1e-12) and s2["cosine"] == pytest.approx(1.0)


def test_similarity_uses_the_overlap_on_a_common_grid():
    fine = np.arange(2470.0, 2520.0, 0.05)
    a = Spectrum(GRID, peaks(GRID, (2480.0, 1.0)))
    b = Spectrum(fine, peaks(fine, (2480.0, 1.0)))
    s = similarity(a, b, window=(2465.0, 2500.0))
    assert s["window"] == (2470.0, 2500.0)
    assert s["cosine"] > 0.9999 and s["r_factor"] < 1e-3
    far = Spectrum(GRID, peaks(GRID, (2495.0, 1.0)))
    assert similarity(a, far)["pearson"] < 0.5


def test_difference_on_common_grid():
    a = Spectrum(GRID, peaks(GRID, (2480.0, 2.0)), label="a")
    b = Spectrum(GRID, peaks(GRID, (2480.0, 1.0)), label="b")
    d = difference(a, b)
    np.testing.assert_allclose(d.intensity, b.on_grid(d.energy).intensity, atol=1e-9)
    assert np.max(np.abs(difference(a, b, scale=True).intensity)) < 1e-9


# --- alignment ---------------------------------------------------------------------------------

@pytest.mark.parametrize("with_scale", [True, False])
def test_align_recovers_shift_and_stretch(with_scale):
    shift, stretch = 2.37, (1.02 if with_scale else 1.0)
    window = (2465.0, 2505.0)
    centre = 0.5 * sum(window)
    shape = lambda e: peaks(e, (2474.0, 1.0), (2478.0, 0.6), (2487.0, 0.5), (2495.0, 0.25), width=1.0)  # noqa: E731
    predicted = Spectrum(np.arange(2440.0, 2530.0, 0.05), shape(np.arange(2440.0, 2530.0, 0.05)),
                         label="predicted")
    measured_energy = np.arange(2460.0, 2510.0, 0.1)
    measured = Spectrum(measured_energy, 3.0 * shape((measured_energy - centre - shift) / stretch + centre) + 0.2)
    s, k, aligned, sim = align(measured, predicted, window, scale=with_scale)
    assert s == pytest.approx(shift, abs=0.05)
    assert k == pytest.approx(stretch, abs=0.005)
    assert sim["pearson"] > 0.999
    assert aligned.meta["amplitude"] == pytest.approx(3.0, rel=0.02)
    assert aligned.meta["constant"] == pytest.approx(0.2, abs=0.02)
    assert aligned.meta["shift_at_limit"] is False and aligned.meta["scale_at_limit"] is False
    # a narrower search that cannot reach the true shift stops at its end and says so
    s, _, aligned, _ = align(measured, predicted, window, shift_range=(-1.0, 1.0), scale=with_scale)
    assert s == pytest.approx(1.0, abs=0.01) and aligned.meta["shift_at_limit"] is True
    if with_scale:  # likewise a scale range that cannot reach the true stretch
        _, k, aligned, _ = align(measured, predicted, window, scale_range=(0.95, 1.01))
        assert k == pytest.approx(1.01, abs=1e-4) and aligned.meta["scale_at_limit"] is True


# --- unmixing ----------------------------------------------------------------------------------

def test_fractions_recovered_with_bootstrap_uncertainty():
    measured, comps = mixture()
    fit = fit_components(measured, comps, background="linear")
    np.testing.assert_allclose(fit.fractions, TRUE, atol=0.03)
    assert fit.r2 > 0.99
    assert fit.background[1] == pytest.approx(0.01, abs=0.005)
    bootstrap(fit, n=200, seed=3)
    assert np.all(fit.fraction_std > 0)
    assert np.all(np.abs(fit.fraction_mean - TRUE) <= 3 * fit.fraction_std + 1e-3)
    assert np.all(np.abs(fit.fractions - TRUE) <= 3 * fit.fraction_std + 1e-3)
    assert fit.bootstrap_samples.shape == (200, 3)
    again = bootstrap(fit_components(measured, comps), n=200, seed=3)
    np.testing.assert_allclose(again.fraction_std, fit.fraction_std)      # seeded: reproducible


def test_counts_bootstrap_and_no_background():
    comps = site_classes()
    rng = np.random.default_rng(5)
    model = 2000.0 * sum(f * c.intensity for f, c in zip(TRUE, comps)) + 50.0
    measured = Spectrum(GRID, rng.poisson(model).astype(float))
    fit = bootstrap(fit_components(measured, comps, background="constant"), n=100, seed=1, noise="counts")
    np.testing.assert_allclose(fit.fractions, TRUE, atol=0.03)
    assert np.all(np.abs(fit.fractions - TRUE) <= 4 * fit.fraction_std + 1e-3)
    pure = Spectrum(GRID, 4.0 * comps[1].intensity)
    f0 = fit_components(pure, comps, background=None)
    np.testing.assert_allclose(f0.fractions, [0.0, 1.0, 0.0], atol=1e-9)
    assert f0.r_factor < 1e-9


def test_true_component_set_ranks_first():
    measured, comps = mixture(seed=2)
    wrong_shape = Spectrum(GRID, peaks(GRID, (2470.0, 1.0), (2500.0, 1.0)), label="other")
    ranked = rank_models(measured, {
        "two of three": comps[:2],
        "true set": comps,
        "single": comps[1],
        "wrong third": [comps[0], comps[1], wrong_shape],
    })
    assert ranked[0].name == "true set"
    assert [r.score for r in ranked] == sorted(r.score for r in ranked)
    by_chi2 = rank_models(measured, {"two of three": comps[:2], "true set": comps}, criterion="reduced_chi2")
    assert by_chi2[0].name == "true set" and by_chi2[0].score < by_chi2[1].score


# --- bad input ---------------------------------------------------------------------------------

def test_bad_input_names_the_parameter():
    measured, comps = mixture()
    elsewhere = Spectrum(np.linspace(3000.0, 3050.0, 101), peaks(np.linspace(3000.0, 3050.0, 101), (3020.0, 1.0)))
    with pytest.raises(ParameterError) as err:
        fit_components(measured, [comps[0], elsewhere])
    assert err.value.parameter == "components"
    with pytest.raises(ParameterError) as err:
        fit_components(measured, comps, window=(2600.0, 2700.0))
    assert err.value.parameter == "window"
    with pytest.raises(ParameterError) as err:
        fit_components(measured, comps, window=(2490.0, 2480.0))
    assert err.value.parameter == "window"
    with pytest.raises(ParameterError) as err:
        similarity(measured, comps[0], window=(2600.0, 2700.0))
    assert err.value.parameter == "window"
    with pytest.raises(ParameterError) as err:
        similarity(measured, elsewhere)
    assert err.value.parameter == "b"
    fit = fit_components(measured, comps)
    for bad in (-5, 0, 2.5):
        with pytest.raises(ParameterError) as err:
            bootstrap(fit, n=bad)
        assert err.value.parameter == "n"
    with pytest.raises(ParameterError) as err:
        fit_components(measured, comps, background="cubic")
    assert err.value.parameter == "background"
    with pytest.raises(ParameterError) as err:
        fit_components(measured, [])
    assert err.value.parameter == "components"
    with pytest.raises(ParameterError) as err:
        align(measured, comps[0], window=None)
    assert err.value.parameter == "window"
    with pytest.raises(ParameterError) as err:
        align(measured, comps[0], window=(2470.0, 2490.0), shift_range=(5.0, -5.0))
    assert err.value.parameter == "shift_range"
    with pytest.raises(ParameterError) as err:
        rank_models(measured, {"far": [elsewhere]})
    assert err.value.parameter == "candidates['far']"
    with pytest.raises(ParameterError) as err:
        rank_models(measured, {})
    assert err.value.parameter == "candidates"


def test_components_of_two_edges_are_not_fitted_together():
    """Candidates kept from a Si K model beside ones from an O K model (the Predict panel's model
    changed between two Add models…): their fractions would mean nothing. Components that name no
    edge (measured references) go with any."""
    from dataclasses import replace

    measured, comps = mixture()
    si = [replace(c, element="Si", edge="K") for c in comps]
    assert fit_components(measured, [*si, Spectrum(GRID, comps[0].intensity, label="reference")]).r2 > 0.9
    with pytest.raises(ParameterError, match="spectra of O K and Si K in one fit") as err:
        fit_components(measured, [*si[:2], replace(comps[2], element="O", edge="K")])
    assert err.value.parameter == "components"

"""How far predicted sites lie from a surrogate's training sites (engine/surrogate/domain.py)."""
import numpy as np
import pytest
from ase.spacegroup import crystal
from scipy.spatial.distance import cdist

from amorpha.engine.examples import load_example
from amorpha.engine.spectra import SiteSpectra
from amorpha.engine.surrogate.domain import DOMAIN_QUANTILE, domain_radius, nearest_distances
from amorpha.engine.surrogate.model import SpectrumModel, SurrogateParams

ENERGY = np.linspace(0.0, 30.0, 61)


def test_nearest_distances_agree_with_scipy():
    rng = np.random.default_rng(0)
    q, r = rng.normal(size=(3000, 7)), rng.normal(size=(50, 7))  # more queries than one block
    np.testing.assert_allclose(nearest_distances(q, r), cdist(q, r).min(axis=1), rtol=1e-9, atol=1e-9)
    full = cdist(r, r)
    np.fill_diagonal(full, np.inf)
    np.testing.assert_allclose(nearest_distances(r, r, skip_self=True), full.min(axis=1), rtol=1e-9)


def test_a_new_site_drawn_like_the_training_sites_is_outside_one_time_in_twenty():
    """Exchangeability: a new draw's distance to its nearest training site is distributed like a
    training site's distance to its nearest other one, so it exceeds their 95th percentile 5 % of
    the time; a cloud moved away lies wholly outside."""
    rng = np.random.default_rng(1)
    train = rng.normal(size=(500, 6))
    radius = domain_radius(train)
    new = rng.normal(size=(20000, 6))
    outside = np.mean(nearest_distances(new, train) > radius)
    assert outside == pytest.approx(1 - DOMAIN_QUANTILE, abs=0.015)
    assert np.all(nearest_distances(new[:100] + 8.0, train) > radius)


def test_duplicates_do_not_shrink_the_radius_and_one_site_has_none():
    rng = np.random.default_rng(2)
    distinct = rng.normal(size=(40, 3))
    assert domain_radius(np.repeat(distinct, 4, axis=0)) == domain_radius(distinct) > 0
    assert np.isnan(domain_radius(np.tile(distinct[:1], (5, 1))))


def test_a_models_own_sites_are_inside_and_far_ones_outside():
    rng = np.random.default_rng(3)
    x = rng.uniform(-1.5, 1.5, (120, 4))
    y = SiteSpectra(ENERGY, np.exp(-0.5 * (ENERGY - 10 - 3 * x[:, :1]) ** 2), np.arange(120))
    for regressor in ("gp", "ridge"):  # the measure needs no particular regressor
        model = SpectrumModel.train(x, y, {}, SurrogateParams(regressor=regressor))
        assert np.allclose(model.distance_from_training(x), 0.0, atol=1e-6)
        assert np.all(model.distance_from_training(x + 5.0) > 1.5)


@pytest.fixture(scope="module")
def shipped():
    from amorpha.gui.prediction import builtin_model_paths

    return [SpectrumModel.load(p) for p in builtin_model_paths()]


def test_the_shipped_models_know_silicas_tetrahedra_and_not_stishovites_octahedra(shipped):
    """Trained on the examples' a-SiO2, a-SiO and a-Si: α-quartz's SiO4 tetrahedra lie inside
    what both models learnt; stishovite's SiO6 octahedra (Si six-fold, O three-fold; a 1.78 Å
    rutile-type cell, far outside anything trained on) lie well outside."""
    quartz = load_example("alpha-quartz")
    stishovite = crystal(["Si", "O"], [(0, 0, 0), (0.3061, 0.3061, 0)], spacegroup=136,
                         cellpar=[4.1773, 4.1773, 2.6655, 90, 90, 90]).repeat((2, 2, 3))
    for model in shipped:
        assert np.all(model.predict_structure(quartz).distance < 1.0), model.element
        assert np.all(model.predict_structure(stishovite).distance > 2.0), model.element


def test_the_note_is_silent_for_sites_drawn_like_the_training_sites():
    """About 5 % of such sites lie beyond the radius by construction: that is no news."""
    from amorpha.engine.surrogate.domain import outside_note

    rng = np.random.default_rng(4)
    train = rng.normal(size=(400, 5))
    radius = domain_radius(train)
    alike = nearest_distances(rng.normal(size=(1000, 5)), train) / radius
    assert 0.02 < np.mean(alike > 1) < 0.08 and outside_note(alike, "Si") == ""
    mixed = np.concatenate([alike, nearest_distances(rng.normal(size=(200, 5)) + 1.2, train) / radius])
    assert outside_note(mixed, "Si").startswith(f"{np.sum(mixed > 1)} of 1200 Si sites lie beyond the spread")
    far = nearest_distances(rng.normal(size=(30, 5)) + 20.0, train) / radius
    assert outside_note(far, "O").startswith("All 30 O sites lie far from every site the model learnt from")


def test_a_crystals_equivalent_sites_are_one_site_not_noise_scaled_apart():
    """Rutile's 72 Ti sites are one site: their descriptors differ by rounding (1e-15). Scaled to
    unit spread, that noise would set them apart, and a perfect crystal would be reported as lying
    beyond its own training sites; the model treats such a feature as constant and finds no
    spread to measure distances by (NaN: no note)."""
    from amorpha.engine.surrogate.domain import outside_note
    from amorpha.engine.surrogate.pipeline import site_pool, training_descriptor

    rutile = crystal(["Ti", "O"], [(0, 0, 0), (0.3049, 0.3049, 0)], spacegroup=136,
                     cellpar=[4.594, 4.594, 2.959, 90, 90, 90]).repeat((3, 3, 4))
    pool = site_pool([rutile], "Ti", training_descriptor(["O", "Ti"], "Ti", True, 3.0))
    x = pool.features
    assert len(np.unique(x, axis=0)) > 1 and np.ptp(x, axis=0).max() < 1e-12  # rounding, not structure
    spectra = SiteSpectra(ENERGY, np.tile(np.exp(-0.5 * (ENERGY - 10) ** 2), (8, 1)), np.arange(8))
    model = SpectrumModel.train(x[:8], spectra, {}, SurrogateParams(regressor="gp"))
    distance = model.distance_from_training(x)
    assert np.all(np.isnan(distance)) and outside_note(distance, "Ti") == ""
    np.testing.assert_allclose(model.predict(x), spectra.intensity[:1].repeat(72, axis=0), atol=1e-6)


def test_one_site_is_said_in_the_singular():
    """"All 1 S sites lie far…" for a molecule's one absorber."""
    from amorpha.engine.surrogate.domain import outside_note

    assert outside_note(np.array([3.0]), "S").startswith(
        "The one S site lies far from every site the model learnt from (median 3.0 times its domain radius): "
        "its spectrum is extrapolated")

"""Spectrum images: PCA, NMF and k-means on line scans and maps made with known answers.

The synthetic line scan mixes two (or three) component spectra with fractions that change along
the scan, plus Poisson noise: PCA must find the rank, NMF the fraction profiles, k-means the phases;
the real DM4 2×2 spectrum image must decompose with its energy axis.
"""
import time

import numpy as np
import pytest

from amorpha.engine.errors import ParameterError
from amorpha.engine.spectra.images import DecompositionParams, compare_components, decompose
from amorpha.engine.spectra.microscope import SpectrumData, read_microscope
from amorpha.engine.spectra.spectrum import Spectrum

ENERGY = np.linspace(95.0, 135.0, 400)


def peak(centre, width=2.0):
    return np.exp(-0.5 * ((ENERGY - centre) / width) ** 2)


def edge(onset, peak_at):
    """An edge: a step (arctan) at ``onset`` and a white line at ``peak_at``."""
    return 0.5 + np.arctan((ENERGY - onset) / 0.8) / np.pi + 1.5 * peak(peak_at, 1.2)


A, B, C = edge(100.0, 101.5), edge(106.0, 108.0), peak(120.0, 3.0)


def line_scan(n=64, counts=2000.0, seed=1, third=False):
    """Fractions of A fall linearly along the scan (B takes the rest); C a bump in the middle."""
    rng = np.random.default_rng(seed)
    f = np.linspace(1.0, 0.0, n)
    mix = f[:, None] * A + (1 - f)[:, None] * B
    if third:
        g = np.exp(-0.5 * ((np.arange(n) - n / 2) / 6.0) ** 2)
        mix = mix + g[:, None] * C
    clean = counts * mix
    return SpectrumData(ENERGY, rng.poisson(clean).astype(float)), f, clean


def test_pca_finds_the_rank_and_matches_the_svd():
    data, _, _ = line_scan(third=True)
    dec = decompose(data, DecompositionParams("pca", 5))
    assert dec.maps.shape == (64, 5) and dec.components.shape == (5, 400)
    # three signals: the mean plus two directions carry nearly all the variance
    assert dec.explained[:2].sum() > 0.97 and dec.explained[2] < 0.02
    # explained variance ratio = squared singular values of the centred data over their sum
    centred = data.data - data.data.mean(axis=0)
    s = np.linalg.svd(centred, compute_uv=False)
    np.testing.assert_allclose(dec.explained, s[:5] ** 2 / np.sum(s ** 2), rtol=1e-6)
    # mean + two components rebuild the noiseless scan to the noise level
    two = DecompositionParams("pca", 2)
    rebuilt = decompose(data, two).reconstruction()
    rms_noise = np.sqrt(data.data.mean())
    assert np.sqrt(np.mean((rebuilt - data.data) ** 2)) < 1.1 * rms_noise


def test_nmf_recovers_fraction_profiles_and_component_shapes():
    # NMF parts are unique only where each part has channels of its own: two separate edges' peaks
    rng = np.random.default_rng(2)
    f = np.linspace(1.0, 0.0, 64)
    pa, pb = peak(104.0, 2.0), peak(114.0, 2.5)
    data = SpectrumData(ENERGY, rng.poisson(2000 * (f[:, None] * pa + (1 - f)[:, None] * pb)).astype(float))
    dec = decompose(data, DecompositionParams("nmf", 2))
    counts = dec.maps * dec.components.sum(axis=1)  # counts each part gives each pixel
    profiles = counts / counts.sum(axis=1, keepdims=True)
    truth = f * pa.sum() / (f * pa.sum() + (1 - f) * pb.sum())  # share of part A in the counts
    k_a = int(np.argmax([np.corrcoef(profiles[:, k], truth)[0, 1] for k in range(2)]))
    assert np.corrcoef(profiles[:, k_a], truth)[0, 1] > 0.995
    comp = dec.component(k_a)
    assert np.corrcoef(comp.intensity, pa)[0, 1] > 0.99
    np.testing.assert_allclose(profiles[:, k_a], truth, atol=0.03)


def test_kmeans_finds_phases_and_cluster_means():
    rng = np.random.default_rng(3)
    phase = np.repeat([0, 1, 2], [30, 20, 14])  # three regions along a 64-pixel scan
    thickness = rng.uniform(0.5, 2.0, size=64)  # normalise must ignore the thickness
    clean = 1500 * thickness[:, None] * np.array([A, B, A + C])[phase]
    data = SpectrumData(ENERGY, rng.poisson(clean).astype(float))
    dec = decompose(data, DecompositionParams("kmeans", 3))
    from sklearn.metrics import adjusted_rand_score

    assert adjusted_rand_score(phase, dec.labels) == 1.0
    assert [int(np.sum(dec.labels == k)) for k in range(3)] == [30, 20, 14]  # largest first
    np.testing.assert_allclose(dec.components[0], data.data[phase == 0].mean(axis=0))
    assert set(np.unique(dec.maps)) == {0.0, 1.0} and np.all(dec.maps.sum(axis=-1) == 1)
    # the cluster means judged against "predictions": each is most like its own phase
    for k, truth in enumerate([A, B, A + C]):
        rows = compare_components(dec, Spectrum(ENERGY, truth, label="truth"))
        assert int(np.argmax([r["pearson"] for r in rows])) == k and rows[k]["pearson"] > 0.99


def test_two_dimensional_map_keeps_its_layout():
    data, f, _ = line_scan(n=48)
    image = SpectrumData(ENERGY, data.data.reshape(6, 8, -1))
    dec = decompose(image, DecompositionParams("nmf", 2, window=(98.0, 112.0)))
    assert dec.maps.shape == (6, 8, 2) and dec.image(0).shape == (6, 8)
    assert dec.energy[0] >= 98.0 and dec.energy[-1] <= 112.0
    flat = decompose(data, DecompositionParams("nmf", 2, window=(98.0, 112.0)))
    np.testing.assert_allclose(dec.maps.reshape(48, 2), flat.maps, rtol=1e-6, atol=1e-9)


def test_sixty_four_pixel_line_scan_under_two_seconds():
    data, _, _ = line_scan(n=64)
    data = SpectrumData(np.linspace(95, 135, 2048), np.repeat(data.data, 2048 // 400 + 1, axis=1)[:, :2048])
    start = time.perf_counter()
    for method in ("pca", "nmf", "kmeans"):
        decompose(data, DecompositionParams(method, 3))
    assert time.perf_counter() - start < 2.0


def test_bad_requests_say_what_is_wrong():
    data, _, _ = line_scan(n=8)
    with pytest.raises(ParameterError, match="n_components: must be 1 to 8"):
        decompose(data, DecompositionParams("pca", 9))
    with pytest.raises(ParameterError, match="method"):
        decompose(data, DecompositionParams("ica", 2))
    with pytest.raises(ParameterError, match="one spectrum"):
        decompose(SpectrumData(ENERGY, A), DecompositionParams("pca", 1))
    with pytest.raises(ParameterError, match="window: .* holds 0 channels"):
        decompose(data, DecompositionParams("pca", 2, window=(500.0, 600.0)))
    same = SpectrumData(ENERGY, np.tile(A, (6, 1)))
    with pytest.raises(ParameterError, match="distinct clusters"):
        decompose(same, DecompositionParams("kmeans", 3))


def test_shared_dm4_spectrum_image(shared_data):
    image = read_microscope(shared_data / "eels/rosettasciio/EELS_SI.dm4")
    dec = decompose(image, DecompositionParams("pca", 2))
    assert dec.maps.shape == (2, 2, 2) and dec.energy[0] == 300.0 and len(dec.energy) == 2048
    np.testing.assert_allclose(dec.mean, image.data.reshape(4, -1).mean(axis=0))
    clusters = decompose(image, DecompositionParams("kmeans", 2))
    assert clusters.labels.shape == (2, 2)
    nmf = decompose(image, DecompositionParams("nmf", 2, window=(400.0, 800.0)))
    assert nmf.components.shape[1] == int(np.sum((image.energy >= 400) & (image.energy <= 800)))

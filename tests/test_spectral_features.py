"""Numbers read off site spectra (engine.spectra.features), on curves whose answers are known:
Gaussians (the maximum, the centroid), an error-function edge (its steepest rise is its centre)."""
import numpy as np
import pytest
from scipy.special import erf

from amorpha.engine.spectra import SiteSpectra, SpectrumError
from amorpha.engine.spectra.features import FEATURES, feature, refine_maxima

GRID = np.arange(0.0, 40.0, 0.25)


def gaussian(centre, width=1.0, grid=GRID):
    return np.exp(-0.5 * ((grid - centre) / width) ** 2)


def site_set(rows, grid=GRID):
    return SiteSpectra(grid, rows, np.arange(len(rows)), "Si", "K")


def test_intensity_at_an_energy_interpolates_each_site():
    energy = np.array([0.0, 1.0, 2.0])
    data = SiteSpectra(energy, [[0.0, 2.0, 4.0], [1.0, 1.0, 0.0]], [3, 7], "Si", "K")
    np.testing.assert_allclose(data.feature("intensity", 0.25), [0.5, 1.0])
    np.testing.assert_allclose(data.feature("intensity", 1.5), [3.0, 0.5])
    np.testing.assert_allclose(data.feature("intensity", 9.0), [4.0, 0.0])  # the end value past the grid
    # the same grid drawn elsewhere (placed at an onset of 100 eV): the same values there
    np.testing.assert_allclose(data.feature("intensity", 101.5, energy + 100.0), [3.0, 0.5])
    with pytest.raises(ValueError, match="needs an energy"):
        data.feature("intensity")


def test_peak_energy_between_grid_points_is_exact_for_gaussians():
    centres = [12.0, 12.07, 18.61, 25.125]
    data = site_set([gaussian(c, w) for c, w in zip(centres, [0.8, 1.0, 1.7, 2.5])])
    np.testing.assert_allclose(data.feature("peak_energy"), centres, atol=1e-9)
    heights = site_set([a * gaussian(c) for a, c in [(1.0, 12.0), (2.5, 20.25), (0.4, 31.5)]]).feature("peak_height")
    np.testing.assert_allclose(heights, [1.0, 2.5, 0.4])
    # a peak drawn 530 eV higher (placed beside a measured edge) is read on that axis
    np.testing.assert_allclose(data.feature("peak_energy", energy=GRID + 530.0), np.add(centres, 530.0), atol=1e-9)


def test_centroid_of_symmetric_peaks_is_their_centre():
    rows = [gaussian(15.3), 2.0 * gaussian(20.0, 2.0) + gaussian(24.0, 2.0) * 2.0]
    np.testing.assert_allclose(site_set(rows).feature("centroid"), [15.3, 22.0], atol=1e-6)


@pytest.mark.parametrize("onset", [8.0, 8.1, 11.37])
def test_edge_energy_is_the_steepest_rise_of_an_error_function_edge(onset):
    # an edge step of width 1 eV under a weak, broad peak 6 eV above it: the rise is steepest at the onset
    step = 0.5 * (1.0 + erf((GRID - onset) / (np.sqrt(2.0) * 1.0)))
    row = step + 0.3 * gaussian(onset + 6.0, 2.0)
    assert site_set([row]).feature("edge_energy")[0] == pytest.approx(onset, abs=0.02)


def test_edge_ignores_rises_above_the_main_peak():
    # a second, steeper but lower peak after the white line is not the edge
    row = gaussian(10.0, 2.0) + 0.6 * gaussian(30.0, 0.4)
    assert site_set([row]).feature("edge_energy")[0] == pytest.approx(8.0, abs=0.05)  # centre − σ


def test_maxima_at_the_grid_ends_and_flat_tops_stay_on_grid_points():
    x = np.arange(5.0)
    rows = np.array([[5.0, 4, 3, 2, 1], [1.0, 2, 3, 4, 5], [0.0, 1, 1, 1, 0], [-1.0, 0.5, -2, -3, -4]])
    got = refine_maxima(x, rows, np.argmax(rows, axis=1))
    assert got[0] == 0.0 and got[1] == 4.0
    assert got[2] == pytest.approx(2.0 - 0.5)  # a plateau: the parabola through 0,1,1 peaks between them
    assert 0.0 <= got[3] <= 2.0  # negative values: a parabola on the values themselves


def test_every_feature_has_a_column_and_a_wrong_grid_is_refused():
    assert len({f.column for f in FEATURES}) == len(FEATURES)
    assert feature("intensity").column == "predicted_intensity"
    with pytest.raises(KeyError, match="known: intensity"):
        feature("wiggliness")
    with pytest.raises(SpectrumError, match="grid of 3 points"):
        site_set([gaussian(10.0)]).feature("peak_energy", energy=np.arange(3.0))

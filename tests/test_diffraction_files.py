"""A diffraction pattern saved as .npz or .csv reads back with numpy to the same numbers on the
same k axes, I[k_y, k_x] the right way round (a pattern made lopsided on purpose tells k_x from
k_y), with the column's geometry; other endings are refused before anything is written."""
from dataclasses import replace

import numpy as np
import pytest
from ase.build import bulk

from amorpha.engine.errors import ParameterError
from amorpha.engine.order.diffraction import DiffractionParams, compute_diffraction
from amorpha.engine.order.diffraction_files import write_pattern


@pytest.fixture(scope="module")
def result():
    crystal = bulk("Cu", "fcc", 3.615, cubic=True).repeat((3, 3, 3))
    params = DiffractionParams(diameter=5.0, k_max=1.0, pixels=32, voltage=200.0)
    out = compute_diffraction(crystal, crystal.positions[13], [0, 0, 1], params, up=[0, 1, 0])
    intensity = out.intensity.copy()
    intensity[3, 20] = 1e6  # one marked pixel: row k_y = k[3], column k_x = k[20]
    return replace(out, intensity=intensity)


def test_npz_round_trip_with_axes_and_geometry(tmp_path, result):
    path = write_pattern(result, tmp_path / "p.npz")
    with np.load(path, allow_pickle=False) as data:
        np.testing.assert_array_equal(data["intensity"], result.intensity)
        np.testing.assert_array_equal(data["k_x"], result.k)
        np.testing.assert_array_equal(data["k_y"], result.k)
        np.testing.assert_array_equal(data["direction"], result.column.direction)
        np.testing.assert_array_equal(data["atoms"], result.column.indices)
        assert float(data["wavelength"]) == pytest.approx(0.02508, abs=1e-5)  # 200 kV
        assert str(data["probe"]) == "parallel"
        # 200 kV: amplitudes × γ = 1 + eV/mc² (Peng's f_e are non-relativistic), and said so
        assert float(data["gamma"]) == pytest.approx(1.0 + 200.0 / 510.99895, rel=1e-6)
        assert "relativistic" in str(data["intensity_units"])
        row, col = np.unravel_index(np.argmax(data["intensity"]), data["intensity"].shape)
        assert (data["k_y"][row], data["k_x"][col]) == (result.k[3], result.k[20])


def test_csv_grid_reads_back_exactly(tmp_path, result):
    path = write_pattern(result, tmp_path / "p.CSV")
    grid = np.loadtxt(path, delimiter=",")
    k_x, k_y, intensity = grid[0, 1:], grid[1:, 0], grid[1:, 1:]
    np.testing.assert_array_equal(k_x, result.k)
    np.testing.assert_array_equal(k_y, result.k)
    np.testing.assert_array_equal(intensity, result.intensity)
    assert intensity[3, 20] == 1e6
    header = [line for line in open(path, encoding="utf-8") if line.startswith("#")]
    assert any(line.startswith("# voltage: 200.0") for line in header)
    assert "intensity I in Å², relativistic f_e (γ = 1.3914)" in header[0]
    assert any(f"atoms in the column: {len(result.column)}" in line for line in header)


def test_other_endings_are_refused_and_nothing_is_written(tmp_path, result):
    with pytest.raises(ParameterError, match=r"\.npz or \.csv"):
        write_pattern(result, tmp_path / "p.png")
    assert list(tmp_path.iterdir()) == []

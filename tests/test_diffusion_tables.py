"""A KMC run saved as a table (the Diffusion panel's Save run…): the columns are the analytic
MSD of a simple cubic walk, measured along channels where the paths span only those."""
import numpy as np
import pytest

from amorpha.engine.diffusion import (KB_EV, KmcParams, Spanning, diffusion_coefficient, run_kmc,
                                      simple_cubic_lattice, write_run_csv)


def read(path):
    text = path.read_text()
    comments = [l[2:] for l in text.splitlines() if l.startswith("# ")]
    header = text.splitlines()[len(comments)].split(",")
    return comments, header, np.loadtxt(path, delimiter=",", skiprows=len(comments) + 1)


@pytest.fixture(scope="module")
def walk():
    a, barrier, T = 2.0, 0.3, 500.0
    network = simple_cubic_lattice(4, a, barrier)
    result = run_kmc(network, KmcParams(T, n_walkers=20_000, n_steps=200, n_samples=10, seed=5))
    return network, result, 1e13 * np.exp(-barrier / (KB_EV * T)) * a * a  # D = k·a², exact


def test_a_3d_run_is_msd_and_d(walk, tmp_path):
    network, result, exact = walk
    write_run_csv(tmp_path / "run.csv", "Li", result, network.cell, None, ["source: a cube"])
    comments, header, table = read(tmp_path / "run.csv")
    assert header == ["t_s", "MSD_A2", "MSD_err_A2"]
    assert comments[0].startswith("KMC of Li at 500.0 K: 20000 walkers, ")
    assert comments[-1] == "source: a cube" and not any("INCOMPLETE" in c for c in comments)
    t, msd = table[1:, 0], table[1:, 1]
    np.testing.assert_allclose(msd, 6 * exact * t, rtol=0.04)  # MSD = 6·D·t at all times
    fit = diffusion_coefficient(result)
    assert comments[1].startswith(f"D = {fit.D!r} ± {fit.D_err!r} A2/s, from MSD = 6 D t + c")
    assert comments[2].startswith("diffusion tensor principal values (A2/s): ")


def test_along_channels_the_msd_is_of_the_displacements_along_them(walk, tmp_path):
    """Told that the paths span only along c, the table's MSD is that along c: 2·D·t for the
    same walk, with the whole 6·D·t beside it."""
    network, result, exact = walk
    write_run_csv(tmp_path / "run.csv", "Li", result, network.cell,
                  Spanning(0.3, np.array([[0, 0, 1]])))
    comments, header, table = read(tmp_path / "run.csv")
    assert header == ["t_s", "MSD_A2", "MSD_err_A2", "MSD_3D_A2"]
    t = table[1:, 0]
    np.testing.assert_allclose(table[1:, 1], 2 * exact * t, rtol=0.05)
    np.testing.assert_allclose(table[1:, 3], 6 * exact * t, rtol=0.04)
    assert comments[1].startswith("D along c = ") and "from MSD = 2 D t + c" in comments[1]
    assert "MSD: of the displacements along c" in comments[3]

"""``amorpha-cli diffusion --reference/--surrogate``: a surrogate trained on UFF (He in fcc Ag; or on imported
CSV energies) drives the same pipeline, is saved once and loaded on the next run, and a file for
another element, an unknown reference or a missing CSV are one-sentence errors (exit 2).

The host is fcc Ag's one-atom primitive cell and the surrogates are small: each run is a few
seconds, most of it the start of a Python process. He, not H: UFF itself has hops for He here (6),
none for H (every H hop is above its 5 eV barrier limit), so an H surrogate could only find hops
in minima it made up where it saw no data (the SOAP model's guard now prevents those)."""
import json

import numpy as np
import pytest
from ase.build import bulk

from amorpha.engine.diffusion import HostPotential
from amorpha.engine.diffusion.surrogate import SurrogateParams, sample_positions
from amorpha.engine.io import write_extxyz

from test_cli import cli

N_TRAIN, N_TEST = 40, 10
RUN = ("--element", "He", "--temperatures", "300,500", "--walkers", "20", "--steps", "100",
       "--train", str(N_TRAIN), "--test", str(N_TEST), "--format", "json")


def result(folder):
    (document,) = [json.loads(p.read_text()) for p in folder.glob("*diffusion.json")]
    return document["parameters"], document["results"][0]


@pytest.fixture(scope="module")
def host_file(tmp_path_factory):
    folder = tmp_path_factory.mktemp("host")
    host = bulk("Ag", "fcc", 4.09)
    write_extxyz([host], folder / "ag.extxyz")
    return host, folder / "ag.extxyz"


def test_surrogate_is_trained_saved_and_loaded(host_file, tmp_path):
    host, path = host_file
    model = tmp_path / "h.zip"
    first, second = tmp_path / "first", tmp_path / "second"
    code, _, err, _ = cli("diffusion", path, *RUN, "--surrogate", model, "--out", first,
                          timeout=300)
    assert code == 0, err
    assert model.exists()
    parameters, trained = result(first)
    assert parameters["reference"] == "uff" and "surrogate" in parameters["potential"]
    assert trained["surrogate_reference"] == "UFF Lennard-Jones"
    assert trained["surrogate_n_train"] == N_TRAIN and trained["surrogate_n_test"] == N_TEST
    assert trained["sites"] > 0 and trained["n_paths"] > 0
    code, _, err, _ = cli("diffusion", path, *RUN, "--surrogate", model, "--out", second,
                          timeout=300)
    assert code == 0, err
    _, loaded = result(second)  # the same network: the same landscape and walkers
    assert np.isfinite(trained["surrogate_guard_ev"])
    for key in ("sites", "n_paths", "percolation_barrier_ev", "D_A2_per_s",
                "surrogate_test_rmse_ev", "surrogate_guard_ev"):
        assert loaded[key] == trained[key]
    code, _, err, _ = cli("diffusion", path, *RUN[2:], "--element", "Na", "--surrogate", model,
                          "--out", tmp_path / "na")
    assert code == 2 and "for a He atom" in err


def test_csv_reference_and_bad_references(host_file, tmp_path):
    host, path = host_file
    # positions as the pipeline samples them (sites and the passes between them: with the 50
    # lowest of 1000 random ones the barriers were an extrapolation, above UFF's own 5 eV limit)
    points = sample_positions(host, SurrogateParams(element="He", n_train=N_TRAIN, n_test=N_TEST))
    energies = HostPotential(host, "He").energy(points)
    rows = "\n".join(",".join(repr(float(v)) for v in (*p, e)) for p, e in zip(points, energies))
    csv_file = tmp_path / "h.csv"
    csv_file.write_text("x,y,z,energy\n" + rows + "\n")
    code, _, err, _ = cli("diffusion", path, *RUN, "--reference", f"csv:{csv_file}", "--out",
                          tmp_path, timeout=300)
    assert code == 0, err
    parameters, out = result(tmp_path)
    assert out["surrogate_reference"] == "imported h.csv" and out["sites"] > 0
    code, _, err, _ = cli("diffusion", path, "--reference", "dft")
    assert code == 2 and "uff, xtb or csv:FILE" in err
    code, _, err, _ = cli("diffusion", path, "--reference", f"csv:{tmp_path / 'none.csv'}")
    assert code == 2 and "no such file" in err


def test_soap_model_runs_from_the_command_line(host_file, tmp_path):
    host, path = host_file
    model = tmp_path / "h-soap.zip"
    code, _, err, _ = cli("diffusion", path, *RUN, "--surrogate", model, "--model", "soap",
                          "--out", tmp_path / "soap", timeout=300)
    assert code == 0, err
    parameters, trained = result(tmp_path / "soap")
    assert parameters["potential"].startswith("SOAP kernel-ridge surrogate trained on uff")
    assert trained["sites"] > 0 and trained["n_paths"] > 0
    from amorpha.engine.diffusion.surrogate import Surrogate
    assert Surrogate.load(model, host, "He").potential.kind == "soap-quadratic"
    code, _, err, _ = cli("diffusion", path, *RUN, "--model", "kernel", "--out", tmp_path / "x")
    assert code == 2 and "--model" in err

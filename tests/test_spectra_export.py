"""Saving measured work: steps as JSON (replayable), spectra as EMSA/MSA, fit reports as CSV."""
import csv
import json

import numpy as np
import pytest

from amorpha.engine.errors import ParameterError
from amorpha.engine.spectra.export import write_fit_report, write_msa
from amorpha.engine.spectra.microscope import read_microscope
from amorpha.engine.spectra.prepare import (Step, calibrate, edge_step_normalise, fourier_ratio,
                                            powerlaw_background, replay, smooth, steps_of)
from amorpha.engine.spectra.spectrum import Spectrum
from amorpha.engine.spectra.unmix import bootstrap, fit_components


def core_and_low_loss():
    e = np.arange(100.0, 160.0, 0.1)
    rng = np.random.default_rng(5)
    core = 1e9 * e ** -3.0 + 400.0 * (0.5 + np.arctan((e - 130.0) / 0.5) / np.pi)
    el = np.arange(-5.0, 40.0, 0.1)
    low = 1e5 * np.exp(-0.5 * (el / 0.4) ** 2) + 2e3 * np.exp(-0.5 * ((el - 20.0) / 4.0) ** 2)
    return Spectrum(e, rng.poisson(core).astype(float), label="core"), Spectrum(el, low, label="low.msa")


def test_steps_survive_json_and_replay_identically():
    core, low = core_and_low_loss()
    s = calibrate(core, shift=0.3, scale=1.0)
    s, _ = powerlaw_background(s, (105.0, 125.0))
    s = fourier_ratio(s, low)
    s, _ = edge_step_normalise(s, (110.0, 125.0), (140.0, 155.0))
    s = smooth(s, "savgol", 0.7)
    steps = steps_of(s)
    text = json.dumps([step.to_dict() for step in steps])  # plain JSON, no arrays or objects
    back = [Step.from_dict(d) for d in json.loads(text)]
    assert back == steps
    assert back[2].params["low_loss"].label == "low.msa"
    again = replay(core, back)
    np.testing.assert_array_equal(again.energy, s.energy)
    np.testing.assert_array_equal(again.intensity, s.intensity)
    assert back[1].info["r"] == pytest.approx(steps[1].info["r"])
    with pytest.raises(ParameterError, match="step"):
        Step.from_dict({"params": {}})


def test_msa_round_trip_through_rosettasciio(tmp_path):
    core, _ = core_and_low_loss()
    s = calibrate(core, shift=-1.25, scale=1.0)
    path = tmp_path / "processed.msa"
    write_msa(s, path, beam_energy_kev=200.0)
    assert path.read_text(encoding="latin-1").startswith("#FORMAT")
    data = read_microscope(path)
    np.testing.assert_allclose(data.energy, s.energy, rtol=0, atol=1e-6)
    np.testing.assert_allclose(data.data, s.intensity, rtol=1e-6)
    assert data.meta["beam energy (keV)"] == 200.0
    uneven = Spectrum(np.array([1.0, 2.0, 4.0]), np.ones(3))
    with pytest.raises(ParameterError, match="uniform energy grid"):
        write_msa(uneven, tmp_path / "uneven.msa")
    assert not (tmp_path / "uneven.msa").exists()


def test_fit_report_csv_holds_fractions_and_curves(tmp_path):
    e = np.linspace(0, 30, 301)
    c1 = Spectrum(e, np.exp(-0.5 * ((e - 10) / 2) ** 2), label="Si0")
    c2 = Spectrum(e, np.exp(-0.5 * ((e - 16) / 2.5) ** 2), label="Si4+")
    measured = Spectrum(e, 300 * c1.intensity + 700 * c2.intensity + np.random.default_rng(1).normal(0, 2, len(e)))
    fit = bootstrap(fit_components(measured, [c1, c2], background="constant"), n=50, seed=0)
    path = tmp_path / "fit.csv"
    write_fit_report(fit, path, title="test")
    lines = path.read_text().splitlines()
    assert lines[0] == "# Amorpha fit report: test" and any(line.startswith("# r2: ") for line in lines)
    background = next(line for line in lines if line.startswith("# background: "))
    assert "np.float64" not in background  # plain numbers, as the rest of the report
    rows = list(csv.reader(line for line in lines if not line.startswith("#")))
    assert rows[0] == ["component", "fraction", "fraction_std", "weight"]
    assert [r[0] for r in rows[1:3]] == ["Si0", "Si4+"]
    np.testing.assert_allclose([float(r[1]) for r in rows[1:3]], fit.fractions)
    np.testing.assert_allclose([float(r[2]) for r in rows[1:3]], fit.fraction_std)
    assert abs(float(rows[1][1]) - 0.3) < 0.01
    curve_start = rows.index(["energy_eV", "measured", "fit", "residual"])
    curve = np.array(rows[curve_start + 1:], dtype=float)
    np.testing.assert_allclose(curve[:, 2], fit.model)
    np.testing.assert_allclose(curve[:, 1] - curve[:, 2], curve[:, 3])


def test_steps_kept_in_a_project_file(tmp_path):
    """The Measured panel puts the steps on its curve as plain dicts: a project keeps them."""
    from ase.build import bulk

    from amorpha.engine.project import Project, load_project, save_project

    core, low = core_and_low_loss()
    s, _ = powerlaw_background(calibrate(core, shift=0.3), (105.0, 125.0))
    s = fourier_ratio(s, low)
    shown = Spectrum(s.energy, s.intensity, label="core", meta={"steps": [st.to_dict() for st in steps_of(s)]})
    project = Project(structures={"model": bulk("Si")}, spectra={"measured 000: core": shown})
    save_project(project, tmp_path / "p.amorpha")
    back = load_project(tmp_path / "p.amorpha").spectra["measured 000: core"]
    steps = [Step.from_dict(d) for d in back.meta["steps"]]
    assert steps == steps_of(s)
    np.testing.assert_array_equal(replay(core, steps).intensity, s.intensity)

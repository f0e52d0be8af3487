"""The Si K surrogate that ships in resources/models/ (``make models``), checked against the
calculator on sites it was not trained on, every time the suite runs.
"""
import numpy as np
import pytest

from amorpha.engine.descriptors import compute, params_from_dict
from amorpha.engine.examples import load_example
from amorpha.engine.surrogate.metrics import cosine_similarity
from amorpha.engine.surrogate.model import SpectrumModel
from amorpha.engine.surrogate.pipeline import default_calculator
from amorpha.gui.prediction import default_model_path


@pytest.fixture(scope="module")
def shipped():
    path = default_model_path()
    assert path.is_file(), f"{path} is missing: run 'make models'"
    return SpectrumModel.load(path)


def test_shipped_model_describes_itself(shipped):
    assert (shipped.element, shipped.edge, shipped.reference) == ("Si", "K", "xTB (qualitative)")
    assert shipped.metrics["calculator"]["core_hole"] is True
    # Held-out Si sites of a-SiO2 and a-SiO, measured by `make models`. The issue asks R² ≥ 0.9 and
    # cosine ≥ 0.98; the sites at SiO2/Si interfaces of a-SiO are not there yet (see the notes),
    # so this guards what was reached against regressions. Of the 37 held-out sites, two ideal
    # SiO4 tetrahedra in a-SiO carry 59 % of the squared error: their xTB references put the white
    # line at 8.4-8.8 eV instead of the ~11 eV of every other SiO4 (a ΔSCF edge disturbed by the
    # under-coordinated Si around them; 20 % of a-SiO's Si have ≤ 3 neighbours); without the worst
    # three, R² 0.84 and cosine 0.97. The a-SiO2 sites alone: cosine 0.983 but R² -0.07, since
    # their spectra barely differ (this R² measures the variation between sites; each spectrum's
    # own R², ``r2_per_spectrum``, is 0.82 on average). SOAP + local features or kernel ridge
    # instead of the GP give 0.63/0.938 and 0.58/0.929: the references, not the regressor, limit it.
    m = shipped.metrics
    assert m["n"] >= 30 and m["r2"] >= 0.55 and m["cosine_mean"] >= 0.92, m


@pytest.mark.slow
def test_shipped_model_predicts_unseen_a_sio2_sites_like_xtb(shipped):
    atoms = load_example("a-SiO2")
    sites = shipped.sites_of(atoms)
    features = compute(atoms, params_from_dict(shipped.descriptor), sites)
    seen = {row.tobytes() for row in shipped._training[0]}
    unseen = [k for k in np.random.default_rng(7).permutation(len(sites))
              if features[k].tobytes() not in seen][:3]
    calculator = default_calculator(shipped.metrics["calculator"], cache=False)
    reference = calculator.site_spectra(atoms, sites[unseen])
    predicted = shipped.predict(features[unseen])
    np.testing.assert_allclose(reference.energy, shipped.energy)
    cos = cosine_similarity(reference.intensity, predicted)
    assert cos.mean() >= 0.95, cos  # a-SiO2 held-out sites measured 0.955-0.999

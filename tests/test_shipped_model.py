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
    assert shipped.metrics["calculator"]["core_hole_model"] == "full"
    # Held-out Si sites of a-SiO2 and a-SiO, measured by `make models`. The issue asks R² ≥ 0.9 and
    # cosine ≥ 0.98; this guards what was reached against regressions. With the excited core hole
    # (XCH) the model reached R² 0.62, cosine 0.936 (min 0.38): two SiO4 of a-SiO next to dangling
    # bonds put the extra electron there and their white lines 2-2.4 eV below every other SiO4
    # (59 % of the error). With the full core hole (39 sites): R² 0.82, cosine 0.971 (min 0.91),
    # peak error 0.44 eV; a-SiO2 alone cosine 0.984, a-SiO 0.965 (then a strained mixture, 37 % of
    # its Si under-bonded, mostly Si0 and Si4+). On the a-SiO with relaxed interfaces (45 % sub-
    # oxide Si) 120 references gave R² 0.82, cosine 0.956; with 300 and SOAP sigma 0.3 (40 sites):
    # R² 0.87, cosine 0.971 (min 0.92), peak error 0.76 eV; a-SiO2 cosine 0.984, a-SiO 0.965, the
    # worst being Si1+-Si3+, whose broad spectra have several maxima of about the same height
    # (peak error 1.0 eV on a-SiO, 0.18 eV on a-SiO2). The old model scored cosine 0.924 there.
    # Fitted per oxidation state (grouped descriptor) on the same 300 references: R² 0.887, cosine
    # 0.975 (min 0.895, a Si3+ site), peak error 0.67 eV; a-SiO2 0.986, a-SiO 0.971. With each
    # reference the mean over clusters of 4.8, 5 and 5.2 Å (radius_spread 0.2; 300 references
    # chosen again): R² 0.900, cosine 0.9775 (min 0.898), peak error 0.70 eV; a-SiO2 0.989,
    # a-SiO 0.973. With 450 references: R² 0.910, cosine 0.979 (min 0.914), peak error 0.63 eV;
    # a-SiO2 0.991, a-SiO 0.974 (600: 0.912, 0.9792). With each reference the mean over five
    # clusters, 4.6 to 5.4 Å (450 chosen again): R² 0.917, cosine 0.9805 (min 0.914), peak error
    # 0.59 eV; a-SiO2 0.993, a-SiO 0.975.
    m = shipped.metrics
    assert m["n"] >= 30 and m["r2"] >= 0.9 and m["cosine_mean"] >= 0.98 and m["cosine_min"] >= 0.90, m
    assert shipped.n_train == 450
    assert (m["calculator"]["radius_spread"], m["calculator"]["radius_points"]) == (0.4, 5)
    assert shipped.descriptor["kind"] == "grouped" and shipped.descriptor["element"] == "O"


@pytest.mark.slow
def test_the_models_axis_is_tied_to_silicas_measured_white_line(shipped):
    """Placed at the tabulated Si K onset (1839 eV, elemental Si), the a-SiO2 prediction peaks at
    silica's measured white line, ~1847 eV (Si⁴⁺ sits ~8 eV above Si⁰); untied it was 0.9 eV higher."""
    from amorpha.engine.spectra.edges import place_at_onset

    assert shipped.onset_at["ev"] == pytest.approx(0.9, abs=0.3)
    placed = place_at_onset(shipped.average(shipped.predict_structure(load_example("a-SiO2"))), 1839.0)
    assert placed.energy[np.argmax(placed.intensity)] == pytest.approx(1847.0, abs=0.11)


def test_shipped_model_predicts_unseen_a_sio2_sites_like_xtb(shipped):
    atoms = load_example("a-SiO2")
    sites = shipped.sites_of(atoms)
    features = compute(atoms, params_from_dict(shipped.descriptor), sites)
    seen = {row.tobytes() for row in shipped._training[0]}
    unseen = [k for k in np.random.default_rng(7).permutation(len(sites))
              if features[k].tobytes() not in seen][:2]  # 0.996 and 0.987 (a third: 0.990, 13 s more)
    calculator = default_calculator(shipped.metrics["calculator"], cache=False)
    reference = calculator.site_spectra(atoms, sites[unseen])
    predicted = shipped.predict(features[unseen])
    np.testing.assert_allclose(reference.energy, shipped.energy)
    cos = cosine_similarity(reference.intensity, predicted)
    assert cos.mean() >= 0.95, cos  # a-SiO2 held-out sites measured 0.955-0.999

"""The O K surrogate that ships in resources/models/ (``packaging/train_models.py --element O``):
it describes itself, predicts the O K spectra of the a-SiO2 and a-SiO examples with the shape
silica's O K edge has, and agrees with the calculator on sites it was not trained on.

Measured O K of SiO2 (XAS/EELS): edge onset ~535 eV, main peak ~538 eV, a second broad maximum
~545 eV. The model's energies are relative to the free O atom's ΔSCF (Z+1) edge, the atom's
1s→2p line, measured at 527.85 eV (Stolte et al., J. Phys. B 30, 4489 (1997)); xTB puts silica's
main peak 16.4 eV above it, 6 eV too high, so the model carries where the tabulated onset lies on
its axis, from silica's measured main peak (``packaging/train_models.py`` MEASURED_PEAK).
"""
import numpy as np
import pytest
from scipy.signal import find_peaks

from amorpha.engine.descriptors import params_from_dict
from amorpha.engine.examples import load_example
from amorpha.engine.surrogate.metrics import cosine_similarity
from amorpha.engine.surrogate.model import SpectrumModel
from amorpha.engine.surrogate.pipeline import calculator_oracle, default_calculator, site_pool
from amorpha.gui.prediction import builtin_model_paths

ATOM_1S_2P_EV = 527.85  # free O atom, the zero of the model's energy axis
SIO2_MAIN_PEAK_EV = 538.0
SIO2_SECOND_PEAK_EV = 545.0
# Held-out metrics reached when it was built (38 sites: R² 0.27, cosine 0.937, min 0.82; the
# mean spectrum alone gives cosine 0.90); rebuilt on the a-SiO with relaxed interfaces with SOAP
# r_cut 4 Å, sigma 0.3 (40 sites): R² 0.37, cosine 0.940, min 0.83, where the previous model
# scored R² 0.27, cosine 0.929; with each reference the mean of five clusters, 3.6-4.4 Å (40
# sites): R² 0.42, cosine 0.957, min 0.89: guarded against regressions. The R² ≥ 0.9 /
# cosine ≥ 0.98 are not reached for O K: site-to-site differences are small next to the shared
# shape, and the 4 Å cluster spectra are themselves within cosine ~0.93 of 5 Å ones.
R2_MIN, COSINE_MIN = 0.4, 0.95


@pytest.fixture(scope="module")
def shipped():
    path = builtin_model_paths(existing=False)[1]
    assert path.name == "O-K-xtb.amodel" and path.is_file(), \
        f"{path} is missing: packaging/train_models.py --element O"
    return SpectrumModel.load(path)


def average(model, key):
    atoms = load_example(key)
    return model.average(model.predict_structure(atoms)).intensity


def onset(energy, y):
    """First energy where the spectrum reaches 10 % of its maximum."""
    return float(energy[np.argmax(y >= 0.1 * y.max())])


def test_shipped_o_model_describes_itself(shipped):
    assert (shipped.element, shipped.edge, shipped.reference) == ("O", "K", "xTB (qualitative)")
    calc = shipped.metrics["calculator"]
    assert calc["core_hole"] is True and calc["energy_reference"] == "delta-scf"
    assert calc["cluster_radius"] == 4.0 and calc["lorentzian_fwhm"] == 0.2
    assert (calc["radius_spread"], calc["radius_points"]) == (0.4, 5)
    m = shipped.metrics  # held-out O sites of a-SiO2 and a-SiO, measured when it was built
    assert m["n"] >= 30 and m["r2"] >= R2_MIN and m["cosine_mean"] >= COSINE_MIN, m
    assert len(m["learning_curve"]["calls"]) >= 5


def test_a_sio2_o_k_has_silicas_edge_shape(shipped):
    e = shipped.energy
    y = average(shipped, "a-SiO2")
    assert np.all(np.isfinite(y)) and y.max() > 0
    peaks, _ = find_peaks(y, prominence=0.05 * y.max())
    main = int(peaks[np.argmax(y[peaks])])
    # xTB's minimal basis puts the oxide's edge ~6 eV too far above the atom's (qualitative);
    # the main peak still falls within 8 eV of the measured 538 eV and well above the atom's line.
    assert abs(ATOM_1S_2P_EV + e[main] - SIO2_MAIN_PEAK_EV) <= 8.0, e[main]
    assert ATOM_1S_2P_EV + e[main] > SIO2_MAIN_PEAK_EV - 2.0
    # the edge rises over a few eV to the main peak (measured ~3 eV from onset to peak)
    assert 2.0 <= e[main] - onset(e, y) <= 6.0
    # nothing of note below the edge: the O 1s level has no empty p states below it
    assert y[e < onset(e, y) - 2.0].max() < 0.05 * y.max()
    # the second, broader maximum ~7 eV above the main one (measured 545 - 538 eV)
    spacing = SIO2_SECOND_PEAK_EV - SIO2_MAIN_PEAK_EV
    later = [p for p in peaks if spacing - 2.0 <= e[p] - e[main] <= spacing + 4.0]
    assert later and 0.2 <= y[later].max() / y[main] <= 0.8, (e[peaks], y[peaks] / y[main])


@pytest.fixture(scope="module")
def placed_sio2(shipped):
    """The a-SiO2 O K prediction placed at the tabulated 532 eV onset, as the Measured panel does."""
    from amorpha.engine.spectra.edges import place_at_onset

    atoms = load_example("a-SiO2")
    return place_at_onset(shipped.average(shipped.predict_structure(atoms)), 532.0)


def test_the_models_axis_is_tied_to_silicas_measured_main_peak(shipped, placed_sio2):
    """Without the tie the prediction placed at the onset peaked at 548.4 eV, 10 eV above silica's."""
    assert shipped.onset_at["ev"] == pytest.approx(10.5, abs=0.3) and "538 eV" in shipped.onset_at["from"]
    peak = placed_sio2.energy[np.argmax(placed_sio2.intensity)]
    assert peak == pytest.approx(SIO2_MAIN_PEAK_EV, abs=0.11)  # one grid step
    assert placed_sio2.meta["onset_at_from"] == shipped.onset_at["from"]


@pytest.mark.parametrize("name, shift", [
    ("eelsdb/YAG_O_K_Sigle-Sturm.msa", 0.05), ("pyEELSMODEL/SrTiO3_hl.msa", 0.05),
    ("eelsdb/ta2o5-amoprhou.headerless_2col.txt", -1.85), ("rosettasciio/EELS_SI.dm4", -1.85),
    ("exspy/coreloss_spectrum.msa", 4.2)])
def test_measured_oxide_o_k_edges_meet_the_placed_prediction(placed_sio2, shared_data, name, shift):
    """Measured O K of other oxides (shared data; their own structure differs from silica's, so a
    few eV apart is physics): after the power-law background, the alignment's shift over the
    edge's near structure. Before the model was tied to silica's peak these were -10.4 to -12.8 eV;
    with single-cluster references -0.3, 0.0, -2.4, -2.3 and 4.1 eV."""
    from amorpha.engine.spectra.compare import align
    from amorpha.engine.spectra.edges import edge_windows
    from amorpha.engine.spectra.microscope import read_microscope
    from amorpha.engine.spectra.prepare import powerlaw_background

    measured = read_microscope(str(shared_data / "eels" / name)).spectrum()
    windows = edge_windows(measured.energy, 532.0)
    subtracted, _ = powerlaw_background(measured, windows["pre"])
    found, *_ = align(subtracted, placed_sio2, windows["near"], scale=False)
    assert found == pytest.approx(shift, abs=0.3)


def test_o_next_to_si_rich_regions_has_a_lower_edge(shipped):
    """a-SiO's O sites near Si-rich regions have ΔSCF edges down to ~7 eV (a-SiO2: 11.5-12 eV):
    the predicted a-SiO average starts lower than a-SiO2's and is broader."""
    e = shipped.energy
    sio2, sio = average(shipped, "a-SiO2"), average(shipped, "a-SiO")
    assert onset(e, sio) <= onset(e, sio2) - 0.5
    assert sio.max() < sio2.max()  # the same area spread over more energies


@pytest.mark.slow
def test_shipped_o_model_predicts_unseen_a_sio2_sites_like_xtb(shipped):
    """Three a-SiO2 O sites it was not trained on, through the same oracle as training (no cache)."""
    pool = site_pool([load_example("a-SiO2")], "O", params_from_dict(shipped.descriptor))
    seen = {row.tobytes() for row in shipped._training[0]}
    order = np.random.default_rng(11).permutation(len(pool.features))
    rows = [k for k in order if pool.features[k].tobytes() not in seen][:3]
    oracle = calculator_oracle(pool, default_calculator(shipped.metrics["calculator"], cache=False))
    done, reference = oracle(rows)
    assert len(done) == 3 and np.allclose(reference.energy, shipped.energy)
    cos = cosine_similarity(reference.intensity, shipped.predict(pool.features[done]))
    assert cos.mean() >= 0.9, cos

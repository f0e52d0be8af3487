"""Fixes from the audit of surrogate training and active learning, engine side: the oracle
reports each site and a Cancel keeps the sites of its round; a run says why it stopped; a model
trained by active learning keeps held-out scores and its learning curve through Save/Load; a
folder with one spectrum far off the others' energies leaves it out, and names a spectrum
without a structure."""
import numpy as np
import pytest

from amorpha.engine.descriptors import compute
from amorpha.engine.errors import ReadError
from amorpha.engine.examples import load_example
from amorpha.engine.spectra import read_spectrum_folder
from amorpha.engine.surrogate.active import ActiveLearner, ActiveParams, RoundCancelled
from amorpha.engine.surrogate.model import SpectrumModel
from amorpha.engine.surrogate.pipeline import (CURVE_OF_NEXT, SitePool, calculator_oracle, default_descriptor,
                                               learn, measured_model)
from amorpha.engine.tasks import Cancelled
from tests.gui.test_prediction import BondCalculator


@pytest.fixture(scope="module")
def pool():
    """30 Si sites of a-SiO2 with their SOAP rows (a pool small enough to be quick)."""
    atoms = load_example("a-SiO2")
    sites = np.flatnonzero(atoms.numbers == 14)[:30]
    descriptor = default_descriptor(["O", "Si"])
    return SitePool([atoms], "Si", descriptor, compute(atoms, descriptor, sites),
                    np.column_stack([np.zeros(len(sites), np.int64), sites]))


def params(**kw):
    return ActiveParams(**{"strategy": "farthest", "regressor": "ridge", "n_initial": 3, "batch": 4,
                           "max_calls": 30, **kw})


def test_progress_moves_per_site_and_says_the_round(pool):
    """The bar stood still for a whole round (7 min of xTB with 8 starting sites)."""
    said = []
    learner = ActiveLearner(pool.features, params(max_calls=11), pool.descriptor.to_dict())
    learn(pool, BondCalculator(), learner=learner, progress=lambda f, m: said.append((f, m)))
    second = [(f, m) for f, m in said if m.startswith("round 2, site")]
    assert [m.split(" (")[0] for _, m in second if m.endswith("reference spectra)") and "done" not in m] == [
        f"round 2, site {k} of 4" for k in range(1, 5)]
    fractions = [f for f, _ in second]
    assert fractions == sorted(fractions) and 3 / 11 <= fractions[0] < fractions[-1] <= 7 / 11
    assert learner.stop_note() == "stopped at the budget of 11 calls"


def test_cancel_in_the_middle_of_a_round_keeps_its_finished_sites(pool):
    calculator = BondCalculator()
    learner = ActiveLearner(pool.features, params(), pool.descriptor.to_dict())
    with pytest.raises(Cancelled):  # after the 3 starting sites and 2 of the next round's 4
        learn(pool, calculator, learner=learner, cancel=lambda: calculator.calls >= 5)
    assert len(learner.labelled) == 5 and learner.spectra.shape[0] == 5
    model = measured_model(learner, calculator)
    assert model.n_train == 5 and model.metrics["calculator"] == {"calculator": "bonds"}
    # below three spectra there is no model (and asking for one is no error)
    few = ActiveLearner(pool.features, params(), pool.descriptor.to_dict())
    calculator = BondCalculator()
    with pytest.raises(RoundCancelled) as stop:
        learn(pool, calculator, learner=few, cancel=lambda: calculator.calls >= 2)
    assert len(stop.value.rows) == 2 and len(few.labelled) == 2 and few.model is None
    assert measured_model(few, calculator) is None


def test_a_run_at_its_target_says_so(pool):
    learner = ActiveLearner(pool.features, params(target_rmse=10.0), pool.descriptor.to_dict())
    learn(pool, BondCalculator(), learner=learner)
    assert learner.curve.calls == [7]
    assert learner.stop_note().startswith("stopped: RMSE ") and \
        learner.stop_note().endswith(" at or below the target 10 after 7 calls")


def test_a_trained_model_keeps_held_out_scores_and_its_curve_through_save(pool, tmp_path):
    calculator = BondCalculator()
    learner = learn(pool, calculator, params(max_calls=15))
    model = measured_model(learner, calculator)
    m = model.metrics
    assert {"r2", "cosine_mean", "peak_error_ev", "measured_on", "learning_curve"} <= set(m)
    assert m["n"] == 15 and m["measured_on"].startswith("5-fold cross-validation on its 15 training sites")
    assert m["learning_curve"] == {"calls": [7, 11, 15], "rmse": learner.curve.rmse}
    assert m["learning_curve_of"] == CURVE_OF_NEXT
    model.save(tmp_path / "m.amodel")
    assert SpectrumModel.load(tmp_path / "m.amodel").metrics == m


def pairs(folder, shifts, lonely=True):
    """S-containing pairs (atom 0 is S) with spectra on 2395-2445 eV moved by ``shifts`` eV."""
    from ase import Atoms

    from amorpha.engine.io import write_extxyz

    folder.mkdir()
    energy = np.linspace(2395, 2445, 101)
    for k, shift in enumerate(shifts):
        write_extxyz(Atoms("SO2", positions=[[0, 0, 0], [1.45 + 0.01 * k, 0, 0], [0, 1.45, 0]]), folder / f"p{k}.xyz")
        np.savetxt(folder / f"p{k}.txt", np.column_stack([energy + shift, np.exp(-0.5 * (energy - 2410 - k) ** 2)]))
    if lonely:
        np.savetxt(folder / "lonely.txt", np.column_stack([energy, energy * 0]))
    return folder


def test_a_folder_spectrum_far_off_the_others_is_left_out_and_a_lonely_one_named(tmp_path):
    """One spectrum 40 eV up cut every spectrum to the 10 eV all shared, and the model learnt
    those; a spectrum without a structure went unreported."""
    folder = read_spectrum_folder(pairs(tmp_path / "bad", [0, 0, 0, 0, 0, 40]))
    assert len(folder.records) == 5 and folder.site_spectra().energy[[0, -1]].tolist() == [2395, 2445]
    warnings = " | ".join(folder.warnings)
    assert "p5: covers 2435–2485 eV, but most S spectra here run over 2395–2445 eV" in warnings
    assert "lonely.txt: no structure lonely.xyz" in warnings
    assert folder.edge_note.startswith("S K edge from the energies")
    # spectra on two scales, no majority: refused
    with pytest.raises(ReadError, match="different energy scales"):
        read_spectrum_folder(pairs(tmp_path / "halves", [0, 0, 100, 100], lonely=False))
    # FEFF-like shifts of a few eV are no outliers
    assert len(read_spectrum_folder(pairs(tmp_path / "fine", [0, 3, -2, 5], lonely=False)).records) == 4

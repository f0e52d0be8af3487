"""The Predict panel in the window: a model predicts the shown structure's average spectrum, a
clicked site adds its own, a model that does not fit says so, and a damaged model file is refused
without touching what is shown.

The model here is trained on spectra made from the SOAP features by a fixed rule (the window's
mechanics are under test, not the physics: tests/test_surrogate_model.py and the shipped model's
validation cover that).
"""
import numpy as np
import pytest

from amorpha.engine.descriptors import compute
from amorpha.engine.examples import load_example
from amorpha.engine.spectra import SiteSpectra
from amorpha.engine.surrogate.model import SpectrumModel, SurrogateParams
from amorpha.engine.surrogate.pipeline import default_descriptor

ENERGY = np.linspace(-5, 30, 176)


@pytest.fixture(scope="module")
def silica():
    return load_example("a-SiO2")


@pytest.fixture(scope="module")
def model_file(tmp_path_factory, silica):
    descriptor = default_descriptor(["O", "Si"])
    sites = np.flatnonzero(silica.numbers == 14)[:80]
    x = compute(silica, descriptor, sites)
    centre = 5 + x[:, :3].sum(axis=1) / x[:, :3].sum(axis=1).std()
    y = np.exp(-0.5 * (ENERGY[None, :] - centre[:, None]) ** 2)
    data = SiteSpectra(ENERGY, y, sites, "Si", "K", "rule")
    model = SpectrumModel.train(x, data, descriptor.to_dict(), SurrogateParams(regressor="ridge"),
                                reference="a fixed rule (test)")
    path = tmp_path_factory.mktemp("models") / "rule.amodel"
    model.save(path)
    return path


def show(qtbot, window, atoms):
    with qtbot.waitSignal(window.model_ready, timeout=60000):
        window.set_model(atoms, "test model")


def test_model_predicts_average_and_clicked_sites(qtbot, empty_window, silica, model_file):
    window = empty_window
    show(qtbot, window, silica.copy())
    with qtbot.waitSignal(window.prediction.prediction_settled, timeout=60000):
        with qtbot.waitSignal(window.prediction.model_changed, timeout=30000):
            window.prediction.load(str(model_file))
    panel = window.spectrum_panel
    (average,) = panel.group("predicted")
    n_si = int(np.sum(window.atoms.numbers == 14))
    assert f"({n_si} sites)" in average.label and average.element == "Si"
    assert "ridge on 80 site spectra" in window.prediction_panel.summary.text()
    si = int(np.flatnonzero(window.atoms.numbers == 14)[3])
    window.select_atom(si)
    (site,) = panel.group("site")
    assert site.site == si and site.label == f"Si atom {si} (predicted)"
    np.testing.assert_allclose(average.intensity, window.prediction.predicted.intensity.mean(axis=0))
    window.select_atom(int(np.flatnonzero(window.atoms.numbers == 8)[0]))  # O: no site spectrum
    assert len(panel.group("site")) == 1


def test_model_without_its_element_and_damaged_files(qtbot, empty_window, model_file, tmp_path):
    from ase.build import bulk

    window = empty_window
    with qtbot.waitSignal(window.prediction.model_changed, timeout=30000):
        window.prediction.load(str(model_file))
    with qtbot.waitSignal(window.prediction.prediction_settled, timeout=60000):
        show(qtbot, window, bulk("Cu", "fcc", 3.6, cubic=True).repeat(3))
    assert window.spectrum_panel.group("predicted") == []
    assert "has no Si" in window.prediction_panel.status.text()
    bad = tmp_path / "broken.amodel"
    bad.write_bytes(b"not a zip at all")
    with qtbot.waitSignal(window.error_shown, timeout=10000) as blocker:
        window.prediction.load(str(bad))
    assert "broken.amodel" in blocker.args[0] and "not an Amorpha spectrum model" in blocker.args[0]
    assert window.prediction.model is not None  # the model in use stays


@pytest.mark.slow
def test_training_with_xtb_in_the_window_and_cancel(qtbot, empty_window, silica):
    """Active learning with the real calculator, on a tiny budget; then Cancel on a big one."""
    import time

    from amorpha.engine.surrogate.active import ActiveParams

    window = empty_window
    show(qtbot, window, silica.copy())
    params = ActiveParams(strategy="farthest", n_initial=3, batch=1, max_calls=4, regressor="ridge")
    with qtbot.waitSignal(window.prediction.model_changed, timeout=300000):
        window.prediction.train(params, "Si")
    model = window.prediction.model
    assert model.n_train == 4 and model.reference == "xTB (qualitative)"
    assert "ridge on 4 site spectra from xTB (qualitative)" in window.prediction_panel.summary.text()
    assert window.prediction.learner.curve.calls == [4]
    # the new model predicts the shown structure
    qtbot.waitUntil(lambda: len(window.spectrum_panel.group("predicted")) == 1, timeout=60000)

    task = window.prediction.train(ActiveParams(max_calls=500), "Si")
    qtbot.wait(300)
    start = time.monotonic()
    with qtbot.waitSignal(window.runner.task_finished, timeout=2000,
                          check_params_cb=lambda handle, state: handle is task):
        task.cancel()
    assert time.monotonic() - start < 0.6
    assert window.prediction.model is model  # the cancelled run replaced nothing


def test_train_from_a_folder_of_pairs_and_a_folder_without_any(qtbot, empty_window, silica, tmp_path):
    """name.extxyz + name.txt pairs (what an external code writes) train the model in use."""
    from amorpha.engine.io import write_extxyz

    window = empty_window
    sites = np.flatnonzero(silica.numbers == 14)[:12]
    for k, site in enumerate(sites):
        atoms = silica.copy()
        atoms.info["absorber"] = int(site)
        write_extxyz(atoms, tmp_path / f"site{k}.extxyz")
        np.savetxt(tmp_path / f"site{k}.txt", np.column_stack([ENERGY, np.exp(-0.5 * (ENERGY - k) ** 2)]))
    with qtbot.waitSignal(window.prediction.model_changed, timeout=120000):
        window.prediction.train_from_folder(str(tmp_path))
    model = window.prediction.model
    assert model.n_train == 12 and model.element == "Si" and model.metrics["n"] == 12
    assert "5-fold cross-validation" in window.prediction_panel.status.text()
    empty = tmp_path / "empty"
    empty.mkdir()
    with qtbot.waitSignal(window.error_shown, timeout=30000) as blocker:
        window.prediction.train_from_folder(str(empty))
    assert "Training from a folder failed" in blocker.args[0]
    assert window.prediction.model is model

"""The Predict panel in the window: a model predicts the shown structure's average spectrum, a
clicked site adds its own, a model that does not fit says so, and a damaged model file is refused
without touching what is shown.

The model here is trained on spectra made from the SOAP features by a fixed rule (the window's
mechanics are under test, not the physics: tests/test_surrogate_model.py and the shipped model's
validation cover that).
"""
import re
from dataclasses import replace

import numpy as np
import pytest

from amorpha.engine.descriptors import compute
from amorpha.engine.examples import load_example
from amorpha.engine.spectra import SiteSpectra, Spectrum
from amorpha.engine.surrogate.calculator import ReferenceCalculator
from amorpha.engine.surrogate.domain import FAR
from amorpha.engine.surrogate.cluster import build_cluster
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


def test_a_model_refitted_when_read_says_so(qtbot, empty_window, silica, model_file, tmp_path):
    """A model file written under another scikit-learn is refitted from its training data (an
    MLP may then differ a little from its author's): the Predict panel says so, and why."""
    import json
    import zipfile

    window = empty_window
    show(qtbot, window, silica.copy())
    with zipfile.ZipFile(model_file) as zf:
        members = {name: zf.read(name) for name in zf.namelist()}
    members["meta.json"] = json.dumps({**json.loads(members["meta.json"]), "sklearn": "0.0.1"}).encode()
    other = tmp_path / "other.amodel"
    with zipfile.ZipFile(other, "w") as zf:
        for name, blob in members.items():
            zf.writestr(name, blob)
    for path, said in ((model_file, False), (other, True)):
        with qtbot.waitSignal(window.prediction.model_changed, timeout=30000):
            window.prediction.load(str(path))
        summary = window.prediction_panel.summary.text()
        assert ("refitted from its training data when read: written with scikit-learn 0.0.1" in summary) is said


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
    assert panel.plot.getAxis("bottom").labelText == "Energy relative to the edge"  # not an energy loss
    si = int(np.flatnonzero(window.atoms.numbers == 14)[3])
    window.select_atom(si)
    (site,) = panel.group("site")
    assert site.site == si and site.label == f"Si K atom {si} (predicted)"
    np.testing.assert_allclose(average.intensity, window.prediction.predicted.intensity.mean(axis=0))
    window.select_atom(int(np.flatnonzero(window.atoms.numbers == 8)[0]))  # O: no site spectrum
    assert len(panel.group("site")) == 1
    predicted = window.prediction.predicted  # 80 training sites do not cover a 1000-Si glass
    far = int(np.argmax(predicted.distance))
    assert predicted.distance[far] > 1 and predicted.distance[np.flatnonzero(predicted.sites == si)[0]] < 1
    window.select_atom(int(predicted.sites[far]))  # a site unlike the training sites: its label says so
    assert panel.group("site")[-1].label == (f"Si K atom {predicted.sites[far]} (predicted, "
                                             f"{predicted.distance[far]:.1f} domain radii from the training sites)")


def test_dragging_the_energy_marker_colours_atoms_by_their_intensity_there(qtbot, empty_window, silica,
                                                                          model_file):
    window = empty_window
    show(qtbot, window, silica.copy())
    with qtbot.waitSignal(window.prediction.prediction_settled, timeout=60000):
        window.prediction.load(str(model_file))
    panel = window.spectrum_panel
    (average,) = panel.group("predicted")
    assert panel.marker.isVisible()
    assert panel.marker.value() == pytest.approx(average.energy[np.argmax(average.intensity)])
    assert panel.marker.label.toPlainText() == f"{panel.marker.value():.1f} eV"
    predicted = window.prediction.predicted
    panel.marker.setValue(6.1)  # as a drag does: between two grid points (0.2 eV apart)
    column = window.atoms.arrays["predicted_intensity"]
    expected = [np.interp(6.1, predicted.energy, row) for row in predicted.intensity]
    np.testing.assert_allclose(column[predicted.sites], expected, rtol=1e-12)
    assert np.isnan(column[window.atoms.numbers == 8]).all()  # O has no Si K spectrum
    assert window.view_panel.color_key() == "predicted_intensity"
    assert window.viewer.colorbar.info[3] == "Si K intensity at 6.1 eV (predicted)"
    panel.marker.setValue(9.0)
    assert not np.allclose(window.atoms.arrays["predicted_intensity"][predicted.sites], expected)

    # another feature of each site's spectrum: its main peak's energy, on the plot's axis
    window.prediction_panel.show_feature("peak_energy")
    window.prediction_panel.feature_chosen.emit("peak_energy")  # as choosing it in the list does
    peaks = window.atoms.arrays["predicted_peak_energy"]
    np.testing.assert_allclose(peaks[predicted.sites], predicted.feature("peak_energy"))
    assert window.viewer.colorbar.info[3] == "Si K main peak energy (eV, predicted)"
    assert np.ptp(peaks[predicted.sites]) > 0.1  # the sites differ: a colour scale, not one colour
    # not read off a spectrum: how far each site lies from the model's training sites
    window.prediction_panel.show_feature("training_distance")
    window.prediction_panel.feature_chosen.emit("training_distance")
    distance = window.atoms.arrays["training_distance"]
    np.testing.assert_array_equal(distance[predicted.sites], predicted.distance)
    assert np.isnan(distance[window.atoms.numbers == 8]).all()
    assert window.viewer.colorbar.info[3] == "Si K distance from the training sites (1 = the model's domain radius)"
    # one scale for every model, 0 to at least FAR radii: a model inside its domain stays dark
    scale = (0.0, max(FAR, float(predicted.distance.max())))
    assert window.viewer.colorbar.info[1:3] == scale
    window.color_by("training_distance")  # as the View dock's list does
    assert window.viewer.colorbar.info[1:3] == scale
    panel.marker.setValue(7.0)  # dragging the marker goes back to the intensity there
    assert window.prediction_panel.feature_key() == "intensity"
    assert window.view_panel.color_key() == "predicted_intensity"
    window.prediction_panel.show_feature("edge_energy")
    with qtbot.waitSignal(window.prediction.prediction_settled, timeout=60000):
        window.prediction.structure_shown(window.atoms)  # a new frame: the old sites' marker goes
        assert not panel.marker.isVisible()
    # ... and the chosen feature follows the new prediction
    assert window.view_panel.color_key() == "predicted_edge_energy"
    # a model of an element the structure lacks: the Si K curves and their marker go with the model
    sulfur = SpectrumModel.load(model_file)
    sulfur.element = "S"
    window.prediction.set_model(sulfur, quiet=True)
    assert panel.group("predicted") == [] and not panel.marker.isVisible()


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


def test_xtb_of_the_selected_atom_adds_its_reference_spectrum(qtbot, empty_window, silica, model_file, tmp_path):
    """The Predict panel's "xTB of selected atom": the calculator's spectrum of the clicked Si in
    the background, labelled as such, with the expected time in the task's progress (worked out
there: a refused site builds its clusters to say why); no atom or an
    atom of another element is a message, not a run."""
    window = empty_window
    show(qtbot, window, silica.copy())
    with qtbot.waitSignal(window.prediction.prediction_settled, timeout=60000):
        with qtbot.waitSignal(window.prediction.model_changed, timeout=30000):
            window.prediction.load(str(model_file))
    window.prediction._picked = -1
    with qtbot.waitSignal(window.error_shown, timeout=5000) as blocker:
        window.prediction_panel.reference_button.click()
    assert "Select an atom first" in blocker.args[0]
    o = int(np.flatnonzero(window.atoms.numbers == 8)[0])
    window.select_atom(o)
    with qtbot.waitSignal(window.error_shown, timeout=5000) as blocker:
        window.prediction_panel.reference_button.click()
    assert f"Atom {o} is O" in blocker.args[0] and "Select a Si atom" in blocker.args[0]

    # the rule model stores no calculator, so the one in Preferences runs: a small one here
    window.preferences.calculator = {"cluster_radius": 3.5, "radius_spread": 0.0, "core_hole": False}
    si = int(np.flatnonzero(window.atoms.numbers == 14)[5])
    window.select_atom(si)
    told = []
    # the xTB task's own messages: the start-up warm-up may still report beside it on a busy machine
    window.runner.task_progress.connect(lambda handle, fraction, message: told.append((handle.label, message))
                                        if not handle.label.startswith("_") else None)
    window.prediction_panel.reference_button.click()
    qtbot.waitUntil(lambda: len(window.spectrum_panel.group("reference")) == 1, timeout=60000)
    # every message the window showed carries the price, after the phase (the window polls: a
    # run from the cache may show only its last word)
    assert told and all(f"spectrum of Si{si}" in label and message.endswith("about 1-2 s in all")
                        for label, message in told), told
    (reference,) = window.spectrum_panel.group("reference")
    assert reference.site == si and "xTB (qualitative)" in reference.label
    assert reference.intensity.max() > 0
    # an O K model chosen while the next Si atom's reference runs: that Si spectrum is not drawn
    # on O K's energies but set aside for when Si K is back
    other = int(np.flatnonzero(window.atoms.numbers == 14)[6])
    window.select_atom(other)
    o_model = SpectrumModel.load(rule_model(silica, "O", tmp_path / "O.amodel"))
    with qtbot.waitSignal(window.runner.task_finished, timeout=60000,
                          check_params_cb=lambda task, state: f"spectrum of Si{other}" in task.label) as finished:
        window.prediction_panel.reference_button.click()
        window.prediction.set_model(o_model)
    assert finished.args[1] == "done" and window.spectrum_panel.group("reference") == []
    assert [s.site for s in window.prediction.references_aside] == [si, other]


def test_a_clicked_atoms_prediction_and_its_reference_are_named_alike(qtbot, empty_window, silica, model_file,
                                                                     monkeypatch):
    """The audit read "Si atom 5 (predicted)" beside "Si K site 5 (xTB …)" and took them for two
    atoms: both curves now name the element, edge and atom alike, then who made them."""
    monkeypatch.setattr("amorpha.gui.main_window.save_preferences", lambda prefs: None)
    window = empty_window
    show(qtbot, window, silica.copy())
    with qtbot.waitSignal(window.prediction.prediction_settled, timeout=60000):
        window.prediction.load(str(model_file))

    class Labelled(BondCalculator):
        """Labels its spectra as xTB does: the calculator's own words go inside the parentheses."""

        def to_spectrum(self, result, atoms, index):
            spectrum = super().to_spectrum(result, atoms, index)
            return replace(spectrum, label=f"Si K site {index} ({self.label}, E - E_LUMO)")

    monkeypatch.setattr(window.prediction, "_calculator", lambda *args: Labelled())
    si = int(np.flatnonzero(window.atoms.numbers == 14)[2])
    window.select_atom(si)
    window.prediction_panel.reference_button.click()
    qtbot.waitUntil(lambda: len(window.spectrum_panel.group("reference")) == 1, timeout=30000)
    (site,), (reference,) = window.spectrum_panel.group("site"), window.spectrum_panel.group("reference")
    assert site.label == f"Si K atom {si} (predicted)"
    assert reference.label == f"Si K atom {si} (bond-distance rule (test), E - E_LUMO)"


@pytest.mark.slow
def test_training_with_xtb_in_the_window_and_cancel(qtbot, empty_window, silica, model_file):
    """Active learning with the real calculator, on a tiny budget; then Cancel on a big one. The
    Si K model in use stores the calculator settings and a tie to a measured peak: the training
    computes its references the same way, and the new model keeps the tie."""
    import time

    from amorpha.engine.surrogate.active import ActiveParams
    from amorpha.engine.surrogate.pipeline import default_calculator

    window = empty_window
    show(qtbot, window, silica.copy())
    in_use = SpectrumModel.load(model_file)
    in_use.metrics["calculator"] = default_calculator(window.preferences.calculator).settings()
    in_use.tie_onset(Spectrum(ENERGY, np.exp(-0.5 * (ENERGY - 9.0) ** 2)), 1847.0, "a test structure")
    with qtbot.waitSignal(window.prediction.prediction_settled, timeout=60000):
        window.prediction.set_model(in_use)
    params = ActiveParams(strategy="farthest", n_initial=3, batch=1, max_calls=4, regressor="ridge")
    with qtbot.waitSignal(window.prediction.model_changed, timeout=300000):
        window.prediction.train(params, "Si")
    model = window.prediction.model
    assert model.n_train == 4 and model.reference == "xTB (qualitative)"
    assert model.onset_at["ev"] == in_use.onset_at["ev"] and "a test structure" in model.onset_at["from"]
    assert "tied to a measured peak like the model it replaces" in window.prediction_panel.status.text()
    # the descriptor make models uses: grouped by bonded O, cut at the cluster radius
    assert model.grouped and model.descriptor["inner"]["r_cut"] == 5.0
    assert "ridge per number of bonded O on 4 site spectra from xTB (qualitative) averaged over 4.8, 5 " \
           "and 5.2 Å clusters" in window.prediction_panel.summary.text()
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


def test_training_where_the_calculator_can_do_no_site_says_why(qtbot, empty_window):
    """Stishovite's clusters are too large for xTB (edge-sharing octahedra): every site fails at
    once, and the window says so and why, instead of finishing silently with no model."""
    from amorpha.engine.surrogate.active import ActiveParams

    window = empty_window
    show(qtbot, window, load_example("stishovite"))
    task = window.prediction.train(ActiveParams(n_initial=3, max_calls=6), "Si")
    with qtbot.waitSignal(window.runner.task_finished, timeout=60000,
                          check_params_cb=lambda handle, state: handle is task):
        pass
    assert window.prediction.model is None
    assert window.last_error.startswith("No reference spectrum could be computed: xTB (qualitative) failed "
                                        "on all 6 Si sites it was asked for. The first: site ")
    assert "cluster would hold" in window.last_error
    window.select_atom(0)  # one site asked for: the calculator's refusal in its own words
    with qtbot.waitSignal(window.error_shown, timeout=60000) as said:
        window.prediction.reference_of_selected()
    assert "cluster would hold" in said.args[0] and "XtbError" not in said.args[0]


def test_a_geometry_chosen_in_the_preferences_applies_to_the_model_in_use(qtbot, empty_window, monkeypatch):
    """The built-in Si K model names 4.6-5.4 Å clusters, which stishovite cannot have; with the
    periodic cell chosen in the Preferences, its references use the cell (and keep the model's
    other settings), so the site can be computed at all: in a cell of 96 atoms, not in the
    576-atom example; with the compact cluster, in the Preferences' radius."""
    from amorpha.engine.build.crystals import CrystalParams, build_crystal
    from amorpha.engine.surrogate.xtb import XtbError

    window = empty_window
    monkeypatch.setattr("amorpha.gui.main_window.save_preferences", lambda prefs: None)  # not for later tests
    show(qtbot, window, load_example("stishovite"))
    with qtbot.waitSignal(window.prediction.model_changed, timeout=60000):
        window.prediction.load_default()
    assert window.prediction._calculator().params.geometry == "cluster"  # the model's own
    assert "Preferences" not in window.prediction_panel.summary.text()
    window.preferences.calculator = {**window.preferences.calculator, "geometry": "periodic", "cell_min_width": 8.2}
    window.set_preferences(window.preferences)  # as the dialog's OK does: the summary says it
    assert ("new xTB spectra (a selected atom, training) are computed on the periodic cell (at least 8.2 Å "
            "across), as Preferences › Calculator › Geometry says") in window.prediction_panel.summary.text()
    params = window.prediction._calculator().params
    assert (params.geometry, params.cell_min_width) == ("periodic", 8.2)
    assert params.core_hole_model == window.prediction.model.metrics["calculator"]["core_hole_model"]
    with pytest.raises(XtbError, match="576 atoms, more than the 400.*Build › Crystal"):
        window.prediction._calculator().environment(window.atoms, 0)  # the 4×4×6 example itself
    small = build_crystal(CrystalParams("stishovite", (2, 2, 4)))  # 8.35 × 8.35 × 10.7 Å
    assert len(window.prediction._calculator().environment(small, 0).atoms) == 6 * 2 * 2 * 4
    # the compact cluster, with the Preferences' radius: the 576-atom model's site in 59 atoms
    window.preferences.calculator = {**window.preferences.calculator, "geometry": "cluster", "closure": "cap",
                                     "cluster_radius": 3.0, "radius_spread": 0.0}
    params = window.prediction._calculator().params
    assert (params.geometry, params.closure, params.radii()) == ("cluster", "cap", (3.0,))
    assert params.core_hole_model == window.prediction.model.metrics["calculator"]["core_hole_model"]
    assert len(window.prediction._calculator().environment(window.atoms, 0).atoms) == 59
    window.set_preferences(window.preferences)
    assert "computed on 3 Å clusters (neighbours bonded twice capped, not completed), as" in \
        window.prediction_panel.summary.text()
    window.preferences.calculator = {**window.preferences.calculator, "closure": "complete"}
    window.set_preferences(window.preferences)  # the model's own geometry again
    assert "Preferences" not in window.prediction_panel.summary.text()


def test_the_train_dialog_prices_sites_by_their_clusters_and_refuses_too_large_ones(qtbot, empty_window):
    """Stishovite with the built-in Si K model's 4.6-5.4 Å clusters: the dialog says they would
    hold over a thousand atoms, in red, with Train disabled, before any run; with the compact
    3 Å cluster chosen in the Preferences it prices a site by its 59 atoms, and with the
    periodic cell by the cell's atoms (or refuses the example's, too large)."""
    from PySide6.QtWidgets import QDialogButtonBox

    from amorpha.engine.build.crystals import CrystalParams, build_crystal

    window = empty_window
    show(qtbot, window, load_example("stishovite"))
    with qtbot.waitSignal(window.prediction.model_changed, timeout=60000):
        window.prediction.load_default()
    dialog = window.prediction.train_dialog()
    qtbot.waitExposed(dialog)
    assert not dialog.buttons.button(QDialogButtonBox.Ok).isEnabled()
    assert "cluster would hold" in dialog.error_label.text() and "compact cluster" in dialog.error_label.text()
    assert dialog.height() >= dialog.layout().totalHeightForWidth(dialog.width())  # grown, rows not squeezed
    dialog.reject()
    window.preferences.calculator = {**window.preferences.calculator, "closure": "cap", "cluster_radius": 3.0,
                                     "radius_spread": 0.0}
    dialog = window.prediction.train_dialog()
    qtbot.waitExposed(dialog)
    assert dialog.buttons.button(QDialogButtonBox.Ok).isEnabled()
    assert "xTB takes about 1-3 s per site (59 atoms)" in dialog.note_label.text()  # measured: 0.8 s
    dialog.reject()
    window.preferences.calculator = {**window.preferences.calculator, "geometry": "periodic"}
    dialog = window.prediction.train_dialog()  # the 4×4×6 example is too large a cell
    assert "the cell repeated to 8 Å would hold 576 atoms" in dialog.error_label.text()
    dialog.reject()
    show(qtbot, window, build_crystal(CrystalParams("stishovite", (2, 2, 4))))
    dialog = window.prediction.train_dialog()  # measured: 10-12 s
    assert "xTB takes about 8-38 s per site (a periodic cell of 96 atoms)" in dialog.note_label.text()
    dialog.reject()


def test_bond_cutoffs_changed_in_the_structure_panel_reach_the_clusters(qtbot, empty_window):
    """Rutile (Baur & Khan 1971: a = 4.594, c = 2.959 Å, O at x = 0.3049): by default Ti bonds
    to O only and the compact cluster of a Ti site holds 59 atoms at 3 Å. With Ti–Ti (2.96 and
    3.57 Å) switched on at covalent radii × 1.2 (3.8 Å) in the Structure panel's table the clusters bond as the window does: one then
    takes in thousands of atoms and the refusal names the pair. Cutoffs left as shown change
    nothing."""
    from ase.spacegroup import crystal

    from amorpha.engine.bonds import bond_cutoffs, changed_cutoffs
    from amorpha.engine.surrogate.xtb import XtbError

    window = empty_window
    rutile = crystal(["Ti", "O"], [(0, 0, 0), (0.3049, 0.3049, 0)], spacegroup=136,
                     cellpar=[4.594, 4.594, 2.959, 90, 90, 90]).repeat((3, 3, 4))
    show(qtbot, window, rutile)
    window.preferences.calculator = {**window.preferences.calculator, "closure": "cap", "cluster_radius": 3.0,
                                     "radius_spread": 0.0}
    calculator = window.prediction._calculator("Ti", "K")
    assert calculator.params.cutoffs is None
    assert len(calculator.environment(rutile, 0).atoms) == 59
    shown = {pair: round(value, 2) for pair, value in bond_cutoffs(rutile.numbers).items()}  # as the table shows
    assert changed_cutoffs(shown, [8, 22]) == {}
    with qtbot.waitSignal(window.model_ready, timeout=30000):  # the bonds redrawn
        window.set_cutoffs({**shown, (22, 22): 3.8})
    calculator = window.prediction._calculator("Ti", "K")
    assert calculator.settings()["cutoffs"] == {"Ti-Ti": 3.8}
    with pytest.raises(XtbError, match="its 3 Å compact cluster would hold [0-9]{4} atoms.*Its bonds join Ti–Ti, which"):
        calculator.environment(rutile, 0)


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
    status = window.prediction_panel.status.text()  # no structure shown: no prediction to wait for
    assert status.startswith(f"Trained on 12 Si sites of {tmp_path}; scored on 5-fold cross-validation"), status
    with qtbot.waitSignal(window.prediction.prediction_settled, timeout=60000):
        window.set_model(silica.copy(), "a-SiO2")
    status = window.prediction_panel.status.text()  # what the training said stays beside it
    assert status.startswith("Predicted 1000 Si sites; click one to add its spectrum. "), status
    # 12 training sites cannot cover a glass: the others are said (engine/surrogate/domain.py)
    assert re.search(r"\d+ of 1000 Si sites lie beyond the spread of the model's training sites .*"
                     r"Trained on 12 Si sites", status), status
    empty = tmp_path / "empty"
    empty.mkdir()
    with qtbot.waitSignal(window.error_shown, timeout=30000) as blocker:
        window.prediction.train_from_folder(str(empty))
    assert "Training from a folder failed" in blocker.args[0]
    assert window.prediction.model is model


def test_a_folder_of_several_edges_asks_which_to_train_on(qtbot, empty_window, tmp_path, monkeypatch):
    """CASTEP runs write every edge of their atoms: Train from folder asks which one (once, on
    the folder read already) and trains on it; cancelling the question changes nothing."""
    from ase.build import bulk
    from ase.io import write

    from tests.optados_files import block, core_file, peak

    for k in range(6):
        run = tmp_path / f"run{k}"
        run.mkdir()
        cell = bulk("Si", "diamond", 5.43 + 0.02 * k, cubic=True)
        write(run / "Si8.cell", cell, format="castep-cell")
        blocks = [(block("Si", j, edge), peak(5.0 + k + j), peak(5.0 + k + j)) for j in (1, 2) for edge in ("K1", "L2,3")]
        (run / "Si8_core_edge.dat").write_text(core_file(blocks))
    window = empty_window
    asked = []

    def choose(folder, answer):
        asked.append(dict(folder.kinds))
        return answer

    # the question lists each edge with its sites and offers the likely one first
    import amorpha.gui.prediction as prediction_module
    from amorpha.engine.spectra import read_spectrum_folder

    offered = []

    def get_item(parent, title, text, items, current, editable):
        offered.append((title, items, current))
        return items[current], True

    monkeypatch.setattr(prediction_module.QInputDialog, "getItem", get_item)
    assert window.prediction.choose_kind(read_spectrum_folder(tmp_path)) == "Si K"
    assert offered == [("Which edge?", ["Si K: 12 sites", "Si L2,3: 12 sites"], 0)]
    monkeypatch.setattr(window.prediction, "choose_kind", lambda folder: choose(folder, None))
    task = window.prediction.train_from_folder(str(tmp_path))
    qtbot.waitUntil(lambda: task.finished and bool(asked), timeout=60000)
    assert asked == [{"Si K": 12, "Si L2,3": 12}] and window.prediction.model is None
    monkeypatch.setattr(window.prediction, "choose_kind", lambda folder: choose(folder, "Si L2,3"))
    with qtbot.waitSignal(window.prediction.model_changed, timeout=120000):
        window.prediction.train_from_folder(str(tmp_path))
    model = window.prediction.model
    assert (model.element, model.edge, model.n_train, len(asked)) == ("Si", "L2,3", 12, 2)
    status = window.prediction_panel.status.text()
    assert f"Trained on 12 Si L2,3 sites of {tmp_path}" in status and "it also holds Si K" in status, status
    # Compare with random on the same folder asks the same way
    from amorpha.engine.surrogate.compare import CompareParams

    monkeypatch.setattr(window.prediction, "choose_kind", lambda folder: choose(folder, "Si K"))
    params = CompareParams(strategy="farthest", n_initial=3, batch=2, max_calls=7, n_test=4, regressor="ridge")
    window.prediction.compare(params, str(tmp_path))
    qtbot.waitUntil(lambda: "after 7 calls" in window.prediction_panel.status.text(), timeout=60000)
    assert len(asked) == 3


# -- the Edge list, learning curves against random, cross-validation ---------------------------

class BondCalculator(ReferenceCalculator):
    """A real, fast reference calculator for the window's mechanics: each neighbour within 3.5 Å
    adds a Gaussian at an energy set by its distance and element (deterministic, smooth in the
    structure, so a surrogate can learn it)."""

    name = "bonds"
    label = "bond-distance rule (test)"

    def __init__(self):
        super().__init__(cache=False)
        self.calls = 0

    def settings(self) -> dict:
        return {"calculator": self.name}

    def environment(self, atoms, index, context=None):
        return build_cluster(atoms, index, 3.5, bond_list=context)

    def prepare(self, atoms):
        from amorpha.engine.bonds import bonds

        return bonds(atoms)

    def compute(self, environment, cancel=None, progress=None):
        self.calls += 1
        r = np.linalg.norm(environment.positions[1:], axis=1)
        z = environment.numbers[1:]
        return {"r": r, "z": z.astype(float), "meta": {}}

    def to_spectrum(self, result, atoms, index):
        centres = 40.0 / result["r"] + 0.2 * result["z"]
        y = np.exp(-0.5 * ((ENERGY[:, None] - centres[None, :]) / 1.5) ** 2).sum(axis=1)
        return Spectrum(ENERGY, y, f"site {index}", source=self.label,
                        element=atoms.get_chemical_symbols()[index], edge="K", site=int(index))


def rule_model(silica, element, path):
    """A ridge model of the element's K edge on the bond rule above, saved at ``path``."""
    descriptor = default_descriptor(["O", "Si"])
    sites = np.flatnonzero(np.asarray(silica.get_chemical_symbols()) == element)[:40]
    calculator = BondCalculator()
    data = calculator.site_spectra(silica, sites)
    model = SpectrumModel.train(compute(silica, descriptor, sites), data, descriptor.to_dict(),
                                SurrogateParams(regressor="ridge"), reference=calculator.label)
    model.save(path)
    return path


def test_a_model_trained_here_keeps_the_built_in_one_of_its_edge_in_the_list(qtbot, empty_window, silica,
                                                                             model_file, tmp_path):
    window = empty_window
    prediction, panel = window.prediction, window.prediction_panel
    show(qtbot, window, silica.copy())
    builtin = SpectrumModel.load(model_file)
    prediction._builtins = [builtin]  # as load_default keeps them
    with qtbot.waitSignal(prediction.prediction_settled, timeout=60000):
        prediction.set_model(builtin)
    trained = SpectrumModel.load(rule_model(silica, "Si", tmp_path / "trained.amodel"))
    with qtbot.waitSignal(prediction.prediction_settled, timeout=60000):
        prediction.set_model(trained)
    names = [panel.edge_combo.itemText(k) for k in range(panel.edge_combo.count())]
    assert names == ["Si K", "Si K (built-in)"] and panel.edge_combo.currentText() == "Si K"
    with qtbot.waitSignal(prediction.prediction_settled, timeout=60000):
        panel.edge_combo.setCurrentText("Si K (built-in)")
    assert prediction.model is builtin and prediction.models["Si K"] is trained  # both kept
    assert prediction.key_in_use() == "Si K (built-in)"


def test_edge_list_offers_the_loaded_models_the_structure_can_use(qtbot, empty_window, silica, tmp_path):
    from ase.build import bulk

    window = empty_window
    prediction, panel = window.prediction, window.prediction_panel
    show(qtbot, window, silica.copy())
    for element in ("Si", "O"):
        with qtbot.waitSignal(prediction.prediction_settled, timeout=60000):
            prediction.load(str(rule_model(silica, element, tmp_path / f"{element}.amodel")))
    assert [panel.edge_combo.itemText(k) for k in range(panel.edge_combo.count())] == ["Si K", "O K"]
    assert panel.edge_combo.currentText() == "O K" and panel.edge_combo.isEnabled()
    (average,) = window.spectrum_panel.group("predicted")
    assert average.element == "O" and f"({int(np.sum(silica.numbers == 8))} sites)" in average.label
    # Back to Si K from the list: Si predicted again, the O site curve is dropped.
    window.select_atom(int(np.flatnonzero(window.atoms.numbers == 8)[0]))
    assert len(window.spectrum_panel.group("site")) == 1
    window.spectrum_panel.marker.setValue(8.0)  # the atoms coloured by their O K intensity
    assert window.viewer.colorbar.info[3].startswith("O K intensity")
    with qtbot.waitSignal(prediction.prediction_settled, timeout=60000):
        panel.edge_combo.setCurrentText("Si K")
    assert prediction.model.element == "Si" and window.spectrum_panel.group("site") == []
    # ... are coloured by the Si K intensity at the new marker, not left with the O K colours
    assert window.viewer.colorbar.info[3] == f"Si K intensity at {window.spectrum_panel.marker.value():.1f} eV (predicted)"
    assert np.isnan(window.atoms.arrays["predicted_intensity"][window.atoms.numbers == 8]).all()
    (average,) = window.spectrum_panel.group("predicted")
    assert average.element == "Si"
    # A structure without O offers only what fits it (and the model in use).
    with qtbot.waitSignal(prediction.prediction_settled, timeout=60000):
        show(qtbot, window, bulk("Si", "diamond", 5.43, cubic=True).repeat(2))
    assert panel.edge_combo.count() == 1 and not panel.edge_combo.isEnabled()
    # A model that cannot predict it (no O here) takes the Si curve away with it.
    with qtbot.waitSignal(window.error_shown, timeout=30000) as blocker:
        prediction.choose("O K")
    assert "has no O" in blocker.args[0] and window.spectrum_panel.group("predicted") == []


def test_builtin_models_load_together_si_k_in_use(qtbot, empty_window, silica):
    from amorpha.gui.prediction import builtin_model_paths

    window = empty_window
    show(qtbot, window, silica.copy())
    with qtbot.waitSignal(window.prediction.prediction_settled, timeout=120000):
        window.prediction.load_default()
    assert window.prediction.model.element == "Si"
    summary = window.prediction_panel.summary.text()
    assert "Gaussian process per number of bonded O on 450 site spectra from xTB (qualitative) " \
           "averaged over 4.6, 4.8, 5, 5.2 and 5.4 Å clusters" in summary, summary
    keys = [p.name.split("-xtb")[0].replace("-", " ") for p in builtin_model_paths()]
    assert "O K" in keys, "resources/models/O-K-xtb.amodel is missing: packaging/train_models.py --element O"
    combo = window.prediction_panel.edge_combo
    assert [combo.itemText(k) for k in range(combo.count())] == keys
    with qtbot.waitSignal(window.prediction.prediction_settled, timeout=120000):
        combo.setCurrentText("O K")
    (average,) = window.spectrum_panel.group("predicted")
    assert average.element == "O" and average.edge == "K"
    assert "averaged over 3.6, 3.8, 4, 4.2 and 4.4 Å clusters" in window.prediction_panel.summary.text()
    assert "tabulated onset at +10.5 eV on this axis (the predicted a-SiO2 O K peak at the measured 538 eV" \
        in window.prediction_panel.summary.text()
    assert average.meta["onset_at_ev"] == window.prediction.model.onset_at["ev"]  # carried to Compare
    # Si K chosen and at once O K again: the Si K prediction is given up, and only O K is drawn
    prediction = window.prediction
    prediction.choose("Si K")
    given_up = prediction._task
    with qtbot.waitSignal(prediction.prediction_settled, timeout=120000):
        prediction.choose("O K")
    assert given_up.token.is_set() and given_up.finished
    qtbot.wait(500)
    assert [s.element for s in window.spectrum_panel.group("predicted")] == ["O"]


def test_builtin_models_on_a_model_without_their_elements_say_so_quietly(qtbot, empty_window):
    """A Cu crystal shown while the built-in models load: a status line, no error dialog (which
    would also end a --screenshot run)."""
    from ase.build import bulk

    window = empty_window
    show(qtbot, window, bulk("Cu", cubic=True).repeat(3))
    with qtbot.waitSignal(window.prediction.prediction_settled, timeout=120000):
        window.prediction.load_default()
    assert window.last_error == ""
    assert "no Si" in window.prediction_panel.status.text()


def legend_names(panel):
    return [label.text for _, label in panel.curve_plot.plotItem.legend.items]


def test_compare_with_random_on_the_shown_structure(qtbot, empty_window, silica, tmp_path):
    from amorpha.engine.surrogate.compare import CompareParams
    from amorpha.gui.prediction import EdgeChoice

    window = empty_window
    show(qtbot, window, silica.copy())
    with qtbot.waitSignal(window.prediction.model_changed, timeout=30000):
        window.prediction.load(str(rule_model(silica, "Si", tmp_path / "Si.amodel")))
    calculator = BondCalculator()
    params = CompareParams(strategy="variance", n_initial=4, batch=2, max_calls=12, n_test=8, seed=3)
    task = window.prediction.compare(params, calculator=calculator)
    with qtbot.waitSignal(window.runner.task_finished, timeout=120000,
                          check_params_cb=lambda handle, state: handle is task and state == "done"):
        pass
    assert legend_names(window.prediction_panel) == ["active (variance reduction)", "random"]
    status = window.prediction_panel.status.text()
    assert status.startswith("Both reach RMSE") and "after 12 calls" in status
    assert status.endswith("other random seeds show how much this varies.")
    # each site is computed once for both strategies: 8 held-out + 4 shared starts + 2 × 8 more at most
    assert calculator.calls <= 8 + 4 + 2 * 8
    items = window.prediction_panel.curve_plot.plotItem.listDataItems()
    assert [list(item.xData) for item in items] == [[4, 6, 8, 10, 12]] * 2
    assert all(np.all(np.isfinite(item.yData)) and np.all(item.yData > 0) for item in items)

    class Sites(BondCalculator):  # which atoms it is asked for
        def environment(self, atoms, index, context=None):
            asked.append(atoms.get_chemical_symbols()[index])
            return super().environment(atoms, index, context)

    asked = []
    task = window.prediction.compare(params, calculator=Sites(), choice=EdgeChoice("O", "K"))  # the dialog's choice
    with qtbot.waitSignal(window.runner.task_finished, timeout=120000,
                          check_params_cb=lambda handle, state: handle is task and state == "done"):
        pass
    assert asked and set(asked) == {"O"}
    assert "active vs random: O K sites" in window.prediction_panel.curve_plot.plotItem.titleLabel.text


class SlowCalculator(BondCalculator):
    """The bond rule at 50 ms a site: long enough to cancel a run in its middle."""

    def compute(self, environment, cancel=None, progress=None):
        import time

        time.sleep(0.05)
        return super().compute(environment, cancel, progress)


def test_compare_cancel_keeps_the_curves_so_far(qtbot, empty_window, silica):
    import time

    from amorpha.engine.surrogate.compare import CompareParams

    window = empty_window
    show(qtbot, window, silica.copy())
    params = CompareParams(strategy="farthest", n_initial=3, batch=1, max_calls=900, n_test=4,
                           regressor="ridge")
    task = window.prediction.compare(params, calculator=SlowCalculator())
    qtbot.waitUntil(lambda: len(window.prediction_panel.curve_plot.plotItem.listDataItems()) >= 1, timeout=60000)
    start = time.monotonic()
    with qtbot.waitSignal(window.runner.task_finished, timeout=2000,
                          check_params_cb=lambda handle, state: handle is task):
        task.cancel()
    assert time.monotonic() - start < 0.6
    assert legend_names(window.prediction_panel)[0] == "active (farthest)"
    assert len(window.prediction_panel.curve_plot.plotItem.listDataItems()[0].xData) >= 1


def test_compare_on_a_folder_and_cross_validate(qtbot, empty_window, silica, tmp_path):
    from amorpha.engine.io import write_extxyz
    from amorpha.engine.surrogate.compare import CompareParams

    window = empty_window
    calculator = BondCalculator()
    sites = np.flatnonzero(silica.numbers == 14)[:30]
    for k, spectrum in enumerate(calculator.site_spectra(silica, sites).intensity):
        atoms = silica.copy()
        atoms.info["absorber"] = int(sites[k])
        write_extxyz(atoms, tmp_path / f"site{k}.extxyz")
        np.savetxt(tmp_path / f"site{k}.txt", np.column_stack([ENERGY, spectrum]))
    params = CompareParams(strategy="farthest", n_initial=4, batch=4, max_calls=20, n_test=10, regressor="ridge")
    task = window.prediction.compare(params, str(tmp_path))
    with qtbot.waitSignal(window.runner.task_finished, timeout=120000,
                          check_params_cb=lambda handle, state: handle is task and state == "done"):
        pass
    assert legend_names(window.prediction_panel) == ["active (farthest)", "random"]
    assert "after 20 calls" in window.prediction_panel.status.text()

    # Cross-validation of a model from its own training spectra; a bad folder is refused.
    with qtbot.waitSignal(window.prediction.model_changed, timeout=30000):
        window.prediction.load(str(rule_model(silica, "Si", tmp_path / "Si.amodel")))
    with qtbot.waitSignal(window.runner.task_finished, timeout=60000,
                          check_params_cb=lambda task, state: task.label.startswith("Cross-validating")):
        window.prediction.cross_validate()
    text = window.prediction_panel.cv_label.text()
    assert "Si K model, 5-fold cross-validation on its 40 training spectra: R² 0." in text and "peak error" in text
    with qtbot.waitSignal(window.error_shown, timeout=30000) as blocker:
        window.prediction.compare(params, str(tmp_path / "nothing-here"))
    assert "Comparing with random sampling failed" in blocker.args[0]


def test_compare_dialog_defaults_to_a_small_budget_and_refuses_bad_settings(qtbot, empty_window, silica):
    from PySide6.QtWidgets import QDialogButtonBox

    from amorpha.gui.build_dialogs import spin_of

    window = empty_window
    show(qtbot, window, silica.copy())
    dialog = window.prediction.compare_dialog()
    qtbot.waitExposed(dialog)
    ok = dialog.buttons.button(QDialogButtonBox.Ok)
    assert ok.text() == "Compare" and ok.isEnabled()
    note = dialog.note_label.text()
    assert "1000 Si sites" in note and "at most 54 calculations" in note  # 12 held-out + 6 shared + 2 × 18
    assert "xTB takes about 4-24 s per site (3 clusters of 57-96 atoms)" in note  # the default calculator
    spin_of(dialog, "max_calls").setValue(4)  # fewer calls than random starting sites
    assert not ok.isEnabled() and "max_calls" in dialog.error_label.text()
    spin_of(dialog, "max_calls").setValue(24)
    dialog.editors["element"].widget.setCurrentText("O")  # the O sites, as in the training dialog
    dialog.editors["edge"].widget.setCurrentText("L2,3")
    assert not ok.isEnabled() and "O has no L2,3 edge" in dialog.error_label.text()
    dialog.editors["source"].widget.setCurrentIndex(1)  # a folder's spectra say their own edge
    assert ok.isEnabled() and "their element and edge" in dialog.note_label.text()
    dialog.editors["source"].widget.setCurrentIndex(0)
    dialog.editors["edge"].widget.setCurrentText("K")
    assert ok.isEnabled() and "2000 O sites" in dialog.note_label.text()
    request = dialog.check()
    assert (request.element, request.edge, request.source) == ("O", "K", "shown")
    dialog.reject()
    dialog = window.prediction.train_dialog()  # its OK says what it starts too
    ok = dialog.buttons.button(QDialogButtonBox.Ok)
    assert ok.text() == "Train" and "1000 Si sites in the pool" in dialog.note_label.text()
    element, edge = dialog.editors["element"].widget, dialog.editors["edge"].widget
    assert [element.itemText(k) for k in range(element.count())] == ["O", "Si"]  # the structure's
    assert [edge.itemText(k) for k in range(edge.count())] == ["K", "L1", "L2", "L3", "L2,3"]  # Si's: no M
    element.setCurrentText("O")
    edge.setCurrentText("L2,3")  # no 2p core level in O
    assert not ok.isEnabled() and "O has no L2,3 edge" in dialog.error_label.text()
    edge.setCurrentText("K")
    request = dialog.check()
    assert (request.element, request.edge, request.strategy) == ("O", "K", "variance")
    assert "2000 O sites in the pool" in dialog.note_label.text() and ok.isEnabled()
    assert window.prediction._calculator("O", "K").settings()["edge"] == "K"
    assert window.prediction._calculator("Si", "L2,3").settings()["edge"] == "L2,3"
    dialog.reject()


def test_a_model_tied_to_a_measured_peak_in_the_window(qtbot, empty_window, silica, monkeypatch, tmp_path):
    """Tie to measured peak…: the shown structure's predicted highest peak is given a measured
    energy; the model keeps where the tabulated onset lies on its axis, the drawn prediction
    carries it (the Measured panel places by it), and Save model… keeps it. Before a
    prediction, the button says what to do first."""
    from PySide6.QtWidgets import QInputDialog

    from amorpha.engine.spectra.edges import place_at_onset

    window = empty_window
    errors = []
    monkeypatch.setattr(window, "show_error", lambda title, text: errors.append(text))
    window.prediction.tie_dialog()  # no model yet
    assert errors and "Predict the shown structure first" in errors[-1]
    show(qtbot, window, silica.copy())
    with qtbot.waitSignal(window.prediction.prediction_settled, timeout=120000):
        window.prediction.load_default()
    asked = []
    monkeypatch.setattr(QInputDialog, "getDouble", lambda *a: (asked.append(a[2:]), (1846.5, True))[1])
    window.prediction_panel.tie_button.click()
    model = window.prediction.model
    assert "placed at 1847.00 eV now" in asked[0][0] and asked[0][1] == 1847.0  # the built-in tie, offered
    (average,) = window.spectrum_panel.group("predicted")
    placed = place_at_onset(average, 1839.0)
    assert placed.energy[np.argmax(placed.intensity)] == pytest.approx(1846.5, abs=1e-9)
    assert "measured 1846.5 eV" in model.onset_at["from"] and "tied" in window.prediction_panel.status.text()
    assert "tabulated onset at" in window.prediction_panel.summary.text()
    task = window.prediction.save(str(tmp_path / "tied.amodel"))
    qtbot.waitUntil(lambda: task.finished, timeout=30000)
    assert SpectrumModel.load(tmp_path / "tied.amodel").onset_at == model.onset_at


def test_a_model_of_an_element_the_structure_lacks_says_so_first_and_the_next_structure_gets_a_fitting_one(
        qtbot, empty_window, silica, model_file):
    import copy

    window = empty_window
    prediction = window.prediction
    show(qtbot, window, silica.copy())
    with qtbot.waitSignal(prediction.prediction_settled, timeout=60000):
        prediction.load(str(model_file))
    si_k = prediction.model
    cu_k = copy.copy(si_k)  # as if trained from a folder of Cu K spectra
    cu_k.element = "Cu"
    prediction.set_model(cu_k, quiet=True)
    assert window.prediction_panel.status.text() == (
        "The shown structure has no Cu: open one with Cu to predict Cu K spectra, or choose Si K in the Edge list.")
    assert window.last_error == ""
    # the next structure with Si but no Cu: the loaded Si K model is used for it
    with qtbot.waitSignal(prediction.prediction_settled, timeout=60000):
        show(qtbot, window, silica.copy())
    assert prediction.model is si_k and prediction.key_in_use() == "Si K"
    assert [s.element for s in window.spectrum_panel.group("predicted")] == ["Si"]


def test_a_model_whose_sites_all_look_alike_says_why_it_has_no_r2(qtbot):
    """Four CASTEP runs of one Si2 cell gave four equal spectra: R² (between sites) is 0/0, and
    the panel said "R² nan"."""
    from amorpha.gui.panels.prediction_panel import PredictionPanel

    e = np.linspace(-5.0, 25.0, 31)
    y = np.tile(np.exp(-0.5 * (e - 5.0) ** 2), (4, 1))
    model = SpectrumModel.train(np.arange(8.0).reshape(4, 2), SiteSpectra(e, y, np.arange(4), "Si", "L2,3"),
                                {}, SurrogateParams(regressor="ridge"))
    model.metrics = {"r2": float("nan"), "cosine_mean": 1.0, "peak_error_ev": 0.0, "n": 4}
    panel = PredictionPanel()
    qtbot.addWidget(panel)
    panel.set_model(model)
    text = panel.summary.text()
    assert "held-out R² undefined (the sites' spectra do not differ from each other), cosine 1.000" in text
    assert "nan" not in text


def test_export_queries_and_import_results_make_a_model_of_the_external_codes_spectra_alone(
        qtbot, empty_window, silica, tmp_path):
    """The loop with an external code: random sites first, the same ones again while their
    results are missing, one folder for every round (what was learnt is skipped), then the sites
    active learning asks for; the model learns from the imported spectra alone."""
    from amorpha.engine.io import read_structure

    window = empty_window
    show(qtbot, window, silica.copy())
    prediction = window.prediction

    def run(task):
        qtbot.waitUntil(lambda: task.finished, timeout=120000)

    def written():  # named by atom index: query-atom-<index>
        return sorted(p.stem for p in tmp_path.glob("query-atom-*.extxyz"))

    run(prediction.export(str(tmp_path)))
    first = written()
    assert len(first) == 8 and "(random sites to start)" in window.prediction_panel.status.text()
    back = read_structure(tmp_path / f"{first[0]}.extxyz")
    assert back.info["absorber"] == int(first[0].split("-")[-1])
    assert back.get_chemical_symbols()[back.info["absorber"]] == "Si" and back.info["edge"] == "K"
    for p in tmp_path.glob("query-*.extxyz"):
        p.unlink()
    run(prediction.export(str(tmp_path)))  # no results yet: the same sites, not 8 more
    assert written() == first and "still wait for results" in window.prediction_panel.status.text()

    def answer(stems):
        for stem in stems:
            np.savetxt(tmp_path / f"{stem}.txt",
                       np.column_stack([ENERGY, np.exp(-0.5 * (ENERGY - 5 - int(stem.split("-")[-1]) % 7) ** 2)]))

    answer(first[:5])
    with qtbot.waitSignal(prediction.prediction_settled, timeout=120000):
        run(prediction.import_results(str(tmp_path)))
    model = prediction.model
    assert (model.element, model.edge, model.n_train) == ("Si", "K", 5)
    assert model.reference == f"{tmp_path} (imported)"
    assert "Learnt from 5 imported Si K spectra (5 new); 3 exported queries still wait" in \
        window.prediction_panel.status.text()
    assert prediction.learner is None  # no xTB run was started or mixed in

    answer(first[5:])
    with qtbot.waitSignal(prediction.prediction_settled, timeout=120000):
        run(prediction.import_results(str(tmp_path)))  # the same folder: the first 5 are not read again
    assert prediction.model.n_train == 8 and "(3 new)" in window.prediction_panel.status.text()
    run(prediction.export(str(tmp_path)))
    nxt = sorted(set(written()) - set(first))
    assert len(nxt) == 4 and "the sites active learning asks for next" in window.prediction_panel.status.text()

    prediction.external = None  # the window closed since: the folder itself is the loop's state
    with qtbot.waitSignal(prediction.prediction_settled, timeout=120000):
        run(prediction.import_results(str(tmp_path)))
    assert prediction.model.n_train == 8
    assert "(8 new); 4 exported queries still wait" in window.prediction_panel.status.text()
    run(prediction.export(str(tmp_path)))
    assert set(written()) == set(first) | set(nxt) and "still wait" in window.prediction_panel.status.text()

    np.savetxt(tmp_path / "query-99999.txt", np.column_stack([ENERGY, ENERGY]))
    with qtbot.waitSignal(window.error_shown, timeout=30000) as blocker:
        prediction.import_results(str(tmp_path))
    assert "query-99999: the pool has sites 0-999 only" in blocker.args[0], blocker.args
    assert prediction.model.n_train == 8  # nothing learnt from a bad folder
    (tmp_path / "query-99999.txt").unlink()

    other = tmp_path / "other"  # another structure starts a loop of its own, and says so
    other.mkdir()
    show(qtbot, window, load_example("a-SiO"))
    run(prediction.export(str(other)))
    assert "a new loop for this structure: the one before, with 8 Si K spectra learnt, ends here" in \
        window.prediction_panel.status.text()
    answer(nxt)  # results of the a-SiO2 loop's queries, imported into the a-SiO loop: refused
    with qtbot.waitSignal(window.error_shown, timeout=30000) as blocker:
        prediction.import_results(str(tmp_path))
    # an atom that is an a-SiO Si site: its query is another's; one that is not: no site of the loop
    assert re.search(r"query-atom-\d+(\.extxyz: it is not site \d+ of the structure the loop learns on \(5184 atoms\)"
                     r"|: atom \d+ is not one of the sites the loop learns on)", blocker.args[0]), blocker.args
    assert prediction.model.n_train == 8
    show(qtbot, window, silica.copy())  # a-SiO2 shown again: its loop picks up from the folder
    with qtbot.waitSignal(prediction.prediction_settled, timeout=120000):
        run(prediction.import_results(str(tmp_path)))
    assert prediction.model.n_train == 12 and "(12 new)." in window.prediction_panel.status.text()


def test_export_asks_the_element_and_edge_and_import_takes_them_from_the_folder(
        qtbot, empty_window, silica, tmp_path, monkeypatch):
    """Export queries… asks which element and edge (here O K of a-SiO2, not the Si K of the
    model offered first) and writes them into each query's header; Import results with no loop
    running learns that element and edge from the folder, whatever model is in use; a folder of
    another element's queries is refused with the structure it needs."""
    from PySide6.QtWidgets import QDialogButtonBox, QFileDialog

    from amorpha.engine.io import read_structure

    window = empty_window
    show(qtbot, window, silica.copy())
    prediction = window.prediction
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *a: str(tmp_path))
    dialog = prediction.export_dialog()
    qtbot.waitExposed(dialog)
    assert dialog.editors["element"].widget.currentText() == "Si"  # no model in use: Si K first
    dialog.editors["element"].widget.setCurrentText("O")
    assert "2000 O sites; the first export writes 8 random ones" in dialog.note_label.text()
    dialog.buttons.button(QDialogButtonBox.Ok).click()
    # not the first task_finished: on a busy machine the shown model's bond task may end first
    qtbot.waitUntil(lambda: not any(h.label == "Exporting queries" for h in window.runner.running), timeout=120000)
    assert "Wrote 8 O K queries" in window.prediction_panel.status.text(), getattr(window, "last_error", None)
    stems = sorted(p.stem for p in tmp_path.glob("query-atom-*.extxyz"))
    query = read_structure(tmp_path / f"{stems[0]}.extxyz")
    assert (query.info["absorber_element"], query.info["edge"]) == ("O", "K")

    for stem in stems[:4]:
        atom = int(stem.split("-")[-1])
        np.savetxt(tmp_path / f"{stem}.txt", np.column_stack([ENERGY, np.exp(-0.5 * (ENERGY - 8 - atom % 3) ** 2)]))
    prediction.external = None  # a new session: only the folder knows the loop
    with qtbot.waitSignal(prediction.prediction_settled, timeout=120000):
        prediction.import_results(str(tmp_path))
    assert (prediction.model.element, prediction.model.edge, prediction.model.n_train) == ("O", "K", 4)
    assert "Learnt from 4 imported O K spectra (4 new); 4 exported queries still wait" in \
        window.prediction_panel.status.text()
    dialog = prediction.export_dialog()  # the running loop is offered, and says where it stands
    assert dialog.editors["element"].widget.currentText() == "O"
    assert "The loop on these 2000 sites goes on: 4 spectra learnt, 4 queries waiting" in dialog.note_label.text()
    dialog.reject()

    show(qtbot, window, load_example("a-Si"))  # no O: the folder's queries cannot be its sites
    errors = []
    monkeypatch.setattr(window, "show_error", lambda title, text: errors.append(text))
    assert prediction.import_results(str(tmp_path)) is None
    assert "ask for O K spectra; the shown structure has no O: open the structure they were exported from" in errors[0]


def test_a_learning_curve_of_one_point_is_drawn_from_zero(qtbot):
    """An external loop's second import gives the curve's first point (that batch's error before
    it was learnt): autorange put it in the middle of ±0.5, an RMSE axis down to -0.4 and
    fractional calls; now 0 to twice its values."""
    from amorpha.engine.surrogate.active import LearningCurve
    from amorpha.gui.panels.prediction_panel import PredictionPanel

    panel = PredictionPanel()
    qtbot.addWidget(panel)
    panel.show_curves({"imported batches (before learnt)": LearningCurve("imported", calls=[5], rmse=[0.012])})
    (x0, x1), (y0, y1) = panel.curve_plot.getViewBox().viewRange()
    assert (x0, x1) == (0, 10) and (y0, y1) == pytest.approx((0, 0.024))
    panel.show()
    panel.show_curves({"variance": LearningCurve("variance", calls=[5, 9], rmse=[0.012, 0.009])})

    def autoranged():  # a curve: autoranged again (when the view next updates)
        (x0, x1), (y0, y1) = panel.curve_plot.getViewBox().viewRange()
        return 0 <= y0 <= 0.009 and 0.012 <= y1 < 0.02 and 4 < x0 < 5

    qtbot.waitUntil(autoranged, timeout=5000)


def test_a_cancelled_training_keeps_how_its_references_were_made(qtbot, empty_window, silica):
    """Cancel keeps every spectrum computed, and the model made of them says which calculator
    and settings made them (it lost them: the next xTB of a selected atom took the Preferences',
    and the status blamed 'other calculator settings')."""
    from amorpha.engine.surrogate.active import ActiveParams

    window = empty_window
    show(qtbot, window, silica.copy())
    window.prediction._calculator = lambda element=None, edge="K": SlowCalculator()
    task = window.prediction.train(ActiveParams(strategy="farthest", n_initial=3, batch=1, max_calls=900,
                                                regressor="ridge"), "Si")
    qtbot.waitUntil(lambda: len(window.prediction_panel.curve_plot.plotItem.listDataItems()) >= 1
                    and window.prediction_panel.curve_plot.plotItem.listDataItems()[0].xData[-1] >= 5, timeout=60000)
    with qtbot.waitSignal(window.runner.task_finished, timeout=2000,
                          check_params_cb=lambda handle, state: handle is task):
        task.cancel()
    # the model of the kept spectra is fitted in a worker once the run's thread has stopped
    qtbot.waitUntil(lambda: window.prediction.model is not None, timeout=10000)
    model = window.prediction.model
    assert model.n_train >= 5 and model.metrics["calculator"] == {"calculator": "bonds"}
    assert model.reference == BondCalculator.label


def test_a_new_structure_gets_a_model_that_can_describe_it(qtbot, empty_window, silica, model_file):
    """A loaded model is chosen for a structure only if its descriptor knows every element there:
    a structure with an element no model knows got the built-in O K model and a failure dialog
    ('the model's descriptors know O, Si; this structure also has Cu, P') under the last
    prediction's status line. Now nothing is switched, no dialog, and the status says why."""
    from ase import Atoms

    window = empty_window
    show(qtbot, window, silica.copy())
    with qtbot.waitSignal(window.prediction.prediction_settled, timeout=60000):
        window.prediction.load(str(model_file))
    in_use = window.prediction.model
    o_model = SpectrumModel.load(model_file)
    o_model.element = "O"
    window.prediction.models["O K"] = o_model  # loaded beside it, as the built-in O K is
    with_p = silica.copy() + Atoms("P", positions=[[1.0, 1.0, 1.0]])
    with_p.positions[-1] += 0.1
    errors = []
    window.error_shown.connect(errors.append)
    with qtbot.waitSignal(window.prediction.prediction_settled, timeout=60000):
        show(qtbot, window, with_p)
    assert window.prediction.model is in_use and errors == []
    assert "this structure also has P" in window.prediction_panel.status.text()


def test_xtb_of_an_atom_is_refused_beside_a_model_on_another_codes_energies(qtbot, empty_window, silica, model_file):
    """A model trained on XANESNET's S K (2395-2445 eV) and xTB's spectra (-5..25 eV relative to
    the edge) drew as two spikes 2400 eV apart on one axis: refused at once, saying why."""
    window = empty_window
    show(qtbot, window, silica.copy())
    absolute = SpectrumModel.load(model_file)
    absolute.energy = absolute.energy + 1840.0  # as a model trained on a code's absolute energies
    absolute.reference = "FEFF"
    with qtbot.waitSignal(window.prediction.prediction_settled, timeout=60000):
        window.prediction.set_model(absolute)
    window.select_atom(int(np.flatnonzero(window.atoms.numbers == 14)[0]))
    with qtbot.waitSignal(window.error_shown, timeout=5000) as said:
        window.prediction.reference_of_selected()
    assert "cannot be compared on one axis" in said.args[0] and "FEFF" in said.args[0]
    assert not [h for h in window.runner.running if not h.label.startswith("_")]


def test_a_model_set_before_the_built_in_ones_load_stays_in_use(qtbot, empty_window, silica, tmp_path):
    """`amorpha project.amorpha`: the project's O K model was set, then the built-in models
    finished loading and put Si K in its place (the O K prediction and alignment were gone)."""
    window = empty_window
    prediction, panel = window.prediction, window.prediction_panel
    show(qtbot, window, silica.copy())
    own = SpectrumModel.load(rule_model(silica, "O", tmp_path / "O.amodel"))
    with qtbot.waitSignal(prediction.prediction_settled, timeout=60000):
        prediction.set_model(own)
    with qtbot.waitSignal(window.runner.task_finished, timeout=60000,
                          check_params_cb=lambda handle, state: handle is prediction._loading):
        prediction.load_default()
    assert prediction.model is own and prediction.models["O K"] is own
    names = [panel.edge_combo.itemText(k) for k in range(panel.edge_combo.count())]
    assert "O K" in names and "Si K" in names and "O K (built-in)" in names


def test_a_reference_of_another_edge_is_set_aside_and_kept(qtbot, empty_window, silica, model_file, tmp_path,
                                                           reopen):
    """The microscopist audit's xTB spectrum vanished for good at a switch to O K (minutes of
    calculator time): it is now set aside while another edge is in use, drawn again when its
    edge comes back, and kept in a project saved meanwhile."""
    window = empty_window
    show(qtbot, window, silica.copy())
    with qtbot.waitSignal(window.prediction.prediction_settled, timeout=60000):
        window.prediction.load(str(model_file))
    si_model = window.prediction.model
    reference = Spectrum(ENERGY, np.exp(-0.5 * (ENERGY - 8) ** 2), label="Si K atom 3 (xTB (qualitative))",
                         element="Si", edge="K", site=3)
    window.prediction.add_reference(reference)
    assert window.spectrum_panel.group("reference") == [reference]

    window.prediction.set_model(SpectrumModel.load(rule_model(silica, "O", tmp_path / "O.amodel")))
    assert window.spectrum_panel.group("reference") == []  # not drawn on O K's energies
    assert window.prediction.references_aside == [reference]
    assert "set aside" not in window.statusBar().currentMessage()  # said when one arrives aside:
    late = replace(reference, label="Si K atom 4 (xTB (qualitative))", site=4)
    window.prediction.add_reference(late)
    assert "Si K atom 4 (xTB (qualitative)): set aside, shown again when a Si K model" in \
        window.statusBar().currentMessage()

    path = tmp_path / "aside.amorpha"
    with qtbot.waitSignal(window.project.saved, timeout=60000):
        window.project.save(str(path))
    other = reopen(path)
    assert other.prediction.model.element == "O"
    assert [s.label for s in other.prediction.references_aside] == [reference.label, late.label]
    assert other.spectrum_panel.group("reference") == []

    window.prediction.set_model(si_model)
    assert window.spectrum_panel.group("reference") == [reference, late]
    assert window.prediction.references_aside == []
    show(qtbot, window, silica.copy())  # another structure: its references went with the old one
    assert window.spectrum_panel.group("reference") == [] and window.prediction.references_aside == []

"""A damaged project never reaches the window half-read. A model a structure file could not hold
is refused with a dialog naming the file and the member, and the model shown stays; a ring search
or a view setting that does not fit the model is left out with a dialog naming it, and the rest
opens. The damaged projects are written by save_project itself, which stores such values as they
are (as an edited or damaged file would hold them)."""
import numpy as np
import pytest

from amorpha.engine.build.crystals import beta_cristobalite
from amorpha.engine.order.rings import RingParams, compute_rings
from amorpha.engine.project import AnalysisResult, Project, save_project
from amorpha.gui.project_io import MODEL_KEY, RINGS_KEY


@pytest.fixture(scope="module")
def crystal_and_rings():
    crystal = beta_cristobalite((1, 1, 1))
    return crystal, compute_rings(crystal, RingParams(max_size=12, count_element="Si"))


def shown(qtbot, window):
    """The window showing a model of its own, whose replacement the tests look for."""
    with qtbot.waitSignal(window.model_ready, timeout=60000):
        window.set_model(beta_cristobalite((2, 1, 1)), "shown before")
    return window.atoms


def saved(tmp_path, atoms, results=None, view=None):
    path = tmp_path / "bad.amorpha"
    save_project(Project(structures={MODEL_KEY: atoms}, results=results or {}, view=view or {}), path, extxyz=False)
    return str(path)


def impossible_element(atoms):
    atoms.arrays["numbers"] = atoms.numbers.copy()
    atoms.arrays["numbers"][1] = 999


def nan_cell(atoms):
    atoms.cell[0, 0] = np.nan


@pytest.mark.parametrize("damage, message", [
    (impossible_element, "is not a usable structure: atom 1 has the atomic number 999, which no element has"),
    (nan_cell, "is not a usable structure: the cell holds non-finite numbers"),
])
def test_a_damaged_model_is_refused_and_the_shown_one_stays(qtbot, empty_window, tmp_path, crystal_and_rings,
                                                            damage, message):
    window = empty_window
    before = shown(qtbot, window)
    atoms = crystal_and_rings[0].copy()
    damage(atoms)
    with qtbot.waitSignal(window.error_shown, timeout=30000) as blocker:
        window.open_path(saved(tmp_path, atoms))
    assert "Opening the project failed" in blocker.args[0] and "bad.amorpha: the project is damaged" in blocker.args[0]
    assert message in blocker.args[0], blocker.args[0]
    assert window.atoms is before and window.source == "shown before"


def ring_atoms_out_of_range(rings):
    result = AnalysisResult.from_dataclass(rings, MODEL_KEY)
    result.arrays["atoms"] = result.arrays["atoms"] + 10**6
    return {"results": {RINGS_KEY: result}}


def not_a_ring_search(rings):
    result = AnalysisResult.from_dataclass(rings, MODEL_KEY)
    return {"results": {RINGS_KEY: AnalysisResult("os.system", result.arrays, result.params, MODEL_KEY)}}


def bad_view_settings(rings):
    return {"view": {"selected": "3", "color_by": ["x"], "order_values": 5, "rings_selected": 7,
                     "trajectory": {"path": "/nowhere/movie.xyz", "frame": -5, "frames": 3},
                     "spectral_feature": "peak_energy"}}


def view_not_a_table(rings):
    return {"view": [1, 2]}


@pytest.mark.parametrize("damage, notes", [
    (ring_atoms_out_of_range, ["the ring search (a ring holds atom 1000000, but the model has 24 atoms)"]),
    (not_a_ring_search, ["the ring search (its kind is 'os.system', not a ring search)"]),
    (bad_view_settings, ["the view setting 'selected' ('3')", "the view setting 'color_by' (['x'])",
                         "the view setting 'order_values' (5)", "the view setting 'rings_selected' (7)",
                         "the view setting 'trajectory' ({'path': '/nowhere/movie.xyz', 'frame': -5"]),
    (view_not_a_table, ["the view settings (a list, not a table of settings)"]),
])
def test_what_does_not_fit_the_model_is_left_out_with_a_note(qtbot, empty_window, tmp_path, crystal_and_rings,
                                                             damage, notes):
    """The model itself is fine, so the project opens; what was left out is said, not raised
    later on the GUI thread (pytest-qt fails a test on any exception there)."""
    window = empty_window
    crystal, rings = crystal_and_rings
    with qtbot.waitSignal(window.project.restored, timeout=60000):
        window.open_path(saved(tmp_path, crystal.copy(), **damage(rings)))
    qtbot.waitUntil(lambda: window.task_status.current() is None, timeout=30000)
    text = window.last_error
    assert text.startswith("Parts of bad.amorpha are damaged and were left out:") and "Everything else was opened" in text
    for note in notes:
        assert f"• {note}" in text, text
    assert len(window.atoms) == len(crystal) and window.trajectory is None
    if damage is bad_view_settings:  # the good setting beside the bad ones is restored
        assert window.prediction_panel.feature_key() == "peak_energy" and window.prediction._picked == -1
    else:
        assert window.rings_panel.result is None

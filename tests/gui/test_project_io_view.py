"""A project keeps how the model is drawn: the view direction (the Diffraction pattern's beam
follows it), the zoom, the projection and the clipping slab; a damaged one of these is left out
and named, and the rest opens."""
import numpy as np
import pytest
from ase import Atoms

from amorpha.engine.build.crystals import beta_cristobalite
from amorpha.engine.project import Project, save_project
from amorpha.gui.diffraction import view_frame
from amorpha.gui.project_io import MODEL_KEY, _checked_view, _saved_slab, _shown

CAMERA = {"azimuth": 60.0, "elevation": 5.0, "scale_factor": 20.0, "center": [3.0, 4.0, 5.0]}


def numbers(camera) -> list:
    """The camera's numbers in one list (pytest.approx compares no nested dicts)."""
    return [camera["azimuth"], camera["elevation"], camera["scale_factor"], *camera["center"]]


@pytest.fixture(autouse=True)
def no_preferences_saved(monkeypatch):
    """A window closing saves its preferences; these tests leave the user's alone."""
    monkeypatch.setattr("amorpha.gui.main_window.save_preferences", lambda *a, **k: None)


def test_the_camera_projection_and_slab_come_back(qtbot, empty_window, reopen, tmp_path):
    """They came back as a new model's: azimuth/elevation -35/20, orthographic, no slab."""
    window = empty_window
    with qtbot.waitSignal(window.model_ready, timeout=60000):
        window.set_model(beta_cristobalite((2, 2, 2)), "cristobalite")
    panel = window.view_panel
    panel.projection.setCurrentIndex(panel.projection.findText("Perspective"))
    cam = window.viewer.view.camera
    cam.azimuth, cam.elevation = 60.0, 5.0
    cam.scale_factor *= 0.8
    panel.slab_normal.setCurrentText("x")
    panel.slab_thickness.setValue(8.0)
    panel.slab_on.setChecked(True)
    assert panel.slab_settings() == ("x", 0.5, 8.0)
    path = tmp_path / "view.amorpha"
    with qtbot.waitSignal(window.project.saved, timeout=30000):
        window.project.save(str(path))

    other = reopen(path)
    assert numbers(other.viewer.camera_state()) == pytest.approx(numbers(window.viewer.camera_state()))
    assert other.view_panel.projection.currentText() == "Perspective" and not other.viewer.orthographic
    assert other.view_panel.slab_settings() == ("x", 0.5, 8.0)
    assert other.viewer._slab is not None and other.viewer._slab[2] == pytest.approx(4.0)
    np.testing.assert_allclose(view_frame(other.viewer)[0], view_frame(window.viewer)[0], atol=1e-9)
    assert other.last_error == ""  # nothing was left out


def test_no_slab_saved_clears_the_one_shown(qtbot, empty_window, tmp_path):
    """The project is what was on screen: no slab then is no slab now, orthographic then is
    orthographic now, whatever the window showed before opening it."""
    window = empty_window
    path = tmp_path / "plain.amorpha"
    save_project(Project(structures={MODEL_KEY: beta_cristobalite((1, 1, 1))},
                         view={"orthographic": True, "slab": None, "camera": CAMERA}), path, extxyz=False)
    window.view_panel.set_slab_settings(("z", 0.25, 3.0))
    window.view_panel.set_orthographic(False)
    with qtbot.waitSignal(window.project.restored, timeout=60000):
        window.open_path(str(path))
    assert window.view_panel.slab_settings() is None and window.viewer._slab is None
    assert window.viewer.orthographic and window.view_panel.projection.currentText() == "Orthographic"
    assert numbers(window.viewer.camera_state()) == pytest.approx(numbers(CAMERA))


CELL_LESS = Atoms("Si2", positions=[[0, 0, 0], [2.3, 0, 0]])


@pytest.mark.parametrize("key, value", [
    ("camera", {**CAMERA, "azimuth": float("nan")}),
    ("camera", {**CAMERA, "elevation": 95.0}),
    ("camera", {**CAMERA, "scale_factor": 0.0}),
    ("camera", {**CAMERA, "center": [1.0, 2.0]}),
    ("camera", {**CAMERA, "center": [1.0, 2.0, float("inf")]}),
    ("camera", {**CAMERA, "center": [1.0, 2.0, 10**400]}),  # an integer past any float
    ("camera", {**CAMERA, "scale_factor": 1e300}),
    ("camera", {**CAMERA, "azimuth": "60"}),
    ("camera", {k: v for k, v in CAMERA.items() if k != "center"}),
    ("camera", [60, 5]),
    ("orthographic", "yes"),
    ("orthographic", 1),
    ("slab", ["w", 0.5, 8.0]),
    ("slab", ["x", 1.5, 8.0]),
    ("slab", ["x", 0.5, 0.0]),
    ("slab", ["x", 0.5, 10**400]),
    ("slab", ["x", True, 8.0]),
    ("slab", ["x", 0.5]),
    ("slab", {"normal": "x"}),
    ("slab", ["(100)", 0.5, 8.0]),  # a lattice plane of a model without a cell
])
def test_a_damaged_view_value_is_left_out_and_named(key, value):
    good = {"orthographic": False, "camera": CAMERA, "slab": ["x", 0.5, 8.0]}
    view, notes = _checked_view({**good, key: value}, CELL_LESS)
    assert notes == [f"the view setting {key!r} ({_shown(value)})"]
    assert view == {k: v for k, v in good.items() if k != key}


def test_the_values_a_window_writes_pass_the_checks():
    view = {"orthographic": True, "camera": CAMERA, "slab": None}
    assert _checked_view(view, CELL_LESS) == (view, [])
    lattice = ["(001)", 0.0, 1000.0]
    assert _checked_view({"slab": lattice}, beta_cristobalite((1, 1, 1))) == ({"slab": lattice}, [])


def test_a_lattice_slab_the_model_cannot_have_is_not_saved():
    """Chosen on a model without a cell, the viewer refused it: the project saves no slab."""
    assert _saved_slab(("(100)", 0.5, 5.0), CELL_LESS) is None
    assert _saved_slab(("x", 0.5, 5.0), CELL_LESS) == ["x", 0.5, 5.0]
    assert _saved_slab(("(100)", 0.5, 5.0), beta_cristobalite((1, 1, 1))) == ["(100)", 0.5, 5.0]


def test_a_damaged_camera_leaves_the_rest_of_the_view(qtbot, empty_window, tmp_path):
    """The dialog names the camera; the projection and the slab beside it are restored."""
    window = empty_window
    path = tmp_path / "bad.amorpha"
    camera = {**CAMERA, "scale_factor": -1.0}
    save_project(Project(structures={MODEL_KEY: beta_cristobalite((1, 1, 1))},
                         view={"orthographic": False, "slab": ["y", 0.25, 6.0], "camera": camera}),
                 path, extxyz=False)
    with qtbot.waitSignal(window.project.restored, timeout=60000):
        window.open_path(str(path))
    qtbot.waitUntil(lambda: window.task_status.current() is None, timeout=30000)
    assert window.last_error.startswith("Parts of bad.amorpha are damaged and were left out:")
    assert "• the view setting 'camera' ({'azimuth': 60.0, 'elevation': 5.0" in window.last_error
    assert not window.viewer.orthographic and window.view_panel.slab_settings() == ("y", 0.25, 6.0)
    cam = window.viewer.view.camera
    assert (cam.azimuth, cam.elevation) == (-35.0, 20.0)  # a new model's view


def test_autosave_writes_when_only_the_view_changed(qtbot, empty_window):
    """Turning the model, switching the projection or clipping is work a crash should not lose."""
    window = empty_window
    with qtbot.waitSignal(window.model_ready, timeout=60000):
        window.set_model(beta_cristobalite((1, 1, 1)), "cristobalite")
    changes = [lambda: setattr(window.viewer.view.camera, "azimuth", 60.0),
               lambda: window.view_panel.set_orthographic(False),
               lambda: window.view_panel.set_slab_settings(("x", 0.5, 8.0))]
    with qtbot.waitSignal(window.project.saved, timeout=30000):
        assert window.project.autosave() is not None
    for change in changes:
        assert window.project.autosave() is None
        change()
        with qtbot.waitSignal(window.project.saved, timeout=30000):
            assert window.project.autosave() is not None


def test_lattice_planes_are_offered_only_for_a_model_with_a_cell(qtbot, empty_window):
    """A (100) slab chosen on a crystal moves to x when a molecule is shown, with no dialog, and
    the lattice planes cannot be chosen for it; they come back with the next crystal."""
    window = empty_window
    normals = window.view_panel.slab_normal
    with qtbot.waitSignal(window.model_ready, timeout=60000):
        window.set_model(beta_cristobalite((1, 1, 1)), "cristobalite")
    window.view_panel.set_slab_settings(("(100)", 0.5, 4.0))
    assert window.view_panel.slab_settings() == ("(100)", 0.5, 4.0)
    errors = window.last_error
    with qtbot.waitSignal(window.model_ready, timeout=60000):
        window.set_model(Atoms("H2O", positions=[[0, 0, 0], [0.96, 0, 0], [-0.24, 0.93, 0]]), "water")
    assert window.view_panel.slab_settings() == ("x", 0.5, 4.0)
    assert window.last_error == errors  # no "lattice planes need a cell" dialog
    assert not normals.model().item(normals.findText("(010)")).isEnabled()
    with qtbot.waitSignal(window.model_ready, timeout=60000):
        window.set_model(beta_cristobalite((1, 1, 1)), "cristobalite")
    assert normals.model().item(normals.findText("(010)")).isEnabled()

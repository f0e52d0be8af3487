"""The projection: the View panel's list says what the viewer draws from the start, and switching
to perspective (or resetting the view in it) keeps the whole model in view."""
import numpy as np
import pytest

from amorpha.engine.build.crystals import alpha_quartz
from amorpha.gui.viewer import StructureViewer

SIZE = (480, 360)


@pytest.fixture(autouse=True)
def no_preferences_saved(monkeypatch):
    """A window closing saves its preferences; these tests leave the user's alone."""
    monkeypatch.setattr("amorpha.gui.main_window.save_preferences", lambda *a, **k: None)


@pytest.fixture
def tall_viewer(shown):
    """A model twice as tall as it is wide (as a bicrystal), fitted in a small viewer."""
    viewer = shown(StructureViewer(), *SIZE)
    viewer.set_atoms(alpha_quartz((4, 4, 9)))
    return viewer


def box_on_screen(viewer) -> np.ndarray:
    """(8, 2) canvas pixels of the corners of the model's box (atoms with their radii, and cell)."""
    lo, hi = viewer._prepared.lo, viewer._prepared.hi
    corners = [[(lo, hi)[i][0], (lo, hi)[j][1], (lo, hi)[k][2]] for i in (0, 1) for j in (0, 1) for k in (0, 1)]
    return viewer.project(np.array(corners))


def assert_fills_the_view(viewer):
    """Every corner inside the canvas, and the box not shrunk to a speck to get there."""
    xy = box_on_screen(viewer)
    w, h = viewer.canvas.size
    assert xy[:, 0].min() >= 0 and xy[:, 0].max() <= w, xy
    assert xy[:, 1].min() >= 0 and xy[:, 1].max() <= h, xy
    assert max(np.ptp(xy[:, 0]) / w, np.ptp(xy[:, 1]) / h) > 0.85, xy


def test_the_projection_list_says_what_the_viewer_draws(empty_window):
    """At start the list said "Perspective" while the camera was orthographic."""
    panel, viewer = empty_window.view_panel, empty_window.viewer
    assert viewer.orthographic and panel.orthographic()
    assert panel.projection.currentText() == "Orthographic"
    panel.projection.setCurrentIndex(panel.projection.findText("Perspective"))
    assert not viewer.orthographic and viewer.view.camera.fov > 0


@pytest.mark.gl
def test_perspective_keeps_the_whole_model_in_view(tall_viewer):
    """Switching kept the orthographic zoom: the near corners came out bigger and were cut off."""
    viewer = tall_viewer
    assert_fills_the_view(viewer)
    fitted = viewer.view.camera.scale_factor
    viewer.set_projection(False)
    assert_fills_the_view(viewer)
    viewer.set_projection(True)  # and back: the zoom it had
    assert viewer.view.camera.scale_factor == pytest.approx(fitted)


@pytest.mark.gl
def test_reset_view_in_perspective_fits_the_model(tall_viewer):
    viewer = tall_viewer
    viewer.set_projection(False)
    cam = viewer.view.camera
    cam.azimuth, cam.elevation, cam.scale_factor = 50.0, -30.0, 3.0
    viewer.reset_view()
    assert_fills_the_view(viewer)

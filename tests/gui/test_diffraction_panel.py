"""The Diffraction panel in the window: clicking an atom puts a column through it along the view
direction and shows its pattern (a Cu crystal seen down [001] has its brightest spots at the
(200) family, |k| = 2/a), the cylinder is drawn in the viewer, turning the camera or changing a
setting recomputes, a hidden panel computes nothing, and a new model forgets the column."""
import numpy as np
import pytest
from ase.build import bulk

from .plots import plot_notes

A_CU = 3.615


@pytest.fixture
def window(qtbot, empty_window):
    crystal = bulk("Cu", "fcc", A_CU, cubic=True).repeat((5, 5, 5))
    with qtbot.waitSignal(empty_window.model_ready, timeout=60000):
        empty_window.set_model(crystal, "Cu fcc")
    cam = empty_window.viewer.view.camera
    cam.fov, cam.elevation, cam.azimuth = 0.0, 90.0, 0.0  # looking down the z axis: [001]
    return empty_window


def show_pattern(qtbot, window, action):
    with qtbot.waitSignal(window.diffraction.pattern_shown, timeout=30000):
        action()
    return window.diffraction.result


def test_clicked_atom_gives_the_zone_axis_pattern_and_a_marker(qtbot, window):
    window.docks["Diffraction"].raise_()
    panel = window.diffraction_panel
    (note,) = plot_notes(panel.plot)  # before a click the plot says what fills it
    assert "Click an atom" in note
    assert not panel.plot.getAxis("bottom").autoSIPrefix  # 1/Å as it is, never "(x0.001)"
    atom = 62  # inside the model
    result = show_pattern(qtbot, window, lambda: window.select_atom(atom))
    column = result.column
    assert abs(column.direction[2]) == pytest.approx(1.0, abs=1e-6)
    np.testing.assert_allclose(column.point, window.atoms.positions[atom])
    assert column.diameter == pytest.approx(5.0) and len(column) > 10
    k, intensity = result.k, result.intensity
    kk = np.hypot(k[None, :], k[:, None])
    g = 2.0 / A_CU
    ring = (kk > 0.5 * g) & (kk < 1.2 * g)
    brightest = np.unravel_index(np.argmax(np.where(ring, intensity, 0)), intensity.shape)
    # a 0.5 nm column broadens spots by ~1/d = 0.2 1/Å, and the falling f_e pulls their maxima in a little
    assert kk[brightest] == pytest.approx(g, abs=0.04)
    kx, ky = k[brightest[1]], k[brightest[0]]
    assert min(abs(kx), abs(ky)) < 0.02  # on a <100> direction of the detector
    marker = window.diffraction.marker
    assert marker.visible
    # the wire cylinder is centred on the atom, with the column's radius
    centre = marker.segments.mean(axis=0)
    np.testing.assert_allclose(centre, window.atoms.positions[atom], atol=1e-3)
    status = window.diffraction_panel.status.text()
    assert "atoms in the column" in status and "distinct atoms of the model" in status, status
    assert panel.image.image is not None and panel.image.scene() is not None and not plot_notes(panel.plot)


def test_settings_and_camera_recompute(qtbot, window):
    panel = window.diffraction_panel
    window.docks["Diffraction"].raise_()
    first = show_pattern(qtbot, window, lambda: window.select_atom(62))
    second = show_pattern(qtbot, window, lambda: panel.diameter.setValue(0.8))
    assert second.column.diameter == pytest.approx(8.0) and len(second.column) > len(first.column)
    cam = window.viewer.view.camera

    def turn():
        cam.elevation, cam.azimuth = 0.0, 0.0
        window.viewer.canvas.update()

    tilted = show_pattern(qtbot, window, turn)
    assert abs(tilted.column.direction[2]) < 1e-6  # now horizontal
    panel.follow.setChecked(False)
    qtbot.wait(400)
    kept = window.diffraction.result.column.direction
    cam.azimuth = 40.0
    qtbot.wait(600)
    np.testing.assert_allclose(window.diffraction.result.column.direction, kept)


def test_hidden_panel_computes_nothing_and_new_model_forgets(qtbot, window):
    window.docks["Structure"].raise_()
    window.select_atom(62)
    qtbot.wait(600)
    assert window.diffraction.result is None and not window.diffraction.marker.visible
    result = show_pattern(qtbot, window, lambda: window.docks["Diffraction"].raise_())
    assert result is not None and window.diffraction.marker.visible
    with qtbot.waitSignal(window.model_ready, timeout=60000):
        window.set_model(bulk("Si", "diamond", 5.431, cubic=True).repeat((3, 3, 3)), "Si")
    assert window.diffraction.result is None and not window.diffraction.marker.visible
    assert "click an atom" in window.diffraction_panel.status.text()
    assert len(plot_notes(window.diffraction_panel.plot)) == 1  # the old pattern is gone, the note back
    # and the next click brings a pattern back in place of the note
    show_pattern(qtbot, window, lambda: window.select_atom(10))
    assert not plot_notes(window.diffraction_panel.plot)

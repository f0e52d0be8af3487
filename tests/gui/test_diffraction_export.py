"""Saving the Diffraction panel's pattern: the buttons wait for a pattern, the picture is a PNG or
an SVG of the plot, and the data file holds the shown intensities on their k axes; a file that
cannot be written says so in a dialog and the window keeps its pattern."""
import numpy as np

from .test_diffraction_panel import show_pattern, window  # noqa: F401 (fixture)


def test_pattern_saves_as_picture_and_numbers(qtbot, window, tmp_path):  # noqa: F811 (fixture)
    panel, controller = window.diffraction_panel, window.diffraction
    assert not panel.save_image_button.isEnabled() and not panel.save_data_button.isEnabled()
    window.docks["Diffraction"].raise_()
    result = show_pattern(qtbot, window, lambda: window.select_atom(62))
    assert panel.save_image_button.isEnabled() and panel.save_data_button.isEnabled()

    controller.save_image(str(tmp_path / "pattern.png"))
    controller.save_image(str(tmp_path / "pattern.svg"))
    controller.save_image(str(tmp_path / "plain"))  # no ending: PNG
    png = (tmp_path / "pattern.png").read_bytes()
    assert png[:4] == b"\x89PNG" and len(png) > 5000
    assert b"<svg" in (tmp_path / "pattern.svg").read_bytes()
    assert (tmp_path / "plain.png").read_bytes()[:4] == b"\x89PNG"

    for name in ("pattern.npz", "pattern.csv", "bare"):
        handle = controller.save_data(str(tmp_path / name))
        qtbot.waitUntil(lambda h=handle: h.finished, timeout=10000)
    with np.load(tmp_path / "pattern.npz") as data:
        np.testing.assert_array_equal(data["intensity"], result.intensity)
        np.testing.assert_array_equal(data["k_x"], result.k)
    grid = np.loadtxt(tmp_path / "pattern.csv", delimiter=",")
    np.testing.assert_array_equal(grid[1:, 1:], result.intensity)
    np.testing.assert_array_equal(grid[0, 1:], result.k)
    assert (tmp_path / "bare.npz").is_file()
    assert "Saved" in window.statusBar().currentMessage()

    with qtbot.waitSignal(window.error_shown, timeout=10000):
        controller.save_image(str(tmp_path / "no such folder" / "p.png"))
    with qtbot.waitSignal(window.error_shown, timeout=10000):
        controller.save_data(str(tmp_path / "no such folder" / "p.npz"))
    assert panel.result is result and panel.save_data_button.isEnabled()

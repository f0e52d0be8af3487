"""The Measured panel's Image tab: a colour bar named after the map shown (its values, or one
numbered block per cluster), and the file's pixel size under the map with a scale bar on it."""
import numpy as np
import pytest
from PySide6.QtCore import QPointF
from PySide6.QtGui import QFontMetrics

from amorpha.engine.spectra.microscope import SpectrumData
from amorpha.gui.panels.measured_panel import MeasuredPanel

#: A 24 × 32 spectrum image with 2.5 nm pixels, as rosettasciio reads a DM4 (rows, then columns).
NM_MAP = [{"name": "y", "size": 24, "scale": 2.5, "units": "nm"},
          {"name": "x", "size": 32, "scale": 2.5, "units": "nm"}]


@pytest.fixture
def panel(shown):
    panel = shown(MeasuredPanel(), 480, 860)
    panel.tabs.setCurrentIndex(3)
    return panel


def ticks(bar):
    return [text for _, text in bar.axis._tickLevels[0]]


def test_a_map_of_counts_has_a_colour_bar_named_after_it(qtbot, panel):
    panel.show_decomposition(["total counts (click a pixel)"])
    panel.show_map(85000.0 + 1000 * np.arange(24.0).reshape(4, 6), categorical=False)
    bar = panel.color_bar
    assert bar.isVisible() and bar.getAxis("left").labelText == "total counts"
    assert bar.levels() == (85000.0, 108000.0) and tuple(panel.image_item.getLevels()) == (85000.0, 108000.0)
    # painted, the axis widens to its labels (45 px fixed dropped "100000" and up)
    label = QFontMetrics(panel.font()).horizontalAdvance("105000")

    def widened():
        panel.image_view.grab()
        return bar.axis.width() > label

    qtbot.waitUntil(widened, timeout=3000)
    panel.show_decomposition(["PCA 1, 80.2 % of the variance", "PCA 2, 12.0 % of the variance"])
    panel.show_map(np.full((2, 3), 7.0), categorical=False)  # flat: a range around it, not 7…7
    assert bar.getAxis("left").labelText == "PCA 1" and bar.levels() == (6.5, 7.5)


def test_clusters_get_one_numbered_block_each(panel):
    panel.show_decomposition(["clusters (all)", "cluster 1, 3 pixels", "cluster 2, 2 pixels", "cluster 3, 1 pixel"])
    panel.show_map(np.array([[0.0, 0, 1], [2, 1, 0]]), categorical=True)
    bar = panel.color_bar
    assert bar.getAxis("left").labelText == "clusters" and ticks(bar) == ["1", "2", "3"]
    assert bar.levels() == (-0.5, 2.5)
    cmap = bar.colorMap()  # flat blocks, not a gradient across classes
    for k in range(3):
        inside = cmap.map([(k + 0.05) / 3, (k + 0.5) / 3, (k + 0.95) / 3])
        assert (inside == inside[1]).all()


def rendered_colours(panel, n):
    """The colour of each pixel of a 1 × n map of the classes 0…n−1."""
    panel.show_decomposition(["clusters (all)"])
    panel.show_map(np.arange(float(n))[None, :], categorical=True)
    panel.image_item.render()
    image = panel.image_item.qimage
    return [image.pixelColor(x, 0).name() for x in range(n)]


def test_twelve_clusters_get_twelve_colours(panel):
    """The map drew tab10 over levels 0…9: clusters 10, 11 and 12 all had the tenth colour."""
    assert len(set(rendered_colours(panel, 12))) == 12
    assert rendered_colours(panel, 3) == ["#1f77b4", "#ff7f0e", "#2ca02c"]  # tab10, as before


def test_the_pixel_size_shows_under_the_map_with_a_scale_bar(panel):
    panel.show_decomposition(["total counts (click a pixel)"])
    panel.show_map(np.random.default_rng(0).random((24, 32)), categorical=False)
    panel.show_pixel_size(NM_MAP)
    assert panel.pixel_note.text() == "Pixel 2.5 × 2.5 nm."
    scale = panel.scale_bar
    assert scale.size == 8 and scale.text.textItem.toPlainText().strip() == "20 nm"  # 20 nm of an 80 nm map
    vb = panel.image_box
    eight_pixels = vb.mapViewToScene(QPointF(8, 0)).x() - vb.mapViewToScene(QPointF(0, 0)).x()
    assert scale.bar.sceneBoundingRect().width() == pytest.approx(eight_pixels, abs=1.5)

    panel.show_pixel_size([{"name": "x", "size": 64, "scale": 0.5, "units": "nm"}])  # a line scan
    assert panel.pixel_note.text() == "Step 0.5 nm along the scan." and panel.scale_bar.size == 10  # 5 nm
    # a DM4 spectrum image's 0.001992 µm pixels read in nm (were "0.001992 × 0.001992 µm")
    panel.show_pixel_size([{"name": n, "size": 2, "scale": 0.001992, "units": "µm"} for n in "yx"])
    assert panel.pixel_note.text() == "Pixel 1.992 × 1.992 nm."
    panel.show_pixel_size([{"name": "x", "size": 64, "scale": 1.0, "units": "<undefined>"}])
    assert panel.scale_bar is None and panel.pixel_note.text().startswith("Pixel size: not given by the file")
    panel.show_pixel_size(NM_MAP)
    panel.show_data("one spectrum", "spectrum", (), {})  # another file: nothing of the map's stays
    assert panel.scale_bar is None and panel.pixel_note.text() == "" and not panel.color_bar.isVisible()


def test_the_window_shows_a_line_scan_with_its_colour_bar(qtbot, empty_window, monkeypatch):
    monkeypatch.setattr("amorpha.gui.main_window.save_preferences", lambda prefs: None)
    e = np.linspace(95.0, 135.0, 200)
    counts = np.random.default_rng(1).poisson(np.full((40, len(e)), 50.0)).astype(float)
    navigation = [{"name": "x", "size": 40, "scale": 0.5, "units": "nm"}]
    empty_window.measured.set_data(SpectrumData(e, counts, navigation, title="line scan"))
    bar = empty_window.measured_panel.color_bar
    total = counts.sum(axis=-1)
    assert bar.getAxis("left").labelText == "total counts" and bar.levels() == (total.min(), total.max())
    # the file's pixel size reaches the panel
    assert empty_window.measured_panel.pixel_note.text() == "Step 0.5 nm along the scan."

"""Plots exported as PNG at twice their size on screen (gui.plot_export, shared by the Order,
Measured and Diffraction panels): the legend grows with the axes. pyqtgraph draws a legend
ignoring the painter's scale, so it kept its screen size and looked tiny beside doubled axes."""
import numpy as np
import pyqtgraph as pg
from PySide6.QtGui import QImage

from amorpha.engine.build.crystals import alpha_quartz
from amorpha.engine.order.pairs import RdfParams, compute_rdf
from amorpha.gui.panels.order_panel import GR, OrderPanel
from amorpha.gui.plot_export import save_plot_image

#: The legend's fill in these tests: no curve or axis has this colour, so its pixels are the legend's.
MAGENTA = (255, 0, 255)


def legend_box(image: QImage) -> tuple[int, int, int]:
    """(pixels, right edge, width) of the magenta legend in ``image``."""
    image = image.convertToFormat(QImage.Format.Format_RGBA8888)
    rgba = np.frombuffer(image.constBits(), np.uint8).reshape(image.height(), image.bytesPerLine())
    rgba = rgba[:, :4 * image.width()].reshape(image.height(), image.width(), 4)
    mask = (rgba[..., 0] > 240) & (rgba[..., 1] < 15) & (rgba[..., 2] > 240)
    columns = np.flatnonzero(mask.any(axis=0))
    return int(mask.sum()), int(columns.max()), image.width()


def assert_legend_scaled(plot, path):
    """The exported legend is the screen's scaled like the plot (area ×s², as far from the right)."""
    on_screen, right, width = legend_box(plot.grab().toImage())
    exported, exported_right, exported_width = legend_box(QImage(str(path)))
    scale = exported_width / width
    assert scale > 1.5  # the export is larger than the screen
    assert exported / on_screen > 0.8 * scale ** 2  # was ≈ 1: the legend kept its screen size
    assert abs((exported_width - exported_right) - scale * (width - right)) < 3 * scale  # in its corner


def test_a_legend_grows_with_the_exported_plot(shown, tmp_path):
    plot = shown(pg.PlotWidget(background="w"), 420, 300)
    legend = plot.addLegend(offset=(-10, 10), brush=pg.mkBrush(*MAGENTA))
    plot.plot([0, 1, 2], [0, 1, 0], pen="k", name="Si K predicted average")
    path = save_plot_image(plot, str(tmp_path / "spectra.png"))
    assert_legend_scaled(plot, path)
    assert legend.flags() & legend.GraphicsItemFlag.ItemIgnoresTransformations  # on screen as before


def test_the_order_panel_exports_its_curves_with_a_legend_to_scale(shown, tmp_path):
    panel = shown(OrderPanel(), 450, 900)
    atoms = alpha_quartz((2, 2, 2))
    panel.set_elements(atoms.numbers)
    panel.tabs.setCurrentIndex(1)
    panel.show_distribution(GR, compute_rdf(atoms, RdfParams(r_max=4.0, n_bins=100, weighting="number")))
    panel.legend.setBrush(pg.mkBrush(*MAGENTA))
    assert_legend_scaled(panel.dist_plot, panel.write_plot(tmp_path / "g_r.png"))
    assert panel.write_plot(tmp_path / "g_r.svg").endswith(".svg")  # the same export offers SVG
    assert "<svg" in (tmp_path / "g_r.svg").read_text()

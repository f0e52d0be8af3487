"""A plot as a picture: PNG through pyqtgraph's exporter (2× the screen size, so it prints
sharply) or SVG through Qt's SVG generator (pyqtgraph 0.14's SVG exporter cannot parse the paths
Qt 6 writes). The Measured panel's spectra, the Diffraction panel's pattern and the Order panel's
curves use it. On the GUI thread: both paint the scene.
"""
from __future__ import annotations

import os
from contextlib import contextmanager

#: File-dialog filter of :func:`save_plot_image`.
PLOT_FILTER = "PNG image (*.png);;SVG drawing (*.svg)"


def _legends(item) -> list:
    """The pyqtgraph legends among ``item`` and its descendants."""
    import pyqtgraph as pg

    found, todo = [], [item]
    while todo:
        child = todo.pop()
        if isinstance(child, pg.LegendItem):
            found.append(child)
        todo.extend(child.childItems())
    return found


@contextmanager
def _legends_scaled(item):
    """Let the legends under ``item`` grow with an export: pyqtgraph draws them ignoring the
    painter's scale (ItemIgnoresTransformations, pyqtgraph issue #1552), so a PNG at 2× showed a
    screen-sized legend beside doubled axes. On screen the flag changes nothing (a legend's parent,
    the view box, is not scaled); it is set back afterwards."""
    flag = item.GraphicsItemFlag.ItemIgnoresTransformations
    legends = [legend for legend in _legends(item) if legend.flags() & flag]
    for legend in legends:
        legend.setFlag(flag, False)
    try:
        yield
    finally:
        for legend in legends:
            legend.setFlag(flag, True)


def save_plot_image(widget, path: str, title: str = "Amorpha plot") -> str:
    """Save the pyqtgraph ``widget`` (a PlotWidget) at ``path``: SVG for ``.svg``, else PNG
    (``.png`` added to a name with neither ending). Returns the path written; OSError when the
    file could not be written."""
    if path.lower().endswith(".svg"):
        from PySide6.QtCore import QRect
        from PySide6.QtGui import QPainter
        from PySide6.QtSvg import QSvgGenerator

        generator = QSvgGenerator()
        generator.setFileName(path)
        generator.setSize(widget.size())
        generator.setViewBox(QRect(0, 0, widget.width(), widget.height()))
        generator.setTitle(title)
        painter = QPainter(generator)
        widget.render(painter)
        ok = painter.end()
    else:
        import pyqtgraph.exporters as exporters

        path = path if path.lower().endswith(".png") else path + ".png"
        item = widget.getPlotItem()
        exporter = exporters.ImageExporter(item)
        exporter.parameters()["width"] = int(2 * max(item.width(), 400))
        with _legends_scaled(item):
            ok = exporter.export(path) is not False
    if not ok or not os.path.isfile(path):
        raise OSError(f"could not write {path}")
    return path

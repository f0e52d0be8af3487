"""A plot as a picture: PNG through pyqtgraph's exporter (2× the screen size, so it prints
sharply) or SVG through Qt's SVG generator (pyqtgraph 0.14's SVG exporter cannot parse the paths
Qt 6 writes). The Measured panel's spectra and the Diffraction panel's pattern use it. On the GUI
thread: both paint the scene.
"""
from __future__ import annotations

import os

#: File-dialog filter of :func:`save_plot_image`.
PLOT_FILTER = "PNG image (*.png);;SVG drawing (*.svg)"


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
        ok = exporter.export(path) is not False
    if not ok or not os.path.isfile(path):
        raise OSError(f"could not write {path}")
    return path

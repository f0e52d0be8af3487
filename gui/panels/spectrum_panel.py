"""Docked spectrum plot (pyqtgraph): measured, predicted and reference spectra on one energy axis.

Curves belong to groups ("measured", "predicted", "site", "reference") so that a new prediction
replaces the old average without touching the measured spectrum the user opened. Each group has a
style a reader can tell apart in a screenshot: the predicted average thick, site spectra thin,
calculator references dashed.
"""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from amorpha.engine.spectra import Spectrum

_PENS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b"]
_STYLE = {  # group -> (width, Qt pen style)
    "measured": (1.5, Qt.SolidLine),
    "predicted": (2.6, Qt.SolidLine),
    "site": (1.2, Qt.SolidLine),
    "reference": (1.4, Qt.DashLine),
}
_HINT = "No spectrum yet: File › Open Spectrum… (text/CSV/EMSA columns)"


class SpectrumPanel(QWidget):
    """Plots spectra; the Open button asks the main window to load one (so errors share a dialog)."""

    open_requested = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        pg.setConfigOptions(antialias=True, background="w", foreground="k")
        self.plot = pg.PlotWidget()
        self.plot.setLabel("bottom", "Energy", units="eV")
        self.plot.setLabel("left", "Intensity")
        self.plot.showGrid(x=True, y=True, alpha=0.2)
        self.legend = self.plot.addLegend(offset=(-10, 10))
        self.hint = QLabel(_HINT)
        self.hint.setStyleSheet("color: #666")
        open_button = QPushButton("Open spectrum…")
        open_button.clicked.connect(self.open_requested)
        clear_button = QPushButton("Clear")
        clear_button.setToolTip("Remove every curve (predictions come back with Predict)")
        clear_button.clicked.connect(self.clear)
        row = QHBoxLayout()
        row.addWidget(self.hint, 1)
        row.addWidget(open_button)
        row.addWidget(clear_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(row)
        layout.addWidget(self.plot, 1)
        self.spectra: list[Spectrum] = []
        self._groups: list[str] = []
        self._items: list = []
        self._colors = 0

    def add_spectrum(self, spectrum: Spectrum, group: str = "measured") -> None:
        width, style = _STYLE.get(group, _STYLE["measured"])
        pen = pg.mkPen(_PENS[self._colors % len(_PENS)], width=width, style=style)
        self._colors += 1
        item = self.plot.plot(np.asarray(spectrum.energy), np.asarray(spectrum.intensity), pen=pen,
                              name=spectrum.label)
        self.spectra.append(spectrum)
        self._groups.append(group)
        self._items.append(item)
        self._update_hint()
        self.plot.autoRange()

    def remove_group(self, group: str) -> None:
        """Take away every curve of ``group`` (e.g. the old prediction when the model changes)."""
        keep = [k for k, g in enumerate(self._groups) if g != group]
        for k, item in enumerate(self._items):
            if k not in keep:
                self.plot.removeItem(item)
                self.legend.removeItem(item)
        self.spectra = [self.spectra[k] for k in keep]
        self._groups = [self._groups[k] for k in keep]
        self._items = [self._items[k] for k in keep]
        self._update_hint()

    def group(self, group: str) -> list[Spectrum]:
        return [s for s, g in zip(self.spectra, self._groups) if g == group]

    def _update_hint(self) -> None:
        if not self.spectra:
            self.hint.setText(_HINT)
            self._colors = 0
            return
        edges = sorted({f"{s.element} {s.edge}".strip() for s in self.spectra} - {""})
        what = f" ({', '.join(edges)})" if edges else ""
        count = "1 spectrum" if len(self.spectra) == 1 else f"{len(self.spectra)} spectra"
        self.hint.setText(f"{count}{what}; drag to pan, wheel to zoom")

    def clear(self) -> None:
        self.plot.clear()
        self.legend.clear()
        self.spectra.clear()
        self._groups.clear()
        self._items.clear()
        self._update_hint()

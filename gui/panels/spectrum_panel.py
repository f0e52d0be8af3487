"""Docked spectrum plot (pyqtgraph): measured and predicted spectra on one energy axis."""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from amorpha.engine.spectra import Spectrum

_PENS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b"]


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
        self.hint = QLabel("No spectrum loaded: File › Open Spectrum… (text/CSV/EMSA columns)")
        self.hint.setStyleSheet("color: #666")
        open_button = QPushButton("Open spectrum…")
        open_button.clicked.connect(self.open_requested)
        clear_button = QPushButton("Clear")
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

    def add_spectrum(self, spectrum: Spectrum) -> None:
        pen = pg.mkPen(_PENS[len(self.spectra) % len(_PENS)], width=1.5)
        self.plot.plot(
            np.asarray(spectrum.energy), np.asarray(spectrum.intensity), pen=pen, name=spectrum.label
        )
        self.spectra.append(spectrum)
        self.hint.setText(f"{len(self.spectra)} spectrum(s); drag to pan, wheel to zoom")
        self.plot.autoRange()

    def clear(self) -> None:
        self.plot.clear()
        self.spectra.clear()
        self.hint.setText("No spectrum loaded: File › Open Spectrum… (text/CSV/EMSA columns)")

"""The Diffraction panel: the virtual Å-beam pattern of the picked column, with its settings.

The pattern is an image on k axes in 1/Å (k_x to the right and k_y up, as on the screen); the
settings (column diameter, probe, thickness, k range, voltage, log scale) emit
``settings_changed`` and the controller (gui/diffraction.py) recomputes in the background; the
two Save buttons ask it to write the picture as shown or the intensities with their k axes.
"""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Signal
from PySide6.QtWidgets import (QCheckBox, QComboBox, QFormLayout, QHBoxLayout, QLabel, QPushButton,
                               QVBoxLayout, QWidget)

from amorpha.engine.order.diffraction import REACH, DiffractionParams, log_image

from .widgets import double_spin, note_item, plain_axes

PROBES = (("parallel", "parallel beam (hard column)"), ("gaussian", "Gaussian probe"),
          ("convergent", "convergent probe (Airy, discs)"))
PIXELS = (128, 256, 512)
#: Log display: this many decades below the brightest spot.
DYNAMIC_RANGE = 1e4


class DiffractionPanel(QWidget):
    settings_changed = Signal()
    save_image_requested = Signal()
    save_data_requested = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self.intro = QLabel("Click an atom: a column through it along the view direction "
                            "diffracts like an Å-sized electron beam. Turn the view to tilt it.")
        self.intro.setWordWrap(True)
        self.diameter = double_spin(0.2, 3.0, 0.5, " nm")
        self.diameter.setSingleStep(0.05)
        self.diameter.setToolTip("Column diameter (for the Gaussian and convergent probes: the "
                                 "probe's intensity FWHM). Å-beam diffraction uses 0.4–1 nm.")
        self.probe = QComboBox()
        for key, text in PROBES:
            self.probe.addItem(text, key)
        self.thickness = double_spin(0.0, 200.0, 0.0, " nm")
        self.thickness.setSpecialValueText("model cell")
        self.thickness.setToolTip("Length of the column along the beam, centred on the atom; "
                                  "'model cell': the cell's depth along the beam (periodic images "
                                  "fill the column)")
        self.k_max = double_spin(0.3, 4.0, 1.5, " 1/Å")
        self.k_max.setSingleStep(0.1)
        self.pixels = QComboBox()
        for n in PIXELS:
            self.pixels.addItem(f"{n} × {n}", n)
        self.pixels.setCurrentIndex(PIXELS.index(256))
        self.voltage = double_spin(20.0, 1000.0, 200.0, " kV", decimals=0)
        self.voltage.setToolTip("Beam energy: sets the wavelength, hence the Ewald sphere's "
                                "curvature and the convergent probe's semi-angle")
        self.log_scale = QCheckBox("log intensity")
        self.log_scale.setChecked(True)
        self.follow = QCheckBox("follow the view direction")
        self.follow.setChecked(True)
        form = QFormLayout()
        form.addRow("Diameter", self.diameter)
        form.addRow("Probe", self.probe)
        form.addRow("Thickness", self.thickness)
        form.addRow("k max", self.k_max)
        form.addRow("Detector", self.pixels)
        form.addRow("Voltage", self.voltage)
        form.addRow(self.log_scale)
        form.addRow(self.follow)

        self.plot = pg.PlotWidget()
        self.plot.setAspectLocked(True)
        self.plot.setLabel("bottom", "k<sub>x</sub> (1/Å)")
        self.plot.setLabel("left", "k<sub>y</sub> (1/Å)")
        plain_axes(self.plot)
        self.plot.setMinimumHeight(300)
        self.image = pg.ImageItem()
        self.plot.addItem(self.image)
        self.colorbar = pg.ColorBarItem(colorMap=pg.colormap.get("inferno"), interactive=False,
                                        label="log₁₀ I (Å²)", width=14)
        self.colorbar.setImageItem(self.image, insert_in=self.plot.getPlotItem())
        # the image stays in the plot; the note shows while there is no pattern, at k = 0
        self.empty_note = note_item(EMPTY_NOTE, 0.0, 0.0)
        self.plot.addItem(self.empty_note)
        self._show_empty()
        self.status = QLabel("No column yet.")
        self.status.setWordWrap(True)
        self.save_image_button = QPushButton("Save image…")
        self.save_image_button.setToolTip("The pattern as shown, with its k axes and colour bar "
                                          "(PNG or SVG)")
        self.save_image_button.clicked.connect(self.save_image_requested)
        self.save_data_button = QPushButton("Save data…")
        self.save_data_button.setToolTip("The intensity I(k_x, k_y) in Å² with its k axes in 1/Å "
                                         "and the column's geometry: .npz (numpy) or a .csv grid")
        self.save_data_button.clicked.connect(self.save_data_requested)
        saves = QHBoxLayout()
        saves.addStretch(1)
        saves.addWidget(self.save_image_button)
        saves.addWidget(self.save_data_button)

        layout = QVBoxLayout(self)
        layout.addWidget(self.intro)
        layout.addLayout(form)
        layout.addWidget(self.plot, 1)
        layout.addLayout(saves)
        layout.addWidget(self.status)
        self.result = None
        self._set_saveable(False)
        for box in (self.diameter, self.thickness, self.k_max, self.voltage):
            box.valueChanged.connect(self.settings_changed)
        for combo in (self.probe, self.pixels):
            combo.currentIndexChanged.connect(self.settings_changed)
        self.follow.toggled.connect(self.settings_changed)
        self.log_scale.toggled.connect(self._redraw)

    def params(self) -> DiffractionParams:
        thickness = self.thickness.value()
        return DiffractionParams(diameter=10.0 * self.diameter.value(), k_max=self.k_max.value(),
                                 pixels=int(self.pixels.currentData()),
                                 thickness=10.0 * thickness if thickness > 0 else None,
                                 probe=self.probe.currentData(), voltage=self.voltage.value())

    def _set_saveable(self, saveable: bool) -> None:
        self.save_image_button.setEnabled(saveable)
        self.save_data_button.setEnabled(saveable)

    def show_result(self, result) -> None:
        self.result = result
        self._redraw()
        self._set_saveable(True)
        c = result.column
        alpha = f", α = {1e3 * result.semi_angle:.1f} mrad (discs of {result.disc_radius:.3f} 1/Å)" \
            if result.semi_angle else ""
        self.status.setText(f"{_scatterers(c, result.params.probe)}; {c.diameter / 10:.2f} nm × "
                            f"{c.length / 10:.2f} nm, λ = {result.wavelength:.4f} Å{alpha}.")

    def _redraw(self) -> None:
        result = self.result
        if result is None:
            return
        k = result.k
        hide = 1.0 / result.params.diameter + result.disc_radius  # the direct beam's spread
        if self.log_scale.isChecked():
            image, low, high = log_image(result.intensity, k, hide, DYNAMIC_RANGE)
            self.colorbar.setLabel("left", "log₁₀ I (Å²)")
        else:
            image = result.intensity
            outside = image[np.hypot(k[None, :], k[:, None]) > hide]
            low, high = 0.0, float(outside.max()) if outside.size and outside.max() > 0 else 1.0
            self.colorbar.setLabel("left", "I (Å²)")
        self.empty_note.hide()
        self.image.setImage(image.T, autoLevels=False)  # ImageItem is indexed [x, y]
        self.colorbar.setLevels((low, high))
        dk = k[1] - k[0]
        self.image.setRect(QRectF(k[0] - 0.5 * dk, k[0] - 0.5 * dk, len(k) * dk, len(k) * dk))
        self.plot.setRange(xRange=(k[0], k[-1]), yRange=(k[0], k[-1]), padding=0)

    def _show_empty(self) -> None:
        """The note, in a view as wide as the next pattern (±k max)."""
        self.empty_note.show()
        k = self.k_max.value()
        self.plot.setRange(xRange=(-k, k), yRange=(-k, k), padding=0)

    def clear(self, message: str) -> None:
        self.result = None
        self.image.clear()
        self._show_empty()
        self._set_saveable(False)
        self.status.setText(message)


EMPTY_NOTE = "No pattern yet.<br>Click an atom: its column's pattern shows here."


def _scatterers(column, probe: str) -> str:
    """How many atoms scatter, saying what the count includes: periodic images of one atom are
    counted apart, and a Gaussian or convergent probe reaches past the nominal diameter."""
    elements = ", ".join(f"{n} {s}" for s, n in _counts(column.numbers))
    text = f"{len(column)} atoms in the column ({elements})"
    if probe != "parallel":
        reach = REACH[probe] * column.diameter / 10
        text += (f": {column.n_within_diameter} within the diameter, the rest in the probe's tails "
                 f"(out to {reach:.2f} nm from the axis)")
    if column.n_distinct < len(column):
        text += f"; {column.n_distinct} distinct atoms of the model, the others periodic images"
    return text


def _counts(numbers) -> list[tuple[str, int]]:
    from amorpha.engine.elements import symbol

    zs, counts = np.unique(numbers, return_counts=True)
    return [(symbol(z), int(n)) for z, n in zip(zs, counts)]

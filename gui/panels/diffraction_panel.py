"""The Diffraction panel: the virtual Å-beam pattern of the picked column, with its settings.

The pattern is an image on k axes in 1/Å (k_x to the right and k_y up, as on the screen); the
settings (column diameter, probe, thickness, k range, voltage, log scale) emit
``settings_changed`` and the controller (gui/diffraction.py) recomputes in the background; the
two Save buttons ask it to write the picture as shown or the intensities with their k axes.
"""
from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Signal
from PySide6.QtWidgets import (QCheckBox, QComboBox, QFormLayout, QHBoxLayout, QLabel, QPushButton,
                               QVBoxLayout, QWidget)

from amorpha.engine.order.diffraction import REACH, DiffractionParams, log_image

from .widgets import double_spin, note_item, plain_axes, select_data

PROBES = (("parallel", "parallel beam (hard column)"), ("gaussian", "Gaussian probe"),
          ("convergent", "convergent probe (Airy, discs)"))
PIXELS = (128, 256, 512)
#: Log display: this many decades below the brightest spot.
DYNAMIC_RANGE = 1e4
#: The unit of I on the colour bar: absolute, with the relativistic f_e (γ² × the tabulated f_e²).
UNITS = "Å², relativistic"


#: Width the colour bar and the k_y axis add beyond the k_x axis's height (px).
COLORBAR_PX = 80


class _SquarePlot(pg.PlotWidget):
    """A plot about as tall as it is wide: the pattern's k axes are locked equal (a spot
    pattern must not be distorted), so in a tall dock a free height only added blank bands
    above and below the ±k max image."""

    def __init__(self):
        super().__init__()
        policy = self.sizePolicy()
        policy.setHeightForWidth(True)
        self.setSizePolicy(policy)

    def hasHeightForWidth(self) -> bool:
        return True

    def heightForWidth(self, width: int) -> int:
        # the colour bar and k_y axis take ~80 px more across than the k_x axis takes down
        return max(self.minimumHeight(), width - COLORBAR_PX)


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

        self.plot = _SquarePlot()
        self.plot.setAspectLocked(True)
        self.plot.setLabel("bottom", "k<sub>x</sub> (1/Å)")
        self.plot.setLabel("left", "k<sub>y</sub> (1/Å)")
        plain_axes(self.plot)
        self.plot.setMinimumHeight(300)
        self.image = pg.ImageItem()
        self.plot.addItem(self.image)
        self.colorbar = pg.ColorBarItem(colorMap=pg.colormap.get("inferno"), interactive=False,
                                        label=f"log₁₀ I ({UNITS})", width=14)
        self.colorbar.setImageItem(self.image, insert_in=self.plot.getPlotItem())
        # the image stays in the plot; the note shows while there is no pattern, at k = 0
        self.empty_note = note_item(EMPTY_NOTE, 0.0, 0.0)
        self.plot.addItem(self.empty_note)
        self._show_empty()
        self.status = QLabel("No column yet.")
        self.status.setWordWrap(True)
        #: k and d = 1/k under the mouse: a student measuring a spot reads its spacing here
        self.readout = QLabel(READOUT_HINT)
        self.readout.setObjectName("diffraction-readout")
        self.plot.scene().sigMouseMoved.connect(self._read_out)
        self.save_image_button = QPushButton("Save image…")
        self.save_image_button.setToolTip("The pattern as shown, with its k axes and colour bar "
                                          "(PNG or SVG)")
        self.save_image_button.clicked.connect(self.save_image_requested)
        self.save_data_button = QPushButton("Save data…")
        self.save_data_button.setToolTip("The intensity I(k_x, k_y) in Å² (relativistic f_e: γ² "
                                         "times the tabulated f_e², γ = 1 + eV/mc²) with its k axes "
                                         "in 1/Å and the column's geometry: .npz (numpy) or a .csv grid")
        self.save_data_button.clicked.connect(self.save_data_requested)
        saves = QHBoxLayout()
        saves.addStretch(1)
        saves.addWidget(self.save_image_button)
        saves.addWidget(self.save_data_button)

        layout = QVBoxLayout(self)
        layout.addWidget(self.intro)
        layout.addLayout(form)
        layout.addWidget(self.plot)
        layout.addWidget(self.readout)
        layout.addLayout(saves)
        layout.addWidget(self.status)
        layout.addStretch(1)
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
                            f"{_length_words(c)}, λ = {result.wavelength:.4f} Å{alpha}.")

    def _redraw(self) -> None:
        result = self.result
        if result is None:
            return
        k = result.k
        hide = 1.0 / result.params.diameter + result.disc_radius  # the direct beam's spread
        if self.log_scale.isChecked():
            image, low, high = log_image(result.intensity, k, hide, DYNAMIC_RANGE)
            self.colorbar.setLabel("left", f"log₁₀ I ({UNITS})")
        else:
            image = result.intensity
            outside = image[np.hypot(k[None, :], k[:, None]) > hide]
            low, high = 0.0, float(outside.max()) if outside.size and outside.max() > 0 else 1.0
            self.colorbar.setLabel("left", f"I ({UNITS})")
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
        self.readout.setText(READOUT_HINT)

    def _read_out(self, scene_pos) -> None:
        """k under the mouse and the lattice spacing d = 1/|k| it stands for."""
        if self.result is None or not self.plot.sceneBoundingRect().contains(scene_pos):
            return
        point = self.plot.getPlotItem().vb.mapSceneToView(scene_pos)
        self.readout.setText(k_words(point.x(), point.y(), float(self.result.k[-1])))

    # -- project -----------------------------------------------------------------------------
    def settings(self) -> dict:
        """What a project keeps, so a reopened pattern is the one saved (lengths in nm, as shown)."""
        return {"probe": self.probe.currentData(), "diameter_nm": self.diameter.value(),
                "thickness_nm": self.thickness.value(), "k_max": self.k_max.value(),
                "pixels": int(self.pixels.currentData()), "voltage_kv": self.voltage.value(),
                "log_scale": self.log_scale.isChecked(), "follow_view": self.follow.isChecked()}

    def set_settings(self, settings) -> list[str]:
        """Show saved :meth:`settings` (a project is a file: an entry of the wrong kind or out of
        range is left as it is); returns the keys left out. Missing keys keep the defaults."""
        if not isinstance(settings, dict):
            return ["diffraction settings"]
        boxes = {"diameter_nm": self.diameter, "thickness_nm": self.thickness, "k_max": self.k_max,
                 "voltage_kv": self.voltage}
        checks = {"log_scale": self.log_scale, "follow_view": self.follow}
        combos = {"probe": self.probe, "pixels": self.pixels}
        left_out = []
        for key, value in settings.items():
            if key in boxes and _in_range(value, boxes[key]):
                boxes[key].setValue(float(value))
            elif key in checks and isinstance(value, bool):
                checks[key].setChecked(value)
            elif key in combos and combos[key].findData(value) >= 0 and not isinstance(value, bool):
                select_data(combos[key], value)
            else:
                left_out.append(key)
        return left_out


EMPTY_NOTE = "No pattern yet.<br>Click an atom: its column's pattern shows here."
READOUT_HINT = "Point at the pattern to read k and the spacing d = 1/k."


def k_words(kx: float, ky: float, k_max: float) -> str:
    """"k = (0.553, 0.000) 1/Å: |k| = 0.553 1/Å, d = 1/|k| = 1.808 Å" (outside the detector or at
    the direct beam, why there is no d)."""
    if max(abs(kx), abs(ky)) > k_max:
        return "Outside the detector (±k max)."
    k = math.hypot(kx, ky)
    d = f"d = 1/|k| = {1.0 / k:.3f} Å" if k > 1e-3 else "the direct beam (no d)"
    kx, ky = round(kx, 3) + 0.0, round(ky, 3) + 0.0  # + 0.0: never "-0.000"
    return f"k = ({kx:.3f}, {ky:.3f}) 1/Å: |k| = {k:.3f} 1/Å, {d}"


def _in_range(value, box) -> bool:
    """A number (not a bool) the spin box can show."""
    return (isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
            and box.minimum() <= value <= box.maximum())


def _length_words(column) -> str:
    """The column's length: "1.20 nm"; a model without a cell has no length limit, so the
    extent of its atoms along the beam ("0.71 nm through the whole molecule", not "inf nm")."""
    if math.isfinite(column.length):
        return f"{column.length / 10:.2f} nm"
    return f"{column.extent / 10:.2f} nm (through the whole molecule)"


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

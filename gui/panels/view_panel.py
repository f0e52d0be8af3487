"""Docked view controls: colour by, projection, bonds, reset, and the clipping slab."""
from __future__ import annotations

from typing import Optional

import numpy as np
from ase import Atoms
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QLabel,
    QPushButton,
    QSlider,
    QVBoxLayout,
    QWidget,
)
from amorpha.gui.columns import column_title
from amorpha.gui.panels.widgets import double_spin, form_box, select_data

ELEMENT = "Element"

#: Slab normals offered: Cartesian axes and the lattice planes (100), (010), (001).
SLAB_NORMALS = ["x", "y", "z", "(100)", "(010)", "(001)"]
#: Slab thicknesses offered (Å).
SLAB_THICKNESS_RANGE = (0.1, 1000.0)


def slab_geometry(
    atoms: Atoms, normal_key: str, fraction: float, thickness: float
) -> tuple[np.ndarray, np.ndarray, float]:
    """Unit normal, centre point and thickness of a slab placed at ``fraction`` along the model.

    Lattice planes use the reciprocal vectors as normals; the slab runs across the atoms' extent
    along that normal so that 0 and 1 are the two faces of the model.
    """
    axes = {"x": [1.0, 0, 0], "y": [0, 1.0, 0], "z": [0, 0, 1.0]}
    if normal_key in axes:
        normal = np.array(axes[normal_key])
    else:
        if atoms.cell.rank < 3:
            raise ValueError("lattice planes need a cell; use x, y or z")
        k = {"(100)": 0, "(010)": 1, "(001)": 2}[normal_key]
        normal = np.asarray(atoms.cell.reciprocal()[k], dtype=float)
    normal = normal / np.linalg.norm(normal)
    heights = atoms.positions @ normal if len(atoms) else np.zeros(1)
    lo, hi = float(heights.min()), float(heights.max())
    center = normal * (lo + fraction * (hi - lo))
    if len(atoms):
        mean = atoms.positions.mean(axis=0)
        center = center + (mean - normal * (mean @ normal))
    return normal, center, float(thickness)


class ViewPanel(QWidget):
    """Controls that change how the model is drawn, never the model."""

    color_by_changed = Signal(str)  # the column's key (ELEMENT for element colours)
    projection_changed = Signal(bool)  # orthographic?
    bonds_toggled = Signal(bool)
    reset_requested = Signal()
    slab_changed = Signal(object)  # None, or (normal_key, fraction, thickness)

    def __init__(self, parent=None):
        super().__init__(parent)
        # items show a column's title and hold its key (column_title)
        self.color_combo = QComboBox()
        self.color_combo.addItem(ELEMENT, ELEMENT)
        self.color_combo.currentIndexChanged.connect(self._chosen)
        # the colouring asked for: kept while a new frame lacks its array until it is computed again
        self._wanted = ELEMENT
        # items hold "orthographic?"; Orthographic first, as the viewer starts (the window keeps
        # the two in step: set_orthographic)
        self.projection = QComboBox()
        self.projection.addItem("Orthographic", True)
        self.projection.addItem("Perspective", False)
        self.projection.currentIndexChanged.connect(
            lambda _: self.projection_changed.emit(self.orthographic())
        )
        self.bonds_box = QCheckBox("Show bonds")
        self.bonds_box.setChecked(True)
        self.bonds_box.toggled.connect(self.bonds_toggled)
        reset = QPushButton("Reset view")
        reset.clicked.connect(self.reset_requested)
        # the list on a row of its own: the columns' titles ("Distance to training sites") run
        # to ~27 characters, which a field beside a label would cut at the dock's usual width
        display = form_box("Display", [QLabel("Colour by"), self.color_combo,
                                       ("Projection", self.projection), self.bonds_box, reset])

        self.slab_on = QCheckBox("Clip to a slab")
        self.slab_normal = QComboBox()
        self.slab_normal.addItems(SLAB_NORMALS)
        self.slab_position = QSlider(Qt.Horizontal)
        self.slab_position.setRange(0, 1000)
        self.slab_position.setValue(500)
        self.slab_thickness = double_spin(*SLAB_THICKNESS_RANGE, 5.0, " Å")
        slab = form_box("Clipping slab", [self.slab_on, ("Normal", self.slab_normal),
                                          ("Position", self.slab_position),
                                          ("Thickness", self.slab_thickness)])
        for signal in (
            self.slab_on.toggled,
            self.slab_normal.currentIndexChanged,
            self.slab_position.valueChanged,
            self.slab_thickness.valueChanged,
        ):
            signal.connect(self._emit_slab)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(display)
        layout.addWidget(slab)
        layout.addStretch(1)

    def color_key(self) -> str:
        """The key of the column the atoms are coloured by (ELEMENT for element colours)."""
        return self.color_combo.currentData() or ELEMENT

    def color_keys(self) -> list[str]:
        """The keys offered, in the list's order."""
        return [self.color_combo.itemData(k) for k in range(self.color_combo.count())]

    def set_color_key(self, key: str) -> None:
        """Colour by the column ``key`` if it is offered (as a user choosing it in the list)."""
        select_data(self.color_combo, key)

    def _chosen(self, _index: int) -> None:
        self._wanted = self.color_key()
        self._announce()

    def _announce(self) -> None:
        key = self.color_key()
        # the tooltip names the key too: what --color-by and scripts call the column
        self.color_combo.setToolTip(key if key == ELEMENT else f"{column_title(key)}: per-atom array '{key}'")
        self.color_by_changed.emit(key)

    def set_color_choices(self, names: list[str]) -> None:
        """Offer "Element" plus the model's per-atom arrays (by title); keep the choice if still
        there, and take back the one asked for when its array is there again (coordination,
        computed after each new frame of a trajectory)."""
        current = self.color_key()
        self.color_combo.blockSignals(True)
        self.color_combo.clear()
        for key in [ELEMENT] + names:
            self.color_combo.addItem(column_title(key), key)
        select_data(self.color_combo, next((c for c in (self._wanted, current) if c in names), ELEMENT))
        self.color_combo.blockSignals(False)
        if self.color_key() != current:
            self._announce()

    def orthographic(self) -> bool:
        """The projection chosen: orthographic (True) or perspective."""
        return bool(self.projection.currentData())

    def set_orthographic(self, orthographic: bool) -> None:
        """Choose the projection (as a user choosing it in the list)."""
        select_data(self.projection, bool(orthographic))

    def set_slab_settings(self, settings: Optional[tuple[str, float, float]]) -> None:
        """Show ``settings`` (as :meth:`slab_settings` gives them; None: no slab) and announce
        them once, not once per control."""
        widgets = (self.slab_on, self.slab_normal, self.slab_position, self.slab_thickness)
        for widget in widgets:
            widget.blockSignals(True)
        self.slab_on.setChecked(settings is not None)
        if settings is not None:
            normal, fraction, thickness = settings
            self.slab_normal.setCurrentText(normal)
            self.slab_position.setValue(round(fraction * 1000))
            self.slab_thickness.setValue(thickness)
        for widget in widgets:
            widget.blockSignals(False)
        self._emit_slab()

    def offer_lattice_planes(self, has_cell: bool) -> None:
        """Lattice-plane normals only for a model with a cell: chosen for a molecule they were
        refused with a dialog while the list kept showing them. A plane chosen before moves to x."""
        items = self.slab_normal.model()
        for k, key in enumerate(SLAB_NORMALS):
            if key.startswith("("):
                items.item(k).setEnabled(bool(has_cell))
        self.slab_normal.setToolTip("" if has_cell else "Lattice planes need a cell; this model has none")
        if not has_cell and self.slab_normal.currentText().startswith("("):
            self.slab_normal.setCurrentText("x")

    def slab_settings(self) -> Optional[tuple[str, float, float]]:
        if not self.slab_on.isChecked():
            return None
        return (
            self.slab_normal.currentText(),
            self.slab_position.value() / 1000.0,
            self.slab_thickness.value(),
        )

    def _emit_slab(self, *_):
        self.slab_changed.emit(self.slab_settings())

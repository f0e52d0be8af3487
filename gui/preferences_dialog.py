"""File › Preferences: element colours and radii, default bond cutoffs, the reference calculator.

Edits a copy of :class:`~amorpha.engine.preferences.Preferences`; OK is allowed only when the
copy validates, so a typo never reaches the file or the window.
"""
from __future__ import annotations

import copy

from PySide6.QtCore import Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QColorDialog,
    QComboBox,
    QDialog,
    QFormLayout,
    QHeaderView,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QTableWidget,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from amorpha.engine.elements import jmol_rgb, number
from amorpha.engine.errors import ParameterError
from amorpha.engine.preferences import LENGTH_UNITS, Preferences, cutoff_pair
from amorpha.gui.panels.widgets import checked_ok_buttons, double_spin

DEFAULT = "default"
#: eV between the points of the xTB spectra's grid, whatever the window (XtbParams' default)
ENERGY_STEP = 0.1


def _hex(rgb) -> str:
    return "#" + "".join(f"{int(round(255 * c)):02x}" for c in rgb)


class PreferencesDialog(QDialog):
    preferences_accepted = Signal(object)

    def __init__(self, prefs: Preferences, elements=(), parent=None):
        super().__init__(parent)
        self.setWindowTitle("Preferences")
        self.prefs = copy.deepcopy(prefs)
        tabs = QTabWidget()
        tabs.addTab(self._elements_page(sorted({*elements, *prefs.element_colors, *prefs.element_radii},
                                               key=number)), "Elements")
        tabs.addTab(self._cutoffs_page(), "Bond cutoffs")
        tabs.addTab(self._calculator_page(), "Calculator")
        tabs.addTab(self._units_page(), "Units")
        self.error, self.buttons = checked_ok_buttons(self, self._accept)
        self.cutoffs.textChanged.connect(lambda: self.error.setText(""))  # an old complaint goes when edited
        layout = QVBoxLayout(self)
        layout.addWidget(tabs)
        layout.addWidget(self.error)
        layout.addWidget(self.buttons)

    # -- pages ------------------------------------------------------------------------------
    def _elements_page(self, elements) -> QWidget:
        self.table = QTableWidget(len(elements), 3)
        self.table.setHorizontalHeaderLabels(["Element", "Colour", "Radius"])
        self.table.verticalHeader().hide()
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.Stretch)
        self._rows = list(elements)
        for row, sym in enumerate(elements):
            self.table.setCellWidget(row, 0, QLabel(f"  {sym}"))
            button = QPushButton()
            button.clicked.connect(lambda _=False, s=sym: self._pick_color(s))
            self.table.setCellWidget(row, 1, button)
            spin = double_spin(0.0, 5.0, self.prefs.element_radii.get(sym, 0.0), " Å")
            spin.setSpecialValueText(DEFAULT)
            spin.valueChanged.connect(lambda value, s=sym: self._set_radius(s, value))
            self.table.setCellWidget(row, 2, spin)
            self._show_color(sym)
        page = QWidget()
        box = QVBoxLayout(page)
        box.addWidget(QLabel("Elements of the shown model; 'default' = Jmol colour, covalent radius."))
        box.addWidget(self.table)
        return page

    def _cutoffs_page(self) -> QWidget:
        self.cutoffs = QPlainTextEdit("\n".join(f"{k} = {v:g}" for k, v in self.prefs.cutoffs.items()))
        self.cutoffs.setPlaceholderText("Si-O = 2.0\nSi-Si = 0   (0: never bonded)")
        page = QWidget()
        box = QVBoxLayout(page)
        box.addWidget(QLabel("Bond cutoffs every new model starts with (others: covalent radii × 1.2)."))
        box.addWidget(self.cutoffs)
        return page

    def _calculator_page(self) -> QWidget:
        c = self.prefs.calculator
        self.core_hole = QComboBox()
        self.core_hole.setToolTip("The Z+1 core hole keeps the chemical shifts between sites, at about "
                                  "3× the cost. Full: the Z+1 cation. Excited: the excited electron "
                                  "kept, which may settle on a dangling bond nearby instead.")
        for value, text in (("full", "Z+1, full core hole (cation)"), ("excited", "Z+1, excited electron kept"),
                            ("none", "none (ground state)")):
            self.core_hole.addItem(text, value)
        hole = c.get("core_hole_model", "excited") if c.get("core_hole", True) else "none"
        self.core_hole.setCurrentIndex(max(0, self.core_hole.findData(hole)))
        self.reference = QComboBox()
        for value, text in (("delta-scf", "ΔSCF edge (needs the core hole)"), ("lumo", "LUMO"),
                            ("vacuum", "vacuum (raw orbital energies)")):
            self.reference.addItem(text, value)
        self.reference.setCurrentIndex(max(0, self.reference.findData(c.get("energy_reference", "delta-scf"))))
        self.geometry = QComboBox()
        for value, text in (("cluster", "H-capped cluster"), ("cap", "compact cluster (edge-sharing oxides)"),
                            ("periodic", "periodic cell (the model's own)")):
            self.geometry.addItem(text, value)
        shown = "periodic" if c.get("geometry") == "periodic" else c.get("closure", "cluster")
        self.geometry.setCurrentIndex(max(0, self.geometry.findData(shown)))
        self.geometry.setToolTip("Where polyhedra share edges (MgO, rutile, stishovite) an H-capped cluster "
                                 "takes in each neighbour bonded to two of its atoms with that neighbour's "
                                 "own shell, and grows to hundreds or thousands of atoms. The compact cluster "
                                 "caps those neighbours' other bonds instead (stishovite at 3 Å: 59 atoms, not "
                                 "295; use 3-4 Å). The periodic cell, repeated to the width below, suits "
                                 "crystals; models of more than a few hundred atoms need clusters.")
        self.cell_width = double_spin(4.0, 30.0, float(c.get("cell_min_width", 8.0)), " Å")
        self.cell_width.setToolTip("The cell is repeated until its lattice planes lie this far apart: "
                                   "how far the core hole is from its periodic images")
        self.radius = double_spin(2.0, 12.0, float(c.get("cluster_radius", 5.0)), " Å")
        self.spread = double_spin(0.0, 3.0, float(c.get("radius_spread", 0.0)), " Å")
        self.spread.setSpecialValueText("none (one cluster)")
        self.spread.setToolTip("Average each site's spectrum over clusters from radius R − spread to "
                               "R + spread: smooths the edge's jumps with the atoms at the cluster's "
                               "boundary, at as many times the cost as clusters.")
        self.points = QComboBox()
        for n in (3, 5, 7, 9):  # odd: R in the middle
            self.points.addItem(str(n), n)
        self.points.setCurrentIndex(max(0, self.points.findData(int(c.get("radius_points", 3)))))
        self.points.setToolTip("How many clusters, evenly spaced over the spread (3: R − spread, R, "
                               "R + spread; the built-in Si K model uses 5 over ±0.4 Å)")
        self.e_min = double_spin(-50.0, 0.0, float(c.get("e_min", -5.0)), " eV")
        self.e_max = double_spin(5.0, 200.0, float(c.get("e_max", 25.0)), " eV")
        for spin in (self.e_min, self.e_max):
            spin.setToolTip("The spectra's energies, relative to the energy zero above, in 0.1 eV steps. "
                            "Si K and O K lie within -5..25 eV of the ΔSCF zero; a transition metal's K "
                            "edge reaches higher (rutile's Ti K: 23-46 eV), so widen the window for it.")
        self.gauss = double_spin(0.0, 10.0, float(c.get("gaussian_fwhm", 0.8)), " eV")
        self.lorentz = double_spin(0.0, 10.0, float(c.get("lorentzian_fwhm", 0.5)), " eV")
        page = QWidget()
        form = QFormLayout(page)
        form.addRow(QLabel("GFN1-xTB site spectra (used when the model in use does not say;\n"
                           "a compact cluster or the periodic cell, once chosen, for every model):"))
        form.addRow("Core hole", self.core_hole)
        form.addRow("Energy zero", self.reference)
        form.addRow("Geometry", self.geometry)
        form.addRow("Periodic cell at least", self.cell_width)
        form.addRow("Cluster radius", self.radius)
        form.addRow("Average over radius ±", self.spread)
        form.addRow("Clusters averaged", self.points)
        form.addRow("Energies from", self.e_min)
        form.addRow("Energies up to", self.e_max)
        form.addRow("Gaussian FWHM", self.gauss)
        form.addRow("Lorentzian FWHM", self.lorentz)
        self.geometry.currentIndexChanged.connect(self._geometry_fields)
        self._geometry_fields()
        return page

    def _geometry_fields(self) -> None:
        """Only the chosen geometry's own settings can be edited."""
        periodic = self.geometry.currentData() == "periodic"
        self.cell_width.setEnabled(periodic)
        for widget in (self.radius, self.spread, self.points):
            widget.setEnabled(not periodic)

    def _units_page(self) -> QWidget:
        self.length_unit = QComboBox()
        self.length_unit.addItems(list(LENGTH_UNITS))
        self.length_unit.setCurrentText(self.prefs.length_unit)
        page = QWidget()
        form = QFormLayout(page)
        form.addRow("Lengths in the Structure panel", self.length_unit)
        form.addRow(QLabel("Cutoffs, builders and files stay in Å, as the formats define them."))
        return page

    # -- editing ----------------------------------------------------------------------------
    def _show_color(self, sym: str) -> None:
        color = self.prefs.element_colors.get(sym) or _hex(jmol_rgb([number(sym)])[0])
        button = self.table.cellWidget(self._rows.index(sym), 1)
        button.setText(color if sym in self.prefs.element_colors else DEFAULT)
        button.setToolTip(f"{color}; click to choose another")
        button.setStyleSheet(f"background: {color}; color: {'#000' if QColor(color).lightness() > 128 else '#fff'}")

    def _pick_color(self, sym: str) -> None:
        start = QColor(self.prefs.element_colors.get(sym) or _hex(jmol_rgb([number(sym)])[0]))
        color = QColorDialog.getColor(start, self, f"Colour of {sym}")
        if color.isValid():
            self.prefs.element_colors[sym] = color.name()
            self._show_color(sym)

    def _set_radius(self, sym: str, value: float) -> None:
        if value <= 0.0:
            self.prefs.element_radii.pop(sym, None)
        else:
            self.prefs.element_radii[sym] = float(value)

    def result_preferences(self) -> Preferences:
        """The edited preferences, validated (raises ParameterError)."""
        cutoffs, seen = {}, {}
        for row, line in enumerate(self.cutoffs.toPlainText().splitlines(), start=1):
            line = line.split("#")[0].strip()
            if not line:
                continue
            pair, sep, value = line.partition("=")
            if sep:  # Si-O and O-Si are one pair: a second value would silently win
                key = cutoff_pair(pair.strip())
                if key in seen:
                    raise ParameterError("cutoffs", f"{pair.strip()} is given twice (lines {seen[key]} "
                                                    f"and {row}): keep one")
                seen[key] = row
            try:
                cutoffs[pair.strip()] = float(value)
            except ValueError:
                raise ParameterError("cutoffs", f"write 'A-B = distance', got {line!r}") from None
            if not sep:
                raise ParameterError("cutoffs", f"write 'A-B = distance', got {line!r}")
        self.prefs.cutoffs = cutoffs
        self.prefs.length_unit = self.length_unit.currentText()
        self.prefs.calculator = {
            "core_hole": self.core_hole.currentData() != "none",
            **({"core_hole_model": self.core_hole.currentData()} if self.core_hole.currentData() != "none" else {}),
            "energy_reference": self.reference.currentData(),
            **({"geometry": "periodic", "cell_min_width": self.cell_width.value()}
               if self.geometry.currentData() == "periodic" else {}),
            **({"closure": "cap"} if self.geometry.currentData() == "cap" else {}),
            "cluster_radius": self.radius.value(),
            "radius_spread": self.spread.value(),
            "radius_points": self.points.currentData(),
            "e_min": self.e_min.value(),
            "e_max": self.e_max.value(),
            "n_points": int(round((self.e_max.value() - self.e_min.value()) / ENERGY_STEP)) + 1,
            "gaussian_fwhm": self.gauss.value(),
            "lorentzian_fwhm": self.lorentz.value(),
        }
        return self.prefs.validate()

    def _accept(self) -> None:
        try:
            prefs = self.result_preferences()
        except ParameterError as exc:
            self.error.setText(str(exc))
            return
        self.preferences_accepted.emit(prefs)
        self.accept()


def element_style(prefs: Preferences) -> tuple[dict, dict]:
    """The viewer's overrides from the preferences: {Z: (r, g, b)}, {Z: radius}."""
    colors = {number(s): tuple(QColor(c).getRgbF()[:3]) for s, c in prefs.element_colors.items()}
    radii = {number(s): float(r) for s, r in prefs.element_radii.items()}
    return colors, radii


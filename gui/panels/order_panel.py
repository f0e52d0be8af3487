"""Docked order panel: per-atom local order (Steinhardt, tetrahedral) and whole-model distributions
(g(r), S(q), bond angles) with CSV and PNG/SVG export of the plot shown.

The panel holds parameters and shows results; the main window runs the engine calls
(``steinhardt_requested``, ``tetrahedral_requested``, ``distribution_requested``).
"""
from __future__ import annotations

import csv
import itertools
import os
from typing import Optional

import numpy as np
from ase.data import atomic_numbers
import pyqtgraph as pg
from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QStackedWidget,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from amorpha.engine.elements import elements_present, symbol
from amorpha.engine.order.local_order import SteinhardtParams, TetrahedralParams
from amorpha.gui.columns import column_title
from amorpha.gui.panels.widgets import double_spin, empty_plot_note, form_box, form_page, int_spin, select_data
from amorpha.gui.plot_export import PLOT_FILTER, save_plot_image
from amorpha.gui.saving import save_as
from amorpha.gui.viewer.colormap import is_flat

try:  # the pair/angle/structure-factor engine may be absent in older checkouts
    from amorpha.engine.order.angles import AngleParams
    from amorpha.engine.order.pairs import RdfParams
    from amorpha.engine.order.structure_factor import StructureFactorParams

    HAVE_DISTRIBUTIONS = True
except ImportError:  # pragma: no cover
    HAVE_DISTRIBUTIONS = False

ALL = "all atoms"
ANY = "any element"
GR, SQ, ANGLES = "g(r)", "S(q)", "Bond angles"
WEIGHTINGS = [("Faber–Ziman (atoms alike)", "faber-ziman"), ("Neutron", "neutron"),
              ("X-ray", "xray")]
#: Colours of the total and the partial curves.
PALETTE = [(0, 0, 0), (31, 119, 180), (214, 39, 40), (44, 160, 44), (148, 103, 189),
           (255, 127, 14), (140, 86, 75), (227, 119, 194), (23, 190, 207)]


def _plot_widget(x_label: str, y_label: str) -> pg.PlotWidget:
    plot = pg.PlotWidget(background="w")
    plot.setMinimumHeight(200)
    plot.setMaximumHeight(280)  # leave room for the notes and buttons below in a short dock
    plot.getPlotItem().setLabel("bottom", x_label)
    plot.getPlotItem().setLabel("left", y_label)
    for side in ("bottom", "left"):  # "(x0.001)" beside a unit reads as part of the unit
        plot.getPlotItem().getAxis(side).enableAutoSIPrefix(False)
    plot.getPlotItem().showGrid(x=True, y=True, alpha=0.2)
    return plot


def write_curves_csv(path, x_name: str, x: np.ndarray, curves: dict[str, np.ndarray]) -> None:
    """One x column and one column per curve (UTF-8: the headers hold "Å" and "–"; written whole
    or not at all, like every file the app writes)."""
    from amorpha.engine.atomic import atomic_write

    with atomic_write(path, "w") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow([x_name, *curves])
        for k in range(len(x)):
            writer.writerow([f"{x[k]:.6g}", *(f"{c[k]:.6g}" for c in curves.values())])


def element_pairs(elements):
    """(ia, a, ib, b, "Si–O") for every unordered pair of the result's elements, named heavier
    first as glass papers (and the Structure panel) write them."""
    for (ia, a), (ib, b) in itertools.combinations_with_replacement(list(enumerate(elements)), 2):
        heavy, light = (a, b) if atomic_numbers[a] >= atomic_numbers[b] else (b, a)
        yield ia, a, ib, b, f"{heavy}–{light}"


class OrderPanel(QWidget):
    """Two tabs: "Local order" (per-atom columns) and "g(r), S(q), angles" (whole model)."""

    steinhardt_requested = Signal(object, str)  # SteinhardtParams, the column to show
    tetrahedral_requested = Signal(object)  # TetrahedralParams
    distribution_requested = Signal(str, object)  # GR / SQ / ANGLES, its params

    def __init__(self, parent=None):
        super().__init__(parent)
        self.values: dict[str, np.ndarray] = {}
        self.curves: Optional[tuple[str, np.ndarray, dict]] = None  # x name, x, {name: y}
        self.curve_kind = ""
        self._busy_buttons: list[QPushButton] = []

        tabs = QTabWidget()
        tabs.addTab(self._local_tab(), "Local order")
        tabs.addTab(self._distribution_tab(), "g(r), S(q), angles")
        self.tabs = tabs
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(tabs)
        self.set_elements([])

    # -- construction --------------------------------------------------------------------------
    def _local_tab(self) -> QWidget:
        self.l_value = int_spin(1, 20, 6)
        self.neighbor_mode = QComboBox()
        self.neighbor_mode.addItems(["k nearest", "within a cutoff"])
        self.k_nearest = int_spin(1, 100, 12)
        self.q_cutoff = double_spin(0.1, 20.0, 3.5)
        self.q_cutoff.setSingleStep(0.1)
        self.q_cutoff.setSuffix(" Å")
        self.neighbor_mode.currentIndexChanged.connect(self._neighbor_mode_changed)
        self.averaged = QCheckBox("Average over neighbours (q̄, Lechner–Dellago)")
        self.steinhardt_button = QPushButton("Compute q6")
        self.l_value.valueChanged.connect(lambda l: self.steinhardt_button.setText(f"Compute q{l}"))
        self.steinhardt_button.clicked.connect(self._request_steinhardt)
        steinhardt = form_box("Steinhardt order q_l", [
            ("l", self.l_value), ("Neighbours", self.neighbor_mode), ("Number k", self.k_nearest),
            ("Cutoff", self.q_cutoff), self.averaged, self.steinhardt_button])
        self._steinhardt_form = steinhardt.layout()
        self._neighbor_mode_changed()

        self.centre = QComboBox()
        self.centre.setToolTip("Atoms that get a value (the others are NaN, drawn grey)")
        self.neighbor = QComboBox()
        self.neighbor.setToolTip("Element of the four nearest neighbours")
        self.t_cutoff = QDoubleSpinBox()
        self.t_cutoff.setRange(0.0, 20.0)
        self.t_cutoff.setSingleStep(0.1)
        self.t_cutoff.setSpecialValueText("none")
        self.t_cutoff.setSuffix(" Å")
        self.t_cutoff.setToolTip("Only neighbours closer than this; fewer than 4 gives NaN")
        self.tetrahedral_button = QPushButton("Compute tetrahedral q")
        self.tetrahedral_button.clicked.connect(self._request_tetrahedral)
        tetra = form_box("Tetrahedral order q (4 nearest neighbours)", [
            ("Centre", self.centre), ("Neighbours", self.neighbor), ("Cutoff", self.t_cutoff),
            self.tetrahedral_button])

        self.value_choice = QComboBox()  # titles shown, column keys as item data (gui.columns)
        self.value_choice.currentIndexChanged.connect(lambda _: self._plot_values(self.value_key()))
        self.value_plot = _plot_widget("value", "atoms")
        self.value_note = QLabel("Compute an order parameter; it is added as a per-atom column "
                                 "(View panel → Colour by).")
        self.value_note.setWordWrap(True)
        values = QGroupBox("Per-atom values")
        box = QVBoxLayout(values)
        row = QHBoxLayout()
        row.addWidget(QLabel("Show"))
        row.addWidget(self.value_choice, 1)
        box.addLayout(row)
        box.addWidget(self.value_plot, 1)
        box.addWidget(self.value_note)

        tab = QWidget()
        layout = QVBoxLayout(tab)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addWidget(steinhardt)
        layout.addWidget(tetra)
        layout.addWidget(values)
        layout.addStretch(1)
        self._busy_buttons += [self.steinhardt_button, self.tetrahedral_button]
        return tab

    def _distribution_tab(self) -> QWidget:
        tab = QWidget()
        layout = QVBoxLayout(tab)
        layout.setContentsMargins(2, 2, 2, 2)
        if not HAVE_DISTRIBUTIONS:
            note = QLabel("g(r), S(q) and bond angles need amorpha.engine.order.pairs, "
                          "structure_factor and angles, which are not installed.")
            note.setWordWrap(True)
            layout.addWidget(note)
            layout.addStretch(1)
            self.kind = None
            return tab
        self.kind = QComboBox()
        self.kind.addItems([GR, SQ, ANGLES])
        self.kind.setItemText(0, GR + " pair distribution")
        self.kind.setItemText(1, SQ + " structure factor")
        self.kind.setItemText(2, ANGLES)
        self.stack = QStackedWidget()

        self.r_max = double_spin(1.0, 50.0, 10.0, " Å")
        self.r_bins = int_spin(10, 5000, 400)
        self.stack.addWidget(form_page([("r max", self.r_max), ("Bins", self.r_bins)]))

        self.q_max = double_spin(1.0, 60.0, 20.0, " Å⁻¹")
        self.weighting = QComboBox()
        for label, key in WEIGHTINGS:
            self.weighting.addItem(label, key)
        self.sq_r_max = double_spin(1.0, 50.0, 10.0, " Å")
        self.sq_r_max.setToolTip("g(r) range transformed (Lorch window); at most half the cell")
        self.stack.addWidget(form_page([("q max", self.q_max), ("Weighting", self.weighting),
                                        ("From g(r) up to", self.sq_r_max)]))

        self.triplet = QComboBox()
        self.triplet.setToolTip("A–B–C: the angle at B between its bonds to A and C "
                                "(bonds by the Structure panel's cutoffs)")
        self.angle_bins = int_spin(10, 1800, 180)
        self.stack.addWidget(form_page([("Angle", self.triplet), ("Bins", self.angle_bins)]))
        self.kind.currentIndexChanged.connect(self.stack.setCurrentIndex)

        self.distribution_button = QPushButton("Compute")
        self.distribution_button.clicked.connect(self._request_distribution)
        self._busy_buttons.append(self.distribution_button)
        params = QGroupBox("Whole model")
        box = QVBoxLayout(params)
        form = QFormLayout()
        form.addRow("Show", self.kind)
        box.addLayout(form)
        box.addWidget(self.stack)
        box.addWidget(self.distribution_button)

        self.dist_plot = _plot_widget("r (Å)", "g(r)")
        self.dist_plot.setMinimumHeight(260)
        self.dist_plot.setMaximumHeight(380)
        self.legend = self.dist_plot.getPlotItem().addLegend(offset=(-10, 10))
        self.dist_note = QLabel("")
        self.dist_note.setWordWrap(True)
        self.export_csv_button = QPushButton("Export CSV…")
        self.export_csv_button.clicked.connect(self.export_csv_dialog)
        self.export_plot_button = QPushButton("Export plot…")
        self.export_plot_button.setToolTip("The plot as PNG (twice its size on screen) or SVG")
        self.export_plot_button.clicked.connect(self.export_plot_dialog)
        for button in (self.export_csv_button, self.export_plot_button):
            button.setEnabled(False)
        row = QHBoxLayout()
        row.addWidget(self.dist_note, 1)
        row.addWidget(self.export_csv_button)
        row.addWidget(self.export_plot_button)
        plot_box = QGroupBox("Plot")
        plot_layout = QVBoxLayout(plot_box)
        plot_layout.addWidget(self.dist_plot, 1)
        plot_layout.addLayout(row)

        layout.addWidget(params)
        layout.addWidget(plot_box)
        layout.addStretch(1)
        return tab

    # -- model ---------------------------------------------------------------------------------
    def set_elements(self, numbers, cell_height: Optional[float] = None) -> None:
        """A new model: offer its elements, clear results, keep r_max below half the cell."""
        present = [symbol(int(z)) for z in elements_present(numbers)]
        self.centre.clear()
        self.centre.addItems([ALL] + present)
        self.centre.setCurrentText("Si" if "Si" in present else ALL)
        self.neighbor.clear()
        self.neighbor.addItems([ANY] + present)
        self.neighbor.setCurrentText("O" if "O" in present and "Si" in present else ANY)
        self.values.clear()
        self.value_choice.clear()
        empty_plot_note(self.value_plot, "No values yet.<br>Compute q<sub>l</sub> or tetrahedral q above.")
        self.value_note.setText("Compute an order parameter; it is added as a per-atom column "
                                "(View panel → Colour by).")
        self.set_busy(False)
        for button in self._busy_buttons:
            button.setEnabled(bool(present))
        if self.kind is None:
            return
        self.triplet.clear()
        for centre in present:
            for a, c in itertools.combinations_with_replacement(present, 2):
                self.triplet.addItem(f"{a}–{centre}–{c}", (a, centre, c))
        for preferred in ("O–Si–O", "Si–O–Si"):
            if self.triplet.findText(preferred) >= 0:
                self.triplet.setCurrentText(preferred)
                break
        if cell_height:
            half = max(1.0, np.floor(cell_height / 2 * 10) / 10)
            self.sq_r_max.setValue(min(10.0, half))
        self.curves = None
        empty_plot_note(self.dist_plot, "No curve yet.<br>Choose what to show and Compute.")
        self.dist_note.setText("")
        self.export_csv_button.setEnabled(False)
        self.export_plot_button.setEnabled(False)

    def set_busy(self, busy: bool) -> None:
        for button in self._busy_buttons:
            button.setEnabled(not busy)

    def _neighbor_mode_changed(self, *_) -> None:
        by_cutoff = self.neighbor_mode.currentIndex() == 1
        self._steinhardt_form.setRowVisible(self.k_nearest, not by_cutoff)
        self._steinhardt_form.setRowVisible(self.q_cutoff, by_cutoff)

    # -- requests ------------------------------------------------------------------------------
    def steinhardt_params(self) -> tuple[SteinhardtParams, str]:
        l = self.l_value.value()
        by_cutoff = self.neighbor_mode.currentIndex() == 1
        params = SteinhardtParams(
            l_values=(l,),
            cutoff=self.q_cutoff.value() if by_cutoff else None,
            num_neighbors=None if by_cutoff else self.k_nearest.value(),
            average=self.averaged.isChecked(),
        )
        return params, f"q{l}_avg" if params.average else f"q{l}"

    def tetrahedral_params(self) -> TetrahedralParams:
        centre, neighbor = self.centre.currentText(), self.neighbor.currentText()
        return TetrahedralParams(
            centre=None if centre == ALL else centre,
            neighbor=None if neighbor == ANY else neighbor,
            cutoff=self.t_cutoff.value() or None,
        )

    def distribution_params(self) -> tuple[str, object]:
        kind = [GR, SQ, ANGLES][self.kind.currentIndex()]
        if kind == GR:
            return kind, RdfParams(r_max=self.r_max.value(), n_bins=self.r_bins.value(),
                                   weighting="number")
        if kind == SQ:
            return kind, StructureFactorParams(q_max=self.q_max.value(),
                                               weighting=self.weighting.currentData(),
                                               r_max=self.sq_r_max.value())
        return kind, AngleParams(triplet=tuple(self.triplet.currentData() or ("O", "Si", "O")),
                                 n_bins=self.angle_bins.value())

    def _request_steinhardt(self) -> None:
        self.steinhardt_requested.emit(*self.steinhardt_params())

    def _request_tetrahedral(self) -> None:
        self.tetrahedral_requested.emit(self.tetrahedral_params())

    def _request_distribution(self) -> None:
        if self.triplet.count() == 0 and self.kind.currentIndex() == 2:
            return
        self.distribution_requested.emit(*self.distribution_params())

    # -- per-atom values -------------------------------------------------------------------------
    def value_key(self) -> str:
        """The key of the column whose histogram is shown ("" before any)."""
        return self.value_choice.currentData() or ""

    def show_values(self, name: str, values: np.ndarray) -> None:
        """Keep a computed column and plot its histogram."""
        self.values[name] = np.asarray(values, dtype=float)
        if self.value_choice.findData(name) < 0:
            self.value_choice.addItem(column_title(name), name)
        if self.value_key() == name:
            self._plot_values(name)
        else:
            self.show_value_key(name)

    def show_value_key(self, name: str) -> None:
        """Show the histogram of the computed column ``name`` (if computed)."""
        select_data(self.value_choice, name)

    def _plot_values(self, name: str) -> None:
        self.value_plot.clear()
        values = self.values.get(name)
        if values is None:
            return
        ok = values[np.isfinite(values)]
        title = column_title(name)
        self.value_plot.getPlotItem().setLabel("bottom", title)
        if not len(ok):
            self.value_note.setText(f"{title}: no atom has a value (NaN everywhere).")
            return
        lo, hi = float(ok.min()), float(ok.max())
        if is_flat(lo, hi):  # a crystal: one value (up to rounding), draw one narrow bar around it
            lo, hi = lo - 0.01, hi + 0.01
        counts, edges = np.histogram(ok, bins=min(60, max(10, int(np.sqrt(len(ok))))), range=(lo, hi))
        self.value_plot.plot(edges, counts, stepMode="center", fillLevel=0,
                             brush=pg.mkBrush(90, 140, 200, 160), pen=pg.mkPen(40, 80, 140))
        self.value_plot.enableAutoRange()  # the empty plot's note fixed the range
        missing = len(values) - len(ok)
        self.value_note.setText(
            f"{title}: mean {ok.mean():.5f}, std {ok.std():.5f} over {len(ok):,} atoms"
            + (f" ({missing:,} without a value: NaN, grey in the viewer)" if missing else "")
            + ". Colour atoms by it in the View panel."
        )

    # -- distributions ---------------------------------------------------------------------------
    def show_distribution(self, kind: str, result) -> None:
        """Plot g(r) (total + partials), S(q) (total + partials) or an angle distribution."""
        self.dist_plot.clear()
        self.legend.clear()
        item = self.dist_plot.getPlotItem()
        curves: dict[str, np.ndarray] = {}
        if kind == GR:
            x, x_name = result.r, "r (Å)"
            item.setLabel("bottom", "r (Å)")
            item.setLabel("left", "g(r)")
            curves["total"] = result.g
            peaks = []
            for ia, a, ib, b, name in element_pairs(result.elements):
                curves[name] = result.partials[ia, ib]
                peaks.append(f"{name} {result.first_peak(a, b, 0.5):.2f} Å")
            note = "Highest peak: " + ", ".join(peaks)
        elif kind == SQ:
            x, x_name = result.q, "q (1/Å)"
            item.setLabel("bottom", "q (Å⁻¹)")
            item.setLabel("left", "S(q)")
            curves["total"] = result.S
            for ia, _, ib, _, name in element_pairs(result.elements):
                curves[name] = result.partials[ia, ib]
            label = {key: text for text, key in WEIGHTINGS}.get(result.weighting, result.weighting)
            note = (f"{label} weighting, Faber–Ziman partials from g(r) up to {result.r_max:.1f} Å")
        else:
            x, x_name = result.centres_of_bins, "angle (deg)"
            item.setLabel("bottom", "angle (°)")
            item.setLabel("left", "probability density (1/°)")
            curves["–".join(result.triplet)] = result.density
            note = (f"{'–'.join(result.triplet)}: {len(result.angles):,} angles, "
                    f"mean {result.mean:.2f}°, std {result.std:.2f}°")
        for k, (name, y) in enumerate(curves.items()):
            width = 2 if k == 0 else 1.3
            item.plot(x, y, pen=pg.mkPen(PALETTE[k % len(PALETTE)], width=width), name=name)
        item.enableAutoRange()
        self.curves = (x_name, np.asarray(x), {k: np.asarray(v) for k, v in curves.items()})
        self.curve_kind = kind
        self.dist_note.setText(note)
        self.export_csv_button.setEnabled(True)
        self.export_plot_button.setEnabled(True)

    def write_csv(self, path) -> None:
        if self.curves is None:
            raise ValueError("nothing to export: compute a distribution first")
        write_curves_csv(path, *self.curves)

    def write_plot(self, path) -> str:
        """The plot as PNG or SVG by the path's ending (:func:`~amorpha.gui.plot_export.save_plot_image`,
        which keeps the legend as large as the axes); returns the path written."""
        return save_plot_image(self.dist_plot, os.fspath(path), f"Amorpha {self.curve_kind or 'plot'}")

    def _default_name(self, ext: str) -> str:
        base = {GR: "g_r", SQ: "S_q", ANGLES: "angles"}.get(self.curve_kind, "plot")
        return f"{base}.{ext}"

    def export_csv_dialog(self) -> None:
        save_as(self, "Export plot data", self._default_name("csv"), "CSV (*.csv)", self.write_csv)

    def export_plot_dialog(self) -> None:
        save_as(self, "Export plot image", self._default_name("png"), PLOT_FILTER, self.write_plot)

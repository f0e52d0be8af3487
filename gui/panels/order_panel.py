"""Docked order panel: per-atom local order (Steinhardt, tetrahedral) and whole-model distributions
(g(r), S(q), bond angles) with CSV and PNG/SVG export of the plot shown.

The panel holds parameters and shows results; the main window runs the engine calls
(``steinhardt_requested``, ``tetrahedral_requested``, ``distribution_requested``).
"""
from __future__ import annotations

import itertools
import math
import os
from typing import Optional

import numpy as np
from ase.data import atomic_numbers
import pyqtgraph as pg
from PySide6.QtCore import QSignalBlocker, Signal
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

from amorpha.engine.atomic import write_table
from amorpha.engine.bonds import pair_name
from amorpha.engine.elements import elements_present, symbol
from amorpha.engine.errors import ParameterError
from amorpha.engine.order.local_order import (SteinhardtParams, TetrahedralParams, bond_cutoff_between,
                                              steinhardt_columns)
from amorpha.gui.columns import column_title
from amorpha.gui.panels.widgets import double_spin, empty_plot_note, form_box, form_page, int_spin, select_data
from amorpha.gui.plot_export import PLOT_FILTER, save_plot_image
from amorpha.gui.saving import save_as
from amorpha.gui.viewer.colormap import is_flat

try:  # the pair/angle/structure-factor engine may be absent in older checkouts
    from amorpha.engine.order.angles import AngleParams
    from amorpha.engine.order.pairs import RdfParams
    from amorpha.engine.order.structure_factor import (StructureFactorParams, total_weights, weighting_q_max,
                                                       xray_fit_names)

    HAVE_DISTRIBUTIONS = True
except ImportError:  # pragma: no cover
    HAVE_DISTRIBUTIONS = False

ALL = "all atoms"
ANY = "any element"
GR, SQ, ANGLES = "g(r)", "S(q)", "Bond angles"
WEIGHTINGS = [("Faber–Ziman (atoms alike)", "faber-ziman"), ("Neutron", "neutron"),
              ("X-ray", "xray")]
#: Axis labels (bottom, left) of each plot.
AXES = {GR: ("r (Å)", "g(r)"), SQ: ("q (Å⁻¹)", "S(q)"), ANGLES: ("angle (°)", "probability density (1/°)")}
#: The highest q max the S(q) page offers (1/Å).
Q_MAX = 60.0
#: Inputs that make a result doubtful are said in this colour beside them.
WARNING_STYLE = "color: #a05000"
#: How each weighting's total is described in a note and an exported file's header.
WEIGHTING_WORDS = {
    "faber-ziman": "every atom alike",
    "neutron": "coherent neutron scattering lengths (Sears 1992)",
    "xray": "X-ray form factors of neutral atoms",
}
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


def write_curves_csv(path, x_name: str, x: np.ndarray, curves: dict[str, np.ndarray],
                     comments=()) -> None:
    """``# comment`` lines saying how the curves were made (a bare table of numbers cannot be
    reproduced), then one x column and one column per curve (UTF-8: the headers hold "Å" and "–";
    written whole or not at all, like every file the app writes)."""
    rows = ([f"{x[k]:.6g}", *(f"{c[k]:.6g}" for c in curves.values())] for k in range(len(x)))
    write_table(path, comments, [x_name, *curves], rows)


def model_words(counts: dict[str, int], density: Optional[float] = None) -> str:
    """"model: Si333O666, 999 atoms, 0.06628 atoms/Å³" (heavier elements first)."""
    order = sorted(counts, key=lambda e: -atomic_numbers[e])
    text = f"model: {''.join(f'{e}{counts[e]}' for e in order)}, {sum(counts.values()):,} atoms"
    return text + (f", {density:.5g} atoms/Å³" if density else "")


def _counts(elements, concentrations, n_atoms: int) -> dict[str, int]:
    return {e: int(round(c * n_atoms)) for e, c in zip(elements, concentrations)}


def gr_header(result) -> list[str]:
    """What a g(r) file needs to be reproduced: the model, the binning, what N(r) counts."""
    edges = result.edges
    return [
        "Amorpha g(r): total and partial pair distribution functions (every atom alike, "
        "g_ab = g_ba), periodic images included",
        model_words(_counts(result.elements, result.concentrations, result.n_atoms), result.density),
        f"r from 0 to {edges[-1]:g} Å in {len(edges) - 1} bins of {edges[1] - edges[0]:.6g} Å; "
        "r is the bin centre",
        "'N B around A': running coordination, the mean number of B atoms closer to an A atom "
        "than the bin's outer edge (r + dr/2); 'N total' over all atoms",
    ]


def running_coordination(result) -> dict[str, np.ndarray]:
    """The N(r) columns of a g(r) file: the total, then each ordered element pair."""
    out = {"N total": result.total_coordination}
    for ia, a in enumerate(result.elements):
        for ib, b in enumerate(result.elements):
            out[f"N {b} around {a}"] = result.coordination[ia, ib]
    return out


def sq_header(result) -> list[str]:
    """What an S(q) file needs to be reproduced: weighting, the g(r) transformed, the q grid."""
    weighting = WEIGHTING_WORDS.get(result.weighting, result.weighting)
    if len(result.elements) == 1 and result.weighting != "faber-ziman":
        weighting += " (one element: the weights cancel)"
    elif result.weighting == "xray":
        fits = xray_fit_names(result.elements)
        weighting += " (fits: " + ", ".join(f"{e} {fit}" for e, fit in fits.items()) + ")"
    window = "Lorch window" if result.window == "lorch" else "no window"
    q = result.q
    return [
        "Amorpha S(q): Faber–Ziman partial structure factors S_ab(q) and their weighted total",
        f"weighting of the total: {weighting}",
        f"from g(r) up to r_max {result.r_max:g} Å in bins of {result.dr:.6g} Å, {window}",
        f"q from {q[0]:g} to {q[-1]:g} 1/Å, {len(q)} points",
        model_words(_counts(result.elements, result.concentrations, result.n_atoms), result.density),
    ]


def angles_header(result) -> list[str]:
    """What a bond-angle file needs to be reproduced: the bonds, the bins, the model."""
    a, b, c = result.triplet
    edges = result.edges
    bonds = ", ".join(f"{pair_name(*pair)} < {cutoff:.3f} Å" for pair, cutoff in result.bond_cutoffs.items())
    arms = f"two of its bonds to {a}" if a == c else f"its bonds to {a} and {c}"
    return [
        f"Amorpha bond angles {'–'.join(result.triplet)}: the angle at {b} between {arms}; "
        f"{len(result.angles):,} angles, mean {result.mean:.2f}°, std {result.std:.2f}°",
        f"bonds: {bonds} (the Structure panel's cutoffs)",
        f"angle from 0 to 180° in {len(edges) - 1} bins of {edges[1] - edges[0]:.6g}°; density is "
        "the probability per degree",
        model_words(result.atom_counts),
    ]


def no_angles_sentence(result) -> str:
    """Why a bond-angle distribution is empty, in words ("mean nan°" said nothing)."""
    a, b, c = result.triplet
    bonds = ", ".join(f"{pair_name(*pair)} " + (f"< {cutoff:.3f} Å" if cutoff > 0 else "never bonded")
                      for pair, cutoff in result.bond_cutoffs.items())
    wanted = f"two bonded {a} neighbours" if a == c else f"bonded {a} and {c} neighbours"
    where = f" at the Structure panel's cutoffs ({bonds})" if bonds else ""
    return f"No {a}–{b}–{c} angles (no such bonds): no {b} atom has {wanted}{where}."


def _percent(fraction: float) -> str:
    return f"{100.0 * fraction:.3g} %"


def shell_cut_sentence(cut, tetrahedral: bool = False) -> str:
    """Why the values of a k-nearest order parameter are arbitrary, in words a student follows
    ("" when the k nearest took whole shells): a perfect bcc crystal at k = 12 showed two q6 bars."""
    if cut is None or not cut.cut:
        return ""
    shell = cut.more - cut.fewer
    where = (f"a shell of {shell} equidistant neighbours at {cut.distance:.2f} Å in "
             f"{_percent(cut.fraction)} of atoms")
    if tetrahedral:
        return (f"The 4 nearest neighbours cut {where}: which 4 were taken is arbitrary, so the "
                "values depend on it; tetrahedral order means something only for atoms with 4 "
                "bonded neighbours.")
    choices = " or ".join(str(k) for k in (cut.fewer, cut.more) if k > 0)
    return (f"k = {cut.k} cuts {where}: the values depend on which neighbours were taken; use "
            f"k = {choices}, or a cutoff.")


def fewer_neighbours_sentence(result) -> str:
    """Atoms that had fewer than the k neighbours asked for (a molecule smaller than k), said:
    "over 12 atoms" alone read as if each had 12."""
    cut = getattr(result, "shell_cut", None)
    counts = getattr(result, "num_neighbors", None)
    if cut is None or counts is None or not len(counts) or counts.min() >= cut.k:
        return ""
    short = int(np.count_nonzero(counts < cut.k))
    lo, hi = int(counts.min()), int(counts[counts < cut.k].max())
    had = f"{lo}" if lo == hi else f"{lo} to {hi}"
    return (f"{short:,} atoms had only {had} neighbours, fewer than k = {cut.k}: the model has "
            "too few atoms within reach.")


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
        self.curve_result = None  # the g(r), S(q) or angle result drawn
        #: what an exported CSV says above the curves, and its columns not plotted (N(r))
        self.csv_comments: list[str] = []
        self.csv_extra: dict[str, np.ndarray] = {}
        #: how each shown column was computed, said under its histogram (the cutoff used)
        self._made: dict[str, str] = {}
        self._requested: dict[str, str] = {}
        self._numbers = np.zeros(0, np.int64)
        self._bond_cutoffs = None  # the window's cutoff overrides (the Bonds table), None: defaults
        self._cell_height: Optional[float] = None
        self._busy = False
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
        self.with_wl = QCheckBox("w_l too (and ŵ_l, normalised as freud's)")
        self.with_wl.setToolTip("The third-order invariants w_l and ŵ_l = w_l / (Σ|q_lm|²)^3/2 "
                                "as columns w6, ŵ6 (and their averages when averaged)")
        self.steinhardt_button = QPushButton("Compute q6")
        self.l_value.valueChanged.connect(lambda _: self._name_steinhardt_button())
        self.with_wl.toggled.connect(lambda _: self._name_steinhardt_button())
        self.steinhardt_button.clicked.connect(self._request_steinhardt)
        steinhardt = form_box("Steinhardt order q_l, w_l", [
            ("l", self.l_value), ("Neighbours", self.neighbor_mode), ("Number k", self.k_nearest),
            ("Cutoff", self.q_cutoff), self.averaged, self.with_wl, self.steinhardt_button])
        self._steinhardt_form = steinhardt.layout()
        self._neighbor_mode_changed()

        self.centre = QComboBox()
        self.centre.setToolTip("Atoms that get a value (the others are NaN, drawn grey)")
        self.neighbor = QComboBox()
        self.neighbor.setToolTip("Element of the four nearest neighbours")
        self.t_cutoff = QDoubleSpinBox()
        self.t_cutoff.setDecimals(3)  # the bond cutoffs' own precision (Si–O 2.124 Å)
        self.t_cutoff.setRange(0.0, 20.0)
        self.t_cutoff.setSingleStep(0.1)
        self.t_cutoff.setSpecialValueText("none")
        self.t_cutoff.setSuffix(" Å")
        self.t_cutoff.setToolTip("Only neighbours closer than this; fewer than 4 gives NaN. Set "
                                 "to the centre–neighbour bond cutoff (covalent radii, as the "
                                 "Structure panel's defaults) when Centre or Neighbours change")
        self.centre.currentIndexChanged.connect(self._default_t_cutoff)
        self.neighbor.currentIndexChanged.connect(self._default_t_cutoff)
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

        self.q_max = double_spin(1.0, Q_MAX, 20.0, " Å⁻¹")
        self.weighting = QComboBox()
        for label, key in WEIGHTINGS:
            self.weighting.addItem(label, key)
        self.sq_r_max = double_spin(1.0, 50.0, 10.0, " Å")
        self.sq_r_max.setToolTip("g(r) range transformed (Lorch window); at most half the cell")
        self.stack.addWidget(form_page([("q max", self.q_max), ("Weighting", self.weighting),
                                        ("From g(r) up to", self.sq_r_max)]))
        for signal in (self.q_max.valueChanged, self.sq_r_max.valueChanged,
                       self.weighting.currentIndexChanged):
            signal.connect(self._check_inputs)

        self.triplet = QComboBox()
        self.triplet.setToolTip("A–B–C: the angle at B between its bonds to A and C "
                                "(bonds by the Structure panel's cutoffs)")
        self._triplet_chosen = False  # the user picked one: new bonds do not change it
        self.triplet.activated.connect(lambda _: setattr(self, "_triplet_chosen", True))
        self.angle_bins = int_spin(10, 1800, 180)
        self.stack.addWidget(form_page([("Angle", self.triplet), ("Bins", self.angle_bins)]))
        self.kind.currentIndexChanged.connect(self.stack.setCurrentIndex)
        self.kind.currentIndexChanged.connect(self._kind_changed)
        #: what is wrong with the inputs (S(q) past half the cell, a model without a cell), in
        #: the panel: a tooltip is read by few
        self.input_note = QLabel("")
        self.input_note.setWordWrap(True)
        self.input_note.setStyleSheet(WARNING_STYLE)
        self.input_note.hide()

        self.distribution_button = QPushButton("Compute")
        self.distribution_button.clicked.connect(self._request_distribution)
        self._busy_buttons.append(self.distribution_button)
        params = QGroupBox("Whole model")
        box = QVBoxLayout(params)
        form = QFormLayout()
        form.addRow("Show", self.kind)
        box.addLayout(form)
        box.addWidget(self.stack)
        box.addWidget(self.input_note)
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
        """A new model: offer its elements, clear results, keep r_max below half the cell.

        ``cell_height`` is the smallest height of the model's periodic cell, None for a model
        without one (a molecule, which has no g(r) or S(q)).
        """
        self._numbers = elements_present(numbers)  # the bond cutoffs need only which elements
        self._cell_height = float(cell_height) if cell_height else None
        present = [symbol(int(z)) for z in self._numbers]
        self.centre.clear()
        self.centre.addItems([ALL] + present)
        self.centre.setCurrentText("Si" if "Si" in present else ALL)
        self.neighbor.clear()
        self.neighbor.addItems([ANY] + present)
        self.neighbor.setCurrentText("O" if "O" in present and "Si" in present else ANY)
        self._default_t_cutoff()
        self.values.clear()
        self._made.clear()
        self._requested.clear()
        self.value_choice.clear()
        empty_plot_note(self.value_plot, "No values yet.<br>Compute q<sub>l</sub> or tetrahedral q above.")
        self.value_note.setText("Compute an order parameter; it is added as a per-atom column "
                                "(View panel → Colour by).")
        self.set_busy(False)
        if self.kind is None:
            return
        self.triplet.clear()
        self._triplet_chosen = False
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
        self._clear_curves("No curve yet.<br>Choose what to show and Compute.")
        self.dist_note.setText("")
        self._check_inputs()

    def set_busy(self, busy: bool) -> None:
        self._busy = busy
        self._refresh_buttons()

    def _refresh_buttons(self) -> None:
        """Compute buttons work when a model is shown and nothing runs; g(r) and S(q) also need
        a periodic cell (the note beside the button says why not)."""
        ready = bool(len(self._numbers)) and not self._busy
        for button in self._busy_buttons:
            button.setEnabled(ready)
        if self.kind is not None and self._needs_cell():
            self.distribution_button.setEnabled(False)

    def _needs_cell(self) -> bool:
        return (self._kind() in (GR, SQ) and bool(len(self._numbers))
                and self._cell_height is None)

    def _neighbor_mode_changed(self, *_) -> None:
        by_cutoff = self.neighbor_mode.currentIndex() == 1
        self._steinhardt_form.setRowVisible(self.k_nearest, not by_cutoff)
        self._steinhardt_form.setRowVisible(self.q_cutoff, by_cutoff)

    def _name_steinhardt_button(self) -> None:
        l = self.l_value.value()
        self.steinhardt_button.setText(f"Compute q{l}" + (f" and w{l}" if self.with_wl.isChecked() else ""))

    def set_bond_cutoffs(self, overrides) -> None:
        """The bond cutoffs in effect (the Structure panel's Bonds table): the tetrahedral cutoff
        follows them, so "bonded neighbours" means the bonds drawn."""
        overrides = dict(overrides) if overrides else None
        if overrides == self._bond_cutoffs:  # the same bonds again (a new frame): a cutoff typed stays
            return
        self._bond_cutoffs = overrides
        self._default_t_cutoff()

    def _default_t_cutoff(self, *_) -> None:
        """The centre–neighbour bond cutoff (none where they are never bonded): without a cutoff
        a Si among Si in a-SiO took O 3–4 Å away as its "4 nearest" (q down to −2.5)."""
        centre, neighbor = self.centre.currentText(), self.neighbor.currentText()
        if not centre or not neighbor:  # the lists are being refilled
            return
        cutoff = bond_cutoff_between(self._numbers, None if centre == ALL else centre,
                                     None if neighbor == ANY else neighbor, self._bond_cutoffs)
        self.t_cutoff.setValue(cutoff or 0.0)

    def _kind(self) -> str:
        return [GR, SQ, ANGLES][self.kind.currentIndex()]

    def _kind_changed(self, *_) -> None:
        """Check the new choice's inputs; an empty plot takes its axes (a curve keeps its own)."""
        if self.curves is None:
            self._label_axes(self._kind())
        self._check_inputs()

    def _check_inputs(self, *_) -> None:
        """Say beside the Compute button what makes the chosen curve impossible or doubtful, and
        keep X-ray q max within the form factors' fits."""
        if self.kind is None:
            return
        notes = []
        if self._needs_cell():
            notes.append("This model has no periodic cell: g(r) and S(q) need one (its density "
                         "N/V normalises them). Bond angles need none.")
        elif self._kind() == SQ:
            notes += self._sq_notes()
        self.input_note.setText(" ".join(notes))
        self.input_note.setVisible(bool(notes))
        self._refresh_buttons()

    def _sq_notes(self) -> list[str]:
        """Limit q max to the X-ray fits' range and warn when the g(r) transformed reaches the
        model's periodic images."""
        notes = []
        try:  # an element the weighting's tables lack is said before, not after, a Compute
            total_weights(self._numbers, [0.0], self.weighting.currentData())
            limit = weighting_q_max(self._numbers, self.weighting.currentData())
        except ParameterError as exc:
            notes.append(f"{exc.reason[:1].upper()}{exc.reason[1:]}: choose another weighting.")
            limit = math.inf
        highest = Q_MAX if limit >= Q_MAX else math.floor(limit * 10) / 10
        with QSignalBlocker(self.q_max):
            self.q_max.setMaximum(highest)
        if highest < Q_MAX and self.q_max.value() >= highest:  # clamped, or at the limit
            notes.append(f"X-ray form factors hold up to q = {highest:.1f} Å⁻¹ (the range of "
                         "their fits), so q max stops there.")
        if self._cell_height and self.sq_r_max.value() > self._cell_height / 2 + 1e-9:
            notes.append(f"From g(r) up to {self.sq_r_max.value():.1f} Å is more than half the "
                         f"cell's smallest height ({self._cell_height / 2:.2f} Å): the model's own "
                         "periodic images give spurious peaks at low q.")
        return notes

    # -- requests ------------------------------------------------------------------------------
    def steinhardt_params(self) -> tuple[SteinhardtParams, str]:
        l = self.l_value.value()
        by_cutoff = self.neighbor_mode.currentIndex() == 1
        params = SteinhardtParams(
            l_values=(l,),
            cutoff=self.q_cutoff.value() if by_cutoff else None,
            num_neighbors=None if by_cutoff else self.k_nearest.value(),
            average=self.averaged.isChecked(),
            wl=self.with_wl.isChecked(),
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
        kind = self._kind()
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
        params, column = self.steinhardt_params()
        others = [column_title(c) for c in steinhardt_columns(params) if c != column]
        self._requested[column] = f"Also added as columns: {'; '.join(others)}." if others else ""
        self.steinhardt_requested.emit(params, column)

    def _request_tetrahedral(self) -> None:
        params = self.tetrahedral_params()
        self._requested["tetrahedral_q"] = params.describe() + "."
        self.tetrahedral_requested.emit(params)

    def _request_distribution(self) -> None:
        if self._needs_cell() or (self.triplet.count() == 0 and self._kind() == ANGLES):
            return
        self.distribution_requested.emit(*self.distribution_params())

    # -- per-atom values -------------------------------------------------------------------------
    def value_key(self) -> str:
        """The key of the column whose histogram is shown ("" before any)."""
        return self.value_choice.currentData() or ""

    def show_values(self, name: str, values: np.ndarray, result=None, note: str | None = None) -> None:
        """Keep a computed column and plot its histogram; ``result`` (the Steinhardt or
        tetrahedral result it came from) lets the note say where the k nearest cut a shell of
        equidistant neighbours or atoms had fewer than k; ``note``: what :meth:`notes` said of
        it when a project was saved (the result itself is not kept)."""
        self.values[name] = np.asarray(values, dtype=float)
        if note:
            self._made[name] = note
        if name in self._requested:  # computed here (not restored from a project): say how
            doubts = [fewer_neighbours_sentence(result),
                      shell_cut_sentence(getattr(result, "shell_cut", None),
                                         tetrahedral=name == "tetrahedral_q")]
            self._made[name] = " ".join([self._requested.pop(name), *filter(None, doubts)]).strip()
        if self.value_choice.findData(name) < 0:
            self.value_choice.addItem(column_title(name), name)
        if self.value_key() == name:
            self._plot_values(name)
        else:
            self.show_value_key(name)

    def notes(self) -> dict[str, str]:
        """What the note says of each computed column beyond its statistics (how it was made, a
        shell the k nearest cut), for a project to give back to :meth:`show_values`."""
        return {name: text for name, text in self._made.items() if name in self.values and text}

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
        made = f" {self._made[name]}" if self._made.get(name) else ""
        self.value_plot.getPlotItem().setLabel("bottom", title)
        if not len(ok):
            self.value_note.setText(f"{title}: no atom has a value (NaN everywhere).{made}")
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
            + f".{made} Colour atoms by it in the View panel."
        )

    # -- distributions ---------------------------------------------------------------------------
    def _clear_curves(self, html: str, kind: Optional[str] = None) -> None:
        """No curve: the plot says ``html`` on the axes of ``kind`` (the one chosen), nothing to
        export."""
        self._label_axes(kind or self._kind())
        self.legend.clear()
        empty_plot_note(self.dist_plot, html)
        self.curves = None
        self.curve_kind = ""
        self.curve_result = None
        self.csv_comments, self.csv_extra = [], {}
        self.export_csv_button.setEnabled(False)
        self.export_plot_button.setEnabled(False)

    def _label_axes(self, kind: str) -> None:
        item = self.dist_plot.getPlotItem()
        for side, label in zip(("bottom", "left"), AXES[kind]):
            item.setLabel(side, label)

    def show_saved_curve(self, kind: str, result) -> None:
        """A curve read back from a project: its kind chosen in the list, the page's inputs set
        to what made it (so Compute gives the same curve again), then drawn; nothing recomputed."""
        self.kind.setCurrentIndex([GR, SQ, ANGLES].index(kind))
        self._show_inputs_of(kind, result)
        self.show_distribution(kind, result)

    def _show_inputs_of(self, kind: str, result) -> None:
        """Set the page of ``kind`` to the inputs ``result`` was computed with: a reopened project
        showed a 15 Å, 600-bin g(r) under boxes saying 10 Å and 400."""
        if kind == GR:
            self.r_max.setValue(float(result.edges[-1]))
            self.r_bins.setValue(len(result.r))
        elif kind == SQ:
            select_data(self.weighting, result.weighting)  # first: it sets q max's limit
            self.sq_r_max.setValue(float(result.r_max))
            self.q_max.setValue(float(result.q[-1]))
        else:
            self.angle_bins.setValue(len(result.edges) - 1)
            self._triplet_chosen = self._select_triplet(tuple(result.triplet))

    def _select_triplet(self, triplet: tuple) -> bool:
        """Make the triplet (A, B, C) current, or (C, B, A), its same angle; False if not offered."""
        for k in range(self.triplet.count()):
            if tuple(self.triplet.itemData(k)) in (triplet, triplet[::-1]):
                self.triplet.setCurrentIndex(k)
                return True
        return False

    def prefer_triplet(self, counts: dict) -> None:
        """Offer the triplet with the most bonded angles (``counts`` from
        :func:`~amorpha.engine.order.angles.bonded_angle_counts`) unless the user chose one: the
        first combination (H–H–H for benzene) had none. Silica keeps O–Si–O."""
        if self.kind is None or self._triplet_chosen or not counts:
            return
        best = max(counts, key=lambda t: counts[t])
        if counts[best] > 0:
            self._select_triplet(tuple(best))

    def show_distribution(self, kind: str, result) -> None:
        """Plot g(r) (total + partials), S(q) (total + partials) or an angle distribution."""
        if kind == ANGLES and not len(result.angles):
            sentence = no_angles_sentence(result)
            self._clear_curves(sentence.split(":")[0] + ".", kind)
            self.dist_note.setText(sentence)
            return
        item = self.dist_plot.getPlotItem()
        self._label_axes(kind)
        self.dist_plot.clear()
        self.legend.clear()
        curves: dict[str, np.ndarray] = {}
        extra: dict[str, np.ndarray] = {}
        if kind == GR:
            x, x_name = result.r, "r (Å)"
            curves["total"] = result.g
            peaks = []
            for ia, a, ib, b, name in element_pairs(result.elements):
                curves[name] = result.partials[ia, ib]
                peaks.append(f"{name} {result.first_peak(a, b, 0.5):.2f} Å")
            note = "First peak (nearest-neighbour distance): " + ", ".join(peaks)
            comments, extra = gr_header(result), running_coordination(result)
        elif kind == SQ:
            x, x_name = result.q, "q (1/Å)"
            curves["total"] = result.S
            for ia, _, ib, _, name in element_pairs(result.elements):
                curves[name] = result.partials[ia, ib]
            label = {key: text for text, key in WEIGHTINGS}.get(result.weighting, result.weighting)
            note = (f"{label} weighting, Faber–Ziman partials from g(r) up to {result.r_max:.1f} Å")
            comments = sq_header(result)
        else:
            x, x_name = result.centres_of_bins, "angle (deg)"
            curves["–".join(result.triplet)] = result.density
            note = (f"{'–'.join(result.triplet)}: {len(result.angles):,} angles, "
                    f"mean {result.mean:.2f}°, std {result.std:.2f}°")
            comments = angles_header(result)
        for k, (name, y) in enumerate(curves.items()):
            width = 2 if k == 0 else 1.3
            item.plot(x, y, pen=pg.mkPen(PALETTE[k % len(PALETTE)], width=width), name=name)
        item.enableAutoRange()
        self.curves = (x_name, np.asarray(x), {k: np.asarray(v) for k, v in curves.items()})
        self.csv_comments, self.csv_extra = comments, {k: np.asarray(v) for k, v in extra.items()}
        self.curve_kind, self.curve_result = kind, result  # the result: what a project keeps
        self.dist_note.setText(note)
        self.export_csv_button.setEnabled(True)
        self.export_plot_button.setEnabled(True)

    def write_csv(self, path) -> None:
        if self.curves is None:
            raise ValueError("nothing to export: compute a distribution first")
        x_name, x, curves = self.curves
        write_curves_csv(path, x_name, x, {**curves, **self.csv_extra}, self.csv_comments)

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

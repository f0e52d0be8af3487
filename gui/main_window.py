"""The Amorpha main window: viewer in the centre, panels docked around, tasks in the status bar.

The window only arranges engine calls and holds view state. Every engine call runs on the
TaskRunner's thread pool on a snapshot of its inputs; its result is applied here on the GUI
thread, and only if the model it was computed for is still the one shown (``_generation``).
"""
from __future__ import annotations

import gc
import os
import re
import sys
from dataclasses import replace
from pathlib import Path
from typing import Callable, Optional

import numpy as np
from ase import Atoms
from PySide6.QtCore import QSettings, Qt, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QDockWidget,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QMessageBox,
    QProgressBar,
    QScrollArea,
    QSlider,
    QSpinBox,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from amorpha.engine import examples
from amorpha.engine.elements import formula_text, present_symbols
from amorpha.engine.build import BuildParameterError
from amorpha.engine.errors import ReadError
from amorpha.engine.io import (
    FILE_FILTERS,
    AtomType,
    element_types,
    memory_types,
    named_types,
    open_structure,
    size_warning,
    unnamed_types,
    with_elements_renamed,
    with_type_names,
    write_extxyz,
)
from amorpha.engine.bonds import (
    bond_counts,
    CoordinationParams,
    bond_cutoffs,
    bonds,
    compute_coordination,
    cutoff_warnings,
    cutoffs_text,
    named_cutoffs,
)
from amorpha.engine.order.angles import bonded_angle_counts
from amorpha.engine.order.local_order import compute_steinhardt, compute_tetrahedral
from amorpha.engine.order.rings import compute_rings
from amorpha.engine.spectra import SpectrumError
from amorpha.engine.surrogate.domain import FAR
from amorpha.engine.surrogate.model import ModelMismatchError
from amorpha.engine.surrogate.xtb import XtbError
from amorpha.gui.atomic_energy_action import add_atomic_energy_action
from amorpha.gui.columns import column_label
from amorpha.gui.saving import save_as
from amorpha.gui.build_menu import BUILDERS, MODIFIERS
from amorpha.gui.panels.order_panel import ANGLES, GR, SQ, OrderPanel
from amorpha.gui.panels.rings_panel import NO_BONDS, RingsPanel
from amorpha.gui.panels.prediction_panel import PredictionPanel
from amorpha.gui.panels.diffusion_panel import DiffusionPanel
from amorpha.gui.diffusion import DiffusionController
from amorpha.gui.panels.spectrum_panel import SpectrumPanel
from amorpha.gui.prediction import SpectrumPrediction
from amorpha.gui.spectral_regression_dialog import open_dialog as open_regression
from amorpha.gui.type_names_dialog import TypeNamesDialog
from amorpha.gui.gb_search import GbSearchController
from amorpha.gui.panels.gb_panel import GbPanel
from amorpha.gui.diffraction import DiffractionController
from amorpha.gui.panels.diffraction_panel import DiffractionPanel
from amorpha.gui.measured import MeasuredSpectra
from amorpha.gui.panels.measured_panel import MeasuredPanel
from amorpha.engine.project import PROJECT_EXTENSION, looks_like_project
from amorpha.engine.preferences import load_preferences, save_preferences
from amorpha.gui.preferences_dialog import PreferencesDialog, element_style
from amorpha.gui.project_io import ProjectIO
from amorpha.gui.panels.structure_panel import OVERLAP, set_length_unit
from amorpha.gui.viewer.structure_viewer import set_element_style
from amorpha.gui.panels.structure_panel import StructurePanel
from amorpha.gui.panels.view_panel import ELEMENT, ViewPanel, slab_geometry
from amorpha.gui.viewer import StructureViewer
from amorpha.gui.viewer.bonds import symmetrize_bonds
from amorpha.gui.workers import TaskHandle, TaskRunner

GIL_SWITCH_INTERVAL_S = 0.0005
SPECTRUM_EXTENSIONS = {".msa", ".ems", ".emsa", ".txt", ".csv", ".dat", ".dm3", ".dm4", ".hspy"}
MAX_RECENT = 10


def per_atom_scalars(atoms: Atoms) -> list[str]:
    """Names of the per-atom numeric columns the viewer can colour by."""
    names = []
    for name, values in atoms.arrays.items():
        if name in ("numbers", "positions"):
            continue
        if values.ndim == 1 and np.issubdtype(values.dtype, np.number):
            names.append(name)
    return names


class FrameSlider(QWidget):
    """Slider + spin box for trajectory frames; hidden for single structures."""

    frame_changed = Signal(int)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.slider = QSlider(Qt.Horizontal)
        self.spin = QSpinBox()
        self.total = QLabel()
        layout = QHBoxLayout(self)
        layout.setContentsMargins(6, 0, 6, 0)
        layout.addWidget(QLabel("Frame"))
        layout.addWidget(self.slider, 1)
        layout.addWidget(self.spin)
        layout.addWidget(self.total)
        # the slider counts from 0 like the frames; the box shows "3 of 6" as the panels do
        self.slider.valueChanged.connect(lambda k: self.spin.setValue(k + 1))
        self.spin.valueChanged.connect(lambda k: self.slider.setValue(k - 1))
        self.slider.valueChanged.connect(self.frame_changed)
        self.set_count(1)

    def set_count(self, n: int, shown: int = 0) -> None:
        """``n`` frames, frame ``shown`` (from 0) on the slider; no frame is read for it."""
        for w, first in ((self.slider, 0), (self.spin, 1)):
            w.blockSignals(True)
            w.setRange(first, max(n - 1, 0) + first)
            w.setValue(first + shown)
            w.blockSignals(False)
        self.total.setText(f"of {n}")
        self.setVisible(n > 1)


#: columns whose 0 means "none" (no ring through the atom), coloured grey like a missing value
NONE_IS_ZERO = ("ring_min_size",)


def fixed_range(name: str, values: np.ndarray) -> tuple[float | None, float | None]:
    """The colour range of a column whose numbers mean the same in every model, else (None,
    None): the data's own. The distance from a surrogate's training sites runs from 0 to at least
    :data:`~amorpha.engine.surrogate.domain.FAR`, so a model inside the domain stays dark and
    one far outside turns yellow, whatever the spread of its own sites (a crystal has none)."""
    if name != "training_distance":
        return None, None
    finite = np.asarray(values, dtype=float)
    finite = finite[np.isfinite(finite)]
    return 0.0, max(FAR, float(finite.max()) if finite.size else FAR)


RING_MESSAGES = ("primitive rings", "King rings", "Guttman rings")  # the ring search's chunk messages


class TaskStatus(QWidget):
    """Status-bar widget: what runs, how far it is, and a Cancel button."""

    def __init__(self, runner: TaskRunner, parent=None):
        super().__init__(parent)
        self.runner = runner
        self.label = QLabel()
        # fixed: a changing message must not re-layout the window; wide enough for a task's name
        # and its progress, price included ("xTB (qualitative) spectrum of Si7: environment 2 of
        # 5, core-hole SCF; about 13-64 s in all" was cut in the middle at 400 px)
        self.label.setFixedWidth(560)
        self.bar = QProgressBar()
        self.bar.setRange(0, 1000)
        self.bar.setFixedWidth(220)
        self.cancel_button = QToolButton()
        self.cancel_button.setText("Cancel")
        self.cancel_button.clicked.connect(self.cancel_current)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.label)
        layout.addWidget(self.bar)
        layout.addWidget(self.cancel_button)
        runner.task_started.connect(self._started)
        runner.task_progress.connect(self._progress)
        runner.task_finished.connect(self._finished)
        self._set_busy(False)

    def _say(self, text: str) -> None:
        """``text`` in the fixed-width label, shortened in the middle (what runs and how far it is
        both stay), whole in its tooltip."""
        self.label.setToolTip(text)
        self.label.setText(self.label.fontMetrics().elidedText(text, Qt.ElideMiddle, self.label.width()))

    def _set_busy(self, busy: bool) -> None:
        """Shown only while a task runs, so that an idle status bar's messages get its whole width
        (the window keeps the status bar's height: see MainWindow.__init__)."""
        self.setVisible(busy)
        if not busy:
            self.label.clear()

    def current(self) -> Optional[TaskHandle]:
        running = [h for h in self.runner.running if not h.label.startswith("_")]
        return running[-1] if running else None

    def cancel_current(self) -> None:
        handle = self.current()
        if handle is not None:
            handle.cancel()
            self._say(f"Cancelling {handle.label}…")

    def _started(self, handle: TaskHandle) -> None:
        if handle.label.startswith("_"):  # silent background work (warm-up)
            return
        self._say(handle.label + "…")
        self.bar.setValue(0)
        self._set_busy(True)

    def _progress(self, handle: TaskHandle, fraction: float, message: str) -> None:
        if handle is self.current():
            # QProgressBar.setValue repaints synchronously, and with an OpenGL widget in the
            # window that recomposes the whole window (~0.1 s under software GL): defer it.
            self.bar.setUpdatesEnabled(False)
            self.bar.setValue(int(fraction * 1000))
            self.bar.setUpdatesEnabled(True)
            self.bar.update()
            self._say(f"{handle.label}: {message}" if message else handle.label + "…")

    def _finished(self, handle: TaskHandle, state: str) -> None:
        nxt = self.current()
        if nxt is None:
            self._set_busy(False)
        else:
            self._started(nxt)


class MainWindow(QMainWindow):
    """Viewer + docked panels; opens structures and spectra; runs analyses in the background."""

    model_ready = Signal()  # a model is shown and its bonds/coordination are computed
    error_shown = Signal(str)

    def __init__(self, settings: Optional[QSettings] = None):
        super().__init__()
        # Worker threads hold the GIL for up to the switch interval each time the GUI thread asks
        # for it, and a paint asks hundreds of times (every Qt/GL call releases it): at Python's
        # default 5 ms a busy reader could freeze a repaint for 0.2 s. 0.5 ms keeps it fluid.
        sys.setswitchinterval(GIL_SWITCH_INTERVAL_S)
        self.setWindowTitle("Amorpha")
        self.resize(1500, 950)
        self.setAcceptDrops(True)
        self.settings = settings or QSettings("Amorpha", "Amorpha")
        self.runner = TaskRunner(self)

        self.atoms: Optional[Atoms] = None
        self.source = ""
        self.trajectory = None
        self.frame = 0
        self.bond_list = None
        self.cutoff_overrides: dict = {}
        #: (generation, overrides) of the last cutoffs applied from the Bonds table: a model opened
        #: after it keeps them, and the Bonds box says so
        self._applied_cutoffs: Optional[tuple[int, dict]] = None
        self._generation = 0
        self._frame_task: Optional[TaskHandle] = None
        self._bond_task: Optional[TaskHandle] = None
        self._opening: Optional[TaskHandle] = None  # a file or example being read (see _open_model)
        self._analysis_tasks: list[TaskHandle] = []
        self._ring_outlines = np.zeros(0, np.int64)  # the Rings panel's atoms drawn in the viewer
        # per-atom columns the window computed (not read from a file): stale once elements change
        self._computed_columns: set[str] = {"coordination"}
        self.last_error = ""

        self.viewer = StructureViewer(self)
        self.frames = FrameSlider()
        self.frames.frame_changed.connect(self.show_frame)
        central = QWidget()
        column = QVBoxLayout(central)
        column.setContentsMargins(0, 0, 0, 0)
        column.addWidget(self.viewer, 1)
        column.addWidget(self.frames)
        self.setCentralWidget(central)

        self.structure_panel = StructurePanel()
        self.view_panel = ViewPanel()
        self.spectrum_panel = SpectrumPanel()
        self.rings_panel = RingsPanel()
        self.order_panel = OrderPanel()
        self.prediction_panel = PredictionPanel()
        self.prediction = SpectrumPrediction(self, self.prediction_panel, self.spectrum_panel)
        self.diffraction_panel = DiffractionPanel()
        self.diffraction = DiffractionController(self, self.diffraction_panel)
        self.measured_panel = MeasuredPanel()
        self.measured = MeasuredSpectra(self, self.measured_panel, self.spectrum_panel, self.prediction)
        self.diffusion_panel = DiffusionPanel()
        self.diffusion = DiffusionController(self, self.diffusion_panel, self.viewer)
        self.gb_panel = GbPanel()
        self.gb_search = GbSearchController(self, self.gb_panel)
        # The right-hand docks share one tab strip, the Structure tab in front.
        right = [("Structure", self.structure_panel), ("Rings", self.rings_panel),
                 ("Order", self.order_panel), ("Predict", self.prediction_panel),
                 ("Measured", self.measured_panel), ("Diffraction", self.diffraction_panel),
                 ("Diffusion", self.diffusion_panel), ("GB Search", self.gb_panel)]
        self.docks = {title: self._dock(title, panel, Qt.RightDockWidgetArea) for title, panel in right}
        self._shown_once = False
        tabs = list(self.docks.values())
        for first, second in zip(tabs, tabs[1:]):
            self.tabifyDockWidget(first, second)
        self.docks["Structure"].raise_()
        self._readable_dock_tabs()
        self._dock("View", self.view_panel, Qt.LeftDockWidgetArea)
        spectrum_dock = self._dock("Spectrum", self.spectrum_panel, Qt.BottomDockWidgetArea, scroll=False)
        self.setCorner(Qt.BottomLeftCorner, Qt.LeftDockWidgetArea)
        self.setCorner(Qt.BottomRightCorner, Qt.RightDockWidgetArea)
        self.resizeDocks([spectrum_dock], [300], Qt.Vertical)

        self.project = ProjectIO(self)
        self.preferences, ignored = load_preferences()
        self.apply_preferences(self.preferences)
        if ignored:
            self.statusBar().showMessage("; ".join(ignored), 15000)
        self.task_status = TaskStatus(self.runner)
        self.statusBar().addPermanentWidget(self.task_status)
        # as tall idle as busy: a status bar that changed height would re-lay out the whole window
        # (GL canvas resized, plots repainted) at the start and end of every task
        self.statusBar().setMinimumHeight(self.task_status.sizeHint().height() + 6)
        self._build_menus()
        self._connect()
        self.warm_up_task = self.runner.submit(
            "_warm-up", _warm_up, lambda _: _freeze_heap(), lambda _: _freeze_heap()
        )

    # -- construction -------------------------------------------------------------------------
    def _dock(self, title: str, widget: QWidget, area, scroll: bool = True) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(title)
        if scroll:  # tall panels scroll instead of forcing a tall window
            area_widget = QScrollArea()
            area_widget.setWidget(widget)
            area_widget.setWidgetResizable(True)
            area_widget.setFrameShape(QScrollArea.NoFrame)
            # a panel grown wider than the dock (a file name without spaces) scrolls, not cut off
            area_widget.setHorizontalScrollBarPolicy(Qt.ScrollBarAsNeeded)
            bar = area_widget.verticalScrollBar().sizeHint().width()
            area_widget.setMinimumWidth(widget.minimumSizeHint().width() + bar)
            widget = area_widget
        dock.setWidget(widget)
        self.addDockWidget(area, dock)
        return dock

    def _readable_dock_tabs(self) -> None:
        """Whole titles on the tab bars of tabbed docks, scrolled with arrows when they do not all
        fit: QMainWindow makes its tab bars eliding ('Ri…', 'O…' in a narrow dock area)."""
        from PySide6.QtWidgets import QTabBar

        for bar in self.findChildren(QTabBar, options=Qt.FindDirectChildrenOnly):
            bar.setElideMode(Qt.ElideNone)
            bar.setUsesScrollButtons(True)

    def childEvent(self, event) -> None:  # noqa: N802 (Qt name)
        """A tab bar QMainWindow makes later (a dock dragged onto another) reads whole too: it is
        polished just before it is first shown, after QMainWindow set it eliding."""
        super().childEvent(event)
        if event.type() == event.Type.ChildPolished and event.child().inherits("QTabBar"):
            self._readable_dock_tabs()

    def _action(self, menu, text: str, slot: Callable, shortcut=None) -> QAction:
        action = QAction(text, self)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
        action.triggered.connect(slot)
        menu.addAction(action)
        return action

    def _build_menus(self) -> None:
        file_menu = self.menuBar().addMenu("&File")
        self._action(file_menu, "&Open…", self.open_dialog, QKeySequence.Open)
        self.recent_menu = file_menu.addMenu("Open &Recent")
        self.name_types_action = self._action(file_menu, "Name Atom &Types…", self.name_types_dialog)
        self.name_types_action.setEnabled(False)
        self.rename_elements_action = self._action(file_menu, "Rename &Elements…", self.rename_elements_dialog)
        self.rename_elements_action.setEnabled(False)
        self._action(file_menu, "Open &Project…", self.project.open_dialog)
        self._action(file_menu, "Open &Spectrum…", self.open_spectrum_dialog)
        self._action(file_menu, "Spectra as &Descriptors…", lambda _=False: open_regression(self))
        examples_menu = file_menu.addMenu("&Examples")
        for key, example in examples.EXAMPLES.items():
            self._action(examples_menu, example.title, lambda _=False, k=key: self.show_example(k))
        file_menu.addSeparator()
        self._action(file_menu, "&Save Project…", self.project.save_dialog, QKeySequence.Save)
        self._action(file_menu, "Save &As extxyz…", self.save_as_dialog, QKeySequence.SaveAs)
        self._action(file_menu, "&Export Image…", self.export_image_dialog)
        file_menu.addSeparator()
        self._action(file_menu, "Pre&ferences…", self.preferences_dialog, QKeySequence.Preferences)
        file_menu.addSeparator()
        self._action(file_menu, "&Quit", self.close, QKeySequence.Quit)
        build_menu = self.menuBar().addMenu("&Build")
        for text, make_dialog, build in BUILDERS:
            self._action(build_menu, text, lambda _=False, m=make_dialog, b=build: self.build_dialog(m, b))
        build_menu.addSeparator()
        for text, make_dialog, modify in MODIFIERS:
            self._action(build_menu, text, lambda _=False, m=make_dialog, f=modify: self.modify_dialog(m, f))
        add_atomic_energy_action(self, self.menuBar().addMenu("&Analyse"))
        view_menu = self.menuBar().addMenu("&View")
        self._action(view_menu, "&Reset view", self.viewer.reset_view, "R")
        along = view_menu.addMenu("&Look along")
        for k, name in enumerate("abc"):  # a tilt bicrystal's axis is its a
            self._action(along, f"cell vector &{name}", lambda _=False, k=k: self.look_along_cell(k))
        for k, name in enumerate("xyz"):
            self._action(along, f"&{name}", lambda _=False, k=k: self.viewer.look_along(np.eye(3)[k]))
        for dock in self.findChildren(QDockWidget):
            view_menu.addAction(dock.toggleViewAction())
        self._refresh_recent()

    def look_along_cell(self, k: int) -> None:
        """View › Look along › cell vector a, b or c (a model without a cell says so)."""
        if self.atoms is None:
            return
        if self.atoms.cell.rank < 3:
            self.statusBar().showMessage("This model has no cell: look along x, y or z instead.", 8000)
            return
        self.viewer.look_along(self.atoms.cell.array[k])

    def _connect(self) -> None:
        self.viewer.atom_picked.connect(self.select_atom)
        self.view_panel.color_by_changed.connect(self.color_by)
        self.view_panel.projection_changed.connect(self.viewer.set_projection)
        self.view_panel.set_orthographic(self.viewer.orthographic)  # the list says what is drawn
        self.view_panel.bonds_toggled.connect(self.viewer.show_bonds)
        self.view_panel.reset_requested.connect(self.viewer.reset_view)
        self.view_panel.slab_changed.connect(self.apply_slab)
        self.structure_panel.cutoffs_changed.connect(self.set_cutoffs)
        self.structure_panel.name_types_requested.connect(self.name_types_dialog)
        self.spectrum_panel.open_requested.connect(self.open_spectrum_dialog)
        self.rings_panel.compute_requested.connect(self.compute_rings)
        self.runner.task_progress.connect(self._ring_progress)
        self.rings_panel.selection_changed.connect(lambda _: self._show_ring_highlight(self._rings_on_screen()))
        self.docks["Rings"].visibilityChanged.connect(self._show_ring_highlight)
        self.rings_panel.set_analyse(self._analyse)
        self.order_panel.steinhardt_requested.connect(self.compute_steinhardt)
        self.order_panel.tetrahedral_requested.connect(self.compute_tetrahedral)
        self.order_panel.distribution_requested.connect(self.compute_distribution)

    def _rings_on_screen(self) -> bool:
        """Whether the Rings dock shows: a tabbed dock behind another tab stays 'visible' to Qt,
        moved out of sight."""
        dock = self.docks["Rings"]
        return dock.isVisible() and not dock.visibleRegion().isEmpty()

    def _show_ring_highlight(self, on_screen: bool) -> None:
        """The Rings panel's highlight, drawn only while the panel is on screen: with another tab
        in front (or the dock closed) nothing there says what the outlines are, so they go, and
        come back with the panel; an atom picked in the meantime keeps its outline."""
        atoms = self.rings_panel.highlighted
        if on_screen:
            if len(atoms) or len(self._ring_outlines):
                self.viewer.set_selection(atoms)
            self._ring_outlines = atoms
        elif len(self._ring_outlines):
            if np.array_equal(self.viewer.selection, self._ring_outlines):
                self.viewer.set_selection([])
            self._ring_outlines = np.zeros(0, np.int64)

    # -- messages ----------------------------------------------------------------------------
    def show_error(self, title: str, text: str) -> None:
        """A window-modal dialog that does not block the event loop (tasks keep running); the
        status bar says it in one line (:meth:`status_line`), the dialog in full."""
        self.last_error = text
        box = QMessageBox(QMessageBox.Warning, title, text, QMessageBox.Ok, self)
        box.setAttribute(Qt.WA_DeleteOnClose)
        box.open()
        self.statusBar().showMessage(self.status_line(text), 10000)
        self.error_shown.emit(text)

    @staticmethod
    def status_line(text: str, limit: int = 120) -> str:
        """A message in one line of at most ``limit`` characters, for the status bar: its first
        line, a short heading ("Open failed.") joined to the first line of the paragraph after
        it ("Open failed: why"); when that is longer, its first sentence, cut at a word with
        "…" if still longer."""
        paragraphs = [p.strip() for p in re.split(r"\n\s*\n", text.strip()) if p.strip()]
        if not paragraphs:
            return ""
        line = paragraphs[0].splitlines()[0]
        if len(paragraphs) > 1 and line == paragraphs[0] and line.endswith(".") and len(line) <= 60:
            line = f"{line[:-1]}: {paragraphs[1].splitlines()[0]}"
        line = " ".join(line.split())
        if len(line) > limit:
            line = re.split(r"(?<=[.!?])\s", line, maxsplit=1)[0]
        if len(line) > limit:
            cut = line[:limit - 1]
            space = cut.rfind(" ")
            line = (cut[:space] if space > limit // 2 else cut).rstrip(" ,;:") + "…"
        return line

    def _task_error(self, what: str, after: str = "Nothing was changed.") -> Callable[[BaseException], None]:
        """A dialog for a task that failed: what, why, and ``after``, what the user has now."""
        def report(exc: BaseException) -> None:
            plain = isinstance(exc, (ReadError, BuildParameterError, SpectrumError, ModelMismatchError, XtbError))
            reason = str(exc) if plain else f"{type(exc).__name__}: {exc}"
            self.show_error(what, f"{what} failed.\n\n{reason}\n\n{after}")

        return report

    # -- opening structures -------------------------------------------------------------------
    def open_dialog(self) -> None:
        start = self.settings.value("last_dir", str(Path.home()))
        path, _ = QFileDialog.getOpenFileName(self, "Open structure", start, ";;".join(FILE_FILTERS))
        if path:
            self.open_path(path)

    def open_path(self, path: str, ask_large: bool = True, symbols=None) -> None:
        """Open a structure file (or a project) in the background; a big file is confirmed first.

        ``symbols`` names the numbered atom types of an RMC++ cfg or LAMMPS file, in type order.
        """
        path = os.fspath(path)
        if path.endswith(PROJECT_EXTENSION) or looks_like_project(path):
            self.project.open(path)
            return
        warning = size_warning(path) if os.path.isfile(path) else None
        if warning and ask_large:
            box = QMessageBox(
                QMessageBox.Question,
                "Open a large file?",
                f"{warning}\n\nOpen it anyway?",
                QMessageBox.Open | QMessageBox.Cancel,
                self,
            )
            box.setDefaultButton(QMessageBox.Cancel)
            box.setAttribute(Qt.WA_DeleteOnClose)
            box.finished.connect(
                lambda code: code == QMessageBox.Open and self.open_path(path, False, symbols)
            )
            box.open()
            return
        def load(progress, cancel):
            traj = open_structure(path, progress=progress, cancel=cancel, symbols=symbols)
            return traj[0], traj

        def opened(atoms, traj):
            self.settings.setValue("last_dir", os.path.dirname(os.path.abspath(path)))
            self._remember(path)
            return os.path.basename(path)

        self._open_model("Opening " + os.path.basename(path), load, opened)

    # -- naming numbered atom types ----------------------------------------------------------
    def nameable_types(self) -> list[AtomType]:
        """The atom types of the shown file that File › Name Atom Types can (re)name, else []."""
        traj = self.trajectory
        if self.atoms is None:
            return []
        if traj is None or not traj.takes_symbols:  # no file to read again: named in memory
            return memory_types(self.atoms)
        return unnamed_types(self.atoms) if traj.symbols is None else named_types(self.atoms, traj.symbols)

    def name_types_dialog(self) -> Optional[TypeNamesDialog]:
        types = self.nameable_types()
        if not types:
            self.show_error("Name atom types", "The structure shown does not come from a file with "
                                               "numbered atom types (RMC++ cfg or LAMMPS).")
            return None
        shown = os.path.basename(self.trajectory.path) if self.trajectory is not None else self.source
        return self._names_dialog(TypeNamesDialog(types, shown, self), self.name_types)

    def _names_dialog(self, dialog: TypeNamesDialog, accepted: Callable) -> TypeNamesDialog:
        """Open a names dialog (types or elements) whose accepted symbols go to ``accepted``."""
        dialog.setAttribute(Qt.WA_DeleteOnClose)
        dialog.symbols_accepted.connect(accepted)
        dialog.open()
        return dialog

    def name_types(self, symbols) -> None:
        """Read the shown file again with ``symbols`` for its types, or, without one (a model
        from a project), name them in a copy; it replaces the model when done."""
        traj = self.trajectory
        if traj is not None and traj.takes_symbols:
            self.open_path(str(traj.path), symbols=list(symbols))
            return
        self._replace_model("Naming atom types", lambda atoms: with_type_names(atoms, symbols))

    def rename_elements_dialog(self) -> Optional[TypeNamesDialog]:
        """File › Rename Elements: the shown model's elements under other names (a file that
        names its atoms wrongly); one frame only, as the renamed copy replaces the model."""
        if self.atoms is None or (self.trajectory is not None and len(self.trajectory) > 1):
            self.show_error("Rename elements", "Open or build a single-frame model first: the renamed "
                                               "copy replaces the model, and a trajectory's other frames "
                                               "would keep their old names.")
            return None
        return self._names_dialog(TypeNamesDialog(element_types(self.atoms), self.source, self, elements=True),
                                  self.rename_elements)

    def rename_elements(self, symbols) -> None:
        """The shown model with its elements renamed (:func:`with_elements_renamed`) replaces it."""
        computed = set(self._computed_columns)
        self._replace_model("Renaming elements", lambda atoms: with_elements_renamed(atoms, symbols, computed))

    def _replace_model(self, label: str, make: Callable) -> TaskHandle:
        """``make(atoms)``, a changed copy of the shown model made in the background, replaces it
        under the same name (no file behind it any more)."""
        atoms, source = self.atoms, self.source
        return self._load_model(label, lambda progress, cancel: (make(atoms), None), lambda new, _: source)

    def _open_model(self, label: str, load: Callable, source: Callable) -> TaskHandle:
        """:meth:`_load_model` for opening a file or an example: one still being read is given up,
        so the model shown is the one asked for last (a build started before still lands when done)."""
        if self._opening is not None and not self._opening.finished:
            self._opening.cancel()
        self._opening = self._load_model(label, load, source)
        return self._opening

    def _load_model(self, label: str, load: Callable, source: Callable) -> TaskHandle:
        """Make a new model in the background (open, build, example) and show it when done.

        ``load(progress, cancel)`` returns ``(atoms, trajectory or None)`` in the worker, where the
        viewer's arrays are prepared too; ``source(atoms, trajectory)`` names the model on the GUI
        thread. Until then, and if it fails, the current model stays.
        """
        prepare = self.viewer.prepare_atoms_arrays

        def work(progress, cancel):
            atoms, trajectory = load(progress, cancel)
            return atoms, trajectory, prepare(atoms)

        def apply(result):
            atoms, trajectory, prepared = result
            self.set_model(atoms, source(atoms, trajectory), trajectory, prepared=prepared)

        return self.runner.submit(label, work, apply, self._task_error(label))

    # -- building models ----------------------------------------------------------------------
    def build_dialog(self, make_dialog: Callable, build: Callable):
        """Open a builder's parameter dialog; its accepted parameters start the build."""
        dialog = make_dialog(self)
        dialog.params_accepted.connect(lambda params: self.build_model(build, params, dialog.windowTitle()))
        dialog.open()
        return dialog

    def modify_dialog(self, make_dialog: Callable, modify: Callable):
        """A builder that starts from the current model (snapshotted when the dialog is accepted)."""
        def build(params, progress=None, cancel=None):
            return modify(model, params, progress=progress, cancel=cancel)

        dialog = make_dialog(self)
        model = None

        def start(params):
            nonlocal model
            model = self.atoms.copy()
            self.build_model(build, params, dialog.windowTitle())

        dialog.params_accepted.connect(start)
        dialog.open()
        return dialog

    def build_model(self, build: Callable, params, title: str = "") -> TaskHandle:
        """Build a model in the background and show it; the current model stays until it is done.
        ``title``: what is built, as its dialog says ("Melt-quench SiO2 glass"), for the status bar."""
        what = type(params).__name__.removesuffix("Params").lower()
        return self._load_model(
            f"Building: {title.removeprefix('Build ')}" if title else f"Building ({what})",
            lambda progress, cancel: (build(params, progress=progress, cancel=cancel), None),
            lambda atoms, _: atoms.info.get("name", f"built {what}"),
        )

    def show_default_model(self) -> TaskHandle:
        return self.show_example(examples.DEFAULT_EXAMPLE)

    def show_example(self, key: str) -> TaskHandle:
        """Open one of File › Examples (its built file, or built now if the file is missing)."""
        title = examples.EXAMPLES[key].title
        return self._open_model(
            f"Opening example {title}",
            lambda progress, cancel: (examples.load_example(key, progress, cancel), None),
            lambda atoms, _: f"example: {title}",
        )

    def set_model(self, atoms: Atoms, source: str, trajectory=None, prepared=None) -> None:
        """Show a new model (replacing the old one only now, when it has loaded)."""
        self._generation += 1
        for task in (self._bond_task, self._frame_task):
            if task is not None:
                task.cancel()
        self.atoms = atoms
        self.source = source
        self.trajectory = trajectory
        self.frame = 0
        self.bond_list = None  # compute_bonds below clears the tables of the model before
        self.statusBar().clearMessage()  # "…: 72 atoms, 96 bonds" of the model before
        self.setWindowTitle(f"Amorpha — {source}")
        self._set_viewer_atoms(atoms, prepared, reset_camera=True)
        n_frames = len(trajectory) if trajectory is not None else 1
        self.frames.set_count(n_frames)
        self._show_summary(atoms, 0)
        self._reset_analyses(atoms)
        self.view_panel.set_color_choices(per_atom_scalars(atoms))
        self.compute_bonds()

    def _show_summary(self, atoms: Atoms, frame: int) -> None:
        """The Structure panel's summary of the shown frame, and File › Name Atom Types."""
        n_frames = len(self.trajectory) if self.trajectory is not None else 1
        can_name = bool(self.nameable_types())
        self.name_types_action.setEnabled(can_name)
        self.rename_elements_action.setEnabled(n_frames == 1)
        self.structure_panel.show_model(atoms, self.source, frame, n_frames, can_name_types=can_name)

    def _set_viewer_atoms(self, atoms, prepared, reset_camera: bool) -> None:
        kwargs = {"prepared": prepared} if prepared is not None else {}
        self.viewer.set_atoms(atoms, **kwargs)
        self.viewer.set_selection([])
        if reset_camera:
            self.viewer.reset_view()
        self.view_panel.offer_lattice_planes(atoms.cell.rank == 3)
        self.apply_slab(self.view_panel.slab_settings())

    # -- trajectories -------------------------------------------------------------------------
    def attach_trajectory(self, path: str, frame: int, frames: int, symbols=None) -> TaskHandle:
        """Give the shown model (frame ``frame`` of the file ``path``, restored from a project,
        which keeps one frame) its other frames back: the file is opened again in the background,
        and the frame slider returns if it still has ``frames`` frames; else the status bar says
        why only the saved frame is there."""
        generation, name = self._generation, os.path.basename(path)

        def reopen(progress, cancel):
            return open_structure(path, progress=progress, cancel=cancel, symbols=symbols)

        def attach(trajectory):
            if generation != self._generation:  # another model is shown by now
                return
            if len(trajectory) != frames or not 0 <= frame < frames:
                self.statusBar().showMessage(
                    f"{name} now has {len(trajectory)} frames, not the {frames} it had when the "
                    f"project was saved: only the saved frame {frame + 1} is shown.", 15000)
                return
            self.trajectory, self.frame = trajectory, frame
            self.frames.set_count(frames, frame)
            self._show_summary(self.atoms, frame)

        def missing(exc):
            if generation == self._generation:
                self.statusBar().showMessage(self.status_line(
                    f"The other frames of {name} are not available ({exc}); only the saved frame "
                    f"{frame + 1} of {frames} is shown."), 15000)

        return self.runner.submit(f"Opening the other frames of {name}", reopen, attach, missing)

    def show_frame(self, index: int) -> None:
        """Read one frame in the background and show it; the latest request wins."""
        if self.trajectory is None or index == self.frame:
            return
        if self._frame_task is not None:
            self._frame_task.cancel()
        traj, generation = self.trajectory, self._generation

        current = self.atoms.numbers
        prepare = self.viewer.prepare_atoms_arrays

        def read(progress, cancel):
            atoms = traj.read(index, progress, cancel)
            same = len(atoms) == len(current) and np.array_equal(atoms.numbers, current)
            return atoms, same, (None if same else prepare(atoms))

        def apply(result):
            if generation != self._generation:
                return
            atoms, same, prepared = result
            self.frame = index
            self.atoms = atoms
            if same:
                self.viewer.set_positions(atoms.positions)
            else:
                self._set_viewer_atoms(atoms, prepared, reset_camera=False)
            self._show_summary(atoms, index)
            self._reset_analyses(atoms)
            self.view_panel.set_color_choices(per_atom_scalars(atoms))
            self.compute_bonds()

        def failed(exc: BaseException) -> None:
            self._task_error(f"Reading frame {index + 1}")(exc)
            back_to_shown()

        def back_to_shown() -> None:
            """The slider and box show the frame that is shown, not the one that could not be."""
            if generation == self._generation and self._frame_task is task:
                self.frames.set_count(len(self.trajectory), self.frame)

        task = self._frame_task = self.runner.submit(
            f"Reading frame {index + 1}", read, apply, failed, back_to_shown)

    # -- preferences ------------------------------------------------------------------------------
    def preferences_dialog(self):
        elements = present_symbols(self.atoms.numbers) if self.atoms is not None else []
        dialog = PreferencesDialog(self.preferences, elements, self)
        dialog.preferences_accepted.connect(self.set_preferences)
        dialog.open()
        return dialog

    def set_preferences(self, prefs) -> None:
        """Keep ``prefs`` for the next runs and apply them to what is shown now."""
        try:
            save_preferences(prefs)
        except OSError as exc:
            self.show_error("Preferences", f"The preferences could not be saved ({exc}); they apply "
                                           "to this session only.")
        self.preferences = prefs
        self.apply_preferences(prefs)
        self.prediction.describe_model()  # the geometry new xTB runs use may have changed
        if self.atoms is not None:
            self._set_viewer_atoms(self.atoms, None, reset_camera=False)
            self._show_summary(self.atoms, self.frame)
            self.compute_bonds()

    def apply_preferences(self, prefs) -> None:
        set_element_style(*element_style(prefs))
        set_length_unit(prefs.length_unit)
        self.cutoff_overrides = prefs.cutoff_overrides()

    # -- bonds and coordination -----------------------------------------------------------------
    def set_cutoffs(self, cutoffs: dict) -> None:
        """New bond cutoffs from the Bonds table: in effect (``cutoff_overrides``, which angles,
        clusters and projects read) once the bonds they give are shown; a cancelled or failed
        search keeps the old ones with the old bonds."""
        if self.atoms is None:
            self.cutoff_overrides = dict(cutoffs)
        self.compute_bonds(cutoffs, from_table=True)

    def compute_bonds(self, overrides: Optional[dict] = None, from_table: bool = False) -> None:
        """Bonds by element-pair cutoffs (``overrides``, default the ones in effect), then
        coordination numbers, in the background. ``from_table``: the user applied them in the
        Bonds table (later models keep them, and say so)."""
        if self.atoms is None:
            return
        if self._bond_task is not None:
            self._bond_task.cancel()
        if self.bond_list is None:  # not "cancelled" while they are being found again
            self.structure_panel.clear_bonds("Finding bonds…")
        atoms, generation = self.atoms, self._generation
        overrides = dict(self.cutoff_overrides if overrides is None else overrides)
        preferred = self.preferences.cutoff_overrides()

        def work(progress, cancel):
            cutoffs = bond_cutoffs(atoms.numbers)  # np.unique over every atom: not on the GUI thread
            defaults = {**cutoffs, **{k: v for k, v in preferred.items() if k in cutoffs}}
            cutoffs.update({k: v for k, v in overrides.items() if k in cutoffs})
            nl = bonds(atoms, cutoffs, progress=progress, cancel=cancel)
            coordination = compute_coordination(
                atoms, CoordinationParams(cutoffs=cutoffs), neighbors=nl
            ).coordination
            # Expanded and checked here, not on the GUI thread (10⁷ bonds for 10⁶ Cu atoms).
            half_bonds = symmetrize_bonds(*nl.pairs(), nl.shifts)
            overlapping = int(np.count_nonzero(nl.distances < OVERLAP)) // 2  # each pair is listed twice
            angles = bonded_angle_counts(atoms.numbers, nl)  # the Order panel offers a triplet that has some
            warnings = cutoff_warnings(atoms.numbers, cutoffs, coordination)
            return (nl, coordination, cutoffs, bond_counts(atoms, nl), half_bonds, overlapping, angles, defaults,
                    warnings)

        def apply(result):
            if generation != self._generation or atoms is not self.atoms:
                return
            nl, coordination, cutoffs, counts, half_bonds, overlapping, angles, defaults, warnings = result
            self.bond_list, self.cutoff_overrides = nl, overrides
            if from_table:
                self._applied_cutoffs = (generation, dict(overrides))
            applied = self._applied_cutoffs
            kept = applied is not None and applied[0] != generation and applied[1] == overrides
            self._bonds_changed(atoms, named_cutoffs(cutoffs), nl.n_pairs // 2)
            self.order_panel.set_bond_cutoffs(overrides)  # its tetrahedral cutoff: the bonds drawn
            self.order_panel.prefer_triplet(angles)
            atoms.arrays["coordination"] = coordination
            self.viewer.set_bonds(*half_bonds, symmetric=True)
            self.structure_panel.show_bonds(cutoffs, counts, overlapping, warnings, defaults, kept)
            self.structure_panel.show_coordination(atoms.numbers, coordination)
            self.view_panel.set_color_choices(per_atom_scalars(atoms))
            if self.view_panel.color_key() == "coordination":
                self.color_by("coordination")
            # placeholder elements (H, He, … for numbered types) are easy to take for the model's
            unnamed = " · its atom types are placeholders: File › Name Atom Types…" if unnamed_types(atoms) else ""
            self.statusBar().showMessage(
                f"{self.source}: {formula_text(atoms.numbers)}, {sum(counts.values()):,} bonds{unnamed}",
                20000 if unnamed else 8000)
            self.model_ready.emit()

        def cancelled():
            if generation == self._generation and self.bond_list is None and self._bond_task.finished:
                self.structure_panel.clear_bonds("No bonds: finding them was cancelled. "
                                                 "Apply cutoffs finds them.")

        self._bond_task = self.runner.submit(
            "Finding bonds", work, apply,
            self._task_error("Finding bonds", "The model stays shown; its bonds and coordination were not updated."),
            cancelled,
        )

    #: the per-atom columns of a ring search (RingResult.to_arrays)
    RING_COLUMNS = ("ring_count", "ring_min_size")

    def _bonds_changed(self, atoms: Atoms, cutoffs: dict, n_bonds: int) -> None:
        """The bonds in effect are now those of ``cutoffs`` (:func:`named_cutoffs`): a ring result
        found with other cutoffs goes, with its colouring (after Si–Si 2.66 → 2.4 Å on a-Si the
        panel went on showing 983 rings of the old bonds as if they were the new ones)."""
        if self.rings_panel.set_bonds(cutoffs, n_bonds):
            for name in self.RING_COLUMNS:
                atoms.arrays.pop(name, None)
                self._computed_columns.discard(name)
            self.view_panel.set_color_choices(per_atom_scalars(atoms))
            if self.view_panel.color_key() in self.RING_COLUMNS:
                self.color_by(self.view_panel.color_key())

    # -- rings and order ----------------------------------------------------------------------------
    def _reset_analyses(self, atoms: Atoms) -> None:
        """A new model or frame: the ring and order results of the old one no longer apply."""
        for task in self._analysis_tasks:
            task.cancel()
        self._analysis_tasks = []
        frame = f", frame {self.frame + 1} of {len(self.trajectory)}" if self.trajectory is not None else ""
        self.rings_panel.set_elements(atoms.numbers, f"{self.source}{frame}")
        height = None
        if atoms.cell.rank == 3:
            height = float(1.0 / np.linalg.norm(np.linalg.inv(atoms.cell.array), axis=0).max())
        self.order_panel.set_elements(atoms.numbers, height)
        self.prediction.structure_shown(atoms)
        self.diffraction.structure_shown(atoms)
        self.diffusion.structure_shown(atoms)

    def _analyse(self, label: str, compute: Callable, apply: Callable, finish: Callable) -> None:
        """Run ``compute(atoms, cutoffs, bonded, progress, cancel)`` on the shown model in the
        background; ``apply(atoms, result)`` only if that model is still shown; ``finish(state)``
        always ("done", "failed" or "cancelled"), first.

        ``cutoffs`` are the bond cutoffs of the Structure panel; ``bonded`` the current bond list
        (None while bonds are being rebuilt: the analysis then finds its own bonds).
        """
        if self.atoms is None:
            finish("cancelled")
            return
        atoms, generation = self.atoms, self._generation
        overrides = dict(self.cutoff_overrides)
        current = self._bond_task is None or self._bond_task.finished
        bonded = self.bond_list if current else None

        def work(progress, cancel):
            cutoffs = bond_cutoffs(atoms.numbers)
            cutoffs.update({k: v for k, v in overrides.items() if k in cutoffs})
            return compute(atoms, cutoffs, bonded, progress, cancel)

        def done(result):
            finish("done")
            if generation == self._generation and atoms is self.atoms:
                apply(atoms, result)

        def failed(exc):
            finish("failed")
            self._task_error(label)(exc)

        def cancelled():
            finish("cancelled")
            self.statusBar().showMessage(f"{label} cancelled; nothing was changed.", 8000)

        handle = self.runner.submit(label, work, done, failed, cancelled)
        self._analysis_tasks = [t for t in self._analysis_tasks if not t.finished] + [handle]

    def show_column(self, name: str, values: np.ndarray, label: str) -> None:
        """A per-atom column of the shown model coloured at once, its colour bar saying ``label``
        (the spectrum's energy marker, as it is dragged)."""
        new = name not in self.atoms.arrays
        self.atoms.arrays[name] = np.asarray(values, dtype=float)
        self._computed_columns.add(name)
        if new:
            self.view_panel.set_color_choices(per_atom_scalars(self.atoms))
        if self.view_panel.color_key() != name:
            self.view_panel.set_color_key(name)
        self.viewer.color_by(self.atoms.arrays[name], label, "viridis", *fixed_range(name, values))

    def _add_columns(self, atoms: Atoms, arrays: dict) -> None:
        """Store per-atom results as named arrays and offer them for colouring."""
        for name, values in arrays.items():
            atoms.arrays[name] = np.asarray(values)
        self._computed_columns.update(arrays)
        self.view_panel.set_color_choices(per_atom_scalars(atoms))
        if self.view_panel.color_key() in arrays:
            self.color_by(self.view_panel.color_key())

    def compute_rings(self, params) -> None:
        bonds_shown = self._bond_task is None or self._bond_task.finished
        if self.atoms is not None and bonds_shown and self.bond_list is not None and self.bond_list.n_pairs == 0:
            self.rings_panel.set_busy(False, NO_BONDS)  # the search would find nothing, and blame Max size
            return
        self.rings_panel.set_busy(True, "Searching rings…")

        def compute(atoms, cutoffs, bonded, progress, cancel):
            run = replace(params, cutoffs=cutoffs)
            return compute_rings(atoms, run, neighbors=bonded, progress=progress, cancel=cancel)

        def apply(atoms, result):
            now = self.rings_panel.bond_cutoffs
            if now is not None and result.cutoffs != now:  # new cutoffs were applied while it ran
                self.rings_panel.set_busy(False, f"The bonds changed while rings were searched (they were found "
                                                 f"with {cutoffs_text(result.cutoffs)}): compute them again.")
                return
            self._add_columns(atoms, result.to_arrays())
            self.rings_panel.show_result(result)

        def finish(state):
            note = {"cancelled": "Ring search cancelled: nothing was changed.",
                    "failed": "Ring search failed: nothing was changed."}.get(state, "")
            self.rings_panel.set_busy(False, note)

        self._analyse("Rings", compute, apply, finish)

    def _ring_progress(self, handle, fraction: float, message: str) -> None:
        """The ring search's own words in the Rings panel: a long search says so there."""
        if handle.label == "Rings" and message.startswith(RING_MESSAGES):
            self.rings_panel.set_busy(True, f"Searching {message}…")
        elif handle.label == "Rings" and message.startswith("the cell is too small"):  # and why, with a long cutoff
            self.rings_panel.set_busy(True, f"{message[0].upper()}{message[1:]}…")

    def compute_steinhardt(self, params, column: str) -> None:
        def apply(atoms, result):
            arrays = result.to_arrays()
            self._add_columns(atoms, arrays)
            self.order_panel.show_values(column, arrays[column], result)

        self._run_order("Steinhardt order", compute_steinhardt, params, apply)

    def compute_tetrahedral(self, params) -> None:
        def apply(atoms, result):
            self._add_columns(atoms, result.to_arrays())
            self.order_panel.show_values("tetrahedral_q", result.q, result)

        self._run_order("Tetrahedral order", compute_tetrahedral, params, apply)

    def compute_distribution(self, kind: str, params) -> None:
        from amorpha.engine.order.angles import compute_angles
        from amorpha.engine.order.pairs import compute_rdf
        from amorpha.engine.order.structure_factor import compute_structure_factor

        fn = {GR: compute_rdf, SQ: compute_structure_factor, ANGLES: compute_angles}[kind]
        label = {GR: "Pair distribution g(r)", SQ: "Structure factor S(q)", ANGLES: "Bond angles"}[kind]
        self._run_order(label, fn, params, lambda atoms, result: self.order_panel.show_distribution(kind, result),
                        bonds_needed=kind == ANGLES)

    def _run_order(self, label, fn, params, apply, bonds_needed=False) -> None:
        self.order_panel.set_busy(True)

        def compute(atoms, cutoffs, bonded, progress, cancel):
            run, neighbors = params, None
            if bonds_needed:  # bond angles use the Structure panel's bonds
                run, neighbors = replace(params, cutoffs=cutoffs), bonded
            return fn(atoms, run, neighbors=neighbors, progress=progress, cancel=cancel)

        self._analyse(label, compute, apply, lambda state: self.order_panel.set_busy(False))

    # -- view ---------------------------------------------------------------------------------
    def color_by(self, name: str) -> None:
        if self.atoms is None:
            return
        if name == ELEMENT or name not in self.atoms.arrays:
            self.viewer.color_by_element()
        else:
            values = np.asarray(self.atoms.arrays[name], dtype=float)
            if name in NONE_IS_ZERO:  # grey, not the bottom of the scale below the smallest ring
                values = np.where(values == 0, np.nan, values)
            self.viewer.color_by(values, column_label(name), "viridis", *fixed_range(name, values))

    def apply_slab(self, settings) -> None:
        if self.atoms is None or settings is None:
            self.viewer.set_slab(None)
            return
        try:
            normal, center, thickness = slab_geometry(self.atoms, *settings)
        except ValueError as exc:
            self.show_error("Clipping slab", str(exc))
            return
        self.viewer.set_slab(normal, center, thickness)

    def select_atom(self, index: int) -> None:
        if self.atoms is None or index >= len(self.atoms):
            return
        self.viewer.set_selection([] if index < 0 else [index])
        neighbors = None
        if index >= 0 and self.bond_list is not None:
            idx, dist, _ = self.bond_list.neighbors_of(index)
            neighbors = (idx, dist)
        self.structure_panel.show_atom(self.atoms, index, neighbors)
        self.prediction.atom_picked(index)
        self.diffraction.atom_picked(index)

    # -- spectra ------------------------------------------------------------------------------
    def open_spectrum_dialog(self) -> None:
        start = self.settings.value("last_dir", str(Path.home()))
        path, _ = QFileDialog.getOpenFileName(
            self, "Open spectrum", start,
            "Spectra (*.dm3 *.dm4 *.msa *.ems *.emsa *.hspy *.txt *.csv *.dat);;All files (*)"
        )
        if path:
            self.open_spectrum(path)

    def open_spectrum(self, path: str) -> None:
        """A measured spectrum goes to the Measured panel (which plots it)."""
        self.measured.open(path)
        self.docks["Measured"].raise_()

    # -- saving ---------------------------------------------------------------------------------
    def save_as_dialog(self) -> None:
        if self.atoms is None:
            return
        path, _ = QFileDialog.getSaveFileName(self, "Save structure", "model.extxyz", "Extended XYZ (*.extxyz *.xyz)")
        if path:
            self.save_as(path)

    def save_as(self, path: str) -> None:
        """Write the shown frame with every per-atom result as a column."""
        snapshot = self.atoms.copy()
        self.runner.submit(
            f"Saving {os.path.basename(path)}",
            lambda progress, cancel: write_extxyz(snapshot, path, cancel, progress),
            lambda _: self.statusBar().showMessage(f"Saved {path}", 8000),
            self._task_error("Saving " + os.path.basename(path)),
        )

    def export_image_dialog(self) -> None:
        path = save_as(self, "Export image", "amorpha.png", "PNG image (*.png)", self.viewer.save_png)
        if path:
            self.statusBar().showMessage(f"Saved {path}", 8000)

    # -- recent files and drag-and-drop -----------------------------------------------------------
    def _remember(self, path: str) -> None:
        recent = [p for p in self._recent() if p != os.path.abspath(path)]
        recent.insert(0, os.path.abspath(path))
        self.settings.setValue("recent_files", recent[:MAX_RECENT])
        self._refresh_recent()

    def _recent(self) -> list[str]:
        value = self.settings.value("recent_files", []) or []
        return [value] if isinstance(value, str) else list(value)

    def _refresh_recent(self) -> None:
        self.recent_menu.clear()
        for path in self._recent():
            action = self.recent_menu.addAction(path)
            action.triggered.connect(lambda _=False, p=path: self.open_path(p))
        self.recent_menu.setEnabled(bool(self._recent()))

    def dragEnterEvent(self, event) -> None:  # noqa: N802 (Qt name)
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:  # noqa: N802
        for url in event.mimeData().urls():
            path = url.toLocalFile()
            if not path:
                continue
            if Path(path).suffix.lower() in SPECTRUM_EXTENSIONS:
                self.open_spectrum(path)
            else:
                self.open_path(path)
        event.acceptProposedAction()

    def showEvent(self, event) -> None:  # noqa: N802 (Qt name)
        """On first showing, the right-hand docks take about a third of the window (at most
        480 px), not their panels' preferred width, so the viewer and the spectrum have room."""
        super().showEvent(event)
        if not self._shown_once:
            self._shown_once = True
            right = self.docks["Structure"]
            self.resizeDocks([right], [max(right.minimumSizeHint().width(), min(480, self.width() // 3))],
                             Qt.Horizontal)

    def closeEvent(self, event) -> None:  # noqa: N802
        self.project.clean_exit()
        self.runner.cancel_all()
        self.runner.wait(3000)
        super().closeEvent(event)


def _freeze_heap() -> None:
    """Exclude the objects of start-up (Qt, vispy, numba: ~2e5) from Python's cyclic GC.

    A full collection scans every tracked object while holding the GIL: ~0.1 s here, at random
    moments, on whichever thread allocates. Frozen objects are never scanned (nor freed: the few
    start-up cycles that are garbage stay, which costs less than a 0.1 s collection now).
    """
    gc.freeze()


def _warm_up(progress=None, cancel=None) -> None:
    """Compile every numba kernel on tiny inputs so the first real call is instant."""
    from amorpha.engine.warmup import KERNEL_MODULES, warm_up

    # The viewer's kernels run on the GUI thread, which would wait for numba's compiler lock
    # while another kernel compiles: they go first (a cold start compiles for ~1 min).
    viewer_kernels = ["amorpha.gui.viewer.picking", "amorpha.gui.viewer.bonds"]
    warm_up(viewer_kernels + KERNEL_MODULES, progress=progress, cancel=cancel)

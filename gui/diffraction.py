"""The virtual Å-beam in the window: a column through the last clicked atom along the view
direction, its kinematic diffraction pattern computed in the background and shown in the
Diffraction panel, and a wire cylinder in the viewer where the column is.

The window forwards "a model is shown" and "an atom was clicked"; the camera is watched by a
light poll (its azimuth, elevation, roll and field of view), and every change waits for a short
quiet spell before one pattern is computed (the latest request wins; nothing runs while the
panel is hidden). The pattern shown can be saved as a picture (PNG/SVG, as the Measured panel's
plots) or as numbers with their k axes (:mod:`amorpha.engine.order.diffraction_files`).
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtWidgets import QFileDialog

from amorpha.engine.order.diffraction import beam_frame, compute_diffraction
from amorpha.engine.order.diffraction_files import write_pattern
from amorpha.gui.plot_export import PLOT_FILTER, save_plot_image
from amorpha.gui.viewer.column_marker import ColumnMarker
from amorpha.gui.viewer.picking import ray_from_view

#: Camera poll interval and the quiet spell before a pattern is computed (ms).
POLL_MS = 150
SETTLE_MS = 120
DATA_FILTER = "NumPy arrays (*.npz);;CSV grid (*.csv)"


def view_frame(viewer) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(beam direction into the screen, screen right, screen up) in model coordinates."""
    w, h = viewer.canvas.size
    centre, direction = ray_from_view(viewer.view, 0.5 * w, 0.5 * h)
    right = ray_from_view(viewer.view, 0.5 * w + 10.0, 0.5 * h)[0] - centre
    up = ray_from_view(viewer.view, 0.5 * w, 0.5 * h - 10.0)[0] - centre  # canvas y points down
    u, _, up = beam_frame(direction, up)
    right = right - (right @ u) * u - (right @ up) * up
    return u, right / np.linalg.norm(right), up


def _camera_key(viewer) -> tuple:
    cam = viewer.view.camera
    return tuple(round(float(getattr(cam, name, 0.0)), 2) for name in ("azimuth", "elevation", "roll", "fov"))


class DiffractionController(QObject):
    pattern_shown = Signal()  # the pattern of the current column is on the panel

    def __init__(self, window, panel):
        super().__init__(window)
        self.window = window
        self.viewer = window.viewer
        self.panel = panel
        self.marker = ColumnMarker(self.viewer)
        self.result = None
        self._atoms = None
        self._index = -1
        self._direction = None  # (u, right, up) used when not following the view
        self._task = None
        self._again = False
        self._camera = None
        self._settle = QTimer(self)
        self._settle.setSingleShot(True)
        self._settle.setInterval(SETTLE_MS)
        self._settle.timeout.connect(self.update)
        self._poll = QTimer(self)
        self._poll.setInterval(POLL_MS)
        self._poll.timeout.connect(self._watch)
        self._poll.start()
        panel.settings_changed.connect(self.schedule)
        panel.save_image_requested.connect(self.save_image_dialog)
        panel.save_data_requested.connect(self.save_data_dialog)

    # -- following the window ---------------------------------------------------------------
    def structure_shown(self, atoms) -> None:
        """A new model forgets the column; a new frame of the same atoms keeps it."""
        same = self._atoms is not None and np.array_equal(self._atoms.numbers, atoms.numbers)
        self._atoms = atoms
        if not same:
            self._index = -1
            self.result = None
            self.marker.hide()
            self.panel.clear("No column yet: click an atom in the viewer.")
        else:
            self.schedule()

    def atom_picked(self, index: int) -> None:
        """The column goes through the clicked atom (a click on empty space keeps it)."""
        if index < 0 or self._atoms is None or index >= len(self._atoms):
            return
        self._index = index
        self._direction = None
        self.schedule()

    @property
    def panel_shown(self) -> bool:
        """The panel is on screen (a dock tabbed behind another stays "visible" to Qt)."""
        return self.panel.isVisible() and not self.panel.visibleRegion().isEmpty()

    @property
    def active(self) -> bool:
        return self._atoms is not None and self._index >= 0 and self.panel_shown

    def _watch(self) -> None:
        """Poll: the camera turned, or the panel was shown or hidden."""
        if not self.panel_shown:
            if self.marker.visible:
                self.marker.hide()
            return
        if self._index < 0:
            return
        key = _camera_key(self.viewer)
        if self.result is None and self._task is None:
            self.schedule()
        elif self.result is not None and not self.marker.visible:
            self._show_marker(self.result)
        if key != self._camera:
            self._camera = key
            if self.panel.follow.isChecked() and self.result is not None:
                self.schedule()

    def schedule(self) -> None:
        self._settle.start()

    # -- computing --------------------------------------------------------------------------
    def update(self):
        """Compute the pattern of the current column in the background (latest request wins)."""
        if not self.active:
            return None
        if self._task is not None and not self._task.finished:
            self._again = True
            return self._task
        try:
            params = self.panel.params().checked()
        except ValueError as exc:
            self.panel.status.setText(str(exc))
            return None
        if self._direction is None or self.panel.follow.isChecked():
            self._direction = view_frame(self.viewer)
        u, right, up = self._direction
        atoms, index = self._atoms, self._index
        point = np.array(atoms.positions[index], dtype=np.float64)
        self._camera = _camera_key(self.viewer)

        def work(progress, cancel):
            return compute_diffraction(atoms, point, u, params, up=up, progress=progress, cancel=cancel)

        def done(result):
            self._task = None
            if atoms is self._atoms:
                self.result = result
                self.panel.show_result(result)
                self._show_marker(result)
                self.pattern_shown.emit()
            self._next()

        def failed(exc):
            self._task = None
            self.window._task_error("Diffraction pattern")(exc)

        def cancelled():
            self._task = None
            self._next()

        self._task = self.window.runner.submit("_diffraction pattern", work, done, failed, cancelled)
        return self._task

    def _next(self) -> None:
        if self._again:
            self._again = False
            self.schedule()

    def _show_marker(self, result) -> None:
        c = result.column
        self.marker.show(c.point, c.direction, c.right, c.up, 0.5 * c.diameter, c.extent or 1.0)

    # -- saving -----------------------------------------------------------------------------
    def _ask_path(self, title: str, name: str, filters: str) -> str:
        """A file name from the save dialog, with the chosen filter's ending if it has none."""
        start = self.window.settings.value("last_dir", str(Path.home()))
        path, chosen = QFileDialog.getSaveFileName(self.window, title, os.path.join(start, name), filters)
        if path and not os.path.splitext(path)[1] and "(*." in chosen:
            path += chosen[chosen.index("(*.") + 2:].rstrip(")")
        return path

    def save_image_dialog(self) -> None:
        if self.panel.result is not None:
            path = self._ask_path("Save diffraction image", "diffraction.png", PLOT_FILTER)
            if path:
                self.save_image(path)

    def save_image(self, path: str) -> None:
        """The pattern as drawn (axes, colour bar, log or linear) as PNG or SVG; on the GUI thread,
        as painting must be."""
        try:
            path = save_plot_image(self.panel.plot, path, "Amorpha virtual Å-beam diffraction")
        except OSError as exc:
            self.window._task_error("Saving the diffraction image")(exc)
            return
        self.window.statusBar().showMessage(f"Saved {path}", 8000)

    def save_data_dialog(self) -> None:
        if self.panel.result is not None:
            path = self._ask_path("Save diffraction data", "diffraction.npz", DATA_FILTER)
            if path:
                self.save_data(path)

    def save_data(self, path: str):
        """The shown pattern's intensities and k axes (.npz or .csv), written in the background."""
        result = self.panel.result
        if result is None:
            return None
        if not path.lower().endswith((".npz", ".csv")):
            path += ".npz"
        return self.window.runner.submit(
            f"Saving {os.path.basename(path)}", lambda progress, cancel: write_pattern(result, path),
            lambda written: self.window.statusBar().showMessage(f"Saved {written}", 8000),
            self.window._task_error("Saving " + os.path.basename(path)))

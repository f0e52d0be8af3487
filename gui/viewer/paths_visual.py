"""Diffusion overlay of the 3D viewer: sites as small spheres, hop paths as lines coloured by
barrier (with their own colour bar), a highlighted path, and animated walkers.

Three visuals for the whole network (sites, all path segments, walkers) plus one for the
highlight, so choosing a path or moving walkers never re-uploads the path buffer. Paths are
picked on the CPU in screen space: every segment is projected once per click and the nearest
one within a few pixels wins (the lines are thin, so a ray–cylinder test would be too strict).
"""
from __future__ import annotations

from typing import Optional

import numpy as np
from PySide6.QtCore import QObject, Signal
from vispy import scene

from .atoms_visual import Atoms
from .colormap import map_values
from .overlays import ColorBarOverlay

#: Colour map of the barriers: cyan (easy) to magenta (hard), both bright on the dark background
#: and apart from the white sites and the yellow walkers.
BARRIER_CMAP = "cool"
SITE_COLOR = (0.92, 0.92, 0.95, 1.0)
SITE_RADIUS = 0.28
WALKER_COLOR = (1.0, 0.78, 0.1, 1.0)
WALKER_RADIUS = 0.55
#: The chosen path: bright green, unlike any barrier colour, the white sites or the yellow walkers.
HIGHLIGHT_COLOR = (0.25, 1.0, 0.25, 1.0)
PATH_WIDTH = 3.0
HIGHLIGHT_WIDTH = 7.0
#: A click selects the nearest path within this many pixels.
PICK_TOLERANCE_PX = 6.0
#: Largest mouse move (px) between press and release that still counts as a click.
CLICK_SLOP_PX = 3.0


def path_segments(images: np.ndarray) -> np.ndarray:
    """(m·(n−1)·2, 3) float32 segment end points of m polylines of n points each."""
    images = np.asarray(images, dtype=np.float32)
    pairs = np.stack([images[:, :-1], images[:, 1:]], axis=2)  # (m, n-1, 2, 3)
    return np.ascontiguousarray(pairs.reshape(-1, 3))


def nearest_segment_2d(points: np.ndarray, a: np.ndarray, b: np.ndarray) -> tuple[int, float]:
    """Index of the 2D segment (a[k], b[k]) nearest to ``points`` (2,) and its distance."""
    ab = b - a
    length2 = np.einsum("ij,ij->i", ab, ab)
    t = np.clip(np.einsum("ij,ij->i", points - a, ab) / np.where(length2 > 0, length2, 1.0), 0, 1)
    distance = np.linalg.norm(a + t[:, None] * ab - points, axis=1)
    distance[~np.isfinite(distance)] = np.inf
    k = int(np.argmin(distance))
    return k, float(distance[k])


class BarrierColorBar(ColorBarOverlay):
    """The barrier colour bar, in the canvas' top-left corner (the atoms' bar keeps the right)."""

    def _place(self, event=None) -> None:
        super()._place(event)
        if self.info is not None:
            self.move(self.MARGIN, self.MARGIN)


def _line(parent, width: float):
    node = scene.visuals.Line(np.zeros((2, 3), np.float32), parent=parent, connect="segments",
                              width=width, method="gl", antialias=False)
    node.set_gl_state(depth_test=True, blend=False)
    node.visible = False
    return node


class PathsOverlay(QObject):
    """Sites, paths, highlight and walkers laid over a :class:`StructureViewer`.

    ``show_network`` draws a landscape; ``set_barrier_limit`` hides the paths above a barrier;
    ``highlight(k)`` marks one path; ``set_walkers`` moves the walker spheres; ``clear`` removes
    everything. A left click near a shown path emits ``path_picked(k)``.
    """

    path_picked = Signal(int)

    def __init__(self, viewer):
        super().__init__(viewer)
        self.viewer = viewer
        parent = viewer.view.scene
        self.sites_node = Atoms(parent=parent)
        self.paths_node = _line(parent, PATH_WIDTH)
        self.highlight_node = _line(parent, HIGHLIGHT_WIDTH)
        self.walkers_node = Atoms(parent=parent)
        self.colorbar = BarrierColorBar(viewer.canvas, background="#1b1e24")
        self.images = np.zeros((0, 2, 3))
        self.barriers = np.zeros(0)
        self.limit = np.inf
        self.highlighted = -1
        self._press = None
        viewer.canvas.events.mouse_press.connect(self._on_press)
        viewer.canvas.events.mouse_release.connect(self._on_release)

    # -- the network ----------------------------------------------------------------------------
    @property
    def shown(self) -> np.ndarray:
        """Indices of the paths drawn now (barrier at most the limit)."""
        return np.flatnonzero(self.barriers <= self.limit)

    def show_network(self, site_positions, images, barriers, limit: float = np.inf) -> None:
        """Sites (n, 3) Å, paths as polylines ``images`` (m, k, 3) Å and their barriers (m,) eV."""
        sites = np.asarray(site_positions, dtype=np.float32).reshape(-1, 3)
        self.sites_node.set_data(sites, np.tile(np.float32(SITE_COLOR), (len(sites), 1)),
                                 np.full(len(sites), SITE_RADIUS, np.float32))
        self.sites_node.visible = len(sites) > 0
        self.images = np.asarray(images, dtype=np.float64)
        self.barriers = np.asarray(barriers, dtype=np.float64).reshape(-1)
        self.highlighted = -1
        self.highlight_node.visible = False
        self.set_barrier_limit(limit)

    def set_barrier_limit(self, limit: float) -> None:
        """Draw only the paths whose barrier is at most ``limit`` eV; colours span what is drawn."""
        self.limit = float(limit)
        keep = self.shown
        if len(keep) == 0:
            self.paths_node.visible = False
            self.colorbar.hide()
            self.viewer.canvas.update()
            return
        lo = float(self.barriers[keep].min())
        hi = float(self.barriers[keep].max())
        colors = map_values(self.barriers[keep], BARRIER_CMAP, lo, hi)
        per_vertex = np.repeat(colors, 2 * (self.images.shape[1] - 1), axis=0)
        self.paths_node.set_data(path_segments(self.images[keep]), color=per_vertex)
        self.paths_node.visible = True
        self.colorbar.set(BARRIER_CMAP, lo, hi, "hop barrier (eV)")
        if self.highlighted >= 0 and self.highlighted not in keep:
            self.highlight(-1)
        self.viewer.canvas.update()

    def highlight(self, k: int) -> None:
        """Mark path ``k`` (−1: none)."""
        self.highlighted = int(k)
        if k < 0 or k >= len(self.images):
            self.highlighted = -1
            self.highlight_node.visible = False
        else:
            self.highlight_node.set_data(path_segments(self.images[k:k + 1]),
                                         color=HIGHLIGHT_COLOR)
            self.highlight_node.visible = True
        self.viewer.canvas.update()

    # -- walkers --------------------------------------------------------------------------------
    def set_walkers(self, positions: Optional[np.ndarray]) -> None:
        """Walker spheres at (w, 3) positions (Å); None hides them. Same count: positions only."""
        if positions is None or len(positions) == 0:
            self.walkers_node.visible = False
            self.viewer.canvas.update()
            return
        positions = np.asarray(positions, dtype=np.float32)
        if self.walkers_node.n == len(positions):
            self.walkers_node.set_positions(positions)
        else:
            n = len(positions)
            self.walkers_node.set_data(positions, np.tile(np.float32(WALKER_COLOR), (n, 1)),
                                       np.full(n, WALKER_RADIUS, np.float32))
        self.walkers_node.visible = True
        self.viewer.canvas.update()

    @property
    def walkers_visible(self) -> bool:
        return bool(self.walkers_node.visible)

    def clear(self) -> None:
        for node in (self.sites_node, self.paths_node, self.highlight_node, self.walkers_node):
            node.visible = False
        self.images = np.zeros((0, 2, 3))
        self.barriers = np.zeros(0)
        self.highlighted = -1
        self.colorbar.hide()
        self.viewer.canvas.update()

    # -- picking --------------------------------------------------------------------------------
    def pick(self, x: float, y: float) -> int:
        """The shown path nearest to canvas pixel (x, y) within PICK_TOLERANCE_PX, or −1."""
        keep = self.shown
        if len(keep) == 0 or not self.paths_node.visible:
            return -1
        images = self.images[keep]
        m, n = images.shape[:2]
        screen = self.viewer.project(images.reshape(-1, 3)).reshape(m, n, 2)
        a = screen[:, :-1].reshape(-1, 2)
        b = screen[:, 1:].reshape(-1, 2)
        segment, distance = nearest_segment_2d(np.array([x, y], float), a, b)
        return int(keep[segment // (n - 1)]) if distance <= PICK_TOLERANCE_PX else -1

    def _on_press(self, event) -> None:
        self._press = np.asarray(event.pos[:2], float) if event.button == 1 else None

    def _on_release(self, event) -> None:
        press, self._press = self._press, None
        if press is None or event.button != 1:
            return
        pos = np.asarray(event.pos[:2], float)
        if np.hypot(*(pos - press)) <= CLICK_SLOP_PX:
            k = self.pick(pos[0], pos[1])
            if k >= 0:
                self.path_picked.emit(k)

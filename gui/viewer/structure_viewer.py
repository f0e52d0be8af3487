"""The 3D structure viewer widget: atoms, half-bonds, cell box, colour bar, slab, picking.

Large models: ``prepare_atoms_arrays(atoms)`` does all numpy work (float32 positions, RGBA
colours, radii, bounds, cell edges) and may run in a worker thread; ``set_atoms(atoms,
prepared=...)`` then only queues three buffer uploads on the GUI thread. Above
``FLAT_THRESHOLD`` atoms the cheap flat sprite is drawn (quality "auto").

Draw budget (see ``progressive.py``): no paint draws more than ``draw_budget`` weighted
primitives (atoms + half-bond vertices); bigger scenes are accumulated over several paints, in a
fixed random order of the atoms (GPU buffers are permuted once; picking, selection and colours
keep the original atom indices). ``render_complete`` is emitted when the picture is complete;
``render_image()`` and ``save_png()`` always return the complete picture.
"""
from __future__ import annotations

import dataclasses
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import vispy

vispy.use(app="pyside6")

from PySide6.QtCore import QTimer, Signal  # noqa: E402
from PySide6.QtWidgets import QVBoxLayout, QWidget  # noqa: E402
from vispy import scene  # noqa: E402

from amorpha.engine.elements import covalent_radius, jmol_rgb  # noqa: E402

from .atoms_visual import Atoms  # noqa: E402
from .bonds import Bonds, half_bond_buffers, pack_rgb  # noqa: E402
from .bonds import symmetrize_bonds  # noqa: E402
from .colormap import map_values, value_range  # noqa: E402
from .overlays import ColorBarOverlay, composite_onto  # noqa: E402
from .picking import bounds3, pick_sphere, ray_from_view, slab_mask  # noqa: E402
from .progressive import BOND_VERTEX_WEIGHT, ORDER_SEED, ProgressiveLayer  # noqa: E402
from .progressive import gather, shuffled_order  # noqa: E402
from ..workers import lower_thread_priority  # noqa: E402

#: Displayed radius = RADIUS_FACTOR * covalent radius (times the viewer's radius scale):
#: half the covalent radius, enlarged a little so O (0.43 Å) and Si (0.72 Å) read well
#: with half-bonds between them.
RADIUS_FACTOR = 0.5 * 1.3
#: Above this many atoms, quality "auto" draws flat sprites instead of lit spheres (OVITO).
FLAT_THRESHOLD = 400_000
#: Colour of selection outlines.
SELECTION_COLOR = (1.0, 0.85, 0.1, 1.0)
#: Up to this many selected atoms the outlines are an overlay drawn whole in every paint (a few
#: ms under software GL; changing them leaves the accumulated picture alone). Bigger selections
#: (a ring-size bar can cover most of a 10^6-atom model: ~0.2-0.7 s per paint) are drawn chunk
#: by chunk with the atoms by the ProgressiveLayer, in the atoms' drawing order.
SELECTION_OVERLAY_MAX = 20_000
#: Cost of one outline relative to one atom in the draw budget (its sprite is 1.35x wider).
SELECTION_WEIGHT = 1.5
BACKGROUND = "#1b1e24"
#: Pause between progressive chunks (ms).
REFINE_PAUSE_MS = 15
CELL_COLOR = (0.75, 0.78, 0.85, 1.0)
BOND_WIDTH = 3.0
#: Above this many directed bonds, half-bond buffers are built in a background thread (the numba
#: kernel releases the GIL) and applied on the GUI thread when ready (~0.3 s for 4e6 bonds).
ASYNC_BONDS = 200_000
PERSPECTIVE_FOV = 45.0

_BOX_EDGES = np.array([
    (0, 1), (0, 2), (0, 4), (1, 3), (1, 5), (2, 3),
    (2, 6), (3, 7), (4, 5), (4, 6), (5, 7), (6, 7)])


def _view_axes(azimuth: float, elevation: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Screen right, screen up and towards-the-camera unit vectors of a turntable camera (up +z)."""
    a, e = np.radians(azimuth), np.radians(elevation)
    right = np.array([np.cos(a), np.sin(a), 0.0])
    up = np.array([-np.sin(a) * np.sin(e), np.cos(a) * np.sin(e), np.cos(e)])
    return right, up, np.cross(right, up)


def fit_scale(lo, hi, center, azimuth: float, elevation: float, fov: float, aspect: float,
              near_fraction: float = 0.0) -> float:
    """The turntable ``scale_factor`` (extent seen across the view's shorter side, at ``center``)
    that shows the whole box lo..hi, with a 5 % margin.

    Orthographic (``fov`` 0): the box's extent on screen. Perspective: the camera distance at which
    every corner lies inside the frustum (near corners look bigger, so fitting the extent alone
    cut them off) and behind the near plane (at ``near_fraction`` of that distance), turned into
    the scale the camera derives its distance from.
    """
    lo, hi = np.asarray(lo, float), np.asarray(hi, float)
    unit = np.array([[i, j, k] for i in (0, 1) for j in (0, 1) for k in (0, 1)], float)
    right, up, back = _view_axes(azimuth, elevation)
    rel = lo + unit * (hi - lo) - np.asarray(center, float)
    x, y, z = 1.05 * np.abs(rel @ right), 1.05 * np.abs(rel @ up), rel @ back
    if fov <= 0:
        return float(max(2 * y.max(), 2 * x.max() / aspect) if aspect >= 1.0
                     else max(2 * x.max(), 2 * y.max() * aspect))
    ty = np.tan(np.radians(fov) / 2)
    tx = ty * aspect
    distance = max(float(np.max(z + x / tx)), float(np.max(z + y / ty)),
                   float(z.max()) / (1.0 - near_fraction))
    return float(2 * distance * ty * min(1.0, aspect))


@dataclass(frozen=True)
class PreparedAtoms:
    """Everything ``set_atoms`` uploads, computed without GL or Qt (thread-safe)."""

    positions: np.ndarray      # (n, 3) float32
    colors: np.ndarray         # (n, 4) float32, element (Jmol) colours
    radii: np.ndarray          # (n,) float32, display radii in Å (before radius_scale)
    cell: np.ndarray           # (3, 3) float64
    box_segments: np.ndarray   # (24, 3) float32 cell edges as segment pairs, or (0, 3)
    lo: np.ndarray             # (3,) bounds of atoms and cell
    hi: np.ndarray
    center: np.ndarray         # (3,) camera centre: cell centre, else the atoms' bbox centre
    #: (n,) fixed random drawing order (GPU row k holds atom order[k]), see progressive.py
    order: np.ndarray | None = None

    @property
    def n(self) -> int:
        return len(self.positions)


def cell_box_segments(cell) -> np.ndarray:
    """(24, 3) float32 endpoints of the 12 edges of the cell parallelepiped."""
    cell = np.asarray(cell, dtype=np.float64).reshape(3, 3)
    f = np.array([[(k >> 0) & 1, (k >> 1) & 1, (k >> 2) & 1] for k in range(8)], float)
    corners = f @ cell
    return corners[_BOX_EDGES.reshape(-1)].astype(np.float32)


_STYLE: dict = {"colors": {}, "radii": {}}  # the user's preferences: {Z: (r, g, b)}, {Z: Å}


def set_element_style(colors: dict, radii: dict) -> None:
    """Colours ({Z: (r, g, b)} in [0, 1]) and drawn radii ({Z: Å}) that replace Jmol's and the
    covalent ones for models shown from now on."""
    _STYLE["colors"], _STYLE["radii"] = dict(colors), dict(radii)
    _element_tables.cache_clear()


@lru_cache(maxsize=1)
def _element_tables() -> tuple[np.ndarray, np.ndarray]:
    """(119, 4) float32 RGBA and (119,) float32 display radius, indexed by atomic number: Jmol
    colours and scaled covalent radii unless the preferences say otherwise.

    Elements past the end of the Jmol table (Z >= 110) are drawn in the grey of Z = 0.
    """
    z = np.arange(119)
    rgba = np.ones((119, 4), np.float32)
    rgba[:, :3] = jmol_rgb(0)
    for k in range(119):
        try:
            rgba[k, :3] = jmol_rgb([k])[0]
        except IndexError:
            break
    radii = (RADIUS_FACTOR * covalent_radius(z)).astype(np.float32)
    for k, rgb in _STYLE["colors"].items():
        rgba[k, :3] = rgb
    for k, radius in _STYLE["radii"].items():
        radii[k] = radius
    return rgba, radii


def prepare_atoms_arrays(atoms) -> PreparedAtoms:
    """Numpy part of ``set_atoms`` (thread-safe; call it in a worker for big models)."""
    positions = np.ascontiguousarray(atoms.positions, dtype=np.float32)
    numbers = np.asarray(atoms.numbers)
    n = len(numbers)
    rgba, table_r = _element_tables()
    colors = rgba[numbers]
    radii = table_r[numbers]
    cell = np.asarray(atoms.cell[:], dtype=np.float64).reshape(3, 3)
    has_cell = bool(np.abs(np.linalg.det(cell)) > 1e-9)
    box = cell_box_segments(cell) if has_cell else np.zeros((0, 3), np.float32)
    pts = []
    if n:
        rmax = float(radii.max())
        plo, phi = bounds3(positions)
        pts += [plo - rmax, phi + rmax]
    if has_cell:
        pts += [box.min(axis=0), box.max(axis=0)]
    if pts:
        pts = np.asarray(pts, dtype=np.float64)
        lo, hi = pts.min(axis=0), pts.max(axis=0)
    else:
        lo, hi = np.zeros(3), np.ones(3)
    center = 0.5 * cell.sum(axis=0) if has_cell else 0.5 * (lo + hi)
    order = shuffled_order(n, ORDER_SEED)
    return PreparedAtoms(positions, colors, radii, cell, box, lo, hi, center, order)


def _build_bond_buffers(positions, colors, cell, i, j, shifts, visible):
    """Thread-safe: half-bond vertices and packed colours (see bonds.half_bond_buffers), in a
    fixed random order (for progressive drawing)."""
    return half_bond_buffers(positions, pack_rgb(colors), cell, i, j, shifts, visible,
                             ORDER_SEED)


class StructureViewer(QWidget):
    """vispy scene in a QWidget; see the module docstring and the method docs."""

    atom_picked = Signal(int)
    #: ``viewer.prepare_atoms_arrays(atoms)`` is thread-safe (no Qt, no GL): run it in a worker
    prepare_atoms_arrays = staticmethod(prepare_atoms_arrays)
    #: internal: (generation, vertices, packed colours) from the bond-building thread
    _bonds_built = Signal(object)
    #: the picture is complete (all chunks of a progressive accumulation are drawn)
    render_complete = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self.canvas = scene.SceneCanvas(keys=None, bgcolor=BACKGROUND, show=False,
                                        size=(800, 600))
        self.view = self.canvas.central_widget.add_view()
        # orthographic to start, as crystal viewers (VESTA) draw: the cell's edges stay parallel
        # and one view direction holds across the model (the Diffraction column follows it)
        self.view.camera = scene.TurntableCamera(fov=0.0, elevation=20.0, azimuth=-35.0,
                                                 up="+z")
        self.atoms_node = Atoms(parent=self.view.scene)
        self.selection_node = Atoms(parent=self.view.scene, shading="outline")
        self.bonds_node = Bonds(parent=self.view.scene, width=BOND_WIDTH)
        self.cell_node = scene.visuals.Line(np.zeros((2, 3), np.float32), parent=self.view.scene,
                                            connect="segments", color=CELL_COLOR, width=1.5,
                                            method="gl", antialias=False)
        self.bonds_node.visible = False
        self.cell_node.visible = False
        self.cell_node.set_gl_state(depth_test=True, blend=False)
        self.colorbar = ColorBarOverlay(self.canvas, background=BACKGROUND)
        # draws atoms, bonds and a big selection within the per-paint budget (before the cell
        # and a small selection)
        self.layer = ProgressiveLayer([(self.atoms_node, 1.0, 1),
                                       (self.bonds_node, BOND_VERTEX_WEIGHT, 2),
                                       (self.selection_node, SELECTION_WEIGHT, 1)],
                                      bgcolor=BACKGROUND, parent=self.view.scene)
        self.selection_node.progressive = False  # an overlay until it is big (_update_selection)
        self.layer.on_paint = self._on_layer_paint
        self._refine_timer = QTimer(self)
        self._refine_timer.setSingleShot(True)
        # A short pause between chunks: each paint also recomposes the window (~20 ms under
        # software GL), and back-to-back paints starve the event loop and the engine threads.
        self._refine_timer.setInterval(REFINE_PAUSE_MS)
        self._refine_timer.timeout.connect(self._refine)
        self._complete_announced = None

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.canvas.native)

        self._atoms = None
        self._prepared: PreparedAtoms | None = None
        self._order = np.zeros(0, np.int64)  # GPU row k holds atom _order[k]
        self._positions = np.zeros((0, 3), np.float32)
        self._element_colors = np.zeros((0, 4), np.float32)
        self._colors = self._element_colors
        self._radii = np.zeros(0, np.float32)
        self._pick_radii = None
        self._radius_scale = 1.0
        self._bonds = None          # (i, j, shifts) symmetrised
        self._bonds_visible = True
        self._slab = None           # (unit normal, center, half thickness)
        self._slab_mask = None
        self._selection = np.zeros(0, np.int64)
        self._quality = "auto"
        self._has_fitted = False
        self._press_pos = None
        self.canvas.events.mouse_press.connect(self._on_mouse_press)
        self.canvas.events.mouse_release.connect(self._on_mouse_release)
        self._bond_generation = 0
        self._bond_executor = None
        self._bonds_built.connect(self._apply_bond_buffers)

    # ---------------------------------------------------------------- model ---
    @property
    def n_atoms(self) -> int:
        return len(self._positions)

    @property
    def atoms(self):
        return self._atoms

    def set_atoms(self, atoms, prepared: PreparedAtoms | None = None,
                  reset_camera: bool | None = None) -> None:
        """Show a new model. Bonds, selection and colour-by are cleared; the slab is kept.

        ``prepared`` (from ``prepare_atoms_arrays(atoms)``, e.g. made in a worker) skips the
        numpy work. The camera is fitted on the first call, or when ``reset_camera`` is true.
        """
        if prepared is None:
            prepared = prepare_atoms_arrays(atoms)
        if prepared.order is None:  # made without the drawing order (e.g. by hand)
            prepared = dataclasses.replace(prepared, order=shuffled_order(prepared.n, ORDER_SEED))
        self._atoms = atoms
        self._prepared = prepared
        self._order = prepared.order
        self._positions = prepared.positions
        self._element_colors = prepared.colors
        self._colors = prepared.colors
        self._radii = prepared.radii
        self._pick_radii = None
        self._slab_mask = None
        self._bonds = None
        self._bond_generation += 1  # drop bond buffers still being built for the old model
        self._selection = np.zeros(0, np.int64)
        self.colorbar.hide()
        self.atoms_node.set_data(prepared.positions, prepared.colors, prepared.radii,
                                 order=prepared.order)
        self.atoms_node.set_bounds(prepared.lo, prepared.hi)
        self._apply_quality()
        self._update_selection()
        self.bonds_node.visible = False
        if len(prepared.box_segments):
            self.cell_node.set_data(prepared.box_segments)
            self.cell_node.visible = True
        else:
            self.cell_node.visible = False
        if reset_camera or (reset_camera is None and not self._has_fitted):
            self.reset_view()
        self.canvas.update()

    def set_positions(self, positions) -> None:
        """New coordinates for the same atoms (trajectory frame): uploads positions only."""
        positions = np.ascontiguousarray(positions, dtype=np.float32)
        if positions.shape != self._positions.shape:
            raise ValueError(f"expected positions of shape {self._positions.shape}, "
                             f"got {positions.shape}")
        self._positions = positions
        self._slab_mask = None
        self.atoms_node.set_positions(positions)
        if self._bonds is not None:
            self._update_bonds()
        if len(self._selection):
            self._update_selection()
        self.canvas.update()

    def set_radius_scale(self, scale: float) -> None:
        """Multiply all displayed (and pickable) radii by ``scale``."""
        self._radius_scale = float(scale)
        self._pick_radii = None
        self.atoms_node.radius_scale = scale
        self.selection_node.radius_scale = scale
        self.canvas.update()

    # ---------------------------------------------------------------- bonds ---
    def set_bonds(self, i, j=None, shifts=None, symmetric: bool = False) -> None:
        """Half-bonds from atom i to the midpoint of bond (i, j, shift); ``set_bonds(None)`` clears.

        ``symmetric=True`` says the lists already hold both directions of every bond with valid
        indices (as :func:`symmetrize_bonds` returns them, e.g. prepared in a worker): the
        checks, which cost ~0.1 s at 10⁷ bonds, are then skipped on the GUI thread.
        """
        if i is None:
            self._bonds = None
            self._bond_generation += 1
            self.bonds_node.visible = False
            self.canvas.update()
            return
        if not symmetric:
            i, j, shifts = symmetrize_bonds(i, j, shifts)
            n = self.n_atoms
            if len(i) and (min(i.min(), j.min()) < 0 or max(i.max(), j.max()) >= n):
                raise ValueError("bond index out of range")
        self._bonds = (i, j, shifts)
        self._update_bonds()
        self.canvas.update()

    def show_bonds(self, visible: bool) -> None:
        self._bonds_visible = bool(visible)
        self.bonds_node.visible = self._bonds_visible and self._bonds is not None \
            and self.bonds_node.count > 0
        self.canvas.update()

    @property
    def bonds_pending(self) -> bool:
        """True while half-bond buffers are being built in the background."""
        return self._bonds is not None and self._bond_generation != self._bonds_applied

    _bonds_applied = 0

    def _update_bonds(self) -> None:
        """Rebuild the half-bond buffers from the current positions, colours and slab."""
        self._bond_generation += 1
        generation = self._bond_generation
        i, j, shifts = self._bonds
        cell = np.ascontiguousarray(self._prepared.cell if self._prepared is not None
                                    else np.zeros((3, 3)), dtype=np.float64)
        # snapshot: these arrays are replaced, never modified in place, by the viewer
        args = (self._positions, self._colors, cell, i, j, shifts, self._visible_mask())
        if len(i) < ASYNC_BONDS:
            self._apply_bond_buffers((generation, *_build_bond_buffers(*args)))
            return
        if self._bond_executor is None:
            self._bond_executor = ThreadPoolExecutor(max_workers=1,
                                                     thread_name_prefix="amorpha-bonds",
                                                     initializer=lower_thread_priority)

        def work():
            try:
                built = _build_bond_buffers(*args)
            except Exception:  # pragma: no cover - reported, the old bonds stay
                import traceback

                traceback.print_exc()
                return
            if generation == self._bond_generation:  # skip stale results early
                try:
                    self._bonds_built.emit((generation, *built))
                except RuntimeError:  # the widget was deleted meanwhile
                    pass

        self._bond_executor.submit(work)

    def _apply_bond_buffers(self, payload) -> None:
        generation, verts, cols = payload
        if generation != self._bond_generation or self._bonds is None:
            return
        self._bonds_applied = generation
        self.bonds_node.set_data(verts, cols)
        self.bonds_node.visible = self._bonds_visible and len(verts) > 0
        self.canvas.update()

    # --------------------------------------------------------------- colours ---
    def color_by_element(self) -> None:
        self._colors = self._element_colors
        self.atoms_node.set_colors(self._colors)
        self.colorbar.hide()
        if self._bonds is not None:
            self._update_bonds()
        self.canvas.update()

    def color_by(self, values, label, cmap="viridis", vmin=None, vmax=None) -> None:
        """Colour atoms by a per-atom array and show a colour bar (NaN is grey)."""
        values = np.asarray(values).reshape(-1)
        if len(values) != self.n_atoms:
            raise ValueError(f"expected {self.n_atoms} values, got {len(values)}")
        lo, hi = value_range(values, vmin, vmax)
        self._colors = map_values(values, cmap, lo, hi)
        self.atoms_node.set_colors(self._colors)
        self.colorbar.set(cmap, lo, hi, label)
        if self._bonds is not None:
            self._update_bonds()
        self.canvas.update()

    # ------------------------------------------------------------------ view ---
    def set_projection(self, orthographic: bool) -> None:
        """Orthographic or perspective, keeping the zoom relative to the whole model: a perspective
        camera needs more distance than the orthographic extent to show the near corners."""
        cam = self.view.camera
        fov = 0.0 if orthographic else PERSPECTIVE_FOV
        if fov == cam.fov:
            return
        before = self._fitted_scale(cam.fov)
        cam.fov = fov
        if before is not None:
            cam.scale_factor = cam.scale_factor * self._fitted_scale(fov) / before
        self.canvas.update()

    @property
    def orthographic(self) -> bool:
        return self.view.camera.fov == 0

    def _fitted_scale(self, fov: float) -> float | None:
        """The scale that shows the whole model from the camera's direction and centre at ``fov``
        (None before a model is shown)."""
        p, cam = self._prepared, self.view.camera
        if p is None:
            return None
        w, h = self.canvas.size
        near = 1.0 / np.sqrt(10.0 * cam.depth_value)  # vispy's turntable near plane / distance
        scale = fit_scale(p.lo, p.hi, cam.center, cam.azimuth, cam.elevation, fov,
                          w / h if h > 0 else 1.0, near)
        return max(scale, 0.5 * (float(np.linalg.norm(p.hi - p.lo)) or 1.0))

    def reset_view(self) -> None:
        """Centre the camera on the cell (or the atoms) and fit the model in the view."""
        cam = self.view.camera
        p = self._prepared
        if p is None:
            return
        diameter = float(np.linalg.norm(p.hi - p.lo)) or 1.0
        cam.center = tuple(float(c) for c in p.center)
        cam.elevation = 20.0
        cam.azimuth = -35.0
        cam.depth_value = max(10.0, 4.0 * diameter)
        # fit the bounding box as seen from this direction (a tall bicrystal needs more than a cube
        # of the same diagonal), and in perspective its near corners too
        cam.scale_factor = self._fitted_scale(cam.fov)
        self._has_fitted = True
        self.canvas.update()

    def look_along(self, direction) -> None:
        """Turn the camera to look along ``direction`` (into the screen), keeping zoom and centre:
        along a tilt bicrystal's axis (its a vector) the boundary's structural units show.
        The turntable looks along (−sin az cos el, cos az cos el, −sin el)."""
        d = np.asarray(direction, float)
        d = d / np.linalg.norm(d)
        cam = self.view.camera
        cam.elevation = float(np.degrees(-np.arcsin(np.clip(d[2], -1.0, 1.0))))
        if np.hypot(d[0], d[1]) > 1e-9:  # straight along z the azimuth only turns the picture
            cam.azimuth = float(np.degrees(np.arctan2(-d[0], d[1])))
        self.canvas.update()

    def camera_state(self) -> dict:
        """What a project keeps of the camera: the view direction (the Diffraction pattern's beam
        follows it), the zoom and the point looked at, as plain numbers."""
        cam = self.view.camera
        return {"azimuth": float(cam.azimuth), "elevation": float(cam.elevation),
                "scale_factor": float(cam.scale_factor), "center": [float(c) for c in cam.center]}

    def set_camera_state(self, state: dict) -> None:
        """Put the camera back as :meth:`camera_state` gave it (values checked by the caller)."""
        cam = self.view.camera
        cam.azimuth, cam.elevation = float(state["azimuth"]), float(state["elevation"])
        cam.scale_factor = float(state["scale_factor"])
        cam.center = tuple(float(c) for c in state["center"])
        self.canvas.update()

    def set_quality(self, quality: str) -> None:
        """"auto" (lit spheres up to FLAT_THRESHOLD atoms), "high" (always lit) or "fast" (flat)."""
        if quality not in ("auto", "high", "fast"):
            raise ValueError(f"quality must be auto, high or fast, got {quality!r}")
        self._quality = quality
        self._apply_quality()
        self.canvas.update()

    def _apply_quality(self) -> None:
        flat = self._quality == "fast" or (self._quality == "auto"
                                           and self.n_atoms > FLAT_THRESHOLD)
        self.atoms_node.shading = "flat" if flat else "sphere"

    # ------------------------------------------------------------------ slab ---
    def set_slab(self, normal, center=None, thickness=None) -> None:
        """Show only atoms with |(r - center) . n| <= thickness/2; ``set_slab(None)`` clears."""
        if normal is None:
            self._slab = None
            self.atoms_node.set_slab(None)
            self.selection_node.set_slab(None)
        else:
            n = np.asarray(normal, dtype=np.float64).reshape(3)
            norm = np.linalg.norm(n)
            if norm == 0:
                raise ValueError("slab normal must be nonzero")
            n = n / norm
            c = np.asarray(center, dtype=np.float64).reshape(3)
            half = 0.5 * float(thickness)
            self._slab = (n, c, half)
            self.atoms_node.set_slab(n, c, half)
            self.selection_node.set_slab(n, c, half)
        self._slab_mask = None
        if self._bonds is not None:
            self._update_bonds()
        self.canvas.update()

    def _visible_mask(self) -> np.ndarray:
        if self._slab_mask is None or len(self._slab_mask) != self.n_atoms:
            if self._slab is None:
                self._slab_mask = np.ones(self.n_atoms, dtype=np.bool_)
            else:
                n, c, half = self._slab
                self._slab_mask = slab_mask(self._positions, n, c, half)
        return self._slab_mask

    # ------------------------------------------------------------- selection ---
    def set_selection(self, indices) -> None:
        """Outline these atoms (a second, small visual; the big buffers are not touched)."""
        idx = np.asarray([] if indices is None else indices, dtype=np.int64).reshape(-1)
        if len(idx) and (idx.min() < 0 or idx.max() >= self.n_atoms):
            raise ValueError("selection index out of range")
        self._selection = idx
        self._update_selection()
        self.canvas.update()

    @property
    def selection(self) -> np.ndarray:
        return self._selection.copy()

    def _update_selection(self) -> None:
        """Outline buffers in the atoms' drawing order, so that a big selection drawn chunk by
        chunk (see SELECTION_OVERLAY_MAX) outlines the atoms drawn so far, not a slab."""
        idx = self._selection
        if len(idx):
            chosen = np.zeros(self.n_atoms, np.bool_)
            chosen[idx] = True
            idx = self._order[chosen[self._order]]
        col = np.tile(np.asarray(SELECTION_COLOR, np.float32), (len(idx), 1))
        self.selection_node.progressive = len(idx) > SELECTION_OVERLAY_MAX
        self.selection_node.set_data(gather(self._positions, idx), col, gather(self._radii, idx))

    # --------------------------------------------------------------- picking ---
    def pick(self, x, y) -> int:
        """Atom under canvas pixel (x, y) (widget coordinates), or -1. Hidden atoms are skipped."""
        if self.n_atoms == 0:
            return -1
        try:
            origin, direction = ray_from_view(self.view, float(x), float(y))
        except (ValueError, np.linalg.LinAlgError):
            return -1
        if self._pick_radii is None:
            self._pick_radii = (self._radii * np.float32(self._radius_scale)).astype(np.float32)
        return int(pick_sphere(origin, direction, self._positions, self._pick_radii,
                               self._visible_mask()))

    def project(self, points) -> np.ndarray:
        """(n, 2) canvas pixel coordinates of scene points (e.g. to place labels, or in tests)."""
        pts = np.atleast_2d(np.asarray(points, dtype=np.float64))
        tr = self.view.scene.node_transform(self.canvas.scene)
        m = np.asarray(tr.map(np.column_stack([pts, np.ones(len(pts))])), dtype=np.float64)
        return m[:, :2] / m[:, 3:4]

    def _on_mouse_press(self, event):
        self._press_pos = np.asarray(event.pos[:2], float) if event.button == 1 else None

    def _on_mouse_release(self, event):
        press, self._press_pos = self._press_pos, None
        if press is None or event.button != 1:
            return
        pos = np.asarray(event.pos[:2], float)
        if np.hypot(*(pos - press)) <= 3.0:
            self.atom_picked.emit(self.pick(pos[0], pos[1]))

    # ------------------------------------------------------ progressive drawing ---
    @property
    def draw_budget(self) -> float:
        """Weighted primitives drawn per paint at most (atoms + BOND_VERTEX_WEIGHT * bond
        vertices); chosen from the GL renderer (adaptive on software GL) unless set."""
        return self.layer._budget()

    def set_draw_budget(self, budget: float | None) -> None:
        """Fix the per-paint budget (e.g. for tests); ``None`` chooses it from the renderer."""
        self.layer.budget = None if budget is None else max(2.0, float(budget))
        self.layer._key = None  # start over
        self.canvas.update()

    @property
    def rendering_complete(self) -> bool:
        """True when the last paint shows the complete picture of the current scene."""
        return self.layer.is_current(self.canvas)

    def _on_layer_paint(self, complete: bool) -> None:
        # called inside a paint: refine or announce from the event loop, not from here
        if not complete or self._complete_announced != self.layer._key:
            if not self._refine_timer.isActive():
                self._refine_timer.start()

    def _refine(self) -> None:
        if not self.layer.complete:
            self.canvas.update()
        elif self._complete_announced != self.layer._key and self.rendering_complete:
            self._complete_announced = self.layer._key
            self.render_complete.emit()

    # ----------------------------------------------------------------- images ---
    def render_image(self) -> np.ndarray:
        """RGBA uint8 (h, w, 4) of the current view (including the colour bar), complete: any
        chunks of a progressive accumulation that are still missing are drawn now."""
        self.layer.finish_now = True
        try:
            return composite_onto(np.asarray(self.canvas.render(alpha=True)), self.colorbar)
        finally:
            self.layer.finish_now = False

    def save_png(self, path) -> None:
        from vispy.io import write_png

        write_png(str(path), self.render_image())

"""Two tabs of the Rings panel: the atom density around rings in their own frames, and persistence
diagrams. Each holds its parameters and shows one engine result; the computation runs through the
window's ``analyse`` (background task, progress, cancel), given with :meth:`set_analyse`."""
from __future__ import annotations

from typing import Callable, Optional

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QLabel,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from amorpha.engine.order import homology
from amorpha.engine.order.ring_density import RingDensityParams, compute_ring_density
from amorpha.gui.panels.widgets import note_item, plain_axes

ALL = "all atoms"
H_COLOURS = {1: (40, 110, 200), 2: (230, 120, 30)}
#: The colour scale of the density maps tops out at this percentile of their non-empty pixels, so
#: a crystal's few atom-sized peaks (hundreds of ρ₀) do not leave everything else dark.
CLIP_PERCENTILE = 99.0
SLAB = 1.0  # Å, thickness of the slabs the maps average over (RingDensityResult.slab)
#: Above this many pairs the persistence diagram is a density image, re-binned to the view, not
#: one marker per pair: pyqtgraph builds Python objects per marker (0.4 s on the GUI thread for the
#: 180,000 pairs of a 108k-atom glass, 1.6 s at 525k) and paints every marker again on each pan,
#: while tens of thousands of overlapping markers hide where most pairs lie.
SCATTER_MAX = 20_000
DENSITY_BIN_PX = 5  # screen pixels per bin side: a lone pair shows as a block this size
DENSITY_MIN_ALPHA = 0.6  # opacity of a bin holding one pair (see density_image)
DENSITY_DARKEN = 0.45  # the fullest bin's colour is this much darker
CLICK_RADIUS_PX = 6  # a click on the density image picks the nearest pair this close


def _element_combo(tip: str) -> QComboBox:
    combo = QComboBox()
    combo.setToolTip(tip)
    combo.addItem(ALL)
    return combo


def _set_elements(combo: QComboBox, present: list[str], default: Optional[str] = None) -> None:
    combo.clear()
    combo.addItems([ALL] + present)
    combo.setCurrentText(default if default in present else ALL)


def _chosen(combo: QComboBox) -> Optional[str]:
    text = combo.currentText()
    return None if text in (ALL, "") else text


class _Tab(QWidget):
    """A compute button and a status line, run through the window's ``analyse``."""

    def __init__(self, label: str, parent=None):
        super().__init__(parent)
        self.label = label
        self.analyse: Optional[Callable] = None
        self.button = QPushButton(label)
        self.status = QLabel("")
        self.status.setWordWrap(True)

    def run(self, compute: Callable, apply: Callable) -> None:
        if self.analyse is None:
            self.status.setText("Not connected to a window.")
            return
        self.button.setEnabled(False)
        self.status.setText("Computing…")

        def finish(state):
            self.button.setEnabled(True)
            if state != "done":
                self.status.setText(f"{self.label}: {state}; nothing was changed.")

        self.analyse(self.label, compute, apply, finish)


def _image_plot(layout: pg.GraphicsLayoutWidget, col: int, title: str, ylabel: str):
    """A square map in column ``col`` of ``layout``: x (Å) across, ``ylabel`` up."""
    plot = layout.addPlot(row=0, col=col)
    plot.setTitle(title, size="9pt")
    plot.setAspectLocked(True)
    plot.setMenuEnabled(False)
    plot.hideButtons()
    plot.setLabel("bottom", "x (Å)")
    plot.setLabel("left", ylabel)
    plain_axes(plot)
    image = pg.ImageItem(axisOrder="row-major")
    image.setColorMap(pg.colormap.get("viridis"))
    plot.addItem(image)
    return plot, image


def colour_top(*maps: np.ndarray) -> tuple[float, float]:
    """(top of the colour scale, largest value): :data:`CLIP_PERCENTILE` of the maps' non-empty
    pixels, at least 1 (the bulk density)."""
    values = np.concatenate([np.ravel(m) for m in maps])
    values = values[np.isfinite(values) & (values > 0)]
    if not len(values):
        return 1.0, 0.0
    return max(float(np.percentile(values, CLIP_PERCENTILE)), 1.0), float(values.max())


class RingDensityView(_Tab):
    """Density around the rings of the shown ring search, per ring size: in-plane and side view."""

    def __init__(self, parent=None):
        super().__init__("Density around rings", parent)
        self.rings = None  # the RingResult the density belongs to
        self.result = None
        self.element = _element_combo("Count only these atoms around the rings")
        self.half_width = QDoubleSpinBox()
        self.half_width.setRange(2.0, 20.0)
        self.half_width.setValue(6.0)
        self.half_width.setSuffix(" Å")
        self.half_width.setToolTip("The maps cover ±this distance from the ring centre")
        self.half_width.valueChanged.connect(self._draw)  # an empty map shows the span asked for
        self.size = QComboBox()
        self.size.setToolTip("Ring size (counted as in the histogram) whose mean density is shown")
        self.size.currentIndexChanged.connect(self._draw)
        self.button.setText("Compute density")
        self.button.setToolTip("Atoms around each ring in the ring's own frame (x: long axis, "
                               "z: normal), averaged over the rings of each size (Shiga et al. 2023)")
        self.button.clicked.connect(self.compute)
        form = QFormLayout()
        form.addRow("Atoms", self.element)
        form.addRow("Half width", self.half_width)
        form.addRow(self.button)
        form.addRow("Ring size", self.size)
        form.addRow(self.status)
        self.caption = QLabel(
            "Colour: ρ/ρ₀, the density of atoms around a ring over the bulk density, averaged over "
            "the rings of the chosen size, each in its own frame: x along the ring's long axis, "
            f"y across it in the ring's plane, z along its normal (Å). Left: the ring plane "
            f"(|z| &lt; {SLAB / 2:g} Å); right: seen from the side (|y| &lt; {SLAB / 2:g} Å).")
        self.caption.setWordWrap(True)
        self.caption.setStyleSheet("color: #555")
        # side by side in one scene, the colour bar under both: fits a narrow dock without scrolling
        self.maps = pg.GraphicsLayoutWidget()
        self.maps.setBackground("w")
        self.maps.setMinimumHeight(200)
        self.maps.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Ignored)  # never forces a tall panel
        self.plane_plot, self.plane = _image_plot(self.maps, 0, "Ring plane (x, y)", "y (Å)")
        self.side_plot, self.side = _image_plot(self.maps, 1, "Side view (x, z)", "z (Å, normal)")
        self.bar = pg.ColorBarItem(values=(0, 3), colorMap=pg.colormap.get("viridis"),
                                   label="ρ / ρ₀", interactive=False, orientation="horizontal")
        self.bar.setImageItem([self.plane, self.side])
        self.maps.addItem(self.bar, row=1, col=0, colspan=2)
        self.clip_note = QLabel("")
        self.clip_note.setWordWrap(True)
        self.clip_note.setStyleSheet("color: #555")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(form)
        layout.addWidget(self.caption)
        layout.addWidget(self.maps, 1)
        layout.addWidget(self.clip_note)
        layout.addStretch(0)
        self.set_rings(None)

    def resizeEvent(self, event) -> None:
        """Two square maps side by side need about half the width in height (plus titles, axes
        and the colour bar); more would only pad them."""
        super().resizeEvent(event)
        self.maps.setMaximumHeight(max(self.maps.minimumHeight(), self.maps.width() // 2 + 120))

    def set_elements(self, present: list[str]) -> None:
        _set_elements(self.element, present)

    def set_rings(self, rings) -> None:
        """A new ring search (or none): the old density no longer applies."""
        self.rings = rings
        self.show_result(None)
        self.button.setEnabled(bool(rings is not None and rings.counted.any()))
        self.status.setText("" if rings is not None else "Search rings first (Rings tab).")

    def compute(self) -> None:
        rings = self.rings
        if rings is None:
            return
        params = RingDensityParams(half_width=self.half_width.value(), element=_chosen(self.element))

        def work(atoms, cutoffs, bonded, progress, cancel):
            return compute_ring_density(atoms, rings, params, progress=progress, cancel=cancel)

        self.run(work, lambda atoms, result: self.show_result(result) if rings is self.rings else None)

    def show_result(self, result) -> None:
        self.result = result
        self.size.blockSignals(True)
        self.size.clear()
        if result is not None:
            for n, count in zip(result.sizes, result.n_rings):
                self.size.addItem(f"{n} ({count} rings)", int(n))
            six = self.size.findData(6)
            self.size.setCurrentIndex(six if six >= 0 else 0)
            what = result.element or "atoms"
            self.status.setText(f"{what} per Å³ around {int(result.n_rings.sum()):,} rings, relative "
                                f"to the bulk {result.bulk_density:.4g} Å⁻³ (ρ₀)")
        self.size.blockSignals(False)
        self._draw()

    def _draw(self) -> None:
        res = self.result
        w = float(res.edges[-1]) if res is not None else self.half_width.value()
        for plot in (self.plane_plot, self.side_plot):  # empty maps span what the next will
            plot.setRange(xRange=(-w, w), yRange=(-w, w), padding=0.02)
        if res is None or self.size.currentData() is None:
            self.plane.clear()
            self.side.clear()
            self.clip_note.setText("")
            return
        n = int(self.size.currentData())
        rho0 = res.bulk_density if np.isfinite(res.bulk_density) and res.bulk_density > 0 else 1.0
        rect = (-w, -w, 2 * w, 2 * w)
        plane, side = res.slab(n, "z", SLAB).T / rho0, res.slab(n, "y", SLAB).T / rho0
        # row-major images: rows are the vertical axis
        self.plane.setImage(plane, autoLevels=False, rect=rect)
        self.side.setImage(side, autoLevels=False, rect=rect)
        top, peak = colour_top(plane, side)
        self.bar.setLevels((0.0, top))
        self.clip_note.setText(f"Colours saturate at ρ/ρ₀ = {top:.3g} ({CLIP_PERCENTILE:g}th percentile); "
                               f"the highest is {peak:.3g}." if peak > top else
                               f"Colours span ρ/ρ₀ = 0–{top:.3g}.")


def density_image(birth, death, dimension, x_range, y_range, shape) -> np.ndarray:
    """(rows, cols, 4) uint8 RGBA of the pairs binned over ``x_range`` × ``y_range`` (row 0 at the
    lowest death); empty bins transparent. A bin takes the :data:`H_COLOURS` entry of the dimension
    most of its pairs have (H2 on a tie, as its markers lay over H1's): no colour outside the
    legend. With log(count) it goes from a pale tint (opacity :data:`DENSITY_MIN_ALPHA`) to the
    colour darkened by :data:`DENSITY_DARKEN` at the fullest bin in view."""
    rows, cols = int(shape[0]), int(shape[1])
    fx = (np.asarray(birth, float) - x_range[0]) * (cols / (x_range[1] - x_range[0]))
    fy = (np.asarray(death, float) - y_range[0]) * (rows / (y_range[1] - y_range[0]))
    inside = (fx >= 0) & (fx < cols) & (fy >= 0) & (fy < rows)
    flat = fy[inside].astype(np.int64) * cols + fx[inside].astype(np.int64)
    dims = np.asarray(dimension)[inside]
    total = np.zeros(rows * cols)
    most = np.zeros(rows * cols)
    rgb = np.zeros((rows * cols, 3))
    for dim, colour in H_COLOURS.items():  # H1 then H2: ">=" lets H2 win ties
        count = np.bincount(flat[dims == dim], minlength=rows * cols)
        total += count
        wins = (count > 0) & (count >= most)
        most[wins] = count[wins]
        rgb[wins] = colour
    image = np.zeros((rows * cols, 4), np.uint8)
    hit = total > 0
    if hit.any():
        grow = np.log(total[hit]) / np.log(max(total.max(), 2.0))
        image[hit, :3] = rgb[hit] * (1 - DENSITY_DARKEN * grow)[:, None]
        image[hit, 3] = 255 * (DENSITY_MIN_ALPHA + (1 - DENSITY_MIN_ALPHA) * grow)
    return image.reshape(rows, cols, 4)


class HomologyView(_Tab):
    """Persistence diagram (H1 loops, H2 cavities); click points to highlight their atoms."""

    selection_changed = Signal(object)  # sorted unique atom indices

    def __init__(self, parent=None):
        super().__init__("Persistent homology", parent)
        self.result = None
        self.selected = np.zeros(0, np.int64)
        self.selected_pairs: list[int] = []
        self.element = _element_combo("Use only these atoms (for example Si of a silica glass)")
        self.button.setText("Compute diagram")
        self.button.setToolTip("Alpha filtration of the atom positions (gudhi); birth and death "
                               "are squared radii α² in Å²")
        self.button.clicked.connect(self.compute)
        form = QFormLayout()
        form.addRow("Atoms", self.element)
        form.addRow(self.button)
        form.addRow(self.status)
        self.plot = pg.PlotWidget(background="w")
        self.plot.setMenuEnabled(False)
        self.plot.getPlotItem().setLabel("bottom", "Birth α² (Å²)")
        self.plot.getPlotItem().setLabel("left", "Death α² (Å²)")
        self.plot.addLegend(offset=(10, 10))
        # a big diagram: one density image instead of the markers (see SCATTER_MAX)
        self.density = pg.ImageItem(axisOrder="row-major")
        self.density.setZValue(-1)
        self.plot.addItem(self.density, ignoreBounds=True)  # the view follows the diagonal
        self._dense = None  # (birth, death, dimension, pair index) drawn as the density image
        self._density_timer = QTimer(self)
        self._density_timer.setSingleShot(True)
        self._density_timer.setInterval(30)  # re-bin once a pan or zoom pauses
        self._density_timer.timeout.connect(self._draw_density)
        view_box = self.plot.getPlotItem().getViewBox()
        view_box.sigRangeChanged.connect(lambda *_: self._density_timer.start())
        view_box.sigResized.connect(lambda *_: self._density_timer.start())
        self.plot.scene().sigMouseClicked.connect(self._scene_clicked)
        self.scatters = {}
        for dim, name in ((1, "H1 loops"), (2, "H2 cavities")):
            item = pg.ScatterPlotItem(size=7, pen=None, brush=pg.mkBrush(*H_COLOURS[dim], 170), name=name)
            item.sigClicked.connect(self._clicked)
            self.plot.addItem(item)
            self.scatters[dim] = item
        self.diagonal = pg.PlotCurveItem(pen=pg.mkPen(120, 120, 120, style=Qt.DashLine))
        self.plot.addItem(self.diagonal)
        self.highlight = pg.ScatterPlotItem(size=13, pen=pg.mkPen(200, 0, 0, width=2), brush=None)
        self.plot.addItem(self.highlight)
        # the diagram's items stay; the note shows while there is no diagram, below the diagonal
        # where no point can lie
        self.empty_note = note_item("No diagram yet.<br>Compute diagram: each loop (H1) and cavity "
                                    "(H2) shows here at its birth and death α².", 0.68, 0.22)
        self.plot.addItem(self.empty_note)
        self.note = QLabel("Click a point (Ctrl: add) to highlight the atoms of its creating and "
                           "killing simplices in the viewer.")
        self.note.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(form)
        layout.addWidget(self.plot, 1)
        layout.addWidget(self.note)
        if not homology.available():
            self.button.setEnabled(False)
            self.status.setText(f"Persistent homology needs the gudhi library: {homology.INSTALL_HINT}")

    def set_elements(self, present: list[str]) -> None:
        _set_elements(self.element, present, "Si")
        self.show_result(None)

    def compute(self) -> None:
        params = homology.HomologyParams(element=_chosen(self.element))

        def work(atoms, cutoffs, bonded, progress, cancel):
            return homology.compute_homology(atoms, params, progress=progress, cancel=cancel, in_child=True)

        self.run(work, lambda atoms, result: self.show_result(result))

    def show_result(self, result) -> None:
        self.result = result
        self.select_pairs([])
        top = 1.0
        self._dense = None
        if result is not None:
            shown = np.flatnonzero(np.isin(result.dimension, list(self.scatters))
                                   & np.isfinite(result.death))
            if len(shown):
                top = max(top, float(result.death[shown].max()))
            if len(shown) > SCATTER_MAX:
                self._dense = (result.birth[shown], result.death[shown],
                               result.dimension[shown], shown)
        for dim, item in self.scatters.items():  # empty in a density diagram: legend entries
            if result is None or self._dense is not None:
                item.setData([], [])
                continue
            sel = np.flatnonzero((result.dimension == dim) & np.isfinite(result.death))
            item.setData(result.birth[sel], result.death[sel], data=sel)
        self.diagonal.setData([0, top * 1.05], [0, top * 1.05])
        if self._dense is None:
            self._draw_density()  # clears the image
        else:
            self._density_timer.start()  # once the view has followed the new diagonal
        self.empty_note.setVisible(result is None)
        if result is not None:
            counts = np.bincount(result.dimension, minlength=3)
            where = result.element or "all atoms"
            self.status.setText(f"{counts[1]:,} loops (H1), {counts[2]:,} cavities (H2) of {where}"
                                + (", periodic" if result.periodic else "")
                                + ("; too many to mark one by one, so darker means more pairs "
                                   "(zoom in to single ones)" if self._dense is not None else ""))

    def _draw_density(self) -> None:
        """Bin the pairs of a big diagram over the current view, DENSITY_BIN_PX pixels a bin (so
        zooming in resolves single pairs again); clear the image for a small one."""
        if self._dense is None:
            self.density.clear()
            return
        view_box = self.plot.getPlotItem().getViewBox()
        (x0, x1), (y0, y1) = view_box.viewRange()
        cols = max(1, int(view_box.width() / DENSITY_BIN_PX))
        rows = max(1, int(view_box.height() / DENSITY_BIN_PX))
        birth, death, dimension, _ = self._dense
        image = density_image(birth, death, dimension, (x0, x1), (y0, y1), (rows, cols))
        self.density.setImage(image, autoLevels=False)
        self.density.setRect(QRectF(x0, y0, x1 - x0, y1 - y0))

    def pair_near(self, x: float, y: float) -> Optional[int]:
        """The pair of a density diagram nearest to view point (x, y), if within
        CLICK_RADIUS_PX screen pixels (None for a marker diagram: its markers take clicks)."""
        if self._dense is None:
            return None
        birth, death, _, pairs = self._dense
        sx, sy = self.plot.getPlotItem().getViewBox().viewPixelSize()
        d2 = ((birth - x) / sx) ** 2 + ((death - y) / sy) ** 2
        k = int(np.argmin(d2))
        return int(pairs[k]) if d2[k] <= CLICK_RADIUS_PX ** 2 else None

    def _scene_clicked(self, event) -> None:
        view_box = self.plot.getPlotItem().getViewBox()
        pos = event.scenePos()
        if (self._dense is None or event.button() != Qt.LeftButton
                or not view_box.sceneBoundingRect().contains(pos)):
            return
        point = view_box.mapSceneToView(pos)
        pair = self.pair_near(point.x(), point.y())
        if pair is not None:
            self._pick([pair], event)

    def _clicked(self, item, points, event=None) -> None:
        self._pick([int(p.data()) for p in points[:1]], event)

    def _pick(self, picked: list[int], event=None) -> None:
        """Select the clicked pair, or add it with Ctrl."""
        add = event is not None and bool(event.modifiers() & Qt.ControlModifier)
        pairs = sorted(set(self.selected_pairs) | set(picked)) if add else picked
        self.select_pairs(pairs)

    def select_pairs(self, pairs) -> None:
        """Highlight these pairs (indices into the result) and their atoms in the viewer."""
        self.selected_pairs = [int(p) for p in pairs]
        res = self.result
        if res is None or not self.selected_pairs:
            self.highlight.setData([], [])
            atoms = np.zeros(0, np.int64)
        else:
            sel = np.asarray(self.selected_pairs)
            self.highlight.setData(res.birth[sel], res.death[sel])
            atoms = res.pair_atoms(sel)
        had = len(self.selected) > 0
        self.selected = atoms
        if len(atoms) or had:
            self.selection_changed.emit(atoms)

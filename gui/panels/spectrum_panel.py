"""Docked spectrum plot (pyqtgraph): measured, predicted and reference spectra on one energy axis.

Curves belong to groups ("measured", "predicted", "site", "reference") so that a new prediction
replaces the old average without touching the measured spectrum the user opened. Each group has a
style a reader can tell apart in a screenshot: the predicted average thick, site spectra thin,
calculator references dashed.

A measured spectrum is in counts and a predicted one in arbitrary units, so beside a measured
spectrum every other curve is drawn multiplied by a factor and raised by a constant, both fitted
by least squares over their common energy range (:func:`scale_to`: an edge not yet freed of its
background sits on it; once a step has subtracted the background, no constant); the legend says
by how much, or why no factor fits (then the curve is drawn as it is). Site spectra share the
predicted average's factor and constant, so they stay comparable with it. Only the drawing is
scaled: :attr:`SpectrumPanel.spectra` keeps the spectra as they are.

A spectrum that carries a standard deviation at each energy (``Spectrum.std``: a Gaussian
process's predicted site spectrum) is drawn with a ±1σ band in its curve's colour, faint enough
that curves behind it stay readable; the band is placed, scaled, hidden and removed with its curve.

Predictions are on an edge-relative axis, a measured spectrum on the instrument's: beside one,
:attr:`SpectrumPanel.placer` (set by the Measured panel) puts each prediction where the Compare tab
would, at the edge onset, or says why it cannot be drawn there (a core edge beside a low-loss
spectrum); the legend says which.
"""
from __future__ import annotations

import html

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QSizePolicy, QVBoxLayout, QWidget

from amorpha.engine.spectra import Spectrum
from amorpha.engine.spectra.prepare import background_removed
from amorpha.engine.spectra.spectrum import scale_name
from amorpha.engine.words import counted

_PENS = ["#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b"]
MEASURED_COLOR = "#1f77b4"  # one colour however often a step draws it again, and no other curve's
MARKER_COLOR = "#b8860b"  # dark goldenrod: no curve of the plot is drawn in it
_STYLE = {  # group -> (width, Qt pen style)
    "measured": (1.5, Qt.SolidLine),
    "predicted": (2.6, Qt.SolidLine),
    "site": (1.2, Qt.SolidLine),
    "reference": (1.4, Qt.DashLine),
}
_HINT = "No spectrum yet: Open spectrum… (DM3/DM4, MSA, .hspy, text columns)"
#: the opacity (of 255) of a ±1σ band's fill: the curve's colour, faint, so that the curves it
#: covers, its own and others', stay readable
BAND_ALPHA = 45
#: how many times its curves' height the view may be made so that they pass under the legend
RAISE = 1.8
#: the share of the curves' points beneath the legend's width it may hide before it hides itself
MAX_HIDDEN = 0.1


def _legend_corner(data, box, view):
    """(left, beneath, (bottom, top)) for a legend of bounding box ``box`` in the top corner where
    the curves ``data`` are lower: whether that is the left one, and the heights of the curves'
    points beneath the legend's width there, as shares of their span from bottom to top; None
    when the view is too small or the curves too flat to judge."""
    if not data or view.width() < 50 or view.height() < 50:
        return None
    x, y = np.concatenate([d[0] for d in data]), np.concatenate([d[1] for d in data])
    lo, hi, bottom, top = x.min(), x.max(), y.min(), y.max()
    if not (hi > lo and top > bottom):
        return None
    height, wide = (y - bottom) / (top - bottom), min(1.0, (box.width() + 20) / view.width()) * (hi - lo)
    left, right = height[x <= lo + wide], height[x >= hi - wide]
    on_left = left.max(initial=0.0) < right.max(initial=0.0)
    return on_left, (left if on_left else right), (bottom, top)


def legend_key(entries, elide=None) -> str:
    """The legend as one wrapping line of rich text: per curve a short stroke in its colour
    (dashed when the curve is) and its name; ``entries`` are the legend's (sample, label) pairs.
    The line wraps between entries, never inside one (a long name broken over two lines read as
    two curves); ``elide`` (name -> name) shortens a name too long for a line of the key."""
    parts = []
    for sample, label in entries:
        pen = pg.mkPen(sample.item.opts.get("pen"))
        stroke = "╍╍" if pen.style() != Qt.SolidLine else "━━"
        name = label.text if elide is None else elide(label.text)
        # unbreakable: no space, nor a file name's hyphen, ends a line inside an entry
        name = html.escape(name).replace("-", "\u2011").replace(" ", "&nbsp;")
        faded = "" if sample.item.isVisible() else " style='color:#999'"
        parts.append(f"<span style='color:{pen.color().name()}'>{stroke}</span>"
                     f"&nbsp;<span{faded}>{name}</span>")
    return "&nbsp;&nbsp; ".join(parts)


_SCALED_HINT = "× and + in the legend: scaled to the measured one"


def scale_to(measured: Spectrum, spectrum: Spectrum, offset: bool = True) -> tuple[float, float] | str:
    """(s, c) minimising Σ (measured − s·spectrum − c)² on the measured channels inside both
    energy ranges: a prediction drawn on the counts of an edge that still sits on its background
    (c) at the height of the edge (s). Without ``offset`` (the background is subtracted: the
    counts' zero is the prediction's) c is 0; with one, the prediction floated thousands of
    counts above the subtracted pre-edge. Else why not, for the legend: fewer than 3 shared
    channels, a flat ``spectrum``, or s not positive (:func:`_no_factor`); such a curve was
    drawn as it is, a flat line at the foot of the counts, without a word."""
    e = np.asarray(measured.energy)
    inside = (e >= spectrum.energy[0]) & (e <= spectrum.energy[-1])
    if inside.sum() < 3:
        return f"{counted(int(inside.sum()), 'measured channel')} in its range"
    p = np.interp(e[inside], spectrum.energy, spectrum.intensity)
    y = np.asarray(measured.intensity)[inside]
    if p.std() <= 0:
        return "it is flat in the counts' range"
    if offset:
        s = float(np.cov(p, y, bias=True)[0, 1] / p.var())
        c = float(y.mean() - s * p.mean())
    else:
        s, c = float(p @ y / (p @ p)), 0.0
    c = 0.0 if abs(c) <= 1e-9 * float(np.abs(y).max()) else c  # a rounding error, not a background
    return (s, c) if s > 0 and np.isfinite(s) and np.isfinite(c) else _no_factor(y)


def _no_factor(y: np.ndarray) -> str:
    """Why no positive factor matches a curve to the counts ``y`` in its energy range."""
    if not np.isfinite(y).all():
        return "counts not finite in its range"
    if y.max() <= 0:
        return "no positive counts in its range"
    if y.std() <= 0:
        return "the counts are flat in its range"
    return "the counts do not follow its shape"


def _overlap(a: Spectrum, b: Spectrum) -> bool:
    return min(a.energy[-1], b.energy[-1]) > max(a.energy[0], b.energy[0])


def _number(x: float) -> str:
    return f"{x:,.0f}" if 1000 <= x < 1e7 else f"{x:.3g}"


class SpectrumPanel(QWidget):
    """Plots spectra; the Open button asks the main window to load one (so errors share a dialog)."""

    open_requested = Signal()
    marker_moved = Signal(float)  # the energy marker dragged to this energy (the plot's axis)

    def __init__(self, parent=None):
        super().__init__(parent)
        pg.setConfigOptions(antialias=True, background="w", foreground="k")
        self.plot = pg.PlotWidget()
        self.plot.setLabel("bottom", "Energy", units="eV")
        self.plot.getAxis("bottom").enableAutoSIPrefix(False)  # eV as in the panels, never keV
        self.plot.setLabel("left", "Intensity (arb. units)")
        self.plot.getAxis("left").enableAutoSIPrefix(False)  # 0.4, not "400 (x0.001)"
        self.plot.showGrid(x=True, y=True, alpha=0.2)
        self.legend = self.plot.addLegend(offset=(-10, 10), brush=pg.mkBrush(255, 255, 255, 210),
                                          pen=pg.mkPen("#cccccc"), labelTextSize="8pt")
        self.legend.setVisible(False)  # no empty box before the first curve
        self.hint = QLabel(_HINT)
        self.hint.setStyleSheet("color: #666")
        self.hint.setWordWrap(True)  # a narrow panel shows the whole hint on two lines
        self.hint.setSizePolicy(QSizePolicy.Ignored, QSizePolicy.Preferred)  # a long hint never widens the window
        open_button = QPushButton("Open spectrum…")
        open_button.clicked.connect(self.open_requested)
        self.legend_button = QPushButton("Legend")
        self.legend_button.setCheckable(True)
        self.legend_button.setChecked(True)
        self.legend_button.setToolTip("Show or hide the legend. Until you choose, it goes below the plot when "
                                      "on the plot it would hide the curves (many long entries in a small "
                                      "panel); a curve names itself when the mouse rests on it. Drag the "
                                      "legend to move it")
        self.legend_button.clicked.connect(self._choose_legend)
        clear_button = QPushButton("Clear")
        clear_button.setToolTip("Remove every curve (predictions come back with Predict)")
        clear_button.clicked.connect(self.clear)
        row = QHBoxLayout()
        row.addWidget(self.hint, 1)
        row.addWidget(open_button)
        row.addWidget(self.legend_button)
        row.addWidget(clear_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        # the legend below the plot when on it it would hide the curves (see place_legend)
        self.key = QLabel()
        self.key.setWordWrap(True)
        self.key.setSizePolicy(QSizePolicy.Ignored, QSizePolicy.Preferred)
        self.key.setVisible(False)
        layout.addLayout(row)
        layout.addWidget(self.plot, 1)
        layout.addWidget(self.key)
        self.spectra: list[Spectrum] = []
        self._groups: list[str] = []
        self._items: list = []
        self._bands: list = []  # per curve, its ±1σ band (FillBetweenItem) or None
        # drawn = factor × intensity + offset: (1, 0) unless matched to a measured spectrum (scale_to)
        self._factors: list[tuple[float, float]] = []
        self._unscaled = 0  # curves beside the counts that no factor fits (drawn as they are)
        self._colors = 0
        self._placed = None  # the view range place_legend chose (redone on resizing unless the user zoomed)
        self.focus = None  # (low, high) eV the view keeps to (a measured edge), None: all the curves
        self._legend_choice = None  # the user's Legend button (True/False), None: shown when it fits
        self._framed = []  # curves drawn by other panels that the focused view fits too (frame)
        # beside a measured spectrum: a curve -> the same on the measured axis, or why it is not drawn
        self.placer = None
        self.plot.getViewBox().sigResized.connect(self._resized)
        # the energy marker: dragged, the atoms are coloured by their predicted intensity there
        self.marker = pg.InfiniteLine(angle=90, movable=True, label="{value:.1f} eV",
                                      pen=pg.mkPen(MARKER_COLOR, width=1.5, style=Qt.DashLine),
                                      hoverPen=pg.mkPen(MARKER_COLOR, width=3),
                                      # right of the line, hanging from the top: at mid-height it sat
                                      # on the main peak, where the marker starts
                                      labelOpts={"position": 1.0, "color": MARKER_COLOR, "movable": False,
                                                 "fill": (255, 255, 255, 210),
                                                 "anchors": [(-0.05, 0.0), (-0.05, 0.0)]})
        self.marker.setToolTip("Drag: colour the atoms by their predicted intensity at this energy")
        self.marker.setZValue(20)
        self.marker.setVisible(False)
        self.plot.addItem(self.marker, ignoreBounds=True)
        self.marker.sigPositionChanged.connect(lambda line: self.marker_moved.emit(float(line.value())))

    def add_spectrum(self, spectrum: Spectrum, group: str = "measured") -> None:
        width, style = _STYLE.get(group, _STYLE["measured"])
        if group == "measured":
            color = MEASURED_COLOR
        else:
            color = _PENS[self._colors % len(_PENS)]
            self._colors += 1
        pen = pg.mkPen(color, width=width, style=style)
        item = self.plot.plot(np.asarray(spectrum.energy), np.asarray(spectrum.intensity), pen=pen,
                              name=spectrum.label)
        item.curve.setToolTip(spectrum.label)  # named on hover when the legend is hidden
        item.visibleChanged.connect(self._update_hint)  # a click on its legend entry hides it
        self.spectra.append(spectrum)
        self._groups.append(group)
        self._items.append(item)
        self._bands.append(self._band(item, color) if spectrum.std is not None else None)
        self._factors.append((1.0, 0.0))
        self._rescale()
        self._update_hint()
        self.place_legend()

    def _band(self, item, color: str):
        """A ±1σ band for the curve ``item`` in its ``color``, behind the curves; shown and hidden
        with it (a click on its legend entry). Its edges are two curves that are not drawn."""
        brush = pg.mkColor(color)
        brush.setAlpha(BAND_ALPHA)
        band = pg.FillBetweenItem(pg.PlotCurveItem(), pg.PlotCurveItem(), brush=brush)
        band.setZValue(-1)
        self.plot.addItem(band)
        item.visibleChanged.connect(lambda: band.setVisible(item.isVisible()))
        return band

    @staticmethod
    def _draw_band(band, shown: Spectrum, factor: float, offset: float) -> None:
        """Put ``band`` around ``shown`` (a curve as drawn: placed on the measured axis, its own
        energies otherwise) scaled like it; a standard deviation not point for point with the
        intensities (a spectrum made again without it) gives no band rather than a wrong one."""
        if band is None:
            return
        x, y = np.asarray(shown.energy), np.asarray(shown.intensity)
        std = shown.std if shown.std is not None and np.shape(shown.std) == y.shape else np.zeros_like(y)
        lower, upper = band.curves
        lower.setData(x, factor * (y - std) + offset)
        upper.setData(x, factor * (y + std) + offset)

    def band(self, spectrum: Spectrum):
        """The ±1σ band drawn around ``spectrum`` (one of :attr:`spectra`), None without one."""
        return next(b for s, b in zip(self.spectra, self._bands) if s is spectrum)

    def remove_group(self, group: str) -> None:
        """Take away every curve of ``group`` (e.g. the old prediction when the model changes)."""
        keep = [k for k, g in enumerate(self._groups) if g != group]
        for k, (item, band) in enumerate(zip(self._items, self._bands)):
            if k not in keep:
                self.plot.removeItem(item)
                self.legend.removeItem(item)
                if band is not None:
                    self.plot.removeItem(band)
        self.spectra = [self.spectra[k] for k in keep]
        self._groups = [self._groups[k] for k in keep]
        self._items = [self._items[k] for k in keep]
        self._bands = [self._bands[k] for k in keep]
        self._factors = [self._factors[k] for k in keep]
        self._rescale()
        self._update_hint()
        self.place_legend()

    def group(self, group: str) -> list[Spectrum]:
        return [s for s, g in zip(self.spectra, self._groups) if g == group]

    def factor(self, spectrum: Spectrum) -> float:
        """How much ``spectrum`` (one of :attr:`spectra`) is multiplied by on the plot."""
        return next(f[0] for s, f in zip(self.spectra, self._factors) if s is spectrum)

    def offset(self, spectrum: Spectrum) -> float:
        """What is added to ``spectrum`` (times its :meth:`factor`) on the plot: the measured
        counts' background under it."""
        return next(f[1] for s, f in zip(self.spectra, self._factors) if s is spectrum)

    def item(self, spectrum: Spectrum):
        """The plot item drawing ``spectrum`` (one of :attr:`spectra`)."""
        return next(i for s, i in zip(self.spectra, self._items) if s is spectrum)

    def drawn_energy(self, spectrum: Spectrum) -> np.ndarray:
        """The energies ``spectrum`` is drawn at: its own, or placed beside a measured edge."""
        return np.asarray(self.item(spectrum).xData, dtype=float)

    def show_marker(self, energy: float) -> None:
        """Put the energy marker at ``energy`` (the plot's axis) without reporting a move."""
        self.marker.blockSignals(True)
        self.marker.setValue(float(energy))
        self.marker.blockSignals(False)
        self.marker.setVisible(True)
        self.marker.label.valueChanged()  # its label follows moves it was told of, and this was silent
        self._update_hint()

    def hide_marker(self) -> None:
        self.marker.setVisible(False)
        self._update_hint()

    def _on_measured_axis(self, spectrum: Spectrum, group: str, measured: list) -> Spectrum | str:
        """``spectrum`` as drawn beside the measured spectrum (placed by :attr:`placer`), or why it
        is hidden."""
        if not measured or group == "measured":
            return spectrum
        placed = self.placer(spectrum) if self.placer is not None else spectrum
        if isinstance(placed, str) or _overlap(measured[0], placed):
            return placed
        if "edge_onset_ev" in placed.meta:  # placed at its edge, which the file does not reach
            return f"its edge at {placed.meta['edge_onset_ev']:g} eV is off this axis"
        return "outside the measured range"

    def _group_factors(self, drawn: list) -> dict[str, tuple[float, float] | str]:
        """Per group, the factor and offset of its first curve (as ``drawn``) to the (first)
        measured spectrum (:func:`scale_to`), or why it has none; site spectra take the predicted
        average's when there is one, so they stay comparable with it; no constant once a step
        has removed the measured background."""
        measured = self.group("measured")
        if not measured:
            return {}
        factors, offset = {}, not background_removed(measured[0])
        for group in dict.fromkeys(self._groups):
            first = next((d for d, g in zip(drawn, self._groups) if g == group), None)
            if group != "measured" and isinstance(first, Spectrum):
                factors[group] = scale_to(measured[0], first, offset)
        if "predicted" in factors:
            factors["site"] = factors["predicted"]
        return factors

    def _rescale(self) -> None:
        """Draw each curve placed on the measured axis (:meth:`_on_measured_axis`) with its
        group's factor; a curve that cannot be placed is hidden (its legend entry says why; a
        click shows it again), one that cannot be scaled is drawn as it is and says why."""
        measured = self.group("measured")
        drawn = [self._on_measured_axis(s, g, measured) for s, g in zip(self.spectra, self._groups)]
        factors = self._group_factors(drawn)
        self._unscaled = 0
        for k, (spectrum, group, item, there) in enumerate(zip(self.spectra, self._groups, self._items, drawn)):
            fit = factors.get(group, (1.0, 0.0))
            factor, offset = self._factors[k] = fit if isinstance(fit, tuple) else (1.0, 0.0)
            shown = spectrum if isinstance(there, str) else there
            item.setData(np.asarray(shown.energy), factor * np.asarray(shown.intensity) + offset)
            self._draw_band(self._bands[k], shown, factor, offset)
            item.setVisible(not isinstance(there, str))
            name = spectrum.label
            if shown is not spectrum and "edge_onset_ev" in shown.meta:
                name += f" at the {shown.meta['edge_onset_ev']:g} eV onset"
            if factor != 1.0:
                name += f" ×{_number(factor)}"
            if offset:
                name += f" {'+' if offset > 0 else '−'} {_number(abs(offset))}"
            if isinstance(fit, str) and not isinstance(there, str):
                name += f" (not scaled: {fit})"
                self._unscaled += 1
            if isinstance(there, str):
                name = f"{spectrum.label} (hidden: {there})"
            for sample, label in self.legend.items:
                if sample.item is item:
                    label.setText(name)
        self._label_axis(measured)

    def _label_axis(self, measured: list) -> None:
        """'Energy' on an instrument's axis ('Energy loss' under an EELS file's counts, or counts
        the Measured panel judged EELS: a file without SIGNALTYPE whose edges it saw); 'Energy
        relative to the edge' when only predictions
        on their edge-relative axis are drawn (0 is not the energy loss of a measurement), or 'on
        the CASTEP/OptaDOS scale' when they share a code's own (``meta["axis"]``)."""
        from amorpha.engine.spectra.edges import edge_onset, is_edge_relative

        def relative(s: Spectrum) -> bool:
            try:
                return bool(s.edge) and is_edge_relative(s, edge_onset(s.element, s.edge)[0])
            except ValueError:  # no tabulated onset
                return False

        text = "Energy loss" if any(m.meta.get("signal type") == "EELS" for m in measured) else "Energy"
        if not measured and self.spectra and all(map(relative, self.spectra)):
            axes = {s.meta.get("axis", "") for s in self.spectra}
            text = f"Energy {scale_name(axes.pop())}" if len(axes) == 1 and "" not in axes \
                else "Energy relative to the edge"
        self.plot.setLabel("bottom", text, units="eV")

    def refresh(self) -> None:
        """Place and scale the curves again (the onset to place predictions at changed)."""
        self._rescale()
        self.place_legend()

    def _shown_curves(self) -> list[tuple[np.ndarray, np.ndarray]]:
        """(x, y) of the visible curves the view is fitted to: every one, or with a :attr:`focus`
        this panel's own (measured, predicted) and those given to :meth:`frame`, inside it; a
        subtracted background, or the counts before it, would dwarf the edge."""
        self._framed = [item for item in self._framed if item.scene() is not None]  # drop the removed
        items = self.plot.listDataItems() if self.focus is None else self._items + self._framed
        data = [item.getData() for item in items if item.isVisible()]
        data = [(x, y) for x, y in data if x is not None and len(x)]
        if self.focus is not None:
            lo, hi = self.focus
            data = [(x[inside], y[inside]) for x, y in data if (inside := (x >= lo) & (x <= hi)).any()]
        return data

    def frame(self, item) -> None:
        """Fit the focused view to ``item`` too (a curve drawn on the plot by a panel, such as an
        aligned prediction or a fit, on the measured counts' scale)."""
        self._framed.append(item)
        self.place_legend()

    def place_legend(self) -> None:
        """Fit the view to the curves (:meth:`_shown_curves`) and put the legend in the top corner
        where they are lower (top left over a rising edge, top right over a decaying background),
        raising the top of the view (up to :data:`RAISE` times) when that is what it takes for the
        legend to cover no curve. Until the user chooses with the Legend button, a legend that
        would still hide over :data:`MAX_HIDDEN` of the points beneath it, or is wider than the
        plot, goes below the plot (:func:`legend_key`): eight long entries in a small panel hid
        the curves."""
        data = self._shown_curves()
        if not self.spectra:  # autoRange pads an empty view by its pixel size: each resize moved it
            self.plot.setRange(xRange=(0, 1), yRange=(0, 1), padding=0.05)  # a fraction: 0 and 1 labelled
        elif self.focus is None or not data:
            self.plot.autoRange()
        else:
            ys = np.concatenate([y for _, y in data])
            self.plot.setXRange(*self.focus, padding=0.02)
            self.plot.setYRange(ys.min(), ys.max(), padding=0.05)
        self.legend.updateSize()
        box, view = self.legend.boundingRect(), self.plot.getViewBox().boundingRect()
        corner = _legend_corner(data, box, view)
        room = 0.92 - (box.height() + 20) / max(view.height(), 1.0)  # the share of the height below the legend
        raised = 1.0
        if corner is not None:
            under = float(corner[1].max(initial=0.0))
            raised = min(max(under / room, 1.0), RAISE) if room > 0 else RAISE
        wide = box.width() + 20 > view.width()  # its names would be cut at the plot's edge
        self._show_legend(not wide and bool(corner is None or (room > 0 and np.mean(corner[1] / raised > room) <= MAX_HIDDEN)))
        if self.legend.isVisible() and corner is not None:
            on_left, _, (bottom, top) = corner
            if on_left:
                self.legend.anchor(itemPos=(0, 0), parentPos=(0, 0), offset=(10, 10))
            else:
                self.legend.anchor(itemPos=(1, 0), parentPos=(1, 0), offset=(-10, 10))
            if raised > 1.0:
                self.plot.setYRange(bottom, bottom + (top - bottom) * raised)  # the curves stay tall
        self._placed = self.plot.getViewBox().viewRange()

    def _resized(self) -> None:
        if self._placed is not None and self.plot.getViewBox().viewRange() == self._placed:
            self.place_legend()
        elif self.key.isVisible():  # zoomed by the user: only the key's names follow the width
            self.key.setText(self._key_text())

    def _update_hint(self) -> None:
        self.hint.setToolTip("")
        if not self.spectra:
            self.hint.setText(_HINT)
            self._colors = 0
            return
        edges = sorted({f"{s.element} {s.edge}".strip() for s in self.spectra} - {""})
        what = f" ({', '.join(edges)})" if edges else ""
        count = "1 spectrum" if len(self.spectra) == 1 else f"{len(self.spectra)} spectra"
        hidden = sum(not item.isVisible() for item in self._items)  # off this axis, or clicked off
        count += f", {hidden} hidden" if hidden else ""
        count += f", {self._unscaled} not scaled" if self._unscaled else ""  # the legend says why
        scaled = any(f != (1.0, 0.0) for f in self._factors)
        marker = "; drag the dashed line to colour the atoms" if self.marker.isVisible() else ""
        # short: the plot is small at 1280×800, and each line of hint takes from its height
        text = f"{count}{what}{'; ' + _SCALED_HINT if scaled else ''}{marker}"
        self.hint.setText(text)
        self.hint.setToolTip(text + "; drag to pan, wheel to zoom" + (  # a narrow panel cuts the line short
            ". A measured spectrum is in counts, a prediction in arbitrary units: each other curve is drawn "
            "multiplied by the factor and raised by the constant (× and + in the legend) that best match it "
            "to the measured one by least squares over their common energy range (the constant stands for "
            "a background not yet subtracted)." if scaled else "") + (
            " A curve 'not scaled' is drawn in its own units: no positive factor matches it to the counts "
            "(its legend entry says why)." if self._unscaled else ""))

    def _choose_legend(self, shown: bool) -> None:
        self._legend_choice = shown
        self.place_legend()  # the view no longer makes room for it, or makes room again

    def _show_legend(self, fits: bool) -> None:
        """Show the legend as the user chose, or, before they choose, when it ``fits``."""
        shown = fits if self._legend_choice is None else self._legend_choice
        self.legend.setVisible(shown and bool(self.legend.items))  # no empty box
        self.legend_button.setChecked(shown)
        below = self._legend_choice is None and not shown and bool(self.legend.items)
        self.key.setText(self._key_text() if below else "")
        self.key.setToolTip("\n".join(label.text for _, label in self.legend.items) if below else "")
        self.key.setVisible(below)
        self._update_hint()

    def _key_text(self) -> str:
        """The key below the plot (:func:`legend_key`), each name cut in its middle to one line of
        the panel ("O K predicted average (2000 s…×62,356 + 2,275"): its start says which curve,
        its end the scaling or why it is hidden; the key's tooltip has every name whole."""
        metrics = self.key.fontMetrics()
        room = self.contentsRect().width() - 16 - metrics.horizontalAdvance("━━\u00a0")  # the margins, its stroke
        room = max(room, 12 * metrics.averageCharWidth())
        return legend_key(self.legend.items, lambda text: metrics.elidedText(text, Qt.ElideMiddle, room))

    def set_focus(self, window) -> None:
        """Keep the view to ``window`` = (low, high) eV (None: show every curve whole)."""
        self.focus = None if window is None else (float(window[0]), float(window[1]))
        self.place_legend()

    def clear(self) -> None:
        self.focus = None
        self.plot.clear()
        self.plot.addItem(self.marker, ignoreBounds=True)  # kept for the next prediction
        self.hide_marker()
        self.legend.clear()
        self.spectra.clear()
        self._groups.clear()
        self._items.clear()
        self._bands.clear()
        self._factors.clear()
        self._framed.clear()
        self._update_hint()

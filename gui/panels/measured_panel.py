"""The Measured panel: a measured spectrum's settings, its preparation steps, the comparison with
the prediction, the Explain fit and the decomposition of a spectrum image.

Widgets only: every button emits a signal with plain parameters and :mod:`amorpha.gui.measured`
does the work (in the background) and calls the ``show_*`` methods with what it found.
"""
from __future__ import annotations

import html

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QCheckBox, QComboBox, QGridLayout, QGroupBox, QHBoxLayout, QHeaderView, QLabel,
                               QListWidget, QListWidgetItem, QPushButton, QSizePolicy, QTableWidget,
                               QTableWidgetItem, QTabWidget, QVBoxLayout, QWidget)

from amorpha.gui.panels.widgets import double_spin, int_spin
from amorpha.gui.viewer.colormap import is_flat, value_range

#: Explain's backgrounds, the default first: a line that never goes below zero (after the power
#: law is subtracted the counts stand on zero, and a signed line dragged the fit to −131 there)
BACKGROUNDS = (("nonneg_linear", "linear ≥ 0"), ("linear", "linear (signed)"), ("constant", "constant"),
               (None, "none"))
#: Units a file gives to a navigation axis that has none (HyperSpy's and rosettasciio's).
NO_UNITS = ("", "<undefined>", "undefined", "px", "pixel", "pixels")


def _button(text: str, tooltip: str = "") -> QPushButton:
    button = QPushButton(text)
    button.setToolTip(tooltip)
    return button


def _energy_spin(value: float):
    """An energy (eV) field; it may be narrower than its extreme '-1000000.00 eV' (it scrolls
    then) so that a window's two fields fit on one row of the narrow dock: 5 digits show whole."""
    box = double_spin(-1e6, 1e6, value, " eV")
    fm = box.fontMetrics()
    box.setMinimumWidth(box.minimumSizeHint().width() - fm.horizontalAdvance("-1000000.00 eV")
                        + fm.horizontalAdvance("-99999.99 eV"))
    return box


def _energy_pair(lo: float, hi: float) -> tuple:
    return _energy_spin(lo), _energy_spin(hi)


def _row(*items) -> QHBoxLayout:
    """A row of widgets; a string becomes a label."""
    row = QHBoxLayout()
    for item in items:
        row.addWidget(QLabel(item) if isinstance(item, str) else item)
    return row


def _window_rows(*rows) -> QGridLayout:
    """Energy-window rows (label, (low, high) fields), their fields lined up."""
    grid = QGridLayout()
    for r, (label, pair) in enumerate(rows):
        for c, item in enumerate((label, pair[0], "to", pair[1])):
            grid.addWidget(QLabel(item) if isinstance(item, str) else item, r, c)
    return grid


def _page(title: str = "") -> tuple[QWidget, QVBoxLayout]:
    """A tab's page and its column of rows, headed by ``title`` when given."""
    page = QWidget()
    layout = QVBoxLayout(page)
    layout.setContentsMargins(6, 6, 6, 6)  # the dock is narrow
    if title:
        heading = QLabel(title)
        heading.setWordWrap(True)
        layout.addWidget(heading)
    return page, layout


def _table(headers: list[str]) -> QTableWidget:
    table = QTableWidget(0, len(headers))
    table.setHorizontalHeaderLabels(headers)
    table.verticalHeader().setVisible(False)
    table.horizontalHeader().setSectionResizeMode(QHeaderView.Stretch)
    table.setEditTriggers(QTableWidget.NoEditTriggers)
    table.setMinimumHeight(90)
    return table


def span_text(used, asked=None) -> str:
    """"over a–b eV" for the range a comparison or fit used, saying so when it is narrower than
    the window ``asked`` for: outside the curves' common range there is nothing to compare."""
    text = f"over {used[0]:.4g}–{used[1]:.4g} eV"
    if asked is not None and (used[0] > asked[0] + 1e-6 or used[1] < asked[1] - 1e-6):
        text += f", where every curve has values (the window asks {asked[0]:.4g}–{asked[1]:.4g} eV)"
    return text


def fill_table(table: QTableWidget, rows: list[list[str]]) -> None:
    """Fill ``table`` and make it no taller than its rows, so what follows it (fit quality,
    notes) stays in sight instead of below an empty table."""
    table.setRowCount(len(rows))
    for r, row in enumerate(rows):
        for c, text in enumerate(row):
            table.setItem(r, c, QTableWidgetItem(text))
    rows_height = table.verticalHeader().length() + table.horizontalHeader().sizeHint().height()
    table.setMaximumHeight(max(table.minimumHeight(), rows_height + 2 * table.frameWidth() + 2))


def class_colormap(n: int) -> pg.ColorMap:
    """One flat colour per class 0…n−1 (matplotlib's tab10, evenly spaced hues past 10) over the
    levels −0.5…n−0.5: the colour bar then shows n blocks, not a gradient that would suggest the
    classes are ordered. Each block's ends sit 1e-6 inside it (pyqtgraph sorts the stops)."""
    tab10 = pg.colormap.get("tab10", source="matplotlib").getColors()
    colours = [tab10[k] if n <= 10 else pg.intColor(k, hues=n).getRgb() for k in range(n)]
    edges = np.linspace(0.0, 1.0, n + 1)
    pos = np.column_stack([edges[:-1] + 1e-6, edges[1:] - 1e-6]).ravel()
    pos[0], pos[-1] = 0.0, 1.0
    return pg.ColorMap(pos, np.repeat(np.asarray(colours, dtype=np.ubyte), 2, axis=0))


def map_name(choice: str) -> str:
    """The quantity a map shows, from its name in the map list: "total counts (click a pixel)"
    gives "total counts", "PCA 2, 33.7 % of the variance" gives "PCA 2"."""
    return choice.split(" (")[0].split(", ")[0]


def _calibrated(axis: dict) -> bool:
    """Whether a navigation axis has a length per pixel: a positive scale in a unit of length."""
    scale = axis.get("scale")
    return scale is not None and float(scale) > 0 and str(axis.get("units") or "").strip().lower() not in NO_UNITS


def map_axes(navigation: list[dict]) -> list[tuple[float, str]] | None:
    """(size, units) of a pixel across the map, then down it (a line scan: along it only), from the
    file's navigation axes (the last one runs across); None when the file gives no length."""
    axes = navigation[-2:][::-1]
    if not axes or not all(_calibrated(a) for a in axes):
        return None
    return [_in_nm(float(a["scale"]), str(a["units"]).strip()) for a in axes]


#: Micrometre spellings of microscope files (Gatan writes "µm", others "um" or the micro sign).
_MICROMETRE = ("µm", "μm", "um")


def _in_nm(size: float, unit: str) -> tuple[float, str]:
    """A pixel under a micrometre in nm: an EELS map's 0.001992 µm reads 1.992 nm."""
    return (size * 1000.0, "nm") if unit in _MICROMETRE and abs(size) < 1.0 else (size, unit)


def pixel_size_text(axes: list[tuple[float, str]] | None) -> str:
    """The pixel size of :func:`map_axes` in words: across × down, the step of a line scan, or
    that the file gives none."""
    if not axes:
        return "Pixel size: not given by the file (the map is in pixels)."
    if len(axes) == 1:
        return f"Step {axes[0][0]:.4g} {axes[0][1]} along the scan."
    (dx, ux), (dy, uy) = axes
    return f"Pixel {dx:.4g} × {dy:.4g} {ux}." if ux == uy else f"Pixel {dx:.4g} {ux} × {dy:.4g} {uy}."


def nice_length(longest: float) -> float:
    """The longest of 1, 2, 5 × 10^n not above ``longest``: a scale bar's round length."""
    decade = 10.0 ** np.floor(np.log10(longest))
    return max(m * decade for m in (1.0, 2.0, 5.0) if m * decade <= longest * (1 + 1e-9))


class MeasuredPanel(QWidget):
    open_requested = Signal()
    edge_chosen = Signal(int)                   # the row of the Edge list: set the windows around it
    step_requested = Signal(str, dict)          # step name, its parameters
    preview_requested = Signal(tuple)           # pre-edge window: fit shown, nothing changed
    undo_requested = Signal()
    low_loss_requested = Signal()
    zero_loss_requested = Signal()
    align_requested = Signal(tuple, bool)       # window, fit the energy scale too
    add_models_requested = Signal()
    add_classes_requested = Signal(str)         # site-class scheme
    remove_component_requested = Signal(int)
    fit_requested = Signal(tuple, object, int)  # window, background kind, bootstrap resamples
    decompose_requested = Signal(str, int)      # method, components
    map_requested = Signal(int)                 # which component's map
    save_spectrum_requested = Signal()
    save_plot_requested = Signal()
    save_report_requested = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self.file_label = QLabel("No measured spectrum: open a DM3/DM4, EMSA/MSA, .hspy or text file.")
        self.file_label.setWordWrap(True)
        self.meta_label = QLabel()
        self.meta_label.setWordWrap(True)
        self.meta_label.setTextInteractionFlags(Qt.TextSelectableByMouse)
        open_button = _button("Open measured…", "Read a measured spectrum, line scan or spectrum image")
        open_button.clicked.connect(self.open_requested)
        self.status = QLabel()
        self.status.setWordWrap(True)
        self.status.setStyleSheet("color: #555")
        self.tabs = QTabWidget()
        self.tabs.addTab(self._prepare_tab(), "Prepare")
        self.tabs.addTab(self._compare_tab(), "Compare")
        self.tabs.addTab(self._explain_tab(), "Explain")
        self.tabs.addTab(self._image_tab(), "Image")
        layout = QVBoxLayout(self)
        top = QHBoxLayout()
        top.addWidget(self.file_label, 1)
        top.addWidget(open_button)
        layout.addLayout(top)
        layout.addWidget(self.meta_label)
        self.edge_combo = QComboBox()
        self.edge_combo.setToolTip("The edge the energy windows (background, edge step, compare, fit) are set "
                                   "around, and whose spectrum model predicts; the file's other edges")
        self.edge_combo.activated.connect(self.edge_chosen)
        self.edge_label = QLabel("Windows around")
        layout.addLayout(_row(self.edge_label, self.edge_combo))
        layout.addWidget(self.tabs, 1)
        layout.addWidget(self.status)
        self.set_loaded(False)
        self.show_edges([])

    # -- construction -----------------------------------------------------------------------
    def _prepare_tab(self) -> QWidget:
        page, layout = _page()
        self.steps = QListWidget()
        self.steps.setMinimumHeight(70)
        self.steps.setMaximumHeight(110)
        self.steps.setWordWrap(True)  # a step in words is longer than the dock is wide
        self.steps.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        self.undo_button = _button("Undo last step", "Replay every step but the last on the spectrum as read")
        self.undo_button.clicked.connect(self.undo_requested)
        layout.addWidget(QLabel("Steps (each recorded with its parameters):"))
        layout.addWidget(self.steps)
        layout.addWidget(self.undo_button)

        box = QGroupBox("Power-law background A·E^−r")
        grid = QVBoxLayout(box)
        self.bg_window = _energy_pair(0.0, 1.0)
        grid.addLayout(_window_rows(("Pre-edge", self.bg_window)))
        hint = QLabel("Drag the shaded window on the plot; the fit and the residual follow.")
        hint.setWordWrap(True)
        hint.setStyleSheet("color: #666")
        grid.addWidget(hint)
        subtract = _button("Subtract background")
        subtract.clicked.connect(lambda: self.step_requested.emit("powerlaw_background", self.background_params()))
        grid.addWidget(subtract)
        layout.addWidget(box)

        box = QGroupBox("Edge-step normalisation")
        grid = QVBoxLayout(box)
        self.pre_window, self.post_window = _energy_pair(0.0, 1.0), _energy_pair(2.0, 3.0)
        grid.addLayout(_window_rows(("Pre line", self.pre_window), ("Post line", self.post_window)))
        normalise = _button("Normalise", "(I − pre line) / edge step at E0, E0 where the derivative (smoothed over 2 eV) is largest")
        normalise.clicked.connect(lambda: self.step_requested.emit("edge_step_normalise", {
            "pre": self.window_of(self.pre_window), "post": self.window_of(self.post_window)}))
        grid.addWidget(normalise)
        layout.addWidget(box)

        box = QGroupBox("Energy calibration, smoothing, deconvolution")
        grid = QGridLayout(box)
        self.shift = double_spin(-1e4, 1e4, 0.0, " eV", 3)
        self.scale = double_spin(0.5, 2.0, 1.0, "", 5)
        calibrate = _button("Calibrate", "E' = scale·E + shift")
        calibrate.clicked.connect(lambda: self.step_requested.emit(
            "calibrate", {"shift": self.shift.value(), "scale": self.scale.value()}))
        # each step's fields on a row, its button (full width, as in the boxes above) below them
        grid.addWidget(QLabel("Shift"), 0, 0)
        grid.addWidget(self.shift, 0, 1)
        grid.addWidget(QLabel("Scale"), 0, 2)
        grid.addWidget(self.scale, 0, 3)
        grid.addWidget(calibrate, 1, 0, 1, 4)
        self.smooth_method = QComboBox()
        self.smooth_method.addItem("Savitzky–Golay", "savgol")
        self.smooth_method.addItem("Gaussian", "gaussian")
        self.smooth_width = double_spin(0.01, 1000.0, 1.0, " eV")
        smooth = _button("Smooth")
        smooth.clicked.connect(lambda: self.step_requested.emit(
            "smooth", {"method": self.smooth_method.currentData(), "window_ev": self.smooth_width.value()}))
        grid.addWidget(QLabel("Smooth"), 2, 0)
        grid.addWidget(self.smooth_method, 2, 1)
        grid.addWidget(self.smooth_width, 2, 2, 1, 2)
        grid.addWidget(smooth, 3, 0, 1, 4)
        self.low_loss_label = QLabel("no low-loss spectrum")
        low = _button("Low loss…", "Open the low-loss spectrum of the same area (zero-loss peak)")
        low.clicked.connect(self.low_loss_requested)
        zlp = _button("Zero-loss shift", "Calibrate so that the low loss's zero-loss peak is at 0 eV")
        zlp.clicked.connect(self.zero_loss_requested)
        fourier = _button("Fourier-ratio", "Remove plural scattering with the low-loss spectrum")
        fourier.clicked.connect(lambda: self.step_requested.emit("fourier_ratio", {}))
        self.low_loss_label.setWordWrap(True)
        grid.addWidget(low, 4, 0, 1, 2)
        grid.addWidget(self.low_loss_label, 4, 2, 1, 2)
        grid.addWidget(zlp, 5, 0, 1, 2)
        grid.addWidget(fourier, 5, 2, 1, 2)
        layout.addWidget(box)

        save_spectrum, save_plot = _button("Save spectrum…", "CSV, text columns or EMSA/MSA"), _button("Save plot…")
        save_spectrum.clicked.connect(self.save_spectrum_requested)
        save_plot.clicked.connect(self.save_plot_requested)
        layout.addLayout(_row(save_spectrum, save_plot))
        layout.addStretch(1)
        return page

    def _compare_tab(self) -> QWidget:
        page, layout = _page("Measured against the predicted average of the shown model.")
        self.gaussian_fwhm = double_spin(0.0, 50.0, 0.0, " eV", 2)
        self.lorentzian_fwhm = double_spin(0.0, 50.0, 0.0, " eV", 2)
        self.gaussian_fwhm.setToolTip("Instrument resolution (Gaussian FWHM) added to every predicted spectrum")
        self.lorentzian_fwhm.setToolTip("Core-hole lifetime (Lorentzian FWHM) added to every predicted spectrum")
        layout.addWidget(QLabel("Broaden predictions:"))
        layout.addLayout(_row("Gaussian", self.gaussian_fwhm, "Lorentzian", self.lorentzian_fwhm))
        self.onset = double_spin(0.0, 1e5, 0.0, " eV", 2)
        self.onset.setToolTip("Where the edge starts on the measured axis. Predictions are relative to "
                              "the edge (about −5…25 eV): one is put here before Align refines the shift. "
                              "Filled from the EELS Atlas for the prediction's element and edge; edit it freely.")
        self.onset_source = QLabel("")
        self.onset_source.setStyleSheet("color: #666")
        self.onset_source.setWordWrap(True)
        self.place_at_onset = QCheckBox("Place the prediction at the edge onset")
        self.place_at_onset.setChecked(True)
        self.place_at_onset.setToolTip("Only a prediction on an edge-relative scale (its energies start "
                                       "below half the onset) is moved")
        layout.addWidget(self.place_at_onset)  # its onset below it: one row would widen the dock
        onset_row = _row(self.onset, self.onset_source)
        onset_row.setStretch(1, 1)
        style = self.place_at_onset.style()  # under the check box's text
        onset_row.setContentsMargins(style.pixelMetric(style.PixelMetric.PM_IndicatorWidth)
                                     + style.pixelMetric(style.PixelMetric.PM_CheckBoxLabelSpacing), 0, 0, 0)
        layout.addLayout(onset_row)
        self.compare_window = _energy_pair(0.0, 1.0)
        layout.addLayout(_window_rows(("Window", self.compare_window)))
        self.fit_scale = QCheckBox("Fit the energy scale too (about the window centre)")
        self.fit_scale.setChecked(True)
        layout.addWidget(self.fit_scale)
        align = _button("Align prediction", "Energy shift (and scale) and intensity that best match the measured")
        align.clicked.connect(lambda: self.align_requested.emit(self.window_of(self.compare_window),
                                                                self.fit_scale.isChecked()))
        layout.addWidget(align)
        self.similarity = _table(["", "Pearson r", "cosine", "R-factor"])
        layout.addWidget(self.similarity)
        self.alignment = QLabel()
        self.alignment.setWordWrap(True)
        layout.addWidget(self.alignment)
        layout.addStretch(1)
        return page

    def _explain_tab(self) -> QWidget:
        page, layout = _page("Measured = Σ fraction·component + background (fractions ≥ 0)")
        self.components = QListWidget()
        self.components.setMinimumHeight(70)
        self.components.setMaximumHeight(120)
        layout.addWidget(self.components)
        add_models = _button("Add models…", "Structure files: each model's predicted average is one component")
        add_models.clicked.connect(self.add_models_requested)
        self.scheme = QComboBox()
        self.add_classes = _button("Add site classes", "Predicted average of each class of sites of the shown model")
        self.add_classes.clicked.connect(lambda: self.add_classes_requested.emit(self.scheme.currentData() or ""))
        remove = _button("Remove")
        remove.clicked.connect(lambda: self.remove_component_requested.emit(self.components.currentRow()))
        layout.addLayout(_row(add_models, remove))
        layout.addLayout(_row(self.scheme, self.add_classes))
        self.fit_window = _energy_pair(0.0, 1.0)
        layout.addLayout(_window_rows(("Window", self.fit_window)))
        self.background_kind = QComboBox()
        for data, text in BACKGROUNDS:
            self.background_kind.addItem(text, data)
        self.background_kind.setToolTip("Added to the components: 'linear ≥ 0' is a straight line that is "
                                        "nowhere negative in the window (a total intensity below zero is not "
                                        "physical); 'linear (signed)' may dip below zero")
        self.n_bootstrap = int_spin(0, 10000, 200)
        self.n_bootstrap.setToolTip("Refits of the fit plus resampled residuals, for the ± (0: none)")
        layout.addLayout(_row("Background", self.background_kind, "Bootstrap", self.n_bootstrap))
        fit = _button("Fit")
        fit.clicked.connect(lambda: self.fit_requested.emit(self.window_of(self.fit_window),
                                                            self.background_kind.currentData(),
                                                            self.n_bootstrap.value()))
        report = _button("Save fit report…", "CSV: fit quality, fractions ± std, measured/fit/residual curves")
        report.clicked.connect(self.save_report_requested)
        layout.addLayout(_row(fit, report))
        self.fractions = _table(["component", "fraction", "±", "model's own"])
        layout.addWidget(self.fractions)
        self.fit_quality = QLabel()
        self.fit_quality.setWordWrap(True)
        layout.addWidget(self.fit_quality)
        self.notes = QLabel()
        self.notes.setWordWrap(True)
        self.notes.setStyleSheet("color: #8a5300")
        self.notes.setToolTip("Classes the fit could not use as they are: absent from the model, too few "
                              "sites, or spectra the measured one cannot tell apart")
        layout.addWidget(self.notes)
        layout.addStretch(1)
        return page

    def _image_tab(self) -> QWidget:
        page, layout = _page()
        self.image_hint = QLabel("A line scan or spectrum image decomposes here; click a pixel for its spectrum.")
        self.image_hint.setWordWrap(True)
        layout.addWidget(self.image_hint)
        self.method = QComboBox()
        for data, text in (("pca", "PCA"), ("nmf", "NMF"), ("kmeans", "k-means")):
            self.method.addItem(text, data)
        self.n_components = int_spin(1, 50, 3)
        self.decompose_button = _button("Decompose")
        self.decompose_button.clicked.connect(lambda: self.decompose_requested.emit(
            self.method.currentData(), self.n_components.value()))
        layout.addLayout(_row(self.method, "components", self.n_components, self.decompose_button))
        self.map_choice = QComboBox()
        self.map_choice.currentIndexChanged.connect(lambda k: k >= 0 and self.map_requested.emit(k))
        layout.addWidget(self.map_choice)
        self.image_view = pg.GraphicsLayoutWidget()
        self.image_view.setMinimumHeight(160)
        # the view's own size hint (640×480) would make the panel taller than the dock and hide the status line
        self.image_view.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Ignored)
        self.image_box = self.image_view.addViewBox(lockAspect=True)
        self.image_box.invertY(True)
        self.image_item = pg.ImageItem(axisOrder="row-major")
        self.image_box.addItem(self.image_item)
        self.pixel_marker = pg.ScatterPlotItem(size=10, pen=pg.mkPen("r", width=2), brush=None, symbol="s")
        self.image_box.addItem(self.pixel_marker)
        self.color_bar = pg.ColorBarItem(width=16, interactive=False, colorMapMenu=False)
        self.color_bar.axis.setWidth(None)  # as wide as its labels: the bar's 45 px dropped "100000"
        self.color_bar.setImageItem(self.image_item)  # the bar sets the map's colours and levels
        self.image_view.addItem(self.color_bar)  # right of the map
        self.color_bar.hide()
        self.scale_bar: pg.ScaleBar | None = None
        layout.addWidget(self.image_view, 1)
        self.pixel_note = QLabel()
        self.pixel_note.setStyleSheet("color: #555")
        self.pixel_note.setWordWrap(True)
        layout.addWidget(self.pixel_note)
        self.components_table = _table(["component", "Pearson r", "cosine", "R-factor"])
        self.components_table.setToolTip("Each component's (cluster's) spectrum against the predicted average")
        layout.addWidget(self.components_table)
        return page

    # -- reading the controls ---------------------------------------------------------------
    @staticmethod
    def window_of(pair) -> tuple[float, float]:
        return float(pair[0].value()), float(pair[1].value())

    def background_params(self) -> dict:
        """The power-law subtraction as the button asks for it: the pre-edge window, and the
        channels below it zeroed (the extrapolated power law means nothing there)."""
        return {"window": self.window_of(self.bg_window), "zero_fill": True}

    @staticmethod
    def set_window(pair, lo: float, hi: float) -> None:
        for box, value in zip(pair, (lo, hi)):
            box.blockSignals(True)
            box.setValue(value)
            box.blockSignals(False)

    def show_onset(self, onset: float, source: str) -> None:
        """The tabulated onset of the prediction's edge (0 and a hint when there is none)."""
        self.onset.blockSignals(True)
        self.onset.setValue(onset)
        self.onset.blockSignals(False)
        self.onset_source.setText(source)

    def broadening(self) -> tuple[float, float]:
        """(Gaussian, Lorentzian) FWHM in eV the user adds to predicted spectra."""
        return float(self.gaussian_fwhm.value()), float(self.lorentzian_fwhm.value())

    # -- showing ----------------------------------------------------------------------------
    def set_loaded(self, loaded: bool, image: bool = False) -> None:
        for k in range(3):
            self.tabs.widget(k).setEnabled(loaded)
        self.tabs.widget(3).setEnabled(image)

    def show_data(self, title: str, kind: str, shape, meta: dict) -> None:
        pixels = f" of {'×'.join(map(str, shape))} pixels" if shape else ""
        self.file_label.setText(f"<b>{title}</b>: {kind}{pixels}")
        rows = "".join(f"<tr><td>{k}</td><td>&nbsp;{v:g}</td></tr>" if isinstance(v, float)
                       else f"<tr><td>{k}</td><td>&nbsp;{v}</td></tr>" for k, v in meta.items())
        self.meta_label.setText(f"<table>{rows}</table>")
        self.image_hint.setText(
            "Decompose the pixels' spectra; click a pixel for its spectrum." if shape else
            "This file holds one spectrum: open a line scan or spectrum image to decompose it.")
        self.color_bar.hide()  # the last file's, until a map of this one is shown
        self._drop_scale_bar()
        self.pixel_note.clear()

    def show_edges(self, names: list[str]) -> None:
        """The edges the windows can be set around, the first chosen; hidden without any."""
        self.edge_combo.clear()
        self.edge_combo.addItems(names)
        self.edge_combo.setEnabled(len(names) > 1)
        for w in (self.edge_combo, self.edge_label):
            w.setVisible(bool(names))

    def show_steps(self, descriptions: list[str]) -> None:
        self.steps.clear()
        self.steps.addItems([f"{k}. {d}" for k, d in enumerate(descriptions or [], 1)])  # wrapped: numbered apart
        self.undo_button.setEnabled(bool(descriptions))

    def show_notes(self, notes: list[str]) -> None:
        """Notes on the components (classes merged, absent or undetermined; sites unlike the
        model's training sites), one per line."""
        self.notes.setText("<br>".join(f"• {html.escape(n)}" for n in notes))
        self.notes.setVisible(bool(notes))

    def show_components(self, names: list[str]) -> None:
        self.components.clear()
        for name in names:
            self.components.addItem(QListWidgetItem(name))

    def set_schemes(self, schemes: dict | None) -> None:
        """Site-class schemes offered (None: the site-class engine is not available)."""
        self.scheme.clear()
        for key, text in (schemes or {}).items():
            self.scheme.addItem(key, key)
            self.scheme.setItemData(self.scheme.count() - 1, text, Qt.ToolTipRole)
        self.scheme.setEnabled(bool(schemes))
        self.add_classes.setEnabled(bool(schemes))
        if not schemes:
            self.add_classes.setToolTip("Site classes need amorpha.engine.spectra.site_classes")

    def show_similarity(self, rows: list[tuple[str, dict]]) -> None:
        fill_table(self.similarity, [[name, f"{s['pearson']:.4f}", f"{s['cosine']:.4f}", f"{s['r_factor']:.4f}"]
                                     for name, s in rows])

    def show_fit(self, fit, own: dict | None = None, window=None) -> None:
        """The fitted fractions (with the model's ``own`` ones) and the fit's quality; ``window``:
        the one asked for, named when the fit had less."""
        std = fit.fraction_std if fit.fraction_std is not None else np.full(len(fit.labels), np.nan)
        own = own or {}
        fill_table(self.fractions, [[lab, f"{f:.3f}", "" if np.isnan(s) else f"{s:.3f}",
                                     f"{own[lab]:.3f}" if lab in own else ""]
                                    for lab, f, s in zip(fit.labels, fit.fractions, std)])
        # the residual's RMS, in the spectrum's units: a χ² needs the noise per point, which the
        # window does not know once a background is subtracted (it showed "reduced χ² 5.4e+04")
        rms = float(np.sqrt(fit.rss / fit.dof)) if fit.dof > 0 else float("nan")
        self.fit_quality.setText(f"R² {fit.r2:.4f}, R-factor {fit.r_factor:.4f}, RMS residual {rms:.3g} "
                                 f"{span_text(fit.window, window)} ({len(fit.energy)} points)")

    def clear_results(self) -> None:
        """Empty the Compare and Explain tabs' results (the alignment, the similarity and fraction
        tables, the fit's quality); the components stay."""
        fill_table(self.similarity, [])
        fill_table(self.fractions, [])
        self.alignment.clear()
        self.fit_quality.clear()

    def show_decomposition(self, names: list[str]) -> None:
        self.map_choice.blockSignals(True)
        self.map_choice.clear()
        self.map_choice.addItems(names)
        self.map_choice.blockSignals(False)

    def show_map(self, image: np.ndarray, categorical: bool) -> None:
        """A map with its colour bar, named after the map chosen: the values' range on viridis, or
        for class labels (k-means clusters 0…k−1) one numbered block per class."""
        image = np.atleast_2d(np.asarray(image, dtype=float))
        if categorical:
            n = int(np.nanmax(image)) + 1
            self._set_color_bar(class_colormap(n), (-0.5, n - 0.5), [(k, str(k + 1)) for k in range(n)])
        else:
            lo, hi = value_range(image)
            self._set_color_bar(pg.colormap.get("viridis"), (lo - 0.5, hi + 0.5) if is_flat(lo, hi) else (lo, hi))
        self.image_item.setImage(image, autoLevels=False)
        self.image_box.autoRange()

    def _set_color_bar(self, cmap: pg.ColorMap, levels: tuple[float, float], ticks=None) -> None:
        """Colours and levels of the map (through its bar), ``ticks`` [(value, text)] or the values'."""
        self.color_bar.setColorMap(cmap)
        self.color_bar.setLevels(levels)
        self.color_bar.axis.setTicks(None if ticks is None else [ticks])
        self.color_bar.getAxis("left").setLabel(map_name(self.map_choice.currentText()))
        self.color_bar.show()

    def show_pixel_size(self, navigation: list[dict]) -> None:
        """The file's pixel size under the map, and a scale bar on it. ``navigation``: the file's
        navigation axes as :class:`~amorpha.engine.spectra.microscope.SpectrumData` holds them
        (name, size, scale, units; the last one runs across the map)."""
        self._drop_scale_bar()
        axes = map_axes(navigation)
        self.pixel_note.setText(pixel_size_text(axes))
        if axes and navigation[-1].get("size"):
            self._add_scale_bar(*axes[0], int(navigation[-1]["size"]))

    def _add_scale_bar(self, pixel: float, units: str, columns: int) -> None:
        """A round length, at most 30 % of the map's width, in the view's corner (its length follows
        the zoom); white edged in black, its text on white, so it reads on the map and beside it."""
        length = nice_length(0.3 * columns * pixel)
        self.scale_bar = pg.ScaleBar(length / pixel, width=4, brush="w", pen="k", offset=(-12, -12))
        self.scale_bar.text.setHtml(f'<span style="color: #000; background-color: rgba(255, 255, 255, 200)">'
                                    f'&nbsp;{length:g} {html.escape(units)}&nbsp;</span>')
        self.scale_bar.setParentItem(self.image_box)

    def _drop_scale_bar(self) -> None:
        if self.scale_bar is not None:
            self.image_box.sigRangeChanged.disconnect(self.scale_bar.updateBar)
            self.image_view.scene().removeItem(self.scale_bar)
            self.scale_bar = None

    def mark_pixel(self, row: int, col: int) -> None:
        self.pixel_marker.setData([col + 0.5], [row + 0.5])

"""The Predict panel: which surrogate model is in use, what it was trained on and how well it does,
and the buttons that predict, ask the reference calculator, train, load and save.

The panel only shows and asks; :mod:`amorpha.gui.prediction` does the work in the background.
When several models are loaded (the built-in Si K and O K), the "Edge" list chooses the one in use
among those whose element the shown structure has.
"""
from __future__ import annotations

import html
import math
import os
from datetime import datetime

import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFont, QFontMetrics, QTextLayout
from PySide6.QtWidgets import (QCheckBox, QComboBox, QGridLayout, QGroupBox, QHBoxLayout, QLabel, QPushButton,
                               QSizePolicy, QVBoxLayout, QWidget)

from amorpha.engine.spectra.features import FEATURES
from amorpha.engine.spectra.spectrum import scale_name
from amorpha.engine.surrogate.pipeline import CURVE_OF_HELD_OUT, CURVE_OF_NEXT
from amorpha.engine.surrogate.xtb import ENERGY_REFERENCES, cluster_radii
from amorpha.gui.panels.widgets import empty_plot_note

#: Learning-curve colours: the active strategy, random, anything else.
CURVE_COLORS = ["#d62728", "#1f77b4", "#2ca02c"]


def _cluster_text(settings: dict) -> str:
    """" on 5 Å clusters", " averaged over 4.8, 5 and 5.2 Å clusters" for a cluster calculator's
    stored settings (the cap closure said), " on the periodic cell (at least 8 Å across)" for
    xTB's periodic geometry; "" for others (no cluster radius stored)."""
    if settings.get("geometry") == "periodic":
        return f" on the periodic cell (at least {float(settings.get('cell_min_width', 8.0)):g} Å across)"
    text = [f"{r:g}" for r in cluster_radii(settings)]
    if not text:
        return ""
    capped = " (neighbours bonded twice capped, not completed)" if settings.get("closure") == "cap" else ""
    if len(text) == 1:
        return f" on {text[0]} Å clusters{capped}"
    return f" averaged over {', '.join(text[:-1])} and {text[-1]} Å clusters{capped}"


def descriptor_text(d: dict) -> str:
    """The descriptor settings in brief ("SOAP r_cut 4 Å, n_max 6, l_max 4, σ 0.3 Å"): a model's
    predictions hold only for structures described the same way."""
    if d.get("kind") == "grouped":
        return f"{descriptor_text(d.get('inner') or {})} per number of bonded {d.get('element') or 'neighbours'}"
    parts = [f"r_cut {d['r_cut']:g} Å"] if "r_cut" in d else []
    parts += [f"{k} {d[k]:g}" for k in ("n_max", "l_max") if k in d]
    parts += [f"σ {d['sigma']:g} Å"] if "sigma" in d else []
    return f"{str(d.get('kind', '?')).upper()} {', '.join(parts)}".strip()


def _when(stamp: str) -> str:
    """An ISO time stamp in local time to the minute ("trained: unknown" for files without one)."""
    if not stamp:
        return "trained: unknown"
    try:
        return "trained " + datetime.fromisoformat(stamp).astimezone().strftime("%Y-%m-%d %H:%M")
    except ValueError:
        return f"trained {stamp}"


def _built_in(path: str) -> bool:
    """Whether ``path`` is a model that ships in resources/models/ (``make models`` trains them)."""
    from amorpha.resources import path as resource

    return os.path.dirname(os.path.realpath(path)) == os.path.realpath(resource("models"))


def provenance(model, saved_to: str = "") -> tuple[str, str]:
    """(summary line, tooltip) of where ``model`` came from: a model trained in this window and one
    loaded from a file had the same summary. The file's full path goes in the tooltip; a model
    read from a project names the project (not the temporary copy it was read through), and
    ``saved_to``, the file Save model… last wrote it to, is said after its origin."""
    from amorpha.engine.project import PROJECT_EXTENSION

    brief = descriptor_text(model.descriptor or {})
    saved = f", saved to {os.path.basename(saved_to)}" if saved_to else ""
    saved_tip = f"Saved to {saved_to}" if saved_to else ""
    if not model.source_path:
        return f"{_when(model.trained_at)} in this window{saved} · {brief}", saved_tip
    version = f"Amorpha {model.written_by}" if model.written_by else "an unknown Amorpha version"
    when = _when(model.trained_at)
    if not model.trained_at and _built_in(model.source_path):  # shipped before times were stored
        when = "built in (make models)"
    project = "project " if model.source_path.endswith(PROJECT_EXTENSION) else ""
    line = f"from {project}{os.path.basename(model.source_path)}{saved} · {when} · {version} · {brief}"
    tip = f"Loaded from {project}{model.source_path}, written by {version}"
    return line, f"{tip}\n{saved_tip}" if saved_tip else tip


def r2_text(r2: float) -> str:
    """A between-site R² for the panel: 0/0 when the sites' spectra are all the same; below 0
    explained (R² -0.22 beside cosine 0.99 read as a contradiction)."""
    if not math.isfinite(r2):
        return "undefined (the sites' spectra do not differ from each other)"
    below = (" (below 0: these sites differ less from each other than from the predictions; "
             "the cosine tells how well the shapes agree)") if r2 < 0 else ""
    return f"{r2:.3f}{below}"


#: the learning curve's y axis and tooltip by what its points measure
CURVE_AXES = {CURVE_OF_NEXT: "RMSE (next sites, before learnt)"}
CURVE_TIPS = {
    CURVE_OF_NEXT:
        "Each point: the error of the model that chooses the sites on the sites of the newest round, "
        "measured before it learnt them (the sites it found hardest, so pessimistic and noisy); the saved "
        "model is scored by cross-validation in the summary above.",
    CURVE_OF_HELD_OUT: "Each point: the error on sites kept out of training, after each round."}


#: the most lines the status shows (the rest elided, the whole message in its tooltip)
STATUS_LINES = 2


def elided_lines(text: str, font: QFont, width: int, lines: int) -> str:
    """``text`` wrapped at ``width`` pixels into at most ``lines`` lines, the last one elided
    when the rest does not fit; on one line while there is no width yet."""
    text = " ".join(text.split())
    if width <= 0:
        return text
    layout = QTextLayout(text, font)
    layout.beginLayout()
    shown = []
    while len(shown) < lines and (line := layout.createLine()).isValid():
        line.setLineWidth(width)
        end = line.textStart() + line.textLength() if len(shown) < lines - 1 else len(text)
        shown.append(text[line.textStart():end].strip())
    layout.endLayout()
    metrics = QFontMetrics(font)
    return "\n".join(metrics.elidedText(part, Qt.ElideRight, width) for part in shown)


class StatusLine(QLabel):
    """A status of at most ``lines`` lines at the panel's width, the whole message in its
    tooltip when cut: wrapped whole, a long message (a training's skipped sites) grew the panel
    past its dock at 1500×950 and pushed the learning curve's axis out of view. :meth:`text` is
    the whole message."""

    def __init__(self, lines: int = STATUS_LINES):
        super().__init__()
        self.lines = lines
        self._message = ""
        self.setTextFormat(Qt.PlainText)
        self.setSizePolicy(QSizePolicy.Ignored, QSizePolicy.Preferred)  # nor does it widen the panel

    def setText(self, text: str) -> None:
        self._message = text
        self._fit()

    def text(self) -> str:
        return self._message

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._fit()

    def _fit(self) -> None:
        shown = elided_lines(self._message, self.font(), self.contentsRect().width(), self.lines)
        super().setText(shown)
        self.setToolTip(self._message if shown.split() != self._message.split() else "")


class PredictionPanel(QWidget):
    predict_requested = Signal()
    reference_requested = Signal()
    train_requested = Signal()
    load_requested = Signal()
    save_requested = Signal()
    tie_requested = Signal()
    export_requested = Signal()
    import_requested = Signal()
    folder_requested = Signal()
    model_chosen = Signal(str)  # "Si K", "O K": the loaded model to use
    compare_requested = Signal()
    cross_validate_requested = Signal()
    trained_sites_requested = Signal()  # highlight the atoms the model in use learnt from
    curve_csv_requested = Signal()  # save the learning curves drawn as CSV
    curve_image_requested = Signal()  # save the learning-curve plot as PNG or SVG
    feature_chosen = Signal(str)  # a key of engine.spectra.features.FEATURES: colour the atoms by it

    def __init__(self, parent=None):
        super().__init__(parent)
        self.summary = QLabel("No spectrum model loaded.")
        self.summary.setWordWrap(True)
        self.status = StatusLine()
        self.status.setStyleSheet("color: #555")
        self.site_on_click = QCheckBox("Plot a clicked site's spectrum")
        self.site_on_click.setChecked(True)
        self.feature_combo = QComboBox()
        for f in FEATURES:
            self.feature_combo.addItem(f.title, f.key)
        self.feature_combo.setToolTip("Colour the absorbing atoms by a number read off each one's predicted "
                                      "spectrum, or by how far each lies from the sites the model learnt "
                                      "from (above 1: unlike them); dragging the dashed energy marker on "
                                      "the spectrum colours them by their intensity there")
        self.feature_combo.activated.connect(lambda i: self.feature_chosen.emit(self.feature_combo.itemData(i)))
        feature_row = QHBoxLayout()
        feature_row.addWidget(QLabel("Colour atoms by"))
        feature_row.addWidget(self.feature_combo, 1)
        self.edge_combo = QComboBox()
        self.edge_combo.setToolTip("The loaded models that fit the shown structure: the one used to predict")
        self.edge_combo.currentTextChanged.connect(lambda key: key and self.model_chosen.emit(key))
        edge_row = QHBoxLayout()
        edge_row.addWidget(QLabel("Edge"))
        edge_row.addWidget(self.edge_combo, 1)

        buttons = QGridLayout()
        self.predict_button = self._button("Predict", self.predict_requested,
                                           "Predict every absorbing site of the shown model and plot the average")
        self.reference_button = self._button("xTB of selected atom", self.reference_requested,
                                             "Run the reference calculator (xTB) on the selected atom")
        self.train_button = self._button("Train on this model…", self.train_requested,
                                         "Active learning: ask the calculator for the sites the model knows least")
        self.load_button = self._button("Load model…", self.load_requested, "Open a saved spectrum model")
        self.save_button = self._button("Save model…", self.save_requested, "Save the model in use")
        self.export_button = self._button("Export queries…", self.export_requested,
                                          "Write the sites active learning asks for, for an external code")
        self.import_button = self._button("Import results…", self.import_requested,
                                          "Read the spectra an external code computed for exported queries")
        self.tie_button = self._button("Tie to measured peak…", self.tie_requested,
                                       "Give the measured energy of the highest peak of the shown structure's "
                                       "predicted spectrum: the model's energy axis is tied to it, and the "
                                       "Measured panel places its predictions on a measured axis by it")
        self.folder_button = self._button("Train from folder…", self.folder_requested,
                                          "Train on computed site spectra with their structures "
                                          "(FEFF sites, XANESNET-style or name.xyz + name.txt pairs)")
        # two to a row (three would widen the dock), in pairs that belong together
        for k, b in enumerate([self.predict_button, self.reference_button, self.train_button,
                               self.folder_button, self.load_button, self.save_button,
                               self.export_button, self.import_button]):
            buttons.addWidget(b, k // 2, k % 2)
        self.sites_button = self._button("Show trained sites", self.trained_sites_requested,
                                         "Highlight in the viewer the atoms whose reference spectra the model "
                                         "in use was trained on (a model trained here, on the shown structure); "
                                         "a click on one draws its reference spectrum (dashed) beside its "
                                         "prediction")
        buttons.addWidget(self.tie_button, 4, 0)
        buttons.addWidget(self.sites_button, 4, 1)

        self.curve_plot = pg.PlotWidget()
        self.curve_plot.setMinimumHeight(170)
        # it takes the room left, not its preferred 428 px: that made the panel taller than the
        # dock at 1500×950, its axis below the scroll area's bottom
        self.curve_plot.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Ignored)
        self.curve_plot.setLabel("bottom", "calculator calls")
        self.curve_plot.setLabel("left", "RMSE (held-out sites)")
        self.curve_plot.setLimits(xMin=0, yMin=0)  # neither calls nor errors run below 0
        self.curve_plot.getAxis("left").enableAutoSIPrefix(False)  # 0.02, not "20 (x0.001)"
        self.curve_plot.showGrid(x=True, y=True, alpha=0.2)
        self.curve_plot.addLegend(offset=(-10, 10))
        self.compare_button = self._button("Compare with random…", self.compare_requested,
                                           "Active learning and random sampling on the same sites, "
                                           "error on held-out sites against calculator calls")
        self.cv_button = self._button("Cross-validate", self.cross_validate_requested,
                                      "5-fold cross-validation of the model in use on its own training spectra")
        self.cv_label = QLabel("")
        self.cv_label.setWordWrap(True)
        self.curve_csv_button = self._button("Export CSV…", self.curve_csv_requested,
                                             "The learning curves drawn: calculator calls and each curve's error")
        self.curve_image_button = self._button("Export plot…", self.curve_image_requested,
                                               "The learning-curve plot as PNG (twice its size on screen) or SVG")
        #: the curves drawn ({legend name: LearningCurve}, snapshots) and what their errors measure
        self.curves: dict = {}
        self.curves_measured = CURVE_OF_HELD_OUT
        curve_buttons = QGridLayout()  # two to a row, as above: four would widen the dock
        for k, b in enumerate([self.compare_button, self.cv_button, self.curve_csv_button, self.curve_image_button]):
            curve_buttons.addWidget(b, k // 2, k % 2)
        curve_box = QGroupBox("Learning curve")
        curve_layout = QVBoxLayout(curve_box)
        curve_layout.addWidget(self.curve_plot, 1)
        curve_layout.addLayout(curve_buttons)
        curve_layout.addWidget(self.cv_label)

        layout = QVBoxLayout(self)
        layout.addLayout(edge_row)
        layout.addWidget(self.summary)
        layout.addLayout(buttons)
        layout.addWidget(self.site_on_click)
        layout.addLayout(feature_row)
        layout.addWidget(self.status)
        layout.addWidget(curve_box, 1)
        self._described = object()  # the model the summary describes (none yet)
        self.set_model(None)

    def _button(self, text: str, signal, tip: str) -> QPushButton:
        button = QPushButton(text)
        button.setToolTip(tip)
        button.clicked.connect(signal)
        return button

    def set_model(self, model, imposed: dict | None = None, saved_to: str = "") -> None:
        """Describe ``model`` (a SpectrumModel) or say there is none; ``imposed``: the
        calculator settings the Preferences put in place of the model's own for new xTB runs;
        ``saved_to``: the file Save model… wrote it to (:func:`provenance`)."""
        has = model is not None
        for b in (self.predict_button, self.save_button, self.cv_button, self.tie_button, self.sites_button):
            b.setEnabled(has)
        if model is not self._described:  # described again (tied, saved): its cross-validation stays
            self.cv_label.setText("")
            self.curve_plot.setTitle(None)  # a comparison's title belongs to the model it was run for
        self._described = model
        if not has:
            self.summary.setText("No spectrum model loaded: Load model…, or Train on this model…")
            self.summary.setToolTip("")
            return
        m = model.metrics or {}
        quality = ""
        if "r2" in m:
            where = f"; {m['measured_on']}" if m.get("measured_on") else ""
            quality = (f"<br>held-out R² {r2_text(m['r2'])}, cosine {m['cosine_mean']:.3f}, "
                       f"peak error {m['peak_error_ev']:.2f} eV ({m.get('n', '?')} sites{where})")
        if m.get("descriptor_cv"):
            d = model.descriptor
            quality += (f"<br>SOAP cutoff {d.get('r_cut', 0):g} Å, σ {d.get('sigma', 0):g} Å: the best "
                        f"of {len(m['descriptor_cv'])} settings in cross-validation on the training sites")
        calculator = m.get("calculator") or {}
        reference = ENERGY_REFERENCES.get(calculator.get("energy_reference"))
        if reference:
            quality += f"<br>energies relative to the {reference}"
        elif model.axis:  # a code's own scale (CASTEP's Kohn-Sham energies)
            quality += f"<br>energies {scale_name(model.axis)}"
        if model.onset_at is not None:  # where a measured spectrum's edge lies on this axis
            quality += f"; tabulated onset at {model.onset_at['ev']:+.1f} eV on this axis ({model.onset_at['from']})"
        clusters = _cluster_text(calculator)
        if model.refitted:
            quality += f"<br>refitted from its training data when read: {model.refitted}"
        if imposed:
            quality += ("<br><span style='color:#a35200'>new xTB spectra (a selected atom, training) are "
                        f"computed{_cluster_text({**calculator, **imposed})}, as Preferences › Calculator › "
                        "Geometry says, not this model's geometry</span>")
        regressor = {"gp": "Gaussian process", "kernel_ridge": "kernel ridge", "ridge": "ridge",
                     "mlp": "MLP"}[model.params.regressor]
        if model.grouped:
            regressor += f" per number of bonded {model.descriptor.get('element') or 'neighbours'}"
        origin, tip = provenance(model, saved_to)
        self.summary.setText(
            f"<b>{model.element} {model.edge}</b> surrogate: {regressor} on {model.n_train} site spectra "
            f"from {model.reference or 'unknown reference'}{clusters}<br>{html.escape(origin)}{quality}"
        )
        self.summary.setToolTip(tip)

    def feature_key(self) -> str:
        """The spectral feature the atoms are coloured by ("intensity", "edge_energy"...)."""
        return self.feature_combo.currentData()

    def show_feature(self, key: str) -> None:
        self.feature_combo.setCurrentIndex(self.feature_combo.findData(key))

    def set_choices(self, keys: list[str], current: str) -> None:
        """The models offered in the Edge list ("Si K", ...), ``current`` selected; hidden when
        there is nothing to choose."""
        self.edge_combo.blockSignals(True)
        self.edge_combo.clear()
        self.edge_combo.addItems(keys)
        self.edge_combo.setCurrentText(current)
        self.edge_combo.blockSignals(False)
        self.edge_combo.setEnabled(len(keys) > 1)

    def set_training(self, running: bool) -> None:
        """While a training action runs the others wait (two at once raced for the model)."""
        for b in (self.train_button, self.folder_button, self.compare_button, self.export_button,
                  self.import_button):
            b.setEnabled(not running)

    def show_curves(self, curves: dict, measured: str | None = None) -> None:
        """Plot learning curves {name: LearningCurve} of errors on ``measured`` (default
        held-out sites; a training on the shown structure measures each round's sites before
        learning them), said on the axis and in its tooltip; an empty dict clears the plot and
        says why it is empty (a model trained on a folder's spectra has no calculator calls)."""
        measured = measured or CURVE_OF_HELD_OUT
        self.curve_plot.setLabel("left", CURVE_AXES.get(measured, f"RMSE ({measured})"))
        self.curve_plot.setToolTip(CURVE_TIPS.get(measured, ""))
        self.curve_plot.clear()
        # snapshots: a running learner's own curve grows after this drawing
        self.curves = {name: curve.copy() for name, curve in curves.items() if curve.calls}
        self.curves_measured = measured
        if not curves:
            empty_plot_note(self.curve_plot, "No learning curve stored with this model.<br>Train on this "
                                             "model… or Compare with random… draws one.")
            return
        self.curve_plot.enableAutoRange()
        for k, (name, curve) in enumerate(curves.items()):
            if curve.calls:
                color = CURVE_COLORS[k % len(CURVE_COLORS)]
                self.curve_plot.plot(curve.calls, curve.rmse, pen=pg.mkPen(color, width=2), symbol="o",
                                     symbolSize=5, symbolBrush=color, name=name)
        # one point (an external loop's second import, a short training) or a flat curve:
        # autorange would centre it in ±0.5
        errors = [e for curve in curves.values() for e in curve.rmse]
        calls = {c for curve in curves.values() for c in curve.calls}
        if errors and max(errors) == min(errors):
            self.curve_plot.setYRange(0, 2 * errors[0] or 1, padding=0)
        if len(calls) == 1:
            self.curve_plot.setXRange(0, 2 * calls.pop(), padding=0)

    def write_curves_csv(self, path) -> None:
        """The curves drawn as CSV (:func:`~amorpha.engine.surrogate.active.write_learning_curves`),
        with what their points measure and the plot's title (a comparison's source) said."""
        from amorpha.engine.surrogate.active import write_learning_curves

        label = self.curve_plot.getPlotItem().titleLabel
        title = label.text if label.isVisible() else ""  # setTitle(None) hides it, keeping its text
        notes = [CURVE_TIPS.get(self.curves_measured, "")] + ([f"plot: {title}"] if title else [])
        write_learning_curves(path, self.curves, self.curves_measured, [n for n in notes if n])

    def write_curves_image(self, path) -> str:
        """The learning-curve plot as PNG or SVG by the path's ending
        (:func:`~amorpha.gui.plot_export.save_plot_image`); returns the path written."""
        from amorpha.gui.plot_export import save_plot_image

        return save_plot_image(self.curve_plot, os.fspath(path), "Amorpha learning curve")

"""Spectra as descriptors: learn a quantity from spectra and show how well it is predicted.

The data are a spectrum table (CSV, see :mod:`amorpha.engine.spectra.spectral_regression`) or the
built-in task (predicted Si K spectra of many small a-SiOx models with their structural
quantities). Cross-validated parity plots put Model A (spectrum only) beside Model B (spectrum +
composition) with their R², and Model B's plot shows the composition-only baseline beside it.
Building the data and fitting run in the background (progress, cancel). A table no fit can use is
refused before it replaces the shown one; a failed fit of an accepted table says it is loaded.
"""
from __future__ import annotations

import os

import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QComboBox, QDialog, QFileDialog, QGroupBox, QHBoxLayout, QLabel, QMessageBox,
                               QProgressBar, QPushButton, QVBoxLayout, QWidget)

from amorpha.engine.errors import ParameterError, ReadError
from amorpha.engine.spectra.spectral_regression import (REGRESSORS, BuiltinParams, RegressionParams,
                                                        builtin_dataset, check_table, compare_models, read_table,
                                                        varying_targets, write_table)
from amorpha.engine.surrogate.model import ModelMismatchError
from amorpha.engine.words import counted
from amorpha.gui.panels.widgets import int_spin
from amorpha.gui.saving import save_as

TABLE_FILTER = "Spectrum tables (*.csv);;All files (*)"
DEFAULT_TARGET = "mean Si-O-Si angle (deg)"
COLOURS = ("#1f77b4", "#d62728")
BASELINE_COLOUR = "#999"
NOTHING_CHANGED = "Nothing was changed."


class ParityPlot(pg.PlotWidget):
    """Predicted against true values, the diagonal, and R² in the title; optionally a baseline's
    predictions as hollow grey points, so what the model adds over it shows at a glance."""

    def __init__(self, title: str, colour: str):
        super().__init__(background="w")
        self.base_title, self.colour = title, colour
        self.showGrid(x=True, y=True, alpha=0.2)
        self.setMinimumSize(320, 300)
        self.legend = self.addLegend(offset=(10, 10), labelTextColor="k", brush=pg.mkBrush(255, 255, 255, 200))
        self.reset()

    def reset(self, note: str = "") -> None:
        """Empty and labelled as before any fit, so nothing of a previous table's target lingers."""
        self.clear()
        self.result = None
        self.legend.setVisible(False)
        self.setLabel("bottom", "true")
        self.setLabel("left", "predicted (cross-validated)")
        self.setTitle(f"{self.base_title}: {note}" if note else self.base_title, color="#777" if note else "k")
        self.setRange(xRange=(0, 1), yRange=(0, 1), padding=0)  # not the last target's numbers

    def show_result(self, result, unit: str, baseline=None) -> None:
        if result is None:
            self.reset("needs composition columns")
            return
        self.clear()
        self.result = result
        shown = [result] + ([baseline] if baseline is not None else [])
        lo = float(min(min(r.true.min(), r.predicted.min()) for r in shown))
        hi = float(max(max(r.true.max(), r.predicted.max()) for r in shown))
        pad = 0.05 * (hi - lo or 1.0)
        self.plot([lo - pad, hi + pad], [lo - pad, hi + pad], pen=pg.mkPen("#888", width=1, style=Qt.DashLine))
        if baseline is not None:
            self.plot(baseline.true, baseline.predicted, pen=None, symbol="o", symbolSize=7, symbolBrush=None,
                      symbolPen=pg.mkPen(BASELINE_COLOUR, width=1.2),
                      name=f"composition only: R² {baseline.r2:.3f}")
        self.plot(result.true, result.predicted, pen=None, symbol="o", symbolSize=7,
                  symbolBrush=pg.mkBrush(self.colour), symbolPen=pg.mkPen("w"),
                  name=f"with the spectrum: R² {result.r2:.3f}")
        self.legend.setVisible(baseline is not None)
        self.setLabel("bottom", f"true {unit}")
        self.setLabel("left", f"predicted {unit}")
        self.setTitle(f"{self.base_title}: R² = {result.r2:.3f}, MAE {result.mae:.3g}", color="k")
        self.enableAutoRange()


class SpectralRegressionDialog(QDialog):
    """Load a table or run the built-in task; fit; compare Model A and Model B; export."""

    fitted = Signal()  # a comparison is on the plots
    table_changed = Signal()

    def __init__(self, runner, model_source=None, parent=None):
        super().__init__(parent)
        self.setWindowTitle("Spectra as descriptors")
        self.runner = runner
        self.model_source = model_source or (lambda: None)
        self.table = None
        self.table_source = ""
        self.comparison = None
        self.task = None
        self.last_error = ""

        intro = QLabel("Predict a quantity from spectra: Model A sees the spectrum only, Model B the spectrum "
                       "and the composition; grey points in Model B's plot are the composition alone, so the "
                       "gap is what the spectrum adds. Each point is predicted by a model that never saw it "
                       "(k-fold cross-validation).")
        intro.setWordWrap(True)

        self.load_button = QPushButton("Load table…")
        self.load_button.setToolTip("CSV, one row per sample: columns named by energy (eV) hold the spectrum, "
                                    "'composition:…' columns the composition, the other numeric columns targets")
        self.n_models = int_spin(5, 2000, BuiltinParams.n_models, " models")
        self.n_models.setToolTip("Under a second each. With 30 models each fold tests 6 and R² moves by "
                                 "tenths with the draw; 100 (Si–O–Si angle R² ~0.9) are steadier")
        self.n_si = int_spin(64, 1024, BuiltinParams.n_si, " Si each")
        self.builtin_button = QPushButton("Run built-in a-SiOx task")
        self.builtin_button.setToolTip("Build a-SiOx models (x 0.3–2, random bonding and mixture), predict "
                                       "their average Si K spectra with the surrogate in use, and use their "
                                       "Si coordination, oxidation fractions and Si–O–Si angle as targets")
        self.data_label = QLabel("No data yet.")
        self.data_label.setWordWrap(True)
        data_row = QHBoxLayout()
        for w in (self.load_button, QLabel("or"), self.n_models, self.n_si, self.builtin_button):
            data_row.addWidget(w)
        data_row.addStretch(1)
        data_box = QGroupBox("Data")
        data_layout = QVBoxLayout(data_box)
        data_layout.addLayout(data_row)
        data_layout.addWidget(self.data_label)

        self.target = QComboBox()
        self.target.setMinimumContentsLength(22)
        self.regressor = QComboBox()
        for key, text in REGRESSORS.items():
            self.regressor.addItem(text, key)
        self.n_pca = int_spin(0, 100, 0)
        self.n_pca.setSpecialValueText("none")
        self.n_pca.setToolTip("PCA components of the spectrum before the regressor (none: every energy point)")
        self.folds = int_spin(2, 20, 5, " folds")
        self.fit_button = QPushButton("Fit")
        fit_row = QHBoxLayout()
        for text, w in (("Target", self.target), ("Regressor", self.regressor), ("PCA", self.n_pca)):
            fit_row.addWidget(QLabel(text))
            fit_row.addWidget(w)
        fit_row.addWidget(self.folds)
        fit_row.addWidget(self.fit_button)
        fit_row.addStretch(1)

        self.caveat = QLabel("")
        self.caveat.setWordWrap(True)
        self.caveat.setStyleSheet("color: #a04000;")
        self.caveat.setVisible(False)
        self.plot_a = ParityPlot("Model A (spectrum only)", COLOURS[0])
        self.plot_b = ParityPlot("Model B (spectrum + composition)", COLOURS[1])
        self.plots = QWidget()
        plots_layout = QHBoxLayout(self.plots)
        plots_layout.setContentsMargins(0, 0, 0, 0)
        plots_layout.addWidget(self.plot_a)
        plots_layout.addWidget(self.plot_b)

        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.progress.setTextVisible(False)
        self.cancel_button = QPushButton("Cancel")
        self.status = QLabel("")
        self.status.setWordWrap(True)
        self.export_csv_button = QPushButton("Export parity CSV…")
        self.export_png_button = QPushButton("Export PNG…")
        self.save_table_button = QPushButton("Save table…")
        close = QPushButton("Close")
        bottom = QHBoxLayout()
        for w in (self.progress, self.cancel_button):
            bottom.addWidget(w)
        bottom.addStretch(1)
        for w in (self.save_table_button, self.export_csv_button, self.export_png_button, close):
            bottom.addWidget(w)

        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addWidget(data_box)
        layout.addLayout(fit_row)
        layout.addWidget(self.caveat)
        layout.addWidget(self.plots, 1)
        layout.addWidget(self.status)
        layout.addLayout(bottom)

        self.load_button.clicked.connect(self.load_dialog)
        self.builtin_button.clicked.connect(self.run_builtin)
        self.fit_button.clicked.connect(lambda: self.fit())  # not fit(checked): its argument is the outcome
        self.cancel_button.clicked.connect(self.cancel)
        self.export_csv_button.clicked.connect(self.export_csv_dialog)
        self.export_png_button.clicked.connect(self.export_png_dialog)
        self.save_table_button.clicked.connect(self.save_table_dialog)
        close.clicked.connect(self.close)
        runner.task_progress.connect(self._progress)
        self._set_busy(False)
        self.resize(1100, 720)

    # -- state ------------------------------------------------------------------------------
    @property
    def busy(self) -> bool:
        return self.task is not None and not self.task.finished

    def _set_busy(self, busy: bool, what: str = "") -> None:
        for w in (self.load_button, self.builtin_button, self.fit_button, self.n_models, self.n_si):
            w.setEnabled(not busy)
        self.fit_button.setEnabled(not busy and self.table is not None)
        self.cancel_button.setEnabled(busy)
        self.progress.setVisible(busy)
        self.cancel_button.setVisible(busy)
        self.save_table_button.setEnabled(not busy and self.table is not None)
        has_fit = self.comparison is not None
        self.export_csv_button.setEnabled(has_fit)
        self.export_png_button.setEnabled(has_fit)
        if busy:
            self.progress.setValue(0)
            self.status.setText(what)

    def _progress(self, handle, fraction: float, message: str) -> None:
        if handle is self.task:
            self.progress.setValue(int(1000 * fraction))
            if message:
                self.status.setText(message)

    def _submit(self, label: str, work, done, outcome: str = NOTHING_CHANGED) -> None:
        """Run ``work`` in the background; ``outcome`` is what a failure or cancel leaves shown."""
        def finished(result):
            self._set_busy(False)
            done(result)

        def failed(exc):
            self._set_busy(False)
            plain = isinstance(exc, (ParameterError, ReadError, ModelMismatchError))
            self.show_error(label, str(exc) if plain else f"{type(exc).__name__}: {exc}", outcome)

        def cancelled():
            self._set_busy(False)
            self.status.setText(f"{label}: cancelled. {outcome}")

        self._set_busy(True, f"{label}…")
        self.task = self.runner.submit(label, work, finished, failed, cancelled)

    def cancel(self) -> None:
        if self.busy:
            self.task.cancel()

    def show_error(self, what: str, reason: str, outcome: str = NOTHING_CHANGED) -> None:
        self.last_error = f"{what} failed.\n\n{reason}\n\n{outcome}"
        self.status.setText(f"{what} failed: {reason}")
        box = QMessageBox(QMessageBox.Warning, what, self.last_error, QMessageBox.Ok, self)
        box.setAttribute(Qt.WA_DeleteOnClose)
        box.open()

    # -- data -------------------------------------------------------------------------------
    def load_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open spectrum table", "", TABLE_FILTER)
        if path:
            self.load(path)

    def load(self, path: str) -> None:
        fit_params = self.params()
        self._submit(f"Loading {os.path.basename(path)}",
                     lambda progress, cancel: check_table(read_table(path), fit_params),
                     lambda table: self.set_table(table, os.path.basename(path)))

    def run_builtin(self) -> None:
        params = BuiltinParams(n_models=self.n_models.value(), n_si=self.n_si.value())
        fit_params = self.params()
        current = self.model_source()

        def work(progress, cancel):
            from amorpha.engine.surrogate.model import SpectrumModel
            from amorpha.gui.prediction import default_model_path

            fit_params.validate(params.n_models)  # before minutes of building, not after
            model = current if current is not None else SpectrumModel.load(default_model_path())
            if model.element != "Si":
                raise ModelMismatchError(f"the built-in task needs a Si K model; the model in use predicts "
                                         f"{model.element} {model.edge} spectra")
            return check_table(builtin_dataset(model, params, progress=progress, cancel=cancel), fit_params)

        self._submit(f"Built-in task: {params.n_models} a-SiOx models", work,
                     lambda table: self.set_table(table, f"built-in task ({params.n_models} a-SiOx models of "
                                                         f"{params.n_si} Si)", fit=True))

    def set_table(self, table, source: str, fit: bool = True) -> None:
        """Show ``table`` (refuse unusable ones first: :func:`check_table`) and, by default, fit it."""
        self.table, self.table_source, self.comparison = table, source, None
        previous = self.target.currentText()
        self.target.clear()
        self.target.addItems(list(table.targets))
        learnable = varying_targets(table)  # a constant target would only fail the fit
        for name in (previous, DEFAULT_TARGET, *learnable[:1]):
            if name in learnable:
                self.target.setCurrentText(name)
                break
        comp = ", ".join(table.composition_names) or "none (Model B needs composition: columns)"
        self.data_label.setText(f"{source}: {counted(len(table), 'spectrum', 'spectra')}, "
                                f"{counted(len(table.energy), 'energy', 'energies')} "
                                f"({table.energy[0]:g}–{table.energy[-1]:g} eV); "
                                f"{counted(len(table.targets), 'target')}; composition: {comp}.")
        self.plot_a.reset()
        self.plot_b.reset("" if table.composition_names else "needs composition columns")
        self.show_caveat("")
        self._set_busy(False)
        self.table_changed.emit()
        if fit and self.target.count():
            self.fit(f"The table ({source}) is loaded; its plots stay empty until a fit succeeds.")
        elif not self.target.count():
            self.status.setText("The table has no target columns: add a numeric column to predict.")
        else:
            self.status.setText(f"Loaded {source}; press Fit.")  # not the last table's R²

    # -- fitting ----------------------------------------------------------------------------
    def params(self) -> RegressionParams:
        return RegressionParams(regressor=self.regressor.currentData(), n_pca=self.n_pca.value(),
                                folds=self.folds.value())

    def fit(self, outcome: str = NOTHING_CHANGED) -> None:
        """Compare the models on the chosen target; ``outcome`` is what a failure leaves shown."""
        if self.table is None or not self.target.count():
            return
        table, target, params = self.table, self.target.currentText(), self.params()
        self._submit(f"Fitting {target}", lambda progress, cancel: compare_models(
            table, target, params, progress=progress, cancel=cancel), self.show_comparison, outcome)

    def show_comparison(self, comparison) -> None:
        self.comparison = comparison
        self.plot_a.show_result(comparison.model_a, comparison.target)
        self.plot_b.show_result(comparison.model_b, comparison.target, comparison.baseline)
        self.status.setText(comparison_text(comparison))
        self.show_caveat(comparison.caveat)
        self._set_busy(False)
        self.fitted.emit()

    def show_caveat(self, caveat: str) -> None:
        """A warning above the plots, where it is read before the R² are (hidden when empty)."""
        self.caveat.setText(f"⚠ Few samples per fold: {caveat}." if caveat else "")
        self.caveat.setVisible(bool(caveat))

    # -- export -----------------------------------------------------------------------------
    def write_png(self, path) -> None:
        if not self.plots.grab().save(os.fspath(path)):
            raise OSError(f"could not write {path}")

    def _save(self, title: str, name: str, filt: str, write) -> None:
        path = save_as(self, title, name, filt, write, on_error=self.show_error)
        if path:
            self.status.setText(f"Wrote {path}")

    def export_csv_dialog(self) -> None:
        self._save("Export parity data", "parity.csv", "CSV (*.csv)", self.comparison.write_csv)

    def export_png_dialog(self) -> None:
        self._save("Export parity plots", "parity.png", "PNG image (*.png)", self.write_png)

    def save_table_dialog(self) -> None:
        self._save("Save spectrum table", "spectra.csv", "CSV (*.csv)", lambda p: write_table(p, self.table))

    def closeEvent(self, event) -> None:  # noqa: N802 (Qt)
        self.cancel()
        super().closeEvent(event)


def comparison_text(comparison) -> str:
    """The status line: the setup, each model's R² and what the spectrum adds to the composition."""
    parts = [f"{r.name}: R² {r.r2:.3f}, RMSE {r.rmse:.3g}" for r in comparison.results]
    if comparison.baseline is not None:
        parts[-1] += f" (the spectrum adds {comparison.model_b.r2 - comparison.baseline.r2:+.3f} to R²)"
    return (f"{comparison.target}, {REGRESSORS[comparison.params.regressor]}, {comparison.params.folds}-fold "
            f"cross-validation on {len(comparison.names)} samples. " + "; ".join(parts) + ".")


def open_dialog(window) -> SpectralRegressionDialog:
    """Show the window's dialog (one per window), using the surrogate model the window has loaded."""
    dialog = getattr(window, "spectral_regression", None)
    if dialog is None:
        prediction = getattr(window, "prediction", None)
        dialog = SpectralRegressionDialog(window.runner, lambda: getattr(prediction, "model", None), window)
        window.spectral_regression = dialog
    dialog.show()
    dialog.raise_()
    return dialog


__all__ = ["ParityPlot", "SpectralRegressionDialog", "open_dialog"]

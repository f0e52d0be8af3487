"""Predicted spectra of the shown model, in the background: the surrogate in use, the predicted
average, a site's spectrum when its atom is clicked, the reference calculator on demand, and
active learning on the shown model.

Kept apart from the main window so that it stays about opening and showing models; the window
creates one :class:`SpectrumPrediction` and forwards "a model is shown" and "an atom was clicked".
Results are applied only if the model they were computed for is still shown.
"""
from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QFileDialog

from amorpha.engine.spectra import Spectrum
from amorpha.engine.surrogate.model import ModelMismatchError, SpectrumModel

MODEL_FILTER = "Amorpha spectrum models (*.amodel);;All files (*)"
MAX_SITE_CURVES = 6


def default_model_path() -> Path:
    """The Si K surrogate that ships with Amorpha (trained on xTB spectra by ``make models``)."""
    from amorpha.resources import path

    return path("models") / "Si-K-xtb.amodel"


class SpectrumPrediction(QObject):
    model_changed = Signal(object)  # the SpectrumModel in use, or None
    prediction_settled = Signal()  # the shown model's prediction is on the plot, failed or cannot be made

    def __init__(self, window, panel, plot):
        super().__init__(window)
        self.window = window
        self.runner = window.runner
        self.panel = panel
        self.plot = plot
        self.model: SpectrumModel | None = None
        self.predicted = None  # SiteSpectra of the shown model
        self.learner = None
        self.pool = None
        self._atoms = None
        self._picked = -1
        self._task = None
        self._loading = None
        panel.predict_requested.connect(self.predict)
        panel.reference_requested.connect(self.reference_of_selected)
        panel.train_requested.connect(self.train_dialog)
        panel.load_requested.connect(self.load_dialog)
        panel.save_requested.connect(self.save_dialog)
        panel.export_requested.connect(self.export_dialog)
        panel.import_requested.connect(self.import_dialog)
        panel.folder_requested.connect(self.folder_dialog)

    # -- the model in use -------------------------------------------------------------------
    def load_default(self):
        path = default_model_path()
        if path.is_file():
            return self.load(str(path))
        self.panel.status.setText(f"No built-in model at {path} (make models builds it).")
        return None

    def load(self, path: str):
        self._loading = self.runner.submit(f"Loading spectrum model {os.path.basename(path)}",
                                           lambda progress, cancel: SpectrumModel.load(path),
                                           self.set_model, self.window._task_error("Loading the spectrum model"))
        return self._loading

    def set_model(self, model: SpectrumModel | None) -> None:
        from amorpha.engine.surrogate.active import LearningCurve

        self.model = model
        self.panel.set_model(model)
        stored = (model.metrics or {}).get("learning_curve") if model is not None else None
        if stored:
            self.panel.show_curves({"training (held-out sites)": LearningCurve("stored", **stored)})
        self.model_changed.emit(model)
        if model is not None and self._atoms is not None:
            self.predict()

    # -- following the window ---------------------------------------------------------------
    def structure_shown(self, atoms) -> None:
        """A new model or frame: old predictions no longer apply; predict again if we can."""
        if self._task is not None:
            self._task.cancel()
        self._atoms = atoms
        self._picked = -1
        self.predicted = None
        for group in ("predicted", "site", "reference"):
            self.plot.remove_group(group)
        if self.model is not None:
            self.predict(quiet=True)

    def atom_picked(self, index: int) -> None:
        self._picked = index
        if (index < 0 or self.predicted is None or not self.panel.site_on_click.isChecked()):
            return
        rows = np.flatnonzero(self.predicted.sites == index)
        if len(rows) == 0:
            return
        spectrum = self.predicted.spectrum(int(rows[0]))
        sites = self.plot.group("site")
        if any(s.site == index for s in sites):
            return
        if len(sites) >= MAX_SITE_CURVES:
            self.plot.remove_group("site")
        self.plot.add_spectrum(replace(spectrum, label=f"{spectrum.element} atom {index} (predicted)"), "site")

    # -- predicting -------------------------------------------------------------------------
    def will_predict(self) -> bool:
        """True while a prediction for the shown model is running or about to be shown."""
        loading = self._loading is not None and not self._loading.finished
        predicting = self._task is not None and not self._task.finished and self.predicted is None
        return loading or predicting

    def predict(self, quiet: bool = False) -> None:
        if self.model is None or self._atoms is None:
            return
        atoms, model = self._atoms, self.model
        try:
            model.sites_of(atoms)
        except ModelMismatchError as exc:
            self.panel.status.setText(str(exc))
            if not quiet:
                self.window.show_error("Predict spectra", f"{exc}.")
            self.prediction_settled.emit()
            return

        def done(site_spectra):
            if atoms is not self._atoms:
                return
            self.predicted = site_spectra
            self.plot.remove_group("predicted")
            average = model.average(site_spectra, f"{model.element} {model.edge} predicted average "
                                                  f"({len(site_spectra)} sites)")
            self.plot.add_spectrum(average, "predicted")
            self.panel.status.setText(
                f"Predicted {len(site_spectra)} {model.element} sites; click one to add its spectrum.")
            if self._picked >= 0:  # an atom clicked while the prediction ran
                self.atom_picked(self._picked)
            self.prediction_settled.emit()

        def failed(exc):
            self.window._task_error("Predicting spectra")(exc)
            self.prediction_settled.emit()

        self._task = self.runner.submit(
            f"Predicting {model.element} {model.edge} spectra",
            lambda progress, cancel: model.predict_structure(atoms, progress=progress, cancel=cancel),
            done, failed)

    def reference_of_selected(self) -> None:
        """The reference calculator's spectrum of the selected atom (cached on disk)."""
        if self._atoms is None or self._picked < 0:
            self.window.show_error("Reference spectrum", "Select an atom first (click it in the viewer).")
            return
        index, atoms = self._picked, self._atoms
        element = self.model.element if self.model is not None else atoms.get_chemical_symbols()[index]
        if atoms.get_chemical_symbols()[index] != element:
            self.window.show_error("Reference spectrum",
                                   f"Atom {index} is {atoms.get_chemical_symbols()[index]}; the model in "
                                   f"use predicts {element} spectra. Select a {element} atom.")
            return
        calculator = self._calculator()

        def done(spectrum: Spectrum):
            if atoms is self._atoms:
                self.plot.add_spectrum(spectrum, "reference")

        self.runner.submit(f"{calculator.label} spectrum of {element}{index}",
                           lambda progress, cancel: calculator.site_spectrum(atoms, index, progress, cancel),
                           done, self.window._task_error("Reference spectrum"))

    def _calculator(self):
        from amorpha.engine.surrogate.pipeline import default_calculator

        stored = self.model.metrics.get("calculator") if self.model is not None else None
        return default_calculator(stored or self.window.preferences.calculator)

    # -- training ---------------------------------------------------------------------------
    def train_dialog(self):
        from amorpha.gui.build_dialogs import Field, ParamsDialog
        from amorpha.engine.surrogate.active import ActiveParams

        if self._atoms is None:
            return None
        elements = sorted(set(self._atoms.get_chemical_symbols()))
        element = "Si" if "Si" in elements else elements[0]
        count = self._atoms.get_chemical_symbols().count(element)
        dialog = ParamsDialog(
            f"Train a {element} K surrogate on this model", ActiveParams(max_calls=min(60, count)),
            [
                Field("strategy", "Choose sites by", choices=(
                    ("variance", "largest reduction of the pool's variance (GP)"),
                    ("uncertainty", "largest predictive uncertainty (GP)"),
                    ("farthest", "farthest in descriptor space"), ("random", "random"))),
                Field("n_initial", "Random sites to start", lo=3, hi=10000),
                Field("batch", "Sites per round", lo=1, hi=1000),
                Field("max_calls", "Calculator calls at most", lo=3, hi=100000),
                Field("target_rmse", "Stop at RMSE", lo=0.0, hi=100.0, decimals=4,
                      tooltip="0: use the whole budget"),
                Field("regressor", "Regressor", choices=(("gp", "Gaussian process"),
                                                          ("kernel_ridge", "kernel ridge"),
                                                          ("ridge", "ridge"), ("mlp", "MLP"))),
                Field("seed", "Random seed", lo=0, hi=2**31 - 1),
            ],
            note=lambda p: f"{count} {element} sites in the pool; xTB takes about a second per site",
            intro=f"Active learning on the {element} sites of the shown model with GFN1-xTB "
                  f"(qualitative) as the reference. Cancel keeps every spectrum computed so far.",
            parent=self.window)
        dialog.params_accepted.connect(lambda params: self.train(params, element))
        dialog.open()
        return dialog

    def train(self, params, element: str = "Si"):
        from amorpha.engine.surrogate.pipeline import learn, site_pool

        atoms = self._atoms
        calculator = self._calculator()
        state = {}

        def work(progress, cancel):
            from amorpha.engine.tasks import sub_progress

            pool = site_pool([atoms], element, progress=sub_progress(progress, 0, 0.05), cancel=cancel)
            state["pool"] = pool
            from amorpha.engine.surrogate.active import ActiveLearner

            state["learner"] = ActiveLearner(pool.features, params, pool.descriptor.to_dict())
            learn(pool, calculator, learner=state["learner"], progress=sub_progress(progress, 0.05, 1),
                  cancel=cancel)
            return state["learner"]

        def progress_shown(handle, fraction, message):
            if handle is task and "learner" in state:
                self.panel.show_curves({params.strategy: state["learner"].curve})

        def finished(learner=None):
            self.runner.task_progress.disconnect(progress_shown)
            learner = learner or state.get("learner")
            self.learner, self.pool = learner, state.get("pool")
            if learner is not None and learner.model is not None:
                self.panel.show_curves({params.strategy: learner.curve})
                self.set_model(learner.model)
                self.panel.status.setText(f"Trained on {len(learner.labelled)} {calculator.label} spectra.")

        def failed(exc):
            finished(None)
            self.window._task_error("Training the spectrum model")(exc)

        self.runner.task_progress.connect(progress_shown)
        task = self.runner.submit(f"Active learning ({element} K, {calculator.label})", work, finished,
                                  failed, lambda: finished(None))
        return task

    def folder_dialog(self) -> None:
        directory = QFileDialog.getExistingDirectory(self.window, "Folder of structures and spectra",
                                                     self._start_dir())
        if directory:
            self.train_from_folder(directory)

    def train_from_folder(self, directory: str):
        """Train on first-principles (or any) site spectra in ``directory``; skipped files are named."""
        from amorpha.engine.spectra import read_spectrum_folder
        from amorpha.engine.surrogate.pipeline import train_from_folder
        from amorpha.engine.tasks import sub_progress

        def work(progress, cancel):
            folder = read_spectrum_folder(directory, progress=sub_progress(progress, 0, 0.3), cancel=cancel)
            return folder, train_from_folder(folder, progress=sub_progress(progress, 0.3, 1), cancel=cancel)

        def done(result):
            folder, model = result
            self.set_model(model)
            skipped = f"; skipped {len(folder.problems)}: " + "; ".join(folder.warnings[:3]) if folder.problems else ""
            self.panel.status.setText(f"Trained on {model.n_train} sites of {directory} "
                                      f"({model.metrics.get('measured_on', '')}){skipped}")

        return self.runner.submit(f"Training on {os.path.basename(directory)}", work, done,
                                  self.window._task_error("Training from a folder"))

    # -- files ------------------------------------------------------------------------------
    def _start_dir(self) -> str:
        return self.window.settings.value("last_dir", str(Path.home()))

    def load_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self.window, "Open spectrum model", self._start_dir(), MODEL_FILTER)
        if path:
            self.load(path)

    def save_dialog(self) -> None:
        if self.model is None:
            return
        path, _ = QFileDialog.getSaveFileName(self.window, "Save spectrum model", self._start_dir(), MODEL_FILTER)
        if path:
            self.save(path if path.endswith(".amodel") else path + ".amodel")

    def save(self, path: str):
        model = self.model
        return self.runner.submit(f"Saving {os.path.basename(path)}",
                                  lambda progress, cancel: model.save(path),
                                  lambda _: self.panel.status.setText(f"Saved {path}"),
                                  self.window._task_error("Saving the spectrum model"))

    def export_dialog(self) -> None:
        if self.learner is None:
            self.window.show_error("Export queries", "Train on a model first: the queries are the sites "
                                                     "active learning asks for next.")
            return
        directory = QFileDialog.getExistingDirectory(self.window, "Folder for the queries", self._start_dir())
        if directory:
            self.export(directory)

    def export(self, directory: str) -> list[str]:
        from amorpha.engine.surrogate.active import export_queries

        rows = self.learner.next_queries()
        written = export_queries(directory, self.pool.structures, self.pool.sites, rows)
        self.panel.status.setText(f"Wrote {len(written)} queries to {directory}; put the spectra beside "
                                  f"them as query-<n>.txt and Import results.")
        return written

    def import_dialog(self) -> None:
        if self.learner is None:
            self.window.show_error("Import results", "Train on a model and export queries first.")
            return
        directory = QFileDialog.getExistingDirectory(self.window, "Folder with the results", self._start_dir())
        if directory:
            self.import_results(directory)

    def import_results(self, directory: str):
        from amorpha.engine.surrogate.active import import_results

        learner = self.learner

        def work(progress, cancel):
            grid = learner.grid.energy if learner.grid is not None else None
            rows, spectra = import_results(directory, grid)
            learner.add(rows, spectra)
            return learner

        return self.runner.submit("Importing results", work, lambda _: self.set_model(learner.model),
                                  self.window._task_error("Importing results"))

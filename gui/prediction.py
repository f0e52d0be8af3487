"""Predicted spectra of the shown model, in the background: the surrogate in use, the predicted
average, a site's spectrum when its atom is clicked, the reference calculator on demand, active
learning on the shown model, its learning curve against random sampling and its cross-validation.

Every model loaded (the built-in Si K and O K ones at start, files, trained ones) stays available
per element and edge; the panel's Edge list switches between those the shown structure can use.

Kept apart from the main window so that it stays about opening and showing models; the window
creates one :class:`SpectrumPrediction` and forwards "a model is shown" and "an atom was clicked".
Results are applied only if the model they were computed for is still shown.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QFileDialog, QInputDialog

from amorpha.engine.bonds import changed_cutoffs
from amorpha.engine.elements import count_element, elements_present, number, present_symbols, symbol
from amorpha.engine.errors import ParameterError, require
from amorpha.engine.spectra import SeveralEdgesError, Spectrum
from amorpha.engine.spectra.spectrum import kind_of
from amorpha.engine.spectra.features import feature
from amorpha.engine.surrogate.active import ActiveParams
from amorpha.engine.surrogate.compare import CompareParams
from amorpha.engine.surrogate.domain import outside_note
from amorpha.engine.surrogate.model import ModelMismatchError, SpectrumModel
from amorpha.engine.surrogate.xtb import EDGES, check_edge
from amorpha.gui.panels.prediction_panel import r2_text
from amorpha.gui.viewer.colormap import is_flat

MODEL_FILTER = "Amorpha spectrum models (*.amodel);;All files (*)"
#: the spectral feature only a Gaussian process's predictions have (greyed for other models)
UNCERTAINTY = "prediction_uncertainty"
MAX_SITE_CURVES = 6
#: the most skipped files a message lists one by one
MAX_LISTED = 20


#: The surrogates that ship with Amorpha (``make models``), the first one in use at start.
BUILTIN_MODELS = ("Si-K-xtb.amodel", "O-K-xtb.amodel")
#: How the learning-curve legend names a strategy.
STRATEGY_NAMES = {"variance": "active (variance reduction)", "uncertainty": "active (largest uncertainty)",
                  "farthest": "active (farthest)", "random": "random"}


def default_model_path() -> Path:
    """The Si K surrogate that ships with Amorpha (trained on xTB spectra by ``make models``)."""
    return builtin_model_paths(existing=False)[0]


def builtin_model_paths(existing: bool = True) -> list[Path]:
    """The built-in model files (only those present unless ``existing`` is False)."""
    from amorpha.resources import path

    paths = [path("models") / name for name in BUILTIN_MODELS]
    return [p for p in paths if p.is_file() or not existing]


#: the Edge list's name for a built-in model after one trained here took its edge's name
BUILTIN_SUFFIX = " (built-in)"


def edge_key(element: str, edge: str) -> str:
    """How the Edge list names an edge and its model: "Si K"."""
    return f"{element} {edge}".strip()


def model_key(model: SpectrumModel) -> str:
    return edge_key(model.element, model.edge)


def atom_label(element: str, edge: str, index: int, source: str) -> str:
    """How the spectrum plot names one atom's spectrum whoever made it, "Si K atom 5 (predicted)"
    beside "Si K atom 5 (xTB (qualitative), …)": the same words for the same atom, so a
    prediction and its reference read as a pair."""
    return f"{edge_key(element, edge)} atom {index} ({source})"


def calculated_how(spectrum: Spectrum) -> str:
    """How a calculator made a site spectrum, from its label's parentheses ("xTB (qualitative),
    E - E_LUMO, Z+1"), or its source when the label says nothing of it."""
    _, opened, details = spectrum.label.partition(" (")
    return details.removesuffix(")") if opened else spectrum.source or "reference calculator"


#: GFN1-xTB seconds of one SCF of a 72-atom cluster and how they grow with the atom count N:
#: 0.7 s at 72 atoms, 31 s at 245 (N^3.1). The Z+1 core hole adds a second, slower SCF (about 3×
#: in all, e.g. 0.2 s at 33 atoms, 5 s at 105, 33-39 s at 177-185 for silica and stishovite).
SCF_SECONDS_72 = 0.7
SCF_EXPONENT = 3.1
#: a periodic cell's SCF (tblite's Γ-point run with its lattice sums) against a cluster's of as
#: many atoms: 72-atom cells with the core hole took 4-5 s (α-quartz) and 10-11 s (rutile),
#: 96 atoms 10-12 s (stishovite), where 72 cluster atoms take about 2 s
PERIODIC_FACTOR = 3.0


def reference_seconds(settings: dict, sizes) -> tuple[int, int] | None:
    """A likely range of seconds for one xTB reference site whose clusters (or periodic cell)
    hold ``sizes`` atoms, with these calculator settings (None for another calculator)."""
    if "cluster_radius" not in settings:
        return None
    seconds = (3.0 if settings.get("core_hole") else 1.0) * sum(
        SCF_SECONDS_72 * (n / 72) ** SCF_EXPONENT for n in sizes)
    if settings.get("geometry") == "periodic":
        seconds *= PERIODIC_FACTOR
    return max(1, round(0.5 * seconds)), max(2, round(2.5 * seconds))


def environment_sizes(calculator, atoms, index: int, bond_list) -> list[int] | None:
    """Atoms in each xTB environment (cluster or cell) of site ``index``, built in milliseconds
    with the window's bonds; None for another calculator or before the bonds are there.
    :class:`~amorpha.engine.surrogate.xtb.XtbError` when one is too large to run."""
    if "cluster_radius" not in calculator.settings() or bond_list is None or bond_list.n_atoms != len(atoms):
        return None
    return [len(env.atoms) for env in calculator.environments(atoms, int(index), bond_list)]


def calculator_cost(calculator, atoms, element: str, bond_list) -> str:
    """What one reference site of ``element`` costs, for the training and comparison dialogs,
    from the environments of three of its sites (so a dense oxide's clusters are not priced like
    silica's); ParameterError, shown in the dialog before any run, when they are too large."""
    from amorpha.engine.surrogate.xtb import XtbError

    settings = calculator.settings()
    sites = np.flatnonzero(atoms.numbers == number(element))
    sample = sites[np.linspace(0, len(sites) - 1, min(3, len(sites))).astype(int)]
    try:
        sizes = [environment_sizes(calculator, atoms, i, bond_list) for i in sample]
    except XtbError as exc:
        raise ParameterError("calculator", str(exc)) from None
    if not sizes or sizes[0] is None:
        return "the reference calculator runs once per site; computed sites are cached on disk"
    low, high = zip(*(reference_seconds(settings, one) for one in sizes))
    counts = sorted({n for one in sizes for n in one})
    held = f"{counts[0]}" if len(counts) == 1 else f"{counts[0]}-{counts[-1]}"
    parts = f"{len(sizes[0])} clusters of " if len(sizes[0]) > 1 else \
        "a periodic cell of " if settings.get("geometry") == "periodic" else ""
    return f"xTB takes about {min(low)}-{max(high)} s per site ({parts}{held} atoms); computed sites are cached on disk"


def preferred_geometry(preferred: dict) -> dict:
    """What the Preferences' xTB settings impose on every model's: the periodic cell with its
    width, or the compact (cap) cluster with its own radii, since a model's 5 Å would still hold
    hundreds of atoms where polyhedra share edges; nothing for the usual complete cluster."""
    if preferred.get("geometry") == "periodic":
        return {"geometry": "periodic", "cell_min_width": preferred.get("cell_min_width", 8.0)}
    if preferred.get("closure") == "cap":
        return {k: preferred[k] for k in ("closure", "cluster_radius", "radius_spread", "radius_points")
                if k in preferred}
    return {}


@dataclass(frozen=True)
class EdgeChoice:
    """The absorbing element and edge a new model learns, or a comparison runs on (Train,
    Export queries, Compare with random)."""

    element: str = "Si"
    edge: str = "K"

    def validate(self) -> "EdgeChoice":
        check_edge(self.element, self.edge)
        return self


@dataclass(frozen=True)
class TrainRequest(ActiveParams, EdgeChoice):
    """The Train dialog: :class:`ActiveParams` for the chosen element and edge."""

    def validate(self, pool_size: int | None = None) -> "TrainRequest":
        EdgeChoice.validate(self)
        return ActiveParams.validate(self, pool_size)


@dataclass(frozen=True)
class CompareRequest(CompareParams, EdgeChoice):
    """The Compare dialog: :class:`CompareParams`, where the sites come from, and for the shown
    structure's sites the element and edge (a folder's spectra say their own)."""

    source: str = "shown"  # "shown": the shown structure with the calculator; "folder": computed spectra

    def validate(self, pool_size: int | None = None) -> "CompareRequest":
        if self.source == "shown":
            EdgeChoice.validate(self)
        return CompareParams.validate(self, pool_size)


def edge_fields(elements: list[str]) -> list:
    """The dialogs' fields for an :class:`EdgeChoice` among the shown structure's ``elements``:
    the edges at least one of them has (a-SiO2: K and the L edges, no M), K at least."""
    from amorpha.gui.build_dialogs import Field

    heaviest = max((number(e) for e in elements), default=0)
    edges = [edge for edge, (_, z_min) in EDGES.items() if heaviest >= z_min] or ["K"]
    return [Field("element", "Absorbing element", choices=tuple((e, e) for e in elements)),
            Field("edge", "Edge", choices=tuple((e, e) for e in edges))]


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
        self.models: dict[str, SpectrumModel] = {}  # every model loaded, by model_key
        self._builtins: list[SpectrumModel] = []  # a trained model of their edge keeps them listed
        self.predicted = None  # SiteSpectra of the shown model
        self.references_aside: list[Spectrum] = []  # reference spectra of other edges (add_reference)
        self.learner = None  # the last Train on this model… run's (its curve, its failures)
        self.external: ExternalLoop | None = None  # the loop with an external code (Export queries…)
        #: (model, structure, atom indices) of each model trained here on a structure: Show trained sites
        self._trained_sites: list[tuple] = []
        #: (model, path) of each model Save model… wrote, the latest last: its summary names the file
        self._saved: list[tuple] = []
        self._atoms = None
        self._picked = -1
        self._task = None
        self._loading = None
        self._training = None  # the training action running (one at a time: _hold)
        self.runner.task_finished.connect(self._task_ended)
        panel.predict_requested.connect(self.predict)
        panel.reference_requested.connect(self.reference_of_selected)
        panel.train_requested.connect(self.train_dialog)
        panel.load_requested.connect(self.load_dialog)
        panel.save_requested.connect(self.save_dialog)
        panel.tie_requested.connect(self.tie_dialog)
        panel.export_requested.connect(self.export_dialog)
        panel.import_requested.connect(self.import_dialog)
        panel.folder_requested.connect(self.folder_dialog)
        panel.model_chosen.connect(self.choose)
        panel.compare_requested.connect(self.compare_dialog)
        panel.cross_validate_requested.connect(self.cross_validate)
        panel.trained_sites_requested.connect(self.show_trained_sites)
        panel.curve_csv_requested.connect(lambda: self.export_curves_dialog("csv"))
        panel.curve_image_requested.connect(lambda: self.export_curves_dialog("image"))
        plot.marker_moved.connect(self.marker_moved)
        panel.feature_chosen.connect(lambda key: self.colour_atoms())

    # -- the model in use -------------------------------------------------------------------
    def load_default(self):
        """Load every built-in model in one background task; the first (Si K) is used."""
        paths = builtin_model_paths()
        if not paths:
            self.panel.status.setText(f"No built-in model at {default_model_path()} (make models builds it).")
            return None

        def done(models):
            self._builtins = list(models)
            for model in models:  # in the order of BUILTIN_MODELS, for the Edge list
                key = model_key(model)
                if key in self.models:  # a project opened at start-up brought its own
                    key += BUILTIN_SUFFIX
                self.models.setdefault(key, model)
            if self.model is None:
                self.set_model(models[0], quiet=True)  # a model without Si: a status line, no dialog
            else:  # the project's model stays in use (this replaced it with Si K)
                self._offer_models()

        self._loading = self.runner.submit("Loading the built-in spectrum models",
                                           lambda progress, cancel: [SpectrumModel.load(p) for p in paths],
                                           done, self.window._task_error("Loading the spectrum models"))
        return self._loading

    def load(self, path: str):
        def loaded(model):
            aside = self._adopt(model)
            if aside:
                self.panel.status.setText(f"Loaded {os.path.basename(path)}. {aside}")

        self._loading = self.runner.submit(f"Loading spectrum model {os.path.basename(path)}",
                                           lambda progress, cancel: SpectrumModel.load(path),
                                           loaded, self.window._task_error("Loading the spectrum model"))
        return self._loading

    def set_model(self, model: SpectrumModel | None, quiet: bool = False) -> None:
        """Use ``model`` (it joins the loaded ones, replacing one of the same element and edge);
        ``quiet``: a shown structure it cannot predict is said in the status line, not a dialog."""
        if self.model is not None and model is not self.model:
            # the old model's predictions go (a new one that cannot predict left them under its name),
            # and the marker that coloured atoms by them; xTB references stay while the edge does
            other_edge = model is not None and model_key(model) != model_key(self.model)
            self.predicted = None
            if other_edge:
                self.references_aside += self.plot.group("reference")
            for group in ("predicted", "site", "reference") if other_edge else ("predicted", "site"):
                self.plot.remove_group(group)
            self.plot.hide_marker()
        self.model = model
        self._bring_back_references()
        self._model_note = ""  # what its training said (skipped files…), kept beside predictions
        if model is not None:
            self._add_model(model)
        self.describe_model()
        self._offer_models()
        self._show_stored_curve(model)
        self.model_changed.emit(model)
        if model is not None and self._atoms is not None:
            self.predict(quiet=quiet)

    def _add_model(self, model: SpectrumModel) -> None:
        """``model`` joins the loaded ones, replacing one of the same element and edge (a
        built-in one stays, for the Edge list to offer again)."""
        if any(m is model for m in self.models.values()):
            return
        key = model_key(model)
        old = self.models.get(key)
        if old is not None and self._is_builtin(old):
            self.models[f"{key}{BUILTIN_SUFFIX}"] = old
        self.models[key] = model

    def _adopt(self, model: SpectrumModel, quiet: bool = False) -> str:
        """Use a model just loaded or trained on a folder (:meth:`set_model`), unless the shown
        structure lacks its element while the model in use predicts it: then it only joins the
        loaded ones (the Edge list offers it where its element is) and the sentence saying so is
        returned ("" when it is used). Using it emptied the plot of a Cu K model on a-SiO2."""
        if (self._atoms is None or self.model is None or model.element in present_symbols(self._atoms.numbers)
                or not self.model.fits(self._atoms)):
            self.set_model(model, quiet)
            return ""
        self._add_model(model)
        self._offer_models()
        return (f"The shown structure has no {model.element}: the {self.key_in_use()} model stays in use, and "
                f"{model_key(model)} is chosen in the Edge list where a structure has {model.element}.")

    def _show_stored_curve(self, model: SpectrumModel | None) -> None:
        """The learning curve ``model`` stores (make models': held-out sites; a training here:
        each round's sites before learnt), or the empty plot's note."""
        from amorpha.engine.surrogate.active import LearningCurve
        from amorpha.engine.surrogate.pipeline import CURVE_OF_HELD_OUT

        metrics = model.metrics or {} if model is not None else {}
        stored, measured = metrics.get("learning_curve"), metrics.get("learning_curve_of", CURVE_OF_HELD_OUT)
        self.panel.show_curves({f"training ({measured})": LearningCurve("stored", **stored)} if stored else {},
                               measured)

    def add_reference(self, spectrum: Spectrum) -> None:
        """A reference spectrum of the shown structure (xTB's, or a project's): drawn while its
        edge is in use, else set aside until it is, and kept in the project either way: an xTB
        run takes minutes, and a switch of edge must not throw it away."""
        if self._drawn_now(spectrum):
            self.plot.add_spectrum(spectrum, "reference")
        else:
            self.references_aside.append(spectrum)
            self.window.statusBar().showMessage(
                f"{spectrum.label}: set aside, shown again when a {edge_key(spectrum.element, spectrum.edge)} "
                "model is in use", 8000)

    def _drawn_now(self, spectrum: Spectrum) -> bool:
        key = self._edge_in_use()
        return key is None or edge_key(spectrum.element, spectrum.edge) == key

    def _bring_back_references(self) -> None:
        """The set-aside references of the edge now in use go back on the plot."""
        back = [s for s in self.references_aside if self._drawn_now(s)]
        self.references_aside = [s for s in self.references_aside if not self._drawn_now(s)]
        for spectrum in back:
            self.plot.add_spectrum(spectrum, "reference")

    def describe_model(self) -> None:
        """The panel's summary of the model in use, saying when the Preferences' geometry
        (:func:`preferred_geometry`) replaces the one its xTB references were computed with."""
        saved = next((path for m, path in reversed(self._saved) if m is self.model), "")
        self.panel.set_model(self.model, self._imposed_geometry(), saved)
        self._offer_uncertainty()

    def _offer_uncertainty(self) -> None:
        """Grey the prediction uncertainty in the Colour atoms by list unless the model in use
        has one (only a Gaussian process does), its tooltip saying why: offered, it could only
        answer that there is none."""
        combo = self.panel.feature_combo
        item = combo.model().item(combo.findData(UNCERTAINTY))
        usable = self.model is None or self.model.has_uncertainty
        item.setEnabled(usable)
        item.setToolTip("" if usable else f"Greyed: {self._without_uncertainty()}")

    def _without_uncertainty(self) -> str:
        """Why the model in use gives no prediction uncertainty."""
        return (f"only a Gaussian-process model predicts how sure it is, and the {self.key_in_use()} model "
                f"in use is {self.model.params.regressor}")

    def _imposed_geometry(self) -> dict:
        """:func:`preferred_geometry` when it changes what the model in use's xTB runs would do
        (compared as XtbParams, which drop a closure a periodic cell has no use for)."""
        from amorpha.engine.surrogate.xtb import XtbParams

        stored = ((self.model.metrics or {}).get("calculator") or {}) if self.model is not None else {}
        if "cluster_radius" not in stored:  # not an xTB model
            return {}
        imposed = preferred_geometry(self.window.preferences.calculator)
        changed = XtbParams.from_dict({**stored, **imposed}).to_dict() != XtbParams.from_dict(stored).to_dict()
        return imposed if changed else {}

    def choose(self, key: str) -> None:
        """Use the loaded model ``key`` ("O K") and predict the shown structure with it."""
        if key in self.models and self.models[key] is not self.model:
            self.set_model(self.models[key])

    def _offer_models(self) -> None:
        """The Edge list: loaded models whose element the shown structure has (and the one in use)."""
        elements = set(present_symbols(self._atoms.numbers)) if self._atoms is not None else None
        keys = [k for k, m in self.models.items()
                if m is self.model or elements is None or m.element in elements]
        self.panel.set_choices(keys, self.key_in_use() or "")

    def _fitting_model(self) -> SpectrumModel | None:
        """A loaded model that can predict the shown structure (its element there, no element its
        descriptor does not know; a trained one before a kept built-in of its edge), or None: a
        Cu structure got the built-in O K model over a loaded Cu K one, and a failure dialog."""
        keys = sorted(self.models, key=lambda k: k.endswith(BUILTIN_SUFFIX))
        return next((self.models[k] for k in keys if self.models[k].fits(self._atoms)), None)

    def _no_sites_note(self, model: SpectrumModel) -> str:
        """Why the shown structure has no prediction from ``model`` and the ways on ("" if it has
        the model's element)."""
        if self._atoms is None or model.element in present_symbols(self._atoms.numbers):
            return ""
        other = self._fitting_model()
        way = f", or choose {self._key_of(other)} in the Edge list" if other else ""
        return (f"The shown structure has no {model.element}: open one with {model.element} to predict "
                f"{model_key(model)} spectra{way}.")

    def _is_builtin(self, model: SpectrumModel) -> bool:
        return any(model is b for b in self._builtins)

    def key_in_use(self) -> str | None:
        """The Edge list's name of the model in use ("Si K", or "Si K (built-in)" when a model
        trained here took the edge's plain name)."""
        return self._key_of(self.model)

    def _key_of(self, model: SpectrumModel | None) -> str | None:
        """The Edge list's name of a loaded ``model`` (None if it is not loaded)."""
        return next((k for k, m in self.models.items() if m is model), None)

    # -- following the window ---------------------------------------------------------------
    def structure_shown(self, atoms) -> None:
        """A new model or frame: old predictions no longer apply; predict again if we can."""
        if self._task is not None:
            self._task.cancel()
        self._atoms = atoms
        self._picked = -1
        self.predicted = None
        self.references_aside = []  # they were another structure's
        for group in ("predicted", "site", "reference"):
            self.plot.remove_group(group)
        self.plot.hide_marker()
        fitting = self._fitting_model() if self.model is not None and not self.model.fits(atoms) else None
        if fitting is not None:
            self.set_model(fitting, quiet=True)  # e.g. S K in use, a-SiO2 opened: Si K
            return
        self._offer_models()
        if self.model is not None:
            self.predict(quiet=True)

    def atom_picked(self, index: int) -> None:
        """A clicked atom's predicted spectrum joins the plot; for an atom the model in use
        learnt from, its reference spectrum too (dashed): how well it learnt that very site."""
        self._picked = index
        if (index < 0 or self.predicted is None or not self.panel.site_on_click.isChecked()):
            return
        rows = np.flatnonzero(self.predicted.sites == index)
        if len(rows) == 0:
            return
        spectrum = self.predicted.spectrum(int(rows[0]))
        sites = self.plot.group("site")
        if not any(s.site == index for s in sites):
            if len(sites) >= MAX_SITE_CURVES:
                self.plot.remove_group("site")
            distance = self.predicted.distance[rows[0]]  # predict_structure gives every prediction one
            far = f", {distance:.1f} domain radii from the training sites" if distance > 1.0 else ""
            band = ", ±1σ shaded" if spectrum.std is not None else ""  # a Gaussian process's, drawn around it
            self.plot.add_spectrum(replace(spectrum, label=atom_label(spectrum.element, spectrum.edge, index,
                                                                      f"predicted{far}{band}")), "site")
        learnt = self._trained_reference(index)
        if learnt is not None and not any(s.label == learnt.label for s in self.plot.group("reference")):
            self.plot.add_spectrum(learnt, "reference")

    def marker_moved(self, energy: float) -> None:
        """Dragging the energy marker asks for the intensity there, whatever was chosen before."""
        self.panel.show_feature("intensity")
        self.colour_atoms(energy)

    def colour_atoms(self, energy: float | None = None) -> None:
        """Colour the atoms by the feature chosen in the panel, read off each absorbing site's
        predicted spectrum on the plot's axis (where the average is drawn, placed at a measured
        onset or not); the intensity is taken at ``energy`` or at the marker. The other atoms
        have no spectrum (NaN, grey)."""
        shown = self.plot.group("predicted")
        if self.predicted is None or not shown or self._atoms is not self.window.atoms:
            self.panel.status.setText("Nothing predicted to colour the atoms by: Predict first.")
            return
        predicted, chosen = self.predicted, feature(self.panel.feature_key())
        if chosen.key == UNCERTAINTY and predicted.uncertainty is None:  # greyed in the list, chosen before
            self.panel.status.setText(f"No {chosen.quantity} to colour the atoms by: {self._without_uncertainty()}.")
            return
        at = float(self.plot.marker.value()) if energy is None else energy
        drawn = self.plot.drawn_energy(shown[0])
        values = predicted.feature(chosen.key, at, drawn if len(drawn) == len(predicted.energy) else None)
        column = np.full(len(self._atoms), np.nan)
        column[predicted.sites] = values
        what = f"{predicted.element} {predicted.edge} {chosen.quantity}"
        if chosen.from_model:
            label = f"{what} ({chosen.unit})"
        elif chosen.uses_marker:
            label = f"{what} at {at:.1f} eV (predicted)"
        else:
            label = f"{what} ({chosen.unit + ', ' if chosen.unit else ''}predicted)"
        self.window.show_column(chosen.column, column, label)
        finite = values[np.isfinite(values)]
        if len(finite) > 1 and is_flat(float(finite.min()), float(finite.max())):  # as the colours see it
            self.panel.status.setText(f"{what}: {finite[0]:.6g} at every site, the same for all of them: the "
                                      "colours cannot tell the sites apart (the model predicts one spectrum "
                                      "here).")

    # -- predicting -------------------------------------------------------------------------
    def will_predict(self) -> bool:
        """True while a prediction for the shown model is running or about to be shown."""
        loading = self._loading is not None and not self._loading.finished
        predicting = self._task is not None and not self._task.finished and self.predicted is None
        return loading or predicting

    def predict(self, quiet: bool = False) -> None:
        if self.model is None or self._atoms is None:
            return
        if self._task is not None:  # a result of another model or frame must not land over this one
            self._task.cancel()
        atoms, model = self._atoms, self.model
        try:
            model.sites_of(atoms)
            unknown = model.unknown_elements(atoms)  # said now, not as a failed prediction
            if unknown:
                raise ModelMismatchError(unknown)
        except ModelMismatchError as exc:
            said = f"{str(exc)[:1].upper()}{str(exc)[1:]}."
            self.panel.status.setText(self._no_sites_note(model) or said)
            if not quiet:
                self.window.show_error("Predict spectra", said)
            self.prediction_settled.emit()
            return

        def done(site_spectra):
            if atoms is not self._atoms or model is not self.model:
                return
            self.predicted = site_spectra
            self.plot.remove_group("predicted")
            average = model.average(site_spectra, f"{model.element} {model.edge} predicted average "
                                                  f"({_sites(len(site_spectra))})")
            self.plot.add_spectrum(average, "predicted")
            self.plot.show_marker(self.plot.drawn_energy(average)[int(np.argmax(average.intensity))])
            note = f" {self._model_note}" if self._model_note else ""
            outside = outside_note(site_spectra.distance, model.element)
            if outside:  # where they are: the Colour atoms by list shows them
                outside = f" {outside} (Colour atoms by: distance from training sites)."
            self.panel.status.setText(f"Predicted {_sites(len(site_spectra), model.element)}; click one "
                                      f"to add its spectrum.{outside}{note}")
            if self._picked >= 0:  # an atom clicked while the prediction ran
                self.atom_picked(self._picked)
            # a feature chosen earlier, or atoms coloured by the last prediction's intensity,
            # follow the new frame or edge (not left showing another edge's colours)
            if (self.panel.feature_key() != "intensity"
                    or self.window.view_panel.color_key() == feature("intensity").column):
                self.colour_atoms()
            self.prediction_settled.emit()

        def failed(exc):
            self.panel.status.setText(f"Predicting spectra failed: {exc}")  # not the last prediction's words
            self.window._task_error("Predicting spectra")(exc)
            self.prediction_settled.emit()

        self._task = self.runner.submit(
            f"Predicting {model.element} {model.edge} spectra",
            # with each site's uncertainty (a Gaussian process only; in the same chunks Cancel reaches)
            lambda progress, cancel: model.predict_structure(atoms, progress=progress, cancel=cancel,
                                                             uncertainty=True),
            done, failed)

    def reference_of_selected(self) -> None:
        """The reference calculator's spectrum of the selected atom (cached on disk)."""
        if self._atoms is None or self._picked < 0:
            self.window.show_error("Reference spectrum", "Select an atom first (click it in the viewer).")
            return
        index, atoms = self._picked, self._atoms
        here = symbol(int(atoms.numbers[index]))
        element = self.model.element if self.model is not None else here
        if here != element:
            self.window.show_error("Reference spectrum",
                                   f"Atom {index} is {here}; the model in "
                                   f"use predicts {element} spectra. Select a {element} atom.")
            return
        calculator = self._calculator()
        apart = self._scales_apart(calculator)
        if apart:
            self.window.show_error("Reference spectrum", apart)
            return

        def done(spectrum: Spectrum):
            if atoms is self._atoms:  # not over another frame's curves; another edge's: set aside
                label = atom_label(spectrum.element, spectrum.edge, index, calculated_how(spectrum))
                self.add_reference(replace(spectrum, label=label))

        bonds = self.window.bond_list

        def work(progress, cancel):
            # priced here, not on the GUI thread: a refused site builds its clusters to say why,
            # and its refusal ends the task here, as the run's own would
            sizes = environment_sizes(calculator, atoms, index, bonds)
            seconds = reference_seconds(calculator.settings(), sizes) if sizes else None
            cost = f"about {seconds[0]}-{seconds[1]} s in all" if seconds else ""

            def priced(fraction: float, message: str = "") -> None:
                progress(fraction, "; ".join(part for part in (message, cost) if part))
            priced(0.0)
            return calculator.site_spectrum(atoms, index, priced, cancel)

        self.runner.submit(f"{calculator.label} spectrum of {element}{index}", work,
                           done, self.window._task_error("Reference spectrum"))

    def _scales_apart(self, calculator) -> str:
        """Why the calculator's spectra cannot stand beside the model in use's ("" when they
        can): a model trained on another code's energies (XANESNET's S K at 2395-2445 eV, a
        CASTEP scale) and xTB's edge-relative window drew as two spikes 2400 eV apart."""
        model = self.model
        settings = calculator.settings()
        if model is None or "e_min" not in settings:
            return ""
        lo, hi = float(settings["e_min"]), float(settings["e_max"])
        if not model.axis and model.energy[0] < hi and model.energy[-1] > lo:
            return ""
        scale = f"the {model.axis} scale" if model.axis else f"{model.energy[0]:g}–{model.energy[-1]:g} eV"
        return (f"The {model_key(model)} model in use predicts spectra on the energies it was trained on "
                f"({scale}, {model.reference or 'its reference code'}); {calculator.label} spectra run "
                f"from {lo:g} to {hi:g} eV relative to the edge. The two cannot be compared on one axis: "
                f"use a model trained with {calculator.label} (Train on this model…) for reference spectra.")

    def _edge_in_use(self) -> str | None:
        return model_key(self.model) if self.model is not None else None

    def _calculator(self, element: str | None = None, edge: str = "K"):
        """The reference calculator of ``element``'s ``edge`` (default: the model in use's): the
        settings of the loaded model of that edge (so references match it), else the
        Preferences'; a compact cluster or the periodic cell chosen in the Preferences applies to
        every model (:func:`preferred_geometry`): it is how a site whose cluster would be too large
        (edge-sharing polyhedra) is computed at all. Bond cutoffs changed in the Structure panel
        reach the clusters too (:func:`~amorpha.engine.bonds.changed_cutoffs`)."""
        from amorpha.engine.surrogate.pipeline import default_calculator

        if element is None and self.model is not None:
            element, edge = self.model.element, self.model.edge
        key = edge_key(element or "", edge)
        model = self.model if self.model is not None and model_key(self.model) == key else self.models.get(key)
        preferred = self.window.preferences.calculator
        stored = model.metrics.get("calculator") if model is not None else None
        settings = dict(stored or preferred)
        settings["edge"] = edge
        if "cluster_radius" in settings:  # an xTB model: its clusters bond as the window does
            settings.update(preferred_geometry(preferred))
            atoms = self.window.atoms
            elements = elements_present(atoms.numbers) if atoms is not None else []
            changed = changed_cutoffs(self.window.cutoff_overrides, elements)
            if changed:
                settings["cutoffs"] = {**(settings.get("cutoffs") or {}), **changed}
        return default_calculator(settings)

    def _costs(self):
        """:func:`calculator_cost` of an element's edge sites of the shown structure, worked out
        once per element and edge for one dialog: its note is redrawn on every field's change,
        and building three sites' clusters takes up to 0.2 s (a refusal, with its bond search)."""
        known: dict = {}

        def cost(element: str, edge: str) -> str:
            if (element, edge) not in known:
                try:
                    known[element, edge] = calculator_cost(self._calculator(element, edge), self._atoms,
                                                           element, self.window.bond_list)
                except ParameterError as exc:
                    known[element, edge] = exc
            if isinstance(known[element, edge], ParameterError):
                raise known[element, edge]
            return known[element, edge]
        return cost

    @staticmethod
    def _site_pool(atoms, element: str, calculator, progress, cancel):
        """The pool of ``element`` sites of ``atoms`` with the descriptor surrogates learn from
        (:func:`~amorpha.engine.surrogate.pipeline.training_descriptor`; its cutoff is the
        calculator's cluster radius)."""
        from amorpha.engine.surrogate.pipeline import site_pool, training_descriptor

        radius = calculator.settings().get("cluster_radius", 5.0)
        descriptor = training_descriptor(present_symbols(atoms.numbers), element, bool(atoms.pbc.all()), radius)
        return site_pool([atoms], element, descriptor, progress=progress, cancel=cancel)

    def _edge_offered(self) -> EdgeChoice:
        """The element and edge a new surrogate of the shown structure is offered for: the
        model in use's when the structure has its element (the edge chosen in the list), else
        Si K, else the K edge of its heaviest element."""
        elements = present_symbols(self._atoms.numbers)
        if self.model is not None and self.model.element in elements:
            return EdgeChoice(self.model.element, self.model.edge)
        return EdgeChoice("Si" if "Si" in elements else elements[-1], "K")

    def _edge_dialog(self, title: str, defaults, fields: list, note, intro: str, action: str):
        """A dialog of ``fields`` after the absorbing element and edge (of the shown structure's
        elements), opened; ``note(params, count)`` is told how many sites the element has."""
        from amorpha.gui.build_dialogs import ParamsDialog

        elements = present_symbols(self._atoms.numbers)
        dialog = ParamsDialog(title, defaults, edge_fields(elements) + fields,
                              note=lambda p: note(p, count_element(self._atoms.numbers, p.element)),
                              intro=intro, parent=self.window, action=action)
        dialog.open()
        return dialog

    # -- training ---------------------------------------------------------------------------
    def train_dialog(self):
        from amorpha.gui.build_dialogs import Field

        if self._atoms is None:
            return None
        offered = self._edge_offered()
        count = count_element(self._atoms.numbers, offered.element)
        costs = self._costs()

        def note(p, count):
            return f"{count} {p.element} sites in the pool; {costs(p.element, p.edge)}"

        defaults = TrainRequest(element=offered.element, edge=offered.edge, max_calls=min(60, count))
        dialog = self._edge_dialog(
            "Train a surrogate on this model", defaults,
            [
                Field("strategy", "Choose sites by", choices=(
                    ("variance", "largest reduction of the pool's variance (GP)"),
                    ("uncertainty", "largest predictive uncertainty (GP)"),
                    ("farthest", "farthest in descriptor space"), ("random", "random"))),
                Field("n_initial", "Random sites to start", lo=3, hi=10000),
                Field("batch", "Sites per round", lo=1, hi=1000),
                Field("max_calls", "Calculator calls at most", lo=3, hi=100000),
                Field("target_rmse", "Stop at RMSE", lo=0.0, hi=100.0, decimals=4,
                      tooltip="Stop once the error on a round's new sites, measured before learning them, is at "
                              "or below this: in the spectra's intensity units, typically 0.01-0.05 for xTB "
                              "spectra (the built-in Si K model's ends near 0.016). 0: use the whole budget"),
                Field("regressor", "Regressor", choices=(("gp", "Gaussian process"),
                                                          ("kernel_ridge", "kernel ridge"),
                                                          ("ridge", "ridge"), ("mlp", "MLP"))),
                Field("seed", "Random seed", lo=0, hi=2**31 - 1),
            ],
            note, intro="Active learning on the chosen element's sites of the shown model with GFN1-xTB "
                        "(qualitative) as the reference. Cancel keeps every spectrum computed so far.",
            action="Train")
        dialog.params_accepted.connect(lambda request: self.train(request, request.element, request.edge))
        return dialog

    def train(self, params, element: str = "Si", edge: str = "K"):
        """Active learning on the shown structure's ``element`` sites, in the background; its
        model replaces the one of its edge. Cancel (or a failure) keeps every spectrum computed:
        :meth:`_keep_learnt` trains a model on them."""
        import threading

        from amorpha.engine.surrogate.active import ActiveLearner
        from amorpha.engine.surrogate.pipeline import CURVE_OF_NEXT, learn, measured_model
        from amorpha.engine.tasks import report, sub_progress

        if self._refuse_second("Train on this model"):
            return None
        atoms = self._atoms
        calculator = self._calculator(element, edge)
        state = {"ended": threading.Event()}

        def work(progress, cancel):
            try:
                state["pool"] = pool = self._site_pool(atoms, element, calculator, sub_progress(progress, 0, 0.05),
                                                       cancel)
                state["learner"] = learner = ActiveLearner(pool.features, params, pool.descriptor.to_dict())
                learn(pool, calculator, learner=learner, progress=sub_progress(progress, 0.05, 0.95), cancel=cancel)
                report(progress, 0.95, "measuring the model on sites it did not learn")
                return learner, measured_model(learner, calculator, sub_progress(progress, 0.95, 1), cancel)
            finally:  # what a Cancel keeps is read once the thread is done with it
                state["ended"].set()

        def curves():
            return {STRATEGY_NAMES[params.strategy]: state["learner"].curve} if "learner" in state else {}

        def apply(learner, model, cancelled: bool):
            self.learner = learner
            skipped = learner.failures
            if model is None:
                if not cancelled and skipped:
                    self.window.show_error("Training the spectrum model", (
                        f"No reference spectrum could be computed: {calculator.label} failed on all "
                        f"{len(skipped)} {element} sites it was asked for. The first: {skipped[0][1]}"))
                elif cancelled:
                    self.panel.status.setText(_too_few_kept(len(learner.labelled), self.key_in_use()))
                return
            replaced = self.models.get(model_key(model))
            tie = ("; tied to a measured peak like the model it replaces (same calculator settings)"
                   if model.inherit_tie(replaced) else
                   "; not tied to a measured peak like the model it replaces (other calculator settings): "
                   "Tie to measured peak… ties it" if replaced is not None and replaced.onset_at else "")
            self._remember_sites(model, state["pool"], learner)
            self.set_model(model)
            self.panel.show_curves({STRATEGY_NAMES[params.strategy]: learner.curve}, CURVE_OF_NEXT)
            kept = (f" The built-in model stays in the Edge list as {model_key(model)}{BUILTIN_SUFFIX}."
                    if replaced is not None and self._is_builtin(replaced) else "")
            # the note stays beside the prediction's own status line, which comes next
            failed = (f" {len(skipped)} sites failed and were skipped (the first: {skipped[0][1]})."
                      if skipped else "")
            n = len(learner.labelled)
            how = (f"Cancelled: {n} {calculator.label} spectra kept, model trained on them" if cancelled else
                   f"Trained on {n} {calculator.label} spectra ({learner.stop_note()})")
            self._model_note = f"{how}{tie}.{kept}{failed}"
            self.panel.status.setText(self._model_note)

        def stopped():  # cancelled or failed: a model of what was computed, fitted in a worker
            self._keep_learnt(state, calculator, lambda learner, model: apply(learner, model, True))

        def failed(exc):
            stopped()
            self.window._task_error("Training the spectrum model")(exc)

        task = self.runner.submit(f"Active learning ({element} {edge}, {calculator.label})", work,
                                  lambda result: apply(*result, False), failed, stopped)
        self._hold(task)
        self._draw_live(task, curves, CURVE_OF_NEXT)
        return task

    def _keep_learnt(self, state: dict, calculator, apply) -> None:
        """After a training's Cancel: once its thread has stopped (an xTB site it cannot
        interrupt may take a minute; the window does not wait for it), the model of every
        spectrum it kept (:func:`~amorpha.engine.surrogate.pipeline.measured_model`) is fitted
        in a worker and ``apply(learner, model)`` (None: too few to train on). Cancelling this
        too keeps the model in use."""
        from amorpha.engine.surrogate.pipeline import measured_model
        from amorpha.engine.tasks import check_cancel, report

        learner = state.get("learner")
        if learner is None:  # cancelled before any site was asked for
            return

        def work(progress, cancel):
            while not state["ended"].wait(0.05):
                check_cancel(cancel)
                report(progress, 0.0, "waiting for the site being computed to stop")
            report(progress, 0.1, f"training a model on the {len(learner.labelled)} spectra kept")
            return measured_model(learner, calculator, progress, cancel)

        def given_up():
            self.panel.status.setText(f"Cancelled: the model in use stays; the {len(learner.labelled)} spectra "
                                      "computed are cached on disk (the next Train reuses them).")

        self._hold(self.runner.submit("Keeping the spectra computed so far", work,
                                      lambda model: apply(learner, model), lambda exc: (
                                          given_up(), self.window._task_error("Keeping the spectra")(exc)),
                                      given_up))

    def _remember_sites(self, model: SpectrumModel, pool, learner) -> None:
        """Keep which atoms of ``pool``'s structure ``model`` learnt from (the learner's rows)."""
        self.remember_trained_sites(model, pool.structures[0], pool.sites[learner.labelled, 1])

    def remember_trained_sites(self, model: SpectrumModel, atoms, sites) -> None:
        """``model`` learnt from the atoms ``sites`` of ``atoms``, in its training rows' order (a
        training here, or a project that saved them); models no longer loaded are forgotten."""
        kept = [e for e in self._trained_sites if e[0] is not model and any(e[0] is m for m in self.models.values())]
        self._trained_sites = kept + [(model, atoms, np.asarray(sites, dtype=np.int64).copy())]

    def trained_sites(self, model: SpectrumModel | None = None):
        """(structure, atom indices) ``model`` (default: the one in use) learnt from, or None
        when that is not known (loaded, built-in, from a folder)."""
        model = self.model if model is None else model
        return next(((atoms, sites) for m, atoms, sites in self._trained_sites if m is model), None)

    def _trained_reference(self, index: int) -> Spectrum | None:
        """The reference spectrum the model in use learnt for atom ``index`` of the shown
        structure (kept in the model: no calculator runs), placed as its predictions are; None
        for an atom it did not learn from."""
        from amorpha.engine.surrogate.pipeline import training_spectra

        known, model = self.trained_sites(), self.model
        if known is None or known[0] is not self._atoms:
            return None
        rows = np.flatnonzero(known[1] == index)
        spectra = training_spectra(model, known[1]) if len(rows) else None
        if spectra is None:
            return None
        how = f"{model.reference or 'reference'}, training spectrum"
        return replace(spectra.spectrum(int(rows[0])), label=atom_label(model.element, model.edge, index, how))

    def show_trained_sites(self) -> None:
        """Highlight the atoms whose reference spectra the model in use learnt from: after a
        training, which sites the calculator was asked for could not be seen."""
        known = self.trained_sites()
        if self.model is None:
            return
        if known is None:
            text = ("The model in use was not trained on a structure in this window (loaded, built-in or from a "
                    "folder): which sites it learnt from is not known.")
        elif known[0] is not self._atoms:
            text = (f"The model in use was trained on another structure ({len(known[0])} atoms) than the one "
                    f"shown: show that one to see its {_sites(len(known[1]), self.model.element)}.")
        else:
            self.window.viewer.set_selection(known[1])
            shown = ", ".join(str(i) for i in np.sort(known[1])[:12]) + (", …" if len(known[1]) > 12 else "")
            text = (f"{len(known[1])} {self.model.element} atoms the model was trained on are highlighted in the "
                    f"viewer (atoms {shown}); click one to draw its reference spectrum (dashed) beside its "
                    "prediction.")
        self.panel.status.setText(text)

    def export_curves_dialog(self, kind: str) -> str | None:
        """Save the learning curves drawn, as CSV (``kind`` "csv") or as a picture ("image"),
        where the user chooses; the path written (None: nothing drawn, cancelled, or failed)."""
        from amorpha.gui.plot_export import PLOT_FILTER
        from amorpha.gui.saving import save_as

        title = "Export learning curve" if kind == "csv" else "Export learning-curve plot"
        if not self.panel.curves:
            self.window.show_error(title, "There is no learning curve to export: Train on this model… or Compare "
                                          "with random… draws one (a model trained on a folder, or loaded without "
                                          "one, has none).")
            return None
        stem = os.path.join(self._start_dir(), f"{(self.key_in_use() or 'model').replace(' ', '-')}-learning-curve")
        if kind == "csv":
            return save_as(self.window, title, f"{stem}.csv", "CSV (*.csv)", self.panel.write_curves_csv)
        return save_as(self.window, title, f"{stem}.png", PLOT_FILTER, self.panel.write_curves_image)

    def _hold(self, task):
        """``task`` may replace the model in use or the learning curve: the training actions
        wait until it ends (two runs at once raced, the last to end silently won)."""
        self._training = task
        self.panel.set_training(True)
        return task

    def _task_ended(self, handle, state) -> None:
        if handle is self._training:
            self._training = None
            self.panel.set_training(False)

    def _refuse_second(self, what: str) -> bool:
        """True (and said) while a training action runs: one at a time."""
        task = self._training
        if task is None or task.finished:
            return False
        self.window.show_error(what, f"{task.label} is still running: wait for it, or cancel it in the "
                                     "status bar, first.")
        return True

    def _draw_live(self, task, curves, measured: str | None = None) -> None:
        """Redraw the learning curves ``curves()`` (of errors on ``measured``: see
        :meth:`PredictionPanel.show_curves`) whenever ``task`` reports progress."""
        task.signals.progress.connect(lambda *_: self.panel.show_curves(curves(), measured))

    # -- learning curves: active against random, cross-validation ---------------------------
    def compare_dialog(self):
        """Ask for the budget and the source of the sites, then :meth:`compare`."""
        from amorpha.gui.build_dialogs import Field

        if self._atoms is None:
            self.window.show_error("Compare with random", "Open a structure first.")
            return None
        offered = self._edge_offered()
        costs = self._costs()

        def note(p, count):
            if p.source != "shown":
                return "You choose the folder next; its spectra (and their element and edge) are used as they are."
            return (f"{count} {p.element} sites; {costs(p.element, p.edge)}, each site once for both strategies: at most "
                    f"{p.n_test + 2 * p.max_calls - p.n_initial} calculations")

        dialog = self._edge_dialog(
            "Compare active learning with random sampling",
            CompareRequest(element=offered.element, edge=offered.edge),
            [
                Field("source", "Sites", choices=(
                    ("shown", "the shown structure's (reference calculator)"),
                    ("folder", "a folder of computed site spectra (fast)"))),
                Field("strategy", "Active strategy", choices=tuple(
                    (k, v) for k, v in STRATEGY_NAMES.items() if k != "random")),
                Field("n_initial", "Random sites to start", lo=3, hi=10000),
                Field("batch", "Sites per round", lo=1, hi=1000),
                Field("max_calls", "Calculator calls per strategy", lo=3, hi=100000),
                Field("n_test", "Held-out sites", lo=2, hi=10000),
                Field("seed", "Random seed", lo=0, hi=2**31 - 1),
            ],
            note, "Runs the active strategy and random sampling from the same starting sites and plots "
                  "the error on held-out sites against calculator calls. Cancel keeps the curves so far.",
            "Compare")
        dialog.params_accepted.connect(self._compare_accepted)
        return dialog

    def _compare_accepted(self, request: CompareRequest) -> None:
        if request.source == "folder":
            directory = QFileDialog.getExistingDirectory(self.window, "Folder of structures and spectra",
                                                         self._start_dir())
            if directory:
                self.compare(request, directory)
        else:
            self.compare(request, choice=request)

    def compare(self, params: CompareParams, directory: str | None = None, calculator=None,
                folder=None, kind: str | None = None, choice: EdgeChoice | None = None):
        """Learning curves of ``params.strategy`` and random, in the background, drawn as they grow:
        on the shown structure's sites of ``choice``'s element and edge (default
        :meth:`_edge_offered`) with ``calculator`` (default: that edge's, :meth:`_calculator`), or on
        the computed spectra in ``directory`` (``folder``: read already) of ``kind`` ("Si K";
        asked when the folder holds several)."""
        from amorpha.engine.surrogate.compare import calculator_curves, folder_curves
        from amorpha.engine.tasks import sub_progress

        if self._refuse_second("Compare with random"):
            return None
        curves: dict = {}
        if directory is not None:
            from amorpha.engine.spectra import read_spectrum_folder

            source = os.path.basename(directory)

            def work(progress, cancel):
                read = folder or read_spectrum_folder(directory, progress=sub_progress(progress, 0, 0.2),
                                                      cancel=cancel)
                return folder_curves(read, params, curves=curves, progress=sub_progress(progress, 0.2, 1),
                                     cancel=cancel, kind=kind)
        else:
            if self._atoms is None:
                self.window.show_error("Compare with random", "Open a structure first.")
                return None
            atoms = self._atoms
            choice = choice or self._edge_offered()
            element = choice.element
            calculator = calculator or self._calculator(element, choice.edge)
            source = f"{element} {choice.edge} sites, {calculator.label}"

            def work(progress, cancel):
                pool = self._site_pool(atoms, element, calculator, sub_progress(progress, 0, 0.05), cancel)
                return calculator_curves(pool, calculator, params, curves=curves,
                                         progress=sub_progress(progress, 0.05, 1), cancel=cancel)

        def named():
            return {STRATEGY_NAMES[k]: c for k, c in list(curves.items())}

        def finished(_=None):
            self.panel.show_curves(named())
            self.panel.curve_plot.setTitle(f"active vs random: {source}", size="9pt")
            self.panel.status.setText(compare_summary(curves, params.strategy))

        def retry(read, chosen):
            self.compare(params, directory, folder=read, kind=chosen)

        def failed(exc):
            finished()
            self._folder_error("Comparing with random sampling", retry)(exc)

        task = self._hold(self.runner.submit(f"Active vs random ({source})", work, finished, failed, finished))
        self._draw_live(task, named)
        return task

    def cross_validate(self, folds: int = 5):
        """k-fold R², cosine and peak error of the model in use, refitted on its own training spectra."""
        from amorpha.engine.spectra import SiteSpectra
        from amorpha.engine.surrogate.model import cross_validate

        model = self.model
        if model is None or model._training is None:
            self.window.show_error("Cross-validate", "Load or train a model first.")
            return None
        x, y = model._training
        if len(x) < folds:
            self.window.show_error("Cross-validate", f"The model has {len(x)} training spectra; "
                                                     f"{folds}-fold cross-validation needs {folds}.")
            return None
        data = SiteSpectra(model.energy, y, np.arange(len(y)), model.element, model.edge)

        def done(m):
            if model is self.model:
                self.panel.cv_label.setText(
                    f"{model_key(model)} model, {m['folds']}-fold cross-validation on its {len(x)} training "
                    f"spectra: R² {r2_text(m['r2'])}, "
                    f"cosine {m['cosine_mean']:.3f} (min {m['cosine_min']:.2f}), "
                    f"peak error {m['peak_error_ev']:.2f} eV")

        return self.runner.submit(f"Cross-validating the {model_key(model)} model",
                                  lambda progress, cancel: cross_validate(x, data, model.params, folds,
                                                                          progress=progress, cancel=cancel,
                                                                          descriptor=model.descriptor),
                                  done, self.window._task_error("Cross-validation"))

    def folder_dialog(self) -> None:
        directory = QFileDialog.getExistingDirectory(self.window, "Folder of structures and spectra",
                                                     self._start_dir())
        if directory:
            self.train_from_folder(directory)

    def train_from_folder(self, directory: str, folder=None, kind: str | None = None):
        """Train on first-principles (or any) site spectra in ``directory`` (``folder``: read
        already) of ``kind`` ("Si K"; asked when the folder holds several); skipped files are named."""
        from amorpha.engine.spectra import read_spectrum_folder
        from amorpha.engine.surrogate.pipeline import train_from_folder
        from amorpha.engine.tasks import sub_progress

        if self._refuse_second("Train from folder"):
            return None

        def work(progress, cancel):
            read = folder or read_spectrum_folder(directory, progress=sub_progress(progress, 0, 0.3), cancel=cancel)
            return read, train_from_folder(read, progress=sub_progress(progress, 0.3, 1), cancel=cancel, kind=kind)

        def done(result):
            folder, model = result
            aside = self._adopt(model, quiet=True)
            skipped = f"; {_files(len(folder.problems))} skipped (listed in a message)" if folder.problems else ""
            edge = f"; {folder.edge_note}" if folder.edge_note else ""
            measured = f"; scored on {model.metrics['measured_on']}" if model.metrics.get("measured_on") else ""
            others = [k for k in folder.kinds if k != kind] if kind else []
            other = f"; it also holds {', '.join(others)}" if others else ""
            said = f"Trained on {model.n_train} {model_key(model)} sites of {directory}{measured}{edge}{other}{skipped}."
            if aside:  # the model in use stays, and so does its note
                self.panel.status.setText(f"{aside} {said}")
            else:
                self._model_note = said
            if not aside and (self._task is None or self._task.finished):  # no prediction to say it with
                note = self._no_sites_note(model)  # first: why the plot has no curve now
                self.panel.status.setText(" ".join(filter(None, (note, self._model_note))))
            if folder.problems:  # in full where it is seen, not past the status line's "…"
                self.window.show_error("Train from folder", (
                    f"Trained on {model.n_train} {model_key(model)} sites of {directory}; "
                    f"{_files(len(folder.problems))} skipped:\n\n" + "\n".join(
                        f"• {w.removesuffix('; skipped')}" for w in folder.warnings[:MAX_LISTED])
                    + (f"\n… and {len(folder.problems) - MAX_LISTED} more" if len(folder.problems) > MAX_LISTED else "")))

        def retry(read, chosen):
            self.train_from_folder(directory, read, chosen)

        return self._hold(self.runner.submit(f"Training on {os.path.basename(directory)}", work, done,
                                             self._folder_error("Training from a folder", retry)))

    def _folder_error(self, what: str, retry):
        """The error handler of a task on a spectrum folder: a folder of several edges (a CASTEP
        run writes every edge of its atoms) asks which one and runs ``retry(folder, kind)`` on
        the folder already read; any other error is reported."""
        report = self.window._task_error(what)

        def handle(exc):
            if not isinstance(exc, SeveralEdgesError):
                return report(exc)
            kind = self.choose_kind(exc.folder)
            if kind is not None:
                retry(exc.folder, kind)
        return handle

    def choose_kind(self, folder) -> str | None:
        """Ask which element and edge of ``folder`` to use; None when the user cancels."""
        kinds = folder.kinds
        items = [f"{k}: {n} site{'s' * (n != 1)}" for k, n in kinds.items()]
        why = ("a CASTEP run writes every edge of its atoms" if folder.layout == "castep" else
               "each spectrum is taken as that of its structure's absorbing atom, the absorber= of an "
               "extxyz file or else atom 0: a rare kind may be a pair whose absorber is not the one meant")
        item, ok = QInputDialog.getItem(
            self.window, "Which edge?",
            f"{os.path.basename(folder.path)} holds spectra of {len(kinds)} kinds ({why}).\n"
            f"A model learns one; use:", items, list(kinds).index(folder.likely_kind), False)
        return list(kinds)[items.index(item)] if ok else None

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

        def done(_):
            # its summary names the file now: "in this window" read as if it were nowhere on disk
            self._saved = [e for e in self._saved if e[0] is not model and self._key_of(e[0])] + [(model, path)]
            if model is self.model:
                self.describe_model()
            self.panel.status.setText(f"Saved {path}")

        return self.runner.submit(f"Saving {os.path.basename(path)}", lambda progress, cancel: model.save(path),
                                  done, self.window._task_error("Saving the spectrum model"))

    def tie_dialog(self) -> None:
        """Ask the measured energy of the highest peak of the shown structure's prediction and
        tie the model to it (:meth:`tie`)."""
        from amorpha.engine.spectra.edges import edge_onset, place_at_onset

        model = self.model
        if model is None or self.predicted is None:
            self.window.show_error("Tie to a measured peak", "Predict the shown structure first: the measured "
                                                             "energy is that of its predicted spectrum's highest peak.")
            return
        average = model.average(self.predicted)  # carries the model's tie, if any
        k = int(np.argmax(average.intensity))
        peak = now = float(average.energy[k])
        try:
            now = float(place_at_onset(average, edge_onset(model.element, model.edge)[0]).energy[k])
        except ParameterError:
            pass
        energy, ok = QInputDialog.getDouble(
            self.window, "Tie to a measured peak",
            f"Measured energy (eV) of the highest peak of {self._what()}'s {model.element} {model.edge} "
            f"spectrum\n(predicted at {peak:.2f} eV on the model's axis; placed at {now:.2f} eV now):",
            round(now, 2), 0.01, 1e6, 2)
        if ok:
            self.tie(energy)

    def tie(self, energy: float) -> None:
        """Tie the model's axis so that the shown structure's predicted highest peak is at the
        measured ``energy`` (eV); the drawn prediction carries the new tie to the Measured panel."""
        model, predicted = self.model, self.predicted
        try:
            at = model.tie_onset(model.average(predicted), energy, self._what())
        except ParameterError as exc:
            self.window.show_error("Tie to a measured peak", f"{exc}.")
            return
        predicted.meta = model.placement()
        for shown in self.plot.group("predicted") + self.plot.group("site"):
            shown.meta.update(predicted.meta)
        self.describe_model()
        self.panel.status.setText(f"{model_key(model)} model tied: the tabulated onset lies at {at:+.2f} eV on its "
                                  f"axis (Save model… keeps it).")

    def _what(self) -> str:
        """The shown structure's name, as the window's title gives it."""
        return os.path.basename(getattr(self.window, "source", "") or "") or "the shown structure"

    def export_dialog(self):
        """Ask for the element and edge (those of the running loop on the shown structure, else
        :meth:`_edge_offered`), then for the folder, then :meth:`export`."""
        if self._atoms is None:
            self.window.show_error("Export queries", "Open a structure first: the queries are its sites.")
            return None
        loop = self.external if self.external is not None and self.external.atoms is self._atoms else None
        offered = EdgeChoice(loop.element, loop.edge) if loop is not None else self._edge_offered()

        def note(p, count):
            if loop is not None and (loop.element, loop.edge) == (p.element, p.edge):
                return (f"The loop on these {count} sites goes on: {len(loop.learner.labelled)} spectra learnt"
                        f"{f', {len(loop.pending)} queries waiting for results' if loop.pending else ''}.")
            return f"{count} {p.element} sites; the first export writes 8 random ones."

        def chosen(choice):
            directory = QFileDialog.getExistingDirectory(self.window, "Folder for the queries", self._start_dir())
            if directory:
                self.export(directory, choice)

        dialog = self._edge_dialog(
            "Export queries for an external code", offered, [], note,
            "Writes sites of the shown structure as query-atom-<index>.extxyz (the absorber's index in "
            "the structure, as the viewer numbers atoms; the absorber, its element and "
            "the edge in the header) for a first-principles code. Put each spectrum beside its "
            "structure and Import results…: a model learns from that code's spectra alone, and the "
            "next export writes the sites it asks for.", "Choose folder…")
        dialog.params_accepted.connect(chosen)
        return dialog

    def _loop_target(self, choice: EdgeChoice | None = None) -> tuple:
        """(structure, element, edge, calculator) of an external loop on the shown structure:
        ``choice``'s element and edge (default :meth:`_edge_offered`)."""
        choice = choice or self._edge_offered()
        return self._atoms, choice.element, choice.edge, self._calculator(choice.element, choice.edge)

    def _shown_loop(self, target) -> "ExternalLoop | None":
        """The running external loop if it is ``target``'s (structure, element and edge)."""
        loop, (atoms, element, edge, _) = self.external, target
        same = loop is not None and loop.atoms is atoms and (loop.element, loop.edge) == (element, edge)
        return loop if same else None

    def _new_loop(self, target, progress, cancel) -> "ExternalLoop":
        from amorpha.engine.surrogate.active import ActiveLearner, ActiveParams

        atoms, element, edge, calculator = target
        pool = self._site_pool(atoms, element, calculator, progress, cancel)
        n = len(pool.features)  # every site may be asked for, a few at a time
        params = ActiveParams(n_initial=min(8, n), max_calls=max(n, 3))
        return ExternalLoop(ActiveLearner(pool.features, params, pool.descriptor.to_dict()), pool, edge)

    def export(self, directory: str, choice: EdgeChoice | None = None):
        """Write the sites of ``choice``'s element and edge (default :meth:`_edge_offered`) an
        external code should compute next (``query-atom-<index>.extxyz``).

        They belong to a loop of their own, :attr:`external`, whose model learns from that code's
        spectra alone: stacked onto xTB's (qualitative, other edge energies) they would teach
        nonsense. Its first queries are random sites of the shown structure; after each Import
        results, the sites active learning asks for next. Queries still without results are
        written again rather than new ones drawn."""
        from amorpha.engine.surrogate.active import export_queries

        if self._refuse_second("Export queries"):
            return None
        target = self._loop_target(choice)
        loop = self._shown_loop(target)
        _, element, edge, _ = target

        def work(progress, cancel):
            nonlocal loop
            if loop is None:
                loop = self._new_loop(target, progress, cancel)
            again = bool(loop.pending)
            if not again:
                loop.pending = [int(r) for r in loop.learner.next_queries()]
            written = export_queries(directory, loop.pool.structures, loop.pool.sites, loop.pending, loop.edge)
            return loop, written, again

        def done(result):
            old = self.external
            self.external, written, again = result
            what = ("the same sites again: they still wait for results" if again else
                    "random sites to start" if not self.external.learner.labelled else
                    "the sites active learning asks for next")
            if old is not None and old is not self.external and old.learner.labelled:
                what += (f"; a new loop for this structure: the one before, with {len(old.learner.labelled)} "
                         f"{old.element} {old.edge} spectra learnt, ends here (its model stays until Save model…"
                         f" or another replaces it)")
            self.panel.status.setText(
                f"Wrote {len(written)} {element} {edge} queries to {directory} ({what}). Put each spectrum beside "
                f"its structure as query-atom-<index>.txt (or a CASTEP run of it) and Import results…; the model "
                f"learns from those spectra alone.")

        return self._hold(self.runner.submit("Exporting queries", work, done, self.window._task_error("Export queries")))

    def import_dialog(self) -> None:
        if self._atoms is None:
            self.window.show_error("Import results", "Open the structure the queries were exported from first.")
            return
        directory = QFileDialog.getExistingDirectory(self.window, "Folder with the results", self._start_dir())
        if directory:
            self.import_results(directory)

    def import_results(self, directory: str):
        """Learn from the external code's spectra of the exported queries in ``directory``
        (those learnt in an earlier round are skipped: one folder can serve every round). The
        loop is the shown structure's (and edge's): with none running for it (the window was
        closed since the export, or another structure was shown), one starts from everything the
        folder holds, for the element and edge its queries name; each result must be of the site
        its query names."""
        from amorpha.engine.surrogate.active import check_queries, exported_rows, import_results, queries_edge
        from amorpha.engine.surrogate.pipeline import CURVE_OF_NEXT

        if self._refuse_second("Import results"):
            return None
        asked = queries_edge(directory)
        if asked and asked[0] not in present_symbols(self._atoms.numbers):
            self.window.show_error("Importing results", (
                f"The queries in {directory} ask for {asked[0]} {asked[1]} spectra; the shown structure has no "
                f"{asked[0]}: open the structure they were exported from."))
            return None
        target = self._loop_target(EdgeChoice(*asked) if asked else None)
        loop = self._shown_loop(target)

        def work(progress, cancel):
            nonlocal loop
            if loop is None:
                loop = self._new_loop(target, progress, cancel)
                loop.pending = [r for r in exported_rows(directory, loop.pool.sites) if r < len(loop.pool.features)]
            learner = loop.learner
            grid = learner.grid.energy if learner.grid is not None else None
            rows, spectra = import_results(directory, loop.pool.sites, grid, loop.edge, skip=set(learner.labelled))
            check_queries(directory, rows, loop.pool.structures, loop.pool.sites)
            require(spectra.element in ("", loop.element) and spectra.edge in ("", loop.edge), "results",
                    f"{loop.element} {loop.edge} spectra of the exported queries; these say {kind_of(spectra)}")
            # plain two-column files name no element or edge: they are the queries' own
            spectra = replace(spectra, element=loop.element, edge=loop.edge)
            require(len(learner.labelled) + len(rows) >= 3, "results",
                    f"at least three spectra to learn from; {directory} has {len(rows)}")
            learner.add(rows, spectra)
            model = learner.model  # (a grouped descriptor's is fitted here, not in the window's thread)
            model.reference = f"{directory} (imported)"
            if learner.curve.calls:  # kept with the model (Save, an edge switch)
                model.metrics.update(learning_curve=learner.curve.to_dict(), learning_curve_of=CURVE_OF_NEXT)
            return rows, model

        def done(result):
            rows, model = result
            self.external, learner = loop, loop.learner
            loop.pending = [r for r in loop.pending if r not in set(rows.tolist())]
            self._remember_sites(model, loop.pool, learner)
            self.set_model(model)
            if learner.curve.calls:  # from the second import on: each batch's error before it was learnt
                self.panel.show_curves({"imported batches": learner.curve}, CURVE_OF_NEXT)
            waiting = f"; {len(loop.pending)} exported queries still wait" if loop.pending else ""
            self._model_note = (f"Learnt from {len(learner.labelled)} imported {loop.element} {loop.edge} spectra "
                                f"({len(rows)} new){waiting}. Export queries… writes the next sites.")
            self.panel.status.setText(self._model_note)

        def failed(exc):  # not the last import's words under the error
            self.panel.status.setText(f"Importing results from {directory} failed: the loop and the model in use "
                                      "are as they were.")
            self.window._task_error("Importing results")(exc)

        return self._hold(self.runner.submit("Importing results", work, done, failed))


@dataclass
class ExternalLoop:
    """Active learning with an external code as the reference: its learner, the pool of the
    shown structure's sites it queries, the edge, and the exported rows still without results."""

    learner: object  # ActiveLearner
    pool: object  # SitePool of one structure
    edge: str
    pending: list = field(default_factory=list)

    @property
    def atoms(self):
        return self.pool.structures[0]

    @property
    def element(self) -> str:
        return self.pool.element


def compare_summary(curves: dict, strategy: str) -> str:
    """How many calls each strategy needed to first reach an error both reach (the higher of the
    two lowest: the lower one only one of them reaches), read off the points the plot draws.
    Random's final point against the active strategy's calls said active won where the plot
    showed random there first: the final point is noisy, and random's whole budget is no
    measure of when it got there."""
    active, random = curves.get(strategy), curves.get("random")
    drawn = [(STRATEGY_NAMES[s], c) for s, c in ((strategy, active), ("random", random)) if c is not None and c.rmse]
    if not drawn:
        return "Active vs random: no error measured yet, nothing to compare."
    last = "; ".join(f"{name}: RMSE {c.rmse[-1]:.4g} after {c.calls[-1]} calls" for name, c in drawn)
    if len(drawn) < 2:
        return f"{last[:1].upper()}{last[1:]}. The other strategy has no points yet (cancelled?): nothing to compare."
    level = max(min(active.rmse), min(random.rmse))
    reached, by_random = active.calls_to_reach(level), random.calls_to_reach(level)
    verdict = ("the same number of calls" if reached == by_random else
               f"{reached / by_random:.2f}× random's calls" if reached < by_random else
               f"{reached / by_random:.2f}× random's calls: random got there first")
    # One comparison is one draw of the start and of random's sites; on XANESNET's V K set the
    # ratio of one draw ranged 0.25-0.83 (tests/benchmarks/bench_surrogate.py).
    return (f"Both reach RMSE {level:.4g}: {STRATEGY_NAMES[strategy]} first at {reached} calls, random at "
            f"{by_random} ({verdict}). Last points: {last}. One draw: other random seeds show how much "
            "this varies.")


def _files(n: int) -> str:
    return f"{n} file{'' if n == 1 else 's'}"


def _too_few_kept(n: int, in_use: str | None) -> str:
    """The status after a Cancel that kept too few spectra for a model."""
    from amorpha.engine.surrogate.active import MIN_SPECTRA

    stays = f"the {in_use} model in use stays" if in_use else "no model is in use"
    return (f"Cancelled: {n} spectr{'um' if n == 1 else 'a'} kept, fewer than the {MIN_SPECTRA} a model needs; "
            f"{stays} (computed sites are cached on disk: the next Train reuses them).")


def _sites(n: int, element: str = "") -> str:
    """"1 Si site", "12 Si sites"."""
    return f"{n} {element + ' ' if element else ''}site{'' if n == 1 else 's'}"

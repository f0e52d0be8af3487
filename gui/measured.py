"""Measured spectra in the window: open, prepare step by step, compare with the prediction, explain
with components, decompose spectrum images, export.

Kept apart from the main window like :mod:`amorpha.gui.prediction`: the window creates one
:class:`MeasuredSpectra` and routes File › Open Spectrum here. The spectrum as read (``original``)
is never changed: each step makes a new ``current`` spectrum in the background, and Undo replays
the recorded steps but the last on the original. A step that fails changes nothing. The measured
curve on the plot carries its steps as plain JSON in ``meta["steps"]``, so a saved project keeps
them. Auxiliary curves (background fit, residual, aligned prediction, difference, fit, pixel
spectra) are drawn here and never enter the project.
"""
from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import QFileDialog

from amorpha.engine.errors import ParameterError, ReadError
from amorpha.engine.words import counted
from amorpha.engine.spectra.spectrum import Spectrum, SpectrumError
from amorpha.engine.surrogate.model import ModelMismatchError
from amorpha.gui.panels.measured_panel import fill_table, span_text
from amorpha.gui.plot_export import PLOT_FILTER, save_plot_image

SPECTRUM_FILTER = "Spectra (*.dm3 *.dm4 *.msa *.ems *.emsa *.hspy *.txt *.csv *.dat);;All files (*)"
SAVE_FILTER = "CSV columns (*.csv);;EMSA/MSA (*.msa);;Text columns (*.txt)"
_PLAIN = (ParameterError, ReadError, SpectrumError, ModelMismatchError)
#: curve kinds on the measured counts' scale that the view fits as it fits the counts (the
#: background, the counts before it and the difference would dwarf or flatten the edge)
FRAMED = ("aligned", "fit")
_PENS = {  # auxiliary curve kind -> pen
    "background": pg.mkPen("#ff7f0e", width=1.6, style=Qt.DashLine),
    "residual": pg.mkPen("#7f7f7f", width=1.0),
    "before": pg.mkPen("#bbbbbb", width=1.0),
    "aligned": pg.mkPen("#e377c2", width=2.2),  # not the predicted average's red
    "difference": pg.mkPen("#2ca02c", width=1.0, style=Qt.DotLine),
    "fit": pg.mkPen("#000000", width=1.8, style=Qt.DashLine),
    "pixel": pg.mkPen("#9467bd", width=1.2),
}


def _edge_text(edge, seen) -> str:
    """How the Edge list names an edge the windows can be set around."""
    return f"{edge[0]} {edge[1]}, onset {edge[2]:g} eV" + ("" if edge in seen else " (not clearly seen)")


def site_class_schemes() -> dict | None:
    """The site-class schemes of :mod:`amorpha.engine.spectra.site_classes`, None if it is absent."""
    try:
        from amorpha.engine.spectra.site_classes import SCHEMES
    except ImportError:
        return None
    return dict(SCHEMES)


def alignment_doubts(meta: dict) -> str:
    """What makes an alignment (:func:`~amorpha.engine.spectra.compare.align`'s ``meta``) not
    to be trusted, in words for the Compare tab; "" when nothing does."""
    notes = []
    if meta["amplitude"] <= 0:  # the best r is not positive: the prediction was turned upside down
        notes.append("No shift in the search makes the prediction rise where the counts rise (its best "
                     "factor is negative, so it is drawn upside down): subtract the background first, "
                     "or check that the edge is the one predicted.")
    if meta["shift_at_limit"]:
        notes.append("The shift is at the end of the search ({:g} to {:+g} eV) or near it: the two do not "
                     "line up within it. Subtract the background first, or narrow the window to the "
                     "edge.".format(*meta["shift_range_ev"]))
    if meta.get("no_better_than_flat"):
        flat = meta["flat_line"]
        notes.append(f"The aligned prediction matches the counts no better than a flat line does (a flat "
                     f"line: cosine {flat['cosine']:.3f}, R-factor {flat['r_factor']:.3f}): the window holds "
                     f"only noise, no edge of this kind, or an edge whose shape the prediction lacks.")
    if meta["scale_at_limit"]:
        notes.append("The energy scale is at the end of its search ({:g} to {:g}): the stretch fits noise "
                     "or a feature the prediction lacks; untick 'Fit the energy scale too', or narrow the "
                     "window.".format(*meta["scale_range"]))
    return "".join(" " + n for n in notes)


def shift_text(meta: dict) -> str:
    """An alignment's energy mapping in words, led by how far the prediction's main peak moved:
    the shift about the window's centre is not that once the scale differs from 1 (YAG: "Shift
    −1.15 eV, scale 0.9 about 557 eV" moved the 538 eV peak by +0.3 eV)."""
    peak, moved, scale = meta["peak_ev"], meta["peak_shift_ev"], meta["energy_scale"]
    text = f"main peak of the prediction moved {moved:+.3f} eV ({peak:.2f} → {peak + moved:.2f} eV)"
    if scale != 1.0:
        text += (f", energy scale {scale:.5f} about it (as a shift {meta['shift_ev']:+.3f} eV about the "
                 f"window centre {meta['scale_centre_ev']:.4g} eV)")
    return text[0].upper() + text[1:]


def intensity_text(meta: dict) -> str:
    """The fitted intensity in words: the constant, when one was fitted, is not counted in the
    similarity."""
    constant = meta["constant"]
    if constant == 0.0:
        return f"intensity ×{meta['amplitude']:.4g} (no constant: the background was removed)"
    return f"intensity ×{meta['amplitude']:.4g} + {constant:.4g} (the constant is not counted in the similarity)"


def _seen_text(spectrum, seen) -> str:
    """The edges whose counts rise clearly (:func:`~amorpha.engine.spectra.edges.edges_seen`), or
    why there are none, for the file table."""
    from amorpha.engine.spectra.edges import MINOR, edge_jump, edges_within, is_low_loss

    e, y = spectrum.energy, spectrum.intensity
    if is_low_loss(e, y):
        return "none looked for in a low-loss spectrum (its zero-loss peak is on the axis)"
    major = [(element, edge, onset) for element, edge, onset in edges_within(e[0], e[-1]) if edge not in MINOR]
    if not major:
        return f"no tabulated edge lies in {e[0]:g}–{e[-1]:g} eV"
    if not seen:
        cramped = [f"{element} {edge} ({onset:g} eV)" for element, edge, onset in major
                   if edge_jump(e, y, onset) is None]
        more = f" and {len(cramped) - 3} more" if len(cramped) > 3 else ""
        why = f"the file starts at {e[0]:g} eV" if e[0] > 0 else "a power law needs positive energies and counts"
        return "no tabulated edge rises clearly above the background" + (
            f"; too few channels before {', '.join(cramped[:3])}{more} to fit one ({why})" if cramped else "")
    return ", ".join(f"{element} {edge} ({onset:g} eV)" for element, edge, onset in seen)


class MeasuredSpectra(QObject):
    changed = Signal()  # the processed spectrum (or the file) changed
    compared = Signal()
    fitted = Signal()
    decomposed = Signal()
    components_changed = Signal()

    def __init__(self, window, panel, plot_panel, prediction):
        super().__init__(window)
        self.window, self.runner, self.panel = window, window.runner, panel
        self.plot_panel, self.prediction = plot_panel, prediction
        self.data = None        # SpectrumData as read
        self.original = None    # the spectrum the steps start from (the mean of an image)
        self.current = None     # after the steps
        self.low_loss = None
        self.components: list[Spectrum] = []
        self.own_fractions: dict[str, float] = {}
        self.fit = None
        self.ranked = []  # candidate models each fitted alone, best first
        self.classes = None      # SiteClasses of the shown model when its classes are the components
        self.explanation = None  # site_classes.Explanation of the last fit with those classes
        self.component_notes: list[str] = []  # what adding the components said (shown until a fit says more)
        self.aligned = None
        self.decomposition = None
        self._onset_for = None  # (element, edge) whose tabulated onset the Compare tab was given
        self._edge_model = None  # "O K": the model to predict with once the models have loaded
        self.edge = None  # (element, edge, onset) the windows were set around
        self._edges = ([], [])  # the file's edges the windows can be set around (with theirs), and those seen
        self.low_loss_file = False  # the file opened holds its zero-loss peak (no core edge belongs on it)
        self._opened_note = ""  # what opening the file said, until the first background preview
        self._scheme_element = None  # the element whose site-class scheme the panel offers first
        prediction.model_changed.connect(self._model_changed)
        window.model_ready.connect(self._choose_scheme)  # another structure: its sites may split otherwise
        prediction.prediction_settled.connect(self._prediction_settled)
        self._aligned_from = None  # the predicted average the alignment was made of
        self._curves: dict[str, list] = {}
        self.region = pg.LinearRegionItem(brush=pg.mkBrush(255, 165, 0, 45), movable=True)
        self.region.setZValue(-10)
        self.region.setToolTip("Pre-edge window of the power-law background: drag it or its edges")
        self.region.sigRegionChangeFinished.connect(self._region_moved)
        for box in panel.bg_window:
            box.valueChanged.connect(self._window_typed)
        panel.open_requested.connect(self.open_dialog)
        panel.step_requested.connect(self.apply_step)
        panel.undo_requested.connect(self.undo)
        panel.low_loss_requested.connect(self.low_loss_dialog)
        panel.zero_loss_requested.connect(self.zero_loss)
        panel.edge_chosen.connect(self.choose_edge)
        panel.align_requested.connect(self.align)
        panel.add_models_requested.connect(self.add_models_dialog)
        panel.add_classes_requested.connect(self.add_classes)
        panel.remove_component_requested.connect(self.remove_component)
        panel.fit_requested.connect(self.fit_components)
        panel.decompose_requested.connect(self.decompose)
        panel.map_requested.connect(self.show_map)
        panel.save_spectrum_requested.connect(self.save_spectrum_dialog)
        panel.save_plot_requested.connect(self.save_plot_dialog)
        panel.save_report_requested.connect(self.save_report_dialog)
        panel.image_view.scene().sigMouseClicked.connect(self._image_clicked)
        panel.tabs.currentChanged.connect(lambda _: self._show_region())
        panel.set_schemes(site_class_schemes())
        plot_panel.placer = self._place_for_plot
        panel.onset.valueChanged.connect(lambda _: plot_panel.refresh())
        panel.place_at_onset.toggled.connect(lambda _: plot_panel.refresh())

    # -- messages -------------------------------------------------------------------------------
    def _error(self, what: str):
        def report(exc: BaseException) -> None:
            reason = str(exc) if isinstance(exc, _PLAIN) else f"{type(exc).__name__}: {exc}"
            self.window.show_error(what, f"{what} failed.\n\n{reason}\n\nNothing was changed.")
        return report

    def _refuse(self, what: str, reason: str) -> None:
        self.window.show_error(what, reason)

    def _start_dir(self) -> str:
        return self.window.settings.value("last_dir", str(Path.home()))

    # -- curves drawn here ----------------------------------------------------------------------
    def _draw(self, kind: str, spectrum: Spectrum, replace_kind: bool = True) -> None:
        plot = self.plot_panel.plot
        if replace_kind:
            self._erase(kind)
        item = plot.plot(np.asarray(spectrum.energy), np.asarray(spectrum.intensity), pen=_PENS[kind],
                         name=spectrum.label)
        self._curves.setdefault(kind, []).append(item)
        if kind in FRAMED:
            self.plot_panel.frame(item)
        else:
            self.plot_panel.place_legend()

    def _mark_edges(self, edges) -> None:
        """A dashed line at each edge seen in the counts, named at the top (the tabulated onset:
        it stays there when the axis is calibrated, where the measured edge should then be)."""
        self._erase("edge markers")
        for element, edge, onset in edges:
            line = pg.InfiniteLine(onset, angle=90, movable=False, pen=pg.mkPen("#999999", style=Qt.DashLine),
                                   label=f"{element} {edge}", labelOpts={"position": 0.96, "color": "#555555"})
            self.plot_panel.plot.addItem(line, ignoreBounds=True)
            self._curves.setdefault("edge markers", []).append(line)

    def _erase(self, *kinds: str) -> None:
        """Take the curves of ``kinds`` away, from the legend too, and from the key below the plot
        (which kept "NMF 1" after a k-means decomposition had replaced it)."""
        erased = False
        for kind in kinds:
            for item in self._curves.pop(kind, []):
                self.plot_panel.plot.removeItem(item)
                self.plot_panel.legend.removeItem(item)
                erased = True
        if erased:
            self.plot_panel.place_legend()

    def curves(self, kind: str) -> list:
        return list(self._curves.get(kind, []))

    # -- opening --------------------------------------------------------------------------------
    def open_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self.window, "Open measured spectrum", self._start_dir(), SPECTRUM_FILTER)
        if path:
            self.open(path)

    def open(self, path: str):
        """Read a measured file in the background; the one shown stays until it has loaded."""
        from amorpha.engine.spectra.microscope import read_microscope

        return self.runner.submit(f"Reading {os.path.basename(path)}",
                                  lambda progress, cancel: read_microscope(path), self.set_data,
                                  self._error("Opening spectrum " + os.path.basename(path)))

    def set_data(self, data) -> None:
        from amorpha.engine.spectra.edges import is_low_loss

        self.data = data
        self.original = self.current = data.spectrum()
        self.decomposition = None
        self._erase(*_PENS)
        fill_table(self.panel.components_table, [])  # the last file's components against the prediction
        e = data.energy
        choices, seen = self._edge_choices(self.original)
        self._edges = (choices, seen)
        low_loss = self.low_loss_file = is_low_loss(e, self.original.intensity)
        edge, windows = choices[0] if choices else (None, {})
        self._show_file(data, seen)
        self._mark_edges(seen)
        self.panel.show_edges([_edge_text(c, seen) for c, _ in choices])
        pre = self._set_windows(edge, windows)
        said = f"Opened {os.path.basename(data.source)}: {len(e)} channels, {e[0]:g}–{e[-1]:g} eV."
        if edge is not None:
            said += self._edge_said(edge, pre)
        if low_loss:
            said += (" A low-loss spectrum (its zero-loss peak is on the axis): no edge or background to "
                     "fit here; open it with Low loss… beside a core-loss file to deconvolve that one, "
                     "or centre its zero-loss peak (Zero-loss shift).")
        self.panel.status.setText(said)
        self._opened_note = said  # the first background preview adds to it instead of replacing it
        self.region.blockSignals(low_loss)  # no power-law preview across a zero-loss peak
        self._window_typed()
        self.region.blockSignals(False)
        self._show_current()
        self._show_region()
        self._choose_scheme()

    def _set_windows(self, edge, windows: dict) -> tuple[float, float]:
        """Put every energy window around ``edge`` (fractions of the range without one) and keep
        the plot to it: a survey (150-3147 eV) shows the edge's background and ELNES; the
        pre-edge window, which the status names."""
        e = self.original.energy
        span = e[-1] - e[0]
        self.edge = edge
        pre = windows.get("pre", (e[0] + 0.05 * span, e[0] + 0.25 * span))
        post = windows.get("post", (e[0] + 0.70 * span, e[0] + 0.95 * span))
        self.panel.set_window(self.panel.bg_window, *pre)
        self.panel.set_window(self.panel.pre_window, *pre)
        self.panel.set_window(self.panel.post_window, *post)
        for pair in (self.panel.compare_window, self.panel.fit_window):
            self.panel.set_window(pair, *windows.get("near", (e[0], e[-1])))
        if self.predicted() is not None:
            self._fill_onset(self.predicted())
        self.plot_panel.set_focus((pre[0] - 10.0, windows["near"][1]) if edge is not None else None)
        return pre

    @property
    def edge_seen(self):
        """The edge the windows sit around when it is seen in the counts, else None."""
        return self.edge if self.edge in self._edges[1] else None

    def _other_edge(self, element: str, edge: str) -> str | None:
        """Why a prediction of ``element`` ``edge`` has no place beside the edge seen in the
        counts (None when it has, or none is seen): Si K beside Si L2,3 failed Align with "b: the
        energy ranges do not overlap" and Explain with "components: …"."""
        from amorpha.gui.prediction import edge_key

        seen = self.edge_seen
        if seen is None or not element or (element, edge) == (seen[0], seen[1]):
            return None
        key = edge_key(seen[0], seen[1])
        return (f"The measured spectrum shows the {key} edge ({seen[2]:g} eV); the prediction is "
                f"{edge_key(element, edge)}. Load or train a model of the {key} edge (Predict panel).")

    def _edge_said(self, edge, pre) -> str:
        """What setting the windows around ``edge`` did, for the status line."""
        return (f" The {edge[0]} {edge[1]} edge ({edge[2]:g} eV) sets the background window "
                f"({pre[0]:.0f}–{pre[1]:.0f} eV) and the edge-step windows." + self._use_model_of(edge))

    def choose_edge(self, index: int) -> None:
        """Set the windows around another edge of the file (the Edge list: Ti L2,3 beside O K in
        SrTiO3), predict with its model when one is loaded; the steps done so far stay."""
        choices, seen = self._edges
        if self.original is None or not 0 <= index < len(choices):
            return
        edge, windows = choices[index]
        self.panel.edge_combo.setCurrentIndex(index)  # already there when chosen in the list
        pre = self._set_windows(edge, windows)
        said = self._opened_note = self._edge_said(edge, pre).strip()  # the background preview adds to it
        self._forget_results()
        self.panel.status.setText(said)
        self._window_typed()

    def _edge_choices(self, spectrum) -> tuple[list[tuple[tuple[str, str, float], dict]], list]:
        """The edges the windows can be set around, each with its starting windows
        (:func:`edge_windows`), best first, and the edges whose counts rise clearly
        (:func:`edges_seen`). First the seen edges of the shown structure's elements, then the
        tabulated edges of the structure's elements that are not clearly seen (the shown model can
        be compared there), then the seen edges of elements the structure lacks; an edge without
        room for a window is left out."""
        from amorpha.engine.elements import present_symbols
        from amorpha.engine.spectra.edges import (MINOR, edge_windows, edges_seen, edges_within, is_low_loss,
                                                  next_above, top_below)

        e, y = spectrum.energy, spectrum.intensity
        atoms = self.window.atoms
        symbols = present_symbols(atoms.numbers) if atoms is not None else set()
        seen = edges_seen(e, y)
        tabulated = [] if not symbols or is_low_loss(e, y) else \
            [t for t in edges_within(e[0], e[-1], symbols) if t[1] not in MINOR and t not in seen]
        ordered = [t for t in seen if t[0] in symbols] + tabulated + [t for t in seen if t[0] not in symbols]
        choices = [(edge, edge_windows(e, edge[2], top_below(edge[2], seen), next_above(edge[2], seen)))
                   for edge in ordered]
        return [(edge, windows) for edge, windows in choices if windows], seen

    def _use_model_of(self, edge) -> str:
        """Predict with the loaded model of the measured ``edge`` when the one in use is of another
        edge (an O K spectrum beside a Si K prediction compares nothing), or as soon as the models
        have loaded; what was done, for the status line. Only when a file opens: a model the user
        chooses afterwards stays. An edge of an element the shown structure lacks changes nothing:
        its model could predict nothing here."""
        from amorpha.engine.elements import present_symbols
        from amorpha.gui.prediction import edge_key, model_key

        key, model = edge_key(edge[0], edge[1]), self.prediction.model
        self._edge_model = None
        atoms = self.window.atoms
        if atoms is not None and edge[0] not in present_symbols(atoms.numbers):
            return (f" The shown structure has no {edge[0]}: its {edge[0]} {edge[1]} edge has nothing to be "
                    f"compared with.")
        if model is None:
            self._edge_model = key
            return ""
        if model_key(model) == key:
            return ""
        if key not in self.prediction.models:
            return f" No {key} model is loaded: the {model_key(model)} prediction is not of this edge."
        self.prediction.choose(key)
        return f" Predicting with the {key} model."

    def _model_changed(self, model) -> None:
        """Offer the site classes that suit the new model's element (a scheme the user picked
        stays while the element and the structure do); when the models arrive after a measured
        file, predict with the model of its edge (:meth:`_use_model_of`)."""
        element = model.element if model is not None else None
        if element and element != self._scheme_element and site_class_schemes() is not None:
            from amorpha.engine.spectra.site_classes import schemes_for

            self.panel.set_schemes(schemes_for(element))
            self._scheme_element = element
            self._choose_scheme()
        key, self._edge_model = self._edge_model, None
        if key and model is not None and key in self.prediction.models:
            self.prediction.choose(key)

    def _choose_scheme(self):
        """Offer first the scheme that splits the shown structure's sites of the model's element
        into two classes or more (:func:`~amorpha.engine.spectra.site_classes.splitting_scheme`,
        in the background: rings take a moment); Explain with no scheme given uses the same. Only
        once a measured spectrum is open: every structure shown paid a ring search (~20 s of a core
        at 10⁶ atoms) for a panel the user may never open."""
        element, atoms = self._scheme_element, self.window.atoms
        if element is None or atoms is None or self.current is None or site_class_schemes() is None:
            return None
        from amorpha.engine.spectra.site_classes import splitting_scheme

        def done(scheme):
            if self.window.atoms is atoms and self._scheme_element == element:
                self.panel.scheme.setCurrentIndex(max(0, self.panel.scheme.findData(scheme)))

        return self.runner.submit("_site-class scheme", lambda progress, cancel: splitting_scheme(
            atoms, element, progress=progress, cancel=cancel), done, lambda exc: None)

    def _show_file(self, data, seen=None) -> None:
        """The file's settings, the edges ``seen`` in its counts, and for a line scan or map its
        total counts per pixel."""
        meta = dict(data.meta)
        if self._judged_eels():
            meta["signal type"] = "EELS (not in the file: judged from its counts)"
        if seen is not None:
            meta["edges seen"] = _seen_text(self.original, seen)
        self.panel.show_data(data.title, data.kind, data.shape, meta)
        self.panel.set_loaded(True, image=bool(data.shape))
        self.panel.image_item.clear()
        self.panel.pixel_marker.clear()
        self.panel.show_decomposition(["total counts (click a pixel)"] if data.shape else [])
        if data.shape:
            self.panel.show_pixel_size(data.navigation)
            self.show_map(0)

    def _judged_eels(self) -> bool:
        """Whether the counts show an EELS spectrum that the file does not call one: core-loss
        edges seen, or a zero-loss peak (SrTiO3_hl.msa has no SIGNALTYPE, and its axis, with Ti
        L2,3 and O K on it, was called "Energy")."""
        return "signal type" not in self.data.meta and bool(self._edges[1] or self.low_loss_file)

    # -- projects -------------------------------------------------------------------------------
    def state(self):
        """The project entry (an AnalysisResult) for the file as read, the steps and the low loss;
        None when no measured spectrum is open."""
        from amorpha.engine.spectra.measured_state import to_result

        if self.data is None:
            return None
        return to_result(self.data, self.original, self.current, self.low_loss, edge=self.edge or ())

    def restore(self, state) -> None:
        """Show a measured spectrum kept in a project (a ``MeasuredState``): processed as saved,
        with its steps, so Undo works. A spectrum image too large to be stored is read again from
        its file in the background; until then (or if the file is gone) its mean spectrum is shown."""
        self.set_data(state.data)
        choices = [edge for edge, _ in self._edges[0]]
        if state.edge and state.edge in choices and state.edge != self.edge:  # chosen in the Edge list
            self.choose_edge(choices.index(state.edge))
        self.original, self.current, self.low_loss = state.original, state.current, state.low_loss
        self.panel.low_loss_label.setText(state.low_loss.label if state.low_loss is not None else "no low-loss spectrum")
        self._show_current()
        self.panel.status.setText(f"Restored {os.path.basename(state.data.source) or state.data.title} from the "
                                  f"project with {self.panel.steps.count()} step(s).")
        if state.image_path:
            self._read_image_again(state)

    def _read_image_again(self, state):
        from amorpha.engine.spectra.microscope import read_microscope

        path, original, name = state.image_path, self.original, os.path.basename(state.image_path)

        def done(data):
            if self.original is not original:
                return  # another spectrum was opened meanwhile
            if data.data.shape != state.image_shape or not np.allclose(data.energy, state.data.energy):
                self.panel.status.setText(f"{name} has changed since the project was saved; its mean spectrum "
                                          "as saved is shown without the image.")
                return
            self.data = data
            self._show_file(data, self._edges[1])

        def failed(exc):
            if self.original is original:
                self.panel.status.setText(f"The spectrum image was too large to keep in the project and {name} "
                                          f"cannot be read ({exc}); its mean spectrum and steps are restored.")

        return self.runner.submit(f"Reading {name} again", lambda progress, cancel: read_microscope(path), done,
                                  failed)

    def _show_region(self) -> None:
        """The pre-edge window on the plot: in the Prepare tab, and not across a zero-loss peak
        (a low-loss file has no background to fit; the window shaded -20..62 eV over its peak)."""
        self.region.setVisible(self.panel.tabs.currentIndex() == 0 and not self.low_loss_file)

    def _forget_results(self) -> None:
        """An alignment or a fit belongs to the measured spectrum and the edge it was made for:
        when either changes, its curves, tables and words go (they stayed beside another file's
        counts, and Save fit report said "Fit first" under a fit on screen)."""
        self.fit = self.aligned = self.explanation = None
        self.ranked = []
        self._erase("aligned", "difference", "fit")
        self.panel.clear_results()
        self.panel.show_notes(self.component_notes)

    def _prediction_settled(self) -> None:
        """A new prediction (another model, structure or edge) makes the alignment and the fit
        made with the old one stale."""
        if self.aligned is not None and self.predicted() is not self._aligned_from:
            self._forget_results()

    def _show_current(self) -> None:
        from amorpha.engine.spectra.prepare import steps_of

        self._forget_results()
        steps = steps_of(self.current)
        judged = {"signal type": "EELS"} if self._judged_eels() else {}  # the plot's axis: "Energy loss"
        shown = replace(self.current, meta={**self.current.meta, **judged, "steps": [s.to_dict() for s in steps]})
        self.plot_panel.remove_group("measured")
        self.plot_panel.add_spectrum(shown, "measured")
        self.panel.show_steps([s.summary() for s in steps])
        if self.region.scene() is None:  # the plot was cleared
            self.plot_panel.plot.addItem(self.region, ignoreBounds=True)
            self._show_region()
        self.changed.emit()

    # -- preparing ------------------------------------------------------------------------------
    def apply_step(self, name: str, params: dict):
        """Run one preparation step on the current spectrum in the background."""
        from amorpha.engine.spectra.prepare import STEPS, refuse_rising

        if self.current is None:
            return None
        if name == "fourier_ratio":
            if self.low_loss is None:
                self._refuse("Fourier-ratio", "Open the low-loss spectrum first (Low loss…).")
                return None
            params = {**params, "low_loss": self.low_loss}
        before = self.current

        def work(progress, cancel):
            out = STEPS[name](before, **params)
            if name == "powerlaw_background":
                refuse_rising(out[1])  # a rising power law would cut the edge away: nothing is changed
            return out

        def done(out):
            if self.current is not before:
                return
            spectrum, extra = out if isinstance(out, tuple) else (out, None)
            self._erase("background", "residual", "before")
            if name == "powerlaw_background":
                self._show_background(before, extra)
            self.current = spectrum
            self._show_current()
            self.panel.status.setText(f"{spectrum.meta['steps'][-1].summary()}.")

        return self.runner.submit(name.replace("_", " ").capitalize(), work, done,
                                  self._error(name.replace("_", " ").capitalize()))

    def undo(self):
        from amorpha.engine.spectra.prepare import background_removed, steps_of, undo

        if self.current is None or not steps_of(self.current):
            self.panel.status.setText("Nothing to undo.")
            return None
        before, original = self.current, self.original

        def done(spectrum):
            if self.current is before:
                self._erase("background", "residual", "before")
                self.current = spectrum
                self._show_current()
                self.panel.status.setText("Last step undone.")
                if background_removed(before) and not background_removed(spectrum) and not self.low_loss_file:
                    self.preview_background(tuple(self.region.getRegion()))  # its line, as before Subtract

        return self.runner.submit("Undo", lambda progress, cancel: undo(original, before), done, self._error("Undo"))

    def _window_typed(self) -> None:
        lo, hi = self.panel.window_of(self.panel.bg_window)
        if lo < hi and (lo, hi) != tuple(self.region.getRegion()):
            self.region.setRegion((lo, hi))  # emits sigRegionChangeFinished: the preview follows

    def _region_moved(self) -> None:
        lo, hi = self.region.getRegion()
        self.panel.set_window(self.panel.bg_window, lo, hi)
        self.preview_background((lo, hi))

    def preview_background(self, window):
        """Fit the power law in ``window`` and show it with its residual; nothing is changed."""
        from amorpha.engine.spectra.prepare import powerlaw_background

        if self.current is None:
            return None
        before = self.current

        def done(out):
            if self.current is before and tuple(window) == tuple(self.region.getRegion()):  # not a stale preview
                self._erase("before")
                self._show_background(before, out[1], preview=True)

        def failed(exc):
            self._erase("background", "residual")
            reason = exc.reason if isinstance(exc, ParameterError) and exc.parameter == "window" else exc
            self._say_after_opening(f"Background window: {reason}.")

        return self.runner.submit("_background preview", lambda progress, cancel: powerlaw_background(before, window),
                                  done, failed)

    def _show_background(self, spectrum: Spectrum, fit, preview: bool = False) -> None:
        from amorpha.engine.spectra.prepare import exponent_text

        e = spectrum.energy
        # from the window on, and no higher than the counts reach: a rising power law (a preview
        # Subtract refuses) grew to 1e10 and squashed the spectrum flat on its axis
        beyond = (e >= fit.window[0]) & (fit.background <= np.nanmax(spectrum.intensity))
        if preview:  # once subtracted, the raw-count line ran across the subtracted spectrum at 1700 counts
            self._draw("background", Spectrum(e[beyond], fit.background[beyond],
                                              label=f"background {exponent_text(fit.A, fit.r)}"))
        self._draw("residual", Spectrum(fit.window_energy, fit.residual, label="residual in the window"))
        if not preview:
            self._draw("before", replace(spectrum, label="before background"))
        else:
            doubt = f" {fit.doubt}" if fit.doubt else ""
            apply = "Subtract to apply" if fit.r > 0 else "Subtract refuses it"
            self._say_after_opening(f"Power law in {fit.window[0]:.4g}–{fit.window[1]:.4g} eV: "
                                    f"A = {fit.A:.4g}, r = {fit.r:.4f} ({apply}).{doubt}")

    def _say_after_opening(self, text: str) -> None:
        """The background preview's result, after what opening the file said the first time."""
        note, self._opened_note = self._opened_note, ""
        self.panel.status.setText((note + " " if note else "") + text)

    def low_loss_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self.window, "Open low-loss spectrum", self._start_dir(), SPECTRUM_FILTER)
        if path:
            self.load_low_loss(path)

    def load_low_loss(self, path: str):
        from amorpha.engine.spectra.microscope import read_microscope

        def done(spectrum):
            self.low_loss = replace(spectrum, label=os.path.basename(path))
            self.panel.low_loss_label.setText(os.path.basename(path))

        return self.runner.submit(f"Reading {os.path.basename(path)}",
                                  lambda progress, cancel: read_microscope(path).spectrum(), done,
                                  self._error("Opening the low loss " + os.path.basename(path)))

    def zero_loss(self):
        """Calibrate measured and low loss together so the zero-loss peak sits at 0 eV."""
        from amorpha.engine.spectra.prepare import calibrate, zero_loss_shift

        if self.low_loss is None:
            self._refuse("Zero-loss shift", "Open the low-loss spectrum first (Low loss…).")
            return None
        try:
            shift = zero_loss_shift(self.low_loss)
        except ParameterError as exc:
            self._error("Zero-loss shift")(exc)
            return None
        self.low_loss = calibrate(self.low_loss, shift=shift)
        return self.apply_step("calibrate", {"shift": shift, "scale": 1.0})

    # -- comparing ------------------------------------------------------------------------------
    def predicted(self) -> Spectrum | None:
        shown = self.plot_panel.group("predicted")
        return shown[0] if shown else None

    def _fill_onset(self, predicted: Spectrum) -> None:
        """Give the Compare tab the tabulated onset of the prediction's edge, once per element and
        edge, so an onset the user typed for that edge stays."""
        from amorpha.engine.spectra.edges import edge_onset

        key = (predicted.element, predicted.edge)
        if key == self._onset_for:
            return
        self._onset_for = key
        what = " ".join(k for k in key if k) or "this prediction"
        try:
            onset, source = edge_onset(*key)
            self.panel.show_onset(onset, f"{what} ({source})")
        except ParameterError:
            self.panel.show_onset(0.0, f"{what}: not tabulated")

    def placed(self, predicted: Spectrum) -> tuple[Spectrum, float | None]:
        """(the prediction on the measured energy axis, the onset added or None). Predictions are
        relative to their edge (:mod:`amorpha.engine.spectra.edges`): one on such a scale beside a
        measured spectrum at the edge is put at the Compare tab's edge onset, which alignment then
        refines."""
        from amorpha.engine.spectra.edges import is_edge_relative, place_at_onset

        self._fill_onset(predicted)
        onset, measured = self.panel.onset.value(), self.current
        if not self.panel.place_at_onset.isChecked() or measured is None:
            return predicted, None
        if onset > 0:
            if is_edge_relative(predicted, onset) and not is_edge_relative(measured, onset):
                return place_at_onset(predicted, onset), onset
            return predicted, None
        if min(predicted.energy[-1], measured.energy[-1]) > max(predicted.energy[0], measured.energy[0]):
            return predicted, None  # on the measured axis already (both relative, say)
        what = " ".join(k for k in (predicted.element, predicted.edge) if k) or "predicted"
        raise ParameterError("onset", f"the prediction shares no energy with the measured spectrum and the {what} "
                                      "edge has no tabulated onset: type where the edge starts on the measured "
                                      "axis (Compare › edge onset, eV), or untick 'Place the prediction at the "
                                      "edge onset'")

    def _place_for_plot(self, spectrum: Spectrum) -> Spectrum | str:
        """A prediction as the spectrum plot draws it beside the measured one: placed like Compare
        places it (:meth:`placed`), or why it has no place there (a core edge on a low-loss axis,
        whose numbers overlap an edge-relative one by chance)."""
        if self.current is None:
            return spectrum
        if spectrum.edge and self.low_loss_file:  # judged once, when the file opened
            return f"the {spectrum.element} {spectrum.edge} edge has no place on a low-loss spectrum"
        try:
            return self.placed(spectrum)[0]
        except ParameterError:  # it shares no energy with the file and nothing places it there
            what = " ".join(k for k in (spectrum.element, spectrum.edge) if k) or "its"
            return f"{what} edge has no tabulated onset: type one in Compare › edge onset"

    def on_measured_axis(self, predicted: Spectrum) -> Spectrum:
        """A prediction placed like Compare places it (:meth:`placed`), and moved by Compare's last
        alignment (shift and energy scale, :func:`~amorpha.engine.spectra.compare.on_aligned_axis`)
        when one was placed the same way, so components of Explain sit where the aligned prediction
        sits."""
        from amorpha.engine.spectra.compare import on_aligned_axis

        spectrum, onset = self.placed(predicted)
        aligned = self.aligned
        if aligned is not None and aligned.meta.get("edge_onset_ev") == onset:  # placed alike
            spectrum = on_aligned_axis(spectrum, aligned.meta)
        return spectrum

    def _broadening(self):
        """A function (for the worker) that adds the panel's instrument and lifetime broadening to
        a predicted spectrum; the identity when both are 0."""
        from amorpha.engine.spectra.prepare import instrument_broadening

        g, l = self.panel.broadening()
        if g == 0 and l == 0:
            return lambda spectrum: spectrum
        return lambda spectrum: instrument_broadening(spectrum, g, l)

    def align(self, window, fit_scale: bool = True):
        """Align the prediction on the counts (:func:`~amorpha.engine.spectra.compare.align`): with
        no free constant once a step removed the background (the counts stand on zero there, and a
        constant floated the curve ~3000 counts above them before the onset)."""
        from amorpha.engine.spectra.compare import align, difference, similarity
        from amorpha.engine.spectra.prepare import background_removed

        measured, predicted = self.current, self.predicted()
        shown = predicted
        if measured is None or predicted is None:
            self._refuse("Align", "Compare needs a measured spectrum and a predicted one: open a model "
                                  "the surrogate can predict (Predict panel).")
            return None
        other = self._other_edge(predicted.element, predicted.edge)
        if other:
            self._refuse("Align", other)
            return None

        try:
            predicted, onset = self.placed(predicted)
        except ParameterError as exc:
            self._error("Align")(exc)
            return None
        broaden, offset = self._broadening(), not background_removed(measured)

        def work(progress, cancel):
            predicted_b = broaden(predicted)
            raw = similarity(measured, predicted_b, window)
            shift, scale, aligned, sim = align(measured, predicted_b, window, scale=fit_scale, offset=offset)
            return raw, shift, scale, aligned, sim, difference(measured, aligned, window)

        def done(result):
            if self.current is not measured:  # a step or another file came meanwhile
                return self._dropped("Compare")
            raw, shift, scale, aligned, sim, diff = result
            self.aligned, self._aligned_from = aligned, shown
            at = f" at the {onset:g} eV onset" if onset is not None else ""
            tied = f" (its model's axis tied to a measured peak: {predicted.meta['onset_at_from']})" \
                if "onset_at_from" in predicted.meta else ""
            meta = aligned.meta
            moved = meta["peak_shift_ev"]
            stretch = f", energy scale {scale:.4f}" if fit_scale else ""
            self._draw("aligned", replace(aligned, label=f"prediction{at} aligned (main peak {moved:+.2f} eV{stretch})"))
            self._draw("difference", replace(diff, label="measured − aligned"))
            self.panel.show_similarity([("as predicted" if onset is None else "at the onset", raw),
                                        ("aligned", sim)])
            doubts = alignment_doubts(meta)
            self.panel.alignment.setText(
                (f"Prediction placed at the edge onset {onset:g} eV{tied}, then: " if onset is not None else "") +
                shift_text(meta) + "; " + intensity_text(meta) +
                f"; compared {span_text(sim['window'], window)}." + doubts)
            self.panel.status.setText(
                f"Aligned: main peak {moved:+.2f} eV{stretch}; cosine {sim['cosine']:.3f}, R-factor "
                f"{sim['r_factor']:.3f} (Compare tab)." + (" Not to be trusted: see the Compare tab." if doubts else ""))
            self.compared.emit()

        return self.runner.submit("Aligning the prediction", work, done, self._error("Align"))

    def _dropped(self, action: str) -> None:
        """A result made for a measured spectrum that is no longer the one shown is not drawn."""
        self.panel.status.setText(f"The measured spectrum changed while {action} ran: its result is not shown "
                                  f"({action} again to redo it).")

    # -- explaining -----------------------------------------------------------------------------
    def set_components(self, components: list[Spectrum], own: dict | None = None) -> None:
        self.components = components
        self.own_fractions = dict(own or {})
        self.panel.show_components([c.label for c in components])
        self.components_changed.emit()

    def add_models_dialog(self) -> None:
        from amorpha.engine.io import FILE_FILTERS

        paths, _ = QFileDialog.getOpenFileNames(self.window, "Candidate models", self._start_dir(),
                                                ";;".join(FILE_FILTERS))
        if paths:
            self.add_models(paths)

    def add_models(self, paths: list[str]):
        """Each structure's predicted average (current surrogate) becomes one component."""
        from amorpha.engine.io import open_structure
        from amorpha.engine.surrogate.domain import outside_note
        from amorpha.engine.tasks import sub_progress

        model = self.prediction.model
        if model is None:
            self._refuse("Add models", "No spectrum model is loaded (Predict panel › Load model).")
            return None

        def work(progress, cancel):
            out = []
            for i, path in enumerate(paths):
                part = sub_progress(progress, i / len(paths), (i + 1) / len(paths))
                atoms = open_structure(path, cancel=cancel)[0]  # a ReadError names the file itself
                try:
                    sites = model.predict_structure(atoms, progress=part, cancel=cancel)
                except (ModelMismatchError, ParameterError) as exc:  # which of the files chosen
                    raise ModelMismatchError(f"{Path(path).name}: {exc}") from None
                far = outside_note(sites.distance, model.element)  # a candidate the model cannot judge
                out.append((model.average(sites, Path(path).stem), far))
            return out

        def done(predicted):
            kept = [c for c in self.components if c.meta.get("kind") != "class"]
            self.classes = None
            self.component_notes = [f"{s.label}: {far}" for s, far in predicted if far]
            self.panel.show_notes(self.component_notes)
            self.set_components(kept + [replace(s, meta={**s.meta, "kind": "model"}) for s, _ in predicted])

        return self.runner.submit(f"Predicting {len(paths)} candidate model(s)", work, done,
                                  self._error("Adding candidate models"))

    def add_classes(self, scheme: str | None = None):
        """The shown model's site classes (predicted average of each) become the components;
        ``scheme`` None: the first that splits the sites
        (:func:`~amorpha.engine.spectra.site_classes.splitting_scheme`, as the panel offers)."""
        if site_class_schemes() is None:
            self._refuse("Site classes", "Site classes need amorpha.engine.spectra.site_classes.")
            return None
        from amorpha.engine.spectra.site_classes import ClassParams, predicted_classes, splitting_scheme
        from amorpha.engine.tasks import sub_progress

        atoms, model = self.window.atoms, self.prediction.model
        if atoms is None or model is None:
            self._refuse("Site classes", "Show a model and load a spectrum model (Predict panel) first.")
            return None
        other = self._other_edge(model.element, model.edge)
        if other:
            self._refuse("Site classes", other)
            return None

        def work(progress, cancel):
            chosen = scheme or splitting_scheme(atoms, model.element, progress=sub_progress(progress, 0.0, 0.2),
                                                cancel=cancel)
            return predicted_classes(atoms, model, ClassParams(scheme=chosen), progress=sub_progress(
                progress, 0.0 if scheme else 0.2, 1.0), cancel=cancel)

        def done(classes):
            comps = [replace(c, meta={**c.meta, "kind": "class"}) for c in classes.components]
            self.classes = replace(classes, components=comps)
            self.set_components(comps, dict(zip(classes.labels, classes.fractions.tolist())))
            self.component_notes = list(classes.notes)
            self.panel.show_notes(self.component_notes)
            self.panel.status.setText(f"{counted(len(comps), classes.scheme + ' class', classes.scheme + ' classes')} "
                                      f"of the shown model ({int(classes.counts.sum())} {classes.element} sites).")

        return self.runner.submit(f"Site classes ({scheme or 'the first that splits the sites'})", work, done,
                                  self._error("Site classes"))

    def explain_shown_model(self, scheme: str | None = None):
        """Align the prediction (shift only), then fit the measured spectrum with the shown model's
        site classes (``scheme``, by default the first that splits the shown model's sites, as the
        panel offers; the predicted average when the site-class engine is absent); None when there
        is no prediction to use. The command line's ``--measured`` comes here."""
        predicted = self.predicted()
        if self.current is None or predicted is None:
            return None
        try:
            p = self.placed(predicted)[0].energy
        except ParameterError as exc:
            self.panel.status.setText(f"Nothing to explain: {exc}")
            return None
        e = self.current.energy
        if min(e[-1], p[-1]) <= max(e[0], p[0]):
            self.panel.status.setText(f"Nothing to explain: the prediction ({p[0]:g}–{p[-1]:g} eV) and the measured "
                                      f"spectrum ({e[0]:g}–{e[-1]:g} eV) share no energy range.")
            return None

        def fit_now():
            self.fit_components(self.panel.window_of(self.panel.fit_window), self.panel.background_kind.currentData(),
                                self.panel.n_bootstrap.value())

        def components():
            if site_class_schemes() is not None and self.window.atoms is not None and self.prediction.model is not None:
                self.components_changed.connect(fit_now, Qt.SingleShotConnection)
                self.add_classes(scheme)  # None: the first scheme that splits the sites, as the panel offers
            else:
                self.set_components([replace(predicted, label="shown model (predicted average)")])
                fit_now()

        self.panel.tabs.setCurrentIndex(2)
        self.compared.connect(components, Qt.SingleShotConnection)
        return self.align(self.panel.window_of(self.panel.compare_window), False)

    def remove_component(self, row: int) -> None:
        if 0 <= row < len(self.components):
            kept = self.components[:row] + self.components[row + 1:]
            self.set_components(kept, {k: v for k, v in self.own_fractions.items()
                                        if k != self.components[row].label})

    def _fitting_classes(self):
        """The shown model's site classes when they are exactly the components, else None."""
        if self.classes is not None and [c.label for c in self.components] == self.classes.labels:
            return self.classes
        return None

    def fit_components(self, window, background="nonneg_linear", n_bootstrap: int = 200):
        """Fit the measured spectrum with the components: the shown model's site classes through
        :func:`~amorpha.engine.spectra.site_classes.explain` (classes the spectrum cannot tell
        apart are merged, with notes), any other set with a plain non-negative fit."""
        from amorpha.engine.spectra.site_classes import explain, undetermined_notes
        from amorpha.engine.spectra.unmix import bootstrap, fit_components, rank_models

        if self.current is None:
            self._refuse("Explain", "Open a measured spectrum first.")
            return None
        if not self.components:
            self._refuse("Explain", "There are no components to fit with: add candidate models "
                                    "(Add models…) or the shown model's site classes first.")
            return None
        other = next(filter(None, (self._other_edge(c.element, c.edge) for c in self.components)), None)
        if other:
            self._refuse("Explain", other)
            return None
        try:
            components = [self.on_measured_axis(c) for c in self.components]
        except ParameterError as exc:
            self._error("Explain")(exc)
            return None
        measured, broaden = self.current, self._broadening()
        classes, n_bootstrap = self._fitting_classes(), int(n_bootstrap) if n_bootstrap >= 2 else 0

        def work(progress, cancel):
            broadened = [broaden(c) for c in components]
            if classes is not None:
                return explain(measured, replace(classes, components=broadened), window, background,
                               n_bootstrap, seed=0), []
            candidates = {c.label: c for c in broadened if c.meta.get("kind") == "model"}
            fit = fit_components(measured, broadened, window, background)
            if n_bootstrap:
                bootstrap(fit, n_bootstrap, seed=0)
            ranked = rank_models(measured, candidates, window, background) if len(candidates) > 1 else []
            return fit, ranked

        def done(result):
            if self.current is not measured:  # a step or another file came meanwhile
                return self._dropped("Explain")
            fit, ranked = result
            self.explanation, own = None, self.own_fractions
            if classes is not None:
                self.explanation, fit = fit, fit.fit
                own = {row["class"]: row["model_fraction"] for row in self.explanation.rows()}
                self.panel.show_notes(self.explanation.notes)
            else:
                self.panel.show_notes(undetermined_notes(fit) + _alike_note(ranked))
            self.fit, self.ranked = fit, ranked
            self._draw("fit", fit.model_spectrum(f"fit (R² {fit.r2:.4f})"))
            self.panel.show_fit(fit, own, window)
            n = len(fit.labels)
            self.panel.status.setText(f"Fitted with {n} component{'s' * (n != 1)} (black dashed curve on the plot).")
            if ranked:
                self.panel.fit_quality.setText(self.panel.fit_quality.text() + "<br>Each model alone, best first "
                                               "(R-factor): " + ", ".join(f"{r.name} {r.score:.4f}" for r in ranked))
            self.fitted.emit()

        return self.runner.submit(f"Fitting {len(components)} components", work, done, self._error("Explain"))

    # -- spectrum images ------------------------------------------------------------------------
    def decompose(self, method: str, n_components: int):
        """Decompose the pixels as prepared: the Prepare tab's steps replayed on each."""
        from amorpha.engine.spectra.images import (DecompositionParams, compare_components, decompose,
                                                   prepared_pixels)
        from amorpha.engine.spectra.prepare import steps_of
        from amorpha.engine.tasks import sub_progress

        data, predicted, broaden = self.data, self.predicted(), self._broadening()
        steps = steps_of(self.current) if self.current is not None else []
        if data is None or not data.shape:
            self._refuse("Decompose", "Open a line scan or spectrum image first.")
            return None
        if predicted is not None:
            try:
                predicted = self.placed(predicted)[0]
            except ParameterError:
                pass  # no onset: the clusters are compared with the prediction as it is, if at all

        def work(progress, cancel):
            pixels = prepared_pixels(data, steps, sub_progress(progress, 0.0, 0.4), cancel) if steps else data
            dec = decompose(pixels, DecompositionParams(method, int(n_components)),
                            sub_progress(progress, 0.4 if steps else 0.0, 1.0), cancel)
            rows = None
            if predicted is not None:
                try:
                    rows = compare_components(dec, broaden(predicted))
                except ParameterError:
                    rows = None  # no common energy range with the prediction
            return dec, rows

        def done(result):
            if self.data is not data:  # another file came meanwhile
                return self._dropped("Decompose")
            dec, rows = result
            self.decomposition = dec
            names = [dec.component(k).label for k in range(dec.n_components)]
            if dec.labels is not None:
                names = ["k-means clusters (all)"] + names
            self.panel.show_decomposition(names)
            self.show_map(0)
            fill_table(self.panel.components_table, [[r["component"], f"{r['pearson']:.4f}", f"{r['cosine']:.4f}",
                                                      f"{r['r_factor']:.4f}"] for r in rows or []])
            note = "" if rows is not None else " (no prediction on a common energy range to compare with)"
            prepared = f" of the pixels after the {counted(len(steps), 'Prepare step')}" if steps else ""
            name = self.panel.method.itemText(self.panel.method.findData(method)) or method  # as listed
            parts = counted(dec.n_components, "cluster" if method == "kmeans" else "component")
            self.panel.status.setText(f"{name}: {parts}{prepared}" + note +
                                      ("; " + "; ".join(dec.notes) if dec.notes else ""))
            self.decomposed.emit()

        return self.runner.submit(f"Decomposing ({method})", work, done, self._error("Decompose"))

    def show_map(self, choice: int) -> None:
        """Map ``choice`` of the Image tab: before a decomposition the total counts per pixel."""
        dec = self.decomposition
        if self.data is None or not self.data.shape:
            return
        if dec is None:
            image, categorical, k = self.data.data.sum(axis=-1), False, -1
        elif dec.labels is not None:
            if choice == 0:
                image, categorical = dec.labels, True
            else:
                image, categorical = dec.image(choice - 1), False
            k = choice - 1
        else:
            image, categorical, k = dec.image(choice), False, choice
        self.panel.show_map(np.reshape(image, (-1, image.shape[-1])) if image.ndim > 1 else image[None, :],
                            categorical)
        self._erase("pixel")
        if k >= 0:
            self._draw("pixel", dec.on_counts(k, self._counts_height(dec.energy)))

    def _counts_height(self, energy: np.ndarray) -> float:
        """The largest |count| of the measured spectrum shown within ``energy``'s range: the height
        a PCA loading is drawn at beside it."""
        e, y = self.current.energy, np.abs(self.current.intensity)
        inside = (e >= energy[0]) & (e <= energy[-1])
        return float(y[inside].max() if inside.any() else y.max())

    def _image_clicked(self, event) -> None:
        if self.data is None or not self.data.shape:
            return
        point = self.panel.image_item.mapFromScene(event.scenePos())
        self.show_pixel(int(np.floor(point.y())), int(np.floor(point.x())))

    def show_pixel(self, row: int, col: int) -> Spectrum | None:
        """Draw one pixel's spectrum (row, col of the map; a line scan is one row), with the
        Prepare tab's steps replayed on it."""
        from amorpha.engine.spectra.prepare import replay, steps_of

        shape = self.data.shape
        flat = (int(np.prod(shape[:-1])), shape[-1]) if len(shape) > 1 else (1, shape[0])
        if not (0 <= row < flat[0] and 0 <= col < flat[1]):
            return None
        index = np.unravel_index(row * flat[1] + col, shape)
        spectrum = self.data.spectrum(tuple(int(i) for i in index))
        steps = steps_of(self.current) if self.current is not None else []
        if steps:  # on the prepared mean's scale, not the raw counts'
            try:
                spectrum = replace(replay(spectrum, steps), label=f"{spectrum.label}, prepared")
            except ParameterError as exc:
                spectrum = replace(spectrum, label=f"{spectrum.label} (as read: {exc.reason})")
        self._draw("pixel", spectrum)
        self.panel.mark_pixel(row, col)
        return spectrum

    # -- export ---------------------------------------------------------------------------------
    def save_spectrum_dialog(self) -> None:
        if self.current is None:
            return
        stem = Path(self.data.source).stem if self.data is not None else "spectrum"
        path, chosen = QFileDialog.getSaveFileName(self.window, "Save processed spectrum",
                                                   os.path.join(self._start_dir(), f"{stem}-processed.csv"), SAVE_FILTER)
        if path:
            self.save_spectrum(path)

    def save_spectrum(self, path: str):
        from amorpha.engine.spectra.columns import write_columns
        from amorpha.engine.spectra.export import write_msa

        spectrum = self.current
        beam = (self.data.meta.get("beam energy (keV)") if self.data is not None else None)
        if path.lower().endswith((".msa", ".ems", ".emsa")):
            work = lambda progress, cancel: write_msa(spectrum, path, beam_energy_kev=beam)  # noqa: E731
        else:
            work = lambda progress, cancel: write_columns(spectrum, path)  # noqa: E731
        return self.runner.submit(f"Saving {os.path.basename(path)}", work,
                                  lambda _: self.panel.status.setText(f"Saved {path}"),
                                  self._error("Saving " + os.path.basename(path)))

    def save_plot_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self.window, "Save plot", os.path.join(self._start_dir(), "spectra.png"),
                                              PLOT_FILTER)
        if path:
            self.save_plot(path)

    def save_plot(self, path: str) -> None:
        """The spectrum plot as PNG or SVG (:func:`~amorpha.gui.plot_export.save_plot_image`)."""
        try:
            path = save_plot_image(self.plot_panel.plot, path, "Amorpha spectra")
        except OSError as exc:
            self._error("Saving the plot")(exc)
            return
        self.panel.status.setText(f"Saved {path}")

    def save_report_dialog(self) -> None:
        if self.fit is None:
            self._refuse("Save fit report", "Fit first (Explain › Fit).")
            return
        path, _ = QFileDialog.getSaveFileName(self.window, "Save fit report",
                                              os.path.join(self._start_dir(), "fit-report.csv"), "CSV (*.csv)")
        if path:
            self.save_report(path)

    def save_report(self, path: str):
        """The fit report CSV; a site-class fit adds each class's sites, model fraction and
        distinctness, and the notes on merged or absent classes."""
        from amorpha.engine.spectra.explain_report import write_explanation_report
        from amorpha.engine.spectra.export import write_fit_report

        fit, title = self.fit, (self.data.title if self.data is not None else "")
        explanation = self.explanation if self.explanation is not None and self.explanation.fit is fit else None
        write = (lambda: write_explanation_report(explanation, path, title)) if explanation is not None \
            else (lambda: write_fit_report(fit, path, title))
        return self.runner.submit(f"Saving {os.path.basename(path)}",
                                  lambda progress, cancel: write(),
                                  lambda _: self.panel.status.setText(f"Saved {path}"),
                                  self._error("Saving the fit report"))


#: Candidate models whose R-factors alone lie within this share of the best fit the spectrum
#: about equally well: it does not tell them apart.
ALIKE_SCORE = 0.03


def _alike_note(ranked) -> list[str]:
    """A note when the best candidate models fit about equally well alone (a-SiO2, a-SiO and
    α-quartz against an O K spectrum: R-factors 0.279, 0.283, 0.284, and fractions of 0-0.63 read
    as an answer)."""
    alike = [r.name for r in ranked if r.score <= ranked[0].score * (1 + ALIKE_SCORE)] if ranked else []
    if len(alike) < 2:
        return []
    return [f"{', '.join(alike)} fit this spectrum about equally well alone (R-factors within "
            f"{ALIKE_SCORE:.0%}): it hardly tells them apart"]


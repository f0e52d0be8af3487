"""Projects in the window: File › Save Project / Open Project, autosave and crash recovery.

A project is a snapshot of what the user has on screen: the model (with every per-atom result),
the spectra they opened or asked the calculator for, the predicted site spectra and the surrogate
in use, the ring search, and a little view state. The snapshot is taken on the GUI thread (cheap
copies); writing and reading run in the background like every other task.

Autosave writes the same snapshot every few minutes to a recovery file in the user's state
directory. A clean exit deletes it, so a recovery file found at start-up means the last session
ended without closing: the window offers to restore it (and keeps it if the user declines, until
the next autosave overwrites it).
"""
from __future__ import annotations

import copy
import math
import os
from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtWidgets import QFileDialog, QMessageBox

from amorpha.engine.gb.search import SearchResult
from amorpha.engine.order.rings import RingResult
from amorpha.engine.project import PROJECT_EXTENSION, PROJECT_FILTER, AnalysisResult, Project, load_project, save_project
from amorpha.engine.spectra.features import FEATURES
from amorpha.engine.spectra.spectrum import SpectrumError, check_grid
from amorpha.gui.panels.order_panel import ANGLES, GR, SQ
from amorpha.gui.panels.view_panel import SLAB_NORMALS, SLAB_THICKNESS_RANGE

#: seconds between autosaves; AMORPHA_AUTOSAVE_SECONDS overrides it (the crash test uses 1 s)
AUTOSAVE_INTERVAL_S = float(os.environ.get("AMORPHA_AUTOSAVE_SECONDS", 180))
MODEL_KEY = "model"
SURROGATE_KEY = "surrogate"  # the spectrum model in use (and the atoms it learnt from, when known)
MEASURED_KEY = "measured spectrum"  # the Measured panel's file, steps and low loss (results)
RINGS_KEY = "rings"
ORDER_CURVE_KEY = "order curve"  # the Order panel's g(r), S(q) or bond-angle distribution
GB_SEARCH_KEY = "gb search"  # the GB Search panel's last search, every evaluation whole
RING_KIND = f"{RingResult.__module__}:{RingResult.__qualname__}"  # as AnalysisResult.from_dataclass names it


def _cutoffs(entries) -> dict | None:
    """The Bonds table a project saved ([[Z1, Z2, Å], ...]), its malformed entries left out (a
    project is a file); None when it saved none (written before tables were kept)."""
    if not isinstance(entries, list):
        return None

    def valid(entry) -> bool:
        return (isinstance(entry, list) and len(entry) == 3
                and all(isinstance(z, int) and 1 <= z <= 118 for z in entry[:2])
                and isinstance(entry[2], (int, float)) and 0.0 <= entry[2] <= 10.0)

    return {tuple(sorted(entry[:2])): float(entry[2]) for entry in entries if valid(entry)}


def _shown(value, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[:limit - 1] + "…"


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_text(value) -> bool:
    return value is None or isinstance(value, str)


def _strings(value) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


def _trajectory_ok(t) -> bool:
    """The trajectory entry the window attaches again: a file, a frame inside its frames."""
    return (isinstance(t, dict) and isinstance(t.get("path"), str) and _is_int(t.get("frames"))
            and _is_int(t.get("frame")) and 0 <= t["frame"] < t["frames"]
            and (t.get("symbols") is None or _strings(t["symbols"])))


#: Lengths (Å) a saved camera may hold: far past any model, short of what breaks the projection.
_CAMERA_LENGTH = 1e6


def _number(value, lo: float = -math.inf, hi: float = math.inf) -> bool:
    """A finite number (not a bool) in [lo, hi]; JSON's integers may exceed any float."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    try:
        value = float(value)
    except OverflowError:
        return False
    return math.isfinite(value) and lo <= value <= hi


def _camera_ok(camera) -> bool:
    """The camera :meth:`StructureViewer.camera_state` gave: a view direction, a zoom above 0
    and the point looked at."""
    return (isinstance(camera, dict) and _number(camera.get("azimuth"), -180.0, 180.0)
            and _number(camera.get("elevation"), -90.0, 90.0)
            and _number(camera.get("scale_factor"), 1e-6, _CAMERA_LENGTH)
            and isinstance(camera.get("center"), list) and len(camera["center"]) == 3
            and all(_number(c, -_CAMERA_LENGTH, _CAMERA_LENGTH) for c in camera["center"]))


def _slab_fits(slab, atoms) -> bool:
    """A lattice-plane slab needs the model's cell (slab_geometry refuses it otherwise)."""
    return slab is None or slab[0] in ("x", "y", "z") or atoms.cell.rank == 3


def _slab_ok(slab, atoms) -> bool:
    """No slab, or the View panel's (normal, position 0..1, thickness) that fits the model."""
    return slab is None or (isinstance(slab, list) and len(slab) == 3 and slab[0] in SLAB_NORMALS
                            and _number(slab[1], 0.0, 1.0) and _number(slab[2], *SLAB_THICKNESS_RANGE)
                            and _slab_fits(slab, atoms))


#: What each view setting :meth:`ProjectIO.snapshot` writes must be to be restored on ``atoms``,
#: the model. A project is a file: a setting that fails is left out, and the user told.
_VIEW_CHECKS = {
    "source": lambda v, atoms: isinstance(v, str),
    "color_by": lambda v, atoms: _is_text(v),
    "selected": lambda v, atoms: _is_int(v) and -1 <= v < len(atoms),
    "order_values": lambda v, atoms: _strings(v),
    "order_shown": lambda v, atoms: _is_text(v),
    "order_notes": lambda v, atoms: isinstance(v, dict) and _strings(list(v)) and _strings(list(v.values())),
    "ring_size": lambda v, atoms: v is None or _is_int(v),
    "rings_selected": lambda v, atoms: isinstance(v, list) and all(_is_int(r) for r in v),
    "spectral_feature": lambda v, atoms: _is_text(v),
    "trajectory": lambda v, atoms: _trajectory_ok(v),
    "orthographic": lambda v, atoms: isinstance(v, bool),
    "camera": lambda v, atoms: _camera_ok(v),
    "slab": _slab_ok,
    "diffraction": lambda v, atoms: isinstance(v, dict),
}


def _checked_view(view, atoms) -> tuple[dict, list[str]]:
    """The view settings that fit the model ``atoms``, and a note for each one left out."""
    if not isinstance(view, dict):
        return {}, [f"the view settings (a {type(view).__name__}, not a table of settings)"]
    bad = [key for key, ok in _VIEW_CHECKS.items() if key in view and not ok(view[key], atoms)]
    notes = [f"the view setting {key!r} ({_shown(view[key])})" for key in bad]
    return {k: v for k, v in view.items() if k not in bad}, notes


def _ring_problem(entry: AnalysisResult, n_atoms: int) -> str | None:
    """Why a saved ring search cannot be shown on a model of ``n_atoms`` (None when it can)."""
    if entry.kind != RING_KIND:
        return f"its kind is {entry.kind!r}, not a ring search"
    try:
        return entry.to_dataclass(RingResult).problem(n_atoms)
    except TypeError as exc:  # fields missing or unknown
        return f"its fields do not fit ({exc})"


def _spectrum_problem(spectrum) -> str | None:
    """Why a saved spectrum cannot be shown (None when it can): the check every spectrum read
    from a file gets (finite numbers, an increasing energy axis). The project stores spectra as
    they were given, so an edited or damaged one opened without a word and misbehaved later."""
    try:
        check_grid(spectrum.energy, spectrum.intensity, "spectrum")
    except SpectrumError as exc:
        return str(exc).removeprefix("spectrum: ")
    return None


def _checked_spectra(spectra: dict) -> tuple[dict, list[str]]:
    """The spectra that can be shown, in their order, and a note naming each one left out."""
    problems = {name: _spectrum_problem(s) for name, s in spectra.items()}
    notes = [f"the spectrum {name!r} ({problem})" for name, problem in problems.items() if problem]
    return {name: s for name, s in spectra.items() if not problems[name]}, notes


def _model_of(project: Project):
    """The structure the window shows: the one saved as the model, else the first."""
    atoms = project.structures.get(MODEL_KEY)
    return atoms if atoms is not None else next(iter(project.structures.values()), None)


def _read_project(path: str, progress=None, cancel=None) -> tuple[Project, list[str]]:
    """Read a project (in the background) and check what the window takes from it against its
    model, before anything on screen changes: a damaged spectrum, ring search, Order curve or view
    setting is left out, with a note for the user (the model is fine, so the project still opens)."""
    project = load_project(path, progress, cancel)
    atoms = _model_of(project)
    if atoms is None:
        return project, []
    project.spectra, notes = _checked_spectra(project.spectra)
    project.view, view_notes = _checked_view(project.view, atoms)
    notes += view_notes
    rings = project.results.get(RINGS_KEY)
    problem = _ring_problem(rings, len(atoms)) if rings is not None else None
    if problem:
        del project.results[RINGS_KEY]
        notes.append(f"the ring search ({problem})")
    curve = project.results.get(ORDER_CURVE_KEY)
    problem = _order_curve_problem(curve) if curve is not None else None
    if problem:
        del project.results[ORDER_CURVE_KEY]
        notes.append(f"the Order panel's curve ({problem})")
    problem = _trained_problem(project, atoms)
    if problem:
        del project.trained_sites[SURROGATE_KEY]
        notes.append(f"the sites the spectrum model learnt from ({problem})")
    search = project.results.pop(GB_SEARCH_KEY, None)
    if search is not None:
        try:  # rebuilt here, in the background: any field of a file can fail any way
            project.results[GB_SEARCH_KEY] = SearchResult.from_stored(search.arrays, search.params)
        except Exception as exc:  # noqa: BLE001 - named in the note
            notes.append(f"the GB search ({exc})")
    return project, notes


def _trained_problem(project: Project, atoms) -> str | None:
    """Why the saved sites the spectrum model learnt from cannot be shown on ``atoms``, the
    structure the window shows (None when they can, or none were saved): they must be its
    atoms of the model's element, one per training spectrum."""
    from amorpha.engine.elements import number

    model, trained = project.models.get(SURROGATE_KEY), project.trained_sites.get(SURROGATE_KEY)
    if trained is None or model is None:
        return None
    structure, sites = trained
    if project.structures.get(structure) is not atoms:
        return f"they are atoms of the structure {structure!r}, not of the one shown"
    if len(sites) != model.n_train:
        return f"{len(sites)} atoms for the model's {model.n_train} training spectra"
    if not np.all(atoms.numbers[sites] == number(model.element)):
        return f"not all of them are {model.element} atoms"
    return None


#: per Order curve kind, the axis and the arrays drawn along it (what a saved one must fit)
_ORDER_CURVES = {GR: ("r", ("g", "partials", "coordination", "total_coordination")),
                 SQ: ("q", ("S", "partials")),
                 ANGLES: ("edges", ("density", "histogram"))}


def _order_kinds() -> dict:
    """The Order panel's curve kind of each result class it draws."""
    from amorpha.engine.order.angles import AngleResult
    from amorpha.engine.order.pairs import RdfResult
    from amorpha.engine.order.structure_factor import StructureFactorResult

    return {RdfResult: GR, StructureFactorResult: SQ, AngleResult: ANGLES}


def _order_curve_problem(entry: AnalysisResult) -> str | None:
    """Why a saved Order curve cannot be drawn (None when it can): it must rebuild as a g(r),
    S(q) or angle result whose curves are finite and as long as their axis."""
    try:
        result = entry.to_dataclass()
    except Exception as exc:  # noqa: BLE001 - any damage to a file's fields: named, left out
        return f"it cannot be rebuilt ({exc})"
    kind = _order_kinds().get(type(result))
    if kind is None:
        return f"it is a {type(result).__name__}, not a g(r), S(q) or bond-angle result"
    axis, curves = _ORDER_CURVES[kind]
    x = np.asarray(getattr(result, axis), dtype=float)
    if kind == ANGLES:  # the bin centres are drawn: one fewer than the edges
        x = 0.5 * (x[1:] + x[:-1])
    for name in curves:
        y = np.asarray(getattr(result, name), dtype=float)
        if x.ndim != 1 or len(x) < 2 or y.shape[-1:] != x.shape or not (np.isfinite(x).all()
                                                                     and np.isfinite(y).all()):
            return f"its {name} does not fit its {axis} axis or is not finite"
    return None


def _saved_slab(settings, atoms) -> list | None:
    """The slab to save: the one the panel shows, unless the model cannot have it (a lattice
    plane chosen on a model without a cell, which the viewer refused)."""
    return list(settings) if settings is not None and _slab_fits(settings, atoms) else None


def _snapshot_atoms(atoms):
    """A copy that shares the per-atom arrays: the window replaces arrays instead of changing
    them, so the save in the background sees a fixed model without copying 10⁶ atoms on the GUI
    thread."""
    snap = copy.copy(atoms)
    snap.arrays = dict(atoms.arrays)
    snap.info = dict(atoms.info)
    return snap


def recovery_path() -> Path:
    """Where autosave writes ($XDG_STATE_HOME/amorpha/recovery.amorpha)."""
    base = os.environ.get("XDG_STATE_HOME") or os.path.join(Path.home(), ".local", "state")
    return Path(base) / "amorpha" / f"recovery{PROJECT_EXTENSION}"


class ProjectIO(QObject):
    saved = Signal(str)
    restored = Signal(str)

    def __init__(self, window, autosave_s: float = AUTOSAVE_INTERVAL_S):
        super().__init__(window)
        self.window = window
        self.path: str | None = None
        self._saving = None
        self._autosaved = None
        self.autosave_timer = QTimer(self)
        self.autosave_timer.setInterval(int(autosave_s * 1000))
        self.autosave_timer.timeout.connect(self.autosave)
        self.autosave_timer.start()

    # -- snapshot and restore ---------------------------------------------------------------
    def snapshot(self) -> Project | None:
        w = self.window
        if w.atoms is None:
            return None
        project = Project()
        project.structures[MODEL_KEY] = _snapshot_atoms(w.atoms)
        kept = {"measured": w.spectrum_panel.group("measured"),  # predictions are made again from the model
                "reference": w.spectrum_panel.group("reference") + w.prediction.references_aside}
        for group, spectra in kept.items():
            for k, spectrum in enumerate(spectra):
                project.spectra[f"{group} {k:03d}: {spectrum.label}"[:120]] = spectrum
        # the predicted site spectra are not kept: the surrogate in use predicts them again on
        # opening (788 MB for a 10⁶-atom a-SiO2, rewritten by every autosave, never read back)
        if w.prediction.model is not None:
            project.models[SURROGATE_KEY] = w.prediction.model
            trained = w.prediction.trained_sites()  # Show trained sites works once reopened
            if trained is not None and trained[0] is w.atoms:
                project.trained_sites[SURROGATE_KEY] = (MODEL_KEY, trained[1])
        if w.rings_panel.result is not None:
            project.results[RINGS_KEY] = AnalysisResult.from_dataclass(w.rings_panel.result, MODEL_KEY)
        if w.order_panel.curve_result is not None:
            project.results[ORDER_CURVE_KEY] = AnalysisResult.from_dataclass(w.order_panel.curve_result,
                                                                             MODEL_KEY)
        measured = w.measured.state()
        if measured is not None:
            project.results[MEASURED_KEY] = measured
        search = w.gb_search.result
        if search is not None and search.evaluations:
            project.results[GB_SEARCH_KEY] = AnalysisResult("gb_search", *search.to_stored())
        project.view = {
            "source": w.source,
            "color_by": w.view_panel.color_key(),
            "selected": int(w.prediction._picked),
            # the Order panel's histograms: columns of the model, drawn again on restore
            "order_values": [n for n in w.order_panel.values if n in w.atoms.arrays],
            "order_shown": w.order_panel.value_key(),
            "order_notes": w.order_panel.notes(),  # how each was made, a shell its k nearest cut
            "ring_size": w.rings_panel.selected_size,
            "rings_selected": w.rings_panel.selected_rings.tolist(),
            "spectral_feature": w.prediction_panel.feature_key(),  # the atoms follow it once predicted
            # the Bonds table as applied: bonds, coordination and xTB clusters follow it
            "cutoffs": [[int(a), int(b), float(v)] for (a, b), v in sorted(w.cutoff_overrides.items())],
            # how it is drawn: the Diffraction pattern follows the view direction
            "orthographic": w.view_panel.orthographic(),
            "camera": w.viewer.camera_state(),
            "slab": _saved_slab(w.view_panel.slab_settings(), w.atoms),
            # the Diffraction panel's probe, column and detector: the reopened pattern is the one saved
            "diffraction": w.diffraction_panel.settings(),
        }
        if w.trajectory is not None and len(w.trajectory) > 1:  # its frames stay in the file
            traj = w.trajectory
            project.view["trajectory"] = {"path": os.path.abspath(traj.path), "frame": int(w.frame),
                                          "frames": len(traj),
                                          "symbols": list(traj.symbols) if traj.symbols else None}
        return project

    def restore(self, project: Project, path: str, notes: list[str] = ()) -> None:
        """Show a project read by :func:`_read_project`: the model first, then everything that
        belongs to it; ``notes`` (what was left out) are said in a dialog once it is shown."""
        w = self.window
        atoms = _model_of(project)
        if atoms is None:
            w.show_error("Open project", f"{os.path.basename(path)} holds no model.")
            return
        view = project.view or {}

        def after_model():
            w.model_ready.disconnect(after_model)
            measured = project.results.get(MEASURED_KEY)
            for name, spectrum in project.spectra.items():
                if name.startswith("reference "):
                    w.prediction.add_reference(spectrum)  # set aside when of another edge than the model's
                elif measured is None:  # else the Measured panel shows it
                    w.spectrum_panel.add_spectrum(spectrum, "measured")
            if measured is not None:
                self._restore_measured(measured, path)
            if RINGS_KEY in project.results:
                w.rings_panel.show_result(project.results[RINGS_KEY].to_dataclass(RingResult))
                self._restore_ring_highlight(view)
            for name in view.get("order_values", []):
                if name in w.atoms.arrays:
                    w.order_panel.show_values(name, w.atoms.arrays[name], note=view.get("order_notes", {}).get(name))
            if GB_SEARCH_KEY in project.results:  # a SearchResult, rebuilt by _read_project
                w.gb_search.show_stored(project.results[GB_SEARCH_KEY])
            if ORDER_CURVE_KEY in project.results:  # checked by _read_project
                result = project.results[ORDER_CURVE_KEY].to_dataclass()
                w.order_panel.show_saved_curve(_order_kinds()[type(result)], result)
            if view.get("order_shown") in w.order_panel.values:
                w.order_panel.show_value_key(view["order_shown"])
            if view.get("color_by") and view["color_by"] in w.atoms.arrays:
                w.view_panel.set_color_key(view["color_by"])
            if view.get("selected", -1) >= 0:
                w.select_atom(int(view["selected"]))
            trajectory = view.get("trajectory")  # after the bonds: their status message would hide its
            if trajectory is not None:  # checked by _checked_view
                w.attach_trajectory(str(trajectory["path"]), int(trajectory["frame"]),
                                    int(trajectory["frames"]), trajectory.get("symbols"))
            if notes:
                w.show_error("Open project", f"Parts of {os.path.basename(path)} are damaged and were left out:\n\n"
                             + "\n".join(f"• {note}" for note in notes) + "\n\nEverything else was opened.")
            self.restored.emit(path)

        w.model_ready.connect(after_model)
        if "diffraction" in view:  # before the model: no column yet, so nothing recomputes
            left_out = w.diffraction_panel.set_settings(view["diffraction"])
            notes = [*notes, *(f"the diffraction setting {key!r}" for key in left_out)]
        cutoffs = _cutoffs(view.get("cutoffs"))
        if cutoffs is not None:  # before the model: its bonds are computed with them
            w.cutoff_overrides = cutoffs
        if view.get("spectral_feature") in [f.key for f in FEATURES]:  # before the model predicts again
            w.prediction_panel.show_feature(view["spectral_feature"])
        w.set_model(atoms, view.get("source") or os.path.basename(path))
        self._restore_drawing(view)  # before the first paint of the model, not after its bonds
        if SURROGATE_KEY in project.models:
            model = project.models[SURROGATE_KEY]
            if SURROGATE_KEY in project.trained_sites:  # checked by _read_project: of the model shown
                w.prediction.remember_trained_sites(model, atoms, project.trained_sites[SURROGATE_KEY][1])
            w.prediction.set_model(model)  # predicts the model again
        w.statusBar().showMessage(f"Opened project {path}", 8000)

    def _restore_drawing(self, view: dict) -> None:
        """The projection, the camera and the clipping slab (checked by _checked_view); a project
        saved without them leaves the window's own."""
        w = self.window
        if "orthographic" in view:  # through the list, so that it says what is drawn
            w.view_panel.set_orthographic(view["orthographic"])
        if "camera" in view:
            w.viewer.set_camera_state(view["camera"])
        if "slab" in view:
            w.view_panel.set_slab_settings(None if view["slab"] is None else tuple(view["slab"]))

    def _restore_ring_highlight(self, view: dict) -> None:
        """The bar or the table rows that were highlighted (indices checked: a project is a file)."""
        panel = self.window.rings_panel
        n_rings = len(panel.result.sizes_counted)
        if isinstance(view.get("ring_size"), int):
            panel.select_size(view["ring_size"])
        elif view.get("rings_selected"):
            panel.select_rings([r for r in view["rings_selected"] if isinstance(r, int) and 0 <= r < n_rings])

    def _restore_measured(self, result, path: str) -> None:
        from amorpha.engine.errors import ParameterError
        from amorpha.engine.spectra.measured_state import from_result
        from amorpha.engine.spectra.spectrum import SpectrumError

        try:
            state = from_result(result)
        except (ParameterError, SpectrumError) as exc:
            self.window.show_error("Open project", f"The measured spectrum in {os.path.basename(path)} cannot be "
                                                   f"restored: {exc}\n\nEverything else was opened.")
            return
        self.window.measured.restore(state)

    # -- files ------------------------------------------------------------------------------
    def save_dialog(self) -> None:
        if self.window.atoms is None:
            self.window.show_error("Save project", "There is nothing to save yet: open or build a model.")
            return
        start = self.path or self.window.settings.value("last_dir", str(Path.home()))
        path, _ = QFileDialog.getSaveFileName(self.window, "Save project", start, PROJECT_FILTER)
        if path:
            self.save(path if path.endswith(PROJECT_EXTENSION) else path + PROJECT_EXTENSION)

    def save(self, path: str, quiet: bool = False):
        project = self.snapshot()
        if project is None:
            return None

        def done(_):
            if not quiet:
                self.path = path
                self.window.statusBar().showMessage(f"Saved {path}", 8000)
            self.saved.emit(path)

        label = "Autosaving" if quiet else f"Saving {os.path.basename(path)}"
        error = (lambda exc: self.window.statusBar().showMessage(f"Autosave failed: {exc}", 8000)) if quiet \
            else self.window._task_error("Saving the project")
        self._saving = self.window.runner.submit(
            label, lambda progress, cancel: save_project(project, path, progress, cancel, extxyz=not quiet),
            done, error)
        return self._saving

    def open_dialog(self) -> None:
        start = self.window.settings.value("last_dir", str(Path.home()))
        path, _ = QFileDialog.getOpenFileName(self.window, "Open project", start, PROJECT_FILTER)
        if path:
            self.open(path)

    def open(self, path: str):
        def done(read):
            project, notes = read
            self.path = path
            self.restore(project, path, notes)

        return self.window.runner.submit(f"Opening project {os.path.basename(path)}",
                                         lambda progress, cancel: _read_project(path, progress, cancel),
                                         done, self.window._task_error("Opening the project"))

    # -- autosave and recovery --------------------------------------------------------------
    def autosave(self):
        if self._saving is not None and not self._saving.finished:
            return None  # the previous save is still being written
        state = self._state()
        if state == self._autosaved:
            return None  # nothing changed since the last autosave: do not write 10⁶ atoms again
        self._autosaved = state
        path = recovery_path()
        path.parent.mkdir(parents=True, exist_ok=True)
        return self.save(str(path), quiet=True)

    def _state(self) -> tuple:
        """What a snapshot would hold: results by identity (arrays are replaced, never changed in
        place), the view settings and the camera by value."""
        w = self.window
        arrays = tuple((k, id(v)) for k, v in w.atoms.arrays.items()) if w.atoms is not None else ()
        return (id(w.atoms), arrays, tuple(id(s) for s in w.spectrum_panel.spectra + w.prediction.references_aside),
                id(w.measured.low_loss),
                id(w.prediction.model), id(w.rings_panel.result), id(w.order_panel.curve_result),
                id(w.gb_search.result), len(w.gb_search.result.evaluations) if w.gb_search.result else 0,
                w.view_panel.color_key(), w.prediction._picked, w.view_panel.orthographic(),
                w.view_panel.slab_settings(), w.viewer.camera_state(),
                tuple(w.diffraction_panel.settings().items()))

    def clean_exit(self) -> None:
        """The session ends normally: nothing to recover next time."""
        self.autosave_timer.stop()
        try:
            recovery_path().unlink()
        except FileNotFoundError:
            pass

    def offer_recovery(self) -> bool:
        """At start-up: if the last session left a recovery file, ask whether to restore it."""
        path = recovery_path()
        if not path.is_file():
            return False
        box = QMessageBox(QMessageBox.Question, "Restore the last session?",
                          "Amorpha did not close normally last time. Restore the work it autosaved "
                          f"({path})?", QMessageBox.Yes | QMessageBox.No, self.window)
        box.setObjectName("recovery-question")
        box.finished.connect(lambda code: code == QMessageBox.Yes and self.open(str(path)))
        box.open()
        return True

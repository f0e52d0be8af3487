"""Diffusion of one mobile atom in the shown model, in the background: sites and hop paths with
their barriers, kinetic Monte Carlo at one temperature (MSD, D ± error, walkers animated in the
viewer) and a temperature scan (Arrhenius fit beside the percolation barrier).

Kept apart from the main window like :mod:`amorpha.gui.prediction`: the window creates one
:class:`DiffusionController` and tells it when another model is shown. Results are applied only
if the model they were computed for is still shown. A stopped KMC run or scan keeps what it had
computed (the engine returns it marked ``cancelled``), so it is shown, not dropped.
"""
from __future__ import annotations

import html
import math
import time
from dataclasses import dataclass, replace
from typing import Callable, Optional

import numpy as np
from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtWidgets import QMessageBox

from amorpha.engine.batch import format_seconds, time_left
from amorpha.engine.diffusion.kmc import HOPS_PER_SECOND
from amorpha.engine.diffusion import (CONVERGED, N_SAMPLES, UFF_PARAMETERS, UNRESOLVED, NoSiteError,
                                      Spanning, analyse_run, barrier_name, beyond_measure,
                                      build_network, crossing_note, d_status, estimated_seconds,
                                      TemperatureScan, flat_landscape, long_range, measured_along, measured_where,
                                      run_kmc, scan_fit, site_to_site, spanning_sentence,
                                      temperature_scan, time_fractions, write_paths_csv,
                                      write_run_csv)
from amorpha.engine.diffusion.trajectories import trajectory_frames, write_trajectories
from amorpha.engine.elements import formula_text
from amorpha.engine.errors import ParameterError
from amorpha.engine.tasks import sub_progress
from amorpha.engine.words import about_duration, counted
from amorpha.gui.panels.diffusion_panel import format_d, labelled
from amorpha.gui.saving import save_as
from amorpha.gui.viewer.colormap import map_values
from amorpha.gui.viewer.overlays import ColorBarOverlay
from amorpha.gui.viewer.paths_visual import SITE_COLOR, PathsOverlay

#: A run or scan estimated to take longer than this (s) asks before it starts.
CONFIRM_SECONDS = 3600.0
#: A run or scan estimated to take longer than this (s) says so in its progress label.
SAY_ESTIMATE_SECONDS = 10.0
#: Pause between animation frames (ms).
ANIMATION_INTERVAL_MS = 60
#: Colour map of the time spent per site (bright on the dark background, unlike the paths').
SITE_TIME_CMAP = "plasma"
#: The time per site is shown on a log scale when its largest share is this many times its
#: smallest (non-zero) one: more than two decades would leave most sites one colour.
LOG_SCALE_ABOVE = 100.0


class SiteTimeColorBar(ColorBarOverlay):
    """The time-per-site colour bar, in the canvas' bottom-left corner (the barriers' bar keeps
    the top left, the atoms' the top right)."""

    def _place(self, event=None) -> None:
        super()._place(event)
        if self.info is not None:
            self.move(self.MARGIN, self.parentWidget().height() - self.height() - self.MARGIN)


def site_time_colours(fractions: np.ndarray) -> tuple[np.ndarray, float, float, str]:
    """(RGBA per site, low, high, label) of the colour bar for the fraction of time per site:
    log₁₀ of it when it spans more than :data:`LOG_SCALE_ABOVE` (a site never visited is
    coloured as the least visited one), else the fraction itself."""
    fractions = np.asarray(fractions, float)
    visited = fractions[fractions > 0]
    if len(visited) and visited.max() > LOG_SCALE_ABOVE * visited.min():
        values = np.log10(np.maximum(fractions, visited.min()))
        label = "time on site: log₁₀ fraction"
    else:
        values, label = fractions, "time on site: fraction"
    lo, hi = float(values.min()), float(values.max())
    return map_values(values, SITE_TIME_CMAP, lo, hi), lo, hi, label


@dataclass(frozen=True)
class EnergyFunction:
    """An entry of the energy-function combo box: ``build(host, LandscapeParams, progress,
    cancel)`` returns (sites, paths, network) as :func:`amorpha.engine.diffusion.build_network`,
    optionally followed by a sentence for the summary (how good the energy function is)."""

    key: str
    label: str
    tooltip: str
    build: Callable


#: The energy functions the panel offers, in order; extend with :func:`register_energy_function`.
ENERGY_FUNCTIONS: dict[str, EnergyFunction] = {}


def register_energy_function(function: EnergyFunction) -> None:
    ENERGY_FUNCTIONS[function.key] = function


def surrogate_build(reference: Callable, params=None) -> Callable:
    """A ``build`` that trains the surrogate on energies of ``reference(host, element)`` at
    sampled positions, then finds sites and paths on it; the surrogate's held-out error goes into
    the summary. ``params``: SurrogateParams, or ``"soap"`` for the quadratic SOAP model."""

    def build(host, landscape, progress=None, cancel=None):
        from amorpha.engine.diffusion.surrogate import SOAP_TRAINING, SurrogateParams, build_surrogate

        element = landscape.sites.element
        chosen = SOAP_TRAINING if params == "soap" else params
        training = replace(chosen or SurrogateParams(), element=element)
        surrogate = build_surrogate(host, reference(host, element), training,
                                    progress=sub_progress(progress, 0.0, 0.5), cancel=cancel)
        network = build_network(host, landscape, sub_progress(progress, 0.5, 1.0), cancel,
                                potential=surrogate.potential)
        m = surrogate.metrics()
        note = (f"Surrogate: {m['n_train']} training, {m['n_test']} held-out positions, test RMSE "
                f"{m['rmse_ev']:.3f} eV ({m['rmse_below_ceiling_ev']:.3f} eV below "
                f"{m['ceiling_ev']:.2f} eV).")
        if surrogate.potential.guard is not None:
            note += (f" Where UFF exceeds {surrogate.potential.guard:.2f} eV (its highest on the "
                     "training positions) UFF's rise is added.")
        return (*network, note)

    return build


def _uff(host, element):
    from amorpha.engine.diffusion.potential import HostPotential

    return HostPotential(host, element)


def _xtb(host, element):
    from amorpha.engine.diffusion.reference import XtbReference

    return XtbReference(host, element)


register_energy_function(EnergyFunction(
    "uff", "UFF Lennard-Jones (Rappé 1992)",
    "Pair sum with the UFF parameters of every element pair: fast, any element, qualitative",
    build_network))
register_energy_function(EnergyFunction(
    "surrogate-uff", "Neural network trained on UFF",
    "Li–Ando–Watanabe surrogate (symmetry functions → MLP) trained on 1800 UFF energies and "
    "checked on 200: the surrogate route at UFF's speed (minutes on a-SiO2)",
    surrogate_build(_uff)))
register_energy_function(EnergyFunction(
    "surrogate-xtb", "Neural network trained on GFN1-xTB (slow)",
    "The surrogate trained on 2000 GFN1-xTB energies of H-capped clusters around the mobile atom: "
    "the physical reference, each averaged over clusters of 3.75–4.25 Å; 2–3 s per energy on "
    "a-SiO2 (an hour or more of one core for the first run), cached on disk, so later runs on "
    "the same host train at once",
    surrogate_build(_xtb)))
register_energy_function(EnergyFunction(
    "surrogate-xtb-soap", "SOAP kernel model trained on GFN1-xTB (slow, accurate)",
    "The same 2000 GFN1-xTB energies learnt by kernel ridge on the SOAP power spectrum of the "
    "mobile atom (n, l ≤ 5): Cu in a-SiO2 held-out error 0.048 eV and barriers within 0.03 eV "
    "of xTB's, against the network's 0.11 and 0.04 eV; half the network's speed per core (a "
    "quarter with forces; ~10⁵ energies/s on two cores), so sites and paths take longer",
    surrogate_build(_xtb, "soap")))


@dataclass(frozen=True)
class Landscape:
    """Sites, paths and hop network of one mobile element in one host, as found."""

    atoms: object
    sites: object
    paths: object
    network: object
    spanning: Optional[Spanning]  # the most directions its paths span the cell in (long_range)
    function: str
    note: str = ""

    @property
    def percolation(self) -> Optional[float]:
        """The 3D percolation barrier (eV); None when the paths do not span the cell every way."""
        return self.spanning.barrier if self.spanning and self.spanning.dimensions == 3 else None

    @property
    def link_barriers(self) -> np.ndarray:
        """Per path, the higher of its two barriers: below it a walker can go both ways."""
        return self.paths.barriers.max(axis=1)


class _Relay(QObject):
    """Carries the partial result of a stopped run from the worker to the GUI thread."""

    partial = Signal(object)


def _limit(barrier: float) -> float:
    """``barrier`` rounded up to the 0.01 eV of Paths up to, so the path that has it is shown."""
    return math.ceil(barrier * 100 - 1e-9) / 100


def _wrap(points: np.ndarray, cell: np.ndarray) -> np.ndarray:
    frac = points @ np.linalg.inv(cell)
    return (frac - np.floor(frac)) @ cell


#: The mobile atom suggested when one does not fit: the smallest in UFF but helium.
SMALL_ATOM = "Li"
#: A lowest minimum above this (eV over the free atom) is an atom squeezed in, not a site worth
#: raising "Sites up to" for: the advice is then another atom or host first.
SQUEEZED_EV = 3.0


def no_site_advice(exc: NoSiteError, short: bool = False) -> str:
    """Why the mobile atom found no site and what to change: the "Sites up to" ceiling up to the
    lowest minimum found (rounded up to the box's 0.01 eV), or a smaller atom."""
    if exc.lowest <= exc.energy_max:  # minima below the ceiling, but saddles, not sites
        return exc.reason
    need = math.ceil(exc.lowest * 100 - 1e-9) / 100
    smaller = UFF_PARAMETERS[SMALL_ATOM][1] < UFF_PARAMETERS[exc.element][1]
    atom = (f"choose a smaller mobile atom such as {SMALL_ATOM}" if smaller
            else "use a more open host")
    if exc.lowest > SQUEEZED_EV:
        what = (f"{atom}: at {exc.lowest:.1f} eV the atom is squeezed in among the host "
                "atoms, hardly a site worth raising “Sites up to” for.")
        if short:
            return f"No site for {exc.element} (lowest minimum {exc.lowest:.1f} eV): {atom}."
    else:
        what = f"raise “Sites up to” to {need:.2f} eV or more, or {atom}."
        if short:  # for the status bar (~100 characters)
            return f"No site for {exc.element}: raise “Sites up to” to ≥ {need:.2f} eV or {atom}."
    return (f"{exc.element} does not fit in this host: its lowest energy minimum is "
            f"{exc.lowest:.3f} eV, above the {exc.energy_max:.2f} eV of “Sites up to”, so no site "
            f"was found. To go on, {what}")


#: What the two energies of a temperature scan are (the result line's tooltip), as computed.
SCAN_TIP = (
    "<p><b>E_a</b> and D₀: a straight line through ln D against 1/kT, weighted by the errors of "
    "D. Each D is the slope of the walkers' mean squared displacement (÷ 6) over the second half "
    "of a run as long as a walker needs, on average, for the set hops per walker (the same "
    "number at every temperature). When the paths span the cell only along channels (or in "
    "sheets), D is that of the displacements along them (÷ 2, or ÷ 4 in a sheet's plane): the D "
    "within a channel or sheet, which MSD ÷ 6 would dilute to a third (two thirds).</p>"
    "<p><b>Percolation barrier</b> θ: the lowest barrier at which the paths with barriers up to "
    "θ (each counted with the higher of its two ways) join into one cluster that spans the "
    "periodic cell in all three directions (for channels or sheets: along them). A walker that "
    "traverses the cell has to take a path that high, so at low T the activation energy of "
    "long-range D tends to θ.</p>"
    "<p>An E_a well below θ is the usual sign that the walkers did not get across the cell "
    "within the simulated time (the result line says so when none crossed it in every "
    "direction that counts): the scan then measured local hopping, or hopping along channels, "
    "and the long-range D at low T is governed by θ.</p>")


def spanning_text(spanning: Optional[Spanning]) -> str:
    """:func:`~amorpha.engine.diffusion.spanning_sentence` with its key words in bold."""
    return spanning_sentence(spanning, lambda text: f"<b>{text}</b>")


def failure_line(what: str, reason: str) -> str:
    """The result or summary line of a step that failed, with what to do."""
    return f"<b>{html.escape(what)} failed</b>: {html.escape(reason)}"


#: A direction is named after a cell vector (or x, y, z) within this angle of it (degrees).
AXIS_NAME_TOLERANCE_DEG = 10.0
#: The principal D are listed when the smallest is below this fraction of the largest.
ANISOTROPY_SHOWN_BELOW = 0.5


def direction_name(vector, cell=None) -> str:
    """``vector`` as a reader knows it: the cell vector a, b or c (or x, y, z without a cell)
    it lies along, else its components rounded."""
    unit = np.asarray(vector, float) / np.linalg.norm(vector)
    named = zip("abc", np.asarray(cell, float)) if cell is not None else zip("xyz", np.eye(3))
    for name, axis in named:
        cosine = abs(unit @ axis) / np.linalg.norm(axis)
        if cosine >= math.cos(math.radians(AXIS_NAME_TOLERANCE_DEG)):
            return name
    unit = np.round(unit * np.sign(unit[np.argmax(np.abs(unit))]), 2) + 0.0  # + 0.0: no "-0.00"
    return "[" + " ".join(f"{c:.2f}" for c in unit) + "]"


def anisotropy_note(tensor, cell=None, mean: bool = True) -> str:
    """A sentence for the result line when D clearly differs with direction (channels, layers,
    anisotropic crystals): the principal values of the diffusion tensor and their directions;
    empty when it is about the same every way or the run does not resolve the difference.
    ``mean``: the D said before it is MSD/6, their mean (not D along channels or sheets)."""
    if tensor is None:
        return ""
    high, low = tensor.principal[0], tensor.principal[-1]
    spread = 3.0 * (tensor.principal_err[0] + tensor.principal_err[-1])
    if not (high > 0 and low < ANISOTROPY_SHOWN_BELOW * high and high - low > spread):
        return ""
    values, errors, axes = tensor.principal, tensor.principal_err, tensor.axes.T
    moving = values > 2.0 * errors  # the others are zero within their scatter
    parts = [f"{format_d(v, e) if m else '≈ 0'} along {direction_name(a, cell)}"
             for v, e, a, m in zip(values, errors, axes, moving)]
    if moving.tolist() == [True, False, False]:  # a channel: the directions across it are any
        parts[1:] = ["≈ 0 across it"]
    return (" D differs with direction: " + ", ".join(parts) + " (the diffusion tensor's "
            "principal values" + ("; the D above is their mean, MSD/6)." if mean else ")."))


def kmc_summary(result, fit, reach=None, tensor=None, cell=None, spanning=None) -> str:
    """One KMC run in words: D when the MSD resolves it (a negative or error-swamped slope is
    said to be unresolved, not shown as a value), how it differs with direction (``tensor``,
    :func:`anisotropy_note`), whether the walkers crossed the cell in every direction that
    counts (``reach``, :func:`crossing_note`), and what a stopped run kept. ``spanning``: the
    network's reach; for channels and sheets ``fit`` is D along them, and named so."""
    stopped = ""
    if result.cancelled and len(result.times) > 1:
        stopped = (f" Stopped at {result.times[-1]:.3g} s of {result.duration:.3g} s; the "
                   "trajectory so far is kept.")
    elif result.cancelled:  # every walker is recorded at the same times: none reached the first
        stopped = (" Stopped before all walkers reached the first recorded time: no trajectory "
                   "to keep; fewer walkers or hops finish sooner.")
    where = measured_where(spanning)
    named = f"D{' ' + where if where else ''}"
    status = d_status(fit.D, fit.D_err, reach, spanning) if fit is not None else UNRESOLVED
    if fit is None:
        d = "too short for D (run longer)"
    elif result.n_walkers == 1:
        d = (f"{named} = {format_d(fit.D, fit.D_err)} with no error estimate (the error is the "
             "spread over walkers: use more than one)")
    elif status == UNRESOLVED:
        d = (f"{named} not resolved ({format_d(fit.D, fit.D_err)}: the MSD does not rise clearly "
             "above its scatter; run longer or with more walkers)")
    elif beyond_measure(fit.D):
        d = (f"{named} ≈ {format_d(fit.D, fit.D_err)}, below what can be resolved (an atom would "
             f"take longer than the age of the universe to move 1 µm; the run spans "
             f"{result.duration:.2g} s)")
    elif status == CONVERGED:
        d = f"{named} = <b>{format_d(fit.D, fit.D_err)}</b>"
    else:
        d = (f"{named} = {format_d(fit.D, fit.D_err)}, <b>not converged</b> (the typical walker "
             "went less than a cell length: run longer)")
    # no D, nothing the notes describe
    crossed = crossing_note(reach, spanning=spanning) if fit is not None else ""
    far = reach is None or np.max(reach) >= 1.0  # a direction claim needs a direction converged
    anisotropic = (anisotropy_note(tensor, cell, mean=not where)
                   if fit is not None and status != UNRESOLVED and far else "")
    return (f"{result.temperature:g} K: {d} from {counted(result.n_walkers, 'walker')}, "
            f"{result.total_hops:,} hops in {result.seconds:.2f} s.{anisotropic}{crossed}{stopped}")


def kmc_line(params, each: str = "") -> str:
    """A saved table's line of how its walkers ran: enough to run them again."""
    return (f"KMC: {params.n_walkers} walkers{each}, {params.n_steps} hops per walker (Hops per "
            f"walker), attempt frequency {params.attempt_frequency:.4g} Hz, seed {params.seed}, "
            f"{params.n_samples} recorded times")


def merged_sentence(network) -> str:
    """How many minima were merged into sites (:mod:`~amorpha.engine.diffusion.merging`)."""
    merged = network.n_minima - network.n_sites
    if not merged:
        return ""
    return (f" {counted(network.n_minima, 'energy minimum', 'energy minima')} became "
            f"{network.n_sites} sites: {merged} joined by a barrier below "
            f"{network.merge_barrier:g} eV (Merge below) were merged into a neighbour.")


def timed(progress):
    """``progress`` with the time left appended to its message, as the CLI's progress line
    estimates it (:func:`~amorpha.engine.batch.time_left`)."""
    if progress is None:
        return None
    start = time.monotonic()

    def report(fraction: float, message: str = "") -> None:
        left = time_left(time.monotonic() - start, fraction)
        progress(fraction, message + (f", ~{format_seconds(left)} left" if left is not None
                                      else ""))

    return report


class DiffusionController(QObject):
    landscape_shown = Signal()
    kmc_shown = Signal()
    scan_shown = Signal()

    def __init__(self, window, panel, viewer):
        super().__init__(window)
        self.window = window
        self.runner = window.runner
        self.run_analysis = self.run_params = self.scan_params = self.confirmation = None
        self.panel = panel
        self.viewer = viewer
        self.overlay = PathsOverlay(viewer)
        self.site_bar = SiteTimeColorBar(viewer.canvas, background="#1b1e24")
        self.atoms = None
        self.landscape: Optional[Landscape] = None
        self.kmc = None  # the KmcResult animated (Save trajectories…, Colour sites by time)
        self.kmc_seed = None  # its seed
        self.run = None  # the last single run shown (Save run…)
        self.scan = self.scan_reach = None
        self.fit = None
        self._task = None
        self._generation = 0
        self._then_scan = False
        self._advice = ""  # what the status bar was told to do after a failure
        self._bonds_were_visible = None
        self._frame = 0
        self._relay = _Relay(self)
        self._relay.partial.connect(self._partial)
        self.timer = QTimer(self)
        self.timer.setInterval(ANIMATION_INTERVAL_MS)
        self.timer.timeout.connect(self._step)
        self.offer_energy_functions()
        panel.find_requested.connect(self.find)
        panel.kmc_requested.connect(self.run_kmc)
        panel.scan_requested.connect(self.run_scan)
        panel.save_requested.connect(self.save_dialog)
        panel.save_paths_requested.connect(self.save_paths_dialog)
        panel.save_trajectories_requested.connect(self.save_trajectories_dialog)
        panel.site_time_toggled.connect(self.colour_sites)
        panel.stop_requested.connect(self.stop)
        panel.animate_toggled.connect(self.animate)
        panel.path_selected.connect(self.show_path)
        panel.limit_changed.connect(self.overlay.set_barrier_limit)
        panel.host_style_changed.connect(
            lambda scale: self.landscape is not None and self._host_style(scale))
        self.overlay.path_picked.connect(panel.select_path)
        panel.at_percolation.clicked.connect(self.show_percolating)

    def offer_energy_functions(self) -> None:
        """Fill the panel's combo box from :data:`ENERGY_FUNCTIONS` (again after registering)."""
        self.panel.set_energy_functions([(f.key, f.label, f.tooltip)
                                         for f in ENERGY_FUNCTIONS.values()])

    # -- following the window ---------------------------------------------------------------
    def structure_shown(self, atoms) -> None:
        """Another model or frame: the landscape of the old one no longer applies."""
        self.stop()
        self._generation += 1
        self.atoms = atoms
        self._drop_landscape()
        self.panel.set_busy(False)
        symbols = formula_text(atoms.numbers) if atoms is not None else ""
        self.panel.host.setText(f"Host (frozen): {self.window.source or 'the shown model'}, "
                                f"{symbols}" if atoms is not None else "Host: no model shown.")

    def _drop_landscape(self, summary: Optional[str] = None) -> None:
        """No landscape (another model, or the search for a new one failed): no sites, paths
        or walkers in the viewer, and no KMC until sites and paths are found again."""
        self.landscape = self.kmc = self.run = self.scan = self.scan_reach = self.fit = None
        self.animate(False)
        self.overlay.clear()
        self._host_style(1.0)
        self.panel.set_landscape(None, *([summary] if summary else []))
        self.panel.animate_button.setEnabled(False)

    # -- running ----------------------------------------------------------------------------
    def _submit(self, label: str, work: Callable, done: Callable, line=None,
                failed_also: Optional[Callable] = None) -> None:
        """Run ``work`` in the background; ``line`` (a label of the panel, the result line by
        default) says that it runs, then that it failed or, when stopped, what it said before.
        ``failed_also(exc)`` follows a failure (when the same model is still shown)."""
        generation = self._generation
        line = line if line is not None else self.panel.result
        before, running = line.text(), f"{label}…"

        def current() -> bool:
            return generation == self._generation

        def say(text: str) -> None:
            if line is self.panel.result:
                self.panel.set_result(text)  # scrolled into view, its tooltip cleared
            else:
                line.setText(text)

        def applied(result):
            self.panel.set_busy(False)
            if current():
                done(result)

        def failed(exc):
            self.panel.set_busy(False)
            self._then_scan = False
            if current():
                say(failure_line(label, self._reason(exc)))
                if failed_also is not None:
                    failed_also(exc)
            self._error(label, exc)

        def cancelled():
            self.panel.set_busy(False)
            self._then_scan = False
            if current() and line.text() == running:  # a stopped run shows what it kept instead
                say(before)
            self.window.statusBar().showMessage(f"{label} stopped.", 8000)

        self.panel.set_busy(True)
        status = self.window.statusBar()
        if self._advice and status.currentMessage() == self._advice:  # followed or outdated
            status.clearMessage()
        say(running)
        self._task = self.runner.submit(label, work, applied, failed, cancelled)

    @staticmethod
    def _reason(exc: BaseException) -> str:
        """What went wrong, in the words a person can act on."""
        if isinstance(exc, NoSiteError):
            return no_site_advice(exc)
        return labelled(str(exc)) if isinstance(exc, ParameterError) else f"{type(exc).__name__}: {exc}"

    def _error(self, what: str, exc: BaseException) -> None:
        self.window.show_error(f"{what} failed", f"{what} failed.\n\n{self._reason(exc)}")
        if isinstance(exc, NoSiteError):  # the status bar shows ~100 characters: what to do
            self._advice = no_site_advice(exc, short=True)
            self.window.statusBar().showMessage(self._advice, 20000)

    def stop(self) -> None:
        if self._task is not None and not self._task.finished:
            self._task.cancel()

    @property
    def busy(self) -> bool:
        return self._task is not None and not self._task.finished

    def find(self, then_scan: bool = False) -> None:
        """Sites and paths of the chosen element in the shown model (then a scan if asked)."""
        if self.atoms is None:
            self.window.show_error("Diffusion", "Open or build a model first: it is the host.")
            return
        host, params = self.atoms.copy(), self.panel.landscape_params()
        function = ENERGY_FUNCTIONS[self.panel.energy.currentData()]
        self._then_scan = bool(then_scan)
        atoms = self.atoms

        def work(progress, cancel):
            sites, paths, network, *note = function.build(host, params, progress=progress,
                                                          cancel=cancel)
            return Landscape(atoms, sites, paths, network, long_range(network), function.key, *note)

        self._submit(f"Sites and paths of {params.sites.element}", work, self._show_landscape,
                     line=self.panel.summary, failed_also=self._landscape_failed)

    def _landscape_failed(self, exc: BaseException) -> None:
        """The old landscape (another element, other settings) must not pass for the new one:
        it goes, and KMC waits for sites and paths that exist."""
        self._drop_landscape(self.panel.summary.text())

    def _show_landscape(self, landscape: Landscape) -> None:
        self.landscape, self.kmc, self.run, self.scan, self.fit = landscape, None, None, None, None
        self.animate(False)
        self.panel.animate_button.setEnabled(False)
        barriers = landscape.link_barriers
        # a limit kept from another landscape could hide every path of this one: show those up to
        # where they span the cell (the network long-range diffusion uses), or else all of them
        first = landscape.spanning.barrier if landscape.spanning else barriers.max()
        self.panel.limit.blockSignals(True)
        self.panel.limit.setValue(_limit(first))
        self.panel.limit.blockSignals(False)
        self.overlay.show_network(landscape.sites.positions,
                                  site_to_site(landscape.sites, landscape.paths), barriers,
                                  self.panel.limit.value())
        self._host_style(self.panel.host_style.currentData())
        self.panel.at_percolation.setEnabled(landscape.spanning is not None)
        paths = landscape.paths
        element = landscape.sites.element
        spanning = spanning_text(landscape.spanning)
        unconverged = int((~paths.converged).sum())
        flat = flat_landscape(landscape.network, landscape.spanning)
        self.panel.set_landscape(paths, (
            f"{element}: <b>{len(landscape.sites)} sites</b> "
            f"({landscape.sites.energies.min():.3f} to {landscape.sites.energies.max():.3f} eV), "
            f"<b>{len(paths)} paths</b>, barriers {barriers.min():.3f}–{barriers.max():.3f} eV; "
            f"{spanning}." + merged_sentence(landscape.network)
            + (f" <b>{html.escape(flat)}</b>" if flat else "")
            + (f" {unconverged} bands did not converge." if unconverged else "")
            + (f" {landscape.note}" if landscape.note else "")
            + " In the viewer: sites white, paths coloured by barrier (those up to "
            + ("the percolation barrier" if landscape.spanning else "the highest")
            + " shown), walkers yellow."))
        self.landscape_shown.emit()
        if landscape.spanning is None:
            self._then_scan = False
            self.window.show_error(
                "Diffusion", f"The hop network of {element} does not percolate: no cluster of "
                "paths spans the cell in any direction, so there is no long-range diffusion "
                "(KMC gives D ≈ 0). Raise the hop distance or the site energy ceiling, "
                "or use a larger or more open host.")
        elif self._then_scan:
            self._then_scan = False
            self.run_scan()

    def _need_landscape(self) -> bool:
        if self.landscape is None:
            self.window.show_error("Diffusion", "Find the sites and paths first.")
            return False
        return True

    def run_kmc(self) -> None:
        """Walkers at the panel's temperature; MSD and D (worked out in the worker: seconds for
        10⁵ walkers); then the walkers move in the viewer."""
        if not self._need_landscape():
            return
        network, params = self.landscape.network, self.panel.kmc_params(N_SAMPLES)
        spanning = self.landscape.spanning
        cell = network.cell
        relay, generation = self._relay, self._generation

        def work(progress, cancel):
            result = run_kmc(network, params, progress=timed(progress), cancel=cancel)
            outcome = (result, analyse_run(result, cell, spanning), params)
            if result.cancelled:
                relay.partial.emit((generation, outcome))
            return outcome

        self._start(f"KMC at {params.temperature:g} K", work, self._show_kmc,
                    lambda: estimated_seconds(network, params))

    def run_scan(self) -> None:
        """One run per temperature of the panel's range, then the Arrhenius fit."""
        if not self._need_landscape():
            return
        network, params = self.landscape.network, self.panel.kmc_params(N_SAMPLES)
        temperatures = self.panel.temperatures()
        if len(np.unique(temperatures)) < 2:  # said now, not after every run of the scan
            self.window.show_error("Temperature scan", f"The scan runs from {temperatures[0]:g} to {temperatures[-1]:g} K: "
                                   "an Arrhenius fit needs at least two different temperatures. Widen the range.")
            return
        spanning = self.landscape.spanning
        along = measured_along(spanning, network.cell)
        relay, generation = self._relay, self._generation

        def work(progress, cancel):
            scan = temperature_scan(network, temperatures, params, along=along,
                                    progress=timed(progress), cancel=cancel, spanning=spanning)
            if scan.cancelled:
                relay.partial.emit((generation, (scan, params)))
            return scan, params

        self._start("Temperature scan", work, self._show_scan,
                    lambda: sum(estimated_seconds(network, replace(params, temperature=t))
                                for t in temperatures))

    def _start(self, label: str, work: Callable, done: Callable, estimate: Callable) -> None:
        """Submit a KMC run or scan, saying how long it will take when that is long, and asking
        first when it is absurdly long (a day of 10⁹ hops per walker is allowed)."""
        try:
            seconds = estimate()
        except ParameterError:  # the run itself says what is wrong, in the usual way
            seconds = 0.0
        if seconds > SAY_ESTIMATE_SECONDS:
            label += f" ({about_duration(seconds)})"

        def go():
            self.animate(False)
            self._submit(label, work, done)

        if seconds <= CONFIRM_SECONDS:
            go()
            return
        box = QMessageBox(QMessageBox.Question, label.split(" (")[0],
                          f"This will take {about_duration(seconds)} "
                          f"(~{seconds * HOPS_PER_SECOND:.2g} hops at ~{HOPS_PER_SECOND:.1g} "
                          "hops/s). Fewer walkers or hops per walker finish sooner; Stop keeps "
                          "what a run has done. Start it anyway?",
                          QMessageBox.Yes | QMessageBox.No, self.window)
        box.setAttribute(Qt.WA_DeleteOnClose)
        box.setDefaultButton(QMessageBox.No)
        box.finished.connect(lambda code: code == QMessageBox.Yes and go())
        self.confirmation = box
        box.open()

    def _partial(self, payload) -> None:
        generation, result = payload
        if generation != self._generation:
            return
        if isinstance(result[0], TemperatureScan):
            self._show_scan(result)
        else:
            self._show_kmc(result)

    # -- results ----------------------------------------------------------------------------
    def _show_kmc(self, outcome) -> None:
        """MSD, D and what it describes (``outcome``: the run and its :func:`analyse_run`); along
        channels or sheets, as the scan measures it."""
        result, analysis, params = outcome
        network = self.landscape.network  # the run's: a new one waits for the run to end
        spanning = self.landscape.spanning
        fit = analysis.fit
        self.panel.show_msd(analysis.msd, fit, result.temperature, measured_where(spanning))
        flat = flat_landscape(network, spanning)
        self.panel.set_result(kmc_summary(result, fit, analysis.reach, analysis.tensor,
                                          network.cell, spanning)
                              + (f" <b>{html.escape(flat)}</b>" if flat else ""), plots=True)
        self._set_walkers(result, params.seed, start=True)
        self.run, self.run_analysis, self.run_params = result, analysis, params
        self.panel.offer_save("run")
        self.kmc_shown.emit()

    def _show_scan(self, outcome) -> None:
        """The scan (``outcome``: it and its KmcParams), its Arrhenius fit over the resolved
        points and what the two energies mean."""
        scan, self.scan_params = outcome
        reach = scan.reach
        # no fit of the scan before goes with this one
        self.scan, self.scan_reach, self.fit = scan, reach, None
        self.panel.offer_save(None)  # until this scan has its fit
        spanning = self.landscape.spanning
        beside = spanning_text(spanning)
        stopped = " (stopped: the finished temperatures are shown)" if scan.cancelled else ""
        where = measured_where(spanning)
        along = f"D {where}" if where else ""
        if len(scan.temperatures) < 2:
            finished = "".join(f" D at {t:g} K = {format_d(d, e)}."
                               for t, d, e in zip(scan.temperatures, scan.D, scan.D_err))
            self.panel.set_result(f"Scan stopped after {counted(len(scan.temperatures), 'temperature')}"
                                  f": an Arrhenius fit needs two or more.{finished}")
            return
        self.fit, left_out = scan_fit(scan)
        self.panel.show_arrhenius(scan.temperatures, scan.D, scan.D_err, self.fit,
                                  spanning.barrier if spanning else None,
                                  barrier_name(spanning) if spanning else "", along, scan.resolved)
        fit = self.fit
        head = (f"{len(scan.temperatures)} temperatures, {scan.temperatures[0]:g}–"
                f"{scan.temperatures[-1]:g} K{stopped}{', ' + along if along else ''}: ")
        if fit is None:
            energies = ("<b>no Arrhenius fit</b>: fewer than two temperatures have a resolved D "
                        "(run longer, with more walkers or at higher temperatures)")
        else:
            energies = (f"E_a = <b>{fit.activation_energy:.3f} ± {fit.activation_energy_err:.3f} "
                        f"eV</b>, D₀ = {format_d(fit.prefactor, fit.prefactor_err)}")
        flat = flat_landscape(self.landscape.network, spanning)
        self.panel.set_result(head + f"{energies}; {beside}." + left_out
                              + crossing_note(reach, "E_a", scan.temperatures, spanning)
                              + (f" <b>{html.escape(flat)}</b>" if flat else ""),
                              SCAN_TIP, plots=True)
        self.panel.offer_save("scan")
        if scan.results:
            self._set_walkers(scan.results[-1], scan.seeds[len(scan.D) - 1], start=False)
        self.scan_shown.emit()

    def save_dialog(self) -> None:
        """Save… for what the result line shows: the last run or the last scan."""
        element = self.landscape.sites.element
        if self.panel.save_kind == "run":
            save_as(self.panel, "Save run", f"{element}-kmc-{self.run.temperature:g}K.csv",
                    "CSV (*.csv)", self.save_run)
        else:
            save_as(self.panel, "Save scan", f"{element}-diffusion.csv", "CSV (*.csv)", self.save_scan)

    def save_paths_dialog(self) -> None:
        element = self.landscape.sites.element
        save_as(self.panel, "Save sites and paths", f"{element}-paths.csv", "CSV (*.csv)",
                self.save_paths)

    def _provenance(self) -> list[str]:
        """Header lines of every saved table: which model and which energy function."""
        energy = ENERGY_FUNCTIONS.get(self.landscape.function)
        return [f"source: {self.window.source}, frame {self.window.frame}",
                f"energy: {energy.label if energy else self.landscape.function}"]

    def _saved(self, path: str) -> None:
        self.window.statusBar().showMessage(f"Saved {path}", 10000)

    def save_run(self, path: str) -> None:
        """The last single run as CSV (:func:`~amorpha.engine.diffusion.write_run_csv`): MSD(t)
        where D is measured, D ± error and the tensor."""
        landscape, run = self.landscape, self.run
        write_run_csv(path, landscape.sites.element, run, landscape.network.cell,
                      landscape.spanning, [*self._provenance(), kmc_line(self.run_params)],
                      analysis=self.run_analysis)
        self._saved(path)

    def save_paths(self, path: str) -> None:
        """The landscape's sites and paths as CSV (:func:`~amorpha.engine.diffusion.write_paths_csv`),
        with the minima merged into each site."""
        landscape = self.landscape
        write_paths_csv(path, landscape.sites, landscape.paths, self._provenance(),
                        landscape.network.substates)
        self._saved(path)

    def save_trajectories_dialog(self) -> None:
        result = self.kmc
        save_as(self.panel, "Save trajectories",
                f"{self.landscape.sites.element}-walkers-{result.temperature:g}K.extxyz",
                "Extended XYZ (*.extxyz *.xyz)", self.save_trajectories)

    def save_trajectories(self, path: str):
        """The first walkers (Walkers saved) of the run shown as extended XYZ
        (:func:`~amorpha.engine.diffusion.trajectories.trajectory_frames`), written in the
        background (up to ~70 MB, seconds); returns its task (None when refused)."""
        landscape, result, seed = self.landscape, self.kmc, self.kmc_seed
        try:
            frames = trajectory_frames(result, landscape.network.positions,
                                       landscape.sites.element, landscape.network.cell,
                                       n_walkers=self.panel.saved_walkers.value(), seed=seed,
                                       pbc=landscape.atoms.pbc,
                                       info={"host": f"{self.window.source}, frame "
                                                     f"{self.window.frame}"})
        except ParameterError as exc:
            self.window.show_error("Save trajectories", labelled(str(exc)).replace(
                "“n_walkers”", "“Walkers saved”"))
            return None
        return self.runner.submit(
            "Saving trajectories", lambda progress, cancel: write_trajectories(
                path, frames, progress, cancel), lambda _: self._saved(path),
            lambda exc: self._error("Save trajectories", exc))

    def colour_sites(self, on: bool) -> None:
        """Sites coloured by the fraction of time the shown run's walkers spent on them, with a
        colour bar; white again when ``on`` is False."""
        if self.landscape is None:
            self.site_bar.hide()
            return
        n = len(self.landscape.sites)
        if on and self.kmc is not None and float(np.sum(self.kmc.site_time)) > 0:
            colours, lo, hi, label = site_time_colours(time_fractions(self.kmc))
            self.site_bar.set(SITE_TIME_CMAP, lo, hi, label)
        else:
            colours = np.tile(np.float32(SITE_COLOR), (n, 1))
            self.site_bar.hide()
        if self.overlay.sites_node.n == n:
            self.overlay.sites_node.set_colors(colours)
            self.viewer.canvas.update()

    def save_scan(self, path: str) -> None:
        """The last scan as CSV (:func:`~amorpha.engine.cli.write_diffusion_csv`, the CLI's
        columns): D(T) ± error, E_a, where the paths span the cell, and how it was computed."""
        from amorpha.engine.batch import scan_numbers
        from amorpha.engine.cli import write_diffusion_csv

        landscape, scan, fit = self.landscape, self.scan, self.fit
        numbers = scan_numbers(len(landscape.sites), len(landscape.paths), landscape.spanning,
                               scan, fit, self.scan_reach)
        run = scan.results[-1]
        write_diffusion_csv(path, landscape.sites.element, [self.window.frame], [numbers], [
            *self._provenance(),
            kmc_line(self.scan_params, " per temperature") + " (seed + k at the k-th temperature)",
            *(["INCOMPLETE: the scan was stopped; the finished temperatures"] if scan.cancelled else [])])
        self._saved(path)

    # -- the viewer -------------------------------------------------------------------------
    def show_path(self, k: int) -> None:
        """Highlight path ``k`` and plot its energy profile (−1: none)."""
        self.overlay.highlight(k)
        if k < 0 or self.landscape is None:
            return
        paths = self.landscape.paths
        distance, energy = paths.profile(k)
        self.panel.show_profile(k, distance, energy, tuple(paths.barriers[k]), paths.ends[k])

    def show_percolating(self) -> None:
        """Only the paths up to the percolation barrier (rounded up to the limit's 0.01 eV): in
        3D, or along the channels or sheets where the paths span the cell only so."""
        if self.landscape is not None and self.landscape.spanning is not None:
            self.panel.limit.setValue(_limit(self.landscape.spanning.barrier))

    def _host_style(self, scale) -> None:
        """Host atoms at ``scale`` × their radius, without bonds below 1; None hides them."""
        viewer = self.viewer
        plain = scale is not None and scale >= 1.0
        if not plain and self._bonds_were_visible is None:
            self._bonds_were_visible = bool(viewer.bonds_node.visible)
            viewer.show_bonds(False)
        elif plain and self._bonds_were_visible is not None:
            viewer.show_bonds(self._bonds_were_visible)
            self._bonds_were_visible = None
        viewer.atoms_node.visible = scale is not None
        viewer.set_radius_scale(1.0 if scale is None else float(scale))

    def _set_walkers(self, result, seed: int, start: bool) -> None:
        self.kmc, self.kmc_seed = result, seed
        self.panel.offer_walks(len(result.times) > 0)
        self.colour_sites(self.panel.site_time.isChecked())
        self._frame = 0
        has = self.panel.animated.value() > 0 and len(result.times) > 1
        self.panel.animate_button.setEnabled(has)
        if has:
            self.overlay.set_walkers(self.walker_positions(0))
        if start and has:
            self.panel.animate_button.setChecked(True)

    def walker_positions(self, frame: int) -> np.ndarray:
        """Where the shown walkers are at recorded time ``frame``, wrapped into the cell."""
        result, network = self.kmc, self.landscape.network
        n = min(self.panel.animated.value(), result.n_walkers)
        unwrapped = network.positions[result.start_sites[:n]] + result.displacements[frame, :n]
        return _wrap(unwrapped, network.cell)

    def animate(self, on: bool) -> None:
        if on and self.kmc is not None:
            self.timer.start()
        else:
            self.timer.stop()
            if self.panel.animate_button.isChecked():
                self.panel.animate_button.setChecked(False)

    def _step(self) -> None:
        if self.kmc is None or self.landscape is None:
            self.animate(False)
            return
        self._frame = (self._frame + 1) % len(self.kmc.times)
        self.overlay.set_walkers(self.walker_positions(self._frame))

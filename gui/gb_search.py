"""Grain-boundary structure search in the background: the GB Search panel's Run, Stop and Show best.

The search (:class:`amorpha.engine.gb.GbSearch`) runs on the task runner; each evaluation is posted
to the GUI thread as it arrives, so the plots follow live and whatever was posted stays when the
search is stopped, fails or is given up (the runner drops a cancelled task's return value). Redraws
are coalesced: cache hits can arrive hundreds per second. Finished searches are kept for the
session; virtual screening trains on those of other boundaries.
"""
from __future__ import annotations

from pathlib import Path
from typing import Optional

from PySide6.QtCore import QObject, Qt, QTimer, Signal

from amorpha.engine.errors import ParameterError
from amorpha.engine.gb import GbSearch, SearchFailed, SearchResult, candidate_grid, make_oracle
from amorpha.engine.gb.lattice import at_lattice_constant
from amorpha.engine.tasks import sub_progress

#: Least time between two redraws of the plots while evaluations arrive (ms).
REDRAW_MS = 100


class GbSearchController(QObject):
    search_finished = Signal(str)  # "done", "stopped" or "failed"
    best_shown = Signal()
    _posted_start = Signal(int, object)  # from the worker thread: run id, empty SearchResult
    _posted_evaluation = Signal(int, object)  # run id, Evaluation

    def __init__(self, window, panel):
        super().__init__(window)
        self.window = window
        self.runner = window.runner
        self.panel = panel
        self.result: Optional[SearchResult] = None
        self.history: dict = {}  # GbSearchParams → (CandidateSet, {index: γ}), oracle settings
        self.task = None
        self._run = 0
        self._began = False
        self._note = ""  # what the status line adds: what screening learnt from, or why it did not
        self._redraw = QTimer(self)
        self._redraw.setSingleShot(True)
        self._redraw.setInterval(REDRAW_MS)
        self._redraw.timeout.connect(self._show)
        self._posted_start.connect(self._started, Qt.QueuedConnection)
        self._posted_evaluation.connect(self._arrived, Qt.QueuedConnection)
        panel.run_requested.connect(self.run)
        panel.stop_requested.connect(self.stop)
        panel.show_best_requested.connect(self.show_best)
        panel.save_requested.connect(self.save_dialog)

    @property
    def busy(self) -> bool:
        return self.task is not None and not self.task.finished

    # -- starting -------------------------------------------------------------------------------
    def run(self):
        """Start a search with the panel's settings; bad settings are a dialog and change nothing."""
        if self.busy:
            return None
        try:
            s = self.panel.settings()
            candidates = candidate_grid(s.params)
            oracle = at_lattice_constant(make_oracle(s.oracle, fmax=s.fmax), s.a)
            training = self._training(s, oracle) if s.strategy == "screening" else None
        except ParameterError as exc:
            self.window.show_error("GB search", f"The search cannot start.\n\n{exc}")
            return None
        strategy, self._note = self._screening_plan(s, training)
        self._run += 1
        run = self._run

        def work(progress, cancel):
            model = None
            if strategy == "screening":
                # at the lattice constant the oracle relaxes at, as the ranking (make_strategy)
                # and the training boundaries' relaxations were: EMT's Cu a₀ is 3.590 Å, not 3.615
                a = oracle.reference(candidates.boundary.crystal).a
                model = self._fit_screening(training, a, sub_progress(progress, 0.0, 0.1), cancel)
                progress = sub_progress(progress, 0.1, 1.0)
            search = GbSearch(candidates, oracle, strategy, s.n_evals, workers=s.workers,
                              dask=s.dask, scheduler=s.scheduler, seed=s.seed,
                              n_initial=s.n_initial, acquisition=s.acquisition,
                              screening_model=model, cancel=cancel, progress=progress)
            for evaluation in search:
                if not search.result.evaluations[:-1]:  # the first: the new search replaces the old
                    self._posted_start.emit(run, SearchResult(candidates, search.result.oracle,
                                                              search.reference, strategy))
                self._posted_evaluation.emit(run, evaluation)
            return len(search.result.evaluations)

        self._began = False  # the previous search stays shown until this one finds something
        self.panel.set_busy(True, has_results=self.result is not None)
        self.panel.status.setText(f"Relaxing up to {min(s.n_evals, len(candidates)):,} of "
                                  f"{len(candidates):,} candidates with {s.oracle.upper()}…"
                                  + self._note)
        self.task = self.runner.submit(
            f"GB search ({s.params.boundary.name}, {strategy})", work,
            lambda n: self._finished("done"), self._failed, lambda: self._finished("stopped"))
        return self.task

    def _training(self, s, oracle) -> list:
        """Searched boundaries comparable with this one (same crystal, rotation axis and kind:
        :func:`~amorpha.engine.gb.screening.comparable`) with the same oracle, for virtual
        screening; empty when only other families were searched (their ranking was measured worse
        than chance). Nothing searched with this oracle at all is a ParameterError."""
        from amorpha.engine.gb.screening import comparable

        sets = [(cs, found) for params, (cs, found, settings) in self.history.items()
                if params.boundary != s.params.boundary and settings == oracle.settings()
                and len(found) >= 2]
        if not sets:
            raise ParameterError("strategy", "virtual screening learns from boundaries searched "
                                 "before with the same oracle; search one or two other boundaries "
                                 "first (a small exhaustive or random search is enough)")
        return [(cs, found) for cs, found in sets if comparable(cs.boundary, s.params.boundary)]

    @staticmethod
    def _screening_plan(s, training) -> tuple[str, str]:
        """(strategy to run, what the status line adds): screening says what it learnt from;
        with nothing comparable to learn from, the plain random order, and why."""
        from amorpha.engine.gb.screening import family_name

        if training is None:
            return s.strategy, ""
        if not training:
            return "random", (f" No {family_name(s.params.boundary)} boundary was searched with this "
                              "oracle, and screening trained on another axis or kind ranks worse "
                              "than chance: candidates go in random order.")
        names = ", ".join(f"{cs.boundary.name} ({len(found)} relaxed)" for cs, found in training)
        return "screening", f" Screening trained on {names}."

    @staticmethod
    def _fit_screening(training, a, progress, cancel):
        import numpy as np

        from amorpha.engine.gb.screening import ScreeningModel

        gammas = []
        for cs, found in training:
            g = np.full(len(cs), np.nan)
            g[list(found)] = list(found.values())
            gammas.append(g)
        return ScreeningModel().fit([cs for cs, _ in training], gammas, a=a, progress=progress,
                                    cancel=cancel)

    # -- following the search -----------------------------------------------------------------
    def _started(self, run: int, result: SearchResult) -> None:
        if run == self._run and self.busy:
            self.result = result
            self._began = True
            self.panel.clear_results()

    def _arrived(self, run: int, evaluation) -> None:
        if run != self._run or not self._began or not self.busy:
            return  # a stopped search finishing its last relaxation: it is in the disk cache
        self.result.evaluations.append(evaluation)
        if not self._redraw.isActive():
            self._redraw.start()

    def _show(self) -> None:
        if self.result is not None:
            self.panel.show_result(self.result, running=self.busy)

    def _remember(self) -> None:
        result = self.result
        if result is None or not result.evaluations:
            return
        key = result.candidates.params
        cs, found, settings = self.history.get(key, (result.candidates, {}, result.oracle))
        if settings == result.oracle:
            found.update(zip(result.indices.tolist(), result.gammas.tolist()))
        self.history[key] = (cs, found, settings)

    def show_stored(self, result: SearchResult) -> None:
        """A search read from a project: shown as it was left, remembered for virtual screening,
        Show best and Save… ready (nothing runs)."""
        if self.busy:
            self.stop()
        self.result, self._began = result, False
        self.panel.clear_results()
        self.panel.show_result(result)
        self._remember()
        self.panel.set_busy(False, has_results=bool(result.evaluations))
        self.panel.status.setText(f"From the project: {len(result.evaluations)} evaluations"
                                  + (" (the search was stopped)." if result.stopped else "."))

    def _found(self) -> int:
        """Evaluations of the search just run (0 if it never began)."""
        return len(self.result.evaluations) if self._began and self.result is not None else 0

    def _finished(self, state: str) -> None:
        self._redraw.stop()
        n = self._found()
        if self._began:
            self._show()
            self._remember()
        has = self.result is not None and bool(self.result.evaluations)
        self.panel.set_busy(False, has_results=has)
        if n == 0 and state != "done":  # whatever is shown is an earlier search's
            earlier = (f"; the results shown are of {self.result.candidates.boundary.name}" if has
                       else "")
            self.panel.status.setText(f"{state.capitalize()} before any evaluation{earlier}.")
        else:
            self.panel.status.setText({"done": f"Finished: {n} evaluations.",
                                       "stopped": f"Stopped after {n} evaluations; they are kept "
                                                  "(Show best puts the best so far in the viewer).",
                                       "failed": f"Failed after {n} evaluations; they are kept."}[state]
                                      + self._note)
        if n and state == "done":  # asked for; a stop leaves the model shown as it was
            self.show_best()
        self.search_finished.emit(state)

    def _failed(self, exc: BaseException) -> None:
        self._finished("failed")
        n = self._found()
        reason = str(exc) if isinstance(exc, (ParameterError, SearchFailed)) \
            else f"{type(exc).__name__}: {exc}"
        if n:
            kept = f"The {n} evaluations found so far are kept."
        elif self.result is not None and self.result.evaluations:
            kept = "The previous search's results are still shown."
        else:
            kept = "Nothing was found yet."
        self.window.show_error("GB search", f"The search stopped.\n\n{reason}\n\n{kept}")

    def stop(self) -> None:
        if self.busy:
            self.panel.status.setText("Stopping…")
            self.task.cancel()

    # -- the best structure in the viewer -----------------------------------------------------
    def save_dialog(self) -> None:
        """Ask where, and write the search shown as the CLI's JSON."""
        from amorpha.engine.cli import write_json
        from amorpha.gui.saving import save_as

        if self.result is None or not self.result.evaluations:
            return
        path = save_as(self.panel, "Save GB search", f"{self.result.candidates.boundary.file_stem}_gb.json",
                       "JSON (*.json)",
                       lambda p: write_json(Path(p), self.result.to_dict()))
        if path:
            self.window.statusBar().showMessage(f"Saved {path}", 8000)

    def show_best(self) -> None:
        """Show the best relaxed candidate coloured by its per-atom energy above the bulk."""
        atoms = self.result.best_atoms() if self.result is not None else None
        if atoms is None:
            return
        best = self.result.best
        self.window.set_model(atoms, f"GB search best: {best.candidate.boundary.name}, "
                                     f"γ = {best.gamma:.4f} J/m²")
        self.window.view_panel.set_color_key("site_energy")
        self.window.color_by("site_energy")  # also when the combo already showed it
        self.best_shown.emit()

"""Active learning: ask the reference calculator only for the sites the surrogate knows least.

The pool is every absorbing site of the loaded models (their descriptor rows). Start from a few
random sites, then repeatedly query the sites with the largest predictive uncertainty (Gaussian
process) or those farthest in descriptor space from everything labelled so far, retrain, and stop
when the error reaches the target or the budget is spent. The error is measured on a held-out set
when one is given (for learning curves), otherwise on each new batch *before* it is learnt from: an
honest estimate of how well the model predicts sites it has not seen (pessimistic for uncertainty
sampling, which picks the hardest sites).

:class:`ActiveLearner` keeps the state so the loop can stop, hand its queries to an external code
(:func:`export_queries`) and continue when the results come back.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass, field, replace
from typing import Callable

import numpy as np

from amorpha.engine.errors import ParameterError, require
from amorpha.engine.spectra.spectrum import SiteSpectra, SpectrumError, kind_of, scale_name, shared_onset
from amorpha.engine.surrogate.model import SpectrumModel, SurrogateParams
from amorpha.engine.tasks import Cancelled, check_cancel, report, sub_progress

STRATEGIES = ("variance", "uncertainty", "farthest", "random")
#: candidates (and integration points) of the variance strategy: its covariance is n² floats
VARIANCE_POOL = 2500

#: rows of the pool → their spectra (n_rows, n_energies) on one grid, or a SiteSpectra; or a pair
#: (rows it could do, their spectra) when some sites failed (they are never asked for again). An
#: oracle with ``reports_progress`` set is also given ``progress=`` (its fraction of the round).
Oracle = Callable[[np.ndarray], "SiteSpectra | np.ndarray | tuple"]
#: the fewest reference spectra a model is fitted on (SpectrumModel.train's minimum)
MIN_SPECTRA = 3


class RoundCancelled(Cancelled):
    """Cancel in the middle of a round, carrying what the oracle finished before it: ``rows``
    and their ``spectra`` (None when none), so that the run keeps them (minutes of xTB each)."""

    def __init__(self, rows, spectra):
        super().__init__("cancelled by the user")
        self.rows, self.spectra = np.asarray(rows, dtype=np.int64), spectra


@dataclass(frozen=True)
class ActiveParams:
    strategy: str = "variance"
    n_initial: int = 8
    batch: int = 4
    max_calls: int = 200
    target_rmse: float = 0.0  # stop when the measured error is at or below this (0 = use the budget)
    regressor: str = "gp"
    n_components: int = 30
    seed: int = 0

    @property
    def surrogate(self) -> SurrogateParams:
        return SurrogateParams(regressor=self.regressor, n_components=self.n_components, seed=self.seed)

    def validate(self, pool_size: int | None = None) -> "ActiveParams":
        require(self.strategy in STRATEGIES, "strategy", f"one of {', '.join(STRATEGIES)}")
        require(self.n_initial >= 3, "n_initial", "at least 3 random reference spectra to start from")
        require(self.batch >= 1, "batch", "at least 1 site per round")
        require(self.max_calls >= self.n_initial, "max_calls", "at least n_initial")
        require(self.target_rmse >= 0, "target_rmse", "zero or positive")
        if pool_size is not None:
            require(self.n_initial <= pool_size, "n_initial", f"at most the pool size ({pool_size})")
        if self.strategy in ("uncertainty", "variance"):
            require(self.regressor == "gp", "strategy",
                    f"'{self.strategy}' needs the Gaussian-process regressor (or choose 'farthest')")
        self.surrogate.validate()
        return self


@dataclass
class LearningCurve:
    """Error after each retraining against the number of calculator calls so far."""

    strategy: str
    calls: list[int] = field(default_factory=list)
    rmse: list[float] = field(default_factory=list)

    def to_dict(self) -> dict:
        """As a model's ``metrics["learning_curve"]`` stores it."""
        return {"calls": [int(c) for c in self.calls], "rmse": [float(e) for e in self.rmse]}

    def calls_to_reach(self, rmse: float) -> int | None:
        """The first number of calls at which the error was at or below ``rmse``."""
        for calls, err in zip(self.calls, self.rmse):
            if err <= rmse:
                return calls
        return None

    def copy(self) -> "LearningCurve":
        """A snapshot: a running learner keeps appending to its own."""
        return LearningCurve(self.strategy, list(self.calls), list(self.rmse))


def write_learning_curves(path, curves: dict, measured: str, notes=()) -> None:
    """``curves`` ({name: LearningCurve}, e.g. one per strategy) as CSV: ``#`` lines saying what
    the error is (a bare RMSE column cannot be read), then the calculator calls and one RMSE column
    per curve, empty where a curve has no point at that many calls (a strategy whose sites failed
    counts differently). ``measured``: the sites its points are measured on; ``notes``: more
    ``#`` lines. ParameterError when no curve has a point."""
    from amorpha.engine.atomic import write_table

    points = {name: dict(zip(c.calls, c.rmse)) for name, c in curves.items() if c.calls}
    require(bool(points), "curves", "at least one learning curve with points (nothing to export)")
    calls = sorted({n for curve in points.values() for n in curve})
    comments = ["Amorpha learning curves: the surrogate's error against the number of reference-calculator "
                "calls (site spectra computed so far)",
                "error: RMSE, the root-mean-square difference between predicted and reference site spectra over "
                f"every site and energy point, in the reference spectra's intensity units; measured on {measured}",
                *notes]
    rows = ([str(int(n)), *(f"{curve[n]:.6g}" if n in curve else "" for curve in points.values())] for n in calls)
    write_table(path, comments, ["calculator calls", *(f"RMSE {name}" for name in points)], rows)


class ActiveLearner:
    """The state of one active-learning run over a fixed pool of descriptor rows.

    With a grouped descriptor (:mod:`amorpha.engine.descriptors.grouped`, the site's group in the
    first column) the sites are chosen by one model over the inner columns, :attr:`chooser`, and
    :attr:`model` is fitted per group on them: chosen by the grouped model itself (independent
    groups, each with its own noise), the big low-noise groups take the budget and the rare ones
    starve (packaging/train_models.py, ``si_k_descriptor``, has the numbers).
    """

    def __init__(self, pool: np.ndarray, params: ActiveParams, descriptor: dict | None = None,
                 test: tuple[np.ndarray, np.ndarray] | None = None):
        self.pool = np.asarray(pool, dtype=np.float64)
        self.descriptor = dict(descriptor or {})
        self.grouped = self.descriptor.get("kind") == "grouped"
        #: the chooser's columns of the pool (and of ``test``) and its descriptor settings
        self._columns = slice(1, None) if self.grouped else slice(None)
        self._x = self.pool[:, self._columns]
        self._chooser_descriptor = self.descriptor["inner"] if self.grouped else self.descriptor
        std = self._x.std(axis=0)
        self._mean, self._std = self._x.mean(axis=0), np.where(std > 0, std, 1.0)
        self.params = params.validate(len(self.pool))
        self.test = test
        self.rng = np.random.default_rng(params.seed)
        self.labelled: list[int] = []
        self.failed: list[int] = []
        #: (pool row, why) of each site the calculator could not do, when its oracle says why
        self.failures: list[tuple[int, str]] = []
        self.spectra: np.ndarray | None = None
        self.grid: SiteSpectra | None = None  # energy/element/edge of the first answer
        #: per labelled row, where its spectrum said the onset lies on the axis ((eV, why) or None)
        self.onsets: list = []
        #: settings of the calculator whose spectra it learns (set by pipeline.learn)
        self.calculator: dict | None = None
        self.chooser: SpectrumModel | None = None
        self._grouped_model: SpectrumModel | None = None
        self.curve = LearningCurve(params.strategy)

    @property
    def model(self) -> SpectrumModel | None:
        """The surrogate learnt so far (None below :data:`MIN_SPECTRA` spectra): the chooser
        itself, or with a grouped descriptor the per-group model on the same spectra. Fitted
        when asked if spectra came since (:meth:`keep`): seconds for a grouped GP, so ask in a
        worker thread."""
        if len(self.labelled) < MIN_SPECTRA:
            return None
        if not self.grouped:
            if self.chooser is None or self.chooser.n_train != len(self.labelled):
                self.chooser = self._train(self._x, self._chooser_descriptor)
            return self.chooser
        if self._grouped_model is None or self._grouped_model.n_train != len(self.labelled):
            self._grouped_model = self._train(self.pool, self.descriptor)
        return self._grouped_model

    # -- choosing sites ---------------------------------------------------------------------
    def next_queries(self) -> np.ndarray:
        """Pool rows to send to the calculator next."""
        if not self.labelled:
            free = np.setdiff1d(np.arange(len(self.pool)), self.failed)
            return self.rng.choice(free, min(self.params.n_initial, len(free)), replace=False)
        free = np.setdiff1d(np.arange(len(self.pool)), self.labelled + self.failed)
        k = min(self.params.batch, len(free), self.params.max_calls - len(self.labelled))
        if k <= 0:
            return np.empty(0, dtype=np.int64)
        if self.params.strategy == "random":
            return self.rng.choice(free, k, replace=False)
        if self.params.strategy == "uncertainty":
            _, std = self.chooser.predict(self._x[free], return_std=True)
            return free[_top_k_diverse(std, self._x[free], k)]
        if self.params.strategy == "variance":
            if len(free) > VARIANCE_POOL:
                free = np.sort(self.rng.choice(free, VARIANCE_POOL, replace=False))
            cov = self.chooser.posterior_covariance(self._x[free], latent=True)
            return free[_variance_reduction(cov, k, self.chooser.noise_variances(self._x[free]))]
        return free[_farthest_first(self._scaled(self._x[free]), self._scaled(self._x[self.labelled]), k)]

    def _scaled(self, x: np.ndarray) -> np.ndarray:
        return (x - self._mean) / self._std

    # -- learning ---------------------------------------------------------------------------
    def add(self, rows, spectra: "SiteSpectra | np.ndarray") -> None:
        """Learn from reference spectra of ``rows``; the error is measured before they are used."""
        rows, y, onsets = self._checked(rows, spectra)
        unseen = None
        if self.chooser is not None and self.test is None:
            unseen = float(np.sqrt(np.mean((self.chooser.predict(self._x[rows]) - y) ** 2)))
        self._append(rows, y, onsets)
        self.chooser = self._train(self._x, self._chooser_descriptor)
        error = self._test_rmse() if self.test is not None else unseen
        if error is not None:
            self.curve.calls.append(len(self.labelled))
            self.curve.rmse.append(error)

    def keep(self, rows, spectra: "SiteSpectra | np.ndarray") -> None:
        """Keep reference spectra of ``rows`` without learning from them now (no fit, no point
        on the curve): a cancelled round's finished sites; :attr:`model` fits on them."""
        self._append(*self._checked(rows, spectra))

    def _checked(self, rows, spectra) -> tuple[np.ndarray, np.ndarray, list]:
        """``rows`` in the pool, ``spectra`` of the learner's kind, one per row: (rows, their
        intensities, their onsets)."""
        rows = np.asarray(rows, dtype=np.int64)
        outside = rows[(rows < 0) | (rows >= len(self.pool))]
        if len(outside):
            raise ParameterError("rows", f"query-{outside[0]}: the pool has sites 0-{len(self.pool) - 1} only "
                                         "(results of another structure's queries?)")
        if isinstance(spectra, SiteSpectra):
            if self.grid is None:
                self.grid = spectra
            _same_kind(self.grid, spectra)
            y = spectra.intensity
        else:
            y = np.atleast_2d(np.asarray(spectra, dtype=np.float64))
        require(len(rows) == len(y), "spectra", f"one spectrum per queried site ({len(rows)})")
        onsets = spectra.row_onsets() if isinstance(spectra, SiteSpectra) else [None] * len(rows)
        return rows, y, onsets

    def _append(self, rows: np.ndarray, y: np.ndarray, onsets: list) -> None:
        self.labelled.extend(int(r) for r in rows)
        self.onsets.extend(onsets)
        self.spectra = y if self.spectra is None else np.vstack([self.spectra, y])

    def _train(self, features: np.ndarray, descriptor: dict) -> SpectrumModel:
        """A model on the labelled rows of ``features`` (the pool's columns ``descriptor`` made)."""
        energy = self.grid.energy if self.grid is not None else np.arange(self.spectra.shape[1], dtype=float)
        g = self.grid
        axis = {"axis": g.meta["axis"]} if g and "axis" in g.meta else {}  # when a code's own scale
        data = SiteSpectra(energy, self.spectra, np.asarray(self.labelled),
                           g.element if g else "", g.edge if g else "", g.source if g else "",
                           meta=axis | shared_onset(self.onsets))  # every batch's onsets, not the first's
        return SpectrumModel.train(features[self.labelled], data, descriptor, self.params.surrogate)

    def _test_rmse(self) -> float:
        x, y = self.test
        return float(np.sqrt(np.mean((self.chooser.predict(x[:, self._columns]) - y) ** 2)))

    @property
    def budget(self) -> int:
        """The most calculator calls the run makes."""
        return min(self.params.max_calls, len(self.pool))

    @property
    def reached_target(self) -> bool:
        """The last measured error is at or below the target (when one is set)."""
        p = self.params
        return bool(p.target_rmse > 0 and self.curve.rmse and self.curve.rmse[-1] <= p.target_rmse)

    @property
    def done(self) -> bool:
        return len(self.labelled) + len(self.failed) >= self.budget or self.reached_target

    def stop_note(self) -> str:
        """Why the run stopped, in words ("" while it would go on)."""
        calls = len(self.labelled) + len(self.failed)
        if self.reached_target:
            return (f"stopped: RMSE {self.curve.rmse[-1]:.3g} at or below the target "
                    f"{self.params.target_rmse:g} after {calls} calls")
        if calls >= self.params.max_calls:
            return f"stopped at the budget of {self.params.max_calls} calls"
        if calls >= len(self.pool):
            return f"stopped: every one of the {len(self.pool)} sites was asked for"
        return ""

    def run(self, oracle: Oracle, progress=None, cancel=None) -> SpectrumModel:
        """Query, learn, repeat until done. Progress moves per site when the oracle reports it
        (a round of xTB sites takes minutes); Cancel keeps everything learnt so far, and the
        sites of the cancelled round that were finished (:class:`RoundCancelled`, :meth:`keep`)."""
        round_number = 0
        while not self.done:
            check_cancel(cancel)
            rows = self.next_queries()
            if len(rows) == 0:
                break
            round_number += 1
            try:
                answer = self._ask(oracle, rows, self._round_progress(progress, round_number, len(rows)))
            except RoundCancelled as stop:
                if stop.spectra is not None and len(stop.rows):
                    self.keep(stop.rows, stop.spectra)
                raise
            if isinstance(answer, tuple):
                done, answer = answer
                self.failed.extend(int(r) for r in np.setdiff1d(rows, done))
                rows = done
                if len(rows) == 0:
                    continue
            self.add(rows, answer)
            err = f", RMSE {self.curve.rmse[-1]:.4g}" if self.curve.rmse else ""
            report(progress, len(self.labelled) / self.budget, f"{len(self.labelled)} reference spectra{err}")
        return self.model

    @staticmethod
    def _ask(oracle: Oracle, rows: np.ndarray, progress):
        return oracle(rows, progress=progress) if getattr(oracle, "reports_progress", False) else oracle(rows)

    def _round_progress(self, progress, round_number: int, n_rows: int):
        """The oracle's progress within a round ("site 3 of 8") as the run's: the bar moves
        per site, the message names the round and the time its rest will likely take."""
        if progress is None:
            return None
        import time

        start, before = time.monotonic(), len(self.labelled)
        err = f", RMSE {self.curve.rmse[-1]:.4g}" if self.curve.rmse else ""
        so_far = f" ({before} reference spectra{err})" if before else ""

        def mapped(fraction: float, message: str = "") -> None:
            elapsed = time.monotonic() - start
            left = f"; about {_duration(elapsed / fraction * (1 - fraction))} left in this round" \
                if 0.0 < fraction < 1.0 and elapsed > 1.0 else ""
            report(progress, (before + fraction * n_rows) / self.budget,
                   f"round {round_number}, {message}{so_far}{left}")
        return mapped


def _duration(seconds: float) -> str:
    """"40 s", "3 min", "1.5 h"."""
    if seconds < 90:
        return f"{max(1, round(seconds))} s"
    if seconds < 5400:
        return f"{round(seconds / 60)} min"
    return f"{seconds / 3600:.1f} h"


def _farthest_first(candidates: np.ndarray, chosen: np.ndarray, k: int) -> np.ndarray:
    """Greedy max–min distance: each pick is the candidate farthest from all chosen so far."""
    dmin = np.full(len(candidates), np.inf)
    for c in chosen:
        dmin = np.minimum(dmin, np.sum((candidates - c) ** 2, axis=1))
    picks = []
    for _ in range(k):
        i = int(np.argmax(dmin))
        picks.append(i)
        dmin = np.minimum(dmin, np.sum((candidates - candidates[i]) ** 2, axis=1))
        dmin[i] = -1.0
    return np.array(picks, dtype=np.int64)


def _variance_reduction(cov: np.ndarray, k: int, noise=0.0) -> np.ndarray:
    """Greedy batch that most lowers the summed predictive variance over the candidates.

    ``cov`` is the posterior covariance of the noise-free spectra and ``noise`` the variance of a
    reference spectrum about them (one number, or one per candidate). Learning the (noisy)
    spectrum of site p lowers the variance at c by cov(c, p)² / (var(p) + noise); the covariance is updated as if p were learnt (a GP's
    variance does not depend on the values), so the next pick goes where the first did not already
    help. Unlike the largest-variance rule this weighs a site by how many others it informs, so
    outliers do not take the whole budget; the noise keeps it from chasing variance that no
    reference spectrum can remove.
    """
    cov = np.array(cov, dtype=np.float64)
    picks: list[int] = []
    for _ in range(k):
        denominator = np.clip(np.diag(cov), 0.0, None) + np.maximum(noise, 0.0) + 1e-300
        gain = np.sum(cov**2, axis=0) / denominator
        gain[picks] = -np.inf
        p = int(np.argmax(gain))
        picks.append(p)
        cov -= np.outer(cov[:, p], cov[p, :]) / denominator[p]
    return np.array(picks, dtype=np.int64)


def _top_k_diverse(score: np.ndarray, x: np.ndarray, k: int) -> np.ndarray:
    """The k most uncertain rows, skipping exact duplicates of a row already picked (same site type)."""
    order = np.argsort(-score)
    picks: list[int] = []
    for i in order:
        if all(not np.array_equal(x[i], x[j]) for j in picks):
            picks.append(int(i))
        if len(picks) == k:
            break
    return np.array(picks, dtype=np.int64)


# ------------------------------------------------------------------------- external codes

#: a query's file stem: ``query-atom-<index>`` (``query-<model>-atom-<index>`` past a pool's first
#: model), or ``query-<row>`` as folders exported before atoms named them were
_QUERY_STEM = re.compile(r"query-(?:(\d+)-)?atom-(\d+)|query-(\d+)")


def query_stem(pool_sites: np.ndarray, row: int) -> str:
    """The name of pool row ``row``'s query: its atom's index in the structure, which a user
    finds in the viewer and in the code's input (``query-16`` was the 16th Si, not atom 16)."""
    model, site = (int(v) for v in pool_sites[row])
    return f"query-atom-{site}" if model == 0 else f"query-{model}-atom-{site}"


def query_row(stem: str, pool_sites: np.ndarray) -> int | None:
    """The pool row a query or result named ``stem`` is of (an old ``query-<row>``: that row,
    in the pool or not, for :meth:`ActiveLearner.add` to refuse); None if ``stem`` is no query's.
    Raises ReadError for an atom that is no site of the pool (another structure's queries)."""
    from amorpha.engine.errors import ReadError

    found = _QUERY_STEM.fullmatch(stem)
    if found is None:
        return None
    model, atom, row = found.groups()
    if row is not None:
        return int(row)
    hit = np.flatnonzero((pool_sites[:, 0] == int(model or 0)) & (pool_sites[:, 1] == int(atom)))
    if not len(hit):
        raise ReadError(stem, None, f"atom {atom} is not one of the sites the loop learns on "
                                    "(results of another structure's or element's queries?)")
    return int(hit[0])


def query_path(directory, pool_sites: np.ndarray, row: int) -> str:
    """Where :func:`export_queries` writes pool row ``row``'s query."""
    return os.path.join(directory, query_stem(pool_sites, row) + ".extxyz")


def export_queries(directory, structures, pool_sites: np.ndarray, rows, edge: str = "K") -> list[str]:
    """Write each queried site as an extxyz of its whole model with ``absorber=<index>``,
    ``absorber_element`` and ``edge`` in the header (what the external code is to compute).

    ``structures`` is the list of models and ``pool_sites`` (n_pool, 2) gives, per pool row, the
    model number and the site index. The file names (:func:`query_stem`, ``query-atom-<index>``)
    carry the atom so :func:`import_results` can match the spectra that come back
    (``query-atom-<index>.txt`` beside them).
    """
    from amorpha.engine.io import write_extxyz

    os.makedirs(directory, exist_ok=True)
    written = []
    for row in np.asarray(rows, dtype=np.int64):
        model, site = (int(v) for v in pool_sites[row])
        atoms = structures[model].copy()
        atoms.info["absorber"] = site
        atoms.info["absorber_element"] = atoms.get_chemical_symbols()[site]
        atoms.info["edge"] = edge
        path = query_path(directory, pool_sites, row)
        write_extxyz(atoms, path)
        written.append(path)
    return written


def _query_stems(directory) -> list[str]:
    """Stems of the query structures in ``directory``, sorted."""
    names = (n[:-7] for n in os.listdir(directory) if n.endswith(".extxyz"))
    return sorted(n for n in names if _QUERY_STEM.fullmatch(n))


def exported_rows(directory, pool_sites: np.ndarray) -> list[int]:
    """Pool rows of the queries :func:`export_queries` wrote into ``directory``."""
    return sorted(query_row(stem, pool_sites) for stem in _query_stems(directory))


def queries_edge(directory) -> tuple[str, str] | None:
    """(element, edge) the queries in ``directory`` ask for, from the first one's header line
    alone (cheap enough for the window's thread); K for folders written before the edge was (only
    K edges were exported then); None without queries or without an absorber element named."""
    from ase.io.extxyz import key_val_str_to_dict

    stems = _query_stems(directory) if os.path.isdir(directory) else []
    if not stems:
        return None  # (import_results says what is missing)
    try:
        with open(os.path.join(directory, stems[0] + ".extxyz"), encoding="utf-8", errors="replace") as f:
            f.readline()
            header = key_val_str_to_dict(f.readline())
    except (OSError, ValueError):  # unreadable: check_queries says so when it reads the whole file
        return None
    element = header.get("absorber_element")
    return (str(element), str(header.get("edge", "K"))) if element else None


def check_queries(directory, rows, structures, pool_sites: np.ndarray) -> None:
    """Refuse results whose query (beside them, where it still is: ``query-atom-<index>.extxyz``,
    or an old folder's ``query-<row>.extxyz``) is not that pool row's site: the folder belongs
    to another structure's loop, and its spectra would be learnt as if they were of other sites."""
    from amorpha.engine.errors import ReadError
    from amorpha.engine.io import read_structure

    for row in rows:
        if not 0 <= row < len(pool_sites):  # (a row outside: add refuses it)
            continue
        paths = (query_path(directory, pool_sites, row), os.path.join(directory, f"query-{row}.extxyz"))
        path = next((p for p in paths if os.path.exists(p)), None)
        if path is None:
            continue
        model, site = (int(v) for v in pool_sites[row])
        atoms, query = structures[model], read_structure(path)
        same = (len(query) == len(atoms) and query.info.get("absorber") == site
                and np.allclose(query.positions, atoms.positions, atol=1e-3))
        if not same:
            raise ReadError(path, None, f"it is not site {site} of the structure the loop learns on "
                                        f"({len(atoms)} atoms): results of another structure's queries?")


def _same_kind(known: SiteSpectra, new: SiteSpectra) -> None:
    """Refuse answers of another element, edge or energy scale than the learner's first ones (xTB's
    edge-relative spectra, then CASTEP's on its own scale): stacked, they would teach nonsense."""
    kinds = kind_of(known), kind_of(new)
    if "? ?" not in kinds and kinds[0] != kinds[1]:  # text results name no element or edge
        raise ParameterError("spectra", f"these are {kinds[1]} spectra; the learner learns {kinds[0]}")
    scales = scale_name(known.meta.get("axis", "")), scale_name(new.meta.get("axis", ""))
    if scales[0] != scales[1]:
        raise ParameterError("spectra", f"these spectra are {scales[1]}, the learner's {scales[0]}: "
                                        "one model cannot learn from both; train on them alone "
                                        "(Train from folder…)")


def import_results(directory, pool_sites: np.ndarray, grid: np.ndarray | None = None, edge: str = "",
                   skip=()) -> tuple[np.ndarray, SiteSpectra]:
    """Pool rows and spectra from ``query-atom-<index>.{txt,csv,dat}`` files an external code wrote
    (or an older folder's ``query-<row>``: :func:`query_row` with ``pool_sites``), or from CASTEP
    runs of the queries (OptaDOS's ``query-atom-<index>_core_edge.dat``: see :func:`_castep_query`;
    ``edge``, the learner's, picks among the edges a run wrote). Rows in ``skip`` (learnt already:
    one folder serves every round) are not read."""
    from amorpha.engine.spectra import read_columns
    from amorpha.engine.spectra.castep import CORE_SUFFIX, core_seed

    rows, spectra = [], []
    for name in sorted(os.listdir(directory)):
        seed = core_seed(name)
        castep = seed is not None
        stem, ext = (seed, "") if castep else os.path.splitext(name)
        if not (castep or ext.lower() in (".txt", ".csv", ".dat")):
            continue
        row = query_row(stem, pool_sites)
        if row is not None and row not in skip:
            path = os.path.join(directory, name)
            spectrum = _castep_query(directory, stem, path, edge) if castep else read_columns(path)
            rows.append(row)
            spectra.append(replace(spectrum, site=row))
    require(bool(spectra), "directory", f"no query-atom-<index>.txt spectra or query-atom-<index>{CORE_SUFFIX} in "
                                        f"{directory}{' other than those learnt already' if len(skip) else ''}")
    order = np.argsort(rows, kind="stable")  # by pool row, as the names of old folders sorted them
    rows, spectra = np.array(rows, dtype=np.int64)[order], [spectra[k] for k in order]
    _check_cover(spectra, spectra[0].energy if grid is None else np.asarray(grid, dtype=np.float64))
    return rows, SiteSpectra.from_spectra(spectra, grid)


#: The share of the grid's span a result may leave uncovered at either end (rounding of its range).
COVER_SLACK = 0.05


def _check_cover(spectra, grid: np.ndarray) -> None:
    """Refuse a result that covers only part of the loop's energies: put on the grid, the rest
    became zeros, learnt as if the code had computed them (a result 15 eV up from the first
    ones was learnt that way without a word)."""
    slack = COVER_SLACK * (grid[-1] - grid[0])
    for s in spectra:
        if s.energy[0] > grid[0] + slack or s.energy[-1] < grid[-1] - slack:
            raise SpectrumError(f"{s.label or 'a result'} covers {s.energy[0]:g}–{s.energy[-1]:g} eV, but this loop's "
                                f"spectra run over {grid[0]:g}–{grid[-1]:g} eV (its first results'): the rest would "
                                "be learnt as zeros. Give every result the same energies (the same reference "
                                "and range)")


def _castep_query(directory, stem: str, core: str, edge: str = ""):
    """The absorber's block of a CASTEP run of query ``stem`` (of ``edge``, when given: a run
    writes K, L1, L2,3... alike): the file's only block, or the one on the atom ``stem.extxyz``
    names, found through the run's ``stem.cell`` (same atom order)."""
    from amorpha.engine.errors import ReadError
    from amorpha.engine.io import read_structure
    from amorpha.engine.spectra.castep import castep_sites, cell_of, read_optados_core

    blocks = read_optados_core(core)
    if edge:
        edges = sorted({b.edge for b in blocks})
        blocks = [b for b in blocks if b.edge == edge]
        if not blocks:
            raise ReadError(core, None, f"no {edge} edge among its blocks ({', '.join(edges)})")
    if len(blocks) == 1:
        return blocks[0].spectrum
    cell = cell_of(core)
    if cell is None:
        raise ReadError(core, None, f"{len(blocks)} site blocks and no {stem}.cell beside it to tell "
                                    "which is the queried absorber's")
    absorber = int(read_structure(os.path.join(directory, stem + ".extxyz")).info["absorber"])
    found = [spectrum for index, spectrum in castep_sites(cell, core, blocks)[1] if index == absorber]
    if not found:
        raise ReadError(core, None, f"no block on the queried absorber, atom {absorber} of {os.path.basename(cell)}")
    return found[0]


def compare_strategies(pool: np.ndarray, oracle: "Oracle | np.ndarray", test: tuple[np.ndarray, np.ndarray],
                       params: ActiveParams, strategies=("uncertainty", "random"), descriptor: dict | None = None,
                       curves: dict | None = None, progress=None, cancel=None) -> dict[str, LearningCurve]:
    """Learning curves (error on the held-out ``test`` features and spectra against calls) of
    ``strategies`` on one pool, each run from the same seed. ``oracle`` answers pool rows, or is
    the spectra of every row when all are known (benchmarks). ``curves`` (a dict) is filled while
    the runs go, so a window can draw them live; Cancel keeps the points made so far there."""
    answer = oracle if callable(oracle) else (lambda rows, known=np.asarray(oracle): known[rows])
    curves = {} if curves is None else curves
    for k, strategy in enumerate(strategies):
        check_cancel(cancel)
        learner = ActiveLearner(pool, replace(params, strategy=strategy), descriptor, test=test)
        curves[strategy] = learner.curve
        part = sub_progress(progress, k / len(strategies), (k + 1) / len(strategies))
        learner.run(answer, progress=lambda f, m, s=strategy, p=part: report(p, f, f"{s}: {m}"), cancel=cancel)
    return curves

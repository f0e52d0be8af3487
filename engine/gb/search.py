"""Search strategies over a candidate set and the loop that runs them.

Strategies only choose which candidate to relax next; the loop (:class:`GbSearch`) relaxes them
through an oracle, in this process, in worker processes or on Dask, reads and fills the disk
cache, and yields every evaluation as it arrives so a plot of the best energy can follow live.
Stopping (``cancel``) keeps everything found so far.

* ``exhaustive``: every candidate in grid order;
* ``random``: a random order (``seed``);
* ``bo``: Bayesian optimisation (Kiyohara et al., Jpn. J. Appl. Phys. 55, 045502 (2016)): after
  ``n_initial`` random candidates, a Gaussian process (scikit-learn, Matérn ν = 5/2 with one length
  per coordinate, plus a white-noise term for the kinks of relaxation) is fitted to γ over the
  candidate coordinates (in-plane translation on circles, since it is periodic; dz; removal
  distance), and the next candidate maximises expected improvement (``ei``), probability of
  improvement (``pi``) or minimises the lower confidence bound (``lcb``);
* ``screening``: a :class:`~amorpha.engine.gb.screening.ScreeningModel` trained on other
  boundaries ranks the candidates from cheap descriptors of their unrelaxed structures, and only
  the best ``n_evals`` are relaxed.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable, Iterator, Optional

import numpy as np
from ase import Atoms

from ..errors import require
from ..tasks import CancelFn, Cancelled, ProgressFn, chunked, report, sub_progress
from .cache import EvaluationCache
from .candidates import (CandidateSet, GbBoundary, GbSearchParams, candidate_grid, in_plane_periods,
                         thin_grain_note)
from .oracles import Evaluation, Oracle, Reference

STRATEGIES = ("exhaustive", "random", "bo", "screening")
ACQUISITIONS = ("ei", "pi", "lcb")
#: How often (s) the loop looks at running evaluations and at ``cancel``.
POLL_S = 0.05


# --------------------------------------------------------------------------- strategies


class Strategy:
    """Chooses candidates: ``propose(evaluated, excluded, k)`` → up to k new indices."""

    name = "strategy"

    def propose(self, evaluated: dict[int, float], excluded: set[int], k: int) -> list[int]:
        raise NotImplementedError


class OrderedStrategy(Strategy):
    """Candidates in a fixed order: exhaustive (grid order), random, or a screening ranking."""

    def __init__(self, order: np.ndarray, name: str):
        self.order = np.asarray(order, dtype=np.int64)
        self.name = name
        self._next = 0

    def propose(self, evaluated, excluded, k):
        picked = []
        while len(picked) < k and self._next < len(self.order):
            i = int(self.order[self._next])
            self._next += 1
            if i not in excluded:
                picked.append(i)
        return picked


def _acquisition(kind: str, mu: np.ndarray, sigma: np.ndarray, best: float, xi: float,
                 kappa: float) -> np.ndarray:
    """Scores to maximise for minimising γ."""
    from scipy.stats import norm  # noqa: PLC0415

    if kind == "lcb":
        return -(mu - kappa * sigma)
    sigma = np.maximum(sigma, 1e-12)
    z = (best - mu - xi) / sigma
    if kind == "pi":
        return norm.cdf(z)
    return (best - mu - xi) * norm.cdf(z) + sigma * norm.pdf(z)


#: Memory (bytes) the acquisition may hold at once: candidates are scored in chunks this fits, so
#: 10⁶ candidates after 150 evaluations need no more than 10³ do (it was 7.3 GB in one piece).
ACQUISITION_BYTES = 200_000_000
#: Float arrays of (chunk × evaluations) the GP's prediction holds at its peak (kernel, its
#: derivatives in the Matérn, the triangular solve): measured, with a margin.
_ARRAYS_PER_ROW = 10


def acquisition_chunk(n_train: int, n_features: int) -> int:
    """Candidates scored at once so a chunk stays within :data:`ACQUISITION_BYTES`."""
    per_row = 8 * _ARRAYS_PER_ROW * (n_train + n_features + 1)
    return max(256, ACQUISITION_BYTES // per_row)


#: Seconds BO takes to choose one candidate per 10⁶ candidates after m evaluations, as
#: c₀ + c₁·m + c₂·m²: the GP predicts mean and σ of every free candidate each time (measured on 2
#: cores, one BLAS thread: 1.0 s at m = 10, 3.0 s at 100, 7.2 s at 200, 13 s at 300).
BO_SECONDS_PER_MILLION = (0.8, 0.015, 1e-4)
#: Time (s) BO may spend choosing over a whole search before the user is told beforehand.
SLOW_BO_SECONDS = 30.0


def bo_seconds(n_candidates: int, n_evals: int, n_initial: int = 5) -> tuple[float, float]:
    """About how long BO spends choosing (s): (the last candidate, all of ``n_evals`` together).

    Known from the counts alone, so a search can be reconsidered before it starts."""
    m = np.arange(min(n_initial, n_evals), n_evals, dtype=float)
    c0, c1, c2 = BO_SECONDS_PER_MILLION
    each = n_candidates / 1e6 * (c0 + c1 * m + c2 * m * m)
    return (float(each[-1]) if each.size else 0.0, float(each.sum()))


def search_notes(params: GbSearchParams, strategy: str, n_evals: int, n_initial: int = 5,
                 a: Optional[float] = None) -> list[str]:
    """What to tell before a search starts, as sentences: grains too thin for one boundary
    (:func:`~.candidates.thin_grain_note`), and Bayesian optimisation that will spend long choosing
    (:func:`bo_seconds` ≥ :data:`SLOW_BO_SECONDS`: nothing said it took 11 s a candidate)."""
    from ..words import about_duration  # noqa: PLC0415

    notes = []
    thin = thin_grain_note(params.boundary, a)
    if thin:
        notes.append(thin[0].upper() + thin[1:] + ".")
    n = params.count
    last, total = bo_seconds(n, min(n_evals, n), n_initial)
    if strategy == "bo" and total >= SLOW_BO_SECONDS:
        notes.append(f"Bayesian optimisation over {n:,} candidates will spend {about_duration(total)} "
                     f"choosing them (~{last:.1f} s each by the end: its Gaussian process scores "
                     "every candidate); fewer translations or random order are quicker.")
    return notes


class BayesianOptimisation(Strategy):
    """Gaussian-process Bayesian optimisation over candidate coordinates (see the module docstring).

    ``xi`` (J/m²) is the improvement EI and PI ask for beyond the best; ``kappa`` weighs σ in LCB.
    A batch (``k`` > 1) and the candidates still running (``excluded`` but not ``evaluated``: on
    worker processes or Dask) are handled as a "kriging believer": each is taken as observed at
    the GP's mean, so its uncertainty collapses and the next pick goes elsewhere rather than
    next to it. ``cancel`` is checked between chunks of candidates.
    """

    name = "bo"

    def __init__(self, features: np.ndarray, n_initial: int = 5, acquisition: str = "ei",
                 seed: int = 0, xi: float = 0.002, kappa: float = 2.0,
                 cancel: Optional[CancelFn] = None):
        require(acquisition in ACQUISITIONS, "acquisition",
                f"unknown acquisition {acquisition!r}; choose one of {', '.join(ACQUISITIONS)}")
        require(isinstance(n_initial, int) and n_initial >= 1, "n_initial",
                f"needs a whole number ≥ 1 of random evaluations to start from, got {n_initial!r}")
        self.x = np.asarray(features, dtype=float)
        self.scale = np.where(self.x.std(axis=0) > 0, self.x.std(axis=0), 1.0)
        self.n_initial = n_initial
        self.acquisition = acquisition
        self.xi, self.kappa = float(xi), float(kappa)
        self.cancel = cancel
        self._random = OrderedStrategy(np.random.default_rng(seed).permutation(len(self.x)), "random")
        self._kernel = None  # last fitted kernel: the next fit starts from it

    def _model(self, n: int):
        from sklearn.gaussian_process import GaussianProcessRegressor  # noqa: PLC0415
        from sklearn.gaussian_process.kernels import ConstantKernel, Matern, WhiteKernel  # noqa: PLC0415

        if self._kernel is not None and n % 5:  # one more point moves the optimum a little
            return GaussianProcessRegressor(self._kernel, normalize_y=True, random_state=0)
        d = self.x.shape[1]
        kernel = (ConstantKernel(1.0, (1e-3, 1e3)) * Matern(np.ones(d), (0.05, 20.0), nu=2.5)
                  + WhiteKernel(1e-3, (1e-6, 1e-1)))
        return GaussianProcessRegressor(kernel, normalize_y=True, n_restarts_optimizer=2,
                                        random_state=0)

    def scores(self, gp, x: np.ndarray, pool: np.ndarray, best: float) -> np.ndarray:
        """The acquisition of the candidates ``pool``, predicted chunk by chunk (bounded memory;
        ``cancel`` between chunks). Rows do not interact, so this equals one big prediction."""
        chunk = acquisition_chunk(len(gp.X_train_), x.shape[1])
        out = np.empty(len(pool))
        for start, stop in chunked(len(pool), chunk, cancel=self.cancel):
            mu, sigma = gp.predict(x[pool[start:stop]], return_std=True)
            out[start:stop] = _acquisition(self.acquisition, mu, sigma, best, self.xi, self.kappa)
        return out

    @staticmethod
    def _believer(gp, x: np.ndarray, done: np.ndarray, y: np.ndarray, extra: list[int],
                  extra_y: list[float]):
        """The fitted GP (same kernel, not re-optimised) told that ``extra`` gave ``extra_y``."""
        from sklearn.gaussian_process import GaussianProcessRegressor  # noqa: PLC0415

        model = GaussianProcessRegressor(gp.kernel_, normalize_y=True, optimizer=None)
        rows = np.concatenate([done, np.asarray(extra, dtype=np.int64)])
        return model.fit(x[rows], np.concatenate([y, np.asarray(extra_y, dtype=float)]))

    def propose(self, evaluated, excluded, k):
        if len(evaluated) < self.n_initial:
            return self._random.propose(evaluated, excluded, min(k, self.n_initial - len(evaluated)))
        import warnings  # noqa: PLC0415

        from threadpoolctl import threadpool_limits  # noqa: PLC0415 - scikit-learn's dependency

        done = np.fromiter(evaluated, dtype=np.int64)
        y = np.fromiter(evaluated.values(), dtype=float)
        x = self.x / self.scale
        # One BLAS thread: the GP's matrices are small, and OpenBLAS' threads spinning on a busy
        # machine made each Cholesky factorisation of 150 points take 0.2 s instead of 1 ms.
        with warnings.catch_warnings(), threadpool_limits(1, user_api="blas"):
            warnings.simplefilter("ignore")  # length scales at their bounds on flat data
            gp = self._model(len(done)).fit(x[done], y)
            self._kernel = gp.kernel_
            free = np.ones(len(x), dtype=bool)
            free[list(excluded)] = False
            running = sorted(i for i in excluded if i not in evaluated)
            believed = [float(v) for v in gp.predict(x[running])] if running else []
            model = self._believer(gp, x, done, y, running, believed) if running else gp
            picked: list[int] = []
            while len(picked) < k and free.any():
                pool = np.flatnonzero(free)
                score = self.scores(model, x, pool, float(y.min()))
                i = int(pool[np.argmax(np.where(np.isnan(score), -np.inf, score))])  # the first best
                picked.append(i)
                free[i] = False
                if len(picked) < k:  # the rest of the batch believes this one at the mean
                    running.append(i)
                    believed.append(float(model.predict(x[[i]])[0]))
                    model = self._believer(gp, x, done, y, running, believed)
        return picked


def make_strategy(name: str, candidates: CandidateSet, *, seed: int = 0, n_initial: int = 5,
                  acquisition: str = "ei", screening_model=None, reference: Optional[Reference] = None,
                  progress: Optional[ProgressFn] = None, cancel: Optional[CancelFn] = None) -> Strategy:
    """A strategy by name (see :data:`STRATEGIES`); ``screening`` needs a trained model."""
    require(name in STRATEGIES, "strategy", f"unknown strategy {name!r}; choose one of {', '.join(STRATEGIES)}")
    if name == "exhaustive":
        return OrderedStrategy(np.arange(len(candidates)), "exhaustive")
    if name == "random":
        return OrderedStrategy(np.random.default_rng(seed).permutation(len(candidates)), "random")
    if name == "bo":
        return BayesianOptimisation(candidates.features(), n_initial, acquisition, seed,
                                    cancel=cancel)
    require(screening_model is not None, "screening_model",
            "virtual screening needs a model trained on other boundaries (ScreeningModel.fit)")
    screening_model.check_comparable(candidates.boundary)
    a = None if reference is None else reference.a
    order = screening_model.rank(candidates, a=a, progress=progress, cancel=cancel)
    return OrderedStrategy(order, "screening")


def evaluations_to_target(strategy: Strategy, values: np.ndarray, target: float,
                          budget: Optional[int] = None) -> Optional[int]:
    """Drive ``strategy`` against known values (a table of γ, or a test function) one at a time:
    how many evaluations until one is ≤ ``target`` (None: not within ``budget``).

    This is how strategies are compared without relaxing anything (benchmark, tests).
    """
    values = np.asarray(values, dtype=float)
    budget = len(values) if budget is None else int(budget)
    evaluated: dict[int, float] = {}
    while len(evaluated) < budget:
        picked = strategy.propose(evaluated, set(evaluated), 1)
        if not picked:
            return None
        evaluated[picked[0]] = float(values[picked[0]])
        if evaluated[picked[0]] <= target:
            return len(evaluated)
    return None


# --------------------------------------------------------------------------- results


@dataclass
class SearchResult:
    """What a search found, in the order it was found; valid however the search ended."""

    candidates: CandidateSet
    oracle: dict
    reference: Reference
    strategy: str
    evaluations: list[Evaluation] = field(default_factory=list)
    stopped: bool = False
    error: Optional[str] = None

    @property
    def indices(self) -> np.ndarray:
        return np.array([e.candidate.index for e in self.evaluations], dtype=np.int64)

    @property
    def gammas(self) -> np.ndarray:
        return np.array([e.gamma for e in self.evaluations], dtype=float)

    def best_so_far(self) -> np.ndarray:
        """Lowest γ after each evaluation (the live plot's curve)."""
        g = self.gammas
        return np.minimum.accumulate(g) if g.size else g

    @property
    def best(self) -> Optional[Evaluation]:
        return min(self.evaluations, key=lambda e: e.gamma) if self.evaluations else None

    def best_atoms(self) -> Optional[Atoms]:
        """The best relaxed bicrystal, ``arrays["site_energy"]`` = energy per atom − e_bulk (eV)."""
        best = self.best
        return None if best is None else best.atoms(self.reference.e_bulk)

    def evaluations_to(self, target: float, tolerance: float = 0.005) -> Optional[int]:
        """How many evaluations it took to reach γ ≤ target + tolerance (None: never)."""
        hit = np.flatnonzero(self.gammas <= target + tolerance)
        return int(hit[0]) + 1 if hit.size else None

    def energy_map(self) -> np.ndarray:
        """(nx, ny) lowest γ over dz and removal at each in-plane translation; NaN where none ran."""
        nx, ny = self.candidates.shape[:2]
        grid = np.full((nx, ny), np.inf)
        if self.evaluations:
            ij = self.candidates.grid_index[self.indices, :2]
            np.minimum.at(grid, (ij[:, 0], ij[:, 1]), self.gammas)
        grid[np.isinf(grid)] = np.nan
        return grid

    def energy_map_axes(self) -> tuple[np.ndarray, np.ndarray]:
        """In-plane translations (Å, at the oracle's a₀) of the rows and columns of :meth:`energy_map`."""
        from .candidates import in_plane_periods  # noqa: PLC0415

        nx, ny = self.candidates.shape[:2]
        px, py = in_plane_periods(self.candidates.boundary, self.reference.a)
        return np.arange(nx) * px / nx, np.arange(ny) * py / ny

    def to_dict(self) -> dict:
        best = self.best
        return {"boundary": self.candidates.boundary.as_dict(), "oracle": self.oracle,
                "strategy": self.strategy, "candidates": len(self.candidates),
                "evaluations": len(self.evaluations), "stopped": self.stopped, "error": self.error,
                "lattice_constant": self.reference.a, "e_bulk": self.reference.e_bulk,
                "best_gamma": None if best is None else best.gamma,
                "best_candidate": None if best is None else best.candidate.index,
                "indices": self.indices.tolist(), "gammas": self.gammas.tolist(),
                "best_so_far": self.best_so_far().tolist(), "evaluated": self.evaluation_records()}

    def evaluation_records(self) -> list[dict]:
        """Each evaluation in the order made: its candidate, translation (Å, and as fractions of
        the in-plane CSL periods), removal threshold, γ, atoms kept, relaxation steps and seconds
        (cached: taken from an earlier run), so the landscape can be read without the grid."""
        px, py = in_plane_periods(self.candidates.boundary, self.reference.a)
        return [{"candidate": e.candidate.index, "fx": e.candidate.fx, "fy": e.candidate.fy,
                 "dx": e.candidate.fx * px, "dy": e.candidate.fy * py, "dz": e.candidate.dz,
                 "removal": e.candidate.removal, "gamma": e.gamma, "n_atoms": e.n_atoms,
                 "steps": int(e.steps), "seconds": float(e.seconds), "cached": bool(e.cached)}
                for e in self.evaluations]


    def to_stored(self) -> tuple[dict, dict]:
        """(arrays, params) for a project: every evaluation whole (its relaxed atoms too: 10³
        evaluations of 10² atoms are a few MB), so a reopened project shows the landscape and the
        best structure, and :meth:`from_stored` gives this result back."""
        ev = self.evaluations
        sizes = np.array([e.n_atoms for e in ev], np.int64)
        arrays = {"indices": self.indices, "gammas": self.gammas,
                  "energies": np.array([e.energy for e in ev], float),
                  "areas": np.array([e.area for e in ev], float),
                  "steps": np.array([e.steps for e in ev], np.int64),
                  "seconds": np.array([e.seconds for e in ev], float),
                  "cached": np.array([e.cached for e in ev], bool),
                  "atom_offsets": np.concatenate(([0], np.cumsum(sizes))).astype(np.int64),
                  "cells": np.array([e.cell for e in ev], float).reshape(-1, 3, 3),
                  "numbers": np.concatenate([e.numbers for e in ev]).astype(np.int64) if ev else np.zeros(0, np.int64),
                  "positions": np.concatenate([e.positions for e in ev]).reshape(-1, 3) if ev else np.zeros((0, 3)),
                  "site_energies": np.concatenate([e.site_energies for e in ev]) if ev else np.zeros(0)}
        grid = self.candidates.params
        params = {"boundary": grid.boundary.as_dict(), "nx": int(grid.nx), "ny": int(grid.ny),
                  "dz": [float(x) for x in grid.dz], "removal": [float(x) for x in grid.removal],
                  "oracle": self.oracle, "a": float(self.reference.a),
                  "e_bulk": float(self.reference.e_bulk), "strategy": self.strategy,
                  "stopped": bool(self.stopped), "error": self.error}
        return arrays, params

    @classmethod
    def from_stored(cls, arrays: dict, params: dict) -> "SearchResult":
        """The result :meth:`to_stored` gave; :class:`ValueError` (or ParameterError, KeyError,
        TypeError) when the arrays do not fit each other or the grid."""
        boundary = GbBoundary(**params["boundary"])
        candidates = candidate_grid(GbSearchParams(boundary, int(params["nx"]), int(params["ny"]),
                                                   tuple(params["dz"]), tuple(params["removal"])))
        indices = np.asarray(arrays["indices"], np.int64)
        m = len(indices)
        offsets = np.asarray(arrays["atom_offsets"], np.int64)
        per_eval = ("gammas", "energies", "areas", "steps", "seconds", "cached", "cells")
        if (any(len(arrays[k]) != m for k in per_eval) or offsets.shape != (m + 1,)
                or offsets[0] != 0 or np.any(np.diff(offsets) < 0)
                or any(len(arrays[k]) != offsets[-1] for k in ("numbers", "positions", "site_energies"))
                or np.any((indices < 0) | (indices >= len(candidates)))):
            raise ValueError("its evaluations do not fit each other or the candidate grid")
        evaluations = [
            Evaluation(candidates[int(i)], float(arrays["gammas"][k]), float(arrays["energies"][k]),
                       float(arrays["areas"][k]), np.asarray(arrays["site_energies"][lo:hi], float),
                       np.asarray(arrays["positions"][lo:hi], float).reshape(-1, 3),
                       np.asarray(arrays["numbers"][lo:hi], np.int64),
                       np.asarray(arrays["cells"][k], float), int(arrays["steps"][k]),
                       float(arrays["seconds"][k]), bool(arrays["cached"][k]))
            for k, (i, lo, hi) in enumerate(zip(indices, offsets[:-1], offsets[1:]))]
        return cls(candidates, dict(params["oracle"]), Reference(float(params["a"]), float(params["e_bulk"])),
                   str(params["strategy"]), evaluations, bool(params["stopped"]), params.get("error"))


class SearchFailed(RuntimeError):
    """An evaluation failed or the cluster went away; ``result`` holds what was found before."""

    def __init__(self, message: str, result: SearchResult):
        super().__init__(message)
        self.result = result


# --------------------------------------------------------------------------- the loop


def _evaluate(oracle: Oracle, candidate, reference: Reference, cancel=None) -> Evaluation:
    return oracle.evaluate(candidate, reference, cancel)


class GbSearch:
    """A search in progress: iterate to get evaluations one by one; :attr:`result` at any time.

    Parameters as :func:`run_search`. Iterating opens the pool (worker processes or Dask) and
    closes it when the budget is spent, ``cancel`` answers True, or an error stops it.
    """

    def __init__(self, candidates: CandidateSet, oracle: Oracle, strategy: str = "bo",
                 n_evals: Optional[int] = None, *, workers: int = 1, scheduler: Optional[str] = None,
                 dask: bool = False, seed: int = 0, n_initial: int = 5, acquisition: str = "ei",
                 screening_model=None, cache: bool = True, cache_dir=None,
                 cancel: Optional[CancelFn] = None, progress: Optional[ProgressFn] = None):
        require(len(candidates) > 0, "candidates", "the candidate set is empty")
        oracle.check(candidates.boundary.crystal)
        if n_evals is None:
            n_evals = len(candidates) if strategy == "exhaustive" else min(100, len(candidates))
        require(isinstance(n_evals, (int, np.integer)) and n_evals >= 1, "n_evals",
                f"needs a whole number of evaluations ≥ 1, got {n_evals!r}")
        self.candidates, self.oracle = candidates, oracle
        self.n_evals = int(min(n_evals, len(candidates)))
        self.workers, self.scheduler, self.dask = workers, scheduler, dask
        self.cancel, self.progress = cancel, progress
        self.reference = oracle.reference(candidates.boundary.crystal)
        self.cache = (EvaluationCache(oracle, self.reference, cache_dir, candidates.boundary.crystal)
                      if cache else None)
        # Screening first computes descriptors of every candidate: the first 30 % of the bar.
        self._span = (0.3, 1.0) if strategy == "screening" else (0.0, 1.0)
        self.strategy = make_strategy(strategy, candidates, seed=seed, n_initial=n_initial,
                                      acquisition=acquisition, screening_model=screening_model,
                                      reference=self.reference, cancel=cancel,
                                      progress=sub_progress(progress, 0.0, self._span[0]))
        self.result = SearchResult(candidates, oracle.settings(), self.reference, strategy)
        self._evaluated: dict[int, float] = {}

    def _cancelled(self) -> bool:
        return self.cancel is not None and bool(self.cancel())

    def _record(self, evaluation: Evaluation) -> Evaluation:
        self.result.evaluations.append(evaluation)
        self._evaluated[evaluation.candidate.index] = evaluation.gamma
        if self.cache is not None and not evaluation.cached:
            self.cache.put(evaluation)
        n, best = len(self.result.evaluations), min(self._evaluated.values())
        lo, hi = self._span
        report(self.progress, lo + (hi - lo) * n / self.n_evals,
               f"{n}/{self.n_evals} evaluations, best γ {best:.4f} J/m²")
        return evaluation

    def __iter__(self) -> Iterator[Evaluation]:
        from .parallel import make_pool  # noqa: PLC0415

        if self._cancelled():
            self.result.stopped = True
            return
        pool = make_pool(self.workers, self.scheduler, self.dask)
        pending: dict = {}
        try:
            while len(self._evaluated) < self.n_evals:
                if self._cancelled():
                    self.result.stopped = True
                    return
                room = min(pool.capacity - len(pending), self.n_evals - len(self._evaluated) - len(pending))
                if room > 0:
                    excluded = set(self._evaluated) | set(pending)
                    try:  # BO over 10⁶ candidates takes seconds: it checks ``cancel`` itself
                        picked = self.strategy.propose(self._evaluated, excluded, room)
                    except Cancelled:
                        self.result.stopped = True
                        return
                    if not picked and not pending:
                        return  # the strategy has nothing left
                    for i in picked:
                        candidate = self.candidates[i]
                        hit = self.cache.get(candidate) if self.cache is not None else None
                        if hit is not None:
                            yield self._record(hit)
                        else:
                            # Only an in-process relaxation can see ``cancel`` (it is not picklable).
                            pending[i] = pool.submit(_evaluate, self.oracle, candidate, self.reference,
                                                     self.cancel if pool.in_process else None)
                    if any(i in self._evaluated for i in picked):
                        continue  # cache hits change what the strategy knows
                finished = [i for i, f in pending.items() if f.done()]
                if not finished:
                    try:
                        pool.check()
                    except ConnectionError as exc:
                        self.result.error = str(exc)
                        raise SearchFailed(f"the search stopped after {len(self._evaluated)} "
                                           f"evaluations: {exc}", self.result) from exc
                    time.sleep(POLL_S)
                    continue
                for i in finished:
                    future = pending.pop(i)
                    try:
                        evaluation = future.result()
                    except Cancelled:
                        self.result.stopped = True
                        return
                    except Exception as exc:  # noqa: BLE001 - reported with the results kept
                        self.result.error = f"candidate {i}: {type(exc).__name__}: {exc}"
                        raise SearchFailed(f"the search stopped after {len(self._evaluated)} "
                                           f"evaluations: {self.result.error}", self.result) from exc
                    yield self._record(evaluation)
        finally:
            for future in pending.values():
                future.cancel()
            pool.close()


def run_search(candidates: CandidateSet, oracle: Oracle, strategy: str = "bo",
               n_evals: Optional[int] = None, *, progress: Optional[ProgressFn] = None,
               cancel: Optional[CancelFn] = None, workers: int = 1, scheduler: Optional[str] = None,
               dask: bool = False, seed: int = 0, n_initial: int = 5, acquisition: str = "ei",
               screening_model=None, cache: bool = True, cache_dir=None,
               on_evaluation: Optional[Callable[[Evaluation], None]] = None) -> SearchResult:
    """Run a search to its budget (or until ``cancel``) and return what it found.

    ``n_evals`` defaults to every candidate for ``exhaustive`` and 100 otherwise. ``workers`` > 1
    relaxes in that many processes; ``dask=True`` uses a local Dask cluster of ``workers``
    processes, ``scheduler="tcp://host:8786"`` a running one. ``on_evaluation`` is called with
    each evaluation as it arrives. A cancelled search returns its result with ``stopped`` set;
    a failed evaluation raises :class:`SearchFailed` whose ``result`` keeps what was found.
    """
    search = GbSearch(candidates, oracle, strategy, n_evals, workers=workers, scheduler=scheduler,
                      dask=dask, seed=seed, n_initial=n_initial, acquisition=acquisition,
                      screening_model=screening_model, cache=cache, cache_dir=cache_dir,
                      cancel=cancel, progress=progress)
    for evaluation in search:
        if on_evaluation is not None:
            on_evaluation(evaluation)
    return search.result


__all__ = ["ACQUISITIONS", "STRATEGIES", "BayesianOptimisation", "GbSearch", "OrderedStrategy",
           "SearchFailed", "SearchResult", "Strategy", "bo_seconds", "evaluations_to_target",
           "make_strategy", "run_search", "search_notes"]

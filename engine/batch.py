"""Run one analysis on many frames of a structure file: in this process, in local processes, or on
a Dask cluster. Qt-free; ``amorpha-cli`` is a thin layer over this module.

:func:`run_frames` hands each worker the file's path and a frame index, never the frame itself:
the worker reads its frame (it opens the file once and keeps the lazy
:class:`~amorpha.engine.io.Trajectory`), runs the analysis and sends back the (small) result. On a
remote Dask cluster the path must therefore be readable by the workers (a shared file system).

An *analysis* is a picklable callable ``analysis(atoms, progress=None, cancel=None) -> result``
(a top-level function, a :func:`functools.partial` of one, or an instance of a top-level class).
The classes below are the analyses the window offers, called exactly as the window calls them, so
a script or the command line gets the window's numbers:

* :class:`RingAnalysis`: bonds by the Structure panel's cutoffs, then
  :func:`~amorpha.engine.order.rings.compute_rings` (``RingResult.to_dict()``);
* :class:`CoordinationAnalysis`: :func:`~amorpha.engine.bonds.compute_coordination`;
* :class:`OrderAnalysis`: :func:`~amorpha.engine.order.local_order.compute_steinhardt` and
  :func:`~amorpha.engine.order.local_order.compute_tetrahedral`;
* :class:`SpectrumAnalysis`: a spectrum model's predicted average spectrum.

Cancellation follows :mod:`amorpha.engine.tasks`: when ``cancel()`` turns True, frames not started
are dropped, running ones stop at their next check, and :class:`BatchCancelled` carries the
frames that finished. A failing frame raises :class:`FrameError` (with the finished frames too).
"""
from __future__ import annotations

import math
import os
import signal
import threading
import time
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor
from concurrent.futures import wait as wait_futures
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Iterable, Mapping, Optional, Sequence, Union

import numpy as np

from .errors import ParameterError
from .tasks import CancelFn, Cancelled, ProgressFn, check_cancel, report, sub_progress

#: Seconds to wait for a Dask scheduler before giving up.
CONNECT_TIMEOUT = 5.0
#: Seconds running frames get to stop after a cancel before their processes are ended.
CANCEL_GRACE = 10.0
#: How often (s) the parent checks ``cancel`` while frames run elsewhere.
POLL = 0.05

FrameSpec = Union[None, int, slice, str, Iterable[int]]


# ----------------------------------------------------------------------------- errors


class BatchError(RuntimeError):
    """The run could not start: no Dask, an unreachable scheduler, no worker processes."""


class BatchCancelled(Cancelled):
    """``cancel()`` turned True. ``frames``/``results``: what finished, in frame order."""

    def __init__(self, frames: Sequence[int], results: Sequence[Any], total: int):
        self.frames = list(frames)
        self.results = list(results)
        self.total = int(total)
        super().__init__(f"cancelled after {len(self.frames)} of {self.total} frames")


class FrameError(Exception):
    """Frame ``frame`` failed with ``error``; ``frames``/``results``: what finished before."""

    def __init__(self, frame: int, error: BaseException, frames: Sequence[int] = (),
                 results: Sequence[Any] = (), total: int = 0):
        self.frame = int(frame)
        self.error = error
        self.frames = list(frames)
        self.results = list(results)
        self.total = int(total)
        super().__init__(f"frame {self.frame}: {error}")

    def __reduce__(self):
        return (type(self), (self.frame, self.error, self.frames, self.results, self.total))


# ----------------------------------------------------------------------------- frame selection


def parse_frames(text: str) -> list:
    """``"0:100:2"``, ``"7"``, ``"-1"``, ``"::10"``, ``"0,5,10:20"`` → a list of ints and slices.

    Python slice rules (stop excluded, negative counts from the end); checked against the number of
    frames by :func:`resolve_frames`. Raises :class:`ParameterError` for anything else.
    """
    parts = [p.strip() for p in str(text).split(",")]
    if not text or not str(text).strip() or any(not p for p in parts):
        raise ParameterError("frames", f"{text!r} is not a frame range (e.g. 0:100, 0:100:5, 7 or 0,5,9)")
    out = []
    for part in parts:
        fields = part.split(":")
        if len(fields) > 3:
            raise ParameterError("frames", f"{part!r} has more than start:stop:step")
        try:
            values = [int(f) if f.strip() else None for f in fields]
        except ValueError:
            raise ParameterError("frames", f"{part!r} is not a frame range: use whole numbers "
                                 "as start:stop:step (e.g. 0:100:5)") from None
        if len(values) == 1:
            out.append(values[0])
            continue
        start, stop = values[0], values[1]
        step = values[2] if len(values) == 3 else None
        if step is not None and step <= 0:
            raise ParameterError("frames", f"{part!r}: the step must be a positive number")
        if start is not None and stop is not None and (start >= 0) == (stop >= 0) and stop <= start:
            raise ParameterError("frames", f"{part!r} selects no frames: the start must be below "
                                 "the stop (the stop is not included)")
        out.append(slice(start, stop, step))
    return out


def resolve_frames(spec: FrameSpec, n_frames: int) -> list[int]:
    """Frame indices (0-based, in order, no repeats) that ``spec`` selects out of ``n_frames``.

    ``spec``: None (all), an int, a slice, a string for :func:`parse_frames`, or indices.
    """
    if spec is None:
        return list(range(n_frames))
    if isinstance(spec, str):
        spec = parse_frames(spec)
    elif isinstance(spec, (int, np.integer, slice)):
        spec = [spec]
    frames: list[int] = []
    for item in spec:
        if isinstance(item, slice):
            start = item.start
            if start is not None and not -n_frames <= start < n_frames:
                raise ParameterError("frames", f"frame {start} is out of range: the file has "
                                     f"{n_frames} frame{'s' if n_frames != 1 else ''} (0 to {n_frames - 1})")
            picked = range(*item.indices(n_frames))
            if len(picked) == 0:
                raise ParameterError("frames", f"{_slice_text(item)} selects none of the file's "
                                     f"{n_frames} frames")
            frames.extend(picked)
        else:
            i = int(item)
            if not -n_frames <= i < n_frames:
                raise ParameterError("frames", f"frame {i} is out of range: the file has "
                                     f"{n_frames} frame{'s' if n_frames != 1 else ''} (0 to {n_frames - 1})")
            frames.append(i % n_frames)
    seen = set()
    return [f for f in frames if not (f in seen or seen.add(f))]


def _slice_text(s: slice) -> str:
    parts = ["" if v is None else str(v) for v in (s.start, s.stop)]
    return ":".join(parts + ([str(s.step)] if s.step is not None else []))


# ----------------------------------------------------------------------------- worker side

_CACHE_LOCK = threading.Lock()
_TRAJECTORIES: dict = {}
_MODELS: dict = {}
_CANCEL_EVENT = None  # set in pool workers by _init_worker
_LIMITS = None


def _file_key(path: str) -> tuple:
    st = os.stat(path)
    return (path, st.st_mtime_ns, st.st_size)


def trajectory(path, format: Optional[str] = None, symbols: Optional[Sequence[str]] = None):
    """The file's lazy Trajectory, opened once per process (reopened when the file changes)."""
    from .io import open_structure

    path = os.fspath(path)
    key = (_file_key(path), format, tuple(symbols) if symbols else None)
    with _CACHE_LOCK:
        traj = _TRAJECTORIES.get(key)
        if traj is None:
            traj = open_structure(path, format=format, symbols=symbols)
            _TRAJECTORIES.clear()  # one file at a time
            _TRAJECTORIES[key] = traj
    return traj


def read_frame(path, index: int, format: Optional[str] = None,
               symbols: Optional[Sequence[str]] = None, progress=None, cancel=None):
    """Frame ``index`` of the file (through the per-process Trajectory)."""
    traj = trajectory(path, format, symbols)
    if index == 0:  # the Trajectory hands its already-read first frame out once
        with _CACHE_LOCK:
            return traj.read(0, progress, cancel)
    return traj.read(index, progress, cancel)


def load_model(path):
    """A :class:`~amorpha.engine.surrogate.model.SpectrumModel`, loaded once per process."""
    from .surrogate.model import SpectrumModel

    path = os.fspath(path)
    key = _file_key(path) if os.path.exists(path) else (path,)
    with _CACHE_LOCK:
        model = _MODELS.get(key)
    if model is None:
        model = SpectrumModel.load(path)
        with _CACHE_LOCK:
            _MODELS.clear()
            _MODELS[key] = model
    return model


def _init_worker(event) -> None:
    """Pool worker set-up: Ctrl-C is the parent's business; one BLAS thread per process."""
    global _CANCEL_EVENT, _LIMITS
    _CANCEL_EVENT = event
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        from threadpoolctl import threadpool_limits

        _LIMITS = threadpool_limits(1)
    except Exception:  # noqa: BLE001 (threadpoolctl missing or a library it cannot drive)
        pass


def _ignore_sigint() -> None:
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, signal.SIG_IGN)


def _worker_cancel() -> bool:
    return _CANCEL_EVENT is not None and _CANCEL_EVENT.is_set()


def _run_frame(path: str, index: int, analysis: Callable, format: Optional[str],
               symbols: Optional[Sequence[str]]):
    """One frame in a worker: read it here, analyse it, return the result."""
    cancel = _worker_cancel if _CANCEL_EVENT is not None else None
    check_cancel(cancel)
    atoms = read_frame(path, index, format, symbols, cancel=cancel)
    return analysis(atoms, progress=None, cancel=cancel)


# ----------------------------------------------------------------------------- the runner


def run_frames(
    path,
    analysis: Callable,
    frames: FrameSpec = None,
    workers: int = 1,
    scheduler: Optional[str] = None,
    progress: Optional[ProgressFn] = None,
    cancel: Optional[CancelFn] = None,
    *,
    format: Optional[str] = None,
    symbols: Optional[Sequence[str]] = None,
    connect_timeout: float = CONNECT_TIMEOUT,
) -> list:
    """``analysis`` of each selected frame of the structure file ``path``, in frame order.

    * ``frames``: see :func:`resolve_frames` (None: every frame);
    * ``workers``: 1 runs here, in this process; more spreads frames over that many local
      processes ("spawn" start: numba and threads do not mix with fork);
    * ``scheduler``: a Dask scheduler address (``"tcp://host:8786"``), or ``"local"`` for a
      :class:`dask.distributed.LocalCluster` of ``workers`` single-threaded processes;
    * ``progress(fraction, message)`` in this process as frames finish; ``cancel()`` polled.

    Raises :class:`~amorpha.engine.io.StructureReadError` if the file cannot be opened,
    :class:`ParameterError` for a bad frame selection, :class:`BatchError` when the workers cannot
    be had (no Dask, scheduler unreachable within ``connect_timeout`` s), :class:`FrameError` when a
    frame fails and :class:`BatchCancelled` when cancelled (both carry the finished frames).
    """
    path = os.path.abspath(os.fspath(path))
    traj = trajectory(path, format, symbols)
    indices = resolve_frames(frames, len(traj))
    workers = max(1, int(workers or 1))
    done: dict[int, Any] = {}
    total = len(indices)
    report(progress, 0.0, f"0/{total} frames")

    def finished(index, result):
        done[index] = result
        report(progress, len(done) / total, f"{len(done)}/{total} frames")

    def ordered():
        kept = [i for i in indices if i in done]
        return kept, [done[i] for i in kept]

    try:
        if scheduler:
            _run_dask(path, analysis, indices, workers, scheduler, cancel, format, symbols,
                      connect_timeout, finished)
        elif workers > 1 and total > 1:
            _run_pool(path, analysis, indices, min(workers, total), cancel, format, symbols,
                      finished)
        else:
            _run_here(path, analysis, indices, progress, cancel, format, symbols, done, finished)
    except Cancelled:
        raise BatchCancelled(*ordered(), total) from None
    except FrameError as exc:
        raise FrameError(exc.frame, exc.error, *ordered(), total) from exc.error
    return [done[i] for i in indices]


def _run_here(path, analysis, indices, progress, cancel, format, symbols, done, finished):
    total = len(indices)
    for index in indices:
        check_cancel(cancel)
        base = len(done) / total
        frame_progress = sub_progress(progress, base, base + 1.0 / total)
        try:
            atoms = read_frame(path, index, format, symbols, cancel=cancel)
            label = f"{len(done)}/{total} frames, frame {index}"
            result = analysis(atoms, progress=_labelled(frame_progress, label),
                              cancel=cancel)
        except Cancelled:
            raise
        except Exception as exc:  # noqa: BLE001 (reported with its frame)
            raise FrameError(index, exc) from exc
        finished(index, result)


def _labelled(progress, label):
    if progress is None:
        return None
    return lambda fraction, message="": progress(fraction, f"{label}: {message}" if message else label)


def _run_pool(path, analysis, indices, workers, cancel, format, symbols, finished):
    import multiprocessing

    ctx = multiprocessing.get_context("spawn")
    event = ctx.Event()
    try:
        pool = ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=_init_worker,
                                   initargs=(event,))
    except OSError as exc:
        raise BatchError(f"cannot start {workers} worker processes ({exc})") from exc
    futures = {pool.submit(_run_frame, path, i, analysis, format, symbols): i for i in indices}
    pending = set(futures)
    clean = False
    try:
        while pending:
            if cancel is not None and cancel():
                event.set()
                for f in pending:
                    f.cancel()
                _drain(pending, futures, finished, CANCEL_GRACE)
                raise Cancelled("cancelled by the user")
            ready, pending = wait_futures(pending, timeout=POLL, return_when=FIRST_COMPLETED)
            for f in sorted(ready, key=futures.get):
                _collect(f, futures[f], finished)
        clean = True
    except FrameError:
        event.set()
        for f in pending:
            f.cancel()
        raise
    finally:
        if not clean:
            _end_processes(pool)
        pool.shutdown(wait=True, cancel_futures=True)


def _collect(future, index, finished):
    from concurrent.futures.process import BrokenProcessPool

    try:
        result = future.result()
    except Cancelled:
        raise
    except BrokenProcessPool as exc:
        raise BatchError(f"a worker process died while it had frame {index} ({exc}); a script "
                         "that starts workers must be a file, guarded by "
                         "if __name__ == '__main__'") from exc
    except Exception as exc:  # noqa: BLE001 (reported with its frame)
        raise FrameError(index, exc) from exc
    finished(index, result)


def _drain(pending, futures, finished, grace):
    """After a cancel: keep the frames that still finish within ``grace`` s, drop the rest."""
    deadline = time.monotonic() + grace
    running = {f for f in pending if not f.cancelled()}
    while running and time.monotonic() < deadline:
        ready, running = wait_futures(running, timeout=POLL, return_when=FIRST_COMPLETED)
        for f in ready:
            if not f.cancelled() and f.exception() is None:
                finished(futures[f], f.result())


def _end_processes(pool) -> None:
    """Stop worker processes that are still busy (a frame that ignores cancel)."""
    for process in list(getattr(pool, "_processes", {}).values()):
        if process.is_alive():
            process.terminate()


def _dask_client(scheduler: str, workers: int, timeout: float):
    try:
        from dask.distributed import Client, LocalCluster
    except ImportError:
        raise BatchError("--scheduler needs Dask: pip install 'dask[distributed]' "
                         "(or amorpha[dask])") from None
    if scheduler == "local":
        import logging

        try:
            cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                   dashboard_address=None, silence_logs=logging.ERROR)
        except Exception as exc:  # noqa: BLE001
            raise BatchError(f"cannot start a local Dask cluster ({exc})") from exc
        client = Client(cluster)
        try:  # its worker processes share our terminal: Ctrl-C is for this process to handle
            client.run(_ignore_sigint)
        except Exception:  # noqa: BLE001 (cosmetic: workers would print a traceback on Ctrl-C)
            pass
        return client, cluster
    try:
        return Client(scheduler, timeout=f"{timeout}s"), None
    except ValueError as exc:
        raise BatchError(f"{scheduler!r} is not a Dask scheduler address ({exc}); give "
                         "tcp://host:port, or 'local' for a cluster on this machine") from None
    except (OSError, TimeoutError):
        raise BatchError(f"cannot reach the Dask scheduler at {scheduler} within {timeout:g} s; "
                         "is it running, and is the address right?") from None


def _run_dask(path, analysis, indices, workers, scheduler, cancel, format, symbols, timeout,
              finished):
    client, cluster = _dask_client(scheduler, workers, timeout)
    futures = {}
    try:
        for i in indices:
            f = client.submit(_run_frame, path, i, analysis, format, symbols, pure=False,
                              key=f"amorpha-frame-{i}-{os.getpid()}-{time.time_ns()}")
            futures[f] = i
        pending = set(futures)
        while pending:
            if cancel is not None and cancel():
                client.cancel(list(pending), force=True)
                raise Cancelled("cancelled by the user")
            ready = [f for f in pending if f.done()]
            if not ready:
                time.sleep(POLL)
                continue
            for f in sorted(ready, key=futures.get):
                pending.discard(f)
                if f.status == "cancelled":
                    raise BatchError(f"the Dask cluster dropped frame {futures[f]}")
                _collect(f, futures[f], finished)
    except FrameError:
        client.cancel(list(futures), force=True)
        raise
    finally:
        client.close(timeout=5)
        if cluster is not None:
            cluster.close(timeout=10)


# ----------------------------------------------------------------------------- the analyses


def window_cutoffs(numbers, overrides: Optional[Mapping] = None) -> dict:
    """The bond cutoffs the window uses: covalent defaults, the user's overrides for the pairs
    present (keys ``(Za, Zb)`` with ``Za <= Zb``, as the Structure panel emits them)."""
    from .bonds import bond_cutoffs

    cutoffs = bond_cutoffs(numbers)
    cutoffs.update({k: v for k, v in (overrides or {}).items() if k in cutoffs})
    return cutoffs


@dataclass(frozen=True)
class RingAnalysis:
    """Rings as the window computes them: bonds under :func:`window_cutoffs`, then
    ``compute_rings(atoms, replace(params, cutoffs=cutoffs), neighbors=bonds)``.

    Returns ``RingResult.to_dict()``, without the per-ring list unless ``with_rings``.
    """

    params: Any = None  # RingParams (its cutoffs are replaced); None: RingParams()
    overrides: Mapping = field(default_factory=dict)
    with_rings: bool = False

    def __call__(self, atoms, progress=None, cancel=None) -> dict:
        from .bonds import bonds
        from .order.rings import RingParams, compute_rings

        cutoffs = window_cutoffs(atoms.numbers, self.overrides)
        bonded = bonds(atoms, cutoffs, progress=sub_progress(progress, 0.0, 0.1), cancel=cancel)
        run = replace(self.params or RingParams(), cutoffs=cutoffs)
        result = compute_rings(atoms, run, neighbors=bonded,
                               progress=sub_progress(progress, 0.1, 1.0), cancel=cancel)
        out = result.to_dict()
        if not self.with_rings:
            out.pop("rings")
        return out


@dataclass(frozen=True)
class CoordinationAnalysis:
    """Coordination numbers as the window computes them; ``CoordinationResult.to_dict()``."""

    overrides: Mapping = field(default_factory=dict)

    def __call__(self, atoms, progress=None, cancel=None) -> dict:
        from .bonds import CoordinationParams, bonds, compute_coordination

        cutoffs = window_cutoffs(atoms.numbers, self.overrides)
        bonded = bonds(atoms, cutoffs, progress=progress, cancel=cancel)
        return compute_coordination(atoms, CoordinationParams(cutoffs=cutoffs),
                                    neighbors=bonded).to_dict()


@dataclass(frozen=True)
class OrderAnalysis:
    """Steinhardt order (one call per params, as the window makes one per l) and tetrahedral
    order, each as the window calls them (no shared neighbour list). Returns
    ``{"steinhardt": [to_dict(), …], "tetrahedral": to_dict() or None}``."""

    steinhardt: tuple = ()  # SteinhardtParams, …
    tetrahedral: Any = None  # TetrahedralParams or None

    def __call__(self, atoms, progress=None, cancel=None) -> dict:
        from .order.local_order import compute_steinhardt, compute_tetrahedral

        n = len(self.steinhardt) + (self.tetrahedral is not None)
        out = {"steinhardt": [], "tetrahedral": None}
        for k, params in enumerate(self.steinhardt):
            result = compute_steinhardt(atoms, params, neighbors=None,
                                        progress=sub_progress(progress, k / n, (k + 1) / n),
                                        cancel=cancel)
            out["steinhardt"].append(result.to_dict())
        if self.tetrahedral is not None:
            result = compute_tetrahedral(atoms, self.tetrahedral, neighbors=None,
                                         progress=sub_progress(progress, (n - 1) / n, 1.0),
                                         cancel=cancel)
            out["tetrahedral"] = result.to_dict()
        return out


@dataclass(frozen=True)
class SpectrumAnalysis:
    """The predicted average spectrum of a model file: ``model.average(model.predict_structure(
    atoms))``. Returns ``{"intensity": array on model.energy, "n_sites": int, "distance": each site's
    distance from the model's training sites}``."""

    model_path: str

    def __call__(self, atoms, progress=None, cancel=None) -> dict:
        model = load_model(self.model_path)
        sites = model.predict_structure(atoms, progress=progress, cancel=cancel)
        spectrum = model.average(sites)
        return {"intensity": np.asarray(spectrum.intensity, dtype=np.float64),
                "n_sites": int(len(sites)), "distance": sites.distance}


#: A temperature scan as the Diffusion panel and ``amorpha-cli diffusion`` start it (one place, so
#: they give the same numbers): 500-1000 K in five steps, 200 walkers, 10⁵ hops per walker at
#: equilibrium (with 2000 the low temperatures' walkers did not cross the a-SiO2 example's cell,
#: and E_a came out 0.20 eV where the window gets 0.52).
SCAN_TEMPERATURES = (500.0, 625.0, 750.0, 875.0, 1000.0)
SCAN_WALKERS = 200
SCAN_HOPS = 100_000


@dataclass(frozen=True)
class DiffusionAnalysis:
    """Sites and hops of one mobile atom in the frame (UFF Lennard-Jones landscape, NEB), KMC at
    each temperature, the Arrhenius fit and the percolation barrier: what the Diffusion capability
    computes. Returns plain numbers (JSON-able).

    When the paths span the cell only along channels or sheets, ``spanning_windings`` lists the
    cell translations they wrap along (fewer than three), the barrier is the one at which they
    first do, and D is measured along them; no spanning at all: barrier None, no windings.

    ``surrogate``: run on a neural-network surrogate instead, trained on ``reference`` ("uff",
    "xtb" or "csv:FILE") with ``n_train`` + ``n_test`` positions, or loaded from the file
    ``surrogate_path`` when it exists (saved there after training otherwise). A reference other
    than UFF always goes through a surrogate."""

    element: str = "Cu"
    temperatures: tuple = SCAN_TEMPERATURES  # the Diffusion panel's scan
    walkers: int = SCAN_WALKERS
    steps: int = SCAN_HOPS
    seed: int = 0
    reference: str = "uff"
    surrogate: bool = False
    surrogate_path: Optional[str] = None
    n_train: int = 1800
    n_test: int = 200
    #: The surrogate's model: "network" (symmetry functions → MLP, fast) or "soap" (kernel
    #: ridge on the SOAP power spectrum: about half the error, half as fast).
    model: str = "network"
    #: The window's "Sites up to" (eV; minima above it are no sites) and hop distance (Å).
    energy_max: float = 1.0
    hop_distance: float = 6.0
    #: Also return the paths table (``paths``: rows of :data:`~amorpha.engine.diffusion.PATHS_COLUMNS`,
    #: ``paths_cell``: the frame's cell): ``amorpha-cli diffusion --paths``.
    paths_table: bool = False
    #: Also return the first this-many walkers' trajectories of each temperature's run
    #: (``trajectories``: (T, frames) pairs, :func:`~.diffusion.trajectories.trajectory_frames`):
    #: ``amorpha-cli diffusion --trajectories N``.
    trajectories: int = 0

    def __call__(self, atoms, progress=None, cancel=None) -> dict:
        from .diffusion import (KmcParams, LandscapeParams, PathParams, SiteSearchParams, build_network,
                                long_range, measured_along, scan_fit, temperature_scan)
        from .tasks import sub_progress

        params = LandscapeParams(SiteSearchParams(element=self.element, energy_max=self.energy_max),
                                 PathParams(hop_distance=self.hop_distance))
        extra, potential = {}, None
        if self.surrogate or self.surrogate_path or self.reference.strip().lower() != "uff":
            from dataclasses import replace

            from .diffusion.surrogate import SOAP_TRAINING, SurrogateParams, surrogate_for

            base = SOAP_TRAINING if self.model == "soap" else SurrogateParams()
            trained = surrogate_for(atoms, self.element, self.reference, self.surrogate_path,
                                    replace(base, n_train=self.n_train, n_test=self.n_test,
                                            seed=self.seed),
                                    progress=sub_progress(progress, 0, 0.3), cancel=cancel)
            potential, m = trained.potential, trained.metrics()
            extra = {"surrogate_reference": trained.reference, "surrogate_test_rmse_ev": m["rmse_ev"],
                     "surrogate_n_train": m["n_train"], "surrogate_n_test": m["n_test"],
                     "surrogate_guard_ev": trained.potential.guard}
            progress = sub_progress(progress, 0.3, 1)
        sites, paths, network = build_network(atoms, params, sub_progress(progress, 0, 0.6), cancel,
                                              potential=potential)
        spanning = long_range(network) if network.periodic else None
        kmc = KmcParams(n_walkers=self.walkers, n_steps=self.steps, seed=self.seed)
        walks, keep = [], None
        if self.trajectories:
            from .diffusion.trajectories import trajectory_frames

            def keep(result, seed):
                walks.append((result.temperature, trajectory_frames(
                    result, network.positions, sites.element, network.cell,
                    n_walkers=self.trajectories, seed=seed, pbc=atoms.pbc,
                    info={"n_steps": self.steps})))
        scan = temperature_scan(network, self.temperatures, kmc,
                                along=measured_along(spanning, network.cell),
                                progress=sub_progress(progress, 0.6, 1), cancel=cancel,
                                spanning=spanning, on_run=keep)
        fit, _ = scan_fit(scan)
        reach = scan.reach
        extra["minima"] = int(network.n_minima)
        extra["merge_barrier_ev"] = float(network.merge_barrier)
        if self.paths_table:
            from .diffusion import paths_rows

            extra["paths"] = paths_rows(paths, sites, network.substates)
            extra["paths_cell"] = np.asarray(network.cell, float).tolist()
        if walks:
            extra["trajectories"] = walks
        return {**scan_numbers(len(sites.energies), len(paths.saddles), spanning, scan, fit, reach), **extra}


def scan_numbers(n_sites: int, n_paths: int, spanning, scan, fit, reach=None) -> dict:
    """A temperature scan as plain numbers (JSON-able), as :class:`DiffusionAnalysis` returns it
    and the Diffusion panel saves it: the network's size and reach (``spanning``, None when its
    paths span the cell in no direction), D(T) ± error, the Arrhenius fit, and how many cell
    lengths the typical walker got at each temperature (``reach``, :func:`~.diffusion.scan_reach`),
    each D's status (:func:`~.diffusion.d_status`: unresolved ones are left out of the fit, None
    when fewer than two remain), seed and hops per walker. ``n_paths`` counts the minimum-energy
    paths between sites (files before it wrote them as ``hops``: :func:`path_count` reads both)."""
    crossed = {} if reach is None else {"cells_crossed": np.asarray(reach, float).tolist()}
    return {**crossed, "sites": int(n_sites), "n_paths": int(n_paths),
            "percolation_barrier_ev": float(spanning.barrier) if spanning else None,
            "spanning_windings": spanning.windings.tolist() if spanning else [],
            "temperatures_k": [float(t) for t in scan.temperatures],
            "D_A2_per_s": [float(d) for d in scan.D], "D_err_A2_per_s": [float(d) for d in scan.D_err],
            "D_status": list(scan.status), "seeds": [int(k) for k in scan.seeds],
            "hops_per_walker": [float(h) for h in scan.hops],
            "activation_energy_ev": fit.activation_energy if fit else None,
            "activation_energy_err_ev": fit.activation_energy_err if fit else None,
            "prefactor_A2_per_s": fit.prefactor if fit else None,
            "prefactor_err_A2_per_s": fit.prefactor_err if fit else None}


def path_count(result: dict) -> int:
    """The number of paths of a :func:`scan_numbers` result, also of one saved before the key was
    ``n_paths`` (it was ``hops``, which are the KMC events of ``hops_per_walker``)."""
    return int(result["n_paths"] if "n_paths" in result else result["hops"])


def time_left(elapsed: float, fraction: float) -> Optional[float]:
    """Seconds still to go of a task ``fraction`` done after ``elapsed`` s, at the pace so far;
    None while too little is done to tell (the CLI's progress line and the Diffusion panel)."""
    if 0.02 < fraction < 1.0 and elapsed > 2.0:
        return elapsed * (1.0 - fraction) / fraction
    return None


def format_seconds(seconds: float) -> str:
    """``"42 s"``, ``"3 min 05 s"``, ``"1 h 02 min"``."""
    seconds = max(0.0, float(seconds))
    if seconds < 60:
        return f"{seconds:.1f} s" if seconds < 10 else f"{seconds:.0f} s"
    minutes, secs = divmod(int(math.floor(seconds)), 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"

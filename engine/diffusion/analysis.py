"""From trajectories to numbers: MSD, D with its error, Arrhenius fits and the percolation barrier.

D is in Å²/s (×10⁻¹⁶ for cm²/s), energies in eV, temperatures in K. Walkers are independent, so
every error bar here is a standard error over walkers, not a guess from one noisy curve.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Callable, Optional, Sequence

import numpy as np
from numba import njit

from ..errors import ParameterError, require
from ..tasks import CancelFn, ProgressFn, report, sub_progress
from .kmc import KmcParams, KmcResult, run_kmc
from .network import KB_EV, HopNetwork, _as_temperature

#: Å²/s to cm²/s.
CM2_PER_ANGSTROM2 = 1e-16
SPANNING = ("all", "any")
NO_SPAN = "the hop network does not span the cell: no long-range diffusion"


@dataclass(frozen=True)
class Msd:
    """Mean squared displacement (Å²) over walkers at ``times`` (s), with its standard error."""

    times: np.ndarray
    msd: np.ndarray
    stderr: np.ndarray


@dataclass(frozen=True)
class DiffusionFit:
    """D (Å²/s) ± its standard error, from MSD = 2·d·D·t + c fitted over ``t_from``…``t_to`` s
    (d = 3, or the directions the displacements were projected onto)."""

    D: float
    D_err: float
    dimensions: int
    t_from: float
    t_to: float


@dataclass(frozen=True)
class TemperatureScan:
    """D(T) from one KMC run per temperature. A cancelled scan keeps the finished temperatures
    (and the interrupted run's partial trajectory in ``interrupted``).

    Trajectories take n_walkers × n_samples × 24 bytes each (241 MB at 50 000 walkers), so
    ``results`` holds only the last finished run (for the walker animation) unless the scan was
    asked to keep them all; what each temperature's D needs stays per temperature: ``reach``
    (n, 3) the typical walker's cell lengths (:func:`typical_reach`), ``status``
    (:func:`d_status`), ``hops`` the mean hops per walker, ``seeds`` each run's seed."""

    temperatures: np.ndarray
    D: np.ndarray
    D_err: np.ndarray
    results: list
    cancelled: bool = False
    interrupted: Optional[KmcResult] = None
    reach: Optional[np.ndarray] = None
    status: tuple = ()
    hops: Optional[np.ndarray] = None
    seeds: tuple = ()

    @property
    def resolved(self) -> np.ndarray:
        """Which temperatures' D goes into the Arrhenius fit (:func:`scan_fit`)."""
        return np.array([s != UNRESOLVED for s in self.status], bool)


@dataclass(frozen=True)
class ArrheniusFit:
    """D = D0·exp(−E_a/kT): E_a (eV) and D0 (Å²/s), each ± one standard error."""

    activation_energy: float
    activation_energy_err: float
    prefactor: float
    prefactor_err: float

    def D(self, temperature) -> np.ndarray:
        """The fitted D (Å²/s) at ``temperature`` (K)."""
        return self.prefactor * np.exp(-self.activation_energy / (KB_EV * np.asarray(temperature)))


# --------------------------------------------------------------------------- MSD and D


def _subspace(along) -> Optional[np.ndarray]:
    """An orthonormal basis (3, k) of the span of the directions ``along`` (k, 3), or None for
    all of space."""
    if along is None:
        return None
    vectors = np.atleast_2d(np.asarray(along, dtype=np.float64))
    require(vectors.ndim == 2 and vectors.shape[1] == 3 and 1 <= len(vectors) <= 3
            and np.isfinite(vectors).all(), "along",
            f"needs 1 to 3 direction vectors (x, y, z), got an array of shape {vectors.shape}")
    basis, r = np.linalg.qr(vectors.T)
    scale = np.abs(r).max()
    require(scale > 0 and np.abs(np.diag(r)).min() > 1e-9 * scale, "along",
            f"needs independent directions; {len(vectors)} given span fewer dimensions")
    return basis


def _squared(result: KmcResult, basis: Optional[np.ndarray] = None) -> np.ndarray:
    """|r|² (Å²) of every walker at every recorded time, (n_t, n_walkers); with ``basis``
    (orthonormal columns, :func:`_subspace`) of r projected onto their span."""
    r = result.displacements if basis is None else result.displacements @ basis
    return np.einsum("twc,twc->tw", r, r)


def mean_squared_displacement(result: KmcResult, along=None) -> Msd:
    """MSD(t) averaged over the walkers of a run; ``along`` channel or sheet directions (k, 3):
    of the displacements along them (:func:`diffusion_coefficient`)."""
    r2 = _squared(result, _subspace(along))
    n = r2.shape[1]
    err = r2.std(axis=1, ddof=1) / np.sqrt(n) if n > 1 else np.full(r2.shape[0], np.nan)
    return Msd(result.times, r2.mean(axis=1), err)


def time_fractions(result: KmcResult) -> np.ndarray:
    """(n_sites,) fraction of the walkers' time spent on each site (``site_time`` normalised):
    the run's occupation, to compare with the Boltzmann occupation it samples,
    :meth:`HopNetwork.occupation` (p_i ∝ Z_i·exp(−E_i/kT), Z_i over a merged site's minima)."""
    total = float(np.sum(result.site_time))
    require(total > 0, "result", "the run spent no time on any site (it was stopped at once)")
    return np.asarray(result.site_time, float) / total


def _fit_window(result: KmcResult, fit_from: float) -> tuple[np.ndarray, np.ndarray]:
    """The recorded times fitted (t ≥ ``fit_from``·t_end) as a mask, and those times centred,
    so that ``centred @ y / (centred @ centred)`` is the least-squares slope of y."""
    require(np.isfinite(fit_from) and 0.0 <= fit_from < 1.0, "fit_from",
            f"needs the fraction of the run skipped before the fit, in [0, 1), got {fit_from!r}")
    times = result.times
    window = times >= fit_from * times[-1]
    require(window.sum() >= 2 and times[-1] > 0, "result",
            f"the run recorded {len(times)} time(s), {int(window.sum())} in the fitted part; a "
            "slope needs at least 2 (run longer, record more samples or fit from earlier)")
    return window, times[window] - times[window].mean()


def _stderr(per_walker: np.ndarray) -> np.ndarray:
    """Standard error of the mean over walkers (axis 0); NaN for one walker."""
    n = len(per_walker)
    return per_walker.std(axis=0, ddof=1) / np.sqrt(n) if n > 1 else np.full(per_walker.shape[1:], np.nan)


def diffusion_coefficient(result: KmcResult, along=None, fit_from: float = 0.5) -> DiffusionFit:
    """D from the slope of the MSD over the last part of the run (t ≥ ``fit_from``·t_end).

    The least-squares slope is linear in the data, so the slope of the mean MSD is the mean of
    the walkers' own slopes; those are independent, and their spread gives the standard error.
    Skipping the early part drops the transient of a disordered network (fast local rattling
    before the long-range regime). ``along``: None for 3D diffusion (MSD/6), or the k directions
    (k, 3) of channels (k = 1) or sheets (k = 2): D of the displacements projected onto them
    (their MSD / 2k), which motion across them does not dilute.
    """
    basis = _subspace(along)
    window, x = _fit_window(result, fit_from)
    dimensions = 3 if basis is None else basis.shape[1]
    per_walker = x @ _squared(result, basis)[window] / (x @ x) / (2.0 * dimensions)
    return DiffusionFit(float(per_walker.mean()), float(_stderr(per_walker)), int(dimensions),
                        float(result.times[window][0]), float(result.times[-1]))


@dataclass(frozen=True, eq=False)  # arrays inside: compared by identity
class DiffusionTensor:
    """The diffusion tensor D_ij = d⟨Δr_i Δr_j⟩/dt / 2 (Å²/s) of a run, and its principal values
    (largest first) ± standard error, with their directions as the columns of ``axes``.

    Its trace / 3 is the D of :func:`diffusion_coefficient` (MSD/6). In a channel, a layer or an
    anisotropic crystal the principal values differ: a walk along c alone has D_c = 3·(MSD/6)
    and nothing across.
    """

    tensor: np.ndarray
    principal: np.ndarray
    principal_err: np.ndarray
    axes: np.ndarray
    t_from: float
    t_to: float


def diffusion_tensor(result: KmcResult, fit_from: float = 0.5) -> DiffusionTensor:
    """The tensor from the slopes of ⟨Δr_i Δr_j⟩ over the same part of the run as
    :func:`diffusion_coefficient`; each walker's own slope tensor, seen along the principal axes
    of the mean, gives the principal values' standard errors."""
    window, x = _fit_window(result, fit_from)
    d = result.displacements[window]
    per_walker = np.einsum("t,twi,twj->wij", x, d, d) / (2.0 * (x @ x))
    tensor = per_walker.mean(axis=0)
    values, axes = np.linalg.eigh(tensor)
    order = np.argsort(values)[::-1]
    values, axes = values[order], axes[:, order]
    along = np.einsum("ia,wij,ja->wa", axes, per_walker, axes)  # each walker's D along each axis
    return DiffusionTensor(tensor, values, _stderr(along), axes,
                           float(result.times[window][0]), float(result.times[-1]))


def cells_crossed(result: KmcResult, cell) -> np.ndarray:
    """How far the walkers of a run got along each lattice vector of ``cell``, in cell lengths:
    the largest |fractional displacement| of any walker at any recorded time, shape (3,).

    Below 1 along a vector, no walker crossed the cell that way during the run, so its D is not
    that of long-range diffusion in all three directions (the walkers stayed in a cluster or a
    channel of low barriers, or the run was too short to get over the percolation barrier).
    """
    inverse = np.linalg.inv(np.asarray(cell, dtype=np.float64))
    reach = np.zeros(3)
    for frame in result.displacements:  # one recorded time at a time: no copy of them all
        np.maximum(reach, np.abs(frame @ inverse).max(axis=0), out=reach)
    return reach


def typical_reach(result: KmcResult, cell) -> np.ndarray:
    """How far a typical walker got along each lattice vector of ``cell``, in cell lengths: the
    root mean square of the walkers' fractional displacements at the run's last recorded time,
    shape (3,). Unlike the farthest walker (:func:`cells_crossed`) it says whether the MSD is an
    average over walkers that have sampled the whole (periodic) network: below 1 it is not."""
    last = result.displacements[-1] @ np.linalg.inv(np.asarray(cell, dtype=np.float64))
    return np.sqrt((last ** 2).mean(axis=0))


#: D is resolved when it lies at least this many standard errors above zero.
RESOLVED_SIGMAS = 2.0
#: D is converged (long-range) when the typical walker got this many cell lengths along every
#: lattice vector that counts (:func:`typical_reach`).
CONVERGED_CELLS = 1.0
UNRESOLVED, UNCONVERGED, CONVERGED = "unresolved", "unconverged", "converged"


def d_status(D: float, D_err: float, reach=None, spanning: Optional["Spanning"] = None) -> str:
    """What a run's D is worth, the same test for one run and for each point of a scan:
    :data:`UNRESOLVED` when it is not :data:`RESOLVED_SIGMAS` standard errors above zero (or has
    no error: one walker), :data:`UNCONVERGED` when the typical walker did not get
    :data:`CONVERGED_CELLS` cell lengths along each lattice vector that counts (``reach``,
    :func:`typical_reach`; along channels or sheets only those), else :data:`CONVERGED`."""
    if not (np.isfinite(D) and np.isfinite(D_err) and D > RESOLVED_SIGMAS * D_err and D > 0):
        return UNRESOLVED
    if reach is None:
        return CONVERGED
    counts = (np.any(np.asarray(spanning.windings) != 0, axis=0) if measured_where(spanning)
              else np.ones(3, bool))
    return UNCONVERGED if (np.asarray(reach)[counts] < CONVERGED_CELLS).any() else CONVERGED


#: Below this D (cm²/s) a run measures nothing a laboratory could (an atom would move ~1 Å in
#: 10¹⁴ s, three million years).
UNMEASURABLE_D_CM2 = 1e-30


def beyond_measure(D: float) -> bool:
    """Whether D (Å²/s) is too small to mean anything: below :data:`UNMEASURABLE_D_CM2`."""
    return bool(np.isfinite(D) and 0.0 < D * CM2_PER_ANGSTROM2 < UNMEASURABLE_D_CM2)


@dataclass(frozen=True, eq=False)  # arrays inside: compared by identity
class RunAnalysis:
    """What a run's result line and plots show: MSD where D is measured, D (None when the run
    is too short for a slope), the tensor, the typical walker's reach (None without a cell) and
    :func:`d_status`."""

    msd: Msd
    fit: Optional[DiffusionFit]
    tensor: Optional[DiffusionTensor]
    reach: Optional[np.ndarray]
    status: str


def analyse_run(result: KmcResult, cell=None, spanning: Optional["Spanning"] = None
                ) -> RunAnalysis:
    """MSD, D, tensor, reach and status of one run, measured along channels or sheets as a scan
    measures them (``spanning``); seconds for 10⁵ walkers, so the window calls it in a worker."""
    along = measured_along(spanning, cell) if cell is not None else None
    msd = mean_squared_displacement(result, along)
    try:
        fit, tensor = diffusion_coefficient(result, along), diffusion_tensor(result)
    except ParameterError:
        fit = tensor = None
    reach = typical_reach(result, cell) if cell is not None and len(result.times) else None
    status = d_status(fit.D, fit.D_err, reach, spanning) if fit is not None else UNRESOLVED
    return RunAnalysis(msd, fit, tensor, reach, status)


def scan_fit(scan: TemperatureScan) -> tuple[Optional[ArrheniusFit], str]:
    """The Arrhenius fit of a scan's resolved points (:func:`d_status`), and a sentence naming
    the temperatures left out (empty when none were); no fit when fewer than 2 remain."""
    used = scan.resolved
    left = [f"{t:g}" for t in scan.temperatures[~used]]
    note = (f" Left out of the fit: D at {', '.join(left)} K, not resolved (its error is "
            f"comparable to D; run longer or with more walkers)." if left else "")
    if len(np.unique(scan.temperatures[used])) < 2:
        return None, note
    return arrhenius_fit(scan.temperatures[used], scan.D[used], scan.D_err[used]), note


def temperature_scan(network: HopNetwork, temperatures: Sequence[float], params: KmcParams, *,
                     along=None, fit_from: float = 0.5,
                     progress: Optional[ProgressFn] = None,
                     cancel: Optional[CancelFn] = None, keep_runs: bool = False,
                     spanning: Optional["Spanning"] = None,
                     on_run: Optional[Callable[[KmcResult, int], None]] = None) -> TemperatureScan:
    """One KMC run per temperature (``params`` with its temperature replaced) and D of each.

    The k-th temperature uses the seed ``params.seed + k``, so the points are independent and
    their error bars can weight an Arrhenius fit. With ``n_steps`` every temperature gets the
    same number of hops, i.e. a run length that follows the hop rate. ``along``: the directions
    of channels or sheets, for D along them (:func:`diffusion_coefficient`), ``spanning`` the
    network's reach (:func:`long_range`) for each point's :func:`d_status`. ``keep_runs``: keep
    every trajectory in ``results``, not only the last; ``on_run(result, seed)`` sees each
    finished run before the next one replaces it (to keep a few walkers' trajectories).
    """
    temperatures = [_as_temperature(t, "temperatures") for t in np.atleast_1d(np.asarray(temperatures, float))]
    require(len(temperatures) >= 1, "temperatures", "needs at least one temperature")
    dataclasses.replace(params, temperature=temperatures[0]).validate()  # the scan's, not the run's
    _subspace(along)  # bad directions fail before the first run, not after it
    results, D, err, reach, status, hops = [], [], [], [], [], []
    interrupted = None
    for k, temperature in enumerate(temperatures):
        run = dataclasses.replace(params, temperature=temperature, seed=params.seed + k)
        if not keep_runs:
            results = []  # freed before the next run's trajectory is allocated
        result = run_kmc(network, run, cancel=cancel,
                         progress=sub_progress(progress, k / len(temperatures),
                                               (k + 1) / len(temperatures)))
        if result.cancelled:
            interrupted = result
            break
        fit = diffusion_coefficient(result, along, fit_from)
        reach.append(typical_reach(result, network.cell) if network.periodic else None)
        status.append(d_status(fit.D, fit.D_err, reach[-1], spanning))
        results.append(result)
        if on_run is not None:
            on_run(result, run.seed)
        D.append(fit.D)
        err.append(fit.D_err)
        hops.append(result.total_hops / result.n_walkers)
        report(progress, (k + 1) / len(temperatures), f"D at {temperature:g} K: {fit.D:.3g} Å²/s")
    done = len(D)
    return TemperatureScan(np.array(temperatures[:done]), np.array(D), np.array(err), results,
                           interrupted is not None, interrupted,
                           np.array(reach).reshape(-1, 3) if network.periodic else None,
                           tuple(status), np.array(hops),
                           tuple(params.seed + k for k in range(done)))


def arrhenius_fit(temperatures, D, D_err=None) -> ArrheniusFit:
    """E_a and D0 from a weighted straight line through ln D against 1/kT.

    Weights are 1/σ² with σ = D_err/D (the error of ln D). The errors come from the fit's
    covariance, scaled up by the reduced χ² when the points scatter more than their error bars
    say; without ``D_err`` the scatter alone sets them (needs 3 or more temperatures).
    """
    T = np.asarray(temperatures, dtype=np.float64).reshape(-1)
    D = np.asarray(D, dtype=np.float64).reshape(-1)
    require(len(T) >= 2 and len(np.unique(T)) >= 2, "temperatures",
            f"an Arrhenius fit needs at least 2 different temperatures, got {len(np.unique(T))}")
    require(D.shape == T.shape, "D", f"needs one D per temperature ({len(T)}), got {len(D)}")
    for t in T:
        _as_temperature(t, "temperatures")
    bad = np.flatnonzero(~(np.isfinite(D) & (D > 0)))
    require(len(bad) == 0, "D", "" if len(bad) == 0 else
            f"D at {T[bad[0]]:g} K is {D[bad[0]]:.3g} Å²/s; an Arrhenius fit needs positive "
            "diffusion coefficients (run longer or at a higher temperature)")
    x = 1.0 / (KB_EV * T)
    y = np.log(D)
    A = np.column_stack([np.ones_like(x), x])
    dof = len(x) - 2
    if D_err is not None:
        D_err = np.asarray(D_err, dtype=np.float64).reshape(-1)
        require(D_err.shape == T.shape, "D_err",
                f"needs one error per temperature ({len(T)}), got {len(D_err)}")
        bad = np.flatnonzero(~(np.isfinite(D_err) & (D_err > 0)))
        require(len(bad) == 0, "D_err", "" if len(bad) == 0 else
                f"the error of D at {T[bad[0]]:g} K is {D_err[bad[0]]!r}; errors must be positive "
                "(leave D_err out for an unweighted fit)")
        w = (D / D_err) ** 2
    else:
        w = np.ones_like(x)
    cov = np.linalg.inv(A.T @ (A * w[:, None]))
    coef = cov @ (A.T @ (w * y))
    chi2 = float(w @ (y - A @ coef) ** 2)
    if D_err is None:
        cov = cov * (chi2 / dof if dof > 0 else np.nan)
    elif dof > 0:
        cov = cov * max(1.0, chi2 / dof)
    D0 = float(np.exp(coef[0]))
    return ArrheniusFit(float(-coef[1]), float(np.sqrt(cov[1, 1])), D0,
                        float(D0 * np.sqrt(cov[0, 0])))


# --------------------------------------------------------------------------- percolation


@njit(nogil=True, cache=True)
def find_root(parent, offset, x, out):
    """Root of x; ``out`` gets x's image relative to the root. Compresses the path."""
    root = x
    out[:] = 0
    while parent[root] != root:
        out += offset[root]
        root = parent[root]
    # second pass: point every node on the path straight at the root with its full offset
    acc = out.copy()
    while parent[x] != root and x != root:
        step = offset[x].copy()
        nxt = parent[x]
        parent[x] = root
        offset[x] = acc
        acc = acc - step
        x = nxt
    return root


@njit(nogil=True, cache=True)
def _extends(basis, rank, r, v):
    """Whether integer vector v is independent of cluster r's winding vectors (exact)."""
    if v[0] == 0 and v[1] == 0 and v[2] == 0:
        return False
    if rank[r] == 0:
        return True
    a = basis[r, 0]
    cx = a[1] * v[2] - a[2] * v[1]
    cy = a[2] * v[0] - a[0] * v[2]
    cz = a[0] * v[1] - a[1] * v[0]
    if rank[r] == 1:
        return cx != 0 or cy != 0 or cz != 0
    b = basis[r, 1]  # det(a, b, v) = b · (v × a)
    return b[0] * -cx + b[1] * -cy + b[2] * -cz != 0 if rank[r] == 2 else False


@njit(nogil=True, cache=True)
def _percolate(order, first, second, shifts, n_sites, want, windings):
    """Add links in ``order`` until one cluster wraps the cell in ``want`` independent directions.

    Union-find that carries each site's periodic image relative to its root: a link that closes
    a loop between a site and its own image shifted by w ≠ 0 makes the cluster wrap along w.
    Returns the position in ``order`` of the link that completed it, or −1; ``windings`` (3, 3)
    gets that cluster's independent winding vectors as its first ``want`` rows.
    """
    parent = np.arange(n_sites)
    offset = np.zeros((n_sites, 3), np.int64)
    size = np.ones(n_sites, np.int64)
    basis = np.zeros((n_sites, 3, 3), np.int64)
    rank = np.zeros(n_sites, np.int64)
    oi = np.zeros(3, np.int64)
    oj = np.zeros(3, np.int64)
    for p in range(order.shape[0]):
        e = order[p]
        ri = find_root(parent, offset, first[e], oi)
        rj = find_root(parent, offset, second[e], oj)
        w = oi + shifts[e] - oj  # j's image reached through the link, relative to its own copy
        if ri == rj:
            if _extends(basis, rank, ri, w):
                basis[ri, rank[ri]] = w
                rank[ri] += 1
        else:
            if size[ri] < size[rj]:
                ri, rj = rj, ri
                w = -w
            parent[rj] = ri
            offset[rj] = w
            size[ri] += size[rj]
            for q in range(rank[rj]):
                if rank[ri] < 3 and _extends(basis, rank, ri, basis[rj, q]):
                    basis[ri, rank[ri]] = basis[rj, q]
                    rank[ri] += 1
        if rank[ri] >= want:
            windings[:] = basis[ri]
            return p
    return -1


@dataclass(frozen=True, eq=False)  # arrays inside: compared by identity
class Spanning:
    """The links with barrier ≤ ``barrier`` (eV) first join into a cluster that wraps around the
    periodic cell in ``dimensions`` independent directions: ``windings`` (dimensions, 3), the
    cell translations (in cell vectors, integers) it wraps along. One direction: channels, two:
    sheets, three: 3D long-range diffusion."""

    barrier: float
    windings: np.ndarray

    @property
    def dimensions(self) -> int:
        return len(self.windings)

    def directions(self, cell) -> Optional[np.ndarray]:
        """The Cartesian directions (k, 3) to measure D along (``along`` of
        :func:`temperature_scan`): the translations of channels or sheets; None when the paths
        span all three directions (3D diffusion, MSD/6)."""
        if self.dimensions == 3:
            return None
        return np.asarray(self.windings, float) @ np.asarray(cell, float)


def winding_name(winding) -> str:
    """A cell translation in cell vectors as a reader writes it: c, a + b, 2a − c."""
    w = np.asarray(winding, dtype=np.int64)
    w = w // np.gcd.reduce(w)
    w = w * np.sign(w[np.flatnonzero(w)[0]])
    terms = [(("" if abs(k) == 1 else str(abs(k))) + name, k) for name, k in zip("abc", w) if k]
    text = terms[0][0]
    for term, k in terms[1:]:
        text += f" {'+' if k > 0 else '−'} {term}"
    return text


def spanning_where(spanning: Spanning) -> tuple[str, str]:
    """Where paths that span the cell in fewer than three directions go, and what they form:
    ("along c", "channels"), ("in the ab plane", "sheets")."""
    if spanning.dimensions == 1:
        return f"along {winding_name(spanning.windings[0])}", "channels"
    normal = np.cross(*spanning.windings)
    plane = ("".join(n for n, k in zip("abc", normal) if not k)
             if np.count_nonzero(normal) == 1 else None)
    return (f"in the {plane} plane" if plane else
            f"in the plane of {winding_name(spanning.windings[0])} and "
            f"{winding_name(spanning.windings[1])}"), "sheets"


def spanning_sentence(spanning: Optional[Spanning], strong=lambda text: text) -> str:
    """How far the paths reach, for a summary line: the 3D percolation barrier, or along which
    cell vectors they span the cell (channels, sheets) and from which barrier, or that they do
    not. ``strong`` marks the key words (the window makes them bold; the CLI leaves them)."""
    if spanning is None:
        return f"{strong('the network does not span the cell')}: no long-range diffusion"
    barrier = strong(f"{spanning.barrier:.3f} eV")
    if spanning.dimensions == 3:
        return f"percolation barrier {barrier}"
    where, what = spanning_where(spanning)
    return (f"the paths span the cell only {where} ({what}), from a barrier of {barrier}: "
            f"long-range diffusion {where}, none in 3D")


def measured_where(spanning: Optional[Spanning]) -> str:
    """Where D is measured, for channels and sheets ("along c", "in the ab plane"): along the
    directions the paths span the cell in (:meth:`Spanning.directions`); "" for 3D D (MSD/6)."""
    return "" if spanning is None or spanning.dimensions == 3 else spanning_where(spanning)[0]


def barrier_name(spanning: Spanning) -> str:
    """The long-range barrier's name for a plot legend: "percolation barrier", or with where
    the paths span the cell when that is not every way ("percolation barrier along c")."""
    where = measured_where(spanning)
    return "percolation barrier" + (f" {where}" if where else "")


def crossing_note(reach, quantity: str = "D", temperatures=None,
                  spanning: Optional[Spanning] = None) -> str:
    """A sentence for the result line when the walkers did not cross the periodic cell in every
    direction that counts, so ``quantity`` (D of one run, E_a of a scan) describes the hops they
    made, not long-range diffusion; empty when they crossed it, or there is no cell.

    ``reach``: how many cell lengths the typical walker got along each cell vector
    (:func:`typical_reach`), shape (3,) for one run or, with ``temperatures``, one row per
    temperature of a scan. ``spanning``: the network's :func:`long_range` (None when its paths
    span the cell in no direction); when they span it only along channels or sheets, D was
    measured along them and only the cell vectors those run along need crossing. A scan's note
    also says what governs long-range D at low T."""
    if reach is None or not len(reach):
        return ""
    reach = np.atleast_2d(reach)
    where = measured_where(spanning)
    counts = np.any(np.asarray(spanning.windings) != 0, axis=0) if where else np.ones(3, bool)
    short = (reach[:, counts] < 1.0).any(axis=1)
    if not short.any():
        return ""
    never = [axis for axis, no in zip("abc", (reach[short] < 1.0).all(axis=0) & counts) if no]
    along = "in any direction" if len(never) == 3 else f"along {' or '.join(never)}"
    if temperatures is None:  # one run: the directions no walker crossed are all there is to say
        return (f" The walkers did not cross the cell {along}, so {quantity} describes only the "
                f"hops they made, not long-range {f'diffusion {where}' if where else '3D diffusion'}.")
    at = ("" if short.all() else
          "At " + ", ".join(f"{t:g}" for t in np.asarray(temperatures)[short]) + " K t")
    none = f" (the typical walker got less than a cell length {along})" if never else ""
    governs = ("this network allows no long-range diffusion" if spanning is None else
               f"{'' if where else '3D '}long-range D at low T is governed by the "
               f"{barrier_name(spanning)}")
    every = where or "in all three directions"
    return (f" {at or 'T'}he walkers did not cross the cell {every}{none}, so {quantity} "
            f"describes only the hops they made; {governs}.")


def scan_reach(scan: "TemperatureScan", cell=None) -> np.ndarray:
    """:func:`typical_reach` of each run of a scan, one row per temperature (for
    :func:`crossing_note`), as the scan recorded it."""
    return np.asarray(scan.reach, float).reshape(-1, 3)


def measured_along(spanning: Optional[Spanning], cell) -> Optional[np.ndarray]:
    """The directions D is measured along (``along`` of :func:`diffusion_coefficient`): those of
    channels or sheets; None for 3D diffusion, and for paths that span nothing."""
    return spanning.directions(cell) if spanning is not None else None


def first_spanning(network: HopNetwork, dimensions: int = 3) -> Optional[Spanning]:
    """The lowest barrier at which the links span the periodic cell in ``dimensions`` (1-3)
    independent directions, and along which; None when they never do. A link between two sites
    counts with the higher of its two directional barriers (the saddle above the lower site), so
    below it a walker can go both ways; hops without a way back (directed input) are left out."""
    require(dimensions in (1, 2, 3), "dimensions", f"needs 1, 2 or 3, got {dimensions!r}")
    if not network.periodic:
        raise ParameterError("network", "a finite (non-periodic) network has no cell to span: "
                             "no long-range diffusion")
    hop = np.flatnonzero(network.reverse > np.arange(network.n_hops))
    back = network.reverse[hop]
    barrier = np.maximum(network.barriers[hop], network.barriers[back])
    order = np.argsort(barrier, kind="stable")
    windings = np.zeros((3, 3), np.int64)
    found = _percolate(order, network.sources[hop], network.targets[hop],
                       np.ascontiguousarray(network.shifts[hop]), network.n_sites, dimensions,
                       windings)
    return None if found < 0 else Spanning(float(barrier[order[found]]), windings[:dimensions])


def long_range(network: HopNetwork) -> Optional[Spanning]:
    """The most directions in which the network spans the cell (3, else 2, else 1) with its
    barrier; None when it spans the cell in none, or has no cell."""
    if not network.periodic:
        return None
    for dimensions in (3, 2, 1):
        spanning = first_spanning(network, dimensions)
        if spanning is not None:
            return spanning
    return None


def percolation_barrier(network: HopNetwork, spanning: str = "all") -> float:
    """The lowest barrier θ (eV) at which the links with barrier ≤ θ span the periodic cell
    (:func:`first_spanning`). ``spanning="all"``: one cluster wraps around the cell in all three
    independent directions (3D long-range diffusion); ``"any"``: in at least one (a channel or a
    sheet suffices). In the random barrier model the low-temperature activation energy of D
    tends to this barrier.
    """
    require(spanning in SPANNING, "spanning", f"needs one of {', '.join(SPANNING)}, got "
            f"{spanning!r}")
    found = first_spanning(network, 3 if spanning == "all" else 1)
    if found is None:
        where = " in all three directions" if spanning == "all" else ""
        raise ParameterError("network", f"{NO_SPAN}{where}")
    return found.barrier


def warm_up() -> None:
    """Compile (or load from cache) the percolation kernels on a 2×2×2 lattice."""
    from .network import simple_cubic_lattice

    percolation_barrier(simple_cubic_lattice(2, 1.0, 0.1))

"""Rejection-free kinetic Monte Carlo (residence-time / BKL / Gillespie) of independent walkers.

A walker on site i waits an exponential time of rate K_i = Σ_j k_ij, then hops to j with
probability k_ij/K_i, chosen by a binary search in the site's running sum of rates (logarithmic
in the number of exits). Every hop adds its jump vector to an unwrapped displacement, so crossings
of the periodic boundary are counted and the mean squared displacement keeps growing.

Walkers do not interact (the dilute limit), so each has its own random stream (xoshiro256**,
seeded from one ``numpy.random.SeedSequence``): a run is reproducible from its seed, whatever the
chunking. The kernel advances all walkers to the next time on a fixed grid, a bounded number of
hops per call, so Cancel is answered between calls. A long stretch between two grid times is
walked in synchronised sub-steps (all walkers stop at the same time, about ``SYNC_HOPS`` hops
apart), and a few of those stops are remembered, so a cancelled run returns every grid time all
walkers reached plus the stops after it, marked ``cancelled=True``: a run stopped long before its
first grid time still keeps its walk so far.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Optional

import numpy as np
from numba import njit

from ..errors import require
from ..tasks import Cancelled, CancelFn, ProgressFn, check_cancel, report
from .network import HopNetwork, _as_temperature

#: Hops per kernel call (all walkers together): ~20 ms, so Cancel is answered well within 0.5 s.
CHUNK_HOPS = 200_000
#: Hops (all walkers together) between the synchronised stops inside a long grid interval.
SYNC_HOPS = 10 * CHUNK_HOPS
#: Stops of the unfinished interval remembered for a cancelled run (thinned to every other one
#: when there are twice as many, so they stay evenly spaced and bounded in memory).
KEPT_STOPS = 8
#: Runs longer than this many hops in total are refused (about a day at 10⁷ hops/s).
MAX_HOPS = 1e12
#: Largest array of recorded displacements (bytes).
MAX_SAMPLE_BYTES = 2 * 1024 ** 3
#: Recorded times of a run after t = 0 (the window's animation frames, the CLI's and a script's
#: default alike, so their numbers are the same).
N_SAMPLES = 200
#: Hops per second the kernel makes on one core, for the estimate before a run: measured
#: 2.5–5·10⁷ on the a-SiO2 and fcc examples (200 to 10⁵ walkers); the lower end, so an estimate
#: errs long.
HOPS_PER_SECOND = 2.5e7
STARTS = ("equilibrium", "uniform")


def _whole(value, low: int, high: float) -> bool:
    return (isinstance(value, (int, np.integer)) and not isinstance(value, bool)
            and low <= value <= high)


@dataclass(frozen=True)
class KmcParams:
    """One KMC run: ``n_walkers`` independent walkers at ``temperature`` (K).

    The run lasts ``t_max`` seconds when that is given; otherwise the time in which a walker at
    equilibrium makes ``n_steps`` hops on average (so a temperature scan does the same work at
    every temperature). Displacements are recorded at ``n_samples`` + 1 evenly spaced times from
    0. Walkers start on sites drawn from the Boltzmann occupation (``start="equilibrium"``, so the
    walk is stationary from t = 0) or uniformly. ``attempt_frequency`` ν in Hz.
    """

    temperature: float = 300.0
    n_walkers: int = 1000
    n_steps: Optional[int] = 1000
    t_max: Optional[float] = None
    attempt_frequency: float = 1e13
    seed: int = 0
    n_samples: int = N_SAMPLES
    start: str = "equilibrium"

    def validate(self) -> None:
        _as_temperature(self.temperature)
        require(_whole(self.n_walkers, 1, 10_000_000), "n_walkers",
                f"needs a whole number of walkers between 1 and 10,000,000, got {self.n_walkers!r}")
        require(self.t_max is not None or self.n_steps is not None, "n_steps",
                "give the length of the run: n_steps (hops per walker) or t_max (seconds)")
        require(self.n_steps is None or _whole(self.n_steps, 1, MAX_HOPS), "n_steps",
                f"needs a whole number of hops per walker between 1 and 10¹², got {self.n_steps!r}")
        require(self.t_max is None or (isinstance(self.t_max, (int, float, np.number))
                                       and np.isfinite(self.t_max) and self.t_max > 0), "t_max",
                f"needs a positive duration in seconds (or None for n_steps), got {self.t_max!r}")
        require(isinstance(self.attempt_frequency, (int, float, np.number))
                and np.isfinite(self.attempt_frequency) and 0 < self.attempt_frequency <= 1e18,
                "attempt_frequency",
                f"needs a positive attempt frequency in Hz (typically 10¹²–10¹⁴), got "
                f"{self.attempt_frequency!r}")
        require(_whole(self.seed, 0, 2 ** 63), "seed",
                f"needs a whole number ≥ 0, got {self.seed!r}")
        require(_whole(self.n_samples, 1, 1_000_000), "n_samples",
                f"needs a whole number of recorded times between 1 and 1,000,000, got "
                f"{self.n_samples!r}")
        require(self.start in STARTS, "start",
                f"needs one of {', '.join(STARTS)}, got {self.start!r}")


@dataclass(frozen=True)
class KmcResult:
    """The walkers' trajectories on the time grid.

    ``times`` (n_t,) s; ``displacements`` (n_t, n_walkers, 3) Å, unwrapped, from each start
    (time first: a grid time's row is written by all walkers together, so memory fills in order);
    ``hops`` per walker; ``site_time`` (n_sites,) s spent on each site by all walkers together
    (up to each walker's last hop when cancelled); ``duration`` is the planned end. A cancelled
    run keeps every grid time all walkers had reached and the synchronised stops after it (so its
    last times may be closer together than the grid's).
    """

    times: np.ndarray
    displacements: np.ndarray
    hops: np.ndarray
    start_sites: np.ndarray
    final_sites: np.ndarray
    site_time: np.ndarray
    temperature: float
    attempt_frequency: float
    duration: float
    cancelled: bool
    seconds: float

    @property
    def n_walkers(self) -> int:
        return len(self.hops)

    @property
    def total_hops(self) -> int:
        return int(self.hops.sum())


# --------------------------------------------------------------------------- kernels


@njit(inline="always")
def _rotl(x, k):
    return (x << np.uint64(k)) | (x >> np.uint64(64 - k))


@njit(inline="always")
def _uniform(s0, s1, s2, s3):
    """xoshiro256**: a double in [0, 1) and the next state."""
    out = _rotl(s1 * np.uint64(5), 7) * np.uint64(9)
    t = s1 << np.uint64(17)
    s2 ^= s0
    s3 ^= s1
    s1 ^= s2
    s0 ^= s3
    s2 ^= t
    s3 = _rotl(s3, 45)
    return (out >> np.uint64(11)) * (1.0 / 9007199254740992.0), s0, s1, s2, s3


@njit(nogil=True, cache=True)
def _first_hops(total, site, rng, t_hop):
    """The time of each walker's first hop, −ln(u)/K of its start site."""
    for w in range(site.shape[0]):
        u, s0, s1, s2, s3 = _uniform(rng[w, 0], rng[w, 1], rng[w, 2], rng[w, 3])
        rng[w, 0], rng[w, 1], rng[w, 2], rng[w, 3] = s0, s1, s2, s3
        t_hop[w] = -math.log(1.0 - u) / total[site[w]]


@njit(nogil=True, cache=True)
def _advance(indptr, targets, jumps, cumulative, total, grid, t_stop, budget, site, t_hop,
             t_last, sample, disp, hops, rng, samples, site_time):
    """Hop every walker until its next hop lies beyond ``t_stop``, at most ``budget`` hops each.

    Before each hop the displacement is recorded at every grid time the walker has passed (it
    sat on its site until the hop). Returns how many walkers still have hops before ``t_stop``.
    """
    n_grid = grid.shape[0]
    unfinished = 0
    for w in range(site.shape[0]):
        s = site[w]
        th = t_hop[w]
        tl = t_last[w]
        k = sample[w]
        dx, dy, dz = disp[w, 0], disp[w, 1], disp[w, 2]
        s0, s1, s2, s3 = rng[w, 0], rng[w, 1], rng[w, 2], rng[w, 3]
        n = 0
        while True:
            while k < n_grid and grid[k] < th:
                samples[k, w, 0] = dx
                samples[k, w, 1] = dy
                samples[k, w, 2] = dz
                k += 1
            if th > t_stop:
                break
            if n == budget:
                unfinished += 1
                break
            u, s0, s1, s2, s3 = _uniform(s0, s1, s2, s3)
            r = u * total[s]
            lo = indptr[s]
            hi = indptr[s + 1] - 1
            while lo < hi:  # first hop whose running sum exceeds r
                mid = (lo + hi) >> 1
                if cumulative[mid] > r:
                    hi = mid
                else:
                    lo = mid + 1
            site_time[s] += th - tl
            tl = th
            dx += jumps[lo, 0]
            dy += jumps[lo, 1]
            dz += jumps[lo, 2]
            s = targets[lo]
            u, s0, s1, s2, s3 = _uniform(s0, s1, s2, s3)
            th = th - math.log(1.0 - u) / total[s]
            n += 1
        site[w] = s
        t_hop[w] = th
        t_last[w] = tl
        sample[w] = k
        disp[w, 0], disp[w, 1], disp[w, 2] = dx, dy, dz
        rng[w, 0], rng[w, 1], rng[w, 2], rng[w, 3] = s0, s1, s2, s3
        hops[w] += n
    return unfinished


# --------------------------------------------------------------------------- driver


def planned(network: HopNetwork, params: KmcParams) -> tuple[float, float, float]:
    """(duration in s, hops per walker per second at equilibrium, hops of all walkers) of a run:
    what :func:`run_kmc` will do, known before it starts."""
    params.validate()
    table = network.rate_table(params.temperature, params.attempt_frequency)
    hop_rate = float(network.occupation(params.temperature) @ table.total)
    duration = float(params.t_max) if params.t_max is not None else params.n_steps / hop_rate
    return duration, hop_rate, int(params.n_walkers) * duration * hop_rate


def estimated_seconds(network: HopNetwork, params: KmcParams) -> float:
    """About how long (wall-clock s) :func:`run_kmc` will take: its hops at
    :data:`HOPS_PER_SECOND`."""
    return planned(network, params)[2] / HOPS_PER_SECOND


def run_kmc(network: HopNetwork, params: KmcParams, *, start_sites=None,
            progress: Optional[ProgressFn] = None, cancel: Optional[CancelFn] = None) -> KmcResult:
    """Run ``params.n_walkers`` walkers on ``network``; see :class:`KmcResult`.

    ``start_sites`` (n_walkers,) overrides ``params.start``. Cancel does not raise: the result
    holds the trajectory up to the last grid time every walker reached and ``cancelled=True``.
    """
    clock = time.perf_counter()
    duration, hop_rate, expected = planned(network, params)
    table = network.rate_table(params.temperature, params.attempt_frequency)
    occupation = network.occupation(params.temperature)
    n_w, n_grid = int(params.n_walkers), int(params.n_samples) + 1
    require(expected <= MAX_HOPS, "n_steps" if params.t_max is None else "t_max",
            f"the run would take about {expected:.2g} hops of all walkers together (more than "
            f"{MAX_HOPS:.0e}, about a day): fewer hops per walker or fewer walkers")
    require(n_w * n_grid * 24 <= MAX_SAMPLE_BYTES, "n_walkers",
            f"{n_w} walkers × {n_grid} recorded times need {n_w * n_grid * 24 / 1e9:.1f} GB; use "
            "fewer walkers")

    seeds = np.random.SeedSequence(params.seed).spawn(2)
    if start_sites is not None:
        site = np.asarray(start_sites)
        require(site.shape == (n_w,) and np.issubdtype(site.dtype, np.integer)
                and bool(((site >= 0) & (site < network.n_sites)).all()), "start_sites",
                f"needs one site index (0…{network.n_sites - 1}) per walker, shape ({n_w},)")
        site = site.astype(np.int64)
    elif params.start == "uniform":
        site = np.random.default_rng(seeds[0]).integers(0, network.n_sites, n_w)
    else:
        site = np.random.default_rng(seeds[0]).choice(network.n_sites, n_w, p=occupation)
    start_sites = site.copy()
    rng = seeds[1].generate_state(4 * n_w, np.uint64).reshape(n_w, 4)
    rng[~rng.any(axis=1), 0] = 1  # xoshiro's one forbidden state
    grid = np.linspace(0.0, duration, n_grid)
    t_hop = np.empty(n_w)
    t_last = np.zeros(n_w)
    sample = np.zeros(n_w, np.int64)
    disp = np.zeros((n_w, 3))
    hops = np.zeros(n_w, np.int64)
    samples = np.zeros((n_grid, n_w, 3))
    site_time = np.zeros(network.n_sites)
    _first_hops(table.total, site, rng, t_hop)

    reached, cancelled = 0, False
    message = f"KMC at {params.temperature:g} K"
    # stops inside a grid interval: about SYNC_HOPS hops apart, so a cancelled run keeps them
    per_interval = n_w * hop_rate * (duration / (n_grid - 1))
    n_stops = max(1, int(math.ceil(per_interval / SYNC_HOPS)))
    stops = _Stops()
    try:
        for k in range(1, n_grid):
            stops.clear()
            for j in range(1, n_stops + 1):
                t_stop = grid[k - 1] + (grid[k] - grid[k - 1]) * j / n_stops
                t_stop = grid[k] if j == n_stops else t_stop
                unfinished = n_w
                while unfinished:
                    check_cancel(cancel)
                    unfinished = _advance(table.indptr, table.targets, table.jumps,
                                          table.cumulative, table.total, grid, t_stop,
                                          max(1, CHUNK_HOPS // unfinished), site, t_hop, t_last,
                                          sample, disp, hops, rng, samples, site_time)
                    # by hops done, so a run of few walkers with many hops each moves too
                    done = int(hops.sum())
                    report(progress, min(done / max(expected, 1.0), 0.999),
                           f"{message}: {done:.3g} of ~{expected:.3g} hops")
                if j < n_stops:
                    stops.add(t_stop, disp)
            reached = k
        np.add.at(site_time, site, duration - t_last)
        report(progress, 1.0, message)
    except Cancelled:
        cancelled = True
    times = grid[:reached + 1].copy()
    if cancelled:  # a copy, so the unused rest of the grid is freed
        samples = samples[:reached + 1].copy()
        if stops.times:
            times = np.concatenate([times, stops.times])
            samples = np.concatenate([samples, np.stack(stops.rows)])
    return KmcResult(times, samples, hops, start_sites, site, site_time,
                     float(params.temperature), float(params.attempt_frequency), duration,
                     cancelled, time.perf_counter() - clock)


class _Stops:
    """The synchronised stops of the grid interval being walked: at most 2·``KEPT_STOPS``, every
    ``stride``-th one, the stride doubling (and every other kept one dropped) when they fill up."""

    def __init__(self):
        self.clear()

    def clear(self) -> None:
        self.times, self.rows, self.stride, self.count = [], [], 1, 0

    def add(self, t: float, disp: np.ndarray) -> None:
        self.count += 1
        if self.count % self.stride:
            return
        self.times.append(t)
        self.rows.append(disp.copy())  # every walker sits where disp says from t_last ≤ t on
        if len(self.rows) == 2 * KEPT_STOPS:
            self.times, self.rows, self.stride = self.times[1::2], self.rows[1::2], 2 * self.stride


def warm_up() -> None:
    """Compile (or load from cache) the KMC kernels on a 2×2×2 lattice."""
    from .network import simple_cubic_lattice

    run_kmc(simple_cubic_lattice(2, 1.0, 0.1), KmcParams(300.0, n_walkers=2, n_steps=20,
                                                         n_samples=4))

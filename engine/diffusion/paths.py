"""Hops between neighbouring sites: minimum-energy paths by climbing-image NEB, and the network.

Every pair of sites closer than ``hop_distance`` (each periodic image of the pair on its own) is
joined by a climbing-image nudged elastic band (Henkelman, Uberuaga & Jónsson, J. Chem. Phys. 113,
9901 (2000); tangents from Henkelman & Jónsson, ibid. 9978), relaxed with FIRE (Bitzek et al.,
Phys. Rev. Lett. 97, 170201 (2006)). The band lives in 3 dimensions and the potential is analytic,
so whole bands are relaxed inside one numba kernel: the ~1100 hops of Cu in the a-SiO2 example
take ~6 s. ASE's NEB with the same potential (:class:`.MobileAtomCalculator`) finds the same
saddles but takes 2–6 s per hop there (Python objects per image, the whole host in each).

The band does not start on the straight line, which may run through a host atom or be trapped
on a mirror plane through a higher-order saddle (oct→oct in fcc). It starts on a grid path from
the site search's energy grid: first the lowest pass (the least highest energy of any path)
inside an ellipsoid around the hop, so the path cannot detour to some distant pass, then the
shortest path below that pass. If that path crosses the basin of a third site the pair is no hop
of its own (the walker makes it as two hops) and is left out; so is a band that, relaxed, still
dips into a third site, and a pair whose pass is more than ``barrier_max`` above its sites.
Units: Å, eV.
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Optional

import numpy as np
from ase import Atoms
from numba import njit

from ..errors import ParameterError, require
from ..neighbors import neighbor_list
from ..tasks import CancelFn, ProgressFn, chunked, report, sub_progress
from .network import HopNetwork
from .potential import HostPotential, finite_number, point_energy, point_workspace
from .sites import (EnergyGrid, SiteSearchParams, Sites, energy_grid, landscape_potential,
                    search_sites)

#: Paths per NEB kernel call between progress/cancel checks.
CHUNK_PATHS = 50
#: Sources per grid-path kernel call between progress/cancel checks.
CHUNK_SOURCES = 50
#: A grid path may be this much (Å) longer than the straight hop: it keeps to the ellipsoid of
#: points whose distances to the two sites add up to at most the hop's length plus this.
SEARCH_MARGIN = 1.5
#: FIRE: first and largest time step, steps before speeding up, speed-up/slow-down, mixing.
_FIRE = (0.1, 1.0, 5, 1.1, 0.5, 0.1, 0.99)
#: Largest move of one image in one NEB step (Å).
MAX_IMAGE_MOVE = 0.1
#: Sites joined by a path whose barrier from the lower one is below this (eV) are one site
#: (:mod:`.merging`). ν·exp(−E/kT) needs E of several kT (transition-state theory); this is
#: 2.3 kT at 500 K and 1.2 kT at 1000 K, the ends of the window's default scan. On the a-SiO2
#: example it merges 118 of 576 minima (barriers from 6·10⁻⁵ eV), leaves the percolation
#: barrier at 0.558 eV, cuts the hops below kT from 67–76 % to 15–21 % and the spread of D at
#: 500 K over seeds from a factor 11 to 1.7; D agrees with the unmerged network's within 5 % at
#: 800 K and is 11 % higher at 1000 K, where these barriers are ~kT and the unmerged rates are
#: no better (0.05 eV: 3 %, but a factor 3 over seeds).
MERGE_BARRIER = 0.1


@dataclass(frozen=True)
class PathParams:
    """Paths between sites closer than ``hop_distance`` (Å): bands of ``n_images`` images (ends
    included) with springs of ``spring`` eV/Å², relaxed until every image's force is below
    ``fmax`` eV/Å or for ``max_steps`` steps; ``climb`` lets the highest image climb. A pair
    whose lowest grid path climbs more than ``barrier_max`` eV above the higher of its two sites
    is no hop (such a hop would not happen below ~3000 K; the grid's pass can overestimate
    the saddle by about 1.5 eV where it is steep, which the margin allows for).

    The default hop distance is set by the a-SiO2 example (Cu, UFF): its sites lie ~4.3 Å
    apart on average, at 3.5 Å the network does not span the cell, and the percolation
    barrier stops changing from 6 Å on (0.573, 0.558, 0.558 eV at 5, 6, 7 Å).
    """

    hop_distance: float = 6.0
    barrier_max: float = 5.0
    merge_barrier: float = MERGE_BARRIER
    n_images: int = 9
    spring: float = 0.1
    fmax: float = 1e-3
    max_steps: int = 3000
    climb: bool = True

    def validate(self) -> None:
        number = finite_number

        def whole(value):
            return isinstance(value, (int, np.integer)) and not isinstance(value, bool)

        require(number(self.hop_distance) and 0.1 <= self.hop_distance <= 10.0, "hop_distance",
                f"needs a hop distance between 0.1 and 10 Å, got {self.hop_distance!r}")
        require(number(self.barrier_max) and self.barrier_max > 0.0, "barrier_max",
                f"needs a positive barrier in eV, got {self.barrier_max!r}")
        require(number(self.merge_barrier) and 0.0 <= self.merge_barrier <= 1.0,
                "merge_barrier", f"needs a barrier between 0 (merge nothing) and 1 eV below "
                f"which two sites are one, got {self.merge_barrier!r}")
        require(whole(self.n_images) and 3 <= self.n_images <= 101, "n_images",
                f"needs a whole number of images between 3 and 101 (ends included), got "
                f"{self.n_images!r}")
        require(number(self.spring) and 0.0 < self.spring <= 100.0, "spring",
                f"needs a spring constant between 0 and 100 eV/Å², got {self.spring!r}")
        require(number(self.fmax) and 0.0 < self.fmax <= 1.0, "fmax",
                f"needs a force tolerance between 0 and 1 eV/Å, got {self.fmax!r}")
        require(whole(self.max_steps) and 1 <= self.max_steps <= 1_000_000, "max_steps",
                f"needs a whole number of steps between 1 and 1,000,000, got {self.max_steps!r}")
        require(isinstance(self.climb, (bool, np.bool_)), "climb",
                f"needs True or False, got {self.climb!r}")


@dataclass(frozen=True)
class LandscapeParams:
    """Everything :func:`build_network` needs: the site search and the paths."""

    sites: SiteSearchParams = field(default_factory=SiteSearchParams)
    paths: PathParams = field(default_factory=PathParams)

    def validate(self) -> None:
        require(isinstance(self.sites, SiteSearchParams), "sites",
                f"needs SiteSearchParams, got {type(self.sites).__name__}")
        require(isinstance(self.paths, PathParams), "paths",
                f"needs PathParams, got {type(self.paths).__name__}")
        self.sites.validate()
        self.paths.validate()


@dataclass(frozen=True)
class Paths:
    """Minimum-energy paths, one per hop ``edges[k] = (i, j)`` to site j's image ``shifts[k]``.

    ``images`` (m, n, 3) Å run from site i to that image of site j (unwrapped), ``energies``
    (m, n) eV along them, ``saddles`` (m,) the highest of those (eV). ``converged`` says whether
    the band met its force tolerance. Of the ``n_candidates`` pairs within the hop distance,
    ``n_indirect`` were left out because their path runs through another site and ``n_blocked``
    because it climbs more than ``barrier_max``.

    ``site_energies`` (m, 2) eV: the energies of the two sites the barriers are measured from,
    when they are not the band's ends: after merging (:mod:`.merging`) a band may start at a
    higher member of a merged site, and its barriers count from the site's lowest minimum, as
    the hop network's do. None: from the band's ends.
    """

    edges: np.ndarray
    shifts: np.ndarray
    saddles: np.ndarray
    images: np.ndarray
    energies: np.ndarray
    converged: np.ndarray
    n_candidates: int = 0
    n_indirect: int = 0
    n_blocked: int = 0
    site_energies: Optional[np.ndarray] = None

    def __len__(self) -> int:
        return len(self.edges)

    @property
    def distances(self) -> np.ndarray:
        """(m, n) distance along each path from its first site (Å): the x axis of a profile."""
        steps = np.linalg.norm(np.diff(self.images, axis=1), axis=2)
        return np.concatenate([np.zeros((len(self.images), 1)), np.cumsum(steps, axis=1)], axis=1)

    @property
    def barriers(self) -> np.ndarray:
        """(m, 2) barriers (eV) of the hop i → j and back, saddle minus the starting site (its
        lowest minimum: :attr:`ends`)."""
        return self.saddles[:, None] - self.ends

    @property
    def ends(self) -> np.ndarray:
        """(m, 2) energies (eV) the barriers count from: ``site_energies``, else the band's
        ends."""
        if self.site_energies is not None:
            return self.site_energies
        return self.energies[:, [0, -1]]

    def profile(self, k: int) -> tuple[np.ndarray, np.ndarray]:
        """(distance along the path in Å, energy in eV) of path ``k``."""
        steps = np.linalg.norm(np.diff(self.images[k], axis=0), axis=1)
        return np.concatenate([[0.0], np.cumsum(steps)]), self.energies[k]


# --------------------------------------------------------------------------- grid paths


@njit(nogil=True, cache=True)
def _heap_push(keys, nodes, size, key, node):
    """Push (key, node) on the binary min-heap in the first ``size`` entries; grows the arrays."""
    if size == keys.shape[0]:
        keys = np.concatenate((keys, np.empty_like(keys)))
        nodes = np.concatenate((nodes, np.empty_like(nodes)))
    i = size
    while i > 0:
        parent = (i - 1) // 2
        if keys[parent] <= key:
            break
        keys[i] = keys[parent]
        nodes[i] = nodes[parent]
        i = parent
    keys[i] = key
    nodes[i] = node
    return keys, nodes, size + 1


@njit(nogil=True, cache=True)
def _heap_pop(keys, nodes, size):
    """Remove the lowest entry: returns (key, node, new size)."""
    key, node = keys[0], nodes[0]
    size -= 1
    last_key, last_node = keys[size], nodes[size]
    i = 0
    while True:
        child = 2 * i + 1
        if child >= size:
            break
        if child + 1 < size and keys[child + 1] < keys[child]:
            child += 1
        if last_key <= keys[child]:
            break
        keys[i] = keys[child]
        nodes[i] = nodes[child]
        i = child
    if size > 0:
        keys[i] = last_key
        nodes[i] = last_node
    return key, node, size


@njit(nogil=True, cache=True)
def _dijkstra(energies, cell, source, reach, directions, lengths, ends, limit, lowest, ceiling,
              goal, stamp, generation, cost, pred):
    """One Dijkstra from ``source`` to ``goal`` over the periodic grid box within ``reach``.

    Only points whose distances to the two ``ends`` (Å) add up to at most ``limit`` are used:
    an ellipsoid around the hop, so a path cannot wander off to some distant lower pass.
    ``lowest`` (phase one): the cost of a path is the highest energy on it. Otherwise (phase
    two) the cost is its length (Å) over points no higher than ``ceiling``. Nodes whose
    ``stamp`` is below ``generation`` count as unvisited, so nothing needs clearing.
    Returns whether ``goal`` was reached.
    """
    n = energies.shape
    b1, b2 = 2 * reach[1] + 1, 2 * reach[2] + 1
    start = (reach[0] * b1 + reach[1]) * b2 + reach[2]
    keys = np.empty(256)
    heap = np.empty(256, np.int64)
    stamp[start] = generation
    cost[start] = energies[source[0] % n[0], source[1] % n[1], source[2] % n[2]] if lowest \
        else 0.0
    pred[start] = -1
    keys, heap, size = _heap_push(keys, heap, 0, cost[start], start)
    r = np.empty(3)
    # stamp == generation: reached; stamp == generation + 1: settled
    while size > 0:
        a, u, size = _heap_pop(keys, heap, size)
        if stamp[u] == generation + 1:
            continue
        stamp[u] = generation + 1
        if u == goal:
            return True
        o0 = u // (b1 * b2) - reach[0]
        o1 = (u // b2) % b1 - reach[1]
        o2 = u % b2 - reach[2]
        for d in range(directions.shape[0]):
            p0 = o0 + directions[d, 0]
            p1 = o1 + directions[d, 1]
            p2 = o2 + directions[d, 2]
            if abs(p0) > reach[0] or abs(p1) > reach[1] or abs(p2) > reach[2]:
                continue
            w = ((p0 + reach[0]) * b1 + p1 + reach[1]) * b2 + p2 + reach[2]
            if stamp[w] == generation + 1:
                continue
            f0 = (source[0] + p0) / n[0]
            f1 = (source[1] + p1) / n[1]
            f2 = (source[2] + p2) / n[2]
            for x in range(3):
                r[x] = f0 * cell[0, x] + f1 * cell[1, x] + f2 * cell[2, x]
            span = math.sqrt((r[0] - ends[0, 0]) ** 2 + (r[1] - ends[0, 1]) ** 2
                             + (r[2] - ends[0, 2]) ** 2) \
                + math.sqrt((r[0] - ends[1, 0]) ** 2 + (r[1] - ends[1, 1]) ** 2
                            + (r[2] - ends[1, 2]) ** 2)
            if span > limit and w != goal:
                continue
            e = energies[(source[0] + p0) % n[0], (source[1] + p1) % n[1],
                         (source[2] + p2) % n[2]]
            if lowest:
                through = max(a, e)
            elif e > ceiling:
                continue
            else:
                through = a + lengths[d]
            if stamp[w] != generation or through < cost[w]:
                stamp[w] = generation
                cost[w] = through
                pred[w] = u
                keys, heap, size = _heap_push(keys, heap, size, through, w)
    return False


@njit(nogil=True, cache=True)
def _grid_paths(energies, cell, source, targets, ends, reach, directions, lengths, margin):
    """The shortest of the lowest grid paths from grid point ``source`` to each target offset.

    ``ends`` (t + 1, 3): the source site, then each target's site image (Å). Per target, phase
    one finds the lowest pass, the least highest energy of any path inside the ellipsoid whose
    foci are the two sites and whose size is their distance plus ``margin``; phase two the
    shortest path there that stays at or below that pass. Returns (indptr, offsets) of the
    paths, source first, as offsets from the source (an unreachable target gets an empty path),
    and the passes (eV, infinite if unreachable).
    """
    b0, b1, b2 = 2 * reach[0] + 1, 2 * reach[1] + 1, 2 * reach[2] + 1
    size_box = b0 * b1 * b2
    stamp = np.zeros(size_box, np.int64)
    cost = np.empty(size_box)
    pred = np.empty(size_box, np.int64)
    pair = np.empty((2, 3))
    passes = np.full(targets.shape[0], np.inf)
    routes = []
    total = 0
    for t in range(targets.shape[0]):
        goal = ((targets[t, 0] + reach[0]) * b1 + targets[t, 1] + reach[1]) * b2 \
            + targets[t, 2] + reach[2]
        for c in range(3):
            pair[0, c] = ends[0, c]
            pair[1, c] = ends[t + 1, c]
        gap = 0.0
        for c in range(3):
            gap += (pair[1, c] - pair[0, c]) ** 2
        limit = math.sqrt(gap) + margin
        route = np.empty((0, 3), np.int64)
        generation = 4 * t + 1
        if _dijkstra(energies, cell, source, reach, directions, lengths, pair, limit, True, 0.0,
                     goal, stamp, generation, cost, pred):
            ceiling = cost[goal]
            passes[t] = ceiling
            _dijkstra(energies, cell, source, reach, directions, lengths, pair, limit, False,
                      ceiling, goal, stamp, generation + 2, cost, pred)
            steps = 0
            node = goal
            while node >= 0:
                steps += 1
                node = pred[node]
            route = np.empty((steps, 3), np.int64)
            node = goal
            for k in range(steps - 1, -1, -1):
                route[k, 0] = node // (b1 * b2) - reach[0]
                route[k, 1] = (node // b2) % b1 - reach[1]
                route[k, 2] = node % b2 - reach[2]
                node = pred[node]
        routes.append(route)
        total += route.shape[0]
    indptr = np.zeros(targets.shape[0] + 1, np.int64)
    offsets = np.empty((total, 3), np.int64)
    for t in range(targets.shape[0]):
        indptr[t + 1] = indptr[t] + routes[t].shape[0]
        offsets[indptr[t]:indptr[t + 1]] = routes[t]
    return indptr, offsets, passes


def _resample(polyline: np.ndarray, n: int) -> np.ndarray:
    """``n`` points evenly spaced by arc length along a polyline, its ends included."""
    steps = np.linalg.norm(np.diff(polyline, axis=0), axis=1)
    s = np.concatenate([[0.0], np.cumsum(steps)])
    if s[-1] <= 0.0:
        return np.repeat(polyline[:1], n, axis=0)
    want = np.linspace(0.0, s[-1], n)
    return np.column_stack([np.interp(want, s, polyline[:, c]) for c in range(3)])


# --------------------------------------------------------------------------- NEB


@njit(nogil=True, cache=True)
def _neb_forces(x, e, grad, spring, climb, forces):
    """NEB forces on the inner images; returns the largest |force| and the climbing image."""
    n = x.shape[0]
    top = 1
    for i in range(2, n - 1):
        if e[i] > e[top]:
            top = i
    tangent = np.empty(3)
    worst = 0.0
    for i in range(1, n - 1):
        up = e[i + 1] - e[i]
        down = e[i - 1] - e[i]
        if e[i + 1] > e[i] > e[i - 1]:
            for c in range(3):
                tangent[c] = x[i + 1, c] - x[i, c]
        elif e[i + 1] < e[i] < e[i - 1]:
            for c in range(3):
                tangent[c] = x[i, c] - x[i - 1, c]
        else:  # at an extremum: weight the two sides by the energy changes
            big = max(abs(up), abs(down))
            small = min(abs(up), abs(down))
            wp, wm = (big, small) if e[i + 1] > e[i - 1] else (small, big)
            for c in range(3):
                tangent[c] = wp * (x[i + 1, c] - x[i, c]) + wm * (x[i, c] - x[i - 1, c])
        norm = math.sqrt(tangent[0] ** 2 + tangent[1] ** 2 + tangent[2] ** 2)
        if norm == 0.0:
            for c in range(3):
                tangent[c] = x[i + 1, c] - x[i - 1, c]
            norm = max(math.sqrt(tangent[0] ** 2 + tangent[1] ** 2 + tangent[2] ** 2), 1e-300)
        for c in range(3):
            tangent[c] /= norm
        along = grad[i, 0] * tangent[0] + grad[i, 1] * tangent[1] + grad[i, 2] * tangent[2]
        if climb and i == top:  # climb: the force along the band reversed, no spring
            for c in range(3):
                forces[i, c] = -grad[i, c] + 2.0 * along * tangent[c]
        else:
            ahead = math.sqrt((x[i + 1, 0] - x[i, 0]) ** 2 + (x[i + 1, 1] - x[i, 1]) ** 2
                              + (x[i + 1, 2] - x[i, 2]) ** 2)
            behind = math.sqrt((x[i, 0] - x[i - 1, 0]) ** 2 + (x[i, 1] - x[i - 1, 1]) ** 2
                               + (x[i, 2] - x[i - 1, 2]) ** 2)
            pull = spring * (ahead - behind)
            for c in range(3):
                forces[i, c] = -grad[i, c] + along * tangent[c] + pull * tangent[c]
        size = math.sqrt(forces[i, 0] ** 2 + forces[i, 1] ** 2 + forces[i, 2] ** 2)
        worst = max(worst, size)
    return worst, top


@njit(nogil=True, cache=True)
def _neb(bands, host, spring, fmax, max_steps, climb, fire, max_move, energies, steps_taken,
         converged):
    """Relax each band (P, n, 3) in place with FIRE; the end images stay put."""
    dt0, dt_max, n_min, f_inc, f_dec, alpha0, f_alpha = fire
    n = bands.shape[1]
    grad = np.zeros((n, 3))
    forces = np.zeros((n, 3))
    velocity = np.zeros((n, 3))
    e = np.empty(n)
    work = point_workspace(host, True)
    for p in range(bands.shape[0]):
        x = bands[p]
        for i in (0, n - 1):
            e[i] = point_energy(x[i, 0], x[i, 1], x[i, 2], host, work)[0]
        velocity[:] = 0.0
        dt = dt0
        alpha = alpha0
        positive = 0
        done = False
        step = 0
        while step <= max_steps:
            for i in range(1, n - 1):
                e[i], grad[i, 0], grad[i, 1], grad[i, 2] = point_energy(
                    x[i, 0], x[i, 1], x[i, 2], host, work)
            worst, top = _neb_forces(x, e, grad, spring, climb, forces)
            if worst < fmax:
                done = True
                break
            if step == max_steps:
                break
            step += 1
            power = 0.0
            vv = 0.0
            ff = 0.0
            for i in range(1, n - 1):
                for c in range(3):
                    power += forces[i, c] * velocity[i, c]
                    vv += velocity[i, c] ** 2
                    ff += forces[i, c] ** 2
            if power > 0.0:
                mix = alpha * math.sqrt(vv / max(ff, 1e-300))
                for i in range(1, n - 1):
                    for c in range(3):
                        velocity[i, c] = (1.0 - alpha) * velocity[i, c] + mix * forces[i, c]
                positive += 1
                if positive > n_min:
                    dt = min(dt * f_inc, dt_max)
                    alpha *= f_alpha
            else:
                velocity[:] = 0.0
                dt *= f_dec
                alpha = alpha0
                positive = 0
            for i in range(1, n - 1):
                move2 = 0.0
                for c in range(3):
                    velocity[i, c] += dt * forces[i, c]
                    move2 += (dt * velocity[i, c]) ** 2
                scale = min(1.0, max_move / max(math.sqrt(move2), 1e-300))
                for c in range(3):
                    x[i, c] += scale * dt * velocity[i, c]
        for i in range(n):
            energies[p, i] = e[i]
        steps_taken[p] = step
        converged[p] = done


# --------------------------------------------------------------------------- driver


def candidate_pairs(sites: Sites, hop_distance: float):
    """(i, j, shift) of every pair of sites (periodic images apart) closer than ``hop_distance``,
    each once: i < j, or i == j with the first nonzero component of the shift positive."""
    atoms = Atoms(numbers=np.zeros(len(sites), int), positions=sites.positions, cell=sites.cell,
                  pbc=True)
    nl = neighbor_list(atoms, hop_distance)
    i, j = nl.pairs()
    shifts = nl.shifts
    first = np.where(shifts[:, 0] != 0, shifts[:, 0], np.where(shifts[:, 1] != 0, shifts[:, 1],
                                                                shifts[:, 2]))
    keep = (i < j) | ((i == j) & (first > 0))
    order = np.lexsort((shifts[keep, 2], shifts[keep, 1], shifts[keep, 0], j[keep], i[keep]))
    return i[keep][order], j[keep][order], np.ascontiguousarray(shifts[keep][order])


def _directions(grid: EnergyGrid) -> tuple[np.ndarray, np.ndarray]:
    """The 26 grid steps and their lengths (Å)."""
    steps = np.array([d for d in np.ndindex(3, 3, 3) if d != (1, 1, 1)], np.int64) - 1
    lengths = np.linalg.norm((steps / np.array(grid.shape)) @ grid.cell, axis=1)
    return steps, lengths


def _initial_bands(grid, sites, i, j, shifts, hop_distance, n_images, progress, cancel):
    """Bands of ``n_images`` along the lowest grid path of each pair (ends on the sites), whether
    that path crosses the basin of a third site (when the grid knows its basins), and its pass
    (the highest grid energy on it, eV)."""
    shape = np.array(grid.shape)
    cell = grid.cell
    inv = np.linalg.inv(cell)
    heights = 1.0 / np.linalg.norm(inv, axis=0)
    reach = np.ceil((hop_distance + 0.5 * SEARCH_MARGIN) * shape / heights).astype(np.int64) + 1
    directions, lengths = _directions(grid)
    nodes = np.round(sites.positions @ inv * shape).astype(np.int64)
    bands = np.empty((len(i), n_images, 3))
    indirect = np.zeros(len(i), bool)
    passes = np.empty(len(i))
    starts = np.flatnonzero(np.r_[True, i[1:] != i[:-1]])
    stops = np.r_[starts[1:], len(i)]
    for a, b in chunked(len(starts), CHUNK_SOURCES, progress, cancel, "lowest grid paths"):
        for lo, hi in zip(starts[a:b], stops[a:b]):
            source = i[lo]
            ends = sites.positions[j[lo:hi]] + shifts[lo:hi] @ cell
            targets = np.round(ends @ inv * shape).astype(np.int64) - nodes[source]
            foci = np.vstack([sites.positions[source], ends])
            indptr, offsets, passes[lo:hi] = _grid_paths(grid.energies, cell, nodes[source],
                                                         targets, foci, reach, directions,
                                                         lengths, SEARCH_MARGIN)
            for t in range(hi - lo):
                route = nodes[source] + offsets[indptr[t]:indptr[t + 1]]
                if grid.basins is not None and len(route) > 2:
                    wrapped = route[1:-1] % shape
                    labels = grid.basins[wrapped[:, 0], wrapped[:, 1], wrapped[:, 2]]
                    indirect[lo + t] = bool(np.any((labels >= 0) & (labels != source)
                                                   & (labels != j[lo + t])))
                polyline = np.vstack([sites.positions[source], (route[1:-1] / shape) @ cell,
                                      ends[t]])
                bands[lo + t] = _resample(polyline, n_images)
    return bands, indirect, passes


def _through_other_site(band, energies, sites, ends, tolerance):
    """Whether the relaxed band dips into a minimum at a site other than its own two ends."""
    inner = np.arange(1, len(energies) - 1)
    dips = inner[(energies[inner] < energies[inner - 1]) & (energies[inner] <= energies[inner + 1])]
    if len(dips) == 0:
        return False
    inv = np.linalg.inv(sites.cell)
    for k in dips:
        delta = (sites.positions - band[k]) @ inv
        delta = (delta - np.round(delta)) @ sites.cell
        nearest = np.linalg.norm(delta, axis=1).min()
        own = np.linalg.norm(ends - band[k], axis=1).min()
        if nearest < tolerance and nearest < own - 1e-9:
            return True
    return False


def find_paths(potential: HostPotential, sites: Sites, params: PathParams = PathParams(), *,
               grid: Optional[EnergyGrid] = None, progress: Optional[ProgressFn] = None,
               cancel: Optional[CancelFn] = None) -> Paths:
    """Minimum-energy paths between all pairs of ``sites`` within ``params.hop_distance``.

    ``grid`` is the energy grid of the site search (it seeds the bands and knows the sites'
    basins); without it one is computed at 0.3 Å. Pairs whose path runs through a third site
    or climbs more than ``params.barrier_max`` are left out.
    """
    params.validate()
    require(len(sites) >= 1, "sites", "there are no sites to join")
    require(np.allclose(sites.cell, potential.cell), "sites",
            "the sites were found in another cell than the potential's host")
    require(grid is None or np.allclose(grid.cell, potential.cell), "grid",
            "the energy grid belongs to another cell than the potential's host")
    if grid is None:
        grid = energy_grid(potential, 0.3, progress=sub_progress(progress, 0.0, 0.2),
                           cancel=cancel)
        progress = sub_progress(progress, 0.2, 1.0)
    i, j, shifts = candidate_pairs(sites, params.hop_distance)
    n_images = int(params.n_images)
    if len(i) == 0:
        empty = np.zeros((0, n_images))
        report(progress, 1.0, "no two sites within the hop distance")
        return Paths(np.zeros((0, 2), np.int64), np.zeros((0, 3), np.int64), np.zeros(0),
                     np.zeros((0, n_images, 3)), empty, np.zeros(0, bool))
    bands, indirect, passes = _initial_bands(grid, sites, i, j, shifts, params.hop_distance,
                                             n_images, sub_progress(progress, 0.0, 0.2), cancel)
    blocked = passes > np.maximum(sites.energies[i], sites.energies[j]) + params.barrier_max
    # only the direct, passable pairs get a band; a band that still dips into another site ran
    # through it
    direct = np.flatnonzero(~indirect & ~blocked)
    bands, i, j, shifts = bands[direct], i[direct], j[direct], shifts[direct]
    energies = np.empty((len(i), n_images))
    steps = np.empty(len(i), np.int64)
    converged = np.empty(len(i), np.bool_)
    for a, b in chunked(len(i), CHUNK_PATHS, sub_progress(progress, 0.2, 1.0), cancel,
                        "nudged elastic bands"):
        _neb(bands[a:b], potential._kernel_host, float(params.spring), float(params.fmax),
             int(params.max_steps), bool(params.climb), _FIRE, MAX_IMAGE_MOVE,
             energies[a:b], steps[a:b], converged[a:b])
    keep = np.ones(len(i), bool)
    spacing = np.linalg.norm(np.diff(bands, axis=1), axis=2).max(axis=1)
    for k in range(len(i)):
        keep[k] = not _through_other_site(bands[k], energies[k], sites, bands[k, [0, -1]],
                                          spacing[k])
    # The band's ends are the sites, but their energies come from another kernel call (with or
    # without forces): rounding may put the highest image a hair below a site; never below it.
    saddles = np.maximum(energies.max(axis=1), np.maximum(sites.energies[i], sites.energies[j]))
    paths = Paths(np.column_stack([i, j])[keep], shifts[keep], saddles[keep],
                  bands[keep], energies[keep], converged[keep], int(len(indirect)),
                  int(indirect.sum() + (~keep).sum()), int((blocked & ~indirect).sum()))
    for array in (paths.edges, paths.shifts, paths.saddles, paths.images, paths.energies,
                  paths.converged):
        array.flags.writeable = False
    report(progress, 1.0, f"{len(paths)} hops ({int((~paths.converged).sum())} not converged)")
    return paths


def build_network(host: Atoms, params: LandscapeParams = LandscapeParams(),
                  progress: Optional[ProgressFn] = None,
                  cancel: Optional[CancelFn] = None,
                  potential: Optional[HostPotential] = None) -> tuple[Sites, Paths, HopNetwork]:
    """Sites, paths and the KMC hop network of one mobile atom in a frozen ``host``, on UFF or
    on ``potential`` (a trained :class:`~.surrogate.SurrogatePotential` of that host).

    Sites without any hop are left out (a walker there could never leave), so the returned
    sites, the paths' edges and the network's sites are numbered alike.
    """
    if params is None:
        params = LandscapeParams()
    require(isinstance(params, LandscapeParams), "params",
            f"needs LandscapeParams, got {type(params).__name__}")
    params.validate()
    potential = landscape_potential(host, params.sites, potential, cancel)
    sites, grid = search_sites(potential, params.sites, progress=sub_progress(progress, 0.0, 0.3),
                               cancel=cancel)
    paths = find_paths(potential, sites, params.paths, grid=grid,
                       progress=sub_progress(progress, 0.3, 1.0), cancel=cancel)
    return hop_network(sites, paths, params.paths.hop_distance, params.paths.merge_barrier)


def hop_network(sites: Sites, paths: Paths, hop_distance: Optional[float] = None,
                merge_barrier: float = 0.0) -> tuple[Sites, Paths, HopNetwork]:
    """The KMC network of ``paths``: sites joined by a barrier below ``merge_barrier`` (eV) made
    one (:func:`~.merging.merge_minima`), the sites that have no hop left out and the rest (and
    the paths' edges) renumbered to match it."""
    from .merging import merge_minima

    if len(paths) == 0:
        within = "" if hop_distance is None else f" within {hop_distance:g} Å"
        raise ParameterError("hop_distance", f"no two of the {len(sites)} sites are joined by a "
                             f"hop{within}: raise hop_distance")
    merged = merge_minima(sites, paths, merge_barrier)
    sites, paths = merged.sites, merged.paths
    used = np.unique(paths.edges)
    number = np.full(len(sites), -1, np.int64)
    number[used] = np.arange(len(used))
    sites = sites.subset(used)
    edges = number[paths.edges]
    edges.flags.writeable = False
    paths = dataclasses.replace(paths, edges=edges)
    owner = number[merged.owner]
    kept = owner >= 0
    substates = (owner[kept], merged.energies[kept]) if merged.n_merged else None
    network = HopNetwork.from_saddles(sites.positions, sites.energies, paths.edges,
                                      paths.saddles, cell=sites.cell, shifts=paths.shifts,
                                      substates=substates, merge_barrier=merge_barrier)
    return sites, paths, network


def warm_up() -> None:
    """Compile (or load from cache) the grid-path and NEB kernels on a one-cell fcc host."""
    from ase.build import bulk

    build_network(bulk("Ag", "fcc", a=4.09, cubic=True),
                  LandscapeParams(SiteSearchParams(element="Li", spacing=0.5, cutoff=3.0),
                                  PathParams(max_steps=20)))

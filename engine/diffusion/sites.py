"""Every metastable site of the mobile atom in the cell: the local minima of its energy.

A periodic grid of energies finds every basin wider than the grid spacing: a grid point lower
than its 26 neighbours lies in a basin, and a local minimiser (L-BFGS on the analytic gradient,
in numba) walks from it to the basin's bottom. Several grid points of one basin end on the same
minimum, so minima closer than ``merge_distance`` (periodic images included) are merged, the
lowest kept. A minimiser can stall on a saddle when started exactly on a symmetry plane; the
finite-difference Hessian catches that and the walk goes on down the negative curvature.
Units: Å, eV.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional

import numpy as np
from ase import Atoms
from numba import njit

from ..errors import ParameterError, require
from ..neighbors import neighbor_list
from ..tasks import CancelFn, ProgressFn, report, sub_progress
from .potential import (DEFAULT_CUTOFF, HostPotential, _evaluate, finite_number, in_threads,
                        point_energy, point_workspace, uff_element)

#: Grid points per kernel call between progress/cancel checks (~0.1 s with the SOAP model).
CHUNK_GRID = 8192
#: Minimisations per kernel call between progress/cancel checks (at most 8 × 500 L-BFGS steps:
#: usually ~0.02 s with the SOAP model, 0.8 s for 8 random starts that run all 500 steps with
#: long line searches; 64 took 0.74 s to stop after Cancel).
CHUNK_MINIMA = 8
#: Grid points per call of the grid-wide descent kernels (steepest neighbour, basin labels)
#: between cancel checks: the largest grid (5·10⁷ points, a 192k-atom a-SiO2 host at 0.4 Å) took
#: 3 s and 5 s in one call each; a million points is ~0.1 s.
CHUNK_DESCENT = 1_000_000
#: Largest energy grid (points): 400 MB of float64.
MAX_GRID_POINTS = 50_000_000
#: A minimum is converged when its gradient is below this (eV/Å).
GRADIENT_TOLERANCE = 1e-7
#: Longest L-BFGS step (Å): a walk should stay in the basin it started in.
MAX_MOVE = 0.2
#: Finite-difference step for the Hessian (Å).
HESSIAN_STEP = 1e-4


class NoSiteError(ParameterError):
    """No minimum of the mobile atom lies below the energy ceiling: it does not fit in the host.

    Carries what a caller needs to say what to change: the ``element``, the ceiling
    ``energy_max`` and the ``lowest`` minimum found (eV)."""

    def __init__(self, element: str, energy_max: float, lowest: float):
        self.element, self.energy_max, self.lowest = str(element), float(energy_max), float(lowest)
        super().__init__("energy_max", f"no site for {element} in this host below {energy_max:g} "
                         f"eV (the lowest minimum is {lowest:.4g} eV): the atom does not fit; "
                         "raise energy_max or choose a smaller atom")

    def __reduce__(self):
        return (type(self), (self.element, self.energy_max, self.lowest))


@dataclass(frozen=True)
class SiteSearchParams:
    """Sites of one ``element`` atom: grid ``spacing`` (Å), minima up to ``energy_max`` (eV, the
    atom far from the host is 0), minima closer than ``merge_distance`` (Å) are one site, pair
    sum ``cutoff`` (Å)."""

    element: str = "Cu"
    spacing: float = 0.3
    energy_max: float = 1.0
    merge_distance: float = 0.3
    cutoff: float = DEFAULT_CUTOFF

    def validate(self) -> None:
        uff_element(self.element)
        require(finite_number(self.spacing) and 0.02 <= self.spacing <= 2.0, "spacing",
                f"needs a grid spacing between 0.02 and 2 Å, got {self.spacing!r}")
        require(finite_number(self.energy_max), "energy_max",
                f"needs an energy ceiling in eV, got {self.energy_max!r}")
        require(finite_number(self.merge_distance) and 0.0 < self.merge_distance <= 2.0,
                "merge_distance",
                f"needs a distance between 0 and 2 Å, got {self.merge_distance!r}")
        require(finite_number(self.cutoff) and 0.5 <= self.cutoff <= 30.0, "cutoff",
                f"needs a cutoff between 0.5 and 30 Å, got {self.cutoff!r}")


@dataclass(frozen=True)
class EnergyGrid:
    """Energies (eV) at the fractional points (i/n₀, j/n₁, k/n₂) of the cell (rows: vectors).

    ``basins`` (same shape, from a site search) numbers the site each point drains to by steepest
    descent on the grid, −1 where that minimum is no site (above the ceiling).
    """

    energies: np.ndarray
    cell: np.ndarray
    basins: Optional[np.ndarray] = None

    @property
    def shape(self) -> tuple[int, int, int]:
        return self.energies.shape

    def positions(self, index) -> np.ndarray:
        """Cartesian positions (Å) of grid points given as (m, 3) integer indices."""
        return (np.asarray(index, dtype=np.float64) / np.array(self.shape)) @ self.cell


@dataclass(frozen=True)
class Sites:
    """Minima of the mobile atom's energy: ``positions`` (n, 3) Å inside the cell, ``energies``
    (n,) eV, sorted by energy, and the Hessian's eigenvalues there (n, 3) eV/Å², all positive."""

    positions: np.ndarray
    energies: np.ndarray
    curvatures: np.ndarray
    element: str
    cell: np.ndarray

    def __len__(self) -> int:
        return len(self.energies)

    def subset(self, keep) -> "Sites":
        """The sites ``keep`` (indices or a mask), in that order."""
        sites = Sites(self.positions[keep], self.energies[keep], self.curvatures[keep],
                      self.element, self.cell)
        for array in (sites.positions, sites.energies, sites.curvatures):
            array.flags.writeable = False
        return sites


# --------------------------------------------------------------------------- kernels


@njit(nogil=True, cache=True)
def _grid_energies(shape, cell, start, stop, host, out):
    """Energies of the flat grid points ``start:stop`` (C order) into ``out``."""
    n1, n2 = shape[1], shape[2]
    points = np.empty((stop - start, 3))
    for p in range(start, stop):
        i = p // (n1 * n2)
        j = (p // n2) % n1
        k = p % n2
        f0 = i / shape[0]
        f1 = j / n1
        f2 = k / n2
        x = f0 * cell[0, 0] + f1 * cell[1, 0] + f2 * cell[2, 0]
        y = f0 * cell[0, 1] + f1 * cell[1, 1] + f2 * cell[2, 1]
        z = f0 * cell[0, 2] + f1 * cell[1, 2] + f2 * cell[2, 2]
        points[p - start, 0] = x
        points[p - start, 1] = y
        points[p - start, 2] = z
    _evaluate(points, host, out, points[:0], False)


def steepest_neighbours(energies, progress: Optional[ProgressFn] = None,
                        cancel: Optional[CancelFn] = None) -> np.ndarray:
    """Flat index of the lowest of each grid point and its 26 periodic neighbours (the grid's
    steepest descent), in slabs of the first axis so that ``cancel`` is heard on big grids."""
    down = np.empty(energies.size, np.int64)
    rows = max(1, CHUNK_DESCENT // max(energies.shape[1] * energies.shape[2], 1))
    in_threads(energies.shape[0], rows,
               lambda start, stop: _steepest_neighbours(energies, start, stop, down),
               progress, cancel, "grid minima")
    return down


def _grid_minima(energies, ceiling, cancel: Optional[CancelFn] = None, down=None):
    """Flat indices of the grid points up to ``ceiling`` that precede all 26 periodic neighbours
    in the order (energy, flat index): the points whose steepest neighbour is themselves, so a
    plateau of equal energies still gives one minimum. ``down``: :func:`steepest_neighbours`,
    if already computed."""
    if down is None:
        down = steepest_neighbours(energies, cancel=cancel)
    own = np.flatnonzero(down == np.arange(energies.size))
    return own[energies.reshape(-1)[own] <= ceiling]


@njit(nogil=True, cache=True)
def _steepest_neighbours(energies, start, stop, down):
    """Flat index of the lowest of each point of the slab ``start:stop`` (first axis) and its 26
    periodic neighbours, in the order (energy, flat index): a grid minimum points to itself."""
    n0, n1, n2 = energies.shape
    for i in range(start, stop):
        for j in range(n1):
            for k in range(n2):
                best = (i * n1 + j) * n2 + k
                low = energies[i, j, k]
                for di in range(-1, 2):
                    a = (i + di) % n0
                    for dj in range(-1, 2):
                        b = (j + dj) % n1
                        for dk in range(-1, 2):
                            c = (k + dk) % n2
                            other = (a * n1 + b) * n2 + c
                            f = energies[a, b, c]
                            if f < low or (f == low and other < best):
                                low = f
                                best = other
                down[(i * n1 + j) * n2 + k] = best


@njit(nogil=True, cache=True)
def _follow(down, label_of_minimum, labels, start, stop):
    """Label of the grid minimum each point ``start:stop``'s steepest-descent chain ends in."""
    for p in range(start, stop):
        q = p
        while down[q] != q:
            q = down[q]
        labels[p] = label_of_minimum[q]


def basins(energies: np.ndarray, minima: np.ndarray, site_of_minimum: np.ndarray,
           cancel: Optional[CancelFn] = None, down=None) -> np.ndarray:
    """For every grid point, the site (``site_of_minimum`` of the grid minimum ``minima``, flat
    indices) its steepest descent on the grid drains to; −1 for a minimum that is no site.
    ``down``: :func:`steepest_neighbours`, if already computed."""
    if down is None:
        down = steepest_neighbours(energies, cancel=cancel)
    label_of_minimum = np.full(energies.size, -1, np.int64)
    label_of_minimum[minima] = site_of_minimum
    labels = np.empty(energies.size, np.int64)
    in_threads(energies.size, CHUNK_DESCENT,
               lambda start, stop: _follow(down, label_of_minimum, labels, start, stop),
               None, cancel, "basins")
    return labels.reshape(energies.shape)


@njit(nogil=True, cache=True)
def _dot(a, b):
    return a[0] * b[0] + a[1] * b[1] + a[2] * b[2]


@njit(nogil=True, cache=True)
def _minimise(points, host, gtol, max_steps, max_move, out, energies, gnorm):
    """L-BFGS (6 pairs) with a backtracking Armijo search, each point on its own, in place.

    Steps are capped at ``max_move`` Å so a walk stays in its basin; the first step is a trial
    of half that along −∇E, and later ones are scaled by sᵀy/yᵀy of the latest pair.
    """
    m = 6
    S = np.zeros((m, 3))
    Y = np.zeros((m, 3))
    rho = np.zeros(m)
    alpha = np.zeros(m)
    x = np.empty(3)
    g = np.empty(3)
    q = np.empty(3)
    xn = np.empty(3)
    gn = np.empty(3)
    work = point_workspace(host, True)
    for p in range(points.shape[0]):
        for c in range(3):
            x[c] = points[p, c]
        e, g[0], g[1], g[2] = point_energy(x[0], x[1], x[2], host, work)
        stored = 0
        head = 0
        for _ in range(max_steps):
            norm = math.sqrt(_dot(g, g))
            if norm < gtol:
                break
            for c in range(3):
                q[c] = g[c]
            for t in range(stored):
                s = (head - 1 - t) % m
                alpha[s] = rho[s] * _dot(S[s], q)
                for c in range(3):
                    q[c] -= alpha[s] * Y[s, c]
            if stored > 0:
                last = (head - 1) % m
                gamma = _dot(S[last], Y[last]) / _dot(Y[last], Y[last])
            else:
                gamma = 0.5 * max_move / norm
            for c in range(3):
                q[c] *= gamma
            for t in range(stored - 1, -1, -1):
                s = (head - 1 - t) % m
                beta = rho[s] * _dot(Y[s], q)
                for c in range(3):
                    q[c] += S[s, c] * (alpha[s] - beta)
            slope = -_dot(q, g)  # direction d = −q
            if not slope < 0.0:  # not downhill: forget the curvature pairs
                stored = 0
                for c in range(3):
                    q[c] = g[c] * 0.5 * max_move / norm
                slope = -_dot(q, g)
            length = math.sqrt(_dot(q, q))
            if length > max_move:
                for c in range(3):
                    q[c] *= max_move / length
                slope *= max_move / length
            step = 1.0
            accepted = False
            for _ in range(40):
                for c in range(3):
                    xn[c] = x[c] - step * q[c]
                en, gn[0], gn[1], gn[2] = point_energy(xn[0], xn[1], xn[2], host, work)
                if en <= e + 1e-4 * step * slope:
                    accepted = True
                    break
                step *= 0.5
            if not accepted:  # no decrease left above rounding: as low as it gets
                break
            sy = 0.0
            for c in range(3):
                S[head, c] = xn[c] - x[c]
                Y[head, c] = gn[c] - g[c]
                sy += S[head, c] * Y[head, c]
            if sy > 1e-300:
                rho[head] = 1.0 / sy
                head = (head + 1) % m
                stored = min(stored + 1, m)
            moved = math.sqrt(_dot(S[(head - 1) % m], S[(head - 1) % m])) if sy > 1e-300 else 1.0
            for c in range(3):
                x[c] = xn[c]
                g[c] = gn[c]
            e = en
            if moved < 1e-12:
                break
        for c in range(3):
            out[p, c] = x[c]
        energies[p] = e
        gnorm[p] = math.sqrt(_dot(g, g))


# --------------------------------------------------------------------------- steps


def grid_shape(cell: np.ndarray, spacing: float) -> tuple[int, int, int]:
    """Points along each lattice vector so that neighbours are at most ``spacing`` apart."""
    lengths = np.linalg.norm(cell, axis=1)
    shape = tuple(int(max(math.ceil(length / spacing - 1e-9), 4)) for length in lengths)
    total = int(np.prod(shape, dtype=np.float64))
    require(total <= MAX_GRID_POINTS, "spacing",
            f"a {spacing:g} Å grid of this cell has {total:,} points (at most "
            f"{MAX_GRID_POINTS:,}): use a coarser spacing")
    return shape


def energy_grid(potential: HostPotential, spacing: float = 0.3, *,
                progress: Optional[ProgressFn] = None,
                cancel: Optional[CancelFn] = None) -> EnergyGrid:
    """The mobile atom's energy on a periodic grid of the cell, at most ``spacing`` Å apart."""
    shape = grid_shape(potential.cell, spacing)
    flat = np.empty(int(np.prod(shape)))
    in_threads(len(flat), CHUNK_GRID,
               lambda start, stop: _grid_energies(np.array(shape, np.int64), potential.cell,
                                                  start, stop, potential._kernel_host,
                                                  flat[start:stop]),
               progress, cancel, "energy grid")
    grid = flat.reshape(shape)
    grid.flags.writeable = False
    return EnergyGrid(grid, potential.cell)


def minimise(potential: HostPotential, points, *, max_steps: int = 500,
             progress: Optional[ProgressFn] = None,
             cancel: Optional[CancelFn] = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Local minima reached from (m, 3) starting points: (positions, energies, |gradient|)."""
    points = np.ascontiguousarray(points, dtype=np.float64).reshape(-1, 3)
    out = np.empty_like(points)
    energies = np.empty(len(points))
    gnorm = np.empty(len(points))
    in_threads(len(points), CHUNK_MINIMA,
               lambda start, stop: _minimise(points[start:stop], potential._kernel_host,
                                             GRADIENT_TOLERANCE, max_steps, MAX_MOVE,
                                             out[start:stop], energies[start:stop],
                                             gnorm[start:stop]),
               progress, cancel, "minimising")
    return out, energies, gnorm


def hessians(potential: HostPotential, points, cancel: Optional[CancelFn] = None) -> np.ndarray:
    """(m, 3, 3) Hessians (eV/Å²) by central differences of the analytic gradient (six gradients
    a point, in chunks that ask ``cancel``: 5·10⁴ grid minima of a 192k-atom host took ~1 s)."""
    points = np.asarray(points, dtype=np.float64).reshape(-1, 3)
    steps = np.eye(3) * HESSIAN_STEP
    shifted = np.concatenate([points[:, None, :] + steps, points[:, None, :] - steps], axis=1)
    _, grad = potential.energy_and_gradient(shifted.reshape(-1, 3), cancel=cancel)
    grad = grad.reshape(len(points), 2, 3, 3)
    h = (grad[:, 0] - grad[:, 1]) / (2.0 * HESSIAN_STEP)  # h[:, d] = ∂∇E/∂x_d
    return 0.5 * (h + h.transpose(0, 2, 1))


def _descend_from_saddles(potential, positions, energies, gnorm, rounds=3, cancel=None):
    """Push points whose Hessian has a negative eigenvalue down that direction and minimise
    again (a walk started on a symmetry plane can stop on a saddle). Returns the eigenvalues."""
    for round_ in range(rounds + 1):
        eigenvalues, vectors = np.linalg.eigh(hessians(potential, positions, cancel))
        bad = np.flatnonzero(eigenvalues[:, 0] <= 0.0)
        if len(bad) == 0 or round_ == rounds:
            return eigenvalues
        push = positions[bad] + 0.5 * MAX_MOVE * vectors[bad, :, 0]
        positions[bad], energies[bad], gnorm[bad] = minimise(potential, push, cancel=cancel)


def merge_sites(positions, energies, cell, distance: float) -> tuple[np.ndarray, np.ndarray]:
    """Points closer than ``distance`` (periodic) are one site, the lowest of each group kept.

    Greedy in ascending energy. Returns the indices of the kept points (sorted by energy) and,
    for every point, the number of the kept point it went into.
    """
    order = np.argsort(energies, kind="stable")
    atoms = Atoms(numbers=np.zeros(len(order), int), positions=positions[order], cell=cell,
                  pbc=True)
    nl = neighbor_list(atoms, distance)
    owner_sorted = np.full(len(order), -1, np.int64)
    keep = []
    for k in range(len(order)):  # ascending energy: the lowest of a cluster comes first
        if owner_sorted[k] >= 0:
            continue
        near = nl.indices[nl.indptr[k]:nl.indptr[k + 1]]
        owner_sorted[near[owner_sorted[near] < 0]] = len(keep)
        owner_sorted[k] = len(keep)
        keep.append(k)
    owner = np.empty(len(order), np.int64)
    owner[order] = owner_sorted
    return order[np.array(keep, dtype=np.int64)], owner


def search_sites(potential: HostPotential, params: SiteSearchParams, *,
                 progress: Optional[ProgressFn] = None,
                 cancel: Optional[CancelFn] = None) -> tuple[Sites, EnergyGrid]:
    """The sites of ``potential``'s mobile atom and the energy grid they came from."""
    params.validate()
    grid = energy_grid(potential, params.spacing, progress=sub_progress(progress, 0.0, 0.75),
                       cancel=cancel)
    # one descent pass gives the seeds and, below, the basins
    down = steepest_neighbours(grid.energies, sub_progress(progress, 0.75, 0.8), cancel)
    # every grid minimum is walked down: one just above the ceiling may lead below it
    seeds = _grid_minima(grid.energies, np.inf, down=down)
    index = np.column_stack(np.unravel_index(seeds, grid.shape))
    start = grid.positions(index)
    positions, energies, gnorm = minimise(potential, start,
                                          progress=sub_progress(progress, 0.8, 0.95),
                                          cancel=cancel)
    curvatures = _descend_from_saddles(potential, positions, energies, gnorm, cancel=cancel)
    ok = (energies <= params.energy_max) & (curvatures[:, 0] > 0.0)
    if not ok.any():
        raise NoSiteError(potential.element, params.energy_max, float(energies.min()))
    positions, energies, curvatures = positions[ok], energies[ok], curvatures[ok]
    positions = potential.wrap(positions)
    keep, owner = merge_sites(positions, energies, potential.cell, params.merge_distance)
    seed_site = np.full(len(seeds), -1, np.int64)
    seed_site[ok] = owner
    sites = Sites(positions[keep], energies[keep], curvatures[keep], potential.element,
                  potential.cell)
    grid = EnergyGrid(grid.energies, grid.cell,
                      basins(grid.energies, seeds, seed_site, cancel, down))
    for array in (sites.positions, sites.energies, sites.curvatures, grid.basins):
        array.flags.writeable = False
    report(progress, 1.0, f"{len(keep)} sites for {potential.element}")
    return sites, grid


def find_sites(host: Atoms, params: SiteSearchParams = SiteSearchParams(),
               progress: Optional[ProgressFn] = None,
               cancel: Optional[CancelFn] = None, potential: Optional[HostPotential] = None
               ) -> Sites:
    """All local minima below ``params.energy_max`` of one ``params.element`` atom in ``host``,
    on UFF or on ``potential`` (a trained surrogate of that host)."""
    params.validate()
    return search_sites(landscape_potential(host, params, potential, cancel), params,
                        progress=progress, cancel=cancel)[0]


def landscape_potential(host: Atoms, params: SiteSearchParams,
                        potential: Optional[HostPotential] = None,
                        cancel: Optional[CancelFn] = None) -> HostPotential:
    """``potential`` after checking it belongs to ``host`` and ``params.element``; UFF if None
    (its set-up asks ``cancel``: a second on a host of 2·10⁵ atoms)."""
    if potential is None:
        return HostPotential(host, params.element, params.cutoff, cancel=cancel)
    require(isinstance(potential, HostPotential), "potential",
            f"needs a HostPotential or SurrogatePotential, got {type(potential).__name__}")
    require(potential.element == uff_element(params.element), "potential",
            f"the potential is for {potential.element}, the search for {params.element}")
    same = (len(host) == potential.n_host and np.allclose(host.cell.array, potential.cell)
            and np.allclose(host.positions, potential.host_positions))
    require(same, "potential", "the potential was made for another host (other atoms or cell)")
    return potential


def warm_up() -> None:
    """Compile (or load from cache) the grid, minimum and minimiser kernels on a tiny host."""
    from ase.build import bulk

    find_sites(bulk("Cu", "fcc", a=3.6, cubic=True),
               SiteSearchParams(element="Li", spacing=0.6, cutoff=3.0))

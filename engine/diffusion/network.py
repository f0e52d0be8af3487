"""A hop network: sites, the hops between them and their barriers, as plain arrays.

Whoever finds the sites and saddles (a site search, NEB on a surrogate potential, a lattice model
for tests) hands over positions, site energies and edges; this module checks them, turns each
undirected edge into its two hops and lays the hops out per site (CSR) for the KMC kernel.

Units: Å, eV, s, K. A hop i → j over a saddle of energy E_s has the rate
k_ij = ν·exp(−(E_s − E_i)/kT). One saddle per undirected edge gives k_ij/k_ji = exp(−(E_j − E_i)/kT)
(detailed balance by construction), so the walkers sample the Boltzmann occupation.
Directed input (each hop with its own barrier) is accepted too, and is then the caller's model.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Optional

import numpy as np

from ..errors import ParameterError, require

#: Boltzmann's constant in eV/K (CODATA 2018, exact).
KB_EV = 8.617333262e-5
#: The hottest temperature a run takes (K).
MAX_TEMPERATURE = 1e5
#: A jump vector may miss the image of its target site by this much (Å) and still count.
JUMP_TOLERANCE = 1e-3


def _as_temperature(temperature, name: str = "temperature") -> float:
    """A validated temperature in K (shared by every call that takes one); ``name`` is the
    parameter an error names (a scan's "temperatures", not the single run's field)."""
    ok = isinstance(temperature, (int, float, np.integer, np.floating)) and not isinstance(
        temperature, bool)
    shown = f"{float(temperature):g} K" if ok else repr(temperature)  # not "np.float64(0.0)"
    require(ok and np.isfinite(temperature) and 0.0 < float(temperature) <= MAX_TEMPERATURE, name,
            f"needs a temperature above 0 K (and at most 100,000 K), got {shown}")
    return float(temperature)


def _edge_name(edges: np.ndarray, k: int) -> str:
    return f"edge {k} (site {edges[k, 0]} → {edges[k, 1]})"


@dataclass(frozen=True)
class RateTable:
    """The hops of a network at one temperature, per site (CSR), as the KMC kernel reads them.

    Hops out of site i are ``indptr[i]:indptr[i+1]``; ``cumulative`` holds their running sum of
    rates (1/s) within that row, so an event is picked by a binary search and ``total[i]`` is the
    escape rate K_i of the site.
    """

    indptr: np.ndarray
    targets: np.ndarray
    jumps: np.ndarray
    cumulative: np.ndarray
    total: np.ndarray
    temperature: float
    attempt_frequency: float


class HopNetwork:
    """Sites and directed hops with their barriers; read-only once built.

    Build it with :meth:`from_barriers` or :meth:`from_saddles`. Hops are stored sorted by their
    source site: ``sources``, ``targets``, ``jumps`` (Å, unwrapped: target's image minus source),
    ``shifts`` (integer image of the target, zeros when not periodic), ``barriers`` (eV, from the
    source), and ``reverse`` (index of the opposite hop, −1 if there is none). The cell (rows are
    lattice vectors) is None for a finite, non-periodic network.

    A site may stand for several minima merged into one state (:mod:`.merging`): ``substates``
    is then (the site of each minimum, its energy), and the rates and occupation use each
    site's partition function over them (:meth:`log_partition`); None for plain sites.
    ``merge_barrier`` (eV) is the threshold the minima were merged below (0: none were).
    """

    #: Defaults, also for networks pickled before merging existed.
    substates = None
    merge_barrier = 0.0

    def __init__(self, positions, energies, cell, sources, targets, jumps, shifts, barriers,
                 reverse, substates=None, merge_barrier: float = 0.0):
        order = np.argsort(sources, kind="stable")
        where = np.empty_like(order)
        where[order] = np.arange(len(order))
        reverse = reverse[order]
        self.positions = positions
        self.energies = energies
        self.cell = cell
        self.sources = sources[order]
        self.targets = targets[order]
        self.jumps = np.ascontiguousarray(jumps[order])
        self.shifts = np.ascontiguousarray(shifts[order])
        self.barriers = barriers[order]
        self.reverse = np.where(reverse >= 0, where[np.maximum(reverse, 0)], -1)
        self.indptr = np.zeros(len(positions) + 1, np.int64)
        np.cumsum(np.bincount(self.sources, minlength=len(positions)), out=self.indptr[1:])
        if substates is not None:
            owner, minima = (np.array(a) for a in substates)
            require(owner.shape == minima.shape and len(owner) >= len(positions)
                    and bool(np.isin(np.arange(len(positions)), owner).all())
                    and bool((minima >= energies[owner] - 1e-12).all()), "substates",
                    "needs (site, energy) of every merged minimum, each site among them and "
                    "no minimum below its site")
            self.substates = (owner.astype(np.int64), minima.astype(np.float64))
        self.merge_barrier = float(merge_barrier)
        for array in (self.positions, self.energies, self.cell, self.sources, self.targets,
                      self.jumps, self.shifts, self.barriers, self.reverse, self.indptr,
                      *(self.substates or ())):
            if array is not None:
                array.flags.writeable = False

    # ------------------------------------------------------------------ construction

    @classmethod
    def from_barriers(cls, positions, edges, barriers, *, energies=None, cell=None, shifts=None,
                      jumps=None, directed: bool = False) -> "HopNetwork":
        """A network from edges and the barrier (eV) of each, seen from the edge's first site.

        Undirected (default): edge k joins ``edges[k, 0]`` = i and ``edges[k, 1]`` = j through one
        saddle at E_i + barrier; the way back has the barrier E_s − E_j. Directed: each edge is one
        hop with its own barrier. See :meth:`from_saddles` for the other arguments.
        """
        positions, energies, edges = _sites_and_edges(positions, energies, edges)
        barriers = _per_edge(barriers, len(edges), "barriers", "barrier (eV)")
        bad = np.flatnonzero(barriers < 0)
        require(len(bad) == 0, "barriers", "" if len(bad) == 0 else
                f"{_edge_name(edges, bad[0])} has the barrier {barriers[bad[0]]:g} eV; a barrier "
                "is the saddle's height above the site and cannot be negative")
        saddles = energies[edges[:, 0]] + barriers
        return cls._build(positions, energies, edges, saddles, cell, shifts, jumps, directed,
                          "barriers")

    @classmethod
    def from_saddles(cls, positions, energies, edges, saddles, *, cell=None, shifts=None,
                     jumps=None, directed: bool = False, substates=None,
                     merge_barrier: float = 0.0) -> "HopNetwork":
        """A network from site energies and the saddle energy (eV) of each edge.

        ``positions`` (n, 3) Å, ``energies`` (n,) eV, ``edges`` (m, 2) site indices. Each edge
        names where its second site lies: ``shifts`` (m, 3) integer images (needs ``cell``), or
        ``jumps`` (m, 3) Å vectors from the first site to that image; with neither, the nearest
        image (the hop must then be shorter than half the cell). ``cell`` (3, 3) Å, rows are the
        lattice vectors; None for a finite cluster. ``directed``: edge k is only the hop from
        ``edges[k, 0]`` to ``edges[k, 1]``; otherwise both ways through the same saddle.
        ``substates``, ``merge_barrier``: the minima merged into each site (see the class).
        """
        positions, energies, edges = _sites_and_edges(positions, energies, edges)
        saddles = _per_edge(saddles, len(edges), "saddles", "saddle energy (eV)")
        return cls._build(positions, energies, edges, saddles, cell, shifts, jumps, directed,
                          "saddles", substates, merge_barrier)

    @classmethod
    def _build(cls, positions, energies, edges, saddles, cell, shifts, jumps, directed, name,
               substates=None, merge_barrier=0.0):
        """Check both ends of every edge, make its hops and the periodic images."""
        cell = _checked_cell(cell)
        jumps, shifts = _resolve_images(positions, edges, cell, shifts, jumps)
        i, j = edges[:, 0], edges[:, 1]
        m = len(edges)
        low = np.flatnonzero(saddles < energies[i]) if directed else np.flatnonzero(
            saddles < np.maximum(energies[i], energies[j]))
        if len(low):
            k = low[0]
            site = i[k] if saddles[k] < energies[i[k]] else j[k]
            raise ParameterError(name, f"{_edge_name(edges, k)}: the saddle ({saddles[k]:g} eV) "
                                 f"lies below site {site} ({energies[site]:g} eV); a saddle must "
                                 "lie at or above the sites it joins")
        if directed:
            sources, targets = i, j
            barriers = saddles - energies[i]
            reverse = _match_reverse(sources, targets, shifts)
        else:
            sources = np.concatenate([i, j])
            targets = np.concatenate([j, i])
            jumps = np.concatenate([jumps, -jumps])
            shifts = np.concatenate([shifts, -shifts])
            barriers = np.concatenate([saddles - energies[i], saddles - energies[j]])
            reverse = np.concatenate([np.arange(m, 2 * m), np.arange(m)])
        exits = np.bincount(sources, minlength=len(positions))
        stuck = np.flatnonzero(exits == 0)
        require(len(stuck) == 0, "edges", "" if len(stuck) == 0 else
                f"{len(stuck)} site(s) have no hop out, first site {stuck[0]}: a walker there "
                "would stay forever; connect them or leave them out")
        return cls(positions, energies, cell, sources, targets, jumps, shifts, barriers, reverse,
                   substates, merge_barrier)

    # ------------------------------------------------------------------ properties

    @property
    def n_sites(self) -> int:
        return len(self.positions)

    @property
    def n_hops(self) -> int:
        return len(self.sources)

    @property
    def periodic(self) -> bool:
        return self.cell is not None

    @property
    def saddles(self) -> np.ndarray:
        """Saddle energy (eV) of every hop."""
        return self.energies[self.sources] + self.barriers

    @property
    def n_minima(self) -> int:
        """Energy minima behind the sites (more than sites when some were merged)."""
        return self.n_sites if self.substates is None else len(self.substates[0])

    def log_partition(self, temperature: float) -> np.ndarray:
        """ln Z_i of each site over its merged minima, Z_i = Σ_m exp(−(E_m − E_i)/kT); 0 for a
        site that is one minimum."""
        if self.substates is None:
            return np.zeros(self.n_sites)
        kT = KB_EV * _as_temperature(temperature)
        owner, minima = self.substates
        weights = np.exp(-(minima - self.energies[owner]) / kT)
        return np.log(np.bincount(owner, weights, minlength=self.n_sites))

    def rates(self, temperature: float, attempt_frequency: float = 1e13) -> np.ndarray:
        """k = ν·exp(−barrier/kT)/Z of every hop (1/s), Z the partition function of its merged
        source site (1 for a plain site): the local-equilibrium rate out of a superbasin."""
        kT = KB_EV * _as_temperature(temperature)
        effective = self.barriers + kT * self.log_partition(temperature)[self.sources]
        return float(attempt_frequency) * np.exp(-effective / kT)

    def occupation(self, temperature: float) -> np.ndarray:
        """Boltzmann occupation of the sites, ∝ Z_i·exp(−E_i/kT): the stationary state of the
        walk."""
        kT = KB_EV * _as_temperature(temperature)
        free = self.energies - kT * self.log_partition(temperature)
        w = np.exp(-(free - free.min()) / kT)
        return w / w.sum()

    def rate_table(self, temperature: float, attempt_frequency: float = 1e13) -> RateTable:
        """The CSR rate table at one temperature.

        Running sums are taken within each site's row (never across rows), so a slow hop beside
        fast ones elsewhere keeps its full precision.
        """
        rates = self.rates(temperature, attempt_frequency)
        column = np.arange(self.n_hops) - self.indptr[self.sources]
        cumulative = rates.copy()
        by_column = np.argsort(column, kind="stable")
        starts = np.searchsorted(column[by_column], np.arange(1, column.max(initial=0) + 2))
        for c in range(len(starts) - 1):
            hops = by_column[starts[c]:starts[c + 1]]
            cumulative[hops] += cumulative[hops - 1]
        total = cumulative[self.indptr[1:] - 1]
        slow = np.flatnonzero(total <= 0.0)
        if len(slow):
            lowest = self.barriers[self.indptr[slow[0]]:self.indptr[slow[0] + 1]].min()
            raise ParameterError("temperature", f"at {temperature:g} K every rate out of site "
                                 f"{slow[0]} underflows (its lowest barrier, {lowest:g} eV, is "
                                 f"{lowest / (KB_EV * temperature):.0f} kT): raise the temperature")
        return RateTable(self.indptr, self.targets, self.jumps, cumulative, total,
                         float(temperature), float(attempt_frequency))

    def mean_hop_rate(self, temperature: float, attempt_frequency: float = 1e13) -> float:
        """Hops per second of one walker at equilibrium, Σ_i p_i K_i (1/s)."""
        table = self.rate_table(temperature, attempt_frequency)
        return float(self.occupation(temperature) @ table.total)

    def __repr__(self) -> str:
        kind = "periodic" if self.periodic else "finite"
        return f"HopNetwork({self.n_sites} sites, {self.n_hops} hops, {kind})"


# ---------------------------------------------------------------------- checks


def _sites_and_edges(positions, energies, edges):
    """Positions (n, 3), energies (n,) and edges (m, 2) as checked arrays."""
    positions = np.array(positions, dtype=np.float64)  # copies: the network owns read-only arrays
    require(positions.ndim == 2 and positions.shape[1] == 3 and len(positions) >= 1, "positions",
            f"needs an (n, 3) array of site positions in Å with at least one site, got shape "
            f"{positions.shape}")
    require(bool(np.isfinite(positions).all()), "positions", "contains NaN or infinite values")
    n = len(positions)
    energies = np.zeros(n) if energies is None else np.array(energies, dtype=np.float64)
    require(energies.shape == (n,), "energies",
            f"needs one site energy (eV) per site, shape ({n},), got shape {energies.shape}")
    require(bool(np.isfinite(energies).all()), "energies", "contains NaN or infinite values")
    edges = np.asarray(edges)
    require(edges.ndim == 2 and edges.shape[1] == 2 and len(edges) >= 1, "edges",
            f"needs an (m, 2) array of site-index pairs with at least one edge, got shape "
            f"{edges.shape}")
    require(np.issubdtype(edges.dtype, np.integer), "edges",
            f"needs integer site indices, got {edges.dtype}")
    edges = edges.astype(np.int64)
    bad = np.flatnonzero((edges < 0).any(axis=1) | (edges >= n).any(axis=1))
    require(len(bad) == 0, "edges", "" if len(bad) == 0 else
            f"{_edge_name(edges, bad[0])} names a site outside 0…{n - 1}")
    return positions, energies, edges


def _per_edge(values, m: int, name: str, what: str) -> np.ndarray:
    """One finite value per edge (a scalar is broadcast)."""
    values = np.asarray(values, dtype=np.float64)
    if values.ndim == 0:
        values = np.full(m, float(values))
    require(values.shape == (m,), name, f"needs one {what} per edge, shape ({m},), got shape "
            f"{values.shape}")
    bad = np.flatnonzero(~np.isfinite(values))
    require(len(bad) == 0, name, "" if len(bad) == 0 else
            f"edge {bad[0]} has the value {values[bad[0]]}; every {what} must be a finite number")
    return values


def _checked_cell(cell) -> Optional[np.ndarray]:
    if cell is None:
        return None
    cell = np.array(cell, dtype=np.float64)
    require(cell.shape == (3, 3) and bool(np.isfinite(cell).all()), "cell",
            f"needs a 3×3 matrix of lattice vectors (rows, Å) or None, got shape {cell.shape}")
    volume = abs(np.linalg.det(cell))
    require(volume > 1e-9 * max(np.abs(cell).max(), 1.0) ** 3, "cell",
            "the lattice vectors are (nearly) coplanar: the cell has no volume")
    return cell


def _widths(cell: np.ndarray) -> np.ndarray:
    """Distances between opposite faces of the cell (Å)."""
    return 1.0 / np.linalg.norm(np.linalg.inv(cell), axis=0)


def _resolve_images(positions, edges, cell, shifts, jumps):
    """Jump vectors (m, 3) and integer image shifts (m, 3) of the edges, from whichever is given."""
    m = len(edges)
    i, j = edges[:, 0], edges[:, 1]
    require(shifts is None or jumps is None, "shifts",
            "give either image shifts or jump vectors for the edges, not both")
    if shifts is not None:
        require(cell is not None, "shifts", "image shifts need a periodic cell; without one give "
                "jump vectors or nothing")
        shifts = np.asarray(shifts)
        require(shifts.shape == (m, 3), "shifts", f"needs (m, 3) integers, shape ({m}, 3), got "
                f"shape {shifts.shape}")
        require(np.issubdtype(shifts.dtype, np.integer) or bool(
            np.all(np.isfinite(shifts)) and np.all(shifts == np.round(shifts))), "shifts",
                "image shifts must be whole numbers of cells")
        shifts = shifts.astype(np.int64)
        jumps = positions[j] + shifts @ cell - positions[i]
    elif jumps is not None:
        jumps = np.asarray(jumps, dtype=np.float64)
        require(jumps.shape == (m, 3), "jumps", f"needs (m, 3) vectors in Å, shape ({m}, 3), got "
                f"shape {jumps.shape}")
        require(bool(np.isfinite(jumps).all()), "jumps", "contains NaN or infinite values")
        if cell is None:
            shifts = np.zeros((m, 3), np.int64)
        else:
            frac = (positions[i] + jumps - positions[j]) @ np.linalg.inv(cell)
            shifts = np.round(frac).astype(np.int64)
            miss = np.linalg.norm((frac - shifts) @ cell, axis=1)
            bad = np.flatnonzero(miss > JUMP_TOLERANCE)
            require(len(bad) == 0, "jumps", "" if len(bad) == 0 else
                    f"the jump of {_edge_name(edges, bad[0])} ends {miss[bad[0]]:.3g} Å away from "
                    "every periodic image of its target site")
    elif cell is None:
        shifts = np.zeros((m, 3), np.int64)
        jumps = positions[j] - positions[i]
    else:
        frac = (positions[j] - positions[i]) @ np.linalg.inv(cell)
        shifts = -np.round(frac).astype(np.int64)
        jumps = (frac + shifts) @ cell
        length = np.linalg.norm(jumps, axis=1)
        bad = np.flatnonzero(length >= 0.5 * _widths(cell).min() - 1e-9)
        require(len(bad) == 0, "shifts", "" if len(bad) == 0 else
                f"{_edge_name(edges, bad[0])} is {length[bad[0]]:.3g} Å long, not shorter than "
                "half the cell, so its periodic image is ambiguous: give shifts or jumps")
    loops = np.flatnonzero((i == j) & ~shifts.any(axis=1))
    require(len(loops) == 0, "edges", "" if len(loops) == 0 else
            f"{_edge_name(edges, loops[0])} joins a site to itself (not to a periodic image)")
    return np.ascontiguousarray(jumps), np.ascontiguousarray(shifts)


def _match_reverse(sources, targets, shifts) -> np.ndarray:
    """For each directed hop, the index of the hop back (same pair, opposite image), or −1."""
    m = len(sources)
    forward = np.column_stack([sources, targets, shifts])
    backward = np.column_stack([targets, sources, -shifts])
    keys, ids = np.unique(np.vstack([forward, backward]), axis=0, return_inverse=True)
    ids = ids.reshape(-1)
    hop_of_key = np.full(len(keys), -1, np.int64)
    hop_of_key[ids[:m]] = np.arange(m)
    return hop_of_key[ids[m:]]


# ---------------------------------------------------------------------- test lattices


def _check_lattice(n: int, a: float) -> None:
    require(isinstance(n, (int, np.integer)) and not isinstance(n, bool) and 1 <= n <= 1000, "n",
            f"needs a whole number of sites per side between 1 and 1000, got {n!r}")
    require(np.isfinite(a) and a > 0, "a", f"needs a positive lattice spacing in Å, got {a!r}")


def _cubic_sites(n: int, a: float):
    """Positions, cell and the +x, +y, +z edges (edge 3·site + axis) of an n³ cubic lattice."""
    _check_lattice(n, a)
    idx = np.arange(n ** 3)
    grid = np.column_stack([idx // (n * n), (idx // n) % n, idx % n])
    edges, shifts = [], []
    for axis in range(3):
        step = np.zeros(3, np.int64)
        step[axis] = 1
        moved = grid + step
        shift = moved // n
        moved %= n
        edges.append(np.column_stack([idx, (moved[:, 0] * n + moved[:, 1]) * n + moved[:, 2]]))
        shifts.append(shift)
    edges = np.stack(edges, axis=1).reshape(-1, 2)
    shifts = np.stack(shifts, axis=1).reshape(-1, 3)
    return grid * float(a), np.eye(3) * (n * float(a)), edges, shifts


def simple_cubic_lattice(n: int, a: float, barrier, *, energies=None) -> HopNetwork:
    """An n×n×n periodic simple cubic lattice of spacing ``a`` (Å), hops to the 6 neighbours.

    ``barrier`` (eV) is one number or one per edge, edge 3·site + axis joining a site to its +x,
    +y or +z neighbour (site = (ix·n + iy)·n + iz).
    """
    positions, cell, edges, shifts = _cubic_sites(n, a)
    return HopNetwork.from_barriers(positions, edges, barrier, energies=energies, cell=cell,
                                    shifts=shifts)


def random_barrier_lattice(n: int, a: float, low: float = 0.2, high: float = 0.8, seed: int = 0,
                           distribution: Optional[Callable] = None) -> HopNetwork:
    """The random barrier model: a simple cubic lattice with independent symmetric barriers.

    Barriers are uniform in [low, high] eV, or ``distribution(rng, size)`` draws them (a numpy
    Generator and the number of edges, 3n³). All sites have the same energy.
    """
    _check_lattice(n, a)
    require(np.isfinite(low) and np.isfinite(high) and 0 <= low <= high, "low",
            f"needs 0 ≤ low ≤ high (eV), got low={low!r}, high={high!r}")
    rng = np.random.default_rng(seed)
    m = 3 * int(n) ** 3
    barriers = rng.uniform(low, high, m) if distribution is None else distribution(rng, m)
    return simple_cubic_lattice(n, a, barriers)

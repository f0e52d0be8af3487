"""Pair statistics: total and partial g(r), running coordination N_ab(r), G(r) and T(r).

Conventions (one histogram of ordered pairs ``n_ab[k]``, ``i`` of element a, ``j`` of element b,
``r_k <= |r_ij| < r_k + dr``, periodic images included):

* partial ``g_ab(r_k) = n_ab[k] / (N_a * rho_b * V_k)`` with ``rho_b = N_b / V`` the ideal-gas
  density of the partner species and ``V_k = 4/3 pi (r_{k+1}^3 - r_k^3)`` the exact shell volume
  (``4 pi r^2 dr`` to second order; exact shells make the histogram and its normalisation agree
  to the last digit with freud's ``density.RDF``);
* total ``g(r) = sum_ab n_ab / (N * rho * V_k) = sum_ab c_a c_b g_ab`` (every atom alike);
* running coordination ``N_ab(r_{k+1}) = sum_{k' <= k} n_ab[k'] / N_a``: the mean number of b
  atoms closer than ``r_{k+1}`` to an a atom, read at the bin's right edge;
* ``G(r) = 4 pi r rho (g_w(r) - 1)`` and ``T(r) = 4 pi r rho g_w(r)`` from the weighted total
  ``g_w = sum_ab c_a c_b b_a b_b g_ab / (sum_a c_a b_a)^2``, with coherent neutron scattering
  lengths ``b`` (see :mod:`.structure_factor`), or ``b = 1`` for ``weighting="number"``.

Without a neighbour list the pairs are streamed through a cell list straight into the histogram
(nothing is stored, so 10^5 atoms at 10 A need no 1 GB list); a given
:class:`~amorpha.engine.neighbors.NeighborList` reaching ``r_max`` is histogrammed instead.
Both count the same pairs.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional

import numpy as np
from numba import njit

from ..elements import element_types, number, symbol
from ..errors import ParameterError
from ..neighbors import NeighborList
from ..tasks import CancelFn, ProgressFn, chunked

#: Cell-list bins hold at least this many atoms on average (emptier bins cost more per bin than
#: the tests they save), and copying a candidate costs about this many tests.
_ATOMS_PER_BIN = 1.0
_COPY_COST = 3.0
#: Candidate pair tests per chunk between progress/cancel checks (~0.05 s).
_TESTS_PER_CHUNK = 30_000_000
#: Stored pairs per chunk when histogramming a neighbour list.
_PAIRS_PER_CHUNK = 20_000_000
#: Bytes the histograms and the cell-list stencil may take before a request is refused: r_max
#: 1e6 Å or 1e9 bins otherwise ended in numpy's "Unable to allocate 1.25 PiB".
MEMORY_LIMIT = 2e9


@dataclass(frozen=True)
class RdfParams:
    """``n_bins`` bins of equal width on [0, ``r_max``) Å.

    ``weighting`` chooses the weights of the total behind ``G(r)`` and ``T(r)``: "neutron"
    (coherent scattering lengths) or "number" (every atom alike, then ``g_w`` is ``g``).
    """

    r_max: float = 10.0
    n_bins: int = 200
    weighting: str = "neutron"


#: Width (Å, Gaussian σ) g(r) is smoothed over before :meth:`RdfResult.first_peak` reads its top.
PEAK_SMOOTHING = 0.03
#: The first peak is the first stretch of g above 1 + PEAK_RISE · (g_max − 1): high enough that
#: binning noise and the small shoulders of a glass stay below it, low enough for the first shell
#: of a crystal whose second shell is taller (diamond: 0.9 of it).
PEAK_RISE = 0.3


@dataclass(frozen=True)
class RdfResult:
    """Histograms on ``n_bins`` bins; partial arrays are indexed ``[a, b, k]`` in ``elements`` order."""

    edges: np.ndarray  # (n_bins + 1,) bin edges, Å
    r: np.ndarray  # (n_bins,) bin centres, Å
    g: np.ndarray  # (n_bins,) total g(r), every atom alike
    partials: np.ndarray  # (m, m, n_bins) g_ab(r)
    counts: np.ndarray  # (m, m, n_bins) int64 ordered pair counts n_ab
    coordination: np.ndarray  # (m, m, n_bins) running N_ab at edges[1:]
    total_coordination: np.ndarray  # (n_bins,) running N(r) over all atoms at edges[1:]
    g_weighted: np.ndarray  # (n_bins,) weighted total g_w(r)
    G: np.ndarray  # (n_bins,) reduced 4 pi r rho (g_w - 1), 1/Å^2
    T: np.ndarray  # (n_bins,) 4 pi r rho g_w, 1/Å^2
    elements: tuple  # (m,) symbols, by atomic number
    numbers: np.ndarray  # (m,) atomic numbers
    concentrations: np.ndarray  # (m,) atom fractions c_a
    n_atoms: int
    density: float  # atoms / Å^3
    weighting: str

    def _index(self, element) -> int:
        z = number(element) if isinstance(element, str) else int(element)
        hits = np.flatnonzero(self.numbers == z)
        if not len(hits):
            raise KeyError(f"no {symbol(z)} in this structure (it has {', '.join(self.elements)})")
        return int(hits[0])

    def partial(self, a, b) -> np.ndarray:
        """g_ab(r) for elements ``a`` (centre) and ``b`` (partner), by symbol or number."""
        return self.partials[self._index(a), self._index(b)]

    def running_coordination(self, a, b) -> np.ndarray:
        """N_ab(r) at ``edges[1:]``: mean number of b atoms within r of an a atom."""
        return self.coordination[self._index(a), self._index(b)]

    def coordination_at(self, a, b, r: float) -> float:
        """N_ab at distance ``r`` (linear between bin edges; exact on an edge)."""
        n = np.concatenate([[0.0], self.running_coordination(a, b)])
        return float(np.interp(r, self.edges, n))

    def _smoothed(self, a, b, r_min: float) -> tuple[np.ndarray, float]:
        """(g_ab smoothed over ``PEAK_SMOOTHING`` Å, -inf below ``r_min``; the bin width): single
        bins of 0.025 Å hold a few dozen pairs in a 512-atom model, too noisy to read a top from."""
        from scipy.ndimage import gaussian_filter1d

        dr = float(self.r[1] - self.r[0]) if len(self.r) > 1 else 1.0
        g = gaussian_filter1d(np.asarray(self.partial(a, b), float), PEAK_SMOOTHING / dr, mode="nearest")
        return np.where(self.r >= r_min, g, -np.inf), dr

    def _refined(self, g: np.ndarray, k: int, dr: float) -> float:
        """Bin ``k``'s centre moved to the top of the parabola through it and its two neighbours
        (the highest bin alone read 2.31 Å for a-Si whose bonds average 2.35 Å)."""
        if 0 < k < len(g) - 1 and np.isfinite(g[k - 1]):
            curvature = g[k - 1] - 2.0 * g[k] + g[k + 1]
            if curvature < 0:
                return float(self.r[k] + 0.5 * dr * (g[k - 1] - g[k + 1]) / curvature)
        return float(self.r[k])

    def first_peak(self, a, b, r_min: float = 0.0) -> float:
        """Where the first peak of g_ab at or beyond ``r_min`` is: the top of the first stretch of
        smoothed g that rises clearly above 1 (above 1 + :data:`PEAK_RISE` of the highest
        excursion), which is the bond length. The highest peak is a farther shell in many
        crystals (diamond Si–Si 3.84 Å for a bond of 2.35 Å: the second shell holds 12 atoms);
        :meth:`highest_peak` gives that one. A g that never exceeds 1 gives its highest point."""
        g, dr = self._smoothed(a, b, r_min)
        top = float(np.max(g))
        if not top > 1.0:
            return self._refined(g, int(np.argmax(g)), dr)
        above = g > 1.0 + PEAK_RISE * (top - 1.0)
        start = int(np.argmax(above))
        stop = start + int(np.argmin(above[start:])) if not above[start:].all() else len(g)
        return self._refined(g, start + int(np.argmax(g[start:stop])), dr)

    def highest_peak(self, a, b, r_min: float = 0.0) -> float:
        """Where g_ab is highest at or beyond ``r_min`` (smoothed, the top refined by a parabola):
        in a glass the first peak, in many crystals a farther shell holding more atoms."""
        g, dr = self._smoothed(a, b, r_min)
        return self._refined(g, int(np.argmax(g)), dr)

    def to_arrays(self) -> dict[str, np.ndarray]:
        """No per-atom columns: g(r) is a property of the whole structure."""
        return {}

    def to_dict(self) -> dict:
        partials = {}
        coordination = {}
        for ia, a in enumerate(self.elements):
            for ib, b in enumerate(self.elements):
                partials[f"{a}-{b}"] = self.partials[ia, ib].tolist()
                coordination[f"{a}-{b}"] = self.coordination[ia, ib].tolist()
        return {
            "r": self.r.tolist(),
            "edges": self.edges.tolist(),
            "g": self.g.tolist(),
            "partials": partials,
            "coordination": coordination,
            "total_coordination": self.total_coordination.tolist(),
            "g_weighted": self.g_weighted.tolist(),
            "G": self.G.tolist(),
            "T": self.T.tolist(),
            "elements": list(self.elements),
            "concentrations": self.concentrations.tolist(),
            "n_atoms": int(self.n_atoms),
            "density": float(self.density),
            "weighting": self.weighting,
        }


# --------------------------------------------------------------------------- kernels


@njit(nogil=True, cache=True)
def _hist_list(start, stop, indptr, indices, distances, types, n_types, inv_dr, r_max, hist):
    """Add the stored pairs of atoms ``start:stop`` with distance < r_max to ``hist[ta*m+tb, k]``."""
    n_bins = hist.shape[1]
    for i in range(start, stop):
        row = types[i] * n_types
        for p in range(indptr[i], indptr[i + 1]):
            d = distances[p]
            if d < r_max:
                hist[row + types[indices[p]], min(int(d * inv_dr), n_bins - 1)] += 1


@njit(nogil=True, cache=True)
def _hist_cells(bin_lo, bin_hi, pos, types, bin_start, nbins, stencil, cell, max_per_bin,
                r_max2, inv_dr, n_types, hist):
    """Histogram each pair of bins ``bin_lo:bin_hi`` once into ``hist[ta*m+tb, k]`` (unordered).

    ``pos``/``types`` are wrapped and sorted by bin (``bin_start`` is the CSR pointer);
    ``stencil`` is the half stencil without the zero offset, and every offset is a distinct
    periodic image even when it reaches past the cell. Per bin, the candidates of all stencil
    bins are first copied, already shifted, into one buffer, so each atom runs one long loop:
    the same bin's later atoms, then the buffer.
    """
    nx, ny, nz = nbins[0], nbins[1], nbins[2]
    n_stencil = stencil.shape[0]
    n_hist = hist.shape[1]
    size = n_stencil * max_per_bin
    bx = np.empty(size, np.float64)
    by = np.empty(size, np.float64)
    bz = np.empty(size, np.float64)
    bt = np.empty(size, np.int64)
    d2s = np.empty(size + 1, np.float64)
    ht = np.empty(size + 1, np.int64)
    last = n_hist - 1
    for c in range(bin_lo, bin_hi):
        i0, i1 = bin_start[c], bin_start[c + 1]
        if i0 == i1:
            continue
        cx = c // (ny * nz)
        cy = (c // nz) % ny
        cz = c % nz
        m = 0
        for s in range(n_stencil):
            tx = cx + stencil[s, 0]
            ty = cy + stencil[s, 1]
            tz = cz + stencil[s, 2]
            wx = tx // nx
            wy = ty // ny
            wz = tz // nz
            nb = ((tx - wx * nx) * ny + (ty - wy * ny)) * nz + (tz - wz * nz)
            sx = wx * cell[0, 0] + wy * cell[1, 0] + wz * cell[2, 0]
            sy = wx * cell[0, 1] + wy * cell[1, 1] + wz * cell[2, 1]
            sz = wx * cell[0, 2] + wy * cell[1, 2] + wz * cell[2, 2]
            for j in range(bin_start[nb], bin_start[nb + 1]):
                bx[m] = pos[j, 0] + sx
                by[m] = pos[j, 1] + sy
                bz[m] = pos[j, 2] + sz
                bt[m] = types[j]
                m += 1
        for i in range(i0, i1):
            xi, yi, zi = pos[i, 0], pos[i, 1], pos[i, 2]
            row = types[i] * n_types
            # Branch-free: every candidate is written, the count advances only for hits (a
            # test that fails half the time would stall on mispredicted branches).
            nh = 0
            for q in range(m):
                dx = bx[q] - xi
                dy = by[q] - yi
                dz = bz[q] - zi
                d2 = dx * dx + dy * dy + dz * dz
                d2s[nh] = d2
                ht[nh] = bt[q]
                nh += d2 < r_max2
            for h in range(nh):
                k = min(int(math.sqrt(d2s[h]) * inv_dr), last)
                hist[row + ht[h], k] += 1
            for j in range(i + 1, i1):
                dx = pos[j, 0] - xi
                dy = pos[j, 1] - yi
                dz = pos[j, 2] - zi
                d2 = dx * dx + dy * dy + dz * dz
                if d2 < r_max2:
                    hist[row + types[j], min(int(math.sqrt(d2) * inv_dr), last)] += 1


@njit(nogil=True, cache=True)
def _bin_and_sort(frac, nbins, cell, bin_start, pos_sorted, types, types_sorted):
    """Wrap fractional coordinates into the cell, bin them and write atoms bin by bin."""
    n = frac.shape[0]
    bin_of = np.empty(n, np.int64)
    for a in range(n):
        b = 0
        for d in range(3):
            f = frac[a, d] - math.floor(frac[a, d])
            k = int(f * nbins[d])
            k = min(max(k, 0), nbins[d] - 1)
            b = b * nbins[d] + k
        bin_of[a] = b
    bin_start[:] = 0
    for a in range(n):
        bin_start[bin_of[a] + 1] += 1
    for b in range(bin_start.shape[0] - 1):
        bin_start[b + 1] += bin_start[b]
    cursor = bin_start[:-1].copy()
    for a in range(n):
        k = cursor[bin_of[a]]
        cursor[bin_of[a]] += 1
        types_sorted[k] = types[a]
        f0 = frac[a, 0] - math.floor(frac[a, 0])
        f1 = frac[a, 1] - math.floor(frac[a, 1])
        f2 = frac[a, 2] - math.floor(frac[a, 2])
        for c in range(3):
            pos_sorted[k, c] = f0 * cell[0, c] + f1 * cell[1, c] + f2 * cell[2, c]


# --------------------------------------------------------------------------- driver


def species(numbers) -> tuple[np.ndarray, np.ndarray]:
    """(atomic numbers present, sorted; type index 0..m-1 of each atom as int64)."""
    numbers = np.asarray(numbers, dtype=np.int64)
    present, types = element_types(numbers)
    return present, types.astype(np.int64).reshape(-1)


def periodic_volume(atoms) -> float:
    """Cell volume in Å^3; a :class:`ParameterError` a person can act on (the window shows it
    as it is) unless the cell is periodic in all three directions."""
    pbc = np.asarray(atoms.pbc, dtype=bool).reshape(3)
    cell = np.asarray(atoms.cell.array, dtype=np.float64)
    volume = abs(float(np.linalg.det(cell))) if np.isfinite(cell).all() else 0.0
    if not pbc.all() or not volume > 0.0:
        raise ParameterError(
            "cell", "g(r) and S(q) need a model periodic in x, y and z, since its density N/V "
            "normalises them; this one is not (a molecule or cluster), so give it a periodic cell "
            "first (bond angles need none)")
    return volume


def _stencil_for(cell: np.ndarray, heights: np.ndarray, nbins: np.ndarray, r_max: float):
    """Half stencil (zero offset dropped) of a grid of ``nbins`` bins over ``cell``."""
    bin_height = heights / nbins
    # Two points whose bins differ by o_d along d are >= (|o_d| - 1) * bin_height_d apart.
    reach = np.ceil(r_max * (1 + 1e-9) / bin_height).astype(np.int64)
    axes = [np.arange(-r, r + 1) for r in reach]
    offsets = np.stack(np.meshgrid(*axes, indexing="ij"), -1).reshape(-1, 3).astype(np.int64)
    gap = np.maximum(np.abs(offsets) - 1, 0) * bin_height  # per-direction lower bounds, Å
    if np.allclose(cell - np.diag(np.diag(cell)), 0.0):
        lower = np.sqrt((gap ** 2).sum(axis=1))  # orthogonal cell: the exact box distance
    else:
        lower = gap.max(axis=1)  # any cell: the largest plane-distance bound
    keep = lower < r_max * (1 + 1e-9)
    flat = (offsets[:, 0] * (2 * reach[1] + 1) + offsets[:, 1]) * (2 * reach[2] + 1) + offsets[:, 2]
    keep &= flat > 0  # half of a symmetric set; the zero offset is handled within the bin
    return np.ascontiguousarray(offsets[keep])


def _stream_grid(cell: np.ndarray, n: int, r_max: float):
    """Bins per direction and half stencil for the streaming kernel, at the cheapest bin width.

    Per atom the kernel tests ``(S + 1/2) a`` candidates and copies ``S`` of them (``S``
    stencil bins of ``a`` atoms); bins of r_max, r_max/2 or r_max/3 (never emptier than
    :data:`_ATOMS_PER_BIN`) are tried and the cheapest estimate kept.
    """
    inv = np.linalg.inv(cell)
    heights = 1.0 / np.linalg.norm(inv, axis=0)  # spacing of the lattice planes of each direction
    density = n / abs(np.linalg.det(cell))
    best = None
    for sub in (1, 2, 3):
        width = max(r_max / sub, (_ATOMS_PER_BIN / density) ** (1.0 / 3.0))
        nbins = np.maximum(np.floor(heights / width), 1).astype(np.int64)
        while np.prod(nbins) > 2 * n + 8:
            nbins = np.maximum((nbins / 1.5).astype(np.int64), 1)
        stencil = _stencil_for(cell, heights, nbins, r_max)
        per_bin = n / np.prod(nbins)
        cost = (len(stencil) + 0.5) * per_bin + _COPY_COST * len(stencil)
        if best is None or cost < best[0]:
            best = (cost, nbins, stencil)
    return best[1], best[2]


def _check_params(params: RdfParams) -> tuple[float, int]:
    r_max = float(params.r_max)
    n_bins = int(params.n_bins)
    if not np.isfinite(r_max) or r_max <= 0.0:
        raise ValueError(f"r_max must be a positive number of Å, got {params.r_max}")
    if n_bins < 1:
        raise ValueError(f"n_bins must be at least 1, got {params.n_bins}")
    if params.weighting not in ("neutron", "number"):
        raise ValueError(f"weighting must be 'neutron' or 'number', got {params.weighting!r}")
    return r_max, n_bins


def _check_memory(cell: np.ndarray, r_max: float, n_bins: int, n_elements: int) -> None:
    """Refuse, naming the parameter, a request whose arrays would pass :data:`MEMORY_LIMIT`:
    about six (m, m, n_bins) arrays of 8 bytes, and a stencil of at least (2 r_max/h + 1)³
    offsets (h: each lattice-plane spacing) with its meshgrid temporaries."""
    histograms = 6.0 * n_elements ** 2 * n_bins * 8
    if histograms > MEMORY_LIMIT:
        raise ParameterError("n_bins", f"{n_bins:,} bins of {n_elements} elements' pairs would need "
                                       f"{histograms / 1e9:.3g} GB; use fewer bins")
    heights = 1.0 / np.linalg.norm(np.linalg.inv(cell), axis=0)
    stencil = float(np.prod(2.0 * np.ceil(r_max / heights) + 1.0)) * 3 * 8 * 4
    if stencil > MEMORY_LIMIT:
        raise ParameterError("r_max", f"{r_max:g} Å spans {np.max(r_max / heights):.3g} cells; the "
                                      f"periodic images to search would need {stencil / 1e9:.3g} GB: "
                                      "use a shorter r_max")


def pair_histogram(
    atoms,
    r_max: float,
    n_bins: int,
    neighbors: Optional[NeighborList] = None,
    progress: Optional[ProgressFn] = None,
    cancel: Optional[CancelFn] = None,
) -> tuple[np.ndarray, np.ndarray]:
    """(atomic numbers present, ordered pair counts ``[a, b, k]`` on ``n_bins`` bins of [0, r_max))."""
    numbers = np.asarray(atoms.numbers, dtype=np.int64)
    present, types = species(numbers)
    m = len(present)
    n = len(numbers)
    _check_memory(np.asarray(atoms.cell.array, dtype=np.float64), r_max, n_bins, m)
    hist = np.zeros((m * m, n_bins), np.int64)
    inv_dr = n_bins / r_max
    if neighbors is not None:
        if neighbors.n_atoms != n:
            raise ValueError(
                f"the neighbour list is for {neighbors.n_atoms} atoms, the structure has {n}"
            )
        if neighbors.cutoff < r_max:
            raise ValueError(
                f"the neighbour list's cutoff {neighbors.cutoff:g} Å is shorter than r_max "
                f"{r_max:g} Å; rebuild it with a cutoff >= {r_max:g} Å or pass none"
            )
        per_atom = neighbors.n_pairs / max(n, 1)
        chunk = max(1, int(_PAIRS_PER_CHUNK / max(per_atom, 1.0)))
        for start, stop in chunked(n, chunk, progress, cancel, "pair histogram"):
            _hist_list(start, stop, neighbors.indptr, neighbors.indices, neighbors.distances,
                       types, m, inv_dr, r_max, hist)
    elif n:
        cell = np.asarray(atoms.cell.array, dtype=np.float64)
        positions = np.asarray(atoms.positions, dtype=np.float64)
        if not np.isfinite(positions).all():
            bad = int(np.flatnonzero(~np.isfinite(positions).all(axis=1))[0])
            raise ValueError(f"atom {bad} has a position that is not a finite number")
        nbins, stencil = _stream_grid(cell, n, r_max)
        n_bins_grid = int(np.prod(nbins))
        bin_start = np.zeros(n_bins_grid + 1, np.int64)
        pos_sorted = np.empty((n, 3), np.float64)
        types_sorted = np.empty(n, np.int64)
        frac = positions @ np.linalg.inv(cell)
        _bin_and_sort(frac, nbins, cell, bin_start, pos_sorted, types, types_sorted)
        max_per_bin = int(np.diff(bin_start).max())
        tests_per_atom = (len(stencil) + 0.5) * n / n_bins_grid
        chunk_atoms = max(1, int(_TESTS_PER_CHUNK / max(tests_per_atom, 1.0)))
        starts = bin_start[:-1]
        for start, stop in chunked(n, chunk_atoms, progress, cancel, "pair histogram"):
            lo = int(np.searchsorted(starts, start))
            hi = n_bins_grid if stop == n else int(np.searchsorted(starts, stop))
            _hist_cells(lo, hi, pos_sorted, types_sorted, bin_start, nbins, stencil, cell,
                        max_per_bin, r_max * r_max, inv_dr, m, hist)
        hist = hist.reshape(m, m, n_bins)
        hist = hist + hist.transpose(1, 0, 2)  # each pair was seen once: count both directions
    else:
        for _ in chunked(0, 1, progress, cancel, "pair histogram"):
            pass
    return present, hist.reshape(m, m, n_bins)


def compute_rdf(
    atoms,
    params: RdfParams = RdfParams(),
    neighbors: Optional[NeighborList] = None,
    progress: Optional[ProgressFn] = None,
    cancel: Optional[CancelFn] = None,
) -> RdfResult:
    """Total and partial g(r), running coordination, G(r) and T(r) of a periodic structure.

    A given ``neighbors`` (cutoff >= ``r_max``, all pairs: not a bond list filtered from it) is
    histogrammed, never rebuilt; without one the pairs are streamed from a cell list. Raises
    ValueError on a non-periodic cell or bad parameters, and
    :class:`~amorpha.engine.tasks.Cancelled` when ``cancel`` answers True.
    """
    r_max, n_bins = _check_params(params)
    volume = periodic_volume(atoms)
    n = len(atoms)
    if n == 0:
        raise ValueError("the structure has no atoms")
    present, counts = pair_histogram(atoms, r_max, n_bins, neighbors, progress, cancel)
    return rdf_from_counts(counts, present, np.asarray(atoms.numbers), volume, r_max,
                           params.weighting)


def rdf_from_counts(counts, present, numbers, volume, r_max, weighting="neutron") -> RdfResult:
    """Normalise ordered pair counts ``[a, b, k]`` into an :class:`RdfResult`."""
    m, _, n_bins = counts.shape
    n = len(numbers)
    n_per = np.array([(np.asarray(numbers) == z).sum() for z in present], dtype=np.float64)
    conc = n_per / n
    rho = n / volume
    edges = np.linspace(0.0, r_max, n_bins + 1)
    r = 0.5 * (edges[1:] + edges[:-1])
    shell = 4.0 / 3.0 * np.pi * (edges[1:] ** 3 - edges[:-1] ** 3)
    partials = counts / (n_per[:, None, None] * (n_per[None, :, None] / volume) * shell)
    g = counts.sum(axis=(0, 1)) / (n * rho * shell)
    coordination = np.cumsum(counts, axis=2) / n_per[:, None, None]
    total_coordination = np.cumsum(counts.sum(axis=(0, 1))) / n
    from .structure_factor import faber_ziman_scale, neutron_lengths  # it imports this module

    if weighting == "neutron" and m > 1:  # one element: its length cancels, tabulated or not
        try:
            b = neutron_lengths(present)
        except ParameterError as exc:
            raise ParameterError("weighting", f"{exc.reason}; use weighting='number'") from None
    else:
        b = np.ones(m)
    w = np.outer(conc * b, conc * b) / faber_ziman_scale(conc, b[:, None])[0]
    g_w = np.einsum("ab,abk->k", w, partials)
    return RdfResult(
        edges=edges, r=r, g=g, partials=partials, counts=counts, coordination=coordination,
        total_coordination=total_coordination, g_weighted=g_w,
        G=4.0 * np.pi * rho * r * (g_w - 1.0), T=4.0 * np.pi * rho * r * g_w,
        elements=tuple(symbol(z) for z in present), numbers=np.asarray(present, np.int64),
        concentrations=conc, n_atoms=n, density=rho, weighting=weighting,
    )


def warm_up() -> None:
    """Compile (or load from cache) the kernels on tiny inputs."""
    from ase import Atoms

    rng = np.random.default_rng(0)
    cell = np.array([[5.0, 0.0, 0.0], [1.0, 5.0, 0.0], [0.5, 0.5, 5.0]])
    atoms = Atoms("Si4O4", positions=rng.random((8, 3)) @ cell, cell=cell, pbc=True)
    compute_rdf(atoms, RdfParams(r_max=3.0, n_bins=10, weighting="number"))
    from ..neighbors import neighbor_list

    compute_rdf(atoms, RdfParams(r_max=3.0, n_bins=10, weighting="number"),
                neighbors=neighbor_list(atoms, 3.0))

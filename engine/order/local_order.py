"""Local order parameters per atom: Steinhardt bond-orientational order and tetrahedral order.

* :func:`compute_steinhardt` gives ``q_l`` (Steinhardt, Nelson & Ronchetti 1983), optionally the
  neighbour-averaged ``q̄_l`` (Lechner & Dellago 2008) and the third-order invariants ``w_l`` and
  ``ŵ_l = w_l / (Σ_m |q_lm|²)^{3/2}``, for any ``1 <= l <= 20``. The conventions are freud's
  (``freud.order.Steinhardt``), so values agree with it to rounding.
* :func:`compute_tetrahedral` gives ``q = 1 − 3/8 Σ_{j<k} (cos ψ_jk + 1/3)²`` over the four
  nearest neighbours (Chau & Hardwick 1998; Errington & Debenedetti 2001), optionally of one
  element (Si with its four nearest O).
* :func:`nearest_neighbors` cuts any :class:`NeighborList` to the ``k`` nearest neighbours per
  atom (optionally of one element, within a cutoff). Ties are broken deterministically: by
  distance rounded to :data:`TIE_TOLERANCE`, then neighbour index, then image shift (freud splits
  the same way). Where the k-th and (k+1)-th neighbours are equidistant (within
  :data:`SHELL_TOLERANCE`) the k nearest cut a shell, and which of its members are taken is
  arbitrary: a perfect bcc crystal at k = 12 gets two q6 values. The results say so
  (:class:`ShellCut`) instead of hiding it.

Bond vectors always come from the neighbour list's image shifts (``pos[j] + S @ cell − pos[i]``),
so triclinic cells are exact: nothing is minimum-imaged in Cartesian coordinates.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Mapping, Optional, Union

import numpy as np
from numba import njit

from ..elements import elements_present, number, symbol
from ..neighbors import NeighborList, neighbor_list, pair_vector
from ..tasks import CancelFn, ProgressFn, chunked, sub_progress
from .spherical import L_LIMIT, legendre_tables, w3j_terms, ylm_kernel

Element = Union[str, int]
Cutoffs = Mapping[tuple[Element, Element], Optional[float]]

#: Atoms per chunk between progress/cancel checks.
CHUNK_ATOMS = 20_000
#: Distances closer than this (Å) count as equal when choosing the k nearest neighbours.
TIE_TOLERANCE = 1e-8
#: Default number of nearest neighbours when neither a cutoff nor a count is given.
DEFAULT_NEIGHBORS = 12
#: Relative difference within which the k-th and (k+1)-th neighbour distances are one shell
#: (0.01 %): coordinates read from a file with 5 decimals differ by ~1e-5 Å, which
#: :data:`TIE_TOLERANCE` (meant for exact ties) would call distinct.
SHELL_TOLERANCE = 1e-4


def _z(element: Element) -> int:
    return number(element) if isinstance(element, str) else int(element)


# --------------------------------------------------------------------------- k nearest


@njit(nogil=True, cache=True)
def _before(p, q, key, indices, shifts):
    """True if pair ``p`` sorts before pair ``q``: rounded distance, then index, then shift."""
    if key[p] != key[q]:
        return key[p] < key[q]
    if indices[p] != indices[q]:
        return indices[p] < indices[q]
    for d in range(3):
        if shifts[p, d] != shifts[q, d]:
            return shifts[p, d] < shifts[q, d]
    return False


@njit(nogil=True, cache=True)
def _select_nearest(start, stop, indptr, indices, distances, shifts, numbers, centre_z,
                    neighbor_z, k, rmax, key, chosen, count):
    """Up to ``k`` nearest pairs (positions in the CSR arrays) of atoms ``start:stop``, sorted."""
    for i in range(start, stop):
        c = 0
        if centre_z < 0 or numbers[i] == centre_z:
            for p in range(indptr[i], indptr[i + 1]):
                if distances[p] >= rmax:
                    continue
                if neighbor_z >= 0 and numbers[indices[p]] != neighbor_z:
                    continue
                if c == k and not _before(p, chosen[i, k - 1], key, indices, shifts):
                    continue
                # Insertion into the sorted prefix chosen[i, :c].
                slot = c if c < k else k - 1
                while slot > 0 and _before(p, chosen[i, slot - 1], key, indices, shifts):
                    chosen[i, slot] = chosen[i, slot - 1]
                    slot -= 1
                chosen[i, slot] = p
                if c < k:
                    c += 1
        count[i] = c


@njit(nogil=True, cache=True)
def _shell_bounds(start, stop, indptr, indices, distances, numbers, neighbor_z, rmax, k, tol,
                  chosen, count, below, through):
    """Per atom with ``k`` chosen neighbours: how many candidates lie closer than its k-th
    neighbour's shell (``below``) and how many up to the end of that shell (``through``), the
    shell being the k-th distance within the relative ``tol``; -1 for atoms with fewer than k.
    ``through > k`` means the k nearest cut the shell."""
    for i in range(start, stop):
        below[i] = -1
        through[i] = -1
        if count[i] < k:
            continue
        dk = distances[chosen[i, k - 1]]
        lo = dk * (1.0 - tol)
        hi = dk * (1.0 + tol)
        nb = 0
        nt = 0
        for p in range(indptr[i], indptr[i + 1]):
            d = distances[p]
            if d >= rmax or (neighbor_z >= 0 and numbers[indices[p]] != neighbor_z):
                continue
            nb += d < lo
            nt += d <= hi
        below[i] = nb
        through[i] = nt


@dataclass(frozen=True)
class ShellCut:
    """Did "the k nearest neighbours" cut a shell of equidistant neighbours?

    In a crystal the k-th and (k+1)-th neighbours are often equidistant (bcc at k = 12, diamond
    at 12, fcc at 4): the k taken are then an arbitrary part of the shell, and the order
    parameter depends on which (two q6 values for perfect bcc). ``cut`` of the ``atoms`` that
    had k neighbours were cut so; ``distance`` is the cut shell's (median) distance, and
    ``fewer``/``more`` the most common numbers of neighbours up to the shell and through it:
    the k that would take whole shells.
    """

    k: int
    atoms: int
    cut: int = 0
    distance: float = float("nan")
    fewer: int = 0
    more: int = 0

    @property
    def fraction(self) -> float:
        """Fraction of the atoms with k neighbours whose k nearest cut a shell."""
        return self.cut / self.atoms if self.atoms else 0.0

    def to_dict(self) -> dict:
        return {"k": self.k, "atoms": self.atoms, "cut": self.cut, "fraction": self.fraction,
                "distance": None if not self.cut else self.distance,
                "whole_shells": None if not self.cut else [self.fewer, self.more]}


def _most_common(values: np.ndarray) -> int:
    counts = np.bincount(values)
    return int(np.argmax(counts))


def _shell_cut(k: int, distances: np.ndarray, last: np.ndarray, below: np.ndarray,
               through: np.ndarray) -> ShellCut:
    """Summarise the per-atom shell bounds of :func:`_shell_bounds`; ``last`` holds each atom's
    k-th chosen pair (a position in ``distances``)."""
    full = through >= 0
    cut = through > k
    if not cut.any():
        return ShellCut(k, int(full.sum()))
    return ShellCut(k, int(full.sum()), int(cut.sum()), float(np.median(distances[last[cut]])),
                    _most_common(below[cut]), _most_common(through[cut]))


def _estimate_cutoff(atoms, k: int) -> float:
    """A radius expected to hold ``k`` neighbours at the structure's mean density (plus margin)."""
    n = max(len(atoms), 1)
    if all(atoms.pbc) and atoms.cell.rank == 3:
        volume = abs(atoms.cell.volume)
    else:
        span = np.ptp(atoms.positions, axis=0) if len(atoms) else np.ones(3)
        volume = float(np.prod(np.maximum(span, 1.0)))
    per_atom = volume / n
    return max(1.0, (3.0 * (1.5 * k + 2) * per_atom / (4.0 * math.pi)) ** (1.0 / 3.0))


def nearest_neighbors(atoms, k: int, neighbors: Optional[NeighborList] = None, **options) -> NeighborList:
    """The ``k`` nearest neighbours of every atom as a list: :func:`nearest_with_shells` (same
    keyword options: ``cutoff``, ``centre``, ``element``, ``progress``, ``cancel``) without its
    report of cut shells."""
    return nearest_with_shells(atoms, k, neighbors, **options)[0]


def nearest_with_shells(
    atoms,
    k: int,
    neighbors: Optional[NeighborList] = None,
    *,
    cutoff: Optional[float] = None,
    centre: Optional[Element] = None,
    element: Optional[Element] = None,
    progress: Optional[ProgressFn] = None,
    cancel: Optional[CancelFn] = None,
) -> tuple[NeighborList, ShellCut]:
    """The ``k`` nearest neighbours of every atom (of ``centre`` atoms only if given) as a list.

    ``element`` keeps only neighbours of that element; ``cutoff`` keeps only those closer than
    it, so an atom may then have fewer than ``k``. Rows are sorted nearest first; equal distances
    (within :data:`TIE_TOLERANCE`) go by neighbour index, then image shift.

    Without ``neighbors`` a search radius is estimated from the density and widened until every
    atom has ``k`` (or the cutoff is reached). A given ``neighbors`` list is used as it is; an
    atom with fewer than ``k`` candidates there raises :class:`ValueError` unless ``cutoff`` is
    set (then fewer is the answer). The :class:`ShellCut` says where the k-th and (k+1)-th
    neighbours were equidistant (within :data:`SHELL_TOLERANCE`), so the choice was arbitrary.
    """
    k = int(k)
    if k < 1:
        raise ValueError(f"the number of neighbours must be >= 1, got {k}")
    n = len(atoms)
    numbers = np.ascontiguousarray(atoms.numbers, dtype=np.int64)
    centre_z = -1 if centre is None else _z(centre)
    neighbor_z = -1 if element is None else _z(element)
    rmax = math.inf if cutoff is None else float(cutoff)
    if cutoff is not None and not rmax > 0:
        raise ValueError(f"cutoff must be > 0 Å, got {cutoff}")
    wants = numbers == centre_z if centre_z >= 0 else np.ones(n, bool)
    if neighbor_z >= 0 and not np.any(numbers == neighbor_z) and n:
        raise ValueError(f"the structure has no {symbol(neighbor_z)} atoms to use as neighbours")

    built = neighbors is None
    search = rmax if cutoff is not None else _estimate_cutoff(atoms, k)
    if neighbors is not None:
        if neighbors.n_atoms != n:
            raise ValueError(
                f"the neighbour list is for {neighbors.n_atoms} atoms, the structure has {n}"
            )
        if cutoff is not None and neighbors.cutoff < rmax:
            raise ValueError(
                f"the neighbour list's cutoff {neighbors.cutoff:g} Å is shorter than the "
                f"requested {rmax:g} Å"
            )
    # Without any periodic direction the search can usefully reach only across the cluster.
    limit = math.inf
    if not any(atoms.pbc) and n:
        limit = float(np.linalg.norm(np.ptp(atoms.positions, axis=0))) + 1e-6
    while True:
        if built:
            reach = search if cutoff is not None else min(search, max(limit, 1e-3))
            neighbors = neighbor_list(atoms, reach, progress=sub_progress(progress, 0.0, 0.6),
                                      cancel=cancel)
        nl = neighbors
        key = np.floor(nl.distances / TIE_TOLERANCE + 0.5).astype(np.int64)
        chosen = np.zeros((n, k), np.int64)
        count = np.zeros(n, np.int64)
        below, through = np.empty(n, np.int64), np.empty(n, np.int64)
        for start, stop in chunked(n, CHUNK_ATOMS, sub_progress(progress, 0.6 if built else 0.0,
                                                               1.0), cancel, "nearest neighbours"):
            _select_nearest(start, stop, nl.indptr, nl.indices, nl.distances, nl.shifts, numbers,
                            centre_z, neighbor_z, k, rmax, key, chosen, count)
            _shell_bounds(start, stop, nl.indptr, nl.indices, nl.distances, numbers, neighbor_z,
                          rmax, k, SHELL_TOLERANCE, chosen, count, below, through)
        short = wants & (count < k)
        if cutoff is not None or not np.any(short):
            break
        if not built:
            i = int(np.flatnonzero(short)[0])
            raise ValueError(
                f"atom {i} has only {count[i]} candidate neighbours within the neighbour list's "
                f"cutoff {nl.cutoff:g} Å, fewer than {k}; rebuild the list with a longer cutoff"
            )
        if search >= limit:
            break  # an open cluster with too few atoms: fewer neighbours is the answer
        search *= 1.5
    indptr = np.zeros(n + 1, np.int64)
    np.cumsum(count, out=indptr[1:])
    take = chosen[np.arange(k)[None, :] < count[:, None]]  # row-major: rows stay in order
    return (NeighborList(indptr, nl.indices[take], nl.distances[take], nl.shifts[take],
                         nl.cutoff if cutoff is None else rmax),
            _shell_cut(k, nl.distances, chosen[:, k - 1], below, through))


# --------------------------------------------------------------------------- Steinhardt


@dataclass(frozen=True)
class SteinhardtParams:
    """Which ``l``, which neighbours, and which variants.

    Neighbours: ``num_neighbors`` nearest (k-nearest mode), or all closer than ``cutoff``, or
    both (at most ``num_neighbors`` within ``cutoff``); with neither, the 12 nearest.
    ``cutoffs`` overrides the cutoff per element pair, e.g. ``{("Si", "O"): 2.0}``; a pair not
    listed uses ``cutoff`` (or is never a neighbour when ``cutoff`` is None); 0 or None switches
    a pair off. ``average`` adds the Lechner–Dellago ``q̄_l``; ``wl`` adds ``w_l`` and ``ŵ_l``.
    """

    l_values: tuple[int, ...] = (4, 6)
    cutoff: Optional[float] = None
    num_neighbors: Optional[int] = None
    cutoffs: Optional[Cutoffs] = None
    average: bool = False
    wl: bool = False

    def __post_init__(self):
        ls = tuple(int(l) for l in np.atleast_1d(self.l_values))
        if not ls:
            raise ValueError("l_values is empty")
        for l in ls:
            if not 1 <= l <= L_LIMIT:
                raise ValueError(f"l must be between 1 and {L_LIMIT}, got {l}")
        if len(set(ls)) != len(ls):
            raise ValueError(f"l_values has repeats: {ls}")
        object.__setattr__(self, "l_values", ls)
        if self.cutoff is not None and not float(self.cutoff) > 0:
            raise ValueError(f"cutoff must be > 0 Å, got {self.cutoff}")
        if self.num_neighbors is not None and int(self.num_neighbors) < 1:
            raise ValueError(f"num_neighbors must be >= 1, got {self.num_neighbors}")


#: (result attribute, per-atom column key) of every Steinhardt variant, in column order.
COLUMNS = (("ql", "q{}"), ("ql_avg", "q{}_avg"), ("wl", "w{}"), ("wl_hat", "w{}_hat"),
           ("wl_avg", "w{}_avg"), ("wl_hat_avg", "w{}_hat_avg"))


def steinhardt_columns(params: SteinhardtParams) -> list[str]:
    """The per-atom column keys :func:`compute_steinhardt` gives for ``params`` (before it runs,
    so a panel can name them)."""
    wanted = {"ql": True, "ql_avg": params.average, "wl": params.wl, "wl_hat": params.wl,
              "wl_avg": params.wl and params.average, "wl_hat_avg": params.wl and params.average}
    return [fmt.format(l) for attr, fmt in COLUMNS if wanted[attr] for l in params.l_values]


@dataclass(frozen=True)
class SteinhardtResult:
    """Per-atom Steinhardt order, one column per ``l`` (NaN for an atom without neighbours)."""

    l_values: tuple[int, ...]
    ql: np.ndarray  # float64 (n, L)
    num_neighbors: np.ndarray  # int64 (n,)
    ql_avg: Optional[np.ndarray] = None  # (n, L) when average
    wl: Optional[np.ndarray] = None  # (n, L) when wl
    wl_hat: Optional[np.ndarray] = None
    wl_avg: Optional[np.ndarray] = None  # (n, L) when wl and average
    wl_hat_avg: Optional[np.ndarray] = None
    numbers: Optional[np.ndarray] = field(default=None, repr=False)
    #: where the k nearest cut a shell of equidistant neighbours (None in cutoff mode)
    shell_cut: Optional[ShellCut] = None

    def column(self, name: str, l: int) -> np.ndarray:
        """One column, e.g. ``column("ql", 6)``."""
        values = getattr(self, name)
        if values is None:
            raise ValueError(f"{name} was not computed (see SteinhardtParams)")
        return values[:, self.l_values.index(int(l))]

    def to_arrays(self) -> dict[str, np.ndarray]:
        """``q6``, ``q6_avg``, ``w6`` (raw), ``w6_hat`` (normalised), ``w6_avg``, ``w6_hat_avg``."""
        out = {}
        for attr, fmt in COLUMNS:
            values = getattr(self, attr)
            if values is not None:
                for t, l in enumerate(self.l_values):
                    out[fmt.format(l)] = np.ascontiguousarray(values[:, t])
        return out

    def to_dict(self) -> dict:
        """Plain summary: mean and standard deviation of every column, overall and per element."""
        def stats(values):
            ok = values[np.isfinite(values)]
            if not len(ok):
                return {"count": 0, "mean": None, "std": None}
            return {"count": int(len(ok)), "mean": float(ok.mean()), "std": float(ok.std())}

        arrays = self.to_arrays()
        summary = {"l_values": list(self.l_values), "columns": {k: stats(v) for k, v in arrays.items()}}
        if len(self.num_neighbors):  # an open cluster smaller than k gives fewer: a reader must know
            summary["neighbors"] = {"min": int(self.num_neighbors.min()),
                                    "max": int(self.num_neighbors.max())}
        if self.shell_cut is not None:
            summary["shell_cut"] = self.shell_cut.to_dict()
        if self.numbers is not None and len(self.numbers):
            summary["elements"] = {
                symbol(z): {k: stats(v[self.numbers == z]) for k, v in arrays.items()}
                for z in elements_present(self.numbers).tolist()
            }
        return summary


@njit(nogil=True, cache=True)
def _qlm_rows(start, stop, indptr, indices, shifts, pos, cell, lvals, offsets, lmax,
              sectoral, first, a, b, re, im, row0):
    """``q_lm`` (m >= 0) of atoms ``start:stop`` into rows ``i − row0`` of ``re``/``im``.

    Row layout: for the t-th l, columns ``offsets[t] + m`` for m = 0..l.
    """
    plm = np.zeros((lmax + 1, lmax + 1))
    cosm = np.zeros(lmax + 1)
    sinm = np.zeros(lmax + 1)
    width = re.shape[1]
    nl = lvals.shape[0]
    for i in range(start, stop):
        r = i - row0
        for c in range(width):
            re[r, c] = 0.0
            im[r, c] = 0.0
        lo = indptr[i]
        hi = indptr[i + 1]
        if hi == lo:
            continue
        for p in range(lo, hi):
            j = indices[p]
            x, y, z = pair_vector(i, j, p, pos, cell, shifts)
            d = math.sqrt(x * x + y * y + z * z)
            if d == 0.0:
                continue
            ylm_kernel(x / d, y / d, z / d, lmax, sectoral, first, a, b, plm, cosm, sinm)
            for t in range(nl):
                l = lvals[t]
                o = offsets[t]
                for m in range(l + 1):
                    v = plm[l, m]
                    re[r, o + m] += v * cosm[m]
                    im[r, o + m] += v * sinm[m]
        inv = 1.0 / (hi - lo)
        for c in range(width):
            re[r, c] *= inv
            im[r, c] *= inv


@njit(nogil=True, cache=True)
def _average_rows(start, stop, indptr, indices, re, im, avg_re, avg_im):
    """Lechner–Dellago: the mean of ``q_lm`` over the atom and its neighbours."""
    width = re.shape[1]
    for i in range(start, stop):
        r = i - start
        for c in range(width):
            avg_re[r, c] = re[i, c]
            avg_im[r, c] = im[i, c]
        lo = indptr[i]
        hi = indptr[i + 1]
        for p in range(lo, hi):
            j = indices[p]
            for c in range(width):
                avg_re[r, c] += re[j, c]
                avg_im[r, c] += im[j, c]
        inv = 1.0 / (hi - lo + 1)
        for c in range(width):
            avg_re[r, c] *= inv
            avg_im[r, c] *= inv


@njit(nogil=True, cache=True)
def _invariants(start, stop, re, im, counts, lvals, offsets, want_wl, w_start, w_m1, w_m2,
                w_m3, w_coef, ql, wl, wl_hat):
    """``q_l``, ``w_l`` and ``ŵ_l`` of rows ``0:stop−start`` into output rows ``start:stop``."""
    nl = lvals.shape[0]
    for i in range(start, stop):
        r = i - start
        if counts[i] == 0:
            for t in range(nl):
                ql[i, t] = np.nan
                if want_wl:
                    wl[i, t] = np.nan
                    wl_hat[i, t] = np.nan
            continue
        for t in range(nl):
            l = lvals[t]
            o = offsets[t]
            s = re[r, o] * re[r, o] + im[r, o] * im[r, o]
            for m in range(1, l + 1):
                s += 2.0 * (re[r, o + m] * re[r, o + m] + im[r, o + m] * im[r, o + m])
            ql[i, t] = math.sqrt(4.0 * math.pi / (2 * l + 1) * s)
            if want_wl:
                w = 0.0
                for k in range(w_start[t], w_start[t + 1]):
                    # q_l,-m = (-1)^m conj(q_lm): fetch each factor from its m >= 0 column.
                    pr = 1.0
                    pi = 0.0
                    for which in range(3):
                        m = w_m1[k] if which == 0 else (w_m2[k] if which == 1 else w_m3[k])
                        am = abs(m)
                        qr = re[r, o + am]
                        qi = im[r, o + am]
                        if m < 0:
                            qi = -qi
                            if am % 2 == 1:
                                qr = -qr
                                qi = -qi
                        nr = pr * qr - pi * qi
                        pi = pr * qi + pi * qr
                        pr = nr
                    w += w_coef[k] * pr
                wl[i, t] = w
                wl_hat[i, t] = w / s ** 1.5 if s > 0.0 else np.nan


def _w3j_tables(l_values):
    starts = [0]
    parts = [[], [], [], []]
    for l in l_values:
        terms = w3j_terms(l)
        for dst, src in zip(parts, terms):
            dst.append(src)
        starts.append(starts[-1] + len(terms[0]))
    cat = [np.ascontiguousarray(np.concatenate(p)) for p in parts]
    return np.array(starts, np.int64), cat[0], cat[1], cat[2], cat[3]


def _pair_cutoff_filter(atoms, nl: NeighborList, params: SteinhardtParams) -> NeighborList:
    """Keep the pairs closer than their element pair's cutoff (``params.cutoffs`` over ``cutoff``)."""
    numbers = np.asarray(atoms.numbers, dtype=np.int64)
    zmax = int(numbers.max()) if len(numbers) else 0
    default = 0.0 if params.cutoff is None else float(params.cutoff)
    table = np.full((zmax + 1, zmax + 1), default)
    for (ea, eb), value in params.cutoffs.items():
        za, zb = _z(ea), _z(eb)
        value = 0.0 if value is None else float(value)
        if not np.isfinite(value) or value < 0:
            raise ValueError(f"cutoff for {symbol(za)}–{symbol(zb)} must be >= 0 Å, got {value}")
        if za <= zmax and zb <= zmax:
            table[za, zb] = table[zb, za] = value
    i, j = nl.pairs()
    return nl.filter(nl.distances < table[numbers[i], numbers[j]])


def _longest_cutoff(params: SteinhardtParams) -> Optional[float]:
    values = [] if params.cutoff is None else [float(params.cutoff)]
    if params.cutoffs:
        values += [0.0 if v is None else float(v) for v in params.cutoffs.values()]
    return max(values) if values else None


def steinhardt_neighbors(atoms, params: SteinhardtParams, neighbors: Optional[NeighborList] = None,
                         progress=None, cancel=None) -> NeighborList:
    """The neighbour list that ``params`` defines (reusing ``neighbors`` when given)."""
    return _steinhardt_neighbors(atoms, params, neighbors, progress, cancel)[0]


def _steinhardt_neighbors(atoms, params: SteinhardtParams, neighbors: Optional[NeighborList] = None,
                          progress=None, cancel=None) -> tuple[NeighborList, Optional[ShellCut]]:
    """The neighbour list of ``params`` and, when it takes the k nearest, where they cut a shell
    (None for a pure cutoff, which cannot)."""
    n = len(atoms)
    longest = _longest_cutoff(params)
    if neighbors is not None and neighbors.n_atoms != n:
        raise ValueError(f"the neighbour list is for {neighbors.n_atoms} atoms, the structure has {n}")
    if longest is not None:
        if neighbors is None:
            neighbors = (neighbor_list(atoms, longest, progress=sub_progress(progress, 0, 0.7),
                                       cancel=cancel)
                         if longest > 0 else NeighborList.empty(n, 0.0))
        elif neighbors.cutoff < longest:
            raise ValueError(
                f"the neighbour list's cutoff {neighbors.cutoff:g} Å is shorter than the "
                f"Steinhardt cutoff {longest:g} Å; rebuild it with a cutoff >= {longest:g} Å"
            )
        if params.cutoffs:
            neighbors = _pair_cutoff_filter(atoms, neighbors, params)
        elif neighbors.cutoff > longest:
            neighbors = neighbors.filter(neighbors.distances < longest)
        if params.num_neighbors is None:
            return neighbors, None
        return nearest_with_shells(atoms, params.num_neighbors, neighbors, cutoff=longest,
                                   progress=sub_progress(progress, 0.7, 1.0), cancel=cancel)
    k = DEFAULT_NEIGHBORS if params.num_neighbors is None else int(params.num_neighbors)
    return nearest_with_shells(atoms, k, neighbors, progress=progress, cancel=cancel)


def compute_steinhardt(
    atoms,
    params: SteinhardtParams = SteinhardtParams(),
    neighbors: Optional[NeighborList] = None,
    progress: Optional[ProgressFn] = None,
    cancel: Optional[CancelFn] = None,
) -> SteinhardtResult:
    """Steinhardt ``q_l`` (and ``q̄_l``, ``w_l``, ``ŵ_l``) of every atom.

    ``neighbors`` is a reusable list that reaches at least the cutoff (cutoff mode) or holds at
    least ``num_neighbors`` per atom (k-nearest mode); it is cut down here, never rebuilt.
    """
    n = len(atoms)
    numbers = np.asarray(atoms.numbers, dtype=np.int64)
    nl, cut = _steinhardt_neighbors(atoms, params, neighbors, sub_progress(progress, 0.0, 0.3), cancel)
    pos = np.ascontiguousarray(atoms.positions, dtype=np.float64)
    cell = np.ascontiguousarray(atoms.cell.array, dtype=np.float64)
    lvals = np.array(params.l_values, np.int64)
    lmax = int(lvals.max())
    offsets = np.zeros(len(lvals), np.int64)
    offsets[1:] = np.cumsum(lvals[:-1] + 1)
    width = int((lvals + 1).sum())
    tables = legendre_tables(lmax)
    w_tables = _w3j_tables(params.l_values) if params.wl else (
        np.zeros(len(lvals) + 1, np.int64), *(np.zeros(0, np.int64),) * 3, np.zeros(0))
    counts = nl.counts()
    L = len(lvals)
    shape = (n, L) if params.wl else (0, L)
    ql = np.empty((n, L))
    wl, wl_hat = np.empty(shape), np.empty(shape)
    ql_avg = wl_avg = wl_hat_avg = None
    qlm_args = (nl.indptr, nl.indices, nl.shifts, pos, cell, lvals, offsets, lmax, *tables)
    inv_args = (counts, lvals, offsets, bool(params.wl), *w_tables)
    if not params.average:
        re = np.empty((min(CHUNK_ATOMS, n), width))
        im = np.empty_like(re)
        for start, stop in chunked(n, CHUNK_ATOMS, sub_progress(progress, 0.3, 1.0), cancel,
                                   "Steinhardt order"):
            _qlm_rows(start, stop, *qlm_args, re, im, start)
            _invariants(start, stop, re, im, *inv_args, ql, wl, wl_hat)
    else:
        re = np.empty((n, width))
        im = np.empty_like(re)
        for start, stop in chunked(n, CHUNK_ATOMS, sub_progress(progress, 0.3, 0.7), cancel,
                                   "Steinhardt order"):
            _qlm_rows(start, stop, *qlm_args, re, im, 0)
            _invariants(start, stop, re[start:stop], im[start:stop], *inv_args, ql, wl, wl_hat)
        ql_avg = np.empty((n, L))
        wl_avg, wl_hat_avg = np.empty(shape), np.empty(shape)
        avg_re = np.empty((min(CHUNK_ATOMS, n), width))
        avg_im = np.empty_like(avg_re)
        for start, stop in chunked(n, CHUNK_ATOMS, sub_progress(progress, 0.7, 1.0), cancel,
                                   "averaging over neighbours"):
            _average_rows(start, stop, nl.indptr, nl.indices, re, im, avg_re, avg_im)
            _invariants(start, stop, avg_re, avg_im, *inv_args, ql_avg, wl_avg, wl_hat_avg)
    if not params.wl:
        wl = wl_hat = wl_avg = wl_hat_avg = None
    return SteinhardtResult(params.l_values, ql, counts, ql_avg, wl, wl_hat, wl_avg, wl_hat_avg,
                            numbers, cut)


# --------------------------------------------------------------------------- tetrahedral order


@dataclass(frozen=True)
class TetrahedralParams:
    """Tetrahedral order of ``centre`` atoms (all if None) over their 4 nearest ``neighbor`` atoms.

    ``neighbor`` restricts the neighbours to one element (Si with its 4 nearest O:
    ``centre="Si", neighbor="O"``). With ``cutoff``, only neighbours closer than it count and an
    atom with fewer than 4 gets NaN (e.g. three-fold Si in a glass).
    """

    centre: Optional[Element] = None
    neighbor: Optional[Element] = None
    cutoff: Optional[float] = None

    def __post_init__(self):
        if self.cutoff is not None and not float(self.cutoff) > 0:
            raise ValueError(f"cutoff must be > 0 Å, got {self.cutoff}")

    def describe(self) -> str:
        """"Si over its 4 nearest O neighbours within 2.124 Å (fewer: no value)": what a result
        must say it was computed with (the window's spin box and the CLI's default may differ)."""
        centre = symbol(_z(self.centre)) if self.centre is not None else "Every atom"
        partners = f"{symbol(_z(self.neighbor))} neighbours" if self.neighbor is not None else "neighbours"
        reach = (f"within {float(self.cutoff):.3f} Å (fewer: no value)" if self.cutoff
                 else "at any distance (no cutoff)")
        return f"{centre} over its 4 nearest {partners} {reach}"


@dataclass(frozen=True)
class TetrahedralResult:
    """``q`` per atom: 1 for a regular tetrahedron, 0 on average for an ideal gas; NaN if not computed."""

    q: np.ndarray  # float64 (n,)
    numbers: Optional[np.ndarray] = field(default=None, repr=False)
    #: where the 4 nearest cut a shell of equidistant neighbours (4 of the 12 in fcc)
    shell_cut: Optional[ShellCut] = None

    def to_arrays(self) -> dict[str, np.ndarray]:
        return {"tetrahedral_q": self.q}

    def to_dict(self) -> dict:
        ok = np.isfinite(self.q)
        out = {"count": int(ok.sum()), "mean": float(self.q[ok].mean()) if ok.any() else None,
               "std": float(self.q[ok].std()) if ok.any() else None}
        if self.numbers is not None:
            out["elements"] = {}
            for z in elements_present(self.numbers[ok]).tolist():
                q = self.q[ok & (self.numbers == z)]
                out["elements"][symbol(z)] = {"count": int(len(q)), "mean": float(q.mean()),
                                              "std": float(q.std())}
        if self.shell_cut is not None:
            out["shell_cut"] = self.shell_cut.to_dict()
        return out


@njit(nogil=True, cache=True)
def _tetrahedral_rows(start, stop, indptr, indices, shifts, pos, cell, q):
    v = np.empty((4, 3))
    for i in range(start, stop):
        lo = indptr[i]
        if indptr[i + 1] - lo != 4:
            q[i] = np.nan
            continue
        for a in range(4):
            p = lo + a
            j = indices[p]
            norm = 0.0
            for c in range(3):
                x = (pos[j, c] - pos[i, c] + shifts[p, 0] * cell[0, c] + shifts[p, 1] * cell[1, c]
                     + shifts[p, 2] * cell[2, c])
                v[a, c] = x
                norm += x * x
            norm = math.sqrt(norm)
            for c in range(3):
                v[a, c] /= norm
        s = 0.0
        for a in range(3):
            for b in range(a + 1, 4):
                cos = v[a, 0] * v[b, 0] + v[a, 1] * v[b, 1] + v[a, 2] * v[b, 2]
                s += (cos + 1.0 / 3.0) ** 2
        q[i] = 1.0 - 0.375 * s


def bond_cutoff_between(numbers, centre: Optional[Element], neighbor: Optional[Element],
                        overrides=None) -> Optional[float]:
    """The bond cutoff (Å) of centre–neighbour pairs by :func:`~amorpha.engine.bonds.bond_cutoffs`
    (``overrides`` as there): the cutoff a user expects for "its 4 nearest bonded neighbours".

    Without one the 4 nearest at any distance count: in a-SiO a Si among Si took O 3–4 Å away
    (q down to −2.5). ``None`` (any element) takes the longest cutoff over the elements present;
    None is returned when no such pair is bonded.
    """
    from ..bonds import bond_cutoffs

    table = bond_cutoffs(numbers, overrides)
    present = elements_present(numbers).tolist()
    centres = present if centre is None else [_z(centre)]
    partners = present if neighbor is None else [_z(neighbor)]
    values = [table.get(tuple(sorted((a, b))), 0.0) for a in centres for b in partners]
    longest = max(values, default=0.0)
    return float(longest) if longest > 0 else None


def compute_tetrahedral(
    atoms,
    params: TetrahedralParams = TetrahedralParams(),
    neighbors: Optional[NeighborList] = None,
    progress: Optional[ProgressFn] = None,
    cancel: Optional[CancelFn] = None,
) -> TetrahedralResult:
    """Tetrahedral order ``q = 1 − 3/8 Σ_{j<k} (cos ψ_jk + 1/3)²`` over the 4 nearest neighbours."""
    n = len(atoms)
    nearest, cut = nearest_with_shells(
        atoms, 4, neighbors, cutoff=params.cutoff, centre=params.centre, element=params.neighbor,
        progress=sub_progress(progress, 0.0, 0.7), cancel=cancel,
    )
    pos = np.ascontiguousarray(atoms.positions, dtype=np.float64)
    cell = np.ascontiguousarray(atoms.cell.array, dtype=np.float64)
    q = np.empty(n)
    for start, stop in chunked(n, 100_000, sub_progress(progress, 0.7, 1.0), cancel,
                               "tetrahedral order"):
        _tetrahedral_rows(start, stop, nearest.indptr, nearest.indices, nearest.shifts, pos, cell, q)
    return TetrahedralResult(q, np.asarray(atoms.numbers, dtype=np.int64), cut)


def warm_up() -> None:
    """Compile (or load from cache) every kernel here on tiny inputs."""
    from ase import Atoms

    rng = np.random.default_rng(0)
    cell = np.array([[4.0, 0.0, 0.0], [1.0, 4.0, 0.0], [0.5, 0.5, 4.0]])
    atoms = Atoms("Si4O4", positions=rng.random((8, 3)) @ cell, cell=cell, pbc=True)
    compute_steinhardt(atoms, SteinhardtParams(l_values=(4, 6), num_neighbors=4, average=True,
                                               wl=True))
    compute_steinhardt(atoms, SteinhardtParams(l_values=(6,), cutoff=3.0))
    compute_tetrahedral(atoms, TetrahedralParams(centre="Si", neighbor="O"))

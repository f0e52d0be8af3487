"""Rings in the bond network: Guttman, King, primitive (Franzblau shortest-path) and strong rings.

The network is the periodic bond graph (bonds by element-pair cutoffs, see
:func:`amorpha.engine.bonds.bonds`), searched as its *quotient* graph: one node per atom, the
image shift of each bond kept beside it. This is what sovapy, matscipy and R.I.N.G.S. search, so
the counts agree with theirs. A cycle of atoms whose bond shifts do not add up to zero does not
close in real space: it runs through the periodic boundary into another image of its first atom.
Such cycles are found like any other, flagged in ``RingResult.wraps`` and left out of the
statistics unless ``RingParams.include_wrapping``.

Definitions (n = ring size in network nodes):

* **Guttman**: for each bond i–j, all shortest paths from i back to j that do not use that bond;
* **King**: for each node i and each pair j, k of its neighbours, all shortest paths from j to k
  that do not pass through i, closed through i;
* **primitive** (Franzblau, "shortest-path rings"): cycles with no shortcut, i.e. the graph
  distance of every pair of ring nodes equals their distance along the ring (matscipy's
  ``ring_statistics``, sovapy's and R.I.N.G.S.'s primitive rings);
* **strong** (Goetzke & Klein 1991, R.I.N.G.S.): rings that are not the sum (mod 2, edge sets)
  of any number of strictly smaller rings; a subset of the primitive rings (a primitive ring is
  only not the sum of *two* smaller ones). See :func:`_strong_filter`.

Ring shape: the singular values s1 >= s2 >= s3 of the centred, unwrapped coordinates of all ring
atoms give roundness s2/s1 and roughness s3/sqrt(s1*s2) (Shiga et al.).

Statistics as in R.I.N.G.S. (Le Roux & Jund 2010), over counted sizes (``count_element``):
R_C(n) rings per cell, rings per node R_C(n)/N, P_N(n) the fraction of nodes that belong to at
least one n-ring, P_max(n) / P_min(n) the fraction of nodes whose largest / smallest ring is n.
"Nodes" are the atoms of ``count_element`` (all atoms when it is None).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import numpy as np

from ..errors import ParameterError
from ..bonds import Cutoffs, bond_cutoffs, bonds, cutoffs_text, long_cutoffs, long_cutoffs_text, named_cutoffs
from ..elements import number, symbol
from ..neighbors import NeighborList
from ..tasks import CancelFn, ProgressFn, StopFlag, check_cancel, chunked, report, sub_progress
from . import ring_kernels as K

DEFINITIONS = ("guttman", "king", "primitive", "strong")
#: Pairs of shortest paths (:func:`shortest_path_pairs`) beyond which a primitive search is said to
#: be long (minutes or more). Measured on two cores: Cu fcc, 864 atoms, 12-rings 9.5e9 (given up after 400 s),
#: 10-rings 3.9e8 (7 s); a-SiO2, 3000 atoms, 24-rings 7.5e6 (0.1 s).
LONG_SEARCH_PAIRS = 3e9
_SUPERSCRIPT = str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹")


@dataclass(frozen=True)
class RingParams:
    """What to count as a ring.

    ``max_size`` is the largest ring in network nodes (atoms, Si and O both count: 24 = 12 Si).
    None means no limit for Guttman and King rings (each search stops at the shortest path anyway,
    as sovapy's do); primitive rings always need a limit. ``cutoffs`` are bond cutoff overrides as
    in :func:`amorpha.engine.bonds.bond_cutoffs` (None: covalent-radius defaults), for example
    ``{("Si", "O"): 2.0, ("Si", "Si"): 0, ("O", "O"): 0}``. ``count_element`` counts ring sizes
    in atoms of one element (``"Si"``: the size glass papers quote); None counts every node.
    """

    max_size: Optional[int] = 24
    definition: str = "primitive"
    cutoffs: Optional[Cutoffs] = None
    count_element: Optional[str] = None
    include_wrapping: bool = False

    def __post_init__(self):
        if self.definition not in DEFINITIONS:
            raise ValueError(f"ring definition must be one of {DEFINITIONS}, got {self.definition!r}")
        if self.max_size is None and self.definition in ("primitive", "strong"):
            raise ValueError(f"{self.definition} rings need a maximum size (max_size)")
        if self.max_size is not None and int(self.max_size) < 2:
            raise ValueError(f"max_size must be at least 2 nodes, got {self.max_size}")


@dataclass(frozen=True)
class RingResult:
    """Rings found, their shapes, and the R.I.N.G.S. statistics of the closed ones.

    Ring ``r`` is ``atoms[indptr[r]:indptr[r+1]]`` in order around the loop; ``images`` (same rows,
    int (…, 3)) are the cell shifts that unwrap it: atom positions ``pos[a] + image @ cell`` form
    the ring in real space. ``net_shift[r]`` is the shift gained once round the loop; ``wraps[r]``
    is True when it is not zero (the cycle runs through the boundary and is not a closed ring).
    Statistics arrays are indexed by counted ring size (``size_axis``).
    """

    definition: str
    max_size: Optional[int]
    count_element: Optional[str]
    include_wrapping: bool
    indptr: np.ndarray  # int64 (n_rings + 1,)
    atoms: np.ndarray  # int64 (total,)
    images: np.ndarray  # int64 (total, 3)
    sizes: np.ndarray  # int64 (n_rings,), network nodes
    sizes_counted: np.ndarray  # int64 (n_rings,), atoms of count_element (= sizes if None)
    wraps: np.ndarray  # bool (n_rings,)
    net_shift: np.ndarray  # int64 (n_rings, 3)
    roundness: np.ndarray  # float64 (n_rings,)
    roughness: np.ndarray  # float64 (n_rings,)
    n_nodes: int  # atoms of count_element (denominator of the per-node statistics)
    size_axis: np.ndarray  # int64 (m,) counted sizes 0..max
    rings_per_cell: np.ndarray  # R_C(n), float64 (m,)
    rings_per_node: np.ndarray  # R_C(n) / n_nodes
    p_n: np.ndarray  # fraction of nodes in at least one ring of size n
    p_max: np.ndarray  # fraction of nodes whose largest ring is n
    p_min: np.ndarray  # fraction of nodes whose smallest ring is n
    ring_count: np.ndarray  # int64 (n_atoms,), counted rings through each atom
    ring_min_size: np.ndarray  # int64 (n_atoms,), smallest counted ring size through it, 0 if none
    #: the supercell searched when the cell itself is too small (:func:`ring_repeats`)
    repeats: tuple[int, int, int] = (1, 1, 1)
    #: the bond cutoffs searched, ``{"Si-O": 2.0, "Si-Si": 0.0}`` (:func:`~amorpha.engine.bonds.named_cutoffs`;
    #: 0: no bond): ring counts depend on them, so exports and the window say them. None in
    #: results saved before they were kept.
    cutoffs: Optional[dict] = None

    @property
    def n_rings(self) -> int:
        return len(self.sizes)

    def problem(self, n_atoms: int) -> Optional[str]:
        """Why this result cannot belong to a model of ``n_atoms`` (None when it can): one read
        from a damaged project would index the model out of its range in the panel and viewer."""
        wrong = [k for k, kind in _PARAM_TYPES.items() if not isinstance(getattr(self, k), kind)]
        arrays = {k: getattr(self, k) for k in ("indptr", *(k for keys in _ROWS.values() for k in keys))}
        wrong += [k for k, a in arrays.items() if not isinstance(a, np.ndarray) or a.ndim == 0 or a.dtype.kind not in
                  ("iu" if k in _INDEX_ARRAYS else "b" if k == "wraps" else "iuf")]
        if wrong:
            shown = repr(getattr(self, wrong[0]))
            return f"{wrong[0]} is not what a ring search holds ({shown[:60]})"
        rows = {"rings": len(self.sizes), "ring atoms": len(self.atoms), "sizes": len(self.size_axis),
                "model atoms": n_atoms}
        for what, keys in _ROWS.items():
            for k in keys:
                if len(arrays[k]) != rows[what]:
                    return f"{k} has {len(arrays[k])} rows for {rows[what]} {what}"
        indptr = self.indptr
        if (self.images.shape[1:] != (3,) or self.net_shift.shape[1:] != (3,) or indptr.shape != (self.n_rings + 1,)
                or indptr[0] != 0 or indptr[-1] != len(self.atoms) or (np.diff(indptr) < 0).any()):
            return "its rings do not fit its ring atoms (indptr, images or net_shift)"
        outside = self.atoms[(self.atoms < 0) | (self.atoms >= n_atoms)]
        if outside.size:
            return f"a ring holds atom {int(outside[0])}, but the model has {n_atoms} atoms"
        return None

    @property
    def counted(self) -> np.ndarray:
        """Mask of the rings the statistics use (closed ones, or all with ``include_wrapping``)."""
        return np.ones(self.n_rings, bool) if self.include_wrapping else ~self.wraps

    @property
    def rings(self) -> list[np.ndarray]:
        """Each ring's atom indices in order (views)."""
        return [self.atoms[a:b] for a, b in zip(self.indptr[:-1], self.indptr[1:])]

    def ring(self, r: int) -> np.ndarray:
        return self.atoms[self.indptr[r]:self.indptr[r + 1]]

    def ring_positions(self, atoms, r: int) -> np.ndarray:
        """Unwrapped Cartesian coordinates of ring ``r``'s atoms."""
        a, b = self.indptr[r], self.indptr[r + 1]
        return atoms.positions[self.atoms[a:b]] + self.images[a:b] @ atoms.cell.array

    def histogram(self, counted_only: bool = True) -> dict[int, int]:
        """{counted size: number of rings}."""
        sel = self.counted if counted_only else np.ones(self.n_rings, bool)
        values, counts = np.unique(self.sizes_counted[sel], return_counts=True)
        return {int(v): int(c) for v, c in zip(values, counts)}

    def to_arrays(self) -> dict[str, np.ndarray]:
        return {"ring_count": self.ring_count, "ring_min_size": self.ring_min_size}

    def to_dict(self) -> dict:
        def per_size(arr):
            return {int(n): float(v) for n, v in zip(self.size_axis, arr) if v}

        return {
            "definition": self.definition,
            "max_size": self.max_size,
            "count_element": self.count_element,
            "include_wrapping": self.include_wrapping,
            "n_rings": self.n_rings,
            "n_wrapping": int(self.wraps.sum()),
            "n_nodes": self.n_nodes,
            "searched_in_supercell": list(self.repeats),
            "cutoffs": dict(self.cutoffs) if self.cutoffs is not None else None,
            "histogram": self.histogram(),
            "rings_per_cell": per_size(self.rings_per_cell),
            "rings_per_node": per_size(self.rings_per_node),
            "P_N": per_size(self.p_n),
            "P_max": per_size(self.p_max),
            "P_min": per_size(self.p_min),
            "rings": [
                {
                    "atoms": self.ring(r).tolist(),
                    "size": int(self.sizes[r]),
                    "size_counted": int(self.sizes_counted[r]),
                    "wraps": bool(self.wraps[r]),
                    "roundness": float(self.roundness[r]),
                    "roughness": float(self.roughness[r]),
                }
                for r in range(self.n_rings)
            ],
        }


#: The arrays of a RingResult by what their rows are: rings, atoms of the rings (in ring order),
#: ring sizes of the statistics, atoms of the model (:meth:`RingResult.problem`).
_ROWS = {"rings": ("sizes", "sizes_counted", "wraps", "net_shift", "roundness", "roughness"),
         "ring atoms": ("atoms", "images"),
         "sizes": ("size_axis", "rings_per_cell", "rings_per_node", "p_n", "p_max", "p_min"),
         "model atoms": ("ring_count", "ring_min_size")}
_INDEX_ARRAYS = ("indptr", "atoms", "images", "sizes", "sizes_counted", "net_shift", "size_axis", "ring_count",
                 "ring_min_size")
_PARAM_TYPES = {"definition": str, "max_size": (int, type(None)), "count_element": (str, type(None)),
                "include_wrapping": bool, "n_nodes": int, "repeats": tuple, "cutoffs": (dict, type(None))}


# --------------------------------------------------------------------------- graph


#: Atoms per chunk of :func:`_quotient_graph`, between whose chunks Cancel is seen: ~2.5 ms for
#: fcc (12 bonds each) on a free core, 10-50 times that in a worker thread (nice 10) that shares
#: the cores with the window drawing 10⁶ atoms.
GRAPH_CHUNK = 1 << 13


def _quotient_graph(nl: NeighborList, progress=None, cancel=None):
    """Simple undirected graph of the bond list: one edge per bonded pair (the first image if a
    pair is bonded through several), no bonds of an atom to its own image. Rows sorted. Built in
    chunks of atoms with Cancel checked between them: in one call on the 1.2·10⁷ bonds of 10⁶ fcc
    atoms it ran on for 1-5 s after a Cancel (more in a busy window)."""
    n = nl.n_atoms
    src_ptr, src = np.ascontiguousarray(nl.indptr, np.int64), np.ascontiguousarray(nl.indices, np.int64)
    shifts = np.asarray(nl.shifts, np.int64)
    pick = np.empty(len(src), np.int64)
    counts = np.zeros(n, np.int64)
    m = 0
    for lo, hi in chunked(n, GRAPH_CHUNK, progress, cancel, "bond network"):
        m = K.simple_rows(src_ptr, src, lo, hi, pick, counts, m)
    indptr = np.zeros(n + 1, np.int64)
    np.cumsum(counts, out=indptr[1:])
    return indptr, src[pick[:m]], shifts[pick[:m]]


def _chunk(n_items: int) -> int:
    return int(min(max(n_items // 50, 8), 2048))


def shortest_path_pairs(indptr, indices, max_size: int, samples: int = 8, seed: int = 0) -> float:
    """Estimated pairs of shortest paths a primitive search compares: the sum of σ(s, t)² over
    the atoms t within ``max_size // 2`` bonds of s (σ: how many shortest paths join them),
    averaged over ``samples`` random atoms s and scaled to all. Why σ²: every ring through s is
    closed by two shortest paths to its far side. In close packing σ grows with the distance as
    the neighbour count does; in a network glass it stays near 1."""
    n = len(indptr) - 1
    if n == 0:
        return 0.0
    rng = np.random.default_rng(seed)
    degree = np.diff(indptr)
    seen = np.zeros(n, dtype=bool)
    total = 0.0
    sources = rng.choice(n, size=min(samples, n), replace=False)
    for s in sources:
        front, sigma = np.array([s]), np.array([1.0])
        visited = [front]
        seen[s] = True
        for _ in range(max_size // 2):
            if len(front) == 0:
                break
            counts = degree[front]
            ends = np.cumsum(counts)
            slots = np.arange(ends[-1]) + np.repeat(indptr[front] - (ends - counts), counts)
            targets = indices[slots]
            weights = np.repeat(sigma, counts)
            new = ~seen[targets]
            front, where = np.unique(targets[new], return_inverse=True)
            sigma = np.bincount(where, weights=weights[new], minlength=len(front))
            seen[front] = True
            visited.append(front)
            total += float(np.sum(sigma ** 2))
        for v in visited:
            seen[v] = False
    return total / len(sources) * n


def _enumerate(indptr, indices, definition, max_size, progress, cancel):
    """Run the kernel for ``definition`` chunk by chunk; returns (flat atoms, ends) of unique rings.
    Cancel is checked between chunks and, through a :class:`StopFlag`, inside the kernels: from
    one atom of a close-packed metal a search to 24-rings runs for minutes."""
    n = len(indptr) - 1
    cur = 0
    pieces, lens = [], []

    def collect(out, ends, n_out):
        lens.append(np.diff(np.concatenate(([0], ends))))
        pieces.append(out[: ends[-1]] if n_out else out[:0])

    sa, da, qa = np.zeros(n, np.int64), np.zeros(n, np.int64), np.zeros(max(n, 1), np.int64)
    sb, db, qb = np.zeros(n, np.int64), np.zeros(n, np.int64), np.zeros(max(n, 1), np.int64)
    with StopFlag(cancel) as stop:
        if definition == "guttman":
            rows = np.repeat(np.arange(n, dtype=np.int64), np.diff(indptr))
            up = rows < indices
            eu, ev = rows[up], indices[up]
            for lo, hi in chunked(len(eu), _chunk(len(eu)), progress, cancel, "Guttman rings"):
                out, ends, n_out, cur = K.guttman_chunk(indptr, indices, eu, ev, lo, hi, max_size,
                                                        sa, da, qa, sb, db, qb, cur, stop)
                collect(out, ends, n_out)
        elif definition == "king":
            for lo, hi in chunked(n, _chunk(n), progress, cancel, "King rings"):
                out, ends, n_out, cur = K.king_chunk(indptr, indices, lo, hi, max_size,
                                                     sa, da, qa, sb, db, qb, cur, stop)
                collect(out, ends, n_out)
        else:
            stamp, dist, queue = np.zeros(n, np.int64), np.zeros(n, np.int64), np.zeros(max(n, 1), np.int64)
            mark = np.zeros(n, np.int64)
            what = "primitive rings"
            pairs = shortest_path_pairs(indptr, indices, max_size)
            if pairs > LONG_SEARCH_PAIRS:  # said while it runs: the first chunk alone may take hours
                power = f"{np.log10(pairs):.0f}".translate(_SUPERSCRIPT)
                what += (f" (a long search, ~10{power} pairs of shortest paths to compare; "
                         f"a smaller max size, or King/Guttman rings, are much faster)")
            report(progress, 0.0, what)
            for lo, hi in chunked(n, _chunk(n), progress, cancel, what):
                out, ends, n_out, cur = K.primitive_chunk(indptr, indices, lo, hi, max_size, stamp, dist,
                                                          queue, mark, sa, da, qa, sb, db, qb, cur, stop)
                collect(out, ends, n_out)
    check_cancel(cancel)  # a kernel stopped early listed only part of the rings
    flat = np.concatenate(pieces) if pieces else np.zeros(0, np.int64)
    sizes = np.concatenate(lens) if lens else np.zeros(0, np.int64)
    if definition == "primitive":  # each found once, from its smallest atom
        return flat, sizes
    return _unique_rings(flat, sizes)


def _unique_rings(flat: np.ndarray, sizes: np.ndarray):
    """Drop repeated rings (all are in canonical order); keep them sorted by size, then atoms."""
    if len(sizes) == 0:
        return flat, sizes
    width = int(sizes.max())
    padded = np.full((len(sizes), width + 1), -1, np.int64)
    padded[:, 0] = sizes
    starts = np.concatenate(([0], np.cumsum(sizes)[:-1]))
    col = np.arange(len(flat)) - np.repeat(starts, sizes)
    padded[np.repeat(np.arange(len(sizes)), sizes), col + 1] = flat
    uniq = np.unique(padded, axis=0)
    sizes = uniq[:, 0].copy()
    flat = uniq[:, 1:][uniq[:, 1:] >= 0]
    return flat, sizes


def _ring_images(indptr, indices, shifts, flat, sizes):
    """(flat, sizes, images, net shift) of rings given as flat atoms and sizes."""
    ends = np.cumsum(sizes).astype(np.int64)
    images = np.zeros((len(flat), 3), np.int64)
    net = np.zeros((len(sizes), 3), np.int64)
    K.ring_images(indptr, indices, shifts, flat, ends, images, net)
    return flat, sizes, images, net


#: Largest GF(2) basis of the cycle space the strong-ring test keeps in memory (bytes).
STRONG_BASIS_LIMIT = 1 << 30


def _edge_ids(indptr, indices):
    """Undirected edge id of every CSR slot (both directions share it) and the number of edges."""
    n = len(indptr) - 1
    rows = np.repeat(np.arange(n, dtype=np.int64), np.diff(indptr))
    key = np.minimum(rows, indices) * n + np.maximum(rows, indices)
    uniq, inverse = np.unique(key, return_inverse=True)
    return inverse.astype(np.int64).ravel(), len(uniq)


def _strong_filter(indptr, indices, flat, sizes, wraps, progress=None, cancel=None):
    """Mask of the strong rings among primitive ones (``flat``/``sizes``, every primitive ring up
    to the size limit).

    Rings are edge sets over GF(2). Sizes are taken in increasing order: an n-ring is strong when
    it is independent of a basis of the closed primitive rings smaller than n; then the strong
    closed n-rings join the basis. That basis spans every closed cycle shorter than n, because a
    cycle with a shortcut is the sum of two shorter cycles. Cycles through the periodic boundary
    (``wraps``) do not close in real space and never join the basis; like the primitive search,
    this works on the quotient graph and assumes the cell is larger than the rings.
    """
    from scipy.sparse import csr_matrix
    from scipy.sparse.csgraph import connected_components

    from ..errors import ParameterError

    n_rings = len(sizes)
    strong = np.zeros(n_rings, bool)
    if n_rings == 0:
        return strong
    n = len(indptr) - 1
    edge_id, n_edges = _edge_ids(indptr, indices)
    graph = csr_matrix((np.ones(len(indices), np.int8), indices, indptr), shape=(n, n))
    n_comp = connected_components(graph, directed=False)[0]
    words = (n_edges + 63) // 64
    max_rank = max(n_edges - n + n_comp, 1)  # dimension of the cycle space
    need = max_rank * words * 8
    if need > STRONG_BASIS_LIMIT:
        raise ParameterError(
            "definition", f"strong rings: the cycle space of this bond network ({max_rank:,} independent cycles "
            f"over {n_edges:,} bonds) needs {need / 2**30:.1f} GB; the limit is "
            f"{STRONG_BASIS_LIMIT / 2**30:.0f} GB. Use primitive rings, or a smaller model")
    basis = np.zeros((max_rank, words), np.uint64)
    pivot_row = np.full(words * 64, -1, np.int64)
    rank = 0
    starts = np.concatenate(([0], np.cumsum(sizes)[:-1])).astype(np.int64)
    order = np.argsort(sizes, kind="stable").astype(np.int64)
    bounds = np.concatenate(([0], np.flatnonzero(np.diff(sizes[order])) + 1, [n_rings]))
    step = _chunk(n_rings)
    done = 0
    for g0, g1 in zip(bounds[:-1], bounds[1:]):
        pending = []
        for lo in range(g0, g1, step):
            check_cancel(cancel)
            hi = min(lo + step, g1)
            rows = np.empty((hi - lo, words), np.uint64)
            K.ring_edge_sets(indptr, indices, edge_id, flat, starts, sizes, order, lo, hi, rows)
            independent = np.zeros(hi - lo, np.bool_)
            K.in_span(rows, basis, pivot_row, independent)
            strong[order[lo:hi]] = independent
            pending.append(rows[independent & ~wraps[order[lo:hi]]])
            done += hi - lo
            report(progress, done / n_rings, "strong rings")
        for rows in pending:  # only after the whole size: rings of equal size do not count
            rank = K.insert_rows(rows, basis, pivot_row, rank)
    return strong


#: Rings per batch of :func:`ring_principal_axes`, Cancel checked between batches (the shapes of
#: the ~4·10⁵ rings of a 10⁶-atom glass take ~5 s).
SHAPE_CHUNK = 1 << 14


def ring_principal_axes(positions, cell, atoms, images, sizes, starts, cancel: Optional[CancelFn] = None):
    """Centre (r, 3), singular values s1 >= s2 >= s3 (r, 3) and principal axes (r, 3, 3: rows
    along s1, s2, s3, right-handed) of each ring's centred, unwrapped coordinates."""
    centres = np.zeros((len(sizes), 3))
    singular = np.zeros((len(sizes), 3))
    axes = np.zeros((len(sizes), 3, 3))
    xyz = positions[atoms] + images @ cell
    batches = [(n, of_size[lo:hi]) for n in np.unique(sizes) for of_size in [np.flatnonzero(sizes == n)]
               for lo, hi in chunked(len(of_size), SHAPE_CHUNK)]
    for n, sel in batches:
        check_cancel(cancel)
        idx = starts[sel][:, None] + np.arange(n)[None, :]
        c = xyz[idx]  # (r, n, 3)
        centres[sel] = c.mean(axis=1)
        _, s, vt = np.linalg.svd(c - centres[sel][:, None, :], full_matrices=True)
        singular[sel, : s.shape[1]] = s
        vt[:, 2] = np.cross(vt[:, 0], vt[:, 1])
        axes[sel] = vt
    return centres, singular, axes


def _shapes(positions, cell, atoms, images, sizes, starts, cancel=None):
    """Roundness s2/s1 and roughness s3/sqrt(s1 s2) of each ring's centred unwrapped coordinates."""
    s = ring_principal_axes(positions, cell, atoms, images, sizes, starts, cancel)[1]
    with np.errstate(invalid="ignore", divide="ignore"):
        return s[:, 1] / s[:, 0], s[:, 2] / np.sqrt(s[:, 0] * s[:, 1])


def _statistics(n_atoms, node_mask, atoms, sizes_counted, ring_of_atom, counted):
    """R.I.N.G.S. statistics over the counted rings (see the module docstring)."""
    n_nodes = int(node_mask.sum())
    m = int(sizes_counted.max()) + 1 if len(sizes_counted) else 1
    axis = np.arange(m)
    use_ring = counted[ring_of_atom]
    a = atoms[use_ring]
    sz = sizes_counted[ring_of_atom][use_ring]
    ring_count = np.bincount(a, minlength=n_atoms).astype(np.int64)
    big = np.iinfo(np.int64).max
    ring_min = np.full(n_atoms, big, np.int64)
    np.minimum.at(ring_min, a, sz)
    ring_max = np.full(n_atoms, -1, np.int64)
    np.maximum.at(ring_max, a, sz)
    has = ring_count > 0
    ring_min_size = np.where(has, ring_min, 0)
    rc = np.bincount(sizes_counted[counted], minlength=m).astype(float)[:m]
    denom = max(n_nodes, 1)
    # P_N: nodes (of the counted element) with at least one ring of size n
    node = node_mask[a]
    pairs = np.unique(a[node] * m + sz[node])
    p_n = np.bincount(pairs % m, minlength=m)[:m] / denom
    sel = has & node_mask
    p_max = np.bincount(ring_max[sel], minlength=m)[:m] / denom
    p_min = np.bincount(ring_min[sel], minlength=m)[:m] / denom
    return dict(
        n_nodes=n_nodes, size_axis=axis, rings_per_cell=rc, rings_per_node=rc / denom,
        p_n=p_n, p_max=p_max, p_min=p_min, ring_count=ring_count, ring_min_size=ring_min_size,
    )


#: Largest supercell (atoms) :func:`compute_rings` builds by itself for a cell too small.
MAX_SUPERCELL_ATOMS = 200_000


def _searched_cell(atoms, cutoffs: Optional[Cutoffs], max_size: int, nl: NeighborList,
                   progress: Optional[ProgressFn] = None, cancel: Optional[CancelFn] = None):
    """(cell to search, its repeats of ``atoms``, its bonds): ``atoms`` itself (with its bonds
    ``nl``) when every ring of up to ``max_size`` atoms is a ring of distinct atoms of the cell,
    else a supercell.

    The rings are searched on the quotient graph (one node per atom). In a small cell a ring can
    pass two images of one atom (α-quartz's 8-rings in its 9-atom cell), which no cycle of
    distinct atoms represents: the unit cell's search found no ring at all, a 2×2×2 quartz cell
    one 8-ring per Si for five. That happens exactly when some atom reaches one of its own images
    in at most ``max_size / 2`` bonds (:func:`_shortest_wrap`), so the cell is
    repeated along the axes of that path until none does. The MD glasses of the usual sizes (999
    atoms, 24.7 Å: 20 bonds) are searched as they are, as every peer searches them.
    """
    limit = int(max_size) // 2
    pbc = np.asarray(atoms.pbc, bool)
    long = long_cutoffs(bond_cutoffs(atoms.numbers, cutoffs))
    because = f" with {long_cutoffs_text(long)}" if long else ""
    reps = np.ones(3, np.int64)
    current = atoms
    while pbc.any() and limit >= 1:
        longest = float(nl.distances.max()) if len(nl.distances) else 0.0
        spacing = 1.0 / np.linalg.norm(np.linalg.inv(current.cell.array).T[pbc], axis=1)
        if longest == 0.0 or spacing.min() > limit * longest:  # no path of `limit` bonds reaches an image
            break
        length, shift = _shortest_wrap(nl, limit, progress, cancel)
        if length > limit:
            break
        grow = (shift != 0) & pbc
        # wraps lengthen in proportion to the cell: one step to (about) long enough
        reps[grow] *= max(2, -(-(limit + 1) // int(length)))
        supercell = "×".join(map(str, reps))
        if len(atoms) * int(np.prod(reps)) > MAX_SUPERCELL_ATOMS:
            raise ParameterError("max_size", f"the cell is too small for rings of {max_size} atoms (an atom "
                                 f"reaches its own image in {length} bonds{because}), and the supercell that "
                                 f"would hold them ({supercell}) has more than {MAX_SUPERCELL_ATOMS:,} atoms; "
                                 f"{'shorten the cutoff, ' if because else ''}lower Max size or build a supercell")
        report(progress, 0.0, f"the cell is too small for rings of {max_size} atoms{because}: searching a "
                              f"{supercell} supercell")
        current = atoms.repeat(tuple(int(r) for r in reps))
        nl = bonds(current, cutoffs, progress=progress, cancel=cancel)
    return current, tuple(int(r) for r in reps), nl


#: Atoms per chunk of :func:`_shortest_wrap`, between whose chunks progress is reported and
#: Cancel checked (the kernel also stops between atoms on the :class:`StopFlag`).
WRAP_CHUNK = 512


def _shortest_wrap(nl: NeighborList, limit: int, progress=None, cancel=None) -> tuple[int, np.ndarray]:
    """(length, net shift) of the shortest path of at most ``limit`` bonds from an atom to one of
    its own images (``limit + 1``, zeros when there is none): :func:`~.ring_kernels.shortest_wrap_chunk`
    over chunks of atoms. One call over a 10 Å Si–O cutoff's 4×4×4 supercell (64·10³ atoms,
    4·10⁶ bonds) ran for minutes and past Cancel, so it is chunked and hears Cancel."""
    n = nl.n_atoms
    indptr = np.ascontiguousarray(nl.indptr, np.int64)
    indices = np.ascontiguousarray(nl.indices, np.int64)
    shifts = np.ascontiguousarray(nl.shifts, np.int64).reshape(-1, 3)
    best, best_shift = limit + 1, np.zeros(3, np.int64)
    dist, off, queue = np.full(n, -1, np.int64), np.zeros((n, 3), np.int64), np.empty(max(n, 1), np.int64)
    with StopFlag(cancel) as stop:
        for lo, hi in chunked(n, WRAP_CHUNK, progress, cancel, "checking the cell size for rings"):
            best = K.shortest_wrap_chunk(indptr, indices, shifts, lo, hi, best, best_shift, dist, off, queue, stop)
    check_cancel(cancel)  # a kernel stopped early has not seen every atom
    return int(best), best_shift


def ring_repeats(atoms, cutoffs: Optional[Cutoffs], max_size: int,
                 neighbors: Optional[NeighborList] = None) -> tuple[int, int, int]:
    """How many times :func:`compute_rings` repeats ``atoms``' cell along each axis to find its
    rings of up to ``max_size`` atoms: (1, 1, 1) when the cell is large enough (see
    :func:`_searched_cell`)."""
    return _searched_cell(atoms, cutoffs, max_size, bonds(atoms, cutoffs, neighbors=neighbors))[1]


def _fold(ring_atoms: np.ndarray, ring_images: np.ndarray, sizes: np.ndarray, net: np.ndarray,
          n_atoms: int, reps) -> tuple:
    """Rings found in ``atoms.repeat(reps)`` as rings of ``atoms``: each atom as its original
    index with the original cell's image shift, one ring kept of each set of translates (every
    ring of the crystal is found once per repeated cell). A ring may now pass an atom twice,
    in two images. Cycles through the supercell's boundary are dropped: they belong to the
    supercell chosen, not to the model. Returns (flat, sizes, images, net) like
    :func:`_ring_images`."""
    reps = np.asarray(reps, np.int64)
    block = ring_atoms // n_atoms  # ASE's repeat: blocks of the original atoms, last axis fastest
    offset = np.stack([block // (reps[1] * reps[2]), (block // reps[2]) % reps[1], block % reps[2]], axis=1)
    original = ring_atoms % n_atoms
    shift = offset + ring_images * reps
    keep, seen, start = [], set(), 0
    for r, size in enumerate(sizes):
        o, v = original[start:start + size], shift[start:start + size]
        if np.any(net[r]):
            start += size
            continue
        first = min(range(size), key=lambda k: (o[k], *v[k]))  # the same atom of every translate
        v = v - v[first]
        key = frozenset(zip(o.tolist(), map(tuple, v.tolist())))
        if key not in seen:
            seen.add(key)
            keep.append(r)
            shift[start:start + size] = v
        start += size
    per_atom = np.repeat(np.isin(np.arange(len(sizes)), keep), sizes)
    return original[per_atom], sizes[keep], shift[per_atom], net[keep] * reps


#: The ring size (atoms) a cell is first checked for when Guttman or King rings have no limit.
UNLIMITED_CHECK = 24


def _search(searched, graph, params: RingParams, n_atoms: int, reps, progress, cancel):
    """(flat, sizes, images, net) of the rings of the cell ``searched`` (its bond graph ``graph``:
    :func:`_quotient_graph`), folded back to the ``n_atoms`` of the model when it is a supercell
    of it."""
    indptr, indices, shifts = graph
    max_size = int(params.max_size) if params.max_size is not None else len(searched) + 1
    strong = params.definition == "strong"
    flat, sizes = _enumerate(indptr, indices, "primitive" if strong else params.definition, max_size,
                             sub_progress(progress, 0.05, 0.7 if strong else 0.95), cancel)
    flat, sizes, images, net = _ring_images(indptr, indices, shifts, flat, sizes)
    if strong:
        keep = _strong_filter(indptr, indices, flat, sizes, np.any(net != 0, axis=1),
                              sub_progress(progress, 0.7, 0.95), cancel)
        per_atom = np.repeat(keep, sizes)
        flat, images, sizes, net = flat[per_atom], images[per_atom], sizes[keep], net[keep]
    if reps != (1, 1, 1):
        flat, sizes, images, net = _fold(flat, images, sizes, net, n_atoms, reps)
    return flat, sizes, images, net


def compute_rings(
    atoms,
    params: RingParams = RingParams(),
    neighbors: Optional[NeighborList] = None,
    progress: Optional[ProgressFn] = None,
    cancel: Optional[CancelFn] = None,
) -> RingResult:
    """Rings of ``atoms``' bond network under ``params`` (see the module docstring).

    ``neighbors`` is a reused neighbour list reaching the longest bond cutoff (it is filtered to
    bonds, not rebuilt). A cell too small for rings of ``max_size`` atoms is searched as the
    supercell :func:`ring_repeats` names and the rings folded back (``RingResult.repeats``).
    """
    n_atoms = len(atoms)
    numbers = np.asarray(atoms.numbers, np.int64)
    # Guttman and King rings without a limit: the cell must hold the largest ring found (each
    # search stops at a shortest path, so that is where they end); 24 atoms to begin with
    check = int(params.max_size) if params.max_size is not None else UNLIMITED_CHECK
    cell_bonds = bonds(atoms, params.cutoffs, neighbors=neighbors, progress=sub_progress(progress, 0.0, 0.04),
                       cancel=cancel)
    graph = _quotient_graph(cell_bonds, sub_progress(progress, 0.04, 0.05), cancel)
    found = None
    while True:
        searched, reps, nl = _searched_cell(atoms, params.cutoffs, check, cell_bonds,
                                            sub_progress(progress, 0.05, 0.05), cancel)
        if found is not None and reps == found[-1]:
            break  # the larger check needs no larger cell: the rings found stand
        searched_graph = graph if reps == (1, 1, 1) else _quotient_graph(nl, cancel=cancel)
        found = (*_search(searched, searched_graph, params, n_atoms, reps, progress, cancel), reps)
        largest = int(found[1].max()) if len(found[1]) else 0
        if params.max_size is not None or largest <= check:
            break
        check = largest
    flat, sizes, images, net, reps = found
    ends = np.cumsum(sizes).astype(np.int64)
    ring_indptr = np.concatenate(([0], ends)).astype(np.int64)
    wraps = np.any(net != 0, axis=1)

    if params.count_element is not None:
        z = number(params.count_element) if isinstance(params.count_element, str) else int(params.count_element)
        node_mask = numbers == z
    else:
        node_mask = np.ones(n_atoms, bool)
    ring_of_atom = np.repeat(np.arange(len(sizes)), sizes)
    sizes_counted = (np.bincount(ring_of_atom, weights=node_mask[flat], minlength=len(sizes))
                     .astype(np.int64) if len(sizes) else np.zeros(0, np.int64))
    positions = np.asarray(atoms.positions, np.float64)
    cell = np.asarray(atoms.cell.array, np.float64)
    roundness, roughness = _shapes(positions, cell, flat, images, sizes, ring_indptr[:-1], cancel)
    check_cancel(cancel)
    counted = np.ones(len(sizes), bool) if params.include_wrapping else ~wraps
    stats = _statistics(n_atoms, node_mask, flat, sizes_counted, ring_of_atom, counted)
    report(progress, 1.0, "rings done")
    count_element = params.count_element
    if count_element is not None and not isinstance(count_element, str):
        count_element = symbol(int(count_element))
    return RingResult(
        definition=params.definition, max_size=params.max_size, count_element=count_element,
        include_wrapping=params.include_wrapping, indptr=ring_indptr, atoms=flat, images=images,
        sizes=sizes.astype(np.int64), sizes_counted=sizes_counted, wraps=wraps, net_shift=net,
        roundness=roundness, roughness=roughness, repeats=reps,
        cutoffs=named_cutoffs(bond_cutoffs(numbers, params.cutoffs)), **stats,
    )


#: The common name of the analysis entry point.
compute = compute_rings


def warm_up() -> None:
    """Compile (or load from cache) every ring kernel on a tiny periodic ring network."""
    from ase import Atoms

    # a 6-ring in a box, plus a chain through the boundary: rings and a wrapping cycle
    ang = np.arange(6) * np.pi / 3
    pos = np.c_[2 + 1.2 * np.cos(ang), 2 + 1.2 * np.sin(ang), np.full(6, 2.0)]
    pos = np.vstack([pos, [[0.5, 6.0, 2.0], [2.0, 6.0, 2.0], [3.5, 6.0, 2.0]]])
    atoms = Atoms("C9", positions=pos, cell=[4.5, 8.0, 4.0], pbc=True)
    for definition in DEFINITIONS:
        compute_rings(atoms, RingParams(max_size=8, definition=definition, cutoffs={("C", "C"): 1.6}))


#: The R.I.N.G.S. statistics of ``RingResult.to_dict()``, in the order of the CSV columns.
RING_STATISTICS = ["rings_per_cell", "rings_per_node", "P_N", "P_max", "P_min"]
RING_STATISTICS_HEADER = ["size", "R_C", "R_C_per_node", "P_N", "P_max", "P_min"]


def ring_statistics_rows(stats: dict) -> list[list]:
    """CSV rows (size, R_C, R_C per node, P_N, P_max, P_min; ``.6g``) of one ``to_dict()``: every
    counted size with a non-zero statistic, in size order. The Rings panel's export and
    ``amorpha-cli rings`` both write these rows, so their files agree."""
    sizes = sorted({int(n) for key in RING_STATISTICS for n in stats[key]})
    rows = []
    for n in sizes:
        if n == 0:
            continue
        values = [stats[key].get(n, stats[key].get(str(n), 0.0)) for key in RING_STATISTICS]
        rows.append([n, *(f"{float(v):.6g}" for v in values)])
    return rows


def ring_file_comments(result: RingResult, source: str = "") -> list[str]:
    """The ``#`` lines both ring exports begin with: the search, the bond cutoffs it used (ring
    counts depend on them: a-Si's histogram changed completely between 2.66 and 2.4 Å) and the
    structure, so a file can be reproduced and compared."""
    unit = f"{result.count_element} atoms" if result.count_element else "atoms"
    lines = [f"rings: {result.definition}, max size {result.max_size} atoms, sizes counted in {unit}"]
    if result.cutoffs is not None:
        lines.append(f"bond cutoffs: {cutoffs_text(result.cutoffs)}")
    if source:
        lines.append(f"structure: {source}")
    return lines


def write_ring_statistics(result: RingResult, path, source: str = "") -> None:
    """R.I.N.G.S. statistics per counted ring size as CSV (``#`` lines describe the search,
    :func:`ring_file_comments`; ``source`` names the structure)."""
    from ..atomic import write_table

    comments = [*ring_file_comments(result, source),
                f"{result.n_rings} rings, {int(result.wraps.sum())} run through the periodic boundary "
                f"({'counted' if result.include_wrapping else 'not counted'}); N = {result.n_nodes} nodes"]
    write_table(path, comments, RING_STATISTICS_HEADER, ring_statistics_rows(result.to_dict()))


def write_ring_table(result: RingResult, path, source: str = "") -> None:
    """Every ring as a CSV row (the Rings panel's table): its index, size in atoms and counted,
    whether it runs through the boundary, roundness, roughness and its atoms in order round it
    (space-separated indices of the model). ``#`` lines as :func:`write_ring_statistics`."""
    from ..atomic import write_table

    comments = [*ring_file_comments(result, source),
                "wraps = 1: a cycle through the periodic boundary, not a closed ring (not counted)"]
    rows = [[r, int(result.sizes[r]), int(result.sizes_counted[r]), int(result.wraps[r]),
             f"{result.roundness[r]:.6g}", f"{result.roughness[r]:.6g}", " ".join(map(str, result.ring(r).tolist()))]
            for r in range(result.n_rings)]
    write_table(path, comments, ["ring", "size", "size_counted", "wraps", "roundness", "roughness", "atoms"], rows)

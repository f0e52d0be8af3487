"""Cell-list neighbour search -> :class:`NeighborList` (CSR rows of neighbours, image shifts).

Every analysis that needs neighbours takes a ``NeighborList`` instead of searching itself, so one
search serves bonds, coordination, angles and rings. The search works on any periodic triclinic
cell (each direction periodic or not), on open boundaries (no cell), and on cutoffs longer than
the cell (an atom then also sees its own periodic images), with the same pairs and image shifts
as ``ase.neighborlist.neighbor_list(..., self_interaction=False)``.

How it stays fast and small:

* atoms are binned on a grid of the (wrapped) fractional coordinates and sorted by bin, so the
  atoms of one bin are contiguous in memory and neighbouring atoms are searched together;
* the stencil of neighbouring bins is computed once, dropping bins whose parallelepiped lies
  farther than the cutoff (this matters for skewed cells), and halved: each pair is found once
  and written to both rows;
* per bin, the candidates of all stencil bins are copied into one buffer, so each atom runs one
  long, well-predicted loop;
* the search runs once: it counts neighbours per atom and keeps each pair compactly (two int32
  sorted indices and an int16 wrap code, an eighth of the pair's output); the exactly sized
  CSR list is then filled from those, recomputing each distance. Peak memory is the output,
  an eighth of it and O(atoms); between chunks :func:`amorpha.engine.tasks.chunked` reports
  progress and checks ``cancel``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional

import numpy as np
from numba import njit

from .tasks import CancelFn, ProgressFn, chunked, sub_progress

#: Atoms per chunk between progress/cancel checks (~0.1 s of work at 10^6 atoms, 5 Å).
CHUNK_ATOMS = 50_000
#: Relative margin on the cutoff when choosing bins, so rounding never drops a pair.
_MARGIN = 1e-9
#: Output pairs per page-touching chunk, and 8-byte items per 4 KiB page.
_TOUCH_CHUNK = 4_000_000
_PAGE_ITEMS = 512
#: Bin width as a fraction of the cutoff, and the fewest atoms a bin should hold on average
#: (measured best on a-SiO2 at 2 and 5 Å: larger bins test more pairs, smaller ones cost more
#: per bin than they save).
_BIN_FRACTION = 1.0
_ATOMS_PER_BIN = 1.0
#: atoms × stencil offsets below which the stencil is not pruned (:func:`_stencil`)
_PRUNE_WORK = 20_000
#: First guess of pairs per atom (each counted once) when sizing the pair buffers; later
#: chunks use the average found so far, plus 10 %.
_PAIRS_PER_ATOM = 4.0


@njit(nogil=True, cache=True, inline="always")
def pair_vector(i, j, p, pos, cell, shifts):
    """Vector from atom ``i`` to neighbour ``j`` (CSR slot ``p``) including its image shift."""
    s0 = shifts[p, 0]
    s1 = shifts[p, 1]
    s2 = shifts[p, 2]
    dx = pos[j, 0] - pos[i, 0] + s0 * cell[0, 0] + s1 * cell[1, 0] + s2 * cell[2, 0]
    dy = pos[j, 1] - pos[i, 1] + s0 * cell[0, 1] + s1 * cell[1, 1] + s2 * cell[2, 1]
    dz = pos[j, 2] - pos[i, 2] + s0 * cell[0, 2] + s1 * cell[1, 2] + s2 * cell[2, 2]
    return dx, dy, dz


@dataclass(frozen=True)
class NeighborList:
    """Full neighbour list in CSR form: the neighbours of atom ``i`` are rows ``indptr[i]:indptr[i+1]``.

    Both directions of each pair are stored. ``shifts[k]`` is the integer image ``S`` so that the
    pair vector is ``positions[j] + S @ cell - positions[i]`` (ASE's ``'S'``).
    """

    indptr: np.ndarray  # int64 (n + 1,)
    indices: np.ndarray  # int64 (nnz,)
    distances: np.ndarray  # float64 (nnz,)
    shifts: np.ndarray  # int64 (nnz, 3)
    cutoff: float

    @property
    def n_atoms(self) -> int:
        return len(self.indptr) - 1

    @property
    def n_pairs(self) -> int:
        """Number of stored (directed) pairs, i.e. twice the number of bonds."""
        return len(self.indices)

    def counts(self) -> np.ndarray:
        """Number of neighbours of each atom (int64)."""
        return np.diff(self.indptr)

    def neighbors_of(self, i: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(indices, distances, shifts) of atom ``i``'s neighbours (views, not copies)."""
        lo, hi = self.indptr[i], self.indptr[i + 1]
        return self.indices[lo:hi], self.distances[lo:hi], self.shifts[lo:hi]

    def pairs(self) -> tuple[np.ndarray, np.ndarray]:
        """(i, j) arrays over all stored pairs, i.e. the CSR rows expanded."""
        return _expand_rows(self.indptr), self.indices

    def vectors(self, atoms) -> np.ndarray:
        """(nnz, 3) pair vectors ``positions[j] + S @ cell - positions[i]`` for these atoms."""
        pos = np.asarray(atoms.positions, dtype=np.float64)
        cell = np.asarray(atoms.cell.array, dtype=np.float64)
        i, j = self.pairs()
        return pos[j] - pos[i] + self.shifts @ cell

    def filter(self, mask: np.ndarray) -> "NeighborList":
        """A new list keeping the pairs where ``mask`` (bool, one per stored pair) is True."""
        mask = np.asarray(mask, dtype=bool)
        if mask.shape != self.indices.shape:
            raise ValueError(f"mask has shape {mask.shape}, expected ({self.n_pairs},)")
        indptr, indices, distances, shifts = _compress(
            mask, np.ascontiguousarray(self.indptr, np.int64), np.ascontiguousarray(self.indices, np.int64),
            np.ascontiguousarray(self.distances, np.float64), np.ascontiguousarray(self.shifts, np.int64))
        return NeighborList(indptr, indices, distances, shifts, self.cutoff)

    @classmethod
    def empty(cls, n_atoms: int, cutoff: float) -> "NeighborList":
        return cls(
            np.zeros(n_atoms + 1, np.int64),
            np.zeros(0, np.int64),
            np.zeros(0, np.float64),
            np.zeros((0, 3), np.int64),
            float(cutoff),
        )


@njit(nogil=True, cache=True)
def _compress(mask, indptr, indices, distances, shifts):
    """The CSR arrays keeping the pairs where ``mask`` is True, without the GIL: numpy's boolean
    indexing of the (n, 3) shifts held it ~0.1 s for the 10⁷ pairs of 10⁶ atoms."""
    m = 0
    for p in range(mask.shape[0]):
        m += mask[p]
    kept_indices = np.empty(m, np.int64)
    kept_distances = np.empty(m, np.float64)
    kept_shifts = np.empty((m, 3), np.int64)
    kept_indptr = np.zeros(indptr.shape[0], np.int64)
    q = 0
    for a in range(indptr.shape[0] - 1):
        for p in range(indptr[a], indptr[a + 1]):
            if mask[p]:
                kept_indices[q] = indices[p]
                kept_distances[q] = distances[p]
                kept_shifts[q, 0] = shifts[p, 0]
                kept_shifts[q, 1] = shifts[p, 1]
                kept_shifts[q, 2] = shifts[p, 2]
                q += 1
        kept_indptr[a + 1] = q
    return kept_indptr, kept_indices, kept_distances, kept_shifts


# --------------------------------------------------------------------------- geometry (numpy)


def _search_basis(cell: np.ndarray, pbc: np.ndarray) -> np.ndarray:
    """Rows spanning space: the cell vectors of periodic directions, orthonormal complement else.

    Non-periodic directions never wrap, so any basis that is well conditioned will do; using the
    complement makes a zero or degenerate cell vector harmless there.
    """
    periodic = [cell[d] for d in range(3) if pbc[d]]
    for d in range(3):
        if pbc[d] and not np.linalg.norm(cell[d]) > 0:
            raise ValueError(f"cell vector {d} is zero but the cell is periodic along it")
    basis = np.zeros((3, 3))
    if periodic:
        p = np.array(periodic)
        if np.linalg.matrix_rank(p, tol=1e-10 * np.abs(p).max()) < len(periodic):
            raise ValueError("the periodic cell vectors are linearly dependent (degenerate cell)")
        # Complement of the periodic span from an SVD: the last right-singular vectors.
        _, _, vt = np.linalg.svd(np.vstack([p, np.zeros((3 - len(p), 3))]))
        complement = list(vt[len(periodic):])
    else:
        complement = list(np.eye(3))
    for d in range(3):
        basis[d] = cell[d] if pbc[d] else complement.pop(0)
    return basis


def _grid(positions, basis, pbc, cutoff, n):
    """Bins per direction, their fractional origin and width, and the search reach in bins."""
    inv = np.linalg.inv(basis)
    heights = 1.0 / np.linalg.norm(inv, axis=0)  # distance between lattice planes of each row
    lo = np.zeros(3)
    span = np.ones(3)
    for d in range(3):
        if not pbc[d] and n:
            f = positions @ inv[:, d]
            lo[d] = f.min()
            span[d] = max(f.max() - lo[d], 1e-12)
    extent = span * heights  # Å across the region along each direction
    # Bins of about half the cutoff (a tighter stencil) but not much emptier than one atom:
    # below that the per-bin overhead costs more than the extra pairs tested.
    volume = float(np.prod(span) * abs(np.linalg.det(basis)))
    density = max(n, 1) / max(volume, 1e-300)
    width = max(cutoff * _BIN_FRACTION, (_ATOMS_PER_BIN / density) ** (1.0 / 3.0))
    nbins = np.maximum(np.floor(extent / width), 1).astype(np.int64)
    cap = max(2 * n, 8)
    while np.prod(nbins) > cap:  # sparse or huge regions: never more bins than ~atoms
        nbins = np.maximum((nbins / 1.5).astype(np.int64), 1)
    frac_width = span / nbins
    reach = np.ceil(cutoff * (1 + _MARGIN) / (heights * frac_width)).astype(np.int64)
    for d in range(3):
        if not pbc[d]:
            reach[d] = min(reach[d], nbins[d] - 1)
    return inv, lo, frac_width, nbins, reach


def _stencil(basis, frac_width, reach, cutoff, n_atoms) -> np.ndarray:
    """Half stencil: bin offsets (k, 3) whose bins can hold a point within ``cutoff`` of bin 0.

    Below :data:`_PRUNE_WORK` atoms × offsets every offset is kept: the pair loop tests
    distances anyway, and for a molecule the pruning (~1.5 ms) costs more than the search.

    The difference of two points in bins 0 and ``o`` is ``sum_d (o_d + t_d) w_d B_d`` with each
    ``t_d`` in [-1, 1]; its smallest norm is a box-constrained least-squares problem, solved
    exactly by trying every active set (each ``t_d`` free, -1 or +1) and keeping the best
    feasible answer.
    """
    axes = [np.arange(-r, r + 1) for r in reach]
    offsets = np.stack(np.meshgrid(*axes, indexing="ij"), -1).reshape(-1, 3).astype(np.int64)
    if n_atoms * len(offsets) < _PRUNE_WORK:
        return _half(offsets, reach, np.ones(len(offsets), bool))
    a = (basis * frac_width[:, None]).T  # columns w_d B_d
    c = offsets @ a.T  # centre of the difference box, (k, 3)
    best = np.full(len(offsets), np.inf)
    for pattern in np.ndindex(3, 3, 3):  # 0 free, 1 at -1, 2 at +1
        free = [d for d in range(3) if pattern[d] == 0]
        t = np.zeros((len(offsets), 3))
        for d in range(3):
            if pattern[d]:
                t[:, d] = -1.0 if pattern[d] == 1 else 1.0
        if free:
            af = a[:, free]
            rhs = -(c + t @ a.T) @ af  # (k, f)
            t[:, free] = np.linalg.solve(af.T @ af, rhs.T).T
            ok = np.all(np.abs(t[:, free]) <= 1.0 + 1e-12, axis=1)
        else:
            ok = np.ones(len(offsets), bool)
        dist = np.linalg.norm(c + np.clip(t, -1, 1) @ a.T, axis=1)
        best = np.where(ok, np.minimum(best, dist), best)
    return _half(offsets, reach, best <= cutoff * (1 + _MARGIN) + 1e-12)


def _half(offsets, reach, keep) -> np.ndarray:
    """The zero offset first, then the kept offsets after it in lexicographic order (the kept
    set is symmetric, so each -offset twin is dropped)."""
    flat = (offsets[:, 0] * (2 * reach[1] + 1) + offsets[:, 1]) * (2 * reach[2] + 1) + offsets[:, 2]
    half = offsets[keep & (flat > 0)]
    return np.ascontiguousarray(np.vstack([np.zeros((1, 3), np.int64), half]))


# --------------------------------------------------------------------------- kernels


@njit(nogil=True, cache=True)
def _expand_rows(indptr):
    """Row index of every CSR entry (np.repeat holds the GIL: ~0.1 s for 10^6 atoms' pairs)."""
    rows = np.empty(indptr[-1], np.int64)
    for i in range(indptr.shape[0] - 1):
        for p in range(indptr[i], indptr[i + 1]):
            rows[p] = i
    return rows


@njit(nogil=True, cache=True)
def _bin_atoms(positions, inv, periodic, lo, frac_width, nbins, bin_of, image):
    """Bin index of each atom and the whole cells ``image`` its wrapped copy was moved by."""
    for a in range(positions.shape[0]):
        b = 0
        for d in range(3):
            f = positions[a, 0] * inv[0, d] + positions[a, 1] * inv[1, d] + positions[a, 2] * inv[2, d]
            if periodic[d]:
                fl = math.floor(f)
                image[a, d] = np.int32(fl)
                f -= fl
            else:
                image[a, d] = 0
            k = np.int64((f - lo[d]) / frac_width[d])
            k = min(max(k, 0), nbins[d] - 1)
            b = b * nbins[d] + k
        bin_of[a] = b


@njit(nogil=True, cache=True)
def _sort_by_bin(positions, basis, bin_of, image, bin_start, order, pos_sorted, image_sorted):
    """Counting sort by bin: ``order`` lists atoms bin by bin, ``bin_start`` is its CSR pointer.

    The wrapped positions and image offsets are written in bin order (contiguous per bin) in
    the same sweep, which reads the inputs in order instead of gathering them at random.
    """
    bin_start[:] = 0
    for a in range(bin_of.shape[0]):
        bin_start[bin_of[a] + 1] += 1
    for b in range(bin_start.shape[0] - 1):
        bin_start[b + 1] += bin_start[b]
    cursor = bin_start[:-1].copy()
    for a in range(bin_of.shape[0]):
        b = bin_of[a]
        k = cursor[b]
        cursor[b] = k + 1
        order[k] = a
        for d in range(3):
            image_sorted[k, d] = image[a, d]
        for c in range(3):
            pos_sorted[k, c] = (
                positions[a, c]
                - image[a, 0] * basis[0, c]
                - image[a, 1] * basis[1, c]
                - image[a, 2] * basis[2, c]
            )


@njit(nogil=True, cache=True)
def _find_pairs(bin_lo, bin_hi, atom_lo, pos, order, bin_start, nbins, periodic, basis,
                stencil, max_per_bin, cutoff2, wrap_reach, counts, pair_k, pair_m, pair_w):
    """Find the pairs of bins ``bin_lo:bin_hi`` once: store them compactly, count them per row.

    ``stencil`` is the half stencil (zero offset first, then one of each +-offset pair), so each
    pair is found once. It is appended to ``pair_k``/``pair_m`` (sorted indices) and ``pair_w``
    (code of the whole-cell wrap of ``m``'s bin, see :func:`_wrap_tables`), and counted in both
    rows of ``counts`` (indexed by original atom). Keeping the pairs (10 bytes each, an eighth
    of their output) lets the output be filled without searching again.

    Starts at sorted atom ``atom_lo`` if that lies in bin ``bin_lo``. Stops before an atom whose
    pairs might not fit the buffers and returns ``(bin, atom, n_pairs)``: the caller goes on
    from there with fresh buffers (``bin == bin_hi`` when done), so a buffer only ever needs
    room for one atom's candidates beyond the expected pairs.

    For each bin the candidate atoms of all its stencil bins are first copied, already shifted,
    into one contiguous buffer: each atom then scans a single long loop, instead of many short
    ones whose exits the CPU cannot predict.
    """
    ny, nz = nbins[1], nbins[2]
    n_stencil = stencil.shape[0]
    size = n_stencil * max_per_bin
    capacity = pair_k.shape[0]
    n_pairs = 0
    bx = np.empty(size, np.float64)
    by = np.empty(size, np.float64)
    bz = np.empty(size, np.float64)
    bm = np.empty(size, np.int32)  # sorted atom index of each candidate
    bw = np.empty(size, np.int32)  # wrap code of its bin
    hits = np.empty(size, np.int32)  # candidates of one atom within the cutoff
    span = 2 * wrap_reach + 1
    no_wrap = (wrap_reach * span + wrap_reach) * span + wrap_reach
    wraps = np.zeros(3, np.int64)
    reach = np.zeros(3, np.int64)
    flat_offset = np.empty(n_stencil, np.int64)
    for s in range(n_stencil):
        flat_offset[s] = (stencil[s, 0] * ny + stencil[s, 1]) * nz + stencil[s, 2]
        for d in range(3):
            reach[d] = max(reach[d], abs(stencil[s, d]))
    # Stencil entries one bin apart along z hold consecutive sorted atoms (away from edges):
    # runs of them, as flat offsets of their first and last bin, are copied as one range each.
    run_first = np.empty(n_stencil, np.int64)
    run_last = np.empty(n_stencil, np.int64)
    n_runs = 0
    for s in range(n_stencil):
        if (s > 0 and flat_offset[s] == run_last[n_runs - 1] + 1
                and stencil[s, 0] == stencil[s - 1, 0] and stencil[s, 1] == stencil[s - 1, 1]):
            run_last[n_runs - 1] = flat_offset[s]
        else:
            run_first[n_runs] = run_last[n_runs] = flat_offset[s]
            n_runs += 1
    # Grid coordinates of bin ``c``, stepped along with it (cheaper than three divisions).
    cell_index = np.array([bin_lo // (ny * nz), (bin_lo // nz) % ny, bin_lo % nz - 1])
    for c in range(bin_lo, bin_hi):
        cell_index[2] += 1
        if cell_index[2] == nz:
            cell_index[2] = 0
            cell_index[1] += 1
            if cell_index[1] == ny:
                cell_index[1] = 0
                cell_index[0] += 1
        i0, i1 = bin_start[c], bin_start[c + 1]
        if i0 == i1:
            continue
        # Bins at least the stencil's reach away from every edge need no wrapping: their
        # targets are a fixed offset away in the flat bin index (most bins in big systems).
        interior = True
        for d in range(3):
            if cell_index[d] < reach[d] or cell_index[d] >= nbins[d] - reach[d]:
                interior = False
        n_buf = 0
        if interior:
            for r in range(n_runs):
                for m in range(bin_start[c + run_first[r]], bin_start[c + run_last[r] + 1]):
                    bx[n_buf] = pos[m, 0]
                    by[n_buf] = pos[m, 1]
                    bz[n_buf] = pos[m, 2]
                    bm[n_buf] = m
                    bw[n_buf] = no_wrap
                    n_buf += 1
        else:
            for s in range(n_stencil):
                tb = 0
                for d in range(3):
                    td = cell_index[d] + stencil[s, d]
                    w = 0
                    if periodic[d]:
                        while td < 0:  # usually one step at most; cheaper than a division
                            td += nbins[d]
                            w -= 1
                        while td >= nbins[d]:
                            td -= nbins[d]
                            w += 1
                    elif td < 0 or td >= nbins[d]:
                        tb = -1
                        break
                    wraps[d] = w
                    tb = tb * nbins[d] + td
                if tb < 0:
                    continue
                code = ((wraps[0] + wrap_reach) * span + wraps[1] + wrap_reach) * span \
                    + wraps[2] + wrap_reach
                vx = wraps[0] * basis[0, 0] + wraps[1] * basis[1, 0] + wraps[2] * basis[2, 0]
                vy = wraps[0] * basis[0, 1] + wraps[1] * basis[1, 1] + wraps[2] * basis[2, 1]
                vz = wraps[0] * basis[0, 2] + wraps[1] * basis[1, 2] + wraps[2] * basis[2, 2]
                for m in range(bin_start[tb], bin_start[tb + 1]):
                    bx[n_buf] = pos[m, 0] + vx
                    by[n_buf] = pos[m, 1] + vy
                    bz[n_buf] = pos[m, 2] + vz
                    bm[n_buf] = m
                    bw[n_buf] = code
                    n_buf += 1
        # The bin itself (zero offset) fills the buffer's start, so starting each atom's scan
        # just after its own entry lists each pair inside the bin once, and never i with i.
        for k in range(max(i0, atom_lo), i1):
            if n_pairs + n_buf > capacity:
                return c, k, n_pairs
            xi, yi, zi = pos[k, 0], pos[k, 1], pos[k, 2]
            # Branch-free (a hit is rare and unpredictable): note every candidate, and keep it
            # by moving past it when it is within the cutoff.
            n_hits = 0
            for q in range(k - i0 + 1, n_buf):
                dx = bx[q] - xi
                dy = by[q] - yi
                dz = bz[q] - zi
                hits[n_hits] = q
                n_hits += dx * dx + dy * dy + dz * dz < cutoff2
            for h in range(n_hits):
                q = hits[h]
                m = bm[q]
                pair_k[n_pairs] = k
                pair_m[n_pairs] = m
                pair_w[n_pairs] = bw[q]
                n_pairs += 1
                counts[order[m]] += 1
            counts[order[k]] += n_hits
    return bin_hi, 0, n_pairs


@njit(nogil=True, cache=True)
def _write_pairs(pair_k, pair_m, pair_w, n_pairs, pos, image, order, wrap_int, wrap_vec,
                 cursor, indices, distances, shifts):
    """Write stored pairs into both of their CSR rows; ``cursor`` holds each row's next slot.

    The distance is recomputed from the sorted positions exactly as the search computed it
    (same operands, same order), which is cheaper than having stored it.
    """
    for p in range(n_pairs):
        k = pair_k[p]
        m = pair_m[p]
        w = pair_w[p]
        dx = (pos[m, 0] + wrap_vec[w, 0]) - pos[k, 0]
        dy = (pos[m, 1] + wrap_vec[w, 1]) - pos[k, 1]
        dz = (pos[m, 2] + wrap_vec[w, 2]) - pos[k, 2]
        r = math.sqrt(dx * dx + dy * dy + dz * dz)
        row_k = order[k]
        row_m = order[m]
        a = cursor[row_k]
        cursor[row_k] = a + 1
        b = cursor[row_m]  # read after the bump: k == m for own images
        cursor[row_m] = b + 1
        indices[a] = row_m
        indices[b] = row_k
        distances[a] = r
        distances[b] = r
        for d in range(3):
            sd = wrap_int[w, d] - image[m, d] + image[k, d]
            shifts[a, d] = sd
            shifts[b, d] = -sd


def _wrap_tables(wrap_reach: int, basis: np.ndarray):
    """Whole-cell wraps in ``[-R, R]^3`` by code: as integers and as the vectors the search adds."""
    r = np.arange(-wrap_reach, wrap_reach + 1)
    wrap_int = np.stack(np.meshgrid(r, r, r, indexing="ij"), -1).reshape(-1, 3).astype(np.int64)
    wrap_vec = (wrap_int[:, 0, None] * basis[0] + wrap_int[:, 1, None] * basis[1]
                + wrap_int[:, 2, None] * basis[2])
    return wrap_int, np.ascontiguousarray(wrap_vec)


@njit(nogil=True, cache=True)
def _exclusive_scan(counts):
    """Row counts -> row starts, in place; returns the total. Filling then advances each start
    to its row's end, which is exactly ``indptr[1:]``: no separate cursor array is needed."""
    total = 0
    for a in range(counts.shape[0]):
        c = counts[a]
        counts[a] = total
        total += c
    return total


# --------------------------------------------------------------------------- driver


def _check_inputs(atoms, cutoff):
    cutoff = float(cutoff)
    if not np.isfinite(cutoff) or cutoff <= 0.0:
        raise ValueError(f"cutoff must be a positive number of Å, got {cutoff}")
    positions = np.ascontiguousarray(atoms.positions, dtype=np.float64)
    if positions.size and not np.isfinite(positions).all():
        bad = int(np.flatnonzero(~np.isfinite(positions).all(axis=1))[0])
        raise ValueError(f"atom {bad} has a position that is not a finite number (NaN or inf)")
    cell = np.asarray(atoms.cell.array, dtype=np.float64)
    if not np.isfinite(cell).all():
        raise ValueError("the cell contains NaN or inf")
    pbc = np.asarray(atoms.pbc, dtype=bool).reshape(3)
    return positions, cell, pbc, cutoff


#: a molecule without a cell up to this many atoms has its pairs found by comparing every two
#: (a few µs with numpy) instead of binning: cells, stencils and chunks cost 0.4 ms per call,
#: more than the descriptors of a small molecule (a folder of molecules calls once per molecule)
SMALL_MOLECULE = 64


def _all_pairs(positions: np.ndarray, cutoff: float) -> NeighborList:
    """Every pair of ``positions`` closer than ``cutoff``, rows in index order, no images."""
    n = len(positions)
    vectors = positions[None, :, :] - positions[:, None, :]
    d2 = np.einsum("ijk,ijk->ij", vectors, vectors)
    close = d2 < cutoff * cutoff
    np.fill_diagonal(close, False)
    rows, cols = np.nonzero(close)
    indptr = np.zeros(n + 1, np.int64)
    np.cumsum(np.bincount(rows, minlength=n), out=indptr[1:])
    return NeighborList(indptr, cols.astype(np.int64), np.sqrt(d2[rows, cols]),
                        np.zeros((len(cols), 3), np.int64), cutoff)


def neighbor_list(
    atoms,
    cutoff: float,
    *,
    progress: Optional[ProgressFn] = None,
    cancel: Optional[CancelFn] = None,
) -> NeighborList:
    """All pairs closer than ``cutoff`` (Å, strictly), both directions, periodic images included.

    Raises :class:`ValueError` on a non-positive cutoff, non-finite positions, a periodic
    direction with a zero/degenerate cell or 2^31 atoms or more, and
    :class:`~amorpha.engine.tasks.Cancelled` if ``cancel`` answers True between chunks.
    """
    positions, cell, pbc, cutoff = _check_inputs(atoms, cutoff)
    n = len(positions)
    if n >= 2**31:
        raise ValueError(f"{n} atoms: at most 2^31 - 1 are supported (int32 sorted indices)")
    if n == 0:
        for _ in chunked(0, 1, progress, cancel, "neighbour list"):
            pass
        return NeighborList.empty(0, cutoff)
    if n <= SMALL_MOLECULE and not pbc.any():
        for _ in chunked(1, 1, progress, cancel, "neighbour list"):
            pass
        return _all_pairs(positions, cutoff)
    basis = _search_basis(cell, pbc)
    inv, lo, frac_width, nbins, reach = _grid(positions, basis, pbc, cutoff, n)
    stencil = _stencil(basis, frac_width, reach, cutoff, n)
    periodic = pbc.astype(np.int64)

    # Binning and sorting: O(n) scratch, int32 where it can be (less memory to map in).
    n_bins = int(np.prod(nbins))
    bin_type = np.int32 if n_bins < 2**31 else np.int64
    bin_of = np.empty(n, bin_type)
    image = np.empty((n, 3), np.int32)
    _bin_atoms(positions, inv, periodic, lo, frac_width, nbins, bin_of, image)
    bin_start = np.empty(n_bins + 1, np.int32)  # atom counts: n < 2^31
    order = np.empty(n, np.int32)
    pos_sorted = np.empty((n, 3), np.float64)
    image_sorted = np.empty((n, 3), np.int32)
    _sort_by_bin(positions, basis, bin_of, image, bin_start, order, pos_sorted, image_sorted)
    del bin_of, image

    # Chunks of about CHUNK_ATOMS atoms, cut at bin boundaries (every bin in exactly one chunk).
    chunk_bins = [
        (int(np.searchsorted(bin_start[:-1], start)),
         n_bins if stop == n else int(np.searchsorted(bin_start[:-1], stop)))
        for start, stop in chunked(n, CHUNK_ATOMS)
    ]
    max_per_bin = int(np.diff(bin_start).max())
    # Wraps by whole cells reach at most this far (more than one only for cutoffs beyond it).
    wrap_reach = int(max(reach[d] // nbins[d] + 1 if pbc[d] else 0 for d in range(3)))
    wrap_int, wrap_vec = _wrap_tables(wrap_reach, basis)
    code_type = np.int16 if len(wrap_int) <= np.iinfo(np.int16).max else np.int32
    search = (pos_sorted, order, bin_start, nbins, periodic, basis, stencil, max_per_bin,
              cutoff * cutoff, wrap_reach)
    # Pass 1: find each pair once, keep it in compact per-chunk buffers and count it per row.
    indptr = np.zeros(n + 1, np.int64)
    cursor = indptr[1:]  # counts, then row starts, then row ends (= indptr[1:])
    per_atom = _PAIRS_PER_ATOM  # then learnt from the chunks already done
    pieces = []
    found = 0
    for c, _ in chunked(len(chunk_bins), 1, sub_progress(progress, 0.0, 0.5), cancel,
                        "finding neighbours"):
        lo, hi = chunk_bins[c]
        atom = 0
        while lo < hi:
            atoms_left = int(bin_start[hi]) - max(int(bin_start[lo]), atom)
            size = int(per_atom * 1.1 * atoms_left) + len(stencil) * max_per_bin
            buffers = (np.empty(size, np.int32), np.empty(size, np.int32),
                       np.empty(size, code_type))
            lo, atom, n_pairs = _find_pairs(lo, hi, atom, *search, cursor, *buffers)
            pieces.append((*buffers, n_pairs))
            found += n_pairs
        per_atom = found / max(int(bin_start[hi]), 1)
    del search, bin_start
    nnz = int(_exclusive_scan(cursor))
    indices = np.empty(nnz, np.int64)
    distances = np.empty(nnz, np.float64)
    shifts = np.empty((nnz, 3), np.int64)
    # Rows are written in bin order, i.e. all over the output: let the OS map its pages in
    # order first, which is several times cheaper than faulting them in at random.
    flat_shifts = shifts.reshape(-1)
    for start, stop in chunked(nnz, _TOUCH_CHUNK, sub_progress(progress, 0.5, 0.6), cancel,
                               "allocating"):
        indices[start:stop:_PAGE_ITEMS] = 0
        distances[start:stop:_PAGE_ITEMS] = 0.0
        flat_shifts[3 * start:3 * stop:_PAGE_ITEMS] = 0
    # Pass 2: write the stored pairs into both rows, freeing each piece once written.
    pieces.reverse()
    for _ in chunked(len(pieces), 1, sub_progress(progress, 0.6, 1.0), cancel,
                     "listing neighbours"):
        pair_k, pair_m, pair_w, n_pairs = pieces.pop()
        _write_pairs(pair_k, pair_m, pair_w, n_pairs, pos_sorted, image_sorted, order,
                     wrap_int, wrap_vec, cursor, indices, distances, shifts)
        del pair_k, pair_m, pair_w
    return NeighborList(indptr, indices, distances, shifts, cutoff)


def warm_up() -> None:
    """Compile (or load from cache) every kernel on tiny inputs; run in a worker at start-up."""
    from ase import Atoms

    rng = np.random.default_rng(0)
    cell = np.array([[4.0, 0.0, 0.0], [1.0, 4.0, 0.0], [0.5, 0.5, 4.0]])
    periodic = Atoms("Si8", positions=rng.random((8, 3)) @ cell, cell=cell, pbc=True)
    open_ = Atoms("Si8", positions=rng.random((8, 3)) * 4.0)
    for atoms in (periodic, open_):
        neighbor_list(atoms, 2.5).pairs()

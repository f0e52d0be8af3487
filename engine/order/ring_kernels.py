"""Numba kernels for ring enumeration on a simple graph in CSR form (see :mod:`.rings`).

The graph is the *quotient* graph of the periodic bond network: one node per atom, one edge per
bonded pair, the image shift kept beside it. Rings are found as cycles of atom indices; the image
shifts summed around a cycle tell whether it closes in real space or wraps through the boundary.

Every search works on scratch arrays marked with a *stamp* (an integer that changes per search),
so nothing is cleared between searches and each costs only the nodes it visits.

Rings are written in canonical order (smallest atom first, then the direction whose second atom
is the smaller), so a ring found twice is found as the same sequence.
"""
from __future__ import annotations

import numpy as np
from numba import njit


@njit(nogil=True, cache=True)
def _grow(buf, need):
    """``buf`` or a copy at least ``need`` long (doubling)."""
    if need <= buf.shape[0]:
        return buf
    size = max(need, 2 * buf.shape[0] + 16)
    out = np.empty(size, dtype=buf.dtype)
    out[: buf.shape[0]] = buf
    return out


@njit(nogil=True, cache=True)
def _bfs(indptr, indices, src, maxdepth, ban_u, ban_v, ban_node,
         tstamp, tcur, ntargets, stamp, cur, dist, queue):
    """Breadth-first search from ``src`` up to ``maxdepth`` edges.

    Skips node ``ban_node`` and the edge ``ban_u``–``ban_v`` (either direction; -1 for none).
    Stops as soon as ``ntargets`` nodes with ``tstamp == tcur`` are reached (0: never): every
    node closer than the last target has its final distance by then. Returns the number of
    nodes visited (they are ``queue[:n]``); visited nodes have ``stamp == cur``.
    """
    stamp[src] = cur
    dist[src] = 0
    queue[0] = src
    head = 0
    tail = 1
    found = 0
    while head < tail:
        u = queue[head]
        head += 1
        du = dist[u]
        if du >= maxdepth:
            break
        for e in range(indptr[u], indptr[u + 1]):
            v = indices[e]
            if stamp[v] == cur or v == ban_node:
                continue
            if (u == ban_u and v == ban_v) or (u == ban_v and v == ban_u):
                continue
            stamp[v] = cur
            dist[v] = du + 1
            queue[tail] = v
            tail += 1
            if ntargets > 0 and tstamp[v] == tcur:
                found += 1
                if found == ntargets:
                    return tail
    return tail


@njit(nogil=True, cache=True)
def _paths_to(indptr, indices, t, minnode, ban_u, ban_v, stamp, cur, dist, buf, path, pos):
    """All shortest paths from the search's source to ``t``, each written as ``dist[t] + 1``
    nodes (source first) into ``buf``. Only nodes ``>= minnode`` are used. Returns (buf, count).
    """
    L = dist[t]
    width = L + 1
    path[L] = t
    pos[L] = indptr[t]
    lvl = L
    count = 0
    while True:
        if lvl == 0:
            buf = _grow(buf, (count + 1) * width)
            for q in range(width):
                buf[count * width + q] = path[q]
            count += 1
            lvl = 1
            if lvl > L:
                break
            continue
        u = path[lvl]
        advanced = False
        while pos[lvl] < indptr[u + 1]:
            e = pos[lvl]
            pos[lvl] += 1
            v = indices[e]
            if stamp[v] != cur or dist[v] != lvl - 1 or v < minnode:
                continue
            if (u == ban_u and v == ban_v) or (u == ban_v and v == ban_u):
                continue
            path[lvl - 1] = v
            lvl -= 1
            pos[lvl] = indptr[v]
            advanced = True
            break
        if not advanced:
            lvl += 1
            if lvl > L:
                break
    return buf, count


@njit(nogil=True, cache=True)
def _emit(ring, n, out, out_len, n_out, tmp):
    """Append ``ring[:n]`` in canonical order to ``out``/``out_len``; returns the new arrays."""
    k = 0
    for q in range(1, n):
        if ring[q] < ring[k]:
            k = q
    forward = ring[(k + 1) % n] < ring[(k - 1 + n) % n]
    for q in range(n):
        if forward:
            tmp[q] = ring[(k + q) % n]
        else:
            tmp[q] = ring[(k - q + n) % n]
    start = 0 if n_out == 0 else out_len[n_out - 1]
    out = _grow(out, start + n)
    out_len = _grow(out_len, n_out + 1)
    for q in range(n):
        out[start + q] = tmp[q]
    out_len[n_out] = start + n
    return out, out_len, n_out + 1


# --------------------------------------------------------------------------- Guttman and King


@njit(nogil=True, cache=True)
def _expand(indptr, indices, queue, lo, hi, tail, ban_u, ban_v, ban_node, stamp, dist, cur,
            other_stamp, other_dist, best):
    """Expand one BFS level (``queue[lo:hi]``); returns (new tail, best meeting length)."""
    for h in range(lo, hi):
        w = queue[h]
        dw = dist[w]
        for e in range(indptr[w], indptr[w + 1]):
            x = indices[e]
            if stamp[x] == cur or x == ban_node:
                continue
            if (w == ban_u and x == ban_v) or (w == ban_v and x == ban_u):
                continue
            stamp[x] = cur
            dist[x] = dw + 1
            queue[tail] = x
            tail += 1
            if other_stamp[x] == cur:
                total = dw + 1 + other_dist[x]
                if total < best:
                    best = total
    return tail, best


@njit(nogil=True, cache=True)
def _ring_paths(indptr, indices, u, v, max_edges, ban_u, ban_v, ban_node, sa, da, qa, sb, db, qb,
                cur, bufa, bufb, out, out_len, n_out, tmp, ring, close, wpath, wpos):
    """All shortest u–v paths (at most ``max_edges`` edges, avoiding the banned edge/node), found
    by two searches meeting in the middle; each path (plus ``close`` if >= 0) is emitted as a ring.
    """
    sa[u] = cur
    da[u] = 0
    qa[0] = u
    sb[v] = cur
    db[v] = 0
    qb[0] = v
    a_lo, a_hi = 0, 1  # current frontier of each side
    b_lo, b_hi = 0, 1
    la, lb = 0, 0
    best = max_edges + 1
    if u == v:
        return out, out_len, n_out, bufa, bufb
    while best > max_edges and la + lb < max_edges:
        if a_hi - a_lo <= b_hi - b_lo:
            tail, best = _expand(indptr, indices, qa, a_lo, a_hi, a_hi, ban_u, ban_v, ban_node,
                                 sa, da, cur, sb, db, best)
            a_lo, a_hi = a_hi, tail
            la += 1
            if a_lo == a_hi:
                break
        else:
            tail, best = _expand(indptr, indices, qb, b_lo, b_hi, b_hi, ban_u, ban_v, ban_node,
                                 sb, db, cur, sa, da, best)
            b_lo, b_hi = b_hi, tail
            lb += 1
            if b_lo == b_hi:
                break
    if best > max_edges:
        return out, out_len, n_out, bufa, bufb
    # meeting nodes: A's last level with the matching distance from v
    for h in range(a_lo, a_hi):
        x = qa[h]
        if sb[x] != cur or da[x] + db[x] != best:
            continue
        bufa, ca = _paths_to(indptr, indices, x, 0, ban_u, ban_v, sa, cur, da, bufa, wpath, wpos)
        bufb, cb = _paths_to(indptr, indices, x, 0, ban_u, ban_v, sb, cur, db, bufb, wpath, wpos)
        wa = da[x] + 1
        wb = db[x] + 1
        for p in range(ca):
            for q in range(cb):
                n = 0
                for r in range(wa):
                    ring[n] = bufa[p * wa + r]
                    n += 1
                for r in range(wb - 2, -1, -1):
                    ring[n] = bufb[q * wb + r]
                    n += 1
                if close >= 0:
                    ring[n] = close
                    n += 1
                out, out_len, n_out = _emit(ring, n, out, out_len, n_out, tmp)
    return out, out_len, n_out, bufa, bufb


@njit(nogil=True, cache=True)
def guttman_chunk(indptr, indices, edge_u, edge_v, lo, hi, max_size, sa, da, qa, sb, db, qb, cur, stop):
    """Guttman rings of edges ``lo:hi``: all shortest paths from u back to v without edge u–v.

    Returns (flat atoms, end offsets, count, next stamp); stops early, with what it has, once
    ``stop[0]`` is set (the caller is cancelled: :class:`~amorpha.engine.tasks.StopFlag`).
    """
    out = np.empty(1024, dtype=np.int64)
    out_len = np.empty(64, dtype=np.int64)
    n_out = 0
    bufa = np.empty(256, dtype=np.int64)
    bufb = np.empty(256, dtype=np.int64)
    tmp = np.empty(max_size + 2, dtype=np.int64)
    ring = np.empty(max_size + 2, dtype=np.int64)
    wpath = np.empty(max_size + 2, dtype=np.int64)
    wpos = np.empty(max_size + 2, dtype=np.int64)
    for k in range(lo, hi):
        if stop[0]:
            break
        u = edge_u[k]
        v = edge_v[k]
        cur += 1
        out, out_len, n_out, bufa, bufb = _ring_paths(
            indptr, indices, u, v, max_size - 1, u, v, -1, sa, da, qa, sb, db, qb, cur,
            bufa, bufb, out, out_len, n_out, tmp, ring, -1, wpath, wpos)
    return out, out_len[:n_out], n_out, cur


@njit(nogil=True, cache=True)
def king_chunk(indptr, indices, lo, hi, max_size, sa, da, qa, sb, db, qb, cur, stop):
    """King rings of nodes ``lo:hi``: for each pair of neighbours j < k of node i, all shortest
    paths from j to k that avoid i, closed through i (early out on ``stop[0]``, as
    :func:`guttman_chunk`)."""
    out = np.empty(1024, dtype=np.int64)
    out_len = np.empty(64, dtype=np.int64)
    n_out = 0
    bufa = np.empty(256, dtype=np.int64)
    bufb = np.empty(256, dtype=np.int64)
    tmp = np.empty(max_size + 2, dtype=np.int64)
    ring = np.empty(max_size + 2, dtype=np.int64)
    wpath = np.empty(max_size + 2, dtype=np.int64)
    wpos = np.empty(max_size + 2, dtype=np.int64)
    for i in range(lo, hi):
        a, b = indptr[i], indptr[i + 1]
        for x in range(a, b - 1):
            if stop[0]:
                break
            for y in range(x + 1, b):
                cur += 1
                out, out_len, n_out, bufa, bufb = _ring_paths(
                    indptr, indices, indices[x], indices[y], max_size - 2, -1, -1, i,
                    sa, da, qa, sb, db, qb, cur, bufa, bufb, out, out_len, n_out, tmp, ring, i, wpath, wpos)
    return out, out_len[:n_out], n_out, cur


# --------------------------------------------------------------------------- primitive rings


@njit(nogil=True, cache=True)
def _shortcut(indptr, indices, u, v, limit, stamp_a, dist_a, queue_a, stamp_b, dist_b, queue_b, cur):
    """True if u and v are joined by a path of at most ``limit`` edges (meet-in-the-middle)."""
    if u == v:
        return True
    da = (limit + 1) // 2
    db = limit // 2
    _bfs(indptr, indices, u, da, -1, -1, -1, stamp_a, -1, 0, stamp_a, cur, dist_a, queue_a)
    if stamp_a[v] == cur:
        return True
    # Search from v; any node already reached from u closes a path of <= da + db = limit edges.
    stamp_b[v] = cur
    dist_b[v] = 0
    queue_b[0] = v
    head = 0
    tail = 1
    while head < tail:
        w = queue_b[head]
        head += 1
        dw = dist_b[w]
        if dw >= db:
            break
        for e in range(indptr[w], indptr[w + 1]):
            x = indices[e]
            if stamp_a[x] == cur:
                return True
            if stamp_b[x] != cur:
                stamp_b[x] = cur
                dist_b[x] = dw + 1
                queue_b[tail] = x
                tail += 1
    return False


@njit(nogil=True, cache=True)
def _is_shortest_path_ring(indptr, indices, ring, n, scratch, cur):
    """Franzblau's test, reduced to antipodes: a cycle is a shortest-path ring iff every node is
    as far from its antipode(s) in the graph as along the ring (moving a node along the ring
    towards the antipode adds 1 to the ring distance and at most 1 to the graph distance, so
    any shortcut implies one between antipodes). ``ring[0]``'s pairs are known to hold.
    """
    half = n // 2
    stamp_a, dist_a, queue_a, stamp_b, dist_b, queue_b = scratch
    for m in range(1, n if n % 2 else half):
        partner = (m + half) % n
        if partner == 0:
            continue
        cur += 1
        if _shortcut(indptr, indices, ring[m], ring[partner], half - 1,
                     stamp_a, dist_a, queue_a, stamp_b, dist_b, queue_b, cur):
            return False, cur
    return True, cur



@njit(nogil=True, cache=True)
def _join(bufa, pa, bufb, pb, width, b_last, mark, mark_id, ring):
    """Ring = path ``pa`` of ``bufa`` (all of it) + path ``pb`` of ``bufb`` back from ``b_last``
    to 1, if b's interior avoids the atoms marked ``mark_id`` (a's interior); its length or 0."""
    for q in range(1, b_last + 1):
        if mark[bufb[pb * width + q]] == mark_id:
            return 0
    n = 0
    for q in range(width):
        ring[n] = bufa[pa * width + q]
        n += 1
    for q in range(b_last, 0, -1):
        ring[n] = bufb[pb * width + q]
        n += 1
    return n


@njit(nogil=True, cache=True)
def primitive_chunk(indptr, indices, lo, hi, max_size, stamp, dist, queue, mark,
                    stamp_a, dist_a, queue_a, stamp_b, dist_b, queue_b, cur, stop):
    """Shortest-path (primitive) rings whose smallest atom is in ``lo:hi``.

    From each source s, a breadth-first search to depth max_size // 2; a candidate ring is two
    shortest paths from s with disjoint interiors, through atoms > s only, meeting at an antipode
    t (even rings) or at two bonded antipodes t0 < t1 (odd rings). A candidate is kept if it
    passes :func:`_is_shortest_path_ring`. Each ring is found once, from its smallest atom.
    Stops early on ``stop[0]``, as :func:`guttman_chunk`, also within one source's antipodes.
    """
    out = np.empty(1024, dtype=np.int64)
    out_len = np.empty(64, dtype=np.int64)
    n_out = 0
    buf0 = np.empty(256, dtype=np.int64)
    buf1 = np.empty(256, dtype=np.int64)
    tmp = np.empty(max_size + 2, dtype=np.int64)
    ring = np.empty(max_size + 2, dtype=np.int64)
    wpath = np.empty(max_size + 2, dtype=np.int64)
    wpos = np.empty(max_size + 2, dtype=np.int64)
    scratch = (stamp_a, dist_a, queue_a, stamp_b, dist_b, queue_b)
    depth = max_size // 2
    npath = np.zeros(indptr.shape[0], dtype=np.int64)
    for s in range(lo, hi):
        if stop[0]:
            break
        if indptr[s + 1] - indptr[s] < 2:
            continue
        cur += 1
        scur = cur
        nvis = _bfs(indptr, indices, s, depth, -1, -1, -1, stamp, -1, 0, stamp, scur, dist, queue)
        # shortest paths from s through atoms > s only, counted (saturating) in BFS order
        npath[s] = 1
        for qi in range(1, nvis):
            v = queue[qi]
            c = 0
            if v > s:
                for e in range(indptr[v], indptr[v + 1]):
                    p = indices[e]
                    if stamp[p] == scur and dist[p] == dist[v] - 1:
                        c += npath[p]
            npath[v] = min(c, 1 << 40)
        for qi in range(1, nvis):
            t = queue[qi]
            if stop[0]:
                break
            if t < s or npath[t] == 0:
                continue
            k = dist[t]
            even_ok = k >= 2 and 2 * k <= max_size
            odd_ok = 2 * k + 1 <= max_size
            if even_ok and npath[t] < 2:
                even_ok = False
            if odd_ok:
                has_partner = False
                for e in range(indptr[t], indptr[t + 1]):
                    t1 = indices[e]
                    if t1 > t and stamp[t1] == scur and dist[t1] == k and npath[t1] > 0:
                        has_partner = True
                        break
                odd_ok = has_partner
            if not (even_ok or odd_ok):
                continue
            buf0, c0 = _paths_to(indptr, indices, t, s, -1, -1, stamp, scur, dist, buf0, wpath, wpos)
            if c0 == 0:
                continue
            width = k + 1
            # even rings: two paths to t with disjoint interiors
            if even_ok and c0 >= 2:
                for pa in range(c0 - 1):
                    if stop[0]:
                        break
                    cur += 1
                    mark_id = cur
                    for q in range(1, k):
                        mark[buf0[pa * width + q]] = mark_id
                    for pb in range(pa + 1, c0):
                        n = _join(buf0, pa, buf0, pb, width, k - 1, mark, mark_id, ring)
                        if n == 0:
                            continue
                        ok, cur = _is_shortest_path_ring(indptr, indices, ring, n, scratch, cur)
                        if ok:
                            out, out_len, n_out = _emit(ring, n, out, out_len, n_out, tmp)
            # odd rings: paths to t and to a bonded t1 > t at the same distance
            if odd_ok:
                for e in range(indptr[t], indptr[t + 1]):
                    t1 = indices[e]
                    if t1 <= t or stamp[t1] != scur or dist[t1] != k:
                        continue
                    buf1, c1 = _paths_to(indptr, indices, t1, s, -1, -1, stamp, scur, dist, buf1, wpath, wpos)
                    for pa in range(c0):
                        if stop[0]:
                            break
                        cur += 1
                        mark_id = cur
                        for q in range(1, width):
                            mark[buf0[pa * width + q]] = mark_id
                        for pb in range(c1):
                            n = _join(buf0, pa, buf1, pb, width, k, mark, mark_id, ring)
                            if n == 0:
                                continue
                            ok, cur = _is_shortest_path_ring(indptr, indices, ring, n, scratch, cur)
                            if ok:
                                out, out_len, n_out = _emit(ring, n, out, out_len, n_out, tmp)
    return out, out_len[:n_out], n_out, cur


# --------------------------------------------------------------------------- images


@njit(nogil=True, cache=True)
def ring_images(indptr, indices, shifts, atoms, ends, images, net):
    """Image shift of every ring atom (first atom at 0) and each ring's net shift around the loop."""
    start = 0
    for r in range(ends.shape[0]):
        stop = ends[r]
        n = stop - start
        sx = 0
        sy = 0
        sz = 0
        for q in range(n):
            a = atoms[start + q]
            images[start + q, 0] = sx
            images[start + q, 1] = sy
            images[start + q, 2] = sz
            b = atoms[start + (q + 1) % n]
            for e in range(indptr[a], indptr[a + 1]):
                if indices[e] == b:
                    sx += shifts[e, 0]
                    sy += shifts[e, 1]
                    sz += shifts[e, 2]
                    break
        net[r, 0] = sx
        net[r, 1] = sy
        net[r, 2] = sz
        start = stop


# --------------------------------------------------------------------------- strong rings


@njit(nogil=True, cache=True)
def _highest_bit(x):
    """Index (0..63) of the highest set bit of a non-zero uint64."""
    b = 0
    if x >> np.uint64(32):
        x >>= np.uint64(32)
        b += 32
    if x >> np.uint64(16):
        x >>= np.uint64(16)
        b += 16
    if x >> np.uint64(8):
        x >>= np.uint64(8)
        b += 8
    while x > np.uint64(1):
        x >>= np.uint64(1)
        b += 1
    return b


@njit(nogil=True, cache=True)
def _reduce(v, basis, pivot_row):
    """Eliminate ``v`` (a GF(2) edge set as uint64 words) against the basis, whose row r has its
    highest bit at the edge ``h`` with ``pivot_row[h] == r``. Returns the residue's highest edge,
    or -1 when ``v`` is in the span (the residue is then zero)."""
    w = v.shape[0] - 1
    while w >= 0:
        x = v[w]
        if x == 0:
            w -= 1
            continue
        h = w * 64 + _highest_bit(x)
        r = pivot_row[h]
        if r < 0:
            return h
        for q in range(w + 1):
            v[q] ^= basis[r, q]
    return -1


@njit(nogil=True, cache=True)
def ring_edge_sets(indptr, indices, edge_id, atoms, starts, sizes, order, lo, hi, out):
    """Row k of ``out`` := the edge set (bits of undirected edge ids) of ring ``order[lo + k]``."""
    one = np.uint64(1)
    for k in range(hi - lo):
        r = order[lo + k]
        s = starts[r]
        n = sizes[r]
        for q in range(out.shape[1]):
            out[k, q] = 0
        for q in range(n):
            a = atoms[s + q]
            b = atoms[s + (q + 1) % n]
            for e in range(indptr[a], indptr[a + 1]):
                if indices[e] == b:
                    i = edge_id[e]
                    out[k, i >> 6] ^= one << np.uint64(i & 63)
                    break


@njit(nogil=True, cache=True)
def in_span(rows, basis, pivot_row, independent):
    """Reduce each row against the basis (in place); ``independent[k]``: the row is not a sum of
    basis rows."""
    for k in range(rows.shape[0]):
        independent[k] = _reduce(rows[k], basis, pivot_row) >= 0


@njit(nogil=True, cache=True)
def insert_rows(rows, basis, pivot_row, rank):
    """Add the rows that are independent of the basis (and of each other) to it; returns the rank."""
    for k in range(rows.shape[0]):
        h = _reduce(rows[k], basis, pivot_row)
        if h >= 0:
            basis[rank, :] = rows[k, :]
            pivot_row[h] = rank
            rank += 1
    return rank


@njit(nogil=True, cache=True)
def shortest_wrap_chunk(indptr, indices, shifts, lo, hi, best, best_shift, dist, off, queue, stop):
    """The searches from atoms ``lo:hi`` for the shortest cycle of the periodic bond graph whose
    image shifts do not add up to zero (a path from an atom to one of its own images) shorter
    than ``best`` bonds: returns the new ``best`` and writes its net shift to ``best_shift``.
    Called over chunks of atoms in order with ``best`` starting at ``limit + 1`` (and ``dist``
    all -1, as each search leaves it), it finds (length, net shift) of the shortest such cycle
    of at most ``limit`` bonds, else leaves (limit + 1, zeros). Chunked, and stopped between
    atoms on ``stop[0]``: at a 10 Å Si–O cutoff one call over a 64·10³-atom supercell with
    4·10⁶ bonds ran for minutes past Cancel.

    ``indptr``/``indices``/``shifts`` hold *every* bond with its image shift (a pair bonded
    through two images, or an atom bonded to its own image, is such a cycle of 2 or 1 bonds).
    From each atom a breadth-first search labels atoms with the shift of the path that reached
    them; an edge meeting an atom under another shift closes such a cycle of d(u) + d(v) + 1
    bonds, and the search from an atom on the shortest one finds it. Each search stops once no
    shorter cycle can appear (2 d(u) >= the best so far), so it only covers ``limit / 2`` bonds.
    """
    o = np.zeros(3, np.int64)
    for s in range(lo, hi):
        if stop[0]:
            break
        head, tail = 0, 1
        queue[0] = s
        dist[s] = 0
        off[s, :] = 0
        while head < tail:
            u = queue[head]
            head += 1
            if 2 * dist[u] >= best:
                break
            for k in range(indptr[u], indptr[u + 1]):
                v = indices[k]
                for c in range(3):
                    o[c] = off[u, c] + shifts[k, c]
                if dist[v] < 0:
                    dist[v] = dist[u] + 1
                    off[v, :] = o
                    queue[tail] = v
                    tail += 1
                elif o[0] != off[v, 0] or o[1] != off[v, 1] or o[2] != off[v, 2]:
                    length = dist[u] + dist[v] + 1
                    if length < best:
                        best = length
                        for c in range(3):
                            best_shift[c] = o[c] - off[v, c]
        for q in range(tail):
            dist[queue[q]] = -1
    return best


@njit(nogil=True, cache=True)
def simple_rows(indptr, indices, lo, hi, pick, counts, m):
    """Rows ``lo:hi`` of the simple graph of a bond list in CSR: per atom, each bonded atom once
    (the first image listed when a pair is bonded through several) and no bond to its own image,
    rows sorted. The positions kept into ``indices`` go to ``pick[m:]`` and the row lengths to
    ``counts[lo:hi]``; returns the new ``m``. Called over chunks of rows, so that Cancel is seen
    between them. A row of ~12 entries is sorted by insertion: 10⁶ fcc atoms in ~0.1 s, where
    np.unique of the 1.2·10⁷ pair keys took 2 s."""
    for a in range(lo, hi):
        start = m
        for p in range(indptr[a], indptr[a + 1]):
            b = indices[p]
            if b == a:
                continue
            q = m
            duplicate = False
            while q > start:
                c = indices[pick[q - 1]]
                if c == b:
                    duplicate = True
                    break
                if c < b:
                    break
                q -= 1
            if duplicate:
                continue
            for r in range(m, q, -1):
                pick[r] = pick[r - 1]
            pick[q] = p
            m += 1
        counts[a] = m - start
    return m

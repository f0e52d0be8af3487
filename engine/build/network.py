"""Amorphous silicon by Wooten–Winer–Weaire bond switching, with Barkema–Mousseau's speed-ups.

A continuous random network (CRN) is a 4-connected bond graph whose geometry is the minimum of a
Keating valence force field (:mod:`.keating`). The graph changes by WWW bond switches (PRL 54,
1392 (1985)): pick a bond B–C, a neighbour A of B and a neighbour D of C (A not bonded to C, D
not bonded to B), and replace A–B, C–D by A–C, B–D. Every switch is relaxed and accepted with the
Metropolis rule exp(−ΔE/kT).

Schedule. Start from diamond, *melt* at kT ≈ 1 eV until only a third of the crystal's bonds are
left (switches pivot on atoms that still have crystal bonds, so the melt eats the crystal evenly),
then *anneal* with kT falling from 0.42 to 0.28 eV, and finally relax the network and fit the box.
Two findings shaped this (measured here, 64–1000 atoms):

* Barkema–Mousseau's random start (random points, four near neighbours each) begins at
  ~3 eV/atom and stays above 0.8 eV/atom for any affordable number of switches; a melted
  diamond starts near 0.5 eV/atom and anneals to 0.32–0.37 eV/atom (bond-angle spread 10–10.7°).
* A melted diamond remembers its crystal (atoms barely move in WWW dynamics) and crystallises
  again while annealing (64- and 216-atom boxes within a few hundred switches per atom, 1000
  atoms sometimes). So while annealing a switch is also refused if it adds atoms on eleven or
  more 6-rings (diamond's atoms are on twelve, those of annealed networks on at most ten; the
  counts only change within two bonds of the switch). Boxes below ~200 atoms still keep more
  of the crystal's 6-rings (1.2–1.3 per atom against 0.7–0.8 from 512 atoms on).

Speed (Barkema & Mousseau, PRB 62, 4985 (2000), and two additions):

* the acceptance threshold ΔE_max = −kT ln u is drawn *before* relaxing, and relaxation stops as
  soon as the energy can no longer get below it (estimate E − c·|F|²);
* only atoms within three bonds of the switch relax, the whole network now and then;
* relaxation grows in stages (the four switched atoms, then one shell, then three) and a switch
  is dropped after a stage unless its ΔE is within the measured gain of the later stages;
* a switch changes only its four atoms' energy terms, so ΔE before relaxation costs four centres;
* switches that would close a 3- (or 4-) membered ring are refused before any relaxation.

Keating's energy stays finite as a bond collapses and has no repulsion between non-bonded atoms,
so a hot network would trade angle strain for collapsed bonds and close contacts; switches that
add such geometry (bonds outside 0.8–1.12 d, non-bonded atoms closer than 1.2 d) are refused,
which keeps distances and topology in agreement (any distance-based analysis sees the same bonds).

The topology is the bond list with image shifts, never a distance cutoff. The switch loop runs in
numba in fixed chunks of attempts between which Python checks ``cancel`` and reports progress, so
a seed gives one network.
"""
from __future__ import annotations

import math
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Optional

import numpy as np
from ase import Atoms
from numba import njit

from ..tasks import CancelFn, ProgressFn, check_cancel, report, sub_progress
from . import keating as K
from .common import require

#: Mass of Si (g/mol) and Avogadro's number, for densities in g/cm³.
SI_MASS = 28.0855
AVOGADRO = 6.02214076e23
#: Attempts per numba call between two progress/cancel checks (fixed, so a seed gives one result).
CHUNK_ATTEMPTS = 1500
#: Bond shells around the four switched atoms that relax after a switch (at least 3: the
#: crystal check needs every atom whose 6-rings a switch can change). Relaxing 3 shells
#: instead of all atoms leaves ΔE 0.17 eV (median, at most 0.5 eV) too high; 2 shells 0.5 eV.
LOCAL_SHELLS = 3
#: Relaxation grows in stages: the four switched atoms, then with their neighbours, then
#: LOCAL_SHELLS shells. Measured on annealed 512-atom networks, going from the four atoms to three
#: shells lowers ΔE by 3.3 eV (median), 6.0 eV (99 %), 7.4 eV at most; from one shell to three
#: by 1.0, 1.9, 2.4 eV. A switch is dropped after a stage unless its ΔE is within that stage's
#: margin of the threshold; typical switches cost 5–12 eV, so most end after the 4-atom stage.
STAGE_MARGINS = (7.5, 2.75, 0.0)
#: Early rejection: the relaxed energy is estimated as E − c·|F|² (Å²/eV). Measured on
#: annealed networks, the energy still to be gained after the first relaxation step is below
#: 0.13·|F|² (and below 0.025·|F|² before it: the force is then all stiff bond stretching), so
#: with this margin early rejection practically never drops a switch that a full local
#: relaxation would accept (checked: same acceptances as without it, 7x faster).
ABORT_C = 0.16
#: Force tolerance (eV/Å) of local and full relaxations.
LOCAL_FTOL = 2e-3
FULL_FTOL = 1e-3
LOCAL_MAX_ITER = 300
#: Full relaxation of all positions after this many accepted switches per atom.
FULL_RELAX_EVERY = 0.2
#: Geometry that must keep telling bonded from non-bonded atoms (lengths in units of d): bonds
#: within BOND_WINDOW, no two non-bonded atoms closer than CONTACT (see :func:`switch_chunk`).
BOND_WINDOW = (0.8, 1.12)
CONTACT = 1.2
#: Skin (Å) of the contact cell list, rebuilt for every chunk of attempts.
GRID_SKIN = 1.0
#: Melting stops after this many attempts per atom even if too many crystal bonds are left,
#: and takes about this share of the build's time.
MAX_MELT_ATTEMPTS = 3000
MELT_SHARE = 0.4
#: Atoms on this many 6-rings count as crystalline: diamond's have 12, those of our annealed
#: networks at most 10 (of 512: 8 on 10, none on more).
CRYSTAL_SIX_RINGS = 11
#: Fewest atoms (a 2×2×2 diamond supercell).
MIN_ATOMS = 64
#: Largest aspect ratio of the starting diamond supercell (in conventional cells).
MAX_ASPECT = 1.5
#: Cost model of a build, for a dialog's time estimate (:func:`estimated_seconds`): CPU seconds
#: on one core, measured on the project's 2-core test machine with
#: tests/benchmarks/bench_build_times.py. The melt took 11, 15, 21, 18, 23 and 27 ms per atom at
#: 64, 216, 512, 1000, 2016 and 4096 atoms (400–660 attempts per atom of 30–41 µs), fitted as
#: MELT_SECONDS_PER_ATOM × (n / 4096)^MELT_GROWTH; an anneal attempt took 18–25 µs at every size.
#: At the default 1500 switches per atom 64, 216, 512 and 1000 atoms took 3.1, 10.1, 24.4 and
#: 47.0 s (the model: 2.7, 9.7, 24.5 and 50 s). Beyond 4096 atoms the power law is extrapolated.
MELT_SECONDS_PER_ATOM = 0.027
MELT_GROWTH = 0.2
ANNEAL_SECONDS_PER_ATTEMPT = 20e-6


@dataclass(frozen=True)
class NetworkParams:
    """How to build a 4-connected continuous random network of Si.

    ``n_atoms`` (≥ 64) is rounded to the nearest 8·a·b·c of a near-cubic diamond supercell
    (longest side ≤ 1.5 × shortest: 64, 96, 144, 216, 288, 384, 512, 640, …, 1000, …);
    the result records the size used and the size asked for.

    Schedule (see the module docstring): the diamond is melted at ``kT_melt`` (eV) until only
    ``melt_memory`` of its bonds are left, then ``switches_per_atom`` attempts per atom anneal
    it with kT falling geometrically from ``kT_start`` to ``kT_end``. More attempts give a
    lower energy and narrower angles in proportionally more time (about 20 µs per attempt, see
    :func:`estimated_seconds`).
    ``smallest_ring`` = 5 refuses switches that would close 3- or 4-membered rings (as
    Barkema–Mousseau do), 4 allows 4-rings. ``density`` (g/cm³) fixes the box; None fits the
    box so that the mean bond length is 2.35 Å (about 2.31 g/cm³, see ``_Annealer.fit_box``).
    The same parameters give the same network (on one machine: floating-point details of
    another CPU can change the switch sequence).
    """

    n_atoms: int = 512
    seed: int = 0
    switches_per_atom: float = 1500.0
    melt_memory: float = 1.0 / 3.0
    kT_melt: float = 1.0
    kT_start: float = 0.42
    kT_end: float = 0.28
    smallest_ring: int = 5
    density: Optional[float] = None

    def validate(self) -> None:
        require(isinstance(self.n_atoms, (int, np.integer)) and not isinstance(self.n_atoms, bool),
                "n_atoms", f"must be a whole number, got {self.n_atoms!r}")
        require(self.n_atoms >= MIN_ATOMS, "n_atoms",
                f"must be at least {MIN_ATOMS} (a 2×2×2 diamond supercell), got {self.n_atoms}")
        require(self.n_atoms <= 200_000, "n_atoms",
                f"must be at most 200000 (bond switching scales with size), got {self.n_atoms}")
        require(isinstance(self.seed, (int, np.integer)) and self.seed >= 0, "seed",
                f"must be a whole number ≥ 0, got {self.seed!r}")
        require(math.isfinite(self.switches_per_atom) and 0 <= self.switches_per_atom <= 1e5,
                "switches_per_atom", f"must be between 0 and 100000 attempts per atom, "
                                     f"got {self.switches_per_atom}")
        require(math.isfinite(self.melt_memory) and 0.05 <= self.melt_memory <= 1,
                "melt_memory", f"must be between 0.05 and 1 (fraction of the crystal's bonds "
                               f"left when melting stops), got {self.melt_memory}")
        for name in ("kT_melt", "kT_start", "kT_end"):
            v = getattr(self, name)
            require(math.isfinite(v) and 0 < v <= 5, name, f"must be between 0 and 5 eV (not 0), got {v}")
        require(self.kT_end <= self.kT_start, "kT_end",
                f"must not exceed kT_start ({self.kT_start} eV) when annealing, got {self.kT_end}")
        require(self.smallest_ring in (4, 5), "smallest_ring",
                f"must be 4 (allow 4-rings) or 5 (forbid them), got {self.smallest_ring}; "
                f"3-rings are always forbidden")
        if self.density is not None:
            require(math.isfinite(self.density) and 1.5 <= self.density <= 3.5, "density",
                    f"must be between 1.5 and 3.5 g/cm³ for Si, or None to relax the box, "
                    f"got {self.density}")


@dataclass(frozen=True)
class Network:
    """A relaxed network: atoms in the cell, and every bond once as ``bonds[k] = (i, j)`` with
    ``shifts[k]`` the image of j (bond vector ``positions[j] + shifts[k] @ cell - positions[i]``).

    Also: the Keating energy, the switches attempted and accepted, geometry ``violations`` left
    (bonds outside the window or non-bonded contacts; normally 0), the size asked for, the
    share of crystal bonds left by the (last) melt and how many melts it took."""

    positions: np.ndarray  # float64 (n, 3)
    cell: np.ndarray  # float64 (3, 3)
    bonds: np.ndarray  # int64 (nb, 2)
    shifts: np.ndarray  # int64 (nb, 3)
    energy_eV: float = 0.0
    switches_attempted: int = 0
    switches_accepted: int = 0
    violations: int = 0
    n_atoms_requested: int = 0
    crystal_bonds_after_melt: float = 0.0
    crystalline: float = 0.0

    @property
    def n_atoms(self) -> int:
        return len(self.positions)

    @property
    def density_g_cm3(self) -> float:
        return self.n_atoms * SI_MASS / AVOGADRO / (abs(np.linalg.det(self.cell)) * 1e-24)

    def topology(self, types=None) -> K.Topology:
        """A :class:`~.keating.Topology` (a copy) of this network."""
        types = np.zeros(self.n_atoms, np.int64) if types is None else types
        return K.Topology.from_bonds(self.positions, self.cell, self.bonds, self.shifts, types)


# --------------------------------------------------------------------------- kernels


@njit(nogil=True, cache=True)
def _slot(nbr, deg, i, j):
    for a in range(deg[i]):
        if nbr[i, a] == j:
            return a
    return -1


@njit(nogil=True, cache=True)
def _closes_small_ring(u, v, max_len, nbr, deg, img, path, sh):
    """True if the new bond u→v (stored in the network) closes a real-space ring of at most
    ``max_len`` + 1 bonds: a simple path of ≤ max_len bonds from v back to u whose shifts cancel
    the bond's own (depth-first, at most 3·3·3 paths for max_len 3)."""
    su = _slot(nbr, deg, u, v)
    s0, s1, s2 = img[u, su, 0], img[u, su, 1], img[u, su, 2]
    path[0] = u
    path[1] = v
    sh[1, 0], sh[1, 1], sh[1, 2] = s0, s1, s2
    # iterative DFS over paths v -> ... ; cursor[k] = next slot to try at depth k
    cursor = np.zeros(max_len + 2, np.int64)
    depth = 1
    while depth >= 1:
        node = path[depth]
        if cursor[depth] >= deg[node]:
            cursor[depth] = 0
            depth -= 1
            continue
        a = cursor[depth]
        cursor[depth] += 1
        w = nbr[node, a]
        if depth == 1 and w == u:
            continue  # the new bond itself
        t0 = sh[depth, 0] + img[node, a, 0]
        t1 = sh[depth, 1] + img[node, a, 1]
        t2 = sh[depth, 2] + img[node, a, 2]
        if w == u:
            if t0 == 0 and t1 == 0 and t2 == 0:
                return True
            continue
        if depth >= max_len:
            continue
        seen = False
        for k in range(1, depth + 1):
            if path[k] == w:
                seen = True
        if seen:
            continue
        depth += 1
        path[depth] = w
        sh[depth, 0], sh[depth, 1], sh[depth, 2] = t0, t1, t2
        cursor[depth] = 0
    return False


@njit(nogil=True, cache=True)
def _next_shell(lo, hi, nbr, deg, stamp, mark, queue):
    """Append to ``queue`` the unvisited neighbours of ``queue[lo:hi]`` (one more bond shell,
    breadth first, visited atoms marked ``stamp[i] = mark``); return the new length."""
    n = hi
    for q in range(lo, hi):
        i = queue[q]
        for a in range(deg[i]):
            j = nbr[i, a]
            if stamp[j] != mark:
                stamp[j] = mark
                queue[n] = j
                n += 1
    return n


@njit(nogil=True, cache=True)
def _seed_energy(seeds, pos, cell, nbr, deg, img, typ, kb, db, ka, ca, grad, mobile, rv, dv):
    """Energy of the four switched atoms' centres: the only terms a switch changes before the
    atoms move."""
    e = 0.0
    for s in seeds:
        e += K.centre_energy(s, pos, cell, nbr, deg, img, typ, kb, db, ka, ca, grad, mobile, False,
                             rv, dv)
    return e


@njit(nogil=True, cache=True)
def _build_grid(pos, box, width, head, nxt, dims):
    """Cell list of all atoms in an orthorhombic ``box`` (cells at least ``width`` wide, and
    no more cells than ``head`` holds)."""
    for d in range(3):
        dims[d] = max(int(box[d] // width), 1)
    while dims[0] * dims[1] * dims[2] > len(head):
        d = np.argmax(dims)
        dims[d] -= 1
    for c in range(dims[0] * dims[1] * dims[2]):
        head[c] = -1
    for i in range(len(pos)):
        c = 0
        for d in range(3):
            f = pos[i, d] / box[d]
            f -= math.floor(f)
            c = c * dims[d] + min(int(f * dims[d]), dims[d] - 1)
        nxt[i] = head[c]
        head[c] = i


@njit(nogil=True, cache=True)
def _violations(atoms, member, mark, pos, cell, nbr, deg, img, geo, box, head, nxt, dims):
    """Pairs with an atom in ``atoms`` (``member[i] == mark``) whose geometry contradicts the
    topology: bonds outside ``geo[0]``–``geo[1]`` Å, non-bonded atoms closer than ``geo[2]`` Å.
    Each pair counts once. Contacts are searched in the cell list (width ≥ contact + skin, so
    atoms may have moved by the skin since it was built)."""
    lo2, hi2, c2 = geo[0] * geo[0], geo[1] * geo[1], geo[2] * geo[2]
    count = 0
    for q in range(len(atoms)):
        i = atoms[q]
        for a in range(deg[i]):
            j = nbr[i, a]
            if member[j] == mark and j < i:
                continue
            x, y, z = K._vec(i, a, pos, cell, nbr, img)
            r2 = x * x + y * y + z * z
            if r2 < lo2 or r2 > hi2:
                count += 1
        f0 = pos[i, 0] / box[0]
        f1 = pos[i, 1] / box[1]
        f2 = pos[i, 2] / box[2]
        c0 = min(int((f0 - math.floor(f0)) * dims[0]), dims[0] - 1)
        c1 = min(int((f1 - math.floor(f1)) * dims[1]), dims[1] - 1)
        c2_ = min(int((f2 - math.floor(f2)) * dims[2]), dims[2] - 1)
        s0 = -1 if dims[0] >= 3 else 0
        s1 = -1 if dims[1] >= 3 else 0
        s2 = -1 if dims[2] >= 3 else 0
        for dx in range(s0, s0 + min(dims[0], 3)):
            for dy in range(s1, s1 + min(dims[1], 3)):
                for dz in range(s2, s2 + min(dims[2], 3)):
                    c = (((c0 + dx) % dims[0]) * dims[1] + (c1 + dy) % dims[1]) * dims[2] \
                        + (c2_ + dz) % dims[2]
                    j = head[c]
                    while j >= 0:
                        if j != i and not (member[j] == mark and j < i) and _slot(nbr, deg, i, j) < 0:
                            ex = pos[j, 0] - pos[i, 0]
                            ey = pos[j, 1] - pos[i, 1]
                            ez = pos[j, 2] - pos[i, 2]
                            ex -= box[0] * round(ex / box[0])
                            ey -= box[1] * round(ey / box[1])
                            ez -= box[2] * round(ez / box[2])
                            if ex * ex + ey * ey + ez * ez < c2:
                                count += 1
                        j = nxt[j]
    return count


@njit(nogil=True, cache=True)
def count_violations(pos, cell, nbr, deg, img, geo, head, nxt, member):
    """Geometry violations (see :func:`_violations`) of the whole network."""
    box = np.array([cell[0, 0], cell[1, 1], cell[2, 2]])
    dims = np.empty(3, np.int64)
    _build_grid(pos, box, geo[2] + GRID_SKIN, head, nxt, dims)
    n = len(pos)
    for i in range(n):
        member[i] = -1
    return _violations(np.arange(n), member, -1, pos, cell, nbr, deg, img, geo, box, head, nxt,
                       dims)


@njit(nogil=True, cache=True)
def _ring6_count(i, nbr, deg, img, path, sh, slot):
    """Number of 6-membered rings through atom ``i`` that close in real space (depth-first over
    simple paths of six bonds back to i; ``path``, ``sh``, ``slot`` are (7,)/(7, 3) scratch)."""
    total = 0
    path[0] = i
    sh[0, 0] = sh[0, 1] = sh[0, 2] = 0
    slot[1] = 0
    depth = 1  # choosing the atom at path[depth]
    while depth >= 1:
        prev = path[depth - 1]
        if slot[depth] >= deg[prev]:
            depth -= 1
            if depth >= 1:
                slot[depth] += 1
            continue
        a = slot[depth]
        j = nbr[prev, a]
        s0 = sh[depth - 1, 0] + img[prev, a, 0]
        s1 = sh[depth - 1, 1] + img[prev, a, 1]
        s2 = sh[depth - 1, 2] + img[prev, a, 2]
        if depth == 6:
            if j == i and s0 == 0 and s1 == 0 and s2 == 0:
                total += 1
            slot[depth] += 1
            continue
        seen = False
        for k in range(depth):
            if path[k] == j:
                seen = True
                break
        if seen:
            slot[depth] += 1
            continue
        path[depth] = j
        sh[depth, 0], sh[depth, 1], sh[depth, 2] = s0, s1, s2
        depth += 1
        slot[depth] = 0
    return total // 2  # each ring is walked both ways


@njit(nogil=True, cache=True)
def six_rings(nbr, deg, img, counts):
    """Number of 6-membered rings (closed in real space) through each atom, into ``counts``.

    Every atom of diamond lies on twelve, atoms of a continuous random network on about four;
    twelve is therefore the topological mark of a crystalline atom, whatever its strain.
    """
    path = np.empty(7, np.int64)
    sh = np.zeros((7, 3), np.int64)
    slot = np.zeros(7, np.int64)
    for i in range(len(deg)):
        counts[i] = _ring6_count(i, nbr, deg, img, path, sh, slot)
    return counts


@njit(nogil=True, cache=True)
def _crystalline_among(atoms, nbr, deg, img, path, sh, slot):
    """How many of ``atoms`` lie on CRYSTAL_SIX_RINGS or more 6-rings (nearly diamond)."""
    count = 0
    for q in range(len(atoms)):
        if _ring6_count(atoms[q], nbr, deg, img, path, sh, slot) >= CRYSTAL_SIX_RINGS:
            count += 1
    return count


@njit(nogil=True, cache=True)
def _set_slots(nbr, img, atoms, slots, values, images):
    """Write neighbour ``values[q]`` with image ``images[q]`` into slot ``slots[q]`` of
    ``atoms[q]`` (applies or reverts a switch)."""
    for q in range(len(atoms)):
        nbr[atoms[q], slots[q]] = values[q]
        for c in range(3):
            img[atoms[q], slots[q], c] = images[q, c]


@njit(nogil=True, cache=True)
def _swap_positions(pos, atoms, saved):
    """Exchange the positions of ``atoms`` with ``saved`` (rows in the same order)."""
    for q in range(len(atoms)):
        for c in range(3):
            pos[atoms[q], c], saved[q, c] = saved[q, c], pos[atoms[q], c]


@njit(nogil=True, cache=True)
def _seed_penalty(seeds, nbr, deg, typ, tuning):
    """Sub-oxide penalty (eV) of the type-0 atoms among ``seeds``: ``tuning[4 + k]`` for one
    with k type-1 (O) neighbours; 0 when ``tuning`` has no penalty entries (a-Si)."""
    if len(tuning) < 9:
        return 0.0
    e = 0.0
    for q in range(len(seeds)):
        i = seeds[q]
        if typ[i] == 0:
            k = 0
            for a in range(deg[i]):
                if typ[nbr[i, a]] == 1:
                    k += 1
            e += tuning[4 + min(k, 4)]
    return e


@njit(nogil=True, cache=True)
def switch_chunk(rand, kT, stop_accepted, shells, smallest_ring, pos, cell, nbr, deg, img, typ,
                 tables, work, scratch, geo, margins, tuning):
    """Attempt one WWW switch per row of ``rand`` (5 uniforms each) at temperature ``kT`` (eV).

    A switch changes only the terms of its four atoms' centres, so the unrelaxed change ΔE0
    comes from those four alone. The threshold ΔE_max = −kT ln u is drawn first, then the
    relaxation grows in stages: the four atoms alone, then with their neighbours, then all atoms
    within ``shells`` bonds; after stage k the switch is dropped unless ΔE is within
    ``margins[k]`` of ΔE_max (the most that the larger stages were measured to lower it), and
    inside every stage once the energy cannot get below that (estimate E − ``tuning[0]``·|F|²).
    Most switches cost only the first, 4-atom stage.

    A switch is also refused if it adds geometry violations (see :func:`_violations`, limits
    ``geo``) around it: Keating's energy stays finite as a bond shrinks to nothing and nothing
    repels non-bonded atoms, so a hot network would otherwise trade angle strain for collapsed
    bonds and close contacts that real Si never forms and that distance-based analyses read as
    extra bonds. With the crystal guard on, a switch is refused if it adds atoms on
    CRYSTAL_SIX_RINGS or more 6-rings (see the module docstring).

    ``tables`` are the Keating tables, ``work`` the CG scratch (mobile, grad, gprev, p, rv, qv,
    dv), ``scratch`` the integer scratch (stamp, queue, member, head, nxt, path, sh),
    ``tuning`` = (abort c, ftol, max_iter, crystal guard on/off[, penalty of a type-0 atom
    with 0..4 type-1 neighbours, 5 values]): the penalty adds a per-atom chemical energy that
    depends on the topology alone (see :func:`_seed_penalty`). Stops early once
    ``stop_accepted`` switches were accepted. Returns (attempted, accepted, refused for small
    rings, relaxation iterations).
    """
    kb, db, ka, ca = tables
    mobile, grad, gprev, p, rv, qv, dv = work
    stamp, queue, member, head, nxt, path, sh = scratch
    abort_c, ftol, max_iter, guard = tuning[0], tuning[1], int(tuning[2]), tuning[3] > 0.0
    stage_shells = (0, 1, shells)
    n = len(pos)
    attempted = accepted = refused = iters = 0
    box = np.array([cell[0, 0], cell[1, 1], cell[2, 2]])
    dims = np.empty(3, np.int64)
    _build_grid(pos, box, geo[2] + GRID_SKIN, head, nxt, dims)
    mark = 0
    for i in range(n):
        stamp[i] = 0
        member[i] = 0
    seeds = np.empty(4, np.int64)
    ends = np.empty(shells + 2, np.int64)
    old_nbr = np.empty(4, np.int64)
    old_img = np.empty((4, 3), np.int64)
    new_nbr = np.empty(4, np.int64)
    new_img = np.empty((4, 3), np.int64)
    slot_atoms = np.empty(4, np.int64)
    slots = np.empty(4, np.int64)
    saved = np.empty((n, 3))
    path6 = np.empty(7, np.int64)
    sh6 = np.zeros((7, 3), np.int64)
    slot6 = np.zeros(7, np.int64)
    for t in range(len(rand)):
        if accepted >= stop_accepted:
            break
        attempted += 1
        b_ = min(int(rand[t, 0] * n), n - 1)
        sbc = min(int(rand[t, 1] * deg[b_]), deg[b_] - 1)
        c_ = nbr[b_, sbc]
        k = min(int(rand[t, 2] * (deg[b_] - 1)), deg[b_] - 2)
        sba = k if k < sbc else k + 1
        a_ = nbr[b_, sba]
        scb = _slot(nbr, deg, c_, b_)
        k = min(int(rand[t, 3] * (deg[c_] - 1)), deg[c_] - 2)
        scd = k if k < scb else k + 1
        d_ = nbr[c_, scd]
        if a_ == d_ or _slot(nbr, deg, a_, c_) >= 0 or _slot(nbr, deg, d_, b_) >= 0:
            continue
        if (typ[a_] == 1 and typ[c_] == 1) or (typ[b_] == 1 and typ[d_] == 1):
            continue  # type 1 is O in Si/O networks (keating.silicon_oxygen): never O–O
        sab = _slot(nbr, deg, a_, b_)
        sdc = _slot(nbr, deg, d_, c_)
        seeds[0], seeds[1], seeds[2], seeds[3] = a_, b_, c_, d_
        e_before = _seed_energy(seeds, pos, cell, nbr, deg, img, typ, kb, db, ka, ca, grad,
                                mobile, rv, dv) + _seed_penalty(seeds, nbr, deg, typ, tuning)
        # switch: A->C = A->B + B->C, B->D = B->C + C->D (image shifts compose)
        slot_atoms[0], slot_atoms[1], slot_atoms[2], slot_atoms[3] = a_, b_, c_, d_
        slots[0], slots[1], slots[2], slots[3] = sab, sba, scd, sdc
        new_nbr[0], new_nbr[1], new_nbr[2], new_nbr[3] = c_, d_, a_, b_
        for q in range(4):
            old_nbr[q] = nbr[slot_atoms[q], slots[q]]
            for c in range(3):
                old_img[q, c] = img[slot_atoms[q], slots[q], c]
        for c in range(3):
            ac = img[a_, sab, c] + img[b_, sbc, c]
            bd = img[b_, sbc, c] + img[c_, scd, c]
            new_img[0, c] = ac
            new_img[1, c] = bd
            new_img[2, c] = -ac
            new_img[3, c] = -bd
        _set_slots(nbr, img, slot_atoms, slots, new_nbr, new_img)
        if (_closes_small_ring(a_, c_, smallest_ring - 2, nbr, deg, img, path, sh)
                or _closes_small_ring(b_, d_, smallest_ring - 2, nbr, deg, img, path, sh)):
            refused += 1
            _set_slots(nbr, img, slot_atoms, slots, old_nbr, old_img)
            continue
        # shells around the switch, breadth first and only as far as needed: queue[:ends[k]]
        # lie within k bonds (the same atoms before and after the switch)
        mark += 1
        for q in range(4):
            stamp[seeds[q]] = mark
            queue[q] = seeds[q]
        ends[0] = 4
        ends[1] = _next_shell(0, 4, nbr, deg, stamp, mark, queue)
        built = 1
        n_saved = 0
        room = -kT * math.log(max(rand[t, 4], 1e-300))
        de = _seed_energy(seeds, pos, cell, nbr, deg, img, typ, kb, db, ka, ca, grad, mobile,
                          rv, dv) + _seed_penalty(seeds, nbr, deg, typ, tuning) - e_before
        accept = True
        for k in range(3):
            depth = stage_shells[k]
            while built < depth + 1:
                built += 1
                ends[built] = _next_shell(ends[built - 2], ends[built - 1], nbr, deg, stamp, mark,
                                          queue)
            for q in range(n_saved, ends[depth]):
                for c in range(3):
                    saved[q, c] = pos[queue[q], c]
            n_saved = max(n_saved, ends[depth])
            e_end, e_start, it, status = K.conjugate_gradients(
                queue[:ends[depth]], queue[:ends[depth + 1]], pos, cell, nbr, deg, img, typ, kb, db,
                ka, ca, mobile, grad, gprev, p, rv, qv, dv, max_iter, ftol,
                room + margins[k] - de, abort_c)
            iters += it
            de += e_end - e_start
            if status == 2 or de > room + margins[k]:
                accept = False
                break
        if accept:
            region = queue[:ends[shells]]
            for q in range(ends[shells]):
                member[region[q]] = mark
            v_after = _violations(region, member, mark, pos, cell, nbr, deg, img, geo, box, head,
                                  nxt, dims)
            if v_after > 0:  # allowed if the same pairs had as many before (swap back to count)
                _swap_positions(pos, region, saved)
                _set_slots(nbr, img, slot_atoms, slots, old_nbr, old_img)
                v_before = _violations(region, member, mark, pos, cell, nbr, deg, img, geo, box,
                                       head, nxt, dims)
                _swap_positions(pos, region, saved)
                _set_slots(nbr, img, slot_atoms, slots, new_nbr, new_img)
                accept = v_after <= v_before
        if accept and guard:
            # no new crystalline atoms, so the melted diamond cannot grow back: a 6-ring through
            # a switched bond lies within two bonds of the four atoms, so only those can change
            near = queue[:ends[2]]
            c_after = _crystalline_among(near, nbr, deg, img, path6, sh6, slot6)
            if c_after > 0:
                _set_slots(nbr, img, slot_atoms, slots, old_nbr, old_img)
                c_before = _crystalline_among(near, nbr, deg, img, path6, sh6, slot6)
                _set_slots(nbr, img, slot_atoms, slots, new_nbr, new_img)
                accept = c_after <= c_before
        if accept:
            accepted += 1
        else:
            for q in range(n_saved):
                for c in range(3):
                    pos[queue[q], c] = saved[q, c]
            _set_slots(nbr, img, slot_atoms, slots, old_nbr, old_img)
    return attempted, accepted, refused, iters


# --------------------------------------------------------------------------- start


def supercell_for(n_atoms: int) -> tuple[int, int, int]:
    """Near-cubic diamond supercell (a ≤ b ≤ c conventional cells, c ≤ 1.5 a, a ≥ 2) whose
    8abc is nearest ``n_atoms`` (ties: the more cubic one)."""
    best = None
    top = int((max(n_atoms, MIN_ATOMS) / 8) ** (1 / 3) * MAX_ASPECT) + 2
    for a in range(2, top + 1):
        for b in range(a, int(MAX_ASPECT * a) + 1):
            for c in range(b, int(MAX_ASPECT * a) + 1):
                key = (abs(8 * a * b * c - n_atoms), c - a)
                if best is None or key < best[0]:
                    best = (key, (a, b, c))
    return best[1]


def estimated_seconds(params: NetworkParams) -> float:
    """Rough duration of :func:`build_network` on one core (see :data:`MELT_SECONDS_PER_ATOM`)."""
    n = 8 * math.prod(supercell_for(int(params.n_atoms)))
    melt = MELT_SECONDS_PER_ATOM * (n / 4096) ** MELT_GROWTH
    return n * (melt + ANNEAL_SECONDS_PER_ATTEMPT * float(params.switches_per_atom))


def diamond(cells: tuple[int, int, int], bond: float = K.BOND_SI):
    """Diamond supercell of ``cells`` conventional cells: positions, cell, bonds (each once) and
    the image shift of each bond's second atom."""
    base = np.array([[0, 0, 0], [0, 2, 2], [2, 0, 2], [2, 2, 0]])
    dims = 4 * np.asarray(cells)
    grid = np.stack(np.meshgrid(*[np.arange(c) for c in cells], indexing="ij"), -1).reshape(-1, 3)
    fcc = (4 * grid[:, None, :] + base[None, :, :]).reshape(-1, 3)
    pts = np.concatenate([fcc, fcc + 1])  # integer coordinates in units of a/4

    def key(q):
        return (q[:, 0] * dims[1] + q[:, 1]) * dims[2] + q[:, 2]

    lookup = np.full(int(np.prod(dims)), -1, np.int64)
    lookup[key(pts)] = np.arange(len(pts))
    bonds, shifts = [], []
    for d in ((1, 1, 1), (1, -1, -1), (-1, 1, -1), (-1, -1, 1)):
        q = fcc + np.array(d)
        w = np.floor_divide(q, dims)
        bonds.append(np.stack([np.arange(len(fcc)), lookup[key(q - w * dims)]], 1))
        shifts.append(w)
    a = 4.0 * bond / math.sqrt(3.0)
    return (pts * (a / 4.0), np.diag(np.asarray(cells, float) * a),
            np.concatenate(bonds).astype(np.int64), np.concatenate(shifts).astype(np.int64))


# --------------------------------------------------------------------------- driver


class _Annealer:
    """The network, its force field and the scratch the switch kernel needs."""

    def __init__(self, topo: K.Topology, ff: Optional[K.ForceField] = None,
                 geo: Optional[tuple[float, float, float]] = None, penalty=None):
        """``ff`` defaults to Keating a-Si, ``geo`` (bond window and contact, Å) to a-Si's;
        ``penalty`` (5 values, eV) is the chemical energy of a type-0 atom with 0..4 type-1
        neighbours (see :func:`switch_chunk`), none by default."""
        self.topo = topo
        self.ff = K.silicon() if ff is None else ff
        self.ws = K.Workspace(topo, self.ff)
        n = topo.n_atoms
        ws = self.ws
        self.work = (ws.mobile, ws.grad, ws.gprev, ws.p, ws.rv, ws.qv, ws.dv)
        self.scratch = tuple(np.zeros(n, np.int64) for _ in range(5)) + (
            np.zeros(8, np.int64), np.zeros((8, 3), np.int64))
        self.geo = np.array(geo if geo is not None else
                            (BOND_WINDOW[0] * K.BOND_SI, BOND_WINDOW[1] * K.BOND_SI,
                             CONTACT * K.BOND_SI), float)
        self.margins = np.array(STAGE_MARGINS, float)
        self.tuning = np.array([ABORT_C, LOCAL_FTOL, LOCAL_MAX_ITER, 1.0]
                               + ([] if penalty is None else list(penalty)), float)
        self.attempted = self.accepted = self.refused = self.iterations = 0

    def switches(self, rand, kT, stop_accepted, smallest_ring, guard=True):
        """One chunk of switch attempts; ``guard`` refuses switches that make atoms crystalline."""
        t = self.topo
        self.tuning[3] = 1.0 if guard else 0.0
        att, acc, ref, it = switch_chunk(
            rand, kT, stop_accepted, LOCAL_SHELLS, smallest_ring, t.positions, t.cell,
            t.neighbors, t.degree, t.images, t.types, self.ws.tables, self.work, self.scratch,
            self.geo, self.margins, self.tuning)
        self.attempted += att
        self.accepted += acc
        self.refused += ref
        self.iterations += it
        return att, acc

    def count_violations(self) -> int:
        t = self.topo
        _, _, member, head, nxt, _, _ = self.scratch
        return int(count_violations(t.positions, t.cell, t.neighbors, t.degree, t.images,
                                    self.geo, head, nxt, member))

    def _on_twelve_six_rings(self) -> np.ndarray:
        counts = six_rings(self.topo.neighbors, self.topo.degree, self.topo.images,
                           np.zeros(self.topo.n_atoms, np.int64))
        return counts >= CRYSTAL_SIX_RINGS

    def crystalline(self) -> float:
        """Share of atoms on twelve 6-rings, as in diamond (what survives of it after melting)."""
        return float(self._on_twelve_six_rings().mean())


    def relax(self, cancel=None) -> float:
        return K.relax(self.topo, self.ff, fmax=FULL_FTOL, workspace=self.ws, cancel=cancel)

    def fit_box(self, cancel=None) -> float:
        """Scale the box until the relaxed network's mean bond length is Keating's d.

        Keating's own zero-pressure box is too small: with no repulsion between non-bonded
        atoms, angular strain is relieved by shortening bonds (mean 2.30 Å, about 2.47 g/cm³
        for a 10° network). Fixing the mean bond length at the measured 2.35 Å instead gives
        about 2.31 g/cm³, close to a-Si's measured 2.28–2.29 g/cm³.
        """
        e = self.relax(cancel)
        for _ in range(4):
            mean = float(np.linalg.norm(self.topo.bond_vectors(), axis=1).mean())
            factor = K.BOND_SI / mean
            if abs(factor - 1.0) < 1e-5:
                break
            self.topo.scale(factor)
            e = self.relax(cancel)
        return e


def _bond_keys(topo: K.Topology) -> np.ndarray:
    """One integer per bond (atoms and image shift), the same however the bond is listed."""
    b, sh = topo.bond_list()
    flip = b[:, 0] > b[:, 1]
    i = np.where(flip, b[:, 1], b[:, 0])
    j = np.where(flip, b[:, 0], b[:, 1])
    sh = np.where(flip[:, None], -sh, sh) + 32
    return ((i * topo.n_atoms + j) * 64 + sh[:, 0]) * 4096 + sh[:, 1] * 64 + sh[:, 2]


def _crystal_atoms(topo: K.Topology, crystal: np.ndarray) -> np.ndarray:
    """Atoms that still have a bond of the starting crystal (``crystal`` holds its bond keys)."""
    b, _ = topo.bond_list()
    kept = np.isin(_bond_keys(topo), crystal)
    return np.unique(b[kept].ravel())


def _run(ann: _Annealer, rng, kT_of, attempts: int, smallest_ring: int, relax_every: int,
         progress, cancel, message: str, goal=None, pivots=None, guard: bool = True) -> None:
    """Switch for ``attempts`` attempts at ``kT_of(fraction done)``, relaxing the whole network
    every ``relax_every`` acceptances and at the end. With ``goal`` (a function returning how
    far the goal is reached, 1 = reached) stop once it is reached; ``pivots()``, if given,
    returns the atoms the next chunk's switches are centred on; ``guard`` refuses switches that
    make atoms crystalline."""
    done = since = 0
    reached = 0.0
    n = ann.topo.n_atoms
    while done < attempts and reached < 1.0:
        check_cancel(cancel)
        kT = kT_of(done / attempts)
        rand = rng.random((min(CHUNK_ATTEMPTS, attempts - done), 5))
        if pivots is not None:
            atoms = pivots()
            if len(atoms):
                rand[:, 0] = (atoms[(rand[:, 0] * len(atoms)).astype(np.int64)] + 0.5) / n
        att, acc = ann.switches(rand, kT, relax_every - since, smallest_ring, guard)
        done += att
        since += acc
        if since >= relax_every:
            ann.relax(cancel)
            since = 0
        if goal is not None:
            reached = goal()
        report(progress, max(done / attempts, reached),
               f"{message} at kT = {kT:.2f} eV: {ann.accepted} of {ann.attempted} switches accepted")
    ann.relax(cancel)


_CACHE: "OrderedDict[NetworkParams, Network]" = OrderedDict()
_CACHE_SIZE = 4
_CACHE_LOCK = threading.Lock()


def build_network(params: NetworkParams = NetworkParams(), progress: Optional[ProgressFn] = None,
                  cancel: Optional[CancelFn] = None) -> Network:
    """A relaxed WWW continuous random network of Si (see the module docstring).

    The same parameters give the same network; the last few are kept, so a silica builder that
    decorates the same network (or a second call) does not anneal it again.
    """
    params.validate()
    with _CACHE_LOCK:
        if params in _CACHE:
            _CACHE.move_to_end(params)
            report(progress, 1.0, "network (kept from an earlier build)")
            return _CACHE[params]
    check_cancel(cancel)
    pos, cell, bonds, shifts = diamond(supercell_for(int(params.n_atoms)))
    n = len(pos)
    topo = K.Topology.from_bonds(pos, cell, bonds, shifts, np.zeros(n, np.int64))
    if params.density is not None:
        volume = n * SI_MASS / AVOGADRO / params.density * 1e24
        topo.scale((volume / abs(np.linalg.det(topo.cell))) ** (1.0 / 3.0))
    rng = np.random.default_rng(int(params.seed))
    relax_every = max(1, int(round(FULL_RELAX_EVERY * n)))
    ring = int(params.smallest_ring)
    crystal = _bond_keys(topo)
    ann = _Annealer(topo)
    melt_to = 1.0 - params.melt_memory
    anneal = int(round(params.switches_per_atom * n))
    share = MELT_SHARE if anneal else 1.0
    _run(ann, rng, lambda f: params.kT_melt, MAX_MELT_ATTEMPTS * n, ring, relax_every,
         sub_progress(progress, 0.0, 0.97 * share), cancel, "melting",
         goal=lambda: (1.0 - float(np.isin(_bond_keys(topo), crystal).mean())) / melt_to,
         pivots=lambda: _crystal_atoms(topo, crystal), guard=False)
    melted_to = float(np.isin(_bond_keys(topo), crystal).mean())
    ratio = params.kT_end / params.kT_start
    _run(ann, rng, lambda f: params.kT_start * ratio ** f, anneal, ring, relax_every,
         sub_progress(progress, 0.97 * share, 0.97), cancel, "annealing")
    check_cancel(cancel)
    e = ann.relax(cancel) if params.density is not None else ann.fit_box(cancel)
    topo.wrap()
    b, s = topo.bond_list()
    net = Network(positions=topo.positions, cell=topo.cell, bonds=b, shifts=s, energy_eV=e,
                  switches_attempted=ann.attempted, switches_accepted=ann.accepted,
                  violations=ann.count_violations(), n_atoms_requested=int(params.n_atoms),
                  crystal_bonds_after_melt=melted_to, crystalline=ann.crystalline())
    for arr in (net.positions, net.cell, net.bonds, net.shifts):
        arr.flags.writeable = False
    with _CACHE_LOCK:
        _CACHE[params] = net
        while len(_CACHE) > _CACHE_SIZE:
            _CACHE.popitem(last=False)
    report(progress, 1.0, f"network: {ann.accepted} of {ann.attempted} switches accepted")
    return net


def build_amorphous_si(params: NetworkParams = NetworkParams(), progress: Optional[ProgressFn] = None,
                       cancel: Optional[CancelFn] = None) -> Atoms:
    """a-Si as ``ase.Atoms`` from :func:`build_network`; what was done goes into ``info``."""
    net = build_network(params, progress, cancel)
    n = net.n_atoms
    atoms = Atoms(f"Si{n}", positions=net.positions, cell=net.cell, pbc=True)
    atoms.info.update({
        "name": f"a-Si (WWW, {n} atoms)",
        "builder": "amorpha.engine.build.network.build_amorphous_si (WWW bond switching, Keating)",
        "n_atoms_requested": int(params.n_atoms),
        "seed": int(params.seed),
        "switches_attempted": int(net.switches_attempted),
        "switches_accepted": int(net.switches_accepted),
        "keating_energy_per_atom_eV": float(net.energy_eV / n),
        "crystalline_fraction": float(net.crystalline),
        "density_g_cm3": float(net.density_g_cm3),
    })
    return atoms


def switch_bonds(topo: K.Topology, ff: K.ForceField, geometry: tuple[float, float, float],
                 attempts_per_atom: float, kT: tuple[float, float], seed: int,
                 penalty=None, progress: Optional[ProgressFn] = None,
                 cancel: Optional[CancelFn] = None) -> tuple[int, int]:
    """WWW bond switches on any Keating network, in place, with kT (eV) falling geometrically
    from ``kT[0]`` to ``kT[1]``; the network is fully relaxed at the end.

    In a Si/O network (``ff`` from :func:`.keating.silicon_oxygen`, O = type 1) a switch that
    pivots on a Si–O bond moves that O to a neighbouring Si–Si bond, so O can rearrange as well
    as the Si skeleton; switches that would bond O to O are never made. ``geometry`` is the bond
    window and the closest non-bonded contact (Å) that a switch may not add violations of;
    ``penalty`` the chemical energy (eV) of a Si with 0..4 O neighbours (see
    :func:`switch_chunk`). Returns (attempted, accepted).
    """
    ann = _Annealer(topo, ff, geometry, penalty)
    ratio = kT[1] / kT[0]
    n = topo.n_atoms
    _run(ann, np.random.default_rng(int(seed)), lambda f: kT[0] * ratio ** f,
         int(round(attempts_per_atom * n)), 5, max(1, int(round(FULL_RELAX_EVERY * n))),
         progress, cancel, "switching bonds", guard=False)
    return ann.attempted, ann.accepted


def warm_up() -> None:
    """Compile the kernels (switching, relaxation, checks) on a 64-atom network."""
    pos, cell, bonds, shifts = diamond((2, 2, 2))
    ann = _Annealer(K.Topology.from_bonds(pos, cell, bonds, shifts, np.zeros(len(pos), np.int64)))
    ann.switches(np.random.default_rng(0).random((5, 5)), 1.0, 5, 5)
    ann.relax()
    ann.count_violations()
    ann.crystalline()

"""Keating valence force field for tetrahedral networks: energy, forces and relaxation (numba).

One kernel serves a-Si and SiO2/SiOx. A network is a fixed bond graph (not a distance cutoff):
every atom lists its bonded neighbours with integer image shifts, so the bond vector i→j is
``pos[j] - pos[i] + shift @ cell``. The energy is Keating's (Phys. Rev. 145, 637 (1966)) generalised to
per-bond rest lengths and per-angle rest cosines::

    E = Σ_bonds 3α/(16 d²) (r_ij·r_ij − d²)² + Σ_angles 3β/(8 d_ij d_ik) (r_ij·r_ik − d_ij d_ik cos θ0)²

with α, d per bonded element pair and β, cos θ0 per (centre, neighbour, neighbour) element triple.
For one element with cos θ0 = −1/3 it is Keating's potential with Barkema–Mousseau's a-Si values
α = 2.965 eV/Å², β = 0.285 α, d = 2.35 Å.

Why this form: the energy is a polynomial of degree 4 in the positions, so along any search
direction it is *exactly* a quartic in the step length. Relaxation (Polak–Ribière conjugate
gradients) therefore uses an exact line search from one pass over the terms.

The energy is summed per *centre* atom (half of each of its bonds plus the angles at it), so a
local relaxation only needs the centres within one bond of the atoms that move.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional, Sequence

import numpy as np
from numba import njit

from ..tasks import CancelFn, ProgressFn, check_cancel, report

#: Barkema & Mousseau, PRB 62, 4985 (2000): Keating constants for a-Si.
ALPHA_SI = 2.965  # eV/Å²
BETA_SI = 0.285 * ALPHA_SI
BOND_SI = 2.35  # Å
COS_TETRAHEDRAL = -1.0 / 3.0

#: SiO2 (Tu & Tersoff, PRL 84, 4393 (2000) stiffnesses expressed in Keating's form; see
#: :func:`silicon_oxygen`): Si–O rest length, Si–O–Si rest angle.
BOND_SIO = 1.61  # Å
ANGLE_SIOSI = 144.0  # degrees

#: Conjugate-gradient iterations between two progress/cancel checks of :func:`relax`: about
#: _CG_WORK atom-iterations (~0.2 s), at least 10, at most 400.
_CG_WORK = 1_000_000


@dataclass(frozen=True)
class ForceField:
    """Keating-type constants per element type (type k is ``species[k]``).

    ``bond_alpha[a, b]`` (eV/Å²) and ``bond_length[a, b]`` (Å) for a bonded a–b pair;
    ``angle_beta[c, a, b]`` (eV/Å²) and ``angle_cos[c, a, b]`` for an a–c–b angle at centre c.
    """

    species: tuple
    bond_alpha: np.ndarray
    bond_length: np.ndarray
    angle_beta: np.ndarray
    angle_cos: np.ndarray

    def tables(self):
        """Kernel tables: (3α/16d², d, 3β/8, cos θ0) as contiguous float64 arrays."""
        d = np.ascontiguousarray(self.bond_length, np.float64)
        with np.errstate(divide="ignore", invalid="ignore"):
            kb = np.where(d > 0, 3.0 * np.asarray(self.bond_alpha, np.float64) / (16.0 * d * d), 0.0)
        ka = np.ascontiguousarray(3.0 * np.asarray(self.angle_beta, np.float64) / 8.0)
        return (np.ascontiguousarray(kb), d, ka,
                np.ascontiguousarray(self.angle_cos, np.float64))

    def type_of(self, symbols: Sequence[str]) -> np.ndarray:
        code = {s: k for k, s in enumerate(self.species)}
        return np.array([code[s] for s in symbols], np.int64)


def silicon() -> ForceField:
    """Keating a-Si (Barkema–Mousseau constants)."""
    return ForceField(("Si",), np.array([[ALPHA_SI]]), np.array([[BOND_SI]]),
                      np.array([[[BETA_SI]]]), np.array([[[COS_TETRAHEDRAL]]]))


def silicon_oxygen(siosi_angle: float = ANGLE_SIOSI) -> ForceField:
    """Si/O valence force field for SiO2 and SiOx (types 0 = Si, 1 = O).

    Stiffnesses of the Si/SiO2 valence model of Tu & Tersoff (PRL 84, 4393 (2000)): harmonic
    Si–O 27 eV/Å², bending at Si with an O 4.32 eV and Si–O–Si 2.0 eV in ½k(Δcos θ)², converted
    to Keating's dot-product form (α = 2k_b/3, β = 4k_θ/(3 d_ij d_ik)); Si–Si keeps the a-Si
    constants. The Si–O–Si rest angle is 144° (the peak of the measured distribution, Mozzi &
    Warren); it is soft, so the network's Si–Si distances decide the angles. O–O is never
    bonded. Like Keating's, this field has no repulsion between non-bonded atoms.
    """
    alpha = np.zeros((2, 2))
    length = np.zeros((2, 2))
    alpha[0, 0], length[0, 0] = ALPHA_SI, BOND_SI
    alpha[0, 1] = alpha[1, 0] = 2.0 * 27.0 / 3.0
    length[0, 1] = length[1, 0] = BOND_SIO
    beta = np.zeros((2, 2, 2))
    cos0 = np.zeros((2, 2, 2))
    beta[0, 0, 0] = BETA_SI
    cos0[0] = COS_TETRAHEDRAL
    # bending at Si with at least one O: k_theta = 4.32 eV
    for a, b in ((0, 1), (1, 0), (1, 1)):
        da, db = (BOND_SI if a == 0 else BOND_SIO), (BOND_SI if b == 0 else BOND_SIO)
        beta[0, a, b] = 4.0 * 4.32 / (3.0 * da * db)
    beta[1, 0, 0] = 4.0 * 2.0 / (3.0 * BOND_SIO * BOND_SIO)
    cos0[1, 0, 0] = math.cos(math.radians(siosi_angle))
    return ForceField(("Si", "O"), alpha, length, beta, cos0)


# --------------------------------------------------------------------------- topology


@dataclass
class Topology:
    """A bonded network: positions (not wrapped while it evolves), cell, and per atom its bonded
    neighbours ``neighbors[i, :degree[i]]`` with image shifts ``images[i, a]`` (int, (3,)).

    Mutable on purpose: the builders switch bonds and move atoms in place.
    """

    positions: np.ndarray  # float64 (n, 3)
    cell: np.ndarray  # float64 (3, 3), rows are cell vectors
    neighbors: np.ndarray  # int64 (n, m)
    degree: np.ndarray  # int64 (n,)
    images: np.ndarray  # int64 (n, m, 3)
    types: np.ndarray  # int64 (n,)

    @property
    def n_atoms(self) -> int:
        return len(self.positions)

    @classmethod
    def from_bonds(cls, positions, cell, bonds, shifts, types, max_degree: int = 4) -> "Topology":
        """Build from a bond list (each bond once; ``shifts[k]`` is the image of ``bonds[k, 1]``)."""
        positions = np.ascontiguousarray(positions, np.float64).copy()
        n = len(positions)
        bonds = np.asarray(bonds, np.int64).reshape(-1, 2)
        shifts = np.asarray(shifts, np.int64).reshape(-1, 3)
        nbr = np.full((n, max_degree), -1, np.int64)
        img = np.zeros((n, max_degree, 3), np.int64)
        deg = np.zeros(n, np.int64)
        for (i, j), s in zip(bonds.tolist(), shifts):
            for a, b, sh in ((i, j, s), (j, i, -s)):
                if deg[a] >= max_degree:
                    raise ValueError(f"atom {a} has more than {max_degree} bonds")
                nbr[a, deg[a]] = b
                img[a, deg[a]] = sh
                deg[a] += 1
        return cls(positions, np.ascontiguousarray(cell, np.float64).copy(), nbr, deg, img,
                   np.ascontiguousarray(types, np.int64))

    def bond_list(self) -> tuple[np.ndarray, np.ndarray]:
        """Each bond once, ``(bonds (nb, 2), shifts (nb, 3))``, the image being that of the second
        atom; a bond i–j is listed from the lower index (and from i for an atom's own image)."""
        rows = np.repeat(np.arange(self.n_atoms), self.degree)
        slots = np.concatenate([np.arange(d) for d in self.degree]) if self.n_atoms else \
            np.zeros(0, np.int64)
        j = self.neighbors[rows, slots]
        s = self.images[rows, slots]
        positive = (s[:, 0] > 0) | ((s[:, 0] == 0) & ((s[:, 1] > 0) |
                                                      ((s[:, 1] == 0) & (s[:, 2] > 0))))
        first = (rows < j) | ((rows == j) & positive)
        return np.stack([rows[first], j[first]], axis=1).astype(np.int64), s[first].astype(np.int64)

    def wrap(self) -> None:
        """Move every atom into the cell and fix the image shifts so every bond stays the same."""
        inv = np.linalg.inv(self.cell)
        frac = self.positions @ inv
        w = np.floor(frac).astype(np.int64)
        self.positions = np.ascontiguousarray((frac - w) @ self.cell)
        mask = np.arange(self.neighbors.shape[1])[None, :] < self.degree[:, None]
        j = np.where(mask, self.neighbors, 0)
        self.images += np.where(mask[..., None], w[j] - w[:, None, :], 0)

    def scale(self, factor: float) -> None:
        """Scale the cell and all positions (fractional coordinates and bonds kept)."""
        self.positions *= factor
        self.cell *= factor

    def bond_vectors(self) -> np.ndarray:
        """Vector of every bond of :meth:`bond_list`."""
        b, s = self.bond_list()
        return self.positions[b[:, 1]] + s @ self.cell - self.positions[b[:, 0]]

    def copy(self) -> "Topology":
        return Topology(self.positions.copy(), self.cell.copy(), self.neighbors.copy(),
                        self.degree.copy(), self.images.copy(), self.types.copy())


# --------------------------------------------------------------------------- kernels


@njit(nogil=True, cache=True, inline="always")
def _vec(i, a, pos, cell, nbr, img):
    j = nbr[i, a]
    s0, s1, s2 = img[i, a, 0], img[i, a, 1], img[i, a, 2]
    x = pos[j, 0] - pos[i, 0] + s0 * cell[0, 0] + s1 * cell[1, 0] + s2 * cell[2, 0]
    y = pos[j, 1] - pos[i, 1] + s0 * cell[0, 1] + s1 * cell[1, 1] + s2 * cell[2, 1]
    z = pos[j, 2] - pos[i, 2] + s0 * cell[0, 2] + s1 * cell[1, 2] + s2 * cell[2, 2]
    return x, y, z


@njit(nogil=True, cache=True)
def centre_energy(i, pos, cell, nbr, deg, img, typ, kb, db, ka, ca, grad, mobile, want_grad, rv, dv):
    """Energy of centre ``i`` (half of each bond, all angles at i); adds its gradient into
    ``grad`` for mobile atoms when ``want_grad``. ``rv`` (m, 3), ``dv`` (m,) are scratch."""
    ti = typ[i]
    m = deg[i]
    e = 0.0
    for a in range(m):
        j = nbr[i, a]
        x, y, z = _vec(i, a, pos, cell, nbr, img)
        rv[a, 0] = x
        rv[a, 1] = y
        rv[a, 2] = z
        tj = typ[j]
        d = db[ti, tj]
        dv[a] = d
        u = x * x + y * y + z * z - d * d
        k = kb[ti, tj]
        e += 0.5 * k * u * u
        if want_grad:
            f = 2.0 * k * u
            if mobile[j]:
                grad[j, 0] += f * x
                grad[j, 1] += f * y
                grad[j, 2] += f * z
            if mobile[i]:
                grad[i, 0] -= f * x
                grad[i, 1] -= f * y
                grad[i, 2] -= f * z
    for a in range(m):
        ja = nbr[i, a]
        ta = typ[ja]
        for b in range(a + 1, m):
            jb = nbr[i, b]
            tb = typ[jb]
            k = ka[ti, ta, tb]
            if k == 0.0:
                continue
            dd = dv[a] * dv[b]
            dot = rv[a, 0] * rv[b, 0] + rv[a, 1] * rv[b, 1] + rv[a, 2] * rv[b, 2]
            u = dot - dd * ca[ti, ta, tb]
            k = k / dd
            e += k * u * u
            if want_grad:
                f = 2.0 * k * u
                if mobile[ja]:
                    for c in range(3):
                        grad[ja, c] += f * rv[b, c]
                if mobile[jb]:
                    for c in range(3):
                        grad[jb, c] += f * rv[a, c]
                if mobile[i]:
                    for c in range(3):
                        grad[i, c] -= f * (rv[a, c] + rv[b, c])
    return e


@njit(nogil=True, cache=True)
def energy_sum(centres, pos, cell, nbr, deg, img, typ, kb, db, ka, ca, grad, mobile, want_grad,
               rv, dv):
    """Sum of :func:`centre_energy` over ``centres``."""
    e = 0.0
    for c in range(len(centres)):
        e += centre_energy(centres[c], pos, cell, nbr, deg, img, typ, kb, db, ka, ca, grad,
                           mobile, want_grad, rv, dv)
    return e


@njit(nogil=True, cache=True)
def _line_coefficients(centres, p, pos, cell, nbr, deg, img, typ, kb, db, ka, ca, rv, qv, dv):
    """Coefficients c0..c4 of the exact quartic E(pos + t p) over ``centres``."""
    c0 = c1 = c2 = c3 = c4 = 0.0
    for cc in range(len(centres)):
        i = centres[cc]
        ti = typ[i]
        m = deg[i]
        for a in range(m):
            j = nbr[i, a]
            x, y, z = _vec(i, a, pos, cell, nbr, img)
            rv[a, 0] = x
            rv[a, 1] = y
            rv[a, 2] = z
            qx = p[j, 0] - p[i, 0]
            qy = p[j, 1] - p[i, 1]
            qz = p[j, 2] - p[i, 2]
            qv[a, 0] = qx
            qv[a, 1] = qy
            qv[a, 2] = qz
            tj = typ[j]
            d = db[ti, tj]
            dv[a] = d
            k = 0.5 * kb[ti, tj]
            A = x * x + y * y + z * z - d * d
            B = 2.0 * (x * qx + y * qy + z * qz)
            C = qx * qx + qy * qy + qz * qz
            c0 += k * A * A
            c1 += k * 2.0 * A * B
            c2 += k * (B * B + 2.0 * A * C)
            c3 += k * 2.0 * B * C
            c4 += k * C * C
        for a in range(m):
            ta = typ[nbr[i, a]]
            for b in range(a + 1, m):
                tb = typ[nbr[i, b]]
                k = ka[ti, ta, tb]
                if k == 0.0:
                    continue
                dd = dv[a] * dv[b]
                k = k / dd
                A = (rv[a, 0] * rv[b, 0] + rv[a, 1] * rv[b, 1] + rv[a, 2] * rv[b, 2]
                     - dd * ca[ti, ta, tb])
                B = (rv[a, 0] * qv[b, 0] + rv[a, 1] * qv[b, 1] + rv[a, 2] * qv[b, 2]
                     + qv[a, 0] * rv[b, 0] + qv[a, 1] * rv[b, 1] + qv[a, 2] * rv[b, 2])
                C = qv[a, 0] * qv[b, 0] + qv[a, 1] * qv[b, 1] + qv[a, 2] * qv[b, 2]
                c0 += k * A * A
                c1 += k * 2.0 * A * B
                c2 += k * (B * B + 2.0 * A * C)
                c3 += k * 2.0 * B * C
                c4 += k * C * C
    return c0, c1, c2, c3, c4


@njit(nogil=True, cache=True)
def _quartic_step(c1, c2, c3, c4):
    """Step t > 0 to the first local minimum of c1 t + c2 t² + c3 t³ + c4 t⁴ (c1 < 0, c4 ≥ 0):
    bracket a sign change of the derivative, then safeguarded Newton on it."""
    lo = 0.0
    hi = -c1 / (2.0 * c2) if c2 > 0.0 else 1e-3
    if not hi > 0.0 or not math.isfinite(hi):
        hi = 1e-3
    for _ in range(200):
        dp = c1 + hi * (2.0 * c2 + hi * (3.0 * c3 + hi * 4.0 * c4))
        if dp > 0.0:
            break
        lo = hi
        hi *= 2.0
    else:
        return lo
    t = 0.5 * (lo + hi)
    for _ in range(100):
        dp = c1 + t * (2.0 * c2 + t * (3.0 * c3 + t * 4.0 * c4))
        if dp > 0.0:
            hi = t
        else:
            lo = t
        d2 = 2.0 * c2 + t * (6.0 * c3 + t * 12.0 * c4)
        tn = t - dp / d2 if d2 > 0.0 else 0.5 * (lo + hi)
        if not (lo < tn < hi):
            tn = 0.5 * (lo + hi)
        if abs(tn - t) <= 1e-12 * tn or hi - lo <= 1e-14 * hi:
            t = tn
            break
        t = tn
    return t


@njit(nogil=True, cache=True)
def conjugate_gradients(mob, centres, pos, cell, nbr, deg, img, typ, kb, db, ka, ca, mobile,
                        grad, gprev, p, rv, qv, dv, max_iter, gtol, drop_limit, abort_c,
                        resume=False):
    """Relax atoms ``mob`` (Polak–Ribière+ CG, exact quartic line search) with the energy summed
    over ``centres`` (which must hold ``mob`` and every bonded neighbour of it).

    Stops when the largest force component is below ``gtol`` (status 0), after ``max_iter``
    iterations (status 1), or (status 2) as soon as the energy can no longer get below
    E_start + ``drop_limit``: the final energy is estimated as E − abort_c·|F|²
    (Barkema–Mousseau's early rejection). ``mobile``, ``grad``, ``gprev``, ``p`` are
    (n,)-/(n, 3)-sized scratch, left zero/False, except that with ``resume`` the search
    direction ``p`` is taken from the previous call and left for the next one (a relaxation cut
    into chunks then stays one conjugate-gradient run). Returns (energy, start energy,
    iterations, status).
    """
    nm = len(mob)
    for q in range(nm):
        mobile[mob[q]] = True
        for c in range(3):
            grad[mob[q], c] = 0.0
    e = energy_sum(centres, pos, cell, nbr, deg, img, typ, kb, db, ka, ca, grad, mobile, True, rv, dv)
    e_start = e
    e_limit = e + drop_limit
    if not resume:
        for q in range(nm):
            for c in range(3):
                p[mob[q], c] = -grad[mob[q], c]
    status = 1
    it = 0
    while it < max_iter:
        gmax = 0.0
        gg = 0.0
        for q in range(nm):
            for c in range(3):
                v = grad[mob[q], c]
                gg += v * v
                if abs(v) > gmax:
                    gmax = abs(v)
        if gmax < gtol:
            status = 0
            break
        if e - abort_c * gg > e_limit:
            status = 2
            break
        c0, c1, c2, c3, c4 = _line_coefficients(centres, p, pos, cell, nbr, deg, img, typ, kb, db,
                                                ka, ca, rv, qv, dv)
        if c1 >= 0.0:  # not a descent direction: restart along the force
            for q in range(nm):
                for c in range(3):
                    p[mob[q], c] = -grad[mob[q], c]
            c0, c1, c2, c3, c4 = _line_coefficients(centres, p, pos, cell, nbr, deg, img, typ, kb,
                                                    db, ka, ca, rv, qv, dv)
            if c1 >= 0.0:
                status = 0
                break
        t = _quartic_step(c1, c2, c3, c4)
        for q in range(nm):
            i = mob[q]
            for c in range(3):
                pos[i, c] += t * p[i, c]
                gprev[i, c] = grad[i, c]
                grad[i, c] = 0.0
        e = energy_sum(centres, pos, cell, nbr, deg, img, typ, kb, db, ka, ca, grad, mobile, True,
                       rv, dv)
        num = 0.0
        den = 0.0
        for q in range(nm):
            i = mob[q]
            for c in range(3):
                num += grad[i, c] * (grad[i, c] - gprev[i, c])
                den += gprev[i, c] * gprev[i, c]
        beta = num / den if den > 0.0 else 0.0
        if beta < 0.0:
            beta = 0.0
        for q in range(nm):
            i = mob[q]
            for c in range(3):
                p[i, c] = -grad[i, c] + beta * p[i, c]
        it += 1
    for q in range(nm):
        i = mob[q]
        mobile[i] = False
        for c in range(3):
            if not resume:
                p[i, c] = 0.0
            grad[i, c] = 0.0
            gprev[i, c] = 0.0
    return e, e_start, it, status


# --------------------------------------------------------------------------- Python API


class Workspace:
    """Scratch arrays the kernels share (sized once per network, reused for every relaxation)."""

    def __init__(self, topo: Topology, ff: ForceField):
        n, m = topo.neighbors.shape
        self.tables = ff.tables()
        self.mobile = np.zeros(n, np.bool_)
        self.grad = np.zeros((n, 3))
        self.gprev = np.zeros((n, 3))
        self.p = np.zeros((n, 3))
        self.rv = np.zeros((m, 3))
        self.qv = np.zeros((m, 3))
        self.dv = np.zeros(m)
        self.all = np.arange(n, dtype=np.int64)


def energy(topo: Topology, ff: ForceField) -> float:
    """Total Keating energy (eV) of a network."""
    ws = Workspace(topo, ff)
    return float(energy_sum(ws.all, topo.positions, topo.cell, topo.neighbors, topo.degree,
                            topo.images, topo.types, *ws.tables, ws.grad, ws.mobile, False,
                            ws.rv, ws.dv))


def forces(topo: Topology, ff: ForceField) -> np.ndarray:
    """Forces (eV/Å, (n, 3)) on every atom: minus the gradient of :func:`energy`."""
    ws = Workspace(topo, ff)
    ws.mobile[:] = True
    energy_sum(ws.all, topo.positions, topo.cell, topo.neighbors, topo.degree, topo.images,
               topo.types, *ws.tables, ws.grad, ws.mobile, True, ws.rv, ws.dv)
    return -ws.grad


def relax(
    topo: Topology,
    ff: ForceField,
    fmax: float = 1e-3,
    max_iter: int = 20_000,
    workspace: Optional[Workspace] = None,
    progress: Optional[ProgressFn] = None,
    cancel: Optional[CancelFn] = None,
) -> float:
    """Relax all positions in place at fixed cell; return the energy (eV).

    Conjugate gradients run in chunks of iterations between which ``cancel`` is checked; the
    search direction carries over from chunk to chunk.
    """
    ws = workspace if workspace is not None else Workspace(topo, ff)
    chunk = int(min(max(_CG_WORK // max(topo.n_atoms, 1), 10), 400))
    ws.p[:] = -forces(topo, ff)  # first direction: along the force
    e = 0.0
    done = 0
    while True:
        check_cancel(cancel)
        e, _, it, status = conjugate_gradients(
            ws.all, ws.all, topo.positions, topo.cell, topo.neighbors, topo.degree, topo.images,
            topo.types, *ws.tables, ws.mobile, ws.grad, ws.gprev, ws.p, ws.rv, ws.qv, ws.dv,
            chunk, fmax, np.inf, 0.0, True)
        done += it
        report(progress, min(done / max_iter, 0.99), "relaxing")
        if status == 0 or done >= max_iter:
            break
    ws.p[:] = 0.0
    report(progress, 1.0, "relaxed")
    return float(e)


def warm_up() -> None:
    """Compile the kernels on a 2-atom periodic network."""
    topo = Topology.from_bonds([[0, 0, 0], [1.3, 1.3, 1.3]], np.eye(3) * 5.4,
                               [[0, 1], [0, 1], [0, 1], [0, 1]],
                               [[0, 0, 0], [-1, 0, 0], [0, -1, 0], [0, 0, -1]], [0, 0])
    relax(topo, silicon(), max_iter=5)

"""The mobile atom's environment as numbers, and a small network on them, at any point (numba).

Why not :mod:`amorpha.engine.descriptors.acsf`: that one describes atoms of a structure; here the
centre is a point that moves (grid, L-BFGS, NEB images) while the host stays put, so the host
images are binned once (:mod:`.potential`) and each point gathers its neighbours from the bins.

Features (Behler's symmetry functions, DScribe's conventions, so they equal DScribe's ACSF of an
atom put at the point): per host element, G2 = Σ_j exp(−η(r_j − R_s)²) f_c(r_j) within the radial
cutoff; per unordered pair of host elements, G4 = Σ_{j<k} 2^{1−ζ}(1 + λ cos θ_jk)^ζ
exp(−η(r_j² + r_k² + r_jk²)) f_c(r_j) f_c(r_k) f_c(r_jk) within the (shorter) angular cutoff,
f_c(r) = ½(cos(πr/r_c) + 1). Their gradient with respect to the point is accumulated in the same
pass (the host is frozen, so r_jk is a constant), then a multilayer perceptron (tanh hidden
layers, linear output: scikit-learn's ``MLPRegressor``) gives the energy, and backpropagation
dE/dG times that Jacobian gives the force.

Speed (a-SiO2, Cu, 38 features, 32×32 network: ~1.2·10⁵ energies per CPU-second, one thread):
the network's layers are one zero-padded row matrix with the feature scaling folded into the
first layer, so the inner loops run over contiguous columns and vectorise; tanh takes one
exponential; energies without forces skip every derivative. Per-point buffers (:func:`workspace`)
cost nothing measurable next to the neighbour loops (grid of 3.7·10⁵ points: 1.27 vs 1.26·10⁵/s).

Within ``wall`` Å of a host atom the network saw no training point, so a steep wall
k·(r_wall − r)² is added there; a minimiser can then not find a spurious minimum inside an atom.
Likewise beyond the highest UFF energy of the training points (:func:`guard_penalty`).
"""
from __future__ import annotations

import math

import numpy as np
from numba import njit

from ..descriptors.acsf import _cutoff, _cutoff_series
from ..leaf import leaf
from .point_soap import (empty_tables, live_spectrum, quadratic_energy, soap_coefficients,
                         soap_gradient, soap_workspace)

#: Model flag in the host tuple: 0 = the UFF pair sum, 1 = this network, 2 = the quadratic
#: model on SOAP (:mod:`.point_soap`).
UFF, NETWORK, SOAP = 0, 1, 2
#: Pair distances are clamped to this (Å²) so a point on top of an atom gives a huge, finite energy.
R2_MIN = 1e-6
#: The guard of a model that has none: no UFF ceiling (see :func:`model_tuple`).
NO_GUARD = (math.inf, 0.0)


def empty_model() -> tuple:
    """The model tuple of a potential that is no network (same types, so the kernels compile once)."""
    return model_tuple(UFF, 1, np.zeros((0, 2)), 1.0, np.zeros((0, 3)), 1.0, np.zeros(0),
                       np.ones(0), np.zeros(1, np.int64), np.zeros(0), 0.0, 1.0, np.zeros(1), 0.0,
                       NO_GUARD)


def _uniform_damping(radial: np.ndarray) -> np.ndarray:
    """exp(−η(kΔ)²) per centre when the centres are evenly spaced with one width (then two
    exponentials per neighbour give all n_r Gaussians), else an empty array."""
    n_r = len(radial)
    if n_r < 2:
        return np.zeros(0)
    eta0, step = radial[0, 0], radial[1, 1] - radial[0, 1]
    k = np.arange(n_r)
    if np.any(radial[:, 0] != eta0) or np.any(np.abs(radial[:, 1] - radial[0, 1] - k * step)
                                              > 1e-12):
        return np.zeros(0)
    return np.exp(-eta0 * (k * step) ** 2)


def _weight_rows(x_mean, x_scale, sizes, weights) -> np.ndarray:
    """The layers as one (Σ (n_in + 1), widest) matrix: each layer's weight rows, then its bias
    row, zero-padded (so the inner loops run over contiguous columns and vectorise). The feature
    standardisation is folded into the first layer, W₁/s and b₁ − (m/s)·W₁, so the network reads
    raw features."""
    sizes = [int(n) for n in sizes]
    weights = np.asarray(weights, dtype=np.float64)
    widest = max(sizes + [1])
    rows, offset = [], 0
    for layer, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        w = weights[offset:offset + n_in * n_out].reshape(n_in, n_out)
        b = weights[offset + n_in * n_out:offset + n_in * n_out + n_out]
        if layer == 0:
            w = w / np.asarray(x_scale, dtype=np.float64)[:, None]
            b = b - np.asarray(x_mean, dtype=np.float64) @ w
        block = np.zeros((n_in + 1, widest))
        block[:n_in, :n_out] = w
        block[n_in, :n_out] = b
        rows.append(block)
        offset += n_in * n_out + n_out
    return np.ascontiguousarray(np.vstack(rows) if rows else np.zeros((0, widest)))


def soap_model_tuple(tables, proj, lam, y_mean, y_scale, wall, wall_k, guard=NO_GUARD) -> tuple:
    """The model tuple of the quadratic SOAP model (:mod:`.point_soap`): ``tables`` from
    :func:`~.point_soap.soap_tables`, the eigen-projections ``proj`` (rank, features; only the
    live columns are kept) and their ``lam``; the symmetry-function fields empty."""
    blank = model_tuple(SOAP, 1, np.zeros((0, 2)), 1.0, np.zeros((0, 3)), 1.0, np.zeros(0),
                        np.ones(0), np.zeros(1, np.int64), np.zeros(0), y_mean, y_scale, wall,
                        wall_k, guard)
    live = np.ascontiguousarray(np.asarray(proj, dtype=np.float64)[:, tables[13]])
    return blank[:17] + (tables, live, np.ascontiguousarray(lam, dtype=np.float64)) + blank[20:]


def model_tuple(flag, n_types, radial, r_cut_radial, angular, r_cut_angular, x_mean, x_scale,
                sizes, weights, y_mean, y_scale, wall, wall_k, guard=NO_GUARD) -> tuple:
    """What the kernels read: ``radial`` (n_r, 2) rows (η, R_s); ``angular`` (n_a, 3) rows
    (η, ζ, λ); feature scaling (folded into the first layer); layer ``sizes`` (inputs,
    hidden…, 1) and the layers' weights then biases, flat; target scaling; per host type the
    wall radius (Å) and its stiffness; the series of the angular and the radial cutoff functions
    in r²; the angular prefactors 2^{1−ζ} and the radial damping (:func:`_uniform_damping`);
    last the ``guard`` (U_max eV, k per eV): where the host tuple's UFF pair sum U exceeds
    U_max, k(U − U_max)² is added (:func:`guard_penalty`)."""
    radial = np.ascontiguousarray(radial, dtype=np.float64).reshape(-1, 2)
    angular = np.ascontiguousarray(angular, dtype=np.float64).reshape(-1, 3)
    zeta = angular[:, 1]
    whole = np.where((zeta == np.round(zeta)) & (zeta <= 64), zeta, -1).astype(np.int64)
    sizes = np.ascontiguousarray(sizes, dtype=np.int64)
    return (np.int64(flag), np.int64(n_types), radial, float(r_cut_radial),
            angular, whole, float(r_cut_angular),
            np.ascontiguousarray(2.0 ** (1.0 - zeta)), _uniform_damping(radial),
            sizes, _weight_rows(x_mean, x_scale, sizes, weights), float(y_mean), float(y_scale),
            np.ascontiguousarray(wall, dtype=np.float64), float(wall_k),
            _cutoff_series(max(float(r_cut_angular), 1e-3)), _cutoff_series(float(r_cut_radial)),
            empty_tables(), np.zeros((0, 1)), np.zeros(0),
            np.array([float(guard[0]), float(guard[1])]))


def n_features(n_types: int, n_radial: int, n_angular: int) -> int:
    return n_types * n_radial + n_types * (n_types + 1) // 2 * n_angular


@leaf
def row_atoms(s, qx, qy, qz, bx, by, bz, host):
    """(first, stop) of the binned host images in stencil row ``s`` (a column of bins along z)
    around the point q in bin (bx, by, bz): only the z-bins the cutoff sphere reaches at the
    column's distance from q in x and y (a-SiO2, 4.5 Å: half the candidates of whole columns)."""
    lo, inv_w, nbins, rows, bin_start, cut2 = host[2], host[3], host[4], host[5], host[6], host[13]
    x = bx + rows[s, 0]
    y = by + rows[s, 1]
    ny, nz = nbins[1], nbins[2]
    if x < 0 or x >= nbins[0] or y < 0 or y >= ny:
        return 0, 0
    ux = (qx - lo[0]) * inv_w - x  # in bin widths from the column's lower x face
    uy = (qy - lo[1]) * inv_w - y
    gx = max(-ux, ux - 1.0, 0.0)
    gy = max(-uy, uy - 1.0, 0.0)
    rest = cut2 * inv_w * inv_w * (1.0 + 1e-9) - gx * gx - gy * gy  # :func:`_row_stencil`'s slack
    if rest < 0.0:
        return 0, 0
    chord = math.sqrt(rest) + 1e-9
    uz = (qz - lo[2]) * inv_w
    z0 = max(int(math.floor(uz - chord)), 0)
    z1 = min(int(math.floor(uz + chord)), nz - 1)
    if z0 > z1:
        return 0, 0
    base = (x * ny + y) * nz
    return bin_start[base + z0], bin_start[base + z1 + 1]


@njit(nogil=True, cache=True)
def uff_pair(r2, c12, c6, shift):
    """(E, (dE/dr)/r) of one shifted UFF pair term (:mod:`.potential`) at squared distance r2."""
    s2 = 1.0 / max(r2, R2_MIN)
    s6 = s2 * s2 * s2
    rep = c12 * s6 * s6
    att = c6 * s6
    return rep - att - shift, (6.0 * att - 12.0 * rep) * s2


@njit(nogil=True, cache=True)
def guard_penalty(u, ux, uy, uz, guard):
    """(k(U − U_max)², its gradient) where the UFF sum U (gradient ux, uy, uz) is above the
    highest one of the training points, U_max: there the model saw no data, UFF's rise stands
    in for it (a capped training set has no point there, and a model may dip anywhere)."""
    excess = u - guard[0]
    if excess <= 0.0:
        return 0.0, 0.0, 0.0, 0.0
    c = 2.0 * guard[1] * excess
    return guard[1] * excess * excess, c * ux, c * uy, c * uz


@njit(nogil=True, cache=True, inline="always")
def restraint_terms(host):
    """(wall stiffness, r² within which the guard's UFF sum counts (−1: no guard), c12, c6,
    shift): what :func:`add_restraints` reads, taken from the host tuple once per point (a
    call that passes the whole host tuple costs a reference count per array in it, ~0.2 µs).
    Inlined, and it must stay so: called from the leaf :func:`_scan_soap`, a function of its
    own would hand out new references to three arrays that the leaf never releases."""
    model = host[15]
    return model[14], host[13] if model[20][1] > 0.0 else -1.0, host[10], host[11], host[12]


@leaf
def add_restraints(sums, r2, dx, dy, dz, wall_radius, wall_k, guard_r2, c12, c6, shift):
    """Add a host image (at r2, d = point − atom; its UFF ``c12, c6, shift``) to ``sums``: the
    wall energy and its gradient (inside ``wall_radius``), then the UFF sum and its gradient
    inside ``guard_r2`` (:func:`restraint_terms`). :func:`restraint_energy` turns them into
    energy."""
    if r2 < wall_radius * wall_radius:
        e, c = _wall(max(math.sqrt(r2), 1e-9), wall_radius, wall_k)
        sums[0] += e
        sums[1] += c * dx
        sums[2] += c * dy
        sums[3] += c * dz
    if r2 < guard_r2:
        e, c = uff_pair(r2, c12, c6, shift)
        sums[4] += e
        sums[5] += c * dx
        sums[6] += c * dy
        sums[7] += c * dz


@njit(nogil=True, cache=True)
def restraint_energy(sums, guard):
    """(E, ∂E/∂x, ∂E/∂y, ∂E/∂z) of the wall and the guard from :func:`add_restraints`' sums."""
    e, gx, gy, gz = guard_penalty(sums[4], sums[5], sums[6], sums[7], guard)
    return sums[0] + e, sums[1] + gx, sums[2] + gy, sums[3] + gz


@njit(nogil=True, cache=True)
def _cutoff_and_slope(u, r, series):
    """(f_c, df_c/dr) at r (u = r²): f_c = h², h = cos(πr/2r_c) a polynomial in u."""
    h = series[series.shape[0] - 1]
    dh = 0.0
    for n in range(series.shape[0] - 2, -1, -1):
        dh = dh * u + h
        h = h * u + series[n]
    return h * h, 4.0 * h * dh * r


@njit(nogil=True, cache=True)
def workspace(model, want_gradient, most):
    """Buffers one point's evaluation needs, allocated once per batch of points: features g,
    their Jacobian, dE/dg, the layers' activations, two backpropagation rows, and the
    neighbours inside the angular cutoff (dx, dy, dz, r, f_c, df_c/dr; their host types), at
    most ``most`` (the host's bound, :func:`~.potential.most_candidates`)."""
    sizes = model[9]
    d = sizes[0]
    widest = 1
    for s in range(sizes.shape[0]):
        widest = max(widest, sizes[s])
    jac = np.empty((d if want_gradient else 0, 3))
    return (np.empty(d), jac, np.empty(d), np.empty((sizes.shape[0], widest)),
            np.empty(widest), np.empty(widest), np.empty((most, 6)), np.empty(most, np.int64))


@njit(nogil=True, cache=True)
def gather(qx, qy, qz, bx, by, bz, host, want_gradient, g, jac, near, near_type):
    """Symmetry functions of the point (in the cell, in bin (bx, by, bz)) into ``g`` (d,), their
    gradient into ``jac`` (d, 3) when asked, with the neighbour buffers given
    (:func:`workspace`); returns the wall energy and its gradient."""
    rows, ax, ay, az = host[5], host[7], host[8], host[9]
    image_type, model = host[14], host[15]
    n_types = model[1]
    radial, rc_r, angular, ang_int, rc_a = model[2], model[3], model[4], model[5], model[6]
    ang_scale, damp = model[7], model[8]
    wall = model[13]
    series_a, series_r = model[15], model[16]
    sums = np.zeros(8)
    wall_k, guard_r2, c12, c6, shift = restraint_terms(host)
    n_r = radial.shape[0]
    n_a = angular.shape[0]
    rc_r2 = rc_r * rc_r
    rc_a2 = rc_a * rc_a
    reach2 = max(rc_r2, rc_a2)  # nothing beyond the cutoffs and the walls counts
    for t in range(wall.shape[0]):
        reach2 = max(reach2, wall[t] * wall[t])
    off_a = n_types * n_r
    g[:] = 0.0
    if want_gradient:
        jac[:, :] = 0.0
    # evenly spaced centres of one width: two exponentials per neighbour instead of n_r
    uniform = damp.shape[0] == n_r and n_r > 1
    eta0 = radial[0, 0] if n_r > 0 else 0.0
    step = radial[1, 1] - radial[0, 1] if n_r > 1 else 0.0
    k = 0
    for s in range(rows.shape[0]):
        first, stop = row_atoms(s, qx, qy, qz, bx, by, bz, host)
        for a in range(first, stop):
            dx = qx - ax[a]
            dy = qy - ay[a]
            dz = qz - az[a]
            r2 = dx * dx + dy * dy + dz * dz
            if r2 >= reach2:
                continue
            t = image_type[a]
            r = max(math.sqrt(r2), 1e-9)
            add_restraints(sums, r2, dx, dy, dz, wall[t], wall_k, guard_r2, c12[a], c6[a],
                           shift[a])
            if r2 < rc_r2:
                if want_gradient:
                    f_c, df_c = _cutoff_and_slope(r2, r, series_r)
                else:
                    f_c, df_c = _cutoff(r2, series_r), 0.0
                col = t * n_r
                inv_r = 1.0 / r
                if uniform:  # exp(−η(u − kΔ)²) = exp(−ηu²)·exp(2ηuΔ)^k·exp(−ηΔ²k²)
                    u0 = r - radial[0, 1]
                    ex = math.exp(-eta0 * u0 * u0)
                    ratio = math.exp(2.0 * eta0 * u0 * step)
                for p in range(n_r):
                    eta = radial[p, 0]
                    u = r - radial[p, 1]
                    if uniform:
                        if p > 0:
                            ex *= ratio
                        value = ex * damp[p]
                    else:
                        value = math.exp(-eta * u * u)
                    g[col + p] += value * f_c
                    if want_gradient:
                        dr = value * (df_c - 2.0 * eta * u * f_c) * inv_r
                        jac[col + p, 0] += dr * dx
                        jac[col + p, 1] += dr * dy
                        jac[col + p, 2] += dr * dz
            if r2 < rc_a2 and n_a > 0:
                if k == near.shape[0]:
                    raise RuntimeError("a point has more neighbours than the host's bound")
                near[k, 0] = dx
                near[k, 1] = dy
                near[k, 2] = dz
                near[k, 3] = r
                if want_gradient:
                    near[k, 4], near[k, 5] = _cutoff_and_slope(r2, r, series_a)
                else:
                    near[k, 4] = _cutoff(r2, series_a)
                near_type[k] = t
                k += 1
    for a in range(k):
        ta = near_type[a]
        xa, ya, za, ra, fa, dfa = near[a, 0], near[a, 1], near[a, 2], near[a, 3], near[a, 4], \
            near[a, 5]
        for b in range(a):
            tb = near_type[b]
            xb, yb, zb, rb, fb, dfb = near[b, 0], near[b, 1], near[b, 2], near[b, 3], \
                near[b, 4], near[b, 5]
            ex_ = xa - xb
            ey_ = ya - yb
            ez_ = za - zb
            rab2 = ex_ * ex_ + ey_ * ey_ + ez_ * ez_
            if rab2 > rc_a2:
                continue
            fab = _cutoff(rab2, series_a)  # f_c(r_jk) without a root or a cosine
            inv_ab = 1.0 / (ra * rb)
            cos_t = (xa * xb + ya * yb + za * zb) * inv_ab
            cut = fa * fb * fab
            sum2 = ra * ra + rb * rb + rab2
            hi_t = max(ta, tb)
            col0 = off_a + (hi_t * (hi_t + 1) // 2 + min(ta, tb)) * n_a
            if want_gradient:
                # with d = p − x: d cos/dp, d(ra² + rb² + rab²)/dp (halved), d(fa fb fab)/dp
                ca = 1.0 / (ra * ra)
                cb = 1.0 / (rb * rb)
                cos_x = (xa + xb) * inv_ab - cos_t * (xa * ca + xb * cb)
                cos_y = (ya + yb) * inv_ab - cos_t * (ya * ca + yb * cb)
                cos_z = (za + zb) * inv_ab - cos_t * (za * ca + zb * cb)
                sx, sy, sz = xa + xb, ya + yb, za + zb
                ua = fab * dfa * fb / ra
                ub = fab * fa * dfb / rb
                cut_x, cut_y, cut_z = ua * xa + ub * xb, ua * ya + ub * yb, ua * za + ub * zb
            gauss = 0.0
            for p in range(n_a):
                eta = angular[p, 0]
                if p == 0 or eta != angular[p - 1, 0]:
                    gauss = math.exp(-eta * sum2)
                lam = angular[p, 2]
                base = 1.0 + lam * cos_t
                if base <= 0.0:
                    continue
                zeta = angular[p, 1]
                whole = ang_int[p]
                if whole >= 1:
                    power = 1.0  # base^(ζ−1)
                    for _ in range(whole - 1):
                        power *= base
                else:
                    power = base ** (zeta - 1.0)
                ang = ang_scale[p] * power * base
                g[col0 + p] += ang * gauss * cut
                if want_gradient:
                    da = ang_scale[p] * zeta * power * lam * gauss * cut
                    dg_ = -2.0 * eta * ang * gauss * cut
                    dc = ang * gauss
                    jac[col0 + p, 0] += da * cos_x + dg_ * sx + dc * cut_x
                    jac[col0 + p, 1] += da * cos_y + dg_ * sy + dc * cut_y
                    jac[col0 + p, 2] += da * cos_z + dg_ * sz + dc * cut_z
    return restraint_energy(sums, model[20])


@njit(nogil=True, cache=True)
def _wall(r, rw, wall_k):
    """(k(r_w − r)², its derivative over r) inside the wall radius r_w."""
    gap = rw - r
    return wall_k * gap * gap, -2.0 * wall_k * gap / r


@leaf
def gather_soap(qx, qy, qz, bx, by, bz, host, work):
    """The host atoms within the SOAP cutoff of the point into ``work[6]`` (dx, dy, dz = point
    − atom, SOAP type), the wall and the guard: (k, their energy, its gradient). The buffer
    holds the most candidates any point of this host has (:func:`~.potential.most_candidates`),
    so nothing grows per point (a-SiO2/Cu: a branch that could replace the buffer cost 0.4 µs
    of a 13 µs energy)."""
    sums = work[11]
    k = _scan_soap(qx, qy, qz, bx, by, bz, host, work[6], sums)
    if k < 0:
        raise RuntimeError("a point has more candidate neighbours than the host's bound")
    e, gx, gy, gz = restraint_energy(sums, host[15][20])
    return k, e, gx, gy, gz


@leaf
def _scan_soap(qx, qy, qz, bx, by, bz, host, neighbours, sums):
    """:func:`gather_soap`'s scan of the stencil rows: the number of neighbours, or −1 when
    ``neighbours`` has no room for a row's candidates (a bound that is wrong, never a
    write past the end); ``sums`` (8) gets the restraints."""
    rows, ax, ay, az = host[5], host[7], host[8], host[9]
    image_type, model = host[14], host[15]
    wall, tabs = model[13], model[17]
    reach2, type_map = tabs[11], tabs[10]
    sums[:] = 0.0
    wall_k, guard_r2, c12, c6, shift = restraint_terms(host)
    k = 0
    for s in range(rows.shape[0]):
        first, stop = row_atoms(s, qx, qy, qz, bx, by, bz, host)
        if k + stop - first > neighbours.shape[0]:  # room for the whole row
            return -1
        for a in range(first, stop):
            dx = qx - ax[a]
            dy = qy - ay[a]
            dz = qz - az[a]
            r2 = dx * dx + dy * dy + dz * dz
            t = image_type[a]
            add_restraints(sums, r2, dx, dy, dz, wall[t], wall_k, guard_r2, c12[a], c6[a],
                           shift[a])
            # every candidate written, kept only inside the cutoff: no branch to mispredict
            neighbours[k, 0] = dx
            neighbours[k, 1] = dy
            neighbours[k, 2] = dz
            neighbours[k, 3] = type_map[t]
            k += r2 < reach2
    return k


@leaf
def soap_energy(qx, qy, qz, bx, by, bz, host, want_gradient, work):
    """(E, ∂E/∂x, ∂E/∂y, ∂E/∂z) of the quadratic SOAP model at a located point; ``work`` from
    :func:`~.point_soap.soap_workspace`."""
    model = host[15]
    tabs = model[17]
    k, e_wall, wx, wy, wz = gather_soap(qx, qy, qz, bx, by, bz, host, work)
    soap_coefficients(work[6], k, tabs, work)
    live_spectrum(work, tabs, work[4])  # only the live features: no copy
    e = quadratic_energy(work[4], model[18], model[19], model[11], model[12], want_gradient,
                         work[5], work[7]) + e_wall
    if not want_gradient:
        return e, 0.0, 0.0, 0.0
    gx, gy, gz = soap_gradient(k, tabs, work)
    return e, gx + wx, gy + wy, gz + wz


@njit(nogil=True, cache=True)
def _tanh(x):
    """tanh from one exponential (libm's tanh costs ~3 exponentials here)."""
    if x > 20.0:
        return 1.0
    if x < -20.0:
        return -1.0
    return 1.0 - 2.0 / (math.exp(2.0 * x) + 1.0)


@njit(nogil=True, cache=True, fastmath={"reassoc", "contract", "nsz"})
def network_energy(x, model, want_gradient, dx, acts, delta, back):
    """Energy (eV) of the MLP on raw features ``x`` (scaling folded into the first layer);
    dE/dx into ``dx`` if asked. ``acts`` (layers + 1, widest), ``delta`` and ``back`` (widest,)
    are scratch (:func:`workspace`). Weight rows from :func:`_weight_rows`."""
    sizes, w, y_mean, y_scale = model[9], model[10], model[11], model[12]
    n_layers = sizes.shape[0] - 1
    widest = w.shape[1]
    for i in range(sizes[0]):
        acts[0, i] = x[i]
    top = 0  # first row of the current layer
    out = 0.0
    for layer in range(n_layers):
        n_in = sizes[layer]
        for o in range(widest):
            delta[o] = w[top + n_in, o]
        for i in range(n_in):
            xi = acts[layer, i]
            for o in range(widest):
                delta[o] += xi * w[top + i, o]
        if layer < n_layers - 1:
            for o in range(widest):
                acts[layer + 1, o] = _tanh(delta[o])
        else:
            out = delta[0]
        top += n_in + 1
    if want_gradient:
        for o in range(widest):
            delta[o] = 0.0
        delta[0] = y_scale  # dE/d(pre-activation) of the current layer
        for layer in range(n_layers - 1, -1, -1):
            n_in = sizes[layer]
            top -= n_in + 1
            for i in range(n_in):
                s = 0.0
                for o in range(widest):
                    s += w[top + i, o] * delta[o]
                back[i] = s
            if layer > 0:
                for i in range(widest):
                    h = acts[layer, i] if i < n_in else 0.0
                    delta[i] = back[i] * (1.0 - h * h) if i < n_in else 0.0
            else:
                for i in range(n_in):
                    dx[i] = back[i]
    return out * y_scale + y_mean


@njit(nogil=True, cache=True)
def evaluate_located(qx, qy, qz, bx, by, bz, host, want_gradient, work):
    """(E, ∂E/∂x, ∂E/∂y, ∂E/∂z) of the network at a point already wrapped and binned, with the
    buffers ``work`` (:func:`workspace`)."""
    g, jac, dg, acts, delta, back, near, near_type = work
    e_wall, wx, wy, wz = gather(qx, qy, qz, bx, by, bz, host, want_gradient, g, jac, near,
                                near_type)
    e = network_energy(g, host[15], want_gradient, dg, acts, delta, back) + e_wall
    if not want_gradient:
        return e, 0.0, 0.0, 0.0
    gx, gy, gz = wx, wy, wz
    for f in range(g.shape[0]):
        gx += dg[f] * jac[f, 0]
        gy += dg[f] * jac[f, 1]
        gz += dg[f] * jac[f, 2]
    return e, gx, gy, gz


@njit(nogil=True, cache=True)
def model_workspace(model, want_gradient, most):
    """Buffers of one point's evaluation by the model, made once per batch of points: the
    network's (:func:`workspace`) and the SOAP model's (:func:`~.point_soap.soap_workspace`,
    for points with at most ``most`` candidate neighbours), the one the model does not use left
    tiny (one type for every kind of model)."""
    soap = model[0] == SOAP
    return (workspace(model, want_gradient and not soap, 0 if soap else most),
            soap_workspace(model[17], most if soap else 0, model[18].shape[0]))


@njit(nogil=True, cache=True, inline="always")
def model_energy(qx, qy, qz, bx, by, bz, host, want_gradient, work):
    """(E, ∂E/∂x, ∂E/∂y, ∂E/∂z) of the model at a point already wrapped and binned; ``work``
    from :func:`model_workspace`."""
    net, soap = work
    if host[15][0] == SOAP:
        return soap_energy(qx, qy, qz, bx, by, bz, host, want_gradient, soap)
    return evaluate_located(qx, qy, qz, bx, by, bz, host, want_gradient, net)

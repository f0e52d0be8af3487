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

Within ``wall`` Å of a host atom the network saw no training point, so a steep wall
k·(r_wall − r)² is added there; a minimiser can then not find a spurious minimum inside an atom.
"""
from __future__ import annotations

import math

import numpy as np
from numba import njit

from ..descriptors.acsf import _cutoff, _cutoff_series

#: Model flag in the host tuple: 0 = the UFF pair sum, 1 = this network.
UFF, NETWORK = 0, 1
#: Neighbours inside the angular cutoff held per point before the buffer grows.
_BUFFER = 64



def empty_model() -> tuple:
    """The model tuple of a potential that is no network (same types, so the kernels compile once)."""
    return model_tuple(UFF, 1, np.zeros((0, 2)), 1.0, np.zeros((0, 3)), 1.0, np.zeros(0),
                       np.ones(0), np.zeros(1, np.int64), np.zeros(0), 0.0, 1.0, np.zeros(1), 0.0)


def model_tuple(flag, n_types, radial, r_cut_radial, angular, r_cut_angular, x_mean, x_scale,
                sizes, weights, y_mean, y_scale, wall, wall_k) -> tuple:
    """What the kernels read: ``radial`` (n_r, 2) rows (η, R_s); ``angular`` (n_a, 3) rows
    (η, ζ, λ); feature scaling; layer ``sizes`` (inputs, hidden…, 1) and the layers' weights
    then biases, flat; target scaling; per host type the wall radius (Å) and its stiffness;
    last, the series of the angular and the radial cutoff functions in r²."""
    angular = np.ascontiguousarray(angular, dtype=np.float64).reshape(-1, 3)
    zeta = angular[:, 1]
    whole = np.where((zeta == np.round(zeta)) & (zeta <= 64), zeta, -1).astype(np.int64)
    return (np.int64(flag), np.int64(n_types),
            np.ascontiguousarray(radial, dtype=np.float64).reshape(-1, 2), float(r_cut_radial),
            angular, whole, float(r_cut_angular),
            np.ascontiguousarray(x_mean, dtype=np.float64),
            np.ascontiguousarray(x_scale, dtype=np.float64),
            np.ascontiguousarray(sizes, dtype=np.int64),
            np.ascontiguousarray(weights, dtype=np.float64), float(y_mean), float(y_scale),
            np.ascontiguousarray(wall, dtype=np.float64), float(wall_k),
            _cutoff_series(max(float(r_cut_angular), 1e-3)), _cutoff_series(float(r_cut_radial)))


def n_features(n_types: int, n_radial: int, n_angular: int) -> int:
    return n_types * n_radial + n_types * (n_types + 1) // 2 * n_angular


@njit(nogil=True, cache=True)
def row_atoms(s, bx, by, bz, nbins, rows, bin_start):
    """(first, stop) of the binned host images in stencil row ``s`` around bin (bx, by, bz)."""
    x = bx + rows[s, 0]
    y = by + rows[s, 1]
    ny, nz = nbins[1], nbins[2]
    if x < 0 or x >= nbins[0] or y < 0 or y >= ny:
        return 0, 0
    z0 = max(bz + rows[s, 2], 0)
    z1 = min(bz + rows[s, 3], nz - 1)
    if z0 > z1:
        return 0, 0
    base = (x * ny + y) * nz
    return bin_start[base + z0], bin_start[base + z1 + 1]


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
def _angular_value(cos_t, lam, zeta, zeta_int):
    """(2^{1−ζ}(1 + λ cos θ)^ζ, its derivative with respect to cos θ)."""
    base = 1.0 + lam * cos_t
    if base <= 0.0:
        return 0.0, 0.0
    if zeta_int >= 0:
        power = 1.0  # base^(ζ−1)
        for _ in range(zeta_int - 1):
            power *= base
        value = power * base if zeta_int >= 1 else 1.0
        slope = zeta * power * lam if zeta_int >= 1 else 0.0
    else:
        power = base ** (zeta - 1.0)
        value = power * base
        slope = zeta * power * lam
    scale = 2.0 ** (1.0 - zeta)
    return scale * value, scale * slope


@njit(nogil=True, cache=True)
def features(qx, qy, qz, bx, by, bz, host, want_gradient, g, jac):
    """Symmetry functions of the point (in the cell, in bin (bx, by, bz)) into ``g`` (d,), their
    gradient into ``jac`` (d, 3) when asked; returns the wall energy and its gradient."""
    nbins, rows, bin_start, ax, ay, az = host[4], host[5], host[6], host[7], host[8], host[9]
    image_type, model = host[14], host[15]
    n_types = model[1]
    radial, rc_r, angular, ang_int, rc_a = model[2], model[3], model[4], model[5], model[6]
    wall, wall_k = model[13], model[14]
    n_r = radial.shape[0]
    n_a = angular.shape[0]
    rc_r2 = rc_r * rc_r
    rc_a2 = rc_a * rc_a
    off_a = n_types * n_r
    for f in range(g.shape[0]):
        g[f] = 0.0
    if want_gradient:
        for f in range(g.shape[0]):
            jac[f, 0] = 0.0
            jac[f, 1] = 0.0
            jac[f, 2] = 0.0
    series_r = model[16]
    # evenly spaced centres of one width: two exponentials per neighbour instead of n_r
    eta0 = radial[0, 0] if n_r > 0 else 0.0
    step = radial[1, 1] - radial[0, 1] if n_r > 1 else 0.0
    uniform = n_r > 1
    for p in range(1, n_r):
        if radial[p, 0] != eta0 or abs(radial[p, 1] - radial[0, 1] - p * step) > 1e-12:
            uniform = False
    damp = np.empty(n_r)
    for p in range(n_r):
        damp[p] = math.exp(-eta0 * (p * step) ** 2)
    cap = _BUFFER
    dvec = np.empty((cap, 3))
    rr = np.empty(cap)
    fc = np.empty(cap)
    dfc = np.empty(cap)
    typ = np.empty(cap, np.int64)
    k = 0
    e_wall = 0.0
    wx = 0.0
    wy = 0.0
    wz = 0.0
    for s in range(rows.shape[0]):
        for a in range(*row_atoms(s, bx, by, bz, nbins, rows, bin_start)):
            dx = qx - ax[a]
            dy = qy - ay[a]
            dz = qz - az[a]
            r2 = dx * dx + dy * dy + dz * dz
            t = image_type[a]
            rw = wall[t]
            if r2 < rw * rw:
                r = max(math.sqrt(r2), 1e-9)
                gap = rw - r
                e_wall += wall_k * gap * gap
                c = -2.0 * wall_k * gap / r
                wx += c * dx
                wy += c * dy
                wz += c * dz
            if r2 >= rc_r2 and r2 >= rc_a2:
                continue
            r = max(math.sqrt(r2), 1e-9)
            if r2 < rc_r2:
                f_c, df_c = _cutoff_and_slope(r2, r, series_r)
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
                    col = t * n_r + p
                    g[col] += value * f_c
                    if want_gradient:
                        dr = value * (df_c - 2.0 * eta * u * f_c) / r
                        jac[col, 0] += dr * dx
                        jac[col, 1] += dr * dy
                        jac[col, 2] += dr * dz
            if r2 < rc_a2 and n_a > 0:
                if k == cap:  # grow the neighbour buffer
                    cap *= 2
                    dvec2 = np.empty((cap, 3))
                    dvec2[:k] = dvec[:k]
                    dvec = dvec2
                    rr2 = np.empty(cap)
                    rr2[:k] = rr[:k]
                    rr = rr2
                    fc2 = np.empty(cap)
                    fc2[:k] = fc[:k]
                    fc = fc2
                    dfc2 = np.empty(cap)
                    dfc2[:k] = dfc[:k]
                    dfc = dfc2
                    typ2 = np.empty(cap, np.int64)
                    typ2[:k] = typ[:k]
                    typ = typ2
                dvec[k, 0] = dx
                dvec[k, 1] = dy
                dvec[k, 2] = dz
                rr[k] = r
                fc[k], dfc[k] = _cutoff_and_slope(r2, r, model[15])
                typ[k] = t
                k += 1
    series = model[15]
    for a in range(k):
        ta = typ[a]
        for b in range(a):
            tb = typ[b]
            ex_ = dvec[a, 0] - dvec[b, 0]
            ey_ = dvec[a, 1] - dvec[b, 1]
            ez_ = dvec[a, 2] - dvec[b, 2]
            rab2 = ex_ * ex_ + ey_ * ey_ + ez_ * ez_
            if rab2 > rc_a2:
                continue
            fab = _cutoff(rab2, series)  # f_c(r_jk) without a root or a cosine
            ra, rb = rr[a], rr[b]
            dot = dvec[a, 0] * dvec[b, 0] + dvec[a, 1] * dvec[b, 1] + dvec[a, 2] * dvec[b, 2]
            cos_t = dot / (ra * rb)
            cut = fc[a] * fc[b] * fab
            hi_t = max(ta, tb)
            col0 = off_a + (hi_t * (hi_t + 1) // 2 + min(ta, tb)) * n_a
            for p in range(n_a):
                eta = angular[p, 0]
                if p == 0 or eta != angular[p - 1, 0]:
                    gauss = math.exp(-eta * (ra * ra + rb * rb + rab2))
                ang, dang = _angular_value(cos_t, angular[p, 2], angular[p, 1], ang_int[p])
                g[col0 + p] += ang * gauss * cut
                if want_gradient:
                    # d cos/dp, d(ra²+rb²)/dp, d(fa fb)/dp with d = p − x
                    for c in range(3):
                        dcos = (dvec[b, c] / (ra * rb) - cos_t * dvec[a, c] / (ra * ra)
                                + dvec[a, c] / (ra * rb) - cos_t * dvec[b, c] / (rb * rb))
                        dgauss = -2.0 * eta * gauss * (dvec[a, c] + dvec[b, c])
                        dcut = fab * (dfc[a] * fc[b] * dvec[a, c] / ra
                                      + fc[a] * dfc[b] * dvec[b, c] / rb)
                        jac[col0 + p, c] += (dang * dcos * gauss * cut + ang * dgauss * cut
                                             + ang * gauss * dcut)
    return e_wall, wx, wy, wz


@njit(nogil=True, cache=True)
def network_energy(x, model, want_gradient, dx):
    """Energy (eV) of the scaled-back MLP on raw features ``x``; dE/dx into ``dx`` if asked."""
    x_mean, x_scale, sizes, weights, y_mean, y_scale = (model[7], model[8], model[9], model[10],
                                                         model[11], model[12])
    n_layers = sizes.shape[0] - 1
    widest = 0
    for s in range(sizes.shape[0]):
        widest = max(widest, sizes[s])
    acts = np.zeros((n_layers + 1, widest))  # layer inputs; acts[0] the scaled features
    for i in range(sizes[0]):
        acts[0, i] = (x[i] - x_mean[i]) / x_scale[i]
    offset = 0
    out = 0.0
    for layer in range(n_layers):
        n_in, n_out = sizes[layer], sizes[layer + 1]
        w0 = offset
        b0 = offset + n_in * n_out
        for o in range(n_out):
            a = weights[b0 + o]
            for i in range(n_in):
                a += acts[layer, i] * weights[w0 + i * n_out + o]
            if layer < n_layers - 1:
                acts[layer + 1, o] = math.tanh(a)
            else:
                out = a
        offset = b0 + n_out
    if want_gradient:
        delta = np.zeros(widest)  # dE/d(pre-activation) of the current layer
        delta[0] = y_scale
        for layer in range(n_layers - 1, -1, -1):
            n_in, n_out = sizes[layer], sizes[layer + 1]
            offset -= n_in * n_out + n_out
            back = np.zeros(n_in)
            for i in range(n_in):
                s = 0.0
                for o in range(n_out):
                    s += weights[offset + i * n_out + o] * delta[o]
                back[i] = s
            if layer > 0:
                for i in range(n_in):
                    h = acts[layer, i]
                    delta[i] = back[i] * (1.0 - h * h)
            else:
                for i in range(n_in):
                    dx[i] = back[i] / x_scale[i]
    return out * y_scale + y_mean


@njit(nogil=True, cache=True)
def model_energy(qx, qy, qz, bx, by, bz, host, want_gradient):
    """(E, ∂E/∂x, ∂E/∂y, ∂E/∂z) of the network at a point already wrapped and binned."""
    model = host[15]
    d = model[9][0]
    g = np.empty(d)
    jac = np.empty((d, 3)) if want_gradient else np.empty((0, 3))
    e_wall, wx, wy, wz = features(qx, qy, qz, bx, by, bz, host, want_gradient, g, jac)
    dg = np.empty(d)
    e = network_energy(g, model, want_gradient, dg) + e_wall
    if not want_gradient:
        return e, 0.0, 0.0, 0.0
    gx, gy, gz = wx, wy, wz
    for f in range(d):
        gx += dg[f] * jac[f, 0]
        gy += dg[f] * jac[f, 1]
        gz += dg[f] * jac[f, 2]
    return e, gx, gy, gz

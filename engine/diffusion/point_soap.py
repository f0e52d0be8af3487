"""SOAP of the mobile atom at any point of a frozen host, a quadratic model on it, and the
gradient of both with respect to the point (numba).

Why: the symmetry functions of :mod:`.environment` resolve angles with one ζ series inside a
short cutoff, and a network on them stalls near 0.1 eV RMSE for Cu on xTB in a-SiO2. SOAP's
radial × angular channels (n ≤ 6, l ≤ 6) with a kernel model reach ~0.05 eV on the same points
(Bartók, Kondor & Csányi, PRB 87, 184115 (2013); the GAP recipe: normalised power spectrum p̂,
polynomial kernel (p̂·p̂')², Deringer & Csányi, PRB 95, 094203 (2017)).

* Features: exactly the power spectrum of :mod:`amorpha.engine.descriptors.soap` (DScribe's
  ``SOAP(rbf="gto")``) of an atom of the mobile element put at the point, with the mobile
  element among the species (its own Gaussian at the centre gives the l = 0 terms that are
  linear in the host density). The radial tables and the solid-harmonic recursion are that
  module's; here they run for one moving centre whose neighbours come from the binned host.
* Model: kernel ridge regression with the kernel (p̂·p̂')² predicts E = m + s·p̂ᵀ A p̂ with
  A = Σ_i α_i p̂_i p̂_iᵀ, a quadratic form; its ``rank`` largest eigenpairs (|λ|) keep it to
  ~40 projections: E = m + s·Σ_k λ_k (u_k·p̂)² (Cu on xTB: 40 of 618 lose nothing measurable).
* Gradient: back through the quadratic form, the normalisation and the power spectrum to the
  coefficients c_nlm, then one more pass over the neighbours with the derivatives of the radial
  table (in u = r²) and of the solid harmonics (the recursion differentiated in z and r²).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Optional

import numpy as np
from numba import njit

from ..descriptors.soap import (_TABLE_STEP, SoapParams, _power_spectrum, _radial, _radial_parts,
                                _tables, harmonic_tables, quintic_table, radial_derivative,
                                solid_harmonics)
from ..elements import number
from ..errors import require

#: Neighbours held per point before the buffers grow.
_BUFFER = 128
#: Eigenpairs the workspace holds projections for before a bigger row is made.
_RANK = 64


@dataclass(frozen=True)
class PointSoapParams:
    """SOAP settings of the mobile atom's environment (DScribe's meaning) and the number of
    eigenpairs ``rank`` the quadratic model keeps. Defaults chosen on Cu/xTB in a-SiO2 by
    cross-validation on the training set: r_cut 4.5 Å, n 6, l 6, σ 0.5 Å (3-fold RMSE 0.051 eV;
    r 5 / n 6 / l 6 0.052; n 4 / l 6 0.054; n 4 / l 4 0.059; σ 1 Å ~0.065).

    ``taper`` (Å): the radial factors fall smoothly to zero over the last ``taper`` Å before
    r_cut and no atom beyond it counts (1.35× faster than DScribe's padded sphere, smooth where
    an atom crosses the cutoff; held-out RMSE 0.047 against 0.045 eV); None: exactly DScribe's
    SOAP."""

    r_cut: float = 4.5
    n_max: int = 6
    l_max: int = 6
    sigma: float = 0.5
    rank: int = 40
    taper: Optional[float] = 1.0

    def validate(self) -> None:
        require(isinstance(self.rank, int) and 1 <= self.rank <= 5000, "rank",
                f"needs a whole number of eigenpairs between 1 and 5000, got {self.rank!r}")
        self.soap(("H",)).validate()
        require(self.taper is None or (isinstance(self.taper, (int, float))
                                       and 0.0 < self.taper < self.r_cut), "taper",
                f"needs a taper width between 0 and r_cut Å (or None: DScribe's SOAP), got "
                f"{self.taper!r}")

    def soap(self, species) -> SoapParams:
        return SoapParams(tuple(species), r_cut=self.r_cut, n_max=self.n_max, l_max=self.l_max,
                          sigma=self.sigma)


def soap_tables(params: PointSoapParams, host_species, element) -> tuple:
    """What the kernels read: the radial table (coef, 1/step, the centre's own term), the
    harmonic recursion, the prefactors, n_max, l_max, the mobile element's SOAP type, each host
    type's SOAP type, the neighbour cutoff², the number of features."""
    species = tuple(sorted(set(host_species) | {element}, key=number))
    soap = params.soap(species)
    if params.taper is None:
        coef, inv_h, own = _tables(soap)
        reach = soap.cutoff
    else:
        coef, inv_h, own = _tapered_tables(soap, float(params.taper))
        reach = float(params.r_cut)
    start, up, back = harmonic_tables(int(params.l_max))
    ls = np.arange(params.l_max + 1)
    pref = math.pi * np.sqrt(8.0 / (2.0 * ls + 1.0))
    type_map = np.array([species.index(s) for s in host_species], np.int64)
    mobile = np.int64(species.index(element))
    return (coef, float(inv_h), own, start, up, back, pref, np.int64(params.n_max),
            np.int64(params.l_max), mobile, type_map, reach ** 2,
            np.int64(soap.n_features), live_features(len(species), int(mobile), params))


@lru_cache(maxsize=8)
def _tapered_tables(soap: SoapParams, taper: float):
    """:func:`~amorpha.engine.descriptors.soap._tables` with every radial factor times a
    smoothstep that falls from 1 at (r_cut − taper)² to 0 at r_cut² (in u = r², C²), and no
    neighbours beyond r_cut: about 3× fewer neighbours than DScribe's padded sphere, and the
    energy stays smooth where an atom crosses the cutoff."""
    a_eff, b_eff = _radial_parts(soap)
    u0, u1 = (soap.r_cut - taper) ** 2, soap.r_cut ** 2 * (1.0 + 1e-9)
    n_int = int(max(math.ceil(u1 * a_eff.max() / _TABLE_STEP), 64))
    h = u1 / n_int
    u = np.arange(n_int + 1) * h
    f0, f1, f2 = (radial_derivative(a_eff, b_eff, u, order) for order in range(3))
    w = u1 - u0
    t = np.clip((u - u0) / w, 0.0, 1.0)[:, None]
    g0 = 1.0 - t**3 * (10.0 - 15.0 * t + 6.0 * t * t)
    g1 = -30.0 * t * t * (1.0 - t) ** 2 / w
    g2 = -60.0 * t * (1.0 - t) * (1.0 - 2.0 * t) / w**2
    coef = quintic_table(f0 * g0, (f1 * g0 + f0 * g1) * h,
                         (f2 * g0 + 2.0 * f1 * g1 + f0 * g2) * h * h)
    own = b_eff[0].sum(axis=1) / (2.0 * math.sqrt(math.pi))
    return coef, 1.0 / h, own


def live_features(n_types: int, mobile: int, params: PointSoapParams) -> np.ndarray:
    """Indices of the features that are not zero by construction: the mobile element is only
    the centre, whose coefficients have l = 0 alone, so its pairs with l > 0 vanish (the order
    of :func:`amorpha.engine.descriptors.soap._power_spectrum`)."""
    live = []
    for a in range(n_types):
        for b in range(a, n_types):
            for l in range(params.l_max + 1):
                for n in range(params.n_max):
                    for _ in range(n if a == b else 0, params.n_max):
                        live.append(l == 0 or mobile not in (a, b))
    return np.flatnonzero(live)


def empty_tables() -> tuple:
    """Tables of no SOAP (same types, so the kernels compile once)."""
    return (np.zeros((1, 6, 1)), 1.0, np.zeros(1), np.zeros(1), np.zeros((1, 1)),
            np.zeros((1, 1)), np.zeros(1), np.int64(0), np.int64(0), np.int64(0),
            np.zeros(1, np.int64), 0.0, np.int64(0), np.zeros(0, np.int64))


@njit(nogil=True, cache=True)
def _radial_and_slope(u, coef, inv_h, rad, slope):
    """Every (l, n) radial factor at u = r² (the quintic table) and its d/du."""
    _radial(u, coef, inv_h, rad)
    k = min(int(u * inv_h), coef.shape[0] - 1)
    t = u * inv_h - k
    c = coef[k]
    for q in range(rad.shape[0]):
        slope[q] = inv_h * (c[1, q] + t * (2.0 * c[2, q] + t * (3.0 * c[3, q] + t * (
            4.0 * c[4, q] + t * 5.0 * c[5, q]))))


@njit(nogil=True, cache=True)
def harmonics(x, y, z, l_max, start, up, back, want_gradient, s, sx, sy, sz):
    """Real solid harmonics r^l Y_lm of one vector into ``s[l² + l + m]`` (the recursion of
    :func:`amorpha.engine.descriptors.soap.harmonic_tables`), and their gradient if asked:
    q_l^m(z, u) is differentiated along its recursion, (x + iy)^m by its power rule."""
    u = x * x + y * y + z * z
    cr = 1.0
    ci = 0.0
    for m in range(l_max + 1):
        pr = cr
        pi = ci
        if m > 0:
            cr = x * pr - y * pi
            ci = x * pi + y * pr
        q1 = start[m]
        q2 = 0.0
        q1z = 0.0
        q1u = 0.0
        q2z = 0.0
        q2u = 0.0
        for l in range(m, l_max + 1):
            if l > m:
                a = up[l, m]
                b = back[l, m]
                q = a * z * q1 - b * u * q2
                qz = a * q1 + a * z * q1z - b * u * q2z
                qu = a * z * q1u - b * q2 - b * u * q2u
                q2, q2z, q2u = q1, q1z, q1u
                q1, q1z, q1u = q, qz, qu
            base = l * l + l
            s[base + m] = q1 * cr
            if m > 0:
                s[base - m] = q1 * ci
            if want_gradient:
                # d(x+iy)^m/dx = m (x+iy)^(m-1), d/dy = i m (x+iy)^(m-1)
                gu = 2.0 * q1u
                sx[base + m] = gu * x * cr + q1 * m * pr
                sy[base + m] = gu * y * cr - q1 * m * pi
                sz[base + m] = (q1z + gu * z) * cr
                if m > 0:
                    sx[base - m] = gu * x * ci + q1 * m * pi
                    sy[base - m] = gu * y * ci + q1 * m * pr
                    sz[base - m] = (q1z + gu * z) * ci


@njit(nogil=True, cache=True)
def soap_workspace(tabs):
    """Buffers of one point's evaluation, made once per batch of points (two allocations: the
    float buffers are views of one block): coefficients and their adjoints (types, lm, n), the
    power spectrum, an (n, n) block, harmonics and their gradient, radial values and slopes,
    the neighbours (dx, dy, dz, SOAP type; ``work[6]``), the live spectrum and its adjoint, the
    eigen-projections, and per-neighbour harmonics (lm, j), radial factors (j, (l, n)) and
    vectors (x, y, z, r²; plus scratch) for up to ``_BUFFER`` neighbours."""
    n_types = tabs[10].shape[0] + 1
    n_max, l_max, n_feat = tabs[7], tabs[8], tabs[12]
    n_lm = (l_max + 1) * (l_max + 1)
    n_q = (l_max + 1) * n_max
    n_live = tabs[13].shape[0]
    n_c = n_types * n_lm * n_max
    sizes = (n_c, n_c, n_feat, n_max * n_max, 4 * n_lm, 2 * n_q, n_live, n_live, _RANK,
             n_lm * _BUFFER, _BUFFER * n_q, 8 * _BUFFER)
    total = 0
    for s in sizes:
        total += s
    block = np.empty(total)
    o = 0
    acc = block[o:o + n_c].reshape((n_types, n_lm, n_max))
    o += n_c
    dacc = block[o:o + n_c].reshape((n_types, n_lm, n_max))
    o += n_c
    p = block[o:o + n_feat]
    o += n_feat
    square = block[o:o + n_max * n_max].reshape((n_max, n_max))
    o += n_max * n_max
    harm = block[o:o + 4 * n_lm].reshape((4, n_lm))
    o += 4 * n_lm
    radial = block[o:o + 2 * n_q].reshape((2, n_q))
    o += 2 * n_q
    pl = block[o:o + n_live]
    o += n_live
    dl = block[o:o + n_live]
    o += n_live
    proj = block[o:o + _RANK]
    o += _RANK
    y = block[o:o + n_lm * _BUFFER].reshape((n_lm, _BUFFER))
    o += n_lm * _BUFFER
    r = block[o:o + _BUFFER * n_q].reshape((_BUFFER, n_q))
    o += _BUFFER * n_q
    v = block[o:o + 8 * _BUFFER].reshape((8, _BUFFER))
    return (acc, dacc, p, square, harm, radial, np.empty((_BUFFER, 4)), pl, dl, proj, y, r, v)


@njit(nogil=True, cache=True, fastmath={"reassoc", "contract", "nsz"})
def soap_coefficients(neighbours, k, tabs, work):
    """Coefficients c[t, lm, n] = Σ_j Y[lm, j] R[(l, n), j] into ``work[0]`` from the first
    ``k`` rows of ``neighbours`` (dx, dy, dz = point − atom, SOAP type) plus the centre's own
    Gaussian; returns the number of neighbours of each type.

    The harmonics of all neighbours come from one recursion (long loops that vectorise,
    :func:`~amorpha.engine.descriptors.soap.solid_harmonics`), the radial factors row by row
    from the table, then each neighbour adds its Y ⊗ R block to its type's coefficients."""
    coef, inv_h, own, start, up, back = tabs[:6]
    n_max, l_max, mobile = tabs[7], tabs[8], tabs[9]
    acc = work[0]
    n_types = acc.shape[0]
    y, r, v = work[10], work[11], work[12]
    if k > y.shape[1]:  # more neighbours than the buffers hold (rare): buffers of this point
        y = np.empty((y.shape[0], k))
        r = np.empty((k, r.shape[1]))
        v = np.empty((8, k))
    acc[:] = 0.0
    for n in range(n_max):  # the centre's own Gaussian: l = 0 only
        acc[mobile, 0, n] = own[n]
    count = np.zeros(n_types, np.int64)
    for j in range(k):
        dx, dy, dz = neighbours[j, 0], neighbours[j, 1], neighbours[j, 2]
        v[0, j] = dx
        v[1, j] = dy
        v[2, j] = dz
        v[3, j] = dx * dx + dy * dy + dz * dz
        count[int(neighbours[j, 3])] += 1
    solid_harmonics(v[0], v[1], v[2], v[3], 0, k, l_max, start, up, back, y, v[4], v[5], v[6],
                    v[7])
    for j in range(k):
        _radial(v[3, j], coef, inv_h, r[j])
    for j in range(k):
        c = acc[int(neighbours[j, 3])]
        rj = r[j]
        for l in range(l_max + 1):
            base = l * n_max
            for lm in range(l * l, (l + 1) * (l + 1)):
                ylm = y[lm, j]
                row = c[lm]
                for n in range(n_max):
                    row[n] += ylm * rj[base + n]
    return count


@njit(nogil=True, cache=True, fastmath={"reassoc", "contract", "nsz"})
def live_spectrum(acc, count, tabs, pl, square):
    """The live features of the power spectrum (the order of
    :func:`~amorpha.engine.descriptors.soap._power_spectrum`, dead ones left out) into ``pl``:
    per (a, b, l) the (n, n') block Σ_m c[a, lm, n] c[b, lm, n'] with m outermost; pairs with a
    host type that has no neighbours are zero without a sum."""
    pref, n_max, l_max, mobile = tabs[6], tabs[7], tabs[8], tabs[9]
    n_types = acc.shape[0]
    i = 0
    for a in range(n_types):
        for b in range(a, n_types):
            empty = (count[a] == 0 and a != mobile) or (count[b] == 0 and b != mobile)
            top = 0 if (a == mobile or b == mobile) else l_max
            for l in range(top + 1):
                if empty:
                    for n in range(n_max):
                        for _ in range(n if a == b else 0, n_max):
                            pl[i] = 0.0
                            i += 1
                    continue
                square[:, :] = 0.0
                for lm in range(l * l, (l + 1) * (l + 1)):
                    ra = acc[a, lm]
                    rb = acc[b, lm]
                    for n in range(n_max):
                        x = ra[n]
                        row = square[n]
                        for n2 in range(n_max):
                            row[n2] += x * rb[n2]
                w = pref[l]
                for n in range(n_max):
                    for n2 in range(n if a == b else 0, n_max):
                        pl[i] = w * square[n, n2]
                        i += 1


@njit(nogil=True, cache=True)
def soap_features(qx, qy, qz, neighbours, k, tabs, work):
    """Coefficients into ``work[0]``, the live power spectrum into ``work[7]`` and the whole
    one (DScribe's order, dead features zero) into ``work[2]`` from the first ``k`` rows of
    ``neighbours`` (dx, dy, dz = point − atom, SOAP type)."""
    count = soap_coefficients(neighbours, k, tabs, work)
    pl, p, live = work[7], work[2], tabs[13]
    live_spectrum(work[0], count, tabs, pl, work[3])
    p[:] = 0.0
    for f in range(live.shape[0]):
        p[live[f]] = pl[f]


@njit(nogil=True, cache=True, fastmath={"reassoc", "contract", "nsz"})
def quadratic_energy(pl, proj, lam, y_mean, y_scale, want_gradient, dl, a):
    """E = m + s·Σ_k λ_k (u_k·p̂)², p̂ = p/|p|, on the live features ``pl`` (``proj`` holds
    those columns); dE/dp into ``dl`` if asked; ``a`` scratch of at least the rank (the
    projections, four rows at a time so each feature is read once per four)."""
    n_rank, n_live = proj.shape
    if a.shape[0] < n_rank:
        a = np.empty(n_rank)
    norm2 = 0.0
    for f in range(n_live):
        norm2 += pl[f] * pl[f]
    inv = 1.0 / math.sqrt(max(norm2, 1e-300))
    r = 0
    while r + 4 <= n_rank:
        r0, r1, r2, r3 = proj[r], proj[r + 1], proj[r + 2], proj[r + 3]
        a0 = 0.0
        a1 = 0.0
        a2 = 0.0
        a3 = 0.0
        for f in range(n_live):
            x = pl[f]
            a0 += r0[f] * x
            a1 += r1[f] * x
            a2 += r2[f] * x
            a3 += r3[f] * x
        a[r] = a0 * inv
        a[r + 1] = a1 * inv
        a[r + 2] = a2 * inv
        a[r + 3] = a3 * inv
        r += 4
    for r in range(r, n_rank):
        row = proj[r]
        a0 = 0.0
        for f in range(n_live):
            a0 += row[f] * pl[f]
        a[r] = a0 * inv
    e = 0.0
    for r in range(n_rank):
        e += lam[r] * a[r] * a[r]
    if want_gradient:
        for f in range(n_live):
            dl[f] = 0.0
        for r in range(n_rank):
            w = 2.0 * lam[r] * a[r] * y_scale
            row = proj[r]
            for f in range(n_live):
                dl[f] += w * row[f]
        gp = 0.0  # through p̂ = p/|p|: (g − (g·p̂)p̂)/|p|
        for f in range(n_live):
            gp += dl[f] * pl[f]
        gp *= inv * inv
        for f in range(n_live):
            dl[f] = (dl[f] - gp * pl[f]) * inv
    return y_mean + y_scale * e


@njit(nogil=True, cache=True, fastmath={"reassoc", "contract", "nsz"})
def soap_gradient(neighbours, k, tabs, work):
    """dE/d(point) from dE/dp of the live features in ``work[8]``: back through the power
    spectrum to the coefficients (per (a, b, l) block, m outermost), then over the neighbours
    (d = point − atom, so d/d(point) = d/dd)."""
    coef, inv_h, start, up, back, pref = tabs[0], tabs[1], tabs[3], tabs[4], tabs[5], tabs[6]
    n_max, l_max, mobile = tabs[7], tabs[8], tabs[9]
    acc, dacc, square, dl, harm, radial = work[0], work[1], work[3], work[8], work[4], work[5]
    n_types = acc.shape[0]
    dacc[:] = 0.0
    i = 0
    for a in range(n_types):  # the order of live_spectrum
        for b in range(a, n_types):
            top = 0 if (a == mobile or b == mobile) else l_max
            for l in range(top + 1):
                square[:, :] = 0.0
                w = pref[l]
                for n in range(n_max):
                    for n2 in range(n if a == b else 0, n_max):
                        square[n, n2] = w * dl[i]
                        i += 1
                for lm in range(l * l, (l + 1) * (l + 1)):
                    ra, rb = acc[a, lm], acc[b, lm]
                    da, db = dacc[a, lm], dacc[b, lm]
                    for n in range(n_max):
                        row = square[n]
                        x = ra[n]
                        s = 0.0
                        for n2 in range(n_max):
                            s += row[n2] * rb[n2]
                            db[n2] += x * row[n2]
                        da[n] += s
    s, sx, sy, sz = harm[0], harm[1], harm[2], harm[3]
    rad, slope = radial[0], radial[1]
    gx = 0.0
    gy = 0.0
    gz = 0.0
    for j in range(k):
        dx, dy, dz = neighbours[j, 0], neighbours[j, 1], neighbours[j, 2]
        t = int(neighbours[j, 3])
        harmonics(dx, dy, dz, l_max, start, up, back, True, s, sx, sy, sz)
        _radial_and_slope(dx * dx + dy * dy + dz * dz, coef, inv_h, rad, slope)
        du = 0.0  # Σ dE/dc · R'(u) · S: times du/dd = 2d
        for l in range(l_max + 1):
            for lm in range(l * l, (l + 1) * (l + 1)):
                va = 0.0
                vb = 0.0
                g = dacc[t, lm]
                for n in range(n_max):
                    va += g[n] * rad[l * n_max + n]
                    vb += g[n] * slope[l * n_max + n]
                du += vb * s[lm]
                gx += va * sx[lm]
                gy += va * sy[lm]
                gz += va * sz[lm]
        gx += 2.0 * du * dx
        gy += 2.0 * du * dy
        gz += 2.0 * du * dz
    return gx, gy, gz

"""SOAP of the mobile atom at any point of a frozen host, a quadratic model on it, and the
gradient of both with respect to the point (numba).

Why: the symmetry functions of :mod:`.environment` resolve angles with one ζ series inside a
short cutoff, and a network on them stalls near 0.1 eV RMSE for Cu on xTB in a-SiO2. SOAP's
radial × angular channels (n ≤ 5, l ≤ 5) with a kernel model reach ~0.05 eV on the same points
(Bartók, Kondor & Csányi, PRB 87, 184115 (2013); the GAP recipe: normalised power spectrum p̂,
polynomial kernel (p̂·p̂')², Deringer & Csányi, PRB 95, 094203 (2017)).

* Features: exactly the power spectrum of :mod:`amorpha.engine.descriptors.soap` (DScribe's
  ``SOAP(rbf="gto")``) of an atom of the mobile element put at the point, with the mobile
  element among the species (its own Gaussian at the centre gives the l = 0 terms that are
  linear in the host density). The radial tables and the solid-harmonic recursion are that
  module's; here they run for one moving centre whose neighbours come from the binned host.
* Model: kernel ridge regression with the kernel (p̂·p̂')² predicts E = m + s·p̂ᵀ A p̂ with
  A = Σ_i α_i p̂_i p̂_iᵀ, a quadratic form; its ``rank`` largest eigenpairs (|λ|) keep it to
  ~40 projections: E = m + s·Σ_k λ_k (u_k·p̂)² (Cu on xTB: 40 of 395 lose nothing measurable,
  24 lose 0.02 eV of held-out RMSE).
* Gradient: back through the quadratic form, the normalisation and the power spectrum to the
  coefficients c_nlm, then one more pass over the neighbours with the derivatives of the radial
  table (in u = r²) and of the solid harmonics (the recursion differentiated in z and r²).
* Speed (a-SiO2, Cu, ~25 neighbours, one thread; session 9 with n, l ≤ 6: ~13 µs per energy
  (gather 2.5, harmonics 0.8, radial table 1.4, Y ⊗ R 2.6, spectrum 2.2, model 2.4), ~40 µs
  with the gradient): neighbours sorted by type so each type's Y ⊗ R blocks add four
  neighbours at a time; only the live features are formed (395 of 720 with the defaults; no copy
  for the model); the projections read each feature once per four rows; the gradient runs over
  all neighbours of a type at once (harmonic gradients and radial slopes in (lm, j) columns);
  the buffers are views of a few blocks made once per batch, nothing zeroed that is
  overwritten. Many energies at once (:func:`~.potential._soap_energies`) project 16 spectra per
  pass over the eigenvectors (16–128 make no difference), and :mod:`.potential` spreads the
  points over the cores. The same machine runs this 1.5–2× slower from one hour to the next;
  compare ratios: n, l ≤ 5 is 1.3× faster than n, l ≤ 6 (same-process A/B, 2026-11-23: 6.2·10⁴
  against 4.8·10⁴ energies/s on one core, 1.0·10⁵ against 7.3·10⁴ on two). Tried without gain:
  n padded to a fixed 8 (the n-loops vectorise, no faster), a 4× coarser radial table (2 %),
  float32 eigenvectors (~3 %) and float32 from the radial table to the projections (none).
  The kernels of the per-point loops are :func:`~amorpha.engine.leaf.leaf` kernels (no
  reference counting of the views they make): one energy 15.5–18 → 12.8–13.2 µs (HEAD against
  this, one process, min of 30 runs, 2026-11-23); per point then gather 2.2 µs, sorting 0.4,
  harmonics 0.5, radial table 0.9, Y ⊗ R 2.3, spectrum 2.1, projections ~3. The buffers are
  sized once for the most candidates any point of the host has
  (:func:`~.potential.most_candidates`), so no kernel of the per-point path may replace one
  and the whole path is leaves: an energy 12.2 → 11.0 µs, with forces 34.8 → 32.0 µs (one
  process, min of 30 runs, 2026-11-23; a branch that could swap the candidate buffer for a
  bigger one had cost 0.4 µs, the wrappers around the coefficient kernel 0.6 µs).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Optional

import numpy as np
from numba import njit

from ..descriptors.soap import (_TABLE_STEP, SoapParams, _radial, _radial_parts, _tables,
                                harmonic_tables, quintic_table, radial_derivative,
                                solid_harmonics)
from ..elements import number
from ..errors import require
from ..leaf import leaf



@dataclass(frozen=True)
class PointSoapParams:
    """SOAP settings of the mobile atom's environment (DScribe's meaning) and the number of
    eigenpairs ``rank`` the quadratic model keeps. Defaults chosen on Cu/xTB in a-SiO2 by
    cross-validation on the training set: r_cut 4.5 Å, n 5, l 5, σ 0.5 Å (3-fold RMSE 0.0517 eV,
    1.3× faster than n 6 / l 6 at 0.0512; n 5 / l 6 0.0510; n 6 / l 5 0.0517; n 4 / l 5 0.055;
    n 5 / l 4 0.058; n 4 / l 4 0.060; r 4 0.066–0.068; r 5 / n 6 / l 6 0.052; σ 1 Å ~0.065).
    ``rank`` 40 (24 gives 0.067 eV on the held-out points: cross-validation, on the whole
    kernel, does not see it). The training points do see it: the kept eigenpairs change their
    energies by 0.19 / 0.083 / 0.035 / 0.006 / 0.001 eV RMS at rank 16 / 24 / 28 / 32 / 40, and
    the held-out RMSE is 0.060 eV at 28, 0.048 at 32 and 40; a rank chosen per model from that
    training-set error would be principled, but 32 instead of 40 saves only ~5 % of the time.

    ``taper`` (Å): the radial factors fall smoothly to zero over the last ``taper`` Å before
    r_cut and no atom beyond it counts (1.35× faster than DScribe's padded sphere, smooth where
    an atom crosses the cutoff; held-out RMSE 0.047 against 0.045 eV); None: exactly DScribe's
    SOAP."""

    r_cut: float = 4.5
    n_max: int = 5
    l_max: int = 5
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


@leaf
def _radial_columns(u, coef, inv_h, rad, slope, j):
    """Every (l, n) radial factor at u = r² (the quintic table) and its d/du into column j."""
    x = u * inv_h
    k = min(int(x), coef.shape[0] - 1)
    t = x - k
    c = coef[k]
    for q in range(rad.shape[0]):
        rad[q, j] = c[0, q] + t * (c[1, q] + t * (c[2, q] + t * (c[3, q] + t * (
            c[4, q] + t * c[5, q]))))
        slope[q, j] = inv_h * (c[1, q] + t * (2.0 * c[2, q] + t * (3.0 * c[3, q] + t * (
            4.0 * c[4, q] + t * 5.0 * c[5, q]))))


@leaf(fastmath={"reassoc", "contract", "nsz"})
def harmonic_gradients(v, k, l_max, start, up, back, gx, gy, gz, g):
    """Gradients of the real solid harmonics r^l Y_lm of the vectors ``v[0:3, j]`` (r² in
    ``v[3]``), j < k, into ``gx, gy, gz[l² + l + m, j]``: q_l^m(z, u) is differentiated along
    its recursion (:func:`~amorpha.engine.descriptors.soap.harmonic_tables`), (x + iy)^m by its
    power rule; each step runs over all the vectors (loops that vectorise). ``g`` scratch
    (at least 10 rows of k)."""
    c, s, pc, ps, q1, q2 = g[0], g[1], g[2], g[3], g[4], g[5]
    q1z, q1u, q2z, q2u = g[6], g[7], g[8], g[9]
    x, y, z, u = v[0], v[1], v[2], v[3]
    for j in range(k):
        c[j] = 1.0
        s[j] = 0.0
        pc[j] = 0.0
        ps[j] = 0.0
    for m in range(l_max + 1):
        if m > 0:  # (x + iy)^m, one factor more; the previous power kept for the derivative
            for j in range(k):
                pc[j] = c[j]
                ps[j] = s[j]
                c[j] = x[j] * pc[j] - y[j] * ps[j]
                s[j] = x[j] * ps[j] + y[j] * pc[j]
        first = start[m]
        for j in range(k):
            q1[j] = first
            q2[j] = 0.0
            q1z[j] = 0.0
            q1u[j] = 0.0
            q2z[j] = 0.0
            q2u[j] = 0.0
        for l in range(m, l_max + 1):
            if l > m:
                a = up[l, m]
                b = back[l, m]
                for j in range(k):
                    q = a * z[j] * q1[j] - b * u[j] * q2[j]
                    qz = a * q1[j] + a * z[j] * q1z[j] - b * u[j] * q2z[j]
                    qu = a * z[j] * q1u[j] - b * q2[j] - b * u[j] * q2u[j]
                    q2[j] = q1[j]
                    q2z[j] = q1z[j]
                    q2u[j] = q1u[j]
                    q1[j] = q
                    q1z[j] = qz
                    q1u[j] = qu
            base = l * l + l
            # d(x+iy)^m/dx = m (x+iy)^(m-1), d/dy = i m (x+iy)^(m-1)
            rx, ry, rz = gx[base + m], gy[base + m], gz[base + m]
            for j in range(k):
                gu = 2.0 * q1u[j]
                rx[j] = gu * x[j] * c[j] + q1[j] * m * pc[j]
                ry[j] = gu * y[j] * c[j] - q1[j] * m * ps[j]
                rz[j] = (q1z[j] + gu * z[j]) * c[j]
            if m > 0:
                ix, iy, iz = gx[base - m], gy[base - m], gz[base - m]
                for j in range(k):
                    gu = 2.0 * q1u[j]
                    ix[j] = gu * x[j] * s[j] + q1[j] * m * ps[j]
                    iy[j] = gu * y[j] * s[j] + q1[j] * m * pc[j]
                    iz[j] = (q1z[j] + gu * z[j]) * s[j]


@njit(nogil=True, cache=True)
def _carve(block, o, rows, width):
    """A (rows, width) view of ``block`` at offset ``o``, and the offset after it."""
    return block[o:o + rows * width].reshape((rows, width)), o + rows * width


@njit(nogil=True, cache=True)
def column_buffers(n_lm, n_q, width):
    """Per-neighbour buffers for up to ``width`` neighbours, views of one block: harmonics
    (lm, j), radial factors (j, (l, n)), vectors (x, y, z, r²; then scratch)."""
    block = np.empty(width * (n_lm + n_q + 8))
    y, o = _carve(block, 0, n_lm, width)
    r, o = _carve(block, o, width, n_q)
    v, o = _carve(block, o, 8, width)
    return y, r, v


@njit(nogil=True, cache=True)
def gradient_buffers(n_lm, n_q, width):
    """What the gradient adds per neighbour, views of one block: the harmonics' gradient
    (x, y, z; lm, j), radial factors and slopes ((l, n), j), scratch rows."""
    block = np.empty(width * (3 * n_lm + 2 * n_q + 16))
    hx, o = _carve(block, 0, n_lm, width)
    hy, o = _carve(block, o, n_lm, width)
    hz, o = _carve(block, o, n_lm, width)
    rad, o = _carve(block, o, n_q, width)
    slope, o = _carve(block, o, n_q, width)
    g, o = _carve(block, o, 16, width)
    return hx, hy, hz, rad, slope, g


@njit(nogil=True, cache=True)
def soap_workspace(tabs, most, rank):
    """Buffers of one point's evaluation, made once per batch of points (views of a few blocks,
    nothing zeroed) for points with at most ``most`` candidate neighbours (the host tuple's
    bound, so nothing grows per point) and a model of ``rank`` eigenpairs: coefficients and
    their adjoints (types, lm, n), the power spectrum, an (n, n) block, the live spectrum and its adjoint, the candidates (dx, dy,
    dz, SOAP type; ``work[6]``), the eigen-projections, :func:`column_buffers` and
    :func:`gradient_buffers`, the neighbours per type and a scratch row of them, and the sums of
    the restraints (:func:`~.environment.add_restraints`)."""
    n_types = tabs[10].shape[0] + 1
    n_max, l_max, n_feat = tabs[7], tabs[8], tabs[12]
    n_lm = (l_max + 1) * (l_max + 1)
    n_q = (l_max + 1) * n_max
    n_live = tabs[13].shape[0]
    n_c = n_types * n_lm * n_max
    block = np.empty(2 * n_c + n_feat + n_max * n_max + 2 * n_live + rank + 8)
    acc, o = _carve(block, 0, n_types, n_lm * n_max)
    dacc, o = _carve(block, o, n_types, n_lm * n_max)
    p, o = _carve(block, o, 1, n_feat)
    square, o = _carve(block, o, n_max, n_max)
    live, o = _carve(block, o, 2, n_live)
    a, o = _carve(block, o, 1, rank)
    sums, o = _carve(block, o, 1, 8)
    return (acc.reshape((n_types, n_lm, n_max)), dacc.reshape((n_types, n_lm, n_max)), p[0],
            square, live[0], live[1], np.empty((most, 4)), a[0],
            column_buffers(n_lm, n_q, most), gradient_buffers(n_lm, n_q, most),
            np.empty((2, n_types), np.int64), sums[0])


@leaf(fastmath={"reassoc", "contract", "nsz"})
def soap_coefficients(neighbours, k, tabs, work):
    """Coefficients c[t, lm, n] = Σ_j Y[lm, j] R[(l, n), j] into ``work[0]`` from the first
    ``k`` rows of ``neighbours`` (dx, dy, dz = point − atom, SOAP type) plus the centre's own
    Gaussian; the number of neighbours of each type into ``work[10][0]`` (the column buffers
    ``work[8]`` hold them sorted by type, for :func:`soap_gradient`).

    The harmonics of all neighbours come from one recursion (long loops that vectorise,
    :func:`~amorpha.engine.descriptors.soap.solid_harmonics`), the radial factors row by row
    from the table, then each type's neighbours add their Y ⊗ R blocks four at a time
    (:func:`_add_four`)."""
    acc = work[0]
    y, r, v = work[8]
    count, ends = work[10][0], work[10][1]
    coef, inv_h, own, start, up, back = tabs[:6]
    n_max, l_max, mobile = tabs[7], tabs[8], tabs[9]
    n_types = acc.shape[0]
    acc[:] = 0.0
    for n in range(n_max):  # the centre's own Gaussian: l = 0 only
        acc[mobile, 0, n] = own[n]
    count[:] = 0
    for j in range(k):
        count[int(neighbours[j, 3])] += 1
    # counting sort by type
    total = 0
    for t in range(n_types):
        ends[t] = total
        total += count[t]
    for j in range(k):
        t = int(neighbours[j, 3])
        i = ends[t]
        ends[t] = i + 1
        dx, dy, dz = neighbours[j, 0], neighbours[j, 1], neighbours[j, 2]
        v[0, i] = dx
        v[1, i] = dy
        v[2, i] = dz
        v[3, i] = dx * dx + dy * dy + dz * dz
    solid_harmonics(v[0], v[1], v[2], v[3], 0, k, l_max, start, up, back, y, v[4], v[5], v[6],
                    v[7])
    for j in range(k):
        _radial(v[3, j], coef, inv_h, r[j])
    j0 = 0
    for t in range(n_types):
        c = acc[t]
        j1 = ends[t]
        j = j0
        while j + 4 <= j1:
            for l in range(l_max + 1):
                _add_four(c, y, r, j, l, n_max)
            j += 4
        for jj in range(j, j1):
            rj = r[jj]
            for l in range(l_max + 1):
                base = l * n_max
                for lm in range(l * l, (l + 1) * (l + 1)):
                    ylm = y[lm, jj]
                    row = c[lm]
                    for n in range(n_max):
                        row[n] += ylm * rj[base + n]
        j0 = j1


@leaf(fastmath={"reassoc", "contract", "nsz"})
def _add_four(c, y, r, j, l, n_max):
    """c[lm, n] += Σ_{i<4} Y[lm, j+i] R[j+i, (l, n)] for the 2l + 1 m of ``l``: five n at a time
    with the 4 × 5 radial factors held in registers over m (per m then 4 + 10 loads and stores
    for 20 products instead of 34; Y ⊗ R ~1.3× faster), the rest of n one at a time."""
    r0, r1, r2, r3 = r[j], r[j + 1], r[j + 2], r[j + 3]
    base = l * n_max
    lo, hi = l * l, (l + 1) * (l + 1)
    nb = 0
    while nb + 5 <= n_max:
        i = base + nb
        a0, a1, a2, a3, a4 = r0[i], r0[i + 1], r0[i + 2], r0[i + 3], r0[i + 4]
        b0, b1, b2, b3, b4 = r1[i], r1[i + 1], r1[i + 2], r1[i + 3], r1[i + 4]
        c0, c1, c2, c3, c4 = r2[i], r2[i + 1], r2[i + 2], r2[i + 3], r2[i + 4]
        d0, d1, d2, d3, d4 = r3[i], r3[i + 1], r3[i + 2], r3[i + 3], r3[i + 4]
        for lm in range(lo, hi):
            y0, y1, y2, y3 = y[lm, j], y[lm, j + 1], y[lm, j + 2], y[lm, j + 3]
            row = c[lm]
            row[nb] += y0 * a0 + y1 * b0 + y2 * c0 + y3 * d0
            row[nb + 1] += y0 * a1 + y1 * b1 + y2 * c1 + y3 * d1
            row[nb + 2] += y0 * a2 + y1 * b2 + y2 * c2 + y3 * d2
            row[nb + 3] += y0 * a3 + y1 * b3 + y2 * c3 + y3 * d3
            row[nb + 4] += y0 * a4 + y1 * b4 + y2 * c4 + y3 * d4
        nb += 5
    for n in range(nb, n_max):
        i = base + n
        a0, b0, c0, d0 = r0[i], r1[i], r2[i], r3[i]
        for lm in range(lo, hi):
            c[lm, n] += y[lm, j] * a0 + y[lm, j + 1] * b0 + y[lm, j + 2] * c0 + y[lm, j + 3] * d0


@leaf(fastmath={"reassoc", "contract", "nsz"})
def live_spectrum(work, tabs, pl):
    """The live features of the power spectrum (the order of
    :func:`~amorpha.engine.descriptors.soap._power_spectrum`, dead ones left out) of the
    coefficients of :func:`soap_coefficients` into ``pl``:
    per (a, b, l) the whole (n, n') block Σ_m c[a, lm, n] c[b, lm, n'] with m outermost, two m
    per pass (full rows of fixed length run ~1.5× faster than the triangle when a == b); pairs
    with a host type that has no neighbours are zero without a sum."""
    pref, n_max, l_max, mobile = tabs[6], tabs[7], tabs[8], tabs[9]
    acc, square, count = work[0], work[3], work[10][0]
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
                ca, cb = acc[a], acc[b]
                lo = l * l
                for n in range(n_max):  # m = −l sets the block, the other 2l add in pairs
                    row = square[n]
                    x = ca[lo, n]
                    for n2 in range(n_max):
                        row[n2] = x * cb[lo, n2]
                for lm in range(lo + 1, lo + 2 * l + 1, 2):
                    ra, rb, ra1, rb1 = ca[lm], cb[lm], ca[lm + 1], cb[lm + 1]
                    for n in range(n_max):
                        x = ra[n]
                        x1 = ra1[n]
                        row = square[n]
                        for n2 in range(n_max):
                            row[n2] += x * rb[n2] + x1 * rb1[n2]
                w = pref[l]
                for n in range(n_max):
                    for n2 in range(n if a == b else 0, n_max):
                        pl[i] = w * square[n, n2]
                        i += 1


@njit(nogil=True, cache=True)
def soap_features(qx, qy, qz, neighbours, k, tabs, work):
    """Coefficients into ``work[0]``, the live power spectrum into ``work[4]`` and the whole
    one (DScribe's order, dead features zero) into ``work[2]`` from the first ``k`` rows of
    ``neighbours`` (dx, dy, dz = point − atom, SOAP type)."""
    soap_coefficients(neighbours, k, tabs, work)
    pl, p, live = work[4], work[2], tabs[13]
    live_spectrum(work, tabs, pl)
    p[:] = 0.0
    for f in range(live.shape[0]):
        p[live[f]] = pl[f]


@leaf(fastmath={"reassoc", "contract", "nsz"})
def quadratic_energy(pl, proj, lam, y_mean, y_scale, want_gradient, dl, a):
    """E = m + s·Σ_k λ_k (u_k·p̂)², p̂ = p/|p|, on the live features ``pl`` (``proj`` holds
    those columns); dE/dp into ``dl`` if asked; ``a`` scratch of the rank (the projections,
    four rows at a time so each feature is read once per four)."""
    n_rank, n_live = proj.shape
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
        r = 0
        while r + 4 <= n_rank:  # dl += Σ_k 2 λ_k a_k u_k, four rows per pass over dl
            r0, r1, r2, r3 = proj[r], proj[r + 1], proj[r + 2], proj[r + 3]
            w0 = 2.0 * lam[r] * a[r] * y_scale
            w1 = 2.0 * lam[r + 1] * a[r + 1] * y_scale
            w2 = 2.0 * lam[r + 2] * a[r + 2] * y_scale
            w3 = 2.0 * lam[r + 3] * a[r + 3] * y_scale
            for f in range(n_live):
                dl[f] += w0 * r0[f] + w1 * r1[f] + w2 * r2[f] + w3 * r3[f]
            r += 4
        for r in range(r, n_rank):
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


@leaf(fastmath={"reassoc", "contract", "nsz"})
def soap_gradient(k, tabs, work):
    """dE/d(point) from dE/dp of the live features in ``work[5]``, after
    :func:`soap_coefficients` filled the columns for this point: back through the power
    spectrum to the coefficients (per (a, b, l) block, m outermost; host types without
    neighbours skipped), then over the neighbours, all of one type at once (d = point − atom,
    so d/d(point) = d/dd)."""
    count = work[10][0]
    coef, inv_h, start, up, back, pref = tabs[0], tabs[1], tabs[3], tabs[4], tabs[5], tabs[6]
    n_max, l_max, mobile = tabs[7], tabs[8], tabs[9]
    acc, dacc, square, dl = work[0], work[1], work[3], work[5]
    n_types = acc.shape[0]
    dacc[:] = 0.0
    i = 0
    for a in range(n_types):  # the order of live_spectrum
        for b in range(a, n_types):
            top = 0 if (a == mobile or b == mobile) else l_max
            if (count[a] == 0 and a != mobile) or (count[b] == 0 and b != mobile):
                i += (top + 1) * (n_max * (n_max + 1) // 2 if a == b else n_max * n_max)
                continue  # no neighbour of that type reads these adjoints
            for l in range(top + 1):
                w = pref[l]
                for n in range(n_max):
                    for n2 in range(n if a == b else 0, n_max):
                        square[n, n2] = w * dl[i]
                        i += 1
                if a == b:  # dE/dc_n = Σ_n' S[n, n'] c_n' with S the symmetrised block
                    for n in range(n_max):
                        square[n, n] *= 2.0
                        for n2 in range(n + 1, n_max):
                            square[n2, n] = square[n, n2]
                for lm in range(l * l, (l + 1) * (l + 1)):
                    ra, rb = acc[a, lm], acc[b, lm]
                    da, db = dacc[a, lm], dacc[b, lm]
                    for n in range(n_max):
                        row = square[n]
                        s = 0.0
                        for n2 in range(n_max):
                            s += row[n2] * rb[n2]
                        da[n] += s
                    if a != b:
                        for n in range(n_max):
                            row = square[n]
                            x = ra[n]
                            for n2 in range(n_max):
                                db[n2] += x * row[n2]
    y, v = work[8][0], work[8][2]
    hx, hy, hz, rad, slope, g = work[9]
    harmonic_gradients(v, k, l_max, start, up, back, hx, hy, hz, g)
    for j in range(k):
        _radial_columns(v[3, j], coef, inv_h, rad, slope, j)
    sx, sy, sz, su, va, vb = g[10], g[11], g[12], g[13], g[14], g[15]
    for j in range(k):
        sx[j] = 0.0
        sy[j] = 0.0
        sz[j] = 0.0
        su[j] = 0.0
    j0 = 0
    for t in range(n_types):
        j1 = j0 + count[t]
        if j1 == j0:
            continue
        d = dacc[t]
        for l in range(l_max + 1):
            for lm in range(l * l, (l + 1) * (l + 1)):
                # va[j] = Σ_n dE/dc[lm, n] R(u_j), vb the same with R'(u_j); n two at a time
                for j in range(j0, j1):
                    va[j] = 0.0
                    vb[j] = 0.0
                base = l * n_max
                for n in range(0, n_max - 1, 2):
                    w0, w1 = d[lm, n], d[lm, n + 1]
                    ra0, ra1 = rad[base + n], rad[base + n + 1]
                    rb0, rb1 = slope[base + n], slope[base + n + 1]
                    for j in range(j0, j1):
                        va[j] += w0 * ra0[j] + w1 * ra1[j]
                        vb[j] += w0 * rb0[j] + w1 * rb1[j]
                if n_max % 2 == 1:
                    w0 = d[lm, n_max - 1]
                    ra0, rb0 = rad[base + n_max - 1], slope[base + n_max - 1]
                    for j in range(j0, j1):
                        va[j] += w0 * ra0[j]
                        vb[j] += w0 * rb0[j]
                yx, yy, yz, y0 = hx[lm], hy[lm], hz[lm], y[lm]
                for j in range(j0, j1):
                    sx[j] += va[j] * yx[j]
                    sy[j] += va[j] * yy[j]
                    sz[j] += va[j] * yz[j]
                    su[j] += vb[j] * y0[j]
        j0 = j1
    gx = 0.0
    gy = 0.0
    gz = 0.0
    for j in range(k):  # d/dd of R(u) with u = |d|²: 2d R'(u)
        gx += sx[j] + 2.0 * su[j] * v[0, j]
        gy += sy[j] + 2.0 * su[j] * v[1, j]
        gz += sz[j] + 2.0 * su[j] * v[2, j]
    return gx, gy, gz

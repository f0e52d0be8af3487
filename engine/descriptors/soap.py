"""SOAP power spectrum with an orthonormal GTO radial basis, equal to DScribe's ``SOAP(rbf="gto")``.

Definitions (Bartók, Kondor & Csányi, PRB 87, 184115 (2013); DScribe's conventions):

* each neighbour j of species Z (the centre itself included) is a Gaussian
  ``exp(-|r - r_j|² / 2σ²)``, unnormalised; neighbours are taken up to ``r_cut`` plus a padding
  ``σ·sqrt(-2 ln 0.001)``, where a Gaussian has fallen to 10⁻³;
* radial basis ``g_nl(r) = Σ_k β_nkl r^l exp(-α_kl r²)``: the α make ``r^l exp(-α r²)``
  fall to 10⁻³ at radii spaced evenly from 1 Å to ``r_cut``, and β = S^(-1/2) (Löwdin)
  orthonormalises them on [0, ∞);
* ``c^Z_nlm = ∫ g_nl(r) Y_lm(r̂) ρ_Z(r) d³r`` with real spherical harmonics; for a Gaussian at
  r_j the integral is analytic, ``Σ_k β_nkl π^{3/2} η^l/(α+η)^{l+3/2} exp(-αη r_j²/(α+η))
  r_j^l Y_lm(r̂_j)`` (η = 1/2σ²);
* ``p^{ZZ'}_{nn'l} = π sqrt(8/(2l+1)) Σ_m c^Z_nlm c^{Z'}_n'lm``, ordered by species pair
  (Z ≤ Z', by atomic number), then l, then n, n' (n ≤ n' when Z = Z').

How it stays fast (about 3× DScribe's C++ on one thread, see
``tests/benchmarks/bench_descriptors.py``):

* the radial part of each (l, n) is a smooth function of u = r², so it is tabulated once per
  parameter set as a piecewise quintic (Hermite, from exact values and first and second
  derivatives; ~1e-10 relative error): a neighbour costs one table look-up instead of
  (l_max+1)·n_max exponentials;
* ``r^l Y_lm`` are solid harmonics from a recursion in x, y, z and r² (no square root, no
  division, exact at r = 0 where only l = 0 survives), run over all neighbours of a centre at once
  so that every step is a long loop that vectorises;
* the coefficients of one species and one l are a small matrix product (harmonics × radial
  factors over the neighbours), done by BLAS; numba's own loops vectorise badly at n_max = 8.
"""
from __future__ import annotations

import math
import warnings
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from typing import Optional

import numpy as np
from numba import njit

from ..elements import symbol
from ..errors import ParameterError, require
from ..leaf import leaf
from ..neighbors import pair_vector
from ..tasks import CancelFn, ProgressFn, report
from . import settings as S

KIND = "soap"
#: Where a neighbour's Gaussian has fallen this far, DScribe stops looking (padding) and the
#: GTOs are chosen to decay to it at their radii.
_THRESHOLD = 1e-3
#: Table spacing in u = r², as a fraction of the decay length of the steepest exponential.
_TABLE_STEP = 0.1
#: Largest radial table in bytes (tiny sigma, long cutoffs and many functions trade accuracy
#: for memory beyond it; the usual settings need about 1 MB).
_TABLE_BYTES = 64 * 2**20
#: Rough cost per neighbour per (l, n) pair, seconds, for sizing chunks.
_COST_PER_TERM = 3e-10


@dataclass(frozen=True)
class SoapParams:
    """SOAP settings; ``species`` must list every element of the structures it is used on."""

    species: tuple = field(default=())
    r_cut: float = 5.0
    n_max: int = 8
    l_max: int = 6
    sigma: float = 1.0
    periodic: bool = True

    def __post_init__(self):
        object.__setattr__(self, "species", S.normalise_species(self.species))

    def validate(self) -> None:
        S.check_species(self.species)
        S.check_positive(self.r_cut, "r_cut", " Å", minimum=1.0, maximum=S.MAX_CUTOFF)
        S.check_int(self.n_max, "n_max", 1, 64)
        S.check_int(self.l_max, "l_max", 0, 20)
        S.check_positive(self.sigma, "sigma", " Å")
        require(float(self.sigma) < float(self.r_cut), "sigma",
                f"the atoms' Gaussian width must be narrower than the cutoff ({self.r_cut:g} Å), got {self.sigma!r}")
        require(isinstance(self.periodic, (bool, np.bool_)), "periodic", "must be True or False")
        # raises if the radial functions cannot be orthonormalised
        _basis(float(self.r_cut), int(self.n_max), int(self.l_max))

    @property
    def n_features(self) -> int:
        nz = len(self.species) * self.n_max
        return nz * (nz + 1) // 2 * (self.l_max + 1)

    @property
    def cutoff(self) -> float:
        """Neighbour search radius: r_cut plus the Gaussian padding."""
        return float(self.r_cut) + float(self.sigma) * math.sqrt(-2.0 * math.log(_THRESHOLD))

    def to_dict(self) -> dict:
        d = asdict(self)
        d["species"] = list(self.species)
        return {"kind": KIND, **d}

    @classmethod
    def from_dict(cls, d: dict) -> "SoapParams":
        d = {k: v for k, v in d.items() if k != "kind"}
        d["species"] = tuple(d.get("species", ()))
        return cls(**d)


def feature_names(params: SoapParams) -> list[str]:
    """``"Si-O l=2 n=0,3"`` for each column, in output order."""
    symbols = [symbol(z) for z in S.check_species(params.species)]
    names = []
    for a in range(len(symbols)):
        for b in range(a, len(symbols)):
            for l in range(params.l_max + 1):
                for n in range(params.n_max):
                    for n2 in range(n if a == b else 0, params.n_max):
                        names.append(f"{symbols[a]}-{symbols[b]} l={l} n={n},{n2}")
    return names


# --------------------------------------------------------------------------- basis and tables


@lru_cache(maxsize=32)
def _basis(r_cut: float, n_max: int, l_max: int) -> tuple[np.ndarray, np.ndarray]:
    """GTO exponents α (l, k) and Löwdin coefficients β (l, n, k).

    S^(-1/2) is taken with SciPy's ``sqrtm(inv(S))``: the overlap matrix is badly conditioned for
    many radial functions, so a different square-root algorithm would change β in the 6th digit.
    """
    from scipy.linalg import inv, sqrtm
    from scipy.special import gamma

    radii = np.linspace(1.0, r_cut, n_max)
    alphas = np.zeros((l_max + 1, n_max))
    betas = np.zeros((l_max + 1, n_max, n_max))
    for l in range(l_max + 1):
        a = -np.log(_THRESHOLD / radii**l) / radii**2
        overlap = 0.5 * gamma(l + 1.5) * (a[:, None] + a[None, :]) ** (-l - 1.5)
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # ill-conditioned S: judged by the result below
            b = sqrtm(inv(overlap))
        if np.iscomplexobj(b) or not np.isfinite(b).all():
            raise ParameterError(
                "n_max", f"{n_max} radial functions cannot be orthonormalised within r_cut = "
                f"{r_cut:g} Å (l = {l}); use fewer (n_max) or a longer cutoff (r_cut)")
        alphas[l] = a
        betas[l] = b
    return alphas, betas


def _radial_parts(params: SoapParams):
    """Exponents a'(l, k) and prefactors b'(l, n, k) of the analytic Gaussian–GTO overlap,
    π^{3/2} included, so that the radial factor is ``Σ_k b' exp(-a' r²)``."""
    alphas, betas = _basis(float(params.r_cut), int(params.n_max), int(params.l_max))
    eta = 1.0 / (2.0 * float(params.sigma) ** 2)
    ls = np.arange(params.l_max + 1, dtype=np.float64)[:, None, None]
    a_eff = alphas * eta / (alphas + eta)
    b_eff = (math.pi ** 1.5 * betas * eta ** ls / (alphas[:, None, :] + eta) ** (ls + 1.5))
    return a_eff, b_eff


@lru_cache(maxsize=16)
def _tables(params: SoapParams):
    """Quintic table of the radial factors in u = r²: coef (interval, 6, (l, n)), 1/step, and
    the centre's own l = 0 term per n."""
    a_eff, b_eff = _radial_parts(params)
    u_max = params.cutoff**2 * (1.0 + 1e-9)
    most = _TABLE_BYTES // (6 * 8 * a_eff.shape[0] * b_eff.shape[1])
    n_int = int(max(min(math.ceil(u_max * a_eff.max() / _TABLE_STEP), most), 64))
    h = u_max / n_int
    u = np.arange(n_int + 1) * h

    f, d1, d2 = (radial_derivative(a_eff, b_eff, u, order) for order in range(3))
    own = b_eff[0].sum(axis=1) / (2.0 * math.sqrt(math.pi))  # u = 0, Y00 = 1/(2√π)
    return quintic_table(f, d1 * h, d2 * h * h), 1.0 / h, own


def radial_derivative(a_eff, b_eff, u, order: int) -> np.ndarray:
    """The ``order``-th derivative in u of every (l, n) radial factor at the u: (u, (l, n))."""
    e = np.exp(-a_eff[:, :, None] * u[None, None, :]) * (-a_eff[:, :, None]) ** order
    return np.einsum("lnk,lku->uln", b_eff, e).reshape(len(u), -1)


def quintic_table(f, d1, d2) -> np.ndarray:
    """Coefficients (interval, 6, column) of the quintic Hermite pieces through values ``f`` and
    the first and second derivatives ``d1``, ``d2`` (already times the step and its square) at
    evenly spaced knots (rows)."""
    f0, f1, s0, s1 = f[:-1], f[1:], d2[:-1], d2[1:]
    g0, g1 = d1[:-1], d1[1:]
    df = f1 - f0
    coef = np.empty((len(f) - 1, 6, f.shape[1]))
    coef[:, 0] = f0
    coef[:, 1] = g0
    coef[:, 2] = 0.5 * s0
    coef[:, 3] = 10 * df - 6 * g0 - 4 * g1 - 1.5 * s0 + 0.5 * s1
    coef[:, 4] = -15 * df + 8 * g0 + 7 * g1 + 1.5 * s0 - s1
    coef[:, 5] = 6 * df - 3 * g0 - 3 * g1 - 0.5 * s0 + 0.5 * s1
    return np.ascontiguousarray(coef)


@lru_cache(maxsize=8)
def harmonic_tables(l_max: int):
    """Recursion constants of the real solid harmonics r^l Y_lm (orthonormal Y on the sphere).

    ``q_l^m`` (a polynomial in z and r²) starts at ``q_m^m = start[m]`` and follows
    ``q_l^m = up[l, m] z q_{l-1}^m - back[l, m] r² q_{l-2}^m``; then ``r^l Y_lm`` is
    ``q_l^m`` times Re (m > 0) or Im (m < 0) of ``(x + iy)^|m|``.
    """
    def norm(l, m):  # orthonormalisation of q times the real-harmonic √2
        lg = math.lgamma(l - m + 1) - math.lgamma(l + m + 1)
        return math.sqrt((2 * l + 1) / (4 * math.pi) * math.exp(lg) * (2.0 if m else 1.0))

    start = np.zeros(l_max + 1)
    up = np.zeros((l_max + 1, l_max + 1))
    back = np.zeros((l_max + 1, l_max + 1))
    for m in range(l_max + 1):
        start[m] = norm(m, m) * math.prod(range(1, 2 * m, 2))  # (2m-1)!!
        for l in range(m + 1, l_max + 1):
            up[l, m] = norm(l, m) / norm(l - 1, m) * (2 * l - 1) / (l - m)
            if l >= m + 2:
                back[l, m] = norm(l, m) / norm(l - 2, m) * (l + m - 1) / (l - m)
    return start, up, back


# --------------------------------------------------------------------------- kernels


@leaf
def solid_harmonics(x, y, z, u, k0, k1, l_max, start, up, back, out, c, s, q1, q2):
    """Real solid harmonics r^l Y_lm of the vectors k0 <= k < k1: ``out[l² + l + m, k - k0]``.

    Each recursion step runs over all the vectors at once (long loops that vectorise);
    ``c, s, q1, q2`` are scratch of at least k1 - k0 entries.
    """
    n = k1 - k0
    for k in range(n):
        c[k] = 1.0
        s[k] = 0.0
    for m in range(l_max + 1):
        if m > 0:  # (x + iy)^m, one factor more
            for k in range(n):
                xk = x[k0 + k]
                yk = y[k0 + k]
                cm = xk * c[k] - yk * s[k]
                s[k] = xk * s[k] + yk * c[k]
                c[k] = cm
        first = start[m]
        for k in range(n):
            q1[k] = first
            q2[k] = 0.0
        for l in range(m, l_max + 1):
            if l > m:
                a = up[l, m]
                b = back[l, m]
                for k in range(n):
                    q = a * z[k0 + k] * q1[k] - b * u[k0 + k] * q2[k]
                    q2[k] = q1[k]
                    q1[k] = q
            base = l * l + l
            if m == 0:
                row = out[base]
                for k in range(n):
                    row[k] = q1[k]
            else:
                re = out[base + m]
                im = out[base - m]
                for k in range(n):
                    re[k] = q1[k] * c[k]
                    im[k] = q1[k] * s[k]


@leaf
def _radial(u, coef, inv_h, rad):
    """Quintic table look-up of every (l, n) radial factor at u = r²."""
    x = u * inv_h
    k = int(x)
    if k >= coef.shape[0]:
        k = coef.shape[0] - 1
    t = x - k
    c = coef[k]
    for q in range(rad.shape[0]):
        rad[q] = c[0, q] + t * (c[1, q] + t * (c[2, q] + t * (c[3, q]
                                                          + t * (c[4, q] + t * c[5, q]))))


@njit(nogil=True, cache=True)
def _power_spectrum(acc, l_max, n_max, pref, row, tmp):
    """p for one centre from its coefficients ``acc[species, lm, n]`` into ``row``."""
    n_types = acc.shape[0]
    k = 0
    for a in range(n_types):
        for b in range(a, n_types):
            for l in range(l_max + 1):
                for n in range(n_max):
                    for n2 in range(n_max):
                        tmp[n2] = 0.0
                    for lm in range(l * l, (l + 1) * (l + 1)):
                        v = acc[a, lm, n]
                        for n2 in range(n_max):
                            tmp[n2] += v * acc[b, lm, n2]
                    first = n if a == b else 0
                    for n2 in range(first, n_max):
                        row[k] = pref[l] * tmp[n2]
                        k += 1


@njit(nogil=True, cache=True)
def _soap_rows(lo, hi, centres, indptr, indices, shifts, pos, cell, types, n_types, l_max,
               n_max, coef, inv_h, own, start, up, back, pref, max_k, out):
    """Power spectra of ``centres[lo:hi]`` into ``out[lo:hi]``.

    Per centre the neighbour vectors are gathered grouped by species; their harmonics
    ``Y[lm, k]`` and radial factors ``R[(l, n), k]`` fill two matrices, and each species' and
    l's block of coefficients is one small matrix product ``Y_l R_l^T`` (BLAS).
    """
    n_lm = (l_max + 1) * (l_max + 1)
    n_q = (l_max + 1) * n_max
    acc = np.zeros((n_types, n_lm, n_max))
    y_buf = np.empty(n_lm * max_k)
    r_buf = np.empty(n_q * max_k)
    vx = np.empty(max_k)
    vy = np.empty(max_k)
    vz = np.empty(max_k)
    vu = np.empty(max_k)
    c = np.empty(max_k)
    s = np.empty(max_k)
    q1 = np.empty(max_k)
    q2 = np.empty(max_k)
    rad = np.empty(n_q)
    tmp = np.empty(n_max)
    ends = np.zeros(n_types + 1, np.int64)
    for row in range(lo, hi):
        i = centres[row]
        acc[:] = 0.0
        for n in range(n_max):  # the centre's own Gaussian: l = 0 only
            acc[types[i], 0, n] = own[n]
        p0 = indptr[i]
        p1 = indptr[i + 1]
        ends[:] = 0  # counting sort of the neighbours by species
        for p in range(p0, p1):
            ends[types[indices[p]] + 1] += 1
        for t in range(n_types):
            ends[t + 1] += ends[t]
        for p in range(p0, p1):
            j = indices[p]
            dx, dy, dz = pair_vector(i, j, p, pos, cell, shifts)
            t = types[j]
            k = ends[t]
            ends[t] = k + 1
            vx[k] = dx
            vy[k] = dy
            vz[k] = dz
            vu[k] = dx * dx + dy * dy + dz * dz
        k0 = 0
        for t in range(n_types):
            k1 = ends[t]
            n_k = k1 - k0
            if n_k > 0:
                ylm = y_buf[:n_lm * n_k].reshape(n_lm, n_k)
                rq = r_buf[:n_q * n_k].reshape(n_q, n_k)
                solid_harmonics(vx, vy, vz, vu, k0, k1, l_max, start, up, back, ylm, c, s, q1, q2)
                for k in range(n_k):
                    _radial(vu[k0 + k], coef, inv_h, rad)
                    for q in range(n_q):
                        rq[q, k] = rad[q]
                at = acc[t]
                for l in range(l_max + 1):
                    block = np.dot(ylm[l * l:(l + 1) * (l + 1)], rq[l * n_max:(l + 1) * n_max].T)
                    for m in range(2 * l + 1):
                        for n in range(n_max):
                            at[l * l + m, n] += block[m, n]
            k0 = k1
        _power_spectrum(acc, l_max, n_max, pref, out[row], tmp)


# --------------------------------------------------------------------------- driver


def compute_soap(atoms, params: SoapParams, centers=None, progress: Optional[ProgressFn] = None,
                 cancel: Optional[CancelFn] = None) -> np.ndarray:
    """SOAP power spectrum of each centre (atom indices; all if None): (n_centres, n_features).

    Equal to ``dscribe.descriptors.SOAP(species, r_cut, n_max, l_max, sigma, rbf="gto",
    periodic=...).create(atoms, centers=...)`` (see the module docstring for the conventions).
    """
    params.validate()
    species_z = S.check_species(params.species)
    types = S.atom_types(atoms, species_z)
    centres = S.centre_indices(atoms, centers)
    view = S.search_view(atoms, bool(params.periodic))
    coef, inv_h, own = _tables(params)
    start, up, back = harmonic_tables(int(params.l_max))
    ls = np.arange(params.l_max + 1)
    pref = math.pi * np.sqrt(8.0 / (2.0 * ls + 1.0))
    out = np.zeros((len(centres), params.n_features))
    search_prog, span = S.search_progress(progress)
    nl = S.neighbours(view, params.cutoff, progress=search_prog, cancel=cancel)
    hood = S.Neighbourhood(view, nl)
    n_types, l_max, n_max = len(species_z), int(params.l_max), int(params.n_max)
    row_cost = (hood.mean_neighbours() + 1) * (l_max + 1) ** 2 * n_max * _COST_PER_TERM \
        + n_types**2 * n_max**2 * (l_max + 1) ** 2 * 1e-10

    max_k = max(S.max_row(hood.indptr, centres), 1)

    def kernel(lo, hi):
        _soap_rows(lo, hi, centres, hood.indptr, hood.indices, hood.shifts, hood.positions,
                   hood.cell, types, n_types, l_max, n_max, coef, inv_h, own, start, up, back,
                   pref, max_k, out)

    S.run_rows(kernel, len(centres), row_cost, progress, cancel, "SOAP", span)
    report(progress, 1.0, "SOAP done")
    return out


#: The common name of the entry point.
compute = compute_soap


def warm_up() -> None:
    """Compile the SOAP kernels on a three-atom molecule."""
    from ase import Atoms

    atoms = Atoms("OH2", positions=[(0, 0, 0), (0.96, 0, 0), (-0.24, 0.93, 0)])
    compute_soap(atoms, SoapParams(("H", "O"), r_cut=3.0, n_max=2, l_max=2, periodic=False))

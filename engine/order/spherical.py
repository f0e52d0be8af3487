"""Spherical harmonics and Wigner 3j symbols for bond-orientational order.

* :func:`legendre_tables` gives the coefficients of the stable three-term recursion for the
  fully normalised associated Legendre functions, so that
  ``Y_lm(theta, phi) = P[l, m](cos theta) * exp(i m phi)`` for ``m >= 0`` (orthonormal on the
  sphere, Condon–Shortley phase) and ``Y_l,-m = (-1)^m conj(Y_lm)``. The recursion runs upwards
  in ``l`` at fixed ``m`` from the sectoral ``P[m, m]``; unlike the raw ``P_l^m`` with
  factorials it neither overflows nor loses precision for the l <= 20 used here.
* :func:`ylm_kernel` is the numba kernel filling that table for one unit vector.
* :func:`wigner3j` is the exact Racah formula in rational arithmetic (one rounding at the end);
  :func:`w3j_terms` lists, per ``l``, the non-zero ``(l l l; m1 m2 m3)`` with ``m1 + m2 + m3 = 0``.
"""
from __future__ import annotations

import math
from fractions import Fraction
from functools import lru_cache

import numpy as np
from numba import njit

#: Largest l the tables are built for (the recursion is stable far beyond it).
L_LIMIT = 20


@lru_cache(maxsize=None)
def legendre_tables(lmax: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Recursion coefficients ``(sectoral, first, a, b)`` for l, m <= ``lmax``.

    * ``P[0, 0] = 1 / sqrt(4 pi)``;
    * ``P[m, m] = -sectoral[m] * sin(theta) * P[m-1, m-1]`` with ``sectoral[m] = sqrt((2m+1)/(2m))``;
    * ``P[m+1, m] = first[m] * cos(theta) * P[m, m]`` with ``first[m] = sqrt(2m+3)``;
    * ``P[l, m] = a[l, m] * (cos(theta) * P[l-1, m] - b[l, m] * P[l-2, m])`` for ``l >= m + 2``.
    """
    sectoral = np.zeros(lmax + 1)
    first = np.zeros(lmax + 1)
    a = np.zeros((lmax + 1, lmax + 1))
    b = np.zeros((lmax + 1, lmax + 1))
    for m in range(lmax + 1):
        if m > 0:
            sectoral[m] = math.sqrt((2 * m + 1) / (2 * m))
        first[m] = math.sqrt(2 * m + 3)
        for l in range(m + 2, lmax + 1):
            a[l, m] = math.sqrt((4 * l * l - 1) / (l * l - m * m))
            b[l, m] = math.sqrt(((l - 1) ** 2 - m * m) / (4 * (l - 1) ** 2 - 1))
    for arr in (sectoral, first, a, b):
        arr.setflags(write=False)
    return sectoral, first, a, b


@njit(nogil=True, cache=True)
def ylm_kernel(x, y, z, lmax, sectoral, first, a, b, plm, cosm, sinm):
    """Fill ``plm[l, m]`` (m <= l <= lmax) and ``cos(m phi)``, ``sin(m phi)`` for the unit vector (x, y, z).

    ``Y_lm = plm[l, m] * (cosm[m] + i sinm[m])``. On the z axis phi is taken as 0 (every
    ``m > 0`` term vanishes there anyway).
    """
    rho = math.sqrt(x * x + y * y)
    if rho > 0.0:
        c = x / rho
        s = y / rho
    else:
        c = 1.0
        s = 0.0
    cosm[0] = 1.0
    sinm[0] = 0.0
    for m in range(1, lmax + 1):
        cosm[m] = cosm[m - 1] * c - sinm[m - 1] * s
        sinm[m] = sinm[m - 1] * c + cosm[m - 1] * s
    pmm = 0.28209479177387814  # 1 / sqrt(4 pi)
    for m in range(lmax + 1):
        if m > 0:
            pmm = -sectoral[m] * rho * pmm
        plm[m, m] = pmm
        if m < lmax:
            p1 = first[m] * z * pmm
            plm[m + 1, m] = p1
            p2 = pmm
            for l in range(m + 2, lmax + 1):
                p = a[l, m] * (z * p1 - b[l, m] * p2)
                plm[l, m] = p
                p2 = p1
                p1 = p


def _f(n: int) -> int:
    return math.factorial(n)


@lru_cache(maxsize=None)
def wigner3j(j1: int, j2: int, j3: int, m1: int, m2: int, m3: int) -> float:
    """The Wigner 3j symbol for integer arguments (Racah's formula, exact until the final sqrt)."""
    if m1 + m2 + m3 != 0 or abs(m1) > j1 or abs(m2) > j2 or abs(m3) > j3:
        return 0.0
    if j3 < abs(j1 - j2) or j3 > j1 + j2:
        return 0.0
    triangle = Fraction(_f(j1 + j2 - j3) * _f(j1 - j2 + j3) * _f(-j1 + j2 + j3), _f(j1 + j2 + j3 + 1))
    radicand = triangle * (
        _f(j1 + m1) * _f(j1 - m1) * _f(j2 + m2) * _f(j2 - m2) * _f(j3 + m3) * _f(j3 - m3)
    )
    total = Fraction(0)
    kmin = max(0, j2 - j3 - m1, j1 - j3 + m2)
    kmax = min(j1 + j2 - j3, j1 - m1, j2 + m2)
    for k in range(kmin, kmax + 1):
        den = (
            _f(k) * _f(j3 - j2 + k + m1) * _f(j3 - j1 + k - m2) * _f(j1 + j2 - j3 - k)
            * _f(j1 - k - m1) * _f(j2 - k + m2)
        )
        total += Fraction((-1) ** k, den)
    if total == 0:
        return 0.0
    sign = (-1) ** (j1 - j2 - m3) * (1 if total > 0 else -1)
    return sign * math.sqrt(total * total * radicand)


@lru_cache(maxsize=None)
def w3j_terms(l: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``(m1, m2, m3, coefficient)`` of every non-zero ``(l l l; m1 m2 m3)``, m1 + m2 + m3 = 0."""
    m1s, m2s, m3s, coef = [], [], [], []
    for m1 in range(-l, l + 1):
        for m2 in range(-l, l + 1):
            m3 = -m1 - m2
            if abs(m3) > l:
                continue
            value = wigner3j(l, l, l, m1, m2, m3)
            if value != 0.0:
                m1s.append(m1)
                m2s.append(m2)
                m3s.append(m3)
                coef.append(value)
    out = (
        np.array(m1s, np.int64), np.array(m2s, np.int64), np.array(m3s, np.int64),
        np.array(coef, np.float64),
    )
    for arr in out:
        arr.setflags(write=False)
    return out

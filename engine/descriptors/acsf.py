"""Atom-centred symmetry functions (Behler, JCP 134, 074106 (2011)), equal to DScribe's ``ACSF``.

With ``f_c(r) = ½(cos(πr/r_cut) + 1)`` for neighbours j, k of centre i within ``r_cut``:

* G1 = Σ_j f_c(r_ij);  G2 = Σ_j exp(-η(r_ij - R_s)²) f_c(r_ij);
  G3 = Σ_j cos(κ r_ij) f_c(r_ij); one value per neighbour species;
* G4 = Σ_{j<k} 2^{1-ζ}(1 + λ cos θ_ijk)^ζ exp(-η(r_ij² + r_ik² + r_jk²))
  f_c(r_ij) f_c(r_ik) f_c(r_jk), pairs with r_jk > r_cut left out; G5 the same without the
  r_jk terms; one value per unordered neighbour species pair. Each unordered pair of neighbours
  counts once (DScribe's convention).

Columns (DScribe's order, species sorted by atomic number): for each species Z, [G1, G2…, G3…];
then for each species pair (Z_a ≥ Z_b, ordered (0,0), (1,0), (1,1), (2,0)…) [G4…, G5…].

Speed: per neighbour the radial exponentials exp(-η r²) are computed once per η and reused in
every triplet; the triplet's third cutoff is a polynomial in r_jk² (no square root, no cosine);
integer ζ (the usual 1, 2, 4…) is a few multiplications instead of ``pow``.
"""
from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field
from typing import Optional

import numpy as np
from numba import njit

from ..elements import symbol
from ..errors import ParameterError, require
from ..neighbors import pair_vector
from ..tasks import CancelFn, ProgressFn, report
from . import settings as S

KIND = "acsf"


def _rows(value, width: int) -> tuple:
    """Parameters as a tuple of float tuples (hashable); kept as given if they are not numbers,
    for :meth:`AcsfParams.validate` to report."""
    if value is None:
        return ()
    try:
        if width == 1:
            return tuple(float(v) for v in value)
        return tuple(tuple(float(x) for x in row) for row in value)
    except (TypeError, ValueError):
        return value


@dataclass(frozen=True)
class AcsfParams:
    """ACSF settings: ``g2_params`` are (η, R_s) pairs, ``g3_params`` κ values, ``g4_params`` and
    ``g5_params`` (η, ζ, λ) triples; each list may be empty (G1 is always included)."""

    species: tuple = field(default=())
    r_cut: float = 6.0
    g2_params: tuple = ()
    g3_params: tuple = ()
    g4_params: tuple = ()
    g5_params: tuple = ()
    periodic: bool = True

    def __post_init__(self):
        object.__setattr__(self, "species", S.normalise_species(self.species))
        object.__setattr__(self, "g2_params", _rows(self.g2_params, 2))
        object.__setattr__(self, "g3_params", _rows(self.g3_params, 1))
        object.__setattr__(self, "g4_params", _rows(self.g4_params, 3))
        object.__setattr__(self, "g5_params", _rows(self.g5_params, 3))

    def validate(self) -> None:
        S.check_species(self.species)
        S.check_positive(self.r_cut, "r_cut", " Å", maximum=S.MAX_CUTOFF)
        require(isinstance(self.periodic, (bool, np.bool_)), "periodic", "must be True or False")
        _check_table(self.g2_params, "g2_params", ("eta", "Rs"))
        _check_table(self.g4_params, "g4_params", ("eta", "zeta", "lambda"))
        _check_table(self.g5_params, "g5_params", ("eta", "zeta", "lambda"))
        require(isinstance(self.g3_params, tuple) and all(math.isfinite(k) for k in self.g3_params),
                "g3_params", f"give a list of κ values (1/Å), got {self.g3_params!r}")

    @property
    def n_species(self) -> int:
        return len(set(self.species))

    @property
    def n_features(self) -> int:
        t = self.n_species
        return (1 + len(self.g2_params) + len(self.g3_params)) * t \
            + (len(self.g4_params) + len(self.g5_params)) * t * (t + 1) // 2

    def to_dict(self) -> dict:
        return {
            "kind": KIND, "species": list(self.species), "r_cut": self.r_cut,
            "g2_params": [list(r) for r in self.g2_params], "g3_params": list(self.g3_params),
            "g4_params": [list(r) for r in self.g4_params],
            "g5_params": [list(r) for r in self.g5_params], "periodic": self.periodic,
        }

    @classmethod
    def from_dict(cls, d: dict) -> "AcsfParams":
        d = {k: v for k, v in d.items() if k != "kind"}
        return cls(**d)


def _check_table(rows, parameter: str, columns: tuple) -> None:
    """Each row finite with η ≥ 0, ζ > 0, |λ| ≤ 1; the messages are formatted only on failure
    (a repr of XANESNET's 48 rows on every call cost more than the search of a small molecule)."""
    width = len(columns)
    if not (isinstance(rows, tuple) and all(isinstance(r, tuple) and len(r) == width for r in rows)):
        raise ParameterError(parameter, f"give a list of ({', '.join(columns)}) "
                                        f"{'pairs' if width == 2 else 'triples'}, got {rows!r}")
    for r in rows:
        if not all(math.isfinite(x) for x in r):
            raise ParameterError(parameter, f"{r} contains a value that is not finite")
        if r[0] < 0:
            raise ParameterError(parameter, f"eta must be ≥ 0 (1/Å²), got {r[0]:g} in {r}")
        if width == 3 and not r[1] > 0:
            raise ParameterError(parameter, f"zeta must be > 0, got {r[1]:g} in {r}")
        if width == 3 and abs(r[2]) > 1:
            raise ParameterError(parameter, f"lambda must be between -1 and 1 (usually ±1), "
                                            f"got {r[2]:g} in {r}")


def feature_names(params: AcsfParams) -> list[str]:
    """``"G2[O] eta=1 Rs=2"`` for each column, in output order."""
    symbols = [symbol(z) for z in S.check_species(params.species)]
    names = []
    for s in symbols:
        names.append(f"G1[{s}]")
        names += [f"G2[{s}] eta={e:g} Rs={r:g}" for e, r in params.g2_params]
        names += [f"G3[{s}] kappa={k:g}" for k in params.g3_params]
    for a in range(len(symbols)):
        for b in range(a + 1):
            pair = f"{symbols[b]}-{symbols[a]}"
            for g, table in (("G4", params.g4_params), ("G5", params.g5_params)):
                names += [f"{g}[{pair}] eta={e:g} zeta={z:g} lambda={lam:g}" for e, z, lam in table]
    return names


# --------------------------------------------------------------------------- kernels


#: Terms of the series of cos(πr / 2r_cut) in u = r² (error < 1e-16 for r ≤ r_cut).
_SERIES_TERMS = 12


def _cutoff_series(r_cut: float) -> np.ndarray:
    """Coefficients c_n of cos(b r) = Σ c_n u^n, b = π/(2 r_cut), u = r².

    f_c = ½(1 + cos(πr/r_cut)) = cos²(πr/2r_cut): a polynomial in r² squared, so the cutoff
    of the third side of every triplet needs neither a square root nor a cosine call.
    """
    b2 = (math.pi / (2.0 * r_cut)) ** 2
    return np.array([(-b2) ** n / math.factorial(2 * n) for n in range(_SERIES_TERMS)])


@njit(nogil=True, cache=True)
def _cutoff(u, series):
    """f_c at u = r² ≤ r_cut² from :func:`_cutoff_series`."""
    h = series[series.shape[0] - 1]
    for n in range(series.shape[0] - 2, -1, -1):
        h = h * u + series[n]
    return h * h


@njit(nogil=True, cache=True)
def _angular(cos_t, lam, zeta, zeta_int):
    """2^{1-ζ}(1 + λ cos θ)^ζ; repeated squaring when ζ is a whole number."""
    base = 0.5 * (1.0 + lam * cos_t)
    if zeta_int >= 0:
        result = 1.0
        e = zeta_int
        while e > 0:
            if e & 1:
                result *= base
            base *= base
            e >>= 1
        return 2.0 * result
    return 2.0 * base ** zeta


@njit(nogil=True, cache=True)
def _acsf_rows(lo, hi, centres, indptr, indices, shifts, pos, cell, types, n_types, r_cut, series,
               g2, g3, g4, g4_int, g4_eta, g5, g5_int, max_k, out):
    """ACSF of ``centres[lo:hi]`` added into ``out[lo:hi]`` (zeros on entry).

    ``g4_eta[g]`` indexes the distinct G4 η, so exp(-η r_jk²) is taken once per η and triplet.
    """
    n_g2 = g2.shape[0]
    n_g3 = g3.shape[0]
    n_g4 = g4.shape[0]
    n_g5 = g5.shape[0]
    per_species = 1 + n_g2 + n_g3
    per_pair = n_g4 + n_g5
    r_cut2 = r_cut * r_cut
    vec = np.empty((max_k, 3))
    r = np.empty(max_k)
    fc = np.empty(max_k)
    typ = np.empty(max_k, np.int64)
    e4 = np.empty((max_k, n_g4))  # exp(-η r²) per neighbour and G4/G5 parameter
    e5 = np.empty((max_k, n_g5))
    n_eta = g4_eta.max() + 1 if n_g4 > 0 else 0
    eta = np.zeros(max(n_eta, 1))
    for g in range(n_g4):
        eta[g4_eta[g]] = g4[g, 0]
    ejk = np.empty(max(n_eta, 1))
    for row in range(lo, hi):
        i = centres[row]
        o = out[row]
        k = 0
        for p in range(indptr[i], indptr[i + 1]):
            j = indices[p]
            dx, dy, dz = pair_vector(i, j, p, pos, cell, shifts)
            r2 = dx * dx + dy * dy + dz * dz
            if r2 > r_cut2:
                continue
            rij = math.sqrt(r2)
            vec[k, 0] = dx
            vec[k, 1] = dy
            vec[k, 2] = dz
            r[k] = rij
            f = _cutoff(r2, series)
            fc[k] = f
            t = types[j]
            typ[k] = t
            base = t * per_species
            o[base] += f
            for g in range(n_g2):
                d = rij - g2[g, 1]
                o[base + 1 + g] += math.exp(-g2[g, 0] * d * d) * f
            for g in range(n_g3):
                o[base + 1 + n_g2 + g] += math.cos(rij * g3[g]) * f
            for g in range(n_g4):
                e4[k, g] = math.exp(-g4[g, 0] * r2)
            for g in range(n_g5):
                e5[k, g] = math.exp(-g5[g, 0] * r2)
            k += 1
        if per_pair == 0:
            continue
        for a in range(k):
            ta = typ[a]
            for b in range(a):
                tb = typ[b]
                hi_t = max(ta, tb)
                pair = hi_t * (hi_t + 1) // 2 + min(ta, tb)
                base = n_types * per_species + pair * per_pair
                ab = vec[a, 0] * vec[b, 0] + vec[a, 1] * vec[b, 1] + vec[a, 2] * vec[b, 2]
                cos_t = ab / (r[a] * r[b])
                fab = fc[a] * fc[b]
                if n_g4 > 0:
                    dx = vec[a, 0] - vec[b, 0]
                    dy = vec[a, 1] - vec[b, 1]
                    dz = vec[a, 2] - vec[b, 2]
                    rjk2 = dx * dx + dy * dy + dz * dz
                    if rjk2 <= r_cut2:
                        f3 = fab * _cutoff(rjk2, series)
                        for e in range(n_eta):
                            ejk[e] = math.exp(-eta[e] * rjk2) * f3
                        for g in range(n_g4):
                            gauss = e4[a, g] * e4[b, g] * ejk[g4_eta[g]]
                            o[base + g] += _angular(cos_t, g4[g, 2], g4[g, 1], g4_int[g]) * gauss
                for g in range(n_g5):
                    gauss = e5[a, g] * e5[b, g] * fab
                    o[base + n_g4 + g] += _angular(cos_t, g5[g, 2], g5[g, 1], g5_int[g]) * gauss


# --------------------------------------------------------------------------- driver


def _table(rows, width) -> tuple[np.ndarray, np.ndarray]:
    arr = np.array(rows, dtype=np.float64).reshape(-1, width)
    if width == 3:
        zeta = arr[:, 1]
        whole = np.where((zeta == np.round(zeta)) & (zeta <= 64), zeta, -1).astype(np.int64)
        return np.ascontiguousarray(arr), whole
    return np.ascontiguousarray(arr), np.zeros(len(arr), np.int64)


def _prepared(params: AcsfParams) -> tuple:
    """``params`` validated and as the kernel's arrays (species Z, g2, g3, g4, g4_int, g4_eta,
    g5, g5_int, cutoff series), once per settings (:func:`_tables`); settings that cannot be
    hashed are checked first, for the message."""
    try:
        hash(params)
    except TypeError:
        params.validate()
        return _tables.__wrapped__(params)
    return _tables(params)


@functools.lru_cache(maxsize=64)
def _tables(params: AcsfParams) -> tuple:
    """:func:`_prepared`, cached: a molecule of a folder takes 1 ms in all, and checking and
    tabulating the same settings again was a third of it. The kernels never write the arrays
    (not flagged read-only: numba would compile a second signature)."""
    params.validate()
    g2, _ = _table(params.g2_params, 2)
    g4, g4_int = _table(params.g4_params, 3)
    g5, g5_int = _table(params.g5_params, 3)
    arrays = (S.check_species(params.species), g2, np.array(params.g3_params, dtype=np.float64).reshape(-1),
              g4, g4_int, np.unique(g4[:, 0], return_inverse=True)[1].astype(np.int64).reshape(-1),
              g5, g5_int, _cutoff_series(float(params.r_cut)))
    return arrays


def compute_acsf(atoms, params: AcsfParams, centers=None, progress: Optional[ProgressFn] = None,
                 cancel: Optional[CancelFn] = None) -> np.ndarray:
    """ACSF of each centre (atom indices; all atoms if None), shape (n_centres, n_features).

    Equal to ``dscribe.descriptors.ACSF(r_cut, g2_params, g3_params, g4_params, g5_params,
    species, periodic).create(atoms, centers=...)``.
    """
    species_z, g2, g3, g4, g4_int, g4_eta, g5, g5_int, series = _prepared(params)
    types = S.atom_types(atoms, species_z)
    centres = S.centre_indices(atoms, centers)
    view = S.search_view(atoms, bool(params.periodic))
    out = np.zeros((len(centres), params.n_features))
    search_prog, span = S.search_progress(progress)
    # A hair beyond r_cut so that neighbours exactly at r_cut (f_c = 0) need no special care.
    nl = S.neighbours(view, float(params.r_cut) * (1.0 + 1e-12), progress=search_prog,
                      cancel=cancel)
    hood = S.Neighbourhood(view, nl)
    k = hood.mean_neighbours()
    row_cost = 2e-8 * k * (2 + len(g2) + len(g3) + len(g4) + len(g5)) \
        + 1e-8 * k * k * (1 + len(g4) + len(g5))
    max_k = max(S.max_row(hood.indptr, centres), 1)

    def kernel(lo, hi):
        _acsf_rows(lo, hi, centres, hood.indptr, hood.indices, hood.shifts, hood.positions,
                   hood.cell, types, len(species_z), float(params.r_cut),
                   series, g2, g3, g4, g4_int,
                   g4_eta, g5, g5_int, max_k, out)

    S.run_rows(kernel, len(centres), row_cost, progress, cancel, "ACSF", span)
    report(progress, 1.0, "ACSF done")
    return out


#: The common name of the entry point.
compute = compute_acsf


def warm_up() -> None:
    """Compile the ACSF kernels on a three-atom molecule."""
    from ase import Atoms

    atoms = Atoms("OH2", positions=[(0, 0, 0), (0.96, 0, 0), (-0.24, 0.93, 0)])
    compute_acsf(atoms, AcsfParams(("H", "O"), r_cut=3.0, g2_params=((1.0, 0.5),), g3_params=(1.0,),
                                   g4_params=((0.1, 1.0, 1.0), (0.1, 1.5, -1.0)),
                                   g5_params=((0.1, 2.0, -1.0),), periodic=False))

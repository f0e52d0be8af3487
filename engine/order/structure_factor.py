"""Structure factors: Faber–Ziman partials S_ab(q) from g_ab(r), and weighted totals.

Partial (Faber–Ziman) structure factors are the sine transform of the partial pair distribution
functions with the total number density ``rho``::

    S_ab(q) = 1 + 4 pi rho  integral_0^r_max  r^2 (g_ab(r) - 1) W(r) sin(qr)/(qr) dr

evaluated on the histogram bins with their exact shell volumes (so the transform is the Debye sum
of the binned pairs minus its uniform background). ``W`` is the Lorch window
``sin(pi r / r_max) / (pi r / r_max)`` (damps the truncation ripples) or 1.

The total is the Faber–Ziman combination ``S(q) = 1 + sum_ab c_a c_b w_a w_b (S_ab - 1) /
(sum_a c_a w_a)^2`` with weights ``w``:

* ``"faber-ziman"``: ``w = 1`` (every atom alike; the transform of the total g(r));
* ``"neutron"``: coherent scattering lengths ``b_coh``;
* ``"xray"``: atomic form factors ``f(q)`` (neutral atoms, no dispersion corrections).

Data sources (physical constants, typed in from the published tables):

* neutron: V. F. Sears, "Neutron scattering lengths and cross sections", Neutron News 3(3),
  26–37 (1992), as tabulated by NIST (https://www.ncnr.nist.gov/resources/n-lengths/); natural
  isotopic abundance, real part (B and Ag absorb, their imaginary parts are left out);
* X-ray: the four-Gaussian fits of D. T. Cromer & J. B. Mann, International Tables for
  Crystallography Vol. C (2006), Table 6.1.1.4: ``f(s) = sum_i a_i exp(-b_i s^2) + c`` with
  ``s = sin(theta)/lambda = q / (4 pi)`` in 1/Å, valid for s <= 2 1/Å (q <= 25 1/Å).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional

import numpy as np
from numba import njit

from ..elements import number, symbol
from ..neighbors import NeighborList
from ..tasks import CancelFn, ProgressFn, chunked
from .pairs import RdfParams, RdfResult, compute_rdf, periodic_volume, species

#: Coherent neutron scattering lengths, fm (Sears 1992 / NIST), keyed by atomic number.
NEUTRON_B_COH: dict[int, float] = {
    1: -3.7390,  # H
    3: -1.90,  # Li
    4: 7.79,  # Be
    5: 5.30,  # B (Re; Im -0.213 fm)
    6: 6.6460,  # C
    7: 9.36,  # N
    8: 5.803,  # O
    9: 5.654,  # F
    11: 3.63,  # Na
    12: 5.375,  # Mg
    13: 3.449,  # Al
    14: 4.1491,  # Si
    15: 5.13,  # P
    16: 2.847,  # S
    17: 9.5770,  # Cl
    18: 1.909,  # Ar
    19: 3.67,  # K
    20: 4.70,  # Ca
    22: -3.438,  # Ti
    23: -0.3824,  # V
    24: 3.635,  # Cr
    25: -3.73,  # Mn
    26: 9.45,  # Fe
    27: 2.49,  # Co
    28: 10.3,  # Ni
    29: 7.718,  # Cu
    30: 5.680,  # Zn
    31: 7.288,  # Ga
    32: 8.185,  # Ge
    33: 6.58,  # As
    34: 7.970,  # Se
    38: 7.02,  # Sr
    39: 7.75,  # Y
    40: 7.16,  # Zr
    41: 7.054,  # Nb
    42: 6.715,  # Mo
    47: 5.922,  # Ag
    50: 6.225,  # Sn
    56: 5.07,  # Ba
    57: 8.24,  # La
    72: 7.7,  # Hf
    73: 6.91,  # Ta
    74: 4.86,  # W
    78: 9.60,  # Pt
    79: 7.63,  # Au
    82: 9.405,  # Pb
}

#: Cromer–Mann coefficients (a1, b1, a2, b2, a3, b3, a4, b4, c), ITC Vol. C Table 6.1.1.4.
XRAY_CROMER_MANN: dict[int, tuple[float, ...]] = {
    1: (0.489918, 20.6593, 0.262003, 7.74039, 0.196767, 49.5519, 0.049879, 2.20159, 0.001305),
    3: (1.1282, 3.9546, 0.7508, 1.0524, 0.6175, 85.3905, 0.4653, 168.261, 0.0377),
    5: (2.0545, 23.2185, 1.3326, 1.0210, 1.0979, 60.3498, 0.7068, 0.1403, -0.1932),
    6: (2.3100, 20.8439, 1.0200, 10.2075, 1.5886, 0.5687, 0.8650, 51.6512, 0.2156),
    7: (12.2126, 0.0057, 3.1322, 9.8933, 2.0125, 28.9975, 1.1663, 0.5826, -11.529),
    8: (3.0485, 13.2771, 2.2868, 5.7011, 1.5463, 0.3239, 0.8670, 32.9089, 0.2508),
    9: (3.5392, 10.2825, 2.6412, 4.2944, 1.5170, 0.2615, 1.0243, 26.1476, 0.2776),
    11: (4.7626, 3.2850, 3.1736, 8.8422, 1.2674, 0.3136, 1.1128, 129.424, 0.6760),
    12: (5.4204, 2.8275, 2.1735, 79.2611, 1.2269, 0.3808, 2.3073, 7.1937, 0.8584),
    13: (6.4202, 3.0387, 1.9002, 0.7426, 1.5936, 31.5472, 1.9646, 85.0886, 1.1151),
    14: (6.2915, 2.4386, 3.0353, 32.3337, 1.9891, 0.6785, 1.5410, 81.6937, 1.1407),
    15: (6.4345, 1.9067, 4.1791, 27.1570, 1.7800, 0.5260, 1.4908, 68.1645, 1.1149),
    16: (6.9053, 1.4679, 5.2034, 22.2151, 1.4379, 0.2536, 1.5863, 56.1720, 0.8669),
    17: (11.4604, 0.0104, 7.1964, 1.1662, 6.2556, 18.5194, 1.6455, 47.7784, -9.5574),
    19: (8.2186, 12.7949, 7.4398, 0.7748, 1.0519, 213.187, 0.8659, 41.6841, 1.4228),
    20: (8.6266, 10.4421, 7.3873, 0.6599, 1.5899, 85.7484, 1.0211, 178.437, 1.3751),
    22: (9.7595, 7.8508, 7.3558, 0.5000, 1.6991, 35.6338, 1.9021, 116.105, 1.2807),
    26: (11.7695, 4.7611, 7.3573, 0.3072, 3.5222, 15.3535, 2.3045, 76.8805, 1.0369),
    29: (13.3380, 3.5828, 7.1676, 0.2470, 5.6158, 11.3966, 1.6735, 64.8126, 1.1910),
    30: (14.0743, 3.2655, 7.0318, 0.2333, 5.1652, 10.3163, 2.4100, 58.7097, 1.3041),
    32: (16.0816, 2.8509, 6.3747, 0.2516, 3.7068, 11.4468, 3.6830, 54.7625, 2.1313),
    40: (17.8765, 1.27618, 10.9480, 11.9160, 5.41732, 0.117622, 3.65721, 87.6627, 2.06929),
    47: (19.2808, 0.6446, 16.6885, 7.4726, 4.8045, 24.6605, 1.0463, 99.8156, 5.1790),
    50: (19.1889, 5.8303, 19.1005, 0.5031, 4.4585, 26.8909, 2.4663, 83.9571, 4.7821),
    73: (29.2024, 1.77333, 15.2293, 9.37046, 14.5135, 0.295977, 4.76492, 63.3644, 9.24354),
    82: (31.0617, 0.6902, 13.0637, 2.3576, 18.4420, 8.6180, 5.9696, 47.2579, 13.4118),
}

WEIGHTINGS = ("faber-ziman", "neutron", "xray")


def _numbers(elements) -> list[int]:
    return [number(e) if isinstance(e, str) else int(e) for e in np.atleast_1d(elements).tolist()]


def neutron_lengths(elements) -> np.ndarray:
    """Coherent scattering length (fm) of each element (symbols or atomic numbers)."""
    out = []
    for z in _numbers(elements):
        if z not in NEUTRON_B_COH:
            raise KeyError(f"no neutron scattering length for {symbol(z)} in the built-in table")
        out.append(NEUTRON_B_COH[z])
    return np.asarray(out, dtype=np.float64)


def xray_form_factors(elements, q) -> np.ndarray:
    """Atomic form factor f(q) (electrons), shape (n_elements, n_q), q in 1/Å."""
    s2 = (np.asarray(q, dtype=np.float64) / (4.0 * np.pi)) ** 2
    rows = []
    for z in _numbers(elements):
        if z not in XRAY_CROMER_MANN:
            raise KeyError(f"no X-ray form factor for {symbol(z)} in the built-in table")
        a = XRAY_CROMER_MANN[z]
        rows.append(sum(a[2 * i] * np.exp(-a[2 * i + 1] * s2) for i in range(4)) + a[8])
    return np.asarray(rows, dtype=np.float64).reshape(len(rows), -1)


def element_weights(elements, q, weighting: str) -> np.ndarray:
    """Scattering weight of each element at each q, shape (n_elements, n_q)."""
    q = np.atleast_1d(np.asarray(q, dtype=np.float64))
    m = len(_numbers(elements))
    if weighting == "faber-ziman":
        return np.ones((m, len(q)))
    if weighting == "neutron":
        return np.repeat(neutron_lengths(elements)[:, None], len(q), axis=1)
    if weighting == "xray":
        return xray_form_factors(elements, q)
    raise ValueError(f"weighting must be one of {', '.join(WEIGHTINGS)}, got {weighting!r}")


def combine(partials: np.ndarray, concentrations: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Faber–Ziman total ``1 + sum c_a c_b w_a w_b (S_ab - 1) / (sum c_a w_a)^2`` per q."""
    cw = concentrations[:, None] * weights  # (m, n_q)
    return 1.0 + np.einsum("aq,bq,abq->q", cw, cw, partials - 1.0) / cw.sum(axis=0) ** 2


def window(r: np.ndarray, r_max: float, kind: Optional[str]) -> np.ndarray:
    """Lorch window ``sinc(pi r / r_max)`` or ones."""
    if kind is None:
        return np.ones_like(r)
    if kind == "lorch":
        return np.sinc(r / r_max)  # numpy's sinc is sin(pi x)/(pi x)
    raise ValueError(f"window must be 'lorch' or None, got {kind!r}")


@dataclass(frozen=True)
class StructureFactorParams:
    """``n_q`` points on [``q_min``, ``q_max``] 1/Å from g(r) up to ``r_max`` Å in bins of ``dr``."""

    q_min: float = 0.3
    q_max: float = 20.0
    n_q: int = 400
    weighting: str = "faber-ziman"
    r_max: float = 10.0
    window: Optional[str] = "lorch"
    dr: float = 0.01


@dataclass(frozen=True)
class StructureFactorResult:
    q: np.ndarray  # (n_q,) 1/Å
    S: np.ndarray  # (n_q,) weighted total S(q)
    partials: np.ndarray  # (m, m, n_q) Faber–Ziman S_ab(q)
    weights: np.ndarray  # (m, n_q) scattering weight of each element
    elements: tuple
    concentrations: np.ndarray
    weighting: str
    window: Optional[str]
    r_max: float

    def partial(self, a, b) -> np.ndarray:
        za, zb = _numbers([a, b])
        nums = _numbers(self.elements)
        return self.partials[nums.index(za), nums.index(zb)]

    @property
    def F(self) -> np.ndarray:
        """Reduced structure factor q (S(q) - 1), 1/Å."""
        return self.q * (self.S - 1.0)

    def to_arrays(self) -> dict[str, np.ndarray]:
        return {}

    def to_dict(self) -> dict:
        return {
            "q": self.q.tolist(),
            "S": self.S.tolist(),
            "partials": {
                f"{a}-{b}": self.partials[ia, ib].tolist()
                for ia, a in enumerate(self.elements)
                for ib, b in enumerate(self.elements)
            },
            "elements": list(self.elements),
            "concentrations": self.concentrations.tolist(),
            "weighting": self.weighting,
            "window": self.window,
            "r_max": float(self.r_max),
        }


def _q_grid(params: StructureFactorParams) -> np.ndarray:
    if not (0.0 <= params.q_min < params.q_max) or int(params.n_q) < 1:
        raise ValueError(
            f"need 0 <= q_min < q_max and n_q >= 1, got {params.q_min}, {params.q_max}, {params.n_q}"
        )
    if params.weighting not in WEIGHTINGS:
        raise ValueError(f"weighting must be one of {', '.join(WEIGHTINGS)}, got {params.weighting!r}")
    if not params.dr > 0 or not params.r_max > params.dr:
        raise ValueError(f"need 0 < dr < r_max, got dr={params.dr}, r_max={params.r_max}")
    return np.linspace(params.q_min, params.q_max, int(params.n_q))


def _sinc_qr(q: np.ndarray, r: np.ndarray) -> np.ndarray:
    return np.sinc(np.outer(q, r) / np.pi)  # sin(qr)/(qr), 1 at qr = 0


def structure_factor_from_rdf(rdf: RdfResult, params: StructureFactorParams) -> StructureFactorResult:
    """Faber–Ziman partials and weighted total from an :class:`RdfResult` (any binning)."""
    q = _q_grid(params)
    r_max = float(rdf.edges[-1])
    shell = 4.0 / 3.0 * np.pi * (rdf.edges[1:] ** 3 - rdf.edges[:-1] ** 3)
    kernel = _sinc_qr(q, rdf.r) * (shell * window(rdf.r, r_max, params.window))[None, :]
    partials = 1.0 + rdf.density * np.einsum("abk,qk->abq", rdf.partials - 1.0, kernel)
    weights = element_weights(rdf.numbers, q, params.weighting)
    return StructureFactorResult(
        q=q, S=combine(partials, rdf.concentrations, weights), partials=partials,
        weights=weights, elements=rdf.elements, concentrations=rdf.concentrations,
        weighting=params.weighting, window=params.window, r_max=r_max,
    )


def compute_structure_factor(
    atoms,
    params: StructureFactorParams = StructureFactorParams(),
    neighbors: Optional[NeighborList] = None,
    progress: Optional[ProgressFn] = None,
    cancel: Optional[CancelFn] = None,
) -> StructureFactorResult:
    """S_ab(q) and the weighted total S(q) by Fourier transform of g_ab(r) up to ``r_max``.

    ``r_max`` should not exceed half the shortest cell height, or the periodic images of the
    model itself show up as spurious peaks at low q. A given ``neighbors`` (cutoff >= r_max)
    is reused.
    """
    _q_grid(params)
    n_bins = max(1, int(round(params.r_max / params.dr)))
    rdf = compute_rdf(atoms, RdfParams(r_max=params.r_max, n_bins=n_bins, weighting="number"),
                      neighbors=neighbors, progress=progress, cancel=cancel)
    return structure_factor_from_rdf(rdf, params)


# --------------------------------------------------------------------------- Debye sum


@njit(nogil=True, cache=True)
def _debye_pairs(start, stop, indptr, indices, distances, types, n_types, q, r_max, lorch, out):
    """Add ``W(r) sin(q r)/(q r)`` of each stored pair (r < r_max) of atoms ``start:stop`` to
    ``out[ta * m + tb, :]``."""
    n_q = q.shape[0]
    for i in range(start, stop):
        row = types[i] * n_types
        for p in range(indptr[i], indptr[i + 1]):
            r = distances[p]
            if r >= r_max or r <= 0.0:
                continue
            w = 1.0
            if lorch:
                x = math.pi * r / r_max
                w = math.sin(x) / x
            o = row + types[indices[p]]
            for k in range(n_q):
                x = q[k] * r
                out[o, k] += w * (math.sin(x) / x if x > 0.0 else 1.0)


def _background(q: np.ndarray, r_max: float, kind: Optional[str], n: int = 20_000) -> np.ndarray:
    """``4 pi integral_0^r_max r^2 W(r) sin(qr)/(qr) dr`` (midpoint rule, fine grid)."""
    edges = np.linspace(0.0, r_max, n + 1)
    r = 0.5 * (edges[1:] + edges[:-1])
    shell = 4.0 / 3.0 * np.pi * (edges[1:] ** 3 - edges[:-1] ** 3)
    return _sinc_qr(q, r) @ (shell * window(r, r_max, kind))


def debye_structure_factor(
    atoms,
    q,
    r_max: float,
    weighting: str = "faber-ziman",
    window_kind: Optional[str] = "lorch",
    neighbors: Optional[NeighborList] = None,
    progress: Optional[ProgressFn] = None,
    cancel: Optional[CancelFn] = None,
) -> tuple[np.ndarray, np.ndarray]:
    """(total S(q), partials) from the direct Debye sum over pairs closer than ``r_max``.

    ``S_ab(q) = 1 + (1 / N_a c_b) sum_{i in a, j in b} W(r_ij) sinc(q r_ij) - rho B(q)`` with
    ``B`` the same sum over a uniform density: the unbinned twin of the g(r) transform, for
    checking it on small systems (cost pairs x n_q).
    """
    from ..neighbors import neighbor_list

    q = np.atleast_1d(np.asarray(q, dtype=np.float64))
    volume = periodic_volume(atoms)
    numbers = np.asarray(atoms.numbers, dtype=np.int64)
    present, types = species(numbers)
    m, n = len(present), len(numbers)
    if neighbors is None:
        neighbors = neighbor_list(atoms, r_max)
    elif neighbors.cutoff < r_max:
        raise ValueError(f"the neighbour list's cutoff {neighbors.cutoff:g} Å is below r_max {r_max:g} Å")
    sums = np.zeros((m * m, len(q)))
    chunk = max(1, int(5e6 / max(len(q), 1) / max(neighbors.n_pairs / max(n, 1), 1.0)))
    for start, stop in chunked(n, chunk, progress, cancel, "Debye sum"):
        _debye_pairs(start, stop, neighbors.indptr, neighbors.indices, neighbors.distances,
                     types, m, q, float(r_max), window_kind == "lorch", sums)
    n_per = np.array([(numbers == z).sum() for z in present], dtype=np.float64)
    conc = n_per / n
    rho = n / volume
    background = _background(q, r_max, window_kind)
    partials = 1.0 + sums.reshape(m, m, -1) / (n_per[:, None, None] * conc[None, :, None]) \
        - rho * background[None, None, :]
    weights = element_weights(present, q, weighting)
    return combine(partials, conc, weights), partials


def warm_up() -> None:
    """Compile (or load from cache) the Debye kernel on tiny inputs."""
    from ase import Atoms

    rng = np.random.default_rng(0)
    atoms = Atoms("Si4O4", positions=rng.random((8, 3)) * 5.0, cell=[5.0] * 3, pbc=True)
    debye_structure_factor(atoms, [1.0, 2.0], 2.5)

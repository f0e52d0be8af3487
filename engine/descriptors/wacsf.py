"""Weighted atom-centred symmetry functions (Gastegger et al., JCP 148, 241709 (2018)), the
descriptor XANESNET (Rankine & Penfold) feeds its spectrum networks.

Where ACSF keeps one set of functions per neighbour element (and per element pair for angles),
wACSF sums over elements with the atomic number as weight, so the vector's length does not grow
with the number of elements and an element never seen in training still gives a row:

* G1 = Σ_j f_c(r_ij);
* G2_m = Σ_j w_j exp(-η_m (r_ij - R_m)²) f_c(r_ij), ``n_g2`` shifted Gaussians with centres
  R_m evenly from r_min + ½ to r_max − ½ Å and width η = 1/(2 ΔR²);
* G4_{m,λ} = Σ_{j<k} w_j w_k 2^{1-ζ}(1 + λ cos θ_jik)^ζ exp(-η_m (r_ij² + r_ik² + r_jk²))
  f_c(r_ij) f_c(r_ik) f_c(r_jk), ``n_g4`` centred Gaussians with η_m = 1/(2 r_m²), r_m evenly
  from r_min + 1 to r_max − ½ Å, each for λ = +1 and −1;

with w = Z / 10 and f_c the cosine cutoff at r_max. These sums are the element-resolved ACSF
(:mod:`.acsf`, equal to DScribe's) contracted with the weights, so the kernel is that one.
Columns: G1, the G2 by centre, then the G4 by width with λ = +1, −1 for each.
"""
from __future__ import annotations

import functools
from dataclasses import asdict, dataclass
from typing import Optional

import numpy as np

from ..errors import require
from ..tasks import CancelFn, ProgressFn
from . import settings as S
from .acsf import AcsfParams, compute_acsf

KIND = "wacsf"
LAMBDAS = (1.0, -1.0)


@dataclass(frozen=True)
class WacsfParams:
    """wACSF settings: radial range (Å), numbers of radial (G2) and angular (G4) widths, ζ."""

    r_min: float = 1.0
    r_max: float = 6.0
    n_g2: int = 16
    n_g4: int = 16
    zeta: float = 1.0
    periodic: bool = True

    def validate(self) -> None:
        S.check_positive(self.r_max, "r_max", " Å", minimum=1.0, maximum=S.MAX_CUTOFF)
        require(isinstance(self.r_min, (int, float)) and 0 <= self.r_min < self.r_max - 1.5, "r_min",
                f"must be ≥ 0 Å and at least 1.5 Å below r_max ({self.r_max} Å)")
        S.check_int(self.n_g2, "n_g2", 0, 256)
        S.check_int(self.n_g4, "n_g4", 0, 256)
        S.check_positive(self.zeta, "zeta")
        require(isinstance(self.periodic, (bool, np.bool_)), "periodic", "must be True or False")

    @property
    def n_features(self) -> int:
        return 1 + self.n_g2 + len(LAMBDAS) * self.n_g4

    def g2_params(self) -> tuple:
        """(η, R) of the shifted radial Gaussians."""
        centres = np.linspace(self.r_min + 0.5, self.r_max - 0.5, self.n_g2)
        step = centres[1] - centres[0] if self.n_g2 > 1 else self.r_max - self.r_min - 1.0
        return tuple((1.0 / (2.0 * step**2), float(c)) for c in centres)

    def g4_params(self) -> tuple:
        """(η, ζ, λ) of the centred angular terms, λ fastest."""
        widths = np.linspace(self.r_min + 1.0, self.r_max - 0.5, self.n_g4)
        return tuple((1.0 / (2.0 * w**2), float(self.zeta), lam) for w in widths for lam in LAMBDAS)

    def to_dict(self) -> dict:
        return {"kind": KIND, **asdict(self)}

    @classmethod
    def from_dict(cls, d: dict) -> "WacsfParams":
        return cls(**{k: v for k, v in d.items() if k != "kind"})


def feature_names(params: WacsfParams) -> list[str]:
    names = ["G1"]
    names += [f"wG2 eta={e:.3g} Rs={r:.3g}" for e, r in params.g2_params()]
    names += [f"wG4 eta={e:.3g} zeta={z:g} lambda={lam:g}" for e, z, lam in params.g4_params()]
    return names


def compute_wacsf(atoms, params: WacsfParams, centers=None, progress: Optional[ProgressFn] = None,
                  cancel: Optional[CancelFn] = None) -> np.ndarray:
    """wACSF of each centre (atom indices; all atoms if None), shape (n_centres, n_features)."""
    params.validate()
    species_z = np.unique(np.asarray(atoms.numbers, dtype=np.int64))
    resolved = compute_acsf(atoms, resolved_params(params, species_z), centers=centers,
                            progress=progress, cancel=cancel)
    return contract(resolved, species_z, params)


def resolved_params(params: WacsfParams, species_z) -> AcsfParams:
    """The element-resolved ACSF whose weighted sums are ``params``' wACSF (the same object for
    the same settings and elements, so its tables are made once: :func:`acsf._prepared`)."""
    return _resolved(params, tuple(int(z) for z in species_z))


@functools.lru_cache(maxsize=64)
def _resolved(params: WacsfParams, species_z: tuple) -> AcsfParams:
    return AcsfParams(species=species_z, r_cut=float(params.r_max),
                      g2_params=params.g2_params(), g4_params=params.g4_params(),
                      periodic=bool(params.periodic))


def contract(resolved: np.ndarray, species_z, params: WacsfParams) -> np.ndarray:
    """wACSF from element-resolved ACSF columns (DScribe's layout, species sorted by Z)."""
    # Column layout of ACSF: per species [G1, G2…], then per species pair (a ≥ b) [G4…].
    weight = 0.1 * np.asarray(species_z, dtype=np.float64)
    t, per, n4 = len(weight), 1 + params.n_g2, len(LAMBDAS) * params.n_g4
    out = np.zeros((len(resolved), params.n_features))
    for s in range(t):
        out[:, 0] += resolved[:, s * per]
        out[:, 1:per] += weight[s] * resolved[:, s * per + 1:(s + 1) * per]
    pair = 0
    for a in range(t):
        for b in range(a + 1):
            lo = t * per + pair * n4
            out[:, per:] += weight[a] * weight[b] * resolved[:, lo:lo + n4]
            pair += 1
    return out


#: The common name of the entry point.
compute = compute_wacsf

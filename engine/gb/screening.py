"""Virtual screening: rank a boundary's candidates from their unrelaxed structures, relax the best few.

Kiyohara et al. (2016) trained a regression predictor on boundaries already searched and used it
to screen the translations of new ones. A relaxation costs 10³–10⁵ times more than a look at the
unrelaxed bicrystal, which already shows what makes a translation bad: atoms pushed too close,
broken coordination, open or crowded space at the boundary. Descriptors, all per unit boundary
area (two boundaries per cell) so that boundaries of different size and Σ compare, with lengths in
units of the nearest-neighbour distance d_nn so that they do not depend on the lattice constant:

* excess volume (V − N·Ω)/(2A) and removed atoms per area;
* the closest pairs: min distance / d_nn and counts of pairs per area in bins of r/d_nn below 1;
* a soft-overlap sum Σ (1 − r/d_nn)² over pairs closer than d_nn;
* coordination within the middle of the first two fcc shells: Σ|Z − Z_bulk|, the atoms under and
  over Z_bulk, and the count of each Z ≠ Z_bulk from Z_bulk − 4 to Z_bulk + 2 (local-environment
  counts; bulk-like atoms are left out, their number only says how thick the grains are).

The regressor (scikit-learn gradient-boosted trees) learns γ minus each training boundary's
median γ, since only the order within a boundary matters.

A model only ranks boundaries *comparable* to those it learnt from: the same crystal, rotation
axis (up to cubic symmetry) and kind (tilt or twist). Measured on LAMMPS-EAM tables of Cu: within
the [001] tilt family, leaving one boundary out and training on the other four, the ranking's
Spearman ρ was 0.62–0.87 for Σ5(310), Σ13(320), Σ5(210), Σ13(510) and Σ17(410), so Σ and plane
may change; trained on [001] tilts, the Σ3(111) twist (another axis and kind) was ranked worse
than chance (ρ = −0.35; its minimum at rank 165 where random order needs ~6). Other crystals were
not measured, so they are not taken as comparable.
"""
from __future__ import annotations

from typing import Optional, Sequence

import numpy as np

from ..build.bicrystal import build_bicrystal
from ..build.crystals import unit_cell
from ..errors import require
from ..neighbors import neighbor_list
from ..tasks import CancelFn, ProgressFn, chunked
from .candidates import Candidate, CandidateSet, nearest_neighbour

#: r / d_nn bin edges of the close-pair counts.
PAIR_BINS = (0.0, 0.75, 0.85, 0.92, 0.97)
#: Coordination shell radius / d_nn: between the fcc shells at 1 and √2.
SHELL = 0.5 * (1.0 + np.sqrt(2.0))
Z_RANGE = (-4, 2)
FEATURE_NAMES = (("excess_volume", "removed", "min_distance", "overlap")
                 + tuple(f"pairs_{lo:g}_{hi:g}" for lo, hi in zip(PAIR_BINS[:-1], PAIR_BINS[1:]))
                 + ("z_deficit", "z_under", "z_over")
                 + tuple(f"z{d:+d}" for d in range(Z_RANGE[0], Z_RANGE[1] + 1) if d != 0))


def candidate_descriptors(candidate: Candidate, a: Optional[float] = None) -> np.ndarray:
    """The descriptor vector (:data:`FEATURE_NAMES`) of one unrelaxed candidate."""
    crystal = candidate.boundary.crystal
    atoms = build_bicrystal(candidate.params(a))
    cell = unit_cell(crystal, a)
    omega = cell.get_volume() / len(cell)
    nn = nearest_neighbour(crystal, a)
    z_bulk = _bulk_coordination(crystal, a)
    # Lengths in d_nn and areas in d_nn²: the same candidate at another lattice constant (another
    # oracle's a₀) has the same descriptors.
    per_area = nn * nn / (2.0 * float(atoms.info["boundary_area"]))
    nl = neighbor_list(atoms, SHELL * nn)
    i, _ = nl.pairs()
    r = nl.distances / nn
    half = i < nl.indices  # each pair once
    close = r[half & (r < 1.0 - 1e-6)]
    z = np.diff(nl.indptr) - z_bulk
    z_counts = [np.sum(z == d) for d in range(Z_RANGE[0], Z_RANGE[1] + 1) if d != 0]
    features = [(atoms.get_volume() - len(atoms) * omega) * per_area / nn ** 3,
                atoms.info["removed_atoms"] * per_area,
                float(r.min()) if r.size else SHELL,
                float(np.sum((1.0 - close) ** 2)) * per_area,
                *(np.histogram(close, bins=PAIR_BINS)[0] * per_area),
                float(np.abs(z).sum()) * per_area, float(np.sum(z < 0)) * per_area,
                float(np.sum(z > 0)) * per_area,
                *(np.array(z_counts, float) * per_area)]
    return np.array(features, dtype=float)


def _bulk_coordination(crystal: str, a: Optional[float]) -> int:
    cell = unit_cell(crystal, a).repeat(3)
    counts = np.diff(neighbor_list(cell, SHELL * nearest_neighbour(crystal, a)).indptr)
    return int(np.round(counts.mean()))


def descriptors(candidates: CandidateSet, a: Optional[float] = None,
                progress: Optional[ProgressFn] = None, cancel: Optional[CancelFn] = None,
                indices: Optional[Sequence[int]] = None) -> np.ndarray:
    """(n, n_features) descriptors of the candidates at ``indices`` (default all; about 20 ms
    each: a build and a neighbour list)."""
    indices = np.arange(len(candidates)) if indices is None else np.asarray(indices, dtype=np.int64)
    out = np.empty((len(indices), len(FEATURE_NAMES)))
    for start, stop in chunked(len(indices), 50, progress, cancel, "screening descriptors"):
        for k in range(start, stop):
            out[k] = candidate_descriptors(candidates[int(indices[k])], a)
    return out


def _family(boundary) -> tuple:
    """(crystal, axis up to cubic symmetry, kind): what a comparable boundary shares."""
    axis = np.abs(np.asarray(boundary.axis, dtype=np.int64))
    g = int(np.gcd.reduce(axis)) or 1
    return boundary.crystal, tuple(sorted(int(v) for v in axis // g)), boundary.kind


def comparable(a, b) -> bool:
    """Whether a ranking learnt on boundary ``a`` may be used on ``b`` (see the module docstring)."""
    return _family(a) == _family(b)


def family_name(boundary) -> str:
    """'Cu [001] tilt': the family a comparable boundary belongs to, for messages."""
    crystal, axis, kind = _family(boundary)
    return f"{crystal} [{''.join(str(v) for v in axis)}] {kind}"


class ScreeningModel:
    """A regressor from unrelaxed-candidate descriptors to γ, trained on searched boundaries
    (``trained_on``: their :class:`GbBoundary`, to tell which boundaries it may rank)."""

    def __init__(self, n_estimators: int = 300, max_depth: int = 3, seed: int = 0):
        from sklearn.ensemble import GradientBoostingRegressor  # noqa: PLC0415

        self.regressor = GradientBoostingRegressor(n_estimators=n_estimators, max_depth=max_depth,
                                                   learning_rate=0.05, subsample=0.8,
                                                   random_state=seed)
        self.trained = False
        self.trained_on: list = []

    def fit(self, candidate_sets: Sequence[CandidateSet], gammas: Sequence[np.ndarray],
            a: Optional[float] = None, progress: Optional[ProgressFn] = None,
            cancel: Optional[CancelFn] = None) -> "ScreeningModel":
        """Train on boundaries with known γ (arrays aligned with each set; NaN = not relaxed)."""
        require(len(candidate_sets) == len(gammas) and len(candidate_sets) >= 1, "gammas",
                "give one γ array per candidate set, for at least one boundary")
        xs, ys = [], []
        for cs, g in zip(candidate_sets, gammas):
            g = np.asarray(g, dtype=float)
            require(g.shape == (len(cs),), "gammas",
                    f"{cs.boundary.name}: {g.shape[0]} values for {len(cs)} candidates")
            known = np.flatnonzero(np.isfinite(g))
            require(known.size >= 2, "gammas", f"{cs.boundary.name}: fewer than two relaxed candidates")
            x = descriptors(cs, a, progress, cancel, known)
            xs.append(x)
            ys.append(g[known] - np.median(g[known]))
        self.regressor.fit(np.concatenate(xs), np.concatenate(ys))
        self.trained = True
        self.trained_on = [cs.boundary for cs in candidate_sets]
        return self

    def check_comparable(self, boundary) -> None:
        """Raise :class:`ParameterError` if no training boundary is comparable with ``boundary``:
        across axis or kind the ranking was worse than chance, and nothing would say so."""
        require(any(comparable(t, boundary) for t in self.trained_on), "screening_model",
                f"the screening model learnt from {', '.join(t.name for t in self.trained_on)}; "
                f"{boundary.name} is another family (crystal, rotation axis or kind), where "
                f"rankings were measured worse than chance: train on {family_name(boundary)} "
                "boundaries, or search in random order")

    def predict(self, candidates: CandidateSet, a: Optional[float] = None,
                progress: Optional[ProgressFn] = None, cancel: Optional[CancelFn] = None) -> np.ndarray:
        """Predicted γ relative to the boundary's typical candidate (J/m²)."""
        require(self.trained, "screening_model", "train the model (fit) before screening")
        return self.regressor.predict(descriptors(candidates, a, progress, cancel))

    def rank(self, candidates: CandidateSet, a: Optional[float] = None,
             progress: Optional[ProgressFn] = None, cancel: Optional[CancelFn] = None) -> np.ndarray:
        """Candidate indices, most promising first."""
        return np.argsort(self.predict(candidates, a, progress, cancel), kind="stable")


__all__ = ["FEATURE_NAMES", "ScreeningModel", "candidate_descriptors", "comparable", "descriptors",
           "family_name"]

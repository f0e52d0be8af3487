"""Interpretable per-site features: coordination, bond lengths and angles, smallest ring.

Bonds are the project's (element-pair cutoffs from :func:`amorpha.engine.bonds.bond_cutoffs`,
overridable). For each centre, in column order:

* ``coordination``: number of bonds;
* ``coordination[X]``: bonds to element X, for each X of ``elements`` (default: every element of
  the structure, by atomic number);
* ``bond length mean/std (Å)`` over the centre's bonds;
* ``bond angle mean/std (deg)`` over every pair of the centre's bonds (the angle at the centre);
* ``smallest ring`` (only with ``rings=True``): the size of the smallest ring through the site
  (:func:`amorpha.engine.order.rings.compute_rings`, primitive rings by default, counted in
  network nodes or in atoms of ``ring_count_element``), 0 if none up to ``ring_max_size``.

Statistics without data (no bond, or fewer than two for angles) are 0; standard deviations are
over the population (ddof = 0). Ring search is the costly part, so it is off by default.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional

import numpy as np
from numba import njit

from ..bonds import bonds
from ..elements import number, symbol
from ..errors import ParameterError, require
from ..neighbors import pair_vector
from ..tasks import CancelFn, ProgressFn, report, sub_progress
from . import settings as S

KIND = "local"
#: Ring definitions the features accept (strong rings are not available in the engine).
RING_DEFINITIONS = ("primitive", "king", "guttman")


@dataclass(frozen=True)
class LocalFeatureParams:
    """Which bonds count and which optional features to add.

    ``cutoffs`` overrides bond cutoffs per element pair (Å; 0 or None: never bonded), as a dict
    ``{("Si", "O"): 2.0}`` or triples; ``elements`` fixes the per-element coordination columns
    (so that structures with different elements give the same columns).
    """

    cutoffs: tuple = ()
    elements: tuple = ()
    rings: bool = False
    ring_max_size: int = 24
    ring_definition: str = "primitive"
    ring_count_element: Optional[str] = None
    periodic: bool = True

    def __post_init__(self):
        try:
            object.__setattr__(self, "cutoffs", S.normalise_cutoffs(self.cutoffs))
        except (TypeError, ValueError, IndexError) as exc:
            if isinstance(exc, ParameterError):
                raise ParameterError("cutoffs", exc.reason) from None
            raise ParameterError("cutoffs", "give a dict {(element, element): Å} or "
                                 "(element, element, Å) triples") from None
        object.__setattr__(self, "elements", S.normalise_species(self.elements))

    def validate(self) -> None:
        S.check_cutoffs(self.cutoffs)
        if self.elements:
            S.check_species(self.elements, "elements")
        require(isinstance(self.rings, (bool, np.bool_)), "rings", "must be True or False")
        S.check_int(self.ring_max_size, "ring_max_size", 3, 64)
        require(self.ring_definition in RING_DEFINITIONS, "ring_definition",
                f"must be one of {', '.join(RING_DEFINITIONS)}, got {self.ring_definition!r}")
        if self.ring_count_element is not None:
            S.as_symbol(self.ring_count_element, "ring_count_element")
        require(isinstance(self.periodic, (bool, np.bool_)), "periodic", "must be True or False")

    def cutoff_overrides(self) -> dict:
        return {(a, b): v for a, b, v in self.cutoffs}

    def to_dict(self) -> dict:
        return {
            "kind": KIND, "cutoffs": [list(c) for c in self.cutoffs],
            "elements": list(self.elements),
            "rings": self.rings, "ring_max_size": self.ring_max_size,
            "ring_definition": self.ring_definition, "ring_count_element": self.ring_count_element,
            "periodic": self.periodic,
        }

    @classmethod
    def from_dict(cls, d: dict) -> "LocalFeatureParams":
        d = {k: v for k, v in d.items() if k != "kind"}
        d["cutoffs"] = tuple(tuple(c) for c in d.get("cutoffs", ()))
        d["elements"] = tuple(d.get("elements", ()))
        return cls(**d)


def _column_elements(params: LocalFeatureParams, atoms=None) -> tuple:
    if params.elements:
        return tuple(symbol(z) for z in sorted(number(e) for e in params.elements))
    if atoms is None:
        raise ParameterError("elements", "the coordination columns follow the structure's "
                             "elements: pass the structure, or fix them with elements=(…)")
    present = np.flatnonzero(np.bincount(np.asarray(atoms.numbers, np.int64))) if len(atoms) else []
    return tuple(symbol(z) for z in present)


def feature_names(params: LocalFeatureParams, atoms=None) -> list[str]:
    """Column names of :func:`local_features` (the per-element columns need ``atoms`` unless
    ``params.elements`` is given)."""
    names = ["coordination"] + [f"coordination[{e}]" for e in _column_elements(params, atoms)]
    names += ["bond length mean (Å)", "bond length std (Å)", "bond angle mean (deg)",
              "bond angle std (deg)"]
    if params.rings:
        unit = f"{params.ring_count_element} atoms" if params.ring_count_element else "atoms"
        names.append(f"smallest ring ({unit})")
    return names


# --------------------------------------------------------------------------- kernel


@njit(nogil=True, cache=True)
def _local_rows(lo, hi, centres, indptr, indices, shifts, pos, cell, column, n_elem, max_k, out):
    """Coordination, per-element coordination, bond length and angle statistics of each centre."""
    vec = np.empty((max_k, 3))
    length = np.empty(max_k)
    for row in range(lo, hi):
        i = centres[row]
        o = out[row]
        k = 0
        s1 = 0.0
        for p in range(indptr[i], indptr[i + 1]):
            j = indices[p]
            dx, dy, dz = pair_vector(i, j, p, pos, cell, shifts)
            r = math.sqrt(dx * dx + dy * dy + dz * dz)
            vec[k, 0] = dx
            vec[k, 1] = dy
            vec[k, 2] = dz
            length[k] = r
            s1 += r
            c = column[j]
            if c >= 0:
                o[1 + c] += 1.0
            k += 1
        o[0] = k
        base = 1 + n_elem
        if k > 0:
            mean = s1 / k
            var = 0.0
            for a in range(k):
                var += (length[a] - mean) ** 2
            o[base] = mean
            o[base + 1] = math.sqrt(var / k)
        if k > 1:
            n_ang = 0
            a1 = 0.0
            for a in range(k):
                for b in range(a):
                    dot = vec[a, 0] * vec[b, 0] + vec[a, 1] * vec[b, 1] + vec[a, 2] * vec[b, 2]
                    cos_t = min(1.0, max(-1.0, dot / (length[a] * length[b])))
                    a1 += math.degrees(math.acos(cos_t))
                    n_ang += 1
            mean = a1 / n_ang
            var = 0.0
            for a in range(k):  # second pass: the variance without cancellation
                for b in range(a):
                    dot = vec[a, 0] * vec[b, 0] + vec[a, 1] * vec[b, 1] + vec[a, 2] * vec[b, 2]
                    cos_t = min(1.0, max(-1.0, dot / (length[a] * length[b])))
                    var += (math.degrees(math.acos(cos_t)) - mean) ** 2
            o[base + 2] = mean
            o[base + 3] = math.sqrt(var / n_ang)


# --------------------------------------------------------------------------- driver


def local_features(atoms, params: LocalFeatureParams = LocalFeatureParams(), centers=None,
                   progress: Optional[ProgressFn] = None,
                   cancel: Optional[CancelFn] = None) -> np.ndarray:
    """Per-site features of each centre (atom indices; all if None); columns as in
    :func:`feature_names`."""
    params.validate()
    centres = S.centre_indices(atoms, centers)
    view = S.search_view(atoms, bool(params.periodic))
    elements = _column_elements(params, atoms)
    numbers = np.asarray(atoms.numbers, np.int64)
    lookup = np.full(max(int(numbers.max()) if len(numbers) else 0,
                         max((number(e) for e in elements), default=0)) + 1, -1, np.int64)
    for c, e in enumerate(elements):
        lookup[number(e)] = c
    column = lookup[numbers]
    names = feature_names(params, atoms)
    out = np.zeros((len(centres), len(names)))
    share = 0.3 if params.rings else 0.9
    try:
        bonded = bonds(view, params.cutoff_overrides() or None,
                       progress=sub_progress(progress, 0.0, 0.1), cancel=cancel)
    except ValueError as exc:
        raise ParameterError("cutoffs" if "cutoff" in str(exc) else "structure", str(exc)) from None
    hood = S.Neighbourhood(view, bonded)
    max_k = max(S.max_row(hood.indptr, centres), 1)
    row_cost = 2e-8 * (1 + hood.mean_neighbours() ** 2)

    def kernel(lo, hi):
        _local_rows(lo, hi, centres, hood.indptr, hood.indices, hood.shifts, hood.positions,
                    hood.cell, column, len(elements), max_k, out)

    S.run_rows(kernel, len(centres), row_cost, progress, cancel, "local features", (0.1, share))
    if params.rings:
        from ..order.rings import RingParams, compute_rings

        rings = compute_rings(
            view,
            RingParams(max_size=int(params.ring_max_size), definition=params.ring_definition,
                       cutoffs=params.cutoff_overrides() or None,
                       count_element=params.ring_count_element),
            neighbors=bonded, progress=sub_progress(progress, share, 1.0), cancel=cancel)
        out[:, -1] = rings.ring_min_size[centres]
    report(progress, 1.0, "local features done")
    return out


#: The common name of the entry point.
compute = local_features


def warm_up() -> None:
    """Compile the local-feature kernel on a water molecule."""
    from ase import Atoms

    atoms = Atoms("OH2", positions=[(0, 0, 0), (0.96, 0, 0), (-0.24, 0.93, 0)])
    local_features(atoms, LocalFeatureParams(periodic=False))


def bonded_counts(atoms, element: str = "", cutoffs=(), centers=None, periodic: bool = True,
                  progress: Optional[ProgressFn] = None, cancel: Optional[CancelFn] = None) -> np.ndarray:
    """Each centre's number of bonded ``element`` neighbours ("" = all bonded neighbours), as
    integers: the coordination columns of :func:`local_features`."""
    elements = tuple(sorted(set(atoms.get_chemical_symbols()) | ({element} - {""})))
    params = LocalFeatureParams(cutoffs=cutoffs, elements=elements, periodic=periodic)
    column = feature_names(params, atoms).index(f"coordination[{element}]") if element else 0
    values = local_features(atoms, params, centers, progress=progress, cancel=cancel)
    return np.rint(values[:, column]).astype(np.int64)

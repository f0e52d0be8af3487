"""Bonds (a neighbour list cut per element pair) and coordination numbers.

A bond is a pair closer than its element pair's cutoff: by default the sum of covalent radii
times :data:`~amorpha.engine.elements.BOND_TOLERANCE`, overridable per pair. One neighbour list
with the longest cutoff serves every pair; a (Zmax+1)x(Zmax+1) table then filters all pairs at
once instead of looping over element pairs.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Mapping, Optional, Union

import numpy as np
from numba import njit

from .elements import ANIONS, BOND_TOLERANCE, covalent_radius, elements_present, is_metal, number, symbol
from .neighbors import NeighborList, neighbor_list
from .tasks import CancelFn, ProgressFn, chunked

Element = Union[str, int]
#: Per element pair cutoffs in Å; 0 or None means "never bonded".
Cutoffs = Mapping[tuple[Element, Element], Optional[float]]


def _z(element: Element) -> int:
    return number(element) if isinstance(element, str) else int(element)


def bond_cutoffs(numbers, overrides: Optional[Cutoffs] = None) -> dict[tuple[int, int], float]:
    """Cutoff for every pair of elements present, keyed ``(Za, Zb)`` with ``Za <= Zb``.

    Defaults are ``(r_a + r_b) * BOND_TOLERANCE``, except that two metals are not bonded where
    the structure has anions (:data:`~amorpha.engine.elements.ANIONS`): covalent radii would bond
    the cations of many oxides (Ti–Ti at 2.96 Å in rutile, Al–Al at 2.65 Å in corundum, Mg–Mg at
    2.98 Å in MgO), which no crystal viewer draws and which make a Ti octahedron 8-fold.
    ``overrides`` replaces pairs, keyed by symbols or numbers in either order, e.g.
    ``{("Si", "O"): 2.0, ("O", "O"): 0}``. A value of 0 or None switches a pair off, so "Si–O
    bonds only" is the defaults with Si–Si and O–O set to 0.
    """
    present = elements_present(numbers)
    radii = dict(zip(present.tolist(), covalent_radius(present).tolist()))
    ionic = bool(ANIONS.intersection(radii))
    table = {
        (a, b): 0.0 if ionic and is_metal(a) and is_metal(b) else (radii[a] + radii[b]) * BOND_TOLERANCE
        for ai, a in enumerate(radii)
        for b in list(radii)[ai:]
    }
    for (ea, eb), value in (overrides or {}).items():
        za, zb = _z(ea), _z(eb)
        value = 0.0 if value is None else float(value)
        if not np.isfinite(value) or value < 0:
            raise ValueError(f"bond cutoff for {symbol(za)}–{symbol(zb)} must be >= 0 Å, got {value}")
        a, b = sorted((za, zb))
        table[(a, b)] = value
    return table


def changed_cutoffs(overrides: Cutoffs, elements) -> dict[str, float]:
    """The pairs of ``elements`` (atomic numbers) whose cutoff in ``overrides`` (a bonds table)
    differs from :func:`bond_cutoffs`' default by more than a table's 0.01 Å rounding, as
    ``{"Ti-Ti": 0.0}``: what a calculator that cuts clusters must be told to bond as the window
    does (Ti–Ti at 2.96 Å in rutile is no bond, though covalent radii say it is), while a table
    left as it was changes nothing."""
    present = {int(z) for z in elements}
    defaults = bond_cutoffs(np.array(sorted(present), dtype=np.int64))
    changed = {}
    for (a, b), value in overrides.items():
        za, zb = sorted((_z(a), _z(b)))
        value = 0.0 if value is None else float(value)
        if za in present and zb in present and abs(value - defaults[(za, zb)]) > 0.005:
            changed[f"{symbol(za)}-{symbol(zb)}"] = value
    return changed


#: A cutoff longer than this times the sum of the pair's covalent radii bonds second neighbours:
#: the second shell starts at about 1.4-1.7 times the bond length (fcc √2, a tetrahedral network
#: 1.63, Si–Si over Si–O in silica 1.9), so no first shell reaches that far. The defaults
#: (:data:`~amorpha.engine.elements.BOND_TOLERANCE`, 1.2) stay below it.
LONG_BOND_FACTOR = 1.5
#: The largest first shell of close packing: a mean coordination above it, after cutoffs were
#: lengthened, counts more than the nearest neighbours as bonds.
CLOSE_PACKED_CN = 12


def pair_name(a, b, sep: str = "–") -> str:
    """"Si–O" for two elements (atomic numbers or symbols): the heavier first, as the Bonds table
    names pairs; ``sep`` "-" for keys of files and results (:func:`named_cutoffs`)."""
    za, zb = (int(z) if isinstance(z, (int, np.integer)) else number(z) for z in (a, b))
    return f"{symbol(max(za, zb))}{sep}{symbol(min(za, zb))}"


def long_cutoffs(table: Mapping[tuple[int, int], float]) -> list[tuple[int, int, float, float]]:
    """The pairs of a cutoff table (:func:`bond_cutoffs`) bonded beyond
    :data:`LONG_BOND_FACTOR` times their covalent bond length, as (Za, Zb, cutoff, covalent
    length), longest first relative to that length."""
    out = []
    for (a, b), value in table.items():
        length = float(covalent_radius(np.array([a, b])).sum())
        if value and value > LONG_BOND_FACTOR * length:
            out.append((a, b, float(value), length))
    return sorted(out, key=lambda item: -item[2] / item[3])


def long_cutoffs_text(long: list[tuple[int, int, float, float]]) -> str:
    """"the Si–O cutoff of 10 Å (5.6× its covalent bond length, 1.77 Å)" for :func:`long_cutoffs`."""
    return " and ".join(f"the {pair_name(a, b)} cutoff of {value:g} Å ({value / length:.1f}× its covalent "
                        f"bond length, {length:.2f} Å)" for a, b, value, length in long)


def named_cutoffs(table: Mapping[tuple[int, int], float]) -> dict[str, float]:
    """A cutoff table (:func:`bond_cutoffs`) as plain JSON, ``{"Si-O": 2.0, "Si-Si": 0.0}``
    (heavier element first, as the Bonds table lists them; 0: no bond), for results and files
    that must say which bonds they were computed with."""
    order = sorted(table, key=lambda pair: (-max(pair), -min(pair)))
    return {pair_name(a, b, "-"): float(table[(a, b)] or 0.0) for a, b in order}


def cutoffs_text(named: Mapping[str, float]) -> str:
    """``"Si–O 2.12 Å, Si–Si off, O–O off"`` for :func:`named_cutoffs`."""
    return ", ".join(f"{pair.replace('-', '–')} {f'{value:g} Å' if value else 'off'}"
                     for pair, value in named.items())


def cutoff_warnings(numbers, table: Mapping[tuple[int, int], float], coordination) -> list[str]:
    """What is implausible about a cutoff table (:func:`bond_cutoffs`) and the coordination it
    gives, in words for the Bonds box: pairs bonded beyond :data:`LONG_BOND_FACTOR` times their
    covalent bond length, and elements whose mean coordination exceeds :data:`CLOSE_PACKED_CN`
    through a cutoff made longer than its default (a metallic glass's Zr has ~15 neighbours
    under the defaults, which is no mistake of the user's). Empty when all is plausible. A 10 Å
    Si–O cutoff gave 61,151 bonds without a word, then a ring search blamed the cell size."""
    numbers = np.asarray(numbers, dtype=np.int64)
    coordination = np.asarray(coordination)
    notes = [f"{pair_name(a, b)} cutoff {value:g} Å is {value / length:.1f}× the covalent bond length "
             f"({length:.2f} Å): it bonds second neighbours" for a, b, value, length in long_cutoffs(table)]
    defaults = bond_cutoffs(numbers)
    for z in elements_present(numbers).tolist():
        mean = float(coordination[numbers == z].mean()) if len(coordination) else 0.0
        lengthened = [pair for pair, value in table.items()
                      if z in pair and value > defaults.get(pair, 0.0) + 0.005]
        if mean > CLOSE_PACKED_CN and lengthened:
            notes.append(f"mean coordination of {symbol(z)} is {mean:.3g}, more than close packing's "
                         f"{CLOSE_PACKED_CN}")
    return notes


def _cutoff_table(cutoffs: Mapping[tuple[int, int], float], zmax: int) -> np.ndarray:
    """Symmetric (zmax+1, zmax+1) array of cutoffs, 0 for pairs not listed."""
    table = np.zeros((zmax + 1, zmax + 1), dtype=np.float64)
    for (a, b), value in cutoffs.items():
        if a <= zmax and b <= zmax:
            table[a, b] = table[b, a] = value
    return table


def bond_table(numbers, cutoffs: Optional[Cutoffs] = None) -> tuple[dict, np.ndarray]:
    """The bond cutoffs of the element pairs present (:func:`bond_cutoffs`, ``cutoffs`` its
    overrides) as a dict and as a (Z+1, Z+1) array indexed by atomic numbers."""
    numbers = np.asarray(numbers, dtype=np.int64)
    table = bond_cutoffs(numbers, cutoffs)
    return table, _cutoff_table(table, int(numbers.max(initial=0)))


def check_reach(neighbors: NeighborList, n_atoms: int, table: Mapping[tuple[int, int], float]) -> None:
    """Refuse a neighbour list of other atoms, or one shorter than the longest bond cutoff."""
    if neighbors.n_atoms != n_atoms:
        raise ValueError(f"the neighbour list is for {neighbors.n_atoms} atoms, the structure has {n_atoms}")
    longest = max(table.values(), default=0.0)
    if neighbors.cutoff < longest:
        (a, b), _ = max(table.items(), key=lambda kv: kv[1])
        raise ValueError(
            f"the neighbour list's cutoff {neighbors.cutoff:g} Å is shorter than the "
            f"{symbol(a)}–{symbol(b)} bond cutoff {longest:g} Å; rebuild it with a cutoff "
            f">= {longest:g} Å"
        )


#: Pairs per chunk of the bond test on a given list, Cancel checked between chunks.
FILTER_CHUNK = 1 << 21


def bonds(
    atoms,
    cutoffs: Optional[Cutoffs] = None,
    neighbors: Optional[NeighborList] = None,
    progress: Optional[ProgressFn] = None,
    cancel: Optional[CancelFn] = None,
) -> NeighborList:
    """The bonded pairs of ``atoms`` as a :class:`NeighborList` (both directions).

    ``cutoffs`` are overrides as in :func:`bond_cutoffs`. A given ``neighbors`` list is reused
    (filtered in chunks that Cancel can stop between, not rebuilt; returned as it is when every
    pair is a bond) and must reach the longest bond cutoff.
    """
    numbers = np.asarray(atoms.numbers, dtype=np.int64)
    table_dict, table = bond_table(numbers, cutoffs)
    if neighbors is not None:
        check_reach(neighbors, len(atoms), table_dict)
    elif max(table_dict.values(), default=0.0) <= 0.0:
        return NeighborList.empty(len(atoms), 0.0)
    else:
        neighbors = neighbor_list(atoms, max(table_dict.values()), progress=progress, cancel=cancel)
    if neighbors.n_pairs == 0:
        return neighbors
    i, j = neighbors.pairs()
    keep = np.empty(neighbors.n_pairs, bool)
    for lo, hi in chunked(neighbors.n_pairs, FILTER_CHUNK, cancel=cancel):
        keep[lo:hi] = neighbors.distances[lo:hi] < table[numbers[i[lo:hi]], numbers[j[lo:hi]]]
    return neighbors if keep.all() else neighbors.filter(keep)


@dataclass(frozen=True)
class CoordinationParams:
    """Bond cutoff overrides (see :func:`bond_cutoffs`); None means covalent-radius defaults."""

    cutoffs: Optional[Cutoffs] = None


@dataclass(frozen=True)
class CoordinationResult:
    """Number of bonded neighbours of each atom."""

    coordination: np.ndarray  # int64 (n,)
    numbers: np.ndarray  # int64 (n,), kept so the result can be summarised per element
    cutoffs: dict[tuple[int, int], float]

    def to_arrays(self) -> dict[str, np.ndarray]:
        return {"coordination": self.coordination}

    def to_dict(self) -> dict:
        """Plain summary for export: cutoffs used, and per element the histogram and mean CN."""
        per_element = {}
        for z in elements_present(self.numbers).tolist():
            cn = self.coordination[self.numbers == z]
            per_element[symbol(z)] = {
                "count": int(len(cn)),
                "mean": float(cn.mean()),
                "histogram": {int(k): int(v) for k, v in sorted(Counter(cn.tolist()).items())},
            }
        return {
            "cutoffs": {f"{symbol(a)}-{symbol(b)}": float(c) for (a, b), c in self.cutoffs.items()},
            "elements": per_element,
        }


def compute_coordination(
    atoms,
    params: CoordinationParams = CoordinationParams(),
    neighbors: Optional[NeighborList] = None,
    progress: Optional[ProgressFn] = None,
    cancel: Optional[CancelFn] = None,
) -> CoordinationResult:
    """Coordination number of every atom under the bond cutoffs of ``params``."""
    numbers = np.asarray(atoms.numbers, dtype=np.int64)
    bonded = bonds(atoms, params.cutoffs, neighbors=neighbors, progress=progress, cancel=cancel)
    return CoordinationResult(bonded.counts(), numbers, bond_cutoffs(numbers, params.cutoffs))


@njit(nogil=True, cache=True)
def _pair_type_counts(indptr, indices, numbers, zmax):
    counts = np.zeros((zmax + 1, zmax + 1), np.int64)
    for i in range(indptr.shape[0] - 1):
        for p in range(indptr[i], indptr[i + 1]):
            counts[numbers[i], numbers[indices[p]]] += 1
    return counts


def bond_counts(atoms, bond_list: NeighborList) -> dict[tuple[int, int], int]:
    """Number of bonds per element pair ``(Za, Zb)``, ``Za <= Zb`` (each bond once)."""
    numbers = np.asarray(atoms.numbers, dtype=np.int64)
    zmax = int(numbers.max()) if len(numbers) else 0
    table = _pair_type_counts(bond_list.indptr, bond_list.indices, numbers, zmax)
    present = elements_present(numbers).tolist()
    return {
        (a, b): int(table[a, b]) if a != b else int(table[a, a]) // 2  # rows list bonds twice
        for k, a in enumerate(present)
        for b in present[k:]
    }


def warm_up() -> None:
    """Compile this module's kernel on a tiny bond list."""
    from .build.crystals import alpha_quartz

    atoms = alpha_quartz()
    bond_counts(atoms, bonds(atoms))

"""A finite, H-capped cluster around one absorbing atom, cut from a periodic (or open) model.

Molecular codes such as xTB need a closed-shell molecule, so a site's environment is cut out:

1. every atom within ``radius`` of the absorber, over all periodic images, unwrapped so the
   cluster is contiguous and the absorber sits at the origin;
2. completion: every atom of that sphere that is *not* a terminal element (H, N, O, S, Se, Te,
   halogens; :data:`TERMINAL`) gets all of its bonded terminal neighbours. A boundary Si thus
   keeps its whole SiO4 tetrahedron (the cluster ends in Si–O–H, silanol, as silica clusters
   usually do) instead of an Si with a missing O; a bond between two cations (Si–Si) is not
   followed, it is capped (step 4), so a cation network such as a-Si does not grow;
3. an outside atom bonded to two or more cluster atoms is taken in as well: capping both bonds
   would put two H about 1 Å apart, pointing at the same spot; so is the partner of a model H
   (a cap on an H would make H2); this is repeated (:data:`MAX_CLOSURE_PASSES`). With the
   ``"complete"`` closure a cation taken in is completed like those of the sphere, which is
   right for corner-sharing networks (silica) but, where polyhedra share edges, takes in shell
   after shell (stishovite: 815 atoms from 3.5 Å). The ``"cap"`` closure keeps a cation taken
   in with only its bonds into the cluster and caps the others with H, and repeats until no
   outside atom is bonded twice (:data:`MAX_CAP_PASSES`). Stishovite's Si K (full core hole,
   -5..25 eV) then needs 59 atoms at 3 Å (cosine 0.937 with the periodic cell's once aligned)
   and 185 at 4.5 Å (0.961), where α-quartz's complete clusters reach 0.940 at 3.5 Å and 0.981
   at 5 Å. Over -10..60 eV, 3-4 Å: stishovite O K 0.86-0.88, rutile O K 0.94-0.96, rutile Ti K
   0.70-0.93 (Ti–Ti unbonded), where α-quartz's complete 3.5-5 Å clusters reach Si K 0.91-0.94
   and O K 0.80-0.88: the compact cluster is as close to the cell as silica's own;
4. every remaining bond from a cluster atom to an atom outside is replaced by an H on that bond,
   at the X–H length of :func:`xh_length` (O–H 0.96 Å, Si–H 1.48 Å). For an oxide this makes
   every boundary O a silanol O–H and every cut Si–Si bond a Si–H: no atom is left with fewer
   bonds than it has in the model, so the neutral cluster is closed-shell unless the model
   itself has a dangling bond (then the electron count is odd and tblite's ``uhf`` is 1).

Bonds are the project's usual ones (:func:`amorpha.engine.bonds.bonds`, covalent radii times a
tolerance, overridable per pair; the window passes the pairs changed in its Structure panel), so
capping follows what the rest of the window calls a bond.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Iterable, Optional

import numpy as np
from ase import Atoms

from ..bonds import Cutoffs, bonds
from ..elements import ANIONS, covalent_radius, number, symbol
from ..errors import ParameterError, require
from ..neighbors import NeighborList

#: Elements that end a cluster (capped with H) rather than being completed: the anions and H.
TERMINAL = ANIONS | {number("H")}
#: Passes of "take in outside atoms bonded to two or more cluster atoms" (the complete closure;
#: the cap closure, which adds no shells, stops when none is left, after at most MAX_CAP_PASSES).
MAX_CLOSURE_PASSES = 3
MAX_CAP_PASSES = 10
#: How atoms taken in by the closure are treated (module docstring, step 3).
CLOSURES = ("complete", "cap")

#: Typical X–H bond lengths in Å (small molecules: H2, B2H6, CH4, NH3, H2O, HF, AlH3, SiH4,
#: PH3, H2S, HCl, GeH4, AsH3, H2Se, HBr). Other elements use the sum of covalent radii.
_XH_LENGTH = {
    "H": 0.74, "B": 1.19, "C": 1.09, "N": 1.01, "O": 0.96, "F": 0.92, "Al": 1.58, "Si": 1.48,
    "P": 1.42, "S": 1.34, "Cl": 1.27, "Ge": 1.53, "As": 1.52, "Se": 1.46, "Br": 1.41,
}


def xh_length(z: int) -> float:
    """Length in Å of a bond from element ``z`` to a capping H."""
    s = symbol(z)
    if s in _XH_LENGTH:
        return _XH_LENGTH[s]
    return float(covalent_radius(np.array([z]))[0] + covalent_radius(np.array([1]))[0])


@dataclass(frozen=True)
class Cluster:
    """A capped cluster, or a periodic cell (``lattice`` set: :func:`periodic_cell`); the
    absorber is atom 0, at the origin.

    ``model_indices[k]`` is the model atom that cluster atom ``k`` is (an image of), or -1 for a
    capping H; ``images[k]`` is the lattice shift of that image; ``capped[k]`` is, for a cap, the
    model atom whose bond it replaces (-1 otherwise).
    """

    atoms: Atoms
    model_indices: np.ndarray  # int64 (n,)
    images: np.ndarray  # int64 (n, 3)
    capped: np.ndarray  # int64 (n,)
    n_caps: int
    charge: int
    uhf: int
    radius: float
    absorber: int = 0
    #: the lattice vectors (Å, rows) of a periodic cell (:func:`periodic_cell`); None: a cluster
    lattice: Optional[np.ndarray] = None
    #: False when the closure (step 3) stopped at its last pass with outside atoms still bonded
    #: to two cluster atoms: the cluster would have grown on
    closed: bool = True

    @property
    def numbers(self) -> np.ndarray:
        return self.atoms.numbers

    @property
    def positions(self) -> np.ndarray:
        return self.atoms.positions

    @property
    def model_index(self) -> int:
        """Model index of the absorber."""
        return int(self.model_indices[self.absorber])

    def electrons(self) -> int:
        """Total electron count (all electrons; the parity decides ``uhf``)."""
        return int(self.atoms.numbers.sum()) - int(self.charge)


def _check(atoms, index: int, radius: float) -> int:
    n = len(atoms)
    require(n > 0, "atoms", "the model has no atoms")
    try:
        index = int(index)
    except (TypeError, ValueError):
        raise ParameterError("index", f"an atom index is an integer, got {index!r}") from None
    require(-n <= index < n, "index", f"atom {index} does not exist; the model has {n} atoms")
    require(np.isfinite(radius) and radius > 0, "cluster_radius",
            f"the cluster radius must be > 0 Å, got {radius:g}")
    return index % n


def _sphere(atoms, index: int, radius: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(model indices, lattice shifts, positions relative to the absorber) of all images within
    ``radius``, absorber first."""
    pos = np.asarray(atoms.positions, dtype=np.float64)
    d = pos - pos[index]
    pbc = np.asarray(atoms.pbc, dtype=bool)
    cell = np.asarray(atoms.cell.array, dtype=np.float64)
    if not pbc.any():
        keep = np.flatnonzero(np.einsum("ij,ij->i", d, d) <= radius * radius)
        shifts = np.zeros((len(keep), 3), np.int64)
        rel = d[keep]
    else:
        # Wrap each displacement to the minimum image, then try every image within reach.
        # The reach along axis k is radius / (spacing of the lattice planes normal to k).
        inv = np.linalg.inv(cell)
        frac = d @ inv
        base = np.where(pbc, -np.round(frac), 0.0).astype(np.int64)
        d = d + base @ cell
        spacing = 1.0 / np.linalg.norm(inv, axis=0)
        reach = np.where(pbc, np.ceil(radius / spacing + 0.5), 0).astype(np.int64)
        grid = np.stack(np.meshgrid(*[np.arange(-r, r + 1) for r in reach], indexing="ij"), -1)
        grid = grid.reshape(-1, 3)
        offsets = grid @ cell
        keep_i, keep_s, keep_r = [], [], []
        for g, off in zip(grid, offsets):
            v = d + off
            hit = np.flatnonzero(np.einsum("ij,ij->i", v, v) <= radius * radius)
            if len(hit):
                keep_i.append(hit)
                keep_s.append(base[hit] + g)
                keep_r.append(v[hit])
        keep = np.concatenate(keep_i)
        shifts = np.concatenate(keep_s)
        rel = np.concatenate(keep_r)
    r2 = np.einsum("ij,ij->i", rel, rel)
    order = np.lexsort((keep, r2))  # absorber (r = 0) first, then by distance
    keep, shifts, rel = keep[order], shifts[order], rel[order]
    require(keep[0] == index and not shifts[0].any(), "atoms",
            f"atom {index} has another atom (or its own image) on top of it")
    return keep.astype(np.int64), shifts.astype(np.int64), rel


def build_cluster(
    atoms,
    index: int,
    radius: float,
    cutoffs: Optional[Cutoffs] = None,
    bond_list: Optional[NeighborList] = None,
    terminal: Optional[Iterable[int]] = None,
    closure: str = "complete",
) -> Cluster:
    """The H-capped cluster of all atoms within ``radius`` Å of atom ``index`` (module docstring).

    ``terminal`` replaces :data:`TERMINAL` (atomic numbers of the elements that are capped, not
    completed). ``closure``: "complete" or "cap" (step 3). ``bond_list`` (from
    :func:`amorpha.engine.bonds.bonds`) is reused when given, so many sites of one model share
    one bond search; otherwise it is built with ``cutoffs``.
    """
    index = _check(atoms, index, radius)
    require(closure in CLOSURES, "closure", f"unknown closure {closure!r}; choose one of {', '.join(CLOSURES)}")
    passes = MAX_CLOSURE_PASSES if closure == "complete" else MAX_CAP_PASSES
    if bond_list is None:
        bond_list = bonds(atoms, cutoffs)
    elif bond_list.n_atoms != len(atoms):
        raise ParameterError("bond_list", f"it is for {bond_list.n_atoms} atoms, the model has {len(atoms)}")
    terminal_z = TERMINAL if terminal is None else frozenset(terminal)
    numbers = np.asarray(atoms.numbers, dtype=np.int64)
    pos = np.asarray(atoms.positions, dtype=np.float64)
    cell = np.asarray(atoms.cell.array, dtype=np.float64)
    origin = pos[index]

    idx, sh, _ = _sphere(atoms, index, radius)
    members: dict[tuple[int, int, int, int], int] = {}
    order: list[tuple[int, int, int, int]] = []

    def add(i: int, s) -> bool:
        key = (int(i), int(s[0]), int(s[1]), int(s[2]))
        if key in members:
            return False
        members[key] = len(order)
        order.append(key)
        return True

    def neighbours(key):
        i, s = key[0], np.array(key[1:], np.int64)
        lo, hi = bond_list.indptr[i], bond_list.indptr[i + 1]
        js = bond_list.indices[lo:hi]
        ss = bond_list.shifts[lo:hi] + s
        return [(int(j), int(a), int(b), int(c)) for j, (a, b, c) in zip(js, ss)]

    for i, s in zip(idx, sh):
        add(i, s)
    to_complete = [k for k in order if numbers[k[0]] not in terminal_z]
    closed = False
    for done in range(passes + 1):
        for key in to_complete:
            for nb in neighbours(key):
                if numbers[nb[0]] in terminal_z:
                    add(nb[0], nb[1:])
        # Outside atoms bonded to two or more cluster atoms, or to a model H (an H cap on an H
        # would make H2), are taken in.
        outside: dict[tuple, int] = {}
        for key in order:
            for nb in neighbours(key):
                if nb not in members:
                    outside[nb] = outside.get(nb, 0) + (2 if numbers[key[0]] == 1 else 1)
        multi = [k for k, c in outside.items() if c >= 2]
        closed = not multi
        if closed or done == passes:
            break
        for key in multi:
            add(key[0], key[1:])
        to_complete = [k for k in multi if numbers[k[0]] not in terminal_z] if closure == "complete" else []

    keys = np.array(order, dtype=np.int64).reshape(-1, 4)
    model = keys[:, 0]
    images = keys[:, 1:]
    rel = pos[model] + images @ cell - origin
    # Caps: one H per bond that leaves the cluster, on that bond.
    cap_pos, cap_from = [], []
    for k, key in enumerate(order):
        for nb in neighbours(key):
            if nb in members:
                continue
            target = pos[nb[0]] + np.array(nb[1:], np.float64) @ cell - origin
            v = target - rel[k]
            cap_pos.append(rel[k] + v * (xh_length(numbers[key[0]]) / np.linalg.norm(v)))
            cap_from.append(nb[0])
    n_caps = len(cap_pos)
    all_numbers = np.concatenate([numbers[model], np.ones(n_caps, np.int64)])
    all_pos = np.concatenate([rel, np.array(cap_pos, np.float64).reshape(-1, 3)])
    cluster_atoms = Atoms(numbers=all_numbers, positions=all_pos, pbc=False)
    electrons = int(all_numbers.sum())
    return Cluster(
        atoms=cluster_atoms,
        model_indices=np.concatenate([model, np.full(n_caps, -1, np.int64)]),
        images=np.concatenate([images, np.zeros((n_caps, 3), np.int64)]),
        capped=np.concatenate([np.full(len(model), -1, np.int64), np.array(cap_from, np.int64)]),
        n_caps=n_caps,
        charge=0,
        uhf=electrons % 2,
        radius=float(radius),
        closed=closed,
    )


def cation_bonds(atoms, cutoffs: Optional[Cutoffs] = None) -> list[str]:
    """Element pairs bonded in ``atoms`` (a cluster) of which neither ends a cluster
    (:data:`TERMINAL`), as "Ti–Ti": bonds that clusters follow and close over. Where such bonds
    are switched on in an oxide (Ti–Ti at 2.96 Å in rutile, Mg–Mg at 2.98 Å in MgO, bonds
    by covalent radii but not by :func:`~amorpha.engine.bonds.bond_cutoffs`' default), even
    the cap closure takes in thousands of atoms."""
    bond_list = bonds(atoms, cutoffs)
    i, j = bond_list.pairs()
    z = np.asarray(atoms.numbers, dtype=np.int64)
    inner = ~np.isin(z[i], list(TERMINAL)) & ~np.isin(z[j], list(TERMINAL))
    pairs = {tuple(sorted((int(a), int(b)))) for a, b in zip(z[i][inner], z[j][inner])}
    return [f"{symbol(a)}–{symbol(b)}" for a, b in sorted(pairs)]


def most_bonded(cluster: Cluster, atoms, bond_list: NeighborList) -> str:
    """The cation of ``cluster`` with the most bonds in the model ``atoms``, as "Sr bonded to
    12 O": what makes a cap closure take in shell after shell (a perovskite's A site, a
    modifier of a glass); "" without cations."""
    model = cluster.model_indices[cluster.model_indices >= 0]
    cations = np.unique(model[~np.isin(atoms.numbers[model], list(TERMINAL))])
    if not len(cations):
        return ""
    counts = bond_list.counts()[cations]
    k = int(cations[np.argmax(counts)])
    partners = Counter(symbol(z) for z in atoms.numbers[bond_list.neighbors_of(k)[0]])
    return f"{symbol(atoms.numbers[k])} bonded to " + ", ".join(f"{n} {e}" for e, n in partners.most_common())


def periodic_cell(atoms, index: int, min_width: float) -> Cluster:
    """The model's own cell, periodic in all three directions, repeated until its lattice planes
    lie ``min_width`` Å apart in every direction (so a core hole on the absorber is that far from
    its own periodic images), with the absorber as atom 0 at the origin: where polyhedra share
    edges (MgO, rutile, stishovite) a capped cluster grows to thousands of atoms, a cell does not.
    Each atom sits at its image nearest the absorber; ``images`` are the tiles of the repeat;
    ``radius`` is 0 and there are no caps."""
    require(np.isfinite(min_width) and min_width > 0, "cell_min_width",
            f"the cell's width must be > 0 Å, got {min_width:g}")
    index, n = _check(atoms, index, min_width), len(atoms)
    require(bool(np.all(atoms.pbc)) and atoms.cell.rank == 3, "geometry",
            "the periodic cell needs a model periodic in all three directions; use a cluster")
    cell = np.asarray(atoms.cell.array, dtype=np.float64)
    spacing = 1.0 / np.linalg.norm(np.linalg.inv(cell), axis=0)  # between lattice planes, per axis
    repeat = tuple(int(r) for r in np.maximum(1, np.ceil(min_width / spacing - 1e-9)))
    big = atoms.repeat(repeat)  # atom k is atom k % n of tile k // n (the original cell first)
    order = np.concatenate([[index], np.delete(np.arange(len(big)), index)])
    lattice = np.asarray(big.cell.array, dtype=np.float64)
    # every atom at its image nearest the absorber: equivalent sites then get one environment
    # (one cache entry), whichever of them is asked for
    frac = (big.positions[order] - big.positions[index]) @ np.linalg.inv(lattice)
    positions = (frac - np.round(frac)) @ lattice
    numbers = np.asarray(big.numbers, dtype=np.int64)[order]
    return Cluster(
        atoms=Atoms(numbers=numbers, positions=positions, cell=lattice, pbc=True),
        model_indices=order % n,
        images=np.stack(np.unravel_index(order // n, repeat), axis=1).astype(np.int64),
        capped=np.full(len(order), -1, np.int64),
        n_caps=0,
        charge=0,
        uhf=int(numbers.sum()) % 2,
        radius=0.0,
        lattice=lattice,
    )

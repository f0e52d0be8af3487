"""Minima that are one state: sites joined by a barrier too low for a hop rate of its own.

ν·exp(−E/kT) is transition-state theory, which holds for barriers of several kT; across a
barrier of a few meV (two grid minima 6·10⁻⁵ eV apart in a-SiO2) the atom does not hop but
rattles, and a KMC walker spends most of its hops flickering there (67–76 % of the hops of Cu
in the a-SiO2 example at 500–1000 K went over barriers below kT), which makes a run of a set
number of hops short and its D depend on the seed. Such minima are merged into one site, a
superbasin, as the mean-rate method (Puchala, Falk & Garikipati, J. Chem. Phys. 132, 134104
(2010)) and local-superbasin KMC (Fichthorn & Lin, J. Chem. Phys. 138, 164104 (2013)) do: inside
it the atom is at local equilibrium, so it leaves through a path from member m with the weight
exp(−(E_m − E_0)/kT)/Z of that member, Z = Σ_m exp(−(E_m − E_0)/kT), i.e. at the rate
ν·exp(−(E_saddle − E_0)/kT)/Z from the group's lowest minimum E_0. The network keeps the members'
energies (``substates``) and applies that Z at each temperature, so the occupation and the flux
through every saddle are those of the unmerged network.

A link merges its two minima when its barrier from the lower one (the higher of its two
directional barriers) is below ``merge_barrier``. A link that would close a loop around the
periodic cell is not merged (the group would be a flat channel through the cell, not a state);
its hop stays. Units: Å, eV.
"""
from __future__ import annotations

import dataclasses
from typing import Optional

import numpy as np

from ..errors import ParameterError
from .analysis import find_root
from .paths import Paths
from .sites import Sites


@dataclasses.dataclass(frozen=True)
class Merged:
    """Sites and paths after merging: ``sites`` are the groups (each at its lowest minimum),
    ``paths`` those between groups (renumbered, shifts between the groups' representatives),
    ``owner`` (n_minima,) the group of every minimum before, ``energies`` the minima's energies."""

    sites: Sites
    paths: Paths
    owner: np.ndarray
    energies: np.ndarray

    @property
    def n_merged(self) -> int:
        """Minima merged into another: minima before minus sites after."""
        return len(self.owner) - len(self.sites)


def _groups(n: int, edges, shifts, link, merge_barrier):
    """Union-find over the links below ``merge_barrier`` in ascending order, each minimum's
    periodic image relative to its group's root carried along; a link that would close a loop
    around the cell is skipped. Returns (root, image offset) of every minimum."""
    parent = np.arange(n)
    offset = np.zeros((n, 3), np.int64)
    size = np.ones(n, np.int64)
    oi = np.zeros(3, np.int64)
    oj = np.zeros(3, np.int64)
    for k in np.argsort(link, kind="stable"):
        if not link[k] < merge_barrier:
            break
        ri = find_root(parent, offset, edges[k, 0], oi)
        rj = find_root(parent, offset, edges[k, 1], oj)
        w = oi + shifts[k] - oj  # j's image reached through the link, relative to its own copy
        if ri == rj:
            continue  # w ≠ 0 would wind around the cell; w = 0 is a second link inside the group
        if size[ri] < size[rj]:
            ri, rj, w = rj, ri, -w
        parent[rj] = ri
        offset[rj] = w
        size[ri] += size[rj]
    roots = np.empty(n, np.int64)
    images = np.empty((n, 3), np.int64)
    for x in range(n):
        roots[x] = find_root(parent, offset, x, oi)
        images[x] = oi
    return roots, images


def merge_minima(sites: Sites, paths: Paths, merge_barrier: float) -> Merged:
    """Merge the minima joined by links below ``merge_barrier`` (eV); see the module's note.

    A merged site lies at its lowest minimum; the paths inside a group go, those between groups
    keep their bands, saddles and convergence, with the groups' numbers and image shifts."""
    n = len(sites)
    energies = np.asarray(sites.energies, float)
    if merge_barrier <= 0.0 or len(paths) == 0:
        return Merged(sites, _measured_from(paths, energies), np.arange(n), energies)
    link = np.asarray(paths.barriers, float).max(axis=1)
    roots, images = _groups(n, paths.edges, np.asarray(paths.shifts, np.int64), link,
                            merge_barrier)
    # the representative: the group's lowest minimum (sites come sorted by energy, so the first)
    order = np.lexsort((energies, roots))
    first = order[np.r_[True, roots[order][1:] != roots[order][:-1]]]
    first = first[np.argsort(energies[first], kind="stable")]  # sites stay sorted by energy
    group_of_root = np.full(n, -1, np.int64)
    group_of_root[roots[first]] = np.arange(len(first))
    owner = group_of_root[roots]
    images = images - images[first][owner]  # offsets from the representative's image
    i, j = paths.edges[:, 0], paths.edges[:, 1]
    shifts = np.asarray(paths.shifts, np.int64) + images[i] - images[j]
    between = (owner[i] != owner[j]) | shifts.any(axis=1)
    edges = np.column_stack([owner[i], owner[j]])[between]
    if not between.any():
        raise ParameterError("merge_barrier", f"all {n} minima are joined by barriers below "
                             f"{merge_barrier:g} eV into one state with no path out of it: lower "
                             "merge_barrier, or the landscape is flat (an almost empty host)")
    merged_paths = dataclasses.replace(
        paths, edges=edges, shifts=np.ascontiguousarray(shifts[between]),
        saddles=paths.saddles[between], images=paths.images[between],
        energies=paths.energies[between], converged=paths.converged[between])
    for array in (merged_paths.edges, merged_paths.shifts, merged_paths.saddles,
                  merged_paths.images, merged_paths.energies, merged_paths.converged):
        array.flags.writeable = False
    return Merged(sites.subset(first), _measured_from(merged_paths, energies[first]), owner,
                  energies)


def _measured_from(paths: Paths, site_energies: np.ndarray) -> Paths:
    """``paths`` with their barriers counted from their sites' (lowest) minima, as the hop
    network counts them, not from the band's ends (a merged member, or the same minimum in
    another kernel call's rounding)."""
    ends = np.ascontiguousarray(site_energies[paths.edges])
    ends.flags.writeable = False
    return dataclasses.replace(paths, site_energies=ends)


def site_to_site(sites: Sites, paths: Paths) -> np.ndarray:
    """(m, n + 2, 3) polylines (Å) of the paths from site to site: each band with the site it
    counts from in front (the image of its lowest minimum nearest the band's start) and the
    other site's image (as the hop's shift places it) behind. A band between plain sites starts
    and ends on them already (the added segments have no length); one from a merged member gets
    the step from the site's lowest minimum, so what is drawn joins the sites drawn."""
    cell = np.asarray(sites.cell, float)
    i, j = paths.edges[:, 0], paths.edges[:, 1]
    start = sites.positions[i]
    start = start + np.round((paths.images[:, 0] - start) @ np.linalg.inv(cell)) @ cell
    stop = start + sites.positions[j] + np.asarray(paths.shifts, float) @ cell - sites.positions[i]
    return np.concatenate([start[:, None], paths.images, stop[:, None]], axis=1)


def flat_landscape(network, spanning) -> Optional[str]:
    """A warning when the paths span the cell over barriers below the merge threshold (an
    almost empty host: the atom flies, it does not hop), else None."""
    below = getattr(network, "merge_barrier", 0.0) or 0.0
    if spanning is None or not spanning.barrier < below:
        return None
    return (f"The landscape is flat: the paths span the cell over barriers of at most "
            f"{spanning.barrier:.3g} eV, below the {below:g} eV from which a hop is a hop (an "
            "almost empty host, a smooth surface?). ν·exp(−E/kT) does not describe such motion, "
            "so a KMC D along them is not meaningful.")

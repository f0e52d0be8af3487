"""a-SiO2 and a-SiOx by decorating a continuous random network of Si with O.

a-SiO2 is the classic construction: a fourfold Si network (Wooten–Winer–Weaire, see
:mod:`.network`) with one O on every Si–Si bond is a corner-sharing network of SiO4 tetrahedra;
scaled to the glass density and relaxed with a Si/O valence force field (:func:`.keating.
silicon_oxygen`) it has the short-range order and ring statistics of silica glass.

a-SiOx (0 < x < 2) puts O on a fraction x/2 of the Si–Si bonds (there are 2 bonds per Si), chosen
two ways that microscopists argue about:

* ``random-bonding``: bonds chosen at random, so the number of O around a Si (its oxidation
  state Si0 … Si4+) is binomial, B(4, x/2);
* ``mixture`` (random mixture / interface-cluster model): bonds chosen where a smooth periodic
  random field is highest, so O fills SiO2-rich regions of about ``cluster_size`` and the rest
  stays Si; sub-oxides (Si1+ … Si3+) appear only where the regions meet.

Decorating a uniform Si network leaves the mixture strained: its SiO2 regions hold Si at a-Si's
density and want 2.2 times the volume, so at the mixture's density the Si–Si bonds near the
regions' boundaries stretch to 2.6–3.0 Å (in a 5000-atom model, 37 % of the Si had three or fewer
bonds shorter than 2.66 Å). ``interface_switches`` > 0 relaxes it the way Tu & Tersoff (PRL 84,
4393 (2000)) built Si/SiO2 interfaces: WWW bond switches of the decorated network (an O riding
on its bond can move to a neighbouring Si–Si bond), with the valence-force-field energy plus
their sub-oxide penalty (:data:`SUBOXIDE_PENALTY`), which keeps O in the SiO2 regions; without
the penalty the strain alone spreads O towards random bonding.

The density is that of an ideal mixture of a-Si (2.33 g/cm³) and a-SiO2 (2.20 g/cm³) volumes in
the proportions x/2 : 1 − x/2, unless given.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional

import numpy as np
from ase import Atoms
from ase.data import atomic_masses, atomic_numbers

from ..tasks import CancelFn, ProgressFn, check_cancel, report, sub_progress
from . import keating as K
from .common import require
from .network import NetworkParams, build_network, supercell_for, switch_bonds
from .network import estimated_seconds as network_seconds

FORMS = ("random-bonding", "mixture")
#: Random sideways offset (Å) of each new O from its bond's midpoint: at exactly 180° the
#: Si–O–Si bending force vanishes by symmetry, so a straight bridge would never bend.
O_OFFSET = 0.3
DENSITY_SI = 2.33  # g/cm³, a-Si
DENSITY_SIO2 = 2.20  # g/cm³, silica glass
_AMU_G = 1.66053906660e-24  # g per amu
_M_SI = float(atomic_masses[atomic_numbers["Si"]])
_M_O = float(atomic_masses[atomic_numbers["O"]])
#: Energy (eV) of a Si with 0..4 O neighbours beyond its bonds' energies: Tu & Tersoff's
#: sub-oxide penalty (PRL 84, 4393 (2000), from Hamann's first-principles energies). The values
#: are quoted from memory: a search of the stored literature found the paper and Bongiorno &
#: Pasquarello's check of the additive-penalty picture (PRB 62, R16326 (2000)) but not the table.
SUBOXIDE_PENALTY = (0.0, 0.5, 0.51, 0.24, 0.0)
#: kT (eV) of the interface switches, falling geometrically: hot enough to move O between
#: bonds, cold enough at the end to leave only strain-relieving switches.
INTERFACE_KT = (0.3, 0.05)
#: A switch may not add bonds outside 1.45–2.63 Å (Si–O 1.6, Si–Si up to 1.12 × 2.35) or
#: non-bonded pairs closer than 2.2 Å (silica's O–O are 2.6 Å apart).
INTERFACE_GEOMETRY = (1.45, 2.63, 2.2)
#: Cost model beyond the Si network's (:func:`.network.estimated_seconds`), for a dialog's time
#: estimate, measured as the network's: decorating and relaxing took 0.29 s for 1536 atoms and
#: 1.0 s for 3000 atoms of SiO2; an interface switch attempt about 72 µs (a-SiO, x = 1, 300
#: attempts per atom: 22 s for 1024 atoms).
RELAX_SECONDS_PER_ATOM = 3.4e-4
INTERFACE_SECONDS_PER_ATTEMPT = 72e-6


@dataclass(frozen=True)
class SilicaParams:
    """SiOx with ``n_si`` Si atoms; x = 2 is a-SiO2 (``form`` then does not matter).

    ``switches_per_atom`` is passed to the network builder (its quality / time trade-off);
    ``interface_switches`` (attempts per atom, 0 = none) relaxes a SiOx after decoration (see
    the module docstring: 600 leave 1 % of the Si under-bonded in 1000 atoms).
    """

    n_si: int = 1000
    x: float = 2.0
    form: str = "random-bonding"
    density: Optional[float] = None
    cluster_size: float = 12.0  # Å, correlation length of the mixture's regions (in the final model)
    seed: int = 0
    switches_per_atom: Optional[float] = None
    interface_switches: float = 0.0

    def validate(self) -> None:
        require(isinstance(self.x, (int, float)) and math.isfinite(self.x) and 0.0 < self.x <= 2.0,
                "x", f"must be above 0 and at most 2 (SiOx; 2 is SiO2), got {self.x}")
        require(self.form in FORMS, "form", f"must be one of {', '.join(FORMS)}, got {self.form!r}")
        require(self.density is None or (math.isfinite(self.density) and 1.0 <= self.density <= 3.5),
                "density", f"must be between 1.0 and 3.5 g/cm³, or auto, got {self.density}")
        require(math.isfinite(self.cluster_size) and 3.0 <= self.cluster_size <= 1000.0,
                "cluster_size", f"must be between 3 and 1000 Å, got {self.cluster_size}")
        require(isinstance(self.n_si, (int, np.integer)) and 64 <= self.n_si <= 200_000, "n_si",
                f"must be a whole number of Si atoms from 64 to 200000, got {self.n_si!r}")
        require(isinstance(self.interface_switches, (int, float))
                and math.isfinite(self.interface_switches) and 0 <= self.interface_switches <= 10_000,
                "interface_switches", f"must be between 0 and 10000 attempts per atom, "
                                      f"got {self.interface_switches!r}")
        self.network_params().validate()

    def network_params(self) -> NetworkParams:
        extra = {} if self.switches_per_atom is None else {"switches_per_atom": self.switches_per_atom}
        return NetworkParams(n_atoms=int(self.n_si), seed=int(self.seed), **extra)

    def target_density(self) -> float:
        if self.density is not None:
            return float(self.density)
        return mixture_density(self.x)


def estimated_seconds(params: SilicaParams) -> float:
    """Rough duration of :func:`build_silica` on one core: the network, then the decoration and
    its relaxation, then the interface switches of a SiOx (see :data:`RELAX_SECONDS_PER_ATOM`)."""
    n_si = 8 * math.prod(supercell_for(int(params.n_si)))
    n_atoms = n_si + round(min(params.x, 2.0) * n_si)
    seconds = network_seconds(params.network_params()) + RELAX_SECONDS_PER_ATOM * n_atoms
    if params.x < 2.0:
        seconds += INTERFACE_SECONDS_PER_ATTEMPT * float(params.interface_switches) * n_atoms
    return seconds


def mixture_density(x: float) -> float:
    """g/cm³ of SiOx as an ideal mixture of a-Si and a-SiO2 volumes (x/2 of the Si oxidised)."""
    f = x / 2.0
    mass = (1 - f) * _M_SI + f * (_M_SI + 2 * _M_O)
    volume = (1 - f) * _M_SI / DENSITY_SI + f * (_M_SI + 2 * _M_O) / DENSITY_SIO2
    return mass / volume


def periodic_random_field(points: np.ndarray, cell: np.ndarray, length: float,
                          rng: np.random.Generator) -> np.ndarray:
    """A smooth Gaussian random field with correlation length ``length``, periodic in ``cell``.

    A sum of plane waves over the reciprocal lattice of the cell with Gaussian spectral weights
    exp(−k²ℓ²/4) and random phases: periodic by construction, so the regions it outlines cross the
    boundary without a seam.
    """
    recip = 2.0 * np.pi * np.linalg.inv(cell).T  # rows: reciprocal vectors
    kmax = 3.0 / length
    reach = [int(np.ceil(kmax / np.linalg.norm(r))) for r in recip]
    ks = []
    for h in range(0, reach[0] + 1):
        for k in range(-reach[1], reach[1] + 1):
            for m in range(-reach[2], reach[2] + 1):
                if (h, k, m) <= (0, 0, 0):
                    continue  # one wave of each ±k pair (cos is even), none at k = 0
                kv = h * recip[0] + k * recip[1] + m * recip[2]
                if np.linalg.norm(kv) <= kmax:
                    ks.append(kv)
    ks = np.array(ks).reshape(-1, 3)
    weights = np.exp(-0.25 * (np.linalg.norm(ks, axis=1) * length) ** 2)
    amplitude = rng.normal(size=len(ks)) * np.sqrt(weights)
    phase = rng.uniform(0.0, 2.0 * np.pi, size=len(ks))
    return np.cos(points @ ks.T + phase) @ amplitude


def _oxidised_bonds(net, params: SilicaParams, rng: np.random.Generator) -> np.ndarray:
    """Indices of the Si–Si bonds that get an O."""
    n_bonds = len(net.bonds)
    n_o = int(round(params.x / 2.0 * n_bonds))
    if n_o >= n_bonds:
        return np.arange(n_bonds)
    if params.form == "random-bonding":
        return np.sort(rng.choice(n_bonds, n_o, replace=False))
    # Mixture: the field is drawn on the final (expanded) model's length scale.
    expand = (_volume_after(net, params) / abs(np.linalg.det(net.cell))) ** (1.0 / 3.0)
    i, j = net.bonds[:, 0], net.bonds[:, 1]
    mid = 0.5 * (net.positions[i] + net.positions[j] + net.shifts @ net.cell)
    field = periodic_random_field(mid, net.cell, params.cluster_size / expand, rng)
    return np.sort(np.argsort(-field, kind="stable")[:n_o])


def _volume_after(net, params: SilicaParams) -> float:
    n_si = len(net.positions)
    n_o = round(params.x / 2.0 * len(net.bonds))
    grams = (n_si * _M_SI + n_o * _M_O) * _AMU_G
    return grams / params.target_density() * 1e24


def decorate(net, oxidised: np.ndarray, rng: np.random.Generator) -> K.Topology:
    """The network with one O on each bond in ``oxidised`` (Si first, then O), at the bond's
    middle moved sideways by ``O_OFFSET`` in a random direction."""
    n_si = len(net.positions)
    mask = np.zeros(len(net.bonds), bool)
    mask[oxidised] = True
    keep_b, keep_s = net.bonds[~mask], net.shifts[~mask]
    ox_b, ox_s = net.bonds[mask], net.shifts[mask]
    n_o = len(ox_b)
    vec = net.positions[ox_b[:, 1]] + ox_s @ net.cell - net.positions[ox_b[:, 0]]
    side = rng.normal(size=vec.shape)
    side -= (side * vec).sum(1, keepdims=True) / (vec * vec).sum(1, keepdims=True) * vec
    side *= O_OFFSET / np.maximum(np.linalg.norm(side, axis=1, keepdims=True), 1e-12)
    o_pos = net.positions[ox_b[:, 0]] + 0.5 * vec + side
    o_idx = n_si + np.arange(n_o)
    # Si_i – O (same image as i) and O – Si_j (image of j as before).
    bonds = np.concatenate([keep_b, np.stack([ox_b[:, 0], o_idx], 1), np.stack([o_idx, ox_b[:, 1]], 1)])
    shifts = np.concatenate([keep_s, np.zeros((n_o, 3), np.int64), ox_s])
    positions = np.concatenate([net.positions, o_pos])
    types = np.concatenate([np.zeros(n_si, np.int64), np.ones(n_o, np.int64)])
    return K.Topology.from_bonds(positions, net.cell, bonds, shifts, types)


def build_silica(params: SilicaParams = SilicaParams(), progress: Optional[ProgressFn] = None,
                 cancel: Optional[CancelFn] = None) -> Atoms:
    """a-SiO2 (x = 2) or a-SiOx from a WWW Si network (see the module docstring).

    ``arrays["oxidation"]`` is the number of O bonded to each Si (0 for O atoms), the Si
    oxidation state Si0 … Si4+.
    """
    params.validate()
    net = build_network(params.network_params(), sub_progress(progress, 0.0, 0.8), cancel)
    check_cancel(cancel)
    rng = np.random.default_rng([int(params.seed), 1])
    topo = decorate(net, _oxidised_bonds(net, params, rng), rng)
    topo.scale((_volume_after(net, params) / abs(np.linalg.det(topo.cell))) ** (1.0 / 3.0))
    report(progress, 0.82, "O placed on the Si–Si bonds")
    ff = K.silicon_oxygen()
    switching = params.interface_switches > 0 and params.x < 2.0
    end = 0.86 if switching else 0.99
    energy = K.relax(topo, ff, fmax=1e-3, max_iter=20_000,
                     progress=sub_progress(progress, 0.82, end), cancel=cancel)
    if switching:
        switches = switch_bonds(topo, ff, INTERFACE_GEOMETRY, params.interface_switches,
                                INTERFACE_KT, seed=int(params.seed), penalty=SUBOXIDE_PENALTY,
                                progress=sub_progress(progress, end, 0.99), cancel=cancel)
        energy = K.energy(topo, ff)
    topo.wrap()
    n_si = len(net.positions)
    n_o = topo.n_atoms - n_si
    symbols = ["Si"] * n_si + ["O"] * n_o
    atoms = Atoms(symbols, positions=topo.positions, cell=topo.cell, pbc=True)
    is_o = topo.types == 1
    rows = np.arange(topo.neighbors.shape[1])[None, :] < topo.degree[:, None]
    o_neighbours = (rows & is_o[np.where(rows, topo.neighbors, 0)]).sum(axis=1)
    atoms.arrays["oxidation"] = np.where(is_o, 0, o_neighbours).astype(np.int64)
    x = n_o / n_si
    if params.x >= 2.0:
        name = f"a-SiO2 ({len(atoms)} atoms)"
    else:
        form = "random mixture" if params.form == "mixture" else "random bonding"
        name = f"a-SiO{x:.2f} {form} ({len(atoms)} atoms)"
    atoms.info.update({
        "name": name,
        "builder": "silica (O on the Si–Si bonds of a WWW network)",
        "seed": int(params.seed),
        "x": float(x),
        "density_g_cm3": float(params.target_density()),
        "keating_energy_per_atom_eV": float(energy) / len(atoms),
        "switches_attempted": int(net.switches_attempted),
        "switches_accepted": int(net.switches_accepted),
    })
    if params.x < 2.0:  # SiO2 has one form: O on every bond
        atoms.info["form"] = params.form
        if params.form == "mixture":
            atoms.info["cluster_size"] = float(params.cluster_size)
        if switching:
            atoms.info["interface_switches_attempted"] = int(switches[0])
            atoms.info["interface_switches_accepted"] = int(switches[1])
    report(progress, 1.0, "relaxed")
    return atoms

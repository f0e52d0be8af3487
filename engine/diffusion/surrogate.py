"""A neural-network potential for one mobile atom in a frozen host (Li, Ando & Watanabe, J. Phys.
Soc. Jpn. 86, 104004 (2017)): sample positions, take reference energies there once, train.

1. **Sampling** (:func:`sample_positions`): uniform candidates in the cell, none within the wall
   (``wall_factor`` × the sum of covalent radii) of a host atom; a fraction ``uniform_fraction``
   is taken as they come, the rest with weights exp(−(E_p − E_p,min)/``bias_kt``) of a cheap
   proposal energy E_p (UFF when it knows the elements), so the sites and the passes between
   them, where barriers are decided, hold most points. With ``proposal_cap`` no point lies more
   than that many eV above the lowest proposal energy (chosen points above it are replaced by
   further draws): the steep walls cost the fit most of its error (Cu on xTB in a-SiO2: the 69
   of 2000 points above 2 eV had a cross-validated RMSE of 0.96 eV against 0.066 eV below 0),
   but then nothing tells the model that the walls are high: the network trained with a 1.5 eV
   cap put 4209 of its 4796 minima where UFF lies above the cap (and its 40 lowest barriers
   0.73 eV off xTB's); the SOAP model 492 of 1180. Hence the **guard**: every trained model
   adds k(U − U_max)² where the UFF pair sum U within its cutoff exceeds the highest U of its
   training points (:func:`~.environment.guard_penalty`), so where it saw no data UFF's rise
   stands in. The default takes no cap, and the SOAP model (:data:`SOAP_TRAINING`) takes it
   for its accuracy. If no candidate has room the host has no room for the atom (a clear
   error).
2. **Features**: element-resolved radial G2 and angular G4 symmetry functions of the point
   (:mod:`.environment`, equal to DScribe's ACSF of an atom there); or, with a
   :class:`~.point_soap.PointSoapParams` descriptor, the SOAP power spectrum of the point and a
   quadratic kernel-ridge model on it (:mod:`.point_soap`: Cu on xTB in a-SiO2 0.047 eV held-out
   RMSE against the network's 0.109, at about half its speed).
3. **Model**: scikit-learn's ``MLPRegressor`` (tanh, L-BFGS) on standardised features and
   energies, its L2 penalty chosen by k-fold cross-validation on the training set alone (a
   nearly unpenalised network learns what the descriptor cannot tell apart: Cu on xTB in
   a-SiO2, α = 10⁻⁵ gave a training RMSE of 0.009 eV and a test RMSE of 0.24 eV; the folds pick
   α = 3: about 0.1 eV on both). Energies more than ``window`` eV above the lowest are squeezed smoothly
   (E_c + s·tanh((E − E_c)/s)), so a few huge repulsive energies cannot spoil the fit where
   diffusion happens. The trained weights go into a numba forward pass (with backpropagation for
   forces), one evaluation in a few µs: the :class:`SurrogatePotential` is a
   :class:`~.potential.HostPotential`, so sites, NEB paths and the ASE calculator run on it.
4. **Checks**: test-set RMSE/MAE and parity data (:class:`Surrogate`); barriers along the
   surrogate's paths against the reference (:func:`compare_barriers`).
Units: Å, eV.
"""
from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from typing import Optional

import numpy as np
from ase import Atoms
from numba import njit

from ..elements import covalent_radius, number, reduced_formula
from ..errors import ParameterError, ReadError, require
from ..tasks import CancelFn, ProgressFn, check_cancel, chunked, report, sub_progress
from .environment import (NETWORK, NO_GUARD, gather, gather_soap, model_tuple, n_features,
                          row_atoms, soap_model_tuple, workspace)
from .point_soap import PointSoapParams, soap_features, soap_tables, soap_workspace
from .potential import (HostPotential, _as_points, _checked_host, _host_arrays, _locate,
                        finite_number, has_uff, uff_coefficients)

#: Points per kernel call between progress/cancel checks.
CHUNK_POINTS = 20_000
#: Candidates drawn per wanted sample, before the overlap and energy checks.
CANDIDATES_PER_SAMPLE = 25
#: Further candidate draws when too few candidates lie below the proposal cap.
MAX_EXTRA_DRAWS = 8
#: Stiffness (eV/Å²) of the wall inside which no sample is taken.
WALL_STIFFNESS = 20.0
#: Stiffness (per eV) of the guard k(U − U_max)² beyond the training points' highest UFF energy.
GUARD_STIFFNESS = 1.0
#: Width (eV) of the smooth ceiling on the training energies.
CEILING_SOFTNESS = 1.0
#: L2 penalties (scikit-learn's ``alpha``) the cross-validation chooses from.
ALPHA_GRID = (1e-3, 1e-2, 0.1, 1.0, 3.0, 10.0)
#: Saved surrogates (:meth:`Surrogate.save`): format name and the newest version this code reads.
MODEL_FORMAT = "amorpha-diffusion-surrogate"
MODEL_VERSION = 2
#: The two model kinds: a network on symmetry functions, a quadratic form on SOAP.
NETWORK_MODEL, SOAP_MODEL = "network", "soap-quadratic"
#: Host positions and cell are compared to this many decimals (Å) in the fingerprint, so a host
#: written to a text file and read back is the same host.
FINGERPRINT_DECIMALS = 4


def host_fingerprint(positions, numbers, cell) -> str:
    """SHA-256 (hex) of the host's atomic numbers, positions and cell (Å, rounded to
    :data:`FINGERPRINT_DECIMALS`): a saved surrogate knows the host it was trained in."""
    import hashlib

    digest = hashlib.sha256()
    digest.update(np.ascontiguousarray(numbers, dtype="<i8").tobytes())
    for array in (positions, cell):
        rounded = np.round(np.asarray(array, dtype=np.float64), FINGERPRINT_DECIMALS) + 0.0
        digest.update(np.ascontiguousarray(rounded, dtype="<f8").tobytes())
    return digest.hexdigest()


@dataclass(frozen=True)
class DescriptorParams:
    """Radial G2 with ``n_radial`` Gaussians centred evenly from ``r_first`` to 0.5 Å short of
    ``r_cut_radial`` (width: their spacing); angular G4 within ``r_cut_angular`` with
    η = ``angular_eta`` and every (ζ, λ) of ``zetas`` × (1, −1).

    The angular cutoff trades accuracy for speed (Cu on xTB in a-SiO2, cross-validated penalty;
    energies per CPU-second on a loaded machine): 3.5 Å 0.108 eV test RMSE, 8.1·10⁴/s; 4 Å
    0.098 eV, 7.1·10⁴/s; 4.5 Å 0.085 eV, 5.7·10⁴/s. The default keeps the speed target
    (≥ 10⁵/s unloaded). More radial functions, a sharper angular η, a wider network or an
    ensemble of five changed the error by less than 0.005 eV."""

    r_cut_radial: float = 6.0
    n_radial: int = 10
    r_first: float = 1.0
    r_cut_angular: float = 3.5
    angular_eta: float = 0.005
    zetas: tuple = (1.0, 2.0, 4.0)

    def validate(self) -> None:
        require(finite_number(self.r_cut_radial) and 2.0 <= self.r_cut_radial <= 12.0,
                "r_cut_radial", f"needs a cutoff between 2 and 12 Å, got {self.r_cut_radial!r}")
        require(finite_number(self.r_cut_angular) and 0.0 <= self.r_cut_angular <= 8.0,
                "r_cut_angular", f"needs a cutoff between 0 and 8 Å (0: no angular terms), "
                f"got {self.r_cut_angular!r}")
        require(isinstance(self.n_radial, int) and 2 <= self.n_radial <= 64, "n_radial",
                f"needs between 2 and 64 radial functions, got {self.n_radial!r}")
        require(finite_number(self.r_first) and 0.0 <= self.r_first < self.r_cut_radial - 0.5,
                "r_first", f"needs a first centre between 0 and r_cut_radial − 0.5 Å, got "
                f"{self.r_first!r}")
        require(finite_number(self.angular_eta) and self.angular_eta >= 0.0, "angular_eta",
                f"needs η ≥ 0 (1/Å²), got {self.angular_eta!r}")
        require(all(finite_number(z) and z >= 1.0 for z in self.zetas), "zetas",
                f"needs ζ values ≥ 1, got {self.zetas!r}")

    def radial(self) -> np.ndarray:
        """(η, R_s) rows."""
        centres = np.linspace(self.r_first, self.r_cut_radial - 0.5, self.n_radial)
        width = centres[1] - centres[0]
        return np.column_stack([np.full(self.n_radial, 0.5 / width ** 2), centres])

    def angular(self) -> np.ndarray:
        """(η, ζ, λ) rows (none without an angular cutoff)."""
        if self.r_cut_angular <= 0.0:
            return np.zeros((0, 3))
        return np.array([(self.angular_eta, z, lam) for z in self.zetas for lam in (1.0, -1.0)])


@dataclass(frozen=True)
class SurrogateParams:
    """Training of a surrogate for one ``element`` atom: sample sizes, the sampling bias, the
    wall, the window of energies fitted as they are, the network's hidden layers and its L2
    penalty ``alpha`` (None: the one of :data:`ALPHA_GRID` with the lowest ``cv_folds``-fold
    cross-validation error on the training set), the random ``seed``."""

    element: str = "Cu"
    n_train: int = 1800
    n_test: int = 200
    bias_kt: float = 0.5
    uniform_fraction: float = 0.1
    proposal_cap: Optional[float] = None
    wall_factor: float = 0.75
    window: float = 3.0
    hidden: tuple = (32, 32)
    alpha: Optional[float] = None
    cv_folds: int = 3
    max_iter: int = 2000
    seed: int = 0
    descriptor: DescriptorParams = field(default_factory=DescriptorParams)

    def validate(self) -> None:
        from .reference import _mobile_symbol

        _mobile_symbol(self.element)
        for name, low in (("n_train", 10), ("n_test", 1)):
            value = getattr(self, name)
            require(isinstance(value, int) and low <= value <= 1_000_000, name,
                    f"needs a whole number between {low} and 1,000,000, got {value!r}")
        require(finite_number(self.bias_kt) and self.bias_kt > 0.0, "bias_kt",
                f"needs a positive energy in eV, got {self.bias_kt!r}")
        require(finite_number(self.uniform_fraction) and 0.0 <= self.uniform_fraction <= 1.0,
                "uniform_fraction", f"needs a fraction in [0, 1], got {self.uniform_fraction!r}")
        require(self.proposal_cap is None or (finite_number(self.proposal_cap)
                                              and self.proposal_cap > 0.0), "proposal_cap",
                f"needs a positive energy in eV above the lowest proposal energy (or None: no "
                f"cap), got {self.proposal_cap!r}")
        require(finite_number(self.wall_factor) and 0.1 <= self.wall_factor <= 1.5,
                "wall_factor", f"needs a factor between 0.1 and 1.5, got {self.wall_factor!r}")
        require(finite_number(self.window) and self.window > 0.0, "window",
                f"needs a positive energy in eV, got {self.window!r}")
        require(len(self.hidden) >= 1 and all(isinstance(h, int) and 1 <= h <= 512
                                              for h in self.hidden), "hidden",
                f"needs one or more layer widths between 1 and 512, got {self.hidden!r}")
        require(self.alpha is None or (finite_number(self.alpha) and self.alpha >= 0.0),
                "alpha", f"needs a penalty ≥ 0 (or None: chosen by cross-validation), got "
                f"{self.alpha!r}")
        require(isinstance(self.cv_folds, int) and 2 <= self.cv_folds <= 10, "cv_folds",
                f"needs between 2 and 10 folds, got {self.cv_folds!r}")
        self.descriptor.validate()


#: The SOAP kernel model as the window and the command line offer it: 1.5 eV proposal cap
#: (Cu on xTB in a-SiO2: held-out RMSE 0.047 eV, 0.075 without the cap).
SOAP_TRAINING = SurrogateParams(proposal_cap=1.5, descriptor=PointSoapParams())


# --------------------------------------------------------------------------- the potential


class SurrogatePotential(HostPotential):
    """A trained network as the mobile atom's energy; everything a :class:`HostPotential`
    offers (energies, forces, sites, NEB, the ASE calculator) works on it.

    ``network``: (x_mean, x_scale, layer sizes, flat weights, y_mean, y_scale); None gives a
    network that is zero everywhere (only the wall: where a point overlaps a host atom).
    ``guard`` (eV): the highest UFF energy (:meth:`uff_energy`) of the training points; beyond
    it k(U − guard)² is added, so the model cannot dip where it saw no data. None: no guard
    (also when UFF does not know an element).
    """

    def __init__(self, host: Atoms, element: str, descriptor: DescriptorParams = DescriptorParams(),
                 wall_factor: float = 0.75, network: Optional[tuple] = None,
                 guard: Optional[float] = None, *, cancel: Optional[CancelFn] = None):
        from .reference import _mobile_symbol

        descriptor.validate()
        positions, cell, symbols = _checked_host(host)
        self.element = _mobile_symbol(element)
        self.descriptor = descriptor
        self.wall_factor = float(wall_factor)
        #: :func:`host_fingerprint` of the host this potential lives in.
        self.fingerprint = host_fingerprint(positions, [number(x) for x in symbols], cell)
        #: Host elements in feature order (sorted by atomic number, as DScribe does).
        self.species = tuple(sorted(set(symbols), key=number))
        kind = np.array([self.species.index(s) for s in symbols], np.int64)
        self.wall = wall_factor * (covalent_radius(np.array([number(s) for s in self.species]))
                                   + covalent_radius(np.array([number(self.element)]))[0])
        #: Whether UFF knows every element here (else no guard: :meth:`guard_level` is None).
        self.knows_uff = has_uff(list(symbols) + [self.element])
        self.guard = float(guard) if guard is not None and self.knows_uff else None
        guard_pair = NO_GUARD if self.guard is None else (self.guard, GUARD_STIFFNESS)
        if isinstance(descriptor, PointSoapParams):
            model, reach = self._soap_model(descriptor, network, guard_pair)
        else:
            model, reach = self._network_model(descriptor, network, guard_pair)
        self.cutoff = float(max(reach, self.wall.max()))
        self.pairs = {}
        self.cell = cell
        self.cell.flags.writeable = False
        self.host_positions = positions
        self.host_positions.flags.writeable = False
        self.host_symbols = tuple(symbols)
        zeros = np.zeros(len(positions))
        pairs = uff_coefficients(self.element, symbols, self.cutoff) if self.knows_uff else \
            (zeros, zeros, zeros)
        # cancel between its steps: 1.3-1.5 s for a 192k-atom host, most of it binning the images
        self._kernel_host = _host_arrays(positions, cell, pairs, self.cutoff, kind, model, cancel)

    def _network_model(self, descriptor: DescriptorParams, network, guard) -> tuple:
        """(model tuple, reach in Å) of the network on symmetry functions; ``network`` (x_mean,
        x_scale, layer sizes, flat weights, y_mean, y_scale) or None (zero everywhere)."""
        radial, angular = descriptor.radial(), descriptor.angular()
        self.n_features = n_features(len(self.species), len(radial), len(angular))
        if network is None:
            network = (np.zeros(self.n_features), np.ones(self.n_features),
                       np.array([self.n_features, 1]), np.zeros(self.n_features + 1), 0.0, 1.0)
        x_mean, x_scale, sizes, weights, y_mean, y_scale = network
        require(int(sizes[0]) == self.n_features and int(sizes[-1]) == 1, "network",
                f"the network takes {int(sizes[0])} features and gives {int(sizes[-1])} values; "
                f"this descriptor has {self.n_features} features and needs one energy")
        self.network = network
        model = model_tuple(NETWORK, len(self.species), radial, descriptor.r_cut_radial, angular,
                            descriptor.r_cut_angular, x_mean, x_scale, sizes, weights, y_mean,
                            y_scale, self.wall, WALL_STIFFNESS, guard)
        return model, max(descriptor.r_cut_radial, descriptor.r_cut_angular)

    def _soap_model(self, descriptor: "PointSoapParams", network, guard) -> tuple:
        """(model tuple, reach in Å) of the quadratic model on SOAP; ``network`` (projections
        (rank, features), their eigenvalues, y_mean, y_scale) or None (zero everywhere)."""
        tables = soap_tables(descriptor, self.species, self.element)
        self.n_features = int(tables[12])
        if network is None:
            network = (np.zeros((1, self.n_features)), np.zeros(1), 0.0, 1.0)
        proj, lam, y_mean, y_scale = network
        require(proj.ndim == 2 and proj.shape[1] == self.n_features and len(lam) == len(proj),
                "network", f"the model projects {proj.shape[-1]} features; this SOAP has "
                f"{self.n_features}")
        self.network = network
        model = soap_model_tuple(tables, proj, lam, y_mean, y_scale, self.wall, WALL_STIFFNESS,
                                 guard)
        return model, math.sqrt(tables[11])

    def features(self, points, *, progress: Optional[ProgressFn] = None,
                 cancel: Optional[CancelFn] = None) -> np.ndarray:
        """(m, n_features) symmetry functions (or SOAP power spectra) at (m, 3) points."""
        array, _ = _as_points(points)
        out = np.empty((len(array), self.n_features))
        kernel = _soap_many if self.kind == SOAP_MODEL else _features_many
        for start, stop in chunked(len(array), CHUNK_POINTS, progress, cancel, "features"):
            kernel(array[start:stop], self._kernel_host, out[start:stop])
        return out

    def uff_energy(self, points) -> np.ndarray:
        """The UFF pair sum within this potential's cutoff at (m, 3) points: what the guard
        compares with its ceiling (the same host tuple coefficients)."""
        return HostPotential(self._host_atoms(), self.element, self.cutoff).energy(points)

    def guard_level(self, positions) -> Optional[float]:
        """The highest :meth:`uff_energy` of the training ``positions``: where a model's guard
        starts; None when UFF does not know every element."""
        return float(np.max(self.uff_energy(positions))) if self.knows_uff else None

    def _host_atoms(self) -> Atoms:
        return Atoms(self.host_symbols, positions=self.host_positions, cell=self.cell, pbc=True)

    def overlaps(self, points) -> np.ndarray:
        """Whether each point lies inside the wall of some host atom."""
        array, _ = _as_points(points)
        out = np.empty(len(array), np.bool_)
        _inside_wall(array, self._kernel_host, out)
        return out

    @property
    def kind(self) -> str:
        """:data:`SOAP_MODEL` or :data:`NETWORK_MODEL`."""
        return SOAP_MODEL if isinstance(self.descriptor, PointSoapParams) else NETWORK_MODEL

    def model_arrays(self) -> dict:
        """The fitted model as named arrays (what :meth:`Surrogate.save` writes)."""
        if self.kind == SOAP_MODEL:
            proj, lam, y_mean, y_scale = self.network
            named = {"proj": proj, "lam": lam}
        else:
            x_mean, x_scale, sizes, weights, y_mean, y_scale = self.network
            named = {"x_mean": x_mean, "x_scale": x_scale, "sizes": sizes, "weights": weights}
        return {**named, "y_mean": np.float64(y_mean), "y_scale": np.float64(y_scale)}

    def __repr__(self) -> str:
        shape = f"rank {len(self.network[1])}" if self.kind == SOAP_MODEL else \
            f"layers {list(self.network[2])}"
        return (f"SurrogatePotential({self.element} in {self.n_host} host atoms, "
                f"{self.n_features} features, {self.kind}, {shape})")


@njit(nogil=True, cache=True)
def _features_many(points, host, out):
    work = workspace(host[15], False, host[16])
    near, near_type = work[6], work[7]
    for p in range(points.shape[0]):
        qx, qy, qz, bx, by, bz = _locate(points[p, 0], points[p, 1], points[p, 2], host)
        gather(qx, qy, qz, bx, by, bz, host, False, out[p], work[1], near, near_type)


@njit(nogil=True, cache=True)
def _soap_many(points, host, out):
    work = soap_workspace(host[15][17], host[16], host[15][18].shape[0])
    for p in range(points.shape[0]):
        qx, qy, qz, bx, by, bz = _locate(points[p, 0], points[p, 1], points[p, 2], host)
        k = gather_soap(qx, qy, qz, bx, by, bz, host, work)[0]
        soap_features(qx, qy, qz, work[6], k, host[15][17], work)
        out[p] = work[2]


@njit(nogil=True, cache=True)
def _inside_wall(points, host, out):
    """Whether each point is within the wall radius of a host atom (no features needed)."""
    rows, ax, ay, az = host[5], host[7], host[8], host[9]
    image_type, wall = host[14], host[15][13]
    for p in range(points.shape[0]):
        qx, qy, qz, bx, by, bz = _locate(points[p, 0], points[p, 1], points[p, 2], host)
        inside = False
        for s in range(rows.shape[0]):
            first, stop = row_atoms(s, qx, qy, qz, bx, by, bz, host)
            for a in range(first, stop):
                rw = wall[image_type[a]]
                dx, dy, dz = qx - ax[a], qy - ay[a], qz - az[a]
                if dx * dx + dy * dy + dz * dz < rw * rw:
                    inside = True
                    break
            if inside:
                break
        out[p] = inside


# --------------------------------------------------------------------------- sampling


def _proposal(host: Atoms, element: str) -> Optional[HostPotential]:
    """UFF for the proposal energies when it knows every element, else None (uniform)."""
    try:
        return HostPotential(host, element)
    except ParameterError:
        return None


def sample_positions(host: Atoms, params: SurrogateParams = SurrogateParams(), *,
                     proposal=None, progress: Optional[ProgressFn] = None,
                     cancel: Optional[CancelFn] = None) -> np.ndarray:
    """``n_train + n_test`` positions (Å) of the mobile atom, biased to low proposal energy
    (module docstring); ``proposal`` is anything with ``energy(points)`` (default: UFF)."""
    params.validate()
    wanted = params.n_train + params.n_test
    walls = SurrogatePotential(host, params.element, params.descriptor, params.wall_factor, cancel=cancel)
    rng = np.random.default_rng(params.seed)
    candidates = rng.random((CANDIDATES_PER_SAMPLE * wanted, 3)) @ walls.cell
    free = candidates[~walls.overlaps(candidates)]
    report(progress, 0.3, f"{len(free)} of {len(candidates)} candidates have room")
    if len(free) < wanted:
        raise ParameterError("host", f"the host has no room for a {walls.element} atom: only "
                             f"{len(free)} of {len(candidates)} random positions keep "
                             f"{params.wall_factor:g} × the covalent distance from every host "
                             f"atom ({wanted} needed); lower wall_factor or use a less dense host")
    if proposal is None:
        proposal = _proposal(host, params.element)
    if proposal is None:
        chosen = rng.choice(len(free), wanted, replace=False)
    else:
        energies = np.asarray(proposal.energy(free, progress=sub_progress(progress, 0.3, 0.6),
                                              cancel=cancel))
        for _ in range(MAX_EXTRA_DRAWS if params.proposal_cap is not None else 0):
            if np.count_nonzero(energies - np.nanmin(energies) <= params.proposal_cap) >= wanted:
                break
            check_cancel(cancel)  # few candidates below the cap: draw more candidates
            more = rng.random((CANDIDATES_PER_SAMPLE * wanted, 3)) @ walls.cell
            more = more[~walls.overlaps(more)]
            free = np.concatenate([free, more])
            energies = np.concatenate([energies, proposal.energy(more)])
        chosen = _biased_choice(energies, wanted, params, rng)
    report(progress, 1.0, f"{wanted} positions")
    return free[rng.permutation(chosen)]


def _biased_choice(energies: np.ndarray, wanted: int, params: SurrogateParams, rng) -> np.ndarray:
    """Indices of ``wanted`` candidates: a ``uniform_fraction`` share as they come, the rest with
    Boltzmann weights of their proposal ``energies`` at ``bias_kt``; those above the proposal cap
    are dropped and drawn again from the candidates left (so the first draw is the uncapped
    one and a cache of reference energies for it stays useful)."""
    ok = np.isfinite(energies)
    require(ok.any(), "bias_kt", "no candidate has a usable proposal energy")
    lowest = energies[ok].min()
    weights = np.where(ok, np.exp(-(np.where(ok, energies, lowest) - lowest) / params.bias_kt),
                       0.0)
    allowed = ok if params.proposal_cap is None else \
        ok & (np.where(ok, energies, np.inf) <= lowest + params.proposal_cap)
    require(np.count_nonzero(allowed & (weights > 0)) >= wanted, "proposal_cap",
            f"only {np.count_nonzero(allowed & (weights > 0))} candidates lie within "
            f"{params.proposal_cap} eV of the lowest proposal energy ({wanted} needed): raise "
            "proposal_cap")
    taken = np.zeros(len(energies), np.bool_)
    chosen = np.zeros(0, np.int64)
    while len(chosen) < wanted:
        need = wanted - len(chosen)
        n_uniform = int(round(params.uniform_fraction * need))
        left = np.flatnonzero(~taken)
        uniform = left[rng.choice(len(left), min(n_uniform, len(left)), replace=False)]
        taken[uniform] = True
        rest = np.flatnonzero(~taken)
        w = weights[rest]
        n_bias = min(need - len(uniform), np.count_nonzero(w))
        biased = rest[rng.choice(len(rest), n_bias, replace=False, p=w / w.sum())]
        taken[biased] = True
        batch = np.concatenate([uniform, biased])
        chosen = np.concatenate([chosen, batch[allowed[batch]]])
    return chosen


# --------------------------------------------------------------------------- training


@dataclass(frozen=True)
class Surrogate:
    """A trained surrogate and how well it does on points it never saw.

    ``train_positions``/``test_positions`` (Å), their reference energies and the surrogate's
    predictions (eV, numba forward pass); ``ceiling`` is where the training energies start to be
    squeezed (energies above it are learnt as lower ones). Metrics are over the test set and over
    its points below the ceiling.
    """

    potential: SurrogatePotential
    model: object  # the fitted sklearn MLPRegressor (for its own predict)
    scaler: object
    train_positions: np.ndarray
    train_energies: np.ndarray
    train_predicted: np.ndarray
    test_positions: np.ndarray
    test_energies: np.ndarray
    test_predicted: np.ndarray
    ceiling: float
    n_dropped: int = 0
    #: The reference the energies came from (its ``label``), for the record.
    reference: str = ""
    #: The network's L2 penalty and, when it was chosen by cross-validation, its error there.
    alpha: float = float("nan")
    cv_rmse: float = float("nan")

    def metrics(self) -> dict:
        """Test-set errors (eV): against the energies the network was asked to learn (squeezed
        above the ceiling) and over the test points below the ceiling, where they are the
        reference's own; R², the training RMSE."""
        err = self.test_predicted - squeeze(self.test_energies, self.ceiling)
        low = self.test_energies <= self.ceiling
        ref = squeeze(self.test_energies, self.ceiling)
        ss = float(np.sum((ref - ref.mean()) ** 2))
        train_err = self.train_predicted - squeeze(self.train_energies, self.ceiling)
        return {
            "n_train": int(len(self.train_energies)), "n_test": int(len(ref)),
            "rmse_ev": float(np.sqrt(np.mean(err ** 2))), "mae_ev": float(np.mean(np.abs(err))),
            "max_abs_ev": float(np.max(np.abs(err))),
            "r2": float(1.0 - np.sum(err ** 2) / ss) if ss > 0 else float("nan"),
            "n_below_ceiling": int(low.sum()),
            "rmse_below_ceiling_ev": float(np.sqrt(np.mean(err[low] ** 2))) if low.any()
            else float("nan"),
            "mae_below_ceiling_ev": float(np.mean(np.abs(err[low]))) if low.any()
            else float("nan"),
            "train_rmse_ev": float(np.sqrt(np.mean(train_err ** 2))),
            "ceiling_ev": float(self.ceiling), "n_dropped": int(self.n_dropped),
            "alpha": float(self.alpha), "cv_rmse_ev": float(self.cv_rmse),
        }

    # -- files ------------------------------------------------------------------------------
    def meta(self) -> dict:
        from dataclasses import asdict

        from ..model_zip import library_versions

        potential = self.potential
        return {"format": MODEL_FORMAT, "version": MODEL_VERSION, "element": potential.element,
                "host": {"fingerprint": potential.fingerprint, "n_atoms": potential.n_host,
                         "formula": _formula(potential.host_symbols)},
                "model": potential.kind, "descriptor": asdict(potential.descriptor),
                "wall_factor": potential.wall_factor, "guard_ev": potential.guard,
                "reference": self.reference,
                "ceiling_ev": float(self.ceiling), "n_dropped": int(self.n_dropped),
                "metrics": self.metrics(), "versions": library_versions()}

    def save(self, path) -> None:
        """Write the trained surrogate (network, training and test data, meta.json) as one zip,
        so an expensive reference (xTB) is asked once; :meth:`load` gives it back."""
        from ..model_zip import write_model_zip

        write_model_zip(path, self.meta(), {
            **self.potential.model_arrays(),
            "train_positions": self.train_positions, "train_energies": self.train_energies,
            "test_positions": self.test_positions, "test_energies": self.test_energies,
            "test_predicted": self.test_predicted})

    @classmethod
    def load(cls, path, host: Atoms, element: Optional[str] = None) -> "Surrogate":
        """A saved surrogate, for the ``host`` it was trained in (and ``element``, when given);
        ModelMismatchError for any other host or element, ReadError for a broken file. The
        scikit-learn objects are not kept (``model``/``scaler`` None): the numba pass is all that
        predicts."""
        from ..model_zip import read_model_zip
        from ..surrogate.model import ModelMismatchError
        from .reference import _mobile_symbol

        meta, arrays = read_model_zip(path, MODEL_FORMAT, MODEL_VERSION, "diffusion surrogate")
        saved = meta.get("host", {})
        if element is not None and _mobile_symbol(element) != meta.get("element"):
            raise ModelMismatchError(
                f"{os.path.basename(os.fspath(path))} is a surrogate for a {meta.get('element')} "
                f"atom, not {_mobile_symbol(element)}: train one for {_mobile_symbol(element)}")
        positions, cell, symbols = _checked_host(host)
        given = host_fingerprint(positions, [number(x) for x in symbols], cell)
        if given != saved.get("fingerprint"):
            raise ModelMismatchError(
                f"{os.path.basename(os.fspath(path))} was trained in another host "
                f"({saved.get('formula', '?')}, {saved.get('n_atoms', '?')} atoms) than this one "
                f"({_formula(symbols)}, {len(symbols)} atoms, or the same atoms moved or in "
                "another cell): the energies of a mobile atom belong to one frozen host; train a "
                "surrogate for this host")
        try:
            descriptor, network = _saved_model(meta.get("model", "network"), meta["descriptor"],
                                               arrays)
            guard = meta.get("guard_ev")  # absent in files written before the guard
            potential = SurrogatePotential(host, meta["element"], descriptor,
                                           float(meta["wall_factor"]), network,
                                           None if guard is None else float(guard))
            test = arrays["test_positions"]
            predicted = potential.energy(test)
            ok = np.allclose(predicted, arrays["test_predicted"], rtol=0, atol=1e-8)
            train = arrays["train_positions"]
            result = cls(potential, None, None, train, arrays["train_energies"],
                         potential.energy(train), test, arrays["test_energies"], predicted,
                         float(meta["ceiling_ev"]), int(meta.get("n_dropped", 0)),
                         str(meta.get("reference", "")),
                         float(meta["metrics"].get("alpha", float("nan"))),
                         float(meta["metrics"].get("cv_rmse_ev", float("nan"))))
        except (KeyError, TypeError, ValueError, ParameterError) as exc:
            raise ReadError(path, None, f"the surrogate file is damaged ({exc})") from None
        if not ok:
            raise ReadError(path, None, "the surrogate file is damaged (its network does not "
                                        "give the test energies it was saved with)")
        return result

    def parity(self) -> tuple[np.ndarray, np.ndarray]:
        """(reference, predicted) energies of the test set, for a parity plot (the reference
        squeezed above the ceiling, as it was learnt)."""
        return squeeze(self.test_energies, self.ceiling), self.test_predicted


def _saved_model(kind: str, descriptor: dict, arrays: dict) -> tuple:
    """(descriptor settings, network tuple) of a saved surrogate of either kind."""
    y = (float(arrays["y_mean"]), float(arrays["y_scale"]))
    if kind == SOAP_MODEL:
        return PointSoapParams(**descriptor), (arrays["proj"], arrays["lam"], *y)
    require(kind == NETWORK_MODEL, "model", f"unknown surrogate model {kind!r}")
    network = (arrays["x_mean"], arrays["x_scale"], arrays["sizes"].astype(np.int64),
               arrays["weights"], *y)
    return DescriptorParams(**{**descriptor, "zetas": tuple(descriptor["zetas"])}), network


def _formula(symbols) -> str:
    return reduced_formula([number(x) for x in symbols])


def squeeze(energies: np.ndarray, ceiling: float, softness: float = CEILING_SOFTNESS):
    """Energies up to ``ceiling`` as they are, above it c + s·tanh((E − c)/s): smooth, monotonic."""
    e = np.asarray(energies, dtype=np.float64)
    return np.where(e <= ceiling, e, ceiling + softness * np.tanh((e - ceiling) / softness))


def _flat_network(model, scaler, y_mean, y_scale) -> tuple:
    sizes = [model.coefs_[0].shape[0]] + [c.shape[1] for c in model.coefs_]
    weights = np.concatenate([np.concatenate([w.ravel(), b]) for w, b in
                              zip(model.coefs_, model.intercepts_)])
    return (scaler.mean_.copy(), scaler.scale_.copy(), np.array(sizes, np.int64), weights,
            float(y_mean), float(y_scale))


def train_surrogate(host: Atoms, positions, energies, params: SurrogateParams = SurrogateParams(),
                    *, reference: str = "", progress: Optional[ProgressFn] = None,
                    cancel: Optional[CancelFn] = None) -> Surrogate:
    """Fit the network to reference ``energies`` (eV) at ``positions`` (Å). The last
    ``params.n_test`` points (after dropping NaN energies) are held out; ``reference`` names
    where the energies came from."""
    from sklearn.preprocessing import StandardScaler
    from threadpoolctl import threadpool_limits

    params.validate()
    positions, _ = _as_points(positions)
    energies = np.asarray(energies, dtype=np.float64).reshape(-1)
    require(len(energies) == len(positions), "energies",
            f"needs one energy per position ({len(positions)}), got {len(energies)}")
    ok = np.isfinite(energies)
    positions, energies = positions[ok], energies[ok]
    n_test = params.n_test
    require(len(energies) >= n_test + 10, "energies",
            f"only {len(energies)} finite energies: at least {n_test + 10} are needed for "
            f"{n_test} test points and a training set")
    blank = SurrogatePotential(host, params.element, params.descriptor, params.wall_factor, cancel=cancel)
    require(not blank.overlaps(positions).any(), "positions",
            f"{int(blank.overlaps(positions).sum())} positions lie inside a host atom's wall; "
            "lower wall_factor or drop them")
    x = blank.features(positions, progress=sub_progress(progress, 0.0, 0.1), cancel=cancel)
    train, test = slice(0, len(x) - n_test), slice(len(x) - n_test, len(x))
    ceiling = float(energies[train].min() + params.window)
    target = squeeze(energies[train], ceiling)
    guard = blank.guard_level(positions[train])
    if isinstance(params.descriptor, PointSoapParams):
        with threadpool_limits(1):
            network, model, alpha, cv_rmse = _fitted_quadratic(
                x[train], target, params, sub_progress(progress, 0.1, 0.9), cancel)
        return _checked(host, params, network, guard, model, None, positions, energies, train,
                        test, ceiling, int((~ok).sum()), reference, alpha, cv_rmse, progress, cancel)
    scaler = StandardScaler().fit(x[train])
    scaler.scale_ = np.where(scaler.scale_ > 1e-12, scaler.scale_, 1.0)
    y_mean, y_scale = float(target.mean()), float(target.std()) or 1.0
    features, scaled = scaler.transform(x[train]), (target - y_mean) / y_scale
    alpha, cv_rmse = params.alpha, float("nan")
    with threadpool_limits(1):  # BLAS threads only fight over the cores here
        if alpha is None:
            alpha, cv_rmse = _cross_validated_alpha(
                lambda a, x_, y_: _fitted_network(x_, y_, params, a), features, scaled,
                ALPHA_GRID, params, sub_progress(progress, 0.1, 0.7), cancel)
            cv_rmse *= y_scale
        report(progress, 0.7, f"training the network (alpha {alpha:g})")
        model = _fitted_network(features, scaled, params, alpha)
    return _checked(host, params, _flat_network(model, scaler, y_mean, y_scale), guard, model,
                    scaler, positions, energies, train, test, ceiling, int((~ok).sum()),
                    reference, alpha, cv_rmse, progress, cancel)


def _checked(host, params, network, guard, model, scaler, positions, energies, train, test,
             ceiling, n_dropped, reference, alpha, cv_rmse, progress, cancel=None) -> "Surrogate":
    """The trained potential (with its ``guard`` level) with its training and test predictions
    (numba pass)."""
    report(progress, 0.9, "checking on the test set")
    potential = SurrogatePotential(host, params.element, params.descriptor, params.wall_factor,
                                   network, guard, cancel=cancel)
    result = Surrogate(potential, model, scaler, positions[train], energies[train],
                       potential.energy(positions[train]), positions[test], energies[test],
                       potential.energy(positions[test]), ceiling, n_dropped,
                       str(reference), float(alpha), float(cv_rmse))
    report(progress, 1.0, f"test RMSE {result.metrics()['rmse_ev']:.3f} eV")
    return result


#: Kernel-ridge penalties the cross-validation of the quadratic SOAP model chooses from
#: (energies standardised; the kernel (p̂·p̂')² is at most 1).
QUADRATIC_ALPHA_GRID = (1e-6, 1e-5, 1e-4, 1e-3, 1e-2)


def _fitted_quadratic(x, target, params: SurrogateParams, progress, cancel):
    """Kernel ridge with the kernel (p̂·p̂')² on normalised power spectra ``x``, its penalty by
    k-fold cross-validation on the training set, turned into the quadratic form's ``rank``
    largest eigenpairs (:mod:`.point_soap`): (network tuple, the fitted KernelRidge, alpha,
    cross-validated RMSE in eV)."""
    from sklearn.kernel_ridge import KernelRidge

    unit = x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-300)
    y_mean, y_scale = float(target.mean()), float(target.std()) or 1.0
    y = (target - y_mean) / y_scale
    alpha = params.alpha
    cv_rmse = float("nan")

    def ridge(a):
        return KernelRidge(alpha=a, kernel="poly", degree=2, gamma=1.0, coef0=0.0)

    if alpha is None:
        alpha, cv_rmse = _cross_validated_alpha(lambda a, x_, y_: ridge(a).fit(x_, y_), unit, y,
                                                QUADRATIC_ALPHA_GRID, params, sub_progress(
                                                    progress, 0.0, 0.8), cancel)
        cv_rmse *= y_scale
    check_cancel(cancel)
    model = ridge(alpha).fit(unit, y)
    form = (unit.T * model.dual_coef_) @ unit  # E = m + s·p̂ᵀ A p̂
    lam, vectors = np.linalg.eigh(form)
    keep = np.argsort(-np.abs(lam))[:params.descriptor.rank]
    network = (np.ascontiguousarray(vectors[:, keep].T), lam[keep].copy(), y_mean, y_scale)
    return network, model, float(alpha), cv_rmse


def _fitted_network(x, y, params: SurrogateParams, alpha: float):
    """scikit-learn's MLPRegressor (tanh, L-BFGS) fitted to standardised x and y."""
    import warnings

    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPRegressor

    model = MLPRegressor(hidden_layer_sizes=tuple(params.hidden), activation="tanh",
                         solver="lbfgs", alpha=alpha, max_iter=params.max_iter,
                         max_fun=4 * params.max_iter, random_state=params.seed, tol=1e-10)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return model.fit(x, y)


def _cross_validated_alpha(fit, x, y, grid, params: SurrogateParams, progress, cancel):
    """(the penalty of ``grid`` with the lowest k-fold RMSE on the training set, that RMSE in
    units of y); ``fit(alpha, x, y)`` returns a fitted model; the test set takes no part."""
    from sklearn.model_selection import KFold

    folds = list(KFold(params.cv_folds, shuffle=True, random_state=params.seed).split(x))
    errors = []
    for k, alpha in enumerate(grid):
        squared = 0.0
        for part, check in folds:
            check_cancel(cancel)
            model = fit(alpha, x[part], y[part])
            squared += float(np.sum((model.predict(x[check]) - y[check]) ** 2))
        errors.append(np.sqrt(squared / len(y)))
        report(progress, (k + 1) / len(grid), f"cross-validation: alpha {alpha:g}, "
               f"RMSE {errors[-1]:.3f} (standardised)")
    best = int(np.argmin(errors))
    return float(grid[best]), float(errors[best])


def build_surrogate(host: Atoms, reference, params: SurrogateParams = SurrogateParams(), *,
                    proposal=None, progress: Optional[ProgressFn] = None,
                    cancel: Optional[CancelFn] = None) -> Surrogate:
    """Sample positions, take ``reference.energy`` there (the slow part) and train."""
    params.validate()
    require(getattr(reference, "element", params.element) == params.element, "element",
            f"the reference is for {getattr(reference, 'element', '?')}, the surrogate for "
            f"{params.element}")
    positions = sample_positions(host, params, proposal=proposal,
                                 progress=sub_progress(progress, 0.0, 0.05), cancel=cancel)
    energies = reference.energy(positions, progress=sub_progress(progress, 0.05, 0.8),
                                cancel=cancel)
    return train_surrogate(host, positions, energies, params, reference=reference_label(reference),
                           progress=sub_progress(progress, 0.8, 1.0), cancel=cancel)


def surrogate_for(host: Atoms, element: str, reference: str = "uff", path=None,
                  params: Optional[SurrogateParams] = None, *,
                  progress: Optional[ProgressFn] = None,
                  cancel: Optional[CancelFn] = None) -> Surrogate:
    """The surrogate a user asks for by name: loaded from ``path`` when that file exists (it must
    be for this host and element), else trained on ``reference`` (``"uff"``, ``"xtb"`` or
    ``"csv:FILE"`` of x, y, z, energy rows) and, with a ``path``, saved there, so a slow
    reference is asked once."""
    from dataclasses import replace

    from .reference import make_reference, parse_reference, read_energies_csv

    kind, csv_path = parse_reference(reference)
    if path is not None and os.path.exists(path):
        report(progress, 1.0, f"loaded {os.path.basename(os.fspath(path))}")
        return Surrogate.load(path, host, element)
    params = replace(params or SurrogateParams(), element=element)
    if kind == "csv":
        positions, energies = read_energies_csv(csv_path)
        surrogate = train_surrogate(host, positions, energies, params,
                                    reference=f"imported {os.path.basename(csv_path)}",
                                    progress=progress, cancel=cancel)
    else:
        surrogate = build_surrogate(host, make_reference(kind, host, element), params,
                                    progress=progress, cancel=cancel)
    if path is not None:
        surrogate.save(path)
    return surrogate


def reference_label(reference) -> str:
    """What a reference calls itself (``label``; UFF for a plain :class:`HostPotential`)."""
    if type(reference) is HostPotential:
        return "UFF Lennard-Jones"
    return str(getattr(reference, "label", type(reference).__name__))


# --------------------------------------------------------------------------- barriers


@dataclass(frozen=True)
class BarrierComparison:
    """Forward barriers (eV) of the same hops from the surrogate and from the reference."""

    surrogate: np.ndarray
    reference: np.ndarray
    method: str

    @property
    def mean_abs_difference(self) -> float:
        return float(np.mean(np.abs(self.surrogate - self.reference)))

    @property
    def max_abs_difference(self) -> float:
        return float(np.max(np.abs(self.surrogate - self.reference)))


def compare_barriers(reference, paths, *, method: str = "reevaluate", hops=None,
                     progress: Optional[ProgressFn] = None,
                     cancel: Optional[CancelFn] = None) -> BarrierComparison:
    """Barriers of the surrogate's ``paths`` (:class:`~.paths.Paths`) against ``reference``.

    ``"reevaluate"``: the reference's energies on the surrogate's images (any reference; its
    barrier along the same path). ``"neb"``: the reference relaxes each band itself, ends
    minimised first (a numba potential such as UFF): its own minimum-energy path from the same
    start. ``hops`` picks paths (indices; default all).
    """
    from .paths import _FIRE, CHUNK_PATHS, MAX_IMAGE_MOVE, PathParams, _neb
    from .sites import minimise

    require(method in ("reevaluate", "neb"), "method",
            f"needs 'reevaluate' or 'neb', got {method!r}")
    hops = np.arange(len(paths)) if hops is None else np.asarray(hops, np.int64)
    require(len(hops) >= 1, "hops", "no paths to compare")
    images = np.array(paths.images[hops])
    surrogate = paths.energies[hops].max(axis=1) - paths.energies[hops, 0]
    n, m = images.shape[:2]
    if method == "reevaluate":
        e = np.asarray(reference.energy(images.reshape(-1, 3), progress=progress,
                                        cancel=cancel)).reshape(n, m)
    else:
        require(isinstance(reference, HostPotential), "reference",
                "NEB on the reference needs a numba potential (UFF or a surrogate); use "
                "method='reevaluate' for xTB, LAMMPS or imported energies")
        ends = images[:, [0, -1]].reshape(-1, 3)
        images[:, [0, -1]] = minimise(reference, ends)[0].reshape(n, 2, 3)
        e = np.empty((n, m))
        steps, done = np.empty(n, np.int64), np.empty(n, np.bool_)
        defaults = PathParams()
        for a, b in chunked(n, CHUNK_PATHS, progress, cancel, "reference NEB"):
            _neb(images[a:b], reference._kernel_host, defaults.spring, defaults.fmax,
                 defaults.max_steps, True, _FIRE, MAX_IMAGE_MOVE, e[a:b], steps[a:b], done[a:b])
    return BarrierComparison(surrogate, e.max(axis=1) - e[:, 0], method)

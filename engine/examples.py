"""Example models the project builds itself (no data files needed).

Until the builders exist, the default model is an alpha-quartz supercell made with ASE.
"""
from __future__ import annotations

from ase import Atoms
from ase.spacegroup import crystal

#: alpha-quartz, P3_2 21 (No. 154), Levien, Prewitt & Weidner, Am. Mineral. 65, 920 (1980).
QUARTZ_CELLPAR = (4.9134, 4.9134, 5.4052, 90.0, 90.0, 120.0)
QUARTZ_SI = (0.4697, 0.0, 2.0 / 3.0)
QUARTZ_O = (0.4135, 0.2669, 0.1191 + 2.0 / 3.0)


def alpha_quartz(repeat: tuple[int, int, int] = (1, 1, 1)) -> Atoms:
    """alpha-quartz (9 atoms per cell, Si-O 1.604 A), repeated ``repeat`` times."""
    unit = crystal(
        ["Si", "O"], basis=[QUARTZ_SI, QUARTZ_O], spacegroup=154, cellpar=QUARTZ_CELLPAR
    )
    atoms = unit.repeat(repeat)
    atoms.info.clear()
    atoms.arrays.pop("spacegroup_kinds", None)
    atoms.info["name"] = "alpha-quartz {}x{}x{}".format(*repeat)
    return atoms


def default_model() -> Atoms:
    """The model the window shows at start: a 4x4x4 alpha-quartz supercell (576 atoms)."""
    return alpha_quartz((4, 4, 4))


def beta_cristobalite(repeat: tuple[int, int, int] = (1, 1, 1), a: float = 7.16) -> Atoms:
    """Ideal beta-cristobalite (Fd-3m, 8 Si + 16 O per cubic cell, Si-O-Si straight at a/8*sqrt(3)).

    Its density (2.17 g/cm3 at a = 7.16 A) and fourfold network are those of silica glass, which
    makes a jittered supercell a fair a-SiO2-like stand-in for benchmarks.
    """
    unit = crystal(
        ["Si", "O"], basis=[(0, 0, 0), (0.125, 0.125, 0.125)], spacegroup=227, setting=1,
        cellpar=[a, a, a, 90, 90, 90],
    )
    atoms = unit.repeat(repeat)
    atoms.info.clear()
    atoms.arrays.pop("spacegroup_kinds", None)
    atoms.info["name"] = "beta-cristobalite {}x{}x{}".format(*repeat)
    return atoms

"""Example models: how each is built, and where its built file lives.

The examples are made by the project's own builders; ``packaging/build_examples.py`` (``make
examples``) rebuilds them into ``resources/examples/`` so anyone can reproduce them, and the window
reads those files (fast) from File › Examples. If a file is missing the example is built on the
spot instead, with the same parameters.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional

from ase import Atoms

from .tasks import CancelFn, ProgressFn

BuildFn = Callable[[Optional[ProgressFn], Optional[CancelFn]], Atoms]


@dataclass(frozen=True)
class Example:
    key: str
    title: str
    build: BuildFn

    @property
    def filename(self) -> str:
        return f"{self.key}.extxyz"


def _crystal(name: str, repeat) -> BuildFn:
    def build(progress=None, cancel=None) -> Atoms:
        from .build.crystals import CrystalParams, build_crystal
        return build_crystal(CrystalParams(name, repeat), progress, cancel)
    return build


def _silica(n_si: int, x: float, form: str = "random-bonding",
            interface_switches: float = 0.0) -> BuildFn:
    def build(progress=None, cancel=None) -> Atoms:
        from .build.silica import SilicaParams, build_silica
        return build_silica(SilicaParams(n_si=n_si, x=x, form=form, seed=1,
                                         interface_switches=interface_switches), progress, cancel)
    return build


def _amorphous_si(progress=None, cancel=None) -> Atoms:
    from .build.network import NetworkParams, build_amorphous_si
    return build_amorphous_si(NetworkParams(n_atoms=512, seed=1), progress, cancel)


def _cu_sigma5(progress=None, cancel=None) -> Atoms:
    from .build.bicrystal import BicrystalParams, build_bicrystal
    return build_bicrystal(BicrystalParams("Cu", axis=(0, 0, 1), sigma=5, plane=(3, 1, 0),
                                           lateral_repeat=(6, 4)), progress, cancel)


def _cu_polycrystal(progress=None, cancel=None) -> Atoms:
    from .build.polycrystal import PolycrystalParams, build_polycrystal
    return build_polycrystal(PolycrystalParams("Cu", box=(60.0, 60.0, 60.0), n_grains=6, seed=1),
                             progress, cancel)


EXAMPLES: dict[str, Example] = {e.key: e for e in (
    Example("a-SiO2", "a-SiO2 (3000 atoms, WWW network)", _silica(1000, 2.0)),
    # The interface-cluster mixture with its Si/SiO2 interfaces relaxed by bond switches (see
    # build.silica): without them 37 % of the Si kept three or fewer bonds.
    Example("a-SiO", "a-SiO (interface-cluster model, relaxed interfaces, ~5000 atoms)",
            _silica(2500, 1.0, "mixture", interface_switches=600.0)),
    Example("a-Si", "a-Si (512 atoms, WWW)", _amorphous_si),
    Example("alpha-quartz", "α-quartz 4×4×4", _crystal("alpha-quartz", (4, 4, 4))),
    Example("beta-cristobalite", "β-cristobalite 3×3×3", _crystal("beta-cristobalite", (3, 3, 3))),
    # Octahedral Si: outside what the shipped Si K and O K models learnt (the Predict panel says so).
    Example("stishovite", "stishovite 4×4×6 (high-pressure SiO2)", _crystal("stishovite", (4, 4, 6))),
    Example("Cu-sigma5-310", "Cu Σ5(310)[001] bicrystal", _cu_sigma5),
    Example("Cu-polycrystal", "Cu polycrystal (6 grains)", _cu_polycrystal),
)}
#: The example the window opens on.
DEFAULT_EXAMPLE = "a-SiO2"


def examples_dir() -> Path:
    """Folder of the built example files (inside the resources package)."""
    from amorpha.resources import path
    return path("examples")


def example_path(key: str) -> Path:
    return examples_dir() / EXAMPLES[key].filename


def load_example(key: str, progress: Optional[ProgressFn] = None,
                 cancel: Optional[CancelFn] = None) -> Atoms:
    """The example's built file, or (when it is missing) the example built now."""
    example = EXAMPLES[key]
    path = example_path(key)
    if path.is_file():
        from .io import read_structure
        atoms = read_structure(path, progress=progress, cancel=cancel)
    else:
        atoms = example.build(progress, cancel)
    atoms.info["name"] = example.title
    return atoms

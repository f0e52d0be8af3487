"""How a person reads the per-atom columns the engine writes: the View panel's Colour by list
and the colour bar give titles ("Steinhardt q6, neighbour-averaged"), while scripts, the command
line's --color-by and project files keep the keys ("q6_avg"). Columns of unknown origin (a
LAMMPS dump's c_pe) keep their key as their title."""
from __future__ import annotations

import re

from amorpha.engine.spectra.features import FEATURES

TITLES = {
    "coordination": "Coordination number",
    "ring_count": "Rings through the atom",
    "ring_min_size": "Smallest ring through the atom",
    "tetrahedral_q": "Tetrahedral order q",
    "grain": "Grain",
    "oxidation": "Bonded O (Si oxidation state)",
    "site_energy": "Grain-boundary site energy",
    "emt_energy": "EMT energy",
    "energy_excess": "Excess energy (EMT model)",
    "inserted": "Inserted into a void",
    "type": "Atom type (from the file)",
    "rmc_type": "Atom type (RMC file)",
} | {f.column: f.title[0].upper() + f.title[1:] if f.from_model else f"Predicted {f.title}" for f in FEATURES}

UNITS = {"site_energy": "eV above the bulk", "emt_energy": "eV", "energy_excess": "eV/atom"} | {
    f.column: f.unit for f in FEATURES if f.unit}

#: titles of the columns an analysis names by a parameter (an element, an angular momentum l)
PATTERNS = (
    (r"coordination_(\w+)", "Bonded {0} neighbours"),
    (r"q(\d+)", "Steinhardt q{0}"),
    (r"q(\d+)_avg", "Steinhardt q{0}, neighbour-averaged"),
    (r"w(\d+)", "Steinhardt w{0}"),
    (r"w(\d+)_avg", "Steinhardt w{0}, neighbour-averaged"),
    (r"w(\d+)_hat", "Steinhardt ŵ{0} (normalised)"),
    (r"w(\d+)_hat_avg", "Steinhardt ŵ{0} (normalised), neighbour-averaged"),
)


def column_title(key: str) -> str:
    """The title of the per-atom column ``key`` (the key itself when it is not one of ours)."""
    if key in TITLES:
        return TITLES[key]
    for pattern, title in PATTERNS:
        match = re.fullmatch(pattern, key)
        if match:
            return title.format(*match.groups())
    return key


def column_label(key: str) -> str:
    """The colour bar's wording: the title and, where the column has one, its unit."""
    unit = UNITS.get(key)
    return f"{column_title(key)} ({unit})" if unit else column_title(key)

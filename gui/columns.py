"""How a person reads the per-atom columns the engine writes: the View panel's Colour by list
and the colour bar give titles ("Steinhardt q6, averaged": over the atom and its neighbours),
while scripts, the command line's --color-by and project files keep the keys ("q6_avg").
Columns of unknown origin (a LAMMPS dump's c_pe) keep their key as their title."""
from __future__ import annotations

import re

from amorpha.engine.spectra.features import FEATURES

#: short enough for the View dock's list at its usual width (~27 characters); the tooltip and
#: the colour bar have room for more
TITLES = {
    "coordination": "Coordination number",
    "ring_count": "Rings through the atom",
    "ring_min_size": "Smallest ring size",
    "tetrahedral_q": "Tetrahedral order q",
    "grain": "Grain",
    "oxidation": "Si oxidation state",
    "site_energy": "Site energy",
    "emt_energy": "EMT energy",
    "energy_excess": "Excess energy (EMT)",
    "inserted": "Inserted into a void",
    "type": "Atom type (file)",
    "rmc_type": "Atom type (RMC)",
    "training_distance": "Distance to training sites",
    "prediction_uncertainty": "Prediction uncertainty",
} | {f.column: f"Predicted {f.quantity}" for f in FEATURES if not f.from_model}

UNITS = {"site_energy": "eV above the bulk", "emt_energy": "eV", "energy_excess": "eV/atom"} | {
    f.column: f.unit for f in FEATURES if f.unit}

#: titles of the columns an analysis names by a parameter (an element, an angular momentum l)
PATTERNS = (
    (r"coordination_(\w+)", "Bonded {0} neighbours"),
    (r"q(\d+)", "Steinhardt q{0}"),
    (r"q(\d+)_avg", "Steinhardt q{0}, averaged"),
    (r"w(\d+)", "Steinhardt w{0}"),
    (r"w(\d+)_avg", "Steinhardt w{0}, averaged"),
    (r"w(\d+)_hat", "Steinhardt ŵ{0}"),
    (r"w(\d+)_hat_avg", "Steinhardt ŵ{0}, averaged"),
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

"""Per-element constants the engine and the viewer share (from ASE's tables)."""
from __future__ import annotations

import numpy as np
from ase.data import atomic_numbers, chemical_symbols, covalent_radii
from ase.data.colors import jmol_colors

#: Multiplier on the sum of covalent radii that makes a default bond cutoff (Si–O: 2.12 Å).
BOND_TOLERANCE = 1.2


def jmol_rgb(numbers: np.ndarray) -> np.ndarray:
    """(n, 3) float RGB in [0, 1] of the Jmol colour of each atomic number."""
    numbers = np.asarray(numbers, dtype=np.int64)
    return np.asarray(jmol_colors, dtype=np.float64)[numbers]


def covalent_radius(numbers: np.ndarray) -> np.ndarray:
    """Covalent radius in Å of each atomic number (ASE's Cordero table)."""
    numbers = np.asarray(numbers, dtype=np.int64)
    return np.asarray(covalent_radii, dtype=np.float64)[numbers]


def symbol(z: int) -> str:
    return chemical_symbols[int(z)]


def number(symbol_: str) -> int:
    """Atomic number of a symbol, case-insensitive ("si" -> 14); KeyError if unknown."""
    s = symbol_.strip()
    return atomic_numbers[s[:1].upper() + s[1:].lower()]

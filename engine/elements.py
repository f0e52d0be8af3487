"""Per-element constants the engine and the viewer share (from ASE's tables)."""
from __future__ import annotations

import math

import numpy as np
from ase.data import atomic_numbers, chemical_symbols, covalent_radii
from ase.data.colors import jmol_colors

from .words import counted

#: Multiplier on the sum of covalent radii that makes a default bond cutoff (Si–O: 2.12 Å).
BOND_TOLERANCE = 1.2
#: The elements that take the anion's place in ionic and polar compounds (oxides, nitrides,
#: chalcogenides, halides).
ANIONS = frozenset(atomic_numbers[s] for s in ("N", "O", "F", "S", "Cl", "Se", "Br", "Te", "I"))
#: Non-metals and metalloids, which bond to their own kind (Si–Si in a-SiO, S–S, C–C); every
#: other element is a metal.
NON_METALS = frozenset(atomic_numbers[s] for s in (
    "H", "He", "B", "C", "N", "O", "F", "Ne", "Si", "P", "S", "Cl", "Ar", "Ge", "As", "Se", "Br", "Kr",
    "Sb", "Te", "I", "Xe", "At", "Rn"))


def is_metal(z: int) -> bool:
    return int(z) > 0 and int(z) not in NON_METALS


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


#: Non-metals in the order formulas cite them, least electronegative first (IUPAC's sequence:
#: SiO2, SiC, NH3, H2O, Cl2O, OF2); metals come before them, alphabetically (ASE's "metal" order).
NON_METAL_SEQUENCE = "Rn Xe Kr Ar Ne He B Si Ge C Sb As P N H Te Se S At I Br Cl O F".split()


def reduced_formula(numbers) -> str:
    """"SiO2": the reduced formula with cations first (metals alphabetically, then non-metals in
    :data:`NON_METAL_SEQUENCE`); the Hill order ASE writes ("O2000Si1000") reads backwards to a
    student. O(n) in numpy (ASE's formula walks the atoms in Python)."""
    counts = np.bincount(np.asarray(numbers, dtype=np.int64).reshape(-1))
    present = np.flatnonzero(counts)
    if not len(present):
        return ""
    unit = math.gcd(*(int(c) for c in counts[present]))

    def rank(z: int) -> tuple:
        name = chemical_symbols[z]
        return (1, NON_METAL_SEQUENCE.index(name)) if name in NON_METAL_SEQUENCE else (0 if z else 2, name)

    return "".join(chemical_symbols[z] + (str(counts[z] // unit) if counts[z] > unit else "")
                   for z in sorted(present.tolist(), key=rank))


def formula_text(numbers) -> str:
    """"SiO2 (3,000 atoms)": how every place that shows a model names it."""
    n = int(np.size(numbers))
    return f"{reduced_formula(numbers)} ({counted(n, 'atom')})" if n else "no atoms"


def elements_present(numbers: np.ndarray) -> np.ndarray:
    """Sorted atomic numbers that occur: a count per element, O(n), where np.unique sorts all
    n atoms (and holds the GIL while it does, ~0.1 s for 10^6 atoms)."""
    counts = np.bincount(np.asarray(numbers, dtype=np.int64).reshape(-1))
    return np.flatnonzero(counts).astype(np.int64)


def present_symbols(numbers: np.ndarray) -> list[str]:
    """Symbols of the elements that occur, by atomic number; O(n) in numpy, for the GUI thread
    (ASE's get_chemical_symbols builds a list of n strings)."""
    return [chemical_symbols[z] for z in elements_present(numbers)]


def count_element(numbers: np.ndarray, symbol_: str) -> int:
    """How many atoms are ``symbol_``."""
    return int(np.count_nonzero(np.asarray(numbers) == number(symbol_)))


def element_types(numbers: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(elements present, each atom's index into them): ``np.unique(..., return_inverse=True)``
    without the sort."""
    numbers = np.asarray(numbers, dtype=np.int64).reshape(-1)
    present = elements_present(numbers)
    lookup = np.full(int(present[-1]) + 1 if len(present) else 1, -1, dtype=np.int64)
    lookup[present] = np.arange(len(present))
    return present, lookup[numbers]

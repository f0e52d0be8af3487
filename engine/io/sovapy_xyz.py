"""The cell line of sovapy-style xyz files (ASE cannot read it).

sovapy writes a plain ``.xyz`` whose second line is a cell, not a comment::

    999
    CUB 24.713
    O   3.040786   2.853190   4.531944

Keywords and their numbers: ``CUB a``, ``HEX a c``, ``ORT a b c``, ``TET a c``,
``MON a b c beta``, ``RHO a alpha`` and ``TRI`` with the three cell vectors (9 numbers, on the
same line or on the lines after it). Angles are in degrees, lengths in Ångström; a length that
is not positive, or an angle that makes no cell, is refused at its line.
"""
from __future__ import annotations

from typing import Optional

import numpy as np
from ase.geometry import cellpar_to_cell

#: keyword -> how many numbers follow it
CELL_KEYWORDS = {"CUB": 1, "HEX": 2, "ORT": 3, "TET": 2, "MON": 4, "RHO": 2, "TRI": 9}

_NAMES = {
    "CUB": "a", "HEX": "a c", "ORT": "a b c", "TET": "a c", "MON": "a b c beta",
    "RHO": "a alpha", "TRI": "the three cell vectors (9 numbers)",
}


def cell_keyword(line: str) -> Optional[str]:
    """The sovapy keyword that starts ``line`` (the xyz second line), or None.

    A keyword counts only when what follows is numeric (or nothing, for ``TRI``), so a plain
    comment that happens to start with "Tri..." or "CUB sample" stays a comment.
    """
    tokens = line.split()
    if not tokens or tokens[0].upper() not in CELL_KEYWORDS:
        return None
    for token in tokens[1:]:
        try:
            float(token)
        except ValueError:
            return None
    if len(tokens) == 1 and tokens[0].upper() != "TRI":
        return None
    return tokens[0].upper()


def numbers_missing(line: str) -> int:
    """How many cell numbers a ``TRI`` header still needs from the following lines."""
    keyword = cell_keyword(line)
    if keyword is None:
        return 0
    return max(CELL_KEYWORDS[keyword] - (len(line.split()) - 1), 0) if keyword == "TRI" else 0


#: the largest angle each keyword's angle may have, in degrees: three equal angles (RHO) make
#: a cell only below 120°
_MAX_ANGLE = {"alpha": 120.0, "beta": 180.0}


def _check_cell_numbers(keyword: str, values: list[float]) -> None:
    """Refuse lengths that are not positive and angles that make no cell (ValueError naming the
    number): ``CUB -5`` was read as an inverted 5 Å box, and ``RHO 4 130`` failed inside ASE."""
    for name, value in zip(_NAMES[keyword].split(), values):
        limit = _MAX_ANGLE.get(name)
        if limit is None and not (np.isfinite(value) and value > 0):
            raise ValueError(f"the cell line '{keyword}' gives {name} = {value:g}; a box length must be "
                             "a positive number of Å")
        if limit is not None and not 0 < value < limit:
            raise ValueError(f"the cell line '{keyword}' gives {name} = {value:g}; it must lie between "
                             f"0 and {limit:g}°")


def cell_from_header(text: str) -> np.ndarray:
    """The 3x3 cell (rows are vectors) from the header text (keyword line plus TRI continuation).

    Raises ValueError with a sentence a user can act on when the numbers do not fit the keyword.
    """
    tokens = text.split()
    keyword = tokens[0].upper()
    values = [float(t) for t in tokens[1:]]
    need = CELL_KEYWORDS[keyword]
    if len(values) != need:
        raise ValueError(
            f"the cell line '{keyword}' needs {need} number{'s' if need > 1 else ''} "
            f"({_NAMES[keyword]}), found {len(values)}")
    if keyword == "TRI":
        return np.array(values, dtype=float).reshape(3, 3)
    _check_cell_numbers(keyword, values)
    if keyword == "CUB":
        (a,) = values
        par = [a, a, a, 90, 90, 90]
    elif keyword == "HEX":
        a, c = values
        par = [a, a, c, 90, 90, 120]
    elif keyword == "ORT":
        par = [*values, 90, 90, 90]
    elif keyword == "TET":
        a, c = values
        par = [a, a, c, 90, 90, 90]
    elif keyword == "MON":
        a, b, c, beta = values
        par = [a, b, c, 90, beta, 90]
    else:  # RHO
        a, alpha = values
        par = [a, a, a, alpha, alpha, alpha]
    return cellpar_to_cell(par)

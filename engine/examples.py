"""Example models the project builds itself (no data files needed).

Until the builders exist, the default model is an alpha-quartz supercell.
"""
from __future__ import annotations

from ase import Atoms

from .build.crystals import alpha_quartz


def default_model() -> Atoms:
    """The model the window shows at start: a 4x4x4 alpha-quartz supercell (576 atoms)."""
    return alpha_quartz((4, 4, 4))

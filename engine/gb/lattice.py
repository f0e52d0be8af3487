"""An oracle held at a lattice constant the user chose instead of its own equilibrium a₀.

Oracles build candidates at their own a₀ so the grains carry no strain (:mod:`.oracles`). A user
who wants the boundary at a measured or another potential's lattice constant gets the same
relaxation, with both the bicrystal and the bulk reference at that constant: γ is then the
excess over the equally strained crystal.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from ..build.crystals import unit_cell
from ..errors import require
from .oracles import Oracle, Reference


@dataclass(frozen=True)
class FixedLatticeOracle(Oracle):
    """``inner`` with its reference (a, e_bulk) taken at lattice constant ``a`` (Å)."""

    inner: Optional[Oracle] = None
    a: float = 0.0

    @property
    def name(self) -> str:  # the inner oracle's cache folder and labels
        return self.inner.name

    def settings(self) -> dict:
        return {**self.inner.settings(), "lattice_constant": round(float(self.a), 8)}

    def check(self, crystal: str) -> None:
        self.inner.check(crystal)

    def single_point(self, atoms):
        return self.inner.single_point(atoms)

    def relax(self, atoms, cancel=None):
        return self.inner.relax(atoms, cancel)

    def reference(self, crystal: str) -> Reference:
        self.check(crystal)
        cell = unit_cell(crystal, self.a).repeat(2)
        return Reference(float(self.a), self.single_point(cell) / len(cell))


def at_lattice_constant(oracle: Oracle, a: Optional[float]) -> Oracle:
    """``oracle`` itself for ``a`` None (its own a₀), else the oracle held at ``a`` Å."""
    if a is None:
        return oracle
    require(isinstance(a, (int, float)) and 0.5 <= a <= 100.0, "a",
            f"lattice constant must be between 0.5 and 100 Å, got {a!r}")
    return FixedLatticeOracle(oracle.fmax, oracle.max_steps, inner=oracle, a=float(a))


__all__ = ["FixedLatticeOracle", "at_lattice_constant"]

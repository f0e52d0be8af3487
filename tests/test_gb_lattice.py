"""An oracle held at a chosen lattice constant: the bulk reference and the bicrystal both at it."""
import pytest
from ase.build import bulk
from ase.calculators.emt import EMT

from amorpha.engine.errors import ParameterError
from amorpha.engine.gb import GbBoundary, GbSearchParams, candidate_grid, make_oracle
from amorpha.engine.gb.lattice import at_lattice_constant


def test_reference_is_the_crystal_at_that_lattice_constant():
    oracle = make_oracle("emt", fmax=0.05)
    assert at_lattice_constant(oracle, None) is oracle
    held = at_lattice_constant(oracle, 3.70)
    ref = held.reference("Cu")
    cu = bulk("Cu", "fcc", a=3.70, cubic=True)
    cu.calc = EMT()
    assert ref.a == 3.70 and ref.e_bulk == pytest.approx(cu.get_potential_energy() / len(cu), abs=1e-10)
    own = oracle.reference("Cu")
    assert ref.e_bulk > own.e_bulk  # a₀ is EMT's minimum
    assert held.name == "emt" and held.settings()["lattice_constant"] == 3.70


def test_candidates_are_built_at_that_lattice_constant():
    held = at_lattice_constant(make_oracle("emt", fmax=0.05), 3.70)
    cs = candidate_grid(GbSearchParams(GbBoundary("Cu", 5, (3, 1, 0), bulk_thickness=6.0), 1, 1, (0.0,), (0.7,)))
    evaluation = held.evaluate(cs[0], held.reference("Cu"))
    assert evaluation.cell[0, 0] == pytest.approx(3.70)


def test_absurd_lattice_constant_is_refused():
    with pytest.raises(ParameterError, match="between 0.5 and 100"):
        at_lattice_constant(make_oracle("emt"), 0.1)
    at_lattice_constant(make_oracle("emt"), 0.5)  # the dialogs' own limit, which the message names, is taken

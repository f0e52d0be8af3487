"""Melt-quench at the sub-oxide composition SiO (``MeltQuenchParams(system="SiO")``).

Parameters are checked without LAMMPS; one short Tersoff run (200 atoms) must give one O per Si,
Si–O bonds of a silicate and Si–Si bonds of silicon side by side (SiO has both; SiO2 has no
Si–Si bond).
"""
import numpy as np
import pytest

from amorpha.engine.build import BuildParameterError
from ase.build import bulk

from amorpha.engine.build.melt_quench import (
    SYSTEMS, MeltQuenchParams, build_melt_quench, lammps_available, minimize_structure,
)
from amorpha.engine.neighbors import neighbor_list


def test_sio_rounds_to_whole_sio_units_at_the_density_asked():
    p = MeltQuenchParams(system="SiO", n_atoms=651, density=2.2)
    assert SYSTEMS["SiO"] == 1 and p.n_units == 326 and p.n_atoms_built == 652
    mass = 326 * (28.085 + 15.999)  # amu, as ASE has them
    assert mass / (0.602214076 * p.box_length**3) == pytest.approx(2.2, rel=1e-12)
    with pytest.raises(BuildParameterError) as info:
        MeltQuenchParams(system="SiO3").validate()
    assert info.value.parameter == "system" and "SiO" in str(info.value)


@pytest.mark.skipif(not lammps_available(), reason="optional LAMMPS is not installed")
def test_tersoff_sio_quench_has_si_si_and_si_o_bonds():
    atoms = build_melt_quench(MeltQuenchParams(
        system="SiO", potential="tersoff", n_atoms=200, density=2.2, quench_rate=2000.0,
        melt_time_ps=1.0, threads=1))
    z = atoms.numbers
    assert (z == 14).sum() == (z == 8).sum() == 100
    assert atoms.info["system"] == "SiO" and atoms.info["name"].startswith("a-SiO melt-quench")
    nl = neighbor_list(atoms, 2.7)
    rows = np.repeat(np.arange(len(atoms)), nl.counts())
    si_o = (z[rows] == 14) & (z[nl.indices] == 8) & (nl.distances < 2.0)
    si_si = (z[rows] == 14) & (z[nl.indices] == 14)
    # Si–O at silica's measured 1.608 Å (Grimley, Wright & Sinclair 1990) at the short end; the
    # 2000 K/ps quench of 200 atoms leaves a tail of stretched bonds, so the median sits higher
    si_o_lengths = nl.distances[si_o]
    assert abs(np.percentile(si_o_lengths, 5) - 1.608) < 0.02, np.percentile(si_o_lengths, 5)
    assert abs(np.median(si_o_lengths) - 1.608) < 0.06, np.median(si_o_lengths)
    # One O per Si leaves about half the Si bonds to other Si, at silicon's 2.35 Å.
    assert si_si.sum() / 2 > 50
    assert 2.25 < np.median(nl.distances[si_si]) < 2.5


@pytest.mark.parametrize("atoms", [
    bulk("Cu", "fcc", a=3.6, cubic=True).repeat(4),  # not Si/O
    bulk("Si", "diamond", a=5.43).repeat(4),  # the primitive cell is not orthorhombic
    bulk("Si", "diamond", a=5.43, cubic=True),  # 5.43 Å is shorter than twice the cut-off
])
def test_minimize_structure_names_what_it_cannot_take(atoms):
    with pytest.raises(BuildParameterError) as info:
        minimize_structure(atoms)
    assert info.value.parameter == "atoms"


@pytest.mark.skipif(not lammps_available(), reason="optional LAMMPS is not installed")
def test_minimize_structure_relaxes_diamond_si_to_tersoffs_lattice():
    """Tersoff's Si (the Munetoh file keeps Tersoff 1988's Si–Si terms) has its minimum at
    a = 5.432 Å; a 2 % compressed crystal must come back to it."""
    atoms = bulk("Si", "diamond", a=5.43 * 0.98, cubic=True).repeat(2)
    relaxed = minimize_structure(atoms)
    a = relaxed.cell.lengths() / 2
    assert np.allclose(a, 5.432, atol=0.01), a
    assert abs(relaxed.info["pressure_GPa"]) < 0.1
    assert len(relaxed) == len(atoms) and np.all(relaxed.numbers == 14)

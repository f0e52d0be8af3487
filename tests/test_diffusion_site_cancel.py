"""The site search's grid-wide steps hear Stop: the steepest-neighbour pass (grid minima), the basin
labels and the Hessians of the minima ran in one call each (3 s, 5 s and 1 s for a 192k-atom a-SiO2
host on a 0.4 Å grid), so Cancel waited for them. They now go in chunks that ask ``cancel``, and
give what they gave in one piece."""
import numpy as np
import pytest
from ase.build import bulk

from amorpha.engine.diffusion import HostPotential
from amorpha.engine.diffusion import sites
from amorpha.engine.tasks import Cancelled


def _steepest_by_numpy(energies):
    """The lowest of each point and its 26 periodic neighbours in the order (energy, flat index)."""
    index = np.arange(energies.size).reshape(energies.shape)
    best_e, best_i = energies.copy(), index.copy()
    for d0 in (-1, 0, 1):
        for d1 in (-1, 0, 1):
            for d2 in (-1, 0, 1):
                e = np.roll(energies, (-d0, -d1, -d2), axis=(0, 1, 2))
                i = np.roll(index, (-d0, -d1, -d2), axis=(0, 1, 2))
                better = (e < best_e) | ((e == best_e) & (i < best_i))
                best_e, best_i = np.where(better, e, best_e), np.where(better, i, best_i)
    return best_i.reshape(-1)


class Counting:
    """A cancel that answers True from its ``at``-th question on, and counts the questions."""

    def __init__(self, at=None):
        self.at, self.asked = at, 0

    def __call__(self):
        self.asked += 1
        return self.at is not None and self.asked >= self.at


@pytest.fixture
def grid(monkeypatch):
    """A 12 × 7 × 9 grid with plateaus (ties) in slabs of 2 × 7 × 9 points: 6 chunks."""
    monkeypatch.setattr(sites, "CHUNK_DESCENT", 2 * 7 * 9, raising=False)
    monkeypatch.setattr("amorpha.engine.diffusion.potential.THREADS", 1)  # chunks in order
    return np.round(np.random.default_rng(3).random((12, 7, 9)), 1)


def test_grid_minima_and_basins_are_chunked_and_unchanged(grid):
    down = sites.steepest_neighbours(grid)
    assert np.array_equal(down, _steepest_by_numpy(grid))
    cancel = Counting()
    minima = sites._grid_minima(grid, np.inf, cancel=cancel)
    assert cancel.asked >= 6  # asked between the slabs, not once
    assert np.array_equal(minima, np.flatnonzero(down == np.arange(grid.size)))
    labels = sites.basins(grid, minima, np.arange(len(minima)), cancel=Counting(), down=down)
    # every point drains to the minimum at the end of its chain of steepest neighbours
    end = np.arange(grid.size)
    for _ in range(grid.size):
        end = down[end]
    assert np.array_equal(labels.reshape(-1), np.searchsorted(minima, end))


def test_grid_minima_basins_and_hessians_stop_when_cancelled(grid):
    for call in (lambda c: sites._grid_minima(grid, np.inf, cancel=c),
                 lambda c: sites.basins(grid, np.array([0]), np.array([0]), cancel=c)):
        cancel = Counting(at=3)
        with pytest.raises(Cancelled):
            call(cancel)
        assert cancel.asked == 3  # stopped at the third question, before the last slabs
    potential = HostPotential(bulk("Cu", "fcc", a=3.6, cubic=True), "Li", cutoff=3.0)
    points = np.random.default_rng(0).random((5000, 3)) * 3.6  # 30 000 gradients: 8 chunks
    cancel = Counting(at=2)
    with pytest.raises(Cancelled):
        sites.hessians(potential, points, cancel)
    assert cancel.asked == 2
    h = sites.hessians(potential, points[:3], Counting())
    assert h.shape == (3, 3, 3) and np.allclose(h, h.transpose(0, 2, 1))

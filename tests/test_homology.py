"""Persistent homology: analytic diagrams (circle, simple cubic), gudhi's own output, periodicity."""
import threading
import time

import numpy as np
import pytest
from ase import Atoms
from ase.build import bulk

from amorpha.engine.errors import ParameterError
from amorpha.engine.order.homology import HomologyParams, compute_homology

gudhi = pytest.importorskip("gudhi")


def test_points_on_a_circle_give_one_loop_dying_at_r_squared():
    n, radius = 13, 3.0
    th = np.arange(n) * 2 * np.pi / n
    atoms = Atoms(f"C{n}", positions=np.c_[radius * np.cos(th), radius * np.sin(th), np.zeros(n)])
    res = compute_homology(atoms)
    assert res.dimension.tolist() == [1] and not res.periodic
    # born when neighbouring balls touch (half the chord), dies when the disc is covered
    assert res.birth[0] == pytest.approx((radius * np.sin(np.pi / n)) ** 2, rel=1e-9)
    assert res.death[0] == pytest.approx(radius**2, rel=1e-9)
    assert set(res.pair_atoms([0])) <= set(range(n)) and len(res.pair_atoms([0])) >= 4


def test_simple_cubic_lattice_per_cell():
    """Every square face is a loop (2 per site) from a²/4 to a²/2, every cube a cavity from a²/2
    to 3a²/4, and nothing else: the periodic images make every site alike."""
    a = 1.5
    atoms = bulk("Po", "sc", a=a).repeat((4, 4, 4))
    res = compute_homology(atoms, HomologyParams(margin=3 * a))
    assert res.periodic and res.reliable.all()
    h1, h2 = res.diagram(1), res.diagram(2)
    assert len(h1) == 2 * 64 and len(h2) == 64
    np.testing.assert_allclose(h1, np.tile([a**2 / 4, a**2 / 2], (128, 1)), rtol=1e-9)
    np.testing.assert_allclose(h2, np.tile([a**2 / 2, 3 * a**2 / 4], (64, 1)), rtol=1e-9)
    # the atoms of a cavity's killing tetrahedron are corners of one cube
    corners = atoms.positions[res.death_atoms[res.dimension == 2][0]]
    assert len(corners) == 4


def test_open_cluster_equals_gudhi_directly():
    rng = np.random.default_rng(3)
    pos = rng.uniform(0, 8, (120, 3))
    res = compute_homology(Atoms("C120", positions=pos), HomologyParams(min_persistence=0.0))
    tree = gudhi.AlphaComplex(points=pos).create_simplex_tree()
    tree.compute_persistence()
    for dim in (1, 2):
        theirs = np.array(sorted(p for p in tree.persistence_intervals_in_dimension(dim).tolist()
                                 if p[1] - p[0] > 0))
        ours = np.array(sorted(res.diagram(dim).tolist()))
        np.testing.assert_allclose(ours, theirs, rtol=1e-12)


def _pairs(res):
    return sorted(map(tuple, np.c_[res.dimension, res.birth, res.death].round(9)))


def test_periodic_diagram_does_not_depend_on_where_the_cell_starts():
    """Moving the origin of a periodic random structure, or widening the margin of images,
    leaves the diagram as it is (given a margin of about one cell)."""
    rng = np.random.default_rng(5)
    atoms = Atoms("C150", scaled_positions=rng.random((150, 3)), cell=[[9, 0, 0], [2, 8, 0], [1, 1, 8.5]],
                  pbc=True)
    moved = atoms.copy()
    moved.positions += [3.3, -1.7, 4.1]
    moved.wrap()
    params = HomologyParams(margin=10.0)
    a = compute_homology(atoms, params)
    assert a.reliable.all() and len(a.diagram(1)) > 100 and len(a.diagram(2)) > 100
    assert _pairs(a) == _pairs(compute_homology(moved, params))
    assert _pairs(a) == _pairs(compute_homology(atoms, HomologyParams(margin=14.0)))


def test_one_element_and_parameters():
    atoms = bulk("NaCl", "rocksalt", a=5.64).repeat((2, 2, 2))
    na = compute_homology(atoms, HomologyParams(element="Na", margin=6.0))
    assert set(na.pair_atoms(np.arange(len(na.birth)))) <= set(np.flatnonzero(atoms.numbers == 11))
    with pytest.raises(ParameterError):
        HomologyParams(margin=-1)
    with pytest.raises(ParameterError):
        compute_homology(atoms[:3], HomologyParams(margin=1.0))


def test_in_a_child_process_the_same_diagram():
    """Past CHILD_MIN_POINTS the window's call runs gudhi in a child process: same pairs, same
    atoms, same order."""
    rng = np.random.default_rng(5)
    atoms = Atoms("C600", scaled_positions=rng.random((600, 3)),
                  cell=[[14, 0, 0], [2, 13, 0], [1, 1, 13.5]], pbc=True)
    params = HomologyParams(margin=8.0)
    here, there = compute_homology(atoms, params), compute_homology(atoms, params, in_child=True)
    for field in ("dimension", "birth", "death", "birth_atoms", "death_atoms", "reliable"):
        assert np.array_equal(getattr(here, field), getattr(there, field)), field


def test_in_a_child_process_the_caller_stays_live_and_cancel_is_at_once():
    """gudhi holds the GIL for its whole run (0.5 s stalls at 24k atoms, 2.4 s at 108k): in a
    child process the calling thread keeps running and Cancel ends the child within a poll."""
    from gil_probe import run_beside

    from amorpha.engine.tasks import Cancelled, CancelToken

    atoms = Atoms("C30000", positions=np.random.default_rng(1).random((30000, 3)) * 75.0)
    token, progress = CancelToken(), []

    def work():
        threading.Timer(1.0, token.set).start()
        try:
            compute_homology(atoms, HomologyParams(), progress=lambda f, m="": progress.append(
                (time.perf_counter(), f, m)), cancel=token.is_set, in_child=True)
        except Cancelled:
            return time.perf_counter()
        raise AssertionError("not cancelled")

    ended, seconds, longest_gap = run_beside(work)
    assert "alpha complex of 30,000 points" in [m for _, _, m in progress]
    assert seconds < 1.8, f"Cancel at 1 s took until {seconds:.2f} s"
    assert longest_gap < 0.2, f"the calling thread waited {longest_gap:.2f} s for the GIL"

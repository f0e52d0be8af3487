"""Persistent homology: analytic diagrams (circle, simple cubic), gudhi's own output, periodicity."""
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

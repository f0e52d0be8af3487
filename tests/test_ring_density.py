"""Density around rings in their principal frames: an analytic ring, quartz symmetry, normalisation."""
import numpy as np
import pytest
from ase import Atoms
from scipy.spatial.transform import Rotation

from amorpha.engine.build.crystals import alpha_quartz
from amorpha.engine.errors import ParameterError
from amorpha.engine.order.ring_density import RingDensityParams, compute_ring_density, warm_up
from amorpha.engine.order.rings import RingParams, compute_rings

SI_O = {("Si", "O"): 2.0, ("Si", "Si"): 0, ("O", "O"): 0}
# a planar hexagon with mirror lines x = 0 and y = 0, longer along x (so x is its s1 axis)
HEXAGON = np.array([[2.0, 0, 0], [0.9, 1.2, 0], [-0.9, 1.2, 0], [-2.0, 0, 0], [-0.9, -1.2, 0],
                    [0.9, -1.2, 0]])
HEIGHT = 2.5  # an O atom above the ring centre, not bonded


def _bin(result, point):
    return tuple(np.searchsorted(result.edges, p) - 1 for p in point)


def test_planar_hexagon_in_its_frame():
    rot = Rotation.from_euler("zyx", [37, 71, -23], degrees=True)
    local = np.vstack([HEXAGON, [0, 0, HEIGHT]])
    atoms = Atoms("C6O", positions=rot.apply(local) + 10.0, cell=[20, 20, 20], pbc=True)
    rings = compute_rings(atoms, RingParams(max_size=8, cutoffs={("C", "C"): 1.9, ("C", "O"): 0}))
    assert rings.histogram() == {6: 1}
    res = compute_ring_density(atoms, rings, RingDensityParams(half_width=4.0, bins=41))
    vol = (res.edges[1] - res.edges[0]) ** 3
    counts = res.of_size(6) * vol
    # every ring atom's bin holds exactly one atom (the ring maps onto itself under the mirrors)
    for p in HEXAGON:
        assert counts[_bin(res, p)] == pytest.approx(1.0)
    # the O atom is split between its place above and its mirror image below the ring
    assert counts[_bin(res, (0, 0, HEIGHT))] == pytest.approx(0.5)
    assert counts[_bin(res, (0, 0, -HEIGHT))] == pytest.approx(0.5)
    assert counts.sum() == pytest.approx(7.0)
    # nothing else anywhere, and the views show the same atoms
    assert np.count_nonzero(counts) == 6 + 2
    side = res.slab(6, "y", thickness=0.1)  # x, z map through the ring's long axis
    assert side[_bin(res, (2.0, 0, 0))[0], _bin(res, (0, 0, HEIGHT))[2]] == 0
    assert side[_bin(res, (0, 0, 0))[0], _bin(res, (0, 0, HEIGHT))[2]] == pytest.approx(0.5 / vol)
    only_o = compute_ring_density(atoms, rings, RingDensityParams(half_width=4.0, bins=41, element="O"))
    assert only_o.of_size(6).sum() * vol == pytest.approx(1.0)
    assert only_o.bulk_density == pytest.approx(1 / 20**3)


def test_quartz_six_rings_are_equivalent():
    """All 6-rings of alpha-quartz are related by symmetry: their mean frame density equals the
    density around any one of them, and it counts each ring's own 12 atoms."""
    atoms = alpha_quartz((3, 3, 3))
    rings = compute_rings(atoms, RingParams(definition="primitive", cutoffs=SI_O, count_element="Si"))
    six = np.flatnonzero((rings.sizes_counted == 6) & rings.counted)
    params = RingDensityParams(half_width=5.0, bins=51)
    mean = compute_ring_density(atoms, rings, params, select=six)
    assert mean.sizes.tolist() == [6] and mean.n_rings.tolist() == [len(six)]
    for r in six[:: max(len(six) // 5, 1)]:
        one = compute_ring_density(atoms, rings, params, select=[r])
        np.testing.assert_allclose(one.of_size(6), mean.of_size(6), rtol=1e-12, atol=1e-12)
    vol = (mean.edges[1] - mean.edges[0]) ** 3
    assert mean.bulk_density == pytest.approx(len(atoms) / atoms.get_volume())
    # the slab |z| < 1.7 Å around the ring plane (roughness 0.55: a puckered ring) holds at least
    # the ring's own 12 atoms
    assert mean.of_size(6)[:, :, np.abs(mean.centres) < 1.7].sum() * vol >= 12 - 1e-9
    # the whole cube holds about bulk density x volume atoms (within 15 %, a 10 Å cube)
    total = mean.of_size(6).sum() * vol
    assert total == pytest.approx(mean.bulk_density * 10.0**3, rel=0.15)


def test_parameters_are_checked_and_warm_up_runs():
    with pytest.raises(ParameterError):
        RingDensityParams(bins=40)
    with pytest.raises(ParameterError):
        RingDensityParams(half_width=-1)
    warm_up()

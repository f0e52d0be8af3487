"""The xTB reference of a mobile atom is a continuous function of its position: a host atom
crossing the cluster's sphere makes the one-radius cluster energy jump, the radius-averaged one
(sorted adaptive partitioning over a buffer shell) ramps smoothly."""
import numpy as np
import pytest
from ase.build import molecule

from amorpha.engine.diffusion.reference import XtbReference, switch
from amorpha.engine.errors import ParameterError
from amorpha.engine.surrogate.cache import site_key


def two_waters():
    """Water A, which binds the Cu, and water B 4.4 Å away, whose atoms cross the 3.75–4.25 Å
    shell around the Cu as it circles A."""
    a, b = molecule("H2O"), molecule("H2O")
    b.translate([4.4, 0.3, 0.2])
    host = a + b
    host.set_cell([20.0, 20.0, 20.0])
    host.center()
    host.pbc = True
    return host


def arc(host, n=41):
    """Cu 2.2 Å from water A's O, on an arc that takes it from 3.2 to 6 Å from water B."""
    phi = np.radians(np.linspace(40.0, 120.0, n))
    return host.positions[0] + np.c_[2.2 * np.cos(phi), np.full(n, -0.8), 2.2 * np.sin(phi)]


def test_switch_goes_from_one_to_zero_with_flat_ends():
    s = np.linspace(0.0, 1.0, 101)
    lam = switch(s)
    assert lam[0] == 1.0 and lam[-1] == 0.0 and np.all(np.diff(lam) <= 0.0)
    assert np.allclose(lam + switch(1.0 - s), 1.0)  # symmetric about the middle
    h = 1e-4
    for end in (0.0, 1.0):  # zero slope and curvature at both ends
        assert abs(switch(end + h) - 2 * switch(end) + switch(end - h)) < 1e-10
        assert abs(switch(end + h) - switch(end - h)) < 1e-10


def test_radius_averaged_energy_is_continuous_where_the_cluster_jumps(tmp_path):
    pytest.importorskip("tblite")
    host = two_waters()
    line = arc(host)
    plain = XtbReference(host, "Cu", cluster_radius=4.0, buffer=0.0, cache=tmp_path)
    smooth = XtbReference(host, "Cu", cluster_radius=4.0, buffer=0.5, cache=tmp_path)
    e0, e1 = plain.energy(line), smooth.energy(line)
    assert np.all(np.isfinite(e0)) and np.all(np.isfinite(e1))
    # the one-radius cluster jumps when water B's atoms cross 4 Å: > 0.01 eV in the second
    # difference (the curvature of the path gives < 0.002); the averaged energy ramps instead
    kink0, kink1 = np.abs(np.diff(e0, 2)).max(), np.abs(np.diff(e1, 2)).max()
    assert kink0 > 0.01 and kink1 < 0.005 and kink1 < 0.25 * kink0
    assert np.abs(np.diff(e1)).max() < 0.8 * np.abs(np.diff(e0)).max()
    # far from the shell (water B beyond 4.25 Å, or inside 3.75 Å) both are the same cluster
    far = np.linalg.norm(line[:, None] - host.positions[None, 3:], axis=2).min(axis=1) > 4.3
    assert far.any() and np.allclose(e0[far], e1[far], atol=1e-9)


def test_partitions_are_nested_clusters_whose_weights_sum_to_one():
    host = two_waters()
    reference = XtbReference(host, "Cu", cluster_radius=4.0, buffer=0.5, cache=False)
    sizes = []
    for point in arc(host, 9):
        parts = reference.partitions(point)
        assert np.isclose(sum(w for w, _ in parts), 1.0) and all(w > 0 for w, _ in parts)
        keys = {site_key(c.numbers, c.positions, {}) for _, c in parts}
        assert len(keys) == len(parts)  # equal clusters are merged
        sizes_here = [len(c.numbers) for _, c in parts]
        assert min(sizes_here) >= len(reference.cluster(point, 3.75).numbers)
        sizes.append(len(parts))
    assert max(sizes) >= 2 and min(sizes) == 1
    with pytest.raises(ParameterError, match="buffer"):
        XtbReference(host, "Cu", cluster_radius=3.2, buffer=1.0)
    with pytest.raises(ParameterError, match="buffer"):
        XtbReference(host, "Cu", buffer=-0.1)

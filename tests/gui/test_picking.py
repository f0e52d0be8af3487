"""Ray-sphere picking kernel and the ray from a transform, without OpenGL."""
import numpy as np
import pytest

from amorpha.gui.viewer.picking import bounds3, pick_sphere, ray_from_transform, slab_mask


def _pick(origin, direction, positions, radii, mask=None):
    positions = np.asarray(positions, dtype=np.float64)
    radii = np.asarray(radii, dtype=np.float64)
    if mask is None:
        mask = np.ones(len(positions), dtype=np.bool_)
    return pick_sphere(np.asarray(origin, float), np.asarray(direction, float), positions, radii,
                       np.asarray(mask, dtype=np.bool_))


TWO = [[0.0, 0.0, 5.0], [0.0, 0.0, 10.0]]


def test_nearest_of_two_spheres_on_the_ray():
    assert _pick([0, 0, 0], [0, 0, 1], TWO, [1.0, 1.0]) == 0
    assert _pick([0, 0, 20], [0, 0, -1], TWO, [1.0, 1.0]) == 1


def test_nearest_surface_wins_not_nearest_centre():
    # a big sphere further away whose front surface is nearer than the small one's
    pos = [[0.0, 0.0, 5.0], [0.0, 0.0, 8.0]]
    assert _pick([0, 0, 0], [0, 0, 1], pos, [0.1, 4.0]) == 1


def test_direction_need_not_be_normalised():
    assert _pick([0, 0, 0], [0, 0, 7.5], TWO, [1.0, 1.0]) == 0


def test_miss():
    assert _pick([3.0, 0, 0], [0, 0, 1], TWO, [1.0, 1.0]) == -1
    # sphere behind the origin
    assert _pick([0, 0, 20], [0, 0, 1], TWO, [1.0, 1.0]) == -1
    # zero direction
    assert _pick([0, 0, 0], [0, 0, 0], TWO, [1.0, 1.0]) == -1
    # no atoms
    assert _pick([0, 0, 0], [0, 0, 1], np.zeros((0, 3)), np.zeros(0)) == -1


def test_grazing_hit_and_just_miss():
    assert _pick([0.99, 0, 0], [0, 0, 1], TWO, [1.0, 1.0]) == 0
    assert _pick([1.01, 0, 0], [0, 0, 1], TWO, [1.0, 1.0]) == -1


def test_hidden_atom_is_skipped():
    assert _pick([0, 0, 0], [0, 0, 1], TWO, [1.0, 1.0], [False, True]) == 1
    assert _pick([0, 0, 0], [0, 0, 1], TWO, [1.0, 1.0], [False, False]) == -1


def test_origin_inside_a_sphere():
    # the sphere containing the origin is hit at t = 0, before the one ahead
    assert _pick([0, 0, 5.5], [0, 0, 1], TWO, [1.0, 1.0]) == 0
    # ... also when looking away from its centre
    assert _pick([0, 0, 5.5], [0, 0, -1], TWO, [1.0, 1.0]) == 0


def test_float32_inputs_and_many_atoms():
    rng = np.random.default_rng(1)
    pos = rng.random((20000, 3)).astype(np.float32) * 50
    radii = np.full(len(pos), 0.3, np.float32)
    target = 1234
    origin = pos[target].astype(np.float64) + np.array([0.0, 0.0, -100.0])
    got = pick_sphere(origin, np.array([0.0, 0.0, 1.0]), pos, radii, np.ones(len(pos), bool))
    # brute force reference
    d = pos.astype(np.float64) - origin
    lateral = np.hypot(d[:, 0], d[:, 1])
    hit = lateral <= 0.3
    t = d[:, 2] - np.sqrt(np.maximum(0.09 - lateral**2, 0))
    assert got == np.flatnonzero(hit)[np.argmin(t[hit])]


def test_slab_mask_and_bounds():
    pos = np.array([[0, 0, 0], [0, 0, 1.0], [0, 0, 2.0], [5, -1, 3.0]])
    m = slab_mask(pos, np.array([0, 0, 1.0]), np.array([0, 0, 1.0]), 0.5)
    assert m.tolist() == [False, True, False, False]
    lo, hi = bounds3(pos)
    assert lo.tolist() == [0, -1, 0] and hi.tolist() == [5, 0, 3]


class _Affine:
    """Stand-in for a vispy transform: maps (n, 4) homogeneous rows by a 4x4 matrix."""

    def __init__(self, m):
        self.m = np.asarray(m, float)

    def map(self, pts):
        return np.asarray(pts, float) @ self.m.T


def test_ray_from_orthographic_transform():
    # canvas (x, y, depth) -> scene: x/10, y/10, depth * 50 (an orthographic camera)
    tr = _Affine(np.diag([0.1, 0.1, 50.0, 1.0]))
    origin, direction = ray_from_transform(tr, 30.0, 40.0)
    assert np.allclose(origin, [3.0, 4.0, -50.0])
    assert np.allclose(direction, [0, 0, 1])


def test_ray_from_perspective_transform():
    # inverse of a simple perspective: scene point = (x*w, y*w, ...) with w depending on depth
    m = np.array([[1.0, 0, 0, 0], [0, 1.0, 0, 0], [0, 0, 0, 1.0], [0, 0, -0.45, 0.55]])
    tr = _Affine(m)
    o1, d1 = ray_from_transform(tr, 0.0, 0.0)
    o2, d2 = ray_from_transform(tr, 0.2, 0.0)
    assert np.allclose(d1, [0, 0, 1])
    assert d2[0] > 0 and not np.allclose(d1, d2)  # rays diverge: perspective
    with pytest.raises(ValueError):
        ray_from_transform(_Affine(np.zeros((4, 4)) + np.eye(4) * [1, 1, 0, 1]), 0, 0)

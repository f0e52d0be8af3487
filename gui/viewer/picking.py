"""Atom picking: an exact ray-sphere test on the CPU (numba), testable without OpenGL.

``pick_sphere`` finds the atom whose sphere the ray meets first. ``ray_from_view`` turns a
canvas pixel into a ray in scene coordinates from vispy's canvas->scene transform, which works
for the orthographic (fov=0) and the perspective TurntableCamera alike.
"""
from __future__ import annotations

import numpy as np
from numba import njit


@njit(nogil=True, cache=True)
def pick_sphere(origin, direction, positions, radii, visible_mask):
    """Index of the first sphere hit by the ray ``origin + t*direction`` (t >= 0), or -1.

    origin, direction: (3,) float64 (direction need not be normalised; a zero direction
    hits nothing). positions: (n, 3) float; radii: (n,) float; visible_mask: (n,) bool, atoms
    with False are skipped. If the origin lies inside a sphere, that sphere is hit at t = 0
    (the nearest of several such spheres is the one whose centre is closest to the ray).
    """
    dx = direction[0]
    dy = direction[1]
    dz = direction[2]
    norm = np.sqrt(dx * dx + dy * dy + dz * dz)
    if norm == 0.0:
        return -1
    dx /= norm
    dy /= norm
    dz /= norm
    ox = origin[0]
    oy = origin[1]
    oz = origin[2]
    best = -1
    best_t = np.inf
    best_d2 = np.inf
    n = positions.shape[0]
    for k in range(n):
        if not visible_mask[k]:
            continue
        px = positions[k, 0] - ox
        py = positions[k, 1] - oy
        pz = positions[k, 2] - oz
        r = radii[k]
        r2 = r * r
        tca = px * dx + py * dy + pz * dz
        oc2 = px * px + py * py + pz * pz
        if tca < 0.0 and oc2 > r2:
            continue  # sphere entirely behind the origin
        d2 = oc2 - tca * tca  # squared distance from the centre to the line
        if d2 > r2:
            continue
        if oc2 <= r2:
            t = 0.0  # origin inside this sphere
        else:
            t = tca - np.sqrt(r2 - d2)
            if t < 0.0:
                t = 0.0
        if t < best_t or (t == best_t and d2 < best_d2):
            best_t = t
            best_d2 = d2
            best = k
    return best


@njit(nogil=True, cache=True)
def slab_mask(positions, normal, center, half_thickness):
    """(n,) bool: |(r - center) . normal| <= half_thickness (normal must be a unit vector)."""
    n = positions.shape[0]
    out = np.empty(n, dtype=np.bool_)
    for k in range(n):
        s = ((positions[k, 0] - center[0]) * normal[0]
             + (positions[k, 1] - center[1]) * normal[1]
             + (positions[k, 2] - center[2]) * normal[2])
        out[k] = abs(s) <= half_thickness
    return out


@njit(nogil=True, cache=True)
def bounds3(positions):
    """(lo, hi) (3,) float64 bounding box of (n, 3) positions in one pass (n must be > 0)."""
    lo = np.empty(3)
    hi = np.empty(3)
    for a in range(3):
        lo[a] = positions[0, a]
        hi[a] = positions[0, a]
    for k in range(1, positions.shape[0]):
        for a in range(3):
            v = positions[k, a]
            if v < lo[a]:
                lo[a] = v
            elif v > hi[a]:
                hi[a] = v
    return lo, hi


def ray_from_transform(canvas_to_scene, x: float, y: float) -> tuple[np.ndarray, np.ndarray]:
    """Ray (origin, unit direction) in scene coordinates through canvas pixel (x, y).

    ``canvas_to_scene`` is a vispy transform mapping canvas (logical pixel) coordinates to the
    scene; its z is normalised device depth, so mapping z = -1 (near) and z = +1 (far) gives two
    points on the ray for either projection.
    """
    pts = np.array([[x, y, -1.0, 1.0], [x, y, 1.0, 1.0]], dtype=np.float64)
    mapped = np.asarray(canvas_to_scene.map(pts), dtype=np.float64)
    near = mapped[0, :3] / mapped[0, 3]
    far = mapped[1, :3] / mapped[1, 3]
    d = far - near
    norm = np.linalg.norm(d)
    if not np.isfinite(norm) or norm == 0.0:
        raise ValueError("degenerate pick ray")
    return near, d / norm


def ray_from_view(view, x: float, y: float) -> tuple[np.ndarray, np.ndarray]:
    """Ray through canvas pixel (x, y) for the objects that are direct children of view.scene."""
    tr = view.canvas.scene.node_transform(view.scene)
    return ray_from_transform(tr, x, y)


def warm_up() -> None:
    """Compile the kernels on tiny inputs (call from a worker thread at start-up)."""
    pos = np.zeros((1, 3))
    pick_sphere(np.array([0.0, 0.0, -5.0]), np.array([0.0, 0.0, 1.0]), pos, np.ones(1),
                np.ones(1, dtype=np.bool_))
    pick_sphere(np.array([0.0, 0.0, -5.0]), np.array([0.0, 0.0, 1.0]), pos.astype(np.float32),
                np.ones(1, dtype=np.float32), np.ones(1, dtype=np.bool_))
    slab_mask(pos, np.array([0.0, 0.0, 1.0]), np.zeros(3), 1.0)
    slab_mask(pos.astype(np.float32), np.array([0.0, 0.0, 1.0]), np.zeros(3), 1.0)
    bounds3(pos)
    bounds3(pos.astype(np.float32))

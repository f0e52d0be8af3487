"""Where the virtual Å-beam goes: a wire cylinder (two rings and four lines) in the 3D scene.

One small ``Line`` visual added to the viewer's scene next to the atoms (like the cell box), so
showing or moving it never touches the atom buffers.
"""
from __future__ import annotations

import numpy as np
from vispy import scene

COLUMN_COLOR = (0.25, 0.9, 1.0, 1.0)
_SEGMENTS = 48


def cylinder_segments(point, direction, right, up, radius: float, length: float) -> np.ndarray:
    """(m, 3) float32 segment endpoints: a ring at each end and four lines along the axis."""
    point, direction = np.asarray(point, float), np.asarray(direction, float)
    right, up = np.asarray(right, float), np.asarray(up, float)
    angles = np.linspace(0.0, 2.0 * np.pi, _SEGMENTS + 1)
    ring = radius * (np.cos(angles)[:, None] * right + np.sin(angles)[:, None] * up)
    pieces = []
    for end in (-0.5 * length, 0.5 * length):
        pts = point + end * direction + ring
        pieces.append(np.stack([pts[:-1], pts[1:]], axis=1).reshape(-1, 3))
    for k in range(0, _SEGMENTS, _SEGMENTS // 4):
        pieces.append(np.array([point - 0.5 * length * direction + ring[k],
                                point + 0.5 * length * direction + ring[k]]))
    return np.concatenate(pieces).astype(np.float32)


class ColumnMarker:
    """``show(point, direction, right, up, radius, length)`` draws the column; ``hide()`` hides it."""

    def __init__(self, viewer):
        self.viewer = viewer
        self.node = scene.visuals.Line(np.zeros((2, 3), np.float32), parent=viewer.view.scene,
                                       connect="segments", color=COLUMN_COLOR, width=2.0,
                                       method="gl", antialias=False)
        self.node.set_gl_state(depth_test=False, blend=True)  # seen through the atoms
        self.node.visible = False
        self.segments = np.zeros((0, 3), np.float32)

    @property
    def visible(self) -> bool:
        return bool(self.node.visible)

    def show(self, point, direction, right, up, radius: float, length: float) -> None:
        self.segments = cylinder_segments(point, direction, right, up, radius, length)
        self.node.set_data(self.segments)
        self.node.visible = True
        self.viewer.canvas.update()

    def hide(self) -> None:
        self.node.visible = False
        self.viewer.canvas.update()

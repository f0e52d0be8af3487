"""Half-bonds: one GL_LINES visual for all bonds, vertex arrays built by a numba kernel.

Each directed bond (i, j, shift) is drawn from atom i to the midpoint of the bond to the
(possibly periodic-image) atom j, in atom i's colour; with both directions listed, every bond
appears once as two halves, and bonds across the cell boundary end at the boundary.

Colours travel as one float per vertex (8-bit R, G, B packed into an integer below 2**24, exact in
float32), so a vertex costs 16 bytes; vispy's Line would convert (n, 4) colours through
ColorArray at every data change, which is slow for millions of bonds.

``half_bond_buffers(..., shuffle_seed)`` can emit the half-bonds in a fixed random order, so the
progressive renderer (see ``progressive.py``) draws uniform thinnings of all bonds; buffers are
uploaded lazily and ``draw_range`` draws a sub-range of the vertices.
"""
from __future__ import annotations

import numpy as np
from numba import njit
from vispy.gloo import VertexBuffer
from vispy.scene.visuals import create_visual_node
from vispy.visuals import Visual

from .progressive import StagedAttributes


def symmetrize_bonds(i, j, shifts):
    """Directed bond list with both directions present exactly once.

    If the list already has as many i<j as i>j entries it is taken as symmetric as is (the
    engine's CSR list is); otherwise both directions are built from the canonical half and
    de-duplicated.
    """
    i = np.asarray(i, dtype=np.int64).reshape(-1)
    j = np.asarray(j, dtype=np.int64).reshape(-1)
    if shifts is None:
        shifts = np.zeros((len(i), 3), np.int64)
    shifts = np.asarray(shifts, dtype=np.int64).reshape(-1, 3)
    if not (len(i) == len(j) == len(shifts)):
        raise ValueError("i, j and shifts must have the same length")
    if np.count_nonzero(i < j) == np.count_nonzero(i > j):
        return i, j, shifts
    s = shifts
    pos_shift = (s[:, 0] > 0) | ((s[:, 0] == 0) & ((s[:, 1] > 0) | ((s[:, 1] == 0) & (s[:, 2] > 0))))
    flip = (i > j) | ((i == j) & ~pos_shift)
    ci = np.where(flip, j, i)
    cj = np.where(flip, i, j)
    cs = np.where(flip[:, None], -s, s)
    keep = ~((ci == cj) & (cs == 0).all(axis=1))
    rows = np.unique(np.column_stack([ci, cj, cs])[keep], axis=0)
    ci, cj, cs = rows[:, 0], rows[:, 1], rows[:, 2:5]
    return np.concatenate([ci, cj]), np.concatenate([cj, ci]), np.concatenate([cs, -cs])


def pack_rgb(colors) -> np.ndarray:
    """(n, 4) or (n, 3) float colours in [0, 1] -> (n,) float32 holding R*65536 + G*256 + B."""
    c = np.clip(np.rint(np.asarray(colors, dtype=np.float32)[:, :3] * 255.0), 0, 255)
    c = c.astype(np.int32)
    return (c[:, 0] * 65536 + c[:, 1] * 256 + c[:, 2]).astype(np.float32)


@njit(nogil=True, cache=True)
def half_bond_buffers(positions, packed_colors, cell, i, j, shifts, visible, shuffle_seed=-1):
    """Vertex positions (2m', 3) float32 and packed colours (2m',) float32 of the half-bonds.

    Bonds with either atom not ``visible`` are left out. With ``shuffle_seed >= 0`` the
    half-bonds come in a fixed pseudo-random order (seeded Fisher-Yates over the segments).
    """
    m = i.shape[0]
    count = 0
    for b in range(m):
        if visible[i[b]] and visible[j[b]]:
            count += 1
    verts = np.empty((2 * count, 3), np.float32)
    cols = np.empty(2 * count, np.float32)
    k = 0
    for b in range(m):
        a = i[b]
        c = j[b]
        if not (visible[a] and visible[c]):
            continue
        s0 = shifts[b, 0]
        s1 = shifts[b, 1]
        s2 = shifts[b, 2]
        for d in range(3):
            start = positions[a, d]
            end = positions[c, d] + s0 * cell[0, d] + s1 * cell[1, d] + s2 * cell[2, d]
            verts[2 * k, d] = start
            verts[2 * k + 1, d] = 0.5 * (start + end)
        cols[2 * k] = packed_colors[a]
        cols[2 * k + 1] = packed_colors[a]
        k += 1
    if shuffle_seed >= 0:
        np.random.seed(shuffle_seed)
        for s in range(count - 1, 0, -1):
            t = np.random.randint(0, s + 1)
            if t == s:
                continue
            for v in range(2):
                for d in range(3):
                    tmp = verts[2 * s + v, d]
                    verts[2 * s + v, d] = verts[2 * t + v, d]
                    verts[2 * t + v, d] = tmp
            tmp = cols[2 * s]
            cols[2 * s] = cols[2 * t]
            cols[2 * s + 1] = cols[2 * t]
            cols[2 * t] = tmp
            cols[2 * t + 1] = tmp
    return verts, cols


def half_bond_vertices(positions, cell, i, j, shifts) -> np.ndarray:
    """(2m, 3) float32 segment endpoints: atom i -> midpoint of the (image) bond i-j."""
    p = np.ascontiguousarray(positions, dtype=np.float32)
    verts, _ = half_bond_buffers(p, np.zeros(len(p), np.float32),
                                 np.asarray(cell, dtype=np.float64).reshape(3, 3),
                                 np.asarray(i, np.int64), np.asarray(j, np.int64),
                                 np.asarray(shifts, np.int64).reshape(-1, 3),
                                 np.ones(len(p), np.bool_))
    return verts


_VERTEX = """
attribute vec3 a_position;
attribute float a_color;
varying vec3 v_color;
void main() {
    float c = a_color;
    float r = floor(c / 65536.0);
    if (r * 65536.0 > c) r -= 1.0;      // guard against the division rounding up
    float gb = c - r * 65536.0;
    float g = floor(gb / 256.0);
    if (g * 256.0 > gb) g -= 1.0;
    float b = gb - g * 256.0;
    v_color = vec3(r, g, b) / 255.0;
    gl_Position = $transform(vec4(a_position, 1.0));
}
"""

_FRAGMENT = """
varying vec3 v_color;
void main() {
    gl_FragColor = vec4(v_color, 1.0);
}
"""


class BondsVisual(Visual):
    """GL_LINES between vertex pairs, one packed colour per vertex."""

    def __init__(self, width: float = 3.0):
        self._pos = VertexBuffer(np.zeros((0, 3), np.float32))
        self._col = VertexBuffer(np.zeros((0,), np.float32))
        self._staged = StagedAttributes(("a_position", "a_color"))
        self._count = 0
        self._version = 0
        #: True: drawn by a ProgressiveLayer (chunks), not by the scene graph
        self.progressive = False
        Visual.__init__(self, vcode=_VERTEX, fcode=_FRAGMENT)
        self._draw_mode = "lines"
        self.shared_program["a_position"] = self._pos
        self.shared_program["a_color"] = self._col
        self._width = float(width)
        self.set_gl_state(depth_test=True, blend=False, line_width=self._width)
        self.freeze()

    @property
    def count(self) -> int:
        """Number of half-bonds drawn."""
        return self._count // 2

    @property
    def n_vertices(self) -> int:
        return self._count

    @property
    def version(self) -> int:
        """Changes whenever the data or the look changes (restarts progressive drawing)."""
        return self._version

    def set_data(self, vertices, packed_colors) -> None:
        vertices = np.ascontiguousarray(vertices, dtype=np.float32).reshape(-1, 3)
        packed_colors = np.ascontiguousarray(packed_colors, dtype=np.float32).reshape(-1)
        if len(vertices) != len(packed_colors):
            raise ValueError("one packed colour per vertex")
        self._count = len(vertices)
        self._staged.set("a_position", vertices)
        self._staged.set("a_color", packed_colors)
        self._version += 1
        self.update()

    @property
    def width(self) -> float:
        return self._width

    @width.setter
    def width(self, value: float) -> None:
        self._width = float(value)
        self.update_gl_state(line_width=self._width)
        self._version += 1
        self.update()

    def draw(self):
        if self.progressive:
            return  # the ProgressiveLayer calls draw_range
        if self.visible:
            self.draw_range(0, self._count)

    def draw_range(self, first: int, count: int) -> None:
        """Draw vertices ``first .. first+count-1`` (even numbers: whole segments)."""
        count = min(int(count), self._count - int(first))
        if count <= 0 or self._prepare_draw(view=self) is False:
            return
        self._configure_gl_state()
        self._staged.draw(self._program, self._vshare.draw_mode, first, count)

    def _prepare_transforms(self, view):
        view.view_program.vert["transform"] = view.get_transform()

    def _prepare_draw(self, view):
        if self._count == 0:
            return False
        px = view.transforms.pixel_scale
        self.update_gl_state(line_width=max(1.0, self._width * px))
        return True

    def _compute_bounds(self, axis, view):
        return None


#: Scene-graph node of BondsVisual.
Bonds = create_visual_node(BondsVisual)


def warm_up() -> None:
    """Compile the kernels on tiny inputs (from a worker thread at start-up)."""
    from . import progressive

    progressive.warm_up()
    half_bond_buffers(np.zeros((2, 3), np.float32), np.zeros(2, np.float32), np.eye(3),
                      np.array([0, 1]), np.array([1, 0]), np.zeros((2, 3), np.int64),
                      np.ones(2, np.bool_))
    half_bond_buffers(np.zeros((2, 3), np.float32), np.zeros(2, np.float32), np.eye(3),
                      np.array([0, 1]), np.array([1, 0]), np.zeros((2, 3), np.int64),
                      np.ones(2, np.bool_), 1)

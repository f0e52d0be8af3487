"""A point-sprite visual for many atoms, with one GPU buffer per attribute.

``vispy.scene.visuals.Markers`` packs every attribute into one interleaved buffer, so changing
only the positions or the colours of 10^6 atoms repacks and re-uploads everything (~0.7 s).
``AtomsVisual`` keeps positions (n,3), colours (n,4) and radii (n,) in three separate vertex
buffers, so each can be replaced alone (a trajectory frame uploads 12 bytes per atom).

Each atom is one GL point whose ``gl_PointSize`` is the sphere's projected diameter (radius in
scene units through the full visual->framebuffer transform, so it follows zoom and perspective).
Shading modes (``shading``):

* ``"sphere"``: a lit sphere imposter (ambient + diffuse + specular head-light) that writes a
  per-fragment depth, so intersecting spheres cut each other correctly; no antialiasing (an
  antialiased rim would blend with the background and draw halos).
* ``"flat"``: a cheap disc, darkened towards the rim, without depth writes (early-z stays on):
  OVITO's choice for very large models.
* ``"outline"``: a ring just outside the sphere, drawn at the depth of the sphere's front;
  used by the small selection-highlight visual.

A slab (|(r - c) . n| <= h) is applied in the vertex shader from three uniforms, so cutting a
slab never touches the buffers.

Buffers are uploaded lazily (``progressive.StagedBuffer``) and a visual can draw a sub-range of
its atoms (``draw_range``): with ``progressive = True`` the scene graph leaves the drawing to a
``progressive.ProgressiveLayer``, which draws it chunk by chunk within a per-paint budget.
``version`` changes whenever anything that affects the picture changes.
"""
from __future__ import annotations

import numpy as np
from vispy.gloo import VertexBuffer
from vispy.scene.visuals import create_visual_node
from vispy.visuals import Visual

from .picking import bounds3
from .progressive import StagedAttributes

_VERTEX = """
uniform float u_radius_scale;
uniform float u_sprite_scale;
uniform float u_min_size;
uniform float u_px_per_unit;  // framebuffer pixels per scene unit across the screen, at w = 1
uniform vec4 u_toward_clip;   // visual->render image of the unit vector towards the viewer
uniform vec3 u_slab_normal;
uniform vec3 u_slab_center;
uniform float u_slab_half;  // < 0: no slab

attribute vec3 a_position;
attribute vec4 a_color;
attribute float a_radius;

varying vec4 v_color;
varying float v_depth_delta;   // window-depth change from the centre to the sphere front
varying float v_sprite_ratio;  // sprite size / sphere diameter

void main() {
    v_color = a_color;
    v_sprite_ratio = u_sprite_scale;
    v_depth_delta = 0.0;
    if (u_slab_half >= 0.0
            && abs(dot(a_position - u_slab_center, u_slab_normal)) > u_slab_half) {
        gl_Position = vec4(2.0, 2.0, 2.0, 1.0);  // outside the clip volume
        gl_PointSize = 0.0;
        return;
    }
    float r = a_radius * u_radius_scale;
    // The visual->render chain is linear in homogeneous coordinates (scene transforms are
    // matrices), so offsets along fixed directions are added in clip space: one transform per
    // vertex instead of three.
    vec4 clip = $visual_to_render(vec4(a_position, 1.0));
    vec4 front = clip + r * u_toward_clip;
    v_depth_delta = 0.5 * (front.z / front.w - clip.z / clip.w);
    gl_Position = clip;
    gl_PointSize = max(2.0 * r * u_px_per_unit / clip.w * u_sprite_scale, u_min_size);
}
"""

_FRAGMENT = """
varying vec4 v_color;
varying float v_depth_delta;
varying float v_sprite_ratio;

$shade_code

void main() {
    shade_atom();
}
"""

_SHADE_SPHERE = """
const vec3 LIGHT = vec3(-0.35, 0.45, 0.82);   // head-light, up-left of the viewer
const vec3 HALF = vec3(-0.18, 0.24, 0.95);    // normalize(LIGHT + view)
void shade_atom() {
    vec2 c = 2.0 * gl_PointCoord - 1.0;
    c.y = -c.y;
    float d2 = dot(c, c);
    if (d2 > 1.0) discard;
    float z = sqrt(1.0 - d2);
    vec3 n = vec3(c, z);
    float diffuse = max(dot(n, LIGHT), 0.0);
    float spec = pow(max(dot(n, normalize(HALF)), 0.0), 48.0);
    vec3 rgb = v_color.rgb * (0.28 + 0.78 * diffuse) + vec3(0.32 * spec);
    gl_FragColor = vec4(min(rgb, vec3(1.0)), 1.0);
    gl_FragDepth = gl_FragCoord.z + v_depth_delta * z;
}
"""

_SHADE_FLAT = """
void shade_atom() {
    vec2 c = 2.0 * gl_PointCoord - 1.0;
    float d2 = dot(c, c);
    if (d2 > 1.0) discard;
    gl_FragColor = vec4(v_color.rgb * (1.0 - 0.45 * d2), 1.0);
}
"""

_SHADE_OUTLINE = """
void shade_atom() {
    vec2 c = 2.0 * gl_PointCoord - 1.0;
    float rho = length(c) * v_sprite_ratio;   // 1.0 at the sphere's silhouette
    if (rho > v_sprite_ratio || rho < 0.98) discard;
    gl_FragColor = vec4(v_color.rgb, 1.0);
    gl_FragDepth = gl_FragCoord.z + v_depth_delta;
}
"""

SHADINGS = {"sphere": _SHADE_SPHERE, "flat": _SHADE_FLAT, "outline": _SHADE_OUTLINE}


def _as_f32(a, shape_tail, name) -> np.ndarray:
    a = np.ascontiguousarray(a, dtype=np.float32)
    if a.shape[1:] != shape_tail:
        raise ValueError(f"{name} must have shape (n,{','.join(map(str, shape_tail))}), "
                         f"got {a.shape}")
    return a


class AtomsVisual(Visual):
    """Spheres at ``positions`` with per-atom ``colors`` (RGBA 0..1) and ``radii`` (scene units)."""

    def __init__(self, shading: str = "sphere", radius_scale: float = 1.0,
                 sprite_scale: float | None = None):
        self._n = 0
        self._pos = VertexBuffer(np.zeros((0, 3), np.float32))
        self._col = VertexBuffer(np.zeros((0, 4), np.float32))
        self._rad = VertexBuffer(np.zeros((0,), np.float32))
        self._staged = StagedAttributes(("a_position", "a_color", "a_radius"))
        self._positions = None
        self._bounds = None
        self._version = 0
        self._upload_order = None
        #: True: drawn by a ProgressiveLayer (chunks), not by the scene graph
        self.progressive = False
        Visual.__init__(self, vcode=_VERTEX, fcode=_FRAGMENT)
        self._draw_mode = "points"
        self.shared_program["a_position"] = self._pos
        self.shared_program["a_color"] = self._col
        self.shared_program["a_radius"] = self._rad
        self.shared_program["u_min_size"] = 1.0
        self._shading = None
        self._sprite_scale = sprite_scale
        self.shading = shading
        self.radius_scale = radius_scale
        self.set_slab(None)
        self.set_gl_state(depth_test=True, blend=False, cull_face=False)
        self.freeze()

    # -- data ------------------------------------------------------------------------------
    @property
    def n(self) -> int:
        return self._n

    @property
    def n_vertices(self) -> int:
        return self._n

    @property
    def version(self) -> int:
        """Changes whenever the data or the look changes (restarts progressive drawing)."""
        return self._version

    def _touch(self) -> None:
        self._version += 1
        self.update()

    def set_data(self, positions, colors, radii, order=None) -> None:
        """Replace all three buffers (the arrays may be prepared in a worker thread).

        ``order``: drawing order, a permutation of the atoms (GPU row k = atom ``order[k]``);
        it is kept for ``set_positions``, ``set_colors`` and ``set_radii``.
        """
        positions = _as_f32(positions, (3,), "positions")
        n = len(positions)
        colors = _as_f32(colors, (4,), "colors")
        radii = np.ascontiguousarray(radii, dtype=np.float32).reshape(-1)
        if len(colors) != n or len(radii) != n:
            raise ValueError("positions, colors and radii must have the same length")
        if order is not None:
            order = np.asarray(order)
            if order.shape != (n,):
                raise ValueError("order must be a permutation of the atoms")
        self._n = n
        self._upload_order = order
        for name, data in zip(self._staged.names, (positions, colors, radii)):
            self._staged.set(name, data, order)
        self._set_positions_cache(positions)
        self._touch()

    def set_positions(self, positions) -> None:
        positions = _as_f32(positions, (3,), "positions")
        if len(positions) != self._n:
            raise ValueError(f"expected {self._n} positions, got {len(positions)}")
        self._staged.set("a_position", positions, self._upload_order)
        self._set_positions_cache(positions)
        self._touch()

    def set_colors(self, colors) -> None:
        colors = _as_f32(colors, (4,), "colors")
        if len(colors) != self._n:
            raise ValueError(f"expected {self._n} colours, got {len(colors)}")
        self._staged.set("a_color", colors, self._upload_order)
        self._touch()

    def set_radii(self, radii) -> None:
        radii = np.ascontiguousarray(radii, dtype=np.float32).reshape(-1)
        if len(radii) != self._n:
            raise ValueError(f"expected {self._n} radii, got {len(radii)}")
        self._staged.set("a_radius", radii, self._upload_order)
        self._touch()

    def set_bounds(self, lo, hi) -> None:
        """Tell the visual its bounding box (saves a pass over 10^6 positions)."""
        self._bounds = (np.asarray(lo, float), np.asarray(hi, float))
        self._bounds_changed()

    def _set_positions_cache(self, positions):
        self._positions = positions
        self._bounds = None
        self._bounds_changed()

    # -- appearance ------------------------------------------------------------------------
    @property
    def shading(self) -> str:
        return self._shading

    @shading.setter
    def shading(self, value: str) -> None:
        if value not in SHADINGS:
            raise ValueError(f"shading must be one of {sorted(SHADINGS)}, got {value!r}")
        if value == self._shading:
            return
        self._shading = value
        self.shared_program.frag["shade_code"] = SHADINGS[value]
        scale = self._sprite_scale or (1.35 if value == "outline" else 1.0)
        self.shared_program["u_sprite_scale"] = float(scale)
        self._touch()

    @property
    def radius_scale(self) -> float:
        return self._radius_scale

    @radius_scale.setter
    def radius_scale(self, value: float) -> None:
        self._radius_scale = float(value)
        self.shared_program["u_radius_scale"] = self._radius_scale
        self._touch()

    def set_slab(self, normal=None, center=None, half_thickness=None) -> None:
        if normal is None:
            self.shared_program["u_slab_normal"] = (0.0, 0.0, 1.0)
            self.shared_program["u_slab_center"] = (0.0, 0.0, 0.0)
            self.shared_program["u_slab_half"] = -1.0
        else:
            self.shared_program["u_slab_normal"] = tuple(float(v) for v in normal)
            self.shared_program["u_slab_center"] = tuple(float(v) for v in center)
            self.shared_program["u_slab_half"] = float(half_thickness)
        self._touch()

    # -- drawing ---------------------------------------------------------------------------
    def draw(self):
        if self.progressive:
            return  # the ProgressiveLayer calls draw_range
        if self.visible:
            self.draw_range(0, self._n)

    def draw_range(self, first: int, count: int) -> None:
        """Draw atoms ``first .. first+count-1`` (uploading what is not on the GPU yet)."""
        count = min(int(count), self._n - int(first))
        if count <= 0 or self._prepare_draw(view=self) is False:
            return
        self._configure_gl_state()
        self._staged.draw(self._program, self._vshare.draw_mode, first, count)

    # -- vispy hooks -----------------------------------------------------------------------
    def _prepare_transforms(self, view):
        view.view_program.vert["visual_to_render"] = view.get_transform("visual", "render")

    def _prepare_draw(self, view):
        if self._n == 0:
            return False
        # Screen-right and towards-viewer directions in visual coordinates, from the inverse of
        # the visual->render transform at the centre of the view (exact for orthographic, the
        # camera axes for perspective); then their images as w = 0 vectors.
        to_render = view.get_transform("visual", "render")
        to_fb = view.get_transform("visual", "framebuffer")
        pts = np.array([[0.0, 0.0, 0.0, 1.0], [0.5, 0.0, 0.0, 1.0], [0.0, 0.0, -0.5, 1.0]])
        try:
            with np.errstate(all="raise"):
                m = np.asarray(to_render.imap(pts), dtype=np.float64)
                m = m[:, :3] / m[:, 3:4]
                right = m[1] - m[0]
                toward = m[2] - m[0]
                right /= np.linalg.norm(right)
                toward /= np.linalg.norm(toward)
                d = np.asarray(to_fb.map(np.append(right, 0.0)), dtype=np.float64).ravel()
                g = np.asarray(to_render.map(np.append(toward, 0.0)), dtype=np.float64).ravel()
            if np.all(np.isfinite(d)) and np.all(np.isfinite(g)):
                view.view_program["u_px_per_unit"] = float(np.hypot(d[0], d[1]))
                view.view_program["u_toward_clip"] = tuple(g[:4])
        except (FloatingPointError, np.linalg.LinAlgError, ZeroDivisionError):
            pass  # singular transform (e.g. zero-size canvas): keep the last values
        return True

    def _compute_bounds(self, axis, view):
        if self._bounds is None:
            if self._positions is None or len(self._positions) == 0:
                return None
            self._bounds = bounds3(self._positions)
        return float(self._bounds[0][axis]), float(self._bounds[1][axis])


#: Scene-graph node of AtomsVisual: ``Atoms(parent=view.scene)``.
Atoms = create_visual_node(AtomsVisual)

"""Draw budget and progressive refinement for big models.

Software OpenGL (Mesa llvmpipe, what Xvfb and CI have) needs ~0.4 s to draw 10^6 atoms, and a
paint runs on the GUI thread. So no paint draws more than a *budget* of primitives:

* If everything fits in the budget, atoms and bonds are drawn straight into the frame, as before
  (hardware GL always; small models on software GL).
* Otherwise ``ProgressiveLayer`` accumulates the picture over several paints in a persistent
  colour + depth target (an FBO with a colour texture and a depth texture), one chunk per paint,
  and composites it to the frame (colour and depth, so the cell box, selection rings and colour
  bar drawn afterwards are depth-tested as before). The viewer schedules the next paint with a
  zero timer, so the event loop runs between chunks. Any change of the camera, the viewport, the
  data or the look (versions of the visuals) restarts the accumulation; the first chunk is drawn
  at once, so a moving 10^6-atom model shows a uniform subset (level of detail while moving).
* Atoms and half-bonds are uploaded in a fixed random order (see ``shuffled_order``), so a chunk
  is a uniform thinning of the whole model, not a half-drawn slab.
* Vertex data is uploaded lazily, chunk by chunk (``StagedBuffer``): the first pass over a
  128 MB bond buffer never uploads more than one chunk in a paint.

On software renderers the budget adapts: each chunk is timed (``glFinish``) and the next one is
sized to take ``TARGET_CHUNK_S``.
"""
from __future__ import annotations

import time

import numpy as np
from numba import njit
from vispy import gloo
from vispy.gloo import gl
from vispy.scene.node import Node

#: Renderer-name fragments of software OpenGL implementations.
SOFTWARE_RENDERERS = ("llvmpipe", "softpipe", "swrast", "software", "swiftshader", "lavapipe")
#: Budget (weighted primitives per paint) on hardware GL: a normal machine draws all at once.
HARDWARE_BUDGET = 20_000_000
#: Starting budget on software GL (then adapted to the measured speed).
SOFTWARE_BUDGET = 4_000
#: Limits of the adaptive software budget.
SOFTWARE_BUDGET_MIN = 4_000
SOFTWARE_BUDGET_MAX = 150_000
#: Largest growth of the software budget from one chunk to the next.
BUDGET_GROWTH = 1.5
#: Wanted duration of one chunk on software GL (the paint adds compositing and the swap).
TARGET_CHUNK_S = 0.010
#: Cost of one bond vertex relative to one atom (a 3 px line vs a point sprite).
BOND_VERTEX_WEIGHT = 0.5
#: Seed of the fixed drawing order.
ORDER_SEED = 20240611


def is_software_renderer(renderer: str) -> bool:
    r = (renderer or "").lower()
    return any(s in r for s in SOFTWARE_RENDERERS)


# ------------------------------------------------------------ fixed random order ---
@njit(nogil=True, cache=True)
def _shuffled(n, seed):
    np.random.seed(seed)
    order = np.arange(n)
    for k in range(n - 1, 0, -1):
        j = np.random.randint(0, k + 1)
        t = order[k]
        order[k] = order[j]
        order[j] = t
    return order


_ORDERS: dict = {}


def shuffled_order(n: int, seed: int) -> np.ndarray:
    """(n,) int64 fixed pseudo-random permutation of 0..n-1 (seeded Fisher-Yates; read-only).

    The last few orders are cached (a reload or another frame of the same size reuses it).
    """
    key = (int(n), int(seed))
    order = _ORDERS.get(key)
    if order is None:
        order = _shuffled(int(n), int(seed))
        order.setflags(write=False)
        if len(_ORDERS) >= 4:
            _ORDERS.clear()
        _ORDERS[key] = order
    return order


@njit(nogil=True, cache=True)
def _gather_rows(src, order):
    out = np.empty((order.shape[0], src.shape[1]), src.dtype)
    for k in range(order.shape[0]):
        s = order[k]
        for c in range(src.shape[1]):
            out[k, c] = src[s, c]
    return out


@njit(nogil=True, cache=True)
def _gather_1d(src, order):
    out = np.empty(order.shape[0], src.dtype)
    for k in range(order.shape[0]):
        out[k] = src[order[k]]
    return out


def gather(src, order) -> np.ndarray:
    """``src[order]`` for (n,) and (n, k) arrays, a few times faster than numpy."""
    src = np.ascontiguousarray(src)
    if src.ndim == 1:
        return _gather_1d(src, order)
    if src.ndim == 2:
        return _gather_rows(src, order)
    return src[order]


def warm_up() -> None:
    """Compile the kernels on tiny inputs."""
    writable = _shuffled(3, 1)
    readonly = _shuffled(3, 1)
    readonly.setflags(write=False)  # the cached drawing orders are read-only: another numba type
    for o in (writable, readonly):
        gather(np.zeros((3, 3), np.float32), o)
        gather(np.zeros((3, 4), np.float32), o)
        gather(np.zeros(3, np.float32), o)


# ------------------------------------------------------------------ GL helpers ---
def draw_range(program, mode: str, first: int, count: int) -> None:
    """``glDrawArrays(mode, first, count)`` with a vispy (modular) program.

    ``gloo.Program.draw`` always draws every vertex; this issues the same GLIR commands for a
    sub-range (the attribute buffers must hold at least ``first + count`` vertices).
    """
    if count <= 0:
        return
    build = getattr(program, "build_if_needed", None)
    if build is not None:
        build()
        program.update_variables()
    canvas = gloo.get_current_canvas()
    canvas.context.glir.associate(program.glir)
    canvas.context.glir.command("DRAW", program.id, mode, (int(first), int(count)), 1)
    canvas.context.flush_commands()


#: Rows per GL buffer block: allocating a fresh GL buffer touches all its memory (llvmpipe:
#: ~0.75 ms per MB), so a 128 MB bond buffer is split into 4 MB blocks allocated as the chunks reach them.
BLOCK_ROWS = 1 << 18


class StagedBuffer:
    """One GL vertex buffer holding rows ``[start, stop)`` of an attribute, uploaded lazily.

    ``set(array, order, start, stop)`` only records the data; the GL buffer is allocated and
    filled by ``ensure(end)`` (right before rows up to ``end`` are drawn), as a growing prefix,
    so a big buffer is allocated and uploaded across the paints that draw it. With ``order``,
    GPU row k holds ``array[order[k]]`` and the gather is done slice by slice too.
    """

    def __init__(self):
        self.vbo = None
        self._tail = None
        self.array = None
        self.order = None
        self.start = self.stop = 0
        self.uploaded = 0        # rows of the window on the GPU
        self._allocated = False

    def set(self, array: np.ndarray, order: np.ndarray | None, start: int, stop: int) -> None:
        self.array = array
        self.order = order
        self.start, self.stop = int(start), int(stop)
        self.uploaded = 0
        self._allocated = False

    def ensure(self, end: int) -> bool:
        """Upload the window's rows ``[uploaded, end)`` (``end`` relative to the window).

        Returns True if a new GL buffer was made (it must be bound again).
        """
        if self.array is None:
            return False
        end = min(int(end), self.stop - self.start)
        new = False
        if not self._allocated:
            tail = (self.array.dtype, self.array.shape[1:])
            if self.vbo is None or self._tail != tail:
                self.vbo = gloo.VertexBuffer(self.array[:0])
                self._tail = tail
                new = True
            row_bytes = self.vbo.itemsize
            self.vbo.resize_bytes(row_bytes * (self.stop - self.start))
            self._allocated = True
        a = self.uploaded
        if end > a:
            lo, hi = self.start + a, self.start + end
            rows = self.array[lo:hi] if self.order is None else gather(self.array,
                                                                       self.order[lo:hi])
            self.vbo.set_subdata(rows, offset=a)
            self.uploaded = end
        return new


class StagedAttributes:
    """Vertex attributes of equal length in blocks of ``BLOCK_ROWS`` rows, staged lazily.

    ``draw(program, mode, first, count)`` binds each block's buffers to the program's
    attributes in turn and draws the part of the range that lies in it.
    """

    def __init__(self, names):
        self.names = tuple(names)
        self.n = 0
        self._arrays = {}
        self._orders = {}
        self._blocks: list[dict] = []
        self._bound = None

    def set(self, name: str, array: np.ndarray, order: np.ndarray | None = None) -> None:
        """Replace one attribute (all attributes must be set to the same length)."""
        if order is not None and len(order) != len(array):
            raise ValueError("order must have one entry per row")
        self._arrays[name] = array
        self._orders[name] = order
        n = len(array)
        if n != self.n or not self._blocks:
            self.n = n
            self._blocks = []
            self._bound = None
            for start in range(0, max(n, 1), BLOCK_ROWS):
                self._blocks.append({nm: StagedBuffer() for nm in self.names})
        for k, block in enumerate(self._blocks):
            start = k * BLOCK_ROWS
            stop = min(n, start + BLOCK_ROWS)
            for nm in self.names:
                if nm in self._arrays and len(self._arrays[nm]) == n:
                    block[nm].set(self._arrays[nm], self._orders[nm], start, stop)

    def draw(self, program, mode: str, first: int, count: int) -> None:
        end = min(self.n, first + count)
        k = first // BLOCK_ROWS
        while first < end:
            start = k * BLOCK_ROWS
            stop = min(end, start + BLOCK_ROWS)
            block = self._blocks[k]
            new = False
            for nm in self.names:
                new |= block[nm].ensure(stop - start)
            if new or self._bound != k:
                for nm in self.names:
                    program[nm] = block[nm].vbo
                self._bound = k
            draw_range(program, mode, first - start, stop - first)
            first = stop
            k += 1


_COMPOSITE_VERT = """
attribute vec2 a_pos;
void main() {
    gl_Position = vec4(a_pos, 0.0, 1.0);
}
"""

_COMPOSITE_FRAG = """
uniform sampler2D u_color;
uniform sampler2D u_depth;
uniform vec2 u_size;
void main() {
    vec2 uv = gl_FragCoord.xy / u_size;
    gl_FragColor = texture2D(u_color, uv);
    gl_FragDepth = texture2D(u_depth, uv).r;
}
"""

#: Probe points whose images identify the visual->framebuffer transform (camera + viewport).
_PROBE = np.array([[0.0, 0.0, 0.0, 1.0], [1.0, 0.0, 0.0, 1.0], [0.0, 1.0, 0.0, 1.0],
                   [0.0, 0.0, 1.0, 1.0]])


class ProgressiveLayer(Node):
    """Draws the managed visuals (atoms, bonds) within a per-paint budget; see the module doc.

    Managed visuals provide ``n_vertices``, ``version``, ``draw_range(first, count)`` and set
    ``progressive = True`` so the scene graph does not draw them itself. Put the layer in the
    same scene as them with a low ``order`` so it draws before the cell box and the selection.
    A part whose visual has ``progressive`` set back to False is left to the scene graph and
    its changes do not restart the accumulation (a small selection overlay: cheap to draw
    whole in every paint, while a change of it must not redraw 10^6 atoms).
    """

    def __init__(self, parts, bgcolor, parent=None):
        """``parts``: list of (visual, weight per vertex, vertex alignment)."""
        Node.__init__(self, parent=parent)
        self.order = -100
        self._parts = parts
        for visual, _, _ in parts:
            visual.progressive = True
        self._bgcolor = bgcolor
        self.budget: float | None = None     # None: chosen from the renderer
        self.adaptive: bool | None = None    # None: on for software renderers
        self.finish_now = False              # draw all remaining chunks in the next paint
        self.on_paint = None                 # callback(complete: bool), called in each paint
        self.renderer = None
        self._rate = None                    # measured seconds per weighted primitive
        self._rate_first = None              # the same for first chunks
        self._key = None
        self._progress = 0.0
        self._complete = False
        self._direct = False
        self._fbo = None
        self._color_tex = None
        self._depth_tex = None
        self._fb_shape = None
        self._composite = None
        self.chunks_drawn = 0                # chunks drawn for the current state
        self.last_chunk_s = 0.0              # duration of the last timed chunk
        self.last_chunk_primitives = 0

    # ------------------------------------------------------------------ state ---
    @property
    def complete(self) -> bool:
        return self._complete

    @property
    def accumulating(self) -> bool:
        """True when the current picture is built over several paints (FBO mode)."""
        return not self._direct

    @property
    def progress(self) -> float:
        return self._progress

    def _viewport_shape(self, canvas):
        vp = canvas._vp_stack[-1] if canvas._vp_stack else (0, 0, *canvas.physical_size)
        return int(vp[3]), int(vp[2])

    def state_key(self, canvas=None):
        """Everything the accumulated picture depends on (cheap: a few matrix-vector products)."""
        canvas = canvas or self.canvas
        items = []
        ref = None
        for visual, _, _ in self._parts:
            on = self._manages(visual)
            items.append((on, visual.version, visual.n_vertices) if on else (False,))
            if ref is None:
                ref = visual
        m = b""
        if ref is not None and canvas is not None:
            try:
                m = np.asarray(ref.get_transform("visual", "framebuffer").map(_PROBE),
                               np.float64).tobytes()
            except Exception:  # pragma: no cover - e.g. no canvas yet
                m = b""
        shape = self._viewport_shape(canvas) if canvas is not None else None
        return (m, shape, tuple(items))

    def is_current(self, canvas=None) -> bool:
        """True if the last paint's picture is complete and still matches the scene."""
        return self._complete and self._key == self.state_key(canvas)

    @staticmethod
    def _manages(visual) -> bool:
        return bool(visual.progressive) and bool(visual.visible) and visual.n_vertices > 0

    def _active_parts(self):
        return [(v, w, a) for v, w, a in self._parts if self._manages(v)]

    def _budget(self) -> float:
        if self.budget is not None:
            return float(self.budget)
        if self.renderer is None:
            return float(SOFTWARE_BUDGET)
        if not is_software_renderer(self.renderer):
            return float(HARDWARE_BUDGET)
        # The first chunk of an accumulation costs more per primitive than later ones (an empty
        # depth buffer rejects nothing early), so it has its own estimate.
        rate = self._rate_first if self._progress == 0.0 else self._rate
        if rate is None:
            rate = self._rate_first or self._rate
        if rate is None:
            return float(SOFTWARE_BUDGET)
        budget = TARGET_CHUNK_S / rate
        if self.last_chunk_primitives and self._progress > 0.0:  # grow gently
            budget = min(budget, BUDGET_GROWTH * max(self.last_chunk_primitives,
                                                     SOFTWARE_BUDGET_MIN))
        return float(np.clip(budget, SOFTWARE_BUDGET_MIN, SOFTWARE_BUDGET_MAX))

    def _adaptive(self) -> bool:
        if self.adaptive is not None:
            return self.adaptive and self.budget is None
        return self.budget is None and is_software_renderer(self.renderer or "")

    # ------------------------------------------------------------------- draw ---
    def draw(self):
        canvas = self.canvas
        if canvas is None:
            return
        if self.renderer is None:
            try:
                self.renderer = str(gl.glGetParameter(gl.GL_RENDERER))
            except Exception:  # pragma: no cover
                self.renderer = ""
        key = self.state_key(canvas)
        if key != self._key:
            self._key = key
            self._progress = 0.0
            self._complete = False
            self._direct = False
            self.chunks_drawn = 0
        parts = self._active_parts()
        total = sum(v.n_vertices * w for v, w, _ in parts)
        budget = self._budget()
        if self._direct or (self._progress == 0.0 and (total <= budget or not parts)):
            # fits in one paint: draw straight into the frame (no FBO, no compositing)
            self._direct = True
            for v, _, _ in parts:
                v.draw_range(0, v.n_vertices)
            self._progress = 1.0
            self._complete = True
            self.chunks_drawn = 1
            if self._composite is None and is_software_renderer(self.renderer or ""):
                self._warm_composite(self._viewport_shape(canvas))
            self._notify()
            return
        shape = self._viewport_shape(canvas)
        self._ensure_target(shape)
        if not self._complete:
            self._draw_chunk(canvas, parts, total, budget)
        self._draw_composite(shape)
        self._notify()

    def _notify(self):
        if self.on_paint is not None:
            self.on_paint(self._complete)

    def _draw_chunk(self, canvas, parts, total, budget):
        f0 = self._progress
        f1 = 1.0 if self.finish_now else min(1.0, f0 + budget / total)
        if f1 > 0.999999:
            f1 = 1.0
        timed = self._adaptive() and not self.finish_now
        t0 = time.perf_counter()
        self._fbo.activate()
        try:
            if f0 == 0.0:
                gloo.set_depth_mask(True)
                gloo.clear(color=self._bgcolor, depth=True)
            drawn = 0.0
            for v, w, align in parts:
                n = v.n_vertices
                a = (int(f0 * n) // align) * align
                b = n if f1 >= 1.0 else (int(f1 * n) // align) * align
                if b > a:
                    v.draw_range(a, b - a)
                    drawn += (b - a) * w
            if timed:
                canvas.context.flush_commands()
                gl.glFinish()
        finally:
            self._fbo.deactivate()
            canvas.context.flush_commands()
        dt = time.perf_counter() - t0
        if timed and drawn >= 2000:
            # conservative: a slower chunk counts at once, faster ones only slowly
            rate = dt / drawn
            attr = "_rate_first" if f0 == 0.0 else "_rate"
            old = getattr(self, attr)
            if old is None or rate > old:
                setattr(self, attr, rate)
            else:
                setattr(self, attr, 0.75 * old + 0.25 * rate)
        self.last_chunk_s = dt
        self.last_chunk_primitives = int(drawn)
        self.chunks_drawn += 1
        self._progress = f1
        self._complete = f1 >= 1.0

    def _ensure_target(self, shape):
        if self._fb_shape == shape:
            return
        h, w = shape
        self._color_tex = gloo.Texture2D(shape=(h, w, 4), format="rgba",
                                         interpolation="nearest")
        self._depth_tex = gloo.Texture2D(shape=(h, w, 1), format="depth_component",
                                         interpolation="nearest")
        self._fbo = gloo.FrameBuffer(color=self._color_tex, depth=self._depth_tex)
        if self._composite is None:
            self._composite = gloo.Program(_COMPOSITE_VERT, _COMPOSITE_FRAG)
            self._composite["a_pos"] = gloo.VertexBuffer(
                np.array([[-1, -1], [1, -1], [-1, 1], [1, 1]], np.float32))
        self._composite["u_color"] = self._color_tex
        self._composite["u_depth"] = self._depth_tex
        self._composite["u_size"] = (float(w), float(h))
        self._fb_shape = shape
        # new (undefined) contents: start over
        self._progress = 0.0
        self._complete = False
        self.chunks_drawn = 0

    def _warm_composite(self, shape):
        """Make the target and link the composite shader while the scene is small (first paint),
        so the first big model does not pay for it (~50 ms under software GL) in one paint."""
        self._ensure_target(shape)
        gloo.set_state(depth_test=True, blend=False, cull_face=False, depth_mask=False)
        gloo.set_depth_func("never")  # link and run the program, change no pixel
        self._composite.draw("triangle_strip")
        gloo.set_depth_func("less")
        gloo.set_depth_mask(True)

    def _draw_composite(self, shape):
        gloo.set_state(depth_test=True, blend=False, cull_face=False, depth_mask=True)
        gloo.set_depth_func("always")
        self._composite.draw("triangle_strip")
        gloo.set_depth_func("less")

"""2D overlays drawn in canvas pixel coordinates on top of the 3D view (colour bar)."""
from __future__ import annotations

import numpy as np
from vispy import scene
from vispy.color import Color
from vispy.visuals.transforms import STTransform

from .colormap import colormap_lut


def format_value(v: float) -> str:
    """Short tick text: 3 significant digits, scientific outside 1e-3..1e5."""
    v = float(v)
    if not np.isfinite(v):
        return str(v)
    if v == 0:
        return "0"
    a = abs(v)
    if a >= 1e5 or a < 1e-3:
        return f"{v:.2e}"
    return f"{v:.4g}"


class ColorBarOverlay:
    """A vertical colour bar with a label and its value range, in the canvas' top-right corner.

    Made of plain vispy nodes parented to ``canvas.scene`` (pixel coordinates), so it appears in
    ``canvas.render()`` screenshots. ``set(cmap, vmin, vmax, label)`` shows it, ``hide()`` hides.
    """

    BAR_W = 16
    BAR_H = 180
    MARGIN = 14

    def __init__(self, canvas, text_color="white", font_size=9):
        self.canvas = canvas
        root = canvas.scene
        # an RGBA tuple, not a name: Line would first look a string up as a colormap, which
        # imports vispy's colormap machinery on the first paint (~0.2 s on the GUI thread)
        text_color = tuple(float(c) for c in Color(text_color).rgba)
        self._image = scene.visuals.Image(np.zeros((2, 1, 4), np.float32), parent=root,
                                          interpolation="nearest")
        self._border = scene.visuals.Line(np.zeros((5, 2), np.float32), color=text_color,
                                          width=1, parent=root, method="gl")
        self._label = scene.visuals.Text("", color=text_color, font_size=font_size + 1,
                                         anchor_x="right", anchor_y="center", parent=root,
                                         bold=True)
        self._vmax = scene.visuals.Text("", color=text_color, font_size=font_size,
                                        anchor_x="right", anchor_y="center", parent=root)
        self._vmin = scene.visuals.Text("", color=text_color, font_size=font_size,
                                        anchor_x="right", anchor_y="center", parent=root)
        for node in self.nodes:
            node.order = 10
            node.set_gl_state(depth_test=False, blend=True,
                              blend_func=("src_alpha", "one_minus_src_alpha"))
        self.info = None  # (cmap, vmin, vmax, label) while visible
        self.hide()
        canvas.events.resize.connect(self._place)

    @property
    def nodes(self):
        return (self._image, self._border, self._label, self._vmax, self._vmin)

    @property
    def visible(self) -> bool:
        return self.info is not None

    def set(self, cmap: str, vmin: float, vmax: float, label: str) -> None:
        lut = np.asarray(colormap_lut(cmap))[::-1]  # top row = vmax
        self._image.set_data(lut.reshape(len(lut), 1, 4))
        self._label.text = str(label)
        self._vmax.text = format_value(vmax)
        self._vmin.text = format_value(vmin)
        self.info = (cmap, float(vmin), float(vmax), str(label))
        for node in self.nodes:
            node.visible = True
        self._place()

    def hide(self) -> None:
        self.info = None
        for node in self.nodes:
            node.visible = False

    def _place(self, event=None) -> None:
        w, h = self.canvas.size
        bar_h = float(min(self.BAR_H, max(40, h - 4 * self.MARGIN - 20)))
        x1 = w - self.MARGIN
        x0 = x1 - self.BAR_W
        y0 = self.MARGIN + 22  # leave room for the label above
        y1 = y0 + bar_h
        n = len(np.asarray(colormap_lut("viridis")))
        self._image.transform = STTransform(scale=(self.BAR_W, bar_h / n), translate=(x0, y0))
        self._border.set_data(np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]],
                                       np.float32))
        self._label.pos = (x1 + 2, y0 - 12)
        self._vmax.pos = (x0 - 5, y0 + 1)
        self._vmin.pos = (x0 - 5, y1 - 1)

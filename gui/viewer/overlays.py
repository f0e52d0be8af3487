"""The colour bar: a small Qt widget laid over the 3D canvas.

Qt paints it with QPainter, so showing it costs nothing on the GUI thread (vispy text visuals
compiled shaders and built font glyphs on first use: ~0.5 s under software GL). Screenshots
composite it onto the canvas image with :func:`composite_onto`.
"""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtCore import QPoint
from PySide6.QtGui import QColor, QFont, QFontMetrics, QImage, QLinearGradient, QPainter, QPainterPath, QPen
from PySide6.QtWidgets import QWidget

from .colormap import colormap_lut, is_flat

#: Gradient stops sampled from the 256-entry lookup table.
_STOPS = 32


def format_range(vmin: float, vmax: float) -> tuple[str, str]:
    """The bar's two end labels at one precision, enough to resolve the span to ~3 digits
    (barriers 0.0029..0.9961 eV read 0.003 and 0.996, not 0.002921 and 0.9961); trailing zeros
    dropped; scientific outside 1e-3..1e5."""
    ends = (float(vmin), float(vmax))
    if not all(np.isfinite(v) for v in ends):
        return str(ends[0]), str(ends[1])
    if all(v == round(v) and abs(v) < 1e5 for v in ends):
        return str(int(ends[0])), str(int(ends[1]))
    biggest = max(abs(v) for v in ends)
    if biggest >= 1e5 or biggest < 1e-3:
        return f"{ends[0]:.2e}", f"{ends[1]:.2e}"
    span = biggest if is_flat(*ends) else ends[1] - ends[0]
    decimals = int(min(max(2 - np.floor(np.log10(span)), 0), 6))
    texts = (f"{v:.{decimals}f}" for v in ends)
    texts = (t.rstrip("0").rstrip(".") if "." in t else t for t in texts)
    return tuple("0" if t == "-0" else t for t in texts)


class ColorBarOverlay(QWidget):
    """A vertical colour bar with its label and value range, kept in the canvas' top-right corner.

    ``set(cmap, vmin, vmax, label)`` shows it, ``hide()`` hides it; ``info`` is
    ``(cmap, vmin, vmax, label)`` while it is visible.
    """

    BAR_W = 16
    BAR_H = 180
    MARGIN = 12

    def __init__(self, canvas, background: str):
        super().__init__(canvas.native)
        self.canvas = canvas
        self._background = QColor(background)
        self._background.setAlpha(170)  # the model stays faintly visible behind the bar
        self._lut = colormap_lut("viridis")
        self.info = None
        self._ticks = ("", "")
        font = QFont(self.font())
        font.setPointSize(9)
        self.setFont(font)
        self.setAttribute(Qt.WA_TransparentForMouseEvents)  # clicks go on to the canvas
        super().hide()
        canvas.events.resize.connect(self._place)

    @property
    def visible(self) -> bool:
        return self.info is not None

    def set(self, cmap: str, vmin: float, vmax: float, label: str) -> None:
        self._lut = np.asarray(colormap_lut(cmap))
        self.info = (cmap, float(vmin), float(vmax), str(label))
        self._ticks = format_range(vmin, vmax)  # (low, high) end labels
        self._place()
        self.show()
        self.raise_()
        self.update()

    def hide(self) -> None:
        self.info = None
        super().hide()

    def _place(self, event=None) -> None:
        if self.info is None:
            return
        metrics = self.fontMetrics()
        bold = QFont(self.font())
        bold.setBold(True)
        # the plate behind the text is the label's row and the bar's column, not their bounding
        # box: a long label ("Distance to training sites (1 = ...)") would dim a wide block of atoms
        self._label_w = QFontMetrics(bold).horizontalAdvance(self.info[3]) + 16
        self._column_w = max(metrics.horizontalAdvance(t) for t in self._ticks) + self.BAR_W + 18
        width = max(self._label_w, self._column_w)
        parent_h = self.parentWidget().height()
        bar_h = int(min(self.BAR_H, max(40, parent_h - 2 * self.MARGIN - 40)))
        height = bar_h + metrics.height() + 16
        self.resize(width, height)
        self.move(self.parentWidget().width() - width - self.MARGIN, self.MARGIN)

    def paintEvent(self, event) -> None:  # noqa: N802 (Qt name)
        if self.info is None:
            return
        label = self.info[3]
        painter = QPainter(self)
        painter.setRenderHint(QPainter.Antialiasing)
        painter.setPen(Qt.NoPen)
        painter.setBrush(self._background)
        metrics = self.fontMetrics()
        row = metrics.height() + 8
        plate = QPainterPath()
        plate.addRoundedRect(QRectF(self.width() - self._label_w, 0, self._label_w, row), 4, 4)
        plate.addRoundedRect(QRectF(self.width() - self._column_w, row - 4, self._column_w,
                                    self.height() - row + 4), 4, 4)
        painter.drawPath(plate.simplified())  # one union: no darker strip where the two overlap
        text = QColor("white")
        painter.setPen(text)
        bold = QFont(self.font())
        bold.setBold(True)
        painter.setFont(bold)
        painter.drawText(QRectF(0, 4, self.width() - 6, metrics.height()), Qt.AlignRight, label)
        painter.setFont(self.font())
        top = metrics.height() + 10
        bar = QRectF(self.width() - self.BAR_W - 6, top, self.BAR_W, self.height() - top - 6)
        gradient = QLinearGradient(QPointF(0, bar.bottom()), QPointF(0, bar.top()))
        flat = is_flat(*self.info[1:3])  # one value: the map's middle, as every atom or path has
        for k in range(_STOPS + 1):
            r, g, b, a = self._lut[len(self._lut) // 2 if flat else
                                   int(round(k * (len(self._lut) - 1) / _STOPS))]
            gradient.setColorAt(k / _STOPS, QColor.fromRgbF(float(r), float(g), float(b), float(a)))
        painter.fillRect(bar, gradient)
        painter.setPen(QPen(text, 1))
        painter.setBrush(Qt.NoBrush)
        painter.drawRect(bar)
        right = QRectF(0, 0, bar.left() - 4, metrics.height())
        low, high = self._ticks
        painter.drawText(right.translated(0, bar.top() - 2), Qt.AlignRight, high)
        painter.drawText(right.translated(0, bar.bottom() - metrics.height() + 2), Qt.AlignRight, low)
        painter.end()


def composite_onto(image: np.ndarray, widget: QWidget) -> np.ndarray:
    """Blend a visible child widget of the canvas onto the canvas' RGBA image (for PNG export)."""
    if not widget.isVisible():
        return image
    scale = image.shape[1] / max(widget.parentWidget().width(), 1)  # device pixels per widget px
    w, h = int(round(widget.width() * scale)), int(round(widget.height() * scale))
    layer = QImage(w, h, QImage.Format_RGBA8888_Premultiplied)
    layer.fill(Qt.transparent)
    painter = QPainter(layer)
    painter.scale(scale, scale)
    widget.render(painter, QPoint(0, 0), renderFlags=QWidget.RenderFlag.DrawChildren)
    painter.end()
    data = np.frombuffer(layer.constBits(), np.uint8, count=layer.bytesPerLine() * h)
    pixels = data.reshape(h, layer.bytesPerLine())[:, : 4 * w].reshape(h, w, 4).astype(np.float32)
    x0, y0 = int(round(widget.x() * scale)), int(round(widget.y() * scale))
    out = image.copy()
    hh, ww = min(h, out.shape[0] - y0), min(w, out.shape[1] - x0)
    if hh > 0 and ww > 0:
        src = pixels[:hh, :ww]
        alpha = src[..., 3:4] / 255.0
        dst = out[y0 : y0 + hh, x0 : x0 + ww].astype(np.float32)
        dst[..., :3] = src[..., :3] + dst[..., :3] * (1 - alpha)  # src is premultiplied
        out[y0 : y0 + hh, x0 : x0 + ww] = np.clip(np.rint(dst), 0, 255).astype(np.uint8)
    return out

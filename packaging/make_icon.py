"""Draw Amorpha's icon (resources/icons/amorpha.png, 256 px): a six-membered Si–O ring, the motif
of silica glass, in the viewer's Jmol colours. Run by `make package`; the PNG is committed."""
import math
import os
import sys
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
from PySide6.QtCore import QPointF, Qt  # noqa: E402
from PySide6.QtGui import QColor, QGuiApplication, QImage, QPainter, QPen, QRadialGradient  # noqa: E402

OUT = Path(__file__).resolve().parent.parent / "resources" / "icons" / "amorpha.png"


def ball(painter, centre, radius, rgb):
    gradient = QRadialGradient(centre + QPointF(-radius / 3, -radius / 3), radius * 1.3)
    gradient.setColorAt(0, QColor(rgb).lighter(160))
    gradient.setColorAt(1, QColor(rgb).darker(130))
    painter.setBrush(gradient)
    painter.setPen(Qt.NoPen)
    painter.drawEllipse(centre, radius, radius)


def main() -> int:
    app = QGuiApplication.instance() or QGuiApplication(sys.argv[:1])  # noqa: F841
    size = 256
    image = QImage(size, size, QImage.Format_ARGB32)
    image.fill(Qt.transparent)
    p = QPainter(image)
    p.setRenderHint(QPainter.Antialiasing)
    c = QPointF(size / 2, size / 2)
    si = [c + QPointF(88 * math.cos(math.pi / 3 * k + math.pi / 6), 88 * math.sin(math.pi / 3 * k + math.pi / 6))
          for k in range(6)]
    o = [(si[k] + si[(k + 1) % 6]) / 2 * 1.0 for k in range(6)]
    o = [c + (q - c) * 1.08 for q in o]
    p.setPen(QPen(QColor("#666666"), 10, Qt.SolidLine, Qt.RoundCap))
    for k in range(6):
        p.drawLine(si[k], o[k])
        p.drawLine(o[k], si[(k + 1) % 6])
    for q in o:
        ball(p, q, 20, "#ff0d0d")
    for q in si:
        ball(p, q, 30, "#f0c8a0")
    p.end()
    OUT.parent.mkdir(parents=True, exist_ok=True)
    ok = image.save(str(OUT))
    print(f"wrote {OUT}" if ok else f"could not write {OUT}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

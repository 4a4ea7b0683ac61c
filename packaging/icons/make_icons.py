"""Render tpi-chart.svg into the PNG sizes of the Linux icon theme, tpi-chart.ico (Windows) and
tpi-chart.icns (macOS), with Qt's SVG renderer. Run after editing the SVG:

    QT_QPA_PLATFORM=offscreen .venv/bin/python packaging/icons/make_icons.py
"""

from __future__ import annotations

import sys
from pathlib import Path

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QGuiApplication, QImage, QPainter
from PySide6.QtSvg import QSvgRenderer

HERE = Path(__file__).resolve().parent
SIZES = (16, 24, 32, 48, 64, 128, 256, 512)


def render(renderer: QSvgRenderer, size: int) -> QImage:
    image = QImage(size, size, QImage.Format.Format_ARGB32)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    renderer.render(painter, QRectF(0, 0, size, size))
    painter.end()
    return image


def main() -> int:
    _app = QGuiApplication(sys.argv[:1])
    renderer = QSvgRenderer(str(HERE / "tpi-chart.svg"))
    if not renderer.isValid():
        sys.exit("tpi-chart.svg cannot be read")
    for size in SIZES:
        render(renderer, size).save(str(HERE / f"tpi-chart-{size}.png"))
    # Windows wants one .ico with several sizes; Qt's ico writer stores one, the largest that
    # Windows scales best from is 256.
    render(renderer, 256).save(str(HERE / "tpi-chart.ico"))
    render(renderer, 512).save(str(HERE / "tpi-chart.icns"))
    return 0


if __name__ == "__main__":
    sys.exit(main())

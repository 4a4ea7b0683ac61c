"""Render the four body-diagram views to ``docs/screenshots/diagram-<view>.png``.

Each picture is the real widget (``tpi_chart.ui.diagram.BodyDiagram``) fitted to a window
``--height`` pixels tall (default 900), rendered at 2x for crisp print-like output, with the
reference visit's six sites (product.md §2) on the posterior view and a few example sites on the
other views so every marker style is visible. A second, 300 px tall copy of each view
(``diagram-<view>-300.png``) shows how the drawing reads at small size.

It also writes the four views as the workspace shows them in a 1366 × 768 window
(``diagram-<view>-1366x768.png``, the demo clinic's reference patient) and the note's diagram
rasterised at 250 dpi (``note-diagram-250dpi.png``, ``note-diagram-40-sites-250dpi.png``; needs
``pdftoppm``).

Usage: ``python tools/diagram_screenshots.py [--height 900] [--out docs/screenshots]``
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from datetime import UTC, date, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QRectF, Qt  # noqa: E402
from PySide6.QtGui import QColor, QImage, QPainter  # noqa: E402
from PySide6.QtWidgets import QApplication, QWidget  # noqa: E402

from tests.users import staff  # noqa: E402
from tpi_chart.domain.diagram import VIEW_IDS, default_position  # noqa: E402
from tpi_chart.domain.models import Patient, Procedure, Site  # noqa: E402
from tpi_chart.services.context import Services, open_services  # noqa: E402
from tpi_chart.ui.diagram import BodyDiagram  # noqa: E402

EXAMPLE_SITES: tuple[tuple[str, str, str, str | None], ...] = (
    # the reference visit: (muscle, side, state, twitch)
    ("upper_trapezius", "left", "injected", "brisk"),
    ("upper_trapezius", "right", "injected", "weak"),
    ("levator_scapulae", "left", "injected", "none"),
    ("levator_scapulae", "right", "injected", "brisk"),
    ("rhomboid_major", "right", "injected", "weak"),
    ("infraspinatus", "right", "injected", "none"),
    # other views
    ("pectoralis_major", "left", "planned", None),
    ("tensor_fasciae_latae", "right", "injected", "weak"),
    ("masseter", "left", "injected", "brisk"),
    ("temporalis", "left", "planned", None),
    ("sternocleidomastoid", "right", "injected", None),
)


def _example_procedure(services: Services) -> int:
    """A procedure in a scratch database holding every example site (real services: the picture
    is drawn from stored rows, as in the app)."""
    sites = []
    for muscle, side, state, twitch in EXAMPLE_SITES:
        position = default_position(muscle, side)
        assert position is not None, muscle
        view, x, y = position
        sites.append(
            Site.model_validate(
                {
                    "muscle": muscle,
                    "side": side,
                    "state": state,
                    "twitch": twitch,
                    "view": view,
                    "x": x,
                    "y": y,
                    "volume_ml": 1.5,
                }
            )
        )
    patient = services.patients.create(
        Patient(
            mrn="X1",
            family_name="Example",
            given_name="Pat",
            birth_date=date(1970, 1, 1),
            sex="female",
        )
    )
    procedure = Procedure(
        performed_at=datetime(2026, 11, 20, 9, 30, tzinfo=UTC), sites=tuple(sites)
    )
    return services.charting.create(patient.id, procedure).id


def render(diagram: BodyDiagram, view_id: str, height: int, out: Path, scale: float = 2.0) -> Path:
    diagram.set_view(view_id)
    view = diagram.view
    figure = diagram.scene.figure_rect().adjusted(-12, -12, 12, 12)
    width = round(height * figure.width() / figure.height())
    view.setFixedSize(width, height)
    view.fit()
    view.fitInView(figure, Qt.AspectRatioMode.KeepAspectRatio)
    image = QImage(round(width * scale), round(height * scale), QImage.Format.Format_ARGB32)
    image.setDevicePixelRatio(scale)
    image.fill(QColor("white"))
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
    view.render(painter, QRectF(0, 0, width, height), view.viewport().rect())
    painter.end()
    out.parent.mkdir(parents=True, exist_ok=True)
    image.save(str(out))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--height", type=int, default=900)
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    args = parser.parse_args(argv)
    app = QApplication.instance() or QApplication([])
    with tempfile.TemporaryDirectory() as folder:
        os.environ["TPI_CHART_KEY_DIR"] = folder  # the scratch database's audit key stays in it
        with open_services(Path(folder) / "example.db", staff("screenshots")) as services:
            written = _draw(services, args.height, args.out)
        written += _workspace(args.out, Path(folder))
    written += _note(args.out)
    for path in written:
        print(path.relative_to(ROOT) if path.is_relative_to(ROOT) else path)
    del app
    return 0


def _draw(services: Services, height: int, out: Path) -> list[Path]:
    host = QWidget()
    diagram = BodyDiagram(services.charting, host)
    diagram.legend.hide()
    diagram.hover_label.hide()
    diagram.tabs.hide()
    for button in (diagram.zoom_in_button, diagram.zoom_out_button, diagram.fit_button):
        button.hide()
    host.show()
    diagram.set_procedure(_example_procedure(services))
    written = []
    for view_id in VIEW_IDS:
        written.append(render(diagram, view_id, height, out / f"diagram-{view_id}.png"))
        written.append(render(diagram, view_id, 300, out / f"diagram-{view_id}-300.png"))
    host.close()
    return written


def _workspace(out: Path, folder: Path) -> list[Path]:
    """Each view in the workspace of a 1366 x 768 window (demo clinic, reference patient)."""
    from tpi_chart.domain.users import User
    from tpi_chart.ui.main_window import MainWindow

    chen = User(username="chen", display_name="Dr. Alex Chen, MD", roles=frozenset({"physician"}))
    written = []
    with open_services(folder / "demo.db", staff("chen"), seed_demo_if_new=True) as services:
        maria = services.patients.by_mrn("D1001")
        assert maria is not None
        window = MainWindow(services, chen)
        window.resize(1366, 768)
        window.show()
        window.open_patient(maria.id)
        window.patients.primary_button.click()
        app = QApplication.instance()
        assert app is not None
        for view_id in VIEW_IDS:
            window.workspace.diagram.set_view(view_id)
            window.workspace.diagram.view.fit()
            app.processEvents()
            path = out / f"diagram-{view_id}-1366x768.png"
            window.grab().save(str(path))
            written.append(path)
        window.close()
    return written


def _note(out: Path) -> list[Path]:
    """The note's diagram at 250 dpi: the reference visit and the 40-site layout document."""
    import json
    import shutil
    import subprocess

    from tests.sample_documents import forty_site_document, signed_copy
    from tpi_chart.domain.models import ProcedureDocument
    from tpi_chart.pdf.note import NoteOptions, render_note

    if shutil.which("pdftoppm") is None:
        return []
    options = NoteOptions(clinic_name="Riverside Pain & Spine Clinic")
    reference = ProcedureDocument.model_validate(
        json.loads((ROOT / "tests/examples/reference-visit.json").read_text("utf-8"))
    )
    written = []
    # (document, output name, crop as fractions of page 1: left, top, width, height)
    for document, name, box in (
        (signed_copy(reference), "note-diagram-250dpi.png", (0.05, 0.44, 0.60, 0.28)),
        (
            signed_copy(forty_site_document()),
            "note-diagram-40-sites-250dpi.png",
            (0.05, 0.46, 0.92, 0.27),
        ),
    ):
        with tempfile.TemporaryDirectory() as scratch:
            pdf = Path(scratch) / "note.pdf"
            pdf.write_bytes(render_note(document, options))
            subprocess.run(
                ["pdftoppm", "-r", "250", "-f", "1", "-l", "1", "-png", str(pdf), f"{scratch}/p"],
                check=True,
            )
            page = QImage(next(Path(scratch).glob("p*.png")).as_posix())
            w, h = page.width(), page.height()
            crop = page.copy(
                round(box[0] * w), round(box[1] * h), round(box[2] * w), round(box[3] * h)
            )
            path = out / name
            crop.save(str(path))
            written.append(path)
    return written


if __name__ == "__main__":
    sys.exit(main())

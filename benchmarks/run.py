"""Speed figures for product.md §9, printed as medians (and ratios where two sizes are compared).

    QT_QPA_PLATFORM=offscreen .venv/bin/python benchmarks/run.py [--procedures 20000]

What is measured:
- start: a new process importing the app, opening the (demo) database and showing the main window;
- click → saved marker: a real mouse click on the body diagram until the stored site is drawn,
  the table and the rules panel refreshed (the service commits with synchronous=FULL);
- note: rendering the reference visit's PDF, and a 40-site note;
- scale: a clinic's ten years (default 20,000 procedures, ~120,000 sites) against the demo clinic:
  opening the database (quick_check + migration check), patient search, opening a procedure with
  its rules evaluation.
Machines are noisy: read the medians and the ratios, not single runs.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tpi_chart.domain.diagram import load_diagram  # noqa: E402
from tpi_chart.domain.models import Patient, ProcedureDocument  # noqa: E402
from tpi_chart.domain.rules import evaluate  # noqa: E402
from tpi_chart.pdf.examples import forty_site_document  # noqa: E402
from tpi_chart.pdf.note import ProcedureNoteRenderer  # noqa: E402
from tpi_chart.services.context import open_services  # noqa: E402

REFERENCE = ROOT / "tests" / "examples" / "reference-visit.json"


def median_ms(action: Callable[[], object], runs: int) -> float:
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        action()
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples)


def report(name: str, value: float, unit: str = "ms", note: str = "") -> None:
    print(f"  {name:<52} {value:>10.1f} {unit}  {note}")


STARTUP_SCRIPT = """
import sys, time
start = time.perf_counter()
from PySide6.QtWidgets import QApplication
from tpi_chart.domain.users import User
from tpi_chart.services.context import open_services
from tpi_chart.ui.launch import make_application
from tpi_chart.ui.main_window import MainWindow
app = make_application([])
services = open_services(__import__("pathlib").Path(sys.argv[1]), "bench")
user = User(username="bench", display_name="Bench", roles=frozenset({"physician"}))
window = MainWindow(services.as_user("bench"), user)
window.show()
app.processEvents()
print(f"{(time.perf_counter() - start) * 1000:.1f}")
"""


def bench_startup(db: Path, runs: int) -> float:
    samples = []
    for _ in range(runs):
        begin = time.perf_counter()
        subprocess.run(
            [sys.executable, "-c", STARTUP_SCRIPT, str(db)],
            check=True,
            capture_output=True,
            cwd=ROOT,
        )
        samples.append((time.perf_counter() - begin) * 1000)
    return statistics.median(samples)


def bench_click_to_marker(db: Path, runs: int) -> float:
    from PySide6.QtCore import Qt
    from PySide6.QtTest import QTest

    from tpi_chart.domain.users import User
    from tpi_chart.ui.launch import make_application
    from tpi_chart.ui.main_window import MainWindow

    app = make_application([])
    services = open_services(db, "bench")
    maria = services.patients.by_mrn("D1001")
    assert maria is not None
    procedure_id = services.charting.list_for_patient(maria.id)[0].id
    user = User(username="bench", display_name="Bench", roles=frozenset({"physician"}))
    window = MainWindow(services, user)
    window.resize(1366, 768)
    window.show()
    window.open_procedure(maria.id, procedure_id, "posterior")
    app.processEvents()
    diagram = window.workspace.diagram
    diagram.set_view("posterior")
    zone = load_diagram().views["posterior"].zone_for("lower_trapezius", "left")
    assert zone is not None
    viewport = diagram.view.viewport()
    point = diagram.view.mapFromScene(diagram.scene.to_scene(*zone.label_point))
    samples = []
    for _ in range(runs):
        before = len(services.charting.sites(procedure_id))
        start = time.perf_counter()
        QTest.mouseClick(viewport, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, point)
        app.processEvents()
        samples.append((time.perf_counter() - start) * 1000)
        if len(services.charting.sites(procedure_id)) != before + 1:
            raise SystemExit("a benchmark click did not store a site")
        diagram.undo_stack.undo()  # frees the spot for the next click
        app.processEvents()
    window.close()
    services.close()
    return statistics.median(samples)


def seed_clinic(db: Path, procedures: int) -> None:
    """A clinic's history: patients with ~20 visits each, six sites per visit."""
    reference = ProcedureDocument.model_validate_json(REFERENCE.read_text())
    template = reference.procedure.model_copy(update={"signature": None, "status": "in_progress"})
    rng = random.Random(1)
    start = datetime(2016, 1, 4, 9, 0, tzinfo=UTC)
    with open_services(db, "bench") as services:
        patients = max(1, procedures // 20)
        for number in range(patients):
            patient = services.patients.create(
                Patient(
                    mrn=f"B{number:06d}",
                    family_name=rng.choice(["Smith", "García", "Nguyễn", "Ødegård", "Khan"]),
                    given_name=f"Patient{number}",
                    birth_date=reference.patient.birth_date,
                    sex="female",
                    weight_kg=70.0,
                )
            )
            for visit in range(procedures // patients):
                when = start + timedelta(days=(number * 7 + visit * 180) % 3650)
                services.charting.create(
                    patient.id, template.model_copy(update={"performed_at": when})
                )


def bench_scale(small: Path, large: Path, runs: int) -> None:
    def figures(db: Path, mrn: str) -> dict[str, float]:
        open_ms = median_ms(lambda: open_services(db, "bench").close(), max(3, runs // 5))
        with open_services(db, "bench") as services:
            search_ms = median_ms(lambda: services.patients.search("garc"), runs)
            patient = services.patients.by_mrn(mrn)
            assert patient is not None
            procedure_id = services.charting.list_for_patient(patient.id)[0].id
            open_ms_proc = median_ms(
                lambda: evaluate(services.charting.document(procedure_id)), runs
            )
        return {"open": open_ms, "search": search_ms, "procedure": open_ms_proc}

    small_figures = figures(small, "D1001")
    large_figures = figures(large, "B000500")
    for key, label in (
        ("open", "open database (quick_check, migrations)"),
        ("search", "patient search 'garc'"),
        ("procedure", "open a procedure + rules evaluation"),
    ):
        ratio = large_figures[key] / small_figures[key]
        report(f"{label}: demo", small_figures[key])
        report(f"{label}: ten years", large_figures[key], note=f"ratio {ratio:.2f}×")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--procedures", type=int, default=20000)
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        os.environ["TPI_CHART_KEY_DIR"] = folder
        demo = Path(folder) / "demo.db"
        open_services(demo, "bench", seed_demo_if_new=True).close()

        print("Start")
        report("process start → main window shown (median of 5)", bench_startup(demo, 5))

        print("Charting")
        click = bench_click_to_marker(demo, args.runs)
        report("click on diagram → site stored and drawn", click, note="(a frame is 16.7 ms)")

        print("Note PDF")
        reference = json.loads(REFERENCE.read_text())
        document = ProcedureDocument.model_validate(reference)
        report(
            "render reference visit note",
            median_ms(lambda: ProcedureNoteRenderer(document).render(), 10),
        )
        forty = forty_site_document()
        report("render 40-site note", median_ms(lambda: ProcedureNoteRenderer(forty).render(), 5))

        print(f"Scale ({args.procedures} procedures)")
        large = Path(folder) / "ten-years.db"
        begin = time.perf_counter()
        seed_clinic(large, args.procedures)
        report("seeding (not a product figure)", time.perf_counter() - begin, "s")
        report("database size", large.stat().st_size / 1e6, "MB")
        bench_scale(demo, large, args.runs)


if __name__ == "__main__":
    main()

"""Speed figures for product.md §9, printed as medians (and ratios where two sizes are compared).

    QT_QPA_PLATFORM=offscreen .venv/bin/python benchmarks/run.py [--procedures 20000]

What is measured:
- start: from launching a new Python process (interpreter start, imports, opening the demo
  database) through `launch.open_window` until the window is shown, painted and the event loop is
  idle (nothing left to deliver). Twice: a first start (the patient page), and a start that
  restores the last procedure into the workspace (`restore_last`). Settings go to a scratch
  folder (XDG_CONFIG_HOME), never the user's own; bytecode is cached as in an installed app;
- click → saved marker: a real mouse click on the body diagram until the stored site's marker and
  the "Saved" indicator have been painted (the service commits with synchronous=FULL before
  anything says saved); then until the event loop is idle again, the table, rules panel and forms
  refreshed and painted too;
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
from typing import Any

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.idle import EventCounter, run_until_idle  # noqa: E402
from tests.sample_documents import forty_site_document  # noqa: E402
from tpi_chart.domain.diagram import load_diagram  # noqa: E402
from tpi_chart.domain.models import Patient, ProcedureDocument  # noqa: E402
from tpi_chart.domain.rules import evaluate  # noqa: E402
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
from pathlib import Path
from PySide6.QtCore import QSettings
from tpi_chart.domain.users import User
from tpi_chart.services.context import open_services
from tpi_chart.ui import launch
sys.path.insert(0, sys.argv[3])
from benchmarks.idle import EventCounter, run_until_idle
app = launch.make_application([])
services = open_services(Path(sys.argv[1]), "bench")
user = User(username="bench", display_name="Bench", roles=frozenset({"physician"}))
if sys.argv[2] == "remember":  # what the last session left in the settings: a procedure open
    maria = services.patients.by_mrn("D1001")
    settings = QSettings()
    settings.setValue("session/patient_id", maria.id)
    settings.setValue("session/procedure_id", services.charting.list_for_patient(maria.id)[0].id)
    settings.setValue("session/view", "posterior")
    settings.sync()
    print("remembered")
    raise SystemExit(0)
events = EventCounter(app)
window = launch.open_window(services, user)
idle = run_until_idle(app, events)
page = type(window.stack.currentWidget()).__name__
print(time.time() - (time.perf_counter() - idle), page)
"""


def bench_startup(db: Path, runs: int, restore: bool) -> float:
    """Median ms from launching the process until the window is shown and the loop is idle."""
    with tempfile.TemporaryDirectory() as config:
        # Bytecode as an installed app has it: the warm-up run writes it to a scratch folder
        # (this environment may set PYTHONDONTWRITEBYTECODE, which would time the compiler too).
        env = {
            **os.environ,
            "XDG_CONFIG_HOME": config,
            "PYTHONPYCACHEPREFIX": str(Path(config) / "pycache"),
        }
        env.pop("PYTHONDONTWRITEBYTECODE", None)

        def run(mode: str) -> str:
            done = subprocess.run(
                [sys.executable, "-c", STARTUP_SCRIPT, str(db), mode, str(ROOT)],
                check=True,
                capture_output=True,
                cwd=ROOT,
                env=env,
                text=True,
            )
            return done.stdout.strip().splitlines()[-1]

        if restore:
            run("remember")
        run("warm-up")  # the first start after seeding also pays for cold file caches
        samples = []
        for _ in range(runs):
            begin = time.time()
            ready, page = run("start").split()
            expected = "WorkspacePage" if restore else "PatientsPage"
            if page != expected:
                raise SystemExit(f"the start showed {page}, not {expected}")
            samples.append((float(ready) - begin) * 1000)
    return statistics.median(samples)


def bench_click_to_marker(db: Path, runs: int) -> tuple[float, float, float]:
    """Medians (ms) from a click on the diagram until the new marker and "Saved" are painted,
    until the event loop is idle again (table, rules panel and forms refreshed), and of the time
    spent in ChartingService.add_site (validation, the synchronous=FULL commit, the read-back)."""
    from PySide6.QtCore import Qt
    from PySide6.QtTest import QTest

    from tpi_chart.domain.users import User
    from tpi_chart.ui.diagram.items import MarkerItem
    from tpi_chart.ui.launch import make_application
    from tpi_chart.ui.main_window import MainWindow
    from tpi_chart.ui.workspace.widgets import SavedIndicator

    painted: dict[str, float] = {}
    marker_paint, saved_paint = MarkerItem.paint, SavedIndicator.paintEvent

    def paint_marker(self: Any, *args: Any) -> None:
        marker_paint(self, *args)
        painted.setdefault(f"marker {self.site_id}", time.perf_counter())

    def paint_saved(self: Any, event: Any) -> None:
        saved_paint(self, event)
        if self.text().startswith("✓ Saved"):
            painted.setdefault("saved", time.perf_counter())

    MarkerItem.paint = paint_marker  # type: ignore[method-assign]
    SavedIndicator.paintEvent = paint_saved  # type: ignore[method-assign]
    app = make_application([])
    events = EventCounter(app)
    services = open_services(db, "bench")
    service_ms: list[float] = []
    add_site = services.charting.add_site

    def timed_add_site(*args: Any) -> Any:
        begin = time.perf_counter()
        try:
            return add_site(*args)
        finally:
            service_ms.append((time.perf_counter() - begin) * 1000)

    services.charting.add_site = timed_add_site
    maria = services.patients.by_mrn("D1001")
    assert maria is not None
    procedure_id = services.charting.list_for_patient(maria.id)[0].id
    user = User(username="bench", display_name="Bench", roles=frozenset({"physician"}))
    window = MainWindow(services, user)
    window.resize(1366, 768)
    window.show()
    window.open_procedure(maria.id, procedure_id, "posterior")
    workspace = window.workspace
    diagram = workspace.diagram
    diagram.set_view("posterior")
    workspace.saved_indicator.setText("")
    run_until_idle(app, events)
    zone = load_diagram().views["posterior"].zone_for("lower_trapezius", "left")
    assert zone is not None
    viewport = diagram.view.viewport()
    point = diagram.view.mapFromScene(diagram.scene.to_scene(*zone.label_point))
    drawn, idle = [], []
    for _ in range(runs):
        before = len(services.charting.sites(procedure_id))
        evaluation = workspace.evaluation
        painted.clear()
        start = time.perf_counter()
        QTest.mouseClick(viewport, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, point)
        done = run_until_idle(app, events)
        stored = services.charting.sites(procedure_id)
        if len(stored) != before + 1:
            raise SystemExit("a benchmark click did not store a site")
        new = f"marker {stored[-1].id}"
        if new not in painted or "saved" not in painted:
            raise SystemExit(f"the click's marker or 'Saved' was not painted: {sorted(painted)}")
        if workspace.rules.evaluation is evaluation:
            raise SystemExit("the rules panel was not refreshed after the click")
        drawn.append((max(painted[new], painted["saved"]) - start) * 1000)
        idle.append((done - start) * 1000)
        diagram.undo_stack.undo()  # frees the spot for the next click
        workspace.saved_indicator.setText("")  # so the next click has to paint "Saved" again
        run_until_idle(app, events)
    window.close()
    services.close()
    MarkerItem.paint, SavedIndicator.paintEvent = marker_paint, saved_paint  # type: ignore[method-assign]
    return statistics.median(drawn), statistics.median(idle), statistics.median(service_ms)


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


def bench_scale(small: Path, large: Path, large_patients: int, runs: int) -> None:
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
    large_figures = figures(large, f"B{large_patients // 2:06d}")
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

        print("Start (median of 7; target: well under a second)")
        report("process start → patient page shown, loop idle", bench_startup(demo, 7, False))
        report("process start → last procedure restored, loop idle", bench_startup(demo, 7, True))

        print("Charting")
        drawn, idle, service = bench_click_to_marker(demo, args.runs)
        report("click on diagram → stored, marker + 'Saved' painted", drawn, note="(a frame: 16.7)")
        report("  of which ChartingService.add_site (commit, FULL)", service)
        report("click on diagram → rules and forms refreshed, idle", idle)

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
        bench_scale(demo, large, max(1, args.procedures // 20), args.runs)


if __name__ == "__main__":
    main()

"""Real X11 input into the real window: the idle lock and the wheel guard, checked with input the
way a person makes it (xdotool through an Xvfb server, Qt's xcb platform), not with events a test
sends to a widget. Run by `.ci/run`; needs `Xvfb` and `xdotool` on PATH.

    .venv/bin/python tools/x11_input_check.py            # exit 0 when every check passes

Checks, on a scratch demo clinic signed in as at the desk, a visit open on the Checklist tab:
three wheel turns over an unfocused combo box leave its value and the focus alone (and scroll the
form); the idle lock sees the pointer move, the wheel and a key; the wheel does change the combo
once it has the focus. `--without-guard` runs the same with the wheel guard taken off: the first
check must then fail (the check is not empty).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PASSWORD = "real-input-check-2026"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--without-guard", action="store_true", help="take the wheel guard off")
    parser.add_argument("--inside", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.inside:
        return _inside(Path(os.environ["TPI_CHART_CHECK_DB"]), args.without_guard)
    missing = [tool for tool in ("Xvfb", "xdotool") if shutil.which(tool) is None]
    if missing:
        print(f"x11_input_check: {' and '.join(missing)} not found; install xvfb and xdotool")
        return 2
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        display = _start_xvfb(folder)
        env = dict(
            os.environ,
            DISPLAY=display[0],
            QT_QPA_PLATFORM="xcb",
            XDG_CONFIG_HOME=str(folder / "config"),
            TPI_CHART_KEY_DIR=str(folder / "keys"),
            TPI_CHART_CHECK_DB=str(folder / "clinic.db"),
        )
        try:
            subprocess.run(
                [sys.executable, "-c", _PREPARE, str(folder / "clinic.db"), PASSWORD],
                check=True,
                env=env,
                cwd=ROOT,
            )
            argv = [sys.executable, __file__, "--inside"]
            if args.without_guard:
                argv.append("--without-guard")
            return subprocess.run(argv, env=env, cwd=ROOT, timeout=180).returncode
        finally:
            display[1].terminate()
            display[1].wait(10)


_PREPARE = """
import sys
from pathlib import Path
from tpi_chart.services.context import open_services
with open_services(Path(sys.argv[1]), None, seed_demo_if_new=True) as services:
    services.auth.create_first_administrator("admin", "Check Admin", sys.argv[2], physician=True)
"""


def _start_xvfb(folder: Path) -> tuple[str, subprocess.Popen[bytes]]:
    for number in range(90, 140):
        if Path(f"/tmp/.X11-unix/X{number}").exists():
            continue
        server = subprocess.Popen(
            ["Xvfb", f":{number}", "-screen", "0", "1366x768x24", "-nolisten", "tcp"],
            stdout=subprocess.DEVNULL,
            stderr=(folder / "xvfb.log").open("wb"),
        )
        for _ in range(50):
            if Path(f"/tmp/.X11-unix/X{number}").exists():
                return f":{number}", server
            if server.poll() is not None:
                break
            time.sleep(0.1)
        server.terminate()
    raise SystemExit("x11_input_check: no Xvfb display could be started")


def _inside(db: Path, without_guard: bool) -> int:
    from datetime import UTC, datetime

    from PySide6.QtWidgets import QApplication, QComboBox, QScrollArea, QWidget

    from tpi_chart.domain.models import Procedure
    from tpi_chart.services.context import open_services
    from tpi_chart.ui import launch

    app = launch.make_application([])
    if without_guard:
        from tpi_chart.ui.wheel_guard import install_wheel_guard
        from tpi_chart.ui.window_watch import window_watch

        window_watch().remove(install_wheel_guard(app).prepare)
    opened = open_services(db, exclusive=True)
    user = opened.auth.login("admin", PASSWORD)
    assert user is not None
    services = opened.as_user(user)
    window = launch.open_window(opened, user)
    window.showNormal()
    window.resize(1366, 768)
    window.move(0, 0)
    patient = services.patients.by_mrn("D1001")
    assert patient is not None
    visit = services.charting.create(
        patient.id, Procedure(performed_at=datetime.now(UTC), payer_profile="none")
    ).id
    window.open_procedure(patient.id, visit, "posterior")
    lock = window.idle_lock

    def settle(ms: int = 400) -> None:
        end = time.monotonic() + ms / 1000
        while time.monotonic() < end:
            app.processEvents()
            time.sleep(0.01)

    def xdotool(*args: str) -> None:
        subprocess.run(["xdotool", *args], check=True)

    def into_view(widget: QWidget) -> tuple[str, str]:
        area = widget.parentWidget()
        while area is not None and not isinstance(area, QScrollArea):
            area = area.parentWidget()
        if area is not None:
            area.ensureWidgetVisible(widget, 0, 40)
            settle()
        centre = widget.mapToGlobal(widget.rect().center())
        assert QApplication.widgetAt(centre) is widget, QApplication.widgetAt(centre)
        return str(centre.x()), str(centre.y())

    settle(800)
    workspace = window.workspace
    workspace.tabs.setCurrentWidget(workspace.checklist)
    settle()
    combo = workspace.checklist.position
    assert isinstance(combo, QComboBox)
    checks: list[tuple[str, bool, str]] = []

    form = combo.parentWidget()
    while form is not None and not isinstance(form, QScrollArea):
        form = form.parentWidget()
    assert form is not None
    index, seen = combo.currentIndex(), lock.last_input
    time.sleep(0.05)
    xdotool("mousemove", *into_view(combo))
    settle()
    scrolled = form.verticalScrollBar().value()
    checks.append(("the idle lock sees the pointer move", lock.last_input > seen, ""))
    seen = lock.last_input
    for _ in range(3):
        xdotool("click", "5")  # X11's wheel down
        settle(150)
    after = combo.currentIndex()
    checks.append(
        ("three wheel turns over the unfocused combo leave it", after == index, f"{index}→{after}")
    )
    checks.append(("… and do not give it the focus", not combo.hasFocus(), ""))
    now = form.verticalScrollBar().value()
    checks.append(("… and scroll the form it is in", now > scrolled, f"{scrolled}→{now}"))
    checks.append(("the idle lock sees the wheel", lock.last_input > seen, ""))

    window.activateWindow()
    combo.setFocus()
    settle()
    index = combo.currentIndex()
    x, y = into_view(combo)
    xdotool("mousemove", str(int(x) + 1), y)
    settle()
    xdotool("click", "5")
    settle()
    after = combo.currentIndex()
    checks.append(("the wheel changes the combo once focused", after != index, f"{index}→{after}"))

    seen = lock.last_input
    time.sleep(0.05)
    xdotool("key", "Escape")
    settle()
    checks.append(("the idle lock sees a key", lock.last_input > seen, ""))

    for what, passed, detail in checks:
        print("pass" if passed else "FAIL", what, detail)
    window.close()
    return 0 if all(passed for _, passed, _ in checks) else 1


if __name__ == "__main__":
    raise SystemExit(main())

"""The start as a person meets it: `tpi-chart --db FILE` (the real entry point, no shortcut),
timed in a process of its own.

- "person": from launching the process until the sign-in dialog is shown, painted and the
  event loop idle (the first thing anyone sees); from then until Sign in can go ahead (the app's
  import, done behind the dialog while the person types); and from pressing Sign in (the name
  and password typed) until the main window is shown, painted and idle: the password's Argon2
  check with the production parameters, opening the window, and the last visit reopened when
  one is remembered.
- "memory": the same sign-in, then the resident memory once the window is idle: now, at its
  peak since the password check returned (Linux resets the high-water mark when "5" is written
  to /proc/self/clear_refs), and at the whole process's peak, the Argon2 check's 64 MiB included.
- "sign": the same, after signing the reopened visit's note in the window's process (the
  signing service the window's worker runs: the note drawn by reportlab, signed by pyHanko).

Kept apart from `run.py` because these scripts import only what the app's start imports.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

SCRIPT = """
import os, sys, time
sys.path.insert(0, sys.argv[1])
from PySide6.QtCore import QTimer
from benchmarks.idle import run_until_idle
from tpi_chart.ui import launch

mode, username, password = sys.argv[3], sys.argv[4], sys.argv[5]
make = launch.make_application
pressed = []
painted = []
ready = []
whole_peak = []


def mib(field):
    for line in open("/proc/self/status"):
        if line.startswith(field):
            return int(line.split()[1]) / 1024


if mode in ("memory", "sign"):
    from tpi_chart.services.password_work import LoginAttempt

    check = LoginAttempt.check

    def checked(self, typed):
        # The sign-in's slow step has returned and freed Argon2's memory: from here on the peak
        # is the app's own.
        result = check(self, typed)
        whole_peak.append(mib("VmHWM"))
        with open("/proc/self/clear_refs", "w") as reset:
            reset.write("5")
        return result

    LoginAttempt.check = checked


def made(*args):
    app = make(*args)

    def look():
        shown = {type(w).__name__: w for w in app.topLevelWidgets() if w.isVisible()}
        dialog = shown.get("LoginDialog")
        if dialog is not None and not painted:
            idle = run_until_idle(app)
            painted.append(time.time() - (time.perf_counter() - idle))
        window = shown.get("MainWindow")
        if pressed and window is not None:
            idle = run_until_idle(app)
            page = type(window.stack.currentWidget()).__name__
            if mode in ("memory", "sign"):
                if mode == "sign":  # the reopened visit's note, signed as the window signs it
                    reasons = os.environ["TPI_BENCH_ACKS"].split(",")
                    acks = {code: "benchmark" for code in reasons if code}
                    visit = int(os.environ["TPI_BENCH_VISIT"])
                    window.services.signing.sign(visit, window.user, acks)
                    run_until_idle(app)
                whole = max(whole_peak[0], mib("VmHWM"))
                print(mib("VmRSS"), mib("VmHWM"), whole, page, flush=True)
                os._exit(0)
            print(painted[0], ready[0], (idle - pressed[0]) * 1000, page, flush=True)
            os._exit(0)
        if not pressed and dialog is not None and dialog.sign_in.attached:
            ready.append(time.time())
            dialog.username.setText(username)
            dialog.password.setText(password)
            run_until_idle(app)
            pressed.append(time.perf_counter())
            dialog.submit()
        QTimer.singleShot(1, look)

    QTimer.singleShot(0, look)
    return app


launch.make_application = made
from tpi_chart.app import main

main(["--db", sys.argv[2]])
"""


def _printed(
    root: Path, db: Path, mode: str, username: str, password: str, env: dict[str, str]
) -> list[str]:
    """The words of the last line the script printed in `mode`."""
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(root), str(db), mode, username, password],
        check=True,
        capture_output=True,
        cwd=root,
        env=env,
        text=True,
        timeout=120,
    )
    return done.stdout.strip().splitlines()[-1].split()


def sign_in_memory(
    root: Path,
    db: Path,
    username: str,
    password: str,
    runs: int,
    env: dict[str, str],
    mode: str = "memory",
) -> tuple[list[tuple[float, float, float]], str]:
    """MiB resident after signing in with the real entry point, once the window is idle (in
    `mode` "sign": and the reopened visit's note signed): (now, peak since the password check,
    peak of the whole process) per run; and the page shown."""
    samples, page = [], ""
    for _ in range(runs):
        *figures, page = _printed(root, db, mode, username, password, env)
        now, since_check, whole = (float(figure) for figure in figures)
        samples.append((now, since_check, whole))
    return samples, page


def sign_in_person(
    root: Path, db: Path, username: str, password: str, env: dict[str, str]
) -> tuple[float, float, float, str]:
    """The start as a person meets it, in one process: ms from launching `tpi-chart --db db`
    until its sign-in dialog is painted and idle; ms from then until Sign in can go ahead (the
    app's import, behind the dialog while the person types); ms from pressing Sign in until the
    main window is painted and idle; and the page it shows."""
    began = time.time()
    painted, ready, pressed, page = _printed(root, db, "person", username, password, env)
    return (
        (float(painted) - began) * 1000,
        (float(ready) - float(painted)) * 1000,
        float(pressed),
        page,
    )

"""Issue 15, start-up: a clinic used before shows its sign-in dialog before the rest of the app is
imported, and imports it while the person types (`ui.launch`, `ui.background_import`). Driven
through `launch.launch` with the real dialogs; the import the window waits for is held by a gate
module (a real import on the real thread), so what the person does while it runs is tested."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import shiboken6
from PySide6.QtCore import QCoreApplication, QEvent, QSettings, Qt, QTimer
from PySide6.QtGui import QGuiApplication
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QDialog, QLabel
from pytestqt.qtbot import QtBot

from tests.users import staff
from tpi_chart.services import context
from tpi_chart.services.context import Services, open_services
from tpi_chart.services.paths import demo_db_path
from tpi_chart.ui import launch
from tpi_chart.ui.auth.first_run_dialog import FirstRunDialog
from tpi_chart.ui.auth.login_dialog import LoginDialog
from tpi_chart.ui.auth.sign_in import OPENING
from tpi_chart.ui.last_session import KEY_PATIENT, KEY_PROCEDURE
from tpi_chart.ui.main_window import MainWindow
from tpi_chart.ui.prebuild import WindowPrebuild

pytestmark = [pytest.mark.gui, pytest.mark.qt_log_ignore("propagateSizeHints")]

PASSWORD = "Harbor-Lantern-5520"
ROOT = Path(__file__).resolve().parents[2]


class App:
    """The application's event loop after the window opened: returns at once."""

    def exec(self) -> int:
        return 0


class Gate:
    """A module the background import must import, which waits until `release` is called."""

    def __init__(self, folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        name = f"tpi_gate_{os.getpid()}_{id(self)}"
        (folder / f"{name}_flag.py").write_text("import threading\nopen = threading.Event()\n")
        (folder / f"{name}.py").write_text(
            f"import {name}_flag\nassert {name}_flag.open.wait(20), 'the test never opened it'\n"
        )
        monkeypatch.syspath_prepend(str(folder))
        self.flag: Any = __import__(f"{name}_flag")
        monkeypatch.setattr(launch, "AFTER_SIGN_IN", (name,))
        monkeypatch.setattr(launch, "WORKSPACE", ())

    def release(self) -> None:
        self.flag.open.set()


@pytest.fixture
def clinic(tmp_path: Path) -> Path:
    QCoreApplication.setOrganizationName("TPI Chart tests")
    QCoreApplication.setApplicationName("sign-in-first")
    QSettings().clear()
    path = tmp_path / "clinic.db"
    with open_services(path, staff("okafor"), seed_demo_if_new=True) as services:
        services.auth.create_first_administrator("okafor", "R. Okafor", PASSWORD, physician=True)
    return path


@pytest.fixture
def events(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """What happened, in order: the clinic opened, the window opened (for whom)."""
    happened: list[str] = []
    real_open = context.open_services

    def opening(*args: Any, **kwargs: Any) -> Services:
        happened.append(f"opened {Path(str(args[0])).name}")
        return real_open(*args, **kwargs)

    monkeypatch.setattr(context, "open_services", opening)
    monkeypatch.setattr(
        launch, "open_window", lambda _s, user, *_: happened.append(f"window {user.username}")
    )
    monkeypatch.setattr(launch, "make_application", lambda: App())
    monkeypatch.setattr(launch, "show_recovery_passphrase", lambda *_a: None)
    yield happened
    launch._windows.clear()


def when_shown(kind: type[QDialog], act: Callable[[Any], None]) -> None:
    """Run `act` on the next visible dialog of `kind` (the launcher blocks the test)."""

    def poll() -> None:
        dialog = QApplication.activeModalWidget()
        if isinstance(dialog, kind) and dialog.isVisible():
            act(dialog)
        else:
            QTimer.singleShot(10, poll)

    QTimer.singleShot(0, poll)


def sign_in_as_okafor(qtbot: QtBot, dialog: LoginDialog) -> None:
    """Typed as a person types it, then Return."""
    qtbot.keyClicks(dialog.username, "okafor")
    qtbot.keyClicks(dialog.password, PASSWORD)
    qtbot.keyClick(dialog.password, Qt.Key.Key_Return)


def run(clinic: Path) -> int:
    return launch.launch(argparse.Namespace(db=str(clinic), as_user=None, command=None))


def test_a_sign_in_pressed_while_the_app_loads_waits_for_the_clinic_then_goes_ahead(
    qtbot: QtBot, clinic: Path, events: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    gate = Gate(clinic.parent, monkeypatch)
    seen: dict[str, Any] = {}

    def sign_in(dialog: LoginDialog) -> None:
        sign_in_as_okafor(qtbot, dialog)
        seen["status"] = dialog.status.text()
        seen["button on"] = dialog.sign_in_button.isEnabled()
        seen["before the gate"] = list(events)
        gate.release()

    when_shown(LoginDialog, sign_in)
    assert run(clinic) == 0

    assert seen == {"status": OPENING, "button on": False, "before the gate": []}
    assert events == ["opened clinic.db", "window okafor"]


def test_the_demo_s_sign_in_is_shown_while_the_app_loads_and_opens_the_demo(
    qtbot: QtBot, clinic: Path, events: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`tpi-chart --demo` on a demo file made before: the same early sign-in, titled DEMO."""
    gate = Gate(clinic.parent, monkeypatch)
    seen: dict[str, Any] = {}

    def sign_in(dialog: LoginDialog) -> None:
        seen["title"] = dialog.windowTitle() + " | " + QGuiApplication.applicationDisplayName()
        seen["demo offered"] = dialog.demo_button.isVisible()
        seen["heading"] = dialog.findChild(QLabel, "loginHeading").text()
        seen["before the gate"] = list(events)
        sign_in_as_okafor(qtbot, dialog)
        gate.release()

    when_shown(LoginDialog, sign_in)
    try:
        demo_args = argparse.Namespace(db=str(clinic), as_user=None, command=None, demo=True)
        assert launch.launch(demo_args) == 0
    finally:
        QGuiApplication.setApplicationDisplayName(launch.APPLICATION)
    assert seen["demo offered"] is False
    assert seen["heading"] == "Sign in to the TPI Chart demo"
    assert seen["before the gate"] == []
    assert "DEMO" in seen["title"]
    assert events == ["opened clinic.db", "window okafor"]


def test_a_wrong_password_pressed_while_loading_is_refused_once_the_clinic_is_open(
    qtbot: QtBot, clinic: Path, events: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    gate = Gate(clinic.parent, monkeypatch)
    refused: list[str] = []

    def wrong(dialog: LoginDialog) -> None:
        qtbot.keyClicks(dialog.username, "okafor")
        qtbot.keyClicks(dialog.password, "not-the-password-1")
        qtbot.mouseClick(dialog.sign_in_button, Qt.MouseButton.LeftButton)
        gate.release()

        def refused_yet() -> None:  # the launcher goes on once this returns: poll, not wait
            if dialog.error.isVisible():
                refused.append(dialog.error.text())
                dialog.reject()
            else:
                QTimer.singleShot(10, refused_yet)

        refused_yet()

    when_shown(LoginDialog, wrong)
    assert run(clinic) == 0
    assert refused == ["Wrong username or password."]
    assert events == ["opened clinic.db"]  # and no window


def test_cancel_while_the_app_loads_quits_without_opening_the_clinic(
    qtbot: QtBot, clinic: Path, events: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    gate = Gate(clinic.parent, monkeypatch)

    def cancel(dialog: LoginDialog) -> None:
        button = dialog.buttons.button(dialog.buttons.StandardButton.Cancel)
        qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
        gate.release()

    when_shown(LoginDialog, cancel)
    assert run(clinic) == 0
    assert events == []


def test_try_the_demo_while_the_app_loads_opens_the_demo_not_the_clinic(
    qtbot: QtBot, clinic: Path, events: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    gate = Gate(clinic.parent, monkeypatch)

    def demo_admin(dialog: FirstRunDialog) -> None:
        dialog.username.setText("demo")
        dialog.display_name.setText("Demo Admin")
        dialog.password.setText(PASSWORD)
        dialog.confirm.setText(PASSWORD)
        qtbot.mouseClick(dialog.create_button, Qt.MouseButton.LeftButton)

    def choose_demo(dialog: LoginDialog) -> None:
        when_shown(FirstRunDialog, demo_admin)
        qtbot.mouseClick(dialog.demo_button, Qt.MouseButton.LeftButton)
        gate.release()

    when_shown(LoginDialog, choose_demo)
    try:
        assert run(clinic) == 0
    finally:
        QCoreApplication.processEvents()
        QGuiApplication.setApplicationDisplayName(launch.APPLICATION)
    assert events == [f"opened {demo_db_path().name}", "window demo"]


def test_a_file_nobody_was_added_to_starts_with_the_first_run(
    qtbot: QtBot, tmp_path: Path, events: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    empty = tmp_path / "empty.db"
    open_services(empty, staff("okafor")).close()  # created, then the first run cancelled
    Gate(tmp_path, monkeypatch).release()
    created: list[FirstRunDialog] = []

    def first_run(dialog: FirstRunDialog) -> None:
        dialog.clinic_name.setText("Northside Pain Clinic")
        dialog.username.setText("okafor")
        dialog.display_name.setText("R. Okafor")
        dialog.password.setText(PASSWORD)
        dialog.confirm.setText(PASSWORD)
        qtbot.mouseClick(dialog.create_button, Qt.MouseButton.LeftButton)
        created.append(dialog)

    when_shown(FirstRunDialog, first_run)
    assert run(empty) == 0
    assert len(created) == 1
    assert events == ["opened empty.db", "window okafor"]
    assert not [
        w for w in QApplication.topLevelWidgets() if isinstance(w, LoginDialog) and w.isVisible()
    ]


FIRST_PAINT = textwrap.dedent(
    """
    import json, os, sys
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication, QLabel
    from tpi_chart.ui import launch

    make = launch.make_application

    def made(*args):
        app = make(*args)

        def look():
            shown = [w for w in app.topLevelWidgets() if w.isVisible()]
            if not shown:
                QTimer.singleShot(1, look)
                return
            qt_namespace = "Qt" in sys.modules["PySide6.QtCore"].__dict__
            demo_button = getattr(shown[0], "demo_button", None)
            heading = shown[0].findChild(QLabel, "loginHeading")
            print(json.dumps({"shown": [type(w).__name__ for w in shown],
                              "title": app.applicationDisplayName(),
                              "heading": heading.text() if heading else None,
                              "demo_offered": demo_button is not None
                                              and demo_button.isVisible(),
                              # imported modules: a stand-in put in sys.modules by the app
                              # (tpi_chart.pydantic_plugins) has no spec, and imported nothing
                              "modules": sorted(name for name, module in sys.modules.items()
                                                if getattr(module, "__spec__", True) is not None),
                              "qt_namespace": qt_namespace}), flush=True)
            os._exit(0)

        QTimer.singleShot(0, look)
        return app

    launch.make_application = made
    from tpi_chart.app import main
    main(sys.argv[1:])
    """
)


def run_script(script: str, args: list[str], folder: Path, config: Path | None = None) -> Any:
    """Run one of the scripts below in a fresh offscreen process; what it printed last (JSON)."""
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "PYTHONPATH": str(ROOT)}
    if config is not None:
        env["XDG_CONFIG_HOME"] = str(config)
    done = subprocess.run(
        [sys.executable, "-c", script, *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=folder,
        timeout=120,
        check=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def of(modules: list[str], names: tuple[str, ...]) -> list[str]:
    """The modules that are one of `names` or inside one of those packages."""
    return [m for m in modules if m in names or m.split(".")[0] in names]


#: What the sign-in dialog must be painted without: each is tens of milliseconds of import.
NOT_BEFORE_THE_FIRST_PAINT = (
    "pydantic",
    "argon2",
    "cryptography",
    "reportlab",
    "tpi_chart.domain.models",
    "tpi_chart.services.context",
    "tpi_chart.ui.main_window",
    "sqlite3",  # the storage errors' module names it only when translating one
    "logging.handlers",  # the log's file is opened at its first record
    # the wheel guard's filters, installed once the dialog is painted (checked below): the
    # first events a Python filter is handed build their PySide6 classes
    "tpi_chart.ui.window_watch",
    "tpi_chart.ui.wheel_guard",
    "importlib.resources",  # the shipped files are the package's own folder (domain.resources)
)


@pytest.mark.parametrize("demo", [False, True], ids=["clinic", "demo"])
def test_the_sign_in_dialog_is_painted_before_the_app_s_model_is_imported(
    clinic: Path, tmp_path: Path, demo: bool
) -> None:
    """`make run` (`--demo`) included: its file, once made, starts like a clinic's."""
    seen = run_script(FIRST_PAINT, [*(["--demo"] if demo else []), "--db", str(clinic)], tmp_path)
    assert seen["shown"] == ["LoginDialog"]
    assert seen["title"] == ("TPI Chart — DEMO" if demo else "TPI Chart")
    assert seen["demo_offered"] is not demo  # no "Try the demo" inside the demo
    assert seen["heading"] == ("Sign in to the TPI Chart demo" if demo else "Sign in to TPI Chart")
    early = of(seen["modules"], NOT_BEFORE_THE_FIRST_PAINT)
    assert early == []
    # Nor PySide6's `Qt` namespace, which builds all its enums when first named (26 ms).
    assert seen["qt_namespace"] is False


AFTER_THE_DIALOG = textwrap.dedent(
    """
    import enum, json, os, sys
    from PySide6.QtCore import QTimer
    from tpi_chart.ui import background_import, launch

    enums = []  # each Python enum PySide6 builds (the first touch of its Qt class)
    create = enum.EnumType._create_

    def created(cls, name, *args, **kwargs):
        enums.append(name)
        return create(cls, name, *args, **kwargs)

    enum.EnumType._create_ = created
    loaded = {}
    wait = background_import.BackgroundImport.wait

    def waited(self, dialog=None):
        wait(self, dialog)
        loaded["then"] = set(sys.modules)
        # while the person types, the wheel guard is on (installed after the first paint)
        loaded["guarded"] = bool(sys.modules["tpi_chart.ui.wheel_guard"]._GUARD)
        # ... and the body diagram is read
        from tpi_chart.domain.diagram import load_diagram
        loaded["diagram_read"] = load_diagram.cache_info().currsize == 1

    background_import.BackgroundImport.wait = waited
    make = launch.make_application
    pressed = []

    def made(*args):
        app = make(*args)

        def look():
            shown = {type(w).__name__: w for w in app.topLevelWidgets() if w.isVisible()}
            dialog, window = shown.get("LoginDialog"), shown.get("MainWindow")
            if pressed and window is not None:
                app.processEvents()
                print(json.dumps({"page": type(window.stack.currentWidget()).__name__,
                                  "new": sorted(set(sys.modules) - loaded["then"]),
                                  "guarded": loaded["guarded"],
                                  "diagram_read": loaded["diagram_read"],
                                  "enums_after_sign_in": enums[pressed[0]:]}), flush=True)
                os._exit(0)
            if not pressed and dialog is not None and dialog.sign_in.attached:
                dialog.username.setText("okafor")
                dialog.password.setText(sys.argv[2])
                app.processEvents()  # as a person's typing would, the dialog's loop runs
                pressed.append(len(enums))
                dialog.submit()
            QTimer.singleShot(1, look)

        QTimer.singleShot(0, look)
        return app

    launch.make_application = made
    from tpi_chart.app import main
    main(["--db", sys.argv[1]])
    """
)


@pytest.mark.parametrize("remembered", [False, True])
def test_after_the_sign_in_the_window_imports_nothing_the_dialog_s_wait_did_not(
    clinic: Path, tmp_path: Path, remembered: bool
) -> None:
    """`launch.AFTER_SIGN_IN` is complete: a module the sign-in or the window needs that it
    misses is imported on the GUI thread after Sign in is pressed, where the person waits."""
    config = tmp_path / "config"
    expected = "PatientsPage"
    if remembered:  # what the last session left in the settings: a visit open
        expected = "WorkspacePage"
        with open_services(clinic, staff("okafor", "physician")) as services:
            patient = services.patients.by_mrn("D1001")
            assert patient is not None
            visit = services.charting.list_for_patient(patient.id)[0].id
        settings = config / "TPI Chart" / "TPI Chart.conf"
        settings.parent.mkdir(parents=True)
        settings.write_text(f"[session]\npatient_id={patient.id}\nprocedure_id={visit}\n")
    seen = run_script(AFTER_THE_DIALOG, [str(clinic), PASSWORD], tmp_path, config)
    assert seen["page"] == expected
    assert seen["guarded"] is True
    assert seen["diagram_read"] is True
    late = of(seen["new"], ("tpi_chart", "pydantic", "cryptography", "argon2", "reportlab"))
    assert late == []
    # PySide6's types the window would build after the press were built while the person
    # typed (`ui.qt_warmup`): QStyle's, those type discovery passes (QWizard, QFileDialog),
    # QGradient's 180 presets, QIcon's (65 enums after the press without it; 15 with it).
    built_late = seen["enums_after_sign_in"]
    assert {"PixelMetric", "WizardOption", "FileMode", "Preset", "ThemeIcon"}.isdisjoint(built_late)
    assert len(built_late) <= 20


MADE = textwrap.dedent(
    """
    import json
    from PySide6.QtGui import QGuiApplication
    from tpi_chart.ui import launch
    app = launch.make_application(["tpi-chart"])
    app.setStyleSheet("")  # the style beneath the theme's style sheet
    print(json.dumps({
        "style": app.style().name(),
        "rounding": QGuiApplication.highDpiScaleFactorRoundingPolicy().name,
    }))
    """
)


def test_a_new_application_starts_on_fusion_with_unrounded_screen_scales(tmp_path: Path) -> None:
    """Chosen without naming them (the style as the application starts, the rounding left at
    Qt 6's default): each named one costs the first paint PySide6 enums."""
    made = run_script(MADE, [], tmp_path)
    assert made == {"style": "fusion", "rounding": "PassThrough"}


# -- the window built while the person types (`ui.prebuild`) -----------------------------------


def remember_a_visit(clinic: Path) -> int:
    """What the last session left in the settings: Maria's first visit open."""
    with open_services(clinic, staff("okafor", "physician")) as services:
        patient = services.patients.by_mrn("D1001")
        assert patient is not None
        visit = services.charting.list_for_patient(patient.id)[0].id
    settings = QSettings()
    settings.setValue(KEY_PATIENT, patient.id)
    settings.setValue(KEY_PROCEDURE, visit)
    return visit


class Prebuilt:
    """Every window `WindowPrebuild` builds, and whether it was drawn off screen."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.windows: list[MainWindow] = []
        self.drawn = 0
        frame, drawn_once = WindowPrebuild._frame, WindowPrebuild._drawn_once

        def framed(prebuild: WindowPrebuild) -> None:
            frame(prebuild)
            assert prebuild.window is not None
            self.windows.append(prebuild.window)

        def drawn(prebuild: WindowPrebuild) -> None:
            drawn_once(prebuild)
            self.drawn += 1

        monkeypatch.setattr(WindowPrebuild, "_frame", framed)
        monkeypatch.setattr(WindowPrebuild, "_drawn_once", drawn)


def unbound(window: MainWindow) -> dict[str, Any]:
    """What a window shows and holds of anyone, before a person is bound to it."""
    return {
        "services": hasattr(window, "services") or hasattr(window.workspace, "services"),
        "operations": hasattr(window.workspace.document, "ops"),
        "procedure": window.workspace.document.procedure_id,
        "title": window.windowTitle(),
        "name": window.user_label.text(),
        "administration": [a.isVisible() for a in (window.settings_action, window.accounts_action)],
        "visible": window.isVisible(),
    }


NOBODY = {
    "services": False,
    "operations": False,
    "procedure": None,
    "title": "",
    "name": "",
    "administration": [False, False],
    "visible": False,
}


@pytest.fixture
def window_run(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    """The real `open_window`; what the window shows once it is open (in the application's
    loop, the clinic still open), then it is closed."""
    seen: dict[str, Any] = {}

    class Shown:
        def exec(self) -> int:
            window = launch._windows[-1]
            seen["window"] = window
            seen["page"] = type(window.stack.currentWidget()).__name__
            seen["visit"] = window.workspace.document.procedure_id
            seen["user"] = window.user.username
            seen["title"] = window.windowTitle()
            # What the window posted for its first turns runs while the clinic is open.
            QTest.qWait(50)
            window.close()
            return 0

    monkeypatch.setattr(launch, "make_application", lambda: Shown())
    monkeypatch.setattr(launch, "show_recovery_passphrase", lambda *_a: None)
    yield seen
    launch._windows.clear()


def test_the_window_built_while_the_person_types_opens_their_last_visit_once_signed_in(
    qtbot: QtBot, clinic: Path, window_run: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    visit = remember_a_visit(clinic)
    prebuilt = Prebuilt(monkeypatch)
    before: dict[str, Any] = {}

    def sign_in(dialog: LoginDialog) -> None:
        qtbot.keyClicks(dialog.username, "okafor")
        finish_typing(dialog)

    def finish_typing(dialog: LoginDialog) -> None:
        # The person is still typing: the window is built meanwhile, bound to nobody. (Polled:
        # the launcher goes on only once this returns.)
        if prebuilt.drawn == 0:
            QTimer.singleShot(10, lambda: finish_typing(dialog))
            return
        before.update(unbound(prebuilt.windows[0]))
        qtbot.keyClicks(dialog.password, PASSWORD)
        qtbot.keyClick(dialog.password, Qt.Key.Key_Return)

    when_shown(LoginDialog, sign_in)
    assert run(clinic) == 0
    assert before == NOBODY
    assert window_run["window"] is prebuilt.windows[0]
    assert len(prebuilt.windows) == 1
    assert window_run["page"] == "WorkspacePage"
    assert window_run["visit"] == visit
    assert window_run["user"] == "okafor"
    assert window_run["title"] == "Lopez, Maria (MRN D1001)"


def test_a_sign_in_pressed_before_the_window_is_built_finishes_it_and_opens_the_visit(
    qtbot: QtBot, clinic: Path, window_run: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Pressed at once: whatever the typing left to build is built after the password check,
    without the off-screen drawing (the real one follows)."""
    visit = remember_a_visit(clinic)
    prebuilt = Prebuilt(monkeypatch)
    monkeypatch.setattr(WindowPrebuild, "start", lambda _self: None)  # no turn of the loop to use

    when_shown(LoginDialog, lambda dialog: sign_in_as_okafor(qtbot, dialog))
    assert run(clinic) == 0
    assert prebuilt.windows == []  # nothing was built before the sign-in
    assert window_run["page"] == "WorkspacePage"
    assert window_run["visit"] == visit
    assert window_run["user"] == "okafor"


def test_the_steps_left_when_the_password_is_checked_are_done_without_the_drawing(
    qtbot: QtBot, clinic: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    remember_a_visit(clinic)
    prebuilt = Prebuilt(monkeypatch)
    prebuild = WindowPrebuild()
    prebuild.start()
    qtbot.waitUntil(lambda: len(prebuilt.windows) == 1)  # the frame: the first step only
    window = prebuild.take()
    assert window is prebuilt.windows[0]
    qtbot.addWidget(window)
    assert window.workspace_built()
    assert "indication" in window.workspace.side_tabs.built()
    QCoreApplication.processEvents()  # the steps' timers, had they been left to run
    assert prebuilt.drawn == 0
    assert prebuild.take() is None  # handed over once


def test_cancel_deletes_the_window_built_while_the_person_typed(
    qtbot: QtBot, clinic: Path, window_run: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    remember_a_visit(clinic)
    prebuilt = Prebuilt(monkeypatch)

    def cancel(dialog: LoginDialog) -> None:
        if prebuilt.drawn == 0:  # polled, as above
            QTimer.singleShot(10, lambda: cancel(dialog))
            return
        button = dialog.buttons.button(dialog.buttons.StandardButton.Cancel)
        qtbot.mouseClick(button, Qt.MouseButton.LeftButton)

    when_shown(LoginDialog, cancel)
    assert run(clinic) == 0
    assert window_run == {}  # no window opened
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    assert not shiboken6.isValid(prebuilt.windows[0])


def test_a_window_built_for_nobody_reads_nothing_until_bound_and_belongs_to_one_person(
    qtbot: QtBot, clinic: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    visit = remember_a_visit(clinic)
    window = WindowPrebuild()
    window.start()
    built = window.take()
    assert built is not None
    qtbot.addWidget(built)
    assert unbound(built) == NOBODY
    with pytest.raises(AttributeError):  # no service to read the visit through
        built.restore_last()
    with open_services(clinic, staff("okafor", "physician")) as services:
        okafor = staff("okafor", "physician")
        built.bind(services.as_user(okafor), okafor)
        assert built.restore_last()
        assert built.workspace.document.procedure_id == visit
        with pytest.raises(RuntimeError, match="one person"):
            built.bind(services.as_user(staff("chen")), staff("chen"))
        assert built.user.username == "okafor"
        built.close()


def test_a_remembered_visit_that_is_gone_opens_the_patient_list_in_the_window_built_for_it(
    qtbot: QtBot, clinic: Path, window_run: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The workspace was built while the person typed, but its patient was since removed:
    the window opens on the patient list, not on an empty workspace."""
    remember_a_visit(clinic)
    QSettings().setValue(KEY_PATIENT, 999_999)
    prebuilt = Prebuilt(monkeypatch)

    def sign_in(dialog: LoginDialog) -> None:
        if prebuilt.drawn == 0:  # polled, as above
            QTimer.singleShot(10, lambda: sign_in(dialog))
            return
        sign_in_as_okafor(qtbot, dialog)

    when_shown(LoginDialog, sign_in)
    assert run(clinic) == 0
    assert window_run["window"] is prebuilt.windows[0]
    assert window_run["page"] == "PatientsPage"

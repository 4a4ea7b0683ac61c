"""Two rooms on one clinic server (issue 18, "Done when"): two main windows in one test
process, each with its own store (its own pool and notice listener) on the test cluster. The
assistant plans at the front desk, the physician's window shows the plan within a second,
charts it with real clicks and signs; the front desk sees it signed and read-only. A procedure
open in one room is read-only in the other, in the window and in the database, until it is let
go."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from PySide6.QtCore import QCoreApplication, Qt
from PySide6.QtWidgets import QDialog
from pytestqt.qtbot import QtBot

from tests.accounts import ADMIN_PASSWORD, PHYSICIAN_PASSWORD
from tests.unit.test_pades_signing import ACKS
from tests.unit.test_services import reference
from tpi_chart.domain import diagram as dg
from tpi_chart.domain.models import Site
from tpi_chart.domain.users import User
from tpi_chart.services.context import Services, open_services
from tpi_chart.services.errors import ProcedureInUse
from tpi_chart.services.live import LiveService, workstation_room
from tpi_chart.ui.main_window import MainWindow
from tpi_chart.ui.settings_dialog import SettingsDialog
from tpi_chart.ui.tasks import tasks

pytestmark = [pytest.mark.gui, pytest.mark.qt_log_ignore("This plugin does not support")]

#: "Within a second" of the commit, with room for a loaded test machine.
WITHIN = 1500


@dataclass
class Clinic:
    front: Services  # the front desk's workstation
    room: Services  # Room 2's
    assistant: User
    physician: User
    patient_id: int
    procedure_id: int


@pytest.fixture
def clinic(pg_url: str) -> Iterator[Clinic]:
    QCoreApplication.setOrganizationName("TPI Chart tests")
    QCoreApplication.setApplicationName("two-rooms")
    front = open_services(pg_url)
    front.room = "Front desk"
    auth = front.auth
    admin = auth.create_first_administrator("admin", "Pat Admin", ADMIN_PASSWORD)
    auth.create_user(admin, "chen", "Dr. Alex Chen, MD", {"physician"}, PHYSICIAN_PASSWORD)
    auth.create_user(admin, "ma.rivera", "J. Rivera, MA", {"assistant"}, PHYSICIAN_PASSWORD)
    assistant = auth.login("ma.rivera", PHYSICIAN_PASSWORD)
    room = open_services(pg_url)  # another workstation: its own pool and listener
    room.room = "Room 2"
    physician = room.auth.login("chen", PHYSICIAN_PASSWORD)  # unlocks the key there
    assert assistant is not None
    assert physician is not None
    # The reference visit charted but for its last site, which the assistant plans again here
    # (the syringe holds what all of them need) and the physician injects.
    document = reference()
    charted = document.procedure.model_copy(update={"sites": document.procedure.sites[:-1]})
    patient = front.store.patients.add(document.patient, "chen")
    procedure = front.store.procedures.add(patient.id, charted, "chen")
    yield Clinic(front, room, assistant, physician, patient.id, procedure.id)
    front.close()
    room.close()


def _window(qtbot: QtBot, services: Services, user: User) -> MainWindow:
    window = MainWindow(services.as_user(user), user)
    qtbot.addWidget(window)
    window.resize(1366, 768)
    window.show()
    return window


def _click_muscle(qtbot: QtBot, window: MainWindow, muscle: str, side: str) -> None:
    diagram = window.workspace.diagram
    window.workspace.set_view("posterior")
    zone = dg.load_diagram().views["posterior"].zone_for(muscle, side)
    assert zone is not None
    pos = diagram.view.mapFromScene(diagram.scene.to_scene(*zone.label_point))
    qtbot.mouseClick(diagram.view.viewport(), Qt.MouseButton.LeftButton, pos=pos)


def _summary(window: MainWindow, procedure_id: int) -> Any:
    return next(s for s in window.patients.summaries if s.id == procedure_id)


def test_the_assistant_plans_and_the_physician_sees_it_charts_and_signs(
    qtbot: QtBot, clinic: Clinic
) -> None:
    front = _window(qtbot, clinic.front, clinic.assistant)
    room = _window(qtbot, clinic.room, clinic.physician)
    room.open_patient(clinic.patient_id)
    sites_before = _summary(room, clinic.procedure_id).site_count

    # The front desk plans one more site on the diagram.
    front.open_procedure(clinic.patient_id, clinic.procedure_id)
    assert front.workspace.document.editable
    _click_muscle(qtbot, front, "lower_trapezius", "left")
    planned = [s for s in front.workspace.document.sites if s.site.state == "planned"]
    assert [s.site.muscle for s in planned] == ["lower_trapezius"]

    # Room 2's patient page shows it within a second, without anyone touching it.
    qtbot.waitUntil(
        lambda: _summary(room, clinic.procedure_id).site_count == sites_before + 1, timeout=WITHIN
    )
    front.patients.patient_id = clinic.patient_id
    qtbot.mouseClick(front.workspace.back_button, Qt.MouseButton.LeftButton)  # lets it go

    # The physician opens it (editable: nobody else has it), injects the plan and signs.
    room.open_procedure(clinic.patient_id, clinic.procedure_id)
    workspace = room.workspace
    assert workspace.document.editable
    assert not workspace.banner.isVisible()
    workspace.select_site(planned[0].id)
    qtbot.mouseClick(workspace.editor.inject, Qt.MouseButton.LeftButton)
    assert workspace.document.site(planned[0].id).state == "injected"  # type: ignore[union-attr]
    tabs = workspace.tabs
    qtbot.mouseClick(
        tabs.tabBar(),
        Qt.MouseButton.LeftButton,
        pos=tabs.tabBar().tabRect(tabs.indexOf(workspace.sign_panel)).center(),
    )
    panel = workspace.sign_panel
    for code, field in panel.ack_fields.items():
        qtbot.keyClicks(field, ACKS.get(code, f"accepted: {code}"))
    assert panel.sign_button.isEnabled(), panel.missing.text()
    qtbot.mouseClick(panel.sign_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not tasks().busy, timeout=30_000)
    assert workspace.document.signed, workspace.banner.label.text()

    # The front desk's page shows it signed within a second; opened, it is read-only.
    qtbot.waitUntil(lambda: _summary(front, clinic.procedure_id).status == "signed", timeout=WITHIN)
    front.open_procedure(clinic.patient_id, clinic.procedure_id)
    document = front.workspace.document
    assert document.signed
    assert document.read_only
    assert front.workspace.diagram._read_only
    assert "Signed" in front.workspace.status_label.text()


def test_a_procedure_open_in_one_room_is_read_only_in_the_other_until_let_go(
    qtbot: QtBot, clinic: Clinic
) -> None:
    room = _window(qtbot, clinic.room, clinic.physician)
    front = _window(qtbot, clinic.front, clinic.assistant)
    room.open_procedure(clinic.patient_id, clinic.procedure_id)
    assert room.workspace.document.editable

    front.open_procedure(clinic.patient_id, clinic.procedure_id)
    workspace = front.workspace
    assert workspace.banner.isVisible()
    assert workspace.banner.label.text() == (
        "Open in Room 2 by Dr. Alex Chen, MD — read-only until they close it."
    )
    assert not workspace.banner.dismiss.isVisible()  # it lasts as long as the lease
    assert workspace.saved_indicator.text() == "Read-only: open in Room 2"
    assert not workspace.document.editable
    assert workspace.diagram._read_only
    assert not workspace.sign_panel.sign_button.isEnabled()
    sites = len(workspace.document.sites)
    _click_muscle(qtbot, front, "lower_trapezius", "left")  # a click does nothing here …
    assert len(workspace.document.sites) == sites
    with pytest.raises(ProcedureInUse, match=re.escape("open in Room 2 by Dr. Alex Chen, MD")):
        # … and a save that gets past the window is refused by the database
        front.services.ops.plan_site(
            clinic.procedure_id, Site(muscle="levator_scapulae", side="left", state="planned")
        )
    assert len(room.services.charting.get(clinic.procedure_id).procedure.sites) == sites

    # Room 2 charts meanwhile: the front desk sees it within a second.
    room_workspace = room.workspace
    _click_muscle(qtbot, room, "lower_trapezius", "left")
    assert len(room_workspace.document.sites) == sites + 1
    qtbot.waitUntil(lambda: len(workspace.document.sites) == sites + 1, timeout=WITHIN)

    # Room 2 goes back to the patient: the front desk may chart within a second.
    qtbot.mouseClick(room_workspace.back_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: workspace.document.editable, timeout=WITHIN)
    assert not workspace.banner.isVisible()
    assert not workspace.diagram._read_only
    _click_muscle(qtbot, front, "infraspinatus", "left")
    assert len(workspace.document.sites) == sites + 2


def test_a_dead_rooms_lease_lapses_and_the_other_room_may_chart(
    qtbot: QtBot, clinic: Clinic
) -> None:
    # Room 2's app took the procedure with a 0.4 s lease and died: no heartbeat renews it.
    dead = LiveService(clinic.room.store, clinic.physician, "Room 2", seconds=0.4)
    assert dead.hold(clinic.procedure_id) is None
    front = _window(qtbot, clinic.front, clinic.assistant)
    front.open_procedure(clinic.patient_id, clinic.procedure_id)
    workspace = front.workspace
    if workspace.document.held_by is not None:  # (a slow machine may have let it lapse)
        assert workspace.banner.label.text().startswith("Open in Room 2 by Dr. Alex Chen")
    # At the next look (every second while read-only) the lapsed lease is taken over.
    qtbot.waitUntil(lambda: workspace.document.editable, timeout=5000)
    assert not workspace.banner.isVisible()
    sites = len(workspace.document.sites)
    _click_muscle(qtbot, front, "lower_trapezius", "left")
    assert len(workspace.document.sites) == sites + 1
    # Room 2 comes back: the procedure is the front desk's now, read-only there.
    taken = dead.keep(clinic.procedure_id)
    assert taken is not None
    assert taken.room == "Front desk"


def test_the_room_is_named_in_the_settings_and_shown_to_the_other_rooms(
    qtbot: QtBot, clinic: Clinic
) -> None:
    clinic.front.room = None  # no --room here: the saved name counts
    admin = clinic.front.auth.login("admin", ADMIN_PASSWORD)
    assert admin is not None
    services = clinic.front.as_user(admin)
    dialog = SettingsDialog(services.settings)
    qtbot.addWidget(dialog)
    assert dialog.room.placeholderText() == f"{workstation_room()} (default)"
    qtbot.keyClicks(dialog.clinic_name, "Northside Pain Clinic")
    qtbot.keyClicks(dialog.room, "Room 3")
    qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
    assert dialog.result() == QDialog.DialogCode.Accepted
    front = _window(qtbot, clinic.front, clinic.assistant)
    front.open_procedure(clinic.patient_id, clinic.procedure_id)
    room = _window(qtbot, clinic.room, clinic.physician)
    room.open_procedure(clinic.patient_id, clinic.procedure_id)
    assert room.workspace.banner.label.text() == (
        "Open in Room 3 by J. Rivera, MA — read-only until they close it."
    )

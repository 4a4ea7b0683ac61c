"""Sessions (issue 18): each sign-in is a row naming its workstation, locked and resumed with the
window, ended at sign-out; an administrator lists the open sessions of every workstation and
ends one, whose next save is refused with a sentence (its window locks) and stores nothing. On
both engines: on a server, two workstations see one table."""

from __future__ import annotations

import json
import socket
from datetime import timedelta
from pathlib import Path

import pytest

from tests.cli_support import PASSWORD, add_accounts, sign_in
from tests.engines import database, query, reopen
from tests.unit.test_services import reference
from tpi_chart.cli.main import main
from tpi_chart.domain.models import Site
from tpi_chart.services import sessions as sessions_module
from tpi_chart.services.access import PermissionDenied
from tpi_chart.services.context import Services, open_services
from tpi_chart.services.errors import InvalidInput
from tpi_chart.services.sessions import SessionEnded, SessionService


@pytest.fixture
def db(engine: str, tmp_path: Path, request: pytest.FixtureRequest) -> Path | str:
    where: Path | str = database(engine, tmp_path, request)
    add_accounts(where)  # type: ignore[arg-type]
    return where


def _admin(services: Services) -> SessionService:
    admin = services.auth.get("admin")
    assert admin is not None
    return SessionService(services.store.sessions, admin)


def test_a_sign_in_is_a_session_naming_the_workstation_locked_resumed_and_ended(
    db: Path | str,
) -> None:
    opened = open_services(db)
    chen = sign_in(opened, "chen")
    session = opened.session
    assert session is not None
    assert session.current is not None
    first = session.current.id
    (row,) = [s for s in _admin(opened).open_sessions() if s.id == first]
    assert (row.username, row.workstation, row.state) == ("chen", socket.gethostname(), "active")
    logins = [r for r in chen.store.audit.rows() if r.action == "login" and r.user == "chen"]
    assert json.loads(logins[-1].after or "{}")["workstation"] == socket.gethostname()

    chen.auth.record_lock(chen.user)  # the idle lock
    assert opened.store.sessions.get(first).state == "locked"  # type: ignore[union-attr]
    assert sign_in(opened, "chen").session.current.id == first  # type: ignore[union-attr]
    assert opened.store.sessions.get(first).state == "active"  # type: ignore[union-attr]

    sign_in(opened, "rivera")  # someone else unlocks: chen's session ends, rivera's starts
    ended = opened.store.sessions.get(first)
    assert ended is not None
    assert ended.end_reason == "another person signed in"
    rivera_session = session.current.id
    opened.close()  # the window closes: signed out
    closed = query(db, "SELECT ended_at, end_reason FROM sessions WHERE id = ?", (rivera_session,))
    assert closed[0][0] is not None
    assert closed[0][1] == "closed"


def test_an_administrator_ends_a_session_and_its_next_save_is_refused(
    db: Path | str, monkeypatch: pytest.MonkeyPatch
) -> None:
    if isinstance(db, Path):  # a file clinic reads the ending once a minute: now, every time
        monkeypatch.setattr(sessions_module, "SEEN_EVERY", timedelta(0))
    room = open_services(db)  # a procedure room
    chen = sign_in(room, "chen")
    locked: list[bool] = []
    assert room.session is not None
    room.session.on_ended = lambda: locked.append(True)
    doc = reference()
    patient = chen.patients.create(doc.patient)
    procedure_id = chen.charting.create(patient.id, doc.procedure).id

    front = reopen(room)  # the administrator's workstation
    admin = sign_in(front, "admin")
    (chen_session,) = [s for s in admin.store.sessions.open_sessions() if s.username == "chen"]
    with pytest.raises(PermissionDenied):
        SessionService(front.store.sessions, chen.user).end(chen_session.id)
    ended = _admin(front).end(chen_session.id, "left the room signed in")
    assert ended.ended_by == "admin"
    assert chen_session.id not in [s.id for s in _admin(front).open_sessions()]
    with pytest.raises(InvalidInput, match="already ended"):
        _admin(front).end(chen_session.id)
    audited = [r for r in admin.store.audit.rows() if r.action == "session_ended"]
    assert [(r.user, r.entity_id) for r in audited] == [("admin", chen_session.id)]
    front.close()

    sites_before = len(chen.charting.get(procedure_id).site_ids)
    with pytest.raises(SessionEnded, match=r"admin ended your session on .*nothing was saved"):
        chen.charting.add_site(procedure_id, Site(muscle="deltoid", side="left", state="planned"))
    assert locked == [True]  # the window locks itself
    assert len(chen.charting.get(procedure_id).site_ids) == sites_before
    # Signing in again starts a new session, and saves go through.
    assert room.auth.login("chen", PASSWORD) is not None
    assert room.session.current is not None
    assert room.session.current.id != chen_session.id
    chen.charting.add_site(procedure_id, Site(muscle="deltoid", side="left", state="planned"))
    assert chen.store.audit.verify().ok
    room.close()


def test_the_session_commands(
    db: Path | str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sessions_module, "SEEN_EVERY", timedelta(0))  # read at once on a file
    import io
    import sys

    room = open_services(db)
    sign_in(room, "rivera")
    assert room.session is not None
    assert room.session.current is not None
    rivera = room.session.current.id

    def run(*args: str) -> tuple[int, str, str]:
        monkeypatch.setattr(sys, "stdin", io.StringIO(f"{PASSWORD}\n"))
        code = main(["--db", str(db), "--as", "admin", "users", *args])
        out, err = capsys.readouterr()
        return code, out, err

    code, out, _ = run("sessions")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split() == [
        "ID",
        "USER",
        "WORKSTATION",
        "SIGNED",
        "IN",
        "LAST",
        "SEEN",
        "STATE",
    ]
    assert any(line.split()[:3] == [str(rivera), "rivera", socket.gethostname()] for line in lines)
    assert any(line.endswith("active (this command)") for line in lines)
    code, out, _ = run("end-session", str(rivera), "--reason", "shift over")
    assert (code, out.strip()) == (
        0,
        f"ended session {rivera} of rivera on {socket.gethostname()}; its window locks at its "
        "next save",
    )
    assert run("end-session", str(rivera))[2].strip().endswith("has already ended")
    assert "session 999 does not exist" in run("end-session", "999")[2]
    with pytest.raises(SessionEnded, match=r"\(shift over\)"):
        room.as_user(room.auth.get("rivera")).patients.create(reference().patient)  # type: ignore[arg-type]
    room.close()

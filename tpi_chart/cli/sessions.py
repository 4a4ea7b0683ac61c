"""`tpi-chart --as ADMIN users sessions` and `users end-session ID`: the open sessions of every
workstation (on a server: every room), and ending one, whose window locks at its next save
(services/sessions.py). Registered under `users` by commands_users; not a `commands_*` module
of its own (the registry lists those)."""

from __future__ import annotations

import argparse
from typing import Any

from tpi_chart.cli.commands_users import (
    EXIT_OK,
    _administrator,
    _guarded,
    _open,
    format_table,
)
from tpi_chart.services.sessions import SessionRecord, SessionService


def register(commands: Any) -> None:
    listing = commands.add_parser("sessions", help="list who is signed in where (administrators)")
    listing.set_defaults(handler=run_sessions)
    end = commands.add_parser(
        "end-session",
        help="end a session: its window locks at its next save (administrators)",
        description="End someone's session (a workstation left signed in, a lost badge): "
        "nothing more is saved under it; its window locks and asks for a sign-in.",
    )
    end.add_argument("session_id", type=int, metavar="ID", help="from `users sessions`")
    end.add_argument("--reason", default="ended by an administrator", metavar="TEXT")
    end.set_defaults(handler=run_end_session)


def format_sessions(sessions: list[SessionRecord], own: int | None) -> str:
    headers = ("ID", "USER", "WORKSTATION", "SIGNED IN", "LAST SEEN", "STATE")

    def when(moment: Any) -> str:
        return str(moment.astimezone().strftime("%Y-%m-%d %H:%M"))

    rows = [
        (
            str(s.id),
            s.username,
            s.workstation,
            when(s.started_at),
            when(s.last_seen_at),
            s.state + (" (this command)" if s.id == own else ""),
        )
        for s in sessions
    ]
    return format_table(headers, rows)


def run_sessions(args: argparse.Namespace) -> int:
    def run() -> int:
        with _open(args) as services:
            admin = _administrator(services.auth, args)
            listed = SessionService(services.store.sessions, admin).open_sessions()
            own = (
                services.session.current.id
                if services.session and services.session.current
                else None
            )
        print(format_sessions(listed, own))
        return EXIT_OK

    return _guarded(run)


def run_end_session(args: argparse.Namespace) -> int:
    def run() -> int:
        with _open(args) as services:
            admin = _administrator(services.auth, args)
            ended = SessionService(services.store.sessions, admin).end(args.session_id, args.reason)
        print(
            f"ended session {ended.id} of {ended.username} on {ended.workstation}; its window "
            "locks at its next save"
        )
        return EXIT_OK

    return _guarded(run)

"""Signing in on the command line in tests: accounts with a known password, and a standard
input that answers every password prompt with it (`--as` reads one line when stdin is not a
terminal)."""

from __future__ import annotations

import io
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from argon2 import PasswordHasher

from tpi_chart.services import auth as auth_module
from tpi_chart.services.context import Services, open_services

PASSWORD = "lidocaine-1pct"
# Cheap Argon2id for tests that sign in many times (one auth test checks the real defaults).
FAST_HASHER = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)

#: username → (display name, roles)
ACCOUNTS: dict[str, tuple[str, tuple[str, ...]]] = {
    "admin": ("C. Okafor", ("administrator",)),
    "chen": ("Dr. Alex Chen, MD", ("physician",)),
    "rivera": ("J. Rivera, MA", ("assistant",)),
}


class Keyboard(io.StringIO):
    """Standard input that is not a terminal and gives `line` for every read."""

    def __init__(self, line: str = PASSWORD) -> None:
        super().__init__()
        self.line = line
        self.reads = 0

    def readline(self, size: int | None = -1) -> str:  # type: ignore[override]
        self.reads += 1
        return self.line + "\n"

    def isatty(self) -> bool:
        return False


def fast_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Cheap Argon2 (tests/conftest.py already does this for every test not marked
    `real_argon2`; kept for the subprocess-free helpers that call it explicitly)."""
    monkeypatch.setattr(auth_module, "default_hasher", lambda: FAST_HASHER)


def typed_keyboard(monkeypatch: pytest.MonkeyPatch) -> Keyboard:
    """Every password prompt answered with PASSWORD; Argon2 made cheap (the `keyboard`
    fixture)."""
    fast_hashing(monkeypatch)
    typed = Keyboard()
    monkeypatch.setattr(sys, "stdin", typed)
    return typed


def add_accounts(db: Path, password: str = PASSWORD) -> None:
    """The first administrator `admin`, physician `chen` (with a certificate from the clinic's
    signing authority) and assistant `rivera`, all with `password`."""
    with open_services(db) as services:
        auth = services.auth
        missing = [name for name in ACCOUNTS if auth.get(name) is None]
        if not missing:
            return
        if auth.needs_first_run():
            admin = auth.create_first_administrator("admin", ACCOUNTS["admin"][0], password)
        else:
            signed_in = auth.login("admin", password)
            assert signed_in is not None, "admin exists with another password"
            admin = signed_in
        for username in missing:
            if username != "admin":
                name, roles = ACCOUNTS[username]
                auth.create_user(admin, username, name, roles, password)  # type: ignore[arg-type]


@contextmanager
def signed_services(
    db: Path, username: str = "rivera", password: str = PASSWORD, **options: Any
) -> Iterator[Services]:
    """The database opened and `username` signed in (the audit key unlocked with their
    password, as in the window and with `--as`): changes need it once a clinic has accounts."""
    with open_services(db, **options) as anonymous:
        yield sign_in(anonymous, username, password)


def unlocked(services: Services, username: str = "admin") -> Services:
    """`services` as they are (built for whoever the test acts as), with the clinic's audit key
    unlocked by `username`'s sign-in on the same open database: for tests about something other
    than who may do what."""
    assert services.auth.login(username, PASSWORD) is not None
    return services


def sign_in(services: Services, username: str, password: str = PASSWORD) -> Services:
    """`username` signed in (keys unlocked, as in the window): the services for that person."""
    user = services.auth.login(username, password)
    assert user is not None
    return services.as_user(user)

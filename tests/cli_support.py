"""Signing in on the command line in tests: accounts with a known password, and a standard
input that answers every password prompt with it (`--as` reads one line when stdin is not a
terminal)."""

from __future__ import annotations

import io
import sys
from pathlib import Path

import pytest
from argon2 import PasswordHasher

from tpi_chart.services import auth as auth_module
from tpi_chart.services.auth import AuthService
from tpi_chart.services.context import open_services

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
    monkeypatch.setattr(auth_module, "PasswordHasher", lambda: FAST_HASHER)


def typed_keyboard(monkeypatch: pytest.MonkeyPatch) -> Keyboard:
    """Every password prompt answered with PASSWORD; Argon2 made cheap (the `keyboard`
    fixture)."""
    fast_hashing(monkeypatch)
    typed = Keyboard()
    monkeypatch.setattr(sys, "stdin", typed)
    return typed


def add_accounts(db: Path, password: str = PASSWORD) -> None:
    """The first administrator `admin`, physician `chen` and assistant `rivera`."""
    with open_services(db) as services:
        auth = AuthService(services.store.users, services.store.audit, hasher=FAST_HASHER)
        admin = auth.get("admin")
        if admin is None:
            admin = auth.create_first_administrator("admin", ACCOUNTS["admin"][0], password)
        for username, (name, roles) in ACCOUNTS.items():
            if auth.get(username) is None:
                auth.create_user(admin, username, name, roles, password)  # type: ignore[arg-type]

"""Accounts and sign-in: Argon2id hashes, throttling and lockout, audit rows, roles, and no trace
of a password anywhere. On both engines: the store's own account repository and audit trail."""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from argon2 import extract_parameters

from tests.engines import open_store, table_rows
from tests.unit.auth_support import FAST_HASHER, FakeClock
from tpi_chart.domain.errors import InvalidInput
from tpi_chart.domain.users import User
from tpi_chart.services.access import PermissionDenied
from tpi_chart.services.auth import (
    AccountLocked,
    AuthError,
    AuthService,
    LoginPolicy,
    PasswordCheck,
    SignInDelayed,
)
from tpi_chart.storage.audit import ACTIONS, decode

ADMIN_PASSWORD = "Granite-Otter-4471"
SECRET = "Zebra-Quartz-7781!"


class Env:
    def __init__(
        self,
        engine: str,
        tmp_path: Path,
        request: pytest.FixtureRequest,
        hasher: object = FAST_HASHER,
    ) -> None:
        self.path = tmp_path / "clinic.db"  # (the file of a SQLite clinic)
        self.store = open_store(engine, tmp_path, request)
        self.conn = self.store.conn
        self.trail = self.store.audit
        self.clock = FakeClock()
        self.users = self.store.users
        self.auth = AuthService(
            self.users,
            self.trail,
            clock=self.clock,
            sleep=self.clock.sleep,
            hasher=hasher,  # type: ignore[arg-type]
        )

    def actions(self) -> list[tuple[str, str, str]]:
        return [(row.user, row.action, row.entity) for row in self.trail.rows()]

    def stored_bytes(self) -> list[bytes]:
        """What the clinic holds at rest: the file and its WAL, or every row on the server."""
        if not isinstance(self.conn, sqlite3.Connection):
            url = self.store.pg.pool.conninfo
            return [repr(table_rows(url)).encode()]
        self.conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
        wal = Path(str(self.path) + "-wal")
        return [self.path.read_bytes(), wal.read_bytes() if wal.exists() else b""]


@pytest.fixture
def env(engine: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Env]:
    environment = Env(engine, tmp_path, request)
    yield environment
    environment.store.close()


@pytest.fixture
def admin(env: Env) -> User:
    return env.auth.create_first_administrator("Admin", "Pat Admin", ADMIN_PASSWORD)


def test_first_run_creates_one_administrator_and_only_once(env: Env) -> None:
    assert env.auth.needs_first_run()
    admin = env.auth.create_first_administrator(
        "chen", "Dr. Alex Chen", ADMIN_PASSWORD, physician=True
    )
    assert admin.roles == {"administrator", "physician"}
    assert not env.auth.needs_first_run()
    with pytest.raises(AuthError, match="already exists"):
        env.auth.create_first_administrator("other", "Other", ADMIN_PASSWORD)
    assert env.auth.login("CHEN", ADMIN_PASSWORD) == admin


@pytest.mark.real_argon2
def test_stored_hash_is_argon2id_with_the_library_defaults(
    engine: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    environment = Env(engine, tmp_path, request, hasher=None)
    environment.auth.create_first_administrator("admin", "Pat Admin", ADMIN_PASSWORD)
    stored = environment.users.password_hash("admin")
    assert stored is not None
    assert stored.startswith("$argon2id$")
    parameters = extract_parameters(stored)
    assert (parameters.time_cost, parameters.memory_cost, parameters.parallelism) == (3, 65536, 4)
    assert ADMIN_PASSWORD not in stored
    assert environment.auth.login("admin", ADMIN_PASSWORD) is not None
    environment.store.close()


def test_wrong_password_returns_none_and_every_attempt_is_audited(env: Env, admin: User) -> None:
    assert env.auth.login("admin", "not-the-password") is None
    assert env.auth.login("nobody", ADMIN_PASSWORD) is None
    assert env.auth.login("admin", ADMIN_PASSWORD) == admin
    logins = [(user, action) for user, action, entity in env.actions() if entity == "session"]
    assert logins == [("admin", "login_failed"), ("nobody", "login_failed"), ("admin", "login")]
    reasons = [
        decode(row.after).get("reason") for row in env.trail.rows() if row.entity == "session"
    ]
    assert reasons == ["wrong password", "unknown account", None]
    assert env.trail.verify().ok


def test_failures_slow_down_after_three_and_lock_after_five(env: Env, admin: User) -> None:
    for _ in range(4):
        assert env.auth.login("admin", "wrong-wrong") is None
    assert env.clock.sleeps == [1.0]  # the 4th attempt, after 3 failures, waited 1 s
    with pytest.raises(AccountLocked, match="locked for 15 more minutes"):
        env.auth.login("admin", "wrong-wrong")
    assert env.clock.sleeps == [1.0, 2.0]
    # While locked even the right password is refused, and refusals do not extend the lockout.
    env.clock.advance(minutes=5)
    with pytest.raises(AccountLocked, match="locked for 10 more minutes"):
        env.auth.login("admin", ADMIN_PASSWORD)
    env.clock.advance(minutes=10, seconds=1)
    assert env.auth.login("admin", ADMIN_PASSWORD) == admin
    # A success clears the count: the next failure is not delayed.
    before = len(env.clock.sleeps)
    assert env.auth.login("admin", "wrong-again") is None
    assert len(env.clock.sleeps) == before


def test_the_service_refuses_an_attempt_before_the_wait_is_over(env: Env, admin: User) -> None:
    """The window never sleeps: it asks how long, counts down, then calls `begin_login`. The
    wait holds even for a caller that does not count down: the service refuses it."""
    for _ in range(3):
        attempt = env.auth.begin_login("admin")
        assert env.auth.finish_login(attempt, "wrong-wrong", attempt.check("wrong-wrong")) is None
    assert env.auth.wait_before_login("admin") == 1.0
    env.clock.advance(seconds=0.5)
    assert env.auth.wait_before_login("admin") == 0.5
    with pytest.raises(SignInDelayed, match="wait 1 s before trying again") as delayed:
        env.auth.begin_login("admin")  # even with the right password to follow
    assert delayed.value.seconds == 0.5
    refusal = env.trail.rows()[-1]
    assert (refusal.action, decode(refusal.after)["reason"]) == ("login_failed", "too soon")
    env.clock.advance(seconds=0.5)
    assert env.auth.wait_before_login("admin") == 0.0
    attempt = env.auth.begin_login("admin")
    assert env.auth.finish_login(attempt, ADMIN_PASSWORD, attempt.check(ADMIN_PASSWORD)) == admin
    assert env.clock.sleeps == []  # nobody slept: the refused attempt did not count either
    assert env.auth.wait_before_login("admin") == 0.0


def test_the_slow_step_touches_no_database(env: Env, admin: User) -> None:
    """`LoginAttempt.check` runs on the window's worker thread, where the database connection
    (bound to the GUI thread) would raise: it must not use it."""
    import threading

    attempt = env.auth.begin_login("admin")
    results: list[PasswordCheck] = []
    worker = threading.Thread(target=lambda: results.append(attempt.check(ADMIN_PASSWORD)))
    worker.start()
    worker.join()
    assert env.auth.finish_login(attempt, ADMIN_PASSWORD, results[0]) == admin


def test_delays_double_up_to_a_cap(env: Env, admin: User) -> None:
    auth = AuthService(
        env.users,
        env.trail,
        clock=env.clock,
        sleep=env.clock.sleep,
        hasher=FAST_HASHER,
        policy=LoginPolicy(lockout_failures=100),
    )
    for _ in range(10):
        assert auth.login("admin", "wrong-wrong") is None
    assert env.clock.sleeps == [1.0, 2.0, 4.0, 8.0, 16.0, 16.0, 16.0]


def test_failures_spread_over_more_than_fifteen_minutes_do_not_lock(env: Env, admin: User) -> None:
    for _ in range(8):
        assert env.auth.login("admin", "wrong-wrong") is None
        env.clock.advance(minutes=6)
    assert env.auth.login("admin", ADMIN_PASSWORD) == admin


def test_password_never_written_to_db_wal_audit_logs_or_errors(
    env: Env, admin: User, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    messages: list[str] = []
    user = env.auth.create_user(admin, "rivera", "J. Rivera, MA", ["assistant"], SECRET)
    assert env.auth.login("rivera", SECRET) == user
    assert env.auth.login("rivera", SECRET + "x") is None
    for attempt in (SECRET[:-1], "short"):
        try:
            env.auth.create_user(admin, "x" + attempt[:3].lower(), "X", ["assistant"], attempt)
        except InvalidInput as error:
            messages.append(str(error))
    try:
        env.auth.change_password(user, SECRET + "?", "Another-Secret-991")
    except AuthError as error:
        messages.append(str(error))
    env.auth.change_password(user, SECRET, "Another-Secret-991")
    blobs = env.stored_bytes()
    rows = [repr(row) for row in env.trail.rows()]
    for secret in (SECRET, SECRET + "x", "Another-Secret-991", ADMIN_PASSWORD):
        assert all(secret.encode() not in blob for blob in blobs)
        assert all(secret not in row for row in rows)
        assert secret not in caplog.text
        assert all(secret not in message for message in messages)
    assert env.trail.verify().ok


def test_new_passwords_are_checked_without_repeating_them(env: Env) -> None:
    with pytest.raises(InvalidInput) as caught:
        env.auth.create_first_administrator("admin", "Pat Admin", "short")
    assert caught.value.problems == ("password: must be at least 8 characters",)
    with pytest.raises(InvalidInput, match="most common"):
        env.auth.create_first_administrator("admin", "Pat Admin", "Password123")
    with pytest.raises(InvalidInput, match="must not be the username"):
        env.auth.create_first_administrator("longname1", "Pat Admin", "LongName1")
    with pytest.raises(InvalidInput, match=r"user\.username"):
        env.auth.create_first_administrator("bad name!", "Pat Admin", ADMIN_PASSWORD)
    assert env.auth.needs_first_run()


def test_only_an_administrator_manages_accounts(env: Env, admin: User) -> None:
    assistant = env.auth.create_user(admin, "rivera", "J. Rivera, MA", ["assistant"], SECRET)
    with pytest.raises(PermissionDenied, match="only an administrator can manage user accounts"):
        env.auth.create_user(assistant, "mallory", "Mallory", ["physician"], SECRET)
    with pytest.raises(PermissionDenied):
        env.auth.users(assistant)
    if "access_denied" in ACTIONS:
        denials = [(u, e) for u, action, e in env.actions() if action == "access_denied"]
        assert denials == [("rivera", "user"), ("rivera", "user")]
    assert [user.username for user in env.auth.users(admin)] == ["admin", "rivera"]
    with pytest.raises(AuthError, match="already taken"):
        env.auth.create_user(admin, "Rivera", "Someone", ["assistant"], SECRET)


def test_deactivated_accounts_cannot_sign_in_and_the_last_admin_stays(
    env: Env, admin: User
) -> None:
    env.auth.create_user(admin, "chen", "Dr. Alex Chen", ["physician"], SECRET)
    deactivated = env.auth.deactivate(admin, "chen")
    assert not deactivated.active
    assert env.auth.login("chen", SECRET) is None
    with pytest.raises(AuthError, match="only active administrator"):
        env.auth.deactivate(admin, "admin")
    with pytest.raises(AuthError, match="only active administrator"):
        env.auth.update_user(admin, "admin", roles=["physician"])
    updated = env.auth.update_user(admin, "chen", active=True, roles=["physician", "administrator"])
    assert updated.is_administrator
    assert env.auth.deactivate(admin, "admin").active is False  # now chen is an administrator too
    account_rows = [(user, action) for user, action, entity in env.actions() if entity == "user"]
    assert account_rows == [
        ("admin", "create"),
        ("admin", "create"),
        ("admin", "update"),
        ("admin", "update"),
        ("admin", "update"),
    ]


def test_password_change_needs_the_current_password(env: Env, admin: User) -> None:
    with pytest.raises(AuthError, match="current password is not right"):
        env.auth.change_password(admin, "wrong-current", "Brand-New-Pass-5")
    with pytest.raises(InvalidInput, match="must differ"):
        env.auth.change_password(admin, ADMIN_PASSWORD, ADMIN_PASSWORD)
    env.auth.change_password(admin, ADMIN_PASSWORD, "Brand-New-Pass-5")
    assert env.auth.login("admin", ADMIN_PASSWORD) is None
    assert env.auth.login("admin", "Brand-New-Pass-5") == admin
    env.auth.reset_password(admin, "admin", "Reset-By-Admin-6")
    assert env.auth.login("admin", "Reset-By-Admin-6") == admin

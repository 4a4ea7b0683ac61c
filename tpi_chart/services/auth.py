"""Accounts and sign-in (reliability.md §3.1, S1–S3).

* Passwords are hashed with Argon2id, argon2-cffi `PasswordHasher()` defaults (t=3, m=64 MiB,
  p=4), and upgraded at the next sign-in when the parameters change. A password is never logged,
  stored, put in an exception or in an audit row; only this module and argon2 ever see it.
* Failed sign-ins are counted per username: from the 3rd failure on, the next attempt must wait
  (1 s, 2 s, 4 s … up to 16 s after the last failure); an attempt before then is refused
  (`SignInDelayed`) by the service itself, whoever calls it. 5 failures within 15 minutes lock
  the account for 15 minutes. Every sign-in and every failure is audited. The clock and the
  sleep are injectable for tests.
* A sign-in is three steps so that the window never waits on Argon2: `begin_login` (reads the
  database: lockout, back-off, the stored hash, the wrapped account key), `LoginAttempt.check`
  (opens the account key, which proves a right password with one Argon2 computation, else
  verifies the hash: services/password_work.py says why that is sound; pure, safe on a worker
  thread), `finish_login` (records the attempt, one whatever `check` computed, and unlocks the
  keys). `login` runs the three in a row and sleeps out the back-off first (the
  command line has nothing else to do); the window counts the wait down with a timer instead.
* Those minutes are measured so that moving the clock does not shorten them: each attempt is
  stored with the machine's monotonic clock and boot id (Linux), and on the same boot elapsed
  time comes from the monotonic clock; otherwise from the wall clock, where a clock set back
  makes an attempt look new, never old. (Across a reboot, or where no boot id is known, only the
  wall clock is left: stated in docs/security.md.)
* Accounts are created, changed and deactivated by an administrator; the very first account, on a
  new database, is an administrator created without one (first run).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Collection, Iterable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from argon2 import PasswordHasher
from pydantic import ValidationError

from tpi_chart.domain.errors import DomainError, InvalidInput, describe_validation_error
from tpi_chart.domain.users import Role, User, normalise_username
from tpi_chart.services.access import RESERVED_USERNAMES, PermissionDenied, require
from tpi_chart.services.password_work import (
    LoginAttempt,
    NewPassword,
    PasswordChange,
    PasswordChangeWork,
    PasswordCheck,
    PasswordWork,
    password_problems,
)
from tpi_chart.services.sessions import WorkstationSession
from tpi_chart.storage.errors import DuplicateRecord
from tpi_chart.storage.interfaces import AuditTrail, UserRepository

if TYPE_CHECKING:  # annotations only: the key code (cryptography) loads with services.pki
    from tpi_chart.services.account_keys import AccountKeys

Clock = Callable[[], datetime]
Sleep = Callable[[float], None]
Monotonic = Callable[[], float]
BootId = Callable[[], "str | None"]
_BOOT_ID = Path("/proc/sys/kernel/random/boot_id")


def read_boot_id() -> str | None:
    """This boot's id (Linux), so that monotonic readings are compared within one boot only."""
    try:
        return _BOOT_ID.read_text(encoding="ascii").strip() or None
    except OSError:
        return None


class AuthError(DomainError):
    """Sign-in or account management refused; the message is for the user."""


class AccountLocked(AuthError):
    """Too many failed sign-ins; `until` says when the account opens again."""

    def __init__(self, username: str, until: datetime, now: datetime) -> None:
        self.username = username
        self.until = until
        minutes = max(1, int((until - now).total_seconds() + 59) // 60)
        super().__init__(
            f"too many failed sign-ins for {username!r}: the account is locked for "
            f"{minutes} more minute{'s' if minutes != 1 else ''}; try again later or ask an "
            "administrator"
        )


class SignInDelayed(AuthError):
    """Failed sign-ins in a row: the next attempt is allowed after `seconds` more."""

    def __init__(self, username: str, seconds: float) -> None:
        self.username = username
        self.seconds = seconds
        whole = max(1, math.ceil(seconds))
        super().__init__(
            f"several failed sign-ins for {username!r}: wait {whole} s before trying again"
        )


@dataclass(frozen=True)
class LoginPolicy:
    delay_after_failures: int = 3
    first_delay_s: float = 1.0
    max_delay_s: float = 16.0
    lockout_failures: int = 5
    window: timedelta = timedelta(minutes=15)
    lockout: timedelta = timedelta(minutes=15)


def default_hasher() -> PasswordHasher:
    """argon2-cffi's defaults (RFC 9106 low-memory profile); the test suite swaps in cheaper
    parameters for speed, except in the test that checks these."""
    return PasswordHasher()


def utc_now() -> datetime:
    return datetime.now(UTC)


class AuthService:
    def __init__(
        self,
        users: UserRepository,
        audit: AuditTrail | None = None,
        *,
        keys: AccountKeys | None = None,
        clock: Clock = utc_now,
        sleep: Sleep = time.sleep,
        hasher: PasswordHasher | None = None,
        policy: LoginPolicy | None = None,
        monotonic: Monotonic | None = None,
        boot_id: BootId | None = None,
        sessions: WorkstationSession | None = None,
        transaction: Callable[[], AbstractContextManager[object]] | None = None,
    ) -> None:
        self._users = users
        #: The store's transaction (`Store.transaction`): a new hash and the account key are
        #: stored together, since an opened key proves a password (services/password_work.py).
        self._transaction = transaction if transaction is not None else nullcontext
        #: This workstation's session row: started at a sign-in, marked at a lock, ended at a
        #: sign-out (services/sessions.py).
        self._sessions = sessions
        self._audit = audit
        self._keys = keys
        self._clock = clock
        self._sleep = sleep
        # With the real wall clock, the real monotonic one; a test that injects a wall clock
        # injects a monotonic one too when it wants one.
        if monotonic is None and clock is utc_now:
            monotonic, boot_id = time.monotonic, boot_id or read_boot_id
        self._monotonic = monotonic
        self._boot_id = boot_id
        self._hasher = hasher if hasher is not None else default_hasher()
        self._policy = policy if policy is not None else LoginPolicy()

    # -- first run ---------------------------------------------------------------------------

    def needs_first_run(self) -> bool:
        """True on a database without any account: the first administrator must be created."""
        return self._users.count() == 0

    def create_first_administrator(
        self,
        username: str,
        display_name: str,
        password: str,
        *,
        physician: bool = False,
        prepared: NewPassword | None = None,
    ) -> User:
        """`prepared`: the password's `PasswordWork.run` done off this thread (else now)."""
        if not self.needs_first_run():
            raise AuthError(
                "an administrator already exists; sign in as an administrator to add accounts"
            )
        roles: set[Role] = {"administrator"}
        if physician:
            roles.add("physician")
        user = self._new_user(username, display_name, roles)
        new = self._new_password(user.username, password, prepared)
        created = self._users.create(user, new.password_hash, by=user.username, at=self._clock())
        if self._keys is not None:
            # Sets up the clinic's signing authority (and the physician's certificate).
            self._keys.signed_in(created, password, new.account_key)
        return created

    def prepare_password(self, username: str, password: str) -> PasswordWork:
        """The first step of setting a password (a new account, a reset): refuses a weak one
        (InvalidInput); `run` on the result does the Argon2 work (worker-safe), and the
        `NewPassword` it gives goes to the call that stores it as `prepared`."""
        name = normalise_username(username)
        self._check_password(password, name)
        make_key = self._keys.new_account_key(name) if self._keys is not None else None
        return PasswordWork(name, password, self._hasher, make_key)

    def _new_password(
        self, username: str, password: str, prepared: NewPassword | None
    ) -> NewPassword:
        self._check_password(password, username)
        if prepared is not None and prepared.username == username:
            return prepared
        return self.prepare_password(username, password).run()

    # -- sign-in -------------------------------------------------------------------------------

    def record_lock(self, user: User) -> None:
        """Audit that `user`'s session was locked (idle time-out or "Lock now"); unlocking is
        audited as the sign-in it is."""
        if self._sessions is not None:  # first: lets go of a session ended meanwhile
            self._sessions.locked(user.username)
        if self._audit is not None:
            self._audit.record(
                user=user.username, action="session_locked", entity="session", after={}
            )
        if self._keys is not None:
            self._keys.signed_out(user)

    def sign_out(self, reason: str = "signed out") -> None:
        """End this workstation's session (the window closes, a command ends)."""
        if self._sessions is not None:
            self._sessions.signed_out(reason)

    def login(self, username: str, password: str) -> User | None:
        """The user when the password is right and the account active; None otherwise. Sleeps
        out the back-off first (for the command line; the window uses the three steps).

        Raises AccountLocked (without checking the password) while the account is locked."""
        wait = self.wait_before_login(username)
        if wait > 0:
            self._sleep(wait)
        attempt = self.begin_login(username)
        return self.finish_login(attempt, password, attempt.check(password))

    def wait_before_login(self, username: str) -> float:
        """Seconds until `username` may try again after failed sign-ins (0 when they may now,
        and while the account is locked out: that refusal comes at once)."""
        name = normalise_username(username)
        now = self._clock()
        if self._locked_until(name, now) is not None:
            return 0.0
        return self._backoff(name, now)

    def begin_login(self, username: str) -> LoginAttempt:
        """The first step of a sign-in: refuses a locked account (AccountLocked) and an attempt
        before the back-off is over (SignInDelayed), both audited; reads what `check` needs."""
        name = normalise_username(username)
        now = self._clock()
        if self._sessions is not None:
            self._sessions.signing_in()
        locked_until = self._locked_until(name, now)
        if locked_until is not None:
            self._users.record_login(
                name, success=False, at=now, detail={"reason": "locked"}, counts=False
            )
            raise AccountLocked(name, locked_until, now)
        wait = self._backoff(name, now)
        if wait > 0:
            self._users.record_login(
                name, success=False, at=now, detail={"reason": "too soon"}, counts=False
            )
            raise SignInDelayed(name, wait)
        return self._attempt(name, make_keys=True)

    def _attempt(self, name: str, *, make_keys: bool) -> LoginAttempt:
        """What `LoginAttempt.check` needs, read here; `make_keys`: for an account without a
        key, make one (not where nothing can be stored)."""
        user = self._users.get(name)
        stored = self._users.password_hash(name) if user is not None else None
        if self._keys is None:
            return LoginAttempt(name, user, stored, self._hasher)
        if stored is None:  # no such account: the same Argon2 work as a wrong password
            return LoginAttempt(name, user, None, self._hasher, self._keys.decoy_account_key())
        opens = self._keys.open_account_key(name)
        makes = self._keys.new_account_key(name) if opens is None and make_keys else None
        return LoginAttempt(name, user, stored, self._hasher, opens, makes)

    def finish_login(
        self, attempt: LoginAttempt, password: str, check: PasswordCheck
    ) -> User | None:
        """The last step: records the attempt (AccountLocked when this failure locks the
        account) and, on success, stores an upgraded hash and unlocks the person's keys."""
        name, user = attempt.username, attempt.user
        if user is None or attempt.stored_hash is None:
            self._fail(name, "unknown account")
            return None
        if not check.ok:
            self._fail(name, "wrong password")
            return None
        if not user.active:
            self._fail(name, "account deactivated")
            return None
        if check.new_hash is not None:
            self._users.set_password_hash(
                name, check.new_hash, by=name, at=self._clock(), audit=False
            )
        if self._keys is not None:
            # First: the audit key opens with this person's account key (audit_keys), so the
            # sign-in below is chained at once rather than waiting as a pending event.
            self._keys.signed_in(user, password, check.opened_keys)
        detail = {}
        if self._sessions is not None:
            self._sessions.signed_in(name)
            detail["workstation"] = self._sessions.workstation  # the audit row names it
        self._users.record_login(
            name, success=True, at=self._clock(), detail=detail, **self._marks()
        )
        return user

    def _backoff(self, name: str, now: datetime) -> float:
        """Seconds left of the wait after the latest failure (0 when none is due)."""
        policy = self._policy
        ages = [age for age in self._failure_ages(name, now) if age <= policy.window]
        if len(ages) < policy.delay_after_failures:
            return 0.0
        extra = len(ages) - policy.delay_after_failures
        delay = min(policy.first_delay_s * 2.0**extra, policy.max_delay_s)
        return max(delay - min(ages).total_seconds(), 0.0)

    def check_password(self, username: str, password: str) -> User | None:
        """Sign-in on a database that cannot be written (the read-only rescue): the same checks
        as `login` (lockout, password, active account) without recording anything, and without
        unlocking signing keys: nothing can be signed there. The account key it opens is kept
        for `unlock_audit_for_reading` alone."""
        name = normalise_username(username)
        now = self._clock()
        locked_until = self._locked_until(name, now)
        if locked_until is not None:
            raise AccountLocked(name, locked_until, now)
        attempt = self._attempt(name, make_keys=False)
        user, check = attempt.user, attempt.check(password)
        if user is None or not check.ok or not user.active:
            return None
        if self._keys is not None:  # `audit verify --as` then opens the audit key with it
            self._keys.opened_for_reading(user, check.opened_keys)
        return user

    def locked_until(self, username: str) -> datetime | None:
        return self._locked_until(normalise_username(username), self._clock())

    def _fail(self, name: str, reason: str) -> None:
        now = self._clock()
        self._users.record_login(
            name, success=False, at=now, detail={"reason": reason}, **self._marks()
        )
        locked_until = self._locked_until(name, now)
        if locked_until is not None:
            raise AccountLocked(name, locked_until, now)

    def _marks(self) -> dict[str, Any]:
        """The monotonic reading and boot id stored with an attempt (None where unknown)."""
        return {
            "monotonic": self._monotonic() if self._monotonic is not None else None,
            "boot": self._boot_id() if self._boot_id is not None else None,
        }

    def _failure_ages(self, name: str, now: datetime) -> list[timedelta]:
        """How long ago each failure since the last success was: by the monotonic clock for an
        attempt on this boot, else by the wall clock (never negative: a clock set back makes
        an attempt look new)."""
        marks = self._marks()
        mono_now, boot = marks["monotonic"], marks["boot"]
        ages: list[timedelta] = []
        for at, mono, mark_boot in self._users.failures_since_success(name):
            if mono_now is not None and mono is not None and boot and mark_boot == boot:
                ages.append(timedelta(seconds=max(mono_now - mono, 0.0)))
            else:
                ages.append(max(now - at, timedelta(0)))
        return ages

    def _locked_until(self, name: str, now: datetime) -> datetime | None:
        policy = self._policy
        ages = [a for a in self._failure_ages(name, now) if a <= policy.window + policy.lockout]
        if len(ages) < policy.lockout_failures:
            return None
        youngest = min(ages)
        run = [age for age in ages if youngest <= age <= youngest + policy.window]
        if len(run) < policy.lockout_failures:
            return None
        remaining = policy.lockout - youngest
        return now + remaining if remaining > timedelta(0) else None

    # -- accounts (administrator) -----------------------------------------------------------

    def users(self, admin: User) -> list[User]:
        self._require_admin(admin)
        return self._users.all()

    def get(self, username: str) -> User | None:
        return self._users.get(username)

    def create_user(
        self,
        admin: User,
        username: str,
        display_name: str,
        roles: Iterable[Role],
        password: str,
        *,
        prepared: NewPassword | None = None,
    ) -> User:
        self._require_admin(admin)
        user = self._new_user(username, display_name, set(roles))
        new = self._new_password(user.username, password, prepared)
        try:
            created = self._users.create(
                user, new.password_hash, by=admin.username, at=self._clock()
            )
        except DuplicateRecord as error:
            raise AuthError(str(error)) from error
        if self._keys is not None:
            self._keys.account_created(created, password, admin, new.account_key)
        return created

    def update_user(
        self,
        admin: User,
        username: str,
        *,
        display_name: str | None = None,
        roles: Collection[Role] | None = None,
        active: bool | None = None,
    ) -> User:
        self._require_admin(admin)
        current = self._users.get(username)
        if current is None:
            raise AuthError(f"there is no account {normalise_username(username)!r}")
        changes: dict[str, Any] = {}
        if display_name is not None:
            changes["display_name"] = display_name
        if roles is not None:
            changes["roles"] = frozenset(roles)
        if active is not None:
            changes["active"] = active
        data = current.model_dump()
        data.update(changes)
        try:
            updated = User.model_validate(data)
        except ValidationError as error:
            raise InvalidInput(describe_validation_error(error, "user.")) from error
        if (
            current.is_administrator
            and current.active
            and not (updated.is_administrator and updated.active)
            and self._users.active_administrators() <= 1
        ):
            raise AuthError(
                f"{current.display_name} is the only active administrator; make another account "
                "an administrator first"
            )
        stored = self._users.update(updated, by=admin.username)
        if self._keys is not None:
            self._keys.account_updated(admin, stored)
        return stored

    def deactivate(self, admin: User, username: str) -> User:
        return self.update_user(admin, username, active=False)

    def reset_password(
        self,
        admin: User,
        username: str,
        new_password: str,
        *,
        prepared: NewPassword | None = None,
    ) -> None:
        """An administrator sets a new password (the user should change it at next sign-in);
        `prepared` as for `create_user`."""
        self._require_admin(admin)
        name = normalise_username(username)
        if self._users.get(name) is None:
            raise AuthError(f"there is no account {name!r}")
        new = self._new_password(name, new_password, prepared)
        with self._transaction():
            self._users.set_password_hash(
                name, new.password_hash, by=admin.username, at=self._clock()
            )
            user = self._users.get(name)
            if self._keys is not None and user is not None:
                self._keys.password_reset(admin, user, new_password, new.account_key)

    def prepare_password_change(
        self, user: User, old_password: str, new_password: str
    ) -> PasswordChangeWork:
        """The first step of changing one's own password: `run` on the result does the Argon2
        work (worker-safe) and its `PasswordChange` goes to `change_password` as `checked`."""
        name = user.username
        rewrap = self._keys.rewrap_account_key(name) if self._keys is not None else None
        stored = self._users.password_hash(name)
        return PasswordChangeWork(name, stored, old_password, new_password, self._hasher, rewrap)

    def change_password(
        self,
        user: User,
        old_password: str,
        new_password: str,
        *,
        checked: PasswordChange | None = None,
    ) -> None:
        """The user changes their own password; the current one must be right. `checked`:
        `prepare_password_change(…).run()` done off this thread (else now)."""
        if checked is None or (checked.new is not None and checked.new.username != user.username):
            checked = self.prepare_password_change(user, old_password, new_password).run()
        if not checked.current_ok:
            self._users.record_login(
                user.username,
                success=False,
                at=self._clock(),
                detail={"reason": "wrong current password at password change"},
            )
            raise AuthError("the current password is not right; the password was not changed")
        self._check_password(new_password, user.username)
        if checked.same_as_current or checked.new is None:
            raise InvalidInput(["password: the new password must differ from the current one"])
        with self._transaction():
            self._users.set_password_hash(
                user.username, checked.new.password_hash, by=user.username, at=self._clock()
            )
            if self._keys is not None:
                self._keys.password_changed(
                    user, old_password, new_password, checked.new.account_key
                )

    # -- helpers -------------------------------------------------------------------------------

    def _require_admin(self, admin: User) -> None:
        current = self._users.get(admin.username)
        actor = current if current is not None else admin
        require(actor, "manage_accounts", on_denied=self._audit_denial)

    def _audit_denial(self, user: User, action: str) -> None:
        if self._audit is None:
            return
        from tpi_chart.storage.audit import ACTIONS

        if "access_denied" in ACTIONS:
            self._audit.record(
                user=user.username, action="access_denied", entity="user", after={"action": action}
            )

    def _new_user(self, username: str, display_name: str, roles: set[Role]) -> User:
        if normalise_username(username) in RESERVED_USERNAMES:
            raise InvalidInput([f"user.username: {username.strip()!r} is reserved; choose another"])
        try:
            return User.model_validate(
                {"username": username, "display_name": display_name, "roles": frozenset(roles)}
            )
        except ValidationError as error:
            lines = describe_validation_error(error, "user.")
            raise InvalidInput([_plain_user_problem(line) for line in lines]) from error

    def _check_password(self, password: str, username: str) -> None:
        problems = password_problems(password, username)
        if problems:
            raise InvalidInput(problems)


def _plain_user_problem(line: str) -> str:
    if line.startswith("user.username:") and "not allowed" in line:
        return (
            "user.username: use lower-case letters, digits, '.', '_' or '-', starting with a "
            "letter or digit"
        )
    return line


__all__ = [
    "AccountLocked",
    "AuthError",
    "AuthService",
    "LoginAttempt",
    "LoginPolicy",
    "PasswordCheck",
    "PermissionDenied",
    "SignInDelayed",
    "password_problems",
]

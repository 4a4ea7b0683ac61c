"""What a password must be, and the Argon2 work of the accounts (`services.auth`) as values
that carry what it needs with a pure method that does it: a sign-in's check, a new password's
hash, a password change's checks. Each may run on the worker thread; `AuthService` reads the
database before and writes it after, on the database's thread."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from tpi_chart.domain.users import User, normalise_username

MIN_PASSWORD = 8
MAX_PASSWORD = 256
# A handful of the most common choices (NIST SP 800-63B asks for a blocklist check).
_COMMON = frozenset(
    {
        "password",
        "password1",
        "password123",
        "12345678",
        "123456789",
        "1234567890",
        "qwertyuiop",
        "qwerty123",
        "iloveyou",
        "letmein1",
        "welcome1",
        "admin123",
        "administrator",
        "changeme",
        "trustno1",
        "11111111",
        "00000000",
        "abc12345",
        "passw0rd",
    }
)


def password_problems(password: str, username: str = "") -> list[str]:
    """Why a new password is not acceptable, one line each; never repeats the password."""
    problems: list[str] = []
    if len(password) < MIN_PASSWORD:
        problems.append(f"password: must be at least {MIN_PASSWORD} characters")
    if len(password) > MAX_PASSWORD:
        problems.append(f"password: must be at most {MAX_PASSWORD} characters")
    if not password.strip():
        problems.append("password: must not be only spaces")
    lowered = password.strip().lower()
    if lowered in _COMMON:
        problems.append("password: is one of the most common passwords; choose another")
    if username and lowered == normalise_username(username):
        problems.append("password: must not be the username")
    return problems


def verify(hasher: PasswordHasher, stored: str, password: str) -> bool:
    try:
        return bool(hasher.verify(stored, password))
    except (VerificationError, InvalidHashError):
        return False


@dataclass(frozen=True)
class PasswordCheck:
    """What the slow step of a sign-in found: the password is right (`ok`), a new hash when
    the stored one uses old parameters, and what the account keys made of the password."""

    ok: bool
    new_hash: str | None = None
    opened_keys: object = None


@dataclass(frozen=True)
class LoginAttempt:
    """One sign-in between `begin_login` and `finish_login`: what the slow, pure middle needs.
    `check` touches neither the database nor any shared state, so it may run on a worker
    thread."""

    username: str
    user: User | None
    stored_hash: str | None
    hasher: PasswordHasher
    open_keys: Callable[[str], object] | None = None

    def check(self, password: str) -> PasswordCheck:
        if self.stored_hash is None:
            # The same Argon2 work whether or not the name exists.
            self.hasher.hash(password)
            return PasswordCheck(ok=False)
        if not verify(self.hasher, self.stored_hash, password):
            return PasswordCheck(ok=False)
        new_hash = (
            str(self.hasher.hash(password))
            if self.hasher.check_needs_rehash(self.stored_hash)
            else None
        )
        opened = self.open_keys(password) if self.open_keys is not None else None
        return PasswordCheck(ok=True, new_hash=new_hash, opened_keys=opened)


@dataclass(frozen=True)
class NewPassword:
    """A new password's slow products: its hash and the account key wrapped with it (what the
    account keys made of it), for the username it was made for."""

    username: str
    password_hash: str = field(repr=False)
    account_key: object = field(default=None, repr=False)


@dataclass(frozen=True)
class PasswordWork:
    """Setting a password (`AuthService.prepare_password`): `run` hashes it and makes the
    account key, touching neither the database nor shared state."""

    username: str
    password: str = field(repr=False)
    hasher: PasswordHasher
    make_key: Callable[[str], object] | None = None

    def run(self) -> NewPassword:
        made = self.make_key(self.password) if self.make_key is not None else None
        return NewPassword(self.username, str(self.hasher.hash(self.password)), made)


@dataclass(frozen=True)
class PasswordChange:
    """What the slow step of a password change found."""

    current_ok: bool
    same_as_current: bool = False
    new: NewPassword | None = None


@dataclass(frozen=True)
class PasswordChangeWork:
    """Changing one's own password (`AuthService.prepare_password_change`): `run` checks the
    current password, that the new one differs, hashes the new one and re-wraps the account
    key; pure, like `PasswordWork.run`."""

    username: str
    stored_hash: str | None = field(repr=False)
    old: str = field(repr=False)
    new: str = field(repr=False)
    hasher: PasswordHasher
    rewrap: Callable[[str, str], object] | None = None

    def run(self) -> PasswordChange:
        if self.stored_hash is None or not verify(self.hasher, self.stored_hash, self.old):
            return PasswordChange(current_ok=False)
        if verify(self.hasher, self.stored_hash, self.new):
            return PasswordChange(current_ok=True, same_as_current=True)
        rewrapped = self.rewrap(self.old, self.new) if self.rewrap is not None else None
        new = NewPassword(self.username, str(self.hasher.hash(self.new)), rewrapped)
        return PasswordChange(current_ok=True, new=new)

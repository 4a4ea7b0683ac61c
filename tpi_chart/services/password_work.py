"""What a password must be, and the Argon2 work of the accounts (`services.auth`) as values
that carry what it needs with a pure method that does it: a sign-in's check, a new password's
hash, a password change's checks. Each may run on the worker thread; `AuthService` reads the
database before and writes it after, on the database's thread.

One Argon2 computation for a right password. Every account made since 0.2 holds two things
derived from its password: the PHC hash (`PasswordHasher`, Argon2id) and its account key
wrapped with a key that Argon2id derives from the password (`crypto.wrap`, AES-256-GCM). Each
costs one Argon2 computation (64 MiB) to check, so a sign-in opens the wrapped key first and
does not verify the hash when it opens:

* Why opening proves the password: GCM decryption checks a 128-bit tag over the ciphertext and
  the label ("account key of NAME", associated data) under the derived key. Without that key
  the tag fails but for a chance of 2^-128, and Argon2id does not give the same key for two
  passwords (salt in the blob), so a blob that opens was wrapped with this very password, for
  this account name: the password the account holder last set.
* What it does not prove: that the stored PHC hash is of the same password. A password change
  re-wraps the key and a reset replaces it, in the transaction that stores the new hash
  (`AuthService`'s `transaction`), so that a change stored halfway cannot leave the old
  password opening the old key. Whoever can write the database can replace either (and GCM is
  not key-committing, so a crafted blob could open under two passwords), but such a writer
  could as well replace the hash: checking the blob instead gives them nothing new. Nor does it
  prove that the account is active, nor that the blob is still the stored one: `finish_login`
  and `SigningAuthority.signed_in` check those, as before.
* When the key does not open, the PHC hash decides: a wrong password is refused (two
  computations; failed attempts are throttled, and the finish records one failed attempt, not
  two); a right one means the stored key was altered, and the sign-in goes on without it, as
  it always has (`SigningAuthority.signed_in`).
* A name without an account costs what a known name's wrong password costs (a decoy unwrap at
  the account keys' parameters, then a hash at the hasher's), so the time of a refusal does not
  say whether the name exists. The two parameter sets are the same, argon2-cffi's RFC 9106 low
  memory profile (t=3, 64 MiB, p=4; `crypto.KdfParams`, `auth.default_hasher`), and a test
  holds them equal. An account made before 0.2 has no key: the hash decides and its key is
  made at that sign-in, as before (its wrong password costs one computation until then).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

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


class KeyOpening(Protocol):
    """What opening a password-wrapped key gave (`account_keys`): `opened` is True only when
    the password opened it, which proves the password (module docstring)."""

    @property
    def opened(self) -> bool: ...


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
    thread.

    `open_keys` opens the account's wrapped key (for a name without an account: a decoy of the
    same cost that never opens); `make_keys` makes a key for an account that has none, once the
    hash says the password is right."""

    username: str
    user: User | None
    stored_hash: str | None
    hasher: PasswordHasher
    open_keys: Callable[[str], KeyOpening] | None = None
    make_keys: Callable[[str], object] | None = None

    def check(self, password: str) -> PasswordCheck:
        opening = self.open_keys(password) if self.open_keys is not None else None
        if self.stored_hash is None:
            # What a known name's wrong password costs: the opening above, and this for the
            # verify of its hash.
            self.hasher.hash(password)
            return PasswordCheck(ok=False)
        if opening is not None and opening.opened:
            # The key opened, so the password is right: no second Argon2 for the hash.
            return PasswordCheck(ok=True, new_hash=self._rehash(password), opened_keys=opening)
        if not verify(self.hasher, self.stored_hash, password):
            return PasswordCheck(ok=False)
        # Right, yet the key did not open (altered): `signed_in` goes on without it. Or the
        # account has no key yet: it is made now.
        if opening is None and self.make_keys is not None:
            return PasswordCheck(True, self._rehash(password), self.make_keys(password))
        return PasswordCheck(ok=True, new_hash=self._rehash(password), opened_keys=opening)

    def _rehash(self, password: str) -> str | None:
        """A hash with today's parameters when the stored one has old ones (`check_needs_rehash`
        only parses it); rare, and then one more computation."""
        assert self.stored_hash is not None
        if not self.hasher.check_needs_rehash(self.stored_hash):
            return None
        return str(self.hasher.hash(password))


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
    key; pure, like `PasswordWork.run`. As at sign-in, the account key opening with the current
    password proves it (module docstring): the hash is verified only when it does not open."""

    username: str
    stored_hash: str | None = field(repr=False)
    old: str = field(repr=False)
    new: str = field(repr=False)
    hasher: PasswordHasher
    rewrap: Callable[[str, str], KeyOpening] | None = None

    def run(self) -> PasswordChange:
        if self.stored_hash is None:
            return PasswordChange(current_ok=False)
        rewrapped: KeyOpening | None = None
        if self.rewrap is not None and self.new != self.old:
            rewrapped = self.rewrap(self.old, self.new)
        if rewrapped is None or not rewrapped.opened:
            if not verify(self.hasher, self.stored_hash, self.old):
                return PasswordChange(current_ok=False)
            if self.new == self.old:
                # The hash holds the current password, so the new one matches it only if equal.
                return PasswordChange(current_ok=True, same_as_current=True)
        new = NewPassword(self.username, str(self.hasher.hash(self.new)), rewrapped)
        return PasswordChange(current_ok=True, new=new)

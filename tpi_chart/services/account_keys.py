"""The Argon2 work on account keys (`services.pki`), as pure functions of passwords: each may
run on the worker thread, with what it needs read beforehand on the database's thread, and
its result handed back to `SigningAuthority`, which stores it there; and `AccountKeys`, what
`AuthService` asks of it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from tpi_chart.domain.users import User
from tpi_chart.services import crypto
from tpi_chart.services.password_work import KeyOpening

ACCOUNT_LABEL = "account key of {}"


class AccountKeys(Protocol):
    """What happens to a person's keys when their account does (services.pki.SigningAuthority):
    the password is at hand only here, at these moments."""

    def open_account_key(self, username: str) -> Callable[[str], KeyOpening] | None:
        """The slow part of `signed_in` as a pure function of the password (worker-safe), or
        None when the account has no key to open."""

    def decoy_account_key(self) -> Callable[[str], KeyOpening]:
        """What `open_account_key` costs, for a name without an account; never opens."""

    def new_account_key(self, username: str) -> Callable[[str], object]:
        """The slow part of making an account's key, likewise."""

    def rewrap_account_key(self, username: str) -> Callable[[str, str], KeyOpening] | None:
        """The slow part of `password_changed`, a pure function of (old, new)."""

    def signed_in(self, user: User, password: str, opened: object = None) -> object: ...

    def opened_for_reading(self, user: User, opened: object) -> None: ...

    def signed_out(self, user: User | None = None) -> None: ...

    def account_created(
        self, user: User, password: str, by: User | None, made: object = None
    ) -> None: ...

    def account_updated(self, admin: User, user: User) -> None: ...

    def password_changed(
        self, user: User, old_password: str, new_password: str, rewrapped: object = None
    ) -> None: ...

    def password_reset(
        self, admin: User, user: User, new_password: str, made: object = None
    ) -> None: ...


@dataclass(frozen=True)
class OpenedAccountKey:
    """An account key opened off the database's thread: the wrapped form it came from (so a key
    changed meanwhile is not mistaken for it) and the private key, None when it did not open."""

    wrapped: str
    private: bytes | None = field(repr=False)

    @property
    def opened(self) -> bool:
        """The password opened it, which proves the password (services.password_work)."""
        return self.private is not None


@dataclass(frozen=True)
class NewAuthority:
    """The clinic's signing authority, made with the first administrator's key on a database
    that has none: the CA, and its key wrapped with the recovery passphrase (shown once)."""

    key: bytes = field(repr=False)
    certificate: bytes
    passphrase: str = field(repr=False)
    recovery_wrapped: str = field(repr=False)


def new_authority(
    clinic_name: str, clinic_id: str, now: datetime, kdf: crypto.KdfParams, label: str
) -> NewAuthority:
    key, certificate = crypto.make_ca(clinic_name, clinic_id, now)
    passphrase = crypto.recovery_passphrase()
    return NewAuthority(
        key, certificate, passphrase, crypto.wrap(key, passphrase, kdf, label=label)
    )


@dataclass(frozen=True)
class NewAccountKey:
    """An account key made and wrapped with its password off the database's thread (creating
    an account, resetting its password, the first sign-in of an account made before 0.2)."""

    username: str
    public: bytes
    private: bytes = field(repr=False)
    wrapped: str = field(repr=False)
    #: made too while the clinic has no authority, for when this account is an administrator
    authority: NewAuthority | None = None


def new_account(username: str, password: str, kdf: crypto.KdfParams) -> NewAccountKey:
    private, public = crypto.new_account_key()
    wrapped = crypto.wrap(private, password, kdf, label=ACCOUNT_LABEL.format(username))
    return NewAccountKey(username, public, private, wrapped)


@dataclass(frozen=True)
class RewrappedAccountKey:
    """The account key opened with the old password and wrapped with the new one, off the
    database's thread; `was` is the stored form it came from."""

    was: str = field(repr=False)
    wrapped: str | None = field(repr=False)  # None: the old password did not open it

    @property
    def opened(self) -> bool:
        """The old password opened the key, which proves it (services.password_work)."""
        return self.wrapped is not None


def rewrap(
    wrapped: str, username: str, old: str, new: str, kdf: crypto.KdfParams
) -> RewrappedAccountKey:
    label = ACCOUNT_LABEL.format(username)
    try:
        private = crypto.unwrap(wrapped, old, label=label)
    except crypto.KeyUnlockFailed:
        return RewrappedAccountKey(wrapped, None)
    return RewrappedAccountKey(wrapped, crypto.wrap(private, new, kdf, label=label))


def open_account(wrapped: str, username: str, password: str) -> OpenedAccountKey:
    try:
        return OpenedAccountKey(
            wrapped, crypto.unwrap(wrapped, password, label=ACCOUNT_LABEL.format(username))
        )
    except crypto.KeyUnlockFailed:
        return OpenedAccountKey(wrapped, None)


def decoy(kdf: crypto.KdfParams) -> Callable[[str], OpenedAccountKey]:
    """For a name without an account: opening a blob like an account key's, at the parameters
    account keys are wrapped with, that no password opens: what trying a known name's key costs
    (services.password_work)."""
    wrapped = crypto.decoy_wrapped(kdf)
    return lambda password: open_account(wrapped, "", password)

"""The clinic's signing authority and each physician's signing key (issue: "signed means signed").

Who holds what (docs/security.md has the whole threat model):

* Every account has an X25519 *account key*. Its private half is wrapped with a key derived from
  the account's password (Argon2id + AES-256-GCM), so it opens only at that person's sign-in.
* The clinic *authority* (a self-signed CA, created with the first administrator) has its private
  key sealed to every administrator's account key and wrapped once with a *recovery passphrase*
  that is shown once at set-up and never stored. Only a signed-in administrator can issue or
  revoke a certificate.
* Each physician has an ECDSA *signing key* sealed to their own account key, and a certificate
  issued by the authority. A physician whose certificate is not issued yet (an account made
  before this version, or a role granted later) gets a key and a pending request at sign-in; the
  next administrator sign-in issues it.
* A password change re-wraps the account key (certificates and grants stay valid). An
  administrator's password reset cannot open the old account key, so it makes a new one, revokes
  the old certificate (superseded: notes signed before stay valid) and issues a new one.

Unlocked keys live in memory only (`KeyChain`), for the signed-in person, and are dropped when
the session locks or ends.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

from tpi_chart.domain.errors import DomainError
from tpi_chart.domain.signatures import SignerKey, Trust
from tpi_chart.domain.users import User
from tpi_chart.services import crypto
from tpi_chart.services.access import require
from tpi_chart.services.account_keys import (
    NewAccountKey,
    NewAuthority,
    OpenedAccountKey,
    RewrappedAccountKey,
    decoy,
    new_account,
    new_authority,
    open_account,
    rewrap,
)
from tpi_chart.services.audit_keys import AuditKeys
from tpi_chart.storage.interfaces import PkiRepository

log = logging.getLogger(__name__)

AUTHORITY_SECRET = "signing_authority_key"
RECOVERY_HOLDER = "*recovery"
_SIGNER_LABEL = "signing key of {}"

Clock = Callable[[], datetime]


class NoSigningKey(DomainError):
    """The physician cannot sign yet; the message says what to do."""


class TrustProblem(DomainError):
    """The clinic's trust root cannot be established or does not match its record."""


@dataclass
class KeySession:
    """What one signed-in person has unlocked."""

    username: str
    account_private: bytes
    authority_key: bytes | None = None
    signer: SignerKey | None = None
    #: The signing key opened at sign-in, until the first signature checks that its certificate
    #: was issued by the clinic's authority (that check loads X.509: 6 MiB a sign-in need not).
    unchecked_signer: SignerKey | None = None


@dataclass
class KeyChain:
    """Unlocked keys in memory, by username; shared by every service built on one database."""

    sessions: dict[str, KeySession] = field(default_factory=dict)
    recovery_notices: dict[str, str] = field(default_factory=dict)
    #: Account keys a sign-in without recording opened, for `unlock_audit_for_reading` only.
    read_only: dict[str, OpenedAccountKey] = field(default_factory=dict)

    def forget(self, username: str | None = None) -> None:
        if username is None:
            self.sessions.clear()
            self.read_only.clear()
        else:
            self.sessions.pop(username, None)
            self.read_only.pop(username, None)


def _utc_now() -> datetime:
    return datetime.now(UTC)


class SigningAuthority:
    def __init__(
        self,
        pki: PkiRepository,
        keychain: KeyChain,
        *,
        clinic_id: str,
        clinic_name: Callable[[], str],
        display_name: Callable[[str], str | None],
        administrators: Callable[[], list[str]],
        trust_dir: Path | None,
        kdf: crypto.KdfParams | None = None,
        clock: Clock = _utc_now,
        audit_keys: AuditKeys | None = None,
    ) -> None:
        self._audit_keys = audit_keys
        self._pki = pki
        self._keys = keychain
        self._clinic_id = clinic_id
        self._clinic_name = clinic_name
        self._display_name = display_name
        self._administrators = administrators
        self._trust_dir = trust_dir
        self._kdf = kdf
        self._clock = clock

    # ---- reading -----------------------------------------------------------------------------

    def authority_certificate(self) -> bytes | None:
        return self._pki.authority()

    @property
    def trust_file(self) -> Path | None:
        if self._trust_dir is None:
            return None
        return self._trust_dir / f"{self._clinic_id}.signing-authority.pem"

    def trust(self) -> Trust:
        """The clinic's root and its revocations, for `verify`. The root in the database must be
        the one recorded outside it at set-up (so whoever can write the database file cannot
        slip in an authority of their own)."""
        certificate = self._pki.authority()
        if certificate is None:
            raise TrustProblem(
                "this clinic has no signing authority yet: an administrator creates it at the "
                "first sign-in"
            )
        recorded = self.trust_file
        if recorded is not None and recorded.exists():
            try:
                roots = crypto.read_trust_pem(recorded.read_bytes()).roots
            except (OSError, ValueError) as error:
                raise TrustProblem(f"the clinic's trust record {recorded} is unreadable") from error
            if certificate not in roots:
                raise TrustProblem(
                    "the signing authority stored in the database is not the one recorded for "
                    f"this clinic at set-up ({recorded}); the database may have been tampered with"
                )
        revoked = {serial: (at, reason) for serial, at, reason in self._pki.revocations()}
        return Trust((certificate,), revoked)

    def session(self, user: User) -> KeySession | None:
        return self._keys.sessions.get(user.username)

    def take_recovery_passphrase(self, user: User) -> str | None:
        """The recovery passphrase made when `user` set up the authority, once; None after."""
        return self._keys.recovery_notices.pop(user.username, None)

    def certificate_status(self, user: User) -> str:
        """One line for the Sign tab and `users list`."""
        active = self._pki.active_certificate(user.username)
        if active is not None:
            return f"signing certificate {active.serial[:12]}… issued {active.issued_at:%Y-%m-%d}"
        if self._pki.request(user.username) is not None:
            return "signing certificate requested; an administrator's next sign-in issues it"
        return "no signing certificate"

    def signer_for(self, user: User) -> SignerKey:
        """The unlocked signing key of `user`, or NoSigningKey saying what to do."""
        session = self._keys.sessions.get(user.username)
        if session is not None and session.signer is None and session.unchecked_signer:
            candidate, session.unchecked_signer = session.unchecked_signer, None
            if crypto.issued_by(candidate.certificate_der, candidate.chain_der[0]):
                session.signer = candidate
        if session is not None and session.signer is not None:
            return session.signer
        if self._pki.active_certificate(user.username) is None:
            if self._pki.request(user.username) is not None:
                raise NoSigningKey(
                    f"{user.display_name} has no signing certificate yet; it is issued the next "
                    "time an administrator signs in. Ask an administrator to sign in once, then "
                    "sign in again"
                )
            raise NoSigningKey(
                f"{user.display_name} has no signing certificate; sign in again with your "
                "password to request one"
            )
        raise NoSigningKey(
            f"{user.display_name}'s signing key is locked; sign in again with your password"
        )

    # ---- sign-in ------------------------------------------------------------------------------

    def open_account_key(self, username: str) -> Callable[[str], OpenedAccountKey] | None:
        """The Argon2 half of `signed_in` as a pure function of the password, which may run
        on a worker thread (the wrapped key is read here, on the database's thread); None for
        an account that has no key yet (made before 0.2: `new_account_key` makes it)."""
        account = self._pki.account_key(username)
        if account is None:
            return None
        wrapped = account.wrapped_private
        return lambda password: open_account(wrapped, username, password)

    def decoy_account_key(self) -> Callable[[str], OpenedAccountKey]:
        """For a name without an account: what `open_account_key` costs, never opening."""
        return decoy(self._kdf or crypto.DEFAULT_KDF)

    def new_account_key(self, username: str) -> Callable[[str], NewAccountKey]:
        """Making a new account key wrapped with a password, as a pure function of it (for a
        worker thread); give the result to `account_created`, `password_reset` or
        `signed_in`."""
        kdf = self._kdf or crypto.DEFAULT_KDF
        if self._pki.authority() is not None:
            return lambda password: new_account(username, password, kdf)
        # The first administrator establishes the authority with their key: made alongside.
        name, clinic, now = self._authority_name(), self._clinic_id, self._clock()
        return lambda password: replace(
            new_account(username, password, kdf),
            authority=new_authority(name, clinic, now, kdf, AUTHORITY_SECRET),
        )

    def rewrap_account_key(self, username: str) -> Callable[[str, str], RewrappedAccountKey] | None:
        """The Argon2 work of `password_changed` as a pure function of (old, new) password;
        None when the account has no key."""
        account = self._pki.account_key(username)
        if account is None:
            return None
        wrapped, kdf = account.wrapped_private, self._kdf or crypto.DEFAULT_KDF
        return lambda old, new: rewrap(wrapped, username, old, new, kdf)

    def _store_new_account_key(self, username: str, password: str, made: object) -> NewAccountKey:
        """Store `made` (when it is this account's) or a key made now."""
        if not (isinstance(made, NewAccountKey) and made.username == username):
            made = new_account(username, password, self._kdf or crypto.DEFAULT_KDF)
        self._pki.put_account_key(username, made.public, made.wrapped)
        return made

    def signed_in(self, user: User, password: str, opened: object = None) -> KeySession:
        """Unlock what `user` holds with the password just checked (`opened`: the account key
        as `open_account_key` opened it, used while the stored key is still that one). Makes
        what is missing: the account key (accounts made before version 0.2), the authority
        (the first administrator to sign in on such a database), a physician's key request;
        an administrator's sign-in issues pending certificates and grants the authority to
        administrators who lack it."""
        account = self._pki.account_key(user.username)
        if account is None:
            private = self._store_new_account_key(user.username, password, opened).private
        else:
            if not (
                isinstance(opened, OpenedAccountKey) and opened.wrapped == account.wrapped_private
            ):
                opened = open_account(account.wrapped_private, user.username, password)
            if opened.private is not None:
                private = opened.private
            else:
                # The password was right (AuthService checked it), so the stored key was
                # altered: sign-in goes on, signing stays impossible until an administrator
                # resets the password (which makes a new key).
                log.error("an account key does not open with its account's password")
                return KeySession(user.username, b"")
        session = KeySession(user.username, private)
        self._keys.sessions[user.username] = session
        if self._audit_keys is not None:
            # First: what follows is audited, and the audit key opens with this account key.
            self._audit_keys.signed_in(user, private)
        if user.is_administrator and user.active:
            if self._pki.authority() is None:
                made = opened.authority if isinstance(opened, NewAccountKey) else None
                self._establish(user, session, made)
            session.authority_key = self._open_authority(session)
            if session.authority_key is not None:
                self._grant_to_administrators(user, session.authority_key)
                self._issue_pending(user, session.authority_key)
        if user.is_physician and user.active:
            self._ensure_signing_key(user, session)
        return session

    def opened_for_reading(self, user: User, opened: object) -> None:
        """`AuthService.check_password` opened `user`'s account key: kept for
        `unlock_audit_for_reading`, so that it needs no second Argon2. Unlocks nothing."""
        if isinstance(opened, OpenedAccountKey) and opened.opened:
            self._keys.read_only[user.username] = opened

    def unlock_audit_for_reading(self, user: User, password: str) -> bool:
        """Open `user`'s audit key slot without recording anything (a read-only database:
        `audit verify --as`); True when the key is unlocked afterwards."""
        kept = self._keys.read_only.pop(user.username, None)
        account = self._pki.account_key(user.username)
        if self._audit_keys is None or account is None:
            return False
        if kept is None or kept.wrapped != account.wrapped_private:
            kept = open_account(account.wrapped_private, user.username, password)
        if kept.private is None:
            return False
        return self._audit_keys.unlock_for_reading(user.username, kept.private)

    def signed_out(self, user: User | None = None) -> None:
        self._keys.forget(user.username if user is not None else None)

    # ---- account changes ----------------------------------------------------------------------

    def account_created(
        self, user: User, password: str, by: User | None, made: object = None
    ) -> None:
        """A new account: its account key now (the password is at hand; `made`: made by
        `new_account_key` off this thread), the authority grant or certificate when the
        creating administrator has the authority unlocked."""
        public = self._store_new_account_key(user.username, password, made).public
        if self._audit_keys is not None and by is not None:
            self._audit_keys.account_created(user, public, by.username)
        creator = self._keys.sessions.get(by.username) if by is not None else None
        authority_key = creator.authority_key if creator is not None else None
        if authority_key is None or by is None:
            return
        if user.is_administrator:
            self._grant(AUTHORITY_SECRET, user.username, public, authority_key, by.username)
        if user.is_physician:
            self._issue_new(user, public, authority_key, by.username)

    def account_updated(self, admin: User, user: User) -> None:
        """Roles or activity changed: a deactivated account's certificates are revoked
        (cessation of operation: its earlier notes stay valid) and its authority grant dropped."""
        if not user.active:
            for cert in self._pki.certificates(user.username):
                if cert.active:
                    self._pki.revoke(
                        cert.serial, "cessation_of_operation", admin.username, self._clock()
                    )
            self._pki.drop_grant(AUTHORITY_SECRET, user.username, admin.username)
            if self._audit_keys is not None:
                self._audit_keys.account_deactivated(user.username, admin.username)
            self._keys.forget(user.username)
            return
        creator = self._keys.sessions.get(admin.username)
        authority_key = creator.authority_key if creator is not None else None
        account = self._pki.account_key(user.username)
        if authority_key is None or account is None:
            return
        if user.is_administrator and self._pki.grant(AUTHORITY_SECRET, user.username) is None:
            self._grant(
                AUTHORITY_SECRET, user.username, account.public_key, authority_key, admin.username
            )
        if not user.is_administrator:
            self._pki.drop_grant(AUTHORITY_SECRET, user.username, admin.username)
        if user.is_physician and self._pki.active_certificate(user.username) is None:
            self._issue_new(user, account.public_key, authority_key, admin.username)

    def password_changed(
        self, user: User, old_password: str, new_password: str, rewrapped: object = None
    ) -> None:
        """Wrap the account key with the new password (`rewrapped`: done by
        `rewrap_account_key` off this thread, used while the stored key is still that one)."""
        account = self._pki.account_key(user.username)
        if account is None:
            return
        if not (
            isinstance(rewrapped, RewrappedAccountKey) and rewrapped.was == account.wrapped_private
        ):
            kdf = self._kdf or crypto.DEFAULT_KDF
            rewrapped = rewrap(
                account.wrapped_private, user.username, old_password, new_password, kdf
            )
        assert isinstance(rewrapped, RewrappedAccountKey)
        if rewrapped.wrapped is None:
            raise crypto.KeyUnlockFailed("the account key does not open with the current password")
        self._pki.rewrap_account_key(user.username, rewrapped.wrapped)

    def password_reset(
        self, admin: User, user: User, new_password: str, made: object = None
    ) -> None:
        """The old account key cannot be opened without the old password: a new one (`made`,
        as for `account_created`), the old certificates revoked as superseded, and (with the
        administrator's authority) a new certificate and grant at once; otherwise at the next
        sign-ins."""
        public = self._store_new_account_key(user.username, new_password, made).public
        self._keys.forget(user.username)
        if self._audit_keys is not None:
            self._audit_keys.account_key_replaced(user, public, admin.username)
        for cert in self._pki.certificates(user.username):
            if cert.active:
                self._pki.revoke(cert.serial, "superseded", admin.username, self._clock())
        self._pki.drop_grant(AUTHORITY_SECRET, user.username, admin.username)
        creator = self._keys.sessions.get(admin.username)
        authority_key = creator.authority_key if creator is not None else None
        if authority_key is None:
            return
        if user.is_administrator:
            self._grant(AUTHORITY_SECRET, user.username, public, authority_key, admin.username)
        if user.is_physician and user.active:
            self._issue_new(user, public, authority_key, admin.username)

    def revoke(self, admin: User, username: str, reason: str) -> int:
        """Revoke every active certificate of `username` (e.g. key compromise); returns how
        many."""
        require(admin, "manage_accounts")
        revoked = 0
        for cert in self._pki.certificates(username):
            if cert.active:
                self._pki.revoke(cert.serial, reason, admin.username, self._clock())
                revoked += 1
        self._keys.forget(username)
        return revoked

    def export_trust(self, admin: User) -> bytes:
        """The clinic's root certificate and a revocation list signed by it, as PEM: what a
        records office or payer installs to validate this clinic's notes."""
        require(admin, "manage_accounts")
        certificate = self._pki.authority()
        if certificate is None:
            raise TrustProblem("this clinic has no signing authority yet")
        session = self._keys.sessions.get(admin.username)
        authority_key = session.authority_key if session is not None else None
        if authority_key is None:
            raise NoSigningKey(
                f"{admin.display_name} has not unlocked the signing authority; sign in again"
            )
        crl = crypto.make_crl(authority_key, certificate, self._pki.revocations(), self._clock())
        return crypto.trust_pem(certificate, crl)

    def recover(self, admin: User, passphrase: str) -> None:
        """Grant the authority to `admin` (signed in) with the recovery passphrase, for a clinic
        whose administrators all lost their passwords."""
        require(admin, "manage_accounts")
        blob = self._pki.grant(AUTHORITY_SECRET, RECOVERY_HOLDER)
        account = self._pki.account_key(admin.username)
        session = self._keys.sessions.get(admin.username)
        if blob is None or account is None or session is None:
            raise NoSigningKey("there is no recovery grant for this clinic's signing authority")
        try:
            key = crypto.unwrap(
                blob, crypto.normalise_passphrase(passphrase), label=AUTHORITY_SECRET
            )
        except crypto.KeyUnlockFailed as error:
            raise NoSigningKey("that recovery passphrase does not open the authority") from error
        self._grant(AUTHORITY_SECRET, admin.username, account.public_key, key, admin.username)
        session.authority_key = key

    # ---- inside ---------------------------------------------------------------------------------

    def _grant(self, secret: str, holder: str, public: bytes, value: bytes, by: str) -> None:
        self._pki.put_grant(secret, holder, crypto.seal(value, public, label=secret), by)

    def _open_authority(self, session: KeySession) -> bytes | None:
        blob = self._pki.grant(AUTHORITY_SECRET, session.username)
        if blob is None:
            return None
        try:
            return crypto.unseal(blob, session.account_private, label=AUTHORITY_SECRET)
        except crypto.KeyUnlockFailed:
            log.warning("an administrator's authority grant does not open")
            return None

    def _authority_name(self) -> str:
        return self._clinic_name() or "TPI Chart clinic"

    def _establish(self, admin: User, session: KeySession, made: NewAuthority | None) -> None:
        """The clinic's authority (`made`: by `new_account_key` off this thread, else now)."""
        if made is None:
            kdf = self._kdf or crypto.DEFAULT_KDF
            made = new_authority(
                self._authority_name(), self._clinic_id, self._clock(), kdf, AUTHORITY_SECRET
            )
        account = self._pki.account_key(admin.username)
        if account is None:  # made just before this call by signed_in
            raise TrustProblem("the administrator's account key is missing")
        certificate = made.certificate
        self._pki.create_authority(certificate, admin.username, crypto.fingerprint(certificate))
        self._grant(AUTHORITY_SECRET, admin.username, account.public_key, made.key, admin.username)
        self._pki.put_grant(
            AUTHORITY_SECRET, RECOVERY_HOLDER, made.recovery_wrapped, admin.username
        )
        self._keys.recovery_notices[admin.username] = made.passphrase
        self._record_trust(certificate)

    def _record_trust(self, certificate: bytes) -> None:
        path = self.trust_file
        if path is None:
            return
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            temporary = path.with_suffix(".tmp")
            with open(
                os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "wb"
            ) as handle:
                handle.write(crypto.trust_pem(certificate, None))
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temporary, path)
        except OSError as error:
            log.warning("the clinic's trust record could not be written: %s", error)

    def _grant_to_administrators(self, admin: User, authority_key: bytes) -> None:
        holders = set(self._pki.holders(AUTHORITY_SECRET))
        for username in self._administrators_without(holders):
            account = self._pki.account_key(username)
            if account is not None:
                self._grant(
                    AUTHORITY_SECRET, username, account.public_key, authority_key, admin.username
                )

    def _administrators_without(self, holders: set[str]) -> list[str]:
        return [name for name in self._administrators() if name not in holders]

    def _issue_pending(self, admin: User, authority_key: bytes) -> None:
        certificate = self._pki.authority()
        if certificate is None:
            return
        for request in self._pki.requests():
            name = self._display_name(request.username)
            if name is None:
                continue
            issued = crypto.issue_certificate(
                authority_key,
                certificate,
                request.public_key,
                common_name=name,
                username=request.username,
                now=self._clock(),
            )
            self._pki.add_certificate(
                crypto.serial_hex(issued),
                request.username,
                issued,
                request.sealed_private,
                admin.username,
            )

    def _issue_new(self, user: User, account_public: bytes, authority_key: bytes, by: str) -> None:
        certificate = self._pki.authority()
        if certificate is None:
            return
        private = crypto.new_signing_key()
        issued = crypto.issue_certificate(
            authority_key,
            certificate,
            crypto.public_key_der(private),
            common_name=user.display_name,
            username=user.username,
            now=self._clock(),
        )
        sealed = crypto.seal(private, account_public, label=_SIGNER_LABEL.format(user.username))
        self._pki.add_certificate(crypto.serial_hex(issued), user.username, issued, sealed, by)

    def _ensure_signing_key(self, user: User, session: KeySession) -> None:
        certificate = self._pki.authority()
        active = self._pki.active_certificate(user.username)
        label = _SIGNER_LABEL.format(user.username)
        if active is None and session.authority_key is not None:
            account = self._pki.account_key(user.username)
            if account is not None:
                self._issue_new(user, account.public_key, session.authority_key, user.username)
                active = self._pki.active_certificate(user.username)
        if active is None:
            if self._pki.request(user.username) is None:
                account = self._pki.account_key(user.username)
                if account is not None:
                    private = crypto.new_signing_key()
                    self._pki.put_request(
                        user.username,
                        crypto.public_key_der(private),
                        crypto.seal(private, account.public_key, label=label),
                    )
            return
        try:
            private = crypto.unseal(active.sealed_private, session.account_private, label=label)
        except crypto.KeyUnlockFailed:
            log.warning("a physician's signing key does not open with the account key")
            return
        if certificate is None:
            return
        name = self._display_name(user.username) or user.display_name
        session.unchecked_signer = SignerKey(private, active.certificate, (certificate,), name)

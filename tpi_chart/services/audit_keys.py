"""The audit key in key slots (issue 11 §5): an attacker with the files does not get it.

The audit trail's HMAC key used to be a plain file beside the data; whoever copied it could
rewrite the whole chain. Now, as LUKS does with a disk key, the one clinic key has one *slot per
account*: a copy sealed (X25519 + HKDF + AES-256-GCM, `crypto.seal`) to that account's public key,
whose private half only that person's password opens (Argon2id, `pki`). Any signed-in person
therefore unlocks the key with their own password and none needs another's. A *recovery slot*
holds it wrapped (Argon2id + AES-256-GCM) under the clinic's backup passphrase, so a clinic whose
every password is lost, or a backup restored on a new computer before anyone signs in, still
opens it.

Life of the key:

* A new clinic has a plain key file until its first administrator exists (nobody can sign in
  before that). The first sign-in of an administrator *seals* it: a slot for every account that
  has an account key, the key id recorded, then the file overwritten and removed. An existing
  clinic is migrated the same way, automatically.
* Every sign-in opens the person's slot and unlocks the store (`SqliteStore.unlock_audit`: the
  key must match the id recorded for the clinic, and the events that waited while it was locked
  are chained). Whoever has it unlocked grants a slot to every active account that lacks one
  (made by a command, or a password reset), so nobody waits for an administrator.
* A deactivated account's slot is removed; a password change keeps the slot (same account key); a
  reset makes a new account key and a new slot.

The key is in clear only in the memory of a program in which someone signed in; it is not cached
in the OS keyring (every program signs in anyway, and a keyring entry would be readable by
anything running as the same OS account: docs/security.md).
"""

from __future__ import annotations

import logging

from tpi_chart.domain.users import User
from tpi_chart.services import crypto
from tpi_chart.storage.audit import AUDIT_KEY_SECRET
from tpi_chart.storage.interfaces import Store

log = logging.getLogger(__name__)

RECOVERY_HOLDER = "*recovery"


class AuditKeys:
    """The audit key's slots for one open store; called by `SigningAuthority` at each account
    event, with the account key at hand."""

    def __init__(self, store: Store, kdf: crypto.KdfParams | None = None) -> None:
        self._store = store
        self._kdf = kdf

    def signed_in(self, user: User, account_private: bytes) -> None:
        """Open `user`'s slot (unlocking the store), or seal a plain key at an administrator's
        sign-in; then grant slots to the accounts that lack one."""
        store = self._store
        if store.readonly:
            if store.key is None:
                self._unlock_with(user.username, account_private)
            return
        if not store.audit_sealed:
            if store.key and user.is_administrator and user.active:
                self._seal(user.username, store.key)
            return
        if store.key is None:
            self._unlock_with(user.username, account_private)
        if store.key is not None:
            self._grant_missing(user.username, store.key)
            store.destroy_plain_key()  # a sealing interrupted before the file was removed

    def account_created(self, user: User, public_key: bytes, by: str) -> None:
        key = self._store.key
        if key is not None and self._store.audit_sealed and user.active:
            self._grant(user.username, public_key, key, by)

    def account_key_replaced(self, user: User, public_key: bytes, by: str) -> None:
        """A password reset made a new account key: the old slot no longer opens."""
        key = self._store.key
        if not self._store.audit_sealed:
            return
        if key is None:
            self._store.pki.drop_grant(AUDIT_KEY_SECRET, user.username, by)
        elif user.active:
            self._grant(user.username, public_key, key, by)

    def account_deactivated(self, username: str, by: str) -> None:
        self._store.pki.drop_grant(AUDIT_KEY_SECRET, username, by)

    def unlock_for_reading(self, username: str, account_private: bytes) -> bool:
        if self._store.key is None:
            self._unlock_with(username, account_private)
        return self._store.key is not None

    def has_recovery_slot(self) -> bool:
        return self._store.pki.grant(AUDIT_KEY_SECRET, RECOVERY_HOLDER) is not None

    def set_recovery(self, passphrase: str, by: str) -> bool:
        """(Re)make the recovery slot under the backup passphrase; False when the key is not
        unlocked here (the next sign-in that sets the passphrase makes it) or not sealed yet
        (sealing needs an administrator; the slot is made then if the passphrase is given
        again)."""
        key = self._store.key
        if key is None or self._store.readonly:
            return False
        if not self._store.audit_sealed:
            return False
        wrapped = crypto.wrap(key, passphrase, self._kdf or crypto.DEFAULT_KDF, label=_LABEL)
        self._store.pki.put_grant(AUDIT_KEY_SECRET, RECOVERY_HOLDER, wrapped, by)
        return True

    def unlock_with_recovery(self, passphrase: str) -> bool:
        """Unlock the store with the recovery slot (a restore on a new computer, where the
        backup passphrase is at hand before anyone signs in). False when there is no slot or
        the passphrase does not open it."""
        blob = self._store.pki.grant(AUDIT_KEY_SECRET, RECOVERY_HOLDER)
        if blob is None:
            return False
        try:
            key = crypto.unwrap(blob, passphrase, label=_LABEL)
        except crypto.KeyUnlockFailed:
            return False
        self._store.unlock_audit(key)
        return True

    # ---- inside -----------------------------------------------------------------------------

    def _unlock_with(self, username: str, account_private: bytes) -> None:
        blob = self._store.pki.grant(AUDIT_KEY_SECRET, username)
        if blob is None or not account_private:
            return  # no slot yet: a colleague's sign-in grants one; changes wait until then
        try:
            key = crypto.unseal(blob, account_private, label=_LABEL)
        except crypto.KeyUnlockFailed:
            log.warning("an account's audit key slot does not open with its account key")
            return
        self._store.unlock_audit(key)

    def _seal(self, by: str, key: bytes) -> None:
        """Slots for every account with an account key (the administrator's first, in one
        transaction), the key id recorded, then the plain file destroyed."""
        store = self._store
        holders = [by, *(u.username for u in store.users.all() if u.active and u.username != by)]
        with store.transaction():
            for username in holders:
                account = store.pki.account_key(username)
                if account is not None:
                    self._grant(username, account.public_key, key, by)
        store.record_key_id(key)
        store.destroy_plain_key()

    def _grant_missing(self, by: str, key: bytes) -> None:
        store = self._store
        holders = set(store.pki.holders(AUDIT_KEY_SECRET))
        for account in store.users.all():
            if not account.active or account.username in holders:
                continue
            row = store.pki.account_key(account.username)
            if row is not None:
                self._grant(account.username, row.public_key, key, by)

    def _grant(self, holder: str, public_key: bytes, key: bytes, by: str) -> None:
        self._store.pki.put_grant(
            AUDIT_KEY_SECRET, holder, crypto.seal(key, public_key, label=_LABEL), by
        )


_LABEL = AUDIT_KEY_SECRET

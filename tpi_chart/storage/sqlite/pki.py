"""The signing authority's rows: authority certificate, account keys, key grants, physicians'
certificates and pending requests, and the signed note PDFs (schema v6).

Only opaque blobs reach this module (wrapped or sealed keys, DER certificates, PDF bytes): no key
is ever in clear here. Every change is audited in its own transaction, or in the caller's when
one is open (signing stores the note in the signing transaction).
"""

from __future__ import annotations

import hashlib
import sqlite3
from datetime import UTC, datetime
from typing import Any

from tpi_chart.storage.interfaces import (
    AccountKeyRow,
    CertificateRow,
    SignedNoteRow,
    SigningRequestRow,
)
from tpi_chart.storage.sqlite.audited import AuditedWrites

#: Why account keys and signing requests carry no audit row of their own: wrapped or sealed
#: key material, stored by the auth and signing services beside the audited change it serves
#: (an account created, a password changed, a certificate issued).
_KEY_BOOKKEEPING = "key material stored for an audited account or certificate change"


def _now() -> str:
    return datetime.now(UTC).isoformat()


def _time(value: Any) -> datetime | None:
    return datetime.fromisoformat(str(value)) if value is not None else None


class SqlitePki:
    def __init__(self, writes: AuditedWrites) -> None:
        self._writes = writes

    @property
    def _conn(self) -> sqlite3.Connection:
        return self._writes.conn

    # ---- the authority ---------------------------------------------------------------------

    def authority(self) -> bytes | None:
        row = self._conn.execute(
            "SELECT certificate FROM signing_authority WHERE id = 1"
        ).fetchone()
        return bytes(row[0]) if row is not None else None

    def create_authority(self, certificate: bytes, by: str, fingerprint: str) -> None:
        with self._writes.audited(
            by, "signing_authority_created", "signing_authority", after={"sha256": fingerprint}
        ):
            self._conn.execute(
                "INSERT INTO signing_authority (id, certificate, created_at, created_by) "
                "VALUES (1, ?, ?, ?)",
                (certificate, _now(), by),
            )

    # ---- account keys and grants -------------------------------------------------------------

    def account_key(self, username: str) -> AccountKeyRow | None:
        row = self._conn.execute(
            "SELECT username, public_key, wrapped_private FROM account_keys WHERE username = ?",
            (username,),
        ).fetchone()
        return AccountKeyRow(str(row[0]), bytes(row[1]), str(row[2])) if row else None

    def put_account_key(self, username: str, public_key: bytes, wrapped_private: str) -> None:
        """Create or replace an account's key (a replaced key is a password reset: the grants
        sealed to the old key no longer open and are re-granted by the caller)."""
        with self._writes.unaudited(_KEY_BOOKKEEPING):
            self._conn.execute(
                "INSERT INTO account_keys (username, public_key, wrapped_private, created_at) "
                "VALUES (?, ?, ?, ?) ON CONFLICT (username) DO UPDATE SET "
                "public_key = excluded.public_key, wrapped_private = excluded.wrapped_private, "
                "created_at = excluded.created_at",
                (username, public_key, wrapped_private, _now()),
            )

    def rewrap_account_key(self, username: str, wrapped_private: str) -> None:
        """The same key under a new password (a password change)."""
        with self._writes.unaudited(_KEY_BOOKKEEPING):
            self._conn.execute(
                "UPDATE account_keys SET wrapped_private = ? WHERE username = ?",
                (wrapped_private, username),
            )

    def grant(self, secret: str, holder: str) -> str | None:
        row = self._conn.execute(
            "SELECT sealed FROM key_grants WHERE secret = ? AND holder = ?", (secret, holder)
        ).fetchone()
        return str(row[0]) if row else None

    def holders(self, secret: str) -> list[str]:
        rows = self._conn.execute(
            "SELECT holder FROM key_grants WHERE secret = ? ORDER BY holder", (secret,)
        ).fetchall()
        return [str(row[0]) for row in rows]

    def put_grant(self, secret: str, holder: str, sealed: str, by: str) -> None:
        with self._writes.audited(
            by, "key_granted", "key_grant", after={"secret": secret, "holder": holder}
        ):
            self._conn.execute(
                "INSERT INTO key_grants (secret, holder, sealed, created_at, created_by) "
                "VALUES (?, ?, ?, ?, ?) ON CONFLICT (secret, holder) DO UPDATE SET "
                "sealed = excluded.sealed, created_at = excluded.created_at, "
                "created_by = excluded.created_by",
                (secret, holder, sealed, _now(), by),
            )

    def drop_grant(self, secret: str, holder: str, by: str) -> None:
        with self._writes.audited(
            by, "update", "key_grant", before={"secret": secret, "holder": holder}
        ) as change:
            deleted = self._conn.execute(
                "DELETE FROM key_grants WHERE secret = ? AND holder = ?", (secret, holder)
            ).rowcount
            if not deleted:
                change.nothing_changed()

    # ---- certificates ---------------------------------------------------------------------

    def _certificate(self, row: sqlite3.Row | tuple[Any, ...]) -> CertificateRow:
        return CertificateRow(
            serial=str(row[0]),
            username=str(row[1]),
            certificate=bytes(row[2]),
            sealed_private=str(row[3]),
            issued_at=_time(row[4]) or datetime.now(UTC),
            issued_by=str(row[5]),
            revoked_at=_time(row[6]),
            revocation_reason=str(row[7]) if row[7] is not None else None,
        )

    _CERT_COLUMNS = (
        "serial, username, certificate, sealed_private, issued_at, issued_by, revoked_at, "
        "revocation_reason"
    )

    def certificates(self, username: str | None = None) -> list[CertificateRow]:
        if username is None:
            rows = self._conn.execute(
                f"SELECT {self._CERT_COLUMNS} FROM signing_certificates ORDER BY issued_at"
            ).fetchall()
        else:
            rows = self._conn.execute(
                f"SELECT {self._CERT_COLUMNS} FROM signing_certificates WHERE username = ? "
                "ORDER BY issued_at",
                (username,),
            ).fetchall()
        return [self._certificate(row) for row in rows]

    def active_certificate(self, username: str) -> CertificateRow | None:
        active = [cert for cert in self.certificates(username) if cert.active]
        return active[-1] if active else None

    def add_certificate(
        self, serial: str, username: str, certificate: bytes, sealed_private: str, by: str
    ) -> None:
        with self._writes.audited(
            by, "certificate_issued", "certificate", after={"serial": serial, "for": username}
        ):
            self._conn.execute(
                "INSERT INTO signing_certificates (serial, username, certificate, sealed_private, "
                "issued_at, issued_by) VALUES (?, ?, ?, ?, ?, ?)",
                (serial, username, certificate, sealed_private, _now(), by),
            )
            self._conn.execute("DELETE FROM signing_requests WHERE username = ?", (username,))

    def revoke(self, serial: str, reason: str, by: str, at: datetime) -> None:
        with self._writes.audited(
            by, "certificate_revoked", "certificate", after={"serial": serial, "reason": reason}
        ):
            self._conn.execute(
                "UPDATE signing_certificates SET revoked_at = ?, revoked_by = ?, "
                "revocation_reason = ? WHERE serial = ? AND revoked_at IS NULL",
                (at.isoformat(), by, reason, serial),
            )

    def revocations(self) -> list[tuple[str, datetime, str]]:
        return [
            (cert.serial, cert.revoked_at, cert.revocation_reason or "unspecified")
            for cert in self.certificates()
            if cert.revoked_at is not None
        ]

    # ---- requests (a physician's key waiting for an administrator to issue its certificate) --

    def request(self, username: str) -> SigningRequestRow | None:
        row = self._conn.execute(
            "SELECT username, public_key, sealed_private, requested_at FROM signing_requests "
            "WHERE username = ?",
            (username,),
        ).fetchone()
        if row is None:
            return None
        return SigningRequestRow(
            str(row[0]), bytes(row[1]), str(row[2]), _time(row[3]) or datetime.now(UTC)
        )

    def requests(self) -> list[SigningRequestRow]:
        rows = self._conn.execute("SELECT username FROM signing_requests ORDER BY username")
        found = [self.request(str(row[0])) for row in rows.fetchall()]
        return [request for request in found if request is not None]

    def put_request(self, username: str, public_key: bytes, sealed_private: str) -> None:
        with self._writes.unaudited(_KEY_BOOKKEEPING):
            self._conn.execute(
                "INSERT INTO signing_requests (username, public_key, sealed_private, "
                "requested_at) VALUES (?, ?, ?, ?) ON CONFLICT (username) DO UPDATE SET "
                "public_key = excluded.public_key, sealed_private = excluded.sealed_private, "
                "requested_at = excluded.requested_at",
                (username, public_key, sealed_private, _now()),
            )

    # ---- signed notes ----------------------------------------------------------------------

    def signed_note(self, procedure_id: int) -> SignedNoteRow | None:
        row = self._conn.execute(
            "SELECT procedure_id, pdf, signatures, evaluation, sha256 FROM signed_notes "
            "WHERE procedure_id = ?",
            (procedure_id,),
        ).fetchone()
        if row is None:
            return None
        return SignedNoteRow(int(row[0]), bytes(row[1]), int(row[2]), str(row[3]), str(row[4]))

    def put_signed_note(
        self, procedure_id: int, pdf: bytes, signatures: int, evaluation: str, by: str
    ) -> None:
        """Store the first signed PDF of a procedure, or a longer revision of it (an addendum);
        the triggers refuse anything else. Call inside the signing transaction."""
        digest = hashlib.sha256(pdf).hexdigest()
        with self._writes.unaudited("the signed PDF of a signature or addendum audited with it"):
            self._conn.execute(
                "INSERT INTO signed_notes (procedure_id, pdf, signatures, evaluation, sha256, "
                "updated_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (procedure_id) DO UPDATE SET "
                "pdf = excluded.pdf, signatures = excluded.signatures, "
                "sha256 = excluded.sha256, updated_at = excluded.updated_at",
                (procedure_id, pdf, signatures, evaluation, digest, _now()),
            )

"""Schema version 6: the clinic's signing authority, account keys, physicians' certificates and
the signed note PDFs.

Secrets are never stored in clear: an account's private key is wrapped with a key derived from
that person's password; the authority's private key is sealed to each administrator's account key
and to the recovery passphrase; a physician's signing key is sealed to that physician's account
key. Certificates and revocations are public and append-only. A signed note is kept as the exact
PDF that was signed (with the evaluation printed on it), and it only ever grows: an addendum is an
incremental revision, so the new bytes must start with the old ones.
"""

SQL = """
CREATE TABLE signing_authority (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    certificate BLOB NOT NULL,
    created_at  TEXT NOT NULL,
    created_by  TEXT NOT NULL
) STRICT;

CREATE TABLE account_keys (
    username        TEXT PRIMARY KEY,
    public_key      BLOB NOT NULL,
    wrapped_private TEXT NOT NULL,
    created_at      TEXT NOT NULL
) STRICT;

CREATE TABLE key_grants (
    secret     TEXT NOT NULL,
    holder     TEXT NOT NULL,
    sealed     TEXT NOT NULL,
    created_at TEXT NOT NULL,
    created_by TEXT NOT NULL,
    PRIMARY KEY (secret, holder)
) STRICT;

CREATE TABLE signing_certificates (
    serial            TEXT PRIMARY KEY,
    username          TEXT NOT NULL,
    certificate       BLOB NOT NULL,
    sealed_private    TEXT NOT NULL,
    issued_at         TEXT NOT NULL,
    issued_by         TEXT NOT NULL,
    revoked_at        TEXT,
    revoked_by        TEXT,
    revocation_reason TEXT
) STRICT;

CREATE INDEX signing_certificates_user ON signing_certificates (username);

CREATE TABLE signing_requests (
    username        TEXT PRIMARY KEY,
    public_key      BLOB NOT NULL,
    sealed_private  TEXT NOT NULL,
    requested_at    TEXT NOT NULL
) STRICT;

CREATE TABLE signed_notes (
    procedure_id INTEGER PRIMARY KEY REFERENCES procedures (id),
    pdf          BLOB NOT NULL,
    signatures   INTEGER NOT NULL CHECK (signatures >= 1),
    evaluation   TEXT NOT NULL,
    sha256       TEXT NOT NULL,
    updated_at   TEXT NOT NULL
) STRICT;

CREATE TRIGGER signing_authority_frozen BEFORE UPDATE ON signing_authority
BEGIN
    SELECT RAISE(ABORT, 'the clinic signing authority cannot be replaced');
END;

CREATE TRIGGER signing_authority_kept BEFORE DELETE ON signing_authority
BEGIN
    SELECT RAISE(ABORT, 'the clinic signing authority cannot be removed');
END;

CREATE TRIGGER signing_certificates_append_only BEFORE UPDATE ON signing_certificates
WHEN NEW.serial IS NOT OLD.serial OR NEW.username IS NOT OLD.username
  OR NEW.certificate IS NOT OLD.certificate OR NEW.issued_at IS NOT OLD.issued_at
  OR NEW.sealed_private IS NOT OLD.sealed_private OR OLD.revoked_at IS NOT NULL
BEGIN
    SELECT RAISE(ABORT, 'a certificate can only be revoked, once');
END;

CREATE TRIGGER signing_certificates_kept BEFORE DELETE ON signing_certificates
BEGIN
    SELECT RAISE(ABORT, 'certificates are kept so that old signatures can be checked');
END;

CREATE TRIGGER signed_notes_grow_only BEFORE UPDATE ON signed_notes
WHEN NEW.procedure_id IS NOT OLD.procedure_id
  OR NEW.evaluation IS NOT OLD.evaluation
  OR NEW.signatures <= OLD.signatures
  OR length(NEW.pdf) <= length(OLD.pdf)
  OR substr(NEW.pdf, 1, length(OLD.pdf)) IS NOT OLD.pdf
BEGIN
    SELECT RAISE(ABORT, 'procedure is signed and cannot be changed; add an addendum instead');
END;

CREATE TRIGGER signed_notes_kept BEFORE DELETE ON signed_notes
BEGIN
    SELECT RAISE(ABORT, 'procedure is signed and cannot be deleted');
END;
"""

"""Schema version 1: patients, procedures with sites, preparations and components, addenda,
the append-only audit trail and the settings table; signed procedures frozen by triggers."""

SQL = """
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) STRICT;

CREATE TABLE patients (
    id          INTEGER PRIMARY KEY,
    mrn         TEXT NOT NULL UNIQUE,
    family_name TEXT NOT NULL,
    given_name  TEXT NOT NULL,
    birth_date  TEXT NOT NULL,
    sex         TEXT NOT NULL,
    search_name TEXT NOT NULL,
    data        TEXT NOT NULL
) STRICT;

CREATE INDEX patients_birth_date ON patients (birth_date);

CREATE TABLE procedures (
    id               INTEGER PRIMARY KEY,
    patient_id       INTEGER NOT NULL REFERENCES patients (id),
    performed_at     TEXT NOT NULL,
    performed_at_utc TEXT NOT NULL,
    status           TEXT NOT NULL CHECK (status IN ('planned', 'in_progress', 'signed')),
    payer_profile    TEXT NOT NULL,
    signed_by        TEXT,
    signed_at        TEXT,
    content_hash     TEXT,
    acknowledgements TEXT,
    header           TEXT NOT NULL
) STRICT;

CREATE INDEX procedures_patient ON procedures (patient_id);

CREATE TABLE preparations (
    id           INTEGER PRIMARY KEY,
    procedure_id INTEGER NOT NULL REFERENCES procedures (id),
    seq          INTEGER NOT NULL,
    code         TEXT NOT NULL,
    label        TEXT,
    UNIQUE (procedure_id, code)
) STRICT;

CREATE TABLE components (
    id             INTEGER PRIMARY KEY,
    preparation_id INTEGER NOT NULL REFERENCES preparations (id),
    seq            INTEGER NOT NULL,
    agent          TEXT NOT NULL,
    concentration  TEXT NOT NULL,
    volume_ml      REAL NOT NULL,
    lot            TEXT,
    expires        TEXT,
    ndc            TEXT
) STRICT;

CREATE INDEX components_preparation ON components (preparation_id);

CREATE TABLE sites (
    id                   INTEGER PRIMARY KEY,
    procedure_id         INTEGER NOT NULL REFERENCES procedures (id),
    seq                  INTEGER NOT NULL,
    removed              INTEGER NOT NULL DEFAULT 0 CHECK (removed IN (0, 1)),
    muscle               TEXT NOT NULL,
    side                 TEXT NOT NULL,
    state                TEXT NOT NULL,
    view                 TEXT,
    x                    REAL,
    y                    REAL,
    preparation          TEXT,
    volume_ml            REAL,
    twitch               TEXT,
    taut_band            INTEGER NOT NULL DEFAULT 0,
    referred_pain        INTEGER NOT NULL DEFAULT 0,
    jump_sign            INTEGER NOT NULL DEFAULT 0,
    negative_aspiration  INTEGER NOT NULL DEFAULT 0,
    trigger_points       INTEGER,
    needle_gauge         INTEGER,
    needle_length_in     REAL,
    depth_cm             REAL,
    notes                TEXT,
    injected_at          TEXT,
    UNIQUE (procedure_id, seq)
) STRICT;

CREATE TABLE addenda (
    id           INTEGER PRIMARY KEY,
    procedure_id INTEGER NOT NULL REFERENCES procedures (id),
    seq          INTEGER NOT NULL,
    author       TEXT NOT NULL,
    at           TEXT NOT NULL,
    data         TEXT NOT NULL,
    UNIQUE (procedure_id, seq)
) STRICT;

CREATE TABLE audit (
    seq          INTEGER PRIMARY KEY,
    at           TEXT NOT NULL,
    user         TEXT NOT NULL CHECK (user <> ''),
    action       TEXT NOT NULL,
    entity       TEXT NOT NULL,
    entity_id    INTEGER,
    patient_id   INTEGER,
    procedure_id INTEGER,
    before       TEXT,
    after        TEXT,
    prev_mac     TEXT NOT NULL,
    mac          TEXT NOT NULL
) STRICT;

CREATE INDEX audit_patient ON audit (patient_id);

-- Signed means frozen. A procedure becomes signed only by the signing UPDATE (status -> signed
-- with signed_by, signed_at and content_hash set, nothing else changed); after that its row and
-- the rows that hang off it can be neither updated nor deleted, and nothing can be added to it
-- except addenda. Addenda and the audit trail are insert-only.

CREATE TRIGGER procedures_insert_not_signed BEFORE INSERT ON procedures
WHEN NEW.status = 'signed' OR NEW.signed_by IS NOT NULL OR NEW.signed_at IS NOT NULL
    OR NEW.content_hash IS NOT NULL
BEGIN
    SELECT RAISE(ABORT, 'procedure is signed only by the signing update: insert it unsigned');
END;

CREATE TRIGGER procedures_signed_no_update BEFORE UPDATE ON procedures
WHEN OLD.status = 'signed'
BEGIN
    SELECT RAISE(ABORT, 'procedure is signed and cannot be changed; add an addendum instead');
END;

CREATE TRIGGER procedures_signed_no_delete BEFORE DELETE ON procedures
WHEN OLD.status = 'signed'
BEGIN
    SELECT RAISE(ABORT, 'procedure is signed and cannot be deleted');
END;

CREATE TRIGGER procedures_signing_update BEFORE UPDATE ON procedures
WHEN OLD.status <> 'signed' AND NEW.status = 'signed' AND (
    NEW.signed_by IS NULL OR NEW.signed_at IS NULL OR NEW.content_hash IS NULL
    OR NEW.patient_id IS NOT OLD.patient_id OR NEW.performed_at IS NOT OLD.performed_at
    OR NEW.performed_at_utc IS NOT OLD.performed_at_utc
    OR NEW.payer_profile IS NOT OLD.payer_profile OR NEW.header IS NOT OLD.header)
BEGIN
    SELECT RAISE(ABORT, 'procedure is signed only by the signing update: change nothing else');
END;

CREATE TRIGGER procedures_unsigned_no_signature BEFORE UPDATE ON procedures
WHEN NEW.status <> 'signed' AND (
    NEW.signed_by IS NOT NULL OR NEW.signed_at IS NOT NULL OR NEW.content_hash IS NOT NULL)
BEGIN
    SELECT RAISE(ABORT, 'procedure is signed only by the signing update: status must be signed');
END;

CREATE TRIGGER sites_signed_no_insert BEFORE INSERT ON sites
WHEN (SELECT status FROM procedures WHERE id = NEW.procedure_id) = 'signed'
BEGIN
    SELECT RAISE(ABORT, 'procedure is signed: sites cannot be added; add an addendum instead');
END;

CREATE TRIGGER sites_signed_no_update BEFORE UPDATE ON sites
WHEN (SELECT status FROM procedures WHERE id = OLD.procedure_id) = 'signed'
    OR (SELECT status FROM procedures WHERE id = NEW.procedure_id) = 'signed'
BEGIN
    SELECT RAISE(ABORT, 'procedure is signed: its sites cannot be changed');
END;

CREATE TRIGGER sites_signed_no_delete BEFORE DELETE ON sites
WHEN (SELECT status FROM procedures WHERE id = OLD.procedure_id) = 'signed'
BEGIN
    SELECT RAISE(ABORT, 'procedure is signed: its sites cannot be deleted');
END;

CREATE TRIGGER preparations_signed_no_insert BEFORE INSERT ON preparations
WHEN (SELECT status FROM procedures WHERE id = NEW.procedure_id) = 'signed'
BEGIN
    SELECT RAISE(ABORT, 'procedure is signed: preparations cannot be added');
END;

CREATE TRIGGER preparations_signed_no_update BEFORE UPDATE ON preparations
WHEN (SELECT status FROM procedures WHERE id = OLD.procedure_id) = 'signed'
    OR (SELECT status FROM procedures WHERE id = NEW.procedure_id) = 'signed'
BEGIN
    SELECT RAISE(ABORT, 'procedure is signed: its preparations cannot be changed');
END;

CREATE TRIGGER preparations_signed_no_delete BEFORE DELETE ON preparations
WHEN (SELECT status FROM procedures WHERE id = OLD.procedure_id) = 'signed'
BEGIN
    SELECT RAISE(ABORT, 'procedure is signed: its preparations cannot be deleted');
END;

CREATE TRIGGER components_signed_no_insert BEFORE INSERT ON components
WHEN (SELECT p.status FROM procedures p JOIN preparations r ON r.procedure_id = p.id
      WHERE r.id = NEW.preparation_id) = 'signed'
BEGIN
    SELECT RAISE(ABORT, 'procedure is signed: components cannot be added');
END;

CREATE TRIGGER components_signed_no_update BEFORE UPDATE ON components
WHEN (SELECT p.status FROM procedures p JOIN preparations r ON r.procedure_id = p.id
      WHERE r.id = OLD.preparation_id) = 'signed'
    OR (SELECT p.status FROM procedures p JOIN preparations r ON r.procedure_id = p.id
      WHERE r.id = NEW.preparation_id) = 'signed'
BEGIN
    SELECT RAISE(ABORT, 'procedure is signed: its components cannot be changed');
END;

CREATE TRIGGER components_signed_no_delete BEFORE DELETE ON components
WHEN (SELECT p.status FROM procedures p JOIN preparations r ON r.procedure_id = p.id
      WHERE r.id = OLD.preparation_id) = 'signed'
BEGIN
    SELECT RAISE(ABORT, 'procedure is signed: its components cannot be deleted');
END;

CREATE TRIGGER addenda_only_signed BEFORE INSERT ON addenda
WHEN (SELECT status FROM procedures WHERE id = NEW.procedure_id) IS NOT 'signed'
BEGIN
    SELECT RAISE(ABORT, 'addenda: only a signed procedure can have addenda');
END;

CREATE TRIGGER addenda_no_update BEFORE UPDATE ON addenda
BEGIN
    SELECT RAISE(ABORT, 'addenda are insert-only (the procedure is signed)');
END;

CREATE TRIGGER addenda_no_delete BEFORE DELETE ON addenda
BEGIN
    SELECT RAISE(ABORT, 'addenda are insert-only (the procedure is signed)');
END;

CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
BEGIN
    SELECT RAISE(ABORT, 'audit log is append-only');
END;

CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
BEGIN
    SELECT RAISE(ABORT, 'audit log is append-only');
END;
"""

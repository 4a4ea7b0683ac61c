"""Follow-up outcomes and voided procedures (issue 12).

`follow_ups`: the relief after a visit measured later (date, % relief, duration, scale, functional
change). Append-only: a correction is a newer entry, and the newest one counts. Not frozen with a
signed procedure: the outcome of a signed visit is by nature recorded after it was signed.

`procedure_voids`: a procedure opened by mistake, voided with a reason. The row stays (lists hide
it, the rules and the history leave it out). A signed procedure is never voided here: its signed
addendum marks it entered in error instead.
"""

SQL = """
CREATE TABLE follow_ups (
    id           INTEGER PRIMARY KEY,
    procedure_id INTEGER NOT NULL REFERENCES procedures (id),
    data         TEXT NOT NULL,
    recorded_at  TEXT NOT NULL,
    recorded_by  TEXT NOT NULL
) STRICT;

CREATE INDEX follow_ups_procedure ON follow_ups (procedure_id, id);

CREATE TRIGGER follow_ups_no_update BEFORE UPDATE ON follow_ups
BEGIN
    SELECT RAISE(ABORT, 'follow-up entries are kept; record a newer one instead');
END;

CREATE TRIGGER follow_ups_no_delete BEFORE DELETE ON follow_ups
BEGIN
    SELECT RAISE(ABORT, 'follow-up entries are kept; record a newer one instead');
END;

CREATE TABLE procedure_voids (
    procedure_id INTEGER PRIMARY KEY REFERENCES procedures (id),
    reason       TEXT NOT NULL CHECK (reason <> ''),
    voided_by    TEXT NOT NULL,
    voided_at    TEXT NOT NULL
) STRICT;

CREATE TRIGGER procedure_voids_signed_no_insert BEFORE INSERT ON procedure_voids
WHEN (SELECT status FROM procedures WHERE id = NEW.procedure_id) = 'signed'
BEGIN
    SELECT RAISE(ABORT, 'procedure is signed; mark it entered in error with a signed addendum');
END;

CREATE TRIGGER procedure_voids_no_update BEFORE UPDATE ON procedure_voids
BEGIN
    SELECT RAISE(ABORT, 'a void is kept as recorded');
END;

CREATE TRIGGER procedure_voids_no_delete BEFORE DELETE ON procedure_voids
BEGIN
    SELECT RAISE(ABORT, 'a void is kept as recorded');
END;
"""

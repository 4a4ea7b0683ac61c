"""Schema version 4: the earlier TPI sessions a procedure document reports (`prior_procedures`),
kept with the procedure it came with, so that importing a document and exporting it gives the
same document back, and the rules see sessions given elsewhere. Frozen with a signed procedure."""

SQL = """
CREATE TABLE reported_history (
    procedure_id INTEGER PRIMARY KEY REFERENCES procedures (id),
    data         TEXT NOT NULL
) STRICT;

CREATE TRIGGER reported_history_signed_no_insert BEFORE INSERT ON reported_history
WHEN (SELECT status FROM procedures WHERE id = NEW.procedure_id) = 'signed'
BEGIN
    SELECT RAISE(ABORT, 'procedure is signed and cannot be changed; add an addendum instead');
END;

CREATE TRIGGER reported_history_signed_no_update BEFORE UPDATE ON reported_history
WHEN (SELECT status FROM procedures WHERE id = OLD.procedure_id) = 'signed'
BEGIN
    SELECT RAISE(ABORT, 'procedure is signed and cannot be changed; add an addendum instead');
END;

CREATE TRIGGER reported_history_signed_no_delete BEFORE DELETE ON reported_history
WHEN (SELECT status FROM procedures WHERE id = OLD.procedure_id) = 'signed'
BEGIN
    SELECT RAISE(ABORT, 'procedure is signed and cannot be deleted');
END;
"""

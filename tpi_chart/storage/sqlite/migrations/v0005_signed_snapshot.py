"""Schema version 5: the patient and the earlier sessions as they were when a procedure was signed.

The signature's content hash covers the patient's identity and data (name, MRN, birth date,
weight, allergies...). Read from the patients table, a later correction of the patient changed a
signed note's content and broke its hash. The earlier sessions (`prior_procedures`, what the
payer rules and their acknowledged warnings were based on) were recomputed from the other
procedures, so charting a missed earlier visit changed a signed note's warnings. Both are kept
from the signing transaction on and, like the rest of a signed procedure, never change.

Procedures signed before this version get the patient as stored now (the best that is known) and
no frozen sessions (`prior_procedures` NULL: computed as before).
"""

SQL = """
CREATE TABLE signed_snapshots (
    procedure_id     INTEGER PRIMARY KEY REFERENCES procedures (id),
    patient          TEXT NOT NULL,
    prior_procedures TEXT
) STRICT;

INSERT INTO signed_snapshots (procedure_id, patient)
SELECT p.id, pa.data FROM procedures p JOIN patients pa ON pa.id = p.patient_id
WHERE p.status = 'signed';

CREATE TRIGGER signed_snapshots_signed_no_insert BEFORE INSERT ON signed_snapshots
WHEN (SELECT status FROM procedures WHERE id = NEW.procedure_id) = 'signed'
BEGIN
    SELECT RAISE(ABORT, 'procedure is signed and cannot be changed; add an addendum instead');
END;

CREATE TRIGGER signed_snapshots_signed_no_update BEFORE UPDATE ON signed_snapshots
WHEN (SELECT status FROM procedures WHERE id = OLD.procedure_id) = 'signed'
BEGIN
    SELECT RAISE(ABORT, 'procedure is signed and cannot be changed; add an addendum instead');
END;

CREATE TRIGGER signed_snapshots_signed_no_delete BEFORE DELETE ON signed_snapshots
WHEN (SELECT status FROM procedures WHERE id = OLD.procedure_id) = 'signed'
BEGIN
    SELECT RAISE(ABORT, 'procedure is signed and cannot be deleted');
END;
"""

"""Schema step v0016: the patient's pain drawing (issue 20, 3).

One row per brush stroke (`data`: the stroke as JSON: view, intensity, width, points), so drawing
a stroke is one small audited insert, and undo removes it softly (`removed`, as for sites) and
brings back the same row. The drawing is part of the procedure a signature covers (the note
prints it): from signing on, and for a record signed elsewhere, its strokes are frozen like the
sites.
"""

SQL = """
CREATE TABLE pain_strokes (
    id           INTEGER PRIMARY KEY,
    procedure_id INTEGER NOT NULL REFERENCES procedures (id),
    seq          INTEGER NOT NULL,
    data         TEXT NOT NULL,
    removed      INTEGER NOT NULL DEFAULT 0 CHECK (removed IN (0, 1)),
    UNIQUE (procedure_id, seq)
) STRICT;

CREATE TRIGGER pain_strokes_signed_no_insert BEFORE INSERT ON pain_strokes
WHEN (SELECT status FROM procedures WHERE id = NEW.procedure_id) = 'signed'
    OR EXISTS (SELECT 1 FROM external_records WHERE procedure_id = NEW.procedure_id)
BEGIN
    SELECT RAISE(ABORT, 'procedure is signed: its pain drawing cannot be changed');
END;

CREATE TRIGGER pain_strokes_signed_no_update BEFORE UPDATE ON pain_strokes
WHEN (SELECT status FROM procedures WHERE id = OLD.procedure_id) = 'signed'
    OR (SELECT status FROM procedures WHERE id = NEW.procedure_id) = 'signed'
    OR EXISTS (SELECT 1 FROM external_records WHERE procedure_id = OLD.procedure_id)
BEGIN
    SELECT RAISE(ABORT, 'procedure is signed: its pain drawing cannot be changed');
END;

CREATE TRIGGER pain_strokes_signed_no_delete BEFORE DELETE ON pain_strokes
WHEN (SELECT status FROM procedures WHERE id = OLD.procedure_id) = 'signed'
    OR EXISTS (SELECT 1 FROM external_records WHERE procedure_id = OLD.procedure_id)
BEGIN
    SELECT RAISE(ABORT, 'procedure is signed: its pain drawing cannot be changed');
END;
"""

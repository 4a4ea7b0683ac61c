"""Schema step: records signed elsewhere (issue 10, 6: import never creates a signature).

A document that arrives signed is stored read-only as an *external* record: the procedure row
(status `in_progress`, never `signed`: no user of this clinic signed it) and one row here with
the signature it carried (the signer's name as text, the time and hash it stated, its
acknowledgements) and its addenda, as JSON. From that row on the procedure, its sites,
preparations and components are frozen like a signed one, and it can never be signed here.

Also: each sign-in attempt keeps the machine's monotonic clock reading and boot id beside the
wall-clock time, so the back-off and the lockout measure elapsed time with a clock that cannot be
set (issue 10, 5: "login throttling and lockout hold when the clock moves").
"""

SQL = """
ALTER TABLE login_attempts ADD COLUMN monotonic REAL;
ALTER TABLE login_attempts ADD COLUMN boot TEXT;

CREATE TABLE external_records (
    procedure_id INTEGER PRIMARY KEY REFERENCES procedures (id),
    data         TEXT NOT NULL
) STRICT;

CREATE TRIGGER external_records_no_update BEFORE UPDATE ON external_records
BEGIN
    SELECT RAISE(ABORT, 'procedure is signed elsewhere: imported read-only, it cannot be changed');
END;

CREATE TRIGGER external_records_no_delete BEFORE DELETE ON external_records
BEGIN
    SELECT RAISE(ABORT, 'procedure is signed elsewhere: imported read-only, it cannot be changed');
END;

CREATE TRIGGER procedures_external_no_update BEFORE UPDATE ON procedures
WHEN EXISTS (SELECT 1 FROM external_records WHERE procedure_id = OLD.id)
BEGIN
    SELECT RAISE(ABORT, 'procedure is signed elsewhere: imported read-only, it cannot be changed');
END;

CREATE TRIGGER procedures_external_no_delete BEFORE DELETE ON procedures
WHEN EXISTS (SELECT 1 FROM external_records WHERE procedure_id = OLD.id)
BEGIN
    SELECT RAISE(ABORT, 'procedure is signed elsewhere: imported read-only, it cannot be changed');
END;

CREATE TRIGGER sites_external_no_insert BEFORE INSERT ON sites
WHEN EXISTS (SELECT 1 FROM external_records WHERE procedure_id = NEW.procedure_id)
BEGIN
    SELECT RAISE(ABORT, 'procedure is signed elsewhere: imported read-only, it cannot be changed');
END;

CREATE TRIGGER sites_external_no_update BEFORE UPDATE ON sites
WHEN EXISTS (SELECT 1 FROM external_records WHERE procedure_id = OLD.procedure_id)
    OR EXISTS (SELECT 1 FROM external_records WHERE procedure_id = NEW.procedure_id)
BEGIN
    SELECT RAISE(ABORT, 'procedure is signed elsewhere: imported read-only, it cannot be changed');
END;

CREATE TRIGGER sites_external_no_delete BEFORE DELETE ON sites
WHEN EXISTS (SELECT 1 FROM external_records WHERE procedure_id = OLD.procedure_id)
BEGIN
    SELECT RAISE(ABORT, 'procedure is signed elsewhere: imported read-only, it cannot be changed');
END;

CREATE TRIGGER preparations_external_no_insert BEFORE INSERT ON preparations
WHEN EXISTS (SELECT 1 FROM external_records WHERE procedure_id = NEW.procedure_id)
BEGIN
    SELECT RAISE(ABORT, 'procedure is signed elsewhere: imported read-only, it cannot be changed');
END;

CREATE TRIGGER preparations_external_no_update BEFORE UPDATE ON preparations
WHEN EXISTS (SELECT 1 FROM external_records WHERE procedure_id = OLD.procedure_id)
    OR EXISTS (SELECT 1 FROM external_records WHERE procedure_id = NEW.procedure_id)
BEGIN
    SELECT RAISE(ABORT, 'procedure is signed elsewhere: imported read-only, it cannot be changed');
END;

CREATE TRIGGER preparations_external_no_delete BEFORE DELETE ON preparations
WHEN EXISTS (SELECT 1 FROM external_records WHERE procedure_id = OLD.procedure_id)
BEGIN
    SELECT RAISE(ABORT, 'procedure is signed elsewhere: imported read-only, it cannot be changed');
END;

CREATE TRIGGER components_external_no_insert BEFORE INSERT ON components
WHEN EXISTS (SELECT 1 FROM external_records e JOIN preparations p
             ON p.procedure_id = e.procedure_id WHERE p.id = NEW.preparation_id)
BEGIN
    SELECT RAISE(ABORT, 'procedure is signed elsewhere: imported read-only, it cannot be changed');
END;

CREATE TRIGGER components_external_no_update BEFORE UPDATE ON components
WHEN EXISTS (SELECT 1 FROM external_records e JOIN preparations p
             ON p.procedure_id = e.procedure_id WHERE p.id = OLD.preparation_id)
    OR EXISTS (SELECT 1 FROM external_records e JOIN preparations p
             ON p.procedure_id = e.procedure_id WHERE p.id = NEW.preparation_id)
BEGIN
    SELECT RAISE(ABORT, 'procedure is signed elsewhere: imported read-only, it cannot be changed');
END;

CREATE TRIGGER components_external_no_delete BEFORE DELETE ON components
WHEN EXISTS (SELECT 1 FROM external_records e JOIN preparations p
             ON p.procedure_id = e.procedure_id WHERE p.id = OLD.preparation_id)
BEGIN
    SELECT RAISE(ABORT, 'procedure is signed elsewhere: imported read-only, it cannot be changed');
END;

CREATE TRIGGER addenda_external_no_insert BEFORE INSERT ON addenda
WHEN EXISTS (SELECT 1 FROM external_records WHERE procedure_id = NEW.procedure_id)
BEGIN
    SELECT RAISE(ABORT, 'procedure is signed elsewhere: imported read-only, it cannot be changed');
END;
"""

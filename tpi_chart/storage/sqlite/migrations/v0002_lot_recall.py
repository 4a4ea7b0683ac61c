"""Schema version 2: indexes for lot recall ("which patients got lot X") and for each patient's
procedures in date order."""

SQL = """
CREATE INDEX components_lot ON components (lot COLLATE NOCASE) WHERE lot IS NOT NULL;

CREATE INDEX procedures_patient_performed ON procedures (patient_id, performed_at_utc);

CREATE INDEX sites_procedure ON sites (procedure_id, seq);
"""

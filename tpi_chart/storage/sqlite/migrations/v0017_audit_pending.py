"""Audit events that happen before anyone has unlocked the clinic's audit key (issue 11 §5).

The audit key is sealed to each account and opens only at a sign-in, but a failed sign-in (or a
restore on a new computer before anyone signs in) must still be recorded. Such an event is kept
here, unchained, and moved into the HMAC chain, with its original time, by the next sign-in that
unlocks the key. Only sign-in bookkeeping, refusals and restores may wait here (see
`tpi_chart.storage.audit.PENDING_ACTIONS`); every other change needs the key.
"""

SQL = """
CREATE TABLE audit_pending (
    id           INTEGER PRIMARY KEY,
    at           TEXT NOT NULL,
    user         TEXT NOT NULL,
    action       TEXT NOT NULL,
    entity       TEXT NOT NULL,
    entity_id    INTEGER,
    patient_id   INTEGER,
    procedure_id INTEGER,
    before       TEXT,
    after        TEXT
) STRICT;
"""

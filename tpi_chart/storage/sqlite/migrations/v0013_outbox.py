"""Outbox: the files a signed note (or an addendum) sends to the export folder, one row per
format and event. A row stays `pending` until its file is written; a failed write keeps the
row pending with its error, so the window can show it and a later retry can send it."""

SQL = """
CREATE TABLE outbox (
    id           INTEGER PRIMARY KEY,
    procedure_id INTEGER NOT NULL REFERENCES procedures (id),
    event        TEXT NOT NULL,
    format       TEXT NOT NULL CHECK (format IN ('pdf', 'json', 'fhir', 'hl7')),
    status       TEXT NOT NULL CHECK (status IN ('pending', 'sent')),
    attempts     INTEGER NOT NULL DEFAULT 0,
    last_error   TEXT,
    queued_at    TEXT NOT NULL,
    sent_at      TEXT,
    files        TEXT,
    UNIQUE (procedure_id, event, format)
) STRICT;

CREATE INDEX outbox_pending ON outbox (status) WHERE status = 'pending';
"""

"""Indexes for a clinic's tenth year (issue 15): the signed notes of a date range by their date
of service (the batch export and the reports read this instead of every patient's list)."""

SQL = """
CREATE INDEX procedures_signed_service_date
    ON procedures (substr(performed_at, 1, 10), performed_at_utc)
    WHERE status = 'signed';
"""

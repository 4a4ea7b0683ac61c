"""Row versions: every patient, procedure and site row carries a version, raised by each change.

A save names the version its copy was read at; a row whose version moved on since (another
window, command or workstation saved in between) refuses the save instead of overwriting it
silently (optimistic concurrency; reliability.md R9). Existing rows start at version 1.
"""

SQL = """
ALTER TABLE patients ADD COLUMN version INTEGER NOT NULL DEFAULT 1;
ALTER TABLE procedures ADD COLUMN version INTEGER NOT NULL DEFAULT 1;
ALTER TABLE sites ADD COLUMN version INTEGER NOT NULL DEFAULT 1;
"""

"""Sessions (issue 18): who is signed in where. One row per sign-in at a workstation (its host
name), kept after it ends: signed out, locked and unlocked, or ended by an administrator. An
ended session stays ended; the window whose session an administrator ended is locked at its next
save. The same table on a PostgreSQL server (postgres/migrations/v0003_sessions.py) lists every
room's sessions in one place.
"""

SQL = """
CREATE TABLE sessions (
    id           INTEGER PRIMARY KEY,
    username     TEXT NOT NULL CHECK (username <> ''),
    workstation  TEXT NOT NULL,
    started_at   TEXT NOT NULL,
    last_seen_at TEXT NOT NULL,
    state        TEXT NOT NULL CHECK (state IN ('active', 'locked')),
    ended_at     TEXT,
    ended_by     TEXT,
    end_reason   TEXT
);
CREATE INDEX sessions_open ON sessions (username) WHERE ended_at IS NULL;
CREATE TRIGGER sessions_ended_stay_ended BEFORE UPDATE ON sessions
WHEN OLD.ended_at IS NOT NULL
BEGIN
    SELECT RAISE(ABORT, 'an ended session stays ended');
END;
CREATE TRIGGER sessions_kept BEFORE DELETE ON sessions
BEGIN
    SELECT RAISE(ABORT, 'sessions are kept');
END;
"""

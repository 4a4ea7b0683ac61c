"""Schema version 3: named user accounts (roles, active flag, Argon2id password hash) and the
login attempts that drive throttling and lockout (reliability.md §3.1, S1, S3).

Accounts are deactivated, never deleted, so every audit row keeps naming a real account. The hash
column accepts only Argon2id PHC strings: a plain-text password cannot be stored by mistake.
"""

SQL = """
CREATE TABLE users (
    id                  INTEGER PRIMARY KEY,
    username            TEXT NOT NULL UNIQUE COLLATE NOCASE CHECK (username <> ''),
    display_name        TEXT NOT NULL CHECK (display_name <> ''),
    roles               TEXT NOT NULL CHECK (roles <> ''),
    active              INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
    password_hash       TEXT NOT NULL CHECK (substr(password_hash, 1, 10) = '$argon2id$'),
    password_changed_at TEXT NOT NULL,
    created_at          TEXT NOT NULL,
    created_by          TEXT NOT NULL
) STRICT;

CREATE TRIGGER users_no_delete BEFORE DELETE ON users
BEGIN
    SELECT RAISE(ABORT, 'user accounts are deactivated, never deleted');
END;

CREATE TABLE login_attempts (
    id       INTEGER PRIMARY KEY,
    username TEXT NOT NULL COLLATE NOCASE,
    at       TEXT NOT NULL,
    success  INTEGER NOT NULL CHECK (success IN (0, 1))
) STRICT;

CREATE INDEX login_attempts_user_at ON login_attempts (username, at);
"""

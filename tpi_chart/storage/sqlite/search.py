"""Patient search in SQL: every word must match part of the folded name, part of the MRN, or
the start of the date of birth (`tpi_chart.storage.search` says what matches)."""

from __future__ import annotations

import sqlite3
from typing import Any

from tpi_chart.storage.search import fold, iso_date


def like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def search_patients(conn: sqlite3.Connection, text: str, limit: int) -> list[sqlite3.Row]:
    """The `patients` rows matching every word of `text` (1974-05-12, 1974-05, or as written
    on US forms, 5/12/1974 for a date of birth), by name, date of birth, id."""
    clauses: list[str] = []
    params: list[Any] = []
    for token in text.split():
        folded = like_escape(fold(token))
        clauses.append(
            "(search_name LIKE ? ESCAPE '\\' OR lower(mrn) LIKE ? ESCAPE '\\'"
            " OR birth_date LIKE ? ESCAPE '\\')"
        )
        birth = like_escape(iso_date(token))
        # lower(): LIKE ignores ASCII case on SQLite, not on PostgreSQL.
        params += [f"%{folded}%", f"%{like_escape(token.lower())}%", f"{birth}%"]
    where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
    return conn.execute(
        f"SELECT * FROM patients {where} ORDER BY search_name, birth_date, id LIMIT ?",
        (*params, limit),
    ).fetchall()

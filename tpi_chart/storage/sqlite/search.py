"""Patient search in SQL: every word must match part of the folded name, part of the MRN, or
the start of the date of birth (`tpi_chart.storage.search` says what matches), narrowed by the
trigram index of v0018 (issue 15) so that a clinic's tenth year is not read whole.

The repository keeps the index in step (`index_patient` / `unindex_patient`, inside its audited
write): the connection runs with `trusted_schema = OFF`, so a trigger may not write it."""

from __future__ import annotations

import re
import sqlite3
from typing import Any

from tpi_chart.storage.search import fold, iso_date


def like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


_ORDER = "ORDER BY search_name, birth_date, id LIMIT ?"
#: Up to this many rows found by the index are read and sorted; more than this, and the
#: patients are read in name order (by their index) until the list is full, which then stops
#: early because the matches are that common.
_FEW = 2000
#: What the start of an ISO date of birth can look like ("1974", "1974-05-1").
_DATE_START = re.compile(r"^[0-9][0-9-]*$")


def _next_prefix(prefix: str) -> str:
    """The smallest text after every text that starts with `prefix` (for a range on an index)."""
    return prefix[:-1] + chr(ord(prefix[-1]) + 1)


def _phrase(text: str) -> str:
    """`text` as an FTS5 string: with the trigram tokenizer it matches wherever it occurs."""
    return '"' + text.replace('"', '""') + '"'


def search_patients(
    conn: sqlite3.Connection, text: str, limit: int, *, indexed: bool = True
) -> list[sqlite3.Row]:
    """The `patients` rows matching every word of `text`, in name order. A word matches part of
    the folded name, part of the MRN, or the start of the date of birth (1974-05-12, 1974-05,
    or as written on US forms, 5/12/1974).

    Tokens of three characters or more are looked up in the trigram index (the start of the
    date of birth by its own index). When that finds few patients, only they are read; when it
    finds many, the patients are read in name order until the list is full, which stops early
    since the matches are common. Either way every row is checked against every token with the
    same LIKE as a scan, so the index only narrows what is read, never what is found. Without
    such a token (one or two letters only) every patient may be read. `indexed` False: there
    is no FTS5 index (a server clinic): the plain query runs, which PostgreSQL serves from its
    pg_trgm index (postgres migrations v0004_patient_search)."""
    tokens = [(fold(word), word, iso_date(word)) for word in text.split()]
    clauses: list[str] = []
    params: list[Any] = []
    for folded, typed, birth in tokens:
        clauses.append(
            "(search_name LIKE ? ESCAPE '\\' OR lower(mrn) LIKE ? ESCAPE '\\'"
            " OR birth_date LIKE ? ESCAPE '\\')"
        )
        params += [
            f"%{like_escape(folded)}%",
            # lower(): LIKE ignores ASCII case on SQLite, not on PostgreSQL.
            f"%{like_escape(typed.lower())}%",
            f"{like_escape(birth)}%",
        ]
    if not clauses:
        return conn.execute(f"SELECT * FROM patients {_ORDER}", (limit,)).fetchall()
    where = " AND ".join(clauses)
    words_indexed = [token for token in tokens if min(len(token[0]), len(token[1])) >= 3]
    if indexed and words_indexed and _has_search_index(conn):
        # Words that cannot start a date of birth are matched together inside the index (one
        # AND of their lists); a word that can also finds the patients born on that date.
        words = [
            f"(search_name : {_phrase(folded)} OR mrn : {_phrase(typed)})"
            for folded, typed, birth in words_indexed
            if not _DATE_START.match(birth)
        ]
        found: list[str] = []
        narrow: list[Any] = []
        if words:
            found.append("SELECT rowid FROM patient_search WHERE patient_search MATCH ?")
            narrow.append(" AND ".join(words))
        for folded, typed, birth in words_indexed:
            if _DATE_START.match(birth):
                found.append(
                    "SELECT rowid FROM patient_search WHERE patient_search MATCH ?"
                    " UNION SELECT id FROM patients WHERE birth_date >= ? AND birth_date < ?"
                )
                match = f"search_name : {_phrase(folded)} OR mrn : {_phrase(typed)}"
                narrow += [match, birth, _next_prefix(birth)]
        candidates = " INTERSECT ".join(found)
        (count,) = conn.execute(
            f"SELECT count(*) FROM ({candidates} LIMIT {_FEW + 1})", narrow
        ).fetchone()
        if count <= _FEW:
            return conn.execute(
                f"SELECT * FROM patients WHERE id IN ({candidates}) AND {where} {_ORDER}",
                (*narrow, *params, limit),
            ).fetchall()
    return conn.execute(
        f"SELECT * FROM patients WHERE {where} {_ORDER}",
        (*params, limit),
    ).fetchall()


def _has_search_index(conn: sqlite3.Connection) -> bool:
    # A database from before v0018 opened read-only (not migrated) has no index: it is scanned.
    row = conn.execute(
        "SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = 'patient_search'"
    ).fetchone()
    return row is not None


def index_patient(conn: sqlite3.Connection, patient_id: int) -> None:
    """Add the patient's stored name and MRN to the search index (after an insert or update)."""
    conn.execute(
        "INSERT INTO patient_search (rowid, search_name, mrn)"
        " SELECT id, search_name, mrn FROM patients WHERE id = ?",
        (patient_id,),
    )


def unindex_patient(conn: sqlite3.Connection, patient_id: int) -> None:
    """Take the patient's stored name and MRN out of the search index (before an update): an
    external-content index must be told the exact text it indexed."""
    conn.execute(
        "INSERT INTO patient_search (patient_search, rowid, search_name, mrn)"
        " SELECT 'delete', id, search_name, mrn FROM patients WHERE id = ?",
        (patient_id,),
    )

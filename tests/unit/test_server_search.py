"""Patient search on the server uses its trigram index (issue 18; postgres migrations
v0004_patient_search): on a clinic of a few thousand patients, the query the repository runs is
planned as index scans (no sequential scan of `patients`), and finds what a full scan finds."""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Any

import psycopg

from tpi_chart.storage.postgres.connection import PgConnection, to_pg
from tpi_chart.storage.postgres.store import open_postgres_store
from tpi_chart.storage.search import fold, search_name

FAMILIES = ("García", "Nguyễn", "Okafor", "Smith", "Johnson", "Łukasz", "Brown", "Müller")
GIVEN = ("María", "Tom", "Ana", "Lee", "Kim", "Øystein", "Sam", "Jo")
SYLLABLES = ("ka", "lo", "mi", "ra", "te", "su", "na", "vo", "pe", "gu", "bri", "sto", "dan")
PATIENTS = 3000


def _clinic(url: str) -> None:
    """PATIENTS patients, written straight into the table (the search reads only the table)."""
    rng = random.Random(18)
    rows = []
    for number in range(PATIENTS):
        # Mostly made-up names, each rare, as a clinic's are; every 400th a known one.
        made_up = "".join(rng.choice(SYLLABLES) for _ in range(3)).capitalize()
        family = FAMILIES[number // 400] if number % 400 == 7 else made_up
        given = rng.choice(GIVEN)
        birth = f"{rng.randint(1930, 2010)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
        data = (
            f'{{"mrn": "M{number:05d}", "family_name": "{family}", "given_name": "{given}",'
            f' "birth_date": "{birth}", "sex": "unknown"}}'
        )
        rows.append(
            (f"M{number:05d}", family, given, birth, "unknown", search_name(family, given), data)
        )
    with psycopg.connect(url) as conn:
        with conn.cursor() as cursor:
            cursor.executemany(
                "INSERT INTO patients (mrn, family_name, given_name, birth_date, sex,"
                " search_name, data) VALUES (%s, %s, %s, %s, %s, %s, %s)",
                rows,
            )
        conn.execute("ANALYZE patients")


def _statements(pg: PgConnection, run: Any) -> list[tuple[str, Sequence[Any]]]:
    """The statements `run()` sends through the store's connection."""
    seen: list[tuple[str, Sequence[Any]]] = []
    original = pg.execute

    def recording(sql: str, params: Sequence[Any] = ()) -> Any:
        seen.append((sql, params))
        return original(sql, params)

    pg.execute = recording  # type: ignore[method-assign]
    try:
        run()
    finally:
        pg.execute = original  # type: ignore[method-assign]
    return seen


def test_patient_search_on_the_server_is_an_index_scan(pg_url: str) -> None:
    _clinic(pg_url)
    store = open_postgres_store(pg_url, key=bytes(32))
    try:
        for text in ("garc", "nguyen", "M01234", "okafor", "müll", "1988-07"):
            found: list[Any] = []

            def search(text: str = text, found: list[Any] = found) -> None:
                found.extend(store.patients.search(text, 50))

            (statement,) = [s for s in _statements(store.pg, search) if "FROM patients" in s[0]]
            sql, params = statement
            with psycopg.connect(pg_url) as conn:
                plan = "\n".join(
                    str(row[0])
                    for row in conn.execute(f"EXPLAIN {to_pg(sql)}", tuple(params)).fetchall()
                )
                # What a full scan finds (the index disallowed), in the same order.
                conn.execute("SET enable_bitmapscan = off")
                conn.execute("SET enable_indexscan = off")
                scanned = [
                    int(row[0]) for row in conn.execute(to_pg(sql), tuple(params)).fetchall()
                ]
            assert "patients_search_trgm" in plan, plan
            assert "Seq Scan on patients" not in plan, plan
            assert [record.id for record in found] == scanned
            assert found, text
            words = [fold(word) for word in text.split()]
            for record in found:
                patient = record.patient
                haystack = (
                    f"{search_name(patient.family_name, patient.given_name)} "
                    f"{patient.mrn.lower()} {patient.birth_date.isoformat()}"
                )
                assert all(word in haystack for word in words)
    finally:
        store.close()

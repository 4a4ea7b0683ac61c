"""A clinic's tenth year for the benchmarks: the demo clinic plus N patients with ten visits of
ten sites each (the last patient 126 visits), every visit but each patient's last one signed
with its real content hash, and an audit row for every patient and procedure created and
every signature, chained with the clinic's key, so `audit verify` and the open-time checks pass.

Fast because it is a bulk load, not the app's write path: the rows go in with `executemany` and
INSERT … SELECT in a few big transactions with the journal off (a generated file is rebuilt,
never trusted, until it is finished); the indexes and protection triggers of the big tables are
dropped first and created again from their own SQL afterwards (one sort per index instead of a
B-tree insert per row, no trigger per row); the content hashes and the HMAC chain are computed
in Python. At the end the file is back in WAL mode and is checked by opening it through the app.

Cached by schema version, generator version and scale under `$TPI_CHART_BENCH_CACHE`
(default `~/.cache/tpi-chart-bench/`), outside the repository; delete the folder to rebuild.

    .venv/bin/python benchmarks/large_clinic.py --patients 50000
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import sqlite3
import sys
import time
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pydantic import TypeAdapter  # noqa: E402

from tpi_chart.domain.canonical import canonical_json  # noqa: E402
from tpi_chart.domain.models import Patient, ProcedureDocument, Site  # noqa: E402
from tpi_chart.services.access import SYSTEM_SETUP  # noqa: E402
from tpi_chart.services.context import build_services, open_services  # noqa: E402
from tpi_chart.storage import audit as audit_log  # noqa: E402
from tpi_chart.storage.sqlite.migrations import SCHEMA_VERSION  # noqa: E402

GENERATOR_VERSION = 3
CACHE = Path(os.environ.get("TPI_CHART_BENCH_CACHE", Path.home() / ".cache" / "tpi-chart-bench"))
REFERENCE = ROOT / "tests" / "examples" / "reference-visit.json"
VISITS = 10
BUSIEST = 126  # the visits of the last patient: ten years of a patient seen monthly
SITES = 10
CHUNK = 5000  # patients per transaction
BULK_TABLES = ("patients", "procedures", "sites", "preparations", "components", "audit")
FAMILY = ["Smith", "García", "Nguyễn", "Ødegård", "Khan", "Müller", "Okafor", "Rossi", "Kim"]
ZONE = timezone(timedelta(hours=-7))
_DATETIME = TypeAdapter(datetime)
_MARK = "\x00performed_at\x00"


def cached_clinic(patients: int) -> tuple[Path, Path]:
    """(database, key folder) of the clinic with `patients` generated patients, built if the
    cache has none for this schema and generator version."""
    folder = CACHE / f"clinic-s{SCHEMA_VERSION}-g{GENERATOR_VERSION}-p{patients}"
    db, keys = folder / "clinic.db", folder / "keys"
    if (folder / "done").exists():
        return db, keys
    if folder.exists():
        for path in sorted(folder.rglob("*"), reverse=True):
            path.unlink() if path.is_file() else path.rmdir()
    keys.mkdir(parents=True)
    began = time.perf_counter()
    generate(db, keys, patients)
    (folder / "done").write_text(f"{time.perf_counter() - began:.1f} s\n")
    return db, keys


def _template(services: Any) -> tuple[int, dict[str, Any]]:
    """A ten-site visit stored through the services (so every column is what the app writes);
    returns its id and its procedure as the content hash sees it."""
    reference = ProcedureDocument.model_validate_json(REFERENCE.read_text())
    sites = list(reference.procedure.sites)
    while len(sites) < SITES:
        sites.append(Site.model_validate(sites[len(sites) % 6].model_dump()))
    procedure = reference.procedure.model_copy(
        update={"signature": None, "status": "in_progress", "sites": tuple(sites[:SITES])}
    )
    patient = services.patients.create(reference.patient.model_copy(update={"mrn": "TEMPLATE-0"}))
    stored = services.charting.create(patient.id, procedure)
    content = services.charting.get(stored.id).procedure.model_dump(
        mode="json", exclude_defaults=True
    )
    for key in ("signature", "external_signature", "addenda", "status"):
        content.pop(key, None)
    return stored.id, content


def _drop_schema_objects(conn: sqlite3.Connection) -> list[str]:
    """Drop the indexes and triggers of the bulk-loaded tables; returns their SQL to run again
    once the rows are in (the same text, so the schema ends exactly as the migrations left it)."""
    marks = ",".join("?" * len(BULK_TABLES))
    objects = conn.execute(
        f"SELECT type, name, sql FROM sqlite_schema WHERE type IN ('index', 'trigger')"
        f" AND tbl_name IN ({marks}) AND sql IS NOT NULL",
        BULK_TABLES,
    ).fetchall()
    for kind, name, _sql in objects:
        conn.execute(f'DROP {kind.upper()} "{name}"')
    # Indexes before triggers: a trigger may read through an index's table.
    return [sql for kind, _n, sql in objects if kind == "index"] + [
        sql for kind, _n, sql in objects if kind == "trigger"
    ]


def _copy_template(conn: sqlite3.Connection, template_id: int) -> tuple[str, int]:
    """The template visit's sites, preparations and components copied into temporary tables
    (read once per chunk, never from the growing tables); returns the site columns and the
    number of preparations."""
    site_columns = [
        row[1] for row in conn.execute("PRAGMA table_info(sites)") if row[1] not in ("id",)
    ]
    copied = ", ".join(c for c in site_columns if c != "procedure_id")
    conn.execute(
        f"CREATE TEMP TABLE t_sites AS SELECT {copied} FROM sites WHERE procedure_id = ?"
        " ORDER BY seq",
        (template_id,),
    )
    conn.execute(
        "CREATE TEMP TABLE t_preps AS SELECT row_number() OVER (ORDER BY id) - 1 AS k, id, seq,"
        " code, label FROM preparations WHERE procedure_id = ?",
        (template_id,),
    )
    conn.execute(
        "CREATE TEMP TABLE t_components AS SELECT t.k, c.seq, c.agent, c.concentration,"
        " c.volume_ml, c.lot, c.expires, c.ndc, c.container, c.container_ml"
        " FROM t_preps t JOIN components c ON c.preparation_id = t.id ORDER BY t.k, c.seq"
    )
    (preps,) = conn.execute("SELECT count(*) FROM t_preps").fetchone()
    return copied, int(preps)


def generate(db: Path, keys: Path, patients: int) -> None:
    os.environ["TPI_CHART_KEY_DIR"] = str(keys)
    with open_services(db, None, seed_demo_if_new=True) as services:
        setup = build_services(services.store, SYSTEM_SETUP, trust_dir=keys)
        template_id, template = _template(setup)
        clinic_id = services.store.clinic_id
        patient_columns = services.store.patients._columns  # the app's own row encoding
    key = audit_log.load_key(keys, clinic_id, create=False)
    conn = sqlite3.connect(db, isolation_level=None)
    # A generated file: rebuilt, never trusted, until it is finished and checked.
    conn.execute("PRAGMA journal_mode = OFF")
    conn.execute("PRAGMA synchronous = OFF")
    conn.execute("PRAGMA cache_size = -400000")
    conn.execute("PRAGMA temp_store = MEMORY")
    seq, mac = conn.execute("SELECT seq, mac FROM audit ORDER BY seq DESC LIMIT 1").fetchone()
    at = audit_log.now_utc()
    rng = random.Random(15)
    start = datetime(2016, 1, 4, 8, 0, tzinfo=ZONE)
    first_patient = conn.execute("SELECT coalesce(max(id), 0) + 1 FROM patients").fetchone()[0]
    first_procedure = conn.execute("SELECT coalesce(max(id), 0) + 1 FROM procedures").fetchone()[0]
    next_procedure = first_procedure
    header_row = tuple(
        conn.execute(
            "SELECT payer_profile, header FROM procedures WHERE id = ?", (template_id,)
        ).fetchone()
    )
    copied_sites, preps = _copy_template(conn, template_id)
    schema = _drop_schema_objects(conn)
    # The procedure's canonical JSON with a mark where the date of service goes: each visit's
    # hashed bytes are this text with its date put in (canonical_json sorts the keys, so the
    # rest never moves), instead of a dict and a json.dumps per visit.
    procedure_text = canonical_json({**template, "performed_at": _MARK}).decode()
    before_date, after_date = procedure_text.split(json.dumps(_MARK, ensure_ascii=False))
    fmt = canonical_json("tpi-chart.procedure/1").decode()
    user = SYSTEM_SETUP.username
    hmac_new = audit_log.compute_mac

    audits: list[tuple[Any, ...]] = []

    def audit(action: str, entity: str, entity_id: int, patient_id: int, after: str) -> None:
        nonlocal seq, mac
        seq += 1
        fields = {
            "seq": seq,
            "at": at,
            "user": user,
            "action": action,
            "entity": entity,
            "entity_id": entity_id,
            "patient_id": patient_id,
            "procedure_id": entity_id if entity == "procedure" else None,
            "before": None,
            "after": after,
        }
        prev, mac = mac, hmac_new(key, fields, mac)
        audits.append((*fields.values(), prev, mac))

    began = time.perf_counter()
    for base in range(0, patients, CHUNK):
        rows_patients: list[tuple[Any, ...]] = []
        rows_procedures: list[tuple[Any, ...]] = []
        audits.clear()
        for number in range(base, min(patients, base + CHUNK)):
            patient_id = first_patient + number
            patient = Patient(
                mrn=f"B{number:06d}",
                family_name=rng.choice(FAMILY),
                given_name=f"Patient{number}",
                birth_date=datetime(1940 + number % 60, 1 + number % 12, 1 + number % 28).date(),
                sex="female" if number % 2 else "male",
                weight_kg=70.0,
            )
            rows_patients.append((patient_id, *patient_columns(patient)))
            audit(
                "create",
                "patient",
                patient_id,
                patient_id,
                audit_log.to_json({"mrn": patient.mrn}) or "",
            )
            patient_text = canonical_json(patient.model_dump(mode="json", exclude_defaults=True))
            head = f'{{"format":{fmt},"patient":{patient_text.decode()},"procedure":{before_date}'
            visits = BUSIEST if number == patients - 1 else VISITS
            for visit in range(visits):
                procedure_id = next_procedure
                next_procedure += 1
                spacing = 3650 // visits
                when = start + timedelta(
                    days=(number * 3 + visit * spacing) % 3650, hours=visit % 8
                )
                performed = _DATETIME.dump_python(when, mode="json")
                utc = when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
                audit(
                    "create",
                    "procedure",
                    procedure_id,
                    patient_id,
                    audit_log.to_json({"performed_at": performed}) or "",
                )
                if visit < visits - 1:
                    text = f'{head}"{performed}"{after_date}}}'
                    digest = hashlib.sha256(text.encode()).hexdigest()
                    signed_at = _DATETIME.dump_python(when + timedelta(hours=1), mode="json")
                    rows_procedures.append(
                        (
                            procedure_id,
                            patient_id,
                            performed,
                            utc,
                            "signed",
                            *header_row,
                            "physician.bulk",
                            signed_at,
                            digest,
                            "[]",
                        )
                    )
                    audit(
                        "sign",
                        "procedure",
                        procedure_id,
                        patient_id,
                        audit_log.to_json({"content_hash": digest}) or "",
                    )
                else:
                    rows_procedures.append(
                        (
                            procedure_id,
                            patient_id,
                            performed,
                            utc,
                            "in_progress",
                            *header_row,
                            None,
                            None,
                            None,
                            None,
                        )
                    )
        low, high = rows_procedures[0][0], rows_procedures[-1][0]
        (first_prep,) = conn.execute("SELECT coalesce(max(id), 0) + 1 FROM preparations").fetchone()
        conn.execute("BEGIN")
        conn.executemany(
            "INSERT INTO patients (id, mrn, family_name, given_name, birth_date, sex,"
            " search_name, data) VALUES (?,?,?,?,?,?,?,?)",
            rows_patients,
        )
        conn.executemany(
            "INSERT INTO procedures (id, patient_id, performed_at, performed_at_utc, status,"
            " payer_profile, header, signed_by, signed_at, content_hash, acknowledgements)"
            " VALUES (?,?,?,?,?,?,?,?,?,?,?)",
            rows_procedures,
        )
        conn.execute(
            f"INSERT INTO sites (procedure_id, {copied_sites})"
            f" SELECT p.id, {', '.join('s.' + c for c in copied_sites.split(', '))}"
            " FROM procedures p, t_sites s WHERE p.id BETWEEN ? AND ? ORDER BY p.id, s.seq",
            (low, high),
        )
        # Each visit's preparations get consecutive ids, so its components find them by
        # arithmetic instead of a join on the growing table.
        conn.execute(
            "INSERT INTO preparations (id, procedure_id, seq, code, label)"
            " SELECT ? + (p.id - ?) * ? + t.k, p.id, t.seq, t.code, t.label"
            " FROM procedures p, t_preps t WHERE p.id BETWEEN ? AND ? ORDER BY p.id, t.k",
            (first_prep, low, preps, low, high),
        )
        conn.execute(
            "INSERT INTO components (preparation_id, seq, agent, concentration, volume_ml, lot,"
            " expires, ndc, container, container_ml)"
            " SELECT ? + (p.id - ?) * ? + c.k, c.seq, c.agent, c.concentration, c.volume_ml,"
            " c.lot, c.expires, c.ndc, c.container, c.container_ml"
            " FROM procedures p, t_components c WHERE p.id BETWEEN ? AND ?"
            " ORDER BY p.id, c.k, c.seq",
            (first_prep, low, preps, low, high),
        )
        conn.executemany(
            "INSERT INTO audit (seq, at, user, action, entity, entity_id, patient_id,"
            " procedure_id, before, after, prev_mac, mac) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
            audits,
        )
        conn.execute("COMMIT")
        done = min(patients, base + CHUNK)
        rate = done / max(1e-9, time.perf_counter() - began) * 60
        print(f"  {done} / {patients} patients ({rate:,.0f} a minute)", file=sys.stderr, flush=True)
    print("  indexes and triggers", file=sys.stderr, flush=True)
    conn.execute("BEGIN")
    for sql in schema:
        conn.execute(sql)
    if conn.execute("SELECT 1 FROM sqlite_schema WHERE name = 'patient_search'").fetchone():
        conn.execute("INSERT INTO patient_search (patient_search) VALUES ('rebuild')")
    conn.execute("COMMIT")
    conn.execute("PRAGMA analysis_limit = 1000")
    conn.execute("ANALYZE")
    conn.execute("PRAGMA journal_mode = WAL")  # as the app keeps it
    conn.close()
    print("  checking through the app", file=sys.stderr, flush=True)
    # Opening through the app checks the registry, the chain's tail and a sample of signatures.
    with open_services(db, None) as services:
        if services.integrity_warnings:
            raise SystemExit(f"generated clinic failed its checks: {services.integrity_warnings}")
        from tpi_chart.services.access import INTEGRITY_CHECK
        from tpi_chart.services.charting import ChartingService
        from tpi_chart.services.integrity import signed_problem

        reader = ChartingService(services.store, INTEGRITY_CHECK)
        signed = services.store.procedures.signed_ids(first_procedure - 1)
        for procedure_id in random.Random(1).sample(signed, min(50, len(signed))):
            problem = signed_problem(reader, procedure_id)
            if problem is not None:
                raise SystemExit(f"generated clinic: {problem}")
        report = services.store.audit.verify()
        if not report.ok:
            raise SystemExit(f"generated audit chain is broken: {report}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--patients", type=int, default=50_000)
    args = parser.parse_args()
    db, _keys = cached_clinic(args.patients)
    conn = sqlite3.connect(db)
    counts = {
        table: conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
        for table in ("patients", "procedures", "sites", "audit")
    }
    print(json.dumps({"db": str(db), "bytes": db.stat().st_size, **counts}))


if __name__ == "__main__":
    main()

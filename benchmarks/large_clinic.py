"""A clinic's tenth year for the benchmarks: the demo clinic plus N patients with ten visits of
ten sites each, written with bulk SQL (INSERT … SELECT for the sites, preparations and
components) in a few transactions, every visit but each patient's last one signed with its
real content hash, and an audit row for every patient and procedure created and every
signature, chained with the clinic's key, so `audit verify` and the open-time checks pass.

Cached by schema version, generator version and scale under benchmarks/.cache/ (not part of the
test run; delete the folder to rebuild).

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

GENERATOR_VERSION = 1
CACHE = ROOT / "benchmarks" / ".cache"
REFERENCE = ROOT / "tests" / "examples" / "reference-visit.json"
VISITS = 10
SITES = 10
FAMILY = ["Smith", "García", "Nguyễn", "Ødegård", "Khan", "Müller", "Okafor", "Rossi", "Kim"]
ZONE = timezone(timedelta(hours=-7))
_DATETIME = TypeAdapter(datetime)


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


def generate(db: Path, keys: Path, patients: int) -> None:
    os.environ["TPI_CHART_KEY_DIR"] = str(keys)
    with open_services(db, None, seed_demo_if_new=True) as services:
        setup = build_services(services.store, SYSTEM_SETUP, trust_dir=keys)
        template_id, template = _template(setup)
        clinic_id = services.store.clinic_id
        patient_columns = services.store.patients._columns  # the app's own row encoding
    key = audit_log.load_key(keys, clinic_id, create=False)
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("PRAGMA synchronous = OFF")  # a generated file: rebuilt, never trusted
    conn.execute("PRAGMA cache_size = -200000")
    seq, mac = conn.execute("SELECT seq, mac FROM audit ORDER BY seq DESC LIMIT 1").fetchone()
    at = audit_log.now_utc()
    rng = random.Random(15)
    start = datetime(2016, 1, 4, 8, 0, tzinfo=ZONE)
    first_patient = conn.execute("SELECT coalesce(max(id), 0) + 1 FROM patients").fetchone()[0]
    first_procedure = conn.execute("SELECT coalesce(max(id), 0) + 1 FROM procedures").fetchone()[0]
    header_row = conn.execute(
        "SELECT payer_profile, header FROM procedures WHERE id = ?", (template_id,)
    ).fetchone()
    site_columns = [
        row[1] for row in conn.execute("PRAGMA table_info(sites)") if row[1] not in ("id",)
    ]
    copied_sites = ", ".join(c for c in site_columns if c != "procedure_id")
    audits: list[tuple[Any, ...]] = []

    def audit(action: str, entity: str, entity_id: int, patient_id: int, after: Any) -> None:
        nonlocal seq, mac
        seq += 1
        fields = {
            "seq": seq,
            "at": at,
            "user": SYSTEM_SETUP.username,
            "action": action,
            "entity": entity,
            "entity_id": entity_id,
            "patient_id": patient_id,
            "procedure_id": entity_id if entity == "procedure" else None,
            "before": None,
            "after": audit_log.to_json(after),
        }
        prev, mac = mac, audit_log.compute_mac(key, fields, mac)
        audits.append((*fields.values(), prev, mac))

    chunk = 2000
    for base in range(0, patients, chunk):
        rows_patients, rows_procedures, signatures, audits = [], [], [], []
        for number in range(base, min(patients, base + chunk)):
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
            audit("create", "patient", patient_id, patient_id, {"mrn": patient.mrn})
            signed_patient = patient.model_dump(mode="json", exclude_defaults=True)
            for visit in range(VISITS):
                procedure_id = first_procedure + number * VISITS + visit
                when = start + timedelta(days=(number * 3 + visit * 180) % 3650, hours=visit % 8)
                performed = _DATETIME.dump_python(when, mode="json")
                utc = when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
                rows_procedures.append(
                    (procedure_id, patient_id, performed, utc, *tuple(header_row))
                )
                audit("create", "procedure", procedure_id, patient_id, {"performed_at": performed})
                if visit < VISITS - 1:
                    content = {
                        "format": "tpi-chart.procedure/1",
                        "patient": signed_patient,
                        "procedure": {**template, "performed_at": performed},
                    }
                    digest = hashlib.sha256(canonical_json(content)).hexdigest()
                    signed_at = _DATETIME.dump_python(when + timedelta(hours=1), mode="json")
                    signatures.append(("physician.bulk", signed_at, digest, procedure_id))
                    audit("sign", "procedure", procedure_id, patient_id, {"content_hash": digest})
        conn.execute("BEGIN")
        conn.executemany(
            "INSERT INTO patients (id, mrn, family_name, given_name, birth_date, sex,"
            " search_name, data) VALUES (?,?,?,?,?,?,?,?)",
            rows_patients,
        )
        conn.executemany(
            "INSERT INTO procedures (id, patient_id, performed_at, performed_at_utc, status,"
            " payer_profile, header) VALUES (?,?,?,?,'in_progress',?,?)",
            rows_procedures,
        )
        low, high = rows_procedures[0][0], rows_procedures[-1][0]
        conn.execute(
            f"INSERT INTO sites (procedure_id, {copied_sites})"
            f" SELECT p.id, {', '.join('s.' + c for c in copied_sites.split(', '))}"
            " FROM procedures p JOIN sites s ON s.procedure_id = ?"
            " WHERE p.id BETWEEN ? AND ? ORDER BY p.id, s.seq",
            (template_id, low, high),
        )
        conn.execute(
            "INSERT INTO preparations (procedure_id, seq, code, label)"
            " SELECT p.id, r.seq, r.code, r.label FROM procedures p"
            " JOIN preparations r ON r.procedure_id = ? WHERE p.id BETWEEN ? AND ?",
            (template_id, low, high),
        )
        conn.execute(
            "INSERT INTO components (preparation_id, seq, agent, concentration, volume_ml, lot,"
            " expires, ndc, container, container_ml)"
            " SELECT n.id, c.seq, c.agent, c.concentration, c.volume_ml, c.lot, c.expires, c.ndc,"
            " c.container, c.container_ml FROM preparations t"
            " JOIN components c ON c.preparation_id = t.id"
            " JOIN preparations n ON n.code = t.code AND n.procedure_id BETWEEN ? AND ?"
            " WHERE t.procedure_id = ?",
            (low, high, template_id),
        )
        conn.executemany(
            "UPDATE procedures SET status = 'signed', signed_by = ?, signed_at = ?,"
            " content_hash = ?, acknowledgements = '[]' WHERE id = ?",
            signatures,
        )
        conn.executemany(
            "INSERT INTO audit (seq, at, user, action, entity, entity_id, patient_id,"
            " procedure_id, before, after, prev_mac, mac) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
            audits,
        )
        conn.execute("COMMIT")
        print(f"  {min(patients, base + chunk)} / {patients} patients", file=sys.stderr)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.execute("ANALYZE")
    conn.close()
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

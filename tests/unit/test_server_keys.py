"""Keys of a server clinic never touch a workstation's disk (issue 18 part 4): the audit key and
the clinic authority's private key are held in the database, sealed (to each administrator's
account key, whose private half is wrapped with their password, and once to the recovery
passphrase shown at set-up); a physician's signing key is sealed to their account key. After a
clinic is started on the server, its first administrator made, a physician's certificate issued
and a note signed, every file this workstation's user owns is searched for that key material:
none is there, in any encoding. The one file written is the clinic's trust record (its root
certificate, public, pinned so that a substituted authority in the database is refused)."""

from __future__ import annotations

import base64
from pathlib import Path

from tests.engines import table_rows
from tests.unit.auth_support import reference_document
from tests.unit.test_pades_signing import ACKS
from tpi_chart.services.context import open_services

PASSWORD = "lidocaine-1pct-server"


def _encodings(secret: bytes) -> list[bytes]:
    return [
        secret,
        secret.hex().encode(),
        secret.hex().upper().encode(),
        base64.b64encode(secret),
        base64.urlsafe_b64encode(secret).rstrip(b"="),
    ]


def test_no_audit_or_authority_key_material_is_written_to_the_workstation(
    pg_url: str, tmp_path: Path
) -> None:
    home = Path.home()  # the test's own (conftest): config, data, cache and logs live under it
    before = {path for path in home.rglob("*") if path.is_file()}
    services = open_services(pg_url)
    try:
        auth = services.auth
        admin = auth.create_first_administrator("admin", "Pat Admin", PASSWORD)
        auth.create_user(admin, "chen", "Dr. Alex Chen, MD", {"physician"}, PASSWORD)
        chen = auth.login("chen", PASSWORD)
        assert chen is not None
        physician = services.as_user(chen)
        document = reference_document()
        patient = physician.patients.create(document.patient)
        procedure_id = physician.charting.create(patient.id, document.procedure).id
        physician.signing.sign(procedure_id, chen, ACKS)
        assert physician.notes.render(procedure_id)  # the signed note, from the database

        audit_key = services.store.key
        assert audit_key is not None
        assert services.store.audit_sealed
        unlocked = services.keychain.sessions
        authority_key = unlocked["admin"].authority_key
        signer = unlocked["chen"].signer
        assert authority_key is not None
        assert signer is not None
        secrets = {
            "audit key": audit_key,
            "authority key": authority_key,
            "signing key": signer.private_key_der,
            "admin's account key": unlocked["admin"].account_private,
            "chen's account key": unlocked["chen"].account_private,
        }
        in_database = repr(table_rows(pg_url)).encode()
    finally:
        services.close()

    written = sorted(path for path in home.rglob("*") if path.is_file() and path not in before)
    for path in written:
        data = path.read_bytes()
        assert b"PRIVATE KEY" not in data, path
        for name, secret in secrets.items():
            for encoded in _encodings(secret):
                assert encoded not in data, f"{name} in {path}"
    # What the workstation keeps: the clinic's public trust record, and nothing of a key file.
    records = [path for path in written if path.name.endswith(".signing-authority.pem")]
    assert len(records) == 1
    assert records[0].read_text().count("BEGIN CERTIFICATE") == 1
    assert not [path for path in written if path.suffix == ".key" or "audit" in path.name]
    # In the database the keys are there only sealed: never in clear.
    for name, secret in secrets.items():
        for encoded in _encodings(secret):
            assert encoded not in in_database, f"{name} in the database in clear"

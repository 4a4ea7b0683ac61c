"""Signed means signed: the clinic authority, physicians' certificates, PAdES notes, addenda as
signed revisions, and verification against the clinic's trust root (issue 10).

Everything runs through the real services and store, real keys and real PDF signatures; the
attacks are made the way an outsider would make them (their own CA, a self-signed certificate
with the right name, a re-rendered note, one changed byte, a revoked certificate)."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from argon2 import PasswordHasher

from tests.engines import open_store as open_engine_store
from tests.engines import table_rows, tamper
from tests.unit.auth_support import reference_document
from tpi_chart.domain.signatures import SignerKey, Trust
from tpi_chart.domain.users import User
from tpi_chart.pdf import pades
from tpi_chart.pdf.note import ProcedureNoteRenderer
from tpi_chart.pdf.verify import verify_note
from tpi_chart.services import crypto
from tpi_chart.services.access import SYSTEM_SETUP
from tpi_chart.services.auth import AuthService
from tpi_chart.services.context import Services, build_services
from tpi_chart.services.pki import NoSigningKey
from tpi_chart.storage.sqlite.store import SqliteStore, open_store

ACKS = {
    "ptx_risk_site": "superficial technique with pincer palpation; patient counselled",
    "multi_region": "neck and shoulder girdle are one myofascial pain pattern",
}
ADMIN_PASSWORD = "clinic-admin-pass-2026"
CHEN_PASSWORD = "chen-signs-notes-2026"
FAST = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)


class Clinic:
    """A clinic with an administrator and a physician, both signed in."""

    def __init__(self, folder: Path, store: Any = None, name: str = "Valley Pain Clinic") -> None:
        """`store`: the clinic's open store; by default a file in `folder`."""
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self.store = store or open_store(folder / "chart.db", folder / "keys")
        # Set-up (the clinic name) before anyone signs in.
        self.root = build_services(self.store, SYSTEM_SETUP, trust_dir=folder / "keys")
        self.root.settings.update(clinic_name=name)
        auth = self.auth()
        self.admin = auth.create_first_administrator("admin", "Pat Admin", ADMIN_PASSWORD)
        self.recovery = self.root.authority.take_recovery_passphrase(self.admin)
        self.chen = auth.create_user(
            self.admin, "chen", "Dr. Alex Chen, MD", {"physician"}, CHEN_PASSWORD
        )
        auth.login("chen", CHEN_PASSWORD)

    def auth(self) -> AuthService:
        return AuthService(
            self.store.users, self.store.audit, keys=self.root.authority, hasher=FAST
        )

    def services(self, user: User) -> Services:
        return self.root.as_user(user)

    def add_reference_visit(self) -> int:
        document = reference_document()
        patient = self.store.patients.by_mrn(document.patient.mrn)
        if patient is None:
            patient = self.store.patients.add(document.patient, "chen")
        return self.store.procedures.add(patient.id, document.procedure, "chen").id

    def sign_reference_visit(self) -> tuple[int, bytes]:
        procedure_id = self.add_reference_visit()
        services = self.services(self.chen)
        services.signing.sign(procedure_id, self.chen, ACKS)
        return procedure_id, services.notes.render(procedure_id)

    def trust(self) -> Trust:
        return self.root.authority.trust()

    def close(self) -> None:
        self.root.close()


@pytest.fixture
def clinic(engine: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Clinic]:
    folder = tmp_path / "valley"
    folder.mkdir()
    made = Clinic(folder, open_engine_store(engine, folder, request))
    yield made
    made.close()


def test_first_administrator_sets_up_an_authority_with_a_recovery_passphrase(
    clinic: Clinic,
) -> None:
    assert clinic.recovery is not None
    assert len(crypto.normalise_passphrase(clinic.recovery)) == 47
    assert clinic.root.authority.take_recovery_passphrase(clinic.admin) is None  # shown once
    assert clinic.store.pki.authority() is not None
    assert (clinic.folder / "keys" / f"{clinic.store.clinic_id}.signing-authority.pem").exists()
    certificate = clinic.store.pki.active_certificate("chen")
    assert certificate is not None
    # No private key is stored in clear: the blobs are sealed or wrapped JSON.
    if isinstance(clinic.store, SqliteStore):
        raw = clinic.store.path.read_bytes()
    else:
        raw = repr(table_rows(clinic.store.pg.pool.conninfo)).encode()
    assert b"BEGIN PRIVATE KEY" not in raw
    assert b"PRIVATE" not in raw


def test_signed_note_is_pades_signed_by_the_physician_and_verifies(clinic: Clinic) -> None:
    _, pdf = clinic.sign_reference_visit()
    result = verify_note(pdf, clinic.trust())
    assert result.ok, result.reason
    assert [report.signer for report in result.signatures] == ["Dr. Alex Chen, MD"]
    assert str(result).startswith("match")
    assert "Dr. Alex Chen, MD" in str(result)


def test_pdfsig_reports_every_signature_valid(clinic: Clinic, tmp_path: Path) -> None:
    procedure_id, _ = clinic.sign_reference_visit()
    clinic.services(clinic.chen).signing.add_addendum(
        procedure_id, clinic.chen, "Patient called: no bruising."
    )
    path = tmp_path / "note.pdf"
    path.write_bytes(clinic.services(clinic.chen).notes.render(procedure_id))
    output = subprocess.run(
        ["pdfsig", "-nocert", str(path)], capture_output=True, text=True, check=False
    ).stdout
    assert output.count("Signature Validation: Signature is Valid.") == 2, output
    assert "Signer Certificate Common Name: Dr. Alex Chen, MD" in output


def test_addendum_is_a_second_signed_revision_and_the_first_stays_valid(clinic: Clinic) -> None:
    procedure_id, original = clinic.sign_reference_visit()
    services = clinic.services(clinic.chen)
    services.signing.add_addendum(procedure_id, clinic.chen, "Patient called: no bruising.")
    grown = services.notes.render(procedure_id)
    assert grown.startswith(original)  # an incremental update: the signed bytes are untouched
    result = verify_note(grown, clinic.trust())
    assert result.ok, result.reason
    assert len(result.signatures) == 2
    assert not result.signatures[0].covers_whole_file
    assert result.signatures[1].covers_whole_file
    assert pades.page_count(grown) == pades.page_count(original) + 1


def test_a_re_export_returns_the_signed_bytes_even_after_the_formulary_changes(
    clinic: Clinic, tmp_path: Path
) -> None:
    procedure_id, pdf = clinic.sign_reference_visit()
    services = clinic.services(clinic.chen)
    exported = services.notes.export_to(procedure_id, tmp_path / "note.pdf")
    assert exported.pdf.read_bytes() == pdf
    stored_json = exported.json.read_text()
    assert '"signed_evaluation"' in stored_json
    assert '"cpt": "20553"' in stored_json
    # A stricter clinic formulary after signing: the evaluation now differs ...
    document = services.charting.document(procedure_id)
    catalog = services.notes.signed.catalog
    lidocaine = catalog.agents["lidocaine"]
    assert lidocaine.max_dose is not None
    halved = lidocaine.max_dose.model_copy(
        update={
            "mg_per_kg": lidocaine.max_dose.mg_per_kg / 2,
            "max_mg": lidocaine.max_dose.max_mg / 2,
        }
    )
    stricter_agent = lidocaine.model_copy(update={"max_dose": halved})
    stricter = catalog.model_copy(
        update={"agents": {**catalog.agents, "lidocaine": stricter_agent}}
    )
    redrawn = ProcedureNoteRenderer(document, services.notes.options(), catalog=stricter).render()
    assert redrawn != pdf
    # ... but the note, its printed percentage and its stored evaluation do not.
    assert services.notes.render(procedure_id) == pdf
    frozen = services.notes.signed.frozen_evaluation(procedure_id)
    assert frozen is not None
    assert frozen.evaluation["anesthetic"]["percent_of_max"] == 27.8


def test_one_changed_byte_is_a_mismatch(clinic: Clinic) -> None:
    _, pdf = clinic.sign_reference_visit()
    index = pdf.index(b"/Contents", 200) + 40  # inside the signed page content
    tampered = pdf[:index] + bytes([pdf[index] ^ 0x01]) + pdf[index + 1 :]
    result = verify_note(tampered, clinic.trust())
    assert not result.ok


def test_bytes_appended_after_the_signature_are_a_mismatch(clinic: Clinic) -> None:
    _, pdf = clinic.sign_reference_visit()
    grown = pades.append_pages(pdf, _blank_pages(), {})
    result = verify_note(grown, clinic.trust())
    assert not result.ok
    assert "after its last signature" in result.reason


def test_a_re_rendered_note_with_a_changed_signer_is_a_mismatch(clinic: Clinic) -> None:
    procedure_id, _ = clinic.sign_reference_visit()
    document = clinic.services(clinic.chen).charting.document(procedure_id)
    signature = document.procedure.signature
    assert signature is not None
    forged_signature = signature.model_copy(update={"signed_by": "Dr. Someone Else, MD"})
    forged = document.model_copy(
        update={"procedure": document.procedure.model_copy(update={"signature": forged_signature})}
    )
    pdf = ProcedureNoteRenderer(forged).render()
    result = verify_note(pdf, clinic.trust())
    assert not result.ok
    assert "no digital signature" in result.reason


def test_a_note_signed_by_another_clinics_authority_is_a_mismatch(
    clinic: Clinic, tmp_path: Path
) -> None:
    other_folder = tmp_path / "other"  # a file clinic, whichever engine the first is on
    other_folder.mkdir()
    other = Clinic(
        other_folder,
        open_store(other_folder / "chart.db", other_folder / "keys"),
        name="Other Clinic",
    )
    try:
        _, pdf = other.sign_reference_visit()
        assert verify_note(pdf, other.trust()).ok
        result = verify_note(pdf, clinic.trust())
        assert not result.ok
        assert "not issued by this clinic's signing authority" in result.reason
    finally:
        other.close()


def test_a_self_signed_certificate_with_the_right_name_is_a_mismatch(clinic: Clinic) -> None:
    now = datetime.now(UTC)
    key, certificate = crypto.make_ca("Dr. Alex Chen, MD", "self", now)
    forger = SignerKey(key, certificate, (certificate,), "Dr. Alex Chen, MD")
    procedure_id = clinic.add_reference_visit()
    document = clinic.services(clinic.chen).charting.document(procedure_id)
    unsigned = ProcedureNoteRenderer(document).render()
    forged = pades.sign_pdf(
        unsigned,
        forger,
        field_name="Signature1",
        signed_at=now,
        reason="forged",
        box=None,
        stamp_text="Dr. Alex Chen, MD",
    )
    result = verify_note(forged, clinic.trust())
    assert not result.ok
    assert "not issued by this clinic's signing authority" in result.reason


def test_a_certificate_revoked_for_key_compromise_fails_its_notes(clinic: Clinic) -> None:
    _, pdf = clinic.sign_reference_visit()
    assert clinic.root.authority.revoke(clinic.admin, "chen", "key_compromise") == 1
    result = verify_note(pdf, clinic.trust())
    assert not result.ok
    assert "revoked" in result.reason


def test_password_reset_supersedes_the_certificate_old_notes_stay_valid(clinic: Clinic) -> None:
    _, pdf = clinic.sign_reference_visit()
    old = clinic.store.pki.active_certificate("chen")
    assert old is not None
    clinic.auth().reset_password(clinic.admin, "chen", "a-brand-new-pass-2026")
    new = clinic.store.pki.active_certificate("chen")
    assert new is not None
    assert new.serial != old.serial
    assert verify_note(pdf, clinic.trust()).ok  # signed before the reset
    clinic.auth().login("chen", "a-brand-new-pass-2026")
    _, second = clinic.sign_reference_visit()
    result = verify_note(second, clinic.trust())
    assert result.ok
    assert result.signatures[0].serial == new.serial


def test_password_change_keeps_the_signing_key(clinic: Clinic) -> None:
    before = clinic.store.pki.active_certificate("chen")
    clinic.auth().change_password(clinic.chen, CHEN_PASSWORD, "another-good-pass-2026")
    clinic.root.authority.signed_out(clinic.chen)
    clinic.auth().login("chen", "another-good-pass-2026")
    assert clinic.store.pki.active_certificate("chen") == before
    _, pdf = clinic.sign_reference_visit()
    assert verify_note(pdf, clinic.trust()).ok


def test_a_locked_session_cannot_sign_until_the_password_is_given_again(clinic: Clinic) -> None:
    procedure_id = clinic.add_reference_visit()
    clinic.auth().record_lock(clinic.chen)
    with pytest.raises(NoSigningKey, match="sign in again"):
        clinic.services(clinic.chen).signing.sign(procedure_id, clinic.chen, ACKS)
    assert clinic.services(clinic.chen).charting.get(procedure_id).procedure.signature is None


def test_a_physician_made_before_the_authority_gets_a_certificate_at_the_next_admin_sign_in(
    clinic: Clinic,
) -> None:
    # A role granted without the authority at hand (an administrator signed in elsewhere).
    clinic.root.authority.signed_out(clinic.admin)
    lee = clinic.auth().create_user(
        clinic.admin, "lee", "Dr. Kim Lee, DO", {"physician"}, "lee-pass-2026x"
    )
    assert clinic.store.pki.active_certificate("lee") is None
    clinic.auth().login("lee", "lee-pass-2026x")
    with pytest.raises(NoSigningKey, match="administrator"):
        clinic.root.authority.signer_for(lee)
    clinic.auth().login("admin", ADMIN_PASSWORD)
    assert clinic.store.pki.active_certificate("lee") is not None
    clinic.auth().login("lee", "lee-pass-2026x")
    assert clinic.root.authority.signer_for(lee).common_name == "Dr. Kim Lee, DO"


def test_trust_export_carries_revocations_verifiable_without_the_database(
    clinic: Clinic,
) -> None:
    _, pdf = clinic.sign_reference_visit()
    exported = crypto.read_trust_pem(clinic.root.authority.export_trust(clinic.admin))
    assert verify_note(pdf, exported).ok
    clinic.root.authority.revoke(clinic.admin, "chen", "key_compromise")
    after = crypto.read_trust_pem(clinic.root.authority.export_trust(clinic.admin))
    assert not verify_note(pdf, after).ok


def test_a_substituted_authority_in_the_database_is_refused(clinic: Clinic) -> None:
    _, certificate = crypto.make_ca("Evil", "evil", datetime.now(UTC))
    tamper(
        clinic.store,
        ("UPDATE signing_authority SET certificate = ?", (certificate,)),
        sqlite_triggers=["signing_authority_frozen"],
    )
    with pytest.raises(Exception, match="not the one recorded"):
        clinic.trust()


def test_signing_time_comes_from_the_clock_not_the_document(clinic: Clinic) -> None:
    before = datetime.now(UTC) - timedelta(seconds=5)
    _, pdf = clinic.sign_reference_visit()
    result = verify_note(pdf, clinic.trust())
    assert result.signatures[0].signed_at is not None
    assert result.signatures[0].signed_at >= before


def _blank_pages() -> bytes:
    from reportlab.pdfgen import canvas

    buffer = io.BytesIO()
    page = canvas.Canvas(buffer)
    page.drawString(72, 720, "added later by someone")
    page.showPage()
    page.save()
    return buffer.getvalue()


OFFLINE = """
import sys
from pathlib import Path
from tests.unit.test_pades_signing import Clinic
from tpi_chart.pdf.verify import verify_note
clinic = Clinic(Path(sys.argv[1]))
_, pdf = clinic.sign_reference_visit()
verified = verify_note(pdf, clinic.trust()).ok
from pyhanko.sign.timestamps import HTTPTimeStamper
from pyhanko_certvalidator.fetchers import aiohttp_fetchers
refused = []
for client in (HTTPTimeStamper, aiohttp_fetchers.AIOHttpFetcherBackend):
    try:
        client("http://tsa.example/")
    except RuntimeError as error:
        refused.append(type(error).__name__)
print(verified, refused, sorted({"aiohttp", "yarl", "multidict"} & set(sys.modules)))
"""


def test_signing_and_verifying_load_no_http_client_and_none_can_be_made(tmp_path: Path) -> None:
    """pyHanko's aiohttp clients are stand-ins (`pdf.offline`): a whole signature and its
    validation in a fresh process import no HTTP stack, and the clients refuse to exist."""
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run(
        [sys.executable, "-c", OFFLINE, str(tmp_path / "clinic")],
        capture_output=True,
        text=True,
        cwd=root,
        env={**os.environ, "PYTHONPATH": str(root)},
        check=False,
    )
    *_, last = done.stdout.strip().splitlines() or [done.stderr[-2000:]]
    assert last == "True ['OfflineOnly', 'OfflineOnly'] []", done.stderr[-2000:]

"""Every service enforces its own permissions (issue 10 item 8, issue 16): for every role
(physician, assistant, administrator, a deactivated account) × every operation that changes data
or reads patient data, the service itself allows or refuses it. A refusal raises
PermissionDenied, is audited as `access_denied`, and changes no data.

The expectations are written out here, not read from `access.MATRIX`, so a wrong matrix fails.
Every test runs on a SQLite file and on a PostgreSQL server (the `engine` parameter).
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.cli_support import add_accounts, sign_in
from tests.conftest import use_cheap_argon2
from tests.engines import clinic_database, copy_clinic, keep_clinic, query, table_rows
from tests.unit.auth_support import REFERENCE
from tests.users import DEACTIVATED
from tpi_chart.domain.models import Patient, Site, TimeOut
from tpi_chart.domain.users import User
from tpi_chart.services.access import PermissionDenied
from tpi_chart.services.context import Services, open_services
from tpi_chart.services.documents import document_json
from tpi_chart.services.errors import StorageError

ACKS_REASON = "accepted for the test"


@dataclass(frozen=True)
class Ids:
    patient: int
    draft: int  # in progress, one planned and one injected site
    planned_site: int
    injected_site: int
    ready: int  # complete, unsigned: ready to sign
    signed: int
    folder: Path


def _ready_to_sign(services: Services, procedure_id: int) -> dict[str, str]:
    readiness = services.signing.readiness(procedure_id)
    return dict.fromkeys(readiness.codes_to_acknowledge, ACKS_REASON)


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def engine(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="module")
def template(
    engine: str, tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> tuple[Path, str | None, Ids]:
    folder = tmp_path_factory.mktemp("matrix")
    db = clinic_database(engine, folder, request)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TPI_CHART_KEY_DIR", str(folder / "keys"))
        use_cheap_argon2(patch)
        reference = folder / "reference.json"
        reference.write_text(REFERENCE.read_text())
        add_accounts(db)  # type: ignore[arg-type]
        with open_services(db) as opened:
            services = sign_in(opened, "chen")
            # Three different documents: importing the same one again returns the same procedure.
            copies = []
            for number in range(3):
                data = json.loads(reference.read_text())
                data["procedure"]["notes"] = f"copy {number}"
                copy = folder / f"reference-{number}.json"
                copy.write_text(json.dumps(data))
                copies.append(copy)
            draft, ready, signed = services.documents.import_documents(copies)
            patient = services.charting.get(draft).patient_id
            planned = services.charting.add_site(
                draft, Site(muscle="levator_scapulae", side="left", state="planned")
            ).id
            injected = services.charting.get(draft).site_ids[0]
            services.signing.sign(signed, services.user, _ready_to_sign(services, signed))
            if isinstance(db, Path):  # a server clinic is backed up on the server
                sign_in(opened, "admin").backups.backup(folder / "backup.db")
            other = json.loads(reference.read_text())
            other["patient"]["mrn"] = "N5005"
            (folder / "other.json").write_text(json.dumps(other))
    saved = keep_clinic(engine, request, "matrix")
    return folder, saved, Ids(patient, draft, planned, injected, ready, signed, folder)


@pytest.fixture
def clinic(
    template: tuple[Path, str | None, Ids],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    request: pytest.FixtureRequest,
) -> tuple[Path | str, Ids]:
    source, saved, ids = template
    folder = tmp_path / "clinic"
    shutil.copytree(source, folder)
    monkeypatch.setenv("TPI_CHART_KEY_DIR", str(folder / "keys"))
    db = folder / "clinic.db" if saved is None else copy_clinic(saved, request)
    return db, Ids(**{**ids.__dict__, "folder": folder})


Operation = Callable[[Services, Ids], Any]


def _patient() -> Patient:
    return Patient(
        mrn="N7007", family_name="New", given_name="Pat", birth_date="1980-01-01", sex="male"
    )


def _renamed(services: Services, ids: Ids) -> Any:
    current = services.patients.get(ids.patient).patient
    return services.patients.update(ids.patient, current.model_copy(update={"weight_kg": 70.0}))


def _time_out(services: Services, ids: Ids) -> Any:
    at = services.charting.get(ids.draft).procedure.performed_at
    return services.charting.update(
        ids.draft, {"time_out": TimeOut(performed_by="Dr. Alex Chen, MD", at=at)}
    )


def _inject_planned(services: Services, ids: Ids) -> Any:
    site = next(s for s in services.charting.sites(ids.draft) if s.id == ids.planned_site).site
    return services.charting.update_site(
        ids.planned_site,
        site.model_copy(update={"state": "injected", "volume_ml": 1.0, "preparation": "A"}),
    )


def _move_planned(services: Services, ids: Ids) -> Any:
    site = next(s for s in services.charting.sites(ids.draft) if s.id == ids.planned_site).site
    return services.charting.update_site(ids.planned_site, site.model_copy(update={"notes": "ok"}))


def _sign(services: Services, ids: Ids) -> Any:
    acks = dict.fromkeys(
        ("ptx_risk_site", "multi_region", "weight_missing", "dose_high"), ACKS_REASON
    )
    return services.signing.sign(ids.ready, services.user, acks)


#: (operation, {role: allowed}); a deactivated account is refused everything.
P, A, M = "physician", "assistant", "administrator"
EVERYONE = {P: True, A: True, M: True}
PHYSICIANS = {P: True, A: False, M: False}
ADMINISTRATORS = {P: False, A: False, M: True}
OPERATIONS: dict[str, tuple[Operation, dict[str, bool]]] = {
    "search patients": (lambda s, i: s.patients.search(""), EVERYONE),
    "open a patient": (lambda s, i: s.patients.get(i.patient), EVERYONE),
    "find a patient by MRN": (lambda s, i: s.patients.by_mrn("D1001"), EVERYONE),
    "lot recall": (lambda s, i: s.patients.patients_with_lot("LD24117"), EVERYONE),
    "add a patient": (lambda s, i: s.patients.create(_patient()), EVERYONE),
    "change a patient": (_renamed, EVERYONE),
    "list procedures": (lambda s, i: s.charting.list_for_patient(i.patient), EVERYONE),
    "open a procedure": (lambda s, i: s.charting.get(i.draft), EVERYONE),
    "read the document": (lambda s, i: s.charting.document(i.draft), EVERYONE),
    "plan a visit": (lambda s, i: s.charting.copy_forward(i.patient, _moment(s, i)), EVERYONE),
    "change the header": (lambda s, i: s.charting.update(i.draft, {"pain_after": 1}), EVERYONE),
    "record the time-out": (_time_out, PHYSICIANS),
    "set preparations": (
        lambda s, i: s.charting.set_preparations(
            i.draft, s.charting.get(i.draft).procedure.preparations
        ),
        EVERYONE,
    ),
    "plan a site": (
        lambda s, i: s.charting.add_site(
            i.draft, Site(muscle="infraspinatus", side="left", state="planned")
        ),
        EVERYONE,
    ),
    "chart an injected site": (
        lambda s, i: s.charting.add_site(
            i.draft,
            Site(muscle="infraspinatus", side="left", volume_ml=1.0, preparation="A"),
        ),
        PHYSICIANS,
    ),
    "mark a planned site injected": (_inject_planned, PHYSICIANS),
    "note on a planned site": (_move_planned, EVERYONE),
    "remove a planned site": (lambda s, i: s.charting.remove_site(i.planned_site), EVERYONE),
    "remove an injected site": (lambda s, i: s.charting.remove_site(i.injected_site), PHYSICIANS),
    "sign": (_sign, PHYSICIANS),
    "add an addendum": (
        lambda s, i: s.signing.add_addendum(i.signed, s.user, "Late entry: no bruising."),
        PHYSICIANS,
    ),
    "import": (lambda s, i: s.documents.import_documents([i.folder / "other.json"]), EVERYONE),
    "export JSON": (
        lambda s, i: s.documents.export_json(i.signed, i.folder / "out" / "n.json"),
        EVERYONE,
    ),
    "export the note": (lambda s, i: s.notes.export(i.signed, i.folder / "out"), EVERYONE),
    "back up": (lambda s, i: s.backups.backup(i.folder / "again.db"), ADMINISTRATORS),
    "restore": (lambda s, i: s.backups.restore(i.folder / "backup.db"), ADMINISTRATORS),
    "change the settings": (lambda s, i: s.settings.set_clinic_name("Elsewhere"), ADMINISTRATORS),
    "list accounts": (lambda s, i: s.auth.users(s.user), ADMINISTRATORS),
    "read the audit trail": (lambda s, i: s.audit_report.rows(), ADMINISTRATORS),
}


def _moment(services: Services, ids: Ids) -> Any:
    return services.charting.get(ids.draft).procedure.performed_at


#: The clinic's accounts (tests/cli_support.py), signed in with their password; and an account
#: that was deactivated.
PEOPLE: dict[str, str | User] = {P: "chen", A: "rivera", M: "admin", "deactivated": DEACTIVATED}


@contextmanager
def signed_in(db: Path | str, role: str) -> Iterator[Services]:
    with open_services(db) as opened:
        person = PEOPLE[role]
        yield sign_in(opened, person) if isinstance(person, str) else opened.as_user(person)


def data_rows(db: Path | str) -> list[tuple[object, ...]]:
    """Every row of every table but the audit trail and the audit events waiting for the audit
    key (refusals are audited), and the sessions (a sign-in is one; it ends at sign-out)."""
    return table_rows(db, skip=("audit", "audit_pending", "sessions"))


def denials(db: Path | str) -> list[tuple[str, str]]:
    return [
        (str(user), json.loads(after)["action"])
        # A refusal of someone who could not sign in (deactivated) waits for the audit key.
        for user, after in query(
            db,
            "SELECT \"user\", after FROM audit WHERE action = 'access_denied' UNION ALL"
            " SELECT \"user\", after FROM audit_pending WHERE action = 'access_denied'",
        )
    ]


#: Plain file copies and restores over the open clinic: allowed on a file; a server clinic has
#: pg_dump backups and is restored into an empty database (tests/unit/test_server_backup.py).
FILE_ONLY = frozenset({"back up", "restore"})


@pytest.mark.parametrize("role", sorted(PEOPLE))
@pytest.mark.parametrize("operation", sorted(OPERATIONS))
def test_every_role_and_operation(
    clinic: tuple[Path | str, Ids], operation: str, role: str
) -> None:
    db, ids = clinic
    run, expected = OPERATIONS[operation]
    allowed = expected.get(role, False)
    with signed_in(db, role) as services:
        person = services.user
        before = data_rows(db)
        if allowed and not isinstance(db, Path) and operation in FILE_ONLY:
            with pytest.raises(StorageError, match="records are on a database server"):
                run(services, ids)
        elif allowed:
            run(services, ids)
        else:
            with pytest.raises(PermissionDenied) as refused:
                run(services, ids)
            assert person.display_name in str(refused.value)
    if not allowed:
        assert data_rows(db) == before
        assert [user for user, _ in denials(db)] == [person.username]
    else:
        assert denials(db) == []


def test_the_table_covers_every_role_of_the_matrix() -> None:
    from tpi_chart.domain.users import ROLES

    assert set(ROLES) == {P, A, M}
    for _, expected in OPERATIONS.values():
        assert set(expected) == {P, A, M}


def test_before_sign_in_nothing_is_allowed(clinic: tuple[Path | str, Ids]) -> None:
    db, ids = clinic
    before = data_rows(db)
    with open_services(db) as services:
        for name, (run, _) in OPERATIONS.items():
            with pytest.raises(PermissionDenied, match="nobody is signed in"):
                run(services, ids)
            del name
        assert services.settings.clinic_name() is not None  # reading the settings is fine
    assert data_rows(db) == before


def test_an_exported_document_is_still_valid_json(clinic: tuple[Path | str, Ids]) -> None:
    db, ids = clinic
    with signed_in(db, A) as services:
        text = document_json(services.charting.document(ids.signed))
    assert json.loads(text)["procedure"]["status"] == "signed"

"""Importing and exporting procedure documents (`tpi-chart.procedure/1`, product.md §5)."""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tpi_chart.domain.canonical import content_hash
from tpi_chart.domain.models import ExternalSignature, Patient, Procedure, ProcedureDocument
from tpi_chart.domain.parsing import read_document_file
from tpi_chart.domain.users import User
from tpi_chart.services.access import DeniedHook, Permissions
from tpi_chart.services.charting import ChartingService, StoredProcedure
from tpi_chart.services.errors import InvalidInput, changed_fields
from tpi_chart.storage.interfaces import Store
from tpi_chart.storage.search import fold


def document_json(document: ProcedureDocument) -> str:
    """The export text: sorted keys, 2-space indent, UTF-8 as is, trailing newline. It carries
    the claim lines (`billing`: CPT, HCPCS with modifiers, diagnosis pointers) for the biller."""
    from tpi_chart.domain.rules import evaluate  # the rules: not needed by the window's start

    data = document.to_json_dict()
    billing = evaluate(document).billing
    if billing is not None:
        data["billing"] = billing.model_dump(mode="json")
    return json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def _private_temp(path: Path, data: bytes) -> Path:
    """`data` in a 0600 temporary file beside `path`, fsynced (not yet in place)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise
    return Path(temp_name)


def _sync_folder(folder: Path) -> None:
    if hasattr(os, "O_DIRECTORY"):
        dir_fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


def write_atomically(path: Path, data: bytes) -> None:
    """Write to a temporary file beside `path`, fsync, rename over `path`, fsync the folder: a
    reader sees the old file or the new one, never a partial one."""
    temp = _private_temp(path, data)
    try:
        os.replace(temp, path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    _sync_folder(path.parent)


def read_document(path: Path, prefix: str = "") -> tuple[ProcedureDocument | None, list[str]]:
    """Parse one document file: (document, []) or (None, problems), one line per problem."""
    document, problems = read_document_file(path, prefix)
    if document is None:
        return None, problems
    signature = document.procedure.signature
    if signature is not None and signature.content_hash != content_hash(document):
        return None, [
            f"{prefix}procedure.signature.content_hash: does not match the document's content "
            "(the signed content was changed)"
        ]
    return document, []


def as_external(document: ProcedureDocument) -> ProcedureDocument:
    """Import never creates a signature (issue 10, 6): a document that arrives signed becomes a
    read-only record signed *elsewhere*, its signer kept as text; an unsigned one stays a draft."""
    procedure = document.procedure
    signature = procedure.signature
    if signature is None:
        return document
    external = ExternalSignature(
        signed_by=signature.signed_by,
        signed_at=signature.signed_at,
        content_hash=signature.content_hash,
        acknowledged_warnings=signature.acknowledged_warnings,
    )
    return document.model_copy(
        update={
            "procedure": procedure.model_copy(
                update={"status": "external", "signature": None, "external_signature": external}
            )
        }
    )


def write_audited_export(
    store: Store, user: str, procedure: StoredProcedure, files: Mapping[Path, bytes], **details: Any
) -> None:
    """Exports are audited or not written: each file is first written to a private temporary
    file beside its place (fsynced), then the one `export` audit row naming every file with its
    SHA-256 commits, and only then are the files renamed into place. If the commit fails (a full
    disk), the temporary files are removed: no file is left and the audit trail has no row.
    On a database opened read-only (a rescue) the files are written without an audit row: the
    caller says so."""
    temps: dict[Path, Path] = {}
    try:
        for path, data in files.items():
            temps[path] = _private_temp(path, data)
        if not store.readonly:
            store.audit.record(
                user=user,
                action="export",
                entity="procedure",
                entity_id=procedure.id,
                patient_id=procedure.patient_id,
                procedure_id=procedure.id,
                after={
                    **details,
                    "files": {str(p): hashlib.sha256(d).hexdigest() for p, d in files.items()},
                },
            )
        for path, temp in temps.items():
            os.replace(temp, path)
            _sync_folder(path.parent)
    finally:
        for temp in temps.values():
            temp.unlink(missing_ok=True)


@dataclass(frozen=True)
class ImportResult:
    """What an import did: the procedure id of each document (in order; a document imported
    before gives the stored id) and one line per thing the user should know (kept values,
    merged allergies, documents already imported)."""

    ids: list[int]
    notes: list[str] = field(default_factory=list)


def same_family_name(a: str, b: str) -> bool:
    """Names compared as a person would: case, accents and spacing ignored."""
    return " ".join(fold(a).split()) == " ".join(fold(b).split())


def _identity_problems(prefix: str, stored: Patient, document: Patient) -> list[str]:
    """Why `document` is not the patient stored under its MRN; the stored values are not
    shown (the document may come from anyone)."""
    problems: list[str] = []
    if stored.birth_date != document.birth_date:
        problems.append(
            f"{prefix}patient.birth_date: does not match the date of birth of the patient stored "
            f"with MRN {document.mrn}; nothing was imported. Check that the document is for this "
            "patient"
        )
    if not same_family_name(stored.family_name, document.family_name):
        problems.append(
            f"{prefix}patient.family_name: does not match the family name of the patient stored "
            f"with MRN {document.mrn}; nothing was imported. Check that the document is for this "
            "patient"
        )
    return problems


def merged_allergies(stored: tuple[str, ...], document: tuple[str, ...]) -> tuple[str, ...]:
    """Every stored allergy, then the document's new ones: an import never removes one."""
    known = {" ".join(fold(a).split()) for a in stored}
    added = []
    for allergy in document:
        key = " ".join(fold(allergy).split())
        if key not in known:
            known.add(key)
            added.append(allergy)
    return (*stored, *added)


_DEMOGRAPHICS_EXCEPT_ALLERGIES = {"allergies"}


def _procedure_content(procedure: Procedure) -> str:
    return json.dumps(procedure.model_dump(mode="json"), sort_keys=True)


class DocumentService:
    """Built for the signed-in `user`: importing needs `import`, exporting `export`."""

    def __init__(
        self,
        store: Store,
        charting: ChartingService,
        user: User,
        *,
        on_denied: DeniedHook | None = None,
    ) -> None:
        self._store = store
        self._charting = charting
        self._permissions = Permissions(user, on_denied)
        self._user = user.username

    def import_documents(self, paths: Sequence[Path], *, update_patient: bool = False) -> list[int]:
        """The procedure ids of `import_detailed` (see there)."""
        return self.import_detailed(paths, update_patient=update_patient).ids

    def import_detailed(
        self, paths: Sequence[Path], *, update_patient: bool = False
    ) -> ImportResult:
        """Store each document's procedure (with its sites, preparations, signature and addenda).

        A signed document is stored as an external record, read-only and never signed by a user
        of this clinic (`as_external`); an unsigned one as the draft it is.

        The patient is the one stored under the document's MRN *if* the date of birth and the
        family name (case and accents ignored) match too; a document whose MRN belongs to
        someone else is bad input naming `patient.birth_date` / `patient.family_name`, and
        nothing is stored. A new MRN creates the patient. The stored patient's details change
        only with `update_patient` (each changed field audited on its own); allergies always
        merge: an import adds the document's new ones and never removes one.

        A document already imported (same patient, same date of service, same procedure
        content) gives the stored procedure's id and stores nothing. A document's
        `prior_procedures` are kept with its procedure as reported history.

        All documents are validated first; if any is invalid, InvalidInput lists every problem
        (prefixed with the file name when several files are given) and nothing is written. The
        writes happen in one transaction.
        """
        self._permissions.require("import")
        documents: list[tuple[Path, ProcedureDocument]] = []
        problems: list[str] = []
        batch: dict[str, Patient] = {}
        for path in paths:
            prefix = f"{path}: " if len(paths) > 1 else ""
            document, found = read_document(path, prefix)
            problems += found
            if document is None:
                continue
            existing = self._store.patients.by_mrn(document.patient.mrn)
            known = existing.patient if existing is not None else batch.get(document.patient.mrn)
            mismatch = [] if known is None else _identity_problems(prefix, known, document.patient)
            problems += mismatch
            batch.setdefault(document.patient.mrn, document.patient)
            if not mismatch:
                documents.append((path, as_external(document)))
        if problems:
            raise InvalidInput(problems)
        result = ImportResult([])
        with self._store.transaction():
            for path, document in documents:
                patient_id = self._patient_for(document.patient, update_patient, result.notes)
                day = document.procedure.performed_at.date().isoformat()
                content = _procedure_content(document.procedure)
                again = next(
                    (
                        pid
                        for pid in self._store.procedures.on_date(patient_id, day)
                        if (stored := self._store.procedures.get(pid)) is not None
                        and _procedure_content(stored.procedure) == content
                    ),
                    None,
                )
                if again is not None:
                    result.notes.append(
                        f"{path.name}: already imported as procedure {again}; nothing new stored"
                    )
                    result.ids.append(again)
                    continue
                record = self._store.procedures.add(
                    patient_id,
                    document.procedure,
                    self._user,
                    document.prior_procedures,
                    # A signature covers the document's patient: keep that one with it.
                    signed_patient=document.patient,
                )
                self._store.audit.record(
                    user=self._user,
                    action="import",
                    entity="procedure",
                    entity_id=record.id,
                    patient_id=patient_id,
                    procedure_id=record.id,
                    after={"file": path.name},
                )
                result.ids.append(record.id)
        return result

    def _patient_for(self, patient: Patient, update_patient: bool, notes: list[str]) -> int:
        existing = self._store.patients.by_mrn(patient.mrn)
        if existing is None:
            return self._store.patients.add(patient, self._user).id
        stored = existing.patient
        allergies = merged_allergies(stored.allergies, patient.allergies)
        base = patient if update_patient else stored
        wanted = base.model_copy(update={"allergies": allergies})
        added = allergies[len(stored.allergies) :]
        if added:
            notes.append(
                f"patient {patient.mrn}: allergies added from the document: " + ", ".join(added)
            )
        if not update_patient:
            differing = changed_fields(
                "patient",
                stored.model_dump(mode="json", exclude=_DEMOGRAPHICS_EXCEPT_ALLERGIES),
                patient.model_dump(mode="json", exclude=_DEMOGRAPHICS_EXCEPT_ALLERGIES),
            )
            if differing:
                notes.append(
                    f"patient {patient.mrn}: the document's {', '.join(differing)} differ from "
                    "the stored patient; the stored values were kept (import with "
                    "--update-patient to apply the document's)"
                )
        if wanted != stored:
            self._store.patients.update(existing.id, wanted, self._user, per_field=True)
        return existing.id

    def export_json(self, procedure_id: int, path: Path) -> Path:
        """Write `document(procedure_id)` as JSON to `path` atomically; audited as `export`.
        A signed procedure whose stored content no longer matches its signature is refused."""
        self._permissions.require("export")
        from tpi_chart.services.integrity import require_signed_intact

        require_signed_intact(self._charting, procedure_id)
        data = document_json(self._charting.document(procedure_id)).encode("utf-8")
        write_audited_export(
            self._store, self._user, self._charting.get(procedure_id), {path: data}, format="json"
        )
        return path

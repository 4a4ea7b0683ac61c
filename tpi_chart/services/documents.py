"""Importing and exporting procedure documents (`tpi-chart.procedure/1`, product.md §5)."""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from tpi_chart.domain.canonical import content_hash
from tpi_chart.domain.models import ExternalSignature, ProcedureDocument
from tpi_chart.domain.parsing import read_document_file
from tpi_chart.domain.users import User
from tpi_chart.services.access import DeniedHook, Permissions
from tpi_chart.domain.rules import evaluate
from tpi_chart.services.charting import ChartingService, StoredProcedure
from tpi_chart.services.errors import InvalidInput
from tpi_chart.storage.interfaces import Store


def document_json(document: ProcedureDocument) -> str:
    """The export text: sorted keys, 2-space indent, UTF-8 as is, trailing newline. It carries
    the claim lines (`billing`: CPT, HCPCS with modifiers, diagnosis pointers) for the biller."""
    data = document.to_json_dict()
    billing = evaluate(document).billing
    if billing is not None:
        data["billing"] = billing.model_dump(mode="json")
    return json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def write_atomically(path: Path, data: bytes) -> None:
    """Write to a temporary file beside `path`, fsync, rename over `path`, fsync the folder: a
    reader sees the old file or the new one, never a partial one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp_name, path)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise
    if hasattr(os, "O_DIRECTORY"):
        dir_fd = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


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
    """Write each file atomically and record one `export` audit row naming every file with its
    SHA-256, all in one transaction: a file that cannot be written leaves no audit row."""
    with store.transaction():
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
        for path, data in files.items():
            write_atomically(path, data)


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

    def import_documents(self, paths: Sequence[Path]) -> list[int]:
        """Store each document's procedure (with its sites, preparations, signature and addenda)
        and return the new procedure ids in the order of `paths`.

        A signed document is stored as an external record, read-only and never signed by a user
        of this clinic (`as_external`); an unsigned one as the draft it is.

        Patients are matched by MRN: a new MRN creates the patient; an existing patient is
        updated only if the document's patient data differs (audited). A document's
        `prior_procedures` are kept with its procedure as reported history (sessions given
        elsewhere count for the payer rules) and come back on export.

        All documents are validated first; if any is invalid, InvalidInput lists every problem
        (prefixed with the file name when several files are given) and nothing is written. The
        writes happen in one transaction.
        """
        self._permissions.require("import")
        documents: list[tuple[Path, ProcedureDocument]] = []
        problems: list[str] = []
        for path in paths:
            prefix = f"{path}: " if len(paths) > 1 else ""
            document, found = read_document(path, prefix)
            problems += found
            if document is not None:
                documents.append((path, as_external(document)))
        if problems:
            raise InvalidInput(problems)
        ids: list[int] = []
        with self._store.transaction():
            for path, document in documents:
                existing = self._store.patients.by_mrn(document.patient.mrn)
                if existing is None:
                    patient_id = self._store.patients.add(document.patient, self._user).id
                else:
                    patient_id = existing.id
                    if existing.patient != document.patient:
                        self._store.patients.update(patient_id, document.patient, self._user)
                record = self._store.procedures.add(
                    patient_id, document.procedure, self._user, document.prior_procedures
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
                ids.append(record.id)
        return ids

    def export_json(self, procedure_id: int, path: Path) -> Path:
        """Write `document(procedure_id)` as JSON to `path` atomically; audited as `export`."""
        self._permissions.require("export")
        data = document_json(self._charting.document(procedure_id)).encode("utf-8")
        write_audited_export(
            self._store, self._user, self._charting.get(procedure_id), {path: data}, format="json"
        )
        return path

"""Procedure notes: render, export (single and batch), verify, aftercare handout.

The PDF itself comes from :mod:`tpi_chart.pdf` (pure: document in, bytes out). This service adds
what needs the database and the clinic's settings: the stored document, the clinic name, phone
and page size, the export folder, stable file names, atomic writes and the audit trail.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from tpi_chart.domain.models import ProcedureDocument
from tpi_chart.domain.signatures import Trust
from tpi_chart.domain.users import User
from tpi_chart.pdf.note.options import NoteOptions, PageSize
from tpi_chart.services.access import DeniedHook, Permissions
from tpi_chart.services.charting import ChartingService
from tpi_chart.services.documents import document_json, write_audited_export
from tpi_chart.services.errors import InvalidInput
from tpi_chart.services.signed_notes import SignedNotes
from tpi_chart.storage.interfaces import Store

if TYPE_CHECKING:
    # pyHanko, which imports its network stack (aiohttp) whatever is done with it: an export or
    # a note shown in the window does not need it (a third of `tpi-chart export`'s imports).
    from tpi_chart.pdf.verify import VerifyResult
    from tpi_chart.services.pki import SigningAuthority

DEFAULT_CLINIC_NAME = "TPI Chart clinic"


def read_trust_file(path: Path) -> Trust:
    """A trust file from `tpi-chart ca export` (PEM certificate + revocation list)."""
    from tpi_chart.services import crypto  # cryptography's key formats: only `verify --trust`

    try:
        return crypto.read_trust_pem(path.read_bytes())
    except FileNotFoundError as error:
        raise InvalidInput([f"--trust: {path}: no such file"]) from error
    except (OSError, ValueError) as error:
        raise InvalidInput([f"--trust: {path}: not a clinic certificate file ({error})"]) from error


class ClinicSettings(Protocol):
    """What notes read from the settings service (tpi_chart.services.context.SettingsService)."""

    def clinic_name(self) -> str: ...

    def clinic_phone(self) -> str: ...

    def page_size(self) -> PageSize: ...

    def export_folder(self) -> Path: ...


@dataclass(frozen=True)
class ExportedNote:
    procedure_id: int
    pdf: Path
    json: Path
    signed: bool


@dataclass(frozen=True)
class PreparedExport:
    """An export read and checked on the database's thread (`NoteService.prepare_export`,
    `prepare_handout`). `render` is pure (domain objects in, bytes out), so the window runs it
    on its worker thread; `NoteService.write_export` then writes the files and audits them."""

    procedure_id: int
    pdf_path: Path
    document: ProcedureDocument
    options: NoteOptions
    format: str
    signed_pdf: bytes | None = field(default=None, repr=False)  # never drawn again
    handout: bool = False

    @property
    def signed(self) -> bool:
        return not self.handout and self.document.procedure.status == "signed"

    def render(self) -> dict[Path, bytes]:
        """The files to write: the handout; or the note and its JSON document beside it."""
        if self.handout:
            from tpi_chart.pdf.handout import render_handout  # not drawn by a note export

            return {self.pdf_path: render_handout(self.document, self.options)}
        pdf = self.signed_pdf
        if pdf is None:
            pdf = _draw(self.document, self.options)
        json = document_json(self.document).encode("utf-8")
        return {self.pdf_path: pdf, self.pdf_path.with_suffix(".json"): json}


def _draw(document: ProcedureDocument, options: NoteOptions) -> bytes:
    """A DRAFT (or external) note drawn. A signed note is never drawn again, so exporting one,
    alone or a day at a time, does not load the note's layout (reportlab's platypus: about a
    quarter of `tpi-chart export`'s process)."""
    from tpi_chart.pdf.note import ProcedureNoteRenderer

    return ProcedureNoteRenderer(document, options).render()


def note_file_name(document: ProcedureDocument, procedure_id: int) -> str:
    """``MRN_YYYY-MM-DD_<id>.pdf`` (``…_DRAFT.pdf`` when unsigned, ``…_EXTERNAL.pdf`` for a
    record signed elsewhere): stable, so re-exporting a
    note replaces the same file with the same bytes."""
    day = document.procedure.performed_at.date().isoformat()
    status = document.procedure.status
    draft = "" if status == "signed" else "_EXTERNAL" if status == "external" else "_DRAFT"
    return f"{document.patient.mrn}_{day}_{procedure_id}{draft}.pdf"


class NoteService:
    """Built for the signed-in `user`: rendering reads the chart (`view`, checked by the
    charting service), writing a file needs `export`."""

    def __init__(
        self,
        store: Store,
        charting: ChartingService,
        settings: ClinicSettings,
        user: User,
        *,
        on_denied: DeniedHook | None = None,
        authority: SigningAuthority | None = None,
    ) -> None:
        self._store = store
        self._charting = charting
        self._settings = settings
        self._permissions = Permissions(user, on_denied)
        self._user = user.username
        self._authority = authority
        self.signed = SignedNotes(store.pki, self.options)

    # ---- options ---------------------------------------------------------------------------

    def options(self) -> NoteOptions:
        """The clinic's note options from the settings (name, phone, Letter or A4)."""
        return NoteOptions(
            clinic_name=self._settings.clinic_name() or DEFAULT_CLINIC_NAME,
            clinic_phone=self._settings.clinic_phone() or None,
            page_size=self._settings.page_size(),
        )

    # ---- rendering -------------------------------------------------------------------------

    def render(self, procedure_id: int) -> bytes:
        """The note PDF of a stored procedure: the signed PDF itself once signed (never drawn
        again), a DRAFT note before."""
        self._permissions.require("view")
        stored = self.signed.stored(procedure_id)
        if stored is not None:
            return stored.pdf
        return _draw(self._charting.document(procedure_id), self.options())

    def render_handout(self, procedure_id: int) -> bytes:
        self._permissions.require("view")
        from tpi_chart.pdf.handout import render_handout

        return render_handout(self._charting.document(procedure_id), self.options())

    def trust(self) -> Trust:
        """This clinic's trust root and revocations (refuses a root that differs from the one
        recorded outside the database at set-up)."""
        if self._authority is None:
            raise InvalidInput(["--trust: this database has no signing authority to trust"])
        return self._authority.trust()

    def verify(self, pdf: bytes, trust: Trust | None = None) -> VerifyResult:
        from tpi_chart.pdf.verify import verify_note

        return verify_note(pdf, trust if trust is not None else self.trust())

    def verify_file(self, path: Path, trust: Trust | None = None) -> VerifyResult:
        return self.verify(path.read_bytes(), trust)

    # ---- export ----------------------------------------------------------------------------

    def _folder(self, folder: Path | None) -> Path:
        return folder or self._settings.export_folder()

    def export(self, procedure_id: int, folder: Path | None = None) -> Path:
        """Write the note (and the JSON document beside it) to the export folder; returns the
        PDF path. Signed → ``MRN_date_id.pdf``; unsigned → ``MRN_date_id_DRAFT.pdf``."""
        return self._export(self.prepare_export(procedure_id, folder)).pdf

    def export_handout(self, procedure_id: int, folder: Path | None = None) -> Path:
        """Write the patient's aftercare handout beside the notes (``…_aftercare.pdf``)."""
        return self._export(self.prepare_handout(procedure_id, folder)).pdf

    def export_to(
        self, procedure_id: int, path: Path, *, document: ProcedureDocument | None = None
    ) -> ExportedNote:
        """Write the note to ``path`` (atomically) and the JSON to ``path.with_suffix('.json')``;
        audited as ``export``."""
        return self._export(self._prepare_note(procedure_id, path, document))

    def _export(self, prepared: PreparedExport) -> ExportedNote:
        return self.write_export(prepared, prepared.render())

    def prepare_export(self, procedure_id: int, folder: Path | None = None) -> PreparedExport:
        """The reading half of `export`: permission, an intact signature, the document."""
        self._permissions.require("export")
        document = self._charting.document(procedure_id)
        path = self._folder(folder) / note_file_name(document, procedure_id)
        return self._prepare_note(procedure_id, path, document)

    def _prepare_note(
        self, procedure_id: int, path: Path, document: ProcedureDocument | None
    ) -> PreparedExport:
        self._permissions.require("export")
        from tpi_chart.services.integrity import require_signed_intact

        require_signed_intact(self._charting, procedure_id)  # no signature over altered content
        document = document or self._charting.document(procedure_id)
        stored = self.signed.stored(procedure_id)
        if stored is not None:
            # The signed bytes, and the evaluation as signed (billing reads its codes).
            frozen = self.signed.frozen_evaluation(procedure_id)
            if frozen is not None:
                document = document.model_copy(update={"signed_evaluation": frozen.evaluation})
        return PreparedExport(
            procedure_id,
            path,
            document,
            self.options(),
            "note pdf + json",
            signed_pdf=None if stored is None else stored.pdf,
        )

    def prepare_handout(self, procedure_id: int, folder: Path | None = None) -> PreparedExport:
        """The reading half of `export_handout`."""
        self._permissions.require("export")
        document = self._charting.document(procedure_id)
        day = document.procedure.performed_at.date().isoformat()
        path = self._folder(folder) / f"{document.patient.mrn}_{day}_{procedure_id}_aftercare.pdf"
        return PreparedExport(
            procedure_id, path, document, self.options(), "aftercare handout pdf", handout=True
        )

    def write_export(self, prepared: PreparedExport, files: dict[Path, bytes]) -> ExportedNote:
        """The writing half: the files rendered from `prepared`, written atomically and audited
        as ``export`` (on the database's thread)."""
        self._permissions.require("export")
        details: dict[str, object] = {"format": prepared.format}
        if not prepared.handout:
            details["signed"] = prepared.signed
        write_audited_export(
            self._store, self._user, self._charting.get(prepared.procedure_id), files, **details
        )
        path = prepared.pdf_path
        return ExportedNote(prepared.procedure_id, path, path.with_suffix(".json"), prepared.signed)

    def signed_between(self, start: date, end: date) -> list[int]:
        """Ids of signed procedures performed from ``start`` to ``end`` (inclusive, by the date of
        service as charted), oldest first."""
        self._permissions.require("view")
        if end < start:
            raise InvalidInput([f"--to: {end.isoformat()} is before --from {start.isoformat()}"])
        return self._store.procedures.signed_between(start.isoformat(), end.isoformat())

    def export_signed_between(
        self, start: date, end: date, folder: Path | None = None
    ) -> list[Path]:
        """Export every signed note of the date range; returns the PDF paths written."""
        target = self._folder(folder)
        return [
            self.export(procedure_id, target) for procedure_id in self.signed_between(start, end)
        ]

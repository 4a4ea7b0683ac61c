"""The outbox's files, made in three steps so that the window draws nothing on its own thread:
`InteropService.prepare_pending` reads the pending items and their signed notes (the database's
thread), `PendingBatch.render` makes every file from those values alone (the worker thread:
drawing a note with reportlab, whose font registry is shared by the whole process, runs there
and only there, one at a time), `InteropService.finish_pending` writes, audits and marks them
(the database's thread). The command line runs the three in a row (`send_pending`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from tpi_chart.domain.errors import DomainError
from tpi_chart.domain.models import ProcedureDocument
from tpi_chart.services.documents import document_json
from tpi_chart.storage.interfaces import OutboxItem

if TYPE_CHECKING:
    from tpi_chart.domain.rules import Evaluation
    from tpi_chart.interop.model import ChargeLine, SignedNote
    from tpi_chart.pdf.note import NoteOptions  # reportlab: loaded when a note is drawn
    from tpi_chart.services.interop import Format


class ExportFailed(DomainError):
    """A message did not validate: nothing was written."""


def file_names(note: SignedNote, fmt: Format) -> tuple[str, ...]:
    """Stable names: a re-send replaces the same files."""
    stem = note.file_stem
    return {
        "pdf": (f"{stem}.pdf",),
        "json": (f"{stem}.json",),
        "fhir": (f"{stem}.fhir.json",),
        "hl7": (f"{stem}.mdm.hl7", f"{stem}.dft.hl7"),
    }[fmt]


def note_files(note: SignedNote, fmt: Format) -> dict[str, bytes]:
    """The files of one format by name (validated FHIR; HL7 as two messages)."""
    # The message builders are loaded when a file is made, not when the window starts.
    from tpi_chart.interop.fhir import build_bundle, bundle_json, validate_bundle
    from tpi_chart.interop.hl7v2 import build_dft, build_mdm

    names = file_names(note, fmt)
    if fmt == "pdf":
        return {names[0]: note.pdf}
    if fmt == "json":
        return {names[0]: document_json(note.document).encode("utf-8")}
    if fmt == "fhir":
        problems = validate_bundle(build_bundle(note))
        if problems:
            raise ExportFailed(
                "the FHIR bundle did not validate and was not written: " + "; ".join(problems)
            )
        return {names[0]: bundle_json(note)}
    files = {names[0]: build_mdm(note).encode("utf-8")}
    if note.charges:  # nothing billable (no injected site), no financial transaction
        files[names[1]] = build_dft(note).encode("utf-8")
    return files


def describe_error(error: BaseException) -> str:
    if isinstance(error, OSError):
        where = f"{error.filename}: " if error.filename else ""
        return f"{where}{error.strerror or error}"
    return str(error)


@dataclass(frozen=True)
class PendingNote:
    """A signed note as read for the outbox. `pdf` is the stored, PAdES-signed note; None for
    a record imported already signed, whose note `note()` draws from its signed document."""

    clinic_id: str
    clinic_name: str
    procedure_id: int
    document: ProcedureDocument
    evaluation: Evaluation
    charges: tuple[ChargeLine, ...]
    pdf: bytes | None = field(repr=False)
    options: NoteOptions

    def note(self) -> SignedNote:
        # The message model (and the rules it names) is loaded when a file is made, not when
        # the window starts and imports this module to count the pending files.
        from tpi_chart.interop.model import SignedNote

        pdf = self.pdf
        if pdf is None:
            from tpi_chart.pdf.note import ProcedureNoteRenderer

            pdf = ProcedureNoteRenderer(self.document, self.options).render()
        return SignedNote(
            clinic_id=self.clinic_id,
            clinic_name=self.clinic_name,
            procedure_id=self.procedure_id,
            document=self.document,
            evaluation=self.evaluation,
            charges=self.charges,
            pdf=pdf,
        )


@dataclass(frozen=True)
class RenderedBatch:
    files: Mapping[int, dict[str, bytes]]  # by outbox item id
    errors: Mapping[int, str]  # by outbox item id: why its files could not be made


@dataclass(frozen=True)
class PendingBatch:
    folder: Path
    items: tuple[OutboxItem, ...]
    notes: Mapping[int, PendingNote]  # by procedure id
    unreadable: Mapping[int, str]  # by procedure id: why its note could not be read

    def render(self) -> RenderedBatch:
        """Every pending item's files (each note drawn at most once); touches no database."""
        files: dict[int, dict[str, bytes]] = {}
        errors: dict[int, str] = {}
        drawn: dict[int, SignedNote] = {}
        for item in self.items:
            fmt: Format = item.format  # type: ignore[assignment]
            why = self.unreadable.get(item.procedure_id)
            if why is not None:
                errors[item.id] = f"{fmt} of procedure {item.procedure_id}: {why}"
                continue
            try:
                note = drawn.get(item.procedure_id) or self.notes[item.procedure_id].note()
                drawn[item.procedure_id] = note
                files[item.id] = note_files(note, fmt)
            except DomainError as error:
                errors[item.id] = f"{fmt} of procedure {item.procedure_id}: {describe_error(error)}"
        return RenderedBatch(files, errors)

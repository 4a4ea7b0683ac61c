"""Sending signed notes to a record system (issue 19): FHIR, HL7 v2, the outbox, lot recall and
the charges report.

The messages come from :mod:`tpi_chart.interop` (pure); this service adds the stored document,
the signed PDF, the clinic's settings, stable file names, atomic writes and the audit trail. Lot
recall and the charges report list patients, so writing or printing them is audited as a PHI
export.
"""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Literal, Protocol, get_args

from tpi_chart.domain.catalog import load_catalog
from tpi_chart.domain.errors import DomainError
from tpi_chart.domain.models import ProcedureDocument
from tpi_chart.domain.users import User
from tpi_chart.services.access import LIST_ROLES, DeniedHook
from tpi_chart.services.charting import ChartingService
from tpi_chart.services.documents import write_atomically, write_audited_export
from tpi_chart.services.errors import InvalidInput
from tpi_chart.services.outbox import (
    PendingBatch,
    PendingNote,
    RenderedBatch,
    describe_error,
    note_files,
)
from tpi_chart.storage.interfaces import Store

if TYPE_CHECKING:
    # The rules and the message model: loaded when a note is filed or a list made; the window
    # builds this service at start only to count the outbox's pending files.
    from tpi_chart.domain.rules import Evaluation
    from tpi_chart.interop.model import ChargeLine, SignedNote
    from tpi_chart.services.notes import NoteService
    from tpi_chart.storage.interfaces import OutboxItem

Format = Literal["pdf", "json", "fhir", "hl7"]
FORMATS: tuple[Format, ...] = get_args(Format)
FORMAT_LABELS: dict[Format, str] = {
    "pdf": "signed note PDF",
    "json": "procedure document JSON",
    "fhir": "FHIR R4 bundle",
    "hl7": "HL7 v2.5.1 MDM^T02 and DFT^P03",
}
#: The clinic's outbox formats (a setting); unset means what signing always filed: PDF and JSON.
OUTBOX_FORMATS = "outbox_formats"
DEFAULT_OUTBOX_FORMATS: tuple[Format, ...] = ("pdf", "json")


def clinic_outbox_formats(value: str | None) -> tuple[Format, ...]:
    """The formats signing files, from the `outbox_formats` setting's stored value."""
    if value is None:
        return DEFAULT_OUTBOX_FORMATS
    return tuple(f for f in FORMATS if f in value.split(","))


def _charge_lines(document: ProcedureDocument, evaluation: Evaluation) -> tuple[ChargeLine, ...]:
    # The charge rules load the billing code tables (about 8 ms): imported when a note is
    # filed or a list made, not by the window's start, which only counts the pending files.
    from tpi_chart.interop.charges import charge_lines

    return charge_lines(document, evaluation)


class NotSigned(DomainError):
    """Only a signed note goes to the record system."""


class ListsNotAllowed(DomainError):
    """The clinic lists name patients: administrators and assistants run them."""

    def __init__(self, user: User) -> None:
        super().__init__(
            "only an administrator or a medical assistant can run the clinic lists (lot recall, "
            f"charges); {user.display_name} is signed in as {user.role_text.lower()}"
        )


class ClinicInfo(Protocol):
    def clinic_name(self) -> str: ...

    def export_folder(self) -> Path: ...


@dataclass(frozen=True)
class RecallRow:
    """One procedure that used the lot (one row per agent of that lot in it); the fields in the
    order of the CSV's columns."""

    performed_at: datetime
    procedure_id: int
    mrn: str
    family_name: str
    given_name: str
    birth_date: date
    phone: str
    agent: str
    lot: str
    sites: str
    physician: str
    status: str


@dataclass(frozen=True)
class ChargeRow:
    """One charge line of a signed procedure; the fields in the order of the CSV's columns."""

    performed_at: datetime
    procedure_id: int
    mrn: str
    patient: str
    kind: str
    code: str
    units: int
    modifiers: str
    diagnoses: str
    physician: str
    signed_at: datetime


@dataclass(frozen=True)
class OutboxResult:
    sent: int
    failed: tuple[str, ...]


#: CSV column names that differ from the row's field name.
CSV_COLUMN_NAMES = {"performed_at": "date", "kind": "type"}


def _cell(name: str, value: object) -> object:
    if name == "performed_at" and isinstance(value, datetime):
        return value.date().isoformat()  # the date of service
    if isinstance(value, date):  # datetimes included
        return value.isoformat()
    return value


def _csv(rows: Sequence[RecallRow] | Sequence[ChargeRow], row_type: type) -> bytes:
    """One column per field of `row_type`, a header line, a BOM so spreadsheet programs read
    the names as UTF-8."""
    names = [f.name for f in fields(row_type)]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(CSV_COLUMN_NAMES.get(name, name) for name in names)
    writer.writerows([_cell(name, getattr(row, name)) for name in names] for row in rows)
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


class InteropService:
    def __init__(
        self,
        store: Store,
        charting: ChartingService,
        notes: Callable[[], NoteService],
        settings: ClinicInfo,
        user: str,
        *,
        actor: User | None = None,
        on_denied: DeniedHook | None = None,
    ) -> None:
        self._store = store
        self._charting = charting
        self._notes = notes
        self._settings = settings
        self._user = user
        self._actor = actor
        self._on_denied = on_denied

    # ---- the signed note -------------------------------------------------------------------

    def signed_pdf(self, procedure_id: int) -> bytes:
        """The signed note's PDF: for a note signed in the app the stored, PAdES-signed bytes
        (never drawn again); a note imported already signed has none stored and is drawn from
        its signed document."""
        return self._notes().render(procedure_id)

    def evaluation(self, document: ProcedureDocument, procedure_id: int) -> Evaluation:
        """What billing reads: the evaluation frozen at signing when there is one (a later
        formulary or payer profile never changes a signed note's charges), else today's."""
        from tpi_chart.domain.rules import Evaluation, evaluate

        frozen = self._notes().signed.frozen_evaluation(procedure_id)
        if frozen is not None:
            return Evaluation.model_validate(frozen.evaluation)
        return evaluate(document)

    def signed_note(self, procedure_id: int) -> SignedNote:
        return self.pending_note(procedure_id).note()

    def pending_note(self, procedure_id: int) -> PendingNote:
        """The signed note as read here. Its PDF is the stored, PAdES-signed one (never drawn
        again); a record imported already signed has none, and `note()` draws it."""
        document = self._charting.document(procedure_id)
        if document.procedure.status != "signed":
            raise NotSigned(
                f"procedure {procedure_id} is not signed; only signed notes go to the record system"
            )
        evaluation = self.evaluation(document, procedure_id)
        notes = self._notes()
        stored = notes.signed.stored(procedure_id)
        return PendingNote(
            clinic_id=self._store.clinic_id,
            clinic_name=self._settings.clinic_name() or "TPI Chart clinic",
            procedure_id=procedure_id,
            document=document,
            evaluation=evaluation,
            charges=_charge_lines(document, evaluation),
            pdf=stored.pdf if stored is not None else None,
            options=notes.options(),
        )

    def charges_of(self, document: ProcedureDocument, procedure_id: int) -> tuple[ChargeLine, ...]:
        return _charge_lines(document, self.evaluation(document, procedure_id))

    def render(
        self, procedure_id: int, fmt: Format, note: SignedNote | None = None
    ) -> dict[str, bytes]:
        """The files of one format by name (validated FHIR; HL7 as two messages). `note`: the
        procedure's `signed_note`, when the caller sends several formats (rendered once)."""
        return note_files(note or self.signed_note(procedure_id), fmt)

    # ---- export ----------------------------------------------------------------------------

    def export(self, procedure_id: int, fmt: Format, out: Path) -> list[Path]:
        """Write one format to `out` (HL7: the MDM to `out`, the DFT, when there is something
        to bill, beside it as `<out stem>.dft<suffix>`); audited as `export`."""
        files = list(self.render(procedure_id, fmt).values())
        paths = [out, out.with_name(f"{out.stem}.dft{out.suffix or '.hl7'}")]
        targets = dict(zip(paths, files, strict=False))
        write_audited_export(
            self._store, self._user, self._charting.get(procedure_id), targets, format=fmt
        )
        return paths

    def export_to_folder(
        self, procedure_id: int, fmt: Format, folder: Path, note: SignedNote | None = None
    ) -> list[Path]:
        files = self.render(procedure_id, fmt, note)
        targets = {folder / name: data for name, data in files.items()}
        write_audited_export(
            self._store, self._user, self._charting.get(procedure_id), targets, format=fmt
        )
        return list(targets)

    def export_between(
        self, start: date, end: date, folder: Path, formats: Sequence[Format]
    ) -> list[Path]:
        """Every signed note performed from `start` to `end`, in each format."""
        written: list[Path] = []
        for procedure_id in self._notes().signed_between(start, end):
            note = self.signed_note(procedure_id)
            for fmt in formats:
                written += self.export_to_folder(procedure_id, fmt, folder, note)
        return written

    # ---- outbox ----------------------------------------------------------------------------

    def outbox_formats(self) -> tuple[Format, ...]:
        return clinic_outbox_formats(self._store.settings.get(OUTBOX_FORMATS))

    def set_outbox_formats(self, formats: Sequence[str]) -> None:
        if self._actor is not None:
            from tpi_chart.services.access import require

            require(self._actor, "manage_settings", on_denied=self._on_denied)
        unknown = [f for f in formats if f not in FORMATS]
        if unknown:
            raise InvalidInput(
                [
                    f"settings.outbox_formats: {', '.join(unknown)} is not a format; "
                    f"choose from {', '.join(FORMATS)}"
                ]
            )
        value = ",".join(f for f in FORMATS if f in formats)
        if self._store.settings.get(OUTBOX_FORMATS) != value:
            self._store.settings.set(OUTBOX_FORMATS, value, self._user)

    def queue(self, procedure_id: int) -> OutboxResult:
        """After signing or an addendum: queue the clinic's formats for this event, then send
        everything pending. A file that cannot be written stays pending (and visible)."""
        self.enqueue(procedure_id)
        return self.send_pending()

    def enqueue(self, procedure_id: int) -> None:
        """Queue the clinic's formats for the procedure's latest event (signed or addendum)."""
        document = self._charting.document(procedure_id)
        if document.procedure.status != "signed":
            raise NotSigned(f"procedure {procedure_id} is not signed; nothing was queued")
        addenda = len(document.procedure.addenda)
        event = "signed" if addenda == 0 else f"addendum-{addenda}"
        formats = self.outbox_formats()
        if formats:
            self._store.outbox.enqueue(procedure_id, event, formats)

    def send_pending(self) -> OutboxResult:
        """Try every pending item once, oldest first: the three steps of `services.outbox` in a
        row. An item whose procedure has a newer event queued writes the current files (names
        are stable, content is the latest)."""
        batch = self.prepare_pending()
        return self.finish_pending(batch, batch.render())

    def prepare_pending(self) -> PendingBatch:
        """The pending items and their signed notes, read here; `render` makes the files."""
        items = tuple(self._store.outbox.pending())
        notes: dict[int, PendingNote] = {}
        unreadable: dict[int, str] = {}
        for procedure_id in dict.fromkeys(item.procedure_id for item in items):
            try:
                notes[procedure_id] = self.pending_note(procedure_id)
            except DomainError as error:
                unreadable[procedure_id] = describe_error(error)
        return PendingBatch(self._settings.export_folder(), items, notes, unreadable)

    def finish_pending(self, batch: PendingBatch, rendered: RenderedBatch) -> OutboxResult:
        """Write and audit the files `batch.render()` made; mark each item sent or failed (a
        file that cannot be written stays pending, and visible)."""
        sent = 0
        failed: list[str] = []
        for item in batch.items:
            files = rendered.files.get(item.id)
            message = rendered.errors.get(item.id)
            if files is not None:
                targets = {batch.folder / name: data for name, data in files.items()}
                try:
                    write_audited_export(
                        self._store,
                        self._user,
                        self._charting.get(item.procedure_id),
                        targets,
                        format=item.format,
                    )
                except (DomainError, OSError) as error:
                    message = f"{item.format} of procedure {item.procedure_id}: "
                    message += describe_error(error)
                else:
                    self._store.outbox.mark_sent(item.id, tuple(str(p) for p in targets))
                    sent += 1
                    continue
            message = message or f"{item.format} of procedure {item.procedure_id}: not made"
            self._store.outbox.mark_failed(item.id, message)
            failed.append(message)
        return OutboxResult(sent, tuple(failed))

    def pending_count(self) -> int:
        return self._store.outbox.pending_count()

    def pending(self) -> list[OutboxItem]:
        return self._store.outbox.pending()

    # ---- clinic lists ----------------------------------------------------------------------

    def _require_lists(self) -> None:
        actor = self._actor
        if actor is None:  # the command line: trusted, as every command is
            return
        if actor.active and actor.roles & LIST_ROLES:
            return
        if self._on_denied is not None:
            self._on_denied(actor, "export")
        raise ListsNotAllowed(actor)

    def lot_recall(self, lot: str) -> list[RecallRow]:
        """Every procedure whose syringes used `lot` (any case), oldest first, with the patient's
        identifying fields and the sites that received it. Audited as a PHI export."""
        lot = lot.strip()
        if not lot:
            raise InvalidInput(["lot: give the lot number to look for"])
        self._require_lists()
        catalog = load_catalog()
        rows: list[RecallRow] = []
        seen: set[tuple[int, str]] = set()
        for record, procedure_id, agent in self._store.patients.with_lot(lot):
            if (procedure_id, agent) in seen:
                continue
            seen.add((procedure_id, agent))
            procedure = self._charting.get(procedure_id).procedure
            preparations = {
                p.id
                for p in procedure.preparations
                for c in p.components
                if c.agent == agent and c.lot is not None and c.lot.casefold() == lot.casefold()
            }
            sites = [
                f"{number} {catalog.muscle_name(site.muscle)} ({site.side})"
                for number, site in enumerate(procedure.sites, start=1)
                if site.state == "injected" and site.preparation in preparations
            ]
            actual_lot = next(
                c.lot
                for p in procedure.preparations
                for c in p.components
                if c.agent == agent and c.lot is not None and c.lot.casefold() == lot.casefold()
            )
            patient = record.patient
            rows.append(
                RecallRow(
                    procedure_id=procedure_id,
                    performed_at=procedure.performed_at,
                    mrn=patient.mrn,
                    family_name=patient.family_name,
                    given_name=patient.given_name,
                    birth_date=patient.birth_date,
                    phone=patient.phone or "",
                    agent=catalog.agents[agent].name,
                    lot=actual_lot,
                    sites="; ".join(sites),
                    physician=procedure.physician or "",
                    status=procedure.status,
                )
            )
        return rows

    @staticmethod
    def recall_csv(rows: Sequence[RecallRow]) -> bytes:
        return _csv(rows, RecallRow)

    def charges_between(self, start: date, end: date) -> list[ChargeRow]:
        """One row per charge line of every signed procedure performed in the range."""
        self._require_lists()
        rows: list[ChargeRow] = []
        for procedure_id in self._notes().signed_between(start, end):
            document = self._charting.document(procedure_id)
            procedure = document.procedure
            signature = procedure.signature
            assert signature is not None
            for line in self.charges_of(document, procedure_id):
                pointed = [
                    procedure.diagnoses[p - 1]
                    for p in line.diagnosis_pointers
                    if 0 < p <= len(procedure.diagnoses)
                ]
                rows.append(
                    ChargeRow(
                        procedure_id=procedure_id,
                        performed_at=procedure.performed_at,
                        mrn=document.patient.mrn,
                        patient=document.patient.display_name,
                        kind=line.kind,
                        code=line.code,
                        units=line.units,
                        modifiers=" ".join(line.modifiers),
                        diagnoses=" ".join(pointed),
                        physician=signature.signed_by,
                        signed_at=signature.signed_at,
                    )
                )
        return rows

    @staticmethod
    def charges_csv(rows: Sequence[ChargeRow]) -> bytes:
        return _csv(rows, ChargeRow)

    def audit_list(
        self,
        report: str,
        criteria: dict[str, str],
        rows: int,
        path: Path | None,
        data: bytes,
        *,
        where: str = "printed",
    ) -> None:
        """Record that a clinic list left the app: written to `path`, else `where` (printed on
        the terminal, shown on screen)."""
        self._store.audit.record(
            user=self._user,
            action="export",
            entity="report",
            after={
                "report": report,
                **criteria,
                "rows": rows,
                "file": str(path) if path is not None else f"({where})",
                "sha256": hashlib.sha256(data).hexdigest(),
            },
        )

    def write_list(
        self, report: str, criteria: dict[str, str], rows: int, path: Path, data: bytes
    ) -> Path:
        """Write a list's CSV atomically; the audit row and the file go together."""
        with self._store.transaction():
            self.audit_list(report, criteria, rows, path, data)
            write_atomically(path, data)
        return path

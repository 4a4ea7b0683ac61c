"""Signing a procedure note and adding addenda (product.md §2, §9 "signed means frozen", S7).

Signing needs a physician, every required item documented (`domain.signing.missing_items`) and a
reason for each open rule warning. The signature stores who, when, the acknowledgements and the
SHA-256 of the canonical content (`domain.canonical.content_hash`), as OpenEMR's e-sign stores a
hash of the signed form. After signing the database triggers freeze the procedure; corrections are
addenda, each hashed together with the hash of the note it amends (`addendum_hash`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol

from pydantic import ValidationError

from tpi_chart.domain.canonical import addendum_hash, content_hash
from tpi_chart.domain.errors import DomainError, InvalidInput, describe_validation_error
from tpi_chart.domain.models import (
    Addendum,
    PriorProcedure,
    Procedure,
    ProcedureDocument,
    Signature,
    Site,
)
from tpi_chart.domain.rules import RuleWarning, evaluate
from tpi_chart.domain.signing import (
    DEFAULT_REQUIRED,
    MissingItem,
    NoteField,
    acknowledgement_records,
    missing_items,
    not_documented,
    unacknowledged,
)
from tpi_chart.domain.status import next_status
from tpi_chart.domain.users import User
from tpi_chart.services.access import Action, DeniedHook, require
from tpi_chart.services.errors import ProcedureLocked
from tpi_chart.services.procedure_values import validate_procedure
from tpi_chart.services.timing import (
    ClockWentBackwards,
    SigningTooEarly,
    clock_went_back,
    too_early,
)
from tpi_chart.storage.interfaces import ProcedureRecord

if TYPE_CHECKING:
    from tpi_chart.domain.signatures import SignerKey
    from tpi_chart.services.signed_notes import AddendumToSign, NoteToSign, SignedNotes

Clock = Callable[[], datetime]
#: Audits a clock found behind the latest audited event: (who, now, latest, confirmed).
ClockHook = Callable[[User, datetime, datetime, bool], None]


class SignerKeys(Protocol):
    """Where a physician's unlocked signing key comes from (services.pki.SigningAuthority)."""

    def signer_for(self, user: User) -> SignerKey: ...


class StoredProcedureLike(Protocol):
    @property
    def id(self) -> int: ...

    @property
    def procedure(self) -> Procedure: ...

    @property
    def version(self) -> int: ...

    @property
    def site_ids(self) -> tuple[int, ...]: ...

    @property
    def site_versions(self) -> tuple[int, ...]: ...


class ChartingLike(Protocol):
    """What signing needs from `ChartingService`."""

    def get(self, procedure_id: int) -> StoredProcedureLike: ...

    def document(self, procedure_id: int) -> ProcedureDocument: ...

    def update(self, procedure_id: int, changes: dict[str, Any]) -> StoredProcedureLike: ...


class SigningStore(Protocol):
    """What signing needs from the store's procedure repository."""

    def sign(
        self,
        procedure_id: int,
        signature: Signature,
        user: str,
        prior_procedures: tuple[PriorProcedure, ...] | None = None,
    ) -> ProcedureRecord: ...

    def add_addendum(self, procedure_id: int, addendum: Addendum, user: str) -> ProcedureRecord: ...


class SigningRefused(DomainError):
    """Signing or an addendum was refused; the message says what to do."""


class AlreadySigned(SigningRefused, ProcedureLocked):
    def __init__(self, signature: Signature) -> None:
        self.signature = signature
        super().__init__(
            f"This note was signed by {signature.signed_by} on {format_time(signature.signed_at)}; "
            "add an addendum instead"
        )


class NotReadyToSign(SigningRefused):
    """Required items missing and/or warnings not acknowledged: one line per problem."""

    def __init__(self, missing: Sequence[MissingItem], unacknowledged_codes: Sequence[str]) -> None:
        self.missing = tuple(missing)
        self.unacknowledged = tuple(unacknowledged_codes)
        lines = ["The note cannot be signed yet:"]
        lines += [f"- {item}" for item in self.missing]
        if self.unacknowledged:
            lines.append(
                "- warnings not acknowledged (give a reason for each): "
                + ", ".join(self.unacknowledged)
            )
        super().__init__("\n".join(lines))


@dataclass(frozen=True)
class Readiness:
    """What stands between a procedure and its signature."""

    procedure_id: int
    missing: tuple[MissingItem, ...]
    warnings: tuple[RuleWarning, ...]
    signature: Signature | None = None
    #: every field the note would print as not documented, in the note's order
    not_documented: tuple[NoteField, ...] = ()

    @property
    def signed(self) -> bool:
        return self.signature is not None

    @property
    def codes_to_acknowledge(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(warning.code for warning in self.warnings))

    def ready(self, acknowledgements: Mapping[str, str] | None = None) -> bool:
        return (
            not self.signed
            and not self.missing
            and not unacknowledged(self.warnings, acknowledgements or {})
        )


class ProcedureChanged(SigningRefused):
    """The procedure was saved again between drawing its note and storing the signature."""

    def __init__(self) -> None:
        super().__init__(
            "The procedure changed while the note was being prepared; nothing was signed. "
            "Sign again."
        )


@dataclass(frozen=True)
class PreparedSigning:
    """A signature checked and made (`SigningService.prepare_sign`), not stored. `render`
    draws and signs its note from these values alone, so it may run on the worker thread;
    `finish_sign` stores both if the procedure is still at the versions read here."""

    procedure_id: int
    user: User
    signature: Signature
    document: ProcedureDocument  # as it reads once signed
    version: int
    site_ids: tuple[int, ...]
    site_versions: tuple[int, ...]
    rename: bool  # the note names another physician: the signer's name is stored with it
    note: NoteToSign | None  # None: no signing key here, only the signature record is kept

    def render(self) -> bytes | None:
        return self.note.render() if self.note is not None else None


@dataclass(frozen=True)
class PreparedAddendum:
    """An addendum checked and hashed (`SigningService.prepare_addendum`), not stored; `render`
    appends it to the signed note from these values alone (the worker thread)."""

    procedure_id: int
    user: User
    addendum: Addendum  # hashed with the note it amends
    addenda_before: int
    note: AddendumToSign | None  # None: no key here, or a note signed before 0.2

    def render(self) -> bytes | None:
        return self.note.render() if self.note is not None else None


def format_time(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M %z").strip()


def _now() -> datetime:
    return datetime.now(UTC).astimezone()


class SigningService:
    def __init__(
        self,
        charting: ChartingLike,
        procedures: SigningStore,
        *,
        clock: Clock = _now,
        transaction: Callable[[], AbstractContextManager[object]] | None = None,
        on_denied: DeniedHook | None = None,
        user: User | None = None,
        latest_event: Callable[[], datetime | None] | None = None,
        on_clock_backwards: ClockHook | None = None,
        keys: SignerKeys | None = None,
        signed_notes: Callable[[], SignedNotes] | None = None,
        required: Callable[[], frozenset[str]] | None = None,
        on_signed: Callable[[int, str], None] | None = None,
    ) -> None:
        self._required = required if required is not None else (lambda: DEFAULT_REQUIRED)
        self._charting = charting
        self._procedures = procedures
        self._clock = clock
        self._transaction = transaction if transaction is not None else nullcontext
        self._on_denied = on_denied
        # Built for the signed-in person (`build_services`): only they sign through it.
        self._user = user
        self._latest_event = latest_event
        self._on_clock_backwards = on_clock_backwards
        # Without them (unit tests of the rules of signing) only the signature record is kept.
        self._keys = keys
        self._signed_notes = signed_notes
        # Called inside the signing transaction with (procedure id, event): the note's filing is
        # queued (the durable outbox) with the signature or not at all, so a signed note is
        # always filed or visibly pending.
        self._on_signed = on_signed

    def _signer(self, user: User) -> SignerKey | None:
        return self._keys.signer_for(user) if self._keys is not None else None

    def required(self) -> frozenset[str]:
        """The note fields the clinic requires before signing."""
        return self._required()

    def readiness(self, procedure_id: int, *, allow_planned_sites: bool = False) -> Readiness:
        stored = self._charting.get(procedure_id)
        document = self._charting.document(procedure_id)
        return Readiness(
            procedure_id=procedure_id,
            missing=tuple(self._missing(document, allow_planned_sites)),
            warnings=evaluate(document).warnings,
            signature=stored.procedure.signature,
            not_documented=tuple(not_documented(document.procedure, document.prior_procedures)),
        )

    def _missing(self, document: ProcedureDocument, allow_planned_sites: bool) -> list[MissingItem]:
        return missing_items(
            document.procedure,
            allow_planned_sites=allow_planned_sites,
            required=self._required(),
            prior_procedures=document.prior_procedures,
        )

    def preload(self) -> None:
        """Import what signing a note needs (`signed_notes.import_note_signing`) ahead of the
        first signature, for a person about to sign; nothing where this service draws no note.
        Pure: for a worker thread."""
        if self._keys is not None and self._signed_notes is not None:
            from tpi_chart.services.signed_notes import import_note_signing

            import_note_signing()

    def sign(
        self,
        procedure_id: int,
        user: User,
        acknowledgements: Mapping[str, str] | None = None,
        *,
        allow_planned_sites: bool = False,
        confirm_clock: bool = False,
    ) -> StoredProcedureLike:
        """Sign as `user` (a physician): `prepare_sign`, its `render`, then `finish_sign`, one
        after the other (the command line; the window draws the note on its worker thread)."""
        prepared = self.prepare_sign(
            procedure_id,
            user,
            acknowledgements,
            allow_planned_sites=allow_planned_sites,
            confirm_clock=confirm_clock,
        )
        return self.finish_sign(prepared, prepared.render())

    def prepare_sign(
        self,
        procedure_id: int,
        user: User,
        acknowledgements: Mapping[str, str] | None = None,
        *,
        allow_planned_sites: bool = False,
        confirm_clock: bool = False,
    ) -> PreparedSigning:
        """Check and make the signature as `user` (a physician); nothing is stored yet.
        `acknowledgements` maps each open warning code to the reason it is accepted. Refuses
        with AlreadySigned or NotReadyToSign. The signing time is this computer's clock:
        SigningTooEarly when that is before what the note records (date of service, consent,
        time-out, an injection); ClockWentBackwards (audited) when the clock is behind the
        latest audited event, unless `confirm_clock`."""
        self._require(user, "sign")
        now = self._checked_now(user, confirm_clock)
        signer = self._signer(user)
        reasons = dict(acknowledgements or {})
        stored = self._charting.get(procedure_id)
        if stored.procedure.signature is not None:
            raise AlreadySigned(stored.procedure.signature)
        if stored.procedure.status == "external":
            raise SigningRefused(
                "this note was signed elsewhere and imported as a read-only record; it "
                "cannot be signed here"
            )
        status = next_status(stored.procedure.status, "sign")
        document = self._charting.document(procedure_id)
        evaluation = evaluate(document)
        warnings = evaluation.warnings
        missing = self._missing(document, allow_planned_sites)
        open_codes = unacknowledged(warnings, reasons)
        if missing or open_codes:
            raise NotReadyToSign(missing, open_codes)
        early = too_early(document.procedure, now)
        if early:
            raise SigningTooEarly(now, early)
        # The note names the physician who signs it (the plan may have named another): stored
        # by `finish_sign` in the signing transaction, covered by the signature.
        procedure = validate_procedure(
            {**document.procedure.model_dump(), "physician": user.display_name}
        )
        document = document.model_copy(update={"procedure": procedure})
        signature = Signature(
            signed_by=user.display_name,
            signed_at=now,
            content_hash=content_hash(document),
            acknowledged_warnings=acknowledgement_records(warnings, reasons),
        )
        signed = document.model_copy(
            update={
                "procedure": procedure.model_copy(update={"signature": signature, "status": status})
            }
        )
        note = None
        if signer is not None and self._signed_notes is not None:
            note = self._signed_notes().prepare(signed, evaluation, signer, now)
        return PreparedSigning(
            procedure_id=procedure_id,
            user=user,
            signature=signature,
            document=signed,
            version=stored.version,
            site_ids=tuple(stored.site_ids),
            site_versions=tuple(stored.site_versions),
            rename=stored.procedure.physician != user.display_name,
            note=note,
        )

    def finish_sign(self, prepared: PreparedSigning, pdf: bytes | None) -> StoredProcedureLike:
        """Store the signature, the signed note `pdf` (`prepared.render()`) and the note's
        filing in one transaction, if the procedure is still what was signed: else
        ProcedureChanged (or AlreadySigned) and nothing is stored."""
        procedure_id, user = prepared.procedure_id, prepared.user
        self._require(user, "sign")
        with self._transaction():
            stored = self._charting.get(procedure_id)
            if stored.procedure.signature is not None:
                raise AlreadySigned(stored.procedure.signature)
            if (stored.version, tuple(stored.site_ids), tuple(stored.site_versions)) != (
                prepared.version,
                prepared.site_ids,
                prepared.site_versions,
            ):
                raise ProcedureChanged()
            if prepared.rename:
                self._charting.update(procedure_id, {"physician": user.display_name})
            self._procedures.sign(
                procedure_id,
                prepared.signature,
                user.username,
                prepared.document.prior_procedures,
            )
            # What the versions do not cover (the patient, the pain drawing) the hash does: the
            # stored note must be the one drawn.
            if content_hash(self._charting.document(procedure_id)) != (
                prepared.signature.content_hash
            ):
                raise ProcedureChanged()
            if prepared.note is not None and self._signed_notes is not None:
                if pdf is None:
                    raise ValueError("finish_sign: the note was not drawn (prepared.render())")
                # A procedure is never signed without its signed note: same transaction.
                self._signed_notes().keep(procedure_id, prepared.note, pdf, user.username)
            if self._on_signed is not None:
                self._on_signed(procedure_id, "signed")
        return self._charting.get(procedure_id)

    def add_addendum(
        self,
        procedure_id: int,
        user: User,
        text: str,
        corrected_sites: Sequence[Site] | None = None,
        *,
        confirm_clock: bool = False,
        entered_in_error: bool = False,
    ) -> StoredProcedureLike:
        """Append a hashed addendum to a signed note (physician only); the note stays as signed.
        Its time is this computer's clock, checked as for signing (`confirm_clock`).
        `entered_in_error` marks the whole note as opened by mistake: it stays in the record with
        a banner and leaves the rules and the history. `prepare_addendum`, its `render`, then
        `finish_addendum`, in a row (the window draws on its worker thread)."""
        prepared = self.prepare_addendum(
            procedure_id,
            user,
            text,
            corrected_sites,
            confirm_clock=confirm_clock,
            entered_in_error=entered_in_error,
        )
        return self.finish_addendum(prepared, prepared.render())

    def prepare_addendum(
        self,
        procedure_id: int,
        user: User,
        text: str,
        corrected_sites: Sequence[Site] | None = None,
        *,
        confirm_clock: bool = False,
        entered_in_error: bool = False,
    ) -> PreparedAddendum:
        """Check and make the hashed addendum; nothing is stored yet."""
        self._require(user, "addendum")
        now = self._checked_now(user, confirm_clock)
        signer = self._signer(user)
        stored = self._charting.get(procedure_id)
        signature = stored.procedure.signature
        if signature is None:
            raise SigningRefused(
                "only a signed note takes addenda; this one is not signed yet, so edit it directly"
            )
        try:
            addendum = Addendum(
                text=text,
                author=user.display_name,
                at=now,
                sites=tuple(corrected_sites) if corrected_sites is not None else None,
                entered_in_error=entered_in_error,
            )
        except ValidationError as error:
            raise InvalidInput(describe_validation_error(error, "addendum.")) from error
        if not addendum.text.strip():
            raise InvalidInput(["addendum.text: must not be empty"])
        hashed = addendum.model_copy(
            update={"content_hash": addendum_hash(addendum, signature.content_hash)}
        )
        note = None
        if signer is not None and self._signed_notes is not None:
            document = self._charting.document(procedure_id)
            addenda = (*document.procedure.addenda, hashed)
            grown = document.procedure.model_copy(update={"addenda": addenda})
            note = self._signed_notes().prepare_addendum(
                procedure_id, document.model_copy(update={"procedure": grown}), hashed, signer
            )
        addenda_before = len(stored.procedure.addenda)
        return PreparedAddendum(procedure_id, user, hashed, addenda_before, note)

    def finish_addendum(self, prepared: PreparedAddendum, pdf: bytes | None) -> StoredProcedureLike:
        """Store the addendum and the grown note `pdf` (`prepared.render()`) in one
        transaction, if no other addendum came meanwhile (else ProcedureChanged, nothing
        stored)."""
        procedure_id, user = prepared.procedure_id, prepared.user
        self._require(user, "addendum")
        with self._transaction():
            stored = self._charting.get(procedure_id)
            kept = (
                self._signed_notes().stored(procedure_id)
                if prepared.note is not None and self._signed_notes is not None
                else None
            )
            if len(stored.procedure.addenda) != prepared.addenda_before or (
                prepared.note is not None
                and (kept is None or kept.signatures != prepared.note.signatures)
            ):
                raise ProcedureChanged()
            self._procedures.add_addendum(procedure_id, prepared.addendum, user.username)
            if prepared.note is not None and self._signed_notes is not None:
                if pdf is None:
                    raise ValueError("finish_addendum: the note was not drawn (prepared.render())")
                self._signed_notes().keep_addendum(procedure_id, prepared.note, pdf, user.username)
            if self._on_signed is not None:
                self._on_signed(procedure_id, f"addendum-{prepared.addenda_before + 1}")
        return self._charting.get(procedure_id)

    def _require(self, user: User, action: Action) -> None:
        if self._user is not None and user.username != self._user.username:
            raise SigningRefused(
                f"{self._user.display_name} is signed in; only they can sign or add addenda here"
            )
        require(user, action, on_denied=self._on_denied)

    def _checked_now(self, user: User, confirm_clock: bool) -> datetime:
        """The clock, unless it is behind the latest audited event and that is not confirmed."""
        now = self._clock()
        latest = self._latest_event() if self._latest_event is not None else None
        if latest is not None and clock_went_back(latest, now):
            if self._on_clock_backwards is not None:
                self._on_clock_backwards(user, now, latest, confirm_clock)
            if not confirm_clock:
                raise ClockWentBackwards(now, latest)
        return now

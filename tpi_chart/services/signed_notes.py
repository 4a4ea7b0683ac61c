"""The signed note: rendered once at signing with the evaluation of that moment, signed with the
physician's PAdES signature, kept as those exact bytes; addenda append signed revisions.

A later formulary, payer profile, renderer or app version never changes a signed note: exports
return the stored PDF, and the stored evaluation is what billing reads.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from tpi_chart import __version__
from tpi_chart.domain.canonical import canonical_json
from tpi_chart.domain.catalog import Catalog, load_catalog
from tpi_chart.domain.models import Addendum, ProcedureDocument
from tpi_chart.domain.rules import Evaluation
from tpi_chart.domain.signatures import SignerKey
from tpi_chart.pdf.note.options import NoteOptions
from tpi_chart.storage.interfaces import PkiRepository, SignedNoteRow

if TYPE_CHECKING:
    from tpi_chart.pdf import pades  # pyHanko (and its network stack): imported when signing
    from tpi_chart.pdf.note import BoxOnPage

EVALUATION_FORMAT = "tpi-chart.signed-evaluation/1"


@dataclass(frozen=True)
class FrozenEvaluation:
    """The evaluation as signed, with what produced it."""

    evaluation: dict[str, Any]
    app_version: str
    payer_profile: str
    payer_effective: str | None
    catalog_sha256: str

    def to_json(self) -> str:
        return canonical_json(
            {
                "format": EVALUATION_FORMAT,
                "evaluation": self.evaluation,
                "app_version": self.app_version,
                "payer_profile": self.payer_profile,
                "payer_effective": self.payer_effective,
                "catalog_sha256": self.catalog_sha256,
            }
        ).decode("utf-8")

    @classmethod
    def from_json(cls, text: str) -> FrozenEvaluation:
        data = json.loads(text)
        return cls(
            evaluation=dict(data["evaluation"]),
            app_version=str(data["app_version"]),
            payer_profile=str(data["payer_profile"]),
            payer_effective=data.get("payer_effective"),
            catalog_sha256=str(data["catalog_sha256"]),
        )


def freeze(evaluation: Evaluation, catalog: Catalog) -> FrozenEvaluation:
    payer = catalog.payers.get(evaluation.payer_profile)
    return FrozenEvaluation(
        evaluation=evaluation.model_dump(mode="json"),
        app_version=__version__,
        payer_profile=evaluation.payer_profile,
        payer_effective=payer.effective if payer is not None else None,
        catalog_sha256=hashlib.sha256(catalog.model_dump_json().encode("utf-8")).hexdigest(),
    )


def import_note_signing() -> None:
    """Import what drawing and signing a note needs: reportlab's page layout and pyHanko (about
    a second here, the larger part of a window's first signature). Imported on first use
    otherwise; pure, so it may run on a worker thread."""
    from tpi_chart.pdf import pades  # noqa: F401
    from tpi_chart.pdf.note import ProcedureNoteRenderer  # noqa: F401


def _box(box: BoxOnPage | None, page_offset: int = 0) -> pades.SignatureBox | None:
    from tpi_chart.pdf import pades

    if box is None:
        return None
    return pades.SignatureBox(box.page + page_offset, box.x1, box.y1, box.x2, box.y2)


def _stamp(name: str, at: datetime, meaning: str) -> str:
    from tpi_chart.pdf.note.text import format_datetime

    # pyHanko fills %(ts)s with its own format; the time printed is the signing time we pass.
    return f"{meaning}\nDigitally signed by {name}\n{format_datetime(at)}"


@dataclass(frozen=True)
class NoteToSign:
    """A note to draw and sign: plain values only, so `render` may run on any thread."""

    document: ProcedureDocument  # as it reads once signed
    evaluation: Evaluation
    signer: SignerKey
    signed_at: datetime
    options: NoteOptions
    catalog: Catalog

    def render(self) -> bytes:
        """The note drawn with the evaluation of the signing moment, PAdES-signed."""
        from tpi_chart.pdf.note import ProcedureNoteRenderer

        renderer = ProcedureNoteRenderer(
            self.document,
            self.options,
            evaluation=self.evaluation,
            catalog=self.catalog,
            digitally_signed=True,
        )
        from tpi_chart.pdf import pades

        unsigned = renderer.render()
        signature = self.document.procedure.signature
        name = signature.signed_by if signature is not None else self.signer.common_name
        return pades.sign_pdf(
            unsigned,
            self.signer,
            field_name="Signature1",
            signed_at=self.signed_at,
            reason="I performed this procedure and author this note",
            box=_box(renderer.signature_box),
            stamp_text=_stamp(name, self.signed_at, "Procedure note"),
        )


@dataclass(frozen=True)
class AddendumToSign:
    """An addendum to append to a stored signed note: plain values only, so `render` may run on
    any thread. `signatures`: how many the stored note had when read."""

    stored_pdf: bytes = field(repr=False)
    signatures: int
    evaluation: str = field(repr=False)  # the frozen evaluation, kept as signed
    document: ProcedureDocument  # with the addendum
    addendum: Addendum
    signer: SignerKey
    options: NoteOptions

    def render(self) -> bytes:
        """The stored note with the addendum's pages appended, signed as a new revision."""
        from tpi_chart.pdf import pades
        from tpi_chart.pdf.addendum import render_addendum

        number, addendum = self.signatures, self.addendum
        pages, box = render_addendum(self.document, addendum, number, self.options)
        offset = pades.page_count(self.stored_pdf)
        grown = pades.append_pages(
            self.stored_pdf,
            pages,
            {f"addendum-{number}.json": canonical_json(addendum.model_dump(mode="json"))},
        )
        return pades.sign_pdf(
            grown,
            self.signer,
            field_name=f"Addendum{number}",
            signed_at=addendum.at,
            reason=f"Addendum {number} to this procedure note",
            box=_box(box, offset),
            stamp_text=_stamp(addendum.author, addendum.at, f"Addendum {number}"),
        )


class SignedNotes:
    def __init__(
        self,
        pki: PkiRepository,
        options: Callable[[], NoteOptions],
        *,
        catalog: Catalog | None = None,
    ) -> None:
        self._pki = pki
        self._options = options
        self._catalog = catalog

    @property
    def catalog(self) -> Catalog:
        return self._catalog or load_catalog()

    def stored(self, procedure_id: int) -> SignedNoteRow | None:
        return self._pki.signed_note(procedure_id)

    def prepare(
        self,
        document: ProcedureDocument,
        evaluation: Evaluation,
        signer: SignerKey,
        signed_at: datetime,
    ) -> NoteToSign:
        """What drawing and signing the note needs, read here (the options come from the
        database, whose connection belongs to the calling thread)."""
        return NoteToSign(document, evaluation, signer, signed_at, self._options(), self.catalog)

    def keep(self, procedure_id: int, note: NoteToSign, pdf: bytes, by: str) -> None:
        """Store the signed note drawn from `note` (inside the caller's signing transaction,
        so a failure here leaves the procedure unsigned)."""
        frozen = freeze(note.evaluation, note.catalog).to_json()
        self._pki.put_signed_note(procedure_id, pdf, 1, frozen, by)

    def prepare_addendum(
        self,
        procedure_id: int,
        document: ProcedureDocument,
        addendum: Addendum,
        signer: SignerKey,
    ) -> AddendumToSign | None:
        """What appending the addendum as a signed revision of the stored note needs, read
        here; None for a note signed before version 0.2 (no stored PDF: its addendum is kept
        with a hash, as then)."""
        stored = self._pki.signed_note(procedure_id)
        if stored is None:
            return None
        return AddendumToSign(
            stored.pdf,
            stored.signatures,
            stored.evaluation,
            document,
            addendum,
            signer,
            self._options(),
        )

    def keep_addendum(self, procedure_id: int, note: AddendumToSign, pdf: bytes, by: str) -> None:
        """Store the grown note (inside the caller's addendum transaction)."""
        self._pki.put_signed_note(procedure_id, pdf, note.signatures + 1, note.evaluation, by)

    def frozen_evaluation(self, procedure_id: int) -> FrozenEvaluation | None:
        stored = self._pki.signed_note(procedure_id)
        return FrozenEvaluation.from_json(stored.evaluation) if stored is not None else None

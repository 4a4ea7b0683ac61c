"""Verify a note PDF against the procedure document embedded in it.

A note is genuine when (1) its embedded ``procedure.json`` still hashes to the content hash of its
signature (and each addendum to its own hash), and (2) rendering that document again, with the
same renderer and options, gives exactly the bytes of the file. Rendering is deterministic, so (2)
catches any change to the visible pages (or to anything else in the file) without having to read
the text back out of the PDF.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import reportlab
from pydantic import ValidationError

from tpi_chart import __version__
from tpi_chart.domain.canonical import addendum_hash, canonical_json, content_hash
from tpi_chart.domain.models import ProcedureDocument
from tpi_chart.pdf.attachments import PdfReadError, extract_embedded_files, page_content_streams
from tpi_chart.pdf.note import (
    DOCUMENT_ATTACHMENT,
    RENDER_ATTACHMENT,
    RENDERER_ID,
    NoteOptions,
    ProcedureNoteRenderer,
)


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    reason: str = ""
    document: ProcedureDocument | None = None

    def __str__(self) -> str:
        return "match" if self.ok else f"mismatch: {self.reason}"


def _mismatch(reason: str, document: ProcedureDocument | None = None) -> VerifyResult:
    return VerifyResult(False, reason, document)


def verify_note(pdf: bytes) -> VerifyResult:
    """``match`` or ``mismatch: <why>`` for the bytes of a note PDF."""
    try:
        files = extract_embedded_files(pdf)
    except PdfReadError as error:
        return _mismatch(f"not a TPI Chart note ({error})")
    if DOCUMENT_ATTACHMENT not in files or RENDER_ATTACHMENT not in files:
        return _mismatch("not a TPI Chart note (no embedded procedure document)")
    try:
        info = json.loads(files[RENDER_ATTACHMENT])
        renderer = str(info["renderer"])
        options = NoteOptions.from_json_dict(dict(info["options"]))
    except (ValueError, KeyError, TypeError):
        return _mismatch("not a TPI Chart note (unreadable render information)")
    embedded = files[DOCUMENT_ATTACHMENT]
    try:
        document = ProcedureDocument.model_validate_json(embedded)
    except ValidationError:
        return _mismatch("embedded document altered (it is no longer a valid procedure document)")
    if canonical_json(document.to_json_dict()) != embedded:
        return _mismatch(
            "embedded document altered (not the bytes the note was rendered from)", document
        )
    procedure = document.procedure
    signature = procedure.signature
    if procedure.status != "signed" or signature is None:
        return _mismatch("unsigned draft (a draft note carries no signature to verify)", document)
    if content_hash(document) != signature.content_hash:
        return _mismatch(
            "embedded document altered (its content hash does not match the signature)", document
        )
    for number, addendum in enumerate(procedure.addenda, start=1):
        if addendum.content_hash is not None and addendum.content_hash != addendum_hash(
            addendum, signature.content_hash
        ):
            return _mismatch(
                f"embedded document altered (addendum {number} does not match its hash)", document
            )
    expected = ProcedureNoteRenderer(document, options).render()
    if expected == pdf:
        return VerifyResult(True, "", document)
    made_by = (renderer, str(info.get("app_version")), str(info.get("reportlab_version")))
    here = (RENDERER_ID, __version__, reportlab.Version)
    if made_by != here:
        return _mismatch(
            "made by a different renderer version "
            f"({made_by[0]}, TPI Chart {made_by[1]}, reportlab {made_by[2]}; this is {here[0]}, "
            f"TPI Chart {here[1]}, reportlab {here[2]}): the embedded document matches its "
            "signature, but the pages cannot be compared",
            document,
        )
    try:
        same_pages = page_content_streams(expected) == page_content_streams(pdf)
    except PdfReadError:
        same_pages = False
    if not same_pages:
        return _mismatch(
            "visible content altered (the pages differ from the embedded, signed document)",
            document,
        )
    return _mismatch(
        "file altered outside the page content (fonts, metadata or structure)", document
    )

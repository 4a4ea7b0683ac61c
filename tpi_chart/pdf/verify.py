"""Verify a note PDF: its PAdES signatures against the clinic's trust root, and the procedure
document embedded in it against the signature it records.

A note is genuine when every signature in it is cryptographically intact, made with a
certificate the clinic's signing authority issued and had not revoked, the last signature covers
the whole file, the embedded ``procedure.json`` hashes to the content hash the note records, and
the certificate of the first signature belongs to the physician the note names (each addendum's
to its author). Nothing is re-rendered: a new app or reportlab version never fails an old note.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from pydantic import ValidationError

from tpi_chart.domain.canonical import addendum_hash, content_hash
from tpi_chart.domain.models import Addendum, ProcedureDocument
from tpi_chart.domain.signatures import Trust
from tpi_chart.pdf.attachment_names import DOCUMENT_ATTACHMENT
from tpi_chart.pdf.pades import PadesError, SignatureReport, embedded_files, validate


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    reason: str = ""
    document: ProcedureDocument | None = None
    signatures: tuple[SignatureReport, ...] = ()

    def lines(self) -> list[str]:
        """``match`` (then who signed what, when) or ``mismatch: <why>``."""
        if not self.ok:
            return [f"mismatch: {self.reason}"]
        out = ["match"]
        for number, report in enumerate(self.signatures):
            what = "note" if number == 0 else f"addendum {number}"
            when = report.signed_at.isoformat(timespec="seconds") if report.signed_at else "?"
            out.append(
                f"  {what}: signed by {report.signer} at {when} (certificate {report.serial})"
            )
        return out

    def __str__(self) -> str:
        return "\n".join(self.lines())


def _mismatch(
    reason: str,
    document: ProcedureDocument | None = None,
    signatures: tuple[SignatureReport, ...] = (),
) -> VerifyResult:
    return VerifyResult(False, reason, document, signatures)


def verify_note(pdf: bytes, trust: Trust | None) -> VerifyResult:
    """``match`` or ``mismatch: <why>`` for the bytes of a note PDF. Without ``trust`` (no
    clinic database and no trust file) nothing can be called genuine."""
    try:
        reports = tuple(validate(pdf, trust.roots if trust else (), trust.revoked if trust else {}))
    except PadesError as error:
        return _mismatch(f"not a PDF that can be checked ({error})")
    files = embedded_files(pdf)
    if DOCUMENT_ATTACHMENT not in files:
        return _mismatch("not a TPI Chart note (no embedded procedure document)")
    try:
        document = ProcedureDocument.model_validate_json(files[DOCUMENT_ATTACHMENT])
    except ValidationError:
        return _mismatch("embedded document altered (it is no longer a valid procedure document)")
    if not reports:
        if document.procedure.status != "signed":
            return _mismatch("unsigned draft (a draft note carries no signature)", document)
        return _mismatch(
            "no digital signature: the note only claims to be signed (a note from TPI Chart 0.1 "
            "carries a content hash anyone can recompute, not a signature)",
            document,
        )
    if trust is None:
        return _mismatch(
            "no trust root: give --trust clinic-ca.pem, or --db of the clinic that signed it",
            document,
            reports,
        )
    for report in reports:
        if report.problem:
            return _mismatch(report.problem, document, reports)
    if not reports[-1].covers_whole_file:
        return _mismatch(
            "the file was changed after its last signature (bytes no one signed were added)",
            document,
            reports,
        )
    procedure = document.procedure
    signature = procedure.signature
    if procedure.status != "signed" or signature is None:
        return _mismatch("the embedded document is not a signed procedure", document, reports)
    if content_hash(document) != signature.content_hash:
        return _mismatch(
            "embedded document altered (its content hash does not match the signature)",
            document,
            reports,
        )
    if reports[0].signer != signature.signed_by:
        return _mismatch(
            f"the note names {signature.signed_by} as signer, but the signature is "
            f"{reports[0].signer}'s",
            document,
            reports,
        )
    addenda: list[Addendum] = []
    for number, report in enumerate(reports[1:], start=1):
        name = f"addendum-{number}.json"
        if name not in files:
            return _mismatch(f"signature {number + 1} signs no addendum", document, reports)
        try:
            addendum = Addendum.model_validate(json.loads(files[name]))
        except (ValueError, ValidationError):
            return _mismatch(f"addendum {number} is unreadable", document, reports)
        if addendum.content_hash != addendum_hash(addendum, signature.content_hash):
            return _mismatch(f"addendum {number} does not match its hash", document, reports)
        if addendum.author != report.signer:
            return _mismatch(
                f"addendum {number} names {addendum.author}, but its signature is "
                f"{report.signer}'s",
                document,
                reports,
            )
        addenda.append(addendum)
    if addenda:
        # The note as it stands now: the signed document with the addenda signed after it.
        procedure = procedure.model_copy(update={"addenda": (*procedure.addenda, *addenda)})
        document = document.model_copy(update={"procedure": procedure})
    return VerifyResult(True, "", document, reports)

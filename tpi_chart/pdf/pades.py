"""PAdES signatures on note PDFs: sign, append a signed addendum revision, validate.

pyHanko does the PDF and CMS work (ETSI EN 319 142 baseline B-B: a CMS signature with the
signer's certificate, its chain and a signed signing-time attribute, `/SubFilter
/ETSI.CAdES.detached`). Every signature after the first is an incremental update, so earlier
signatures keep covering exactly the bytes they signed and every PDF reader shows each revision
in its signature panel.

Validation answers one question for a clinic: is every byte of this file vouched for by a
signature of a certificate issued by the trusted clinic authority, unrevoked when it signed?
That holds when each signature is intact and chains to a trust root, and the last one covers the
whole file (so anything added after the first signature was signed by a later one).
"""

from __future__ import annotations

import asyncio
import io
import logging
from collections.abc import Coroutine, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from asn1crypto import keys as asn1_keys
from asn1crypto import x509 as asn1_x509
from pyhanko import stamp
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.embed import EmbeddedFileObject, FileSpec, embed_file
from pyhanko.pdf_utils.generic import pdf_name
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.misc import PdfError
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import fields, signers
from pyhanko.sign.signers.pdf_cms import PdfCMSSignedAttributes
from pyhanko.sign.validation import async_validate_pdf_signature
from pyhanko.sign.validation.errors import SignatureValidationError
from pyhanko.sign.validation.status import SignatureCoverageLevel
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.registry import SimpleCertificateStore

from tpi_chart.domain.signatures import SignerKey

# pyHanko logs a full traceback for every structural check it cannot explain; verification
# reports its own findings, so keep those out of the clinic's log.
logging.getLogger("pyhanko").setLevel(logging.CRITICAL)

SIGNATURE_RESERVE = 16_384
T = TypeVar("T")


class PadesError(ValueError):
    """The bytes are not a PDF pyHanko can sign or read; the message says why."""


@dataclass(frozen=True)
class SignatureBox:
    """Where the visible signature goes: a page (0-based) and a rectangle in PDF points."""

    page: int
    x1: float
    y1: float
    x2: float
    y2: float


@dataclass(frozen=True)
class SignatureReport:
    field_name: str
    signer: str
    serial: str
    signed_at: datetime | None
    intact: bool
    trusted: bool
    covers_whole_file: bool
    problem: str = ""

    @property
    def ok(self) -> bool:
        return not self.problem


def _run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


def _signer(key: SignerKey) -> signers.SimpleSigner:
    return signers.SimpleSigner(
        signing_cert=asn1_x509.Certificate.load(key.certificate_der),
        signing_key=asn1_keys.PrivateKeyInfo.load(key.private_key_der),
        cert_registry=SimpleCertificateStore.from_certs(
            [asn1_x509.Certificate.load(der) for der in key.chain_der]
        ),
    )


def _writer(pdf: bytes) -> IncrementalPdfFileWriter:
    try:
        return IncrementalPdfFileWriter(io.BytesIO(pdf), strict=False)
    except (PdfError, ValueError, KeyError, TypeError) as error:
        raise PadesError(f"not a readable PDF ({error})") from error


def sign_pdf(
    pdf: bytes,
    key: SignerKey,
    *,
    field_name: str,
    signed_at: datetime,
    reason: str,
    box: SignatureBox | None,
    stamp_text: str,
    location: str | None = None,
) -> bytes:
    """Sign ``pdf`` as an incremental update with a visible signature in ``box`` (none when
    ``box`` is None). ``signed_at`` becomes the signed signing-time attribute: the clinic's
    clock at signing, never a time taken from the document."""
    writer = _writer(pdf)
    meta = signers.PdfSignatureMetadata(
        field_name=field_name,
        subfilter=fields.SigSeedSubFilter.PADES,
        md_algorithm="sha256",
        reason=reason,
        location=location,
        name=key.common_name or None,
    )
    field_spec = (
        fields.SigFieldSpec(
            field_name,
            on_page=box.page,
            box=(round(box.x1), round(box.y1), round(box.x2), round(box.y2)),
        )
        if box is not None
        else fields.SigFieldSpec(field_name)
    )
    pdf_signer = signers.PdfSigner(
        meta,
        _signer(key),
        new_field_spec=field_spec,
        stamp_style=stamp.TextStampStyle(stamp_text=stamp_text, border_width=1),
    )
    output = io.BytesIO()

    async def sign() -> None:
        session = pdf_signer.init_signing_session(writer)
        # pyHanko reads the wall clock here; the service's clock is the one that is audited.
        session.system_time = signed_at
        validation = await session.perform_presign_validation(writer)
        tbs = session.prepare_tbs_document(
            validation_info=validation, bytes_reserved=SIGNATURE_RESERVE
        )
        digest, result = tbs.digest_tbs_document(output=output)
        post = await tbs.perform_signature(
            document_digest=digest.document_digest,
            pdf_cms_signed_attrs=PdfCMSSignedAttributes(signing_time=signed_at),
        )
        await post.post_signature_processing(result)

    try:
        _run(sign())
    except (PdfError, SignatureValidationError, ValueError) as error:
        raise PadesError(f"could not sign the PDF ({error})") from error
    return output.getvalue()


def append_pages(pdf: bytes, pages_pdf: bytes, attachments: Mapping[str, bytes]) -> bytes:
    """A new revision of ``pdf`` with every page of ``pages_pdf`` added at the end and the given
    files attached (JSON), written as an incremental update: the earlier revisions, and their
    signatures, stay byte for byte as they were."""
    writer = _writer(pdf)
    source = PdfFileReader(io.BytesIO(pages_pdf), strict=False)
    for index in range(int(source.root["/Pages"]["/Count"])):
        page_ref, _resources = source.find_page_for_modification(index)
        media_box = page_ref.get_object()["/MediaBox"]
        xobject = writer.import_page_as_xobject(source, index)
        content = generic.StreamObject(stream_data=b"q /Page Do Q")
        page = generic.DictionaryObject(
            {
                pdf_name("/Type"): pdf_name("/Page"),
                pdf_name("/MediaBox"): generic.ArrayObject(
                    [generic.FloatObject(float(value)) for value in media_box]
                ),
                pdf_name("/Resources"): generic.DictionaryObject(
                    {pdf_name("/XObject"): generic.DictionaryObject({pdf_name("/Page"): xobject})}
                ),
                pdf_name("/Contents"): writer.add_object(content),
            }
        )
        writer.insert_page(page)
    for name, data in sorted(attachments.items()):
        embed_file(
            writer,
            FileSpec(
                file_spec_string=name,
                file_name=name,
                embedded_data=EmbeddedFileObject.from_file_data(
                    writer, data=data, mime_type="application/json"
                ),
                description=name,
            ),
        )
    output = io.BytesIO()
    writer.write(output)
    return output.getvalue()


def page_count(pdf: bytes) -> int:
    try:
        return int(PdfFileReader(io.BytesIO(pdf), strict=False).root["/Pages"]["/Count"])
    except (PdfError, ValueError, KeyError, TypeError) as error:
        raise PadesError(f"not a readable PDF ({error})") from error


def embedded_files(pdf: bytes) -> dict[str, bytes]:
    """Name → content of every attached file in the newest revision."""
    try:
        reader = PdfFileReader(io.BytesIO(pdf), strict=False)
        names = reader.root["/Names"]["/EmbeddedFiles"]
    except (PdfError, ValueError, KeyError, TypeError):
        return {}
    found: dict[str, bytes] = {}

    def walk(node: generic.DictionaryObject) -> None:
        if "/Kids" in node:
            for kid in node["/Kids"]:
                walk(kid.get_object())
        pairs = node.get("/Names", generic.ArrayObject())
        for index in range(0, len(pairs) - 1, 2):
            name = str(pairs[index])
            spec = pairs[index + 1].get_object()
            try:
                found[name] = spec["/EF"]["/F"].get_object().data
            except (KeyError, TypeError, PdfError):
                continue

    try:
        walk(names)
    except (PdfError, ValueError, KeyError, TypeError):
        return found
    return found


def validate(
    pdf: bytes,
    trust_roots: Sequence[bytes],
    revoked: Mapping[str, tuple[datetime, str]] | None = None,
) -> list[SignatureReport]:
    """One report per signature, oldest first. ``trust_roots``: DER certificates of the clinic
    authorities to trust; ``revoked``: certificate serial (hex) → (revoked at, reason). A
    certificate revoked for key compromise fails every signature; one revoked because it was
    superseded (password reset, account closed) fails only signatures claimed after that time."""
    revoked = revoked or {}
    try:
        reader = PdfFileReader(io.BytesIO(pdf), strict=False)
        signatures = list(reader.embedded_signatures)
    except (PdfError, ValueError, KeyError, TypeError) as error:
        raise PadesError(f"not a readable PDF ({error})") from error
    roots = [asn1_x509.Certificate.load(der) for der in trust_roots]
    reports: list[SignatureReport] = []
    for embedded in signatures:
        context = ValidationContext(
            trust_roots=roots, allow_fetching=False, revocation_mode="soft-fail"
        )
        try:
            status = _run(async_validate_pdf_signature(embedded, context, skip_diff=True))
        except (SignatureValidationError, PdfError, ValueError, KeyError, TypeError) as error:
            reports.append(
                SignatureReport(
                    embedded.field_name or "?", "", "", None, False, False, False, str(error)
                )
            )
            continue
        cert = embedded.signer_cert
        signer = str(cert.subject.native.get("common_name", "")) if cert is not None else ""
        serial = format(cert.serial_number, "x") if cert is not None else ""
        signed_at = embedded.self_reported_timestamp
        whole = status.coverage == SignatureCoverageLevel.ENTIRE_FILE
        problem = ""
        if not (status.intact and status.valid):
            problem = "the signed bytes were changed after signing"
        elif not status.trusted:
            problem = (
                f"signed by {signer or 'an unknown signer'}, whose certificate was not issued "
                "by this clinic's signing authority"
            )
        elif serial in revoked:
            revoked_at, reason = revoked[serial]
            if reason == "key_compromise" or signed_at is None or signed_at >= revoked_at:
                problem = (
                    f"{signer}'s certificate was revoked on {revoked_at:%Y-%m-%d %H:%M} "
                    f"({reason.replace('_', ' ')})"
                )
        reports.append(
            SignatureReport(
                embedded.field_name or "?",
                signer,
                serial,
                signed_at,
                bool(status.intact),
                bool(status.trusted),
                whole,
                problem,
            )
        )
    return reports


__all__ = [
    "PadesError",
    "SignatureBox",
    "SignatureReport",
    "append_pages",
    "embedded_files",
    "page_count",
    "sign_pdf",
    "validate",
]

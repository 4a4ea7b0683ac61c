"""Embedded files: write them into a reportlab canvas, read them back from PDF bytes.

reportlab 5.1 has no API for file attachments, so :func:`embed_files` builds the objects of
ISO 32000-1 §7.11.4 itself (an ``EmbeddedFile`` stream, a ``Filespec`` dictionary and the
catalog's ``/Names /EmbeddedFiles`` name tree) from reportlab's own PDF object classes.

:func:`read_pdf_objects` is a deliberately small reader for the PDFs this package writes
(uncompressed cross-reference table, direct ``/Length``, Flate and ASCII85 filters). It is not a
general PDF parser: anything it cannot read is reported as :class:`PdfReadError`, and verifying a
note never trusts what it reads — it re-renders and compares bytes.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from reportlab.lib.rl_accel import asciiBase85Decode
from reportlab.pdfbase.pdfdoc import PDFArray, PDFDictionary, PDFStream, PDFString, PDFZCompress


class PdfReadError(ValueError):
    """The bytes are not a PDF this reader understands."""


@dataclass(frozen=True)
class EmbeddedFile:
    name: str
    data: bytes
    mime_type: str = "application/json"
    description: str = ""


def _pdf_name(value: str) -> str:
    """A PDF name token with every delimiter (including '/') written as #xx."""
    out = []
    for char in value:
        if char.isalnum() or char in "-_.":
            out.append(char)
        else:
            out.append(f"#{ord(char):02X}")
    return "/" + "".join(out)


def embed_files(canvas: Any, files: Sequence[EmbeddedFile]) -> None:
    """Attach files to the document being written by a reportlab canvas (call before save)."""
    document = canvas._doc
    names: list[Any] = []
    for item in sorted(files, key=lambda f: f.name):
        stream = PDFStream(
            PDFDictionary(
                {
                    "Type": "/EmbeddedFile",
                    "Subtype": _pdf_name(item.mime_type),
                    "Params": PDFDictionary({"Size": len(item.data)}),
                }
            ),
            content=item.data,
            filters=[PDFZCompress],
        )
        filespec = PDFDictionary(
            {
                "Type": "/Filespec",
                "F": PDFString(item.name),
                "UF": PDFString(item.name),
                "Desc": PDFString(item.description or item.name),
                "AFRelationship": "/Source",
                "EF": PDFDictionary({"F": document.Reference(stream)}),
            }
        )
        names.extend([PDFString(item.name), document.Reference(filespec)])
    tree = PDFDictionary({"EmbeddedFiles": PDFDictionary({"Names": PDFArray(names)})})
    document.Catalog.Names = tree


# --------------------------------------------------------------------------------------------
# Reading
# --------------------------------------------------------------------------------------------

_OBJ = re.compile(rb"(\d+)\s+(\d+)\s+obj\b")
_STREAM = re.compile(rb">>\s*stream\r?\n")
_LENGTH = re.compile(rb"/Length\s+(\d+)(?!\s+\d+\s+R)")


@dataclass(frozen=True)
class PdfObject:
    number: int
    head: bytes
    raw_stream: bytes | None

    def stream(self) -> bytes:
        """The stream's decoded bytes (Flate and/or ASCII85)."""
        if self.raw_stream is None:
            raise PdfReadError(f"object {self.number} has no stream")
        data = self.raw_stream
        filters = re.search(rb"/Filter\s*(\[[^\]]*\]|/\w+)", self.head)
        names = re.findall(rb"/(\w+)", filters.group(1)) if filters else []
        try:
            for name in names:
                if name in (b"ASCII85Decode", b"A85"):
                    data = asciiBase85Decode(data)
                    if isinstance(data, str):
                        data = data.encode("latin-1")
                elif name in (b"FlateDecode", b"Fl"):
                    data = zlib.decompress(data)
                else:
                    raise PdfReadError(f"unsupported stream filter {name.decode()}")
        except (zlib.error, ValueError) as error:
            if isinstance(error, PdfReadError):
                raise
            raise PdfReadError(f"object {self.number}: stream cannot be decoded") from error
        return data


def read_pdf_objects(pdf: bytes) -> dict[int, PdfObject]:
    """The indirect objects of a PDF, read front to back (later definitions win)."""
    if not pdf.startswith(b"%PDF-"):
        raise PdfReadError("not a PDF file")
    objects: dict[int, PdfObject] = {}
    position = 0
    while True:
        match = _OBJ.search(pdf, position)
        if match is None:
            break
        start = match.end()
        end_obj = pdf.find(b"endobj", start)
        if end_obj < 0:
            raise PdfReadError("truncated object")
        stream_match = _STREAM.search(pdf, start, end_obj + 6)
        number = int(match.group(1))
        if stream_match is None:
            objects[number] = PdfObject(number, pdf[start:end_obj], None)
            position = end_obj + 6
            continue
        head = pdf[start : stream_match.start() + 2]
        length = _LENGTH.search(head)
        if length is None:
            raise PdfReadError(f"object {number}: stream without a direct /Length")
        data_start = stream_match.end()
        data_end = data_start + int(length.group(1))
        if data_end > len(pdf):
            raise PdfReadError(f"object {number}: stream runs past the end of the file")
        objects[number] = PdfObject(number, head, pdf[data_start:data_end])
        after = pdf.find(b"endobj", data_end)
        if after < 0:
            raise PdfReadError("truncated object")
        position = after + 6
    if not objects:
        raise PdfReadError("no objects found")
    return objects


_PDF_STRING_ESCAPES = {b"n": b"\n", b"r": b"\r", b"t": b"\t", b"b": b"\b", b"f": b"\f"}


def _literal(value: bytes) -> str:
    out = bytearray()
    index = 0
    while index < len(value):
        byte = value[index : index + 1]
        if byte == b"\\" and index + 1 < len(value):
            nxt = value[index + 1 : index + 2]
            out += _PDF_STRING_ESCAPES.get(nxt, nxt)
            index += 2
        else:
            out += byte
            index += 1
    raw = bytes(out)
    if raw.startswith(b"\xfe\xff"):
        return raw[2:].decode("utf-16-be")
    return raw.decode("latin-1")


_FILESPEC_NAME = re.compile(rb"/UF\s*\(((?:\\.|[^\\)])*)\)|/F\s*\(((?:\\.|[^\\)])*)\)")
_EF_REF = re.compile(rb"/EF\s*<<\s*/F\s+(\d+)\s+\d+\s+R")


def extract_embedded_files(pdf: bytes) -> dict[str, bytes]:
    """Name → content of every file attachment (Filespec with an /EF stream)."""
    objects = read_pdf_objects(pdf)
    files: dict[str, bytes] = {}
    for obj in objects.values():
        if obj.raw_stream is not None or b"/Filespec" not in obj.head:
            continue
        name_match = _FILESPEC_NAME.search(obj.head)
        ref = _EF_REF.search(obj.head)
        if name_match is None or ref is None:
            continue
        name = _literal(name_match.group(1) or name_match.group(2) or b"")
        target = objects.get(int(ref.group(1)))
        if target is None:
            raise PdfReadError(f"attachment {name!r} points to a missing object")
        files[name] = target.stream()
    return files


_CONTENTS = re.compile(rb"/Contents\s+(\d+)\s+\d+\s+R")


def page_content_streams(pdf: bytes) -> list[bytes]:
    """Decoded content stream of every page, in object order (what the reader sees drawn)."""
    objects = read_pdf_objects(pdf)
    streams: list[bytes] = []
    for obj in sorted(objects.values(), key=lambda o: o.number):
        if obj.raw_stream is None and re.search(rb"/Type\s*/Page\b", obj.head):
            ref = _CONTENTS.search(obj.head)
            if ref is not None and int(ref.group(1)) in objects:
                streams.append(objects[int(ref.group(1))].stream())
    return streams


def non_page_streams(pdf: bytes) -> list[bytes]:
    """Every other decoded stream (fonts, attachments, forms), in object order."""
    objects = read_pdf_objects(pdf)
    page_refs = {
        int(ref.group(1))
        for obj in objects.values()
        if obj.raw_stream is None and re.search(rb"/Type\s*/Page\b", obj.head)
        for ref in [_CONTENTS.search(obj.head)]
        if ref is not None
    }
    return [
        obj.stream()
        for obj in sorted(objects.values(), key=lambda o: o.number)
        if obj.raw_stream is not None and obj.number not in page_refs
    ]

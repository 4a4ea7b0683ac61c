"""Canonical bytes and content hashes: what a signature covers and what `verify` recomputes."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from tpi_chart.domain.models import Addendum, ProcedureDocument


def canonical_json(data: Any) -> bytes:
    """Sorted keys, no insignificant whitespace, UTF-8: equal data always gives equal bytes."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def signed_content(document: ProcedureDocument) -> dict[str, Any]:
    """The part of a document a signature covers: patient and procedure, without the signature,
        the addenda (each signed on its own), the status, or the history the rules read. An imported
    record's signature made elsewhere is left out too, so its hash is the one it was signed with."""
    data = document.model_dump(mode="json", exclude_defaults=True)
    procedure = data["procedure"]
    for key in ("signature", "external_signature", "addenda", "status"):
        procedure.pop(key, None)
    return {"format": data["format"], "patient": data["patient"], "procedure": procedure}


def content_hash(document: ProcedureDocument) -> str:
    return hashlib.sha256(canonical_json(signed_content(document))).hexdigest()


def addendum_hash(addendum: Addendum, procedure_hash: str) -> str:
    """An addendum's hash covers its own content and the hash of the note it amends."""
    data = addendum.model_dump(mode="json", exclude_defaults=True)
    data.pop("content_hash", None)
    return hashlib.sha256(canonical_json({"amends": procedure_hash, "addendum": data})).hexdigest()

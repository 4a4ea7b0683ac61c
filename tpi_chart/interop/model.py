"""What the builders take: one signed procedure with everything a message needs."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from tpi_chart.domain.models import ProcedureDocument
from tpi_chart.domain.rules import Evaluation


@dataclass(frozen=True)
class ChargeLine:
    """One billable line: a CPT procedure or an HCPCS drug line."""

    code: str
    kind: str  # "CPT" or "HCPCS"
    units: int
    description: str
    modifiers: tuple[str, ...] = ()
    #: 1-based positions in the procedure's diagnoses (as on a claim's diagnosis pointers).
    diagnosis_pointers: tuple[int, ...] = ()


@dataclass(frozen=True)
class SignedNote:
    clinic_id: str
    clinic_name: str
    procedure_id: int
    document: ProcedureDocument
    evaluation: Evaluation
    charges: tuple[ChargeLine, ...]
    pdf: bytes

    def __post_init__(self) -> None:
        if self.document.procedure.signature is None:
            raise ValueError("only a signed procedure goes to the record system")

    @property
    def signed_at(self) -> datetime:
        signature = self.document.procedure.signature
        assert signature is not None
        return signature.signed_at

    @property
    def signed_by(self) -> str:
        signature = self.document.procedure.signature
        assert signature is not None
        return signature.signed_by

    @property
    def last_change(self) -> datetime:
        """The signature or the latest addendum: the moment the messages describe. Using it (not
        the time of export) keeps a re-export byte for byte the same."""
        moments = [self.signed_at, *(a.at for a in self.document.procedure.addenda)]
        return max(moments)

    @property
    def file_stem(self) -> str:
        """``MRN_YYYY-MM-DD_<id>``: the name the note PDF and every message file share."""
        day = self.document.procedure.performed_at.date().isoformat()
        return f"{self.document.patient.mrn}_{day}_{self.procedure_id}"

    def stable_id(self, role: str) -> str:
        """The same procedure and role always give the same id, so a re-send updates the
        record system's copy instead of adding a second one."""
        return str(
            uuid.uuid5(uuid.NAMESPACE_URL, f"tpi-chart:{self.clinic_id}:{self.procedure_id}:{role}")
        )

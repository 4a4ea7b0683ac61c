"""A signed procedure as HL7 v2.5.1 messages: MDM^T02 (the note PDF in an ED OBX, base64) and
DFT^P03 (one FT1 per charge line, the diagnoses as DG1).

Segments end with a carriage return, as the standard requires. Every value taken from the chart
is escaped (`escape`), so a name with `|`, `^`, `&`, `~` or `\\` cannot break the message.
"""

from __future__ import annotations

import base64
from datetime import datetime

from tpi_chart.domain.pain_areas import summarize_pain
from tpi_chart.interop.model import ChargeLine, SignedNote

VERSION = "2.5.1"
SENDING_APPLICATION = "TPI-CHART"
SEGMENT_END = "\r"

_ESCAPES = (
    # The escape character first, so the escapes added below are not escaped again.
    ("\\", "\\E\\"),
    ("|", "\\F\\"),
    ("^", "\\S\\"),
    ("&", "\\T\\"),
    ("~", "\\R\\"),
)
_SEX = {"female": "F", "male": "M", "other": "O", "unknown": "U"}


def escape(value: str) -> str:
    """Chart text as an HL7 v2 value: delimiters escaped; line breaks become `\\.br\\`."""
    for raw, escaped in _ESCAPES:
        value = value.replace(raw, escaped)
    return value.replace("\r\n", "\\.br\\").replace("\n", "\\.br\\").replace("\r", "\\.br\\")


def unescape(value: str) -> str:
    """The inverse of `escape` (for the standard escapes it produces)."""
    out: list[str] = []
    index = 0
    table = {"E": "\\", "F": "|", "S": "^", "T": "&", "R": "~", ".br": "\n"}
    while index < len(value):
        if value[index] == "\\":
            end = value.find("\\", index + 1)
            if end != -1 and value[index + 1 : end] in table:
                out.append(table[value[index + 1 : end]])
                index = end + 1
                continue
        out.append(value[index])
        index += 1
    return "".join(out)


def _ts(moment: datetime) -> str:
    """HL7 TS with the UTC offset (YYYYMMDDHHMMSS+ZZZZ)."""
    return moment.strftime("%Y%m%d%H%M%S%z")


def _control_id(note: SignedNote, kind: str) -> str:
    # MSH-10 is at most 20 characters; the same message always gets the same id, and each
    # version of the note (after an addendum) a new one.
    return note.stable_id(f"hl7:{kind}:{_version(note)}").replace("-", "")[:20]


def _msh(note: SignedNote, kind: str, structure: str) -> str:
    event = kind.split("^")[1]
    return "|".join(
        [
            "MSH",
            "^~\\&",
            SENDING_APPLICATION,
            _facility(note),
            "",
            "",
            _ts(note.last_change),
            "",
            f"{kind}^{structure}",
            _control_id(note, event),
            "P",
            VERSION,
        ]
    )


def _evn(note: SignedNote, event: str) -> str:
    return "|".join(["EVN", event, _ts(note.last_change)])


def _facility(note: SignedNote) -> str:
    # HD's namespace id is at most 20 characters: the clinic is named by its id (a GUID).
    return f"^{escape(note.clinic_id)}^GUID"


def _assigning_authority(note: SignedNote) -> str:
    # The same HD inside a CX component, as subcomponents.
    return f"&{escape(note.clinic_id)}&GUID"


def _pid(note: SignedNote) -> str:
    patient = note.document.patient
    return "|".join(
        [
            "PID",
            "1",
            "",
            f"{escape(patient.mrn)}^^^{_assigning_authority(note)}^MR",
            "",
            f"{escape(patient.family_name)}^{escape(patient.given_name)}",
            "",
            patient.birth_date.strftime("%Y%m%d"),
            _SEX[patient.sex],
            # PID-13 home phone (XTN: number, PRN primary residence, PH telephone)
            *(["", "", "", "", f"{escape(patient.phone)}^PRN^PH"] if patient.phone else []),
        ]
    )


def _xcn(name: str) -> str:
    # The app keeps the signer's display name only (no provider id): sent as the family name
    # component so it reaches the reader unchanged.
    return f"^{escape(name)}"


def _pv1(note: SignedNote) -> str:
    fields = ["PV1", "1", "O", "", "", "", "", _xcn(note.signed_by)]  # PV1-7 attending
    fields += [""] * 11
    fields.append(f"{note.procedure_id}^^^{_assigning_authority(note)}^VN")  # PV1-19 visit number
    return "|".join(fields)


def _txa(note: SignedNote) -> str:
    procedure = note.document.procedure
    fields = [""] * 23
    fields[1] = "1"
    fields[2] = "PN"  # procedure note (user-defined table 0270)
    fields[3] = "AP"  # other application data (table 0191)
    fields[4] = _ts(procedure.performed_at)
    fields[5] = _xcn(note.signed_by)
    fields[6] = _ts(note.last_change)
    version = _version(note)
    fields[12] = f"{_document_id(note, version)}^{SENDING_APPLICATION}"
    if version:  # replaces the version before it (TXA-13 parent document number)
        fields[13] = f"{_document_id(note, version - 1)}^{SENDING_APPLICATION}"
    fields[16] = escape(f"{note.file_stem}.pdf")
    fields[17] = "AU"  # authenticated (table 0271)
    fields[19] = "AV"  # available for patient care (table 0273)
    fields[22] = f"{_xcn(note.signed_by)}^^^^^^^^^^^^{_ts(note.signed_at)}"
    fields[0] = "TXA"
    return "|".join(fields).rstrip("|")


def _obx_pdf(note: SignedNote) -> str:
    data = base64.b64encode(note.pdf).decode("ascii")
    return "|".join(
        [
            "OBX",
            "1",
            "ED",
            "PDF^Procedure note PDF^L",
            "",
            f"^AP^PDF^Base64^{data}",
            "",
            "",
            "",
            "",
            "",
            "F",
        ]
    )


def _obx_pain_drawing(note: SignedNote) -> list[str]:
    """The patient's pain drawing in words (one TX observation), after the PDF that shows it."""
    drawing = note.document.procedure.pain_drawing
    if drawing is None:
        return []
    text = summarize_pain(drawing).sentence()
    if not text:
        return []
    return [
        "|".join(
            [
                "OBX",
                "2",
                "TX",
                "PAIN-DRAWING^Pain locations marked by the patient^L",
                "",
                escape(text),
            ]
            + [""] * 5
            + ["F"]
        )
    ]


def _version(note: SignedNote) -> int:
    """0 for the note as signed, n after its n-th addendum."""
    return len(note.document.procedure.addenda)


def _document_id(note: SignedNote, version: int) -> str:
    return note.stable_id("document" if version == 0 else f"document:{version}")


def build_mdm(note: SignedNote) -> str:
    """MDM^T02 (original document notification with content) for the note as signed; after an
    addendum MDM^T10 (document replacement with content): a new document number whose parent
    is the version it replaces, so the record system keeps one current note."""
    event = "T10" if _version(note) else "T02"
    segments = [
        _msh(note, f"MDM^{event}", "MDM_T02"),
        _evn(note, event),
        _pid(note),
        _pv1(note),
        _txa(note),
        _obx_pdf(note),
        *_obx_pain_drawing(note),
    ]
    return SEGMENT_END.join(segments) + SEGMENT_END


def _dg1(index: int, code: str) -> str:
    system = "I10"
    return "|".join(["DG1", str(index), "", f"{escape(code)}^^{system}", "", "", "F"])


def _ft1(note: SignedNote, index: int, line: ChargeLine) -> str:
    procedure = note.document.procedure
    diagnoses = procedure.diagnoses
    pointed = [diagnoses[p - 1] for p in line.diagnosis_pointers if 0 < p <= len(diagnoses)]
    coding_system = "C4" if line.kind == "CPT" else "HCPCS"
    fields = [""] * 27
    fields[0] = "FT1"
    fields[1] = str(index)
    fields[4] = _ts(procedure.performed_at)
    fields[6] = "CG"  # charge (table 0017)
    fields[7] = f"{escape(line.code)}^{escape(line.description)}^{coding_system}"
    fields[10] = str(line.units)
    fields[19] = "~".join(f"{escape(code)}^^I10" for code in pointed)
    fields[20] = _xcn(note.signed_by)
    fields[25] = f"{escape(line.code)}^{escape(line.description)}^{coding_system}"
    fields[26] = "~".join(f"{escape(modifier)}^^CPTM" for modifier in line.modifiers)
    return "|".join(fields).rstrip("|")


def build_dft(note: SignedNote) -> str:
    """DFT^P03: one FT1 per charge line, the diagnoses as DG1 (FT1-19 names those a line points
    to). A DFT needs at least one charge: refused without."""
    if not note.charges:
        raise ValueError("a DFT^P03 needs at least one charge line")
    segments = [_msh(note, "DFT^P03", "DFT_P03"), _evn(note, "P03"), _pid(note), _pv1(note)]
    segments += [_ft1(note, index, line) for index, line in enumerate(note.charges, start=1)]
    segments += [
        _dg1(index, code) for index, code in enumerate(note.document.procedure.diagnoses, start=1)
    ]
    return SEGMENT_END.join(segments) + SEGMENT_END

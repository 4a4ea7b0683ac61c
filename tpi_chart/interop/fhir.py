"""A signed procedure as a FHIR R4 `collection` Bundle (JSON data).

One Patient, the signing Practitioner, the Encounter, one Procedure (CPT, a bodySite per
injected muscle and side, reasons, outcome, complications), one MedicationAdministration per
syringe component per site (lot and expiry in a contained Medication), the pain Observations,
the signed note PDF as a DocumentReference and a Provenance for the signature. Every id is a
uuid5 of clinic, procedure and role (`SignedNote.stable_id`), so a re-send updates.

US Core is followed where the data exists (Patient identifier/name/gender, Encounter class and
type, DocumentReference category and attachment); what the app does not keep (an NPI, a LOINC
document type) is left out rather than made up.
"""

from __future__ import annotations

import base64
import hashlib
import json
from datetime import datetime
from typing import Any

from tpi_chart.domain.catalog import load_catalog
from tpi_chart.domain.models import Component, FunctionalScore, PainDrawing, Site
from tpi_chart.domain.pain_areas import summarize_pain
from tpi_chart.domain.rules.amounts import round_half_up
from tpi_chart.interop.codes import Codes, load_codes
from tpi_chart.interop.model import SignedNote

FHIR_VERSION = "4.0.1"
CATEGORY_SYSTEM = "http://terminology.hl7.org/CodeSystem/observation-category"
ACT_CODE_SYSTEM = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
IDENTIFIER_TYPE_SYSTEM = "http://terminology.hl7.org/CodeSystem/v2-0203"
US_CORE_DOC_CATEGORY = "http://hl7.org/fhir/us/core/CodeSystem/us-core-documentreference-category"
PARTICIPANT_TYPE_SYSTEM = "http://terminology.hl7.org/CodeSystem/provenance-participant-type"
SIGNATURE_TYPE_SYSTEM = "urn:iso-astm:E1762-95:2013"
AUTHOR_SIGNATURE = "1.2.840.10065.1.12.1.1"

JsonDict = dict[str, Any]


def _time(moment: datetime) -> str:
    return moment.isoformat()


def _ref(note: SignedNote, role: str) -> JsonDict:
    return {"reference": f"urn:uuid:{note.stable_id(role)}"}


def _side_word(side: str) -> str:
    return {"left": "Left", "right": "Right", "midline": "Midline"}.get(side, side)


def body_site(codes: Codes, muscle: str, side: str) -> JsonDict:
    """A site as a CodeableConcept: the muscle's SNOMED CT code (when verified), the same code
    refined by the laterality qualifier as a SNOMED CT expression, and the exact muscle and side
    as text (a `broader` code contains the muscle but does not name it)."""
    catalog = load_catalog()
    name = catalog.muscles[muscle].name if muscle in catalog.muscles else "Unspecified site"
    text = f"{_side_word(side)} {name[:1].lower()}{name[1:]}" if side != "midline" else name
    concept: JsonDict = {"text": text}
    entry = codes.muscles.get(muscle)
    code = entry.usable if entry is not None else None
    laterality = codes.side(side)
    if entry is not None and code is not None:
        codings: list[JsonDict] = [
            {"system": codes.systems.snomed, "code": code, "display": entry.display}
        ]
        if laterality is not None and laterality.usable is not None:
            attribute = codes.laterality.attribute.snomed
            codings.append(
                {
                    "system": codes.systems.snomed,
                    "code": f"{code}:{attribute}={laterality.usable}",
                    "display": f"{entry.display}, {laterality.display.lower()}",
                }
            )
        concept["coding"] = codings
    return concept


def _injected_pairs(note: SignedNote) -> list[tuple[str, str]]:
    """Each injected (muscle, side) once, in charting order."""
    seen: dict[tuple[str, str], None] = {}
    for site in note.document.procedure.injected_sites:
        seen.setdefault((site.muscle, site.side), None)
    return list(seen)


def _patient(note: SignedNote) -> JsonDict:
    patient = note.document.patient
    return {
        "resourceType": "Patient",
        "id": note.stable_id("patient"),
        "identifier": [
            {
                "use": "usual",
                "type": {
                    "coding": [
                        {
                            "system": IDENTIFIER_TYPE_SYSTEM,
                            "code": "MR",
                            "display": "Medical record number",
                        }
                    ]
                },
                "system": f"urn:uuid:{note.clinic_id}",
                "value": patient.mrn,
            }
        ],
        "name": [{"use": "official", "family": patient.family_name, "given": [patient.given_name]}],
        "gender": patient.sex,
        "birthDate": patient.birth_date.isoformat(),
        **({"telecom": [{"system": "phone", "value": patient.phone}]} if patient.phone else {}),
    }


def _practitioner(note: SignedNote) -> JsonDict:
    return {
        "resourceType": "Practitioner",
        "id": note.stable_id("practitioner"),
        # No NPI is kept; the identifier names the signer within this clinic only.
        "identifier": [
            {"system": f"urn:uuid:{note.clinic_id}", "value": f"signer:{note.signed_by}"}
        ],
        "name": [{"text": note.signed_by}],
    }


def _encounter(note: SignedNote) -> JsonDict:
    procedure = note.document.procedure
    return {
        "resourceType": "Encounter",
        "id": note.stable_id("encounter"),
        "identifier": [
            {"system": f"urn:uuid:{note.clinic_id}", "value": f"procedure:{note.procedure_id}"}
        ],
        "status": "finished",
        "class": {"system": ACT_CODE_SYSTEM, "code": "AMB", "display": "ambulatory"},
        "type": [{"text": "Trigger point injection visit"}],
        "subject": _ref(note, "patient"),
        "participant": [{"individual": _ref(note, "practitioner")}],
        "period": {"start": _time(procedure.performed_at)},
        "reasonCode": _reasons(note, load_codes()),
        "serviceProvider": {"display": note.clinic_name},
    }


def _reasons(note: SignedNote, codes: Codes) -> list[JsonDict]:
    return [
        {"coding": [{"system": codes.systems.icd10cm, "code": code}], "text": code}
        for code in note.document.procedure.diagnoses
    ]


def _outcome_text(note: SignedNote) -> str | None:
    procedure = note.document.procedure
    parts = []
    if procedure.tolerance is not None:
        parts.append(f"Tolerated {procedure.tolerance}")
    if procedure.pain_before is not None and procedure.pain_after is not None:
        parts.append(f"pain {procedure.pain_before}/10 before, {procedure.pain_after}/10 after")
    if procedure.observed_minutes is not None:
        parts.append(f"observed {procedure.observed_minutes} min")
    return "; ".join(parts) or None


def _procedure(note: SignedNote, codes: Codes) -> JsonDict:
    procedure = note.document.procedure
    code: JsonDict = {"text": "Trigger point injection"}
    cpt = note.evaluation.cpt
    if cpt is not None and cpt in codes.procedures and codes.procedures[cpt].verified:
        code["coding"] = [
            {"system": codes.systems.cpt, "code": cpt, "display": codes.procedures[cpt].display}
        ]
    resource: JsonDict = {
        "resourceType": "Procedure",
        "id": note.stable_id("procedure"),
        "identifier": [
            {"system": f"urn:uuid:{note.clinic_id}", "value": f"procedure:{note.procedure_id}"}
        ],
        "status": "completed",
        "code": code,
        "subject": _ref(note, "patient"),
        "encounter": _ref(note, "encounter"),
        "performedDateTime": _time(procedure.performed_at),
        "recorder": _ref(note, "practitioner"),
        "asserter": _ref(note, "practitioner"),
        "performer": [{"actor": _ref(note, "practitioner")}],
        "reasonCode": _reasons(note, codes),
        "bodySite": [body_site(codes, muscle, side) for muscle, side in _injected_pairs(note)],
    }
    outcome = _outcome_text(note)
    if outcome is not None:
        resource["outcome"] = {"text": outcome}
    if procedure.complications is not None:
        if procedure.complications:
            resource["complication"] = [
                {"text": item.replace("_", " ")} for item in procedure.complications
            ]
        else:
            resource["complication"] = [{"text": "None"}]
    notes = []
    if procedure.complication_notes:
        notes.append({"text": procedure.complication_notes})
    for addendum in procedure.addenda:
        notes.append(
            {"authorString": addendum.author, "time": _time(addendum.at), "text": addendum.text}
        )
    if notes:
        resource["note"] = notes
    if procedure.follow_up:
        resource["followUp"] = [{"text": procedure.follow_up}]
    return resource


def _medication(codes: Codes, component: Component) -> JsonDict:
    catalog = load_catalog()
    agent = catalog.agents[component.agent]
    entry = codes.agents.get(component.agent)
    codings: list[JsonDict] = []
    if entry is not None and entry.usable is not None:
        codings.append(
            {"system": codes.systems.rxnorm, "code": entry.usable, "display": entry.display}
        )
    if component.ndc:
        codings.append({"system": codes.systems.ndc, "code": component.ndc})
    concept: JsonDict = {"text": f"{agent.name} {component.concentration}"}
    if codings:
        concept["coding"] = codings
    medication: JsonDict = {
        "resourceType": "Medication",
        "id": "med",
        "code": concept,
        "ingredient": [
            {
                "itemCodeableConcept": {"text": agent.name},
                "isActive": True,
                "strength": {
                    "numerator": {
                        "value": round_half_up(component.mg_per_ml, 3),
                        "unit": "mg",
                        "system": codes.systems.ucum,
                        "code": "mg",
                    },
                    "denominator": {
                        "value": 1,
                        "unit": "mL",
                        "system": codes.systems.ucum,
                        "code": "mL",
                    },
                },
            }
        ],
    }
    batch: JsonDict = {}
    if component.lot:
        batch["lotNumber"] = component.lot
    if component.expires:
        batch["expirationDate"] = component.expires.isoformat()
    if batch:
        medication["batch"] = batch
    return medication


def _administrations(note: SignedNote, codes: Codes) -> list[JsonDict]:
    procedure = note.document.procedure
    route = codes.route["intramuscular"]
    result: list[JsonDict] = []
    catalog = load_catalog()
    for number, site in enumerate(procedure.sites, start=1):
        preparation = procedure.preparation(site.preparation)
        if site.state != "injected" or preparation is None or site.volume_ml is None:
            continue
        total = preparation.total_volume_ml
        for index, component in enumerate(preparation.components):
            ml = site.volume_ml * component.volume_ml / total
            mg = round_half_up(ml * component.mg_per_ml, 1)
            ml = round_half_up(ml, 2)
            name = catalog.agents[component.agent].name
            result.append(
                _administration(
                    note,
                    codes,
                    route.v3,
                    route.display,
                    number,
                    index,
                    site,
                    component,
                    mg,
                    ml,
                    name,
                    preparation.label or preparation.id,
                )
            )
    return result


def _administration(
    note: SignedNote,
    codes: Codes,
    route_code: str,
    route_display: str,
    number: int,
    index: int,
    site: Site,
    component: Component,
    mg: float,
    ml: float,
    name: str,
    syringe: str,
) -> JsonDict:
    when = site.injected_at or note.document.procedure.performed_at
    return {
        "resourceType": "MedicationAdministration",
        "id": note.stable_id(f"administration:{number}:{index}"),
        "contained": [_medication(codes, component)],
        "status": "completed",
        "medicationReference": {
            "reference": "#med",
            "display": f"{name} {component.concentration}",
        },
        "subject": _ref(note, "patient"),
        "context": _ref(note, "encounter"),
        "effectiveDateTime": _time(when),
        "performer": [{"actor": _ref(note, "practitioner")}],
        "dosage": {
            "text": (
                f"Site {number}: {mg:g} mg {name} in {ml:g} mL "
                f"({syringe}, {component.concentration})"
            ),
            "site": body_site(codes, site.muscle, site.side),
            "route": {
                "coding": [
                    {"system": codes.systems.route_v3, "code": route_code, "display": route_display}
                ],
                "text": "Intramuscular",
            },
            "dose": {"value": mg, "unit": "mg", "system": codes.systems.ucum, "code": "mg"},
        },
    }


def _survey(
    note: SignedNote, codes: Codes, role: str, code_key: str | None, label: str
) -> JsonDict:
    """An Observation of a score reported at this visit, without its value. The LOINC coding is
    sent only where the catalog has a verified code; the label always travels as text."""
    code: JsonDict = {"text": label}
    loinc = codes.observations.get(code_key) if code_key else None
    if loinc is not None and loinc.usable is not None:
        code["coding"] = [
            {"system": codes.systems.loinc, "code": loinc.usable, "display": loinc.display}
        ]
    return {
        "resourceType": "Observation",
        "id": note.stable_id(role),
        "status": "final",
        "category": [
            {"coding": [{"system": CATEGORY_SYSTEM, "code": "survey", "display": "Survey"}]}
        ],
        "code": code,
        "subject": _ref(note, "patient"),
        "encounter": _ref(note, "encounter"),
        "effectiveDateTime": _time(note.document.procedure.performed_at),
        "performer": [_ref(note, "practitioner")],
    }


def _pain(note: SignedNote, codes: Codes, role: str, label: str, score: int) -> JsonDict:
    return {**_survey(note, codes, role, "pain_nrs", label), "valueInteger": score}


def _functional(note: SignedNote, codes: Codes, index: int, score: FunctionalScore) -> JsonDict:
    key = score.scale.lower() if score.scale != "other" else None
    known = codes.observations.get(key) if key else None
    label = known.display if known is not None else f"{score.label} score"
    observation = _survey(note, codes, f"functional-{index}", key, label)
    if score.measured_on is not None:
        observation["effectiveDateTime"] = score.measured_on.isoformat()
    observation["valueQuantity"] = {"value": score.score, "unit": "score"}
    return observation


def _observations(note: SignedNote, codes: Codes) -> list[JsonDict]:
    procedure = note.document.procedure
    result = []
    if procedure.pain_before is not None:
        result.append(
            _pain(
                note,
                codes,
                "pain-before",
                "Pain before injection (NRS 0-10)",
                procedure.pain_before,
            )
        )
    if procedure.pain_after is not None:
        result.append(
            _pain(
                note, codes, "pain-after", "Pain after injection (NRS 0-10)", procedure.pain_after
            )
        )
    result += [
        _functional(note, codes, index, score)
        for index, score in enumerate(procedure.functional_scores, start=1)
    ]
    if procedure.pain_drawing is not None:
        result += _pain_drawing(note, codes, procedure.pain_drawing)
    return result


def _pain_drawing(note: SignedNote, codes: Codes, drawing: PainDrawing) -> list[JsonDict]:
    """One Observation per muscle zone the patient shaded: where (bodySite, coded as the sites
    are) and how bad (the brush level in words). The picture itself travels in the note PDF."""
    observations = []
    for index, area in enumerate(summarize_pain(drawing).areas, start=1):
        observation = _survey(
            note, codes, f"pain-area-{index}", None, "Pain location marked by the patient"
        )
        observation["bodySite"] = body_site(codes, area.muscle, area.side)
        observation["valueCodeableConcept"] = {"text": area.intensity_word}
        observations.append(observation)
    return observations


def _document_reference(note: SignedNote) -> JsonDict:
    procedure = note.document.procedure
    return {
        "resourceType": "DocumentReference",
        "id": note.stable_id("document"),
        "masterIdentifier": {
            "system": "urn:ietf:rfc:3986",
            "value": f"urn:uuid:{note.stable_id('document')}",
        },
        "status": "current",
        "docStatus": "final",
        "type": {"text": "Trigger point injection procedure note"},
        "category": [
            {
                "coding": [
                    {
                        "system": US_CORE_DOC_CATEGORY,
                        "code": "clinical-note",
                        "display": "Clinical Note",
                    }
                ]
            }
        ],
        "subject": _ref(note, "patient"),
        "date": _time(note.last_change),
        "author": [_ref(note, "practitioner")],
        "authenticator": _ref(note, "practitioner"),
        "description": f"Signed procedure note of {procedure.performed_at.date().isoformat()}",
        "content": [
            {
                "attachment": {
                    "contentType": "application/pdf",
                    "data": base64.b64encode(note.pdf).decode("ascii"),
                    "size": len(note.pdf),
                    # FHIR R4 Attachment.hash is the base64 of the SHA-1 of the data.
                    "hash": base64.b64encode(hashlib.sha1(note.pdf).digest()).decode("ascii"),
                    "title": f"{note.file_stem}.pdf",
                    "creation": _time(note.last_change),
                }
            }
        ],
        "context": {
            "encounter": [_ref(note, "encounter")],
            "period": {"start": _time(procedure.performed_at)},
        },
    }


def _provenance(note: SignedNote, targets: list[str]) -> JsonDict:
    signature = note.document.procedure.signature
    assert signature is not None
    attestation = json.dumps(
        {
            "signed_by": signature.signed_by,
            "signed_at": _time(signature.signed_at),
            "content_hash": signature.content_hash,
            "algorithm": "SHA-256 of the canonical procedure document (tpi-chart)",
        },
        sort_keys=True,
    ).encode("utf-8")
    return {
        "resourceType": "Provenance",
        "id": note.stable_id("provenance"),
        "target": [{"reference": f"urn:uuid:{target}"} for target in targets],
        "recorded": _time(signature.signed_at),
        "agent": [
            {
                "type": {
                    "coding": [
                        {"system": PARTICIPANT_TYPE_SYSTEM, "code": "author", "display": "Author"}
                    ]
                },
                "who": {**_ref(note, "practitioner"), "display": signature.signed_by},
            }
        ],
        "signature": [
            {
                "type": [
                    {
                        "system": SIGNATURE_TYPE_SYSTEM,
                        "code": AUTHOR_SIGNATURE,
                        "display": "Author's Signature",
                    }
                ],
                "when": _time(signature.signed_at),
                "who": {**_ref(note, "practitioner"), "display": signature.signed_by},
                "sigFormat": "application/json",
                "data": base64.b64encode(attestation).decode("ascii"),
            }
        ],
    }


def build_bundle(note: SignedNote) -> JsonDict:
    """The Bundle as JSON data (validate it with `validate_bundle`)."""
    codes = load_codes()
    resources: list[JsonDict] = [
        _patient(note),
        _practitioner(note),
        _encounter(note),
        _procedure(note, codes),
        *_administrations(note, codes),
        *_observations(note, codes),
        _document_reference(note),
    ]
    resources.append(
        _provenance(
            note,
            [
                r["id"]
                for r in resources
                if r["resourceType"] != "Patient" and r["resourceType"] != "Practitioner"
            ],
        )
    )
    return {
        "resourceType": "Bundle",
        "id": note.stable_id("bundle"),
        "meta": {"lastUpdated": _time(note.last_change)},
        "identifier": {
            "system": "urn:ietf:rfc:3986",
            "value": f"urn:uuid:{note.stable_id('bundle')}",
        },
        "type": "collection",
        "timestamp": _time(note.last_change),
        "entry": [{"fullUrl": f"urn:uuid:{r['id']}", "resource": r} for r in resources],
    }


def bundle_json(note: SignedNote) -> bytes:
    """The file's bytes: sorted keys, 2-space indent, UTF-8, trailing newline (stable)."""
    text = json.dumps(build_bundle(note), indent=2, sort_keys=True, ensure_ascii=False)
    return (text + "\n").encode("utf-8")


def validate_bundle(data: JsonDict) -> list[str]:
    """Problems `fhir.resources` (R4B models, wire-compatible with R4 for these resources)
    finds in the Bundle and in every resource it holds; empty when it validates."""
    from fhir.resources.R4B.bundle import Bundle
    from pydantic import ValidationError

    try:
        Bundle.model_validate(data)
    except ValidationError as error:
        return [
            f"{'.'.join(str(part) for part in problem['loc'])}: {problem['msg']}"
            for problem in error.errors()
        ]
    return []

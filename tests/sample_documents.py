"""Sample documents for tests, previews (`tools/render_note.py`) and benchmarks; not clinical data,
and not part of the product."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from tpi_chart.domain.canonical import addendum_hash, content_hash
from tpi_chart.domain.catalog import load_catalog
from tpi_chart.domain.diagram import default_position
from tpi_chart.domain.models import ProcedureDocument


def signed_copy(
    document: ProcedureDocument,
    *,
    signed_by: str | None = None,
    minutes_after: int = 35,
    acknowledge: bool = True,
) -> ProcedureDocument:
    """The document signed by its physician some minutes after the procedure, acknowledging the
    rule warnings with a stock reason (as the signing dialog would record them)."""
    from tpi_chart.domain.rules import evaluate

    data: dict[str, Any] = document.to_json_dict()
    procedure = data["procedure"]
    procedure.pop("signature", None)
    procedure["status"] = "signed"
    unsigned = ProcedureDocument.model_validate(
        {**data, "procedure": {**procedure, "status": "in_progress", "addenda": []}}
    )
    signer = signed_by or document.procedure.physician or "Physician"
    acknowledgements = []
    if acknowledge:
        merged: dict[str, list[int]] = {}
        for warning in evaluate(unsigned).warnings:
            sites = merged.setdefault(warning.code, [])
            sites.extend(s for s in warning.sites if s not in sites)
        acknowledgements = [
            {
                "code": code,
                "sites": sites,
                "reason": "Reviewed with the patient; clinically indicated.",
            }
            for code, sites in merged.items()
        ]
    procedure["signature"] = {
        "signed_by": signer,
        "signed_at": (
            document.procedure.performed_at + timedelta(minutes=minutes_after)
        ).isoformat(),
        "content_hash": content_hash(unsigned),
        "acknowledged_warnings": acknowledgements,
    }
    return ProcedureDocument.model_validate(data)


def with_addendum(
    document: ProcedureDocument, text: str, author: str, hours_after: int = 20
) -> ProcedureDocument:
    """A signed document with one more (hashed) addendum."""
    data = document.to_json_dict()
    signature = document.procedure.signature
    assert signature is not None, "only a signed document takes addenda"
    at = document.procedure.performed_at + timedelta(hours=hours_after)
    from tpi_chart.domain.models import Addendum

    addendum = Addendum(text=text, author=author, at=at)
    entry = addendum.model_dump(mode="json", exclude_defaults=True)
    entry["content_hash"] = addendum_hash(addendum, signature.content_hash)
    data["procedure"].setdefault("addenda", []).append(entry)
    return ProcedureDocument.model_validate(data)


def forty_site_document(base: ProcedureDocument | None = None) -> ProcedureDocument:
    """A (clinically unrealistic) 40-site procedure to test that the note lays out at scale."""
    catalog = load_catalog()
    muscles = [
        m for m in catalog.muscles if default_position(m, "left") or default_position(m, "right")
    ]
    sites: list[dict[str, Any]] = []
    sides = ("left", "right")
    index = 0
    while len(sites) < 40:
        muscle = muscles[index % len(muscles)]
        side = sides[(index // len(muscles)) % 2]
        index += 1
        if default_position(muscle, side) is None:
            continue
        site: dict[str, Any] = {
            "muscle": muscle,
            "side": side,
            "state": "injected" if len(sites) % 7 else "planned",
            "preparation": "A",
            "twitch": ("none", "weak", "brisk")[len(sites) % 3],
            "findings": {"taut_band": True, "referred_pain": len(sites) % 2 == 0},
        }
        if site["state"] == "injected":
            site["volume_ml"] = 0.5
        sites.append(site)
    data: dict[str, Any] = {
        "format": "tpi-chart.procedure/1",
        "patient": {
            "mrn": "D1040",
            "family_name": "Nguyễn-Ødegård",
            "given_name": "李 Thị",
            "birth_date": "1961-02-03",
            "sex": "female",
            "weight_kg": 71.5,
            "allergies": ["sulfonamides"],
        },
        "procedure": {
            "performed_at": "2026-11-21T14:05:00-07:00",
            "payer_profile": "none",
            "diagnoses": ["M79.18", "M79.12", "M79.11"],
            "indication": "Widespread myofascial trigger points (layout test document).",
            "physician": "Dr. Alex Chen, MD",
            "pain_before": 8,
            "pain_after": 4,
            "preparations": [
                {
                    "id": "A",
                    "label": "Syringe A",
                    "components": [
                        {
                            "agent": "lidocaine",
                            "concentration": "0.5%",
                            "volume_ml": 20.0,
                            "lot": "LD5",
                            "expires": "2027-01-31",
                        },
                        {
                            "agent": "sodium_chloride",
                            "concentration": "0.9%",
                            "volume_ml": 10.0,
                            "lot": "NS1",
                            "expires": "2027-02-28",
                        },
                    ],
                }
            ],
            "sites": sites,
            "position": "prone",
            "skin_prep": "chlorhexidine",
            "needle": {"gauge": 25, "length_in": 1.5},
            "technique": ["flat_palpation", "aspiration"],
            "complications": ["vasovagal"],
            "complication_notes": "Brief lightheadedness, resolved lying flat.",
            "tolerance": "fair",
            "observed_minutes": 30,
            "aftercare_given": True,
        },
    }
    return ProcedureDocument.model_validate(data)

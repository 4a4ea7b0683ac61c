"""The time-out (Universal Protocol UP.01.03.01, clinical-reference §1.3): the elements shown to
the team and confirmed, and what must be true before it can be confirmed."""

from __future__ import annotations

from tpi_chart.domain.catalog import load_catalog
from tpi_chart.domain.diagnoses import load_diagnoses
from tpi_chart.domain.models import Patient, Procedure

_SIDE = {"left": "left", "right": "right", "midline": "midline"}


def time_out_problems(procedure: Procedure) -> list[str]:
    """Why the time-out cannot be confirmed yet ([] = it can)."""
    problems = []
    if not procedure.sites:
        problems.append("plan at least one site first (sites and sides are part of the time-out)")
    if procedure.consent is None or not procedure.consent.obtained:
        problems.append("record the consent first (consent is part of the time-out)")
    return problems


def time_out_elements(
    patient: Patient, procedure: Procedure, site_marked: bool | None
) -> tuple[str, ...]:
    """The lines the team confirms, exactly as shown and as the note prints them."""
    catalog = load_catalog()
    diagnoses = load_diagnoses()
    sites = "; ".join(
        f"{catalog.muscle_name(site.muscle)} {_SIDE[site.side]}" for site in procedure.sites
    )
    consent = procedure.consent
    consent_text = "not recorded"
    if consent is not None and consent.obtained:
        consent_text = f"obtained ({consent.method or 'method not recorded'})"
        if consent.obtained_by:
            consent_text += f" by {consent.obtained_by}"
    allergies = ", ".join(patient.allergies) if patient.allergies else "none recorded"
    if patient.anticoagulated:
        anticoagulation = f"yes ({patient.anticoagulant})" if patient.anticoagulant else "yes"
    else:
        anticoagulation = "no"
    position = procedure.position.replace("_", " ") if procedure.position else "not recorded"
    what = "Trigger point injection"
    if procedure.diagnoses:
        what += " for " + ", ".join(diagnoses.label(code) for code in procedure.diagnoses)
    marked = {True: "yes", False: "no", None: "not recorded"}[site_marked]
    return (
        f"Patient: {patient.display_name} · DOB {patient.birth_date.isoformat()} · "
        f"MRN {patient.mrn}",
        f"Procedure: {what}",
        f"Sites and sides: {sites or 'none planned'}",
        f"Consent: {consent_text}",
        f"Position: {position}",
        f"Allergies: {allergies} · Anticoagulation: {anticoagulation}",
        f"Sites marked on the skin: {marked}",
    )

"""The patient's safety facts as short labelled phrases, the same on the patient page and in the
workspace header: allergies, anticoagulation, weight with its unit, age, and pregnancy when
recorded. `alert` marks the ones that must stand out (an allergy, an anticoagulant, something
not recorded)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from tpi_chart.domain.models import Patient
from tpi_chart.domain.units import WeightUnit, format_weight


@dataclass(frozen=True)
class Fact:
    name: str  # stable id: allergies, anticoagulation, weight, age, pregnancy
    text: str
    alert: bool


def age_years(birth: date, today: date | None = None) -> int:
    today = today or date.today()
    return today.year - birth.year - ((today.month, today.day) < (birth.month, birth.day))


def safety_facts(patient: Patient, unit: WeightUnit = "kg") -> list[Fact]:
    facts = [
        Fact(
            "allergies",
            ("⚠ " if patient.allergies else "") + patient.allergy_text,
            alert=not patient.no_known_allergies,
        )
    ]
    if patient.anticoagulated:
        agent = f": {patient.anticoagulant}" if patient.anticoagulant else ""
        facts.append(Fact("anticoagulation", f"⚠ Anticoagulated{agent}", alert=True))
    else:
        facts.append(Fact("anticoagulation", "Not anticoagulated", alert=False))
    facts.append(
        Fact("weight", format_weight(patient.weight_kg, unit), alert=patient.weight_kg is None)
    )
    facts.append(Fact("age", f"{age_years(patient.birth_date)} y", alert=False))
    if patient.pregnant is not None:
        text = "⚠ Pregnant" if patient.pregnant else "Not pregnant"
        facts.append(Fact("pregnancy", text, alert=bool(patient.pregnant)))
    return facts

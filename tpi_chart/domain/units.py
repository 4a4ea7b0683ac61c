"""Body weight in kilograms or pounds: stored in kg always, typed and shown in the clinic's unit."""

from __future__ import annotations

from typing import Literal

WeightUnit = Literal["kg", "lb"]
WEIGHT_UNITS: tuple[WeightUnit, ...] = ("kg", "lb")
#: The international avoirdupois pound, exactly (a definition, not a clinical number).
KG_PER_LB = 0.45359237
#: What a weight in the chart may be, in kg (the patient model refuses anything else).
WEIGHT_KG_MIN = 0.1
WEIGHT_KG_MAX = 400.0


def to_kg(value: float, unit: WeightUnit) -> float:
    return value * KG_PER_LB if unit == "lb" else value


def from_kg(kg: float, unit: WeightUnit) -> float:
    return kg / KG_PER_LB if unit == "lb" else kg


def format_weight(kg: float | None, unit: WeightUnit = "kg") -> str:
    """ "64 kg (141 lb)": the clinic's unit first, the other in brackets, both rounded to 0.1."""
    if kg is None:
        return "Weight not recorded"
    other: WeightUnit = "lb" if unit == "kg" else "kg"
    return f"{from_kg(kg, unit):.1f} {unit} ({from_kg(kg, other):.0f} {other})".replace(".0 ", " ")


def weight_problem(text: str, unit: WeightUnit) -> tuple[float | None, str | None]:
    """A typed weight → (kg, None), or (None, what is wrong in words). Empty → (None, None).
    Out of range is refused, never clamped: 1000 stays a mistake, not 400."""
    text = text.strip().replace(",", ".")
    if not text:
        return None, None
    try:
        value = float(text)
    except ValueError:
        return None, f"type a number in {unit}, like {'72.5' if unit == 'kg' else '160'}"
    kg = to_kg(value, unit)
    if not WEIGHT_KG_MIN <= kg <= WEIGHT_KG_MAX:
        low = from_kg(WEIGHT_KG_MIN, unit)
        high = from_kg(WEIGHT_KG_MAX, unit)
        return None, (
            f"{value:g} {unit} is outside {low:.1f}–{high:.0f} {unit}; "
            "check the number and the unit"
        )
    return round(kg, 2), None

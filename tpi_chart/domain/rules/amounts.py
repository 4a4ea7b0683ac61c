"""Arithmetic of doses: rounding as printed, billing units, what each site delivered, and
preparations charted beyond what was drawn up."""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Context, Decimal

from tpi_chart.domain.models import Procedure
from tpi_chart.domain.rules.context import site_list, sites_word

# Units are computed from the charted mg (rounded to 0.1 mg, as printed); the epsilon keeps float
# noise such as 4.000000001 units from rounding up to 5.
_UNIT_EPSILON = 1e-9


def round_half_up(value: float, places: int) -> float:
    """Round as people do (0.25 → 0.3), from the shortest decimal form of the float."""
    if not math.isfinite(value):
        return value
    quantum = Decimal(1).scaleb(-places)
    # Enough digits for any finite float: the default 28 fail on large values.
    context = Context(prec=400)
    return float(Decimal(repr(value)).quantize(quantum, rounding=ROUND_HALF_UP, context=context))


def round_mg(value: float) -> float:
    return round_half_up(value, 1)


def round_ml(value: float) -> float:
    return round_half_up(value, 2)


def num(value: float) -> str:
    return f"{value:g}"


def hcpcs_units(mg: float, unit_mg: float) -> int:
    """Billing units: charted mg (0.1 mg) ÷ unit size, rounded up (clinical-reference §2.9)."""
    return max(0, math.ceil(round_mg(mg) / unit_mg - _UNIT_EPSILON))


@dataclass(frozen=True)
class Dose:
    mg: float
    ml: float


def site_doses(procedure: Procedure) -> tuple[dict[str, Dose], ...]:
    """Unrounded mg and mL of each agent delivered at each site (index-aligned with sites).

    A site's volume carries each component in proportion to the component's share of its
    preparation's total volume (product.md §5). Planned sites, and sites without a preparation or
    a volume, deliver nothing.
    """
    return tuple(
        {agent: Dose(mg, ml) for agent, (mg, ml) in doses.items()}
        for doses in _site_amounts(procedure)
    )


def _site_amounts(procedure: Procedure) -> list[dict[str, tuple[float, float]]]:
    """`site_doses` as plain (mg, mL) pairs: the history sums a patient's thousands of sites,
    and a frozen `Dose` per addition was most of that sum's time."""
    result: list[dict[str, tuple[float, float]]] = []
    # Each preparation's total and its components' strengths, worked out once per procedure
    # rather than once per site (a patient's ten-year history sums thousands of sites).
    parts: dict[str, tuple[float, list[tuple[str, float, float]]]] = {}
    for site in procedure.sites:
        doses: dict[str, tuple[float, float]] = {}
        preparation = procedure.preparation(site.preparation)
        if site.state == "injected" and preparation is not None and site.volume_ml is not None:
            known = parts.get(preparation.id)
            if known is None:
                known = parts[preparation.id] = (
                    preparation.total_volume_ml,
                    [(c.agent, c.volume_ml, c.mg_per_ml) for c in preparation.components],
                )
            total, components = known
            for agent, volume_ml, mg_per_ml in components:
                ml = site.volume_ml * volume_ml / total
                mg_before, ml_before = doses.get(agent, (0.0, 0.0))
                doses[agent] = (mg_before + ml * mg_per_ml, ml_before + ml)
        result.append(doses)
    return result


def agent_totals(procedure: Procedure) -> dict[str, Dose]:
    """Unrounded totals per agent over injected sites."""
    totals: dict[str, tuple[float, float]] = {}
    for doses in _site_amounts(procedure):
        for agent, (mg, ml) in doses.items():
            mg_before, ml_before = totals.get(agent, (0.0, 0.0))
            totals[agent] = (mg_before + mg, ml_before + ml)
    return {agent: Dose(mg, ml) for agent, (mg, ml) in totals.items()}


@dataclass(frozen=True)
class Overdrawn:
    preparation: str
    drawn_ml: float
    given_ml: float
    sites: tuple[int, ...]


def overdrawn_preparations(procedure: Procedure) -> list[Overdrawn]:
    """Preparations of which the injected sites were given more than was drawn (to 0.01 mL)."""
    found: list[Overdrawn] = []
    for preparation in procedure.preparations:
        numbers = tuple(
            number
            for number, site in enumerate(procedure.sites, start=1)
            if site.state == "injected"
            and site.preparation == preparation.id
            and site.volume_ml is not None
        )
        given = sum(procedure.sites[number - 1].volume_ml or 0.0 for number in numbers)
        drawn = preparation.total_volume_ml
        if round_ml(given) > round_ml(drawn):
            found.append(Overdrawn(preparation.id, round_ml(drawn), round_ml(given), numbers))
    return found


def overdrawn_message(item: Overdrawn) -> str:
    return (
        f"Preparation {item.preparation}: {num(item.given_ml)} mL charted at "
        f"{sites_word(item.sites)} {site_list(item.sites)} but only {num(item.drawn_ml)} mL "
        "drawn up. Correct the volumes (or what was drawn) before signing."
    )

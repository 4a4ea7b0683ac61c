"""Charge lines of a signed procedure, from the rules' evaluation.

`charge_lines` is the one place that turns an evaluation into billing lines; when the rules
produce billing lines themselves (modifiers, diagnosis pointers) it switches to reading them.
"""

from __future__ import annotations

from tpi_chart.domain.models import ProcedureDocument
from tpi_chart.domain.rules import Evaluation
from tpi_chart.interop.codes import load_codes
from tpi_chart.interop.model import ChargeLine

#: A claim line points at up to four diagnoses (CMS-1500 item 24E).
MAX_POINTERS = 4


def charge_lines(document: ProcedureDocument, evaluation: Evaluation) -> tuple[ChargeLine, ...]:
    """The CPT line (1 unit) and one HCPCS line per billable drug, each pointing at the
    procedure's first diagnoses. No modifiers yet: the rules do not decide JW/JZ."""
    pointers = tuple(range(1, min(len(document.procedure.diagnoses), MAX_POINTERS) + 1))
    lines: list[ChargeLine] = []
    if evaluation.cpt is not None:
        procedure = load_codes().procedures.get(evaluation.cpt)
        lines.append(
            ChargeLine(
                code=evaluation.cpt,
                kind="CPT",
                units=1,
                description=procedure.display if procedure else "Trigger point injection",
                diagnosis_pointers=pointers,
            )
        )
    names = {total.agent: total.name for total in evaluation.totals}
    for line in evaluation.hcpcs:
        if line.units <= 0:
            continue
        lines.append(
            ChargeLine(
                code=line.code,
                kind="HCPCS",
                units=line.units,
                description=f"{names.get(line.agent, line.agent)}, {line.unit_mg:g} mg per unit",
                diagnosis_pointers=pointers,
            )
        )
    return tuple(lines)

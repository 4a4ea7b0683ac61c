"""Properties of the rules over any valid document (hypothesis)."""

from __future__ import annotations

import json
import math

from hypothesis import given, settings
from hypothesis import strategies as st

from tests.strategies import documents, sites
from tpi_chart.domain.models import ProcedureDocument
from tpi_chart.domain.rules import WARNING_CODES, evaluate
from tpi_chart.domain.rules.amounts import agent_totals, site_doses

PROPERTY = settings(max_examples=200, deadline=None)


@PROPERTY
@given(documents())
def test_evaluate_never_raises_and_is_well_formed(document: ProcedureDocument) -> None:
    result = evaluate(document)
    data = json.loads(json.dumps(result.model_dump(mode="json")))
    assert data["valid"] is True
    assert evaluate(document) == result  # deterministic
    count = len(document.procedure.sites)
    for warning in result.warnings:
        assert warning.code in WARNING_CODES
        assert warning.message
        assert all(1 <= number <= count for number in warning.sites)
    assert [w.code for w in result.warnings] == sorted(
        (w.code for w in result.warnings), key=WARNING_CODES.index
    )
    # A TPI code from injected muscles; only when nothing was injected, the dry-needling code.
    dry = result.dry_needled_muscle_count
    assert result.cpt == (
        ("20552" if result.muscle_count <= 2 else "20553")
        if result.muscle_count
        else ("20560" if dry <= 2 else "20561")
        if dry
        else None
    )
    # The claim: one procedure line, first; drug lines carry whole units.
    assert result.billing is not None
    kinds = [line.kind for line in result.billing.lines]
    assert kinds == (["cpt"] if result.cpt else []) + ["hcpcs"] * (len(kinds) - bool(result.cpt))
    assert all(line.units >= 1 for line in result.billing.lines)
    pointers = [p for line in result.billing.lines for p in line.diagnosis_pointers]
    assert all(1 <= p <= len(document.procedure.diagnoses) for p in pointers)
    assert result.anesthetic.percent_of_max >= 0
    for line in result.hcpcs:
        assert line.units >= 1
        assert line.units * line.unit_mg >= line.mg - 1e-6
        assert (line.units - 1) * line.unit_mg < line.mg


@st.composite
def document_and_extra_site(draw: st.DrawFn) -> tuple[ProcedureDocument, ProcedureDocument]:
    document = draw(documents())
    procedure = document.procedure
    ids = tuple(preparation.id for preparation in procedure.preparations)
    extra = draw(sites(ids))
    position = draw(st.integers(0, len(procedure.sites)))
    new_sites = (*procedure.sites[:position], extra, *procedure.sites[position:])
    bigger = ProcedureDocument.model_validate(
        {
            **document.model_dump(mode="json"),
            "procedure": {**procedure.model_dump(mode="json"), "sites": new_sites},
        }
    )
    return document, bigger


@PROPERTY
@given(document_and_extra_site())
def test_adding_a_site_never_lowers_the_muscle_count(
    pair: tuple[ProcedureDocument, ProcedureDocument],
) -> None:
    before, after = pair
    assert evaluate(after).muscle_count >= evaluate(before).muscle_count
    assert set(evaluate(after).regions) >= set(evaluate(before).regions)


@PROPERTY
@given(documents())
def test_totals_equal_the_sum_over_sites(document: ProcedureDocument) -> None:
    result = evaluate(document)
    per_site = site_doses(document.procedure)
    exact = agent_totals(document.procedure)
    for total in result.totals:
        mg = sum(doses[total.agent].mg for doses in per_site if total.agent in doses)
        ml = sum(doses[total.agent].ml for doses in per_site if total.agent in doses)
        assert math.isclose(mg, exact[total.agent].mg, rel_tol=1e-9, abs_tol=1e-9)
        assert abs(total.mg - mg) <= 0.05 + 1e-9
        assert abs(total.ml - ml) <= 0.005 + 1e-9
        # The printed per-site amounts add up to the printed total within rounding.
        shown = [d.mg for s in result.sites for d in s.doses if d.agent == total.agent]
        assert abs(sum(shown) - total.mg) <= 0.05 * (len(shown) + 1) + 1e-9
    # Only injected sites carry doses.
    for site, doses in zip(document.procedure.sites, per_site, strict=True):
        if site.state != "injected":
            assert doses == {}
    assert {t.agent for t in result.totals} == {a for a, d in exact.items() if d.ml > 0}

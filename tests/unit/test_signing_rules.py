"""The pure completeness check and acknowledgement bookkeeping (domain/signing.py)."""

from __future__ import annotations

from dataclasses import dataclass

from tests.unit.auth_support import reference_document
from tpi_chart.domain.rules import evaluate
from tpi_chart.domain.signing import acknowledgement_records, missing_items, unacknowledged


@dataclass(frozen=True)
class W:
    code: str
    sites: tuple[int, ...] = ()
    message: str = "m"


def fields(items: list) -> list[str]:
    return [item.field for item in items]


def test_the_reference_visit_is_complete() -> None:
    assert missing_items(reference_document().procedure) == []


def test_every_missing_item_names_its_field_in_plain_words() -> None:
    procedure = reference_document(
        time_out=None, consent={"obtained": False}, pain_before=None, pain_after=None, diagnoses=[]
    ).procedure
    items = missing_items(procedure)
    # In the note's order: diagnoses, consent, time-out ... pain before and after.
    assert fields(items) == [
        "procedure.diagnoses",
        "procedure.consent",
        "procedure.time_out",
        "procedure.pain_before",
        "procedure.pain_after",
    ]
    assert str(items[1]) == (
        "procedure.consent: record that consent was obtained and how (written/verbal)"
    )
    assert str(items[2]) == "procedure.time_out: record the time-out"


def test_site_problems_name_the_site_by_number_muscle_and_side() -> None:
    document = reference_document()
    sites = list(document.procedure.sites)
    sites[1] = sites[1].model_copy(update={"volume_ml": None, "preparation": None})
    sites[2] = sites[2].model_copy(update={"state": "planned"})
    sites[3] = sites[3].model_copy(update={"muscle": "unspecified"})
    procedure = document.procedure.model_copy(update={"sites": tuple(sites)})
    lines = [str(item) for item in missing_items(procedure)]
    assert lines == [
        "procedure.sites[1].volume_ml: site 2 (Upper trapezius, right): record the volume "
        "injected (mL)",
        "procedure.sites[1].preparation: site 2 (Upper trapezius, right): choose the preparation "
        "(syringe) used",
        "procedure.sites[2]: site 3 (Levator scapulae, left) is still planned: mark it injected "
        "or remove it",
        "procedure.sites[3].muscle: site 4 (uncoded, right): choose the muscle (it is unspecified)",
    ]
    allowed = [str(item) for item in missing_items(procedure, allow_planned_sites=True)]
    assert len(allowed) == 3
    assert not any("still planned" in line for line in allowed)


def test_no_injected_site_is_missing() -> None:
    document = reference_document()
    planned = tuple(
        site.model_copy(update={"state": "planned"}) for site in document.procedure.sites
    )
    procedure = document.procedure.model_copy(update={"sites": planned})
    assert "procedure.sites" in fields(missing_items(procedure, allow_planned_sites=True))
    empty = document.procedure.model_copy(update={"sites": ()})
    assert fields(missing_items(empty)) == ["procedure.sites"]


def test_unacknowledged_codes_need_a_non_blank_reason() -> None:
    warnings = [W("ptx_risk_site", (1, 2)), W("multi_region"), W("ptx_risk_site", (5,))]
    assert unacknowledged(warnings, {}) == ["ptx_risk_site", "multi_region"]
    assert unacknowledged(warnings, {"ptx_risk_site": "  ", "multi_region": "ok"}) == [
        "ptx_risk_site"
    ]
    records = acknowledgement_records(
        warnings, {"ptx_risk_site": " shallow, fanning ", "multi_region": "same visit", "x": "y"}
    )
    assert [(r.code, r.sites, r.reason) for r in records] == [
        ("ptx_risk_site", (1, 2, 5), "shallow, fanning"),
        ("multi_region", (), "same visit"),
    ]


def test_reference_visit_warnings_feed_the_check() -> None:
    warnings = evaluate(reference_document()).warnings
    assert unacknowledged(warnings, {}) == ["ptx_risk_site", "multi_region"]

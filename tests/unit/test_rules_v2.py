"""Rules version 2 (issue 14), each worked through with the numbers of clinical-reference.md."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from tests.unit.test_rules import TRIAMCINOLONE_40, codes, make, prior, warning
from tpi_chart.domain.catalog import load_catalog
from tpi_chart.domain.errors import describe_validation_error
from tpi_chart.domain.localdates import age_on, local_date
from tpi_chart.domain.models import ProcedureDocument, Site
from tpi_chart.domain.rules import Evaluation, evaluate
from tpi_chart.domain.signing import missing_items

DENVER = ZoneInfo("America/Denver")


def dry(muscle: str, side: str) -> dict[str, Any]:
    return {"muscle": muscle, "side": side, "dry_needling": True}


def lines(result: Evaluation) -> list[tuple[str, int, tuple[str, ...]]]:
    assert result.billing is not None
    return [(line.code, line.units, line.modifiers) for line in result.billing.lines]


# ----------------------------------------------------------------------------- 1. dry needling


@pytest.mark.parametrize(
    ("muscles", "cpt"),
    [
        ([("upper_trapezius", "left")], "20560"),
        ([("upper_trapezius", "left"), ("levator_scapulae", "left")], "20560"),
        (
            [
                ("upper_trapezius", "left"),
                ("levator_scapulae", "left"),
                ("splenius_capitis", "left"),
            ],
            "20561",
        ),
    ],
)
def test_dry_needling_only_is_20560_or_20561(muscles: list[tuple[str, str]], cpt: str) -> None:
    result = evaluate(make([dry(m, s) for m, s in muscles], payer="medicare-2024"))
    assert result.cpt == cpt
    assert result.muscle_count == 0
    assert result.dry_needled_muscle_count == len(muscles)
    found = warning(result, "dry_needling_not_tpi")
    assert "not a trigger point injection" in found.message
    assert "NCD 30.3.3" in found.message
    assert result.totals == ()
    assert result.billing is not None
    assert "dry_needling_not_tpi" in result.billing.coverage_warnings


def test_mixed_procedure_codes_the_tpi_from_injected_muscles_only() -> None:
    result = evaluate(
        make(
            [
                ("upper_trapezius", "left"),
                dry("levator_scapulae", "left"),
                dry("splenius_capitis", "left"),
            ]
        )
    )
    assert result.cpt == "20552"  # one injected muscle, not three
    assert result.muscle_count == 1
    assert result.dry_needled_muscle_count == 2
    found = warning(result, "dry_needling_not_tpi")
    assert found.sites == (2, 3)
    assert "Levator scapulae (left) and Splenius capitis (left)" in found.message
    assert result.billing is not None
    assert result.billing.dry_needled_muscles == (
        "Levator scapulae (left)",
        "Splenius capitis (left)",
    )
    assert [s.dry_needling for s in result.sites] == [False, True, True]


def test_dry_needled_site_takes_no_preparation_or_volume() -> None:
    with pytest.raises(ValidationError) as raised:
        Site(muscle="masseter", side="left", dry_needling=True, volume_ml=1.0)
    assert describe_validation_error(raised.value)[0].startswith("dry_needling: ")
    # and signing does not ask it for a volume or a syringe
    document = make([dry("masseter", "left")])
    assert [i for i in missing_items(document.procedure) if "sites" in i.field] == []


# ----------------------------------------------------------------------------- 2. same day


def test_same_day_procedure_names_the_other_and_the_day_code() -> None:
    # This procedure 09:30 Denver, levator + splenius; another at 15:00 the same local day.
    other = {
        "performed_at": "2026-11-20T15:00:00-07:00",
        "sites": [{"muscle": "upper_trapezius", "side": "right"}],
    }
    result = evaluate(
        make([("levator_scapulae", "left"), ("splenius_capitis", "left")], priors=[other]),
        zone=DENVER,
    )
    found = warning(result, "same_day_procedure")
    assert "2026-11-20" in found.message
    assert "at 15:00: Upper trapezius (right)" in found.message
    assert "3 muscles over the day → one 20553 for the day" in found.message


def test_same_day_is_the_local_date_and_regions_are_judged_over_the_day() -> None:
    # 18:00 in Denver on 19 Nov is 01:00 UTC on 20 Nov: not the same local day as 09:30 on 20 Nov.
    evening = {
        "performed_at": "2026-11-19T18:00:00-07:00",
        "sites": [{"muscle": "gluteus_medius", "side": "left"}],
    }
    result = evaluate(make([("levator_scapulae", "left")], priors=[evening]), zone=DENVER)
    assert "same_day_procedure" not in codes(result)
    afternoon = {
        "performed_at": "2026-11-20T14:00:00-07:00",
        "sites": [{"muscle": "gluteus_medius", "side": "left"}],
    }
    medicare = evaluate(
        make([("levator_scapulae", "left")], priors=[afternoon], payer="medicare-2024"),
        zone=DENVER,
    )
    found = warning(medicare, "multi_region")
    assert "2 anatomical regions" in found.message
    assert "Hip and buttock (the procedure at 14:00)" in found.message
    assert found.sites == (1,)


def test_a_prior_with_nothing_injected_is_no_session() -> None:
    cancelled = {"performed_at": "2026-11-20T15:00:00-07:00", "sites": []}
    result = evaluate(make([("levator_scapulae", "left")], priors=[cancelled]), zone=DENVER)
    assert "same_day_procedure" not in codes(result)


# ----------------------------------------------------------------------------- 3. billing muscles


def test_upper_middle_lower_trapezius_on_one_side_is_one_muscle() -> None:
    result = evaluate(
        make(
            [
                ("upper_trapezius", "right"),
                ("middle_trapezius", "right"),
                ("lower_trapezius", "right"),
            ]
        )
    )
    assert result.muscle_count == 1
    assert result.cpt == "20552"
    # §2.1 (S5): R trapezius + R rhomboid major → 20552; add R levator scapulae → 20553.
    two = evaluate(make([("middle_trapezius", "right"), ("rhomboid_major", "right")]))
    assert (two.muscle_count, two.cpt) == (2, "20552")
    three = evaluate(
        make(
            [
                ("middle_trapezius", "right"),
                ("rhomboid_major", "right"),
                ("levator_scapulae", "right"),
            ]
        )
    )
    assert (three.muscle_count, three.cpt) == (3, "20553")
    # The finer ids stay for the diagram and the note.
    assert [s.muscle for s in result.sites] == [
        "upper_trapezius",
        "middle_trapezius",
        "lower_trapezius",
    ]


# ----------------------------------------------------------------------------- 4. maxima, children


def test_every_local_anesthetic_has_a_weight_based_maximum() -> None:
    for agent in load_catalog().agents.values():
        if agent.agent_class == "local_anesthetic":
            assert agent.max_dose is not None, agent.id
            assert agent.max_dose.mg_per_kg is not None, agent.id


@pytest.mark.parametrize(
    ("birth", "age", "child"),
    [
        ("2008-11-20", 18, False),  # 18th birthday on the date of service
        ("2008-11-21", 17, True),
        ("2018-05-01", 8, True),
    ],
)
def test_pediatric_patient_under_18_on_the_date_of_service(
    birth: str, age: int, child: bool
) -> None:
    result = evaluate(make([("masseter", "left")], patient={"birth_date": birth}), zone=DENVER)
    assert ("pediatric_patient" in codes(result)) is child
    if child:
        assert f"{age} years old on 2026-11-20" in warning(result, "pediatric_patient").message


def test_age_counts_completed_years() -> None:
    from datetime import date

    assert age_on(date(2008, 2, 29), date(2026, 2, 28)) == 17
    assert age_on(date(2008, 2, 29), date(2026, 3, 1)) == 18


# ----------------------------------------------------------------------------- 5. allergy classes


def test_lidocaine_allergy_flags_bupivacaine_as_cross_reactivity() -> None:
    result = evaluate(
        make(
            [("masseter", "left")],
            components=[{"agent": "bupivacaine", "concentration": "0.25%", "volume_ml": 5.0}],
            allergies=("lidocaine",),
        )
    )
    assert "allergy_conflict" not in codes(result)
    found = warning(result, "allergy_cross_reactivity")
    assert "“lidocaine” (Lidocaine HCl)" in found.message
    assert "Bupivacaine HCl" in found.message
    assert found.sites == (1,)
    assert ("cross_reactivity", "amide") in {(u.kind, u.subject) for u in result.unverified}


@pytest.mark.parametrize("allergy", ["bupivacaine", "marcaine", "amide local anesthetics"])
def test_same_agent_or_class_allergy_stays_allergy_conflict(allergy: str) -> None:
    result = evaluate(
        make(
            [("masseter", "left")],
            components=[{"agent": "bupivacaine", "concentration": "0.25%", "volume_ml": 5.0}],
            allergies=(allergy,),
        )
    )
    assert "allergy_conflict" in codes(result)
    assert "allergy_cross_reactivity" not in codes(result)


# ----------------------------------------------------------------------------- 6. label cautions


def test_triamcinolone_10_mg_per_ml_is_not_for_intramuscular_use() -> None:
    ten = {"agent": "triamcinolone", "concentration": "10 mg/mL", "volume_ml": 1.0}
    result = evaluate(make([("masseter", "left")], components=[ten]))
    found = warning(result, "drug_label_caution")
    assert "NOT for intravenous, intramuscular" in found.message
    assert "S138" in found.message
    forty = evaluate(make([("masseter", "left")], components=[TRIAMCINOLONE_40]))
    assert "drug_label_caution" not in codes(forty)


def test_corticosteroid_into_the_deltoid_and_ketorolac_are_label_cautions() -> None:
    steroid = {"agent": "methylprednisolone_acetate", "concentration": "40 mg/mL", "volume_ml": 1.0}
    result = evaluate(make([("deltoid", "left"), ("infraspinatus", "left")], components=[steroid]))
    found = warning(result, "drug_label_caution")
    assert found.sites == (1,)
    assert "avoid deltoid injection" in found.message
    plain = evaluate(make([("deltoid", "left")]))  # lidocaine alone: no steroid caution
    assert "drug_label_caution" not in codes(plain)
    toradol = {"agent": "ketorolac", "concentration": "30 mg/mL", "volume_ml": 1.0}
    ketorolac = evaluate(make([("gluteus_medius", "left")], components=[toradol]))
    message = warning(ketorolac, "drug_label_caution").message
    assert "NOT indicated for minor or chronic painful conditions" in message
    assert "S152" in message


# ----------------------------------------------------------------------------- 7. coverage


def test_image_guidance_under_medicare_2024_is_not_covered() -> None:
    medicare = evaluate(
        make([("masseter", "left")], payer="medicare-2024", image_guidance="ultrasound")
    )
    assert "Ultrasound guidance" in warning(medicare, "image_guidance_not_covered").message
    none = evaluate(make([("masseter", "left")], image_guidance="ultrasound"))
    assert "image_guidance_not_covered" not in codes(none)


def test_jaw_diagnosis_on_hip_injections_is_a_mismatch() -> None:
    result = evaluate(
        make([("gluteus_medius", "left"), ("masseter", "left")], diagnoses=("M79.11",))
    )
    found = warning(result, "diagnosis_site_mismatch")
    assert found.sites == (1,)
    assert "Hip and buttock (site 1)" in found.message
    assert "M79.11: Jaw" in found.message
    # The temporalis is a mastication muscle in the head region: M79.11 is its own code.
    temporalis = evaluate(make([("temporalis", "left")], diagnoses=("M79.11",)))
    assert "diagnosis_site_mismatch" not in codes(temporalis)
    # Generic codes support any region; M54.50 matches the M54.5 entry (lower back).
    for generic in ("M79.18", "M79.10"):
        assert "diagnosis_site_mismatch" not in codes(
            evaluate(make([("gluteus_medius", "left")], diagnoses=(generic,)))
        )
    back = evaluate(make([("gluteus_medius", "left")], diagnoses=("M54.50",)))
    assert "diagnosis_site_mismatch" in codes(back)


# ----------------------------------------------------------------------------- 8. plausibility


def test_eight_weeks_of_relief_from_a_session_41_days_ago_is_implausible() -> None:
    # 2026-10-10 to 2026-11-20 is 41 days; 8 weeks is 56 days.
    result = evaluate(
        make([("masseter", "left")], priors=[prior("2026-10-10", 60, weeks=8)]), zone=DENVER
    )
    found = warning(result, "relief_exceeds_interval")
    assert "8 weeks of relief (56 days)" in found.message
    assert "41 days later" in found.message
    # 6 weeks (42 days) fit in 41? No: 42 > 41. 5 weeks (35 days) do.
    assert "relief_exceeds_interval" not in codes(
        evaluate(make([("masseter", "left")], priors=[prior("2026-10-10", 60, weeks=5)]))
    )


def test_relief_between_two_earlier_sessions_is_checked_too() -> None:
    priors = [prior("2026-06-01", 60, weeks=10), prior("2026-07-01", 60, weeks=2)]
    result = evaluate(make([("masseter", "left")], priors=priors), zone=DENVER)
    assert (
        "the next session on 2026-07-01 came 30 days later"
        in warning(result, "relief_exceeds_interval").message
    )


def test_local_dates_not_utc_dates() -> None:
    # Issue 14: a prior at 18:00 local (01:00 UTC the next day) made 42 local days count as 41.
    earlier = prior("2026-10-09", sites=(("upper_trapezius", "left"),))
    earlier["performed_at"] = "2026-10-09T18:00:00-06:00"  # Denver daylight time
    document = make(
        [("upper_trapezius", "left")],
        payer="medicare-2024",
        priors=[earlier],
        performed_at="2026-11-20T09:30:00-07:00",
    )
    result = evaluate(document, zone=DENVER)
    assert "repeat_interval_short" not in codes(result)  # 42 local days
    utc = evaluate(document, zone=ZoneInfo("UTC"))
    assert "41 days ago" in warning(utc, "repeat_interval_short").message
    assert str(local_date(document.procedure.performed_at, DENVER)) == "2026-11-20"


def test_more_given_than_drawn_blocks_signing() -> None:
    document = make(
        [("masseter", "left", 4.0)], components=[{**TRIAMCINOLONE_40, "volume_ml": 2.0}]
    )
    assert warning(evaluate(document), "volume_exceeds_drawn").sites == (1,)
    fields = [item.field for item in missing_items(document.procedure)]
    assert "procedure.preparations[0]" in fields


def test_midline_is_bad_input_for_a_paired_muscle() -> None:
    data = make([("masseter", "left")]).to_json_dict()
    data["procedure"]["sites"][0]["side"] = "midline"
    with pytest.raises(ValidationError) as raised:
        ProcedureDocument.model_validate(data)
    (line,) = describe_validation_error(raised.value)
    assert line.startswith("procedure.sites[0].side: Masseter is a paired muscle")
    data["procedure"]["sites"][0]["muscle"] = "unspecified"
    ProcedureDocument.model_validate(data)  # an uncoded midline site is fine


# ----------------------------------------------------------------------------- 9. claim lines


def _drug(container: str | None, container_ml: float | None, **extra: Any) -> dict[str, Any]:
    component: dict[str, Any] = {**TRIAMCINOLONE_40, **extra}
    if container:
        component["container"] = container
    if container_ml is not None:
        component["container_ml"] = container_ml
    return component


def test_single_dose_container_all_given_is_jz() -> None:
    # 40 mg from a 1 mL single-dose vial of 40 mg/mL, all given: J3301 × 4 JZ (§2.7, §2.8).
    result = evaluate(
        make(
            [("masseter", "left", 1.0)],
            components=[_drug("single_dose", 1.0, ndc="0003-0293-20")],
            payer="medicare-2024",
            diagnoses=("M79.11",),
        )
    )
    assert lines(result) == [("20552", 1, ()), ("J3301", 4, ("JZ",))]
    assert result.billing is not None
    assert result.billing.lines[1].ndc == "0003-0293-20"
    assert result.billing.lines[0].diagnosis_pointers == (1,)


def test_single_dose_container_with_waste_gets_a_jw_line() -> None:
    # 0.75 mL of the 1 mL vial given: 30 mg → 3 units; 10 mg discarded → JW 1 unit.
    result = evaluate(
        make(
            [("masseter", "left", 0.75)],
            components=[_drug("single_dose", 1.0, ndc="0003-0293-20")],
            payer="medicare-2024",
            diagnoses=("M79.11",),
        )
    )
    assert lines(result) == [("20552", 1, ()), ("J3301", 3, ()), ("J3301", 1, ("JW",))]
    assert result.billing is not None
    assert result.billing.lines[2].discarded


def test_multi_dose_container_has_no_jw_or_jz_and_missing_ndc_is_reported() -> None:
    result = evaluate(
        make(
            [("masseter", "left", 1.0)],
            components=[_drug("multi_dose", 5.0)],
            payer="medicare-2024",
            diagnoses=("M79.11",),
        )
    )
    assert lines(result) == [("20552", 1, ()), ("J3301", 4, ())]
    assert result.billing is not None
    assert any("no NDC recorded" in problem for problem in result.billing.problems)
    assert any("no NDC recorded" in note.message for note in result.notes)


@pytest.mark.parametrize(("abn", "modifier"), [(True, "GA"), (False, "GZ"), (None, None)])
def test_coverage_warning_puts_ga_or_gz_on_the_lines(
    abn: bool | None, modifier: str | None
) -> None:
    extra = {} if abn is None else {"abn_on_file": abn}
    result = evaluate(
        make(
            [("masseter", "left", 1.0)],
            components=[_drug("single_dose", 1.0, ndc="0003-0293-20")],
            payer="medicare-2024",
            diagnoses=("M54.2",),  # cervicalgia: not covered by the 2024 LCDs
            **extra,
        )
    )
    assert result.billing is not None
    assert "diagnosis_not_covered" in result.billing.coverage_warnings
    assert result.billing.non_coverage_modifier == modifier
    assert result.billing.abn_needed is (abn is None)
    tail = (modifier,) if modifier else ()
    assert lines(result) == [("20552", 1, tail), ("J3301", 4, ("JZ", *tail))]


def test_check_json_carries_the_billing_lines() -> None:
    dumped = evaluate(make([("masseter", "left")], diagnoses=("M79.11", "M79.18"))).model_dump(
        mode="json"
    )
    assert dumped["billing"]["lines"][0] == {
        "kind": "cpt",
        "code": "20552",
        "units": 1,
        "modifiers": [],
        "diagnosis_pointers": [1, 2],
        "agent": None,
        "mg": None,
        "ndc": None,
        "discarded": False,
    }

"""The rules of product.md §6 worked through with the numbers of clinical-reference.md."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from tpi_chart.domain.catalog import Catalog, NearMax, load_catalog
from tpi_chart.domain.models import ProcedureDocument
from tpi_chart.domain.rules import WARNING_CODES, Evaluation, evaluate
from tpi_chart.domain.rules.allergy import allergy_matches
from tpi_chart.domain.rules.amounts import hcpcs_units, round_half_up

REFERENCE = Path(__file__).parents[1] / "examples" / "reference-visit.json"
DAY = "2026-11-20T09:30:00-07:00"

LIDOCAINE_1 = {"agent": "lidocaine", "concentration": "1%", "volume_ml": 10.0}
TRIAMCINOLONE_40 = {"agent": "triamcinolone", "concentration": "40 mg/mL", "volume_ml": 1.0}


def make(
    sites: list[Any],
    *,
    components: list[dict[str, Any]] | None = None,
    preparations: list[dict[str, Any]] | None = None,
    weight: float | None = 70.0,
    payer: str = "none",
    allergies: tuple[str, ...] = (),
    priors: list[dict[str, Any]] | None = None,
    diagnoses: tuple[str, ...] = ("M79.18",),
    patient: dict[str, Any] | None = None,
    **procedure: Any,
) -> ProcedureDocument:
    """A document; a site is (muscle, side[, volume_ml[, state[, preparation]]]) or a dict."""
    if preparations is None:
        preparations = [{"id": "A", "components": components or [LIDOCAINE_1]}]
    site_dicts = []
    for site in sites:
        if isinstance(site, dict):
            site_dicts.append(site)
            continue
        muscle, side, *rest = site
        volume = rest[0] if len(rest) > 0 else 1.0
        state = rest[1] if len(rest) > 1 else "injected"
        prep = rest[2] if len(rest) > 2 else "A"
        site_dicts.append(
            {
                "muscle": muscle,
                "side": side,
                "volume_ml": volume,
                "state": state,
                "preparation": prep,
            }
        )
    data = {
        "format": "tpi-chart.procedure/1",
        "patient": {
            "mrn": "T1",
            "family_name": "Test",
            "given_name": "Pat",
            "birth_date": "1970-01-01",
            "sex": "female",
            "weight_kg": weight,
            "allergies": list(allergies),
            **(patient or {}),
        },
        "procedure": {
            "performed_at": DAY,
            "payer_profile": payer,
            "diagnoses": list(diagnoses),
            "pain_before": 6,
            "pain_after": 2,
            "preparations": preparations,
            "sites": site_dicts,
            **procedure,
        },
        "prior_procedures": priors or [],
    }
    return ProcedureDocument.model_validate(data)


def codes(evaluation: Evaluation) -> list[str]:
    return [warning.code for warning in evaluation.warnings]


def warning(evaluation: Evaluation, code: str) -> Any:
    found = [w for w in evaluation.warnings if w.code == code]
    assert len(found) == 1, codes(evaluation)
    return found[0]


def catalog_with(**changes: Any) -> Catalog:
    return load_catalog().model_copy(update=changes)


# ----------------------------------------------------------------------------- reference visit


def test_reference_visit_gives_the_numbers_of_product_md() -> None:
    result = evaluate(ProcedureDocument.model_validate_json(REFERENCE.read_text()))
    assert result.muscle_count == 6
    assert result.cpt == "20553"
    assert result.regions == ("neck", "shoulder")
    totals = {t.agent: (t.mg, t.ml) for t in result.totals}
    assert totals == {"lidocaine": (80.0, 8.0), "triamcinolone": (40.0, 1.0)}
    assert result.anesthetic.percent_of_max == 27.8
    assert result.anesthetic.max_mg == {"lidocaine": 288.0}
    assert result.anesthetic.weight_kg == 64.0
    assert [(h.code, h.units, h.agent, h.mg, h.unit_mg, h.verified) for h in result.hcpcs] == [
        ("J3301", 4, "triamcinolone", 40.0, 10.0, True)
    ]
    assert codes(result) == ["ptx_risk_site", "multi_region"]
    assert warning(result, "ptx_risk_site").sites == (1, 2, 5)
    region = warning(result, "multi_region")
    assert "Neck" in region.message
    assert "Shoulder" in region.message
    assert result.preparations[0].drawn_ml == 9.0
    assert result.preparations[0].given_ml == 9.0
    assert [d.mg for d in result.sites[0].doses] == [13.3, 6.7]


def test_evaluation_json_has_the_keys_of_product_md() -> None:
    result = evaluate(ProcedureDocument.model_validate_json(REFERENCE.read_text()))
    data = json.loads(json.dumps(result.model_dump(mode="json")))
    assert data["valid"] is True
    for key in ("muscle_count", "regions", "cpt", "hcpcs", "totals", "anesthetic", "warnings"):
        assert key in data
    assert data["hcpcs"][0]["code"] == "J3301"
    assert data["anesthetic"]["percent_of_max"] == 27.8
    assert data["warnings"][0] == {
        "code": "ptx_risk_site",
        "message": data["warnings"][0]["message"],
        "sites": [1, 2, 5],
    }


# ----------------------------------------------------------------------------- CPT


def test_bilateral_splenius_capitis_plus_rhomboid_is_three_muscles() -> None:
    document = make(
        [("splenius_capitis", "left"), ("splenius_capitis", "right"), ("rhomboid_major", "left")]
    )
    result = evaluate(document)
    assert result.muscle_count == 3
    assert result.cpt == "20553"


def test_payer_counting_left_and_right_as_one_muscle() -> None:
    none = load_catalog().payers["none"]
    strict = none.model_copy(update={"bilateral_counts_as_two": False})
    catalog = catalog_with(payers={**load_catalog().payers, "none": strict})
    document = make(
        [("splenius_capitis", "left"), ("splenius_capitis", "right"), ("rhomboid_major", "left")]
    )
    result = evaluate(document, catalog=catalog)
    assert result.muscle_count == 2
    assert result.cpt == "20552"


def test_four_injections_into_one_muscle_is_one_muscle() -> None:
    result = evaluate(make([("upper_trapezius", "left")] * 4))
    assert result.muscle_count == 1
    assert result.cpt == "20552"


def test_two_muscles_is_20552_and_planned_or_unspecified_sites_do_not_count() -> None:
    result = evaluate(
        make(
            [
                ("masseter", "left"),
                ("temporalis", "left"),
                ("frontalis", "right", 1.0, "planned"),
                ("unspecified", "left"),
            ]
        )
    )
    assert result.muscle_count == 2
    assert result.cpt == "20552"


def test_nothing_injected_has_no_cpt_and_no_doses() -> None:
    result = evaluate(make([("masseter", "left", 1.0, "planned")]))
    assert result.muscle_count == 0
    assert result.cpt is None
    assert result.totals == ()
    assert result.hcpcs == ()
    assert result.anesthetic.percent_of_max == 0.0
    assert result.sites[0].doses == ()


# ----------------------------------------------------------------------------- HCPCS


def test_80_mg_triamcinolone_is_j3301_times_8() -> None:
    document = make(
        [("gluteus_medius", "left", 2.0)],
        components=[{"agent": "triamcinolone", "concentration": "40 mg/mL", "volume_ml": 2.0}],
    )
    result = evaluate(document)
    assert [(h.code, h.units, h.mg) for h in result.hcpcs] == [("J3301", 8, 80.0)]


@pytest.mark.parametrize(
    ("agent", "concentration", "volume", "code", "units", "verified"),
    [
        ("dexamethasone", "4 mg/mL", 1.0, "J1100", 4, True),  # 4 mg, per 1 mg
        ("ketorolac", "30 mg/mL", 2.0, "J1885", 4, True),  # 60 mg, per 15 mg
        ("ketorolac", "30 mg/mL", 1.0, "J1885", 2, True),  # 30 mg
        ("ketorolac", "30 mg/mL", 1.5, "J1885", 3, True),  # 45 mg
        ("ketorolac", "30 mg/mL", 1.6, "J1885", 4, True),  # 48 mg rounds up
        ("methylprednisolone_acetate", "40 mg/mL", 1.0, "J1010", 40, False),
        ("betamethasone", "6 mg/mL", 1.0, "J0702", 1, False),
    ],
)
def test_hcpcs_units_round_up_per_unit_size(
    agent: str, concentration: str, volume: float, code: str, units: int, verified: bool
) -> None:
    document = make(
        [("gluteus_medius", "left", volume)],
        components=[{"agent": agent, "concentration": concentration, "volume_ml": volume}],
    )
    result = evaluate(document)
    assert [(h.code, h.units, h.verified) for h in result.hcpcs] == [(code, units, verified)]
    flagged = [(u.kind, u.subject) for u in result.unverified if u.kind == "hcpcs_unit"]
    assert flagged == ([] if verified else [("hcpcs_unit", agent)])


def test_units_ignore_float_noise_but_round_up_real_excess() -> None:
    assert hcpcs_units(40.0000001, 10) == 4
    assert hcpcs_units(40.0, 10) == 4
    assert hcpcs_units(40.1, 10) == 5
    assert hcpcs_units(0.3, 0.1) == 3
    assert hcpcs_units(0.0, 10) == 0


def test_local_anesthetics_have_no_medicare_line() -> None:
    result = evaluate(make([("masseter", "left", 5.0)], payer="medicare-2024"))
    assert result.hcpcs == ()
    assert result.totals[0].agent == "lidocaine"


def test_round_half_up() -> None:
    assert round_half_up(0.25, 1) == 0.3
    assert round_half_up(27.7777, 1) == 27.8
    assert round_half_up(111.1111, 1) == 111.1


# ----------------------------------------------------------------------------- doses


def test_30_ml_lidocaine_1_percent_at_60_kg_is_over_the_270_mg_maximum() -> None:
    document = make(
        [("gluteus_maximus", "left", 15.0), ("gluteus_maximus", "right", 15.0)],
        components=[{"agent": "lidocaine", "concentration": "1%", "volume_ml": 30.0}],
        weight=60.0,
    )
    result = evaluate(document)
    assert result.totals[0].mg == 300.0
    assert result.anesthetic.max_mg == {"lidocaine": 270.0}
    assert result.anesthetic.percent_of_max == 111.1
    over = warning(result, "anesthetic_dose_over_max")
    assert over.sites == (1, 2)
    assert "111.1 %" in over.message
    assert "270 mg" in over.message
    assert "anesthetic_dose_near_max" not in codes(result)


def test_absolute_cap_applies_to_heavy_patients() -> None:
    # 4.5 mg/kg × 100 kg = 450 mg, capped at 300 mg.
    document = make(
        [("gluteus_maximus", "left", 15.0)],
        components=[{"agent": "lidocaine", "concentration": "1%", "volume_ml": 15.0}],
        weight=100.0,
    )
    result = evaluate(document)
    assert result.anesthetic.max_mg == {"lidocaine": 300.0}
    assert result.anesthetic.percent_of_max == 50.0


def test_near_max_from_80_percent() -> None:
    # 50 kg → 225 mg; 18 mL of 1 % = 180 mg = 80.0 %; 17.9 mL = 179 mg = 79.6 %.
    def at(volume: float) -> Evaluation:
        return evaluate(
            make(
                [("gluteus_maximus", "left", volume)],
                components=[{"agent": "lidocaine", "concentration": "1%", "volume_ml": volume}],
                weight=50.0,
            )
        )

    assert at(18.0).anesthetic.percent_of_max == 80.0
    assert codes(at(18.0)) == ["anesthetic_dose_near_max"]
    assert at(17.9).anesthetic.percent_of_max == 79.6
    assert codes(at(17.9)) == []
    assert at(22.5).anesthetic.percent_of_max == 100.0
    assert codes(at(22.5)) == ["anesthetic_dose_near_max"]
    assert codes(at(22.6)) == ["anesthetic_dose_over_max"]


def test_near_max_threshold_comes_from_the_data() -> None:
    reference = ProcedureDocument.model_validate_json(REFERENCE.read_text())
    stricter = catalog_with(anesthetic_near_max=NearMax(fraction=0.25, source="clinic"))
    assert "anesthetic_dose_near_max" in codes(evaluate(reference, catalog=stricter))
    assert "anesthetic_dose_near_max" not in codes(evaluate(reference))


def test_missing_weight_uses_the_cap_and_warns() -> None:
    result = evaluate(make([("masseter", "left", 10.0)], weight=None))
    assert result.anesthetic.max_mg == {"lidocaine": 300.0}
    assert result.anesthetic.percent_of_max == 33.3
    assert warning(result, "weight_missing").sites == (1,)


def test_missing_weight_without_anesthetic_given_does_not_warn() -> None:
    planned = evaluate(make([("masseter", "left", 10.0, "planned")], weight=None))
    assert "weight_missing" not in codes(planned)
    steroid_only = evaluate(
        make([("masseter", "left", 1.0)], components=[TRIAMCINOLONE_40], weight=None)
    )
    assert "weight_missing" not in codes(steroid_only)


@pytest.mark.parametrize(
    ("agent", "concentration", "volume", "weight", "max_mg", "percent", "code"),
    [
        # With epinephrine: 7 mg/kg, at most 500 mg. 70 kg → 490 mg; 400 mg = 81.6 %.
        ("lidocaine_epinephrine", "1%", 40.0, 70.0, 490.0, 81.6, "anesthetic_dose_near_max"),
        # The same 400 mg without epinephrine: 4.5 mg/kg × 70 = 315 → cap 300 mg = 133.3 %.
        ("lidocaine", "1%", 40.0, 70.0, 300.0, 133.3, "anesthetic_dose_over_max"),
        # 100 kg: 700 mg capped at 500 mg; 400 mg = 80 %.
        ("lidocaine_epinephrine", "1%", 40.0, 100.0, 500.0, 80.0, "anesthetic_dose_near_max"),
        # Bupivacaine with epinephrine: at most 225 mg and the plain 2.5 mg/kg (UNVERIFIED):
        # 70 kg → 175 mg; 0.5 % × 30 mL = 150 mg = 85.7 %.
        ("bupivacaine_epinephrine", "0.5%", 30.0, 70.0, 175.0, 85.7, "anesthetic_dose_near_max"),
        # 100 kg: 250 mg capped at 225 mg; 200 mg = 88.9 %.
        ("bupivacaine_epinephrine", "0.5%", 40.0, 100.0, 225.0, 88.9, "anesthetic_dose_near_max"),
        # Bupivacaine: 2.5 mg/kg × 60 = 150 mg (below 175); 0.25 % × 20 mL = 50 mg = 33.3 %.
        ("bupivacaine", "0.25%", 20.0, 60.0, 150.0, 33.3, None),
    ],
)
def test_epinephrine_forms_use_their_own_maxima(
    agent: str,
    concentration: str,
    volume: float,
    weight: float,
    max_mg: float,
    percent: float,
    code: str | None,
) -> None:
    document = make(
        [("gluteus_maximus", "left", volume)],
        components=[{"agent": agent, "concentration": concentration, "volume_ml": volume}],
        weight=weight,
    )
    result = evaluate(document)
    assert result.anesthetic.max_mg == {agent: max_mg}
    assert result.anesthetic.percent_of_max == percent
    assert codes(result) == ([code] if code else [])
    unverified_max = agent.endswith("_epinephrine")
    assert result.anesthetic.verified is not unverified_max
    assert (("max_dose", agent) in {(u.kind, u.subject) for u in result.unverified}) is (
        unverified_max
    )


def test_bupivacaine_with_epinephrine_is_weight_based_in_a_child() -> None:
    # Issue 14: 50 mg in a 20 kg child showed 22 % (of 225 mg); 2.5 mg/kg × 20 kg = 50 mg: 100 %,
    # the same as plain bupivacaine.
    for agent in ("bupivacaine_epinephrine", "bupivacaine"):
        document = make(
            [("gluteus_maximus", "left", 20.0)],
            components=[{"agent": agent, "concentration": "0.25%", "volume_ml": 20.0}],
            weight=20.0,
            patient={"birth_date": "2018-05-01"},
        )
        result = evaluate(document)
        assert result.anesthetic.max_mg == {agent: 50.0}
        assert result.anesthetic.percent_of_max == 100.0
        assert "pediatric_patient" in codes(result)
    unweighed = make(
        [("gluteus_maximus", "left", 10.0)],
        components=[
            {"agent": "bupivacaine_epinephrine", "concentration": "0.5%", "volume_ml": 10.0}
        ],
        weight=None,
    )
    result = evaluate(unweighed)
    assert result.anesthetic.max_mg == {"bupivacaine_epinephrine": 225.0}
    assert "weight_missing" in codes(result)


def test_two_anesthetics_add_as_fractions_of_their_own_maxima() -> None:
    # 60 kg: lidocaine 100 mg / 270 mg = 37.04 %; bupivacaine 25 mg / 150 mg = 16.67 %; 53.7 %.
    document = make(
        [("gluteus_maximus", "left", 20.0)],
        components=[
            {"agent": "lidocaine", "concentration": "1%", "volume_ml": 10.0},
            {"agent": "bupivacaine", "concentration": "0.25%", "volume_ml": 10.0},
        ],
        weight=60.0,
    )
    result = evaluate(document)
    assert result.anesthetic.max_mg == {"lidocaine": 270.0, "bupivacaine": 150.0}
    assert [a.percent_of_max for a in result.anesthetic.agents] == [37.0, 16.7]
    assert result.anesthetic.percent_of_max == 53.7


def test_two_anesthetics_each_below_but_together_over_the_maximum() -> None:
    # 60 kg: lidocaine 200 mg / 270 = 74.1 %; bupivacaine 50 mg / 150 = 33.3 %; 107.4 %.
    document = make(
        [("gluteus_maximus", "left", 40.0)],
        components=[
            {"agent": "lidocaine", "concentration": "1%", "volume_ml": 20.0},
            {"agent": "bupivacaine", "concentration": "0.25%", "volume_ml": 20.0},
        ],
        weight=60.0,
    )
    result = evaluate(document)
    assert result.anesthetic.percent_of_max == 107.4
    assert "anesthetic_dose_over_max" in codes(result)


def test_mixed_preparations_split_volume_by_share() -> None:
    preparations = [
        {
            "id": "A",
            "components": [
                {"agent": "lidocaine", "concentration": "1%", "volume_ml": 4.0},
                TRIAMCINOLONE_40,
            ],
        },
        {
            "id": "B",
            "components": [
                {"agent": "bupivacaine", "concentration": "0.25%", "volume_ml": 5.0},
                {"agent": "dexamethasone", "concentration": "4 mg/mL", "volume_ml": 1.0},
            ],
        },
    ]
    document = make(
        [
            ("upper_trapezius", "left", 2.5, "injected", "A"),
            ("upper_trapezius", "right", 2.5, "injected", "A"),
            ("levator_scapulae", "left", 3.0, "injected", "B"),
            ("levator_scapulae", "right", 3.0, "planned", "B"),
        ],
        preparations=preparations,
        weight=60.0,
    )
    result = evaluate(document)
    # A: 2.5 of 5 mL carries 2 mL lidocaine (20 mg) + 0.5 mL triamcinolone (20 mg), twice.
    # B: 3 of 6 mL carries 2.5 mL bupivacaine 0.25 % (6.25 mg) + 0.5 mL dexamethasone (2 mg).
    assert [(t.agent, t.mg, t.ml) for t in result.totals] == [
        ("lidocaine", 40.0, 4.0),
        ("bupivacaine", 6.3, 2.5),
        ("triamcinolone", 40.0, 1.0),
        ("dexamethasone", 2.0, 0.5),
    ]
    assert [(h.code, h.units) for h in result.hcpcs] == [("J3301", 4), ("J1100", 2)]
    # 40/270 + 6.25/150 = 14.81 % + 4.17 % = 19.0 %
    assert result.anesthetic.percent_of_max == 19.0
    # methylprednisolone equivalents: 40 × 1 + 2 × 5.333 = 50.666
    assert result.steroid_mp_equivalent_mg == 50.7
    uses = {p.id: (p.drawn_ml, p.given_ml, p.remaining_ml, p.sites) for p in result.preparations}
    assert uses == {"A": (5.0, 5.0, 0.0, (1, 2)), "B": (6.0, 3.0, 3.0, (3,))}
    assert result.sites[3].doses == ()


def test_injected_site_without_preparation_adds_nothing_and_is_noted() -> None:
    document = make(
        [
            ("masseter", "left", 2.0),
            {"muscle": "masseter", "side": "right", "volume_ml": 1.0},
            {"muscle": "temporalis", "side": "right", "preparation": "A"},
        ]
    )
    result = evaluate(document)
    assert result.totals[0].mg == 20.0
    assert [n.sites for n in result.notes] == [(2, 3)]


def test_more_given_than_drawn_is_a_warning() -> None:
    result = evaluate(make([("masseter", "left", 6.0), ("masseter", "right", 6.0)]))
    found = warning(result, "volume_exceeds_drawn")
    assert "12 mL charted" in found.message
    assert "only 10 mL drawn" in found.message
    assert found.sites == (1, 2)


# ----------------------------------------------------------------------------- safety warnings


def test_ptx_risk_applies_to_planned_sites_too() -> None:
    result = evaluate(make([("masseter", "left"), ("anterior_scalene", "right", 1.0, "planned")]))
    assert warning(result, "ptx_risk_site").sites == (2,)
    # the scalene flag is anatomical inference in the reference
    assert ("risk_flag", "anterior_scalene") in {(u.kind, u.subject) for u in result.unverified}


def test_unspecified_sites_are_flagged_planned_or_injected() -> None:
    result = evaluate(
        make(
            [("unspecified", "left"), ("masseter", "left"), ("unspecified", "right", 1, "planned")]
        )
    )
    assert warning(result, "muscle_unspecified").sites == (1, 3)


@pytest.mark.parametrize(
    ("allergy", "agent", "expected"),
    [
        ("amide anesthetics", "lidocaine", True),
        ("amide local anesthetic", "lidocaine", True),
        ("Amide local anaesthetics", "bupivacaine", True),
        ("Lidocaine", "lidocaine", True),
        ("lidocaine", "lidocaine_epinephrine", True),
        ("xylocaine", "lidocaine", True),
        ("XYLOCAINE", "lidocaine_epinephrine", True),
        ("amide", "ropivacaine", True),
        ("Marcaine", "bupivacaine_epinephrine", True),
        ("Kenalog", "triamcinolone", True),
        ("steroids", "dexamethasone", True),
        ("Depo-Medrol", "methylprednisolone_acetate", True),
        ("NSAIDs", "ketorolac", True),
        ("lidocaine and latex", "lidocaine", True),
        ("sulfonamides", "lidocaine", False),
        ("sulfonamide antibiotics", "bupivacaine", False),
        ("sulfa", "lidocaine", False),
        ("latex", "lidocaine", False),
        ("penicillin", "triamcinolone", False),
        ("lidocaine", "bupivacaine", False),
        ("NSAIDs", "sodium_chloride", False),
        ("steroids", "lidocaine", False),
    ],
)
def test_allergy_matching(allergy: str, agent: str, expected: bool) -> None:
    assert allergy_matches(allergy, load_catalog().agents[agent]) is expected


def test_allergy_by_class_warns_with_the_sites_of_that_preparation() -> None:
    preparations = [
        {"id": "A", "components": [LIDOCAINE_1]},
        {"id": "B", "components": [TRIAMCINOLONE_40]},
    ]
    document = make(
        [
            ("masseter", "left", 1.0, "injected", "B"),
            ("masseter", "right", 1.0, "planned", "A"),
        ],
        preparations=preparations,
        allergies=("sulfonamides", "amide local anesthetic"),
    )
    result = evaluate(document)
    conflict = warning(result, "allergy_conflict")
    assert conflict.sites == (2,)
    assert "amide local anesthetic" in conflict.message
    assert "Lidocaine" in conflict.message
    assert "sulfonamides" not in conflict.message


def test_no_allergy_conflict_for_unrelated_allergy() -> None:
    result = evaluate(make([("masseter", "left")], allergies=("sulfonamides",)))
    assert "allergy_conflict" not in codes(result)


def test_anticoagulated() -> None:
    result = evaluate(
        make([("masseter", "left")], patient={"anticoagulated": True, "anticoagulant": "apixaban"})
    )
    assert "apixaban" in warning(result, "anticoagulated").message


@pytest.mark.parametrize(
    ("performed_at", "expires", "expired"),
    [
        (DAY, "2026-11-19", True),
        (DAY, "2026-11-20", False),  # usable through its expiry date
        (DAY, "2026-11-21", False),
        # 23:30 in Denver on 20 Nov is 21 Nov in UTC: the clinic's local date decides.
        ("2026-11-20T23:30:00-07:00", "2026-11-20", False),
        # 00:30 on 21 Nov at +01:00 is 16:30 on 20 Nov in Denver, the clinic's zone.
        ("2026-11-21T00:30:00+01:00", "2026-11-20", False),
        ("2026-11-21T08:30:00+01:00", "2026-11-20", True),
    ],
)
def test_expired_lot(performed_at: str, expires: str, expired: bool) -> None:
    components = [{**LIDOCAINE_1, "lot": "L1", "expires": expires}, TRIAMCINOLONE_40]
    document = make(
        [("masseter", "left"), ("masseter", "right", 1.0, "planned")],
        components=components,
        performed_at=performed_at,
    )
    result = evaluate(document, zone=ZoneInfo("America/Denver"))
    if expired:
        found = warning(result, "expired_lot")
        assert found.sites == (1, 2)
        assert "lot L1" in found.message
        assert expires in found.message
    else:
        assert "expired_lot" not in codes(result)


# ----------------------------------------------------------------------------- payer rules


def prior(
    when: str,
    relief: int | None = 60,
    sites: tuple[tuple[str, str], ...] = (("piriformis", "right"),),
    weeks: float | None = 8,
) -> dict:
    # A session injected something: a prior with no sites is no session (issue 14, item 11).
    return {
        "performed_at": f"{when}T10:00:00-07:00",
        "relief_percent": relief,
        "relief_weeks": weeks,
        "sites": [{"muscle": m, "side": s} for m, s in sites],
    }


THREE_PRIORS = [prior("2026-01-10"), prior("2026-05-01"), prior("2026-08-15")]


def test_fourth_session_in_365_days_warns_under_medicare_not_none() -> None:
    sites = [("splenius_capitis", "left")]
    medicare = evaluate(make(sites, payer="medicare-2024", priors=THREE_PRIORS))
    found = warning(medicare, "sessions_per_year_exceeded")
    assert "session 4" in found.message
    assert "at most 3 sessions" in found.message
    none = evaluate(make(sites, payer="none", priors=THREE_PRIORS))
    assert codes(none) == []


def test_third_session_is_fine_and_window_is_365_days() -> None:
    sites = [("splenius_capitis", "left")]
    third = evaluate(make(sites, payer="medicare-2024", priors=THREE_PRIORS[1:]))
    assert "sessions_per_year_exceeded" not in codes(third)
    # 2025-11-20 is 365 days before 2026-11-20: outside the window; 2025-11-21 is inside.
    outside = [prior("2025-11-20"), *THREE_PRIORS[1:]]
    assert "sessions_per_year_exceeded" not in codes(
        evaluate(make(sites, payer="medicare-2024", priors=outside))
    )
    inside = [prior("2025-11-21"), *THREE_PRIORS[1:]]
    assert "sessions_per_year_exceeded" in codes(
        evaluate(make(sites, payer="medicare-2024", priors=inside))
    )
    # An earlier record on the same date is the same session; a later one is not history.
    same_day_and_later = [prior("2026-11-20"), prior("2026-12-01"), *THREE_PRIORS[1:]]
    assert "sessions_per_year_exceeded" not in codes(
        evaluate(make(sites, payer="medicare-2024", priors=same_day_and_later))
    )


@pytest.mark.parametrize(
    ("when", "side", "short"),
    [
        ("2026-10-10", "left", True),  # 41 days
        ("2026-10-09", "left", False),  # 42 days
        ("2026-10-10", "right", False),  # other side
    ],
)
def test_repeat_interval(when: str, side: str, short: bool) -> None:
    priors = [prior(when, sites=(("upper_trapezius", side),))]
    document = make(
        [("levator_scapulae", "left"), ("upper_trapezius", "left")],
        payer="medicare-2024",
        priors=priors,
    )
    result = evaluate(document)
    if short:
        found = warning(result, "repeat_interval_short")
        assert found.sites == (2,)
        assert "41 days" in found.message
        assert "42 days" in found.message
    else:
        assert "repeat_interval_short" not in codes(result)


def test_repeat_interval_ignores_planned_sites_and_payer_none() -> None:
    priors = [prior("2026-11-01", sites=(("upper_trapezius", "left"),))]
    planned = make(
        [("upper_trapezius", "left", 1.0, "planned")], payer="medicare-2024", priors=priors
    )
    assert "repeat_interval_short" not in codes(evaluate(planned))
    none = make([("upper_trapezius", "left")], payer="none", priors=priors)
    assert "repeat_interval_short" not in codes(evaluate(none))


@pytest.mark.parametrize(
    ("priors", "prior_relief_percent", "warns"),
    [
        ([], None, False),  # initial injection: nothing to repeat
        ([prior("2026-08-01", 50)], None, False),
        ([prior("2026-08-01", 49)], None, True),
        ([prior("2026-08-01", None)], None, True),
        ([prior("2026-08-01", None)], 60, False),  # relief charted on this procedure
        ([prior("2026-08-01", 80)], 30, True),  # this procedure's record wins
        ([prior("2026-08-01", 20), prior("2026-03-01", 90)], None, True),  # latest counts
        ([prior("2026-03-01", 20), prior("2026-08-01", 90)], None, False),
    ],
)
def test_repeat_without_relief(
    priors: list[dict], prior_relief_percent: int | None, warns: bool
) -> None:
    extra = {} if prior_relief_percent is None else {"prior_relief_percent": prior_relief_percent}
    result = evaluate(make([("masseter", "left")], payer="medicare-2024", priors=priors, **extra))
    assert ("repeat_without_relief" in codes(result)) is warns
    no_payer = evaluate(make([("masseter", "left")], payer="none", priors=priors, **extra))
    assert "repeat_without_relief" not in codes(no_payer)


@pytest.mark.parametrize(
    ("weeks", "this_visit_weeks", "message"),
    [
        (8, None, None),
        (6, None, None),  # the LCD's "at least 6 weeks"
        (4, None, "gave 60 % relief for 4 weeks"),
        (None, None, "for how long is not recorded"),
        (None, 7, None),  # duration charted on this procedure
        (8, 3, "gave 60 % relief for 3 weeks"),  # this procedure's record wins
    ],
)
def test_repeat_needs_relief_lasting_the_payers_weeks(
    weeks: float | None, this_visit_weeks: float | None, message: str | None
) -> None:
    extra = {} if this_visit_weeks is None else {"prior_relief_weeks": this_visit_weeks}
    priors = [prior("2026-08-01", 60, weeks=weeks)]
    result = evaluate(make([("masseter", "left")], payer="medicare-2024", priors=priors, **extra))
    if message is None:
        assert "repeat_without_relief" not in codes(result)
    else:
        found = warning(result, "repeat_without_relief")
        assert message in found.message
        assert "lasting at least 6 weeks" in found.message
    no_payer = evaluate(make([("masseter", "left")], payer="none", priors=priors, **extra))
    assert "repeat_without_relief" not in codes(no_payer)


def test_multi_region_names_the_regions() -> None:
    sites = [
        ("masseter", "left"),
        ("temporalis", "left"),
        ("gluteus_medius", "right", 1.0, "planned"),
    ]
    found = warning(evaluate(make(sites, payer="medicare-2024")), "multi_region")
    assert "Jaw" in found.message
    assert "Head" in found.message
    assert "Hip" not in found.message
    assert found.sites == (1, 2)
    assert "multi_region" not in codes(evaluate(make(sites, payer="none")))


@pytest.mark.parametrize(
    ("diagnoses", "warns", "named"),
    [
        (("M79.12",), False, None),
        (("G44.209", "M79.18"), False, None),
        ((), True, None),
        (("M79.12", "M54.2"), True, "M54.2"),
    ],
)
def test_diagnosis_not_covered(diagnoses: tuple[str, ...], warns: bool, named: str | None) -> None:
    result = evaluate(make([("masseter", "left")], payer="medicare-2024", diagnoses=diagnoses))
    assert ("diagnosis_not_covered" in codes(result)) is warns
    if named:
        message = warning(result, "diagnosis_not_covered").message
        assert message.startswith(f"Diagnosis {named} not covered")
    none = evaluate(make([("masseter", "left")], payer="none", diagnoses=diagnoses))
    assert "diagnosis_not_covered" not in codes(none)


def test_pain_scores() -> None:
    before_missing = evaluate(make([("masseter", "left")], pain_before=None))
    assert "before" in warning(before_missing, "pain_score_missing").message
    after_missing = evaluate(make([("masseter", "left")], pain_after=None))
    assert "after" in warning(after_missing, "pain_score_missing").message
    # While a site is still planned the post-procedure score is not due yet.
    charting = evaluate(
        make([("masseter", "left"), ("masseter", "right", 1.0, "planned")], pain_after=None)
    )
    assert "pain_score_missing" not in codes(charting)


def test_warning_codes_are_the_fixed_vocabulary_in_order() -> None:
    document = make(
        [
            ("unspecified", "left"),
            ("upper_trapezius", "left", 40.0),
            ("gluteus_medius", "left", 5.0, "injected", "B"),
            {"muscle": "masseter", "side": "left", "dry_needling": True},
        ],
        preparations=[
            {
                "id": "A",
                "components": [{"agent": "lidocaine", "concentration": "1%", "volume_ml": 50.0}],
            },
            {
                "id": "B",
                "components": [
                    {"agent": "bupivacaine", "concentration": "0.25%", "volume_ml": 2.0},
                    {"agent": "triamcinolone", "concentration": "10 mg/mL", "volume_ml": 1.0},
                ],
            },
        ],
        weight=None,
        payer="medicare-2024",
        allergies=("xylocaine",),
        patient={"anticoagulated": True, "birth_date": "2010-01-01"},
        diagnoses=("M54.2",),
        pain_before=None,
        image_guidance="ultrasound",
        priors=[
            *THREE_PRIORS[:2],
            prior("2026-11-01", 10, (("upper_trapezius", "left"),)),
            prior("2026-11-20", 60, (("levator_scapulae", "left"),)),
        ],
    )
    result = evaluate(document)
    expected = [code for code in WARNING_CODES if code != "anesthetic_dose_near_max"]
    expected.remove("expired_lot")
    assert list(dict.fromkeys(codes(result))) == expected

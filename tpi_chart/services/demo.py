"""The demo clinic (product.md §2): the reference patient with signed history and today's
planned procedure, plus patients with varied data for trying search, warnings and lot recall."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, tzinfo

from tpi_chart.domain.canonical import content_hash
from tpi_chart.domain.errors import DomainError
from tpi_chart.domain.models import (
    ClinicalHistory,
    Component,
    Consent,
    ConservativeTherapy,
    Findings,
    FunctionalScore,
    Needle,
    Patient,
    Preparation,
    Procedure,
    SafetyScreen,
    Signature,
    Site,
    TimeOut,
    Twitch,
)
from tpi_chart.services import context
from tpi_chart.services.access import SYSTEM_SETUP, Permissions
from tpi_chart.services.context import Services

try:
    from tpi_chart.domain.diagram import default_position
except ImportError:  # pragma: no cover - the diagram module ships with the app
    default_position = None  # type: ignore[assignment]

DEMO_MRN = "D1001"
PHYSICIAN = "Dr. Alex Chen, MD"
ASSISTANT = "J. Rivera, MA"

#: The reference visit's six sites: (muscle, side, twitch at the signed visits).
REFERENCE_SITES: tuple[tuple[str, str, Twitch], ...] = (
    ("upper_trapezius", "left", "brisk"),
    ("upper_trapezius", "right", "weak"),
    ("levator_scapulae", "left", "none"),
    ("levator_scapulae", "right", "brisk"),
    ("rhomboid_major", "right", "weak"),
    ("infraspinatus", "right", "none"),
)

MARIA = Patient(
    mrn=DEMO_MRN,
    family_name="Lopez",
    given_name="Maria",
    birth_date=date(1974, 5, 12),
    sex="female",
    weight_kg=64.0,
    allergies=(),
    no_known_allergies=True,
    anticoagulated=False,
    payer_profile="medicare-2024",
)

OTHERS: tuple[Patient, ...] = (
    Patient(
        mrn="D1002",
        family_name="Nguyễn",
        given_name="Thị Lan",
        birth_date=date(1981, 9, 3),
        sex="female",
        weight_kg=52.5,
        allergies=("lidocaine",),
    ),
    Patient(
        mrn="D1003",
        family_name="Ødegård",
        given_name="Ingrid",
        birth_date=date(1958, 1, 27),
        sex="female",
        weight_kg=71.0,
        allergies=("latex",),
    ),
    Patient(
        mrn="D1004",
        family_name="Okafor",
        given_name="Chinedu",
        birth_date=date(1969, 11, 14),
        sex="male",
        weight_kg=96.4,
        anticoagulated=True,
        anticoagulant="apixaban",
    ),
    Patient(
        mrn="D1005",
        family_name="Müller",
        given_name="Jürgen",
        birth_date=date(1947, 6, 30),
        sex="male",
        weight_kg=82.0,
        allergies=("amide local anesthetic",),
    ),
    Patient(
        mrn="D1006",
        family_name="García Márquez",
        given_name="José",
        birth_date=date(1990, 2, 8),
        sex="male",
        weight_kg=None,
    ),
    Patient(
        mrn="D1007",
        family_name="O'Neil",
        given_name="Siobhán",
        birth_date=date(1986, 4, 19),
        sex="female",
        weight_kg=58.3,
        pregnant=False,
        allergies=("sulfonamides",),
    ),
    Patient(
        mrn="D1008",
        family_name="Kowalski",
        given_name="Łukasz",
        birth_date=date(1975, 12, 1),
        sex="male",
        weight_kg=104.0,
    ),
    Patient(
        mrn="D1009",
        family_name="Haddad",
        given_name="Leïla",
        birth_date=date(1963, 8, 22),
        sex="female",
        weight_kg=45.0,
        allergies=("penicillin",),
    ),
)

#: Lumbar and hip history for D1008 (Kowalski).
HISTORY = ClinicalHistory(
    onset="Gradual, over months of desk work",
    referral_pattern="Neck to the occiput and between the shoulder blades",
    conservative_therapy=(
        ConservativeTherapy(
            therapy="Physical therapy and home exercise", response="partial, pain persists"
        ),
        ConservativeTherapy(therapy="NSAIDs (naproxen)", response="minimal"),
    ),
    rehab_program="Home exercise programme (stretching), ongoing",
)

LUMBAR_HIP_SITES: tuple[tuple[str, str, Twitch], ...] = (
    ("quadratus_lumborum", "left", "weak"),
    ("quadratus_lumborum", "right", "none"),
    ("gluteus_medius", "left", "brisk"),
    ("piriformis", "left", "weak"),
)


def _placed(muscle: str, side: str, **fields: object) -> Site:
    data: dict[str, object] = {"muscle": muscle, "side": side, **fields}
    position = default_position(muscle, side) if default_position is not None else None
    if position is not None:
        data["view"], data["x"], data["y"] = position
    return Site.model_validate(data)


def syringe_a(
    lidocaine_lot: str | None, steroid_lot: str | None, expires: date | None
) -> Preparation:
    return Preparation(
        id="A",
        label="Syringe A",
        components=(
            Component(
                agent="lidocaine",
                concentration="1%",
                volume_ml=8.0,
                lot=lidocaine_lot,
                expires=expires,
            ),
            Component(
                agent="triamcinolone",
                concentration="40 mg/mL",
                volume_ml=1.0,
                lot=steroid_lot,
                expires=expires,
            ),
        ),
    )


def _visit(
    at: datetime,
    sites: tuple[tuple[str, str, Twitch], ...],
    *,
    lots: tuple[str, str],
    diagnoses: tuple[str, ...],
    pain: tuple[int, int],
    prior_relief: int | None,
    payer: str = "medicare-2024",
) -> Procedure:
    return Procedure(
        performed_at=at,
        status="in_progress",
        payer_profile=payer,
        diagnoses=diagnoses,
        indication="Myofascial pain with palpable trigger points, refractory to home exercise.",
        history=HISTORY,
        functional_scores=(FunctionalScore(scale="NDI", score=pain[0] * 4, measured_on=at.date()),),
        physician=PHYSICIAN,
        pain_before=pain[0],
        pain_after=pain[1],
        prior_relief_percent=prior_relief,
        prior_relief_weeks=None if prior_relief is None else 8,
        prior_relief_scale=None if prior_relief is None else "NRS",
        prior_relief_measured_on=None if prior_relief is None else (at - timedelta(weeks=4)).date(),
        preparations=(syringe_a(lots[0], lots[1], (at + timedelta(days=240)).date()),),
        sites=tuple(
            _placed(
                muscle,
                side,
                state="injected",
                preparation="A",
                volume_ml=1.5,
                twitch=twitch,
                findings=Findings(taut_band=True, referred_pain=True, negative_aspiration=True),
                injected_at=at + timedelta(minutes=5 + 2 * index),
            )
            for index, (muscle, side, twitch) in enumerate(sites)
        ),
        consent=Consent(
            obtained=True, method="written", obtained_by=ASSISTANT, at=at - timedelta(minutes=15)
        ),
        safety_screen=SafetyScreen(
            anticoagulation_reviewed=True,
            bleeding_disorder_excluded=True,
            infection_at_site_excluded=True,
            allergies_reviewed=True,
            pregnancy_reviewed=True,
            prior_reaction_reviewed=True,
        ),
        time_out=TimeOut(performed_by=PHYSICIAN, at=at - timedelta(minutes=2), site_marked=True),
        position="seated",
        skin_prep="alcohol",
        needle=Needle(gauge=25, length_in=1.5),
        technique=("pincer_palpation", "aspiration", "fanning"),
        complications=(),
        tolerance="well",
        observed_minutes=15,
        aftercare_given=True,
    )


def _signed_visit(services: Services, patient_id: int, procedure: Procedure) -> int:
    stored = services.charting.create(patient_id, procedure)
    signature = Signature(
        signed_by=PHYSICIAN,
        signed_at=procedure.performed_at + timedelta(minutes=40),
        content_hash=content_hash(services.charting.document(stored.id)),
    )
    services.charting.sign(stored.id, signature)
    return stored.id


def seed_demo(services: Services, today: date | None = None, zone: tzinfo | None = None) -> bool:
    """Seed the demo clinic in one transaction. Returns False (and changes nothing) when the
    database already has the demo patient."""
    if services.patients.by_mrn(DEMO_MRN) is not None:
        return False
    today = today or date.today()
    zone = zone or datetime.now().astimezone().tzinfo

    def at(day: date, hour: int, minute: int = 0) -> datetime:
        return datetime.combine(day, time(hour, minute), zone)

    diagnoses = ("M79.12", "M79.18")
    with services.store.transaction():
        if not services.settings.clinic_name():
            services.settings.set_clinic_name("Demo Pain Clinic")
        maria = services.patients.create(MARIA).id
        first, second = today - timedelta(weeks=26), today - timedelta(weeks=13)
        _signed_visit(
            services,
            maria,
            _visit(
                at(first, 10),
                REFERENCE_SITES,
                lots=("LD23881", "TK2204"),
                diagnoses=diagnoses,
                pain=(8, 3),
                prior_relief=None,
            ),
        )
        _signed_visit(
            services,
            maria,
            _visit(
                at(second, 10),
                REFERENCE_SITES,
                lots=("LD24005", "TK3107"),
                diagnoses=diagnoses,
                pain=(7, 2),
                prior_relief=55,
            ),
        )
        planned = services.charting.copy_forward(maria, at(today, 9, 30))
        # Taken at 9:10, or now when the demo is opened earlier in the day: a consent recorded
        # in the future is refused at signing ("the consent is recorded at ...").
        consent_at = at(today, 9, 10)
        now = datetime.now(zone).replace(second=0, microsecond=0)
        if now.date() == today:
            consent_at = min(consent_at, now)
        services.charting.set_preparations(
            planned.id, (syringe_a("LD24117", "TK3391", today + timedelta(days=220)),)
        )
        services.charting.update(
            planned.id,
            {
                "physician": PHYSICIAN,
                "prior_relief_percent": 60,
                "prior_relief_weeks": 8,
                "prior_relief_scale": "NRS",
                "prior_relief_measured_on": today,
                "functional_scores": (FunctionalScore(scale="NDI", score=22, measured_on=today),),
                # The assistant's preparation before the physician walks in.
                "consent": Consent(
                    obtained=True,
                    method="written",
                    obtained_by=ASSISTANT,
                    at=consent_at,
                ),
                "safety_screen": SafetyScreen(
                    anticoagulation_reviewed=True,
                    bleeding_disorder_excluded=True,
                    infection_at_site_excluded=True,
                    allergies_reviewed=True,
                    pregnancy_reviewed=True,
                    prior_reaction_reviewed=True,
                ),
            },
        )
        ids = {p.mrn: services.patients.create(p).id for p in OTHERS}
        _signed_visit(
            services,
            ids["D1008"],
            _visit(
                at(today - timedelta(weeks=10), 14),
                LUMBAR_HIP_SITES,
                lots=("LD24005", "TK3107"),
                diagnoses=("M79.18",),
                pain=(6, 2),
                prior_relief=None,
                payer="none",
            ),
        )
        services.charting.copy_forward(ids["D1008"], at(today, 11))
        jaw = _visit(
            at(today - timedelta(weeks=5), 15),
            (("masseter", "left", "none"),),
            lots=("LD24117", "TK3391"),
            diagnoses=("M79.18",),
            pain=(5, 3),
            prior_relief=None,
            payer="none",
        )
        services.charting.create(ids["D1003"], jaw)
    return True


def seed_demo_as(services: Services) -> bool:
    """Seed the demo clinic for `services.user`, who must be allowed `seed_demo` (on a database
    without accounts nobody can sign in, and the caller seeds a new file: `open_services`'s
    `seed_demo_if_new`, the command line's `demo` before the first account). The seeding itself
    is done by `SYSTEM_SETUP`: its signed history is demo data, not anyone's signature."""
    store = services.store
    if not store.is_empty() and store.patients.by_mrn(DEMO_MRN) is None:
        raise DomainError(
            f"{services.location} already holds a clinic's patients; the demo clinic goes into a "
            "new file: tpi-chart demo --db demo.db"
        )
    if not services.auth.needs_first_run():
        Permissions(services.user, services.on_denied).require("seed_demo")
    elif services.db_path is None:
        # A server clinic's audit key is sealed in it at the first administrator's sign-in; the
        # demo's audit rows written before that would leave a clinic nobody can open again.
        raise DomainError(
            f"{services.location} has no administrator yet: create the first one (tpi-chart "
            "--db postgresql://… users add USERNAME --name NAME --clinic CLINIC), then seed the "
            "demo clinic with --as USERNAME. Nothing was changed."
        )
    return seed_demo(
        context.build_services(services.store, SYSTEM_SETUP, trust_dir=services.trust_dir)
    )

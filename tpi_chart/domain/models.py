"""The procedure document (`tpi-chart.procedure/1`) as frozen pydantic models.

These models are the interchange format (product.md §5), the shape the store persists and the
input of the rules and the note. Unknown fields are rejected; every message names what is allowed.
Extend only by adding optional fields.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    Field,
    field_validator,
    model_serializer,
    model_validator,
)

from tpi_chart.domain.catalog import UNSPECIFIED, load_catalog
from tpi_chart.domain.fields import (
    AgentId,
    Concentration,
    Day,
    Icd10,
    Model,
    Moment,
    MuscleId,
    Name,
    NonEmpty,
    PainScore,
    PayerId,
    Percent,
    Phone,
    Unit,
    Volume,
    concentration_mg_per_ml,
    not_in_the_future,
)
from tpi_chart.domain.units import WEIGHT_KG_MAX, WEIGHT_KG_MIN

FORMAT_ID = "tpi-chart.procedure/1"

Sex = Literal["female", "male", "other", "unknown"]
Side = Literal["left", "right", "midline"]
Twitch = Literal["none", "weak", "brisk"]
ViewId = Literal["anterior", "posterior", "head_left", "head_right"]
ProcedureStatus = Literal["planned", "in_progress", "signed", "external"]
SiteState = Literal["planned", "injected"]
Position = Literal["seated", "prone", "side_lying", "supine"]
SkinPrep = Literal["alcohol", "povidone_iodine", "chlorhexidine"]
TechniqueStep = Literal[
    "flat_palpation",
    "pincer_palpation",
    "aspiration",
    "fanning",
    "fast_in_fast_out",
    "single_pass",
]
ImageGuidance = Literal["none", "ultrasound", "fluoroscopy"]
Complication = Literal[
    "vasovagal",
    "bleeding",
    "hematoma",
    "paresthesia",
    "pneumothorax_suspected",
    "anesthetic_toxicity_signs",
    "allergic_reaction",
    "other",
]
Tolerance = Literal["well", "fair", "poor"]
Container = Literal["single_dose", "multi_dose"]

#: The pain scale a relief figure was measured on (the LCDs want the same scale at baseline and
#: follow-up, clinical-reference §2.4); NRS 0-10 is the clinic default.
PainScale = Literal["NRS", "VAS"]
FunctionalScale = Literal["NDI", "ODI", "other"]


class Patient(Model):
    mrn: Annotated[str, Field(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9._-]+$")]
    family_name: Name
    given_name: Name
    birth_date: Annotated[Day, AfterValidator(not_in_the_future)]
    sex: Sex
    weight_kg: Annotated[float, Field(ge=WEIGHT_KG_MIN, le=WEIGHT_KG_MAX)] | None = None
    allergies: tuple[NonEmpty, ...] = ()
    #: Recorded as "no known allergies"; an empty list without it means "not recorded".
    no_known_allergies: bool = False
    anticoagulated: bool = False
    anticoagulant: NonEmpty | None = None
    pregnant: bool | None = None
    # Coverage: carried into each new procedure, which may change it for that visit.
    payer_profile: PayerId | None = None
    member_id: Annotated[str, Field(min_length=1, max_length=60)] | None = None
    #: How the clinic reaches the patient (a lot recall, a result): optional.
    phone: Phone | None = None

    @model_validator(mode="after")
    def _allergies_or_none_known(self) -> Patient:
        if self.no_known_allergies and self.allergies:
            raise ValueError(
                "allergies: either list the allergies or tick no known allergies, not both"
            )
        return self

    @property
    def allergy_text(self) -> str:
        if self.allergies:
            return f"Allergies: {', '.join(self.allergies)}"
        return "No known allergies" if self.no_known_allergies else "Allergies not recorded"

    @property
    def display_name(self) -> str:
        return f"{self.family_name}, {self.given_name}"


class Component(Model):
    agent: AgentId
    concentration: Concentration
    volume_ml: Volume
    lot: NonEmpty | None = None
    expires: Day | None = None
    ndc: NonEmpty | None = None
    # The vial or ampoule drawn from: JW/JZ on the drug's claim line depend on it (§2.8).
    container: Container | None = None
    container_ml: Volume | None = None

    @model_validator(mode="after")
    def _container_complete(self) -> Component:
        if self.container_ml is not None and self.container is None:
            raise ValueError(
                "container: give the kind of container (single_dose or multi_dose) with its size"
            )
        if self.container_ml is not None and self.container_ml < self.volume_ml:
            raise ValueError(
                f"container_ml: {self.container_ml:g} mL is less than the {self.volume_ml:g} mL "
                "drawn from it"
            )
        return self

    @property
    def mg_per_ml(self) -> float:
        return concentration_mg_per_ml(self.concentration)


class Preparation(Model):
    id: Annotated[str, Field(min_length=1, max_length=12, pattern=r"^[A-Za-z0-9_-]+$")]
    label: NonEmpty | None = None
    components: Annotated[tuple[Component, ...], Field(min_length=1)]

    @property
    def total_volume_ml(self) -> float:
        return sum(component.volume_ml for component in self.components)


class Needle(Model):
    gauge: Annotated[int, Field(ge=18, le=32)]
    length_in: Annotated[float, Field(gt=0, le=6)]

    def __str__(self) -> str:
        return f"{self.gauge}G × {self.length_in:g} in"


class Findings(Model):
    taut_band: bool = False
    referred_pain: bool = False
    jump_sign: bool = False
    negative_aspiration: bool = False


class Site(Model):
    muscle: MuscleId
    side: Side
    state: SiteState = "injected"
    view: ViewId | None = None
    x: Unit | None = None
    y: Unit | None = None
    preparation: str | None = None
    volume_ml: Volume | None = None
    twitch: Twitch | None = None
    findings: Findings = Findings()
    trigger_points: Annotated[int, Field(ge=1, le=20)] | None = None
    needle: Needle | None = None
    depth_cm: Annotated[float, Field(gt=0, le=15)] | None = None
    notes: Annotated[str, Field(max_length=2000)] | None = None
    injected_at: Moment | None = None
    # Needle inserted without injectate (CPT 20560/20561, not a TPI): no preparation, no volume.
    dry_needling: bool = False
    #: Where on the body, relative to bony landmarks ("2 cm medial to the superior angle of the
    #: scapula, right"): computed when placed on the diagram, editable by the clinician.
    location: Annotated[str, Field(min_length=1, max_length=200)] | None = None

    @model_validator(mode="after")
    def _coordinates_complete(self) -> Site:
        placed = [self.view is not None, self.x is not None, self.y is not None]
        if any(placed) and not all(placed):
            raise ValueError("view, x and y go together: give all three or none")
        if self.dry_needling and (self.preparation is not None or self.volume_ml is not None):
            raise ValueError(
                "dry_needling: a dry-needled site has no preparation and no volume (nothing is "
                "injected); remove them or untick dry needling"
            )
        _paired_side(self.muscle, self.side)
        return self

    @property
    def delivers_injectate(self) -> bool:
        """Injected with something: an injected site that is not dry needling."""
        return self.state == "injected" and not self.dry_needling


def _paired_side(muscle: str, side: str) -> None:
    if side != "midline" or muscle == UNSPECIFIED:
        return
    entry = load_catalog().muscles[muscle]
    if not entry.midline:
        raise ValueError(
            f"side: {entry.name} is a paired muscle: give left or right ('midline' is only for "
            "a midline structure or an uncoded site)"
        )


#: A stroke's points (normalised view coordinates, like a site's x and y).
StrokePoint = tuple[Unit, Unit]


class PainStroke(Model):
    """One brush stroke of the patient's pain drawing: where it hurts, shaded on a diagram view.

    ``intensity`` 1 (aching) to 3 (severe); ``width`` the brush's diameter as a fraction of the
    view's height; ``points`` the stroke's centre line."""

    view: ViewId
    intensity: Annotated[int, Field(ge=1, le=3)] = 2
    width: Annotated[float, Field(gt=0, le=0.2)] = 0.03
    points: Annotated[tuple[StrokePoint, ...], Field(min_length=1, max_length=2000)]


class PainDrawing(Model):
    """Where the patient hurts before the procedure, as vector strokes on the diagram views.
    Part of the procedure (and of what a signature covers: the note prints it)."""

    strokes: Annotated[tuple[PainStroke, ...], Field(min_length=1, max_length=500)]


class Consent(Model):
    obtained: bool
    method: Literal["written", "verbal"] | None = None
    risks_discussed: tuple[NonEmpty, ...] = ()
    obtained_by: NonEmpty | None = None
    at: Moment | None = None


class SafetyScreen(Model):
    anticoagulation_reviewed: bool = False
    bleeding_disorder_excluded: bool = False
    infection_at_site_excluded: bool = False
    allergies_reviewed: bool = False
    pregnancy_reviewed: bool = False
    prior_reaction_reviewed: bool = False
    notes: NonEmpty | None = None


class TimeOut(Model):
    performed_by: NonEmpty
    at: Moment
    patient_identity_confirmed: bool = True
    procedure_confirmed: bool = True
    site_and_side_confirmed: bool = True
    consent_confirmed: bool = True
    position_confirmed: bool = True
    safety_precautions_confirmed: bool = True
    # Universal Protocol UP.01.02.01: whether the sites were marked on the skin.
    site_marked: bool | None = None
    # The elements exactly as they were shown and confirmed ("Patient: Lopez, Maria · MRN …").
    elements: tuple[Annotated[str, Field(min_length=1, max_length=2000)], ...] = ()


class WarningAcknowledgement(Model):
    code: NonEmpty
    sites: tuple[Annotated[int, Field(ge=1)], ...] = ()
    reason: NonEmpty


class Signature(Model):
    signed_by: NonEmpty
    signed_at: Moment
    content_hash: Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]
    acknowledged_warnings: tuple[WarningAcknowledgement, ...] = ()


#: What every view of an imported signed record says of its signature (issue 10, 6).
ExternalNotice = Literal["signed elsewhere, not verified by this clinic"]
EXTERNAL_NOTICE: ExternalNotice = "signed elsewhere, not verified by this clinic"


class ExternalSignature(Model):
    """The signature an imported document carried, kept as text: who it names and when. It was
    made elsewhere, is not verified by this clinic, and never counts as a signature of one of
    its users (the record it belongs to has status "external", not "signed")."""

    signed_by: NonEmpty
    signed_at: Moment | None = None
    content_hash: Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")] | None = None
    acknowledged_warnings: tuple[WarningAcknowledgement, ...] = ()
    notice: ExternalNotice = EXTERNAL_NOTICE

    @model_serializer(mode="wrap")
    def _always_say_so(self, handler: Any) -> Any:
        # The notice is written out even though it is the default: an exported record must say
        # so to whoever reads the file.
        data = handler(self)
        if isinstance(data, dict):
            data["notice"] = EXTERNAL_NOTICE
        return data


class Addendum(Model):
    text: Annotated[str, Field(min_length=1, max_length=20000)]
    author: NonEmpty
    at: Moment
    sites: tuple[Site, ...] | None = None
    content_hash: Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")] | None = None
    # The signed note was opened for the wrong patient or by mistake: kept, bannered, and left out
    # of the rules and the history.
    entered_in_error: bool = False


class ConservativeTherapy(Model):
    therapy: NonEmpty
    started: Day | None = None
    ended: Day | None = None
    response: Annotated[str, Field(max_length=500)] | None = None


class ClinicalHistory(Model):
    """What supports myofascial pain and the first-line therapy tried (clinical-reference §1.1
    rows 3, 5 and 7)."""

    onset: Annotated[str, Field(max_length=500)] | None = None
    onset_date: Day | None = None
    referral_pattern: Annotated[str, Field(max_length=500)] | None = None
    conservative_therapy: tuple[ConservativeTherapy, ...] = ()
    rehab_program: Annotated[str, Field(max_length=500)] | None = None
    notes: Annotated[str, Field(max_length=2000)] | None = None


class FunctionalScore(Model):
    scale: FunctionalScale
    name: NonEmpty | None = None
    score: Annotated[float, Field(ge=0, le=100)]
    measured_on: Day | None = None

    @model_validator(mode="after")
    def _named(self) -> FunctionalScore:
        if self.scale == "other" and not self.name:
            raise ValueError("name: give the name of the scale used")
        return self

    @property
    def label(self) -> str:
        return self.name if self.scale == "other" and self.name else self.scale


class FollowUp(Model):
    """The relief after a visit, measured later (by phone, at the next visit...)."""

    measured_on: Day
    relief_percent: Percent
    relief_weeks: Annotated[float, Field(ge=0, le=520)] | None = None
    scale: PainScale = "NRS"
    functional_change: Annotated[str, Field(max_length=1000)] | None = None
    recorded_by: NonEmpty | None = None


class Procedure(Model):
    performed_at: Moment
    status: ProcedureStatus = "in_progress"
    payer_profile: PayerId = "none"
    diagnoses: tuple[Icd10, ...] = ()
    indication: Annotated[str, Field(max_length=2000)] | None = None
    physician: NonEmpty | None = None
    pain_before: PainScore | None = None
    pain_after: PainScore | None = None
    prior_relief_percent: Percent | None = None
    prior_relief_weeks: Annotated[float, Field(ge=0, le=520)] | None = None
    prior_relief_scale: PainScale | None = None
    prior_relief_measured_on: Day | None = None
    # The schedule's time; `performed_at` becomes the time-out's (or first injection's) time.
    planned_at: Moment | None = None
    history: ClinicalHistory | None = None
    functional_scores: tuple[FunctionalScore, ...] = ()
    preparations: tuple[Preparation, ...] = ()
    sites: tuple[Site, ...] = ()
    consent: Consent | None = None
    safety_screen: SafetyScreen | None = None
    time_out: TimeOut | None = None
    position: Position | None = None
    skin_prep: SkinPrep | None = None
    needle: Needle | None = None
    technique: tuple[TechniqueStep, ...] = ()
    image_guidance: ImageGuidance = "none"
    complications: tuple[Complication, ...] | None = None
    complication_notes: Annotated[str, Field(max_length=2000)] | None = None
    tolerance: Tolerance | None = None
    observed_minutes: Annotated[int, Field(ge=0, le=600)] | None = None
    aftercare_given: bool = False
    aftercare_notes: Annotated[str, Field(max_length=2000)] | None = None
    follow_up: Annotated[str, Field(max_length=2000)] | None = None
    notes: Annotated[str, Field(max_length=5000)] | None = None
    signature: Signature | None = None
    external_signature: ExternalSignature | None = None
    addenda: tuple[Addendum, ...] = ()
    # Whether an advance beneficiary notice is on file: GA (on file) or GZ (not) on the claim
    # lines when a rule predicts non-coverage; None: not yet answered.
    abn_on_file: bool | None = None
    #: The patient's pain drawing (absent: none was made). Stored stroke by stroke.
    pain_drawing: PainDrawing | None = None

    @model_validator(mode="after")
    def _consistent(self) -> Procedure:
        ids = [preparation.id for preparation in self.preparations]
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        if duplicates:
            raise ValueError(f"preparation ids must be unique; repeated: {', '.join(duplicates)}")
        for index, site in enumerate(self.sites):
            if site.preparation is not None and site.preparation not in ids:
                allowed = ", ".join(ids) or "none defined"
                raise ValueError(
                    f"sites[{index}].preparation: {site.preparation!r} is not one of the "
                    f"preparations ({allowed})"
                )
        if self.status == "signed" and self.signature is None:
            raise ValueError("status: a signed procedure needs a signature")
        if self.status != "signed" and self.signature is not None:
            raise ValueError("signature: only a signed procedure carries a signature")
        if (self.status == "external") != (self.external_signature is not None):
            raise ValueError(
                "external_signature: a record signed elsewhere has status external and its "
                "external_signature, and only such a record"
            )
        if self.addenda and self.status not in ("signed", "external"):
            raise ValueError("addenda: only a signed procedure can have addenda")
        return self

    def preparation(self, preparation_id: str | None) -> Preparation | None:
        for preparation in self.preparations:
            if preparation.id == preparation_id:
                return preparation
        return None

    @property
    def injected_sites(self) -> tuple[Site, ...]:
        return tuple(site for site in self.sites if site.state == "injected")


class PriorSite(Model):
    muscle: MuscleId
    side: Side

    @model_validator(mode="after")
    def _side_fits(self) -> PriorSite:
        _paired_side(self.muscle, self.side)
        return self


class PriorProcedure(Model):
    performed_at: Moment
    relief_percent: Percent | None = None
    relief_weeks: Annotated[float, Field(ge=0, le=520)] | None = None
    relief_scale: PainScale | None = None
    relief_measured_on: Day | None = None
    functional_change: Annotated[str, Field(max_length=1000)] | None = None
    sites: tuple[PriorSite, ...] = ()


class ProcedureDocument(Model):
    format: Literal["tpi-chart.procedure/1"]
    patient: Patient
    procedure: Procedure
    prior_procedures: tuple[PriorProcedure, ...] = ()
    # Exported with a signed procedure: the evaluation (codes, units, doses, warnings) as it was
    # signed, for billing. Information only: not covered by the content hash, never read back.
    signed_evaluation: dict[str, Any] | None = None
    # The claim lines an export carries for the biller (`rules.Billing`). Derived from the rest,
    # so it is read and dropped: a document never holds it, the rules recompute it.
    billing: dict[str, Any] | None = None

    @field_validator("billing")
    @classmethod
    def _derived_billing_is_dropped(cls, value: dict[str, Any] | None) -> None:
        return None

    def to_json_dict(self) -> dict[str, Any]:
        """The document as JSON data, leaving out what equals its default (as people write it)."""
        return self.model_dump(mode="json", exclude_defaults=True)

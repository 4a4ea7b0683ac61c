"""What must be true before a procedure note can be signed (pure: no storage, no clock).

Two separate questions, both answered without side effects:

* `missing_items(procedure)`: required documentation that is absent. Each item names the field and
  says in plain words what to record. Missing items block signing.
* `unacknowledged(warnings, acknowledgements)`: open rule warnings that still need a reason.
  Warnings never block charting; signing with them needs an acknowledgement per code, recorded with
  the signature (product.md §6, last bullet).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from tpi_chart.domain.catalog import UNSPECIFIED, load_catalog
from tpi_chart.domain.models import PriorProcedure, Procedure, Site, WarningAcknowledgement


class WarningLike(Protocol):
    """What signing needs from a rule warning (`tpi_chart.domain.rules` produces them)."""

    @property
    def code(self) -> str: ...

    @property
    def message(self) -> str: ...

    @property
    def sites(self) -> Sequence[int]: ...


@dataclass(frozen=True)
class MissingItem:
    """One required item that is not documented. `field` is the document path."""

    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.field}: {self.message}"


def site_label(site: Site, number: int) -> str:
    """'site 3 (Levator scapulae, left)': how a person finds the site on the diagram."""
    if site.muscle == UNSPECIFIED:
        return f"site {number} (uncoded, {site.side})"
    return f"site {number} ({load_catalog().muscle_name(site.muscle)}, {site.side})"


@dataclass(frozen=True)
class NoteField:
    """One field the note prints, in the note's order. `key` names it in the clinic's
    required-fields setting and tells the window which control to focus."""

    key: str
    label: str
    message: str  # what to record, in plain words


#: Every field the note prints as "Not documented" when it is empty, in the note's order.
NOTE_FIELDS: tuple[NoteField, ...] = (
    NoteField("diagnoses", "Diagnosis", "add at least one diagnosis (ICD-10-CM)"),
    NoteField("indication", "Indication", "write the indication"),
    NoteField("history", "History", "record the onset or the referral pattern"),
    NoteField(
        "conservative_therapy",
        "Prior conservative therapy",
        "record the conservative therapy tried and its response",
    ),
    NoteField("rehab_program", "Rehabilitation programme", "record the ongoing programme"),
    NoteField(
        "prior_relief",
        "Relief after the previous session",
        "record the relief after the previous session with the date measured and the scale",
    ),
    NoteField("functional_score", "Functional scale", "record a functional score (NDI, ODI...)"),
    NoteField("consent", "Consent", "record that consent was obtained and how (written/verbal)"),
    NoteField("safety_screen", "Safety screen", "record the pre-procedure safety screen"),
    NoteField("time_out", "Time-out", "record the time-out"),
    NoteField("site_marking", "Site marking", "record whether the sites were marked (time-out)"),
    NoteField("position", "Position", "choose the patient's position"),
    NoteField("skin_prep", "Skin prep", "choose the skin prep agent"),
    NoteField("needle", "Needle", "choose the needle"),
    NoteField("technique", "Technique", "tick the technique used"),
    NoteField("pain_before", "Pain before", "record the pain score before the procedure (0-10)"),
    NoteField("pain_after", "Pain after", "record the pain score after the procedure (0-10)"),
    NoteField(
        "complications", "Complications", "record the complications (tick None if there were none)"
    ),
    NoteField("tolerance", "Tolerance", "record how the procedure was tolerated"),
    NoteField("aftercare", "Aftercare", "record that aftercare was explained"),
    NoteField("follow_up", "Follow-up plan", "write the follow-up plan"),
)
NOTE_FIELD_KEYS = tuple(field.key for field in NOTE_FIELDS)

#: What a clinic requires to sign unless it changes the setting (issue 12). `prior_relief` and
#: `functional_score` apply to a repeat session under a payer with repeat criteria.
DEFAULT_REQUIRED: frozenset[str] = frozenset(
    {
        "diagnoses",
        "consent",
        "safety_screen",
        "time_out",
        "position",
        "skin_prep",
        "needle",
        "complications",
        "tolerance",
        "pain_before",
        "pain_after",
        "prior_relief",
        "functional_score",
    }
)
_REPEAT_ONLY = frozenset({"prior_relief"})
_REPEAT_PAYER_ONLY = frozenset({"prior_relief", "functional_score"})


def _prior_relief_documented(
    procedure: Procedure, prior_procedures: Sequence[PriorProcedure]
) -> bool:
    if procedure.prior_relief_percent is not None:
        return (
            procedure.prior_relief_measured_on is not None
            and procedure.prior_relief_scale is not None
        )
    if prior_procedures:
        latest = max(prior_procedures, key=lambda prior: prior.performed_at)
        return (
            latest.relief_percent is not None
            and latest.relief_measured_on is not None
            and latest.relief_scale is not None
        )
    return False


def _documented(key: str, procedure: Procedure, prior_procedures: Sequence[PriorProcedure]) -> bool:
    history = procedure.history
    checks: dict[str, Callable[[], bool]] = {
        "diagnoses": lambda: bool(procedure.diagnoses),
        "indication": lambda: bool(procedure.indication),
        "history": lambda: (
            history is not None
            and bool(history.onset or history.onset_date or history.referral_pattern)
        ),
        "conservative_therapy": lambda: history is not None and bool(history.conservative_therapy),
        "rehab_program": lambda: history is not None and bool(history.rehab_program),
        "prior_relief": lambda: _prior_relief_documented(procedure, prior_procedures),
        "functional_score": lambda: bool(procedure.functional_scores),
        "consent": lambda: (
            procedure.consent is not None
            and procedure.consent.obtained
            and procedure.consent.method is not None
        ),
        "safety_screen": lambda: procedure.safety_screen is not None,
        "time_out": lambda: procedure.time_out is not None,
        "site_marking": lambda: (
            procedure.time_out is not None and procedure.time_out.site_marked is not None
        ),
        "position": lambda: procedure.position is not None,
        "skin_prep": lambda: procedure.skin_prep is not None,
        "needle": lambda: procedure.needle is not None,
        "technique": lambda: bool(procedure.technique),
        "pain_before": lambda: procedure.pain_before is not None,
        "pain_after": lambda: procedure.pain_after is not None,
        "complications": lambda: procedure.complications is not None,
        "tolerance": lambda: procedure.tolerance is not None,
        "aftercare": lambda: procedure.aftercare_given,
        "follow_up": lambda: bool(procedure.follow_up),
    }
    return checks[key]()


def applies(key: str, procedure: Procedure, prior_procedures: Sequence[PriorProcedure]) -> bool:
    """Whether the note prints the field for this procedure at all (prior relief: repeats)."""
    if key in _REPEAT_ONLY:
        return bool(prior_procedures) or procedure.prior_relief_percent is not None
    return True


def not_documented(
    procedure: Procedure, prior_procedures: Sequence[PriorProcedure] = ()
) -> list[NoteField]:
    """Every field the note would print as not documented, in the note's order."""
    return [
        field
        for field in NOTE_FIELDS
        if applies(field.key, procedure, prior_procedures)
        and not _documented(field.key, procedure, prior_procedures)
    ]


def _required_here(
    key: str,
    required: frozenset[str],
    procedure: Procedure,
    prior_procedures: Sequence[PriorProcedure],
) -> bool:
    if key not in required:
        return False
    if key in _REPEAT_PAYER_ONLY:
        payer = load_catalog().payers.get(procedure.payer_profile)
        repeat = bool(prior_procedures) or procedure.prior_relief_percent is not None
        return repeat and payer is not None and payer.min_relief_percent_for_repeat is not None
    return True


def missing_items(
    procedure: Procedure,
    *,
    allow_planned_sites: bool = False,
    required: frozenset[str] | None = None,
    prior_procedures: Sequence[PriorProcedure] = (),
) -> list[MissingItem]:
    """Everything required for signing that is not yet documented, in the note's order.

    `required`: the clinic's required fields (`NOTE_FIELD_KEYS`; default `DEFAULT_REQUIRED`).
    `allow_planned_sites=True` lets the physician sign with planned sites deliberately not injected
    (they stay in the note as planned, not performed).
    """
    wanted = DEFAULT_REQUIRED if required is None else required
    items = [
        MissingItem(f"procedure.{field.key}", field.message)
        for field in not_documented(procedure, prior_procedures)
        if _required_here(field.key, wanted, procedure, prior_procedures)
    ]

    def need(field: str, message: str) -> None:
        items.append(MissingItem(field, message))

    if not procedure.injected_sites:
        need("procedure.sites", "mark at least one site as injected")

    for index, site in enumerate(procedure.sites):
        number = index + 1
        path = f"procedure.sites[{index}]"
        label = site_label(site, number)
        if site.state == "planned":
            if not allow_planned_sites:
                need(path, f"{label} is still planned: mark it injected or remove it")
            continue
        if site.muscle == UNSPECIFIED:
            need(f"{path}.muscle", f"{label}: choose the muscle (it is unspecified)")
        if site.dry_needling:
            continue  # needle without injectate: no volume, no preparation
        if site.volume_ml is None:
            need(f"{path}.volume_ml", f"{label}: record the volume injected (mL)")
        if site.preparation is None:
            need(f"{path}.preparation", f"{label}: choose the preparation (syringe) used")
    # More given from a syringe than was drawn into it is a charting error, not a judgement call:
    # it blocks signing (rule volume_exceeds_drawn) until the volumes are corrected. (Imported
    # here: the services import this module at start, before any rule is needed.)
    from tpi_chart.domain.rules.amounts import overdrawn_message, overdrawn_preparations

    for item in overdrawn_preparations(procedure):
        index = next(i for i, p in enumerate(procedure.preparations) if p.id == item.preparation)
        need(f"procedure.preparations[{index}]", overdrawn_message(item))
    return items


def unacknowledged(
    warnings: Iterable[WarningLike], acknowledgements: Mapping[str, str]
) -> list[str]:
    """Codes of open warnings without a non-empty reason, each code once, in warning order."""
    codes: list[str] = []
    for warning in warnings:
        reason = acknowledgements.get(warning.code, "")
        if not reason.strip() and warning.code not in codes:
            codes.append(warning.code)
    return codes


def acknowledgement_records(
    warnings: Iterable[WarningLike], acknowledgements: Mapping[str, str]
) -> tuple[WarningAcknowledgement, ...]:
    """The acknowledgements stored with a signature: one per open warning code, with its sites.

    Reasons given for codes that are not open are ignored (nothing to acknowledge)."""
    sites_by_code: dict[str, list[int]] = {}
    for warning in warnings:
        merged = sites_by_code.setdefault(warning.code, [])
        merged.extend(site for site in warning.sites if site not in merged)
    records = []
    for code, sites in sites_by_code.items():
        reason = acknowledgements.get(code, "").strip()
        if reason:
            records.append(
                WarningAcknowledgement(code=code, sites=tuple(sorted(sites)), reason=reason)
            )
    return tuple(records)

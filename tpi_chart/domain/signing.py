"""What must be true before a procedure note can be signed (pure: no storage, no clock).

Two separate questions, both answered without side effects:

* `missing_items(procedure)`: required documentation that is absent. Each item names the field and
  says in plain words what to record. Missing items block signing.
* `unacknowledged(warnings, acknowledgements)`: open rule warnings that still need a reason.
  Warnings never block charting; signing with them needs an acknowledgement per code, recorded with
  the signature (product.md §6, last bullet).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from tpi_chart.domain.catalog import UNSPECIFIED, load_catalog
from tpi_chart.domain.models import Procedure, Site, WarningAcknowledgement
from tpi_chart.domain.rules import overdrawn_message, overdrawn_preparations


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


def missing_items(procedure: Procedure, *, allow_planned_sites: bool = False) -> list[MissingItem]:
    """Everything required for signing that is not yet documented, in chart order.

    `allow_planned_sites=True` lets the physician sign with planned sites deliberately not injected
    (they stay in the note as planned, not performed).
    """
    items: list[MissingItem] = []

    def need(field: str, message: str) -> None:
        items.append(MissingItem(field, message))

    if not procedure.diagnoses:
        need("procedure.diagnoses", "add at least one diagnosis (ICD-10 code)")
    if procedure.consent is None or not procedure.consent.obtained:
        need("procedure.consent", "record that consent was obtained")
    if procedure.time_out is None:
        need("procedure.time_out", "record the time-out (who performed it and when)")
    if procedure.pain_before is None:
        need("procedure.pain_before", "record the pain score before the procedure (0-10)")
    if procedure.pain_after is None:
        need("procedure.pain_after", "record the pain score after the procedure (0-10)")

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
    # it blocks signing (rule volume_exceeds_drawn) until the volumes are corrected.
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

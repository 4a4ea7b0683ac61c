"""What every rule reads: the document with its catalog, payer and clinic time zone, and the
wording helpers the messages share (site lists, plurals, muscle names)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, tzinfo

from tpi_chart.domain.catalog import UNSPECIFIED, Catalog, PayerProfile
from tpi_chart.domain.localdates import local_date
from tpi_chart.domain.models import PriorProcedure, Procedure, ProcedureDocument, Site


def is_session(prior: PriorProcedure) -> bool:
    """A prior visit where nothing was injected (planned then cancelled, dry needling only) was
    no session: the same rule as the database history (`ChartingService.prior_procedures`)."""
    return bool(prior.sites)


@dataclass(frozen=True)
class RuleContext:
    document: ProcedureDocument
    catalog: Catalog
    payer: PayerProfile
    zone: tzinfo | None = None

    @property
    def procedure(self) -> Procedure:
        return self.document.procedure

    def day_of(self, moment: datetime) -> date:
        return local_date(moment, self.zone)

    @property
    def procedure_date(self) -> date:
        # The clinic's local date of the procedure (never the UTC date).
        return self.day_of(self.procedure.performed_at)

    def earlier_sessions(self) -> list[PriorProcedure]:
        # Prior procedures on the same local date belong to this session (LCD definition of a
        # session: everything done during one day; see same_day_sessions); later ones are not
        # history.
        return [
            prior
            for prior in self.document.prior_procedures
            if is_session(prior) and self.day_of(prior.performed_at) < self.procedure_date
        ]

    def same_day_sessions(self) -> list[PriorProcedure]:
        """The patient's other procedures on this local date in which something was injected."""
        return sorted(
            (
                prior
                for prior in self.document.prior_procedures
                if is_session(prior)
                and self.day_of(prior.performed_at) == self.procedure_date
                and prior.performed_at != self.procedure.performed_at
            ),
            key=lambda prior: prior.performed_at,
        )

    def clock(self, moment: datetime) -> str:
        local = moment.astimezone(self.zone) if self.zone else moment.astimezone()
        return local.strftime("%H:%M")

    def describe_site(self, number: int) -> str:
        site = self.procedure.sites[number - 1]
        return f"{number} ({self.catalog.muscle_name(site.muscle)}, {site.side})"


def site_list(numbers: Sequence[int]) -> str:
    return join_words([str(number) for number in numbers])


def join_words(items: Sequence[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return f"{', '.join(items[:-1])} and {items[-1]}"


def plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def sites_word(numbers: Sequence[int]) -> str:
    return "site" if len(numbers) == 1 else "sites"


def is_ptx_risk(catalog: Catalog, muscle_id: str) -> bool:
    muscle = catalog.muscles.get(muscle_id)
    return muscle is not None and muscle.pneumothorax_risk


def billing_key(context: RuleContext, muscle: str, side: str) -> tuple[str, str]:
    """What a coder counts once: the named muscle (upper trapezius → trapezius) and, unless the
    payer counts left and right as one, the side (clinical-reference §2.1)."""
    entry = context.catalog.muscles[muscle]
    return entry.billing_id, side if context.payer.bilateral_counts_as_two else ""


def count_muscles(context: RuleContext, injected: Sequence[Site]) -> int:
    return len(
        {
            billing_key(context, site.muscle, site.side)
            for site in injected
            if site.muscle != UNSPECIFIED
        }
    )


def named_muscle_side(context: RuleContext, muscle: str, side: str) -> str:
    return f"{context.catalog.muscle_name(muscle)} ({side})"

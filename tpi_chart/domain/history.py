"""A patient's history across visits (product.md §2, workflow 4 "Review").

What a physician reads before deciding on a repeat injection: pain and relief per visit, where
every visit injected, injections per muscle and side, cumulative corticosteroid over the last
12 months (mg and methylprednisolone equivalents), and sessions counted against the payer's limit.

Pure: procedures in, one frozen `PatientHistory` out. Every number comes from the procedures and
the catalog (formulary factors, payer limits), never from code.

Definitions, shared with the rules (``domain.rules``):

* A visit's date is the clinic's local date of ``performed_at`` (``localdates.local_date``).
* A **session** is a calendar date with at least one injected site (a planned-only procedure is
  not a session yet; two procedures on one date are one session).
* The **rolling 365 days** up to ``as_of`` are ``as_of`` and the 364 days before it; the steroid
  total over "the last 12 months" uses the same window.
* The relief after a visit is its newest follow-up entry, else what the next visit recorded:
  visit *i + 1*'s ``prior_relief_percent`` (as ``ChartingService.prior_procedures`` does).
* Doses are those of injected sites only (``rules.agent_totals``); totals are summed unrounded and
  rounded once, half up, to 0.1 mg.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, tzinfo

from pydantic import BaseModel, ConfigDict

from tpi_chart.domain.catalog import UNSPECIFIED, Catalog, PayerProfile, load_catalog
from tpi_chart.domain.diagram import default_position
from tpi_chart.domain.localdates import clinic_zone, local_date
from tpi_chart.domain.models import FollowUp, Procedure, Site
from tpi_chart.domain.rules import ROLLING_YEAR_DAYS
from tpi_chart.domain.rules.amounts import Dose, agent_totals, round_half_up

WINDOW_DAYS = ROLLING_YEAR_DAYS


class _Out(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class AgentAmount(_Out):
    agent: str
    mg: float  # rounded half up to 0.1 mg


class Visit(_Out):
    """One procedure, in chronological order."""

    index: int  # 0-based position in `PatientHistory.visits`
    procedure_id: int | None
    performed_at: datetime
    day: date
    status: str
    payer_profile: str
    injected_sites: int
    muscles: int  # distinct (muscle, side) pairs injected
    pain_before: int | None
    pain_after: int | None
    relief_percent: int | None  # after this visit: its follow-up, else the next visit's
    relief_weeks: float | None
    relief_scale: str | None = None
    relief_measured_on: date | None = None
    steroids: tuple[AgentAmount, ...]  # corticosteroid mg given at this visit

    @property
    def is_session(self) -> bool:
        return self.injected_sites > 0


class Marker(_Out):
    """One injected site of one visit, placed on a diagram view."""

    visit: int  # index into `PatientHistory.visits`
    day: date
    view: str
    x: float
    y: float
    muscle: str
    side: str
    relief_percent: int | None  # the relief after this marker's visit


class MuscleCount(_Out):
    muscle: str
    muscle_name: str
    side: str
    injections: int  # injected sites, all visits
    visits: int  # visits that injected it
    first: date
    last: date
    next_allowed: date | None  # last + the payer's minimum interval; None without one

    def allowed_on(self, day: date) -> bool:
        return self.next_allowed is None or day >= self.next_allowed


class SteroidTotal(_Out):
    agent: str
    name: str
    mg: float
    visits: int
    factor: float | None  # mg methylprednisolone per mg of this agent
    factor_verified: bool
    factor_source: str | None
    methylprednisolone_mg: float | None


class SteroidSummary(_Out):
    since: date
    until: date
    agents: tuple[SteroidTotal, ...]
    methylprednisolone_mg: float  # over the agents that have a factor
    verified: bool  # every factor used is verified
    missing_factor: tuple[str, ...]  # agents given without a factor (not in the equivalent)


class SessionCount(_Out):
    payer: str
    payer_name: str
    limit: int | None
    used: int
    dates: tuple[date, ...]  # the sessions in the window, oldest first
    since: date
    until: date
    next_would_exceed: bool
    next_free: date | None  # first date a further session fits the limit (when full)
    min_days_same_muscle_side: int | None

    @property
    def message(self) -> str:
        if self.limit is None:
            return (
                f"{_sessions(self.used)} in the 365 days to {self.until.isoformat()}; "
                f"no session limit under {self.payer}"
            )
        text = f"{self.used} of {self.limit} sessions used under {self.payer}"
        if self.next_would_exceed:
            text += "; next session would exceed"
            if self.next_free is not None:
                text += f" (one fits again from {self.next_free.isoformat()})"
        else:
            left = self.limit - self.used
            text += f"; {left} more allowed in the 365 days to {self.until.isoformat()}"
        return text


class PatientHistory(_Out):
    as_of: date
    visits: tuple[Visit, ...]
    markers: tuple[Marker, ...]
    unplaced_sites: int  # injected sites with no position and no zone to place them in
    muscles: tuple[MuscleCount, ...]
    steroids: SteroidSummary
    sessions: SessionCount
    relief_threshold: int  # what counts as a response (the payer's, else 50 %)
    relief_required: int | None  # the payer's minimum relief before a repeat, if it sets one

    @property
    def sessions_total(self) -> int:
        """Sessions ever: distinct dates with an injected site."""
        return len({visit.day for visit in self.visits if visit.is_session})

    @property
    def has_injections(self) -> bool:
        return any(visit.is_session for visit in self.visits)


def _sessions(count: int) -> str:
    return f"{count} session" if count == 1 else f"{count} sessions"


def window_start(as_of: date) -> date:
    return as_of - timedelta(days=WINDOW_DAYS - 1)


def in_window(day: date, as_of: date) -> bool:
    return window_start(as_of) <= day <= as_of


def _injected(procedure: Procedure) -> tuple[Site, ...]:
    """Sites where something was injected: a dry-needled site injects nothing and makes no
    session (the rules' and the database history's rule)."""
    return tuple(site for site in procedure.sites if site.delivers_injectate)


def visit_day(procedure: Procedure) -> date:
    return local_date(procedure.performed_at)


@dataclass(frozen=True)
class _Facts:
    """What every part of the summary reads of one visit, worked out once per visit (a clinic's
    tenth year gives a patient a hundred visits: their dates and doses were computed four times,
    once per site for the dates, which was most of the summary's time)."""

    procedure: Procedure
    day: date
    injected: tuple[Site, ...]
    totals: dict[str, Dose]


def _facts(procedure: Procedure) -> _Facts:
    """Worked out once per procedure object and clinic zone: the storage hands back the same
    validated object for a visit that did not change, so opening a patient's History again
    does not sum a hundred visits' doses again (a third of the summary's time)."""
    zone = clinic_zone()
    kept = _KEPT_FACTS.get(id(procedure))
    if kept is not None and kept[0] is procedure and kept[1] is zone:
        return kept[2]
    facts = _Facts(procedure, visit_day(procedure), _injected(procedure), agent_totals(procedure))
    if len(_KEPT_FACTS) >= _KEPT_FACTS_SIZE:
        _KEPT_FACTS.clear()
    _KEPT_FACTS[id(procedure)] = (procedure, zone, facts)
    return facts


#: By id(procedure), with the procedure itself (an id is reused only after the object is gone,
#: and the entry keeps it alive) and the zone its day was worked out in. Bounded as the
#: storage's own memo of validated visits (`storage.sqlite.lookups`).
_KEPT_FACTS: dict[int, tuple[Procedure, tzinfo | None, _Facts]] = {}
_KEPT_FACTS_SIZE = 512


@dataclass
class _MuscleTally:
    injections: int = 0
    visits: set[int] = field(default_factory=set)
    days: list[date] = field(default_factory=list)


def _steroid_ids(catalog: Catalog) -> frozenset[str]:
    return frozenset(a.id for a in catalog.agents.values() if a.agent_class == "corticosteroid")


def _chronological(
    procedures: Sequence[Procedure], ids: Sequence[int | None]
) -> list[tuple[int | None, Procedure]]:
    pairs = list(zip(ids, procedures, strict=True))
    # Stable on equal times; a tie keeps the caller's order.
    return sorted(pairs, key=lambda pair: pair[1].performed_at)


def _relief(
    follow_up: FollowUp | None, following: Procedure | None
) -> tuple[int | None, float | None, str | None, date | None]:
    if follow_up is not None:
        return (
            follow_up.relief_percent,
            follow_up.relief_weeks,
            follow_up.scale,
            follow_up.measured_on,
        )
    if following is None:
        return None, None, None, None
    return (
        following.prior_relief_percent,
        following.prior_relief_weeks,
        following.prior_relief_scale,
        following.prior_relief_measured_on,
    )


def _visits(
    ordered: list[tuple[int | None, _Facts]],
    steroid_ids: frozenset[str],
    follow_ups: Mapping[int, FollowUp],
) -> tuple[Visit, ...]:
    visits: list[Visit] = []
    for index, (procedure_id, facts) in enumerate(ordered):
        procedure = facts.procedure
        following = ordered[index + 1][1].procedure if index + 1 < len(ordered) else None
        relief = _relief(
            follow_ups.get(procedure_id) if procedure_id is not None else None, following
        )
        injected = facts.injected
        totals = facts.totals
        visits.append(
            Visit(
                index=index,
                procedure_id=procedure_id,
                performed_at=procedure.performed_at,
                day=facts.day,
                status=procedure.status,
                payer_profile=procedure.payer_profile,
                injected_sites=len(injected),
                muscles=len({(site.muscle, site.side) for site in injected}),
                pain_before=procedure.pain_before,
                pain_after=procedure.pain_after,
                relief_percent=relief[0],
                relief_weeks=relief[1],
                relief_scale=relief[2],
                relief_measured_on=relief[3],
                steroids=tuple(
                    AgentAmount(agent=agent, mg=round_half_up(dose.mg, 1))
                    for agent, dose in sorted(totals.items())
                    if agent in steroid_ids
                ),
            )
        )
    return tuple(visits)


def _markers(
    ordered: list[tuple[int | None, _Facts]], visits: tuple[Visit, ...]
) -> tuple[tuple[Marker, ...], int]:
    markers: list[Marker] = []
    unplaced = 0
    for visit, (_, facts) in zip(visits, ordered, strict=True):
        for site in facts.injected:
            if site.view is not None and site.x is not None and site.y is not None:
                position: tuple[str, float, float] | None = (site.view, site.x, site.y)
            else:
                position = default_position(site.muscle, site.side)
            if position is None:
                unplaced += 1
                continue
            view, x, y = position
            markers.append(
                Marker(
                    visit=visit.index,
                    day=visit.day,
                    view=view,
                    x=x,
                    y=y,
                    muscle=site.muscle,
                    side=site.side,
                    relief_percent=visit.relief_percent,
                )
            )
    return tuple(markers), unplaced


def muscle_counts(
    procedures: Sequence[Procedure], payer: PayerProfile, catalog: Catalog | None = None
) -> tuple[MuscleCount, ...]:
    """Injected sites per (muscle, side) over all visits, most recently injected first (then by
    name). `next_allowed` is the last date plus the payer's minimum interval; an unspecified site
    has none (the rules do not apply the interval to it)."""
    return _muscle_counts([_facts(procedure) for procedure in procedures], payer, catalog)


def _muscle_counts(
    visits: Sequence[_Facts], payer: PayerProfile, catalog: Catalog | None = None
) -> tuple[MuscleCount, ...]:
    catalog = catalog or load_catalog()
    tallies: dict[tuple[str, str], _MuscleTally] = {}
    for index, facts in enumerate(visits):
        for site in facts.injected:
            tally = tallies.setdefault((site.muscle, site.side), _MuscleTally())
            tally.injections += 1
            tally.visits.add(index)
            tally.days.append(facts.day)
    interval = payer.min_days_same_muscle_side
    rows = [
        MuscleCount(
            muscle=muscle,
            muscle_name=catalog.muscle_name(muscle),
            side=side,
            injections=tally.injections,
            visits=len(tally.visits),
            first=min(tally.days),
            last=max(tally.days),
            next_allowed=(
                None
                if interval is None or muscle == UNSPECIFIED
                else max(tally.days) + timedelta(days=interval)
            ),
        )
        for (muscle, side), tally in tallies.items()
    ]
    rows.sort(key=lambda row: (-row.last.toordinal(), row.muscle_name, row.side))
    return tuple(rows)


def steroid_summary(
    procedures: Sequence[Procedure], as_of: date, catalog: Catalog | None = None
) -> SteroidSummary:
    """Corticosteroid given in the 365 days to `as_of`, per agent (mg) and as methylprednisolone
    equivalents from the formulary's factors (flagged when a factor is unverified)."""
    return _steroid_summary([_facts(procedure) for procedure in procedures], as_of, catalog)


def _steroid_summary(
    facts: Sequence[_Facts], as_of: date, catalog: Catalog | None = None
) -> SteroidSummary:
    catalog = catalog or load_catalog()
    steroid_ids = _steroid_ids(catalog)
    mg: dict[str, float] = {}
    visits: dict[str, int] = {}
    for visit in facts:
        if not in_window(visit.day, as_of):
            continue
        for given, dose in visit.totals.items():
            if given in steroid_ids and dose.mg > 0:
                mg[given] = mg.get(given, 0.0) + dose.mg
                visits[given] = visits.get(given, 0) + 1
    rows: list[SteroidTotal] = []
    equivalent = 0.0
    verified = True
    missing: list[str] = []
    for agent_id in sorted(mg, key=lambda name: (-mg[name], name)):
        agent = catalog.agents[agent_id]
        factor = agent.methylprednisolone_equivalent_per_mg
        if factor is None:
            missing.append(agent_id)
        else:
            equivalent += mg[agent_id] * factor.factor
            verified = verified and factor.verified
        rows.append(
            SteroidTotal(
                agent=agent_id,
                name=agent.name,
                mg=round_half_up(mg[agent_id], 1),
                visits=visits[agent_id],
                factor=None if factor is None else factor.factor,
                factor_verified=factor is not None and factor.verified,
                factor_source=None if factor is None else factor.source,
                methylprednisolone_mg=(
                    None if factor is None else round_half_up(mg[agent_id] * factor.factor, 1)
                ),
            )
        )
    return SteroidSummary(
        since=window_start(as_of),
        until=as_of,
        agents=tuple(rows),
        methylprednisolone_mg=round_half_up(equivalent, 1),
        verified=verified,
        missing_factor=tuple(missing),
    )


def session_count(
    procedures: Sequence[Procedure], payer: PayerProfile, as_of: date
) -> SessionCount:
    """Sessions in the 365 days to `as_of` against the payer's limit. A further session (on a
    later date) would exceed it when the window already holds `limit` sessions; it fits again
    365 days after the limit-th most recent one."""
    return _session_count([_facts(procedure) for procedure in procedures], payer, as_of)


def _session_count(facts: Sequence[_Facts], payer: PayerProfile, as_of: date) -> SessionCount:
    days = sorted({visit.day for visit in facts if visit.injected and in_window(visit.day, as_of)})
    limit = payer.max_sessions_per_365_days
    full = limit is not None and len(days) >= limit
    next_free: date | None = None
    if full and limit:
        # The limit-th most recent session leaves the window 365 days after it (always after
        # `as_of`, since it is inside the window).
        next_free = days[-limit] + timedelta(days=WINDOW_DAYS)
    return SessionCount(
        payer=payer.id,
        payer_name=payer.name,
        limit=limit,
        used=len(days),
        dates=tuple(days),
        since=window_start(as_of),
        until=as_of,
        next_would_exceed=full,
        next_free=next_free,
        min_days_same_muscle_side=payer.min_days_same_muscle_side,
    )


def current_payer(procedures: Sequence[Procedure], catalog: Catalog | None = None) -> PayerProfile:
    """The payer profile of the latest procedure (what the next visit is billed under), or the
    `none` profile without any procedure."""
    catalog = catalog or load_catalog()
    if not procedures:
        return catalog.payers["none"]
    latest = max(procedures, key=lambda procedure: procedure.performed_at)
    return catalog.payers[latest.payer_profile]


def summarize(
    procedures: Sequence[Procedure],
    *,
    as_of: date,
    ids: Sequence[int | None] | None = None,
    payer: str | None = None,
    catalog: Catalog | None = None,
    follow_ups: Mapping[int, FollowUp] | None = None,
) -> PatientHistory:
    """The whole history of one patient as of `as_of` (usually today). `ids` (aligned with
    `procedures`) are carried into the visits; `payer` overrides the latest procedure's profile.
    Procedures may come in any order; an empty sequence gives an empty history. `follow_ups`
    (by procedure id): the newest follow-up entry of a visit, which counts before the relief the
    next visit recorded."""
    catalog = catalog or load_catalog()
    if ids is not None and len(ids) != len(procedures):
        raise ValueError(f"{len(ids)} ids for {len(procedures)} procedures; give one id each")
    ordered = [
        (procedure_id, _facts(procedure))
        for procedure_id, procedure in _chronological(
            procedures, ids if ids is not None else [None] * len(procedures)
        )
    ]
    chronological = [facts for _, facts in ordered]
    profile = (
        catalog.payers[payer]
        if payer is not None
        else current_payer([facts.procedure for facts in chronological], catalog)
    )
    visits = _visits(ordered, _steroid_ids(catalog), follow_ups or {})
    markers, unplaced = _markers(ordered, visits)
    return PatientHistory(
        as_of=as_of,
        visits=visits,
        markers=markers,
        unplaced_sites=unplaced,
        muscles=_muscle_counts(chronological, profile, catalog),
        steroids=_steroid_summary(chronological, as_of, catalog),
        sessions=_session_count(chronological, profile, as_of),
        relief_threshold=(profile.min_relief_percent_for_repeat or catalog.response.relief_percent),
        relief_required=profile.min_relief_percent_for_repeat,
    )

"""When a note may be signed: only after the fact, by the clock of this computer (issue 10, 5).

The signing time always comes from the clock at signing, never from a document. It must not be
before what the note says happened: the date of service, the consent, the time-out, or an
injection. A clock that runs behind the latest audited event (someone set it back, or a dead
CMOS battery) would let a note look signed earlier than it was: that is detected against the
audit trail, audited, and signing then needs an explicit confirmation.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from tpi_chart.domain.errors import DomainError
from tpi_chart.domain.models import Procedure

#: How far the clock may run behind the latest audit row before it counts as set back: more
#: than the jitter of a time-synchronisation step, less than any change worth hiding.
CLOCK_TOLERANCE = timedelta(minutes=1)


class SigningTooEarly(DomainError):
    """The clock says now is before something the note records as already done."""

    def __init__(self, now: datetime, problems: list[str]) -> None:
        self.now = now
        self.problems = tuple(problems)
        super().__init__(
            f"The note cannot be signed at {_show(now)}, before what it records:\n"
            + "\n".join(f"- {line}" for line in problems)
            + "\nSign it after the procedure; if this computer's clock is wrong, correct it first."
        )


class ClockWentBackwards(DomainError):
    """This computer's clock is behind the latest audited event; signing needs a confirmation."""

    def __init__(self, now: datetime, latest: datetime) -> None:
        self.now = now
        self.latest = latest
        super().__init__(
            f"This computer's clock says {_show(now)}, earlier than the last recorded event "
            f"({_show(latest)}): the clock went backwards. This was recorded in the audit trail. "
            "Check the date and time; sign only if they are right now."
        )


def _show(moment: datetime) -> str:
    return moment.astimezone().strftime("%Y-%m-%d %H:%M %Z").strip()


def too_early(procedure: Procedure, now: datetime) -> list[str]:
    """What the note records as done later than `now`, one plain line each ([] when none).

    The date of service counts as a day: `performed_at` is when the visit was planned (9:30),
    and the procedure may begin before that; the time-out, consent and injections are the
    moments it really happened, and count to the minute."""
    problems: list[str] = []
    day = procedure.performed_at.date()
    if now.astimezone(procedure.performed_at.tzinfo).date() < day:
        problems.append(f"the date of service is {day.isoformat()}")
    moments: list[tuple[str, datetime]] = []
    performed = getattr(procedure, "performed_time", None)  # the documentation issue's field
    if isinstance(performed, datetime):
        moments.append(("the time the procedure was performed", performed))
    if procedure.consent is not None and procedure.consent.at is not None:
        moments.append(("the consent", procedure.consent.at))
    if procedure.time_out is not None:
        moments.append(("the time-out", procedure.time_out.at))
    for number, site in enumerate(procedure.sites, start=1):
        if site.injected_at is not None:
            moments.append((f"the injection at site {number}", site.injected_at))
    return problems + [f"{what} is recorded at {_show(at)}" for what, at in moments if at > now]


def clock_went_back(latest: datetime | None, now: datetime) -> bool:
    """True when `now` is more than `CLOCK_TOLERANCE` before the latest audited event."""
    return latest is not None and now < latest - CLOCK_TOLERANCE

"""The life of a procedure, as one state machine: the only place that says which status follows
which. Services ask it before they store a new status; nothing else changes a status.

    planned ──start──▶ in_progress ──sign──▶ signed
       ▲                   │
       └──────unstart──────┘          (undo of the time-out or of the first injection)
    planned ──sign──▶ signed          (a note of planned sites signed with allow_planned_sites)
    external: imported as signed elsewhere; it takes no event at all.

`start` on a procedure already in progress changes nothing (the second injection of a visit), so
callers need not check first.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Literal, get_args

from tpi_chart.domain.errors import DomainError
from tpi_chart.domain.models import ProcedureStatus

Event = Literal["start", "unstart", "sign"]
EVENTS: tuple[Event, ...] = get_args(Event)

STATUSES: tuple[ProcedureStatus, ...] = get_args(ProcedureStatus)

#: (status, event) → the next status. A pair not listed is refused.
TRANSITIONS: Mapping[tuple[ProcedureStatus, Event], ProcedureStatus] = MappingProxyType(
    {
        ("planned", "start"): "in_progress",
        ("in_progress", "start"): "in_progress",
        ("in_progress", "unstart"): "planned",
        ("planned", "unstart"): "planned",
        ("planned", "sign"): "signed",
        ("in_progress", "sign"): "signed",
    }
)

_EVENT_WORDS: Mapping[Event, str] = MappingProxyType(
    {"start": "start", "unstart": "return to planning", "sign": "sign"}
)
_STATUS_WORDS: Mapping[ProcedureStatus, str] = MappingProxyType(
    {
        "planned": "planned",
        "in_progress": "in progress",
        "signed": "signed",
        "external": "a record signed elsewhere",
    }
)


class IllegalTransition(DomainError):
    """The event does not apply to the procedure's status; nothing changes."""

    def __init__(self, status: ProcedureStatus, event: Event) -> None:
        self.status = status
        self.event = event
        super().__init__(
            f"procedure.status: a procedure that is {_STATUS_WORDS[status]} cannot "
            f"{_EVENT_WORDS[event]}"
        )


def next_status(status: ProcedureStatus, event: Event) -> ProcedureStatus:
    """The status after `event`, or IllegalTransition."""
    try:
        return TRANSITIONS[(status, event)]
    except KeyError:
        raise IllegalTransition(status, event) from None


def event_between(before: ProcedureStatus, after: ProcedureStatus) -> Event | None:
    """The event that takes `before` to `after` (None when they are equal); IllegalTransition
    when no event does. Lets a header edit that names a status be checked by the same table."""
    if before == after:
        return None
    for (status, event), target in TRANSITIONS.items():
        if status == before and target == after:
            return event
    # Name the event the caller most plausibly meant, for the message.
    raise IllegalTransition(before, "sign" if after == "signed" else _guess(after))


def _guess(after: ProcedureStatus) -> Event:
    return "unstart" if after == "planned" else "start"

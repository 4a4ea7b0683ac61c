"""Several rooms on one clinic (issue 18 §3): who has a procedure open for charting (a lease),
and word that a record changed elsewhere (a notice). Engine-neutral: the records and the
Protocol the services see, and the single-window implementation a SQLite file uses.

A SQLite file is opened by one window at a time (the single-instance lock,
`storage/sqlite/instance_lock.py`), so on a file there is nobody to lease from and nobody to
hear from: `SingleWindow` grants every lease and never delivers a notice. It adds no table and
no statement to a click (tests/gui/test_click_sql.py counts them). The server's implementation
is `storage/postgres/live.py`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol


@dataclass(frozen=True)
class Lease:
    """A procedure open for charting on one workstation until `expires_at` (renewed by its
    heartbeat; a dead app's lease lapses)."""

    procedure_id: int
    #: The holding program's id (one per open store), not a person: the same physician in two
    #: rooms holds two different leases.
    holder: str
    username: str
    display_name: str
    room: str
    expires_at: datetime


@dataclass(frozen=True)
class Notice:
    """Something changed elsewhere, committed. Both ids None: anything may have changed (the
    listener was reconnected, and what happened meanwhile is unknown)."""

    patient_id: int | None = None
    procedure_id: int | None = None
    #: A lease was taken or released (`procedure_id` names its procedure): nothing was written.
    lease: bool = False


Deliver = Callable[[Notice], None]


class Listening(Protocol):
    #: Whether notices come from polling (the server refused LISTEN) rather than pushed.
    polling: bool

    def wait_ready(self, seconds: float) -> bool:
        """Whether, within `seconds`, the listener is connected and no later change can pass
        unnoticed (LISTEN is on, or polling has read where the trail stands)."""
        ...

    def stop(self) -> None: ...


class LiveRecords(Protocol):
    """Leases and notices of one open store."""

    #: Whether other workstations can write to this clinic at the same time (a server).
    shared: bool
    #: This program's holder id.
    holder: str

    def take(
        self, procedure_id: int, *, username: str, display_name: str, room: str, seconds: float
    ) -> Lease:
        """The procedure's live lease after trying to take it: ours, or another holder's."""
        ...

    def renew(self, procedure_id: int, seconds: float) -> bool:
        """Extend our lease; False when it is no longer ours (it lapsed and was taken)."""
        ...

    def release(self, procedure_id: int) -> None: ...

    def listen(self, deliver: Deliver) -> Listening:
        """Start delivering notices of changes committed by others to `deliver`, called on a
        thread of the store's own (never the caller's)."""
        ...


class _Silent:
    polling = False

    def wait_ready(self, seconds: float) -> bool:
        return True  # nobody else writes: nothing to miss

    def stop(self) -> None:
        """Nothing was started."""


class SingleWindow:
    """`LiveRecords` for a store that one window has to itself (see the module)."""

    shared = False
    holder = "this window"

    def take(
        self, procedure_id: int, *, username: str, display_name: str, room: str, seconds: float
    ) -> Lease:
        expires = datetime.now(UTC) + timedelta(seconds=seconds)
        return Lease(procedure_id, self.holder, username, display_name, room, expires)

    def renew(self, procedure_id: int, seconds: float) -> bool:
        return True

    def release(self, procedure_id: int) -> None:
        """Nothing is held."""

    def listen(self, deliver: Deliver) -> Listening:
        return _Silent()

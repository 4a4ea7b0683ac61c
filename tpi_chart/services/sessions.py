"""Sessions: who is signed in at which workstation (issue 18).

A sign-in starts a session row naming the workstation (its host name); locking the window marks
it locked, unlocking by the same person resumes it, signing out (closing the window, the end of
a command) ends it. On a server every room's sessions are in one table, so an administrator can
list the open ones (`tpi-chart users sessions`) and end one (a lost badge, a person who left
without locking): the window of an ended session refuses its next save with a sentence and locks
itself (`on_ended`). On a file clinic the same table lists this computer's sessions.

The check is the store's write guard, asked at the start of each transaction, inside it. On a
server the transaction's first statement (the head-row lock) also reads whether the session has
ended, so the next save after an ending is refused, at no extra round trip. On a file clinic
(where an ending can only come from a command on the same computer) the guard reads it once a
minute of saving. A sign-in lets an ended session go first (`signing_in`), so that its own
records are written.
"""

from __future__ import annotations

import socket
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from weakref import WeakKeyDictionary

from tpi_chart.domain.errors import DomainError, InvalidInput
from tpi_chart.domain.users import User
from tpi_chart.services.access import DeniedHook, Permissions
from tpi_chart.services.errors import NotFound
from tpi_chart.storage.interfaces import SessionRecord, SessionRepository, Store

__all__ = [
    "SessionEnded",
    "SessionRecord",
    "SessionService",
    "WorkstationSession",
    "guarded_session",
    "workstation_name",
]

#: How often a save also records that the session is still in use (`last_seen_at`) and, on a
#: file clinic, reads whether it was ended (on a server every transaction's first statement
#: tells, at no cost). Rarely: a click's statements are counted (tests/unit/test_operations.py).
SEEN_EVERY = timedelta(minutes=1)


def utc_now() -> datetime:
    return datetime.now(UTC)


def workstation_name() -> str:
    """This computer's name as the sessions and the audit trail show it."""
    return socket.gethostname() or "unnamed workstation"


class SessionEnded(DomainError):
    """An administrator ended this workstation's session: nothing more is saved under it."""


def ended_message(record: SessionRecord) -> str:
    at = record.ended_at.astimezone().strftime("%H:%M") if record.ended_at else "?"
    reason = f" ({record.end_reason})" if record.end_reason else ""
    return (
        f"{record.ended_by} ended your session on {record.workstation} at {at}{reason}; "
        "nothing was saved. Sign in again to continue."
    )


class WorkstationSession:
    """This workstation's current session, shared by the services of every person signed in
    here (as the unlocked keys are)."""

    def __init__(
        self,
        repository: SessionRepository,
        *,
        track: Callable[[int | None], None] | None = None,
        workstation: str | None = None,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self._sessions = repository
        self._track = track
        self.workstation = workstation or workstation_name()
        self._clock = clock
        self._current: SessionRecord | None = None
        self._seen = datetime.min.replace(tzinfo=UTC)
        #: Called when a save finds the session ended, before it is refused: the window
        #: locks itself.
        self.on_ended: Callable[[], None] | None = None

    @property
    def current(self) -> SessionRecord | None:
        return self._current

    @current.setter
    def current(self, record: SessionRecord | None) -> None:
        self._current = record
        if self._track is not None:  # the store reads its state with each transaction
            self._track(None if record is None else record.id)

    def signing_in(self) -> None:
        """A sign-in is starting: a session ended meanwhile is let go, so that the sign-in's
        own records are not refused as the ended session's."""
        if self.current is not None:
            record = self._sessions.get(self.current.id)
            if record is None or record.ended_at is not None:
                self.current = None

    def signed_in(self, username: str) -> None:
        """The same person unlocking resumes their open session; anyone else starts one (the
        previous person's session ends: their window closes)."""
        now = self._clock()
        if self.current is not None and self.current.username == username:
            record = self._sessions.get(self.current.id)
            if record is not None and record.ended_at is None:
                self._sessions.touch(record.id, now, "active")
                self.current, self._seen = record, now
                return
        self.signed_out("another person signed in")
        self.current, self._seen = self._sessions.start(username, self.workstation, now), now

    def locked(self, username: str) -> None:
        """The window locked: the session is marked so; one ended meanwhile is let go (the
        lock is what its ending asked for, and the lock's own audit row must be written)."""
        if self.current is None or self.current.username != username:
            return
        record = self._sessions.get(self.current.id)
        if record is None or record.ended_at is not None:
            self.current = None
            return
        self._sessions.touch(record.id, self._clock(), "locked")

    def signed_out(self, reason: str = "signed out") -> None:
        if self.current is not None:
            current, self.current = self.current, None
            self._sessions.end(current.id, self._clock(), current.username, reason)

    def guard(self, ended: bool | None) -> None:
        """The store's write guard: refuse what this workstation would write once its session
        has been ended (SessionEnded), else note now and then that the session is in use.
        `ended`: what the store read with the transaction's first statement (a server), or
        None (a file: read here, once a minute)."""
        current = self.current
        if current is None:
            return
        now = self._clock()
        due = now - self._seen >= SEEN_EVERY
        record = None
        if ended or (ended is None and due):
            record = self._sessions.get(current.id)
        if record is not None and record.ended_at is not None:
            if self.on_ended is not None:
                self.on_ended()
            raise SessionEnded(ended_message(record))
        if due:
            self._sessions.touch(current.id, now, "active")
            self._seen = now


#: One tracker per open store: every set of services built on it (the demo seeding, a command's
#: own) shares the workstation's session and its guard.
_TRACKERS: WeakKeyDictionary[Store, WorkstationSession] = WeakKeyDictionary()


def guarded_session(store: Store) -> WorkstationSession:
    """The session tracker of `store`, made (and guarding its writes) on first use."""
    session = _TRACKERS.get(store)
    if session is None:
        session = WorkstationSession(store.sessions, track=store.track_session)
        _TRACKERS[store] = session
        store.guard_writes(session.guard)
    return session


class SessionService:
    """The administrator's view of the sessions: the open ones, and ending one."""

    def __init__(
        self,
        repository: SessionRepository,
        user: User,
        *,
        on_denied: DeniedHook | None = None,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self._sessions = repository
        self._permissions = Permissions(user, on_denied)
        self._clock = clock

    def open_sessions(self) -> list[SessionRecord]:
        self._permissions.require("manage_accounts")
        return self._sessions.open_sessions()

    def end(self, session_id: int, reason: str = "ended by an administrator") -> SessionRecord:
        """End someone's session; their window locks at its next save."""
        self._permissions.require("manage_accounts")
        record = self._sessions.get(session_id)
        if record is None:
            raise NotFound(f"session {session_id} does not exist (tpi-chart users sessions)")
        if record.ended_at is not None:
            raise InvalidInput([f"session: {session_id} has already ended"])
        ended = self._sessions.end(
            session_id, self._clock(), self._permissions.username, reason.strip() or "ended"
        )
        assert ended is not None
        return ended

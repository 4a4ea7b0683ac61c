"""Several rooms on one clinic server (issue 18 §3): the workstation's room, the lease a window
holds on the procedure it charts, and the notices of changes made in other rooms.

The rule a lease stands for — a procedure open for charting in one room is read-only in every
other — is held where every write goes: the server refuses a write to a procedure another
program holds a live lease on (`tpi_leased`, storage/postgres/migrations/v0002_leases.py), in
the write's own transaction, whoever makes it (a window, a `tpi-chart chart` command, the
signing step), and the operations turn that refusal into `ProcedureInUse`. The window greys
its controls too, so nobody clicks in vain, but the greying is not what protects the chart.

A lease lasts `LEASE_SECONDS` and the window renews it every `HEARTBEAT_SECONDS`: an app that
dies (or loses the network) holds the procedure for at most half a minute.
"""

from __future__ import annotations

import os
import socket

from tpi_chart.domain.users import User
from tpi_chart.services.access import DeniedHook, Permissions
from tpi_chart.storage.interfaces import Store
from tpi_chart.storage.live import Deliver, Lease, Listening, Notice

__all__ = [
    "HEARTBEAT_SECONDS",
    "LEASE_SECONDS",
    "Lease",
    "Listening",
    "LiveService",
    "Notice",
    "held_elsewhere",
    "workstation_room",
]

LEASE_SECONDS = 30.0
HEARTBEAT_SECONDS = 10.0
ROOM_ENV = "TPI_CHART_ROOM"
#: The longest room name kept (it is shown in a banner in every other room).
ROOM_MAX = 40


def workstation_room(chosen: str | None = None, saved: str | None = None) -> str:
    """The name this workstation goes by in the other rooms ("Room 2"): `--room`, else
    $TPI_CHART_ROOM, else the one saved in the Settings dialog, else the computer's name."""
    for name in (chosen, os.environ.get(ROOM_ENV), saved):
        if name and name.strip():
            return name.strip()[:ROOM_MAX]
    return socket.gethostname().split(".")[0] or "this workstation"


def held_elsewhere(lease: Lease) -> str:
    """What another room sees while `lease` is held."""
    return f"Open in {lease.room} by {lease.display_name} — read-only until they close it."


class LiveService:
    """The leases and notices of one signed-in person at one workstation."""

    def __init__(
        self,
        store: Store,
        user: User,
        room: str,
        *,
        on_denied: DeniedHook | None = None,
        seconds: float = LEASE_SECONDS,
    ) -> None:
        self._live = store.live
        self._user = user
        self._permissions = Permissions(user, on_denied)
        self.room = room
        #: How long a lease lasts without a heartbeat (short in the tests of its expiry).
        self.seconds = seconds

    @property
    def shared(self) -> bool:
        """Whether other rooms chart on this clinic (a server): leases and notices matter."""
        return self._live.shared

    def hold(self, procedure_id: int) -> Lease | None:
        """Take (or keep) the lease on a procedure opened for charting. None: it is ours, edit
        away; a `Lease`: another room holds it, the procedure is read-only here."""
        self._permissions.require("view")
        lease = self._live.take(
            procedure_id,
            username=self._user.username,
            display_name=self._user.display_name,
            room=self.room,
            seconds=self.seconds,
        )
        return None if lease.holder == self._live.holder else lease

    def keep(self, procedure_id: int) -> Lease | None:
        """The heartbeat: extend our lease; if it lapsed and another room took it meanwhile,
        that room's lease (then the procedure is read-only here from now on)."""
        if self._live.renew(procedure_id, self.seconds):
            return None
        return self.hold(procedure_id)

    def release(self, procedure_id: int) -> None:
        self._live.release(procedure_id)

    def listen(self, deliver: Deliver) -> Listening:
        """Deliver notices of others' committed changes (on a thread of the store's)."""
        return self._live.listen(deliver)

"""Leases and change notices on the server (storage/live.py says what they are for; the table,
the lease trigger and the notifications are schema version 2, migrations/v0002_leases.py).

Notices come from `LISTEN tpi_changes` on a connection of their own, outside the pool (a pooled
connection would be handed to a write and miss notifications meanwhile), read on a plain
thread: no Qt here, the window turns the calls into a signal (ui/live.py). Where the server (or
a pooler in front of it) refuses LISTEN, the same thread polls the audit trail's sequence every
second instead: every committed change appends an audit row, so the audit seq is the clinic's
change counter. A dropped connection is re-made; the first notice after it has no ids (anything
may have changed meanwhile).

This program's own writes are not announced back to it: the audit rows it appended are known by
their MAC (`wrote`; not by their seq, which a rolled-back row leaves free for another room's next
row), its leases by its holder id.
"""

from __future__ import annotations

import json
import logging
import threading
import uuid
from collections import deque
from typing import Any

import psycopg

from tpi_chart.storage.live import Deliver, Lease, Notice
from tpi_chart.storage.postgres.connection import CONNECT_TIMEOUT_S, PgConnection, Row

log = logging.getLogger(__name__)

CHANNEL = "tpi_changes"
#: Seconds between two looks at the audit sequence when LISTEN is refused.
POLL_SECONDS = 1.0
#: How long the listening thread waits for notifications before it checks whether to stop.
_WAKE_SECONDS = 0.25
#: Own audit rows remembered to recognise their notices (far more than a second's worth).
_OWN_ROWS = 4096

_COLUMNS = "procedure_id, holder, username, display_name, room, expires_at"
_TAKE = f"""
WITH taken AS (
    INSERT INTO leases (procedure_id, holder, username, display_name, room, expires_at)
    VALUES (?, ?, ?, ?, ?, clock_timestamp() + make_interval(secs => ?))
    ON CONFLICT (procedure_id) DO UPDATE SET
        holder = excluded.holder, username = excluded.username,
        display_name = excluded.display_name, room = excluded.room,
        taken_at = clock_timestamp(), expires_at = excluded.expires_at
    WHERE leases.holder = excluded.holder OR leases.expires_at <= clock_timestamp()
    RETURNING {_COLUMNS}
)
SELECT {_COLUMNS} FROM taken
UNION ALL
SELECT {_COLUMNS} FROM leases WHERE procedure_id = ? AND NOT EXISTS (SELECT 1 FROM taken)
"""


def _lease(row: Row) -> Lease:
    return Lease(
        procedure_id=int(row[0]),
        holder=str(row[1]),
        username=str(row[2]),
        display_name=str(row[3]),
        room=str(row[4]),
        expires_at=row[5],
    )


class PostgresLive:
    """`LiveRecords` of a server clinic: the lease rows and the notification listener."""

    shared = True

    def __init__(self, pg: PgConnection, *, listen: bool = True) -> None:
        self._pg = pg
        #: False: poll the audit sequence even where LISTEN works (what a server that refuses
        #: LISTEN gets; settable so the fallback is tested).
        self.listen_for_notices = listen
        self.holder = uuid.uuid4().hex
        pg.lease_holder = self.holder
        self._listeners: list[_Listener] = []
        self._own: deque[str] = deque(maxlen=_OWN_ROWS)
        self._own_set: set[str] = set()
        self._lock = threading.Lock()

    # -- leases (each one statement, outside any transaction: bookkeeping, not a change of the
    # record, so neither audited nor serialised on the audit head) ----------------------------

    def take(
        self, procedure_id: int, *, username: str, display_name: str, room: str, seconds: float
    ) -> Lease:
        params = (procedure_id, self.holder, username, display_name, room, seconds, procedure_id)
        row = self._pg.execute(_TAKE, params).fetchone()
        if row is None:  # the procedure's lease was released between the two halves: take again
            row = self._pg.execute(_TAKE, params).fetchone()
        assert row is not None, "a lease is either taken or held"
        return _lease(row)

    def renew(self, procedure_id: int, seconds: float) -> bool:
        cursor = self._pg.execute(
            "UPDATE leases SET expires_at = clock_timestamp() + make_interval(secs => ?)"
            " WHERE procedure_id = ? AND holder = ?",
            (seconds, procedure_id, self.holder),
        )
        return cursor.rowcount > 0

    def release(self, procedure_id: int) -> None:
        self._pg.execute(
            "DELETE FROM leases WHERE procedure_id = ? AND holder = ?", (procedure_id, self.holder)
        )

    def release_all(self) -> None:
        self._pg.execute("DELETE FROM leases WHERE holder = ?", (self.holder,))

    # -- notices -------------------------------------------------------------------------------

    def wrote(self, mac: str) -> None:
        """An audit row this program appended, by its MAC (its notice is not delivered back)."""
        with self._lock:
            if len(self._own) == self._own.maxlen:
                self._own_set.discard(self._own[0])
            self._own.append(mac)
            self._own_set.add(mac)

    @property
    def url(self) -> str:
        return self._pg.url

    def mine(self, mac: str) -> bool:
        with self._lock:
            return mac in self._own_set

    def listen(self, deliver: Deliver) -> _Listener:
        listener = _Listener(self, deliver)
        listener.start()
        self._listeners.append(listener)
        return listener

    def close(self) -> None:
        """Stop every listener and let this program's leases go (the store closes)."""
        for listener in self._listeners:
            listener.stop()
        self._listeners.clear()
        self.release_all()


class _Listener:
    """The thread that delivers notices (see the module)."""

    def __init__(self, live: PostgresLive, deliver: Deliver) -> None:
        self._live = live
        self._deliver = deliver
        self.polling = not live.listen_for_notices
        self._stopping = threading.Event()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, name="tpi-chart notices", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def wait_ready(self, seconds: float) -> bool:
        return self._ready.wait(seconds)

    def stop(self) -> None:
        self._stopping.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        reconnected = False
        while not self._stopping.is_set():
            try:
                with psycopg.connect(
                    self._live.url, autocommit=True, connect_timeout=CONNECT_TIMEOUT_S
                ) as conn:
                    if reconnected:
                        self._deliver(Notice())
                    if not self.polling:
                        try:
                            conn.execute(f"LISTEN {CHANNEL}")
                        except psycopg.Error as error:
                            log.info("LISTEN refused (%s): polling for changes instead", error)
                            self.polling = True
                        else:
                            self._ready.set()
                    if self.polling:
                        self._poll(conn)
                    else:
                        self._listen(conn)
            except psycopg.Error as error:
                log.info("change notices interrupted (%s); reconnecting", error)
            except Exception:  # a bug here must not end live updates silently: log, go on
                log.exception("change notice could not be delivered")
            self._ready.clear()  # before the reconnection's "anything may have changed"
            reconnected = True
            self._stopping.wait(POLL_SECONDS)

    def _listen(self, conn: psycopg.Connection[Any]) -> None:
        while not self._stopping.is_set():
            for notify in conn.notifies(timeout=_WAKE_SECONDS):
                notice = self._notice(notify.payload)
                if notice is not None:
                    self._deliver(notice)

    def _notice(self, payload: str) -> Notice | None:
        data = json.loads(payload)
        if "lease" in data:
            if data.get("holder") == self._live.holder:
                return None
            return Notice(procedure_id=data["lease"], lease=True)
        if self._live.mine(str(data["mac"])):
            return None
        return Notice(patient_id=data.get("patient"), procedure_id=data.get("procedure"))

    def _poll(self, conn: psycopg.Connection[Any]) -> None:
        row = conn.execute("SELECT coalesce(max(seq), 0) FROM audit").fetchone()
        last = int(row[0]) if row else 0
        self._ready.set()
        while not self._stopping.wait(POLL_SECONDS):
            rows = conn.execute(
                "SELECT seq, mac, patient_id, procedure_id FROM audit WHERE seq > %s ORDER BY seq",
                (last,),
            ).fetchall()
            for seq, mac, patient_id, procedure_id in rows:
                last = int(seq)
                if not self._live.mine(str(mac)):
                    self._deliver(Notice(patient_id=patient_id, procedure_id=procedure_id))

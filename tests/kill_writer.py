"""The writer the kill tests SIGKILL at random moments (reliability.md §5.3), on a file clinic
(tests/unit/test_storage_crash.py) or on a server clinic (tests/unit/test_server_crash.py).

It charts through the services and acknowledges each save only after its transaction has
committed: "saved <site id>" for a site added to its open procedure, "whole <procedure id> <n>"
for a procedure stored at once with its n sites (a procedure is one transaction with its sites,
so after any kill it is there whole or not at all).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from tpi_chart.domain.models import Patient, Procedure, Site
from tpi_chart.domain.users import User
from tpi_chart.services.context import Services, build_services, open_services

SCRIPT = """
import sys
from tests.kill_writer import main
main(sys.argv[1:], lambda line: print(line, flush=True))
"""

WRITER = User(username="crash-writer", display_name="crash-writer", roles=frozenset({"physician"}))
MUSCLES = ("upper_trapezius", "levator_scapulae", "deltoid", "infraspinatus")


def open_writer_services(target: str, key_hex: str = "") -> Services:
    """A file clinic at `target`; a server clinic at a `postgresql://` URL, with the audit key
    the test holds (a server clinic's key is otherwise sealed to accounts, opened at sign-in)."""
    if target.startswith("postgresql://"):
        from tpi_chart.storage.postgres.store import open_postgres_store

        store = open_postgres_store(target, key=bytes.fromhex(key_hex), pool_size=1)
        return build_services(store, WRITER)
    return open_services(Path(target), WRITER)


def write_until_killed(services: Services, emit: Callable[[str], None], *, whole: bool) -> None:
    """ "ready", then one line after each committed save, forever. Each writer charts its own
    patient's procedure: one procedure holding every site of a thousand rounds would make each
    save slower than the last (a save re-reads its procedure). With `whole`, every fifth save
    is a new procedure with 1-4 sites instead of one site."""
    patient = services.patients.create(
        Patient(
            mrn=f"K{os.getpid()}-{time.time_ns()}",
            family_name="Kill",
            given_name="Test",
            birth_date="1970-01-01",
            sex="unknown",
        )
    )
    procedure_id = services.charting.create(
        patient.id, Procedure(performed_at=datetime(2026, 1, 1, tzinfo=UTC))
    ).id
    emit("ready")
    n = 0
    while True:
        if whole and n % 5 == 4:
            count = n % 4 + 1
            sites = tuple(
                Site(muscle=MUSCLES[i], side="right", state="planned") for i in range(count)
            )
            procedure = Procedure(
                performed_at=datetime(2026, 1, 2, tzinfo=UTC), notes=f"whole {count}", sites=sites
            )
            created = services.charting.create(patient.id, procedure)
            emit(f"whole {created.id} {count}")
        else:
            stored = services.charting.add_site(
                procedure_id,
                Site(muscle=MUSCLES[n % 4], side="left", volume_ml=1.0, notes="x" * (n % 50 + 1)),
            )
            emit(f"saved {stored.id}")
        n += 1


def main(args: list[str], emit: Callable[[str], None]) -> None:
    target, key_hex = args[0], args[1] if len(args) > 1 else ""
    services = open_writer_services(target, key_hex)
    write_until_killed(services, emit, whole=target.startswith("postgresql://"))


class Writer:
    """One writer process to kill: a new interpreter (default), or with `fork` a fork of this
    one (Linux/macOS), which skips the interpreter's start-up (seconds on a busy machine) so
    that a thousand kills take minutes. Either way the process opens the clinic itself, writes,
    and dies by SIGKILL. `args`: the clinic (and, for a server, the audit key in hex)."""

    def __init__(self, args: list[str], fork: bool) -> None:
        self.process: subprocess.Popen[str] | None = None
        self.pid = 0
        if not fork:
            self.process = subprocess.Popen(
                [sys.executable, "-c", SCRIPT, *args],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[1])},
                text=True,
            )
            assert self.process.stdout is not None
            self.stream = self.process.stdout
            return
        read, write = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: never returns into pytest
            os.close(read)

            def emit(line: str) -> None:
                os.write(write, f"{line}\n".encode())

            try:
                main(args, emit)
            except BaseException as error:
                os.write(write, f"error {error!r}\n".encode())
            finally:
                os._exit(3)
        os.close(write)
        self.pid = pid
        self.stream = os.fdopen(read, "r")

    def kill(self) -> tuple[str, bool]:
        """SIGKILL; what it printed after the last read, and whether SIGKILL is what ended it."""
        if self.process is not None:
            self.process.send_signal(signal.SIGKILL)
            rest, _ = self.process.communicate(timeout=10)
            return rest, self.process.returncode == -signal.SIGKILL
        os.kill(self.pid, signal.SIGKILL)
        rest = self.stream.read()
        self.stream.close()
        _, status = os.waitpid(self.pid, 0)
        return rest, os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL

    def error(self) -> str:
        if self.process is not None and self.process.stderr is not None:
            return self.process.stderr.read()
        return ""


class Acknowledged:
    """What the writers acknowledged: site ids, and each whole procedure's site count."""

    def __init__(self) -> None:
        self.sites: set[int] = set()
        self.procedures: dict[int, int] = {}

    def read(self, line: str) -> None:
        """One line of a writer's; a line cut short by the kill acknowledges nothing."""
        if not line.endswith("\n"):
            return
        words = line.split()
        if words[0] == "saved":
            self.sites.add(int(words[1]))
        elif words[0] == "whole":
            self.procedures[int(words[1])] = int(words[2])


def kill_rounds(args: list[str], rounds: int, fork: bool, seed: int) -> Acknowledged:
    """`rounds` writers, each started, let write 0-40 saves and a few ms more, and SIGKILLed."""
    import random

    rng = random.Random(seed)
    acknowledged = Acknowledged()
    for _ in range(rounds):
        writer = Writer(args, fork)
        first = writer.stream.readline()
        assert first == "ready\n", writer.error() or first
        for _ in range(rng.randint(0, 40)):
            acknowledged.read(writer.stream.readline())
        time.sleep(rng.random() * 0.02)
        rest, killed = writer.kill()
        for line in rest.splitlines(keepends=True):
            acknowledged.read(line)
        assert killed, rest
    return acknowledged

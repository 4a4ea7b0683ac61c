"""The clinic on a local PostgreSQL server beside the SQLite file, in the same run (issue 18):

- click → committed: `ChartingOps.plan_site` (what a click on the diagram runs, without Qt's
  paint) until it returns after COMMIT, then the site removed again (not timed), on each engine;
- round trips per click and per twitch key on the server (each statement, BEGIN and its head
  row lock, and COMMIT is one);
- concurrent write throughput: 1, 2 and 4 processes each saving patient edits for a fixed time
  against one server; every save takes the clinic's audit head row lock, so this is what the
  lock allows.

The server is a throwaway cluster started like the tests' (tests/pg_server.py: Unix socket,
fsync=off, so commits cost no disk flush: an upper bound for a real server, whose commit waits
for its disk and the network). Run: `.venv/bin/python benchmarks/postgres.py [--quick]`; prints
a Markdown table for benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.cli_support import add_accounts, sign_in  # noqa: E402
from tests.pg_server import running_server  # noqa: E402
from tpi_chart.domain.models import Site  # noqa: E402
from tpi_chart.services.context import Services, open_services  # noqa: E402
from tpi_chart.services.operations import ChartingOps  # noqa: E402
from tpi_chart.storage.postgres.connection import PgConnection  # noqa: E402

REFERENCE = ROOT / "tests" / "examples" / "reference-visit.json"
SITE = Site(muscle="infraspinatus", side="left", state="planned", view="posterior", x=0.4, y=0.4)


def spread(samples: list[float]) -> tuple[float, float, float]:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return statistics.median(ordered), p95, ordered[-1]


@contextmanager
def physician(database: Path | str) -> Iterator[Services]:
    add_accounts(database)  # type: ignore[arg-type]
    with open_services(database) as opened:
        yield sign_in(opened, "chen")


def click_samples(database: Path | str, clicks: int) -> list[float]:
    with physician(database) as services:
        (procedure_id,) = services.documents.import_documents([REFERENCE])
        ops = ChartingOps(services.store, services.user)
        ops.open(procedure_id)
        samples = []
        for number in range(clicks):
            site = SITE.model_copy(update={"x": 0.3 + (number % 20) / 100})
            started = time.perf_counter()
            changes = ops.plan_site(procedure_id, site)
            samples.append((time.perf_counter() - started) * 1000)
            assert changes.site is not None
            ops.remove_site(changes.site.id)
        return samples


@contextmanager
def round_trips() -> Iterator[list[int]]:
    """Counts what PgConnection sends: statements, BEGIN (+ the head row lock) and COMMIT."""
    counted = [0]
    run, begin, commit = PgConnection._run, PgConnection.begin, PgConnection.commit

    def counting(original: Callable[..., Any], trips: int) -> Callable[..., Any]:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            counted[0] += trips
            return original(*args, **kwargs)

        return wrapper

    PgConnection._run = counting(run, 1)  # type: ignore[method-assign]
    PgConnection.begin = counting(begin, 2)  # type: ignore[method-assign]
    PgConnection.commit = counting(commit, 1)  # type: ignore[method-assign]
    try:
        yield counted
    finally:
        PgConnection._run, PgConnection.begin, PgConnection.commit = run, begin, commit  # type: ignore[method-assign]


def trips_per_action(url: str) -> tuple[int, int]:
    with physician(url) as services:
        (procedure_id,) = services.documents.import_documents([REFERENCE])
        ops = ChartingOps(services.store, services.user)
        opened = ops.open(procedure_id)
        injected = next(s for s in opened.procedure.stored_sites() if s.site.state == "injected")
        with round_trips() as click:
            ops.plan_site(procedure_id, SITE)
        twitch = "weak" if injected.site.twitch != "weak" else "none"
        with round_trips() as key:
            ops.update_site(injected.id, {"twitch": twitch})
        return click[0], key[0]


WRITER = """
import json, sys, time
from tpi_chart.storage.errors import StaleRecord
from tpi_chart.storage.postgres.store import open_postgres_store
url, key, seconds, me = sys.argv[1], bytes.fromhex(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
store = open_postgres_store(url, key=key, pool_size=1)
ids = [r.id for r in store.patients.search("", 100)]
saved = stale = 0
end = time.perf_counter() + seconds
while time.perf_counter() < end:
    pid = ids[(saved + stale) % len(ids)]
    record = store.patients.get(pid)
    try:
        store.patients.update(pid, record.patient.model_copy(update={"member_id": me}), me,
                              record.version)
        saved += 1
    except StaleRecord:
        stale += 1
store.close()
print(json.dumps({"saved": saved, "stale": stale}))
"""


def throughput(url: str, writers: int, seconds: float) -> tuple[float, int]:
    """Saves per second, all writers together, and how many were refused as stale."""
    from tests.unit.test_storage import reference
    from tpi_chart.storage.postgres.store import open_postgres_store

    key = secrets.token_bytes(32)
    store = open_postgres_store(url, key=key)
    base = reference().patient
    for number in range(20):
        store.patients.add(base.model_copy(update={"mrn": f"T{writers}-{number}"}), "bench")
    store.close()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, url, key.hex(), str(seconds), f"w{n}"],
            stdout=subprocess.PIPE,
            text=True,
            env=env,
        )
        for n in range(writers)
    ]
    results = [json.loads(p.communicate()[0]) for p in procs]
    return sum(r["saved"] for r in results) / seconds, sum(r["stale"] for r in results)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer samples")
    args = parser.parse_args()
    clicks, seconds = (40, 3.0) if args.quick else (200, 10.0)
    load = os.getloadavg()
    rows: list[str] = []
    with running_server() as server, tempfile.TemporaryDirectory() as folder:
        os.environ["TPI_CHART_KEY_DIR"] = str(Path(folder) / "keys")
        sqlite = click_samples(Path(folder) / "clinic.db", clicks)
        server_url = server.fresh_database()
        postgres = click_samples(server_url, clicks)
        for name, samples in (("SQLite file", sqlite), ("PostgreSQL, local socket", postgres)):
            p50, p95, top = spread(samples)
            rows.append(
                f"| click → committed, {name} | p95 ≤ 16 ms | {p50:.1f} / {p95:.1f} / "
                f"{top:.1f} ms (n={len(samples)}) | {'pass' if p95 <= 16 else 'fail'} |"
            )
        click_trips, key_trips = trips_per_action(server.fresh_database())
        rows.append(f"| round trips per click (plan a site), PostgreSQL | – | {click_trips} | – |")
        rows.append(f"| round trips per twitch key, PostgreSQL | – | {key_trips} | – |")
        for writers in (1, 2, 4):
            rate, stale = throughput(server.fresh_database(), writers, seconds)
            rows.append(
                f"| concurrent saves, {writers} writer process(es), one clinic | – | "
                f"{rate:.0f} saves/s ({stale} refused as stale) | – |"
            )
    print(
        f"Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}; load average {load[0]:.2f} at the start.\n"
    )
    print("| figure | goal | measured p50 / p95 / max | verdict |")
    print("|---|---|---|---|")
    print("\n".join(rows))


if __name__ == "__main__":
    main()

"""`tpi-chart audit verify` and `tpi-chart audit show` (product.md §7; ONC (d)(2), (d)(3)).

`verify` walks the HMAC chain and checks its tail against the anchor kept beside the key (rows
removed from the end, an older copy put in place of the database): "audit trail intact: N rows"
(exit 0) or "audit trail BROKEN at row S: <why>" (exit 1); then every other loss the clinic
registry or the signatures show ("BROKEN: …": an emptied or shortened database, another clinic in
its place, a signed procedure whose stored content no longer matches its signature, a dropped
protection trigger). It opens the database read-only: it changes nothing it checks.
The row MACs need the clinic's audit key, which is sealed to the accounts (issue 11 §5,
`services/audit_keys.py`): with `--as USER` (that person's password; nothing is recorded) the
whole chain is checked. Without it only what needs no key is: the row numbers, each row's link
to the previous one, the tail against the anchor, the registry, the signed procedures and the
triggers; it then says the MACs were NOT checked and exits 1 (not verified). A clinic whose key
is not sealed yet (no administrator has signed in) is checked in full without `--as`.
A clinic on a PostgreSQL server (`--db postgresql://…`) is checked the same way, over a
connection the server keeps read-only; it has no anchor or registry beside a workstation's key
(its tail is guarded by the clinic's head row and its backups), so those are not part of it.
`show` (for an administrator signed in with `--as`) prints a readable table: time, user,
action, entity, patient MRN and a summary of what changed, filtered by MRN and/or a date range
(UTC dates, inclusive).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import date, datetime
from typing import Any

from tpi_chart.cli.auth import authenticate, signed_in
from tpi_chart.domain.errors import DomainError, InvalidInput
from tpi_chart.services.access import INTEGRITY_CHECK, NOBODY
from tpi_chart.services.audit_report import AuditRow, decode
from tpi_chart.services.charting import ChartingService
from tpi_chart.services.context import build_services
from tpi_chart.services.errors import StorageError
from tpi_chart.services.integrity import CheckedStore, ClinicReport, open_readonly, verify_clinic
from tpi_chart.services.paths import key_dir, resolve_database

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_BAD_INPUT = 2

SUMMARY_WIDTH = 70
_HIDDEN = frozenset({"password", "password_hash"})


def register(subparsers: Any) -> None:
    audit = subparsers.add_parser(
        "audit",
        help="check or show the audit trail",
        description="Check the audit trail's hash chain, or show it as a table.",
    )
    commands = audit.add_subparsers(dest="audit_command", metavar="ACTION", required=True)
    verify = commands.add_parser(
        "verify",
        help="check the hash chain; exit 1 on a break",
        description="Recompute every row's HMAC and compare the tail with its anchor; report "
        "the first row that was changed, deleted, inserted or reordered, or rows removed from "
        "the end.",
    )
    verify.set_defaults(handler=run_verify)
    show = commands.add_parser(
        "show",
        help="print audit rows as a table",
        description="Print audit rows (oldest first): time (UTC), user, action, entity, patient "
        "MRN and what changed.",
    )
    show.add_argument("--mrn", metavar="MRN", help="only rows about this patient")
    show.add_argument("--from", dest="date_from", metavar="DATE", type=_date, help="YYYY-MM-DD")
    show.add_argument("--to", dest="date_to", metavar="DATE", type=_date, help="YYYY-MM-DD")
    show.set_defaults(handler=run_show)


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a date; write it as YYYY-MM-DD"
        ) from None


@contextmanager
def _store(args: argparse.Namespace) -> Iterator[CheckedStore]:
    path = resolve_database(getattr(args, "db", None))
    if isinstance(path, str):
        from tpi_chart.services.server import open_for_checking

        # A server clinic, read-only as well: the server refuses every write of this connection.
        server = open_for_checking(path)
        try:
            yield server
        finally:
            server.close()
        return
    if not path.exists():
        raise StorageError(f"{path}: no such database; check --db or TPI_CHART_DB")
    # Read-only: checking must change nothing it checks, and it must work on a read-only disk.
    with open_readonly(path) as (store, read_only_place):
        if read_only_place:
            print(f"note: the database {path} is read-only; reading only", file=sys.stderr)
        yield store


def _unlock(args: argparse.Namespace, store: CheckedStore) -> None:
    """Sign in as `--as` without recording anything and open that person's audit key slot."""
    services = build_services(store, NOBODY, trust_dir=key_dir())
    user, password = authenticate(args, services.auth, record=False)
    if store.key is None and not services.authority.unlock_audit_for_reading(user, password):
        print(
            f"tpi-chart audit verify: {user.username} has no copy of the audit key yet (a "
            "colleague's sign-in gives one); checking what needs no key",
            file=sys.stderr,
        )


def run_verify(args: argparse.Namespace) -> int:
    try:
        with _store(args) as store:
            if getattr(args, "as_user", None) and store.audit_sealed:
                _unlock(args, store)
            clinic = verify_clinic(store, ChartingService(store, INTEGRITY_CHECK))
    except InvalidInput as error:
        for line in error.problems:
            print(line, file=sys.stderr)
        return EXIT_BAD_INPUT
    except (DomainError, StorageError) as error:
        print(f"tpi-chart audit verify: {error}", file=sys.stderr)
        return EXIT_ERROR
    return print_report(clinic)


def print_report(clinic: ClinicReport, *, unlock_hint: str = "tpi-chart audit verify") -> int:
    """Print what `verify_clinic` found, as `audit verify` does; its exit code."""
    report = clinic.audit
    if report.ok and not report.macs_checked:
        print(
            f"audit trail links intact: {report.rows_checked} rows; each row's MAC was NOT "
            f"checked (the audit key opens only with an account's password): run `{unlock_hint}"
            " --as USERNAME` to check them"
        )
    elif report.ok:
        print(f"audit trail intact: {report.rows_checked} rows")
    else:
        print(f"audit trail BROKEN at row {report.first_broken_seq}: {report.reason}")
    for problem in clinic.problems:
        print(f"BROKEN: {problem}")
    if clinic.signed_checked and not any("signed procedure" in p for p in clinic.problems):
        print(f"signed procedures: {clinic.signed_checked} match their signatures")
    return EXIT_OK if clinic.ok and report.macs_checked else EXIT_ERROR


def run_show(args: argparse.Namespace) -> int:
    if args.date_from and args.date_to and args.date_from > args.date_to:
        print("--from: must not be after --to", file=sys.stderr)
        return EXIT_BAD_INPUT
    try:
        # rescue: reading the trail must work on the read-only copy a clinic is trying to save
        with signed_in(args, rescue=True) as session:
            rows, mrns = session.services.audit_report.rows(args.mrn, args.date_from, args.date_to)
    except InvalidInput as error:
        for line in error.problems:
            print(line, file=sys.stderr)
        return EXIT_BAD_INPUT
    except (DomainError, StorageError) as error:
        print(f"tpi-chart audit show: {error}", file=sys.stderr)
        return EXIT_ERROR
    print(format_table(rows, mrns))
    return EXIT_OK


HEADERS = ("TIME (UTC)", "USER", "ACTION", "ENTITY", "MRN", "CHANGES")


def format_table(rows: Sequence[AuditRow], mrns: dict[int, str]) -> str:
    lines = [
        (
            _time(row.at),
            row.user,
            row.action,
            row.entity if row.entity_id is None else f"{row.entity} {row.entity_id}",
            mrns.get(row.patient_id, "") if row.patient_id is not None else "",
            summarise(decode(row.before), decode(row.after)),
        )
        for row in rows
    ]
    widths = [max([len(h)] + [len(line[i]) for line in lines]) for i, h in enumerate(HEADERS)]
    out = ["  ".join(h.ljust(w) for h, w in zip(HEADERS, widths, strict=True)).rstrip()]
    out += [
        "  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)).rstrip() for line in lines
    ]
    out.append(f"({len(lines)} row{'s' if len(lines) != 1 else ''})")
    return "\n".join(out)


def _time(text: str) -> str:
    try:
        return datetime.fromisoformat(text).strftime("%Y-%m-%d %H:%M:%S")
    except ValueError:
        return text


def _short(value: Any) -> str:
    if isinstance(value, dict):
        text = "{…}"
    elif isinstance(value, list):
        text = f"[{len(value)} item{'s' if len(value) != 1 else ''}]"
    elif value is None:
        text = "—"
    else:
        text = str(value)
    return text if len(text) <= 24 else text[:23] + "…"


def summarise(before: Any, after: Any) -> str:
    """'volume_ml 1.5→1.0; twitch none→brisk' for an update; the fields set for a creation."""
    parts: list[str] = []
    if isinstance(before, dict) and isinstance(after, dict):
        for key in sorted(set(before) | set(after)):
            if key in _HIDDEN:
                parts.append(f"{key} changed")
            elif before.get(key) != after.get(key):
                parts.append(f"{key} {_short(before.get(key))}→{_short(after.get(key))}")
    elif isinstance(after, dict):
        for key in sorted(after):
            parts.append(f"{key} changed" if key in _HIDDEN else f"{key}={_short(after[key])}")
    elif after is not None:
        parts.append(_short(after))
    text = "; ".join(parts)
    return text if len(text) <= SUMMARY_WIDTH else text[: SUMMARY_WIDTH - 1] + "…"

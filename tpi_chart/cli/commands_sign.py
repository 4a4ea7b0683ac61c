"""`tpi-chart --as U sign --procedure ID [--ack CODE=REASON]... [--clock-ok]` and
`tpi-chart --as U addendum --procedure ID --text TEXT` (product.md §7, version 2).

Both go through the window's `SigningService`, for the physician signed in with `--as`.
Exit codes: 0 signed; 2 bad input (no `--as` or a wrong password; an open warning without an
`--ack`, one line each naming it; an `--ack` that is not CODE=REASON or names no open warning);
1 refused (not a physician, already signed, required items missing, signed before the procedure,
the clock went backwards without `--clock-ok`).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from tpi_chart.cli.auth import Session, signed_in
from tpi_chart.cli.commands_data import _guarded
from tpi_chart.domain.errors import DomainError, InvalidInput
from tpi_chart.services.signing import NotReadyToSign, StoredProcedureLike, format_time
from tpi_chart.services.timing import ClockWentBackwards

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_BAD_INPUT = 2


def register(subparsers: Any) -> None:
    sign = subparsers.add_parser(
        "sign",
        help="sign a procedure note (physicians; one --ack per open warning)",
        description="Sign a procedure as the physician given with --as. Each open rule warning "
        "needs a reason: --ack CODE=REASON, once per warning. The signing time is this "
        "computer's clock.",
    )
    sign.add_argument("--procedure", type=int, required=True, metavar="ID")
    sign.add_argument(
        "--ack",
        dest="acks",
        action="append",
        default=[],
        metavar="CODE=REASON",
        help="the reason an open warning is accepted; repeat for each warning",
    )
    _clock_ok(sign)
    sign.set_defaults(handler=run_sign)

    addendum = subparsers.add_parser(
        "addendum",
        help="add an addendum to a signed note (physicians)",
        description="Append a correction or late entry to a signed note; the note stays as signed.",
    )
    addendum.add_argument("--procedure", type=int, required=True, metavar="ID")
    addendum.add_argument("--text", required=True, metavar="TEXT")
    _clock_ok(addendum)
    addendum.set_defaults(handler=run_addendum)


def _clock_ok(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--clock-ok",
        action="store_true",
        help="this computer's clock is right although it is behind the last recorded event",
    )


def parse_acks(values: Sequence[str]) -> dict[str, str]:
    """`CODE=REASON` pairs as a mapping; InvalidInput naming each malformed or repeated one."""
    acks: dict[str, str] = {}
    problems: list[str] = []
    for value in values:
        code, sep, reason = value.partition("=")
        code, reason = code.strip(), reason.strip()
        if not sep or not code or not reason:
            problems.append(f"--ack: {value!r} is not CODE=REASON (e.g. --ack DOSE_HIGH='…')")
        elif code in acks:
            problems.append(f"--ack: {code} is given twice; give one reason per warning")
        else:
            acks[code] = reason
    if problems:
        raise InvalidInput(problems)
    return acks


def sign(
    session: Session, procedure_id: int, acks: Mapping[str, str], *, confirm_clock: bool
) -> StoredProcedureLike:
    """The one place the command line signs (the window signs through the same service)."""
    return session.services.signing.sign(
        procedure_id, session.user, acks, confirm_clock=confirm_clock
    )


def run_sign(args: argparse.Namespace) -> int:
    def run() -> int:
        acks = parse_acks(args.acks)
        with signed_in(args) as session:
            readiness = session.services.signing.readiness(args.procedure)
            open_codes = readiness.codes_to_acknowledge
            unknown = [code for code in acks if code not in open_codes]
            if unknown and not readiness.signed:
                listed = ", ".join(open_codes) or "none"
                raise InvalidInput(
                    [f"--ack: {code} is not an open warning (open: {listed})" for code in unknown]
                )
            try:
                stored = sign(session, args.procedure, acks, confirm_clock=args.clock_ok)
            except NotReadyToSign as refused:
                if refused.missing:
                    raise
                messages: dict[str, str] = {w.code: w.message for w in readiness.warnings}
                raise InvalidInput(
                    [
                        f"--ack: warning {code} needs a reason (--ack {code}=REASON): "
                        f"{messages.get(code, '')}".rstrip(": ")
                        for code in refused.unacknowledged
                    ]
                ) from refused
            signature = stored.procedure.signature
            assert signature is not None
            print(
                f"procedure {stored.id} signed by {signature.signed_by} at "
                f"{format_time(signature.signed_at)}"
            )
            _file_notes(session)
        return EXIT_OK

    return _clock_guarded(run)


def run_addendum(args: argparse.Namespace) -> int:
    def run() -> int:
        with signed_in(args) as session:
            stored = session.services.signing.add_addendum(
                args.procedure, session.user, args.text, confirm_clock=args.clock_ok
            )
            print(f"addendum {len(stored.procedure.addenda)} added to procedure {stored.id}")
            _file_notes(session)
        return EXIT_OK

    return _clock_guarded(run)


def _file_notes(session: Session) -> None:
    """File what signing queued (the note's files in the clinic's export folder), as the
    window does right after signing; what cannot be written stays in the outbox, and the
    person who signed is told so rather than left to assume the note was filed."""
    result = session.services.interop.send_pending()
    folder = session.services.settings.export_folder()
    if result.sent:
        formats = "format" if result.sent == 1 else "formats"
        print(f"filed in {folder} ({result.sent} {formats})")
    for problem in result.failed:
        print(
            f"not filed yet: {problem}; it waits in the outbox (tpi-chart outbox --retry)",
            file=sys.stderr,
        )


def _clock_guarded(run: Callable[[], int]) -> int:
    """`_guarded`, with the way past a clock that went backwards named."""

    def checked() -> int:
        try:
            return run()
        except ClockWentBackwards as error:
            raise DomainError(
                f"{error} If it is right, run the command again with --clock-ok."
            ) from error

    return _guarded(checked)

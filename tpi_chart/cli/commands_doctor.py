"""`tpi-chart doctor`: every check the app makes of this machine, and its result.

Exit 0 when nothing needs attention, 1 otherwise. The Qt checks come from the window's side
(`args.qt_checks`, set by the composition root, `tpi_chart.app`).
"""

from __future__ import annotations

import argparse
from typing import Any

from tpi_chart.services.doctor import format_checks, needs_attention, run_checks

EXIT_OK = 0
EXIT_ATTENTION = 1


def register(subparsers: Any) -> None:
    doctor = subparsers.add_parser(
        "doctor",
        help="check this computer: versions, libraries, folders, database, encryption, backups",
        description="Print every check TPI Chart makes and its result; exit 1 when something "
        "needs attention.",
    )
    doctor.add_argument(
        "--window",
        action="store_true",
        help="also open the main window on a scratch database (nothing of yours is touched), "
        "then close it",
    )
    doctor.set_defaults(handler=run_doctor)


def run_doctor(args: argparse.Namespace) -> int:
    extra = getattr(args, "qt_checks", ())
    checks = run_checks(getattr(args, "db", None), extra)
    for line in format_checks(checks):
        print(line)
    if needs_attention(checks):
        print("Something needs attention (ATTENTION above).")
        return EXIT_ATTENTION
    return EXIT_OK

"""`tpi-chart --as ADMIN ca export --out clinic-ca.pem`: the clinic's trust root (its root
certificate and a revocation list it signed), for a records office or a payer to validate this
clinic's notes (issue 10 item 1). An administrator signs in with `--as`; that sign-in unlocks the
signing authority, whose key signs the revocation list."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from tpi_chart.cli.auth import signed_in
from tpi_chart.cli.commands_data import _guarded
from tpi_chart.services.documents import write_atomically

EXIT_OK = 0


def register(subparsers: Any) -> None:
    ca = subparsers.add_parser(
        "ca",
        help="the clinic's signing authority: export its trust root",
        description="Export the clinic's root certificate and revocation list (administrators).",
    )
    commands = ca.add_subparsers(dest="ca_command", metavar="ACTION", required=True)
    export = commands.add_parser(
        "export",
        help="write clinic-ca.pem: the root certificate and the signed revocation list",
        description="Write the trust root a records office or payer installs to validate this "
        "clinic's signed notes (tpi-chart verify --trust FILE, or a PDF reader).",
    )
    export.add_argument("--out", type=Path, required=True, metavar="FILE.pem")
    export.set_defaults(handler=run_export)


def run_export(args: argparse.Namespace) -> int:
    def run() -> int:
        with signed_in(args) as session:
            pem = session.services.authority.export_trust(session.user)
            write_atomically(args.out, pem)
        print(args.out)
        return EXIT_OK

    return _guarded(run)

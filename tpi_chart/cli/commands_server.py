"""`tpi-chart server init --owner-url postgresql://OWNER@HOST/DATABASE --app-role ROLE`: the
clinic's IT creates (or, after an update of TPI Chart, upgrades) the clinic's tables on the
server as the role that owns them, and lets the workstations' role change rows only
(docs/deployment.md). The owner's password comes from libpq (~/.pgpass, PGPASSFILE), never from
the command line."""

from __future__ import annotations

import argparse
from typing import Any

from tpi_chart.cli.commands_data import _guarded
from tpi_chart.services.server import init_server

EXIT_OK = 0


def register(subparsers: Any) -> None:
    server = subparsers.add_parser(
        "server",
        help="a clinic on a PostgreSQL server: create or upgrade its tables (IT)",
        description="Set up the clinic database on a PostgreSQL server (docs/deployment.md).",
    )
    commands = server.add_subparsers(dest="server_command", metavar="ACTION", required=True)
    init = commands.add_parser(
        "init",
        help="create or upgrade the tables as their owner; the app role may change rows only",
        description="Create or upgrade the clinic's tables, connected as the role that owns "
        "them, and give the role the workstations connect as the right to read and change rows "
        "only (never to alter or drop tables and triggers).",
    )
    init.add_argument("--owner-url", required=True, metavar="postgresql://OWNER@HOST/DATABASE")
    init.add_argument("--app-role", required=True, metavar="ROLE")
    init.set_defaults(handler=run_init)


def run_init(args: argparse.Namespace) -> int:
    def run() -> int:
        report = init_server(args.owner_url, args.app_role)
        print(
            f"clinic database {report.database}: schema {report.schema_version}, tables owned "
            f"by {report.owner}; {report.app_role} may read and change rows only (the "
            f"workstations connect as {report.app_role})"
        )
        return EXIT_OK

    return _guarded(run)

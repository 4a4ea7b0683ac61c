"""`tpi-chart catalog check`: check the clinic folder and say what it changes in the catalog.

Exit 0 with the changes on stdout (none when there is no clinic folder); exit 2 when a file in
the folder is bad, one line per problem on stderr naming the file and the field.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from tpi_chart.domain.errors import InvalidInput
from tpi_chart.services.clinic import clinic_catalog
from tpi_chart.services.paths import CLINIC_DIR_ENV, clinic_dir, describe_missing_clinic_dir

EXIT_OK = 0
EXIT_BAD_INPUT = 2


def register(subparsers: Any) -> None:
    catalog = subparsers.add_parser(
        "catalog",
        help="the clinic's own payer profiles and maxima",
        description="The clinic folder adds payer profiles (payers/*.json) and tightens maxima "
        f"(formulary.json) on top of the shipped catalog. Its place: ${CLINIC_DIR_ENV}, else the "
        "per-user config folder's clinic/, else the machine-wide one.",
    )
    commands = catalog.add_subparsers(dest="catalog_command", metavar="COMMAND", required=True)
    check = commands.add_parser(
        "check", help="check the clinic folder and print what it changes in the catalog"
    )
    check.add_argument(
        "--folder", type=Path, metavar="DIR", help="check this folder instead of the one in force"
    )
    check.set_defaults(handler=run_catalog_check)


def run_catalog_check(args: argparse.Namespace) -> int:
    folder: Path = args.folder.expanduser().absolute() if args.folder else clinic_dir()
    if not folder.is_dir():
        where = f"{folder} does not exist" if args.folder else describe_missing_clinic_dir(folder)
        print(f"clinic folder: {where}; the shipped catalog is used as it is")
        return EXIT_OK
    try:
        clinic = clinic_catalog(folder)
    except InvalidInput as error:
        print(
            f"tpi-chart: the clinic folder {folder} has {len(error.problems)} problem(s); "
            "TPI Chart uses none of it until they are fixed:",
            file=sys.stderr,
        )
        for line in error.problems:
            print(f"{folder / line}", file=sys.stderr)
        return EXIT_BAD_INPUT
    print(f"clinic folder: {folder}")
    if not clinic.changes:
        print("  no changes: the shipped catalog is used as it is")
    for change in clinic.changes:
        print(f"  {change}")
    return EXIT_OK

"""`tpi-chart check FILE.json`: evaluate a procedure document with the rules; no database.

Prints the evaluation (product.md §6) as JSON on stdout and exits 0. Bad input exits 2 with one
line per problem on stderr, each naming the field (or the file). A document whose signature's
content hash does not match its content is evaluated too, with a warning naming the field on
stderr and exit 1: never a silent success for a changed signed document.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from tpi_chart.domain.canonical import content_hash
from tpi_chart.domain.catalog import Catalog, load_catalog
from tpi_chart.domain.localdates import zone_named
from tpi_chart.domain.models import ProcedureDocument
from tpi_chart.domain.parsing import read_document_file
from tpi_chart.domain.rules import evaluate

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_BAD_INPUT = 2


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "check",
        help="evaluate a procedure document; JSON result on stdout",
        description=(
            "Evaluate a tpi-chart.procedure/1 document: muscle count, CPT and HCPCS codes, dose "
            "totals, percent of the maximum local anesthetic dose and warnings, as JSON."
        ),
    )
    parser.add_argument("file", metavar="FILE.json", help="procedure document")
    parser.add_argument(
        "--timezone",
        metavar="ZONE",
        help="the clinic's IANA time zone for day counts (default: this machine's)",
    )
    parser.set_defaults(handler=run_check)


def load_document(path: Path, catalog: Catalog | None = None) -> ProcedureDocument | list[str]:
    """The parsed document, or the problems (one line each) that make it bad input."""
    document, problems = read_document_file(path, catalog=catalog)
    return problems if document is None else document


def run_check(args: argparse.Namespace) -> int:
    zone = None
    if args.timezone is not None:
        try:
            zone = zone_named(args.timezone)
        except ValueError as error:
            print(f"--timezone: {error}", file=sys.stderr)
            return EXIT_BAD_INPUT
    # The clinic's catalog, put on `args` by the entry point (tpi_chart.app).
    catalog: Catalog = getattr(args, "catalog", None) or load_catalog()
    loaded = load_document(Path(args.file), catalog)
    if isinstance(loaded, list):
        for line in loaded:
            print(line, file=sys.stderr)
        return EXIT_BAD_INPUT
    result = evaluate(loaded, catalog=catalog, zone=zone).model_dump(mode="json")
    sys.stdout.write(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    signature = loaded.procedure.signature
    if signature is not None and signature.content_hash != content_hash(loaded):
        print(
            "warning: procedure.signature.content_hash: does not match the document's content "
            "(the signed content was changed after signing)",
            file=sys.stderr,
        )
        return EXIT_ERROR
    return EXIT_OK

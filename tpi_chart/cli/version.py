"""`tpi-chart --version`: the version, the database schema version and the catalog versions."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import Any

from tpi_chart import __version__


def version_text() -> str:
    # Imported here: every command builds the parser with this option, and these pulled the
    # whole storage layer into commands that never open a database (`check`).
    from tpi_chart.domain.catalog import catalog_versions
    from tpi_chart.domain.errors import InvalidInput
    from tpi_chart.services.clinic import clinic_catalog
    from tpi_chart.services.integrity import SCHEMA_VERSION
    from tpi_chart.services.paths import clinic_dir, describe_missing_clinic_dir

    lines = [f"tpi-chart {__version__}", f"database schema version {SCHEMA_VERSION}"]
    lines.append("catalog (shipped; file and content digest):")
    lines += [f"  {name} {digest}" for name, digest in catalog_versions().items()]
    folder = clinic_dir()
    if not folder.is_dir():
        lines.append(f"clinic folder: {describe_missing_clinic_dir(folder)}")
    else:
        try:
            changes = clinic_catalog(folder).changes
        except InvalidInput as error:
            lines.append(
                f"clinic folder: {folder}: {len(error.problems)} problem(s); "
                "run `tpi-chart catalog check`"
            )
        else:
            lines.append(f"clinic folder: {folder}: {len(changes)} change(s)")
    return "\n".join(lines) + "\n"


class VersionAction(argparse.Action):
    def __init__(self, option_strings: Sequence[str], dest: str = argparse.SUPPRESS, **_: Any):
        super().__init__(
            option_strings,
            dest=dest,
            default=argparse.SUPPRESS,
            nargs=0,
            help="print the version, the database schema version and the catalog versions",
        )

    def __call__(self, parser: argparse.ArgumentParser, *_: Any) -> None:
        print(version_text(), end="")
        parser.exit()

"""Writing a PDF from the window without freezing it: the export is read and checked on the GUI
thread (the database's), drawn on the worker thread (`ui.tasks`: domain objects in, bytes out),
then written and audited back on the GUI thread."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from tpi_chart.ui.plain_errors import KNOWN_FILE_ERRORS
from tpi_chart.ui.tasks import tasks

if TYPE_CHECKING:
    # Annotations only: the notes service brings reportlab and the signing stack (pyHanko,
    # aiohttp), which the window does not need until a note is exported.
    from tpi_chart.services.notes import ExportedNote, PreparedExport

WRITING = "Writing the PDF…"


def export_pdf(
    prepare: Callable[[], PreparedExport],
    write: Callable[[PreparedExport, dict[Path, bytes]], ExportedNote],
    *,
    done: Callable[[Path], None],
    failed: Callable[[str], None],
) -> None:
    """`prepare()` now, its `render()` on the worker, then `write(...)`; `done(pdf path)` or
    `failed(why)` on the GUI thread."""
    try:
        prepared = prepare()
    except KNOWN_FILE_ERRORS as error:
        failed(str(error))
        return

    def written(files: dict[Path, bytes]) -> None:
        try:
            exported = write(prepared, files)
        except KNOWN_FILE_ERRORS as error:  # a full disk, an unwritable folder
            failed(str(error))
            return
        done(exported.pdf)

    tasks().run(prepared.render, written, label=WRITING)

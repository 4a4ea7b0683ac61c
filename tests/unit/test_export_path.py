"""Issue 15: `tpi-chart export --procedure ID --out FILE.pdf` loads only what a note needs. A real
process on a demo clinic, checked by the modules it ends with, never by timing."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli_support import PASSWORD, add_accounts, signed_services
from tests.unit.auth_support import reference_document
from tests.unit.test_pades_signing import ACKS
from tpi_chart.services.context import open_services

#: Modules a plain note export must not load: the aftercare handout; the demo clinic's records;
#: pyHanko (verifying and signing, with its network stack); xml.sax.saxutils, which brings
#: urllib.request, http.client and ssl (the note's markup escapes with html.escape).
NOT_NEEDED = (
    "tpi_chart.pdf.handout",
    "tpi_chart.services.demo",
    "tpi_chart.pdf.verify",
    "pyhanko",
    "xml.sax.saxutils",
    "urllib.request",
    "http.client",
    "ssl",
)

SCRIPT = """
import sys
from tpi_chart.app import main
code = main(sys.argv[2:])
print(code, sorted(name for name in sys.argv[1].split(",") if name in sys.modules))
"""


def _export(db: Path, procedure_id: int, out: Path, user: str, watched: tuple[str, ...]) -> str:
    """`tpi-chart export` in a process of its own: its exit code and which of `watched` it
    loaded, as one line ("0 []")."""
    export = ["export", "--procedure", str(procedure_id), "--out", str(out)]
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, ",".join(watched), "--db", str(db), "--as", user, *export],
        input=PASSWORD + "\n",
        capture_output=True,
        text=True,
        check=False,
    )
    *_, last = done.stdout.strip().splitlines() or [""]
    assert last.startswith("0 "), done.stderr[-2000:]
    return last


def test_a_note_export_does_not_load_the_handout_or_the_network_stack(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TPI_CHART_KEY_DIR", str(tmp_path / "keys"))
    db = tmp_path / "clinic.db"
    with open_services(db, None, seed_demo_if_new=True):
        pass
    add_accounts(db)
    out = tmp_path / "note.pdf"
    assert _export(db, 1, out, "admin", NOT_NEEDED) == "0 []"
    assert out.read_bytes().startswith(b"%PDF")


LAYOUT = ("reportlab.platypus", "tpi_chart.pdf.note.renderer", "tpi_chart.pdf.note.base")


def test_a_signed_note_is_exported_as_signed_without_loading_the_page_layout(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A signed note is never drawn again: its export writes the stored signed bytes, and does
    not pay for reportlab's page layout (a draft's export, drawn, does)."""
    monkeypatch.setenv("TPI_CHART_KEY_DIR", str(tmp_path / "keys"))
    db = tmp_path / "clinic.db"
    with open_services(db, None):
        pass
    add_accounts(db)
    with signed_services(db, "chen") as services:
        document = reference_document()
        patient = services.patients.create(document.patient)
        draft = services.charting.create(patient.id, document.procedure).id
        signed = services.charting.create(patient.id, document.procedure).id
        services.signing.sign(signed, services.user, ACKS)
        stored = services.notes.render(signed)

    out = tmp_path / "signed.pdf"
    assert _export(db, signed, out, "chen", LAYOUT) == "0 []"
    assert out.read_bytes() == stored

    drawn = tmp_path / "draft.pdf"
    assert _export(db, draft, drawn, "chen", LAYOUT) == f"0 {sorted(LAYOUT)}"
    assert drawn.read_bytes().startswith(b"%PDF")


def test_markup_escapes_as_xml_sax_saxutils_did() -> None:
    from xml.sax.saxutils import escape

    from tpi_chart.pdf.fonts import markup

    for text in ("a & b < c > d \"e\" 'f'", "&amp; <b>bold</b>", "Ødegård 0.5 mL", ""):
        assert markup(text) == escape(text)

"""NoteService and the note commands end to end: import, export (single, batch), verify."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli_support import Keyboard, add_accounts, sign_in, unlocked
from tests.engines import database
from tests.users import staff
from tpi_chart.cli.main import main
from tpi_chart.domain.models import ProcedureDocument
from tpi_chart.services.context import open_services

REASONS = {"ptx_risk_site": "discussed", "multi_region": "clinically indicated"}


@pytest.fixture
def db(
    engine: str, tmp_path: Path, examples_dir: Path, request: pytest.FixtureRequest
) -> tuple[Path | str, int, int]:
    """A database with the reference visit twice: signed here by a physician, and a later
    unsigned draft (import never signs: the signed one is signed through the service)."""
    reference = ProcedureDocument.model_validate(
        json.loads((examples_dir / "reference-visit.json").read_text(encoding="utf-8"))
    )
    signed_file = tmp_path / "signed.json"
    signed_file.write_text(json.dumps(reference.to_json_dict()), encoding="utf-8")
    draft = reference.to_json_dict()
    draft["procedure"]["performed_at"] = "2026-12-20T09:30:00-07:00"
    draft_file = tmp_path / "draft.json"
    draft_file.write_text(json.dumps(draft), encoding="utf-8")
    path = database(engine, tmp_path, request)
    add_accounts(path)
    with open_services(path) as opened:
        sign_in(opened, "admin").settings.set_clinic_name("Riverside Pain & Spine Clinic")
        chen = sign_in(opened, "chen")
        signed_id, draft_id = chen.documents.import_documents([signed_file, draft_file])
        chen.signing.sign(signed_id, chen.user, REASONS)
    return path, signed_id, draft_id


def test_export_names_drafts_and_writes_json_beside(
    db: tuple[Path | str, int, int], tmp_path: Path
) -> None:
    path, signed_id, draft_id = db
    out = tmp_path / "export"
    with unlocked(open_services(path, staff("tester"))) as services:
        notes = services.notes
        final = notes.export(signed_id, out)
        draft = notes.export(draft_id, out)
        again = notes.render(signed_id)
        assert notes.verify(final.read_bytes()).ok
        assert str(notes.verify(draft.read_bytes())).startswith("mismatch: unsigned draft")
    assert final.name == f"D1001_2026-11-20_{signed_id}.pdf"
    assert draft.name == f"D1001_2026-12-20_{draft_id}_DRAFT.pdf"
    assert final.with_suffix(".json").is_file()
    assert final.read_bytes() == again


def test_cli_export_verify_and_batch(
    db: tuple[Path | str, int, int],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    keyboard: Keyboard,
) -> None:
    path, signed_id, _ = db
    note = tmp_path / "note.pdf"
    export = ["--db", str(path), "--as", "rivera", "export", "--procedure", str(signed_id)]
    assert main([*export, "--out", str(note)]) == 0
    capsys.readouterr()
    assert main(["--db", str(path), "verify", str(note)]) == 0
    printed = capsys.readouterr().out.splitlines()
    assert printed[0] == "match"
    assert printed[1].startswith("  note: signed by Dr. Alex Chen, MD at ")

    tampered = tmp_path / "tampered.pdf"
    tampered.write_bytes(note.read_bytes() + b"%x\n")
    assert main(["--db", str(path), "verify", str(tampered)]) == 1
    assert capsys.readouterr().out.startswith("mismatch: ")

    # Without a clinic database or a trust file there is nothing to trust: bad input, not a match.
    assert main(["--db", str(tmp_path / "none.db"), "verify", str(note)]) == 2
    assert "--trust" in capsys.readouterr().err
    assert not (tmp_path / "none.db").exists()

    assert main(["verify", str(tmp_path / "missing.pdf")]) == 2
    assert "missing.pdf: no such file" in capsys.readouterr().err

    folder = tmp_path / "batch"
    code = main(
        [
            "--db",
            str(path),
            "--as",
            "chen",
            "export",
            "--from",
            "2026-01-01",
            "--to",
            "2026-12-31",
            "--dir",
            str(folder),
        ]
    )
    assert code == 0
    printed = capsys.readouterr().out.split()
    assert printed == [str(folder / f"D1001_2026-11-20_{signed_id}.pdf")]
    assert (
        main(["--db", str(path), "--as", "chen", "export", "--from", "2026-13", "--dir", "d"]) == 2
    )


def test_every_export_is_audited_with_the_hash_of_each_file(
    db: tuple[Path | str, int, int], tmp_path: Path
) -> None:
    import hashlib

    path, signed_id, _draft_id = db
    out = tmp_path / "export"
    with unlocked(open_services(path, staff("tester"))) as services:
        note = services.notes.export(signed_id, out)
        handout = services.notes.export_handout(signed_id, out)
        exports = [row for row in services.store.audit.rows() if row.action == "export"]
    assert [row.procedure_id for row in exports] == [signed_id, signed_id]
    note_files = json.loads(exports[0].after or "{}")["files"]
    assert note_files == {
        str(note): hashlib.sha256(note.read_bytes()).hexdigest(),
        str(note.with_suffix(".json")): hashlib.sha256(
            note.with_suffix(".json").read_bytes()
        ).hexdigest(),
    }
    handout_files = json.loads(exports[1].after or "{}")["files"]
    assert handout_files == {str(handout): hashlib.sha256(handout.read_bytes()).hexdigest()}

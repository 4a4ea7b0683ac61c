"""PHI leakage (reliability §5.7, S10): after a full GUI-free workflow a synthetic patient's name
and MRN appear only in the places meant to hold them: the database (and its WAL), the backup, the
exports and the document that was imported. Never in log records, command output other than what
was asked for, temporary files, the audit key folder, or the note PDF's metadata (which has the
MRN, as the note's file name has, but not the name)."""

from __future__ import annotations

import json
import logging
import re
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.cli_support import add_accounts, sign_in, typed_keyboard, unlocked
from tests.unit.auth_support import reference_document
from tests.users import staff
from tpi_chart.app import main
from tpi_chart.domain.models import Site
from tpi_chart.domain.users import User
from tpi_chart.services.context import open_services

FAMILY = "Zqxwvortensen"
GIVEN = "Philippaqu"
MRN = "PHI77Q123"
SECRETS = (FAMILY, GIVEN, MRN)
PHYSICIAN = User(username="chen", display_name="Dr. Alex Chen, MD", roles=frozenset({"physician"}))


def _hits(data: bytes) -> list[str]:
    found = []
    for secret in SECRETS:
        for encoding in ("utf-8", "utf-16-le", "utf-16-be"):
            if secret.encode(encoding).lower() in data.lower():
                found.append(f"{secret} ({encoding})")
    return found


def test_name_and_mrn_stay_in_the_database_backups_and_exports(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    temp = tmp_path / "tmp"
    temp.mkdir()
    monkeypatch.setenv("TMPDIR", str(temp))
    monkeypatch.setattr(tempfile, "tempdir", str(temp))
    monkeypatch.setenv("TPI_CHART_KEY_DIR", str(tmp_path / "keys"))
    caplog.set_level(logging.DEBUG)
    data_dir, exports, backups = tmp_path / "data", tmp_path / "exports", tmp_path / "backups"
    db = data_dir / "clinic.db"

    document = reference_document()
    patient = document.patient.model_copy(
        update={"family_name": FAMILY, "given_name": GIVEN, "mrn": MRN}
    )
    source = tmp_path / "visit.json"
    source.write_text(json.dumps(document.model_copy(update={"patient": patient}).to_json_dict()))

    # Command line: import, check, export, backup, audit verify.
    add_accounts(db)
    typed_keyboard(monkeypatch)
    assert main(["--db", str(db), "--as", "rivera", "import", str(source)]) == 0
    procedure_id = int(capsys.readouterr().out)
    assert main(["check", str(source)]) == 0
    draft = exports / "draft.json"
    export = ["export", "--procedure", str(procedure_id), "--out", str(draft)]
    assert main(["--db", str(db), "--as", "rivera", *export]) == 0
    assert main(["--db", str(db), "--as", "rivera", "audit", "verify"]) == 0
    # A refused import names the field, not the patient.
    bad = tmp_path / "bad.json"
    bad.write_text(source.read_text().replace('"sex": "female"', '"sex": "F"'))
    assert main(["--db", str(db), "--as", "rivera", "import", str(bad)]) == 2
    command_output = capsys.readouterr()

    # Services: chart, sign, amend, export the note and handout, back up, reopen.
    opened = open_services(db, staff("ma.rivera", name="Dr. Alex Chen, MD"))
    with unlocked(opened) as services:
        services.charting.add_site(
            procedure_id, Site(muscle="levator_scapulae", side="left", state="planned")
        )
        (site_id,) = services.charting.get(procedure_id).site_ids[-1:]
        services.charting.remove_site(site_id)
        readiness = services.signing.readiness(procedure_id)
        acks = dict.fromkeys(readiness.codes_to_acknowledge, "accepted")
        physician = sign_in(services, "chen")
        assert physician.user.display_name == PHYSICIAN.display_name
        physician.signing.sign(procedure_id, physician.user, acks)
        physician.signing.add_addendum(procedure_id, physician.user, "Patient called: doing well.")
        note = services.notes.export(procedure_id, exports)
        services.notes.export_handout(procedure_id, exports)
        services.documents.export_json(procedure_id, exports / "signed.json")
        services.backups.backup(backups / "clinic-backup.db")
        services.patients.search(FAMILY[:5])
        services.charting.copy_forward(services.patients.by_mrn(MRN).id, datetime.now(UTC))  # type: ignore[union-attr]
    assert main(["--db", str(db), "--as", "admin", "backup", "--out", str(backups / "sec.db")]) == 0
    assert _hits((backups / "sec.db").read_bytes()) == []  # encrypted: no PHI in clear
    command_output_2 = capsys.readouterr()

    # What was asked for may show the patient; nothing else may.
    assert _hits(caplog.text.encode()) == [], caplog.text
    assert _hits(command_output.err.encode()) == [], command_output.err
    assert _hits(command_output_2.out.encode() + command_output_2.err.encode()) == []

    allowed = {source, bad}
    allowed_folders = (data_dir, exports, backups)
    leaks = {}
    for root in (tmp_path, Path.home()):
        for path in root.rglob("*"):
            if not path.is_file() or path in allowed:
                continue
            if any(folder in path.parents for folder in allowed_folders):
                continue
            found = _hits(path.read_bytes())
            if found:
                leaks[str(path)] = found
    assert leaks == {}
    assert list(temp.iterdir()) == []  # no temporary file left behind either
    assert not list(data_dir.glob(".*.tmp"))
    assert not list(exports.glob(".*.tmp"))

    # The note PDF's document information (shown by file browsers and search indexes) carries
    # the MRN by design, as the file name does (`MRN_date_id.pdf`), but never the name.
    info = re.findall(
        rb"/(Title|Subject|Author|Keywords|Creator|Producer) \((.*?)\)", note.read_bytes()
    )
    assert info, "the note has no readable document information"
    metadata = b" ".join(value for _, value in info)
    assert MRN.encode() in metadata
    assert [hit for hit in _hits(metadata) if not hit.startswith(MRN)] == [], info

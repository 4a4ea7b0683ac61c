"""Issue 11, "Right patient, nothing silently lost": each scenario the issue lists, as a test.

Wrong-patient import refused, allergy never erased, stale save refused (two service instances
on one file), double import idempotent, duplicate keys refused, zero-byte and WAL-loss detected
and refused with a plain message, payload corruption and signed-content edits reported by
`audit verify` without a traceback, and `audit verify` changes nothing it checks.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from pathlib import Path

import pytest

from tests.cli_support import Keyboard, add_accounts, sign_in, signed_services
from tests.tampering import edit_a_signed_site
from tests.users import staff
from tpi_chart.cli.main import main
from tpi_chart.domain.models import Site
from tpi_chart.services.context import Services, open_services
from tpi_chart.services.errors import StaleEdit
from tpi_chart.storage.errors import DataLoss

REFERENCE = Path(__file__).parents[1] / "examples" / "reference-visit.json"
SIGNED_IN = frozenset({"import", "export"})  # the commands here that need `--as`


@pytest.fixture(autouse=True)
def _typed_password(keyboard: Keyboard) -> Keyboard:
    return keyboard


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """The command, signed in as the assistant where it needs a sign-in (`--db` comes first)."""
    args = list(argv)
    if SIGNED_IN & set(args) and "--as" not in args:
        db = Path(args[args.index("--db") + 1])
        add_accounts(db)
        args[2:2] = ["--as", "rivera"]
    code = main(args)
    out, err = capsys.readouterr()
    return code, out, err


def reference() -> dict:  # type: ignore[type-arg]
    return json.loads(REFERENCE.read_text())


def write(path: Path, data: dict) -> Path:  # type: ignore[type-arg]
    path.write_text(json.dumps(data))
    return path


@pytest.fixture
def db(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    path = tmp_path / "clinic.db"
    first = reference()
    first["patient"]["allergies"] = ["lidocaine"]
    code, _, err = run(capsys, "--db", str(path), "import", str(write(tmp_path / "a.json", first)))
    assert code == 0, err
    return path


def rows(db: Path, sql: str) -> list[tuple[object, ...]]:
    conn = sqlite3.connect(db)
    try:
        return list(conn.execute(sql))
    finally:
        conn.close()


# ---- 1. patient identity ---------------------------------------------------------------------


def test_a_document_for_another_person_with_a_known_mrn_is_refused(
    db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    other = reference()
    other["patient"].update(
        family_name="Smith", given_name="John", birth_date="1960-01-01", weight_kg=100
    )
    before = rows(db, "SELECT data FROM patients"), rows(db, "SELECT count(*) FROM procedures")
    code, out, err = run(capsys, "--db", str(db), "import", str(write(tmp_path / "b.json", other)))
    assert code == 2
    lines = err.strip().splitlines()
    assert [line.split(":")[0] for line in lines] == ["patient.birth_date", "patient.family_name"]
    assert "1974" not in err
    assert "Lopez" not in err
    assert out == ""
    assert (rows(db, "SELECT data FROM patients"), rows(db, "SELECT count(*) FROM procedures")) == (
        before
    )


def test_the_family_name_matches_without_case_or_accents(
    db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    same = reference()
    same["patient"]["family_name"] = "LÓPEZ"
    same["procedure"]["performed_at"] = "2026-11-27T09:00:00-07:00"
    code, _out, err = run(capsys, "--db", str(db), "import", str(write(tmp_path / "c.json", same)))
    assert code == 0, err
    assert rows(db, "SELECT count(*) FROM patients") == [(1,)]
    assert json.loads(str(rows(db, "SELECT data FROM patients")[0][0]))["family_name"] == "Lopez"


def test_an_older_document_never_erases_an_allergy_and_new_ones_merge(
    db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    older = reference()
    older["patient"]["allergies"] = ["latex"]
    older["procedure"]["performed_at"] = "2026-10-01T09:00:00-07:00"
    code, _, err = run(capsys, "--db", str(db), "import", str(write(tmp_path / "old.json", older)))
    assert code == 0, err
    assert "allergies added from the document: latex" in err
    (data,) = rows(db, "SELECT data FROM patients")
    assert json.loads(str(data[0]))["allergies"] == ["lidocaine", "latex"]
    # Even with --update-patient an allergy is never removed by a document.
    older["procedure"]["performed_at"] = "2026-09-01T09:00:00-07:00"
    older["patient"]["allergies"] = []
    older["patient"]["weight_kg"] = 70
    path = write(tmp_path / "older.json", older)
    assert run(capsys, "--db", str(db), "import", "--update-patient", str(path))[0] == 0
    (data,) = rows(db, "SELECT data FROM patients")
    stored = json.loads(str(data[0]))
    assert stored["allergies"] == ["lidocaine", "latex"]
    assert stored["weight_kg"] == 70


def test_demographics_change_only_with_update_patient(
    db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    changed = reference()
    changed["patient"]["weight_kg"] = 99
    changed["procedure"]["performed_at"] = "2026-12-01T09:00:00-07:00"
    code, _, err = run(capsys, "--db", str(db), "import", str(write(tmp_path / "w.json", changed)))
    assert code == 0
    assert "patient.weight_kg" in err
    assert "--update-patient" in err
    (data,) = rows(db, "SELECT data FROM patients")
    assert json.loads(str(data[0]))["weight_kg"] != 99


@pytest.mark.parametrize("name", ["Lo\u202epez", "Lopez\u200f", "Lo\npez", "Lo\x00pez"])
def test_names_with_control_or_direction_characters_are_refused(
    db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str
) -> None:
    doc = reference()
    doc["patient"]["mrn"] = "Z9999"
    doc["patient"]["given_name"] = name
    code, _, err = run(capsys, "--db", str(db), "import", str(write(tmp_path / "n.json", doc)))
    assert code == 2
    assert err.startswith("patient.given_name:")
    assert "control or text-direction character" in err


# ---- 2. idempotent import, duplicate keys ------------------------------------------------------


def test_the_same_document_twice_stores_it_once(
    db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (first,) = rows(db, "SELECT id FROM procedures")
    audit_rows = rows(db, "SELECT count(*) FROM audit WHERE action != 'login'")
    again = reference()
    again["patient"]["allergies"] = ["lidocaine"]
    code, out, err = run(capsys, "--db", str(db), "import", str(write(tmp_path / "a.json", again)))
    assert code == 0
    assert out.strip() == str(first[0])
    assert "already imported" in err
    assert rows(db, "SELECT count(*) FROM procedures") == [(1,)]
    assert rows(db, "SELECT count(*) FROM audit WHERE action != 'login'") == audit_rows


def test_a_different_document_on_the_same_day_is_stored(
    db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    other = reference()
    other["procedure"]["pain_before"] = 2
    code, _out, _ = run(capsys, "--db", str(db), "import", str(write(tmp_path / "d.json", other)))
    assert code == 0
    assert rows(db, "SELECT count(*) FROM procedures") == [(2,)]


def test_a_duplicate_key_is_bad_input_naming_it(
    db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = REFERENCE.read_text().replace('"allergies": []', '"allergies": [], "allergies": []', 1)
    path = tmp_path / "dup.json"
    path.write_text(text)
    code, _, err = run(capsys, "--db", str(db), "import", str(path))
    assert code == 2
    assert err.startswith("patient.allergies: given twice")


# ---- 3. no lost updates ------------------------------------------------------------------------


def test_a_stale_patient_save_from_another_instance_is_refused(db: Path) -> None:
    with signed_services(db, "rivera") as one, signed_services(db, "chen") as two:
        mine = one.patients.by_mrn("D1001")
        theirs = two.patients.by_mrn("D1001")
        assert mine is not None
        assert theirs is not None
        two.patients.update(
            theirs.id,
            theirs.patient.model_copy(update={"allergies": ("lidocaine", "penicillin")}),
            base=theirs,
        )
        with pytest.raises(StaleEdit) as refused:
            one.patients.update(
                mine.id, mine.patient.model_copy(update={"weight_kg": 61.0}), base=mine
            )
        assert "patient.allergies" in str(refused.value)
        assert "Reload" in str(refused.value)
        stored = one.patients.get(mine.id)
        assert stored.patient.allergies == ("lidocaine", "penicillin")
        assert stored.patient.weight_kg == theirs.patient.weight_kg
        # After a reload the same change goes through.
        one.patients.update(
            mine.id, stored.patient.model_copy(update={"weight_kg": 61.0}), base=stored
        )


def test_stale_procedure_header_and_site_saves_are_refused(db: Path) -> None:
    with signed_services(db, "chen") as one, signed_services(db, "chen") as two:
        (procedure_id,) = [r[0] for r in rows(db, "SELECT id FROM procedures")]
        mine = one.charting.get(int(procedure_id))  # type: ignore[arg-type]
        theirs = two.charting.get(int(procedure_id))  # type: ignore[arg-type]
        two.charting.update(theirs.id, {"pain_before": 3}, base=theirs)
        with pytest.raises(StaleEdit, match=r"procedure\.pain_before"):
            one.charting.update(mine.id, {"pain_after": 1}, base=mine)
        site_mine = mine.stored_sites()[0]
        site_theirs = two.charting.get(theirs.id).stored_sites()[0]
        two.charting.update_site(
            site_theirs.id, site_theirs.site.model_copy(update={"volume_ml": 0.5}), site_theirs
        )
        edited: Site = site_mine.site.model_copy(update={"twitch": "brisk"})
        with pytest.raises(StaleEdit, match=r"site\.volume_ml"):
            one.charting.update_site(site_mine.id, edited, site_mine)
        assert one.charting.get(mine.id).procedure.sites[0].volume_ml == 0.5


# ---- 4. what SQLite cannot see ----------------------------------------------------------------


def test_a_database_truncated_to_zero_bytes_is_refused_and_not_seeded(
    db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db.with_name(db.name + "-wal").unlink(missing_ok=True)
    db.write_bytes(b"")
    with pytest.raises(DataLoss, match=r"is empty \(0 bytes\)"):
        open_services(db, staff("rivera"), seed_demo_if_new=True)
    assert db.stat().st_size == 0  # no demo clinic seeded into it
    code, out, err = run(capsys, "--db", str(db), "audit", "verify")
    assert code == 1
    assert "BROKEN" in out
    assert "Traceback" not in out + err
    assert db.stat().st_size == 0


def test_a_deleted_database_with_a_registry_entry_is_not_a_new_clinic(db: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        db.with_name(db.name + suffix).unlink(missing_ok=True)
    with pytest.raises(DataLoss, match="does not exist"):
        open_services(db, staff("rivera"), seed_demo_if_new=True)
    assert not db.exists()


def test_a_deleted_wal_refuses_the_next_save_and_the_next_open(db: Path) -> None:
    services = sign_in(open_services(db), "rivera")
    stored = services.patients.by_mrn("D1001")
    assert stored is not None
    services.patients.update(
        stored.id, stored.patient.model_copy(update={"weight_kg": 60.0}), base=stored
    )
    db.with_name(db.name + "-wal").unlink()
    current = services.patients.get(stored.id)
    with pytest.raises(DataLoss, match="write-ahead log"):
        services.patients.update(
            stored.id, current.patient.model_copy(update={"weight_kg": 61.0}), base=current
        )
    services.close()


CRASH_AFTER_WAL_DELETION = """
import os, sys
from pathlib import Path
from tests.cli_support import sign_in
from tpi_chart.services.context import open_services
db = Path(sys.argv[1])
services = sign_in(open_services(db), "rivera")
stored = services.patients.by_mrn("D1001")
services.patients.update(
    stored.id, stored.patient.model_copy(update={"weight_kg": 60.0}), base=stored
)
db.with_name(db.name + "-wal").unlink()
print("saved", flush=True)
os._exit(0)  # a crash or a power cut: the deleted WAL is never checkpointed
"""


def test_after_a_crash_with_a_deleted_wal_the_next_open_is_refused(db: Path) -> None:
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-c", CRASH_AFTER_WAL_DELETION, str(db)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.stdout.strip() == "saved", done.stderr
    with pytest.raises(DataLoss, match="lost changes") as refused:
        open_services(db, staff("rivera"))
    assert "-wal file was deleted" in str(refused.value)


def test_random_bytes_in_an_audit_row_are_reported_broken_without_a_traceback(
    db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    (page_size,) = conn.execute("PRAGMA page_size").fetchone()
    pages = [r[0] for r in conn.execute("SELECT pageno FROM dbstat WHERE name = 'audit'")]
    conn.close()
    data = bytearray(db.read_bytes())
    # Overwrite the text of one row's `after` JSON in place: the page stays a valid b-tree.
    # (The trail spans several pages: search the audit table's own.)
    for number in pages:
        start = (number - 1) * page_size
        at = bytes(data[start : start + page_size]).find(b'"family_name"')
        if at >= 0:
            break
    assert at > 0
    data[start + at : start + at + 13] = b"\xff\xfe" * 6 + b"\x00"
    db.write_bytes(bytes(data))
    assert rows(db, "PRAGMA integrity_check") == [("ok",)]
    code, out, err = run(capsys, "--db", str(db), "--as", "rivera", "audit", "verify")
    assert code == 1
    assert "audit trail BROKEN at row" in out
    assert "Traceback" not in out + err


def test_a_signed_site_edited_after_dropping_its_trigger_is_reported(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "clinic.db"
    assert run(capsys, "--db", str(db), "demo")[0] == 0
    procedure_id = edit_a_signed_site(db)
    code, out, err = run(capsys, "--db", str(db), "audit", "verify")
    assert code == 1
    assert "protection trigger sites_signed_no_update is missing" in out
    assert f"signed procedure {procedure_id}" in out
    assert "no longer matches" in out
    # Export refuses to put the signature on content nobody signed.
    code, _, err = run(
        capsys,
        "--db",
        str(db),
        "export",
        "--procedure",
        str(procedure_id),
        "--out",
        str(tmp_path / "signed.pdf"),
    )
    assert code == 1
    assert "no longer matches" in err
    assert not (tmp_path / "signed.pdf").exists()
    # At open, the incremental check finds it too and the commands say so.
    code, _, err = run(
        capsys, "--db", str(db), "export", "--procedure", "1", "--out", str(tmp_path / "x.json")
    )
    assert f"signed procedure {procedure_id}" in err


def test_audit_verify_changes_nothing_it_checks(
    db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    def state() -> list[tuple[str, str]]:
        return sorted(
            (p.name, hashlib.sha256(p.read_bytes()).hexdigest())
            for p in db.parent.iterdir()
            if p.is_file()
        )

    before = state()
    code, out, _ = run(capsys, "--db", str(db), "--as", "rivera", "audit", "verify")
    assert code == 0, out
    assert state() == before


def test_services_as_opened_report_nothing_on_a_healthy_clinic(db: Path) -> None:
    with open_services(db, staff("rivera")) as services:
        assert services.integrity_warnings == []
        assert isinstance(services, Services)

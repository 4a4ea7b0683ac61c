"""Moving a one-room clinic onto a PostgreSQL server (issue 18 §5): `tpi-chart migrate --from
FILE.db --to postgresql://…` copies every table into an empty server database with the ids, the
audit chain verifying there with the clinic's key and continued by a `clinic_migrated` row, each
table's count and content compared, the signed notes still verifying, and the file untouched;
it refuses a server database that holds a clinic, a file whose chain does not verify, someone
who is not an administrator, a table it does not know, and a file open in a window, leaving
the server database as it was. `tpi-chart audit verify --db postgresql://…` checks the result."""

from __future__ import annotations

import hashlib
import json
import shutil
import sqlite3
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import psycopg
import pytest

from tests.cli_support import Keyboard, add_accounts, sign_in
from tests.conftest import use_cheap_argon2
from tests.engines import query, table_rows
from tests.sample_documents import signed_copy
from tests.unit.auth_support import REFERENCE
from tests.unit.test_pain_drawing import temple_and_upper_neck
from tpi_chart.cli.main import main
from tpi_chart.domain.models import FollowUp, ProcedureDocument
from tpi_chart.services import migrate as migrate_service
from tpi_chart.services.context import open_services
from tpi_chart.services.documents import document_json
from tpi_chart.storage.postgres.store import open_postgres_store
from tpi_chart.storage.postgres.transfer import COPIED, FILE_ONLY, SERVER_ONLY
from tpi_chart.storage.sqlite.store import open_store

ACKS_REASON = "accepted for the test"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@dataclass(frozen=True)
class FileClinic:
    db: Path
    signed: int  # a procedure signed with a note PDF (the hand-made clinic's; 0 in the demo)


def _copy(source: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The prepared clinic folder (database and key folder) copied for one test."""
    folder = tmp_path / "clinic"
    shutil.copytree(source, folder)
    monkeypatch.setenv("TPI_CHART_KEY_DIR", str(folder / "keys"))
    return folder / "clinic.db"


@pytest.fixture(scope="module")
def demo_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo clinic with accounts, its audit key sealed by the administrator's sign-in."""
    folder = tmp_path_factory.mktemp("demo")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TPI_CHART_KEY_DIR", str(folder / "keys"))
        use_cheap_argon2(patch)
        patch.setattr("sys.stdin", Keyboard())
        db = folder / "clinic.db"
        add_accounts(db)
        assert main(["--db", str(db), "--as", "admin", "demo"]) == 0
    return folder


@pytest.fixture(scope="module")
def handmade_folder(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, int]:
    """A clinic of its own: its own patient with its own diagnosis, a pain drawing, a visit
    signed with its note PDF (and queued to the outbox), an addendum, a follow-up, a second
    visit voided, and a visit imported as signed elsewhere (an external record)."""
    folder = tmp_path_factory.mktemp("handmade")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TPI_CHART_KEY_DIR", str(folder / "keys"))
        use_cheap_argon2(patch)
        db = folder / "clinic.db"
        add_accounts(db)
        visit = json.loads(REFERENCE.read_text())
        visit["patient"].update(mrn="H2001", family_name="Okonkwo", given_name="Ada")
        visit["procedure"]["diagnoses"] = ["M54.2"]
        visit["procedure"]["indication"] = "Cervicalgia with taut bands, hand-made clinic"
        visits = []
        for number in range(2):
            visit["procedure"]["notes"] = f"visit {number}"
            path = folder / f"visit-{number}.json"
            path.write_text(json.dumps(visit))
            visits.append(path)
        outside = json.loads(json.dumps(visit))
        outside["patient"]["mrn"] = "H2002"
        elsewhere = signed_copy(ProcedureDocument.model_validate(outside))
        (folder / "elsewhere.json").write_text(document_json(elsewhere))
        with open_services(db) as opened:
            services = sign_in(opened, "chen")
            signed, voided = services.documents.import_documents(visits)
            services.documents.import_documents([folder / "elsewhere.json"])
            for stroke in temple_and_upper_neck():
                services.charting.add_pain_stroke(signed, stroke)
            readiness = services.signing.readiness(signed)
            acks = dict.fromkeys(readiness.codes_to_acknowledge, ACKS_REASON)
            services.signing.sign(signed, services.user, acks)
            services.signing.add_addendum(signed, services.user, "Patient called: no bruising.")
            day = services.charting.get(signed).procedure.performed_at.date()
            services.charting.record_follow_up(
                signed, FollowUp(measured_on=day + timedelta(days=14), relief_percent=60)
            )
            services.charting.void(voided, "opened for the wrong day")
    return folder, signed


@pytest.fixture
def demo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, demo_folder: Path) -> FileClinic:
    return FileClinic(_copy(demo_folder, tmp_path, monkeypatch), 0)


@pytest.fixture
def handmade(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, handmade_folder: tuple[Path, int]
) -> FileClinic:
    folder, signed = handmade_folder
    return FileClinic(_copy(folder, tmp_path, monkeypatch), signed)


def _fingerprint(db: Path) -> tuple[str, int, list[str]]:
    """The file's bytes and modification time, and what lies beside it: no -wal or -shm (the
    window's lock file, held while the clinic is moved, is its own file)."""
    digest = hashlib.sha256(db.read_bytes()).hexdigest()
    lock = f"{db.name}.lock"
    beside = sorted(p.name for p in db.parent.iterdir() if p.name.startswith(db.name))
    beside = [name for name in beside if name != lock]
    return digest, db.stat().st_mtime_ns, beside


def _file_counts(db: Path) -> dict[str, int]:
    conn = sqlite3.connect(f"{db.as_uri()}?mode=ro", uri=True)
    try:
        return {t: conn.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in COPIED}
    finally:
        conn.close()


def _printed_counts(out: str) -> dict[str, tuple[int, int, str]]:
    rows: dict[str, tuple[int, int, str]] = {}
    for line in out.splitlines()[1 : len(COPIED) + 1]:
        name, file_rows, server_rows, content = line.split()
        rows[name] = (int(file_rows), int(server_rows), content)
    return rows


def _server_rows(url: str) -> list[tuple[object, ...]]:
    return table_rows(url, skip=("schema_version",))


def migrate(
    capsys: pytest.CaptureFixture[str], db: Path, url: str, who: str = "admin"
) -> tuple[int, str, str]:
    return run(capsys, "--as", who, "migrate", "--from", str(db), "--to", url)


def test_the_demo_clinic_moves_whole_with_its_chain_continued_and_the_file_untouched(
    demo: FileClinic, pg_url: str, keyboard: Keyboard, capsys: pytest.CaptureFixture[str]
) -> None:
    # A workstation that connected once, before anyone had an account, left its own clinic id:
    # the database still counts as empty, and takes the file's clinic id.
    open_postgres_store(pg_url).close()
    before = _fingerprint(demo.db)
    counts = _file_counts(demo.db)
    (file_tail,) = query(demo.db, "SELECT seq, mac FROM audit ORDER BY seq DESC LIMIT 1")
    (clinic_id,) = query(demo.db, "SELECT value FROM meta WHERE key = 'clinic_id'")

    code, out, err = migrate(capsys, demo.db, pg_url)

    assert (code, err) == (0, "")
    printed = _printed_counts(out)
    assert list(printed) == list(COPIED)
    assert {name: file_rows for name, (file_rows, _, _) in printed.items()} == counts
    assert all(server == file and same == "same" for file, server, same in printed.values())
    assert counts["patients"] == 9
    assert min(counts["sites"], counts["key_grants"], counts["signed_snapshots"]) > 0
    for table in COPIED:
        expected = counts[table] + (1 if table == "audit" else 0)
        assert query(pg_url, f'SELECT count(*) FROM "{table}"') == [(expected,)], table
    rows = file_tail[0] + 1
    assert f"audit trail intact on the server: {rows} rows" in out
    assert f"(row {rows}: clinic_migrated)" in out
    assert "signed procedures: 3 match their signatures on the server" in out
    seconds = float(out.rsplit(" in ", 1)[1].split(" s;")[0])
    assert seconds < 30  # the demo clinic moves in well under a second here

    # The server's chain: the file's rows as they were, then the move, naming file and tail.
    assert query(pg_url, "SELECT value FROM meta WHERE key = 'clinic_id'") == [clinic_id]
    assert query(pg_url, "SELECT clinic_id FROM audit_head") == [clinic_id]
    assert query(pg_url, "SELECT seq, mac FROM audit WHERE seq = ?", (file_tail[0],)) == [file_tail]
    ((user, action, after),) = query(
        pg_url, 'SELECT "user", action, after FROM audit WHERE seq = ?', (rows,)
    )
    event = json.loads(str(after))
    assert (user, action) == ("admin", "clinic_migrated")
    assert event["file"] == str(demo.db)
    assert event["file_audit_tail"] == {"seq": file_tail[0], "mac": file_tail[1]}
    assert event["rows"] == counts

    code, out, err = run(capsys, "--db", pg_url, "--as", "admin", "audit", "verify")
    assert (code, err) == (0, "")
    assert out.splitlines() == [
        f"audit trail intact: {rows} rows",
        "signed procedures: 3 match their signatures",
    ]
    assert _fingerprint(demo.db) == before

    # The ids continue where the file's ended: a workstation's next patient collides with none.
    with open_services(pg_url) as opened:
        services = sign_in(opened, "rivera")
        added = services.patients.create(
            services.patients.get(1).patient.model_copy(update={"mrn": "S9001"})
        )
    assert added.id == counts["patients"] + 1


def test_a_hand_made_clinic_keeps_its_diagnosis_and_its_signed_note_verifies_on_the_server(
    handmade: FileClinic,
    pg_url: str,
    tmp_path: Path,
    keyboard: Keyboard,
    capsys: pytest.CaptureFixture[str],
) -> None:
    before = _fingerprint(handmade.db)
    counts = _file_counts(handmade.db)
    assert all(counts[t] for t in ("signed_notes", "addenda", "outbox", "pain_strokes"))
    assert all(counts[t] for t in ("follow_ups", "procedure_voids", "signed_snapshots"))
    assert all(counts[t] for t in ("external_records", "reported_history"))
    note = query(
        handmade.db, "SELECT pdf FROM signed_notes WHERE procedure_id = ?", (handmade.signed,)
    )

    code, out, err = migrate(capsys, handmade.db, pg_url)

    assert (code, err) == (0, ""), err
    assert "signed procedures: 1 match their signatures on the server" in out
    signed_note = "SELECT pdf FROM signed_notes WHERE procedure_id = ?"
    assert query(pg_url, signed_note, (handmade.signed,)) == note
    ((mrn, diagnoses, status),) = query(
        pg_url,
        "SELECT p.mrn, r.header -> 'diagnoses', r.status FROM procedures r"
        " JOIN patients p ON p.id = r.patient_id WHERE r.id = ?",
        (handmade.signed,),
    )
    assert (mrn, diagnoses, status) == ("H2001", ["M54.2"], "signed")
    # The note drawn by the server clinic verifies against the clinic's authority there.
    pdf = tmp_path / "note.pdf"
    export = ("export", "--procedure", str(handmade.signed), "--out", str(pdf))
    assert run(capsys, "--db", pg_url, "--as", "chen", *export)[0] == 0
    code, out, err = run(capsys, "--db", pg_url, "verify", str(pdf))
    assert code == 0, out + err
    assert out.startswith("match")
    # So does the note as it was signed in the room, checked against the server clinic.
    original = tmp_path / "signed-in-the-room.pdf"
    original.write_bytes(note[0][0])
    code, out, err = run(capsys, "--db", pg_url, "verify", str(original))
    assert code == 0, out + err
    assert out.startswith("match")
    # The signed row is frozen on the server as it was in the file.
    with psycopg.connect(pg_url) as conn, pytest.raises(psycopg.Error, match="signed"):
        conn.execute("UPDATE sites SET notes = 'x' WHERE procedure_id = %s", (handmade.signed,))
    code, out, _ = run(capsys, "--db", pg_url, "--as", "admin", "audit", "verify")
    assert code == 0
    assert out.startswith("audit trail intact: ")
    assert _fingerprint(handmade.db) == before


def test_a_server_database_that_holds_a_clinic_is_refused_and_left_as_it_was(
    demo: FileClinic, pg_url: str, keyboard: Keyboard, capsys: pytest.CaptureFixture[str]
) -> None:
    add_accounts(pg_url)  # type: ignore[arg-type]
    before = _server_rows(pg_url)

    code, out, err = migrate(capsys, demo.db, pg_url)

    assert (code, out) == (1, "")
    assert "is not empty (it holds account_keys, audit, key_grants" in err
    assert "Nothing was copied." in err
    assert _server_rows(pg_url) == before


def test_a_file_whose_audit_chain_does_not_verify_is_not_moved(
    demo: FileClinic, pg_url: str, keyboard: Keyboard, capsys: pytest.CaptureFixture[str]
) -> None:
    conn = sqlite3.connect(demo.db)
    conn.execute("DROP TRIGGER audit_no_update")
    conn.execute('UPDATE audit SET after = \'{"clinic_name": "Elsewhere"}\' WHERE seq = 12')
    conn.commit()
    conn.close()

    code, out, err = migrate(capsys, demo.db, pg_url)

    assert (code, out) == (1, "")
    assert "the clinic file does not verify, so it is not moved" in err
    assert "audit trail BROKEN at row 12: row content was changed" in err
    assert "protection trigger audit_no_update is missing" in err
    assert _server_rows(pg_url) == []


def test_only_an_administrator_moves_a_clinic(
    demo: FileClinic, pg_url: str, keyboard: Keyboard, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = migrate(capsys, demo.db, pg_url, who="chen")
    assert (code, out) == (1, "")
    assert "only an administrator can" in err
    keyboard.line = "not the password"
    code, out, err = migrate(capsys, demo.db, pg_url)
    assert (code, out) == (2, "")
    assert err.startswith("--as: sign-in as 'admin' failed")
    code, out, err = run(capsys, "migrate", "--from", str(demo.db), "--to", pg_url)
    assert code == 2
    assert err.startswith("--as: this command needs --as USERNAME")
    code, _, err = run(capsys, "--as", "admin", "migrate", "--from", str(demo.db), "--to", "x.db")
    assert (code, err.split(":")[0]) == (2, "--to")
    assert _server_rows(pg_url) == []


def test_a_table_the_move_does_not_know_stops_it_before_anything_is_copied(
    demo: FileClinic, pg_url: str, keyboard: Keyboard, capsys: pytest.CaptureFixture[str]
) -> None:
    conn = sqlite3.connect(demo.db)
    conn.execute("CREATE TABLE scribbles (id INTEGER PRIMARY KEY, note TEXT)")
    conn.commit()
    conn.close()

    code, out, err = migrate(capsys, demo.db, pg_url)

    assert (code, out) == (1, "")
    assert "the file has a table the move does not know: scribbles" in err
    assert _server_rows(pg_url) == []


def test_a_file_open_in_a_window_is_not_moved(
    demo: FileClinic, pg_url: str, keyboard: Keyboard, capsys: pytest.CaptureFixture[str]
) -> None:
    with open_services(demo.db, exclusive=True):
        code, out, err = migrate(capsys, demo.db, pg_url)
    assert (code, out) == (1, "")
    assert "is open in a TPI Chart window: close TPI Chart" in err
    assert _server_rows(pg_url) == []


def test_every_table_of_both_schemas_is_moved_or_named_as_left_out(
    tmp_path: Path, pg_url: str
) -> None:
    """The tripwire for a new table on either engine: it must be copied (COPIED, in an order
    its foreign keys and triggers accept) or named with the reason it is not."""
    store = open_store(tmp_path / "new.db", tmp_path / "keys")
    try:
        file_tables = {
            str(row[0])
            for row in store.conn.execute(
                "SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
            )
        }
    finally:
        store.close()
    server_tables = {
        str(row[0])
        for row in query(pg_url, "SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
    }
    assert file_tables - set(FILE_ONLY) == set(COPIED)
    assert server_tables - set(SERVER_ONLY) == set(COPIED)


def test_a_large_clinics_signed_notes_are_sampled_on_the_server_and_all_checked_by_verify(
    demo: FileClinic,
    pg_url: str,
    keyboard: Keyboard,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(migrate_service, "SERVER_SAMPLE", 2)
    code, out, err = migrate(capsys, demo.db, pg_url)
    assert (code, err) == (0, "")
    assert "signed procedures: 2 of 3, spread over the clinic, match their signatures" in out
    code, out, _ = run(capsys, "--db", pg_url, "--as", "admin", "audit", "verify")
    assert code == 0
    assert "signed procedures: 3 match their signatures" in out
    assert migrate_service._spread(list(range(1, 11)), 4) == [1, 4, 7, 10]
    assert migrate_service._spread([5, 6], 4) == [5, 6]

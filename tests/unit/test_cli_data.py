"""The data commands end to end: exit codes, one stderr line per problem, no partial writes."""

from __future__ import annotations

import hashlib
import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli_support import PASSWORD, Keyboard, add_accounts
from tpi_chart import __version__
from tpi_chart.cli.main import main
from tpi_chart.domain.models import ProcedureDocument
from tpi_chart.storage.sqlite.migrations import SCHEMA_VERSION

REFERENCE = Path(__file__).parents[1] / "examples" / "reference-visit.json"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def snapshot(db: Path) -> tuple[str, list[tuple[object, ...]]]:
    """The main file's bytes and every table's rows (WAL content included)."""
    conn = sqlite3.connect(db)
    rows: list[tuple[object, ...]] = []
    for (table,) in conn.execute("SELECT name FROM sqlite_schema WHERE type='table' ORDER BY name"):
        rows += [(table, *row) for row in conn.execute(f"SELECT * FROM {table} ORDER BY 1")]
    conn.close()
    return hashlib.sha256(db.read_bytes()).hexdigest(), rows


@pytest.fixture(autouse=True)
def _typed_password(keyboard: Keyboard) -> Keyboard:
    return keyboard


@pytest.fixture
def db(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    """The demo clinic (seeded before any account exists: no --as), then its accounts."""
    path = tmp_path / "clinic.db"
    assert run(capsys, "--db", str(path), "demo")[0] == 0
    add_accounts(path)
    return path


def reference_data() -> dict:
    return json.loads(REFERENCE.read_text())


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--version"])
    assert exited.value.code == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[:3] == [
        f"tpi-chart {__version__}",
        f"database schema version {SCHEMA_VERSION}",
        "catalog (shipped; file and content digest):",
    ]
    digests = dict(line.split() for line in lines[3:] if line.startswith("  "))
    assert set(digests) >= {"catalog/formulary.json", "catalog/muscles.json", "payers/none.json"}
    assert all(len(digest) == 12 for digest in digests.values())


def test_schema_is_the_models_schema(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "schema")
    assert code == 0
    assert json.loads(out) == ProcedureDocument.model_json_schema()


def test_import_then_export_gives_an_equal_document(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    db = tmp_path / "new.db"
    add_accounts(db)
    code, out, err = run(capsys, "--db", str(db), "--as", "chen", "import", str(REFERENCE))
    assert (code, err) == (0, "")
    procedure_id = int(out.strip())
    target = tmp_path / "export.json"
    code, out, err = run(
        capsys,
        "--db",
        str(db),
        "--as",
        "rivera",
        "export",
        "--procedure",
        str(procedure_id),
        "--out",
        str(target),
    )
    assert (code, err) == (0, "")
    exported = ProcedureDocument.model_validate_json(target.read_text())
    original = ProcedureDocument.model_validate(reference_data())
    assert exported == original  # prior_procedures included
    written = json.loads(target.read_text())
    assert written.pop("billing")["lines"]  # the claim lines for the biller
    assert written == original.to_json_dict()
    audit = (
        sqlite3.connect(db)
        .execute(
            "SELECT action, entity, user FROM audit WHERE entity IN ('patient', 'procedure')"
            " ORDER BY seq"
        )
        .fetchall()
    )
    # Changes are audited under the person signed in with --as.
    assert audit[0] == ("create", "patient", "chen")
    assert audit[-1] == ("export", "procedure", "rivera")


def test_import_prints_one_id_per_document(
    capsys: pytest.CaptureFixture[str], db: Path, tmp_path: Path
) -> None:
    second = reference_data()
    second["patient"]["mrn"] = "B2002"
    path = tmp_path / "second.json"
    path.write_text(json.dumps(second))
    code, out, _ = run(
        capsys, "--db", str(db), "--as", "admin", "import", str(REFERENCE), str(path)
    )
    assert code == 0
    ids = [int(line) for line in out.splitlines()]
    assert len(ids) == 2
    assert ids[0] < ids[1]


def mutate(change: str) -> dict:
    data = reference_data()
    if change == "muscle":
        data["procedure"]["sites"][0]["muscle"] = "biceps"
    elif change == "volume":
        data["procedure"]["sites"][2]["volume_ml"] = -1.5
    elif change == "pain":
        data["procedure"]["pain_before"] = 11
    elif change == "unknown":
        data["procedure"]["colour"] = "red"
    return data


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ("muscle", "procedure.sites[0].muscle: unknown muscle id 'biceps'"),
        ("volume", "procedure.sites[2].volume_ml: must be greater than 0"),
        ("pain", "procedure.pain_before: must be at most 10"),
        (
            "unknown",
            "procedure.colour: unknown field; it is not part of the tpi-chart.procedure/1 format",
        ),
    ],
)
def test_invalid_document_exits_2_and_changes_nothing(
    capsys: pytest.CaptureFixture[str], db: Path, tmp_path: Path, change: str, expected: str
) -> None:
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(mutate(change)))
    before = snapshot(db)
    code, out, err = run(capsys, "--db", str(db), "--as", "admin", "import", str(path))
    assert code == 2
    assert out == ""
    lines = err.splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(expected)
    assert snapshot(db) == before


def test_several_problems_give_several_lines(
    capsys: pytest.CaptureFixture[str], db: Path, tmp_path: Path
) -> None:
    data = mutate("volume")
    data["procedure"]["pain_before"] = 11
    data["patient"]["sex"] = "f"
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(data))
    code, _, err = run(capsys, "--db", str(db), "--as", "admin", "import", str(path))
    assert code == 2
    assert sorted(line.split(":")[0] for line in err.splitlines()) == [
        "patient.sex",
        "procedure.pain_before",
        "procedure.sites[2].volume_ml",
    ]


def test_malformed_json_and_missing_file(
    capsys: pytest.CaptureFixture[str], db: Path, tmp_path: Path
) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text('{"format": "tpi-chart.procedure/1",\n  "patient": {,}\n}')
    missing = tmp_path / "missing.json"
    before = snapshot(db)
    code, out, err = run(
        capsys,
        "--db",
        str(db),
        "--as",
        "admin",
        "import",
        str(REFERENCE),
        str(broken),
        str(missing),
    )
    assert code == 2
    assert out == ""
    assert err.splitlines() == [
        f"{broken}: not valid JSON: line 2 column 15: "
        "Expecting property name enclosed in double quotes",
        f"{missing}: no such file",
    ]
    assert snapshot(db) == before


def test_export_refusals(capsys: pytest.CaptureFixture[str], db: Path, tmp_path: Path) -> None:
    code, _, err = run(
        capsys,
        "--db",
        str(db),
        "--as",
        "admin",
        "export",
        "--procedure",
        "1",
        "--out",
        str(tmp_path / "n.txt"),
    )
    assert code == 2
    assert "unknown format" in err
    code, _, err = run(
        capsys,
        "--db",
        str(db),
        "--as",
        "admin",
        "export",
        "--procedure",
        "999",
        "--out",
        str(tmp_path / "n.json"),
    )
    assert (code, err.strip()) == (1, "tpi-chart: procedure 999 does not exist")
    assert not (tmp_path / "n.json").exists()
    code, _, err = run(capsys, "--db", str(db), "--as", "admin", "export", "--procedure", "1")
    assert code == 2
    assert "--procedure ID --out FILE" in err


def data_rows(db: Path) -> list[tuple[object, ...]]:
    """Every row but the audit trail, the sign-in attempts and the sessions (a sign-in is always
    recorded)."""
    skip = ("audit", "login_attempts", "sessions")
    return [row for row in snapshot(db)[1] if row[0] not in skip]


def test_demo_refuses_to_seed_twice(capsys: pytest.CaptureFixture[str], db: Path) -> None:
    before = data_rows(db)
    code, out, _ = run(capsys, "--as", "admin", "demo", "--db", str(db))
    assert code == 0
    assert "already has the demo clinic" in out
    assert data_rows(db) == before
    conn = sqlite3.connect(db)
    assert conn.execute("SELECT count(*) FROM patients").fetchone()[0] >= 9
    assert (
        conn.execute("SELECT count(*) FROM procedures WHERE status = 'signed'").fetchone()[0] >= 2
    )


def test_backup_then_restore(
    capsys: pytest.CaptureFixture[str],
    db: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    backup = tmp_path / "backup.db"
    code, out, _ = run(capsys, "--db", str(db), "--as", "admin", "backup", "--out", str(backup))
    assert code == 0
    assert "integrity check ok" in out
    assert run(capsys, "--db", str(db), "--as", "admin", "import", str(REFERENCE))[0] == 0
    conn = sqlite3.connect(db)
    count = conn.execute("SELECT count(*) FROM procedures").fetchone()[0]
    conn.close()
    code, out, _ = run(capsys, "--db", str(db), "--as", "admin", "restore", str(backup))
    assert code == 0
    conn = sqlite3.connect(db)
    assert conn.execute("SELECT count(*) FROM procedures").fetchone()[0] == count - 1
    assert (
        conn.execute("SELECT action FROM audit ORDER BY seq DESC LIMIT 1").fetchone()[0]
        == "restore_db"
    )
    conn.close()
    assert len(list(tmp_path.glob("clinic.db.before-restore-*"))) == 1
    code, _, err = run(
        capsys, "--db", str(db), "--as", "admin", "restore", str(tmp_path / "nope.db")
    )
    assert code == 2
    assert err.strip() == f"{tmp_path / 'nope.db'}: no such file"
    notdb = tmp_path / "notes.txt"
    notdb.write_text("hello" * 1000)
    code, _, err = run(capsys, "--db", str(db), "--as", "admin", "restore", str(notdb))
    assert code == 1
    assert "not an SQLite file" in err


def test_a_newer_database_is_refused_with_exit_1(
    capsys: pytest.CaptureFixture[str], db: Path
) -> None:
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA user_version = 999")
    conn.close()
    code, _, err = run(capsys, "--db", str(db), "--as", "admin", "import", str(REFERENCE))
    assert code == 1
    assert "newer version of TPI Chart" in err
    assert "Traceback" not in err


def test_the_installed_command_runs(tmp_path: Path) -> None:
    """A real process, the password as one line on a pipe (how a script runs it)."""
    add_accounts(tmp_path / "x.db")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "tpi_chart",
            "--db",
            str(tmp_path / "x.db"),
            "--as",
            "rivera",
            "import",
            str(REFERENCE),
        ],
        input=PASSWORD + "\n",
        capture_output=True,
        text=True,
        check=False,
    )
    assert (result.returncode, result.stdout.strip(), result.stderr) == (0, "1", "")

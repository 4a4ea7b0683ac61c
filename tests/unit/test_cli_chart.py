# ruff: noqa: F811 - pytest fixtures imported from test_operations are parameters here
"""`tpi-chart chart …`: the charting loop without Qt, through the same operations as the window
(issue 16: "the CLI and a Qt-free test can do everything the window does in the charting
loop"): plan, time-out, inject, twitch, sign, and the note's filing is queued. On a SQLite file
and on a PostgreSQL server (`--db postgresql://…`), as the operations' tests."""

from __future__ import annotations

from pathlib import Path

import pytest

# The clinic of the operations' tests (fixtures, used by name).
from tests.unit.test_operations import Ids, clinic, engine, template  # noqa: F401
from tests.users import PHYSICIAN
from tpi_chart.cli.main import main
from tpi_chart.services.context import open_services


def chart(db: Path | str, who: str, *args: str) -> int:
    return main(["--db", str(db), "--as", who, "chart", *args])


@pytest.mark.usefixtures("keyboard")
def test_the_charting_loop_from_the_command_line(
    clinic: tuple[Path | str, Ids], capsys: pytest.CaptureFixture[str]
) -> None:
    db, ids = clinic
    pid = str(ids.fresh)
    assert (
        chart(
            db, "rivera", "plan", "--procedure", pid, "--muscle", "infraspinatus", "--side", "left"
        )
        == 0
    )
    out = capsys.readouterr().out.splitlines()
    assert out[0] == f"procedure {pid}: planned"
    planned = [line for line in out[1:] if "\tplanned" in line]
    assert planned[-1].startswith("6\tInfraspinatus\tleft\tplanned")

    # An assistant plans, but neither records the time-out nor injects.
    assert chart(db, "rivera", "time-out", "--procedure", pid, "--marked") == 1
    assert "only a physician" in capsys.readouterr().err
    assert chart(db, "rivera", "inject", "--procedure", pid, "--site", "1") == 1
    assert "only a physician" in capsys.readouterr().err

    assert chart(db, "chen", "time-out", "--procedure", pid, "--marked") == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith(f"procedure {pid}: in progress, time-out by Dr. Alex Chen, MD at ")

    assert chart(db, "chen", "inject", "--procedure", pid, "--site", "1") == 0
    site = capsys.readouterr().out.splitlines()[1].split("\t")
    assert site[0] == "1"
    assert site[3] == "injected"
    assert "syringe A" in site  # the first syringe

    assert chart(db, "chen", "twitch", "--procedure", pid, "--site", "6", "--twitch", "brisk") == 0
    line = capsys.readouterr().out.splitlines()[6]
    assert line.startswith("6\tInfraspinatus\tleft\tinjected")
    assert line.endswith("twitch brisk")

    with open_services(db, PHYSICIAN) as services:
        stored = services.charting.get(ids.fresh).procedure
    assert stored.status == "in_progress"
    assert stored.time_out is not None
    assert [s.state for s in stored.sites] == ["injected", *["planned"] * 4, "injected"]


@pytest.mark.usefixtures("keyboard")
def test_bad_input_names_the_field(
    clinic: tuple[Path | str, Ids], capsys: pytest.CaptureFixture[str]
) -> None:
    db, ids = clinic
    pid = str(ids.fresh)
    assert chart(db, "chen", "inject", "--procedure", pid, "--site", "9") == 2
    assert capsys.readouterr().err.strip() == "--site: the procedure has no site 9 (it has 5)"
    assert chart(db, "chen", "plan", "--procedure", pid, "--muscle", "elbow", "--side", "left") == 2
    assert capsys.readouterr().err.startswith("--muscle: 'elbow' is not in the catalog")
    assert chart(db, "chen", "header", "--procedure", pid, "--pain-before", "11") == 2
    assert "procedure.pain_before" in capsys.readouterr().err


@pytest.mark.usefixtures("keyboard")
def test_a_signed_note_refuses_charting(
    clinic: tuple[Path | str, Ids], capsys: pytest.CaptureFixture[str]
) -> None:
    db, ids = clinic
    assert chart(db, "chen", "remove", "--procedure", str(ids.signed), "--site", "1") == 1
    assert "signed" in capsys.readouterr().err


@pytest.mark.usefixtures("keyboard")
def test_a_note_exported_from_the_clinic_verifies_against_that_clinic(
    clinic: tuple[Path | str, Ids], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """`verify --db` takes the trust root from the clinic's database, a file or a server."""
    db, ids = clinic
    note = tmp_path / "note.pdf"
    export = ["export", "--procedure", str(ids.signed), "--out", str(note)]
    assert main(["--db", str(db), "--as", "rivera", *export]) == 0
    capsys.readouterr()
    assert main(["--db", str(db), "verify", str(note)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("match\n")
    assert "signed by Dr. Alex Chen, MD" in out


def test_verifying_against_an_empty_server_database_creates_no_clinic(
    pg_server: object, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    import psycopg

    admin = pg_server._admin  # type: ignore[attr-defined]
    admin("DROP DATABASE IF EXISTS verify_empty")
    admin("CREATE DATABASE verify_empty")
    url = pg_server.url("verify_empty")  # type: ignore[attr-defined]
    note = tmp_path / "note.pdf"
    note.write_bytes(b"%PDF-1.7\n")
    assert main(["--db", url, "verify", str(note)]) == 2
    assert "--trust: give the signing clinic's clinic-ca.pem" in capsys.readouterr().err
    with psycopg.connect(url) as conn:
        tables = conn.execute("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")
        assert tables.fetchone() == (0,)

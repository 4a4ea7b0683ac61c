"""The owner role and the app role (issue 18, docs/deployment.md): the clinic's IT creates the
tables as their owner with `tpi-chart server init`; the workstations connect as a role that can
change rows only, so a person with its password and a SQL client cannot unfreeze a signed note
(no DROP TRIGGER, no ALTER TABLE, no replica mode), and the app, connected as that role, refuses
to create or upgrade the schema and names the command that does."""

from __future__ import annotations

from datetime import timedelta, timezone
from typing import Any

import psycopg
import pytest

from tests.unit.test_services import reference, sign
from tests.users import staff
from tpi_chart.cli.main import main
from tpi_chart.services.context import build_services
from tpi_chart.storage.errors import SignedRecord
from tpi_chart.storage.postgres import schema
from tpi_chart.storage.postgres.migrations import MIGRATIONS, SCHEMA_VERSION, SQLITE_EQUIVALENT
from tpi_chart.storage.postgres.roles import SchemaNeedsOwner
from tpi_chart.storage.postgres.schema import init_clinic
from tpi_chart.storage.postgres.store import open_postgres_store

MST = timezone(timedelta(hours=-7))


@pytest.fixture
def urls(pg_server: Any) -> tuple[str, str]:
    owner, app = pg_server.owned_database("northside", "northside_owner", "northside")
    return owner, app


def test_the_app_role_cannot_create_the_schema_and_names_the_command(
    urls: tuple[str, str],
) -> None:
    _, app = urls
    with pytest.raises(SchemaNeedsOwner, match=r"is empty.*tpi-chart server init --owner-url"):
        open_postgres_store(app)


def test_server_init_then_the_app_role_charts_but_cannot_unfreeze_a_signed_note(
    urls: tuple[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    owner, app = urls
    assert main(["server", "init", "--owner-url", owner, "--app-role", "northside"]) == 0
    out = capsys.readouterr().out
    assert "tables owned by northside_owner; northside may read and change rows only" in out
    # A second run (after an update of TPI Chart) finds nothing to do and keeps the rights.
    assert main(["server", "init", "--owner-url", owner, "--app-role", "northside"]) == 0

    store = open_postgres_store(app)  # the workstation, as the app role
    try:
        services = build_services(store, staff("ma.rivera"))
        doc = reference()
        patient = services.patients.create(doc.patient)
        procedure_id = services.charting.create(patient.id, doc.procedure).id
        sign(services, procedure_id)
        with pytest.raises(SignedRecord):
            store.conn.execute(
                "UPDATE procedures SET payer_profile = 'none' WHERE id = ?", (procedure_id,)
            )
        assert store.audit.verify().ok
    finally:
        store.close()

    # A person with the app role's password and psql:
    refused = {
        "DROP TRIGGER procedures_signed_no_update ON procedures",
        "ALTER TABLE procedures DISABLE TRIGGER ALL",
        "ALTER TABLE procedures DISABLE TRIGGER procedures_signed_no_update",
        "DROP FUNCTION tpi_frozen() CASCADE",
        "CREATE OR REPLACE FUNCTION tpi_frozen() RETURNS trigger LANGUAGE plpgsql"
        " AS $$ BEGIN RETURN NEW; END $$",
        "SET session_replication_role = replica",
        "TRUNCATE audit",
        "DROP TABLE audit",
        "CREATE TABLE mine (x int)",
        "DELETE FROM schema_version",
    }
    with psycopg.connect(app, autocommit=True) as conn:
        for statement in sorted(refused):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(statement)
        for statement, words in (
            ("UPDATE procedures SET status = 'in_progress'", "signed and cannot be changed"),
            ("DELETE FROM audit", "append-only"),
        ):
            with pytest.raises(psycopg.Error, match=words) as frozen:
                conn.execute(statement)
            assert frozen.value.sqlstate == "TPI01"
        (status,) = conn.execute("SELECT status FROM procedures").fetchone() or ("",)
    assert status == "signed"


def test_the_app_role_may_not_be_the_owner_or_a_superuser(
    urls: tuple[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    owner, _ = urls
    for role in ("northside_owner", "tpi"):  # the owner itself; the cluster's superuser
        assert main(["server", "init", "--owner-url", owner, "--app-role", role]) == 1
        assert "could drop the triggers that freeze signed notes" in capsys.readouterr().err
    assert main(["server", "init", "--owner-url", owner, "--app-role", "nobody_here"]) == 1
    assert "there is no role 'nobody_here'" in capsys.readouterr().err
    assert main(["server", "init", "--owner-url", "/tmp/clinic.db", "--app-role", "x"]) == 2
    assert "--owner-url: give the clinic database as postgresql://" in capsys.readouterr().err
    with psycopg.connect(owner) as conn:  # each refusal changed nothing
        assert conn.execute("SELECT to_regclass('schema_version')").fetchone() == (None,)


def test_an_upgrade_is_the_owner_s_and_its_new_tables_are_the_app_s_rows_only(
    urls: tuple[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    owner, app = urls
    assert init_clinic(owner, "northside").schema_version == SCHEMA_VERSION
    # The next version of TPI Chart brings one more step.
    later = SCHEMA_VERSION + 1
    monkeypatch.setattr(schema, "MIGRATIONS", (*MIGRATIONS, "CREATE TABLE later (x int)"))
    monkeypatch.setattr(schema, "SCHEMA_VERSION", later)
    monkeypatch.setattr(schema, "SQLITE_EQUIVALENT", {**SQLITE_EQUIVALENT, later: 99})
    with psycopg.connect(app, autocommit=True) as conn:
        with pytest.raises(SchemaNeedsOwner, match=f"has schema {SCHEMA_VERSION} and .* needs"):
            schema.migrate(conn, later)
        assert conn.execute("SELECT to_regclass('later')").fetchone() == (None,)
    assert init_clinic(owner, "northside").schema_version == later
    with psycopg.connect(app, autocommit=True) as conn:
        conn.execute("INSERT INTO later VALUES (1)")  # the owner's default grants
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("DROP TABLE later")

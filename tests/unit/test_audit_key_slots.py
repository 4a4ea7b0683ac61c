"""The audit key in key slots (issue 11 §5): never in clear on disk once a clinic has an
administrator; one slot per account (each person's password opens their own), a recovery slot
under the backup passphrase; an existing clinic's plain key file is sealed and destroyed at the
first administrator sign-in; slots replaced by someone with the files are refused."""

from __future__ import annotations

import io
import sqlite3
import sys
from pathlib import Path

import pytest

from tests.cli_support import PASSWORD, add_accounts, sign_in
from tests.users import staff
from tpi_chart.cli.main import main
from tpi_chart.domain.models import Patient
from tpi_chart.services import crypto
from tpi_chart.services.audit_keys import RECOVERY_HOLDER
from tpi_chart.services.auth import AuthService
from tpi_chart.services.context import open_services
from tpi_chart.storage import audit as audit_log
from tpi_chart.storage.errors import AuditKeyLocked, AuditKeyProblem
from tpi_chart.storage.sqlite import audit_trail

PASSPHRASE = "correct horse battery staple"


@pytest.fixture
def keys(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "keys"
    monkeypatch.setenv("TPI_CHART_KEY_DIR", str(folder))
    return folder


def patient(mrn: str) -> Patient:
    return Patient(
        mrn=mrn, family_name="Slot", given_name="Test", birth_date="1970-01-01", sex="unknown"
    )


def holders(db: Path) -> list[str]:
    conn = sqlite3.connect(db)
    try:
        rows = conn.execute(
            "SELECT holder FROM key_grants WHERE secret = ? ORDER BY holder",
            (audit_log.AUDIT_KEY_SECRET,),
        ).fetchall()
        return [str(row[0]) for row in rows]
    finally:
        conn.close()


def cli(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    *argv: str,
    stdin: str = "",
) -> tuple[int, str, str]:
    monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def plain_key_files(folder: Path) -> list[Path]:
    return sorted(folder.glob("*.key"))


def test_the_first_administrator_seals_the_key_and_its_file_is_destroyed(
    tmp_path: Path, keys: Path
) -> None:
    db = tmp_path / "clinic.db"
    with open_services(db) as services:
        (file,) = plain_key_files(keys)  # a new clinic nobody can sign in to yet
        key = file.read_bytes()
    add_accounts(db)
    assert plain_key_files(keys) == []
    assert holders(db) == ["admin", "chen", "rivera"]
    # The key is in clear nowhere on disk: not in the key folder, not in the database.
    for path in [db, *keys.iterdir()]:
        assert key not in path.read_bytes(), path
        assert key.hex().encode() not in path.read_bytes(), path
    assert audit_log.read_key_id(keys, services.settings.clinic_id) == audit_log.key_id(key)
    with open_services(db) as anonymous:
        assert anonymous.store.key is None  # locked until somebody signs in
        assert sign_in(anonymous, "rivera").store.key == key
        assert anonymous.store.audit.verify().ok


def test_every_person_writes_with_their_own_password_and_nobody_without_one(
    tmp_path: Path, keys: Path
) -> None:
    db = tmp_path / "clinic.db"
    add_accounts(db)
    with open_services(db) as anonymous, pytest.raises(AuditKeyLocked, match="key is locked"):
        anonymous.store.audit.record(user="x", action="create", entity="patient")
    # Services built for a person who did not sign in here: the change is refused, not stored.
    with open_services(db, staff("rivera")) as unsigned:
        with pytest.raises(AuditKeyLocked):
            unsigned.patients.create(patient("S9"))
        assert unsigned.patients.by_mrn("S9") is None
    for number, name in enumerate(["chen", "rivera", "admin"]):
        with open_services(db) as anonymous:
            sign_in(anonymous, name).patients.create(patient(f"S{number}"))
    with open_services(db) as anonymous:
        services = sign_in(anonymous, "rivera")
        assert services.store.audit.verify().ok
        assert {services.patients.by_mrn(f"S{n}") is not None for n in range(3)} == {True}


def test_an_existing_clinic_is_migrated_at_its_first_administrator_sign_in(
    tmp_path: Path, keys: Path
) -> None:
    db = tmp_path / "clinic.db"
    with open_services(db) as services:
        # A clinic from before key slots: accounts, rows under the plain key file.
        old_auth = AuthService(services.store.users, services.store.audit)
        admin = old_auth.create_first_administrator("admin", "Pat Admin", PASSWORD)
        old_auth.create_user(admin, "rivera", "J. Rivera", {"assistant"}, PASSWORD)
        services.as_user(admin).patients.create(patient("OLD1"))
        key = services.store.key
        clinic = services.settings.clinic_id
    assert key is not None
    assert audit_log.key_path(keys, clinic).read_bytes() == key
    assert holders(db) == []
    # An assistant's sign-in does not seal (sealing is an administrator's), and works as before.
    with open_services(db) as anonymous:
        sign_in(anonymous, "rivera").patients.create(patient("OLD2"))
    assert audit_log.key_path(keys, clinic).exists()
    with open_services(db) as anonymous:
        services = sign_in(anonymous, "admin")
        assert services.store.key == key  # the same key: the old rows still verify
        assert services.store.audit.verify().ok
    assert not audit_log.key_path(keys, clinic).exists()
    assert holders(db) == ["admin", "rivera"]
    with open_services(db) as anonymous:
        assert anonymous.store.key is None
        services = sign_in(anonymous, "rivera")
        services.patients.create(patient("NEW1"))
        report = services.store.audit.verify()
        assert report.ok
        assert report.macs_checked


def test_a_failed_sign_in_waits_unchained_and_the_next_sign_in_chains_it(
    tmp_path: Path, keys: Path
) -> None:
    db = tmp_path / "clinic.db"
    add_accounts(db)
    with open_services(db) as anonymous:
        assert anonymous.auth.login("rivera", "not the password") is None
        assert audit_trail.pending_count(anonymous.store.conn) == 1  # type: ignore[attr-defined]
    with open_services(db) as anonymous:
        services = sign_in(anonymous, "chen")
        conn = services.store.conn  # type: ignore[attr-defined]
        assert audit_trail.pending_count(conn) == 0
        failed = [r for r in services.store.audit.rows() if r.action == "login_failed"]
        assert len(failed) == 1
        after = audit_log.decode(failed[0].after)
        assert after[audit_log.PENDING_MARK] is True
        assert after["reason"] == "wrong password"
        assert services.store.audit.verify().ok


def test_slots_replaced_by_someone_with_the_files_are_refused(tmp_path: Path, keys: Path) -> None:
    db = tmp_path / "clinic.db"
    add_accounts(db)
    # The attacker has the files but no password: seal a key of their own to every account's
    # public key (public keys are in the database) so that the chain could be rewritten.
    forged = b"\x07" * 32
    conn = sqlite3.connect(db)
    with conn:
        for username, public in conn.execute("SELECT username, public_key FROM account_keys"):
            conn.execute(
                "UPDATE key_grants SET sealed = ? WHERE secret = ? AND holder = ?",
                (crypto.seal(forged, public, label="audit_key"), "audit_key", username),
            )
    conn.close()
    with open_services(db) as anonymous, pytest.raises(AuditKeyProblem, match="not the one"):
        anonymous.auth.login("rivera", PASSWORD)


def test_audit_verify_without_a_sign_in_checks_links_only_and_says_so(
    tmp_path: Path,
    keys: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    db = tmp_path / "clinic.db"
    add_accounts(db)
    code, out, _ = cli(capsys, monkeypatch, "--db", str(db), "audit", "verify")
    assert code == 1
    assert "links intact" in out
    assert "NOT checked" in out
    assert "--as" in out
    code, out, err = cli(
        capsys, monkeypatch, "--db", str(db), "--as", "rivera", "audit", "verify", stdin=PASSWORD
    )
    assert code == 0, out + err
    assert out.startswith("audit trail intact:")
    # A row's content edited with the triggers dropped: only the keyed check sees it.
    conn = sqlite3.connect(db)
    with conn:
        conn.execute("DROP TRIGGER IF EXISTS audit_no_update")
        conn.execute("UPDATE audit SET user = 'mallory' WHERE seq = 2")
    conn.close()
    code, out, _ = cli(
        capsys, monkeypatch, "--db", str(db), "--as", "rivera", "audit", "verify", stdin=PASSWORD
    )
    assert code == 1
    assert "audit trail BROKEN at row 2" in out
    code, out, err = cli(
        capsys, monkeypatch, "--db", str(db), "--as", "rivera", "audit", "verify", stdin="wrong"
    )
    assert code == 2
    assert err.startswith("--as:")


def test_the_recovery_slot_opens_with_the_backup_passphrase(tmp_path: Path, keys: Path) -> None:
    db = tmp_path / "clinic.db"
    add_accounts(db)
    with open_services(db) as anonymous:
        services = sign_in(anonymous, "admin")
        services.backups.set_passphrase(PASSPHRASE)
        key = services.store.key
    assert RECOVERY_HOLDER in holders(db)
    with open_services(db) as anonymous:
        from tpi_chart.services.audit_keys import AuditKeys

        recovery = AuditKeys(anonymous.store)
        assert not recovery.unlock_with_recovery("not the passphrase")
        assert anonymous.store.key is None
        assert recovery.unlock_with_recovery(PASSPHRASE)
        assert anonymous.store.key == key


def test_deactivation_drops_a_slot_and_a_password_reset_makes_a_new_one(
    tmp_path: Path, keys: Path
) -> None:
    db = tmp_path / "clinic.db"
    add_accounts(db)
    with open_services(db) as anonymous:
        admin = sign_in(anonymous, "admin")
        admin.auth.reset_password(admin.user, "rivera", "a-new-password-9")
        admin.auth.deactivate(admin.user, "chen")
    assert holders(db) == ["admin", "rivera"]
    with open_services(db) as anonymous:
        services = sign_in(anonymous, "rivera", "a-new-password-9")
        services.patients.create(patient("R1"))
        assert services.store.audit.verify().ok


def test_a_backup_carries_the_slots_not_a_key_and_restores_on_a_new_computer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tpi_chart.services import sealed_backup
    from tpi_chart.services.access import SYSTEM_SETUP

    monkeypatch.setenv("TPI_CHART_KEY_DIR", str(tmp_path / "old-pc" / "keys"))
    db = tmp_path / "old-pc" / "clinic.db"
    add_accounts(db)
    backup = tmp_path / "usb" / "clinic.tpibackup"
    with open_services(db) as anonymous:
        admin = sign_in(anonymous, "admin")
        admin.backups.set_passphrase(PASSPHRASE)
        admin.backups.backup_sealed(backup)
        key = admin.store.key
    members = sealed_backup.unseal(backup.read_bytes(), PASSPHRASE, str(backup))
    assert sorted(members) == [sealed_backup.DATABASE_MEMBER]  # no key file in it
    assert key is not None
    assert key not in members[sealed_backup.DATABASE_MEMBER]

    new_keys = tmp_path / "new-pc" / "keys"
    monkeypatch.setenv("TPI_CHART_KEY_DIR", str(new_keys))
    fresh = tmp_path / "new-pc" / "clinic.db"
    with open_services(fresh, SYSTEM_SETUP, for_restore=True) as services:
        services.backups.restore(backup, PASSPHRASE)
        # The passphrase opened the recovery slot: the restore is chained at once.
        assert services.store.key == key
        assert audit_trail.pending_count(services.store.conn) == 0  # type: ignore[attr-defined]
        assert services.store.audit.rows()[-1].action == "restore_db"
        restored_clinic = services.settings.clinic_id
    # (The empty clinic the restore replaced keeps its own key file, for its kept-aside copy.)
    assert not audit_log.key_path(new_keys, restored_clinic).exists()
    with open_services(fresh) as anonymous:
        services = sign_in(anonymous, "chen")
        report = services.store.audit.verify()
        assert report.ok
        assert report.macs_checked
        services.patients.create(patient("N1"))


def test_a_migrated_clinic_is_told_its_key_has_no_recovery_copy_until_the_passphrase_is_typed(
    tmp_path: Path, keys: Path
) -> None:
    """The passphrase was set before key slots existed: only its derived key is kept, so the
    recovery slot cannot be made at the sealing sign-in. The backup status says so (and warns)
    until an administrator types the passphrase again; then a restore can open the key."""
    from datetime import UTC, datetime

    from tpi_chart.services.backup import AutomaticBackups

    db = tmp_path / "clinic.db"
    with open_services(db) as services:
        old_auth = AuthService(services.store.users, services.store.audit)
        admin = old_auth.create_first_administrator("admin", "Pat Admin", PASSWORD)
        old = services.as_user(admin)
        old.backups.set_passphrase(PASSPHRASE)  # before slots: no slot to put it in
        assert old.backups.has_recovery_slot()  # nothing sealed yet, nothing missing
    with open_services(db) as anonymous:
        services = sign_in(anonymous, "admin")
        assert holders(db) == ["admin"]
        state = AutomaticBackups(services.backups, tmp_path / "backups").state()
        now = datetime.now(UTC)
        assert state.needs_warning(now)
        assert state.age_text(now) == (
            "The audit key has no recovery copy: enter the backup passphrase again "
            "(tpi-chart backup --set-passphrase)"
        )
        services.backups.set_passphrase(PASSPHRASE)
        assert holders(db) == ["*recovery", "admin"]
        assert AutomaticBackups(services.backups, tmp_path / "backups").state().age_text(now) == (
            "No backup yet"
        )

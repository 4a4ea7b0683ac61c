"""Consistent online backups and checked restores of the database."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

from tpi_chart.services import sealed_backup
from tpi_chart.services.errors import InvalidInput, StorageError
from tpi_chart.storage.audit import key_path
from tpi_chart.storage.interfaces import Store


def _stamp() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")


class BackupService:
    def __init__(self, store: Store, user: str) -> None:
        self._store = store
        self._user = user

    def backup(self, out: Path) -> Path:
        """Copy the database to `out` through the online backup API, then run integrity_check
        and foreign_key_check on the copy. The copy is made beside `out` and renamed over it
        only when it checks out. Audited as `backup`."""
        out = out.expanduser().absolute()
        if out == self._store.path.absolute():
            raise InvalidInput([f"{out}: that is the database itself; choose another file"])
        if out.is_dir():
            raise InvalidInput([f"{out}: is a folder; give a file name"])
        out.parent.mkdir(parents=True, exist_ok=True)
        temp = out.with_name(f".{out.name}.{_stamp()}.tmp")
        try:
            problems = self._store.backup_to(temp)
            if problems:
                raise StorageError(
                    f"the backup copy failed its check and was not kept: {'; '.join(problems[:3])}"
                )
            os.replace(temp, out)
        finally:
            temp.unlink(missing_ok=True)
        if not self._store.readonly:  # a rescue of a read-only database cannot record it
            self._store.audit.record(
                user=self._user, action="backup", entity="database", after={"file": str(out)}
            )
        return out

    def set_passphrase(self, passphrase: str) -> None:
        """Set the clinic's backup passphrase (first run, or a change): its derived key is kept
        0600 in the key folder so automatic backups need nobody to type it. Audited (not the
        passphrase)."""
        key = sealed_backup.BackupKey.derive(sealed_backup.check_passphrase(passphrase))
        sealed_backup.save_key(self._store.key_dir, self._store.clinic_id, key)
        if not self._store.readonly:
            self._store.audit.record(
                user=self._user,
                action="settings",
                entity="setting",
                after={"backup_passphrase": "set"},
            )

    def has_passphrase(self) -> bool:
        return sealed_backup.load_key(self._store.key_dir, self._store.clinic_id) is not None

    def backup_sealed(self, out: Path, passphrase: str | None = None) -> Path:
        """One encrypted file (`sealed_backup`) holding the database and the audit key: enough
        to bring the clinic back on a new machine. The copy is taken into memory through the
        online backup API and checked (integrity_check, foreign_key_check) before anything is
        written; the file is built unnamed and linked into place whole, so an interrupted backup
        leaves nothing. It is then read back and opened with the key to verify it. Audited as
        `backup` (not on a read-only rescue, which cannot record it)."""
        out = out.expanduser().absolute()
        if out == self._store.path.absolute():
            raise InvalidInput([f"{out}: that is the database itself; choose another file"])
        if out.is_dir():
            raise InvalidInput([f"{out}: is a folder; give a file name"])
        if passphrase is not None:
            key = sealed_backup.BackupKey.derive(sealed_backup.check_passphrase(passphrase))
        else:
            stored = sealed_backup.load_key(self._store.key_dir, self._store.clinic_id)
            if stored is None:
                raise InvalidInput(
                    [
                        "backup.passphrase: no backup passphrase is set for this clinic; set one "
                        "(`tpi-chart backup --set-passphrase`) or give it when asked"
                    ]
                )
            key = stored
        database, problems = self._store.snapshot()
        if problems:
            raise StorageError(
                f"the backup copy failed its check and was not written: {'; '.join(problems[:3])}"
            )
        files = {sealed_backup.DATABASE_MEMBER: database}
        audit_key = key_path(self._store.key_dir, self._store.clinic_id)
        if audit_key.exists():
            files[f"keys/{audit_key.name}"] = audit_key.read_bytes()
        data = sealed_backup.seal(files, key, self._store.clinic_id)
        sealed_backup.write_private_atomically(out, data)
        if out.read_bytes() != data:
            out.unlink(missing_ok=True)
            raise StorageError(f"{out}: the backup read back differently and was removed")
        if not self._store.readonly:
            self._store.audit.record(
                user=self._user,
                action="backup",
                entity="database",
                after={"file": str(out), "encrypted": True},
            )
        return out

    def restore(self, file: Path, passphrase: str | None = None) -> Path:
        """Replace the database's content with `file` after checking it (TPI Chart database,
        integrity_check, foreign_key_check). The current content is kept aside first as
        `<db>.before-restore-<timestamp>`, whose path is returned. Audited as `restore_db`, with
        the audit anchor before and after (a restore legitimately rolls the trail back; the store
        re-anchors it to the restored tail)."""
        file = file.expanduser().absolute()
        if not file.is_file():
            raise InvalidInput([f"{file}: no such file"])
        if file == self._store.path.absolute():
            raise InvalidInput([f"{file}: that is the database itself"])
        aside = self._store.path.with_name(f"{self._store.path.name}.before-restore-{_stamp()}")
        if sealed_backup.is_sealed(file):
            reanchored = self._restore_sealed(file, passphrase, aside)
        else:
            reanchored = self._store.restore_from(file, aside)
        self._store.audit.record(
            user=self._user,
            action="restore_db",
            entity="database",
            after={"file": str(file), "previous_kept_as": str(aside), **reanchored},
        )
        return aside

    def _restore_sealed(self, file: Path, passphrase: str | None, aside: Path) -> dict[str, object]:
        if passphrase is None:
            raise InvalidInput([f"backup.passphrase: {file} is encrypted; give its passphrase"])
        files = sealed_backup.unseal(file.read_bytes(), passphrase, str(file))
        database = files.get(sealed_backup.DATABASE_MEMBER)
        if database is None:
            raise InvalidInput([f"{file}: holds no database"])
        key_dir = self._store.key_dir
        key_dir.mkdir(parents=True, exist_ok=True)
        for name, data in files.items():
            if not name.startswith("keys/"):
                continue
            target = key_dir / Path(name).name
            if target.exists() and target.read_bytes() != data:
                raise StorageError(
                    f"{target} already holds another audit key for this clinic; the backup was "
                    "not restored (move that file away if it is stale, then try again)"
                )
            if not target.exists():
                sealed_backup.write_private_atomically(target, data)
        temp = self._store.path.with_name(f".{self._store.path.name}.restore-{_stamp()}.tmp")
        try:
            sealed_backup.write_private_atomically(temp, database)
            return self._store.restore_from(temp, aside)
        finally:
            temp.unlink(missing_ok=True)

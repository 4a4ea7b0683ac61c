"""Consistent online backups and checked restores of the database."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

from tpi_chart.domain.users import User
from tpi_chart.services.access import DeniedHook, Permissions
from tpi_chart.services.errors import InvalidInput, StorageError
from tpi_chart.storage.interfaces import Store


def _stamp() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")


class BackupService:
    """Built for the signed-in `user`: backing up needs `backup`, restoring `restore`
    (administrators)."""

    def __init__(self, store: Store, user: User, *, on_denied: DeniedHook | None = None) -> None:
        self._store = store
        self._permissions = Permissions(user, on_denied)
        self._user = user.username

    def backup(self, out: Path) -> Path:
        """Copy the database to `out` through the online backup API, then run integrity_check
        and foreign_key_check on the copy. The copy is made beside `out` and renamed over it
        only when it checks out. Audited as `backup`."""
        self._permissions.require("backup")
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
        self._store.audit.record(
            user=self._user, action="backup", entity="database", after={"file": str(out)}
        )
        return out

    def restore(self, file: Path) -> Path:
        """Replace the database's content with `file` after checking it (TPI Chart database,
        integrity_check, foreign_key_check). The current content is kept aside first as
        `<db>.before-restore-<timestamp>`, whose path is returned. Audited as `restore_db`, with
        the audit anchor before and after (a restore legitimately rolls the trail back; the store
        re-anchors it to the restored tail)."""
        self._permissions.require("restore")
        file = file.expanduser().absolute()
        if not file.is_file():
            raise InvalidInput([f"{file}: no such file"])
        if file == self._store.path.absolute():
            raise InvalidInput([f"{file}: that is the database itself"])
        aside = self._store.path.with_name(f"{self._store.path.name}.before-restore-{_stamp()}")
        reanchored = self._store.restore_from(file, aside)
        self._store.audit.record(
            user=self._user,
            action="restore_db",
            entity="database",
            after={"file": str(file), "previous_kept_as": str(aside), **reanchored},
        )
        return aside

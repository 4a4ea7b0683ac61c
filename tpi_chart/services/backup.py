"""Consistent online backups and checked restores of the database. A clinic on a PostgreSQL
server is backed up with pg_dump into the same encrypted file format and verified likewise
(`services/server_backup.py`); it is restored into an empty server database by
`server_backup.restore_clinic`, not over the open one."""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import platformdirs

from tpi_chart.domain.users import User
from tpi_chart.services import sealed_backup
from tpi_chart.services.access import DeniedHook, Permissions
from tpi_chart.services.audit_keys import AuditKeys
from tpi_chart.services.errors import InvalidInput, StorageError
from tpi_chart.services.paths import key_dir, make_private_folder
from tpi_chart.storage.audit import key_path
from tpi_chart.storage.interfaces import FileBackedStore, Store
from tpi_chart.storage.sqlite.backup import check_bytes


def _stamp() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")


class BackupService:
    """Built for the signed-in `user`: backing up needs `backup`, restoring `restore`
    (administrators)."""

    def __init__(self, store: Store, user: User, *, on_denied: DeniedHook | None = None) -> None:
        self._store = store
        self._permissions = Permissions(user, on_denied)
        self._user = user.username

    @property
    def _file(self) -> FileBackedStore:
        """The store as a file: plain copies and restores here copy the SQLite file. A clinic on
        a PostgreSQL server has encrypted pg_dump backups (`backup_sealed`) and is restored into
        an empty database (docs/deployment.md)."""
        if not isinstance(self._store, FileBackedStore):
            raise StorageError(
                "this clinic's records are on a database server: it is backed up with "
                "`tpi-chart backup --out FILE` (pg_dump, encrypted) and restored into a new, "
                "empty database (`tpi-chart restore FILE --db postgresql://…`; "
                "docs/deployment.md). Nothing was changed."
            )
        return self._store

    @property
    def on_server(self) -> bool:
        return not isinstance(self._store, FileBackedStore)

    @property
    def _key_dir(self) -> Path:
        """Where the backup passphrase's derived key is kept: beside a file clinic's audit key;
        for a server clinic, this computer's key folder (the one that makes the backups)."""
        return self._store.key_dir if isinstance(self._store, FileBackedStore) else key_dir()

    def backup(self, out: Path) -> Path:
        """Copy the database to `out` through the online backup API, then run integrity_check
        and foreign_key_check on the copy. The copy is made beside `out` and renamed over it
        only when it checks out. Audited as `backup`."""
        self._permissions.require("backup")
        out = out.expanduser().absolute()
        if out == self._file.path.absolute():
            raise InvalidInput([f"{out}: that is the database itself; choose another file"])
        if out.is_dir():
            raise InvalidInput([f"{out}: is a folder; give a file name"])
        out.parent.mkdir(parents=True, exist_ok=True)
        temp = out.with_name(f".{out.name}.{_stamp()}.tmp")
        try:
            problems = self._file.backup_to(temp)
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
        0600 in the key folder so automatic backups need nobody to type it. Needs `backup`.
        Audited (not the passphrase)."""
        self._permissions.require("backup")
        key = sealed_backup.BackupKey.derive(sealed_backup.check_passphrase(passphrase))
        sealed_backup.save_key(self._key_dir, self._store.clinic_id, key)
        # The audit key's recovery slot opens with the same passphrase (audit_keys).
        AuditKeys(self._store).set_recovery(passphrase, self._user)
        if not self._store.readonly:
            self._store.audit.record(
                user=self._user,
                action="settings",
                entity="setting",
                after={"backup_passphrase": "set"},
            )

    def has_passphrase(self) -> bool:
        return sealed_backup.load_key(self._key_dir, self._store.clinic_id) is not None

    def has_recovery_slot(self) -> bool:
        """Whether a restore on a new computer can open the audit key with the passphrase (a
        key not yet sealed into slots needs none)."""
        return not self._store.audit_sealed or AuditKeys(self._store).has_recovery_slot()

    def backup_sealed(self, out: Path, passphrase: str | None = None) -> Path:
        """One encrypted file (`sealed_backup`) holding the database and the audit key: enough
        to bring the clinic back on a new machine. The copy is taken into memory through the
        online backup API and checked (integrity_check, foreign_key_check) before anything is
        written; the file is built unnamed and linked into place whole, so an interrupted backup
        leaves nothing. It is then read back and opened with the key to verify it. Audited as
        `backup` (not on a read-only rescue, which cannot record it). Needs `backup`.
        A server clinic's file holds its pg_dump archive instead, and is verified right away by
        decrypting it and checking the archive (`server_backup`)."""
        self._permissions.require("backup")
        return self.write_scheduled(out, passphrase)

    def write_scheduled(self, out: Path, passphrase: str | None = None) -> Path:
        """`backup_sealed` without the role check: the clinic's automatic backup
        (`AutomaticBackups`), which runs at whoever's sign-in and closing; it is the clinic's
        schedule, set up by an administrator (the passphrase), not this person's request."""
        out = out.expanduser().absolute()
        if not self.on_server and out == self._file.path.absolute():
            raise InvalidInput([f"{out}: that is the database itself; choose another file"])
        if out.is_dir():
            raise InvalidInput([f"{out}: is a folder; give a file name"])
        if passphrase is not None:
            key = sealed_backup.BackupKey.derive(sealed_backup.check_passphrase(passphrase))
        else:
            stored = sealed_backup.load_key(self._key_dir, self._store.clinic_id)
            if stored is None:
                raise InvalidInput(
                    [
                        "backup.passphrase: no backup passphrase is set for this clinic; set one "
                        "(`tpi-chart backup --set-passphrase`) or give it when asked"
                    ]
                )
            key = stored
        files = self._server_members() if self.on_server else self._file_members()
        data = sealed_backup.seal(files, key, self._store.clinic_id)
        sealed_backup.write_private_atomically(out, data)
        if out.read_bytes() != data:
            out.unlink(missing_ok=True)
            raise StorageError(f"{out}: the backup read back differently and was removed")
        if self.on_server:
            try:
                self._verify(out, key)
            except BaseException:
                out.unlink(missing_ok=True)
                raise
        if not self._store.readonly:
            self._store.audit.record(
                user=self._user,
                action="backup",
                entity="database",
                after={"file": str(out), "encrypted": True},
            )
        return out

    def _file_members(self) -> dict[str, bytes]:
        database, problems = self._file.snapshot()
        if problems:
            raise StorageError(
                f"the backup copy failed its check and was not written: {'; '.join(problems[:3])}"
            )
        files = {sealed_backup.DATABASE_MEMBER: database}
        audit_key = key_path(self._file.key_dir, self._store.clinic_id)
        if audit_key.exists():
            files[f"keys/{audit_key.name}"] = audit_key.read_bytes()
        return files

    def _server_members(self) -> dict[str, bytes]:
        from tpi_chart.services.server_backup import dump_members  # psycopg: on demand

        return dump_members(self._store)

    def verify_sealed(self, file: Path) -> None:
        """Open a written backup with the clinic's key and check its database
        (integrity_check, foreign_key_check; a server clinic's archive with pg_restore --list):
        StorageError when it fails."""
        key = sealed_backup.load_key(self._key_dir, self._store.clinic_id)
        if key is None:
            raise StorageError("no backup passphrase is set; the backup cannot be verified")
        self._verify(file, key)

    def _verify(self, file: Path, key: sealed_backup.BackupKey) -> None:
        files = sealed_backup.unseal_with_key(file.read_bytes(), key, str(file))
        archive = files.get(sealed_backup.SERVER_DUMP_MEMBER)
        if archive is not None:
            from tpi_chart.services.server_backup import check_archive

            check_archive(archive, str(file))
            return
        database = files.get(sealed_backup.DATABASE_MEMBER)
        if database is None:
            raise StorageError(f"{file}: holds no database")
        problems = check_bytes(database)
        if problems:
            raise StorageError(f"{file}: the backup failed its check: {'; '.join(problems[:3])}")

    def restore(self, file: Path, passphrase: str | None = None) -> Path:
        """Replace the database's content with `file` after checking it (TPI Chart database,
        integrity_check, foreign_key_check). The current content is kept aside first as
        `<db>.before-restore-<timestamp>`, whose path is returned. Audited as `restore_db`, with
        the audit anchor before and after (a restore legitimately rolls the trail back; the store
        re-anchors it to the restored tail)."""
        self._permissions.require("restore")
        database = self._file.path  # first: a server clinic is refused whatever the file
        file = file.expanduser().absolute()
        if not file.is_file():
            raise InvalidInput([f"{file}: no such file"])
        if file == database.absolute():
            raise InvalidInput([f"{file}: that is the database itself"])
        aside = database.with_name(f"{database.name}.before-restore-{_stamp()}")
        if sealed_backup.is_sealed(file):
            reanchored = self._restore_sealed(file, passphrase, aside)
        else:
            reanchored = self._file.restore_from(file, aside)
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
        if database is None and sealed_backup.SERVER_DUMP_MEMBER in files:
            raise InvalidInput(
                [
                    f"{file}: is a backup of a clinic on a database server: restore it into a "
                    "new, empty server database (`tpi-chart restore FILE --db postgresql://…`)"
                ]
            )
        if database is None:
            raise InvalidInput([f"{file}: holds no database"])
        key_dir = self._file.key_dir
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
        temp = self._file.path.with_name(f".{self._file.path.name}.restore-{_stamp()}.tmp")
        try:
            sealed_backup.write_private_atomically(temp, database)
            reanchored = self._file.restore_from(temp, aside)
        finally:
            temp.unlink(missing_ok=True)
        if self._store.audit_sealed:
            # A new computer: nobody has signed in to the restored clinic, but the passphrase
            # that opened the backup also opens the audit key's recovery slot (when it has one;
            # else the restore is recorded at the first sign-in).
            keys = AuditKeys(self._store)
            if self._store.key is None:
                keys.unlock_with_recovery(passphrase)
            elif not keys.has_recovery_slot():
                keys.set_recovery(passphrase, self._user)
        return reanchored


AUTO_SUFFIX = ".tpibackup"
DEFAULT_KEEP_DAILY = 14
DEFAULT_KEEP_WEEKLY = 8
WARN_AFTER = timedelta(days=2)
_AUTO_NAME = re.compile(r"^tpi-chart-(\d{8}T\d{6}Z)\.tpibackup$")


def default_backup_folder() -> Path:
    return Path(platformdirs.user_data_dir("tpi-chart", appauthor=False)) / "backups"


@dataclass(frozen=True)
class BackupState:
    """What the window shows: when the last verified automatic backup was written."""

    last_good: datetime | None
    passphrase_set: bool
    #: False for a clinic whose audit key was sealed after its passphrase was set (a clinic
    #: from before key slots): the passphrase itself is never stored, so the recovery slot can
    #: only be made when someone types it again. Until then a backup restored on a new computer
    #: cannot check the audit trail's seals before the first sign-in.
    recovery_slot: bool = True
    #: A clinic on a database server: its backups are scheduled by its IT on one computer
    #: (`tpi-chart backup --db postgresql://…`), not made by each workstation's window.
    on_server: bool = False

    def age_text(self, now: datetime) -> str:
        if self.on_server:
            return "Backups: made on the clinic server's schedule"
        if not self.passphrase_set:
            return (
                "No automatic backups: set a backup passphrase (tpi-chart backup --set-passphrase)"
            )
        if not self.recovery_slot:
            return (
                "The audit key has no recovery copy: enter the backup passphrase again "
                "(tpi-chart backup --set-passphrase)"
            )
        if self.last_good is None:
            return "No backup yet"
        hours = (now - self.last_good).total_seconds() / 3600
        if hours < 1:
            return "Last backup: less than an hour ago"
        if hours < 48:
            return f"Last backup: {int(hours)} h ago"
        return f"Last backup: {int(hours // 24)} days ago"

    def needs_warning(self, now: datetime) -> bool:
        if self.on_server:
            return False
        return (
            not self.passphrase_set
            or not self.recovery_slot
            or self.last_good is None
            or now - self.last_good > WARN_AFTER
        )


class AutomaticBackups:
    """Rotating encrypted backups in a per-user folder: on the first sign-in of each day and on
    closing (the window calls `run`), each read back and opened with the clinic key and its
    database checked before the older ones are pruned; kept: the newest of each of the last
    `keep_daily` days and of each of the `keep_weekly` weeks before them."""

    def __init__(
        self,
        backups: BackupService,
        folder: Path | None = None,
        keep_daily: int = DEFAULT_KEEP_DAILY,
        keep_weekly: int = DEFAULT_KEEP_WEEKLY,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._backups = backups
        self.folder = folder or default_backup_folder()
        self.keep_daily = keep_daily
        self.keep_weekly = keep_weekly
        self._clock = clock

    def _existing(self) -> list[tuple[datetime, Path]]:
        found: list[tuple[datetime, Path]] = []
        try:
            entries = list(self.folder.iterdir())
        except OSError:
            return []
        for entry in entries:
            match = _AUTO_NAME.match(entry.name)
            if match:
                moment = datetime.strptime(match.group(1), "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
                found.append((moment, entry))
        return sorted(found)

    def state(self) -> BackupState:
        if self._backups.on_server:
            return BackupState(None, passphrase_set=True, on_server=True)
        existing = self._existing()
        return BackupState(
            existing[-1][0] if existing else None,
            self._backups.has_passphrase(),
            self._backups.has_recovery_slot(),
        )

    def due(self) -> bool:
        """No backup yet today (UTC date): the first sign-in of the day makes one."""
        existing = self._existing()
        return not existing or existing[-1][0].date() != self._clock().date()

    def run(self) -> Path | None:
        """Write, verify and prune; None when no backup passphrase is set (nothing to encrypt
        with: the window says so). A backup that fails its verification is removed and the
        error raised. None too for a clinic on a database server: every room's window making
        its own copy of the whole clinic would scatter them; one computer makes them on the
        clinic's schedule (`tpi-chart backup`, docs/deployment.md)."""
        if self._backups.on_server or not self._backups.has_passphrase():
            return None
        make_private_folder(self.folder)
        now = self._clock()
        path = self.folder / f"tpi-chart-{now.strftime('%Y%m%dT%H%M%SZ')}{AUTO_SUFFIX}"
        self._backups.write_scheduled(path)
        try:
            self._backups.verify_sealed(path)
        except BaseException:
            path.unlink(missing_ok=True)
            raise
        self.prune()
        return path

    def prune(self) -> list[Path]:
        existing = self._existing()
        keep: set[Path] = set()
        days: dict[date, Path] = {}
        for moment, path in existing:  # oldest first: the newest of a day wins
            days[moment.date()] = path
        daily = sorted(days)[-self.keep_daily :] if self.keep_daily else []
        keep |= {days[day] for day in daily}
        weeks: dict[tuple[int, int], Path] = {}
        oldest_daily = daily[0] if daily else None
        for moment, path in existing:
            if oldest_daily is None or moment.date() < oldest_daily:
                iso = moment.isocalendar()
                weeks[(iso.year, iso.week)] = path
        keep |= (
            {weeks[week] for week in sorted(weeks)[-self.keep_weekly :]}
            if self.keep_weekly
            else set()
        )
        removed = [path for _, path in existing if path not in keep]
        for path in removed:
            path.unlink(missing_ok=True)
        return removed

"""Backups of a clinic on a PostgreSQL server (issue 18 §5), encrypted and verified as the file
backups are (`services/backup.py`, `services/sealed_backup.py`: the same file format, passphrase
and key), with `pg_dump` in place of SQLite's online backup (`storage/postgres/dump.py`).

- Backing up (`BackupService.backup_sealed` on a server clinic; `tpi-chart backup --db
  postgresql://… --out FILE`): pg_dump's custom-format archive is taken into memory, sealed as
  the member `database.pgdump`, written, then read back, decrypted and checked with
  `pg_restore --list`, which must show the audit trail's rows. The plain archive never touches the
  disk. The clinic's audit key needs no member of its own: it is in the archive, sealed to the
  accounts and to the backup passphrase's recovery slot (`key_grants`).
- Restoring (`tpi-chart restore FILE --db postgresql://…/new`): into an empty database only (a
  restore never mixes two clinics or overwrites one), in one transaction; then the restore is
  recorded in the restored clinic's audit trail and the clinic is checked as `tpi-chart audit
  verify` checks it, the audit key opened by the same passphrase through its recovery slot. As
  for a file restored on a new computer, the backup's passphrase is what authorises it: the empty
  database has no accounts to sign in to.
"""

from __future__ import annotations

from pathlib import Path

from tpi_chart.services import sealed_backup
from tpi_chart.services.access import INTEGRITY_CHECK, SYSTEM_SETUP
from tpi_chart.services.audit_keys import AuditKeys
from tpi_chart.services.charting import ChartingService
from tpi_chart.services.errors import InvalidInput
from tpi_chart.services.integrity import ClinicReport, verify_clinic
from tpi_chart.services.server import open_server, server_url
from tpi_chart.storage.interfaces import Store
from tpi_chart.storage.postgres import dump


def dump_members(store: Store) -> dict[str, bytes]:
    """What a server clinic's backup file holds: its pg_dump archive."""
    return {sealed_backup.SERVER_DUMP_MEMBER: dump.dump(server_url(store))}


def check_archive(data: bytes, name: str) -> None:
    """A backup's archive is a readable pg_dump archive that holds the audit trail."""
    dump.check_dump(data, name)


def restore_clinic(url: str, file: Path, passphrase: str) -> ClinicReport:
    """Restore the encrypted backup `file` into the empty server database at `url`, record it,
    and check the restored clinic (see the module's docstring)."""
    file = file.expanduser().absolute()
    files = sealed_backup.unseal(file.read_bytes(), passphrase, str(file))
    data = files.get(sealed_backup.SERVER_DUMP_MEMBER)
    if data is None:
        if sealed_backup.DATABASE_MEMBER in files:
            raise InvalidInput(
                [
                    f"{file}: is a backup of a clinic kept in a file, not on a server: restore "
                    "it to a file (--db FILE.db), then move that clinic onto the server with "
                    "`tpi-chart migrate`"
                ]
            )
        raise InvalidInput([f"{file}: holds no database"])
    dump.check_dump(data, str(file))
    dump.restore(url, data, str(file))
    store = open_server(url)
    try:
        if store.key is None:
            # Nobody can sign in to a database restored a moment ago; the passphrase that
            # opened the backup opens the audit key's recovery slot, when the clinic made one.
            AuditKeys(store).unlock_with_recovery(passphrase)
        store.audit.record(
            user=SYSTEM_SETUP.username,
            action="restore_db",
            entity="database",
            after={"file": str(file), "server": store.host},
        )
        return verify_clinic(store, ChartingService(store, INTEGRITY_CHECK))
    finally:
        store.close()

"""Where the database and the audit key live (shared by the GUI and the CLI).

The database: `--db`, else `TPI_CHART_DB`, else
`platformdirs.user_data_dir("tpi-chart")/tpi-chart.db`.
The audit key folder: `TPI_CHART_KEY_DIR`, else `platformdirs.user_config_dir("tpi-chart")/keys`
(outside the database folder, so a copied database does not carry its key).
The clinic folder (the clinic's own payer profiles and maxima, `tpi_chart.domain.clinic_overlay`):
`TPI_CHART_CLINIC_DIR`, else `platformdirs.user_config_dir("tpi-chart")/clinic` when it exists,
else the machine-wide `platformdirs.site_config_dir("tpi-chart")/clinic` (where IT puts it once
for every account on the computer).
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

import platformdirs

from tpi_chart.storage.errors import StorageError, UnsafeLocation

APP_DIR_NAME = "tpi-chart"
DB_FILE_NAME = "tpi-chart.db"
DB_ENV = "TPI_CHART_DB"
KEY_DIR_ENV = "TPI_CHART_KEY_DIR"
CLINIC_DIR_ENV = "TPI_CHART_CLINIC_DIR"
CLINIC_DIR_NAME = "clinic"

#: Folder names of cloud-sync clients (compared case-insensitively with each path component).
CLOUD_SYNC_NAMES = (
    "onedrive",
    "dropbox",
    "icloud drive",
    "icloud",
    "mobile documents",
    "google drive",
    "googledrive",
    "box sync",
    "pcloud drive",
    "nextcloud",
    "owncloud",
)
NETWORK_FSTYPES = frozenset(
    {"nfs", "nfs4", "cifs", "smb", "smb2", "smb3", "smbfs", "afs", "fuse.sshfs", "9p", "ncpfs"}
)


def default_db_path() -> Path:
    return Path(platformdirs.user_data_dir(APP_DIR_NAME, appauthor=False)) / DB_FILE_NAME


def demo_db_path() -> Path:
    """The demo clinic's own database, beside the clinic's (never the same file)."""
    return default_db_path().with_name("tpi-chart-demo.db")


def resolve_db_path(explicit: Path | str | None = None) -> Path:
    """The database file to use: the explicit path, else $TPI_CHART_DB, else the default.

    For the commands that work on a file only (doctor, the read-only rescue): a server clinic
    is refused in words here, not turned into a path that "does not exist"."""
    if explicit is not None and str(explicit) != "":
        chosen = str(explicit)
    elif os.environ.get(DB_ENV):
        chosen = os.environ[DB_ENV]
    else:
        return default_db_path().expanduser().absolute()
    if is_server_url(chosen):
        raise StorageError(
            "this command works on a clinic's database file; a clinic on a PostgreSQL server "
            "is checked with `tpi-chart audit verify` (give --db a file, or ask your IT contact "
            "to check the server)"
        )
    return Path(chosen).expanduser().absolute()


def is_server_url(text: str) -> bool:
    """Whether `--db`/$TPI_CHART_DB names a clinic on a PostgreSQL server (issue 18)."""
    return text.startswith(("postgresql://", "postgres://"))


def resolve_database(explicit: Path | str | None = None) -> Path | str:
    """The clinic to open: a PostgreSQL URL (text, as given) or a database file (as
    `resolve_db_path`), from the explicit choice, else $TPI_CHART_DB, else the default file."""
    chosen = str(explicit) if explicit is not None and str(explicit) != "" else None
    if chosen is None:
        chosen = os.environ.get(DB_ENV) or None
    if chosen is not None and is_server_url(chosen):
        return chosen
    return resolve_db_path(explicit)


def key_dir() -> Path:
    override = os.environ.get(KEY_DIR_ENV)
    if override:
        return Path(override).expanduser().absolute()
    return Path(platformdirs.user_config_dir(APP_DIR_NAME, appauthor=False)) / "keys"


def config_dir() -> Path:
    return Path(platformdirs.user_config_dir(APP_DIR_NAME, appauthor=False))


def clinic_dir_places() -> tuple[Path, Path]:
    """Where a clinic folder is looked for: this account's, then the computer's."""
    site = Path(platformdirs.site_config_dir(APP_DIR_NAME, appauthor=False)) / CLINIC_DIR_NAME
    return config_dir() / CLINIC_DIR_NAME, site


def clinic_dir() -> Path:
    """The clinic folder in force (it need not exist: then nothing is added)."""
    override = os.environ.get(CLINIC_DIR_ENV)
    if override:
        return Path(override).expanduser().absolute()
    personal, site = clinic_dir_places()
    return personal if personal.is_dir() else site


def describe_missing_clinic_dir(folder: Path) -> str:
    """`folder` (the clinic folder in force) does not exist: say where one would go."""
    if os.environ.get(CLINIC_DIR_ENV):
        return f"none ({folder}, named by {CLINIC_DIR_ENV}, does not exist)"
    personal, site = clinic_dir_places()
    return f"none (neither {personal} nor {site} exists)"


def _mounts(mounts_file: Path) -> list[tuple[str, str]]:
    try:
        text = mounts_file.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return []
    mounts = []
    for line in text.splitlines():
        parts = line.split()
        if len(parts) >= 3:
            mounts.append((parts[1].replace("\\040", " "), parts[2]))
    return mounts


def network_fstype(path: Path, mounts_file: Path = Path("/proc/mounts")) -> str | None:
    """The file system type if `path` lies on a network mount (Linux /proc/mounts), else None."""
    best = ("", "")
    text = str(path)
    for mount_point, fstype in _mounts(mounts_file):
        prefix = mount_point.rstrip("/") + "/"
        if (text == mount_point or text.startswith(prefix) or mount_point == "/") and len(
            mount_point
        ) > len(best[0]):
            best = (mount_point, fstype)
    fstype = best[1].lower()
    return fstype if fstype in NETWORK_FSTYPES or fstype.startswith("nfs") else None


def check_location(path: Path, mounts_file: Path = Path("/proc/mounts")) -> None:
    """Refuse a database path in a cloud-sync folder or on a network mount (WAL needs a local
    disk; sync clients copy the file while it is written)."""
    for part in path.parts:
        lowered = part.lower()
        if any(lowered == name or lowered.startswith(name + " ") for name in CLOUD_SYNC_NAMES) or (
            lowered.startswith("onedrive")
        ):
            raise UnsafeLocation(
                f"{path} is inside a cloud-sync folder ({part}); keep the database on a local "
                "disk outside it (sync can corrupt a database that is being written). Use --db "
                f"or {DB_ENV} to choose another place."
            )
    fstype = network_fstype(path, mounts_file)
    if fstype is not None:
        raise UnsafeLocation(
            f"{path} is on a network drive ({fstype}); keep the database on a local disk (SQLite "
            f"cannot safely share a database over the network). Use --db or {DB_ENV} to choose "
            "another place."
        )


PRIVATE_FOLDER = 0o700
PRIVATE_FILE = 0o600


def make_private_folder(folder: Path) -> None:
    """Create `folder` (and missing parents) readable by the owner only. A folder that exists
    already keeps its permissions: it may be a shared place the user chose (Documents)."""
    missing: list[Path] = []
    current = folder
    while not current.exists():
        missing.append(current)
        if current.parent == current:
            break
        current = current.parent
    folder.mkdir(parents=True, exist_ok=True)
    for created in missing:
        # A file system without permissions (FAT) cannot do better.
        with contextlib.suppress(OSError):
            created.chmod(PRIVATE_FOLDER)

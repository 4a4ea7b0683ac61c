"""Every check the app makes of the machine it runs on, and its result (`tpi-chart doctor`, and
the window's About box).

Each check says what it found in a sentence IT can act on. `attention` means something needs
doing (exit 1 from `doctor`); `info` is reported without judging it.
The Qt checks (version, platform plugin, the window) need Qt, which this layer may not load: the
window and the command line's composition root pass them in as `extra` checks.
"""

from __future__ import annotations

import importlib.util
import os
import platform
import shutil
import stat
import subprocess
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from tpi_chart import __version__
from tpi_chart.domain.errors import InvalidInput
from tpi_chart.logs import log_folder
from tpi_chart.services.clinic import clinic_catalog
from tpi_chart.services.errors import StorageError
from tpi_chart.services.paths import (
    clinic_dir,
    config_dir,
    describe_missing_clinic_dir,
    key_dir,
    resolve_database,
)
from tpi_chart.services.system_packages import QT_SYSTEM_PACKAGES
from tpi_chart.storage.sqlite.inspect import summarize
from tpi_chart.storage.sqlite.migrations import SCHEMA_VERSION

Status = Literal["ok", "attention", "info"]

#: Below this much free space on the database's disk a backup or a migration may not fit.
LOW_DISK_BYTES = 1024**3
#: A backup older than this many days is reported as needing attention.
BACKUP_MAX_AGE_DAYS = 7


@dataclass(frozen=True)
class Check:
    name: str
    status: Status
    detail: str


CheckSource = Callable[[], Iterable[Check]]


def run_checks(db: Path | str | None = None, extra: Sequence[CheckSource] = ()) -> list[Check]:
    """All checks in order; `extra` (the Qt checks) come after the Python one. A check that
    fails unexpectedly is itself reported as needing attention, never raised."""
    file_checks: list[CheckSource]
    space_check: list[CheckSource]
    clinic = resolve_database(db)
    if isinstance(clinic, str):  # a server clinic: the file checks do not apply to it
        from tpi_chart.services.doctor_server import check_server

        file_checks, space_check = [lambda: check_server(clinic)], []
    else:
        db_path = clinic
        file_checks = [
            lambda: check_folders(db_path),
            lambda: check_database(db_path),
            lambda: [check_disk_encryption(db_path)],
        ]
        space_check = [lambda: [check_free_space(db_path)]]
    sources: list[CheckSource] = [
        lambda: [check_app()],
        lambda: [check_python()],
        *extra,
        lambda: [check_system_libraries()],
        lambda: [check_display()],
        *file_checks,
        lambda: [check_clinic_folder()],
        *space_check,
    ]
    checks: list[Check] = []
    for source in sources:
        try:
            checks.extend(source())
        except Exception as error:  # a broken check must not hide the others
            checks.append(Check("check", "attention", f"a check failed to run: {error!r}"))
    return checks


def needs_attention(checks: Iterable[Check]) -> bool:
    return any(check.status == "attention" for check in checks)


def check_app() -> Check:
    frozen = getattr(sys, "frozen", False)
    kind = "desktop bundle" if frozen else "Python package"
    where = Path(sys.executable).parent if frozen else Path(__file__).resolve().parents[1]
    return Check(
        "TPI Chart",
        "info",
        f"{__version__} ({kind} at {where}), database schema version {SCHEMA_VERSION}",
    )


def check_python() -> Check:
    version = platform.python_version()
    if sys.version_info < (3, 11):  # noqa: UP036 (reports rather than assumes)
        return Check("Python", "attention", f"{version}: TPI Chart needs Python 3.11 or newer")
    return Check("Python", "ok", f"{version} on {platform.system()} {platform.release()}")


def _qt_platform_plugin() -> Path | None:
    spec = importlib.util.find_spec("PySide6")
    if spec is None or not spec.submodule_search_locations:
        return None
    for location in spec.submodule_search_locations:
        plugin = Path(location) / "Qt" / "plugins" / "platforms" / "libqxcb.so"
        if plugin.exists():
            return plugin
    return None


def missing_qt_libraries() -> list[str] | None:
    """Shared libraries Qt's X11 platform plugin needs but the system lacks; None when that
    cannot be told here (not Linux, no plugin, no ldd)."""
    if not sys.platform.startswith("linux"):
        return None
    plugin = _qt_platform_plugin()
    if plugin is None or shutil.which("ldd") is None:
        return None
    output = subprocess.run(
        ["ldd", str(plugin)], capture_output=True, text=True, check=False
    ).stdout
    return sorted({line.split()[0] for line in output.splitlines() if "not found" in line})


def check_system_libraries() -> Check:
    missing = missing_qt_libraries()
    if missing is None:
        return Check("System libraries", "info", "not checked on this system (Linux only)")
    if missing:
        return Check(
            "System libraries",
            "attention",
            f"Qt's window plugin cannot load: {', '.join(missing)} not found. Install: "
            f"sudo apt-get install -y {QT_SYSTEM_PACKAGES}",
        )
    return Check("System libraries", "ok", "everything Qt's window plugin loads is present")


def check_display() -> Check:
    chosen = os.environ.get("QT_QPA_PLATFORM")
    if chosen:
        return Check("Display", "info", f"QT_QPA_PLATFORM={chosen} (set in the environment)")
    if not sys.platform.startswith("linux"):
        return Check("Display", "ok", f"{platform.system()} desktop")
    session = os.environ.get("WAYLAND_DISPLAY") or os.environ.get("DISPLAY")
    if not session:
        return Check(
            "Display",
            "attention",
            "no graphical session (DISPLAY and WAYLAND_DISPLAY are unset): the window cannot "
            "open; the commands work. On a headless machine: xvfb-run -a tpi-chart",
        )
    return Check("Display", "ok", session)


def _describe_folder(name: str, folder: Path, private: bool) -> Check:
    if not folder.exists():
        return Check(name, "info", f"{folder} (not created yet; the first start creates it)")
    mode = stat.S_IMODE(folder.stat().st_mode)
    writable = os.access(folder, os.W_OK)
    detail = f"{folder} (mode {mode:o})"
    if not writable:
        return Check(name, "attention", f"{detail}: this account cannot write to it")
    if private and os.name == "posix" and mode & 0o077:
        return Check(
            name,
            "attention",
            f"{detail}: other accounts on this computer can open it; run: chmod 700 {folder}",
        )
    return Check(name, "ok", detail)


def check_folders(db_path: Path) -> list[Check]:
    return [
        _describe_folder("Data folder", db_path.parent, private=True),
        _describe_folder("Config folder", config_dir(), private=False),
        _describe_folder("Audit key folder", key_dir(), private=True),
        _describe_folder("Log folder", log_folder(), private=True),
    ]


def _backup_check(at: str | None, file: str | None) -> Check:
    if at is None:
        return Check(
            "Last good backup",
            "attention",
            "no backup of this database yet; make one: tpi-chart backup --out FILE",
        )
    when = datetime.fromisoformat(at)
    age = (datetime.now(UTC) - when).days
    detail = f"{when:%Y-%m-%d %H:%M} UTC, {age} day(s) ago, to {file}"
    if age > BACKUP_MAX_AGE_DAYS:
        return Check(
            "Last good backup",
            "attention",
            f"{detail}: older than {BACKUP_MAX_AGE_DAYS} days; make one: tpi-chart backup --out "
            "FILE",
        )
    return Check("Last good backup", "ok", detail)


def check_database(db_path: Path) -> list[Check]:
    if not db_path.exists():
        return [
            Check("Database", "info", f"{db_path} (not created yet; the first start creates it)")
        ]
    try:
        summary = summarize(db_path)
    except (StorageError, OSError) as error:
        return [Check("Database", "attention", str(error))]
    database = Check(
        "Database",
        "ok",
        f"{db_path}: schema version {summary.schema_version}, quick check ok",
    )
    return [database, _backup_check(summary.last_backup_at, summary.last_backup_file)]


def _mount_source(path: Path, mounts_file: Path = Path("/proc/mounts")) -> str | None:
    """The device the file system holding `path` is mounted from (Linux)."""
    best_point, best_source = "", None
    text = str(path)
    try:
        lines = mounts_file.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return None
    for line in lines:
        parts = line.split()
        if len(parts) < 2:
            continue
        point = parts[1].replace("\\040", " ")
        inside = text == point or text.startswith(point.rstrip("/") + "/")
        if inside and len(point) >= len(best_point):
            best_point, best_source = point, parts[0]
    return best_source


def _dm_is_crypt(device: Path, sys_block: Path = Path("/sys/block")) -> bool | None:
    """Whether a device-mapper device is, or sits on, a dm-crypt (LUKS) mapping."""
    try:
        name = device.resolve().name
    except OSError:
        return None
    seen: set[str] = set()
    pending = [name]
    while pending:
        current = pending.pop()
        if current in seen:
            continue
        seen.add(current)
        uuid_file = sys_block / current / "dm" / "uuid"
        if uuid_file.exists() and uuid_file.read_text().startswith("CRYPT-"):
            return True
        slaves = sys_block / current / "slaves"
        if slaves.is_dir():
            pending += [slave.name for slave in slaves.iterdir()]
    return False


def check_disk_encryption(db_path: Path) -> Check:
    """Whether the database's disk is encrypted at rest, as far as this account can tell."""
    name = "Disk encryption"
    folder = db_path.parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    system: str = sys.platform  # a plain str: every branch is checked whatever mypy runs on
    if system.startswith("linux"):
        source = _mount_source(folder.resolve())
        if source is None or not source.startswith("/dev/"):
            return Check(
                name,
                "attention",
                f"cannot tell: {folder} is on {source or 'an unknown device'}; make sure the "
                "computer's disk is encrypted (LUKS)",
            )
        encrypted = _dm_is_crypt(Path(source))
        if encrypted:
            return Check(name, "ok", f"{folder} is on {source}, an encrypted (LUKS) device")
        return Check(
            name,
            "attention",
            f"{folder} is on {source}, which is not encrypted (no LUKS/dm-crypt found); turn on "
            "full-disk encryption (HIPAA/ONC expect patient data encrypted at rest)",
        )
    if system == "darwin" and shutil.which("fdesetup"):
        result = subprocess.run(["fdesetup", "status"], capture_output=True, text=True, check=False)
        if "FileVault is On" in result.stdout:
            return Check(name, "ok", "FileVault is on")
        return Check(name, "attention", f"FileVault: {result.stdout.strip() or 'unknown'}")
    return Check(
        name,
        "attention",
        "cannot be checked from an ordinary account on this system; make sure BitLocker (or "
        "the system's disk encryption) is on for the disk holding the data folder",
    )


def check_clinic_folder() -> Check:
    folder = clinic_dir()
    if not folder.is_dir():
        return Check(
            "Clinic folder", "info", f"{describe_missing_clinic_dir(folder)}: shipped catalog"
        )
    try:
        changes = clinic_catalog(folder).changes
    except InvalidInput as error:
        return Check(
            "Clinic folder",
            "attention",
            f"{folder}: {len(error.problems)} problem(s), first: {error.problems[0]}; run "
            "`tpi-chart catalog check`",
        )
    summary = "; ".join(changes) if changes else "no changes"
    return Check("Clinic folder", "ok", f"{folder}: {summary}")


def check_free_space(db_path: Path) -> Check:
    folder = db_path.parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    free = shutil.disk_usage(folder).free
    detail = f"{free / 1024**3:.1f} GB free on the disk of {folder}"
    if free < LOW_DISK_BYTES:
        return Check(
            "Free disk space",
            "attention",
            f"{detail}: below {LOW_DISK_BYTES // 1024**3} GB; a backup or an update may not fit",
        )
    return Check("Free disk space", "ok", detail)


def format_checks(checks: Iterable[Check]) -> list[str]:
    labels = {"ok": "ok", "attention": "ATTENTION", "info": "info"}
    return [f"{labels[c.status]:<10} {c.name}: {c.detail}" for c in checks]

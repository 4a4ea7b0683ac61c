"""Is the data folder on an encrypted volume? (issue 11 §7; reliability.md S8.)

A report, never a refusal: the answer is `encrypted` True/False, or None when this system cannot
tell. Linux: the mount holding the folder, its block device, and whether that device or one
below it is a dm-crypt/LUKS mapping (`/sys/block/dm-N/dm/uuid` starts with "CRYPT-"). macOS:
`fdesetup status` (FileVault). Windows: BitLocker's status needs an administrator, so it is
reported as unknown with what to check. `tpi-chart doctor` and the Settings dialog call
`volume_encryption()` and show `warning()` when it is not None.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class EncryptionStatus:
    encrypted: bool | None  # None: cannot tell on this system
    detail: str  # what was found, in words

    def warning(self) -> str | None:
        """The one-line warning to show, or None when the volume is encrypted."""
        if self.encrypted:
            return None
        if self.encrypted is None:
            return (
                f"Disk encryption could not be checked ({self.detail}); make sure full-disk "
                "encryption (BitLocker, FileVault or LUKS) is on for the records' disk."
            )
        return (
            f"The records are not on an encrypted disk ({self.detail}); turn on full-disk "
            "encryption (BitLocker, FileVault or LUKS): a lost or stolen computer exposes them."
        )


def _unescape(field: str) -> str:
    # /proc/mounts writes space, tab, newline and backslash as octal escapes.
    for code, char in (("\\040", " "), ("\\011", "\t"), ("\\012", "\n"), ("\\134", "\\")):
        field = field.replace(code, char)
    return field


def _mount_of(path: Path, mounts_file: Path) -> tuple[str, str, str] | None:
    """(device, mount point, fstype) of the mount holding `path` (the longest mount point)."""
    try:
        text = mounts_file.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    target = str(path)
    best: tuple[str, str, str] | None = None
    for line in text.splitlines():
        parts = line.split()
        if len(parts) < 3:
            continue
        device, point, fstype = _unescape(parts[0]), _unescape(parts[1]), parts[2]
        inside = target == point or target.startswith(point.rstrip("/") + "/")
        if inside and (best is None or len(point) >= len(best[1])):
            best = (device, point, fstype)
    return best


def _is_crypt(name: str, sys_block: Path, seen: frozenset[str] = frozenset()) -> bool:
    """Whether block device `name` (dm-0, sda2…) is a dm-crypt mapping or sits on one."""
    if name in seen:
        return False
    block = sys_block / name
    try:
        if (block / "dm" / "uuid").read_text(encoding="utf-8").startswith("CRYPT-"):
            return True
    except OSError:
        pass
    slaves = block / "slaves"
    try:
        below = [entry.name for entry in slaves.iterdir()]
    except OSError:
        below = []
    return any(_is_crypt(slave, sys_block, seen | {name}) for slave in below)


def _linux(path: Path, mounts_file: Path, sys_block: Path) -> EncryptionStatus:
    mount = _mount_of(path, mounts_file)
    if mount is None:
        return EncryptionStatus(None, "the mount table cannot be read")
    device, point, fstype = mount
    if fstype in ("tmpfs", "ramfs"):
        return EncryptionStatus(None, f"{point} is in memory ({fstype}), not on a disk")
    if not device.startswith("/dev/"):
        return EncryptionStatus(None, f"{point} is a {fstype} file system on {device}")
    name = Path(os.path.realpath(device)).name
    if _is_crypt(name, sys_block):
        return EncryptionStatus(True, f"{point} is on {device}, a dm-crypt/LUKS volume")
    # A partition (sda2) has its disk's folder, not its own, under /sys/block.
    if not (sys_block / name).exists():
        for disk in sys_block.glob(f"*/{name}"):
            if _is_crypt(disk.parent.name, sys_block):  # pragma: no cover - unusual layout
                return EncryptionStatus(True, f"{point} is on an encrypted disk")
    return EncryptionStatus(False, f"{point} is on {device}, which is not dm-crypt/LUKS")


def _macos() -> EncryptionStatus:
    try:
        done = subprocess.run(
            ["fdesetup", "status"], capture_output=True, text=True, timeout=3, check=False
        )
    except (OSError, subprocess.SubprocessError) as error:
        return EncryptionStatus(None, f"fdesetup could not run ({error})")
    text = done.stdout.strip()
    if "FileVault is On" in text:
        return EncryptionStatus(True, "FileVault is on")
    if "FileVault is Off" in text:
        return EncryptionStatus(False, "FileVault is off")
    return EncryptionStatus(None, text or "fdesetup gave no answer")


def volume_encryption(
    path: Path,
    *,
    platform: str = sys.platform,
    mounts_file: Path = Path("/proc/mounts"),
    sys_block: Path = Path("/sys/block"),
) -> EncryptionStatus:
    """Whether the folder at `path` is on an encrypted volume (see the module doc)."""
    path = path.expanduser().absolute()
    if platform.startswith("linux"):
        return _linux(path, mounts_file, sys_block)
    if platform == "darwin":
        return _macos()
    if platform.startswith("win"):
        return EncryptionStatus(
            None,
            "BitLocker's status needs an administrator: check Control Panel > BitLocker Drive "
            "Encryption",
        )
    return EncryptionStatus(None, f"no check for {platform}")

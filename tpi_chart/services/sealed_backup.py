"""The encrypted backup file: the database and the keys needed to open it elsewhere, in one file.

Format (`tpi-chart.backup/1`): the magic line, a 4-byte big-endian header length, the header
(JSON: format, created, clinic id, scrypt parameters and salt, nonce), then the AES-256-GCM
ciphertext of a zip holding `database.sqlite` and `keys/<clinic id>.key` (the audit key) for a
clinic kept in a file, or `database.pgdump` (pg_dump's custom format; the audit key is sealed in
it, in `key_grants`) for a clinic on a PostgreSQL server (`services/server_backup.py`). The
header is the cipher's associated data, so it cannot be altered either. The key is derived from
the clinic's backup passphrase with scrypt (N=2^17, r=8, p=1: OWASP's figure, reliability.md §0).

Where the passphrase comes from: the clinic sets it once (`tpi-chart backup --set-passphrase`, or
the first-run dialog through `BackupService.set_passphrase`); what is kept on disk is the derived
key with its salt, 0600 in the key folder, so automatic backups need no one to type it. Restoring
on another machine asks for the passphrase itself (terminal, or one line on stdin; never argv).
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import secrets
import struct
import zipfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from tpi_chart.services.errors import InvalidInput

FORMAT = "tpi-chart.backup/1"
MAGIC = b"TPI-CHART-BACKUP\n"
SCRYPT_N = 2**17
SCRYPT_R = 8
SCRYPT_P = 1
SCRYPT_MAXMEM = 256 * 1024 * 1024
MIN_PASSPHRASE = 10
DATABASE_MEMBER = "database.sqlite"
SERVER_DUMP_MEMBER = "database.pgdump"


@dataclass(frozen=True)
class BackupKey:
    """A key derived from the backup passphrase, with what derived it."""

    key: bytes
    salt: bytes
    n: int = SCRYPT_N
    r: int = SCRYPT_R
    p: int = SCRYPT_P

    @classmethod
    def derive(
        cls,
        passphrase: str,
        salt: bytes | None = None,
        n: int = SCRYPT_N,
        r: int = SCRYPT_R,
        p: int = SCRYPT_P,
    ) -> BackupKey:
        salt = salt if salt is not None else secrets.token_bytes(16)
        key = hashlib.scrypt(
            passphrase.encode("utf-8"), salt=salt, n=n, r=r, p=p, maxmem=SCRYPT_MAXMEM, dklen=32
        )
        return cls(key, salt, n, r, p)

    def kdf(self) -> dict[str, object]:
        return {
            "name": "scrypt",
            "n": self.n,
            "r": self.r,
            "p": self.p,
            "salt": base64.b64encode(self.salt).decode("ascii"),
        }


def check_passphrase(passphrase: str) -> str:
    if len(passphrase) < MIN_PASSPHRASE:
        raise InvalidInput(
            [f"backup.passphrase: use at least {MIN_PASSPHRASE} characters (a few words)"]
        )
    return passphrase


def is_sealed(path: Path) -> bool:
    try:
        with path.open("rb") as handle:
            return handle.read(len(MAGIC)) == MAGIC
    except OSError:
        return False


def seal(files: dict[str, bytes], key: BackupKey, clinic_id: str) -> bytes:
    # `cryptography` only where a backup is made or opened: the window reads the backup's
    # state at start (`load_key`), and its import is about 15 ms of that start.
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    nonce = secrets.token_bytes(12)
    header = json.dumps(
        {
            "format": FORMAT,
            "created": datetime.now(UTC).isoformat(timespec="seconds"),
            "clinic_id": clinic_id,
            "kdf": key.kdf(),
            "cipher": "AES-256-GCM",
            "nonce": base64.b64encode(nonce).decode("ascii"),
        },
        sort_keys=True,
    ).encode("utf-8")
    sealed = AESGCM(key.key).encrypt(nonce, buffer.getvalue(), header)
    return MAGIC + struct.pack(">I", len(header)) + header + sealed


def unseal(data: bytes, passphrase: str, name: str = "backup") -> dict[str, bytes]:
    """The files of a sealed backup; InvalidInput naming the problem for a damaged file or a
    wrong passphrase (which AES-GCM cannot tell apart from tampering)."""
    return _unseal(data, name, passphrase=passphrase)


def unseal_with_key(data: bytes, key: BackupKey, name: str = "backup") -> dict[str, bytes]:
    """`unseal` with the clinic's stored key (verifying an automatic backup)."""
    return _unseal(data, name, key=key)


def _unseal(
    data: bytes, name: str, *, passphrase: str | None = None, key: BackupKey | None = None
) -> dict[str, bytes]:
    from cryptography.exceptions import InvalidTag
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    try:
        if not data.startswith(MAGIC):
            raise ValueError("not a TPI Chart backup")
        offset = len(MAGIC)
        (length,) = struct.unpack(">I", data[offset : offset + 4])
        header_bytes = data[offset + 4 : offset + 4 + length]
        header = json.loads(header_bytes)
        kdf = header["kdf"]
        if header.get("format") != FORMAT or kdf.get("name") != "scrypt":
            raise ValueError(f"unknown backup format {header.get('format')!r}")
        salt = base64.b64decode(kdf["salt"])
        if key is None or key.salt != salt:
            if passphrase is None:
                raise ValueError("it was made with another backup passphrase")
            key = BackupKey.derive(passphrase, salt, int(kdf["n"]), int(kdf["r"]), int(kdf["p"]))
        nonce = base64.b64decode(header["nonce"])
        body = data[offset + 4 + length :]
    except (ValueError, KeyError, TypeError, struct.error) as error:
        raise InvalidInput([f"{name}: is not a readable TPI Chart backup ({error})"]) from error
    try:
        plain = AESGCM(key.key).decrypt(nonce, body, header_bytes)
    except InvalidTag as error:
        raise InvalidInput(
            [
                f"backup.passphrase: does not open {name} (a wrong passphrase, or the file was "
                "damaged or altered); nothing was restored"
            ]
        ) from error
    with zipfile.ZipFile(io.BytesIO(plain)) as archive:
        return {member: archive.read(member) for member in archive.namelist()}


def write_private_atomically(path: Path, data: bytes) -> None:
    """Write `data` at `path`, owner-only. On Linux the file is built unnamed (O_TMPFILE) and
    only linked into the folder once complete and fsynced: a kill mid-way leaves nothing."""
    folder = path.parent
    folder.mkdir(parents=True, exist_ok=True)
    temp = folder / f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp"
    unnamed = getattr(os, "O_TMPFILE", None)
    fd: int | None = None
    if unnamed is not None:
        try:
            fd = os.open(folder, unnamed | os.O_WRONLY, 0o600)
        except OSError:
            fd = None
    try:
        if fd is not None:
            _write_all(fd, data)
            if not _link_unnamed(fd, temp):  # then write it again, named
                os.close(fd)
                fd = None
        if fd is None:
            fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            _write_all(fd, data)
        os.close(fd)
        fd = None
        os.replace(temp, path)
    finally:
        if fd is not None:
            os.close(fd)
        temp.unlink(missing_ok=True)
    if hasattr(os, "O_DIRECTORY"):
        dir_fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


_AT_FDCWD = -100
_AT_SYMLINK_FOLLOW = 0x400


def _link_unnamed(fd: int, target: Path) -> bool:
    """Give the unnamed O_TMPFILE file `fd` the name `target` (linkat through /proc, which
    os.link cannot do: it would link the /proc symlink itself)."""
    import ctypes  # only when a backup is written; the window imports this module at start

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        result = libc.linkat(
            _AT_FDCWD,
            f"/proc/self/fd/{fd}".encode(),
            _AT_FDCWD,
            os.fsencode(target),
            _AT_SYMLINK_FOLLOW,
        )
    except (OSError, AttributeError):
        return False
    return int(result) == 0


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]
    os.fsync(fd)


def key_file(key_dir: Path, clinic_id: str) -> Path:
    return key_dir / f"{clinic_id}.backup-key"


def save_key(key_dir: Path, clinic_id: str, key: BackupKey) -> None:
    data = json.dumps({**key.kdf(), "key": base64.b64encode(key.key).decode("ascii")})
    write_private_atomically(key_file(key_dir, clinic_id), data.encode("utf-8"))


def load_key(key_dir: Path, clinic_id: str) -> BackupKey | None:
    try:
        data = json.loads(key_file(key_dir, clinic_id).read_text(encoding="utf-8"))
        return BackupKey(
            base64.b64decode(data["key"]),
            base64.b64decode(data["salt"]),
            int(data["n"]),
            int(data["r"]),
            int(data["p"]),
        )
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError):
        return None

"""Who runs a command: `--as USERNAME` and that person's password (product.md §7, version 2).

The password is read at a hidden prompt on a terminal, or as one line from standard input when
it is not one (scripts, scheduled backups); never from the command line, where it would show in
the shell history and the process list. Sign-in goes through `AuthService.login`, so a failure
is audited and counts towards the back-off and the lockout exactly as in the window.

`authenticate` is the one place that turns the arguments into a signed-in `User` (and keeps the
password for the caller, e.g. to unlock a signing key); `signed_in` opens the database for that
person. A missing `--as` or a wrong password is bad input (exit 2, one line naming `--as`); what
the person's roles do not allow is refused by the services themselves (exit 1).
"""

from __future__ import annotations

import argparse
import getpass
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from tpi_chart.cli.options import add_auth_arguments
from tpi_chart.domain.errors import InvalidInput
from tpi_chart.domain.users import User
from tpi_chart.services.auth import AuthService
from tpi_chart.services.context import Services, open_services
from tpi_chart.services.errors import ReadOnlyDatabase, StorageError
from tpi_chart.services.paths import resolve_database


class NotSignedIn(InvalidInput):
    """No `--as`, no password, or a wrong one: exit 2 with one line naming `--as`."""

    def __init__(self, line: str) -> None:
        super().__init__([line])


add_arguments = add_auth_arguments  # `--as USERNAME` (cli.options: parsing loads no service)


def read_secret(prompt: str, *, what: str) -> str:
    """A hidden prompt on a terminal; else the next line of standard input (without its end)."""
    if sys.stdin is not None and sys.stdin.isatty():
        return getpass.getpass(prompt)
    line = sys.stdin.readline() if sys.stdin is not None else ""
    if not line:
        raise InvalidInput(
            [f"{what}: none given; type it at the prompt, or give it as a line on standard input"]
        )
    return line.removesuffix("\n").removesuffix("\r")


def required_username(args: argparse.Namespace) -> str:
    username = str(getattr(args, "as_user", None) or "").strip()
    if not username:
        raise NotSignedIn(
            "--as: this command needs --as USERNAME, your account (you are asked for its password)"
        )
    return username


def authenticate(
    args: argparse.Namespace, auth: AuthService, *, record: bool = True
) -> tuple[User, str]:
    """The person named by `--as`, signed in with their password: (user, password). Raises
    NotSignedIn (exit 2) when `--as` is missing or the sign-in fails, AccountLocked while the
    account is locked out."""
    username = required_username(args)
    try:
        password = read_secret(f"Password for {username}: ", what="--as")
    except InvalidInput:
        raise NotSignedIn(
            f"--as: no password for {username!r}; type it at the prompt, or give it as one line "
            "on standard input"
        ) from None
    user = auth.login(username, password) if record else auth.check_password(username, password)
    if user is None:
        raise NotSignedIn(
            f"--as: sign-in as {username!r} failed (wrong username or password, or the account "
            "is deactivated); nothing was changed"
        )
    return user, password


@dataclass
class Session:
    """An open database and the services of the person signed in by `--as`."""

    services: Services
    user: User
    password: str = field(repr=False)


def database_path(args: argparse.Namespace, db: str | None = None) -> Path | str:
    """The clinic `--db` (or $TPI_CHART_DB) names: a file, or a `postgresql://` URL as text."""
    path = db or getattr(args, "db", None)
    return resolve_database(path or None)


@contextmanager
def signed_in(
    args: argparse.Namespace,
    db: str | None = None,
    *,
    rescue: bool = False,
    for_restore: bool = False,
) -> Iterator[Session]:
    """Check `--as` is given, open the existing database (never create one: nobody could sign
    in to a new file), sign in, and yield the services for that person.

    `rescue`: on a read-only database, file system or medium, open it read-only instead of
    refusing (export and backup work; the sign-in is checked but, like everything else, not
    recorded). `for_restore`: open a database whose registry shows it emptied or rolled back,
    which is what a restore is for. Start-up integrity warnings are printed, never dropped."""
    required_username(args)
    path = database_path(args, db)
    if isinstance(path, Path) and not path.exists():
        raise StorageError(f"{path}: no such database; check --db or TPI_CHART_DB")
    try:
        opened = open_services(path, for_restore=for_restore)
    except ReadOnlyDatabase:
        if not rescue:
            raise
        opened = open_services(path, readonly=True)
        print(
            f"tpi-chart: note: the database {path} is read-only; it was opened for reading only "
            "and this command is not recorded in its audit trail",
            file=sys.stderr,
        )
    with opened as anonymous:
        for warning in anonymous.integrity_warnings:
            print(f"tpi-chart: warning: {warning}; run `tpi-chart audit verify`", file=sys.stderr)
        if getattr(anonymous.store, "readonly", False):
            user, password = authenticate(args, anonymous.auth, record=False)
        else:
            user, password = authenticate(args, anonymous.auth)
        yield Session(anonymous.as_user(user), user, password)

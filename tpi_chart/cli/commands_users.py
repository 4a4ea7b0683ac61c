"""`tpi-chart users list|add|passwd|deactivate`: accounts from the command line, through the same
`AuthService` as the window (reliability.md S1–S3); `users sessions|end-session`: who is signed
in where (cli/sessions.py).

Passwords are never taken from the command line (they would show in the shell history and the
process list): they are typed at a hidden prompt, or, when standard input is not a terminal,
read one per line from it (the administrator's password first, then the new one).

On a database without accounts, `users add` creates the first administrator (the administrator
role is implied). Every other case needs an administrator: the global `--as NAME` and that
person's password, checked by `AuthService.login` (`tpi_chart.cli.auth`: failures are audited and
count towards lockout); the account service itself refuses anyone who is not an administrator.
Exit codes: 0 done, 2 bad input (one `users.<field>: …` line each), 1 refused or failed.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from collections.abc import Callable, Sequence
from typing import Any

from tpi_chart.cli.auth import authenticate, database_path, read_secret
from tpi_chart.domain.errors import DomainError, InvalidInput
from tpi_chart.domain.users import ROLES, Role, User
from tpi_chart.services.auth import AuthService
from tpi_chart.services.clinic_setup import set_up_clinic
from tpi_chart.services.context import Services, open_services
from tpi_chart.services.errors import StorageError

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_BAD_INPUT = 2


def register(subparsers: Any) -> None:
    users = subparsers.add_parser(
        "users",
        help="list, add, deactivate accounts and set passwords",
        description="Manage accounts. Passwords are typed at a prompt, or read one per line "
        "from standard input when it is not a terminal; never given as arguments.",
    )
    commands = users.add_subparsers(dest="users_command", metavar="ACTION", required=True)

    listing = commands.add_parser("list", help="print the accounts")
    listing.set_defaults(handler=run_list)

    add = commands.add_parser(
        "add",
        help="add an account (on a new database: the first administrator)",
        description="Add an account. On a database without accounts this creates the first "
        "administrator (the administrator role is implied), needs no --as, and sets up the "
        "clinic: give its name with --clinic (and its phone with --phone).",
    )
    add.add_argument("username")
    add.add_argument("--name", required=True, metavar="FULL NAME", help="name shown and printed")
    add.add_argument(
        "--role",
        dest="roles",
        action="append",
        default=[],
        metavar="ROLE",
        help=f"one of {', '.join(ROLES)}; repeat for several",
    )
    add.add_argument(
        "--clinic",
        metavar="NAME",
        help="a new database only: the clinic's name, printed on every note and in its "
        "certificates",
    )
    add.add_argument("--phone", metavar="PHONE", help="a new database only: the clinic's phone")
    add.set_defaults(handler=run_add)

    passwd = commands.add_parser("passwd", help="set a new password for an account")
    passwd.add_argument("username")
    passwd.set_defaults(handler=run_passwd)

    deactivate = commands.add_parser("deactivate", help="stop an account from signing in")
    deactivate.add_argument("username")
    deactivate.set_defaults(handler=run_deactivate)

    from tpi_chart.cli import sessions  # imports this module: after it has loaded

    sessions.register(commands)


# ---- passwords --------------------------------------------------------------------------------


def read_password(prompt: str, *, confirm: bool = False) -> str:
    """A hidden prompt on a terminal (twice with `confirm`); else the next line of stdin."""
    password = read_secret(prompt, what="users.password")
    if confirm and sys.stdin.isatty() and getpass.getpass("Type it again: ") != password:
        raise InvalidInput(["users.password: the two passwords differ; nothing was changed"])
    return password


# ---- running ----------------------------------------------------------------------------------


def _guarded(run: Callable[[], int]) -> int:
    try:
        return run()
    except InvalidInput as error:
        for line in error.problems:
            print(line, file=sys.stderr)
        return EXIT_BAD_INPUT
    except (DomainError, StorageError) as error:
        print(f"tpi-chart users: {error}", file=sys.stderr)
        return EXIT_ERROR
    except OSError as error:
        where = f"{error.filename}: " if error.filename else ""
        print(f"tpi-chart users: {where}{error.strerror or error}", file=sys.stderr)
        return EXIT_ERROR


def _open(args: argparse.Namespace) -> Services:
    """The database before sign-in (`users add` on a new file creates it and its first
    administrator)."""
    return open_services(database_path(args))


def _administrator(auth: AuthService, args: argparse.Namespace) -> User:
    """The person named by --as, signed in with their password (read first); whether they may
    manage accounts is the account service's check."""
    user, _ = authenticate(args, auth)
    return user


def _roles(values: list[str]) -> set[Role]:
    roles: set[Role] = set()
    problems: list[str] = []
    for value in values:
        name = value.strip().lower()
        matched = [role for role in ROLES if role == name]
        if matched:
            roles.add(matched[0])
        else:
            problems.append(f"users.role: must be one of {', '.join(ROLES)} (not {value!r})")
    if problems:
        raise InvalidInput(problems)
    return roles


def run_list(args: argparse.Namespace) -> int:
    def run() -> int:
        with _open(args) as services:
            auth = services.auth
            if auth.needs_first_run():
                print("no accounts yet; `tpi-chart users add NAME --name …` creates the first")
                return EXIT_OK
            accounts = auth.users(_administrator(auth, args))
        print(format_users(accounts))
        return EXIT_OK

    return _guarded(run)


def format_users(accounts: list[User]) -> str:
    headers = ("USERNAME", "NAME", "ROLES", "ACTIVE")
    rows = [
        (u.username, u.display_name, u.role_text, "yes" if u.active else "no") for u in accounts
    ]
    return format_table(headers, rows)


def format_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Columns padded to their widest cell, two spaces apart."""
    widths = [max([len(h)] + [len(r[i]) for r in rows]) for i, h in enumerate(headers)]
    lines = [
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip()
        for row in [headers, *rows]
    ]
    return "\n".join(lines)


def run_add(args: argparse.Namespace) -> int:
    def run() -> int:
        roles = _roles(args.roles)
        with _open(args) as services:
            auth = services.auth
            if auth.needs_first_run():
                if getattr(args, "as_user", None):
                    raise InvalidInput(
                        [
                            "--as: there are no accounts yet; leave out --as, and this "
                            "account becomes the first administrator"
                        ]
                    )
                _set_up_clinic(services, args)
                password = read_password(f"New password for {args.username}: ", confirm=True)
                user = auth.create_first_administrator(
                    args.username, args.name, password, physician="physician" in roles
                )
                if "assistant" in roles:
                    user = auth.update_user(
                        user, user.username, roles=frozenset({*user.roles, *roles})
                    )
                print(f"created {user} as the first administrator ({user.role_text})")
                return EXIT_OK
            if args.clinic is not None or args.phone is not None:
                raise InvalidInput(
                    [
                        "--clinic, --phone: this clinic is set up already; an administrator "
                        "changes its name and phone in the window's Settings"
                    ]
                )
            if not roles:
                raise InvalidInput([f"users.role: give at least one --role ({', '.join(ROLES)})"])
            admin = _administrator(auth, args)
            password = read_password(f"New password for {args.username}: ", confirm=True)
            user = auth.create_user(admin, args.username, args.name, roles, password)
        print(f"created {user} ({user.role_text})")
        return EXIT_OK

    return _guarded(run)


def _set_up_clinic(services: Services, args: argparse.Namespace) -> None:
    """The new clinic's name and phone, stored before its first account (bad input creates
    none). A new clinic has no name to keep, so --clinic is required; the demo has one."""
    if args.clinic is None and not services.settings.clinic_name():
        raise InvalidInput(
            [
                "--clinic: a new clinic needs its name, printed on every note and in its "
                'signing certificates: add --clinic "Northside Pain Clinic" (your own)'
            ]
        )
    set_up_clinic(services, args.clinic or "", args.phone or "")


def run_passwd(args: argparse.Namespace) -> int:
    def run() -> int:
        with _open(args) as services:
            admin = _administrator(services.auth, args)
            password = read_password(f"New password for {args.username}: ", confirm=True)
            services.auth.reset_password(admin, args.username, password)
        print(f"password changed for {args.username.strip().lower()}")
        return EXIT_OK

    return _guarded(run)


def run_deactivate(args: argparse.Namespace) -> int:
    def run() -> int:
        with _open(args) as services:
            admin = _administrator(services.auth, args)
            user = services.auth.deactivate(admin, args.username)
        print(f"deactivated {user}; it can no longer sign in")
        return EXIT_OK

    return _guarded(run)

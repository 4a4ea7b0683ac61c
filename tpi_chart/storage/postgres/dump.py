"""`pg_dump` and `pg_restore` for a clinic on a PostgreSQL server: the dump taken into memory
(the plain dump never touches the disk: the caller encrypts it), a dump's table of contents
checked, a dump restored into an empty database in one transaction.

The programs are PostgreSQL's own, found on PATH, else in Debian's and Ubuntu's
/usr/lib/postgresql/<version>/bin (the newest: pg_dump must be at least the server's version).
Nothing secret is put on their command lines, which every user of the computer can read: the
connection's settings go in their environment (PGHOST, PGUSER, PGSSLMODE…), a password given in
the connection string in a private PGPASSFILE that exists only while the program runs, and the
command line names only the database.
"""

from __future__ import annotations

import glob
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg

from tpi_chart.storage.errors import StorageError
from tpi_chart.storage.postgres.schema import connect, host_of

#: Where Debian and Ubuntu install each PostgreSQL version's programs.
SERVER_BIN_GLOB = "/usr/lib/postgresql/*/bin"
#: A custom-format archive starts with this.
DUMP_MAGIC = b"PGDMP"
#: pg_restore --list's line for the audit table's rows (archive id; oid; TABLE DATA schema name).
_AUDIT_DATA = re.compile(r"^\d+; \d+ \d+ TABLE DATA \S+ audit\b", re.MULTILINE)

#: Connection settings and the libpq environment variable of each (libpq's own table).
_ENVIRONMENT = {
    "host": "PGHOST",
    "hostaddr": "PGHOSTADDR",
    "port": "PGPORT",
    "user": "PGUSER",
    "passfile": "PGPASSFILE",
    "channel_binding": "PGCHANNELBINDING",
    "service": "PGSERVICE",
    "options": "PGOPTIONS",
    "application_name": "PGAPPNAME",
    "sslmode": "PGSSLMODE",
    "requiressl": "PGREQUIRESSL",
    "sslcompression": "PGSSLCOMPRESSION",
    "sslcert": "PGSSLCERT",
    "sslkey": "PGSSLKEY",
    "sslrootcert": "PGSSLROOTCERT",
    "sslcrl": "PGSSLCRL",
    "sslcrldir": "PGSSLCRLDIR",
    "sslsni": "PGSSLSNI",
    "requirepeer": "PGREQUIREPEER",
    "ssl_min_protocol_version": "PGSSLMINPROTOCOLVERSION",
    "ssl_max_protocol_version": "PGSSLMAXPROTOCOLVERSION",
    "gssencmode": "PGGSSENCMODE",
    "krbsrvname": "PGKRBSRVNAME",
    "gsslib": "PGGSSLIB",
    "connect_timeout": "PGCONNECT_TIMEOUT",
    "client_encoding": "PGCLIENTENCODING",
    "target_session_attrs": "PGTARGETSESSIONATTRS",
    "load_balance_hosts": "PGLOADBALANCEHOSTS",
}
#: Settings that are harmless on a command line and have no environment variable.
_ARGUMENT_SAFE = frozenset(
    {
        "dbname",
        "keepalives",
        "keepalives_idle",
        "keepalives_interval",
        "keepalives_count",
        "tcp_user_timeout",
        "fallback_application_name",
    }
)


def find_program(name: str) -> Path:
    """`pg_dump` or `pg_restore`: on PATH, else the newest in /usr/lib/postgresql/*/bin."""
    found = shutil.which(name)
    if found:
        return Path(found)
    installed = [
        Path(folder) / name
        for folder in glob.glob(SERVER_BIN_GLOB)
        if (Path(folder) / name).is_file()
    ]
    if installed:
        return max(installed, key=lambda path: _version(path.parent.parent.name))
    raise StorageError(
        f"{name} is not installed on this computer: a backup of a clinic on a database server "
        "is made with PostgreSQL's own programs. Install its client programs (Debian/Ubuntu: "
        "apt-get install postgresql-client; Windows and macOS: the PostgreSQL installer's "
        "command line tools) or put their folder on PATH. Nothing was changed."
    )


def _version(name: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", name)) or (0,)


@contextmanager
def _connection(url: str) -> Iterator[tuple[str, dict[str, str]]]:
    """The database's name for the command line, and the environment holding everything else
    (a password in a private PGPASSFILE, removed afterwards)."""
    try:
        settings = psycopg.conninfo.conninfo_to_dict(url)
    except psycopg.ProgrammingError as error:
        raise StorageError(f"the connection string cannot be read ({error})") from error
    environment = dict(os.environ)
    arguments: dict[str, str] = {}
    password = settings.pop("password", None)
    for name, value in settings.items():
        if value is None:
            continue
        if name in _ENVIRONMENT:
            environment[_ENVIRONMENT[name]] = str(value)
        elif name in _ARGUMENT_SAFE:
            arguments[name] = str(value)
        else:
            raise StorageError(
                f"the connection setting {name!r} cannot be given to pg_dump without showing it "
                "on its command line; put it in a libpq service file (PGSERVICEFILE) instead. "
                "Nothing was changed."
            )
    with tempfile.TemporaryDirectory(prefix="tpi-chart-pg-") as folder:
        if password is not None:
            passfile = Path(folder) / "pgpass"
            escaped = str(password).replace("\\", "\\\\").replace(":", "\\:")
            descriptor = os.open(passfile, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
                handle.write(f"*:*:*:*:{escaped}\n")
            environment["PGPASSFILE"] = str(passfile)
        yield psycopg.conninfo.make_conninfo(**arguments), environment


def _database_argument(database: str) -> list[str]:
    # Without one, libpq takes the database from PGDATABASE or the user's name, as psycopg did.
    return [f"--dbname={database}"] if database else []


def _run(
    command: list[str], environment: dict[str, str] | None, data: bytes | None, what: str
) -> bytes:
    try:
        result = subprocess.run(
            command, input=data, capture_output=True, env=environment, check=False
        )
    except OSError as error:
        raise StorageError(f"{command[0]} could not be run ({error}); {what}") from error
    if result.returncode != 0:
        detail = result.stderr.decode("utf-8", "replace").strip().splitlines()
        raise StorageError(
            f"{Path(command[0]).name} failed: {' '.join(detail[-3:]) or 'no reason given'}; {what}"
        )
    return result.stdout


def dump(url: str) -> bytes:
    """The whole clinic database as a custom-format archive, in memory."""
    program = str(find_program("pg_dump"))
    with _connection(url) as (database, environment):
        return _run(
            [program, "--format=custom", "--no-password", *_database_argument(database)],
            environment,
            None,
            "nothing was backed up",
        )


def check_dump(data: bytes, name: str) -> str:
    """The archive's table of contents (`pg_restore --list`), after checking that it is one and
    that it holds the audit trail's rows; StorageError naming `name` otherwise."""
    if not data.startswith(DUMP_MAGIC):
        raise StorageError(f"{name}: holds no PostgreSQL archive (pg_dump --format=custom)")
    listing = _run(
        [str(find_program("pg_restore")), "--list"],
        None,
        data,
        f"{name} is not a readable PostgreSQL archive",
    ).decode("utf-8", "replace")
    if not _AUDIT_DATA.search(listing):
        raise StorageError(f"{name}: the archive holds no audit trail, so it is not a clinic's")
    return listing


def restore(url: str, data: bytes, name: str) -> None:
    """Restore the archive into the empty database at `url`, all of it or (on any error)
    nothing: one transaction, objects owned by the connecting role (the clinic's on this
    server, whatever role owned them on the old one)."""
    require_no_tables(url)
    program = str(find_program("pg_restore"))
    with _connection(url) as (database, environment):
        _run(
            [
                program,
                "--no-owner",
                "--no-privileges",
                "--exit-on-error",
                "--single-transaction",
                "--no-password",
                *_database_argument(database),
            ],
            environment,
            data,
            f"{name} was not restored (the database is as empty as before)",
        )


def require_no_tables(url: str) -> None:
    """Refuse a database that holds any table: a restore never mixes two clinics or overwrites
    one."""
    host = host_of(url)
    with connect(url) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_tables WHERE schemaname = current_schema()"
        ).fetchone()
    if row is not None and row[0]:
        raise StorageError(
            f"the database at {host} is not empty (it holds {row[0]} tables): a backup is "
            "restored only into a new, empty database (`createdb`), never over a clinic. "
            "Nothing was changed."
        )

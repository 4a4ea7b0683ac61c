"""A throwaway PostgreSQL cluster for a test session, from the server binaries Debian installs
(`apt-get install postgresql`; `.ci/run` does). No skip when they are missing: CI installs
them, so their absence is a failure to see, not a test to leave out.

The cluster lives in a temporary folder with a Unix socket beside it and no TCP port;
`fsync=off` because a test database never has to survive a power cut. initdb refuses to run as
root, so as root the server runs as the `postgres` account the package creates.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

SUPERUSER = "tpi"
DATABASE = "tpi_test"


def server_bin() -> Path:
    """The newest installed PostgreSQL server's bin folder."""
    found = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parent.parent.name)
    )
    if not found:
        raise RuntimeError(
            "PostgreSQL is not installed: the tests of the PostgreSQL store need its server "
            "binaries (/usr/lib/postgresql/*/bin/initdb). Install them with "
            "`apt-get install postgresql` (.ci/run does)."
        )
    return found[-1].parent


def _as_server_user(command: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return command
    return ["runuser", "-u", "postgres", "--", *command]


class PgServer:
    """One running cluster; `new_database()` gives each test a fresh database from a template."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.data = root / "data"
        self.socket_dir = root / "socket"
        self._reset = b""
        self._bin = server_bin()

    def start(self) -> None:
        self.socket_dir.mkdir()
        if os.geteuid() == 0:
            shutil.chown(self.root, "postgres")
            shutil.chown(self.socket_dir, "postgres")
        self._run(
            [
                str(self._bin / "initdb"),
                "-D",
                str(self.data),
                "-U",
                SUPERUSER,
                "--auth=trust",
                "--encoding=UTF8",
                "--locale=C.UTF-8",
                "--no-sync",
            ]
        )
        options = (
            f"-c listen_addresses='' -c unix_socket_directories='{self.socket_dir}' "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off "
            "-c max_connections=200"
        )
        self._run(
            [
                str(self._bin / "pg_ctl"),
                "-D",
                str(self.data),
                "-o",
                options,
                "-l",
                str(self.root / "server.log"),
                "-w",
                "start",
            ]
        )

    def stop(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):
            self._run([str(self._bin / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop"])

    def _run(self, command: list[str]) -> None:
        result = subprocess.run(
            _as_server_user(command), capture_output=True, text=True, check=False, cwd=self.root
        )
        if result.returncode != 0:
            log = self.root / "server.log"
            tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            raise RuntimeError(
                f"{command[0]} failed ({result.returncode}): {result.stderr.strip()}\n{tail}"
            )

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{SUPERUSER}@/{database}?host={self.socket_dir}"

    def _admin(self, statement: str) -> None:
        import psycopg

        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(statement)

    def prepare(self) -> None:
        """The test database, migrated once: each test empties it (`fresh_database`), which
        takes 2 ms where a database copied from a template takes 200-400 ms."""
        import psycopg

        from tpi_chart.storage.postgres.schema import migrate_url

        self._admin(f"CREATE DATABASE {DATABASE}")
        migrate_url(self.url(DATABASE))
        with psycopg.connect(self.url(DATABASE), autocommit=True) as conn:
            tables = [
                str(row[0])
                for row in conn.execute(
                    "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
                    " AND tablename <> 'schema_version'"
                )
            ]
            sequences = [
                str(row[0])
                for row in conn.execute(
                    "SELECT sequencename FROM pg_sequences WHERE schemaname = 'public'"
                )
            ]
        # Replica mode skips triggers (append-only tables) and foreign keys while emptying.
        self._reset = (
            "BEGIN; SET LOCAL session_replication_role = replica;"
            + "".join(f"DELETE FROM {table};" for table in tables)
            + "".join(f"SELECT setval('{name}', 1, false);" for name in sequences)
            + "COMMIT;"
        ).encode()

    def owned_database(self, name: str, owner: str, app_role: str) -> tuple[str, str]:
        """A new database `name` owned by the role `owner`, as docs/deployment.md has a clinic's
        IT make it, and a login role `app_role` for the workstations; their URLs (the test
        cluster trusts local connections: no passwords)."""
        for role in (owner, app_role):
            self._admin(
                f"DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{role}')"
                f" THEN CREATE ROLE {role} LOGIN; END IF; END $$"
            )
        self._admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        self._admin(f"CREATE DATABASE {name} OWNER {owner}")
        self._admin(f"REVOKE ALL ON DATABASE {name} FROM PUBLIC")
        self._admin(f"GRANT CONNECT ON DATABASE {name} TO {app_role}")
        return (
            f"postgresql://{owner}@/{name}?host={self.socket_dir}",
            f"postgresql://{app_role}@/{name}?host={self.socket_dir}",
        )

    def save_template(self, name: str) -> str:
        """Keep the test database as it is now under `name` (a module's prepared clinic)."""
        self._admin(f"DROP DATABASE IF EXISTS {name}")
        self._admin(f"CREATE DATABASE {name} TEMPLATE {DATABASE} STRATEGY FILE_COPY")
        return name

    def clone(self, template: str) -> str:
        """The URL of a fresh copy of the saved `template` (about 0.2 s: for prepared clinics,
        whose building costs more)."""
        copy = f"{template}_copy"
        self._admin(f"DROP DATABASE IF EXISTS {copy} WITH (FORCE)")
        self._admin(f"CREATE DATABASE {copy} TEMPLATE {template} STRATEGY FILE_COPY")
        return self.url(copy)

    def fresh_database(self) -> str:
        """The URL of the test database, emptied (schema kept, ids restarting at 1)."""
        import psycopg

        with psycopg.connect(self.url(DATABASE), autocommit=True) as conn:
            conn.execute(self._reset)
        return self.url(DATABASE)


@contextlib.contextmanager
def running_server() -> Iterator[PgServer]:
    root = Path(tempfile.mkdtemp(prefix="tpi-pg-"))
    server = PgServer(root)
    try:
        server.start()
        server.prepare()
        yield server
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)

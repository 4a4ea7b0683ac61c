"""Shared test setup: offscreen Qt unless --onscreen, and no test touches real user folders."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tpi_chart import logs
from tpi_chart.domain import catalog as catalog_module


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--onscreen", action="store_true", help="run GUI tests on the real display")
    try:
        import pytestqt  # noqa: F401
    except ImportError:
        # `make test-core`: the unit tests in an environment without Qt. pytest-qt's settings in
        # pyproject.toml are then unknown, which --strict-config would refuse.
        for name in ("qt_api", "qt_log_level_fail"):
            parser.addini(name, "pytest-qt's (not installed here)")
        parser.addini("qt_log_ignore", "pytest-qt's (not installed here)", type="linelist")


def pytest_configure(config: pytest.Config) -> None:
    if not config.getoption("--onscreen", default=False):
        os.environ["QT_QPA_PLATFORM"] = "offscreen"


@pytest.fixture(autouse=True)
def _isolated_user_dirs(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / ".local" / "share"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("XDG_CONFIG_DIRS", str(home / "etc" / "xdg"))
    monkeypatch.delenv("TPI_CHART_DB", raising=False)
    monkeypatch.delenv("TPI_CHART_CLINIC_DIR", raising=False)
    # The entry point puts the clinic's catalog in force; each test starts from the shipped one.
    monkeypatch.setattr(catalog_module, "_in_force", None)


def use_cheap_argon2(monkeypatch: pytest.MonkeyPatch) -> None:
    """Argon2id at 64 MiB per password hash and per key wrap makes every sign-in in the suite
    slow; the formats and code paths are the same at any cost. Also for module-scoped clinics
    (built before the autouse fixture below runs): a hash keeps the cost it was made with, so
    each later sign-in would pay the production cost again."""
    from argon2 import PasswordHasher

    from tpi_chart.services import auth, crypto

    monkeypatch.setattr(crypto, "DEFAULT_KDF", crypto.KdfParams(1, 8, 1))
    monkeypatch.setattr(
        auth, "default_hasher", lambda: PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    )


@pytest.fixture(autouse=True)
def _cheap_argon2(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Cheap Argon2 (`use_cheap_argon2`). Tests marked `real_argon2` (and
    tests/unit/test_key_wrapping.py) check the production parameters."""
    if request.node.get_closest_marker("real_argon2") is not None:
        return
    use_cheap_argon2(monkeypatch)


EXAMPLES = Path(__file__).parent / "examples"


@pytest.fixture
def examples_dir() -> Path:
    return EXAMPLES


@pytest.fixture
def keyboard(monkeypatch: pytest.MonkeyPatch) -> Any:
    """Standard input that answers every password prompt (`--as`) with
    `tests.cli_support.PASSWORD`; Argon2 made cheap."""
    from tests.cli_support import typed_keyboard

    return typed_keyboard(monkeypatch)


# -- both engines (issue 18): the engine-neutral storage and service tests run on SQLite and on
# a throwaway PostgreSQL cluster (tests/pg_server.py), started once per test process on first use.


@pytest.fixture(scope="session")
def pg_server() -> Any:
    from tests.pg_server import running_server

    with running_server() as server:
        yield server


@pytest.fixture
def pg_url(pg_server: Any) -> str:
    """A PostgreSQL clinic database of this test's own (emptied, schema in place)."""
    return str(pg_server.fresh_database())


@pytest.fixture(params=["sqlite", "postgres"])
def engine(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def log_file(tmp_path: Path) -> Iterator[Path]:
    """The app's log, configured in a scratch folder for the test and taken off after it."""
    path = logs.configure(tmp_path / "log")
    yield path
    for handler in list(logging.getLogger().handlers):
        if getattr(handler, "tpi_chart_log", False):
            logging.getLogger().removeHandler(handler)
            handler.close()

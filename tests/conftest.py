"""Shared test setup: offscreen Qt unless --onscreen, and no test touches real user folders."""

from __future__ import annotations

import os
from pathlib import Path

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--onscreen", action="store_true", help="run GUI tests on the real display")


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
    monkeypatch.delenv("TPI_CHART_DB", raising=False)


@pytest.fixture(autouse=True)
def _cheap_key_wrapping(monkeypatch: pytest.MonkeyPatch) -> None:
    """Argon2id at 64 MiB per key wrap makes every sign-in in the suite slow; the format and the
    code path are the same at any cost (tests/unit/test_key_wrapping.py checks the default)."""
    from tpi_chart.services import crypto

    monkeypatch.setattr(crypto, "DEFAULT_KDF", crypto.KdfParams(1, 8, 1))


EXAMPLES = Path(__file__).parent / "examples"


@pytest.fixture
def examples_dir() -> Path:
    return EXAMPLES

"""Shared test setup: offscreen Qt unless --onscreen, and no test touches real user folders."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tpi_chart.domain import catalog as catalog_module


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
    monkeypatch.setenv("XDG_CONFIG_DIRS", str(home / "etc" / "xdg"))
    monkeypatch.delenv("TPI_CHART_DB", raising=False)
    monkeypatch.delenv("TPI_CHART_CLINIC_DIR", raising=False)
    # The entry point puts the clinic's catalog in force; each test starts from the shipped one.
    monkeypatch.setattr(catalog_module, "_in_force", None)


EXAMPLES = Path(__file__).parent / "examples"


@pytest.fixture
def examples_dir() -> Path:
    return EXAMPLES

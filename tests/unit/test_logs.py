"""The log never holds patient data: text arguments and exception messages are withheld
structurally; uncaught errors are logged with their stack and reported in one plain line."""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tpi_chart import logs

NAME = "Zyzzogeton-Quaverly"
MRN = "MRN77Q1"


@pytest.fixture
def log_file(tmp_path: Path) -> Iterator[Path]:
    path = logs.configure(tmp_path / "log")
    yield path
    for handler in list(logging.getLogger().handlers):
        if getattr(handler, "tpi_chart_log", False):
            logging.getLogger().removeHandler(handler)
            handler.close()


def _flush() -> None:
    for handler in logging.getLogger().handlers:
        handler.flush()


def test_text_arguments_and_exception_messages_are_withheld(log_file: Path) -> None:
    log = logging.getLogger("tpi_chart.test")
    log.warning("opened %s (MRN %s), %d sites, action %s", NAME, MRN, 6, logs.Safe("sign"))
    try:
        raise ValueError(f"family_name: {NAME!r} is not allowed")
    except ValueError:
        log.exception("refused for %s", NAME)
    _flush()
    text = log_file.read_text()
    assert NAME not in text
    assert MRN not in text
    assert "6 sites, action sign" in text
    assert "<text, 19 characters>" in text
    assert "builtins.ValueError: <message withheld>" in text
    assert "in test_text_arguments_and_exception_messages_are_withheld" in text


def test_the_log_is_private_and_configured_once(log_file: Path, tmp_path: Path) -> None:
    assert logs.configure(tmp_path / "log") == log_file
    ours = [h for h in logging.getLogger().handlers if getattr(h, "tpi_chart_log", False)]
    assert len(ours) == 1
    assert (log_file.stat().st_mode & 0o777) == 0o600
    assert (log_file.parent.stat().st_mode & 0o777) == 0o700


def test_uncaught_errors_are_logged_and_reported(
    log_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    reported: list[tuple[type[BaseException], Path]] = []
    monkeypatch.setattr(sys, "excepthook", sys.excepthook)  # restored after the test
    logs.install_excepthook(log_file, lambda kind, _error, path: reported.append((kind, path)))
    try:
        raise KeyError(NAME)
    except KeyError as error:
        sys.excepthook(KeyError, error, error.__traceback__)
    _flush()
    text = log_file.read_text()
    assert "uncaught KeyError" in text
    assert NAME not in text
    assert reported == [(KeyError, log_file)]

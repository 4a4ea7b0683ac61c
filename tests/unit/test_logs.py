"""The log never holds patient data: text arguments and exception messages are withheld
structurally; uncaught errors are logged with their stack and reported in one plain line."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import pytest

from tpi_chart import logs

NAME = "Zyzzogeton-Quaverly"
MRN = "MRN77Q1"


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


def test_the_log_rotates_and_keeps_five(log_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(logs, "MAX_BYTES", 2_000)
    for handler in logging.getLogger().handlers:  # reopened with the small size
        if getattr(handler, "tpi_chart_log", False):
            handler.close()
            handler._file = None  # type: ignore[attr-defined]
    log = logging.getLogger("tpi_chart.test")
    for number in range(400):
        log.warning("record %d of the rotation test", number)
    _flush()
    kept = sorted(p.name for p in log_file.parent.iterdir())
    assert kept == [logs.LOG_NAME] + [f"{logs.LOG_NAME}.{n}" for n in range(1, logs.BACKUPS + 1)]
    assert all(p.stat().st_size <= 2_000 for p in log_file.parent.iterdir())
    assert "record 399 of the rotation test" in log_file.read_text()


def test_configuring_the_log_imports_no_network_or_pickling_module(tmp_path: Path) -> None:
    """The log is configured before the sign-in dialog is painted: `logging.handlers` (socket,
    pickle, queue) waits for the first record."""
    import subprocess

    script = (
        "import sys; from pathlib import Path; from tpi_chart import logs; "
        f"logs.configure(Path({str(tmp_path / 'log')!r})); "
        "print(sorted(m for m in ('logging.handlers', 'socket', 'pickle') if m in sys.modules)); "
        "import logging; logging.getLogger('x').warning('first'); "
        "print('logging.handlers' in sys.modules)"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    assert done.stdout.split("\n")[:2] == ["[]", "True"], done.stderr
    assert "first" in (tmp_path / "log" / logs.LOG_NAME).read_text()

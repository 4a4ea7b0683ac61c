"""The app's log: one rotating file in the per-user log folder that never holds patient data.

Log calls in this code base pass identifiers and counts, but a message can still carry a name
through an argument or an exception's text (a validation error quotes what was typed). So the
formatter is structural, not hopeful: every text argument is replaced by its length unless it is
wrapped in `Safe` (for words the code itself chose), and an exception is written as its type and
stack only, without its message. Numbers, booleans and `Safe` texts are written as they are.
"""

from __future__ import annotations

import logging
import os
import sys
import traceback
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Any

import platformdirs

LOG_NAME = "tpi-chart.log"
MAX_BYTES = 1_000_000
BACKUPS = 5


class Safe(str):
    """Text chosen by the code (an action, a setting's key, an error class): written as is."""


def _scrub(value: Any) -> Any:
    if isinstance(value, Safe | bool | int | float) or value is None:
        return value
    if isinstance(value, BaseException):
        return f"<{type(value).__name__}>"
    text = str(value)
    return f"<text, {len(text)} characters>"


class PhiSafeFormatter(logging.Formatter):
    """Formats with every non-`Safe` text argument and every exception message withheld."""

    def format(self, record: logging.LogRecord) -> str:
        args = record.args
        if isinstance(args, dict):
            scrubbed: Any = {key: _scrub(value) for key, value in args.items()}
        elif isinstance(args, tuple):
            scrubbed = tuple(_scrub(value) for value in args)
        else:
            scrubbed = args
        safe = logging.makeLogRecord(
            {**record.__dict__, "args": scrubbed, "exc_info": None, "exc_text": None}
        )
        try:
            text = super().format(safe)
        except (TypeError, ValueError):
            text = f"{self.formatTime(safe)} {record.levelname} {record.name}: <unformattable>"
        if record.exc_info and record.exc_info[0] is not None:
            text += "\n" + stack_only(*record.exc_info)
        return text


def stack_only(
    kind: type[BaseException] | None,
    error: BaseException | None,
    tb: TracebackType | None,
) -> str:
    """A traceback with each exception's type but not its message (which may quote PHI)."""
    lines: list[str] = []
    seen: set[int] = set()
    current = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        stack = traceback.extract_tb(current.__traceback__ if current is not error else tb)
        lines.append("Traceback (most recent call last):")
        lines.extend(
            f'  File "{frame.filename}", line {frame.lineno}, in {frame.name}' for frame in stack
        )
        lines.append(f"{type(current).__module__}.{type(current).__qualname__}: <message withheld>")
        current = current.__cause__ or current.__context__
    if not lines and kind is not None:
        lines.append(f"{kind.__qualname__}: <message withheld>")
    return "\n".join(lines)


def log_folder() -> Path:
    override = os.environ.get("TPI_CHART_LOG_DIR")
    return Path(override) if override else Path(platformdirs.user_log_dir("tpi-chart", False))


class RotatingLog(logging.Handler):
    """The rotating file (`MAX_BYTES`, `BACKUPS` kept), opened at the first record:
    `logging.handlers`, with the socket, pickle and queue modules it imports (13 ms), is loaded
    then, not before the sign-in dialog is painted."""

    tpi_chart_log = True

    def __init__(self, path: Path) -> None:
        super().__init__()
        self.baseFilename = str(path)
        self._file: logging.Handler | None = None

    def emit(self, record: logging.LogRecord) -> None:
        if self._file is None:  # under this handler's lock (logging.Handler.handle)
            import logging.handlers

            self._file = logging.handlers.RotatingFileHandler(
                self.baseFilename,
                maxBytes=MAX_BYTES,
                backupCount=BACKUPS,
                encoding="utf-8",
                delay=True,
            )
            self._file.setFormatter(self.formatter)
        self._file.emit(record)

    def flush(self) -> None:
        if self._file is not None:
            self._file.flush()

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
        super().close()


def configure(folder: Path | None = None, level: int = logging.INFO) -> Path:
    """Send the root logger to the rotating file (0600 in a 0700 folder); returns its path.
    Safe to call twice (the second call changes nothing)."""
    folder = folder or log_folder()
    path = folder / LOG_NAME
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "tpi_chart_log", False):
            if getattr(handler, "baseFilename", None) == str(path):
                return path
            root.removeHandler(handler)  # another folder (a test's HOME): one log at a time
            handler.close()
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    handler = RotatingLog(path)
    handler.setFormatter(PhiSafeFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root.addHandler(handler)
    root.setLevel(min(root.level or level, level))
    if path.exists():
        path.chmod(0o600)
    else:
        path.touch(mode=0o600)
    return path


CrashReporter = Callable[[type[BaseException], BaseException, Path], None]


def install_excepthook(log_path: Path, report: CrashReporter | None = None) -> None:
    """Every uncaught exception goes to the log (stack, no message); `report` shows the person
    what happened (the window's crash dialog)."""

    def hook(kind: type[BaseException], error: BaseException, tb: TracebackType | None) -> None:
        if issubclass(kind, KeyboardInterrupt):
            sys.__excepthook__(kind, error, tb)
            return
        logging.getLogger("tpi_chart.crash").critical(
            "uncaught %s", Safe(kind.__qualname__), exc_info=(kind, error, tb)
        )
        if report is not None:
            report(kind, error, log_path)

    sys.excepthook = hook

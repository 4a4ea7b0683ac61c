"""Every command module, imported by name in code so a bundler (PyInstaller) sees each one, and
loaded only when its command runs: `tpi-chart check` does not pay for reportlab, Qt or the
signing stack (issue 15).

Each module defines `register(subparsers)`, which adds its commands and sets `handler` on them.
A new group of commands is one loader here and its command names in `COMMANDS`; nothing is
loaded from a string.
"""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType


def _check() -> ModuleType:
    from tpi_chart.cli import commands_check

    return commands_check


def _data() -> ModuleType:
    from tpi_chart.cli import commands_data

    return commands_data


def _notes() -> ModuleType:
    from tpi_chart.cli import commands_notes

    return commands_notes


def _audit() -> ModuleType:
    from tpi_chart.cli import commands_audit

    return commands_audit


def _users() -> ModuleType:
    from tpi_chart.cli import commands_users

    return commands_users


def _sign() -> ModuleType:
    from tpi_chart.cli import commands_sign

    return commands_sign


def _chart() -> ModuleType:
    from tpi_chart.cli import commands_chart

    return commands_chart


def _ca() -> ModuleType:
    from tpi_chart.cli import commands_ca

    return commands_ca


def _interop() -> ModuleType:
    from tpi_chart.cli import commands_interop

    return commands_interop


def _catalog() -> ModuleType:
    from tpi_chart.cli import commands_catalog

    return commands_catalog


def _server() -> ModuleType:
    from tpi_chart.cli import commands_server

    return commands_server


def _doctor() -> ModuleType:
    from tpi_chart.cli import commands_doctor

    return commands_doctor


def _migrate() -> ModuleType:
    from tpi_chart.cli import commands_migrate

    return commands_migrate


#: The loaders in the order `--help` lists their commands.
LOADERS: tuple[Callable[[], ModuleType], ...] = (
    _check,
    _data,
    _notes,
    _audit,
    _users,
    _sign,
    _chart,
    _ca,
    _interop,
    _catalog,
    _server,
    _doctor,
    _migrate,
)

#: Each top-level command name and the loader of the module that registers it (a test checks
#: this against what the modules register).
COMMANDS: dict[str, Callable[[], ModuleType]] = {
    "check": _check,
    "schema": _data,
    "import": _data,
    "export": _data,
    "demo": _data,
    "backup": _data,
    "restore": _data,
    "verify": _notes,
    "audit": _audit,
    "users": _users,
    "sign": _sign,
    "addendum": _sign,
    "chart": _chart,
    "ca": _ca,
    "recall": _interop,
    "outbox": _interop,
    "report": _interop,
    "catalog": _catalog,
    "server": _server,
    "doctor": _doctor,
    "migrate": _migrate,
}


def all_modules() -> tuple[ModuleType, ...]:
    """Every command module (the full `--help`, an unknown command's message)."""
    return tuple(load() for load in LOADERS)


def __getattr__(name: str) -> tuple[ModuleType, ...]:
    if name == "COMMAND_MODULES":  # every module, loaded on first use of the name
        return all_modules()
    raise AttributeError(name)

"""Every command module, imported by name in code so a bundler (PyInstaller) sees each one.

Each module defines `register(subparsers)`, which adds its commands and sets `handler` on them.
A new group of commands is one import and one entry here; nothing is loaded from a string.
"""

from __future__ import annotations

from types import ModuleType

from tpi_chart.cli import (
    commands_audit,
    commands_ca,
    commands_catalog,
    commands_chart,
    commands_check,
    commands_data,
    commands_doctor,
    commands_interop,
    commands_notes,
    commands_sign,
    commands_users,
)

COMMAND_MODULES: tuple[ModuleType, ...] = (
    commands_check,
    commands_data,
    commands_notes,
    commands_audit,
    commands_users,
    commands_sign,
    commands_chart,
    commands_ca,
    commands_interop,
    commands_catalog,
    commands_doctor,
)

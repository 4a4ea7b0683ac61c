"""Errors the services raise; every message is for the user."""

from __future__ import annotations

from tpi_chart.domain.errors import DomainError, InvalidInput
from tpi_chart.storage.errors import ReadOnlyDatabase, StorageError

__all__ = [
    "DomainError",
    "InvalidInput",
    "NotFound",
    "ProcedureLocked",
    "ReadOnlyDatabase",
    "StaleEdit",
    "StorageError",
]


class NotFound(DomainError):
    """The patient, procedure or site asked for does not exist."""


class ProcedureLocked(DomainError):
    """The procedure is signed: it cannot be changed; corrections are addenda."""


class StaleEdit(DomainError):
    """A save from a copy that is no longer current: someone else (another window, command or
    workstation) saved the record in between. Nothing was saved; `changed` names the fields that
    differ between the caller's copy and the stored record, which the caller should reload."""

    def __init__(self, what: str, changed: tuple[str, ...]) -> None:
        fields = ", ".join(changed) if changed else "its record"
        super().__init__(
            f"{what[:1].upper()}{what[1:]} was changed elsewhere after you opened it ({fields}); "
            "your change was not "
            "saved, so nothing was overwritten. Reload to see the current record, then make "
            "your change again."
        )
        self.what = what
        self.changed = changed


def changed_fields(
    prefix: str, before: dict[str, object], after: dict[str, object]
) -> tuple[str, ...]:
    """`prefix.<field>` for every field whose value differs between two dumps of a record."""
    return tuple(
        f"{prefix}.{key}"
        for key in sorted(set(before) | set(after))
        if before.get(key) != after.get(key)
    )

"""Errors the services raise; every message is for the user."""

from __future__ import annotations

from datetime import datetime

from tpi_chart.domain.errors import DomainError, InvalidInput
from tpi_chart.domain.localdates import clinic_zone
from tpi_chart.storage.errors import ReadOnlyDatabase, StorageError

__all__ = [
    "DomainError",
    "InvalidInput",
    "NotFound",
    "ProcedureInUse",
    "ProcedureLocked",
    "ReadOnlyDatabase",
    "StaleEdit",
    "StorageError",
]


class NotFound(DomainError):
    """The patient, procedure or site asked for does not exist."""


class ProcedureLocked(DomainError):
    """The procedure is signed: it cannot be changed; corrections are addenda."""


class ProcedureInUse(DomainError):
    """Another room has the procedure open for charting (its lease, services/live.py): the
    write was refused and nothing was saved."""


class StaleEdit(DomainError):
    """A save from a copy that is no longer current: someone else (another window, command or
    workstation) saved the record in between. Nothing was saved; `changed` names the fields that
    differ between the caller's copy and the stored record, which the caller should reload;
    `by` and `at` who saved it and when (the record's last audit row), when known."""

    def __init__(
        self,
        what: str,
        changed: tuple[str, ...],
        *,
        by: str | None = None,
        at: datetime | None = None,
    ) -> None:
        fields = ", ".join(changed) if changed else "its record"
        super().__init__(
            f"{what[:1].upper()}{what[1:]} was {changed_by(by, at)} after you opened it "
            f"({fields}); your change was not saved, so nothing was overwritten. Reload to see "
            "the current record, then make your change again."
        )
        self.what = what
        self.changed = changed
        self.by = by
        self.at = at

    def with_author(self, author: tuple[str, datetime] | None) -> StaleEdit:
        """The same refusal, naming who saved the record and when."""
        if author is None:
            return self
        return StaleEdit(self.what, self.changed, by=author[0], at=author[1])


def changed_by(by: str | None, at: datetime | None) -> str:
    """ "changed by Dr. Chen at 10:42" (the clinic's local time), or "changed elsewhere"."""
    if by is None or at is None:
        return "changed elsewhere"
    zone = clinic_zone()
    local = at.astimezone(zone) if zone is not None else at.astimezone()
    return f"changed by {by} at {local:%H:%M}"


def changed_fields(
    prefix: str, before: dict[str, object], after: dict[str, object]
) -> tuple[str, ...]:
    """`prefix.<field>` for every field whose value differs between two dumps of a record."""
    return tuple(
        f"{prefix}.{key}"
        for key in sorted(set(before) | set(after))
        if before.get(key) != after.get(key)
    )

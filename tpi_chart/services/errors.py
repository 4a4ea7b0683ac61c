"""Errors the services raise; every message is for the user."""

from __future__ import annotations

from tpi_chart.domain.errors import DomainError, InvalidInput
from tpi_chart.storage.errors import StorageError

__all__ = ["DomainError", "InvalidInput", "NotFound", "ProcedureLocked", "StorageError"]


class NotFound(DomainError):
    """The patient, procedure or site asked for does not exist."""


class ProcedureLocked(DomainError):
    """The procedure is signed: it cannot be changed; corrections are addenda."""

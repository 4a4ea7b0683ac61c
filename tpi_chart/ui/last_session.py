"""Where the window remembers the last patient, procedure and view (QSettings keys): the
launcher reads them before the window's modules are imported."""

from __future__ import annotations

from PySide6.QtCore import QSettings

KEY_PATIENT = "session/patient_id"
KEY_PROCEDURE = "session/procedure_id"
KEY_VIEW = "session/view"


def procedure_remembered() -> bool:
    """Whether the window will reopen a procedure (the workspace) when it opens."""
    settings = QSettings()
    return settings.value(KEY_PATIENT) is not None and bool(settings.value(KEY_PROCEDURE))

"""One place that opens the database and builds the services, for the GUI and the CLI alike."""

from __future__ import annotations

import getpass
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

import platformdirs

from tpi_chart.domain.users import User
from tpi_chart.services.access import Action
from tpi_chart.services.auth import AuthService
from tpi_chart.services.backup import BackupService
from tpi_chart.services.charting import ChartingService
from tpi_chart.services.documents import DocumentService
from tpi_chart.services.errors import InvalidInput
from tpi_chart.services.paths import check_location, key_dir, resolve_db_path
from tpi_chart.services.patients import PatientService
from tpi_chart.services.signing import SigningService
from tpi_chart.storage.interfaces import Store
from tpi_chart.storage.repositories import open_store

if TYPE_CHECKING:
    from tpi_chart.services.notes import NoteService

CLINIC_NAME = "clinic_name"
EXPORT_FOLDER = "export_folder"
IDLE_LOCK_MINUTES = "idle_lock_minutes"
DEFAULT_EXPORT_NAME = "TPI Chart notes"
DEFAULT_IDLE_LOCK_MINUTES = 10
IDLE_LOCK_RANGE = (2, 15)


class SettingsService:
    """Clinic settings kept in the database (audited as `settings`)."""

    def __init__(self, store: Store, user: str) -> None:
        self._store = store
        self._user = user

    @property
    def clinic_id(self) -> str:
        return self._store.clinic_id

    def clinic_name(self) -> str:
        return self._store.settings.get(CLINIC_NAME) or ""

    def set_clinic_name(self, name: str) -> None:
        name = name.strip()
        if not name or len(name) > 200:
            raise InvalidInput(["settings.clinic_name: give a name of 1 to 200 characters"])
        self._store.settings.set(CLINIC_NAME, name, self._user)

    def export_folder(self) -> Path:
        """Where signed notes go: the configured folder, else "TPI Chart notes" in Documents."""
        value = self._store.settings.get(EXPORT_FOLDER)
        return (
            Path(value) if value else Path(platformdirs.user_documents_dir()) / DEFAULT_EXPORT_NAME
        )

    def set_export_folder(self, folder: Path | None) -> None:
        if folder is not None and not folder.is_absolute():
            raise InvalidInput(["settings.export_folder: give a full path (an absolute folder)"])
        self._store.settings.set(EXPORT_FOLDER, "" if folder is None else str(folder), self._user)

    def idle_lock_minutes(self) -> int:
        value = self._store.settings.get(IDLE_LOCK_MINUTES)
        return int(value) if value else DEFAULT_IDLE_LOCK_MINUTES

    def set_idle_lock_minutes(self, minutes: int) -> None:
        low, high = IDLE_LOCK_RANGE
        if isinstance(minutes, bool) or not isinstance(minutes, int) or not low <= minutes <= high:
            raise InvalidInput([f"settings.idle_lock_minutes: must be between {low} and {high}"])
        self._store.settings.set(IDLE_LOCK_MINUTES, str(minutes), self._user)


@dataclass
class Services:
    patients: PatientService
    charting: ChartingService
    documents: DocumentService
    backups: BackupService
    settings: SettingsService
    auth: AuthService
    signing: SigningService
    user: str
    db_path: Path
    store: Store = field(repr=False)

    @cached_property
    def notes(self) -> NoteService:
        # Loaded on first use: reportlab adds about 180 ms to start-up otherwise.
        from tpi_chart.services.notes import NoteService

        return NoteService(self.store, self.charting, self.settings, self.user)

    def as_user(self, user: str) -> Services:
        """The same open database, with every change audited under `user` (after a sign-in or
        when another person unlocks the workstation)."""
        return build_services(self.store, user)

    def close(self) -> None:
        self.store.close()

    def __enter__(self) -> Services:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def current_user(user: str | None = None) -> str:
    """The name recorded in the audit trail: the given one, else the operating-system login."""
    if user is not None and user.strip():
        return user.strip()
    try:
        return getpass.getuser() or "unknown"
    except (KeyError, OSError):  # no login name (some containers)
        return "unknown"


def build_services(store: Store, user: str) -> Services:
    charting = ChartingService(store, user)
    settings = SettingsService(store, user)

    def audit_denial(actor: User, action: Action) -> None:
        store.audit.record(
            user=actor.username,
            action="access_denied",
            entity="procedure",
            after={"action": action},
        )

    return Services(
        patients=PatientService(store, user),
        charting=charting,
        documents=DocumentService(store, charting, user),
        backups=BackupService(store, user),
        settings=settings,
        auth=AuthService(store.users, store.audit),
        signing=SigningService(
            charting, store.procedures, transaction=store.transaction, on_denied=audit_denial
        ),
        user=user,
        db_path=store.path,
        store=store,
    )


def open_services(
    db_path: Path | None, user: str | None, *, seed_demo_if_new: bool = False
) -> Services:
    """Resolve the database path (explicit, $TPI_CHART_DB, per-user default), refuse unsafe
    places, create the folder, open, check and migrate the database, and build the services.
    With `seed_demo_if_new`, a database with no patients gets the demo clinic."""
    path = resolve_db_path(db_path)
    check_location(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    store = open_store(path, key_dir())
    services = build_services(store, current_user(user))
    try:
        if seed_demo_if_new and store.is_empty():
            from tpi_chart.services.demo import seed_demo

            seed_demo(services)
    except BaseException:
        services.close()
        raise
    return services

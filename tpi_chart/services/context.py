"""One place that opens the database and builds the services, for the GUI and the CLI alike."""

from __future__ import annotations

import getpass
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum
from functools import cached_property, partial
from pathlib import Path
from typing import TYPE_CHECKING

import platformdirs

from tpi_chart.domain.users import User
from tpi_chart.services.access import Action, DeniedHook, require
from tpi_chart.services.auth import AuthService
from tpi_chart.services.backup import BackupService
from tpi_chart.services.charting import ChartingService
from tpi_chart.services.documents import DocumentService
from tpi_chart.services.errors import InvalidInput
from tpi_chart.services.paths import check_location, key_dir, resolve_db_path
from tpi_chart.services.patients import PatientService
from tpi_chart.services.pki import KeyChain, SigningAuthority
from tpi_chart.services.signing import SigningService
from tpi_chart.storage.db import BUSY_TIMEOUT_MS
from tpi_chart.storage.interfaces import Store
from tpi_chart.storage.repositories import open_store

if TYPE_CHECKING:
    from tpi_chart.pdf.note import PageSize
    from tpi_chart.services.notes import NoteService
    from tpi_chart.services.signed_notes import SignedNotes

CLINIC_NAME = "clinic_name"
CLINIC_PHONE = "clinic_phone"
EXPORT_FOLDER = "export_folder"
PAGE_SIZE = "page_size"
IDLE_LOCK_MINUTES = "idle_lock_minutes"
DEFAULT_EXPORT_NAME = "TPI Chart notes"
DEFAULT_IDLE_LOCK_MINUTES = 10
IDLE_LOCK_RANGE = (2, 15)
# The note's page sizes; tpi_chart.pdf.note.PageSize names the same two (checked by a test). Not
# imported from there: that module loads reportlab, which start-up does not need.
PAGE_SIZE_CHOICES: tuple[PageSize, ...] = ("letter", "a4")
DEFAULT_PAGE_SIZE: PageSize = "letter"
PHONE_DIGITS = (7, 15)
_PHONE = re.compile(r"^\+?[0-9 ()./-]+?(?:\s*(?:ext\.?|x)\s*[0-9]{1,6})?$", re.IGNORECASE)
_PHONE_EXTENSION = re.compile(r"(?:ext\.?|x)\s*[0-9]+$", re.IGNORECASE)


class Keep(Enum):
    """`SettingsService.update(export_folder=KEEP)`: leave it as it is (None means the default)."""

    KEEP = "keep"


KEEP = Keep.KEEP


def default_export_folder() -> Path:
    return Path(platformdirs.user_documents_dir()) / DEFAULT_EXPORT_NAME


class SettingsService:
    """Every clinic setting, kept in the database (each change audited as `settings`): the
    clinic's name and phone, the export folder, the note's page size and the idle-lock minutes.

    Who may change them. Built for a signed-in person (`actor`; `Services.as_user(user)` does
    that for the window), every change first requires `manage_settings` for that person:
    administrators only (`access.MATRIX`). A refusal raises `PermissionDenied`, is audited and
    stores nothing. Built with a name only (`actor=None`: the command line and the demo seeding,
    which have no sign-in), the caller is trusted, as every other command-line service trusts
    it. The window also hides its Settings action from everyone else; the check here is the one
    that holds. Reading needs no permission: the notes and the idle lock read them for everyone.
    """

    def __init__(
        self,
        store: Store,
        user: str,
        *,
        actor: User | None = None,
        on_denied: DeniedHook | None = None,
    ) -> None:
        self._store = store
        self._user = user
        self._actor = actor
        self._on_denied = on_denied

    @property
    def clinic_id(self) -> str:
        return self._store.clinic_id

    # ---- reading ---------------------------------------------------------------------------

    def clinic_name(self) -> str:
        return self._store.settings.get(CLINIC_NAME) or ""

    def clinic_phone(self) -> str:
        """The phone printed on notes and handouts; "" when none is set."""
        return self._store.settings.get(CLINIC_PHONE) or ""

    def export_folder(self) -> Path:
        """Where signed notes go: the configured folder, else "TPI Chart notes" in Documents."""
        value = self._store.settings.get(EXPORT_FOLDER)
        return Path(value) if value else default_export_folder()

    def page_size(self) -> PageSize:
        """ "letter" or "a4" (Letter when unset or unreadable)."""
        value = (self._store.settings.get(PAGE_SIZE) or "").strip().lower()
        for choice in PAGE_SIZE_CHOICES:
            if value == choice:
                return choice
        return DEFAULT_PAGE_SIZE

    def idle_lock_minutes(self) -> int:
        value = self._store.settings.get(IDLE_LOCK_MINUTES)
        return int(value) if value else DEFAULT_IDLE_LOCK_MINUTES

    # ---- changing --------------------------------------------------------------------------

    def set_clinic_name(self, name: str) -> None:
        self.update(clinic_name=name)

    def set_clinic_phone(self, phone: str) -> None:
        """Set the phone; an empty one removes it from the notes."""
        self.update(clinic_phone=phone)

    def set_export_folder(self, folder: Path | None) -> None:
        """Set the folder; None goes back to the default one in Documents."""
        self.update(export_folder=folder)

    def set_page_size(self, size: str) -> None:
        self.update(page_size=size)

    def set_idle_lock_minutes(self, minutes: int) -> None:
        self.update(idle_lock_minutes=minutes)

    def update(
        self,
        *,
        clinic_name: str | None = None,
        clinic_phone: str | None = None,
        export_folder: Path | Keep | None = KEEP,
        page_size: str | None = None,
        idle_lock_minutes: int | None = None,
    ) -> None:
        """Change the given settings together (the settings dialog's Save): every value is
        checked first and every problem reported at once, one `settings.<field>: …` line each;
        nothing is stored unless all are good. Then the ones that changed are stored and audited
        in one transaction."""
        if self._actor is not None:
            require(self._actor, "manage_settings", on_denied=self._on_denied)
        problems: list[str] = []
        values: dict[str, str] = {}

        def attempt(key: str, check: Callable[[], str]) -> None:
            try:
                values[key] = check()
            except InvalidInput as error:
                problems.extend(error.problems)

        if clinic_name is not None:
            attempt(CLINIC_NAME, partial(_check_clinic_name, clinic_name))
        if clinic_phone is not None:
            attempt(CLINIC_PHONE, partial(_check_clinic_phone, clinic_phone))
        if not isinstance(export_folder, Keep):
            attempt(EXPORT_FOLDER, partial(_check_export_folder, export_folder))
        if page_size is not None:
            attempt(PAGE_SIZE, partial(_check_page_size, page_size))
        if idle_lock_minutes is not None:
            attempt(IDLE_LOCK_MINUTES, partial(_check_idle_lock_minutes, idle_lock_minutes))
        if problems:
            raise InvalidInput(problems)
        with self._store.transaction():
            for key, value in values.items():
                if (self._store.settings.get(key) or "") != value:
                    self._store.settings.set(key, value, self._user)


def _check_clinic_name(name: str) -> str:
    name = name.strip()
    if not name or len(name) > 200:
        raise InvalidInput(["settings.clinic_name: give a name of 1 to 200 characters"])
    return name


def _check_clinic_phone(phone: str) -> str:
    phone = " ".join(phone.split())
    if not phone:
        return ""
    low, high = PHONE_DIGITS
    digits = sum(c.isdigit() for c in _PHONE_EXTENSION.sub("", phone))
    if len(phone) > 40 or not _PHONE.match(phone) or not low <= digits <= high:
        raise InvalidInput(
            [
                f"settings.clinic_phone: {phone[:40]!r} is not a phone number; use {low} to "
                f"{high} digits, e.g. (555) 010-2030 ext 12"
            ]
        )
    return phone


def _check_export_folder(folder: Path | None) -> str:
    if folder is None:
        return ""
    if not folder.is_absolute():
        raise InvalidInput(["settings.export_folder: give a full path (an absolute folder)"])
    if folder.exists() and not folder.is_dir():
        raise InvalidInput([f"settings.export_folder: {folder} is a file, not a folder"])
    return str(folder)


def _check_page_size(size: str) -> str:
    value = size.strip().lower()
    if value not in PAGE_SIZE_CHOICES:
        choices = " or ".join(f'"{choice}"' for choice in PAGE_SIZE_CHOICES)
        raise InvalidInput([f"settings.page_size: {size!r} is not a page size; choose {choices}"])
    return value


def _check_idle_lock_minutes(minutes: int) -> str:
    low, high = IDLE_LOCK_RANGE
    if isinstance(minutes, bool) or not isinstance(minutes, int) or not low <= minutes <= high:
        raise InvalidInput([f"settings.idle_lock_minutes: must be between {low} and {high}"])
    return str(minutes)


@dataclass
class Services:
    patients: PatientService
    charting: ChartingService
    documents: DocumentService
    backups: BackupService
    settings: SettingsService
    auth: AuthService
    signing: SigningService
    authority: SigningAuthority
    user: str
    db_path: Path
    store: Store = field(repr=False)
    keychain: KeyChain = field(repr=False, default_factory=KeyChain)
    trust_dir: Path | None = None

    @cached_property
    def notes(self) -> NoteService:
        # Loaded on first use: reportlab adds about 180 ms to start-up otherwise.
        from tpi_chart.services.notes import NoteService

        return NoteService(
            self.store, self.charting, self.settings, self.user, authority=self.authority
        )

    def as_user(self, user: str | User) -> Services:
        """The same open database, with every change audited under `user` (after a sign-in or
        when another person unlocks the workstation). Given the signed-in `User`, the services
        also check that person's roles where the services do not take the user per call (the
        clinic settings)."""
        if isinstance(user, User):
            return build_services(
                self.store,
                user.username,
                actor=user,
                keychain=self.keychain,
                trust_dir=self.trust_dir,
            )
        return build_services(self.store, user, keychain=self.keychain, trust_dir=self.trust_dir)

    def close(self) -> None:
        self.keychain.forget()
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


def build_services(
    store: Store,
    user: str,
    *,
    actor: User | None = None,
    keychain: KeyChain | None = None,
    trust_dir: Path | None = None,
) -> Services:
    """The services for `user` (the name in the audit trail); `actor`, the signed-in person,
    when there is one (see `SettingsService`). `keychain`: the keys unlocked at sign-in (shared
    by every `as_user` copy); `trust_dir`: where the clinic's trust root is recorded outside the
    database (beside the audit key)."""
    charting = ChartingService(store, user)
    keychain = keychain if keychain is not None else KeyChain()

    def display_name(username: str) -> str | None:
        account = store.users.get(username)
        return account.display_name if account is not None and account.active else None

    authority = SigningAuthority(
        store.pki,
        keychain,
        clinic_id=store.clinic_id,
        clinic_name=lambda: store.settings.get(CLINIC_NAME) or "",
        display_name=display_name,
        administrators=lambda: [
            account.username
            for account in store.users.all()
            if account.is_administrator and account.active
        ],
        trust_dir=trust_dir,
    )
    built: list[Services] = []

    def signed_notes() -> SignedNotes:
        return built[0].notes.signed

    def audit_denial(actor: User, action: Action, entity: str = "procedure") -> None:
        store.audit.record(
            user=actor.username,
            action="access_denied",
            entity=entity,
            after={"action": action},
        )

    settings = SettingsService(
        store,
        user,
        actor=actor,
        on_denied=lambda person, action: audit_denial(person, action, "setting"),
    )

    services = Services(
        patients=PatientService(store, user),
        charting=charting,
        documents=DocumentService(store, charting, user),
        backups=BackupService(store, user),
        settings=settings,
        auth=AuthService(store.users, store.audit, keys=authority),
        signing=SigningService(
            charting,
            store.procedures,
            transaction=store.transaction,
            on_denied=audit_denial,
            keys=authority,
            signed_notes=signed_notes,
        ),
        authority=authority,
        user=user,
        db_path=store.path,
        store=store,
        keychain=keychain,
        trust_dir=trust_dir,
    )
    built.append(services)
    return services


def open_services(
    db_path: Path | None,
    user: str | None,
    *,
    seed_demo_if_new: bool = False,
    exclusive: bool = False,
    busy_timeout_ms: int = BUSY_TIMEOUT_MS,
) -> Services:
    """Resolve the database path (explicit, $TPI_CHART_DB, per-user default), refuse unsafe
    places, create the folder, open, check and migrate the database, and build the services.
    The window passes `exclusive`: one window per database (the command line does not lock).
    With `seed_demo_if_new`, a database with no patients gets the demo clinic.
    `busy_timeout_ms`: how long a write waits for another program's lock.

    Refusals are `StorageError`s with a message for the user: `AlreadyOpen` (another window has
    the database), `AuditKeyProblem`, `CorruptDatabase`, `SchemaTooNew`, `NotOurDatabase`,
    `UnsafeLocation`, `ReadOnlyDatabase`."""
    path = resolve_db_path(db_path)
    check_location(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    keys = key_dir()
    store = open_store(path, keys, exclusive=exclusive, busy_timeout_ms=busy_timeout_ms)
    services = build_services(store, current_user(user), trust_dir=keys)
    try:
        if seed_demo_if_new and store.is_empty():
            from tpi_chart.services.demo import seed_demo

            seed_demo(services)
    except BaseException:
        services.close()
        raise
    return services

"""One place that opens the database and builds the services, for the GUI and the CLI alike."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum
from functools import cached_property, partial
from pathlib import Path
from typing import TYPE_CHECKING

import platformdirs

from tpi_chart.domain.localdates import set_clinic_zone, zone_named
from tpi_chart.domain.signing import DEFAULT_REQUIRED, NOTE_FIELD_KEYS
from tpi_chart.domain.units import WeightUnit
from tpi_chart.domain.users import User
from tpi_chart.services.access import (
    INTEGRITY_CHECK,
    NOBODY,
    SYSTEM_SETUP,
    Action,
    DeniedHook,
    Permissions,
)
from tpi_chart.services.audit_keys import AuditKeys
from tpi_chart.services.auth import AuthService
from tpi_chart.services.charting import ChartingService
from tpi_chart.services.errors import InvalidInput, StorageError
from tpi_chart.services.live import LiveService, workstation_room
from tpi_chart.services.paths import check_location, key_dir, make_private_folder, resolve_database
from tpi_chart.services.patients import PatientService
from tpi_chart.services.pki import KeyChain, SigningAuthority
from tpi_chart.services.server import open_server_store
from tpi_chart.services.sessions import WorkstationSession, guarded_session
from tpi_chart.services.setting_checks import (
    check_clinic_name,
    check_clinic_phone,
    check_export_folder,
    check_time_zone,
    check_weight_unit,
    check_whole,
)
from tpi_chart.storage.interfaces import FileBackedStore, Store
from tpi_chart.storage.sqlite.connection import BUSY_TIMEOUT_MS
from tpi_chart.storage.sqlite.store import open_store, open_store_readonly

if TYPE_CHECKING:
    # Imported where they are first used (the properties of `Services`): the window's first
    # screen and most commands need none of them.
    from tpi_chart.pdf.note import PageSize
    from tpi_chart.services.audit_report import AuditReportService
    from tpi_chart.services.backup import AutomaticBackups, BackupService
    from tpi_chart.services.documents import DocumentService
    from tpi_chart.services.interop import InteropService
    from tpi_chart.services.notes import NoteService
    from tpi_chart.services.operations import ChartingOps
    from tpi_chart.services.signing import SigningService

CLINIC_NAME = "clinic_name"
CLINIC_PHONE = "clinic_phone"
EXPORT_FOLDER = "export_folder"
PAGE_SIZE = "page_size"
IDLE_LOCK_MINUTES = "idle_lock_minutes"
TIME_ZONE = "time_zone"
BACKUP_FOLDER = "backup_folder"
BACKUP_KEEP_DAILY = "backup_keep_daily"
BACKUP_KEEP_WEEKLY = "backup_keep_weekly"
REQUIRED_TO_SIGN = "required_to_sign"
WEIGHT_UNIT = "weight_unit"
DEFAULT_EXPORT_NAME = "TPI Chart notes"
DEFAULT_IDLE_LOCK_MINUTES = 10
IDLE_LOCK_RANGE = (2, 15)
#: Days between whole-file integrity checks of a large database, run after the window is up.
FULL_CHECK_DAYS = "full_check_days"
DEFAULT_FULL_CHECK_DAYS = 7
FULL_CHECK_RANGE = (1, 90)
# The note's page sizes; tpi_chart.pdf.note.PageSize names the same two (checked by a test). Not
# imported from there: that module loads reportlab, which start-up does not need.
PAGE_SIZE_CHOICES: tuple[PageSize, ...] = ("letter", "a4")
DEFAULT_PAGE_SIZE: PageSize = "letter"


class Keep(Enum):
    """`SettingsService.update(export_folder=KEEP)`: leave it as it is (None means the default)."""

    KEEP = "keep"


KEEP = Keep.KEEP


def default_export_folder() -> Path:
    return Path(platformdirs.user_documents_dir()) / DEFAULT_EXPORT_NAME


class SettingsService:
    """Every clinic setting, kept in the database (each change audited as `settings`): the
    clinic's name and phone, the export folder, the note's page size and the idle-lock minutes.

    Who may change them. Built for the signed-in person, every change first requires
    `manage_settings` for that person: administrators only (`access.MATRIX`). A refusal raises
    `PermissionDenied`, is audited and stores nothing. The window also hides its Settings action
    from everyone else; the check here is the one that holds. Reading needs no permission: the
    notes and the idle lock read them for everyone, before sign-in too.
    """

    def __init__(self, store: Store, user: User, *, on_denied: DeniedHook | None = None) -> None:
        self._store = store
        self._permissions = Permissions(user, on_denied)
        self._user = user.username

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

    def full_check_days(self) -> int:
        value = self._store.settings.get(FULL_CHECK_DAYS)
        return int(value) if value else DEFAULT_FULL_CHECK_DAYS

    def time_zone(self) -> str:
        """The clinic's IANA time zone for day counts (rules, history); "" = the machine's."""
        return self._store.settings.get(TIME_ZONE) or ""

    def apply_time_zone(self) -> None:
        """Make the rules count days in the configured zone (the machine's when unset)."""
        name = self.time_zone()
        try:
            set_clinic_zone(zone_named(name) if name else None)
        except ValueError:
            set_clinic_zone(None)  # a zone this machine does not know: its own zone

    def required_to_sign(self) -> frozenset[str]:
        """The note fields that must be documented before signing (`domain.signing`
        NOTE_FIELD_KEYS); the issue-12 defaults until the clinic changes them."""
        value = self._store.settings.get(REQUIRED_TO_SIGN)
        if value is None:
            return DEFAULT_REQUIRED
        return frozenset(key for key in value.split(",") if key in NOTE_FIELD_KEYS)

    def weight_unit(self) -> WeightUnit:
        """The unit weights are typed and shown in ("kg" unless the clinic chose "lb"); the
        chart stores kg whatever it is."""
        value = (self._store.settings.get(WEIGHT_UNIT) or "").strip().lower()
        return "lb" if value == "lb" else "kg"

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

    def set_time_zone(self, name: str) -> None:
        """Set the clinic's time zone (an IANA name such as America/Denver); "" = the machine's."""
        self.update(time_zone=name)

    def update(
        self,
        *,
        clinic_name: str | None = None,
        clinic_phone: str | None = None,
        export_folder: Path | Keep | None = KEEP,
        page_size: str | None = None,
        idle_lock_minutes: int | None = None,
        time_zone: str | None = None,
        required_to_sign: frozenset[str] | None = None,
        weight_unit: str | None = None,
        full_check_days: int | None = None,
    ) -> None:
        """Change the given settings together (the settings dialog's Save): every value is
        checked first and every problem reported at once, one `settings.<field>: …` line each;
        nothing is stored unless all are good. Then the ones that changed are stored and audited
        in one transaction."""
        self._permissions.require("manage_settings")
        problems: list[str] = []
        values: dict[str, str] = {}

        def attempt(key: str, check: Callable[[], str]) -> None:
            try:
                values[key] = check()
            except InvalidInput as error:
                problems.extend(error.problems)

        if clinic_name is not None:
            attempt(CLINIC_NAME, partial(check_clinic_name, clinic_name))
        if clinic_phone is not None:
            attempt(CLINIC_PHONE, partial(check_clinic_phone, clinic_phone))
        if not isinstance(export_folder, Keep):
            attempt(EXPORT_FOLDER, partial(check_export_folder, export_folder))
        if page_size is not None:
            attempt(PAGE_SIZE, partial(_check_page_size, page_size))
        if idle_lock_minutes is not None:
            check = partial(check_whole, IDLE_LOCK_MINUTES, idle_lock_minutes, IDLE_LOCK_RANGE)
            attempt(IDLE_LOCK_MINUTES, check)
        if full_check_days is not None:
            check = partial(check_whole, FULL_CHECK_DAYS, full_check_days, FULL_CHECK_RANGE)
            attempt(FULL_CHECK_DAYS, check)
        if time_zone is not None:
            attempt(TIME_ZONE, partial(check_time_zone, time_zone))
        if required_to_sign is not None:
            attempt(REQUIRED_TO_SIGN, partial(_check_required, required_to_sign))
        if weight_unit is not None:
            attempt(WEIGHT_UNIT, partial(check_weight_unit, weight_unit))
        if problems:
            raise InvalidInput(problems)
        with self._store.transaction():
            for key, value in values.items():
                if (self._store.settings.get(key) or "") != value:
                    self._store.settings.set(key, value, self._user)
        if TIME_ZONE in values:
            self.apply_time_zone()


def _check_page_size(size: str) -> str:
    value = size.strip().lower()
    if value not in PAGE_SIZE_CHOICES:
        choices = " or ".join(f'"{choice}"' for choice in PAGE_SIZE_CHOICES)
        raise InvalidInput([f"settings.page_size: {size!r} is not a page size; choose {choices}"])
    return value


def _check_required(keys: frozenset[str]) -> str:
    unknown = sorted(keys - set(NOTE_FIELD_KEYS))
    if unknown:
        raise InvalidInput([f"settings.required_to_sign: unknown field(s) {', '.join(unknown)}"])
    # In the note's order, so the stored value reads like the Sign tab.
    return ",".join(key for key in NOTE_FIELD_KEYS if key in keys)


def audit_denial(store: Store, entity: str) -> DeniedHook:
    """A `DeniedHook` that records each refusal as an `access_denied` row about `entity`."""

    def record(actor: User, action: Action) -> None:
        store.audit.record(
            user=actor.username, action="access_denied", entity=entity, after={"action": action}
        )

    return record


@dataclass
class Services:
    """The services of one open database, every one built for `user`, the signed-in person
    (`NOBODY` before sign-in: then only sign-in and reading the settings work).

    Each service is built, and its module imported, on first use: the window's first screen
    and each command pay only for the services they touch (issue 15; a test lists the modules
    the start must not import)."""

    user: User
    #: The database file; None for a clinic on a PostgreSQL server (`location` names it).
    db_path: Path | None
    store: Store = field(repr=False)
    on_denied: DeniedHook | None = field(default=None, repr=False)
    #: What the start-up integrity checks found (signed content that no longer matches its
    #: signature), one line each; shown by the window and the commands, never silently dropped.
    integrity_warnings: list[str] = field(default_factory=list)
    keychain: KeyChain = field(repr=False, default_factory=KeyChain)
    trust_dir: Path | None = None
    room: str | None = None  # this workstation's room, given with `--room` (see `live`)
    #: This workstation's session (who is signed in here), shared like the keychain.
    session: WorkstationSession | None = field(default=None, repr=False)

    @property
    def location(self) -> str:
        """Where the clinic's records are, for people: the file, or the server's database."""
        if self.db_path is not None:
            return str(self.db_path)
        return f"server {getattr(self.store, 'host', '')}".strip()

    @cached_property
    def settings(self) -> SettingsService:
        return SettingsService(self.store, self.user, on_denied=audit_denial(self.store, "setting"))

    @cached_property
    def patients(self) -> PatientService:
        return PatientService(self.store, self.user, on_denied=audit_denial(self.store, "patient"))

    @cached_property
    def charting(self) -> ChartingService:
        return ChartingService(self.store, self.user, on_denied=self.on_denied)

    @cached_property
    def documents(self) -> DocumentService:
        from tpi_chart.services.documents import DocumentService

        return DocumentService(self.store, self.charting, self.user, on_denied=self.on_denied)

    @cached_property
    def backups(self) -> BackupService:
        from tpi_chart.services.backup import BackupService

        return BackupService(self.store, self.user, on_denied=audit_denial(self.store, "database"))

    @cached_property
    def authority(self) -> SigningAuthority:
        """The clinic's signing authority; its keys are those of `keychain`, unlocked at sign-in."""
        store = self.store

        def display_name(username: str) -> str | None:
            account = store.users.get(username)
            return account.display_name if account is not None and account.active else None

        return SigningAuthority(
            store.pki,
            self.keychain,
            clinic_id=store.clinic_id,
            clinic_name=lambda: store.settings.get(CLINIC_NAME) or "",
            display_name=display_name,
            administrators=lambda: [
                account.username
                for account in store.users.all()
                if account.is_administrator and account.active
            ],
            trust_dir=self.trust_dir,
            audit_keys=AuditKeys(store),
        )

    @cached_property
    def auth(self) -> AuthService:
        store = self.store
        return AuthService(
            store.users,
            store.audit,
            keys=self.authority,
            sessions=self.session,
            transaction=store.transaction,
        )

    @cached_property
    def signing(self) -> SigningService:
        from tpi_chart.services.signing import SigningService

        return SigningService(
            self.charting,
            self.store.procedures,
            transaction=self.store.transaction,
            on_denied=self.on_denied,
            user=self.user,
            latest_event=self.store.audit.latest_at,
            on_clock_backwards=self._audit_clock,
            keys=self.authority,
            signed_notes=lambda: self.notes.signed,
            required=self.settings.required_to_sign,
            on_signed=self._file_on_signing,
        )

    def _audit_clock(self, actor: User, now: datetime, latest: datetime, confirmed: bool) -> None:
        self.store.audit.record(
            user=actor.username,
            action="clock_backwards",
            entity="clock",
            after={
                "clock": now.isoformat(),
                "latest_event": latest.isoformat(),
                "confirmed": confirmed,
            },
        )

    def _file_on_signing(self, procedure_id: int, event: str) -> None:
        # In the signing transaction: the filing is queued with the signature, durably; the
        # window, `tpi-chart sign` and `tpi-chart outbox --retry` drain the queue and retry
        # what failed.
        from tpi_chart.services.interop import OUTBOX_FORMATS, clinic_outbox_formats

        formats = clinic_outbox_formats(self.store.settings.get(OUTBOX_FORMATS))
        if formats:
            self.store.outbox.enqueue(procedure_id, event, formats)

    @cached_property
    def notes(self) -> NoteService:
        # Loaded on first use: reportlab adds about 180 ms to start-up otherwise.
        from tpi_chart.services.notes import NoteService

        return NoteService(
            self.store,
            self.charting,
            self.settings,
            self.user,
            on_denied=self.on_denied,
            authority=self.authority,
        )

    @cached_property
    def ops(self) -> ChartingOps:
        """The charting operations (plan, inject, time-out…) for `user`: what the window's
        clicks and the `chart` commands call; it holds the procedure it last opened."""
        from tpi_chart.services.operations import ChartingOps

        return ChartingOps(self.store, self.user, on_denied=self.on_denied, charting=self.charting)

    @cached_property
    def live(self) -> LiveService:  # leases and notices between rooms, for `user` in this room
        return LiveService(self.store, self.user, workstation_room(self.room))

    @property
    def audit_report(self) -> AuditReportService:
        from tpi_chart.services.audit_report import AuditReportService

        return AuditReportService(self.store, self.user, on_denied=self.on_denied)

    @cached_property
    def automatic_backups(self) -> AutomaticBackups:
        """Rotating encrypted backups (settings `backup_folder`, `backup_keep_daily`,
        `backup_keep_weekly`; defaults: the per-user backup folder, 14 daily + 8 weekly)."""
        from tpi_chart.services.backup import (
            DEFAULT_KEEP_DAILY,
            DEFAULT_KEEP_WEEKLY,
            AutomaticBackups,
        )

        get = self.store.settings.get
        folder = get(BACKUP_FOLDER)
        return AutomaticBackups(
            self.backups,
            Path(folder) if folder else None,
            int(get(BACKUP_KEEP_DAILY) or DEFAULT_KEEP_DAILY),
            int(get(BACKUP_KEEP_WEEKLY) or DEFAULT_KEEP_WEEKLY),
        )

    @cached_property
    def interop(self) -> InteropService:
        """FHIR / HL7 export, the outbox and the clinic lists (issue 19), for `user`."""
        from tpi_chart.services.interop import InteropService

        return InteropService(
            self.store,
            self.charting,
            lambda: self.notes,
            self.settings,
            self.user.username,
            actor=self.user,
            on_denied=audit_denial(self.store, "report"),
        )

    def as_user(self, user: User) -> Services:
        """The same open database for `user`, the person who just signed in (or unlocked the
        workstation): every change is checked against their roles and audited under their
        name; the keys unlocked at sign-in are shared."""
        built = build_services(
            self.store, user, keychain=self.keychain, trust_dir=self.trust_dir, session=self.session
        )
        built.integrity_warnings, built.room = self.integrity_warnings, self.room
        return built

    def close(self) -> None:
        self.keychain.forget()
        with suppress(StorageError):  # a read-only disk, an unreachable server: stays listed
            self.auth.sign_out("closed")
        self.store.close()

    def __enter__(self) -> Services:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def build_services(
    store: Store,
    user: User,
    *,
    keychain: KeyChain | None = None,
    trust_dir: Path | None = None,
    session: WorkstationSession | None = None,
) -> Services:
    """The services for `user`, the signed-in person; each checks the role matrix itself and
    audits what it refuses (`access_denied`). `keychain`: the keys unlocked at sign-in (shared
    by every `as_user` copy); `trust_dir`: where the clinic's trust root is recorded outside the
    database (beside the audit key)."""
    services = Services(
        user=user,
        db_path=store.path if isinstance(store, FileBackedStore) else None,
        store=store,
        on_denied=audit_denial(store, "procedure"),
        keychain=keychain if keychain is not None else KeyChain(),
        trust_dir=trust_dir,
        session=session if session is not None else guarded_session(store),
    )
    services.settings.apply_time_zone()
    return services


def open_services(
    db_path: Path | str | None,
    user: User | None = None,
    *,
    seed_demo_if_new: bool = False,
    exclusive: bool = False,
    busy_timeout_ms: int = BUSY_TIMEOUT_MS,
    for_restore: bool = False,
    readonly: bool = False,
) -> Services:
    """Resolve the database path (explicit, $TPI_CHART_DB, per-user default), refuse unsafe
    places, create the folder, open, check and migrate the database, and build the services for
    `user` (None: `NOBODY`, before sign-in; `as_user` after it).
    The window passes `exclusive`: one window per database (the command line does not lock).
    With `seed_demo_if_new`, a database with no patients gets the demo clinic.
    `busy_timeout_ms`: how long a write waits for another program's lock.

    Refusals are `StorageError`s with a message for the user: `AlreadyOpen` (another window has
    the database), `AuditKeyProblem`, `CorruptDatabase`, `SchemaTooNew`, `NotOurDatabase`,
    `UnsafeLocation`, `ReadOnlyDatabase`, `DataLoss` (the clinic registry beside the key shows
    the database was emptied, shortened or replaced; `for_restore` skips that refusal: the
    restore replaces the content). `readonly`: open without writing anything (the rescue of a
    read-only disk: reading, exporting and backing up work, every write is refused).
    A database path this computer has a registry entry for is never seeded with the demo.
    A `postgresql://` URL (given, or in $TPI_CHART_DB) opens the clinic on that server
    (`ServerUnreachable` when it cannot be reached)."""
    target = resolve_database(db_path)
    keys = key_dir()
    signed_in_as = user if user is not None else NOBODY
    if isinstance(target, str):
        server = open_server_store(target, readonly=readonly, for_restore=for_restore)
        return build_services(server, signed_in_as, trust_dir=keys)
    path = target
    check_location(path)
    if readonly:
        return build_services(open_store_readonly(path, keys), signed_in_as, trust_dir=keys)
    make_private_folder(path.parent)
    store = open_store(
        path,
        keys,
        exclusive=exclusive,
        busy_timeout_ms=busy_timeout_ms,
        for_restore=for_restore,
    )
    services = build_services(store, signed_in_as, trust_dir=keys)
    try:
        from tpi_chart.services.integrity import check_signed_at_open

        services.integrity_warnings = check_signed_at_open(
            store, ChartingService(store, INTEGRITY_CHECK)
        )
        if seed_demo_if_new and store.is_empty() and not store.registered:
            from tpi_chart.services.demo import seed_demo

            seed_demo(build_services(store, SYSTEM_SETUP, trust_dir=keys))
    except BaseException:
        services.close()
        raise
    return services

"""Only after the fact (issue 10 item 5): the signing time is the clock's, never before what the
note records; a clock behind the audit trail is detected, audited and must be confirmed; login
back-off and lockout hold when the wall clock is moved (injected clocks throughout). On both
engines: the lockout counters and the signing transaction are the store's."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from tests.engines import open_store
from tests.unit.auth_support import FAST_HASHER, FakeClock, reference_document
from tpi_chart.domain.models import Consent, TimeOut
from tpi_chart.domain.users import User
from tpi_chart.services.auth import AccountLocked, AuthService
from tpi_chart.services.charting import ChartingService
from tpi_chart.services.signing import SigningService
from tpi_chart.services.timing import ClockWentBackwards, SigningTooEarly

MST = timezone(timedelta(hours=-7))
CHEN = User(username="chen", display_name="Dr. Alex Chen, MD", roles=frozenset({"physician"}))
ACKS = {"ptx_risk_site": "superficial technique", "multi_region": "one pattern"}


@dataclass
class Signing:
    store: object
    charting: ChartingService
    service: SigningService
    now: datetime
    latest: datetime | None = None
    clock_events: list[tuple[datetime, datetime, bool]] = field(default_factory=list)

    def add(self, **changes: object) -> int:
        document = reference_document(**changes)
        store = self.store
        patient = store.patients.by_mrn(document.patient.mrn)  # type: ignore[attr-defined]
        if patient is None:
            patient = store.patients.add(document.patient, "chen")  # type: ignore[attr-defined]
        return int(store.procedures.add(patient.id, document.procedure, "chen").id)  # type: ignore[attr-defined]


@pytest.fixture
def signing(engine: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Signing]:
    store = open_store(engine, tmp_path, request)
    charting = ChartingService(store, CHEN)
    env = Signing(store, charting, None, datetime(2026, 11, 20, 12, 0, tzinfo=MST))  # type: ignore[arg-type]
    env.service = SigningService(
        charting,
        store.procedures,
        clock=lambda: env.now,
        transaction=store.transaction,
        user=CHEN,
        latest_event=lambda: env.latest,
        on_clock_backwards=lambda user, now, latest, ok: env.clock_events.append((now, latest, ok)),
    )
    yield env
    store.close()


def test_a_visit_planned_later_today_can_be_signed_after_its_time_out(signing: Signing) -> None:
    """The planned time is not when it happened: the time-out is."""
    procedure_id = signing.add(performed_at="2026-11-20T15:00:00-07:00")
    assert signing.service.sign(procedure_id, CHEN, ACKS).procedure.status == "signed"


def test_the_signing_time_is_the_clock_not_the_document(signing: Signing) -> None:
    procedure_id = signing.add()
    stored = signing.service.sign(procedure_id, CHEN, ACKS)
    assert stored.procedure.signature is not None
    assert stored.procedure.signature.signed_at == signing.now


@pytest.mark.parametrize(
    ("what", "changes"),
    [
        ("the date of service is 2026-11-21", {"performed_at": "2026-11-21T09:30:00-07:00"}),
        (
            "the time-out",
            {
                "time_out": TimeOut(
                    performed_by="J. Rivera, MA", at=datetime(2026, 11, 20, 12, 30, tzinfo=MST)
                ).model_dump(mode="json")
            },
        ),
        (
            "the consent",
            {
                "consent": Consent(
                    obtained=True, method="verbal", at=datetime(2026, 11, 20, 12, 1, tzinfo=MST)
                ).model_dump(mode="json")
            },
        ),
    ],
)
def test_signing_before_what_the_note_records_is_refused(
    signing: Signing, what: str, changes: dict[str, object]
) -> None:
    procedure_id = signing.add(**changes)
    with pytest.raises(SigningTooEarly, match=what):
        signing.service.sign(procedure_id, CHEN, ACKS)
    assert signing.charting.get(procedure_id).procedure.status != "signed"
    signing.now += timedelta(days=1)  # after the fact, it signs
    assert signing.service.sign(procedure_id, CHEN, ACKS).procedure.status == "signed"


def test_a_clock_behind_the_latest_event_is_reported_and_must_be_confirmed(
    signing: Signing,
) -> None:
    procedure_id = signing.add()
    signing.latest = signing.now + timedelta(hours=3)
    with pytest.raises(ClockWentBackwards, match="the clock went backwards"):
        signing.service.sign(procedure_id, CHEN, ACKS)
    assert signing.clock_events == [(signing.now, signing.latest, False)]
    assert signing.charting.get(procedure_id).procedure.status != "signed"
    stored = signing.service.sign(procedure_id, CHEN, ACKS, confirm_clock=True)
    assert stored.procedure.status == "signed"
    assert signing.clock_events[-1] == (signing.now, signing.latest, True)
    # A few seconds of jitter is not a clock set back.
    signing.latest = signing.now + timedelta(seconds=30)
    signing.service.add_addendum(procedure_id, CHEN, "Late entry.")
    assert len(signing.clock_events) == 2


# ---- sign-in back-off and lockout when the wall clock moves ----------------------------------


@dataclass
class Monotonic:
    value: float = 1000.0

    def __call__(self) -> float:
        return self.value


class Login:
    def __init__(self, store: Any, boot: str | None = "boot-1") -> None:
        self.store = store
        self.trail = store.audit
        self.clock = FakeClock()
        self.mono = Monotonic()
        self.boot = boot
        self.users = store.users
        self.auth = self.service()
        self.auth.create_first_administrator("okafor", "R. Okafor", "Granite-Otter-4471")

    def service(self) -> AuthService:
        return AuthService(
            self.users,
            self.trail,
            clock=self.clock,
            sleep=self.sleep,
            hasher=FAST_HASHER,
            monotonic=self.mono,
            boot_id=lambda: self.boot,
        )

    def sleep(self, seconds: float) -> None:  # waiting moves both clocks
        self.clock.sleeps.append(seconds)
        self.clock.advance(seconds=seconds)
        self.mono.value += seconds

    def lock(self) -> None:
        for _ in range(4):
            assert self.auth.login("okafor", "wrong password!") is None
        with pytest.raises(AccountLocked):
            self.auth.login("okafor", "wrong password!")


@pytest.fixture
def login(engine: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Login]:
    env = Login(open_store(engine, tmp_path, request))
    yield env
    env.store.close()


def test_a_lockout_holds_when_the_clock_is_set_forward(login: Login) -> None:
    login.lock()
    login.clock.advance(hours=2)  # someone sets the clock forward; no time passed
    with pytest.raises(AccountLocked):
        login.auth.login("okafor", "Granite-Otter-4471")
    login.mono.value += 15 * 60 + 1  # fifteen real minutes later it opens
    assert login.auth.login("okafor", "Granite-Otter-4471") is not None


def test_a_lockout_holds_when_the_clock_is_set_back(login: Login) -> None:
    login.lock()
    login.clock.advance(hours=-5)
    with pytest.raises(AccountLocked):
        login.auth.login("okafor", "Granite-Otter-4471")


def test_the_back_off_holds_when_the_clock_is_set_forward(login: Login) -> None:
    for _ in range(3):
        assert login.auth.login("okafor", "wrong password!") is None
    login.clock.advance(hours=1)
    assert login.auth.login("okafor", "wrong password!") is None
    assert login.clock.sleeps == [1.0]  # the fourth attempt still waited


def test_the_lockout_is_kept_by_a_new_process(login: Login) -> None:
    """The counters live in the database: another process (a new AuthService) sees them."""
    login.lock()
    login.clock.advance(hours=3)
    with pytest.raises(AccountLocked):
        login.service().login("okafor", "Granite-Otter-4471")


def test_after_a_reboot_only_the_wall_clock_is_left(login: Login) -> None:
    login.lock()
    login.boot = "boot-2"
    login.mono.value = 5.0  # a new boot starts its monotonic clock again
    with pytest.raises(AccountLocked):
        login.auth.login("okafor", "Granite-Otter-4471")
    login.clock.advance(minutes=16)
    assert login.auth.login("okafor", "Granite-Otter-4471") is not None

"""Automatic rotating backups (issue 11 §6): one a day on the first sign-in and one on closing,
verified after writing, pruned to 14 daily + 8 weekly, their age shown with a warning after two
days; no passphrase, no backup (and the window says so)."""

from __future__ import annotations

import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.users import staff
from tpi_chart.services.backup import AutomaticBackups
from tpi_chart.services.context import Services, open_services
from tpi_chart.services.sealed_backup import MAGIC


@pytest.fixture
def services(tmp_path: Path) -> Services:
    opened = open_services(tmp_path / "clinic.db", staff("rivera"), seed_demo_if_new=True)
    opened.backups.set_passphrase("correct horse battery staple")
    return opened


class Clock:
    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now


def test_a_backup_a_day_verified_and_pruned_to_14_daily_and_8_weekly(
    services: Services, tmp_path: Path
) -> None:
    clock = Clock(datetime(2026, 1, 1, 9, tzinfo=UTC))
    auto = AutomaticBackups(services.backups, tmp_path / "backups", clock=clock)
    assert auto.due()
    first = auto.run()
    assert first is not None
    assert first.read_bytes().startswith(MAGIC)
    assert stat.S_IMODE(first.stat().st_mode) == 0o600
    assert stat.S_IMODE(auto.folder.stat().st_mode) == 0o700
    assert not auto.due()  # one on the first sign-in of the day
    for _ in range(200):  # a hundred days of sign-ins and closings
        clock.now += timedelta(hours=12)
        auto.run()
    kept = sorted(p.name for p in auto.folder.iterdir())
    days = {name[10:18] for name in kept}
    assert len(kept) == len(days)  # one per day or week
    assert len(kept) == 14 + 8
    newest = auto.state().last_good
    assert newest == clock.now


def test_a_backup_that_fails_verification_is_removed(
    services: Services, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    auto = AutomaticBackups(services.backups, tmp_path / "backups")
    from tpi_chart.services import sealed_backup

    real = sealed_backup.seal
    monkeypatch.setattr(
        sealed_backup, "seal", lambda files, key, clinic: real({"other": b"x"}, key, clinic)
    )
    with pytest.raises(Exception, match="holds no database"):
        auto.run()
    assert list(auto.folder.iterdir()) == []


def test_the_age_is_shown_and_warned_after_two_days(services: Services, tmp_path: Path) -> None:
    clock = Clock(datetime(2026, 3, 1, 9, tzinfo=UTC))
    auto = AutomaticBackups(services.backups, tmp_path / "backups", clock=clock)
    auto.run()
    state = auto.state()
    assert state.age_text(clock.now + timedelta(hours=5)) == "Last backup: 5 h ago"
    assert not state.needs_warning(clock.now + timedelta(hours=47))
    assert state.needs_warning(clock.now + timedelta(days=2, minutes=1))
    assert state.age_text(clock.now + timedelta(days=3)) == "Last backup: 3 days ago"


def test_without_a_passphrase_nothing_is_written_and_the_window_is_told(tmp_path: Path) -> None:
    with open_services(tmp_path / "c.db", staff("rivera")) as services:
        auto = AutomaticBackups(services.backups, tmp_path / "backups")
        assert auto.run() is None
        state = auto.state()
        assert "set a backup passphrase" in state.age_text(datetime.now(UTC))
        assert state.needs_warning(datetime.now(UTC))

"""`tpi-chart doctor --window`: the check opens the real main window on a scratch clinic."""

from __future__ import annotations

from pathlib import Path

import pytest

from tpi_chart.ui.doctor_checks import window_check

pytestmark = [pytest.mark.gui, pytest.mark.qt_log_ignore("propagateSizeHints")]


def test_the_window_check_opens_the_main_window_on_a_scratch_clinic(
    qapp: object, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TPI_CHART_KEY_DIR", str(tmp_path / "keys"))
    (check,) = window_check()
    assert check.status == "ok", check
    assert check.detail.startswith("main window opened")

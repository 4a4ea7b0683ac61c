"""The window's rules panel shows the version 2 warnings, and follows an edit live."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QCoreApplication, Qt
from pytestqt.qtbot import QtBot

from tests.users import staff
from tpi_chart.domain.localdates import clinic_zone, set_clinic_zone
from tpi_chart.domain.users import User
from tpi_chart.services.context import open_services
from tpi_chart.ui.main_window import MainWindow

pytestmark = pytest.mark.gui

CHEN = User(username="chen", display_name="Dr. Alex Chen, MD", roles=frozenset({"physician"}))
EXAMPLES = Path(__file__).parents[1] / "examples"
SHOTS = Path("/tmp/rules-shots")


@pytest.fixture
def services(tmp_path: Path) -> Iterator[Any]:
    QCoreApplication.setOrganizationName("TPI Chart tests")
    QCoreApplication.setApplicationName("rules-v2")
    before = clinic_zone()
    with open_services(tmp_path / "chart.db", staff("chen")) as opened:
        opened.settings.set_time_zone("America/Denver")
        yield opened
    set_clinic_zone(before)


def _open(qtbot: QtBot, qapp: Any, services: Any, example: str) -> MainWindow:
    (procedure_id,) = services.documents.import_documents([EXAMPLES / example])
    patient_id = services.charting.get(procedure_id).patient_id
    window = MainWindow(services, CHEN)
    qtbot.addWidget(window)
    window.resize(1366, 768)
    window.show()
    window.activateWindow()
    qtbot.waitUntil(lambda: qapp.activeWindow() is window)
    # The imported visit is not today's: open it as the patient's history list does.
    window.open_procedure(patient_id, procedure_id)
    qtbot.waitUntil(lambda: window.workspace.evaluation is not None)
    return window


def _codes(window: MainWindow) -> list[str]:
    warnings = window.workspace.rules.warnings
    return [warnings.item(i).data(Qt.ItemDataRole.UserRole) for i in range(warnings.count())]


def test_panel_shows_the_new_warnings_and_follows_an_edit(
    qtbot: QtBot, qapp: Any, services: Any
) -> None:
    window = _open(qtbot, qapp, services, "coverage-claims-medicare.json")
    workspace = window.workspace
    codes = _codes(window)
    for code in (
        "drug_label_caution",
        "image_guidance_not_covered",
        "diagnosis_site_mismatch",
        "relief_exceeds_interval",
        "volume_exceeds_drawn",
    ):
        assert code in codes
    if SHOTS.is_dir():
        window.grab().save(str(SHOTS / "rules-panel-1366.png"))
    # 1 mL at sites 1 and 3 from a 1 mL syringe: halve both with the 0.5 mL preset key.
    for row in (0, 2):
        workspace.table.selectRow(row)
        qtbot.keyClick(workspace, Qt.Key.Key_1, Qt.KeyboardModifier.AltModifier)
    assert "volume_exceeds_drawn" not in _codes(window)
    assert "drug_label_caution" in _codes(window)


def test_panel_says_dry_needling(qtbot: QtBot, qapp: Any, services: Any) -> None:
    window = _open(qtbot, qapp, services, "dry-needling-medicare.json")
    rules = window.workspace.rules
    assert rules.cpt.text() == "20561"
    assert "dry needling: 3 muscles" in rules.muscles.text()
    assert "dry_needling_not_tpi" in _codes(window)
    assert window.workspace.model.index(0, 3).data() == "● Dry needling"
    if SHOTS.is_dir():
        window.resize(1920, 1080)
        qtbot.wait(50)
        window.grab().save(str(SHOTS / "dry-needling-1920.png"))


def test_panel_says_same_day_and_pediatric_in_words(qtbot: QtBot, qapp: Any, services: Any) -> None:
    """A 14-year-old seen twice on one day: both version 2 warnings reach the panel as sentences
    (the codes are for the coder; the clinician reads the words)."""
    window = _open(qtbot, qapp, services, "same-day-child.json")
    codes = _codes(window)
    assert "same_day_procedure" in codes
    assert "pediatric_patient" in codes
    warnings = window.workspace.rules.warnings
    texts = {
        warnings.item(i).data(Qt.ItemDataRole.UserRole): warnings.item(i).text()
        for i in range(warnings.count())
    }
    for code in ("same_day_procedure", "pediatric_patient"):
        assert code not in texts[code]  # a sentence, not the code
    assert "Another procedure for this patient on 2026-11-20" in texts["same_day_procedure"]
    assert "one 20553 for the day" in texts["same_day_procedure"]
    assert "14 years old" in texts["pediatric_patient"]
    assert "reduced doses" in texts["pediatric_patient"]

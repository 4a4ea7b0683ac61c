"""Issue 14 in the window, driven with real clicks and keys: dry needling at a site, the vial a
drug was drawn from (single- or multi-dose, its size), the ABN answer in the Sign tab's billing
block, and the version 2 warnings appearing live in the rules panel as the widgets change."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QCoreApplication, QPoint, Qt
from PySide6.QtWidgets import QApplication, QPushButton
from pytestqt.qtbot import QtBot

from tests.users import staff
from tpi_chart.domain.users import User
from tpi_chart.services.context import open_services
from tpi_chart.ui.main_window import MainWindow

pytestmark = [pytest.mark.gui, pytest.mark.qt_log_ignore("This plugin does not support")]

CHEN = User(username="chen", display_name="Dr. Alex Chen, MD", roles=frozenset({"physician"}))


@pytest.fixture
def services(tmp_path: Path) -> Iterator[Any]:
    QCoreApplication.setOrganizationName("TPI Chart tests")
    QCoreApplication.setApplicationName("issue14-window")
    with open_services(tmp_path / "chart.db", staff("chen"), seed_demo_if_new=True) as opened:
        yield opened


def _open(qtbot: QtBot, qapp: Any, services: Any) -> MainWindow:
    window = MainWindow(services, CHEN)
    qtbot.addWidget(window)
    window.resize(1366, 768)
    window.show()
    window.activateWindow()
    qtbot.waitUntil(lambda: qapp.activeWindow() is window)
    maria = services.patients.by_mrn("D1001")
    window.open_patient(maria.id)
    qtbot.mouseClick(window.patients.primary_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.workspace.evaluation is not None)
    return window


def _codes(window: MainWindow) -> list[str]:
    QApplication.processEvents()  # the panels refresh right after the frame
    warnings = window.workspace.rules.warnings
    return [warnings.item(i).data(Qt.ItemDataRole.UserRole) for i in range(warnings.count())]


def _sites(services: Any, window: MainWindow) -> list[Any]:
    return [s.site for s in services.charting.sites(window.workspace.document.procedure_id)]


def _stored(services: Any, window: MainWindow) -> Any:
    return services.charting.get(window.workspace.document.procedure_id).procedure


def test_a_site_is_dry_needled_from_the_editor_and_by_key(
    qtbot: QtBot, qapp: Any, services: Any
) -> None:
    window = _open(qtbot, qapp, services)
    workspace = window.workspace
    editor = workspace.editor
    workspace.table.selectRow(0)
    assert _sites(services, window)[0].volume_ml == 1.5
    assert "dry_needling_not_tpi" not in _codes(window)

    qtbot.mouseClick(editor.dry_needling, Qt.MouseButton.LeftButton)

    site = _sites(services, window)[0]
    assert (site.dry_needling, site.volume_ml, site.preparation) == (True, None, None)
    assert editor.dry_needling.isChecked()
    assert "dry needling" in editor.title.text()
    # Nothing is injected there: no volume to give, no syringe to choose.
    assert not editor.volume.isEnabled()
    assert not editor.preparation.isEnabled()
    assert not editor.presets[0].isEnabled()

    qtbot.keyClick(workspace, Qt.Key.Key_Space)  # needled now
    site = _sites(services, window)[0]
    assert (site.state, site.dry_needling, site.volume_ml) == ("injected", True, None)
    assert workspace.model.index(0, 3).data() == "● Dry needling"
    assert workspace.model.index(0, 4).data() == "dry"
    assert "dry_needling_not_tpi" in _codes(window)
    assert "dry needling: 1 muscle" in workspace.rules.muscles.text()

    qtbot.keyClick(workspace, Qt.Key.Key_D)  # off again, by key
    assert _sites(services, window)[0].dry_needling is False
    assert not editor.dry_needling.isChecked()
    assert editor.volume.isEnabled()
    assert "dry_needling_not_tpi" not in _codes(window)
    qtbot.keyClick(workspace, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert _sites(services, window)[0].dry_needling is True


def _steroid_row(window: MainWindow) -> Any:
    (_prep_id, _label, rows, _total) = window.workspace.preparations._rows[0]
    return rows[1]  # syringe A: lidocaine 1 % 8 mL, triamcinolone 40 mg/mL 1 mL


def test_the_container_is_recorded_and_a_too_small_vial_is_refused_in_words(
    qtbot: QtBot, qapp: Any, services: Any
) -> None:
    window = _open(qtbot, qapp, services)
    workspace = window.workspace
    workspace.tabs.setCurrentWidget(workspace.preparations)
    row = _steroid_row(window)

    row.container.setFocus()
    qtbot.keyClick(row.container, Qt.Key.Key_Down)  # "Single-dose vial"
    assert _stored(services, window).preparations[0].components[1].container == "single_dose"

    row = _steroid_row(window)
    row.container_ml.setFocus()
    row.container_ml.selectAll()
    qtbot.keyClicks(row.container_ml, "0.5")
    qtbot.keyClick(row.container_ml, Qt.Key.Key_Return)

    message = workspace.preparations.error.text()
    assert message == "Container size (drug 2): 0.5 mL is less than the 1 mL drawn from it"
    assert row.container_ml.property("invalid") is True
    assert _stored(services, window).preparations[0].components[1].container_ml is None

    row.container_ml.selectAll()
    qtbot.keyClicks(row.container_ml, "1")
    qtbot.keyClick(row.container_ml, Qt.Key.Key_Return)
    component = _stored(services, window).preparations[0].components[1]
    assert (component.container, component.container_ml) == ("single_dose", 1.0)
    assert workspace.preparations.error.text() == ""

    # One site charted: 1.5 of the syringe's 9 mL hold 6.7 mg of the vial's 40 mg; the rest of
    # the single-dose vial is discarded and billed on its own JW line (3 units of 10 mg).
    workspace.table.selectRow(0)
    qtbot.keyClick(workspace, Qt.Key.Key_Space)
    billing = workspace.evaluation.billing
    lines = [line for line in billing.lines if line.agent == "triamcinolone"]
    assert [(line.units, line.modifiers, line.discarded) for line in lines] == [
        (1, (), False),
        (3, ("JW",), True),
    ]
    workspace.tabs.setCurrentWidget(workspace.sign_panel)
    assert "J3301 × 3 JW (discarded)" in workspace.sign_panel.claim_lines.text()


def _click_radio(qtbot: QtBot, button: Any) -> None:
    """On its circle, where a person clicks (a radio button ignores clicks past its text)."""
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton, pos=QPoint(8, button.height() // 2))


def test_new_warnings_appear_live_and_the_abn_answer_is_recorded(
    qtbot: QtBot, qapp: Any, services: Any
) -> None:
    window = _open(qtbot, qapp, services)
    workspace = window.workspace
    for code in ("volume_exceeds_drawn", "drug_label_caution", "image_guidance_not_covered"):
        assert code not in _codes(window)

    # 20 mL charted at one site from a 9 mL syringe.
    workspace.table.selectRow(0)
    qtbot.keyClick(workspace, Qt.Key.Key_Space)
    volume = workspace.editor.volume
    volume.setFocus()
    volume.selectAll()
    qtbot.keyClicks(volume, "20")
    qtbot.keyClick(volume, Qt.Key.Key_Return)
    assert _sites(services, window)[0].volume_ml == 20
    assert "volume_exceeds_drawn" in _codes(window)

    # Triamcinolone 10 mg/mL (Kenalog-10: not for intramuscular use) chosen in the syringe.
    workspace.tabs.setCurrentWidget(workspace.preparations)
    strength = _steroid_row(window).strength
    strength.setFocus()
    qtbot.keyClick(strength, Qt.Key.Key_Up)  # 40 mg/mL → 10 mg/mL
    assert _stored(services, window).preparations[0].components[1].concentration == "10 mg/mL"
    assert "drug_label_caution" in _codes(window)

    # Ultrasound guidance recorded under medicare-2024: excluded by the LCD.
    workspace.tabs.setCurrentWidget(workspace.checklist)
    guidance = workspace.checklist.image_guidance
    guidance.setFocus()
    qtbot.keyClick(guidance, Qt.Key.Key_Down)
    assert _stored(services, window).image_guidance == "ultrasound"
    assert "image_guidance_not_covered" in _codes(window)

    # A coverage warning is open: the Sign tab asks about the ABN; GA is recorded.
    sign = workspace.sign_panel
    workspace.tabs.setCurrentWidget(sign)
    qapp.processEvents()
    assert sign.billing_box.isVisible()
    assert sign.abn_box.isVisible()
    assert "is an ABN on file" in sign.abn_question.text()
    assert sign.abn_on_file.text().startswith("GA")
    assert sign.abn_none.text().startswith("GZ")
    assert _stored(services, window).abn_on_file is None
    _click_radio(qtbot, sign.abn_on_file)
    assert _stored(services, window).abn_on_file is True
    assert workspace.evaluation.billing.non_coverage_modifier == "GA"
    assert "GA" in sign.claim_lines.text()
    _click_radio(qtbot, sign.abn_none)
    assert _stored(services, window).abn_on_file is False
    assert "GZ" in sign.claim_lines.text()
    # Undo takes the answer back like any other header edit.
    qtbot.keyClick(workspace, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert _stored(services, window).abn_on_file is True


def test_a_class_allergy_shows_when_the_drug_is_switched_in_the_syringe(
    qtbot: QtBot, qapp: Any, services: Any
) -> None:
    """Nguyễn is allergic to lidocaine: a bupivacaine syringe raises the amide class warning."""
    window = MainWindow(services, CHEN)
    qtbot.addWidget(window)
    window.resize(1366, 768)
    window.show()
    lan = services.patients.by_mrn("D1002")
    window.open_patient(lan.id)
    qtbot.mouseClick(window.patients.blank_button, Qt.MouseButton.LeftButton)
    workspace = window.workspace
    qtbot.waitUntil(lambda: workspace.evaluation is not None)
    workspace.tabs.setCurrentWidget(workspace.preparations)
    add = workspace.preparations.findChild(QPushButton, "addSyringe")
    qtbot.mouseClick(add, Qt.MouseButton.LeftButton)  # lidocaine 1 % to start
    assert "allergy_conflict" in _codes(window)
    assert "allergy_cross_reactivity" not in _codes(window)

    agent = workspace.preparations._rows[0][2][0].agent
    agent.setFocus()
    qtbot.keyClick(agent, Qt.Key.Key_Down)  # lidocaine with epinephrine
    qtbot.keyClick(agent, Qt.Key.Key_Down)  # bupivacaine
    assert _stored(services, window).preparations[0].components[0].agent == "bupivacaine"
    codes = _codes(window)
    assert "allergy_cross_reactivity" in codes
    assert "allergy_conflict" not in codes

"""Issue 15: the window's first screen imports and builds only what it uses. A new process
opens a clinic and shows the patient page, as `tpi-chart` does after sign-in, and reports which
of the modules the first screen must not pay for it imported: each one of them is loaded on
first use (`Services` builds its services lazily; signing, encryption, the rules, the message
builders and the PDF stack are imported by the functions that use them)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from tests.users import staff
from tpi_chart.domain.models import Patient
from tpi_chart.services.context import open_services

pytestmark = pytest.mark.gui

#: Modules (and packages: a name covers its submodules) the patient page does not need.
NOT_AT_START = (
    "cryptography",
    "reportlab",
    "pyhanko",
    "fhir",
    "psycopg",
    "tpi_chart.pdf",
    "tpi_chart.interop",
    "tpi_chart.domain.rules",
    "tpi_chart.domain.diagram",
    "tpi_chart.domain.timeout",
    "tpi_chart.services.audit_report",
    "tpi_chart.services.notes",
    "tpi_chart.services.signed_notes",
    "tpi_chart.services.signing",
    "tpi_chart.services.operations",
    "tpi_chart.services.history",
    "tpi_chart.ui.workspace.page",
    "tpi_chart.ui.diagram",
    "tpi_chart.ui.patients.history",
    "tpi_chart.ui.settings_dialog",
)

START = """
import json, sys
from pathlib import Path
from tpi_chart.domain.users import User
from tpi_chart.services.context import open_services
from tpi_chart.ui import launch
app = launch.make_application([])
services = open_services(Path(sys.argv[1]), exclusive=True)
user = User(username="chen", display_name="Dr. Chen", roles=frozenset({"physician"}))
window = launch.open_window(services, user)
for _ in range(5):
    app.processEvents()
page = type(window.stack.currentWidget()).__name__
rows = window.patients.results.count()
heavy = json.loads(sys.argv[2])
loaded = sorted(
    name for name in sys.modules if any(name == h or name.startswith(h + ".") for h in heavy)
)
from PySide6.QtWidgets import QWidget
keys_at_start = window.findChild(QWidget, "keysOverlay") is not None
window.keys_action.setChecked(True)  # F12: the keys overlay is built when first shown
keys_shown = window.findChild(QWidget, "keysOverlay").isVisible()
print(json.dumps({"page": page, "rows": rows, "loaded": loaded,
                  "keys_at_start": keys_at_start, "keys_shown": keys_shown}))
window.close()
"""


def test_the_patient_page_starts_without_the_modules_it_does_not_use(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TPI_CHART_KEY_DIR", str(tmp_path / "keys"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))  # no visit to reopen
    db = tmp_path / "clinic.db"
    with open_services(db, staff("rivera")) as services:
        services.patients.create(
            Patient(
                mrn="S15",
                family_name="Start",
                given_name="Ada",
                birth_date=date(1980, 1, 2),
                sex="female",
            )
        )
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    done = subprocess.run(
        [sys.executable, "-c", START, str(db), json.dumps(NOT_AT_START)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    # The first screen is really up (the patient page with the clinic's patient listed)…
    assert report["page"] == "PatientsPage"
    assert report["rows"] == 1
    # …and none of these was imported to show it, nor the hidden keys overlay built.
    assert report["loaded"] == []
    assert not report["keys_at_start"]
    assert report["keys_shown"]

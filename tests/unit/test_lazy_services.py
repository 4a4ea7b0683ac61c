"""Issue 15: `Services` builds each service, and imports its module, on first use; every
property still gives the service for the same user and database, built once."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.users import staff
from tpi_chart.services.audit_report import AuditReportService
from tpi_chart.services.backup import AutomaticBackups, BackupService
from tpi_chart.services.context import open_services
from tpi_chart.services.documents import DocumentService
from tpi_chart.services.interop import InteropService
from tpi_chart.services.notes import NoteService
from tpi_chart.services.operations import ChartingOps
from tpi_chart.services.signing import SigningService

#: Service modules that opening a clinic and reading a patient must not import.
ON_FIRST_USE = (
    "tpi_chart.services.audit_report",
    "tpi_chart.services.documents",
    "tpi_chart.services.interop",
    "tpi_chart.services.notes",
    "tpi_chart.services.operations",
    "tpi_chart.services.signing",
    "tpi_chart.services.backup",
    "cryptography",
    "reportlab",
)

OPEN_AND_READ = """
import json, sys
from tpi_chart.domain.users import User
from tpi_chart.services.context import open_services
rivera = User(username="rivera", display_name="J. Rivera", roles=frozenset({"assistant"}))
services = open_services(sys.argv[1], rivera)
found = services.patients.search("", 5)
settings = services.settings.clinic_name()
services.auth  # the sign-in is on every start path
watched = json.loads(sys.argv[2])
before = [name for name in watched if name in sys.modules]
services.signing, services.documents, services.backups
after = [name for name in watched if name in sys.modules]
services.close()
print(json.dumps({"patients": len(found), "before": before, "after": after}))
"""


def test_opening_a_clinic_and_reading_imports_no_other_service(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TPI_CHART_KEY_DIR", str(tmp_path / "keys"))
    db = tmp_path / "clinic.db"
    with open_services(db, staff("rivera"), seed_demo_if_new=True):
        pass
    done = subprocess.run(
        [sys.executable, "-c", OPEN_AND_READ, str(db), json.dumps(ON_FIRST_USE)],
        capture_output=True,
        text=True,
        env=dict(os.environ),
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["patients"] == 5
    assert report["before"] == []
    # The first use of each loads its module (and only then).
    assert {
        "tpi_chart.services.signing",
        "tpi_chart.services.documents",
        "tpi_chart.services.backup",
    } <= set(report["after"])


def test_every_lazy_service_is_built_once_for_the_same_user_and_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TPI_CHART_KEY_DIR", str(tmp_path / "keys"))
    with open_services(tmp_path / "clinic.db", staff("okafor"), seed_demo_if_new=True) as opened:
        services = opened.as_user(staff("okafor"))
        built = {
            "documents": DocumentService,
            "backups": BackupService,
            "signing": SigningService,
            "notes": NoteService,
            "ops": ChartingOps,
            "interop": InteropService,
            "automatic_backups": AutomaticBackups,
        }
        for name, kind in built.items():
            service = getattr(services, name)
            assert isinstance(service, kind), name
            assert getattr(services, name) is service, name  # built once
        assert isinstance(services.audit_report, AuditReportService)
        # One signing authority and one charting service behind every service that needs them.
        assert services.auth is services.auth
        assert services.notes._charting is services.charting
        # Each copy for another user builds its own, on the same database.
        other = opened.as_user(staff("rivera"))
        assert other.documents is not services.documents
        assert other.store is services.store
        patient = services.patients.by_mrn("D1001")
        assert patient is not None
        assert other.patients.by_mrn("D1001") == patient

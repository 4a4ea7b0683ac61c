"""Clinic settings: defaults, round-trip, one `settings.<field>:` line per problem with nothing
stored, only administrators may change them, and the note prints what is configured."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import get_args

import platformdirs
import pytest

from tests.engines import open_clinic, reopen
from tests.users import staff
from tpi_chart.domain.users import User
from tpi_chart.pdf.attachments import extract_embedded_files
from tpi_chart.pdf.note import RENDER_ATTACHMENT, PageSize
from tpi_chart.services.access import NOBODY, PermissionDenied
from tpi_chart.services.context import (
    PAGE_SIZE_CHOICES,
    Services,
    SettingsService,
)
from tpi_chart.services.errors import InvalidInput

ADMIN = User(username="okafor", display_name="R. Okafor", roles=frozenset({"administrator"}))
ASSISTANT = User(username="rivera", display_name="J. Rivera, MA", roles=frozenset({"assistant"}))
PHYSICIAN = User(username="chen", display_name="Dr. Alex Chen, MD", roles=frozenset({"physician"}))


@pytest.fixture
def services(engine: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Services]:
    with open_clinic(engine, tmp_path, request, staff("tester")) as opened:
        yield opened


def setting_rows(services: Services) -> list[tuple[str, str, str | None]]:
    return [
        (row.user, row.action, row.after)
        for row in services.store.audit.rows()
        if row.entity == "setting"
    ]


def test_defaults(services: Services) -> None:
    settings = services.settings
    assert settings.clinic_name() == ""
    assert settings.clinic_phone() == ""
    assert settings.page_size() == "letter"
    assert settings.idle_lock_minutes() == 10
    assert settings.export_folder() == (Path(platformdirs.user_documents_dir()) / "TPI Chart notes")


def test_every_setting_round_trips_and_is_audited(services: Services, tmp_path: Path) -> None:
    settings = services.settings
    settings.set_clinic_name("  Riverside Pain & Spine  ")
    settings.set_clinic_phone(" +1 (555) 010-2030  ext 12 ")
    settings.set_export_folder(tmp_path / "notes")
    settings.set_page_size(" A4 ")
    settings.set_idle_lock_minutes(3)

    services.close()  # one open store per database (single-instance lock)
    with reopen(services, staff("someone-else")) as again:  # read back from the database
        assert again.settings.clinic_name() == "Riverside Pain & Spine"
        assert again.settings.clinic_phone() == "+1 (555) 010-2030 ext 12"
        assert again.settings.export_folder() == tmp_path / "notes"
        assert again.settings.page_size() == "a4"
        assert again.settings.idle_lock_minutes() == 3
        rows = setting_rows(again)
        assert [user for user, _, _ in rows] == ["tester"] * 5
        assert json.loads(rows[1][2] or "{}") == {"clinic_phone": "+1 (555) 010-2030 ext 12"}

        again.settings.set_clinic_phone("")
        again.settings.set_export_folder(None)
        assert again.settings.clinic_phone() == ""
        assert again.settings.export_folder().name == "TPI Chart notes"


def test_saving_the_same_values_again_writes_no_audit_rows(services: Services) -> None:
    services.settings.update(clinic_name="Pain Clinic", clinic_phone="555 010 2030")
    before = len(services.store.audit.rows())
    services.settings.update(
        clinic_name="Pain Clinic", clinic_phone="555 010 2030", export_folder=None
    )
    assert len(services.store.audit.rows()) == before


@pytest.mark.parametrize(
    "phone", ["(555) 010-2030", "+44 20 7946 0958", "555.010.2030", "555-010-2030 x 7"]
)
def test_phone_numbers_people_write_are_accepted(services: Services, phone: str) -> None:
    services.settings.set_clinic_phone(phone)
    assert services.settings.clinic_phone() == phone


@pytest.mark.parametrize(
    "phone", ["call us", "555-01", "555 010 2030 or 2031", "1" * 16, "(555) 010-2030; drop"]
)
def test_a_wrong_phone_is_refused_naming_the_field(services: Services, phone: str) -> None:
    services.settings.set_clinic_phone("555 010 2030")
    with pytest.raises(InvalidInput) as raised:
        services.settings.set_clinic_phone(phone)
    assert len(raised.value.problems) == 1
    assert raised.value.problems[0].startswith("settings.clinic_phone: ")
    assert services.settings.clinic_phone() == "555 010 2030"


def test_a_wrong_page_size_is_refused(services: Services) -> None:
    with pytest.raises(InvalidInput) as raised:
        services.settings.set_page_size("legal")
    assert list(raised.value.problems) == [
        'settings.page_size: \'legal\' is not a page size; choose "letter" or "a4"'
    ]
    assert services.settings.page_size() == "letter"


def test_an_unreadable_stored_page_size_reads_as_letter(services: Services) -> None:
    services.store.settings.set("page_size", "tabloid", "tester")
    assert services.settings.page_size() == "letter"


def test_update_reports_every_problem_and_stores_nothing(
    services: Services, tmp_path: Path
) -> None:
    a_file = tmp_path / "a-file.txt"
    a_file.write_text("not a folder", encoding="utf-8")
    before = len(services.store.audit.rows())
    with pytest.raises(InvalidInput) as raised:
        services.settings.update(
            clinic_name=" ",
            clinic_phone="phone me",
            export_folder=a_file,
            page_size="A5",
            idle_lock_minutes=1,
        )
    fields = [line.split(":")[0] for line in raised.value.problems]
    assert fields == [
        "settings.clinic_name",
        "settings.clinic_phone",
        "settings.export_folder",
        "settings.page_size",
        "settings.idle_lock_minutes",
    ]
    with pytest.raises(InvalidInput, match=r"^settings\.export_folder: give a full path"):
        services.settings.update(clinic_name="Good name", export_folder=Path("notes"))
    assert services.settings.clinic_name() == ""  # the good value was not stored either
    assert len(services.store.audit.rows()) == before


def test_page_size_choices_are_the_notes_page_sizes() -> None:
    assert get_args(PageSize) == PAGE_SIZE_CHOICES


def test_an_assistant_cannot_change_the_clinic_name(services: Services) -> None:
    services.settings.set_clinic_name("Riverside Pain & Spine")
    for person in (ASSISTANT, PHYSICIAN):
        signed_in = services.as_user(person)
        with pytest.raises(PermissionDenied, match="only an administrator can change the clinic"):
            signed_in.settings.set_clinic_name("Somewhere Else")
        with pytest.raises(PermissionDenied):  # checked before the values, not after
            signed_in.settings.update(idle_lock_minutes=99)
        assert signed_in.settings.clinic_name() == "Riverside Pain & Spine"  # reading is fine
    assert services.settings.clinic_name() == "Riverside Pain & Spine"
    denials = [
        (row.user, row.entity)
        for row in services.store.audit.rows()
        if row.action == "access_denied"
    ]
    assert denials == [("rivera", "setting")] * 2 + [("chen", "setting")] * 2


def test_an_administrator_changes_settings_under_their_own_name(services: Services) -> None:
    services.as_user(ADMIN).settings.set_page_size("a4")
    assert services.settings.page_size() == "a4"
    assert setting_rows(services)[-1][0] == "okafor"
    deactivated = ADMIN.model_copy(update={"active": False})
    with pytest.raises(PermissionDenied, match="deactivated"):
        services.as_user(deactivated).settings.set_page_size("letter")


def test_the_settings_service_always_checks_who_changes_them(services: Services) -> None:
    """Built before anyone signs in (NOBODY) or for anyone but an administrator, it refuses;
    there is no trusted path by name."""
    with reopen(services) as before_sign_in:
        assert before_sign_in.user == NOBODY
        with pytest.raises(PermissionDenied, match="nobody is signed in"):
            before_sign_in.settings.set_clinic_name("From nowhere")
        assert before_sign_in.settings.clinic_name() == services.settings.clinic_name()
    gated = SettingsService(services.store, ASSISTANT)
    with pytest.raises(PermissionDenied):
        gated.set_clinic_name("From the assistant")
    SettingsService(services.store, ADMIN).set_clinic_name("From the administrator")
    assert services.settings.clinic_name() == "From the administrator"


def pdftotext(pdf: bytes, tmp_path: Path) -> str:
    assert shutil.which("pdftotext"), "poppler-utils is required (apt-get install poppler-utils)"
    source = tmp_path / "note.pdf"
    source.write_bytes(pdf)
    result = subprocess.run(["pdftotext", str(source), "-"], capture_output=True, check=True)
    return result.stdout.decode("utf-8")


def test_the_note_and_handout_use_the_configured_phone_and_page_size(
    services: Services, tmp_path: Path, examples_dir: Path
) -> None:
    (procedure_id,) = services.documents.import_documents([examples_dir / "reference-visit.json"])
    assert b"/MediaBox [ 0 0 612 792 ]" in services.notes.render(procedure_id)
    assert "010-2030" not in pdftotext(services.notes.render_handout(procedure_id), tmp_path)

    services.settings.update(
        clinic_name="Riverside Pain & Spine", clinic_phone="(555) 010-2030", page_size="a4"
    )
    note = services.notes.render(procedure_id)
    handout = services.notes.render_handout(procedure_id)
    for pdf in (note, handout):
        assert b"/MediaBox [ 0 0 595.2756 841.8898 ]" in pdf
        assert b"/MediaBox [ 0 0 612 792 ]" not in pdf
        assert "Riverside Pain & Spine" in pdftotext(pdf, tmp_path)
    # The handout prints the phone for the patient; the note's pages do not, but the note
    # records it with the options it was rendered with (what `verify` renders it again with).
    assert "(555) 010-2030" in pdftotext(handout, tmp_path)
    options = json.loads(extract_embedded_files(note)[RENDER_ATTACHMENT])["options"]
    assert options["clinic_phone"] == "(555) 010-2030"
    assert options["page_size"] == "a4"

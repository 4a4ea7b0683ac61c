"""The outbox in three steps (the window makes the files on its worker thread): the pending
items are read (`prepare_pending`), their files made from those values alone (`render`: the
stored signed PDF, or a note drawn for a record that has none), then written, audited and
marked (`finish_pending`)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.sample_documents import signed_copy
from tests.unit.auth_support import reference_document
from tests.unit.test_pades_signing import Clinic
from tests.unit.test_password_steps import on_a_thread


@pytest.fixture
def clinic(tmp_path: Path) -> Iterator[Clinic]:
    made = Clinic(tmp_path / "valley")
    yield made
    made.close()


def test_the_files_are_made_off_the_database_thread_and_written_after(
    clinic: Clinic, tmp_path: Path
) -> None:
    procedure_id, stored_pdf = clinic.sign_reference_visit()
    # A record that reached the database signed, with no signed note stored: drawn for sending.
    document = reference_document()
    patient = clinic.store.patients.by_mrn(document.patient.mrn)
    assert patient is not None
    imported = clinic.store.procedures.add(patient.id, signed_copy(document).procedure, "chen").id
    assert clinic.store.pki.signed_note(imported) is None
    interop = clinic.services(clinic.chen).interop
    interop.enqueue(imported)
    folder = tmp_path / "filed"
    clinic.services(clinic.admin).settings.set_export_folder(folder)

    batch = interop.prepare_pending()
    assert {item.procedure_id for item in batch.items} == {procedure_id, imported}
    rendered = on_a_thread(batch.render)
    assert rendered.errors == {}
    assert not folder.exists()  # nothing written, nothing marked, by the thread
    assert interop.pending_count() == len(batch.items)

    result = interop.finish_pending(batch, rendered)

    assert result.sent == len(batch.items) == 4
    assert interop.pending_count() == 0
    pdfs = {path.name: path.read_bytes() for path in folder.glob("*.pdf")}
    assert len(pdfs) == 2
    (signed_here,) = [data for name, data in pdfs.items() if name.endswith(f"_{procedure_id}.pdf")]
    assert signed_here == stored_pdf  # the stored, signed bytes: never drawn again
    (drawn,) = [data for name, data in pdfs.items() if name.endswith(f"_{imported}.pdf")]
    assert drawn.startswith(b"%PDF")
    exports = [row for row in clinic.store.audit.rows() if row.action == "export"]
    assert len(exports) == 4


def test_an_unwritable_folder_keeps_the_items_pending(clinic: Clinic, tmp_path: Path) -> None:
    clinic.sign_reference_visit()
    blocked = tmp_path / "blocked"
    blocked.write_text("a file where the folder should be", encoding="utf-8")
    clinic.services(clinic.admin).settings.set_export_folder(blocked / "notes")
    interop = clinic.services(clinic.chen).interop
    batch = interop.prepare_pending()
    result = interop.finish_pending(batch, on_a_thread(batch.render))
    assert result.sent == 0
    assert len(result.failed) == interop.pending_count() == 2
    assert all("blocked" in (item.last_error or "") for item in interop.pending())

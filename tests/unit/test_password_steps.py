"""Setting a password in steps (the window hashes on its worker thread): `prepare_password` /
`prepare_password_change` read and check on the database's thread, `run` does the Argon2 work
(the hash, the account key wrapped with it) touching no database, and the storing call takes
the result. The command line runs the same calls without a prepared result. On both engines;
only SQLite's connection refuses a use from another thread (the server store gives each thread a
pooled connection of its own), so "touches no database" is enforced on SQLite, while on the
server the same steps are checked to store and sign as they should."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

import pytest

from tests.engines import open_store
from tests.unit.test_pades_signing import ACKS, CHEN_PASSWORD, FAST, Clinic
from tpi_chart.domain.errors import InvalidInput
from tpi_chart.services.access import SYSTEM_SETUP
from tpi_chart.services.account_keys import NewAccountKey
from tpi_chart.services.auth import AuthError, AuthService
from tpi_chart.services.context import build_services

T = TypeVar("T")


def on_a_thread(work: Callable[[], T]) -> T:
    """Run `work` on another thread: the store's connection refuses use from there, so a slow
    step that read or wrote the database would fail."""
    results: list[T] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            results.append(work())
        except BaseException as error:  # re-raised below, on the test's thread
            errors.append(error)

    worker = threading.Thread(target=run)
    worker.start()
    worker.join()
    if errors:
        raise errors[0]
    return results[0]


@pytest.fixture
def clinic(engine: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Clinic]:
    folder = tmp_path / "valley"
    folder.mkdir()
    made = Clinic(folder, open_store(engine, folder, request))
    yield made
    made.close()


def test_a_physician_created_with_a_prepared_password_signs_in_and_signs(clinic: Clinic) -> None:
    auth = clinic.auth()
    work = auth.prepare_password("Okafor", "Okafor-Secret-07")
    new = on_a_thread(work.run)
    assert new.username == "okafor"
    assert isinstance(new.account_key, NewAccountKey)
    okafor = auth.create_user(
        clinic.admin, "okafor", "R. Okafor, MD", {"physician"}, "Okafor-Secret-07", prepared=new
    )
    account = clinic.store.pki.account_key("okafor")
    assert account is not None
    assert account.public_key == new.account_key.public  # the key made on the thread is kept
    assert clinic.store.pki.active_certificate("okafor") is not None
    assert auth.login("okafor", "Okafor-Secret-07") == okafor
    procedure_id = clinic.add_reference_visit()
    clinic.services(okafor).signing.sign(procedure_id, okafor, ACKS)
    assert clinic.store.pki.signed_note(procedure_id) is not None


def test_a_weak_password_is_refused_before_any_hashing(clinic: Clinic) -> None:
    with pytest.raises(InvalidInput, match="at least 8 characters"):
        clinic.auth().prepare_password("okafor", "short")


def test_a_result_made_for_another_account_is_not_used(clinic: Clinic) -> None:
    auth = clinic.auth()
    other = auth.prepare_password("okafor", "Okafor-Secret-07").run()
    rivera = auth.create_user(
        clinic.admin, "rivera", "J. Rivera, MA", {"assistant"}, "Rivera-Secret-02", prepared=other
    )
    assert auth.login("rivera", "Rivera-Secret-02") == rivera
    assert auth.login("rivera", "Okafor-Secret-07") is None


def test_a_reset_with_a_prepared_password_makes_a_new_key(clinic: Clinic) -> None:
    auth = clinic.auth()
    before = clinic.store.pki.account_key("chen")
    assert before is not None
    new = on_a_thread(auth.prepare_password("chen", "Chen-Reset-Pass-09").run)
    auth.reset_password(clinic.admin, "chen", "Chen-Reset-Pass-09", prepared=new)
    after = clinic.store.pki.account_key("chen")
    assert after is not None
    assert after.public_key != before.public_key
    assert auth.login("chen", CHEN_PASSWORD) is None
    assert auth.login("chen", "Chen-Reset-Pass-09") is not None


def test_a_password_change_checked_on_a_thread_keeps_the_signing_key(clinic: Clinic) -> None:
    auth = clinic.auth()
    certificate = clinic.store.pki.active_certificate("chen")
    wrong = on_a_thread(
        auth.prepare_password_change(clinic.chen, "not-the-password", "Chen-New-Pass-11").run
    )
    with pytest.raises(AuthError, match="current password is not right"):
        auth.change_password(clinic.chen, "not-the-password", "Chen-New-Pass-11", checked=wrong)
    same = on_a_thread(auth.prepare_password_change(clinic.chen, CHEN_PASSWORD, CHEN_PASSWORD).run)
    with pytest.raises(InvalidInput, match="must differ"):
        auth.change_password(clinic.chen, CHEN_PASSWORD, CHEN_PASSWORD, checked=same)

    checked = on_a_thread(
        auth.prepare_password_change(clinic.chen, CHEN_PASSWORD, "Chen-New-Pass-11").run
    )
    assert checked.current_ok
    auth.change_password(clinic.chen, CHEN_PASSWORD, "Chen-New-Pass-11", checked=checked)

    assert auth.login("chen", CHEN_PASSWORD) is None
    assert auth.login("chen", "Chen-New-Pass-11") is not None
    assert clinic.store.pki.active_certificate("chen") == certificate
    procedure_id = clinic.add_reference_visit()
    clinic.services(clinic.chen).signing.sign(procedure_id, clinic.chen, ACKS)


def test_an_account_without_a_key_gets_it_from_the_sign_in_check(clinic: Clinic) -> None:
    # An account made before version 0.2 had no account key: made without the authority here.
    keyless = AuthService(clinic.store.users, clinic.store.audit, hasher=FAST)
    keyless.create_user(clinic.admin, "lee", "M. Lee, RN", {"assistant"}, "Lee-Secret-Pass-4")
    assert clinic.store.pki.account_key("lee") is None
    auth = clinic.auth()

    attempt = auth.begin_login("lee")
    check = on_a_thread(lambda: attempt.check("Lee-Secret-Pass-4"))
    assert isinstance(check.opened_keys, NewAccountKey)
    assert auth.finish_login(attempt, "Lee-Secret-Pass-4", check) is not None

    account = clinic.store.pki.account_key("lee")
    assert account is not None
    assert account.public_key == check.opened_keys.public


def test_the_first_administrator_brings_the_clinic_authority_made_on_a_thread(
    engine: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    store = open_store(engine, tmp_path, request)
    root = build_services(store, SYSTEM_SETUP, trust_dir=tmp_path / "keys")
    try:
        auth = AuthService(store.users, store.audit, keys=root.authority, hasher=FAST)
        new = on_a_thread(auth.prepare_password("admin", "clinic-admin-pass-2026").run)
        assert store.pki.authority() is None  # nothing stored by the thread
        made = new.account_key
        assert isinstance(made, NewAccountKey)
        assert made.authority is not None

        admin = auth.create_first_administrator(
            "admin", "Pat Admin", "clinic-admin-pass-2026", prepared=new
        )

        assert store.pki.authority() == made.authority.certificate
        assert root.authority.take_recovery_passphrase(admin) == made.authority.passphrase
        # The recovery grant opens with that passphrase, as the recovery procedure needs.
        auth.login("admin", "clinic-admin-pass-2026")
        root.authority.recover(admin, made.authority.passphrase)
    finally:
        root.close()

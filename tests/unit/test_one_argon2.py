"""A right password costs one Argon2 computation (issue 15): opening the wrapped account key
proves it, so the PHC hash is verified only when the key does not open (services/password_work.py
says why that is sound). Argon2 is counted where the code reaches it: the key derivation of
`crypto` and the password hasher's hash and verify. On both engines, with the real services."""

from __future__ import annotations

import io
import logging
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from argon2 import PasswordHasher, extract_parameters
from argon2.low_level import hash_secret, hash_secret_raw, verify_secret

from tests.cli_support import PASSWORD, add_accounts
from tests.engines import open_store
from tests.unit.test_pades_signing import ACKS, CHEN_PASSWORD, FAST, Clinic
from tpi_chart.cli.main import main
from tpi_chart.services import auth as auth_module
from tpi_chart.services import crypto
from tpi_chart.services.account_keys import ACCOUNT_LABEL, NewAccountKey, OpenedAccountKey
from tpi_chart.services.auth import AccountLocked, AuthError, AuthService
from tpi_chart.services.pki import NoSigningKey


@dataclass
class Argon2Calls:
    """Each Argon2 computation: ("derive", (t, m, p)) for a key, ("hash", …) and ("verify", None)
    for the password hasher."""

    calls: list[tuple[str, tuple[int, int, int] | None]] = field(default_factory=list)

    def kinds(self) -> list[str]:
        return [kind for kind, _ in self.calls]

    def clear(self) -> None:
        self.calls.clear()


@pytest.fixture
def argon2_calls(monkeypatch: pytest.MonkeyPatch) -> Argon2Calls:
    counted = Argon2Calls()

    def counting_derive(secret: bytes, salt: bytes, **params: Any) -> bytes:
        cost = (params["time_cost"], params["memory_cost"], params["parallelism"])
        counted.calls.append(("derive", cost))
        return hash_secret_raw(secret, salt, **params)

    def counting_hash(secret: bytes, salt: bytes, **params: Any) -> bytes:
        cost = (params["time_cost"], params["memory_cost"], params["parallelism"])
        counted.calls.append(("hash", cost))
        return hash_secret(secret, salt, **params)

    def counting_verify(hash: bytes, secret: bytes, type: Any) -> bool:
        counted.calls.append(("verify", None))
        return verify_secret(hash, secret, type)

    # Where each is looked up: `crypto` imports its function from argon2.low_level when it
    # derives a key, the hasher imported its two by name.
    monkeypatch.setattr("argon2.low_level.hash_secret_raw", counting_derive)
    monkeypatch.setattr("argon2._password_hasher.hash_secret", counting_hash)
    monkeypatch.setattr("argon2._password_hasher.verify_secret", counting_verify)
    return counted


@pytest.fixture
def clinic(engine: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Clinic]:
    folder = tmp_path / "valley"
    folder.mkdir()
    made = Clinic(folder, open_store(engine, folder, request))
    made.root.authority.signed_out()  # each test signs in itself
    yield made
    made.close()


def signed_in_with(
    auth: AuthService, counted: Argon2Calls, username: str, password: str
) -> tuple[Any, list[str]]:
    """The window's three steps; the Argon2 work `check` did (the rest does none)."""
    attempt = auth.begin_login(username)
    counted.clear()
    check = attempt.check(password)
    work = counted.kinds()
    return auth.finish_login(attempt, password, check), work


def transactional_auth(clinic: Clinic) -> AuthService:
    """The clinic's accounts with the store's transaction around a password's hash and key."""
    return AuthService(
        clinic.store.users,
        clinic.store.audit,
        keys=clinic.root.authority,
        hasher=FAST,
        transaction=clinic.store.transaction,
    )


def failures(clinic: Clinic, username: str) -> int:
    return len(clinic.store.users.failures_since_success(username))


def test_a_right_password_costs_one_argon2_and_unlocks_the_keys(
    clinic: Clinic, argon2_calls: Argon2Calls
) -> None:
    user, work = signed_in_with(clinic.auth(), argon2_calls, "chen", CHEN_PASSWORD)
    assert user == clinic.chen
    assert work == ["derive"]
    session = clinic.root.authority.session(clinic.chen)
    assert session is not None
    assert session.account_private
    procedure_id = clinic.add_reference_visit()
    clinic.services(clinic.chen).signing.sign(procedure_id, clinic.chen, ACKS)


def test_the_command_line_sign_in_costs_one_argon2_too(
    clinic: Clinic, argon2_calls: Argon2Calls
) -> None:
    argon2_calls.clear()
    assert clinic.auth().login("chen", CHEN_PASSWORD) == clinic.chen
    assert argon2_calls.kinds() == ["derive"]


def test_a_wrong_password_is_refused_and_counts_as_one_failure(
    clinic: Clinic, argon2_calls: Argon2Calls
) -> None:
    auth = clinic.auth()
    before = failures(clinic, "chen")
    user, work = signed_in_with(auth, argon2_calls, "chen", "not-chens-password")
    assert user is None
    assert work == ["derive", "verify"]  # the key does not open; the hash says wrong
    assert failures(clinic, "chen") == before + 1
    assert clinic.root.authority.session(clinic.chen) is None


def test_five_wrong_passwords_still_lock_the_account(clinic: Clinic) -> None:
    # The back-off waits between attempts are slept out by `login` with a fake sleep.
    clock_now = [0.0]
    auth = AuthService(
        clinic.store.users,
        clinic.store.audit,
        keys=clinic.root.authority,
        hasher=FAST,
        sleep=lambda seconds: clock_now.__setitem__(0, clock_now[0] + seconds),
        monotonic=lambda: clock_now[0],
        boot_id=lambda: "boot",
    )
    for _ in range(4):
        assert auth.login("chen", "not-chens-password") is None
    with pytest.raises(AccountLocked):
        auth.login("chen", "not-chens-password")
    assert failures(clinic, "chen") == 5
    with pytest.raises(AccountLocked):
        auth.login("chen", CHEN_PASSWORD)


def test_an_unknown_name_costs_what_a_known_names_wrong_password_costs(
    clinic: Clinic, argon2_calls: Argon2Calls
) -> None:
    """The time of a refusal must not say whether the name exists: the same computations, at
    the same parameters, as a wrong password on a real account."""
    auth = clinic.auth()
    assert signed_in_with(auth, argon2_calls, "chen", "not-chens-password")[0] is None
    known = list(argon2_calls.calls)
    assert signed_in_with(auth, argon2_calls, "nobody", "not-chens-password")[0] is None
    unknown = list(argon2_calls.calls)

    assert [kind for kind, _ in unknown] == ["derive", "hash"]
    assert unknown[0] == known[0]  # the decoy derives at the account key's parameters
    stored = clinic.store.users.password_hash("chen")
    assert stored is not None
    chen_hash = extract_parameters(stored)
    hash_cost = (chen_hash.time_cost, chen_hash.memory_cost, chen_hash.parallelism)
    assert unknown[1] == ("hash", hash_cost)  # the verify of a hash with these parameters
    assert failures(clinic, "nobody") == 1


def test_a_right_password_whose_key_does_not_open_signs_in_without_keys(
    clinic: Clinic, argon2_calls: Argon2Calls, caplog: pytest.LogCaptureFixture
) -> None:
    """The stored key was altered, or wrapped with another password: the hash says the password
    is right, so the sign-in goes on (recorded as a success); signing stays impossible until an
    administrator resets the password."""
    account = clinic.store.pki.account_key("chen")
    assert account is not None
    other = crypto.wrap(
        os.urandom(32), "another-password-1", crypto.DEFAULT_KDF, label=ACCOUNT_LABEL.format("chen")
    )
    clinic.store.pki.rewrap_account_key("chen", other)
    auth = clinic.auth()

    with caplog.at_level(logging.ERROR, logger="tpi_chart.services.pki"):
        user, work = signed_in_with(auth, argon2_calls, "chen", CHEN_PASSWORD)

    assert user == clinic.chen
    assert work == ["derive", "verify"]
    assert "does not open with its account's password" in caplog.text
    assert clinic.root.authority.session(clinic.chen) is None
    with pytest.raises(NoSigningKey, match="locked"):
        clinic.root.authority.signer_for(clinic.chen)
    assert clinic.store.users.failures_since_success("chen") == []  # recorded as a success
    # What an opened key proves is the password it was wrapped with, not the one the hash holds
    # (services/password_work.py): the other password opens this key, so it signs in, where the
    # hash alone refused it. Only a write to the database makes the two differ, and that write
    # could as well have replaced the hash.
    assert auth.login("chen", "another-password-1") == clinic.chen


def test_an_old_hash_is_upgraded_with_one_more_computation(
    clinic: Clinic, argon2_calls: Argon2Calls
) -> None:
    stronger = PasswordHasher(time_cost=2, memory_cost=8, parallelism=1)
    auth = AuthService(
        clinic.store.users, clinic.store.audit, keys=clinic.root.authority, hasher=stronger
    )
    user, work = signed_in_with(auth, argon2_calls, "chen", CHEN_PASSWORD)
    assert user == clinic.chen
    assert work == ["derive", "hash"]
    stored = clinic.store.users.password_hash("chen")
    assert stored is not None
    assert extract_parameters(stored).time_cost == 2
    assert signed_in_with(auth, argon2_calls, "chen", CHEN_PASSWORD)[1] == ["derive"]


def test_an_account_without_a_key_is_checked_by_its_hash_and_gets_one(
    clinic: Clinic, argon2_calls: Argon2Calls
) -> None:
    keyless = AuthService(clinic.store.users, clinic.store.audit, hasher=FAST)
    keyless.create_user(clinic.admin, "lee", "M. Lee, RN", {"assistant"}, "Lee-Secret-Pass-4")
    auth = clinic.auth()

    assert signed_in_with(auth, argon2_calls, "lee", "Lee-Wrong-Pass-5") == (None, ["verify"])
    user, work = signed_in_with(auth, argon2_calls, "lee", "Lee-Secret-Pass-4")
    assert user is not None
    assert work == ["verify", "derive"]  # the hash, then the new key wrapped
    assert clinic.store.pki.account_key("lee") is not None
    assert signed_in_with(auth, argon2_calls, "lee", "Lee-Secret-Pass-4")[1] == ["derive"]


def test_a_password_change_proves_the_current_password_by_the_key(
    clinic: Clinic, argon2_calls: Argon2Calls
) -> None:
    auth = clinic.auth()

    argon2_calls.clear()
    wrong = auth.prepare_password_change(clinic.chen, "not-chens-password", "Chen-New-11").run()
    assert not wrong.current_ok
    assert argon2_calls.kinds() == ["derive", "verify"]

    argon2_calls.clear()
    same = auth.prepare_password_change(clinic.chen, CHEN_PASSWORD, CHEN_PASSWORD).run()
    assert same.current_ok
    assert same.same_as_current
    assert argon2_calls.kinds() == ["verify"]

    argon2_calls.clear()
    checked = auth.prepare_password_change(clinic.chen, CHEN_PASSWORD, "Chen-New-Pass-11").run()
    assert checked.current_ok
    assert checked.new is not None
    assert argon2_calls.kinds() == ["derive", "derive", "hash"]  # open, wrap anew, hash anew
    auth.change_password(clinic.chen, CHEN_PASSWORD, "Chen-New-Pass-11", checked=checked)
    assert auth.login("chen", CHEN_PASSWORD) is None
    assert auth.login("chen", "Chen-New-Pass-11") == clinic.chen


@pytest.mark.parametrize("together", [False, True], ids=["separately", "in_one_transaction"])
def test_a_password_change_with_a_key_that_does_not_open(clinic: Clinic, together: bool) -> None:
    """The hash says the current password is right but the key does not open: the change
    reports that the key could not be re-wrapped. As before, the new hash is stored first when
    the two are stored separately; in the store's transaction, nothing changes."""
    other = crypto.wrap(
        os.urandom(32), "another-password-1", crypto.DEFAULT_KDF, label=ACCOUNT_LABEL.format("chen")
    )
    clinic.store.pki.rewrap_account_key("chen", other)
    auth = transactional_auth(clinic) if together else clinic.auth()
    checked = auth.prepare_password_change(clinic.chen, CHEN_PASSWORD, "Chen-New-Pass-11").run()
    assert checked.current_ok
    assert checked.new is not None
    with pytest.raises(crypto.KeyUnlockFailed):
        auth.change_password(clinic.chen, CHEN_PASSWORD, "Chen-New-Pass-11", checked=checked)
    current = CHEN_PASSWORD if together else "Chen-New-Pass-11"
    assert auth.login("chen", current) == clinic.chen
    with pytest.raises(AuthError, match="current password is not right"):
        auth.change_password(clinic.chen, "not-chens-password", "Chen-New-Pass-12")


def test_the_opened_result_says_whether_the_password_opened_it() -> None:
    assert OpenedAccountKey("blob", b"key").opened
    assert not OpenedAccountKey("blob", None).opened
    assert not isinstance(OpenedAccountKey("blob", None), NewAccountKey)


@pytest.mark.real_argon2
def test_account_keys_and_password_hashes_cost_the_same() -> None:
    """What a known name's key and an unknown name's decoy cost is set by the account keys'
    parameters, what the hash costs by the hasher's: one profile for both (RFC 9106 low memory),
    so that every refusal costs the same."""
    hasher = auth_module.default_hasher()
    kdf = crypto.DEFAULT_KDF
    assert (kdf.time_cost, kdf.memory_kib, kdf.parallelism) == (
        hasher.time_cost,
        hasher.memory_cost,
        hasher.parallelism,
    )


def test_a_reset_that_fails_halfway_stores_neither_the_hash_nor_the_key(
    clinic: Clinic, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An opened key proves a password, so a new hash stored without the new key would leave the
    old password opening the old key: with the store's transaction, both or neither."""
    auth = transactional_auth(clinic)
    before = clinic.store.users.password_hash("chen")

    def disk_full(*_args: object) -> None:
        raise OSError("disk full")

    with monkeypatch.context() as patch:
        patch.setattr(type(clinic.store.pki), "put_account_key", disk_full)
        with pytest.raises(OSError, match="disk full"):
            auth.reset_password(clinic.admin, "chen", "Chen-Reset-Pass-09")

    assert clinic.store.users.password_hash("chen") == before
    assert auth.login("chen", "Chen-Reset-Pass-09") is None
    assert auth.login("chen", CHEN_PASSWORD) == clinic.chen
    auth.reset_password(clinic.admin, "chen", "Chen-Reset-Pass-09")
    assert auth.login("chen", CHEN_PASSWORD) is None
    assert auth.login("chen", "Chen-Reset-Pass-09") == clinic.chen


def test_a_password_change_that_fails_halfway_keeps_the_current_password(
    clinic: Clinic, monkeypatch: pytest.MonkeyPatch
) -> None:
    auth = transactional_auth(clinic)

    def disk_full(*_args: object) -> None:
        raise OSError("disk full")

    with monkeypatch.context() as patch:
        patch.setattr(type(clinic.store.pki), "rewrap_account_key", disk_full)
        with pytest.raises(OSError, match="disk full"):
            auth.change_password(clinic.chen, CHEN_PASSWORD, "Chen-New-Pass-11")

    assert auth.login("chen", "Chen-New-Pass-11") is None
    assert auth.login("chen", CHEN_PASSWORD) == clinic.chen
    session = clinic.root.authority.session(clinic.chen)
    assert session is not None
    assert session.account_private


@pytest.mark.parametrize(
    ("command", "who", "password", "code", "work"),
    [
        (["audit", "show"], "admin", PASSWORD, 0, ["derive"]),
        (["audit", "show"], "admin", "not-the-password", 2, ["derive", "verify"]),
        # Read only: the sign-in records nothing, and its opened key opens the audit key slot.
        (["audit", "verify"], "rivera", PASSWORD, 0, ["derive"]),
        (["audit", "verify"], "rivera", "not-the-password", 2, ["derive", "verify"]),
        (["audit", "verify"], "nobody", "not-the-password", 2, ["derive", "hash"]),
    ],
    ids=["show", "show-wrong", "verify", "verify-wrong", "verify-unknown"],
)
def test_the_command_lines_sign_in_costs_the_same(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    argon2_calls: Argon2Calls,
    command: list[str],
    who: str,
    password: str,
    code: int,
    work: list[str],
) -> None:
    monkeypatch.setenv("TPI_CHART_KEY_DIR", str(tmp_path / "keys"))
    db = tmp_path / "clinic.db"
    add_accounts(db)
    argon2_calls.clear()
    monkeypatch.setattr(sys, "stdin", io.StringIO(password + "\n"))
    assert main(["--db", str(db), "--as", who, *command]) == code, capsys.readouterr()
    assert argon2_calls.kinds() == work
    if command == ["audit", "verify"] and code == 0:
        assert capsys.readouterr().out.startswith("audit trail intact:")


def test_a_decoy_is_made_without_argon2_and_costs_an_unwrap(argon2_calls: Argon2Calls) -> None:
    params = crypto.KdfParams(2, 16, 2)
    blob = crypto.decoy_wrapped(params)
    assert argon2_calls.kinds() == []
    with pytest.raises(crypto.KeyUnlockFailed):
        crypto.unwrap(blob, "any password at all", label=ACCOUNT_LABEL.format("chen"))
    assert argon2_calls.calls == [("derive", (2, 16, 2))]

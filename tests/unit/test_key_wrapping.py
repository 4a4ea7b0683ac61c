"""Wrapped and sealed keys: the right password opens, anything else fails, nothing is in clear."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tpi_chart.services import crypto

CHEAP = crypto.KdfParams(1, 8, 1)


def test_the_default_cost_is_argon2id_at_64_mib() -> None:
    default = crypto.KdfParams()
    assert (default.time_cost, default.memory_kib, default.parallelism) == (3, 65536, 4)
    blob = json.loads(crypto.wrap(b"secret", "password", default, label="x"))
    assert blob["kdf"] == "argon2id"
    assert blob["m"] == 65536


@settings(max_examples=25, deadline=None)
@given(secret=st.binary(min_size=16, max_size=64), password=st.text(min_size=1, max_size=40))
def test_wrap_round_trips_and_wrong_password_or_label_fails(secret: bytes, password: str) -> None:
    blob = crypto.wrap(secret, password, CHEAP, label="account key of chen")
    assert crypto.unwrap(blob, password, label="account key of chen") == secret
    with pytest.raises(crypto.KeyUnlockFailed):
        crypto.unwrap(blob, password + "x", label="account key of chen")
    with pytest.raises(crypto.KeyUnlockFailed):
        crypto.unwrap(blob, password, label="account key of lee")
    assert secret.hex() not in blob


def test_a_changed_byte_in_a_wrapped_key_fails() -> None:
    blob = json.loads(crypto.wrap(b"k" * 32, "pw", CHEAP, label="x"))
    ciphertext = bytearray(crypto._unb64(blob["ct"]))
    ciphertext[0] ^= 1
    blob["ct"] = crypto._b64(bytes(ciphertext))
    with pytest.raises(crypto.KeyUnlockFailed):
        crypto.unwrap(json.dumps(blob), "pw", label="x")


def test_sealed_secret_opens_only_with_the_accounts_private_key() -> None:
    private, public = crypto.new_account_key()
    other_private, _ = crypto.new_account_key()
    blob = crypto.seal(b"authority key", public, label="signing_authority_key")
    assert crypto.unseal(blob, private, label="signing_authority_key") == b"authority key"
    with pytest.raises(crypto.KeyUnlockFailed):
        crypto.unseal(blob, other_private, label="signing_authority_key")


def test_recovery_passphrase_is_normalised_from_what_a_person_types() -> None:
    passphrase = crypto.recovery_passphrase()
    typed = passphrase.lower().replace("-", " ")
    assert crypto.normalise_passphrase(typed) == passphrase
    assert len(passphrase.replace("-", "")) == 40

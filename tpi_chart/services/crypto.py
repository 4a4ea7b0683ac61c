"""Key material for the clinic's signing authority: password-wrapped keys, keys sealed to an
account, certificates and revocation lists (`cryptography`, the Python Cryptographic Authority's
library).

* A secret is *wrapped* with a password: Argon2id (RFC 9106) derives a 256-bit key from the
  password and a random salt; AES-256-GCM encrypts the secret under it. The Argon2 parameters are
  stored with the blob, so stronger parameters later never strand an old blob.
* A secret is *sealed* to an account: X25519 key agreement with the account's public key, HKDF,
  AES-256-GCM (the ECIES construction). Anyone who holds a clinic secret can grant it to an
  account without knowing that person's password; only the account's password opens it.
* Certificates are X.509 with ECDSA P-256 keys (fast to make, accepted by Acrobat and poppler).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from tpi_chart.domain.signatures import Trust

if TYPE_CHECKING:
    # Each function imports what it uses: the window imports this module before anyone signs
    # in (the signing authority is built with the services), and `cryptography` costs about
    # 40 ms of that start (X.509 and ECDSA alone 6 MiB), Argon2 more; a window that signs
    # nothing until a note is signed, and shows its sign-in first, need not wait for them.
    from cryptography import x509
    from cryptography.hazmat.primitives.asymmetric import ec

CA_YEARS = 40
SIGNER_YEARS = 30
_SEAL_INFO = b"tpi-chart sealed secret v1"


class KeyUnlockFailed(Exception):
    """The password (or passphrase) does not open this key, or the blob was altered."""


@dataclass(frozen=True)
class KdfParams:
    """Argon2id cost. The defaults are argon2-cffi's RFC 9106 "low memory" profile, the same
    the passwords are hashed with; tests pass cheaper ones."""

    time_cost: int = 3
    memory_kib: int = 65536
    parallelism: int = 4


# The cost every wrap uses unless a caller passes its own; tests lower it (tests/conftest.py).
DEFAULT_KDF = KdfParams()


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(text: Any) -> bytes:
    return base64.b64decode(str(text), validate=True)


def _derive(password: str, salt: bytes, params: KdfParams) -> bytes:
    from argon2.low_level import Type, hash_secret_raw

    return hash_secret_raw(
        password.encode("utf-8"),
        salt,
        time_cost=params.time_cost,
        memory_cost=params.memory_kib,
        parallelism=params.parallelism,
        hash_len=32,
        type=Type.ID,
    )


def wrap(secret: bytes, password: str, params: KdfParams, *, label: str) -> str:
    """``secret`` encrypted under ``password``; JSON text. ``label`` is bound as associated data,
    so a blob moved to another purpose does not open."""
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    salt = os.urandom(16)
    nonce = os.urandom(12)
    key = _derive(password, salt, params)
    ciphertext = AESGCM(key).encrypt(nonce, secret, label.encode("utf-8"))
    return _wrapped(params, salt, nonce, ciphertext)


def decoy_wrapped(params: KdfParams, size: int = 32) -> str:
    """A blob like `wrap`'s of a `size`-byte secret that no password opens (random bytes for
    its ciphertext): `unwrap` pays the same Argon2 for it, without one spent making it."""
    return _wrapped(params, os.urandom(16), os.urandom(12), os.urandom(size + 16))


def _wrapped(params: KdfParams, salt: bytes, nonce: bytes, ciphertext: bytes) -> str:
    return json.dumps(
        {
            "v": 1,
            "kdf": "argon2id",
            "t": params.time_cost,
            "m": params.memory_kib,
            "p": params.parallelism,
            "salt": _b64(salt),
            "nonce": _b64(nonce),
            "ct": _b64(ciphertext),
        },
        sort_keys=True,
    )


def unwrap(blob: str, password: str, *, label: str) -> bytes:
    from cryptography.exceptions import InvalidTag
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    try:
        data = json.loads(blob)
        params = KdfParams(int(data["t"]), int(data["m"]), int(data["p"]))
        key = _derive(password, _unb64(data["salt"]), params)
        return AESGCM(key).decrypt(_unb64(data["nonce"]), _unb64(data["ct"]), label.encode())
    except (InvalidTag, ValueError, KeyError, TypeError) as error:
        raise KeyUnlockFailed(label) from error


def new_account_key() -> tuple[bytes, bytes]:
    """(private, public) raw X25519 keys for an account."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import x25519

    private = x25519.X25519PrivateKey.generate()
    return (
        private.private_bytes(
            serialization.Encoding.Raw,
            serialization.PrivateFormat.Raw,
            serialization.NoEncryption(),
        ),
        private.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        ),
    )


def _seal_key(shared: bytes, ephemeral_public: bytes, label: str) -> bytes:
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF

    return HKDF(
        algorithm=hashes.SHA256(),
        length=32,
        salt=ephemeral_public,
        info=_SEAL_INFO + b"|" + label.encode("utf-8"),
    ).derive(shared)


def seal(secret: bytes, account_public: bytes, *, label: str) -> str:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import x25519
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    ephemeral = x25519.X25519PrivateKey.generate()
    ephemeral_public = ephemeral.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )
    shared = ephemeral.exchange(x25519.X25519PublicKey.from_public_bytes(account_public))
    nonce = os.urandom(12)
    ciphertext = AESGCM(_seal_key(shared, ephemeral_public, label)).encrypt(
        nonce, secret, label.encode("utf-8")
    )
    return json.dumps(
        {"v": 1, "epk": _b64(ephemeral_public), "nonce": _b64(nonce), "ct": _b64(ciphertext)},
        sort_keys=True,
    )


def unseal(blob: str, account_private: bytes, *, label: str) -> bytes:
    from cryptography.exceptions import InvalidTag
    from cryptography.hazmat.primitives.asymmetric import x25519
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    try:
        data = json.loads(blob)
        ephemeral_public = _unb64(data["epk"])
        private = x25519.X25519PrivateKey.from_private_bytes(account_private)
        shared = private.exchange(x25519.X25519PublicKey.from_public_bytes(ephemeral_public))
        return AESGCM(_seal_key(shared, ephemeral_public, label)).decrypt(
            _unb64(data["nonce"]), _unb64(data["ct"]), label.encode("utf-8")
        )
    except (InvalidTag, ValueError, KeyError, TypeError) as error:
        raise KeyUnlockFailed(label) from error


def recovery_passphrase() -> str:
    """Eight groups of five characters from an alphabet without look-alikes (about 190 bits)."""
    alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
    return "-".join("".join(secrets.choice(alphabet) for _ in range(5)) for _ in range(8))


def normalise_passphrase(text: str) -> str:
    """What a person typed back: case, spaces and dashes do not matter."""
    compact = "".join(ch for ch in text.upper() if ch.isalnum())
    return "-".join(compact[i : i + 5] for i in range(0, len(compact), 5))


# ---- keys and certificates ------------------------------------------------------------------


def new_signing_key() -> bytes:
    """A new ECDSA P-256 private key, PKCS#8 DER."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    return ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _private(der: bytes) -> ec.EllipticCurvePrivateKey:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    key = serialization.load_der_private_key(der, password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise KeyUnlockFailed("not an EC key")
    return key


def public_key_der(private_der: bytes) -> bytes:
    from cryptography.hazmat.primitives import serialization

    return (
        _private(private_der)
        .public_key()
        .public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    )


def _name(common_name: str, organisation: str) -> x509.Name:
    from cryptography import x509
    from cryptography.x509.oid import NameOID

    attributes = [x509.NameAttribute(NameOID.COMMON_NAME, common_name[:64] or "?")]
    if organisation:
        attributes.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, organisation[:64]))
    return x509.Name(attributes)


def make_ca(clinic_name: str, clinic_id: str, now: datetime) -> tuple[bytes, bytes]:
    """(private key DER, self-signed CA certificate DER) for a clinic."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.x509.oid import NameOID

    key_der = new_signing_key()
    key = _private(key_der)
    subject = _name(f"{clinic_name} signing authority", clinic_name)
    subject = x509.Name(
        [*subject, x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, f"clinic {clinic_id}")]
    )
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=365 * CA_YEARS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return key_der, cert.public_bytes(serialization.Encoding.DER)


def issue_certificate(
    ca_key_der: bytes,
    ca_cert_der: bytes,
    subject_public_der: bytes,
    *,
    common_name: str,
    username: str,
    now: datetime,
) -> bytes:
    """A document-signing certificate for a physician, issued by the clinic CA (DER)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    ca_key = _private(ca_key_der)
    ca_cert = x509.load_der_x509_certificate(ca_cert_der)
    public = serialization.load_der_public_key(subject_public_der)
    if not isinstance(public, ec.EllipticCurvePublicKey):
        raise ValueError("a physician's signing key must be an EC key")
    organisation = ca_cert.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)
    subject = x509.Name(
        [
            *_name(common_name, str(organisation[0].value) if organisation else ""),
            x509.NameAttribute(NameOID.USER_ID, username),
        ]
    )
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(ca_cert.subject)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=365 * SIGNER_YEARS))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=True,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), critical=False
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.DER)


def issued_by(cert_der: bytes, ca_cert_der: bytes) -> bool:
    """Whether the certificate names the authority's certificate as its issuer."""
    from cryptography import x509

    issuer = x509.load_der_x509_certificate(cert_der).issuer
    return bool(issuer == x509.load_der_x509_certificate(ca_cert_der).subject)


def serial_hex(cert_der: bytes) -> str:
    from cryptography import x509

    return format(x509.load_der_x509_certificate(cert_der).serial_number, "x")


#: The revocation reasons a CRL names (`x509.ReasonFlags` members); any other is "unspecified".
_CRL_REASONS = frozenset({"key_compromise", "superseded", "cessation_of_operation"})


def make_crl(
    ca_key_der: bytes,
    ca_cert_der: bytes,
    revoked: list[tuple[str, datetime, str]],
    now: datetime,
) -> bytes:
    """A CRL (DER) signed by the clinic CA listing (serial hex, revoked at, reason)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization

    ca_cert = x509.load_der_x509_certificate(ca_cert_der)
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(ca_cert.subject)
        .last_update(now)
        .next_update(now + timedelta(days=3650))
    )
    for serial, revoked_at, reason in revoked:
        entry = (
            x509.RevokedCertificateBuilder()
            .serial_number(int(serial, 16))
            .revocation_date(revoked_at)
            .add_extension(
                x509.CRLReason(
                    x509.ReasonFlags[reason]
                    if reason in _CRL_REASONS
                    else x509.ReasonFlags.unspecified
                ),
                False,
            )
            .build()
        )
        builder = builder.add_revoked_certificate(entry)
    crl = builder.sign(_private(ca_key_der), hashes.SHA256())
    return crl.public_bytes(serialization.Encoding.DER)


def trust_pem(ca_cert_der: bytes, crl_der: bytes | None) -> bytes:
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    cert = x509.load_der_x509_certificate(ca_cert_der)
    text = cert.public_bytes(serialization.Encoding.PEM)
    if crl_der is not None:
        text += x509.load_der_x509_crl(crl_der).public_bytes(serialization.Encoding.PEM)
    return text


def read_trust_pem(data: bytes) -> Trust:
    """Parse a trust file: certificates, and CRLs that verify against one of them (a CRL that
    does not is ignored, so a forged revocation list cannot un-revoke anything... nor revoke)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    try:
        certs = x509.load_pem_x509_certificates(data)
    except ValueError as error:
        raise ValueError("no certificate in the trust file") from error
    revoked: dict[str, tuple[datetime, str]] = {}
    marker = b"-----BEGIN X509 CRL-----"
    for chunk in data.split(marker)[1:]:
        end = chunk.find(b"-----END X509 CRL-----")
        if end < 0:
            continue
        pem = marker + chunk[: end + len(b"-----END X509 CRL-----")] + b"\n"
        try:
            crl = x509.load_pem_x509_crl(pem)
        except ValueError:
            continue
        issuer = next((c for c in certs if c.subject == crl.issuer), None)
        if issuer is None or not crl.is_signature_valid(issuer.public_key()):  # type: ignore[arg-type]
            continue
        for entry in crl:
            reason = "unspecified"
            try:
                flag = entry.extensions.get_extension_for_class(x509.CRLReason).value.reason
                reason = flag.name
            except x509.ExtensionNotFound:
                pass
            revoked[format(entry.serial_number, "x")] = (entry.revocation_date_utc, reason)
    return Trust(tuple(cert.public_bytes(serialization.Encoding.DER) for cert in certs), revoked)


def fingerprint(cert_der: bytes) -> str:
    return hashlib.sha256(cert_der).hexdigest()

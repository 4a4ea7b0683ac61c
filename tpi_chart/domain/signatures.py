"""What a signature needs and what validating one trusts, as plain data (no cryptography here;
services.crypto and pdf.pades do the work)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class SignerKey:
    """A physician's unlocked signing identity: PKCS#8 private key, certificate and the chain up
    to the clinic authority (all DER). Lives in memory only."""

    private_key_der: bytes
    certificate_der: bytes
    chain_der: tuple[bytes, ...]
    common_name: str

    def __repr__(self) -> str:  # never print key material
        return f"SignerKey({self.common_name!r})"


@dataclass(frozen=True)
class Trust:
    """The clinic authorities to trust (DER certificates) and their revocations
    (certificate serial in hex → (revoked at, reason))."""

    roots: tuple[bytes, ...]
    revoked: dict[str, tuple[datetime, str]]

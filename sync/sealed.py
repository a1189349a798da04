"""Secrets that travel in bundles, sealed to the one party that may read them.

A sealed box (libsodium, via PyNaCl) is encrypted to a Curve25519 public key with a throwaway
sender key: only the holder of the matching private key can open it, and nobody, not even
the sender, can read it afterwards. Hubs and central already have Ed25519 identity keys; the
Curve25519 keys are derived from them, so no new key is made, kept or enrolled.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from sync.identity import KeyPair

# PyNaCl is imported when a secret is first sealed or opened (as cryptography in
# sync.identity): a hub serving pages never does either.

MAX_SEALED = 4096  # base64 characters: a PIN hash sealed is about 170


class SealError(ValueError):
    """A sealed value cannot be opened; str() is one sentence."""


def seal(public_key: bytes, secret: str) -> str:
    """`secret` sealed to the holder of the Ed25519 `public_key`, as base64 text."""
    from nacl.public import SealedBox
    from nacl.signing import VerifyKey

    box = SealedBox(VerifyKey(public_key).to_curve25519_public_key())
    return base64.b64encode(box.encrypt(secret.encode())).decode("ascii")


def unseal(keys: KeyPair, sealed: object) -> str:
    """The secret in `sealed` (from seal() to `keys`' public key); SealError otherwise."""
    if not isinstance(sealed, str) or len(sealed) > MAX_SEALED:
        raise SealError("A sealed value must be base64 text of at most 4096 characters.")
    from nacl.exceptions import CryptoError
    from nacl.public import SealedBox
    from nacl.signing import SigningKey

    box = SealedBox(SigningKey(keys.seed).to_curve25519_private_key())
    try:
        return box.decrypt(base64.b64decode(sealed, validate=True)).decode()
    except (CryptoError, binascii.Error, UnicodeDecodeError):
        raise SealError("A sealed value was not sealed to this key, or was damaged.") from None


def opened_pin(record: dict[str, Any], keys: KeyPair) -> dict[str, Any]:
    """A roster record with its sealed PIN hash (`pin_sealed`) opened to `pin_hash`, or as it
    came when it has none; SealError when it cannot be opened (hub and central alike)."""
    if "pin_sealed" not in record:
        return record
    opened = {k: v for k, v in record.items() if k != "pin_sealed"}
    opened["pin_hash"] = unseal(keys, record["pin_sealed"])
    return opened

"""A hub's identity: an Ed25519 key pair made on first run, and the hub id derived from it.

The private key never leaves the data dir (file mode 0600). The public identity is what
central enrols and what neighbour hubs see; the hub id is a short, stable name for the key.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from content.durable import write_bytes

IDENTITY_FORMAT = "learnhub-identity/1"
KEY_FILE = "hub_key"
HUB_ID_CHARS = 20  # 100 bits of the key's hash: no collision among any number of real hubs


class IdentityError(ValueError):
    """An identity file or key is unusable; str() is one sentence."""


def hub_id_of(public_key: bytes) -> str:
    """Lower-case base32 of the public key's sha256, shortened: readable and unambiguous."""
    digest = hashlib.sha256(public_key).digest()
    return base64.b32encode(digest).decode("ascii").lower()[:HUB_ID_CHARS]


@dataclass(frozen=True)
class KeyPair:
    private: Ed25519PrivateKey

    @property
    def public_key(self) -> bytes:
        return self.private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)

    @property
    def hub_id(self) -> str:
        return hub_id_of(self.public_key)

    def sign(self, data: bytes) -> bytes:
        return self.private.sign(data)


def verify(public_key: bytes, signature: bytes, data: bytes) -> bool:
    try:
        Ed25519PublicKey.from_public_bytes(public_key).verify(signature, data)
    except (InvalidSignature, ValueError):
        return False
    return True


def load_or_create(folder: Path) -> KeyPair:
    """The key pair in `folder`, made (seed only, 0600, fsynced) the first time."""
    path = folder / KEY_FILE
    # An empty file is what an older version left when the power went between creating the
    # file and writing the seed: nothing was ever signed with that seed, so make one.
    if path.is_file() and path.stat().st_size > 0:
        return _read(path)
    with contextlib.suppress(FileExistsError):  # another process made it first: use theirs
        write_bytes(path, os.urandom(32), mode=0o600, exclusive=not path.exists())
    return _read(path)


def _read(path: Path) -> KeyPair:
    seed = path.read_bytes()
    if len(seed) != 32:
        raise IdentityError(f"{path} is not a hub key (it should hold 32 bytes).")
    return KeyPair(Ed25519PrivateKey.from_private_bytes(seed))


def public_identity(keys: KeyPair, name: str, **extra: Any) -> dict[str, Any]:
    """What `learnhub sync identity` prints and central enrols."""
    return {
        "format": IDENTITY_FORMAT,
        "hub_id": keys.hub_id,
        "public_key": base64.b64encode(keys.public_key).decode("ascii"),
        "name": name,
        **extra,
    }


def parse_identity(doc: Any) -> tuple[str, bytes, str]:
    """(hub_id, public_key, name) from an identity document; raises IdentityError."""
    if not isinstance(doc, dict) or doc.get("format") != IDENTITY_FORMAT:
        raise IdentityError(f"This is not a hub identity (format {IDENTITY_FORMAT}).")
    try:
        public_key = base64.b64decode(str(doc.get("public_key", "")), validate=True)
        Ed25519PublicKey.from_public_bytes(public_key)
    except ValueError:
        raise IdentityError("The identity's public_key is not an Ed25519 key.") from None
    if doc.get("hub_id") != hub_id_of(public_key):
        raise IdentityError("The identity's hub_id does not match its public key.")
    name = doc.get("name")
    if not isinstance(name, str) or not 0 < len(name) <= 100:
        raise IdentityError("The identity needs a name of 1 to 100 characters.")
    return doc["hub_id"], public_key, name

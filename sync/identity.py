"""A hub's identity: an Ed25519 key pair made on first run, and the hub id derived from it.

The private key never leaves the data dir (file mode 0600). The public identity is what
central enrols and what neighbour hubs see; the hub id is a short, stable name for the key.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import os
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from content.durable import write_bytes

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

# cryptography is imported when a key is first used, not with this module: it costs a hub
# about 9 MB of memory, and a hub serving pages never signs or verifies anything.

IDENTITY_FORMAT = "learnhub-identity/1"
KEY_FILE = "hub_key"
# The public key, kept beside the seed so that a hub that only serves pages and announces its
# id on the network never loads cryptography. It starts with a hash of the seed and the key
# together, so a seed restored without its note, beside another's, or a damaged note is
# noticed and the note written again.
PUBLIC_FILE = "hub_key.pub"
_MARK = 8  # bytes of sha256(seed + public key) the note starts with
HUB_ID_CHARS = 20  # 100 bits of the key's hash: no collision among any number of real hubs


class IdentityError(ValueError):
    """An identity file or key is unusable; str() is one sentence."""


def hub_id_of(public_key: bytes) -> str:
    """Lower-case base32 of the public key's sha256, shortened: readable and unambiguous."""
    digest = hashlib.sha256(public_key).digest()
    return base64.b32encode(digest).decode("ascii").lower()[:HUB_ID_CHARS]


@dataclass(frozen=True)
class KeyPair:
    seed: bytes = field(repr=False)  # the 32 bytes of the private key: never in a log
    known_public: bytes | None = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        if len(self.seed) != 32:
            raise IdentityError("A hub key is 32 bytes.")

    @cached_property
    def private(self) -> Ed25519PrivateKey:
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

        return Ed25519PrivateKey.from_private_bytes(self.seed)

    @cached_property
    def public_key(self) -> bytes:
        if self.known_public is not None:
            return self.known_public
        from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

        return self.private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)

    @property
    def hub_id(self) -> str:
        return hub_id_of(self.public_key)

    def sign(self, data: bytes) -> bytes:
        return self.private.sign(data)


def verify(public_key: bytes, signature: bytes, data: bytes) -> bool:
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

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
    note = path.with_name(PUBLIC_FILE)
    known = _public_noted(note, seed)
    if known is not None:
        return KeyPair(seed, known)
    keys = KeyPair(seed)
    with contextlib.suppress(OSError):  # a read-only data dir: the key is derived each start
        write_bytes(note, _mark(seed, keys.public_key) + keys.public_key, mode=0o644)
    return keys


def _mark(seed: bytes, public_key: bytes) -> bytes:
    return hashlib.sha256(seed + public_key).digest()[:_MARK]


def _public_noted(note: Path, seed: bytes) -> bytes | None:
    """The public key noted for this seed, or None (no note, a damaged one, or another's)."""
    try:
        noted = note.read_bytes()
    except OSError:
        return None
    mark, public_key = noted[:_MARK], noted[_MARK:]
    if len(public_key) != 32 or mark != _mark(seed, public_key):
        return None
    return public_key


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
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

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

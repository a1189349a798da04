"""Signed requests: how a hub proves, on every sync call, that it is the hub it says it is.

A hub signs each request to central's sync API with its Ed25519 key, over the method, the
path, its hub id and the sha256 of the body (a chunk's body is not covered: the whole file's
sha256, checked on finish, covers its bytes). There is no timestamp, because a hub's clock
may be years wrong; instead every signed call is idempotent (opening an upload of the same
file again gives the same upload, a chunk goes only where the upload stands, finishing
twice gives the same answer), so replaying a captured request achieves nothing new.
"""

from __future__ import annotations

import base64
import binascii
import hashlib

from sync.identity import KeyPair, verify

FORMAT = "learnhub-request/1"
HUB_HEADER = "X-Learnhub-Hub"
SIGNATURE_HEADER = "X-Learnhub-Signature"


def message(method: str, path: str, hub_id: str, body: bytes = b"") -> bytes:
    """The exact bytes signed: one line each, so no field can run into the next."""
    digest = hashlib.sha256(body).hexdigest()
    return "\n".join((FORMAT, method.upper(), path, hub_id, digest)).encode()


def signed_headers(keys: KeyPair, method: str, path: str, body: bytes = b"") -> dict[str, str]:
    """The headers a hub adds to a request (`path` without the query string)."""
    signature = keys.sign(message(method, path, keys.hub_id, body))
    return {
        HUB_HEADER: keys.hub_id,
        SIGNATURE_HEADER: base64.b64encode(signature).decode("ascii"),
    }


def is_signed_by(
    public_key: bytes, hub_id: str, signature: str, method: str, path: str, body: bytes = b""
) -> bool:
    """Whether `signature` (base64) is the key's signature of this request."""
    try:
        raw = base64.b64decode(signature, validate=True)
    except (binascii.Error, ValueError):
        return False
    return verify(public_key, raw, message(method, path, hub_id, body))

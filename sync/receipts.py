"""Receipts: what central has durably kept of one hub epoch, signed with central's key.

A receipt is JSON; its signature is Ed25519 over the canonical bytes of every other field
(sorted keys, no spaces, UTF-8), in base64 under "signature". A hub verifies it with the
central key it pinned at enrolment, then may forget events up to `high_water`. Central signs
and the hub verifies, so the format lives here in `sync`, which both sides may import.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from sync.identity import KeyPair, verify

FORMAT = "learnhub-receipt/1"


def canonical(doc: dict[str, Any]) -> bytes:
    body = {key: value for key, value in doc.items() if key != "signature"}
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def sign_receipt(keys: KeyPair, doc: dict[str, Any]) -> dict[str, Any]:
    body = {"format": FORMAT, **doc}
    signature = base64.b64encode(keys.sign(canonical(body))).decode("ascii")
    return {**body, "signature": signature}


def verify_receipt(public_key: bytes, doc: Any) -> bool:
    """True only for a receipt of this format signed by the holder of `public_key`."""
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        return False
    try:
        signature = base64.b64decode(str(doc.get("signature", "")), validate=True)
    except (binascii.Error, ValueError):
        return False
    return verify(public_key, signature, canonical(doc))

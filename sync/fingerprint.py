"""A key's fingerprint: short enough for two people to read aloud and compare, long enough
that nobody can make another key with the same one.

Central shows it (`learnhub central identity`, its dashboard) and a hub shows the key it keeps
(`learnhub sync status`, Admin -> Sync); when the two agree, the hub's operator confirms it.
"""

from __future__ import annotations

import base64
import hashlib

GROUPS = 5
GROUP_CHARS = 4  # 5 x 4 base32 characters: 100 bits of the key's sha256


def fingerprint(public_key: bytes) -> str:
    """Like "K7QX-3MZA-PD2F-LWRT-A6EN": upper-case base32 (no 0, 1, 8 or 9 to misread)."""
    digest = hashlib.sha256(public_key).digest()
    text = base64.b32encode(digest).decode("ascii")[: GROUPS * GROUP_CHARS]
    return "-".join(text[i : i + GROUP_CHARS] for i in range(0, len(text), GROUP_CHARS))


def same_fingerprint(typed: str, expected: str) -> bool:
    """What an operator typed (any case, spaces or dashes) against a fingerprint."""

    def bare(text: str) -> str:
        return "".join(c for c in text.upper() if c.isalnum())

    return bool(bare(typed)) and bare(typed) == bare(expected)

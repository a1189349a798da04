"""Where a `next=` may send someone: a path on this site, nothing else (hub and central)."""

from __future__ import annotations

from urllib.parse import unquote, urlsplit

# Browsers drop tabs and newlines inside a URL and read "\" as "/": "/\t/evil" and "/\evil"
# are "//evil", another site. Any of these, anywhere, and the target is not used.
_REFUSED = frozenset("\\") | frozenset(chr(n) for n in (*range(0x21), 0x7F))


def local_target(target: str | None, fallback: str) -> str:
    """`target` when it is a path on this site (`/...`, never `//...`), else `fallback`."""
    if target and _is_local_path(target) and _is_local_path(unquote(target)):
        return target
    return fallback


def _is_local_path(target: str) -> bool:
    # The decoded form is checked too ("/%2F/evil"): a proxy or a later hop may decode it.
    if not target.startswith("/") or target.startswith("//"):
        return False
    if any(char in _REFUSED for char in target):
        return False
    parts = urlsplit(target)
    return not parts.scheme and not parts.netloc

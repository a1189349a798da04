"""What a bundle is made of: the format's names, patterns and size limits, the one error type,
and the small helpers every side uses to name a member or phrase a refusal."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

FORMAT = "learnhub-bundle/1"
SUFFIX = ".lhb"
KINDS = ("hub", "reply")
PART_TYPES = (
    *("events", "roster", "receipt", "packs", "zims", "blob", "outcomes"),
    *("shared", "catalog", "offers", "letters"),
)
# blobs: the files of a pack it shares, a letter's photos and recording
HUB_PARTS = ("events", "roster", "shared", "blob", "letters")
REPLY_PARTS = (
    *("receipt", "roster", "packs", "zims", "blob", "outcomes", "catalog", "offers"),
    "letters",
)
MAX_HAVE_ZIMS = 10_000  # ZIM uuids a hub bundle may list in have_zims
HEADER_FIELDS = ("kind", "sender", "recipient", "hub_id", "epoch", "seq", "hlc", "previous")
MANIFEST = "manifest.json"
SIGNATURE = "manifest.sig"
SIGNATURE_BYTES = 64
CHUNK_SIZE = 64 * 1024
CHUNK_SIZES = tuple(CHUNK_SIZE << shift for shift in range(9))  # 64 KiB .. 16 MiB
PART_NAME = re.compile(r"[a-z0-9][a-z0-9_.-]{0,63}")
NAME_RULE = "1 to 64 lower-case letters, digits, dots, dashes or underscores"
PARTY = re.compile(r"[a-z0-9][a-z0-9-]{0,79}")  # hub ids, "central", "central-<id>"
CENTRAL = re.compile(r"central(-[a-z0-9-]{1,72})?")  # a hub id (base32, no dash) never matches
EPOCH = re.compile(r"[0-9a-f]{16}")
SHA256 = re.compile(r"[0-9a-f]{64}")


class BundleError(ValueError):
    """A bundle cannot be written or is refused; str() is one sentence for an operator."""


@dataclass(frozen=True)
class Limits:
    manifest_bytes: int = 1024 * 1024
    part_bytes: int = 512 * 1024 * 1024  # one compressed NDJSON part
    blob_bytes: int = 2 * 1024**3  # one content file (the pack format's largest file)
    decoded_bytes: int = 2 * 1024**3  # one NDJSON part once decompressed
    ratio: int = 200  # decompressed / compressed, above a floor of `ratio_floor` bytes
    ratio_floor: int = 1024 * 1024
    line_bytes: int = 16 * 1024 * 1024  # one NDJSON record (a pack's pack.json is the largest)


LIMITS = Limits()


def member_name(entry: dict[str, Any]) -> str:
    """The tar member a manifest entry is stored as."""
    return f"blobs/{entry['name']}" if entry["type"] == "blob" else f"parts/{entry['name']}"


def dumps(value: Any) -> bytes:
    """Compact UTF-8 JSON, refusing NaN (the reader refuses it too)."""
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    return text.encode("utf-8")


def why(err: OSError) -> str:
    return err.strerror or str(err) or type(err).__name__


def clause(err: Exception) -> str:
    """A one-sentence error as a clause inside another sentence."""
    return str(err).rstrip(".")


def printable(name: str) -> str:
    """A member name fit for a one-line message, whatever bytes it holds."""
    cleaned = "".join(c if c.isprintable() else "?" for c in name)
    return cleaned if len(cleaned) <= 100 else cleaned[:100] + "..."


def label_of(path: Path) -> str:
    return f"Bundle {printable(path.name)}"

"""The checks a manifest and its records must pass, the same for the writer (its own bug, caught
before a byte is written) and the reader (a hostile or damaged bundle, refused)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sync import records as rec
from sync.bundle._format import (
    CENTRAL,
    CHUNK_SIZE,
    CHUNK_SIZES,
    EPOCH,
    HUB_PARTS,
    KINDS,
    MAX_HAVE_ZIMS,
    NAME_RULE,
    PART_NAME,
    PARTY,
    REPLY_PARTS,
    SHA256,
    BundleError,
    Limits,
)
from sync.letters import check_letters_record
from sync.outcomes import check_outcome

# Central's outcomes part has its own module (sync/outcomes.py), beside the records it reads.
CHECKS = {**rec.CHECKS, "outcomes": check_outcome, "letters": check_letters_record}


def check_manifest(manifest: dict[str, Any], label: str, limits: Limits) -> dict[str, Any]:
    """Every field of a manifest, after its format; BundleError names the first bad one."""
    problem = _manifest_problem(manifest, limits)
    if problem:
        raise BundleError(f"{label} is refused: its manifest {problem}.")
    return manifest


def _manifest_problem(manifest: dict[str, Any], limits: Limits) -> str | None:
    return _header_problem(manifest) or _range_problem(manifest) or _parts_problem(manifest, limits)


def _header_problem(manifest: dict[str, Any]) -> str | None:
    if manifest.get("kind") not in KINDS:
        return f"kind must be one of {', '.join(KINDS)}"
    for name in ("sender", "recipient", "hub_id"):
        if not isinstance(manifest.get(name), str) or not PARTY.fullmatch(manifest[name]):
            return f"{name} must be a hub id or central's id"
    hub, central = ("sender", "recipient") if manifest["kind"] == "hub" else ("recipient", "sender")
    if CENTRAL.fullmatch(manifest["hub_id"]):
        return "hub_id must be a hub's id, not central's"
    if manifest[hub] != manifest["hub_id"]:
        return f"{hub} must be the hub_id in a {manifest['kind']} bundle"
    if not CENTRAL.fullmatch(manifest[central]):
        return f"{central} must be central in a {manifest['kind']} bundle"
    if not isinstance(manifest.get("epoch"), str) or not EPOCH.fullmatch(manifest["epoch"]):
        return "epoch must be 16 lower-case hex digits"
    previous = manifest.get("previous", "")
    if previous is not None and not (isinstance(previous, str) and SHA256.fullmatch(previous)):
        return "previous must be null or a sha256 (64 hex digits)"
    if not _is_count(manifest.get("created")):
        return "created must be a non-negative integer (milliseconds)"
    have = manifest.get("have", {})
    if not isinstance(have, dict) or not all(
        isinstance(key, str) and isinstance(value, str) for key, value in have.items()
    ):
        return "have must map pack ids to versions"
    return _have_zims_problem(manifest)


def _have_zims_problem(manifest: dict[str, Any]) -> str | None:
    """have_zims (optional; hub bundles): the uuids of the ZIMs the hub has. Its presence
    also says the hub reads a reply's zims part."""
    if "have_zims" not in manifest:
        return None
    have = manifest["have_zims"]
    if (
        not isinstance(have, list)
        or len(have) > MAX_HAVE_ZIMS
        or not all(isinstance(u, str) and rec.ZIM_UUID.fullmatch(u) for u in have)
    ):
        return f"have_zims must list at most {MAX_HAVE_ZIMS} ZIM uuids"
    return None


def _range_problem(manifest: dict[str, Any]) -> str | None:
    for name in ("seq", "hlc"):
        if name not in manifest:
            return f"lacks {name}"
        span = manifest[name]
        if span is None:
            continue
        if not isinstance(span, dict) or not all(_is_count(span.get(k)) for k in ("first", "last")):
            return f"{name} must be null or {{first, last}} non-negative integers"
        if span["first"] > span["last"]:
            return f"{name}.first is after {name}.last"
    return None


def _parts_problem(manifest: dict[str, Any], limits: Limits) -> str | None:
    parts = manifest.get("parts")
    if not isinstance(parts, list):
        return "parts must be a list"
    names: set[str] = set()
    allowed = HUB_PARTS if manifest["kind"] == "hub" else REPLY_PARTS
    for index, entry in enumerate(parts):
        problem = _entry_problem(entry, allowed, limits)
        if problem:
            return f"parts[{index}] {problem}"
        if entry["name"] in names:
            return f"parts[{index}] repeats the name {entry['name']}"
        names.add(entry["name"])
    if any(e["type"] == "events" and e["records"] for e in parts) and manifest["seq"] is None:
        return "has events but no seq range"
    return None


def _entry_problem(entry: Any, allowed: tuple[str, ...], limits: Limits) -> str | None:
    if not isinstance(entry, dict):
        return "must be an object"
    if entry.get("type") not in allowed:
        return f"type must be one of {', '.join(allowed)}"
    blob = entry["type"] == "blob"
    name = entry.get("name")
    if not isinstance(name, str) or not (SHA256 if blob else PART_NAME).fullmatch(name):
        return "name must be a sha256" if blob else f"name must be {NAME_RULE}"
    if not isinstance(entry.get("sha256"), str) or not SHA256.fullmatch(entry["sha256"]):
        return "sha256 must be 64 lower-case hex digits"
    if blob and name != entry["sha256"]:
        return f"is a blob named {name} but its sha256 is {entry['sha256']}"
    largest = limits.blob_bytes if blob else limits.part_bytes
    if not _is_count(entry.get("size")) or entry["size"] > largest:
        return f"size must be an integer from 0 to {largest}"
    if not _is_count(entry.get("records")) or (blob and entry["records"]):
        return "records must be a count (0 for a blob)"
    return _chunks_problem(entry)


def _chunks_problem(entry: dict[str, Any]) -> str | None:
    chunk_size = entry.get("chunk_size")
    if not _is_count(chunk_size) or chunk_size not in CHUNK_SIZES:
        return f"chunk_size must be a power of two from {CHUNK_SIZE} to {CHUNK_SIZES[-1]}"
    chunks = entry.get("chunks")
    if not isinstance(chunks, list) or len(chunks) != -(-entry["size"] // chunk_size):
        return "chunks must list one sha256 per chunk_size bytes"
    if not all(isinstance(c, str) and SHA256.fullmatch(c) for c in chunks):
        return "chunks must be sha256 hex digests"
    return None


def _is_count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def check_records(manifest: dict[str, Any], entry: dict[str, Any], values: Iterable[Any]) -> None:
    """Every record of a part well formed (events within the manifest's ranges); RecordError."""
    count = 0
    if entry["type"] == "events":
        seq, hlc = manifest["seq"], manifest["hlc"]
        for event in rec.decode_events(values):
            if not seq["first"] <= event.seq <= seq["last"]:
                raise rec.RecordError(f"event seq {event.seq} is outside the manifest's range")
            if hlc is None or not hlc["first"] <= event.hlc <= hlc["last"]:
                raise rec.RecordError(f"event seq {event.seq} has an hlc outside the range")
            count += 1
    else:
        check = CHECKS[entry["type"]]
        for value in values:
            check(value)
            count += 1
    if count != entry["records"]:
        raise rec.RecordError(f"it holds {count} records, not the {entry['records']} announced")
    if entry["type"] == "receipt" and count != 1:
        raise rec.RecordError("a receipt part holds exactly one record")

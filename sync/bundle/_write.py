"""Writing a bundle: parts prepared and checked first, then the signed tar written atomically."""

from __future__ import annotations

import hashlib
import json
import lzma
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from content.durable import atomic_write
from sync import records as rec
from sync.bundle._format import (
    CHUNK_SIZE,
    CHUNK_SIZES,
    FORMAT,
    HEADER_FIELDS,
    LIMITS,
    MANIFEST,
    NAME_RULE,
    PART_NAME,
    PART_TYPES,
    SIGNATURE,
    SUFFIX,
    BundleError,
    clause,
    dumps,
    label_of,
    member_name,
    printable,
    why,
)
from sync.bundle._manifest import check_manifest, check_records
from sync.bundle._tar import BLOCK, padding, tar_header
from sync.identity import KeyPair

MAX_CHUNKS = 4096  # per part: bigger blobs get bigger chunks, so the manifest stays small
XZ_DICT_MAX = 8 * 1024 * 1024  # xz -9's ratio for parts up to 8 MiB, in ~100 MB of RAM on a Pi


@dataclass(frozen=True)
class PartSpec:
    """A part to write: `records` (any JSON values) become xz NDJSON; `data` or `file` is a
    blob's raw bytes, named by its sha256 (an empty name is filled in)."""

    name: str
    type: str
    records: Iterable[Any] | None = None
    data: bytes | None = None
    file: Path | None = None  # a blob streamed from disk (content files can be large)


def write_bundle(path: Path, keys: KeyPair, header: dict[str, Any], parts: list[PartSpec]) -> str:
    """Write a signed bundle atomically (tmp + fsync + rename); returns its bundle id, the
    sha256 of manifest.json (the next bundle's "previous"). Nothing is left on error."""
    try:
        prepared = [_prepare(part) for part in parts]
    except OSError as err:
        raise BundleError(f"A blob for {label_of(path)} cannot be read ({why(err)}).") from None
    manifest = _manifest_for(header, [entry for entry, _, _ in prepared])
    data = dumps(manifest)
    if len(data) > LIMITS.manifest_bytes:
        raise BundleError("The bundle's manifest would pass 1 MiB: split its parts over bundles.")
    check_manifest(manifest, "The bundle to write", LIMITS)
    for entry, _, lines in prepared:
        _check_written(manifest, entry, lines)
    try:
        with atomic_write(path) as out:
            _write_member(out, MANIFEST, data, manifest["created"])
            _write_member(out, SIGNATURE, keys.sign(data), manifest["created"])
            for entry, source, _ in prepared:
                _write_part(out, entry, source, manifest["created"])
            out.write(bytes(2 * BLOCK))  # end of archive
    except OSError as err:
        raise BundleError(f"{label_of(path)} cannot be written ({why(err)}).") from None
    return hashlib.sha256(data).hexdigest()


Prepared = tuple[dict[str, Any], bytes | Path, list[bytes] | None]


def _prepare(part: PartSpec) -> Prepared:
    """The part's manifest entry, where its bytes come from, and its NDJSON lines."""
    name = printable(str(part.name))
    if part.type not in PART_TYPES:
        raise BundleError(f"Part {name} has an unknown type {printable(str(part.type))}.")
    if part.type == "blob":
        return _prepare_blob(part)
    if part.records is None or part.data is not None or part.file is not None:
        raise BundleError(f"Part {name} of type {part.type} must be given as records only.")
    if not PART_NAME.fullmatch(part.name):
        raise BundleError(f"Part name {name} must be {NAME_RULE}.")
    try:
        lines = [dumps(record) + b"\n" for record in part.records]
    except (TypeError, ValueError) as err:
        raise BundleError(f"Part {name} holds a record that is not JSON ({err}).") from None
    data = _compress(b"".join(lines))
    if len(data) > LIMITS.part_bytes:
        raise BundleError(f"Part {name} would pass {LIMITS.part_bytes} bytes: split it.")
    return _entry(part.name, part.type, len(lines), data, len(data)), data, lines


def _prepare_blob(part: PartSpec) -> Prepared:
    source = part.data if part.data is not None else part.file
    both = part.data is not None and part.file is not None
    if part.records is not None or source is None or both:
        raise BundleError(f"Blob {printable(part.name)} must be given as data or as a file.")
    size = len(source) if isinstance(source, bytes) else _file_size(source)
    entry = _entry(part.name, "blob", 0, source, size)
    if part.name and part.name != entry["sha256"]:
        shown = printable(part.name)
        raise BundleError(f"Blob {shown} holds bytes whose sha256 is {entry['sha256']}.")
    entry["name"] = entry["sha256"]
    return entry, source, None


def _check_written(
    manifest: dict[str, Any], entry: dict[str, Any], lines: list[bytes] | None
) -> None:
    """What the reader will check, checked before writing: a bad record is the writer's bug."""
    if lines is None:
        return
    try:
        check_records(manifest, entry, (json.loads(line) for line in lines))
    except rec.RecordError as err:
        raise BundleError(f"Part {entry['name']} cannot be written: {clause(err)}.") from None


def _entry(
    name: str, type_: str, count: int, source: bytes | Path, expected_size: int
) -> dict[str, Any]:
    chunk_size = _chunk_size_for(expected_size)
    whole = hashlib.sha256()
    chunks: list[str] = []
    size = 0
    for chunk in _pieces(source, chunk_size):
        whole.update(chunk)
        chunks.append(hashlib.sha256(chunk).hexdigest())
        size += len(chunk)
    return {
        "name": name,
        "type": type_,
        "size": size,
        "sha256": whole.hexdigest(),
        "records": count,
        "chunk_size": chunk_size,
        "chunks": chunks,
    }


def _manifest_for(header: dict[str, Any], entries: list[dict[str, Any]]) -> dict[str, Any]:
    if "format" in header or "parts" in header:
        raise BundleError("A bundle header must not set format or parts (write_bundle does).")
    missing = [name for name in (*HEADER_FIELDS, "created") if name not in header]
    if missing:
        raise BundleError(f"The bundle header lacks {', '.join(missing)}.")
    return {"format": FORMAT, **header, "parts": entries}


def _compress(data: bytes) -> bytes:
    # xz -9e with a dictionary no larger than the data: the same ratio, far less memory.
    dict_size = min(max(len(data), 4096), XZ_DICT_MAX)
    filters = [{"id": lzma.FILTER_LZMA2, "preset": 9 | lzma.PRESET_EXTREME, "dict_size": dict_size}]
    return lzma.compress(data, format=lzma.FORMAT_XZ, check=lzma.CHECK_NONE, filters=filters)


def _pieces(source: bytes | Path, chunk_size: int = CHUNK_SIZE) -> Iterator[bytes]:
    """The source's bytes in chunk_size slices (the last one shorter), without copies."""
    if isinstance(source, bytes):
        view = memoryview(source)
        for start in range(0, len(view), chunk_size):
            yield view[start : start + chunk_size]
        return
    with open(source, "rb") as handle:
        while piece := _read_full(handle, chunk_size):
            yield piece


def _read_full(handle: BinaryIO, size: int) -> bytes:
    """Up to `size` bytes, fewer only at the end of the file."""
    data = handle.read(size)
    while data and len(data) < size:
        more = handle.read(size - len(data))
        if not more:
            break
        data += more
    return data


def _chunk_size_for(size: int) -> int:
    for chunk_size in CHUNK_SIZES:
        if size <= chunk_size * MAX_CHUNKS:
            return chunk_size
    return CHUNK_SIZES[-1]


def _file_size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError as err:
        raise BundleError(f"The blob file {path} cannot be read ({why(err)}).") from None


def _write_part(out: BinaryIO, entry: dict[str, Any], source: bytes | Path, mtime: int) -> None:
    name = member_name(entry)
    out.write(tar_header(name, entry["size"], mtime))
    digest = hashlib.sha256()
    for chunk in _pieces(source):
        digest.update(chunk)
        out.write(chunk)
    if digest.hexdigest() != entry["sha256"]:
        raise BundleError(f"The file behind blob {entry['name']} changed while it was written.")
    out.write(bytes(padding(entry["size"])))


def _write_member(out: BinaryIO, name: str, data: bytes, mtime: int) -> None:
    out.write(tar_header(name, len(data), mtime))
    out.write(data)
    out.write(bytes(padding(len(data))))


def bundle_name(manifest: dict[str, Any]) -> str:
    """The file name a bundle is stored under: sender, recipient, epoch, last seq or time."""
    seq = manifest.get("seq")
    last = seq["last"] if isinstance(seq, dict) else manifest["created"]
    return f"{manifest['sender']}-to-{manifest['recipient']}-{manifest['epoch']}-{last}{SUFFIX}"

"""Sync bundles (format learnhub-bundle/1, specified in docs/sync-format.md): write, peek, read.

A bundle is an uncompressed POSIX ustar tar: `manifest.json`, `manifest.sig` (Ed25519 over
the manifest's exact bytes), then every part in manifest order: `parts/<name>` (xz NDJSON)
or `blobs/<sha256>` (raw bytes). The tar is written and read here, not by `tarfile`, so a
reader accepts exactly what a writer makes: regular files, known names, in order, nothing
else. `read_bundle` checks everything (structure, signature, sizes, every chunk hash, every
record) before it returns; afterwards each read re-checks the chunk hashes it streams, so a
file changed underneath still cannot feed unverified bytes to the caller.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import lzma
import os
import re
import stat
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from content.durable import atomic_write
from sync import records as rec
from sync.identity import KeyPair, verify

FORMAT = "learnhub-bundle/1"
KINDS = ("hub", "reply")
PART_TYPES = ("events", "roster", "receipt", "packs", "blob")
CHUNK_SIZE = 64 * 1024
CHUNK_SIZES = tuple(CHUNK_SIZE << shift for shift in range(9))  # 64 KiB .. 16 MiB
MAX_CHUNKS = 4096  # per part: bigger blobs get bigger chunks, so the manifest stays small
MANIFEST = "manifest.json"
SIGNATURE = "manifest.sig"
SIGNATURE_BYTES = 64
BLOCK = 512
MAX_TRAILER = 1024 * 1024  # zeros a tar tool may add after the end-of-archive marker
SUFFIX = ".lhb"
PART_NAME = re.compile(r"[a-z0-9][a-z0-9_.-]{0,63}")
NAME_RULE = "1 to 64 lower-case letters, digits, dots, dashes or underscores"
PARTY = re.compile(r"[a-z0-9][a-z0-9-]{0,79}")  # hub ids, "central", "central-<id>"
CENTRAL = re.compile(r"central(-[a-z0-9-]{1,72})?")  # a hub id (base32, no dash) never matches
EPOCH = re.compile(r"[0-9a-f]{16}")
SHA256 = re.compile(r"[0-9a-f]{64}")
OCTAL = re.compile(rb"[0-7]{1,12}")
HEADER_FIELDS = ("kind", "sender", "recipient", "hub_id", "epoch", "seq", "hlc", "previous")
XZ_DICT_MAX = 8 * 1024 * 1024  # xz -9's ratio for parts up to 8 MiB, in ~100 MB of RAM on a Pi
XZ_MEMLIMIT = 128 * 1024 * 1024  # enough for any `xz -9` stream, refuses a forged huge one


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


@dataclass(frozen=True)
class PartSpec:
    """A part to write: `records` (any JSON values) become xz NDJSON; `data` or `file` is a
    blob's raw bytes, named by its sha256 (an empty name is filled in)."""

    name: str
    type: str
    records: Iterable[Any] | None = None
    data: bytes | None = None
    file: Path | None = None  # a blob streamed from disk (content files can be large)


# ---------------------------------------------------------------------------------- writing


def write_bundle(path: Path, keys: KeyPair, header: dict[str, Any], parts: list[PartSpec]) -> str:
    """Write a signed bundle atomically (tmp + fsync + rename); returns its bundle id, the
    sha256 of manifest.json (the next bundle's "previous"). Nothing is left on error."""
    try:
        prepared = [_prepare(part) for part in parts]
    except OSError as err:
        raise BundleError(f"A blob for {_label(path)} cannot be read ({_why(err)}).") from None
    manifest = _manifest_for(header, [entry for entry, _, _ in prepared])
    data = _dumps(manifest)
    if len(data) > LIMITS.manifest_bytes:
        raise BundleError("The bundle's manifest would pass 1 MiB: split its parts over bundles.")
    _check_manifest(manifest, "The bundle to write", LIMITS)
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
        raise BundleError(f"{_label(path)} cannot be written ({_why(err)}).") from None
    return hashlib.sha256(data).hexdigest()


Prepared = tuple[dict[str, Any], bytes | Path, list[bytes] | None]


def _prepare(part: PartSpec) -> Prepared:
    """The part's manifest entry, where its bytes come from, and its NDJSON lines."""
    name = _shown(str(part.name))
    if part.type not in PART_TYPES:
        raise BundleError(f"Part {name} has an unknown type {_shown(str(part.type))}.")
    if part.type == "blob":
        return _prepare_blob(part)
    if part.records is None or part.data is not None or part.file is not None:
        raise BundleError(f"Part {name} of type {part.type} must be given as records only.")
    if not PART_NAME.fullmatch(part.name):
        raise BundleError(f"Part name {name} must be {NAME_RULE}.")
    try:
        lines = [_dumps(record) + b"\n" for record in part.records]
    except (TypeError, ValueError) as err:
        raise BundleError(f"Part {name} holds a record that is not JSON ({err}).") from None
    data = _compress(b"".join(lines))
    if len(data) > LIMITS.part_bytes:
        raise BundleError(f"Part {name} would pass {LIMITS.part_bytes} bytes: split it.")
    return _entry(part.name, part.type, len(lines), data, len(data)), data, lines


def _prepare_blob(part: PartSpec) -> Prepared:
    if part.records is not None or (part.data is None) == (part.file is None):
        raise BundleError(f"Blob {_shown(part.name)} must be given as data or as a file.")
    source: bytes | Path = part.data if part.data is not None else part.file  # type: ignore[assignment]
    size = len(source) if isinstance(source, bytes) else _file_size(source)
    entry = _entry(part.name, "blob", 0, source, size)
    if part.name and part.name != entry["sha256"]:
        shown = _shown(part.name)
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
        _check_records(manifest, entry, (json.loads(line) for line in lines))
    except rec.RecordError as err:
        raise BundleError(f"Part {entry['name']} cannot be written: {_clause(err)}.") from None


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
            yield view[start : start + chunk_size]  # type: ignore[misc]
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
        raise BundleError(f"The blob file {path} cannot be read ({_why(err)}).") from None


def _write_part(out: BinaryIO, entry: dict[str, Any], source: bytes | Path, mtime: int) -> None:
    name = _member_name(entry)
    out.write(_tar_header(name, entry["size"], mtime))
    digest = hashlib.sha256()
    for chunk in _pieces(source):
        digest.update(chunk)
        out.write(chunk)
    if digest.hexdigest() != entry["sha256"]:
        raise BundleError(f"The file behind blob {entry['name']} changed while it was written.")
    out.write(bytes(_padding(entry["size"])))


def _write_member(out: BinaryIO, name: str, data: bytes, mtime: int) -> None:
    out.write(_tar_header(name, len(data), mtime))
    out.write(data)
    out.write(bytes(_padding(len(data))))


def _tar_header(name: str, size: int, created_ms: int) -> bytes:
    header = bytearray(BLOCK)
    header[0 : len(name)] = name.encode("ascii")
    header[100:108] = b"0000644\0"
    header[108:116] = b"0000000\0"
    header[116:124] = b"0000000\0"
    header[124:136] = b"%011o\0" % size
    header[136:148] = b"%011o\0" % (max(created_ms, 0) // 1000)
    header[148:156] = b" " * 8
    header[156:157] = b"0"
    header[257:265] = b"ustar\x0000"
    header[148:156] = b"%06o\0 " % sum(header)
    return bytes(header)


def _padding(size: int) -> int:
    return -size % BLOCK


def _member_name(entry: dict[str, Any]) -> str:
    return f"blobs/{entry['name']}" if entry["type"] == "blob" else f"parts/{entry['name']}"


def _dumps(value: Any) -> bytes:
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    return text.encode("utf-8")


def _why(err: OSError) -> str:
    return err.strerror or str(err) or type(err).__name__


def bundle_name(manifest: dict[str, Any]) -> str:
    """The file name a bundle is stored under: sender, recipient, epoch, last seq or time."""
    seq = manifest.get("seq")
    last = seq["last"] if isinstance(seq, dict) else manifest["created"]
    return f"{manifest['sender']}-to-{manifest['recipient']}-{manifest['epoch']}-{last}{SUFFIX}"


# ---------------------------------------------------------------------------------- checking


def _check_manifest(manifest: dict[str, Any], label: str, limits: Limits) -> dict[str, Any]:
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


HUB_PARTS = ("events", "roster")
REPLY_PARTS = ("receipt", "roster", "packs", "blob")


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


# ---------------------------------------------------------------------------------- reading

TYPE_NAMES = {
    b"1": "a hard link",
    b"2": "a symbolic link",
    b"3": "a character device",
    b"4": "a block device",
    b"5": "a directory",
    b"6": "a FIFO",
    b"x": "a pax extended header",
    b"g": "a pax global header",
    b"L": "a GNU long name",
    b"K": "a GNU long link name",
}


class _TarReader:
    """Walks the tar strictly: checksummed ustar headers of regular files, in the order
    expected, zero padding, the end-of-archive marker, nothing after it but zeros."""

    def __init__(self, handle: BinaryIO, label: str, expected: list[str]) -> None:
        self.handle = handle
        self.label = label
        self.expected = expected
        self.seen: set[str] = set()
        self.offset = 0

    def refuse(self, reason: str) -> BundleError:
        return BundleError(f"{self.label} is refused: {reason}.")

    def read_exact(self, size: int, where: str) -> bytes:
        data = self.handle.read(size)
        self.offset += len(data)
        if len(data) < size:
            raise self.refuse(f"it is truncated (it ends inside {where})")
        return data

    def member(self, name: str, largest: int) -> int:
        """The size of the next member, which must be `name`."""
        block = self.read_exact(BLOCK, f"the tar header of {name}")
        if block == bytes(BLOCK):
            raise self.refuse(f"it is incomplete ({name} is missing)")
        found, size = self._parse_header(block)
        if found != name:
            raise self.refuse(self._misplaced(found, name))
        self.seen.add(found)
        if size > largest:
            raise self.refuse(f"{name} is larger than {largest} bytes")
        return size

    def _misplaced(self, found: str, wanted: str) -> str:
        if found in self.seen:
            return f"the member {found} appears twice"
        if found in self.expected:
            return f"its members are out of order ({found} comes where {wanted} should)"
        return f"it holds an unexpected member {found}"

    def _parse_header(self, block: bytes) -> tuple[str, int]:
        where = f"the tar header at byte {self.offset - BLOCK}"
        stored, size = _octal(block[148:156]), _octal(block[124:136])
        if stored is None or size is None:
            raise self.refuse(f"{where} is damaged")
        if stored != sum(block[:148]) + 32 * 8 + sum(block[156:]):
            raise self.refuse(f"{where} is damaged (its checksum does not match)")
        if block[257:265] != b"ustar\x0000":
            raise self.refuse(f"{where} is not a POSIX ustar header")
        name = self._name(block, where)
        kind = block[156:157]
        if kind not in (b"0", b"\0"):
            what = TYPE_NAMES.get(kind, "not a regular file")
            raise self.refuse(f"the member {name} is {what}, which a bundle never holds")
        return name, size

    def _name(self, block: bytes, where: str) -> str:
        prefix = block[345:500].split(b"\0", 1)[0]
        base = block[0:100].split(b"\0", 1)[0]
        try:
            name = _shown((prefix + b"/" + base if prefix else base).decode("utf-8"))
        except UnicodeDecodeError:
            raise self.refuse(f"{where} names a member in bytes that are not text") from None
        if name.startswith("/"):
            raise self.refuse(f"the member {name} has an absolute path")
        if ".." in name.split("/"):
            raise self.refuse(f"the member {name} points outside the bundle")
        return name

    def data(self, name: str, size: int, chunk_size: int = CHUNK_SIZE) -> Iterator[bytes]:
        """The member's bytes in chunk_size pieces, then its padding (which must be zero)."""
        left = size
        while left:
            piece = self.read_exact(min(chunk_size, left), name)
            left -= len(piece)
            yield piece
        if self.read_exact(_padding(size), f"the tar padding after {name}").strip(b"\0"):
            raise self.refuse(f"the tar padding after {name} is not zero")

    def end(self) -> None:
        block = self.read_exact(BLOCK, "the end-of-archive marker")
        if block != bytes(BLOCK):
            found, _ = self._parse_header(block)
            raise self.refuse(self._misplaced(found, "the end of the archive"))
        if self.read_exact(BLOCK, "the end-of-archive marker") != bytes(BLOCK):
            raise self.refuse("its end-of-archive marker is damaged")
        # Tar tools pad an archive to their record size (10 KiB by default): zeros only.
        trailer = self.handle.read(MAX_TRAILER + 1)
        if len(trailer) > MAX_TRAILER or trailer.strip(b"\0"):
            raise self.refuse("it has data after the end of the archive")


def _octal(field: bytes) -> int | None:
    """A ustar number: octal digits, ended by NUL or space; None for anything else."""
    digits = field.rstrip(b"\0 ")
    return int(digits, 8) if OCTAL.fullmatch(digits) else None


def _clause(err: Exception) -> str:
    """A one-sentence error as a clause inside another sentence."""
    return str(err).rstrip(".")


def _shown(name: str) -> str:
    """A member name fit for a one-line message, whatever bytes it holds."""
    cleaned = "".join(c if c.isprintable() else "?" for c in name)
    return cleaned if len(cleaned) <= 100 else cleaned[:100] + "..."


def _label(path: Path) -> str:
    return f"Bundle {_shown(path.name)}"


def _open(path: Path) -> BinaryIO:
    """The file for reading; never blocks on a FIFO or reads a device a stick could hold."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except OSError as err:
        raise BundleError(f"{_label(path)} cannot be opened ({_why(err)}).") from None
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise BundleError(f"{_label(path)} is refused: it is not a regular file.")
    return os.fdopen(fd, "rb")


def _read_manifest(tar: _TarReader, limits: Limits) -> tuple[bytes, dict[str, Any]]:
    """manifest.json's exact bytes and its JSON, after checking it is this format."""
    size = tar.member(MANIFEST, limits.manifest_bytes)
    data = b"".join(tar.data(MANIFEST, size))
    try:
        manifest = json.loads(data, parse_constant=_no_constant)
    except (UnicodeDecodeError, ValueError, RecursionError):  # RecursionError: hostile nesting
        raise tar.refuse("its manifest.json is not valid JSON") from None
    if not isinstance(manifest, dict):
        raise tar.refuse("its manifest.json is not a JSON object")
    if manifest.get("format") != FORMAT:
        shown = _shown(str(manifest.get("format")))[:60]
        raise tar.refuse(f"its format {shown} is not {FORMAT}, the one this version reads")
    return data, manifest


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def peek(path: Path) -> dict[str, Any]:
    """The manifest WITHOUT checking the signature: to learn who sent it before finding the
    sender's key. Its fields are well formed; nothing else about it can be trusted yet."""
    with _open(path) as handle:
        tar = _TarReader(handle, _label(path), [MANIFEST, SIGNATURE])
        _, manifest = _read_manifest(tar, LIMITS)
    return _check_manifest(manifest, _label(path), LIMITS)


def read_bundle(path: Path, public_key: bytes, limits: Limits = LIMITS) -> Bundle:
    """The bundle, once everything in it is verified against the sender's public key."""
    label = _label(path)
    with _open(path) as handle:
        tar = _TarReader(handle, label, [MANIFEST, SIGNATURE])
        data, manifest = _read_manifest(tar, limits)
        size = tar.member(SIGNATURE, SIGNATURE_BYTES)
        signature = b"".join(tar.data(SIGNATURE, size))
        if size != SIGNATURE_BYTES or not verify(public_key, signature, data):
            raise tar.refuse("its signature does not match the sender's key")
        _check_manifest(manifest, label, limits)
        tar.expected += [_member_name(entry) for entry in manifest["parts"]]
        offsets = {}
        for entry in manifest["parts"]:
            offsets[entry["name"]] = _verify_part(tar, manifest, entry, limits)
        tar.end()
    return Bundle(manifest, hashlib.sha256(data).hexdigest(), path, offsets, limits)


def _verify_part(
    tar: _TarReader, manifest: dict[str, Any], entry: dict[str, Any], limits: Limits
) -> int:
    """Check one part in the tar: size, hashes, records. Returns where its bytes start."""
    name = _member_name(entry)
    size = tar.member(name, entry["size"])
    if size != entry["size"]:
        raise tar.refuse(f"{name} is {size} bytes, not the {entry['size']} of its manifest")
    start = tar.offset
    pieces = _checked_chunks(tar.data(name, size, entry["chunk_size"]), entry, tar.refuse)
    if entry["type"] == "blob":
        for _ in pieces:
            pass
        return start
    decoder = _Decoder(entry, limits, tar.refuse)
    lines = (line for piece in pieces for line in decoder.feed(piece))
    try:
        _check_records(manifest, entry, itertools.chain(lines, decoder.finish()))
    except rec.RecordError as err:
        raise tar.refuse(f"part {entry['name']} is bad ({_clause(err)})") from None
    return start


def _checked_chunks(
    pieces: Iterable[bytes], entry: dict[str, Any], refuse: Callable[[str], BundleError]
) -> Iterator[bytes]:
    """The pieces, each checked against its chunk hash, then the whole against sha256."""
    whole = hashlib.sha256()
    for index, piece in enumerate(pieces):
        if hashlib.sha256(piece).hexdigest() != entry["chunks"][index]:
            raise refuse(f"chunk {index} of {_member_name(entry)} does not match its hash")
        whole.update(piece)
        yield piece
    if whole.hexdigest() != entry["sha256"]:
        raise refuse(f"{_member_name(entry)} does not match its sha256")


class _Decoder:
    """xz NDJSON to JSON values, within the size, ratio and line limits (a bomb stops early)."""

    def __init__(
        self, entry: dict[str, Any], limits: Limits, refuse: Callable[[str], BundleError]
    ) -> None:
        self.name = _member_name(entry)
        self.refuse = refuse
        self.limits = limits
        self.xz = lzma.LZMADecompressor(format=lzma.FORMAT_XZ, memlimit=XZ_MEMLIMIT)
        ratio_cap = max(limits.ratio * entry["size"], limits.ratio_floor)
        self.ceiling = min(limits.decoded_bytes, ratio_cap)
        self.decoded = 0
        self.pending = b""

    def feed(self, piece: bytes) -> Iterator[Any]:
        data = piece
        while not self.xz.eof:
            try:
                out = self.xz.decompress(data, max_length=CHUNK_SIZE * 4)
            except lzma.LZMAError as err:
                if "memory" in str(err).lower():
                    raise self.refuse(f"{self.name} needs too much memory to decompress") from None
                raise self.refuse(f"{self.name} is not a valid xz stream") from None
            data = b""
            yield from self._lines(out)
            if self.xz.needs_input:
                return
        if self.xz.unused_data or data:
            raise self.refuse(f"{self.name} has bytes after its xz stream")

    def _lines(self, out: bytes) -> Iterator[Any]:
        self.decoded += len(out)
        if self.decoded > self.ceiling:
            raise self.refuse(f"{self.name} decompresses to more than {self.ceiling} bytes")
        *complete, self.pending = (self.pending + out).split(b"\n")
        for line in (*complete, self.pending):
            if len(line) > self.limits.line_bytes:
                limit = self.limits.line_bytes
                raise self.refuse(f"{self.name} has a record longer than {limit} bytes")
        for line in complete:
            yield self._parse(line)

    def _parse(self, line: bytes) -> Any:
        try:
            return json.loads(line, parse_constant=_no_constant)
        except (UnicodeDecodeError, ValueError, RecursionError):  # hostile nesting
            raise self.refuse(f"{self.name} has a line that is not JSON") from None

    def finish(self) -> Iterator[Any]:
        """Nothing more, once the stream is complete (a generator, so it checks when drawn)."""
        if not self.xz.eof:
            raise self.refuse(f"{self.name} ends inside its xz stream")
        if self.pending:
            raise self.refuse(f"{self.name} does not end with a newline")
        yield from ()


def _check_records(manifest: dict[str, Any], entry: dict[str, Any], values: Iterable[Any]) -> None:
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
        check = rec.CHECKS[entry["type"]]
        for value in values:
            check(value)
            count += 1
    if count != entry["records"]:
        raise rec.RecordError(f"it holds {count} records, not the {entry['records']} announced")
    if entry["type"] == "receipt" and count != 1:
        raise rec.RecordError("a receipt part holds exactly one record")


def _file_chunks(handle: BinaryIO, size: int, chunk_size: int) -> Iterator[bytes]:
    left = size
    while left:
        piece = handle.read(min(chunk_size, left))
        if not piece:
            return  # shorter than verified: the chunk or sha256 check says so
        left -= len(piece)
        yield piece


@dataclass
class Bundle:
    """A verified bundle. Reads go back to the file and re-check every chunk's hash."""

    manifest: dict[str, Any]
    bundle_id: str  # sha256 of manifest.json
    path: Path
    offsets: dict[str, int] = field(default_factory=dict, repr=False)
    limits: Limits = field(default=LIMITS, repr=False)

    def parts_of_type(self, type: str) -> list[dict[str, Any]]:
        return [entry for entry in self.manifest["parts"] if entry["type"] == type]

    def part(self, name: str) -> dict[str, Any]:
        for entry in self.manifest["parts"]:
            if entry["name"] == name:
                return entry
        raise BundleError(f"{_label(self.path)} has no part {_shown(name)}.")

    def records(self, name: str) -> Iterator[Any]:
        """The decoded NDJSON values of a part (events: feed them to decode_events)."""
        entry = self.part(name)
        if entry["type"] == "blob":
            raise BundleError(f"{_label(self.path)}: {name} is a blob, not records.")
        decoder = _Decoder(entry, self.limits, self._refuse)
        for piece in self._chunks(entry):
            yield from decoder.feed(piece)
        yield from decoder.finish()

    def events(self) -> Iterator[rec.EventRow]:
        """Every event of every events part, in the order they were written."""
        for entry in self.parts_of_type("events"):
            yield from rec.decode_events(self.records(entry["name"]))

    def blob(self, sha256: str) -> bytes:
        return b"".join(self._chunks(self._blob_entry(sha256)))

    def save_blob(self, sha256: str, dest: Path) -> None:
        """Copy a blob to `dest` (created; removed again if anything fails)."""
        entry = self._blob_entry(sha256)
        try:
            with open(dest, "xb") as out:
                for piece in self._chunks(entry):
                    out.write(piece)
        except BaseException:
            dest.unlink(missing_ok=True)
            raise

    def _blob_entry(self, sha256: str) -> dict[str, Any]:
        entry = self.part(sha256)
        if entry["type"] != "blob":
            raise BundleError(f"{_label(self.path)}: {_shown(sha256)} is not a blob.")
        return entry

    def _chunks(self, entry: dict[str, Any]) -> Iterator[bytes]:
        with _open(self.path) as handle:
            handle.seek(self.offsets[entry["name"]])
            pieces = _file_chunks(handle, entry["size"], entry["chunk_size"])
            yield from _checked_chunks(pieces, entry, self._refuse)

    def _refuse(self, reason: str) -> BundleError:
        return BundleError(f"{_label(self.path)} changed after it was verified: {reason}.")


# ------------------------------------------------------------------------------- USB folders

SYNC_FOLDER = "learnhub-sync"  # on a USB stick: DIR/learnhub-sync/*.lhb, both directions


def sync_folder(path: Path) -> Path:
    """Where bundles go on a stick or folder: DIR/learnhub-sync (not created here)."""
    return path if path.name == SYNC_FOLDER else path / SYNC_FOLDER


def bundles_in(path: Path) -> list[Path]:
    """The bundle files a user pointed at: a file itself, else every *.lhb in
    DIR/learnhub-sync/ and DIR, in name order with the last number compared as a number."""
    if path.is_file():
        return [path]
    folders = [path, sync_folder(path)] if path.name != SYNC_FOLDER else [path]
    found = {p for folder in folders if folder.is_dir() for p in folder.glob(f"*{SUFFIX}")}
    return sorted((p for p in found if p.is_file()), key=_name_order)


def _name_order(path: Path) -> tuple[str, int, str]:
    stem, _, last = path.stem.rpartition("-")
    return (stem, int(last), "") if last.isdigit() else (path.stem, -1, path.name)

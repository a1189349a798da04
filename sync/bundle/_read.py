"""Reading a bundle: `peek` at its manifest, or `read_bundle` to verify all of it; the verified
`Bundle` then re-checks every chunk hash it streams back from the file."""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from sync import records as rec
from sync.bundle._decode import Decoder, checked_chunks, no_constant
from sync.bundle._format import (
    FORMAT,
    LIMITS,
    MANIFEST,
    SIGNATURE,
    SIGNATURE_BYTES,
    BundleError,
    Limits,
    clause,
    label_of,
    member_name,
    printable,
    why,
)
from sync.bundle._manifest import check_manifest, check_records
from sync.bundle._tar import TarReader
from sync.identity import verify


def _open(path: Path) -> BinaryIO:
    """The file for reading; never blocks on a FIFO or reads a device a stick could hold."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except OSError as err:
        raise BundleError(f"{label_of(path)} cannot be opened ({why(err)}).") from None
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise BundleError(f"{label_of(path)} is refused: it is not a regular file.")
    return os.fdopen(fd, "rb")


def _read_manifest(tar: TarReader, limits: Limits) -> tuple[bytes, dict[str, Any]]:
    """manifest.json's exact bytes and its JSON, after checking it is this format."""
    size = tar.member(MANIFEST, limits.manifest_bytes)
    data = b"".join(tar.data(MANIFEST, size))
    try:
        manifest = json.loads(data, parse_constant=no_constant)
    except (UnicodeDecodeError, ValueError, RecursionError):  # RecursionError: hostile nesting
        raise tar.refuse("its manifest.json is not valid JSON") from None
    if not isinstance(manifest, dict):
        raise tar.refuse("its manifest.json is not a JSON object")
    if manifest.get("format") != FORMAT:
        shown = printable(str(manifest.get("format")))[:60]
        raise tar.refuse(f"its format {shown} is not {FORMAT}, the one this version reads")
    return data, manifest


def peek(path: Path) -> dict[str, Any]:
    """The manifest WITHOUT checking the signature: to learn who sent it before finding the
    sender's key. Its fields are well formed; nothing else about it can be trusted yet."""
    with _open(path) as handle:
        tar = TarReader(handle, label_of(path), [MANIFEST, SIGNATURE])
        _, manifest = _read_manifest(tar, LIMITS)
    return check_manifest(manifest, label_of(path), LIMITS)


def read_bundle(path: Path, public_key: bytes, limits: Limits = LIMITS) -> Bundle:
    """The bundle, once everything in it is verified against the sender's public key."""
    label = label_of(path)
    with _open(path) as handle:
        tar = TarReader(handle, label, [MANIFEST, SIGNATURE])
        data, manifest = _read_manifest(tar, limits)
        size = tar.member(SIGNATURE, SIGNATURE_BYTES)
        signature = b"".join(tar.data(SIGNATURE, size))
        if size != SIGNATURE_BYTES or not verify(public_key, signature, data):
            raise tar.refuse("its signature does not match the sender's key")
        check_manifest(manifest, label, limits)
        tar.expected += [member_name(entry) for entry in manifest["parts"]]
        offsets = {}
        for entry in manifest["parts"]:
            offsets[entry["name"]] = _verify_part(tar, manifest, entry, limits)
        tar.end()
    return Bundle(manifest, hashlib.sha256(data).hexdigest(), path, offsets, limits)


def _verify_part(
    tar: TarReader, manifest: dict[str, Any], entry: dict[str, Any], limits: Limits
) -> int:
    """Check one part in the tar: size, hashes, records. Returns where its bytes start."""
    name = member_name(entry)
    size = tar.member(name, entry["size"])
    if size != entry["size"]:
        raise tar.refuse(f"{name} is {size} bytes, not the {entry['size']} of its manifest")
    start = tar.offset
    pieces = checked_chunks(tar.data(name, size, entry["chunk_size"]), entry, tar.refuse)
    if entry["type"] == "blob":
        for _ in pieces:
            pass
        return start
    decoder = Decoder(entry, limits, tar.refuse)
    lines = (line for piece in pieces for line in decoder.feed(piece))
    try:
        check_records(manifest, entry, itertools.chain(lines, decoder.finish()))
    except rec.RecordError as err:
        raise tar.refuse(f"part {entry['name']} is bad ({clause(err)})") from None
    return start


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
        raise BundleError(f"{label_of(self.path)} has no part {printable(name)}.")

    def records(self, name: str) -> Iterator[Any]:
        """The decoded NDJSON values of a part (events: feed them to decode_events)."""
        entry = self.part(name)
        if entry["type"] == "blob":
            raise BundleError(f"{label_of(self.path)}: {name} is a blob, not records.")
        decoder = Decoder(entry, self.limits, self._refuse)
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
            raise BundleError(f"{label_of(self.path)}: {printable(sha256)} is not a blob.")
        return entry

    def _chunks(self, entry: dict[str, Any]) -> Iterator[bytes]:
        with _open(self.path) as handle:
            handle.seek(self.offsets[entry["name"]])
            pieces = _file_chunks(handle, entry["size"], entry["chunk_size"])
            yield from checked_chunks(pieces, entry, self._refuse)

    def _refuse(self, reason: str) -> BundleError:
        return BundleError(f"{label_of(self.path)} changed after it was verified: {reason}.")

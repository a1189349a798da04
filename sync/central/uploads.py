"""Resumable uploads of hub bundles: chunks appended in order to a file under the data dir.

A hub announces the size and sha256, then sends chunks that must start exactly where the
file ends (`received`); a link that drops resumes from there. Finishing checks the sha256.
Uploads are bounded (size, chunk, how many are open) and swept when a day old; a finished
one keeps its answer for that day, so a hub that lost the reply to `finish` gets it again.
Each upload belongs to the hub that opened it (the API checks its signed request): a hub
has a few slots and a byte quota of its own, so one hub cannot take every slot or fill the
disk, and opening the same file again gives the same upload rather than a new slot.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from content import durable
from content.blobstore import hash_file
from sync.central.errors import CentralError

UPLOAD_ID = re.compile(r"[0-9a-f]{32}")
SHA256 = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True)
class UploadLimits:
    max_bytes: int = 512 * 1024 * 1024  # one hub bundle (progress and roster, no content)
    max_chunk: int = 8 * 1024 * 1024
    max_open: int = 64
    max_open_per_hub: int = 4
    max_bytes_per_hub: int = 1024 * 1024 * 1024  # announced sizes of a hub's open uploads
    max_age: float = 24 * 3600.0  # seconds before an unfinished or finished upload is swept


class OffsetConflict(CentralError):
    """A chunk that does not start where the upload ends; carries where it does end."""

    def __init__(self, received: int) -> None:
        super().__init__(
            f"This chunk does not start at byte {received}, where the upload stands; "
            "resume from there.",
            status=409,
            code="wrong_offset",
        )
        self.received = received


class UploadStore:
    def __init__(self, root: Path, limits: UploadLimits = UploadLimits()) -> None:
        self.root = root
        self.limits = limits
        self._lock = threading.Lock()
        self._locks: dict[str, threading.Lock] = {}

    def create(self, size: Any, sha256: Any, hub_id: str) -> dict[str, Any]:
        """Start an upload of `size` bytes whose sha256 is `sha256` for `hub_id`, or give the
        hub's open upload of that very file."""
        if isinstance(size, bool) or not isinstance(size, int) or size <= 0:
            raise CentralError("size must be a positive whole number of bytes.", code="bad_size")
        if size > self.limits.max_bytes:
            raise CentralError(
                f"A bundle may be at most {self.limits.max_bytes} bytes; this one is {size}.",
                status=413,
                code="too_large",
            )
        if not isinstance(sha256, str) or not SHA256.fullmatch(sha256):
            raise CentralError("sha256 must be 64 lower-case hex digits.", code="bad_sha256")
        self.root.mkdir(parents=True, exist_ok=True)
        with self._lock:
            self.sweep()
            open_ids = self._open_ids()
            mine = {
                i: m for i in open_ids if (m := self._meta_or_none(i)) and m.get("hub") == hub_id
            }
            for upload_id, meta in mine.items():
                if meta["sha256"] == sha256 and meta["size"] == size:
                    return {"upload_id": upload_id, "received": self._received(upload_id)}
            self._check_room(len(open_ids), mine, size)
            upload_id = secrets.token_hex(16)
            meta = {"size": size, "sha256": sha256, "hub": hub_id, "created": time.time()}
            durable.write_text(self._meta_path(upload_id), json.dumps(meta))
            self._part_path(upload_id).touch()
        return {"upload_id": upload_id, "received": 0}

    def _check_room(self, open_count: int, mine: dict[str, dict[str, Any]], size: int) -> None:
        if len(mine) >= self.limits.max_open_per_hub:
            raise CentralError(
                f"This hub has {len(mine)} uploads open already; finish them, or wait a day "
                "for them to expire.",
                status=429,
                code="too_many_hub_uploads",
            )
        if sum(meta["size"] for meta in mine.values()) + size > self.limits.max_bytes_per_hub:
            raise CentralError(
                f"This hub's open uploads would pass its quota of {self.limits.max_bytes_per_hub}"
                " bytes; finish them first.",
                status=413,
                code="hub_quota",
            )
        if open_count >= self.limits.max_open:
            raise CentralError(
                "Too many uploads are in progress; try again in a few minutes.",
                status=503,
                code="too_many_uploads",
            )

    def owner(self, upload_id: str) -> str | None:
        """The hub that opened the upload (404 for an unknown one)."""
        return self._meta(upload_id).get("hub")

    def status(self, upload_id: str) -> dict[str, Any]:
        done = self._done(upload_id)
        if done is not None:
            return {"received": self._meta(upload_id)["size"], "finished": True}
        self._meta(upload_id)
        return {"received": self._received(upload_id), "finished": False}

    def append(self, upload_id: str, content_range: str | None, body: bytes) -> int:
        """Add one chunk; returns the bytes received so far. OffsetConflict (409) when the
        chunk does not start at the end of what is already here."""
        meta = self._meta(upload_id)
        start, end, total = _parse_range(content_range)
        if total != meta["size"]:
            raise CentralError(
                f"Content-Range says the bundle has {total} bytes; the upload announced "
                f"{meta['size']}.",
                code="bad_range",
            )
        if len(body) != end - start + 1:
            raise CentralError(
                f"The chunk holds {len(body)} bytes but Content-Range names {end - start + 1}.",
                code="bad_range",
            )
        if len(body) > self.limits.max_chunk:
            raise CentralError(
                f"A chunk may be at most {self.limits.max_chunk} bytes.",
                status=413,
                code="chunk_too_large",
            )
        with self._upload_lock(upload_id):
            if self._done(upload_id) is not None:
                raise OffsetConflict(meta["size"])
            received = self._received(upload_id)
            if start != received:
                raise OffsetConflict(received)
            with open(self._part_path(upload_id), "ab") as out:
                out.write(body)
                out.flush()
                os.fsync(out.fileno())
            return received + len(body)

    def complete_file(self, upload_id: str) -> Path:
        """The uploaded file, once it is whole and matches its sha256 (else it is dropped)."""
        meta = self._meta(upload_id)
        path = self._part_path(upload_id)
        received = self._received(upload_id)
        if received != meta["size"]:
            raise CentralError(
                f"The upload has {received} of {meta['size']} bytes; send the rest first.",
                status=409,
                code="incomplete",
            )
        if hash_file(path) != meta["sha256"]:
            self.discard(upload_id)
            raise CentralError(
                "The uploaded bytes do not match their sha256; the upload was dropped, "
                "start it again.",
                code="sha256_mismatch",
            )
        return path

    def finished(self, upload_id: str, answer: dict[str, Any]) -> None:
        """Keep the answer to `finish` (for a repeated call) and drop the bytes."""
        durable.write_text(self._done_path(upload_id), json.dumps(answer))
        self._part_path(upload_id).unlink(missing_ok=True)

    def answer(self, upload_id: str) -> dict[str, Any] | None:
        self._meta(upload_id)
        return self._done(upload_id)

    def discard(self, upload_id: str) -> None:
        for path in (self._part_path(upload_id), self._done_path(upload_id)):
            path.unlink(missing_ok=True)
        self._meta_path(upload_id).unlink(missing_ok=True)
        self._locks.pop(upload_id, None)

    def sweep(self, now: float | None = None) -> int:
        """Remove uploads older than max_age, finished or not; returns how many."""
        now = time.time() if now is None else now
        removed = 0
        for meta_path in self.root.glob("*.json"):
            upload_id = meta_path.name.split(".")[0]
            if not UPLOAD_ID.fullmatch(upload_id) or meta_path.name.endswith(".done.json"):
                continue
            try:
                created = json.loads(meta_path.read_text(encoding="utf-8"))["created"]
            except (OSError, ValueError, KeyError):
                created = 0
            if now - created > self.limits.max_age:
                self.discard(upload_id)
                removed += 1
        return removed

    def _open_ids(self) -> list[str]:
        return [p.name.removesuffix(".part") for p in self.root.glob("*.part")]

    def _meta(self, upload_id: str) -> dict[str, Any]:
        if not UPLOAD_ID.fullmatch(upload_id):
            raise _unknown()
        try:
            return json.loads(self._meta_path(upload_id).read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise _unknown() from None

    def _meta_or_none(self, upload_id: str) -> dict[str, Any] | None:
        try:
            return self._meta(upload_id)
        except (CentralError, ValueError):
            return None  # swept or half written meanwhile: not an upload to count

    def _done(self, upload_id: str) -> dict[str, Any] | None:
        try:
            return json.loads(self._done_path(upload_id).read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None

    def _received(self, upload_id: str) -> int:
        try:
            return self._part_path(upload_id).stat().st_size
        except FileNotFoundError:
            raise _unknown() from None

    def _upload_lock(self, upload_id: str) -> threading.Lock:
        with self._lock:
            return self._locks.setdefault(upload_id, threading.Lock())

    def _meta_path(self, upload_id: str) -> Path:
        return self.root / f"{upload_id}.json"

    def _part_path(self, upload_id: str) -> Path:
        return self.root / f"{upload_id}.part"

    def _done_path(self, upload_id: str) -> Path:
        return self.root / f"{upload_id}.done.json"


def _unknown() -> CentralError:
    return CentralError(
        "No such upload (it may have expired after a day); start a new one.",
        status=404,
        code="unknown_upload",
    )


RANGE = re.compile(r"bytes (\d+)-(\d+)/(\d+)")


def _parse_range(header: str | None) -> tuple[int, int, int]:
    found = RANGE.fullmatch((header or "").strip())
    if not found:
        raise CentralError(
            "Each chunk needs a header Content-Range: bytes FIRST-LAST/TOTAL.", code="bad_range"
        )
    start, end, total = (int(group) for group in found.groups())
    if not start <= end < total:
        raise CentralError("Content-Range must satisfy FIRST <= LAST < TOTAL.", code="bad_range")
    return start, end, total

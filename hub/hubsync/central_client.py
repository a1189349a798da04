"""Talking to central over HTTP: chunked, resumable uploads of the outbox and the reply back.

Upload protocol (central's /api/sync/uploads): POST {"size", "sha256"} opens an upload;
each PUT carries "Content-Range: bytes a-b/total" and must start exactly at what central
acknowledged (409 tells the right offset); GET tells the offset after a cut; POST .../finish
verifies and applies the bundle and answers a signed receipt and the reply's URL. A link that
drops mid-upload costs at most the chunk in flight: the upload id is kept in the database, so
the next attempt (even after a restart) asks central where it stands and goes on from there.

The reply comes down through the hub's one resumable downloader (hub.core.download): resumed
with Range, its Content-Range checked, capped by `sync_reply_max_bytes`, renamed into place
whole. Pushing (hubsync.push), the bandwidth cap (hubsync.bandwidth) and the background
thread (hubsync.background) use this client.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

from content.blobstore import hash_file
from content.source import size_text
from hub.core.bounded_http import Bounds, Exchange, LinkFailed, TransferError, default_config
from hub.core.download import (
    Cut,
    NoRoom,
    Oversized,
    Pace,
    Refused,
    Target,
    Unsized,
    download,
)
from hub.hubsync.bandwidth import Bandwidth, stored_bandwidth
from hub.hubsync.service import SyncError, SyncService
from sync.identity import KeyPair
from sync.request_auth import signed_headers

CHUNK_SIZE = 256 * 1024


class ReplyGone(SyncError):
    """Central no longer has the reply a partial download was for."""


class ReplyRefused(SyncError):
    """Central's reply is over this hub's limits; it is not kept for resuming."""


class NotEnrolled(SyncError):
    """Central does not know this hub (yet)."""


# --- HTTP --------------------------------------------------------------------------------


@dataclass
class Counters:
    sent: int = 0  # request body bytes
    received: int = 0  # response body bytes of downloads
    requests: int = 0


class CentralClient:
    """The upload/download protocol against one central URL, on plain http.client; every
    answer read through a bounded exchange (hub.core.bounded_http)."""

    def __init__(
        self,
        base_url: str,
        bandwidth: Bandwidth | None = None,
        *,
        chunk_size: int = CHUNK_SIZE,
        bounds: Bounds | None = None,
        reply_max_bytes: int | None = None,
        timeout: float | None = None,
        keys: KeyPair | None = None,
    ) -> None:
        """`timeout` shortens the time any one answer may take (a quick probe); with `keys`,
        every call is signed as this hub (central refuses unsigned sync calls)."""
        parts = urlsplit(base_url.strip())
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise SyncError(f"{base_url!r} is not a central server address (http://...).")
        self.base_url = base_url.strip().rstrip("/") + "/"
        self.parts = parts
        self.bandwidth = bandwidth or Bandwidth()
        self.chunk_size = chunk_size
        self.bounds = (bounds or Bounds.defaults()).within(timeout)
        self.reply_max_bytes = reply_max_bytes or default_config().sync_reply_max_bytes
        self.keys = keys
        self.counters = Counters()

    @classmethod
    def for_service(
        cls, service: SyncService, url: str, bandwidth: Bandwidth | None = None, **options: Any
    ) -> CentralClient:
        """A client bounded by the hub's settings (a paced link lowers the slowest rate)."""
        bandwidth = bandwidth or stored_bandwidth(service)
        return cls(
            url,
            bandwidth,
            bounds=Bounds.of(service.config, slowest=bandwidth.per_second),
            reply_max_bytes=service.config.sync_reply_max_bytes,
            keys=service.keys,
            **options,
        )

    # plumbing

    def _exchange(self) -> Exchange:
        self.counters.requests += 1
        return Exchange(self.parts, self.bounds, f"Central at {self.base_url.rstrip('/')}")

    def _signature(self, method: str, path: str, body: bytes = b"") -> dict[str, str]:
        if self.keys is None:
            return {}
        return signed_headers(self.keys, method, self._path(path), body)

    def _path(self, path: str) -> str:
        return urlsplit(urljoin(self.base_url, path.lstrip("/"))).path

    def _call(
        self,
        method: str,
        path: str,
        body: Any = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, dict[str, Any]]:
        """One request; its JSON answer (capped). Failures become one SyncError sentence."""
        # A chunk's bytes are not signed: the whole file's sha256, checked on finish, is.
        signed = body if isinstance(body, bytes) else b""
        headers = {**(headers or {}), **self._signature(method, path, signed)}
        try:
            with _as_sync_errors(), self._exchange() as exchange:
                response = exchange.request(method, self._path(path), body, headers)
                data = exchange.read_json_bytes(response, "one answer")
        finally:
            self.bandwidth.flush()
        return response.status, _json(data)

    def _json_call(self, method: str, path: str, doc: Any) -> tuple[int, dict[str, Any]]:
        data = json.dumps(doc).encode()
        headers = {"Content-Type": "application/json", "Content-Length": str(len(data))}
        self.bandwidth.take(len(data))
        self.counters.sent += len(data)
        return self._call(method, path, data, headers)

    def healthz(self) -> bool:
        try:
            status, _ = self._call("GET", "/healthz")
        except SyncError:
            return False
        return status == 200

    def join(self, identity: dict[str, Any]) -> str:
        """Ask central to enrol this hub; its status ("pending" until staff approve it)."""
        status, doc = self._json_call("POST", "/api/sync/join", identity)
        if status not in (200, 202):
            raise SyncError(_refusal("Central refused this hub's request to join", status, doc))
        return str(doc.get("status", "pending"))

    def identity(self) -> dict[str, Any]:
        status, doc = self._call("GET", "/api/sync/identity")
        if status != 200:
            raise SyncError(f"Central did not give its identity (HTTP {status}).")
        return doc

    # upload

    def upload(
        self,
        path: Path,
        upload_id: str | None,
        remember: Callable[[str], None],
        hub_id: str | None = None,
    ) -> dict:
        """Upload one bundle, resuming `upload_id` when central still has it; returns
        central's answer to finish ({"receipt", "reply_url"})."""
        size = path.stat().st_size
        received = self._resume(upload_id) if upload_id else None
        if received is None:
            upload_id, received = self._open(path, size, hub_id)
            remember(upload_id)
        assert upload_id is not None
        while received < size:
            received = self._put(path, upload_id, received, size)
        status, answer = self._call("POST", f"/api/sync/uploads/{upload_id}/finish")
        if status != 200:
            raise SyncError(_refusal("Central refused the bundle", status, answer))
        return answer

    def _resume(self, upload_id: str) -> int | None:
        status, doc = self._call("GET", f"/api/sync/uploads/{upload_id}")
        if status == 404:
            return None
        if status != 200 or not isinstance(doc.get("received"), int):
            raise SyncError(_refusal("Central did not say how much it has", status, doc))
        return doc["received"]

    def _open(self, path: Path, size: int, hub_id: str | None) -> tuple[str, int]:
        doc: dict[str, Any] = {"size": size, "sha256": hash_file(path)}
        if hub_id:
            doc["hub_id"] = hub_id  # lets central refuse an unknown hub before the bytes go
        status, doc = self._json_call("POST", "/api/sync/uploads", doc)
        if status == 403 and _error_code(doc) == "unknown_hub":
            raise NotEnrolled(_refusal("Central does not know this hub", status, doc))
        if status not in (200, 201) or not isinstance(doc.get("upload_id"), str):
            raise SyncError(_refusal("Central refused the upload", status, doc))
        return doc["upload_id"], int(doc.get("received", 0))

    def _put(self, path: Path, upload_id: str, start: int, size: int) -> int:
        """Send one chunk from `start`; returns what central acknowledges."""
        length = min(self.chunk_size, size - start)
        headers = {
            "Content-Type": "application/octet-stream",
            "Content-Length": str(length),
            "Content-Range": f"bytes {start}-{start + length - 1}/{size}",
        }
        self.bandwidth.check_room(length)  # a chunk cut by the allowance would be wasted
        body = self._paced(path, start, length)
        status, doc = self._call("PUT", f"/api/sync/uploads/{upload_id}", body, headers)
        received = doc.get("received")
        if status == 409 and not isinstance(received, int):
            received = self._resume(upload_id)  # central says where it stands
        if status in (200, 201, 409) and isinstance(received, int) and 0 <= received <= size:
            return received
        raise SyncError(_refusal("Central refused part of the upload", status, doc))

    def _paced(self, path: Path, start: int, length: int) -> Iterator[bytes]:
        with open(path, "rb") as handle:
            handle.seek(start)
            left = length
            while left:
                piece = handle.read(min(self.bandwidth.piece, left))
                if not piece:
                    return
                self.bandwidth.take(len(piece))
                self.counters.sent += len(piece)
                left -= len(piece)
                yield piece

    # download

    def download(self, url: str, dest: Path) -> Path:
        """Fetch the reply at `url` into `dest`: a partial `dest.part` is resumed with Range,
        at most `reply_max_bytes` in all."""
        target = Target(dest, max_bytes=self.reply_max_bytes)
        with _as_sync_errors(), _reply_errors(target):
            self.fetch(url, target)
        return dest

    def fetch(self, url: str, target: Target) -> int:
        """Fetch `url` into `target` with the hub's one resumable downloader (hub.core.download),
        signed and paced by the bandwidth cap; returns the bytes that crossed the network.
        The downloader's errors (and DailyLimitReached) go to the caller as they are."""
        pace = Pace(self.bandwidth.grant, self.bandwidth.piece)
        try:
            headers = self._signature("GET", url)
            received = download(self._exchange, self._path(url), target, headers, pace)
        finally:
            self.bandwidth.flush()
        self.counters.received += received
        return received


@contextmanager
def _reply_errors(target: Target) -> Iterator[None]:
    """The downloader's failures in the words of sync: a reply central no longer has, one
    over this hub's limits (not kept for resuming), one that arrived in part (resumed)."""
    try:
        yield
    except Refused as err:
        if err.status in (404, 410, 416):
            target.part.unlink(missing_ok=True)
            raise ReplyGone("Central no longer has that reply.") from None
        raise SyncError(_refusal("Central did not send the reply", err.status, {})) from None
    except Unsized:
        raise ReplyRefused("Central did not say how large its reply is; it was refused.") from None
    except Oversized as err:
        raise ReplyRefused(
            f"Central announced a reply of {size_text(err.announced)}, over this hub's "
            f"limit of {size_text(target.max_bytes)} (sync_reply_max_bytes); it was refused."
        ) from None
    except NoRoom as err:
        raise SyncError(
            f"The reply from central needs {size_text(err.need)} of disk space and the "
            f"hub has {size_text(err.free)}; it was not downloaded."
        ) from None
    except Cut as err:
        if err.reason is not None:
            raise SyncError(f"The connection to central was lost ({err.reason}).") from None
        incomplete = "The reply from central arrived incomplete; it resumes next time."
        raise SyncError(incomplete) from None


@contextmanager
def _as_sync_errors() -> Iterator[None]:
    """The bounded exchange's sentences as SyncError (a cut link in the words the operator
    already knows)."""
    try:
        yield
    except LinkFailed as err:
        raise SyncError(f"The connection to central was lost ({err.reason}).") from None
    except TransferError as err:
        raise SyncError(str(err)) from None


def _json(data: bytes) -> dict[str, Any]:
    try:
        doc = json.loads(data or b"{}")
    except (ValueError, RecursionError):  # RecursionError: a hostile answer's nesting
        return {}
    return doc if isinstance(doc, dict) else {}


def _error_code(doc: dict[str, Any]) -> str | None:
    error = doc.get("error")
    return error.get("code") if isinstance(error, dict) else None


def _refusal(what: str, status: int, doc: dict[str, Any]) -> str:
    error = doc.get("error")
    message = error.get("message") if isinstance(error, dict) else None
    return f"{what} (HTTP {status}): {message}" if message else f"{what} (HTTP {status})."

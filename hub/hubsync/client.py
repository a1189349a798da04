"""Sync over HTTP: chunked, resumable uploads of the outbox, the reply back, a bandwidth cap,
and the background thread that syncs whenever central can be reached.

Upload protocol (central's /api/sync/uploads): POST {"size", "sha256"} opens an upload;
each PUT carries "Content-Range: bytes a-b/total" and must start exactly at what central
acknowledged (409 tells the right offset); GET tells the offset after a cut; POST .../finish
verifies and applies the bundle and answers a signed receipt and the reply's URL. A link that
drops mid-upload costs at most the chunk in flight: the upload id is kept in the database, so
the next attempt (even after a restart) asks central where it stands and goes on from there.

Progress goes before content: every hub bundle is uploaded (and receipted) before the reply,
which may carry content packs, is downloaded (resumably, with Range).
"""

from __future__ import annotations

import fcntl
import http.client
import json
import logging
import random
import shutil
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

from content import durable
from content.blobstore import hash_file
from content.source import size_text
from hub.core.bounded_http import (
    Bounds,
    Exchange,
    LinkFailed,
    TransferError,
    declared_length,
    default_config,
)
from hub.core.db import connected, db, write_lock
from hub.hubsync.central_pin import check_presented
from hub.hubsync.models import HubState, SentBundle
from hub.hubsync.service import ReplyResult, SyncError, SyncService
from sync.identity import KeyPair
from sync.receipts import verify_receipt
from sync.request_auth import signed_headers

log = logging.getLogger(__name__)

CHUNK_SIZE = 256 * 1024
PIECE = 64 * 1024
PROBE_SECONDS = 10.0  # the background probe: central answers /healthz at once or not at all


class DailyLimitReached(SyncError):
    """Today's byte allowance is spent; sync goes on tomorrow."""


class ReplyGone(SyncError):
    """Central no longer has the reply a partial download was for."""


class ReplyRefused(SyncError):
    """Central's reply is over this hub's limits; it is not kept for resuming."""


class NotEnrolled(SyncError):
    """Central does not know this hub (yet)."""


# --- bandwidth ---------------------------------------------------------------------------


class Bandwidth:
    """Caps bytes per second (paced, piece by piece) and bytes per day (a counter kept in the
    database, so a restart does not reset it). Clock, sleep and today are injectable."""

    def __init__(
        self,
        per_second: int = 0,
        per_day: int = 0,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        today: Callable[[], str] = lambda: time.strftime("%Y-%m-%d"),
        load: Callable[[], tuple[str, int]] | None = None,
        save: Callable[[str, int], None] | None = None,
    ) -> None:
        self.per_second = max(0, per_second)
        self.per_day = max(0, per_day)
        self._clock, self._sleep, self._today = clock, sleep, today
        self._save = save
        self.day, self.used = load() if load else (today(), 0)
        self._next = 0.0
        self._lock = threading.Lock()

    @property
    def piece(self) -> int:
        """How many bytes to move between two checks: a quarter second's worth when capped."""
        if not self.per_second:
            return PIECE
        return max(1024, min(PIECE, self.per_second // 4))

    def take(self, count: int) -> None:
        """Wait until `count` more bytes may move; DailyLimitReached when today has no room."""
        with self._lock:
            self._roll_day()
            self._check_room(count)
            if self.per_second:
                now = self._clock()
                if self._next > now:
                    self._sleep(self._next - now)
                    now = self._next
                self._next = max(now, self._next) + count / self.per_second
            self.used += count

    def check_room(self, count: int) -> None:
        """DailyLimitReached unless `count` more bytes fit in today's allowance."""
        with self._lock:
            self._roll_day()
            self._check_room(count)

    def _check_room(self, count: int) -> None:
        if self.per_day and self.used + count > self.per_day:
            raise DailyLimitReached(
                f"Today's sync allowance of {self.per_day} bytes is used up; sync goes on tomorrow."
            )

    def grant(self, want: int) -> int:
        """How many of `want` bytes may move now (at least 1), after pacing."""
        left = self.left_today()
        count = want if left is None else min(want, max(left, 1))
        self.take(count)
        return count

    def left_today(self) -> int | None:
        self._roll_day()
        return None if not self.per_day else max(0, self.per_day - self.used)

    def flush(self) -> None:
        if self._save is not None:
            self._save(self.day, self.used)

    def _roll_day(self) -> None:
        today = self._today()
        if today != self.day:
            self.day, self.used = today, 0


def stored_bandwidth(service: SyncService, **injected: Any) -> Bandwidth:
    """The configured caps, with today's counter read from and saved to hub_state."""
    config = service.config

    def load() -> tuple[str, int]:
        with connected():
            state = HubState.get_state()
            return state.budget_day, state.budget_bytes

    def save(day: str, used: int) -> None:
        with connected(), write_lock, db.atomic():
            HubState.put(budget_day=day, budget_bytes=used)

    return Bandwidth(
        config.sync_bytes_per_second, config.sync_bytes_per_day, load=load, save=save, **injected
    )


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
        """Fetch `url` into `dest`, resuming a partial `dest.part` with Range; written to
        disk as it arrives, at most `reply_max_bytes`."""
        partial = dest.with_name(dest.name + ".part")
        have = partial.stat().st_size if partial.exists() else 0
        try:
            with _as_sync_errors(), self._exchange() as exchange:
                headers = {"Range": f"bytes={have}-"} if have else {}
                headers |= self._signature("GET", url)
                response = exchange.request("GET", self._path(url), headers=headers)
                have = self._start_of(response, partial, have)
                total = have + self._announced(response, have)
                self._receive(exchange, response, partial, have, total)
        finally:
            self.bandwidth.flush()
        if partial.stat().st_size != total:
            raise SyncError("The reply from central arrived incomplete; it resumes next time.")
        partial.replace(dest)
        return dest

    def _start_of(self, response: http.client.HTTPResponse, partial: Path, have: int) -> int:
        if response.status == 200:
            return 0  # central sent it whole
        if response.status in (404, 410, 416):
            partial.unlink(missing_ok=True)
            raise ReplyGone("Central no longer has that reply.")
        if response.status != 206:
            raise SyncError(_refusal("Central did not send the reply", response.status, {}))
        return have

    def _announced(self, response: http.client.HTTPResponse, have: int) -> int:
        """The bytes still to come: the Content-Length central announced, which must fit
        under `sync_reply_max_bytes` and the free disk space."""
        length = declared_length(response)
        if length < 0:
            raise ReplyRefused("Central did not say how large its reply is; it was refused.")
        if have + length > self.reply_max_bytes:
            raise ReplyRefused(
                f"Central announced a reply of {size_text(have + length)}, over this hub's "
                f"limit of {size_text(self.reply_max_bytes)} (sync_reply_max_bytes); "
                "it was refused."
            )
        return length

    def _receive(
        self,
        exchange: Exchange,
        response: http.client.HTTPResponse,
        partial: Path,
        have: int,
        total: int,
    ) -> None:
        partial.parent.mkdir(parents=True, exist_ok=True)
        free = shutil.disk_usage(partial.parent).free
        if total - have > free:
            raise SyncError(
                f"The reply from central needs {size_text(total - have)} of disk space and the "
                f"hub has {size_text(free)}; it was not downloaded."
            )
        with open(partial, "r+b" if have else "wb") as out:
            out.seek(have)
            out.truncate()
            try:
                self.counters.received += exchange.stream(
                    response, out, total - have, self.bandwidth.grant, self.bandwidth.piece
                )
            finally:
                out.flush()


# --- push ------------------------------------------------------------------------------


@dataclass
class PushResult:
    url: str
    uploaded: list[str] = field(default_factory=list)
    receipts: list[tuple[str, int]] = field(default_factory=list)
    reply: ReplyResult | None = None
    counters: Counters = field(default_factory=Counters)


def push(
    service: SyncService,
    url: str | None = None,
    *,
    bandwidth: Bandwidth | None = None,
    chunk_size: int = CHUNK_SIZE,
) -> PushResult:
    """Send every bundle not yet receipted to central, then fetch and apply the reply.
    Records the attempt (and any error) for the admin page."""
    with _one_push(service):
        try:
            result = _push(service, url, bandwidth, chunk_size)
        except (SyncError, ValueError) as err:
            service.note_attempt(str(err))
            raise
        except OSError as err:  # the hub's own disk (full, read-only): say so on the page
            service.note_attempt(f"This hub could not write its sync files: {_reason(err)}.")
            raise
    service.note_attempt(None)
    return result


@contextmanager
def _one_push(service: SyncService) -> Iterator[None]:
    """One push per hub at a time (the button, the background thread, the CLI): two would
    upload the same bundles twice."""
    service.config.data_dir.mkdir(parents=True, exist_ok=True)
    with open(service.config.data_dir / "push.lock", "a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise SyncError("Another sync with central is running; wait for it to end.") from None
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _push(
    service: SyncService, url: str | None, bandwidth: Bandwidth | None, chunk_size: int
) -> PushResult:
    url = central_url(service, url)
    client = CentralClient.for_service(service, url, bandwidth, chunk_size=chunk_size)
    result = PushResult(url, counters=client.counters)
    key = _central_key(service, client, url)
    service.export(ensure_one=True)
    with connected():
        waiting = SentBundle.waiting()
    reply_url = None
    for sent in waiting:
        try:
            answer = _upload_one(service, client, url, sent)
        except NotEnrolled:
            client.join(service.identity())
            raise SyncError(
                "Central did not know this hub, so the hub asked to join; sync again once "
                "central staff have approved it."
            ) from None
        result.uploaded.append(sent.file_name)
        receipt = answer.get("receipt")
        if isinstance(receipt, dict) and verify_receipt(key, receipt):
            result.receipts += service.take_receipt(receipt).receipts
        if isinstance(answer.get("reply_url"), str):
            reply_url = answer["reply_url"]  # the newest reply holds the newest receipts
    # Content after progress. A reply half downloaded earlier (a cut, or the day's allowance
    # spent) is finished first: newer replies would carry the same packs from zero again.
    pending = Pending(service.inbox, client.base_url)
    for candidate in (pending.url, reply_url):
        if candidate is None:
            continue
        try:
            result.reply = _fetch_reply(service, client, pending, candidate)
        except ReplyGone:
            pending.clear()
            continue
        break
    return result


class Pending:
    """The reply being downloaded (inbox/reply.lhb.part), and its URL (inbox/reply.url)."""

    def __init__(self, inbox: Path, base_url: str) -> None:
        self.inbox = inbox
        self.base_url = base_url
        self.file = inbox / "reply.lhb"
        self.note = inbox / "reply.url"

    @property
    def url(self) -> str | None:
        try:
            doc = json.loads(self.note.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        if not isinstance(doc, dict) or doc.get("base") != self.base_url:
            return None
        return doc.get("url") if isinstance(doc.get("url"), str) else None

    def start(self, url: str) -> None:
        if url != self.url:
            self.clear()
        self.inbox.mkdir(parents=True, exist_ok=True)
        durable.write_text(self.note, json.dumps({"base": self.base_url, "url": url}))

    def clear(self) -> None:
        for path in (self.file, self.file.with_name(self.file.name + ".part"), self.note):
            path.unlink(missing_ok=True)


def _fetch_reply(
    service: SyncService, client: CentralClient, pending: Pending, url: str
) -> ReplyResult:
    pending.start(url)
    try:
        path = client.download(url, pending.file)
    except ReplyRefused:
        pending.clear()  # the same answer would come again: nothing to resume
        raise
    try:
        return service.apply_reply(path)
    finally:
        pending.clear()


def _upload_one(
    service: SyncService, client: CentralClient, url: str, sent: SentBundle
) -> dict[str, Any]:
    resume = sent.upload_id if sent.upload_url == url else None

    def remember(upload_id: str) -> None:
        with connected(), write_lock, db.atomic():
            SentBundle.update(upload_id=upload_id, upload_url=url).where(
                SentBundle.bundle_id == sent.bundle_id
            ).execute()

    return client.upload(service.outbox / sent.file_name, resume, remember, service.hub_id)


def central_url(service: SyncService, url: str | None) -> str:
    with connected():
        found = url or service.config.central_url or HubState.get_state().central_url
    if not found:
        raise SyncError(
            "No central server is set: give its address, or set central_url in learnhub.toml."
        )
    return found


def _central_key(service: SyncService, client: CentralClient, url: str) -> bytes:
    """Central's key, checked before anything is sent: the server must present the pinned
    key; on first contact (no key yet) the one it presents is pinned, not confirmed."""
    return check_presented(service, client.identity(), url)


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


def _reason(err: BaseException) -> str:
    return getattr(err, "strerror", None) or str(err) or type(err).__name__


# --- the background thread -------------------------------------------------------------


class BackgroundSync:
    """Tries `attempt` every `interval` seconds; after a failure, sooner at first, then less
    and less often (exponential backoff with jitter, capped at the interval). It only ever
    waits on an Event, so it never spins and stops at once when asked."""

    FIRST_DELAY = 10.0
    BASE = 15.0

    def __init__(
        self,
        attempt: Callable[[], Any],
        interval: float,
        *,
        wait: Callable[[float], bool] | None = None,
        jitter: Callable[[], float] = random.random,
    ) -> None:
        self.attempt = attempt
        self.interval = max(float(interval), self.BASE)
        self._stop = threading.Event()
        self._wait = wait or self._stop.wait
        self._jitter = jitter
        self.failures = 0
        self._thread: threading.Thread | None = None

    def delay_after(self, failures: int) -> float:
        if failures == 0:
            return self.interval
        backoff = min(self.interval, self.BASE * 2 ** (failures - 1))
        return backoff * (0.5 + self._jitter() / 2)

    def run(self) -> None:
        delay = self.FIRST_DELAY
        while not self._wait(delay):
            try:
                self.attempt()
            except Exception as err:  # the thread must outlive any failure; it is logged
                self.failures += 1
                delay = self.delay_after(self.failures)
                log.info("sync: attempt failed (%s); next try in %.0f seconds", err, delay)
            else:
                self.failures = 0
                delay = self.delay_after(0)

    def start(self) -> BackgroundSync:
        self._thread = threading.Thread(target=self.run, name="learnhub-sync", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)


def background_attempt(service: SyncService, url: str) -> Callable[[], None]:
    """Probe central; push only when it answers (an unreachable central costs one request)."""

    def attempt() -> None:
        client = CentralClient(url, bounds=Bounds.of(service.config), timeout=PROBE_SECONDS)
        if not client.healthz():
            service.note_attempt(f"Central at {url} cannot be reached.")
            raise SyncError(f"Central at {url} cannot be reached.")
        push(service, url)

    return attempt


def start_background(service: SyncService) -> BackgroundSync | None:
    """Started by `learnhub serve` when central_url is set; None otherwise."""
    url = service.config.central_url
    if not url:
        return None
    worker = BackgroundSync(background_attempt(service, url), service.config.sync_interval)
    log.info("sync: syncing with %s every %s seconds", url, worker.interval)
    return worker.start()

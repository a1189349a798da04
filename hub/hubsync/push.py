"""One push to central: every hub bundle not yet receipted goes up (resumably), then the
newest reply comes down and is applied. Progress goes before content: the reply, which may
carry content packs, is downloaded only after the progress is receipted, and the ZIM files
the reply names (hubsync.zims) only after it is applied.
"""

from __future__ import annotations

import fcntl
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from content import durable
from hub.core.db import connected, db, write_lock
from hub.hubsync.bandwidth import Bandwidth
from hub.hubsync.central_client import (
    CHUNK_SIZE,
    CentralClient,
    Counters,
    NotEnrolled,
    ReplyGone,
    ReplyRefused,
)
from hub.hubsync.central_pin import check_presented
from hub.hubsync.models import HubState, SentBundle
from hub.hubsync.service import ReplyResult, SyncError, SyncService
from hub.hubsync.zims import ZimOutcome, fetch_zims
from sync.receipts import verify_receipt


@dataclass
class PushResult:
    url: str
    uploaded: list[str] = field(default_factory=list)
    receipts: list[tuple[str, int]] = field(default_factory=list)
    reply: ReplyResult | None = None
    zims: list[ZimOutcome] = field(default_factory=list)
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
    if result.reply is not None:
        result.zims = fetch_zims(service, client, result.reply.zims)
        refused = [z.error for z in result.zims if z.error]
        if refused:
            service.note_attempt(refused[0])  # for the admin page: central should know
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


def _reason(err: BaseException) -> str:
    return getattr(err, "strerror", None) or str(err) or type(err).__name__

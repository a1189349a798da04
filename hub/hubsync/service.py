"""The hub's side of sync: its epoch, the bundles it sends, and the replies it applies.

Events travel keyed by (hub id, epoch, seq). An epoch is a run of the event log: seq on the
wire counts from 1 within it (wire seq = local seq - the epoch's base). A new epoch starts
when this database is not the one the data dir last used (a token kept both in the database
and in <data>/sync_epoch.json differs: the database was restored from an older copy), or when
central's receipt shows it holds more of the current epoch than this database does. Local seq
numbers are never sent twice under one key, so a restored hub cannot overwrite anything.

Bundles wait in <data>/sync/outbox/ until a signed receipt from central covers them: their
events are at or under the receipt's high-water mark and, for roster changes, central lists
the bundle as applied. Only then is the file deleted; the event log itself is never trimmed.
"""

from __future__ import annotations

import base64
import fcntl
import json
import logging
import secrets
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from content import durable
from content.errors import PackError
from hub.core.db import connected, db, write_lock
from hub.core.settings import Config
from hub.hubsync import shared_packs
from hub.hubsync.models import (
    HubState,
    Receipt,
    RosterChange,
    SentBundle,
    SyncEpoch,
    max_event_seq,
    now_text,
)
from hub.hubsync.packs import PackOutcome, install_packs
from hub.hubsync.roster import (
    RosterSummary,
    apply_records,
    local_records,
    pins_held_back,
    relog_pins,
)
from hub.learning import letters, outcomes
from hub.learning.events import Event
from hub.library.models import Pack, ZimArchive
from hub.library.packs import Library
from hub.people.models import Learner
from sync.bundle import Bundle, BundleError, PartSpec, bundle_name, peek, read_bundle, write_bundle
from sync.hlc import wall_millis
from sync.identity import KeyPair, hub_id_of, public_identity
from sync.outcomes import VERSION as OUTCOMES_VERSION
from sync.records import EventRow, RecordError, encode_events

log = logging.getLogger(__name__)

EPOCH_FILE = "sync_epoch.json"
USB_FOLDER = "learnhub-sync"
BUNDLE_SUFFIX = ".lhb"
MAX_EVENTS_PER_BUNDLE = 20_000
# Serialises sync work inside this process; sync.lock does it across processes.
_sync_lock = threading.Lock()
_held = threading.local()


class SyncError(Exception):
    """Sync cannot go on; str() is one sentence for the operator."""


@dataclass(frozen=True)
class ExportResult:
    created: list[str]  # bundle files made now
    waiting: list[Path]  # every bundle not yet receipted, in the outbox
    copied: list[Path] = field(default_factory=list)  # copies written to a USB folder
    events: int = 0
    roster: int = 0


@dataclass
class ReplyResult:
    path: Path
    receipts: list[tuple[str, int]] = field(default_factory=list)  # (epoch, high water)
    removed: list[str] = field(default_factory=list)  # outbox files a receipt now covers
    roster: RosterSummary = field(default_factory=RosterSummary)
    packs: list[PackOutcome] = field(default_factory=list)
    zims: list[dict[str, Any]] = field(default_factory=list)  # to fetch (sync.records.check_zim)
    new_epoch: str | None = None


class SyncService:
    def __init__(self, config: Config, keys: KeyPair, library: Library | None = None) -> None:
        self.config = config
        self.keys = keys
        self.library = library or Library(config)

    @property
    def hub_id(self) -> str:
        return self.keys.hub_id

    @property
    def outbox(self) -> Path:
        return self.config.data_dir / "sync" / "outbox"

    @property
    def inbox(self) -> Path:
        return self.config.data_dir / "sync" / "inbox"

    @property
    def epoch_file(self) -> Path:
        return self.config.data_dir / EPOCH_FILE

    def identity(self) -> dict[str, Any]:
        return public_identity(self.keys, self.config.hub_name)

    @contextmanager
    def exclusive(self) -> Iterator[None]:
        """One sync operation at a time: the page's buttons, the background thread and the
        CLI beside the server never make bundles or apply replies at the same time."""
        if getattr(_held, "depth", 0):  # already held by this thread (a nested call)
            with connected():
                yield
            return
        self.config.data_dir.mkdir(parents=True, exist_ok=True)
        with _sync_lock, open(self.config.data_dir / "sync.lock", "a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            _held.depth = 1
            try:
                with connected():
                    yield
            finally:
                _held.depth = 0
                fcntl.flock(handle, fcntl.LOCK_UN)

    # --- epoch ---------------------------------------------------------------------------

    def ensure_epoch(self) -> str:
        """The current epoch; a new one when the database is not the one this data dir last
        used. Call at start, before any event is recorded."""
        token = _read_token(self.epoch_file)
        with write_lock, connected(), db.atomic():
            state = HubState.get_state()
            if state.epoch and state.db_token and state.db_token == token:
                return state.epoch
            if state.epoch is None and token is None:
                epoch = _start_epoch("first start", base_seq=0)
            else:
                epoch = _start_epoch("the database was restored from an older copy")
            token = _rotate_token()
        _write_token(self.epoch_file, token)
        return epoch

    # --- export --------------------------------------------------------------------------

    def export(self, dest: Path | None = None, *, ensure_one: bool = True) -> ExportResult:
        """Bundle everything not yet bundled, then (with `dest`) copy every bundle not yet
        receipted into dest/learnhub-sync/ (a USB stick). With nothing at all to send, an
        empty bundle still goes (`ensure_one`): it tells central which packs the hub has and
        which reply it applied, and central answers it with what waits for this hub."""
        with self.exclusive():
            self.ensure_epoch()
            created, events, roster = self._bundle_new()
            if ensure_one and not SentBundle.waiting():
                current = SyncEpoch.get_by_id(HubState.get_state().epoch)
                created.append(self._write(current, [], [], None, None))
            waiting = [self.outbox / sent.file_name for sent in SentBundle.waiting()]
        copied = _copy_all(waiting, usb_folder(dest)) if dest is not None else []
        return ExportResult(created, waiting, copied, events, roster)

    def _bundle_new(self) -> tuple[list[str], int, int]:
        created: list[str] = []
        events = roster = 0
        records, first, last = local_records(
            SentBundle.last_roster_change(), self.hub_id, central_key()
        )
        # Letters ride with the roster (their class must reach central first or with them).
        mail: letters.Outgoing | None = letters.outgoing(letters.store_of(self.config.data_dir))
        for epoch, end in SyncEpoch.ranges():
            start = max(
                SentBundle.last_local_seq(epoch),
                epoch.base_seq + Receipt.high_water_of(epoch.epoch),
            )
            while rows := _events(epoch.base_seq, start, end, MAX_EVENTS_PER_BUNDLE):
                created.append(self._write(epoch, rows, records, first, last, mail=mail))
                mail = None
                events += len(rows)
                roster += len(records)
                records, first, last = [], None, None  # the roster goes in the first bundle
                start = epoch.base_seq + rows[-1].seq
        if records or mail:
            current = SyncEpoch.get_by_id(HubState.get_state().epoch)
            created.append(self._write(current, [], records, first, last, mail=mail))
            roster += len(records)
        for shared in shared_packs.outgoing(self.hub_id, self.library.store):
            current = SyncEpoch.get_by_id(HubState.get_state().epoch)
            created.append(self._write(current, [], [], None, None, shared))
        return created, events, roster

    def _write(
        self,
        epoch: SyncEpoch,
        rows: list[EventRow],
        records: list[dict[str, Any]],
        roster_first: int | None,
        roster_last: int | None,
        shared: shared_packs.Outgoing | None = None,
        mail: letters.Outgoing | None = None,
    ) -> str:
        state = HubState.get_state()
        header = {
            "kind": "hub",
            "sender": self.hub_id,
            "recipient": "central",
            "hub_id": self.hub_id,
            "epoch": epoch.epoch,
            "seq": {"first": rows[0].seq, "last": rows[-1].seq} if rows else None,
            "hlc": _hlc_range(rows),
            "previous": state.previous_bundle,
            "created": wall_millis(),
            "outcomes": OUTCOMES_VERSION,  # the version of a reply's outcomes part it reads
            "have": {pack.id: pack.version for pack in Pack.select(Pack.id, Pack.version)},
            # Also says this hub reads a reply's zims part.
            "have_zims": sorted(zim.uuid for zim in ZimArchive.select(ZimArchive.uuid)),
            "reads_shared": True,  # this hub reads a reply's catalog and offers parts
            "letters": 2,  # this hub reads a reply's letters part, with the partner directory
        }
        if state.last_reply:
            header["acked"] = state.last_reply
        parts = []
        if rows:
            parts.append(PartSpec("events", "events", records=encode_events(rows)))
        if records:
            parts.append(PartSpec("roster", "roster", records=records))
        if shared:
            parts.append(PartSpec("shared", "shared", records=shared.records))
            parts += [PartSpec(sha, "blob", file=path) for sha, path in shared.blobs.items()]
        if mail:
            taken = {part.name for part in parts}
            parts += [part for part in mail.parts if part.name not in taken]
        self.outbox.mkdir(parents=True, exist_ok=True)
        path = _free_path(self.outbox / bundle_name(header))
        bundle_id = write_bundle(path, self.keys, header, parts)
        with write_lock, db.atomic():
            SentBundle.create(
                bundle_id=bundle_id,
                epoch=epoch.epoch,
                seq_first=rows[0].seq if rows else None,
                seq_last=rows[-1].seq if rows else None,
                roster_first=roster_first if records else None,
                roster_last=roster_last if records else None,
                file_name=path.name,
                size=path.stat().st_size,
            )
            HubState.put(previous_bundle=bundle_id)
            if shared:
                shared_packs.mark_sent(shared)
            if mail:
                letters.bundled(mail, bundle_id)
            token = _rotate_token()
        # A copy of the database taken before this bundle left is now recognisably older.
        _write_token(self.epoch_file, token)
        return path.name

    # --- import of replies ---------------------------------------------------------------

    def import_path(self, path: Path) -> list[ReplyResult]:
        """Apply every reply for this hub found at `path` (a bundle, a folder, a USB stick
        with learnhub-sync/), oldest first. Bundles for other hubs are left alone."""
        replies = self.replies_in(path)
        if not replies:
            raise SyncError(f"No reply from central for this hub ({self.hub_id}) is in {path}.")
        return [self.apply_reply(reply) for reply in replies]

    def replies_in(self, path: Path) -> list[Path]:
        if path.is_file():
            return [path]
        if not path.is_dir():
            raise SyncError(f"{path} is neither a bundle file nor a folder.")
        found = []
        for candidate in _bundle_files(path):
            if f"-to-{self.hub_id}-" not in candidate.name:
                continue
            try:
                manifest = peek(candidate)
            except BundleError:
                continue  # not readable as one of ours: read_bundle would say why
            if manifest["kind"] == "reply" and manifest["recipient"] == self.hub_id:
                found.append((manifest["created"], candidate.name, candidate))
        return [candidate for _, _, candidate in sorted(found)]

    def apply_reply(self, path: Path) -> ReplyResult:
        """Verify a reply against the pinned central key, then apply its receipts and roster
        in one transaction, then its packs (each all or nothing, through the Library)."""
        with self.exclusive():
            self.ensure_epoch()
            key, central_id = self._pinned_central()
            bundle = read_bundle(path, key)
            manifest = bundle.manifest
            if manifest["kind"] != "reply" or manifest["recipient"] != self.hub_id:
                raise SyncError(f"{path.name} is not a reply from central for this hub.")
            if central_id and manifest["sender"] != central_id:
                raise SyncError(f"{path.name} comes from {manifest['sender']}, not {central_id}.")
            result = ReplyResult(path)
            receipts = _records_of(bundle, "receipt")
            roster = _records_of(bundle, "roster")
            result.zims = _records_of(bundle, "zims")  # checked by read_bundle
            counted = _outcomes_of(bundle)
            with write_lock, db.atomic():
                for receipt in receipts:
                    self._take_receipt(receipt, result)
                result.roster = apply_records(roster, self.hub_id, self.keys)
                shared_packs.take_reply(bundle)
                letters.apply_reply(bundle, letters.store_of(self.config.data_dir))
                HubState.put(last_reply=bundle.bundle_id, last_sync=now_text(), last_error="")
            self._delete_covered(result)
            if counted is not None:
                outcomes.keep(self.config.data_dir, counted)
            result.packs = self._install_packs(bundle)
        return result

    def _install_packs(self, bundle: Bundle) -> list[PackOutcome]:
        try:
            return install_packs(bundle, self.library)
        except (RecordError, PackError) as err:
            return [PackOutcome("?", "?", "refused", str(err))]

    def _pinned_central(self) -> tuple[bytes, str | None]:
        state = HubState.get_state()
        if not state.central_key:
            raise SyncError(
                "This hub does not know central's key yet: pin it first with "
                "`learnhub sync trust CENTRAL-IDENTITY.json` (or push once to central's URL)."
            )
        return base64.b64decode(state.central_key), state.central_id

    def take_receipt(self, receipt: dict[str, Any]) -> ReplyResult:
        """A receipt that came without a bundle (the answer to an HTTP upload), already
        checked against central's key by the caller."""
        result = ReplyResult(Path("-"))
        with self.exclusive():
            with write_lock, db.atomic():
                self._take_receipt(receipt, result)
                HubState.put(last_sync=now_text(), last_error="")
            self._delete_covered(result)
        return result

    def _take_receipt(self, receipt: Any, result: ReplyResult) -> None:
        epoch, high_water, bundles = _receipt_fields(receipt, self.hub_id)
        mark = Receipt.record(epoch, high_water, bundles)
        result.receipts.append((epoch, mark))
        known = SyncEpoch.get_or_none(SyncEpoch.epoch == epoch)
        state = HubState.get_state()
        if known is not None and epoch == state.epoch:
            held = max_event_seq() - known.base_seq
            if high_water > held:
                # Central holds more of this epoch than this database: it was restored along
                # with its data dir. Whatever is recorded from now on gets fresh keys.
                result.new_epoch = _start_epoch(
                    "central has seen more of the epoch than this database holds"
                )
        applied = Receipt.applied_bundles()
        letters.at_central(applied)
        for sent in SentBundle.waiting():
            if not _covered(sent, epoch, mark, applied):
                continue
            done = SentBundle.bundle_id == sent.bundle_id
            if sent.seq_last is None and sent.roster_last is None:
                SentBundle.delete().where(done).execute()  # an empty one: nothing to remember
            else:
                SentBundle.update(receipted_at=now_text()).where(done).execute()
            result.removed.append(sent.file_name)

    def _delete_covered(self, result: ReplyResult) -> None:
        """Only after the receipt is committed: a crash before this leaves files behind,
        never a file gone without its receipt."""
        for name in result.removed:
            (self.outbox / name).unlink(missing_ok=True)

    # --- central's key -------------------------------------------------------------------

    def pin_central(self, public_key: bytes, central_id: str | None, url: str = "") -> None:
        """Trust replies signed by this key from now on (enrolment). PINs held back for want
        of a key to seal them to go with the next bundle."""
        with self.exclusive(), write_lock, db.atomic():
            if central_key() is None:
                relog_pins()
            HubState.put(
                central_key=base64.b64encode(public_key).decode("ascii"),
                central_id=central_id or f"central-{hub_id_of(public_key)}",
                **({"central_url": url} if url else {}),
            )

    def note_attempt(self, error: str | None) -> None:
        with connected(), write_lock, db.atomic():
            values: dict[str, Any] = {"last_attempt": now_text()}
            if error is not None:
                values["last_error"] = error
            HubState.put(**values)

    # --- status --------------------------------------------------------------------------

    def status(self) -> dict[str, Any]:
        """What the operator sees: when sync last worked, what waits, what went wrong."""
        with connected():
            state = HubState.get_state()
            waiting = SentBundle.waiting()
            sizes = [_size(self.outbox / sent.file_name) for sent in waiting]
            return {
                "hub_id": self.hub_id,
                "epoch": state.epoch,
                "central_url": self.config.central_url or state.central_url,
                "central_id": state.central_id,
                "central_pinned": bool(state.central_key),
                "pins_held_back": pins_held_back(central_key()),
                "last_sync": state.last_sync,
                "last_attempt": state.last_attempt,
                "last_error": state.last_error,
                "events_waiting": events_not_receipted(),
                "roster_waiting": len(RosterChange.local_since(SentBundle.last_roster_change())),
                "bundles_waiting": len(waiting),
                "bundle_bytes": sum(sizes),
                "bytes_today": state.budget_bytes if state.budget_day == _today() else 0,
                "bytes_per_day": self.config.sync_bytes_per_day,
            }


# --- helpers ---------------------------------------------------------------------------


def usb_folder(dest: Path) -> Path:
    """The stick's sync folder (given the stick, or the folder itself)."""
    return dest if dest.name == USB_FOLDER else dest / USB_FOLDER


def central_key() -> bytes | None:
    """Central's pinned public key: what PIN hashes are sealed to before they leave."""
    key = HubState.get_state().central_key
    return base64.b64decode(key) if key else None


def _bundle_files(path: Path) -> list[Path]:
    folders = [path / USB_FOLDER, path] if (path / USB_FOLDER).is_dir() else [path]
    return sorted(f for folder in folders for f in folder.glob(f"*{BUNDLE_SUFFIX}"))


def _records_of(bundle: Bundle, type_: str) -> list[Any]:
    return [record for e in bundle.parts_of_type(type_) for record in bundle.records(e["name"])]


def _outcomes_of(bundle: Bundle) -> list[dict[str, Any]] | None:
    """The reply's outcomes, checked whole (a bad one refuses the reply), or None without."""
    parts = bundle.parts_of_type("outcomes")
    if not parts:
        return None
    try:
        return outcomes.checked(bundle.records(parts[-1]["name"]))
    except RecordError as err:
        raise SyncError(f"The reply's outcomes are refused: {err}") from None


def _events(base: int, after: int, end: int | None, limit: int) -> list[EventRow]:
    """Local events after seq `after` (up to `end`) as they travel: numbered from the
    epoch's base, with the learner's global uid."""
    query = (
        Event.select(
            Event.seq,
            Event.hlc,
            Event.wall_time,
            Learner.uid,
            Event.pack_id,
            Event.lesson_id,
            Event.type,
            Event.fields,
        )
        .join(Learner)
        .where(Event.seq > after)
        .order_by(Event.seq)
        .limit(limit)
    )
    if end is not None:
        query = query.where(Event.seq <= end)
    # Plain tuples, no model per row; execute() gives the cursor's rows as they are, which
    # peewee's stubs (typing a query's rows as its model) cannot tell apart.
    return [EventRow(seq - base, *rest) for seq, *rest in query.tuples().execute()]


def _hlc_range(rows: list[EventRow]) -> dict[str, int] | None:
    if not rows:
        return None
    stamps = [row.hlc for row in rows]
    return {"first": min(stamps), "last": max(stamps)}


def _start_epoch(reason: str, base_seq: int | None = None) -> str:
    epoch = secrets.token_hex(8)
    base = max_event_seq() if base_seq is None else base_seq
    SyncEpoch.create(epoch=epoch, base_seq=base, reason=reason)
    HubState.put(epoch=epoch)
    if base_seq is None:
        log.warning("sync: new epoch %s after local seq %s: %s", epoch, base, reason)
    return epoch


def _rotate_token() -> str:
    token = secrets.token_hex(16)
    HubState.put(db_token=token)
    return token


def _read_token(path: Path) -> str | None:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    token = doc.get("db_token") if isinstance(doc, dict) else None
    return token if isinstance(token, str) else None


def _write_token(path: Path, token: str) -> None:
    durable.write_text(path, json.dumps({"db_token": token}))


def _receipt_fields(receipt: Any, hub_id: str) -> tuple[str, int, list[str]]:
    if not isinstance(receipt, dict) or receipt.get("hub_id") != hub_id:
        raise SyncError("The reply holds a receipt for another hub; nothing was applied.")
    epoch, high_water = receipt.get("epoch"), receipt.get("high_water")
    bundles = receipt.get("bundles", [])
    if (
        not isinstance(epoch, str)
        or not isinstance(high_water, int)
        or isinstance(high_water, bool)
        or high_water < 0
        or not isinstance(bundles, list)
        or not all(isinstance(b, str) for b in bundles)
    ):
        raise SyncError("The reply holds a malformed receipt; nothing was applied.")
    return epoch, high_water, bundles


def _covered(sent: SentBundle, epoch: str, mark: int, applied: set[str]) -> bool:
    """A bundle may go once central durably holds all it carried: central applied this very
    bundle (in one transaction), or, for events alone, they are under the high-water mark."""
    if sent.bundle_id in applied:
        return True
    if sent.roster_last is not None or sent.seq_last is None:
        return False
    return sent.epoch == epoch and sent.seq_last <= mark


def events_not_receipted() -> int:
    waiting = 0
    for epoch, end in SyncEpoch.ranges():
        start = epoch.base_seq + Receipt.high_water_of(epoch.epoch)
        query = Event.select().where(Event.seq > start)
        if end is not None:
            query = query.where(Event.seq <= end)
        waiting += query.count()
    return waiting


def _free_path(path: Path) -> Path:
    candidate, count = path, 2
    while candidate.exists():
        candidate = path.with_name(f"{path.stem}-{count}{path.suffix}")
        count += 1
    return candidate


def _copy_all(files: list[Path], folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    return [_copy(source, folder / source.name) for source in files]


def _copy(source: Path, dest: Path) -> Path:
    """Copy with fsync, via a temporary name: a stick pulled out early holds no half bundle
    under a bundle's name."""
    if dest.is_file() and dest.stat().st_size == source.stat().st_size:
        return dest
    durable.copy_file(source, dest)
    return dest


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def _today() -> str:
    return time.strftime("%Y-%m-%d")

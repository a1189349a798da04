"""Applying a hub's bundle: verify everything first, then one transaction, idempotently.

Events are keyed by (hub, epoch, seq). Per batch, the keys already held are read once (the
write lock is held, so nothing changes meanwhile): a key held with the same content is a
duplicate, with other content it goes to quarantine (the original stays). The rest are
inserted in bulk (executemany, COPY on PostgreSQL) and folded into progress with one upsert
per learner x lesson. Only rows actually inserted are folded, so the same bundle twice,
bundles out of order, or an old one after newer ones all end with the same totals.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from content.blobstore import BlobStore
from sync.bounds import event_problem, manifest_problem
from sync.bundle import Bundle, peek, read_bundle
from sync.central import letters, ownership, quarantine, roster, shared_packs
from sync.central.db import central_db, execute, greatest, is_postgres, q, writing
from sync.central.errors import CentralError
from sync.central.hubs import approved_sender, public_key_of
from sync.central.models import BundleIn, Hub, Reply, Stream, now_ms
from sync.identity import KeyPair
from sync.outcomes import VERSION as OUTCOMES_VERSION
from sync.progress import contribution
from sync.records import EventRow

BATCH = 5_000
# Tests set this to a file path: the apply writes it once its rows are in, then sleeps inside
# the open transaction, so a test can kill -9 the process at exactly that point.
PAUSE_ENV = "LEARNHUB_CENTRAL_TEST_PAUSE"

EVENT_COLUMNS = "seq, hlc, wall, learner_uid, pack_id, lesson_id, type, fields"
QUARANTINE_COLUMNS = f"stream_id, bundle_id, received, {EVENT_COLUMNS}"


# One encoder for every row: json.dumps with options would build a new one per call.
_canonical = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode


@dataclass
class Applied:
    """What one bundle did; the receipt is built from it and from the stream's state."""

    hub_id: str
    epoch: str
    bundle_id: str
    accepted: int = 0
    duplicates: int = 0
    quarantined: int = 0
    roster_applied: int = 0
    roster_refused: int = 0
    replayed: bool = False  # central had applied this very bundle before
    high_water: int = 0
    max_seq: int = 0
    stats: dict[str, Any] = field(default_factory=dict)

    @property
    def events(self) -> int:
        return self.accepted + self.duplicates + self.quarantined


def apply_bundle(path: Path, central_id: str, keys: KeyPair, store: BlobStore) -> Applied:
    """Verify the bundle at `path` and apply it in one transaction; CentralError or
    BundleError (one sentence each) when it is refused, and then nothing changed. `keys`
    are central's own: they open the PIN hashes hubs seal to central; `store` takes the
    files of packs hubs share."""
    manifest = peek(path)
    if manifest["kind"] != "hub":
        raise CentralError(f"Bundle {path.name} is a reply from central, not a hub's bundle.")
    if manifest["recipient"] not in ("central", central_id):
        raise CentralError(f"Bundle {path.name} is addressed to another central server.")
    hub = approved_sender(manifest["sender"])
    bundle = read_bundle(path, public_key_of(hub))
    if bundle.manifest["sender"] != hub.hub_id:
        raise CentralError(f"Bundle {path.name} changed while it was being read.")
    problem = manifest_problem(bundle.manifest, now_ms())
    if problem:
        raise _out_of_range(path.name, problem)
    started = time.perf_counter()
    with writing():
        applied = _apply(bundle, approved_sender(hub.hub_id), keys, store)
    applied.stats["seconds"] = time.perf_counter() - started
    return applied


def _out_of_range(name: str, problem: str) -> CentralError:
    return CentralError(f"Bundle {name} is refused: {problem}.", code="out_of_range")


def _apply(bundle: Bundle, hub: Hub, keys: KeyPair, store: BlobStore) -> Applied:
    manifest = bundle.manifest
    applied = Applied(hub.hub_id, manifest["epoch"], bundle.bundle_id)
    applied.replayed = BundleIn.get_or_none(BundleIn.bundle_id == bundle.bundle_id) is not None
    stream = _stream(hub.hub_id, manifest["epoch"])
    for batch in _row_batches(bundle.events(), BATCH, now_ms(), bundle.path.name):
        batch = _held_aside(batch, hub.hub_id, manifest["epoch"], bundle.bundle_id, applied)
        if batch:
            _apply_events(stream.id, hub.hub_id, bundle.bundle_id, batch, applied)
    for entry in bundle.parts_of_type("roster"):
        done, held = roster.apply_records(
            bundle.records(entry["name"]), hub.hub_id, keys, bundle.bundle_id
        )
        applied.roster_applied += done
        applied.roster_refused += held
        applied.quarantined += held
    applied.quarantined += shared_packs.apply_shared(bundle, hub, store)
    applied.quarantined += letters.apply_part(bundle, hub.hub_id, store)
    if applied.quarantined:
        quarantine.prune(hub.hub_id)
    _advance(stream, manifest, applied)
    _note_contact(hub, manifest, applied)
    _pause_for_tests()
    return applied


def _stream(hub_id: str, epoch: str) -> Stream:
    """The (hub, epoch) stream; a new epoch numbers its events from 1 (the hub's rule)."""
    found = Stream.get_or_none(Stream.hub_id == hub_id, Stream.epoch == epoch)
    if found is not None:
        return found
    return Stream.create(hub_id=hub_id, epoch=epoch, start_seq=1, high_water=0, first_seen=now_ms())


def _row_batches(
    events: Iterable[EventRow], size: int, now: int, name: str
) -> Iterator[list[tuple[Any, ...]]]:
    """Batches of event rows, decoded by a helper thread while the caller writes the batch
    before: decoding is Python's work, writing mostly the database's (SQLite releases the
    GIL while it steps, PostgreSQL works in its own process), so two cores share the job.
    An event with a number out of range ends it with CentralError (the caller rolls back)."""
    handoff: queue.Queue[Any] = queue.Queue(maxsize=2)
    stop = threading.Event()

    def produce() -> None:
        try:
            batch: list[tuple[Any, ...]] = []
            for event in events:
                if stop.is_set():
                    return
                problem = event_problem(event, now)
                if problem:
                    raise _out_of_range(name, problem)
                batch.append(event_row(event))
                if len(batch) >= size:
                    handoff.put(batch)
                    batch = []
            if batch:
                handoff.put(batch)
            handoff.put(_DONE)
        except BaseException as err:  # handed to the caller, who raises it in its thread
            handoff.put(err)

    worker = threading.Thread(target=produce, name="central-decode", daemon=True)
    worker.start()
    try:
        while (item := handoff.get()) is not _DONE:
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        while worker.is_alive():  # unblock a producer waiting to hand over a batch
            with contextlib.suppress(queue.Empty):
                handoff.get(timeout=0.05)
        worker.join()


_DONE = object()


def event_row(event: EventRow) -> tuple[Any, ...]:
    """(seq, hlc, wall, learner, pack, lesson, type, canonical fields JSON) and then what the
    event adds to progress (fold.contribution). Two copies of an event compare equal on the
    first eight values whatever order their fields' keys travelled in."""
    return (*event[:7], _canonical(event.fields), *contribution(event.type, event.fields))


def _held_aside(
    batch: list[tuple[Any, ...]], hub_id: str, epoch: str, bundle_id: str, applied: Applied
) -> list[tuple[Any, ...]]:
    """The rows of learners the hub holds; progress for another hub's learner is kept aside
    for staff (sync.central.ownership) and counts as quarantined."""
    foreign = ownership.foreign_learners((row[3] for row in batch), hub_id)
    if not foreign:
        return batch
    kept = []
    for row in batch:
        owner = foreign.get(row[3])
        if owner is None:
            kept.append(row)
            continue
        record = dict(zip(EVENT_COLUMNS.split(", "), row[:8], strict=True))
        reason = f"progress for a learner of {owner}, which this hub does not hold"
        quarantine.hold(hub_id, bundle_id, "progress", row[3], reason, record, f"{epoch}:{row[0]}")
        applied.quarantined += 1
    return kept


def _apply_events(
    stream_id: int, hub_id: str, bundle_id: str, batch: list[tuple[Any, ...]], applied: Applied
) -> None:
    """Sort one batch into new events, duplicates and conflicts against what is held (the
    write lock makes that read safe), insert the new ones and fold them."""
    rows = _unique_rows(batch, stream_id, bundle_id, applied)
    held = _held(stream_id, min(rows), max(rows))
    new = []
    for seq, row in rows.items():
        old = held.get(seq)
        if old is None:
            new.append(row)
        elif old == row[1:8]:
            applied.duplicates += 1
        else:
            _quarantine_row(stream_id, bundle_id, row[:8])
            applied.quarantined += 1
    if new:
        _insert_events(stream_id, new)
        _fold(new)
        _count_learners(hub_id, new)
    applied.accepted += len(new)


def _unique_rows(
    batch: list[tuple[Any, ...]], stream_id: int, bundle_id: str, applied: Applied
) -> dict[int, tuple[Any, ...]]:
    """One row per seq. A seq repeated inside the bundle counts once; with other content,
    the later copy is quarantined like any other conflict."""
    rows: dict[int, tuple[Any, ...]] = {}
    for row in batch:
        first = rows.get(row[0])
        if first is None:
            rows[row[0]] = row
        elif first[:8] == row[:8]:
            applied.duplicates += 1
        else:
            _quarantine_row(stream_id, bundle_id, row[:8])
            applied.quarantined += 1
    return rows


def _held(stream_id: int, first: int, last: int) -> dict[int, tuple[Any, ...]]:
    cursor = execute(
        f"SELECT {EVENT_COLUMNS} FROM event WHERE stream_id = ? AND seq BETWEEN ? AND ?",
        (stream_id, first, last),
    )
    return {row[0]: tuple(row[1:]) for row in cursor.fetchall()}


def _insert_events(stream_id: int, rows: list[tuple[Any, ...]]) -> None:
    cursor = central_db.cursor()
    if is_postgres():
        with cursor.copy(f"COPY event (stream_id, {EVENT_COLUMNS}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row((stream_id, *row[:8]))
    else:
        cursor.executemany(
            f"INSERT INTO event (stream_id, {EVENT_COLUMNS}) VALUES ({', '.join('?' * 9)})",
            [(stream_id, *row[:8]) for row in rows],
        )


def _quarantine_row(stream_id: int, bundle_id: str, row: tuple[Any, ...]) -> None:
    """Keep a differing copy aside, once; the event already held stays as it is."""
    held = execute(
        f"SELECT {EVENT_COLUMNS} FROM quarantine WHERE stream_id = ? AND seq = ?",
        (stream_id, row[0]),
    ).fetchall()
    if tuple(row) in {tuple(h) for h in held}:
        return
    execute(
        f"INSERT INTO quarantine ({QUARANTINE_COLUMNS}) VALUES ({', '.join('?' * 11)})",
        (stream_id, bundle_id, now_ms(), *row),
    )


def _fold(rows: list[tuple[Any, ...]]) -> None:
    """Merge the inserted events into progress, one upsert per learner x lesson: maxima,
    ORs and sums, first among the batch (here), then with the row already held (SQL)."""
    merged: dict[tuple[str, str, str], list[Any]] = {}
    for _, hlc, wall, learner, pack, lesson, _, _, *adds in rows:
        key = (learner, pack, lesson)
        row = merged.get(key)
        if row is None:
            merged[key] = [*adds, wall, hlc]
            continue
        progress, completed, mastered, best, attempts, spent = adds
        row[0] = max(row[0], progress)
        row[1] = max(row[1], completed)
        row[2] = max(row[2], mastered)
        if best is not None and (row[3] is None or best > row[3]):
            row[3] = best
        row[4] += attempts
        row[5] += spent
        row[6] = max(row[6], wall)
        row[7] = max(row[7], hlc)
    top = greatest()
    central_db.cursor().executemany(
        q(
            "INSERT INTO progress (learner_uid, pack_id, lesson_id, progress, completed,"
            " mastered, best_score, attempts, time_spent, last_activity, last_hlc)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (learner_uid, pack_id, lesson_id) DO UPDATE SET"
            f" progress = {top}(progress.progress, excluded.progress),"
            f" completed = {top}(progress.completed, excluded.completed),"
            f" mastered = {top}(progress.mastered, excluded.mastered),"
            # A NULL score means "no attempt yet": keep whichever score exists.
            f" best_score = {top}(COALESCE(progress.best_score, excluded.best_score),"
            "   COALESCE(excluded.best_score, progress.best_score)),"
            " attempts = progress.attempts + excluded.attempts,"
            " time_spent = progress.time_spent + excluded.time_spent,"
            f" last_activity = {top}(progress.last_activity, excluded.last_activity),"
            f" last_hlc = {top}(progress.last_hlc, excluded.last_hlc)"
        ),
        [(*key, *values) for key, values in merged.items()],
    )


def _count_learners(hub_id: str, rows: list[tuple[Any, ...]]) -> None:
    """Which hubs each learner studied at (a learner who moves keeps one history)."""
    seen: dict[str, list[int]] = {}
    for _, _, wall, learner, *_ in rows:
        count = seen.setdefault(learner, [0, wall])
        count[0] += 1
        count[1] = max(count[1], wall)
    central_db.cursor().executemany(
        q(
            "INSERT INTO learner_hub (learner_uid, hub_id, events, last_activity)"
            " VALUES (?, ?, ?, ?) ON CONFLICT (learner_uid, hub_id) DO UPDATE SET"
            " events = learner_hub.events + excluded.events,"
            f" last_activity = {greatest()}(learner_hub.last_activity, excluded.last_activity)"
        ),
        [(learner, hub_id, count, wall) for learner, (count, wall) in seen.items()],
    )


def _advance(stream: Stream, manifest: dict[str, Any], applied: Applied) -> None:
    """Move the contiguous high-water mark as far as the ranges bundles covered allow. A
    bundle covers its whole seq range (the format's rule), so a number the hub never used
    does not hold the mark back; a range no bundle covered yet does."""
    span = manifest.get("seq")
    top = span["last"] if span else 0
    if span:
        execute(
            "INSERT INTO stream_range (stream_id, seq_first, seq_last) VALUES (?, ?, ?)"
            " ON CONFLICT DO NOTHING",
            (stream.id, span["first"], span["last"]),
        )
    high = stream.high_water
    for first, last in execute(
        "SELECT seq_first, seq_last FROM stream_range WHERE stream_id = ? AND seq_last > ?"
        " ORDER BY seq_first",
        (stream.id, high),
    ).fetchall():
        if first > high + 1:
            break
        high = max(high, last)
    execute("DELETE FROM stream_range WHERE stream_id = ? AND seq_last <= ?", (stream.id, high))
    execute(
        f"UPDATE stream SET high_water = ?, max_seq = {greatest()}(max_seq, ?),"
        " events = events + ? WHERE id = ?",
        (high, top, applied.accepted, stream.id),
    )
    applied.high_water = high
    applied.max_seq = max(stream.max_seq, top)


def _note_contact(hub: Hub, manifest: dict[str, Any], applied: Applied) -> None:
    now = now_ms()
    updates: dict[Any, Any] = {
        Hub.last_contact: now,
        Hub.last_bundle_in: applied.bundle_id,
        Hub.events: Hub.events + applied.accepted,
        Hub.quarantined: Hub.quarantined + applied.quarantined,
    }
    # An old bundle replayed late must not make central forget packs installed since.
    if manifest["created"] >= hub.have_created:
        updates[Hub.have] = json.dumps(manifest.get("have", {}), sort_keys=True)
        updates[Hub.have_created] = manifest["created"]
        zims = manifest.get("have_zims")
        updates[Hub.have_zims] = None if zims is None else json.dumps(sorted(zims))
        updates[Hub.outcomes] = _outcomes_read(manifest.get("outcomes"))
    acked = _acknowledged_roster(hub, manifest.get("acked"))
    if acked > hub.roster_acked:
        updates[Hub.roster_acked] = acked
    Hub.update(updates).where(Hub.hub_id == hub.hub_id).execute()
    seq = manifest.get("seq") or {}
    BundleIn.insert(
        bundle_id=applied.bundle_id,
        hub_id=hub.hub_id,
        epoch=applied.epoch,
        seq_first=seq.get("first"),
        seq_last=seq.get("last"),
        created=manifest["created"],
        received=now,
        accepted=applied.accepted,
        duplicates=applied.duplicates,
        quarantined=applied.quarantined,
    ).on_conflict_ignore().execute()


def _outcomes_read(version: Any) -> int:
    """The outcomes part version a hub's manifest says it reads (0: none or not a version):
    central sends no newer one than it writes."""
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        return 0
    return min(version, OUTCOMES_VERSION)


def _acknowledged_roster(hub: Hub, reply_id: Any) -> int:
    """A hub bundle may name the last reply the hub applied ("acked": that reply's bundle
    id): roster changes up to that reply need not be sent again."""
    if not isinstance(reply_id, str):
        return 0
    reply = Reply.by_bundle(hub.hub_id, reply_id)
    return reply.roster_upto if reply else 0


def _pause_for_tests() -> None:
    marker = os.environ.get(PAUSE_ENV)
    if not marker:
        return
    Path(marker).write_text(str(os.getpid()), encoding="ascii")
    time.sleep(3600)

"""Learners, classes, memberships and assignments at central: last-writer-wins records.

Each (kind, uid) keeps the record with the greatest (hlc, origin), whatever order records
arrive in (sync.records.roster_wins). Every change that wins gets the next `change` number,
which is how a hub's outbox is found: winners above what the hub acknowledged, among the
records sent to it (a class sends its memberships, their learners, and its assignments).
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterable
from typing import Any

from sync.bounds import roster_problem
from sync.central import ownership, quarantine
from sync.central.db import execute, scalar
from sync.central.errors import CentralError
from sync.central.models import Roster, RosterTarget, now_ms
from sync.hlc import HybridClock
from sync.identity import KeyPair
from sync.records import roster_record, roster_wins
from sync.sealed import SealError, opened_pin, seal

CENTRAL_ORIGIN = "central"
KIND_ORDER = {"learner": 0, "class": 1, "member": 2, "assignment": 3}
MAX_NAME = 200


def apply_records(
    records: Iterable[dict[str, Any]], sender: str, keys: KeyPair, bundle_id: str
) -> tuple[int, int]:
    """Merge records a hub sent (inside the caller's transaction): (applied, quarantined).

    A hub speaks only for itself and for what it may change (sync.central.ownership): a
    record claiming another origin, or changing another hub's learner or class, is kept
    aside for staff rather than allowed to win. A stamp out of range refuses the bundle."""
    applied = held = 0
    now = now_ms()
    for record in records:
        problem = roster_problem(record, now)
        if problem:
            raise CentralError(f"The bundle is refused: {problem}.", code="out_of_range")
        reason = _no_right(record, sender)
        opened = None if reason else _opened(record, keys)
        if opened is None:
            reason = reason or "its PIN was not sealed to central's key"
            quarantine.hold(sender, bundle_id, record["t"], record["uid"], reason, record)
            held += 1
            continue
        applied += merge(opened)
    return applied, held


def _no_right(record: dict[str, Any], sender: str) -> str | None:
    """Why `sender` may not write this record, or None."""
    if record["origin"] != sender:
        return f"it claims to be written by {record['origin']}"
    current = Roster.find(record["t"], record["uid"])
    if current is not None and not ownership.may_change(current, sender):
        return f"this {record['t']} belongs to {current.owner}"
    class_uid = _columns(record)[1] if record["t"] in ("member", "assignment") else None
    group = Roster.find("class", class_uid) if class_uid else None
    if group is not None and not ownership.may_change(group, sender):
        return f"its class belongs to {group.owner}"
    return None


def _opened(record: dict[str, Any], keys: KeyPair) -> dict[str, Any] | None:
    """The record with its PIN hash opened (kept so at central, sealed again to each hub it
    goes to), or None when it cannot be opened."""
    try:
        return opened_pin(record, keys)
    except SealError:
        return None


def merge(record: dict[str, Any]) -> int:
    """Keep `record` if it wins over what central has for its (kind, uid); 1 if it did."""
    kind, uid = record["t"], record["uid"]
    current = Roster.find(kind, uid)
    if current is not None and not roster_wins(record, current.as_record()):
        return 0
    name, class_uid, learner_uid = _columns(record)
    change = next_change()
    params = (
        record["hlc"],
        record["origin"],
        int(record["deleted"]),
        name,
        class_uid,
        learner_uid,
        json.dumps(record, sort_keys=True, separators=(",", ":")),
        change,
    )
    if current is None:
        execute(
            "INSERT INTO roster (hlc, origin, deleted, name, class_uid, learner_uid, record,"
            " change, kind, uid, owner) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (*params, kind, uid, record["origin"]),
        )
    else:
        execute(
            "UPDATE roster SET hlc = ?, origin = ?, deleted = ?, name = ?, class_uid = ?,"
            " learner_uid = ?, record = ?, change = ? WHERE kind = ? AND uid = ?",
            (*params, kind, uid),
        )
    if kind == "member" and learner_uid:
        # A hub that gets this membership needs its learner too, though the learner's own
        # record did not change: renumber it so it is sent again.
        touch("learner", [learner_uid])
    return 1


def _columns(record: dict[str, Any]) -> tuple[str, str | None, str | None]:
    """The fields pages and outboxes query: a name, and what a membership/assignment joins."""
    name = record.get("display_name") or record.get("name") or ""
    class_uid = record.get("class_uid") or record.get("class")
    learner_uid = record.get("learner_uid") or record.get("learner")
    if record["t"] == "member" and ":" in record["uid"] and not (class_uid and learner_uid):
        class_uid, learner_uid = record["uid"].split(":", 1)
    return (
        str(name)[:MAX_NAME],
        str(class_uid) if class_uid else None,
        str(learner_uid) if learner_uid else None,
    )


def next_change() -> int:
    return (scalar("SELECT MAX(change) FROM roster") or 0) + 1


def touch(kind: str, uids: list[str]) -> None:
    """Give records new change numbers, so every hub they are sent to gets them again."""
    for uid in uids:
        execute(
            "UPDATE roster SET change = ? WHERE kind = ? AND uid = ?", (next_change(), kind, uid)
        )


# ------------------------------------------------------------------ made at central


def member_uid(class_uid: str, learner_uid: str) -> str:
    """A membership's uid, derived from its class and learner so a hub and central name the
    same membership alike (the same rule as hub/hubsync/roster.py)."""
    return hashlib.sha256(f"member:{class_uid}:{learner_uid}".encode()).hexdigest()[:32]


def create_member(class_uid: str, learner_uid: str) -> dict[str, Any]:
    uid = member_uid(class_uid, learner_uid)
    if Roster.find("member", uid) is not None:
        return update("member", uid, class_uid=class_uid, learner_uid=learner_uid)
    clock = HybridClock(last=Roster.last_hlc())
    record = roster_record(
        "member", uid, clock.tick(), CENTRAL_ORIGIN, class_uid=class_uid, learner_uid=learner_uid
    )
    merge(record)
    return record


def create(kind: str, **fields: Any) -> dict[str, Any]:
    """A new record made by central staff (inside the caller's transaction)."""
    clock = HybridClock(last=Roster.last_hlc())
    record = roster_record(kind, uuid.uuid4().hex, clock.tick(), CENTRAL_ORIGIN, **fields)
    merge(record)
    return record


def update(kind: str, uid: str, *, deleted: bool = False, **fields: Any) -> dict[str, Any]:
    """A newer version of an existing record, stamped after every HLC central has seen."""
    current = Roster.find(kind, uid)
    base = current.as_record() if current else {}
    body = {k: v for k, v in base.items() if k not in ("t", "uid", "hlc", "origin", "deleted")}
    clock = HybridClock(last=Roster.last_hlc())
    record = roster_record(kind, uid, clock.tick(), CENTRAL_ORIGIN, deleted, **{**body, **fields})
    merge(record)
    return record


def send_to(kind: str, uid: str, hub_id: str) -> None:
    """Send this record (and, for a class, its members, their learners and its assignments)
    to a hub from now on, starting with what exists today."""
    execute(
        "INSERT INTO roster_target (kind, uid, hub_id) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
        (kind, uid, hub_id),
    )
    touch(kind, [uid])
    if kind == "class":
        for row in Roster.select().where(Roster.class_uid == uid):
            touch(row.kind, [row.uid])
            if row.kind == "member" and row.learner_uid:
                touch("learner", [row.learner_uid])


def outbox(hub_id: str, after: int, hub_key: bytes) -> list[dict[str, Any]]:
    """Winning records for this hub changed after `after` that the hub did not write itself,
    learners and classes before the memberships and assignments that refer to them. A PIN
    hash goes sealed to the hub's key (`hub_key`), so a stick never carries one readable."""
    targeted_classes = "SELECT uid FROM roster_target WHERE hub_id = ? AND kind = 'class'"
    rows = execute(
        "SELECT r.kind, r.record, r.change FROM roster r WHERE r.change > ? AND r.origin <> ?"
        " AND (EXISTS (SELECT 1 FROM roster_target t"
        "   WHERE t.hub_id = ? AND t.kind = r.kind AND t.uid = r.uid)"
        f" OR (r.kind IN ('member', 'assignment') AND r.class_uid IN ({targeted_classes}))"
        " OR (r.kind = 'learner' AND r.uid IN (SELECT m.learner_uid FROM roster m"
        f"   WHERE m.kind = 'member' AND m.class_uid IN ({targeted_classes}))))",
        (after, hub_id, hub_id, hub_id, hub_id),
    ).fetchall()
    rows.sort(key=lambda row: (KIND_ORDER.get(row[0], 9), row[2]))
    return [_sealed(json.loads(record), hub_key) for _, record, _ in rows]


def _sealed(record: dict[str, Any], hub_key: bytes) -> dict[str, Any]:
    pin_hash = record.pop("pin_hash", None)
    if isinstance(pin_hash, str) and pin_hash:
        record["pin_sealed"] = seal(hub_key, pin_hash)
    return record


def targets_of(hub_id: str) -> list[RosterTarget]:
    return list(RosterTarget.select().where(RosterTarget.hub_id == hub_id))

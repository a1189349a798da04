"""Roster records on the hub: the last-writer-wins records a hub bundle carries up (built from
the change log the triggers keep), and the records from central applied down.

A record is {"t", "uid", "hlc", "origin", "deleted", ...fields} (sync.records). Fields:
learner {"name", "username", "language", "pin_sealed"}; class {"name"}; member {"class_uid",
"learner_uid"}; assignment {"class_uid", "pack_id", "topic_id", "lesson_id", "assigned_by"}.
A membership's uid is derived from its class and learner (member_uid), so the hub and central
name the same membership alike whoever made it.

A learner's PIN hash never travels readable: up, it is sealed to central's key (sync.sealed),
and held back while the hub does not know that key; down, central seals it to this hub's key.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from hub.hubsync.models import HubState, RosterChange
from hub.learning.events import Event
from hub.people.models import Assignment, ClassGroup, ClassMember, Learner, slug
from sync.hlc import COUNTER_BITS, wall_millis
from sync.identity import KeyPair
from sync.records import RecordError, check_roster, roster_record, roster_wins
from sync.sealed import SealError, opened_pin, seal

KIND_ORDER = {"learner": 0, "class": 1, "member": 2, "assignment": 3}
MAX_NAME = 100


def member_uid(class_uid: str, learner_uid: str) -> str:
    """The uid of a learner's membership of a class: the same wherever it is made."""
    return hashlib.sha256(f"member:{class_uid}:{learner_uid}".encode()).hexdigest()[:32]


def member_key(class_uid: str, learner_uid: str) -> str:
    """How the change log names a membership (the triggers write it this way)."""
    return f"{class_uid}:{learner_uid}"


# --- up: records of local changes --------------------------------------------------------


def local_records(
    after: int, hub_id: str, central_key: bytes | None
) -> tuple[list[dict[str, Any]], int | None, int | None]:
    """Records for what changed locally after change id `after`, each in its latest state,
    with the first and last change ids they cover (None, None when nothing changed). PIN
    hashes go sealed to `central_key`, or not at all without it."""
    changes = RosterChange.local_since(after)
    if not changes:
        return [], None, None
    records = []
    for change in changes:
        latest = RosterChange.latest(change.kind, change.uid)
        if latest is None or latest.origin:
            continue  # central's version won since; central has it
        record = _record_of(latest, hub_id, central_key)
        if record is not None:
            records.append(record)
    records.sort(key=lambda r: (KIND_ORDER[r["t"]], r["hlc"]))
    ids = [change.id for change in changes]
    return records, after + 1, max(ids)


def _record_of(
    change: RosterChange, hub_id: str, central_key: bytes | None
) -> dict[str, Any] | None:
    if change.kind == "member":
        class_uid, _, learner_uid = change.uid.partition(":")
        uid = _member_wire_uid(change.uid) or member_uid(class_uid, learner_uid)
        fields: dict[str, Any] | None = {"class_uid": class_uid, "learner_uid": learner_uid}
        if not change.deleted and not _is_member(class_uid, learner_uid):
            return None  # gone with its class or learner: their records say so
    else:
        uid = change.uid
        fields = None if change.deleted else _fields_of(change.kind, uid, central_key)
        if fields is None and not change.deleted:
            return None
    return roster_record(
        change.kind, uid, change.hlc, hub_id, bool(change.deleted), **(fields or {})
    )


def _member_wire_uid(key: str) -> str | None:
    """The uid central gave this membership, if it made it: both ends keep one record."""
    query = RosterChange.select(RosterChange.wire_uid).where(
        RosterChange.kind == "member", RosterChange.uid == key, RosterChange.wire_uid.is_null(False)
    )
    found = query.order_by(RosterChange.id.desc()).first()
    return found.wire_uid if found else None


def _fields_of(kind: str, uid: str, central_key: bytes | None) -> dict[str, Any] | None:
    if kind == "learner":
        learner = Learner.get_or_none(Learner.uid == uid)
        if learner is None:
            return None
        fields = {
            "name": learner.display_name,
            "username": learner.username,
            "language": learner.language,
        }
        if learner.pin_hash and central_key:
            fields["pin_sealed"] = seal(central_key, learner.pin_hash)
        return fields
    if kind == "class":
        group = ClassGroup.get_or_none(ClassGroup.uid == uid)
        return None if group is None else {"name": group.name}
    found = Assignment.select(Assignment, ClassGroup).join(ClassGroup)
    assignment = found.where(Assignment.uid == uid).first()
    if assignment is None:
        return None
    return {
        "class_uid": assignment.class_group.uid,
        "pack_id": assignment.pack_id,
        "topic_id": assignment.topic_id,
        "lesson_id": assignment.lesson_id,
        "assigned_by": assignment.assigned_by,
    }


def _is_member(class_uid: str, learner_uid: str) -> bool:
    return (
        ClassMember.select()
        .join(ClassGroup)
        .switch(ClassMember)
        .join(Learner)
        .where(ClassGroup.uid == class_uid, Learner.uid == learner_uid)
        .exists()
    )


# --- down: applying central's records ----------------------------------------------------


@dataclass
class RosterSummary:
    applied: int = 0
    older: int = 0  # lost to a newer change already here
    waiting: int = 0  # names a class or learner this hub does not have
    refused: list[str] = field(default_factory=list)


def apply_records(records: Iterable[Any], hub_id: str, keys: KeyPair) -> RosterSummary:
    """Apply each record that wins over what the hub has (call inside a transaction: the
    triggers stay quiet meanwhile, and the applier logs central's stamp and origin). A PIN
    hash comes sealed to this hub's `keys`."""
    summary = RosterSummary()
    checked = [check_roster(record) for record in records]
    HubState.put(applying=1)
    for record in sorted(checked, key=lambda r: (KIND_ORDER[r["t"]], r["hlc"])):
        try:
            _apply_one(_opened(record, keys), hub_id, summary)
        except RecordError as err:
            summary.refused.append(f"{record['t']} {record['uid']}: {err}")
    HubState.put(applying=0)
    return summary


def _apply_one(record: dict[str, Any], hub_id: str, summary: RosterSummary) -> None:
    key = _log_key(record)
    latest = RosterChange.latest(record["t"], key)
    here = None if latest is None else {"hlc": latest.hlc, "origin": latest.origin or hub_id}
    if not roster_wins(record, here):
        summary.older += 1
        return
    if not APPLY[record["t"]](record):
        summary.waiting += 1
        return
    # Stored with its origin (never ""), so it is not sent back up as a local change.
    RosterChange.create(
        kind=record["t"],
        uid=key,
        hlc=record["hlc"],
        origin=record["origin"],
        deleted=int(record["deleted"]),
        wire_uid=record["uid"] if record["t"] == "member" else None,
    )
    HubState.observe_hlc(record["hlc"])
    summary.applied += 1


def _opened(record: dict[str, Any], keys: KeyPair) -> dict[str, Any]:
    """The record with its sealed PIN hash opened (pin_hash), or as it came."""
    try:
        return opened_pin(record, keys)
    except SealError as err:
        raise RecordError(f"its PIN could not be opened: {err}") from None


def _log_key(record: dict[str, Any]) -> str:
    """A membership is known by its class and learner, whatever uid it travels under."""
    if record["t"] != "member":
        return record["uid"]
    return member_key(_uid(record, "class_uid", "class"), _uid(record, "learner_uid", "learner"))


def _apply_learner(record: dict[str, Any]) -> bool:
    learner = Learner.get_or_none(Learner.uid == record["uid"])
    if record["deleted"]:
        if learner is not None:
            ClassMember.delete().where(ClassMember.learner == learner).execute()
            if not Event.select().where(Event.learner == learner).exists():
                Learner.delete().where(Learner.id == learner.id).execute()
        return True
    name = _text(record, "display_name" if "display_name" in record else "name", MAX_NAME)
    values: dict[str, str | None] = {
        "display_name": name,
        "language": _text(record, "language", 35, empty=True),
    }
    if "pin_hash" in record:
        pin_hash = record["pin_hash"]
        if pin_hash is not None and not isinstance(pin_hash, str):
            raise RecordError("A learner record's pin_hash must be text or null.")
        values["pin_hash"] = pin_hash
    if learner is None:
        username = _free_username(record.get("username") or name)
        Learner.create(uid=record["uid"], hlc=record["hlc"], username=username, **values)
    else:
        Learner.update(hlc=record["hlc"], **values).where(Learner.id == learner.id).execute()
    return True


def _apply_class(record: dict[str, Any]) -> bool:
    group = ClassGroup.get_or_none(ClassGroup.uid == record["uid"])
    if record["deleted"]:
        if group is not None:
            ClassGroup.delete().where(ClassGroup.id == group.id).execute()
        return True
    name = _free_class_name(_text(record, "name", 60), group)
    if group is None:
        ClassGroup.create(uid=record["uid"], hlc=record["hlc"], name=name)
    else:
        ClassGroup.update(name=name, hlc=record["hlc"]).where(ClassGroup.id == group.id).execute()
    return True


def _apply_member(record: dict[str, Any]) -> bool:
    group = ClassGroup.get_or_none(ClassGroup.uid == _uid(record, "class_uid", "class"))
    learner = Learner.get_or_none(Learner.uid == _uid(record, "learner_uid", "learner"))
    if group is None or learner is None:
        return bool(record["deleted"])  # nothing to remove; an addition waits for them
    if record["deleted"]:
        ClassMember.delete().where(
            ClassMember.class_group == group, ClassMember.learner == learner
        ).execute()
    else:
        ClassMember.insert(class_group=group, learner=learner).on_conflict_ignore().execute()
    return True


def _apply_assignment(record: dict[str, Any]) -> bool:
    existing = Assignment.get_or_none(Assignment.uid == record["uid"])
    if record["deleted"]:
        if existing is not None:
            Assignment.delete().where(Assignment.id == existing.id).execute()
        return True
    group = ClassGroup.get_or_none(ClassGroup.uid == _uid(record, "class_uid", "class"))
    if group is None:
        return False
    topic, lesson = record.get("topic_id"), record.get("lesson_id")
    if not (isinstance(topic, str) and topic) == (not (isinstance(lesson, str) and lesson)):
        raise RecordError("An assignment names one topic_id or one lesson_id.")
    values = {
        "class_group": group,
        "pack_id": _text(record, "pack_id", 64),
        "topic_id": topic or None,
        "lesson_id": lesson or None,
        "assigned_by": _text(record, "assigned_by", MAX_NAME, empty=True) or "central",
        "hlc": record["hlc"],
    }
    if existing is None:
        Assignment.create(uid=record["uid"], **values)
    else:
        Assignment.update(**values).where(Assignment.id == existing.id).execute()
    return True


APPLY: dict[str, Callable[[dict[str, Any]], bool]] = {
    "learner": _apply_learner,
    "class": _apply_class,
    "member": _apply_member,
    "assignment": _apply_assignment,
}


def _text(record: dict[str, Any], name: str, longest: int, empty: bool = False) -> str:
    value = record.get(name, "" if empty else None)
    if value is None and empty:
        value = ""
    if not isinstance(value, str) or len(value) > longest or (not value.strip() and not empty):
        raise RecordError(f"A {record['t']} record's {name} must be text of at most {longest}.")
    return value.strip()


def _uid(record: dict[str, Any], name: str, alias: str = "") -> str:
    value = record.get(name, record.get(alias))
    if not isinstance(value, str) or len(value) != 32:
        raise RecordError(f"A {record['t']} record's {name} must be a uid (32 hex digits).")
    return value


def _free_username(wanted: str) -> str:
    base = slug(wanted)
    username = base
    for n in range(2, 10_000):
        if not Learner.select().where(Learner.username == username).exists():
            return username
        username = f"{base}-{n}"
    raise RecordError(f"No free user name is left for {base}.")


def _free_class_name(wanted: str, group: ClassGroup | None) -> str:
    """Class names are unique on a hub: a different class of the same name gets a number."""
    name = wanted
    for n in range(2, 1000):
        other = ClassGroup.get_or_none(ClassGroup.name == name)
        if other is None or (group is not None and other.id == group.id):
            return name
        name = f"{wanted} ({n})"
    raise RecordError(f"No free class name is left for {wanted}.")


# --- PINs held back until central's key is known -----------------------------------------


def pins_held_back(central_key: bytes | None) -> int:
    """How many learners' PINs this hub keeps to itself because it cannot seal them yet."""
    if central_key:
        return 0
    return Learner.select().where(Learner.pin_hash.is_null(False)).count()


def relog_pins() -> int:
    """Central's key just became known: log every learner with a PIN as changed again, with
    a fresh stamp, so the next bundle carries the PIN hashes held back until now, sealed
    (call inside a write transaction)."""
    uids = [row.uid for row in Learner.select(Learner.uid).where(Learner.pin_hash.is_null(False))]
    if not uids:
        return 0
    # One stamp after the last, as the triggers take it, then one more per learner: the state
    # is read and written once, not twice a learner.
    first = max(HubState.get_state().roster_hlc + 1, wall_millis() << COUNTER_BITS)
    for n, uid in enumerate(uids):
        RosterChange.create(kind="learner", uid=uid, hlc=first + n, origin="", deleted=0)
    HubState.put(roster_hlc=first + len(uids) - 1)
    return len(uids)

"""The records inside a bundle's NDJSON parts, and the compact encoding of progress events.

Events travel as one JSON array per line, delta-encoded against the previous line:

    [seq - previous seq, hlc - previous hlc, wall - hlc millis, learner_uid, pack_id,
     lesson_id, type, fields]

A hub's seq counts up by one and its HLC follows the wall clock, so the three numbers are
usually "1", a few digits and "0": after xz that is what keeps a bundle under 20 bytes per
event (docs/sync-format.md has the measurements). Decoding gives back the exact values.

Roster records are last-writer-wins by HLC; the origin (a hub id or "central") breaks ties.
Every check raises RecordError, whose str() is one sentence naming the field.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, NamedTuple

from sync.hlc import COUNTER_BITS

UID = re.compile(r"[0-9a-f]{32}")
ORIGIN = re.compile(r"[a-z0-9][a-z0-9-]{0,79}")
SHA256 = re.compile(r"[0-9a-f]{64}")
MAX_ID = 64  # the pack format's longest pack or lesson id
MAX_TYPE = 32
ROSTER_TYPES = ("learner", "class", "member", "assignment")
EVENT_WIDTH = 8
# Above this a stamp or count overflows a 64-bit column once a clock ticks past it: whatever
# sends one is broken. Central holds hubs to far tighter ranges (sync.bounds).
MAX_NUMBER = (1 << 62) - 1
# A ZIM central sends: its name as a file and URL part, its edition and what its file must be.
ZIM_NAME = re.compile(r"[a-z0-9][a-z0-9._-]{0,59}")
ZIM_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
MD5 = re.compile(r"[0-9a-f]{32}")
MAX_ZIM_BYTES = 1 << 40  # 1 TiB: ten times the largest Wikipedia ZIM
MAX_ZIM_TEXT = 2000  # characters of a ZIM's title, Name, language or date
ZIM_TEXTS = ("zim_name", "title", "language", "date")


class RecordError(ValueError):
    """A record is malformed; str() is one sentence naming the field and what was expected."""


class EventRow(NamedTuple):
    """One progress event as it travels: keyed by (hub_id, epoch, seq) from the manifest."""

    seq: int
    hlc: int
    wall: int  # wall-clock milliseconds when recorded (informative: order is by hlc)
    learner_uid: str
    pack_id: str
    lesson_id: str
    type: str
    fields: dict[str, Any]


def encode_events(rows: Iterable[EventRow | tuple[Any, ...]]) -> Iterator[list[Any]]:
    """The NDJSON lines (as lists) for events given in increasing seq order."""
    previous_seq = previous_hlc = 0
    for row in rows:
        event = check_event(EventRow(*row))
        if event.seq <= previous_seq:
            raise RecordError(f"Event seq {event.seq} is not above the previous {previous_seq}.")
        yield [
            event.seq - previous_seq,
            event.hlc - previous_hlc,
            event.wall - (event.hlc >> COUNTER_BITS),
            *event[3:],
        ]
        previous_seq, previous_hlc = event.seq, event.hlc


def decode_events(lines: Iterable[Any]) -> Iterator[EventRow]:
    """EventRows from decoded NDJSON lines, checking each one; RecordError names the line."""
    previous_seq = previous_hlc = 0
    for number, line in enumerate(lines, start=1):
        if not isinstance(line, list) or len(line) != EVENT_WIDTH:
            raise RecordError(f"Event line {number} is not an array of {EVENT_WIDTH} values.")
        delta_seq, delta_hlc, wall_offset = line[:3]
        for name, value in (("seq", delta_seq), ("hlc", delta_hlc), ("wall", wall_offset)):
            if not _is_int(value):
                raise RecordError(f"Event line {number}: {name} is not an integer.")
        if delta_seq < 1:
            raise RecordError(f"Event line {number}: seq does not increase.")
        hlc = previous_hlc + delta_hlc
        row = EventRow(
            previous_seq + delta_seq, hlc, (hlc >> COUNTER_BITS) + wall_offset, *line[3:]
        )
        try:
            yield check_event(row)
        except RecordError as err:
            raise RecordError(f"Event line {number}: {err}") from None
        previous_seq, previous_hlc = row.seq, row.hlc


def check_event(event: EventRow) -> EventRow:
    """The event itself if every value has the right type and range, else RecordError."""
    for name in ("seq", "hlc", "wall"):
        value = getattr(event, name)
        if not _is_int(value) or value < 0:
            raise RecordError(f"{name} must be a non-negative integer.")
        if value > MAX_NUMBER:
            raise RecordError(f"{name} must be at most {MAX_NUMBER}.")
    if not isinstance(event.learner_uid, str) or not UID.fullmatch(event.learner_uid):
        raise RecordError("learner_uid must be 32 lower-case hex digits.")
    for name, longest in (("pack_id", MAX_ID), ("lesson_id", MAX_ID), ("type", MAX_TYPE)):
        _check_text(getattr(event, name), name, longest)
    if not isinstance(event.fields, dict):
        raise RecordError("fields must be an object.")
    return event


def roster_record(
    kind: str, uid: str, hlc: int, origin: str, deleted: bool = False, **fields: Any
) -> dict[str, Any]:
    """A last-writer-wins roster record, checked: {"t", "uid", "hlc", "origin", "deleted", ...}."""
    return check_roster(
        {"t": kind, "uid": uid, "hlc": hlc, "origin": origin, "deleted": deleted, **fields}
    )


def check_roster(record: Any) -> dict[str, Any]:
    """The record itself if its envelope is well formed, else RecordError."""
    if not isinstance(record, dict):
        raise RecordError("A roster record must be an object.")
    if record.get("t") not in ROSTER_TYPES:
        raise RecordError(f"A roster record's t must be one of {', '.join(ROSTER_TYPES)}.")
    if not isinstance(record.get("uid"), str) or not UID.fullmatch(record["uid"]):
        raise RecordError("A roster record's uid must be 32 lower-case hex digits.")
    if not _is_int(record.get("hlc")) or record["hlc"] < 0:
        raise RecordError("A roster record's hlc must be a non-negative integer.")
    if record["hlc"] > MAX_NUMBER:
        raise RecordError(f"A roster record's hlc must be at most {MAX_NUMBER}.")
    if not isinstance(record.get("origin"), str) or not ORIGIN.fullmatch(record["origin"]):
        raise RecordError("A roster record's origin must be a hub id or central's id.")
    if not isinstance(record.get("deleted"), bool):
        raise RecordError("A roster record's deleted must be true or false.")
    return record


def roster_wins(new: Mapping[str, Any], old: Mapping[str, Any] | None) -> bool:
    """Whether `new` replaces `old` for the same uid: the later HLC, then the greater origin.

    Deterministic on every hub and at central, whatever order the records arrive in."""
    if old is None:
        return True
    return (new["hlc"], new["origin"]) > (old["hlc"], old["origin"])


def check_receipt(record: Any) -> dict[str, Any]:
    if not isinstance(record, dict):
        raise RecordError("A receipt must be an object.")
    return record


def check_pack(record: Any) -> dict[str, Any]:
    """A pack offered in a reply: {"pack_id", "version", "manifest": pack.json, "files"}."""
    if not isinstance(record, dict):
        raise RecordError("A pack record must be an object.")
    _check_text(record.get("pack_id"), "pack_id", MAX_ID)
    _check_text(record.get("version"), "version", MAX_ID)
    if not isinstance(record.get("manifest"), dict):
        raise RecordError("A pack record's manifest must be an object (the pack.json).")
    files = record.get("files")
    if not isinstance(files, dict) or not all(
        isinstance(path, str) and isinstance(sha, str) and SHA256.fullmatch(sha)
        for path, sha in files.items()
    ):
        raise RecordError("A pack record's files must map each path to a sha256 (64 hex).")
    return record


def check_zim(record: Any) -> dict[str, Any]:
    """A ZIM a reply asks the hub to fetch (never the file itself, which may be many GB):
    {"name", "zim_name", "uuid", "title", "language", "date", "size", "md5"}."""
    if not isinstance(record, dict):
        raise RecordError("A zim record must be an object.")
    for field, rule in (("name", ZIM_NAME), ("uuid", ZIM_UUID), ("md5", MD5)):
        value = record.get(field)
        if not isinstance(value, str) or not rule.fullmatch(value):
            raise RecordError(f"A zim record's {field} is malformed.")
    size = record.get("size")
    if not isinstance(size, int) or isinstance(size, bool) or not 0 < size <= MAX_ZIM_BYTES:
        raise RecordError(f"A zim record's size must be an integer from 1 to {MAX_ZIM_BYTES}.")
    for field in ZIM_TEXTS:
        value = record.get(field)
        if not isinstance(value, str) or len(value) > MAX_ZIM_TEXT:
            raise RecordError(f"A zim record's {field} must be text of at most {MAX_ZIM_TEXT}.")
    return record


SHARED_TYPES = ("offer", "pick")
SHARE_LICENSES = ("CC-BY-4.0", "CC-BY-SA-4.0", "CC0-1.0")  # what a teacher may share
MAX_SHARED_TEXT = 20_000  # a shared pack's description, author, school or reason
OFFER_STATES = ("pending", "accepted", "declined", "withdrawn", "missing")


def check_shared(record: Any) -> dict[str, Any]:
    """A hub's shared-pack record (LWW by hlc, like roster records): an "offer" of one of
    its own packs ({"pack_id", "version", "withdrawn", "author", "license", "manifest",
    "files"}) or a "pick" of a catalog pack ({"pack_id", "deleted"}); both with hlc, origin."""
    if not isinstance(record, dict) or record.get("t") not in SHARED_TYPES:
        raise RecordError(
            f"A shared record must be an object whose t is {' or '.join(SHARED_TYPES)}."
        )
    _check_text(record.get("pack_id"), "pack_id", MAX_ID)
    if not _is_int(record.get("hlc")) or not 0 <= record["hlc"] <= MAX_NUMBER:
        raise RecordError(f"A shared record's hlc must be an integer from 0 to {MAX_NUMBER}.")
    if not isinstance(record.get("origin"), str) or not ORIGIN.fullmatch(record["origin"]):
        raise RecordError("A shared record's origin must be a hub id.")
    flag = "deleted" if record["t"] == "pick" else "withdrawn"
    if not isinstance(record.get(flag), bool):
        raise RecordError(f"A shared {record['t']} record's {flag} must be true or false.")
    if record["t"] == "offer":
        _check_text(record.get("version"), "version", MAX_ID)
        author = record.get("author")
        if not isinstance(author, str) or len(author) > MAX_SHARED_TEXT:
            raise RecordError(f"A shared pack's author must be text of at most {MAX_SHARED_TEXT}.")
        if record.get("license") not in SHARE_LICENSES:
            raise RecordError(
                f"A shared pack's license must be one of {', '.join(SHARE_LICENSES)}."
            )
        check_pack(record)
    return record


def check_catalog(record: Any) -> dict[str, Any]:
    """One pack of central's shared catalog, as a reply lists it."""
    if not isinstance(record, dict):
        raise RecordError("A catalog record must be an object.")
    for name, longest in (("pack_id", MAX_ID), ("version", MAX_ID), ("title", MAX_SHARED_TEXT)):
        _check_text(record.get(name), name, longest)
    for name in ("language", "description", "author", "school", "region", "license"):
        if not isinstance(record.get(name), str) or len(record[name]) > MAX_SHARED_TEXT:
            raise RecordError(
                f"A catalog record's {name} must be text of at most {MAX_SHARED_TEXT}."
            )
    for name in ("size", "hubs"):
        if not _is_int(record.get(name)) or not 0 <= record[name] <= MAX_NUMBER:
            raise RecordError(f"A catalog record's {name} must be a non-negative integer.")
    return record


def check_offer_status(record: Any) -> dict[str, Any]:
    """Central's word on one of the hub's offers or picks: {"t", "pack_id", "version",
    "status", "reason", "hubs", "learners", "completion", "mastery"} (the last three null
    when fewer than 5 learners used the pack)."""
    if not isinstance(record, dict) or record.get("t") not in SHARED_TYPES:
        raise RecordError(f"An offers record's t must be {' or '.join(SHARED_TYPES)}.")
    _check_text(record.get("pack_id"), "pack_id", MAX_ID)
    if record.get("status") not in OFFER_STATES:
        raise RecordError(f"An offers record's status must be one of {', '.join(OFFER_STATES)}.")
    for name in ("version", "reason"):
        if not isinstance(record.get(name), str) or len(record[name]) > MAX_SHARED_TEXT:
            raise RecordError(f"An offers record's {name} must be text.")
    for name in ("hubs", "learners"):
        value = record.get(name)
        if value is not None and (not _is_int(value) or not 0 <= value <= MAX_NUMBER):
            raise RecordError(f"An offers record's {name} must be null or a count.")
    for name in ("completion", "mastery"):
        value = record.get(name)
        if value is not None and not (isinstance(value, float | int) and 0 <= value <= 1):
            raise RecordError(f"An offers record's {name} must be null or from 0 to 1.")
    return record


CHECKS = {
    "roster": check_roster,
    "receipt": check_receipt,
    "packs": check_pack,
    "zims": check_zim,
    "shared": check_shared,
    "catalog": check_catalog,
    "offers": check_offer_status,
}


def _check_text(value: Any, name: str, longest: int) -> None:
    if not isinstance(value, str) or not 0 < len(value) <= longest:
        raise RecordError(f"{name} must be a string of 1 to {longest} characters.")


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)

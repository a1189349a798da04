"""The ranges central holds every number from a hub to before it uses one.

A number out of range is not a wrong clock or a rounding slip: it is a broken or hostile
hub, and stored it would break others (an HLC of 2**63-1 makes every later stamp overflow a
64-bit column, at central and on every hub that receives it). So the whole bundle is refused
with one sentence naming the number, and nothing of it is applied.

Clocks are wrong by years in the past (a Pi with no real-time clock), so there is no lower
bound on times; the future is bounded by central's own clock plus FUTURE_MS.
"""

from __future__ import annotations

from typing import Any, TypeGuard

from sync.hlc import COUNTER_BITS
from sync.progress import MAX_TIME_SPENT
from sync.records import EventRow

MAX_SEQ = 2**40  # a million events a day for three thousand years
FUTURE_MS = 24 * 3600 * 1000  # how far ahead of central's clock a hub's clock may run
MAX_POSITION = 10_000_000.0  # seconds into a video, or a page number (the hub's own cap)
# Event fields that are numbers, and their ranges (the hub's own rules for them).
FIELD_RANGES = {
    "progress": (0.0, 1.0),
    "score": (0.0, 1.0),
    "time_spent": (0.0, MAX_TIME_SPENT),
    "position": (0.0, MAX_POSITION),
}


def latest_hlc(now_ms: int) -> int:
    """The largest HLC central accepts when its clock reads `now_ms`."""
    return ((now_ms + FUTURE_MS) << COUNTER_BITS) | ((1 << COUNTER_BITS) - 1)


def manifest_problem(manifest: dict[str, Any], now_ms: int) -> str | None:
    """Why the manifest's numbers are out of range, or None. Events are checked against the
    manifest's seq and hlc ranges when the bundle is read, so these bound theirs too."""
    seq, hlc = manifest.get("seq"), manifest.get("hlc")
    if seq and not 1 <= seq["first"] <= seq["last"] <= MAX_SEQ:
        return f"its seq range {seq['first']}-{seq['last']} is outside 1-{MAX_SEQ}"
    if hlc and not 0 <= hlc["first"] <= hlc["last"] <= latest_hlc(now_ms):
        return f"its hlc {hlc['last']} is further ahead of central's clock than a day"
    if not 0 <= manifest["created"] <= now_ms + FUTURE_MS:
        return f"its created time {manifest['created']} is further ahead than a day"
    return None


def event_problem(event: EventRow, now_ms: int) -> str | None:
    """Why one event's numbers are out of range, or None."""
    if not 0 <= event.wall <= now_ms + FUTURE_MS:
        return f"event {event.seq} has a wall time {event.wall} further ahead than a day"
    for name, (low, high) in FIELD_RANGES.items():
        value = event.fields.get(name)
        if _is_number(value) and not low <= value <= high:
            return f"event {event.seq} has {name} {value}, outside {low:g}-{high:g}"
    return None


def roster_problem(record: dict[str, Any], now_ms: int) -> str | None:
    """Why a roster record's stamp is out of range, or None."""
    if not 0 <= record["hlc"] <= latest_hlc(now_ms):
        return f"the {record['t']} {record['uid']} has an hlc further ahead than a day"
    return None


def _is_number(value: object) -> TypeGuard[int | float]:
    return isinstance(value, int | float) and not isinstance(value, bool)

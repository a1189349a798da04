"""Hybrid logical clock: what events are ordered by, because a Pi's wall clock is not to be
trusted (no real-time clock; it may start in 1970 or jump back years after a bad NTP fix).

A timestamp packs milliseconds since the epoch and a 16-bit counter into one integer that
sorts like (millis, counter). `tick()` never returns a value <= any value it returned or
observed before, whatever the wall clock does, provided the caller persists the last value
and restores it with `HybridClock(last=...)` (the event log does: its newest row is the last
value).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

COUNTER_BITS = 16
COUNTER_MAX = (1 << COUNTER_BITS) - 1


def pack(millis: int, counter: int) -> int:
    return (millis << COUNTER_BITS) | counter


def unpack(stamp: int) -> tuple[int, int]:
    return stamp >> COUNTER_BITS, stamp & COUNTER_MAX


def wall_millis() -> int:
    return time.time_ns() // 1_000_000


class HybridClock:
    """Thread-safe HLC. `now` returns wall milliseconds (injectable for tests)."""

    def __init__(self, last: int = 0, now: Callable[[], int] = wall_millis) -> None:
        self._last = last
        self._now = now
        self._lock = threading.Lock()

    @property
    def last(self) -> int:
        return self._last

    def tick(self) -> int:
        """A new timestamp for a local event."""
        with self._lock:
            self._last = self._advance(self._last, self._now())
            return self._last

    def observe(self, remote: int) -> int:
        """Merge a timestamp seen from elsewhere; the next tick comes after it."""
        with self._lock:
            self._last = self._advance(max(self._last, remote), self._now())
            return self._last

    @staticmethod
    def _advance(last: int, wall: int) -> int:
        last_millis, counter = unpack(last)
        if wall > last_millis:
            return pack(wall, 0)
        if counter < COUNTER_MAX:
            return pack(last_millis, counter + 1)
        # 65,536 events in one millisecond, or a wall clock stuck far behind: borrow the
        # next millisecond rather than overflow the counter.
        return pack(last_millis + 1, 0)

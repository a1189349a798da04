"""The sync link's bandwidth cap: bytes per second (paced, piece by piece) and bytes per day
(a counter kept in the database, so a restart does not reset it)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from hub.core.bounded_http import PIECE
from hub.core.db import connected, db, write_lock
from hub.hubsync.models import HubState
from hub.hubsync.service import SyncError, SyncService


class DailyLimitReached(SyncError):
    """Today's byte allowance is spent; sync goes on tomorrow."""


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

"""Tracebacks that clients can cause are logged at most once a minute per kind.

A client that repeats a request tripping over a bug would otherwise write one traceback per
request to the log, which on a Pi is an SD card or a small journal in memory. A kind is where
the error was raised (its type, file and line); the table of kinds is bounded, and forgets the
longest-unseen kind first.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable

INTERVAL = 60.0
KINDS = 256


class OncePerInterval:
    """Says whether a kind may be logged now, and how many were held back since it last was."""

    def __init__(
        self,
        interval: float = INTERVAL,
        size: int = KINDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.interval = interval
        self.size = size
        self._clock = clock
        self._seen: OrderedDict[Hashable, tuple[float, int]] = OrderedDict()
        self._lock = threading.Lock()

    def allow(self, kind: Hashable) -> int | None:
        """None to stay quiet; else the count held back since this kind was last logged."""
        with self._lock:
            now = self._clock()
            logged_at, held = self._seen.get(kind, (None, 0))
            if logged_at is not None and now - logged_at < self.interval:
                self._seen[kind] = (logged_at, held + 1)
                return None
            self._seen[kind] = (now, 0)
            self._seen.move_to_end(kind)
            while len(self._seen) > self.size:
                self._seen.popitem(last=False)
            return held


def origin(error: BaseException) -> tuple[str, str, int]:
    """(type, file, line) of where an exception was raised: the same bug from any URL."""
    tb = error.__traceback__
    if tb is None:
        return type(error).__name__, "", 0
    while tb.tb_next is not None:
        tb = tb.tb_next
    return type(error).__name__, tb.tb_frame.f_code.co_filename, tb.tb_lineno

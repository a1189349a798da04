"""Join requests per address: a few an hour each, so one machine cannot flood the queue of
hubs waiting for approval. The table of addresses is bounded; when it is full the address
seen longest ago is forgotten (it can only have gained from that)."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable

ADDRESSES = 4096
WINDOW = 3600.0


class JoinLimiter:
    def __init__(
        self,
        per_window: int,
        window: float = WINDOW,
        addresses: int = ADDRESSES,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.per_window = per_window
        self.window = window
        self.addresses = addresses
        self._clock = clock
        self._seen: OrderedDict[str, list[float]] = OrderedDict()
        self._lock = threading.Lock()

    def allow(self, address: str) -> bool:
        """Count one join from `address`; False when it has used up its window."""
        now = self._clock()
        with self._lock:
            times = [t for t in self._seen.pop(address, []) if now - t < self.window]
            allowed = len(times) < self.per_window
            if allowed:
                times.append(now)
            self._seen[address] = times
            while len(self._seen) > self.addresses:
                self._seen.popitem(last=False)
            return allowed

"""Join requests per address: a few an hour each, so one machine cannot flood the queue of
hubs waiting for approval. The sign-in throttle's sliding window (hub.core.throttle), counting
addresses only: its table is bounded, and forgets the address seen longest ago first (which
can only have gained from that)."""

from __future__ import annotations

import time
from collections.abc import Callable

from hub.core.throttle import Refused, Throttle

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
        self._throttle = Throttle(
            per_client=per_window,
            per_address=per_window,
            max_keys=addresses,
            clock=clock,
            window=window,
        )

    def allow(self, address: str) -> bool:
        """Count one join from `address`; False when it has used up its window."""
        try:
            self._throttle.take("join", (), address)
        except Refused:
            return False
        return True

"""Slowing down guessing (PINs, passwords, the setup code) per client, never per account.

A client is a browser's device cookie, or its address when it has none; every client at one
address also shares a larger allowance, so minting device cookies does not buy more guesses.
A slot is taken before the secret is checked (so concurrent guesses cannot slip past), handed
back when the secret was right (a shared tablet signs a whole class in), and kept when it was
wrong. Nothing here is per account: a prankster's wrong PINs for a classmate only slow the
prankster down. In memory and bounded: one hub process, and a restart forgiving is fine.
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass

WINDOW = 60.0


@dataclass(frozen=True)
class Slot:
    """One guess in progress: the keys it was counted under, and when."""

    keys: tuple[str, ...]
    at: float


class Refused(Exception):
    """Too many wrong tries from this client; `wait` is the whole seconds to wait."""

    def __init__(self, wait: float) -> None:
        super().__init__(wait)
        self.wait = max(1, math.ceil(wait))


class Throttle:
    """At most `per_client` wrong tries per client key and `per_address` per address key in
    any `window` seconds; the `max_keys` keys used longest ago are forgotten first."""

    def __init__(
        self,
        per_client: int,
        per_address: int,
        max_keys: int,
        clock: Callable[[], float] = time.monotonic,
        window: float = WINDOW,
    ) -> None:
        self._limits = {"client": per_client, "address": per_address}
        self._max_keys = max_keys
        self._window = window
        self._clock = clock
        self._tries: OrderedDict[str, deque[float]] = OrderedDict()
        self._lock = threading.Lock()

    def take(self, scope: str, clients: tuple[str, ...], address: str) -> Slot:
        """Count one try now under each of this client's keys and its address, or raise
        Refused (nothing counted then)."""
        keys = [(f"{scope}:client:{client}", "client") for client in clients]
        keys.append((f"{scope}:address:{address}", "address"))
        now = self._clock()
        with self._lock:
            wait = max(self._wait(key, self._limits[kind], now) for key, kind in keys)
            if wait > 0:
                raise Refused(wait)
            for key, kind in keys:
                self._remember(key, self._limits[kind]).append(now)
        return Slot(keys=tuple(key for key, _ in keys), at=now)

    def give_back(self, slot: Slot) -> None:
        """The secret was right: this try does not count against the client."""
        with self._lock:
            for key in slot.keys:
                tries = self._tries.get(key)
                if tries is not None and slot.at in tries:
                    tries.remove(slot.at)

    def _wait(self, key: str, limit: int, now: float) -> float:
        if limit <= 0:
            return self._window  # no tries at all (a setting of 0)
        tries = self._tries.get(key)
        if tries is None or len(tries) < limit:
            return 0.0
        return max(0.0, tries[0] + self._window - now)

    def _remember(self, key: str, limit: int) -> deque[float]:
        tries = self._tries.get(key)
        if tries is None:
            # maxlen: the oldest try falls out when a new one is counted after the window.
            tries = self._tries[key] = deque(maxlen=limit)
            while len(self._tries) > self._max_keys:
                self._tries.popitem(last=False)
        self._tries.move_to_end(key)
        return tries

    def __len__(self) -> int:
        return len(self._tries)

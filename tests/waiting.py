"""Waiting in tests without hanging and without guessing: `eventually` polls a check until it
holds or a deadline passes; `Rounds` is the `wait` a background loop (hub.core.periodic) is
given, so a test counts the loop's rounds instead of sleeping before it asserts that nothing
happened."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def eventually(
    check: Callable[[], T],
    timeout: float = 10.0,
    *,
    interval: float = 0.05,
    ignoring: tuple[type[BaseException], ...] = (),
    what: str | Callable[[], str] = "",
) -> T:
    """The first truthy value `check()` returns, asking again every `interval` seconds; an
    AssertionError after `timeout` seconds. Exceptions in `ignoring` count as "not yet"; any
    other exception from `check` ends the wait at once (a server that exited, say). `what`
    (or what it returns) is added to the failure message."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            value = check()
            if value:
                return value
        except ignoring as error:
            value = error  # type: ignore[assignment]
        if time.monotonic() >= deadline:
            said = what() if callable(what) else what
            raise AssertionError(f"not within {timeout} s (last: {value!r}) {said}".rstrip())
        time.sleep(interval)


class Rounds:
    """The pause of a loop that runs `while ...: work(); wait(delay)`, which counts the loop's
    rounds and keeps every pause short. Give `rounds.wait` to the loop (a PeriodicWorker's
    `wait=`) before its thread starts; `passed(n)` returns once `n` more rounds have ended, so
    "after three more polls nothing changed" needs no sleep and holds on a slow machine too."""

    def __init__(self, pause: float = 0.002) -> None:
        self.pause = pause
        self.delays: list[float | None] = []
        self._stop = threading.Event()
        self._ended = threading.Condition()

    @property
    def count(self) -> int:
        return len(self.delays)

    def is_set(self) -> bool:
        return self._stop.is_set()

    def set(self) -> None:
        self._stop.set()

    def clear(self) -> None:
        self._stop.clear()

    def wait(self, timeout: float | None = None) -> bool:
        with self._ended:
            self.delays.append(timeout)
            self._ended.notify_all()
        return self._stop.wait(self.pause)

    def passed(self, rounds: int = 1, timeout: float = 10.0) -> None:
        """Block until `rounds` more rounds have ended (the round under way counts as one, so
        ask for two to be sure a whole round ran after this call)."""
        with self._ended:
            goal = self.count + rounds
            if not self._ended.wait_for(lambda: self.count >= goal, timeout):
                raise AssertionError(f"the loop did not go round {rounds} times in {timeout} s")
